"""record_merge (資料併合) on tiny frames built here: precedence, sums, 訂正/取消, one-stop voiding,
relatives, flags, non-filers, lineage; and the contracts' known-bad samples."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from contracts.record_merge import BasisLineage, MergeFlag, NonFiler
from contracts.taxation_basis import BasisRelative, TaxationBasis
from transforms.record_merge import merge_records

FY = 2026
LIMIT = 580_000  # test value of dependants.income_limit (令和7年分 58万円); the stage reads rules/

DOC_META = {"route": "stage", "match_decision": "auto", "is_current": True, "history_status": "current",
            "version": 1, "received_on": date(2026, 2, 1)}


def _frame(rows: list[dict], defaults: dict) -> pl.DataFrame:
    full = [{**defaults, **DOC_META, **r} for r in rows] if rows else []
    schema_row = {**defaults, **DOC_META, "doc_uid": "x", "atena_no": "x"}
    schema = pl.DataFrame([schema_row]).schema
    return pl.DataFrame(full, infer_schema_length=None) if full else pl.DataFrame(schema=schema)


SALARY = {
    "payment_amount_yen": 0, "salary_income_yen": 0, "total_income_deductions_yen": 0, "social_insurance_yen": 0,
    "small_enterprise_mutual_aid_yen": 0, "new_life_premium_yen": 0, "old_life_premium_yen": 0,
    "care_medical_premium_yen": 0, "new_private_pension_premium_yen": 0, "old_private_pension_premium_yen": 0,
    "earthquake_insurance_deduction_yen": 0, "old_long_term_casualty_premium_yen": 0,
    "housing_loan_credit_possible_yen": 0, "housing_loan_credit_yen": 0, "housing_move_in_year_1": "",
    "housing_move_in_month_1": "", "housing_move_in_day_1": "", "otsu_column": "", "widow": "", "single_parent": "",
    "working_student": "", "self_special_disabled": "", "self_other_disabled": "", "spouse_kana": "",
    "spouse_total_income_yen": 0,
    **{f"{p}_{k}_kana": "" for p in ("dependant", "young_dependant") for k in range(1, 5)},
}
PENSION = {"art203_3_1_payment_yen": 0, "art203_3_2_payment_yen": 0, "art203_3_3_payment_yen": 0,
           "social_insurance_yen": 0, "self_widow": "", "self_special_widow": "", "single_parent": "",
           "self_special_disabled": "", "self_other_disabled": ""}
ETAX = {c: 0 for c in (
    "revenue_salary", "revenue_pension", "income_business", "income_real_estate", "income_dividend", "income_misc_other",
    "income_transfer_occasional", "income_total", "deduction_medical", "deduction_social_insurance",
    "deduction_small_enterprise", "premium_new_life", "premium_old_life", "premium_new_pension", "premium_old_pension",
    "premium_care_medical", "premium_earthquake", "resident_tax_furusato", "deduction_spouse", "spouse_total_income",
    "deduction_dependants")}
ETAX.update({"self_disability": 0, "widow": False, "single_parent": False, "working_student": False})
RR = {c: 0 for c in (
    "salary_revenue_yen", "pension_revenue_yen", "business_income_yen", "real_estate_income_yen", "dividend_income_yen",
    "misc_income_yen", "occasional_income_yen", "social_insurance_yen", "small_enterprise_mutual_aid_yen",
    "life_insurance_new_general_yen", "life_insurance_old_general_yen", "life_insurance_new_pension_yen",
    "life_insurance_old_pension_yen", "life_insurance_care_medical_yen", "earthquake_insurance_yen",
    "medical_expenses_yen", "donation_furusato_yen", "total_income_yen", "spouse_total_income_yen")}
RR.update({"widow": "", "single_parent": "", "working_student": "", "self_disability": "0", "spouse_kana": "",
           "spouse_birth_on": None})
for _k in range(1, 5):
    RR.update({f"dependant_{_k}_kana": "", f"dependant_{_k}_birth_on": None, f"dependant_{_k}_cohabiting": "",
               f"dependant_{_k}_disability": ""})
FURUSATO = {"donation_amount_yen": 0}


def _residents(rows: list[dict]) -> pl.DataFrame:
    base = {"relationship": "世帯主", "name_kana": "テスト", "birth_date": date(1980, 1, 1), "sex": 1,
            "age_on_assessment_date": 46, "resident_on_assessment_date": True}
    return pl.DataFrame([{**base, **r} for r in rows], schema_overrides={"sex": pl.Int8, "age_on_assessment_date": pl.Int16})


def _merge(residents, *, salary=(), pension=(), etax=(), rr=(), furusato=(), review=None, disability=None,
           welfare=None, etax_dependants=None, document_relatives=None):
    typed = lambda rows, defaults: _frame(list(rows), defaults)  # noqa: E731
    rr_frame = typed(rr, RR).with_columns(
        pl.col("spouse_birth_on").cast(pl.Date), *[pl.col(f"dependant_{k}_birth_on").cast(pl.Date) for k in range(1, 5)])
    return merge_records(
        fiscal_year=FY,
        residents=_residents(residents),
        disability_status=disability if disability is not None else pl.DataFrame(
            schema={"atena_no": pl.String, "special_disability": pl.Boolean}),
        welfare_status=welfare if welfare is not None else pl.DataFrame(
            schema={"atena_no": pl.String, "assisted_on_assessment_date": pl.Boolean}),
        salary_reports=typed(salary, SALARY), pension_reports=typed(pension, PENSION), etax_returns=typed(etax, ETAX),
        resident_returns=rr_frame, furusato_notices=typed(furusato, FURUSATO),
        review_queue=review if review is not None else pl.DataFrame(
            schema={"doc_uid": pl.String, "source": pl.String, "candidate_atena_no": pl.String}),
        dependant_income_limit=LIMIT,
        etax_dependants=None if etax_dependants is None else _etax_dependants(etax_dependants),
        document_relatives=None if document_relatives is None else _document_relatives(document_relatives),
    )


def _document_relatives(rows: list[dict]) -> pl.DataFrame:
    """staging/document_relatives rows (contract columns; unspecified ones at a neutral value)."""
    from contracts.returns_ingest import DOCUMENT_RELATIVE_COLUMNS

    base = {"source": "salary_report", "field": "dependants_5th_plus", "under16": False, "name_kanji": "山田　某",
            "relative_atena_no": None, "relative_match_rule": "my_number_unknown", "relative_match_evidence": []}
    return pl.DataFrame([{**base, "slot": 4 + r["entry_no"], **r} for r in rows], schema=DOCUMENT_RELATIVE_COLUMNS)


def _etax_dependants(rows: list[dict]) -> pl.DataFrame:
    """staging/etax_dependants rows (contract columns; unspecified ones at a neutral value)."""
    base = {"relationship": "dependant", "name_kanji": "山田　某", "birth_date": None, "cohabiting": True,
            "disability": 0, "total_income": 0, "gaiji_flag": False, "relative_atena_no": None,
            "relative_match_rule": "my_number_unknown", "relative_match_evidence": []}
    schema = {"doc_uid": pl.String, "dependant_no": pl.Int32, "relationship": pl.String, "name_kanji": pl.String,
              "birth_date": pl.Date, "cohabiting": pl.Boolean, "disability": pl.Int8, "total_income": pl.Int64,
              "gaiji_flag": pl.Boolean, "relative_atena_no": pl.String, "relative_match_rule": pl.String,
              "relative_match_evidence": pl.List(pl.String)}
    return pl.DataFrame([{**base, **r} for r in rows], schema=schema)


def _row(frame: pl.DataFrame, person: str) -> dict:
    rows = frame.filter(pl.col("person_id") == person).to_dicts()
    assert len(rows) == 1
    return rows[0]


def _use(result, doc_uid: str, version: int = 1) -> str:
    return result.lineage.filter((pl.col("doc_uid") == doc_uid) & (pl.col("version") == version)).get_column("use").item()


def _valid(result) -> None:
    TaxationBasis.validate(result.basis, lazy=True)
    BasisRelative.validate(result.relatives, lazy=True)
    BasisLineage.validate(result.lineage, lazy=True)
    MergeFlag.validate(result.flags, lazy=True)
    NonFiler.validate(result.non_filers, lazy=True)


# ------------------------------------------------------------------------------------- precedence
def test_information_returns_are_summed_over_all_payers():
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}],
        salary=[{"doc_uid": "s1", "atena_no": "A", "payment_amount_yen": 3_000_000, "social_insurance_yen": 450_000,
                 "small_enterprise_mutual_aid_yen": 50_000, "new_life_premium_yen": 80_000},
                {"doc_uid": "s2", "atena_no": "A", "payment_amount_yen": 400_000, "otsu_column": "1",
                 "social_insurance_yen": 20_000}],
        pension=[{"doc_uid": "p1", "atena_no": "A", "art203_3_1_payment_yen": 700_000, "social_insurance_yen": 30_000},
                 {"doc_uid": "p2", "atena_no": "A", "art203_3_1_payment_yen": 100_000}],
        furusato=[{"doc_uid": "f1", "atena_no": "A", "donation_amount_yen": 30_000},
                  {"doc_uid": "f2", "atena_no": "A", "donation_amount_yen": 12_000}],
    )
    row = _row(result.basis, "A")
    assert row["basis_source"] == "information_returns"
    assert row["salary_revenue"] == 3_400_000
    assert row["public_pension_revenue"] == 800_000
    # 社会保険料等 includes 小規模企業共済等掛金 (内書): 450,000 − 50,000 + 20,000 + 30,000
    assert row["social_insurance"] == 450_000
    assert row["small_enterprise_mutual_aid"] == 50_000
    assert row["life_new_general"] == 80_000
    assert row["furusato_donations"] == 42_000 and row["one_stop"] is True
    assert row["salary_payers"] == 2 and row["primary_salary_doc_uid"] == "s1"
    assert {_use(result, d) for d in ("s1", "s2", "p1", "p2", "f1", "f2")} == {"summed"}
    _valid(result)


def test_etax_return_is_the_basis_and_voids_one_stop_notices():
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}],
        salary=[{"doc_uid": "s1", "atena_no": "A", "payment_amount_yen": 9_999_000}],
        etax=[{"doc_uid": "e1", "atena_no": "A", "revenue_salary": 5_000_000, "income_business": 1_200_000,
               "income_transfer_occasional": 250_000, "income_total": 4_000_000, "deduction_medical": 30_000,
               "premium_earthquake": 40_000, "resident_tax_furusato": 50_000, "premium_old_pension": 90_000}],
        furusato=[{"doc_uid": "f1", "atena_no": "A", "donation_amount_yen": 50_000}],
    )
    row = _row(result.basis, "A")
    assert row["basis_source"] == "etax_return" and row["basis_doc_uid"] == "e1"
    assert row["salary_revenue"] == 5_000_000  # the return, not the report
    assert row["business_income"] == 1_200_000
    assert row["occasional_income"] == 500_000  # ABB00400 is half of 一時所得
    # 医療費控除 30,000 + min(100,000, 4,000,000 × 5% = 200,000)
    assert row["medical_expenses"] == 130_000
    assert row["earthquake_insurance"] == 40_000 and row["life_old_pension"] == 90_000
    assert row["furusato_donations"] == 50_000 and row["one_stop"] is False
    assert _use(result, "e1") == "basis"
    assert _use(result, "f1") == "voided_one_stop"
    assert _use(result, "s1") == "not_used"
    _valid(result)


def test_resident_return_wins_and_reports_fill_what_it_leaves_at_zero():
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}, {"atena_no": "B", "household_no": "H2"}],
        salary=[{"doc_uid": "sA", "atena_no": "A", "payment_amount_yen": 2_000_000, "social_insurance_yen": 300_000},
                {"doc_uid": "sB", "atena_no": "B", "payment_amount_yen": 1_500_000}],
        rr=[{"doc_uid": "rA", "atena_no": "A", "business_income_yen": 800_000, "total_income_yen": 800_000},
            {"doc_uid": "rB", "atena_no": "B", "salary_revenue_yen": 1_600_000, "donation_furusato_yen": 10_000}],
        furusato=[{"doc_uid": "fB", "atena_no": "B", "donation_amount_yen": 10_000}],
    )
    a, b = _row(result.basis, "A"), _row(result.basis, "B")
    assert a["basis_source"] == "resident_return"
    assert a["business_income"] == 800_000 and a["salary_revenue"] == 2_000_000 and a["social_insurance"] == 300_000
    assert _use(result, "sA") == "added"
    assert set(result.lineage.filter(pl.col("doc_uid") == "sA").get_column("fields").item()) == {
        "salary_revenue", "social_insurance"}
    assert b["salary_revenue"] == 1_600_000  # declared salary wins …
    assert _use(result, "sB") == "not_used"
    flags = result.flags.filter(pl.col("person_id") == "B")
    assert flags.get_column("flag").to_list() == ["declared_salary_differs"]  # … and the operator is told
    assert _use(result, "fB") == "voided_one_stop" and b["one_stop"] is False and b["furusato_donations"] == 10_000
    _valid(result)


def test_etax_beside_resident_return_is_a_conflict():
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}],
        etax=[{"doc_uid": "e1", "atena_no": "A", "revenue_salary": 1_000_000}],
        rr=[{"doc_uid": "r1", "atena_no": "A", "salary_revenue_yen": 2_000_000}],
    )
    assert _row(result.basis, "A")["salary_revenue"] == 1_000_000
    assert _use(result, "r1") == "not_used"
    assert result.flags.select("flag", "person_id", "related").rows() == [("conflicting_declarations", "A", "r1")]


# ------------------------------------------------------------------------------ 訂正 and 取消
def test_only_current_versions_count():
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}],
        salary=[
            {"doc_uid": "s1", "atena_no": "A", "payment_amount_yen": 1_000_000, "version": 1, "is_current": False,
             "history_status": "superseded"},
            {"doc_uid": "s1", "atena_no": "A", "payment_amount_yen": 1_200_000, "version": 2},
            {"doc_uid": "s2", "atena_no": "A", "payment_amount_yen": 500_000, "version": 1, "is_current": False,
             "history_status": "cancelled"},
            {"doc_uid": "s2", "atena_no": "A", "payment_amount_yen": 0, "version": 2, "is_current": False,
             "history_status": "cancellation"},
        ],
    )
    assert _row(result.basis, "A")["salary_revenue"] == 1_200_000
    assert _use(result, "s1", 1) == "superseded" and _use(result, "s1", 2) == "summed"
    assert _use(result, "s2", 1) == "cancelled" and _use(result, "s2", 2) == "cancelled"
    assert result.lineage.height == 4  # every version appears once
    _valid(result)


def test_an_orphan_correction_is_merged_and_flagged():
    """A 訂正 (提出区分 2) whose original was quarantined is the only version of its document: its salary
    counts (no document is lost) and the operator is asked to check it; an orphan 取消 removes nothing."""
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}],
        salary=[
            {"doc_uid": "s1", "atena_no": "A", "payment_amount_yen": 3_000_000, "history_status": "orphan_correction"},
            {"doc_uid": "s2", "atena_no": "A", "payment_amount_yen": 0, "is_current": False,
             "history_status": "orphan_correction"},  # an orphan 取消: never current
        ],
    )
    assert _row(result.basis, "A")["salary_revenue"] == 3_000_000
    assert _use(result, "s1") == "summed" and _use(result, "s2") != "summed"
    assert result.flags.filter(pl.col("flag") == "orphan_correction_merged").select("person_id", "related").rows() == [
        ("A", "s1")]
    _valid(result)


def test_documents_in_review_or_of_non_residents_are_not_merged():
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"},
         {"atena_no": "D", "household_no": "H9", "resident_on_assessment_date": False}],
        salary=[{"doc_uid": "s1", "atena_no": "A", "payment_amount_yen": 1_000_000, "route": "review",
                 "match_decision": "review"},
                {"doc_uid": "s2", "atena_no": "D", "payment_amount_yen": 2_000_000}],
        review=pl.DataFrame({"doc_uid": ["s1"], "source": ["salary_report"], "candidate_atena_no": ["A"]}),
    )
    assert result.basis.get_column("person_id").to_list() == ["A"]
    assert _row(result.basis, "A")["salary_revenue"] == 0
    assert result.lineage.get_column("doc_uid").to_list() == ["s2"] and _use(result, "s2") == "not_used"
    assert result.flags.select("flag", "person_id", "related").rows() == [("document_in_review", "A", "s1")]
    assert result.non_filers.get_column("document_in_review").to_list() == [True]


# ------------------------------------------------------------------------- attributes, no documents
def test_person_without_documents_gets_a_zero_basis_and_is_a_non_filer():
    result = _merge(
        [{"atena_no": "A", "household_no": "H1", "sex": 2, "birth_date": date(1990, 5, 6), "age_on_assessment_date": 35}],
        disability=pl.DataFrame({"atena_no": ["A"], "special_disability": [True]}),
        welfare=pl.DataFrame({"atena_no": ["A"], "assisted_on_assessment_date": [True]}),
    )
    row = _row(result.basis, "A")
    assert row["basis_source"] == "none" and row["has_documents"] is False
    assert row["sex"] == "female" and row["birth_date"] == date(1990, 5, 6)
    assert row["disability"] == "special" and row["livelihood_assistance"] is True
    assert all(row[c] == 0 for c in ("salary_revenue", "public_pension_revenue", "furusato_donations", "misc_income"))
    assert result.non_filers.rows() == [("A", "H1", date(1990, 5, 6), 35, False, None, False)]
    _valid(result)


def test_declared_disability_raises_the_registry_status():
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}, {"atena_no": "B", "household_no": "H2"}],
        rr=[{"doc_uid": "rA", "atena_no": "A", "self_disability": "1", "widow": "1"},
            {"doc_uid": "rB", "atena_no": "B", "self_disability": "0"}],
        disability=pl.DataFrame({"atena_no": ["B"], "special_disability": [True]}),
    )
    assert _row(result.basis, "A")["disability"] == "ordinary" and _row(result.basis, "A")["widow"] is True
    assert _row(result.basis, "B")["disability"] == "special"  # a document never lowers it


# ---------------------------------------------------------------------------------- relatives
FAMILY = [
    {"atena_no": "T", "household_no": "H1", "relationship": "世帯主", "name_kana": "ヤマダ タロウ"},
    {"atena_no": "W", "household_no": "H1", "relationship": "妻", "name_kana": "ヤマダ ハナコ", "sex": 2},
    {"atena_no": "C", "household_no": "H1", "relationship": "子", "name_kana": "ヤマダ イチロウ",
     "birth_date": date(2010, 4, 1), "age_on_assessment_date": 15},
    {"atena_no": "M", "household_no": "H1", "relationship": "母", "name_kana": "ヤマダ ウメ", "birth_date": date(1945, 3, 3)},
    {"atena_no": "X", "household_no": "H7", "relationship": "世帯主", "name_kana": "スズキ ジロウ"},
]


def test_relatives_resolved_to_atena_no_with_their_own_income():
    result = _merge(
        FAMILY,
        salary=[{"doc_uid": "sT", "atena_no": "T", "payment_amount_yen": 6_000_000, "spouse_kana": "ﾔﾏﾀﾞ ﾊﾅｺ",
                 "spouse_total_income_yen": 999, "dependant_1_kana": "ﾔﾏﾀﾞ ｳﾒ", "young_dependant_1_kana": "ﾔﾏﾀﾞ ｲﾁﾛｳ",
                 "dependant_2_kana": "ﾀﾅｶ ﾐﾂﾙ"},
                {"doc_uid": "sW", "atena_no": "W", "payment_amount_yen": 1_000_000}],
        pension=[{"doc_uid": "pM", "atena_no": "M", "art203_3_1_payment_yen": 900_000}],
    )
    rel = result.relatives.sort("role", "seq")
    spouse = _row(rel.filter(pl.col("role") == "spouse"), "T")
    assert spouse["relative_atena_no"] == "W" and spouse["resolution"] == "household_kana"
    assert spouse["salary_revenue"] == 1_000_000 and spouse["other_income"] == 0  # her own basis, not the report's 999
    assert spouse["cohabiting"] is True and spouse["seq"] == 1
    deps = rel.filter(pl.col("role") == "dependant")
    assert deps.select("seq", "relative_atena_no", "resolution").rows() == [
        (1, "M", "household_kana"), (2, None, "unresolved"), (3, "C", "household_kana")]
    mother = deps.row(0, named=True)
    assert mother["public_pension_revenue"] == 900_000 and mother["lineal_ascendant"] is True
    assert mother["birth_date"] == date(1945, 3, 3)
    child = deps.row(2, named=True)
    assert child["lineal_ascendant"] is False and child["birth_date"] == date(2010, 4, 1)
    _valid(result)


def test_resident_return_dependants_outside_the_household_by_kana_and_birth():
    result = _merge(
        FAMILY,
        rr=[{"doc_uid": "rX", "atena_no": "X", "dependant_1_kana": "やまだ いちろう", "dependant_1_birth_on": date(2010, 4, 1),
             "dependant_1_cohabiting": "0", "dependant_1_disability": "1",
             "spouse_kana": "スズキ ヨシコ", "spouse_total_income_yen": 300_000}],
    )
    rel = result.relatives.filter(pl.col("person_id") == "X").sort("role")
    dep = _row(rel.filter(pl.col("role") == "dependant"), "X")
    assert dep["relative_atena_no"] == "C" and dep["resolution"] == "registry_kana_birth"
    assert dep["cohabiting"] is False and dep["disability"] == "ordinary"
    spouse = _row(rel.filter(pl.col("role") == "spouse"), "X")
    assert spouse["resolution"] == "unresolved" and spouse["other_income"] == 300_000 and spouse["cohabiting"] is True


def test_etax_spouse_found_through_the_household_relationship():
    result = _merge(FAMILY, etax=[{"doc_uid": "eT", "atena_no": "T", "deduction_spouse": 380_000,
                                   "spouse_total_income": 0, "deduction_dependants": 380_000}])
    spouse = _row(result.relatives, "T")
    assert spouse["relative_atena_no"] == "W" and spouse["resolution"] == "household_relationship"
    assert result.flags.filter(pl.col("flag") == "dependants_not_itemised").get_column("related").to_list() == ["eT"]


def test_etax_filer_gets_the_spouse_and_dependants_listed_on_the_return():
    verified = {"relative_match_rule": "my_number_verified", "relative_match_evidence": ["my_number", "birth_date"]}
    result = _merge(
        FAMILY,
        etax=[{"doc_uid": "eT", "atena_no": "T", "revenue_salary": 7_000_000, "income_total": 5_100_000,
               "deduction_spouse": 380_000, "spouse_total_income": 0, "deduction_dependants": 1_010_000}],
        salary=[{"doc_uid": "sW", "atena_no": "W", "payment_amount_yen": 800_000}],
        pension=[{"doc_uid": "pM", "atena_no": "M", "art203_3_1_payment_yen": 600_000}],
        etax_dependants=[
            # the return's own (wrong-looking) birth date loses to the registry once resolved
            {"doc_uid": "eT", "dependant_no": 1, "relationship": "spouse", "relative_atena_no": "W",
             "birth_date": date(1999, 9, 9), "total_income": 123, **verified},
            {"doc_uid": "eT", "dependant_no": 2, "relative_atena_no": "M", "birth_date": date(1945, 3, 3), **verified},
            # a parent living elsewhere: not in the vault, the return's data is used
            {"doc_uid": "eT", "dependant_no": 3, "birth_date": date(1950, 6, 1), "cohabiting": False, "disability": 2,
             "total_income": 300_000},
            # resolved at ingest to someone not resident on 1 January: no basis of their own here
            {"doc_uid": "eT", "dependant_no": 4, "relative_atena_no": "Z", "birth_date": date(2004, 1, 1),
             "total_income": 50_000, **verified},
            {"doc_uid": "eOther", "dependant_no": 1, "relative_atena_no": "C", **verified},  # not T's return
        ],
    )
    _valid(result)
    rel = result.relatives.filter(pl.col("person_id") == "T").sort("role", "seq")
    spouse = _row(rel.filter(pl.col("role") == "spouse"), "T")  # one spouse: no unnamed duplicate
    assert (spouse["relative_atena_no"], spouse["resolution"], spouse["source_doc_uid"]) == ("W", "etax_my_number", "eT")
    assert spouse["salary_revenue"] == 800_000 and spouse["other_income"] == 0  # her basis, not the return's 123
    assert spouse["birth_date"] == date(1980, 1, 1) and spouse["cohabiting"] is True
    deps = rel.filter(pl.col("role") == "dependant")
    assert deps.select("seq", "relative_atena_no", "resolution", "source_dependant_no").rows() == [
        (1, "M", "etax_my_number", 2), (2, None, "unresolved", 3), (3, None, "unresolved", 4)]
    mother, away, moved = deps.rows(named=True)
    assert mother["public_pension_revenue"] == 600_000 and mother["lineal_ascendant"] is True
    assert (away["birth_date"], away["cohabiting"], away["disability"], away["other_income"]) == (
        date(1950, 6, 1), False, "special", 300_000)
    assert away["lineal_ascendant"] is False and away["salary_revenue"] == 0
    assert (moved["birth_date"], moved["other_income"]) == (date(2004, 1, 1), 50_000)
    assert result.flags.filter(pl.col("flag") == "dependants_not_itemised").height == 0
    assert result.counts["etax_filers_with_itemised_relatives"] == 1 and result.counts["relatives_etax_itemised"] == 4


def test_etax_dependants_come_from_the_current_return_only_and_a_claim_without_names_is_flagged():
    result = _merge(
        FAMILY,
        etax=[{"doc_uid": "eOld", "atena_no": "T", "deduction_dependants": 380_000, "received_on": date(2026, 2, 1)},
              {"doc_uid": "eNew", "atena_no": "T", "deduction_dependants": 380_000, "received_on": date(2026, 3, 1)},
              {"doc_uid": "eX", "atena_no": "X", "deduction_spouse": 380_000, "deduction_dependants": 380_000}],
        etax_dependants=[
            {"doc_uid": "eOld", "dependant_no": 1, "birth_date": date(2001, 1, 1), "total_income": 10},
            {"doc_uid": "eNew", "dependant_no": 1, "birth_date": date(2002, 2, 2), "total_income": 20},
            {"doc_uid": "eX", "dependant_no": 1, "relationship": "spouse", "birth_date": date(1981, 1, 1)},
        ],
    )
    _valid(result)
    t = result.relatives.filter(pl.col("person_id") == "T")
    assert t.select("role", "birth_date", "other_income", "source_doc_uid").rows() == [
        ("dependant", date(2002, 2, 2), 20, "eNew")]
    x = result.relatives.filter(pl.col("person_id") == "X")
    assert x.select("role", "birth_date", "resolution").rows() == [("spouse", date(1981, 1, 1), "unresolved")]
    # X claims 扶養控除 but lists only a spouse: the flag stays; T's current return lists a dependant.
    flagged = result.flags.filter(pl.col("flag") == "dependants_not_itemised")
    assert flagged.select("person_id", "related").rows() == [("X", "eX")]


def test_dependant_claimed_twice_and_over_the_income_limit():
    result = _merge(
        FAMILY,
        salary=[{"doc_uid": "sT", "atena_no": "T", "payment_amount_yen": 5_000_000, "dependant_1_kana": "ﾔﾏﾀﾞ ｳﾒ"},
                {"doc_uid": "sW", "atena_no": "W", "payment_amount_yen": 3_000_000, "dependant_1_kana": "ﾔﾏﾀﾞ ｳﾒ"},
                {"doc_uid": "sM", "atena_no": "M", "payment_amount_yen": 2_000_000, "salary_income_yen": 1_320_000}],
    )
    flags = result.flags.select("flag", "person_id", "related").sort("flag", "person_id").rows()
    assert flags == [
        ("dependant_claimed_twice", "T", "M"), ("dependant_claimed_twice", "W", "M"),
        ("dependant_income_over_limit", "T", "M"), ("dependant_income_over_limit", "W", "M"),
    ]
    non_filers = result.non_filers
    assert non_filers.filter(pl.col("atena_no") == "C").get_column("claimed_as_relative").item() is False
    _valid(result)


def test_dependant_under_the_limit_is_not_flagged_and_claimed_non_filer_is_marked():
    result = _merge(
        FAMILY,
        salary=[{"doc_uid": "sT", "atena_no": "T", "payment_amount_yen": 5_000_000, "dependant_1_kana": "ﾔﾏﾀﾞ ｳﾒ",
                 "young_dependant_1_kana": "ﾔﾏﾀﾞ ｲﾁﾛｳ"}],
        pension=[{"doc_uid": "pM", "atena_no": "M", "art203_3_1_payment_yen": 1_500_000}],  # 65+: 150万 − 110万 = 40万
    )
    assert result.flags.height == 0
    child = result.non_filers.filter(pl.col("atena_no") == "C").row(0, named=True)
    assert child["claimed_as_relative"] is True and child["claimed_by"] == "T"


# -------------------------------------------------------------------------------- known-bad samples
def test_contracts_reject_known_bad_samples():
    result = _merge(FAMILY, salary=[{"doc_uid": "sT", "atena_no": "T", "payment_amount_yen": 1}])
    _valid(result)
    from pandera.errors import SchemaError, SchemaErrors

    bad_lineage = result.lineage.with_columns(pl.lit("guessed").alias("use"))
    bad_flags = pl.concat([result.flags, pl.DataFrame(
        {"flag": ["made_up", "made_up"], "person_id": ["T", "T"], "related": [None, None], "detail": ["x", "x"]})],
        how="diagonal")
    bad_non_filers = result.non_filers.with_columns(pl.lit(True).alias("claimed_as_relative"))
    bad_basis = result.basis.with_columns(pl.lit(-1, pl.Int64).alias("salary_revenue"))
    for model, frame in ((BasisLineage, bad_lineage), (MergeFlag, bad_flags), (NonFiler, bad_non_filers),
                         (TaxationBasis, bad_basis)):
        with pytest.raises((SchemaError, SchemaErrors)):
            model.validate(frame, lazy=True)


# ------------------------------------------------------------------- issue 10 point 10: 5人目以降の扶養親族
def _six_dependants_salary() -> dict:
    return {"doc_uid": "sT", "atena_no": "T", "payment_amount_yen": 6_000_000,
            **{f"dependant_{k}_kana": f"ﾀﾆﾝ {k}" for k in range(1, 5)}}


def test_a_salary_report_with_six_dependants_gives_six():
    """Four in the 統一CSV slots, two in 5人目以降 (col 132); one of those resolved by My Number at ingest."""
    listed = [{"doc_uid": "sT", "entry_no": 1, "relative_atena_no": "C", "relative_match_rule": "my_number_verified",
               "relative_match_evidence": ["my_number", "name_kanji"]},
              {"doc_uid": "sT", "entry_no": 2}]
    result = _merge(FAMILY, salary=[_six_dependants_salary()], document_relatives=listed)
    deps = result.relatives.filter((pl.col("person_id") == "T") & (pl.col("role") == "dependant")).sort("seq")
    assert deps.height == 6 and deps.get_column("seq").to_list() == [1, 2, 3, 4, 5, 6]
    assert deps.select("seq", "relative_atena_no", "resolution").rows()[4:] == [
        (5, "C", "document_my_number"), (6, None, "unresolved")]
    assert deps.row(4, named=True)["birth_date"] == date(2010, 4, 1)  # the resolved child's registry birth date
    _valid(result)


def test_without_document_relatives_only_the_first_four_count_and_other_documents_are_ignored():
    assert _merge(FAMILY, salary=[_six_dependants_salary()]).relatives.filter(
        pl.col("role") == "dependant").height == 4
    # entries of a document the basis does not use (not the 主たる給与 / not a used return) are not claims
    listed = [{"doc_uid": "sOther", "entry_no": 1}, {"doc_uid": "sOther", "entry_no": 2}]
    result = _merge(FAMILY, salary=[_six_dependants_salary()], document_relatives=listed)
    assert result.relatives.filter(pl.col("role") == "dependant").height == 4


def test_resident_return_fifth_dependant_and_a_number_of_a_non_resident_is_not_kept():
    listed = [{"doc_uid": "rX", "source": "resident_return", "entry_no": 1, "under16": None,
               "relative_atena_no": "Z", "relative_match_rule": "my_number_verified",
               "relative_match_evidence": ["my_number", "name_kanji"]}]  # Z: not resident on 1 January
    result = _merge(FAMILY, rr=[{"doc_uid": "rX", "atena_no": "X",
                                 **{f"dependant_{k}_kana": f"ﾌﾖｳ {k}" for k in range(1, 5)}}],
                    document_relatives=listed)
    deps = result.relatives.filter((pl.col("person_id") == "X") & (pl.col("role") == "dependant")).sort("seq")
    assert deps.height == 5
    assert deps.row(4, named=True)["relative_atena_no"] is None and deps.row(4, named=True)["resolution"] == "unresolved"
    _valid(result)


def test_registry_statuses_with_missing_values():
    """A 障害者手帳 record without the 特別障害者 mark is 障害者 (ordinary); a 生活保護 record not marked as
    assisted on 1 January, or with the mark missing, gives no 生活扶助; a resident row without the 1 January
    residence mark is not a resident (nobody is assessed on a guess)."""
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}, {"atena_no": "B", "household_no": "H2"},
         {"atena_no": "C", "household_no": "H3"}, {"atena_no": "D", "household_no": "H4",
                                                   "resident_on_assessment_date": None}],
        disability=pl.DataFrame({"atena_no": ["A", "B"], "special_disability": [None, False]},
                                schema_overrides={"special_disability": pl.Boolean}),
        welfare=pl.DataFrame({"atena_no": ["A", "C"], "assisted_on_assessment_date": [None, False]},
                             schema_overrides={"assisted_on_assessment_date": pl.Boolean}),
    )
    assert _row(result.basis, "A")["disability"] == "ordinary" and _row(result.basis, "B")["disability"] == "ordinary"
    assert _row(result.basis, "C")["disability"] == "none"
    assert not any(_row(result.basis, p)["livelihood_assistance"] for p in ("A", "B", "C"))
    assert "D" not in result.basis["person_id"].to_list()


@pytest.mark.parametrize("marks", [[True, False], [False, True], [False, None]])
def test_a_person_with_two_disability_records_is_counted_once_with_the_graver(marks):
    """Two 手帳 (e.g. 精神 2級 and 身体 1級): 特別障害者 when either makes one (地方税法第314条の2第1項第6号・
    第3項), in whatever order the frame lists them (staging/disability_status holds one row a person; the
    merge does not rely on it)."""
    result = _merge([{"atena_no": "A", "household_no": "H1"}],
                    disability=pl.DataFrame({"atena_no": ["A", "A"], "special_disability": marks},
                                            schema_overrides={"special_disability": pl.Boolean}))
    assert result.basis.height == 1
    assert _row(result.basis, "A")["disability"] == ("special" if True in marks else "ordinary")


def test_the_total_income_estimate_counts_every_kind_of_income():
    """合計所得金額 estimate (for the 扶養否認 flag): 事業 + 不動産 + 配当 + 雑 + 一時 × 1/2 (所得税法第22条第2項
    第2号); a 住民税申告書 stating a smaller total is raised to it. 100,000 + 200,000 + 300,000 + 400,000 +
    1,000,000 / 2 = 1,500,000."""
    result = _merge([{"atena_no": "A", "household_no": "H1"}, {"atena_no": "B", "household_no": "H2"}],
                    rr=[{"doc_uid": "r", "atena_no": "A", "business_income_yen": 100_000,
                         "real_estate_income_yen": 200_000, "dividend_income_yen": 300_000, "misc_income_yen": 400_000,
                         "occasional_income_yen": 1_000_000, "total_income_yen": 0}])
    assert _row(result.basis, "A")["estimated_total_income"] == 1_500_000
    row = _row(result.basis, "B")  # no document at all
    assert row["estimated_total_income"] == 0
    assert all(row[f"n_{s}"] == 0 for s in ("etax_return", "resident_return", "salary_report", "pension_report",
                                           "furusato_notice"))


def test_a_salary_report_alone_is_not_a_one_stop_case_and_homes_are_specified_acquisitions():
    result = _merge([{"atena_no": "A", "household_no": "H1"}],
                    salary=[{"doc_uid": "s", "atena_no": "A", "payment_amount_yen": 3_000_000}])
    row = _row(result.basis, "A")
    assert row["one_stop"] is False and row["housing_not_specified_acquisition"] is False


def test_an_etax_filer_takes_no_move_in_date_from_a_salary_report():
    """The 確定申告書 claims the 住宅借入金等特別控除 itself; the salary report's 居住開始年月日 belongs to a
    year-end adjustment the return replaces."""
    salary = {"doc_uid": "s", "atena_no": "A", "payment_amount_yen": 5_000_000, "housing_loan_credit_possible_yen": 100_000,
              "housing_move_in_year_1": "3", "housing_move_in_month_1": "4", "housing_move_in_day_1": "1"}
    with_return = _merge([{"atena_no": "A", "household_no": "H1"}], salary=[salary],
                         etax=[{"doc_uid": "e", "atena_no": "A", "revenue_salary": 5_000_000}])
    assert _row(with_return.basis, "A")["housing_moved_in"] is None
    alone = _merge([{"atena_no": "A", "household_no": "H1"}], salary=[salary])
    assert _row(alone.basis, "A")["housing_moved_in"] == date(2021, 4, 1)


def test_a_resident_return_that_states_no_donation_voids_the_one_stop_notice():
    """A 住民税申告書 voids the 申告特例 (地方税法附則第7条, 申告特例: the special rule ends when a return is
    filed); its own 寄附金 (none here) is the basis, not the notice's."""
    result = _merge([{"atena_no": "A", "household_no": "H1"}],
                    rr=[{"doc_uid": "r", "atena_no": "A", "business_income_yen": 800_000, "total_income_yen": 800_000}],
                    furusato=[{"doc_uid": "f", "atena_no": "A", "donation_amount_yen": 30_000}])
    row = _row(result.basis, "A")
    assert (row["furusato_donations"], row["one_stop"]) == (0, False) and _use(result, "f") == "voided_one_stop"


