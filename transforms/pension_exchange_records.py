"""Byte-exact reader and writer of the 年金特徴 exchange files (公的年金からの特別徴収).

A file is a 96-byte control block and 500-byte records: per municipality and 特別徴収義務者 a header
(レコード区分 1), data records (2) and a trailer (3) whose 合計件数 and 合計金額 sum its data records. The
layout is data, ``contracts/pension_exchange/`` (:mod:`contracts.pension_exchange`, described field by field
in docs/layouts/pension_exchange.md; sources: docs/sources.md#f3-3, #f3-4, #f3-5).

* :func:`read_exchange_file` (bytes in) → :class:`ExchangeFile`: the control block (:class:`ControlBlock`), one
  row per group (header and trailer values) and, per notice type (通知内容コード), a Polars frame of its data
  records with typed columns: amounts Int64 yen, dates ``pl.Date``, codes and numbers as text, names and
  addresses as Unicode text (kana as half-width katakana), and ``record_no``, the 1-based number of the record
  among the 500-byte records after the control block.
* :func:`write_exchange_file` (:class:`ExchangeFile` in) → the exact bytes: groups in the order given, made
  stable-sorted by 市町村コード as the format requires, each data record in its frame's order, the trailers'
  counts and totals computed from the data records, ファイル格納件数 from the records written. ``write(read(b))
  == b`` for every file whose 予備 and unused bytes (the layout's fillers) are spaces.

Both are vectorised: the records are a NumPy ``(k, 500)`` byte matrix and every field is a column slice of it;
JIS X 0208 code pairs become Unicode through a table built once from Python's ``iso2022_jp`` codec. Nothing
loops over records.

Errors speak to operators (STYLE rule 13). A file that cannot be read whole raises a subclass of
:class:`PensionExchangeFileError` (an :class:`~contracts.errors.InputFileError`) naming the file, the record
(counting the 500-byte records after the control block from 1; the control block is named as such) and the
field by its 項目名; when several records break the same rule, the first is named and the others counted. A
frame the writer cannot turn into bytes raises :class:`PensionExchangeWriteError` (a
:class:`~contracts.errors.ContractError`) naming the record it would have been. Messages never quote a name,
an address, a 基礎年金番号 or any other value of a data record, except its structural codes (レコード区分,
市町村コード, 特別徴収義務者コード, 通知内容コード, 特別徴収制度コード).

A character outside JIS X 0208 (𠮷, 髙, an emoji …) is refused by the writer (:class:`UnencodableCharacterError`,
naming the record, the field and the character's position), never dropped and never replaced by 〓: the file
tells a pension insurer whose pension to withhold from, and a changed name or address would reach it looking
right. The operator records a 代替文字 for the person, and the file is written again. The six characters that
Windows text writes with other code points than JIS (～ ∥ － ￠ ￡ ￢) are the same JIS characters and are
written as such (and read back in the JIS form 〜 ‖ − ¢ £ ¬).

Pure: bytes in, bytes out, no I/O, no clock.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from contracts.errors import ContractError, FileRecordError, InputFileError
from contracts.pension_exchange import SHIFT_CODES, ExchangeField, ExchangeLayouts, RecordLayout, load_exchange_layouts

__all__ = [
    "ControlBlock", "ExchangeFile", "read_exchange_file", "write_exchange_file", "unencodable_kanji",
    "PensionExchangeFileError", "FileLengthError", "ControlCountError", "UnknownRecordTypeError",
    "RecordSequenceError", "HeaderTrailerMismatchError", "GroupMismatchError", "TrailerTotalsError",
    "FieldValueError", "DigitsFieldError", "DateFieldError", "CodeFieldError", "TextFieldError", "KanjiFieldError",
    "ShiftCodeError", "PensionExchangeWriteError", "UnencodableCharacterError", "GROUP_COLUMNS",
]

#: the columns of :attr:`ExchangeFile.groups` the writer reads (the reader adds the trailer values)
GROUP_COLUMNS: tuple[str, ...] = ("municipality_code", "payer_code", "notice_code", "medium_code", "created_date")
#: fields of a data record whose value a message may quote: structural codes, never personal data
_QUOTABLE_DATA = frozenset({"record_type", "municipality_code", "payer_code", "notice_code", "system_code"})
#: JIS X 0208 characters that Windows (CP932) text writes with another code point: written as the JIS character
_CP932_VARIANTS: dict[str, str] = {"～": "〜", "∥": "‖", "－": "−", "￠": "¢", "￡": "£", "￢": "¬"}
_RECORD_TYPES = {0x31: "header", 0x32: "data", 0x33: "trailer"}


# ------------------------------------------------------------------------------------------------ errors

class PensionExchangeFileError(InputFileError):
    """A 年金特徴 file that cannot be read whole. ``record_no`` counts the 500-byte records after the control
    block from 1; 0 is the control block; ``None`` is the whole file."""

    record_zero = "control block"


class FileLengthError(PensionExchangeFileError):
    """The file is not a control block followed by whole 500-byte records."""


class ControlCountError(PensionExchangeFileError):
    """The control block's ファイル格納件数 disagrees with the records in the file."""


class UnknownRecordTypeError(PensionExchangeFileError):
    """A record whose レコード区分 is not 1, 2 or 3."""


class RecordSequenceError(PensionExchangeFileError):
    """Records out of the header / data … / trailer order, groups not sorted by 市町村コード, or a group twice."""


class HeaderTrailerMismatchError(PensionExchangeFileError):
    """A trailer whose 市町村コード, 特別徴収義務者コード, 通知内容コード or 作成年月日 is not its header's."""


class GroupMismatchError(PensionExchangeFileError):
    """A data record whose 市町村コード, 特別徴収義務者コード or 通知内容コード is not its header's."""


class TrailerTotalsError(PensionExchangeFileError):
    """A trailer whose 合計件数 or 合計金額 disagrees with its data records."""


