"""One run at a time per stage, municipality and fiscal year (issue 16, point 6; pipelines/locks.py): a second run
is refused naming the first (library, CLI and Airflow task alike), other partitions are not held up, a killed
run's lock is taken at once, and the next run records the killed one as aborted in the audit trail."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pipelines import audit
from pipelines.config import Settings
from tests.unit.private_env import private_settings
from pipelines.locks import RunLockedError, acquire, lock_path
from pipelines.stage import execute

RUN_A = "20260520T030000Z-record_merge-0a1b2c3d"
RUN_B = "20260520T030500Z-record_merge-9f8e7d6c"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    return private_settings(tmp_path, monkeypatch, actor="sato")


def _run(settings, body, run_id=RUN_B, fiscal_year=2026):
    return execute("record_merge", body, fiscal_year=fiscal_year, municipality="131032", settings=settings,
                   run_id=run_id, dry_run=False, log=logging.getLogger("test.locks"))


def test_a_second_run_of_the_same_partition_is_refused_naming_the_first(settings):
    with acquire(settings.lake, "record_merge", "131032", 2026, run_id=RUN_A, actor="tanaka") as held:
        assert held.aborted is None
        with pytest.raises(RunLockedError) as refused:
            _run(settings, lambda s, r: pytest.fail("the refused run must not work"))
        sentence = str(refused.value)
        assert "record_merge 131032/2026 is already running" in sentence and RUN_A in sentence
        assert "tanaka" in sentence and f"process {os.getpid()}" in sentence and "wrote nothing" in sentence
        # nothing of the refused run: no report, no audit record
        assert not (settings.lake / "reports").exists()
        assert not audit.audit_path(settings.lake).exists()
        # another year, or another stage, is not held up
        assert _run(settings, lambda s, r: None, fiscal_year=2025)["status"] == "success"
    assert _run(settings, lambda s, r: None)["status"] == "success"  # free once the first has ended


def test_a_run_started_inside_a_run_of_the_same_stage_is_refused_and_the_first_ends_normally(settings):
    refusals = []

    def body(s, report):
        try:
            _run(s, lambda s2, r2: None, run_id=RUN_A)
        except RunLockedError as error:
            refusals.append(str(error))

    result = _run(settings, body)
    assert result["status"] == "success" and len(refusals) == 1 and RUN_B in refusals[0]
    assert f"started {result['started_at']} by sato" in refusals[0]  # the holder's operator and start
    operations = [(r["operation"], r["run_id"]) for r in audit.read_audit(settings.lake)]
    assert operations == [("stage_run_started", RUN_B), ("stage_run_finished", RUN_B)]
    started = audit.read_audit(settings.lake)[0]
    assert started["details"] == {"stage": "record_merge", "municipality": "131032", "fiscal_year": 2026,
                                  "dry_run": False}
    assert lock_path(settings.lake, "record_merge", "131032", 2026).read_bytes() == b""  # its description removed


def test_a_killed_run_leaves_no_lock_and_the_next_run_records_it_as_aborted(settings):
    holder = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {REPO!r})
        from pipelines.locks import acquire
        lock = acquire({str(settings.lake)!r}, "record_merge", "131032", 2026, run_id={RUN_A!r}, actor="tanaka")
        print("held", flush=True)
        time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "held"
        with pytest.raises(RunLockedError, match="tanaka"):
            _run(settings, lambda s, r: None)
        os.kill(process.pid, signal.SIGKILL)  # no chance to clean up
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    started = time.monotonic()
    result = _run(settings, lambda s, r: None)
    assert result["status"] == "success" and time.monotonic() - started < 30
    records = audit.read_audit(settings.lake)
    assert [(r["operation"], r["run_id"]) for r in records] == [
        ("stage_run_aborted", RUN_A), ("stage_run_started", RUN_B), ("stage_run_finished", RUN_B)]
    killed = records[0]["details"]["killed_run"]
    assert killed["run_id"] == RUN_A and killed["actor"] == "tanaka" and killed["pid"] == process.pid
    assert records[0]["details"]["recorded_by_run"] == RUN_B and records[0]["actor"] == "sato"
    assert audit.verify(settings.lake, settings=settings).ok


def test_the_end_record_names_the_operator_the_place_and_the_report_even_in_a_folder_called_reports(
        tmp_path, monkeypatch):
    import socket

    settings = private_settings(tmp_path, monkeypatch, actor="sato", JUMINZEI_LAKE=str(tmp_path / "reports" / "lake"),
                                JUMINZEI_DEPARTMENT="課税課")
    _run(settings, lambda s, r: None)
    finished = audit.read_audit(settings.lake)[-1]
    assert finished["operation"] == "stage_run_finished" and finished["dataset"] == "stage/record_merge"
    assert (finished["actor"], finished["department"], finished["host"]) == ("sato", "課税課", socket.gethostname())
    assert finished["details"] == {
        "status": "success", "report": f"record_merge/municipality=131032/fiscal_year=2026/{RUN_B}.json"}


def test_a_failed_run_ends_its_record_and_frees_the_lock(settings):
    from contracts.errors import ConfigError

    def body(s, report):
        raise ConfigError("a bad configuration")

    with pytest.raises(ConfigError):
        _run(settings, body)
    records = audit.read_audit(settings.lake)
    assert [r["operation"] for r in records] == ["stage_run_started", "stage_run_finished"]
    assert records[1]["details"]["status"] == "failed"
    assert records[1]["details"]["report"].endswith(f"{RUN_B}.json")
    report = json.loads((settings.lake / "reports" / records[1]["details"]["report"]).read_text(encoding="utf-8"))
    assert report["audit_head"] == {"seq": 1, "mac": records[0]["mac"]}  # the head when the report was written
    assert _run(settings, lambda s, r: None, run_id=RUN_A)["status"] == "success"
    assert [r["operation"] for r in audit.read_audit(settings.lake)][2:] == ["stage_run_started", "stage_run_finished"]


def test_the_cli_and_the_airflow_task_refuse_a_second_run_with_the_sentence(settings, capsys):
    from airflow.sdk.exceptions import AirflowFailException

    from juminzei.cli import main
    from pipelines.runtime import resolve_run_config, run_stage_task

    with acquire(settings.lake, "record_merge", "131032", 2026, run_id=RUN_A, actor="airflow:tanaka"):
        assert main(["run", "record_merge", "--fiscal-year", "2026"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("juminzei run: record_merge 131032/2026 is already running") and RUN_A in err
        assert "Traceback" not in err
        run = resolve_run_config("record_merge", {"fiscal_year": 2026, "municipality": "131032"})
        with pytest.raises(AirflowFailException, match="is already running: run " + RUN_A):
            run_stage_task(run)


def test_a_dag_run_names_its_airflow_user_in_the_audit_trail(settings):
    from types import SimpleNamespace

    from pipelines.runtime import resolve_dag_run, run_stage

    context = {"params": {"fiscal_year": 2026, "municipality": "131032"}, "logical_date": None,
               "dag_run": SimpleNamespace(triggering_user_name="tanaka", run_type="manual")}
    run = resolve_dag_run("record_merge", context)
    assert run["actor"] == "airflow:tanaka"
    from contracts.errors import ConfigError

    with pytest.raises(ConfigError, match="run resident_snapshot"):  # an empty lake; its start is recorded
        run_stage(run)
    started = [r for r in audit.read_audit(settings.lake) if r["operation"] == "stage_run_started"]
    assert started[0]["actor"] == "airflow:tanaka"
    context["dag_run"] = SimpleNamespace(triggering_user_name=None, run_type="scheduled")
    assert resolve_dag_run("record_merge", context)["actor"] == "airflow:scheduled"
