"""Hand-off folders: the files that leave the building, each folder written at once with its manifest.

A hand-off is ``<lake>/exports/<recipient>/municipality=M/fiscal_year=N/<run_id>/``: the files of one
recipient (``print_vendor``, ``eltax``, ``municipalities``) from one run, and ``manifest.json`` (files,
rows, bytes, sha256, control totals: the number of records and notices and the sum of every amount
column of each file, the assessment they came from; docs/layouts/manifest.md). A dry run writes the same
folders under ``<lake>/preview/`` instead, which nothing hands off.

* **Atomic**: the folder is built as a hidden sibling and renamed into place; a reader sees all of it
  or none, and a run killed midway leaves only the hidden folder (removed by the next write).
* **Once**: when the newest hand-off of the recipient has the same content (the same files, byte for
  byte), nothing is written and the run reports the earlier run's folder — a rerun never sends the same
  notices twice, and an unchanged rerun leaves the lake byte-identical. A hand-off whose content differs
  from the newest earlier one names it in ``supersedes``, and the run report tells the operator to have
  the recipient discard it.
* **No 個人番号 on paper**: a file whose layout is ``paper`` passes the My Number guard of
  :mod:`pipelines.lake` (every 12-digit run with a valid check digit that is a number of the vault is
  refused); a file that may carry numbers (eLTAX) is checked by its producer against its employer.
* **Acknowledged, then deleted**: :func:`acknowledge` removes the data files of a run's hand-offs once the
  recipient confirms receipt (the seed's 保存期間: temporary print files are erased), keeps the manifest
  with the acknowledgement and records it in the audit log and beside the run report.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from contracts.errors import ConfigError, JuminzeiError
from contracts.handoff_layouts import HandoffLayout
from pipelines.lake import _parquet_bytes, fsync_dir, refuse_my_numbers, sha256_file, write_bytes_atomic

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
RECIPIENTS = ("print_vendor", "eltax", "municipalities", "pension_insurers", "bank")


class HandoffError(JuminzeiError):
    """A hand-off could not be written or acknowledged; the sentence says why and what to do."""


@dataclass
class HandoffFile:
    """One file of a hand-off: its name, its records (already shaped by the layout) and how it is written."""

    name: str
    frame: pl.DataFrame
    layout: HandoffLayout
    fmt: str  # "csv" or "parquet"
    slots: dict[str, list[int]] | None = None
    #: control totals beyond rows and sums: e.g. {"notices": 12}
    counts: dict[str, int] = field(default_factory=dict)
    #: the ``sum_<column>`` totals when the producer computed them already (one group-by for many files)
    sums: dict[str, int] | None = None


@dataclass
class RawHandoffFile:
    """A file already rendered in its wire format (the 年金特徴 fixed-length files): its bytes, where it goes
    and its control totals (records and amount sums, as its trailers state them)."""

    name: str
    data: bytes
    recipient: str
    export: str
    encoding: str
    totals: dict[str, int]


def csv_bytes(frame: pl.DataFrame, encoding: str, chunk: int = 100_000) -> bytes:
    """The frame as CSV: a header of the field ids, CRLF line ends, minimal quoting, dates ISO, encoded
    (``cp932`` refuses a character it cannot hold: the caller replaces 外字 with 〓 first). Encoded
    ``chunk`` rows at a time, so a large print file is never held as text more than once."""
    parts = []
    for offset in range(0, max(frame.height, 1), chunk):
        buffer = io.BytesIO()
        frame.slice(offset, chunk).write_csv(buffer, include_header=offset == 0, line_terminator="\r\n",
                                             date_format="%Y-%m-%d", quote_style="necessary")
        try:
            parts.append(buffer.getvalue().decode("utf-8").encode(encoding))
        except UnicodeEncodeError as error:
            raise HandoffError(f"a character of the export ({error.object[error.start]!r}) cannot be written in "
                               f"{encoding}; the 外字 report should have replaced it (defect: report it)") from None
    return b"".join(parts)


def file_bytes(item: HandoffFile) -> bytes:
    if item.fmt == "csv":
        return csv_bytes(item.frame, item.layout.encoding)
    if item.fmt == "parquet":
        return _parquet_bytes(item.frame)
    raise ConfigError(f"a hand-off file is csv or parquet, not {item.fmt!r}")


def control_totals(item: HandoffFile) -> dict[str, int]:
    """rows, the extra counts, and ``sum_<column>`` of every amount (``yen``) column of the layout."""
    totals = {"rows": item.frame.height, **item.counts}
    if item.sums is not None:
        return {**totals, **item.sums}
    for column in item.layout.amount_columns(item.slots):
        totals[f"sum_{column}"] = int(item.frame.get_column(column).sum() or 0)
    return totals


def handoff_root(lake: Path, *, preview: bool) -> Path:
    return lake / ("preview" if preview else "exports")


def handoff_parent(lake: Path, recipient: str, municipality: str, fiscal_year: int, *, preview: bool) -> Path:
    if recipient not in RECIPIENTS:
        raise ConfigError(f"hand-off recipient must be one of {', '.join(RECIPIENTS)}, not {recipient!r}")
    return handoff_root(lake, preview=preview) / recipient / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"


def _previous(parent: Path, series: str | None = None) -> dict | None:
    """The manifest of the newest hand-off in ``parent`` (run ids begin with their UTC start time) of the
    same ``series`` (the month of a monthly exchange; None for the yearly ones)."""
    if not parent.is_dir():
        return None
    for folder in sorted((p for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True):
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        if manifest.get("series") == series:
            return manifest
    return None


def _content_sha256(entries: list[dict]) -> str:
    canonical = json.dumps([[e["name"], e["sha256"]] for e in sorted(entries, key=lambda e: e["name"])])
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def write_handoff(
    lake: str | Path,
    *,
    recipient: str,
    municipality: str,
    fiscal_year: int,
    run_id: str,
    files: list[HandoffFile | RawHandoffFile],
    source: dict[str, Any],
    preview: bool = False,
    series: str | None = None,
) -> dict:
    """Write one recipient's hand-off folder atomically (see the module docstring); return a summary for
    the run report: recipient, path (relative to the lake), files, control totals, ``unchanged`` and,
    when unchanged, the ``run_id`` of the folder that already holds the same content."""
    lake = Path(lake)
    parent = handoff_parent(lake, recipient, municipality, fiscal_year, preview=preview)
    target = parent / run_id
    if target.exists():
        raise HandoffError(f"{target.relative_to(lake)} already exists: a run id is used once")
    for item in files:
        if isinstance(item, RawHandoffFile):
            if item.recipient != recipient:
                raise ConfigError(f"{item.name} is for {item.recipient}, not {recipient}")
            continue
        if item.layout.recipient != recipient:
            raise ConfigError(f"{item.name} is for {item.layout.recipient}, not {recipient}")
        if item.layout.paper:
            refuse_my_numbers(item.frame, lake=lake, municipality=municipality, fiscal_year=fiscal_year,
                              what=f"{recipient}/{item.name} (printed on paper)")
    parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    for leftover in parent.glob(".*.tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    tmp = parent / f".{run_id}.tmp-{secrets.token_hex(4)}"
    tmp.mkdir(mode=0o750)
    try:
        entries = []
        for item in files:  # one file in memory at a time, written as soon as it is rendered
            if isinstance(item, RawHandoffFile):
                _write_new(tmp / item.name, item.data)
                entries.append({
                    "name": item.name, "export": item.export, "format": "fixed", "encoding": item.encoding,
                    "paper": False, "carries_my_number": False, "rows": item.totals.get("rows", 0),
                    "bytes": len(item.data), "sha256": hashlib.sha256(item.data).hexdigest(),
                    "control_totals": dict(item.totals),
                })
                continue
            data = file_bytes(item)
            _write_new(tmp / item.name, data)
            entries.append({
                "name": item.name,
                "export": item.layout.export,
                "format": item.fmt,
                "encoding": item.layout.encoding if item.fmt == "csv" else "parquet",
                "paper": item.layout.paper,
                "carries_my_number": item.layout.carries_my_number,
                "rows": item.frame.height,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "control_totals": control_totals(item),
            })
            del data
        content = _content_sha256(entries)
        previous = _previous(parent, series)
        summary = {
            "recipient": recipient,
            "preview": preview,
            "files": len(entries),
            "rows": sum(e["rows"] for e in entries),
            "content_sha256": content,
        }
        if previous is not None and previous.get("content_sha256") == content:
            shutil.rmtree(tmp)
            folder = parent / previous["run_id"]
            return {**summary, "unchanged": True, "run_id": previous["run_id"],
                    "path": folder.relative_to(lake).as_posix(), "control_totals": previous.get("control_totals", {})}
        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "recipient": recipient,
            "municipality": municipality,
            "fiscal_year": fiscal_year,
            "run_id": run_id,
            "preview": preview,
            "source": source,
            "files": entries,
            "control_totals": {e["name"]: e["control_totals"] for e in entries},
            "content_sha256": content,
            # the newest earlier hand-off of this recipient, whose content differs: the recipient must use this
            # folder instead of it (and discard it, if not yet printed or loaded)
            "supersedes": previous.get("run_id") if previous is not None else None,
            "acknowledged": None,
        }
        if series is not None:
            manifest["series"] = series
        _write_new(tmp / MANIFEST, _json(manifest))
        fsync_dir(tmp)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(parent)
    if not preview:
        _record_export(lake, recipient, target, run_id, files, summary)
    return {**summary, "unchanged": False, "run_id": run_id, "path": target.relative_to(lake).as_posix(),
            "control_totals": manifest["control_totals"], "supersedes": manifest["supersedes"]}


EXPORT_REASON = "課税・徴収事務の引渡しファイルの作成 (export)"


def _record_export(lake: Path, recipient: str, folder: Path, run_id: str, files: list, summary: dict) -> None:
    """The audit record of a hand-off that leaves the building: who, which folder, which persons (宛名番号 of the
    files that name them; a count and digest above 1,000), how many files and records."""
    from pipelines.audit import append_audit

    people = [item.frame.get_column(column).cast(pl.String) for item in files if isinstance(item, HandoffFile)
              for column in ("person_id", "atena_no") if column in item.frame.columns]
    atena_nos = pl.concat(people).drop_nulls().unique() if people else None
    append_audit(lake, operation="export", reason=EXPORT_REASON, run_id=run_id,
                 dataset=folder.relative_to(lake).as_posix(), atena_nos=atena_nos,
                 details={"recipient": recipient, "files": summary["files"], "rows": summary["rows"],
                          "content_sha256": summary["content_sha256"]})


def _json(obj: Any) -> bytes:
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def verify_handoff(folder: str | Path) -> list[str]:
    """What is wrong with a hand-off folder on disk (a file missing, changed or extra); empty when it is
    as its manifest says. An acknowledged folder holds only its manifest."""
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("acknowledged"):
        extra = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST)
        return [f"{name} is still there after the acknowledgement" for name in extra]
    problems = []
    named = {e["name"] for e in manifest["files"]}
    for entry in manifest["files"]:
        try:
            digest, size = sha256_file(folder / entry["name"])
        except FileNotFoundError:
            problems.append(f"{entry['name']} is missing")
            continue
        if digest != entry["sha256"] or size != entry["bytes"]:
            problems.append(f"{entry['name']} differs from its manifest")
    problems += [f"{p.name} is not in the manifest" for p in sorted(folder.iterdir())
                 if p.name not in named | {MANIFEST}]
    return problems


def list_handoffs(lake: str | Path) -> list[dict]:
    """Every hand-off folder (not previews), newest first: path, recipient, run id, files, records, the
    acknowledgement (its time) and what it supersedes."""
    lake = Path(lake)
    rows = []
    for manifest_path in handoff_root(lake, preview=False).glob(f"*/municipality=*/fiscal_year=*/*/{MANIFEST}"):
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            rows.append({"path": manifest_path.parent.relative_to(lake).as_posix(), "unreadable": True,
                         "run_id": manifest_path.parent.name, "files": 0, "rows": 0, "acknowledged": None})
            continue
        rows.append({
            "path": manifest_path.parent.relative_to(lake).as_posix(), "recipient": manifest["recipient"],
            "run_id": manifest["run_id"], "files": len(manifest["files"]),
            "rows": sum(f["rows"] for f in manifest["files"]),
            "acknowledged": (manifest.get("acknowledged") or {}).get("at"), "supersedes": manifest.get("supersedes"),
        })
    return sorted(rows, key=lambda r: (r["run_id"], r["path"]), reverse=True)


# ----------------------------------------------------------------------------------------- acknowledgement


def handoff_folders(lake: str | Path, run_id: str) -> list[Path]:
    """Every hand-off folder (not previews) a run wrote."""
    root = handoff_root(Path(lake), preview=False)
    return sorted(p for p in root.glob(f"*/municipality=*/fiscal_year=*/{run_id}") if p.is_dir())


def acknowledge(lake: str | Path, run_id: str, *, recipient: str | None = None, by: str, reason: str,
                now: datetime | None = None) -> list[dict]:
    """The recipient confirmed receipt of ``run_id``'s hand-off: delete its data files, keep the manifest
    with the acknowledgement (who, when, what was deleted), and record it in the audit log and in the
    run report (``handoff_acknowledgements``). Idempotent: a folder
    already acknowledged is reported as such and not touched."""
    from pipelines.audit import append_audit

    lake = Path(lake)
    if not reason.strip():
        raise ConfigError("an acknowledgement needs the recipient's confirmation (e.g. the vendor's receipt no.)")
    folders = [f for f in handoff_folders(lake, run_id) if recipient in (None, f.parts[-4])]
    if not folders:
        raise HandoffError(f"no hand-off of run {run_id}" + (f" for {recipient}" if recipient else "")
                           + f" under {handoff_root(lake, preview=False)}: check the run id (juminzei status)")
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    results = []
    for folder in folders:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("acknowledged"):
            results.append({"path": folder.relative_to(lake).as_posix(), "already": True,
                            **manifest["acknowledged"]})
            continue
        problems = verify_handoff(folder)
        deleted = []
        for entry in manifest["files"]:
            with contextlib.suppress(FileNotFoundError):
                (folder / entry["name"]).unlink()
                deleted.append(entry["name"])
        fsync_dir(folder)
        ack = {"at": moment.isoformat().replace("+00:00", "Z"), "by": by, "confirmation": reason,
               "deleted": deleted, "problems_before_deletion": problems}
        manifest["acknowledged"] = ack
        write_bytes_atomic(folder / MANIFEST, _json(manifest), mode=0o640)
        append_audit(lake, operation="handoff_acknowledged_files_deleted", reason=reason, run_id=run_id,
                     dataset=folder.relative_to(lake).as_posix(), atena_nos=None, actor=by,
                     details={"deleted": deleted, "recipient": manifest["recipient"],
                              "content_sha256": manifest["content_sha256"]})
        results.append({"path": folder.relative_to(lake).as_posix(), "already": False, **ack})
    _record_beside_report(lake, folders[0], run_id, results)
    return results


def _record_beside_report(lake: Path, folder: Path, run_id: str, results: list[dict]) -> None:
    """Add the acknowledgements to the run's report (``<run_id>.json``, and ``latest.json`` when it is the
    same run), atomically: the report then says what was handed off and when its files were erased."""
    new = [r for r in results if not r.get("already")]
    if not new:
        return
    municipality = folder.parts[-3].removeprefix("municipality=")
    fiscal_year = folder.parts[-2].removeprefix("fiscal_year=")
    stage = run_id.split("-", 1)[1].rsplit("-", 1)[0] if run_id.count("-") >= 2 else "notice_export"
    directory = lake / "reports" / stage / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    for name in (f"{run_id}.json", "latest.json"):
        path = directory / name
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            continue
        if report.get("run_id") != run_id:
            continue
        report["handoff_acknowledgements"] = list(report.get("handoff_acknowledgements", [])) + new
        write_bytes_atomic(path, _json(report))


__all__ = ["MANIFEST", "RECIPIENTS", "HandoffError", "HandoffFile", "RawHandoffFile", "csv_bytes", "file_bytes", "control_totals",
           "write_handoff", "verify_handoff", "handoff_folders", "list_handoffs", "acknowledge", "handoff_parent"]
