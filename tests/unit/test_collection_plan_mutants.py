"""Rules of the collection plan (transforms/collection_plan.py), the installment frame and calendar
(transforms/installments.py) and the layout field loader (contracts/resident_snapshot._field_from) that the
mutation run of batch 4 found unchecked. Hand-built frames only; every expected amount is worked out in the
comment beside it: the 所得割 split in proportion to income, each 特別徴収 part rounded down to 100円
(地方税法第20条の4の2第3項), the rest of the 所得割 to the other-income part (docs/collection-plan.md).
Surviving mutants judged equivalent are listed in /work/notes/mutants_batch4.md.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from contracts import resident_snapshot
from transforms.collection_plan import collection_plan, first_ordinary_reason, main_salary_reports
from transforms.installments import installments_frame, is_closed, months_in_order

FY = 2026
PER_CAPITA = {"per_capita_levy_municipal": 3_000, "per_capita_levy_prefectural": 1_000, "forest_environment_tax": 1_000}
ASSESSMENT_SCHEMA = {
    "person_id": pl.String, "birth_date": pl.Date, "salary_income": pl.Int64, "public_pension_income": pl.Int64,
    "total_income": pl.Int64, "income_levy_municipal": pl.Int64, "income_levy_prefectural": pl.Int64,
    "per_capita_levy_municipal": pl.Int64, "per_capita_levy_prefectural": pl.Int64, "forest_environment_tax": pl.Int64,
    "total_tax": pl.Int64,
}
REPORT_SCHEMA = {"person_id": pl.String, "doc_uid": pl.String, "designation_no": pl.String, "otsu": pl.Boolean,
                 "payment": pl.Int64, "ordinary": pl.Boolean, "remarks": pl.String}
TARGET_SCHEMA = {"person_id": pl.String, "payer_code": pl.String, "first_year": pl.Boolean}
CHOICE_SCHEMA = {"person_id": pl.String, "other_income_collection": pl.String}
PENSIONER = date(1955, 5, 1)  # 70 on 1 April 2026


def person(pid: str, *, levy: int, salary: int | None = 0, pension: int | None = 0, other: int = 0,
           total: int | None = None, birth: date = date(1980, 6, 1), per_capita: dict | None = None) -> dict:
    capita = PER_CAPITA if per_capita is None else {**dict.fromkeys(PER_CAPITA, 0), **per_capita}
    municipal = levy * 6 // 10 // 100 * 100
    if total is None:
        total = (salary or 0) + (pension or 0) + other
    return {"person_id": pid, "birth_date": birth, "salary_income": salary, "public_pension_income": pension,
            "total_income": total, "income_levy_municipal": municipal, "income_levy_prefectural": levy - municipal,
            **capita, "total_tax": levy + sum(capita.values())}


def report(pid: str, doc: str, payer: str | None = "000012345678", *, payment: int = 3_000_000,
           otsu: bool = False, ordinary: bool | None = False, remarks: str = "") -> dict:
    return {"person_id": pid, "doc_uid": doc, "designation_no": payer, "otsu": otsu, "payment": payment,
            "ordinary": ordinary, "remarks": remarks}


def reports_frame(reports) -> pl.DataFrame:
    return pl.DataFrame(list(reports), schema=REPORT_SCHEMA)


def plan_frame(people, reports=(), targets=(), choices=()) -> pl.DataFrame:
    return collection_plan(
        pl.DataFrame(list(people), schema=ASSESSMENT_SCHEMA), reports_frame(reports),
        pl.DataFrame(list(targets), schema=TARGET_SCHEMA), pl.DataFrame(list(choices), schema=CHOICE_SCHEMA),
        fiscal_year=FY,
    )


def plan(people, reports=(), targets=(), choices=()) -> dict:
    result = plan_frame(people, reports, targets, choices)
    assert result["person_id"].is_unique().all(), "one plan row per person"
    return {row["person_id"]: row for row in result.iter_rows(named=True)}


def routes(row: dict) -> tuple[int, int, int]:
    return row["salary_amount"], row["pension_amount"], row["ordinary_amount"]


def parts(row: dict) -> tuple[int, int, int]:
    return row["salary_income_levy"], row["pension_income_levy"], row["other_income_levy"]


ON_LIST = {"person_id": "1", "payer_code": "001", "first_year": False}


# ============================================================================ the split of the 所得割
def test_the_salary_part_is_exact_integer_arithmetic_even_for_a_very_high_earner():
    """A 所得割 of 4億円 on 給与所得 2,857,143,005 and other income 1,142,857,002 (合計 4,000,000,007).
    400,000,000 × 2,857,143,005 = 1,142,857,202,000,000,000 = 4,000,000,007 × 285,714,300 − 100, so the
    salary part is 285,714,299.99… → 285,714,299 → 285,714,200 after the 100円 floor; the other part is
    400,000,000 − 285,714,200 = 114,285,800. (In floating point the quotient rounds up to 285,714,300.)"""
    row = plan([person("1", levy=400_000_000, salary=2_857_143_005, other=1_142_857_002)], [report("1", "s1")],
               choices=[{"person_id": "1", "other_income_collection": "self"}])["1"]
    assert parts(row) == (285_714_200, 0, 114_285_800)
    # 自分で納付: the salary part and the 均等割 (5,000) are withheld, the other part is ordinary
    assert routes(row) == (285_719_200, 0, 114_285_800)


def test_a_person_with_no_income_recorded_has_no_income_parts():
    """Only the 均等割 and 森林環境税 (5,000) and no income at all: the proportion has no base, every part
    of the 所得割 is 0 (not a division by zero, not a placeholder of 1 yen) and the employer withholds 5,000."""
    row = plan([person("1", levy=0)], [report("1", "s1")])["1"]
    assert parts(row) == (0, 0, 0)
    assert routes(row) == (5_000, 0, 0)


def test_a_base_of_one_yen_is_still_split_in_proportion():
    """給与所得 of 1 yen (給与収入 550,001円 less the 550,000円 minimum 給与所得控除) is the whole base: a
    hand-built 所得割 of 100 is all salary part, 100 × 1 ÷ 1 = 100."""
    row = plan([person("1", levy=100, salary=1)], [report("1", "s1")])["1"]
    assert parts(row) == (100, 0, 0)


def test_a_missing_salary_income_counts_as_none():
    """給与所得 not given (null), 年金 2,000,000 = 合計: the pension is the whole base, so the pension part is
    the whole 所得割 50,000 (a salary of 1 yen would make it 50,000 × 2,000,000 ÷ 2,000,001 → 49,900)."""
    row = plan([person("1", levy=50_000, salary=None, pension=2_000_000, birth=PENSIONER)], [], [ON_LIST])["1"]
    assert parts(row) == (0, 50_000, 0)
    assert routes(row) == (0, 55_000, 0)


def test_a_missing_pension_income_counts_as_none():
    """年金 not given (null), 給与所得 3,000,000 = 合計: the salary part is the whole 所得割 100,000."""
    row = plan([person("1", levy=100_000, salary=3_000_000, pension=None)], [report("1", "s1")])["1"]
    assert parts(row) == (100_000, 0, 0)


def test_a_loss_that_brings_the_total_below_the_salary_leaves_no_negative_other_income():
    """給与所得 3,000,000 and a 事業 loss of 500,000 (合計所得 2,500,000 after 損益通算): the other income is
    max(2,500,000 − 3,000,000, 0) = 0, so the base is 3,000,000 and the salary part is the whole 100,000."""
    row = plan([person("1", levy=100_000, salary=3_000_000, total=2_500_000)], [report("1", "s1")])["1"]
    assert parts(row) == (100_000, 0, 0)
    assert routes(row) == (105_000, 0, 0)


# ============================================================================ routes
def test_a_person_who_turns_65_on_1_april_is_withheld_from_the_pension():
    """Born 2 April 1961: 65 at the end of 1 April 2026 (年齢計算ニ関スル法律), so 65 on 1 April and on the
    insurer's list: the pension part 50,000 and the 均等割 5,000 are withheld from the pension."""
    row = plan([person("1", levy=50_000, pension=2_000_000, birth=date(1961, 4, 2))], [], [ON_LIST])["1"]
    assert routes(row) == (0, 55_000, 0) and row["pension_payer"] == "001"


