"""The environment that points Airflow at the committed configuration of this checkout.

One place decides it, so `bin/airflow`, `make demo`, `make airflow` and the tests agree:
metadata in SQLite under ``var/airflow``, DAGs from ``dags/``, configuration from ``airflow.cfg``.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def airflow_environment(repo: Path = REPO, airflow_home: Path | None = None) -> dict[str, str]:
    """Return the variables that make Airflow use this checkout's configuration."""
    home = airflow_home or Path(os.environ.get("JUMINZEI_AIRFLOW_HOME", repo / "var" / "airflow"))
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(repo / "airflow.cfg"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(repo / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "JUMINZEI_HOME": os.environ.get("JUMINZEI_HOME", str(repo)),
        "PYTHONPATH": os.pathsep.join(p for p in (str(repo), os.environ.get("PYTHONPATH", "")) if p),
    }


def main(argv: list[str]) -> int:
    env = airflow_environment()
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    if argv[:1] == ["--shell"]:
        for key, value in env.items():
            print(f"export {key}={shlex.quote(value)}")
        return 0
    if argv[:1] == ["db-migrate"]:
        os.environ.update(env)
        os.execv(sys.executable, [sys.executable, "-m", "airflow", "db", "migrate"])
    print("usage: python -m juminzei.airflow_env --shell | db-migrate", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
