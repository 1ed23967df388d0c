"""Rules of transforms/installments.py, transforms/notice_inputs.py and transforms/non_registered.py that no
test stated before (written from the surviving mutants of a mutation run; docs/testing.md).

Every expected value is worked out in the comments from the rule named: 地方税法第20条の4の2第6項 (the
fractions of the equal shares go to the first 期), 第321条の7の2第1項 (the withheld half of a first-year
pensioner: 100円未満切捨て, 100円 when less), 第20条の5第2項 and 施行令第6条の18 (a 期限 on a closed day
moves), the layouts of the notice inputs, and the operator sentences of the DV等支援措置 interlock. Dates are
from the calendar (weekdays and 祝日 named beside them). Hand-built frames only.
"""

from __future__ import annotations

import copy
import re
from datetime import date

import polars as pl
import pytest

import transforms.installments as installments
from transforms.installments import (
    InstallmentRules,
    Slot,
    equal_shares,
    installments_frame,
    load_installment_rules,
    ordinary_slots,
    pension_amounts,
    profile_schedule,
    remaining_slots,
    salary_slots,
)
from transforms.non_registered import held_non_registered_notices, non_registered_notices
from transforms.notice_inputs import SupportList, check_records, support_file_date, suppression_problems
from transforms.tax_rules import RuleError, RuleSet

# ============================================================================================ installments
SCHEMA = {
    "key": pl.Int64, "fiscal_year": pl.Int64, "method": pl.String, "annual_tax": pl.Int64,
    "rounding_unit": pl.Int64, "due_months": pl.List(pl.Int64), "due_day": pl.String, "first_year": pl.Boolean,
    "previous_year_annual_tax": pl.Int64,
}


def _frame(*, method: str, annual: int, unit: int = 1000, months=(6, 8, 10, 1), due_day="last",
           first_year: bool | None = None, previous: int | None = None, notice_date: date | None = None) -> pl.DataFrame:
    row = {"key": 1, "fiscal_year": 2026, "method": method, "annual_tax": annual, "rounding_unit": unit,
           "due_months": list(months), "due_day": due_day, "first_year": first_year,
           "previous_year_annual_tax": previous}
    schema = dict(SCHEMA)
    if not isinstance(due_day, str):
        schema["due_day"] = pl.Int64  # the stage casts a day of the month to Int64 (pipelines.notice_export)
    if notice_date is not None:
        row["notice_date"] = notice_date
        schema["notice_date"] = pl.Date
    return pl.DataFrame([row], schema=schema)


def _rows(result: pl.DataFrame) -> list[tuple]:
    return result.select("period", "route", "amount", "due_date").rows()


# ---------------------------------------------------------------------------------- equal_shares
def test_equal_shares_refuses_a_count_below_one_naming_both_values():
    with pytest.raises(ValueError, match=re.escape("count and unit must be positive, got 0 and 1000")):
        equal_shares(pl.col("t"), 0, 1000)


def test_equal_shares_takes_any_positive_unit_even_one_yen():
    # unit 1: 10 in three is 3 each (10 // 3 = 3), the first 10 − 2 × 3 = 4
    shares = equal_shares(pl.col("t"), 3, 1)
    assert pl.DataFrame({"t": [10]}).select([s.alias(f"s{i}") for i, s in enumerate(shares)]).row(0) == (4, 3, 3)


def test_equal_shares_gives_exactly_count_integer_shares():
    """172,500 in four 期 by 1,000円 (第20条の4の2第6項): 43,125 → 43,000, the first 172,500 − 3 × 43,000 =
    43,500. Money stays Int64 yen (STYLE 11): no float division on the way."""
    shares = equal_shares(pl.col("t"), 4, 1000)
    assert len(shares) == 4
    out = pl.DataFrame({"t": [172_500]}, schema={"t": pl.Int64}).select([s.alias(f"s{i}") for i, s in enumerate(shares)])
    assert out.row(0) == (43_500, 43_000, 43_000, 43_000)
    assert set(out.dtypes) == {pl.Int64}


# ---------------------------------------------------------------------------------- InstallmentRules
RULES_OF_TEST = InstallmentRules("installments/test.yaml", {}, {"p": {
    "empty": [], "thirteen": [6, 13], "scalar": 6, "text": ["6"], "boolean": [True, 8], "good": [6, 8]}})


