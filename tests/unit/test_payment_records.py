"""The inbound payment files (収納データ): layouts as data (contracts/payments/) and the codec
(transforms/payment_records.py); docs/layouts/payments.md.

Every file below is built by hand, record by record, from the field tables (values written out in the test,
padded by hand, each fixed-length record checked to be 120 bytes before use). Expected trailer totals are sums
of the hand-written amounts; barcodes get their check digit from :func:`hand_check_digit`, a loop written here
from the published rule and checked against worked values published in other code; 確認番号 values are worked
out by hand in comments. Nothing expected is copied from the code under test.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml

from contracts.errors import FileRecordError, JuminzeiError
from contracts.payments import PAYMENTS_DIR, REASON_CODES, PaymentLayoutError, load_payment_layouts
from contracts.payments import load_payment_layouts_from, render_markdown
from transforms.payment_records import (
    CHANNELS,
    PAYMENT_SCHEMA,
    PaymentDecodeError,
    PaymentFieldError,
    PaymentFormatError,
    PaymentRecordLengthError,
    PaymentRecordOrderError,
    PaymentTrailerTotalsError,
    PaymentWriteError,
    barcode,
    confirmation_number,
    customer_number,
    el_number,
    gs1_check_digit,
    read_payment_file,
    write_payment_file,
)

REPO = Path(__file__).resolve().parents[2]
SP = " "
CRLF = b"\r\n"


def line(*parts: str) -> bytes:
    """One fixed-length record from its fields, written out by hand; must come to 120 bytes."""
    raw = "".join(parts).encode("cp932")
    assert len(raw) == 120, f"a hand-built record is {len(raw)} bytes"
    return raw


def joined(records: list[bytes], sep: bytes = CRLF, final: bool = True) -> bytes:
    return sep.join(records) + (sep if final and sep else b"")


def hand_check_digit(digits_43: str) -> str:
    """The published rule, written independently: positions counted from the right with the check digit at 1;
    even positions ×3, odd ×1; CD = (10 − sum mod 10) mod 10."""
    total = 0
    for position_from_right, digit in enumerate(reversed(digits_43), start=2):
        total += int(digit) * (3 if position_from_right % 2 == 0 else 1)
    return str((10 - total % 10) % 10)


def end_record() -> bytes:
    return line("9", SP * 119)


# --------------------------------------------------------------------------- GS1-128 check digit

def test_check_digit_worked_by_hand():
    # The 43 digits of our barcode for 通知書番号 202600000000001, 第1期, due 2026-06-30, 12,300 yen:
    #   91 912345 01 202600000000001 01 00 0 260630 0 012300
    #   = 9191234501202600000000001010002606300012300
    # The check digit is position 1 from the right, so the last of the 43 is position 2 (even, ×3) and the
    # string's 0-based index i sits at position 44 − i: even indices are the ×3 digits.
    #   even indices 0,2,…,42: 9 9 2 4 0 2 2 0 0 0 0 0 1 1 0 2 0 3 0 1 3 0 → 39 → ×3 = 117
    #   odd indices 1,3,…,41:  1 1 3 5 1 0 6 0 0 0 0 0 0 0 0 6 6 0 0 2 0   → 31
    #   117 + 31 = 148 → 10 − 8 = 2
    digits = "91" + "912345" + "01" + "202600000000001" + "01" + "00" + "0" + "260630" + "0" + "012300"
    assert digits == "9191234501202600000000001010002606300012300"
    assert hand_check_digit(digits) == "2"
    assert pl.select(gs1_check_digit(pl.lit(digits))).item() == "2"


@pytest.mark.parametrize(("digits_43", "expected"), [
    # public code (a scholarship-collection system's barcode builder): both commented "should be 3"
    ("91" + "912345" + "0123456789012345678901" + "010331" + "0" + "123000", "3"),
    ("91" + "942386" + "1789539178539356927301" + "030731" + "1" + "031290", "3"),
    # public code (a Go test of a 確報 CSV reader): the 44th digit of EAN91929023219420000000000037554399999999999999
    ("9192902321942000000000003755439999999999999", "9"),
])
def test_check_digit_of_published_barcodes(digits_43, expected):
    assert hand_check_digit(digits_43) == expected
    assert pl.select(gs1_check_digit(pl.lit(digits_43))).item() == expected


def test_check_digit_is_vectorised_and_null_for_bad_input():
    frame = pl.DataFrame({"d": ["91" + "912345" + "0123456789012345678901" + "010331" + "0" + "123000",
                                "123", None]})
    assert frame.select(gs1_check_digit(pl.col("d"))).to_series().to_list() == ["3", None, None]


# --------------------------------------------------------------------------- the コンビニ channel, by hand

COMPANY = "912345"


def bc(notice: str, installment: str, amount: str, due: str = "260630", company: str = COMPANY) -> str:
    """Our barcode, packed by hand: AI 91, company 6, 税目 01, 通知書番号 15, 期別 2, 00, 再発行 0, 支払期限, 印紙 0,
    amount 6, check digit."""
    body = "91" + company + "01" + notice + installment + "00" + "0" + due + "0" + amount
    assert len(body) == 43
    return body + hand_check_digit(body)


def cvs_data(kind: str, barcode_digits: str, paid: str = "20260620", time: str = "0930",
             credited: str = SP * 8, booked: str = SP * 8, filler: str = SP * 3) -> bytes:
    # レコード区分, 種別, 店舗収納日, 時刻, バーコード種別, バーコード 44, ダミー 3, 店舗 7, 客層 2, 取得日, 振込予定日,
    # 経理処理日, CVSコード 6, 予備 18
    return line("2", kind, paid, time, "1", barcode_digits, filler, "0012345", "00", "20260621", credited, booked,
                "000010", SP * 18)


CVS_HEADER = line("1", "20260621", "12345", COMPANY, SP * 100)
N1, N2, N3 = "202600000000001", "202600000000002", "202600000000003"
# 12,300 + 45,600 + 12,300 = 70,200 yen in 3 records: a 速報, a 確報, the 速報取消 of the first
CVS_DATA = [
    cvs_data("01", bc(N1, "01", "012300")),
    cvs_data("02", bc(N2, "02", "045600"), paid="20260621", time="2359", credited="20260701", booked="20260622"),
    cvs_data("03", bc(N1, "01", "012300")),
]
CVS_TRAILER = line("8", "000003", "000000070200", SP * 101)
CVS_FILE = [CVS_HEADER, *CVS_DATA, CVS_TRAILER, end_record()]


def cvs_file(data: list[bytes], count: str, total: str) -> bytes:
    return joined([CVS_HEADER, *data, line("8", count, total, SP * 101), end_record()])


def test_convenience_reads_into_the_normalized_schema():
    pf = read_payment_file(joined(CVS_FILE), file="cvs.txt", channel="convenience")
    r = pf.records
    assert r.schema == pl.Schema(PAYMENT_SCHEMA)
    assert list(r.columns) == list(PAYMENT_SCHEMA)
    assert r["record_no"].to_list() == [2, 3, 4]
    assert r["report_kind"].to_list() == ["preliminary", "final", "preliminary_cancel"]
    assert r["notice_no"].to_list() == [N1, N2, N1]
    assert r["installment"].to_list() == [1, 2, 1]
    assert r["amount"].to_list() == [12300, 45600, 12300]
    assert r["paid_on"].to_list() == [date(2026, 6, 20), date(2026, 6, 21), date(2026, 6, 20)]
    assert r["credited_on"].to_list() == [None, date(2026, 7, 1), None]
    assert r["retirement_amount"].to_list() == [0, 0, 0]
    assert r["route"].null_count() == 3
    # the 速報 and its 速報取消 share the reference: barcode + 店舗収納日時
    assert r["reference"][0] == bc(N1, "01", "012300") + "20260620" + "0930" == r["reference"][2]
    assert pf.quarantine.height == 0
    assert pf.header == {"created": date(2026, 6, 21), "agent_code": "12345", "company_code": COMPANY}
    assert pf.trailer == {"total_count": 3, "total_amount": 70200}


@pytest.mark.parametrize(("sep", "final"), [(CRLF, True), (CRLF, False), (b"\n", True), (b"", False)])
def test_convenience_round_trip(sep, final):
    data = joined(CVS_FILE, sep, final)
    pf = read_payment_file(data, file="cvs.txt", channel="convenience")
    again = write_payment_file(pf.writable(), file="cvs.txt", channel="convenience", created=pf.created,
                               line_end=pf.line_end, final_line_end=pf.final_line_end, **pf.header_values)
    assert again == data


def test_convenience_written_from_normalized_columns_equals_the_hand_built_file():
    records = pl.DataFrame({
        "report_kind": ["preliminary", "final", "preliminary_cancel"],
        "paid_on": [date(2026, 6, 20), date(2026, 6, 21), date(2026, 6, 20)], "paid_time": ["0930", "2359", "0930"],
        "notice_no": [N1, N2, N1], "installment": pl.Series([1, 2, 1], dtype=pl.Int32),
        "due_on": [date(2026, 6, 30)] * 3, "amount": pl.Series([12300, 45600, 12300], dtype=pl.Int64),
        "store_code": ["0012345"] * 3, "acquired_on": [date(2026, 6, 21)] * 3,
        "credited_on": [None, date(2026, 7, 1), None], "booked_on": [None, date(2026, 6, 22), None],
        "cvs_code": ["000010"] * 3,
    })
    out = write_payment_file(records, file="cvs.txt", channel="convenience", created=date(2026, 6, 21),
                             agent_code="12345", company_code=COMPANY)
    assert out == joined(CVS_FILE)


def test_barcode_helper_packs_as_by_hand_and_stops_at_the_cap():
    frame = pl.DataFrame({"n": [N1, N2], "i": [1, 4], "d": [date(2026, 6, 30), date(2027, 2, 1)],
                          "a": pl.Series([12300, 300000], dtype=pl.Int64)})
    got = frame.select(barcode(pl.col("n"), pl.col("i"), pl.col("d"), pl.col("a"), company_code=COMPANY))
    assert got.to_series().to_list() == [bc(N1, "01", "012300"), None]  # 300,000 yen: no barcode
    capped = pl.select(barcode(pl.lit(N1), pl.lit(1), pl.lit(date(2026, 6, 30)), pl.lit(299999),
                               company_code=COMPANY)).item()
    assert capped == bc(N1, "01", "299999")


def test_the_reissue_digit_may_come_per_row_and_the_company_code_is_checked():
    """再発行区分 (the 30th digit: after AI 91, the company code, 税目, 通知書番号, 期別 and 00) is 0 for a first notice
    and 1 for a reissued one; it may be given per row as a column."""
    frame = pl.DataFrame({"r": [0, 1]})
    args = (pl.lit(N1), pl.lit(1), pl.lit(date(2026, 6, 30)), pl.lit(12300))
    per_row = frame.select(barcode(*args, company_code=COMPANY, reissue=pl.col("r"))).to_series().to_list()
    first, again = (pl.select(barcode(*args, company_code=COMPANY, reissue=r)).item() for r in (0, 1))
    assert per_row == [first, again] and first == bc(N1, "01", "012300")
    assert (first[29], again[29]) == ("0", "1") and first[:29] == again[:29]
    for bad in ("12345", "1234567", "12345a", "１２３４５６"):
        with pytest.raises(ValueError, match="^company_code is the 6-digit 請求書発行企業コード$"):
            barcode(*args, company_code=bad)


# --------------------------------------------------------------------------- MPN, by hand
# 確認番号 = (通知書番号 + 期別 as one integer) mod 999983:
#   000000000000001 + 01 → 101 → 101 < 999983 → "000101"
#   000000000010000 + 02 → 1,000,002 → 1,000,002 − 999,983 = 19 → "000019"
#   000000000009999 + 83 → 999,983 → 0 → "000000"
MPN_A, MPN_B = "000000000000001", "000000000010000"


def mpn_data(notice: str, inst: str, conf: str, amount: str, receipt: str, agency: str = "12345",
             credited: str = "20260705") -> bytes:
    # レコード区分, 収納日, 金融機関 4, 店舗 3, チャネル 1, 収納機関番号 5, お客様番号 20, 確認番号 6, 納付区分 16,
    # 金額 10, 入金予定日, 収納受付番号 16, 予備 22
    return line("2", "20260701", "0005", "041", "1", agency, (notice + inst).ljust(20), conf, "01".ljust(16),
                amount, credited, receipt, SP * 22)


MPN_HEADER = line("1", "20260702", "12345", SP * 106)
MPN_DATA = [mpn_data(MPN_A, "01", "000101", "0000012300", "0000000000000001"),
            mpn_data(MPN_B, "02", "000019", "0000000456", "0000000000000002", credited=SP * 8)]
MPN_FILE = [MPN_HEADER, *MPN_DATA, line("8", "000002", "000000012756", SP * 101), end_record()]  # 12,300 + 456


@pytest.mark.parametrize(("notice", "inst", "expected"), [(MPN_A, 1, "000101"), (MPN_B, 2, "000019"),
                                                          ("000000000009999", 83, "000000")])
def test_confirmation_number_by_hand(notice, inst, expected):
    assert pl.select(confirmation_number(pl.lit(notice), pl.lit(inst))).item() == expected
    assert pl.select(customer_number(pl.lit(notice), pl.lit(inst))).item() == notice + f"{inst:02d}"


def test_confirmation_number_catches_one_changed_digit_and_one_swap():
    base = pl.select(confirmation_number(pl.lit("202600001234567"), pl.lit(3))).item()
    changed = pl.select(confirmation_number(pl.lit("202600001234577"), pl.lit(3))).item()
    swapped = pl.select(confirmation_number(pl.lit("202600001235467"), pl.lit(3))).item()
    assert len({base, changed, swapped}) == 3


def test_mpn_reads_and_round_trips():
    data = joined(MPN_FILE)
    pf = read_payment_file(data, file="mpn.txt", channel="mpn")
    r = pf.records
    assert r["notice_no"].to_list() == [MPN_A, MPN_B] and r["installment"].to_list() == [1, 2]
    assert r["amount"].to_list() == [12300, 456]
    assert r["reference"].to_list() == ["0000000000000001", "0000000000000002"]
    assert r["credited_on"].to_list() == [date(2026, 7, 5), None]
    assert r["report_kind"].to_list() == ["final", "final"]
    again = write_payment_file(pf.writable(), file="mpn.txt", channel="mpn", created=pf.created,
                               **pf.header_values)
    assert again == data
    # from the normalized columns: お客様番号, 確認番号 and 収納機関番号 are derived
    out = write_payment_file(
        r.select("paid_on", "notice_no", "installment", "amount", "credited_on", "reference").with_columns(
            bank_code=pl.lit("0005"), branch_code=pl.lit("041"), channel_code=pl.lit("1"),
            receipt_no=pl.col("reference")),
        file="mpn.txt", channel="mpn", created=date(2026, 7, 2), agency_no="12345")
    assert out == data


# --------------------------------------------------------------------------- eL-QR (CSV), by hand

def el_row(notice: str, inst: str, conf: str, amount: str, receipt: str, payment_no: str | None = None,
           municipality: str = "131032", credited: str = "20260703", agency: str = "00001") -> str:
    pno = payment_no if payment_no is not None else notice + inst
    return ",".join(["2", agency, pno, conf, "01", municipality, notice, inst, amount, "20260701", credited, "01",
                     receipt])


EL_HEADER = "1,20260702,131032,00001"
EL_ROWS = [el_row(MPN_A, "01", "000101", "12300", "00000000000000000001"),
           el_row(MPN_B, "02", "000019", "0", "00000000000000000002", credited="")]


def el_file(rows: list[str], count: str, total: str, sep: str = "\r\n") -> bytes:
    return (sep.join([EL_HEADER, *rows, f"8,{count},{total}"]) + sep).encode("cp932")


def test_el_qr_reads_and_round_trips():
    data = el_file(EL_ROWS, "2", "12300")
    pf = read_payment_file(data, file="el.csv", channel="el_qr")
    r = pf.records
    assert r["record_no"].to_list() == [2, 3]
    assert r["notice_no"].to_list() == [MPN_A, MPN_B] and r["amount"].to_list() == [12300, 0]
    assert r["credited_on"].to_list() == [date(2026, 7, 3), None]
    assert pf.header == {"created": date(2026, 7, 2), "municipality_code": "131032", "agency_no": "00001"}
    again = write_payment_file(pf.writable(), file="el.csv", channel="el_qr", created=pf.created,
                               **pf.header_values)
    assert again == data
    assert pl.select(el_number(pl.lit(MPN_A), pl.lit(1), agency_no="00001")).item() == (
        "00001" + MPN_A + "01" + "000101" + "01")


# --------------------------------------------------------------------------- bank counter, by hand

def bank_data(notice: str, inst: str, amount: str, serial: str, ocr: str = "1", tax: str = "01",
              credited: str = "20260702", paid: str = "20260630") -> bytes:
    # レコード区分, 収納日, 金融機関 4, 店舗 3, 税目 2, 通知書番号 15, 期別 2, 金額 10, OCR 1, 通し番号 8, 収入日,
    # 予備 58
    return line("2", paid, "0005", "041", tax, notice, inst, amount, ocr, serial, credited, SP * 58)


BANK_HEADER = line("1", "20260701", "131032", "0005", SP * 101)
BANK_DATA = [bank_data(N1, "01", "0000012300", "00000001"), bank_data(N2, "04", "0000099900", "00000002", ocr="2")]
BANK_FILE = [BANK_HEADER, *BANK_DATA, line("8", "000002", "000000112200", SP * 101), end_record()]  # 12,300+99,900


def bank_file(data: list[bytes], count: str, total: str) -> bytes:
    return joined([BANK_HEADER, *data, line("8", count, total, SP * 101), end_record()])


def test_bank_counter_reads_and_round_trips():
    data = joined(BANK_FILE)
    pf = read_payment_file(data, file="ocr.txt", channel="bank_counter")
    r = pf.records
    assert r["notice_no"].to_list() == [N1, N2] and r["installment"].to_list() == [1, 4]
    assert r["reference"].to_list() == ["0005041" + "20260630" + "00000001", "0005041" + "20260630" + "00000002"]
    assert r["credited_on"].to_list() == [date(2026, 7, 2)] * 2
    again = write_payment_file(pf.writable(), file="ocr.txt", channel="bank_counter", created=pf.created,
                               **pf.header_values)
    assert again == data


# --------------------------------------------------------------------------- 特別徴収 remittances, by hand

def remit_data(route: str, payer: str, period: str, amount: str, retirement: str, serial: str,
               year: str = "2026", headcount: str = "000012") -> bytes:
    # レコード区分, 区分, 指定番号 10 (left), 年度, 納入月分, 納期限, 給与分 10, 退職所得分 10, 人員 6, 領収日,
    # 金融機関 4,
    # 店舗 3, 通し番号 8, 予備 41
    return line("2", route, payer.ljust(10), year, period, "20260710", amount, retirement, headcount, "20260709",
                "0005", "041", serial, SP * 41)


REMIT_HEADER = line("1", "20260711", "131032", "0005", SP * 101)
REMIT_DATA = [remit_data("1", "92702083", "202606", "0000345600", "0000020000", "00000011"),
              remit_data("2", "999", "202606", "0000007800", "0000000000", "00000012", headcount="000003")]
# 給与分・年金分 345,600 + 7,800 = 353,400; 退職所得分 20,000
REMIT_FILE = [REMIT_HEADER, *REMIT_DATA, line("8", "000002", "000000353400", "000000020000", SP * 89), end_record()]


def remit_file(data: list[bytes], count: str, total: str, retirement: str) -> bytes:
    return joined([REMIT_HEADER, *data, line("8", count, total, retirement, SP * 89), end_record()])


def test_a_pension_remittance_of_april_is_a_month_of_the_year():
    """年金特別徴収 begins with the 仮徴収 of April (地方税法第321条の7の8): 2026-04 is in the 2026 年度 for a
    pension insurer, though not for an employer (給与: June to May)."""
    april = remit_file([remit_data("2", "999", "202604", "0000345600", "0000000000", "00000011"), REMIT_DATA[1]],
                       "000002", "000000353400", "000000000000")
    pf = read_payment_file(april, file="remit.txt", channel="special_remittance")
    assert pf.quarantine.height == 0 and pf.records["period"].to_list()[0] == "2026-04"


def test_special_remittance_reads_and_round_trips():
    data = joined(REMIT_FILE)
    pf = read_payment_file(data, file="remit.txt", channel="special_remittance")
    r = pf.records
    assert r["route"].to_list() == ["salary", "pension"]
    assert r["payer"].to_list() == ["92702083", "999"]
    assert r["period"].to_list() == ["2026-06", "2026-06"]
    assert r["amount"].to_list() == [345600, 7800] and r["retirement_amount"].to_list() == [20000, 0]
    assert r["notice_no"].null_count() == 2 and r["installment"].null_count() == 2
    assert r["paid_on"].to_list() == [date(2026, 7, 9)] * 2
    again = write_payment_file(pf.writable(), file="remit.txt", channel="special_remittance", created=pf.created,
                               **pf.header_values)
    assert again == data
    # from the normalized columns: 区分 from route, 納入月分 from period
    out = write_payment_file(
        r.select("route", "payer", "period", "amount", "retirement_amount", "paid_on").with_columns(
            fiscal_year=pl.lit("2026"), due_on=pl.lit(date(2026, 7, 10)),
            headcount=pl.Series([12, 3], dtype=pl.Int64), bank_code=pl.lit("0005"), branch_code=pl.lit("041"),
            serial_no=pl.Series(["00000011", "00000012"])),
        file="remit.txt", channel="special_remittance", created=date(2026, 7, 11), municipality_code="131032",
        reporting_bank_code="0005")
    assert out == data


# --------------------------------------------------------------------------- quarantine

def _bank_replace(start: int, text: str) -> bytes:
    """BANK_DATA[0] with ``text`` at 1-based byte ``start``."""
    rec = BANK_DATA[0]
    return rec[:start - 1] + text.encode("cp932") + rec[start - 1 + len(text):]


QUARANTINE_CASES = [
    # (id, channel, file bytes, reason, field title)
    ("cvs check digit", "convenience",
     cvs_file([cvs_data("01", bc(N1, "01", "012300")[:43] + str((int(bc(N1, "01", "012300")[43]) + 1) % 10)),
               CVS_DATA[1]], "000002", "000000057900"),
     "barcode_check_digit", "バーコード情報 (barcode)"),
    ("cvs company", "convenience",
     cvs_file([cvs_data("01", bc(N1, "01", "012300", company="912399")), CVS_DATA[1]], "000002", "000000057900"),
     "barcode_company", "バーコード情報 (barcode)"),
    ("cvs layout", "convenience",
     cvs_file([cvs_data("01", bc(N1, "01", "012300", due="261330")), CVS_DATA[1]], "000002", "000000057900"),
     "barcode_layout", "バーコード情報 (barcode)"),
    ("cvs over cap", "convenience",
     cvs_file([cvs_data("01", bc(N1, "01", "300000")), CVS_DATA[1]], "000002", "000000345600"),
     "barcode_over_cap", "バーコード情報 (barcode)"),
    ("cvs installment", "convenience",
     cvs_file([cvs_data("01", bc(N1, "05", "012300")), CVS_DATA[1]], "000002", "000000057900"),
     "invalid_installment", "バーコード情報 (barcode): 期別"),
    ("cvs kind", "convenience",
     cvs_file([cvs_data("04", bc(N1, "01", "012300")), CVS_DATA[1]], "000002", "000000057900"),
     "unknown_code", "種別 (report_kind_code)"),
    ("cvs barcode digits", "convenience",
     cvs_file([cvs_data("01", "X" * 44), CVS_DATA[1]], "000002", "000000057900"),
     "invalid_barcode", "バーコード情報 (barcode)"),
    ("cvs date", "convenience",
     cvs_file([cvs_data("01", bc(N1, "01", "012300"), paid="20260231"), CVS_DATA[1]], "000002", "000000057900"),
     "invalid_date", "店舗収納日 (paid_on)"),
    ("cvs time", "convenience",
     cvs_file([cvs_data("01", bc(N1, "01", "012300"), time="2460"), CVS_DATA[1]], "000002", "000000057900"),
     "invalid_time", "店舗収納時刻 (paid_time)"),
    ("cvs filler", "convenience",
     cvs_file([cvs_data("01", bc(N1, "01", "012300"), filler="ABC"), CVS_DATA[1]], "000002", "000000057900"),
     "filler_not_blank", "ダミー (filler_1)"),
    ("bank notice", "bank_counter", bank_file([_bank_replace(19, "20260000000000A"), BANK_DATA[1]], "000002",
                                              "000000112200"), "invalid_notice_no", "通知書番号 (notice_no)"),
    ("bank amount", "bank_counter", bank_file([_bank_replace(36, "00000123X0"), BANK_DATA[1]], "000002",
                                              "000000112200"), "invalid_amount", "金額 (amount)"),
    ("bank installment", "bank_counter", bank_file([_bank_replace(34, "07"), BANK_DATA[1]], "000002",
                                                   "000000112200"), "invalid_installment", "期別 (installment)"),
    ("bank digits", "bank_counter", bank_file([_bank_replace(10, "00A5"), BANK_DATA[1]], "000002",
                                              "000000112200"), "invalid_digits", "金融機関コード (bank_code)"),
    ("bank tax item", "bank_counter", bank_file([_bank_replace(17, "02"), BANK_DATA[1]], "000002",
                                                "000000112200"), "unknown_code", "税目コード (tax_item)"),
    ("mpn customer", "mpn", joined([MPN_HEADER, mpn_data("00000000000001", "01", "000101", "0000012300",
                                                         "0000000000000001"), MPN_DATA[1],
                                    line("8", "000002", "000000012756", SP * 101), end_record()]),
     "invalid_customer_no", "お客様番号 (customer_no)"),
    ("mpn confirmation", "mpn", joined([MPN_HEADER, mpn_data(MPN_A, "01", "000102", "0000012300",
                                                             "0000000000000001"), MPN_DATA[1],
                                        line("8", "000002", "000000012756", SP * 101), end_record()]),
     "confirmation_mismatch", "確認番号 (confirmation_no)"),
    ("mpn agency", "mpn", joined([MPN_HEADER, mpn_data(MPN_A, "01", "000101", "0000012300", "0000000000000001",
                                                       agency="54321"), MPN_DATA[1],
                                  line("8", "000002", "000000012756", SP * 101), end_record()]),
     "agency_mismatch", "収納機関番号 (agency_no)"),
    ("mpn text", "mpn", joined([MPN_HEADER, MPN_DATA[0][:22] + b"abc" + MPN_DATA[0][25:], MPN_DATA[1],
                                line("8", "000002", "000000012756", SP * 101), end_record()]),
     "invalid_text", "お客様番号 (customer_no)"),
    ("el number", "el_qr", el_file([el_row(MPN_A, "01", "000101", "12300", "00000000000000000001",
                                           payment_no=MPN_B + "01"), EL_ROWS[1]], "2", "12300"),
     "el_number_mismatch", "eL番号: 納付番号 (payment_no)"),
    ("el confirmation", "el_qr", el_file([el_row(MPN_A, "01", "000019", "12300", "00000000000000000001"),
                                          EL_ROWS[1]], "2", "12300"),
     "confirmation_mismatch", "eL番号: 確認番号 (confirmation_no)"),
    ("el municipality", "el_qr", el_file([el_row(MPN_A, "01", "000101", "12300", "00000000000000000001",
                                                 municipality="131016"), EL_ROWS[1]], "2", "12300"),
     "municipality_mismatch", "地方公共団体コード (municipality_code)"),
    ("el leading zeros", "el_qr", el_file([el_row(MPN_A, "01", "000101", "012300", "00000000000000000001"),
                                           EL_ROWS[1]], "2", "12300"),
     "invalid_amount", "納付金額 (amount)"),
    ("el notice", "el_qr", el_file([el_row("2026000001", "01", "000101", "12300", "00000000000000000001",
                                           payment_no=MPN_A + "01"), EL_ROWS[1]], "2", "12300"),
     "invalid_notice_no", "通知書番号 (notice_no)"),
    ("remit route", "special_remittance",
     remit_file([remit_data("2", "92702083", "202606", "0000345600", "0000000000", "00000011"), REMIT_DATA[1]],
                "000002", "000000353400", "000000000000"), "route_mismatch", "特別徴収義務者指定番号 (payer)"),
    ("remit period", "special_remittance",
     remit_file([remit_data("1", "92702083", "202605", "0000345600", "0000020000", "00000011"), REMIT_DATA[1]],
                "000002", "000000353400", "000000020000"), "period_outside_year", "納入月分 (period_month)"),
    ("remit pension period", "special_remittance",  # 年金: April 2026 to March 2027 only
     remit_file([remit_data("2", "999", "202704", "0000345600", "0000000000", "00000011"), REMIT_DATA[1]],
                "000002", "000000353400", "000000000000"), "period_outside_year", "納入月分 (period_month)"),
    ("remit month", "special_remittance",
     remit_file([remit_data("1", "92702083", "202613", "0000345600", "0000020000", "00000011"), REMIT_DATA[1]],
                "000002", "000000353400", "000000020000"), "invalid_month", "納入月分 (period_month)"),
    ("remit count", "special_remittance",
     remit_file([remit_data("1", "92702083", "202606", "0000345600", "0000020000", "00000011", headcount="00001A"),
                 REMIT_DATA[1]], "000002", "000000353400", "000000020000"), "invalid_count", "人員 (headcount)"),
]


@pytest.mark.parametrize(("channel", "data", "reason", "field"), [c[1:] for c in QUARANTINE_CASES],
                         ids=[c[0] for c in QUARANTINE_CASES])
def test_a_malformed_data_record_is_quarantined_and_the_others_read(channel, data, reason, field):
    pf = read_payment_file(data, file="in.txt", channel=channel)
    assert pf.quarantine.height == 1 and pf.records.height == 1
    assert pf.records.height + pf.quarantine.height == pf.data_count == 2
    q = pf.quarantine.row(0, named=True)
    assert (q["file"], q["record_no"], q["reason_code"], q["field"]) == ("in.txt", 2, reason, field)
    assert pf.records["record_no"].to_list() == [3]
    for secret in (N1, N2, MPN_A, "12300", "345600", "92702083"):
        assert secret not in q["message"]


def test_every_reason_code_is_exercised():
    covered = {c[3] for c in QUARANTINE_CASES}
    assert covered == set(REASON_CODES)


def test_quarantined_amounts_leave_the_trailer_sum_unchecked_but_not_the_count():
    broken = _bank_replace(36, "00000123X0")
    # the trailer's amount cannot be checked (one amount unreadable): any value is accepted …
    pf = read_payment_file(bank_file([broken, BANK_DATA[1]], "000002", "000000000001"), file="in.txt",
                           channel="bank_counter")
    assert pf.quarantine["reason_code"].to_list() == ["invalid_amount"]
    # … the count still is
    with pytest.raises(PaymentTrailerTotalsError, match="合計件数"):
        read_payment_file(bank_file([broken, BANK_DATA[1]], "000003", "000000112200"), file="in.txt",
                          channel="bank_counter")


# --------------------------------------------------------------------------- structural faults

def refusal(data: bytes, channel: str, error: type[PaymentFormatError]) -> PaymentFormatError:
    with pytest.raises(error) as caught:
        read_payment_file(data, file="landing/payments/in.txt", channel=channel)
    assert "landing/payments/in.txt" in str(caught.value)
    assert isinstance(caught.value, (FileRecordError, JuminzeiError, ValueError))
    return caught.value


def test_a_record_of_the_wrong_length_refuses_the_file():
    error = refusal(joined([BANK_HEADER, BANK_DATA[0][:119], BANK_DATA[1], BANK_FILE[3], end_record()]),
                    "bank_counter", PaymentRecordLengthError)
    assert error.record_no == 2 and "119 bytes" in str(error)


def test_mixed_line_ends_refuse_the_file():
    data = BANK_HEADER + CRLF + BANK_DATA[0] + b"\n" + BANK_DATA[1] + CRLF + BANK_FILE[3] + CRLF + end_record()
    assert refusal(data, "bank_counter", PaymentRecordLengthError).record_no == 2


@pytest.mark.parametrize(("records", "record_no", "words"), [
    ([BANK_DATA[0], *BANK_FILE[2:]], 1, "a data record"),
    ([BANK_HEADER, *BANK_DATA, end_record()], 4, "an end record"),
    ([BANK_HEADER, *BANK_DATA, BANK_FILE[3]], 4, "without an end record"),
    ([BANK_HEADER, BANK_DATA[0], BANK_FILE[3], BANK_DATA[1], end_record()], 4, "a data record"),
    ([BANK_HEADER, line("3", SP * 119), *BANK_DATA, BANK_FILE[3], end_record()], 2, "not one of 1, 2, 8, 9"),
    ([*BANK_FILE, end_record()], 6, "an end record"),
])
def test_records_out_of_order_refuse_the_file(records, record_no, words):
    error = refusal(joined(records), "bank_counter", PaymentRecordOrderError)
    assert error.record_no == record_no and words in str(error)
    assert "レコード区分 (record_type)" in str(error)


def test_an_empty_file_is_refused():
    refusal(b"", "convenience", PaymentRecordOrderError)


def test_bytes_that_are_not_shift_jis_refuse_the_file():
    bad = BANK_DATA[1][:60] + b"\x81\x20" + BANK_DATA[1][62:]
    error = refusal(joined([BANK_HEADER, BANK_DATA[0], bad, BANK_FILE[3], end_record()]), "bank_counter",
                    PaymentDecodeError)
    assert error.record_no == 3


@pytest.mark.parametrize(("records", "record_no", "field"), [
    ([line("1", "20261301", "131032", "0005", SP * 101), *BANK_FILE[1:]], 1, "データ作成日 (created)"),
    ([line("1", "20260701", "13103X", "0005", SP * 101), *BANK_FILE[1:]], 1, "地方公共団体コード (municipality_code)"),
    ([*BANK_FILE[:3], line("8", "00000A", "000000112200", SP * 101), end_record()], 4, "合計件数 (total_count)"),
    ([*BANK_FILE[:4], line("9", "X", SP * 118)], 5, "ダミー (filler)"),
])
def test_a_malformed_control_record_refuses_the_file(records, record_no, field):
    error = refusal(joined(records), "bank_counter", PaymentFieldError)
    assert (error.record_no, error.field) == (record_no, field)


@pytest.mark.parametrize(("trailer", "field"), [
    (line("8", "000003", "000000112200", SP * 101), "合計件数 (total_count)"),
    (line("8", "000002", "000000112201", SP * 101), "合計金額 (total_amount)"),
])
def test_trailer_totals_that_disagree_refuse_the_file(trailer, field):
    error = refusal(joined([BANK_HEADER, *BANK_DATA, trailer, end_record()]), "bank_counter",
                    PaymentTrailerTotalsError)
    assert (error.record_no, error.field) == (4, field)


def test_the_retirement_total_of_a_remittance_is_checked():
    data = remit_file(REMIT_DATA, "000002", "000000353400", "000000020001")
    error = refusal(data, "special_remittance", PaymentTrailerTotalsError)
    assert error.field == "退職所得分 合計金額 (total_retirement_amount)"


def test_the_convenience_trailer_sums_the_barcode_amounts():
    data = cvs_file(CVS_DATA, "000003", "000000070201")
    assert "70200" in str(refusal(data, "convenience", PaymentTrailerTotalsError))


def test_a_csv_row_with_the_wrong_number_of_columns_refuses_the_file():
    error = refusal(el_file([EL_ROWS[0] + ",9", EL_ROWS[1]], "2", "12300"), "el_qr", PaymentRecordLengthError)
    assert error.record_no == 2 and "14 columns" in str(error)


def test_a_csv_file_has_no_end_row():
    data = el_file(EL_ROWS, "2", "12300") + b"9\r\n"
    assert "does not have" in str(refusal(data, "el_qr", PaymentRecordOrderError))


def test_an_empty_file_of_data_reads_and_round_trips():
    data = joined([BANK_HEADER, line("8", "000000", "000000000000", SP * 101), end_record()])
    pf = read_payment_file(data, file="in.txt", channel="bank_counter")
    assert pf.records.height == 0 and pf.quarantine.height == 0 and pf.records.schema == pl.Schema(PAYMENT_SCHEMA)
    assert write_payment_file(pf.writable(), file="in.txt", channel="bank_counter", created=pf.created,
                              **pf.header_values) == data


# --------------------------------------------------------------------------- writing refusals

def _cvs_frame(amount: int) -> pl.DataFrame:
    return pl.DataFrame({"report_kind": ["final"], "paid_on": [date(2026, 6, 20)], "paid_time": ["0930"],
                         "notice_no": [N1], "installment": pl.Series([1], dtype=pl.Int32),
                         "due_on": [date(2026, 6, 30)], "amount": pl.Series([amount], dtype=pl.Int64),
                         "store_code": ["0012345"], "acquired_on": [date(2026, 6, 21)], "cvs_code": ["000010"]})


def test_the_writer_refuses_a_bill_above_the_barcode_cap():
    with pytest.raises(PaymentWriteError, match=r"バーコード情報 \(barcode\)") as caught:
        write_payment_file(_cvs_frame(300000), file="out.txt", channel="convenience", created=date(2026, 6, 21),
                           agent_code="12345", company_code=COMPANY)
    assert caught.value.record_no == 2 and str(caught.value).startswith("Output file out.txt")


def test_the_writer_refuses_a_missing_column_and_a_missing_header_value():
    with pytest.raises(PaymentWriteError, match=r"収納店舗コード \(store_code\)"):
        write_payment_file(_cvs_frame(100).drop("store_code"), file="out.txt", channel="convenience",
                           created=date(2026, 6, 21), agent_code="12345", company_code=COMPANY)
    with pytest.raises(PaymentWriteError, match=r"収納代行会社コード \(agent_code\)"):
        write_payment_file(_cvs_frame(100), file="out.txt", channel="convenience", created=date(2026, 6, 21),
                           company_code=COMPANY)
    with pytest.raises(PaymentWriteError, match="no such field"):
        write_payment_file(_cvs_frame(100), file="out.txt", channel="convenience", created=date(2026, 6, 21),
                           agent_code="12345", company_code=COMPANY, agnet_code="1")


def test_the_writer_refuses_a_float_or_negative_amount():
    frame = pl.DataFrame({
        "route": ["salary"], "payer": ["92702083"], "period": ["2026-06"], "amount": [-1],
        "retirement_amount": [0], "paid_on": [date(2026, 7, 9)], "fiscal_year": ["2026"],
        "due_on": [date(2026, 7, 10)], "headcount": [1], "bank_code": ["0005"], "branch_code": ["041"],
        "serial_no": ["00000001"]})
    kwargs = dict(file="out.txt", channel="special_remittance", created=date(2026, 7, 11),
                  municipality_code="131032", reporting_bank_code="0005")
    with pytest.raises(PaymentWriteError, match="negative"):
        write_payment_file(frame, **kwargs)
    with pytest.raises(PaymentWriteError, match="never a float"):
        write_payment_file(frame.with_columns(pl.lit(1.0).alias("amount")), **kwargs)


# --------------------------------------------------------------------------- the layouts

def test_the_layouts_load_and_channels_agree():
    layouts = load_payment_layouts()
    assert tuple(layouts.channels) == CHANNELS
    assert {c for c, lay in layouts.channels.items() if lay.designed} == {
        "mpn", "el_qr", "bank_counter", "special_remittance"}
    cvs = layouts.layout("convenience")
    assert {k for k, r in cvs.records.items() if r.designed} == {"header", "trailer", "end"}


def test_the_convenience_data_record_is_variant_b_as_published():
    """The Variant B positions (public code: a PHP importer), typed here by hand."""
    published = [(1, 1), (2, 2), (4, 8), (12, 4), (16, 1), (17, 44), (61, 3), (64, 7), (71, 2), (73, 8), (81, 8),
                 (89, 8), (97, 6), (103, 18)]
    fields = load_payment_layouts().layout("convenience").data.fields
    assert [(f.start, f.length) for f in fields] == published


def test_the_barcode_packing_is_44_digits_with_a_21_digit_free_field():
    packing = load_payment_layouts().layout("convenience").packings["barcode"]
    lengths = {p.id: p.length for p in packing.parts}
    assert sum(lengths.values()) == 44
    assert lengths["tax_item"] + lengths["notice_no"] + lengths["installment"] + lengths["reserved"] == 21
    assert packing.part("due_date").offset == 30 and packing.part("amount").offset == 37  # bytes 31 and 38


@pytest.mark.parametrize("name", ["convenience.yaml", "mpn.yaml", "bank_counter.yaml", "special_remittance.yaml"])
def test_every_fixed_record_tiles_120_bytes(name):
    raw = yaml.safe_load((PAYMENTS_DIR / name).read_text(encoding="utf-8"))
    for kind, record in raw["records"].items():
        fields = record["fields"]
        starts = [1 + sum(g["length"] for g in fields[:i]) for i in range(len(fields))]
        assert [f["start"] for f in fields] == starts and sum(f["length"] for f in fields) == 120, kind


def _broken_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    target = tmp_path / "payments"
    shutil.copytree(PAYMENTS_DIR, target)
    path = target / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


@pytest.mark.parametrize(("name", "old", "new", "message"), [
    ("bank_counter.yaml", "{id: amount, name_ja: 金額, start: 36, length: 10",
     "{id: amount, name_ja: 金額, start: 36, length: 9", r"OCR読取区分 \(ocr_read\) starts at byte 46, but byte 45"),
    ("mpn.yaml", "codes: mpn_channel", "codes: channel", r"codes 'channel' is not a code list"),
    ("special_remittance.yaml", "total_of: retirement_amount", "total_of: bonus",
     r"total_of 'bonus' is not a data field"),
    ("el_qr.yaml", "designed: true\ndesigned_reason", "designed: true\nreason_not_given", "designed_reason"),
    ("convenience.yaml", "{id: notice_no, name_ja: \"自由使用欄: 通知書番号\", length: 15",
     "{id: notice_no, name_ja: \"自由使用欄: 通知書番号\", length: 16", r"parts are 45 long"),
    ("codes.yaml", '"01": {label: 速報, source:', '"01": {label: 速報, sauce:', "give exactly one of source"),
])
def test_a_broken_layout_names_its_file_and_field(tmp_path, name, old, new, message):
    folder = _broken_copy(tmp_path, name, old, new)
    with pytest.raises(PaymentLayoutError, match=message) as caught:
        load_payment_layouts_from(folder)
    assert name in str(caught.value)


def test_the_layout_docs_are_current():
    assert (REPO / "docs" / "layouts" / "payments.md").read_text(encoding="utf-8") == render_markdown(), (
        "docs/layouts/payments.md is stale: .venv/bin/python -m contracts.payments --write-docs")
