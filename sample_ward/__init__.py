"""The synthetic sample ward (`juminzei generate`): people, registry extracts, documents and the truth.

:func:`generate_ward` is the one entry point (CLI, demo, tests, benchmarks). It

1. builds the population (:func:`sample_ward.population.build_population`),
2. writes the four registry extracts with their planted defects (:mod:`sample_ward.registry`),
3. writes the return-ingest documents (:func:`sample_ward.documents.write_documents`),
4. writes ``truth/persons.parquet``, ``truth/documents.parquet`` and ``truth/defects.parquet``,
5. writes ``manifest.json`` (generator version, arguments, every file with sha256, size, records),

all into a temporary folder next to ``DIR`` that replaces ``DIR`` only at the end: an interrupted run
never leaves a half-written ward behind (at worst a hidden ``.DIR.tmp-*`` folder, removed by the next
run). The output is deterministic: the same arguments give byte-identical files (no clock, no
unseeded randomness, every frame sorted before it is written). See docs/sample-ward.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["GENERATOR_VERSION", "generate_ward", "build_manifest"]

# Bump when the bytes written for the same arguments change on purpose (new fields, new distributions).
GENERATOR_VERSION = "1.4.0"  # 1.4.0: two in three 住登外 persons confirmed by the ward (宛名番号 09…, the 住登外者 登録ファイル, their documents staged); 1.3.0: the DV等支援措置 list extracted on 15 May (the notices go out by 31 May); 1.2.0: 外字 surnames of a few 送付先 hosts; 1.1.0: the notice inputs (年金特徴対象者, 送付先, DV等支援措置); 1.0.1: planted over-width fields always exceed their layout width

REGISTRY_SOURCES = ("resident_registry", "my_number", "livelihood_assistance", "disability", "non_registered_register")
PARQUET_COMPRESSION = "zstd"


def generate_ward(out_dir: Path, residents: int, seed: int, fiscal_year: int,
                  municipality_code: str = "131032", large_families: float = 0.0) -> dict[str, Any]:
    """Generate the sample ward into ``out_dir`` (replaced if it exists) and return a summary.

    ``large_families`` (0-1, default 0) is the share of households with children that have 5-8
    children (docs/sample-ward.md): their documents list 5th and further dependants.

    The summary (counts, paths, wall-clock seconds per phase) is for the caller's log; it is not
    written to disk, so ``out_dir`` stays byte-identical across runs with the same arguments.
    """
    import polars as pl

    from .documents import write_documents
    from .notice_inputs import write_notice_inputs
    from .pension_insurer import PensionInsurers, write_month, write_previous_year_register
    from .population import build_population
    from .registry import DEFECTS_SCHEMA, write_registry

    out_dir = Path(out_dir)
    _check_arguments(residents, seed, fiscal_year, municipality_code)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} exists and is not a folder; refusing to replace it")
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(parent, out_dir.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=parent))
    seconds: dict[str, float] = {}
    try:
        started = time.perf_counter()
        pop = build_population(residents, seed, fiscal_year, municipality_code, large_families)
        seconds["population"] = time.perf_counter() - started

        landing = tmp / "landing"
        started = time.perf_counter()
        registry = write_registry(pop, landing, seed)
        seconds["registry"] = time.perf_counter() - started

        started = time.perf_counter()
        documents = write_documents(pop, landing, seed)
        seconds["documents"] = time.perf_counter() - started

        started = time.perf_counter()
        notice_inputs = write_notice_inputs(pop, landing, seed)
        seconds["notice_inputs"] = time.perf_counter() - started

        # the pension insurers' May file (特別徴収対象者情報) and the former system's register of last year; the
        # later months of the exchange answer what the ward sends (sample_ward.pension_insurer, the demo)
        started = time.perf_counter()
        insurers = PensionInsurers(pop, seed)
        pension_files = write_month(landing, f"{fiscal_year}-05", insurers.target_person_files(),
                                    municipality=municipality_code, fiscal_year=fiscal_year)
        write_previous_year_register(pop, seed, landing)
        for month in (f"{fiscal_year}-04", f"{fiscal_year}-05"):  # the 住民記録's 異動 up to the May exchange
            rel, data = insurers.resident_changes_file(month)
            (landing / rel).parent.mkdir(parents=True, exist_ok=True)
            (landing / rel).write_bytes(data)
        seconds["pension_insurers"] = time.perf_counter() - started

        started = time.perf_counter()
        truth = tmp / "truth"
        truth.mkdir(parents=True, exist_ok=True)
        persons = pop.persons  # built in person_id order; sort only if a future change breaks that
        _write_parquet(persons if persons["person_id"].is_sorted() else persons.sort("person_id"),
                       truth / "persons.parquet")
        _write_parquet(documents.documents, truth / "documents.parquet")
        defects = pl.concat([
            registry.defects.select(list(DEFECTS_SCHEMA)).cast(DEFECTS_SCHEMA),
            _conform(documents.defects, DEFECTS_SCHEMA),
        ]).sort(["source", "file", "record_no", "category"], nulls_last=False, maintain_order=True)
        _write_parquet(defects, truth / "defects.parquet")
        seconds["truth"] = time.perf_counter() - started

        started = time.perf_counter()
        arguments = {"residents": residents, "seed": seed, "fiscal_year": fiscal_year,
                     "municipality_code": municipality_code}
        if large_families:  # only when used: the default ward's manifest is unchanged
            arguments["large_families"] = large_families
        manifest = build_manifest(tmp, arguments)
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        seconds["manifest"] = time.perf_counter() - started

        _sync()
        _swap(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    statuses = pop.persons.group_by("registry_status").len().sort("registry_status")
    return {
        "out": str(out_dir),
        "generator_version": GENERATOR_VERSION,
        "arguments": arguments,
        "persons": pop.persons.height,
        "persons_by_status": dict(zip(statuses["registry_status"].to_list(), statuses["len"].to_list(), strict=True)),
        "registry_rows": registry.rows,
        "notice_input_rows": notice_inputs.rows,
        "pension_target_files": len(pension_files),
        "documents": documents.documents.height,
        "defects": defects.height,
        "files": len(manifest["files"]),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
    }


def _check_arguments(residents: int, seed: int, fiscal_year: int, municipality_code: str) -> None:
    if not isinstance(residents, int) or residents < 1:
        raise ValueError(f"residents must be a positive whole number, got {residents!r}")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, got {seed!r}")
    if not isinstance(fiscal_year, int) or not 2000 <= fiscal_year <= 2100:
        raise ValueError(f"fiscal_year must be a year such as 2026, got {fiscal_year!r}")
    from contracts.identifiers import is_valid_local_government_code

    if not is_valid_local_government_code(municipality_code):
        raise ValueError(f"municipality_code must be a 6-digit 団体コード with its check digit, got {municipality_code!r}")


def _conform(frame: Any, schema: dict[str, Any]) -> Any:
    """The documents writer's defects in the shared truth schema (same columns, same order, same types)."""
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"document defects lack columns {missing}")
    return frame.select(list(schema)).cast(schema)


