"""notice_export — 徴収方法, 期割 and the notices (当初賦課 dispatch in June, previews on every assessment).

Wiring only: the work is in `pipelines.notice_export` and `pipelines.runtime`.
"""

from __future__ import annotations

from airflow.sdk import Asset, Param, dag, task

from pipelines.dag_policy import DEFAULT_ARGS, START_DATE, asset_uri, run_params

DOC = """
### 徴収方法・期割・通知書 (notice export)

Decides for every person with tax how it is collected — 給与特別徴収 by the employer of the main salary
report (its 指定番号), 年金特別徴収 by the pension insurer for those on the 特別徴収対象者 list, 普通徴収
for the rest — and splits each route into its installments (普通徴収 4 期, 給与 12 months, 年金 仮徴収・
本徴収), with the rules of `rules/installments/` and the municipality's profile.

**Dry run is the default.** A run started by a new assessment, or by hand without unticking *Dry run*,
computes and checks everything and renders the notice files under `preview/` only (with a sample of 20
notices as PDF to look at). Sending needs an operator to untick it: the hand-off folders (print vendor,
eLTAX, other municipalities) are then written under `exports/` with their manifests; the report records
who chose it. Dispatch stops (fail-closed) when the DV等支援措置 list is missing, empty
where last year's was not, older than the profile allows on the notice date, or has a record that
cannot be read. Report: `juminzei status`; docs/notice-export.md.
"""


@dag(
    dag_id="notice_export",
    # A new assessment gives a preview (dry run by default); the dispatch itself is an operator's manual run.
    schedule=Asset(asset_uri("curated", "tax_assessment")),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["juminzei", "cycle:notice", "pii"],
    doc_md=DOC,
    params={
        name: Param(**spec)
        for name, spec in run_params(
            "Compute and check everything and render the notices under preview/ only. Untick to dispatch (hand off).",
            dry_run_default=True,
            notice_date={
                "default": "",
                "type": "string",
                "pattern": "^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                "title": "Notice date (通知日)",
                "description": "The day the notices go out (YYYY-MM-DD); the DV等支援措置 list must be fresh "
                "on that day. Empty: today (Asia/Tokyo).",
            },
            pension_switch_month={
                "default": "",
                "type": "string",
                "pattern": "^$|^[0-9]{4}-(0[1-9]|1[0-2])$",
                "title": "Pension switch month (年金特徴 中止月)",
                "description": "Send instead the 納税通知書 (変更) of the persons whose pension withholding moved to "
                "普通徴収 in this month (YYYY-MM), dated as the switch. Empty: the 当初賦課 notices.",
            },
        ).items()
    },
)
def notice_export():
    @task
    def resolve_run(**context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from contracts.errors import RunSkipped
        from pipelines.runtime import resolve_dag_run

        try:  # late scheduled runs skip; Asset-started runs take the partition of their events
            return resolve_dag_run("notice_export", context)
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    @task
    def export(run: dict) -> dict:
        from pipelines.runtime import run_stage_task

        return run_stage_task(run)  # an operator error fails at once, without retries

    @task
    def check_reconciliation(summary: dict) -> dict:
        from pipelines.runtime import require_reconciled

        return require_reconciled(summary)

    @task(outlets=[Asset(asset_uri("curated", "collection_plan")), Asset(asset_uri("curated", "installment_schedule"))])
    def publish(summary: dict, **context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from contracts.errors import RunSkipped
        from pipelines.runtime import publish_asset_events

        try:  # no events (nothing starts downstream) for a dry run or a run that changed nothing
            return publish_asset_events(summary, context["task"].outlets, context["outlet_events"])
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    publish(check_reconciliation(export(resolve_run())))


notice_export()
