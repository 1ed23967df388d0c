"""資料併合 (record merging): one taxation basis per person (宛名番号) and fiscal year (年度).

Pure functions: staged frames in, curated frames out; no I/O, no clock, no loop over people. The stage
(:mod:`pipelines.record_merge`) reads the lake, calls :func:`merge_records` and writes the results.

Which documents count
---------------------
A person document (給与支払報告書, 公的年金等支払報告書, 確定申告書 (e-Tax), 住民税申告書,
申告特例通知書) is *usable* when it was staged (``route == "stage"``), matched automatically
(``match_decision == "auto"``) and carries a 宛名番号, or when it waits in the 宛名付設 review queue and an
operator decided which resident it belongs to (``match_decision == "operator"``, set here from
``curated/review_decisions``; see "Operators' decisions" below). Of the usable rows only the current version
(``is_current`` and ``history_status == "current"``) of a document is merged: a 訂正 replaces the
earlier version (which stays in the lineage as ``superseded``), a 取消 removes it (``cancelled``).

Precedence (per person resident on 1 January, 賦課期日)
-------------------------------------------------------
1. 確定申告書 (``etax_return``): the basis for everything it covers; it voids the person's
   申告特例通知書 (the one-stop exception lapses when a return is filed; 地方税法附則第5条の7).
2. 住民税申告書 (``resident_return``) when there is no return: the basis for what it declares; the
   information returns fill the categories it leaves at 0 (``added``); it also voids one-stop notices.
3. Information returns only: 給与支払報告書 and 公的年金等支払報告書 are summed over all payers,
   申告特例通知書 summed with ``one_stop = True``.
4. No document: a zero basis with the registry's attributes (and a row in the 未申告 list).

Every usable version of every document ends in exactly one lineage ``use``; see
:data:`contracts.record_merge.LINEAGE_USES`. Conflicts are not resolved silently: the basis uses the
documents as declared and ``merge_flags`` tells the operator (see :data:`contracts.record_merge.FLAGS`).
docs/record-merge.md explains all rules in operator language.

Operators' decisions (``review_decisions``, :mod:`contracts.review`)
-----------------------------------------------------------------
The latest decision of each item is applied (:func:`transforms.review.latest_decisions`):

* a queued document decided ``person`` is merged into that resident's basis like an automatic match;
  its lineage rows carry the ``decision_id``. ``none`` and ``forward`` documents are not merged. A
  decided document leaves the review flags (``document_in_review``) and the 未申告 list's marker.
* 扶養重複 ``keep`` drops the relative from every other claiming taxpayer; ``deny`` drops them from all;
  扶養否認 ``deny`` drops the dependant from that taxpayer; ``keep`` and ``pending`` change nothing. The
  flags are raised from the claims as declared and then show the ``decision`` and ``decision_id``.
* A decision whose item this run does not find (the document left the queue, the flag is no longer
  raised, the chosen resident is not resident on 1 January) is ``stale``: not applied, reported.

``review_outcomes`` has one row per decided item with what was done (``OUTCOMES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from contracts.record_merge import SOURCES
from contracts.review import OUTCOME_COLUMNS, OUTCOMES
from contracts.taxation_basis import PERSON_AMOUNTS, PERSON_FLAGS, person_schema, relative_schema
from transforms.normalize import normalize_kana
from transforms.review import flag_item_key_expr, latest_decisions
from transforms.tax_engine import (
    age_at_year_end, floor_to_unit, premium_deduction, public_pension_income, salary_income_before_adjustment,
    times_fraction,
)
from transforms.tax_rules import Rules, load_rules

BASIS_SOURCES: tuple[str, ...] = ("etax_return", "resident_return", "information_returns", "none")
RESOLUTIONS: tuple[str, ...] = (
    "etax_my_number",  # e-Tax 親族: My Number verified against the vault at ingest (staging/etax_dependants)
    "document_my_number",  # 5人目以降の扶養親族: My Number verified at ingest (staging/document_relatives)
    "household_kana_birth", "household_kana", "household_relationship", "registry_kana_birth", "unresolved",
)
#: staging/etax_dependants columns read here (an absent dataset, e.g. an older lake, is an empty frame).
ETAX_DEPENDANTS_READ: dict[str, pl.DataType] = {
    "doc_uid": pl.String(), "dependant_no": pl.Int32(), "relationship": pl.String(), "birth_date": pl.Date(),
    "cohabiting": pl.Boolean(), "disability": pl.Int8(), "total_income": pl.Int64(), "relative_atena_no": pl.String(),
}

# The 合計所得金額 estimate used ONLY to raise the 扶養否認 flag (the tax engine computes the real one)
# applies the year's 給与所得控除 and 公的年金等控除 from rules/ through the engine's own formulas.

# Relationships to the household head (続柄, 住民票) that make a relative a 直系尊属 of the taxpayer.
_PARENTS_OF_HEAD = ("父", "母", "祖父", "祖母")
_SPOUSE_OF_HEAD = ("妻", "夫")

INFO_COLUMNS: tuple[str, ...] = (
    "salary_revenue", "public_pension_revenue", "social_insurance", "small_enterprise_mutual_aid",
    "life_new_general", "life_old_general", "life_new_pension", "life_old_pension", "life_care_medical",
    "earthquake_insurance", "old_long_term_casualty_insurance",
    "housing_loan_unused_income_tax_credit", "housing_loan_taxable_income_for_income_tax", "furusato_donations",
)
_DISABILITY_RANK = {"none": 0, "ordinary": 1, "special": 2}


@dataclass(frozen=True)
class MergeResult:
    basis: pl.DataFrame        # curated/taxation_basis
    relatives: pl.DataFrame    # curated/taxation_basis_relatives
    lineage: pl.DataFrame      # curated/basis_lineage
    flags: pl.DataFrame        # curated/merge_flags
    non_filers: pl.DataFrame   # curated/non_filers (未申告調査)
    counts: dict[str, int]
    review_outcomes: pl.DataFrame | None = None  # curated/review_outcomes (operators' decisions applied)


# ------------------------------------------------------------------------------------------ helpers
def _i(name: str) -> pl.Expr:
    """An amount column as Int64, 0 when null."""
    return pl.col(name).cast(pl.Int64).fill_null(0)


def _nn(expr: pl.Expr) -> pl.Expr:
    """Not negative (an absent or negative amount is 0)."""
    return pl.max_horizontal(expr.fill_null(0), pl.lit(0, pl.Int64)).cast(pl.Int64)


def _flag(name: str) -> pl.Expr:
    """A 1-character flag field (``"1"`` = yes) as Boolean."""
    return (pl.col(name).cast(pl.String).str.strip_chars() == "1").fill_null(False)


def _text(name: str) -> pl.Expr:
    """A text field, null when empty."""
    value = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.when(value.str.len_chars() > 0).then(value)


def _disability_code(expr: pl.Expr) -> pl.Expr:
    """申告書 障害者区分 0/1/2 → none/ordinary/special."""
    return (pl.when(expr == "2").then(pl.lit("special")).when(expr == "1").then(pl.lit("ordinary"))
            .otherwise(pl.lit("none")))


def _disability_max(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """The graver of two 障害者区分 (none < ordinary < special); a value outside them is an error, not 0."""
    rank = lambda e: e.replace_strict(_DISABILITY_RANK, return_dtype=pl.Int8)  # noqa: E731
    return pl.when(rank(a) >= rank(b)).then(a).otherwise(b)


# 所得税の課税総所得金額 is rounded down to 1,000円 (国税通則法第118条第1項); the rounding itself is the
# engine's named step.
INCOME_TAX_TAXABLE_UNIT = 1000


#: ``match_decision`` of a queued document that an operator tied to a resident (set by record_merge only)
OPERATOR_MATCH = "operator"


def usable(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Rows of a staged person dataset that record_merge considers: staged and auto-matched, or tied to a
    resident by an operator's decision (:func:`with_review_decisions`); with a 宛名番号."""
    auto = (pl.col("route") == "stage") & (pl.col("match_decision") == "auto")
    return frame.filter((auto | (pl.col("match_decision") == OPERATOR_MATCH)) & pl.col("atena_no").is_not_null())


def is_current() -> pl.Expr:
    """The version of a document that counts. An orphan 訂正 (its original was quarantined or never sent, so
    it is the only version staged) counts as well: it carries a whole record, and dropping it would lose the
    corrected document the sender was asked for. record_merge flags it (``orphan_correction_merged``). An
    orphan 取消 is never current (transforms.corrections)."""
    return pl.col("is_current").fill_null(False) & pl.col("history_status").cast(pl.String).is_in(
        ["current", "orphan_correction"])


def housing_move_in_date(year: pl.Expr, month: pl.Expr, day: pl.Expr, income_year: int) -> pl.Expr:
    """居住開始年月日 of the salary report: 和暦 yy/mm/dd without an era code. Years up to the 令和
    year of the income year are read as 令和, larger ones as 平成 (平成1–7年, 1989–1995, lie
    outside every 控除期間, so the reading is unambiguous for a credit still running). Null if absent or
    not a real date."""
    reiwa_now = income_year - 2018
    yy = year.cast(pl.String).str.strip_chars().str.to_integer(strict=False)
    western = pl.when(yy <= reiwa_now).then(yy + 2018).otherwise(yy + 1988)
    text = pl.concat_str([
        western.cast(pl.String),
        month.cast(pl.String).str.strip_chars().str.zfill(2),
        day.cast(pl.String).str.strip_chars().str.zfill(2),
    ])
    return pl.when(yy.is_not_null() & (yy >= 1)).then(text.str.to_date("%Y%m%d", strict=False))


