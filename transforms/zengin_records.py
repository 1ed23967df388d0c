"""Byte-exact reader and writer of the 全銀協 fixed-length files: 総合振込 (21) and 預金口座振替 (91).

A file is 120-byte records of JIS X 0201 characters in their single-byte Shift_JIS / CP932 form: groups of a
ヘッダー (データ区分 1), データ records (2) and a トレーラ (8), then one エンド record (9). The records follow each
other with no separator, or with a line end after each (CR LF; CR or LF alone also occur). The layouts are
data, ``contracts/zengin/`` (:mod:`contracts.zengin`, described field by field in docs/layouts/zengin.md).

* :func:`read_zengin_file` (bytes in) → :class:`ZenginFile`: one row per group in ``headers`` (header values)
  and ``trailers`` (trailer totals as read), one row per data record in ``records``; every frame carries
  ``group_no`` and ``record_no`` (the 1-based number of the record among all records of the file). Amounts and
  counts are Int64 yen, codes and bank or account numbers text (leading zeros kept; a blank nullable digits field
  is null), kana text as Unicode half-width katakana and ASCII with its trailing spaces removed.
* :func:`write_zengin_file` (:class:`ZenginFile` in) → the bytes: groups in ``group_no`` order, data records in
  their frame's order within a group, every trailer computed from the data records, CR LF after every record
  unless told otherwise. ``write(read(b)) == b`` for every file the reader accepts: the reader refuses a ダミー
  that is not spaces and remembers the line ends.
* :func:`to_zengin_kana` turns full-width and hiragana text into the half-width characters the writer takes,
  and refuses what has no such form (kanji, lower-case letters …): a payee's name is never changed silently.
* :func:`unknown_codes` lists the values outside their code list (codes.yaml), which the reader does not refuse.

``kind`` is ``"21"`` (総合振込), ``"91"`` (口座振替 依頼: 振替結果コード 0 or blank, the trailer's 振替済・振替不能
all 0) or ``"91_result"`` (振替結果: every 振替結果コード set, the trailer's 振替済 = the records with code 0 and
振替不能 = the others).

The per-record work is vectorised: the records are a Polars column of 120-character strings, each byte decoded
as one Latin-1 character (so 1 byte = 1 character whatever the byte, and the record length is checked on
bytes), every field a ``str.slice`` of it, every check a regular expression over the column; half-width katakana
are mapped to and from their CP932 bytes with ``str.replace_many``.

Errors speak to operators (STYLE rule 13): every refusal is a subclass of :class:`ZenginFormatError` (a
``ValueError`` and a :class:`~contracts.errors.JuminzeiError`) whose message names the file, the record number
(1-based over every record of the file) and the field by its 項目名 and id; when several records break the same
rule, the first is named and the others counted. Messages never quote a name, an account number or the amount
of one record: only structural codes (データ区分, 種別コード), counts and trailer totals.

Pure: bytes in, bytes out; no I/O, no clock.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import polars as pl

from contracts.errors import FileRecordError, JuminzeiError
from contracts.fixed_width import line_end_of, split_on
from contracts.zengin import KINDS, RECORD_LENGTH, ZenginField, ZenginLayout, ZenginRecordLayout
from contracts.zengin import load_zengin_layouts

__all__ = [
    "ZenginFile", "read_zengin_file", "write_zengin_file", "to_zengin_kana", "unknown_codes", "LINE_ENDS",
    "ZenginFormatError", "ZenginRecordLengthError", "ZenginRecordOrderError", "ZenginTrailerTotalsError",
    "ZenginFieldError", "ZenginCharacterError", "ZenginWriteError", "ZenginWriteFieldError",
    "ZenginWriteCharacterError", "ZenginKanaError",
]

#: the record separators the reader accepts and the writer may write (b"" = none); CR LF is the default
LINE_ENDS: dict[bytes, str] = {b"\r\n": "CR LF", b"\r": "CR", b"\n": "LF", b"": "no separator"}
_RECORD_NAMES = {"1": "a header (ヘッダー)", "2": "a data record (データ)", "8": "a trailer (トレーラ)",
                 "9": "an end record (エンド)"}


# ------------------------------------------------------------------------------------------------ errors

class ZenginFormatError(FileRecordError, JuminzeiError, ValueError):
    """A 全銀 file that cannot be read, or frames that cannot be written, whole. The message names the file, the
    record (1-based over every record of the file; ``None`` for the whole file) and the field."""


class ZenginRecordLengthError(ZenginFormatError):
    """A record that is not 120 bytes, or a file whose line ends are mixed."""


class ZenginRecordOrderError(ZenginFormatError):
    """Records out of the 1 2…2 8 (…) 9 order, an unknown データ区分, an empty file, or bytes after the end."""


class ZenginTrailerTotalsError(ZenginFormatError):
    """A trailer whose 合計件数・合計金額 (or 振替済・振替不能 件数・金額) disagree with its data records."""


class ZenginFieldError(ZenginFormatError):
    """A field holds a value its type does not allow: not digits, not blank where blank is required, the wrong
    種別コード, a 振替結果コード a request or a result may not hold."""


class ZenginCharacterError(ZenginFieldError):
    """A kana field holds a character (a byte) outside the 全銀 kana set: lower-case, full-width, small kana …"""


class ZenginWriteError(ZenginFormatError):
    """Frames the writer cannot turn into a 全銀 file; nothing is written. ``record_no`` is the record the value
    would have been."""

    subject = "Output file"


class ZenginWriteFieldError(ZenginWriteError, ZenginFieldError):
    """A value the writer cannot put into its field (not digits, negative, too long, not an integer)."""


class ZenginWriteCharacterError(ZenginWriteFieldError, ZenginCharacterError):
    """A text the writer cannot put into a kana field: a character outside the kana set (convert full-width
    text with :func:`to_zengin_kana` first) or too many characters."""


class ZenginKanaError(JuminzeiError, ValueError):
    """:func:`to_zengin_kana` met a character with no 全銀 half-width form (a kanji, a lower-case letter …)."""


# ------------------------------------------------------------------------------------------------ the file

@dataclass
class ZenginFile:
    """A 全銀 file as frames.

    ``headers``: one row per group (ヘッダー values; a dict is taken as the one header of a one-group file);
    ``records``: one row per data record; ``trailers``: one row per group, the totals as read (the writer
    computes its own and ignores these). Frames from the reader carry ``group_no`` and ``record_no``; the writer
    needs ``group_no`` only when there are several groups. ``line_end`` and ``final_line_end`` are the record
    separator and whether one follows the エンド record (the reader sets what it saw; CR LF after every record
    for a file built in code).
    """

    headers: pl.DataFrame | dict[str, Any]
    records: pl.DataFrame
    trailers: pl.DataFrame | None = None
    line_end: bytes = b"\r\n"
    final_line_end: bool = True
    kind: str | None = None  # set by the reader: the kind it was read as

    def __post_init__(self) -> None:
        if isinstance(self.headers, dict):
            self.headers = pl.DataFrame([self.headers])

    @property
    def header(self) -> dict[str, Any]:
        """The header of a one-group file, as a dict (``headers`` holds every group's)."""
        assert isinstance(self.headers, pl.DataFrame)
        if self.headers.height != 1:
            raise ValueError(f"the file has {self.headers.height} groups: read headers, one row per group")
        return self.headers.row(0, named=True)

    @property
    def group_count(self) -> int:
        assert isinstance(self.headers, pl.DataFrame)
        return self.headers.height


# ------------------------------------------------------------------------------------------------ characters

@dataclass(frozen=True)
class _KanaTables:
    """The kana set in the forms the codec needs.

    Each kana-set character is one CP932 byte; decoded as Latin-1 that byte is one character. ``byte_class`` and
    ``text_class`` are regex classes (Polars syntax) over those bytes and over the Unicode characters;
    ``byte_chars`` and ``kana_chars`` map the bytes 0xA1–0xDF (as Latin-1 characters) to half-width katakana
    U+FF61–U+FF9F and back."""

    byte_class: str
    text_class: str
    bytes_allowed: frozenset[str]
    text_allowed: frozenset[str]
    byte_chars: list[str]
    kana_chars: list[str]


@functools.cache
def _kana_tables() -> _KanaTables:
    chars = load_zengin_layouts().kana_characters
    as_bytes = [c.encode("cp932").decode("latin-1") for c in chars]
    high = [(b, c) for b, c in zip(as_bytes, chars) if b != c]
    return _KanaTables(
        byte_class="".join(f"\\x{{{ord(b):x}}}" for b in as_bytes),
        text_class="".join(f"\\x{{{ord(c):x}}}" for c in chars),
        bytes_allowed=frozenset(as_bytes), text_allowed=frozenset(chars),
        byte_chars=[b for b, _ in high], kana_chars=[c for _, c in high],
    )


def _byte_problem(char: str) -> str:
    """What a Latin-1-decoded byte of a kana field is, for a message (never the value itself)."""
    code = ord(char)
    if "a" <= char <= "z":
        return "a lower-case letter"
    if 0x81 <= code <= 0x9F or 0xE0 <= code <= 0xFC:
        return f"byte 0x{code:02X}, the first byte of a two-byte (full-width) character"
    if 0xA7 <= code <= 0xAF:
        return "a small kana (written large in 全銀 files)"
    if code < 0x20 or code == 0x7F:
        return f"the control byte 0x{code:02X}"
    return f"byte 0x{code:02X}, outside the 全銀 kana set"


def _char_problem(char: str) -> str:
    """What a Unicode character of a text to write is, for a message (never the character itself)."""
    if "a" <= char <= "z":
        return "a lower-case letter"
    if "\uff67" <= char <= "\uff6f":
        return "a small kana (written large in 全銀 files)"
    if unicodedata.east_asian_width(char) in ("F", "W"):
        return "a full-width character (convert the text with to_zengin_kana first)"
    return f"a character outside the 全銀 kana set ({unicodedata.category(char)})"


def _input_problem(char: str) -> str:
    """What a character :func:`to_zengin_kana` cannot convert is, for a message (never the character itself)."""
    if "a" <= char <= "z" or "ａ" <= char <= "ｚ":
        return "a lower-case letter"
    if unicodedata.name(char, "").startswith("CJK"):
        return "a kanji"
    return f"a symbol or other character (Unicode category {unicodedata.category(char)})"


# Full-width small kana → the large kana written instead (全銀 files have no small kana).
_SMALL_TO_LARGE = dict(zip("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ"))
# Letters JIS X 0201 lacks, written as their usual replacements.
_OBSOLETE = {"ヰ": "イ", "ヱ": "エ"}
_VOICE_MARKS = {"\u3099": "\uff9e", "\u309a": "\uff9f", "\u309b": "\uff9e", "\u309c": "\uff9f"}
_DASHES = "ー－−‐ｰ"  # long-vowel marks and hyphens: written "-", which every bank takes (ｰ is refused by some)
_FULLWIDTH_SYMBOLS = {"（": "(", "）": ")", "．": ".", "／": "/", "\u3000": " "}


@functools.cache
def _kana_map() -> dict[str, str]:
    """Every character :func:`to_zengin_kana` converts, and what it becomes (only characters of ``kana_written``)."""
    written = set(load_zengin_layouts().kana_written)
    mapping: dict[str, str] = {c: c for c in written}
    # half-width katakana U+FF66–U+FF9D ↔ full-width, through NFKC (which maps each to its full-width form)
    full_to_half = {unicodedata.normalize("NFKC", chr(h)): chr(h) for h in range(0xFF66, 0xFF9E)}
    for small, large in zip("ｧｨｩｪｫｬｭｮｯ", "ｱｲｳｴｵﾔﾕﾖﾂ"):
        mapping[small] = large
    katakana = [chr(c) for c in range(0x30A1, 0x30FB)]
    hiragana = {chr(c): chr(c + 0x60) for c in range(0x3041, 0x3097)}
    for full in katakana + list(hiragana):
        kata = hiragana.get(full, full)
        base, *marks = unicodedata.normalize("NFD", kata)
        base = _OBSOLETE.get(base, _SMALL_TO_LARGE.get(base, base))
        half = full_to_half.get(base)
        if half is None:
            continue
        converted = half + "".join(_VOICE_MARKS.get(m, "?") for m in marks)
        if all(c in written for c in converted):
            mapping[full] = converted
    for offset in range(10):
        mapping[chr(0xFF10 + offset)] = str(offset)
    for offset in range(26):
        mapping[chr(0xFF21 + offset)] = chr(0x41 + offset)
    for char in _DASHES:
        mapping[char] = "-"
    mapping.update(_FULLWIDTH_SYMBOLS)
    mapping.update({mark: half for mark, half in _VOICE_MARKS.items()})
    return {k: v for k, v in mapping.items() if all(c in written for c in v)}


def to_zengin_kana(text: str) -> str:
    """``text`` in the characters a 全銀 kana field takes (カナ in 半角, 0–9, A–Z, space, ``( ) - . /``).

    Full-width katakana and hiragana become half-width katakana: small kana are written large (ャ → ﾔ), voiced
    and semi-voiced ones take their mark as a second character (ガ → ｶﾞ, パ → ﾊﾟ, ヴ → ｳﾞ), ヰ ヱ become ｲ ｴ.
    Full-width digits, upper-case letters, space and ``（ ） ． ／`` become their half-width forms; the long-vowel
    mark ー and hyphens become ``-``. Characters already allowed stay. Anything else (kanji, lower-case letters,
    ・, 々 …) raises :class:`ZenginKanaError` naming its position: the caller decides, the name is not changed
    silently. The result may be longer than the text (a voiced kana takes two characters).
    """
    mapping = _kana_map()
    out = []
    for position, char in enumerate(text, start=1):
        converted = mapping.get(char)
        if converted is None:
            raise ZenginKanaError(f"character {position} of the text is {_input_problem(char)}, which has no 全銀 "
                                  "half-width form; give the text in kana, digits and upper-case letters")
        out.append(converted)
    return "".join(out)


# ------------------------------------------------------------------------------------------------ reading

def read_zengin_file(data: bytes, *, file: str, kind: str) -> ZenginFile:
    """The groups and data records of a 全銀 file of ``kind`` (``"21"``, ``"91"``, ``"91_result"``), checked.

    Raises a :class:`ZenginFormatError` subclass naming the file, the record and the field when the file cannot
    be read whole (module docstring)."""
    layout = _layout_of(kind)
    lines, line_end, final = _split_records(data, file)
    frame = pl.DataFrame({"line": lines}, schema={"line": pl.String}).with_row_index("record_no", offset=1)
    frame = frame.with_columns(pl.col("record_no").cast(pl.Int64))
    _check_lengths(frame, file)
    frame = frame.with_columns(pl.col("line").str.slice(0, 1).alias("data_type"))
    _check_order("".join(frame["data_type"].to_list()), file)
    frame = frame.with_columns((pl.col("data_type") == "1").cast(pl.Int64).cum_sum().alias("group_no"))

    parts = {record_type: frame.filter(pl.col("data_type") == record.data_type)
             for record_type, record in layout.records.items()}
    problems = [found for record_type, record in layout.records.items()
                if (found := _first_field_problem(parts[record_type], record, layout, kind, file)) is not None]
    if problems:
        raise min(problems, key=lambda p: (p[0], p[1]))[2]
    parsed = {record_type: parts[record_type].select("group_no", "record_no", *_column_exprs(record))
              for record_type, record in layout.records.items()}
    _check_result_codes(parsed["data"], layout, kind, file)
    _check_trailers(parsed["data"], parsed["trailer"], layout, kind, file)
    return ZenginFile(headers=parsed["header"], records=parsed["data"], trailers=parsed["trailer"],
                      line_end=line_end, final_line_end=final, kind=kind)


def _layout_of(kind: str) -> ZenginLayout:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return load_zengin_layouts().layout(kind)


def _split_records(data: bytes, file: str) -> tuple[list[str], bytes, bool]:
    """The records as Latin-1 text (1 byte = 1 character), the separator, whether one follows the last record."""
    if not data:
        raise ZenginRecordOrderError(file, None, None, "a header record (データ区分 1) first", "the file is empty")
    line_end = line_end_of(data)
    text = data.decode("latin-1")
    if not line_end:
        lines = [text[i:i + RECORD_LENGTH] for i in range(0, len(text), RECORD_LENGTH)]
        return lines, b"", False
    lines, final = split_on(text, line_end)
    return lines, line_end, final


def _check_lengths(frame: pl.DataFrame, file: str) -> None:
    checked = frame.select("record_no", pl.col("line").str.len_chars().alias("length"),
                           pl.col("line").str.contains(r"[\r\n]").alias("line_end_inside"))
    mixed = checked.filter(pl.col("line_end_inside"))
    if mixed.height:
        raise ZenginRecordLengthError(file, int(mixed["record_no"][0]), None,
                                      "the same record separator after every record",
                                      "the record holds a CR or LF byte: the file mixes line ends")
    bad = checked.filter(pl.col("length") != RECORD_LENGTH)
    if bad.height:
        more = f" ({bad.height - 1} more records have the wrong length)" if bad.height > 1 else ""
        raise ZenginRecordLengthError(file, int(bad["record_no"][0]), None, f"{RECORD_LENGTH} bytes",
                                      f"the record is {int(bad['length'][0])} bytes{more}")


_VALID_PREFIX = re.compile(r"(?:12*8)*(?:12*)?")


def _check_order(types: str, file: str) -> None:
    """データ区分 in the order 1 2…2 8, repeated, then one 9 (``types``: one character per record)."""
    field = "データ区分 (data_type)"
    stop = _VALID_PREFIX.match(types).end()  # type: ignore[union-attr]
    previous = types[stop - 1] if stop else ""
    if stop < len(types) and types[stop] == "9" and previous == "8":
        if stop == len(types) - 1:
            return
        raise ZenginRecordOrderError(file, stop + 2, field, "nothing after the end record (データ区分 9)",
                                     f"a record with データ区分 {types[stop + 1]!r} follows the end record")
    if previous == "":
        expected = "a header (データ区分 1)"
    elif previous == "8":
        expected = "a header (データ区分 1) or the end record (9)"
    else:
        expected = "a data record (データ区分 2) or a trailer (8)"
    if stop == len(types):
        raise ZenginRecordOrderError(file, stop, field, f"{expected} after it",
                                     "the file ends after this record, without an end record (データ区分 9)")
    found = types[stop]
    what = (_RECORD_NAMES[found] if found in _RECORD_NAMES
            else f"データ区分 {found!r}, which is not a record type (1, 2, 8, 9)")
    raise ZenginRecordOrderError(file, stop + 1, field, expected, f"the record is {what}")


def _slice(f: ZenginField) -> pl.Expr:
    return pl.col("line").str.slice(f.offset, f.length)


def _column_exprs(record: ZenginRecordLayout) -> list[pl.Expr]:
    """The typed columns of a record type (after its checks passed)."""
    kana = _kana_tables()
    exprs = []
    for f in record.columns:
        value = _slice(f)
        if f.type in ("count", "amount"):
            exprs.append(value.cast(pl.Int64).alias(f.id))
        elif f.type == "digits":
            blank = " " * f.length
            exprs.append((pl.when(value == blank).then(None).otherwise(value) if f.nullable else value).alias(f.id))
        else:  # kana
            exprs.append(value.str.replace_many(kana.byte_chars, kana.kana_chars).str.strip_chars_end(" ").alias(f.id))
    return exprs


def _ok_expr(f: ZenginField, expected_fixed: str | None) -> pl.Expr:
    """True where the field holds what its type allows."""
    value = _slice(f)
    n = f.length
    if expected_fixed is not None:
        return value == expected_fixed
    if f.type == "filler":
        return value == " " * n
    if f.type == "kana":
        return value.str.contains(f"^[{_kana_tables().byte_class}]*$")
    if f.nullable:
        return value.str.contains(f"^(?:[0-9]{{{n}}}| {{{n}}})$")
    return value.str.contains(f"^[0-9]{{{n}}}$")


def _first_field_problem(part: pl.DataFrame, record: ZenginRecordLayout, layout: ZenginLayout, kind: str,
                         file: str) -> tuple[int, int, ZenginFormatError] | None:
    """The first record (and in it the first field) of ``part`` whose bytes its layout does not allow."""
    if part.height == 0:
        return None
    fields = [f for f in record.fields if f.id != "data_type"]  # the order check has read データ区分
    checks = part.select("record_no", "line", *[_ok_expr(f, f.fixed).alias(f"ok_{i}") for i, f in enumerate(fields)])
    first: tuple[int, int, ZenginFormatError] | None = None
    for i, f in enumerate(fields):
        bad = checks.filter(~pl.col(f"ok_{i}"))
        if bad.height == 0:
            continue
        record_no = int(bad["record_no"][0])
        if first is not None and (first[0], first[1]) <= (record_no, f.start):
            continue
        value = bad["line"][0][f.offset:f.end]
        more = f" ({bad.height - 1} more records break this field)" if bad.height > 1 else ""
        first = (record_no, f.start, _field_error(file, record_no, f, value, layout, kind, more))
    return first


def _field_error(file: str, record_no: int, f: ZenginField, value: str, layout: ZenginLayout, kind: str,
                 more: str) -> ZenginFormatError:
    if f.fixed is not None:  # 種別コード: a structural code, quoted
        return ZenginFieldError(file, record_no, f.title, f"{f.fixed} ({layout.name_ja}, kind {kind!r})",
                                f"the field holds {value!r}{more}")
    if f.type == "filler":
        return ZenginFieldError(file, record_no, f.title, f"{f.length} spaces",
                                f"the ダミー holds something else than spaces{more}")
    if f.type == "kana":
        allowed = _kana_tables().bytes_allowed
        position, char = next((p, c) for p, c in enumerate(value, 1) if c not in allowed)
        return ZenginCharacterError(file, record_no, f.title,
                                    "half-width kana, digits, upper-case letters, space and ( ) - . / only",
                                    f"character {position} of the field is {_byte_problem(char)}{more}")
    blank = " or blank (spaces)" if f.nullable else ""
    position = next(p for p, c in enumerate(value, 1) if not "0" <= c <= "9")
    return ZenginFieldError(file, record_no, f.title, f"{f.length} digits (0–9){blank}",
                            f"byte {position} of the field is not a digit{more}")


def _check_result_codes(records: pl.DataFrame, layout: ZenginLayout, kind: str, file: str) -> None:
    """A request holds 振替結果コード 0 or blank; a result holds one in every record."""
    if not layout.has_results or records.height == 0:
        return
    f = layout.data.field("result_code")
    if kind == "91_result":
        bad = records.filter(pl.col("result_code").is_null())
        expected, message = "a digit set by the bank", "a 振替結果 file leaves the 振替結果コード blank"
    else:
        bad = records.filter(pl.col("result_code").is_not_null() & (pl.col("result_code") != "0"))
        expected = "0 or blank in a 依頼 (read a result file as kind '91_result')"
        message = f"the 依頼 holds 振替結果コード {bad['result_code'][0]!r}" if bad.height else ""
    if bad.height:
        more = f" ({bad.height - 1} more records)" if bad.height > 1 else ""
        raise ZenginFieldError(file, int(bad["record_no"][0]), f.title, expected, f"{message}{more}")


def _group_totals(records: pl.DataFrame, layout: ZenginLayout, kind: str) -> pl.DataFrame:
    """Per group_no, what the trailer must say (trailer field id → value)."""
    aggs = [pl.len().cast(pl.Int64).alias("total_count"), pl.col("amount").sum().cast(pl.Int64).alias("total_amount")]
    if layout.has_results:
        done = pl.col("result_code") == "0"
        failed = pl.col("result_code").is_not_null() & (pl.col("result_code") != "0")
        if kind == "91_result":
            aggs += [done.sum().cast(pl.Int64).alias("transferred_count"),
                     pl.col("amount").filter(done).sum().cast(pl.Int64).alias("transferred_amount"),
                     failed.sum().cast(pl.Int64).alias("failed_count"),
                     pl.col("amount").filter(failed).sum().cast(pl.Int64).alias("failed_amount")]
        else:
            aggs += [pl.lit(0, pl.Int64).alias(name) for name in
                     ("transferred_count", "transferred_amount", "failed_count", "failed_amount")]
    return records.group_by("group_no").agg(aggs)


def _totals_for(groups: pl.DataFrame, records: pl.DataFrame, layout: ZenginLayout, kind: str) -> pl.DataFrame:
    """``groups`` (group_no, …) with the trailer's totals of each group; a group without data records has 0s."""
    ids = [f.id for f in layout.trailer.columns]
    totals = _group_totals(records.select("group_no", *[c for c in ("amount", "result_code") if c in records.columns]),
                           layout, kind)
    joined = groups.join(totals, on="group_no", how="left", validate="1:1")
    return joined.with_columns(pl.col(i).fill_null(0).cast(pl.Int64) for i in ids)


def _check_trailers(records: pl.DataFrame, trailers: pl.DataFrame, layout: ZenginLayout, kind: str,
                    file: str) -> None:
    ids = [f.id for f in layout.trailer.columns]
    expected = _totals_for(trailers.select("group_no", "record_no"), records, layout, kind)
    compared = trailers.join(expected, on="group_no", how="inner", validate="1:1", suffix="_expected")
    for trailer in compared.filter(pl.any_horizontal(pl.col(i) != pl.col(f"{i}_expected") for i in ids)).sort(
            "record_no").iter_rows(named=True):
        for field_id in ids:
            if trailer[field_id] != trailer[f"{field_id}_expected"]:
                f = layout.trailer.field(field_id)
                what = _TOTAL_WHAT.get((kind, field_id), _TOTAL_WHAT.get(("*", field_id), "the data records"))
                raise ZenginTrailerTotalsError(file, int(trailer["record_no"]), f.title,
                                               f"{trailer[f'{field_id}_expected']} ({what})",
                                               f"the trailer says {trailer[field_id]}")


_TOTAL_WHAT = {
    ("*", "total_count"): "the number of the group's data records",
    ("*", "total_amount"): "the sum of the group's amounts",
    ("91_result", "transferred_count"): "the data records with 振替結果コード 0",
    ("91_result", "transferred_amount"): "the sum of the amounts with 振替結果コード 0",
    ("91_result", "failed_count"): "the data records with another 振替結果コード",
    ("91_result", "failed_amount"): "the sum of the amounts with another 振替結果コード",
    ("91", "transferred_count"): "0 in a 依頼; read a result file as kind '91_result'",
    ("91", "transferred_amount"): "0 in a 依頼; read a result file as kind '91_result'",
    ("91", "failed_count"): "0 in a 依頼; read a result file as kind '91_result'",
    ("91", "failed_amount"): "0 in a 依頼; read a result file as kind '91_result'",
}


def unknown_codes(zf: ZenginFile, *, kind: str) -> pl.DataFrame:
    """The values of code fields that are not in their code list (codes.yaml), which the reader does not refuse:
    one row per (record, field) with ``record_no``, ``record_type``, ``field`` (id) and ``value`` (the code; a
    blank field that may not be blank shows as ""). ``zf`` comes from :func:`read_zengin_file`."""
    layout = _layout_of(kind)
    frames = {"header": zf.headers, "data": zf.records}
    found = []
    for record_type, frame in frames.items():
        assert isinstance(frame, pl.DataFrame)
        for f in layout.records[record_type].columns:
            if not f.code_values or f.id not in frame.columns:
                continue
            value = pl.col(f.id).fill_null("")
            ok = value.is_in(sorted(f.allowed)) | ((value == "") if f.nullable else pl.lit(False))
            found.append(frame.filter(~ok).select(
                pl.col("record_no"), pl.lit(record_type).alias("record_type"), pl.lit(f.id).alias("field"),
                value.alias("value")))
    schema = {"record_no": pl.Int64, "record_type": pl.String, "field": pl.String, "value": pl.String}
    if not found:
        return pl.DataFrame(schema=schema)
    return pl.concat(found).cast(schema).sort("record_no", "field")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ writing

def write_zengin_file(zf: ZenginFile, *, file: str, kind: str, line_end: bytes | None = None,
                      final_line_end: bool | None = None) -> bytes:
    """The bytes of ``zf`` as a 全銀 file of ``kind``, trailers computed from the data records.

    ``line_end`` is the record separator (:data:`LINE_ENDS`; default ``zf.line_end``: CR LF for a file built in
    code, what the reader saw for a file read) and ``final_line_end`` whether it also follows the エンド record
    (default ``zf.final_line_end``). Raises a :class:`ZenginWriteError` subclass naming the record the value
    would have been and the field; nothing is written then."""
    layout = _layout_of(kind)
    separator = zf.line_end if line_end is None else line_end
    if separator not in LINE_ENDS:
        raise ZenginWriteError(file, None, None, ", ".join(repr(k) for k in LINE_ENDS),
                               f"the line end {separator!r} is not one the format knows")
    final = (zf.final_line_end if final_line_end is None else final_line_end) and separator != b""
    headers, records = _groups_to_write(zf, layout, file)

    # record numbers: each group is its header, its data records and its trailer; the end record comes last
    sizes = headers.select("group_no").join(records.group_by("group_no").agg(pl.len().cast(pl.Int64).alias("n")),
                                            on="group_no", how="left", validate="1:1").with_columns(
        pl.col("n").fill_null(0))
    sizes = sizes.with_columns((pl.col("n") + 2).cum_sum().alias("last")).with_columns(
        (pl.col("last") - pl.col("n") - 1).alias("header_no"))
    headers = headers.join(sizes.select("group_no", pl.col("header_no").alias("record_no")), on="group_no",
                           how="left", validate="1:1")
    records = records.with_columns(pl.int_range(pl.len()).over("group_no").cast(pl.Int64).alias("_index")).join(
        sizes.select("group_no", "header_no"), on="group_no", how="left", validate="m:1").with_columns(
        (pl.col("header_no") + 1 + pl.col("_index")).alias("record_no")).drop("_index", "header_no")
    if layout.has_results:
        _check_result_codes_to_write(records, layout, kind, file)
    trailers = _totals_for(sizes.select("group_no", pl.col("last").alias("record_no")), records, layout, kind)
    end_no = int(sizes["last"][-1]) + 1 if sizes.height else 1

    lines = pl.concat([
        _render(headers, layout.header, file),
        _render(records, layout.data, file),
        _render(trailers, layout.trailer, file),
        _render(pl.DataFrame({"record_no": [end_no]}, schema={"record_no": pl.Int64}), layout.end, file),
    ]).sort("record_no")
    text = separator.decode("latin-1").join(lines["line"].to_list())
    out = text.encode("latin-1")
    return out + separator if final else out


def _groups_to_write(zf: ZenginFile, layout: ZenginLayout, file: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The headers and data records with ``group_no``, checked for their columns, in writing order."""
    headers = zf.headers if isinstance(zf.headers, pl.DataFrame) else pl.DataFrame([zf.headers])
    records = zf.records
    if headers.height == 0:
        raise ZenginWriteError(file, None, None, "at least one header (one group)", "headers is empty")
    if "group_no" not in headers.columns:
        headers = headers.with_row_index("group_no", offset=1)
    headers = headers.with_columns(pl.col("group_no").cast(pl.Int64))
    if headers["group_no"].is_duplicated().any():
        raise ZenginWriteError(file, None, "group_no", "one header per group_no", "two headers share a group_no")
    if "group_no" not in records.columns:
        if headers.height != 1:
            raise ZenginWriteError(file, None, "group_no", "a group_no on every data record when there are several "
                                   "headers", f"there are {headers.height} headers and the records have no group_no")
        records = records.with_columns(pl.lit(int(headers["group_no"][0]), pl.Int64).alias("group_no"))
    records = records.with_columns(pl.col("group_no").cast(pl.Int64))
    orphans = records.join(headers.select("group_no"), on="group_no", how="anti")
    if orphans.height:
        raise ZenginWriteError(file, None, "group_no", "the group_no of a header",
                               f"{orphans.height} data records belong to no header's group")
    for frame, record in ((headers, layout.header), (records, layout.data)):
        missing = [f.title for f in record.columns if f.id not in frame.columns]
        if missing:
            raise ZenginWriteError(file, None, ", ".join(missing), f"every column of the {record.record_type} record",
                                   f"the {record.record_type} frame lacks them")
    headers = headers.sort("group_no", maintain_order=True).select(
        "group_no", *[_typed(headers, f) for f in layout.header.columns])
    records = records.sort("group_no", maintain_order=True).select(
        "group_no", *[_typed(records, f) for f in layout.data.columns])
    return headers, records


def _typed(frame: pl.DataFrame, f: ZenginField) -> pl.Expr:
    """The column of ``f``; an all-null column without a type (a dict's None) becomes the field's type."""
    if frame.schema[f.id] == pl.Null:
        return pl.col(f.id).cast(pl.Int64 if f.dtype == "Int64" else pl.String)
    return pl.col(f.id)


def _check_result_codes_to_write(records: pl.DataFrame, layout: ZenginLayout, kind: str, file: str) -> None:
    f = layout.data.field("result_code")
    code = pl.col("result_code")
    if kind == "91_result":
        bad = records.filter(code.is_null())
        expected, message = "a 振替結果コード digit in every record of a result", "the 振替結果コード is null"
    else:
        bad = records.filter(code.is_not_null() & (code != "0"))
        expected, message = "0 or null in a 依頼 (write a result as kind '91_result')", "the 振替結果コード is set"
    if bad.height:
        raise ZenginWriteFieldError(file, int(bad["record_no"][0]), f.title, expected, message)


_INTEGER_TYPES = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)


def _render(frame: pl.DataFrame, record: ZenginRecordLayout, file: str) -> pl.DataFrame:
    """``record_no`` and ``line`` (120 Latin-1 characters) of every row of ``frame``, its values checked."""
    if frame.height == 0:
        return pl.DataFrame(schema={"record_no": pl.Int64, "line": pl.String})
    kana = _kana_tables()
    parts: list[pl.Expr] = []
    for f in record.fields:
        if f.fixed is not None:
            parts.append(pl.lit(f.fixed))
        elif f.type == "filler":
            parts.append(pl.lit(" " * f.length))
        else:
            _check_values(frame, f, record, file, kana)
            value = pl.col(f.id)
            if f.type in ("count", "amount"):
                parts.append(value.cast(pl.String).str.zfill(f.length))
            elif f.type == "digits":
                parts.append(value.cast(pl.String).str.zfill(f.length).fill_null(" " * f.length))
            else:
                parts.append(value.cast(pl.String).fill_null("").str.replace_many(kana.kana_chars, kana.byte_chars)
                             .str.pad_end(f.length))
    rendered = frame.select("record_no", pl.concat_str(parts).alias("line"))
    assert rendered["line"].str.len_chars().eq(RECORD_LENGTH).all(), "a rendered record is not 120 bytes"
    return rendered


def _check_values(frame: pl.DataFrame, f: ZenginField, record: ZenginRecordLayout, file: str,
                  kana: _KanaTables) -> None:
    """Refuse the first row whose value of ``f`` cannot be written (ZenginWrite…Error naming its record)."""
    dtype = frame.schema[f.id]
    where = f"the {record.record_type} frame's column"
    if f.type in ("count", "amount"):
        if dtype not in _INTEGER_TYPES:
            raise ZenginWriteFieldError(file, None, f.title, "an integer column (Int64 yen), never a float or text",
                                        f"{where} is {dtype}")
        value = pl.col(f.id)
        checks = [(value.is_null(), "the value is null", "a value in every record"),
                  (value < 0, "the value is negative", "0 or more"),
                  (value >= 10 ** f.length, f"the value has more than {f.length} digits", f"at most {f.length} digits")]
        for bad_expr, message, expected in checks:
            bad = frame.filter(bad_expr)
            if bad.height:
                raise ZenginWriteFieldError(file, int(bad["record_no"][0]), f.title, expected, message)
        return
    if dtype not in (pl.String, pl.Null):
        raise ZenginWriteFieldError(file, None, f.title, "a text (String) column", f"{where} is {dtype}")
    value = pl.col(f.id).cast(pl.String)
    if f.type == "digits":
        blank_ok = " or null" if f.nullable else ""
        bad = frame.filter(value.is_null() if not f.nullable else pl.lit(False)).select("record_no")
        if bad.height:
            raise ZenginWriteFieldError(file, int(bad["record_no"][0]), f.title, f"1–{f.length} digits",
                                        "the value is null")
        bad = frame.filter(value.is_not_null() & ~value.str.contains(f"^[0-9]{{1,{f.length}}}$"))
        if bad.height:
            raise ZenginWriteFieldError(file, int(bad["record_no"][0]), f.title, f"1–{f.length} digits{blank_ok}",
                                        "the value is not digits, or too long")
        return
    text = value.fill_null("")
    bad = frame.filter(~text.str.contains(f"^[{kana.text_class}]*$"))
    if bad.height:
        row = bad.row(0, named=True)
        position, char = next((p, c) for p, c in enumerate(row[f.id], 1) if c not in kana.text_allowed)
        raise ZenginWriteCharacterError(file, int(row["record_no"]), f.title,
                                        "half-width kana, digits, upper-case letters, space and ( ) - . / only",
                                        f"character {position} of the text is {_char_problem(char)}")
    bad = frame.filter(text.str.len_chars() > f.length)
    if bad.height:
        length = len(bad.row(0, named=True)[f.id])
        raise ZenginWriteCharacterError(file, int(bad["record_no"][0]), f.title, f"at most {f.length} characters",
                                        f"the text has {length} characters")