def test_a_person_listed_twice_by_the_insurers_gets_one_plan_with_the_first_listing():
    row_list = [ON_LIST, {"person_id": "1", "payer_code": "002", "first_year": True}]
    rows = plan([person("1", levy=50_000, pension=2_000_000, birth=PENSIONER)], [], row_list)
    assert len(rows) == 1
    assert (rows["1"]["pension_payer"], rows["1"]["pension_first_year"]) == ("001", False)


def test_of_two_choices_on_record_the_last_is_followed_and_the_plan_has_one_row():
    """所得割 200,000 over 給与 3,000,000 and 事業 1,000,000: 150,000 salary, 50,000 other; the later
    record says 自分で納付, so the 50,000 is ordinary and the employer withholds 150,000 + 5,000."""
    choices = [{"person_id": "1", "other_income_collection": "withhold"},
               {"person_id": "1", "other_income_collection": "self"}]
    rows = plan([person("1", levy=200_000, salary=3_000_000, other=1_000_000)], [report("1", "s1")], [], choices)
    assert len(rows) == 1
    assert rows["1"]["other_income_collection"] == "self" and routes(rows["1"]) == (155_000, 0, 50_000)


def test_an_employer_left_with_nothing_to_withhold_is_not_named():
    """70, on the insurer's list, with a salary report; 給与 10,000, 年金 4,990,000, 所得割 30,000 and (hand-
    built) no 均等割: salary part 30,000 × 10,000 ÷ 5,000,000 = 60 → 0; pension part 30,000 × 4,990,000 ÷
    5,000,000 = 29,940 → 29,900; other 100 paid by the taxpayer (自分で納付). The salary route carries 0円,
    so neither the employer nor its report is named."""
    row = plan([person("1", levy=30_000, salary=10_000, pension=4_990_000, birth=PENSIONER, per_capita={})],
               [report("1", "s1")], [ON_LIST], [{"person_id": "1", "other_income_collection": "self"}])["1"]
    assert routes(row) == (0, 29_900, 100)
    assert (row["salary_payer"], row["salary_doc_uid"], row["pension_payer"]) == (None, None, "001")


