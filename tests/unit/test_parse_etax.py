"""transforms.parse_etax: hand-made minimal e-Tax documents per reason code, the hostile corpus, and a
scored run on a generated ward (truth/documents.parquet; amounts re-read from the XML text by regex)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest
import yaml

from contracts.identifiers import my_number_check_digit
from transforms.parse_etax import AMOUNT_ITEMS, QUARANTINE_SCHEMA, REASON_CODES, parse_etax_returns

NS = "http://xml.e-tax.nta.go.jp/XSD/shotoku"
GEN = "http://xml.e-tax.nta.go.jp/XSD/general"
JMZ = "urn:juminzei:synthetic"
LAYOUT = Path(__file__).resolve().parents[2] / "contracts" / "layouts" / "etax_return.yaml"
BASE11 = "12345678901"
MY_NUMBER = BASE11 + str(my_number_check_digit(BASE11))
BAD_MY_NUMBER = BASE11 + str((my_number_check_digit(BASE11) + 1) % 10)
NAME = "港　一郎"
DEP_BASE = "98765432109"
DEP_NUMBER = DEP_BASE + str(my_number_check_digit(DEP_BASE))


def _date(tag: str, era: str, yy: str, mm: str, dd: str) -> str:
    return f"<{tag}><gen:era>{era}</gen:era><gen:yy>{yy}</gen:yy><gen:mm>{mm}</gen:mm><gen:dd>{dd}</gen:dd></{tag}>"


def doc(
    *,
    ns: str = NS,
    name: str | None = NAME,
    my_number: str | None = MY_NUMBER,
    birth: tuple[str, str, str, str] | None = ("3", "59", "9", "2"),
    sex: str = "2",
    social_insurance: str = "339573",
    dependant_birthday: str = "2015-04-01",
) -> bytes:
    """A minimal well-formed return in the layout of contracts/layouts/etax_return.yaml."""
    it = [
        "<ZEIMUSHO><gen:zeimusho_CD>00001</gen:zeimusho_CD><gen:zeimusho_NM>芝</gen:zeimusho_NM></ZEIMUSHO>",
        _date("TEISYUTSU_DAY", "5", "8", "3", "1"),
        "<NOZEISHA_ID>0000000000000001</NOZEISHA_ID>",
        f"<NOZEISHA_BANGO><gen:kojinbango>{my_number}</gen:kojinbango></NOZEISHA_BANGO>" if my_number is not None else "",
        "<NOZEISHA_NM_KN>ミナト　イチロウ</NOZEISHA_NM_KN>",
        f"<NOZEISHA_NM>{name}</NOZEISHA_NM>" if name is not None else "",
        "<NOZEISHA_ZIP><gen:zip1>105</gen:zip1><gen:zip2>0011</gen:zip2></NOZEISHA_ZIP>",
        "<NOZEISHA_ADR>東京都港区芝公園一丁目１番１号</NOZEISHA_ADR><NOZEISHA_ADR_CODE>13103</NOZEISHA_ADR_CODE>",
        "<ICHIGATSUIPPI_ADR>東京都港区芝公園一丁目１番１号</ICHIGATSUIPPI_ADR><ICHIGATSUIPPI_ADR_CODE>13103</ICHIGATSUIPPI_ADR_CODE>",
        f"<SEIBETSU><gen:kubun_CD>{sex}</gen:kubun_CD></SEIBETSU>",
        _date("BIRTHDAY", *birth) if birth is not None else "",
        "<NENBUN><gen:era>5</gen:era><gen:yy>7</gen:yy></NENBUN>",
    ]
    abb = (
        "<ABB00000><ABB00010><ABB00080>5000000</ABB00080></ABB00010>"
        "<ABB00270><ABB00370>3560000</ABB00370><ABB00410>3560000</ABB00410></ABB00270>"
        f"<ABB00420><ABB00450>{social_insurance}</ABB00450><ABB00550>580000</ABB00550>"
        "<ABB00555>919573</ABB00555><ABB00560>919573</ABB00560></ABB00420>"
        "<ABB00570><ABB00580>2640000</ABB00580><ABB00590>166500</ABB00590><ABB00670>166500</ABB00670>"
        "<ABB01010>166500</ABB01010><ABB01020>3496</ABB01020><ABB01030>169996</ABB01030>"
        "<ABB00710>200000</ABB00710><ABB00720>-30004</ABB00720><ABB00740><ABB00760>30004</ABB00760></ABB00740>"
        "</ABB00570></ABB00000>"
    )
    koa2 = (
        "<ABI00000><ABI00010><gen:kubun_CD>1</gen:kubun_CD></ABI00010><ABI00240>30000</ABI00240></ABI00000>"
        '<jmz:SHINZOKU_LIST><jmz:HONNIN shogai="0" kafu="0" hitorioya="1" kinro_gakusei="0"/>'
        f'<jmz:SHINZOKU kubun="2" nm="港　二郎" bango="{DEP_NUMBER}" birthday="{dependant_birthday}" dokyo="1" shogai="0" shotoku="0"/>'
        "</jmz:SHINZOKU_LIST>"
    )
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<DATA xmlns="{ns}" xmlns:gen="{GEN}" xmlns:jmz="{JMZ}" id="data0">\n'
        '<RKO0010 VR="25.0.0" id="RKO0010">\n<CATALOG id="catalog0"/>\n<CONTENTS id="contents0">\n'
        f"<IT>{''.join(it)}</IT>\n"
        f'<KOA020 VR="23.0">\n<KOA020-1>{abb}</KOA020-1>\n<KOA020-2>{koa2}</KOA020-2>\n</KOA020>\n'
        "</CONTENTS>\n</RKO0010>\n</DATA>\n"
    )
    return text.encode("utf-8")


def reasons(data: bytes, name: str = "t.xtx") -> list[tuple[str | None, str]]:
    q = parse_etax_returns([(name, data)]).quarantine
    return list(zip(q["field"].to_list(), q["reason_code"].to_list(), strict=True))


# --- the sound return -----------------------------------------------------------------------------
def test_sound_return_is_typed() -> None:
    parsed = parse_etax_returns([("ok.xtx", doc())])
    assert parsed.quarantine.height == 0
    assert parsed.quarantine.schema == pl.Schema(QUARANTINE_SCHEMA)
    row = parsed.returns.row(0, named=True)
    assert row["file"] == "ok.xtx" and row["record_no"] == 1
    assert row["my_number"] == MY_NUMBER and row["my_number_missing"] is False
    assert row["name_kanji"] == NAME and row["name_kana"] == "ミナト　イチロウ"
    assert row["birth_date"] == dt.date(1984, 9, 2)  # e-Tax 3 = 昭和 (docs/sources.md F1.5)
    assert row["submitted_date"] == dt.date(2026, 3, 1) and row["income_year"] == 2025
    assert row["sex"] == 2 and row["postal_code"] == "1050011" and row["jan1_address_code"] == "13103"
    assert row["revenue_salary"] == 5_000_000 and row["income_salary"] == 3_560_000
    assert row["deduction_social_insurance"] == 339_573 and row["taxable_income"] == 2_640_000
    assert row["tax_due"] == -30_004 and row["tax_refund"] == 30_004
    assert row["deduction_medical"] == 0  # omitted element = 0 (layout: amounts of 0 are not written)
    assert row["resident_tax_collection"] == "1" and row["resident_tax_furusato"] == 30_000
    assert row["single_parent"] is True and row["gaiji_flag"] is False
    amount_dtypes = {parsed.returns.schema[column] for column, _ in AMOUNT_ITEMS.values()}
    assert amount_dtypes == {pl.Int64}
    dep = parsed.dependants.row(0, named=True)
    assert dep == {
        "file": "ok.xtx", "dependant_no": 1, "relationship": "dependant", "name_kanji": "港　二郎", "name_kana": None,
        "birth_date": dt.date(2015, 4, 1), "my_number": DEP_NUMBER, "my_number_missing": False, "cohabiting": True,
        "disability": 0, "total_income": 0, "gaiji_flag": False,
    }


@pytest.mark.parametrize(
    ("birth", "expected"),
    [
        (("1", "45", "7", "29"), dt.date(1912, 7, 29)),  # 明治45年7月29日, the last day of 明治
        (("2", "1", "7", "30"), dt.date(1912, 7, 30)),  # 大正元年
        (("4", "31", "4", "30"), dt.date(2019, 4, 30)),
        (("5", "1", "5", "1"), dt.date(2019, 5, 1)),
    ],
)
def test_etax_era_codes_not_the_legal_csv_codes(birth: tuple[str, str, str, str], expected: dt.date) -> None:
    assert parse_etax_returns([("e.xtx", doc(birth=birth))]).returns["birth_date"].to_list() == [expected]


def test_gaiji_kept_and_flagged() -> None:
    parsed = parse_etax_returns([("g.xtx", doc(name="𠮷田　一郎")), ("h.xtx", doc(name="辻\U000e0100本　一郎")), ("i.xtx", doc())])
    assert parsed.returns["name_kanji"].to_list() == ["𠮷田　一郎", "辻\U000e0100本　一郎", NAME]
    assert parsed.returns["gaiji_flag"].to_list() == [True, True, False]


def test_missing_my_number_is_flagged_not_quarantined() -> None:
    for number in (None, ""):
        parsed = parse_etax_returns([("m.xtx", doc(my_number=number))])
        assert parsed.quarantine.height == 0
        assert parsed.returns.select("my_number", "my_number_missing").row(0) == (None, True)


# --- one hand-made document per reason code ---------------------------------------------------------
HOSTILE_XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE DATA [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    f'<DATA xmlns="{NS}"><NOZEISHA_NM>&xxe;</NOZEISHA_NM></DATA>'
).encode()
HOSTILE_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE DATA [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n'
    f'<DATA xmlns="{NS}"><NOZEISHA_NM>&c;</NOZEISHA_NM></DATA>'
).encode()
HOSTILE_DTD = (
    '<?xml version="1.0"?>\n<!DOCTYPE DATA SYSTEM "http://dtd.example.invalid/shotoku.dtd">\n'
    f'<DATA xmlns="{NS}"><NOZEISHA_NM>x</NOZEISHA_NM></DATA>'
).encode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<DATA/>" + b" " * 2_000_001, (None, "xml_too_large")),
        (HOSTILE_DTD, (None, "xml_doctype_forbidden")),
        (HOSTILE_XXE, (None, "xml_entity_forbidden")),
        (HOSTILE_LAUGHS, (None, "xml_entity_forbidden")),
        (doc()[:700], (None, "xml_malformed")),
        ("\ufeff".encode("utf-16-le") + doc().decode().replace("UTF-8", "UTF-16").encode("utf-16-le"), (None, "xml_encoding_forbidden")),
        (doc(ns="http://xml.e-tax.nta.go.jp/XSD/shohi"), ("DATA/@xmlns", "wrong_namespace")),
        (doc(name=None), ("IT/NOZEISHA_NM", "missing_required_element")),
        (doc(name="　"), ("IT/NOZEISHA_NM", "missing_required_element")),
        (doc(social_insurance="33957O"), ("KOA020/ABB00450", "non_numeric_amount")),
        (doc(social_insurance="３３９５７３"), ("KOA020/ABB00450", "non_numeric_amount")),
        (doc(birth=("3", "59", "2", "30")), ("IT/BIRTHDAY", "impossible_date")),
        (doc(birth=("5", "1", "4", "30")), ("IT/BIRTHDAY", "impossible_date")),  # before 令和 began
        (doc(birth=("3", "65", "1", "1")), ("IT/BIRTHDAY", "impossible_date")),  # 昭和 ended in 64
        (doc(dependant_birthday="2015-02-30"), ("KOA020-2/jmz:SHINZOKU_LIST/jmz:SHINZOKU/@birthday", "impossible_date")),
        (doc(birth=("9", "59", "9", "2")), ("IT/BIRTHDAY/gen:era", "unknown_era_code")),
        (doc(my_number=BAD_MY_NUMBER), ("IT/NOZEISHA_BANGO/gen:kojinbango", "bad_my_number_check_digit")),
        (doc(my_number="1234"), ("IT/NOZEISHA_BANGO/gen:kojinbango", "bad_my_number_check_digit")),
        (doc(sex="3"), ("IT/SEIBETSU/gen:kubun_CD", "invalid_code")),
    ],
)
def test_reason_codes(data: bytes, expected: tuple[str | None, str]) -> None:
    parsed = parse_etax_returns([("bad.xtx", data), ("ok.xtx", doc())])
    q = parsed.quarantine
    assert list(zip(q["field"].to_list(), q["reason_code"].to_list(), strict=True)) == [expected]
    assert q["file"].to_list() == ["bad.xtx"] and q["record_no"].to_list() == [1] and q["source"].to_list() == ["etax_return"]
    assert set(q["reason_code"]) <= set(REASON_CODES)
    assert parsed.returns["file"].to_list() == ["ok.xtx"]
    assert parsed.dependants["file"].to_list() == ["ok.xtx"]  # dependants of a quarantined return are dropped
    message = q["message"][0]
    assert "bad.xtx" in message
    for secret in (MY_NUMBER, BAD_MY_NUMBER, NAME, "港", "ミナト", "/etc/passwd"):
        assert secret not in message


def test_missing_birthday_reports_each_part() -> None:
    got = reasons(doc(birth=None))
    assert {reason for _, reason in got} == {"missing_required_element"}
    assert {field for field, _ in got} == {f"IT/BIRTHDAY/gen:{p}" for p in ("era", "yy", "mm", "dd")}


def test_amount_items_match_the_layout() -> None:
    layout = yaml.safe_load(LAYOUT.read_text(encoding="utf-8"))
    by_code = {
        re.search(r"(AB[A-Z]\d{5})$", f["pos"]).group(1): f["id"]  # type: ignore[union-attr]
        for f in layout["fields"] if f["type"] == "amount" and re.search(r"AB[A-Z]\d{5}$", f["pos"])
    }
    for code, (column, _name) in AMOUNT_ITEMS.items():
        assert by_code[code] == column, code


def test_empty_input() -> None:
    parsed = parse_etax_returns([])
    assert parsed.returns.height == parsed.dependants.height == parsed.quarantine.height == 0


# --- scored on a generated ward -------------------------------------------------------------------
@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sample_ward import generate_ward

    out = tmp_path_factory.mktemp("etax_ward") / "ward"
    generate_ward(out, residents=2000, seed=20260101, fiscal_year=2026)
    return out


@pytest.fixture(scope="module")
def parsed_ward(ward: Path):  # noqa: ANN201
    landing = ward / "landing"
    paths = sorted((landing / "etax_return").rglob("*.xtx"))
    files = [(p.relative_to(landing).as_posix(), p.read_bytes()) for p in paths]
    return files, parse_etax_returns(files)


def test_ward_quarantine_matches_truth(ward: Path, parsed_ward) -> None:  # noqa: ANN001
    files, parsed = parsed_ward
    truth = pl.read_parquet(ward / "truth" / "documents.parquet").filter(pl.col("source") == "etax_return")
    assert sorted(f for f, _ in files) == sorted(truth["file"].to_list())
    expected = set(truth.filter(pl.col("expected_route") == "quarantine")["file"])
    quarantined = set(parsed.quarantine["file"])
    assert expected and quarantined == expected
    assert set(parsed.returns["file"]) == {f for f, _ in files} - expected
    hostile = truth.filter(pl.col("defect").is_in(["xml_external_entity", "xml_entity_expansion", "xml_external_dtd"]))
    assert hostile.height >= 3 and set(hostile["file"]) <= quarantined
    # My Number missing is a flag, not a quarantine
    missing = set(truth.filter(pl.col("defect") == "my_number_missing")["file"])
    flagged = set(parsed.returns.filter("my_number_missing")["file"])
    assert missing and missing <= flagged


def test_ward_identity_matches_truth(ward: Path, parsed_ward) -> None:  # noqa: ANN001
    _, parsed = parsed_ward
    truth = pl.read_parquet(ward / "truth" / "documents.parquet").filter(pl.col("source") == "etax_return")
    persons = pl.read_parquet(ward / "truth" / "persons.parquet").select("person_id", pl.col("birth_date").alias("true_birth"))
    joined = parsed.returns.join(truth.select("file", "person_id"), on="file", how="left", validate="1:1").join(
        persons, on="person_id", how="left", validate="m:1"
    )
    assert joined["person_id"].null_count() == 0
    assert (joined["birth_date"] == joined["true_birth"]).all()


def test_ward_amounts_equal_what_the_generator_wrote(parsed_ward) -> None:  # noqa: ANN001
    files, parsed = parsed_ward
    by_name = dict(files)
    sample = parsed.returns.sort("file").gather_every(5)
    assert sample.height >= 30
    checked = 0
    for row in sample.iter_rows(named=True):
        text = by_name[row["file"]].decode("utf-8")
        for code, (column, _name) in AMOUNT_ITEMS.items():
            found = re.search(rf"<{code}>(-?[0-9]+)</{code}>", text)
            assert row[column] == (int(found.group(1)) if found else 0), (row["file"], code)
            checked += found is not None
        furusato = re.search(r"<ABI00010><gen:kubun_CD>([0-9])</gen:kubun_CD>", text)
        assert row["resident_tax_collection"] == (furusato.group(1) if furusato else None)
    assert checked > sample.height * 5


# --- issue 10 point 9: an invalid optional value that the basis does not need is a warning ------------
def test_invalid_warn_amount_is_emptied_with_a_warning_and_the_return_is_staged() -> None:
    data = doc().replace(b"<ABB00710>200000</ABB00710>", b"<ABB00710>2OOOOO</ABB00710>")  # 源泉徴収税額: warn
    parsed = parse_etax_returns([("w.xtx", data)])
    assert parsed.quarantine.height == 0 and parsed.returns.height == 1
    assert parsed.warnings.schema == pl.Schema(QUARANTINE_SCHEMA)
    assert parsed.warnings.select("file", "record_no", "field", "reason_code").rows() == [
        ("w.xtx", 1, "KOA020/ABB00710", "non_numeric_amount")]
    assert parsed.returns.item(0, "withheld_tax") is None  # emptied, not 0
    assert parsed.returns.item(0, "tax_refund") == 30004  # the rest as declared
    assert "set to empty" in parsed.warnings.item(0, "message")


def test_an_invalid_amount_the_basis_reads_still_holds_the_return() -> None:
    assert reasons(doc(social_insurance="33957O")) == [("KOA020/ABB00450", "non_numeric_amount")]


def test_a_relatives_bad_my_number_is_a_warning_naming_the_relative() -> None:
    data = doc().replace(DEP_NUMBER.encode(), BAD_MY_NUMBER.encode())
    parsed = parse_etax_returns([("w.xtx", data)])
    assert parsed.quarantine.height == 0 and parsed.returns.height == 1
    assert parsed.warnings.select("field", "reason_code").rows() == [
        ("KOA020-2/jmz:SHINZOKU_LIST/jmz:SHINZOKU[1]/@bango", "bad_my_number_check_digit")]
    dependant = parsed.dependants.row(0, named=True)
    assert dependant["my_number"] is None and dependant["my_number_missing"] is True
    assert dependant["birth_date"] == dt.date(2015, 4, 1)
    assert BAD_MY_NUMBER not in parsed.warnings.item(0, "message")


def test_relative_codes_hold_the_return() -> None:
    data = doc().replace(b'dokyo="1"', b'dokyo="7"')
    assert reasons(data) == [("KOA020-2/jmz:SHINZOKU_LIST/jmz:SHINZOKU/@dokyo", "invalid_code")]
    data = doc().replace(b'HONNIN shogai="0"', b'HONNIN shogai="x"')
    assert reasons(data) == [("KOA020-2/jmz:SHINZOKU_LIST/jmz:HONNIN/@shogai", "invalid_code")]
