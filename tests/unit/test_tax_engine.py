"""The tax engine at every threshold (±1 yen) and its properties.

Expected values are worked out here from the statute's own formula for the case at hand (the article
is named beside each), not read back from the engine: e.g. 給与所得 of 1,903,999円 in 令和7年分 is
別表第五 on A = 1,900,000 → 1,900,000 × 70% − 80,000 = 1,250,000.
"""

from __future__ import annotations

import random

import polars as pl
import pytest

from juminzei.calc import calculate
from transforms.tax_engine import OUTPUT_COLUMNS

OTHER_INCOMES = ("business_income", "real_estate_income", "dividend_income", "misc_income", "occasional_income")


def person(year: int = 2026, *, birth: str = "1980-06-15", salary: int = 0, pension: int = 0, business: int = 0,
           social: int = 0, spouse: dict | None = None, dependants: list | None = None, **taxpayer) -> dict:
    other_incomes = {name: taxpayer.pop(name) for name in OTHER_INCOMES if name in taxpayer}
    data = {
        "fiscal_year": year,
        "taxpayer": {"birth_date": birth, "sex": taxpayer.pop("sex", "male"), **taxpayer},
        "income": {"salary_revenue": salary, "public_pension_revenue": pension, "business_income": business,
                   **other_incomes},
        "paid": {"social_insurance": social},
        "spouse": spouse,
        "dependants": dependants or [],
    }
    return data


def one(data: dict, detail: bool = False) -> dict:
    (result,) = calculate([data], detail=detail)
    assert "error" not in result, result
    return result


# ------------------------------------------------------------------------- 給与所得 (別表第五)
# (every boundary of the table, every year: tests/unit/test_tax_salary_table.py)
@pytest.mark.parametrize(
    "year,revenue,income",
    [
        # 令和6年分 (年度2025): 最低保障 55万円; 別表第五 from 1,619,000 in 1,000/2,000/4,000円 steps
        (2025, 550_000, 0), (2025, 551_000, 1_000), (2025, 1_618_999, 1_068_999),
        (2025, 1_619_000, 1_069_000), (2025, 1_619_999, 1_069_000), (2025, 1_620_000, 1_070_000),
        (2025, 1_621_999, 1_070_000), (2025, 1_622_000, 1_072_000), (2025, 1_627_999, 1_074_000),
        (2025, 1_628_000, 1_076_800),  # 1,628,000 × 60% + 100,000
        (2025, 1_799_999, 1_177_600),  # A = 1,796,000 → × 60% + 100,000
        (2025, 1_800_000, 1_180_000),  # × 70% − 80,000
        # 令和7年分 (年度2026): 最低保障 65万円 up to 1,899,999
        # 別表第五's first row: 0円 for every revenue under 651,000 (not revenue − 650,000)
        (2026, 650_000, 0), (2026, 650_001, 0), (2026, 650_999, 0), (2026, 651_000, 1_000),
        (2026, 1_899_999, 1_249_999), (2026, 1_900_000, 1_250_000),
        (2026, 1_903_999, 1_250_000), (2026, 1_904_000, 1_252_800),
        (2026, 3_599_999, 2_437_200),  # A = 3,596,000 → × 70% − 80,000
        (2026, 3_600_000, 2_440_000),  # × 80% − 440,000
        (2026, 6_599_999, 4_836_800),  # A = 6,596,000 → × 80% − 440,000
        (2026, 6_600_000, 4_840_000),  # × 90% − 1,100,000 (no table above 6,600,000)
        (2026, 8_499_999, 6_549_999),  # 7,649,999.1 − 1,100,000 → 1円未満切捨て
        (2026, 8_500_000, 6_550_000),  # 控除 1,950,000 (上限)
        (2026, 20_000_000, 18_050_000),
        # 令和8年分 (年度2027), 国税庁's 令和8年分 table: 74万円 to 2,190,999, then fixed rows to 2,199,999
        (2027, 2_190_999, 1_450_999), (2027, 2_191_000, 1_451_000), (2027, 2_199_999, 1_456_000),
        (2027, 2_200_000, 1_460_000),
    ],
)
def test_salary_income_at_band_edges(year, revenue, income):
    assert one(person(year, salary=revenue))["salary_income"] == income


# ------------------------------------------------------------------ 公的年金等に係る雑所得
@pytest.mark.parametrize(
    "birth,revenue,income",
    [
        ("1955-06-01", 1_100_000, 0), ("1955-06-01", 1_100_001, 1),     # 65歳以上: 110万
        ("1955-06-01", 3_300_000, 2_200_000), ("1955-06-01", 3_300_001, 2_200_000),  # ×75% − 27.5万 (floor)
        ("1955-06-01", 4_100_001, 2_800_000),  # floor(4,100,001 × 85%) − 685,000 = 3,485,000 − 685,000
        ("1965-06-01", 600_000, 0), ("1965-06-01", 600_001, 1),         # 65歳未満: 60万
        ("1965-06-01", 1_300_000, 700_000), ("1965-06-01", 1_300_001, 700_000),
        ("1965-06-01", 12_000_000, 10_045_000),  # 195.5万 (上限)
        ("1961-01-01", 1_100_000, 0),  # born 1 January 1961: 65 on 31 December 2025 (年齢計算ニ関スル法律)
        ("1961-01-02", 1_100_000, 500_000),  # 64 on 31 December 2025: 60万
        # a revenue below the minimum deduction is 0, not negative (所得 never below 0)
        ("1955-06-01", 500_000, 0), ("1965-06-01", 1, 0), ("1955-06-01", 0, 0),
    ],
)
def test_public_pension_income_by_age(birth, revenue, income):
    """所得税法第35条第4項, 租税特別措置法第41条の15の3 (2026: income year 2025)."""
    assert one(person(2026, birth=birth, pension=revenue))["public_pension_income"] == income


def test_pension_column_depends_on_other_income():
    """Other 合計所得 above 1,000万円: the deduction is 10万円 less (under 65: 50万)."""
    low = one(person(2026, birth="1965-06-01", pension=1_000_000, business=10_000_000))
    high = one(person(2026, birth="1965-06-01", pension=1_000_000, business=10_000_001))
    assert low["public_pension_income"] == 400_000
    assert high["public_pension_income"] == 500_000


def test_income_adjustment_for_salary_and_pension():
    """租税特別措置法 所得金額調整控除 第2項: min(給与所得,10万) + min(年金,10万) − 10万."""
    result = one(person(2026, birth="1958-06-01", salary=2_000_000, pension=2_000_000))
    # 給与所得: A = 2,000,000 → × 70% − 80,000 = 1,320,000; 年金 (65+): 2,000,000 − 1,100,000 = 900,000
    assert result["public_pension_income"] == 900_000
    assert result["salary_income"] == 1_320_000 - 100_000



@pytest.mark.parametrize(("salary", "pension", "salary_income", "pension_income", "adjustment"), [
    # taxpayer aged 67: 給与所得 by 別表第五 (令和7年分), 年金 (65+, other income ≤ 1,000万) revenue − 110万
    (2_000_000, 1_100_001, 1_320_000, 1, 1),            # 10万 + 1 − 10万 = 1円
    (2_000_000, 1_150_000, 1_320_000, 50_000, 50_000),  # 10万 + 5万 − 10万
    (700_000, 2_000_000, 50_000, 900_000, 50_000),      # 5万 + 10万 − 10万: the salary side below 10万
    (2_000_000, 1_100_000, 1_320_000, 0, 0),            # no 年金所得: nothing
    (650_000, 2_000_000, 0, 900_000, 0),                # no 給与所得: nothing
])
def test_income_adjustment_for_salary_and_pension_at_its_edges(salary, pension, salary_income, pension_income,
                                                               adjustment):
    """措法第41条の3の11第2項: min(給与所得, 10万) + min(年金雑所得, 10万) − 10万, not below 0."""
    detail = one(person(2026, birth="1958-06-01", salary=salary, pension=pension), detail=True)
    assert detail["public_pension_income"] == pension_income
    assert detail["income_adjustment_salary_pension"] == adjustment
    assert detail["salary_income"] == salary_income - adjustment