# ------------------------------------------------------------------------------------- the sources
def _lineage_base(frame: pl.LazyFrame, source: str) -> pl.LazyFrame:
    columns = frame.collect_schema().names()
    version = pl.col("version").cast(pl.Int64) if "version" in columns else pl.lit(1, pl.Int64)
    decision = (pl.col("review_decision_id") if "review_decision_id" in columns else pl.lit(None, pl.String))
    return usable(frame).select(
        pl.col("atena_no").alias("person_id"),
        pl.lit(source).alias("source"),
        pl.col("doc_uid"),
        version.alias("version"),
        pl.col("history_status").cast(pl.String),
        pl.col("is_current").fill_null(False),
        pl.col("received_on"),
        is_current().alias("_current"),
        decision.cast(pl.String).alias("decision_id"),
    )


def _etax_basis(etax: pl.LazyFrame, rules: Rules) -> pl.LazyFrame:
    """Basis columns stated by a 確定申告書 (one row per document)."""
    income_total = _nn(_i("income_total"))
    medical_deduction = _i("deduction_medical")
    return etax.select(
        pl.col("doc_uid"),
        pl.col("atena_no").alias("person_id"),
        _nn(_i("revenue_salary")).alias("salary_revenue"),
        _nn(_i("revenue_pension")).alias("public_pension_revenue"),
        _nn(_i("income_business")).alias("business_income"),
        _nn(_i("income_real_estate")).alias("real_estate_income"),
        _nn(_i("income_dividend")).alias("dividend_income"),
        _nn(_i("income_misc_other")).alias("misc_income"),
        # 総合譲渡・一時 (ABB00400) is 一時所得 × 1/2: the basis holds the amount before halving.
        (_nn(_i("income_transfer_occasional")) * 2).alias("occasional_income"),
        _nn(_i("deduction_social_insurance")).alias("social_insurance"),
        _nn(_i("deduction_small_enterprise")).alias("small_enterprise_mutual_aid"),
        _nn(_i("premium_new_life")).alias("life_new_general"),
        _nn(_i("premium_old_life")).alias("life_old_general"),
        _nn(_i("premium_new_pension")).alias("life_new_pension"),
        _nn(_i("premium_old_pension")).alias("life_old_pension"),
        _nn(_i("premium_care_medical")).alias("life_care_medical"),
        _nn(_i("premium_earthquake")).alias("earthquake_insurance"),
        # The return states the 医療費控除 (paid − reimbursed − min(10万, 総所得金額等×5%)); the basis
        # holds paid-net-of-reimbursement so that the engine's formula gives back the same deduction.
        pl.when(medical_deduction > 0)
        .then(medical_deduction + pl.min_horizontal(
            pl.lit(rules.amount("medical_expense_deduction.threshold_cap"), pl.Int64),
            times_fraction(income_total, rules.percent("medical_expense_deduction.threshold_percent"))))
        .otherwise(0).cast(pl.Int64).alias("medical_expenses"),
        _nn(_i("resident_tax_furusato")).alias("furusato_donations"),
        pl.col("widow").fill_null(False).alias("widow"),
        pl.col("single_parent").fill_null(False).alias("single_parent"),
        pl.col("working_student").fill_null(False).alias("working_student"),
        _disability_code(pl.col("self_disability").cast(pl.String)).alias("declared_disability"),
        income_total.alias("estimated_total_income"),
        _i("deduction_dependants").alias("_deduction_dependants"),  # for the dependants_not_itemised flag
        ((_i("income_business") < 0) | (_i("income_real_estate") < 0) | (_i("income_misc_other") < 0)).alias("_loss"),
    )


def _resident_return_basis(returns: pl.LazyFrame) -> pl.LazyFrame:
    """Basis columns declared on a 住民税申告書 (one row per document)."""
    return returns.select(
        pl.col("doc_uid"),
        pl.col("atena_no").alias("person_id"),
        _nn(_i("salary_revenue_yen")).alias("salary_revenue"),
        _nn(_i("pension_revenue_yen")).alias("public_pension_revenue"),
        _nn(_i("business_income_yen")).alias("business_income"),
        _nn(_i("real_estate_income_yen")).alias("real_estate_income"),
        _nn(_i("dividend_income_yen")).alias("dividend_income"),
        _nn(_i("misc_income_yen")).alias("misc_income"),
        _nn(_i("occasional_income_yen")).alias("occasional_income"),  # 2分の1前, as the basis holds it
        _nn(_i("social_insurance_yen")).alias("social_insurance"),
        _nn(_i("small_enterprise_mutual_aid_yen")).alias("small_enterprise_mutual_aid"),
        _nn(_i("life_insurance_new_general_yen")).alias("life_new_general"),
        _nn(_i("life_insurance_old_general_yen")).alias("life_old_general"),
        _nn(_i("life_insurance_new_pension_yen")).alias("life_new_pension"),
        _nn(_i("life_insurance_old_pension_yen")).alias("life_old_pension"),
        _nn(_i("life_insurance_care_medical_yen")).alias("life_care_medical"),
        _nn(_i("earthquake_insurance_yen")).alias("earthquake_insurance"),
        _nn(_i("medical_expenses_yen")).alias("medical_expenses"),
        _nn(_i("donation_furusato_yen")).alias("furusato_donations"),
        _flag("widow").alias("widow"),
        _flag("single_parent").alias("single_parent"),
        _flag("working_student").alias("working_student"),
        _disability_code(pl.col("self_disability").cast(pl.String).str.strip_chars()).alias("declared_disability"),
        _nn(_i("total_income_yen")).alias("estimated_total_income"),
    )


def _old_long_term_income_tax_deduction(premium: pl.Expr, rules: Rules) -> pl.Expr:
    """所得税 旧長期損害保険料 deduction of ``premium`` (rule ``income_tax_old_long_term_deduction``)."""
    p = "income_tax_old_long_term_deduction"
    return premium_deduction(premium, rules.table(f"{p}.table"), rules.get(f"{p}.rounding"))


def _salary_contributions(salary: pl.LazyFrame, income_year: int) -> pl.LazyFrame:
    """One row per current 給与支払報告書 with the basis columns it supplies (before summing)."""
    social_total = _nn(_i("social_insurance_yen"))
    small_enterprise = _nn(_i("small_enterprise_mutual_aid_yen"))
    old_long_term = _nn(_i("old_long_term_casualty_premium_yen"))
    ranked = salary.with_columns(
        (pl.col("otsu_column").cast(pl.String).str.strip_chars() == "1").fill_null(False).alias("_otsu"),
        _nn(_i("payment_amount_yen")).alias("_payment"),
    ).with_columns(_primary_salary().alias("is_primary"))
    primary = pl.col("is_primary")
    possible = _nn(_i("housing_loan_credit_possible_yen"))
    unused = _nn(possible - _i("housing_loan_credit_yen"))
    has_loan = primary & (possible > 0)
    return ranked.select(
        pl.col("atena_no").alias("person_id"),
        pl.col("doc_uid"),
        pl.lit("salary_report").alias("source"),
        pl.col("is_primary"),
        pl.col("_payment").alias("salary_revenue"),
        pl.lit(0, pl.Int64).alias("public_pension_revenue"),
        # 社会保険料等の金額 includes 小規模企業共済等掛金 (内書): split them.
        _nn(social_total - small_enterprise).alias("social_insurance"),
        small_enterprise.alias("small_enterprise_mutual_aid"),
        _nn(_i("new_life_premium_yen")).alias("life_new_general"),
        _nn(_i("old_life_premium_yen")).alias("life_old_general"),
        _nn(_i("new_private_pension_premium_yen")).alias("life_new_pension"),
        _nn(_i("old_private_pension_premium_yen")).alias("life_old_pension"),
        _nn(_i("care_medical_premium_yen")).alias("life_care_medical"),
        # 地震保険料控除額 (所得税) = premium up to 5万 plus the 旧長期 part: take the 旧長期 part out.
        # Exact below the 5万 cap; at the cap the 住民税 deduction is at its own 2.5万 cap either way.
        _nn(_nn(_i("earthquake_insurance_deduction_yen"))
            - _old_long_term_income_tax_deduction(old_long_term, load_rules(income_year + 1)))
        .alias("earthquake_insurance"),
        old_long_term.alias("old_long_term_casualty_insurance"),
        pl.when(has_loan).then(unused).otherwise(0).cast(pl.Int64).alias("housing_loan_unused_income_tax_credit"),
        pl.when(has_loan).then(_nn(floor_to_unit(_i("salary_income_yen") - _i("total_income_deductions_yen"), INCOME_TAX_TAXABLE_UNIT)))
        .otherwise(0).cast(pl.Int64).alias("housing_loan_taxable_income_for_income_tax"),
        pl.lit(0, pl.Int64).alias("furusato_donations"),
        pl.when(has_loan).then(housing_move_in_date(pl.col("housing_move_in_year_1"), pl.col("housing_move_in_month_1"),
                                                    pl.col("housing_move_in_day_1"), income_year))
        .alias("housing_moved_in"),
        (primary & _flag("widow")).alias("widow"),
        (primary & _flag("single_parent")).alias("single_parent"),
        (primary & _flag("working_student")).alias("working_student"),
        pl.when(primary & _flag("self_special_disabled")).then(pl.lit("special"))
        .when(primary & _flag("self_other_disabled")).then(pl.lit("ordinary")).otherwise(pl.lit("none"))
        .alias("declared_disability"),
        # 給与所得 for the 扶養否認 estimate: the report's own figure after 年末調整, else revenue − minimum.
        pl.when(_i("salary_income_yen") > 0).then(_i("salary_income_yen"))
        .otherwise(salary_income_before_adjustment(pl.col("_payment"), load_rules(income_year + 1)))
        .alias("_salary_income_estimate"),
    )


