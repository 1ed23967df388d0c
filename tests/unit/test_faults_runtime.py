"""The stage glue that an audit could break without a test noticing: the reconciliation gate (in the stage
and in the DAG's last task), the first task's refusal of a bad configuration, and the default fiscal year
at the Asia/Tokyo year boundary (also when it comes from the clock, not from a logical date).

The expected values follow from the rules stated in each docstring, not from running the code.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone

import polars as pl
import pytest

from contracts.errors import ConfigError, JuminzeiError, ReconciliationError

M = "131032"


class _Run:
    def __init__(self, run_type: str):
        self.run_type = run_type


def _context(params: dict, *, logical_date: datetime | None, run_type: str = "manual") -> dict:
    """What Airflow hands the first task (``resolve_run``): its params, the run and its logical date."""
    return {"params": params, "dag_run": _Run(run_type), "logical_date": logical_date}


FORM = {"fiscal_year": None, "municipality": M, "dry_run": False}


# ------------------------------------------------------------------- the default fiscal year (年度)
@pytest.mark.parametrize(
    "moment,fiscal_year",
    [
        (datetime(2026, 12, 31, 15, 30, tzinfo=UTC), 2027),  # 2027-01-01 00:30 in Tokyo
        (datetime(2026, 12, 31, 15, 0, tzinfo=UTC), 2027),   # 2027-01-01 00:00 in Tokyo
        (datetime(2026, 12, 31, 14, 59, tzinfo=UTC), 2026),  # 2026-12-31 23:59 in Tokyo
        (datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=9))), 2027),
    ],
)
def test_first_task_takes_the_fiscal_year_of_the_tokyo_date(moment, fiscal_year):
    """年度 N is assessed on the residents of 1 January N (賦課期日, 地方税法第39条・第318条), a date of the ward
    (Asia/Tokyo, UTC+9, no daylight saving): from 15:00 UTC on 31 December it is already 1 January in Tokyo.
    Checked through the DAG's first task both with a logical date and, for a manual run without one (Airflow 3),
    with the clock."""
    from pipelines import runtime

    for stage in ("resident_snapshot", "returns_ingest", "record_merge", "tax_assessment"):
        assert runtime.resolve_dag_run(stage, _context(FORM, logical_date=moment))["fiscal_year"] == fiscal_year
        assert runtime.resolve_run_config(stage, FORM, now=moment)["fiscal_year"] == fiscal_year


@pytest.mark.parametrize(
    "clock,fiscal_year",
    [(datetime(2026, 12, 31, 15, 30, tzinfo=UTC), 2027), (datetime(2026, 12, 31, 14, 59, tzinfo=UTC), 2026)],
)
def test_a_manual_run_without_a_logical_date_reads_the_clock_in_tokyo(monkeypatch, clock, fiscal_year):
    """Without a logical date the run date is the moment the first task runs (the clock), again as a Tokyo date."""
    from pipelines import runtime

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return clock if tz is None else clock.astimezone(tz)

    monkeypatch.setattr(runtime, "datetime", Clock)
    run = runtime.resolve_dag_run("record_merge", _context(FORM, logical_date=None))
    assert run["fiscal_year"] == fiscal_year


# --------------------------------------------------------------------- the first task refuses a bad form
@pytest.mark.parametrize(
    "params,sentence",
    [
        ({**FORM, "fiscal_yaer": 2026}, r"unknown configuration key 'fiscal_yaer' \(did you mean 'fiscal_year'\?\)"),
        ({**FORM, "landing": "/tmp"}, r"unknown configuration key 'landing'"),  # returns_ingest only
        ({**FORM, "fiscal_year": 2019}, r"fiscal_year 2019 is outside 2020–2100"),
        ({**FORM, "fiscal_year": 2101}, r"fiscal_year 2101 is outside 2020–2100"),
        ({**FORM, "fiscal_year": "twenty"}, r"fiscal_year must be a year such as 2026"),
        ({**FORM, "fiscal_year": 2026.5}, r"whole year"),
        ({**FORM, "municipality": "13103"}, r"municipality must be a 6-digit"),
        ({**FORM, "dry_run": "yes"}, r"dry_run must be true or false"),
    ],
)
def test_first_task_refuses_a_bad_configuration(params, sentence):
    """STYLE rule 4: the first task validates the whole run configuration and fails with an operator sentence
    (a :class:`ConfigError`), so no stage runs on a misspelled or impossible form."""
    from pipelines.runtime import resolve_dag_run

    with pytest.raises(ConfigError, match=sentence):
        resolve_dag_run("record_merge", _context(params, logical_date=datetime(2026, 5, 20, 3, tzinfo=UTC)))


def test_first_task_refuses_an_unknown_stage():
    from pipelines.runtime import resolve_dag_run

    with pytest.raises(ConfigError):
        resolve_dag_run("tax_refund", _context(FORM, logical_date=datetime(2026, 5, 20, 3, tzinfo=UTC)))


# -------------------------------------------------------------------------- the reconciliation gate
def _report(received: int, staged: int, quarantined: int, forwarded: int = 0):
    from pipelines.reports import RunReport

    report = RunReport("returns_ingest", M, 2026, "20260520T030000Z-returns_ingest-0a1b2c3d",
                       datetime(2026, 5, 20, 3, tzinfo=UTC))
    report.add_input_counts("landing/salary_report/x.csv", received=received, staged=staged, quarantined=quarantined,
                            forwarded=forwarded, source="salary_report")
    report.add_quarantine_reasons({"bad_date": quarantined})
    return report


def test_stage_gate_refuses_counts_that_do_not_reconcile():
    """Every received record must be staged, quarantined or forwarded (docs/run-report.md): 10 received, 8
    staged, 1 quarantined loses a record, and the gate raises before anything is written."""
    from pipelines.stage import require_reconciled

    with pytest.raises(ReconciliationError, match=r"input:landing/salary_report/x\.csv.*nothing was written"):
        require_reconciled(_report(10, 8, 1))
    require_reconciled(_report(10, 8, 1, forwarded=1))  # accounted for: no error


def test_a_stage_whose_counts_do_not_reconcile_writes_nothing(tmp_path, monkeypatch):
    """The gate inside a stage (pipelines.stage.execute + require_reconciled): the body counts a lost record,
    calls the gate, then would write; the run fails, its report says so, and no partition exists."""
    from pipelines import lake
    from pipelines.config import Settings
    from pipelines.stage import execute, require_reconciled

    settings = Settings.from_env({"JUMINZEI_HOME": str(tmp_path), "JUMINZEI_LAKE": str(tmp_path / "lake")})

    def body(settings, report):
        report.add_input_counts("landing/salary_report/x.csv", received=3, staged=1, quarantined=1,
                                source="salary_report")
        report.add_quarantine_reasons({"bad_date": 1})
        require_reconciled(report)
        lake.write_partition(settings.lake, "staging", "salary_reports", M, 2026,
                             pl.DataFrame({"doc_uid": ["a"]}), sort_by=["doc_uid"], run_id=report.run_id)

    with pytest.raises(ReconciliationError):
        execute("returns_ingest", body, fiscal_year=2026, municipality=M, settings=settings,
                run_id="20260520T030000Z-returns_ingest-0a1b2c3d", dry_run=False, log=logging.getLogger("t"))
    written = sorted(p.relative_to(settings.lake).parts[0] for p in settings.lake.rglob("*") if p.is_file())
    assert set(written) == {"reports", "audit", "locks"}  # no data: the report, the run's start and end, its lock
    from pipelines.audit import read_audit
    from pipelines.reports import load_latest

    assert [(r["operation"], r["details"].get("status")) for r in read_audit(settings.lake)] == [
        ("stage_run_started", None), ("stage_run_finished", "failed")]

    [latest] = load_latest(settings.lake)
    assert latest["status"] == "failed" and latest["reconciliation"]["ok"] is False
    assert "do not reconcile" in latest["messages"][-1]


def test_the_last_task_gate_fails_on_a_summary_that_does_not_reconcile():
    """The DAG's ``check_reconciliation`` (pipelines.runtime.require_reconciled) stops a run whose report does not
    reconcile before ``publish`` emits any Asset event: the summary of such a report carries ``reconciles: False``."""
    from pipelines.runtime import require_reconciled, summarize

    report = _report(10, 8, 1)
    finished = {**report.finish("success", datetime(2026, 5, 20, 3, 1, tzinfo=UTC)), "report_path": "/lake/r.json"}
    summary = summarize(finished)
    assert summary["reconciles"] is False
    with pytest.raises(JuminzeiError, match=r"row counts do not reconcile \(received=10, staged=8, quarantined=1"):
        require_reconciled(summary)
    good = _report(10, 9, 1).finish("success", datetime(2026, 5, 20, 3, 1, tzinfo=UTC))
    assert require_reconciled(summarize(good))["reconciles"] is True