class FieldValueError(PensionExchangeFileError):
    """A field holds a value its layout does not allow (the subclasses say which kind)."""


class DigitsFieldError(FieldValueError):
    """A digits, count, amount or date field holds something else than ASCII digits."""


class DateFieldError(FieldValueError):
    """A date field holds eight digits that are not a real date."""


class CodeFieldError(FieldValueError):
    """A code field holds a code its list does not have, or a fixed field another value."""


class TextFieldError(FieldValueError):
    """A kana or ASCII field holds a byte it may not, or a required text field is blank."""


class KanjiFieldError(FieldValueError):
    """A kanji field holds a byte pair that is not a JIS X 0208 character."""


class ShiftCodeError(FieldValueError):
    """A shift code is not ESC $ B (漢字IN) or ESC ( B (漢字OUT) where the layout puts one."""


class PensionExchangeWriteError(FileRecordError, ContractError):
    """Frames the writer cannot turn into a 年金特徴 file; nothing is written. ``record_no`` is the record the
    value would have been (1-based after the control block; 0 the control block; ``None`` the whole file)."""

    subject = "Output file"
    record_zero = "control block"


class UnencodableCharacterError(PensionExchangeWriteError):
    """A kanji field holds a character outside JIS X 0208: refused, never dropped or replaced."""


# ------------------------------------------------------------------------------------------------ values

@dataclass(frozen=True)
class ControlBlock:
    """The control block (管理レコード) of a file."""

    municipality_code: str  # 市町村コード (5 digits: 府県2 + 市町村3)
    medium_serial_no: str  # 媒体連番 (3 digits)
    created_date: date  # 作成年月日
    record_count: int | None = None  # ファイル格納件数 as read; the writer counts the records it writes


@dataclass(frozen=True)
class ExchangeFile:
    """A 年金特徴 file as frames.

    ``groups``: one row per header/trailer pair in file order: ``header_record_no``, ``municipality_code``,
    ``payer_code`` (特別徴収義務者コード), ``notice_code`` (通知内容コード), ``medium_code`` (媒体コード),
    ``created_date`` (作成年月日), ``record_count`` (合計件数), ``total_amount_1``–``3`` (合計金額),
    ``trailer_record_no``; the writer reads only :data:`GROUP_COLUMNS`.
    ``records``: 通知内容コード → the data records of that notice type, ``record_no`` first and then the
    columns of its layout (docs/layouts/pension_exchange.md); a notice type with a group but no data record
    has an empty frame.
    """

    control: ControlBlock
    groups: pl.DataFrame
    records: dict[str, pl.DataFrame] = field(default_factory=dict)


# ------------------------------------------------------------------------------------- character tables

