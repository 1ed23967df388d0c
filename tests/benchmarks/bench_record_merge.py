"""Benchmark of the `record_merge` stage (`make bench BENCH=record_merge`).

Generates a ward, takes the resident snapshot and ingests every document, then times `record_merge`
in a fresh spawned process: wall seconds, peak RSS, persons and documents per second. Target: a
1,000,000-resident ward (≈1.2M documents). Reports; asserts nothing (STYLE rule 15).
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

from tests.benchmarks.bench_returns_ingest import REPO, _prepare


def _ingest(fiscal_year: int, work: str) -> None:
    os.environ["JUMINZEI_LAKE"] = str(Path(work) / "lake")
    os.environ["JUMINZEI_VAULT_KEY_FILE"] = str(Path(work) / "vault.key")
    from pipelines.config import Settings, new_run_id
    from pipelines.returns_ingest import run

    run(fiscal_year=fiscal_year, settings=Settings.from_env(), run_id=new_run_id("returns_ingest"))


def _child(fiscal_year: int, work: str, queue: Any) -> None:
    try:
        os.environ["JUMINZEI_LAKE"] = str(Path(work) / "lake")
        os.environ["JUMINZEI_VAULT_KEY_FILE"] = str(Path(work) / "vault.key")
        from pipelines.config import Settings, new_run_id
        from pipelines.record_merge import run

        started = time.perf_counter()
        report = run(fiscal_year=fiscal_year, settings=Settings.from_env(), run_id=new_run_id("record_merge"))
        seconds = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        counts = report["counts"]
        documents = sum(e["received"] for e in report["per_input"] if e.get("source") != "residents")
        queue.put({
            "ok": True,
            "seconds": round(seconds, 1),
            "peak_rss_gib": round(peak_kib / 2**20, 3),
            "persons": counts["basis_rows"],
            "documents": documents,
            "documents_per_second": round(documents / seconds),
            "relatives": counts["relatives"],
            "flags": counts["flags"],
            "reconciles": report["reconciliation"]["ok"],
        })
    except BaseException as error:  # report, never hang the parent
        queue.put({"ok": False, "error": f"{type(error).__name__}: {error}"})


def bench(residents: int = 1_000_000, seed: int = 20260101, fiscal_year: int = 2026) -> dict[str, Any]:
    root = Path(os.environ.get("JUMINZEI_BENCH_DIR", REPO / "var" / "bench"))
    root.mkdir(parents=True, exist_ok=True)
    work = tempfile.mkdtemp(prefix="record_merge-", dir=root)
    ctx = mp.get_context("spawn")
    try:
        for target, args in ((_prepare, (residents, seed, fiscal_year, work)), (_ingest, (fiscal_year, work))):
            prep = ctx.Process(target=target, args=args)
            prep.start()
            prep.join()
            if prep.exitcode != 0:
                return {"ok": False, "error": f"{target.__name__} failed (exit {prep.exitcode})"}
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(fiscal_year, work, queue))
        proc.start()
        result = queue.get()
        proc.join()
        return {"residents": residents, "seed": seed, "fiscal_year": fiscal_year, "cpus": os.cpu_count(), **result}
    finally:
        shutil.rmtree(work, ignore_errors=True)
