"""Byte-exact reader and writer of the inbound payment files (収納データ), and the vectorised helpers of their
numbers: the コンビニ GS1-128 barcode and its check digit, the MPN お客様番号 and 確認番号, the eL番号.

The layouts are data, ``contracts/payments/`` (:mod:`contracts.payments`, described field by field in
docs/layouts/payments.md; sources docs/sources.md#f10). Channels (:data:`CHANNELS`): ``convenience`` (コンビニ
速報・確報, 120 bytes), ``mpn`` (MPN 一括消込, 120 bytes), ``el_qr`` (eL-QR 納付情報, CSV), ``bank_counter``
(窓口 OCR, 120 bytes), ``special_remittance`` (特別徴収 納入, 120 bytes).

* :func:`read_payment_file` (bytes in) → :class:`PaymentFile`: ``records`` in :data:`PAYMENT_SCHEMA` (one row per
  good data record, the same columns for every channel), ``quarantine`` (one row per malformed data record: its
  first faulty field and a reason of :data:`contracts.payments.REASON_CODES`), ``details`` (the typed raw fields
  of each good data record), the header and trailer values. ``records.height + quarantine.height`` is the number
  of data records. A structural fault (record length or column count, record order, bytes that are not CP932, a
  malformed header/trailer/end field, trailer totals that disagree with the data records) raises a
  :class:`PaymentFormatError` subclass instead.
* :func:`write_payment_file` (frame in) → the bytes; the trailer is computed. ``write(read(b)) == b`` for a good
  file: ``write_payment_file(pf.writable(), file=…, channel=…, created=pf.created, line_end=pf.line_end,
  final_line_end=pf.final_line_end, **pf.header_values)``.

The per-record work is vectorised: the records are a Polars column of strings (each byte of a fixed-length file
one Latin-1 character, so lengths are checked on bytes; a CSV decoded from CP932 and split into cells), every
field a slice or a cell, every check an expression over the column, the first failing check of each record found
with one ``coalesce``. The only Python loops run over fields and checks, never over records.

Errors speak to operators (STYLE rule 13): they name the file, the record number (1-based over every record of
the file, header included) and the field by its 項目名 and id. Messages never quote a 通知書番号, a barcode or an
amount of one record; only structural codes, counts and trailer totals.

Pure: bytes in, bytes out; no I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from contracts.errors import FileRecordError, JuminzeiError
from contracts.fixed_width import line_end_of, split_on
from contracts.payments import RECORD_LENGTH, TYPE_REASONS, PaymentField, PaymentLayout, PaymentRecordLayout
from contracts.payments import load_payment_layouts

__all__ = [
    "CHANNELS", "PAYMENT_SCHEMA", "QUARANTINE_SCHEMA", "LINE_ENDS", "REPORT_KINDS", "ROUTES", "PaymentFile",
    "read_payment_file", "write_payment_file", "gs1_check_digit", "barcode", "customer_number",
    "confirmation_number", "el_number", "PaymentFormatError", "PaymentRecordLengthError", "PaymentDecodeError",
    "PaymentRecordOrderError", "PaymentFieldError", "PaymentTrailerTotalsError", "PaymentWriteError",
]

CHANNELS: tuple[str, ...] = ("convenience", "mpn", "el_qr", "bank_counter", "special_remittance")

#: the normalized columns of every channel, in order
PAYMENT_SCHEMA: dict[str, Any] = {
    "file": pl.String,
    "record_no": pl.Int64,  # 1-based among all records of the file, header included
    "channel": pl.String,
    "report_kind": pl.String,  # final | preliminary | preliminary_cancel (コンビニ 速報 / 速報取消)
    "reference": pl.String,  # the key of one payment across files
    "paid_on": pl.Date,  # 領収日
    "credited_on": pl.Date,  # 収入日 / 振込予定日 where the file has one
    "notice_no": pl.String,  # 通知書番号, 15 digits
    "installment": pl.Int32,  # 期別
    "route": pl.String,  # salary | pension (特別徴収 only)
    "payer": pl.String,  # 特別徴収義務者 指定番号 / insurer code
    "period": pl.String,  # 納入月分 YYYY-MM
    "amount": pl.Int64,  # yen (給与分・年金分 of a remittance)
    "retirement_amount": pl.Int64,  # 退職所得分 of a remittance; 0 elsewhere
}
QUARANTINE_SCHEMA: dict[str, Any] = {
    "file": pl.String, "record_no": pl.Int64, "field": pl.String, "reason_code": pl.String, "message": pl.String,
}
#: 種別 code → report_kind
REPORT_KINDS: dict[str, str] = {"01": "preliminary", "02": "final", "03": "preliminary_cancel"}
#: 区分 code of a remittance → route
ROUTES: dict[str, str] = {"1": "salary", "2": "pension"}
#: the record separators the reader accepts and the writer may write (b"" = none); CR LF is the default
LINE_ENDS: dict[bytes, str] = {b"\r\n": "CR LF", b"\r": "CR", b"\n": "LF", b"": "no separator"}
_RECORD_NAMES = {"1": "a header", "2": "a data record", "8": "a trailer", "9": "an end record"}


# ------------------------------------------------------------------------------------------------ errors

class PaymentFormatError(FileRecordError, JuminzeiError, ValueError):
    """A payment file that cannot be read whole, or a frame that cannot be written. The message names the file,
    the record (1-based over every record of the file; ``None`` for the whole file) and the field."""


class PaymentRecordLengthError(PaymentFormatError):
    """A fixed-length record that is not 120 bytes, a CSV row with the wrong number of columns, mixed line ends."""


class PaymentDecodeError(PaymentFormatError):
    """Bytes that are not Shift_JIS (CP932)."""


class PaymentRecordOrderError(PaymentFormatError):
    """Records out of the order header, data…, trailer (, end); an unknown レコード区分; an empty file."""


class PaymentFieldError(PaymentFormatError):
    """A header, trailer or end field that holds what its type does not allow."""


class PaymentTrailerTotalsError(PaymentFormatError):
    """A trailer whose 合計件数 or 合計金額 disagree with the data records."""


class PaymentWriteError(PaymentFormatError):
    """A frame the writer cannot turn into a payment file; nothing is written. ``record_no`` is the record the
    value would have been."""

    subject = "Output file"


# ------------------------------------------------------------------------------------------------ the file

@dataclass
class PaymentFile:
    """A payment file as frames (see the module docstring)."""

    channel: str
    file: str
    records: pl.DataFrame  # PAYMENT_SCHEMA
    quarantine: pl.DataFrame  # QUARANTINE_SCHEMA
    details: pl.DataFrame  # record_no + the typed data fields of each good record
    header: dict[str, Any]  # the header's fields (id → value)
    trailer: dict[str, Any]  # the trailer's totals as read
    line_end: bytes = b"\r\n"
    final_line_end: bool = True
    data_count: int = field(default=0)  # data records in the file (records + quarantine)

    @property
    def created(self) -> date:
        """データ作成日 of the header."""
        return self.header["created"]

    @property
    def header_values(self) -> dict[str, Any]:
        """The header's values other than データ作成日: the ``**header_values`` of :func:`write_payment_file`."""
        return {k: v for k, v in self.header.items() if k != "created"}

    def writable(self) -> pl.DataFrame:
        """``records`` with the raw fields of ``details``: what :func:`write_payment_file` needs to write the good
        records back byte for byte."""
        extra = [c for c in self.details.columns if c not in self.records.columns]
        return self.records.join(self.details.select("record_no", *extra), on="record_no", how="left",
                                 validate="1:1").sort("record_no")


