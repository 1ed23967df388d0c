"""The 1 January resident snapshot as pure transformations (no I/O, no clock, no globals).

Input: for each source (``resident_registry``, ``my_number``, ``livelihood_assistance``,
``disability``) a frame of raw lines ``file, record_no, line`` (see :func:`decode_lines`), plus the
fiscal year and the run id. Output (:class:`SnapshotResult`): the staged frames, the vault frame, the
quarantine and per-file counts. Every received record ends up in exactly one of: a staged frame
(directly, or aggregated into ``disability_status``), or the quarantine.

Parsing follows the layouts in ``contracts/layouts`` (UTF-8, comma, ``"`` quoting per RFC 4180, one
record per LF-terminated line, header checked by the caller). Lines without a quote character are
split vectorised; lines with quotes are checked against the RFC 4180 grammar (vectorised) and the
sound ones parsed together by Polars' CSV reader with the explicit dialect.
A record spread over several lines (a quoted line break) is not allowed by the layout: each of its
lines is quarantined as ``broken_quoting``.

Legal rules implemented here
----------------------------
**Resident on the assessment date (賦課期日).** 個人住民税 of fiscal year N is levied on those who
have their 住所 in the ward on 1 January N (地方税法第39条 / 第318条: 賦課期日 is 1 January), and a
person recorded in the ward's 住民基本台帳 is the person who has a 住所 there (地方税法第24条第2項 /
第294条第2項). So ``resident_on_assessment_date`` is "recorded in the registry on 1 January N":

    became_resident_date <= 1 January N  and  (no removal  or  removal_date > 1 January N)

*Boundary:* a removal (消除) dated 1 January N takes effect on that day: a person who moved out (転出)
on 1 January already has the new address on the assessment date, and a person who died on 1 January
is not alive on it; neither is resident on the assessment date. (Practice: "1月2日以降に死亡した方
には課税されます" — death on 1 January means no levy.) Symmetrically, a person who became resident on
1 January (birth or 転入 that day) *is* resident on it. Removals after 1 January (if an extract
contains them) do not change residence on 1 January.

**Age on the assessment date.** 年齢計算ニ関スル法律 with 民法第143条: age is counted from the day of
birth and a person reaches a new age at the end of the day *before* the birthday. So on 1 January N a
person born on 2 January has already reached the new age: ``age = N − birth_year − (1 if
(birth_month, birth_day) > (1, 2) else 0)``. Null for a person born after 1 January N.

**特別障害者 by grade.** 所得税法施行令第10条第2項 (followed for the resident tax by 地方税法第292条
第1項第11号 and 地方税法施行令第7条の15の7): 身体障害者手帳 1級・2級, 精神障害者保健福祉手帳 1級, and
a judgement of severe intellectual disability (療育手帳 A). The delivered ``special`` flag may add
other grounds; the staged flag is the union.

(Legal wording was not checked against e-Gov here; verify before quoting it officially.)
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import polars as pl

from contracts.resident_snapshot import OPTIONAL_SOURCES, REASON_CODES, SOURCES, Layout, LayoutField, load_layout

LINES_SCHEMA: dict[str, pl.DataType] = {"file": pl.String(), "record_no": pl.Int64(), "line": pl.String()}

# RFC 4180 grammar of one record without line breaks: fields separated by commas, each either
# quoted (with "" for a quote) or free of commas and quotes.
_QUOTED_LINE = r'^(?:"(?:[^"]|"")*"|[^,"]*)(?:,(?:"(?:[^"]|"")*"|[^,"]*))*$'
_CONTROL = r"[\x00-\x1F\x7F]"

# First field of a line that could not be split (for a wrong field count, usually still the key):
# used only to say "held in quarantine" rather than "unknown" for the 宛名番号 it names.
_LEAD = pl.col("line").str.extract(r'^"?([^,"]*)', 1).alias("_lead")

MY_NUMBER_MASK = "*********"  # nine stars + the last 3 characters: enough to compare, not to use

FIELD_LEVEL_CODES = ("missing_required", "bad_format", "bad_date", "bad_code", "bad_check_digit")
WARNING_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(), "file": pl.String(), "record_no": pl.Int64(), "field": pl.String(),
    "reason_code": pl.String(), "message": pl.String(), "run_id": pl.String(),
}


def assessment_date(fiscal_year: int) -> date:
    """賦課期日 of fiscal year N: 1 January N (地方税法第39条・第318条)."""
    return date(fiscal_year, 1, 1)


# ------------------------------------------------------------------------------------------ decoding


@dataclass(frozen=True)
class DecodedFile:
    header: str | None  # None when the file is empty or its first line is not UTF-8
    lines: pl.DataFrame  # file, record_no (line number, header = 1), line (null: not UTF-8)
    had_bom: bool
    empty: bool


def decode_lines(data: bytes, file: str) -> DecodedFile:
    """Split a file's bytes into its header and one row per following line (LF; a final LF ends the
    last line). Lines that are not valid UTF-8 get ``line = null`` so they can be quarantined."""
    had_bom = data.startswith(b"\xef\xbb\xbf")
    if had_bom:
        data = data[3:]
    if not data:
        return DecodedFile(None, pl.DataFrame(schema=LINES_SCHEMA), had_bom, True)
    if not data.endswith(b"\n"):
        data += b"\n"
    try:
        data.decode("utf-8")  # validation only (fast, in C); the common case
    except UnicodeDecodeError:
        pieces = [_decode_or_none(piece) for piece in data[:-1].split(b"\n")]
        lines = pl.Series("line", pieces, dtype=pl.String)
    else:
        lines = _split_valid_utf8(data)
    header = lines[0]
    body = lines.slice(1)
    frame = pl.DataFrame({"line": body}).select(
        pl.lit(file, pl.String).alias("file"),
        pl.int_range(2, body.len() + 2, dtype=pl.Int64).alias("record_no"),
        pl.col("line"),
    )
    return DecodedFile(header, frame, had_bom, False)


def _split_valid_utf8(data: bytes) -> pl.Series:
    """LF-terminated, valid UTF-8 bytes → one string per line, without copying line by line:
    the newline offsets (numpy) become the offsets of an Arrow string array over the same bytes."""
    import numpy as np
    import pyarrow as pa

    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A) + 1
    offsets = np.concatenate([np.zeros(1, dtype=np.int64), ends.astype(np.int64)])
    array = pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    return pl.Series("line", pl.from_arrow(array)).str.strip_suffix("\n")


def _decode_or_none(piece: bytes) -> str | None:
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError:
        return None


def parse_header(header: str) -> list[str] | None:
    """Column names of a header line, or None if its quoting is broken."""
    try:
        rows = list(csv.reader([header], strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


# ------------------------------------------------------------------------------------ field splitting


def split_fields(lines: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    """One column per layout field (String; empty → null) plus ``_reason`` (structural reason code
    or null), ``_detail`` (the field count of a wrong-count line) and ``_lead`` (the first field of
    a line that could not be split, else null)."""
    names = layout.names
    width = len(names)
    classified = lines.with_columns(
        pl.when(pl.col("line").is_null()).then(pl.lit("undecodable_bytes"))
        .when(pl.col("line").str.contains(_CONTROL)).then(pl.lit("control_character"))
        .otherwise(pl.lit(None, pl.String))
        .alias("_reason"),
        pl.col("line").str.contains('"', literal=True).fill_null(False).alias("_quoted"),
    )
    null_fields = [pl.lit(None, pl.String).alias(n) for n in names]
    base = ["file", "record_no"]

    bad = classified.filter(pl.col("_reason").is_not_null()).select(
        *base, pl.col("_reason"), pl.lit(None, pl.String).alias("_detail"), _LEAD, *null_fields
    )

    plain = classified.filter(pl.col("_reason").is_null() & ~pl.col("_quoted")).with_columns(
        pl.col("line").str.split(",").alias("_parts")
    )
    plain_count = pl.col("_parts").list.len()
    plain = plain.select(
        *base,
        pl.when(plain_count != width).then(pl.lit("wrong_field_count")).otherwise(pl.lit(None, pl.String)).alias("_reason"),
        pl.when(plain_count != width).then(plain_count.cast(pl.String)).otherwise(pl.lit(None, pl.String)).alias("_detail"),
        pl.when(plain_count != width).then(pl.col("_parts").list.first()).otherwise(pl.lit(None, pl.String))
        .alias("_lead"),
        *[
            pl.when(plain_count == width).then(pl.col("_parts").list.get(i, null_on_oob=True)).alias(n)
            for i, n in enumerate(names)
        ],
    )

    quoted = classified.filter(pl.col("_reason").is_null() & pl.col("_quoted"))
    quoted = _split_quoted(quoted, names)

    out = pl.concat([plain, quoted, bad], how="vertical")
    return out.with_columns(
        [pl.when(pl.col(n) == "").then(pl.lit(None, pl.String)).otherwise(pl.col(n)).alias(n) for n in names]
    )


def _split_quoted(quoted: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """Lines containing a quote: RFC 4180 grammar and field count (vectorised), then the sound lines
    are parsed together by Polars' CSV reader (one line = one record, so the rows stay aligned)."""
    width = len(names)
    line = pl.col("line")
    fields_outside_quotes = line.str.replace_all(r'"(?:[^"]|"")*"', "").str.count_matches(",", literal=True) + 1
    checked = quoted.with_columns(line.str.contains(_QUOTED_LINE).alias("_grammar_ok")).with_columns(
        pl.when(pl.col("_grammar_ok")).then(fields_outside_quotes).otherwise(None).alias("_count")
    )
    sound = pl.col("_grammar_ok") & (pl.col("_count") == width)
    good = checked.filter(sound)
    parsed = _read_csv_lines(good.get_column("line"), names)
    if parsed.height != good.height:  # cannot happen for grammar-checked lines; never misalign rows
        raise RuntimeError(f"CSV reader returned {parsed.height} rows for {good.height} checked lines")
    good_out = pl.concat(
        [
            good.select(
                "file", "record_no",
                pl.lit(None, pl.String).alias("_reason"), pl.lit(None, pl.String).alias("_detail"),
                pl.lit(None, pl.String).alias("_lead"),
            ),
            parsed,
        ],
        how="horizontal",
    )
    bad_out = checked.filter(~sound.fill_null(False)).select(
        "file",
        "record_no",
        pl.when(pl.col("_grammar_ok")).then(pl.lit("wrong_field_count")).otherwise(pl.lit("broken_quoting"))
        .alias("_reason"),
        pl.col("_count").cast(pl.String).alias("_detail"),
        _LEAD,
        *[pl.lit(None, pl.String).alias(n) for n in names],
    )
    return pl.concat([good_out, bad_out], how="vertical")