def test_a_declared_amount_of_1_yen_is_the_declaration():
    result = _merge([{"atena_no": "A", "household_no": "H1"}],
                    salary=[{"doc_uid": "s", "atena_no": "A", "payment_amount_yen": 3_000_000}],
                    rr=[{"doc_uid": "r", "atena_no": "A", "salary_revenue_yen": 1}])
    assert _row(result.basis, "A")["salary_revenue"] == 1


def test_an_etax_filer_takes_the_statuses_of_the_return_not_of_the_salary_report():
    result = _merge([{"atena_no": "A", "household_no": "H1"}, {"atena_no": "B", "household_no": "H2"}],
                    salary=[{"doc_uid": "sA", "atena_no": "A", "payment_amount_yen": 3_000_000},
                            {"doc_uid": "sB", "atena_no": "B", "payment_amount_yen": 3_000_000, "widow": "1"}],
                    etax=[{"doc_uid": "eA", "atena_no": "A", "revenue_salary": 3_000_000, "widow": True},
                          {"doc_uid": "eB", "atena_no": "B", "revenue_salary": 3_000_000, "widow": False}])
    assert _row(result.basis, "A")["widow"] is True and _row(result.basis, "B")["widow"] is False


def test_the_counts_of_a_merge_say_what_the_run_report_shows():
    """MergeResult.counts feed the run report of the stage: rows, relatives, lineage, flags, non-filers and
    the persons by basis source, each counted here by hand."""
    result = _merge(
        [{"atena_no": "A", "household_no": "H1", "sex": 1}, {"atena_no": "B", "household_no": "H2", "sex": 2},
         {"atena_no": "C", "household_no": "H3"}],
        salary=[{"doc_uid": "sA", "atena_no": "A", "payment_amount_yen": 3_000_000, "spouse_kana": "ヤマダ ハナコ"}],
        rr=[{"doc_uid": "rB", "atena_no": "B", "business_income_yen": 1_000_000, "total_income_yen": 1_000_000}],
    )
    counts = result.counts
    assert (counts["basis_rows"], counts["lineage_rows"], counts["non_filers"]) == (3, 2, 1)
    assert (counts["relatives"], counts["relatives_resolved"]) == (1, 0)  # A's spouse named, not a resident
    assert counts["flags"] == result.flags.height
    assert (counts["basis_source_information_returns"], counts["basis_source_resident_return"],
            counts["basis_source_etax_return"], counts["basis_source_none"]) == (1, 1, 0, 1)
    assert _row(result.basis, "A")["sex"] == "male" and _row(result.basis, "B")["sex"] == "female"
    assert (_row(result.basis, "A")["salary_payers"], _row(result.basis, "C")["salary_payers"]) == (1, 0)


