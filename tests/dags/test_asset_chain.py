"""The Asset chain between the DAGs, read from the DagBag (no scheduler, no database).

Stages hand over through lake datasets: a DAG's ``publish`` task emits one Asset event per dataset it
rewrote, and a DAG scheduled on those Assets starts. The chain must be closed (every Asset a schedule
waits for is produced by an earlier DAG of the cycle) and exact (an update of each dataset starts exactly
the stages that read it). The expected consumers are written out here from the cycle
(docs/architecture.md §4: resident_snapshot → returns_ingest → record_merge → tax_assessment) and from
the datasets each stage reads, not from the DAG files under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.dag_policy import CYCLE_ORDER, asset_uri

REPO = Path(__file__).resolve().parents[2]
LAKE = "juminzei://lake/"

# Assets a schedule may name although no DAG emits them, with the reason: `juminzei review decide` (the CLI,
# outside Airflow) writes curated/review_decisions; an operator then triggers record_merge or creates the
# event in the UI (dags/record_merge.py, READS_CURATED).
PRODUCED_OUTSIDE_AIRFLOW = {asset_uri("curated", "review_decisions")}

# Which DAGs an update of each dataset must start (none: the dataset is read by people, not by a stage).
STAGING_READ_BY_MERGE = ("residents", "disability_status", "welfare_status", "salary_reports", "pension_reports",
                         "etax_returns", "resident_returns", "furusato_notices", "etax_dependants",
                         "document_relatives", "review_queue")
EXPECTED_CONSUMERS: dict[str, set[str]] = {
    **{asset_uri("staging", d): {"record_merge"} for d in STAGING_READ_BY_MERGE},
    asset_uri("staging", "households"): set(),               # the snapshot's own summary; merge reads residents
    asset_uri("staging", "non_registered_residents"): set(),  # 住登外者' 住民票: notice_export reads it after the assessment
    asset_uri("staging", "salary_summaries"): set(),         # 総括表: checked at ingest, not merged
    asset_uri("staging", "non_registered_candidates"): set(),  # 住登外 work list for operators
    asset_uri("curated", "forwarding"): set(),               # 回送 list for operators
    asset_uri("curated", "review_decisions"): {"record_merge"},
    asset_uri("curated", "taxation_basis"): {"tax_assessment"},
    asset_uri("curated", "taxation_basis_relatives"): {"tax_assessment"},
    asset_uri("curated", "basis_lineage"): set(),
    asset_uri("curated", "merge_flags"): set(),
    asset_uri("curated", "non_filers"): set(),
    asset_uri("curated", "review_outcomes"): set(),
    asset_uri("curated", "tax_assessment"): {"notice_export"},  # a preview (dry run by default) of the notices
    asset_uri("curated", "collection_plan"): set(),          # read by people (the notices print it)
    asset_uri("curated", "installment_schedule"): {"collection"},  # the 調定 of the dispatched notices
    asset_uri("curated", "pension_targets"): set(),          # read by notice_export's next run
    asset_uri("curated", "pension_switch_installments"): {"collection"},  # 普通徴収 after a stop: 増額・減額調定
    asset_uri("curated", "collection_ledger"): set(),        # the end of today's cycle: read by people and reports
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag


def _outlets(dag) -> set[str]:
    return {a.uri for task in dag.tasks for a in task.outlets}


def _condition(dag):
    """The Asset condition of a DAG's schedule, or None for a time-based schedule."""
    return getattr(dag.timetable, "asset_condition", None)


def _uris(condition) -> set[str]:
    if condition is None:
        return set()
    if hasattr(condition, "objects"):
        return set().union(*(_uris(o) for o in condition.objects))
    return {condition.uri}


def _fires(condition, updated: set[str]) -> bool:
    """Whether events for ``updated`` satisfy the condition (AssetAny: any part, AssetAll: every part)."""
    if condition is None:
        return False
    kind = type(condition).__name__
    if kind == "AssetAny":
        return any(_fires(o, updated) for o in condition.objects)
    if kind == "AssetAll":
        return all(_fires(o, updated) for o in condition.objects)
    return condition.uri in updated


def test_every_scheduled_asset_is_produced_upstream(dagbag):
    """A schedule on an Asset no DAG emits would never start; one emitted only downstream would start out of
    the cycle's order."""
    position = {dag_id: i for i, dag_id in enumerate(CYCLE_ORDER)}
    assert set(position) <= set(dagbag.dag_ids)
    producers = {uri: dag_id for dag_id, dag in dagbag.dags.items() for uri in _outlets(dag)}
    for dag_id, dag in dagbag.dags.items():
        for uri in _uris(_condition(dag)):
            assert uri.startswith(LAKE), f"{dag_id}: schedule names {uri}, not a lake dataset"
            if uri in PRODUCED_OUTSIDE_AIRFLOW:
                continue
            assert uri in producers, f"{dag_id} waits for {uri}, which no DAG emits"
            assert position[producers[uri]] < position[dag_id], f"{dag_id} waits for {uri} of a later stage"


