"""The CSV engine of the document writers: lines from layouts, planted defects, submissions, files.

A CSV source is one frame with a ``line`` column (the record as written, built by :func:`line_expr`
with one ``pl.concat_str`` over the layout's fields) and meta columns prefixed ``_``:

``_rowid`` unique row id · ``_person_id`` ``_atena_no`` ``_route`` ``_destination`` (truth) · ``_doc_key``
· ``_submission`` (新規/追加/訂正/取消) · ``_kind`` (main/additional/correction/cancellation) · ``_group``
(指定番号 / payer code) · ``_sort`` (order inside a file) · ``_has_number`` ``_kanji_ok`` (what can be
planted) · ``_defect`` ``_field`` ``_desc`` (planted case).

The field values themselves are not kept as columns (147 string columns would cost gigabytes at a
million records); the few records that get a planted or lifecycle edit are split back into fields,
edited with expressions and re-assembled (:func:`edit_lines`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from sample_ward import defects as D
from sample_ward import wire_text as T
from sample_ward.wire_common import (
    CANCELLATION_RATE,
    CORRECTION_RATE,
    DEFECT_SCHEMA,
    MALFORMED_RATE,
    RATES,
    Ctx,
    attach,
    choose_rows,
    count,
    random_dates,
)
from sample_ward.wire_layouts import field_ids, field_spec, load_layout

CSV_MALFORMED: tuple[str, ...] = (
    D.WRONG_FIELD_COUNT,
    D.NON_NUMERIC_AMOUNT,
    D.IMPOSSIBLE_DATE,
    D.UNKNOWN_ERA_CODE,
    D.BAD_SUBMISSION_TYPE,
    D.TRUNCATED_LINE,
    D.INVALID_CP932_BYTES,
    D.EMPTY_MANDATORY_FIELD,
    D.OVER_WIDTH_FIELD,
    D.BAD_MY_NUMBER_CHECK_DIGIT,
)
KIND_ORDER = {"main": 0, "additional": 1, "correction": 2, "cancellation": 3}
SUBMISSION_OF_KIND = {"main": "新規", "additional": "追加", "correction": "訂正", "cancellation": "取消"}
CODE_OF_SUBMISSION = {"新規": "0", "追加": "1", "訂正": "2", "取消": "3"}
_TEXT_TYPES = ("text", "text_fullwidth", "relatives")


@dataclass(frozen=True)
class FieldMap:
    """Which layout fields of a source take each kind of planted defect."""

    amount: str
    submission: str
    mandatory: str
    width: str
    width_extra: int
    width_filler: str = "0"
    date: tuple[str, ...] = ()  # (month, day) of an era date, or one YYYYMMDD field
    era: str | None = None
    my_number: str | None = None
    kana: str | None = None
    kana_fullwidth: bool = False
    kanji: str | None = None
    invalid_bytes: str | None = None
    fullwidth: tuple[str, ...] = ()


# ----------------------------------------------------------------------------------------------------
def _quoted(expr: pl.Expr, field_type: str) -> pl.Expr:
    return T.csv_quote(expr) if field_type in _TEXT_TYPES else expr


def line_expr(fmt: str, fields: dict[str, pl.Expr]) -> pl.Expr:
    """The record line of layout ``fmt``: every field in layout order (unset fields empty)."""
    unknown = set(fields) - set(field_ids(fmt))
    if unknown:
        raise KeyError(f"{fmt}: not layout fields: {sorted(unknown)}")
    parts = []
    for spec in load_layout(fmt)["fields"]:
        expr = fields.get(spec["id"])
        if expr is None:
            parts.append(pl.lit(""))
        else:
            parts.append(_quoted(expr.cast(pl.String).fill_null(""), spec["type"]))
    return pl.concat_str(parts, separator=",")


def split_fields(frame: pl.DataFrame, fmt: str) -> pl.DataFrame:
    """Split ``line`` (unquoted records only) into one column per layout field."""
    ids = field_ids(fmt)
    return (
        frame.with_columns(pl.col("line").str.split_exact(",", len(ids) - 1).alias("_fields"))
        .unnest("_fields")
        .rename({f"field_{i}": name for i, name in enumerate(ids)})
    )


def assemble(frame: pl.DataFrame, fmt: str) -> pl.Expr:
    """Line from split field columns."""
    return pl.concat_str(
        [_quoted(pl.col(spec["id"]).fill_null(""), spec["type"]) for spec in load_layout(fmt)["fields"]], separator=","
    )


def edit_lines(frame: pl.DataFrame, fmt: str, updates: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """Split the lines of a (small) frame into fields, apply ``updates`` and re-assemble them."""
    if frame.height == 0:
        return frame
    ids = field_ids(fmt)
    split = updates(split_fields(frame, fmt))
    return split.with_columns(assemble(split, fmt).alias("line")).drop([c for c in ids if c in split.columns])


# ----------------------------------------------------------------------------------------------------
def mark_characters(frame: pl.DataFrame, fmt: str, classes: T.CharClasses) -> pl.DataFrame:
    """Records with characters outside JIS X 0208: mark them NON_JIS_CHAR_SUBSTITUTED (characters CP932
    cannot encode: the substituted line — 〓, variation selectors dropped — goes to ``_new_line``) or
    CP932_EXTENSION_CHAR. ``_new_line`` (null for the other rows) replaces ``line`` in :func:`plant`."""
    sub_pat, ext_pat = classes.substitute_pattern(), classes.extension_pattern()
    line = pl.col("line")
    has_sub = line.str.contains(sub_pat) if sub_pat else pl.lit(False)
    has_ext = line.str.contains(ext_pat) if ext_pat else pl.lit(False)
    flagged = frame.select("_rowid", "line", "_defect", has_sub.alias("_has_sub"), has_ext.alias("_has_ext")).filter(
        pl.col("_has_sub") | pl.col("_has_ext")
    )
    if flagged.height == 0:
        return frame.with_columns(pl.lit(None, pl.String).alias("_new_line"), *_no_extra())
    ids = field_ids(fmt)
    pattern = "|".join(p for p in (sub_pat, ext_pat) if p)
    olds = list(classes.substitute)
    news = [classes.substitute[c] for c in olds]
    flagged = flagged.select(
        "_rowid",
        pl.when(pl.col("_has_sub")).then(pl.lit(D.NON_JIS_CHAR_SUBSTITUTED)).otherwise(pl.lit(D.CP932_EXTENSION_CHAR)).alias("_c_defect"),
        pl.col("line").str.split(",").list.eval(pl.element().str.contains(pattern)).list.arg_max()
        .replace_strict(dict(enumerate(ids)), default=None, return_dtype=pl.String).alias("_c_field"),
        pl.when(pl.col("_has_sub"))
        .then(pl.lit("character outside JIS X 0208 not encodable in CP932, written as 〓 (variation selectors dropped)"))
        .otherwise(pl.lit("character outside JIS X 0208 written with a CP932 vendor-extension code"))
        .alias("_c_desc"),
        (pl.when(pl.col("_has_sub")).then(line.str.replace_many(olds, news)) if olds else pl.lit(None, pl.String)).alias("_new_line"),
    )
    # a record keeps one category in documents.parquet (an earlier lifecycle mark wins); the character
    # case of such a record is still listed in defects.parquet through the _x_* columns (see emit)
    had = pl.col("_defect").is_not_null()
    return attach(frame, flagged, left_on="_rowid", right_on="_rowid").with_columns(
        pl.coalesce("_defect", "_c_defect").alias("_defect"),
        pl.when(had).then(pl.col("_field")).otherwise(pl.col("_c_field")).alias("_field"),
        pl.when(had).then(pl.col("_desc")).otherwise(pl.col("_c_desc")).alias("_desc"),
        pl.when(had).then(pl.col("_c_defect")).alias("_x_defect"),
        pl.when(had).then(pl.col("_c_field")).alias("_x_field"),
        pl.when(had).then(pl.col("_c_desc")).alias("_x_desc"),
    ).drop("_c_defect", "_c_field", "_c_desc")


def _no_extra() -> list[pl.Expr]:
    return [pl.lit(None, pl.String).alias(c) for c in ("_x_defect", "_x_field", "_x_desc")]


def other_numbers(ctx: Ctx, people: pl.DataFrame, own: np.ndarray, stream: str) -> list[str | None]:
    """For each person id of ``own``, the valid My Number of ANOTHER resident of the ward."""
    pool = people.select("person_id", "my_number", "registry_status").filter(
        (pl.col("registry_status") == "resident") & pl.col("my_number").is_not_null()
    )
    if pool.height < 2:
        return [None] * len(own)
    ids = pool.get_column("person_id").to_numpy()
    numbers = np.array(pool.get_column("my_number").to_list(), dtype=object)
    pick = ctx.rng(stream).integers(0, len(ids), size=len(own))
    pick = np.where(ids[pick] == own, (pick + 1) % len(ids), pick)
    return numbers[pick].tolist()


_FIELD_NOTE = {
    D.NON_NUMERIC_AMOUNT: "amount with a non-digit character (O for 0, 円 suffix)",
    D.IMPOSSIBLE_DATE: "date that does not exist (month 13 / 2月30日)",
    D.UNKNOWN_ERA_CODE: "元号 code 9 is not a 法定調書 era code",
    D.BAD_SUBMISSION_TYPE: "提出区分 5 is not one of 0 新規, 1 追加, 2 訂正, 3 取消",
    D.EMPTY_MANDATORY_FIELD: "required field left empty",
    D.OVER_WIDTH_FIELD: "field longer than its layout width",
    D.BAD_MY_NUMBER_CHECK_DIGIT: "個人番号 with a wrong check digit",
    D.MY_NUMBER_MISSING: "個人番号 left blank",
    D.MY_NUMBER_OF_OTHER_PERSON: "valid 個人番号 of another resident",
    D.KANJI_VARIANT: "旧字/異体字 variant of the name",
    D.KANA_VARIANT: "kana spelling variant of the name",
    D.FULLWIDTH_DIGITS: "amounts/dates written with full-width digits",
    D.INVALID_CP932_BYTES: "invalid CP932 byte sequence 0x85 0x40 inside the field",
    D.WRONG_FIELD_COUNT: "line with a wrong number of fields (one dropped or one added)",
    D.TRUNCATED_LINE: "line cut short",
}


def plant(
    ctx: Ctx,
    source: str,
    frame: pl.DataFrame,
    fmt: str,
    fm: FieldMap,
    people: pl.DataFrame,
    eligible_extra: pl.Expr,
    categories: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Mark characters outside JIS X 0208, then plant the malformed and noise categories on random
    disjoint records (at least one each) among those without a defect yet."""
    assert ctx.classes is not None
    frame = mark_characters(frame, fmt, ctx.classes)
    eligible_expr = pl.col("_defect").is_null() & eligible_extra & ~pl.col("line").str.contains('"', literal=True)
    masks = frame.select(
        eligible_expr.fill_null(False).alias("e"),
        pl.col("_has_number").fill_null(False).alias("n"),
        pl.col("_kanji_ok").fill_null(False).alias("k"),
    )
    eligible = masks.get_column("e").to_numpy()
    has_number = masks.get_column("n").to_numpy()
    kanji_ok = masks.get_column("k").to_numpy()
    n_el = int(eligible.sum())
    plan: list[tuple[str, np.ndarray | None, int]] = []
    for category in CSV_MALFORMED:
        if (category == D.UNKNOWN_ERA_CODE and not fm.era) or (category == D.IMPOSSIBLE_DATE and not fm.date):
            continue
        if (category == D.INVALID_CP932_BYTES and not fm.invalid_bytes) or (category == D.BAD_MY_NUMBER_CHECK_DIGIT and not fm.my_number):
            continue
        plan.append((category, has_number if category == D.BAD_MY_NUMBER_CHECK_DIGIT else None, count(MALFORMED_RATE, n_el)))
    if fm.my_number:
        plan.append((D.MY_NUMBER_MISSING, has_number, count(RATES[D.MY_NUMBER_MISSING], n_el)))
        plan.append((D.MY_NUMBER_OF_OTHER_PERSON, has_number, count(RATES[D.MY_NUMBER_OF_OTHER_PERSON], n_el)))
    if fm.kanji:
        plan.append((D.KANJI_VARIANT, kanji_ok, count(RATES[D.KANJI_VARIANT], int((kanji_ok & eligible).sum()))))
    if fm.kana:
        plan.append((D.KANA_VARIANT, None, count(RATES[D.KANA_VARIANT], n_el)))
    if fm.fullwidth:
        plan.append((D.FULLWIDTH_DIGITS, None, count(RATES[D.FULLWIDTH_DIGITS], n_el)))
    if categories is not None:
        plan = [entry for entry in plan if entry[0] in categories]
    chosen = choose_rows(ctx.rng(f"plant/{source}"), eligible, plan)
    frame = frame.with_columns(pl.Series("_planted", chosen, dtype=pl.String))
    sub = frame.filter(pl.col("_planted").is_not_null())
    if sub.height == 0:
        return _replace_lines(frame.drop("_planted"))
    if fm.my_number:
        sub = sub.with_columns(pl.Series("_other", other_numbers(ctx, people, sub.get_column("_person_id").fill_null(-1).to_numpy(), f"other/{source}"), dtype=pl.String))
    sub = sub.with_columns(pl.Series("_pick", ctx.rng(f"kana/{source}").integers(0, 6, sub.height)))
    sub = edit_lines(sub, fmt, lambda split: _apply_planted(split, fm, field_spec(fmt, fm.width)["width"]))
    sub = _line_defects(sub).select(
        "_rowid",
        pl.col("line").alias("_p_line"),
        pl.col("_planted").alias("_p_defect"),
        pl.col("_planted").replace_strict(_field_of(fm), default=None, return_dtype=pl.String).alias("_p_field"),
        pl.col("_planted").replace_strict(_FIELD_NOTE, default=None, return_dtype=pl.String).alias("_p_desc"),
    )
    frame = attach(frame, sub, left_on="_rowid", right_on="_rowid").with_columns(
        pl.coalesce("_p_line", "_new_line").alias("_new_line"),
        pl.coalesce("_p_defect", "_defect").alias("_defect"),
        pl.when(pl.col("_p_defect").is_not_null()).then(pl.col("_p_field")).otherwise(pl.col("_field")).alias("_field"),
        pl.coalesce("_p_desc", "_desc").alias("_desc"),
    )
    return _replace_lines(frame.drop("_planted", "_p_line", "_p_defect", "_p_field", "_p_desc"))