def test_the_total_income_estimate_of_a_filer_adds_the_pension_of_the_reports_to_the_declared_incomes():
    """A 住民税申告書 with 事業 1,000,000 and no stated total, and a 公的年金等支払報告書 of 2,000,000 for a person
    of 75 (65歳以上: 2,000,000 − 1,100,000 = 900,000): 1,900,000."""
    result = _merge([{"atena_no": "A", "household_no": "H1", "birth_date": date(1950, 6, 1)}],
                    pension=[{"doc_uid": "p", "atena_no": "A", "art203_3_1_payment_yen": 2_000_000}],
                    rr=[{"doc_uid": "r", "atena_no": "A", "business_income_yen": 1_000_000, "total_income_yen": 0}])
    assert _row(result.basis, "A")["estimated_total_income"] == 1_900_000


def test_what_a_resident_return_says_of_relatives_nobody_in_the_ward_matches():
    """Relatives not found among the residents keep what the 住民税申告書 states: the spouse (named, or only
    by an income) lives with the taxpayer; a dependant marked 別居 ("0") does not, others do; 障害者区分
    1 → 障害者; a dependant's income is not stated on the form (0)."""
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}, {"atena_no": "B", "household_no": "H2"}],
        rr=[{"doc_uid": "rA", "atena_no": "A", "business_income_yen": 3_000_000, "total_income_yen": 3_000_000,
             "spouse_kana": "ソト ハナコ", "spouse_total_income_yen": 500_000,
             "dependant_1_kana": "ソト イチロウ", "dependant_1_cohabiting": "0", "dependant_1_disability": "1",
             "dependant_2_kana": "ソト ジロウ", "dependant_2_cohabiting": "", "dependant_2_disability": ""},
            {"doc_uid": "rB", "atena_no": "B", "business_income_yen": 3_000_000, "total_income_yen": 3_000_000,
             "spouse_total_income_yen": 1}],
    )
    rows = result.relatives.filter(pl.col("person_id") == "A").sort("role", "seq").select(
        "role", "seq", "cohabiting", "disability", "other_income").rows()
    assert rows == [("dependant", 1, False, "ordinary", 0), ("dependant", 2, True, "none", 0),
                    ("spouse", 1, True, "none", 500_000)]
    assert result.relatives.filter(pl.col("person_id") == "B").select("role", "other_income").rows() == [("spouse", 1)]


