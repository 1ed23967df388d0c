"""The 附則第3条の3 reduction and how it is shared between 特別区民税 and 都民税, on a hand-worked case.

A fault planted in an audit (the prefectural share rounded up instead of down) left the suite green: the
only earlier case (tests/unit/test_tax_engine.py, 合計所得 450,001円) ends at 0 either way after the
100円未満切捨て. This case is chosen so that the rounding of the share changes a levy.
"""

from __future__ import annotations

from juminzei.calc import calculate


def test_near_limit_reduction_is_shared_with_the_prefectural_part_rounded_down():
    """地方税法附則第3条の3: just above the 所得割 非課税限度額, the 所得割 (after the 税額控除) is at most
    総所得金額等 − 限度額; the reduction is shared by the two levies in proportion to their 所得割, the
    prefectural share 1円未満切捨て and the municipal levy taking the rest (rules/fiscal_year_2026.yaml,
    ``exemption``). Then 100円未満切捨て per levy (地方税法第20条の4の2第3項).

    Hand-worked, 年度2026, 港区 (1級地), taxpayer with a 控除対象配偶者 without income (n = 1):
    * 事業所得 = 総所得金額等 = 1,130,249円.
    * 所得割 限度額 = 35万 × 2 + 10万 + 32万 = 1,120,000円 (附則第3条の3, 港区特別区税条例): 10,249 above it.
    * 所得控除 = 基礎 430,000 + 配偶者 330,000 = 760,000 → 課税標準 370,249 → 370,000 (1,000円未満切捨て).
    * 所得割 6% = 22,200 (区), 4% = 14,800 (都). 調整控除 (第314条の6): 人的控除差 5万 + 5万 = 10万 ≤ 課税標準,
      × 5% = 5,000 → 3% : 2% = 3,000 / 2,000. After credits 19,200 / 12,800, together 32,000.
    * Reduction = min(1,120,000 − (1,130,249 − 32,000), 32,000) = 21,751.
    * 都 share = 21,751 × 12,800 / 32,000 = 8,700.4 → 8,700 (rounded up it would be 8,701); 区 = 13,051.
    * 所得割: 区 19,200 − 13,051 = 6,149 → 6,100; 都 12,800 − 8,700 = 4,100 → 4,100 (with 8,701: 4,099 → 4,000).
    * Total: 6,100 + 4,100 + 均等割 3,000 + 1,000 + 森林環境税 1,000 = 15,200.
    """
    data = {"fiscal_year": 2026, "taxpayer": {"birth_date": "1980-06-15", "sex": "male"},
            "income": {"business_income": 1_130_249}, "spouse": {"birth_date": "1981-01-10"}}
    (result,) = calculate([data], detail=True)
    assert result["exemption"] == "none" and result["income_levy_exemption_limit"] == 1_120_000
    assert result["taxable_income"] == 370_000
    assert (result["levy_after_credits_municipal"], result["levy_after_credits_prefectural"]) == (19_200, 12_800)
    assert result["near_limit_reduction"] == 21_751
    assert (result["near_limit_reduction_municipal"], result["near_limit_reduction_prefectural"]) == (13_051, 8_700)
    assert (result["income_levy_municipal"], result["income_levy_prefectural"]) == (6_100, 4_100)
    assert result["total_tax"] == 15_200