# a YAML `true` is not month 1 (Python counts a bool as an int; the rule file must say 1)
@pytest.mark.parametrize("path", ["p.empty", "p.thirteen", "p.scalar", "p.text", "p.boolean"])
def test_a_month_list_must_be_a_non_empty_list_of_months_1_to_12(path):
    value = RULES_OF_TEST.get(path)
    with pytest.raises(RuleError, match=re.escape(f"installments/test.yaml: {path} must be a list of months 1–12, "
                                                  f"got {value!r}")):
        RULES_OF_TEST.months(path)


def test_a_good_month_list_is_returned_as_is():
    assert RULES_OF_TEST.months("p.good") == [6, 8]


# ---------------------------------------------------------------------------------- profile_schedule
def _profile(unit) -> RuleSet:
    return RuleSet("profiles/test.yaml", {}, {"ordinary_collection": {
        "due_months": [6, 8, 10, 1], "rounding_unit": unit, "due_day": "last"}})


@pytest.mark.parametrize("unit", [100, 1000])
def test_a_profile_may_round_its_ordinary_installments_to_100_or_1000_yen(unit):
    # 第20条の4の2第6項 (1,000円) or an ordinance's 100円
    assert profile_schedule(_profile(unit)) == {"due_months": [6, 8, 10, 1], "rounding_unit": unit, "due_day": "last"}


def test_a_profile_with_another_unit_is_refused_naming_file_and_key():
    with pytest.raises(RuleError, match=re.escape(
            "profiles/test.yaml: ordinary_collection.rounding_unit must be 100 or 1000, got 10")):
        profile_schedule(_profile(10))


# ---------------------------------------------------------------------------------- remaining_slots
def test_a_december_notice_with_no_period_ahead_is_due_at_the_end_of_january():
    """A schedule ending in December (6, 8, 10, 12): 2026-12-31 is closed (12月29日〜31日), and so are
    1月1日〜3日, so the December 納期限 is Monday 2027-01-04. A notice of 2026-12-28 needs 10 days
    (第319条の2第3項): 2027-01-07 > 01-04, no 納期 is left; one 随時 納期 at the end of the month after the
    notice, January 2027 (the year turns): 2027-01-31 is a Sunday, so Monday 2027-02-01."""
    slots = ordinary_slots(2026, [6, 8, 10, 12])
    assert slots[-1] == Slot("2026-12", date(2027, 1, 4), "ordinary")
    assert remaining_slots(slots, date(2026, 12, 28), 10) == [Slot("2027-01", date(2027, 2, 1), "ordinary")]


# ---------------------------------------------------------------------------------- salary_slots
def _rules_with(**changes) -> InstallmentRules:
    """The rules in force with some values changed, as a later rule file could (docs/installments.md: a
    change of the law is a new file, not an edit of code)."""
    rules = load_installment_rules(2026)
    parameters = copy.deepcopy(rules.parameters)
    for path, value in changes.items():
        name, key = path.split("__")
        parameters[name][key] = value
    return InstallmentRules(rules.file, rules.header, parameters)


def test_a_salary_notice_on_the_deadline_day_itself_is_in_time():
    """第321条の4第1項: notified "by" the day; a notice on that day withholds from the first month. With a
    deadline of 10 June (a changed rule file) and a notice on 10 June, June to May, 12 months, stay; a day
    later, 11 June, starts in July (11 months)."""
    rules = _rules_with(salary_special_collection__notice_deadline_month=6,
                        salary_special_collection__notice_deadline_day=10)
    on_time = salary_slots(2026, rules, date(2026, 6, 10))
    assert len(on_time) == 12 and on_time[0].period == "2026-06"
    late = salary_slots(2026, rules, date(2026, 6, 11))
    assert len(late) == 11 and late[0].period == "2026-07"


# ---------------------------------------------------------------------------------- pension_amounts
def test_pension_amounts_by_route_for_a_first_year_and_a_continuing_person():
    """No ``first_count``: the first-year half is in the rule file's two 普通徴収 months (June, August).
    伊東市's first year, 36,000: 普通徴収 9,000 × 2 (unit 1,000), 本徴収 6,000 × 3, and 0 (not nothing) for
    仮徴収. 富加町's continuing person, 60,000 last year and 36,000 now: 仮徴収 30,000 → 10,000 × 3, 本徴収
    36,000 − 30,000 = 6,000 → 2,000 × 3, and 0 for 普通徴収."""
    rules = load_installment_rules(2026)
    amounts = pension_amounts(pl.col("annual"), pl.col("previous"), pl.col("first_year"), rules, 1000)
    assert {route: len(exprs) for route, exprs in amounts.items()} == {
        "ordinary": 2, "pension_provisional": 3, "pension_main": 3}
    people = pl.DataFrame({"annual": [36_000, 36_000], "previous": [0, 60_000], "first_year": [True, False]})
    out = people.select([e.alias(f"{route}_{i}") for route, exprs in amounts.items() for i, e in enumerate(exprs)])
    assert out.row(0) == (9_000, 9_000, 0, 0, 0, 6_000, 6_000, 6_000)
    assert out.row(1) == (0, 0, 10_000, 10_000, 10_000, 2_000, 2_000, 2_000)