def _replace_lines(frame: pl.DataFrame) -> pl.DataFrame:
    """Apply the edited lines of ``_new_line`` (one pass over the line column)."""
    return frame.with_columns(pl.coalesce("_new_line", "line").alias("line")).drop("_new_line")


def _field_of(fm: FieldMap) -> dict[str, str | None]:
    return {
        D.NON_NUMERIC_AMOUNT: fm.amount,
        D.IMPOSSIBLE_DATE: fm.date[0] if fm.date else None,
        D.UNKNOWN_ERA_CODE: fm.era,
        D.BAD_SUBMISSION_TYPE: fm.submission,
        D.EMPTY_MANDATORY_FIELD: fm.mandatory,
        D.OVER_WIDTH_FIELD: fm.width,
        D.BAD_MY_NUMBER_CHECK_DIGIT: fm.my_number,
        D.MY_NUMBER_MISSING: fm.my_number,
        D.MY_NUMBER_OF_OTHER_PERSON: fm.my_number,
        D.KANJI_VARIANT: fm.kanji,
        D.KANA_VARIANT: fm.kana,
        D.FULLWIDTH_DIGITS: ",".join(fm.fullwidth),
        D.INVALID_CP932_BYTES: fm.invalid_bytes,
        D.WRONG_FIELD_COUNT: None,
        D.TRUNCATED_LINE: None,
    }


