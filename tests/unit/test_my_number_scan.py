"""The My Number scan of the end-to-end tests (tests/e2e/conftest.py) finds a number wherever it leaks: in a
string column (alone or inside text), a list column, an integer column, a JSON report, the captured log, and
in the Airflow home — and stays silent on a clean lake. A scan that cannot find anything proves nothing."""

from __future__ import annotations

import polars as pl
import pytest

from tests.e2e.conftest import assert_no_my_number

NUMBERS = [f"{n:012d}" for n in range(100_000_000_000, 100_000_001_200)]  # 1,200 distinct 12-digit strings
LEAKED = NUMBERS[777]


@pytest.fixture()
def ward_and_lake(tmp_path, monkeypatch):
    ward, lake = tmp_path / "ward", tmp_path / "lake"
    (ward / "truth").mkdir(parents=True)
    pl.DataFrame({"my_number": NUMBERS}).write_parquet(ward / "truth" / "persons.parquet")
    (lake / "staging" / "x").mkdir(parents=True)
    (lake / "landing").mkdir()
    (lake / "landing" / "file.csv").write_text(f"0000000001,{LEAKED}\n")  # the delivery itself may hold it
    (lake / "vault").mkdir()
    (lake / "vault" / "data.parquet").write_bytes(LEAKED.encode())        # so may the (encrypted) vault
    pl.DataFrame({"doc_uid": ["a"], "amount": [1_234_567], "note": ["ok"]}).write_parquet(lake / "staging" / "x" / "d.parquet")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("JUMINZEI_DATA_DOCS", str(tmp_path / "docs"))
    (tmp_path / "airflow" / "logs").mkdir(parents=True)
    return ward, lake, tmp_path


def test_a_clean_lake_passes(ward_and_lake):
    ward, lake, _ = ward_and_lake
    assert_no_my_number(ward, lake, logs="received 10, staged 9; run 20260520T030000Z-x-0a1b2c3d")


@pytest.mark.parametrize("where", ["string", "inside_text", "list", "integer", "report", "log", "airflow_log",
                                   "data_docs", "long_digit_run"])
def test_a_leak_is_found(ward_and_lake, where):
    ward, lake, root = ward_and_lake
    logs = ""
    frame = None
    if where == "string":
        frame = pl.DataFrame({"my_number_copy": [LEAKED]})
    elif where == "inside_text":
        frame = pl.DataFrame({"message": [f"line 3: 個人番号 {LEAKED} is shared"]})
    elif where == "list":
        frame = pl.DataFrame({"evidence": [["birth_date", LEAKED]]})
    elif where == "integer":
        frame = pl.DataFrame({"number": [int(LEAKED)]})
    elif where == "report":
        (lake / "reports").mkdir()
        (lake / "reports" / "latest.json").write_text(f'{{"message": "{LEAKED}"}}')
    elif where == "log":
        logs = f"INFO something about {LEAKED}"
    elif where == "airflow_log":
        (root / "airflow" / "logs" / "task.log").write_text(f"{LEAKED}\n")
    elif where == "data_docs":
        (root / "docs").mkdir()
        (root / "docs" / "index.html").write_text(f"<td>{LEAKED}</td>")
    elif where == "long_digit_run":
        frame = pl.DataFrame({"text": [f"99{LEAKED}1"]})
    if frame is not None:
        frame.write_parquet(lake / "staging" / "x" / "leak.parquet")
    with pytest.raises(AssertionError) as caught:
        assert_no_my_number(ward, lake, logs=logs)
    assert LEAKED not in str(caught.value)  # the failure names the place, not the number
