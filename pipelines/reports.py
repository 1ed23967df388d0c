"""Run reports: the stable interface for auditors and operators (schema in ``docs/run-report.md``).

Every stage run writes one JSON report to
``<lake>/reports/<stage>/municipality=<M>/fiscal_year=<N>/<run_id>.json`` and replaces ``latest.json``
beside it (both atomically). A report says what went in (files with sha256), what came out
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
LATEST = "latest.json"
ROUTES = ("staged", "quarantined", "forwarded")


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
        }


def report_dir(lake: str | Path, stage: str, municipality: str, fiscal_year: int) -> Path:
    return Path(lake) / "reports" / stage / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"


def write_report(lake: str | Path, report: Mapping[str, Any]) -> Path:
    """Write ``<run_id>.json`` then ``latest.json`` (each atomically); return the run's path."""
    directory = report_dir(lake, report["stage"], report["municipality"], report["fiscal_year"])
    path = write_json_atomic(directory / f"{report['run_id']}.json", report)
    write_json_atomic(directory / LATEST, report)
    return path


def load_latest(lake: str | Path) -> list[dict]:
    """The latest report of every stage × municipality × fiscal year, sorted by those keys."""
    root = Path(lake) / "reports"
    reports = []
    for path in sorted(root.glob(f"*/municipality=*/fiscal_year=*/{LATEST}")):
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError):
            reports.append(
                {
                    "report_version": REPORT_VERSION,
                    "stage": path.parts[-4],
                    "municipality": path.parts[-3].split("=", 1)[1],
                    "fiscal_year": int(path.parts[-2].split("=", 1)[1]),
                    "run_id": None,
                    "status": "unreadable",
                    "messages": [f"{path} is not valid JSON."],
                }
            )
    return sorted(reports, key=lambda r: (r["stage"], r["municipality"], r["fiscal_year"]))


def load_report(lake: str | Path, stage: str, municipality: str, fiscal_year: int, run_id: str | None = None) -> dict:
    """One report (``latest.json`` when ``run_id`` is None)."""
    name = LATEST if run_id is None else f"{run_id}.json"
    return json.loads((report_dir(lake, stage, municipality, fiscal_year) / name).read_text(encoding="utf-8"))


STATUS_COLUMNS = (
    ("stage", "stage"),
    ("municipality", "municipality"),
    ("fiscal_year", "year"),
    ("run_id", "run id"),
    ("status", "status"),
    ("dry_run", "dry run"),
    ("received", "received"),
    ("staged", "staged"),
    ("quarantined", "quarantined"),
    ("forwarded", "forwarded"),
    ("reconciles", "reconciles"),
)


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
                "finished_at": report.get("finished_at"),
                "received": counts.get("received"),
                "staged": counts.get("staged"),
                "quarantined": counts.get("quarantined"),
                "forwarded": counts.get("forwarded"),
                "reconciles": reconciliation.get("ok"),
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


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_status(reports: Iterable[Mapping[str, Any]], *, as_json: bool = False) -> str:
    """An operator-readable table of the latest runs (or, with ``as_json``, the rows as JSON)."""
    rows = status_rows(reports)
    if as_json:
        return json.dumps(rows, ensure_ascii=False, indent=2, sort_keys=True)
    if not rows:
        return "No run reports yet: no stage has run in this lake."
    numeric = {"received", "staged", "quarantined", "forwarded", "fiscal_year"}
    header = [title for _, title in STATUS_COLUMNS]
    body = [
        [str(row["fiscal_year"]) if key == "fiscal_year" and row[key] is not None else _cell(row[key])
         for key, _ in STATUS_COLUMNS]
        for row in rows
    ]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        parts = []
        for (key, _), cell, width in zip(STATUS_COLUMNS, cells, widths, strict=True):
            parts.append(cell.rjust(width) if key in numeric else cell.ljust(width))
        return "  ".join(parts).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out.extend(line(r) for r in body)
    validated = [r for r in rows if r["validation"] is not None]
    if validated:
        out.append("")
        for r in validated:
            where = f"{r['stage']} {r['municipality']} {r['fiscal_year']}"
            out.append(f"validation {where}: {r['validation']} {r['validation_page']}")
        for index in sorted({r["validation_index"] for r in validated if r["validation_index"]}):
            out.append(f"validation reports of all runs: {index}")
    problems = [r for r in rows if r["status"] != "success" or r["reconciles"] is False]
    if problems:
        out.append("")
        out.append(
            f"{len(problems)} run(s) need attention (failed or not reconciled): see the messages in their latest.json."
        )
    return "\n".join(out)