# ------------------------------------------------------------------------------------------------ helpers

def gs1_check_digit(digits_43: pl.Expr) -> pl.Expr:
    """The check digit (one character) of the 43 digits before it in a コンビニ GS1-128 barcode.

    Modulus 10, weights 3/1: number the 44 positions from the right, the check digit being position 1; the
    digits in even positions count 3 times, those in odd positions once; the check digit is (10 − sum mod 10)
    mod 10. Character ``i`` (0-based) of the 43 is position ``44 − i``: even (weight 3) when ``i`` is even.
    Null where the input is not 43 digits."""
    text = digits_43.cast(pl.String)
    terms = [text.str.slice(i, 1).cast(pl.Int64, strict=False) * (3 if i % 2 == 0 else 1) for i in range(43)]
    total = pl.sum_horizontal(terms)
    valid = text.str.contains(r"^[0-9]{43}$")
    return pl.when(valid).then(((10 - total % 10) % 10).cast(pl.String)).otherwise(None)


def _limit(name: str) -> int:
    return load_payment_layouts().limit(name)


def barcode(notice_no: pl.Expr, installment: pl.Expr, due_date: pl.Expr, amount: pl.Expr, *, company_code: str,
            reissue: int | pl.Expr = 0, tax_item: str = "01") -> pl.Expr:
    """The 44 digits of our コンビニ GS1-128 barcode (packing in contracts/payments/convenience.yaml):
    AI 91, 請求書発行企業コード (6), 自由使用欄 = 税目コード (2) + 通知書番号 (15) + 期別 (2) + 00, 再発行区分 (1),
    支払期限 YYMMDD, 印紙フラグ 0, 支払金額 (6), check digit. Null where the amount is above the 30万円 cap
    (299,999 yen: no barcode is printed) or negative, or an input is null."""
    if not (len(company_code) == 6 and company_code.isascii() and company_code.isdigit()):
        raise ValueError("company_code is the 6-digit 請求書発行企業コード")
    reissue_expr = reissue if isinstance(reissue, pl.Expr) else pl.lit(reissue)
    amount_i = amount.cast(pl.Int64)
    body = pl.concat_str([
        pl.lit("91"), pl.lit(company_code), pl.lit(tax_item), notice_no.cast(pl.String),
        installment.cast(pl.Int64).cast(pl.String).str.zfill(2), pl.lit("00"), reissue_expr.cast(pl.String),
        due_date.cast(pl.Date).dt.strftime("%y%m%d"), pl.lit("0"), amount_i.cast(pl.String).str.zfill(6),
    ])
    ok = (amount_i >= 0) & (amount_i <= _limit("barcode_amount_cap")) & body.str.contains(r"^[0-9]{43}$")
    return pl.when(ok).then(pl.concat_str([body, gs1_check_digit(body)])).otherwise(None)


def customer_number(notice_no: pl.Expr, installment: pl.Expr) -> pl.Expr:
    """Our MPN お客様番号 and eL 納付番号: 通知書番号 (15 digits) + 期別 (2 digits), 17 digits."""
    return pl.concat_str([notice_no.cast(pl.String), installment.cast(pl.Int64).cast(pl.String).str.zfill(2)])


