"""The resident_snapshot stage on the hand-written registry fixture (tests/unit/fixtures/registry)."""

from __future__ import annotations

import io
import json
from datetime import date
import logging
import os
import re
import shutil
import stat
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from contracts.errors import ConfigError, ContractError, InputFileError
from contracts.resident_snapshot import REASON_CODES, VaultEntry, load_layout
from pipelines import audit, lake
from pipelines.config import RUN_ID_RE, Settings, load_vault_key, new_run_id
from pipelines.reports import load_latest
from pipelines.resident_snapshot import run, validate
from transforms import resident_snapshot as t

FIXTURE = Path(__file__).parent / "fixtures" / "registry" / "landing"
M, N = "131032", 2026
RUN_1 = "20260105T093000Z-resident_snapshot-0a1b2c3d"
RUN_2 = "20260106T093000Z-resident_snapshot-1b2c3d4e"
REGISTRY = "resident_registry/municipality=131032/fiscal_year=2026/jumin_kiroku_131032_20260101.csv"
MY_NUMBER_FILE = FIXTURE / "my_number" / "municipality=131032" / "fiscal_year=2026" / "kojin_bango_131032_20260101.csv"

# (source, line) → (reason_code, field): every record the fixture plants for quarantine.
EXPECTED_QUARANTINE = {
    ("resident_registry", 16): ("bad_date", "birth_date"),
    ("resident_registry", 17): ("missing_required", "name_kanji"),
    ("resident_registry", 18): ("bad_code", "sex"),
    ("resident_registry", 19): ("bad_format", "postal_code"),
    ("resident_registry", 20): ("wrong_field_count", None),
    ("resident_registry", 21): ("duplicate_atena_no", "atena_no"),
    ("resident_registry", 22): ("duplicate_atena_no", "atena_no"),
    ("resident_registry", 23): ("broken_quoting", None),
    ("resident_registry", 24): ("control_character", None),
    ("resident_registry", 25): ("undecodable_bytes", None),
    ("resident_registry", 26): ("inconsistent_dates", "birth_date"),
    ("resident_registry", 27): ("inconsistent_removal", "removal_date"),
    ("resident_registry", 28): ("inconsistent_nationality", "nationality"),
    ("resident_registry", 30): ("bad_format", "name_kana"),
    ("my_number", 7): ("bad_check_digit", "my_number"),
    ("my_number", 8): ("bad_format", "my_number"),
    ("my_number", 9): ("duplicate_atena_no", "atena_no"),
    ("my_number", 10): ("duplicate_atena_no", "atena_no"),
    ("my_number", 11): ("my_number_shared", "my_number"),
    ("my_number", 12): ("my_number_shared", "my_number"),
    ("my_number", 13): ("unknown_atena_no", "atena_no"),
    ("my_number", 14): ("atena_no_quarantined", "atena_no"),
    ("my_number", 15): ("missing_required", "my_number"),
    ("livelihood_assistance", 5): ("bad_date", "assistance_start_date"),
    ("livelihood_assistance", 6): ("duplicate_atena_no", "atena_no"),
    ("livelihood_assistance", 7): ("duplicate_atena_no", "atena_no"),
    ("livelihood_assistance", 8): ("unknown_atena_no", "atena_no"),
    ("disability", 8): ("bad_code", "grade"),
    ("disability", 9): ("duplicate_certificate", "certificate_type"),
    ("disability", 10): ("duplicate_certificate", "certificate_type"),
    ("disability", 11): ("unknown_atena_no", "atena_no"),
    ("disability", 12): ("bad_code", "special"),
    ("disability", 13): ("atena_no_quarantined", "atena_no"),
    # 住登外者 登録ファイル: a registry person's 宛名番号; living in the ward only after 1 January; a 住民票
    # in the ward itself (地方税法第294条第3項 taxes only who lived here on 1 January without one)
    ("non_registered_register", 4): ("atena_no_in_registry", "atena_no"),
    ("non_registered_register", 5): ("inconsistent_registration", "living_since"),
    ("non_registered_register", 6): ("inconsistent_registration", "registered_municipality_code"),
}
# (source, line) → (reason_code, field): invalid values of optional ``on_invalid: warn`` fields: the
# record is staged with the value emptied (issue 10 point 9).
EXPECTED_WARNINGS = {
    ("resident_registry", 29): ("bad_check_digit", "destination_municipality_code"),
}


