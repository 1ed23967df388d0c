"""End to end: `dag.test()` of resident_snapshot on the generated sample ward, scored against truth/."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.e2e.conftest import E2E_FISCAL_YEAR, REPO, assert_no_my_number

pytestmark = pytest.mark.e2e


def _dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


def test_resident_snapshot_dag_run(airflow_db, lake: Path, sample_ward: Path, capfd, caplog):
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

    # Quarantine scored against the planted defects of the registry files (truth/defects.parquet), both ways:
    # every planted record is quarantined, and every other quarantined record is a consequence of one.
    quarantine_dir = lake / "quarantine" / "resident_snapshot" / "municipality=131032" / f"fiscal_year={E2E_FISCAL_YEAR}"
    quarantined = pl.read_parquet(sorted(quarantine_dir.glob("*.parquet")))
    missed, consequences, unexplained = score_registry_quarantine(
        lake / "landing", quarantined, pl.read_parquet(sample_ward / "truth" / "defects.parquet"),
        pl.read_parquet(sample_ward / "truth" / "persons.parquet"))
    assert missed == [], f"planted defects not quarantined: {missed}"
    assert unexplained == [], f"records quarantined without a planted cause: {unexplained}"
    assert consequences > 0  # the ward plants duplicates and shared numbers: their partners are quarantined too

    # The My Number rests only in the vault: no other file of the lake, no report and no log holds one in clear.
    assert_no_my_number(sample_ward, lake, logs="".join(capfd.readouterr()) + caplog.text)


CONSEQUENTIAL = {
    # reason → what makes an unplanted record share the fate of a planted one
    "duplicate_atena_no": "another line of the file with the same 宛名番号 is planted (neither is guessed)",
    "my_number_shared": "another line of the file with the same 個人番号 is planted",
    "atena_no_quarantined": "its 宛名番号 is that of a planted registry line",
    "unknown_atena_no": "its 宛名番号 is that of a planted registry line",
}


def score_registry_quarantine(landing: Path, quarantined: pl.DataFrame, defects: pl.DataFrame, persons: pl.DataFrame):
    """(planted records not quarantined, number of consequential quarantines, quarantined records without a
    planted cause). A record that is not planted may be quarantined only for a reason of :data:`CONSEQUENTIAL`
    and only with its cause among the planted lines, read from the raw landing files (not from the stage)."""
    import csv

    planted = defects.filter(pl.col("source").is_in(["resident_registry", "my_number", "livelihood_assistance",
                                                      "disability"]))
    assert planted.height > 0
    planted_keys = planted.select("file", pl.col("record_no").cast(pl.Int64)).unique()
    caught = quarantined.select("file", pl.col("record_no").cast(pl.Int64), "reason_code").unique(["file", "record_no"])
    missed = planted_keys.join(caught, on=["file", "record_no"], how="anti").rows()
    extra = caught.join(planted_keys, on=["file", "record_no"], how="anti")
    texts: dict[str, list[str]] = {}

    def fields(file: str, record_no: int) -> list[str]:
        if file not in texts:
            texts[file] = (landing / file).read_bytes().decode("utf-8", "replace").splitlines()
        return next(csv.reader([texts[file][record_no - 1]]))

    planted_fields = [(file, fields(file, n)) for file, n in planted_keys.rows()]
    registry = [(f[1], f[4]) for file, f in planted_fields if file.startswith("resident_registry/") and len(f) > 4]
    # The people of the planted registry lines: the line's own 宛名番号, or (when that field is the defect) the
    # person of the same 世帯番号 and カナ氏名 in truth.
    kana = persons.select("atena_no", "household_no",
                          pl.concat_str(["family_name_kana", "given_name_kana"], separator="　").alias("kana"))
    affected = {f[0] for file, f in planted_fields if file.startswith("resident_registry/")}
    affected |= {a for a, h, k in kana.rows() if (h, k) in set(registry)}
    unexplained = []
    for file, record_no, reason in extra.rows():
        f = fields(file, record_no)
        same_file = [pf for pfile, pf in planted_fields if pfile == file]
        if reason == "duplicate_atena_no":
            explained = any(pf[0] == f[0] for pf in same_file)
        elif reason == "my_number_shared":
            explained = any(len(pf) > 1 and pf[1] == f[1] for pf in same_file)
        elif reason in ("atena_no_quarantined", "unknown_atena_no"):
            explained = f[0] in affected
        else:
            explained = False
        if not explained:
            unexplained.append((file, record_no, reason))
    return missed, extra.height, unexplained


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