def _pension_contributions(pension: pl.LazyFrame) -> pl.LazyFrame:
    """One row per current 公的年金等支払報告書 (支払金額 of 所得税法第203条の3 第1号–第3号 summed)."""
    payment = _nn(_i("art203_3_1_payment_yen") + _i("art203_3_2_payment_yen") + _i("art203_3_3_payment_yen"))
    zero = pl.lit(0, pl.Int64)
    return pension.select(
        pl.col("atena_no").alias("person_id"),
        pl.col("doc_uid"),
        pl.lit("pension_report").alias("source"),
        pl.lit(False).alias("is_primary"),
        zero.alias("salary_revenue"),
        payment.alias("public_pension_revenue"),
        _nn(_i("social_insurance_yen")).alias("social_insurance"),
        *[zero.alias(c) for c in INFO_COLUMNS[3:]],
        pl.lit(None, pl.Date).alias("housing_moved_in"),
        (_flag("self_widow") | _flag("self_special_widow")).alias("widow"),
        _flag("single_parent").alias("single_parent"),
        pl.lit(False).alias("working_student"),
        pl.when(_flag("self_special_disabled")).then(pl.lit("special"))
        .when(_flag("self_other_disabled")).then(pl.lit("ordinary")).otherwise(pl.lit("none"))
        .alias("declared_disability"),
        zero.alias("_salary_income_estimate"),
    )


def _furusato_contributions(notices: pl.LazyFrame) -> pl.LazyFrame:
    zero = pl.lit(0, pl.Int64)
    return notices.select(
        pl.col("atena_no").alias("person_id"),
        pl.col("doc_uid"),
        pl.lit("furusato_notice").alias("source"),
        pl.lit(False).alias("is_primary"),
        *[zero.alias(c) for c in INFO_COLUMNS[:-1]],
        _nn(_i("donation_amount_yen")).alias("furusato_donations"),
        pl.lit(None, pl.Date).alias("housing_moved_in"),
        pl.lit(False).alias("widow"),
        pl.lit(False).alias("single_parent"),
        pl.lit(False).alias("working_student"),
        pl.lit("none").alias("declared_disability"),
        zero.alias("_salary_income_estimate"),
    )


def _primary_salary() -> pl.Expr:
    """主たる給与: per person the report with 年末調整 (not 乙欄), then the largest payment, then the
    smallest doc_uid. Needs ``_otsu`` and ``_payment``."""
    first = pl.col("doc_uid").sort_by(["_otsu", "_payment", "doc_uid"], descending=[False, True, False]).first()
    return pl.col("doc_uid") == first.over("atena_no")


