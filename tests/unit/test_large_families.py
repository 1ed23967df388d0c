"""Issue 10 point 10 end to end without Airflow: a generated ward with many large families (the
generator's ``large_families`` option) through resident_snapshot, returns_ingest and record_merge.

* No partition of staging, quarantine or curated holds a My Number of anyone the generator made (every
  text column scanned with Aho-Corasick over all the numbers in truth/persons.parquet — not with the
  guard's own code).
* The 5th and further dependants the 給与支払報告書 list as '(個人番号)氏名' text reach
  curated/taxation_basis_relatives: a taxpayer whose 主たる給与 report lists n dependants gets n.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

#: Builds a generated ward or runs whole stages: left out of mutation runs (docs/testing.md).
pytestmark = pytest.mark.slow

M, N = "131032", 2026
FIFTH_PLUS_COLUMNS = {"dependants_5th_plus": 132, "young_dependants_5th_plus": 133}  # 統一CSV positions


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    from sample_ward import generate_ward
    from pipelines.config import Settings
    from pipelines.record_merge import run as merge
    from pipelines.resident_snapshot import run as snapshot
    from pipelines.returns_ingest import run as ingest

    root = tmp_path_factory.mktemp("large_families")
    generate_ward(root / "ward", residents=2500, seed=3, fiscal_year=N, large_families=0.6)
    shutil.copytree(root / "ward" / "landing", root / "lake" / "landing")
    settings = Settings.from_env({"JUMINZEI_HOME": str(root), "JUMINZEI_LAKE": str(root / "lake"),
                                  "JUMINZEI_VAULT_KEY_FILE": str(root / "vault.key")})
    reports = {"snapshot": snapshot(fiscal_year=N, settings=settings), "ingest": ingest(fiscal_year=N, settings=settings),
               "merge": merge(fiscal_year=N, settings=settings)}
    return root, settings, reports


def test_the_option_makes_large_families_and_the_default_ward_is_unchanged(tmp_path):
    from sample_ward.population import build_population

    default = build_population(600, 5, N)
    assert default.persons.equals(build_population(600, 5, N, large_families=0.0).persons)
    big = build_population(600, 5, N, large_families=1.0)
    per_taxpayer = lambda pop: pop.dependants.filter(pl.col("kind") == "dependant").group_by(  # noqa: E731
        "taxpayer_person_id").len().get_column("len")
    assert (per_taxpayer(big) >= 5).sum() > (per_taxpayer(default) >= 5).sum()
    with pytest.raises(ValueError, match="large_families"):
        build_population(600, 5, N, large_families=1.5)


def test_no_partition_outside_the_vault_holds_a_my_number(merged):
    root, settings, reports = merged
    assert all(r["status"] == "success" and r["reconciliation"]["ok"] for r in reports.values())
    numbers = pl.read_parquet(root / "ward" / "truth" / "persons.parquet").get_column("my_number").drop_nulls()
    numbers = numbers.unique().to_list()
    assert len(numbers) > 2500
    scanned = 0
    for zone in ("staging", "quarantine", "curated"):
        for path in sorted((settings.lake / zone).rglob("*.parquet")):
            frame = pl.read_parquet(path)
            for name, dtype in frame.schema.items():
                if dtype == pl.String:
                    text = frame.get_column(name)
                elif isinstance(dtype, pl.List) and dtype.inner == pl.String:
                    text = frame.get_column(name).list.join(" ")
                else:
                    continue
                scanned += 1
                hits = int(text.str.contains_any(numbers).fill_null(False).sum())
                assert hits == 0, f"{path.relative_to(settings.lake)} column {name}: {hits} rows hold a My Number"
    assert scanned > 300
    # the raw '(個人番号)氏名' text is not staged any more
    for dataset in ("salary_reports", "resident_returns"):
        staged = pl.read_parquet(next((settings.lake / "staging" / dataset).rglob("*.parquet")))
        assert not set(FIFTH_PLUS_COLUMNS) & set(staged.columns)


def _entries(raw_line: str, position: int) -> int:
    field = raw_line.split(",")[position - 1]
    return field.count("(") + field.count("（")


def test_fifth_and_further_dependants_reach_the_taxation_basis(merged):
    _, settings, reports = merged
    lake = settings.lake
    assert reports["ingest"]["counts"]["document_relatives"] > 20
    assert reports["ingest"]["counts"]["document_relatives_my_number_verified"] > 0
    basis = pl.read_parquet(next((lake / "curated" / "taxation_basis").rglob("*.parquet")))
    relatives = pl.read_parquet(next((lake / "curated" / "taxation_basis_relatives").rglob("*.parquet")))
    salary = pl.read_parquet(next((lake / "staging" / "salary_reports").rglob("*.parquet")))

    # Expected dependants of every information-returns taxpayer: the non-empty kana of slots 1-4 of
    # both lists on the primary report, plus the entries of cols 132/133 counted in the landing bytes.
    primary = basis.filter((pl.col("basis_source") == "information_returns") & pl.col("primary_salary_doc_uid").is_not_null())
    kana = [f"{p}_{k}_kana" for p in ("dependant", "young_dependant") for k in range(1, 5)]
    reports_used = salary.join(primary.select("person_id", pl.col("primary_salary_doc_uid").alias("doc_uid")),
                               on="doc_uid", how="inner", validate="1:1")
    lines: dict[str, list[str]] = {}
    for file in reports_used.get_column("file").unique().to_list():
        lines[file] = (lake / "landing" / file).read_bytes().decode("cp932", errors="replace").split("\r\n")
    further = [sum(_entries(lines[f][r - 1], pos) for pos in FIFTH_PLUS_COLUMNS.values())
               for f, r in reports_used.select("file", "record_no").iter_rows()]
    expected = reports_used.select(
        "person_id",
        (pl.sum_horizontal([(pl.col(c).fill_null("").str.strip_chars() != "").cast(pl.Int32) for c in kana])
         + pl.Series(further, dtype=pl.Int32)).alias("expected"),
    )
    got = relatives.filter(pl.col("role") == "dependant").group_by("person_id").len().rename({"len": "got"})
    compared = expected.join(got, on="person_id", how="left").with_columns(pl.col("got").fill_null(0).cast(pl.Int32))
    large = compared.filter(pl.col("expected") >= 5)
    assert large.height >= 10, "the large-family ward should give many taxpayers with 5+ dependants"
    wrong = compared.filter(pl.col("expected") != pl.col("got"))
    assert wrong.height == 0, wrong.head(5).to_dicts()
    # and some of them are tied to the relative's own 宛名番号 by the My Number verified at ingest
    by_number = relatives.filter(pl.col("resolution") == "document_my_number")
    assert by_number.height > 0 and by_number.get_column("seq").min() >= 5