def test_what_a_salary_report_says_of_relatives_nobody_in_the_ward_matches():
    """The 主たる給与 report (not 乙欄) names the spouse and dependants of an information-returns person; it
    does not say who lives together: the spouse is taken as living with the taxpayer, a dependant not."""
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}],
        salary=[{"doc_uid": "s1", "atena_no": "A", "payment_amount_yen": 4_000_000, "spouse_kana": "ソト ハナコ",
                 "spouse_total_income_yen": 300_000, "dependant_1_kana": "ソト イチロウ"},
                {"doc_uid": "s2", "atena_no": "A", "payment_amount_yen": 9_000_000, "otsu_column": "1",
                 "dependant_1_kana": "ベツ サブロウ"}],
    )
    rows = result.relatives.sort("role", "seq").select("role", "seq", "cohabiting", "disability", "other_income").rows()
    assert rows == [("dependant", 1, False, "none", 0), ("spouse", 1, True, "none", 300_000)]


def test_what_an_etax_return_says_of_relatives_nobody_in_the_ward_matches():
    """e-Tax: an itemised relative without a 区分 is a 扶養親族; one without 同居 stated lives with the
    taxpayer when a spouse, not when a dependant; the list is in the return's own order. A return claiming
    配偶者控除 of 1 yen or more without itemising the spouse still has a spouse (unnamed, living with
    the taxpayer)."""
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}, {"atena_no": "B", "household_no": "H2"}],
        etax=[{"doc_uid": "eA", "atena_no": "A", "deduction_dependants": 760_000},
              {"doc_uid": "eB", "atena_no": "B", "deduction_spouse": 1}],
        etax_dependants=[
            {"doc_uid": "eA", "dependant_no": 2, "relationship": None, "cohabiting": None, "birth_date": date(2000, 2, 2)},
            {"doc_uid": "eA", "dependant_no": 1, "relationship": "dependant", "cohabiting": True,
             "birth_date": date(2001, 1, 1)},
            {"doc_uid": "eA", "dependant_no": 3, "relationship": "spouse", "cohabiting": None,
             "birth_date": date(1980, 3, 3)},
        ],
    )
    a = result.relatives.filter(pl.col("person_id") == "A").sort("role", "seq")
    assert a.select("role", "seq", "birth_date", "cohabiting", "disability").rows() == [
        ("dependant", 1, date(2001, 1, 1), True, "none"), ("dependant", 2, date(2000, 2, 2), False, "none"),
        ("spouse", 1, date(1980, 3, 3), True, "none")]
    b = result.relatives.filter(pl.col("person_id") == "B")
    assert b.select("role", "seq", "cohabiting", "disability").rows() == [("spouse", 1, True, "none")]


