"""徴収方法 (collection plan): which part of each person's tax is collected by which route, and by whom.

One row per assessed person with tax > 0. The 所得割 is split by source of income in proportion to the
income (the 給与所得に係る所得割額 of 地方税法第321条の3第1項 and the 公的年金等所得に係る所得割額 of
第321条の7の2第1項), each 特別徴収 part rounded down to 100円 (第20条の4の2第3項: a 確定金額); then:

- 給与特別徴収 (``salary_amount``) by the 特別徴収義務者 of the person's main salary report
  (``salary_payer``: its 指定番号) when that report designates 特別徴収: the salary part, the 均等割 and
  森林環境税, the part on other income unless the taxpayer asked to pay it himself (第321条の3第2項,
  「自分で納付」 on the return), and the pension part of a person under 65 who is not withheld from a
  pension (平成22年度以後; a person of 65 or more cannot have it withheld from salary);
- 年金特別徴収 (``pension_amount``) by the pension insurer (``pension_payer``: its 特別徴収義務者コード)
  for a person of 65 or more on 1 April who is on the insurer's 特別徴収対象者 list: the pension part, and
  the 均等割 and 森林環境税 when there is no salary withholding (第321条の7の2第1項);
- 普通徴収 (``ordinary_amount``): everything else (第319条の2).

The three amounts sum to ``total_tax`` exactly. Which salary report is the main one when there are two
or more employers: among the reports that designate 特別徴収, the one not marked 乙欄 with the largest
payment, then the smallest document id (docs/collection-plan.md: the rule and its sources).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from transforms.tax_engine import floor_to_unit

I64 = pl.Int64
ORDINARY_REASONS = ("普A", "普B", "普C", "普D", "普E", "普F")
#: 普通徴収切替理由 of the 統一様式 (摘要 of the 給与支払報告書): why an employer does not withhold
ORDINARY_REASON_MEANING = {
    "普A": "総従業員数が2人以下",
    "普B": "他の事業所で特別徴収 (乙欄該当者等)",
    "普C": "給与が少なく税額が引けない",
    "普D": "給与の支払が不定期",
    "普E": "事業専従者 (個人事業主のみ)",
    "普F": "退職者又は退職予定者",
}
PLAN_COLUMNS = (
    "person_id", "fiscal_year", "total_tax", "income_levy", "per_capita_total",
    "salary_income_levy", "pension_income_levy", "other_income_levy",
    "salary_amount", "salary_payer", "salary_doc_uid", "pension_amount", "pension_payer", "pension_first_year",
    "ordinary_amount", "ordinary_reason", "other_income_collection",
)


def reason_code(remarks: pl.Expr) -> pl.Expr:
    """The 普通徴収切替理由 (普A〜普F) written in the 摘要, or null (full-width or half-width 普 + A–F)."""
    return remarks.cast(pl.String).str.normalize("NFKC").str.extract(r"(普[A-F])", 1)


def age_on(birth: pl.Expr, day: date) -> pl.Expr:
    """Age on ``day``: one attains an age at the end of the day before the birthday (年齢計算ニ関スル法律
    and 民法第143条), so the age on ``day`` is the completed years at the start of the next day."""
    next_day = day + timedelta(days=1)
    not_yet = (birth.dt.month() > next_day.month) | (
        (birth.dt.month() == next_day.month) & (birth.dt.day() > next_day.day))
    return (next_day.year - birth.dt.year().cast(pl.Int32) - not_yet.cast(pl.Int32)).cast(pl.Int32)


def _share(levy: pl.Expr, income: pl.Expr, base: pl.Expr, unit: int) -> pl.Expr:
    """levy × income / base, rounded down to ``unit`` (0 when the base is 0)."""
    return pl.when(base > 0).then(floor_to_unit(levy * income // base, unit)).otherwise(0).cast(I64)


def main_salary_reports(reports: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Per person the salary report whose employer withholds (the 主たる給与), or none.

    ``reports``: person_id, doc_uid, designation_no, otsu (bool), payment (yen), ordinary (bool: 普通徴収
    requested), remarks. A report designates 特別徴収 when it has a 指定番号, no 普通徴収 mark and no
    普A〜普F reason. Among those: not 乙欄 first, then the largest payment, then the smallest doc_uid.
    """
    lf = reports.lazy().with_columns(reason_code(pl.col("remarks")).alias("ordinary_reason"))
    special = (
        pl.col("designation_no").cast(pl.String).str.strip_chars().str.len_chars().fill_null(0) > 0
    ) & ~pl.col("ordinary").fill_null(False) & pl.col("ordinary_reason").is_null()
    candidates = lf.filter(special).sort(["person_id", "otsu", "payment", "doc_uid"],
                                         descending=[False, False, True, False])
    return candidates.group_by("person_id", maintain_order=True).first().select(
        "person_id", pl.col("doc_uid").alias("salary_doc_uid"),
        pl.col("designation_no").cast(pl.String).str.strip_chars().alias("salary_payer"),
    )


