"""The ingested-files ledger: duplicates, re-deliveries, new versions, crash recovery, determinism."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from contracts.errors import ConfigError, InputFileError
from pipelines import ledger
from pipelines.ledger import LedgerError, classify, mark_ingested, mark_pending, read_ledger, scan_landing

M, N = "131032", 2026
SOURCE = "salary_report"
PREFIX = f"{SOURCE}/municipality={M}/fiscal_year={N}"


def land(landing: Path, name: str, data: bytes, source: str = SOURCE) -> Path:
    directory = landing / source / f"municipality={M}" / f"fiscal_year={N}"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(data)
    return path


def run(lake: Path, landing: Path, run_id: str, *, crash_before_ingested: bool = False) -> list[ledger.Classification]:
    """One ingest run as the stage will do it (the staging write is out of scope here)."""
    plan = classify(lake, scan_landing(landing, SOURCE, M, N))
    plan = mark_pending(lake, run_id, plan)
    if crash_before_ingested:
        return plan
    mark_ingested(lake, run_id, plan)
    return plan


def kinds(plan: list[ledger.Classification]) -> dict[str, str]:
    return {c.file.path.rsplit("/", 1)[1]: c.kind for c in plan}


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "lake", tmp_path / "lake" / "landing"


def test_scan_landing_ignores_hidden_and_part_files_and_sorts(dirs):
    lake, landing = dirs
    land(landing, "b.csv", b"bbb")
    land(landing, "a.csv", b"a")
    land(landing, ".c.csv", b"hidden")
    land(landing, "d.csv.part", b"in transfer")
    (landing / PREFIX / "subdir").mkdir()
    files = scan_landing(landing, SOURCE, M, N)
    assert [f.path for f in files] == [f"{PREFIX}/a.csv", f"{PREFIX}/b.csv"]
    assert files[0].size == 1 and files[0].sha256 == ledger.sha256_file(landing / PREFIX / "a.csv")[0]
    assert files[1].absolute(landing).read_bytes() == b"bbb"
    assert (files[0].source, files[0].municipality, files[0].fiscal_year) == (SOURCE, M, N)
    assert scan_landing(landing, "pension_report", M, N) == []  # nothing landed yet
    with pytest.raises(ConfigError):
        scan_landing(landing, "no_such_source", M, N)


def test_symlink_in_landing_is_refused(dirs):
    lake, landing = dirs
    land(landing, "a.csv", b"a")
    os.symlink("/etc/passwd", landing / PREFIX / "b.csv")
    with pytest.raises(InputFileError, match="symbolic link"):
        scan_landing(landing, SOURCE, M, N)


def test_same_bytes_under_two_names_is_one_duplicate(dirs):
    lake, landing = dirs
    land(landing, "a.csv", b"same bytes")
    land(landing, "b.csv", b"same bytes")
    land(landing, "c.csv", b"other bytes")
    plan = run(lake, landing, "r1")
    assert kinds(plan) == {"a.csv": "new", "b.csv": "duplicate", "c.csv": "new"}
    duplicate = plan[1]
    assert duplicate.first_path == f"{PREFIX}/a.csv" and not duplicate.ingest
    table = read_ledger(lake)
    assert table.height == 2 and set(table["status"]) == {"ingested"}
    row = table.filter(pl.col("path") == f"{PREFIX}/a.csv").to_dicts()[0]
    assert [(e["event"], e["path"].rsplit("/", 1)[1]) for e in row["events"]] == [
        ("pending", "a.csv"), ("duplicate_skipped", "b.csv"), ("ingested", "a.csv"),
    ]


def test_redelivery_of_ingested_file_is_skipped(dirs):
    lake, landing = dirs
    land(landing, "a.csv", b"payload")
    run(lake, landing, "r1")
    before = ledger.ledger_path(lake).read_bytes()
    # Same name again: already ingested; same bytes under a new name: duplicate of the first.
    land(landing, "a-resent.csv", b"payload")
    plan = run(lake, landing, "r2")
    assert kinds(plan) == {"a-resent.csv": "duplicate", "a.csv": "already_ingested"}
    assert plan[0].first_path == f"{PREFIX}/a.csv"
    assert not any(c.ingest for c in plan)
    row = read_ledger(lake).to_dicts()[0]
    assert row["ingested_run_id"] == "r1" and row["events"][-1]["event"] == "duplicate_skipped"
    # A third run sees nothing new and leaves the ledger byte-identical.
    after_r2 = ledger.ledger_path(lake).read_bytes()
    assert after_r2 != before
    run(lake, landing, "r3")
    assert ledger.ledger_path(lake).read_bytes() == after_r2


def test_changed_bytes_under_known_name_is_new_version_for_review(dirs):
    lake, landing = dirs
    land(landing, "a.csv", b"version 1")
    run(lake, landing, "r1")
    old_sha = read_ledger(lake)["sha256"][0]
    land(landing, "a.csv", b"version 2")  # an employer re-sent a corrected file under the same name
    plan = run(lake, landing, "r2")
    assert kinds(plan) == {"a.csv": "new_version"}
    assert plan[0].ingest and plan[0].review_required and plan[0].previous_sha256 == old_sha
    rows = {r["version"]: r for r in read_ledger(lake).to_dicts()}
    assert rows[1]["sha256"] == old_sha and not rows[1]["review_required"]
    assert rows[2]["previous_sha256"] == old_sha and rows[2]["review_required"]
    assert rows[2]["status"] == "ingested" and rows[2]["ingested_run_id"] == "r2"
    # Version 3 is numbered from the latest ingested version; going back to v1 bytes is a duplicate.
    land(landing, "a.csv", b"version 3")
    assert run(lake, landing, "r3")[0].previous_sha256 == rows[2]["sha256"]
    assert read_ledger(lake)["version"].max() == 3
    land(landing, "a.csv", b"version 1")
    assert kinds(classify(lake, scan_landing(landing, SOURCE, M, N))) == {"a.csv": "already_ingested"}


def test_crash_after_mark_pending_is_reprocessed_and_ends_consistent(dirs):
    lake, landing = dirs
    land(landing, "a.csv", b"one")
    land(landing, "b.csv", b"two")
    plan = run(lake, landing, "r1", crash_before_ingested=True)
    assert kinds(plan) == {"a.csv": "new", "b.csv": "new"}
    assert ledger.pending_files(lake).height == 2
    # The rerun treats the crashed run's pending rows as not yet ingested.
    land(landing, "c.csv", b"one")  # meanwhile, the same bytes arrived under another name
    plan2 = run(lake, landing, "r2")
    assert kinds(plan2) == {"a.csv": "new", "b.csv": "new", "c.csv": "duplicate"}
    table = read_ledger(lake)
    assert ledger.pending_files(lake).height == 0 and table.height == 2
    assert set(table["status"]) == {"ingested"} and set(table["ingested_run_id"]) == {"r2"}
    assert set(table["first_seen_run_id"]) == {"r1"}
    events = [(e["run_id"], e["event"]) for e in table.sort("path")["events"][0]]
    assert events == [("r1", "pending"), ("r2", "pending"), ("r2", "duplicate_skipped"), ("r2", "ingested")]
    # The crashed run cannot come back and complete rows another run took over.
    with pytest.raises(LedgerError, match="not pending for run r1"):
        mark_ingested(lake, "r1", plan)
    # Completing twice is a no-op; the next run finds everything ingested.
    before = ledger.ledger_path(lake).read_bytes()
    mark_ingested(lake, "r2", plan2)
    assert ledger.ledger_path(lake).read_bytes() == before
    assert kinds(run(lake, landing, "r3")) == {"a.csv": "already_ingested", "b.csv": "already_ingested",
                                                "c.csv": "duplicate"}


def test_crash_during_ledger_write_keeps_previous_ledger(dirs, monkeypatch):
    lake, landing = dirs
    land(landing, "a.csv", b"one")
    run(lake, landing, "r1")
    before = ledger.ledger_path(lake).read_bytes()
    land(landing, "b.csv", b"two")

    def die(*_args, **_kwargs):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(ledger.os, "replace", die)
    with pytest.raises(OSError, match="simulated"):
        run(lake, landing, "r2")
    monkeypatch.undo()
    assert ledger.ledger_path(lake).read_bytes() == before
    assert [p.name for p in ledger.ledger_path(lake).parent.iterdir() if p.name.startswith(".ingested")] == []
    assert kinds(run(lake, landing, "r3")) == {"a.csv": "already_ingested", "b.csv": "new"}


def test_mark_ingested_without_pending_and_stale_plan_are_refused(dirs):
    lake, landing = dirs
    land(landing, "a.csv", b"one")
    plan = classify(lake, scan_landing(landing, SOURCE, M, N))
    with pytest.raises(LedgerError, match="not pending"):
        mark_ingested(lake, "r1", plan)
    run(lake, landing, "r2")  # another run ingests the file after our classification
    with pytest.raises(LedgerError, match="changed since"):
        mark_pending(lake, "r1", plan)
    with pytest.raises(ConfigError):
        mark_pending(lake, "", plan)


def test_determinism(tmp_path):
    """Same landing bytes and run ids → same classification (whatever the input order) and ledger bytes."""
    results = []
    for attempt in ("one", "two"):
        lake = tmp_path / attempt / "lake"
        landing = lake / "landing"
        for name, data in [("z.csv", b"1"), ("a.csv", b"2"), ("m.csv", b"1"), ("k.csv", b"3")]:
            land(landing, name, data)
        files = scan_landing(landing, SOURCE, M, N)
        forward = classify(lake, files)
        assert classify(lake, list(reversed(files))) == forward
        mark_pending(lake, "r1", forward)
        mark_ingested(lake, "r1", forward)
        land(landing, "a.csv", b"2 changed")
        run(lake, landing, "r2")
        results.append((kinds(forward), ledger.ledger_path(lake).read_bytes()))
    assert results[0] == results[1]
    assert results[0][0] == {"a.csv": "new", "k.csv": "new", "m.csv": "new", "z.csv": "duplicate"}
