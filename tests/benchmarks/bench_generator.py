"""Benchmark of the sample-ward generator (`make bench BENCH=generator`).

Targets at 1,000,000 residents on the 2-core reference machine: the whole generator ≤ 60 s and
≤ 4 GiB peak RSS; population + registry alone well under 20 s. Benchmarks report figures and do not
assert them (STYLE rule 15).

Each scope runs in a fresh *spawned* child process, so the peak RSS (``ru_maxrss`` of the child
itself) is not inflated by the parent, by earlier scopes or by imports of the test runner:

* ``population_registry`` — ``build_population`` + ``write_registry`` (people and the four registry
  extracts);
* ``full`` — ``generate_ward``: everything, including documents, truth Parquet and the manifest.

Output goes to a temporary folder under ``var/bench/`` (on disk, not tmpfs) that is removed afterwards.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.benchmarks.harness import header, measure, peak_rss_gib, scratch

SCOPES = ("population_registry", "full")


def _child(scope: str, residents: int, seed: int, fiscal_year: int, work_dir: str) -> dict[str, Any]:
    started = time.perf_counter()
    phases: dict[str, float] = {}
    if scope == "population_registry":
        from sample_ward.population import build_population
        from sample_ward.registry import write_registry

        t0 = time.perf_counter()
        pop = build_population(residents, seed, fiscal_year)
        phases["population"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = write_registry(pop, Path(work_dir) / "landing", seed)
        phases["registry"] = time.perf_counter() - t0
        counts = {"persons": pop.persons.height, **{f"rows_{k}": v for k, v in result.rows.items()},
                  "registry_defects": result.defects.height}
    elif scope == "full":
        from sample_ward import generate_ward

        summary = generate_ward(Path(work_dir) / "ward", residents=residents, seed=seed, fiscal_year=fiscal_year)
        phases = dict(summary["seconds"])
        counts = {"persons": summary["persons"], "documents": summary["documents"],
                  "defects": summary["defects"], "files": summary["files"]}
    else:
        raise ValueError(f"unknown scope {scope!r}")
    wall = time.perf_counter() - started
    size = sum(p.stat().st_size for p in Path(work_dir).rglob("*") if p.is_file())
    return {"wall_seconds": round(wall, 2), "peak_rss_gib": peak_rss_gib(),
            "phases_seconds": {k: round(v, 2) for k, v in phases.items()}, "counts": counts,
            "output_bytes": size}


def bench(residents: int = 1_000_000, seed: int = 20260101, fiscal_year: int = 2026,
          scopes: tuple[str, ...] = SCOPES) -> dict[str, Any]:
    """Run each scope in a fresh process; return wall seconds and peak RSS (GiB) per scope."""
    figures: dict[str, Any] = header(residents, seed, fiscal_year)
    for scope in scopes:
        with scratch(f"generator-{scope}") as work:
            figures[scope] = measure(_child, scope, residents, seed, fiscal_year, str(work))
    return figures


if __name__ == "__main__":
    import json
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(json.dumps(bench(residents=n), indent=2, sort_keys=True))
