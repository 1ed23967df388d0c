"""The 年金特徴 exchange files: layouts as data (contracts/pension_exchange/) and the byte-exact codec
(transforms/pension_exchange_records.py); docs/layouts/pension_exchange.md, docs/sources.md#f3-3.

The hand-built file below is written byte by byte from the record layout as the sources describe it (a
96-byte control block; 500-byte header, data and trailer records; kanji as JIS X 0208 between ESC $ B and
ESC ( B), with explicit offsets, never with the code under test. Its JIS X 0208 and JIS X 0201 bytes are
cross-checked against Python's own codecs, which the codec does not use for writing. Every person is
synthetic.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from contracts.errors import ContractError, InputFileError
from contracts.pension_exchange import (
    PENSION_EXCHANGE_DIR,
    PensionLayoutError,
    docs_path,
    load_exchange_layouts,
    load_exchange_layouts_from,
    render_markdown,
)
from transforms.pension_exchange_records import (
    CodeFieldError,
    ControlBlock,
    ControlCountError,
    DateFieldError,
    DigitsFieldError,
    ExchangeFile,
    FileLengthError,
    GroupMismatchError,
    HeaderTrailerMismatchError,
    KanjiFieldError,
    PensionExchangeWriteError,
    RecordSequenceError,
    ShiftCodeError,
    TextFieldError,
    TrailerTotalsError,
    UnencodableCharacterError,
    UnknownRecordTypeError,
    read_exchange_file,
    unencodable_kanji,
    write_exchange_file,
)

SI, SO = b"\x1b$B", b"\x1b(B"  # 漢字IN, 漢字OUT (ISO-2022-JP, RFC 1468)
FW_SPACE = b"!!"  # the full-width space 　, JIS 0x2121
FILE = "hand_built.dta"


# ------------------------------------------------------------------------------- the hand-built file

def kanji(jis: bytes, chars: int) -> bytes:
    """A kanji field: the JIS X 0208 pairs, padded with the full-width space to ``chars`` characters, framed."""
    assert len(jis) % 2 == 0 and len(jis) // 2 <= chars
    return SI + jis + FW_SPACE * (chars - len(jis) // 2) + SO


# JIS X 0208 codes written out by hand (row/cell + 0x20 each byte); checked against the stdlib codec below.
MINATO_TARO = b"9A" + b"!!" + b"B@" + b"O:"                     # 港　太郎
SHIBA_HANAKO = b"<G" + b"!!" + b"2V" + b";R"                    # 芝　花子
AOYAMA_ICHIRO = b"@D" + b";3" + b"!!" + b"0l" + b"O:"           # 青山　一郎
ADDRESS_SHIBA = (b"El5~ET" + b"9A6h" + b"<G;0" + b"CzL\\"       # 東京都 港区 芝三 丁目
                 + b"#1HV" + b"#29f")                            # １番 ２号
ADDRESS_AOYAMA = (b"El5~ET" + b"9A6h" + b"Fn@D;3" + b"0lCzL\\"  # 東京都 港区 南青山 一丁目
                  + b"#2HV" + b"#39f")                           # ２番 ３号
# JIS X 0201 katakana as 8-bit bytes (ﾐ D0, ﾅ C5, ﾄ C4, ﾀ C0, ﾛ DB, ｳ B3 …)
KANA_MINATO_TARO = b"\xd0\xc5\xc4 \xc0\xdb\xb3"                  # ﾐﾅﾄ ﾀﾛｳ
KANA_SHIBA_HANAKO = b"\xbc\xca\xde \xca\xc5\xba"                 # ｼﾊﾞ ﾊﾅｺ
KANA_AOYAMA_ICHIRO = b"\xb1\xb5\xd4\xcf \xb2\xc1\xdb\xb3"       # ｱｵﾔﾏ ｲﾁﾛｳ
KANA_ADDRESS_SHIBA = b"\xc4\xb3\xb7\xae\xb3\xc4 \xd0\xc5\xc4\xb8 \xbc\xca\xde 3-1-2"  # ﾄｳｷｮｳﾄ ﾐﾅﾄｸ ｼﾊﾞ 3-1-2

CONTROL = (b"13103"          # 1–5    市町村コード (港区 without its check digit)
           + b" "            # 6      予備
           + b"001"          # 7–9    媒体連番
           + b"20250915"     # 10–17  作成年月日
           + b" " * 31       # 18–48  予備
           + b"000007"       # 49–54  ファイル格納件数: 7 records follow
           + b" " * 42)      # 55–96  予備


def header(payer: bytes) -> bytes:
    return (b"1" + b"13103" + payer + b"22"   # レコード区分, 市町村コード, 特別徴収義務者コード, 通知内容コード
            + b"1" + b"4"                     # 媒体コード (eLTAX), 特別徴収制度コード (個人住民税)
            + b"20250915" + b" " * 479)       # 作成年月日, 予備


def trailer(payer: bytes, count: bytes, amount_1: bytes, amount_2: bytes, amount_3: bytes) -> bytes:
    return (b"3" + b"13103" + payer + b"22" + b" " + b"4" + b"20250915"  # … 予備 at byte 12
            + count + amount_1 + amount_2 + amount_3 + b" " * 437)       # 合計件数 9, 合計金額 11 × 3


def data(payer: bytes, pension_no: bytes, pension_code: bytes, birth: bytes, sex: bytes, kana_name: bytes,
         name: bytes, postal: bytes, kana_address: bytes, address: bytes, category: bytes, collected: bytes,
         amount_1: bytes, amount_2: bytes, amount_3: bytes, certificate: bytes) -> bytes:
    record = (b"2" + b"13103" + payer + b"22"          # 1–11
              + b" " + b"4" + b"20250915"               # 12 予備1, 13 制度コード, 14–21 作成年月日
              + pension_no + pension_code + b"   "      # 22–31 基礎年金番号, 32–35 年金コード, 36–38 予備2
              + birth + sex                             # 39–46 生年月日, 47 性別
              + kana_name.ljust(25, b" ")               # 48–72 氏名カナ
              + kanji(name, 25)                         # 73–128 シフトコード1, 氏名漢字, シフトコード2
              + postal                                  # 129–135 郵便番号
              + kana_address.ljust(80, b" ")            # 136–215 住所カナ
              + kanji(address, 80)                      # 216–381 シフトコード3, 住所漢字, シフトコード4
              + category + b"  " + b" "                 # 382–383 各種区分, 384–385 処理結果, 386 後期移管コード
              + collected                               # 387–394 各種年月日 (徴収年月日)
              + amount_1 + amount_2 + amount_3          # 395–427 金額1–3 (徴収額, 未徴収額, 使用しない)
              + b" " * 58                               # 428–485 予備3
              + certificate.ljust(15, b" "))            # 486–500 共済年金証書記号番号
    assert len(record) == 500
    return record


RECORDS = [
    header(b"999"),
    data(b"999", b"1234567890", b"1150", b"19500402", b"1", KANA_MINATO_TARO, MINATO_TARO, b"1050014",
         KANA_ADDRESS_SHIBA, ADDRESS_SHIBA, b"00", b"20251015", b"00000010300", b"00000000000", b"00000000000", b""),
    data(b"999", b"0987654321", b"1150", b"19481231", b"2", KANA_SHIBA_HANAKO, SHIBA_HANAKO, b" " * 7,
         b"", b"", b"03", b"20251015", b"00000000000", b"00000009800", b"00000000000", b""),
    trailer(b"999", b"000000002", b"00000010300", b"00000009800", b"00000000000"),
    header(b"501"),
    data(b"501", b"5555500001", b"0150", b"19440701", b"1", KANA_AOYAMA_ICHIRO, AOYAMA_ICHIRO, b"1070062",
         b"", ADDRESS_AOYAMA, b"00", b"20251015", b"00000012000", b"00000000000", b"00000000000", b"AB12-345678"),
    trailer(b"501", b"000000001", b"00000012000", b"00000000000", b"00000000000"),
]
HAND_BUILT = CONTROL + b"".join(RECORDS)


def at(record_no: int, byte: int) -> int:
    """The offset in the file of byte ``byte`` (1-based) of record ``record_no`` (1-based after the control block)."""
    return 96 + (record_no - 1) * 500 + (byte - 1)


def patched(data: bytes, record_no: int, byte: int, new: bytes) -> bytes:
    offset = at(record_no, byte) if record_no else byte - 1
    return data[:offset] + new + data[offset + len(new):]


def test_the_hand_built_bytes_are_what_the_reference_describes():
    assert len(CONTROL) == 96 and all(len(r) == 500 for r in RECORDS)
    assert len(HAND_BUILT) == 96 + 7 * 500
    # the hand-written JIS codes are the standard ones (the stdlib codec, not the code under test)
    for jis, text in ((MINATO_TARO, "港　太郎"), (SHIBA_HANAKO, "芝　花子"), (AOYAMA_ICHIRO, "青山　一郎"),
                      (ADDRESS_SHIBA, "東京都港区芝三丁目１番２号"), (ADDRESS_AOYAMA, "東京都港区南青山一丁目２番３号")):
        assert (SI + jis + SO).decode("iso2022_jp") == text
    for raw, text in ((KANA_MINATO_TARO, "ﾐﾅﾄ ﾀﾛｳ"), (KANA_SHIBA_HANAKO, "ｼﾊﾞ ﾊﾅｺ"),
                      (KANA_ADDRESS_SHIBA, "ﾄｳｷｮｳﾄ ﾐﾅﾄｸ ｼﾊﾞ 3-1-2")):
        assert raw.decode("cp932") == text  # JIS X 0201 katakana are the same single bytes in CP932


def test_the_hand_built_file_reads_to_its_values():
    read = read_exchange_file(HAND_BUILT, file=FILE)
    assert read.control == ControlBlock("13103", "001", date(2025, 9, 15), 7)
    assert read.groups.to_dicts() == [
        {"header_record_no": 1, "municipality_code": "13103", "payer_code": "999", "notice_code": "22",
         "medium_code": "1", "created_date": date(2025, 9, 15), "record_count": 2, "total_amount_1": 10_300,
         "total_amount_2": 9_800, "total_amount_3": 0, "trailer_record_no": 4},
        {"header_record_no": 5, "municipality_code": "13103", "payer_code": "501", "notice_code": "22",
         "medium_code": "1", "created_date": date(2025, 9, 15), "record_count": 1, "total_amount_1": 12_000,
         "total_amount_2": 0, "total_amount_3": 0, "trailer_record_no": 7},
    ]
    assert list(read.records) == ["22"]
    frame = read.records["22"]
    assert frame.schema["amount_1"] == pl.Int64 and frame.schema["birth_date"] == pl.Date
    assert frame.schema["event_date"] == pl.Date and frame.schema["basic_pension_no"] == pl.String
    common = {"municipality_code": "13103", "created_date": date(2025, 9, 15), "event_date": date(2025, 10, 15),
              "address_kana": None}
    assert frame.to_dicts() == [
        {"record_no": 2, "payer_code": "999", "basic_pension_no": "1234567890", "pension_code": "1150",
         "birth_date": date(1950, 4, 2), "sex": "1", "name_kana": "ﾐﾅﾄ ﾀﾛｳ", "name_kanji": "港　太郎",
         "postal_code": "1050014", "address_kana": "ﾄｳｷｮｳﾄ ﾐﾅﾄｸ ｼﾊﾞ 3-1-2",
         "address_kanji": "東京都港区芝三丁目１番２号", "category": "00", "amount_1": 10_300, "amount_2": 0,
         "amount_3": 0, "mutual_aid_certificate_no": None, **{k: v for k, v in common.items() if k != "address_kana"}},
        {"record_no": 3, "payer_code": "999", "basic_pension_no": "0987654321", "pension_code": "1150",
         "birth_date": date(1948, 12, 31), "sex": "2", "name_kana": "ｼﾊﾞ ﾊﾅｺ", "name_kanji": "芝　花子",
         "postal_code": None, "address_kanji": None, "category": "03", "amount_1": 0, "amount_2": 9_800,
         "amount_3": 0, "mutual_aid_certificate_no": None, **common},
        {"record_no": 6, "payer_code": "501", "basic_pension_no": "5555500001", "pension_code": "0150",
         "birth_date": date(1944, 7, 1), "sex": "1", "name_kana": "ｱｵﾔﾏ ｲﾁﾛｳ", "name_kanji": "青山　一郎",
         "postal_code": "1070062", "address_kanji": "東京都港区南青山一丁目２番３号", "category": "00",
         "amount_1": 12_000, "amount_2": 0, "amount_3": 0, "mutual_aid_certificate_no": "AB12-345678", **common},
    ]
    # the columns come in the layout's byte order
    assert frame.columns == [
        "record_no", "municipality_code", "payer_code", "created_date", "basic_pension_no", "pension_code",
        "birth_date", "sex", "name_kana", "name_kanji", "postal_code", "address_kana", "address_kanji", "category",
        "event_date", "amount_1", "amount_2", "amount_3", "mutual_aid_certificate_no"]


def test_the_hand_built_file_is_written_back_to_identical_bytes():
    assert write_exchange_file(read_exchange_file(HAND_BUILT, file=FILE), file="out.dta") == HAND_BUILT


def test_the_writer_computes_trailer_counts_and_totals_from_the_data():
    """The writer is given no trailer: its counts and totals, worked out here by hand (10,300 withheld from
    港 太郎; 9,800 not withheld from 芝 花子; 12,000 from 青山 一郎), and ファイル格納件数 7."""
    read = read_exchange_file(HAND_BUILT, file=FILE)
    bare = ExchangeFile(ControlBlock("13103", "001", date(2025, 9, 15)),
                        read.groups.select("municipality_code", "payer_code", "notice_code", "medium_code",
                                           "created_date"),
                        {"22": read.records["22"].drop("record_no")})
    written = write_exchange_file(bare, file="out.dta")
    assert written[48:54] == b"000007"
    first, second = written[at(4, 1):at(4, 1) + 500], written[at(7, 1):at(7, 1) + 500]
    assert first[21:30] == b"%09d" % 2 and second[21:30] == b"%09d" % 1
    assert first[30:41] == b"%011d" % (10_300 + 0) and first[41:52] == b"%011d" % (0 + 9_800)
    assert first[52:63] == b"%011d" % 0
    assert second[30:41] == b"%011d" % 12_000 and second[41:63] == b"0" * 22
    assert written == HAND_BUILT


def test_groups_keep_their_order_within_a_municipality_and_are_sorted_by_municipality():
    """999 before 501 in 港区 (the given order), and a group of 千代田区 (13101) given last is written first."""
    read = read_exchange_file(HAND_BUILT, file=FILE)
    chiyoda = read.records["22"].filter(pl.col("record_no") == 6).with_columns(pl.lit("13101").alias(
        "municipality_code"))
    groups = pl.concat([read.groups, read.groups.tail(1).with_columns(pl.lit("13101").alias("municipality_code"))])
    written = write_exchange_file(ExchangeFile(read.control, groups, {"22": pl.concat([read.records["22"], chiyoda])}),
                                  file="out.dta")
    again = read_exchange_file(written, file="out.dta")
    assert again.groups.select("municipality_code", "payer_code").rows() == [("13101", "501"), ("13103", "999"),
                                                                             ("13103", "501")]
    assert written[at(1, 1):at(1, 12)] == b"11310150122"


# ------------------------------------------------------------------------------------------------ kanji

def test_a_character_outside_jis_x_0208_is_refused_naming_record_field_and_position():
    read = read_exchange_file(HAND_BUILT, file=FILE)
    records = read.records["22"].with_columns(
        pl.when(pl.col("record_no") == 2).then(pl.lit("𠮷田　太郎")).otherwise(pl.col("name_kanji")).alias("name_kanji"))
    with pytest.raises(UnencodableCharacterError) as caught:
        write_exchange_file(ExchangeFile(read.control, read.groups, {"22": records}), file="out.dta")
    message = str(caught.value)
    assert message == ("Output file out.dta, record 2, field 氏名漢字 (name_kanji): character 1 of the field is "
                       "outside JIS X 0208 (row 1 of the 通知内容コード 22 data); expected JIS X 0208 characters "
                       "only: record a 代替文字 for the person and write the file again.")
    assert "𠮷" not in message and "太郎" not in message
    assert isinstance(caught.value, ContractError)
    # the same check, for a stage that wants to find such values before writing
    assert unencodable_kanji(pl.Series(["港　太郎", "𠮷田", "髙橋　一", None, "１－２"])).to_list() == [
        None, 1, 1, None, None]


def test_an_address_in_an_other_position_is_named_by_its_character_position():
    read = read_exchange_file(HAND_BUILT, file=FILE)
    records = read.records["22"].with_columns(
        pl.when(pl.col("record_no") == 6).then(pl.lit("東京都港区南青山一丁目２番３号㐂")).otherwise(
            pl.col("address_kanji")).alias("address_kanji"))
    with pytest.raises(UnencodableCharacterError, match=r"record 6, field 住所漢字 \(address_kanji\): character 16 "):
        write_exchange_file(ExchangeFile(read.control, read.groups, {"22": records}), file="out.dta")


def test_windows_forms_of_jis_characters_are_written_as_the_jis_character():
    """～ (U+FF5E) and － (U+FF0D), as Windows text writes them, are JIS 0x2141 and 0x215D; read back as the
    standard 〜 and −."""
    read = read_exchange_file(HAND_BUILT, file=FILE)
    records = read.records["22"].with_columns(
        pl.when(pl.col("record_no") == 3).then(pl.lit("芝１－２～")).otherwise(pl.col("address_kanji")).alias(
            "address_kanji"))
    written = write_exchange_file(ExchangeFile(read.control, read.groups, {"22": records}), file="out.dta")
    assert written[at(3, 216):at(3, 216) + 15] == SI + b"<G#1!]#2!A" + FW_SPACE
    again = read_exchange_file(written, file="out.dta").records["22"]
    assert again.filter(pl.col("record_no") == 3)["address_kanji"].to_list() == ["芝１−２〜"]


def test_a_blank_kanji_field_keeps_its_shift_codes_and_full_width_spaces():
    record_3 = HAND_BUILT[at(3, 1):at(3, 1) + 500]
    assert record_3[215:381] == SI + FW_SPACE * 80 + SO


# ------------------------------------------------------------------------------------ generated round trip

MUNICIPALITIES = ("13101", "13103", "13104")
PAYERS = ("999", "501", "594", "596", "700")


def _jis_pool() -> list[str]:
    """Kanji of JIS level 1 (rows 16–47), full-width digits and the full-width space, from the stdlib codec."""
    pool = []
    for row in range(0x30, 0x50):
        for cell in range(0x21, 0x7F):
            try:
                pool.append((SI + bytes((row, cell)) + SO).decode("iso2022_jp"))
            except UnicodeDecodeError:
                pass
    return pool + list("０１２３４５６７８９") + ["丁目", "番", "号"]


def _text(rng: np.random.Generator, pool: list[str], count: int, longest: int, blank_share: float = 0.0) -> list:
    out = []
    for _ in range(count):
        if rng.random() < blank_share:
            out.append(None)
            continue
        text = "".join(pool[i] for i in rng.integers(0, len(pool), rng.integers(1, longest + 1)))
        text = text[:longest].rstrip(" 　")
        out.append(text or pool[0])
    return out


def _column(name: str, spec, n: int, rng: np.random.Generator) -> pl.Series:
    kanji_pool = _jis_pool()
    kana_pool = [chr(c) for c in range(0xFF66, 0xFF9E)] + list("0123456789-() ")
    if spec.type == "amount":
        return pl.Series(name, rng.integers(0, 100_000_000, n), pl.Int64)
    if spec.type == "date":
        start = date(1925, 1, 1)
        return pl.Series(name, [start + timedelta(days=int(d)) for d in rng.integers(0, 36_500, n)], pl.Date)
    if spec.type == "digits":
        if spec.code_values:
            codes = sorted(spec.allowed)
            return pl.Series(name, [codes[i] for i in rng.integers(0, len(codes), n)], pl.String)
        values = [str(v).zfill(spec.length) for v in rng.integers(0, 10 ** spec.length, n)]
        if spec.nullable:
            values = [None if rng.random() < 0.2 else v for v in values]
        return pl.Series(name, values, pl.String)
    if spec.type == "kana":
        return pl.Series(name, _text(rng, kana_pool, n, spec.length, 0.2 if spec.nullable else 0.0), pl.String)
    if spec.type == "kanji":
        return pl.Series(name, _text(rng, kanji_pool, n, spec.length // 2, 0.1 if spec.nullable else 0.0), pl.String)
    if spec.type == "ascii":
        return pl.Series(name, _text(rng, list("ABCDEFGHJK0123456789-"), n, spec.length, 0.5), pl.String)
    raise AssertionError(spec.type)


def generated_exchange(seed: int) -> tuple[ExchangeFile, dict[str, pl.DataFrame], list[tuple[str, str, str]]]:
    """A few hundred random records of every notice type in groups of three municipalities and five payers.
    Returns the exchange (records interleaved across groups), the records in the order the file must hold
    them, and the group keys in file order."""
    rng = np.random.default_rng(seed)
    lay = load_exchange_layouts()
    keys = [(m, p, code) for m in MUNICIPALITIES for code in lay.notices
            for p in sorted(rng.choice(PAYERS, size=int(rng.integers(1, 3)), replace=False))]
    order = rng.permutation(len(keys))
    keys = [keys[i] for i in order]
    file_order = sorted(keys, key=lambda k: k[0])  # the writer's stable sort by 市町村コード
    groups = pl.DataFrame({
        "municipality_code": [k[0] for k in keys], "payer_code": [k[1] for k in keys],
        "notice_code": [k[2] for k in keys], "medium_code": [str(rng.integers(1, 3)) for _ in keys],
        "created_date": [date(2025, 8, 1) + timedelta(days=int(d)) for d in rng.integers(0, 200, len(keys))],
    })
    records, expected = {}, {}
    for code, notice in lay.notices.items():
        mine = [k for k in keys if k[2] == code]
        sizes = rng.integers(0, 12, len(mine))
        owner = np.repeat(np.arange(len(mine)), sizes)
        rng.shuffle(owner)  # interleave the groups' records: the writer must gather them
        n = len(owner)
        frame = pl.DataFrame([_column(f.id, f, n, rng) for f in notice.data.columns]).with_columns(
            pl.Series("municipality_code", [mine[i][0] for i in owner], pl.String),
            pl.Series("payer_code", [mine[i][1] for i in owner], pl.String),
        )
        records[code] = frame
        rank = {k: file_order.index(k) for k in mine}
        expected[code] = (frame.with_columns(pl.Series("_group", [rank[mine[i]] for i in owner]))
                          .with_row_index("_row").sort("_group", "_row").drop("_group", "_row"))
    return ExchangeFile(ControlBlock("13103", "002", date(2025, 8, 1)), groups, records), expected, file_order


@pytest.mark.parametrize("seed", [14, 2025])
def test_a_generated_file_of_every_notice_type_round_trips_byte_for_byte(seed):
    exchange, expected, file_order = generated_exchange(seed)
    assert sum(len(f) for f in exchange.records.values()) >= 200
    written = write_exchange_file(exchange, file="generated.dta")
    total = sum(len(f) for f in exchange.records.values()) + 2 * len(file_order)
    assert len(written) == 96 + total * 500
    assert written[48:54] == b"%06d" % total

    read = read_exchange_file(written, file="generated.dta")
    assert write_exchange_file(read, file="again.dta") == written
    assert read.groups.select("municipality_code", "payer_code", "notice_code").rows() == file_order
    assert sorted(read.records) == sorted(load_exchange_layouts().notices)
    for code, frame in expected.items():
        assert_frame_equal(read.records[code].drop("record_no"), frame.select(read.records[code].columns[1:]))

    # every trailer, read here at its byte offsets, holds the count and sums of its group worked out here
    position = 1
    for key in file_order:
        frame = exchange.records[key[2]].filter((pl.col("municipality_code") == key[0]) &
                                                (pl.col("payer_code") == key[1]))
        assert written[at(position, 1):at(position, 12)] == b"1" + "".join(key).encode()
        position += len(frame) + 1
        trailer_bytes = written[at(position, 1):at(position, 1) + 500]
        assert trailer_bytes[:11] == b"3" + "".join(key).encode()
        assert int(trailer_bytes[21:30]) == len(frame)
        for n, (a, b) in enumerate(((30, 41), (41, 52), (52, 63)), start=1):
            assert int(trailer_bytes[a:b]) == sum(frame[f"amount_{n}"].to_list())
        position += 1


# ----------------------------------------------------------------------------------- errors for operators

def _raises(cls, data: bytes, message: str):
    with pytest.raises(cls) as caught:
        read_exchange_file(data, file=FILE)
    assert str(caught.value) == message
    assert isinstance(caught.value, InputFileError)
    for personal in ("1234567890", "0987654321", "港", "太郎", "ﾐﾅﾄ", "1050014", "19500402"):
        assert personal not in str(caught.value)
    return caught.value


def test_a_file_whose_length_is_not_control_block_plus_whole_records_is_refused():
    _raises(FileLengthError, HAND_BUILT + b"\r\n",
            "Input file hand_built.dta: the file is 3598 bytes long, 96 + 7 × 500 + 2: a record is cut short, too "
            "long or too short, or the file has line ends; expected 96 bytes of control block and records of 500 "
            "bytes (96 + k × 500 bytes).")
    _raises(FileLengthError, HAND_BUILT[:95],
            "Input file hand_built.dta: the file is 95 bytes long, shorter than the control block; expected 96 "
            "bytes of control block and records of 500 bytes (96 + k × 500 bytes).")


def test_a_control_block_count_that_disagrees_with_the_records_is_refused():
    _raises(ControlCountError, patched(HAND_BUILT, 0, 49, b"000008"),
            "Input file hand_built.dta, control block, field ファイル格納件数 (record_count): the control block says "
            "8 records, the file holds 7; expected the number of 500-byte records after the control block.")


def test_an_unknown_record_type_is_refused():
    _raises(UnknownRecordTypeError, patched(HAND_BUILT, 3, 1, b"9"),
            "Input file hand_built.dta, record 3, field レコード区分 (record_type): the record's レコード区分 is '9'; "
            "expected 1 (header), 2 (data) or 3 (trailer).")


def test_records_out_of_group_order_are_refused():
    without_trailer = CONTROL.replace(b"000007", b"000006") + b"".join(RECORDS[:3] + RECORDS[4:])
    _raises(RecordSequenceError, without_trailer,
            "Input file hand_built.dta, record 4, field レコード区分 (record_type): a header record, but the group "
            "that starts at record 1 has no trailer yet; expected each group as one header (レコード区分 1), its "
            "data records (2) and one trailer (3).")
    unsorted = patched(patched(patched(HAND_BUILT, 5, 2, b"13101"), 6, 2, b"13101"), 7, 2, b"13101")
    _raises(RecordSequenceError, unsorted,
            "Input file hand_built.dta, record 5, field 市町村コード (municipality_code): this group's 市町村コード "
            "13101 comes after 13103 (the group of record 1); expected the groups sorted by 市町村コード.")


@pytest.mark.parametrize("byte, new, label, said, header_said", [
    (2, b"13104", "市町村コード (municipality_code)", "'13104'", "'13103'"),
    (7, b"998", "特別徴収義務者コード (payer_code)", "'998'", "'999'"),
    (10, b"02", "通知内容コード (notice_code)", "'02'", "'22'"),
])
def test_a_trailer_that_does_not_match_its_header_is_refused(byte, new, label, said, header_said):
    _raises(HeaderTrailerMismatchError, patched(HAND_BUILT, 4, byte, new),
            f"Input file hand_built.dta, record 4, field {label}: the trailer says {said}, its header (record 1) "
            f"{header_said}; expected the value of the group's header.")


def test_a_data_record_of_another_group_is_refused():
    _raises(GroupMismatchError, patched(HAND_BUILT, 3, 7, b"501"),
            "Input file hand_built.dta, record 3, field 特別徴収義務者コード (payer_code): the data record says "
            "'501', its header (record 1) '999'; expected the value of the group's header.")


def test_a_trailer_whose_count_or_totals_disagree_with_its_data_is_refused():
    _raises(TrailerTotalsError, patched(HAND_BUILT, 4, 22, b"000000003"),
            "Input file hand_built.dta, record 4, field 合計件数 (record_count): the trailer says 3 data records, the "
            "group (records 1–4) holds 2; expected the number of the group's data records.")
    _raises(TrailerTotalsError, patched(HAND_BUILT, 4, 42, b"00000009900"),
            "Input file hand_built.dta, record 4, field 合計金額 金額2 (total_amount_2): the trailer says 9,900, the "
            "金額2 of the group (records 1–4) add up to 9,800; expected the sum of 金額2 over the group's data "
            "records.")
    _raises(TrailerTotalsError, patched(HAND_BUILT, 7, 31, b"00000012001"),
            "Input file hand_built.dta, record 7, field 合計金額 金額1 (total_amount_1): the trailer says 12,001, the "
            "金額1 of the group (records 5–7) add up to 12,000; expected the sum of 金額1 over the group's data "
            "records.")


def test_a_non_digit_in_a_digits_field_is_refused_without_quoting_it():
    error = _raises(DigitsFieldError, patched(HAND_BUILT, 2, 22, b"12345A7890"),
                    "Input file hand_built.dta, record 2, field 基礎年金番号 (basic_pension_no): holds a character "
                    "that is not a digit 0–9; expected 10 ASCII digits, zero-padded on the left.")
    assert error.record_no == 2 and error.field == "基礎年金番号 (basic_pension_no)"
    both = patched(patched(HAND_BUILT, 2, 395, b"0000001030O"), 6, 395, b"00000 12000")
    _raises(DigitsFieldError, both,
            "Input file hand_built.dta, record 2, field 各種金額欄 金額1 (amount_1): holds a character that is not a "
            "digit 0–9 (and in 1 more record); expected 11 ASCII digits, zero-padded on the left.")


def test_an_impossible_date_is_refused():
    _raises(DateFieldError, patched(HAND_BUILT, 3, 39, b"19480230"),
            "Input file hand_built.dta, record 3, field 生年月日 (birth_date): holds eight digits that are not a real "
            "date; expected a real date written YYYYMMDD (西暦).")
    _raises(DateFieldError, patched(HAND_BUILT, 0, 10, b"20251301"),
            "Input file hand_built.dta, control block, field 作成年月日 (created_date): holds eight digits that are "
            "not a real date; expected a real date written YYYYMMDD (西暦).")
    # 1900 was no leap year (divisible by 100, not by 400); 2000 was
    with pytest.raises(DateFieldError, match=r"record 6, field 生年月日"):
        read_exchange_file(patched(HAND_BUILT, 6, 39, b"19000229"), file=FILE)
    leap = read_exchange_file(patched(HAND_BUILT, 6, 39, b"20000229"), file=FILE).records["22"]
    assert leap["birth_date"].to_list()[2] == date(2000, 2, 29)
    _raises(DigitsFieldError, patched(HAND_BUILT, 6, 39, b" " * 8),
            "Input file hand_built.dta, record 6, field 生年月日 (birth_date): is blank; expected 8 ASCII digits.")


def test_a_bad_shift_code_is_refused():
    _raises(ShiftCodeError, patched(HAND_BUILT, 2, 73, b"\x1b$@"),
            "Input file hand_built.dta, record 2, field シフトコード1 (name_shift_in): the bytes there are not the "
            "shift code the layout puts there; expected the shift code 漢字IN ESC $ B (1B 24 42).")
    _raises(ShiftCodeError, patched(HAND_BUILT, 6, 379, b"\x1b(J"),
            "Input file hand_built.dta, record 6, field シフトコード4 (address_shift_out): the bytes there are not "
            "the shift code the layout puts there; expected the shift code 漢字OUT ESC ( B (1B 28 42).")


def test_a_code_pair_outside_jis_x_0208_is_refused():
    _raises(KanjiFieldError, patched(HAND_BUILT, 2, 78, b"/!"),  # row 15 of JIS X 0208 is unassigned
            "Input file hand_built.dta, record 2, field 氏名漢字 (name_kanji): character 2 of the field is not a JIS "
            "X 0208 character; expected JIS X 0208 characters (two bytes 0x21–0x7E each) padded with the "
            "full-width space 0x2121.")


def test_a_byte_that_is_not_kana_is_refused():
    _raises(TextFieldError, patched(HAND_BUILT, 2, 48, b"\x80"),
            "Input file hand_built.dta, record 2, field 氏名カナ (name_kana): holds a byte that is neither 半角カナ "
            "(JIS X 0201 0xA1–0xDF) nor printable ASCII; expected 半角カナ or ASCII (not \\ or ~), left-aligned "
            "and padded with spaces.")
    _raises(TextFieldError, patched(HAND_BUILT, 2, 48, b" " * 25),
            "Input file hand_built.dta, record 2, field 氏名カナ (name_kana): is blank; expected a value (the field "
            "is required).")


def test_a_code_the_layout_does_not_have_is_refused():
    _raises(CodeFieldError, patched(HAND_BUILT, 2, 382, b"04"),
            "Input file hand_built.dta, record 2, field 各種区分 (category): holds a code that is not one of its "
            "codes; expected one of category_22: 00 正常, 01 失権, 02 差止, 03 支払年金額不足, 05 他制度による中止.")
    _raises(CodeFieldError, patched(HAND_BUILT, 3, 13, b"0"),
            "Input file hand_built.dta, record 3, field 特別徴収制度コード (system_code): holds '0'; expected '4'.")
    _raises(CodeFieldError, patched(patched(HAND_BUILT, 1, 10, b"81"), 4, 10, b"81"),
            "Input file hand_built.dta, record 1, field 通知内容コード (notice_code): holds '81', which is not one of "
            "its codes; expected one of notice_code: 00 特別徴収対象者情報, 01 特別徴収依頼通知, 02 "
            "特別徴収依頼処理結果通知, 22 特別徴収結果通知, 30 特別徴収追加候補者情報, 31 特別徴収追加依頼通知, 32 "
            "特別徴収追加依頼処理結果通知, 41 資格喪失等の通知 (異動・中止), 42 資格喪失等処理結果通知, 61 "
            "仮徴収額変更通知, 62 仮徴収額変更処理結果通知.")


def test_the_earliest_problem_of_the_file_is_named_first():
    """A bad amount in record 6 and a bad date in record 2: record 2 is named."""
    data = patched(patched(HAND_BUILT, 6, 395, b"0000001200X"), 2, 39, b"19500431")
    with pytest.raises(DateFieldError, match=r"record 2, field 生年月日"):
        read_exchange_file(data, file=FILE)


def test_an_error_survives_a_process_boundary_with_its_sentence():
    import pickle

    with pytest.raises(TrailerTotalsError) as caught:
        read_exchange_file(patched(HAND_BUILT, 4, 22, b"000000003"), file=FILE)
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again) is TrailerTotalsError and str(again) == str(caught.value)


# ------------------------------------------------------------------------------------------ writer refusals

def _bare(**changes) -> ExchangeFile:
    read = read_exchange_file(HAND_BUILT, file=FILE)
    frame = read.records["22"].with_columns(**changes) if changes else read.records["22"]
    return ExchangeFile(read.control, read.groups, {"22": frame})


def test_the_writer_refuses_what_it_would_have_to_cut_or_guess():
    with pytest.raises(PensionExchangeWriteError) as caught:
        write_exchange_file(_bare(name_kana=pl.lit("ﾐﾅﾄ" * 9)), file="out.dta")
    assert str(caught.value) == (
        "Output file out.dta, record 2, field 氏名カナ (name_kana): is longer than the field (row 1 of the 通知内容コード "
        "22 data) (and 2 more rows); expected at most 25 characters (never cut short).")
    with pytest.raises(PensionExchangeWriteError, match=r"field 各種金額欄 金額1 \(amount_1\): the column of the "
                                                        r"通知内容コード 22 data is Float64; expected whole yen"):
        write_exchange_file(_bare(amount_1=pl.col("amount_1").cast(pl.Float64)), file="out.dta")
    with pytest.raises(PensionExchangeWriteError, match=r"record 2, field 各種金額欄 金額2 \(amount_2\): is negative"):
        write_exchange_file(_bare(amount_2=pl.when(pl.col("record_no") == 2).then(-1).otherwise(pl.col("amount_2"))),
                            file="out.dta")
    with pytest.raises(PensionExchangeWriteError, match=r"record 3, field 氏名カナ \(name_kana\): character 1 of the "
                                                        r"field is not 半角カナ"):
        write_exchange_file(_bare(name_kana=pl.when(pl.col("record_no") == 3).then(pl.lit("シバ")).otherwise(
            pl.col("name_kana"))), file="out.dta")
    with pytest.raises(PensionExchangeWriteError, match=r"record 2, field 各種区分 \(category\): holds a code that is "
                                                        r"not one of its codes"):
        write_exchange_file(_bare(category=pl.lit("09")), file="out.dta")
    with pytest.raises(PensionExchangeWriteError, match=r"row 1 of the 通知内容コード 22 data \('13103', '594'\) "
                                                        r"belongs to no group"):
        write_exchange_file(_bare(payer_code=pl.lit("594")), file="out.dta")


# ---------------------------------------------------------------------------------------- the layouts

def test_every_record_of_every_layout_tiles_its_bytes():
    """Read here from the YAML: each record's lengths add up, in byte order, to 500 (the control block 96)."""
    frame = yaml.safe_load((PENSION_EXCHANGE_DIR / "record_frame.yaml").read_text(encoding="utf-8"))
    assert sum(f["length"] for f in frame["control"]) == 5 + 1 + 3 + 8 + 31 + 6 + 42 == 96
    for part in ("header", "trailer"):
        assert [f["start"] for f in frame[part]] == list(np.cumsum([1] + [f["length"] for f in frame[part]])[:-1])
        assert sum(f["length"] for f in frame[part]) == 500
    lay = load_exchange_layouts()
    assert sorted(lay.notices) == ["00", "01", "02", "22", "30", "31", "32", "41", "42", "61", "62"]
    for code, notice in lay.notices.items():
        fields = notice.data.fields
        assert fields[0].start == 1 and fields[-1].end == 500
        assert all(a.end + 1 == b.start for a, b in zip(fields, fields[1:])), code
        own = yaml.safe_load((PENSION_EXCHANGE_DIR / notice.file.rsplit("/", 1)[1]).read_text(encoding="utf-8"))
        assert (own["fields"][0]["start"], own["fields"][-1]["start"] + own["fields"][-1]["length"]) == (382, 486)


