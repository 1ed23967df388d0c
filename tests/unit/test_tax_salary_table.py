"""給与所得 over the whole range of 所得税法別表第五, for every supported fiscal year, at both sides of every
boundary of the table (x − 1 and x).

The expected figures are written here from the law's own table, not read from rules/ or the engine:

- 別表第五 (年末調整等のための給与所得控除後の給与等の金額の表) lists, for 給与等の収入金額 below 6,600,000円,
  rows 「X円以上 Y円未満 → 給与所得控除後の給与等の金額」. Its first row gives 0円 for every revenue below the
  first threshold; then one row 「収入金額 − 最低保障額」; then (令和6年分以前 and 令和8年分) a few rows with a
  fixed amount; then rows 4,000円 wide whose amount is the row's lower bound L × rate − deduction.
- From 6,600,000円 the formula of 所得税法第28条第3項 applies to the revenue itself: deduction =
  収入 × 10% + 1,100,000 (660万円超850万円以下; at exactly 6,600,000 第3号's 20% + 440,000 gives the same
  1,760,000), 1,950,000 above 8,500,000; 給与所得 1円未満切捨て.

Years and tables (地方税法第32条第2項・第313条第2項: the 住民税 of 年度N uses the table of 所得 N−1):
- 年度2025 (令和6年分): 別表第五 for 令和2年分〜令和6年分 — 551,000円未満 0; 551,000–1,618,999 収入 − 550,000;
  1,619,000–1,619,999 → 1,069,000; 1,620,000–1,621,999 → 1,070,000; 1,622,000–1,623,999 → 1,072,000;
  1,624,000–1,627,999 → 1,074,000; 4,000円 rows from 1,628,000: L × 60% + 100,000 (to 1,799,999),
  L × 70% − 80,000 (to 3,599,999), L × 80% − 440,000 (to 6,599,999).
- 年度2026 (令和7年分): 別表第五 as amended by 所得税法等の一部を改正する法律 (令和7年法律第13号) — 651,000円未満 0;
  651,000–1,899,999 収入 − 650,000; 4,000円 rows from 1,900,000: L × 70% − 80,000 (to 3,599,999),
  L × 80% − 440,000 (to 6,599,999). As printed in 国税庁 「令和7年分 年末調整のしかた」 pp.47–54.
- 年度2027 (令和8年分): 国税庁 「令和8年分 年末調整のしかた」 pp.47–54 (別表第五 as amended by 令和8年法律第12号
  with the 令和8年・9年分 特例 of 租税特別措置法) — 741,000円未満 0; 741,000–2,190,999 収入 − 740,000;
  2,191,000–2,192,999 → 1,451,000; 2,193,000–2,195,999 → 1,453,000; 2,196,000–2,199,999 → 1,456,000;
  4,000円 rows from 2,200,000: L × 70% − 80,000 (to 3,599,999), L × 80% − 440,000 (to 6,599,999).
  (The 国税庁 tables of 令和7年分 and 令和8年分 were read through a public PDF extraction; rules/ cites it.)
"""

from __future__ import annotations

from fractions import Fraction

import polars as pl
import pytest

from juminzei.calc import calculate
from transforms.tax_engine import salary_income_before_adjustment
from transforms.tax_rules import load_rules

TABLE_END = 6_600_000  # 別表第五 covers revenue below 6,600,000 (所得税法第28条第4項)

#: the law's table per fiscal year: (first threshold, 最低保障額, fixed rows (from, to_exclusive, amount),
#: 4,000円 rows (from, to_exclusive, rate, constant) where amount = L × rate + constant)
LAW = {
    2025: {
        "zero_below": 551_000, "minimum": 550_000,
        "fixed": [(1_619_000, 1_620_000, 1_069_000), (1_620_000, 1_622_000, 1_070_000),
                  (1_622_000, 1_624_000, 1_072_000), (1_624_000, 1_628_000, 1_074_000)],
        "bands": [(1_628_000, 1_800_000, Fraction(60, 100), 100_000), (1_800_000, 3_600_000, Fraction(70, 100), -80_000),
                  (3_600_000, TABLE_END, Fraction(80, 100), -440_000)],
    },
    2026: {
        "zero_below": 651_000, "minimum": 650_000, "fixed": [],
        "bands": [(1_900_000, 3_600_000, Fraction(70, 100), -80_000), (3_600_000, TABLE_END, Fraction(80, 100), -440_000)],
    },
    2027: {
        "zero_below": 741_000, "minimum": 740_000,
        "fixed": [(2_191_000, 2_193_000, 1_451_000), (2_193_000, 2_196_000, 1_453_000), (2_196_000, 2_200_000, 1_456_000)],
        "bands": [(2_200_000, 3_600_000, Fraction(70, 100), -80_000), (3_600_000, TABLE_END, Fraction(80, 100), -440_000)],
    },
}

