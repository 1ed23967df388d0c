"""Income-tax-side amounts that employers, pension payers and taxpayers write on their documents.

The 源泉徴収票/給与支払報告書 (年末調整) and the 確定申告書 carry 所得税 amounts (給与所得控除後の金額,
所得控除の額の合計額, 課税される所得金額 …). The generator derives them from the population's facts with
the rules below so that every document is internally consistent. They are the *documents' own*
figures: the resident-tax engine recomputes everything with the resident-tax rules in ``rules/``; this
module is not the tax engine and is not used by it.

Sources: docs/sources.md T1 and TD1-TD3 (給与所得控除 with the 4,000-yen
table below 6.6M, 公的年金等控除 table, 所得税 基礎控除 by year, 配偶者(特別)控除 所得税 columns).
Items marked [MEMORY] were not in those files and come from general knowledge of 所得税法 (生命保険料控除
第76条, 地震保険料控除 第77条, 障害者/寡婦/ひとり親/勤労学生/扶養 amounts 第79-84条, the 速算表 of 第89条,
復興特別所得税 2.1%); they only shape the synthetic documents.
All expressions are vectorised Polars expressions over Int64 yen.
"""

from __future__ import annotations

import polars as pl


def salary_income(revenue: pl.Expr, income_year: int) -> pl.Expr:
    """給与所得控除後の給与等の金額 as a payer computes it (所得税法第28条, 別表第五 in its whole range, incl. the
    first row's 0 and the fixed rows): the product's rule-driven function on the rules of 年度 income_year + 1,
    so the documents the sample ward writes follow the same table as the law (rules/fiscal_year_N.yaml)."""
    from transforms.tax_engine import salary_income_before_adjustment
    from transforms.tax_rules import load_rules

    return salary_income_before_adjustment(revenue.fill_null(0).cast(pl.Int64), load_rules(income_year + 1)).cast(pl.Int64)


