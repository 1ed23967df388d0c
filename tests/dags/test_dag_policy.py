"""The DAG policy (STYLE rules 1–4), checked for every DAG in the DagBag: every later DAG must pass."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.dag_policy import ALLOWED_TAGS, CYCLE_ORDER, CYCLE_TAGS, OWNER

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted(p for p in (REPO / "dags").glob("*.py") if not p.name.startswith("_"))
HEAVY_MODULES = ("polars", "duckdb", "lxml", "pandas", "pyarrow", "pandera", "great_expectations", "numpy")
ALLOWED_IMPORT_PREFIXES = ("airflow.sdk", "airflow.providers", "pipelines.dag_policy", "__future__")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}, dagbag.import_errors


def test_every_file_defines_one_dag_named_after_it(dagbag):
    assert DAG_FILES, "no DAG files found"
    for path in DAG_FILES:
        assert path.stem in dagbag.dags, f"{path.name} must define a DAG with dag_id {path.stem!r}"
    assert sorted(dagbag.dag_ids) == sorted(p.stem for p in DAG_FILES)


def test_cycle_order_lists_existing_dags(dagbag):
    for dag_id in CYCLE_ORDER:
        assert dag_id in dagbag.dag_ids


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_dag_file_is_wiring_only(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module_level_imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    for node in module_level_imports:
        names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        for name in names:
            assert name and name.startswith(ALLOWED_IMPORT_PREFIXES), (
                f"{path.name}: module-level import of {name!r}; DAG files import only airflow.sdk and "
                "pipelines.dag_policy at module level (logic goes in pipelines/, imported inside tasks)"
            )
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "dag"]
    assert calls, f"{path.name}: use the @dag decorator"
    keywords = {kw.arg for call in calls for kw in call.keywords}
    for required in ("schedule", "start_date", "catchup", "doc_md", "tags", "default_args", "params"):
        assert required in keywords, f"{path.name}: @dag(...) must set {required} explicitly"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_dag_file_parses_without_heavy_imports(path):
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('dag_under_test', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        f"print(json.dumps([m for m in {HEAVY_MODULES!r} if m in sys.modules]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"{path.name} imports {loaded} at parse time; import them inside tasks"


def test_header_policy(dagbag):
    for dag_id, dag in dagbag.dags.items():
        where = f"DAG {dag_id}"
        assert dag.catchup is False, f"{where}: catchup must be False"
        assert dag.doc_md and len(dag.doc_md.strip()) > 40, f"{where}: doc_md must explain the DAG to operators"
        assert dag.start_date is not None, f"{where}: static start_date required"
        assert str(dag.timezone.name) == "Asia/Tokyo", f"{where}: start_date must be in Asia/Tokyo"
        tags = set(dag.tags)
        assert tags <= ALLOWED_TAGS, f"{where}: tags {sorted(tags - ALLOWED_TAGS)} are not in the vocabulary"
        assert len(tags & CYCLE_TAGS) == 1, f"{where}: exactly one cycle:* tag"
        assert dag.max_active_runs == 1, f"{where}: writes shared state, so max_active_runs=1"
        for task in dag.tasks:
            assert task.owner == OWNER, f"{where}.{task.task_id}: owner must be {OWNER}"
            assert task.retries >= 1, f"{where}.{task.task_id}: needs retries"
            assert task.retry_delay >= timedelta(minutes=1), f"{where}.{task.task_id}: retry_delay ≥ 1 minute"


def test_params_are_an_operator_form(dagbag):
    for dag_id, dag in dagbag.dags.items():
        params = dag.params
        assert "fiscal_year" in params and "dry_run" in params, f"DAG {dag_id}: fiscal_year and dry_run params"
        for name in params:
            param = params.get_param(name)
            schema = param.schema
            assert schema.get("title"), f"DAG {dag_id}: param {name} needs a title"
            assert param.description, f"DAG {dag_id}: param {name} needs a description"
            assert "type" in schema, f"DAG {dag_id}: param {name} needs a JSON-schema type"
        first = [t for t in dag.tasks if not t.upstream_task_ids]
        assert len(first) == 1, f"DAG {dag_id}: one first task validates the whole run configuration"


def test_only_the_dags_that_send_files_out_default_to_a_dry_run(dagbag):
    """Issue 13 item 4: the notices leave the building, so a run of notice_export sends nothing unless an
    operator unticks the dry run; every other stage writes only the lake and runs for real by default."""
    sending = {"notice_export", "pension_special_collection"}
    for dag_id, dag in dagbag.dags.items():
        assert dag.params["dry_run"] is (dag_id in sending), f"DAG {dag_id}: dry_run default"


def test_params_are_exactly_what_the_stage_accepts(dagbag):
    """The form and `pipelines.runtime.check_param_names` agree: every field of the form is accepted, and
    nothing else is (a misspelled key in a trigger's configuration is refused by the first task)."""
    from pipelines.stages import allowed_params

    for dag_id, dag in dagbag.dags.items():
        assert set(dag.params) == set(allowed_params(dag_id)), f"DAG {dag_id}: form fields differ from the stage's keys"


def test_only_the_publish_task_emits_asset_events(dagbag):
    """Asset events start downstream DAGs; they come from one task that is skipped for a dry run or an
    unchanged rerun (`pipelines.runtime.publish_skip_reason`), never from the task doing the work."""
    for dag_id, dag in dagbag.dags.items():
        with_outlets = sorted(t.task_id for t in dag.tasks if t.outlets)
        assert with_outlets == ["publish"], f"DAG {dag_id}: outlets on {with_outlets}"
        publish = dag.get_task("publish")
        assert not publish.downstream_task_ids, f"DAG {dag_id}: publish is the last task"
        assert "check_reconciliation" in publish.upstream_task_ids, f"DAG {dag_id}: publish only after the gate"


def test_an_operator_error_fails_the_stage_task_at_once_without_retries(dagbag, monkeypatch):
    """A bad input file, a bad configuration or a stopped dispatch (JuminzeiError) would fail the same way
    five minutes later: the stage task fails for good (AirflowFailException), so the operator sees the
    sentence at once instead of two retries; any other exception (a full disk, a lost worker) keeps the
    DAG's retries."""
    from airflow.sdk.exceptions import AirflowFailException

    import pipelines.runtime
    from contracts.errors import ConfigError

    def refuse(run):
        raise ConfigError("landing folder /nowhere does not exist or is not a folder")

    def crash(run):
        raise OSError("No space left on device")

    for dag_id, dag in dagbag.dags.items():
        (stage_task,) = [t for t in dag.tasks if "resolve_run" in t.upstream_task_ids]
        monkeypatch.setattr(pipelines.runtime, "run_stage", refuse)
        with pytest.raises(AirflowFailException, match="does not exist"):
            stage_task.python_callable(run={"stage": dag_id})
        monkeypatch.setattr(pipelines.runtime, "run_stage", crash)
        with pytest.raises(OSError):
            stage_task.python_callable(run={"stage": dag_id})
        assert stage_task.retries == 2, f"DAG {dag_id}: transient failures keep their retries"
