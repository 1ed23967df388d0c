"""The ingested-files ledger: every landing file is ingested exactly once (docs/architecture.md §3 ``ledger/``).

Files land in ``<landing>/<source>/municipality=<M>/fiscal_year=<N>/`` and are never modified
there. The ledger, ``<lake>/ledger/ingested_files/ingested_files.parquet``, holds one row per
distinct content (keyed by ``sha256``):

==================  ==============================================================================
``sha256``          hex sha256 of the file's bytes (the key)
``source``          landing source, e.g. ``salary_report``
``municipality``    全国地方公共団体コード of the partition
``fiscal_year``     年度 of the partition
``path``            the file's path relative to the landing root (the name it is ingested under)
``size``            bytes
``version``         1 for the first content seen under ``path``, +1 for each changed re-delivery
``previous_sha256`` for a new version: the content it replaces under the same path, else null
``review_required`` true for a new version (bytes changed under a known name): an operator checks it
``status``          ``pending`` (a run is staging it) → ``ingested`` (its rows are in staging)
``first_seen_run_id``  the run that first marked it pending
``pending_run_id``  the run that currently owns a pending row, else null
``ingested_run_id`` the run whose staging partition holds it, else null
``events``          history: list of {run_id, event, kind, path}; ``event`` is ``pending``,
                    ``ingested`` or ``duplicate_skipped`` (another name with the same bytes)
==================  ==============================================================================

Rows are sorted by ``sha256`` and written with the lake's fixed Parquet settings, so the same
sequence of calls gives the same bytes. Every write replaces the whole file atomically (hidden temp
file in the same directory → fsync → rename → fsync the directory) under an exclusive ``flock`` on
``.lock`` (released by the kernel if the process dies); a crash leaves the previous ledger or the
new one, never a mixture, and the next write removes the dead writer's temp file.

Classification (:func:`classify`, read-only) of each scanned file, in path order:

* ``already_ingested``: its sha256 is ingested under this same path → skipped;
* ``duplicate``: its sha256 is ingested under another path, or an earlier file of the same batch has
  the same bytes → skipped, reported with the name of that first file;
* ``new_version``: its path is ingested with other bytes → ingested as a new version, flagged for
  operator review (``review_required``);
* ``new``: otherwise. ``pending`` rows are ignored here: a pending file was never ingested.

Two-phase protocol of an ingest run (runs of one partition are serialised: ``max_active_runs=1``):

1. ``files = scan_landing(...)``; ``plan = classify(lake, files)``;
2. ``mark_pending(lake, run_id, plan)``: new/new_version rows become ``pending`` owned by this run
   (a pending row left by a crashed run is taken over, keeping its ``first_seen_run_id``);
   duplicates are recorded as events. Nothing is staged before this write is durable;
3. the stage parses the files and swaps its staging partition in (atomic and idempotent, lake.py);
4. ``mark_ingested(lake, run_id, plan)``: this run's pending rows become ``ingested``.

A crash before 2 leaves no trace. A crash between 2 and 4 leaves ``pending`` rows: the next run
classifies them as ``new`` again and reprocesses them; because the staging write is idempotent, a
partition that was already swapped in is rewritten with the same rows (or left ``unchanged``), so no
row is lost or doubled. A crashed run can no longer complete: :func:`mark_ingested` refuses rows
another run has taken over. Rerunning 4 is a no-op.

This module reads no clock: run ids (which carry their start time) are the only provenance.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from contracts.errors import ConfigError, InputFileError, JuminzeiError
from contracts.layouts import FORMATS
from pipelines.config import check_fiscal_year, check_municipality
from pipelines.lake import _parquet_bytes, sha256_file, write_bytes_atomic

# The document sources are the document layouts (contracts/layouts/): one list for the whole project.
SOURCES: tuple[str, ...] = FORMATS

LEDGER_DATASET = "ingested_files"
LEDGER_FILE = "ingested_files.parquet"
LOCK_FILE = ".lock"

Kind = Literal["new", "duplicate", "new_version", "already_ingested"]
INGEST_KINDS = frozenset({"new", "new_version"})

_EVENT = pl.Struct({"run_id": pl.String, "event": pl.String, "kind": pl.String, "path": pl.String})
SCHEMA = pl.Schema(
    {
        "sha256": pl.String,
        "source": pl.String,
        "municipality": pl.String,
        "fiscal_year": pl.Int64,
        "path": pl.String,
        "size": pl.Int64,
        "version": pl.Int64,
        "previous_sha256": pl.String,
        "review_required": pl.Boolean,
        "status": pl.String,
        "first_seen_run_id": pl.String,
        "pending_run_id": pl.String,
        "ingested_run_id": pl.String,
        "events": pl.List(_EVENT),
    }
)


class LedgerError(JuminzeiError):
    """The ledger refuses an operation that would break exactly-once ingestion."""


@dataclass(frozen=True, order=True)
class LandingFile:
    """One file in the landing zone. ``path`` is relative to the landing root, with forward slashes."""

    path: str
    sha256: str
    size: int
    source: str
    municipality: str
    fiscal_year: int

    def absolute(self, landing_root: str | Path) -> Path:
        return Path(landing_root) / self.path


@dataclass(frozen=True)
class Classification:
    """What to do with one landing file. ``first_path``: for a duplicate, the file it repeats (for
    already_ingested, its own path); ``previous_sha256``: for a new version, the content it replaces."""

    file: LandingFile
    kind: Kind
    first_path: str | None = None
    previous_sha256: str | None = None

    @property
    def ingest(self) -> bool:
        return self.kind in INGEST_KINDS

    @property
    def review_required(self) -> bool:
        return self.kind == "new_version"

    def to_report(self) -> dict[str, Any]:
        """Entry for a run report (paths and digests only: no file content)."""
        return {
            "path": self.file.path,
            "sha256": self.file.sha256,
            "size": self.file.size,
            "kind": self.kind,
            "first_path": self.first_path,
            "previous_sha256": self.previous_sha256,
            "review_required": self.review_required,
        }


# ----------------------------------------------------------------------------------------- landing


def landing_dir(landing_root: str | Path, source: str, municipality: str, fiscal_year: int) -> Path:
    """``<landing>/<source>/municipality=<M>/fiscal_year=<N>``."""
    if source not in SOURCES:
        raise ConfigError(f"Landing source {source!r} is unknown; expected one of {', '.join(SOURCES)}.")
    check_municipality(municipality)
    check_fiscal_year(fiscal_year)
    return Path(landing_root) / source / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"


def scan_landing(landing_root: str | Path, source: str, municipality: str, fiscal_year: int) -> list[LandingFile]:
    """The files of one landing partition, sorted by name, with their sha256 and size.

    Hidden files (``.…``, e.g. a transfer in progress) and ``*.part`` files are ignored, and so are
    subdirectories; a missing directory means nothing has landed yet (empty list). A symbolic link
    is refused: landing files are delivered, not linked.
    """
    directory = landing_dir(landing_root, source, municipality, fiscal_year)
    if not directory.is_dir():
        return []
    prefix = directory.relative_to(landing_root).as_posix()
    files: list[LandingFile] = []
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with os.scandir(dir_fd) as entries:
            names = sorted(entry.name for entry in entries)
        for name in names:
            if name.startswith(".") or name.endswith(".part"):
                continue
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            relative = f"{prefix}/{name}"
            if stat.S_ISLNK(info.st_mode):
                raise InputFileError(relative, None, None, "a regular file delivered into the landing zone",
                                     "is a symbolic link")
            if not stat.S_ISREG(info.st_mode):
                continue
            digest, size = sha256_file(name, dir_fd=dir_fd)
            files.append(LandingFile(relative, digest, size, source, municipality, fiscal_year))
    finally:
        os.close(dir_fd)
    return files


# ------------------------------------------------------------------------------------------ storage


def ledger_path(lake: str | Path) -> Path:
    return Path(lake) / "ledger" / LEDGER_DATASET / LEDGER_FILE


def read_ledger(lake: str | Path) -> pl.DataFrame:
    """The ledger as a DataFrame (empty with :data:`SCHEMA` when nothing was recorded yet)."""
    path = ledger_path(lake)
    try:
        frame = pl.read_parquet(path)
    except FileNotFoundError:
        return pl.DataFrame(schema=SCHEMA)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same operator problem
        raise LedgerError(
            f"Ledger file {path} cannot be read ({type(exc).__name__}); restore it from backup before ingesting, "
            "or every landing file would be ingested again."
        ) from None
    if frame.schema != SCHEMA:
        raise LedgerError(f"Ledger file {path} has columns {frame.columns}; expected {list(SCHEMA.names())}.")
    return frame


def _rows(lake: Path) -> dict[str, dict[str, Any]]:
    return {row["sha256"]: row for row in read_ledger(lake).to_dicts()}


def _write(lake: Path, rows: dict[str, dict[str, Any]]) -> None:
    path = ledger_path(lake)
    frame = pl.DataFrame([rows[sha] for sha in sorted(rows)], schema=SCHEMA, orient="row")
    write_bytes_atomic(path, _parquet_bytes(frame), 0o640)


@contextlib.contextmanager
def _locked(lake: Path) -> Iterator[None]:
    directory = ledger_path(lake).parent
    directory.mkdir(parents=True, exist_ok=True, mode=0o750)
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        for leftover in directory.glob(f".{LEDGER_FILE}.tmp-*"):  # temp file of a writer that died
            leftover.unlink(missing_ok=True)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# --------------------------------------------------------------------------------------- classify


def _ordered(files: Sequence[LandingFile]) -> list[LandingFile]:
    ordered = sorted(files)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.path == later.path:
            raise LedgerError(f"Landing file {later.path} is listed twice in one batch; expected each path once.")
    return ordered


def _latest_ingested_by_path(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for row in rows.values():
        if row["status"] != "ingested":
            continue
        known = latest.get(row["path"])
        if known is None or row["version"] > known["version"]:
            latest[row["path"]] = row
    return latest


def _classify(rows: dict[str, dict[str, Any]], files: Sequence[LandingFile]) -> list[Classification]:
    latest = _latest_ingested_by_path(rows)
    first_in_batch: dict[str, str] = {}
    result: list[Classification] = []
    for file in _ordered(files):
        row = rows.get(file.sha256)
        if row is not None and row["status"] == "ingested":
            kind: Kind = "already_ingested" if row["path"] == file.path else "duplicate"
            result.append(Classification(file, kind, first_path=row["path"]))
        elif file.sha256 in first_in_batch:
            result.append(Classification(file, "duplicate", first_path=first_in_batch[file.sha256]))
        else:
            first_in_batch[file.sha256] = file.path
            previous = latest.get(file.path)
            if previous is not None:
                result.append(Classification(file, "new_version", previous_sha256=previous["sha256"]))
            else:
                result.append(Classification(file, "new"))
    return result


def missing_ingested(lake: str | Path, files: Sequence[LandingFile], municipality: str, fiscal_year: int) -> list[str]:
    """Paths the ledger has ingested for this municipality and fiscal year (their latest version) that are
    not among the scanned ``files``. Every run rebuilds staging from all ingested files, so a run on a
    landing root that lacks one would silently drop that file's records: the stage refuses such a run."""
    present = {file.path for file in files}
    return sorted(
        path for path, row in _latest_ingested_by_path(_rows(Path(lake))).items()
        if row["municipality"] == municipality and row["fiscal_year"] == fiscal_year and path not in present
    )


