"""Parse the CP932 CSV document formats (給与支払報告書, 総括表, 公的年金等支払報告書, 住民税申告書,
申告特例通知書) into typed rows; malformed records go to a quarantine frame with a reason.

Entry point: :func:`parse_csv_document` (bytes of one file in, :class:`ParsedCsv` out). Pure: no file
I/O, no clock; the caller reads the bytes and writes the frames.

Dialect
-------
Taken from ``contracts/layouts/<format>.yaml`` (``wire``), never sniffed: encoding ``cp932``, the
layout's delimiter and newline (CRLF), minimal quoting with ``"`` (doubled inside a quoted field), no
header. A quoted field may contain the delimiter, a quote or a line break; such a record spans several
physical lines and its ``record_no`` is the line number of its first line (otherwise ``record_no`` is
simply the 1-based line number, which is what ``truth/documents.parquet`` counts).

Decoding is per line: the whole file is decoded at once when it is valid CP932; otherwise each line is
decoded on its own and a line with invalid bytes is quarantined (``invalid_encoding``) while the rest of
the file still loads. Records without quotes are split with Polars string expressions over the whole
file; only records that contain a quote go through Python's :mod:`csv` module.

Checks and quarantine reasons
-----------------------------
One reason per quarantined record: the first that applies in :data:`REASONS` order, and within a
reason the first field in layout order.

1. ``invalid_encoding``       the line is not valid CP932
2. ``wrong_field_count``      not ``wire.field_count`` fields (or broken quoting)
3. ``empty_mandatory_field``  a ``required`` field is empty (spaces only counts as empty)
4. ``over_width_field``       more characters than the layout ``width`` (numbers: after normalising)
5. ``non_numeric_amount``     an ``amount``/``count`` field is not digits (a leading minus only on 所得
                              amounts, ids ``*_income``, which may be a loss, and where the layout note
                              says the amount may be negative)
6. ``unknown_era_code``       a 元号 code outside the layout's ``era_codes``
7. ``impossible_date``        a date that does not exist: bad month/day, or outside its era's span
8. ``bad_submission_type``    提出区分 outside the layout's ``submission_types``
9. ``bad_code``               a ``code`` outside ``allowed``, a flag other than "", "0", "1", or an
                              identifier (団体コード, 法人番号, 郵便番号, digits) of the wrong form or check digit
10. ``bad_my_number_check_digit`` a non-empty 個人番号 that is not 12 digits with a valid check digit
                              (平成26年総務省令第85号 第5条); an empty one is allowed and flagged
                              ``my_number_missing``

Reasons 3-10 hold (quarantine) a record only when the field is required or its layout entry says
``on_invalid: hold`` (a matching key, record key, tax-basis or collection field; see
:mod:`contracts.layouts`). In an ``on_invalid: warn`` field the same problems are **warnings**: the value
is set to null (a date's whole yy/mm/dd group with it), the record is typed and returned, and
``ParsedCsv.warnings`` gets one row per (record, field) with the same columns as the quarantine (the
first reason of the field in the order above). A quarantined record gets no warning rows.

Messages name the file, record number, field (項目名 and id) and what was expected; they never echo a
field value (no My Number, no name).

Typed columns (besides every layout field as a string column named by its ``id``)
----------------------------------------------------------------------------------
* ``<id>_yen`` (Int64) for ``amount`` fields, ``<id>_count`` (Int64) for ``count`` fields: full-width
  digits and spaces normalised (digits only — text fields are never normalised); empty = 0
  (``wire.blank_means_zero``).
* ``<stem>_on`` (Date) for every date: 法定調書 era code + yy/mm/dd groups (``birth_era`` +
  ``birth_year/month/day`` → ``birth_on``) and Gregorian ``YYYYMMDD`` fields (``birth_date`` →
  ``birth_on``, ``submitted_date`` → ``submitted_on``). Era codes are those of the 法定調書 system
  (docs/sources.md F1.5: 1 昭和, 2 大正, 3 明治, 4 平成, 5 令和 — not the e-Tax order). The 中途就・退職 date of
  the salary report has no era field: it lies in the income year, so it is read as 令和.
  Other era-less yy/mm/dd groups (前職 退職日, 住宅 居住開始日) are checked (month 1-12, a day that exists in
  that month) but not typed.
* ``submission_type_label`` (新規 / 追加 / 訂正 / 取消), ``my_number_missing`` (Boolean; null when the
  layout has no 個人番号 field), ``gaiji_flag`` (Boolean: the record contains 〓, a private-use character
  or a CP932 vendor-extension character, i.e. something outside JIS X 0208; the record is kept).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from dataclasses import dataclass
from typing import Any

import polars as pl

from contracts.identifiers import (
    corporate_number_is_valid,
    local_government_code_is_valid,
    my_number_is_valid,
)
from contracts.layouts import CSV_FORMATS, LayoutError, load_layout, on_invalid

__all__ = [
    "REASONS",
    "QUARANTINE_SCHEMA",
    "ERA_SPANS",
    "ParsedCsv",
    "parse_csv_document",
    "parse_csv_documents",
]

REASONS: tuple[str, ...] = (
    "invalid_encoding",
    "wrong_field_count",
    "empty_mandatory_field",
    "over_width_field",
    "non_numeric_amount",
    "unknown_era_code",
    "impossible_date",
    "bad_submission_type",
    "bad_code",
    "bad_my_number_check_digit",
)

QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "file": pl.String(),
    "record_no": pl.Int64(),
    "field": pl.String(),
    "reason_code": pl.String(),
    "message": pl.String(),
}

# 法定調書 era codes (docs/sources.md F1.5) -> (first day, last day). 令和 is open-ended.
ERA_SPANS: dict[str, tuple[dt.date, dt.date | None]] = {
    "3": (dt.date(1868, 10, 23), dt.date(1912, 7, 29)),  # 明治
    "2": (dt.date(1912, 7, 30), dt.date(1926, 12, 24)),  # 大正
    "1": (dt.date(1926, 12, 25), dt.date(1989, 1, 7)),  # 昭和
    "4": (dt.date(1989, 1, 8), dt.date(2019, 4, 30)),  # 平成
    "5": (dt.date(2019, 5, 1), None),  # 令和
}
_REIWA = "5"
_NEWLINES = {"CRLF": "\r\n", "LF": "\n", "CR": "\r"}
_QUOTE = '"'
_SPACES = r"[ \u3000]"
_FW_DIGITS = [chr(0xFF10 + i) for i in range(10)] + ["－", "\u2212"]
_ASCII_DIGITS = [str(i) for i in range(10)] + ["-", "-"]
_TEXT_TYPES = frozenset({"text", "text_fullwidth", "kana_halfwidth", "kana_fullwidth", "ascii", "relatives"})
_NUMERIC_TYPES = frozenset({"amount", "count", "era_code", "yy", "mm", "dd", "date"})
_IDENTIFIER_FORMS = {"municipality_code": 6, "corporate_number": 13, "postal_code": 7}


@dataclass(frozen=True)
class ParsedCsv:
    """The typed records of one file, its quarantined records and the warnings of the staged ones
    (both with the columns of :data:`QUARANTINE_SCHEMA`).

    ``records.height + quarantine.height`` is the number of records received in the file; a warning
    does not change that (its record is among ``records``).
    """

    records: pl.DataFrame
    quarantine: pl.DataFrame
    warnings: pl.DataFrame
    relatives: pl.DataFrame  # one row per '(個人番号)氏名' entry of a ``relatives`` field (RELATIVES_SCHEMA)


# ------------------------------------------------------------------------------------ layout plan
@dataclass(frozen=True)
class _DateGroup:
    name: str  # typed column
    era: str | None  # era field id, or a fixed era code prefixed "=" (era-less group read as 令和)
    parts: tuple[str, ...]  # (yy, mm, dd) field ids, or (yyyymmdd,) for a Gregorian date
    typed: bool


@dataclass(frozen=True)
class _Plan:
    fmt: str
    fields: tuple[dict[str, Any], ...]
    ids: tuple[str, ...]
    field_count: int
    delimiter: str
    newline: str
    encoding: str
    era_codes: tuple[str, ...]
    submission_field: str | None
    submission_types: dict[str, str]
    dates: tuple[_DateGroup, ...]
    my_number_field: str | None
    relative_fields: tuple[dict[str, Any], ...]  # type ``relatives``: parsed into entries, not kept as text
    warn_fields: frozenset[str]  # optional fields whose invalid value is set to null with a warning
    null_with: dict[str, tuple[str, ...]]  # warn field → the fields set to null with it (a date group's parts)


@functools.cache
def _plan(fmt: str) -> _Plan:
    if fmt not in CSV_FORMATS:
        raise ValueError(f"{fmt!r} is not a CSV document format; expected one of {', '.join(CSV_FORMATS)}")
    layout = load_layout(fmt)
    wire = layout["wire"]
    fields = tuple(layout["fields"])
    newline = str(wire["newline"]).split()[0].upper()
    if newline not in _NEWLINES:
        raise ValueError(f"contracts/layouts/{fmt}.yaml: unknown newline {wire['newline']!r}")
    return _Plan(
        fmt=fmt,
        fields=fields,
        ids=tuple(f["id"] for f in fields),
        field_count=int(wire["field_count"]),
        delimiter=str(wire["delimiter"]),
        newline=_NEWLINES[newline],
        encoding=str(wire["encoding"]),
        era_codes=tuple(k for k in layout.get("era_codes", {}) if k != "system"),
        submission_field=layout.get("submission_type_field"),
        submission_types={str(k): v for k, v in layout.get("submission_types", {}).items()},
        dates=(dates := _date_groups(fields)),
        my_number_field=next((f["id"] for f in fields if f["type"] == "my_number"), None),
        relative_fields=tuple(f for f in fields if f["type"] == "relatives"),
        warn_fields=frozenset(f["id"] for f in fields if on_invalid(fmt, f["id"]) == "warn"),
        null_with=_null_with(fmt, fields, dates),
    )


def _null_with(fmt: str, fields: tuple[dict[str, Any], ...], dates: tuple[_DateGroup, ...]) -> dict[str, tuple[str, ...]]:
    """A date group is one value: its parts (and its era field) share one decision, and an invalid date
    empties all of them. Any other warn field empties only itself."""
    out = {f["id"]: (f["id"],) for f in fields if on_invalid(fmt, f["id"]) == "warn"}
    for group in dates:
        members = (*([group.era] if group.era and not group.era.startswith("=") else []), *group.parts)
        decisions = {on_invalid(fmt, m) for m in members}
        if len(decisions) > 1:
            raise LayoutError(f"contracts/layouts/{fmt}.yaml: the date parts {', '.join(members)} must share one "
                              "on_invalid decision")
        if decisions == {"warn"}:
            for m in members:
                out[m] = members
    return out


def _date_groups(fields: tuple[dict[str, Any], ...]) -> tuple[_DateGroup, ...]:
    """yy/mm/dd runs (with the era field just before, if any) and Gregorian ``date`` fields."""
    groups = []
    for i, f in enumerate(fields):
        if f["type"] == "date":
            stem = f["id"][: -len("_date")] if f["id"].endswith("_date") else f["id"]
            groups.append(_DateGroup(f"{stem}_on", None, (f["id"],), True))
        elif (
            f["type"] == "yy"
            and i + 2 < len(fields)
            and fields[i + 1]["type"] == "mm"
            and fields[i + 2]["type"] == "dd"
        ):
            name = f["id"].replace("_year", "") + "_on"
            parts = (f["id"], fields[i + 1]["id"], fields[i + 2]["id"])
            if i > 0 and fields[i - 1]["type"] == "era_code":
                groups.append(_DateGroup(name, fields[i - 1]["id"], parts, True))
            elif f["id"].startswith("job_change_"):
                # 中途就・退職: a date inside the income year (年分 is a 令和 year), so read as 令和.
                groups.append(_DateGroup(name, "=" + _REIWA, parts, True))
            else:
                groups.append(_DateGroup(name, None, parts, False))
    return tuple(groups)


@functools.cache
def _gaiji_pattern() -> str:
    """Regex class of characters outside JIS X 0208 that can appear in decoded CP932 text: the geta
    〓 (the writer's substitute), private-use characters (CP932 user-defined rows 0xF0-0xF9) and the
    NEC / IBM vendor extensions (lead bytes 0x87, 0xED-0xEE, 0xFA-0xFC) that are not also JIS X 0208."""
    jis0208: set[str] = set()
    extension: set[str] = set()
    for lead in (*range(0x81, 0xA0), *range(0xE0, 0xFD)):  # double-byte lead bytes only
        for trail in range(0x40, 0xFD):
            try:
                char = bytes((lead, trail)).decode("cp932")
            except UnicodeDecodeError:
                continue
            if len(char) != 1:
                continue
            is_jis = 0x81 <= lead <= 0x84 or 0x88 <= lead <= 0x9F or 0xE0 <= lead <= 0xEA
            (jis0208 if is_jis else extension).add(char)
    chars = sorted((extension - jis0208) - set(chr(c) for c in range(0xE000, 0xF900)))
    escaped = "".join("\\" + c if c in "\\]^-[" else c for c in chars)
    return "[〓\ue000-\uf8ff" + escaped + "]"


# ------------------------------------------------------------------------------------ decoding
def _decode_lines(data: bytes, plan: _Plan) -> pl.DataFrame:
    """One row per physical line: ``line_no``, ``text`` (null when not valid CP932), ``bad_field``
    (0-based column of the first invalid byte, for the message)."""
    newline = plan.newline.encode("ascii")
    if newline == b"\r\n" and b"\n" in data and b"\r\n" not in data:
        newline = b"\n"  # LF line ends where the layout says CRLF: read line by line all the same (see line_ends)
    if data.endswith(newline):
        data = data[: -len(newline)]
    if not data:
        return pl.DataFrame(schema={"line_no": pl.Int64, "text": pl.String, "bad_field": pl.Int64})
    try:
        texts: list[str | None] = data.decode(plan.encoding).split(newline.decode("ascii"))
        bad: list[int | None] = [None] * len(texts)
    except UnicodeDecodeError:
        texts, bad = [], []
        delimiter = plan.delimiter.encode("ascii")
        for raw in data.split(newline):  # fallback: per-line decode (CP932 trail bytes are never CR/LF/',')
            try:
                texts.append(raw.decode(plan.encoding))
                bad.append(None)
            except UnicodeDecodeError as error:
                texts.append(None)
                bad.append(raw[: error.start].count(delimiter))
    return pl.DataFrame(
        {"line_no": range(1, len(texts) + 1), "text": texts, "bad_field": bad},
        schema={"line_no": pl.Int64, "text": pl.String, "bad_field": pl.Int64},
    )


def line_ends(data: bytes, fmt: str) -> str | None:
    """A sentence for the run report when a file's line ends differ from its layout's (LF where the layout
    says CRLF: the file is read line by line all the same), else ``None``. Never quotes the content."""
    plan = _plan(fmt)
    if plan.newline == "\r\n" and b"\n" in data and b"\r\n" not in data:
        return "uses LF line ends where the layout says CRLF; it was read line by line all the same"
    return None


def _join_quoted_lines(lines: pl.DataFrame, newline: str) -> pl.DataFrame:
    """Physical lines -> records: a line with an odd number of quotes opens a quoted field that the next
    such line closes; the lines in between belong to the same record. An opener never closed stays a
    record of its own (it fails the field count), and so do the lines after it."""
    odd = (pl.col("text").str.count_matches(_QUOTE, literal=True) % 2 == 1).fill_null(False)
    lines = lines.with_columns(odd.alias("_odd"))
    if not lines.get_column("_odd").any():
        return lines.drop("_odd").rename({"line_no": "record_no"})
    lines = lines.with_columns((pl.col("_odd").cast(pl.Int64).cum_sum() - pl.col("_odd").cast(pl.Int64)).alias("_before"))
    total = int(lines.get_column("_odd").sum())
    unclosed_from = None
    if total % 2 == 1:
        unclosed_from = int(lines.filter(pl.col("_odd")).get_column("line_no").max())
    start = pl.col("_before") % 2 == 0
    if unclosed_from is not None:
        start = start | (pl.col("line_no") >= unclosed_from)
    return (
        lines.with_columns(start.cast(pl.Int64).cum_sum().alias("_record"))
        .group_by("_record", maintain_order=True)
        .agg(
            pl.col("line_no").min().alias("record_no"),
            pl.when(pl.col("text").is_null().any()).then(pl.lit(None, pl.String))
            .otherwise(pl.col("text").str.join(newline)).alias("text"),
            pl.col("bad_field").drop_nulls().first().alias("bad_field"),
        )
        .drop("_record")
    )


def _csv_split(texts: list[str], delimiter: str) -> list[list[str] | None]:
    """Python csv for the (few) records that contain a quote; broken quoting gives None."""
    out: list[list[str] | None] = []
    for text in texts:
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=_QUOTE, strict=True))
        except csv.Error:
            out.append(None)
            continue
        out.append(rows[0] if len(rows) == 1 else None)
    return out


def _split(records: pl.DataFrame, plan: _Plan) -> pl.DataFrame:
    """Adds ``_fields`` (list of strings; null for undecodable or broken-quoting records) and ``_n``."""
    text = pl.col("text")
    records = records.with_columns(
        text.str.contains(_QUOTE, literal=True).fill_null(False).alias("_quoted"),
        text.str.split(plan.delimiter).alias("_fields"),
    )
    quoted = records.filter(pl.col("_quoted"))
    if quoted.height:
        parsed = pl.Series("_csv", _csv_split(quoted.get_column("text").to_list(), plan.delimiter), dtype=pl.List(pl.String))
        quoted = quoted.select("file", "record_no", parsed)
        records = records.join(quoted, on=["file", "record_no"], how="left", validate="1:1", maintain_order="left").with_columns(
            pl.when(pl.col("_quoted")).then(pl.col("_csv")).otherwise(pl.col("_fields")).alias("_fields")
        ).drop("_csv")
    return records.with_columns(pl.col("_fields").list.len().alias("_n"))


# ------------------------------------------------------------------------------------ expressions
def _may_be_negative(f: dict[str, Any]) -> bool:
    """A 所得 amount (id ``*_income``) may be a loss, and so may a field whose layout note says so;
    收入/支払 amounts, premiums and counts may not."""
    return f["type"] == "amount" and (f["id"].endswith("_income") or "negative" in str(f.get("note", "")))


def _digits_only(expr: pl.Expr) -> pl.Expr:
    """Full-width digits (and minus) to ASCII, spaces removed: NFKC restricted to digits, for numbers only."""
    return expr.str.replace_many(_FW_DIGITS, _ASCII_DIGITS).str.replace_all(_SPACES, "")


def _is_empty(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_all(_SPACES, "") == ""


def _first(pairs: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """Id of the first field (layout order) whose condition holds, else null."""
    if not pairs:
        return pl.lit(None, pl.String)
    return pl.coalesce([pl.when(cond.fill_null(False)).then(pl.lit(fid)) for fid, cond in pairs])


def _era_date(era: pl.Expr, yy: pl.Expr, mm: pl.Expr, dd: pl.Expr) -> pl.Expr:
    """Date from a 法定調書 era code and 和暦 year/month/day strings (normalised); null if it does not
    exist or falls outside the era's span (e.g. 令和1年4月30日, 平成31年5月1日, 昭和64年1月8日)."""
    year = yy.str.to_integer(strict=False)
    base = pl.lit(None, pl.Int64)
    low = pl.lit(None, pl.Date)
    high = pl.lit(None, pl.Date)
    for code, (first, last) in ERA_SPANS.items():
        base = pl.when(era == code).then(pl.lit(first.year, pl.Int64)).otherwise(base)
        low = pl.when(era == code).then(pl.lit(first)).otherwise(low)
        high = pl.when(era == code).then(pl.lit(last or dt.date(9999, 12, 31))).otherwise(high)
    date = _ymd_date((base + year - 1).cast(pl.String).str.zfill(4), mm, dd)
    return pl.when((year >= 1) & (date >= low) & (date <= high)).then(date)


def _ymd_date(yyyy: pl.Expr, mm: pl.Expr, dd: pl.Expr) -> pl.Expr:
    ok = yyyy.str.contains(r"^[0-9]{4}$") & mm.str.contains(r"^[0-9]{1,2}$") & dd.str.contains(r"^[0-9]{1,2}$")
    text = pl.concat_str([yyyy, mm.str.zfill(2), dd.str.zfill(2)])
    return pl.when(ok).then(text.str.to_date("%Y%m%d", strict=False))


@functools.cache
def _problems(fmt: str) -> tuple[tuple[str, str, pl.Expr], ...]:
    """Every field-level check of the layout as ``(field id, reason, condition)`` in layout order; a date
    group's check is attributed to its first part."""
    plan = _plan(fmt)
    col = {fid: pl.col(fid) for fid in plan.ids}
    num = {f["id"]: _digits_only(col[f["id"]]) for f in plan.fields if f["type"] in _NUMERIC_TYPES}
    empty = {fid: _is_empty(col[fid]) for fid in plan.ids}
    out: list[tuple[str, str, pl.Expr]] = []
    for f in plan.fields:
        fid, ftype = f["id"], f["type"]
        value = col[fid]
        if f["required"]:
            out.append((fid, "empty_mandatory_field", empty[fid]))
        out.append((fid, "over_width_field", (num.get(fid, value)).str.len_chars() > int(f["width"])))
        if ftype in ("amount", "count"):
            pattern = r"^-?[0-9]+$" if _may_be_negative(f) else r"^[0-9]+$"
            out.append((fid, "non_numeric_amount", ~(num[fid] == "") & ~num[fid].str.contains(pattern)))
        elif ftype == "era_code":
            out.append((fid, "unknown_era_code", ~(num[fid] == "") & ~num[fid].is_in(list(plan.era_codes))))
        elif ftype in ("yy", "mm") and not any(fid in g.parts for g in plan.dates):
            limit = r"^[0-9]{1,2}$"
            bad = ~num[fid].str.contains(limit)
            if ftype == "mm":
                month = num[fid].str.to_integer(strict=False)
                bad = bad | (month < 1) | (month > 12)
            out.append((fid, "impossible_date", ~(num[fid] == "") & bad))
        elif fid == plan.submission_field:
            out.append((fid, "bad_submission_type", ~value.is_in(list(plan.submission_types))))
        elif ftype == "code":
            allowed = [str(a) for a in f.get("allowed", [])]
            out.append((fid, "bad_code", ~(value == "") & ~value.is_in(allowed)))
        elif ftype == "flag":
            out.append((fid, "bad_code", ~value.is_in(["", "0", "1"])))
        elif ftype in _IDENTIFIER_FORMS or ftype == "digits":
            form = r"^[0-9]+$" if ftype == "digits" else rf"^[0-9]{{{_IDENTIFIER_FORMS[ftype]}}}$"
            bad = ~value.str.contains(form)
            if ftype == "municipality_code":
                bad = bad | ~local_government_code_is_valid(value)
            elif ftype == "corporate_number":
                bad = bad | ~corporate_number_is_valid(value)
            out.append((fid, "bad_code", ~(value == "") & bad))
        elif ftype == "my_number":
            out.append((fid, "bad_my_number_check_digit", ~(value == "") & ~my_number_is_valid(value)))
        for group in plan.dates:
            if group.parts[0] == fid:
                out.append((fid, "impossible_date", _date_invalid(group, num)))
    return tuple(out)


@functools.cache
def _checks(fmt: str) -> dict[str, pl.Expr]:
    """Per field-level reason, an expression giving the first failing field id (or null), over the
    fields whose invalid value holds the record (required fields and ``on_invalid: hold``)."""
    plan = _plan(fmt)
    order = {fid: i for i, fid in enumerate(plan.ids)}
    checks = {}
    for reason in REASONS[2:]:
        pairs = [(fid, cond) for fid, r, cond in _problems(fmt) if r == reason and fid not in plan.warn_fields]
        checks[reason] = _first(sorted(pairs, key=lambda pair: order[pair[0]]))
    return checks


@functools.cache
def _warn_checks(fmt: str) -> dict[str, pl.Expr]:
    """Per ``on_invalid: warn`` field that can fail a check: the first failing reason (REASONS order) or null."""
    plan = _plan(fmt)
    by_field: dict[str, list[tuple[str, pl.Expr]]] = {}
    for fid, reason, cond in _problems(fmt):
        if fid in plan.warn_fields:
            by_field.setdefault(fid, []).append((reason, cond))
    return {
        fid: pl.coalesce([
            pl.when(cond.fill_null(False)).then(pl.lit(reason))
            for reason, cond in sorted(pairs, key=lambda pair: REASONS.index(pair[0]))
        ])
        for fid, pairs in by_field.items()
    }


def _group_date(group: _DateGroup, num: dict[str, pl.Expr]) -> pl.Expr:
    if len(group.parts) == 1:
        value = num[group.parts[0]]
        return pl.when(value.str.contains(r"^[0-9]{8}$")).then(value.str.to_date("%Y%m%d", strict=False))
    yy, mm, dd = (num[p] for p in group.parts)
    if group.era is None:  # era unknown: any year; 2000 is a leap year, so 2月29日 is accepted
        return pl.when(yy.str.contains(r"^[0-9]{1,2}$")).then(_ymd_date(pl.lit("2000"), mm, dd))
    era = pl.lit(group.era[1:]) if group.era.startswith("=") else num[group.era]
    return _era_date(era, yy, mm, dd)


def _group_present(group: _DateGroup, num: dict[str, pl.Expr]) -> pl.Expr:
    return pl.any_horizontal([num[p] != "" for p in group.parts])


def _date_invalid(group: _DateGroup, num: dict[str, pl.Expr]) -> pl.Expr:
    """The group has a value but no existing date (an unknown era code is reported before, not here)."""
    return _group_present(group, num) & _group_date(group, num).is_null()


# ------------------------------------------------------------------------------------ messages
_PROBLEM = {
    "empty_mandatory_field": "is empty",
    "over_width_field": "is longer than its layout width",
    "non_numeric_amount": "is not a whole number of yen in digits",
    "unknown_era_code": "holds an era code outside the 法定調書 code list",
    "impossible_date": "does not give a date that exists",
    "bad_submission_type": "holds an unknown 提出区分",
    "bad_code": "holds a value outside the layout's code list or form",
    "bad_my_number_check_digit": "is not a valid 個人番号",
}


def _expected(reason: str, f: dict[str, Any], plan: _Plan) -> str:
    ftype = f["type"]
    if reason == "empty_mandatory_field":
        return "a value (the field is mandatory)"
    if reason == "over_width_field":
        return f"at most {f['width']} characters"
    if reason == "non_numeric_amount":
        sign = "an optional leading minus and " if _may_be_negative(f) else ""
        return f"{sign}digits only (empty means 0)"
    if reason == "unknown_era_code":
        return "one of 1 昭和, 2 大正, 3 明治, 4 平成, 5 令和 (docs/sources.md F1.5)"
    if reason == "impossible_date":
        if ftype == "date":
            return "a Gregorian date YYYYMMDD that exists"
        if ftype == "era_code" or ftype == "yy":
            return "a 和暦 year, month and day that exist within the era (e.g. 令和 starts on 2019-05-01)"
        return "a month 01-12 and a day that exists in that month"
    if reason == "bad_submission_type":
        return "one of " + ", ".join(f"{k} {v}" for k, v in plan.submission_types.items())
    if reason == "bad_my_number_check_digit":
        return "12 digits with the check digit of 平成26年総務省令第85号 第5条, or an empty field"
    if ftype == "flag":
        return '"1", "0" or empty'
    if ftype == "code":
        return "one of " + ", ".join(str(a) for a in f.get("allowed", [])) + ("" if f["required"] else " or empty")
    if ftype == "municipality_code":
        return "6 digits with a valid 全国地方公共団体コード check digit"
    if ftype == "corporate_number":
        return "13 digits with a valid 法人番号 check digit"
    if ftype == "postal_code":
        return "7 digits"
    return "ASCII digits only"


@functools.cache
def _details(fmt: str) -> dict[str, str]:
    """``reason|field`` -> the field part of the message (static: never a value)."""
    plan = _plan(fmt)
    out = {}
    for f in plan.fields:
        label = f"field {f['name_ja']} ({f['id']})"
        for reason, problem in _PROBLEM.items():
            out[f"{reason}|{f['id']}"] = f"{label} {problem}; expected {_expected(reason, f, plan)}"
        out[f"invalid_encoding|{f['id']}"] = f"{label} contains bytes that are not valid CP932; expected CP932 (Shift_JIS) text"
    return out


# ------------------------------------------------------------------------------------ entry point
def parse_csv_document(data: bytes, fmt: str, *, file: str) -> ParsedCsv:
    """Parse one CP932 CSV document file of layout ``fmt`` (see the module docstring).

    ``file`` names the file in records and messages (the path relative to ``landing/``).
    Never raises on record content; raises ``ValueError`` only for a format that is not a CSV layout.
    """
    return parse_csv_documents([(file, data)], fmt)


def parse_csv_documents(files: list[tuple[str, bytes]], fmt: str) -> ParsedCsv:
    """Parse many files of one layout in one vectorised pass (the same result as parsing each with
    :func:`parse_csv_document` and concatenating): per-file work is only decoding and line splitting,
    so thousands of small employer files cost little more than one large file."""
    plan = _plan(fmt)
    empty = pl.DataFrame(schema={"file": pl.String, "record_no": pl.Int64, "text": pl.String, "bad_field": pl.Int64})
    per_file = [
        _join_quoted_lines(_decode_lines(data, plan), plan.newline).select(
            pl.lit(file, pl.String).alias("file"), "record_no", "text", "bad_field")
        for file, data in files
    ]
    records = _split(pl.concat([empty, *per_file], how="vertical", rechunk=True), plan)
    n_ok = (pl.col("_n") == plan.field_count).fill_null(False)
    records = records.with_columns(
        [
            pl.when(n_ok).then(pl.col("_fields").list.get(i, null_on_oob=True)).alias(fid)
            for i, fid in enumerate(plan.ids)
        ]
    ).drop("_fields")  # the split list is as large as all fields together: release it at once
    checks = _checks(fmt)
    records = records.with_columns(**{f"_r_{reason}": expr for reason, expr in checks.items()})
    reason = (
        pl.when(pl.col("text").is_null()).then(pl.lit("invalid_encoding"))
        .when(~n_ok).then(pl.lit("wrong_field_count"))
    )
    field = pl.when(pl.col("text").is_null()).then(
        pl.col("bad_field").replace_strict(dict(enumerate(plan.ids)), default=None, return_dtype=pl.String)
    ).when(~n_ok).then(pl.lit(None, pl.String))
    for name in checks:
        reason = reason.when(pl.col(f"_r_{name}").is_not_null()).then(pl.lit(name))
        field = field.when(pl.col(f"_r_{name}").is_not_null()).then(pl.col(f"_r_{name}"))
    records = records.with_columns(
        reason.otherwise(pl.lit(None, pl.String)).alias("_reason"),
        field.otherwise(pl.lit(None, pl.String)).alias("_field"),
    )
    quarantine = _quarantine(records.filter(pl.col("_reason").is_not_null()), plan)
    good = records.filter(pl.col("_reason").is_null())
    del records  # memory: only the sound records go on to typing
    good, warnings = _warned(good, plan)
    relatives, relative_warnings = _relatives(good, plan)
    warnings = pl.concat([warnings, relative_warnings], how="vertical").sort("file", "record_no", "field")
    return ParsedCsv(records=_typed(good, plan), quarantine=quarantine, warnings=warnings, relatives=relatives)


# ------------------------------------------------------------------------------ 5人目以降の扶養親族
#: One relative named in a ``relatives`` field. ``my_number`` is a valid 個人番号 or null; the caller
#: ties it to a 宛名番号 through the vault and drops it (docs/architecture.md §5).
RELATIVES_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String(), "record_no": pl.Int64(), "field": pl.String(), "entry_no": pl.Int32(),
    "slot": pl.Int32(), "under16": pl.Boolean(), "name_kanji": pl.String(), "my_number": pl.String(),
}
_ENTRY = r"[(（][^()（）]*[)）][^()（）]*"  # '(個人番号)氏名' up to the next '(' (names hold 全角 spaces)
_ENTRY_NUMBER = r"^[(（]([^()（）]*)[)）]"
_BLANKS = r"[\s\u3000]"


