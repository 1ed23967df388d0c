"""期割 and 納期限 (transforms/installments.py) and the `juminzei installments` calculator.

Expected amounts are worked out here from the rule each case names, not read back from the code:
地方税法第20条の4の2第6項 (普通徴収: the fraction of each 期's equal share below 1,000円, or the ordinance's
unit, goes to the first 期), 第321条の5第1項 (給与特別徴収: 1/12 a month rounded down to 100円, the
fractions in June), 第321条の7の2第1項 and 第321条の7の8第1項 (年金特別徴収: half, rounded down to 100円;
仮徴収 from half of the previous 年度's amount), and the published examples cited beside them.
"""

from __future__ import annotations

import io
import json
import random
from datetime import date

import polars as pl
import pytest

from juminzei.installments import run_installments
from transforms.installments import installments_frame, is_closed, next_open_day, ordinary_slots


def calc(*lines: dict | str) -> list[dict]:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    out = io.StringIO()
    run_installments(io.StringIO(text), out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def amounts(answer: dict, route: str | None = None) -> list[int]:
    return [i["amount"] for i in answer["installments"] if route is None or i["route"] == route]


# ------------------------------------------------------------------------------ 普通徴収
@pytest.mark.parametrize(("annual", "unit", "expected"), [
    # 172,500 ÷ 4 = 43,125 → 43,000 a 期; 1期 = 172,500 − 3 × 43,000 = 43,500
    (172_500, 1000, [43_500, 43_000, 43_000, 43_000]),
    # 45,500 ÷ 4 = 11,375 → 11,000 (1,000円) or 11,300 (100円); the rest in 1期
    (45_500, 1000, [12_500, 11_000, 11_000, 11_000]),
    (45_500, 100, [11_600, 11_300, 11_300, 11_300]),
    # 均等割 and 森林環境税 only (3,000 + 1,000 + 1,000): 1,250 a 期 → 1,000; 1期 2,000
    (5_000, 1000, [2_000, 1_000, 1_000, 1_000]),
    # every 期's share below 1,000円: the whole amount in 1期 (第20条の4の2第6項 "その全額")
    (3_500, 1000, [3_500]),
    (3_999, 1000, [3_999]),
    (4_000, 1000, [1_000, 1_000, 1_000, 1_000]),
    (300, 100, [300]),
])
def test_ordinary_collection_puts_every_fraction_in_the_first_period(annual, unit, expected):
    (answer,) = calc({"fiscal_year": 2026, "method": "ordinary", "annual_tax": annual, "rounding_unit": unit})
    assert amounts(answer) == expected
    assert {i["route"] for i in answer["installments"]} == {"ordinary"}


def test_ordinary_periods_and_due_dates_of_the_special_wards_in_2026():
    """特別区: the last day of June, August, October and January (港区 FAQ); 2026-10-31 is a Saturday and
    2027-01-31 a Sunday, so those 納期限 move to Monday (地方税法第20条の5第2項)."""
    (answer,) = calc({"fiscal_year": 2026, "method": "ordinary", "annual_tax": 40_000})
    assert [(i["period"], i["due_date"]) for i in answer["installments"]] == [
        ("2026-06", "2026-06-30"), ("2026-08", "2026-08-31"), ("2026-10", "2026-11-02"), ("2027-01", "2027-02-01"),
    ]


def test_another_municipalitys_months_and_unit_come_from_the_line():
    (answer,) = calc({"fiscal_year": 2025, "method": "ordinary", "annual_tax": 45_500, "rounding_unit": 100,
                      "due_months": [6, 8, 10, 12, 2]})
    # 45,500 ÷ 5 = 9,100 exactly: five equal 期; 2025-12-31 is closed (12月29日〜31日), 2026-01-01〜03 too
    assert [(i["period"], i["due_date"], i["amount"]) for i in answer["installments"]] == [
        ("2025-06", "2025-06-30", 9_100), ("2025-08", "2025-09-01", 9_100), ("2025-10", "2025-10-31", 9_100),
        ("2025-12", "2026-01-05", 9_100), ("2026-02", "2026-03-02", 9_100),
    ]


# ------------------------------------------------------------------------------ 給与特別徴収
def test_salary_collection_is_twelve_months_with_the_fractions_in_june():
    """第321条の5第1項: 172,500 ÷ 12 = 14,375 → 14,300 a month; June = 172,500 − 11 × 14,300 = 15,200."""
    (answer,) = calc({"fiscal_year": 2026, "method": "salary", "annual_tax": 172_500})
    periods = [i["period"] for i in answer["installments"]]
    assert periods == [f"2026-{m:02d}" for m in range(6, 13)] + [f"2027-{m:02d}" for m in range(1, 6)]
    assert amounts(answer) == [15_200] + [14_300] * 11
    # paid in by the 10th of the next month: 2026-07-10 (Fri); 2026-10-10 is a Saturday and 10-12 a
    # holiday (スポーツの日) → 10-13; 2027-01-10 a Sunday and 01-11 成人の日 → 01-12
    due = {i["period"]: i["due_date"] for i in answer["installments"]}
    assert (due["2026-06"], due["2026-09"], due["2026-12"], due["2027-05"]) == (
        "2026-07-10", "2026-10-13", "2027-01-12", "2027-06-10")


@pytest.mark.parametrize(("annual", "expected"), [
    (1_100, [1_100]),                      # under 1,200円: all in June
    (1_200, [100] * 12),
    (5_000, [600] + [400] * 11),           # 416.6 → 400; June 5,000 − 4,400
])
def test_salary_collection_of_small_amounts(annual, expected):
    (answer,) = calc({"fiscal_year": 2026, "method": "salary", "annual_tax": annual})
    assert amounts(answer) == expected
    assert answer["installments"][0]["period"] == "2026-06"


# ------------------------------------------------------------------------------ 年金特別徴収
def test_a_person_new_to_pension_collection_pays_half_by_ordinary_collection_first():
    """伊東市: 1年目 6月・8月 普通徴収 各 1/4, 10月・12月・2月 本徴収 各 1/6: 36,000 → 9,000 ×2, 6,000 ×3."""
    (answer,) = calc({"fiscal_year": 2026, "method": "pension", "annual_tax": 36_000, "first_year": True})
    assert [(i["period"], i["route"], i["amount"]) for i in answer["installments"]] == [
        ("2026-06", "ordinary", 9_000), ("2026-08", "ordinary", 9_000),
        ("2026-10", "pension_main", 6_000), ("2026-12", "pension_main", 6_000), ("2027-02", "pension_main", 6_000),
    ]


def test_a_first_year_amount_that_does_not_divide():
    """45,300: withheld half 22,650 → 22,600 (100円未満切捨て, 第321条の7の2第1項), in three: 7,533 → 7,500,
    October 7,600; 普通徴収 45,300 − 22,600 = 22,700 in two 納期: 11,350 → 11,000, June 11,700."""
    (answer,) = calc({"fiscal_year": 2026, "method": "pension", "annual_tax": 45_300, "first_year": True})
    assert amounts(answer, "ordinary") == [11_700, 11_000]
    assert amounts(answer, "pension_main") == [7_600, 7_500, 7_500]


@pytest.mark.parametrize(("previous", "annual", "provisional", "main"), [
    # 富加町 「仮徴収額の見直し」: 60,000 → 36,000 → 60,000
    (60_000, 36_000, 10_000, 2_000),
    (36_000, 60_000, 6_000, 14_000),
    (60_000, 60_000, 10_000, 10_000),
    # H29 57,000 after 36,000: 仮 6,000, 本 13,000; H30 63,000 after 57,000: 仮 9,500, 本 11,500
    (36_000, 57_000, 6_000, 13_000),
    (57_000, 63_000, 9_500, 11_500),
])
def test_a_continuing_persons_provisional_collection_is_half_of_last_year(previous, annual, provisional, main):
    (answer,) = calc({"fiscal_year": 2026, "method": "pension", "annual_tax": annual, "first_year": False,
                      "previous_year_annual_tax": previous})
    assert [(i["period"], i["route"]) for i in answer["installments"]] == [
        ("2026-04", "pension_provisional"), ("2026-06", "pension_provisional"), ("2026-08", "pension_provisional"),
        ("2026-10", "pension_main"), ("2026-12", "pension_main"), ("2027-02", "pension_main"),
    ]
    assert amounts(answer, "pension_provisional") == [provisional] * 3
    assert amounts(answer, "pension_main") == [main] * 3
    assert sum(amounts(answer)) == annual


def test_provisional_collection_above_this_years_tax_leaves_no_main_collection():
    """仮徴収 30,000 (half of 60,000) against an annual 20,000: 本徴収 is 0 (the excess is refunded by the
    collection ledger, not here); the list shows what is withheld."""
    (answer,) = calc({"fiscal_year": 2026, "method": "pension", "annual_tax": 20_000, "first_year": False,
                      "previous_year_annual_tax": 60_000})
    assert amounts(answer, "pension_provisional") == [10_000] * 3
    assert amounts(answer, "pension_main") == []


# ------------------------------------------------------------------------------ 納期限
def test_closed_days_are_weekends_holidays_and_the_new_year():
    # 地方税法第20条の5第2項 and 施行令第6条の18: Saturday, Sunday, 祝日 (振替休日, 国民の休日), 12/29–1/3
    assert is_closed(date(2026, 9, 22))  # 国民の休日 between 敬老の日 and 秋分の日
    assert is_closed(date(2026, 5, 6))   # 振替休日 for 憲法記念日 on a Sunday
    assert all(is_closed(date(2026, 12, d)) for d in (29, 30, 31))
    assert all(is_closed(date(2027, 1, d)) for d in (1, 2, 3))
    assert not is_closed(date(2027, 1, 4)) and not is_closed(date(2026, 12, 28))
    assert next_open_day(date(2026, 12, 29)) == date(2027, 1, 4)
    assert next_open_day(date(2026, 7, 10)) == date(2026, 7, 10)


def test_a_january_period_is_in_the_next_calendar_year():
    assert [s.period for s in ordinary_slots(2024, [6, 8, 10, 1])] == ["2024-06", "2024-08", "2024-10", "2025-01"]
    # 2024-06-30 is a Sunday
    assert ordinary_slots(2024, [6, 8, 10, 1])[0].due_date == date(2024, 7, 1)


# ------------------------------------------------------------------------------ properties
def test_every_schedule_sums_to_the_annual_amount_and_only_the_first_takes_fractions():
    rng = random.Random(20261207)
    rows = []
    for key in range(600):
        method = ("ordinary", "salary", "pension")[key % 3]
        rows.append({"key": key, "fiscal_year": 2026, "method": method, "annual_tax": rng.randrange(0, 3_000_000, 100),
                     "rounding_unit": (1000, 100)[key % 2], "due_months": [6, 8, 10, 1], "due_day": "last",
                     "first_year": key % 6 == 2, "previous_year_annual_tax": rng.randrange(0, 3_000_000, 100)})
    frame = pl.DataFrame(rows)
    result = installments_frame(frame)
    totals = dict(result.group_by("key").agg(pl.col("amount").sum()).iter_rows())
    for row in rows:
        if row["method"] != "pension" or row["first_year"]:
            assert totals.get(row["key"], 0) == row["annual_tax"], row
        else:  # a continuing person: what is withheld is at least the annual amount, never less
            assert totals.get(row["key"], 0) >= row["annual_tax"], row
    assert result["amount"].min() > 0
    salary = result.filter(pl.col("route") == "salary")
    assert (salary.filter(pl.col("sequence") > 0)["amount"] % 100 == 0).all()


# ------------------------------------------------------------------------------ the calculator
def test_bad_lines_get_one_error_each_and_the_others_are_answered():
    answers = calc(
        {"fiscal_year": 2026, "method": "ordinary", "annual_tax": 4_000},
        "not json",
        {"fiscal_year": 2026, "method": "monthly", "annual_tax": 4_000},
        {"fiscal_year": 2016, "method": "ordinary", "annual_tax": 4_000},
        {"fiscal_year": 2026, "method": "ordinary", "annual_tax": -1},
        {"fiscal_year": 2026, "method": "ordinary", "annual_tax": 4_000, "rounding_unit": 10},
        {"fiscal_year": 2026, "method": "pension", "annual_tax": 4_000},
        {"fiscal_year": 2026, "method": "pension", "annual_tax": 4_000, "first_year": False},
        {"fiscal_year": 2026, "method": "ordinary", "annual_tax": 4_000, "anual": 1},
        {"fiscal_year": 2026, "method": "salary", "annual_tax": 1_200},
    )
    assert amounts(answers[0]) == [1_000] * 4 and amounts(answers[-1]) == [100] * 12
    errors = [(a.get("field"), a.get("line")) for a in answers[1:-1]]
    assert errors == [("", 2), ("method", 3), ("fiscal_year", 4), ("annual_tax", 5), ("rounding_unit", 6),
                      ("first_year", 7), ("previous_year_annual_tax", 8), ("anual", 9)]
    assert "start at 2017" in answers[3]["error"]


def test_an_annual_amount_of_zero_has_no_installments():
    assert calc({"fiscal_year": 2026, "method": "ordinary", "annual_tax": 0}) == [{"installments": []}]


def test_the_command_line_reads_stdin_and_exits_1_when_a_line_failed(monkeypatch, capsys):
    from juminzei.cli import main

    lines = ['{"fiscal_year": 2026, "method": "salary", "annual_tax": 1200}', '{"fiscal_year": 2026}']
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["installments"]) == 1
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert amounts(first) == [100] * 12
    assert second == {"error": "method is required", "field": "method", "line": 2}


