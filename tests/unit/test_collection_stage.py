"""The collection stage on a small generated ward (docs/collection.md): the opening 調定 equals what the dispatched
notices tell, day by day posting runs are append-only and idempotent, a posted day is never changed, a dry run
writes only its report, payment files end matched, provisional, in suspense or quarantined record by record.

The cycle up to the 当初 dispatch runs once into a template lake; each test works on its own copy. Expected
figures are built here from the installment schedule the notices were printed from, or from payments written
into the test's own files, not from the stage's outputs."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

#: Builds a generated ward and runs whole stages: left out of mutation runs (docs/testing.md).
pytestmark = pytest.mark.slow

M, N = "131032", 2026
NOTICE_DATE = "2026-05-20"
UPSTREAM = ("resident_snapshot", "returns_ingest", "record_merge", "tax_assessment")


def _env(monkeypatch, root: Path, lake: Path) -> None:
    monkeypatch.setenv("JUMINZEI_LAKE", str(lake))
    monkeypatch.setenv("JUMINZEI_VAULT_KEY_FILE", str(root / "keys" / "vault.key"))
    monkeypatch.setenv("JUMINZEI_DATA_DOCS", str(root / "data_docs"))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    from pipelines.notice_export import run as dispatch
    from pipelines.stages import stage_runner
    from sample_ward import generate_ward

    root = tmp_path_factory.mktemp("collection")
    generate_ward(root / "ward", residents=300, seed=15, fiscal_year=N)
    lake = root / "lake"
    shutil.copytree(root / "ward" / "landing", lake / "landing")
    with pytest.MonkeyPatch.context() as patch:
        _env(patch, root, lake)
        for stage in UPSTREAM:
            assert stage_runner(stage)(fiscal_year=N, municipality=M)["status"] == "success"
        # May's 年金特徴 run: who is withheld from a pension (curated/pension_targets), then the dispatch
        pension = stage_runner("pension_special_collection")(fiscal_year=N, municipality=M, processing_month=f"{N}-05")
        assert pension["status"] == "success"
        assert dispatch(fiscal_year=N, municipality=M, notice_date=NOTICE_DATE)["status"] == "success"
    return root


@pytest.fixture()
def lake(template, tmp_path, monkeypatch) -> Path:
    lake = tmp_path / "lake"
    shutil.copytree(template / "lake", lake)
    _env(monkeypatch, template, lake)
    return lake


def _run(day: str, **options) -> dict:
    from pipelines.collection import run

    return run(fiscal_year=N, municipality=M, processing_day=day, **options)


def _ledger(lake: Path) -> pl.DataFrame:
    from contracts.collection import LEDGER_SCHEMA
    from pipelines.lake import read_run_partitions

    return read_run_partitions(lake, "curated", "collection_ledger", M, N, schema=LEDGER_SCHEMA)


def _day_folder(lake: Path, day: str) -> Path:
    folder = lake / "landing" / "payments" / f"municipality={M}" / f"fiscal_year={N}" / f"day={day}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _tree(lake: Path) -> dict[str, bytes]:
    base = lake / "curated"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------------ 調定
def test_the_opening_charges_are_what_the_dispatched_notices_tell(lake):
    from pipelines.lake import read_partition

    report = _run("2026-05-31")
    assert report["status"] == "success" and report["reconciliation"]["ok"]
    ledger = _ledger(lake)
    opening = ledger.filter(pl.col("posting_run") == NOTICE_DATE)
    assert set(opening["entry_kind"]) == {"assessment"}
    assert set(opening["posted_on"]) == {date(2026, 5, 20)}
    # the notices' installments, summed per route: what the ledger must charge, less any pension month a stop
    # in May moved to 普通徴収 with its notice of 20 May (curated/pension_moves; in this ward: checked below)
    schedule = read_partition(lake, "curated", "installment_schedule", M, N)
    expected = dict(schedule.filter(pl.col("amount") > 0).group_by("route").agg(pl.col("amount").sum()).rows())
    assert dict(opening.group_by("route").agg(pl.col("amount").sum()).rows()) == expected
    assert report["counts"]["ordinary_charged"] == expected["ordinary"]
    assert report["counts"]["salary_unpaid"] == expected["salary"]
    # every 期 of every route is one receivable: as many rows as (person, route, payer, period) with tax
    keys = schedule.filter(pl.col("amount") > 0).select("person_id", "route", "payer", "period").unique()
    assert opening.height == keys.height


def test_a_rerun_posts_nothing_and_changes_no_byte(lake):
    first = _run("2026-08-31")
    before = _tree(lake)
    again = _run("2026-08-31")
    assert again["counts"]["days_posted"] == 0 and first["counts"]["days_posted"] > 0
    assert _tree(lake) == before


def test_a_demand_for_each_period_still_unpaid_fifteen_days_after_its_due_date(lake):
    from pipelines.lake import read_run_partitions

    _run("2026-07-31")
    demands = read_run_partitions(lake, "curated", "demand_notices", M, N,
                                  schema={"issued_on": pl.Date, "route": pl.String, "period": pl.String,
                                          "unpaid": pl.Int64, "deadline": pl.Date, "fee": pl.Int64},
                                  columns=["issued_on", "route", "period", "unpaid", "deadline", "fee"])
    # nothing was paid: 第1期 (納期限 2026-06-30) is demanded 15 days later, 2026-07-15, with a 指定期限 10 days
    # after that; June's salary withholding (納入期限 2026-07-10) on 2026-07-27 (the 25th is a Saturday)
    ordinary = demands.filter(pl.col("route") == "ordinary")
    assert set(ordinary["issued_on"]) == {date(2026, 7, 15)} and set(ordinary["period"]) == {"2026-06"}
    assert set(ordinary["deadline"]) == {date(2026, 7, 25)} and set(demands["fee"]) == {0}  # 港区: no 督促手数料
    salary = demands.filter(pl.col("route") == "salary")
    assert set(salary["issued_on"]) == {date(2026, 7, 27)} and set(salary["period"]) == {"2026-06"}


def test_a_dry_run_writes_only_its_report(lake):
    before = _tree(lake)
    report = _run("2026-08-31", dry_run=True)
    assert report["status"] == "success" and report["counts"]["days_posted"] > 0
    assert _tree(lake) == before


def test_a_posted_day_is_never_changed(lake):
    from pipelines.collection import CollectionStopped

    _run("2026-07-20")
    (_day_folder(lake, "2026-07-15") / "bank_counter_late.dat").write_bytes(b"x")
    with pytest.raises(CollectionStopped, match=r"day=2026-07-15.*a posted day is never changed"):
        _run("2026-07-31")


def test_nothing_is_collected_before_the_dispatch(lake, tmp_path):
    from pipelines.collection import CollectionStopped

    shutil.rmtree(lake / "reports" / "notice_export")
    with pytest.raises(CollectionStopped, match="no dispatched 当初賦課"):
        _run("2026-07-31")