#: rows copied from the printed tables (国税庁), to check the description above against the print
PRINTED_ROWS = {
    2025: [(1_628_000, 1_632_000, 1_076_800), (1_796_000, 1_800_000, 1_177_600), (1_800_000, 1_804_000, 1_180_000)],
    2026: [(1_900_000, 1_904_000, 1_250_000), (1_904_000, 1_908_000, 1_252_800), (3_596_000, 3_600_000, 2_437_200),
           (3_600_000, 3_604_000, 2_440_000), (3_604_000, 3_608_000, 2_443_200)],
    2027: [(2_191_000, 2_193_000, 1_451_000), (2_193_000, 2_196_000, 1_453_000), (2_196_000, 2_200_000, 1_456_000),
           (2_200_000, 2_204_000, 1_460_000), (2_204_000, 2_208_000, 1_462_800)],
}


def law_income(year: int, revenue: int) -> int:
    """給与所得 of ``revenue`` read from the law's table of ``year`` (above), or 第28条第3項 from 6,600,000."""
    law = LAW[year]
    if revenue < law["zero_below"]:
        return 0
    for lower, upper, amount in law["fixed"]:
        if lower <= revenue < upper:
            return amount
    first_fixed_or_band = min([f[0] for f in law["fixed"]] + [b[0] for b in law["bands"]])
    if revenue < first_fixed_or_band:
        return revenue - law["minimum"]
    for lower, upper, rate, constant in law["bands"]:
        if lower <= revenue < upper:
            row_lower = lower + (revenue - lower) // 4_000 * 4_000
            value = row_lower * rate + constant
            assert value.denominator == 1
            return int(value)
    if revenue <= 8_500_000:  # 第28条第3項第4号: 収入 × 10% + 1,100,000 (第3号 gives the same at 6,600,000)
        deduction = Fraction(revenue, 10) + 1_100_000
    else:  # 第5号: 1,950,000
        deduction = Fraction(1_950_000)
    return int(revenue - deduction)  # 1円未満切捨て (the deduction's fraction is dropped from the income)


def boundaries(year: int) -> list[int]:
    """Every lower bound of a row of the table, and the thresholds of 第28条第3項."""
    law = LAW[year]
    points = {law["zero_below"], TABLE_END, 8_500_000, 8_500_001}
    points.update(lower for lower, _, _ in law["fixed"])
    for lower, upper, _, _ in law["bands"]:
        points.update(range(lower, upper, 4_000))
    return sorted(points)


def engine_income(year: int, revenues: list[int]) -> list[int]:
    frame = pl.DataFrame({"revenue": revenues}, schema={"revenue": pl.Int64})
    return frame.select(salary_income_before_adjustment(pl.col("revenue"), load_rules(year)))["revenue"].to_list()


@pytest.mark.parametrize("year", sorted(PRINTED_ROWS))
def test_the_law_description_reproduces_the_printed_rows(year):
    for lower, upper, amount in PRINTED_ROWS[year]:
        assert law_income(year, lower) == amount and law_income(year, upper - 1) == amount, (lower, upper)


@pytest.mark.parametrize("year", sorted(LAW))
def test_every_boundary_of_the_table_on_both_sides(year):
    """x − 1 and x for every row of 別表第五 (each 4,000円 row included) and the 第28条第3項 thresholds."""
    points = sorted({p for x in boundaries(year) for p in (x - 1, x)})
    expected = [law_income(year, p) for p in points]
    actual = engine_income(year, points)
    wrong = [(p, e, a) for p, e, a in zip(points, expected, actual) if e != a]
    assert not wrong, f"年度{year}: (revenue, law, engine) {wrong[:10]} … ({len(wrong)} differ)"
    assert len(points) > 2 * 1_000  # every 4,000円 row is there


@pytest.mark.parametrize(
    "year,revenue,income",
    [
        # the first row: 0 for every revenue below its threshold, never revenue − 最低保障額
        (2025, 550_741, 0), (2025, 550_999, 0), (2025, 551_000, 1_000),
        (2026, 650_741, 0), (2026, 650_999, 0), (2026, 651_000, 1_000),  # the differential run's person
        (2027, 740_741, 0), (2027, 740_999, 0), (2027, 741_000, 1_000),
        (2026, 0, 0), (2026, 1, 0),
    ],
)
def test_the_first_row_gives_zero_below_its_threshold(year, revenue, income):
    assert engine_income(year, [revenue]) == [income]


@pytest.mark.parametrize("year", sorted(LAW))
def test_values_inside_the_rows_as_well(year):
    """A deterministic walk through the whole range (every 997円 from 0 to 9,000,000) against the law."""
    points = list(range(0, 9_000_000, 997))
    expected = [law_income(year, p) for p in points]
    assert engine_income(year, points) == expected


def test_total_income_and_medical_threshold_follow_the_first_row():
    """給与収入 650,741円 in 令和7年分: 給与所得 0, so 総所得金額等 0 and the 医療費控除 threshold is
    min(100,000, 0 × 5%) = 0 (地方税法第314条の2第1項第2号): medical expenses of 50,000 deduct 50,000."""
    data = {"fiscal_year": 2026, "taxpayer": {"birth_date": "1980-06-15"}, "income": {"salary_revenue": 650_741},
            "paid": {"medical_expenses": 50_000}}
    (row,) = calculate([data], detail=True)
    assert row["salary_income"] == 0 and row["total_income"] == 0 and row["gross_income"] == 0
    assert row["medical_threshold"] == 0 and row["deduction_medical"] == 50_000