def _pick_one(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Mark the latest current return per person (received_on, then doc_uid) as ``chosen``."""
    latest = pl.col("doc_uid").sort_by([pl.col("received_on").fill_null(date(1900, 1, 1)), "doc_uid"],
                                       descending=[True, True]).first()
    return frame.with_columns((pl.col("doc_uid") == latest.over("atena_no")).alias("chosen"))


# -------------------------------------------------------------------------------------- the merge
def merge_records(
    *,
    fiscal_year: int,
    residents: pl.LazyFrame | pl.DataFrame,
    disability_status: pl.LazyFrame | pl.DataFrame,
    welfare_status: pl.LazyFrame | pl.DataFrame,
    salary_reports: pl.LazyFrame | pl.DataFrame,
    pension_reports: pl.LazyFrame | pl.DataFrame,
    etax_returns: pl.LazyFrame | pl.DataFrame,
    resident_returns: pl.LazyFrame | pl.DataFrame,
    furusato_notices: pl.LazyFrame | pl.DataFrame,
    review_queue: pl.LazyFrame | pl.DataFrame,
    dependant_income_limit: int,
    etax_dependants: pl.LazyFrame | pl.DataFrame | None = None,
    review_decisions: pl.LazyFrame | pl.DataFrame | None = None,
    document_relatives: pl.LazyFrame | pl.DataFrame | None = None,
) -> MergeResult:
    """Merge the staged documents of one municipality and 年度 into the curated frames.

    ``etax_dependants`` (staging/etax_dependants) lists the 配偶者・扶養親族 of each e-Tax return;
    ``None`` (a lake staged before that dataset existed) is read as no itemised relatives.
    ``review_decisions`` (curated/review_decisions, the whole history) are the operators' decisions on
    the review queue and the 扶養 flags; ``None`` means none were taken.
    ``document_relatives`` (staging/document_relatives) lists the 5th and further 扶養親族 of the
    給与支払報告書 and 住民税申告書 (their '(個人番号)氏名' entries); ``None`` is read as none."""
    lazy = lambda f: f.lazy()  # noqa: E731
    income_year = fiscal_year - 1
    people = (
        lazy(residents).filter(pl.col("resident_on_assessment_date").fill_null(False))
        .select("atena_no", "household_no", "relationship", "name_kana", "birth_date", "sex", "age_on_assessment_date")
        .with_columns(normalize_kana(pl.col("name_kana")).alias("_kana"))
        .drop("name_kana")
        .collect()
    )
    resident_ids = people.get_column("atena_no")
    decisions = latest_decisions(review_decisions)
    queue = lazy(review_queue)
    decided = decided_documents(decisions, queue, resident_ids)
    docs = {
        name: with_review_decisions(lazy(frame), decided) for name, frame in (
            ("etax_return", etax_returns), ("resident_return", resident_returns), ("salary_report", salary_reports),
            ("pension_report", pension_reports), ("furusato_notice", furusato_notices))
    }
    document_outcomes = _document_outcomes(decisions, queue, resident_ids)
    # Documents an operator settled leave the review markers (flag document_in_review, non_filers).
    settled = document_outcomes.filter(pl.col("outcome") != "stale").get_column("item_key")
    open_queue = queue.filter(~pl.col("doc_uid").is_in(settled.implode()))

    # Current usable documents of residents, by source.
    current = {s: usable(f).filter(is_current() & pl.col("atena_no").is_in(resident_ids.implode())) for s, f in docs.items()}

    etax = _pick_one(current["etax_return"]).collect()
    has_etax = etax.get_column("atena_no").unique()
    rr = _pick_one(current["resident_return"]).collect()
    rr_used = rr.filter(pl.col("chosen") & ~pl.col("atena_no").is_in(has_etax.implode()))
    etax_used = etax.filter("chosen")

    contributions = pl.concat([
        _salary_contributions(current["salary_report"], income_year),
        _pension_contributions(current["pension_report"]),
        _furusato_contributions(current["furusato_notice"]),
    ], how="vertical").collect()

    info = contributions.group_by("person_id").agg(
        *[pl.col(c).sum() for c in INFO_COLUMNS],
        pl.col("housing_moved_in").drop_nulls().min(),
        pl.col("widow").any(), pl.col("single_parent").any(), pl.col("working_student").any(),
        pl.col("declared_disability").replace_strict(_DISABILITY_RANK, return_dtype=pl.Int8).max().alias("_dis_rank"),
        (pl.col("source") == "salary_report").sum().cast(pl.Int32).alias("salary_payers"),
        pl.col("doc_uid").filter(pl.col("is_primary")).first().alias("primary_salary_doc_uid"),
        pl.col("_salary_income_estimate").sum().alias("_salary_income_estimate"),
        (pl.col("source") == "furusato_notice").any().alias("_has_notice"),
    ).with_columns(
        pl.col("_dis_rank").replace_strict({v: k for k, v in _DISABILITY_RANK.items()}, return_dtype=pl.String)
        .alias("declared_disability")
    )

    etax_basis = _etax_basis(etax_used.lazy(), load_rules(fiscal_year)).collect()
    rr_basis = _resident_return_basis(rr_used.lazy()).collect()
    declared = pl.concat([
        etax_basis.select(rr_basis.columns).with_columns(pl.lit("etax_return").alias("basis_source")),
        rr_basis.with_columns(pl.lit("resident_return").alias("basis_source")),
    ], how="vertical").rename({"doc_uid": "basis_doc_uid"})

    # Registry attributes (障害者 from 障害者手帳 records, 生活扶助 on 1 January). A person with several
    # 手帳 (身体 and 精神, say) is a 特別障害者 when any of them makes one.
    disability = lazy(disability_status).group_by("atena_no").agg(
        pl.col("special_disability").fill_null(False).any().alias("_special"),
    ).select(
        "atena_no",
        pl.when(pl.col("_special")).then(pl.lit("special")).otherwise(pl.lit("ordinary")).alias("registry_disability"),
    ).collect()
    welfare = lazy(welfare_status).filter(pl.col("assisted_on_assessment_date").fill_null(False)).select(
        "atena_no").unique().collect()

    base = (
        people.join(disability, on="atena_no", how="left", validate="1:1")
        .join(declared, left_on="atena_no", right_on="person_id", how="left", validate="1:1")
        .join(info, left_on="atena_no", right_on="person_id", how="left", validate="1:1", suffix="_info")
        .with_columns(pl.col("atena_no").is_in(welfare.get_column("atena_no").implode()).alias("livelihood_assistance"))
    )
    src = pl.col("basis_source")
    has_info = pl.col("salary_payers").is_not_null()
    base = base.with_columns(
        pl.when(src.is_not_null()).then(src).when(has_info).then(pl.lit("information_returns"))
        .otherwise(pl.lit("none")).alias("basis_source")
    )
    base = base.with_columns(**{
        f"_declared_{c}": (pl.col(c) if c in declared.columns else pl.lit(0, pl.Int64)).fill_null(0).cast(pl.Int64)
        for c in INFO_COLUMNS
    })
    src = pl.col("basis_source")
    amounts: dict[str, pl.Expr] = {}
    for column in PERSON_AMOUNTS:
        declared_value = pl.col(column) if column in declared.columns else pl.lit(0, pl.Int64)
        info_value = pl.col(f"{column}_info") if f"{column}_info" in base.columns else (
            pl.col(column) if column in info.columns and column not in declared.columns else pl.lit(0, pl.Int64))
        if column == "furusato_donations":  # one-stop notices count only without a return
            value = pl.when(src == "information_returns").then(info_value).otherwise(declared_value)
        elif column in INFO_COLUMNS:
            value = (pl.when(src == "etax_return").then(declared_value)
                     .when(src == "resident_return").then(
                         pl.when(declared_value.fill_null(0) > 0).then(declared_value).otherwise(info_value))
                     .when(src == "information_returns").then(info_value).otherwise(0))
        else:
            value = pl.when(src.is_in(["etax_return", "resident_return"])).then(declared_value).otherwise(0)
        amounts[column] = value.fill_null(0).cast(pl.Int64)
    base = base.with_columns(**{f"_{k}": v for k, v in amounts.items()})
    from_return = src.is_in(["etax_return", "resident_return"])
    flag_cols = {}
    for name in ("widow", "single_parent", "working_student"):
        flag_cols[f"_{name}"] = (pl.when(from_return).then(pl.col(name))
                                 .otherwise(pl.col(f"{name}_info") if f"{name}_info" in base.columns else pl.col(name))
                                 .fill_null(False))
    declared_dis = pl.when(from_return).then(pl.col("declared_disability")).otherwise(
        pl.col("declared_disability_info")).fill_null("none")
    registry_dis = pl.col("registry_disability").fill_null("none")
    base = base.with_columns(
        # A document's own declaration can raise the registry's 障害者 status, never lower it.
        _disability_max(registry_dis, declared_dis).alias("_disability"),
        (src == "information_returns").and_(pl.col("_has_notice").fill_null(False)).alias("_one_stop"),
        # 特定取得 (消費税 8%/10%) is assumed: the 住宅借入金等特別控除区分 of the reports is not read yet.
        pl.lit(False).alias("_housing_not_specified_acquisition"),
        pl.when(src != "etax_return").then(pl.col("housing_moved_in")).alias("_housing_moved_in"),
        **flag_cols,
    )
    n_by_source = {
        s: current[s].group_by("atena_no").agg(pl.len().cast(pl.Int32).alias(f"n_{s}")).collect() for s in SOURCES
    }
    for s, counts in n_by_source.items():
        base = base.join(counts, on="atena_no", how="left", validate="1:1").with_columns(pl.col(f"n_{s}").fill_null(0))
    n_total = pl.sum_horizontal([pl.col(f"n_{s}") for s in SOURCES])
    # 合計所得金額 estimate for the 扶養否認 flag (not an engine input).
    rules = load_rules(fiscal_year)
    other_income = (pl.col("_business_income") + pl.col("_real_estate_income") + pl.col("_dividend_income")
                    + pl.col("_misc_income") + pl.col("_occasional_income") // 2)
    salary_estimate = pl.col("_salary_income_estimate").fill_null(0)
    pension_income = public_pension_income(
        pl.col("_public_pension_revenue"), age_at_year_end(pl.col("birth_date"), income_year),
        salary_estimate + other_income, rules)
    info_estimate = salary_estimate + pension_income + other_income
    base = base.with_columns(
        pl.when(src.is_in(["etax_return", "resident_return"]))
        .then(pl.max_horizontal(pl.col("estimated_total_income").fill_null(0), info_estimate))
        .otherwise(info_estimate).cast(pl.Int64).alias("estimated_total_income"),
        other_income.cast(pl.Int64).alias("_other_income"),
    )

    schema = person_schema()
    basis = base.select(
        pl.col("atena_no").alias("person_id"),
        pl.lit(fiscal_year, pl.Int32).alias("fiscal_year"),
        pl.col("birth_date"),
        # 住民基本台帳 性別 code: 1 男, 2 女.
        pl.col("sex").cast(pl.Int64).replace_strict({1: "male", 2: "female"}, default=None, return_dtype=pl.String)
        .alias("sex"),
        pl.col("_disability").alias("disability"),
        *[pl.col(f"_{name}").alias(name) if name != "livelihood_assistance" else pl.col(name) for name in PERSON_FLAGS],
        *[pl.col(f"_{name}").alias(name) for name in PERSON_AMOUNTS],
        pl.col("_housing_moved_in").alias("housing_moved_in"),
        # record_merge's own columns
        pl.col("atena_no"),
        pl.col("household_no"),
        (n_total > 0).alias("has_documents"),
        pl.col("basis_source"),
        pl.col("basis_doc_uid"),
        *[pl.col(f"n_{s}") for s in SOURCES],
        pl.col("salary_payers").fill_null(0).cast(pl.Int32),
        pl.col("primary_salary_doc_uid"),
        pl.col("estimated_total_income"),
    ).cast({k: v for k, v in schema.items()}).sort("person_id")

    etax_relatives = _etax_dependants_used(etax_dependants, etax_used, resident_ids)
    relatives, relative_flags = _relatives(
        people, basis, base.select("atena_no", "_other_income"), etax_used, rr_used,
        current["salary_report"], dependant_income_limit, etax_relatives,
        _document_relatives_read(document_relatives, resident_ids))
    relatives, flag_decisions, flag_outcomes = _apply_relative_decisions(relatives, relative_flags, decisions)

    lineage = _lineage(docs, resident_ids, etax, rr, has_etax, contributions, base)
    orphans = pl.concat([
        f.filter(pl.col("history_status").cast(pl.String) == "orphan_correction").select(
            pl.lit("orphan_correction_merged").alias("flag"), pl.col("atena_no").alias("person_id"),
            pl.col("doc_uid").alias("related"),
            pl.format("a 訂正 {} whose original was never staged (quarantined or not sent) is merged as the only "
                      "version; check it against the sender's corrected record", pl.lit(source)).alias("detail"))
        for source, f in current.items()], how="vertical").collect()
    flags = _flags(etax, rr, has_etax, base, open_queue, resident_ids, etax_basis, pl.concat([relative_flags, orphans]),
                   etax_relatives)
    flags = flags.join(flag_decisions, on=["flag", "person_id", "related"], how="left", validate="1:1",
                       maintain_order="left")
    non_filers = _non_filers(people, basis, relatives, open_queue)
    outcomes = pl.concat([document_outcomes, flag_outcomes], how="vertical").sort("item_kind", "item_key")
    counts = {
        "basis_rows": basis.height,
        "relatives": relatives.height,
        "relatives_resolved": int(relatives.get_column("relative_atena_no").is_not_null().sum()),
        "relatives_etax_itemised": int(relatives.get_column("source_dependant_no").is_not_null().sum()),
        "etax_filers_with_itemised_relatives": int(
            relatives.filter(pl.col("source_dependant_no").is_not_null()).get_column("person_id").n_unique()),
        "lineage_rows": lineage.height,
        "flags": flags.height,
        "non_filers": non_filers.height,
        **{f"basis_source_{s}": int((basis.get_column("basis_source") == s).sum()) for s in BASIS_SOURCES},
        "review_decisions_latest": outcomes.height,
        **{f"review_outcome_{o}": int((outcomes.get_column("outcome") == o).sum()) for o in OUTCOMES},
    }
    return MergeResult(basis, relatives, lineage, flags, non_filers, counts, review_outcomes=outcomes)


# ------------------------------------------------------------------------------ operators' decisions
def decided_documents(decisions: pl.DataFrame, review_queue: pl.LazyFrame | pl.DataFrame,
                      resident_ids: pl.Series) -> pl.DataFrame:
    """``doc_uid`` → ``atena_no``, ``decision_id`` of the queued documents an operator tied to a person.

    ``decisions`` are the latest decisions (:func:`transforms.review.latest_decisions`). Only a document
    still in ``review_queue`` and a person resident on 1 January count; anything else is stale."""
    queued = review_queue.lazy().select("doc_uid").unique().collect()
    return (
        decisions.filter((pl.col("item_kind") == "document") & (pl.col("decision") == "person")
                         & pl.col("target").is_in(resident_ids.implode()))
        .join(queued, left_on="item_key", right_on="doc_uid", how="semi")
        .select(pl.col("item_key").alias("doc_uid"), pl.col("target").alias("atena_no"), "decision_id")
    )


def with_review_decisions(frame: pl.LazyFrame, decided: pl.DataFrame) -> pl.LazyFrame:
    """A staged document frame with the operators' matches applied: a queued row
    (``match_decision == "review"``) named in ``decided`` gets the chosen 宛名番号 and
    ``match_decision = "operator"``; every row gets ``review_decision_id`` (null unless applied)."""
    chosen = decided.lazy().select("doc_uid", pl.col("atena_no").alias("_decided_atena_no"),
                                   pl.col("decision_id").alias("_decision_id"))
    applies = pl.col("_decision_id").is_not_null() & (pl.col("match_decision") == "review")
    return (
        frame.join(chosen, on="doc_uid", how="left", validate="m:1", maintain_order="left")
        .with_columns(
            pl.when(applies).then(pl.col("_decided_atena_no")).otherwise(pl.col("atena_no")).alias("atena_no"),
            pl.when(applies).then(pl.lit(OPERATOR_MATCH)).otherwise(pl.col("match_decision")).alias("match_decision"),
            pl.when(applies).then(pl.col("_decision_id")).otherwise(pl.lit(None, pl.String))
            .alias("review_decision_id"),
        )
        .drop("_decided_atena_no", "_decision_id")
    )


def _outcome_frame(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(list(OUTCOME_COLUMNS)).cast(OUTCOME_COLUMNS)


def _document_outcomes(decisions: pl.DataFrame, review_queue: pl.LazyFrame, resident_ids: pl.Series) -> pl.DataFrame:
    """What the latest decision on each queued document does (contracts.review ``OUTCOMES``)."""
    queued = review_queue.select("doc_uid").unique().collect().get_column("doc_uid")
    doc = decisions.filter(pl.col("item_kind") == "document")
    decision, target = pl.col("decision"), pl.col("target")
    in_queue = pl.col("item_key").is_in(queued.implode())
    resident = target.is_in(resident_ids.implode())
    outcome = (
        pl.when(~in_queue).then(pl.lit("stale"))
        .when((decision == "person") & ~resident).then(pl.lit("stale"))
        .when(decision == "person").then(pl.lit("merged"))
        .when(decision == "none").then(pl.lit("not_matched"))
        .otherwise(pl.lit("forwarded"))
    )
    detail = (
        pl.when(~in_queue).then(pl.lit("the document is no longer in the review queue (matched anew, or its file "
                                       "was replaced); decide again if it comes back"))
        .when((decision == "person") & ~resident).then(pl.lit("the chosen person is not resident on 1 January in "
                                                              "the current resident snapshot; not merged"))
        .when(decision == "person").then(pl.lit("merged into the chosen person's basis (basis_lineage.decision_id)"))
        .when(decision == "none").then(pl.lit("no resident of the ward: not merged; a 住登外 candidate if the taxpayer "
                                              "lived in the ward on 1 January, else a document to return"))
        .otherwise(pl.format("to be forwarded (回送) to {}; not merged", target))
    )
    return _outcome_frame(doc.with_columns(
        outcome.alias("outcome"),
        pl.when(outcome == "merged").then(target).otherwise(pl.lit(None, pl.String)).alias("person_id"),
        detail.alias("detail"),
    ))


def _apply_relative_decisions(relatives: pl.DataFrame, relative_flags: pl.DataFrame,
                              decisions: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Apply the 扶養 decisions to the relatives (the flags were raised from the claims as declared).

    Returns the relatives after the decisions (``seq`` renumbered per taxpayer and role), the
    ``decision``/``decision_id`` of every decided flag row (flag, person_id, related) and the outcomes."""
    kinds = ("dependant_claimed_twice", "dependant_income_over_limit")
    chosen = decisions.filter(pl.col("item_kind").is_in(kinds)).select(
        pl.col("item_kind").alias("flag"), "item_key", "decision", "target", "decision_id")
    raised = relative_flags.select("flag", "person_id", "related").unique().with_columns(
        flag_item_key_expr(pl.col("flag"), pl.col("person_id"), pl.col("related")).alias("item_key"))
    claimants = raised.group_by("flag", "item_key").agg(pl.col("person_id").alias("_claimants"))
    decision, target, kind = pl.col("decision"), pl.col("target"), pl.col("flag")
    judged = chosen.join(claimants, on=["flag", "item_key"], how="left", validate="1:1")
    outcome = (
        pl.when(pl.col("_claimants").is_null()).then(pl.lit("stale"))
        .when(decision == "pending").then(pl.lit("pending"))
        .when((kind == "dependant_claimed_twice") & (decision == "keep")
              & ~pl.col("_claimants").list.contains(target)).then(pl.lit("stale"))
        .when(decision == "keep").then(pl.lit("claim_kept"))
        .otherwise(pl.lit("claim_denied"))
    )
    detail = (
        pl.when(pl.col("_claimants").is_null()).then(pl.lit("the flag is no longer raised (the claims changed)"))
        .when(decision == "pending").then(pl.lit("the taxpayer is asked; the claim stays as declared meanwhile"))
        .when((kind == "dependant_claimed_twice") & (decision == "keep")
              & ~pl.col("_claimants").list.contains(target))
        .then(pl.lit("the taxpayer chosen to keep the relative no longer claims them"))
        .when((kind == "dependant_claimed_twice") & (decision == "keep"))
        .then(pl.lit("the relative stays with the chosen taxpayer and is dropped from the others"))
        .when(kind == "dependant_claimed_twice").then(pl.lit("the relative is dropped from every claiming taxpayer"))
        .when(decision == "keep").then(pl.lit("the dependant claim is accepted as declared"))
        .otherwise(pl.lit("the dependant is dropped from this taxpayer (扶養否認)"))
    )
    judged = judged.with_columns(outcome.alias("outcome"), detail.alias("detail"))
    taxpayer = (pl.when(kind == "dependant_claimed_twice").then(pl.when(decision == "keep").then(target))
                .otherwise(pl.col("item_key").str.split("/").list.first()))
    outcomes = _outcome_frame(judged.with_columns(
        pl.col("flag").alias("item_kind"),
        pl.when(pl.col("outcome") != "stale").then(taxpayer).otherwise(pl.lit(None, pl.String)).alias("person_id"),
    ))

    # Flag rows that show their decision (a stale decision leaves its flag open).
    effective = judged.filter(pl.col("outcome") != "stale")
    shown = raised.join(effective.select("flag", "item_key", "decision", "target", "decision_id"),
                        on=["flag", "item_key"], how="inner", validate="m:1")
    drop = shown.filter(
        (pl.col("decision") == "deny")
        | ((pl.col("flag") == "dependant_claimed_twice") & (pl.col("decision") == "keep")
           & (pl.col("person_id") != pl.col("target")))
    ).group_by("person_id", pl.col("related").alias("relative_atena_no")).agg(
        (pl.col("flag") == "dependant_claimed_twice").any().alias("_any_role"))  # 扶養重複: any role; 否認: dependant
    dropped = relatives.join(drop, on=["person_id", "relative_atena_no"], how="left", validate="m:1")
    keep_row = pl.col("_any_role").is_null() | (~pl.col("_any_role") & (pl.col("role") != "dependant"))
    kept = dropped.filter(keep_row).drop("_any_role").sort("person_id", "role", "seq").with_columns(
        pl.int_range(1, pl.len() + 1).over("person_id", "role").cast(pl.Int32).alias("seq"))
    flag_decisions = shown.select("flag", "person_id", "related", "decision", "decision_id")
    return kept, flag_decisions, outcomes


# -------------------------------------------------------------------------------------- relatives
def _claims_from_resident_returns(rr_used: pl.DataFrame, listed: pl.DataFrame | None = None) -> pl.LazyFrame:
    """Spouse and 扶養親族 1-4 declared on the 住民税申告書 the basis follows, and its 5th and further
    扶養親族 (``listed``: staging/document_relatives)."""
    spouse = rr_used.lazy().filter(_text("spouse_kana").is_not_null() | (_i("spouse_total_income_yen") > 0)).select(
        pl.col("atena_no").alias("person_id"), pl.col("doc_uid").alias("source_doc_uid"),
        pl.lit("spouse").alias("role"), pl.lit(0, pl.Int32).alias("_slot"),
        _text("spouse_kana").alias("kana"), pl.col("spouse_birth_on").alias("doc_birth_date"),
        pl.lit(True).alias("doc_cohabiting"), pl.lit("none").alias("doc_disability"),
        _nn(_i("spouse_total_income_yen")).alias("doc_other_income"), *_NOT_ITEMISED,
    )
    dependants = [
        rr_used.lazy().filter(_text(f"dependant_{k}_kana").is_not_null()).select(
            pl.col("atena_no").alias("person_id"), pl.col("doc_uid").alias("source_doc_uid"),
            pl.lit("dependant").alias("role"), pl.lit(k, pl.Int32).alias("_slot"),
            _text(f"dependant_{k}_kana").alias("kana"), pl.col(f"dependant_{k}_birth_on").alias("doc_birth_date"),
            (pl.col(f"dependant_{k}_cohabiting").cast(pl.String).str.strip_chars() != "0").fill_null(True)
            .alias("doc_cohabiting"),
            _disability_code(pl.col(f"dependant_{k}_disability").cast(pl.String).str.strip_chars()).alias("doc_disability"),
            pl.lit(0, pl.Int64).alias("doc_other_income"), *_NOT_ITEMISED,
        )
        for k in range(1, 5)
    ]
    further = _claims_from_document_relatives(rr_used.lazy(), listed)
    return pl.concat([spouse, *dependants, further], how="vertical")


def _claims_from_salary_reports(salary: pl.LazyFrame, persons: pl.Series,
                                listed: pl.DataFrame | None = None) -> pl.LazyFrame:
    """Spouse and dependants named on the 主たる給与 report (年末調整) of information-returns persons,
    the 5th and further from ``listed`` (staging/document_relatives)."""
    primary = (
        salary.filter(pl.col("atena_no").is_in(persons.implode()))
        .with_columns(
            (pl.col("otsu_column").cast(pl.String).str.strip_chars() == "1").fill_null(False).alias("_otsu"),
            _nn(_i("payment_amount_yen")).alias("_payment"),
        )
        .filter(_primary_salary())
    )
    spouse = primary.filter(_text("spouse_kana").is_not_null()).select(
        pl.col("atena_no").alias("person_id"), pl.col("doc_uid").alias("source_doc_uid"),
        pl.lit("spouse").alias("role"), pl.lit(0, pl.Int32).alias("_slot"),
        _text("spouse_kana").alias("kana"), pl.lit(None, pl.Date).alias("doc_birth_date"),
        pl.lit(True).alias("doc_cohabiting"), pl.lit("none").alias("doc_disability"),
        _nn(_i("spouse_total_income_yen")).alias("doc_other_income"), *_NOT_ITEMISED,
    )
    dependants = [
        primary.filter(_text(f"{prefix}_{k}_kana").is_not_null()).select(
            pl.col("atena_no").alias("person_id"), pl.col("doc_uid").alias("source_doc_uid"),
            pl.lit("dependant").alias("role"), pl.lit(offset + k, pl.Int32).alias("_slot"),
            _text(f"{prefix}_{k}_kana").alias("kana"), pl.lit(None, pl.Date).alias("doc_birth_date"),
            pl.lit(False).alias("doc_cohabiting"), pl.lit("none").alias("doc_disability"),
            pl.lit(0, pl.Int64).alias("doc_other_income"), *_NOT_ITEMISED,
        )
        for offset, prefix in ((0, "dependant"), (4, "young_dependant")) for k in range(1, 5)
    ]
    further = _claims_from_document_relatives(primary, listed)
    return pl.concat([spouse, *dependants, further], how="vertical")


#: staging/document_relatives columns read here (an absent dataset is an empty frame).
DOCUMENT_RELATIVES_READ: dict[str, pl.DataType] = {
    "doc_uid": pl.String(), "field": pl.String(), "entry_no": pl.Int32(), "slot": pl.Int32(),
    "relative_atena_no": pl.String(),
}
# Claim order after the first four of each list: 5th+ 16歳以上 (101…), then 5th+ 16歳未満 (201…).
_FURTHER_SLOT_BASE = {"dependants_5th_plus": 100, "young_dependants_5th_plus": 200}


def _document_relatives_read(document_relatives, resident_ids: pl.Series) -> pl.DataFrame:
    """staging/document_relatives; the 宛名番号 found at ingest is kept only for a person resident on
    1 January (only they have a basis of their own), as for the e-Tax relatives."""
    if document_relatives is None:
        return pl.DataFrame(schema=DOCUMENT_RELATIVES_READ)
    frame = document_relatives.lazy().select(list(DOCUMENT_RELATIVES_READ)).cast(DOCUMENT_RELATIVES_READ).collect()
    return frame.with_columns(
        pl.when(pl.col("relative_atena_no").is_in(resident_ids.implode())).then(pl.col("relative_atena_no"))
        .otherwise(pl.lit(None, pl.String)).alias("relative_atena_no"))


def _claims_from_document_relatives(documents: pl.LazyFrame, listed: pl.DataFrame | None) -> pl.LazyFrame:
    """One 扶養親族 claim per 5人目以降 entry of the given documents (those the basis uses): no kana and no
    birth date on the document, so a relative is tied to a person only by the My Number verified at
    ingest (``pre_atena_no``; kept when that person is another resident on 1 January, see
    :func:`_relatives`), and otherwise counted as an unresolved dependant."""
    if listed is None:
        listed = pl.DataFrame(schema=DOCUMENT_RELATIVES_READ)
    base = pl.col("field").replace_strict(_FURTHER_SLOT_BASE, default=300, return_dtype=pl.Int32)
    return documents.select("doc_uid", pl.col("atena_no").alias("person_id")).join(
        listed.lazy(), on="doc_uid", how="inner").select(
        "person_id", pl.col("doc_uid").alias("source_doc_uid"), pl.lit("dependant").alias("role"),
        (base + pl.col("slot")).cast(pl.Int32).alias("_slot"),
        pl.lit(None, pl.String).alias("kana"), pl.lit(None, pl.Date).alias("doc_birth_date"),
        pl.lit(False).alias("doc_cohabiting"), pl.lit("none").alias("doc_disability"),
        pl.lit(0, pl.Int64).alias("doc_other_income"),
        pl.when(pl.col("relative_atena_no") != pl.col("person_id")).then(pl.col("relative_atena_no"))
        .otherwise(pl.lit(None, pl.String)).alias("pre_atena_no"),
        pl.lit(None, pl.Int32).alias("source_dependant_no"),
    )


def _claims_from_etax(etax_used: pl.DataFrame, etax_relatives: pl.DataFrame) -> pl.LazyFrame:
    """A return that claims 配偶者(特別)控除 but lists no spouse: an unnamed spouse with the return's
    配偶者の合計所得金額 (resolved through the household relationship, if at all)."""
    listed = etax_relatives.filter(pl.col("relationship") == "spouse").select("doc_uid")
    return etax_used.lazy().filter(_i("deduction_spouse") > 0).join(listed.lazy(), on="doc_uid", how="anti").select(
        pl.col("atena_no").alias("person_id"), pl.col("doc_uid").alias("source_doc_uid"),
        pl.lit("spouse").alias("role"), pl.lit(0, pl.Int32).alias("_slot"),
        pl.lit(None, pl.String).alias("kana"), pl.lit(None, pl.Date).alias("doc_birth_date"),
        pl.lit(True).alias("doc_cohabiting"), pl.lit("none").alias("doc_disability"),
        _nn(_i("spouse_total_income")).alias("doc_other_income"), *_NOT_ITEMISED,
    )


def _etax_dependants_used(etax_dependants, etax_used: pl.DataFrame, resident_ids: pl.Series) -> pl.DataFrame:
    """The relatives listed by the e-Tax return each person's basis follows (its current version):
    one row per listed relative with the filer's 宛名番号 (``person_id``). The 宛名番号 found by My Number
    at ingest is kept only for a person resident on 1 January (only they have a basis of their own).
    A return listing several spouses keeps the first (the relatives contract allows one)."""
    if etax_dependants is None:
        frame = pl.DataFrame(schema=ETAX_DEPENDANTS_READ)
    else:
        frame = etax_dependants.lazy().select(list(ETAX_DEPENDANTS_READ)).cast(ETAX_DEPENDANTS_READ).collect()
    frame = frame.join(etax_used.select("doc_uid", pl.col("atena_no").alias("person_id")), on="doc_uid",
                       how="inner", validate="m:1")
    role = pl.col("relationship").fill_null("dependant")  # a relative without 区分 counts as 扶養親族
    first_spouse = pl.col("dependant_no") == pl.col("dependant_no").filter(role == "spouse").min().over("doc_uid")
    has_basis = pl.col("relative_atena_no").is_in(resident_ids.implode()) & (pl.col("relative_atena_no") != pl.col("person_id"))
    return (
        frame.with_columns(role.alias("relationship"))
        .filter((pl.col("relationship") != "spouse") | first_spouse)
        .with_columns(pl.when(has_basis).then(pl.col("relative_atena_no")).otherwise(pl.lit(None, pl.String))
                      .alias("relative_atena_no"))
        .sort("doc_uid", "dependant_no")
    )


def _claims_from_etax_dependants(etax_relatives: pl.DataFrame) -> pl.LazyFrame:
    """The 配偶者・扶養親族 a 確定申告書 lists: birth date, 同居, 障害 (0/1/2 as the generator and the
    jmz block write them) and the relative's 合計所得金額 as ``other_income`` when not resolved."""
    return etax_relatives.lazy().select(
        "person_id", pl.col("doc_uid").alias("source_doc_uid"), pl.col("relationship").alias("role"),
        pl.when(pl.col("relationship") == "spouse").then(pl.lit(0, pl.Int32)).otherwise(pl.col("dependant_no"))
        .cast(pl.Int32).alias("_slot"),
        pl.lit(None, pl.String).alias("kana"), pl.col("birth_date").alias("doc_birth_date"),
        pl.col("cohabiting").fill_null(pl.col("relationship") == "spouse").alias("doc_cohabiting"),
        _disability_code(pl.col("disability").cast(pl.String)).alias("doc_disability"),
        _nn(pl.col("total_income").cast(pl.Int64)).alias("doc_other_income"),
        pl.col("relative_atena_no").alias("pre_atena_no"),
        pl.col("dependant_no").cast(pl.Int32).alias("source_dependant_no"),
    )


_NOT_ITEMISED = (pl.lit(None, pl.String).alias("pre_atena_no"), pl.lit(None, pl.Int32).alias("source_dependant_no"))


def _unique_match(claims: pl.LazyFrame, candidates: pl.LazyFrame, on_left: list[str], on_right: list[str],
                  label: str) -> pl.LazyFrame:
    """claim_id → relative_atena_no where exactly one candidate matches."""
    joined = claims.join(candidates, left_on=on_left, right_on=on_right, how="inner")
    joined = joined.filter(pl.col("cand_atena_no") != pl.col("person_id"))
    return (joined.group_by("claim_id").agg(pl.col("cand_atena_no").unique().alias("_c"))
            .filter(pl.col("_c").list.len() == 1)
            .select("claim_id", pl.col("_c").list.first().alias(f"match_{label}")))


def _relatives(people: pl.DataFrame, basis: pl.DataFrame, other_income: pl.DataFrame,
               etax_used: pl.DataFrame, rr_used: pl.DataFrame, salary: pl.LazyFrame, dependant_income_limit: int,
               etax_relatives: pl.DataFrame,
               document_relatives: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    info_persons = basis.filter(pl.col("basis_source") == "information_returns").get_column("person_id")
    claims = pl.concat([
        _claims_from_etax(etax_used, etax_relatives), _claims_from_etax_dependants(etax_relatives),
        _claims_from_resident_returns(rr_used, document_relatives),
        _claims_from_salary_reports(salary, info_persons, document_relatives),
    ], how="vertical").with_columns(normalize_kana(pl.col("kana")).alias("_kana")).collect()
    claims = claims.sort("person_id", "_slot", "source_doc_uid").with_columns(
        pl.int_range(pl.len()).alias("claim_id"),
        pl.when(pl.col("role") == "spouse").then(pl.lit(1, pl.Int32))
        .otherwise(pl.int_range(1, pl.len() + 1).over("person_id", "role").cast(pl.Int32)).alias("seq"),
    )
    taxpayer = people.select(pl.col("atena_no").alias("person_id"), pl.col("household_no").alias("tp_household"),
                             pl.col("relationship").alias("tp_relationship"))
    claims = claims.join(taxpayer, on="person_id", how="left", validate="m:1")
    cands = people.lazy().select(
        pl.col("atena_no").alias("cand_atena_no"), pl.col("household_no").alias("cand_household"),
        pl.col("_kana").alias("cand_kana"), pl.col("birth_date").alias("cand_birth"),
        pl.col("relationship").alias("cand_relationship"))
    lc = claims.lazy()
    with_birth = lc.filter(pl.col("_kana").is_not_null() & pl.col("doc_birth_date").is_not_null())
    named = lc.filter(pl.col("_kana").is_not_null())
    m1 = _unique_match(with_birth, cands, ["tp_household", "_kana", "doc_birth_date"],
                       ["cand_household", "cand_kana", "cand_birth"], "household_kana_birth")
    m2 = _unique_match(named.filter(pl.col("doc_birth_date").is_null()), cands, ["tp_household", "_kana"],
                       ["cand_household", "cand_kana"], "household_kana")
    m3 = _unique_match(with_birth, cands, ["_kana", "doc_birth_date"], ["cand_kana", "cand_birth"],
                       "registry_kana_birth")
    # Unnamed spouse (e-Tax): the head's 妻/夫 for a head, the head for a 妻/夫. A listed e-Tax spouse
    # is resolved by My Number only (never by this guess).
    unnamed = lc.filter(pl.col("_kana").is_null() & (pl.col("role") == "spouse")
                        & pl.col("source_dependant_no").is_null()).with_columns(
        pl.when(pl.col("tp_relationship") == "世帯主").then(pl.lit("spouse_of_head"))
        .when(pl.col("tp_relationship").is_in(_SPOUSE_OF_HEAD)).then(pl.lit("head")).alias("_want"))
    cands_rel = cands.with_columns(
        pl.when(pl.col("cand_relationship") == "世帯主").then(pl.lit("head"))
        .when(pl.col("cand_relationship").is_in(_SPOUSE_OF_HEAD)).then(pl.lit("spouse_of_head")).alias("_is"))
    m4 = _unique_match(unnamed, cands_rel, ["tp_household", "_want"], ["cand_household", "_is"], "household_relationship")
    matched = claims.lazy()
    for m in (m1, m2, m3, m4):
        matched = matched.join(m, on="claim_id", how="left")
    matched = matched.with_columns(pl.col("pre_atena_no").alias("match_etax_my_number"))
    order = ("etax_my_number", "household_kana_birth", "household_kana", "household_relationship",
             "registry_kana_birth")
    matched = matched.with_columns(
        pl.coalesce([pl.col(f"match_{o}") for o in order]).alias("relative_atena_no"),
        pl.coalesce([pl.when(pl.col(f"match_{o}").is_not_null()).then(pl.lit(o)) for o in order])
        .fill_null("unresolved").alias("resolution"),
    ).with_columns(  # a number verified at ingest for a 5人目以降 entry (no e-Tax dependant row behind it)
        pl.when((pl.col("resolution") == "etax_my_number") & pl.col("source_dependant_no").is_null())
        .then(pl.lit("document_my_number")).otherwise(pl.col("resolution")).alias("resolution"),
    ).collect()

    rel_basis = basis.select(
        pl.col("person_id").alias("relative_atena_no"), pl.col("birth_date").alias("rel_birth"),
        pl.col("disability").alias("rel_disability"), pl.col("salary_revenue").alias("rel_salary"),
        pl.col("public_pension_revenue").alias("rel_pension"), pl.col("household_no").alias("rel_household"),
        pl.col("estimated_total_income").alias("rel_total_income"),
    ).join(other_income.rename({"atena_no": "relative_atena_no", "_other_income": "rel_other"}),
           on="relative_atena_no", how="left", validate="1:1").join(
        people.select(pl.col("atena_no").alias("relative_atena_no"), pl.col("relationship").alias("rel_relationship")),
        on="relative_atena_no", how="left", validate="1:1")
    out = matched.join(rel_basis, on="relative_atena_no", how="left", validate="m:1")
    resolved = pl.col("relative_atena_no").is_not_null()
    tp, rel = pl.col("tp_relationship"), pl.col("rel_relationship")
    lineal = (
        ((tp == "世帯主") & rel.is_in(_PARENTS_OF_HEAD))
        | ((tp == "子") & (rel.is_in(["世帯主", *_SPOUSE_OF_HEAD, *_PARENTS_OF_HEAD])))
    )
    out = out.with_columns(
        pl.when(resolved).then(pl.col("rel_birth")).otherwise(pl.col("doc_birth_date")).alias("birth_date"),
        pl.when(resolved).then(_disability_max(pl.col("rel_disability"), pl.col("doc_disability")))
        .otherwise(pl.col("doc_disability")).alias("disability"),
        pl.when(resolved).then(pl.col("rel_household") == pl.col("tp_household"))
        .otherwise(pl.col("doc_cohabiting")).fill_null(False).alias("cohabiting"),
        (resolved & lineal.fill_null(False)).alias("lineal_ascendant"),
        pl.when(resolved).then(pl.col("rel_salary")).otherwise(0).cast(pl.Int64).alias("salary_revenue"),
        pl.when(resolved).then(pl.col("rel_pension")).otherwise(0).cast(pl.Int64).alias("public_pension_revenue"),
        pl.when(resolved).then(pl.col("rel_other")).otherwise(pl.col("doc_other_income")).fill_null(0)
        .cast(pl.Int64).alias("other_income"),
    )
    schema = relative_schema()
    relatives = out.select(
        *[pl.col(c).cast(t) for c, t in schema.items()],
        pl.col("relative_atena_no"), pl.col("resolution"), pl.col("source_doc_uid"),
        pl.col("source_dependant_no"),  # lineage: the row of staging/etax_dependants (e-Tax only)
        pl.col("rel_total_income").alias("relative_estimated_total_income"),
    ).sort("person_id", "role", "seq")

    twice = relatives.filter(pl.col("relative_atena_no").is_not_null()).filter(
        pl.col("person_id").n_unique().over("relative_atena_no") > 1)
    over = relatives.filter((pl.col("role") == "dependant") & pl.col("relative_atena_no").is_not_null()
                            & (pl.col("relative_estimated_total_income") > dependant_income_limit))
    flags = pl.concat([
        twice.select(pl.lit("dependant_claimed_twice").alias("flag"), "person_id",
                     pl.col("relative_atena_no").alias("related"),
                     pl.lit("the same person is claimed as spouse/dependant by more than one taxpayer").alias("detail")),
        over.select(pl.lit("dependant_income_over_limit").alias("flag"), "person_id",
                    pl.col("relative_atena_no").alias("related"),
                    pl.format("estimated 合計所得金額 of the dependant exceeds the limit of {} yen",
                              pl.lit(dependant_income_limit)).alias("detail")),
    ], how="vertical")
    return relatives, flags


# --------------------------------------------------------------------------------------- lineage
def _lineage(docs, resident_ids: pl.Series, etax: pl.DataFrame, rr: pl.DataFrame, has_etax: pl.Series,
             contributions: pl.DataFrame, base: pl.DataFrame) -> pl.DataFrame:
    all_versions = pl.concat([_lineage_base(f, s) for s, f in docs.items()], how="vertical").collect()
    src = base.select(pl.col("atena_no").alias("person_id"), "basis_source",
                      *[pl.col(f"_{c}").alias(f"basis_{c}") for c in INFO_COLUMNS],
                      *[pl.col(f"_declared_{c}").alias(f"declared_{c}") for c in INFO_COLUMNS])
    chosen = pl.concat([
        etax.filter("chosen").select("doc_uid"),
        rr.filter(pl.col("chosen") & ~pl.col("atena_no").is_in(has_etax.implode())).select("doc_uid"),
    ]).get_column("doc_uid")
    # Fields supplied by each information return.
    contrib = contributions.join(src, on="person_id", how="left", validate="m:1")
    supplied = []
    for c in INFO_COLUMNS:
        gives = pl.col(c) > 0
        used = (pl.when(pl.col("basis_source") == "information_returns").then(gives)
                .when(pl.col("basis_source") == "resident_return")
                .then(gives & (pl.col(f"declared_{c}") == 0) & (c != "furusato_donations"))
                .otherwise(False))
        supplied.append(pl.when(used).then(pl.lit(c)))
    contrib = contrib.select(
        "doc_uid", "basis_source",
        pl.concat_list(supplied).list.drop_nulls().alias("fields"),
    )
    declared_fields = {
        "etax_return": [c for c in PERSON_AMOUNTS if c not in ("housing_loan_unused_income_tax_credit",
                                                               "housing_loan_taxable_income_for_income_tax",
                                                               "other_donations_municipal", "other_donations_prefectural",
                                                               "old_long_term_casualty_insurance", "medical_reimbursed")],
        "resident_return": [c for c in PERSON_AMOUNTS if c not in ("housing_loan_unused_income_tax_credit",
                                                                   "housing_loan_taxable_income_for_income_tax",
                                                                   "other_donations_municipal", "other_donations_prefectural",
                                                                   "old_long_term_casualty_insurance", "medical_reimbursed")],
    }
    lineage = all_versions.join(contrib, on="doc_uid", how="left", validate="m:1")
    status = pl.col("history_status")
    resident = pl.col("person_id").is_in(resident_ids.implode())
    is_return = pl.col("source").is_in(["etax_return", "resident_return"])
    use = (
        pl.when(status == "superseded").then(pl.lit("superseded"))
        .when(status.is_in(["cancelled", "cancellation"])).then(pl.lit("cancelled"))
        .when(~pl.col("_current") | ~resident).then(pl.lit("not_used"))
        .when(is_return).then(pl.when(pl.col("doc_uid").is_in(chosen.implode())).then(pl.lit("basis"))
                              .otherwise(pl.lit("not_used")))
        .when((pl.col("source") == "furusato_notice") & pl.col("basis_source").is_in(["etax_return", "resident_return"]))
        .then(pl.lit("voided_one_stop"))
        .when(pl.col("basis_source") == "information_returns").then(pl.lit("summed"))
        .when((pl.col("basis_source") == "resident_return") & (pl.col("fields").list.len() > 0)).then(pl.lit("added"))
        .otherwise(pl.lit("not_used"))
    )
    lineage = lineage.with_columns(use.alias("use"))
    fields = (
        pl.when(pl.col("use") == "basis").then(
            pl.when(pl.col("source") == "etax_return")
            .then(pl.lit(declared_fields["etax_return"], dtype=pl.List(pl.String)))
            .otherwise(pl.lit(declared_fields["resident_return"], dtype=pl.List(pl.String))))
        .when(pl.col("use").is_in(["summed", "added"])).then(pl.col("fields"))
        .otherwise(pl.lit([], pl.List(pl.String)))
    )
    return lineage.with_columns(fields.alias("fields")).select(
        "person_id", "doc_uid", "source", "version", "history_status", "is_current", "use", "fields", "decision_id",
    ).sort("person_id", "doc_uid", "version")


# ----------------------------------------------------------------------------------------- flags
def _flags(etax: pl.DataFrame, rr: pl.DataFrame, has_etax: pl.Series, base: pl.DataFrame, review: pl.LazyFrame,
           resident_ids: pl.Series, etax_basis: pl.DataFrame, relative_flags: pl.DataFrame,
           etax_relatives: pl.DataFrame) -> pl.DataFrame:
    unused_returns = pl.concat([
        etax.filter(~pl.col("chosen")).select("atena_no", "doc_uid", pl.lit("a second current 確定申告書").alias("detail")),
        rr.filter(~pl.col("chosen") | pl.col("atena_no").is_in(has_etax.implode())).select(
            "atena_no", "doc_uid",
            pl.when(pl.col("atena_no").is_in(has_etax.implode()))
            .then(pl.lit("a current 住民税申告書 beside a 確定申告書: the 確定申告書 is the basis"))
            .otherwise(pl.lit("a second current 住民税申告書: the latest received is the basis")).alias("detail")),
    ])
    conflicting = unused_returns.select(pl.lit("conflicting_declarations").alias("flag"),
                                        pl.col("atena_no").alias("person_id"), pl.col("doc_uid").alias("related"), "detail")
    salary_differs = base.filter(
        (pl.col("basis_source") == "resident_return") & (pl.col("salary_revenue").fill_null(0) > 0)
        & (pl.col("salary_revenue_info").fill_null(0) > 0)
        & (pl.col("salary_revenue") != pl.col("salary_revenue_info"))
    ).select(pl.lit("declared_salary_differs").alias("flag"), pl.col("atena_no").alias("person_id"),
             pl.col("basis_doc_uid").alias("related"),
             pl.lit("salary on the 住民税申告書 differs from the sum of 給与支払報告書; the declared amount is used").alias("detail"))
    in_review = review.filter(pl.col("candidate_atena_no").is_in(resident_ids.implode())).select(
        pl.lit("document_in_review").alias("flag"), pl.col("candidate_atena_no").alias("person_id"),
        pl.col("doc_uid").alias("related"),
        pl.format("a {} awaits 宛名付設 review with this person as a candidate", pl.col("source")).alias("detail"),
    ).collect()
    listed = etax_relatives.filter(pl.col("relationship") == "dependant").select("doc_uid")
    not_itemised = etax_basis.filter(pl.col("_deduction_dependants") > 0).join(listed, on="doc_uid", how="anti").select(
        pl.lit("dependants_not_itemised").alias("flag"), "person_id", pl.col("doc_uid").alias("related"),
        pl.lit("the 確定申告書 claims 扶養控除 but the e-Tax data lists no dependant; enter them").alias("detail"))
    loss = etax_basis.filter("_loss").select(
        pl.lit("loss_not_offset").alias("flag"), "person_id", pl.col("doc_uid").alias("related"),
        pl.lit("a negative 所得 on the 確定申告書 was set to 0 (損益通算 is not applied by record_merge)").alias("detail"))
    flags = pl.concat([relative_flags, conflicting, salary_differs, in_review, not_itemised, loss], how="vertical")
    return flags.unique(["flag", "person_id", "related"], keep="first").sort("flag", "person_id", "related",
                                                                            nulls_last=True)


def _non_filers(people: pl.DataFrame, basis: pl.DataFrame, relatives: pl.DataFrame,
                review: pl.LazyFrame) -> pl.DataFrame:
    """未申告調査: residents on 1 January without any current document. Claimed relatives stay in the
    list with ``claimed_as_relative`` so the operator can close them quickly."""
    claimed = relatives.filter(pl.col("relative_atena_no").is_not_null()).group_by("relative_atena_no").agg(
        pl.col("person_id").min().alias("claimed_by"))
    reviewing = review.select(pl.col("candidate_atena_no").alias("atena_no")).drop_nulls().unique().collect()
    return (
        basis.filter(~pl.col("has_documents"))
        .select("atena_no", "household_no", "birth_date")
        .join(people.select("atena_no", pl.col("age_on_assessment_date").cast(pl.Int16)), on="atena_no", how="left",
              validate="1:1")
        .join(claimed, left_on="atena_no", right_on="relative_atena_no", how="left", validate="1:1")
        .with_columns(
            pl.col("claimed_by").is_not_null().alias("claimed_as_relative"),
            pl.col("atena_no").is_in(reviewing.get_column("atena_no").implode()).alias("document_in_review"),
        )
        .select("atena_no", "household_no", "birth_date", "age_on_assessment_date", "claimed_as_relative",
                "claimed_by", "document_in_review")
        .sort("atena_no")
    )
