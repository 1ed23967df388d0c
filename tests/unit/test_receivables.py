"""調定 rows from the installment schedule (transforms/receivables.py), on a hand-made schedule.

What each row must be follows from the notices: one 調定 per 期別 of each route and 特別徴収義務者, the amount the
notice prints for that 期 (a first-year pensioner's June and August 普通徴収 carry the other income's installment
and half the pension tax together), the 通知書番号 of the notice that told it (納税通知書: 年度 + 1 + 宛名番号;
特別徴収税額決定通知書: 年度 + 2 + 宛名番号). Every person is synthetic.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from contracts.collection import LedgerEntries
from pipelines.sql import run_statement
from transforms.receivables import assessment_entries

#: 港区's 普通徴収 納期 (rules/profiles special_ward.yaml ordinary_collection.due_months; 地方税法第320条)
DUE_MONTHS = [6, 8, 10, 1]
SCHEDULE = {"person_id": pl.String, "method": pl.String, "sequence": pl.Int32, "period": pl.String,
            "due_date": pl.Date, "amount": pl.Int64, "route": pl.String, "payer": pl.String}


def _schedule() -> pl.DataFrame:
    rows = [
        # A: 普通徴収 of other income in four 期, and a first-year pension: half in June and August by 普通徴収,
        # the other half withheld in October, December and February
        ("0100000001", "ordinary", 0, "2026-06", date(2026, 6, 30), 16_500, "ordinary", None),
        ("0100000001", "ordinary", 1, "2026-08", date(2026, 8, 31), 13_000, "ordinary", None),
        ("0100000001", "ordinary", 2, "2026-10", date(2026, 11, 2), 13_000, "ordinary", None),
        ("0100000001", "ordinary", 3, "2027-01", date(2027, 2, 1), 13_000, "ordinary", None),
        ("0100000001", "pension", 0, "2026-06", date(2026, 6, 30), 41_400, "ordinary", None),
        ("0100000001", "pension", 1, "2026-08", date(2026, 8, 31), 40_000, "ordinary", None),
        ("0100000001", "pension", 2, "2026-10", date(2026, 11, 10), 27_200, "pension_main", "999"),
        ("0100000001", "pension", 3, "2026-12", date(2027, 1, 12), 27_100, "pension_main", "999"),
        ("0100000001", "pension", 4, "2027-02", date(2027, 3, 10), 27_100, "pension_main", "999"),
        # B: 給与特別徴収, June and July shown, and a month of 0 (nothing to collect, no 調定)
        ("0100000002", "salary", 0, "2026-06", date(2026, 7, 10), 8_300, "salary", "E0000001"),
        ("0100000002", "salary", 1, "2026-07", date(2026, 8, 10), 8_200, "salary", "E0000001"),
        ("0100000002", "salary", 2, "2026-08", date(2026, 9, 10), 0, "salary", "E0000001"),
    ]
    return pl.DataFrame(rows, schema=SCHEDULE, orient="row")


def test_one_receivable_per_period_route_and_payer_with_the_notices_number():
    entries = assessment_entries(_schedule().reverse(), fiscal_year=2026, posted_on=date(2026, 5, 20),
                                 posting_run="run-1", due_months=DUE_MONTHS)
    LedgerEntries.validate(entries)
    assert entries.select("atena_no", "route", "payer", "notice_no", "period", "installment", "due_date",
                          "amount").rows() == [
        # 期別: 普通徴収 第1期 (June) … 第4期 (January); 特別徴収 the month of the 年度 counted from April = 1
        ("0100000001", "ordinary", None, "202610100000001", "2026-06", 1, date(2026, 6, 30), 57_900),  # 16,500 + 41,400
        ("0100000001", "ordinary", None, "202610100000001", "2026-08", 2, date(2026, 8, 31), 53_000),  # 13,000 + 40,000
        ("0100000001", "ordinary", None, "202610100000001", "2026-10", 3, date(2026, 11, 2), 13_000),
        ("0100000001", "ordinary", None, "202610100000001", "2027-01", 4, date(2027, 2, 1), 13_000),
        ("0100000001", "pension_main", "999", "202610100000001", "2026-10", 7, date(2026, 11, 10), 27_200),
        ("0100000001", "pension_main", "999", "202610100000001", "2026-12", 9, date(2027, 1, 12), 27_100),
        ("0100000001", "pension_main", "999", "202610100000001", "2027-02", 11, date(2027, 3, 10), 27_100),
        ("0100000002", "salary", "E0000001", "202620100000002", "2026-06", 3, date(2026, 7, 10), 8_300),
        ("0100000002", "salary", "E0000001", "202620100000002", "2026-07", 4, date(2026, 8, 10), 8_200),
    ]
    # each 調定 names where its figures came from, for an auditor rebuilding it (docs/collection.md)
    assert entries["cause"].unique().to_list() == ["curated/installment_schedule"]
    assert set(entries["entry_kind"]) == {"assessment"} and set(entries["posting_run"]) == {"run-1"}
    # the same schedule gives the same ids: a rerun recognises what it posted
    again = assessment_entries(_schedule(), fiscal_year=2026, posted_on=date(2026, 5, 20), posting_run="run-1", due_months=DUE_MONTHS)
    assert again.equals(entries)


def test_the_opening_balances_are_what_the_notices_told():
    """Before any payment every receivable is unpaid: A owes 57,900 + 53,000 + 13,000 × 2 + 27,200 + 27,100 × 2 =
    218,300 yen, B 8,300 + 8,200 = 16,500 yen."""
    entries = assessment_entries(_schedule(), fiscal_year=2026, posted_on=date(2026, 5, 20), posting_run="run-1", due_months=DUE_MONTHS)
    balances = run_statement("receivable_balances", {"fiscal_year": 2026, "as_of": date(2026, 5, 31)},
                             {"ledger": entries})
    per_person = balances.group_by("atena_no").agg(pl.col("charged").sum(), pl.col("unpaid").sum()).sort("atena_no")
    assert per_person.rows() == [("0100000001", 218_300, 218_300), ("0100000002", 16_500, 16_500)]
    # nothing posted before the notice date
    before = run_statement("receivable_balances", {"fiscal_year": 2026, "as_of": date(2026, 5, 19)},
                           {"ledger": entries})
    assert before.height == 0


def test_a_period_the_notices_no_longer_name_falls_to_zero_by_a_decrease():
    """A pension switch takes A's 本徴収 of December out of the pension route (地方税法第321条の7の6: what the
    insurer no longer withholds is collected by 普通徴収): the notices sent after it no longer name that 期, so
    the ledger's 27,100 yen 調定 of it is lowered by a ``decrease`` of 27,100 — a new row, never an edit."""
    from transforms.collection import balances
    from transforms.receivables import charge_entries, receivables

    opening = assessment_entries(_schedule(), fiscal_year=2026, posted_on=date(2026, 5, 20), posting_run="run-1",
                                 due_months=DUE_MONTHS)
    after = _schedule().filter(~((pl.col("route") == "pension_main") & (pl.col("period") == "2026-12")))
    rows = charge_entries(receivables(after, fiscal_year=2026, due_months=DUE_MONTHS), balances(opening),
                          opening=False, fiscal_year=2026, posting_run="2026-11-20", posted_on=date(2026, 11, 20),
                          cause="curated/pension_moves")
    LedgerEntries.validate(rows)
    assert rows.select("entry_kind", "atena_no", "route", "period", "installment", "due_date", "amount").rows() == [
        ("decrease", "0100000001", "pension_main", "2026-12", 9, date(2027, 1, 12), 27_100)]


