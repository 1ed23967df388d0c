"""The 全銀協 fixed-length files: layouts as data (contracts/zengin/) and the byte-exact codec
(transforms/zengin_records.py); docs/layouts/zengin.md.

Every file below is built by hand, record by record, from the published field tables (the values are written
out in the test, padded by hand, and each record is checked to be 120 bytes before use); expected counts and
totals are the sums of those hand-written amounts. The peer files are 総合振込 files written by three other
open-source implementations, read from ../shared/peer-files/zengin_sogo_furikomi_21/ (never copied into the
repository; the tests skip when the folder is absent). Their expected values were read off the bytes by hand
and are written in the table ``PEER`` with where they sit in the file.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml

from contracts.zengin import ZENGIN_DIR, ZenginLayoutError, load_zengin_layouts, load_zengin_layouts_from
from contracts.zengin import render_markdown
from transforms.zengin_records import (
    ZenginCharacterError,
    ZenginFieldError,
    ZenginFile,
    ZenginFormatError,
    ZenginKanaError,
    ZenginRecordLengthError,
    ZenginRecordOrderError,
    ZenginTrailerTotalsError,
    ZenginWriteCharacterError,
    ZenginWriteError,
    ZenginWriteFieldError,
    read_zengin_file,
    to_zengin_kana,
    unknown_codes,
    write_zengin_file,
)

REPO = Path(__file__).resolve().parents[2]
PEER_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "peer-files" / "zengin_sogo_furikomi_21"
SP = " "
CRLF = b"\r\n"


def line(*parts: str | bytes) -> bytes:
    """One record from its fields, written out by hand; must come to 120 bytes."""
    raw = b"".join(p if isinstance(p, bytes) else p.encode("cp932") for p in parts)
    assert len(raw) == 120, f"a hand-built record is {len(raw)} bytes"
    return raw


def joined(records: list[bytes], sep: bytes = CRLF, final: bool = True) -> bytes:
    return sep.join(records) + (sep if final and sep else b"")


# --------------------------------------------------------------------------- 口座振替 (91), by hand
# Header: データ区分 1, 種別 91, コード区分 0, 委託者コード, 委託者名 (40), 引落日 MMDD, 取引銀行 4 + 名 15,
# 支店 3 + 名 15, 預金種目, 口座番号, ダミー 17.
H91 = line("1", "91", "0", "1310320001", "ﾐﾅﾄｸ ｾﾞｲﾑｶ".ljust(40), "0527", "0005", "ﾐﾂﾋﾞｼUFJ".ljust(15), "041",
           "ｱｶｻｶ".ljust(15), "1", "1234567", SP * 17)


def d91(amount: str, result: str, name: str = "ﾐﾅﾄ ﾀﾛｳ", account: str = "7654321") -> bytes:
    """A data record: 引落銀行 0009 ﾐﾂｲｽﾐﾄﾓ, 支店 825 ｱｶｻｶ, ダミー 4, 預金種目 1, 口座番号, 預金者名 (30), 引落金額
    (10 digits), 新規コード 0, 顧客番号 (20), 振替結果コード, ダミー 8."""
    return line("2", "0009", "ﾐﾂｲｽﾐﾄﾓ".ljust(15), "825", "ｱｶｻｶ".ljust(15), SP * 4, "1", account, name.ljust(30),
                amount, "0", "00000000002026000001", result, SP * 8)


# 12,300 + 45,600 + 7,800 = 65,700 yen in 3 records. In the result, records 1 and 3 (code 0) were debited:
# 2 records, 20,100 yen; record 2 failed (code 1, 資金不足): 1 record, 45,600 yen.
D91_REQUEST = [d91("0000012300", "0"), d91("0000045600", "0"), d91("0000007800", SP)]
D91_RESULT = [d91("0000012300", "0"), d91("0000045600", "1"), d91("0000007800", "0")]
T91_REQUEST = line("8", "000003", "000000065700", "000000", "000000000000", "000000", "000000000000", SP * 65)
T91_RESULT = line("8", "000003", "000000065700", "000002", "000000020100", "000001", "000000045600", SP * 65)
END = line("9", SP * 119)
REQUEST_91 = [H91, *D91_REQUEST, T91_REQUEST, END]
RESULT_91 = [H91, *D91_RESULT, T91_RESULT, END]

# --------------------------------------------------------------------------- 総合振込 (21), by hand
H21 = line("1", "21", "0", "1310320002", "ﾐﾅﾄｸ ｶｲｹｲｶﾝﾘｼﾔ".ljust(40), "0630", "0005", "ﾐﾂﾋﾞｼUFJ".ljust(15), "041",
           "ｱｶｻｶ".ljust(15), "2", "7777777", SP * 17)
# 被仕向銀行・支店, 手形交換所番号, 預金種目, 口座番号, 受取人名 (30), 振込金額, 新規コード, 顧客コード1・2,
# 振込指定区分, 識別表示, ダミー 7. 3,000 + 12,345 = 15,345 yen in 2 records.
D21 = [
    line("2", "0009", "ﾐﾂｲｽﾐﾄﾓ".ljust(15), "825", "ｱｶｻｶ".ljust(15), "0000", "1", "7654321", "ﾐﾅﾄ ﾀﾛｳ".ljust(30),
         "0000003000", "1", "2026000001", SP * 10, "7", SP, SP * 7),
    line("2", "0137", "ﾄｳｷﾖｳﾄﾐﾝ".ljust(15), "031", "ｼﾌﾞﾔ".ljust(15), SP * 4, "4", "0012345",
         "ｶ)ｻﾝﾌﾟﾙ(ﾔﾏﾀﾞ ﾊﾅｺ".ljust(30), "0000012345", "0", SP * 10, SP * 10, SP, SP, SP * 7),
]
T21 = line("8", "000002", "000000015345", SP * 101)
FILE_21 = [H21, *D21, T21, END]

HEADER_21 = {"code_class": "0", "remitter_code": "1310320002", "remitter_name": "ﾐﾅﾄｸ ｶｲｹｲｶﾝﾘｼﾔ",
             "transfer_date": "0630", "bank_code": "0005", "bank_name": "ﾐﾂﾋﾞｼUFJ", "branch_code": "041",
             "branch_name": "ｱｶｻｶ", "deposit_type": "2", "account_no": "7777777"}
RECORDS_21 = pl.DataFrame({
    "bank_code": ["0009", "0137"], "bank_name": ["ﾐﾂｲｽﾐﾄﾓ", "ﾄｳｷﾖｳﾄﾐﾝ"], "branch_code": ["825", "031"],
    "branch_name": ["ｱｶｻｶ", "ｼﾌﾞﾔ"], "clearing_house_no": ["0000", None], "deposit_type": ["1", "4"],
    "account_no": ["7654321", "0012345"], "payee_name": ["ﾐﾅﾄ ﾀﾛｳ", "ｶ)ｻﾝﾌﾟﾙ(ﾔﾏﾀﾞ ﾊﾅｺ"],
    "amount": pl.Series([3000, 12345], dtype=pl.Int64), "new_code": ["1", "0"],
    "customer_code_1": ["2026000001", ""], "customer_code_2": ["", ""], "transfer_designation": ["7", None],
    "edi_flag": ["", ""],
})


def refusal(data: bytes, kind: str, error: type[ZenginFormatError]) -> ZenginFormatError:
    with pytest.raises(error) as caught:
        read_zengin_file(data, file="landing/zengin/test.txt", kind=kind)
    assert "landing/zengin/test.txt" in str(caught.value)
    return caught.value


# ------------------------------------------------------------------------------------------ the layouts

def _tiles(fields: list[dict]) -> bool:
    return [f["start"] for f in fields] == [1 + sum(g["length"] for g in fields[:i]) for i in range(len(fields))] \
        and sum(f["length"] for f in fields) == 120


@pytest.mark.parametrize("name", ["account_transfer_91.yaml", "general_transfer_21.yaml"])
def test_every_record_type_tiles_120_bytes(name):
    raw = yaml.safe_load((ZENGIN_DIR / name).read_text(encoding="utf-8"))
    assert list(raw["records"]) == ["header", "data", "trailer", "end"]
    for record, fields in raw["records"].items():
        assert _tiles(fields), f"{name}: the {record} record does not tile 120 bytes"


def test_the_91_positions_are_the_published_ones():
    """宮崎銀行・北國銀行's tables (docs/layouts/zengin.md lists the sources), typed here by hand."""
    published = {
        "header": [("data_type", 1, 1), ("type_code", 2, 2), ("code_class", 4, 1), ("consignor_code", 5, 10),
                   ("consignor_name", 15, 40), ("debit_date", 55, 4), ("bank_code", 59, 4), ("bank_name", 63, 15),
                   ("branch_code", 78, 3), ("branch_name", 81, 15), ("deposit_type", 96, 1), ("account_no", 97, 7),
                   ("dummy", 104, 17)],
        "data": [("data_type", 1, 1), ("bank_code", 2, 4), ("bank_name", 6, 15), ("branch_code", 21, 3),
                 ("branch_name", 24, 15), ("dummy_1", 39, 4), ("deposit_type", 43, 1), ("account_no", 44, 7),
                 ("account_holder_name", 51, 30), ("amount", 81, 10), ("new_code", 91, 1), ("customer_no", 92, 20),
                 ("result_code", 112, 1), ("dummy_2", 113, 8)],
        "trailer": [("data_type", 1, 1), ("total_count", 2, 6), ("total_amount", 8, 12),
                    ("transferred_count", 20, 6), ("transferred_amount", 26, 12), ("failed_count", 38, 6),
                    ("failed_amount", 44, 12), ("dummy", 56, 65)],
        "end": [("data_type", 1, 1), ("dummy", 2, 119)],
    }
    layout = load_zengin_layouts().layout("91")
    for record, fields in published.items():
        assert [(f.id, f.start, f.length) for f in layout.records[record].fields] == fields