def _read_csv_lines(lines: pl.Series, names: list[str]) -> pl.DataFrame:
    """Parse sound CSV lines (no line breaks inside) with an explicit dialect; all fields String."""
    schema = {n: pl.String() for n in names}
    if lines.len() == 0:
        return pl.DataFrame(schema=schema)
    import pyarrow as pa

    # Join the lines with LF straight from the Arrow buffer (no Python string per line).
    array = (lines + "\n").to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    array = array.cast(pa.large_string())
    offsets = memoryview(array.buffers()[1]).cast("q")
    start, end = offsets[array.offset], offsets[array.offset + len(array)]
    data = memoryview(array.buffers()[2])[start:end].tobytes()
    return pl.read_csv(
        data,
        has_header=False,
        schema=schema,
        separator=",",
        quote_char='"',
        eol_char="\n",
        infer_schema=False,
        comment_prefix=None,
        null_values=None,
        raise_if_empty=False,
        truncate_ragged_lines=False,
        encoding="utf8",
    )


# ---------------------------------------------------------------------------------- field validation


def parse_date(column: pl.Expr) -> pl.Expr:
    """YYYYMMDD (8 ASCII digits, a real Gregorian date) → Date, else null."""
    return (
        pl.when(column.str.contains(r"^[0-9]{8}$"))
        .then(column.str.strptime(pl.Date, "%Y%m%d", strict=False))
        .otherwise(pl.lit(None, pl.Date))
    )


