"""調定 (receivables): the rows the collection ledger opens with, from what the ward notified.

The 当初賦課's notices fix what each person owes on each 期別 of each route: ``curated/installment_schedule``
(written by ``notice_export``: 普通徴収 期別, 給与特別徴収 月別 per employer, 年金特別徴収 月別 per insurer).
Each installment becomes one ``assessment`` row of the ledger (:class:`contracts.collection.LedgerEntries`)
with the 通知書番号 of the notice that told it (:func:`transforms.notices.notice_no`: the 納税通知書 for 普通徴収
and 年金特別徴収, the 特別徴収税額決定通知書 for 給与特別徴収), its 期別, 納期限 and amount. A later change — a
賦課更正, a switch from 年金特別徴収 to 普通徴収 — is new rows, never an edit (地方自治法施行令第154条).

Pure functions over frames; nothing reads the clock or the disk. ``entry_id`` is a digest of the row's key and
content (:func:`entry_id`), so the same inputs give the same ids and a rerun posts nothing twice.
"""

from __future__ import annotations

import polars as pl

from transforms.notices import NOTICE_KINDS

I64 = pl.Int64
LEDGER_COLUMNS = ["entry_id", "posting_run", "posted_on", "entry_kind", "atena_no", "fiscal_year", "route", "payer",
                  "notice_no", "period", "installment", "due_date", "amount", "cause"]


def entry_id(*parts: pl.Expr) -> pl.Expr:
    """The id of a ledger row: the columns that make it unique, joined by ``/`` (a missing one as ``-``). Readable
    and stable across library versions (a hash of Polars' is not), so a rerun recognises what it posted."""
    return pl.concat_str([p.cast(pl.String).fill_null("-") for p in parts], separator="/")


def assessment_entries(schedule: pl.DataFrame, *, fiscal_year: int, posted_on, posting_run: str) -> pl.DataFrame:
    """One ``assessment`` row per 期別 of each route and 特別徴収義務者 in ``schedule`` (curated/installment_schedule:
    person_id, route, payer, sequence, period, due_date, amount; the installments of one 期 summed, as the notice
    prints them) with an amount above 0, posted on ``posted_on`` (the 当初賦課's notice date) by ``posting_run``."""
    kind = pl.when(pl.col("route") == "salary").then(pl.lit(NOTICE_KINDS["special_collection"])) \
        .otherwise(pl.lit(NOTICE_KINDS["tax_notice"]))
    # a 期 of a route holds one amount on the notice: a first-year pensioner's 普通徴収 of June and August
    # carries both the other income's installment and half the pension tax (method "pension", route ordinary)
    per_period = schedule.filter(pl.col("amount") > 0).group_by("person_id", "route", "payer", "period").agg(
        pl.col("sequence").min(), pl.col("due_date").max(), pl.col("amount").sum())
    rows = per_period.select(
        pl.lit(posting_run).alias("posting_run"),
        pl.lit(posted_on, pl.Date).alias("posted_on"),
        pl.lit("assessment").alias("entry_kind"),
        pl.col("person_id").alias("atena_no"),
        pl.lit(fiscal_year, I64).alias("fiscal_year"),
        "route",
        pl.when(pl.col("route") == "ordinary").then(pl.lit(None, pl.String)).otherwise(pl.col("payer")).alias("payer"),
        pl.concat_str(pl.lit(f"{fiscal_year:04d}"), kind, pl.col("person_id")).alias("notice_no"),
        "period",
        pl.col("sequence").cast(pl.Int32).alias("installment"),
        "due_date",
        pl.col("amount").cast(I64),
        pl.concat_str(pl.lit("curated/installment_schedule:"), pl.col("person_id"), pl.lit("/"), pl.col("route"),
                      pl.lit("/"), pl.col("period"), pl.lit("/"), pl.col("sequence").cast(pl.String)).alias("cause"),
    )
    rows = rows.with_columns(entry_id(pl.col("entry_kind"), pl.col("notice_no"), pl.col("route"), pl.col("payer"),
                                      pl.col("period"), pl.col("installment")).alias("entry_id"))
    return rows.select(LEDGER_COLUMNS).sort("atena_no", "route", "payer", "period", "installment", nulls_last=False)


__all__ = ["LEDGER_COLUMNS", "assessment_entries", "entry_id"]
