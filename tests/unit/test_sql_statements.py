"""The DuckDB statements of sql/ (pipelines/sql.py) on small hand-made ledgers.

Every expected figure is worked out here from the bookkeeping the statement states in its header (調定 is
changed only by 増額・減額の調定 rows, 地方自治法施行令第154条; what came in beyond what was charged is 過誤納,
地方税法第17条), never read back from the statement. Every person is synthetic.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from contracts.errors import ConfigError
from pipelines.sql import load_statement, run_statement, statement_names

LEDGER_SCHEMA = {"posting_run": pl.String, "posted_on": pl.Date, "entry_kind": pl.String, "atena_no": pl.String,
                 "fiscal_year": pl.Int64, "route": pl.String, "payer": pl.String, "notice_no": pl.String,
                 "period": pl.String, "due_date": pl.Date, "amount": pl.Int64}


def _ledger(rows: list[tuple]) -> pl.DataFrame:
    """Rows of (posting_run, posted_on, entry_kind, atena_no, period, due_date, amount) of 年度 2026's 普通徴収,
    or with (…, route, payer, 年度) after them; the 通知書番号 is N-<atena_no>."""
    full = []
    for run, posted, kind, who, period, due, amount, *rest in rows:
        route, payer, year = rest or ("ordinary", None, 2026)
        full.append((run, d(posted), kind, who, year, route, payer, f"N-{who}", period, d(due), amount))
    return pl.DataFrame(full, schema=LEDGER_SCHEMA, orient="row")


def d(text: str) -> date:
    return date.fromisoformat(text)


def test_every_statement_has_its_header_and_declares_exactly_the_parameters_it_uses():
    names = statement_names()
    assert "receivable_balances" in names
    for name in names:
        statement = load_statement(name)
        assert statement.answers and statement.basis, name


def test_a_balance_is_the_sum_of_the_rows_posted_by_the_day():
    """A: 期別 1 charged 10,000, raised by 2,000 (増額調定) on 7-15, 9,000 paid on 6-30 → 12,000 − 9,000 = 3,000
    unpaid on 7-31, but 1,000 unpaid on 6-30 (the increase not posted yet). B: 期別 1 charged 5,000, paid 5,000
    twice (a bank payment and a convenience-store one) → 5,000 overpaid until 2,000 is 充当 to 期別 2 (charged
    4,000: 2,000 unpaid) and the other 3,000 refunded → both periods square. A 2025 row is not of 年度 2026."""
    ledger = _ledger([
        ("r1", "2026-06-10", "assessment", "A", "2026-06", "2026-06-30", 10_000),
        ("r2", "2026-06-30", "payment", "A", "2026-06", "2026-06-30", 9_000),
        ("r3", "2026-07-15", "increase", "A", "2026-06", "2026-06-30", 2_000),
        ("r1", "2026-06-10", "assessment", "B", "2026-06", "2026-06-30", 5_000),
        ("r1", "2026-06-10", "assessment", "B", "2026-08", "2026-08-31", 4_000),
        ("r2", "2026-06-29", "payment", "B", "2026-06", "2026-06-30", 5_000),
        ("r2", "2026-06-30", "payment", "B", "2026-06", "2026-06-30", 5_000),
        ("r4", "2026-07-20", "appropriation_out", "B", "2026-06", "2026-06-30", 2_000),
        ("r4", "2026-07-20", "appropriation_in", "B", "2026-08", "2026-08-31", 2_000),
        ("r5", "2026-07-25", "refund", "B", "2026-06", "2026-06-30", 3_000),
        ("r0", "2025-06-10", "assessment", "A", "2025-06", "2025-06-30", 7_000, "ordinary", None, 2025),
    ])
    columns = ["atena_no", "period", "charged", "received", "unpaid", "overpaid"]
    june = run_statement("receivable_balances", {"fiscal_year": 2026, "as_of": d("2026-06-30")}, {"ledger": ledger})
    assert june.select(columns).rows() == [
        ("A", "2026-06", 10_000, 9_000, 1_000, 0), ("B", "2026-06", 5_000, 10_000, 0, 5_000),
        ("B", "2026-08", 4_000, 0, 4_000, 0)]
    july = run_statement("receivable_balances", {"fiscal_year": 2026, "as_of": d("2026-07-31")}, {"ledger": ledger})
    assert july.select(columns).rows() == [
        ("A", "2026-06", 12_000, 9_000, 3_000, 0), ("B", "2026-06", 5_000, 5_000, 0, 0),
        ("B", "2026-08", 4_000, 2_000, 2_000, 0)]
    assert july.schema["charged"] == pl.Int64 and july.schema["unpaid"] == pl.Int64


def test_the_same_statement_reads_the_ledger_partitions_from_parquet(tmp_path):
    ledger = _ledger([
        ("r1", "2026-06-10", "assessment", "A", "2026-06", "2026-07-10", 1_200, "salary", "E001", 2026),
        ("r2", "2026-07-10", "payment", "A", "2026-06", "2026-07-10", 1_200, "salary", "E001", 2026),
    ])
    files = []
    for run, part in ledger.group_by("posting_run", maintain_order=True):
        path = tmp_path / f"posting_run={run[0]}.parquet"
        part.write_parquet(path)
        files.append(path)
    result = run_statement("receivable_balances", {"fiscal_year": 2026, "as_of": d("2026-07-31")}, {"ledger": files})
    assert result.select("payer", "charged", "received", "unpaid").rows() == [("E001", 1_200, 1_200, 0)]


def test_a_statement_without_its_header_or_with_an_undeclared_parameter_is_refused(tmp_path, monkeypatch):
    import pipelines.sql as sql

    monkeypatch.setattr(sql, "SQL_DIR", tmp_path)
    sql.load_statement.cache_clear()
    (tmp_path / "no_header.sql").write_text("SELECT 1\n", encoding="utf-8")
    (tmp_path / "undeclared.sql").write_text("-- answers: x\n-- basis: bookkeeping\n-- params: $a\nSELECT $a + $b\n",
                                             encoding="utf-8")
    (tmp_path / "two.sql").write_text("-- answers: x\n-- basis: bookkeeping\n-- params: none\nSELECT 1; SELECT 2\n",
                                      encoding="utf-8")
    (tmp_path / "fine.sql").write_text("-- answers: x\n-- basis: bookkeeping\n-- params: $a\n-- '$b' in a comment\n"
                                       "SELECT $a + 1 AS y, '$c' AS z\n", encoding="utf-8")
    try:
        with pytest.raises(ConfigError, match="lacks answers, basis, params"):
            sql.load_statement("no_header")
        with pytest.raises(ConfigError, match=r"uses \['a', 'b'\]"):
            sql.load_statement("undeclared")
        with pytest.raises(ConfigError, match="more than one statement"):
            sql.load_statement("two")
        assert sql.run_statement("fine", {"a": 1}, {}).rows() == [(2, "$c")]
        with pytest.raises(ConfigError, match="takes parameters"):
            sql.run_statement("fine", {"a": 1, "b": 2}, {})
    finally:
        sql.load_statement.cache_clear()


def test_the_totals_of_a_route_sum_unpaid_and_overpaid_per_period():
    """The ledger of test_a_balance_is_the_sum_of_the_rows_posted_by_the_day on 6-30: 普通徴収 調定 10,000 + 5,000 +
    4,000 = 19,000; 収入 9,000 + 10,000 = 19,000; yet 未納 1,000 (A) + 4,000 (B's 2nd 期) = 5,000 and 過誤納 5,000
    (B's 1st 期 paid twice): an overpaid 期 pays no other until it is 充当. A salary receivable of 1,200 stays
    unpaid."""
    ledger = _ledger([
        ("r1", "2026-06-10", "assessment", "A", "2026-06", "2026-06-30", 10_000),
        ("r2", "2026-06-30", "payment", "A", "2026-06", "2026-06-30", 9_000),
        ("r1", "2026-06-10", "assessment", "B", "2026-06", "2026-06-30", 5_000),
        ("r1", "2026-06-10", "assessment", "B", "2026-08", "2026-08-31", 4_000),
        ("r2", "2026-06-29", "payment", "B", "2026-06", "2026-06-30", 5_000),
        ("r2", "2026-06-30", "payment", "B", "2026-06", "2026-06-30", 5_000),
        ("r1", "2026-06-10", "assessment", "C", "2026-06", "2026-07-10", 1_200, "salary", "E0000001", 2026),
    ])
    totals = run_statement("collection_totals", {"fiscal_year": 2026, "as_of": d("2026-06-30")}, {"ledger": ledger})
    assert totals.rows() == [("ordinary", 3, 19_000, 19_000, 5_000, 5_000), ("salary", 1, 1_200, 0, 1_200, 0)]


def test_the_days_receipts_count_each_movement_of_money_once():
    """On 6-30: A paid 9,000 and B 5,000 (two 普通徴収 payments, 14,000), and C's employer remitted 1,200; B's
    payment of 6-29 and the 調定 rows are not receipts of the day."""
    ledger = _ledger([
        ("r1", "2026-06-10", "assessment", "A", "2026-06", "2026-06-30", 10_000),
        ("r2", "2026-06-30", "payment", "A", "2026-06", "2026-06-30", 9_000),
        ("r2", "2026-06-29", "payment", "B", "2026-06", "2026-06-30", 5_000),
        ("r2", "2026-06-30", "payment", "B", "2026-06", "2026-06-30", 5_000),
        ("r2", "2026-06-30", "payment", "C", "2026-06", "2026-07-10", 1_200, "salary", "E0000001", 2026),
    ])
    day = run_statement("daily_receipts", {"fiscal_year": 2026, "day": d("2026-06-30")}, {"ledger": ledger})
    assert day.rows() == [("payment", "ordinary", 2, 14_000), ("payment", "salary", 1, 1_200)]


# ------------------------------------------------------------------------ suspense and file reconciliation
def _full_ledger(rows: list[tuple]) -> pl.DataFrame:
    """(entry_kind, atena_no, period, installment, due_date, amount, cause) rows of 年度 2026's 普通徴収, posted
    2026-07-01, 通知書番号 2026 1 <atena_no>."""
    return pl.DataFrame(
        [("2026-07-01", d("2026-07-01"), kind, atena, 2026, "ordinary", None, f"20261{atena}", period, inst, due,
          amount, cause) for kind, atena, period, inst, due, amount, cause in rows],
        schema={"posting_run": pl.String, "posted_on": pl.Date, "entry_kind": pl.String, "atena_no": pl.String,
                "fiscal_year": pl.Int64, "route": pl.String, "payer": pl.String, "notice_no": pl.String,
                "period": pl.String, "installment": pl.Int32, "due_date": pl.Date, "amount": pl.Int64,
                "cause": pl.String}, orient="row")


OUTCOMES = {"file": pl.String, "record_no": pl.Int64, "disposition": pl.String, "reason_code": pl.String,
            "notice_no": pl.String, "amount": pl.Int64, "posted_amount": pl.Int64, "suspense_amount": pl.Int64}


def test_suspense_candidates_are_the_persons_unpaid_periods_the_exact_amount_first():
    """A payment of 9,000 quoting 第7期 of A's notice (no such 期) is held; A owes 第2期 9,000 (unpaid) and 第3期
    9,000 − 4,000 = 5,000: both are candidates, 第2期 first (its unpaid equals the payment); 第1期 is paid."""
    a = "0100000001"
    ledger = _full_ledger([
        ("assessment", a, "2026-06", 1, d("2026-06-30"), 10_000, "schedule"),
        ("assessment", a, "2026-08", 2, d("2026-08-31"), 9_000, "schedule"),
        ("assessment", a, "2026-10", 3, d("2026-11-02"), 9_000, "schedule"),
        ("payment", a, "2026-06", 1, d("2026-06-30"), 10_000, "bank_counter:f1#2"),
        ("payment", a, "2026-10", 3, d("2026-11-02"), 4_000, "bank_counter:f1#3"),
    ])
    suspense = pl.DataFrame([("f2", 5, "suspense", "unknown_installment", f"20261{a}", 9_000, 0, 9_000),
                             ("f2", 6, "suspense", "unknown_notice", "202619999999999", 5_000, 0, 5_000)],
                            schema=OUTCOMES, orient="row")
    out = run_statement("suspense_candidates", {"fiscal_year": 2026, "as_of": d("2026-07-31")},
                        {"ledger": ledger, "suspense": suspense})
    assert out.select("record_no", "period", "unpaid", "exact_amount").rows() == [
        (5, "2026-08", 9_000, True), (5, "2026-10", 5_000, False)]  # nobody for record 6


def test_payment_reconciliation_holds_each_file_to_the_ledger():
    """File f1: three records — two posted (10,000 and 4,000 yen), one quarantined — and the ledger holds 14,000
    yen from it: it reconciles. File f3: one record says 2,000 posted but the ledger holds nothing from it."""
    a = "0100000001"
    ledger = _full_ledger([
        ("assessment", a, "2026-06", 1, d("2026-06-30"), 10_000, "schedule"),
        ("payment", a, "2026-06", 1, d("2026-06-30"), 10_000, "bank_counter:f1#2"),
        ("payment", a, "2026-06", 1, d("2026-06-30"), 4_000, "bank_counter:f1#3"),
    ])
    records = pl.DataFrame([("f1", 2, "posted", None, f"20261{a}", 10_000, 10_000, 0),
                            ("f1", 3, "posted", None, f"20261{a}", 4_000, 4_000, 0),
                            ("f1", 4, "quarantined", "invalid_date", None, None, 0, 0),
                            ("f3", 2, "posted", None, f"20261{a}", 2_000, 2_000, 0)], schema=OUTCOMES, orient="row")
    out = run_statement("payment_reconciliation", {"fiscal_year": 2026}, {"ledger": ledger, "records": records})
    assert out.select("file", "records", "posted", "quarantined", "posted_yen", "ledger_yen", "reconciles").rows() == [
        ("f1", 3, 2, 1, 14_000, 14_000, True), ("f3", 1, 1, 0, 2_000, 0, False)]