def test_income_adjustment_for_children_rounds_up():
    """第1項: (min(収入, 1,000万) − 850万) × 10%, 1円未満切上げ; 23歳未満の扶養親族."""
    child = [{"birth_date": "2010-06-01"}]
    with_child = one(person(2026, salary=9_000_005, dependants=child))
    without = one(person(2026, salary=9_000_005))
    assert without["salary_income"] == 9_000_005 - 1_950_000
    assert with_child["salary_income"] == 9_000_005 - 1_950_000 - 50_001  # 50,000.5 → 50,001


@pytest.mark.parametrize(("salary", "taxpayer", "dependants", "adjustment"), [
    (12_000_000, {}, [{"birth_date": "2010-06-01"}], 150_000),   # 収入 capped at 1,000万: (1,000万 − 850万) × 10%
    (8_500_000, {}, [{"birth_date": "2010-06-01"}], 0),          # at the threshold: nothing
    (5_000_000, {}, [{"birth_date": "2010-06-01"}], 0),          # below it: nothing (never negative)
    (9_000_000, {"disability": "special"}, [], 50_000),          # the taxpayer a 特別障害者
    (9_000_000, {"disability": "ordinary"}, [], 0),              # an ordinary 障害者 does not qualify
    (9_000_000, {}, [{"birth_date": "2003-01-02"}], 50_000),     # a dependant of 22: under 23
    (9_000_000, {}, [{"birth_date": "2003-01-01"}], 0),          # 23 on 31 December (born 1 January)
])
def test_income_adjustment_for_children_and_special_disability(salary, taxpayer, dependants, adjustment):
    """措法第41条の3の11第1項: 給与収入 > 850万 and (本人が特別障害者 or 23歳未満の扶養親族 or 特別障害者である
    同一生計配偶者・扶養親族): (min(収入, 1,000万) − 850万) × 10%."""
    detail = one(person(2026, salary=salary, dependants=dependants, **taxpayer), detail=True)
    assert detail["income_adjustment_children"] == adjustment
    assert detail["salary_income"] == detail["salary_income_table"] - adjustment


@pytest.mark.parametrize(("disability", "deduction"), [("none", 0), ("ordinary", 260_000), ("special", 300_000)])
def test_the_taxpayers_own_disability_deduction(disability, deduction):
    """障害者控除 26万, 特別障害者控除 30万 (地方税法第314条の2第1項第6号)."""
    detail = one(person(2026, business=5_000_000, disability=disability), detail=True)
    assert detail["deduction_disability"] == deduction


def test_small_enterprise_mutual_aid_is_deducted_in_full():
    """小規模企業共済等掛金控除 = the contributions paid, no limit (第314条の2第1項第4号)."""
    data = {**person(2026, business=5_000_000), "paid": {"small_enterprise_mutual_aid": 840_000}}
    detail = one(data, detail=True)
    assert detail["deduction_small_enterprise"] == 840_000
    assert detail["income_deductions"] - one(person(2026, business=5_000_000), detail=True)["income_deductions"] == 840_000


def test_every_kind_of_income_adds_to_the_total_income():
    """合計所得金額 = 給与 + 公的年金等 + 事業 + 不動産 + 配当 + 雑 + 一時所得 × ½ (所得税法第22条第2項第2号)."""
    data = person(2026, business=1_000_000, real_estate_income=2_000_000, dividend_income=300_000,
                  misc_income=400_000, occasional_income=1_000_000)
    assert one(data, detail=True)["total_income"] == 1_000_000 + 2_000_000 + 300_000 + 400_000 + 500_000


@pytest.mark.parametrize("other", [
    {"real_estate_income": 10_000_001}, {"dividend_income": 10_000_001}, {"misc_income": 10_000_001},
    {"occasional_income": 20_000_002}, {"business_income": 10_000_001},
])
def test_pension_deduction_column_by_every_other_income(other):
    """公的年金等控除 (65歳以上, 収入 330万以下): 110万 while the other 合計所得 is ≤ 1,000万, 100万 above
    (所得税法第35条第4項); every other income counts, 一時所得 at one half."""
    base = one(person(2026, birth="1955-06-01", pension=3_000_000), detail=True)
    above = one(person(2026, birth="1955-06-01", pension=3_000_000, **other), detail=True)
    assert base["public_pension_income"] == 3_000_000 - 1_100_000
    assert above["public_pension_income"] == 3_000_000 - 1_000_000


# ---------------------------------------------------------------------- 所得控除 thresholds
@pytest.mark.parametrize("year,limit", [(2025, 480_000), (2026, 580_000), (2027, 620_000)])
def test_dependant_income_limit(year, limit):
    """扶養親族: 合計所得金額 ≤ the year's limit (48万 / 58万 / 62万), 一般 33万円 (第314条の2第1項第11号)."""
    base = one(person(year, business=5_000_000), detail=True)
    inside = one(person(year, business=5_000_000, dependants=[{"birth_date": "1990-01-10", "other_income": limit}]), detail=True)
    above = one(person(year, business=5_000_000, dependants=[{"birth_date": "1990-01-10", "other_income": limit + 1}]), detail=True)
    assert inside["income_deductions"] - base["income_deductions"] == 330_000
    assert above["income_deductions"] == base["income_deductions"]



@pytest.mark.parametrize(("salary", "pension", "total_income", "dependant"), [
    # 令和7年分, a relative aged 72 on 31 December (老人扶養親族, 38万円 when counted):
    # 給与所得 1,000,000 − 650,000 (所得税法第28条第3項, 190万円以下) = 350,000;
    # 公的年金等に係る雑所得 (65歳以上, other income ≤ 1,000万): revenue − 1,100,000;
    # both present → 所得金額調整控除 min(350,000, 10万) + min(年金雑所得, 10万) − 10万 (措法第41条の3の11第2項).
    (1_000_000, 1_400_000, 350_000 - 100_000 + 300_000, True),    # 550,000: only the adjustment brings it under
    (1_000_000, 1_430_000, 350_000 - 100_000 + 330_000, True),    # 580,000: the limit itself (以下)
    (1_000_000, 1_430_001, 350_000 - 100_000 + 330_001, False),   # 580,001
    (0, 2_000_000, 900_000, False),                                # pension alone, far above the limit
    (0, 1_680_000, 580_000, True),                                 # pension alone at the limit: no adjustment
])
def test_a_relatives_total_income_takes_the_salary_and_pension_adjustment(salary, pension, total_income, dependant):
    """A relative's 合計所得金額 is computed like anyone's, 所得金額調整控除 included; 58万円以下 makes an
    扶養親族 (令和8年度以後: 地方税法第292条第1項第9号 as rules/fiscal_year_2026.yaml ``dependants`` cites it)."""
    assert total_income <= 580_000 if dependant else total_income > 580_000  # the case says what it tests
    base = one(person(2026, business=5_000_000), detail=True)
    relative = {"birth_date": "1953-05-01", "salary_revenue": salary, "public_pension_revenue": pension}
    with_relative = one(person(2026, business=5_000_000, dependants=[relative]), detail=True)
    assert with_relative["income_deductions"] - base["income_deductions"] == (380_000 if dependant else 0)