@functools.cache
def _jis_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(decode, keys, values): ``decode[(row − 0x21) × 94 + (cell − 0x21)]`` is the Unicode code point of a
    JIS X 0208 code pair (0 where unassigned), from Python's ``iso2022_jp`` codec; ``keys`` (sorted code
    points, the Windows variants included) and ``values`` (their pair index) encode."""
    decode = np.zeros(94 * 94, dtype=np.uint32)
    shift_in, shift_out = SHIFT_CODES["kanji_in"], SHIFT_CODES["kanji_out"]
    for index in range(94 * 94):
        pair = bytes((0x21 + index // 94, 0x21 + index % 94))
        try:
            text = (shift_in + pair + shift_out).decode("iso2022_jp")
        except UnicodeDecodeError:
            continue
        if len(text) == 1:
            decode[index] = ord(text)
    assigned = np.flatnonzero(decode)
    if len(np.unique(decode[assigned])) != len(assigned):
        raise RuntimeError("the iso2022_jp codec maps two JIS X 0208 codes to one character")
    position = {int(decode[i]): int(i) for i in assigned}
    extra_keys = [ord(variant) for variant in _CP932_VARIANTS]
    extra_values = [position[ord(standard)] for standard in _CP932_VARIANTS.values()]
    keys = np.concatenate([decode[assigned], np.array(extra_keys, dtype=np.uint32)])
    values = np.concatenate([assigned, np.array(extra_values, dtype=np.int64)])
    order = np.argsort(keys)
    return decode, keys[order], values[order]


@functools.cache
def _kana_table() -> np.ndarray:
    """Byte → code point of a 半角カナ field (0 where the byte is not allowed): ASCII but ``\\`` and ``~``
    (JIS X 0201 reads them ¥ and ‾), and the katakana 0xA1–0xDF as U+FF61–U+FF9F."""
    table = np.zeros(256, dtype=np.uint32)
    for byte in range(0x20, 0x7F):
        if byte not in (0x5C, 0x7E):
            table[byte] = byte
    for byte in range(0xA1, 0xE0):
        table[byte] = byte + 0xFEC0
    return table


def _to_text(codepoints: np.ndarray) -> np.ndarray:
    """A ``(n, w)`` matrix of code points → ``n`` strings (NumPy ``U`` view: no loop)."""
    n, width = codepoints.shape
    if width == 0:
        return np.array([""] * n, dtype="U1")
    return np.ascontiguousarray(codepoints, dtype=np.uint32).view(f"U{width}").reshape(n)


def _to_codepoints(series: pl.Series, width: int) -> np.ndarray:
    """``n`` strings of at most ``width`` characters → a ``(n, width)`` code-point matrix, 0 after the end."""
    values = series.fill_null("").to_numpy().astype(f"U{max(width, 1)}")
    return values.view(np.uint32).reshape(len(series), max(width, 1))[:, :width]


def _digits_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers → a ``(n, width)`` matrix of ASCII digit bytes, zero-padded on the left."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values.astype(np.int64)[:, None] // powers) % 10 + 0x30).astype(np.uint8)


def _digits_value(block: np.ndarray) -> np.ndarray:
    """A ``(n, w)`` matrix of ASCII digits → their integer values (int64)."""
    width = block.shape[1]
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (block.astype(np.int64) - 0x30) @ powers


def _shown(row: np.ndarray) -> str:
    """A structural value for a message: ``'13103'``, or its bytes in hex when not printable ASCII."""
    raw = bytes(row)
    if all(0x20 <= b <= 0x7E for b in raw):
        return repr(raw.decode("ascii"))
    return "bytes " + raw.hex(" ").upper()


# ----------------------------------------------------------------------------------------------- reading

@dataclass
class _Problems:
    """Rule breaks found in one pass; the one in the earliest record (then byte) is raised."""

    found: list[tuple[int, int, PensionExchangeFileError]] = field(default_factory=list)

    def add(self, bad: np.ndarray, record_nos: np.ndarray, start: int, make) -> None:
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            others = int(bad.sum()) - 1
            more = f" (and in {others} more record{'s' if others > 1 else ''})" if others else ""
            self.found.append((int(record_nos[first]), start, make(first, more)))

    def raise_first(self) -> None:
        if self.found:
            raise min(self.found, key=lambda item: (item[0], item[1]))[2]


class _FieldReader:
    """Reads one field of ``n`` records (``part``: the field's ``(n, length)`` byte columns): checks every rule of
    its type, reports breaks to ``problems`` and returns its column (``None`` for a shift code)."""

    def __init__(self, f: ExchangeField, part: np.ndarray, record_nos: np.ndarray, file: str, problems: _Problems,
                 quote: bool) -> None:
        self.f, self.part, self.record_nos, self.file, self.problems, self.quote = (
            f, part, record_nos, file, problems, quote)

    def report(self, bad: np.ndarray, cls: type[PensionExchangeFileError], expected: str, message) -> None:
        """``message``: the sentence, or a function of the record's row giving it (to name a position)."""
        def make(i: int, more: str) -> PensionExchangeFileError:
            text = message(i) if callable(message) else message
            return cls(self.file, int(self.record_nos[i]), self.f.title, expected, text + more)

        self.problems.add(bad, self.record_nos, self.f.start, make)

    def shown(self, i: int, otherwise: str) -> str:
        """The field's value in row ``i`` for a message, if the field may be quoted (a structural code)."""
        return _shown(self.part[i]) if self.quote else otherwise

    def read(self) -> pl.Series | None:
        if self.f.type == "shift":
            self.shift_code()
            return None
        if self.f.type in ("digits", "count", "amount", "date"):
            return self.numeric()
        return self.text()

    def shift_code(self) -> None:
        code = SHIFT_CODES[self.f.shift]
        name = "漢字IN ESC $ B" if self.f.shift == "kanji_in" else "漢字OUT ESC ( B"
        self.report((self.part != np.frombuffer(code, dtype=np.uint8)).any(axis=1), ShiftCodeError,
                    f"the shift code {name} ({code.hex(' ').upper()})",
                    "the bytes there are not the shift code the layout puts there")

    def numeric(self) -> pl.Series:
        f, part = self.f, self.part
        spaces = (part == 0x20).all(axis=1)
        blank = spaces if f.nullable else np.zeros(len(part), dtype=bool)
        digits = ((part >= 0x30) & (part <= 0x39)).all(axis=1)
        shape = f"{f.length} ASCII digits" + (", zero-padded on the left" if f.type != "date" else "")
        if f.nullable:
            shape += " (or all spaces when empty)"
        self.report(spaces & (not f.nullable), DigitsFieldError, shape, "is blank")
        self.report(~digits & ~spaces, DigitsFieldError, shape, "holds a character that is not a digit 0–9")
        ok = digits & ~blank
        if f.fixed is not None:
            wrong = ok & (part != np.frombuffer(f.fixed.encode("ascii"), dtype=np.uint8)).any(axis=1)
            self.report(wrong, CodeFieldError, repr(f.fixed), lambda i: f"holds {self.shown(i, 'another value')}")
        elif f.code_values:
            unknown = ok & ~np.isin(_digits_value(part), [int(code) for code in f.allowed])
            listing = ", ".join(f"{code} {label}" for code, label in f.code_values)
            self.report(unknown, CodeFieldError, f"one of {f.codes}: {listing}", lambda i: (
                f"holds {_shown(part[i])}, which is not one of its codes" if self.quote
                else "holds a code that is not one of its codes"))
        clean = np.where(ok[:, None], part, 0x30)
        if f.type in ("count", "amount"):
            return pl.Series(f.id, _digits_value(clean), pl.Int64)
        if f.type == "date":
            return self.dates(clean, ok)
        return _null_where(pl.Series(f.id, _to_text(clean.astype(np.uint32)), pl.String), ~ok)

    def dates(self, clean: np.ndarray, ok: np.ndarray) -> pl.Series:
        year, month, day = _digits_value(clean[:, 0:4]), _digits_value(clean[:, 4:6]), _digits_value(clean[:, 6:8])
        month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
        leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
        last = month_days[month.clip(1, 12) - 1] + ((month == 2) & leap)
        real = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= last)
        self.report(ok & ~real, DateFieldError, "a real date written YYYYMMDD (西暦)",
                    "holds eight digits that are not a real date")
        valid = ok & real
        year, month, day = np.where(valid, year, 1970), np.where(valid, month, 1), np.where(valid, day, 1)
        days = ((year - 1970) * 12 + month - 1).astype("datetime64[M]").astype("datetime64[D]") + (day - 1)
        return _null_where(pl.Series(self.f.id, days).cast(pl.Date), ~valid)

    def text(self) -> pl.Series:
        f, part = self.f, self.part
        if f.type == "ascii":
            codepoints = np.where((part >= 0x20) & (part <= 0x7E), part, 0).astype(np.uint32)
            self.report((codepoints == 0).any(axis=1), TextFieldError,
                        "printable ASCII, left-aligned and padded with spaces",
                        "holds a byte that is not printable ASCII")
            pad = " "
        elif f.type == "kana":
            codepoints = _kana_table()[part]
            self.report((codepoints == 0).any(axis=1), TextFieldError,
                        "半角カナ or ASCII (not \\ or ~), left-aligned and padded with spaces",
                        "holds a byte that is neither 半角カナ (JIS X 0201 0xA1–0xDF) nor printable ASCII")
            pad = " "
        else:  # kanji: code pairs of JIS X 0208
            high, low = part[:, 0::2].astype(np.int64), part[:, 1::2].astype(np.int64)
            in_range = (high >= 0x21) & (high <= 0x7E) & (low >= 0x21) & (low <= 0x7E)
            index = (high - 0x21).clip(0, 93) * 94 + (low - 0x21).clip(0, 93)
            codepoints = np.where(in_range, _jis_tables()[0][index], 0).astype(np.uint32)
            self.report((codepoints == 0).any(axis=1), KanjiFieldError,
                        "JIS X 0208 characters (two bytes 0x21–0x7E each) padded with the full-width space 0x2121",
                        lambda i: f"character {int(np.flatnonzero(codepoints[i] == 0)[0]) + 1} of the field is not a "
                                  "JIS X 0208 character")
            pad = "\u3000"
        text = pl.Series(f.id, _to_text(np.where(codepoints == 0, 0x20, codepoints)), pl.String)
        text = text.str.strip_chars_end(pad)
        empty = (text.str.len_chars() == 0).to_numpy()
        if not f.nullable:
            self.report(empty, TextFieldError, "a value (the field is required)", "is blank")
        return _null_where(text, empty)