def confirmation_number(notice_no: pl.Expr, installment: pl.Expr) -> pl.Expr:
    """Our 確認番号 (MPN and eL): the 17 digits of :func:`customer_number` read as one integer, mod 999983
    (codes.yaml ``confirmation_modulus``), zero-filled to 6 digits. Null where the inputs are not digits."""
    number = customer_number(notice_no, installment)
    value = pl.when(number.str.contains(r"^[0-9]{17}$")).then(number.cast(pl.Int64, strict=False))
    return (value % _limit("confirmation_modulus")).cast(pl.String).str.zfill(6)


def el_number(notice_no: pl.Expr, installment: pl.Expr, *, agency_no: str, payment_class: str = "01") -> pl.Expr:
    """Our 30-digit eL番号: 収納機関番号 (5) + 通知書番号 (15) + 期別 (2) + 確認番号 (6) + 納付区分 (2)."""
    return pl.concat_str([pl.lit(agency_no), customer_number(notice_no, installment),
                          confirmation_number(notice_no, installment), pl.lit(payment_class)])


# ------------------------------------------------------------------------------------------------ reading

def _layout_of(channel: str) -> PaymentLayout:
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
    return load_payment_layouts().layout(channel)


def read_payment_file(data: bytes, *, file: str, channel: str) -> PaymentFile:
    """The records of a payment file of ``channel``: good data records normalized, malformed ones quarantined.

    Raises a :class:`PaymentFormatError` subclass naming the file, the record and the field when the file cannot
    be read whole (module docstring)."""
    layout = _layout_of(channel)
    lines, line_end, final = _split_records(data, file, layout)
    frame = pl.DataFrame({"line": lines}, schema={"line": pl.String}).with_row_index("record_no", offset=1)
    frame = frame.with_columns(pl.col("record_no").cast(pl.Int64))
    csv = layout.format == "csv"
    if csv:
        frame = frame.with_columns(pl.col("line").str.split(",").alias("cells")).with_columns(
            pl.col("cells").list.first().alias("record_type"))
    else:
        _check_lengths(frame, file)
        frame = frame.with_columns(pl.col("line").str.slice(0, 1).alias("record_type"))
    known = pl.col("record_type").is_in(list(_RECORD_NAMES)) & (pl.col("record_type").str.len_chars() == 1)
    types = "".join(frame.select(pl.when(known).then(pl.col("record_type")).otherwise(pl.lit("?")))
                    .to_series().to_list())
    _check_order(types, layout, file)
    parts = {kind: frame.filter(pl.col("record_type") == record.code) for kind, record in layout.records.items()}
    if csv:
        for kind, record in layout.records.items():
            _check_columns(parts[kind], record, file)
    parts = {kind: part.with_columns(_raw(f, csv) for f in layout.records[kind].fields if f.id != "record_type")
             for kind, part in parts.items()}

    header = _control_values(parts["header"], layout.header, layout, file)
    trailer = _control_values(parts["trailer"], layout.trailer, layout, file)
    if layout.end is not None:
        _control_values(parts["end"], layout.end, layout, file)

    data_part = parts["data"]
    checks = _field_checks(layout.data, csv) + _channel_checks(layout, header)
    flagged = data_part.with_columns(
        pl.coalesce([pl.when(~ok.fill_null(False)).then(pl.lit(i)) for i, (_, _, _, ok) in enumerate(checks)])
        .alias("_problem"))
    _check_totals(data_part, trailer, layout, file, csv)

    bad = flagged.filter(pl.col("_problem").is_not_null())
    titles = {i: c[0] for i, c in enumerate(checks)}
    reasons = {i: c[1] for i, c in enumerate(checks)}
    messages = {i: c[2] for i, c in enumerate(checks)}
    quarantine = bad.select(
        pl.lit(file).alias("file"), pl.col("record_no"),
        pl.col("_problem").replace_strict(titles, return_dtype=pl.String).alias("field"),
        pl.col("_problem").replace_strict(reasons, return_dtype=pl.String).alias("reason_code"),
        pl.col("_problem").replace_strict(messages, return_dtype=pl.String).alias("message"),
    ).cast(QUARANTINE_SCHEMA).sort("record_no")  # type: ignore[arg-type]
    good = flagged.filter(pl.col("_problem").is_null())
    details = good.select("record_no", *[_typed(f, csv) for f in layout.data.columns]).sort("record_no")
    records = good.select(_normalized(layout, file, csv)).cast(PAYMENT_SCHEMA).sort(  # type: ignore[arg-type]
        "record_no")
    return PaymentFile(channel=layout.channel, file=file, records=records, quarantine=quarantine, details=details,
                       header=header, trailer=trailer, line_end=line_end, final_line_end=final,
                       data_count=data_part.height)


