"""What every stage run shares: the run report around the work, contract gates, the reconciliation
gate and the final report write. A stage supplies only its body.

    def run(*, fiscal_year, municipality="131032", settings=None, run_id=None, dry_run=False):
        return execute(STAGE, _body, fiscal_year=..., municipality=..., settings=..., run_id=..., dry_run=...)

The body receives ``(settings, report)`` and fills the report; a project error becomes a ``failed``
report with the operator sentence and is re-raised; any other error is reported by type only (its
text may quote data) and re-raised.
"""

from __future__ import annotations

import errno
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Callable, Sequence

import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from contracts.errors import ContractError, JuminzeiError, ReconciliationError, StorageError
from pipelines.config import Settings, check_fiscal_year, check_municipality, new_run_id
from pipelines.audit import use_run_settings
from pipelines.lake import use_guard_settings
from pipelines.reports import (
    RunReport, clear_failure_slot, reserve_failure_slot, write_failure_slot, write_report,
)

Body = Callable[[Settings, RunReport], None]


def execute(
    stage: str,
    body: Body,
    *,
    fiscal_year: int,
    municipality: str,
    settings: Settings | None,
    run_id: str | None,
    dry_run: bool,
    log: logging.Logger,
    steps: Sequence[str] = (),
) -> dict:
    """Run ``body`` inside a run report, holding the stage's lock (:mod:`pipelines.locks`); return the report
    dict (plus ``report_path``). ``steps`` are the stage's steps in order, shown as its progress
    (:mod:`pipelines.progress`). The audit trail gets the run's start and end (and the end of a killed earlier
    run of the same stage and partition)."""
    from pipelines.locks import acquire
    from pipelines.progress import track

    settings = settings or Settings.from_env()
    check_municipality(municipality)
    check_fiscal_year(fiscal_year)
    started = datetime.now(UTC)
    run_id = run_id or new_run_id(stage, started)
    # one run at a time per stage and partition; a second one is refused here, before it writes anything
    try:
        lock = acquire(settings.lake, stage, municipality, fiscal_year, run_id=run_id, actor=settings.actor,
                       dry_run=dry_run, now=started)
    except OSError as error:  # no room or no right even for the lock file
        converted = storage_error(error, settings.lake, f"{stage} {municipality}/{fiscal_year}")
        if converted is None:
            raise
        report = RunReport(stage, municipality, fiscal_year, run_id, started, dry_run=dry_run)
        report.message(str(converted))
        _slot_only(settings, report)
        raise converted from None
    with lock:
        report = RunReport(stage, municipality, fiscal_year, run_id, started, dry_run=dry_run)
        label = f"{stage} {municipality}/{fiscal_year}{' (dry run)' if dry_run else ''}"
        try:
            reserve_failure_slot(settings.lake, stage, municipality, fiscal_year)
        except OSError:
            pass  # no room even for the slot: a failure below is told by the exception's sentence alone
        try:
            record_run_start(settings, stage, municipality, fiscal_year, run_id, dry_run, lock.aborted)
        except OSError as error:
            converted = storage_error(error, settings.lake, label)
            if converted is None:
                raise
            report.message(str(converted))
            _slot_only(settings, report)
            raise converted from None
        use_guard_settings(settings, run_id)  # the My Number guard reads an unseen vault with this run's settings
        use_run_settings(settings)  # audit records appended deeper down name this run's operator
        try:
            with track(label, steps or ("working",)):
                body(settings, report)
        except JuminzeiError as error:
            report.message(str(error))
            _end(settings, report, "failed", label)
            lock.ended = True
            log.error("%s %s/%s run %s failed: %s", stage, municipality, fiscal_year, run_id, error)
            raise
        except BaseException as error:
            converted = storage_error(error, settings.lake, label)
            if converted is not None:
                report.message(str(converted))
                _end(settings, report, "failed", label)
                lock.ended = True
                log.error("%s %s/%s run %s failed: %s", stage, municipality, fiscal_year, run_id, converted)
                raise converted from None
            report.message(
                f"The stage stopped on an unexpected {type(error).__name__}; nothing after that point was written. "
                f"See the task log of run {run_id} for the traceback."
            )
            _end(settings, report, "failed", label)
            lock.ended = True
            raise
        result = _end(settings, report, "success", label)
        lock.ended = True
    counts = result["counts"]
    log.info(
        "%s %s/%s run %s%s: received %d, staged %d, quarantined %d, forwarded %d; reconciles: %s",
        stage, municipality, fiscal_year, run_id, " (dry run)" if dry_run else "",
        counts["received"], counts["staged"], counts["quarantined"], counts["forwarded"],
        result["reconciliation"]["ok"],
    )
    return result


RUN_REASON = "個人住民税の賦課・徴収事務の処理 (ステージの実行)"
ABORT_REASON = "中断された実行の記録 (前回の実行がプロセスの停止で終了を記録できなかった)"


def record_run_start(settings: Settings, stage: str, municipality: str, fiscal_year: int, run_id: str,
                     dry_run: bool, aborted: dict | None) -> None:
    """The audit records of a run's start: first the end of a killed earlier run of the same stage and partition
    (its lock still held its description), then this run's ``stage_run_started`` with its operator."""
    from pipelines.audit import append_audit

    common = {"dataset": f"stage/{stage}", "atena_nos": None, "settings": settings}  # operator, 部署, 端末 from it
    if aborted:
        append_audit(settings.lake, operation="stage_run_aborted", reason=ABORT_REASON,
                     run_id=aborted.get("run_id"), details={"recorded_by_run": run_id, "killed_run": aborted},
                     **common)
    append_audit(settings.lake, operation="stage_run_started", reason=RUN_REASON, run_id=run_id,
                 details={"stage": stage, "municipality": municipality, "fiscal_year": fiscal_year,
                          "dry_run": dry_run}, **common)


