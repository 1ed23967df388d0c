"""End to end: … → tax_assessment → notice_export with `dag.test()` on the sample ward (2,000 residents).

What the ward relies on before anything is mailed: the DAG's default is a preview; a dispatch that an
operator chose writes hand-off folders whose manifests reconcile with the assessment to the yen, records
who chose it, and puts no My Number anywhere but the eLTAX data of each employer's own employees; a
missing DV等支援措置 list fails the run with a sentence an operator can act on, and nothing leaves.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.e2e.conftest import E2E_FISCAL_YEAR, assert_no_my_number
from tests.e2e.test_returns_ingest_dag import _dag, _partition, _run, ingested  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e
M = "131032"
NOTICE_DATE = f"{E2E_FISCAL_YEAR}-05-20"


def _report(lake: Path, latest: str = "latest.json") -> dict:
    path = lake / "reports" / "notice_export" / f"municipality={M}" / f"fiscal_year={E2E_FISCAL_YEAR}" / latest
    return json.loads(path.read_text(encoding="utf-8"))


def _notice_run(conf: dict):
    return _dag("notice_export").test(run_conf={"fiscal_year": E2E_FISCAL_YEAR, "municipality": M,
                                                "notice_date": NOTICE_DATE, **conf})


def test_a_preview_by_default_then_a_dispatch_that_reconciles_and_leaks_no_my_number_and_fails_closed(  # noqa: F811
        ingested, sample_ward, capfd, caplog):
    from airflow.utils.state import DagRunState

    lake = ingested
    _run("record_merge")
    _run("tax_assessment")
    # May's 年金特徴 run (the insurers' 特別徴収対象者情報) decides who is withheld from a pension
    may = _dag("pension_special_collection").test(run_conf={
        "fiscal_year": E2E_FISCAL_YEAR, "municipality": M, "dry_run": False, "processing_month": f"{E2E_FISCAL_YEAR}-05"})
    assert may.state == DagRunState.SUCCESS

    # the form's default: a dry run renders under preview/ only
    assert _notice_run({}).state == DagRunState.SUCCESS
    preview = _report(lake, "latest_dry_run.json")
    assert preview["dispatch"]["mode"] == "preview" and not (lake / "exports").exists()
    assert all(h["path"].startswith("preview/") for h in preview["handoffs"])

    # the operator's dispatch
    assert _notice_run({"dry_run": False}).state == DagRunState.SUCCESS
    report = _report(lake)
    assert report["status"] == "success" and report["reconciliation"]["ok"], report["reconciliation"]
    assert report["dispatch"]["mode"] == "dispatch" and "Airflow" in report["dispatch"]["chosen_by"]
    assessment = _partition(lake, "curated", "tax_assessment")
    held = _partition(lake, "curated", "notice_hold")
    manifests = {h["recipient"]: json.loads((lake / h["path"] / "manifest.json").read_text(encoding="utf-8"))
                 for h in report["handoffs"]}
    assert set(manifests) == {"print_vendor", "eltax", "municipalities"}
    vendor = manifests["print_vendor"]["control_totals"]
    # every yen of the assessment is on a notice or in the hold queue: the 納税通知書 carry the 普通徴収 and
    # 年金特別徴収, the employer copies (paper) and the eLTAX files the 給与特別徴収
    sent = (vendor["tax_notice.csv"]["sum_ordinary_amount"] + vendor["tax_notice.csv"]["sum_pension_amount"]
            + vendor["special_collection_employer.csv"]["sum_salary_amount"]
            + sum(t["sum_salary_amount"] for t in manifests["eltax"]["control_totals"].values()))
    assert sent + int(held["amount"].sum()) == int(assessment["total_tax"].sum())
    # each manifest names the assessment it came from
    stored = json.loads((lake / "curated" / "tax_assessment" / f"municipality={M}" / f"fiscal_year={E2E_FISCAL_YEAR}"
                         / "_manifest.json").read_text(encoding="utf-8"))
    assert {m["source"]["tax_assessment"]["content_sha256"] for m in manifests.values()} == {stored["content_sha256"]}
    # received = assessed = notified + held + no tax
    counts = report["counts"]
    assert counts["persons_notified"] + counts["persons_held"] + counts["persons_zero_tax"] == assessment.height
    # the 回送 lists: one file per destination, every current forwarded document with a destination on one
    forwarding = _partition(lake, "curated", "forwarding").filter(
        pl.col("is_current") & pl.col("destination_municipality_code").is_not_null())
    totals = manifests["municipalities"]["control_totals"]
    kaiso = {name: t for name, t in totals.items() if name.startswith("kaiso_")}
    assert sum(t["rows"] for t in kaiso.values()) == forwarding.height
    assert sorted(kaiso) == sorted(f"kaiso_{c}.csv" for c in forwarding["destination_municipality_code"].unique())
    # the 住登外課税通知: one per assessed 住登外者, to the municipality of their 住民票 (地方税法第294条第4項)
    registered = _partition(lake, "staging", "non_registered_residents")
    juto_gai = {name: t for name, t in totals.items() if name.startswith("juto_gai_")}
    assert registered.height > 0
    assert sum(t["notices"] for t in juto_gai.values()) + counts["non_registered_notices_held"] == registered.height
    assert set(juto_gai) <= {f"juto_gai_{c}.csv" for c in registered["registered_municipality_code"]}
    assert set(totals) == set(kaiso) | set(juto_gai)

    # an operator's preview PDF of a taxpayer with a relative (its text is scanned below with the rest)
    from juminzei.cli import main

    taxpayer = _partition(lake, "curated", "tax_assessment").filter(pl.col("total_tax") > 0)["person_id"][0]
    assert main(["preview", "--fiscal-year", str(E2E_FISCAL_YEAR), "--atena-no", taxpayer,
                 "--out", str(lake / "preview" / "pdf")]) == 0
    assert list((lake / "preview" / "pdf").rglob("*.pdf"))

    # the My Number: nowhere in clear but the eLTAX hand-off (its own tests check whose numbers it holds)
    assert_no_my_number(sample_ward, lake, logs="".join(capfd.readouterr()) + caplog.text, allowed=("exports/eltax/",))

    # without the DV等支援措置 list the next dispatch fails with a sentence an operator can act on, and
    # nothing more leaves the building
    before = sorted(p.relative_to(lake) for p in (lake / "exports").rglob("*"))
    shutil.rmtree(lake / "landing" / "support_measures" / f"municipality={M}" / f"fiscal_year={E2E_FISCAL_YEAR}")
    assert _notice_run({"dry_run": False}).state == DagRunState.FAILED
    failed = _report(lake)
    assert failed["status"] == "failed"
    assert any("DV等支援措置" in m and "is missing" in m and "Nothing was written" in m for m in failed["messages"])
    assert sorted(p.relative_to(lake) for p in (lake / "exports").rglob("*")) == before
