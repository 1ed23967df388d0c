"""resident_snapshot — the 1 January resident snapshot (賦課期日, 地方税法第39条・第318条).

Wiring only: the work is in `pipelines.resident_snapshot` and `pipelines.runtime`.
"""

from __future__ import annotations

from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task

from pipelines.dag_policy import DEFAULT_ARGS, START_DATE, asset_uri, run_params

STAGED = ("residents", "households", "welfare_status", "disability_status", "non_registered_residents")

DOC = """
### 住民記録 snapshot as of 1 January (賦課期日)

Reads the registry extract, the My Number file, the 生活保護 (生活扶助) and 障害者 lists and the
住登外者 register (optional) from `landing/`, quarantines malformed rows with a reason, and writes staging
`residents` (住登外者 included), `households`, `welfare_status`, `disability_status`,
`non_registered_residents` and the encrypted My Number vault for one municipality and fiscal year. Runs yearly on 4 January 06:00 Asia/Tokyo for the new fiscal year; operators can run it
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

        from contracts.errors import RunSkipped
        from pipelines.runtime import resolve_dag_run

        try:  # late scheduled runs skip; Asset-started runs take the partition of their events
            return resolve_dag_run("resident_snapshot", context)
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    @task
    def take_snapshot(run: dict) -> dict:
        from pipelines.runtime import run_stage_task

        return run_stage_task(run)  # an operator error fails at once, without retries

    @task
    def check_reconciliation(summary: dict) -> dict:
        from pipelines.runtime import require_reconciled

        return require_reconciled(summary)

    @task(outlets=[Asset(asset_uri("staging", name)) for name in STAGED])
    def publish(summary: dict, **context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from contracts.errors import RunSkipped
        from pipelines.runtime import publish_asset_events

        try:  # no events (nothing starts downstream) for a dry run or a run that changed nothing
            return publish_asset_events(summary, context["task"].outlets, context["outlet_events"])
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    publish(check_reconciliation(take_snapshot(resolve_run())))


resident_snapshot()
