"""The small readers of record_merge (transforms/record_merge.py) on hand-built columns: how an amount,
a flag, a text, a 障害者区分, a 居住開始年月日 and a staged row's status are read. Each is a rule a
report's field obeys (the 統一CSV leaves a field empty for 0 or "no"); a fault in one of them flows into
every basis, so each is pinned here, not only through merge_records (found by make mutate)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from transforms import record_merge as rm


def test_an_empty_amount_is_0_and_a_negative_one_is_not_taken():
    frame = pl.DataFrame({"yen": [None, 5, -3]}, schema={"yen": pl.Int64})
    assert frame.select(rm._i("yen"))["yen"].to_list() == [0, 5, -3]
    got = frame.select(rm._nn(pl.col("yen")).alias("v"))
    assert got["v"].to_list() == [0, 5, 0] and got.schema["v"] == pl.Int64


def test_a_flag_is_yes_only_for_1_and_an_empty_or_absent_flag_is_no():
    frame = pl.DataFrame({"f": ["1", " 1 ", "0", "", None, "2"]})
    assert frame.select(rm._flag("f"))["f"].to_list() == [True, True, False, False, False, False]


def test_an_empty_text_is_null_and_a_one_character_text_is_kept():
    frame = pl.DataFrame({"t": ["", "  ", "a", " 港 ", None]})
    assert frame.select(rm._text("t").alias("t"))["t"].to_list() == [None, None, "a", "港", None]


@pytest.mark.parametrize(("a", "b", "graver"), [
    ("none", "ordinary", "ordinary"), ("ordinary", "none", "ordinary"), ("ordinary", "special", "special"),
    ("special", "ordinary", "special"), ("none", "none", "none"), ("special", "special", "special"),
])
def test_the_graver_disability_wins(a, b, graver):
    frame = pl.DataFrame({"a": [a], "b": [b]})
    assert frame.select(rm._disability_max(pl.col("a"), pl.col("b")).alias("d"))["d"].item() == graver


def test_an_unknown_disability_code_stops_the_merge_instead_of_counting_as_none():
    frame = pl.DataFrame({"a": ["grave"], "b": ["none"]})
    with pytest.raises(pl.exceptions.InvalidOperationError):
        frame.select(rm._disability_max(pl.col("a"), pl.col("b")))


def test_only_auto_matched_staged_rows_and_operator_matches_with_an_atena_no_are_used():
    frame = pl.LazyFrame({
        "doc_uid": ["a", "b", "c", "d", "e"],
        "route": ["stage", "review", "stage", "review", "stage"],
        "match_decision": ["auto", "auto", "review", rm.OPERATOR_MATCH, "auto"],
        "atena_no": ["1", "2", "3", "4", None],
    })
    assert rm.usable(frame).collect()["doc_uid"].to_list() == ["a", "d"]


def test_a_version_counts_when_it_is_current_or_an_orphan_correction():
    frame = pl.DataFrame({
        "is_current": [True, True, None, False, True],
        "history_status": ["current", "orphan_correction", "current", "current", "superseded"],
    })
    assert frame.select(rm.is_current().alias("c"))["c"].to_list() == [True, True, False, False, False]


@pytest.mark.parametrize(("year", "month", "day", "expected"), [
    # 令和7年分 (income year 2025): years up to 7 are 令和, larger ones 平成
    ("7", "3", "1", date(2025, 3, 1)), ("1", "12", "31", date(2019, 12, 31)),
    ("8", "1", "1", date(1996, 1, 1)),  # 平成8年
    ("30", "4", "15", date(2018, 4, 15)),  # 平成30年
    ("", "", "", None), ("0", "1", "1", None), ("ab", "1", "1", None),  # absent or not a year
    ("5", "2", "30", None),  # not a real date
])
def test_the_move_in_date_of_a_salary_report(year, month, day, expected):
    frame = pl.DataFrame({"y": [year], "m": [month], "d": [day]})
    got = frame.select(rm.housing_move_in_date(pl.col("y"), pl.col("m"), pl.col("d"), 2025).alias("on"))
    assert got["on"].item() == expected


def test_the_lineage_of_a_source_without_versions_or_decisions():
    """A source whose rows carry no ``version`` (one version only) or ``review_decision_id`` gives version 1
    and no decision; a null is_current is false."""
    frame = pl.LazyFrame({
        "doc_uid": ["a"], "route": ["stage"], "match_decision": ["auto"], "atena_no": ["1"],
        "history_status": ["current"], "is_current": [None], "received_on": [date(2026, 2, 3)],
    }, schema_overrides={"is_current": pl.Boolean})
    row = rm._lineage_base(frame, "furusato_notice").collect().row(0, named=True)
    assert row == {"person_id": "1", "source": "furusato_notice", "doc_uid": "a", "version": 1,
                   "history_status": "current", "is_current": False, "received_on": date(2026, 2, 3),
                   "_current": False, "decision_id": None}
    with_both = frame.with_columns(pl.lit(3, pl.Int32).alias("version"), pl.lit("D1").alias("review_decision_id"))
    row = rm._lineage_base(with_both, "furusato_notice").collect().row(0, named=True)
    assert (row["version"], row["decision_id"]) == (3, "D1")


# ------------------------------------------------------------------ what a 確定申告書 states (e-Tax)
ETAX_ZERO = {name: 0 for name in (
    "revenue_salary", "revenue_pension", "income_business", "income_real_estate", "income_dividend",
    "income_misc_other", "income_transfer_occasional", "deduction_social_insurance", "deduction_small_enterprise",
    "premium_new_life", "premium_old_life", "premium_new_pension", "premium_old_pension", "premium_care_medical",
    "premium_earthquake", "resident_tax_furusato", "income_total", "deduction_medical", "deduction_dependants")}


def etax_basis(**fields) -> dict:
    from transforms.tax_rules import load_rules

    row = {"doc_uid": "e1", "atena_no": "1", "widow": None, "single_parent": None, "working_student": None,
           "self_disability": None, **ETAX_ZERO, **fields}
    frame = pl.DataFrame([row], schema_overrides={"widow": pl.Boolean, "single_parent": pl.Boolean,
                                                  "working_student": pl.Boolean, "self_disability": pl.String})
    return rm._etax_basis(frame.lazy(), load_rules(2026)).collect().row(0, named=True)


@pytest.mark.parametrize(("deduction", "income_total", "paid"), [
    # 医療費控除 = 支払 − 補填 − min(10万円, 総所得金額等 × 5%) (所得税法第73条第1項): the basis holds the
    # payment net of reimbursement, so that the engine's formula gives the return's deduction back
    (150_000, 3_000_000, 250_000),   # min(100,000, 150,000) = 100,000
    (20_000, 1_000_000, 70_000),     # min(100,000, 50,000) = 50,000
    (1, 1_000_000, 50_001),
    (0, 1_000_000, 0),               # no deduction claimed: nothing paid is known
])
def test_the_medical_expenses_behind_the_deduction_of_a_return(deduction, income_total, paid):
    assert etax_basis(deduction_medical=deduction, income_total=income_total)["medical_expenses"] == paid


def test_an_absent_status_on_a_return_is_no_and_the_disability_code_is_read():
    row = etax_basis()
    assert (row["widow"], row["single_parent"], row["working_student"]) == (False, False, False)
    assert row["declared_disability"] == "none"
    assert etax_basis(self_disability="1")["declared_disability"] == "ordinary"
    assert etax_basis(self_disability="2")["declared_disability"] == "special"
    row = etax_basis(widow=True, single_parent=True, working_student=True)
    assert (row["widow"], row["single_parent"], row["working_student"]) == (True, True, True)


RESIDENT_RETURN_FIELDS = {
    # 住民税申告書 field → taxation-basis column (each a different amount, so a swap shows)
    "salary_revenue_yen": "salary_revenue", "pension_revenue_yen": "public_pension_revenue",
    "business_income_yen": "business_income", "real_estate_income_yen": "real_estate_income",
    "dividend_income_yen": "dividend_income", "misc_income_yen": "misc_income",
    "occasional_income_yen": "occasional_income", "social_insurance_yen": "social_insurance",
    "small_enterprise_mutual_aid_yen": "small_enterprise_mutual_aid",
    "life_insurance_new_general_yen": "life_new_general", "life_insurance_old_general_yen": "life_old_general",
    "life_insurance_new_pension_yen": "life_new_pension", "life_insurance_old_pension_yen": "life_old_pension",
    "life_insurance_care_medical_yen": "life_care_medical", "earthquake_insurance_yen": "earthquake_insurance",
    "medical_expenses_yen": "medical_expenses", "donation_furusato_yen": "furusato_donations",
    "total_income_yen": "estimated_total_income",
}


def test_every_amount_of_a_resident_return_goes_to_its_own_basis_column():
    row = {field: 1_000 * (i + 1) for i, field in enumerate(RESIDENT_RETURN_FIELDS)}
    row.update(doc_uid="r1", atena_no="7", widow="1", single_parent="", working_student=None, self_disability=" 2 ")
    frame = pl.DataFrame([row], schema_overrides={"working_student": pl.String})
    got = rm._resident_return_basis(frame.lazy()).collect().row(0, named=True)
    for field, column in RESIDENT_RETURN_FIELDS.items():
        assert got[column] == row[field], (field, column)
    assert (got["person_id"], got["widow"], got["single_parent"], got["working_student"]) == ("7", True, False, False)
    assert got["declared_disability"] == "special"
    # a negative or empty amount is 0 (a 住民税申告書 carries no 損失)
    frame = frame.with_columns(pl.lit(-5, pl.Int64).alias("business_income_yen"),
                               pl.lit(None, pl.Int64).alias("misc_income_yen"))
    got = rm._resident_return_basis(frame.lazy()).collect().row(0, named=True)
    assert (got["business_income"], got["misc_income"]) == (0, 0)


ETAX_FIELDS = {
    "revenue_salary": "salary_revenue", "revenue_pension": "public_pension_revenue",
    "income_business": "business_income", "income_real_estate": "real_estate_income",
    "income_dividend": "dividend_income", "income_misc_other": "misc_income",
    "deduction_social_insurance": "social_insurance", "deduction_small_enterprise": "small_enterprise_mutual_aid",
    "premium_new_life": "life_new_general", "premium_old_life": "life_old_general",
    "premium_new_pension": "life_new_pension", "premium_old_pension": "life_old_pension",
    "premium_care_medical": "life_care_medical", "premium_earthquake": "earthquake_insurance",
    "resident_tax_furusato": "furusato_donations", "income_total": "estimated_total_income",
}


def test_every_amount_of_a_return_goes_to_its_own_basis_column():
    """確定申告書 (e-Tax) items → basis; 総合譲渡・一時 is stated after halving (所得税法第22条第2項第2号), the
    basis holds 一時所得 before it: × 2."""
    fields = {field: 1_000 * (i + 1) for i, field in enumerate(ETAX_FIELDS)}
    got = etax_basis(**fields, income_transfer_occasional=2_500)
    for field, column in ETAX_FIELDS.items():
        assert got[column] == fields[field], (field, column)
    assert got["occasional_income"] == 5_000 and got["person_id"] == "1"
    assert etax_basis(income_business=-300_000)["business_income"] == 0
    assert etax_basis(income_business=-300_000)["_loss"] is True and etax_basis()["_loss"] is False


def test_a_pension_report_supplies_its_payments_social_insurance_and_status():
    """公的年金等支払報告書: 支払金額 of 所得税法第203条の3 第1号〜第3号 summed; 社会保険料; 寡婦 (寡婦 or 特別寡婦),
    ひとり親 and 障害者 of the recipient; nothing else (every other basis amount 0)."""
    row = {"doc_uid": "p1", "atena_no": "9", "art203_3_1_payment_yen": 1_000_000, "art203_3_2_payment_yen": 200_000,
           "art203_3_3_payment_yen": None, "social_insurance_yen": 70_000, "self_widow": "", "self_special_widow": "1",
           "single_parent": "1", "self_special_disabled": "", "self_other_disabled": "1"}
    got = rm._pension_contributions(pl.DataFrame([row]).lazy()).collect().row(0, named=True)
    assert (got["person_id"], got["source"], got["is_primary"]) == ("9", "pension_report", False)
    assert (got["public_pension_revenue"], got["social_insurance"], got["salary_revenue"]) == (1_200_000, 70_000, 0)
    assert all(got[c] == 0 for c in rm.INFO_COLUMNS[3:]), got
    assert (got["widow"], got["single_parent"], got["working_student"]) == (True, True, False)
    assert got["declared_disability"] == "ordinary" and got["housing_moved_in"] is None
    row.update(self_special_widow="", self_special_disabled="1", single_parent="")
    got = rm._pension_contributions(pl.DataFrame([row]).lazy()).collect().row(0, named=True)
    assert (got["widow"], got["single_parent"], got["declared_disability"]) == (False, False, "special")


def test_a_one_stop_notice_supplies_only_its_donation():
    row = {"doc_uid": "f1", "atena_no": "9", "donation_amount_yen": 30_000}
    got = rm._furusato_contributions(pl.DataFrame([row]).lazy()).collect().row(0, named=True)
    assert (got["person_id"], got["source"], got["furusato_donations"]) == ("9", "furusato_notice", 30_000)
    assert all(got[c] == 0 for c in rm.INFO_COLUMNS[:-1]) and got["declared_disability"] == "none"
    assert (got["widow"], got["single_parent"], got["working_student"], got["is_primary"]) == (False,) * 4


SALARY_ROW = {
    "doc_uid": "s1", "atena_no": "5", "payment_amount_yen": 1_000_000, "salary_income_yen": 0,
    "total_income_deductions_yen": 0, "social_insurance_yen": 0, "small_enterprise_mutual_aid_yen": 0,
    "new_life_premium_yen": 0, "old_life_premium_yen": 0, "care_medical_premium_yen": 0,
    "new_private_pension_premium_yen": 0, "old_private_pension_premium_yen": 0,
    "earthquake_insurance_deduction_yen": 0, "old_long_term_casualty_premium_yen": 0,
    "housing_loan_credit_possible_yen": 0, "housing_loan_credit_yen": 0, "housing_move_in_year_1": "",
    "housing_move_in_month_1": "", "housing_move_in_day_1": "", "otsu_column": None, "widow": "",
    "single_parent": "", "working_student": "", "self_special_disabled": "", "self_other_disabled": "",
}


def salary_rows(*rows: dict, income_year: int = 2025) -> list[dict]:
    frame = pl.DataFrame([{**SALARY_ROW, **r} for r in rows], schema_overrides={"otsu_column": pl.String})
    return rm._salary_contributions(frame.lazy(), income_year).collect().sort("doc_uid").to_dicts()


def test_a_salary_report_without_a_loan_or_status_supplies_zeros_and_none():
    (got,) = salary_rows({})
    assert got["is_primary"] is True and got["salary_revenue"] == 1_000_000
    for column in ("public_pension_revenue", "housing_loan_unused_income_tax_credit",
                   "housing_loan_taxable_income_for_income_tax", "furusato_donations"):
        assert got[column] == 0, column
    assert got["declared_disability"] == "none" and got["housing_moved_in"] is None


@pytest.mark.parametrize(("income_year", "reported", "estimate"), [
    # a report without 年末調整 states no 給与所得: the estimate is 別表第五 of the revenue's 年度
    (2025, 0, 1_000_000 - 650_000),   # 令和7年分: 最低保障 65万
    (2026, 0, 1_000_000 - 740_000),   # 令和8年分: 74万 (rules/fiscal_year_2027.yaml)
    (2025, 1, 1),                     # a stated 給与所得 is taken as it is
    (2025, 420_000, 420_000),
])
def test_the_salary_income_estimate_for_the_dependant_limit(income_year, reported, estimate):
    (got,) = salary_rows({"salary_income_yen": reported}, income_year=income_year)
    assert got["_salary_income_estimate"] == estimate


def test_an_otsu_report_is_not_the_primary_one_and_an_empty_otsu_mark_is_not_otsu():
    rows = salary_rows({"doc_uid": "a", "payment_amount_yen": 5_000_000, "otsu_column": "1"},
                       {"doc_uid": "b", "payment_amount_yen": 1_000_000, "otsu_column": None})
    assert [r["is_primary"] for r in rows] == [False, True]


def test_a_housing_loan_needs_a_possible_credit_of_at_least_1_yen():
    (got,) = salary_rows({"housing_loan_credit_possible_yen": 1, "housing_loan_credit_yen": 0,
                          "salary_income_yen": 2_000_000, "total_income_deductions_yen": 500_000})
    assert got["housing_loan_unused_income_tax_credit"] == 1
    assert got["housing_loan_taxable_income_for_income_tax"] == 1_500_000


def test_the_old_long_term_part_is_taken_out_of_the_earthquake_deduction_with_the_years_rules():
    # 所得税 地震保険料控除 stated 15,000 with a 旧長期 premium of 10,000; the 所得税 旧長期 deduction of a
    # premium up to 10,000 is the premium itself (所得税法第77条第1項第2号), so the 地震保険料 part is 5,000.
    # Both years' rule files hold the table (2026 income → 年度2027); a wrong year has no rules at all.
    for income_year in (2025, 2026):
        (got,) = salary_rows({"earthquake_insurance_deduction_yen": 15_000, "old_long_term_casualty_premium_yen": 10_000},
                             income_year=income_year)
        assert (got["earthquake_insurance"], got["old_long_term_casualty_insurance"]) == (5_000, 10_000)


def test_the_main_salary_report_is_the_one_not_in_otsu_then_the_largest_then_the_first_id():
    """主たる給与 (the report with 年末調整): not 乙欄, then the largest payment, then the smallest doc_uid."""
    frame = pl.DataFrame({
        "atena_no": ["1", "1", "1", "2", "2", "3", "3"],
        "doc_uid": ["a", "b", "c", "d", "e", "f", "g"],
        "_otsu": [True, False, False, False, False, False, False],
        "_payment": [9_000_000, 2_000_000, 3_000_000, 1_000_000, 1_000_000, 5, 4],
    })
    got = frame.select("doc_uid", rm._primary_salary().alias("p")).filter("p")["doc_uid"].to_list()
    assert got == ["c", "d", "f"]


def test_the_latest_return_is_the_one_received_last_then_the_largest_id():
    frame = pl.DataFrame({
        "atena_no": ["1", "1", "2", "2", "3", "3"],
        "doc_uid": ["a", "b", "c", "d", "e", "f"],
        "received_on": [date(2026, 3, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 3, 1), None,
                        date(1950, 1, 1)],
    })
    got = rm._pick_one(frame.lazy()).filter("chosen").collect()["doc_uid"].to_list()
    assert got == ["a", "d", "f"]  # a return with no date is older than any dated one
