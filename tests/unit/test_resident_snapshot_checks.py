"""The record checks of the 住登外者 登録ファイル and of the files keyed by 宛名番号, on hand-built lines.

The stage tests of ``test_resident_snapshot.py`` run these checks through a whole generated-style
fixture; these fast tests state each rule on its own (one line per rule, the answer worked out here), so
that a fault in one check is seen without running a stage (and mutation runs stay fast).

Rules checked (transforms/resident_snapshot.py, docs/sample-ward.md "Registry files"):
- a 住登外者 must have lived in the ward on 1 January N (賦課期日, 地方税法第39条・第318条; 第294条第3項
  taxes a person with a 住所 in the ward not in its 住民基本台帳), so 居住開始年月日 after it is refused;
- born after 居住開始年月日 contradicts itself;
- the 住民票 must be in another municipality (a person registered here is in the 住民記録, not 住登外);
- the 宛名番号 must be the person's own: not one the registry staged or held;
- a 宛名番号 twice in a file: every record of it is held, none guessed.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from contracts.identifiers import my_number_check_digit
from contracts.resident_snapshot import load_layout
from transforms import resident_snapshot as t

WARD = "131032"

# A 住登外者 record, field by field in the layout's order (synthetic person).
BASE = {
    "atena_no": "0900000001", "household_no": "0950000001", "relationship": "世帯主",
    "name_kanji": "吉田　麻衣", "name_kana": "ヨシダ　マイ", "alias_kanji": "", "alias_kana": "",
    "birth_date": "19990627", "sex": "2", "postal_code": "1080071", "town_code": "0012005",
    "address": "東京都港区白金台五丁目２番２４号", "address_detail": "", "resident_type": "1", "nationality": "",
    "living_since": "20240222", "registered_municipality_code": "041009",
    "registered_address": "宮城県仙台市青葉区国分町１５番地", "confirmed_date": "20260307",
}


def lines_of(records: list[dict[str, str]], layout_name: str) -> pl.DataFrame:
    names = [f.name for f in load_layout(layout_name).fields]
    assert all(list(r) == names for r in records), "a record's fields must follow the layout"
    return pl.DataFrame(
        {"file": ["f.csv"] * len(records), "record_no": list(range(2, len(records) + 2)),
         "line": [",".join(r.values()) for r in records]},
        schema=t.LINES_SCHEMA,
    )


def person(atena_no: str, **changes: str) -> dict[str, str]:
    return {**BASE, "atena_no": atena_no, **changes}


def outcome(frame: pl.DataFrame) -> list[tuple]:
    return frame.sort("record_no").select("atena_no", "_reason", "_field", "_detail").rows()


def no_registry() -> pl.DataFrame:
    return pl.DataFrame(schema={"atena_no": pl.String, "_registry": pl.String})


def test_each_non_registered_rule_refuses_its_record_and_only_it():
    records = [
        person("0900000001"),                                                 # good
        person("0900000002", birth_date="20240301"),                          # born after moving in
        person("0900000003", living_since="20260102"),                        # moved in after 1 January
        person("0900000004", living_since="20260101"),                        # moved in on 1 January: good
        person("0900000005", registered_municipality_code=WARD),              # 住民票 in the ward itself
        person("0900000006", birth_date="20240222"),                          # born the day of moving in: good
    ]
    got = t.non_registered_records(lines_of(records, "non_registered_register"),
                                   load_layout("non_registered_register"), no_registry(),
                                   fiscal_year=2026, municipality=WARD)
    assert outcome(got) == [
        ("0900000001", None, None, None),
        ("0900000002", "inconsistent_dates", "birth_date",
         "is later than 居住開始年月日; expected birth on or before it"),
        ("0900000003", "inconsistent_registration", "living_since",
         "is after 1 January 2026 (賦課期日); expected a 住登外者 who lived in the ward on that day"),
        ("0900000004", None, None, None),
        ("0900000005", "inconsistent_registration", "registered_municipality_code",
         "is this ward's own code; expected the municipality of the 住民票 (a person registered here is in the "
         "住民記録, not 住登外)"),
        ("0900000006", None, None, None),
    ]
    assert "_registry" not in got.columns


def test_without_the_ward_code_the_own_ward_check_is_not_made():
    got = t.non_registered_records(lines_of([person("0900000005", registered_municipality_code=WARD)],
                                            "non_registered_register"),
                                   load_layout("non_registered_register"), no_registry(), fiscal_year=2026)
    assert outcome(got) == [("0900000005", None, None, None)]


def test_a_registry_persons_atena_no_and_a_repeated_one_are_refused():
    state = pl.DataFrame({"atena_no": ["0000000001", "0000000002"], "_registry": ["staged", "held"]})
    records = [person("0000000001"), person("0000000002"), person("0900000007"), person("0900000007"),
               person("0900000008")]
    got = t.non_registered_records(lines_of(records, "non_registered_register"),
                                   load_layout("non_registered_register"), state, fiscal_year=2026,
                                   municipality=WARD)
    assert outcome(got) == [
        ("0000000001", "atena_no_in_registry", "atena_no", None),
        ("0000000002", "atena_no_in_registry", "atena_no", None),
        ("0900000007", "duplicate_atena_no", "atena_no", "2 records (lines 4, 5)"),
        ("0900000007", "duplicate_atena_no", "atena_no", "2 records (lines 4, 5)"),
        ("0900000008", None, None, None),
    ]


def test_a_keyed_file_holds_every_record_of_a_repeated_atena_no_and_names_the_field():
    names = [f.name for f in load_layout("livelihood_assistance").fields]
    row = dict.fromkeys(names, "")
    row.update(atena_no="0000000001", case_no="C-1", assistance_start_date="20250401")

    def rec(atena_no: str) -> dict[str, str]:
        return {**row, "atena_no": atena_no}

    got = t.keyed_records(lines_of([rec("0000000001"), rec("0000000002"), rec("0000000001")],
                                   "livelihood_assistance"), load_layout("livelihood_assistance"))
    assert outcome(got) == [
        ("0000000001", "duplicate_atena_no", "atena_no", "2 records (lines 2, 4)"),
        ("0000000002", None, None, None),
        ("0000000001", "duplicate_atena_no", "atena_no", "2 records (lines 2, 4)"),
    ]
    state = pl.DataFrame({"atena_no": ["0000000001"], "_registry": ["held"]})
    got = t.keyed_records(lines_of([rec("0000000001"), rec("0000000003")], "livelihood_assistance"),
                          load_layout("livelihood_assistance"), state)
    assert outcome(got) == [
        ("0000000001", "atena_no_quarantined", "atena_no", None),
        ("0000000003", "unknown_atena_no", "atena_no", None),
    ]


def registry_person(atena_no: str, **changes: str) -> dict[str, str]:
    base = {k: BASE[k] for k in ("household_no", "relationship", "name_kanji", "name_kana", "alias_kanji",
                                 "alias_kana", "birth_date", "sex", "postal_code", "town_code", "address",
                                 "address_detail", "resident_type", "nationality")}
    record = {"atena_no": atena_no, **base, "household_no": "0000000101", "became_resident_date": "20100401",
              "removal_reason": "", "removal_date": "", "destination_municipality_code": "",
              "destination_address": ""}
    return {**record, **changes}


def test_non_registered_persons_join_the_residents_as_living_in_the_ward_on_1_january():
    """A 住登外者 is taxed as a resident (地方税法第294条第3項): status ``non_registered``, resident on
    1 January from 居住開始年月日, never removed; a refused 住登外 record is not a resident; the registry's
    own people keep their status from the 消除事由 (none: resident, 転出: moved out, else deceased)."""
    registry = t.registry_records(lines_of([
        registry_person("0000000001"),
        registry_person("0000000002", removal_reason="転出", removal_date="20251201",
                        destination_municipality_code="041009", destination_address="宮城県仙台市青葉区"),
        registry_person("0000000003", removal_reason="死亡", removal_date="20260105"),
        registry_person("0000000004", birth_date="20300101"),   # born after moving in: refused
    ], "resident_registry"), load_layout("resident_registry"))
    non_registered = t.non_registered_records(lines_of([
        person("0900000001", sex="1", resident_type="2", nationality="大韓民国", birth_date="19860103"),
        person("0900000002", living_since="20260102"),          # refused: moved in after 1 January
    ], "non_registered_register"), load_layout("non_registered_register"), t.registry_state(registry),
        fiscal_year=2026, municipality=WARD)
    got = t.residents_frame(registry, 2026, non_registered)
    assert got.select("atena_no", "registry_status", "resident_on_assessment_date", "age_on_assessment_date",
                      "became_resident_date", "removal_reason", "removal_date").rows() == [
        ("0000000001", "resident", True, 26, date(2010, 4, 1), None, None),       # born 1999-06-27
        ("0000000002", "moved_out", False, 26, date(2010, 4, 1), "転出", date(2025, 12, 1)),
        ("0000000003", "deceased", True, 26, date(2010, 4, 1), "死亡", date(2026, 1, 5)),
        ("0900000001", "non_registered", True, 39, date(2024, 2, 22), None, None),  # 3 Jan birthday: 39
    ]
    nr = got.filter(pl.col("atena_no") == "0900000001").row(0, named=True)
    assert (nr["sex"], nr["resident_type"], nr["nationality"], nr["household_no"], nr["address"],
            nr["destination_municipality_code"], nr["destination_address"]) == (
        1, 2, "大韓民国", "0950000001", "東京都港区白金台五丁目２番２４号", None, None)
    assert got.schema["sex"] == pl.Int8 and got.schema["resident_type"] == pl.Int8
    assert got.schema["age_on_assessment_date"] == pl.Int16 and "_non_registered" not in got.columns
    # Without a register (or with an empty one) the registry alone gives the residents.
    alone = t.residents_frame(registry, 2026)
    assert alone.get_column("atena_no").to_list() == ["0000000001", "0000000002", "0000000003"]
    assert alone.equals(t.residents_frame(registry, 2026, non_registered.clear()))


def test_the_non_registered_dataset_says_where_each_accepted_persons_resident_record_is():
    records = t.non_registered_records(lines_of([
        person("0900000003", registered_municipality_code="011002", registered_address="北海道札幌市中央区",
               living_since="20230510", confirmed_date="20260212"),
        person("0900000001"),
        person("0900000002", living_since="20260102"),          # refused
    ], "non_registered_register"), load_layout("non_registered_register"), no_registry(), fiscal_year=2026)
    got = t.non_registered_frame(records)
    assert got.rows() == [
        ("0900000001", "041009", "宮城県仙台市青葉区国分町１５番地", date(2024, 2, 22), date(2026, 3, 7)),
        ("0900000003", "011002", "北海道札幌市中央区", date(2023, 5, 10), date(2026, 2, 12)),
    ]
    assert got.columns == ["atena_no", "registered_municipality_code", "registered_address", "living_since",
                           "confirmed_date"]
    assert got.schema["living_since"] == pl.Date and got.schema["confirmed_date"] == pl.Date


# ------------------------------------------------------------------------------------- build_snapshot
def snapshot_lines(*, with_register: bool) -> dict[str, pl.DataFrame]:
    empty = pl.DataFrame(schema=t.LINES_SCHEMA)
    lines = {
        "resident_registry": lines_of([registry_person("0000000001"), registry_person("0000000002")],
                                      "resident_registry"),
        "my_number": lines_of([{"atena_no": "0000000001", "my_number": "12345678901" + str(my_number_check_digit("12345678901"))}],
                              "my_number"),
        "livelihood_assistance": empty, "disability": empty,
    }
    if with_register:
        lines["non_registered_register"] = lines_of([person("0900000001")], "non_registered_register")
    return lines


def test_a_snapshot_counts_each_file_and_takes_the_register_as_optional():
    """Every input file is counted (received = staged + quarantined, nothing forwarded at this stage, all
    Int64); a ward that sends no 住登外者 登録ファイル gets a snapshot without 住登外者, not an error."""
    with_register = t.build_snapshot(snapshot_lines(with_register=True), fiscal_year=2026, run_id="r", municipality=WARD)
    assert with_register.per_file.rows() == [
        ("my_number", "f.csv", 1, 1, 0, 0),
        ("non_registered_register", "f.csv", 1, 1, 0, 0),
        ("resident_registry", "f.csv", 2, 2, 0, 0),
    ]
    assert with_register.per_file.schema == pl.Schema({
        "source": pl.String, "file": pl.String, "received": pl.Int64, "staged": pl.Int64,
        "quarantined": pl.Int64, "forwarded": pl.Int64})
    assert with_register.residents.get_column("atena_no").to_list() == ["0000000001", "0000000002", "0900000001"]
    assert with_register.non_registered_residents.get_column("atena_no").to_list() == ["0900000001"]

    without = t.build_snapshot(snapshot_lines(with_register=False), fiscal_year=2026, run_id="r", municipality=WARD)
    assert without.per_file.get_column("source").to_list() == ["my_number", "resident_registry"]
    assert without.residents.get_column("atena_no").to_list() == ["0000000001", "0000000002"]
    assert without.non_registered_residents.height == 0
    assert without.non_registered_residents.columns == with_register.non_registered_residents.columns


def test_a_snapshot_refuses_to_run_without_a_required_source_and_names_it():
    lines = snapshot_lines(with_register=False)
    del lines["disability"], lines["my_number"]
    with pytest.raises(ValueError) as caught:
        t.build_snapshot(lines, fiscal_year=2026, run_id="r")
    assert str(caught.value) == "build_snapshot needs lines of every source; missing ['my_number', 'disability']"


def test_a_layout_given_by_the_caller_replaces_the_committed_one():
    """``layouts`` overrides a source's layout (how a ward's own variant would be read): a 続柄 limited to
    2 characters here quarantines 世帯主 (3) as too long."""
    import dataclasses

    committed = load_layout("resident_registry")
    narrow = dataclasses.replace(committed, fields=tuple(
        dataclasses.replace(f, max_length=2) if f.name == "relationship" else f for f in committed.fields))
    got = t.build_snapshot(snapshot_lines(with_register=False), fiscal_year=2026, run_id="r",
                           layouts={"resident_registry": narrow})
    assert got.per_file.filter(pl.col("source") == "resident_registry").rows() == [
        ("resident_registry", "f.csv", 2, 0, 2, 0)]
    # and the 個人番号 of a person held in quarantine is held with them
    assert sorted(got.quarantine.select("source", "field", "reason_code").unique().rows()) == [
        ("my_number", "atena_no", "atena_no_quarantined"), ("resident_registry", "relationship", "bad_format")]


def test_a_reason_code_without_a_definition_stops_the_snapshot(monkeypatch):
    """Every quarantine reason must be defined for the operator (contracts.resident_snapshot.REASON_CODES);
    a check that gives an undefined one is a programming error, stopped before anything is written."""
    monkeypatch.setattr(t, "REASON_CODES", {k: v for k, v in t.REASON_CODES.items() if k != "inconsistent_dates"})
    lines = snapshot_lines(with_register=False)
    lines["resident_registry"] = lines_of([registry_person("0000000001", birth_date="20300101")], "resident_registry")
    with pytest.raises(ValueError) as caught:
        t.build_snapshot(lines, fiscal_year=2026, run_id="r")
    assert str(caught.value) == "reason codes without a definition: ['inconsistent_dates']"


def test_the_age_on_1_january_counts_a_birthday_reached_only_by_one_born_on_1_or_2_january():
    """年齢計算ニ関スル法律 and 民法第143条: a person reaches a new age at the end of the day before the
    birthday, so on 1 January only those born on 1 or 2 January have had this year's birthday. Born 1980:
    2 January → 46; 3 January, 1 February, 2 February, 31 December → 45."""
    births = {"0000000001": "19800102", "0000000002": "19800103", "0000000003": "19800201",
              "0000000004": "19800202", "0000000005": "19801231"}
    registry = t.registry_records(lines_of([registry_person(a, birth_date=b) for a, b in births.items()],
                                           "resident_registry"), load_layout("resident_registry"))
    got = t.residents_frame(registry, 2026).select("atena_no", "age_on_assessment_date").rows()
    assert got == [("0000000001", 46), ("0000000002", 45), ("0000000003", 45), ("0000000004", 45),
                   ("0000000005", 45)]