@pytest.mark.parametrize(("birth", "parent", "cohabiting", "category", "deduction", "difference"), [
    # Age on 31 December of the income year (2025); by 年齢計算ニ関スル法律 a person reaches an age the day
    # before the birthday, so one born on 1 January is already a year older on 31 December.
    # 扶養控除 (地方税法第314条の2第1項第11号・第4項): 一般 33万, 特定 (19–22) 45万, 老人 (70+) 38万,
    # 同居老親等 (老人 and 直系尊属 and 同居) 45万; 年少 (under 16) none. The 人的控除額の差 (第314条の6第1号イ)
    # is 所得税's amount minus it: 38−33 = 5万, 63−45 = 18万, 48−38 = 10万, 58−45 = 13万.
    ("2010-01-02", False, False, "under_16", 0, 0),            # 15
    ("2010-01-01", False, False, "general", 330_000, 50_000),  # 16 (born on 1 January)
    ("2007-06-01", False, False, "general", 330_000, 50_000),  # 18
    ("2007-01-01", False, False, "specific", 450_000, 180_000),  # 19
    ("2003-01-02", False, False, "specific", 450_000, 180_000),  # 22
    ("2003-01-01", False, False, "general", 330_000, 50_000),  # 23
    ("1956-01-02", False, False, "general", 330_000, 50_000),  # 69
    ("1956-01-01", False, False, "aged", 380_000, 100_000),    # 70
    ("1956-01-01", True, True, "aged_parent", 450_000, 130_000),
    ("1956-01-01", True, False, "aged", 380_000, 100_000),     # a parent living apart
    ("1956-01-01", False, True, "aged", 380_000, 100_000),     # living together, not a 直系尊属
    ("1956-01-02", True, True, "general", 330_000, 50_000),    # a cohabiting parent of 69: not yet 老人
])
def test_dependant_category_by_age_on_31_december(birth, parent, cohabiting, category, deduction, difference):
    relative = {"birth_date": birth, "lineal_ascendant": parent, "cohabiting": cohabiting}
    detail = one(person(2026, business=5_000_000, dependants=[relative]), detail=True)
    counts = {name: detail[f"dependants_{name}"] for name in ("under_16", "general", "specific", "aged", "aged_parent")}
    assert counts == {name: int(name == category) for name in counts}
    assert detail["dependants_count"] == 1  # every category counts for the 非課税 headcount
    assert detail["deduction_dependants"] == deduction
    assert detail["dependants_difference"] == difference



def test_a_relative_above_the_income_limit_is_in_no_category_and_not_counted():
    """A relative whose 合計所得金額 exceeds 58万円 is no 扶養親族: no deduction, not in the 非課税 headcount
    (地方税法第295条第1項 counts 同一生計配偶者 and 扶養親族 only)."""
    relative = {"birth_date": "1985-06-01", "other_income": 580_001}
    detail = one(person(2026, business=5_000_000, dependants=[relative]), detail=True)
    assert detail["dependants_count"] == 0 and detail["household_count"] == 0
    assert detail["deduction_dependants"] == 0 and detail["dependants_difference"] == 0
    for name in ("under_16", "general", "specific", "aged", "aged_parent"):
        assert detail[f"dependants_{name}"] == 0, name


@pytest.mark.parametrize(("disability", "cohabiting", "deduction", "difference"), [
    # 障害者控除 for a 同一生計配偶者 or 扶養親族 (地方税法第314条の2第1項第6号): 26万, 特別障害者 30万,
    # 同居特別障害者 53万; 人的控除額の差 against 所得税's 27万 / 40万 / 75万: 1万, 10万, 22万.
    ("ordinary", False, 260_000, 10_000),
    ("ordinary", True, 260_000, 10_000),
    ("special", False, 300_000, 100_000),
    ("special", True, 530_000, 220_000),
])
def test_disability_deduction_for_a_counted_relative(disability, cohabiting, deduction, difference):
    dependant = {"birth_date": "1985-06-01", "disability": disability, "cohabiting": cohabiting}
    detail = one(person(2026, business=5_000_000, dependants=[dependant]), detail=True)
    assert detail["deduction_disability"] == deduction
    assert detail["relatives_disability_difference"] == difference
    # a 特別障害者 among the counted relatives opens the 所得金額調整控除 for a salary over 850万円
    # (措法第41条の3の11第1項): (min(900万, 1,000万) − 850万) × 10% = 5万
    with_salary = one(person(2026, salary=9_000_000, dependants=[dependant]), detail=True)
    assert with_salary["income_adjustment_children"] == (50_000 if disability == "special" else 0)
    # the same for a 同一生計配偶者 (合計所得 ≤ 58万) ...
    spouse = {"birth_date": "1980-01-10", "other_income": 580_000, "disability": disability, "cohabiting": cohabiting}
    assert one(person(2026, business=5_000_000, spouse=spouse), detail=True)["deduction_disability"] == deduction
    # ... and nothing for a spouse or relative above the limit: they are neither
    spouse["other_income"] = 580_001
    over = one(person(2026, business=5_000_000, spouse=spouse), detail=True)
    assert over["deduction_disability"] == 0 and over["household_count"] == 0
    dependant["other_income"] = 580_001
    assert one(person(2026, business=5_000_000, dependants=[dependant]), detail=True)["deduction_disability"] == 0


def test_specific_relative_deduction_from_2026():
    """特定親族特別控除 (令和8年度): age 19–22, 合計所得 58万超〜123万; 45万 up to 95万 … 3万 up to 123万."""
    def deduction(year, income):
        data = person(year, business=5_000_000, dependants=[{"birth_date": "2005-06-01", "other_income": income}])
        return one(data, detail=True)["deduction_specific_relatives"]

    assert deduction(2026, 580_000) == 0  # still a 扶養親族 (特定扶養 45万)
    assert deduction(2026, 580_001) == 450_000
    assert deduction(2026, 950_000) == 450_000
    assert deduction(2026, 950_001) == 410_000
    assert deduction(2026, 1_230_000) == 30_000
    assert deduction(2026, 1_230_001) == 0
    assert deduction(2025, 580_001) == 0  # did not exist before 年度2026


@pytest.mark.parametrize(("birth", "age", "amount"), [
    ("2007-01-02", 18, 0), ("2007-01-01", 19, 450_000), ("2003-01-02", 22, 450_000), ("2003-01-01", 23, 0),
])
def test_specific_relative_deduction_ages_19_to_22_on_31_december(birth, age, amount):
    """特定親族 is aged 19 to 22 on 31 December (born on 1 January: a year older, 年齢計算ニ関スル法律)."""
    data = person(2026, business=5_000_000, dependants=[{"birth_date": birth, "other_income": 580_001}])
    detail = one(data, detail=True)
    assert detail["deduction_specific_relatives"] == amount, age
    assert detail["specific_relatives"] == (1 if amount else 0)  # the count the computation sheet prints


def test_specific_relative_is_not_counted_for_exemption():
    data = person(2026, salary=1_100_000, dependants=[{"birth_date": "2005-06-01", "other_income": 700_000}])
    detail = one(data, detail=True)
    assert detail["household_count"] == 0


@pytest.mark.parametrize("spouse_income,amount", [(1_000_000, 330_000), (1_000_001, 310_000),
                                                  (1_330_000, 30_000), (1_330_001, 0)])
def test_spouse_special_deduction_rows(spouse_income, amount):
    """配偶者特別控除 (第314条の2第1項第10号の2), taxpayer ≤ 900万."""
    data = person(2026, business=5_000_000, spouse={"birth_date": "1980-01-10", "other_income": spouse_income})
    assert one(data, detail=True)["deduction_spouse_special"] == amount