# ------------------------------------------------------------------- lineage: which fields a document gave
#: The amounts of the basis a 確定申告書 or a 住民税申告書 declares (basis columns, in their order): all of
#: them but the two 住宅借入金等特別控除 figures of the 源泉徴収票 (住宅借入金等特別控除可能額 and the
#: 所得税の課税総所得金額 it is capped by come only from the salary report), the 寄附金 to the ward and to
#: 都 other than ふるさと納税 (条例指定寄附金: no field on our return layouts), the 旧長期損害保険料 (a salary
#: report field) and the 医療費を補填する金額 (netted into the declared 医療費控除).
DECLARED_BY_A_RETURN = [
    "salary_revenue", "public_pension_revenue", "business_income", "real_estate_income", "dividend_income",
    "misc_income", "occasional_income", "social_insurance", "small_enterprise_mutual_aid", "life_new_general",
    "life_old_general", "life_new_pension", "life_old_pension", "life_care_medical", "earthquake_insurance",
    "medical_expenses", "furusato_donations",
]


def _fields(result, doc_uid: str) -> list[str]:
    return result.lineage.filter(pl.col("doc_uid") == doc_uid).get_column("fields").item().to_list()


def test_the_lineage_of_a_return_that_is_the_basis_lists_every_amount_it_declares():
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}, {"atena_no": "B", "household_no": "H2"}],
        etax=[{"doc_uid": "e1", "atena_no": "A", "revenue_salary": 5_000_000, "income_total": 3_560_000}],
        rr=[{"doc_uid": "r1", "atena_no": "B", "business_income_yen": 800_000, "total_income_yen": 800_000}],
    )
    assert (_use(result, "e1"), _use(result, "r1")) == ("basis", "basis")
    assert _fields(result, "e1") == DECLARED_BY_A_RETURN
    assert _fields(result, "r1") == DECLARED_BY_A_RETURN