# ------------------------------------------------------------------------------ a notice issued late
@pytest.mark.parametrize(("notice_date", "periods", "expected"), [
    # 10 June: 30 June is 20 days ahead, every 納期 is used
    ("2026-06-10", ["2026-06", "2026-08", "2026-10", "2027-01"], [43_500, 43_000, 43_000, 43_000]),
    # 21 June: 30 June is 9 days ahead, less than the 10 days of 地方税法第319条の2第3項 → August, October,
    # January; 172,500 ÷ 3 = 57,500 → 57,000 a 期, the first 172,500 − 2 × 57,000 = 58,500
    ("2026-06-21", ["2026-08", "2026-10", "2027-01"], [58_500, 57_000, 57_000]),
    # 20 June: exactly 10 days before 30 June: June still counts
    ("2026-06-20", ["2026-06", "2026-08", "2026-10", "2027-01"], [43_500, 43_000, 43_000, 43_000]),
    # 1 December: only January is ahead (its 納期限 moves to Monday 1 February 2027)
    ("2026-12-01", ["2027-01"], [172_500]),
    # 25 January 2027: no 納期 is 10 days ahead (1 February is 7 days away): one 随時 納期 at the end of
    # February, the month after the notice (rules late_notice)
    ("2027-01-25", ["2027-02"], [172_500]),
])
def test_a_notice_issued_after_a_period_is_paid_in_the_periods_still_ahead(notice_date, periods, expected):
    (answer,) = calc({"fiscal_year": 2026, "method": "ordinary", "annual_tax": 172_500, "notice_date": notice_date})
    assert [i["period"] for i in answer["installments"]] == periods
    assert amounts(answer) == expected and sum(expected) == 172_500
    assert all(date.fromisoformat(i["due_date"]) >= date.fromisoformat(notice_date) for i in answer["installments"])