def field_error(f: LayoutField) -> pl.Expr:
    """Reason code (String) of the first problem of field ``f``, or null when it is fine."""
    from contracts.identifiers import local_government_code_is_valid, my_number_is_valid

    c = pl.col(f.name)
    missing = (c.is_null() | (c.str.strip_chars() == "")) if f.type == "text" else c.is_null()
    conditions: list[tuple[pl.Expr, str]] = []
    if f.type == "digits":
        conditions.append((~c.str.contains(rf"^[0-9]{{{f.width}}}$"), "bad_format"))
    elif f.type == "text":
        if f.max_length is not None:
            conditions.append((c.str.len_chars() > f.max_length, "bad_format"))
        if f.pattern is not None:
            conditions.append((~c.str.contains(f.pattern), "bad_format"))
    elif f.type == "date":
        conditions.append((parse_date(c).is_null(), "bad_date"))
    elif f.type == "code":
        if f.allowed is not None:
            conditions.append((~c.is_in(list(f.allowed)), "bad_code"))
        else:
            other, table = f.allowed_by
            allowed = pl.any_horizontal(
                [(pl.col(other) == key) & c.is_in(list(values)) for key, values in table.items()]
            ).fill_null(False)
            conditions.append((~allowed, "bad_code"))
    if f.check == "my_number_check_digit":
        conditions.append((~my_number_is_valid(c), "bad_check_digit"))
    elif f.check == "local_government_code_check_digit":
        conditions.append((~local_government_code_is_valid(c), "bad_check_digit"))

    expr = pl.when(missing if f.required else pl.lit(False)).then(pl.lit("missing_required"))
    expr = expr.when(c.is_null()).then(pl.lit(None, pl.String))
    for condition, code in conditions:
        expr = expr.when(condition).then(pl.lit(code))
    return expr.otherwise(pl.lit(None, pl.String))