def _relatives(good: pl.DataFrame, plan: _Plan) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The entries of every ``relatives`` field of the sound records, vectorised (extract, explode).

    Each '(個人番号)氏名' entry becomes a relative with its position (``slot`` = the layout's
    ``first_slot`` + entry − 1, i.e. 5, 6, … for the 5th and further 扶養親族). What does not fit is a
    warning, never a lost record: a number that is not a valid 個人番号 is dropped (the relative is kept
    by name); an entry without a usable 氏名 (empty, or holding digits) and any text outside the entry
    form are left out. Warnings name the field and the entry (``dependants_5th_plus[2]``), never a value.
    """
    relatives: list[pl.DataFrame] = []
    warnings: list[pl.DataFrame] = []
    for f in plan.relative_fields:
        fid = f["id"]
        label = f"field {f['name_ja']} ({fid})"
        text = good.select("file", "record_no", pl.col(fid).alias("_text")).filter(
            pl.col("_text").is_not_null() & (pl.col("_text").str.replace_all(_BLANKS, "") != ""))
        if not text.height:
            continue
        rest = text.filter(pl.col("_text").str.replace_all(_ENTRY, "").str.replace_all(_BLANKS, "") != "")
        warnings.append(_relative_warning(plan.fmt, rest, pl.lit(fid), "malformed_relative_entry", pl.lit(
            f"{label} holds text that is not in the form (個人番号)氏名 with entries separated by 全角 spaces; expected "
            "that form; that text was left out (a relative it names is not counted)")))
        entries = (
            text.select("file", "record_no", pl.col("_text").str.extract_all(_ENTRY).alias("_entry"))
            .explode("_entry").drop_nulls("_entry")
            .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("file", "record_no").alias("entry_no"))
            .with_columns(
                _digits_only(pl.col("_entry").str.extract(_ENTRY_NUMBER, 1)).alias("_number"),
                pl.col("_entry").str.replace(_ENTRY_NUMBER, "").str.strip_chars(" \u3000").alias("name_kanji"),
            )
        )
        field = pl.format(f"{fid}[{{}}]", pl.col("entry_no"))
        entry = pl.format(f"{label}, entry {{}}", pl.col("entry_no"))
        bad_number = (pl.col("_number") != "") & ~my_number_is_valid(pl.col("_number")).fill_null(False)
        no_name = (pl.col("name_kanji") == "") | pl.col("name_kanji").str.contains(r"[0-9０-９]")
        warnings.append(_relative_warning(plan.fmt, entries.filter(no_name), field, "malformed_relative_entry", pl.format(
            "{} has no usable 氏名 (empty or holding digits); expected (個人番号)氏名; the entry was left out", entry)))
        warnings.append(_relative_warning(plan.fmt, entries.filter(~no_name & bad_number), field, "bad_my_number_check_digit",
                                          pl.format("{} holds a 個人番号 that is not 12 digits with a valid check digit "
                                                    "(平成26年総務省令第85号 第5条); expected a valid 個人番号 or none; the "
                                                    "number was dropped and the relative was kept by name", entry)))
        relatives.append(entries.filter(~no_name).select(
            "file", pl.col("record_no").cast(pl.Int64), pl.lit(fid).alias("field"), "entry_no",
            (pl.col("entry_no") + int(f.get("first_slot", 1)) - 1).cast(pl.Int32).alias("slot"),
            pl.lit(f.get("under16"), pl.Boolean).alias("under16"), "name_kanji",
            pl.when((pl.col("_number") == "") | bad_number).then(pl.lit(None, pl.String))
            .otherwise(pl.col("_number")).alias("my_number"),
        ))
    out = pl.concat([pl.DataFrame(schema=RELATIVES_SCHEMA), *[r.cast(RELATIVES_SCHEMA) for r in relatives]],
                    how="vertical").sort("file", "record_no", "field", "entry_no")
    warned = pl.concat([pl.DataFrame(schema=QUARANTINE_SCHEMA), *warnings], how="vertical")
    return out, warned


def _relative_warning(fmt: str, frame: pl.DataFrame, field: pl.Expr, reason: str, detail: pl.Expr) -> pl.DataFrame:
    return frame.select(
        pl.lit(fmt).alias("source"),
        pl.col("file"), pl.col("record_no").cast(pl.Int64), field.alias("field"), pl.lit(reason).alias("reason_code"),
        pl.format("Input file {}, record {}: {}; the record was staged.", pl.col("file"), pl.col("record_no"), detail)
        .alias("message"),
    )


def _warned(good: pl.DataFrame, plan: _Plan) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Invalid values of ``on_invalid: warn`` fields in the sound records: one warning row per (record,
    field), and the field (with the rest of its date group) set to null. Vectorised: the per-field
    reasons are computed over all records, the warning rows only for the records that have one."""
    checks = _warn_checks(plan.fmt)
    if not checks or not good.height:
        return good, pl.DataFrame(schema=QUARANTINE_SCHEMA)
    flagged = good.select("file", "record_no", **{f"_w_{fid}": expr for fid, expr in checks.items()})
    columns = [f"_w_{fid}" for fid in checks]
    flagged = flagged.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in columns]))
    if not flagged.height:
        return good, pl.DataFrame(schema=QUARANTINE_SCHEMA)
    rows = (
        flagged.unpivot(index=["file", "record_no"], on=columns, variable_name="_field", value_name="_reason")
        .filter(pl.col("_reason").is_not_null())
        .with_columns(pl.col("_field").str.strip_prefix("_w_"))
    )
    details = _details(plan.fmt)
    key = pl.concat_str([pl.col("_reason"), pl.lit("|"), pl.col("_field")])
    warnings = rows.select(
        pl.lit(plan.fmt).alias("source"),
        pl.col("file"),
        pl.col("record_no").cast(pl.Int64),
        pl.col("_field").alias("field"),
        pl.col("_reason").alias("reason_code"),
        pl.format("Input file {}, record {}: {}; the value was set to empty and the record was staged.",
                  pl.col("file"), pl.col("record_no"), key.replace_strict(details, default=None, return_dtype=pl.String))
        .alias("message"),
    ).sort("file", "record_no", "field")
    # Which fields to empty, per record: a warned field and, for a date, the rest of its group.
    emptied = {m for fid in checks for m in plan.null_with[fid]}
    good = good.join(flagged, on=["file", "record_no"], how="left", validate="1:1", maintain_order="left")
    clear = {
        m: pl.any_horizontal([pl.col(f"_w_{fid}").is_not_null() for fid in checks if m in plan.null_with[fid]])
        for m in emptied
    }
    good = good.with_columns(
        [pl.when(cond.fill_null(False)).then(pl.lit(None, pl.String)).otherwise(pl.col(m)).alias(m)
         for m, cond in clear.items()]
    ).drop(columns)
    return good, warnings


