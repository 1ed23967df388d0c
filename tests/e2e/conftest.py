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


# ------------------------------------------------------------------------------- My Number scan
def _digit_windows(runs) -> set[str]:
    """Every 12-digit window of digit runs of 12 or more characters."""
    return {run[i:i + 12] for run in runs for i in range(len(run) - 11)}


def my_numbers_in_frame(frame, numbers) -> set[str]:
    """The numbers of ``numbers`` (a Polars Series of 12-digit strings) that appear in any string column (as a
    run of digits, also inside longer text) or any integer column (zero-padded to 12 digits) of ``frame``."""
    import polars as pl

    found: set[str] = set()
    strings = [c for c, t in frame.schema.items() if t == pl.String or (isinstance(t, pl.List) and t.inner == pl.String)]
    integers = [c for c, t in frame.schema.items() if t.is_integer()]
    for column in strings:
        values = frame.get_column(column)
        if isinstance(values.dtype, pl.List):
            values = values.explode()
        runs = values.drop_nulls().str.extract_all(r"[0-9]{12,}").explode().drop_nulls().unique()
        found |= set(numbers.filter(numbers.is_in(pl.Series(sorted(_digit_windows(runs.to_list())), dtype=pl.String).implode())))
    for column in integers:
        values = frame.get_column(column).cast(pl.Int64, strict=False).drop_nulls()
        padded = values.filter((values >= 0) & (values < 10**12)).cast(pl.String).str.zfill(12).unique()
        found |= set(numbers.filter(numbers.is_in(padded.implode())))
    return found


def my_numbers_in_text(text: str, numbers) -> set[str]:
    import re

    windows = _digit_windows(re.findall(r"[0-9]{12,}", text))
    return windows & set(numbers.to_list())


def assert_no_my_number(sample_ward: Path, lake: Path, *, logs: str = "", allowed: tuple[str, ...] = ()) -> None:
    """No My Number of anyone in the sample ward (truth/persons.parquet: every person, registered or not) is
    in clear anywhere but the landing zone and the encrypted vault: every Parquet file of every zone (each
    column read), every report, audit or ledger file, the validation reports (Data Docs), everything Airflow
    keeps under its home (task log files, the metadata database with the XComs) and ``logs`` (the captured
    output of the runs). ``allowed``: folders of the lake the law lets carry numbers (the eLTAX hand-off of an
    employer's own employees), checked by their own tests. A hit is reported by place and count, never by number."""
    import polars as pl

    numbers = pl.read_parquet(sample_ward / "truth" / "persons.parquet").get_column("my_number").drop_nulls().unique()
    assert numbers.len() > 1000 and numbers.str.len_chars().eq(12).all()
    hits: dict[str, set[str]] = {}
    roots = [("lake", lake)]
    anchors = lake.parent / "audit_anchors"  # the audit trail's anchors, kept beside the lake (docs/audit.md)
    if anchors.is_dir():
        roots.append(("audit_anchors", anchors))
    for name in ("JUMINZEI_DATA_DOCS", "AIRFLOW_HOME"):
        if os.environ.get(name):
            roots.append((name, Path(os.environ[name])))
    scanned = 0
    for label, root in roots:
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if not path.is_file() or (label == "lake" and rel.split("/")[0] in ("landing", "vault")):
                continue
            if label == "lake" and any(rel.startswith(prefix) for prefix in allowed):
                continue
            if label == "AIRFLOW_HOME" and rel.split("/")[0] in ("lake", "data_docs", "keys", "secrets"):
                continue  # scanned above, or keys; the rest (task logs, the metadata database with XComs) is read
            if path.suffix == ".parquet":
                found = my_numbers_in_frame(pl.read_parquet(path), numbers)
            elif path.suffix == ".pdf":  # a preview: the text a reader of the PDF sees
                from pypdf import PdfReader

                text = "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
                found = my_numbers_in_text(text, numbers)
            else:
                found = my_numbers_in_text(path.read_bytes().decode("utf-8", "replace"), numbers)
            scanned += 1
            if found:
                hits[f"{label}/{rel}"] = found
    found = my_numbers_in_text(logs, numbers)
    if found:
        hits["captured task output"] = found
    assert scanned > 0
    leaks = {where: len(found) for where, found in hits.items()}  # counts only: a failure never prints a number
    print(f"My Number scan: {scanned} files and the captured output against {numbers.len()} numbers: "
          f"{sum(leaks.values())} found")
    assert leaks == {}, f"My Numbers in clear (place: how many): {leaks}"
