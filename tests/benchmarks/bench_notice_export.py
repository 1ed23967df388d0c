"""Benchmark of the `notice_export` stage (`make bench BENCH=notice_export`).

Generates a ward, runs the cycle up to `tax_assessment` and May's `pension_special_collection`, then times a `notice_export` dispatch (plan,
installments, every notice, the hand-off folders with their manifests, the sample of 20 PDFs) in a fresh
spawned process: wall seconds, peak RSS, notices per second. Issue 13's target at 1,000,000 residents:
≤ 60 s and ≤ 6 GiB. Reports; asserts nothing (STYLE rule 15).
"""

from __future__ import annotations

import time
from typing import Any

from tests.benchmarks.bench_returns_ingest import _prepare, use_lake
from tests.benchmarks.harness import header, measure, peak_rss_gib, scratch, step

NOTICE_DATE = "2026-05-20"  # the generated DV等支援措置 list is extracted on 15 May


def _stage(stage: str, fiscal_year: int, work: str, **options: Any) -> None:
    use_lake(work)
    from pipelines.config import Settings, new_run_id
    from pipelines.stages import stage_runner

    report = stage_runner(stage)(fiscal_year=fiscal_year, settings=Settings.from_env(), run_id=new_run_id(stage),
                                 **options)
    if report["status"] != "success":
        raise RuntimeError(f"{stage} did not succeed")


def _child(fiscal_year: int, work: str) -> dict[str, Any]:
    use_lake(work)
    from pipelines.config import Settings, new_run_id
    from pipelines.notice_export import run

    started = time.perf_counter()
    report = run(fiscal_year=fiscal_year, settings=Settings.from_env(), run_id=new_run_id("notice_export"),
                 notice_date=NOTICE_DATE, requested_by="benchmark")
    seconds = time.perf_counter() - started
    counts = report["counts"]
    notices = counts["tax_notices"] + counts["special_collection_notices"]
    return {
        "seconds": round(seconds, 1),
        "peak_rss_gib": peak_rss_gib(),
        "assessed_persons": counts["received"] - sum(
            e["received"] for e in report["per_input"] if e.get("source") != "tax_assessment"),
        "persons_with_plan": counts["persons_with_plan"],
        "notices": notices,
        "notices_per_second": round(notices / seconds),
        "installments": counts["installments"],
        "handoff_files": sum(h["files"] for h in report.get("handoffs", [])),
        "reconciles": report["reconciliation"]["ok"],
    }


def bench(residents: int = 1_000_000, seed: int = 20260101, fiscal_year: int = 2026) -> dict[str, Any]:
    with scratch("notice_export") as work:
        step(_prepare, residents, seed, fiscal_year, str(work))
        for stage in ("returns_ingest", "record_merge", "tax_assessment"):
            step(_stage, stage, fiscal_year, str(work))
        # May's 年金特徴 run decides who is withheld from a pension (notice_export reads it)
        step(_stage, "pension_special_collection", fiscal_year, str(work), processing_month=f"{fiscal_year}-05")
        return {**header(residents, seed, fiscal_year), **measure(_child, fiscal_year, str(work))}
