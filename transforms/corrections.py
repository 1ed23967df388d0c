"""Correction history (訂正/取消) of document records: which version of a document is the current one.

Entry point: :func:`apply_submission_history`. Pure and vectorised (sorts, then shifts within each
document key's run of rows; no Python loop over records), no I/O, no clock: the order of versions
comes from the data (the received date in the file name, then the file name, then the record number).

Rules (提出区分)
----------------
Source: the 提出区分 column of the 給与支払報告書（個人別明細書） 統一CSV (docs/sources.md F1.3, column 10;
§1.2 #10 訂正表示), values ``0`` 新規, ``1`` 追加, ``2`` 訂正, ``3`` 取消 (``contracts/layouts/
salary_report.yaml`` ``submission_types``). The 公的年金等支払報告書 uses the same values in its 訂正表示
column (``pension_report.yaml``; presumed identical, docs/sources.md F1.4 #10). A document is identified by
the layout's ``record_key`` (指定番号 + 受給者番号 for salary reports, 指定番号 (payer code) + 受給者番号
for pensions); versions of one key are taken in ``order``.

* 新規 (0) / 追加 (1): a version of the document. 追加 is a record the employer sends after its first
  submission (e.g. a second employer of the same person sends its own record under its own key, or an
  employee forgotten in the first file). If the key already has a current version, the new one replaces
  it (the latest submission wins) and is flagged ``resubmitted`` for operators: the sender should have
  used 訂正, or the same file was delivered twice.
* 訂正 (2): replaces the current version of the same key (which becomes ``superseded``).
* 取消 (3): withdraws the current version (which becomes ``cancelled``); the key then has no current
  version. The 取消 record itself has status ``cancellation`` and is never current.
* A later 新規/追加/訂正 after a 取消 starts the key again.
* A 訂正 or 取消 that finds no current version of its key (nothing earlier, or only a 取消 before it)
  is an ``orphan_correction``: kept and flagged for operators. An orphan 訂正 carries a full record and
  is the only data the ward holds for the key (its original may have been quarantined or not sent), so
  it is current (``is_current``) until something later replaces it; an orphan 取消 is never current.

Because every record that is not a 取消 becomes the current version when it arrives, the version a
record replaces is simply the previous record of the same key (unless that one is a 取消), and the
record that ends a version is the next record of the key. That is why one sort by key and shifts within each key's run suffice.

Records whose key is incomplete (a key column null or blank) cannot be tied to other versions: each
stands alone (``key_missing``), current unless it is a 取消.

Output columns (added to every input row; every version is kept for the audit trail)
------------------------------------------------------------------------------------
``doc_uid`` (kept if given, else ``<file>#<record_no>``), ``version`` (1..n per key in ``order``, 取消
records included), ``valid_from_order`` (1..N: position of the record in the ingest order of the whole
frame), ``valid_to_order`` (``valid_from_order`` of the record that ended this version, null while it
lasts), ``superseded_by`` (doc_uid of the later version that replaced this one, null otherwise),
``cancelled_by`` (doc_uid of the 取消 that withdrew it), ``cancels`` (for a 取消: doc_uid of the version
it withdrew), ``status`` (``current`` | ``superseded`` | ``cancelled`` | ``cancellation`` |
``orphan_correction``), ``is_current``, ``is_orphan`` (the record was an orphan 訂正/取消 when it
arrived, whatever its status now), ``resubmitted`` and ``key_missing``.
"""

from __future__ import annotations

import polars as pl

from contracts.returns_ingest import STATUSES

__all__ = [
    "NEW",
    "ADDITIONAL",
    "CORRECTION",
    "CANCELLATION",
    "HISTORY_COLUMNS",
    "apply_submission_history",
    "document_uid",
    "received_date_from_file",
]

# 提出区分 (docs/sources.md F1.3 col 10)
NEW = "0"  # 新規
ADDITIONAL = "1"  # 追加
CORRECTION = "2"  # 訂正
CANCELLATION = "3"  # 取消
_TYPES = (NEW, ADDITIONAL, CORRECTION, CANCELLATION)

# The ``status`` values (訂正/取消 history) are :data:`contracts.returns_ingest.STATUSES`, the vocabulary
# the staged-document contract validates.

HISTORY_COLUMNS: dict[str, pl.DataType] = {
    "doc_uid": pl.String(),
    "version": pl.Int64(),
    "valid_from_order": pl.Int64(),
    "valid_to_order": pl.Int64(),
    "superseded_by": pl.String(),
    "cancelled_by": pl.String(),
    "cancels": pl.String(),
    "status": pl.Enum(STATUSES),
    "is_current": pl.Boolean(),
    "is_orphan": pl.Boolean(),
    "resubmitted": pl.Boolean(),
    "key_missing": pl.Boolean(),
}

_TMP = "__history_"


def received_date_from_file(expr: pl.Expr) -> pl.Expr:
    """The received date of a document file: the ``YYYYMMDD_`` prefix of its file name (the last path
    component; docs/sample-ward.md) as a Date. Null when the name has no such prefix or the date does
    not exist."""
    digits = expr.str.extract(r"(?:^|/)([0-9]{8})_[^/]*$", 1)
    return digits.str.to_date("%Y%m%d", strict=False)


def document_uid(file: pl.Expr, record_no: pl.Expr) -> pl.Expr:
    """A document record's id: ``<file>#<record_no>`` (file relative to ``landing/``)."""
    return pl.concat_str([file, pl.lit("#"), record_no.cast(pl.String)])