def test_a_first_year_half_below_100_yen_is_withheld_as_100_yen():
    """第321条の7の2第1項: annual 150, half 75 → 0 by 100円未満切捨て, so 100円 is withheld (本徴収 100 in
    three by 100円: 33 → 0, all 100 in October); 普通徴収 the rest, 50 (25 → 0 by 1,000円, all 50 in June)."""
    result = installments_frame(_frame(method="pension", annual=150, first_year=True))
    assert _rows(result) == [("2026-06", "ordinary", 50, date(2026, 6, 30)),
                             ("2026-10", "pension_main", 100, date(2026, 11, 10))]  # 11-10 is a Tuesday


def test_a_first_year_withholding_is_never_more_than_the_annual_amount():
    """Annual 80: the 100円 minimum would exceed it, so all 80 is withheld (本徴収 in October) and nothing is
    left for 普通徴収; no installment is negative."""
    result = installments_frame(_frame(method="pension", annual=80, first_year=True))
    assert _rows(result) == [("2026-10", "pension_main", 80, date(2026, 11, 10))]


# ---------------------------------------------------------------------------------- installments_frame
def test_an_ordinary_due_day_other_than_the_last_is_taken_from_the_frame():
    """Due on the 25th: 2026-06-25 (Thu), 2026-08-25 (Tue), 2026-10-25 is a Sunday → Monday 10-26, 2027-01-25
    (Mon). 40,000 in four: 10,000 each."""
    result = installments_frame(_frame(method="ordinary", annual=40_000, due_day=25))
    assert _rows(result) == [
        ("2026-06", "ordinary", 10_000, date(2026, 6, 25)), ("2026-08", "ordinary", 10_000, date(2026, 8, 25)),
        ("2026-10", "ordinary", 10_000, date(2026, 10, 26)), ("2027-01", "ordinary", 10_000, date(2027, 1, 25)),
    ]


def test_a_first_year_pensioner_notified_after_august_pays_the_half_in_the_next_period_only():
    """Notice 2026-09-15: the 納期 at least 10 days ahead are October (10-31 a Saturday → Monday 11-02) and
    January (01-31 a Sunday → 02-01); neither is a first-year month (June, August), so the whole ordinary
    half goes to the first of them, October: 60,000 → half 30,000 withheld (本徴収 10,000 × 3, paid in by the
    10th of the next month: 11-10 Tue; 01-10 Sun and 01-11 成人の日 → 01-12; 03-10 Wed), 30,000 in October."""
    result = installments_frame(_frame(method="pension", annual=60_000, first_year=True,
                                       notice_date=date(2026, 9, 15)))
    assert _rows(result) == [
        ("2026-10", "ordinary", 30_000, date(2026, 11, 2)), ("2026-10", "pension_main", 10_000, date(2026, 11, 10)),
        ("2026-12", "pension_main", 10_000, date(2027, 1, 12)), ("2027-02", "pension_main", 10_000, date(2027, 3, 10)),
    ]


def test_first_year_months_are_matched_by_the_whole_month_of_the_period(monkeypatch):
    """A rule file naming October among the first-year months (a later law could): the 2026-10 納期 is
    month 10. 45,000: half 22,500 withheld, 7,500 × 3 (本徴収); 普通徴収 22,500 in three by 1,000円: 7,500 →
    7,000, the first 22,500 − 2 × 7,000 = 8,500."""
    rules = _rules_with(pension_special_collection__first_year_ordinary_months=[6, 8, 10])
    monkeypatch.setattr(installments, "load_installment_rules", lambda fiscal_year: rules)
    result = installments_frame(_frame(method="pension", annual=45_000, first_year=True))
    assert _rows(result) == [
        ("2026-06", "ordinary", 8_500, date(2026, 6, 30)), ("2026-08", "ordinary", 7_000, date(2026, 8, 31)),
        ("2026-10", "ordinary", 7_000, date(2026, 11, 2)), ("2026-10", "pension_main", 7_500, date(2026, 11, 10)),
        ("2026-12", "pension_main", 7_500, date(2027, 1, 12)), ("2027-02", "pension_main", 7_500, date(2027, 3, 10)),
    ]


