"""End to end on the generated sample ward (without Airflow): resident_snapshot → returns_ingest →
record_merge, then an operator decides review items with `juminzei review decide`, record_merge runs
again and the basis changes as decided. The right person comes from the generator's truth/ (which the
pipeline never reads)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from juminzei.cli import main
from pipelines.stages import stage_runner
from tests.e2e.conftest import E2E_FISCAL_YEAR
from transforms.review import item_id

pytestmark = pytest.mark.e2e
M = "131032"
FY = E2E_FISCAL_YEAR


def _partition(lake: Path, zone: str, dataset: str) -> pl.DataFrame:
    folder = lake / zone / dataset / f"municipality={M}" / f"fiscal_year={FY}"
    return pl.read_parquet(sorted(folder.glob("*.parquet")))


def _run(stage: str) -> dict:
    report = stage_runner(stage)(fiscal_year=FY, municipality=M)
    assert report["status"] == "success" and report["reconciliation"]["ok"], stage
    return report


def _person(lake: Path, atena_no: str) -> dict:
    return _partition(lake, "curated", "taxation_basis").filter(pl.col("person_id") == atena_no).row(0, named=True)


def test_a_review_decision_changes_the_next_merge(lake: Path, sample_ward: Path, capsys):
    for stage in ("resident_snapshot", "returns_ingest", "record_merge"):
        _run(stage)
    queue = _partition(lake, "staging", "review_queue")
    truth = pl.read_parquet(sample_ward / "truth" / "documents.parquet").select(
        pl.concat_str([pl.col("file"), pl.lit("#"), pl.col("record_no").cast(pl.String)]).alias("doc_uid"),
        "true_atena_no")
    queued = queue.filter(pl.col("candidate_rank") == 1).join(truth, on="doc_uid", how="inner", validate="1:1")
    salary = queued.filter(pl.col("source") == "salary_report").sort("doc_uid")
    other = queued.filter(pl.col("source") != "salary_report").sort("doc_uid")
    assert salary.height >= 1 and other.height >= 1, "the seeded ward queues a salary report and another document"
    doc, person = salary.get_column("doc_uid")[0], salary.get_column("true_atena_no")[0]
    forwarded_doc = other.get_column("doc_uid")[0]
    payment = (_partition(lake, "staging", "salary_reports").filter(pl.col("doc_uid") == doc)
               .get_column("payment_amount_yen").item())
    before = _person(lake, person)

    # The operator settles two documents: this person, and a forward to 新宿区 (131041).
    extra = [] if person in queue.filter(pl.col("doc_uid") == doc).get_column("candidate_atena_no") else [
        "--not-a-candidate"]
    for argv in ((item_id("document", doc), "person", person, "--reason", "勤務先に照会し本人と確認", *extra),
                 (item_id("document", forwarded_doc), "forward", "131041", "--reason", "新宿区在住と判明")):
        assert main(["review", "decide", *argv, "--fiscal-year", str(FY)]) == 0
    capsys.readouterr()

    report = _run("record_merge")
    after = _person(lake, person)
    assert after["n_salary_report"] == before["n_salary_report"] + 1
    if before["basis_source"] in ("information_returns", "none"):  # summed into the basis (no return filed)
        assert after["salary_revenue"] == before["salary_revenue"] + payment
    lineage = _partition(lake, "curated", "basis_lineage")
    merged = lineage.filter(pl.col("doc_uid") == doc).row(0, named=True)
    decisions = _partition(lake, "curated", "review_decisions")
    assert merged["person_id"] == person and merged["decision_id"] == decisions.sort("decided_at")["decision_id"][0]
    assert lineage.filter(pl.col("doc_uid") == forwarded_doc).height == 0  # forwarded: not merged
    outcomes = dict(_partition(lake, "curated", "review_outcomes").select("item_key", "outcome").iter_rows())
    assert outcomes == {doc: "merged", forwarded_doc: "forwarded"}
    counts = report["counts"]
    assert counts["review_decisions_applied"] == 2 and counts["review_decisions_stale"] == 0
    flags = _partition(lake, "curated", "merge_flags").filter(pl.col("flag") == "document_in_review")
    assert not flags.get_column("related").is_in([doc, forwarded_doc]).any()

    # The CLI shows the items as decided; the audit log holds both decisions.
    assert main(["review", "list", "--fiscal-year", str(FY), "--json"]) == 0
    items = {i["item_key"]: i for i in json.loads(capsys.readouterr().out)["items"]}
    assert (items[doc]["decision"], items[doc]["target"], items[doc]["outcome"]) == ("person", person, "merged")
    records = [json.loads(line) for line in (lake / "audit" / "audit_log.jsonl").read_text().splitlines()]
    assert [r["details"]["decision"] for r in records if r["operation"] == "review_decision"] == ["person", "forward"]