def _broken_copy(tmp_path: Path, name: str, edit) -> Path:
    target = tmp_path / "zengin"
    shutil.copytree(ZENGIN_DIR, target)
    path = target / name
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return target


@pytest.mark.parametrize(("name", "old", "new", "message"), [
    ("account_transfer_91.yaml", "{id: amount, name_ja: 引落金額, start: 81, length: 10",
     "{id: amount, name_ja: 引落金額, start: 81, length: 9", r"新規コード \(new_code\) starts at byte 91, but byte 90"),
    ("account_transfer_91.yaml", "{id: new_code, name_ja: 新規コード, start: 91",
     "{id: new_code, name_ja: 新規コード, start: 90", r"新規コード \(new_code\) starts at byte 90, inside 引落金額"),
    ("general_transfer_21.yaml", "{id: dummy, name_ja: ダミー, start: 20, length: 101",
     "{id: dummy, name_ja: ダミー, start: 20, length: 100", r"trailer record, its last field ダミー \(dummy\) ends at "
     r"byte 119"),
    ("general_transfer_21.yaml", "{id: payee_name, name_ja: 受取人名, start: 51, length: 30, type: kana, pad: space_right",
     "{id: payee_name, name_ja: 受取人名, start: 51, length: 30, type: kana, pad: zero_left",
     r"受取人名 \(payee_name\): a kana field is padded space_right"),
    ("general_transfer_21.yaml", "codes: transfer_designation", "codes: transfer_kind",
     r"振込指定区分 \(transfer_designation\): codes 'transfer_kind' is not a code list"),
    ("general_transfer_21.yaml", "{id: payee_name,", "{id: PayeeName,", "'PayeeName': the id is English snake_case"),
    ("codes.yaml", '"9": {label: その他, source: "宮崎銀行', '"9": {label: その他, sauce: "宮崎銀行',
     "code '9': give exactly one of source"),
])
def test_a_broken_layout_names_its_file_and_field(tmp_path, name, old, new, message):
    folder = _broken_copy(tmp_path, name, lambda text: text.replace(old, new, 1))
    with pytest.raises(ZenginLayoutError, match=message) as caught:
        load_zengin_layouts_from(folder)
    assert name in str(caught.value)


def test_the_real_layouts_load():
    layouts = load_zengin_layouts()
    assert set(layouts.formats) == {"21", "91"}
    assert layouts.formats["91"].has_results and not layouts.formats["21"].has_results