def test_a_late_first_year_pensioner_pays_the_ordinary_half_in_august_only():
    """伊東市's first-year pattern (half by 普通徴収 in June and August) with a notice of 1 July: June is gone,
    so the half, 30,000 of 60,000, is due in August; the 本徴収 is unchanged (10,000 × 3)."""
    (answer,) = calc({"fiscal_year": 2026, "method": "pension", "annual_tax": 60_000, "first_year": True,
                      "notice_date": "2026-07-01"})
    assert [(i["period"], i["amount"], i["route"]) for i in answer["installments"]] == [
        ("2026-08", 30_000, "ordinary"), ("2026-10", 10_000, "pension_main"), ("2026-12", 10_000, "pension_main"),
        ("2027-02", 10_000, "pension_main")]


def test_a_notice_date_that_is_not_a_date_of_the_year_is_one_error_line():
    bad, other = calc({"fiscal_year": 2026, "method": "ordinary", "annual_tax": 1000, "notice_date": "2026-13-01"},
                      {"fiscal_year": 2026, "method": "ordinary", "annual_tax": 1000, "notice_date": "2029-06-01"})
    assert bad["field"] == other["field"] == "notice_date"
    assert "YYYY-MM-DD" in bad["error"] and "not in 年度 2026" in other["error"]