def first_ordinary_reason(reports: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Per person the 普通徴収切替理由 of the largest report that asks for 普通徴収 (for the notice)."""
    lf = reports.lazy().with_columns(reason_code(pl.col("remarks")).alias("ordinary_reason"))
    return lf.filter(pl.col("ordinary_reason").is_not_null()).sort(
        ["person_id", "payment", "doc_uid"], descending=[False, True, False]
    ).group_by("person_id", maintain_order=True).first().select("person_id", "ordinary_reason")


def collection_plan(
    assessment: pl.DataFrame | pl.LazyFrame,
    salary_reports: pl.DataFrame | pl.LazyFrame,
    pension_targets: pl.DataFrame | pl.LazyFrame,
    choices: pl.DataFrame | pl.LazyFrame,
    *,
    fiscal_year: int,
) -> pl.DataFrame:
    """The plan of every person of ``assessment`` with ``total_tax`` > 0 (columns: :data:`PLAN_COLUMNS`).

    ``assessment``: person_id, birth_date, salary_income, public_pension_income, total_income,
    income_levy_municipal/prefectural, per_capita_levy_municipal/prefectural, forest_environment_tax,
    total_tax. ``pension_targets``: person_id, payer_code, first_year (one row per person on the 特別徴収
    対象者 list). ``choices``: person_id, other_income_collection (``"withhold"`` or ``"self"``, from the
    return's 住民税に関する事項).
    """
    from transforms.installments import load_installment_rules
    from transforms.tax_rules import load_rules

    april_first = date(fiscal_year, 4, 1)
    # a 特別徴収税額 is a 確定金額: 100円未満切捨て (地方税法第20条の4の2第3項, rules `rounding.levy_unit`)
    unit = load_rules(fiscal_year).amount("rounding.levy_unit")
    pension_age = load_installment_rules(fiscal_year).amount("pension_special_collection.age_on_april_1")
    main = main_salary_reports(salary_reports)
    reasons = first_ordinary_reason(salary_reports)
    targets = pension_targets.lazy().select(
        "person_id", pl.col("payer_code").cast(pl.String).alias("pension_payer"),
        pl.col("first_year").cast(pl.Boolean).alias("pension_first_year"),
    ).unique("person_id", keep="first")
    chosen = choices.lazy().select("person_id", "other_income_collection").unique("person_id", keep="last")

    lf = assessment.lazy().filter(pl.col("total_tax") > 0).join(main, on="person_id", how="left") \
        .join(reasons, on="person_id", how="left").join(targets, on="person_id", how="left") \
        .join(chosen, on="person_id", how="left")

    salary, pension = pl.col("salary_income").fill_null(0), pl.col("public_pension_income").fill_null(0)
    other = pl.max_horizontal(pl.col("total_income").fill_null(0) - salary - pension, 0)
    base = salary + pension + other
    levy = pl.col("income_levy_municipal") + pl.col("income_levy_prefectural")
    per_capita = pl.col("per_capita_levy_municipal") + pl.col("per_capita_levy_prefectural") + pl.col("forest_environment_tax")
    age = age_on(pl.col("birth_date"), april_first)

    lf = lf.with_columns(
        levy.cast(I64).alias("income_levy"),
        per_capita.cast(I64).alias("per_capita_total"),
        _share(levy, salary, base, unit).alias("salary_income_levy"),
        _share(levy, pension, base, unit).alias("pension_income_levy"),
        pl.col("other_income_collection").fill_null("withhold"),
        pl.col("salary_payer").is_not_null().alias("_salary_route"),
        (pl.col("pension_payer").is_not_null() & (age >= pension_age)).alias("_pension_route"),
        (age < pension_age).alias("_under_65"),
    ).with_columns(
        (pl.col("income_levy") - pl.col("salary_income_levy") - pl.col("pension_income_levy")).alias("other_income_levy"),
    )
    withhold_other = pl.col("other_income_collection") != "self"
    salary_amount = pl.when(pl.col("_salary_route")).then(
        pl.col("salary_income_levy") + pl.col("per_capita_total")
        + pl.when(withhold_other).then(pl.col("other_income_levy")).otherwise(0)
        + pl.when(~pl.col("_pension_route") & pl.col("_under_65")).then(pl.col("pension_income_levy")).otherwise(0)
    ).otherwise(0)
    pension_amount = pl.when(pl.col("_pension_route")).then(
        pl.col("pension_income_levy") + pl.when(pl.col("_salary_route")).then(0).otherwise(pl.col("per_capita_total"))
    ).otherwise(0)
    lf = lf.with_columns(salary_amount.cast(I64).alias("salary_amount"), pension_amount.cast(I64).alias("pension_amount")) \
        .with_columns((pl.col("total_tax") - pl.col("salary_amount") - pl.col("pension_amount")).alias("ordinary_amount"))
    # a route that carries nothing is no route: no 特別徴収義務者 is notified of a 0円 tax (e.g. a pension
    # too small for a 所得割 of its own while the 均等割 goes with the salary)
    salary_used, pension_used = pl.col("salary_amount") > 0, pl.col("pension_amount") > 0
    lf = lf.with_columns(
        pl.when(salary_used).then(pl.col("salary_payer")).alias("salary_payer"),
        pl.when(salary_used).then(pl.col("salary_doc_uid")).alias("salary_doc_uid"),
        pl.when(pension_used).then(pl.col("pension_payer")).alias("pension_payer"),
        pl.when(pension_used).then(pl.col("pension_first_year")).alias("pension_first_year"),
        pl.lit(fiscal_year, pl.Int32).alias("fiscal_year"),
    )
    return lf.select(PLAN_COLUMNS).sort("person_id").collect()