def _null_where(series: pl.Series, mask: np.ndarray) -> pl.Series:
    return pl.select(pl.when(pl.Series(mask)).then(None).otherwise(series)).to_series().alias(series.name)


def _parse_record(layout: RecordLayout, block: np.ndarray, record_nos: np.ndarray, file: str, problems: _Problems,
                  quotable: frozenset[str] | None) -> dict[str, pl.Series]:
    """The columns of ``layout`` read from ``block`` (one row per record; ``record_nos`` name them, 0 for the
    control block); problems are collected, not raised. ``quotable``: the fields whose value a message may
    show (``None``: all of them)."""
    columns: dict[str, pl.Series] = {}
    for f in layout.fields:
        if f.type == "filler":
            continue
        quote = quotable is None or f.id in quotable
        column = _FieldReader(f, block[:, f.offset:f.offset + f.length], record_nos, file, problems, quote).read()
        if f.is_column:
            columns[f.id] = column
    return columns


def read_exchange_file(data: bytes, *, file: str) -> ExchangeFile:
    """The 年金特徴 file ``data`` as frames, every rule of the layout checked; ``file`` names it in messages.

    Raises a :class:`PensionExchangeFileError` subclass for the first problem: the length
    (:class:`FileLengthError`), the control block's count (:class:`ControlCountError`), a レコード区分
    (:class:`UnknownRecordTypeError`), the order of the records (:class:`RecordSequenceError`), a field
    (:class:`FieldValueError` and its kinds), a header/trailer pair (:class:`HeaderTrailerMismatchError`), a
    data record outside its header's keys (:class:`GroupMismatchError`), a trailer's count or totals
    (:class:`TrailerTotalsError`).
    """
    lay = load_exchange_layouts()
    size, head, width = len(data), lay.control_length, lay.record_length
    if size < head or (size - head) % width:
        shape = ("shorter than the control block" if size < head else
                 f"{head} + {(size - head) // width} × {width} + {(size - head) % width}: a record is cut short, "
                 "too long or too short, or the file has line ends")
        raise FileLengthError(file, None, None, f"{head} bytes of control block and records of {width} bytes "
                              f"({head} + k × {width} bytes)", f"the file is {size} bytes long, {shape}")
    count = (size - head) // width
    buffer = np.frombuffer(data, dtype=np.uint8)

    problems = _Problems()
    control = _parse_record(lay.control, buffer[:head].reshape(1, head), np.zeros(1, dtype=np.int64), file,
                            problems, None)
    problems.raise_first()
    control_block = ControlBlock(control["municipality_code"][0], control["medium_serial_no"][0],
                                 control["created_date"][0], int(control["record_count"][0]))
    if control_block.record_count != count:
        raise ControlCountError(file, 0, lay.control.field("record_count").title,
                                "the number of 500-byte records after the control block",
                                f"the control block says {control_block.record_count} records, the file holds {count}")

    records = buffer[head:].reshape(count, width)
    record_nos = np.arange(1, count + 1, dtype=np.int64)
    record_type = records[:, 0] if count else np.zeros(0, dtype=np.uint8)
    type_title = lay.header.field("record_type").title
    unknown = ~np.isin(record_type, list(_RECORD_TYPES))
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise UnknownRecordTypeError(file, i + 1, type_title, "1 (header), 2 (data) or 3 (trailer)",
                                     f"the record's レコード区分 is {_shown(records[i, :1])}")
    _check_sequence(record_type, file, type_title)

    is_header, is_data, is_trailer = record_type == 0x31, record_type == 0x32, record_type == 0x33
    group_of = np.cumsum(is_header) - 1
    headers, trailers = records[is_header], records[is_trailer]
    header_nos, trailer_nos = record_nos[is_header], record_nos[is_trailer]
    header_columns = _parse_record(lay.header, headers, header_nos, file, problems, None)
    trailer_columns = _parse_record(lay.trailer, trailers, trailer_nos, file, problems, None)
    problems.raise_first()
    _check_pairs(lay, headers, trailers, header_nos, trailer_nos, file)
    _check_group_order(lay, header_columns, header_nos, file)

    data_records, data_nos, data_group = records[is_data], record_nos[is_data], group_of[is_data]
    _check_data_keys(lay, data_records, headers[data_group], data_nos, header_nos[data_group], file)
    group_notice = header_columns["notice_code"].to_numpy()
    frames: dict[str, pl.DataFrame] = {}
    notice_groups: dict[str, np.ndarray] = {}
    for code in sorted(set(group_notice.tolist())):
        layout = lay.notice(code).data
        chosen = group_notice[data_group] == code
        columns = _parse_record(layout, data_records[chosen], data_nos[chosen], file, problems, _QUOTABLE_DATA)
        frames[code] = pl.DataFrame({"record_no": pl.Series("record_no", data_nos[chosen], pl.Int64),
                                     **{name: columns[name] for name in layout.column_names}})
        notice_groups[code] = data_group[chosen]
    problems.raise_first()

    groups = pl.DataFrame({
        "header_record_no": pl.Series(header_nos, dtype=pl.Int64),
        **{name: header_columns[name] for name in ("municipality_code", "payer_code", "notice_code", "medium_code",
                                                    "created_date")},
        **{name: trailer_columns[name] for name in ("record_count", "total_amount_1", "total_amount_2",
                                                     "total_amount_3")},
        "trailer_record_no": pl.Series(trailer_nos, dtype=pl.Int64),
    })
    _check_totals(lay, groups, frames, notice_groups, file)
    return ExchangeFile(control_block, groups, frames)


