"""Run reports: the builder, reconciliation, files on disk, load_latest and the status table."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pipelines import reports

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
T1 = datetime(2026, 1, 5, 9, 31, 2, tzinfo=UTC)

TOP_LEVEL = [
    "counts", "dry_run", "finished_at", "fiscal_year", "inputs", "messages", "municipality", "outputs",
    "per_input", "quarantine_reasons", "reconciliation", "report_version", "run_id", "stage", "started_at", "status",
]


def build(run_id="20260105T093000Z-resident_snapshot-0a1b2c3d", quarantined=2, stage="resident_snapshot",
          fiscal_year=2026):
    report = reports.RunReport(stage, "131032", fiscal_year, run_id, T0)
    report.add_input("landing/a/x.csv", sha256="0" * 64, bytes=100, rows=10, source="a")
    report.add_input_counts("landing/a/x.csv", received=10, staged=8, quarantined=quarantined, source="a")
    report.add_input("landing/b/y.csv", sha256="1" * 64, bytes=50, rows=5, source="b")
    report.add_input_counts("landing/b/y.csv", received=5, staged=5, quarantined=0, source="b")
    report.add_quarantine_reasons({"bad_date": 1, "wrong_field_count": 1})
    report.add_output({"dataset": "residents", "zone": "staging", "path": "staging/residents/m/f", "rows": 13,
                       "sha256": "2" * 64, "unchanged": False})
    report.set_count("residents", 13)
    report.add_check("residents = staged", True, expected=13, actual=13)
    report.message("15 records received.")
    return report


def test_report_fields_and_reconciliation():
    result = build().finish("success", T1)
    assert sorted(result) == TOP_LEVEL
    assert result["report_version"] == 1
    assert result["started_at"] == "2026-01-05T09:30:00Z" and result["finished_at"] == "2026-01-05T09:31:02Z"
    assert result["counts"] == {"received": 15, "staged": 13, "quarantined": 2, "forwarded": 0, "residents": 13}
    assert [e["reconciles"] for e in result["per_input"]] == [True, True]
    assert result["reconciliation"]["ok"] is True
    names = [c["name"] for c in result["reconciliation"]["checks"]]
    assert names == ["input:landing/a/x.csv", "input:landing/b/y.csv", "total", "quarantine_reasons", "residents = staged"]
    json.dumps(result)  # JSON-serialisable


def test_a_record_that_went_nowhere_fails_reconciliation():
    result = build(quarantined=1).finish("success", T1)  # 10 received, 8 staged, 1 quarantined
    assert result["per_input"][0]["reconciles"] is False
    assert result["reconciliation"]["ok"] is False
    failed = [c["name"] for c in result["reconciliation"]["checks"] if not c["ok"]]
    assert failed == ["input:landing/a/x.csv", "total", "quarantine_reasons"]


def test_write_report_and_load_latest(tmp_path):
    first = build().finish("success", T1)
    second = build(run_id="20260106T093000Z-resident_snapshot-11111111").finish("failed", T1)
    other = build(run_id="20250106T093000Z-resident_snapshot-22222222", fiscal_year=2025).finish("success", T1)
    for r in (first, second, other):
        reports.write_report(tmp_path, r)
    directory = reports.report_dir(tmp_path, "resident_snapshot", "131032", 2026)
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [f"{first['run_id']}.json", f"{second['run_id']}.json", "latest.json"]
    )
    latest = reports.load_latest(tmp_path)
    assert [(r["fiscal_year"], r["run_id"]) for r in latest] == [(2025, other["run_id"]), (2026, second["run_id"])]
    assert reports.load_report(tmp_path, "resident_snapshot", "131032", 2026, first["run_id"]) == first


def test_format_status_table_and_json(tmp_path):
    good = build().finish("success", T1)
    bad = build(run_id="20260106T093000Z-other-11111111", quarantined=1, stage="other").finish("failed", T1)
    bad["messages"].append("Input file landing/a/x.csv: no such file; expected the registry extract.")
    table = reports.format_status([good, bad])
    lines = table.splitlines()
    assert lines[0] == "municipality 131032"
    assert lines[1].split() == ["stage", "year", "kind", "finished", "(JST)", "status", "received", "staged",
                                "quar.", "fwd", "ok"]
    assert lines[3].split() == ["resident_snapshot", "2026", "run", "2026-01-05", "18:31", "success", "15", "13",
                                "2", "0", "yes"]  # 09:31 UTC is 18:31 in Tokyo
    assert lines[4].split()[:6] == ["other", "2026", "run", "2026-01-05", "18:31", "FAILED"]
    assert lines[4].split()[-1] == "-"  # a failed run's counts say nothing about reconciliation
    assert lines[5] == "    ! Input file landing/a/x.csv: no such file; expected the registry extract."
    assert "1 run(s) need attention" in table
    rows = json.loads(reports.format_status([good, bad], as_json=True))
    assert rows[0]["received"] == 15 and rows[0]["reconciles"] is True and rows[1]["reconciles"] is False
    assert rows[1]["messages"][-1].startswith("Input file")
    assert reports.format_status([]).startswith("No run reports yet")


def test_dry_run_does_not_replace_the_latest_real_run(tmp_path):
    """A dry run's report goes to latest_dry_run.json: status shows the last real run and the last dry run."""
    real = build().finish("success", T1)
    dry_report = build(run_id="20260107T093000Z-resident_snapshot-33333333")
    dry_report.dry_run = True
    dry = dry_report.finish("success", T1)
    for r in (real, dry):
        reports.write_report(tmp_path, r)
    directory = reports.report_dir(tmp_path, "resident_snapshot", "131032", 2026)
    assert {p.name for p in directory.iterdir()} >= {"latest.json", "latest_dry_run.json"}
    assert [r["run_id"] for r in reports.load_latest(tmp_path)] == [real["run_id"]]
    assert [r["run_id"] for r in reports.load_latest(tmp_path, dry_runs=True)] == [dry["run_id"]]
    status = reports.load_status(tmp_path)
    assert [(r["run_id"], r["dry_run"]) for r in status] == [(real["run_id"], False), (dry["run_id"], True)]
    kinds = [line.split()[2] for line in reports.format_status(status).splitlines() if line.startswith("resident")]
    assert kinds == ["run", "dry"]


