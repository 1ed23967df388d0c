"""The run key and the glue between a scheduler (or the CLI) and a stage.

STYLE rule 5: the fiscal year (年度) and the run id are resolved once, here, from the operator's
parameters or the run's logical date; stages and transforms receive them as arguments and never read
the clock. Everything returned is JSON-serialisable (it travels through XCom).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from pipelines.dag_policy import TIMEZONE

MIN_FISCAL_YEAR = 2020
MAX_FISCAL_YEAR = 2100


def resolve_fiscal_year(requested: Any, logical_date: datetime | None, now: datetime) -> int:
    """The 年度 of a run: the operator's choice, else the calendar year of the run date in Asia/Tokyo.

    The 賦課期日 of fiscal year N is 1 January N (地方税法第39条・第318条), so a run dated in
    calendar year N works on fiscal year N.
    """
    from contracts.errors import ConfigError

    if requested not in (None, ""):
        try:
            year = int(requested)
        except (TypeError, ValueError):
            raise ConfigError(f"fiscal_year must be a year such as 2026, got {requested!r}") from None
        if isinstance(requested, float) and requested != year:
            raise ConfigError(f"fiscal_year must be a whole year such as 2026, got {requested!r}")
    else:
        moment = logical_date or now
        year = moment.astimezone(TIMEZONE).year
    if not MIN_FISCAL_YEAR <= year <= MAX_FISCAL_YEAR:
        raise ConfigError(f"fiscal_year {year} is outside {MIN_FISCAL_YEAR}–{MAX_FISCAL_YEAR}")
    return year


def resolve_municipality(requested: Any) -> str:
    """A 6-digit 全国地方公共団体コード (default: the settings' municipality)."""
    from contracts.errors import ConfigError
    from pipelines.config import Settings

    code = str(requested).strip() if requested not in (None, "") else Settings.from_env().municipality
    if len(code) != 6 or not code.isdigit():
        raise ConfigError(f"municipality must be a 6-digit 団体コード such as 131032, got {requested!r}")
    return code


def resolve_run_config(
    stage: str,
    params: Mapping[str, Any],
    logical_date: datetime | None = None,
    now: datetime | None = None,
) -> dict:
    """Validate a whole run configuration up front and fix its run id (first task of every DAG)."""
    from pipelines.config import new_run_id
    from pipelines.stages import stage_runner

    stage_runner(stage)  # unknown stage → ConfigError before any work
    check_param_names(stage, params)
    now = now or datetime.now(timezone.utc)
    dry_run = params.get("dry_run", False)
    if not isinstance(dry_run, bool):
        from contracts.errors import ConfigError

        raise ConfigError(f"dry_run must be true or false, got {dry_run!r}")
    fiscal_year = resolve_fiscal_year(params.get("fiscal_year"), logical_date, now)
    options = resolve_options(params)
    from pipelines.stages import allowed_params

    if "processing_month" in allowed_params(stage):
        # a monthly stage: the month of the run date in Asia/Tokyo unless the operator names one; the 年度 of a
        # month runs April to March, so January to March belong to the 年度 of the year before
        month = options.get("processing_month") or (logical_date or now).astimezone(TIMEZONE).strftime("%Y-%m")
        options["processing_month"] = month
        if params.get("fiscal_year") in (None, ""):
            fiscal_year = resolve_fiscal_year(int(month[:4]) - (int(month[5:]) < 4), None, now)
        elif int(month[:4]) - (int(month[5:]) < 4) != fiscal_year:
            from contracts.errors import ConfigError

            raise ConfigError(f"processing_month {month} is not a month of the {fiscal_year} 年度 ({fiscal_year}-04 to "
                              f"{fiscal_year + 1}-03): correct the month or the fiscal year. Nothing was run.")
    if "processing_day" in allowed_params(stage):
        # a daily stage (collection): the day of the run date in Asia/Tokyo unless the operator names one; the
        # collection of 年度 N runs from its June notices to the end of May N+1 (出納整理期間), so a day of
        # January to May belongs to the 年度 of the year before unless the operator names the 年度
        day = options.get("processing_day") or (logical_date or now).astimezone(TIMEZONE).strftime("%Y-%m-%d")
        options["processing_day"] = day
        if params.get("fiscal_year") in (None, ""):
            fiscal_year = resolve_fiscal_year(int(day[:4]) - (int(day[5:7]) < 6), None, now)
    return {
        "stage": stage,
        "fiscal_year": fiscal_year,
        "municipality": resolve_municipality(params.get("municipality")),
        "dry_run": dry_run,
        "run_id": new_run_id(stage, now),
        "options": options,
    }


#: How late a *scheduled* run may start and still do its work. With ``catchup=False`` Airflow starts the run of
#: the latest past schedule as soon as a DAG is unpaused: unpausing resident_snapshot in December would
#: otherwise rerun the 4 January snapshot for real. Manual and Asset-triggered runs are never late.
LATE_SCHEDULE_GRACE_DAYS = 3


def late_schedule_reason(run_type: Any, logical_date: datetime | None, now: datetime | None = None) -> str | None:
    """A sentence when a scheduled run starts more than :data:`LATE_SCHEDULE_GRACE_DAYS` after its scheduled
    time (it should do nothing: the DAG skips it), else ``None``."""
    from datetime import timedelta

    kind = str(getattr(run_type, "value", run_type) or "")
    if kind != "scheduled" or logical_date is None:
        return None
    now = now or datetime.now(timezone.utc)
    late = now - logical_date
    if late <= timedelta(days=LATE_SCHEDULE_GRACE_DAYS):
        return None
    scheduled = logical_date.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")
    return (f"This scheduled run of {scheduled} (Asia/Tokyo) starts {late.days} days late (the DAG was paused or "
            f"the scheduler stopped), more than {LATE_SCHEDULE_GRACE_DAYS} days: it does nothing. To run the stage "
            "now, trigger the DAG by hand with its form.")


def closed_day_reason(stage: str, run_type: Any, logical_date: datetime | None) -> str | None:
    """A sentence when a *scheduled* run of a stage that works on business days (:data:`pipelines.stages.
    BUSINESS_DAY_STAGES`) falls on a day the banks and the ward are closed — a national holiday or 12月29日〜1月3日
    (the weekday schedule leaves out Saturdays and Sundays): it does nothing; the next business day's run posts
    what arrived. A run started by hand or by an Asset always works."""
    from pipelines.stages import BUSINESS_DAY_STAGES
    from transforms.installments import is_closed

    kind = str(getattr(run_type, "value", run_type) or "")
    if stage not in BUSINESS_DAY_STAGES or kind != "scheduled" or logical_date is None:
        return None
    day = logical_date.astimezone(TIMEZONE).date()
    if not is_closed(day):
        return None
    return (f"{day.isoformat()} (Asia/Tokyo) is not a business day (a national holiday or the year-end closure): "
            f"this scheduled run of {stage} does nothing; the next business day's run posts what arrived. To post "
            "now, trigger the DAG by hand.")


def resolve_dag_run(stage: str, context: Mapping[str, Any]) -> dict:
    """The first task of every DAG: the run configuration from an Airflow task context (a plain mapping here;
    nothing of Airflow is imported). A late scheduled run, or a scheduled run of a business-day stage on a closed
    day (:func:`closed_day_reason`), raises :class:`RunSkipped`; a run started by Asset
    events works on the partition they name (:func:`scope_from_asset_events`); then :func:`resolve_run_config`."""
    from contracts.errors import RunSkipped

    logical_date = context.get("logical_date")
    dag_run = context.get("dag_run")
    reason = closed_day_reason(stage, getattr(dag_run, "run_type", None), logical_date) \
        or late_schedule_reason(getattr(dag_run, "run_type", None), logical_date)
    if reason:
        raise RunSkipped(reason)
    events = context.get("triggering_asset_events") or {}
    scope = scope_from_asset_events(getattr(e, "extra", None) for batch in events.values() for e in batch)
    config = resolve_run_config(stage, {**context["params"], **scope}, logical_date)
    from pipelines.stages import RECORDS_REQUESTER

    user = getattr(dag_run, "triggering_user_name", None)
    run_type = getattr(dag_run, "run_type", None)
    # the operator of the run's audit records: the Airflow user who triggered it, or what started it
    config["actor"] = f"airflow:{user}" if user else f"airflow:{getattr(run_type, 'value', run_type) or 'scheduler'}"
    if stage in RECORDS_REQUESTER:  # who chose a dispatch goes into its run report (never a password or key)
        shown = user or "no user (started by the scheduler or an Asset)"
        config["options"]["requested_by"] = f"{shown} (Airflow, {getattr(run_type, 'value', run_type)} run)"
    return config


def publish_asset_events(summary: Mapping[str, Any], outlets, outlet_events) -> dict:
    """The last task of every DAG: raise :class:`RunSkipped` when the run must start nothing downstream
    (:func:`publish_skip_reason`), else put the rewritten partition in the ``extra`` of every outlet's event."""
    from contracts.errors import RunSkipped

    reason = publish_skip_reason(summary)
    if reason:
        raise RunSkipped(reason)
    extra = asset_event_extra(summary)
    for asset in outlets:
        outlet_events[asset].extra.update(extra)
    return dict(summary)


def asset_event_extra(summary: Mapping[str, Any]) -> dict:
    """What a stage's Asset events carry: which partition (municipality, fiscal year) the run rewrote, so that
    the stage it starts works on that partition, not on the current year (no personal data)."""
    return {"stage": summary["stage"], "municipality": summary["municipality"],
            "fiscal_year": int(summary["fiscal_year"]), "run_id": summary["run_id"]}


def scope_from_asset_events(extras: Iterable[Mapping[str, Any] | None]) -> dict:
    """The run configuration of an Asset-triggered run: the municipality and fiscal year its triggering events
    name (``{}`` when no event names one, e.g. an event created by hand in the UI). Events naming different
    partitions cannot be one run: the sentence lists them and asks for runs by hand."""
    from contracts.errors import ConfigError

    scopes = sorted({(str(e["municipality"]), int(e["fiscal_year"])) for e in extras
                     if isinstance(e, Mapping) and e.get("municipality") and e.get("fiscal_year")})
    if not scopes:
        return {}
    if len(scopes) > 1:
        shown = ", ".join(f"{m}/{y}" for m, y in scopes)
        raise ConfigError(f"this run was started by updates of several partitions ({shown}); one run works on one "
                          "municipality and fiscal year: trigger the DAG by hand once for each of them")
    municipality, fiscal_year = scopes[0]
    return {"municipality": municipality, "fiscal_year": fiscal_year}


def check_param_names(stage: str, params: Mapping[str, Any]) -> None:
    """Refuse a configuration key the stage does not know (``{"fiscal_yaer": 2026}`` must not run silently as
    the current year): the sentence names the key, the closest known one and every allowed key."""
    from difflib import get_close_matches

    from contracts.errors import ConfigError
    from pipelines.stages import allowed_params

    allowed = allowed_params(stage)
    unknown = sorted(str(key) for key in params if key not in allowed)
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = get_close_matches(key, allowed, n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ConfigError(
        f"{stage}: unknown configuration key{'s' if len(unknown) > 1 else ''} {', '.join(hints)}; "
        f"the keys a {stage} run accepts are {', '.join(allowed)}. Nothing was run."
    )


def resolve_options(params: Mapping[str, Any]) -> dict:
    """Stage-specific options: ``landing`` (an existing folder) and ``notice_date`` (an ISO date) when the
    operator names them."""
    from contracts.errors import ConfigError

    options: dict[str, Any] = {}
    landing = params.get("landing")
    if landing not in (None, ""):
        from pathlib import Path

        if not Path(str(landing)).is_dir():
            raise ConfigError(f"landing folder {landing} does not exist or is not a folder")
        options["landing"] = str(landing)
    notice_date = params.get("notice_date")
    if notice_date not in (None, ""):
        from datetime import date

        try:
            options["notice_date"] = date.fromisoformat(str(notice_date)).isoformat()
        except ValueError:
            raise ConfigError(f"notice_date must be a date written YYYY-MM-DD, got {notice_date!r}") from None
    day = params.get("processing_day")
    if day not in (None, ""):
        from datetime import date

        try:
            options["processing_day"] = date.fromisoformat(str(day)).isoformat()
        except ValueError:
            raise ConfigError(f"processing_day must be a date written YYYY-MM-DD, got {day!r}") from None
    for key in ("processing_month", "pension_switch_month"):
        month = params.get(key)
        if month not in (None, ""):
            import re

            if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", str(month)):
                raise ConfigError(f"{key} must be a month written YYYY-MM, got {month!r}")
            options[key] = str(month)
    return options


def run_stage(run: Mapping[str, Any]) -> dict:
    """Run one stage for a resolved configuration and return a small summary of its run report."""
    from dataclasses import replace

    from pipelines.config import Settings
    from pipelines.stages import stage_runner

    settings = Settings.from_env()
    if run.get("actor"):  # a DAG run: its audit records name the Airflow user who triggered it
        settings = replace(settings, actor=str(run["actor"]))
    report = stage_runner(run["stage"])(
        fiscal_year=run["fiscal_year"],
        municipality=run["municipality"],
        settings=settings,
        run_id=run["run_id"],
        dry_run=run["dry_run"],
        **run.get("options", {}),
    )
    return summarize(report)


def summarize(report: Mapping[str, Any]) -> dict:
    """The part of a run report that operators see in task logs and XCom (counts only, no personal data)."""
    return {
        "stage": report["stage"],
        "municipality": report["municipality"],
        "fiscal_year": report["fiscal_year"],
        "run_id": report["run_id"],
        "dry_run": report.get("dry_run", False),
        "status": report.get("status"),
        "counts": dict(report.get("counts", {})),
        "reconciles": bool(report.get("reconciliation", {}).get("ok", False)),
        "report_path": report.get("report_path"),
        # datasets whose partition this run replaced (a dry run and an unchanged rerun replace none)
        "changed_outputs": sorted(
            f"{o['zone']}/{o['dataset']}" for o in report.get("outputs", []) if not o.get("unchanged", False)
        ),
    }


def publish_skip_reason(summary: Mapping[str, Any]) -> str | None:
    """Why a run must not emit its Airflow Asset events (which start the downstream stages), or ``None``.

    A dry run wrote nothing, and a run that replaced no partition changed nothing: either way a downstream
    stage would only redo the work it did last time, so no event is emitted and nothing starts.
    """
    if summary.get("dry_run"):
        return (f"{summary['stage']} run {summary['run_id']} was a dry run: nothing was written, so no downstream "
                "stage is started.")
    if not summary.get("changed_outputs"):
        return (f"{summary['stage']} run {summary['run_id']} changed no dataset (every partition is byte-identical "
                "to the previous run), so no downstream stage is started.")
    return None


def require_reconciled(summary: Mapping[str, Any]) -> dict:
    """Fail the run with an operator sentence unless every row is accounted for."""
    from contracts.errors import JuminzeiError

    if not summary.get("reconciles"):
        counts = summary.get("counts", {})
        raise JuminzeiError(
            f"{summary['stage']} {summary['municipality']}/{summary['fiscal_year']} run {summary['run_id']}: "
            f"row counts do not reconcile (received={counts.get('received')}, staged={counts.get('staged')}, "
            f"quarantined={counts.get('quarantined')}, forwarded={counts.get('forwarded')}); "
            f"see {summary.get('report_path')}"
        )
    return dict(summary)


def run_stage_task(run: dict) -> dict:
    """The body of every DAG's stage task: run the stage (:func:`run_stage`); an operator error (bad
    input, bad configuration, a stopped dispatch: a :class:`JuminzeiError`) fails the task for good, as a
    retry five minutes later would stop the same way; a full or unwritable lake (:class:`StorageError`) and any
    other exception (a lost worker) keep the DAG's retries, the former with its operator sentence and no
    traceback. Imports happen at call time (the DAG file stays light)."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    from contracts.errors import JuminzeiError, StorageError

    try:
        return run_stage(run)
    except StorageError as error:  # space may be freed before the retry
        raise AirflowException(str(error)) from None
    except JuminzeiError as error:
        raise AirflowFailException(str(error)) from None
