"""`juminzei status` as an operator calls it: a missing lake, a dry run beside a real run, a failed run."""

from __future__ import annotations

from datetime import UTC, datetime

from juminzei.cli import main
from pipelines import reports

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def _report(run_id: str, *, dry_run: bool = False, status: str = "success", message: str = "ok") -> dict:
    report = reports.RunReport("resident_snapshot", "131032", 2026, run_id, T0, dry_run=dry_run)
    report.add_input_counts("landing/a/x.csv", received=3, staged=3, quarantined=0, source="a")
    report.message(message)
    return report.finish(status, T0)


def test_a_lake_that_does_not_exist_is_named(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "no-such-lake"
    monkeypatch.setenv("JUMINZEI_LAKE", str(missing))
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert f"the lake {missing} does not exist" in err
    assert not missing.exists()  # asking for the status creates nothing


def test_status_shows_real_dry_and_failed_runs_within_100_columns(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JUMINZEI_LAKE", str(tmp_path))
    reports.write_report(tmp_path, _report("20260105T093000Z-resident_snapshot-0a1b2c3d"))
    reports.write_report(tmp_path, _report("20260106T093000Z-resident_snapshot-11111111", dry_run=True))
    reports.write_report(tmp_path, _report("20260107T093000Z-resident_snapshot-22222222", status="failed",
                                           message="Input file x.csv: no such file; expected the registry."))
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith("resident_snapshot")]
    assert [(r[2], r[5]) for r in rows] == [("run", "FAILED"), ("dry", "success")]
    assert "! Input file x.csv: no such file" in out and "22222222.json" in out
    assert max(len(line) for line in out.splitlines() if not line.startswith("Lake:")) <= 100

    assert main(["status", "--history", "--limit", "2"]) == 0
    history = capsys.readouterr().out
    assert "22222222" in history and "11111111" in history and "0a1b2c3d" not in history
    assert main(["status", "--stage", "resident_snapshot"]) == 2  # a filter without --history