def test_failed_run_names_its_report_and_history_lists_older_runs(tmp_path):
    older = build(run_id="20260105T093000Z-resident_snapshot-0a1b2c3d").finish("success", T1)
    failed_report = build(run_id="20260106T093000Z-resident_snapshot-11111111")
    failed_report.message("Input file landing/a/x.csv: no such file; expected the registry extract.")
    failed = failed_report.finish("failed", T1)
    for r in (older, failed):
        reports.write_report(tmp_path, r)
    table = reports.format_status(reports.load_status(tmp_path), lake=tmp_path)
    assert table.splitlines()[0] == f"Lake: {tmp_path}"
    assert "FAILED" in table and "! Input file landing/a/x.csv: no such file" in table
    assert "reports/resident_snapshot/municipality=131032/fiscal_year=2026/" in table
    assert "20260106T093000Z-resident_snapshot-11111111.json" in table
    assert "--history" in table
    history = reports.load_history(tmp_path)
    assert [r["run_id"] for r in history] == [failed["run_id"], older["run_id"]]  # newest first
    assert [r["run_id"] for r in reports.load_history(tmp_path, limit=1)] == [failed["run_id"]]
    assert reports.load_history(tmp_path, stage="other") == []
    shown = reports.format_status(history, lake=tmp_path, history=True)
    assert "11111111" in shown and "0a1b2c3d" in shown


