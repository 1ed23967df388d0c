"""The tax_assessment stage without Airflow: operator sentences for missing inputs, and `assess` on
a tiny basis built in the test."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from contracts.errors import ConfigError
from contracts.taxation_basis import PERSON_AMOUNTS, PERSON_FLAGS, person_schema, relative_schema
from pipelines.config import Settings
from pipelines.tax_assessment import assess, run


def _basis(fiscal_year: int = 2026) -> pl.DataFrame:
    row = {"person_id": "0000000001", "fiscal_year": fiscal_year, "birth_date": date(1980, 6, 1), "sex": "female",
           "disability": "none", **{f: False for f in PERSON_FLAGS}, **{a: 0 for a in PERSON_AMOUNTS},
           "housing_moved_in": None}
    row["salary_revenue"] = 5_000_000
    return pl.DataFrame([row], schema=person_schema())


def test_assess_uses_the_wards_profile_and_the_years_rules():
    result = assess(_basis(), pl.DataFrame(schema=relative_schema()), municipality="131032", fiscal_year=2026)
    row = result.row(0, named=True)
    # 給与所得 3,560,000; 課税標準 3,130,000; 6% = 187,800, 4% = 125,200; 調整控除 1,500 / 1,000
    assert (row["income_levy_municipal"], row["income_levy_prefectural"]) == (186_300, 124_200)
    assert row["per_capita_levy_municipal"] == 3_000 and row["total_tax"] == 186_300 + 124_200 + 5_000


def test_assess_refuses_rows_of_another_year_and_years_without_rules():
    with pytest.raises(ConfigError, match="not of fiscal year 2026"):
        assess(_basis(2025), pl.DataFrame(schema=relative_schema()), municipality="131032", fiscal_year=2026)
    with pytest.raises(ConfigError, match="no rules for fiscal year 2031"):
        assess(_basis(2031), pl.DataFrame(schema=relative_schema()), municipality="131032", fiscal_year=2031)


def test_a_municipality_without_a_profile_is_an_operator_error():
    with pytest.raises(ConfigError, match="no profile for municipality 131016"):
        assess(_basis(), pl.DataFrame(schema=relative_schema()), municipality="131016", fiscal_year=2026)


def test_run_without_a_merged_basis_says_what_to_run_first(tmp_path):
    settings = Settings.from_env({"JUMINZEI_LAKE": str(tmp_path / "lake"), "JUMINZEI_HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match="run record_merge"):
        run(fiscal_year=2026, settings=settings)
    latest = tmp_path / "lake" / "reports" / "tax_assessment" / "municipality=131032" / "fiscal_year=2026" / "latest.json"
    assert latest.exists() and '"failed"' in latest.read_text(encoding="utf-8")