def _check_sequence(record_type: np.ndarray, file: str, title: str) -> None:
    """Header, data …, trailer, header …: every record in a group, every group closed."""
    is_header = (record_type == 0x31).astype(np.int64)
    is_trailer = (record_type == 0x33).astype(np.int64)
    open_after = np.cumsum(is_header - is_trailer)
    open_before = open_after - is_header + is_trailer
    bad = ((is_header == 1) & (open_before != 0)) | ((is_header == 0) & (open_before != 1))
    expected = "each group as one header (レコード区分 1), its data records (2) and one trailer (3)"
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = _RECORD_TYPES[int(record_type[i])]
        if kind == "header":
            start = int(np.flatnonzero(is_header[:i])[-1]) + 1
            message = f"a header record, but the group that starts at record {start} has no trailer yet"
        elif kind == "data":
            message = "a data record outside any group: no header since the last trailer"
        else:
            message = "a trailer record without its header"
        raise RecordSequenceError(file, i + 1, title, expected, message)
    if len(record_type) and open_after[-1] != 0:
        start = int(np.flatnonzero(is_header)[-1]) + 1
        raise RecordSequenceError(file, start, title, expected,
                                  "the file ends inside the group that starts at this record: its trailer is missing")


def _check_pairs(lay: ExchangeLayouts, headers: np.ndarray, trailers: np.ndarray, header_nos: np.ndarray,
                 trailer_nos: np.ndarray, file: str) -> None:
    problems = _Problems()
    for name in ("municipality_code", "payer_code", "notice_code", "created_date"):
        h, t = lay.header.field(name), lay.trailer.field(name)
        hv, tv = headers[:, h.offset:h.offset + h.length], trailers[:, t.offset:t.offset + t.length]
        problems.add((hv != tv).any(axis=1), trailer_nos, t.start, lambda i, more, t=t, hv=hv, tv=tv: (
            HeaderTrailerMismatchError(file, int(trailer_nos[i]), t.title, "the value of the group's header",
                                       f"the trailer says {_shown(tv[i])}, its header (record {int(header_nos[i])}) "
                                       f"{_shown(hv[i])}" + more)))
    problems.raise_first()


def _check_group_order(lay: ExchangeLayouts, header_columns: dict[str, pl.Series], header_nos: np.ndarray,
                       file: str) -> None:
    municipality = header_columns["municipality_code"]
    title = lay.header.field("municipality_code").title
    if len(municipality) > 1:
        values = municipality.to_numpy()
        falls = np.flatnonzero(values[1:] < values[:-1])
        if len(falls):
            i = int(falls[0]) + 1
            raise RecordSequenceError(file, int(header_nos[i]), title, "the groups sorted by 市町村コード",
                                      f"this group's 市町村コード {values[i]} comes after {values[i - 1]} "
                                      f"(the group of record {int(header_nos[i - 1])})")
    keys = pl.DataFrame({name: header_columns[name] for name in ("municipality_code", "payer_code", "notice_code")})
    joined = keys.select(pl.concat_str(pl.all(), separator=" ")).to_series()
    repeated = ~joined.is_first_distinct().to_numpy()
    joined = joined.to_numpy()
    if repeated.any():
        i = int(np.flatnonzero(repeated)[0])
        first = int(np.flatnonzero(joined == joined[i])[0])
        row = keys.row(i)
        raise RecordSequenceError(file, int(header_nos[i]), title,
                                  "one group per 市町村コード, 特別徴収義務者コード and 通知内容コード",
                                  f"a second group for 市町村コード {row[0]}, 特別徴収義務者コード {row[1]}, 通知内容コード "
                                  f"{row[2]} (the first starts at record {int(header_nos[first])})")


def _check_data_keys(lay: ExchangeLayouts, data: np.ndarray, their_headers: np.ndarray, data_nos: np.ndarray,
                     their_header_nos: np.ndarray, file: str) -> None:
    problems = _Problems()
    common = next(iter(lay.notices.values())).data
    for name in ("municipality_code", "payer_code", "notice_code"):
        d, h = common.field(name), lay.header.field(name)
        dv, hv = data[:, d.offset:d.offset + d.length], their_headers[:, h.offset:h.offset + h.length]
        problems.add((dv != hv).any(axis=1), data_nos, d.start, lambda i, more, d=d, dv=dv, hv=hv: GroupMismatchError(
            file, int(data_nos[i]), d.title, "the value of the group's header",
            f"the data record says {_shown(dv[i])}, its header (record {int(their_header_nos[i])}) {_shown(hv[i])}"
            + more))
    problems.raise_first()


