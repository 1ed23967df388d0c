"""The tax engine (税額計算): 個人住民税 for every person in one vectorised pass, integer yen.

Inputs are the two frames of :mod:`contracts.taxation_basis` (persons and their spouse/dependants)
plus the municipality profile columns (:func:`profile_columns`), one set per person so that the
calculator can mix municipalities. The rules of the fiscal year come from ``rules/`` through
:mod:`transforms.tax_rules`; this module holds only formulas. Every rounding is a named step.

Order of the computation (each step's article is in the rule file it reads):

1. 所得: 給与所得 (the rows of 別表第五: 0 below the first row's threshold, fixed rows, formulas on the
   floored revenue), 所得金額調整控除 (1), 公的年金等に係る雑所得 (age and
   other-income column), 所得金額調整控除 (2); 合計所得金額 and 総所得金額等 (一時所得 at ½).
2. Relatives: each spouse/dependant's own 合計所得 decides 同一生計配偶者 / 扶養親族 / 特定親族 and the
   category (年少, 一般, 特定, 老人, 同居老親等), disability and the 非課税 headcount.
3. 所得控除 → 課税標準 (1,000円未満切捨て).
4. 非課税 tests (生活扶助, 135万円, 均等割 limit with the 級地, 所得割 limit).
5. 所得割 per levy = 課税標準 × rate; credits in order: 調整控除, 配当控除, 住宅借入金等特別税額控除,
   寄附金税額控除 (基本, 特例 with the 20% cap on the 所得割 after 調整控除, 申告特例); the 附則第3条の3
   reduction; 100円未満切捨て per levy.
6. 均等割 and 森林環境税 unless fully exempt.

Scope: 総合課税 income only; 分離課税 (土地建物・株式等・先物), 退職所得, 損失の繰越・損益通算 and the
配当割・株式等譲渡所得割 credit are later work (docs/tax-engine.md). Amounts are non-negative.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import polars as pl

from contracts.taxation_basis import RELATIVE_AMOUNTS, person_schema, relative_schema
from transforms.tax_rules import Profile, RuleError, Rules, load_rules, to_fraction

SCALE = 100_000  # percent strings with up to 3 decimals become integers over SCALE (84.895% → 84895)
LEVIES = ("municipal", "prefectural")
I64 = pl.Int64

#: the calculator's output keys (issue #4 §10), in order
OUTPUT_COLUMNS: tuple[str, ...] = (
    "salary_income", "public_pension_income", "total_income", "gross_income", "income_deductions",
    "taxable_income", "income_levy_gross_municipal", "income_levy_gross_prefectural",
    "adjustment_credit_municipal", "adjustment_credit_prefectural", "income_levy_municipal",
    "income_levy_prefectural", "per_capita_levy_municipal", "per_capita_levy_prefectural",
    "forest_environment_tax", "total_tax", "exemption",
)

#: profile columns every person row carries (integers; rates over SCALE, shares as num/den)
PROFILE_COLUMNS: tuple[str, ...] = (
    "income_rate_municipal", "income_rate_prefectural",
    "adjustment_rate_municipal", "adjustment_rate_prefectural",
    "donation_basic_rate_municipal", "donation_basic_rate_prefectural",
    "dividend_lower_rate_municipal", "dividend_lower_rate_prefectural",
    "dividend_upper_rate_municipal", "dividend_upper_rate_prefectural",
    "credit_share_num_municipal", "credit_share_num_prefectural", "credit_share_den",
    "per_capita_municipal", "per_capita_prefectural", "grade",
)


# ------------------------------------------------------------------------------------ scalars
def scaled(rate: Fraction | str, *, what: str = "rate") -> int:
    """An exact rate as an integer over SCALE; refuses rates that do not fit (no silent rounding)."""
    fraction = rate if isinstance(rate, Fraction) else to_fraction(rate)
    value = fraction * SCALE
    if value.denominator != 1:
        raise ValueError(f"{what} {fraction} has more precision than the engine's scale 1/{SCALE}")
    return int(value)


def profile_columns(profile: Profile, *, per_capita_municipal: int | None = None,
                    per_capita_prefectural: int | None = None, grade: int | None = None) -> dict[str, int]:
    """The profile as the integer columns the engine reads (overrides for the calculator)."""
    share_m = profile.get("credit_share.municipal")
    share_p = profile.get("credit_share.prefectural")
    if share_m[1] != share_p[1] or share_m[0] + share_p[0] != share_m[1]:
        raise ValueError(f"{profile.file}: credit_share must be two shares of one denominator that add up to it")
    return {
        "income_rate_municipal": scaled(profile.percent("income_levy_percent.municipal")),
        "income_rate_prefectural": scaled(profile.percent("income_levy_percent.prefectural")),
        "adjustment_rate_municipal": scaled(profile.percent("adjustment_credit_percent.municipal")),
        "adjustment_rate_prefectural": scaled(profile.percent("adjustment_credit_percent.prefectural")),
        "donation_basic_rate_municipal": scaled(profile.percent("donation_basic_percent.municipal")),
        "donation_basic_rate_prefectural": scaled(profile.percent("donation_basic_percent.prefectural")),
        "dividend_lower_rate_municipal": scaled(profile.percent("dividend_credit_percent.lower.municipal")),
        "dividend_lower_rate_prefectural": scaled(profile.percent("dividend_credit_percent.lower.prefectural")),
        "dividend_upper_rate_municipal": scaled(profile.percent("dividend_credit_percent.upper.municipal")),
        "dividend_upper_rate_prefectural": scaled(profile.percent("dividend_credit_percent.upper.prefectural")),
        "credit_share_num_municipal": int(share_m[0]),
        "credit_share_num_prefectural": int(share_p[0]),
        "credit_share_den": int(share_m[1]),
        "per_capita_municipal": profile.amount("per_capita_levy.municipal") if per_capita_municipal is None else per_capita_municipal,
        "per_capita_prefectural": profile.amount("per_capita_levy.prefectural") if per_capita_prefectural is None else per_capita_prefectural,
        "grade": profile.amount("grade.value") if grade is None else grade,
    }


# ----------------------------------------------------------------------------- rounding steps
def floor_to_unit(amount: pl.Expr, unit: int) -> pl.Expr:
    """Round down to a multiple of ``unit`` (1,000円未満切捨て: 地方税法第20条の4の2第1項; 100円未満: 第3項)."""
    return (amount // unit) * unit


def ceil_div(numerator: pl.Expr, denominator: int | pl.Expr) -> pl.Expr:
    """⌈a / b⌉ for a ≥ 0, b > 0 (1円未満切上げ)."""
    return (numerator + denominator - 1) // denominator


def _divide(numerator: pl.Expr, denominator: int | pl.Expr, rounding: str) -> pl.Expr:
    """numerator / denominator rounded to 1円 as the rule file says (``floor`` or ``ceil``)."""
    if rounding == "ceil":
        return ceil_div(numerator, denominator)
    if rounding == "floor":
        return numerator // denominator
    raise ValueError(f"unknown rounding {rounding!r} (floor or ceil)")


def times_fraction(amount: pl.Expr, fraction: Fraction, rounding: str = "floor") -> pl.Expr:
    """amount × fraction with an explicit rounding to 1円 (floor or ceil)."""
    if fraction.denominator == 1:
        return amount * fraction.numerator
    return _divide(amount * fraction.numerator, fraction.denominator, rounding)


def age_at_year_end(birth: pl.Expr, year: int) -> pl.Expr:
    """Age at 31 December of ``year`` (年齢計算ニ関スル法律: a person born on 1 January reaches the age on
    31 December of the previous year, so they count one year older)."""
    born_jan1 = ((birth.dt.month() == 1) & (birth.dt.day() == 1)).cast(pl.Int32)
    return (year - birth.dt.year().cast(pl.Int32) + born_jan1).cast(pl.Int32)


def _banded(value: pl.Expr, rows: list[dict], make) -> pl.Expr:
    """A when/then chain over rows sorted by ``from`` (inclusive lower bound; null = below 0)."""
    ordered = sorted(rows, key=lambda r: -10**18 if r.get("from") is None else int(r["from"]))
    expr = None
    for row in reversed(ordered):
        lower = row.get("from")
        condition = pl.lit(True) if lower is None else value >= int(lower)
        expr = pl.when(condition).then(make(row)) if expr is None else expr.when(condition).then(make(row))
    return expr


def _up_to(value: pl.Expr, rows: list[dict], field: str, default: int = 0) -> pl.Expr:
    """First row whose ``up_to`` (inclusive; null = no limit) holds ``value``; the row's ``field``."""
    expr = None
    for row in rows:
        upper = row.get("up_to")
        condition = pl.lit(True) if upper is None else value <= int(upper)
        then = pl.lit(int(row[field]), I64)
        expr = pl.when(condition).then(then) if expr is None else expr.when(condition).then(then)
    return pl.lit(default, I64) if expr is None else expr.otherwise(pl.lit(default, I64))


