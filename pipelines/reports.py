"""Run reports: the stable interface for auditors and operators (schema in ``docs/run-report.md``).

Every stage run writes one JSON report to
``<lake>/reports/<stage>/municipality=<M>/fiscal_year=<N>/<run_id>.json`` and replaces ``latest.json``
beside it (a real run) or ``latest_dry_run.json`` (a dry run), both atomically, so a dry run never hides
the state of the last real one. A report says what went in (files with sha256), what came out
(partitions with sha256), where every input record went (staged / quarantined / forwarded) and
whether the counts reconcile. Reports hold counts, codes and paths only: no personal data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.lake import PartitionWrite, write_json_atomic

REPORT_VERSION = 1
LATEST = "latest.json"                  # the most recent real (not dry) run
LATEST_DRY_RUN = "latest_dry_run.json"  # the most recent dry run
ROUTES = ("staged", "quarantined", "forwarded")
STATUS_WIDTH = 100  # `juminzei status` fits a terminal of 100 columns


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class RunReport:
    """Builder of one run report. Fill it while the stage runs; :meth:`finish` returns the dict."""

    stage: str
    municipality: str
    fiscal_year: int
    run_id: str
    started_at: datetime
    dry_run: bool = False
    inputs: list[dict] = field(default_factory=list)
    per_input: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    outputs: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    validation: dict | None = None
    #: notice_export: the operator's dispatch choice and the hand-off folders written (docs/notice-export.md)
    dispatch: dict | None = None
    handoffs: list[dict] = field(default_factory=list)
    #: collection: the 収納日計 of every day posted (docs/collection.md)
    daily: list[dict] = field(default_factory=list)
    #: the audit trail's head when the run ended (``{"seq", "mac"}``): an anchor of the trail (pipelines.audit)
    audit_head: dict | None = None

    # ------------------------------------------------------------------ inputs and where they went
    def add_input(self, path: str, *, sha256: str, bytes: int, rows: int, source: str | None = None) -> None:
        """One input file; ``path`` relative to the lake (``landing/...``)."""
        entry = {"path": path, "sha256": sha256, "bytes": bytes, "rows": rows}
        if source is not None:
            entry["source"] = source
        self.inputs.append(entry)

    def add_input_counts(
        self, path: str, *, received: int, staged: int, quarantined: int, forwarded: int = 0,
        source: str | None = None,
    ) -> None:
        """Where the records of one input file went; ``reconciles`` is computed here."""
        entry = {
            "path": path,
            "received": received,
            "staged": staged,
            "quarantined": quarantined,
            "forwarded": forwarded,
            "reconciles": received == staged + quarantined + forwarded,
        }
        if source is not None:
            entry["source"] = source
        self.per_input.append(entry)

    def add_quarantine_reasons(self, reasons: Mapping[str, int]) -> None:
        for code, count in reasons.items():
            self.quarantine_reasons[code] = self.quarantine_reasons.get(code, 0) + int(count)

    def set_count(self, name: str, value: int) -> None:
        self.counts[name] = int(value)

    def add_output(self, written: PartitionWrite | Mapping[str, Any]) -> None:
        self.outputs.append(written.to_report() if isinstance(written, PartitionWrite) else dict(written))

    def add_check(self, name: str, ok: bool, *, expected: Any = None, actual: Any = None, detail: str = "") -> None:
        """A stage-specific reconciliation check (e.g. output rows = staged records)."""
        self.checks.append({"name": name, "ok": bool(ok), "expected": expected, "actual": actual, "detail": detail})

    def message(self, sentence: str) -> None:
        self.messages.append(sentence)

    def set_validation(self, summary: Mapping[str, Any]) -> None:
        """Link the run's validation report (Great Expectations Data Docs, see ``pipelines.validation_docs``).

        ``summary`` is the dict returned by ``document_validation``: ``success``, ``data_docs`` (GE's
        index.html), ``validation_result`` (run summary JSON), ``report_page`` (this run's offline page),
        ``runs_index`` (offline runs.html), ``expectations``, ``failed``, ``tables``, ``pages``; the last two
        paths are absent in summaries made before the offline pages existed. Stored as the report's
        ``validation`` field (counts, expectation kwargs and paths only) and as the check
        ``validation_report`` (ok = every expectation met). Calling it again replaces both.
        """
        self.validation = json.loads(json.dumps(dict(summary), ensure_ascii=False, default=str))
        failed = len(self.validation.get("failed") or [])
        total = int(self.validation.get("expectations") or 0)
        self.checks = [c for c in self.checks if c["name"] != "validation_report"]
        self.add_check(
            "validation_report",
            self.validation.get("success") is True,
            expected=total,
            actual=total - failed,
            detail=(
                f"expectations met (validation report: {self.validation['report_page']}; "
                f"Great Expectations Data Docs: {self.validation.get('data_docs')})"
                if self.validation.get("report_page")
                else f"expectations met (Great Expectations Data Docs: {self.validation.get('data_docs')})"
            ),
        )

    # ---------------------------------------------------------------------------------- results
    def totals(self) -> dict[str, int]:
        return {
            "received": sum(e["received"] for e in self.per_input),
            **{route: sum(e[route] for e in self.per_input) for route in ROUTES},
        }

    def reconciliation(self) -> dict:
        """Per-input checks (received = staged + quarantined + forwarded), totals, stage checks."""
        checks = [
            {
                "name": f"input:{e['path']}",
                "ok": e["reconciles"],
                "expected": e["received"],
                "actual": e["staged"] + e["quarantined"] + e["forwarded"],
                "detail": "received = staged + quarantined + forwarded",
            }
            for e in self.per_input
        ]
        totals = self.totals()
        checks.append(
            {
                "name": "total",
                "ok": totals["received"] == totals["staged"] + totals["quarantined"] + totals["forwarded"],
                "expected": totals["received"],
                "actual": totals["staged"] + totals["quarantined"] + totals["forwarded"],
                "detail": "received = staged + quarantined + forwarded over all inputs",
            }
        )
        checks.append(
            {
                "name": "quarantine_reasons",
                "ok": sum(self.quarantine_reasons.values()) == totals["quarantined"],
                "expected": totals["quarantined"],
                "actual": sum(self.quarantine_reasons.values()),
                "detail": "every quarantined record has exactly one reason code",
            }
        )
        checks.extend(self.checks)
        return {"ok": all(c["ok"] for c in checks), "checks": checks}

    def finish(self, status: str, finished_at: datetime) -> dict:
        if status not in ("success", "failed"):
            raise ValueError(f"status must be 'success' or 'failed', not {status!r}")
        counts = {**self.totals(), **self.counts}
        return {
            "report_version": REPORT_VERSION,
            "stage": self.stage,
            "municipality": self.municipality,
            "fiscal_year": self.fiscal_year,
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(finished_at),
            "status": status,
            "inputs": sorted(self.inputs, key=lambda e: e["path"]),
            "counts": counts,
            "per_input": sorted(self.per_input, key=lambda e: e["path"]),
            "quarantine_reasons": dict(sorted(self.quarantine_reasons.items())),
            "outputs": sorted(self.outputs, key=lambda e: (e["zone"], e["dataset"])),
            "reconciliation": self.reconciliation(),
            "messages": list(self.messages),
            # added in report_version 1: present only when the run produced a validation report
            **({"validation": self.validation} if self.validation is not None else {}),
            # notice_export only (report_version 1, added keys): the dispatch choice and the hand-offs
            **({"dispatch": self.dispatch} if self.dispatch is not None else {}),
            **({"handoffs": sorted(self.handoffs, key=lambda h: (h["recipient"], h["path"]))} if self.handoffs else {}),
            # collection only (report_version 1, added key): the 収納日計 of each day posted
            **({"daily": list(self.daily)} if self.daily else {}),
            # added in report_version 1: the audit trail's head at the end of the run, an anchor of the trail
            **({"audit_head": dict(self.audit_head)} if self.audit_head is not None else {}),
        }


def report_dir(lake: str | Path, stage: str, municipality: str, fiscal_year: int) -> Path:
    return Path(lake) / "reports" / stage / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"


def write_report(lake: str | Path, report: Mapping[str, Any]) -> Path:
    """Write ``<run_id>.json``, then ``latest.json`` (real run) or ``latest_dry_run.json`` (dry run), each
    atomically; return the run's path."""
    directory = report_dir(lake, report["stage"], report["municipality"], report["fiscal_year"])
    path = write_json_atomic(directory / f"{report['run_id']}.json", report)
    write_json_atomic(directory / (LATEST_DRY_RUN if report.get("dry_run") else LATEST), report)
    return path


def _read(path: Path) -> dict:
    """One report file; an unparseable one becomes an ``unreadable`` entry that names the file."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError):
        return {
            "report_version": REPORT_VERSION,
            "stage": path.parts[-4],
            "municipality": path.parts[-3].split("=", 1)[1],
            "fiscal_year": int(path.parts[-2].split("=", 1)[1]),
            "run_id": None,
            "status": "unreadable",
            "dry_run": path.name == LATEST_DRY_RUN,
            "messages": [f"{path} is not valid JSON."],
        }
    report.setdefault("report_path", str(path.parent / f"{report.get('run_id')}.json"))
    return report


def _key(report: Mapping[str, Any]) -> tuple:
    return (report["stage"], report["municipality"], report["fiscal_year"], bool(report.get("dry_run", False)))


def load_latest(lake: str | Path, *, dry_runs: bool = False) -> list[dict]:
    """The latest real run of every stage × municipality × fiscal year (``dry_runs=True``: the latest dry
    run instead), sorted by those keys. Each report gets ``report_path``, the path of its run's file."""
    root = Path(lake) / "reports"
    name = LATEST_DRY_RUN if dry_runs else LATEST
    return sorted((_read(path) for path in root.glob(f"*/municipality=*/fiscal_year=*/{name}")), key=_key)


def load_status(lake: str | Path) -> list[dict]:
    """What ``juminzei status`` shows: for every stage × municipality × fiscal year, the latest real run and
    the latest dry run (each when there is one), the real run first. A run that failed for want of space or
    permission and could not write its report is shown from its failure slot (:func:`write_failure_slot`)
    when it is newer than the latest report."""
    latest = {_key(r): r for r in load_latest(lake) + load_latest(lake, dry_runs=True)}
    for record in load_failure_slots(lake):
        shown = latest.get(_key(record))
        if shown is None or str(record.get("run_id") or "") > str(shown.get("run_id") or ""):
            latest[_key(record)] = record
    return sorted(latest.values(), key=_key)


# ------------------------------------------------------------------------------------ failure slots
#: a file of fixed size kept beside each stage's reports, written in place (no new block is needed) when a
#: run fails because the lake is full or not writable and its report cannot be written (docs/run-report.md)
FAILURE_SLOT = ".failure_slot"
FAILURE_SLOT_BYTES = 16384


def failure_slot_path(lake: str | Path, stage: str, municipality: str, fiscal_year: int) -> Path:
    return report_dir(lake, stage, municipality, fiscal_year) / FAILURE_SLOT


def reserve_failure_slot(lake: str | Path, stage: str, municipality: str, fiscal_year: int) -> None:
    """Make the slot (blanks, its blocks written) while there is room; a run does this when it starts."""
    import os

    path = failure_slot_path(lake, stage, municipality, fiscal_year)
    if path.exists() and path.stat().st_size == FAILURE_SLOT_BYTES:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        os.pwrite(fd, b" " * FAILURE_SLOT_BYTES, 0)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_failure_slot(lake: str | Path, record: Mapping[str, Any]) -> bool:
    """Write a failed run's record into its stage's slot, in place; False when there is no slot to write."""
    import os

    path = failure_slot_path(lake, record["stage"], record["municipality"], record["fiscal_year"])
    data = json.dumps(dict(record), ensure_ascii=False, sort_keys=True).encode("utf-8")
    if len(data) > FAILURE_SLOT_BYTES:
        record = {**record, "messages": [str(m)[:2000] for m in record.get("messages", [])][-3:]}
        data = json.dumps(dict(record), ensure_ascii=False, sort_keys=True).encode("utf-8")[:FAILURE_SLOT_BYTES]
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError:
        return False
    try:
        os.pwrite(fd, data.ljust(FAILURE_SLOT_BYTES, b" "), 0)
        os.fsync(fd)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def clear_failure_slot(lake: str | Path, stage: str, municipality: str, fiscal_year: int) -> None:
    """Blank the slot once a later run has written its report."""
    import os

    path = failure_slot_path(lake, stage, municipality, fiscal_year)
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return
    try:
        if os.pread(fd, 1, 0) != b" ":
            os.pwrite(fd, b" " * FAILURE_SLOT_BYTES, 0)
            os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_failure_slots(lake: str | Path) -> list[dict]:
    """The failed runs held by the slots (a blank slot holds none)."""
    out = []
    for path in sorted((Path(lake) / "reports").glob(f"*/municipality=*/fiscal_year=*/{FAILURE_SLOT}")):
        try:
            text = path.read_bytes().strip()
            record = json.loads(text) if text else None
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            out.append({**record, "report_path": str(path)})
    return out


def load_history(lake: str | Path, *, stage: str | None = None, fiscal_year: int | None = None,
                 municipality: str | None = None, limit: int | None = None) -> list[dict]:
    """Every run report (real and dry), newest first (run ids sort by start time), optionally filtered."""
    root = Path(lake) / "reports"
    paths = [
        path for path in root.glob(f"{stage or '*'}/municipality={municipality or '*'}/"
                                   f"fiscal_year={fiscal_year if fiscal_year is not None else '*'}/*.json")
        if path.name not in (LATEST, LATEST_DRY_RUN) and not path.name.startswith(".")
    ]
    paths.sort(key=lambda p: p.stem, reverse=True)  # run ids begin with their UTC start time
    return [_read(path) for path in paths[:limit]]


def load_report(lake: str | Path, stage: str, municipality: str, fiscal_year: int, run_id: str | None = None) -> dict:
    """One report (``latest.json`` when ``run_id`` is None)."""
    name = LATEST if run_id is None else f"{run_id}.json"
    return json.loads((report_dir(lake, stage, municipality, fiscal_year) / name).read_text(encoding="utf-8"))


def status_rows(reports: Iterable[Mapping[str, Any]]) -> list[dict]:
    """One flat row per report: the JSON form of ``juminzei status``."""
    rows = []
    for report in reports:
        counts = report.get("counts") or {}
        reconciliation = report.get("reconciliation") or {}
        rows.append(
            {
                "stage": report.get("stage"),
                "municipality": report.get("municipality"),
                "fiscal_year": report.get("fiscal_year"),
                "run_id": report.get("run_id"),
                "status": report.get("status"),
                "dry_run": bool(report.get("dry_run", False)),
                "started_at": report.get("started_at"),
                "finished_at": report.get("finished_at"),
                "received": counts.get("received"),
                "staged": counts.get("staged"),
                "quarantined": counts.get("quarantined"),
                "forwarded": counts.get("forwarded"),
                "reconciles": reconciliation.get("ok"),
                "messages": list(report.get("messages") or []),
                "report_path": report.get("report_path"),
                "validation": _validation_state(report),
                "validation_report": (report.get("validation") or {}).get("data_docs"),
                "validation_page": _validation_page(report),
                "validation_index": (report.get("validation") or {}).get("runs_index"),
            }
        )
    return rows


def _validation_page(report: Mapping[str, Any]) -> str | None:
    """The page to open for a run's validation: the offline run page, else (older reports) GE's index."""
    validation = report.get("validation")
    if not isinstance(validation, Mapping):
        return None
    return validation.get("report_page") or validation.get("data_docs")


def _validation_state(report: Mapping[str, Any]) -> str | None:
    """``ok`` / ``FAILED`` for a run with a validation report (Data Docs), ``None`` without one."""
    validation = report.get("validation")
    if not isinstance(validation, Mapping):
        return None
    return "ok" if validation.get("success") is True else "FAILED"


def _count(value: Any) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _finished(value: str | None) -> str:
    """A report's UTC time as Asia/Tokyo ``YYYY-MM-DD HH:MM`` (the operators' clock)."""
    from pipelines.dag_policy import TIMEZONE

    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value[:16]
    return moment.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")


def _shown_path(path: str | None, lake: Path | None) -> str:
    """A path as short as it stays unambiguous: relative to the lake when it lies inside it, else relative to
    the current folder when it lies inside that."""
    if not path:
        return "-"
    for base in (lake, Path.cwd()):
        if base is not None:
            try:
                return str(Path(path).resolve().relative_to(base.resolve()))
            except ValueError:
                pass
    return str(path)


def _path_lines(label: str, path: str, width: int, indent: str = "    ") -> list[str]:
    """``label: path`` on one line when it fits ``width``; else the path folded after a ``/`` onto the
    following lines (indented), so that a long path never widens the output."""
    first = f"{indent}{label}: "
    if len(first) + len(path) <= width:
        return [first + path]
    pad = indent + "  "
    lines, current = [first.rstrip()], pad
    for part in path.split("/"):
        piece = part + "/"
        if len(current) + len(piece) > width and current != pad:
            lines.append(current)
            current = pad
        current += piece
    lines.append(current[:-1] if not path.endswith("/") else current)
    return lines


_STATUS_COLUMNS = (  # key, title, right-aligned
    ("stage", "stage", False), ("fiscal_year", "year", False), ("kind", "kind", False),
    ("finished", "finished (JST)", False), ("status", "status", False), ("received", "received", True),
    ("staged", "staged", True), ("quarantined", "quar.", True), ("forwarded", "fwd", True),
    ("reconciles", "ok", False), ("validation", "check", False),
)


def _status_cells(row: Mapping[str, Any], with_run: bool) -> dict[str, str]:
    status = row["status"] or "-"
    cells = {
        "stage": str(row["stage"]),
        "fiscal_year": str(row["fiscal_year"]),
        "kind": "dry" if row["dry_run"] else "run",
        "finished": _finished(row["finished_at"]),
        "status": "FAILED" if status == "failed" else status,
        "received": _count(row["received"]),
        "staged": _count(row["staged"]),
        "quarantined": _count(row["quarantined"]),
        "forwarded": _count(row["forwarded"]),
        # a failed run stopped before its counts were complete: its reconciliation says nothing
        "reconciles": "-" if row["reconciles"] is None or status != "success" else ("yes" if row["reconciles"] else "NO"),
    }
    cells["validation"] = row["validation"] or "-"
    if with_run:
        cells["run"] = (row["run_id"] or "-").rsplit("-", 1)[-1]
    return cells


def _wrapped(prefix: str, text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, initial_indent=prefix, subsequent_indent=" " * len(prefix),
                         break_long_words=False, break_on_hyphens=False) or [prefix.rstrip()]


def format_status(reports: Iterable[Mapping[str, Any]], *, as_json: bool = False, lake: str | Path | None = None,
                  history: bool = False, width: int = STATUS_WIDTH) -> str:
    """The operator table of ``juminzei status`` (or, with ``as_json``, the rows as JSON).

    One block per municipality; per stage and fiscal year the latest real run (``run``) and the latest dry
    run (``dry``), times in Asia/Tokyo; ``ok`` says whether the counts reconcile and ``check`` is the result of
    the run's validation report (``-``: the stage has none). Under a failed run, a run that does not reconcile
    and a run whose validation failed come its message and the path of its report or validation page.
    ``history`` adds the short run id (the run id's last 8 hex digits). Every line fits ``width`` columns
    (a long path is split into folder and file).
    """
    rows = status_rows(reports)
    if as_json:
        return json.dumps(rows, ensure_ascii=False, indent=2, sort_keys=True)
    if not rows:
        return "No run reports yet: no stage has run in this lake."
    lake_path = Path(lake) if lake is not None else None
    columns = [c for c in _STATUS_COLUMNS if c[0] != "validation" or any(r["validation"] for r in rows)]
    if history:
        columns.insert(3, ("run", "run", False))
    cells = [_status_cells(row, history) for row in rows]
    widths = {key: max(len(title), *(len(c[key]) for c in cells)) for key, title, _ in columns}
    if sum(widths.values()) + len(columns) - 1 > width:  # long stage names: the date without its year
        for cell in cells:
            cell["finished"] = cell["finished"][5:]
        widths["finished"] = max(len("finished (JST)"[:11]), *(len(c["finished"]) for c in cells))
        columns = [(k, "finished" if k == "finished" else t, r) for k, t, r in columns]

    def line(values: Mapping[str, str]) -> str:
        return " ".join(values[key].rjust(widths[key]) if right else values[key].ljust(widths[key])
                        for key, _, right in columns).rstrip()

    out: list[str] = [f"Lake: {lake_path}"] if lake_path is not None else []
    attention = 0
    for municipality in sorted({str(r["municipality"]) for r in rows}):
        out += ["", f"municipality {municipality}", line({key: title for key, title, _ in columns}),
                line({key: "-" * widths[key] for key, _, _ in columns})]
        for row, cell in zip(rows, cells, strict=True):
            if str(row["municipality"]) != municipality:
                continue
            out.append(line(cell))
            failed, unreconciled = row["status"] != "success", row["reconciles"] is False
            if failed or unreconciled:
                attention += 1
                problem = (row["messages"] or ["no message"])[-1] if failed else (
                    "the counts do not reconcile; see the reconciliation checks in the report")
                out += _wrapped("    ! ", problem, width)
                out += _path_lines("report", _shown_path(row["report_path"], lake_path), width)
            if row["validation"] == "FAILED":
                attention += 0 if (failed or unreconciled) else 1
                out += _wrapped("    ! ", "expectations of the validation report not met", width)
                out += _path_lines("validation", _shown_path(row["validation_page"], None), width)
    indexes = sorted({r["validation_index"] for r in rows if r["validation_index"]})
    if indexes:
        out.append("")
        for index in indexes:
            out += _path_lines("validation reports of every run (Data Docs)", _shown_path(index, None), width, "")
    if attention:
        out.append("")
        out += _wrapped("", f"{attention} run(s) need attention: see the lines marked ! under them.", width)
    if lake_path is not None and not history:
        out.append("")
        out += _wrapped("", "Older runs: juminzei status --history; the reports themselves: --json.", width)
    return "\n".join(out).lstrip("\n")