def _check_totals(lay: ExchangeLayouts, groups: pl.DataFrame, frames: dict[str, pl.DataFrame],
                  notice_groups: dict[str, np.ndarray], file: str) -> None:
    size = len(groups)
    counted = np.zeros(size, dtype=np.int64)
    sums = {n: np.zeros(size, dtype=np.int64) for n in (1, 2, 3)}
    for code, frame in frames.items():
        np.add.at(counted, notice_groups[code], 1)
        for n in (1, 2, 3):
            np.add.at(sums[n], notice_groups[code], frame[f"amount_{n}"].to_numpy().astype(np.int64))
    header_nos = groups["header_record_no"].to_numpy()
    trailer_nos = groups["trailer_record_no"].to_numpy()
    problems = _Problems()
    said = groups["record_count"].to_numpy()
    f = lay.trailer.field("record_count")
    problems.add(said != counted, trailer_nos, f.start, lambda i, more: TrailerTotalsError(
        file, int(trailer_nos[i]), f.title, "the number of the group's data records",
        f"the trailer says {int(said[i]):,} data records, the group (records {int(header_nos[i])}–"
        f"{int(trailer_nos[i])}) holds {int(counted[i]):,}" + more))
    for n in (1, 2, 3):
        t = lay.trailer.field(f"total_amount_{n}")
        total = groups[f"total_amount_{n}"].to_numpy()
        problems.add(total != sums[n], trailer_nos, t.start, lambda i, more, n=n, t=t, total=total: TrailerTotalsError(
            file, int(trailer_nos[i]), t.title, f"the sum of 金額{n} over the group's data records",
            f"the trailer says {int(total[i]):,}, the 金額{n} of the group (records {int(header_nos[i])}–"
            f"{int(trailer_nos[i])}) add up to {int(sums[n][i]):,}" + more))
    problems.raise_first()


# ----------------------------------------------------------------------------------------------- writing

def unencodable_kanji(values: pl.Series) -> pl.Series:
    """Per value, the 1-based position of its first character outside JIS X 0208 (null when every character
    fits, or the value is null): the check the writer makes, for a stage that wants to find such names and
    addresses before it writes."""
    _, keys, _ = _jis_tables()
    width = int(values.str.len_chars().max() or 0)
    if width == 0:
        return pl.Series(values.name, [None] * len(values), pl.Int64)
    codepoints = _to_codepoints(values, width)
    found = _encodable(codepoints, keys)
    bad = ~found & (codepoints != 0)
    first = np.where(bad.any(axis=1), bad.argmax(axis=1) + 1, 0)
    return pl.select(pl.when(pl.Series(first) > 0).then(pl.Series(first)).otherwise(None)).to_series().alias(
        values.name).cast(pl.Int64)


def _encodable(codepoints: np.ndarray, keys: np.ndarray) -> np.ndarray:
    index = np.searchsorted(keys, codepoints).clip(0, len(keys) - 1)
    return keys[index] == codepoints