def _quarantine(bad: pl.DataFrame, plan: _Plan) -> pl.DataFrame:
    details = _details(plan.fmt)
    key = pl.concat_str([pl.col("_reason"), pl.lit("|"), pl.col("_field")])
    detail = (
        pl.when(pl.col("_reason") == "wrong_field_count").then(
            pl.when(pl.col("_n").is_null())
            .then(pl.lit(f"the quoting is broken (an unclosed or misplaced {_QUOTE}); expected {plan.field_count} fields"))
            .otherwise(pl.format(f"the record has {{}} fields; expected {plan.field_count} fields separated by '{plan.delimiter}'", pl.col("_n")))
        )
        .when((pl.col("_reason") == "invalid_encoding") & pl.col("_field").is_null())
        .then(pl.lit("the line contains bytes that are not valid CP932; expected CP932 (Shift_JIS) text"))
        .otherwise(key.replace_strict(details, default=None, return_dtype=pl.String))
    )
    return bad.select(
        pl.lit(plan.fmt).alias("source"),
        pl.col("file"),
        pl.col("record_no").cast(pl.Int64),
        pl.col("_field").alias("field"),
        pl.col("_reason").alias("reason_code"),
        pl.format("Input file {}, record {}: {}.", pl.col("file"), pl.col("record_no"), detail).alias("message"),
    ).sort("file", "record_no")


