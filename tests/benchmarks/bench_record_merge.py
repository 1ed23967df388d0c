"""Benchmark of the `record_merge` stage (`make bench BENCH=record_merge`).

Generates a ward, takes the resident snapshot and ingests every document, then times `record_merge`
in a fresh spawned process: wall seconds, peak RSS, persons and documents per second. Target: a
1,000,000-resident ward (≈1.2M documents). Reports; asserts nothing (STYLE rule 15).
"""

from __future__ import annotations

import time
from typing import Any

from tests.benchmarks.bench_returns_ingest import _prepare, use_lake
from tests.benchmarks.harness import header, measure, peak_rss_gib, scratch, step


def _ingest(fiscal_year: int, work: str) -> None:
    use_lake(work)
    from pipelines.config import Settings, new_run_id
    from pipelines.returns_ingest import run

    run(fiscal_year=fiscal_year, settings=Settings.from_env(), run_id=new_run_id("returns_ingest"))


def _child(fiscal_year: int, work: str) -> dict[str, Any]:
    use_lake(work)
    from pipelines.config import Settings, new_run_id
    from pipelines.record_merge import run

    started = time.perf_counter()
    report = run(fiscal_year=fiscal_year, settings=Settings.from_env(), run_id=new_run_id("record_merge"))
    seconds = time.perf_counter() - started
    counts = report["counts"]
    documents = sum(e["received"] for e in report["per_input"] if e.get("source") != "residents")
    return {
        "seconds": round(seconds, 1),
        "peak_rss_gib": peak_rss_gib(),
        "persons": counts["basis_rows"],
        "documents": documents,
        "documents_per_second": round(documents / seconds),
        "relatives": counts["relatives"],
        "flags": counts["flags"],
        "reconciles": report["reconciliation"]["ok"],
    }


def bench(residents: int = 1_000_000, seed: int = 20260101, fiscal_year: int = 2026) -> dict[str, Any]:
    with scratch("record_merge") as work:
        step(_prepare, residents, seed, fiscal_year, str(work))
        step(_ingest, fiscal_year, str(work))
        return {**header(residents, seed, fiscal_year), **measure(_child, fiscal_year, str(work))}
