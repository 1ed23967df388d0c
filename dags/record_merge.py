"""record_merge — 資料併合: one taxation basis per person and fiscal year.

Wiring only: the work is in `pipelines.record_merge` and `pipelines.runtime`.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetAny, Param, dag, task

from pipelines.dag_policy import DEFAULT_ARGS, START_DATE, asset_uri, run_params

# Staged datasets whose update triggers a merge (written by resident_snapshot and returns_ingest).
READS = (
    "residents", "disability_status", "welfare_status",
    "salary_reports", "pension_reports", "etax_returns", "resident_returns", "furusato_notices", "etax_dependants",
    "document_relatives", "review_queue",
)
# Operators' decisions (`juminzei review decide`, curated zone). The CLI runs outside Airflow and emits no
# Asset event: after deciding, trigger this DAG (or run `juminzei run record_merge`), or create an event
# for this Asset in the UI; otherwise the next staged update picks the decisions up.
READS_CURATED = ("review_decisions",)
WRITES = ("taxation_basis", "taxation_basis_relatives", "basis_lineage", "merge_flags", "non_filers", "review_outcomes")

DOC = """
### 資料併合 (record merge)

Merges the staged documents of one fiscal year into one taxation basis per person resident on
1 January: 確定申告書 first, then 住民税申告書, else the sum of 給与支払報告書 / 公的年金等支払報告書;
a return voids the 申告特例通知書 (one-stop); only current versions count (訂正 replaces, 取消 removes).
Spouses and dependants are resolved to 宛名番号 where the match is unique. Writes the basis, the
relatives, the lineage of every document version, operator flags (扶養重複, 扶養否認 候補, review
pending, conflicting returns) and the 未申告 list, applying the operators' review decisions
(`juminzei review decide`; what each did: `curated/review_outcomes`). Runs when staged documents
change, or by hand — after recording decisions, trigger it.
Rules: `docs/record-merge.md`. Report: `<lake>/reports/record_merge/`.
"""


@dag(
    dag_id="record_merge",
    # Any update of a staged input (a new returns_ingest or resident_snapshot run) triggers a merge.
    schedule=AssetAny(*(Asset(asset_uri("staging", name)) for name in READS),
                      *(Asset(asset_uri("curated", name)) for name in READS_CURATED)),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["juminzei", "cycle:merge", "pii"],
    doc_md=DOC,
    params={
        name: Param(**spec)
        for name, spec in run_params("Merge and count only; write nothing but the run report and its validation report (Data Docs).").items()
    },
)
def record_merge():
    @task
    def resolve_run(**context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from contracts.errors import RunSkipped
        from pipelines.runtime import resolve_dag_run

        try:  # late scheduled runs skip; Asset-started runs take the partition of their events
            return resolve_dag_run("record_merge", context)
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    @task
    def merge(run: dict) -> dict:
        from pipelines.runtime import run_stage_task

        return run_stage_task(run)  # an operator error fails at once, without retries

    @task
    def check_reconciliation(summary: dict) -> dict:
        from pipelines.runtime import require_reconciled

        return require_reconciled(summary)

    @task(outlets=[Asset(asset_uri("curated", name)) for name in WRITES])
    def publish(summary: dict, **context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from contracts.errors import RunSkipped
        from pipelines.runtime import publish_asset_events

        try:  # no events (nothing starts downstream) for a dry run or a run that changed nothing
            return publish_asset_events(summary, context["task"].outlets, context["outlet_events"])
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    publish(check_reconciliation(merge(resolve_run())))


record_merge()