def test_the_layout_docs_are_current():
    assert (REPO / "docs" / "layouts" / "zengin.md").read_text(encoding="utf-8") == render_markdown(), (
        "docs/layouts/zengin.md is stale: .venv/bin/python -m contracts.zengin --write-docs")


# ------------------------------------------------------------------------------------------ reading 91

def test_a_91_request_reads_into_typed_frames():
    zf = read_zengin_file(joined(REQUEST_91), file="req.txt", kind="91")
    assert zf.header == {"group_no": 1, "record_no": 1, "code_class": "0", "consignor_code": "1310320001",
                         "consignor_name": "ﾐﾅﾄｸ ｾﾞｲﾑｶ", "debit_date": "0527", "bank_code": "0005",
                         "bank_name": "ﾐﾂﾋﾞｼUFJ", "branch_code": "041", "branch_name": "ｱｶｻｶ", "deposit_type": "1",
                         "account_no": "1234567"}
    assert zf.records["record_no"].to_list() == [2, 3, 4]
    assert zf.records.schema["amount"] == pl.Int64
    assert zf.records["amount"].to_list() == [12300, 45600, 7800]
    assert zf.records["result_code"].to_list() == ["0", "0", None]  # a blank result code reads as null
    assert zf.records["customer_no"].to_list() == ["00000000002026000001"] * 3
    assert zf.trailers.row(0, named=True) == {"group_no": 1, "record_no": 5, "total_count": 3, "total_amount": 65700,
                                              "transferred_count": 0, "transferred_amount": 0, "failed_count": 0,
                                              "failed_amount": 0}
    assert not any(dtype == pl.Float64 or dtype == pl.Float32 for dtype in zf.records.schema.values())


def test_a_91_result_checks_the_transferred_and_failed_totals():
    zf = read_zengin_file(joined(RESULT_91), file="res.txt", kind="91_result")
    assert zf.records["result_code"].to_list() == ["0", "1", "0"]
    assert zf.trailers.select("transferred_count", "transferred_amount", "failed_count", "failed_amount").row(0) == (
        2, 20100, 1, 45600)


@pytest.mark.parametrize(("records", "kind"), [(REQUEST_91, "91"), (RESULT_91, "91_result"), (FILE_21, "21")])
@pytest.mark.parametrize(("sep", "final"), [(CRLF, True), (CRLF, False), (b"", False), (b"\r", True), (b"\n", False)])
def test_round_trip_is_byte_exact(records, kind, sep, final):
    data = joined(records, sep, final)
    assert write_zengin_file(read_zengin_file(data, file="x.txt", kind=kind), file="x.txt", kind=kind) == data


def test_crlf_and_no_separator_files_read_the_same():
    with_crlf = read_zengin_file(joined(RESULT_91, CRLF), file="a.txt", kind="91_result")
    without = read_zengin_file(b"".join(RESULT_91), file="b.txt", kind="91_result")
    assert with_crlf.headers.equals(without.headers)
    assert with_crlf.records.equals(without.records)
    assert with_crlf.trailers.equals(without.trailers)
    assert (with_crlf.line_end, without.line_end) == (CRLF, b"")


def test_the_symbols_some_banks_take_are_read_and_written_back():
    # 受取人名 with a comma, ¥ (byte 0x5C), ｢ ｣ and the half-width long-vowel mark ｰ (byte 0xB0)
    name = b"\xb6)\xd0\xc5\xc4,\x5c\xa2\xb1\xa3\xb0".ljust(30)
    record = line("2", "0009", "ﾐﾂｲｽﾐﾄﾓ".ljust(15), "825", "ｱｶｻｶ".ljust(15), "0000", "1", "7654321", name,
                  "0000003000", "1", "2026000001", SP * 10, "7", SP, SP * 7)
    data = joined([H21, record, D21[1], T21, END])
    zf = read_zengin_file(data, file="x.txt", kind="21")
    assert zf.records["payee_name"][0] == "ｶ)ﾐﾅﾄ,\\｢ｱ｣ｰ"
    assert write_zengin_file(zf, file="x.txt", kind="21") == data


def test_several_groups_are_read_and_written():
    # group 1: 3 records, 65,700; group 2: the first record only, 12,300 (trailer written by hand)
    t2 = line("8", "000001", "000000012300", "000000", "000000000000", "000000", "000000000000", SP * 65)
    data = joined([H91, *D91_REQUEST, T91_REQUEST, H91, D91_REQUEST[0], t2, END])
    zf = read_zengin_file(data, file="multi.txt", kind="91")
    assert zf.group_count == 2
    assert zf.headers["record_no"].to_list() == [1, 6]
    assert zf.records["group_no"].to_list() == [1, 1, 1, 2]
    assert zf.trailers["total_amount"].to_list() == [65700, 12300]
    assert write_zengin_file(zf, file="multi.txt", kind="91") == data
    bad_t2 = line("8", "000001", "000000012301", "000000", "000000000000", "000000", "000000000000", SP * 65)
    error = refusal(joined([H91, *D91_REQUEST, T91_REQUEST, H91, D91_REQUEST[0], bad_t2, END]), "91",
                    ZenginTrailerTotalsError)
    assert error.record_no == 8 and "合計金額 (total_amount)" in str(error) and "12300" in str(error)


# ------------------------------------------------------------------------------------------ refusals

def test_a_short_record_is_refused_with_its_number():
    short = D91_REQUEST[1][:-1]  # 119 bytes: one space of the dummy missing
    error = refusal(joined([H91, D91_REQUEST[0], short, D91_REQUEST[2], T91_REQUEST, END]), "91",
                    ZenginRecordLengthError)
    assert error.record_no == 3 and "record 3" in str(error) and "119 bytes" in str(error)


def test_a_file_without_separators_that_is_not_whole_records_is_refused():
    error = refusal(b"".join(REQUEST_91)[:-1], "91", ZenginRecordLengthError)
    assert error.record_no == 6 and "119 bytes" in str(error)


