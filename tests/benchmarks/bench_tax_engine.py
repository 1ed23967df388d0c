"""Benchmark of the tax engine (`make bench BENCH=tax_engine`).

Builds N synthetic persons (and about 0.8·N spouses/dependants) directly as Polars columns with numpy
(no documents, no lake), then times `transforms.tax_engine.compute` — the computation itself, one
vectorised pass — in a fresh spawned process so that the peak RSS is the engine's own (plus its
inputs and imports). Reports persons/second and peak memory; asserts nothing (STYLE rule 15).
Target (issue #4): ≥ 1,000,000 persons/second and ≤ 4 GiB at 1,000,000 persons.
"""

from __future__ import annotations

import time
from typing import Any

from tests.benchmarks.harness import measure, peak_rss_gib


def synthetic_basis(n: int, seed: int, fiscal_year: int):
    import numpy as np
    import polars as pl

    from contracts.taxation_basis import PERSON_AMOUNTS, PERSON_FLAGS, person_schema, relative_schema
    from transforms.tax_engine import profile_columns
    from transforms.tax_rules import load_municipality_profile

    rng = np.random.default_rng(seed)
    ids = pl.Series("person_id", np.arange(n)).cast(pl.String).str.zfill(10)
    birth_days = rng.integers(-25_000, 18_000, n)  # days since 1970-01-01: born 1901..2019
    salary = np.where(rng.random(n) < 0.6, rng.lognormal(15.2, 0.6, n).astype(np.int64), 0)
    pension = np.where(rng.random(n) < 0.25, rng.integers(500_000, 3_500_000, n), 0)
    columns: dict[str, Any] = {name: np.zeros(n, dtype=np.int64) for name in PERSON_AMOUNTS}
    columns.update({
        "salary_revenue": salary, "public_pension_revenue": pension,
        "business_income": np.where(rng.random(n) < 0.08, rng.integers(0, 8_000_000, n), 0),
        "dividend_income": np.where(rng.random(n) < 0.03, rng.integers(0, 2_000_000, n), 0),
        "social_insurance": (salary * 0.15).astype(np.int64),
        "life_new_general": np.where(rng.random(n) < 0.4, rng.integers(0, 120_000, n), 0),
        "medical_expenses": np.where(rng.random(n) < 0.05, rng.integers(0, 600_000, n), 0),
        "furusato_donations": np.where(rng.random(n) < 0.1, rng.integers(5_000, 300_000, n), 0),
    })
    persons = pl.DataFrame({
        "person_id": ids,
        "fiscal_year": pl.Series(np.full(n, fiscal_year), dtype=pl.Int32),
        "birth_date": pl.Series(birth_days, dtype=pl.Int32).cast(pl.Date),
        "sex": np.where(rng.random(n) < 0.5, "female", "male"),
        "disability": np.where(rng.random(n) < 0.04, "ordinary", "none"),
        **{flag: rng.random(n) < 0.01 for flag in PERSON_FLAGS},
        **columns,
        "housing_moved_in": pl.Series([None] * n, dtype=pl.Date),
    }).with_columns(one_stop=pl.col("furusato_donations") > 0).select(list(person_schema()))
    for name, value in profile_columns(load_municipality_profile("131032")).items():
        persons = persons.with_columns(pl.lit(value, pl.Int64).alias(name))
    m = int(n * 0.8)
    owners = rng.integers(0, n, m)
    relatives = pl.DataFrame({
        "person_id": pl.Series(owners).cast(pl.String).str.zfill(10),
        "role": np.where(rng.random(m) < 0.4, "spouse", "dependant"),
        "birth_date": pl.Series(rng.integers(-20_000, 19_000, m), dtype=pl.Int32).cast(pl.Date),
        "disability": np.where(rng.random(m) < 0.03, "special", "none"),
        "cohabiting": rng.random(m) < 0.8,
        "lineal_ascendant": rng.random(m) < 0.1,
        "salary_revenue": np.where(rng.random(m) < 0.3, rng.integers(0, 2_000_000, m), 0),
        "public_pension_revenue": np.zeros(m, dtype=np.int64),
        "other_income": np.zeros(m, dtype=np.int64),
    }).with_columns(
        seq=pl.int_range(1, pl.len() + 1).over(["person_id", "role"]).cast(pl.Int32)
    ).filter(~((pl.col("role") == "spouse") & (pl.col("seq") > 1))).select(list(relative_schema()))
    return persons, relatives


def _child(n: int, seed: int, fiscal_year: int) -> dict[str, Any]:
    from transforms.tax_engine import compute

    persons, relatives = synthetic_basis(n, seed, fiscal_year)
    inputs_rss = peak_rss_gib()
    compute(persons.head(1000), relatives.head(1000))  # warm-up: imports, rule loading
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        result = compute(persons, relatives)
        timings.append(time.perf_counter() - started)
    best = min(timings)
    return {
        "persons": persons.height,
        "relatives": relatives.height,
        "seconds": [round(t, 3) for t in timings],
        "persons_per_second": round(persons.height / best),
        "peak_rss_gib": peak_rss_gib(),
        "inputs_rss_gib": inputs_rss,
        "result_columns": result.width,
        "exempt_fully": int((result["exemption"] == "fully_exempt").sum()),
        "total_tax_sum": int(result["total_tax"].sum()),
    }


def bench(residents: int = 1_000_000, seed: int = 20260101, fiscal_year: int = 2026) -> dict[str, Any]:
    return measure(_child, residents, seed, fiscal_year)