def validate_fields(records: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    """Add ``_field`` and set ``_reason`` to the first failing field (layout order) when the line
    itself was fine; ``_errors`` counts the failing fields.

    A field whose layout says ``on_invalid: warn`` does not hold the record: its problem goes to
    ``_warn_<field>`` (the reason code) and the value is set to null; :func:`warnings_frame` lists
    those of the records that end up staged."""
    holding = [f for f in layout.fields if f.on_invalid == "hold"]
    warning = [f for f in layout.fields if f.on_invalid == "warn"]
    errors = [field_error(f).alias(f"_err_{f.name}") for f in layout.fields]
    frame = records.with_columns(*errors, pl.col("_reason").is_not_null().alias("_structural"))
    err_cols = [pl.col(f"_err_{f.name}") for f in holding]
    first_code = pl.coalesce(err_cols) if err_cols else pl.lit(None, pl.String)
    first_field = pl.coalesce(
        [pl.when(pl.col(f"_err_{f.name}").is_not_null()).then(pl.lit(f.name)) for f in holding]
    ) if holding else pl.lit(None, pl.String)
    structural = pl.col("_structural")
    frame = frame.with_columns(
        pl.when(structural).then(pl.col("_reason")).otherwise(first_code).alias("_reason"),
        pl.when(structural).then(pl.lit(None, pl.String)).otherwise(first_field).alias("_field"),
        pl.when(structural).then(pl.lit(0, pl.Int32))
        .otherwise(pl.sum_horizontal([e.is_not_null().cast(pl.Int32) for e in err_cols] or [pl.lit(0)]))
        .alias("_errors"),
        *[pl.when(structural).then(pl.lit(None, pl.String)).otherwise(pl.col(f"_err_{f.name}")).alias(f"_warn_{f.name}")
          for f in warning],
    ).with_columns(  # an invalid warn value is emptied (the cross-field rules below see it empty)
        [pl.when(pl.col(f"_warn_{f.name}").is_not_null()).then(pl.lit(None, pl.String)).otherwise(pl.col(f.name))
         .alias(f.name) for f in warning]
    )
    # A field is "usable" (e.g. as a duplicate key) when the line is sound and the field is valid.
    return frame.with_columns(
        [(~structural & pl.col(f"_err_{f.name}").is_null()).alias(f"_ok_{f.name}") for f in layout.fields]
    ).drop([f"_err_{f.name}" for f in layout.fields] + ["_structural"])


def _possible_codes(f: LayoutField) -> tuple[str, ...]:
    """The field-level reason codes :func:`field_error` can give for ``f`` (besides missing_required)."""
    by_type = {"digits": ("bad_format",), "text": ("bad_format",), "date": ("bad_date",), "code": ("bad_code",)}
    return by_type[f.type] + (("bad_check_digit",) if f.check else ())


def warnings_frame(frames: Mapping[str, tuple[pl.DataFrame, Layout]], run_id: str) -> pl.DataFrame:
    """quarantine/resident_snapshot_warnings: one row per emptied ``on_invalid: warn`` value of a
    record that was staged (a quarantined record has its own row in the quarantine instead)."""
    parts = [pl.DataFrame(schema=WARNING_SCHEMA)]
    for source, (frame, layout) in frames.items():
        warned = [f for f in layout.fields if f.on_invalid == "warn"]
        if not warned or not frame.height:
            continue
        sentences = {f"{f.name}|{code}": _field_sentence(f, code).replace(" {detail}", "")
                     for f in warned for code in _possible_codes(f)}
        rows = (
            frame.filter(pl.col("_reason").is_null())
            .select("file", "record_no", *[pl.col(f"_warn_{f.name}").alias(f.name) for f in warned])
            .unpivot(index=["file", "record_no"], variable_name="field", value_name="reason_code")
            .filter(pl.col("reason_code").is_not_null())
        )
        name = pl.col("file").str.split("/").list.last()
        detail = pl.concat_str([pl.col("field"), pl.lit("|"), pl.col("reason_code")]).replace_strict(
            sentences, default="the value is not valid.", return_dtype=pl.String)
        parts.append(rows.select(
            pl.lit(source, pl.String).alias("source"), "file", pl.col("record_no").cast(pl.Int64), "field",
            "reason_code",
            pl.format("{} line {}: {} The value was set to empty and the record was staged.", name,
                      pl.col("record_no"), detail).alias("message"),
            pl.lit(run_id, pl.String).alias("run_id"),
        ))
    return pl.concat(parts, how="vertical").sort(["source", "file", "record_no", "field"])


def _reject(frame: pl.DataFrame, condition: pl.Expr, code: str, field: str | pl.Expr | None,
            detail: pl.Expr | None = None) -> pl.DataFrame:
    """Give still-accepted rows matching ``condition`` the reason ``code`` (first reason wins)."""
    hit = pl.col("_reason").is_null() & condition.fill_null(False)
    field_expr = field if isinstance(field, pl.Expr) else pl.lit(field, pl.String)
    return frame.with_columns(
        pl.when(hit).then(pl.lit(code)).otherwise(pl.col("_reason")).alias("_reason"),
        pl.when(hit).then(field_expr).otherwise(pl.col("_field")).alias("_field"),
        pl.when(hit).then(detail if detail is not None else pl.lit(None, pl.String))
        .otherwise(pl.col("_detail")).alias("_detail"),
    )


def _reject_duplicates(frame: pl.DataFrame, key: list[str], code: str, field: str) -> pl.DataFrame:
    """Every record whose (usable) key occurs more than once goes to quarantine: none is guessed."""
    usable = pl.all_horizontal([pl.col(f"_ok_{k}") for k in key])
    candidates = frame.filter(usable).select(*key, "record_no")
    counts = candidates.group_by(key).agg(pl.len().alias("_dup_n")).filter(pl.col("_dup_n") > 1)
    if counts.is_empty():
        return frame
    groups = (
        candidates.join(counts, on=key, how="inner", validate="m:1")
        .group_by(key)
        .agg(
            pl.col("_dup_n").first(),
            pl.col("record_no").sort().head(10).cast(pl.String).str.join(", ").alias("_dup_lines"),
        )
    )
    frame = frame.join(groups, on=key, how="left", validate="m:1", nulls_equal=False)
    frame = _reject(
        frame,
        usable & pl.col("_dup_n").is_not_null(),
        code,
        field,
        pl.format("{} records (lines {})", pl.col("_dup_n"), pl.col("_dup_lines")),
    )
    return frame.drop("_dup_n", "_dup_lines")


def _reject_unknown_atena(frame: pl.DataFrame, registry_state: pl.DataFrame) -> pl.DataFrame:
    """Records whose 宛名番号 is not staged from the registry: unknown, or held in quarantine there."""
    frame = frame.join(registry_state, on="atena_no", how="left", validate="m:1")
    frame = _reject(frame, pl.col("_registry").is_null(), "unknown_atena_no", "atena_no")
    frame = _reject(frame, pl.col("_registry") == "held", "atena_no_quarantined", "atena_no")
    return frame.drop("_registry")


# ---------------------------------------------------------------------------------------- messages


def _field_sentence(f: LayoutField, code: str) -> str:
    if code == "missing_required":
        return f"{f.title} is empty; it is required."
    if code == "bad_format":
        if f.type == "digits":
            return f"{f.title} is not {f.width} ASCII digits; expected exactly {f.width} digits 0-9."
        wanted = [w for w in (f.expected, f"at most {f.max_length} characters" if f.max_length else None) if w]
        return f"{f.title} does not have the expected form; expected {', '.join(wanted)}."
    if code == "bad_date":
        return f"{f.title} is not a real calendar date; expected YYYYMMDD."
    if code == "bad_code":
        if f.allowed is not None:
            choices = ", ".join(f"{k} ({v})" for k, v in f.allowed.items())
            return f"{f.title} is not an allowed value; expected one of {choices}."
        other, table = f.allowed_by
        choices = "; ".join(f"{k}: {'/'.join(v)}" for k, v in table.items())
        return f"{f.title} is not allowed for the record's {other}; expected {choices}."
    if code == "bad_check_digit":
        if f.check == "my_number_check_digit":
            return (f"{f.title} {{detail}} fails the check digit (平成26年総務省令第85号 第5条); "
                    "expected a valid 12-digit 個人番号.")
        return f"{f.title} fails its check digit; expected a valid 6-digit 全国地方公共団体コード."
    raise KeyError(code)


def _record_sentences(layout: Layout) -> dict[str, str]:
    width = len(layout.fields)
    key = " + ".join(layout.field(k).label for k in layout.key)
    return {
        "undecodable_bytes": "the line is not valid UTF-8; expected UTF-8 text.",
        "control_character": "the line contains a control character (CR, TAB, NUL or similar); "
                             "expected plain text fields and LF line ends.",
        "wrong_field_count": f"the line has {{detail}} fields; expected {width} fields of layout {layout.name}.",
        "broken_quoting": "the double quotes do not form valid CSV (unterminated, stray, or a line break "
                          "inside quotes); expected RFC 4180 quoting on one line.",
        "inconsistent_dates": "{title} {detail}.",
        "inconsistent_removal": "{title} {detail}.",
        "inconsistent_nationality": "{title} {detail}.",
        "duplicate_atena_no": f"the {key} appears on {{detail}} of this source; all are held in quarantine, "
                              "none is guessed.",
        "duplicate_certificate": f"the {key} appears on {{detail}} of this source; all are held in quarantine, "
                                 "none is guessed.",
        "my_number_shared": "個人番号 (my_number) {detail}; all these records are held in quarantine.",
        "unknown_atena_no": "宛名番号 (atena_no) is not in the registry extract (resident_registry); "
                            "expected a 宛名番号 of the 住民記録.",
        "atena_no_quarantined": "宛名番号 (atena_no) belongs to a registry record held in quarantine; "
                                "this record is held with it until the registry record is corrected.",
    }


def add_messages(frame: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    """Operator sentence per rejected row: ``<file name> line <n>: <problem>; expected <what>.``"""
    templates: dict[str, str] = {}
    for f in layout.fields:
        for code in FIELD_LEVEL_CODES:
            try:
                templates[f"{f.name}|{code}"] = _field_sentence(f, code)
            except (KeyError, TypeError):
                continue
    titles = {f.name: f.title for f in layout.fields}
    for code, sentence in _record_sentences(layout).items():
        templates[f"|{code}"] = sentence
    field_level = pl.col("_reason").is_in(list(FIELD_LEVEL_CODES))
    key = pl.when(field_level).then(pl.col("_field").fill_null("") + "|" + pl.col("_reason")).otherwise(
        "|" + pl.col("_reason")
    )
    template = key.replace_strict(templates, default="{title}: rejected ({reason}).", return_dtype=pl.String)
    title = pl.col("_field").replace_strict(titles, default="", return_dtype=pl.String)
    body = (
        template.str.replace_all("{title}", title, literal=True)
        .str.replace_all("{detail}", pl.col("_detail").fill_null(""), literal=True)
        .str.replace_all("{reason}", pl.col("_reason"), literal=True)
    )
    more = pl.when(pl.col("_errors") > 1).then(
        pl.format(" ({} more field(s) of this record also fail.)", pl.col("_errors") - 1)
    ).otherwise(pl.lit(""))
    name = pl.col("file").str.split("/").list.last()
    return frame.with_columns(pl.format("{} line {}: {}{}", name, pl.col("record_no"), body, more).alias("_message"))


def _mask_my_number(column: pl.Expr) -> pl.Expr:
    return pl.lit(MY_NUMBER_MASK) + column.str.slice(-3)


# ---------------------------------------------------------------------------------------- sources


def _records(lines: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    return validate_fields(split_fields(lines, layout), layout)


def registry_records(lines: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    """Parse and check the registry: fields, cross-field consistency, duplicate 宛名番号."""
    frame = _records(lines, layout)
    birth = parse_date(pl.col("birth_date"))
    became = parse_date(pl.col("became_resident_date"))
    removed = parse_date(pl.col("removal_date"))
    frame = _reject(frame, birth > became, "inconsistent_dates", "birth_date",
                    pl.lit("is later than 住民となった年月日; expected birth on or before becoming resident"))
    frame = _reject(frame, removed < became, "inconsistent_dates", "removal_date",
                    pl.lit("is earlier than 住民となった年月日; expected removal on or after becoming resident"))
    reason, removal_date = pl.col("removal_reason"), pl.col("removal_date")
    frame = _reject(frame, reason.is_not_null() & removal_date.is_null(), "inconsistent_removal", "removal_date",
                    pl.lit("is empty although 消除事由 is given; expected both or neither"))
    frame = _reject(frame, reason.is_null() & removal_date.is_not_null(), "inconsistent_removal", "removal_reason",
                    pl.lit("is empty although 消除年月日 is given; expected both or neither"))
    destination = pl.col("destination_municipality_code").is_not_null() | pl.col("destination_address").is_not_null()
    frame = _reject(frame, destination & (reason.fill_null("") != "転出"), "inconsistent_removal",
                    pl.when(pl.col("destination_municipality_code").is_not_null())
                    .then(pl.lit("destination_municipality_code")).otherwise(pl.lit("destination_address")),
                    pl.lit("is given although 消除事由 is not 転出; expected 転出先 only for 転出"))
    frame = _reject_inconsistent_nationality(frame)
    return _reject_duplicates(frame, ["atena_no"], "duplicate_atena_no", "atena_no")


def _reject_inconsistent_nationality(frame: pl.DataFrame) -> pl.DataFrame:
    """住民区分 1 (日本人) with a 国籍, or 2 (外国人) without one: the record contradicts itself."""
    kind, nationality = pl.col("resident_type"), pl.col("nationality")
    frame = _reject(frame, (kind == "1") & nationality.is_not_null(), "inconsistent_nationality", "nationality",
                    pl.lit("is given for 住民区分 1 (日本人住民); expected it empty for Japanese residents"))
    return _reject(frame, (kind == "2") & nationality.is_null(), "inconsistent_nationality", "nationality",
                   pl.lit("is empty for 住民区分 2 (外国人住民); expected the nationality"))


def non_registered_records(lines: pl.DataFrame, layout: Layout, state: pl.DataFrame, *, fiscal_year: int,
                           municipality: str | None = None) -> pl.DataFrame:
    """Parse and check the 住登外者 登録ファイル: fields, the registry's consistency rules that apply, a
    宛名番号 of its own (not a registry person's, staged or held), the 住民票 in another municipality, and
    living in the ward on 1 January (地方税法第294条第3項 taxes those who did)."""
    frame = _records(lines, layout)
    birth = parse_date(pl.col("birth_date"))
    since = parse_date(pl.col("living_since"))
    day = assessment_date(fiscal_year)
    frame = _reject(frame, birth > since, "inconsistent_dates", "birth_date",
                    pl.lit("is later than 居住開始年月日; expected birth on or before it"))
    frame = _reject(frame, since > day, "inconsistent_registration", "living_since",
                    pl.lit(f"is after 1 January {fiscal_year} (賦課期日); expected a 住登外者 who lived in the ward on "
                           "that day"))
    if municipality is not None:
        frame = _reject(frame, pl.col("registered_municipality_code") == municipality, "inconsistent_registration",
                        "registered_municipality_code",
                        pl.lit("is this ward's own code; expected the municipality of the 住民票 (a person registered "
                               "here is in the 住民記録, not 住登外)"))
    frame = _reject_inconsistent_nationality(frame)
    frame = _reject_duplicates(frame, ["atena_no"], "duplicate_atena_no", "atena_no")
    frame = frame.join(state, on="atena_no", how="left", validate="m:1")
    frame = _reject(frame, pl.col("_registry").is_not_null(), "atena_no_in_registry", "atena_no")
    return frame.drop("_registry")


def keyed_records(lines: pl.DataFrame, layout: Layout, state: pl.DataFrame | None = None) -> pl.DataFrame:
    """Parse and check a file of the registry dialect keyed by 宛名番号 (the notice inputs of
    ``transforms.notice_inputs`` too): fields, duplicate keys (all held) and, when ``state``
    (:func:`registry_state`) is given, 宛名番号 not staged from the registry."""
    frame = _reject_duplicates(_records(lines, layout), list(layout.key), "duplicate_atena_no", "atena_no")
    return frame if state is None else _reject_unknown_atena(frame, state)


def registry_state(registry: pl.DataFrame) -> pl.DataFrame:
    """``atena_no → staged | held`` over registry records with a usable 宛名番号."""
    usable = registry.filter(pl.col("_ok_atena_no"))
    staged = usable.filter(pl.col("_reason").is_null()).select("atena_no", pl.lit("staged").alias("_registry"))
    # Held: records with a valid 宛名番号 but another problem, and lines that could not be split
    # whose first field looks like a 宛名番号 (e.g. a record with one field too many).
    unsplit = registry.filter(pl.col("_lead").str.contains(r"^[0-9]{10}$").fill_null(False))
    held = (
        pl.concat(
            [usable.filter(pl.col("_reason").is_not_null()).select("atena_no"),
             unsplit.select(pl.col("_lead").alias("atena_no"))],
            how="vertical",
        )
        .unique()
        .join(staged, on="atena_no", how="anti")
        .with_columns(pl.lit("held").alias("_registry"))
    )
    return pl.concat([staged, held], how="vertical")


def my_number_records(lines: pl.DataFrame, layout: Layout, state: pl.DataFrame) -> pl.DataFrame:
    """Check digits, duplicate 宛名番号, one number on several 宛名番号, 宛名番号 not staged."""
    frame = _records(lines, layout)
    # The masked number is the only form of a My Number that may appear in a message.
    frame = frame.with_columns(
        pl.when(pl.col("_reason") == "bad_check_digit").then(_mask_my_number(pl.col("my_number")))
        .otherwise(pl.col("_detail")).alias("_detail")
    )
    frame = _reject_duplicates(frame, ["atena_no"], "duplicate_atena_no", "atena_no")
    usable = pl.col("_ok_atena_no") & pl.col("_ok_my_number")
    candidates = frame.filter(usable).select("my_number", "atena_no", "record_no")
    holders = (
        candidates.select("my_number", "atena_no").unique()
        .group_by("my_number").agg(pl.len().alias("_holders"))
        .filter(pl.col("_holders") > 1)
    )
    if not holders.is_empty():
        shared = (
            candidates.join(holders, on="my_number", how="inner", validate="m:1")
            .group_by("my_number")
            .agg(
                pl.col("_holders").first(),
                pl.col("record_no").sort().head(10).cast(pl.String).str.join(", ").alias("_shared_lines"),
            )
        )
        frame = frame.join(shared, on="my_number", how="left", validate="m:1")
        frame = _reject(
            frame, usable & pl.col("_holders").is_not_null(), "my_number_shared", "my_number",
            pl.format("{} is given for {} different 宛名番号 (lines {})",
                      _mask_my_number(pl.col("my_number")), pl.col("_holders"), pl.col("_shared_lines")),
        ).drop("_holders", "_shared_lines")
    return _reject_unknown_atena(frame, state)


def welfare_records(lines: pl.DataFrame, layout: Layout, state: pl.DataFrame) -> pl.DataFrame:
    frame = _records(lines, layout)
    frame = _reject_duplicates(frame, ["atena_no"], "duplicate_atena_no", "atena_no")
    return _reject_unknown_atena(frame, state)


def disability_records(lines: pl.DataFrame, layout: Layout, state: pl.DataFrame) -> pl.DataFrame:
    frame = _records(lines, layout)
    frame = _reject_duplicates(frame, ["atena_no", "certificate_type"], "duplicate_certificate", "certificate_type")
    return _reject_unknown_atena(frame, state)


# ----------------------------------------------------------------------------------------- outputs


def residents_frame(registry: pl.DataFrame, fiscal_year: int,
                    non_registered: pl.DataFrame | None = None) -> pl.DataFrame:
    """Typed staged residents with registry status, residence and age on 1 January; the accepted
    records of the 住登外者 登録ファイル (``non_registered``) join them with status ``non_registered``,
    their 居住開始年月日 as ``became_resident_date`` and no removal."""
    day = assessment_date(fiscal_year)
    birth = pl.col("birth_date")
    if non_registered is not None and non_registered.height:
        registry = pl.concat([
            registry.filter(pl.col("_reason").is_null()).with_columns(pl.lit(False).alias("_non_registered")),
            non_registered.filter(pl.col("_reason").is_null()).select(
                *_REGISTRY_COLUMNS,
                pl.col("living_since").alias("became_resident_date"),
                *[pl.lit(None, pl.String).alias(c) for c in _REMOVAL_COLUMNS],
                pl.lit(None, pl.String).alias("_reason"),
                pl.lit(True).alias("_non_registered"),
            ),
        ], how="diagonal_relaxed")
    else:
        registry = registry.with_columns(pl.lit(False).alias("_non_registered"))
    frame = registry.filter(pl.col("_reason").is_null()).select(
        "atena_no", "household_no", "relationship", "name_kanji", "name_kana", "alias_kanji", "alias_kana",
        parse_date(pl.col("birth_date")).alias("birth_date"),
        pl.col("sex").cast(pl.Int8),
        "postal_code", "town_code", "address", "address_detail",
        pl.col("resident_type").cast(pl.Int8),
        "nationality",
        parse_date(pl.col("became_resident_date")).alias("became_resident_date"),
        "removal_reason",
        parse_date(pl.col("removal_date")).alias("removal_date"),
        "destination_municipality_code", "destination_address", "_non_registered",
    )
    not_yet = (birth.dt.month() > 1) | (birth.dt.day() > 2)  # birthday after 2 January: age not reached
    return frame.with_columns(
        pl.when(pl.col("_non_registered")).then(pl.lit("non_registered"))
        .when(pl.col("removal_reason").is_null()).then(pl.lit("resident"))
        .when(pl.col("removal_reason") == "転出").then(pl.lit("moved_out"))
        .otherwise(pl.lit("deceased")).alias("registry_status"),
        (
            (pl.col("became_resident_date") <= day)
            & (pl.col("removal_date").is_null() | (pl.col("removal_date") > day))
        ).alias("resident_on_assessment_date"),
        pl.when(birth <= day)
        .then(pl.lit(fiscal_year) - birth.dt.year() - not_yet.cast(pl.Int32))
        .otherwise(None)
        .cast(pl.Int16)
        .alias("age_on_assessment_date"),
    ).drop("_non_registered").sort("atena_no")


#: the registry fields a 住登外 record shares, in the registry layout's order (the removal ones it lacks)
_REGISTRY_COLUMNS = ("atena_no", "household_no", "relationship", "name_kanji", "name_kana", "alias_kanji", "alias_kana",
                     "birth_date", "sex", "postal_code", "town_code", "address", "address_detail", "resident_type",
                     "nationality")
_REMOVAL_COLUMNS = ("removal_reason", "removal_date", "destination_municipality_code", "destination_address")


def non_registered_frame(non_registered: pl.DataFrame) -> pl.DataFrame:
    """staging/non_registered_residents: where each accepted 住登外者's 住民票 is (contract
    ``NonRegisteredResidents``)."""
    return non_registered.filter(pl.col("_reason").is_null()).select(
        "atena_no", "registered_municipality_code", "registered_address",
        parse_date(pl.col("living_since")).alias("living_since"),
        parse_date(pl.col("confirmed_date")).alias("confirmed_date"),
    ).sort("atena_no")


def households_frame(residents: pl.DataFrame) -> pl.DataFrame:
    """One row per 世帯番号: head (世帯主) and member counts (all / resident on 1 January)."""
    is_head = pl.col("relationship") == "世帯主"
    resident = pl.col("resident_on_assessment_date")
    grouped = residents.group_by("household_no").agg(
        pl.len().cast(pl.Int32).alias("member_count"),
        resident.sum().cast(pl.Int32).alias("resident_member_count"),
        pl.col("atena_no").filter(is_head & resident).alias("_heads_resident"),
        pl.col("atena_no").filter(is_head).alias("_heads_all"),
    )
    heads = pl.when(pl.col("_heads_resident").list.len() > 0).then(pl.col("_heads_resident")).otherwise(
        pl.col("_heads_all")
    )
    return grouped.with_columns(heads.alias("_heads")).select(
        "household_no",
        pl.when(pl.col("_heads").list.len() == 1).then(pl.col("_heads").list.first())
        .otherwise(pl.lit(None, pl.String)).alias("head_atena_no"),
        pl.when(pl.col("_heads").list.len() == 1).then(pl.lit("ok"))
        .when(pl.col("_heads").list.len() == 0).then(pl.lit("missing"))
        .otherwise(pl.lit("ambiguous")).alias("head_status"),
        "member_count",
        "resident_member_count",
    ).sort("household_no")


def welfare_frame(welfare: pl.DataFrame, fiscal_year: int) -> pl.DataFrame:
    day = assessment_date(fiscal_year)
    start = parse_date(pl.col("assistance_start_date"))
    return welfare.filter(pl.col("_reason").is_null()).select(
        "atena_no", "case_no", start.alias("assistance_start_date"), (start <= day).alias("assisted_on_assessment_date")
    ).sort("atena_no")


def disability_frame(disability: pl.DataFrame) -> pl.DataFrame:
    """One row per person; 特別障害者 by grade per 所得税法施行令第10条第2項 (see module docstring)."""
    kind, grade = pl.col("certificate_type"), pl.col("grade")
    per_person = disability.filter(pl.col("_reason").is_null()).group_by("atena_no").agg(
        grade.filter(kind == "身体").first().cast(pl.Int8).alias("physical_grade"),
        grade.filter(kind == "精神").first().cast(pl.Int8).alias("mental_grade"),
        grade.filter(kind == "療育").first().alias("intellectual_grade"),
        pl.len().cast(pl.Int8).alias("certificate_count"),
        (pl.col("special") == "1").any().alias("special_declared"),
    )
    by_grade = (
        (pl.col("physical_grade") <= 2).fill_null(False)
        | (pl.col("mental_grade") == 1).fill_null(False)
        | (pl.col("intellectual_grade") == "A").fill_null(False)
    )
    return per_person.with_columns(by_grade.alias("special_by_grade")).with_columns(
        (pl.col("special_declared") | pl.col("special_by_grade")).alias("special_disability")
    ).sort("atena_no")


def vault_frame(my_number: pl.DataFrame) -> pl.DataFrame:
    return my_number.filter(pl.col("_reason").is_null()).select("atena_no", "my_number").sort("atena_no")


def quarantine_frame(frames: Mapping[str, tuple[pl.DataFrame, Layout]], run_id: str) -> pl.DataFrame:
    parts = []
    for source, (frame, layout) in frames.items():
        rejected = frame.filter(pl.col("_reason").is_not_null())
        rejected = add_messages(rejected, layout)
        parts.append(
            rejected.select(
                pl.lit(source, pl.String).alias("source"),
                "file",
                "record_no",
                pl.col("_field").alias("field"),
                pl.col("_reason").alias("reason_code"),
                pl.col("_message").alias("message"),
                pl.lit(run_id, pl.String).alias("run_id"),
            )
        )
    return pl.concat(parts, how="vertical").sort(["source", "file", "record_no"])


@dataclass(frozen=True)
class SnapshotResult:
    residents: pl.DataFrame
    households: pl.DataFrame
    welfare_status: pl.DataFrame
    disability_status: pl.DataFrame
    vault: pl.DataFrame
    quarantine: pl.DataFrame
    per_file: pl.DataFrame  # source, file, received, staged, quarantined, forwarded
    warnings: pl.DataFrame = None  # type: ignore[assignment]  # emptied optional values (WARNING_SCHEMA)
    non_registered_residents: pl.DataFrame = None  # type: ignore[assignment]  # 住登外者 (NonRegisteredResidents)


def build_snapshot(
    lines: Mapping[str, pl.DataFrame],
    *,
    fiscal_year: int,
    run_id: str,
    layouts: Mapping[str, Layout] | None = None,
    municipality: str | None = None,
) -> SnapshotResult:
    """The whole stage as a function of the raw lines of the four sources and the optional 住登外者
    登録ファイル (absent: no 住登外者; see module docstring). ``municipality``: the ward's code, which no
    住登外者's 住民票 may name."""
    missing = [s for s in SOURCES if s not in lines]
    if missing:
        raise ValueError(f"build_snapshot needs lines of every source; missing {missing}")
    sources = SOURCES + OPTIONAL_SOURCES
    lines = {**{s: pl.DataFrame(schema=LINES_SCHEMA) for s in OPTIONAL_SOURCES}, **lines}
    layouts = {**{s: load_layout(s) for s in sources}, **dict(layouts or {})}
    registry = registry_records(lines["resident_registry"], layouts["resident_registry"])
    state = registry_state(registry)
    my_number = my_number_records(lines["my_number"], layouts["my_number"], state)
    welfare = welfare_records(lines["livelihood_assistance"], layouts["livelihood_assistance"], state)
    disability = disability_records(lines["disability"], layouts["disability"], state)
    non_registered = non_registered_records(lines["non_registered_register"], layouts["non_registered_register"],
                                            state, fiscal_year=fiscal_year, municipality=municipality)
    checked = {
        "resident_registry": registry,
        "my_number": my_number,
        "livelihood_assistance": welfare,
        "disability": disability,
        "non_registered_register": non_registered,
    }
    unknown = {r for frame in checked.values() for r in frame.get_column("_reason").drop_nulls().unique()}
    unknown -= set(REASON_CODES)
    if unknown:
        raise ValueError(f"reason codes without a definition: {sorted(unknown)}")

    residents = residents_frame(registry, fiscal_year, non_registered)
    per_file = pl.concat(
        [
            frame.group_by("file").agg(
                pl.len().cast(pl.Int64).alias("received"),
                pl.col("_reason").is_null().sum().cast(pl.Int64).alias("staged"),
                pl.col("_reason").is_not_null().sum().cast(pl.Int64).alias("quarantined"),
            ).select(pl.lit(source).alias("source"), "file", "received", "staged", "quarantined",
                     pl.lit(0, pl.Int64).alias("forwarded"))
            for source, frame in checked.items()
        ],
        how="vertical",
    ).sort(["source", "file"])
    return SnapshotResult(
        residents=residents,
        households=households_frame(residents),
        welfare_status=welfare_frame(welfare, fiscal_year),
        disability_status=disability_frame(disability),
        vault=vault_frame(my_number),
        quarantine=quarantine_frame({s: (checked[s], layouts[s]) for s in sources}, run_id),
        per_file=per_file,
        warnings=warnings_frame({s: (checked[s], layouts[s]) for s in sources}, run_id),
        non_registered_residents=non_registered_frame(non_registered),
    )