def test_mixed_line_ends_are_refused():
    data = H91 + CRLF + D91_REQUEST[0] + b"\n" + D91_REQUEST[1] + CRLF + D91_REQUEST[2] + CRLF + T91_REQUEST + CRLF + END
    error = refusal(data, "91", ZenginRecordLengthError)
    assert error.record_no == 2 and "mixes line ends" in str(error)


@pytest.mark.parametrize(("records", "record_no", "words"), [
    ([D91_REQUEST[0], H91, *D91_REQUEST[1:], T91_REQUEST, END], 1, "data record"),
    ([H91, *D91_REQUEST, END], 5, "end record"),                       # trailer missing
    ([H91, *D91_REQUEST, T91_REQUEST], 5, "without an end record"),   # end missing
    ([H91, *D91_REQUEST, T91_REQUEST, END, END], 7, "follows the end record"),
    ([H91, *D91_REQUEST, T91_REQUEST, line("5", SP * 119), END], 6, "'5', which is not a record type"),
    ([H91, T91_REQUEST, H91], 3, "without an end record"),
])
def test_records_out_of_order_are_refused(records, record_no, words):
    error = refusal(joined(records), "91", ZenginRecordOrderError)
    assert error.record_no == record_no and f"record {record_no}" in str(error) and words in str(error)
    assert "データ区分 (data_type)" in str(error)


def test_an_empty_file_is_refused():
    error = refusal(b"", "21", ZenginRecordOrderError)
    assert error.record_no is None and "empty" in str(error)


def test_a_wrong_trailer_count_is_refused():
    trailer = line("8", "000004", "000000065700", "000000", "000000000000", "000000", "000000000000", SP * 65)
    error = refusal(joined([H91, *D91_REQUEST, trailer, END]), "91", ZenginTrailerTotalsError)
    assert error.record_no == 5 and "合計件数 (total_count)" in str(error)
    assert "the trailer says 4" in str(error) and "expected 3" in str(error)


def test_a_wrong_trailer_total_is_refused():
    trailer = line("8", "000002", "000000015346", SP * 101)
    error = refusal(joined([H21, *D21, trailer, END]), "21", ZenginTrailerTotalsError)
    assert error.record_no == 4 and "合計金額 (total_amount)" in str(error) and "expected 15345" in str(error)


def test_wrong_result_totals_are_refused():
    trailer = line("8", "000003", "000000065700", "000003", "000000065700", "000000", "000000000000", SP * 65)
    error = refusal(joined([H91, *D91_RESULT, trailer, END]), "91_result", ZenginTrailerTotalsError)
    assert error.record_no == 5 and "振替済件数 (transferred_count)" in str(error) and "expected 2" in str(error)


def test_a_result_read_as_a_request_and_a_request_read_as_a_result_are_refused():
    error = refusal(joined(RESULT_91), "91", ZenginFieldError)
    assert error.record_no == 3 and "振替結果コード (result_code)" in str(error) and "91_result" in str(error)
    error = refusal(joined(REQUEST_91), "91_result", ZenginFieldError)
    assert error.record_no == 4  # the blank 振替結果コード of the third data record
    error = refusal(joined([H91, *D91_REQUEST[:2], d91("0000007800", "0"), T91_REQUEST, END]), "91_result",
                    ZenginTrailerTotalsError)
    assert error.record_no == 5 and "振替済件数 (transferred_count)" in str(error)


def test_a_file_of_another_kind_is_refused_on_its_type_code():
    error = refusal(joined(FILE_21), "91", ZenginFieldError)
    assert error.record_no == 1 and "種別コード (type_code)" in str(error) and "'21'" in str(error)


def test_a_non_digit_in_a_digits_field_is_refused():
    error = refusal(joined([H91, D91_REQUEST[0], d91("00000456O0", "0"), D91_REQUEST[2], T91_REQUEST, END]), "91",
                    ZenginFieldError)
    assert error.record_no == 3 and "引落金額 (amount)" in str(error) and "byte 9 of the field is not a digit" in str(
        error)
    error = refusal(joined([H91, D91_REQUEST[0], d91("0000045600", "0", account="76543 1"), D91_REQUEST[2],
                            T91_REQUEST, END]), "91", ZenginFieldError)
    assert error.record_no == 3 and "口座番号 (account_no)" in str(error)
    assert "76543" not in str(error)  # an account number is never quoted


def test_a_lower_case_letter_in_a_kana_field_is_refused():
    error = refusal(joined([H91, D91_REQUEST[0], d91("0000045600", "0", name="ﾐﾅﾄ Taro"), D91_REQUEST[2],
                            T91_REQUEST, END]), "91", ZenginCharacterError)
    assert error.record_no == 3 and "預金者名 (account_holder_name)" in str(error)
    assert "character 6 of the field is a lower-case letter" in str(error)
    assert "Taro" not in str(error)  # the name is never quoted


def test_a_full_width_character_in_a_kana_field_is_refused():
    name = "ﾐﾅﾄ タﾛｳ".encode("cp932").ljust(30)  # タ is two bytes in CP932: the field stays 30 bytes
    record = line("2", "0009", "ﾐﾂｲｽﾐﾄﾓ".ljust(15), "825", "ｱｶｻｶ".ljust(15), SP * 4, "1", "7654321", name,
                  "0000045600", "0", "00000000002026000001", "0", SP * 8)
    error = refusal(joined([H91, D91_REQUEST[0], record, D91_REQUEST[2], T91_REQUEST, END]), "91",
                    ZenginCharacterError)
    assert error.record_no == 3 and "預金者名 (account_holder_name)" in str(error)
    assert "character 5 of the field is byte 0x83, the first byte of a two-byte (full-width) character" in str(error)


def test_a_dummy_that_is_not_blank_is_refused():
    trailer = line("8", "000002", "000000015345", "X" + SP * 100)
    error = refusal(joined([H21, *D21, trailer, END]), "21", ZenginFieldError)
    assert error.record_no == 4 and "ダミー (dummy)" in str(error)