def test_an_employer_withholding_a_single_yen_is_named():
    """Hand-built 所得割 of 1 yen on salary alone, no 均等割: the salary part 1 → 0 after the 100円 floor, the
    other part 1 is withheld with the salary; any amount withheld names its withholder."""
    row = plan([person("1", levy=1, salary=3_000_000, per_capita={})], [report("1", "s1")])["1"]
    assert routes(row) == (1, 0, 0)
    assert (row["salary_payer"], row["salary_doc_uid"]) == ("000012345678", "s1")


def test_an_insurer_withholding_a_single_yen_is_named():
    """Hand-built: no 所得割, a 均等割 of 1 yen for a pensioner of 70 on the list with no salary: the
    pension route carries the 均等割 (第321条の7の2第1項), 1 yen, and names the insurer."""
    row = plan([person("1", levy=0, pension=2_000_000, birth=PENSIONER, per_capita={"per_capita_levy_municipal": 1})],
               [], [ON_LIST])["1"]
    assert routes(row) == (0, 1, 0) and row["pension_payer"] == "001"


def test_any_tax_above_zero_has_a_plan_even_one_yen():
    rows = plan([person("1", levy=1, per_capita={}), person("2", levy=0, per_capita={})])
    assert list(rows) == ["1"] and routes(rows["1"]) == (0, 0, 1)


def test_the_plan_is_in_person_order_whatever_the_order_of_the_assessment():
    result = plan_frame([person(p, levy=10_000, salary=1_000_000) for p in ("3", "1", "2")])
    assert result["person_id"].to_list() == ["1", "2", "3"]


# ============================================================================ 普通徴収切替理由
def test_each_person_keeps_the_reason_of_their_own_reports():
    reasons = first_ordinary_reason(reports_frame([report("1", "a", remarks="普A"), report("2", "b", remarks="普F")]))
    assert dict(reasons.collect().rows()) == {"1": "普A", "2": "普F"}


def test_the_reason_kept_is_that_of_the_largest_report():
    """Two reports asking for 普通徴収: 普A on 1,000,000 and 普F on 3,000,000 paid: 普F is kept."""
    rows = plan([person("1", levy=100_000, salary=4_000_000)],
                [report("1", "a", payment=1_000_000, remarks="普A"), report("1", "b", payment=3_000_000, remarks="普F")])
    assert rows["1"]["ordinary_reason"] == "普F" and routes(rows["1"]) == (0, 0, 105_000)


def test_of_two_equal_reports_asking_for_ordinary_collection_the_smaller_document_id_gives_the_reason():
    rows = plan([person("1", levy=100_000, salary=4_000_000)],
                [report("1", "b", payment=2_000_000, remarks="普D"), report("1", "a", payment=2_000_000, remarks="普B")])
    assert rows["1"]["ordinary_reason"] == "普B"


# ============================================================================ the main salary report
def test_a_report_without_a_designation_number_is_passed_over_for_one_that_has_it():
    """The larger report has no 指定番号 (null): it cannot withhold, so the smaller one with a number does."""
    reports = [report("1", "a", None, payment=5_000_000), report("1", "b", "000000000222", payment=1_000_000)]
    rows = plan([person("1", levy=300_000, salary=6_000_000)], reports)
    assert (rows["1"]["salary_payer"], rows["1"]["salary_doc_uid"]) == ("000000000222", "b")
    assert main_salary_reports(reports_frame([report("1", "a", None)])).collect().height == 0


def test_any_non_blank_designation_number_designates_withholding():
    """The plan asks only whether a 指定番号 is given (its form is the layout's business): " 7 " is one."""
    main = main_salary_reports(reports_frame([report("1", "a", " 7 ")])).collect()
    assert main.rows() == [("1", "a", "7")]