def _apply_planted(sub: pl.DataFrame, fm: FieldMap, layout_width: int) -> pl.DataFrame:
    """Field-level changes of the planted records (split into field columns).

    ``layout_width`` is the layout width of ``fm.width``: an over-width value is padded with
    ``fm.width_extra`` fillers and, for short values, up to ``layout_width + 1`` characters, so that it
    really exceeds the width whatever its original length.
    """
    cat = pl.col("_planted")
    updates: dict[str, pl.Expr] = {}

    def put(column: str, category: str, value: pl.Expr) -> None:
        base = updates.get(column, pl.col(column))
        updates[column] = pl.when(cat == category).then(value).otherwise(base)

    amount = pl.col(fm.amount)
    put(fm.amount, D.NON_NUMERIC_AMOUNT,
        pl.when(amount.str.contains("0")).then(amount.str.replace("0", "O", literal=True))
        .when(amount == "").then(pl.lit("1O0000"))
        .otherwise(pl.concat_str([amount, pl.lit("円")])))
    if len(fm.date) == 2:  # era-part date: month 13
        put(fm.date[0], D.IMPOSSIBLE_DATE, pl.lit("13"))
    elif len(fm.date) == 1:  # YYYYMMDD → 2月30日
        put(fm.date[0], D.IMPOSSIBLE_DATE, pl.concat_str([pl.col(fm.date[0]).str.slice(0, 4), pl.lit("0230")]))
    if fm.era:
        put(fm.era, D.UNKNOWN_ERA_CODE, pl.lit("9"))
    put(fm.submission, D.BAD_SUBMISSION_TYPE, pl.lit("5"))
    put(fm.mandatory, D.EMPTY_MANDATORY_FIELD, pl.lit(""))
    put(fm.width, D.OVER_WIDTH_FIELD,
        pl.concat_str([pl.col(fm.width), pl.lit(fm.width_filler * fm.width_extra)]).str.pad_end(layout_width + 1, fm.width_filler))
    if fm.my_number:
        put(fm.my_number, D.BAD_MY_NUMBER_CHECK_DIGIT, T.corrupt_check_digit(pl.col(fm.my_number)))
        put(fm.my_number, D.MY_NUMBER_MISSING, pl.lit(""))
        put(fm.my_number, D.MY_NUMBER_OF_OTHER_PERSON, pl.col("_other"))
    if fm.kanji:
        put(fm.kanji, D.KANJI_VARIANT, pl.col(fm.kanji).str.replace_many(list(T.KANJI_VARIANTS), list(T.KANJI_VARIANTS.values())))
    if fm.kana:
        variants = (T.kana_variants_fullwidth if fm.kana_fullwidth else T.kana_variants_halfwidth)(pl.col(fm.kana))
        chosen = pl.lit(None, pl.String)
        for i, variant in enumerate(variants):
            chosen = pl.when(pl.col("_pick") == i).then(variant).otherwise(chosen)
        # a variant that changes nothing falls back to dropping the space between the names
        put(fm.kana, D.KANA_VARIANT, pl.when(chosen != pl.col(fm.kana)).then(chosen).otherwise(variants[4]))
    for column in fm.fullwidth:
        put(column, D.FULLWIDTH_DIGITS, T.fullwidth_digits(pl.col(column)))
    if fm.invalid_bytes:
        target = pl.col(fm.invalid_bytes)
        put(fm.invalid_bytes, D.INVALID_CP932_BYTES,
            pl.concat_str([target.str.slice(0, 1), pl.lit(T.INVALID_BYTES_MARKER), target.str.slice(1)]))
    return sub.with_columns(**updates)