def test_a_refusal_is_a_value_error_and_survives_pickle_with_its_sentence():
    import pickle

    trailer = line("8", "000004", "000000065700", "000000", "000000000000", "000000", "000000000000", SP * 65)
    error = refusal(joined([H91, *D91_REQUEST, trailer, END]), "91", ZenginTrailerTotalsError)
    assert isinstance(error, ValueError) and isinstance(error, ZenginFormatError)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is ZenginTrailerTotalsError and str(again) == str(error)
    assert str(error) == ("Input file landing/zengin/test.txt, record 5, field 合計件数 (total_count): the trailer "
                          "says 4; expected 3 (the number of the group's data records).")


def test_the_first_broken_record_is_named_and_the_others_counted():
    records = [d91("00000123O0", "0"), d91("00000456O0", "0"), D91_REQUEST[2]]
    error = refusal(joined([H91, *records, T91_REQUEST, END]), "91", ZenginFieldError)
    assert error.record_no == 2 and "1 more records break this field" in str(error)


# ------------------------------------------------------------------------------------------ writing

def test_the_writer_builds_the_hand_made_21_file_and_computes_its_trailer():
    written = write_zengin_file(ZenginFile(HEADER_21, RECORDS_21), file="out.txt", kind="21")
    assert written == joined(FILE_21)  # CR LF after every record, the trailer computed


def test_a_21_file_written_by_us_reads_back_to_the_same_bytes():
    written = write_zengin_file(ZenginFile(HEADER_21, RECORDS_21), file="out.txt", kind="21")
    back = read_zengin_file(written, file="out.txt", kind="21")
    assert back.records["amount"].to_list() == [3000, 12345]
    assert back.trailers.select("total_count", "total_amount").row(0) == (2, 15345)
    assert write_zengin_file(back, file="out.txt", kind="21") == written
    assert write_zengin_file(back, file="out.txt", kind="21", line_end=b"") == b"".join(FILE_21)


def test_the_writer_writes_a_91_result_with_its_totals():
    header = {"code_class": "0", "consignor_code": "1310320001", "consignor_name": "ﾐﾅﾄｸ ｾﾞｲﾑｶ",
              "debit_date": "0527", "bank_code": "0005", "bank_name": "ﾐﾂﾋﾞｼUFJ", "branch_code": "041",
              "branch_name": "ｱｶｻｶ", "deposit_type": "1", "account_no": "1234567"}
    records = pl.DataFrame({
        "bank_code": ["0009"] * 3, "bank_name": ["ﾐﾂｲｽﾐﾄﾓ"] * 3, "branch_code": ["825"] * 3,
        "branch_name": ["ｱｶｻｶ"] * 3, "deposit_type": ["1"] * 3, "account_no": ["7654321"] * 3,
        "account_holder_name": ["ﾐﾅﾄ ﾀﾛｳ"] * 3, "amount": pl.Series([12300, 45600, 7800], dtype=pl.Int64),
        "new_code": ["0"] * 3, "customer_no": ["00000000002026000001"] * 3, "result_code": ["0", "1", "0"],
    })
    assert write_zengin_file(ZenginFile(header, records), file="r.txt", kind="91_result") == joined(RESULT_91)
    with pytest.raises(ZenginWriteFieldError, match="record 3, field 振替結果コード"):
        write_zengin_file(ZenginFile(header, records), file="r.txt", kind="91")


def _write(records: pl.DataFrame):
    return write_zengin_file(ZenginFile(HEADER_21, records), file="exports/refunds.txt", kind="21")


def test_the_writer_refuses_full_width_text():
    records = RECORDS_21.with_columns(pl.Series("payee_name", ["ミナト タロウ", "ｶ)ｻﾝﾌﾟﾙ(ﾔﾏﾀﾞ ﾊﾅｺ"]))
    with pytest.raises(ZenginWriteCharacterError) as caught:
        _write(records)
    text = str(caught.value)
    assert text.startswith("Output file exports/refunds.txt, record 2, field 受取人名 (payee_name)")
    assert "character 1 of the text is a full-width character" in text and "ミナト" not in text
    assert isinstance(caught.value, ZenginCharacterError) and isinstance(caught.value, ZenginWriteError)


def test_the_writer_refuses_lower_case_and_too_long_text():
    with pytest.raises(ZenginWriteCharacterError, match="record 3, field 受取人名.*lower-case letter"):
        _write(RECORDS_21.with_columns(pl.Series("payee_name", ["ﾐﾅﾄ ﾀﾛｳ", "ﾔﾏﾀﾞ hanako"])))
    with pytest.raises(ZenginWriteCharacterError, match="record 2, field 受取人名.*31 characters"):
        _write(RECORDS_21.with_columns(pl.Series("payee_name", ["ｱ" * 31, "ﾔﾏﾀﾞ"])))


def test_the_writer_refuses_float_negative_and_long_amounts():
    with pytest.raises(ZenginWriteFieldError, match="振込金額 \\(amount\\).*never a float"):
        _write(RECORDS_21.with_columns(pl.Series("amount", [3000.0, 12345.0])))
    with pytest.raises(ZenginWriteFieldError, match="record 3, field 振込金額.*negative"):
        _write(RECORDS_21.with_columns(pl.Series("amount", [3000, -1], dtype=pl.Int64)))
    with pytest.raises(ZenginWriteFieldError, match="record 2, field 振込金額.*more than 10 digits"):
        _write(RECORDS_21.with_columns(pl.Series("amount", [10_000_000_000, 1], dtype=pl.Int64)))


def test_the_writer_refuses_non_digits_and_missing_columns():
    with pytest.raises(ZenginWriteFieldError, match="record 2, field 口座番号 \\(account_no\\)"):
        _write(RECORDS_21.with_columns(pl.Series("account_no", ["76543-1", "0012345"])))
    with pytest.raises(ZenginWriteError, match="受取人名 \\(payee_name\\)"):
        _write(RECORDS_21.drop("payee_name"))


def test_the_writer_refuses_an_unknown_line_end():
    with pytest.raises(ZenginWriteError, match="line end"):
        write_zengin_file(ZenginFile(HEADER_21, RECORDS_21), file="x.txt", kind="21", line_end=b"\n\r")


# ------------------------------------------------------------------------------------------ to_zengin_kana

