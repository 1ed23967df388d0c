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

import polars as pl

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