@pytest.mark.parametrize(("taxpayer_total", "amount"), [
    (9_000_000, 330_000), (9_000_001, 220_000), (9_500_000, 220_000), (9_500_001, 110_000),
    (10_000_000, 110_000), (10_000_001, 0),
])
def test_spouse_special_deduction_by_taxpayer_income(taxpayer_total, amount):
    """配偶者特別控除 (第314条の2第1項第10号の2) for a spouse of 合計所得 100万: 33万 / 22万 / 11万 by the
    taxpayer's 合計所得 (900万以下 / 950万以下 / 1,000万以下); none above 1,000万."""
    data = person(2026, business=taxpayer_total, spouse={"birth_date": "1980-01-10", "other_income": 1_000_000})
    detail = one(data, detail=True)
    assert detail["deduction_spouse_special"] == amount
    assert detail["deduction_spouse"] == 0


@pytest.mark.parametrize(("taxpayer_total", "spouse_income", "difference"), [
    (5_000_000, 490_000, 50_000), (9_200_000, 490_000, 40_000), (9_700_000, 490_000, 20_000),
    (5_000_000, 520_000, 30_000), (9_200_000, 520_000, 20_000), (9_700_000, 520_000, 10_000),
    (5_000_000, 550_000, 0),
])
def test_spouse_special_personal_difference_in_fiscal_2025(taxpayer_total, spouse_income, difference):
    """令和7年度: 人的控除額の差 for 配偶者特別控除 (地方税法第314条の6第1号イ): spouse 48万超50万未満 5万 / 4万 / 2万,
    50万以上55万未満 3万 / 2万 / 1万 by the taxpayer's 合計所得 (900万以下 / 950万以下 / 1,000万以下); none from 55万."""
    without = one(person(2025, business=taxpayer_total), detail=True)
    data = person(2025, business=taxpayer_total, spouse={"birth_date": "1980-01-10", "other_income": spouse_income})
    with_spouse = one(data, detail=True)
    assert with_spouse["deduction_spouse_special"] > 0
    assert with_spouse["personal_deduction_difference"] - without["personal_deduction_difference"] == difference

@pytest.mark.parametrize("total,amount", [(9_000_000, 330_000), (9_000_001, 220_000), (10_000_000, 110_000),
                                          (10_000_001, 0)])
def test_spouse_deduction_by_taxpayer_income(total, amount):
    data = person(2026, business=total, spouse={"birth_date": "1980-01-10"})
    assert one(data, detail=True)["deduction_spouse"] == amount


@pytest.mark.parametrize("total,amount", [(24_000_000, 430_000), (24_000_001, 290_000), (24_500_001, 150_000),
                                          (25_000_001, 0)])
def test_basic_deduction_tiers(total, amount):
    """基礎控除 (第314条の2第2項)."""
    assert one(person(2026, business=total), detail=True)["deduction_basic"] == amount


def test_medical_threshold_is_5_percent_up_to_100000():
    """医療費控除: 支払 − 補填 − min(10万, 総所得金額等 × 5%)."""
    small = one({**person(2026, business=1_000_000), "paid": {"medical_expenses": 100_000}}, detail=True)
    large = one({**person(2026, business=5_000_000), "paid": {"medical_expenses": 100_001}}, detail=True)
    assert small["deduction_medical"] == 50_000
    assert large["deduction_medical"] == 1


def test_life_insurance_bands_round_up_and_cap():
    """生命保険料控除 (住民税): new ≤12,000 全額; ÷2 + 6,000; ÷4 + 14,000; 28,000; total ≤ 70,000."""
    def life(**premiums):
        data = {**person(2026, business=3_000_000), "paid": {"life_insurance": premiums}}
        return one(data, detail=True)["deduction_life_insurance"]

    assert life(new_general=12_000) == 12_000
    assert life(new_general=12_001) == 12_001  # 6,000.5 → 6,001 + 6,000
    assert life(new_general=56_001) == 28_000
    assert life(old_general=70_001) == 35_000
    assert life(new_general=100_000, old_general=100_000) == 35_000  # old alone is larger
    # old contracts: 15,000 以下 全額; ÷2 + 7,500 up to 40,000 (15,001 → 7,500.5 → 7,501 + 7,500)
    assert life(old_general=15_000) == 15_000
    assert life(old_general=15_001) == 15_001
    # both kinds in one class: new 20,000 → 16,000 and old 20,000 → 17,500 together, capped at 28,000,
    # beat either alone
    assert life(new_general=20_000, old_general=20_000) == 28_000
    assert life(new_general=10_000, old_general=10_000) == 20_000  # 10,000 + 10,000 under the cap
    assert life(new_general=100_000, new_pension=100_000, care_medical=100_000) == 70_000


# ------------------------------------------------------------------------------ 非課税
@pytest.mark.parametrize(
    "dependants,total,exemption",
    [
        (0, 450_000, "fully_exempt"), (0, 450_001, "none"),
        (1, 1_010_000, "fully_exempt"), (1, 1_010_001, "income_levy_exempt"),
        (1, 1_120_000, "income_levy_exempt"), (1, 1_120_001, "none"),
        (2, 1_360_000, "fully_exempt"), (2, 1_470_000, "income_levy_exempt"),
    ],
)
def test_exemption_limits_first_grade(dependants, total, exemption):
    """1級地: 均等割 35万×(n+1)+10万(+21万); 所得割 35万×(n+1)+10万(+32万) (第295条, 附則第3条の3)."""
    kids = [{"birth_date": "2015-06-01"} for _ in range(dependants)]  # 年少 counts for the limits
    assert one(person(2026, business=total, dependants=kids))["exemption"] == exemption


def test_exemption_limits_third_grade():
    """3級地: 28万 × (n+1) + 10万 + 16.8万 (施行令第47条の3)."""
    kids = [{"birth_date": "2015-06-01"}]
    data = {**person(2026, business=828_000, dependants=kids), "municipality": {"kind": "city", "grade": 3}}
    assert one(data)["exemption"] == "fully_exempt"
    data = {**person(2026, business=828_001, dependants=kids), "municipality": {"kind": "city", "grade": 3}}
    assert one(data)["exemption"] == "income_levy_exempt"


@pytest.mark.parametrize("flag", [{"disability": "ordinary"}, {"widow": True}, {"single_parent": True}])
def test_135_man_rule(flag):
    """障害者・寡婦・ひとり親 with 合計所得 ≤ 135万円: fully exempt (第295条第1項第2号)."""
    assert one(person(2026, business=1_350_000, **flag))["exemption"] == "fully_exempt"
    assert one(person(2026, business=1_350_001, **flag))["exemption"] != "fully_exempt"


def test_minor_on_1_january():
    """未成年者: under 18 on 1 January of the 年度; born 2008-01-03 or later for 年度2026."""
    assert one(person(2026, birth="2008-01-03", business=1_000_000))["exemption"] == "fully_exempt"
    assert one(person(2026, birth="2008-01-02", business=1_000_000))["exemption"] == "none"
    assert one(person(2026, birth="2008-01-03", business=1_000_000), detail=True)["is_minor"] is True
    assert one(person(2026, birth="2008-01-02", business=1_000_000), detail=True)["is_minor"] is False


@pytest.mark.parametrize(("data", "reason", "exemption"), [
    # 地方税法第295条第1項第1号: 生活保護の生活扶助
    (person(2026, business=5_000_000, livelihood_assistance=True), "livelihood_assistance", "fully_exempt"),
    # 第295条第1項第2号: 障害者・未成年者・寡婦・ひとり親 with 合計所得 ≤ 135万
    (person(2026, business=1_350_000, disability="ordinary"), "low_income_category", "fully_exempt"),
    # 第295条第3項 and the ward's 条例 (1級地): 35万 × 1 + 10万 = 45万, one person
    (person(2026, business=450_000), "per_capita_limit", "fully_exempt"),
    # 附則第3条の3: 所得割 only, 35万 × 2 + 10万 + 32万 = 112万 with one dependant
    (person(2026, business=1_120_000, dependants=[{"birth_date": "2015-06-01"}]), "income_levy_limit",
     "income_levy_exempt"),
    (person(2026, business=1_120_001, dependants=[{"birth_date": "2015-06-01"}]), None, "none"),
])
def test_the_exemption_says_which_rule_made_it(data, reason, exemption):
    result = one(data, detail=True)
    assert (result["exemption_reason"], result["exemption"]) == (reason, exemption)