@pytest.mark.parametrize(("text", "expected"), [
    ("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
    ("きょうこ", "ｷﾖｳｺ"),            # hiragana, small ょ written large
    ("パーク", "ﾊﾟ-ｸ"),              # the long-vowel mark becomes a hyphen
    ("ヴァイオリン", "ｳﾞｱｲｵﾘﾝ"),
    ("カ）ミナト（１２３）", "ｶ)ﾐﾅﾄ(123)"),
    ("ＡＢＣ－ＤＥ．／", "ABC-DE./"),
    ("ｷﾔﾂｼﾕ 01", "ｷﾔﾂｼﾕ 01"),         # already half-width: unchanged
    ("ｷｬｯｼｭ", "ｷﾔﾂｼﾕ"),              # half-width small kana written large
    ("ヲ", "ｦ"),
])
def test_to_zengin_kana_converts_full_width_text(text, expected):
    assert to_zengin_kana(text) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("山田", "character 1 of the text is a kanji"),
    ("ﾀﾛｳ abc", "character 5 of the text is a lower-case letter"),
    ("ヤマダ・ハナコ", "character 4 of the text is a symbol"),
])
def test_to_zengin_kana_refuses_what_has_no_half_width_form(text, words):
    with pytest.raises(ZenginKanaError, match=words) as caught:
        to_zengin_kana(text)
    assert isinstance(caught.value, ValueError) and text not in str(caught.value)


# ------------------------------------------------------------------------------------------ peer files

def peer_bytes(name: str) -> bytes:
    path = PEER_DIR / name
    if not path.is_file():
        pytest.skip(f"peer file not available: {path} (../shared/peer-files is not part of the repository)")
    return path.read_bytes()


# Read off each file by hand (the byte offsets are 0-based within the file):
# * devture single-transaction: one data record at bytes 122–241, 振込金額 "0001103661" at 202–211;
#   trailer "8000001000001103661"; CR LF between records, none after the "9" record.
# * devture multi-transaction: 振込金額 "0001103661" and "0000599300"; trailer "8000002000001702961".
# * devture empty: header, trailer "8000000000000000000", end: no data record (their generator refuses to write
#   this case unless its validation is skipped; our reader reads it as a group with no data records).
# * zengin4j: CR alone after every record, the last included; 振込金額 "0000054878" and "0000060137";
#   trailer "8000002000000115015".
# * Kyash: LF between records and none after the "9"; trailing spaces trimmed (header 103 bytes); 振込金額
#   "0000000001", "0000000002", "0000000003"; trailer "8000003000000000006".
PEER = {
    "devture__zengin-generator__single-transaction.txt": {
        "sha256": "685e94231c7edb8e5c3023999e6c384fa1f3df252fa21af1647623ddda50f641", "amounts": [1103661],
        "count": 1, "total": 1103661, "line_end": CRLF, "final": False},
    "devture__zengin-generator__multi-transaction.txt": {
        "sha256": "e33a81e593f57b3f27675b2b22e6b2758a1ac27335fb35de4c64caa1f181c311", "amounts": [1103661, 599300],
        "count": 2, "total": 1702961, "line_end": CRLF, "final": False},
    "devture__zengin-generator__empty.txt": {
        "sha256": "5642b9a23a098352d71b7e8b9f2e9a41fea106daa2ed5388ab14853a866d923e", "amounts": [],
        "count": 0, "total": 0, "line_end": CRLF, "final": False},
    "drag0sd0g__zengin4j__sougou-furikomi.txt": {
        "sha256": "60be5a41dfd3417a103a87550892a17519e7472f519b56ddc58c9a57457cb44f", "amounts": [54878, 60137],
        "count": 2, "total": 115015, "line_end": b"\r", "final": True},
    "Kyash__zengin-go__sample.txt": {
        "sha256": "22a4c5f504ddbbe0988b90ed724ae35ffd68c069676d9b20879deafd0954ea0c", "amounts": [1, 2, 3],
        "count": 3, "total": 6, "line_end": b"\n", "final": False, "trimmed": True},
}
KYASH = "Kyash__zengin-go__sample.txt"
ZENGIN4J = "drag0sd0g__zengin4j__sougou-furikomi.txt"


def test_every_peer_file_is_in_the_table():
    if not PEER_DIR.is_dir():
        pytest.skip(f"peer files not available: {PEER_DIR} (../shared/peer-files is not part of the repository)")
    wire_files = {p.name for p in PEER_DIR.glob("*.txt") if not p.name.endswith(".expected.txt")}
    assert wire_files == set(PEER), "a peer file was added or removed: read it by hand and add it to PEER"


def _repaired(data: bytes) -> bytes:
    """Kyash's records with the trailing spaces its writer trimmed put back (the only repair)."""
    return b"\n".join(record.ljust(120) for record in data.split(b"\n"))


@pytest.mark.parametrize("name", sorted(PEER))
def test_each_peer_file_is_read_and_its_totals_agree(name):
    data = peer_bytes(name)
    expected = PEER[name]
    assert hashlib.sha256(data).hexdigest() == expected["sha256"], "the peer file changed: read it again by hand"
    if expected.get("trimmed"):
        # Documented behaviour: a record of the wrong length refuses the file; we do not pad on the reader's side.
        error = refusal(data, "21", ZenginRecordLengthError)
        assert error.record_no == 1 and "the record is 103 bytes (5 more records have the wrong length)" in str(error)
        data = _repaired(data)
    zf = read_zengin_file(data, file=name, kind="21")
    assert zf.records["amount"].to_list() == expected["amounts"]
    assert zf.records.height == expected["count"] and zf.records["amount"].sum() == expected["total"]
    assert zf.trailers.select("total_count", "total_amount").row(0) == (expected["count"], expected["total"])
    assert (zf.line_end, zf.final_line_end) == (expected["line_end"], expected["final"])
    assert write_zengin_file(zf, file=name, kind="21") == data  # byte-exact, in their separator convention