# ---------------------------------------------------------------------------------- 所得
def salary_table(rules: Rules) -> list[dict]:
    """The rows of 所得税法別表第五 (and 第28条第3項 above it) as the rule file states them, checked.

    The table covers every revenue from 0: its first row starts at 0 (the statute's first row, 0円 below
    its first threshold, is a row with ``fixed: 0``), ``from`` strictly increases, and each row is either
    ``fixed`` or a formula (``floor_unit``, ``percent``, ``add``). A RuleError names the file and row.
    """
    key = "salary_income.table"
    rows = rules.table(key)
    if not rows or rows[0].get("from") != 0:
        raise RuleError(f"{rules.file}: {key} must start with a row from 0 (別表第五's first row)")
    previous = -1
    for index, row in enumerate(rows):
        where = f"{rules.file}: {key}[{index}]"
        lower = row.get("from")
        if isinstance(lower, bool) or not isinstance(lower, int) or lower <= previous:
            raise RuleError(f"{where}: 'from' must be an integer above the previous row's, got {lower!r}")
        previous = lower
        if "fixed" in row:
            if set(row) != {"from", "fixed"} or isinstance(row["fixed"], bool) or not isinstance(row["fixed"], int):
                raise RuleError(f"{where}: a fixed row has only 'from' and an integer 'fixed', got {row!r}")
        elif not {"floor_unit", "percent", "add"} <= set(row):
            raise RuleError(f"{where}: a row is either 'fixed' or has floor_unit, percent and add, got {row!r}")
    return rows


def salary_income_before_adjustment(revenue: pl.Expr, rules: Rules) -> pl.Expr:
    """給与所得 before 所得金額調整控除, by the row of the table that holds the revenue.

    A ``fixed`` row gives its amount (別表第五's first row: 0 for every revenue below the first threshold);
    a formula row takes A = revenue floored to the row's unit and gives A − (A × rate + add), 1円未満切捨て.
    """

    def band(row: dict) -> pl.Expr:
        if "fixed" in row:
            return pl.lit(int(row["fixed"]), I64)
        floored = floor_to_unit(revenue, int(row["floor_unit"]))  # a unit of 1 leaves the revenue as it is
        keep = 1 - to_fraction(row["percent"])
        return times_fraction(floored, keep) - int(row["add"])

    income = _banded(revenue, salary_table(rules), band).otherwise(0)
    return pl.max_horizontal(income, 0)