@pytest.fixture
def settings(tmp_path) -> Settings:
    shutil.copytree(FIXTURE, tmp_path / "lake" / "landing")
    return Settings.from_env(
        {"JUMINZEI_HOME": str(tmp_path), "JUMINZEI_LAKE": str(tmp_path / "lake"), "JUMINZEI_ACTOR": "tester"}
    )


def every_12_digit_number_of_the_fixture() -> set[str]:
    text = MY_NUMBER_FILE.read_text(encoding="utf-8")
    return set(re.findall(r"(?<![0-9])[0-9]{12}(?![0-9])", text))


def lake_files(settings: Settings, *, skip_landing: bool = True) -> dict[str, bytes]:
    out = {}
    for path in sorted(settings.lake.rglob("*")):
        rel = path.relative_to(settings.lake).as_posix()
        if path.is_file() and not (skip_landing and rel.startswith("landing/")):
            out[rel] = path.read_bytes()
    return out


def staged(settings: Settings, dataset: str) -> pl.DataFrame:
    return lake.read_partition(settings.lake, "staging", dataset, M, N)


# --------------------------------------------------------------------------------------- the run


def test_every_quarantine_reason_is_planted_and_found(settings):
    run(fiscal_year=N, settings=settings, run_id=RUN_1)
    quarantine = lake.read_partition(settings.lake, "quarantine", "resident_snapshot", M, N)
    found = {(r["source"], r["record_no"]): (r["reason_code"], r["field"]) for r in quarantine.iter_rows(named=True)}
    assert found == EXPECTED_QUARANTINE
    assert set(quarantine.get_column("reason_code")) == set(REASON_CODES)
    assert "my_number" not in quarantine.columns
    assert (quarantine.get_column("run_id") == RUN_1).all()
    registry_rows = quarantine.filter(pl.col("source") == "resident_registry")
    assert (registry_rows.get_column("file") == REGISTRY).all()
    [message] = quarantine.filter((pl.col("source") == "resident_registry") & (pl.col("record_no") == 16))["message"]
    assert message == ("jumin_kiroku_131032_20260101.csv line 16: 生年月日 (birth_date) is not a real calendar date; "
                       "expected YYYYMMDD.")
    [masked] = quarantine.filter((pl.col("source") == "my_number") & (pl.col("record_no") == 7))["message"]
    assert "*********010" in masked and "123456789010" not in masked
    [duplicate] = quarantine.filter((pl.col("source") == "resident_registry") & (pl.col("record_no") == 21))["message"]
    assert "2 records (lines 21, 22)" in duplicate and "none is guessed" in duplicate


def test_an_invalid_optional_value_is_a_warning_and_the_person_is_staged(settings):
    run(fiscal_year=N, settings=settings, run_id=RUN_1)
    warnings = lake.read_partition(settings.lake, "quarantine", "resident_snapshot_warnings", M, N)
    found = {(r["source"], r["record_no"]): (r["reason_code"], r["field"]) for r in warnings.iter_rows(named=True)}
    assert found == EXPECTED_WARNINGS
    assert list(warnings.columns) == ["source", "file", "record_no", "field", "reason_code", "message", "run_id"]
    [message] = warnings["message"]
    assert message.startswith("jumin_kiroku_131032_20260101.csv line 29: 転出先市区町村コード") and "set to empty" in message
    person = staged(settings, "residents").filter(pl.col("atena_no") == "0000000027").row(0, named=True)
    assert person["destination_municipality_code"] is None and person["removal_reason"] == "転出"


