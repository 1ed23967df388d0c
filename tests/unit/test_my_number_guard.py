"""The My Number guard (issue 10 point 10): no write outside the vault may carry the My Number of a
person in the vault — planted numbers are refused, other numbers pass, and nothing is written."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

from contracts.identifiers import my_number_check_digit
from pipelines import audit, lake
from pipelines.lake import MyNumberLeakError

M, N = "131032", 2026


def number(base11: str) -> str:
    """A 12-digit number with a valid check digit (平成26年総務省令第85号 第5条)."""
    return base11 + str(my_number_check_digit(base11))


IN_VAULT = number("12345678901")
ALSO_IN_VAULT = number("00000000307")  # leading zeros are part of the number
NOT_IN_VAULT = number("55555555555")  # a valid number of nobody in the vault
FULLWIDTH = IN_VAULT.translate(str.maketrans("0123456789", "０１２３４５６７８９"))


@pytest.fixture()
def settings(tmp_path):
    from pipelines.config import Settings

    settings = Settings.from_env({"JUMINZEI_HOME": str(tmp_path), "JUMINZEI_LAKE": str(tmp_path / "lake"),
                                  "JUMINZEI_VAULT_KEY_FILE": str(tmp_path / "vault.key")})
    vault = pl.DataFrame({"atena_no": ["0000000001", "0000000002"], "my_number": [IN_VAULT, ALSO_IN_VAULT]})
    lake.write_vault(settings, M, N, vault, run_id="r0", reason="テスト")
    lake.use_guard_settings(settings, "r0")
    yield settings
    lake.use_guard_settings(None)


def write(settings, df: pl.DataFrame, zone: str = "staging", dataset: str = "documents"):
    return lake.write_partition(settings.lake, zone, dataset, M, N, df, sort_by=["id"], run_id="r1")


def rows(**columns) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    return pl.DataFrame({"id": list(range(n)), **columns})


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (IN_VAULT, "the number alone"),
        (f"({IN_VAULT})港　五郎　(){'港　六子'}", "inside the 5人目以降 text"),
        (f"備考 {ALSO_IN_VAULT}", "with leading zeros, inside free text"),
        (FULLWIDTH, "in full-width digits"),
        (f"x{IN_VAULT}y", "between letters (standalone: no longer digit run)"),
    ],
)
def test_a_vault_number_in_a_text_column_is_refused_and_nothing_is_written(settings, value, why):
    df = rows(remarks=["ok", value, "ok"], other=["a", "b", "c"])
    with pytest.raises(MyNumberLeakError) as caught:
        write(settings, df)
    message = str(caught.value)
    assert "staging/documents" in message and "remarks" in message and "other" not in message, why
    assert IN_VAULT not in message and ALSO_IN_VAULT not in message
    assert not lake.partition_exists(settings.lake, "staging", "documents", M, N)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (NOT_IN_VAULT, "a valid 12-digit number of nobody in the vault"),
        (IN_VAULT + "0", "13 digits (a 法人番号 is 13 digits): part of a longer digit run"),
        ("9" + IN_VAULT, "13 digits, the number at the end"),
        (hashlib.sha256(IN_VAULT.encode()).hexdigest(), "a hash of the number"),
        ("03-1234-5678", "a phone number"),
        ("0000000001", "a 宛名番号"),
        (IN_VAULT[:6] + "-" + IN_VAULT[6:], "split by a hyphen: not a 12-digit run"),
        (f"20260131_kyuyo_{NOT_IN_VAULT}_001.csv#3", "a file name with a 12-digit 指定番号"),
    ],
)
def test_other_numbers_pass(settings, value, why):
    written = write(settings, rows(remarks=[value]))
    assert written.rows == 1, why


def test_every_guarded_zone_and_list_columns(settings):
    for zone in ("staging", "quarantine", "curated"):
        with pytest.raises(MyNumberLeakError, match=f"{zone}/x"):
            lake.write_partition(settings.lake, zone, "x", M, N, rows(a=[IN_VAULT]), sort_by=["id"], run_id="r1")
    listed = rows(evidence=[["name_kanji"], ["my_number", IN_VAULT]])
    with pytest.raises(MyNumberLeakError, match="evidence"):
        write(settings, listed)
    categorical = rows(code=pl.Series([IN_VAULT], dtype=pl.Categorical))
    with pytest.raises(MyNumberLeakError, match="code"):
        write(settings, categorical)
    # an integer column cannot hold "a 12-digit number kept as a string"; it is not text and passes
    assert write(settings, rows(amount=[int(NOT_IN_VAULT)])).rows == 1


def test_a_run_report_is_guarded(settings):
    from pipelines.reports import report_dir

    path = report_dir(settings.lake, "returns_ingest", M, N) / "r1.json"
    with pytest.raises(MyNumberLeakError, match="reports/returns_ingest"):
        lake.write_json_atomic(path, {"messages": [f"record of {IN_VAULT}"]})
    assert not path.exists()
    lake.write_json_atomic(path, {"messages": [f"counts {NOT_IN_VAULT}"]})
    assert path.exists()


def test_a_fresh_run_reads_the_vault_once_with_an_audit_record(settings):
    lake._VAULT_NUMBERS.clear()  # as in a new process: the run has not seen the vault yet
    before = len(audit.read_audit(settings.lake))
    with pytest.raises(MyNumberLeakError):
        write(settings, rows(a=[IN_VAULT]))
    assert write(settings, rows(a=["fine"]), dataset="other").rows == 1
    records = audit.read_audit(settings.lake)[before:]
    assert [r["operation"] for r in records] == ["vault_read"]
    assert records[0]["reason"] == lake.GUARD_REASON and records[0]["run_id"] == "r0"


def test_a_changed_vault_is_read_again(settings):
    other = number("98765432109")
    lake.write_vault(settings, M, N, pl.DataFrame({"atena_no": ["0000000003"], "my_number": [other]}),
                     run_id="r2", reason="テスト")
    with pytest.raises(MyNumberLeakError):
        write(settings, rows(a=[other]))
    assert write(settings, rows(a=[IN_VAULT])).rows == 1  # no longer in the vault of this year


def test_numbers_held_for_a_vault_not_yet_written_and_no_vault(tmp_path):
    lake.use_guard_settings(None)
    assert lake.write_partition(tmp_path, "staging", "x", M, N, rows(a=[IN_VAULT]), sort_by=["id"], run_id="r").rows == 1
    lake.hold_my_numbers(tmp_path, M, N, pl.Series([IN_VAULT]))
    with pytest.raises(MyNumberLeakError):
        lake.write_partition(tmp_path, "staging", "y", M, N, rows(a=[IN_VAULT]), sort_by=["id"], run_id="r")
    # another municipality or year has its own vault
    assert lake.write_partition(tmp_path, "staging", "y", M, N + 1, rows(a=[IN_VAULT]), sort_by=["id"], run_id="r").rows == 1


def test_standalone_runs_are_found_per_column_vectorised():
    df = pl.DataFrame({"a": [f"{IN_VAULT} {NOT_IN_VAULT}", "1" * 13, None], "b": ["x", FULLWIDTH, "123456789012"]})
    runs = lake.standalone_twelve_digit_runs(df).sort("column", "number")
    # 123456789012 fails the check digit; 13 ones are a longer run
    assert runs.rows() == sorted([("a", IN_VAULT), ("a", NOT_IN_VAULT), ("b", IN_VAULT)])