def test_a_pension_schedule_without_the_first_year_months_is_refused_naming_both():
    with pytest.raises(RuleError, match=re.escape(
            "the first-year 普通徴収 months [6, 8] are not all 普通徴収 納期 [6, 10, 1]")):
        installments_frame(_frame(method="pension", annual=36_000, first_year=True, months=(6, 10, 1)))


def test_an_unknown_method_is_refused_naming_the_methods():
    with pytest.raises(ValueError, match=re.escape("method must be one of ordinary, salary, pension, got 'monthly'")):
        installments_frame(_frame(method="monthly", annual=36_000))


def test_a_salary_notice_after_may_is_refused_with_the_operators_sentence():
    with pytest.raises(RuleError, match=re.escape(
            "a 給与特別徴収 notice of 2027-05-02 leaves no month of the 2026 年度 to withhold in (the last is May): "
            "collect the tax by 普通徴収")):
        installments_frame(_frame(method="salary", annual=100_050, notice_date=date(2027, 5, 2)))


def test_no_rows_give_an_empty_frame_with_the_columns_and_types():
    result = installments_frame(pl.DataFrame(schema=SCHEMA))
    assert result.height == 0
    assert dict(result.schema) == {"key": pl.Int64, "sequence": pl.Int32, "period": pl.String, "due_date": pl.Date,
                                   "amount": pl.Int64, "route": pl.String}


# ============================================================================================ notice inputs
RESIDENTS = pl.DataFrame({"atena_no": ["0100000001", "0100000002"]})
NOTICE = date(2026, 6, 10)


def _support(*rows: str, as_of=date(2026, 6, 1), file="shien_sochi_131032_20260601.csv") -> SupportList:
    lines = pl.DataFrame({"file": [file] * len(rows), "record_no": list(range(2, len(rows) + 2)), "line": list(rows)},
                         schema={"file": pl.String, "record_no": pl.Int64, "line": pl.String})
    return SupportList(file=file, as_of=as_of, records=check_records(lines, "support_measures", RESIDENTS))


def test_an_extract_dated_in_october_to_december_is_read_with_its_two_digit_month():
    assert support_file_date("shien_sochi_131032_20261015.csv", "131032") == date(2026, 10, 15)
    assert support_file_date("shien_sochi_131032_20261201.csv", "131032") == date(2026, 12, 1)


def test_a_missing_list_is_named_with_its_file_pattern():
    assert suppression_problems(None, None, notice_date=NOTICE, max_age_days=14) == [
        "the DV等支援措置 list (support_measures, shien_sochi_<団体コード>_<YYYYMMDD>.csv) is missing from the "
        "landing folder of this fiscal year"]


def test_a_list_dated_after_the_notices_says_so():
    current = _support("0100000001,1,20250101,20270101", as_of=date(2026, 6, 11),
                       file="shien_sochi_131032_20260611.csv")
    assert suppression_problems(current, None, notice_date=NOTICE, max_age_days=14) == [
        "shien_sochi_131032_20260611.csv is dated 2026-06-11, after the notice date 2026-06-10: the notice date "
        "or the file name is wrong"]


def test_a_stale_list_says_how_old_it_is_and_what_is_allowed():
    # 2026-05-26 to 2026-06-10: 5 days of May + 10 of June = 15 days, one more than the 14 allowed
    current = _support("0100000001,1,20250101,20270101", as_of=date(2026, 5, 26),
                       file="shien_sochi_131032_20260526.csv")
    assert suppression_problems(current, None, notice_date=NOTICE, max_age_days=14) == [
        "shien_sochi_131032_20260526.csv was extracted on 2026-05-26, 15 days before the notice date 2026-06-10; "
        "at most 14 days are allowed: deliver a fresh extract"]


def test_at_most_five_unreadable_records_are_named():
    """Six records with a 宛名番号 that is not 10 digits (layout support_measures): lines 2–7; the first five
    by line are named, the sixth is not."""
    current = _support(*[f"01000000X{i},1,20250101,20270101" for i in range(1, 7)])
    problems = suppression_problems(current, None, notice_date=NOTICE, max_age_days=14)
    assert [re.search(r"line (\d+)", p)[1] for p in problems] == ["2", "3", "4", "5", "6"]


def test_an_unreadable_record_without_a_field_is_named_with_a_dash():
    """A line of three fields where the layout has four: the whole record is wrong, no one field."""
    current = _support("0100000001,1,20250101")
    assert suppression_problems(current, None, notice_date=NOTICE, max_age_days=14) == [
        "shien_sochi_131032_20260601.csv line 2 cannot be read (wrong_field_count, field -); the person it "
        "protects cannot be known: correct the list"]