def test_residence_and_age_on_1_january(settings):
    run(fiscal_year=N, settings=settings, run_id=RUN_1)
    residents = staged(settings, "residents")
    by_atena = {r["atena_no"]: r for r in residents.iter_rows(named=True)}
    on_jan1 = {a: r["resident_on_assessment_date"] for a, r in by_atena.items()}
    assert on_jan1["0000000004"] is False   # 転出 dated 1 January: already elsewhere on the 賦課期日
    assert on_jan1["0000000005"] is False   # died 31 December
    assert on_jan1["0000000006"] is True    # died 2 January: resident on 1 January
    assert on_jan1["0000000007"] is True    # moved in on 1 January
    assert on_jan1["0000000008"] is False   # moved in on 2 January
    assert on_jan1["0000000010"] is True    # born on 1 January
    assert by_atena["0000000004"]["registry_status"] == "moved_out"
    assert by_atena["0000000006"]["registry_status"] == "deceased"
    ages = {a: r["age_on_assessment_date"] for a, r in by_atena.items()}
    assert ages["0000000002"] == 44  # born 2 Jan 1982: reaches 44 at the end of 1 January
    assert ages["0000000003"] == 15  # born 3 Jan 2010: still 15 on 1 January
    assert ages["0000000010"] == 0
    assert ages["0000000011"] == 65  # born 29 Feb 1960
    assert by_atena["0000000009"]["address_detail"] == "六本木ヒルズ,レジデンスＢ棟１２０３"  # quoted comma
    assert by_atena["0000000009"]["alias_kanji"] == "山田　太郎"
    assert residents.schema["birth_date"] == pl.Date and residents.schema["sex"] == pl.Int8


def test_households_welfare_and_disability(settings):
    run(fiscal_year=N, settings=settings, run_id=RUN_1)
    households = {r["household_no"]: r for r in staged(settings, "households").iter_rows(named=True)}
    assert households["0000000101"] == {"household_no": "0000000101", "head_atena_no": "0000000001", "head_status": "ok",
                                        "member_count": 4, "resident_member_count": 4}
    assert households["0000000102"]["resident_member_count"] == 0  # its only member moved out on 1 January
    assert households["0000000201"]["head_status"] == "ambiguous" and households["0000000201"]["head_atena_no"] is None
    assert households["0000000301"]["head_status"] == "missing"
    welfare = {r["atena_no"]: r["assisted_on_assessment_date"] for r in staged(settings, "welfare_status").iter_rows(named=True)}
    assert welfare == {"0000000005": True, "0000000011": False, "0000000014": True}
    disability = {r["atena_no"]: r for r in staged(settings, "disability_status").iter_rows(named=True)}
    assert set(disability) == {"0000000001", "0000000002", "0000000003", "0000000006", "0000000011"}
    assert disability["0000000001"]["special_by_grade"] and disability["0000000001"]["special_disability"]  # 身体1級
    assert not disability["0000000002"]["special_disability"]                                          # 精神2級
    assert disability["0000000003"]["intellectual_grade"] == "A" and disability["0000000003"]["special_by_grade"]
    assert disability["0000000006"]["special_declared"] and not disability["0000000006"]["special_by_grade"]
    assert disability["0000000011"]["certificate_count"] == 2 and disability["0000000011"]["special_by_grade"]  # 精神1級


