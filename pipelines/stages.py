"""The stages of the yearly cycle that can be run by name (CLI `juminzei run`, DAG tasks, demo).

Each entry maps a stage name to the dotted path of its ``run(*, fiscal_year, municipality, settings,
run_id, dry_run) -> dict`` function, which returns the stage's run report (docs/run-report.md).
Imports are lazy so that listing stages stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable

STAGES: dict[str, str] = {
    "resident_snapshot": "pipelines.resident_snapshot:run",
    "returns_ingest": "pipelines.returns_ingest:run",
    "record_merge": "pipelines.record_merge:run",
    "tax_assessment": "pipelines.tax_assessment:run",
    "notice_export": "pipelines.notice_export:run",
    "pension_special_collection": "pipelines.pension_special_collection:run",
    "collection": "pipelines.collection:run",
}


#: The run configuration every stage takes (the DAGs' operator form, ``pipelines.dag_policy.run_params``).
COMMON_PARAMS: tuple[str, ...] = ("fiscal_year", "municipality", "dry_run")
#: What a stage takes beyond :data:`COMMON_PARAMS` (its ``run`` function's keyword arguments of the same names).
#: stages whose run report records who requested the run (the dispatch of notices is an operator's choice)
RECORDS_REQUESTER = frozenset({"notice_export"})
#: stages whose scheduled runs work on business days only (a holiday's scheduled run is skipped)
BUSINESS_DAY_STAGES = frozenset({"collection"})

STAGE_OPTIONS: dict[str, tuple[str, ...]] = {
    "returns_ingest": ("landing",),
    "notice_export": ("notice_date", "pension_switch_month"),
    "pension_special_collection": ("processing_month",),
    "collection": ("processing_day",),
}


def allowed_params(stage: str) -> tuple[str, ...]:
    """The configuration keys a run of ``stage`` accepts, in form order."""
    return (*COMMON_PARAMS, *STAGE_OPTIONS.get(stage, ()))


def stage_runner(stage: str) -> Callable[..., dict]:
    """Return the run function of ``stage`` or raise a ConfigError that lists the known stages."""
    from contracts.errors import ConfigError

    try:
        target = STAGES[stage]
    except KeyError:
        known = ", ".join(sorted(STAGES))
        raise ConfigError(f"unknown stage {stage!r}; known stages: {known}") from None
    module_name, _, attribute = target.partition(":")
    return getattr(import_module(module_name), attribute)