def _line_defects(sub: pl.DataFrame) -> pl.DataFrame:
    line = pl.col("line")
    cut = (line.str.len_chars() * 3 // 5).cast(pl.Int64)
    wrong_count = pl.when(pl.col("_rowid") % 2 == 0).then(line.str.replace(r",[^,]*$", "")).otherwise(pl.concat_str([line, pl.lit(",")]))
    return sub.with_columns(
        pl.when(pl.col("_planted") == D.WRONG_FIELD_COUNT).then(wrong_count)
        .when(pl.col("_planted") == D.TRUNCATED_LINE).then(line.str.slice(0, cut))
        .otherwise(line)
        .alias("line")
    )


# ----------------------------------------------------------------------------------------------------
def lifecycle(
    ctx: Ctx,
    frame: pl.DataFrame,
    fmt: str,
    *,
    stream: str,
    key_field: str,
    amount_field: str,
    submission_field: str,
    exclude: pl.Expr,
) -> pl.DataFrame:
    """Add 訂正 (correction) and 取消 (cancellation) records for a random few main-file records.

    訂正: the original keeps 提出区分 0 with a wrong 支払金額 (defect superseded_by_correction); a later
    file re-sends the record with the true values and 提出区分 2. 取消: the main file also carries an
    erroneous second record of the same person under a mistyped key (key + "0", defect
    cancelled_later); a later file cancels that key with 提出区分 3."""
    rng = ctx.rng(stream)
    eligible = frame.select(
        ((pl.col("_kind") == "main") & ~exclude & ~pl.col("line").str.contains('"', literal=True)).alias("e")
    ).get_column("e").to_numpy()
    n = int(eligible.sum())
    picks = choose_rows(rng, eligible, [("corr", None, count(CORRECTION_RATE, n)), ("canc", None, count(CANCELLATION_RATE, n))])
    frame = frame.with_columns(pl.Series("_lc", picks, dtype=pl.String))
    corr = frame.filter(pl.col("_lc") == "corr")
    corr = corr.with_columns(
        pl.Series("_delta", (rng.integers(10, 300, corr.height) * 1000 * np.where(rng.random(corr.height) < 0.5, -1, 1)).astype(np.int64))
    )
    corrected = edit_lines(corr, fmt, lambda s: s.with_columns(pl.lit("2").alias(submission_field))).with_columns(
        pl.lit("correction").alias("_kind"), pl.lit("訂正").alias("_submission")
    )
    wrong = edit_lines(
        corr, fmt, lambda s: s.with_columns((pl.col(amount_field).cast(pl.Int64) + pl.col("_delta")).abs().cast(pl.String).alias(amount_field))
    ).select("_rowid", pl.col("line").alias("_w_line"))
    frame = attach(frame, wrong, left_on="_rowid", right_on="_rowid").with_columns(
        pl.coalesce("_w_line", "line").alias("line"),
        pl.when(pl.col("_lc") == "corr").then(pl.lit(D.SUPERSEDED_BY_CORRECTION)).otherwise(pl.col("_defect")).alias("_defect"),
        pl.when(pl.col("_lc") == "corr").then(pl.lit(amount_field)).otherwise(pl.col("_field")).alias("_field"),
        pl.when(pl.col("_lc") == "corr")
        .then(pl.lit("original with a wrong amount; a later 提出区分 2 (訂正) record carries the true values"))
        .otherwise(pl.col("_desc"))
        .alias("_desc"),
    ).drop("_w_line")
    canc = frame.filter(pl.col("_lc") == "canc")
    erroneous = edit_lines(canc, fmt, lambda s: s.with_columns(pl.concat_str([pl.col(key_field), pl.lit("0")]).alias(key_field))).with_columns(
        pl.concat_str([pl.col("_doc_key"), pl.lit("0")]).alias("_doc_key"),
        pl.concat_str([pl.col("_sort"), pl.lit("0")]).alias("_sort"),
        pl.lit(D.CANCELLED_LATER).alias("_defect"),
        pl.lit(key_field).alias("_field"),
        pl.lit("record sent in error under a mistyped key; cancelled by a later 提出区分 3 (取消) record").alias("_desc"),
    )
    cancel = edit_lines(erroneous, fmt, lambda s: s.with_columns(pl.lit("3").alias(submission_field))).with_columns(
        pl.lit("cancellation").alias("_kind"), pl.lit("取消").alias("_submission"),
        pl.lit(None, pl.String).alias("_defect"), pl.lit(None, pl.String).alias("_field"), pl.lit(None, pl.String).alias("_desc"),
    )
    columns = frame.columns
    out = pl.concat(
        [frame, corrected.select(columns), erroneous.select(columns), cancel.select(columns)], how="vertical"
    ).drop("_lc")
    return out.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_rowid"))


def assign_chunks(frame: pl.DataFrame, chunk: int | None) -> pl.DataFrame:
    """``_chunk`` of every main record: its group's main records in ``_sort`` order, ``chunk`` per file
    (all in chunk 0 when ``chunk`` is None). Fixed before 訂正/取消 records are added, so that files
    keep their records (and the files chosen to be delivered twice stay whole)."""
    narrow = (
        frame.filter(pl.col("_kind") == "main")
        .select("_rowid", "_group", "_sort")
        .sort("_group", "_sort", "_rowid")
        .with_columns((pl.int_range(pl.len()).over("_group") // (chunk or 10**12)).alias("_chunk"))
        .select("_rowid", "_chunk")
    )
    frame = frame.drop([c for c in ("_chunk",) if c in frame.columns])
    return attach(frame, narrow, left_on="_rowid", right_on="_rowid")


def mark_duplicate_chunks(ctx: Ctx, frame: pl.DataFrame, stream: str, max_records: int = 200) -> pl.DataFrame:
    """``_in_dup``: the main records of the few (group, chunk) files that will be delivered twice."""
    from sample_ward.wire_common import pick_duplicate_files

    key = pl.concat_str([pl.col("_group"), pl.lit("#"), pl.col("_chunk").cast(pl.String)])
    counts = frame.filter(pl.col("_kind") == "main").group_by(key.alias("file")).agg(pl.len().alias("n"))
    chosen = pick_duplicate_files(ctx, counts, stream, max_records=max_records)
    return frame.with_columns(((pl.col("_kind") == "main") & key.is_in(chosen)).fill_null(False).alias("_in_dup"))


def assign_files(
    ctx: Ctx,
    frame: pl.DataFrame,
    *,
    source: str,
    stem: str,
    chunk: int | None,
    windows: list[tuple[dt.date, dt.date, float]],
    stream: str,
) -> pl.DataFrame:
    """``file``, ``record_no``, ``_received`` (and ``_chunk``) for every record.

    Main records of a group (指定番号 / payer code) go to seq 001.. (``chunk`` records per file at most),
    received on dates drawn from ``windows``; each later kind (追加, 訂正, 取消) present in the group
    gets the next seq, received 7-30 days after the previous file. Computed on a narrow frame."""
    rng = ctx.rng(stream)
    keep = ["_rowid", "_group", "_kind", "_sort"] + (["_chunk"] if "_chunk" in frame.columns else [])
    narrow = frame.select(keep).with_columns(pl.col("_kind").replace_strict(KIND_ORDER, return_dtype=pl.Int8).alias("_ko"))
    narrow = narrow.sort("_group", "_ko", "_sort", "_rowid")
    if "_chunk" not in narrow.columns:
        narrow = narrow.with_columns(
            pl.when(pl.col("_kind") == "main").then(pl.int_range(pl.len()).over(["_group", "_kind"]) // (chunk or 10**12)).alias("_chunk")
        )
    narrow = narrow.with_columns(pl.when(pl.col("_kind") == "main").then(pl.col("_chunk")).alias("_chunk"))
    mains = narrow.filter(pl.col("_kind") == "main").select("_group", "_chunk").unique().sort("_group", "_chunk")
    mains = mains.with_columns(pl.Series("_date", random_dates(rng, mains.height, windows)).cast(pl.Date), (pl.col("_chunk") + 1).alias("_seq"))
    last = mains.group_by("_group").agg(pl.col("_date").max().alias("_last"), pl.col("_seq").max().alias("_nseq"))
    laters = narrow.filter(pl.col("_kind") != "main").select("_group", "_ko").unique().sort("_group", "_ko")
    laters = laters.join(last, on="_group", how="left", validate="m:1", maintain_order="left").with_columns(
        pl.int_range(1, pl.len() + 1).over("_group").alias("_rank"), pl.Series("_gap", rng.integers(7, 31, laters.height)),
    ).with_columns(
        (pl.col("_nseq").fill_null(0) + pl.col("_rank")).alias("_seq_l"),
        pl.min_horizontal(pl.col("_last").fill_null(ctx.day(1, 31)) + pl.duration(days=pl.col("_gap").cum_sum().over("_group")),
                          pl.lit(ctx.day(4, 30))).alias("_date_l"),
    ).select("_group", "_ko", "_seq_l", "_date_l")
    narrow = narrow.join(mains, on=["_group", "_chunk"], how="left", validate="m:1", maintain_order="left").join(laters, on=["_group", "_ko"], how="left", validate="m:1", maintain_order="left")
    part = ctx.partition(source)
    narrow = narrow.with_columns(pl.coalesce("_seq", "_seq_l").alias("_seq"), pl.coalesce("_date", "_date_l").alias("_received")).with_columns(
        pl.format(f"{part}/{{}}_{stem}_{{}}_{{}}.csv", pl.col("_received").dt.strftime("%Y%m%d"), pl.col("_group"),
                  pl.col("_seq").cast(pl.String).str.zfill(3)).alias("file")
    )
    narrow = narrow.sort("file", "_sort", "_rowid").with_columns((pl.int_range(pl.len()).over("file") + 1).cast(pl.Int64).alias("record_no"))
    result = narrow.select("_rowid", "file", "record_no", "_received", "_chunk")
    frame = frame.drop([c for c in ("file", "record_no", "_received", "_chunk") if c in frame.columns])
    return attach(frame, result, left_on="_rowid", right_on="_rowid")


def lines_chunked(
    base: pl.DataFrame, lookups: list[tuple[pl.DataFrame, str, str]], exprs: list[pl.Expr], rows: int = 100_000
) -> pl.DataFrame:
    """``exprs`` over ``base`` with the ``lookups`` (frame, left key, right key) attached, ``rows`` rows
    at a time: bounds the memory of the joined columns and of the per-field strings of a record line."""
    parts = []
    for start in range(0, max(base.height, 1), rows):
        chunk = base.slice(start, rows)
        for right, left_on, right_on in lookups:
            chunk = attach(chunk, right, left_on=left_on, right_on=right_on)
        parts.append(chunk.select(exprs))
    return pl.concat(parts, how="vertical")


def write_csv(ctx: Ctx, frame: pl.DataFrame, newline: str = "\r\n", batch_lines: int = 50_000) -> None:
    """One CP932 file per ``file``: lines in ``record_no`` order, CRLF after every line, one encode per
    file, handed to the background writer in batches of about ``batch_lines`` lines. Text is
    CP932-encodable (mark_characters substituted the rest); the explicit fallback encodes a file
    character by character with '〓' should a line still fail."""
    assert ctx.writer is not None
    grouped = (
        frame.select("file", "record_no", "line")
        .sort("file", "record_no")
        .group_by("file", maintain_order=True)
        .agg(pl.col("line").str.join(newline), pl.len().alias("_n"))
    )
    grouped = grouped.with_columns(((pl.col("_n").cum_sum() - 1) // batch_lines).alias("_batch"))
    marker = T.INVALID_BYTES_MARKER.encode("ascii")
    fallbacks: list[str] = []
    for batch in grouped.partition_by("_batch", maintain_order=True):
        blobs = []
        for rel, text in zip(batch.get_column("file").to_list(), batch.get_column("line").to_list()):
            text = text + newline
            try:
                data = text.encode("cp932")
            except UnicodeEncodeError:  # mark_characters should have substituted it: record the fallback
                data = _encode_fallback(text)
                fallbacks.append(rel)
            if marker in data:
                data = data.replace(marker, T.INVALID_CP932)
            blobs.append(data)
        ctx.writer.write(batch.get_column("file").to_list(), blobs)
    if fallbacks:
        ctx.encode_fallbacks += len(fallbacks)
        ctx.defects.append(pl.DataFrame({
            "source": [rel.split("/", 1)[0] for rel in fallbacks],
            "file": fallbacks,
            "record_no": [None] * len(fallbacks),
            "field": [None] * len(fallbacks),
            "category": [D.NON_JIS_CHAR_SUBSTITUTED] * len(fallbacks),
            "description": ["encoding fallback: characters CP932 cannot encode written as 〓 in lines not marked per record"] * len(fallbacks),
        }, schema=DEFECT_SCHEMA))


def _encode_fallback(text: str) -> bytes:
    """Encode ``text`` replacing every character CP932 cannot encode by '〓' (per line, not per char)."""
    out = []
    for line in text.split("\n"):
        try:
            out.append(line.encode("cp932"))
        except UnicodeEncodeError:
            out.append("".join(c if _encodable(c) else "〓" for c in line).encode("cp932"))
    return b"\n".join(out)


def _encodable(char: str) -> bool:
    try:
        char.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True