def test_the_devture_oddities_read_as_their_bytes_say():
    zf = read_zengin_file(peer_bytes("devture__zengin-generator__multi-transaction.txt"), file="d", kind="21")
    first = zf.records.row(0, named=True)
    assert first["payee_name"] == "ﾃｽﾄｰ.ｶﾌﾞｼｷｶﾞｲｼﾔ"  # the half-width ｰ (0xB0) and "." are read
    assert (first["clearing_house_no"], first["new_code"], first["transfer_designation"]) == ("0000", "0", "7")
    assert (first["customer_code_1"], first["customer_code_2"], first["edi_flag"]) == ("", "", "")
    assert unknown_codes(zf, kind="21").height == 0


def test_the_unknown_codes_of_the_peer_files_are_listed():
    kyash = read_zengin_file(_repaired(peer_bytes(KYASH)), file=KYASH, kind="21")
    # 振込指定区分 "0" in every data record, and a blank 手形交換所番号 (allowed, so not listed)
    assert unknown_codes(kyash, kind="21").rows() == [(2, "data", "transfer_designation", "0"),
                                                      (3, "data", "transfer_designation", "0"),
                                                      (4, "data", "transfer_designation", "0")]
    assert kyash.records["clearing_house_no"].to_list() == [None, None, None]
    zengin4j = read_zengin_file(peer_bytes(ZENGIN4J), file=ZENGIN4J, kind="21")
    # 識別表示 "ｱ" in both data records, where only "Y" or a space is defined
    assert unknown_codes(zengin4j, kind="21").rows() == [(2, "data", "edi_flag", "ｱ"), (3, "data", "edi_flag", "ｱ")]


def _oracle(text: str) -> tuple[dict[int, tuple[str, list[tuple[int, int, str]]]], dict[str, str]]:
    """zengin4j's decoding: record number → (its kind, [(offset, length, value)]); and its summary lines."""
    records: dict[int, tuple[str, list[tuple[int, int, str]]]] = {}
    summary: dict[str, str] = {}
    current = None
    for raw in text.splitlines():
        head = re.match(r"^-- record (\d+) (\w+) @\d+$", raw)
        item = re.match(r"^\s+\w+\s+\[(\d+)\+(\d+)\] ?(.*)$", raw)
        pair = re.match(r"^(\w+)\s+(\S+)$", raw)
        if head:
            current = int(head.group(1))
            records[current] = (head.group(2).lower(), [])
        elif item and current is not None:
            value = "" if item.group(3) == "(empty)" else item.group(3)
            records[current][1].append((int(item.group(1)), int(item.group(2)), value))
        elif pair:
            summary[pair.group(1)] = pair.group(2)
    return records, summary


def test_zengin4j_decodes_every_field_as_we_do():
    """A differential test against zengin4j's own field-by-field decoding of its conformance input: the same
    fields at the same offsets and lengths, the same values, the same separator, count and total."""
    data = peer_bytes(ZENGIN4J)
    records, summary = _oracle(peer_bytes("drag0sd0g__zengin4j__sougou-furikomi.expected.txt").decode("utf-8"))
    zf = read_zengin_file(data, file=ZENGIN4J, kind="21")
    layout = load_zengin_layouts().layout("21")
    rows = {row["record_no"]: row for frame in (zf.headers, zf.records, zf.trailers)
            for row in frame.iter_rows(named=True)}
    assert sorted(records) == [1, 2, 3, 4, 5]
    for record_no, (kind, items) in records.items():
        record = layout.records[kind]
        assert [(f.offset, f.length) for f in record.fields] == [(o, n) for o, n, _ in items], kind
        for f, (_, _, value) in zip(record.fields, items):
            if f.is_column:
                ours = rows[record_no][f.id]
                ours = "" if ours is None else str(ours)
                theirs = str(int(value)) if f.type in ("amount", "count") else value
            else:
                ours, theirs = (f.fixed or ""), value
            assert ours == theirs, f"record {record_no} {f.title}"
    assert (summary["separator"], summary["trailingSep"]) == ("CR", "true")
    assert (zf.line_end, zf.final_line_end) == (b"\r", True)
    assert (int(summary["computedCount"]), int(summary["computedTotal"])) == (zf.records.height,
                                                                              zf.records["amount"].sum())


# ------------------------------------------------------------------------- what each refusal names, exactly
def _named(byte: bytes) -> bytes:
    """A 91 data record whose 預金者名 is ｱ, then ``byte``, then spaces (30 bytes)."""
    return line("2", "0009", "ﾐﾂｲｽﾐﾄﾓ".ljust(15), "825", "ｱｶｻｶ".ljust(15), SP * 4, "1", "7654321",
                b"\xb1" + byte + b" " * 28, "0000045600", "0", "00000000002026000001", "0", SP * 8)


@pytest.mark.parametrize(("byte", "problem"), [
    (b"a", "a lower-case letter"), (b"z", "a lower-case letter"),
    (b"_", "byte 0x5F, outside the 全銀 kana set"),  # between Z and a: not a lower-case letter
    (b"\x81", "byte 0x81, the first byte of a two-byte (full-width) character"),
    (b"\x9f", "byte 0x9F, the first byte of a two-byte (full-width) character"),
    (b"\xe0", "byte 0xE0, the first byte of a two-byte (full-width) character"),
    (b"\xfc", "byte 0xFC, the first byte of a two-byte (full-width) character"),
    (b"\x80", "byte 0x80, outside the 全銀 kana set"), (b"\xa0", "byte 0xA0, outside the 全銀 kana set"),
    (b"\xfd", "byte 0xFD, outside the 全銀 kana set"),
    (b"\xa7", "a small kana (written large in 全銀 files)"), (b"\xaf", "a small kana (written large in 全銀 files)"),
    (b"\x1f", "the control byte 0x1F"), (b"\x7f", "the control byte 0x7F"),
])
def test_a_kana_field_names_what_its_bad_byte_is(byte, problem):
    """The 全銀 kana set (codes.yaml character_sets.kana): half-width kana, digits, upper-case letters, space and
    ( ) - . /; a lead byte of Shift_JIS (0x81–0x9F, 0xE0–0xFC) starts a full-width character, 0xA7–0xAF are the
    small kana, bytes under 0x20 and 0x7F are control bytes."""
    error = refusal(joined([H91, D91_REQUEST[0], _named(byte), D91_REQUEST[2], T91_REQUEST, END]), "91",
                    ZenginCharacterError)
    assert str(error) == ("Input file landing/zengin/test.txt, record 3, field 預金者名 (account_holder_name): "
                          f"character 2 of the field is {problem}; expected half-width kana, digits, upper-case "
                          "letters, space and ( ) - . / only.")