def test_status_fits_100_columns_with_long_names_and_paths(tmp_path):
    long = build(run_id="20260106T093000Z-pension_special_collection-44444444", stage="pension_special_collection")
    long.message("x " * 120)
    long.set_validation({"success": False, "data_docs": str(tmp_path / "d" / "index.html"),
                         "report_page": str(tmp_path / ("deep/" * 12) / "run.html"),
                         "runs_index": str(tmp_path / "runs.html"), "expectations": 1,
                         "failed": [{"table": "t", "type": "t", "kwargs": {}, "meaning": "m"}], "tables": {}, "pages": {}})
    result = long.finish("failed", T1)
    reports.write_report(tmp_path, result)
    for history in (False, True):
        text = reports.format_status(reports.load_history(tmp_path) if history else reports.load_status(tmp_path),
                                     lake=tmp_path, history=history)
        too_wide = [line for line in text.splitlines() if len(line) > 100 and not line.startswith("Lake:")]
        assert too_wide == [], too_wide


def test_unreadable_latest_is_listed_not_fatal(tmp_path):
    directory = reports.report_dir(tmp_path, "resident_snapshot", "131032", 2026)
    directory.mkdir(parents=True)
    (directory / "latest.json").write_text("{broken", encoding="utf-8")
    [entry] = reports.load_latest(tmp_path)
    assert entry["status"] == "unreadable" and entry["fiscal_year"] == 2026
    assert "unreadable" in reports.format_status([entry])


def test_validation_link_is_added_only_when_set_and_replaced_on_repeat(tmp_path):
    assert "validation" not in build().finish("success", T1)  # reports without it stay as they were
    report = build()
    link = {"success": True, "data_docs": "/x/var/data_docs/index.html", "validation_result": "/x/r.json",
            "expectations": 3, "failed": [], "tables": {"basis": 13}, "pages": {}}
    report.set_validation(link)
    report.set_validation({**link, "success": False, "failed": [{"table": "basis", "type": "t", "kwargs": {},
                                                                "meaning": "m"}]})
    result = report.finish("success", T1)
    assert result["validation"]["success"] is False and result["validation"]["tables"] == {"basis": 13}
    [check] = [c for c in result["reconciliation"]["checks"] if c["name"] == "validation_report"]
    assert (check["ok"], check["expected"], check["actual"]) == (False, 3, 2)
    reports.write_report(tmp_path, result)
    table = reports.format_status(reports.load_latest(tmp_path))
    assert table.splitlines()[1].split()[-1] == "check" and table.splitlines()[3].split()[-1] == "FAILED"
    assert "validation: /x/var/data_docs/index.html" in table
    plain = reports.format_status([build().finish("success", T1)])
    assert "validation" not in plain and "check" not in plain


def test_status_points_at_the_offline_page_and_keeps_the_data_docs_path(tmp_path):
    report = build()
    report.set_validation({"success": False, "data_docs": "/x/var/data_docs/index.html",
                           "validation_result": "/x/var/data_docs/runs/r.json",
                           "report_page": "/x/var/data_docs/runs/r.html", "runs_index": "/x/var/data_docs/runs.html",
                           "expectations": 2, "failed": [{"table": "basis", "type": "t", "kwargs": {}, "meaning": "m"}],
                           "tables": {"basis": 13}, "pages": {}})
    result = report.finish("success", T1)
    assert result["validation"]["data_docs"] == "/x/var/data_docs/index.html"  # kept in the run report
    assert result["validation"]["report_page"] == "/x/var/data_docs/runs/r.html"
    [check] = [c for c in result["reconciliation"]["checks"] if c["name"] == "validation_report"]
    assert "/x/var/data_docs/runs/r.html" in check["detail"]
    table = reports.format_status([result])
    assert "    validation: /x/var/data_docs/runs/r.html" in table
    assert "validation reports of every run (Data Docs): /x/var/data_docs/runs.html" in table
    assert "index.html" not in table
    [row] = json.loads(reports.format_status([result], as_json=True))
    assert row["validation_report"] == "/x/var/data_docs/index.html"
    assert row["validation_page"] == "/x/var/data_docs/runs/r.html"
    assert row["validation_index"] == "/x/var/data_docs/runs.html"
    plain = json.loads(reports.format_status([build().finish("success", T1)], as_json=True))[0]
    assert plain["validation_page"] is None and plain["validation_index"] is None
