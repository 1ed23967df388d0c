"""returns_ingest — the return-ingest window (課税資料の受付, 宛名付設, 回送, 住登外).

Wiring only: the work is in `pipelines.returns_ingest` and `pipelines.runtime`.
"""

from __future__ import annotations

from airflow.sdk import Asset, MultipleCronTriggerTimetable, Param, dag, task

from pipelines.dag_policy import DEFAULT_ARGS, START_DATE, asset_uri, run_params

STAGED = (
    "salary_reports", "salary_summaries", "pension_reports", "etax_returns", "resident_returns",
    "furusato_notices", "etax_dependants", "document_relatives", "review_queue", "non_registered_candidates",
)

DOC = """
### 課税資料の取込 (January–April daily, then weekly)

Parses every new file in `landing/` (給与支払報告書 and 総括表, 公的年金等支払報告書, 確定申告書 e-Tax XML,
特別区民税・都民税申告書, 申告特例通知書), skips files delivered twice (same bytes, any name), quarantines
malformed records with a reason, keeps every 訂正/取消 version, ties each document to a 宛名番号
(My Number through the vault with a 5情報 check, else 4情報 with a score and evidence; weak or
conflicting matches go to the review queue), forwards documents of people not resident on 1 January
(回送) and lists 住登外 candidates. The spouse/dependants an e-Tax return names are staged beside it
(`etax_dependants`), tied to a 宛名番号 by their My Number with the same 5情報 check; the 5th and further
dependants a 給与支払報告書 or 住民税申告書 lists as '(個人番号)氏名' text are staged the same way
(`document_relatives`). An invalid optional value is emptied with a warning
(`quarantine/returns_ingest_warnings`) instead of holding the record. Needs the `resident_snapshot` of the same fiscal year.
Report: `<lake>/reports/returns_ingest/`; `juminzei status` shows it.
"""


@dag(
    dag_id="returns_ingest",
    # Daily 07:00 in the filing season (January–April), then weekly on Mondays for late documents.
    schedule=MultipleCronTriggerTimetable("0 7 * 1-4 *", "0 7 * 5-12 1", timezone="Asia/Tokyo"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["juminzei", "cycle:ingest", "my_number", "pii"],
    doc_md=DOC,
    params={
        name: Param(**spec)
        for name, spec in run_params(
            "Parse, match and count only; write nothing but the run report (the ledger is not updated).",
            landing={
                "default": "",
                "type": "string",
                "title": "Landing folder",
                "description": "Folder holding <source>/municipality=M/fiscal_year=N/ deliveries. "
                "Empty: the lake's landing zone.",
            },
        ).items()
    },
)
def returns_ingest():
    @task
    def resolve_run(**context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from contracts.errors import RunSkipped
        from pipelines.runtime import resolve_dag_run

        try:  # late scheduled runs skip; Asset-started runs take the partition of their events
            return resolve_dag_run("returns_ingest", context)
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    @task
    def ingest(run: dict) -> dict:
        from pipelines.runtime import run_stage_task

        return run_stage_task(run)  # an operator error fails at once, without retries

    @task
    def check_reconciliation(summary: dict) -> dict:
        from pipelines.runtime import require_reconciled

        return require_reconciled(summary)

    @task(outlets=[Asset(asset_uri("staging", name)) for name in STAGED] + [Asset(asset_uri("curated", "forwarding"))])
    def publish(summary: dict, **context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from contracts.errors import RunSkipped
        from pipelines.runtime import publish_asset_events

        try:  # no events (nothing starts downstream) for a dry run or a run that changed nothing
            return publish_asset_events(summary, context["task"].outlets, context["outlet_events"])
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    publish(check_reconciliation(ingest(resolve_run())))


returns_ingest()
