"""The run key and the glue between Airflow (or the CLI) and a stage: `pipelines.runtime`.

What an operator's trigger may contain, which fiscal year a run works on, and when a run may start the
downstream stages (its Asset events).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from contracts.errors import ConfigError, JuminzeiError
from pipelines.runtime import (
    check_param_names,
    publish_skip_reason,
    require_reconciled,
    resolve_fiscal_year,
    resolve_run_config,
)
from pipelines.stages import STAGES, allowed_params

NOW = datetime(2026, 5, 20, 3, 0, tzinfo=timezone.utc)


# ------------------------------------------------------------------------------------ configuration keys
def test_misspelled_key_is_refused_with_the_key_and_the_allowed_ones():
    with pytest.raises(ConfigError) as caught:
        resolve_run_config("record_merge", {"fiscal_yaer": 2026}, now=NOW)
    sentence = str(caught.value)
    assert "'fiscal_yaer'" in sentence and "did you mean 'fiscal_year'" in sentence
    assert "fiscal_year, municipality, dry_run" in sentence


def test_an_option_of_another_stage_is_refused():
    """`landing` belongs to returns_ingest only; resident_snapshot must not silently ignore it."""
    with pytest.raises(ConfigError, match="'landing'"):
        check_param_names("resident_snapshot", {"fiscal_year": 2026, "landing": "/tmp/x"})
    check_param_names("returns_ingest", {"fiscal_year": 2026, "landing": ""})  # allowed there


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_stage_accepts_its_own_form(stage):
    form = {key: None for key in allowed_params(stage)} | {"dry_run": False}
    run = resolve_run_config(stage, form, now=NOW)
    assert run["stage"] == stage and run["dry_run"] is False


# ------------------------------------------------------------------------------------------ fiscal year
def test_fiscal_year_follows_the_run_date_in_tokyo():
    """年度 N is assessed on residence on 1 January N (地方税法第39条・第318条): a run dated 1 January 00:30
    in Tokyo (still 31 December in UTC) works on the new year."""
    new_year_in_tokyo = datetime(2025, 12, 31, 15, 30, tzinfo=timezone.utc)  # 2026-01-01 00:30 JST
    assert resolve_fiscal_year(None, new_year_in_tokyo, NOW) == 2026
    assert resolve_fiscal_year(None, None, new_year_in_tokyo) == 2026
    last_evening = datetime(2025, 12, 31, 14, 59, tzinfo=timezone.utc)  # 2025-12-31 23:59 JST
    assert resolve_fiscal_year(None, last_evening, NOW) == 2025


def test_explicit_fiscal_year_wins_and_is_checked():
    assert resolve_fiscal_year(2027, None, NOW) == 2027
    assert resolve_fiscal_year("2025", None, NOW) == 2025
    for bad in (1999, "twenty", 2026.5):
        with pytest.raises(ConfigError):
            resolve_fiscal_year(bad, None, NOW)


# -------------------------------------------------------------------------------------- Asset events
def _summary(**changes) -> dict:
    base = {"stage": "resident_snapshot", "run_id": "20260520T030000Z-resident_snapshot-0000abcd",
            "dry_run": False, "changed_outputs": ["staging/residents"]}
    return {**base, **changes}


def test_a_run_that_replaced_a_partition_publishes():
    assert publish_skip_reason(_summary()) is None


def test_a_dry_run_never_publishes():
    assert "dry run" in publish_skip_reason(_summary(dry_run=True))
    assert "dry run" in publish_skip_reason(_summary(dry_run=True, changed_outputs=[]))


def test_an_unchanged_rerun_does_not_publish():
    assert "changed no dataset" in publish_skip_reason(_summary(changed_outputs=[]))


# ------------------------------------------------------------------------------------- reconciliation
def test_a_run_that_does_not_reconcile_fails_with_its_counts():
    summary = {"stage": "returns_ingest", "municipality": "131032", "fiscal_year": 2026, "run_id": "r",
               "reconciles": False, "report_path": "/lake/reports/x.json",
               "counts": {"received": 10, "staged": 8, "quarantined": 1, "forwarded": 0}}
    with pytest.raises(JuminzeiError, match="received=10, staged=8, quarantined=1"):
        require_reconciled(summary)
    assert require_reconciled({**summary, "reconciles": True})["stage"] == "returns_ingest"


# ------------------------------------------------------------------------------------ late schedules
def test_a_scheduled_run_started_long_after_its_time_does_nothing():
    """Unpausing resident_snapshot in December makes Airflow start the run of the last 4 January (catchup off);
    that run must not redo the snapshot for real."""
    from pipelines.runtime import LATE_SCHEDULE_GRACE_DAYS, late_schedule_reason

    jan4 = datetime(2026, 1, 3, 21, 0, tzinfo=timezone.utc)  # 2026-01-04 06:00 Asia/Tokyo
    december = datetime(2026, 12, 6, 5, 0, tzinfo=timezone.utc)
    reason = late_schedule_reason("scheduled", jan4, december)
    assert "2026-01-04 06:00 (Asia/Tokyo)" in reason and "336 days late" in reason and "trigger the DAG by hand" in reason
    on_time = jan4.replace(hour=23)
    assert late_schedule_reason("scheduled", jan4, on_time) is None
    assert late_schedule_reason("scheduled", jan4, jan4.replace(day=3 + LATE_SCHEDULE_GRACE_DAYS)) is None
    for other in ("manual", "asset_triggered", None):  # an operator's or an Asset's run is never late
        assert late_schedule_reason(other, jan4, december) is None


# ------------------------------------------------------------------------- Asset-triggered runs
def test_an_asset_triggered_run_works_on_the_partition_its_events_name():
    """A snapshot run by hand for 年度2025 in May 2026 must start a record_merge for 2025, not for the year of
    the run date: the events carry the partition, and resolve_run lays it over the form's defaults."""
    from pipelines.runtime import asset_event_extra, scope_from_asset_events

    summary = {"stage": "resident_snapshot", "municipality": "131032", "fiscal_year": 2025, "run_id": "r1"}
    extra = asset_event_extra(summary)
    scope = scope_from_asset_events([extra, dict(extra, run_id="r2"), None, {}])
    assert scope == {"municipality": "131032", "fiscal_year": 2025}
    form_defaults = {"fiscal_year": None, "municipality": "131032", "dry_run": False}
    run = resolve_run_config("record_merge", {**form_defaults, **scope}, now=NOW)  # NOW is in 2026
    assert run["fiscal_year"] == 2025
    assert scope_from_asset_events([None, {"note": "created by hand in the UI"}]) == {}


