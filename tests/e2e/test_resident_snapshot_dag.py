"""End to end: `dag.test()` of resident_snapshot on the generated sample ward, scored against truth/."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.e2e.conftest import E2E_FISCAL_YEAR, REPO

pytestmark = pytest.mark.e2e


def _dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def test_resident_snapshot_dag_run(airflow_db, lake: Path, sample_ward: Path):
    from airflow.utils.state import DagRunState

    dag = _dag("resident_snapshot")
    run = dag.test(run_conf={"fiscal_year": E2E_FISCAL_YEAR, "municipality": "131032", "dry_run": False})
    assert run.state == DagRunState.SUCCESS

    report_path = lake / "reports" / "resident_snapshot" / "municipality=131032" / f"fiscal_year={E2E_FISCAL_YEAR}" / "latest.json"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    counts = report["counts"]
    assert report["status"] == "success" and report["reconciliation"]["ok"] is True
    assert counts["received"] == counts["staged"] + counts["quarantined"] + counts["forwarded"]
    for per_input in report["per_input"]:
        assert per_input["reconciles"], per_input

    # Every registry row of the sample ward is accounted for: the registry file's data lines.
    registry_files = sorted((sample_ward / "landing" / "resident_registry").rglob("*.csv"))
    registry_lines = sum(len(f.read_bytes().splitlines()) - 1 for f in registry_files)
    registry_input = [p for p in report["per_input"] if "resident_registry" in p["path"]]
    assert sum(p["received"] for p in registry_input) == registry_lines

    # Quarantine scored against the planted defects of the registry files (truth/defects.parquet).
    defects = pl.read_parquet(sample_ward / "truth" / "defects.parquet")
    registry_sources = {"resident_registry", "my_number", "livelihood_assistance", "disability"}
    planted = defects.filter(pl.col("source").is_in(list(registry_sources)))
    assert planted.height > 0
    quarantine_dir = lake / "quarantine" / "resident_snapshot" / "municipality=131032" / f"fiscal_year={E2E_FISCAL_YEAR}"
    quarantined = pl.read_parquet(sorted(quarantine_dir.glob("*.parquet")))
    caught = quarantined.select("file", "record_no").unique()
    planted_keys = planted.select(pl.col("file"), pl.col("record_no").cast(caught.schema["record_no"])).unique()
    missed = planted_keys.join(caught, on=["file", "record_no"], how="anti")
    assert missed.height == 0, f"planted defects not quarantined: {missed}"

    # The My Number rests only in the vault: no staged, quarantine or report file holds one in clear.
    vault_numbers = set(
        pl.read_parquet(sample_ward / "truth" / "persons.parquet")
        .filter(pl.col("my_number").is_not_null())["my_number"].head(200).to_list()
    )
    for path in list((lake / "staging").rglob("*")) + list((lake / "quarantine").rglob("*")) + list((lake / "reports").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            assert not any(n.encode() in data for n in vault_numbers), f"My Number in clear in {path}"


def test_rerun_is_byte_identical(airflow_db, lake: Path):
    from airflow.utils.state import DagRunState

    dag = _dag("resident_snapshot")
    conf = {"fiscal_year": E2E_FISCAL_YEAR, "municipality": "131032", "dry_run": False}
    assert dag.test(run_conf=conf).state == DagRunState.SUCCESS
    first = {p: p.read_bytes() for p in sorted((lake / "staging").rglob("*")) if p.is_file()}
    assert dag.test(run_conf=conf).state == DagRunState.SUCCESS
    second = {p: p.read_bytes() for p in sorted((lake / "staging").rglob("*")) if p.is_file()}
    assert first.keys() == second.keys() and first, "staging files changed between identical runs"
    assert all(first[p] == second[p] for p in first)