def salary_pension_adjustment(salary_income: pl.Expr, pension_income: pl.Expr, rules: Rules) -> pl.Expr:
    """所得金額調整控除 (給与と年金): with both 給与所得 and 公的年金等に係る雑所得,
    min(給与所得, limit) + min(年金雑所得, limit) − limit, never below 0, taken from the 給与所得 (租税特別措置法
    第41条の3の11第2項, applied through 地方税法第32条第2項・第313条第2項). It is part of every person's
    合計所得金額: the taxpayer's and a relative's alike."""
    limit = rules.amount("income_adjustment_salary_pension.limit")
    # with either income 0 the formula is min(other, limit) − limit ≤ 0, so "both" needs no test of its own
    both = pl.min_horizontal(salary_income, limit) + pl.min_horizontal(pension_income, limit) - limit
    return pl.max_horizontal(both, 0).cast(I64)


def public_pension_income(revenue: pl.Expr, age: pl.Expr, other_income: pl.Expr, rules: Rules) -> pl.Expr:
    """公的年金等に係る雑所得 by age (65+) and the column of the other 合計所得金額."""
    p = "public_pension_income"
    columns = rules.get(f"{p}.other_income_columns")
    reductions = rules.get(f"{p}.column_reduction")
    column_reduction = pl.lit(int(reductions[0]), I64)
    for lower, reduction in zip(columns, reductions[1:]):
        column_reduction = pl.when(other_income >= int(lower)).then(pl.lit(int(reduction), I64)).otherwise(column_reduction)

    def band(row: dict) -> pl.Expr:
        keep = 1 - to_fraction(row["percent"])
        return times_fraction(revenue, keep) - int(row["add"])

    older = age >= rules.amount(f"{p}.age_threshold")  # an unknown age (null) takes the under-age table
    under = _banded(revenue, rules.table(f"{p}.table_under_age"), band).otherwise(0)
    over = _banded(revenue, rules.table(f"{p}.table_at_or_over_age"), band).otherwise(0)
    income = pl.when(older).then(over).otherwise(under) + column_reduction
    # 0 for a revenue at or below the minimum deduction (a revenue of 0 included): the statute's minimum
    # deduction is above every column's reduction, so the formula is negative there
    return pl.max_horizontal(income, 0)


def _relatives_frame(relatives: pl.LazyFrame, rules: Rules) -> pl.LazyFrame:
    """Per relative: own 合計所得, status (同一生計配偶者 / 扶養親族 / 特定親族) and deduction amounts."""
    year = rules.income_year
    d = "dependants"
    age = age_at_year_end(pl.col("birth_date"), year)
    salary = salary_income_before_adjustment(pl.col("salary_revenue"), rules)
    other_than_pension = salary + pl.col("other_income")
    pension = public_pension_income(pl.col("public_pension_revenue"), age, other_than_pension, rules)
    limit = rules.amount(f"{d}.income_limit")
    spouse = pl.col("role") == "spouse"
    frame = relatives.with_columns(
        rel_age=age,
        rel_total_income=(
            salary - salary_pension_adjustment(salary, pension, rules) + pension + pl.col("other_income")
        ).cast(I64),
    ).with_columns(
        rel_within_limit=pl.col("rel_total_income") <= limit,
    )
    a = pl.col("rel_age")
    known = a.is_not_null()
    is_dependant = ~spouse & pl.col("rel_within_limit")
    under16 = known & (a < rules.amount(f"{d}.general_min_age"))
    specific = known & (a >= rules.amount(f"{d}.specific_min_age")) & (a <= rules.amount(f"{d}.specific_max_age"))
    aged = known & (a >= rules.amount(f"{d}.aged_min_age"))
    aged_parent = aged & pl.col("lineal_ascendant") & pl.col("cohabiting")
    diff = "personal_deduction_differences"
    category = (
        pl.when(~is_dependant).then(pl.lit("none"))
        .when(under16).then(pl.lit("under_16"))
        .when(specific).then(pl.lit("specific"))
        .when(aged_parent).then(pl.lit("aged_parent_cohabiting"))
        .when(aged).then(pl.lit("aged"))
        .otherwise(pl.lit("general"))
    )
    sr = "specific_relative_deduction"
    sr_rows = rules.table(f"{sr}.table")
    specific_relative_ok = (
        ~spouse & ~pl.col("rel_within_limit") & known
        & (a >= rules.amount(f"{sr}.min_age")) & (a <= rules.amount(f"{sr}.max_age"))
    )
    counted = (spouse & pl.col("rel_within_limit")) | is_dependant  # 同一生計配偶者 or 扶養親族
    disability = pl.col("disability")
    cohabiting_special = (disability == "special") & pl.col("cohabiting")
    dis = "disability_deduction"
    return frame.with_columns(
        rel_category=category,
        rel_counted=counted,
        rel_dependant_deduction=(
            pl.when(category == "general").then(rules.amount(f"{d}.amount_general"))
            .when(category == "specific").then(rules.amount(f"{d}.amount_specific"))
            .when(category == "aged").then(rules.amount(f"{d}.amount_aged"))
            .when(category == "aged_parent_cohabiting").then(rules.amount(f"{d}.amount_aged_parent_cohabiting"))
            .otherwise(0).cast(I64)
        ),
        rel_dependant_difference=(
            pl.when(category == "general").then(rules.amount(f"{diff}.dependant_general"))
            .when(category == "specific").then(rules.amount(f"{diff}.dependant_specific"))
            .when(category == "aged").then(rules.amount(f"{diff}.dependant_aged"))
            .when(category == "aged_parent_cohabiting").then(rules.amount(f"{diff}.dependant_aged_parent_cohabiting"))
            .otherwise(0).cast(I64)
        ),
        rel_specific_relative_deduction=pl.when(specific_relative_ok).then(
            _up_to(pl.col("rel_total_income"), sr_rows, "amount")
        ).otherwise(0).cast(I64),
        rel_disability_deduction=pl.when(counted).then(
            pl.when(cohabiting_special).then(rules.amount(f"{dis}.special_cohabiting"))
            .when(disability == "special").then(rules.amount(f"{dis}.special"))
            .when(disability == "ordinary").then(rules.amount(f"{dis}.ordinary"))
            .otherwise(0)
        ).otherwise(0).cast(I64),
        rel_disability_difference=pl.when(counted).then(
            pl.when(cohabiting_special).then(rules.amount(f"{diff}.disability_special_cohabiting"))
            .when(disability == "special").then(rules.amount(f"{diff}.disability_special"))
            .when(disability == "ordinary").then(rules.amount(f"{diff}.disability_ordinary"))
            .otherwise(0)
        ).otherwise(0).cast(I64),
        rel_under_23_dependant=is_dependant & known & (a < rules.amount("income_adjustment_children.dependant_age_under")),
        rel_special_disabled_counted=counted & (disability == "special"),
    )


