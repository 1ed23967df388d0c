"""Test-wide setup: Airflow (when a test imports it) uses a throw-away AIRFLOW_HOME and SQLite file,
the committed airflow.cfg and this checkout's dags/ — set before anything imports Airflow. The
throw-away home gets its own secrets (jwt_secret, api secret_key, fernet_key, admin password) under
<home>/secrets/, which Airflow reads through the *_CMD variables set here (juminzei/airflow_env.py)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="juminzei-airflow-"))

from juminzei.airflow_env import airflow_environment  # noqa: E402

os.environ.update(airflow_environment(REPO, _AIRFLOW_HOME))
os.environ.setdefault("JUMINZEI_LAKE", str(_AIRFLOW_HOME / "lake"))
os.environ.setdefault("JUMINZEI_VAULT_KEY_FILE", str(_AIRFLOW_HOME / "keys" / "vault.key"))
os.environ.setdefault("JUMINZEI_DATA_DOCS", str(_AIRFLOW_HOME / "data_docs"))
# hypothesis (tests/unit/test_fuzz.py) keeps its caches under this throw-away home, never in the checkout
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(_AIRFLOW_HOME / "hypothesis"))


def pytest_collection_modifyitems(config, items):
    """Under `make mutate` (mutmut sets MUTANT_UNDER_TEST to the mutant's name in the worker), run the
    tests that were fastest in mutmut's clean run first: a mutant is killed by its first failing test
    (``-x``), so most mutants then cost a fraction of a second instead of every test that covers them."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    stats = Path("mutmut-stats.json")  # mutmut runs the tests from its mutants/ folder
    if "__mutmut_" not in mutant or not stats.is_file():
        return
    import json

    duration = json.loads(stats.read_text(encoding="utf-8")).get("duration_by_test", {})
    items.sort(key=lambda item: duration.get(item.nodeid, float("inf")))


def _clear_project_caches() -> None:
    import sys

    for name, module in list(sys.modules.items()):
        if name.split(".", 1)[0] in ("contracts", "transforms", "pipelines"):
            for value in list(vars(module).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear):
                    clear()


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _trace_through_cached_loaders():
    """Under `make mutate`'s tracing run (mutmut sets MUTANT_UNDER_TEST to ``stats`` while it records which
    tests call which function), empty the project's ``functools.cache``s before each test. Otherwise only
    the first test that loads a layout or a rule file is recorded as calling the loader's helpers, every
    later one gets the cached result, and the mutants of those helpers are run against that one test only:
    they "survive" the dozens of tests that would kill them (docs/testing.md)."""
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        _clear_project_caches()
    yield