def test_the_lineage_of_summed_reports_lists_the_amounts_each_gave():
    """Only the amounts a report actually carries (> 0 yen, 1 yen included) are listed for it."""
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}],
        salary=[{"doc_uid": "s1", "atena_no": "A", "payment_amount_yen": 3_000_000, "social_insurance_yen": 1},
                {"doc_uid": "s2", "atena_no": "A", "payment_amount_yen": 400_000}],
        pension=[{"doc_uid": "p1", "atena_no": "A", "art203_3_1_payment_yen": 700_000}],
    )
    assert _fields(result, "s1") == ["salary_revenue", "social_insurance"]
    assert _fields(result, "s2") == ["salary_revenue"]
    assert _fields(result, "p1") == ["public_pension_revenue"]


def test_a_report_that_adds_a_single_amount_to_a_resident_return_is_added():
    """The 住民税申告書 leaves 社会保険料 at 0; the salary report gives it and nothing else the return lacks."""
    result = _merge(
        [{"atena_no": "A", "household_no": "H1"}],
        salary=[{"doc_uid": "s1", "atena_no": "A", "payment_amount_yen": 2_000_000, "social_insurance_yen": 280_000}],
        rr=[{"doc_uid": "r1", "atena_no": "A", "salary_revenue_yen": 2_000_000, "total_income_yen": 1_320_000}],
    )
    assert _use(result, "s1") == "added" and _fields(result, "s1") == ["social_insurance"]
    assert _row(result.basis, "A")["social_insurance"] == 280_000