def test_counts_reconcile_per_input_file(settings):
    report = run(fiscal_year=N, settings=settings, run_id=RUN_1)
    assert report["status"] == "success" and report["reconciliation"]["ok"] is True
    per_input = {e["source"]: e for e in report["per_input"]}
    assert {s: (e["received"], e["staged"], e["quarantined"], e["forwarded"]) for s, e in per_input.items()} == {
        "resident_registry": (29, 15, 14, 0),
        "my_number": (15, 6, 9, 0),
        "livelihood_assistance": (7, 3, 4, 0),
        "disability": (12, 6, 6, 0),
        "non_registered_register": (5, 2, 3, 0),
    }
    assert all(e["reconciles"] for e in report["per_input"])
    counts = report["counts"]
    assert (counts["received"], counts["staged"], counts["quarantined"], counts["forwarded"]) == (68, 32, 36, 0)
    # 15 registry persons and 2 住登外者; 11 residents and both 住登外者 lived in the ward on 1 January
    assert counts["residents"] == 17 and counts["resident_on_assessment_date"] == 13 and counts["vault_entries"] == 6
    assert counts["non_registered"] == 2
    assert sum(report["quarantine_reasons"].values()) == 36
    assert counts["warnings"] == 1 and counts["warnings_bad_check_digit"] == 1
    assert {(o["zone"], o["dataset"]) for o in report["outputs"]} == {
        ("staging", "residents"), ("staging", "households"), ("staging", "welfare_status"),
        ("staging", "disability_status"), ("staging", "non_registered_residents"), ("quarantine", "resident_snapshot"),
        ("quarantine", "resident_snapshot_warnings"), ("vault", "my_number"),
    }
    assert all(c["ok"] for c in report["reconciliation"]["checks"])
    for entry in report["inputs"]:
        data = (settings.lake / entry["path"]).read_bytes()
        assert entry["bytes"] == len(data)
    on_disk = json.loads(Path(report["report_path"]).read_text(encoding="utf-8"))
    assert on_disk["run_id"] == RUN_1 and "report_path" not in on_disk
    assert [r["run_id"] for r in load_latest(settings.lake)] == [RUN_1]


def test_my_number_only_in_the_encrypted_vault(settings, caplog):
    numbers = every_12_digit_number_of_the_fixture()
    assert "012345678903" in numbers and len(numbers) >= 10
    with caplog.at_level(logging.DEBUG):
        run(fiscal_year=N, settings=settings, run_id=RUN_1)
    files = lake_files(settings)
    assert any(p.startswith("vault/") for p in files)
    for path, data in files.items():
        for number in numbers:
            assert number.encode() not in data, f"My Number found in {path}"
        assert "港　太郎".encode() not in data or path.startswith("staging/residents")
    for record in caplog.records:
        text = record.getMessage()
        assert not re.search(r"[0-9]{12}", text) and "港" not in text and "0000000001" not in text
    vault_file = lake.partition_path(settings.lake, "vault", "my_number", M, N) / lake.DATA_FILE
    assert stat.S_IMODE(vault_file.stat().st_mode) == 0o600
    with pytest.raises(pl.exceptions.ComputeError, match="encrypted footer"):  # no key: the footer is encrypted
        pl.read_parquet(vault_file)
    with pytest.raises(pl.exceptions.ComputeError, match="unable to decrypt"):  # a wrong key
        lake.read_partition(settings.lake, "vault", "my_number", M, N,
                            decryption=lake.vault_encryption(os.urandom(32)))
    keys = settings.keys()  # the vault key (footer) without the My Number key (column)
    footer_only = lake.vault_encryption(keys.get("vault", 1).material, keys.get("my_number", 1).material
                                        ).decryption_properties(with_column_keys=False)
    assert pl.read_parquet(io.BytesIO(vault_file.read_bytes()), columns=["atena_no"], decryption=footer_only).height == 6
    with pytest.raises(pl.exceptions.ComputeError, match="'my_number' is encrypted"):  # the column has its own key
        pl.read_parquet(io.BytesIO(vault_file.read_bytes()), columns=["my_number"], decryption=footer_only)
    vault = lake.read_vault(settings, M, N, reason="テスト", run_id=None)
    assert dict(vault.iter_rows()) == {
        "0000000001": "123456789018", "0000000002": "012345678903", "0000000003": "983205673214",
        "0000000004": "621498320257", "0000000009": "555555555557", "0000000006": "777777777771",
    }
    assert vault.schema["my_number"] == pl.String
    operations = [r["operation"] for r in audit.read_audit(settings.lake)]
    assert operations == ["stage_run_started", "my_number_file_read", "vault_write", "stage_run_finished", "vault_read"]
    assert audit.verify_chain(settings.lake, settings=settings).ok