def _split_records(data: bytes, file: str, layout: PaymentLayout) -> tuple[list[str], bytes, bool]:
    """The records as text (fixed: Latin-1, 1 byte = 1 character; CSV: CP932), the separator, and whether one
    follows the last record."""
    if not data:
        raise PaymentRecordOrderError(file, None, None, "a header record (レコード区分 1) first", "the file is empty")
    line_end = line_end_of(data)
    try:
        decoded = data.decode("cp932")
    except UnicodeDecodeError as error:
        record_no = (error.start // RECORD_LENGTH if not line_end else data[:error.start].count(line_end)) + 1
        raise PaymentDecodeError(file, record_no, None, "Shift_JIS (CP932) bytes",
                                 f"byte 0x{data[error.start]:02X} does not decode") from None
    text = decoded if layout.format == "csv" else data.decode("latin-1")
    if not line_end:
        if layout.format == "csv":
            return [text], b"", False
        return re.findall(f"(?s).{{1,{RECORD_LENGTH}}}", text), b"", False  # 120-byte chunks; a short last one
    lines, final = split_on(text, line_end)
    return lines, line_end, final


def _check_lengths(frame: pl.DataFrame, file: str) -> None:
    checked = frame.select("record_no", pl.col("line").str.len_chars().alias("length"),
                           pl.col("line").str.contains(r"[\r\n]").alias("line_end_inside"))
    mixed = checked.filter(pl.col("line_end_inside"))
    if mixed.height:
        raise PaymentRecordLengthError(file, int(mixed["record_no"][0]), None,
                                       "the same record separator after every record",
                                       "the record holds a CR or LF byte: the file mixes line ends")
    bad = checked.filter(pl.col("length") != RECORD_LENGTH)
    if bad.height:
        more = f" ({bad.height - 1} more records have the wrong length)" if bad.height > 1 else ""
        raise PaymentRecordLengthError(file, int(bad["record_no"][0]), None, f"{RECORD_LENGTH} bytes",
                                       f"the record is {int(bad['length'][0])} bytes{more}")


def _check_columns(part: pl.DataFrame, record: PaymentRecordLayout, file: str) -> None:
    n = len(record.fields)
    bad = part.filter(pl.col("cells").list.len() != n)
    if bad.height:
        found = int(bad.select(pl.col("cells").list.len()).item(0, 0))
        raise PaymentRecordLengthError(file, int(bad["record_no"][0]), None, f"{n} columns ({record.record_type})",
                                       f"the row has {found} columns")


def _check_order(types: str, layout: PaymentLayout, file: str) -> None:
    """レコード区分 in the order 1 2…2 8 (9): ``types`` holds one character per record ("?" = unknown)."""
    field = "レコード区分 (record_type)"
    has_end = layout.end is not None
    prefix = re.compile(r"(?:1(?:2*(?:8(?:9)?)?)?)?" if has_end else r"(?:1(?:2*8?)?)?")
    stop = prefix.match(types).end()  # type: ignore[union-attr]
    last = "9" if has_end else "8"
    if stop == len(types) and types.endswith(last):
        return
    previous = types[stop - 1] if stop else ""
    expected = {"": "a header (レコード区分 1)", "1": "a data record (2) or the trailer (8)",
                "2": "a data record (2) or the trailer (8)", "8": "the end record (9)",
                "9": "nothing after the end record"}[previous]
    if stop == len(types):
        missing = "an end record (9)" if has_end else "a trailer (8)"
        raise PaymentRecordOrderError(file, stop, field, f"{expected} after it",
                                      f"the file ends after this record, without {missing}")
    found = types[stop]
    what = _RECORD_NAMES.get(found, "a record whose レコード区分 is not one of 1, 2, 8, 9")
    if not has_end and found == "9":
        what = "an end record, which this CSV format does not have"
    raise PaymentRecordOrderError(file, stop + 1, field, expected, f"the record is {what}")


def _raw(f: PaymentField, csv: bool) -> pl.Expr:
    """The raw text of ``f`` (a slice of the record, or its cell) as column ``raw_<id>``."""
    value = pl.col("cells").list.get(f.start - 1, null_on_oob=True) if csv else pl.col("line").str.slice(
        f.offset, f.length)
    return value.alias(f"raw_{f.id}")


def _blank(f: PaymentField, csv: bool) -> str:
    return "" if csv else " " * f.length


def _format_ok(f: PaymentField, csv: bool) -> pl.Expr:
    """True where the raw text of ``f`` has the form of its type (codes are checked apart)."""
    v = pl.col(f"raw_{f.id}")
    n = f.length
    t = f.type
    if t == "filler":
        ok = v == " " * n
    elif t in ("digits", "notice_no", "barcode", "installment"):
        ok = v.str.contains(f"^[0-9]{{{n}}}$")
    elif t == "digits_left":
        ok = v.str.contains(f"^[0-9]{{1,{n}}}$" if csv else "^[0-9]+ *$")
    elif t == "alnum":
        ok = v.str.contains(f"^[0-9A-Z]{{1,{n}}}$" if csv else "^[0-9A-Z]+ *$")
    elif t == "date":
        ok = v.str.contains(r"^[0-9]{8}$") & v.str.to_date("%Y%m%d", strict=False).is_not_null()
    elif t == "time":
        ok = v.str.contains(r"^(?:[01][0-9]|2[0-3])[0-5][0-9]$")
    elif t == "month":
        ok = v.str.contains(r"^[0-9]{4}(?:0[1-9]|1[0-2])$")
    elif t in ("amount", "count"):
        ok = v.str.contains(f"^(?:0|[1-9][0-9]{{0,{n - 1}}})$" if csv else f"^[0-9]{{{n}}}$")
    else:  # pragma: no cover - the layout loader refuses other types
        raise AssertionError(t)
    if f.nullable:
        ok = ok | (v == _blank(f, csv))
    return ok.fill_null(False)


def _code_ok(f: PaymentField, csv: bool) -> pl.Expr | None:
    if not f.code_values or f.fixed is not None:
        return None
    v = pl.col(f"raw_{f.id}").str.strip_chars_end(" ")
    ok = v.is_in(sorted(f.allowed))
    return ok | (pl.col(f"raw_{f.id}") == _blank(f, csv)) if f.nullable else ok


_TYPE_EXPECTED = {
    "filler": "spaces", "digits": "{n} digits", "notice_no": "15 digits", "barcode": "44 digits",
    "installment": "2 digits", "digits_left": "1–{n} digits, left-aligned", "alnum": "digits and upper-case "
    "letters, left-aligned", "date": "a date YYYYMMDD", "time": "a time HHMM", "month": "a month YYYYMM",
    "amount": "{n} digits", "count": "{n} digits",
}


def _expected(f: PaymentField, csv: bool) -> str:
    text = _TYPE_EXPECTED[f.type].format(n=f.length)
    if csv and f.type in ("amount", "count"):
        text = f"at most {f.length} digits without leading zeros"
    return text + (" or blank" if f.nullable else "")


def _field_checks(record: PaymentRecordLayout, csv: bool) -> list[tuple[str, str, str, pl.Expr]]:
    """(field title, reason, message, ok) for every field of a data record, in field order: its form, then its
    code list."""
    checks = []
    for f in record.fields:
        if f.id == "record_type":
            continue
        checks.append((f.title, TYPE_REASONS[f.type], f"the field is not {_expected(f, csv)}", _format_ok(f, csv)))
        code_ok = _code_ok(f, csv)
        if code_ok is not None:
            reason = "invalid_installment" if f.type == "installment" else "unknown_code"
            checks.append((f.title, reason, f"the value is not a code of list {f.codes!r} (codes.yaml)", code_ok))
    return checks


def _part(layout: PaymentLayout, packing: str, part: str) -> pl.Expr:
    """The text of one part of a packed data field (a slice of its raw text)."""
    pack = layout.packings[packing]
    p = pack.part(part)
    return pl.col(f"raw_{pack.field}").str.slice(p.offset, p.length)


def _codes(list_name: str) -> list[str]:
    return list(load_payment_layouts().code_values(list_name))


def _channel_checks(layout: PaymentLayout, header: dict[str, Any]) -> list[tuple[str, str, str, pl.Expr]]:
    """The checks across fields of a data record, after its fields' own checks."""
    data = layout.data
    checks: list[tuple[str, str, str, pl.Expr]] = []
    if layout.channel == "convenience":
        title = data.field("barcode").title

        def part(name: str) -> pl.Expr:
            return _part(layout, "barcode", name)

        raw = pl.col("raw_barcode")
        checks += [
            (title, "barcode_check_digit", "the check digit (digit 44) does not match digits 1–43",
             part("check_digit") == gs1_check_digit(raw.str.slice(0, 43))),
            (title, "barcode_layout", "the barcode is not ours (AI 91, 予備 00, 印紙フラグ 0, 支払期限 YYMMDD)",
             (part("ai") == "91") & (part("reserved") == "00") & (part("stamp_flag") == "0")
             & part("due_date").str.to_date("%y%m%d", strict=False).is_not_null()),
            (title, "barcode_company", "the 請求書発行企業コード (digits 3–8) is not the header's",
             part("company_code") == pl.lit(header["company_code"])),
            (f"{title}: 税目コード", "unknown_code", "the 税目コード (digits 9–10) is not a code of list 'tax_item'",
             part("tax_item").is_in(_codes("tax_item"))),
            (f"{title}: 期別", "invalid_installment", "the 期別 (digits 26–27) is not a code of list 'installment'",
             part("installment").is_in(_codes("installment"))),
            (title, "barcode_over_cap", f"the 支払金額 is above {_limit('barcode_amount_cap')} yen (30万円 cap)",
             part("amount").cast(pl.Int64, strict=False) <= _limit("barcode_amount_cap")),
        ]
    elif layout.channel == "mpn":
        title = data.field("customer_no").title
        number = pl.col("raw_customer_no").str.strip_chars_end(" ")
        checks += [
            (title, "invalid_customer_no", "the お客様番号 is not 17 digits (通知書番号 15 + 期別 2)",
             number.str.contains(r"^[0-9]{17}$")),
            (f"{title}: 期別", "invalid_installment", "the 期別 (characters 16–17) is not a code of list "
             "'installment'", _part(layout, "customer_no", "installment").is_in(_codes("installment"))),
            (data.field("confirmation_no").title, "confirmation_mismatch",
             "the 確認番号 does not match the お客様番号",
             pl.col("raw_confirmation_no") == confirmation_number(number.str.slice(0, 15), number.str.slice(15, 2))),
            (data.field("agency_no").title, "agency_mismatch", "the 収納機関番号 is not the header's",
             pl.col("raw_agency_no") == pl.lit(header["agency_no"])),
        ]
    elif layout.channel == "el_qr":
        checks += [
            (data.field("payment_no").title, "el_number_mismatch", "the 納付番号 is not the 通知書番号 and 期別 of "
             "the record", pl.col("raw_payment_no") == pl.concat_str([pl.col("raw_notice_no"),
                                                                       pl.col("raw_installment")])),
            (data.field("confirmation_no").title, "confirmation_mismatch",
             "the 確認番号 does not match the 納付番号",
             pl.col("raw_confirmation_no") == confirmation_number(pl.col("raw_notice_no"),
                                                                 pl.col("raw_installment"))),
            (data.field("agency_no").title, "agency_mismatch", "the 収納機関番号 is not the header's",
             pl.col("raw_agency_no") == pl.lit(header["agency_no"])),
            (data.field("municipality_code").title, "municipality_mismatch",
             "the 地方公共団体コード is not the header's",
             pl.col("raw_municipality_code") == pl.lit(header["municipality_code"])),
        ]
    elif layout.channel == "special_remittance":
        year = pl.col("raw_fiscal_year").cast(pl.Int64, strict=False)
        month = pl.col("raw_period_month").cast(pl.Int64, strict=False)
        pension = pl.col("raw_route_code") == "2"
        checks += [
            (data.field("payer").title, "route_mismatch", "a 年金特別徴収 record holds a 3-digit insurer code and "
             "no 退職所得分", ~pension | (pl.col("raw_payer").str.contains(r"^[0-9]{3} *$")
                                      & (pl.col("raw_retirement_amount").cast(pl.Int64, strict=False) == 0))),
            # 給与特別徴収 withholds from June to May (地方税法第321条の5); 年金特別徴収 from April (仮徴収) to
            # February (本徴収) of the 年度 (第321条の7の2・第321条の7の8)
            (data.field("period_month").title, "period_outside_year", "the 納入月分 is not a month of the 年度's "
             "withholding (給与: June to May of the next year; 年金: April to March)",
             pl.when(pension).then(month.is_between(year * 100 + 4, (year + 1) * 100 + 3))
             .otherwise(month.is_between(year * 100 + 6, (year + 1) * 100 + 5))),
        ]
    return checks


def _typed(f: PaymentField, csv: bool) -> pl.Expr:
    """The typed column of a field whose checks passed."""
    v = pl.col(f"raw_{f.id}")
    t = f.type
    if t == "date":
        value = v.str.to_date("%Y%m%d", strict=False)
    elif t in ("amount", "count"):
        value = v.cast(pl.Int64)
    elif t == "installment":
        value = v.cast(pl.Int32)
    elif t in ("alnum", "digits_left"):
        value = v.str.strip_chars_end(" ")
    else:
        value = v
    if f.nullable:
        value = pl.when(v == _blank(f, csv)).then(None).otherwise(value)
    return value.alias(f.id)


def _normalized(layout: PaymentLayout, file: str, csv: bool) -> list[pl.Expr]:
    """The PAYMENT_SCHEMA columns of the good data records of ``layout``."""
    data = layout.data
    fields = {f.id: f for f in data.columns}

    def typed(field_id: str, default: pl.Expr) -> pl.Expr:
        return _typed(fields[field_id], csv) if field_id in fields else default

    channel = layout.channel
    if channel == "convenience":
        notice = _part(layout, "barcode", "notice_no")
        installment = _part(layout, "barcode", "installment").cast(pl.Int32)
        amount = _part(layout, "barcode", "amount").cast(pl.Int64)
        kind = pl.col("raw_report_kind_code").replace_strict(REPORT_KINDS, return_dtype=pl.String)
    elif channel == "mpn":
        notice = _part(layout, "customer_no", "notice_no")
        installment = _part(layout, "customer_no", "installment").cast(pl.Int32)
        amount = typed("amount", pl.lit(0))
        kind = pl.lit("final")
    else:
        notice = typed("notice_no", pl.lit(None, pl.String))
        installment = typed("installment", pl.lit(None, pl.Int32))
        amount = typed("amount", pl.lit(0))
        kind = pl.lit("final")
    if channel == "special_remittance":
        route = pl.col("raw_route_code").replace_strict(ROUTES, return_dtype=pl.String)
        payer = typed("payer", pl.lit(None, pl.String))
        period = pl.concat_str([pl.col("raw_period_month").str.slice(0, 4), pl.lit("-"),
                                pl.col("raw_period_month").str.slice(4, 2)])
    else:
        route = payer = period = pl.lit(None, pl.String)
    return [
        pl.lit(file).alias("file"), pl.col("record_no"), pl.lit(channel).alias("channel"), kind.alias("report_kind"),
        pl.concat_str([pl.col(f"raw_{r}") for r in layout.reference]).alias("reference"),
        typed("paid_on", pl.lit(None, pl.Date)).alias("paid_on"),
        typed("credited_on", pl.lit(None, pl.Date)).alias("credited_on"),
        notice.alias("notice_no"), installment.alias("installment"), route.alias("route"), payer.alias("payer"),
        period.alias("period"), amount.alias("amount"),
        typed("retirement_amount", pl.lit(0, pl.Int64)).alias("retirement_amount"),
    ]


def _control_values(part: pl.DataFrame, record: PaymentRecordLayout, layout: PaymentLayout, file: str
                    ) -> dict[str, Any]:
    """The values of the header, the trailer or the end record (exactly one each, after the order check); a field
    it does not allow refuses the file."""
    csv = layout.format == "csv"
    for f in record.fields:
        if f.id == "record_type":
            continue
        ok = _format_ok(f, csv)
        code_ok = _code_ok(f, csv)
        if code_ok is not None:
            ok = ok & code_ok.fill_null(False)
        if not part.select(ok).item(0, 0):
            expected = _expected(f, csv) + (f", a code of list {f.codes!r}" if f.codes else "")
            raise PaymentFieldError(file, int(part["record_no"][0]), f.title, expected,
                                    f"the {record.record_type} field does not hold it")
    return part.select(_typed(f, csv) for f in record.columns).row(0, named=True) if record.columns else {}


def _total_source(layout: PaymentLayout, total_of: str) -> tuple[pl.Expr, pl.Expr]:
    """(the raw text of what a trailer total sums, whether it is readable) over the data records."""
    if total_of in {f.id for f in layout.data.columns}:
        f = layout.data.field(total_of)
        return pl.col(f"raw_{f.id}"), _format_ok(f, layout.format == "csv")
    packing = next(p for p in layout.packings.values() if p.field and any(x.id == total_of for x in p.parts))
    return _part(layout, packing.name, total_of), pl.col(f"raw_{packing.field}").str.contains(r"^[0-9]+$")


def _check_totals(data: pl.DataFrame, trailer: dict[str, Any], layout: PaymentLayout, file: str, csv: bool) -> None:
    """合計件数 = the number of data records; each 合計金額 = the sum of its amounts (when all are readable: a record
    with an unreadable amount is quarantined and the sum cannot be checked)."""
    trailer_no = data.height + 2
    for f in layout.trailer.columns:
        if f.total_of == "records":
            expected: int | None = data.height
            what = "the number of data records"
        else:
            text, readable = _total_source(layout, f.total_of or "")
            sums = data.select(readable.all().alias("ok"), text.cast(pl.Int64, strict=False).sum().alias("sum"))
            expected = int(sums["sum"][0]) if data.height == 0 or sums["ok"][0] else None
            what = f"the sum of the data records' {f.total_of}"
        if expected is not None and trailer[f.id] != expected:
            raise PaymentTrailerTotalsError(file, trailer_no, f.title, f"{expected} ({what})",
                                            f"the trailer says {trailer[f.id]}")


# ------------------------------------------------------------------------------------------------ writing

def write_payment_file(records: pl.DataFrame, *, file: str, channel: str, created: date,
                       line_end: bytes = b"\r\n", final_line_end: bool = True, **header_values: Any) -> bytes:
    """The bytes of a payment file of ``channel`` holding ``records``, in their frame order.

    ``records`` holds the :data:`PAYMENT_SCHEMA` columns the channel uses and, where a field is not one of them,
    the layout's column by its id (``PaymentFile.details`` has them all). A missing field is derived where it can
    be: 種別 from ``report_kind``, 区分 from ``route``, 納入月分 from ``period``, the barcode from ``notice_no``,
    ``installment``, ``due_on`` and ``amount`` (and the header's ``company_code``), the お客様番号, 納付番号 and
    確認番号 from ``notice_no`` and ``installment``, a data field named like a header field from the header; else
    its layout default; else the writer refuses. ``header_values`` are the header's fields other than
    ``created`` (データ作成日). The trailer is computed. Raises :class:`PaymentWriteError` naming the record and the
    field; nothing is written then."""
    layout = _layout_of(channel)
    csv = layout.format == "csv"
    if line_end not in LINE_ENDS or (csv and line_end == b""):
        raise PaymentWriteError(file, None, None, ", ".join(repr(k) for k in LINE_ENDS if k or not csv),
                                f"the line end {line_end!r} is not one the format takes")
    header = {"created": created, **header_values}
    unknown = sorted(set(header) - {f.id for f in layout.header.columns})
    if unknown:
        raise PaymentWriteError(file, 1, ", ".join(unknown), "fields of the header: "
                                + ", ".join(f.id for f in layout.header.columns), "the header has no such field")
    for f in layout.header.columns:
        if header.get(f.id) is None and f.default is not None:
            header[f.id] = f.default
        if header.get(f.id) is None and not f.nullable:
            raise PaymentWriteError(file, 1, f.title, "a value (a keyword argument of write_payment_file)",
                                    "the header value is missing")
    header_frame = pl.DataFrame([{"record_no": 1, **{f.id: header.get(f.id) for f in layout.header.columns}}])

    frame = records.with_row_index("_row").with_columns((pl.col("_row").cast(pl.Int64) + 2).alias("record_no"))
    values = frame.select("record_no", *[_value_to_write(frame, f, layout, header, file)
                                         for f in layout.data.columns])
    n = values.height
    totals: dict[str, Any] = {"record_no": n + 2}
    for f in layout.trailer.columns:
        if f.total_of == "records":
            totals[f.id] = n
        elif f.total_of in values.columns:
            totals[f.id] = int(values[f.total_of].sum() or 0)
        else:  # a packed amount (the barcode's 支払金額)
            packing = next(p for p in layout.packings.values() if p.field and any(x.id == f.total_of
                                                                                  for x in p.parts))
            part = packing.part(f.total_of or "")
            totals[f.id] = int(values.select(pl.col(packing.field or "").str.slice(part.offset, part.length)
                                             .cast(pl.Int64, strict=False).sum()).item() or 0)
    rendered = [
        _render(header_frame, layout.header, csv, file),
        _render(values, layout.data, csv, file),
        _render(pl.DataFrame([totals]), layout.trailer, csv, file),
    ]
    if layout.end is not None:
        rendered.append(_render(pl.DataFrame({"record_no": [n + 3]}), layout.end, csv, file))
    lines = pl.concat(rendered).sort("record_no")["line"].to_list()
    separator = line_end.decode("latin-1")
    text = separator.join(lines) + (separator if final_line_end and line_end else "")
    return text.encode("cp932")


def _value_to_write(frame: pl.DataFrame, f: PaymentField, layout: PaymentLayout, header: dict[str, Any],
                    file: str) -> pl.Expr:
    """The value of data field ``f`` for every row: its column, a derivation, a header value or its default."""
    columns = set(frame.columns)
    if f.id in columns and frame.schema[f.id] != pl.Null:
        return pl.col(f.id)
    has = columns.issuperset
    derived: pl.Expr | None = None
    if f.id == "report_kind_code" and has({"report_kind"}):
        derived = pl.col("report_kind").replace_strict({v: k for k, v in REPORT_KINDS.items()}, default=None,
                                                       return_dtype=pl.String)
    elif f.id == "route_code" and has({"route"}):
        derived = pl.col("route").replace_strict({v: k for k, v in ROUTES.items()}, default=None,
                                                 return_dtype=pl.String)
    elif f.id == "period_month" and has({"period"}):
        derived = pl.col("period").str.replace("-", "", literal=True)
    elif f.id == "barcode" and has({"notice_no", "installment", "due_on", "amount"}):
        reissue = pl.col("reissue") if "reissue" in columns else 0
        derived = barcode(pl.col("notice_no"), pl.col("installment"), pl.col("due_on"), pl.col("amount"),
                          company_code=str(header["company_code"]), reissue=reissue)
    elif f.id in ("customer_no", "payment_no") and has({"notice_no", "installment"}):
        derived = customer_number(pl.col("notice_no"), pl.col("installment"))
    elif f.id == "confirmation_no" and has({"notice_no", "installment"}):
        derived = confirmation_number(pl.col("notice_no"), pl.col("installment"))
    elif f.id in header and header[f.id] is not None:
        derived = pl.lit(header[f.id])
    elif f.default is not None:
        derived = pl.lit(f.default)
    elif f.nullable:
        derived = pl.lit(None, pl.Date if f.type == "date" else pl.String)
    if derived is None:
        raise PaymentWriteError(file, None, f.title, f"a column {f.id!r} (or what it is derived from)",
                                "the records frame lacks it")
    return derived.alias(f.id)


_INTEGER_TYPES = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)