def test_a_code_a_dummy_and_a_digits_field_name_what_they_expected():
    kind = refusal(joined(FILE_21), "91", ZenginFieldError)
    assert str(kind) == ("Input file landing/zengin/test.txt, record 1, field 種別コード (type_code): the field holds "
                         "'21'; expected 91 (預金口座振替 依頼データ・振替結果データ, kind '91').")
    dummy = refusal(joined([H21, *D21, line("8", "000002", "000000015345", "X" + SP * 100), END]), "21",
                    ZenginFieldError)
    assert str(dummy).endswith("field ダミー (dummy): the ダミー holds something else than spaces; expected 101 "
                               "spaces.")
    amount = refusal(joined([H91, D91_REQUEST[0], d91("0000009O00", "0"), D91_REQUEST[2], T91_REQUEST, END]),
                     "91", ZenginFieldError)  # a 9 before the letter is a digit
    assert str(amount).endswith("field 引落金額 (amount): byte 8 of the field is not a digit; expected 10 digits "
                                "(0–9).")
    clearing = line("2", "0009", "ﾐﾂｲｽﾐﾄﾓ".ljust(15), "825", "ｱｶｻｶ".ljust(15), "00A0", "1", "7654321",
                    "ﾐﾅﾄ ﾀﾛｳ".ljust(30), "0000003000", "1", "2026000001", SP * 10, "7", SP, SP * 7)
    blankable = refusal(joined([H21, clearing, D21[1], T21, END]), "21", ZenginFieldError)
    assert str(blankable).endswith("field 手形交換所番号 (clearing_house_no): byte 3 of the field is not a digit; "
                                   "expected 4 digits (0–9) or blank (spaces).")


@pytest.mark.parametrize(("text", "problem"), [
    ("ﾀﾛ_", "a character outside the 全銀 kana set (Pc)"), ("ﾀﾛz", "a lower-case letter"), ("ﾀﾛa", "a lower-case letter"),
    ("ﾀﾛ\uff67", "a small kana (written large in 全銀 files)"), ("ﾀﾛ\uff6f", "a small kana (written large in 全銀 files)"),
    ("ﾀﾛＡ", "a full-width character (convert the text with to_zengin_kana first)"),
    ("ﾀﾛあ", "a full-width character (convert the text with to_zengin_kana first)"),
])
def test_the_writer_names_what_a_character_it_cannot_write_is(text, problem):
    with pytest.raises(ZenginWriteCharacterError) as caught:
        _write(RECORDS_21.with_columns(pl.Series("payee_name", [text, "ﾔﾏﾀﾞ"])))
    assert f"character 3 of the text is {problem}" in str(caught.value)


@pytest.mark.parametrize(("text", "words"), [
    ("ｱz", "character 2 of the text is a lower-case letter"),
    ("ｱａ", "character 2 of the text is a lower-case letter"), ("ｱｚ", "character 2 of the text is a lower-case letter"),
    ("ｱ＿", "character 2 of the text is a symbol or other character (Unicode category Pc)"),  # between Ａ and ａ
    ("ｱ_", "character 2 of the text is a symbol or other character (Unicode category Pc)"),  # between A and a
    ("ｱ\x01", "character 2 of the text is a symbol or other character (Unicode category Cc)"),  # a nameless one
    ("ｱ漢", "character 2 of the text is a kanji"),
])
def test_to_zengin_kana_names_each_kind_of_character_it_cannot_convert(text, words):
    with pytest.raises(ZenginKanaError, match=re.escape(words)):
        to_zengin_kana(text)


def test_unknown_codes_lists_codes_outside_their_lists_in_record_and_field_order():
    """A 預金種目 and a 新規コード outside their code lists (codes.yaml) are listed, field by field, record by record;
    a blank 振込指定区分 (which may be blank) is not."""
    first = line("2", "0009", "ﾐﾂｲｽﾐﾄﾓ".ljust(15), "825", "ｱｶｻｶ".ljust(15), "0000", "5", "7654321",
                 "ﾐﾅﾄ ﾀﾛｳ".ljust(30), "0000003000", "8", "2026000001", SP * 10, SP, SP, SP * 7)
    second = line("2", "0137", "ﾄｳｷﾖｳﾄﾐﾝ".ljust(15), "031", "ｼﾌﾞﾔ".ljust(15), SP * 4, "4", "0012345",
                  "ｶ)ｻﾝﾌﾟﾙ(ﾔﾏﾀﾞ ﾊﾅｺ".ljust(30), "0000012345", "0", SP * 10, SP * 10, SP, SP, SP * 7)
    second = second[:42] + b"6" + second[43:]  # 預金種目 (byte 43) of the second record: 6, not a code either
    zf = read_zengin_file(joined([H21, first, second, T21, END]), file="x.txt", kind="21")
    assert unknown_codes(zf, kind="21").rows() == [
        (2, "data", "deposit_type", "5"), (2, "data", "new_code", "8"), (3, "data", "deposit_type", "6")]
    # within a record by field id (識別表示 edi_flag before 新規コード new_code), not by position in the record
    third = line("2", "0009", "ﾐﾂｲｽﾐﾄﾓ".ljust(15), "825", "ｱｶｻｶ".ljust(15), "0000", "1", "7654321",
                 "ﾐﾅﾄ ﾀﾛｳ".ljust(30), "0000003000", "8", "2026000001", SP * 10, SP, "ｱ", SP * 7)
    both = read_zengin_file(joined([H21, third, D21[1], T21, END]), file="x.txt", kind="21")
    assert unknown_codes(both, kind="21").rows()[:2] == [(2, "data", "edi_flag", "ｱ"), (2, "data", "new_code", "8")]
    clean = unknown_codes(read_zengin_file(joined(FILE_21), file="x.txt", kind="21"), kind="21")
    assert clean.height == 0 and clean.schema == {"record_no": pl.Int64, "record_type": pl.String,
                                                  "field": pl.String, "value": pl.String}
