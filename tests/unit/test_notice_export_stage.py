"""The notice_export stage on a small generated ward: the plan and the installments reconcile with the
assessment to the yen, every salary withholding goes to the 指定番号 of one of the person's own salary
reports, and dispatch is fail-closed on the DV等支援措置 list (docs/notice-export.md; docs/sources.md T10).

The cycle up to tax_assessment runs once into a template lake; each test works on its own copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

#: Builds a generated ward and runs whole stages: left out of mutation runs (docs/testing.md).
pytestmark = pytest.mark.slow

M, N = "131032", 2026
NOTICE_DATE = "2026-06-10"  # the generated list is extracted on 1 June (sample_ward.notice_inputs)
UPSTREAM = ("resident_snapshot", "returns_ingest", "record_merge", "tax_assessment")


def _env(monkeypatch, root: Path, lake: Path) -> None:
    monkeypatch.setenv("JUMINZEI_LAKE", str(lake))
    monkeypatch.setenv("JUMINZEI_VAULT_KEY_FILE", str(root / "keys" / "vault.key"))
    monkeypatch.setenv("JUMINZEI_DATA_DOCS", str(root / "data_docs"))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    from pipelines.stages import stage_runner
    from sample_ward import generate_ward

    root = tmp_path_factory.mktemp("notice_export")
    generate_ward(root / "ward", residents=400, seed=11, fiscal_year=N)
    lake = root / "lake"
    shutil.copytree(root / "ward" / "landing", lake / "landing")
    with pytest.MonkeyPatch.context() as patch:
        _env(patch, root, lake)
        for stage in UPSTREAM:
            assert stage_runner(stage)(fiscal_year=N, municipality=M)["status"] == "success"
    return root


@pytest.fixture()
def lake(template, tmp_path, monkeypatch) -> Path:
    lake = tmp_path / "lake"
    shutil.copytree(template / "lake", lake)
    _env(monkeypatch, template, lake)
    return lake


def _support_folder(lake: Path, year: int = N) -> Path:
    return lake / "landing" / "support_measures" / f"municipality={M}" / f"fiscal_year={year}"


def _run(**options) -> dict:
    from pipelines.notice_export import run

    return run(fiscal_year=N, municipality=M, notice_date=NOTICE_DATE, **options)


def _read(lake: Path, zone: str, dataset: str) -> pl.DataFrame:
    from pipelines.lake import read_partition

    return read_partition(lake, zone, dataset, M, N)


def _exists(lake: Path, zone: str, dataset: str) -> bool:
    from pipelines.lake import partition_exists

    return partition_exists(lake, zone, dataset, M, N)


# --------------------------------------------------------------------------------------------- dispatch
def test_a_dispatch_writes_a_plan_and_installments_that_reconcile_with_the_assessment(lake):
    report = _run()
    assert report["status"] == "success" and report["reconciliation"]["ok"]
    assessment, plan = _read(lake, "curated", "tax_assessment"), _read(lake, "curated", "collection_plan")
    schedule = _read(lake, "curated", "installment_schedule")
    taxed = assessment.filter(pl.col("total_tax") > 0)
    # every person with tax has exactly one plan, and its routes sum to the tax, person by person
    assert sorted(plan["person_id"]) == sorted(taxed["person_id"])
    joined = plan.join(taxed.select("person_id", pl.col("total_tax").alias("assessed")), on="person_id")
    assert (joined["salary_amount"] + joined["pension_amount"] + joined["ordinary_amount"] == joined["assessed"]).all()
    assert report["counts"]["sum_total_tax"] == int(taxed["total_tax"].sum())
    # each 普通徴収 and 給与特別徴収 route is paid in installments that sum to it exactly
    for method, column in (("ordinary", "ordinary_amount"), ("salary", "salary_amount")):
        paid = schedule.filter(pl.col("method") == method).group_by("person_id").agg(pl.col("amount").sum())
        due = plan.filter(pl.col(column) > 0).select("person_id", column)
        assert due.join(paid, on="person_id", how="full", coalesce=True).filter(
            pl.col(column) != pl.col("amount")).height == 0
    # 給与特別徴収: 12 months June to May (地方税法第321条の5第1項)
    months = schedule.filter(pl.col("method") == "salary").group_by("person_id").agg(pl.col("period").sort())
    assert all(p == [f"2026-{m:02d}" for m in range(6, 13)] + [f"2027-{m:02d}" for m in range(1, 6)]
               for p in months["period"].to_list() if len(p) == 12)


def test_salary_withholding_goes_to_the_designation_number_of_one_of_the_persons_own_reports(lake):
    """The 特別徴収義務者 of a plan is the employer (指定番号) of a current salary report of that very person,
    never one of another person's, whatever the names (issue 13 item 4)."""
    _run()
    plan = _read(lake, "curated", "collection_plan").filter(pl.col("salary_amount") > 0)
    reports = _read(lake, "staging", "salary_reports").filter(pl.col("is_current")).select(
        pl.col("atena_no").alias("person_id"), pl.col("doc_uid").alias("salary_doc_uid"), "designation_no")
    matched = plan.join(reports, on=["person_id", "salary_doc_uid"], how="left")
    assert matched["designation_no"].null_count() == 0
    assert (matched["designation_no"].str.strip_chars() == matched["salary_payer"]).all()
    assert plan.height > 0


def test_a_rerun_with_the_same_inputs_leaves_every_partition_unchanged(lake):
    _run()
    before = {p: p.read_bytes() for p in sorted((lake / "curated").rglob("*.parquet"))}
    report = _run()
    assert all(o["unchanged"] for o in report["outputs"])
    assert {p: p.read_bytes() for p in sorted((lake / "curated").rglob("*.parquet"))} == before


# ---------------------------------------------------------------------------------- the interlock
def _assert_stopped(lake: Path, *fragments: str) -> None:
    from pipelines.notice_export import DispatchStopped

    with pytest.raises(DispatchStopped) as stopped:
        _run()
    for fragment in fragments:
        assert fragment in str(stopped.value)
    assert not _exists(lake, "curated", "collection_plan")
    assert not _exists(lake, "curated", "installment_schedule")


def test_a_missing_support_list_stops_dispatch_and_writes_nothing(lake):
    shutil.rmtree(_support_folder(lake))
    _assert_stopped(lake, "DV等支援措置", "is missing")


def test_an_emptied_support_list_stops_dispatch_when_last_years_was_not(lake):
    (path,) = _support_folder(lake).glob("*.csv")
    path.write_bytes(path.read_bytes().splitlines(keepends=True)[0])  # the header only: "0件"
    assert sum(1 for _ in next(_support_folder(lake, N - 1).glob("*.csv")).open()) > 1
    _assert_stopped(lake, "is empty although last year's list")


def test_a_stale_support_list_stops_dispatch_but_a_dry_run_only_reports_it(lake):
    from pipelines.notice_export import DispatchStopped, run

    with pytest.raises(DispatchStopped, match="days before the notice date"):
        run(fiscal_year=N, municipality=M, notice_date="2026-07-01")
    report = run(fiscal_year=N, municipality=M, notice_date="2026-07-01", dry_run=True)
    assert report["status"] == "success" and report["outputs"] == []
    assert any("a dispatch now would stop" in m for m in report["messages"])
    assert not _exists(lake, "curated", "collection_plan")


def test_a_missing_pension_target_file_names_the_file_expected(lake):
    from contracts.errors import InputFileError

    shutil.rmtree(lake / "landing" / "pension_withholding_target")
    with pytest.raises(InputFileError, match="nenkin_tokucho_taisho_131032_20260501.csv"):
        _run()
