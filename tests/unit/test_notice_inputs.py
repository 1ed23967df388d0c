"""The notice inputs (transforms.notice_inputs): the two landing files checked against their layouts, and
the DV等支援措置 interlock that stops dispatch (docs/notice-export.md; docs/sources.md T10: the 明和町 2020
case, where an empty list was accepted and a protected address was printed on a 特別徴収 notice).

Hand-built lines; expected outcomes follow from the layouts in contracts/layouts/ and the rule stated in
each test."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from transforms.notice_inputs import (
    SupportList,
    check_records,
    mailing_addresses,
    support_file_date,
    suppression_problems,
)

SUPPORT_HEADER = "atena_no,measure,start_date,end_date"


def _lines(*rows: str, file: str = "f.csv") -> pl.DataFrame:
    return pl.DataFrame({
        "file": [file] * len(rows),
        "record_no": list(range(2, len(rows) + 2)),
        "line": list(rows),
    }, schema={"file": pl.String, "record_no": pl.Int64, "line": pl.String})


RESIDENTS = pl.DataFrame({"atena_no": ["0100000001", "0100000002", "0100000003"]})


def _support(*rows: str, as_of=date(2026, 6, 1), file="shien_sochi_131032_20260601.csv") -> SupportList:
    return SupportList(file=file, as_of=as_of, records=check_records(_lines(*rows, file=file), "support_measures",
                                                                      RESIDENTS))


# ------------------------------------------------------------------------------------------ the layouts
def test_a_duplicate_atena_no_holds_every_record_of_it():
    """Two 送付先 for one person: none is guessed, both are held."""
    checked = check_records(_lines(
        "0100000001,山田　一郎様方,1600023,東京都新宿区西新宿七丁目２２番９号,,20250101",
        "0100000001,鈴木　花子様方,1500013,東京都渋谷区恵比寿三丁目１番１９号,,20250201",
        "0100000002,佐藤　次郎様方,1500013,東京都渋谷区恵比寿三丁目１番１９号,２０１号,20250301",
    ), "mailing_address", RESIDENTS)
    assert checked.filter(pl.col("_reason") == "duplicate_atena_no")["record_no"].to_list() == [2, 3]
    addresses = mailing_addresses(checked)
    assert addresses["person_id"].to_list() == ["0100000002"]
    assert addresses["registered_on"].to_list() == [date(2025, 3, 1)]
    assert addresses["address_detail"].to_list() == ["２０１号"]


def test_the_support_list_keeps_a_person_outside_the_registry():
    """A 支援措置 person unknown to the registry extract is still protected: the list is not filtered."""
    support = _support("0100009999,1,20260101,20270101")
    assert support.records["_reason"].to_list() == [None]
    assert support.persons(date(2026, 6, 10)).to_list() == ["0100009999"]


def test_a_measure_protects_until_its_end_date_inclusive():
    support = _support("0100000001,1,20250101,20260610", "0100000002,2,20250101,20260609")
    assert support.persons(date(2026, 6, 10)).to_list() == ["0100000001"]
    assert support.persons(date(2026, 6, 9)).to_list() == ["0100000001", "0100000002"]


def test_a_record_with_an_unreadable_end_date_still_protects_its_person():
    """Fail-closed: 2026-02-30 is no date, so the end of the measure is unknown; the person is protected."""
    support = _support("0100000001,1,20250101,20260230")
    assert support.unreadable["_reason"].to_list() == ["bad_date"]
    assert support.persons(date(2026, 6, 10)).to_list() == ["0100000001"]


# ----------------------------------------------------------------------------------------- file names
@pytest.mark.parametrize(("name", "expected"), [
    ("shien_sochi_131032_20260601.csv", date(2026, 6, 1)),
    ("shien_sochi_131032_20260631.csv", None),      # no 31 June
    ("shien_sochi_131130_20260601.csv", None),      # another municipality's list
    ("shien_sochi_131032_2026061.csv", None),
    ("shien_sochi_131032_20260601.csv.bak", None),
    ("sofusaki_131032_20260501.csv", None),
])
def test_the_extract_date_is_read_from_the_file_name(name, expected):
    assert support_file_date(name, "131032") == expected


# ------------------------------------------------------------------------------------------ interlock
NOTICE = date(2026, 6, 10)


def test_a_fresh_list_lets_dispatch_go():
    assert suppression_problems(_support("0100000001,1,20250101,20270101"), _support(as_of=date(2025, 6, 1)),
                                notice_date=NOTICE, max_age_days=14) == []


def test_a_missing_list_stops_dispatch():
    (problem,) = suppression_problems(None, _support("0100000001,1,20250101,20270101"), notice_date=NOTICE,
                                      max_age_days=14)
    assert "is missing" in problem


def test_an_empty_list_stops_dispatch_when_last_years_was_not_empty():
    """明和町 2020: the list came as 0件 and dispatch went on. Empty after a non-empty year stops."""
    last_year = _support("0100000001,1,20240701,20250701", as_of=date(2025, 6, 1),
                         file="shien_sochi_131032_20250601.csv")
    (problem,) = suppression_problems(_support(), last_year, notice_date=NOTICE, max_age_days=14)
    assert "is empty" in problem and "1 persons" in problem
    # empty both years (a ward with nobody under a measure) is no reason to stop, nor is a first year
    assert suppression_problems(_support(), _support(as_of=date(2025, 6, 1)), notice_date=NOTICE, max_age_days=14) == []
    assert suppression_problems(_support(), None, notice_date=NOTICE, max_age_days=14) == []


@pytest.mark.parametrize(("as_of", "stops"), [
    (date(2026, 5, 27), False),  # 14 days before the notice date: the limit itself
    (date(2026, 5, 26), True),   # 15 days
    (date(2026, 6, 10), False),  # extracted on the notice date
    (date(2026, 6, 11), True),   # dated after the notices: a wrong date somewhere
])
def test_the_list_must_be_at_most_the_allowed_days_old_and_not_from_the_future(as_of, stops):
    current = _support("0100000001,1,20250101,20270101", as_of=as_of)
    problems = suppression_problems(current, None, notice_date=NOTICE, max_age_days=14)
    assert bool(problems) is stops


def test_an_unreadable_record_stops_dispatch_naming_file_line_and_field():
    current = _support("0100000001,1,20250101,20270101", "01000000X2,1,20250101,20270101")
    (problem,) = suppression_problems(current, None, notice_date=NOTICE, max_age_days=14)
    assert "shien_sochi_131032_20260601.csv line 3" in problem and "atena_no" in problem
    assert "bad_format" in problem


def test_an_empty_required_field_holds_the_record_and_an_empty_optional_one_does_not():
    checked = check_records(_lines(
        "0100000001,,1600023,東京都新宿区西新宿七丁目２２番９号,,20250101",      # 送付先氏名 empty: required
        "0100000002,佐藤　次郎様方,1500013,東京都渋谷区恵比寿三丁目１番１９号,,20250301",  # 方書 empty: optional
    ), "mailing_address", RESIDENTS)
    assert checked.select("record_no", "_reason", "_field").rows() == [(2, "missing_required", "addressee"),
                                                                       (3, None, None)]