def test_rerun_on_same_inputs_is_byte_identical(settings):
    first = run(fiscal_year=N, settings=settings, run_id=RUN_1)
    before = {p: b for p, b in lake_files(settings).items() if p.split("/")[0] in ("staging", "quarantine", "vault")}
    second = run(fiscal_year=N, settings=settings, run_id=RUN_2)
    after = {p: b for p, b in lake_files(settings).items() if p.split("/")[0] in ("staging", "quarantine", "vault")}
    assert after == before
    assert all(o["unchanged"] for o in second["outputs"])
    assert [o["sha256"] for o in second["outputs"]] == [o["sha256"] for o in first["outputs"]]
    assert second["counts"] == first["counts"]
    # The quarantine keeps the run that produced it.
    quarantine = lake.read_partition(settings.lake, "quarantine", "resident_snapshot", M, N)
    assert (quarantine.get_column("run_id") == RUN_1).all()


def test_dry_run_writes_only_the_report(settings):
    report = run(fiscal_year=N, settings=settings, run_id=RUN_1, dry_run=True)
    assert report["dry_run"] is True and report["status"] == "success" and report["outputs"] == []
    assert report["reconciliation"]["ok"] and report["counts"]["quarantined"] == 36
    zones = {p.split("/")[0] for p in lake_files(settings)}
    assert zones == {"reports", "audit", "locks"}  # the lock file holds no data, only the running run
    assert [r["operation"] for r in audit.read_audit(settings.lake)] == [
        "stage_run_started", "my_number_file_read", "stage_run_finished"]
    assert not (settings.key_dir / "vault.v1.key").exists()  # no vault key needed to look


# ------------------------------------------------------------------------------------- input errors


def test_missing_input_file_names_the_expected_path(settings):
    directory = settings.landing / "disability" / "municipality=131032" / "fiscal_year=2026"
    shutil.rmtree(directory)
    with pytest.raises(InputFileError) as error:
        run(fiscal_year=N, settings=settings, run_id=RUN_1)
    assert str(directory / "shogaisha_131032_20260101.csv") in str(error.value)
    assert "expected the 障害者ファイル" in str(error.value)
    [report] = load_latest(settings.lake)
    assert report["status"] == "failed" and "shogaisha_131032_20260101.csv" in report["messages"][-1]
    assert not (settings.lake / "staging").exists()


def test_wrong_header_is_refused_without_echoing_it(settings):
    path = settings.landing / REGISTRY
    data = path.read_bytes()
    first_record = data.split(b"\n")[1]
    path.write_bytes(data.split(b"\n", 1)[1])  # header dropped: the first line is a person
    with pytest.raises(InputFileError) as error:
        run(fiscal_year=N, settings=settings, run_id=RUN_1)
    message = str(error.value)
    assert "record 1" in message and "expected the header atena_no,household_no" in message
    assert first_record.decode().split(",")[3] not in message  # the person's name is not printed


def test_crlf_file_is_refused(settings):
    path = settings.landing / REGISTRY
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    with pytest.raises(InputFileError, match="CR LF"):
        run(fiscal_year=N, settings=settings, run_id=RUN_1)


def test_empty_file_is_refused(settings):
    (settings.landing / REGISTRY).write_bytes(b"")
    with pytest.raises(InputFileError, match="empty"):
        run(fiscal_year=N, settings=settings, run_id=RUN_1)


def test_contract_failure_is_an_operator_sentence_without_values():
    bad = pl.DataFrame({"atena_no": ["0000000001", "0000000002"], "my_number": ["123456789010", "123456789010"]})
    with pytest.raises(ContractError) as error:
        validate(VaultEntry, bad, "vault/my_number", RUN_1)
    message = str(error.value)
    assert "vault/my_number breaks its contract VaultEntry" in message and RUN_1 in message
    assert "123456789010" not in message and error.value.__cause__ is None


# --------------------------------------------------------------------------------- pure transforms


def test_decode_lines_numbers_lines_and_flags_bad_bytes():
    decoded = t.decode_lines(b"\xef\xbb\xbfa,b\n1,2\n\xff,3\n4,5", "f.csv")
    assert decoded.had_bom and decoded.header == "a,b"
    assert decoded.lines.rows() == [("f.csv", 2, "1,2"), ("f.csv", 3, None), ("f.csv", 4, "4,5")]
    assert t.decode_lines(b"", "f.csv").empty
    assert t.decode_lines(b"a,b\n", "f.csv").lines.height == 0