# ------------------------------------------------------------------------------ 給与特別徴収 after 31 May
@pytest.mark.parametrize(("notice_date", "first_period", "expected"), [
    # by 31 May (地方税法第321条の4第1項): June to May, 1/12 rounded down to 100円 (8,337 → 8,300), the
    # fractions in June: 100,050 − 11 × 8,300 = 8,750
    ("2026-05-31", "2026-06", [8_750] + [8_300] * 11),
    # 1 June, a day late: from July (the month after the notice) to May, 11 months: 100,050 ÷ 11 = 9,095 →
    # 9,000; July 100,050 − 10 × 9,000 = 10,050
    ("2026-06-01", "2026-07", [10_050] + [9_000] * 10),
    # 15 July: August to May, 10 months: 10,005 → 10,000; August 100,050 − 9 × 10,000 = 10,050
    ("2026-07-15", "2026-08", [10_050] + [10_000] * 9),
    # 2 April 2027: May only, the whole amount
    ("2027-04-02", "2027-05", [100_050]),
])
def test_salary_withholding_notified_after_31_may_starts_the_month_after_the_notice(notice_date, first_period, expected):
    """第321条の5第1項 (and its ただし書, docs/installments.md): a 特別徴収税額 notified after 31 May is
    withheld from the month after the notice to May, equal monthly amounts rounded down to 100円 with the
    fractions in the first month."""
    (answer,) = calc({"fiscal_year": 2026, "method": "salary", "annual_tax": 100_050, "notice_date": notice_date})
    assert answer["installments"][0]["period"] == first_period
    assert answer["installments"][-1]["period"] == "2027-05"
    assert amounts(answer) == expected and sum(expected) == 100_050
    assert {i["route"] for i in answer["installments"]} == {"salary"}


