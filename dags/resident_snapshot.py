"""resident_snapshot — the 1 January resident snapshot (賦課期日, 地方税法第39条・第318条).

Wiring only: the work is in `pipelines.resident_snapshot` and `pipelines.runtime`.
"""

from __future__ import annotations

from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task

from pipelines.dag_policy import DEFAULT_ARGS, START_DATE, asset_uri, run_params

STAGED = ("residents", "households", "welfare_status", "disability_status")

DOC = """
### 住民記録 snapshot as of 1 January (賦課期日)

Reads the registry extract, the My Number file and the 生活保護 (生活扶助) and 障害者 lists from
`landing/`, quarantines malformed rows with a reason, and writes staging `residents`, `households`,
`welfare_status`, `disability_status` and the encrypted My Number vault for one municipality and
fiscal year. Runs yearly on 4 January 06:00 Asia/Tokyo for the new fiscal year; operators can run it
by hand with the form (fiscal year, dry run). The run report is under
`<lake>/reports/resident_snapshot/`; `juminzei status` shows it.
"""


@dag(
    dag_id="resident_snapshot",
    schedule=CronTriggerTimetable("0 6 4 1 *", timezone="Asia/Tokyo"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["juminzei", "cycle:snapshot", "my_number", "pii"],
    doc_md=DOC,
    params={
        name: Param(**spec)
        for name, spec in run_params("Validate and count only; write nothing but the run report.").items()
    },
)
def resident_snapshot():
    @task
    def resolve_run(**context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from pipelines.runtime import late_schedule_reason, resolve_run_config, scope_from_asset_events

        if reason := late_schedule_reason(context["dag_run"].run_type, context.get("logical_date")):
            raise AirflowSkipException(reason)  # every later task is skipped with it
        # Started by an Asset event: work on the partition the upstream run rewrote.
        events = context.get("triggering_asset_events") or {}
        scope = scope_from_asset_events(e.extra for batch in events.values() for e in batch)
        return resolve_run_config("resident_snapshot", {**context["params"], **scope}, context.get("logical_date"))

    @task
    def take_snapshot(run: dict) -> dict:
        from pipelines.runtime import run_stage

        return run_stage(run)

    @task
    def check_reconciliation(summary: dict) -> dict:
        from pipelines.runtime import require_reconciled

        return require_reconciled(summary)

    @task(outlets=[Asset(asset_uri("staging", name)) for name in STAGED])
    def publish(summary: dict, **context) -> dict:
        # Asset events start the downstream DAGs: none for a dry run or a run that changed nothing.
        from airflow.sdk.exceptions import AirflowSkipException

        from pipelines.runtime import asset_event_extra, publish_skip_reason

        reason = publish_skip_reason(summary)
        if reason:
            raise AirflowSkipException(reason)
        extra = asset_event_extra(summary)  # the partition rewritten, read by the DAGs this starts
        for asset in context["task"].outlets:
            context["outlet_events"][asset].extra.update(extra)
        return summary

    publish(check_reconciliation(take_snapshot(resolve_run())))


resident_snapshot()
