"""Benchmark of the `resident_snapshot` stage (`make bench BENCH=resident_snapshot`).

Writes the registry extracts of a generated ward (population + registry only, no documents), then
times `pipelines.resident_snapshot.run` on them in a fresh spawned process so the peak RSS is the
stage's own (plus its imports). Reports figures; asserts nothing (STYLE rule 15).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _prepare(residents: int, seed: int, fiscal_year: int, lake: str) -> None:
    from juminzei.generator.population import build_population
    from juminzei.generator.registry import write_registry

    write_registry(build_population(residents, seed, fiscal_year), Path(lake) / "landing", seed)


def _child(fiscal_year: int, lake: str, queue: Any) -> None:
    try:
        os.environ["JUMINZEI_LAKE"] = lake
        os.environ["JUMINZEI_VAULT_KEY_FILE"] = str(Path(lake).parent / "vault.key")
        from pipelines.config import Settings, new_run_id
        from pipelines.resident_snapshot import run

        runs = []
        for attempt in ("first", "rerun"):
            started = time.perf_counter()
            report = run(fiscal_year=fiscal_year, settings=Settings.from_env(), run_id=new_run_id("resident_snapshot"))
            runs.append((attempt, round(time.perf_counter() - started, 2), report))
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        first = runs[0][2]
        queue.put({
            "ok": True,
            "seconds": {attempt: seconds for attempt, seconds, _ in runs},
            "peak_rss_gib": round(peak_kib / 2**20, 3),
            "counts": {k: first["counts"][k] for k in ("received", "staged", "quarantined", "forwarded")},
            "rows_per_second_first_run": round(first["counts"]["received"] / runs[0][1]),
            "rerun_unchanged": all(o.get("unchanged") for o in runs[1][2]["outputs"]),
            "reconciles": first["reconciliation"]["ok"],
        })
    except BaseException as error:  # report, never hang the parent
        queue.put({"ok": False, "error": f"{type(error).__name__}: {error}"})


def bench(residents: int = 1_000_000, seed: int = 20260101, fiscal_year: int = 2026) -> dict[str, Any]:
    root = Path(os.environ.get("JUMINZEI_BENCH_DIR", REPO / "var" / "bench"))
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="resident_snapshot-", dir=root))
    ctx = mp.get_context("spawn")
    try:
        lake = str(work / "lake")
        prep = ctx.Process(target=_prepare, args=(residents, seed, fiscal_year, lake))
        prep.start()
        prep.join()
        if prep.exitcode != 0:
            return {"ok": False, "error": "generating the registry failed"}
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(fiscal_year, lake, queue))
        proc.start()
        result = queue.get()
        proc.join()
        return {"residents": residents, "seed": seed, "fiscal_year": fiscal_year, "cpus": os.cpu_count(), **result}
    finally:
        shutil.rmtree(work, ignore_errors=True)