def test_split_fields_follows_rfc_4180():
    layout = load_layout("my_number")
    lines = pl.DataFrame(
        {
            "file": ["f"] * 7,
            "record_no": list(range(2, 9)),
            "line": ['"0000000001","123456789018"', '0000000002,""', 'a"b,1', '"x,y",1', '"x""y",1', "1,2,3", '"open,1'],
        },
        schema=t.LINES_SCHEMA,
    )
    out = t.split_fields(lines, layout).sort("record_no")
    assert out.select("record_no", "_reason", "atena_no", "my_number").rows() == [
        (2, None, "0000000001", "123456789018"),
        (3, None, "0000000002", None),          # "" is empty → null
        (4, "broken_quoting", None, None),      # a quote inside an unquoted field
        (5, None, "x,y", "1"),
        (6, None, 'x"y', "1"),
        (7, "wrong_field_count", None, None),
        (8, "broken_quoting", None, None),
    ]


def test_assessment_day_boundary_in_isolation():
    """residents_frame on registry rows written here, with the answers worked out from the law: resident on
    1 January N (賦課期日, 地方税法第39条・第318条) = recorded in the 住民基本台帳 on that day (第24条第2項・第294条
    第2項): became resident on or before 1 January and not removed on or before it (a removal dated 1 January
    takes effect that day). Age on 1 January (年齢計算ニ関スル法律, 民法第143条): a birthday on 2 January is
    reached at the end of 1 January; a person born after 1 January has no age yet."""
    rows = [
        # atena_no, became resident, removal reason, removal date, birth date → (resident on 1 Jan, age)
        ("0000000001", "20000101", "転出", "20251231", "19800615"),  # left on 31 Dec → not resident
        ("0000000002", "20000101", "転出", "20260101", "19800615"),  # left on 1 Jan → not resident
        ("0000000003", "20000101", "死亡", "20260102", "19800615"),  # died 2 Jan → resident
        ("0000000004", "20260101", None, None, "19800102"),          # moved in 1 Jan → resident; 46 (birthday 2 Jan)
        ("0000000005", "20260102", None, None, "19800103"),          # moved in 2 Jan → not resident; 45
        ("0000000006", "20260101", None, None, "20260101"),          # born 1 Jan → resident, age 0
        ("0000000007", "20260105", None, None, "20260105"),          # born 5 Jan → not resident, no age
        ("0000000008", "19991231", "死亡", "20260101", "19600229"),  # died 1 Jan → not resident; 65 (29 Feb)
    ]
    text = lambda: pl.String  # noqa: E731
    registry = pl.DataFrame(
        [{"atena_no": a, "household_no": "0000000101", "relationship": "世帯員", "name_kanji": "港　某",
          "name_kana": "ミナト　ボウ", "alias_kanji": None, "alias_kana": None, "birth_date": birth, "sex": "1",
          "postal_code": "1058511", "town_code": "001", "address": "東京都港区芝公園一丁目", "address_detail": None,
          "resident_type": "1", "nationality": None, "became_resident_date": became, "removal_reason": reason,
          "removal_date": removed, "destination_municipality_code": None, "destination_address": None,
          "_reason": None}
         for a, became, reason, removed, birth in rows],
        schema_overrides={c: text() for c in ("alias_kanji", "alias_kana", "address_detail", "nationality",
                                              "removal_reason", "removal_date", "destination_municipality_code",
                                              "destination_address", "_reason")},
    )
    got = t.residents_frame(registry, 2026).select("atena_no", "resident_on_assessment_date", "age_on_assessment_date")
    assert got.rows() == [
        ("0000000001", False, 45), ("0000000002", False, 45), ("0000000003", True, 45), ("0000000004", True, 46),
        ("0000000005", False, 45), ("0000000006", True, 0), ("0000000007", False, None), ("0000000008", False, 65),
    ]
    assert t.assessment_date(2026) == date(2026, 1, 1)


# ------------------------------------------------------------------------------------------ config