def _relative_totals(relatives: pl.LazyFrame) -> pl.LazyFrame:
    """One row per taxpayer: what the relatives bring to the deductions and the 非課税 headcount."""
    spouse = pl.col("role") == "spouse"
    return relatives.group_by("_key").agg(
        spouse_present=spouse.any(),
        spouse_qualifies=(spouse & pl.col("rel_within_limit")).any(),
        spouse_total_income=pl.col("rel_total_income").filter(spouse).max(),
        spouse_aged=(spouse & (pl.col("rel_age") >= 70)).any(),
        dependants_count=(pl.col("rel_category") != "none").sum().cast(pl.Int32),
        dependants_under_16=(pl.col("rel_category") == "under_16").sum().cast(pl.Int32),
        dependants_general=(pl.col("rel_category") == "general").sum().cast(pl.Int32),
        dependants_specific=(pl.col("rel_category") == "specific").sum().cast(pl.Int32),
        dependants_aged=(pl.col("rel_category") == "aged").sum().cast(pl.Int32),
        dependants_aged_parent=(pl.col("rel_category") == "aged_parent_cohabiting").sum().cast(pl.Int32),
        specific_relatives=(pl.col("rel_specific_relative_deduction") > 0).sum().cast(pl.Int32),
        household_count=pl.col("rel_counted").sum().cast(pl.Int32),
        dependants_deduction=pl.col("rel_dependant_deduction").sum(),
        dependants_difference=pl.col("rel_dependant_difference").sum(),
        specific_relative_deduction=pl.col("rel_specific_relative_deduction").sum(),
        relatives_disability_deduction=pl.col("rel_disability_deduction").sum(),
        relatives_disability_difference=pl.col("rel_disability_difference").sum(),
        has_under_23_dependant=pl.col("rel_under_23_dependant").any(),
        has_special_disabled_relative=pl.col("rel_special_disabled_counted").any(),
    )


_RELATIVE_DEFAULTS = {
    "spouse_present": False, "spouse_qualifies": False, "spouse_aged": False,
    "dependants_count": 0, "dependants_under_16": 0, "dependants_general": 0, "dependants_specific": 0,
    "dependants_aged": 0, "dependants_aged_parent": 0, "specific_relatives": 0, "household_count": 0,
    "dependants_deduction": 0, "dependants_difference": 0, "specific_relative_deduction": 0,
    "relatives_disability_deduction": 0, "relatives_disability_difference": 0,
    "has_under_23_dependant": False, "has_special_disabled_relative": False,
}


# ---------------------------------------------------------------------------------- 所得控除
def premium_deduction(premium: pl.Expr, rows: list[dict], rounding: str) -> pl.Expr:
    """Deduction of one premium class by band: premium × numerator/denominator + add."""

    def band(row: dict) -> pl.Expr:
        fraction = Fraction(int(row["numerator"]), int(row["denominator"]))
        return times_fraction(premium, fraction, rounding) + int(row["add"])

    return _banded(premium, rows, band).otherwise(0).cast(I64)


def _life_insurance(rules: Rules) -> pl.Expr:
    p = "life_insurance_deduction"
    rounding = rules.get(f"{p}.rounding")
    new_rows, old_rows = rules.table(f"{p}.new_contract"), rules.table(f"{p}.old_contract")
    combined_cap = rules.amount(f"{p}.combined_cap")

    def klass(new: str, old: str | None) -> pl.Expr:
        new_amount = premium_deduction(pl.col(new), new_rows, rounding)
        if old is None:
            return new_amount
        old_amount = premium_deduction(pl.col(old), old_rows, rounding)
        both = pl.min_horizontal(new_amount + old_amount, combined_cap)
        return pl.max_horizontal(new_amount, old_amount, both)

    total = (
        klass("life_new_general", "life_old_general")
        + klass("life_new_pension", "life_old_pension")
        + klass("life_care_medical", None)
    )
    return pl.min_horizontal(total, rules.amount(f"{p}.total_cap"))


def _earthquake(rules: Rules) -> pl.Expr:
    p = "earthquake_insurance_deduction"
    rounding = rules.get(f"{p}.rounding")
    amount = (
        premium_deduction(pl.col("earthquake_insurance"), rules.table(f"{p}.earthquake"), rounding)
        + premium_deduction(pl.col("old_long_term_casualty_insurance"), rules.table(f"{p}.old_long_term"), rounding)
    )
    return pl.min_horizontal(amount, rules.amount(f"{p}.total_cap"))


def _tier(total_income: pl.Expr, limits: list[int]) -> pl.Expr:
    """Column index of the taxpayer's 合計所得 (0, 1, 2) in the spouse tables; null above the last."""
    expr = pl.when(total_income <= int(limits[0])).then(0)
    for index, limit in enumerate(limits[1:], start=1):
        expr = expr.when(total_income <= int(limit)).then(index)
    return expr.otherwise(None)


def _pick(tier: pl.Expr, values: list[int]) -> pl.Expr:
    """``values[tier]`` in yen; 0 when the tier is null (a taxpayer above the table's last column gets none)."""
    expr = pl.lit(0)
    for index, value in enumerate(values):
        expr = pl.when(tier == index).then(int(value)).otherwise(expr)
    return expr.cast(I64)