def test_every_output_comes_sorted_by_its_key():
    """merge_records returns each frame in the order of its key, whatever order the documents came in (the
    stage writes them so; a reader of the function gets the same order)."""
    result = _merge(
        [{"atena_no": "C", "household_no": "H3"}, {"atena_no": "A", "household_no": "H1"},
         {"atena_no": "B", "household_no": "H2", "relationship": "妻", "birth_date": date(1982, 3, 3)}],
        salary=[{"doc_uid": "s9", "atena_no": "A", "payment_amount_yen": 3_000_000},
                {"doc_uid": "s1", "atena_no": "C", "payment_amount_yen": 2_000_000},
                {"doc_uid": "s5", "atena_no": "A", "payment_amount_yen": 100_000, "otsu_column": "1"}],
        etax=[{"doc_uid": "e2", "atena_no": "C", "revenue_salary": 2_000_000, "income_total": 1_320_000},
              {"doc_uid": "e1", "atena_no": "C", "revenue_salary": 2_000_000, "income_total": 1_320_000,
               "version": 1, "received_on": date(2026, 1, 15)}],
        rr=[{"doc_uid": "r7", "atena_no": "C", "salary_revenue_yen": 2_000_000},
            {"doc_uid": "r3", "atena_no": "A", "salary_revenue_yen": 3_300_000}],
    )
    assert result.flags.height >= 3
    for frame, key in ((result.basis, ["atena_no"]), (result.lineage, ["person_id", "doc_uid", "version"]),
                       (result.flags, ["flag", "person_id", "related"]), (result.non_filers, ["atena_no"])):
        assert frame.height > 1 or frame is result.non_filers
        assert frame.select(key).rows() == frame.select(key).sort(key, nulls_last=True).rows(), key


