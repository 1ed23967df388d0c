"""End-to-end fixtures: one generated sample ward and one migrated Airflow metadata database per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
E2E_RESIDENTS = 2000
E2E_SEED = 20260101
E2E_FISCAL_YEAR = 2026


@pytest.fixture(scope="session")
def sample_ward(tmp_path_factory) -> Path:
    from sample_ward import generate_ward

    out = tmp_path_factory.mktemp("ward") / "sample_ward"
    generate_ward(out, residents=E2E_RESIDENTS, seed=E2E_SEED, fiscal_year=E2E_FISCAL_YEAR)
    return out


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """`airflow db migrate` on the test's SQLite file (environment set by tests/conftest.py)."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        env=os.environ.copy(), capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from airflow import settings

    settings.configure_orm()


@pytest.fixture()
def lake(tmp_path, sample_ward, monkeypatch) -> Path:
    """A fresh lake whose landing zone holds the sample ward's delivered files."""
    lake = tmp_path / "lake"
    shutil.copytree(sample_ward / "landing", lake / "landing")
    monkeypatch.setenv("JUMINZEI_LAKE", str(lake))
    monkeypatch.setenv("JUMINZEI_VAULT_KEY_FILE", str(tmp_path / "keys" / "vault.key"))
    return lake