def test_a_salary_notice_after_the_last_month_is_one_error_line_and_the_others_are_answered():
    late, on_time = calc({"fiscal_year": 2026, "method": "salary", "annual_tax": 100_050, "notice_date": "2027-05-02"},
                         {"fiscal_year": 2026, "method": "salary", "annual_tax": 1_200, "notice_date": "2026-05-01"})
    assert late["field"] == "notice_date" and late["line"] == 1
    assert "no month" in late["error"] and "普通徴収" in late["error"]
    assert amounts(on_time) == [100] * 12


def test_an_empty_input_answers_with_the_columns_of_a_non_empty_one_in_the_same_order():
    from transforms.installments import installments_frame

    frame = pl.DataFrame(schema={"key": pl.Int64, "fiscal_year": pl.Int32, "method": pl.String, "annual_tax": pl.Int64,
                                 "rounding_unit": pl.Int64, "due_months": pl.List(pl.Int32), "due_day": pl.String,
                                 "first_year": pl.Boolean, "previous_year_annual_tax": pl.Int64})
    one = frame.vstack(pl.DataFrame({"key": [1], "fiscal_year": [2026], "method": ["salary"], "annual_tax": [1_200],
                                     "rounding_unit": [1000], "due_months": [[6, 8, 10, 1]], "due_day": ["last"],
                                     "first_year": [False], "previous_year_annual_tax": [None]}, schema=frame.schema))
    assert installments_frame(frame).schema == installments_frame(one).schema
    assert installments_frame(frame).columns == ["key", "sequence", "period", "due_date", "amount", "route"]
