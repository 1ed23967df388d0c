"""pension_special_collection — the monthly 年金特徴 exchange with the pension insurers (公的年金からの特別徴収).

Wiring only: the work is in `pipelines.pension_special_collection` and `pipelines.runtime`.
"""

from __future__ import annotations

from airflow.sdk import Asset, CronTriggerTimetable, Param, dag, task

from pipelines.dag_policy import DEFAULT_ARGS, START_DATE, asset_uri, run_params

DOC = """
### 年金特別徴収 (pension special collection), one month at a time

Reads the files the pension insurers delivered in the month (`landing/pension_exchange/…/month=YYYY-MM/`):
特別徴収対象者情報 in May, the answers to the ward's notices, the 特別徴収結果通知 of odd months. A file whose
length, record order or trailer totals are wrong is quarantined whole, with its reason. The May file's
pensioners are tied to 宛名番号 (基礎年金番号 and 4情報, ambiguous ones to the review queue); in July the
依頼通知 and next year's 仮徴収 go to each insurer (a hand-off under `exports/pension_insurers/`); every
month the answers and results are reconciled with what was asked, and a withholding that stopped moves its
remainder to 普通徴収 with new installments.

**Dry run is the default** (files leave the building): the monthly scheduled run shows what arrived and what
would happen. Untick *Dry run* to process the month. Months run in order. Report: `juminzei status`;
docs/pension-exchange.md.
"""


@dag(
    dag_id="pension_special_collection",
    # the 25th of every month: the insurers' files of the month are in (特別徴収対象者情報 by 25 May)
    schedule=CronTriggerTimetable("0 7 25 * *", timezone="Asia/Tokyo"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["juminzei", "cycle:collection", "pii", "outward"],
    doc_md=DOC,
    params={
        name: Param(**spec)
        for name, spec in run_params(
            "Read, check and reconcile the month without writing or sending anything. Untick to process it.",
            dry_run_default=True,
            processing_month={
                "default": "",
                "type": "string",
                "pattern": "^$|^[0-9]{4}-(0[1-9]|1[0-2])$",
                "title": "Processing month (処理月)",
                "description": "The month of the exchange (YYYY-MM). Empty: the month of the run date (Asia/Tokyo); "
                "January to March belong to the 年度 of the year before.",
            },
        ).items()
    },
)
def pension_special_collection():
    @task
    def resolve_run(**context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from contracts.errors import RunSkipped
        from pipelines.runtime import resolve_dag_run

        try:  # late scheduled runs skip
            return resolve_dag_run("pension_special_collection", context)
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    @task
    def exchange(run: dict) -> dict:
        from pipelines.runtime import run_stage_task

        return run_stage_task(run)  # an operator error fails at once, without retries

    @task
    def check_reconciliation(summary: dict) -> dict:
        from pipelines.runtime import require_reconciled

        return require_reconciled(summary)

    @task(outlets=[Asset(asset_uri("curated", "pension_targets")),
                   Asset(asset_uri("curated", "pension_switch_installments"))])
    def publish(summary: dict, **context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from contracts.errors import RunSkipped
        from pipelines.runtime import publish_asset_events

        try:  # no events for a dry run or a run that changed nothing
            return publish_asset_events(summary, context["task"].outlets, context["outlet_events"])
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    publish(check_reconciliation(exchange(resolve_run())))


pension_special_collection()