def test_events_of_two_partitions_are_not_guessed_into_one_run():
    from pipelines.runtime import scope_from_asset_events

    with pytest.raises(ConfigError, match="131032/2025, 131032/2026"):
        scope_from_asset_events([{"municipality": "131032", "fiscal_year": 2026},
                                 {"municipality": "131032", "fiscal_year": 2025}])


# ------------------------------------------------------------------ the first and last task of a DAG
class _Run:
    def __init__(self, run_type):
        self.run_type = run_type


class _Event:
    def __init__(self, extra):
        self.extra = extra


class _Outlet:
    def __init__(self):
        self.extra = {}


def test_the_first_task_resolves_skips_late_schedules_and_follows_events():
    from contracts.errors import RunSkipped
    from pipelines.runtime import resolve_dag_run

    form = {"fiscal_year": None, "municipality": "131032", "dry_run": False}
    late = {"params": form, "dag_run": _Run("scheduled"), "logical_date": datetime(2025, 1, 3, 21, tzinfo=timezone.utc)}
    with pytest.raises(RunSkipped, match="days late"):
        resolve_dag_run("resident_snapshot", late)
    events = {"asset": [_Event({"municipality": "131032", "fiscal_year": 2025, "stage": "resident_snapshot",
                                "run_id": "r"})]}
    started = {"params": form, "dag_run": _Run("asset_triggered"), "logical_date": None,
               "triggering_asset_events": events}
    assert resolve_dag_run("record_merge", started)["fiscal_year"] == 2025