def test_settings_from_environment(tmp_path):
    s = Settings.from_env({"JUMINZEI_HOME": str(tmp_path)})
    assert s.lake == tmp_path / "var" / "lake" and s.landing == s.lake / "landing"
    assert s.municipality == "131032" and s.vault_key_file == tmp_path / "var" / "keys" / "vault.key"
    assert s.department == "税務課" and s.actor
    other = Settings.from_env({"JUMINZEI_HOME": str(tmp_path), "JUMINZEI_LAKE": str(tmp_path / "l"),
                               "JUMINZEI_LANDING": str(tmp_path / "in"), "JUMINZEI_MUNICIPALITY": "131016"})
    assert (other.lake, other.landing, other.municipality) == (tmp_path / "l", tmp_path / "in", "131016")
    with pytest.raises(ConfigError):
        Settings.from_env({"JUMINZEI_HOME": str(tmp_path), "JUMINZEI_MUNICIPALITY": "13103"})


def test_vault_key_created_private_and_checked(tmp_path):
    path = tmp_path / "keys" / "vault.key"
    key = load_vault_key(path)
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_vault_key(path) == key
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="600"):
        load_vault_key(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_vault_key(tmp_path / "none.key", create=False)


def test_run_ids_sort_by_time():
    early = new_run_id("resident_snapshot", datetime(2026, 1, 5, 9, 30, tzinfo=UTC))
    late = new_run_id("resident_snapshot", datetime(2026, 1, 5, 18, 30, tzinfo=UTC))
    assert early.startswith("20260105T093000Z-resident_snapshot-") and RUN_ID_RE.match(early)
    assert early < late
    with pytest.raises(ConfigError):
        new_run_id("Resident Snapshot")


def test_non_registered_persons_are_staged_as_residents_of_the_ward_with_their_registration(settings):
    """地方税法第294条第3項: a person who lived in the ward on 1 January without a 住民票 here is taxed as
    its resident. The two valid records of the 住登外者 登録ファイル fixture join staging/residents with
    status ``non_registered`` (their 居住開始年月日 as ``became_resident_date``, resident on 1 January, age
    from the birth date), and staging/non_registered_residents says where each 住民票 is."""
    run(fiscal_year=N, settings=settings, run_id=RUN_1)
    residents = staged(settings, "residents").filter(pl.col("registry_status") == "non_registered")
    assert residents.select("atena_no", "name_kanji", "became_resident_date", "resident_on_assessment_date",
                            "age_on_assessment_date", "removal_reason", "nationality").rows() == [
        # born 5 April 1980: 45 on 1 January 2026; born 7 July 1990: 35
        ("0900000001", "住登　一郎", date(2025, 4, 1), True, 45, None, None),
        ("0900000002", "ＳＭＩＴＨ　ＪＯＨＮ", date(2024, 9, 1), True, 35, None, "英国"),
    ]
    where = staged(settings, "non_registered_residents")
    assert where.rows() == [
        ("0900000001", "131016", "東京都千代田区神田一丁目１番１号", date(2025, 4, 1), date(2026, 3, 10)),
        ("0900000002", "141003", "神奈川県横浜市中区港町一丁目１番地", date(2024, 9, 1), date(2026, 3, 12)),
    ]
    # a household of one each
    households = staged(settings, "households").filter(pl.col("household_no").str.starts_with("09"))
    assert households.select("household_no", "head_atena_no", "member_count").rows() == [
        ("0900000001", "0900000001", 1), ("0900000002", "0900000002", 1)]


def test_a_ward_without_a_non_registered_register_is_taxed_without_one(settings):
    """The 住登外者 登録ファイル is optional: without it the run succeeds, says so, and stages nobody as 住登外."""
    shutil.rmtree(settings.landing / "non_registered_register")
    report = run(fiscal_year=N, settings=settings, run_id=RUN_1)
    assert report["status"] == "success" and report["counts"]["non_registered"] == 0
    assert any("住登外" in m and "non_registered_register" in m for m in report["messages"])
    assert staged(settings, "non_registered_residents").height == 0
