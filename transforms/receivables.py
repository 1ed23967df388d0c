"""調定 (receivables): the rows the collection ledger opens with, from what the ward notified.

The 当初賦課's notices fix what each person owes on each 期別 of each route: ``curated/installment_schedule``
(written by ``notice_export``: 普通徴収 期別, 給与特別徴収 月別 per employer, 年金特別徴収 月別 per insurer).
Each installment becomes one ``assessment`` row of the ledger (:class:`contracts.collection.LedgerEntries`)
with the 通知書番号 of the notice that told it (:func:`transforms.notices.notice_no`: the 納税通知書 for 普通徴収
and 年金特別徴収, the 特別徴収税額決定通知書 for 給与特別徴収), its 期別, 納期限 and amount. A later change — a
賦課更正, a switch from 年金特別徴収 to 普通徴収 — is new rows, never an edit (地方自治法施行令第154条).

After the opening, :func:`notified_schedule` and :func:`receivables` say what the notices sent by a day tell
each person to pay (the 当初 dispatch, less the pension months a stop moved, plus the 普通徴収 installments that
took them over) and :func:`charge_entries` posts the difference from the ledger's 調定 as ``increase`` or
``decrease`` rows.

Pure functions over frames; nothing reads the clock or the disk. ``entry_id`` is readable, made of the row's key
(:func:`entry_id`), so the same inputs give the same ids and a rerun posts nothing twice.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.notices import NOTICE_KINDS

I64 = pl.Int64
LEDGER_COLUMNS = ["entry_id", "posting_run", "posted_on", "value_date", "entry_kind", "atena_no", "fiscal_year",
                  "route", "payer", "notice_no", "period", "installment", "due_date", "amount", "cause"]
#: the key of a receivable (one 期 of one route of one notice): every row of the ledger names one
KEY = ["notice_no", "route", "payer", "period"]


def entry_id(*parts: pl.Expr) -> pl.Expr:
    """The id of a ledger row: the columns that make it unique, joined by ``/`` (a missing one as ``-``). Readable
    and stable across library versions (a hash of Polars' is not), so a rerun recognises what it posted."""
    return pl.concat_str([p.cast(pl.String).fill_null("-") for p in parts], separator="/")


# ----------------------------------------------------------------------------------------------- 調定
def installment_numbers(periods: pl.Expr, route: pl.Expr, due_months: list[int]) -> pl.Expr:
    """期別 of a receivable: 普通徴収 the ordinance's 第n期 (the position of the period's month among
    ``due_months``, rules/profiles ordinary_collection); 特別徴収 the month of the 年度 (4月 = 1 … 3月 = 12)."""
    month = periods.str.slice(5, 2).cast(pl.Int32)
    ordinary = month.replace_strict({m: i + 1 for i, m in enumerate(due_months)}, default=None,
                                    return_dtype=pl.Int32)
    fiscal_month = ((month + 8) % 12 + 1).cast(pl.Int32)
    return pl.when(route == "ordinary").then(ordinary).otherwise(fiscal_month)


def notified_schedule(schedule: pl.DataFrame, moves: pl.DataFrame | None, switch: pl.DataFrame | None,
                      as_of: date) -> pl.DataFrame:
    """The installments (curated/installment_schedule shape) that the notices sent by ``as_of`` tell: the 当初
    dispatch's, less the pension months a stop moved (curated/pension_moves with a notice dated by then), plus
    the 普通徴収 installments that took them over (curated/pension_switch_installments)."""
    out = schedule.select("person_id", "route", "payer", "period", "due_date", "amount")
    if moves is not None and moves.height:
        gone = moves.filter(pl.col("notice_date") <= as_of).select(
            pl.col("atena_no").alias("person_id"), "period", "route").unique()
        out = out.join(gone, on=["person_id", "period", "route"], how="anti")
    if switch is not None and switch.height:
        added = switch.filter(pl.col("notice_date") <= as_of).select(
            "person_id", pl.lit("ordinary").alias("route"), pl.lit(None, pl.String).alias("payer"), "period",
            "due_date", pl.col("amount").cast(I64))
        out = pl.concat([out, added], how="vertical_relaxed")
    return out


def receivables(notified: pl.DataFrame, *, fiscal_year: int, due_months: list[int]) -> pl.DataFrame:
    """One row per 通知書番号, route, 特別徴収義務者 and 期別 with what the notices tell (``target``; the
    installments of one 期 summed, as the notice prints them), its 納期限 and 期別 number."""
    kind = pl.when(pl.col("route") == "salary").then(pl.lit(NOTICE_KINDS["special_collection"])) \
        .otherwise(pl.lit(NOTICE_KINDS["tax_notice"]))
    per = notified.with_columns(
        pl.when(pl.col("route") == "ordinary").then(pl.lit(None, pl.String)).otherwise(pl.col("payer")).alias("payer"),
    ).group_by("person_id", "route", "payer", "period").agg(pl.col("due_date").max(), pl.col("amount").sum())
    return per.select(
        pl.col("person_id").alias("atena_no"),
        pl.concat_str(pl.lit(f"{fiscal_year:04d}"), kind, pl.col("person_id")).alias("notice_no"),
        "route", "payer", "period",
        installment_numbers(pl.col("period"), pl.col("route"), due_months).alias("installment"),
        "due_date", pl.col("amount").cast(I64).alias("target"),
    ).sort(KEY, nulls_last=False)


def ledger_rows(frame: pl.DataFrame, *, kind: pl.Expr | str, posting_run: str, posted_on: date,
                 fiscal_year: int, amount: pl.Expr, cause: pl.Expr, id_suffix: pl.Expr | None = None,
                 value_date: pl.Expr | None = None) -> pl.DataFrame:
    kind_expr = pl.lit(kind) if isinstance(kind, str) else kind
    rows = frame.select(
        pl.lit(posting_run).alias("posting_run"),
        pl.lit(posted_on, pl.Date).alias("posted_on"),
        (value_date if value_date is not None else pl.lit(posted_on, pl.Date)).alias("value_date"),
        kind_expr.alias("entry_kind"),
        "atena_no",
        pl.lit(fiscal_year, I64).alias("fiscal_year"),
        "route", "payer", "notice_no", "period",
        pl.col("installment").cast(pl.Int32),
        "due_date",
        amount.cast(I64).alias("amount"),
        cause.alias("cause"),
        (id_suffix if id_suffix is not None else pl.lit(None, pl.String)).alias("_suffix"),
    )
    rows = rows.with_columns(entry_id(pl.col("entry_kind"), *(pl.col(k) for k in KEY), pl.col("_suffix"))
                             .alias("entry_id")).drop("_suffix")
    return rows.filter(pl.col("amount") > 0).select(LEDGER_COLUMNS)


def charge_entries(targets: pl.DataFrame, charged: pl.DataFrame, *, opening: bool, fiscal_year: int,
                   posting_run: str, posted_on: date, cause: str) -> pl.DataFrame:
    """The 調定 rows that bring the ledger's 調定 (``charged``: KEY + ``charged``) to what the notices tell
    (``targets`` of :func:`receivables`): ``assessment`` rows on the ``opening`` posting (the 当初 dispatch),
    later ``increase`` or ``decrease`` rows of the difference (a key the notices no longer name falls to 0)."""
    both = targets.join(charged.select(*KEY, "charged"), on=KEY, how="full", coalesce=True, nulls_equal=True)
    both = both.filter(pl.col("target").is_not_null())  # a key the notices dropped keeps its 納期限 below
    dropped = charged.join(targets.select(KEY), on=KEY, how="anti", nulls_equal=True)
    if dropped.height:
        both = pl.concat([both, dropped.select(
            "atena_no", "notice_no", "route", "payer", "period", "installment", "due_date",
            pl.lit(0, I64).alias("target"), "charged")], how="vertical_relaxed")
    diff = both.with_columns((pl.col("target") - pl.col("charged").fill_null(0)).alias("_diff"))
    if opening:
        kind = pl.when(pl.col("charged").is_null()).then(pl.lit("assessment")) \
            .when(pl.col("_diff") > 0).then(pl.lit("increase")).otherwise(pl.lit("decrease"))
    else:
        kind = pl.when(pl.col("_diff") > 0).then(pl.lit("increase")).otherwise(pl.lit("decrease"))
    suffix = pl.when(kind == "assessment").then(pl.lit(None, pl.String)).otherwise(pl.lit(posting_run))
    return ledger_rows(diff.filter(pl.col("_diff") != 0), kind=kind, posting_run=posting_run, posted_on=posted_on,
                        fiscal_year=fiscal_year, amount=pl.col("_diff").abs(), cause=pl.lit(cause),
                        id_suffix=suffix)


def assessment_entries(schedule: pl.DataFrame, *, fiscal_year: int, posted_on, posting_run: str,
                       due_months: list[int]) -> pl.DataFrame:
    """The opening 調定: one ``assessment`` row per 期別 of each route and 特別徴収義務者 in ``schedule``
    (curated/installment_schedule) with an amount above 0, posted on ``posted_on`` (the 当初賦課's notice date)."""
    empty = pl.DataFrame(schema={**{k: pl.String for k in KEY}, "charged": I64})
    return charge_entries(receivables(schedule, fiscal_year=fiscal_year, due_months=due_months), empty,
                          opening=True, fiscal_year=fiscal_year, posting_run=posting_run, posted_on=posted_on,
                          cause="curated/installment_schedule")


__all__ = ["KEY", "LEDGER_COLUMNS", "assessment_entries", "charge_entries", "entry_id", "installment_numbers",
           "ledger_rows", "notified_schedule", "receivables"]