def _render(frame: pl.DataFrame, record: PaymentRecordLayout, csv: bool, file: str) -> pl.DataFrame:
    """``record_no`` and ``line`` of every row of ``frame``, its values checked."""
    if frame.height == 0:
        return pl.DataFrame(schema={"record_no": pl.Int64, "line": pl.String})
    parts: list[pl.Expr] = []
    for f in record.fields:
        if f.fixed is not None:
            parts.append(pl.lit(f.fixed))
        elif f.type == "filler":
            parts.append(pl.lit(" " * f.length))
        else:
            parts.append(_text_to_write(frame, f, csv, file))
    line = pl.concat_str(parts, separator="," if csv else "")
    rendered = frame.select(pl.col("record_no").cast(pl.Int64), line.alias("line"))
    if not csv:
        assert rendered["line"].str.len_chars().eq(RECORD_LENGTH).all(), "a rendered record is not 120 bytes"
    return rendered


def _text_to_write(frame: pl.DataFrame, f: PaymentField, csv: bool, file: str) -> pl.Expr:
    """The text of ``f`` in every row, after refusing the first row whose value cannot be written."""
    dtype = frame.schema[f.id]
    value = pl.col(f.id)
    n = f.length
    t = f.type
    blank = _blank(f, csv)

    def refuse(bad: pl.Expr, expected: str, message: str) -> None:
        rows = frame.filter(bad.fill_null(True))
        if rows.height:
            raise PaymentWriteError(file, int(rows["record_no"][0]), f.title, expected, message)

    if not f.nullable:
        refuse(value.is_null(), "a value in every record", "the value is null")
    present = value.is_not_null()
    if t in ("amount", "count", "installment"):
        if dtype not in _INTEGER_TYPES:
            raise PaymentWriteError(file, None, f.title, "an integer column (Int64 yen), never a float or text",
                                    f"the column is {dtype}")
        limit = 10 ** n
        refuse(present & ((value < 0) | (value >= limit)), f"0 to {limit - 1}", "the value is negative or too long")
        text = value.cast(pl.String)
        return text if csv and t != "installment" else text.str.zfill(n)
    if t == "date":
        if dtype != pl.Date:
            raise PaymentWriteError(file, None, f.title, "a Date column", f"the column is {dtype}")
        return value.dt.strftime("%Y%m%d").fill_null(blank)
    if dtype not in (pl.String, pl.Null):
        raise PaymentWriteError(file, None, f.title, "a text (String) column", f"the column is {dtype}")
    patterns = {
        "digits": f"^[0-9]{{1,{n}}}$", "notice_no": r"^[0-9]{15}$", "barcode": r"^[0-9]{44}$",
        "digits_left": f"^[0-9]{{1,{n}}}$", "alnum": f"^[0-9A-Z]{{1,{n}}}$",
        "time": r"^(?:[01][0-9]|2[0-3])[0-5][0-9]$", "month": r"^[0-9]{4}(?:0[1-9]|1[0-2])$",
    }
    refuse(present & ~value.str.contains(patterns[t]), _expected(f, csv), "the value does not have that form")
    if t == "digits":
        return value.str.zfill(n).fill_null(blank)
    if t in ("digits_left", "alnum") and not csv:
        return value.str.pad_end(n).fill_null(blank)
    return value.fill_null(blank)

