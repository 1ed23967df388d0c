"""End to end: resident_snapshot → returns_ingest → record_merge with `dag.test()` on the sample ward,
checked against the generator's truth/ (which the pipeline never reads)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.e2e.conftest import E2E_FISCAL_YEAR, assert_no_my_number
from tests.e2e.test_returns_ingest_dag import _partition, _run, ingested  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e
M = "131032"
OUTPUTS = ("taxation_basis", "taxation_basis_relatives", "basis_lineage", "merge_flags", "non_filers",
           "review_outcomes")


def _report(lake: Path) -> dict:
    path = lake / "reports" / "record_merge" / f"municipality={M}" / f"fiscal_year={E2E_FISCAL_YEAR}" / "latest.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_record_merge_builds_one_basis_per_resident(ingested: Path, sample_ward: Path, capfd, caplog):  # noqa: F811
    lake = ingested
    _run("record_merge")
    report = _report(lake)
    assert report["status"] == "success" and report["reconciliation"]["ok"]
    assert {o["dataset"] for o in report["outputs"]} == set(OUTPUTS)

    residents = _partition(lake, "staging", "residents").filter("resident_on_assessment_date")
    basis = _partition(lake, "curated", "taxation_basis")
    assert basis.height == residents.height and basis.get_column("person_id").n_unique() == basis.height
    assert set(basis.get_column("person_id")) == set(residents.get_column("atena_no"))

    # Every usable staged document version appears exactly once in the lineage.
    lineage = _partition(lake, "curated", "basis_lineage")
    usable = pl.concat([
        _partition(lake, "staging", d).filter((pl.col("route") == "stage") & (pl.col("match_decision") == "auto"))
        .select("doc_uid") for d in ("salary_reports", "pension_reports", "etax_returns", "resident_returns",
                                     "furusato_notices")])
    assert lineage.height == usable.height

    # Truth: filers of a 確定申告書 get an e-Tax basis, and their business income is the true one.
    truth = pl.read_parquet(sample_ward / "truth" / "persons.parquet")
    filers = truth.filter(pl.col("files_final_return").fill_null(False)).select("atena_no", "business_income")
    got = basis.join(filers, on="atena_no", how="inner", suffix="_true")
    assert got.height > 0
    share_etax = (got.get_column("basis_source") == "etax_return").mean()
    assert share_etax >= 0.95
    etax = got.filter((pl.col("basis_source") == "etax_return") & (pl.col("business_income_true") >= 0))
    assert (etax.get_column("business_income") == etax.get_column("business_income_true")).mean() >= 0.99

    # Truth: a resolved spouse is the person's true spouse.
    spouses = truth.select("atena_no", "person_id", "spouse_person_id").join(
        truth.select(pl.col("person_id").alias("spouse_person_id"), pl.col("atena_no").alias("true_spouse")),
        on="spouse_person_id", how="inner")
    relatives = _partition(lake, "curated", "taxation_basis_relatives")
    resolved = relatives.filter((pl.col("role") == "spouse") & pl.col("relative_atena_no").is_not_null()).join(
        spouses.select(pl.col("atena_no").alias("person_id"), "true_spouse"), on="person_id", how="left")
    assert resolved.height > 0
    assert (resolved.get_column("relative_atena_no") == resolved.get_column("true_spouse")).mean() >= 0.99

    # e-Tax filers get the relatives their return lists; a resolved one is resident and has a basis;
    # no return that lists a dependant is flagged dependants_not_itemised.
    listed = _partition(lake, "staging", "etax_dependants")
    itemised = relatives.filter(pl.col("source_dependant_no").is_not_null())
    assert itemised.height > 0 and report["counts"]["etax_filers_with_itemised_relatives"] > 0
    assert set(itemised.get_column("source_doc_uid")) <= set(listed.get_column("doc_uid"))
    by_number = itemised.filter(pl.col("resolution") == "etax_my_number")
    assert by_number.height > 0 and by_number.join(basis, left_on="relative_atena_no", right_on="person_id",
                                                   how="anti").height == 0
    flags = _partition(lake, "curated", "merge_flags").filter(pl.col("flag") == "dependants_not_itemised")
    with_dependants = listed.filter(pl.col("relationship") == "dependant").get_column("doc_uid")
    assert flags.filter(pl.col("related").is_in(with_dependants.implode())).height == 0

    # No My Number in clear in any output of the three stages so far, nor in their task logs.
    assert_no_my_number(sample_ward, lake, logs="".join(capfd.readouterr()) + caplog.text)

    # A rerun on the same staging is byte-identical.
    files = lambda: {p: p.read_bytes() for d in OUTPUTS for p in sorted((lake / "curated" / d).rglob("*")) if p.is_file()}  # noqa: E731
    first = files()
    _run("record_merge")
    assert files() == first
    assert all(o["unchanged"] for o in _report(lake)["outputs"])