def _end(settings: Settings, report: RunReport, status: str, label: str) -> dict:
    """Write the run report, then the audit record of the run's end (so the report's ``audit_head`` is the
    head before it; the end record follows it). When the lake is full or not writable, the run's failure goes
    to its failure slot (pipelines.reports) and :class:`StorageError` is raised with the sentence."""
    from pipelines.audit import append_audit

    try:
        result = finish(settings, report, status)
    except OSError as error:
        converted = storage_error(error, settings.lake, label)
        if converted is None:
            raise
        if str(converted) not in report.messages:
            report.message(str(converted))
        _slot_only(settings, report)
        raise converted from None
    clear_failure_slot(settings.lake, report.stage, report.municipality, report.fiscal_year)
    try:
        append_audit(settings.lake, operation="stage_run_finished", reason=RUN_REASON, run_id=report.run_id,
                     dataset=f"stage/{report.stage}", atena_nos=None, settings=settings,
                     details={"status": status, "report": Path(result["report_path"]).relative_to(
                         Path(settings.lake) / "reports").as_posix()})
    except OSError as error:
        converted = storage_error(error, settings.lake, f"{label}: recording its end in the audit trail")
        if converted is None:
            raise
        raise converted from None  # the next run records this one as aborted (its lock kept its description)
    return result


_STORAGE_PROBLEMS = {
    errno.ENOSPC: "there is no space left on the device",
    errno.EDQUOT: "the disk quota is used up",
    errno.EACCES: "permission is denied",
    errno.EPERM: "the operation is not permitted",
    errno.EROFS: "the file system is read-only",
}


def storage_error(error: BaseException, lake: Path, what: str) -> StorageError | None:
    """An operator sentence for a lake that cannot be written (no space, no permission, read-only), naming the
    path; ``None`` for any other error."""
    if not isinstance(error, OSError) or error.errno not in _STORAGE_PROBLEMS:
        return None
    where = error.filename or "the lake"
    try:
        parts = []
        for part in Path(where).resolve().relative_to(Path(lake).resolve()).parts:
            if part.startswith(".") and ".tmp-" in part:  # a hidden temporary copy: name what it was to become
                parts.append(part[1:part.index(".tmp-")])
                break
            parts.append(part)
        where = f"{'/'.join(parts)} (in the lake {lake})"
    except (TypeError, ValueError):
        pass
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free space on the lake's disk (or raise the quota)"
    else:
        fix = "give the batch user write access there (or mount the file system read-write)"
    return StorageError(
        f"{what} stopped: {_STORAGE_PROBLEMS[error.errno]} at {where}. Nothing of this run was kept: the partitions "
        f"of earlier runs are intact and its temporary files were removed. To go on, {fix} and run it again.")


def _slot_only(settings: Settings, report: RunReport) -> None:
    """The failure record of a run whose report cannot be written: into the stage's failure slot, in place."""
    record = report.finish("failed", datetime.now(UTC))
    write_failure_slot(settings.lake, {k: record[k] for k in (
        "report_version", "stage", "municipality", "fiscal_year", "run_id", "dry_run", "started_at", "finished_at",
        "status", "messages")})


def finish(settings: Settings, report: RunReport, status: str) -> dict:
    from pipelines.audit import chain_head

    report.audit_head = chain_head(settings.lake)  # an anchor of the audit trail (docs/audit.md)
    result = report.finish(status, datetime.now(UTC))
    path = write_report(settings.lake, result)
    return {**result, "report_path": str(path)}


def require_reconciled(report: RunReport) -> None:
    """Refuse to write anything unless every received record is staged, quarantined or forwarded."""
    reconciliation = report.reconciliation()
    if not reconciliation["ok"]:
        failed = [c["name"] for c in reconciliation["checks"] if not c["ok"]]
        shown = ", ".join(failed[:5]) + (f" and {len(failed) - 5} more" if len(failed) > 5 else "")
        raise ReconciliationError(
            f"Counts of {report.stage} {report.municipality}/{report.fiscal_year} do not reconcile ({shown}); "
            "nothing was written. Every received record must be staged, quarantined or forwarded."
        )


def validate(model, frame: pl.DataFrame, dataset: str, run_id: str) -> pl.DataFrame:
    """Validate a collected frame; a failure becomes a :class:`ContractError` without any values."""
    try:
        return model.validate(frame, lazy=True)
    except (SchemaErrors, SchemaError) as error:
        raise ContractError(_contract_sentence(model, dataset, error, run_id)) from None


def _contract_sentence(model, dataset: str, error: Exception, run_id: str) -> str:
    problems = []
    errors = error.schema_errors if isinstance(error, SchemaErrors) else [error]
    for item in errors:
        check = item.check
        check_name = getattr(check, "name", None) or str(check)
        cases = getattr(item, "failure_cases", None)
        count = f" ({len(cases)} rows)" if cases is not None and hasattr(cases, "__len__") else ""
        column = getattr(item, "column_name", None)
        problems.append(f"{'column ' + str(column) if column else 'the frame'} fails {check_name}{count}")
    return (
        f"Staged dataset {dataset} breaks its contract {model.Config.name}: {'; '.join(problems)}. "
        f"Nothing was written. This is a defect of the stage or an input it does not handle; "
        f"report it with run id {run_id}."
    )