def test_the_notices_sent_by_a_day_tell_the_pension_months_a_stop_moved_and_the_ordinary_periods_that_took_them():
    """A pensioner P is withheld 8,000 yen in each of 2026-10, 2026-12 and 2027-02 (年金特別徴収 本徴収). The
    insurer stops the withholding; the ward's notice of 2026-11-16 (納税通知書 (変更)) moves December and February
    (16,000 yen) to 普通徴収, due 2027-02-01 (第4期), 地方税法第321条の7の10. Up to the day before that notice the
    schedule is the 当初 one; from that day on, P's December and February are gone, an ordinary 期 of 16,000 with
    no payer is there, and nobody else's rows change."""
    from transforms.receivables import notified_schedule

    p, a = "0100000007", "0100000001"
    cols = {"person_id": pl.String, "route": pl.String, "payer": pl.String, "period": pl.String,
            "due_date": pl.Date, "amount": pl.Int64}
    schedule = pl.DataFrame([
        (p, "pension_main", "999", "2026-10", date(2026, 11, 10), 8_000),
        (p, "pension_main", "999", "2026-12", date(2027, 1, 12), 8_000),
        (p, "pension_main", "999", "2027-02", date(2027, 3, 10), 8_000),
        (a, "ordinary", None, "2026-06", date(2026, 6, 30), 10_000),
    ], schema=cols, orient="row")
    moves = pl.DataFrame({"atena_no": [p, p], "period": ["2026-12", "2027-02"],
                          "route": ["pension_main", "pension_main"],
                          "notice_date": [date(2026, 11, 16), date(2026, 11, 16)]})
    switch = pl.DataFrame({"person_id": [p], "period": ["2027-01"], "due_date": [date(2027, 2, 1)],
                           "amount": pl.Series([16_000], dtype=pl.Int32), "notice_date": [date(2026, 11, 16)]})

    def told(day: date) -> list[tuple]:
        out = notified_schedule(schedule, moves, switch, as_of=day)
        assert out.schema == pl.Schema(cols)
        return sorted(out.rows(), key=lambda r: (r[0], r[1], r[3]))

    assert told(date(2026, 11, 15)) == sorted(schedule.rows(), key=lambda r: (r[0], r[1], r[3]))
    assert told(date(2026, 11, 16)) == [
        (a, "ordinary", None, "2026-06", date(2026, 6, 30), 10_000),
        (p, "ordinary", None, "2027-01", date(2027, 2, 1), 16_000),
        (p, "pension_main", "999", "2026-10", date(2026, 11, 10), 8_000),
    ]
    # no stop and no switch: the 当初 schedule as it is
    assert notified_schedule(schedule, None, None, as_of=date(2027, 5, 31)).equals(schedule)
    assert notified_schedule(schedule, moves.head(0), switch.head(0), as_of=date(2027, 5, 31)).equals(schedule)