def test_every_code_says_where_it_comes_from():
    codes = yaml.safe_load((PENSION_EXCHANGE_DIR / "codes.yaml").read_text(encoding="utf-8"))
    for name, spec in codes["code_lists"].items():
        for code, entry in spec["codes"].items():
            assert ("source" in entry) != ("chosen" in entry), (name, code)
            assert str(entry.get("chosen", "chosen by juminzei: not public")).startswith(
                "chosen by juminzei: not public"), (name, code)
    assert list(codes["code_lists"]["system_code"]["codes"]) == ["4"]
    lay = load_exchange_layouts()
    assert lay.notice("01").amount_names() == {"amount_1": "main_october", "amount_2": "main_december",
                                               "amount_3": "main_february"}


@pytest.fixture
def layout_copy(tmp_path):
    target = tmp_path / "pension_exchange"
    shutil.copytree(PENSION_EXCHANGE_DIR, target)
    return target


def _edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_copy_of_the_layouts_loads(layout_copy):
    assert sorted(load_exchange_layouts_from(layout_copy).notices) == sorted(load_exchange_layouts().notices)


@pytest.mark.parametrize("file, old, new, message", [
    ("request_01.yaml", "start: 406, length: 11", "start: 407, length: 11",
     r"request_01.yaml: field 各種金額欄 金額2 \(amount_2\) starts at byte 407, but byte 406 is described by no "
     r"field of the data record"),
    ("request_01.yaml", "start: 406, length: 11", "start: 405, length: 11",
     r"request_01.yaml: field 各種金額欄 金額2 \(amount_2\) starts at byte 405, inside 各種金額欄 金額1 \(amount_1\) "
     r"\(bytes 395–405\): fields of the data record overlap"),
    ("record_frame.yaml", "start: 55, length: 42", "start: 55, length: 41",
     r"record_frame.yaml: its last field 予備 \(reserve_3\) ends at byte 95; the control block is 96 bytes"),
    ("record_frame.yaml", "type: kanji, pad: fullwidth_space_right, nullable: true,\n     description: \"25",
     "type: kanji, pad: space_right, nullable: true,\n     description: \"25",
     r"record_frame.yaml: field 氏名漢字 \(name_kanji\): a kanji field is padded fullwidth_space_right, not "
     r"space_right"),
    ("change_41.yaml", "codes: category_41", "codes: category_99",
     r"change_41.yaml: field 各種区分 \(category\): codes 'category_99' is not a code list of codes.yaml"),
    ("codes.yaml", '"02": {label: 転出, source: "docs/sources.md#f3-2"}', '"02": {label: 転出}',
     r"codes.yaml: code '02' of category_41: give exactly one of source"),
])
def test_a_broken_layout_is_refused_naming_the_file_and_the_field(layout_copy, file, old, new, message):
    _edit(layout_copy / file, old, new)
    with pytest.raises(PensionLayoutError, match=message):
        load_exchange_layouts_from(layout_copy)


def test_a_notice_type_without_its_layout_file_is_refused(layout_copy):
    (layout_copy / "provisional_change_result_62.yaml").unlink()
    with pytest.raises(PensionLayoutError, match=r"codes.yaml: 通知内容コード 62 has no layout file"):
        load_exchange_layouts_from(layout_copy)


def test_the_layout_document_is_generated_from_the_layouts():
    assert docs_path().read_text(encoding="utf-8") == render_markdown(load_exchange_layouts()), (
        "docs/layouts/pension_exchange.md is stale: .venv/bin/python -m contracts.pension_exchange --write-docs")
    text = render_markdown()
    assert "chosen by juminzei: not public" in text and "public: docs/sources.md#f3-2" in text