def apply_submission_history(
    records: pl.DataFrame,
    *,
    key: list[str],
    order: list[str],
    submission_type: str = "submission_type",
) -> pl.DataFrame:
    """Every record with its version history columns (see the module docstring for the rules).

    ``key``: the document key columns (the layout's ``record_key``). ``order``: columns that sort the
    versions of a key, earliest first (e.g. ``["received_on", "file", "record_no"]``); rows equal on all
    of them keep their input order. ``submission_type``: the 提出区分 column ('0'..'3').

    Returns the input rows in ``order`` (then input order), with :data:`HISTORY_COLUMNS` appended.
    Raises ``ValueError`` naming the column when a column is missing or a 提出区分 is outside '0'..'3'
    (the parser quarantines such records before this stage).
    """
    if not key or not order:
        raise ValueError("apply_submission_history: key and order must each name at least one column")
    needed = [*key, *order, submission_type]
    if "doc_uid" not in records.columns:
        needed += ["file", "record_no"]
    missing = [c for c in dict.fromkeys(needed) if c not in records.columns]
    if missing:
        raise ValueError(f"apply_submission_history: missing column(s) {', '.join(missing)}; "
                         f"expected the key, the order columns, {submission_type!r} and doc_uid (or file and record_no)")
    clash = [c for c in HISTORY_COLUMNS if c in records.columns and c != "doc_uid"]
    if clash:
        raise ValueError(f"apply_submission_history: input already has history column(s) {', '.join(clash)}")
    bad = records.filter(~pl.col(submission_type).is_in(_TYPES) | pl.col(submission_type).is_null()).height
    if bad:
        raise ValueError(f"apply_submission_history: {bad} record(s) have a 提出区分 ({submission_type}) outside "
                         "0 新規, 1 追加, 2 訂正, 3 取消; quarantine them before the history")

    t = pl.col(submission_type)
    frame = records
    if "doc_uid" not in frame.columns:
        frame = frame.with_columns(document_uid(pl.col("file"), pl.col("record_no")).alias("doc_uid"))

    key_missing = pl.any_horizontal(
        [pl.col(c).is_null() | (pl.col(c).cast(pl.String).str.strip_chars(" \u3000") == "") for c in key]
    )
    row = f"{_TMP}row"
    group = f"{_TMP}group"
    first = f"{_TMP}first"
    frame = (
        frame.with_row_index(row)
        .sort([*order, row], maintain_order=True)
        .with_columns(
            key_missing.alias("key_missing"),
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("valid_from_order"),
        )
        # an incomplete key is its own group (the extra column cannot collide with a real key)
        .with_columns(pl.when(pl.col("key_missing")).then(pl.col(row)).otherwise(None).alias(group))
        # versions of one key next to each other, earliest first; then plain shifts within the run
        .sort([*key, group, "valid_from_order"], nulls_last=True, maintain_order=True)
    )
    over = [*key, group]
    starts = pl.any_horizontal([pl.col(c).ne_missing(pl.col(c).shift(1)) for c in over]).fill_null(True)
    frame = frame.with_columns(starts.alias(first)).with_columns(
        pl.col(first).shift(-1, fill_value=True).alias(f"{_TMP}last")
    )
    same_prev = ~pl.col(first)
    same_next = ~pl.col(f"{_TMP}last")
    prev_t = pl.when(same_prev).then(t.shift(1))
    next_t = pl.when(same_next).then(t.shift(-1))
    prev_uid = pl.when(same_prev).then(pl.col("doc_uid").shift(1))
    next_uid = pl.when(same_next).then(pl.col("doc_uid").shift(-1))
    next_from = pl.when(same_next).then(pl.col("valid_from_order").shift(-1))
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    version = index - pl.when(pl.col(first)).then(index).forward_fill() + 1

    is_cancel = t == CANCELLATION
    had_current = prev_t.is_not_null() & (prev_t != CANCELLATION)  # the previous record is the current version
    ended = next_t.is_not_null()
    by_cancel = next_t == CANCELLATION

    frame = frame.with_columns(
        version.alias("version"),
        pl.when(~is_cancel & ended).then(next_from).alias("valid_to_order"),
        pl.when(~is_cancel & ended & ~by_cancel).then(next_uid).alias("superseded_by"),
        pl.when(~is_cancel & by_cancel).then(next_uid).alias("cancelled_by"),
        pl.when(is_cancel & had_current).then(prev_uid).alias("cancels"),
        (t.is_in([CORRECTION, CANCELLATION]) & ~had_current).alias("is_orphan"),
        (t.is_in([NEW, ADDITIONAL]) & had_current).alias("resubmitted"),
        (~is_cancel & ~ended).alias("is_current"),
    )
    status = (
        pl.when(is_cancel & pl.col("is_orphan")).then(pl.lit("orphan_correction"))
        .when(is_cancel).then(pl.lit("cancellation"))
        .when(pl.col("cancelled_by").is_not_null()).then(pl.lit("cancelled"))
        .when(pl.col("superseded_by").is_not_null()).then(pl.lit("superseded"))
        .when(pl.col("is_orphan")).then(pl.lit("orphan_correction"))
        .otherwise(pl.lit("current"))
    )
    frame = frame.with_columns(status.cast(pl.Enum(STATUSES)).alias("status")).sort("valid_from_order")
    columns = [c for c in records.columns if c != "doc_uid"]
    return frame.select(*columns, *[pl.col(c).cast(dtype) for c, dtype in HISTORY_COLUMNS.items()])
