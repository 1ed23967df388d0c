"""Benchmark of the `resident_snapshot` stage (`make bench BENCH=resident_snapshot`).

Writes the registry extracts of a generated ward (population + registry only, no documents), then
times `pipelines.resident_snapshot.run` on them in a fresh spawned process so the peak RSS is the
stage's own (plus its imports). Reports figures; asserts nothing (STYLE rule 15).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.benchmarks.bench_returns_ingest import use_lake
from tests.benchmarks.harness import header, measure, peak_rss_gib, scratch, step


def _prepare(residents: int, seed: int, fiscal_year: int, work: str) -> None:
    from sample_ward.population import build_population
    from sample_ward.registry import write_registry

    write_registry(build_population(residents, seed, fiscal_year), Path(work) / "lake" / "landing", seed)


def _child(fiscal_year: int, work: str) -> dict[str, Any]:
    use_lake(work)
    from pipelines.config import Settings, new_run_id
    from pipelines.resident_snapshot import run

    runs = []
    for attempt in ("first", "rerun"):
        started = time.perf_counter()
        report = run(fiscal_year=fiscal_year, settings=Settings.from_env(), run_id=new_run_id("resident_snapshot"))
        runs.append((attempt, round(time.perf_counter() - started, 2), report))
    first = runs[0][2]
    return {
        "seconds": {attempt: seconds for attempt, seconds, _ in runs},
        "peak_rss_gib": peak_rss_gib(),
        "counts": {k: first["counts"][k] for k in ("received", "staged", "quarantined", "forwarded")},
        "rows_per_second_first_run": round(first["counts"]["received"] / runs[0][1]),
        "rerun_unchanged": all(o.get("unchanged") for o in runs[1][2]["outputs"]),
        "reconciles": first["reconciliation"]["ok"],
    }


def bench(residents: int = 1_000_000, seed: int = 20260101, fiscal_year: int = 2026) -> dict[str, Any]:
    with scratch("resident_snapshot") as work:
        step(_prepare, residents, seed, fiscal_year, str(work))
        return {**header(residents, seed, fiscal_year), **measure(_child, fiscal_year, str(work))}