def _write_parquet(frame: Any, path: Path) -> None:
    # One row group per 1M rows and fixed compression: bytes depend only on the data (and the Polars
    # version, which is pinned in requirements.lock and recorded in the manifest).
    frame.write_parquet(path, compression=PARQUET_COMPRESSION, statistics=True, row_group_size=1_000_000)


def _walk(root: Path) -> list[str]:
    """Relative POSIX paths of every regular file under ``root`` (os.scandir: one stat per entry)."""
    out: list[str] = []
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), rel + "/"))
                elif entry.is_file(follow_symlinks=False):
                    out.append(rel)
    return sorted(out)


def _describe(root: str, rel: str) -> dict[str, Any]:
    """sha256, size and record count of one file, reading it once.

    Records: CSV lines (the header line of the registry extracts excluded; a last line without a line
    end still counts), 1 per XML file, rows for Parquet (from the footer), null for anything else.
    Small files are read in one call: a ward has ~230,000 files at 1M residents, so the per-file
    overhead is what counts.
    """
    path = os.path.join(root, rel)
    digest = hashlib.sha256()
    lines = 0
    last = b""
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size <= _SMALL_FILE:
            data = fh.read()
            digest.update(data)
            lines = data.count(b"\n")
            last = data[-1:]
            size = len(data)
        else:
            size = 0
            while chunk := fh.read(1 << 22):
                digest.update(chunk)
                size += len(chunk)
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    suffix = os.path.splitext(rel)[1].lower()
    records: int | None = None
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        records = int(pq.ParquetFile(path).metadata.num_rows)
    elif suffix in (".xtx", ".xml"):
        records = 1
    elif suffix == ".csv":
        records = lines + (1 if last and last != b"\n" else 0)
        parts = rel.split("/", 2)
        if len(parts) > 1 and parts[0] == "landing" and parts[1] in REGISTRY_SOURCES:
            records -= 1
    return {"path": rel, "sha256": digest.hexdigest(), "size": size, "records": records}


_SMALL_FILE = 8 << 20


def build_manifest(ward_dir: Path, arguments: dict[str, Any]) -> dict[str, Any]:
    """Manifest of every file under ``ward_dir`` (except manifest.json itself), sorted by path.

    Sequential on purpose: with many small files, threads only add GIL contention (measured 3–5x
    slower than one thread on this machine).
    """
    from importlib.metadata import PackageNotFoundError, version

    import numpy
    import polars

    try:  # the product's version, read from its installed metadata (this tool does not import it)
        juminzei_version = version("juminzei")
    except PackageNotFoundError:
        juminzei_version = "not installed"

    root = str(ward_dir)
    files = [_describe(root, rel) for rel in _walk(ward_dir) if rel != "manifest.json"]
    return {
        "generator": "sample_ward",
        "generator_version": GENERATOR_VERSION,
        "juminzei_version": juminzei_version,
        "libraries": {"polars": polars.__version__, "numpy": numpy.__version__},
        "arguments": arguments,
        "records_note": "CSV: lines (registry files: excluding the header line); XML: 1 per file; Parquet: rows",
        "files": files,
    }


def _sync() -> None:
    """Flush written files to disk before the swap (one call instead of fsync per file: wards have many)."""
    if hasattr(os, "sync"):
        os.sync()


def _swap(tmp: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``tmp``: rename the old ward aside, rename the new one in, delete the old."""
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=tmp.parent))
        old.rmdir()
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_stale_temporaries(parent: Path, name: str) -> None:
    """Leftovers of interrupted runs (``.NAME.tmp-*``, ``.NAME.old-*``) next to the output folder."""
    for pattern in (f".{name}.tmp-*", f".{name}.old-*"):
        for stale in sorted(parent.glob(pattern)):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