def pension_income(revenue: pl.Expr, aged_65: pl.Expr, other_income: pl.Expr) -> pl.Expr:
    """公的年金等に係る雑所得 (所得税法第35条; table of docs/sources.md TD1, 令和2年分以後).

    ``other_income`` = 公的年金等に係る雑所得以外の合計所得金額 (selects the column)."""
    a = revenue.fill_null(0)
    other = other_income.fill_null(0)
    shift = pl.when(other <= 10_000_000).then(0).when(other <= 20_000_000).then(100_000).otherwise(200_000)
    floor_young, floor_old = 600_000, 1_100_000
    deduction = (
        pl.when(aged_65 & (a <= 3_300_000))
        .then(pl.lit(floor_old))
        .when(~aged_65 & (a <= 1_300_000))
        .then(pl.lit(floor_young))
        .when(a <= 4_100_000)
        .then(a // 4 + 275_000)
        .when(a <= 7_700_000)
        .then(a * 15 // 100 + 685_000)
        .when(a <= 10_000_000)
        .then(a * 5 // 100 + 1_455_000)
        .otherwise(pl.lit(1_955_000))
    ) - shift
    return pl.max_horizontal(pl.lit(0), a - deduction).cast(pl.Int64)


def _ceil_div(expr: pl.Expr, divisor: int) -> pl.Expr:
    return -((-expr) // divisor)


def _life_new(p: pl.Expr) -> pl.Expr:
    p = p.fill_null(0)
    return (
        pl.when(p <= 20_000)
        .then(p)
        .when(p <= 40_000)
        .then(_ceil_div(p, 2) + 10_000)
        .when(p <= 80_000)
        .then(_ceil_div(p, 4) + 20_000)
        .otherwise(pl.lit(40_000))
    )


def _life_old(p: pl.Expr) -> pl.Expr:
    p = p.fill_null(0)
    return (
        pl.when(p <= 25_000)
        .then(p)
        .when(p <= 50_000)
        .then(_ceil_div(p, 2) + 12_500)
        .when(p <= 100_000)
        .then(_ceil_div(p, 4) + 25_000)
        .otherwise(pl.lit(50_000))
    )


def life_insurance_deduction(
    new_general: pl.Expr, old_general: pl.Expr, new_pension: pl.Expr, old_pension: pl.Expr, care_medical: pl.Expr
) -> pl.Expr:
    """生命保険料控除 (所得税, [MEMORY] 所得税法第76条): per class max(old, min(new+old, 40,000)); total ≤ 120,000."""

    def klass(new: pl.Expr, old: pl.Expr) -> pl.Expr:
        n, o = _life_new(new), _life_old(old)
        return pl.max_horizontal(o, pl.min_horizontal(n + o, pl.lit(40_000)))

    total = klass(new_general, old_general) + klass(new_pension, old_pension) + _life_new(care_medical)
    return pl.min_horizontal(total, pl.lit(120_000)).cast(pl.Int64)


def earthquake_deduction(premium: pl.Expr) -> pl.Expr:
    """地震保険料控除 (所得税, [MEMORY] 第77条): the premium, at most 50,000."""
    return pl.min_horizontal(premium.fill_null(0), pl.lit(50_000)).cast(pl.Int64)


def basic_deduction(total_income: pl.Expr, income_year: int) -> pl.Expr:
    """所得税 基礎控除 by 合計所得金額 (docs/sources.md TD3; 令和7年分 NTA No.1199, 令和8年分 [3P])."""
    t = total_income.fill_null(0)
    if income_year <= 2024:
        low = pl.lit(480_000)
    elif income_year == 2025:
        low = (
            pl.when(t <= 1_320_000)
            .then(950_000)
            .when(t <= 3_360_000)
            .then(880_000)
            .when(t <= 4_890_000)
            .then(680_000)
            .when(t <= 6_550_000)
            .then(630_000)
            .otherwise(580_000)
        )
    else:
        low = pl.when(t <= 4_890_000).then(1_040_000).when(t <= 6_550_000).then(670_000).otherwise(620_000)
    return (
        pl.when(t <= 23_500_000)
        .then(low)
        .when(t <= 24_000_000)
        .then(480_000)
        .when(t <= 24_500_000)
        .then(320_000)
        .when(t <= 25_000_000)
        .then(160_000)
        .otherwise(0)
        .cast(pl.Int64)
    )


def dependant_income_limit(income_year: int) -> int:
    """同一生計配偶者・扶養親族の合計所得金額の上限 (48万 ≤2024, 58万 2025, 62万 2026+ [3P])."""
    return 480_000 if income_year <= 2024 else (580_000 if income_year == 2025 else 620_000)


def spouse_deduction(taxpayer_income: pl.Expr, spouse_income: pl.Expr, spouse_aged_70: pl.Expr, income_year: int) -> pl.Expr:
    """配偶者控除 / 配偶者特別控除 (所得税 columns of docs/sources.md TD2). 0 when no spouse (null income)."""
    t = taxpayer_income.fill_null(0)
    s = spouse_income
    limit = dependant_income_limit(income_year)
    tier = pl.when(t <= 9_000_000).then(3).when(t <= 9_500_000).then(2).when(t <= 10_000_000).then(1).otherwise(0)
    full_general = pl.when(tier == 3).then(380_000).when(tier == 2).then(260_000).when(tier == 1).then(130_000).otherwise(0)
    full_aged = pl.when(tier == 3).then(480_000).when(tier == 2).then(320_000).when(tier == 1).then(160_000).otherwise(0)
    base = (
        pl.when(s <= 950_000)
        .then(380_000)
        .when(s <= 1_000_000)
        .then(360_000)
        .when(s <= 1_050_000)
        .then(310_000)
        .when(s <= 1_100_000)
        .then(260_000)
        .when(s <= 1_150_000)
        .then(210_000)
        .when(s <= 1_200_000)
        .then(160_000)
        .when(s <= 1_250_000)
        .then(110_000)
        .when(s <= 1_300_000)
        .then(60_000)
        .when(s <= 1_330_000)
        .then(30_000)
        .otherwise(0)
    )
    # middle / right columns: 2/3 and 1/3 of the base rounded up to 10,000 yen
    special = (
        pl.when(tier == 3)
        .then(base)
        .when(tier == 2)
        .then(_ceil_div(base * 2 // 3, 10_000) * 10_000)
        .when(tier == 1)
        .then(_ceil_div(base // 3, 10_000) * 10_000)
        .otherwise(0)
    )
    return (
        pl.when(s.is_null())
        .then(0)
        .when(s <= limit)
        .then(pl.when(spouse_aged_70).then(full_aged).otherwise(full_general))
        .otherwise(special)
        .cast(pl.Int64)
    )


def donation_deduction(donations: pl.Expr, total_income: pl.Expr) -> pl.Expr:
    """寄附金控除 (所得税, [MEMORY] 第78条): min(寄附金, 総所得金額等 × 40%) − 2,000, not below 0."""
    cap = pl.max_horizontal(total_income.fill_null(0), pl.lit(0)) * 4 // 10
    return pl.max_horizontal(pl.lit(0), pl.min_horizontal(donations.fill_null(0), cap) - 2_000).cast(pl.Int64)


def medical_deduction(expenses: pl.Expr, total_income: pl.Expr) -> pl.Expr:
    """医療費控除: expenses − min(100,000, 総所得金額等 × 5%), between 0 and 2,000,000."""
    floor = pl.min_horizontal(pl.lit(100_000), pl.max_horizontal(total_income.fill_null(0), pl.lit(0)) * 5 // 100)
    return pl.min_horizontal(pl.lit(2_000_000), pl.max_horizontal(pl.lit(0), expenses.fill_null(0) - floor)).cast(pl.Int64)


def income_tax(taxable: pl.Expr) -> pl.Expr:
    """所得税額 from 課税される所得金額 ([MEMORY] 所得税法第89条 速算表)."""
    t = taxable
    return (
        pl.when(t <= 1_950_000)
        .then(t * 5 // 100)
        .when(t <= 3_300_000)
        .then(t * 10 // 100 - 97_500)
        .when(t <= 6_950_000)
        .then(t * 20 // 100 - 427_500)
        .when(t <= 9_000_000)
        .then(t * 23 // 100 - 636_000)
        .when(t <= 18_000_000)
        .then(t * 33 // 100 - 1_536_000)
        .when(t <= 40_000_000)
        .then(t * 40 // 100 - 2_796_000)
        .otherwise(t * 45 // 100 - 4_796_000)
        .cast(pl.Int64)
    )


def reconstruction_tax(base_tax: pl.Expr) -> pl.Expr:
    """復興特別所得税: 2.1% of the 基準所得税額, 1円未満切捨て."""
    return (base_tax * 21 // 1000).cast(pl.Int64)


# 所得税 personal deductions ([MEMORY] 所得税法第79条-第84条)
DISABLED = 270_000
SPECIAL_DISABLED = 400_000
COHABITING_SPECIAL_DISABLED = 750_000
WIDOW = 270_000
SINGLE_PARENT = 350_000
WORKING_STUDENT = 270_000
DEPENDANT_GENERAL = 380_000
DEPENDANT_SPECIFIC = 630_000
DEPENDANT_AGED = 480_000
DEPENDANT_AGED_COHABITING_PARENT = 580_000