def classify(lake: str | Path, files: Sequence[LandingFile]) -> list[Classification]:
    """Classify ``files`` against the ledger (see the module docstring); sorted by path, read-only."""
    return _classify(_rows(Path(lake)), files)


# ------------------------------------------------------------------------------------ two phases


def _check_run_id(run_id: str) -> None:
    if not isinstance(run_id, str) or not run_id.strip():
        raise ConfigError("A ledger update needs the run id of the ingest run; none was given.")


def _event(run_id: str, event: str, kind: str, path: str) -> dict[str, str]:
    return {"run_id": run_id, "event": event, "kind": kind, "path": path}


def mark_pending(lake: str | Path, run_id: str, files: Sequence[Classification]) -> list[Classification]:
    """Phase 1: record the files to ingest as ``pending`` for ``run_id`` (and duplicates as events).

    ``files`` is the output of :func:`classify`. The plan is re-checked under the ledger lock; if
    the ledger changed since (another run ingested the same bytes), :class:`LedgerError` is raised
    and nothing is written. Returns the plan as re-checked.
    """
    _check_run_id(run_id)
    lake = Path(lake)
    with _locked(lake):
        rows = _rows(lake)
        plan = _classify(rows, [c.file for c in files])
        if [(c.file, c.kind) for c in plan] != sorted((c.file, c.kind) for c in files):
            raise LedgerError(
                f"The ledger changed since run {run_id} classified its landing files; rerun the ingest."
            )
        latest = _latest_ingested_by_path(rows)
        changed = False
        for item in plan:
            if not item.ingest:
                continue
            file = item.file
            previous = latest.get(file.path)
            fields = {
                "source": file.source,
                "municipality": file.municipality,
                "fiscal_year": file.fiscal_year,
                "path": file.path,
                "size": file.size,
                "version": previous["version"] + 1 if previous is not None else 1,
                "previous_sha256": item.previous_sha256,
                "review_required": item.review_required,
                "status": "pending",
                "pending_run_id": run_id,
                "ingested_run_id": None,
            }
            row = rows.get(file.sha256)
            if row is None:  # first sight
                row = {"sha256": file.sha256, "first_seen_run_id": run_id, "events": [], **fields}
            elif row["pending_run_id"] == run_id and all(row[k] == v for k, v in fields.items()):
                continue  # this run already marked it: idempotent
            else:  # a pending row left by a crashed run: taken over, history kept
                row = {**row, **fields}
            row["events"] = [*row["events"], _event(run_id, "pending", item.kind, file.path)]
            rows[file.sha256] = row
            changed = True
        for item in plan:
            if item.kind != "duplicate":
                continue
            first = rows[item.file.sha256]
            if any(e["event"] == "duplicate_skipped" and e["path"] == item.file.path for e in first["events"]):
                continue
            rows[item.file.sha256] = {
                **first, "events": [*first["events"], _event(run_id, "duplicate_skipped", item.kind, item.file.path)]
            }
            changed = True
        if changed:
            _write(lake, rows)
    return plan


