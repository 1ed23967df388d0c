"""End to end: resident_snapshot then returns_ingest with `dag.test()` on the sample ward, scored
against the generator's truth/ (which the pipeline never reads)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.e2e.conftest import E2E_FISCAL_YEAR, assert_no_my_number
from tests.e2e.test_resident_snapshot_dag import _dag

pytestmark = pytest.mark.e2e
M = "131032"
STAGED = ("salary_reports", "salary_summaries", "pension_reports", "etax_returns", "resident_returns", "furusato_notices")


def _partition(lake: Path, zone: str, dataset: str) -> pl.DataFrame:
    folder = lake / zone / dataset / f"municipality={M}" / f"fiscal_year={E2E_FISCAL_YEAR}"
    return pl.read_parquet(sorted(folder.glob("*.parquet")))


def _report(lake: Path) -> dict:
    path = lake / "reports" / "returns_ingest" / f"municipality={M}" / f"fiscal_year={E2E_FISCAL_YEAR}" / "latest.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _run(dag_id: str) -> None:
    from airflow.utils.state import DagRunState

    run = _dag(dag_id).test(run_conf={"fiscal_year": E2E_FISCAL_YEAR, "municipality": M, "dry_run": False})
    assert run.state == DagRunState.SUCCESS, f"{dag_id} failed"


@pytest.fixture()
def ingested(airflow_db, lake: Path) -> Path:
    _run("resident_snapshot")
    _run("returns_ingest")
    return lake


def test_every_record_routed_as_truth_says(ingested: Path, sample_ward: Path, capfd, caplog):
    lake = ingested
    report = _report(lake)
    assert report["status"] == "success" and report["reconciliation"]["ok"]
    assert all(p["reconciles"] for p in report["per_input"])
    truth = pl.read_parquet(sample_ward / "truth" / "documents.parquet")

    staged = pl.concat(
        [_partition(lake, "staging", d).select("source", "file", "record_no", "atena_no", "route", "match_decision")
         for d in STAGED], how="vertical")
    forwarded = _partition(lake, "curated", "forwarding")
    quarantined = _partition(lake, "quarantine", "returns_ingest")
    got = pl.concat([
        staged.select("source", "file", "record_no", "route"),
        forwarded.select("source", "file", "record_no", pl.lit("forward").alias("route")),
        quarantined.select("source", "file", "record_no", pl.lit("quarantine").alias("route")),
    ], how="vertical")
    assert got.select("source", "file", "record_no").is_duplicated().sum() == 0, "a record landed in two places"
    joined = truth.join(got, on=["source", "file", "record_no"], how="left", validate="1:1")

    # Files delivered twice are skipped as a whole: their records appear nowhere, all others somewhere.
    assert joined.filter(pl.col("route").is_null()).get_column("expected_route").unique().to_list() in ([], ["duplicate_file"])
    assert joined.filter((pl.col("expected_route") != "duplicate_file") & pl.col("route").is_null()).height == 0
    duplicate_files = truth.filter(pl.col("expected_route") == "duplicate_file").get_column("file").n_unique()
    assert report["counts"]["files_duplicate"] == duplicate_files

    # Malformed and hostile records are quarantined; nothing else is.
    expected_q = pl.col("expected_route") == "quarantine"
    assert joined.filter(expected_q & (pl.col("route") != "quarantine")).height == 0
    assert joined.filter(~expected_q & (pl.col("route") == "quarantine")).height == 0
    # 回送 and 住登外 as the truth says.
    assert joined.filter((pl.col("expected_route") == "forward") & (pl.col("route") != "forward")).height == 0
    assert joined.filter((pl.col("expected_route") == "non_registered") & (pl.col("route") != "non_registered")).height == 0

    # 宛名付設 quality (issue 3 §5): auto-matches ≥ 99.9 % right, no "someone else's My Number" auto-matched,
    # ≥ 99 % of matchable documents auto-matched or queued.
    auto = truth.join(staged.filter(pl.col("match_decision") == "auto"), on=["source", "file", "record_no"])
    wrong = auto.filter(pl.col("atena_no") != pl.col("true_atena_no")).height
    assert auto.height > 0 and (auto.height - wrong) / auto.height >= 0.999
    other = truth.filter(pl.col("defect") == "my_number_of_other_person").join(staged, on=["source", "file", "record_no"])
    assert other.height > 0 and other.filter(pl.col("match_decision") == "auto").height == 0
    matchable = joined.filter(pl.col("true_atena_no").is_not_null() & pl.col("expected_route").is_in(["stage"]))
    handled = matchable.join(staged.filter(pl.col("match_decision").is_in(["auto", "review"])), on=["source", "file", "record_no"])
    assert handled.height / matchable.height >= 0.99

    # The My Number rests only in the vault: every number of the ward, every file of the lake, the task logs.
    assert_no_my_number(sample_ward, lake, logs="".join(capfd.readouterr()) + caplog.text)


def test_redelivered_and_hostile_files(ingested: Path, sample_ward: Path):
    lake = ingested
    before = _report(lake)
    folder = lake / "landing" / "salary_report" / f"municipality={M}" / f"fiscal_year={E2E_FISCAL_YEAR}"
    original = sorted(folder.glob("*.csv"))[0]
    shutil.copyfile(original, folder / f"20260420_kyuyo_copy_of_{original.stem}.csv")  # same bytes, new name
    etax = lake / "landing" / "etax_return" / f"municipality={M}" / f"fiscal_year={E2E_FISCAL_YEAR}"
    (etax / "20260421_etax_hostile.xtx").write_bytes(
        b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<DATA>&x;</DATA>\n')
    (folder / "20260422_kyuyo_garbage.csv").write_bytes("315,壊れた行\r\n".encode("cp932") + b"\x85\x40,,\r\n")
    _run("returns_ingest")
    after = _report(lake)
    assert after["status"] == "success" and after["reconciliation"]["ok"]
    assert after["counts"]["files_duplicate"] == before["counts"]["files_duplicate"] + 1
    assert after["counts"]["staged"] == before["counts"]["staged"]
    assert after["counts"]["quarantined"] == before["counts"]["quarantined"] + 3
    quarantined = _partition(lake, "quarantine", "returns_ingest")
    hostile = quarantined.filter(pl.col("file").str.ends_with("20260421_etax_hostile.xtx"))
    assert hostile.get_column("reason_code").to_list() in (["xml_entity_forbidden"], ["xml_doctype_forbidden"])
    assert quarantined.filter(pl.col("file").str.ends_with("20260422_kyuyo_garbage.csv")).height == 2


def test_rerun_is_byte_identical(ingested: Path):
    lake = ingested
    files = lambda: {p: p.read_bytes() for zone in ("staging", "curated") for p in sorted((lake / zone).rglob("*")) if p.is_file()}
    first = files()
    _run("returns_ingest")
    assert files() == first
    assert all(o["unchanged"] for o in _report(lake)["outputs"])