def test_every_asset_is_produced_by_one_dag_only(dagbag):
    seen: dict[str, str] = {}
    for dag_id, dag in dagbag.dags.items():
        for uri in _outlets(dag):
            assert uri not in seen, f"{uri} is emitted by {seen[uri]} and {dag_id}"
            seen[uri] = dag_id


def test_an_update_starts_exactly_the_stages_that_read_it(dagbag):
    """One Asset event at a time, as a single stage run emits them: which DAGs would the scheduler start?"""
    outlets = set().union(*(_outlets(d) for d in dagbag.dags.values()))
    assert outlets | PRODUCED_OUTSIDE_AIRFLOW == set(EXPECTED_CONSUMERS), "update EXPECTED_CONSUMERS for a new dataset"
    for uri, expected in EXPECTED_CONSUMERS.items():
        started = {dag_id for dag_id, dag in dagbag.dags.items() if _fires(_condition(dag), {uri})}
        assert started == expected, f"an update of {uri} starts {sorted(started)}, expected {sorted(expected)}"


def test_each_stage_run_starts_the_next_stage_of_the_cycle(dagbag):
    """All the events of one successful run of each DAG (every outlet of its publish task) start exactly the
    next stage that depends on it: resident_snapshot and returns_ingest → record_merge → tax_assessment →
    notice_export → collection → none; a pension switch (pension_special_collection) → collection.
    returns_ingest is not started by the snapshot: it runs on its own schedule (the delivery window)."""
    expected = {"resident_snapshot": {"record_merge"}, "returns_ingest": {"record_merge"},
                "record_merge": {"tax_assessment"}, "tax_assessment": {"notice_export"},
                "notice_export": {"collection"}, "pension_special_collection": {"collection"}, "collection": set()}
    for producer, consumers in expected.items():
        events = _outlets(dagbag.dags[producer])
        started = {dag_id for dag_id, dag in dagbag.dags.items() if _fires(_condition(dag), events)}
        assert started == consumers, f"{producer} starts {sorted(started)}"
    assert _condition(dagbag.dags["resident_snapshot"]) is None and _condition(dagbag.dags["returns_ingest"]) is None


def test_schedules_and_outlets_match_what_the_stages_read_and_write(dagbag):
    """The DAG files repeat dataset names that the stage modules own: they must agree, or a stage would read a
    dataset whose update does not start it (or announce one it does not write)."""
    from pipelines import notice_export, record_merge, tax_assessment

    merge = dagbag.dags["record_merge"]
    assert _uris(_condition(merge)) == {asset_uri("staging", d) for d in record_merge.INPUT_DATASETS} | {
        asset_uri("curated", "review_decisions")}
    assert _outlets(merge) == {asset_uri("curated", d) for d in record_merge.OUTPUT_DATASETS}
    assess = dagbag.dags["tax_assessment"]
    assert _uris(_condition(assess)) == {asset_uri("curated", tax_assessment.BASIS),
                                         asset_uri("curated", tax_assessment.RELATIVES)}
    assert _outlets(assess) == {asset_uri("curated", tax_assessment.OUTPUT)}
    notices = dagbag.dags["notice_export"]
    assert _uris(_condition(notices)) == {asset_uri("curated", tax_assessment.OUTPUT)}
    assert _outlets(notices) == {asset_uri("curated", notice_export.PLAN), asset_uri("curated", notice_export.SCHEDULE)}
    from pipelines import collection

    collect = dagbag.dags["collection"]
    assert _uris(_condition(collect)) == {asset_uri("curated", collection.SCHEDULE),
                                          asset_uri("curated", collection.SWITCH_INSTALLMENTS)}
    assert _outlets(collect) == {asset_uri("curated", collection.LEDGER)}


@pytest.mark.parametrize("dag_id", CYCLE_ORDER)
def test_the_gate_task_fails_a_run_that_does_not_reconcile(dagbag, dag_id):
    """The DAG's check_reconciliation task (upstream of publish, the only task with outlets) raises on a
    summary whose counts do not reconcile, so publish never runs and no downstream stage starts."""
    from contracts.errors import JuminzeiError

    dag = dagbag.dags[dag_id]
    gate = dag.get_task("check_reconciliation")
    assert gate.downstream_task_ids == {"publish"}
    summary = {"stage": dag_id, "municipality": "131032", "fiscal_year": 2026, "run_id": "r", "dry_run": False,
               "reconciles": False, "report_path": "/lake/reports/r.json", "changed_outputs": ["x"],
               "counts": {"received": 5, "staged": 3, "quarantined": 1, "forwarded": 0}}
    with pytest.raises(JuminzeiError, match=r"received=5, staged=3, quarantined=1, forwarded=0"):
        gate.python_callable(summary)
    assert gate.python_callable({**summary, "reconciles": True})["stage"] == dag_id