# ============================================================================================ 住登外課税通知
REGISTRATIONS = pl.DataFrame({
    "atena_no": ["0900000004", "0900000001", "0900000003", "0900000002"],
    "registered_municipality_code": ["131016", "141003", "131016", "131016"],
    "registered_address": ["東京都千代田区一", "神奈川県横浜市中区一", "東京都千代田区三", "東京都千代田区二"],
    "living_since": [date(2024, 9, 1)] * 4,
})
# the residents and the assessment in descending 宛名番号 (a join may keep either side's order: the sort
# must not rely on it)
PEOPLE = pl.DataFrame({
    "atena_no": ["0900000004", "0900000003", "0900000002", "0900000001"],
    "name_kanji": ["住登　四郎", "住登　三子", "住登　二郎", "住登　一郎"],
    "name_kana": ["ジュウトウ　シロウ", "ジュウトウ　ミツコ", "ジュウトウ　ジロウ", "ジュウトウ　イチロウ"],
    "birth_date": [date(1980, 4, 5)] * 4,
    "postal_code": ["1080023"] * 4,
    "address": ["東京都港区芝浦三丁目５番２号"] * 4,
    "address_detail": [None] * 4,
}, schema_overrides={"address_detail": pl.String})
TAXES = pl.DataFrame({"person_id": ["0900000004", "0900000003", "0900000002", "0900000001"],
                      "total_tax": [120_000, 5_000, 0, 54_300]}, schema={"person_id": pl.String, "total_tax": pl.Int64})


def _notices(registrations=REGISTRATIONS, people=PEOPLE, taxes=TAXES, protected=()) -> pl.DataFrame:
    return non_registered_notices(registrations, people, taxes, pl.Series("atena_no", list(protected), pl.String),
                                  fiscal_year=2026, municipality="131032", notice_date=date(2026, 5, 20))


def test_notices_are_sorted_by_destination_then_atena_no_and_carry_the_total_tax():
    """131016 (千代田区) before 141003 (横浜市); within 131016 by 宛名番号 02, 03, 04, whatever the order of
    the register; each notice states the person's total tax as assessed and its type."""
    out = _notices()
    assert out.select("registered_municipality_code", "person_id", "total_tax", "taxation").rows() == [
        ("131016", "0900000002", 0, "exempt"), ("131016", "0900000003", 5_000, "taxed"),
        ("131016", "0900000004", 120_000, "taxed"), ("141003", "0900000001", 54_300, "taxed"),
    ]
    assert out.schema["total_tax"] == pl.Int64
    assert out.schema["fiscal_year"] == pl.Int64 and out.schema["notice_date"] == pl.Date
    assert out.columns[-2:] == ["total_tax", "protected"]


def test_a_person_twice_in_the_assessment_or_the_residents_stops_the_notices():
    """One notice per person: a duplicated row is an error upstream, never a second notice."""
    twice = pl.concat([TAXES, TAXES.head(1)])
    with pytest.raises(pl.exceptions.ComputeError, match="1:1"):
        _notices(taxes=twice)
    with pytest.raises(pl.exceptions.ComputeError, match="1:1"):
        _notices(people=pl.concat([PEOPLE, PEOPLE.head(1)]))


def test_a_person_registered_twice_stops_the_notices_even_when_not_among_the_residents():
    """0900000005 is twice in the 住登外者 register and in no resident row: the register is refused as it
    stands, not made unique by the join dropping the person."""
    extra = pl.DataFrame({"atena_no": ["0900000005"] * 2, "registered_municipality_code": ["131016"] * 2,
                          "registered_address": ["東京都千代田区五"] * 2, "living_since": [date(2024, 9, 1)] * 2})
    with pytest.raises(pl.exceptions.ComputeError, match="1:1"):
        _notices(registrations=pl.concat([REGISTRATIONS, extra]))


def test_a_held_non_registered_notice_has_a_string_designation_no_column():
    """The hold queue (contract NoticeHold: designation_no a nullable String) is stacked with the other held
    notices (pipelines.notice_files); a 住登外課税通知 names no 特別徴収義務者, so the value is null, but typed."""
    held = held_non_registered_notices(_notices(protected=["0900000003"]))
    assert held.rows() == [("0900000003", "202630900000003", "non_registered_notice", None, "support_measures", 0)]
    assert held.schema["designation_no"] == pl.String and held.schema["amount"] == pl.Int64