class _Writer:
    """Encodes frames into rows of the output byte matrix; every refusal names the record it would have been."""

    def __init__(self, file: str) -> None:
        self.file = file

    def refuse(self, cls, record_no: int | None, f: ExchangeField | None, expected: str, message: str):
        raise cls(self.file, record_no, f.title if f is not None else None, expected, message)

    def first(self, bad: np.ndarray, record_nos: np.ndarray, rows: str, f: ExchangeField, expected: str,
              message: str, cls: type[PensionExchangeWriteError] = PensionExchangeWriteError) -> None:
        """Refuse the first row of ``bad`` (counting the others), naming its record and its row of ``rows``."""
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            others = int(bad.sum()) - 1
            more = f" (and {others} more row{'s' if others > 1 else ''})" if others else ""
            self.refuse(cls, int(record_nos[i]), f, expected, f"{message} (row {i + 1} of {rows}){more}")

    def encode(self, layout: RecordLayout, frame: pl.DataFrame, target: np.ndarray, positions: np.ndarray,
               record_nos: np.ndarray, rows: str) -> None:
        """Write the records of ``frame`` into the rows ``positions`` of ``target``; ``rows`` names the frame."""
        missing = [name for name in layout.column_names if name not in frame.columns]
        if missing:
            self.refuse(PensionExchangeWriteError, None, None, "the columns of the layout "
                        "(docs/layouts/pension_exchange.md)", f"{rows} has no column {', '.join(missing)}")
        for f in layout.fields:
            block = slice(f.offset, f.offset + f.length)
            if f.type == "filler":
                continue  # the target is spaces already
            if f.type == "shift":
                target[positions, block] = np.frombuffer(SHIFT_CODES[f.shift], dtype=np.uint8)
            elif f.fixed is not None:
                target[positions, block] = np.frombuffer(f.fixed.encode("ascii"), dtype=np.uint8)
            else:
                quote = layout.kind != "data" or f.id in _QUOTABLE_DATA
                target[positions, block] = self.field_bytes(f, frame[f.id], record_nos, rows, quote)

    def field_bytes(self, f: ExchangeField, column: pl.Series, record_nos: np.ndarray, rows: str,
                    quote: bool) -> np.ndarray:
        """The ``(n, length)`` bytes of one field."""
        null = column.is_null().to_numpy()
        if not f.nullable:
            self.first(null, record_nos, rows, f, "a value (the field is required)", "is empty")
        if f.type in ("count", "amount"):
            return self.number(f, column, record_nos, rows)
        if f.type == "date":
            return self.date(f, column, null, record_nos, rows)
        if column.dtype not in (pl.String, pl.Null):
            self.refuse(PensionExchangeWriteError, None, f, "a text column (pl.String)",
                        f"the column of {rows} is {column.dtype}")
        column = column.cast(pl.String)
        if f.type == "digits":
            return self.digits(f, column, null, record_nos, rows, quote)
        return self.text(f, column, null, record_nos, rows)

    def number(self, f: ExchangeField, column: pl.Series, record_nos: np.ndarray, rows: str) -> np.ndarray:
        if not column.dtype.is_integer():
            expected = "whole yen in an integer column (Int64), never a float" if f.type == "amount" else (
                "an integer column (Int64)")
            self.refuse(PensionExchangeWriteError, None, f, expected, f"the column of {rows} is {column.dtype}")
        values = column.fill_null(0).cast(pl.Int64).to_numpy()
        limit = 10 ** f.length
        self.first((values < 0) | (values >= limit), record_nos, rows, f, f"0 to {limit - 1:,}",
                   "is negative or has more digits than the field")
        return _digits_matrix(values, f.length)

    def date(self, f: ExchangeField, column: pl.Series, null: np.ndarray, record_nos: np.ndarray,
             rows: str) -> np.ndarray:
        if column.dtype not in (pl.Date, pl.Null):
            self.refuse(PensionExchangeWriteError, None, f, "a date column (pl.Date)",
                        f"the column of {rows} is {column.dtype}")
        text = column.cast(pl.Date).dt.strftime("%Y%m%d")
        self.first(~null & (text.str.len_chars() != 8).fill_null(False).to_numpy(), record_nos, rows, f,
                   "a date of the years 1000–9999", "is a date that YYYYMMDD cannot write")
        return _ascii_bytes(text, f.length, null)

    def digits(self, f: ExchangeField, column: pl.Series, null: np.ndarray, record_nos: np.ndarray, rows: str,
               quote: bool) -> np.ndarray:
        shape = column.str.contains(f"^[0-9]{{1,{f.length}}}$").fill_null(True).to_numpy()
        self.first(~shape, record_nos, rows, f, f"1 to {f.length} ASCII digits (zero-padded on the left)",
                   "is not digits, or has more digits than the field")
        padded = column.str.zfill(f.length)
        if f.code_values:
            unknown = ~padded.is_in(sorted(f.allowed)).fill_null(True).to_numpy() & ~null
            listing = ", ".join(f"{code} {label}" for code, label in f.code_values)
            said = "holds a code that is not one of its codes"
            if quote and unknown.any():
                said = f"holds {padded[int(np.flatnonzero(unknown)[0])]!r}, which is not one of its codes"
            self.first(unknown, record_nos, rows, f, f"one of {f.codes}: {listing}", said)
        return _ascii_bytes(padded, f.length, null)

    def text(self, f: ExchangeField, column: pl.Series, null: np.ndarray, record_nos: np.ndarray,
             rows: str) -> np.ndarray:
        nul = column.str.contains("\x00", literal=True).fill_null(False).to_numpy()
        self.first(nul, record_nos, rows, f, "text without control characters", "holds a NUL character")
        chars = f.length // 2 if f.type == "kanji" else f.length
        too_long = (column.str.len_chars() > chars).fill_null(False).to_numpy()
        self.first(too_long, record_nos, rows, f, f"at most {chars} characters (never cut short)",
                   "is longer than the field")
        padding = "\u3000" if f.type == "kanji" else " "
        if not f.nullable:
            empty = (column.str.strip_chars_end(padding).str.len_chars() == 0).fill_null(False).to_numpy()
            self.first(empty & ~null, record_nos, rows, f, "a value (the field is required)", "is blank")
        codepoints = _to_codepoints(column, chars)  # 0 after the end of each value: the padding
        pad = codepoints == 0
        if f.type == "kanji":
            _, keys, pairs = _jis_tables()
            found = _encodable(codepoints, keys)
            self.refuse_characters(~found & ~pad, record_nos, rows, f, "is outside JIS X 0208",
                                   "JIS X 0208 characters only: record a 代替文字 for the person and write the file "
                                   "again", UnencodableCharacterError)
            index = np.where(pad, 0, pairs[np.searchsorted(keys, codepoints).clip(0, len(keys) - 1)])
            out = np.empty((len(column), f.length), dtype=np.uint8)
            out[:, 0::2] = np.where(pad, 0x21, 0x21 + index // 94)  # padding: the full-width space 0x2121
            out[:, 1::2] = np.where(pad, 0x21, 0x21 + index % 94)
            return out
        if f.type == "ascii":
            allowed, encoded = (codepoints >= 0x20) & (codepoints <= 0x7E), codepoints
            expected = "printable ASCII"
        else:  # kana: JIS X 0201, katakana as 8-bit bytes
            katakana = (codepoints >= 0xFF61) & (codepoints <= 0xFF9F)
            roman = (codepoints >= 0x20) & (codepoints <= 0x7E) & (codepoints != 0x5C) & (codepoints != 0x7E)
            allowed, encoded = katakana | roman, np.where(katakana, codepoints - 0xFEC0, codepoints)
            expected = "半角カナ (U+FF61–U+FF9F) or ASCII (not \\ or ~)"
        self.refuse_characters(~allowed & ~pad, record_nos, rows, f, f"is not {expected}", expected)
        return np.where(pad, 0x20, encoded).astype(np.uint8)

    def refuse_characters(self, bad: np.ndarray, record_nos: np.ndarray, rows: str, f: ExchangeField, what: str,
                          expected: str, cls: type[PensionExchangeWriteError] = PensionExchangeWriteError) -> None:
        """Refuse the first value holding a character ``bad`` marks, naming the character's position (never
        the character: it is part of a name or an address)."""
        rows_bad = bad.any(axis=1)
        if rows_bad.any():
            i = int(np.flatnonzero(rows_bad)[0])
            position = int(np.flatnonzero(bad[i])[0]) + 1
            self.first(rows_bad, record_nos, rows, f, expected, f"character {position} of the field {what}", cls)


def _ascii_bytes(text: pl.Series, width: int, null: np.ndarray) -> np.ndarray:
    """ASCII strings of exactly ``width`` characters → their bytes; null rows are spaces."""
    out = _to_codepoints(text, width).astype(np.uint8)
    out[null] = 0x20
    return out


def write_exchange_file(exchange: ExchangeFile, *, file: str) -> bytes:
    """The exact bytes of ``exchange``; ``file`` names the file in messages.

    Groups are written in the order of ``exchange.groups``, stable-sorted by 市町村コード; the data records of a
    group are the rows of ``exchange.records[通知内容コード]`` with its 市町村コード and 特別徴収義務者コード, in
    frame order. Trailer counts and totals and the control block's ファイル格納件数 are computed. Anything that
    does not fit the layout raises :class:`PensionExchangeWriteError` (:class:`UnencodableCharacterError` for a
    character outside JIS X 0208); nothing is cut short, padded over or replaced.
    """
    lay = load_exchange_layouts()
    writer = _Writer(file)
    missing = [name for name in GROUP_COLUMNS if name not in exchange.groups.columns]
    if missing:
        writer.refuse(PensionExchangeWriteError, None, None, f"the columns {', '.join(GROUP_COLUMNS)}",
                      f"the groups frame has no column {', '.join(missing)}")
    groups = exchange.groups.select(GROUP_COLUMNS).sort(
        "municipality_code", maintain_order=True, nulls_last=True)
    notice_codes = groups["notice_code"].to_list()
    unknown = [code for code in notice_codes if code not in lay.notices]
    if unknown:
        writer.refuse(PensionExchangeWriteError, None, lay.header.field("notice_code"),
                      f"one of {', '.join(lay.notices)}", f"the groups frame names 通知内容コード {unknown[0]!r}")
    keys = groups.select("municipality_code", "payer_code", "notice_code")
    if keys.is_duplicated().any():
        row = keys.filter(keys.is_duplicated()).row(0)
        writer.refuse(PensionExchangeWriteError, None, None,
                      "one group per 市町村コード, 特別徴収義務者コード and 通知内容コード",
                      f"the groups frame has two rows for {row[0]}, {row[1]}, {row[2]}")
    for code, frame in exchange.records.items():
        if code not in set(notice_codes) and len(frame):
            writer.refuse(PensionExchangeWriteError, None, None, "a group (header and trailer) for every notice type "
                          "that has data records", f"data records of 通知内容コード {code!r} but no group for them")

    size = len(groups)
    group_index = groups.with_row_index("__group").select("__group", "municipality_code", "payer_code", "notice_code")
    placed: dict[str, pl.DataFrame] = {}
    counts = np.zeros(size, dtype=np.int64)
    for code in sorted(set(notice_codes)):
        frame = exchange.records.get(code)
        layout = lay.notice(code).data
        if frame is None:
            frame = pl.DataFrame(schema={name: _dtype(layout.field(name)) for name in layout.column_names})
        for name in ("municipality_code", "payer_code"):
            if name not in frame.columns or frame.schema[name] not in (pl.String, pl.Null):
                writer.refuse(PensionExchangeWriteError, None, layout.field(name), "a text column (pl.String)",
                              f"the data of 通知内容コード {code} has no text column {name}")
        located = (frame.with_columns(pl.col("municipality_code", "payer_code").cast(pl.String))
                   .join(group_index.filter(pl.col("notice_code") == code).drop("notice_code"),
                         on=["municipality_code", "payer_code"], how="left", validate="m:1", maintain_order="left"))
        orphan = located["__group"].is_null().to_numpy()
        if orphan.any():
            i = int(np.flatnonzero(orphan)[0])
            writer.refuse(PensionExchangeWriteError, None, layout.field("payer_code"),
                          "a row of the groups frame with the same 市町村コード, 特別徴収義務者コード and 通知内容コード",
                          f"row {i + 1} of the 通知内容コード {code} data ({located['municipality_code'][i]!r}, "
                          f"{located['payer_code'][i]!r}) belongs to no group")
        located = located.with_columns(pl.int_range(pl.len()).over("__group").alias("__rank"))
        placed[code] = located
        np.add.at(counts, located["__group"].to_numpy().astype(np.int64), 1)

    starts = np.concatenate([[0], np.cumsum(counts + 2)[:-1]]).astype(np.int64) if size else np.zeros(0, np.int64)
    total_records = int((counts + 2).sum())
    out = np.full((total_records, lay.record_length), 0x20, dtype=np.uint8)
    header_pos, trailer_pos = starts, starts + 1 + counts
    sums = {n: np.zeros(size, dtype=np.int64) for n in (1, 2, 3)}
    for code, located in placed.items():
        g = located["__group"].to_numpy().astype(np.int64)
        positions = starts[g] + 1 + located["__rank"].to_numpy().astype(np.int64)
        writer.encode(lay.notice(code).data, located, out, positions, positions + 1, f"the 通知内容コード {code} data")
        for n in (1, 2, 3):
            np.add.at(sums[n], g, located[f"amount_{n}"].cast(pl.Int64).to_numpy())

    writer.encode(lay.header, groups, out, header_pos, header_pos + 1, "the groups frame")
    trailer_frame = groups.with_columns(
        pl.Series("record_count", counts, pl.Int64),
        *[pl.Series(f"total_amount_{n}", sums[n], pl.Int64) for n in (1, 2, 3)],
    )
    writer.encode(lay.trailer, trailer_frame, out, trailer_pos, trailer_pos + 1, "the group totals")

    control = exchange.control
    control_frame = pl.DataFrame({
        "municipality_code": [control.municipality_code], "medium_serial_no": [control.medium_serial_no],
        "created_date": pl.Series([control.created_date], dtype=pl.Date),
        "record_count": pl.Series([total_records], dtype=pl.Int64),
    })
    head = np.full((1, lay.control_length), 0x20, dtype=np.uint8)
    writer.encode(lay.control, control_frame, head, np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64),
                  "the control block")
    return head.tobytes() + out.tobytes()


def _dtype(f: ExchangeField) -> pl.DataType:
    return {"String": pl.String(), "Int64": pl.Int64(), "Date": pl.Date()}[f.dtype]
