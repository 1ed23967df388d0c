"""A dry run starts nothing downstream: Asset events (which schedule record_merge and tax_assessment) come
only from a run that replaced a partition. Checked on the Airflow metadata database after `dag.test()`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import E2E_FISCAL_YEAR, REPO

pytestmark = pytest.mark.e2e


def _bag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag


def _events_and_queue() -> tuple[int, int]:
    from sqlalchemy import func, select

    from airflow.models.asset import AssetDagRunQueue, AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.scalar(select(func.count()).select_from(AssetEvent))
        queued = session.scalar(select(func.count()).select_from(AssetDagRunQueue))
    return events, queued


@pytest.fixture()
def serialized_dags(airflow_db):
    """Every DAG in the metadata database, as the dag-processor leaves it: an Asset event then queues the
    DAGs scheduled on that Asset (record_merge for the snapshot's datasets)."""
    airflow = str(Path(sys.executable).parent / "airflow")
    for command in (["dags", "reserialize"], ["dags", "unpause", "record_merge"]):  # paused DAGs are never queued
        result = subprocess.run([airflow, *command], env=os.environ.copy(), capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield
    subprocess.run([airflow, "dags", "pause", "record_merge"], env=os.environ.copy(), capture_output=True, check=False)


def test_dry_run_and_unchanged_rerun_emit_no_asset_event(serialized_dags, lake: Path):
    from airflow.utils.state import DagRunState, TaskInstanceState

    bag = _bag()
    dag = bag.dags["resident_snapshot"]
    conf = {"fiscal_year": E2E_FISCAL_YEAR, "municipality": "131032"}
    before = _events_and_queue()

    dry = dag.test(run_conf={**conf, "dry_run": True})
    assert dry.state == DagRunState.SUCCESS
    assert dry.get_task_instance("publish").state == TaskInstanceState.SKIPPED
    assert _events_and_queue() == before, "a dry run emitted Asset events"

    real = dag.test(run_conf={**conf, "dry_run": False})
    assert real.state == DagRunState.SUCCESS
    assert real.get_task_instance("publish").state == TaskInstanceState.SUCCESS
    after_real = _events_and_queue()
    assert after_real[0] > before[0], "a run that wrote the snapshot emitted no Asset event"
    assert after_real[1] > before[1], "the snapshot's Asset events queued no downstream DAG (record_merge)"
    # Each event names the partition the run rewrote, so record_merge works on that fiscal year (not on the
    # year of its own start): tests/unit/test_runtime.py checks how resolve_run reads it.
    from sqlalchemy import select

    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        extras = [e.extra for e in session.scalars(select(AssetEvent).where(AssetEvent.source_dag_id == "resident_snapshot"))]
    assert extras and all(
        (x["municipality"], x["fiscal_year"], x["stage"]) == ("131032", E2E_FISCAL_YEAR, "resident_snapshot") for x in extras)

    again = dag.test(run_conf={**conf, "dry_run": False})
    assert again.state == DagRunState.SUCCESS
    assert again.get_task_instance("publish").state == TaskInstanceState.SKIPPED
    assert _events_and_queue() == after_real, "an unchanged rerun emitted Asset events"