def test_a_scheduled_collection_run_on_a_holiday_does_nothing_and_one_by_hand_works():
    """The collection DAG is scheduled Monday to Friday; 2026-11-03 (文化の日, a Tuesday: 国民の祝日に関する法律) and
    2026-12-29 (a Tuesday of the year-end closure, 地方税法施行令第6条の18) are no business days: their scheduled
    runs skip. A run triggered by hand on them, and a scheduled run of another stage, are not affected."""
    from contracts.errors import RunSkipped
    from pipelines.runtime import closed_day_reason, resolve_dag_run

    form = {"fiscal_year": 2026, "municipality": "131032", "dry_run": False, "processing_day": ""}
    for utc in (datetime(2026, 11, 2, 23, tzinfo=timezone.utc), datetime(2026, 12, 28, 23, tzinfo=timezone.utc)):
        with pytest.raises(RunSkipped, match="not a business day"):
            resolve_dag_run("collection", {"params": form, "dag_run": _Run("scheduled"), "logical_date": utc})
        assert closed_day_reason("collection", "manual", utc) is None
        assert closed_day_reason("notice_export", "scheduled", utc) is None
    # Wednesday 2026-11-04 08:00 JST is a business day
    assert closed_day_reason("collection", "scheduled", datetime(2026, 11, 3, 23, tzinfo=timezone.utc)) is None


def test_the_last_task_puts_the_partition_on_every_event_or_skips():
    from contracts.errors import RunSkipped
    from pipelines.runtime import publish_asset_events

    summary = {"stage": "record_merge", "municipality": "131032", "fiscal_year": 2025, "run_id": "r",
               "dry_run": False, "changed_outputs": ["curated/taxation_basis"]}
    outlets = ["a", "b"]
    events = {name: _Outlet() for name in outlets}
    publish_asset_events(summary, outlets, events)
    assert all(e.extra == {"stage": "record_merge", "municipality": "131032", "fiscal_year": 2025, "run_id": "r"}
               for e in events.values())
    with pytest.raises(RunSkipped, match="dry run"):
        publish_asset_events({**summary, "dry_run": True}, outlets, {name: _Outlet() for name in outlets})


def test_a_monthly_run_takes_the_month_of_its_date_in_tokyo_and_its_fiscal_year_from_april():
    """The 年度 runs April to March (地方自治法第208条第1項, 会計年度): a pension run dated in January 2027
    works on the 2026 年度; 31 March 2027 15:30 UTC is already 1 April in Tokyo, the 2027 年度."""
    january = resolve_run_config("pension_special_collection", {}, datetime(2027, 1, 24, 22, 0, tzinfo=timezone.utc))
    assert (january["fiscal_year"], january["options"]["processing_month"]) == (2026, "2027-01")
    april = resolve_run_config("pension_special_collection", {}, datetime(2027, 3, 31, 15, 30, tzinfo=timezone.utc))
    assert (april["fiscal_year"], april["options"]["processing_month"]) == (2027, "2027-04")
    named = resolve_run_config("pension_special_collection", {"processing_month": "2027-02"},
                               datetime(2027, 5, 1, tzinfo=timezone.utc))
    assert (named["fiscal_year"], named["options"]["processing_month"]) == (2026, "2027-02")
    with pytest.raises(ConfigError, match="YYYY-MM"):
        resolve_run_config("pension_special_collection", {"processing_month": "2027-13"})
    with pytest.raises(ConfigError, match="not a month of the 2026 年度"):  # February 2026 is in 2025's
        resolve_run_config("pension_special_collection", {"fiscal_year": 2026, "processing_month": "2026-02"})
