"""collection — 収納管理: the daily posting runs of the collection ledger (調定, 消込, 充当・還付, 督促).

Wiring only: the work is in `pipelines.collection` and `pipelines.runtime`.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from pipelines.dag_policy import DEFAULT_ARGS, START_DATE, asset_uri, run_params

DOC = """
### 収納管理 (collection accounting), one posting run a day

Posts every day since the last posting run up to the processing day, in order, each an append-only partition
of `curated/collection_ledger`: the 調定 of the dispatched notices (and their changes when a pension
withholding moved to 普通徴収), the payment files delivered that day (`landing/payments/…/day=YYYY-MM-DD/`:
コンビニ 速報・確報, MPN, eL-QR, 窓口, 特別徴収 納入) matched to their 期 (消込) or held in suspense (未特定入金)
or quarantined with a reason, 過誤納 充当 and 還付 with 還付加算金, and the 督促 of the 期 still unpaid after
their 納期限 with the 延滞金 of the day.

Runs on business days at 08:00 (Asia/Tokyo; a holiday's scheduled run skips) and when the notices are
dispatched. A posted day is never changed:
a late file goes into the folder of the day it arrives. Report: `juminzei status`; `juminzei account`;
docs/collection.md.
"""


@dag(
    dag_id="collection",
    # every weekday morning, and at once when a dispatch (or a pension switch) changes what is owed
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 8 * * 1-5", timezone="Asia/Tokyo"),
        assets=Asset(asset_uri("curated", "installment_schedule"))
        | Asset(asset_uri("curated", "pension_switch_installments")),
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["juminzei", "cycle:collection", "pii"],
    doc_md=DOC,
    params={
        name: Param(**spec)
        for name, spec in run_params(
            "Read, match and reconcile the pending days without posting anything.",
            processing_day={
                "default": "",
                "type": "string",
                "pattern": "^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                "title": "Processing day (処理日)",
                "description": "Post every pending day up to this one (YYYY-MM-DD). Empty: the run date (Asia/Tokyo); "
                "January to May belong to the 年度 of the year before unless a fiscal year is given.",
            },
        ).items()
    },
)
def collection():
    @task
    def resolve_run(**context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from contracts.errors import RunSkipped
        from pipelines.runtime import resolve_dag_run

        try:  # late scheduled runs skip
            return resolve_dag_run("collection", context)
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    @task
    def post(run: dict) -> dict:
        from pipelines.runtime import run_stage_task

        return run_stage_task(run)  # an operator error fails at once, without retries

    @task
    def check_reconciliation(summary: dict) -> dict:
        from pipelines.runtime import require_reconciled

        return require_reconciled(summary)

    @task(outlets=[Asset(asset_uri("curated", "collection_ledger"))])
    def publish(summary: dict, **context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from contracts.errors import RunSkipped
        from pipelines.runtime import publish_asset_events

        try:  # no events for a dry run or a run that changed nothing
            return publish_asset_events(summary, context["task"].outlets, context["outlet_events"])
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    publish(check_reconciliation(post(resolve_run())))


collection()
