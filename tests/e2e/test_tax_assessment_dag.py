"""End to end: … → record_merge → tax_assessment with `dag.test()` on the sample ward.

Checks what operators and auditors rely on: every person of the merged basis is assessed exactly once
and the counts and totals reconcile; the contract's invariants hold on real data; the stored figures are
the calculator's (one engine); the validation report (Data Docs) exists and is linked from the run
report; `juminzei explain` prints a person's sheet from the stored figures; a rerun is byte-identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.e2e.conftest import E2E_FISCAL_YEAR, assert_no_my_number
from tests.e2e.test_returns_ingest_dag import _partition, _run, ingested  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e
M = "131032"


def _report(lake: Path) -> dict:
    path = lake / "reports" / "tax_assessment" / f"municipality={M}" / f"fiscal_year={E2E_FISCAL_YEAR}" / "latest.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_resident_is_assessed_and_explainable(ingested: Path, sample_ward: Path, capfd, caplog):  # noqa: F811
    lake = ingested
    _run("record_merge")
    _run("tax_assessment")
    report = _report(lake)
    assert report["status"] == "success" and report["reconciliation"]["ok"], report["reconciliation"]

    basis = _partition(lake, "curated", "taxation_basis")
    assessment = _partition(lake, "curated", "tax_assessment")
    assert assessment.height == basis.height == report["counts"]["received"] == report["counts"]["staged"]
    assert assessment["person_id"].to_list() == sorted(basis["person_id"].to_list())
    assert report["counts"]["sum_total_tax"] == int(assessment["total_tax"].sum())
    by_exemption = assessment.group_by("exemption").len()
    assert {e for e, _ in by_exemption.iter_rows()} <= {"none", "income_levy_exempt", "fully_exempt"}
    assert assessment.filter(pl.col("exemption") == "none").height > 0
    # Residents without any document pay nothing but are assessed (非課税 on 0 income).
    no_docs = basis.filter(~pl.col("has_documents")).select("person_id")
    quiet = assessment.join(no_docs, on="person_id", how="semi")
    assert quiet.height > 0 and quiet["total_tax"].max() == 0

    # One engine: the calculator gives the stored figures for a taxpayer rebuilt from the basis.
    from juminzei.calc import calculate
    from transforms.tax_engine import OUTPUT_COLUMNS

    all_relatives = _partition(lake, "curated", "taxation_basis_relatives")
    undated = all_relatives.filter(pl.col("birth_date").is_null()).select("person_id")
    candidates = assessment.filter(pl.col("exemption") == "none").join(undated, on="person_id", how="anti")
    taxpayer = candidates.sort(pl.col("deduction_spouse") + pl.col("deduction_dependants"), descending=True).row(0, named=True)
    person = basis.filter(pl.col("person_id") == taxpayer["person_id"]).row(0, named=True)
    relatives = all_relatives.filter(pl.col("person_id") == person["person_id"])
    spouse = [r for r in relatives.iter_rows(named=True) if r["role"] == "spouse"]
    line = {
        "fiscal_year": E2E_FISCAL_YEAR,
        "taxpayer": {"birth_date": person["birth_date"].isoformat(), "sex": person["sex"], "disability": person["disability"],
                     **{k: person[k] for k in ("widow", "single_parent", "working_student", "livelihood_assistance")}},
        "income": {k: person[k] for k in ("salary_revenue", "public_pension_revenue", "business_income",
                                          "real_estate_income", "dividend_income", "misc_income", "occasional_income")},
        "paid": {"social_insurance": person["social_insurance"], "small_enterprise_mutual_aid": person["small_enterprise_mutual_aid"],
                 "life_insurance": {"new_general": person["life_new_general"], "old_general": person["life_old_general"],
                                    "new_pension": person["life_new_pension"], "old_pension": person["life_old_pension"],
                                    "care_medical": person["life_care_medical"]},
                 "earthquake_insurance": person["earthquake_insurance"],
                 "old_long_term_casualty_insurance": person["old_long_term_casualty_insurance"],
                 "medical_expenses": person["medical_expenses"], "medical_reimbursed": person["medical_reimbursed"]},
        "spouse": None if not spouse else {
            "birth_date": spouse[0]["birth_date"].isoformat() if spouse[0]["birth_date"] else None,
            **{k: spouse[0][k] for k in ("salary_revenue", "public_pension_revenue", "other_income", "disability", "cohabiting")}},
        "dependants": [
            {"birth_date": r["birth_date"].isoformat() if r["birth_date"] else None,
             **{k: r[k] for k in ("salary_revenue", "public_pension_revenue", "other_income", "disability", "cohabiting",
                                  "lineal_ascendant")}}
            for r in relatives.iter_rows(named=True) if r["role"] == "dependant" and r["birth_date"] is not None],
        "credits": {k: person[k] for k in ("housing_loan_unused_income_tax_credit", "housing_loan_taxable_income_for_income_tax",
                                           "furusato_donations", "one_stop", "other_donations_municipal",
                                           "other_donations_prefectural")}
        | {"housing_moved_in": person["housing_moved_in"].isoformat() if person["housing_moved_in"] else None},
    }
    (result,) = calculate([line])
    assert result == {k: taxpayer[k] for k in OUTPUT_COLUMNS}

    # The validation report (Great Expectations Data Docs) is linked from the run report.
    validation = report["validation"]
    assert validation["success"], validation.get("failed")
    assert Path(validation["data_docs"]).is_file()

    # juminzei explain prints the stored figures with their rules.
    env = {**os.environ, "JUMINZEI_LAKE": str(lake)}
    shown = subprocess.run([sys.executable, "-m", "juminzei.cli", "explain", "--fiscal-year", str(E2E_FISCAL_YEAR),
                            "--atena-no", taxpayer["person_id"]], env=env, capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stderr
    assert f"{taxpayer['total_tax']:,}" in shown.stdout and "課税総所得金額" in shown.stdout and "根拠" in shown.stdout
    missing = subprocess.run([sys.executable, "-m", "juminzei.cli", "explain", "--fiscal-year", str(E2E_FISCAL_YEAR),
                              "--atena-no", "9999999999"], env=env, capture_output=True, text=True, check=False)
    assert missing.returncode == 2 and "9999999999" in missing.stderr and "Traceback" not in missing.stderr

    # No My Number in clear in any output of any stage of the cycle, in the explain output, nor in the task logs.
    assert_no_my_number(sample_ward, lake, logs="".join(capfd.readouterr()) + caplog.text + shown.stdout + shown.stderr)

    # A rerun on the same basis is byte-identical.
    folder = lake / "curated" / "tax_assessment"
    first = {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    _run("tax_assessment")
    assert {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} == first
    assert all(o["unchanged"] for o in _report(lake)["outputs"])