def test_each_flag_tells_the_operator_what_was_found():
    """Every flag of the merge, with the sentence the operator reads in the review list, and the bounds of
    the 申告給与 check: a declared salary and a reported one, both above 0 and different (1 yen counts)."""
    result = _merge(
        [{"atena_no": a, "household_no": f"H{a}"} for a in "ABCDEFGH"],
        salary=[{"doc_uid": "sD", "atena_no": "D", "payment_amount_yen": 2},
                {"doc_uid": "sE", "atena_no": "E", "payment_amount_yen": 1},
                {"doc_uid": "sF", "atena_no": "F", "payment_amount_yen": 1_000_000},
                {"doc_uid": "sH", "atena_no": "H", "payment_amount_yen": 1_000_000, "route": "review",
                 "match_decision": "review"}],
        etax=[{"doc_uid": "e1", "atena_no": "A", "income_total": 1_000_000, "received_on": date(2026, 3, 1)},
              {"doc_uid": "e2", "atena_no": "A", "income_total": 1_000_000, "received_on": date(2026, 2, 1)},
              {"doc_uid": "e3", "atena_no": "B", "income_total": 1_000_000, "income_business": -200_000}],
        rr=[{"doc_uid": "r3", "atena_no": "B", "business_income_yen": 100_000},
            {"doc_uid": "r4", "atena_no": "C", "business_income_yen": 100_000, "received_on": date(2026, 3, 1)},
            {"doc_uid": "r5", "atena_no": "C", "business_income_yen": 100_000, "received_on": date(2026, 2, 1)},
            {"doc_uid": "rD", "atena_no": "D", "salary_revenue_yen": 1},    # declared 1, reported 2: differs
            {"doc_uid": "rE", "atena_no": "E", "salary_revenue_yen": 2},    # declared 2, reported 1: differs
            {"doc_uid": "rF", "atena_no": "F", "business_income_yen": 1},   # no salary declared: no check
            {"doc_uid": "rG", "atena_no": "G", "salary_revenue_yen": 900_000}],  # nothing reported: no check
        review=pl.DataFrame({"doc_uid": ["sH"], "source": ["salary_report"], "candidate_atena_no": ["H"]}),
    )
    assert result.flags.select("flag", "person_id", "related", "detail").rows() == [
        ("conflicting_declarations", "A", "e2", "a second current 確定申告書"),
        ("conflicting_declarations", "B", "r3", "a current 住民税申告書 beside a 確定申告書: the 確定申告書 is the basis"),
        ("conflicting_declarations", "C", "r5", "a second current 住民税申告書: the latest received is the basis"),
        ("declared_salary_differs", "D", "rD",
         "salary on the 住民税申告書 differs from the sum of 給与支払報告書; the declared amount is used"),
        ("declared_salary_differs", "E", "rE",
         "salary on the 住民税申告書 differs from the sum of 給与支払報告書; the declared amount is used"),
        ("document_in_review", "H", "sH", "a salary_report awaits 宛名付設 review with this person as a candidate"),
        ("loss_not_offset", "B", "e3", "a negative 所得 on the 確定申告書 was set to 0 (損益通算 is not applied by record_merge)"),
    ]


def test_a_return_claiming_dependants_it_does_not_list_tells_the_operator_to_enter_them():
    result = _merge([{"atena_no": "A", "household_no": "H1"}],
                    etax=[{"doc_uid": "e1", "atena_no": "A", "income_total": 3_000_000, "deduction_dependants": 380_000}])
    assert result.flags.select("flag", "related", "detail").rows() == [
        ("dependants_not_itemised", "e1", "the 確定申告書 claims 扶養控除 but the e-Tax data lists no dependant; enter them")]
