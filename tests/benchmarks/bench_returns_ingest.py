"""Benchmark of the `returns_ingest` stage (`make bench BENCH=returns_ingest`).

Generates a ward (all documents), takes the resident snapshot, then times `returns_ingest` on every
document in a fresh spawned process: wall seconds, peak RSS and documents/second per format.
Target of issue 3 at 1,000,000 residents (≈1.3M documents): ≤ 5 minutes and ≤ 8 GiB. Reports;
asserts nothing (STYLE rule 15).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from tests.benchmarks.harness import REPO, header, measure, peak_rss_gib, scratch, step  # noqa: F401 (REPO re-exported)


def use_lake(work: str) -> None:
    """Point the stage at the benchmark's lake and vault key (in the child process)."""
    os.environ["JUMINZEI_LAKE"] = str(Path(work) / "lake")
    os.environ["JUMINZEI_VAULT_KEY_FILE"] = str(Path(work) / "vault.key")


def _prepare(residents: int, seed: int, fiscal_year: int, work: str) -> None:
    from sample_ward import generate_ward

    ward = Path(work) / "ward"
    generate_ward(ward, residents=residents, seed=seed, fiscal_year=fiscal_year)
    shutil.move(str(ward / "landing"), str(Path(work) / "lake" / "landing"))
    shutil.rmtree(ward)
    use_lake(work)
    from pipelines.config import Settings, new_run_id
    from pipelines.resident_snapshot import run

    run(fiscal_year=fiscal_year, settings=Settings.from_env(), run_id=new_run_id("resident_snapshot"))


def _child(fiscal_year: int, work: str) -> dict[str, Any]:
    use_lake(work)
    from pipelines.config import Settings, new_run_id
    from pipelines.returns_ingest import run

    started = time.perf_counter()
    report = run(fiscal_year=fiscal_year, settings=Settings.from_env(), run_id=new_run_id("returns_ingest"))
    seconds = time.perf_counter() - started
    peak = peak_rss_gib()
    per_source: dict[str, int] = {}
    for entry in report["per_input"]:
        per_source[entry["source"]] = per_source.get(entry["source"], 0) + entry["received"]
    return {
        "parse_documents_per_second_by_source": _parse_rates(Path(work) / "lake" / "landing", fiscal_year),
        "seconds": round(seconds, 1),
        "peak_rss_gib": peak,
        "documents": report["counts"]["received"],
        "files": len(report["per_input"]),
        "documents_per_second": round(report["counts"]["received"] / seconds),
        "documents_by_source": per_source,
        "counts": {k: report["counts"][k] for k in ("received", "staged", "quarantined", "forwarded")},
        "reconciles": report["reconciliation"]["ok"],
    }


def _parse_rates(landing: Path, fiscal_year: int) -> dict[str, int]:
    """Documents/second of parsing alone, per format (files read into memory first, not timed)."""
    from pipelines.ledger import SOURCES, scan_landing
    from transforms.parse_csv import parse_csv_documents
    from transforms.parse_etax import parse_etax_returns

    rates: dict[str, int] = {}
    for source in SOURCES:
        files = [(f.path, f.absolute(landing).read_bytes()) for f in scan_landing(landing, source, "131032", fiscal_year)]
        started = time.perf_counter()
        if source == "etax_return":
            result = parse_etax_returns(files)
            documents = result.returns.height + result.quarantine.select("file").n_unique()
        else:
            result = parse_csv_documents(files, source)
            documents = result.records.height + result.quarantine.height
        rates[source] = round(documents / max(time.perf_counter() - started, 1e-9))
        del files, result
    return rates


def bench(residents: int = 1_000_000, seed: int = 20260101, fiscal_year: int = 2026) -> dict[str, Any]:
    with scratch("returns_ingest") as work:
        step(_prepare, residents, seed, fiscal_year, str(work))
        return {**header(residents, seed, fiscal_year), **measure(_child, fiscal_year, str(work))}
