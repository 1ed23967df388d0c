"""tax_assessment — 税額計算 (当初賦課 in May, then on every change of the taxation basis).

Wiring only: the work is in `pipelines.tax_assessment` and `pipelines.runtime`.
"""

from __future__ import annotations

from airflow.sdk import Asset, Param, dag, task

from pipelines.dag_policy import DEFAULT_ARGS, START_DATE, asset_uri, run_params

DOC = """
### 税額計算 (tax assessment)

Computes 個人住民税 for every person of the taxation basis of one fiscal year: 所得 (給与, 公的年金等,
事業, 不動産, 配当, 雑, 一時), every 所得控除, 課税標準, 所得割 per levy, 調整控除, 配当控除, 住宅借入金等
特別税額控除, 寄附金税額控除 (ふるさと納税 特例控除・申告特例控除), 非課税, 均等割 and 森林環境税, with the
rules of `rules/fiscal_year_N.yaml` and the municipality's profile. Operators trigger the 当初賦課 in
May; the DAG also runs whenever `record_merge` rewrites the basis (the output is replaced
atomically; unchanged inputs leave it byte-identical). `juminzei explain --fiscal-year N --atena-no X`
prints one person's computation sheet. Report and validation (Data Docs): `juminzei status`.
"""

BASIS = ("taxation_basis", "taxation_basis_relatives")


@dag(
    dag_id="tax_assessment",
    # Recompute when the merged basis changes; the 当初賦課 itself is an operator's manual trigger.
    schedule=Asset(asset_uri("curated", "taxation_basis")) | Asset(asset_uri("curated", "taxation_basis_relatives")),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["juminzei", "cycle:assessment", "pii"],
    doc_md=DOC,
    params={
        name: Param(**spec)
        for name, spec in run_params("Compute and check only; write nothing but the run report and its validation report (Data Docs).").items()
    },
)
def tax_assessment():
    @task
    def resolve_run(**context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from contracts.errors import RunSkipped
        from pipelines.runtime import resolve_dag_run

        try:  # late scheduled runs skip; Asset-started runs take the partition of their events
            return resolve_dag_run("tax_assessment", context)
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    @task
    def assess(run: dict) -> dict:
        from pipelines.runtime import run_stage_task

        return run_stage_task(run)  # an operator error fails at once, without retries

    @task
    def check_reconciliation(summary: dict) -> dict:
        from pipelines.runtime import require_reconciled

        return require_reconciled(summary)

    @task(outlets=[Asset(asset_uri("curated", "tax_assessment"))])
    def publish(summary: dict, **context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from contracts.errors import RunSkipped
        from pipelines.runtime import publish_asset_events

        try:  # no events (nothing starts downstream) for a dry run or a run that changed nothing
            return publish_asset_events(summary, context["task"].outlets, context["outlet_events"])
        except RunSkipped as skipped:
            raise AirflowSkipException(str(skipped)) from None

    publish(check_reconciliation(assess(resolve_run())))


tax_assessment()