def test_livelihood_assistance_is_fully_exempt():
    result = one(person(2026, salary=10_000_000, livelihood_assistance=True))
    assert result["exemption"] == "fully_exempt" and result["total_tax"] == 0


def test_just_above_the_income_levy_limit_only_the_excess_is_levied():
    """附則第3条の3: 所得割 at most 総所得金額等 − 限度額. Single, 合計所得 450,001円: 課税標準 20,000;
    算出 1,200 / 800; 調整控除 600 / 400; 所得割 ≤ 1円 → 0 after 100円未満切捨て; 均等割 and 森林環境税 only."""
    result = one(person(2026, business=450_001))
    assert result["income_levy_gross_municipal"] == 1_200 and result["income_levy_gross_prefectural"] == 800
    assert result["adjustment_credit_municipal"] == 600 and result["adjustment_credit_prefectural"] == 400
    assert result["income_levy_municipal"] == 0 and result["income_levy_prefectural"] == 0
    assert result["total_tax"] == 5_000


# ----------------------------------------------------------------------------- 調整控除
def test_adjustment_credit_both_branches():
    """第314条の6: ≤200万: min(差, 課税) × 5%; >200万: (差 − (課税 − 200万)) × 5%, at least 2,500円."""
    spouse = {"birth_date": "1980-01-10"}
    student = [{"birth_date": "2005-06-01"}]  # 特定扶養: 差 18万
    # 差 = 5万 (基礎) + 5万 (配偶者) + 18万 (特定) = 28万; deductions 43万 + 33万 + 45万 = 121万
    at = one(person(2026, business=3_210_000, spouse=spouse, dependants=student))
    over = one(person(2026, business=3_211_000, spouse=spouse, dependants=student))
    assert at["taxable_income"] == 2_000_000
    assert (at["adjustment_credit_municipal"], at["adjustment_credit_prefectural"]) == (8_400, 5_600)
    assert over["taxable_income"] == 2_001_000
    assert (over["adjustment_credit_municipal"], over["adjustment_credit_prefectural"]) == (8_370, 5_580)
    far = one(person(2026, business=10_000_000))
    assert (far["adjustment_credit_municipal"], far["adjustment_credit_prefectural"]) == (1_500, 1_000)
    none = one(person(2026, business=25_000_001))
    assert none["adjustment_credit_municipal"] == 0


def test_designated_city_splits_4_to_1():
    data = {**person(2026, business=3_000_000), "municipality": {"kind": "designated_city"}}
    result = one(data)
    # 課税標準 2,570,000: 8% = 205,600, 2% = 51,400; 調整控除 2,500円 minimum → 2,000 / 500
    assert result["income_levy_gross_municipal"] == 205_600 and result["income_levy_gross_prefectural"] == 51_400
    assert (result["adjustment_credit_municipal"], result["adjustment_credit_prefectural"]) == (2_000, 500)


# ----------------------------------------------------------------------- 税額控除
def test_furusato_special_rate_band_edge_and_cap():
    """特例控除の割合 by 課税総所得金額 − 人的控除差調整額 (附則第5条の6): ≤195万 84.895%, above 79.79%."""
    def detail(business):
        data = {**person(2026, business=business), "credits": {"furusato_donations": 12_000}}
        return one(data, detail=True)

    # 令和7年分 所得税 基礎控除 for 合計所得 ≤ 336万: 88万 → add-back 40万; 差 5万 → 人的控除差調整額 45万
    low = detail(2_830_000)   # 課税 2,400,000 → band 1,950,000
    high = detail(2_831_000)  # 課税 2,401,000 → band 1,951,000
    assert low["special_band_income"] == 1_950_000 and low["special_rate"] == 84_895
    assert high["special_rate"] == 79_790
    # (12,000 − 2,000) × 84.895% × 3/5 = 5,093.7 → 5,094 (1円未満切上げ); × 2/5 = 3,395.8 → 3,396
    assert (low["donation_special_credit_municipal"], low["donation_special_credit_prefectural"]) == (5_094, 3_396)


def test_housing_loan_credit_caps():
    """附則第5条の4の2: min(所得税で控除しきれなかった額, 課税総所得金額等 × 5%, 97,500); 3/5 and 2/5."""
    data = {**person(2026, business=6_000_000), "credits": {
        "housing_loan_unused_income_tax_credit": 200_000, "housing_loan_taxable_income_for_income_tax": 4_000_000,
        "housing_moved_in": "2023-04-01"}}
    result = one(data, detail=True)
    assert result["housing_loan_credit_total"] == 97_500
    assert (result["housing_loan_credit_municipal"], result["housing_loan_credit_prefectural"]) == (58_500, 39_000)
    data["credits"]["housing_moved_in"] = "2019-10-01"  # 特定取得: 7%, 136,500
    assert one(data, detail=True)["housing_loan_credit_total"] == 136_500


def test_dividend_credit_within_10_million():
    """附則第5条: 課税総所得金額 ≤ 1,000万: 配当所得 × 1.6% (区) / 1.2% (都)."""
    data = person(2026, business=3_000_000)
    data["income"]["dividend_income"] = 1_000_000
    result = one(data, detail=True)
    assert (result["dividend_credit_municipal"], result["dividend_credit_prefectural"]) == (16_000, 12_000)


@pytest.mark.parametrize(("business", "credit"), [
    # 課税総所得金額 = 事業 + 配当 1,000,000 − 基礎控除 43万 (1,000円未満切捨て).
    # 11,000,000 − 430,000 = 10,570,000 > 1,000万: the 配当 within 1,000万 is
    # max(min(1,000,000, 10,000,000 − (10,570,000 − 1,000,000)), 0) = 430,000, the rest 570,000:
    # 区 430,000 × 1.6% + 570,000 × 0.8% = 6,880 + 4,560; 都 × 1.2% / 0.6% = 5,160 + 3,420
    (10_000_000, (11_440, 8_580)),
    # 13,000,000 − 430,000 = 12,570,000: all of the 配当 above 1,000万: 0.8% / 0.6%
    (12_000_000, (8_000, 6_000)),
])
def test_dividend_credit_above_10_million_splits_the_dividend_at_the_bracket(business, credit):
    """附則第5条第1項・第3項: the part of 配当所得 above 1,000万 of 課税総所得金額等 at half the rate."""
    data = person(2026, business=business)
    data["income"]["dividend_income"] = 1_000_000
    result = one(data, detail=True)
    assert (result["dividend_credit_municipal"], result["dividend_credit_prefectural"]) == credit


def test_dividend_credit_wholly_above_the_bracket_rounds_down_once():
    """All of a 999,999円 配当 above 1,000万: 999,999 × 0.8% = 7,999.992 → 7,999 and × 0.6% = 5,999.994 →
    5,999 (1円未満切捨て of the whole credit, rules/fiscal_year_2026.yaml dividend_credit.rounding)."""
    data = person(2026, business=12_000_000)
    data["income"]["dividend_income"] = 999_999
    result = one(data, detail=True)
    assert (result["dividend_credit_municipal"], result["dividend_credit_prefectural"]) == (7_999, 5_999)