def mark_ingested(lake: str | Path, run_id: str, files: Sequence[Classification]) -> None:
    """Phase 2, after the staging partition holding ``files`` was swapped in: pending → ingested.

    Only rows marked pending by ``run_id`` can be completed; rows this run already completed are
    left as they are (rerunning phase 2 is a no-op). Anything else raises :class:`LedgerError` and
    writes nothing.
    """
    _check_run_id(run_id)
    lake = Path(lake)
    with _locked(lake):
        rows = _rows(lake)
        changed = False
        for item in sorted((c for c in files if c.ingest), key=lambda c: c.file):
            row = rows.get(item.file.sha256)
            if row is not None and row["status"] == "ingested" and row["ingested_run_id"] == run_id:
                continue
            if row is None or row["status"] != "pending" or row["pending_run_id"] != run_id:
                owner = "nobody" if row is None else (row["pending_run_id"] or f"ingested by {row['ingested_run_id']}")
                raise LedgerError(
                    f"Landing file {item.file.path} is not pending for run {run_id} (ledger: {owner}); "
                    "mark it pending first, and do not complete a run another run has taken over."
                )
            rows[item.file.sha256] = {
                **row,
                "status": "ingested",
                "pending_run_id": None,
                "ingested_run_id": run_id,
                "events": [*row["events"], _event(run_id, "ingested", item.kind, item.file.path)],
            }
            changed = True
        if changed:
            _write(lake, rows)


def pending_files(lake: str | Path) -> pl.DataFrame:
    """Rows still ``pending`` (left by a crashed run, or by the run in progress)."""
    return read_ledger(lake).filter(pl.col("status") == "pending")


__all__ = [
    "SOURCES",
    "SCHEMA",
    "Classification",
    "LandingFile",
    "LedgerError",
    "classify",
    "landing_dir",
    "ledger_path",
    "mark_ingested",
    "mark_pending",
    "pending_files",
    "read_ledger",
    "scan_landing",
]