def _typed(good: pl.DataFrame, plan: _Plan) -> pl.DataFrame:
    return good.select(pl.col("file"), pl.col("record_no").cast(pl.Int64), *_typed_exprs(plan.fmt)).sort("file", "record_no")


@functools.cache
def _typed_exprs(fmt: str) -> tuple[pl.Expr, ...]:
    """The layout fields as strings, then the typed columns (see the module docstring)."""
    plan = _plan(fmt)
    num = {f["id"]: _digits_only(pl.col(f["id"])) for f in plan.fields if f["type"] in _NUMERIC_TYPES}
    typed: list[pl.Expr] = []
    for f in plan.fields:
        if f["type"] in ("amount", "count"):
            suffix = "_yen" if f["type"] == "amount" else "_count"
            value = num[f["id"]]
            typed.append(
                pl.when(value == "").then(pl.lit(0, pl.Int64)).otherwise(value.str.to_integer(strict=False).cast(pl.Int64))
                .alias(f["id"] + suffix)
            )
    typed += [_group_date(g, num).alias(g.name) for g in plan.dates if g.typed]
    if plan.submission_field:
        typed.append(
            pl.col(plan.submission_field)
            .replace_strict(plan.submission_types, default=None, return_dtype=pl.String)
            .alias("submission_type_label")
        )
    if plan.my_number_field:
        typed.append((pl.col(plan.my_number_field) == "").fill_null(True).alias("my_number_missing"))
    else:
        typed.append(pl.lit(None, pl.Boolean).alias("my_number_missing"))
    typed.append(pl.col("text").str.contains(_gaiji_pattern()).fill_null(False).alias("gaiji_flag"))
    kept = [fid for fid in plan.ids if fid not in {f["id"] for f in plan.relative_fields}]
    return (*[pl.col(fid) for fid in kept], *typed)