# --------------------------------------------------------------------------- properties
def _random_people(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    people = []
    for _ in range(n):
        year = rng.choice([2025, 2026, 2027])
        dependants = [
            {"birth_date": f"{rng.randint(1940, 2020)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
             "other_income": rng.choice([0, 0, 300_000, 600_000, 900_000]),
             "disability": rng.choice(["none", "none", "ordinary", "special"]),
             "cohabiting": rng.random() < 0.7, "lineal_ascendant": rng.random() < 0.2}
            for _ in range(rng.choice([0, 0, 1, 2, 3]))
        ]
        people.append({
            "fiscal_year": year,
            "taxpayer": {"birth_date": f"{rng.randint(1935, 2006)}-0{rng.randint(1, 9)}-2{rng.randint(0, 8)}",
                         "sex": rng.choice(["female", "male"]),
                         "disability": rng.choice(["none"] * 8 + ["ordinary", "special"]),
                         "widow": rng.random() < 0.05, "working_student": rng.random() < 0.03},
            "income": {"salary_revenue": rng.choice([0, rng.randint(0, 20_000_000)]),
                       "public_pension_revenue": rng.choice([0, 0, rng.randint(0, 5_000_000)]),
                       "business_income": rng.choice([0, 0, rng.randint(0, 8_000_000)]),
                       "dividend_income": rng.choice([0, 0, 0, rng.randint(0, 2_000_000)])},
            "paid": {"social_insurance": rng.randint(0, 1_500_000), "medical_expenses": rng.choice([0, rng.randint(0, 500_000)]),
                     "life_insurance": {"new_general": rng.randint(0, 120_000)}},
            "spouse": rng.choice([None, {"birth_date": "1960-03-03", "other_income": rng.choice([0, 700_000, 1_200_000])}]),
            "dependants": dependants,
            "credits": {"furusato_donations": rng.choice([0, 0, rng.randint(0, 300_000)]),
                        "one_stop": rng.random() < 0.5},
        })
    return people


def test_tax_never_decreases_when_income_rises():
    """Same person, more salary or business income, everything else equal: total_tax does not fall."""
    people = _random_people(3000, seed=4)
    rng = random.Random(5)
    richer = []
    for data in people:
        more = {**data, "income": dict(data["income"])}
        key = rng.choice(["salary_revenue", "business_income"])
        more["income"][key] += rng.choice([1, 1_000, 37_000, 500_000])
        richer.append(more)
    before, after = calculate(people), calculate(richer)
    worse = [(i, b["total_tax"], a["total_tax"]) for i, (b, a) in enumerate(zip(before, after)) if a["total_tax"] < b["total_tax"]]
    assert not worse, worse[:5]


def test_exempt_people_pay_nothing_and_figures_are_consistent():
    results = pl.DataFrame(calculate(_random_people(3000, seed=9)))
    assert set(results.columns) == set(OUTPUT_COLUMNS)
    fully = results.filter(pl.col("exemption") == "fully_exempt")
    assert fully.height > 0
    assert fully.select(pl.col("total_tax").max()).item() == 0
    income_exempt = results.filter(pl.col("exemption") == "income_levy_exempt")
    assert (income_exempt["income_levy_municipal"] + income_exempt["income_levy_prefectural"]).max() in (0, None)
    assert (results["taxable_income"] % 1000 == 0).all()
    assert ((results["income_levy_municipal"] % 100 == 0) & (results["income_levy_prefectural"] % 100 == 0)).all()
    assert (results["income_levy_municipal"] <= results["income_levy_gross_municipal"]).all()


# ------------------------------------------------------------------- more band edges (±1 yen)
@pytest.mark.parametrize(
    "revenue,income",
    [
        (4_100_000, 2_800_000),   # 65歳未満: 4,100,000 × 75% − 275,000
        (4_100_001, 2_800_000),   # ⌊4,100,001 × 85%⌋ − 685,000
        (7_700_000, 5_860_000),   # 7,700,000 × 85% − 685,000
        (7_700_001, 5_860_000),   # ⌊7,700,001 × 95%⌋ − 1,455,000
        (10_000_000, 8_045_000),  # 10,000,000 × 95% − 1,455,000
        (10_000_001, 8_045_001),  # 控除 1,955,000 (上限)
    ],
)
def test_public_pension_upper_bands(revenue, income):
    """所得税法第35条第4項 (公的年金等控除, other income ≤ 1,000万)."""
    assert one(person(2026, birth="1965-06-01", pension=revenue))["public_pension_income"] == income


@pytest.mark.parametrize(
    "earthquake,old_long_term,amount",
    [
        (10_001, 0, 5_001),       # ½, 1円未満切上げ
        (50_000, 0, 25_000), (50_001, 0, 25_000),
        (0, 5_000, 5_000), (0, 5_001, 5_001),  # ½ + 2,500 (2,500.5 → 2,501)
        (0, 15_000, 10_000), (0, 15_001, 10_000),
        (40_000, 15_001, 25_000),  # together at most 25,000
    ],
)
def test_earthquake_insurance_bands(earthquake, old_long_term, amount):
    """地震保険料控除 (地方税法第314条の2第1項第5号の3)."""
    data = {**person(2026, business=3_000_000),
            "paid": {"earthquake_insurance": earthquake, "old_long_term_casualty_insurance": old_long_term}}
    assert one(data, detail=True)["deduction_earthquake"] == amount


@pytest.mark.parametrize("year,limit", [(2025, 750_000), (2026, 850_000), (2027, 890_000)])
def test_working_student_income_limit(year, limit):
    """勤労学生控除 26万円 while 合計所得 ≤ the year's limit (75万 / 85万 / 89万)."""
    assert one(person(year, business=limit, working_student=True), detail=True)["deduction_working_student"] == 260_000
    assert one(person(year, business=limit + 1, working_student=True), detail=True)["deduction_working_student"] == 0


def test_single_parent_and_widow_income_limit():
    """ひとり親 30万 / 寡婦 26万 only while 合計所得 ≤ 500万 (地方税法第292条第1項第11号・第12号)."""
    assert one(person(2026, business=5_000_000, single_parent=True, sex="female"), detail=True)["deduction_single_parent"] == 300_000
    assert one(person(2026, business=5_000_001, single_parent=True, sex="female"), detail=True)["deduction_single_parent"] == 0
    assert one(person(2026, business=5_000_000, widow=True, sex="female"), detail=True)["deduction_widow"] == 260_000
    assert one(person(2026, business=5_000_001, widow=True, sex="female"), detail=True)["deduction_widow"] == 0


def test_single_parent_adjustment_difference_depends_on_sex():
    """人的控除差: ひとり親 (母) 5万, (父) 1万 (地方税法第37条第1号イ, 施行令)."""
    mother = one(person(2026, business=3_000_000, single_parent=True, sex="female"), detail=True)
    father = one(person(2026, business=3_000_000, single_parent=True, sex="male"), detail=True)
    assert mother["personal_deduction_difference"] == 50_000 + 50_000
    assert father["personal_deduction_difference"] == 50_000 + 10_000


@pytest.mark.parametrize(("data", "difference"), [
    # 人的控除額の差 (地方税法第314条の6第1号イ): 所得税's deduction minus 住民税's, plus 基礎 5万
    (person(2026, business=3_000_000), 50_000),
    (person(2026, business=3_000_000, disability="ordinary"), 50_000 + 10_000),   # 障害者 27万 − 26万
    (person(2026, business=3_000_000, disability="special"), 50_000 + 100_000),   # 特別障害者 40万 − 30万
    (person(2026, business=3_000_000, widow=True, sex="female"), 50_000 + 10_000),  # 寡婦 27万 − 26万
    (person(2026, salary=1_400_000, working_student=True), 50_000 + 10_000),     # 勤労学生 27万 − 26万
    (person(2026, business=25_000_001), 0),  # 合計所得 2,500万超: no 基礎控除, so no difference for it
])
def test_personal_deduction_difference_of_the_taxpayers_own_deductions(data, difference):
    assert one(data, detail=True)["personal_deduction_difference"] == difference


@pytest.mark.parametrize(("total", "credit"), [
    # 調整控除 (第314条の6): 合計所得 2,500万以下 only; above 200万 of 課税標準 the base is
    # max(人的控除差 5万 − (課税標準 − 200万), 5万) = 5万 → 市 3% = 1,500, 都 2% = 1,000
    (25_000_000, 2_500), (25_000_001, 0),
])
def test_adjustment_credit_ends_above_25_million(total, credit):
    detail = one(person(2026, business=total), detail=True)
    assert detail["adjustment_credit_municipal"] + detail["adjustment_credit_prefectural"] == credit


def test_second_grade_per_capita_limit():
    """2級地: 31.5万 + 10万 = 41.5万 for a single person (施行令第47条の3); the 所得割 limit stays 45万."""
    data = lambda total: {**person(2026, business=total), "municipality": {"kind": "city", "grade": 2}}  # noqa: E731
    assert one(data(415_000))["exemption"] == "fully_exempt"
    assert one(data(415_001))["exemption"] == "income_levy_exempt"
    assert one(data(450_001))["exemption"] == "none"


def test_medical_deduction_cap():
    """医療費控除 at most 200万円."""
    data = {**person(2026, business=10_000_000), "paid": {"medical_expenses": 2_100_000}}
    assert one(data, detail=True)["deduction_medical"] == 2_000_000
    data = {**person(2026, business=10_000_000), "paid": {"medical_expenses": 2_100_001}}
    assert one(data, detail=True)["deduction_medical"] == 2_000_000


def test_special_credit_cap_is_20_percent_of_levy_after_adjustment():
    """特例控除 ≤ 所得割 (after 調整控除) × 20% per levy (地方税法第314条の7第11項)."""
    data = {**person(2026, business=3_000_000), "credits": {"furusato_donations": 1_000_000}}
    result = one(data, detail=True)
    # 課税標準 2,570,000; 算出 154,200 / 102,800; 調整控除 1,500 / 1,000 → caps 30,540 / 20,360
    assert result["donation_special_credit_municipal"] == 30_540
    assert result["donation_special_credit_prefectural"] == 20_360


def test_housing_loan_cap_for_a_home_that_is_not_a_specified_acquisition():
    """A home bought without 8%/10% 消費税 (not 特定取得) keeps 5% / 97,500 even for 2014-04…2021-12."""
    credits = {"housing_loan_unused_income_tax_credit": 900_000, "housing_loan_taxable_income_for_income_tax": 5_000_000,
               "housing_moved_in": "2019-06-01", "housing_not_specified_acquisition": True}
    result = one({**person(2027, salary=9_000_000, social=1_000_000), "credits": credits}, detail=True)
    assert (result["housing_loan_credit_municipal"], result["housing_loan_credit_prefectural"]) == (58_500, 39_000)


def test_housing_loan_cap_base_adds_back_the_income_tax_basic_deduction_increase():
    """From 年度2026 (居住 2016–2025) the cap base is 所得税の課税総所得金額等 + max(0, 所得税の基礎控除 − 48万);
    合計所得 2,020,000 → 令和7年分 所得税 基礎控除 88万 → +40万: (1,000,000 + 400,000) × 5% = 70,000."""
    credits = {"housing_loan_unused_income_tax_credit": 200_000, "housing_loan_taxable_income_for_income_tax": 1_000_000,
               "housing_moved_in": "2023-06-01"}
    result = one({**person(2026, salary=3_000_000, social=450_000), "credits": credits}, detail=True)
    assert result["housing_loan_credit_total"] == 70_000
    assert (result["housing_loan_credit_municipal"], result["housing_loan_credit_prefectural"]) == (42_000, 28_000)
    before = one({**person(2025, salary=3_000_000, social=450_000), "credits": credits}, detail=True)
    assert before["housing_loan_credit_total"] == 50_000  # 令和6年分: 基礎控除 48万, nothing to add back



@pytest.mark.parametrize(("moved_in", "credit"), [
    # rules/fiscal_year_2026.yaml housing_loan_credit (附則第5条の4の2), rows by 居住開始日 (from inclusive):
    # 2009-01-01 5% / 97,500; 2014-04-01 7% / 136,500 (特定取得); 2022-01-01 5% / 97,500; none after 2030-12-31.
    # Cap base: 所得税の課税総所得金額等 1,000,000, plus for 居住 2016-01-01…2025-12-31 the 所得税 基礎控除's
    # excess over 48万 (合計所得 2,020,000 → 88万 → +40万). 所得税で控除しきれなかった額 1,000,000 never binds.
    ("2008-12-31", 0),
    ("2009-01-01", 50_000), ("2014-03-31", 50_000),
    ("2014-04-01", 70_000), ("2015-12-31", 70_000),
    ("2016-01-01", 98_000), ("2021-12-31", 98_000),    # 1,400,000 × 7%
    ("2022-01-01", 70_000), ("2025-12-31", 70_000),    # 1,400,000 × 5%
    ("2026-01-01", 50_000), ("2030-12-31", 50_000),
    ("2031-01-01", 0),
])
def test_housing_loan_credit_by_move_in_date_at_every_row_edge(moved_in, credit):
    credits = {"housing_loan_unused_income_tax_credit": 1_000_000,
               "housing_loan_taxable_income_for_income_tax": 1_000_000, "housing_moved_in": moved_in}
    result = one({**person(2026, business=2_020_000), "credits": credits}, detail=True)
    assert result["housing_loan_credit_total"] == credit
    added_back = "2016-01-01" <= moved_in <= "2025-12-31"
    assert result["housing_loan_cap_base"] == 1_000_000 + (400_000 if added_back else 0)


def test_housing_loan_credit_is_at_most_what_income_tax_could_not_use():
    """min(所得税で控除しきれなかった額, cap base × rate, cap): 30,000 left over → 30,000, under 50,000."""
    credits = {"housing_loan_unused_income_tax_credit": 30_000,
               "housing_loan_taxable_income_for_income_tax": 1_000_000, "housing_moved_in": "2009-01-01"}
    result = one({**person(2026, business=2_020_000), "credits": credits}, detail=True)
    assert (result["housing_loan_limit"], result["housing_loan_credit_total"]) == (50_000, 30_000)


def test_without_a_housing_loan_there_is_no_cap_base_and_no_credit():
    result = one(person(2026, business=2_020_000), detail=True)
    assert (result["housing_loan_cap_base"], result["housing_loan_limit"], result["housing_loan_credit_total"]) == (0, 0, 0)

# ---------------------------------------------------------------- exact rates (found by make mutate)


def test_rates_become_exact_integers_over_the_engine_scale():
    """Rates are exact (no float, STYLE "money is integers"): a rate becomes an integer over SCALE = 100,000
    (100 % = 100,000, so 1,000 per percent point and up to 3 decimals of a percent).

    Worked by hand: the rule files' percent strings (tax_rules.to_fraction) "84.895" → 84.895 × 1,000 =
    84,895 and "6" → 6,000; a Fraction is a share of 1: 4/100 (4 %) → 4,000.
    """
    from fractions import Fraction

    from transforms.tax_engine import SCALE, scaled

    assert SCALE == 100_000
    assert scaled("84.895") == 84_895
    assert scaled("6") == 6_000
    assert scaled(Fraction(4, 100)) == 4_000


def test_a_rate_finer_than_the_scale_is_refused_not_rounded():
    """84.8951 % (= 848,951/1,000,000) is finer than 1/100,000: refuse, never round."""
    from fractions import Fraction

    from transforms.tax_engine import scaled

    with pytest.raises(ValueError, match=r"^rate 848951/1000000 has more precision than the engine's scale 1/100000$"):
        scaled("84.8951")
    with pytest.raises(ValueError, match=r"^調整控除 1/3000 has more precision"):
        scaled(Fraction(1, 3000), what="調整控除")


# ------------------------------------------------------ rules found untested by make mutate (second run)


def test_the_donation_basic_credit_counts_donations_up_to_30_percent_of_total_income():
    """寄附金税額控除の基本控除 (地方税法第314条の7第1項, 第37条の2第1項): (寄附金 − 2,000) × 10%, the 寄附金
    counted up to 総所得金額等の100分の30. 事業所得 3,000,000 → limit 900,000; a 1,500,000 ふるさと納税 counts
    900,000: 区 (900,000 − 2,000) × 6% = 53,880, 都 × 4% = 35,920."""
    result = one({**person(2026, business=3_000_000), "credits": {"furusato_donations": 1_500_000}}, detail=True)
    assert result["donation_base_limit"] == 900_000
    assert (result["donation_basic_credit_municipal"], result["donation_basic_credit_prefectural"]) == (53_880, 35_920)
    # under the limit the whole donation counts: (600,000 − 2,000) × 6% / 4%
    result = one({**person(2026, business=3_000_000), "credits": {"furusato_donations": 600_000}}, detail=True)
    assert (result["donation_basic_credit_municipal"], result["donation_basic_credit_prefectural"]) == (35_880, 23_920)


def test_a_donation_the_ward_designated_by_ordinance_adds_to_the_ward_levy_only():
    """条例で定める寄附金 (地方税法第314条の7第1項第4号) counts for the 区民税 basic credit only: 区 (50,000 +
    10,000 − 2,000) × 6% = 3,480; 都 (50,000 − 2,000) × 4% = 1,920 (the 2,000 is taken per levy)."""
    credits = {"furusato_donations": 50_000, "other_donations_municipal": 10_000}
    result = one({**person(2026, business=3_000_000), "credits": credits}, detail=True)
    assert (result["donation_basic_credit_municipal"], result["donation_basic_credit_prefectural"]) == (3_480, 1_920)


def test_the_special_credit_rate_is_90_percent_when_the_band_income_is_below_zero():
    """特例控除額の割合 (地方税法第314条の7第11項, rules ``donation_credit.special_rate`` ``from: null``): 90 % when
    課税総所得金額 − 人的控除額の差の合計額 is below 0. 事業所得 700,000: 課税総所得金額 270,000, and the
    人的控除差調整額 (5万 plus the 所得税 基礎控除 above 48万, at least 40万 in 令和7年分) exceeds it.
    Special credit (5,000 − 2,000) × 90 % = 2,700 → 区 3/5 = 1,620, 都 2/5 = 1,080; the cap, 20 % of the 所得割
    after 調整控除 (270,000 × 6 % − 1,500 = 14,700 → 2,940; × 4 % − 1,000 = 9,800 → 1,960), does not bind."""
    result = one({**person(2026, business=700_000), "credits": {"furusato_donations": 5_000}}, detail=True)
    assert result["special_band_income"] < 0
    assert result["special_rate"] == 90_000  # 90 % over the engine's scale of 100,000
    assert (result["donation_special_credit_municipal"], result["donation_special_credit_prefectural"]) == (1_620, 1_080)


@pytest.mark.parametrize(("revenue", "amount"), [
    # a spouse of 75 with only a pension: 公的年金等に係る雑所得 = revenue − 1,100,000 (65歳以上), no
    # 所得金額調整控除 without a 給与所得 (措法第41条の3の11第2項 needs both); 配偶者特別控除 rows as above
    (2_100_000, 330_000),  # 合計所得 1,000,000
    (2_100_001, 310_000),  # 1,000,001: the next row
])
def test_a_spouse_with_only_a_pension_takes_no_salary_and_pension_adjustment(revenue, amount):
    data = person(2026, business=5_000_000, spouse={"birth_date": "1950-05-01", "public_pension_revenue": revenue})
    assert one(data, detail=True)["deduction_spouse_special"] == amount


def test_an_exempt_person_shows_no_near_limit_reduction():
    """附則第3条の3's reduction applies to a person who is levied; one below the limit (合計所得 350,000 ≤
    45万) is exempt and the explanation must not show a reduction that did not happen."""
    result = one(person(2026, business=350_000), detail=True)
    assert result["exemption"] == "fully_exempt"
    assert (result["near_limit_reduction"], result["near_limit_reduction_municipal"],
            result["near_limit_reduction_prefectural"]) == (0, 0, 0)


def test_a_rule_table_is_read_by_its_from_column_in_any_row_order():
    """Rule tables are data: the band holding a value is the row with the greatest ``from`` at or below it,
    ``from: null`` being the band below 0 (rules/README.md), whatever order the file lists them in."""
    from transforms.tax_engine import _banded

    rows = [{"from": 100, "v": 3}, {"from": None, "v": 1}, {"from": 0, "v": 2}]
    frame = pl.DataFrame({"x": [-5, 0, 99, 100, 1_000]})
    got = frame.select(_banded(pl.col("x"), rows, lambda row: pl.lit(row["v"])).otherwise(-1).alias("band"))
    assert got["band"].to_list() == [1, 2, 2, 3, 3]


@pytest.mark.parametrize(("rows", "message"), [
    ([{"from": 0, "fixed": 0}, {"from": True, "fixed": 5}], r"\[1\]: 'from' must be an integer above the previous"),
    ([{"from": 0, "fixed": 0}, {"from": "9", "fixed": 5}], r"\[1\]: 'from' must be an integer above the previous"),
    ([{"from": 0, "fixed": 0}, {"from": 10, "fixed": 5}, {"from": 10, "fixed": 6}],
     r"\[2\]: 'from' must be an integer above the previous row's, got 10"),
    ([{"from": 0, "fixed": 0}, {"from": 10, "fixed": 5}, {"from": 9, "fixed": 6}], r"\[2\]: 'from' must be"),
    ([{"from": 0, "fixed": True}], r"\[0\]: a fixed row has only 'from' and an integer 'fixed'"),
    ([{"from": 0, "fixed": "0"}], r"\[0\]: a fixed row has only"),
    ([{"from": 0, "fixed": 0, "add": 1}], r"\[0\]: a fixed row has only"),
    ([{"from": 0, "floor_unit": 1, "percent": "0"}], r"\[0\]: a row is either 'fixed' or has floor_unit, percent and add"),
])
def test_a_malformed_salary_table_is_refused_naming_the_file_and_row(rows, message):
    """所得税法別表第五 as data must be a table the engine can read unambiguously; each fault names the row."""
    from transforms.tax_engine import salary_table
    from transforms.tax_rules import RuleError, Rules

    rules = Rules(file="fiscal_year_2099.yaml", header={}, parameters={"salary_income": {"table": rows}})
    with pytest.raises(RuleError, match=r"^fiscal_year_2099\.yaml: salary_income\.table" + message):
        salary_table(rules)


def test_a_rounding_other_than_floor_or_ceil_is_refused():
    """Every rounding step is explicit (STYLE): a rule file naming another rounding stops the engine."""
    from fractions import Fraction

    from transforms.tax_engine import times_fraction

    frame = pl.DataFrame({"yen": [1_001]})
    assert frame.select(times_fraction(pl.col("yen"), Fraction(1, 10)))["yen"].to_list() == [100]
    assert frame.select(times_fraction(pl.col("yen"), Fraction(1, 10), "ceil"))["yen"].to_list() == [101]
    with pytest.raises(ValueError, match="unknown rounding 'half_up'"):
        times_fraction(pl.col("yen"), Fraction(1, 10), "half_up")