def test_a_report_without_the_ordinary_mark_filled_in_withholds():
    """普通徴収 mark not given (null): no 普通徴収 was asked, the report's employer withholds."""
    rows = plan([person("1", levy=100_000, salary=3_000_000)], [report("1", "s1", ordinary=None)])
    assert routes(rows["1"]) == (105_000, 0, 0) and rows["1"]["salary_payer"] == "000012345678"


def test_of_two_equal_withholding_reports_the_smaller_document_id_is_the_main_one():
    reports = [report("1", "b", "000000000222", payment=2_000_000), report("1", "a", "000000000111", payment=2_000_000)]
    rows = plan([person("1", levy=300_000, salary=4_000_000)], reports)
    assert (rows["1"]["salary_payer"], rows["1"]["salary_doc_uid"]) == ("000000000111", "a")


# ============================================================================ layout fields
def test_a_code_field_without_a_dtype_is_read_as_a_string():
    field = resident_snapshot._field_from(
        {"name": "x", "label": "エックス", "type": "code", "required": True, "allowed": {"1": "a"}}, "test_layout")
    assert field.dtype == "String"


# ============================================================================ installments
INSTALLMENT_SCHEMA = {
    "key": pl.Int64, "fiscal_year": pl.Int64, "method": pl.String, "annual_tax": pl.Int64,
    "rounding_unit": pl.Int64, "due_months": pl.List(pl.Int64), "due_day": pl.String, "first_year": pl.Boolean,
    "previous_year_annual_tax": pl.Int64,
}


def installment_row(key: int, method: str, annual: int, *, first_year: bool | None = None) -> dict:
    return {"key": key, "fiscal_year": 2026, "method": method, "annual_tax": annual, "rounding_unit": 1000,
            "due_months": [6, 8, 10, 1], "due_day": "last", "first_year": first_year, "previous_year_annual_tax": None}


def test_no_rows_give_an_empty_frame_with_the_installment_columns():
    result = installments_frame(pl.DataFrame(schema=INSTALLMENT_SCHEMA))
    assert result.height == 0
    assert dict(result.schema) == {"key": pl.Int64, "sequence": pl.Int32, "period": pl.String, "due_date": pl.Date,
                                   "amount": pl.Int64, "route": pl.String}


def test_installments_come_out_by_key_then_in_order():
    """Forty 普通徴収 rows given in descending key order: 4,000 in four 期 of 1,000 each; the result runs
    key by key, each key's 期 0–3 in June, August, October, January."""
    keys = list(range(40, 0, -1))
    result = installments_frame(pl.DataFrame([installment_row(k, "ordinary", 4_000) for k in keys],
                                             schema=INSTALLMENT_SCHEMA))
    expected = [(k, s, p) for k in sorted(keys) for s, p in enumerate(["2026-06", "2026-08", "2026-10", "2027-01"])]
    assert result.select("key", "sequence", "period").rows() == expected
    assert result["amount"].to_list() == [1_000] * 160


def test_the_installments_left_after_dropping_0_yen_ones_are_numbered_without_gaps():
    """A first-year pensioner of 60,000: no 仮徴収 (0円 in April, June, August, left out); 30,000 by 普通徴収
    in June and August (15,000 each) and 30,000 withheld in October, December, February (10,000 each):
    five installments numbered 0–4."""
    result = installments_frame(pl.DataFrame([installment_row(1, "pension", 60_000, first_year=True)],
                                             schema=INSTALLMENT_SCHEMA))
    assert result.select("sequence", "period", "amount", "route").rows() == [
        (0, "2026-06", 15_000, "ordinary"), (1, "2026-08", 15_000, "ordinary"),
        (2, "2026-10", 10_000, "pension_main"), (3, "2026-12", 10_000, "pension_main"),
        (4, "2027-02", 10_000, "pension_main"),
    ]


def test_3_january_is_closed_even_on_a_monday():
    """3 January 2028 is a Monday and no national holiday (元日 falls on Saturday 1 January, which gives no
    振替休日), but 1月1日〜3日 are closed (地方税法第20条の5第2項 一般の休日); 4 January (Tuesday) is open."""
    assert date(2028, 1, 3).weekday() == 0 and is_closed(date(2028, 1, 3))
    assert not is_closed(date(2028, 1, 4))


def test_a_schedule_starting_in_january_starts_in_the_fiscal_year_given():
    assert months_in_order(2026, [1, 2]) == [(2026, 1), (2026, 2)]


def test_a_month_repeated_is_a_year_later():
    assert months_in_order(2026, [6, 6]) == [(2026, 6), (2027, 6)]


@pytest.mark.parametrize("month", [0, 13])
def test_a_month_outside_1_to_12_is_refused_naming_it(month):
    with pytest.raises(ValueError, match=f"month must be 1–12, got {month}"):
        months_in_order(2026, [6, month])