# ------------------------------------------------------------------------------------ engine
def compute(persons: pl.LazyFrame | pl.DataFrame, relatives: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """Compute every person of every fiscal year present; one row per person.

    Row order is not guaranteed (Polars' streaming engine): callers key on ``person_id`` (the stage
    sorts by it before writing, STYLE rule 8).
    """
    persons = persons.lazy()
    relatives = relatives.lazy()
    years = persons.select(pl.col("fiscal_year").unique()).collect()["fiscal_year"].to_list()
    if not years:  # nobody: any year's rules give the empty result its columns
        return compute_year(persons, relatives, load_rules(2026))
    parts = []
    for year in sorted(years):
        ids = persons.filter(pl.col("fiscal_year") == year)
        parts.append(compute_year(ids, relatives.join(ids.select("person_id"), on="person_id", how="semi"),
                                  load_rules(int(year))))
    return pl.concat(parts)


def compute_year(persons: pl.LazyFrame, relatives: pl.LazyFrame, rules: Rules) -> pl.DataFrame:
    """The whole computation for one fiscal year; returns inputs, every intermediate and the results."""
    return computation(persons, relatives, rules).collect()


def computation(persons: pl.LazyFrame, relatives: pl.LazyFrame, rules: Rules) -> pl.LazyFrame:
    """The lazy plan of :func:`compute_year` (exposed so a benchmark can time it end to end)."""
    year = rules.income_year
    fy = rules.fiscal_year
    # Join relatives on an integer key: person ids are digit strings (宛名番号, the calculator's line
    # numbers), and an integer hash join is several times faster than a string one at 1M rows.
    # (strict: an id that is not all digits stops the run instead of silently losing its relatives)
    key = pl.col("person_id").str.to_integer(strict=True).cast(pl.UInt64).alias("_key")
    rel = _relative_totals(_relatives_frame(relatives.select(list(relative_schema())).with_columns(key), rules))
    lf = persons.with_columns(key).join(rel, on="_key", how="left", validate="1:1").drop("_key").with_columns(
        [pl.col(name).fill_null(value) for name, value in _RELATIVE_DEFAULTS.items()]
    )

    # ---- 1. 所得
    ia = "income_adjustment_children"
    lf = lf.with_columns(
        age=age_at_year_end(pl.col("birth_date"), year),
        salary_income_table=salary_income_before_adjustment(pl.col("salary_revenue"), rules),
        occasional_income_counted=times_fraction(
            pl.col("occasional_income"),
            Fraction(rules.amount("occasional_income_share.numerator"), rules.amount("occasional_income_share.denominator")),
        ),
    ).with_columns(
        # (min(収入, cap) − threshold) × percent, 0 at or below the threshold
        income_adjustment_children=pl.when(
            (pl.col("disability") == "special") | pl.col("has_under_23_dependant") | pl.col("has_special_disabled_relative")
        ).then(
            times_fraction(
                pl.max_horizontal(
                    pl.min_horizontal(pl.col("salary_revenue"), rules.amount(f"{ia}.cap")) - rules.amount(f"{ia}.threshold"),
                    0,
                ),
                rules.percent(f"{ia}.percent"), "ceil",
            )
        ).otherwise(0).cast(I64),
    ).with_columns(
        # never below 0: above the threshold the 給与所得 is at least 収入 − 195万 > 650万, the adjustment ≤ 15万
        salary_income_after_children=pl.col("salary_income_table") - pl.col("income_adjustment_children"),
    ).with_columns(
        other_income_for_pension=pl.col("salary_income_after_children") + pl.col("business_income")
        + pl.col("real_estate_income") + pl.col("dividend_income") + pl.col("misc_income")
        + pl.col("occasional_income_counted"),
    ).with_columns(
        public_pension_income=public_pension_income(
            pl.col("public_pension_revenue"), pl.col("age"), pl.col("other_income_for_pension"), rules
        ),
    )
    lf = lf.with_columns(
        income_adjustment_salary_pension=salary_pension_adjustment(
            pl.col("salary_income_after_children"), pl.col("public_pension_income"), rules
        ),
    ).with_columns(
        salary_income=pl.col("salary_income_after_children") - pl.col("income_adjustment_salary_pension"),
    ).with_columns(
        total_income=pl.col("salary_income") + pl.col("public_pension_income") + pl.col("business_income")
        + pl.col("real_estate_income") + pl.col("dividend_income") + pl.col("misc_income")
        + pl.col("occasional_income_counted"),
    ).with_columns(gross_income=pl.col("total_income"))

    # ---- 3. 所得控除
    total = pl.col("total_income")
    med = "medical_expense_deduction"
    spouse_tier = _tier(total, [row["up_to"] for row in rules.table("spouse_deduction.table")])
    ssd = "spouse_special_deduction"
    special_tier = _tier(total, rules.get(f"{ssd}.taxpayer_columns"))
    spouse_special_amount = None
    for row in rules.table(f"{ssd}.table"):
        condition = pl.col("spouse_total_income") <= int(row["up_to"])
        value = _pick(special_tier, row["amounts"])
        spouse_special_amount = (
            pl.when(condition).then(value) if spouse_special_amount is None
            else spouse_special_amount.when(condition).then(value)
        )
    spouse_special_amount = spouse_special_amount.otherwise(0)
    basic_rows = rules.table("basic_deduction.table")
    wd, sp, ws, dis = "widow_deduction", "single_parent_deduction", "working_student_deduction", "disability_deduction"
    single_parent = pl.col("single_parent") & (total <= rules.amount(f"{sp}.income_limit"))
    widow = pl.col("widow") & ~pl.col("single_parent") & (total <= rules.amount(f"{wd}.income_limit"))
    lf = lf.with_columns(
        spouse_tier=spouse_tier,
        special_tier=special_tier,
        is_single_parent=single_parent,
        is_widow=widow,
        is_working_student=pl.col("working_student") & (total <= rules.amount(f"{ws}.income_limit")),
        medical_threshold=pl.min_horizontal(
            times_fraction(pl.col("gross_income"), rules.percent(f"{med}.threshold_percent")),
            rules.amount(f"{med}.threshold_cap"),
        ),
    ).with_columns(
        deduction_social_insurance=pl.col("social_insurance"),
        deduction_small_enterprise=pl.col("small_enterprise_mutual_aid"),
        deduction_life_insurance=_life_insurance(rules),
        deduction_earthquake=_earthquake(rules),
        deduction_medical=pl.min_horizontal(
            pl.max_horizontal(
                pl.col("medical_expenses") - pl.col("medical_reimbursed") - pl.col("medical_threshold"), 0
            ),
            rules.amount(f"{med}.cap"),
        ),
        deduction_disability=(
            pl.when(pl.col("disability") == "special").then(rules.amount(f"{dis}.special"))
            .when(pl.col("disability") == "ordinary").then(rules.amount(f"{dis}.ordinary")).otherwise(0).cast(I64)
            + pl.col("relatives_disability_deduction")
        ),
        deduction_widow=pl.when(pl.col("is_widow")).then(rules.amount(f"{wd}.amount")).otherwise(0).cast(I64),
        deduction_single_parent=pl.when(pl.col("is_single_parent")).then(rules.amount(f"{sp}.amount")).otherwise(0).cast(I64),
        deduction_working_student=pl.when(pl.col("is_working_student")).then(rules.amount(f"{ws}.amount")).otherwise(0).cast(I64),
        deduction_spouse=pl.when(pl.col("spouse_qualifies")).then(
            pl.when(pl.col("spouse_aged")).then(_pick(pl.col("spouse_tier"), [r["aged"] for r in rules.table("spouse_deduction.table")]))
            .otherwise(_pick(pl.col("spouse_tier"), [r["general"] for r in rules.table("spouse_deduction.table")]))
        ).otherwise(0).cast(I64),
        deduction_spouse_special=pl.when(
            pl.col("spouse_present") & ~pl.col("spouse_qualifies")
        ).then(spouse_special_amount).otherwise(0).cast(I64),
        deduction_dependants=pl.col("dependants_deduction"),
        deduction_specific_relatives=pl.col("specific_relative_deduction"),
        deduction_basic=_up_to(total, basic_rows, "amount"),
    )
    deduction_columns = [
        "deduction_social_insurance", "deduction_small_enterprise", "deduction_life_insurance", "deduction_earthquake",
        "deduction_medical", "deduction_disability", "deduction_widow", "deduction_single_parent",
        "deduction_working_student", "deduction_spouse", "deduction_spouse_special", "deduction_dependants",
        "deduction_specific_relatives", "deduction_basic",
    ]
    unit = rules.amount("rounding.taxable_income_unit")
    lf = lf.with_columns(income_deductions=pl.sum_horizontal(deduction_columns).cast(I64)).with_columns(
        taxable_income=floor_to_unit(
            pl.max_horizontal(pl.col("gross_income") - pl.col("income_deductions"), 0), unit
        ),
    )

    # ---- 4. 非課税
    ex = "exemption"
    grade_pct = rules.get("grade_factor.percent")
    # a 級地 the rule file does not know stops the run (replace_strict) instead of getting a default
    grade_factor = pl.col("grade").replace_strict({int(g): scaled(to_fraction(p)) for g, p in grade_pct.items()})
    n = pl.col("household_count").cast(I64)
    family = n >= 1
    per_capita_limit = (
        rules.amount(f"{ex}.per_capita_base") * grade_factor // SCALE * (n + 1)
        + rules.amount(f"{ex}.per_capita_add")
        + pl.when(family).then(rules.amount(f"{ex}.per_capita_family_add") * grade_factor // SCALE).otherwise(0)
    )
    income_limit = (
        rules.amount(f"{ex}.income_base") * (n + 1) + rules.amount(f"{ex}.income_add")
        + pl.when(family).then(rules.amount(f"{ex}.income_family_add")).otherwise(0)
    )
    minor_born_after = date(fy - rules.amount(f"{ex}.minor_age"), 1, 2)
    is_minor = (pl.col("birth_date") > minor_born_after).fill_null(False)
    low_income_category = (
        (pl.col("disability") != "none") | is_minor | pl.col("is_widow") | pl.col("is_single_parent")
    )
    lf = lf.with_columns(
        is_minor=is_minor,
        per_capita_exemption_limit=per_capita_limit.cast(I64),
        income_levy_exemption_limit=income_limit.cast(I64),
    ).with_columns(
        exemption_reason=(
            pl.when(pl.col("livelihood_assistance")).then(pl.lit("livelihood_assistance"))
            .when(low_income_category & (total <= rules.amount(f"{ex}.low_income_limit"))).then(pl.lit("low_income_category"))
            .when(total <= pl.col("per_capita_exemption_limit")).then(pl.lit("per_capita_limit"))
            .when(pl.col("gross_income") <= pl.col("income_levy_exemption_limit")).then(pl.lit("income_levy_limit"))
            .otherwise(None)
        ),
    ).with_columns(
        exemption=pl.when(pl.col("exemption_reason") == "income_levy_limit").then(pl.lit("income_levy_exempt"))
        .when(pl.col("exemption_reason").is_not_null()).then(pl.lit("fully_exempt"))
        .otherwise(pl.lit("none")),
    )

    # ---- 5. 所得割 and credits
    diff = "personal_deduction_differences"
    spouse_diff = pl.when(pl.col("spouse_qualifies")).then(
        pl.when(pl.col("spouse_aged")).then(_pick(pl.col("spouse_tier"), rules.get(f"{diff}.spouse_aged")))
        .otherwise(_pick(pl.col("spouse_tier"), rules.get(f"{diff}.spouse_general")))
    ).otherwise(0)
    special_diff = pl.lit(0, I64)
    for row in reversed(rules.get(f"{diff}.spouse_special_tiers") or []):
        special_diff = pl.when(pl.col("spouse_total_income") < int(row["below"])).then(
            _pick(pl.col("special_tier"), row["amounts"])
        ).otherwise(special_diff)
    special_diff = pl.when(pl.col("deduction_spouse_special") > 0).then(special_diff).otherwise(0)
    single_parent_diff = pl.when(pl.col("sex") == "female").then(rules.amount(f"{diff}.single_parent_mother")).otherwise(
        rules.amount(f"{diff}.single_parent_father")
    )
    own_disability_diff = (
        pl.when(pl.col("disability") == "special").then(rules.amount(f"{diff}.disability_special"))
        .when(pl.col("disability") == "ordinary").then(rules.amount(f"{diff}.disability_ordinary")).otherwise(0)
    )
    lf = lf.with_columns(
        personal_deduction_difference=(
            pl.when(pl.col("deduction_basic") > 0).then(rules.amount(f"{diff}.basic")).otherwise(0)
            + spouse_diff + special_diff
            + pl.col("dependants_difference")
            + own_disability_diff + pl.col("relatives_disability_difference")
            + pl.when(pl.col("is_widow")).then(rules.amount(f"{diff}.widow")).otherwise(0)
            + pl.when(pl.col("is_single_parent")).then(single_parent_diff).otherwise(0)
            + pl.when(pl.col("is_working_student")).then(rules.amount(f"{diff}.working_student")).otherwise(0)
        ).cast(I64),
    )
    ac = "adjustment_credit"
    small = rules.amount(f"{ac}.small_threshold")
    taxable = pl.col("taxable_income")
    lf = lf.with_columns(
        adjustment_credit_base=pl.when(total > rules.amount(f"{ac}.total_income_limit")).then(0).when(taxable <= small).then(
            pl.min_horizontal(pl.col("personal_deduction_difference"), taxable)
        ).otherwise(
            pl.max_horizontal(pl.col("personal_deduction_difference") - (taxable - small), rules.amount(f"{ac}.minimum_base"))
        ).cast(I64),
    )
    # per levy: gross levy, 調整控除
    for levy in LEVIES:
        lf = lf.with_columns(
            (taxable * pl.col(f"income_rate_{levy}") // SCALE).alias(f"income_levy_gross_{levy}"),
        ).with_columns(
            pl.min_horizontal(
                pl.col("adjustment_credit_base") * pl.col(f"adjustment_rate_{levy}") // SCALE, pl.col(f"income_levy_gross_{levy}")
            ).alias(f"adjustment_credit_{levy}"),
        ).with_columns(
            (pl.col(f"income_levy_gross_{levy}") - pl.col(f"adjustment_credit_{levy}")).alias(f"levy_after_adjustment_{levy}"),
        )

    # 配当控除
    bracket = rules.amount("dividend_credit.bracket_limit")
    dividend = pl.col("dividend_income")
    lower_part = pl.when(taxable <= bracket).then(dividend).otherwise(
        pl.max_horizontal(pl.min_horizontal(dividend, bracket - (taxable - dividend)), 0)
    )
    lf = lf.with_columns(dividend_lower_part=lower_part).with_columns(
        dividend_upper_part=dividend - pl.col("dividend_lower_part")
    )
    # 住宅借入金等特別税額控除
    hl = "housing_loan_credit"
    moved_in = pl.col("housing_moved_in")
    hl_rows = rules.table(f"{hl}.table")
    hl_rate = None
    hl_cap = None
    for row in sorted(hl_rows, key=lambda r: r["from"], reverse=True):
        condition = moved_in >= pl.lit(row["from"])
        if row.get("specified_acquisition"):  # 特定取得 only; other homes fall to the earlier row
            condition = condition & ~pl.col("housing_not_specified_acquisition")
        rate_v = pl.lit(scaled(to_fraction(row["percent"])), I64)
        cap_v = pl.lit(int(row["cap"]), I64)
        hl_rate = pl.when(condition).then(rate_v) if hl_rate is None else hl_rate.when(condition).then(rate_v)
        hl_cap = pl.when(condition).then(cap_v) if hl_cap is None else hl_cap.when(condition).then(cap_v)
    eligible = moved_in.is_not_null() & (moved_in <= pl.lit(rules.get(f"{hl}.last_moved_in")))
    it_basic = _up_to(pl.col("total_income"), rules.table("income_tax_basic_deduction.table"), "amount")
    add_back_range = rules.get(f"{hl}.add_back_moved_in")
    in_add_back_range = (moved_in >= pl.lit(add_back_range["from"])) & (moved_in <= pl.lit(add_back_range["to"]))
    lf = lf.with_columns(
        income_tax_basic_add_back=pl.max_horizontal(
            it_basic - rules.amount("income_tax_basic_deduction.offset"), 0
        ).cast(I64),
    ).with_columns(
        housing_loan_cap_base=pl.col("housing_loan_taxable_income_for_income_tax")
        + pl.when(in_add_back_range.fill_null(False)).then(pl.col("income_tax_basic_add_back")).otherwise(0),
    ).with_columns(
        housing_loan_limit=pl.when(eligible).then(
            pl.min_horizontal(
                _divide(pl.col("housing_loan_cap_base") * hl_rate.otherwise(0), SCALE, rules.get(f"{hl}.rounding")),
                hl_cap.otherwise(0),
            )
        ).otherwise(0).cast(I64),
    ).with_columns(
        housing_loan_credit_total=pl.min_horizontal(pl.col("housing_loan_unused_income_tax_credit"), pl.col("housing_loan_limit")),
    )
    # 寄附金税額控除
    dc = "donation_credit"
    d_floor = rules.amount(f"{dc}.floor")
    d_round = rules.get(f"{dc}.rounding")
    lf = lf.with_columns(
        personal_difference_adjustment=pl.col("personal_deduction_difference")
        + pl.col("income_tax_basic_add_back"),
        donation_base_limit=times_fraction(pl.col("gross_income"), rules.percent(f"{dc}.base_limit_percent")),
    ).with_columns(
        special_band_income=taxable - pl.col("personal_difference_adjustment"),
    ).with_columns(
        special_rate=_banded(
            pl.col("special_band_income"), rules.table(f"{dc}.special_rate"),
            lambda row: pl.lit(scaled(to_fraction(row["percent"])), I64),
        ).otherwise(0),
        one_stop_num=_banded(pl.col("special_band_income"), rules.table(f"{dc}.one_stop_ratio"), lambda r: pl.lit(int(r["numerator"]), I64)).otherwise(0),
        one_stop_den=_banded(pl.col("special_band_income"), rules.table(f"{dc}.one_stop_ratio"), lambda r: pl.lit(int(r["denominator"]), I64)).otherwise(1),
    )
    cap_fraction = rules.percent(f"{dc}.special_cap_percent")
    share_den = pl.col("credit_share_den")
    furusato_over = pl.max_horizontal(pl.col("furusato_donations") - d_floor, 0)
    round_div = (lambda a, b: _divide(a, b, d_round))
    dividend_rounding = rules.get("dividend_credit.rounding")
    housing_rounding = rules.get("housing_loan_credit.rounding")
    for levy in LEVIES:
        share = pl.col(f"credit_share_num_{levy}")
        other = pl.col(f"other_donations_{levy}")
        after_adj = pl.col(f"levy_after_adjustment_{levy}")
        lf = lf.with_columns(
            _divide(pl.col("dividend_lower_part") * pl.col(f"dividend_lower_rate_{levy}")
                    + pl.col("dividend_upper_part") * pl.col(f"dividend_upper_rate_{levy}"), SCALE,
                    dividend_rounding).alias(f"dividend_credit_calc_{levy}"),
            _divide(pl.col("housing_loan_credit_total") * share, share_den, housing_rounding)
            .alias(f"housing_loan_credit_calc_{levy}"),
            round_div(
                pl.max_horizontal(pl.min_horizontal(pl.col("furusato_donations") + other, pl.col("donation_base_limit")) - d_floor, 0)
                * pl.col(f"donation_basic_rate_{levy}"), SCALE,
            ).alias(f"donation_basic_credit_{levy}"),
            pl.min_horizontal(
                round_div(furusato_over * pl.col("special_rate") * share, SCALE * share_den),
                times_fraction(after_adj, cap_fraction),
            ).alias(f"donation_special_credit_{levy}"),
        ).with_columns(
            pl.when(pl.col("one_stop")).then(
                round_div(pl.col(f"donation_special_credit_{levy}") * pl.col("one_stop_num"), pl.col("one_stop_den"))
            ).otherwise(0).cast(I64).alias(f"donation_one_stop_credit_{levy}"),
        )
        # apply in order, each limited to what is left
        left = after_adj
        for credit in ("dividend_credit", "housing_loan_credit", "donation_credit"):
            if credit == "donation_credit":
                calc = (pl.col(f"donation_basic_credit_{levy}") + pl.col(f"donation_special_credit_{levy}")
                        + pl.col(f"donation_one_stop_credit_{levy}"))
            else:
                calc = pl.col(f"{credit}_calc_{levy}")
            lf = lf.with_columns(pl.min_horizontal(calc, left).alias(f"{credit}_{levy}"))
            left = left - pl.col(f"{credit}_{levy}")
        lf = lf.with_columns(left.alias(f"levy_after_credits_{levy}"))

    # 附則第3条の3: 所得割 at most 総所得金額等 − limit, shared in proportion to the levies
    after_m, after_p = pl.col("levy_after_credits_municipal"), pl.col("levy_after_credits_prefectural")
    both = after_m + after_p
    lf = lf.with_columns(
        near_limit_reduction=pl.when(pl.col("exemption") == "none").then(
            pl.max_horizontal(
                pl.min_horizontal(pl.col("income_levy_exemption_limit") - (pl.col("gross_income") - both), both),
                0,
            )
        ).otherwise(0).cast(I64),
    ).with_columns(
        near_limit_reduction_prefectural=pl.when(both > 0).then(pl.col("near_limit_reduction") * after_p // both).otherwise(0),
    ).with_columns(
        near_limit_reduction_municipal=pl.col("near_limit_reduction") - pl.col("near_limit_reduction_prefectural"),
    )
    levy_unit = rules.amount("rounding.levy_unit")
    exempt_income = pl.col("exemption") != "none"
    fully = pl.col("exemption") == "fully_exempt"
    for levy in LEVIES:
        lf = lf.with_columns(
            pl.when(exempt_income).then(0).otherwise(
                floor_to_unit(pl.col(f"levy_after_credits_{levy}") - pl.col(f"near_limit_reduction_{levy}"), levy_unit)
            ).cast(I64).alias(f"income_levy_{levy}"),
            pl.when(fully).then(0).otherwise(pl.col(f"per_capita_{levy}")).cast(I64).alias(f"per_capita_levy_{levy}"),
        )
    lf = lf.with_columns(
        forest_environment_tax=pl.when(fully).then(0).otherwise(rules.amount("forest_environment_tax.amount")).cast(I64),
    ).with_columns(
        total_tax=pl.col("income_levy_municipal") + pl.col("income_levy_prefectural")
        + pl.col("per_capita_levy_municipal") + pl.col("per_capita_levy_prefectural") + pl.col("forest_environment_tax"),
    )
    return lf


__all__ = [
    "OUTPUT_COLUMNS", "PROFILE_COLUMNS", "RELATIVE_AMOUNTS", "SCALE", "age_at_year_end", "compute",
    "compute_year", "computation", "floor_to_unit", "profile_columns",
    "public_pension_income", "salary_income_before_adjustment", "salary_table", "scaled",
]
