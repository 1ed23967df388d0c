"""returns_ingest without Airflow: a changed file under a known name, and a crash between the staging
swap and the ledger update (the run after it must end consistent)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from pipelines import ledger

M, N = "131032", 2026


@pytest.fixture(scope="module")
def ward(tmp_path_factory) -> Path:
    from juminzei.generator import generate_ward

    out = tmp_path_factory.mktemp("ingest_stage") / "ward"
    generate_ward(out, residents=1500, seed=11, fiscal_year=N)
    return out


@pytest.fixture()
def settings(tmp_path, ward, monkeypatch):
    from pipelines.config import Settings
    from pipelines.resident_snapshot import run as snapshot

    lake = tmp_path / "lake"
    shutil.copytree(ward / "landing", lake / "landing")
    monkeypatch.setenv("JUMINZEI_LAKE", str(lake))
    monkeypatch.setenv("JUMINZEI_VAULT_KEY_FILE", str(tmp_path / "vault.key"))
    settings = Settings.from_env()
    snapshot(fiscal_year=N, settings=settings)
    return settings


def _staged(settings) -> dict[Path, bytes]:
    return {p: p.read_bytes() for zone in ("staging", "curated") for p in sorted((settings.lake / zone).rglob("*.parquet"))}


def test_changed_file_under_known_name_is_a_new_version(settings):
    from pipelines.returns_ingest import run

    first = run(fiscal_year=N, settings=settings)
    assert first["counts"]["files_new_version"] == 0
    folder = settings.lake / "landing" / "pension_report" / f"municipality={M}" / f"fiscal_year={N}"
    target = sorted(folder.glob("*.csv"))[0]
    lines = target.read_bytes().split(b"\r\n")
    target.write_bytes(b"\r\n".join(lines[:-2] + [b""]))  # the payer re-sent the file without its last record
    second = run(fiscal_year=N, settings=settings)
    assert second["status"] == "success" and second["reconciliation"]["ok"]
    assert second["counts"]["files_new_version"] == 1
    assert any("changed since it was first ingested" in m and target.name in m for m in second["messages"])
    assert second["counts"]["received"] == first["counts"]["received"] - 1
    rows = ledger.read_ledger(settings.lake).filter(pl.col("path").str.ends_with(target.name))
    assert rows.height == 2 and rows.get_column("review_required").any()


def test_crash_between_staging_and_ledger_is_repaired_by_the_next_run(settings, monkeypatch):
    import pipelines.ledger as ledger_module
    from pipelines.returns_ingest import run

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash after the partitions were swapped in")

    monkeypatch.setattr(ledger_module, "mark_ingested", crash)
    with pytest.raises(RuntimeError):
        run(fiscal_year=N, settings=settings)
    assert ledger.pending_files(settings.lake).height > 0  # the crashed run left its files pending
    after_crash = _staged(settings)
    monkeypatch.undo()

    repaired = run(fiscal_year=N, settings=settings)
    assert repaired["status"] == "success" and repaired["reconciliation"]["ok"]
    assert ledger.pending_files(settings.lake).height == 0
    assert repaired["counts"]["files_new"] > 0  # the pending files were taken over and reprocessed
    assert _staged(settings) == after_crash  # the same partitions: nothing lost, nothing doubled
    again = run(fiscal_year=N, settings=settings)
    assert again["counts"]["files_new"] == 0 and all(o["unchanged"] for o in again["outputs"])
