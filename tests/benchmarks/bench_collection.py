"""Benchmark of collection accounting (`make bench BENCH=collection`; issue 15 point 8, docs/collection.md).

A synthetic 年度 of a ward of ``residents`` (60 % taxed: 65 % of them 給与特別徴収 in 12 months per employer,
25 % 普通徴収 in 4 期, 10 % 年金特別徴収 in 6 months) is opened as the ledger's 調定; then

* **one day**: 200,000 payment records (窓口 OCR slips, written as 全銀-like files and read back by the codec,
  plus the employers' remittances) are read, matched (消込), 充当・還付 decided and the 督促 of the day found —
  the per-day work of :class:`pipelines.collection._Context` on the whole ledger, without the lake's writes;
* **a year**: the same work replayed over 180 posting days: the 普通徴収 payments spread over them, each
  employer's and pension insurer's remittance of each month on a day between the 3rd and the 10th of the next,
  the ledger growing day by day and each 期 still unpaid 15 days after its 納期限 demanded once (as the stage
  keeps its 督促 history).

Targets (issue 15): the day ≤ 30 s, the year ≤ 5 min, peak ≤ 6 GiB at 1,000,000 residents. The figures are the
transforms' (frames in memory); the stage adds its Parquet writes per day.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from tests.benchmarks.harness import measure, peak_rss_gib

DAY_RECORDS = 200_000
YEAR_DAYS = 180


def synthetic_schedule(residents: int, seed: int, fiscal_year: int):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    taxed = int(residents * 0.6)
    ids = np.array([f"01{i:08d}" for i in range(taxed)])
    kind = rng.choice(np.array(["salary", "ordinary", "pension"]), taxed, p=[0.65, 0.25, 0.10])
    frames = []
    sal = ids[kind == "salary"]
    months = [f"{fiscal_year + (m < 6)}-{m:02d}" for m in (6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5)]
    frames.append(pl.DataFrame({"person_id": np.repeat(sal, 12), "period": np.tile(months, len(sal))}).with_columns(
        pl.lit("salary").alias("method"), pl.lit("salary").alias("route"),
        pl.Series("payer", np.repeat(rng.integers(1, 20_000, len(sal)), 12)).cast(pl.String).str.zfill(8),
    ))
    ordn = ids[kind == "ordinary"]
    periods = [f"{fiscal_year}-06", f"{fiscal_year}-08", f"{fiscal_year}-10", f"{fiscal_year + 1}-01"]
    frames.append(pl.DataFrame({"person_id": np.repeat(ordn, 4), "period": np.tile(periods, len(ordn))})
                  .with_columns(pl.lit("ordinary").alias("method"), pl.lit("ordinary").alias("route"),
                                pl.lit(None, pl.String).alias("payer")))
    pen = ids[kind == "pension"]
    pmonths = [f"{fiscal_year}-{m:02d}" for m in (4, 6, 8, 10, 12)] + [f"{fiscal_year + 1}-02"]
    frames.append(pl.DataFrame({"person_id": np.repeat(pen, 6), "period": np.tile(pmonths, len(pen))})
                  .with_columns(pl.lit("pension").alias("method"),
                                pl.when(pl.col("period") < f"{fiscal_year}-10").then(pl.lit("pension_provisional"))
                                .otherwise(pl.lit("pension_main")).alias("route"),
                                pl.lit("999").alias("payer")))
    schedule = pl.concat(frames, how="vertical_relaxed")
    month_end = pl.col("period").str.to_date("%Y-%m").dt.month_end()
    schedule = schedule.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int32).over("person_id", "method").alias("sequence"),
        pl.when(pl.col("route") == "ordinary").then(month_end)
        .otherwise(month_end.dt.offset_by("10d").dt.month_start().dt.offset_by("9d")).alias("due_date"),
        pl.Series("amount", rng.integers(30, 400, schedule.height) * 100).cast(pl.Int64),
    )
    return schedule.select("person_id", "method", "sequence", "period", "due_date", "amount", "route", "payer")


def _day_records(bal, n: int, seed: int, day: date, file: str):
    """``n`` 窓口 payments of unpaid 普通徴収 期 and the employers' remittances of one month, as records."""
    import numpy as np
    import polars as pl

    from transforms.collection import RECORD_SCHEMA

    rng = np.random.default_rng(seed)
    ordinary = bal.filter((pl.col("route") == "ordinary") & (pl.col("unpaid") > 0))
    take = ordinary.sample(n=min(n, ordinary.height), seed=int(rng.integers(1 << 30)))
    slips = take.select(
        pl.lit(file).alias("file"), (pl.int_range(pl.len()) + 2).cast(pl.Int64).alias("record_no"),
        pl.lit("bank_counter").alias("channel"), pl.lit("final").alias("report_kind"),
        pl.concat_str(pl.lit(file), pl.lit("#"), pl.int_range(pl.len()).cast(pl.String)).alias("reference"),
        pl.lit(day, pl.Date).alias("paid_on"), pl.lit(day, pl.Date).alias("credited_on"), "notice_no",
        "installment", pl.lit(None, pl.String).alias("route"), pl.lit(None, pl.String).alias("payer"),
        pl.lit(None, pl.String).alias("period"), pl.col("unpaid").alias("amount"),
        pl.lit(0, pl.Int64).alias("retirement_amount"))
    return slips.select(list(RECORD_SCHEMA)).cast(RECORD_SCHEMA)


def _remittances(opening, days: list[date], seed: int):
    """The 特別徴収義務者' remittances of the year, by posting day: each employer and each pension insurer remits
    each month's 調定 whole (one record each), on a posting day between the 3rd and the 10th of the next month
    (地方税法第321条の5, 第321条の7 の 10日), drawn per remitter."""
    import numpy as np
    import polars as pl

    from transforms.collection import RECORD_SCHEMA

    family = pl.when(pl.col("route") == "salary").then(pl.lit("salary")).otherwise(pl.lit("pension"))
    months = opening.filter(pl.col("route") != "ordinary").group_by(family.alias("family"), "payer", "period").agg(
        pl.col("amount").sum()).sort("family", "payer", "period")
    rng = np.random.default_rng(seed)
    calendar = pl.DataFrame({"paid_on": days})
    # the month after the period, its 3rd … 10th: the posting days in that window, one drawn per remittance
    start = pl.col("period").str.to_date("%Y-%m").dt.offset_by("1mo").dt.offset_by("2d")
    months = months.with_columns(start.alias("_from"), pl.Series("_pick", rng.random(months.height)))
    windows = months.with_row_index("_r").join_where(
        calendar, pl.col("paid_on") >= pl.col("_from"), pl.col("paid_on") <= pl.col("_from").dt.offset_by("7d"))
    chosen = windows.with_columns(pl.len().over("_r").alias("_n"), pl.int_range(pl.len()).over("_r").alias("_i")) \
        .filter(pl.col("_i") == (pl.col("_pick") * pl.col("_n")).floor().cast(pl.Int64))
    records = chosen.sort("paid_on", "family", "payer", "period").select(
        pl.concat_str(pl.lit("remittance_"), pl.col("paid_on").dt.strftime("%Y%m%d"), pl.lit(".dat")).alias("file"),
        (pl.int_range(pl.len()).over("paid_on") + 2).cast(pl.Int64).alias("record_no"),
        pl.lit("special_remittance").alias("channel"), pl.lit("final").alias("report_kind"),
        pl.lit(None, pl.String).alias("reference"), "paid_on", pl.col("paid_on").alias("credited_on"),
        pl.lit(None, pl.String).alias("notice_no"), pl.lit(None, pl.Int32).alias("installment"),
        pl.col("family").alias("route"), "payer", "period", "amount", pl.lit(0, pl.Int64).alias("retirement_amount"))
    records = records.with_columns(pl.concat_str(pl.col("file"), pl.lit("#"), pl.col("record_no").cast(pl.String))
                                   .alias("reference")).select(list(RECORD_SCHEMA)).cast(RECORD_SCHEMA)
    return {d: frame for (d,), frame in records.partition_by("paid_on", as_dict=True).items()}


def _post(receipts, bal, records, outcomes, demanded, *, fiscal_year: int, day: date):
    """One posting day's work, as the stage does it (pipelines.collection._Context.post_day): balances kept up to
    date, not rebuilt; the ledger's receipts kept (narrow, keyed) for the 延滞金 of the 期 paid late and of the 期
    demanded; each 期 demanded once; no writes. Returns the receipts, balances, outcomes, 督促 so far and the
    number of ledger rows the day posted."""
    import polars as pl

    from pipelines.collection import _receipts, late_charges_of
    from transforms.collection import apply_entries, appropriations, demands, late_charge_rows, match_payments, \
        pending_preliminary
    from transforms.tax_rules import RuleError

    def late(touched, receipts):
        try:
            return late_charge_rows(bal, touched, receipts, fiscal_year=fiscal_year, posting_run=run, posted_on=day)
        except RuleError:  # a day without a published rate: the stage says so and charges none
            return touched.head(0)

    run = day.isoformat()
    pays, out = match_payments(records, bal, outcomes, fiscal_year=fiscal_year, posting_run=run, posted_on=day)
    bal = apply_entries(bal, pays)
    receipts = pl.concat([receipts, _receipts(pays)], how="vertical")
    charged = late(pays, receipts)
    bal = apply_entries(bal, charged)
    moved, _refunds = appropriations(bal, fiscal_year=fiscal_year, posting_run=run, posted_on=day)
    bal = apply_entries(bal, moved)
    receipts = pl.concat([receipts, _receipts(moved)], how="vertical")
    charged_after = late(moved.filter(pl.col("entry_kind") == "appropriation_in"), receipts)
    bal = apply_entries(bal, charged_after)
    outcomes = pl.concat([outcomes, out], how="vertical")
    due = demands(bal, demanded, pending_preliminary(outcomes, bal), day=day, issue_after_days=15)
    if due.height:
        late_charges_of(due, receipts, day, lambda sentence: None)
    posted = pays.height + charged.height + moved.height + charged_after.height
    return receipts, bal, outcomes, pl.concat([demanded, due.select(demanded.columns)], how="vertical"), posted


def _child(residents: int, seed: int, fiscal_year: int) -> dict[str, Any]:
    import polars as pl

    from pipelines.collection import _receipts
    from transforms.collection import OUTCOME_SCHEMA, balances
    from transforms.payment_records import read_payment_file, write_payment_file
    from transforms.receivables import assessment_entries

    started = time.perf_counter()
    schedule = synthetic_schedule(residents, seed, fiscal_year)
    opening = assessment_entries(schedule, fiscal_year=fiscal_year, posted_on=date(fiscal_year, 5, 20),
                                 posting_run=f"{fiscal_year}-05-20", due_months=[6, 8, 10, 1])
    setup = time.perf_counter() - started
    outcomes = pl.DataFrame(schema=OUTCOME_SCHEMA)

    # one day: 200,000 records written as 窓口 OCR files, read back, posted
    day = date(fiscal_year, 6, 29)
    records = _day_records(balances(opening), DAY_RECORDS, seed, day, "bank_counter_day.dat")
    data = write_payment_file(records.select("paid_on", pl.lit("0005").alias("bank_code"),
                                             pl.lit("041").alias("branch_code"), "notice_no", "installment",
                                             "amount", (pl.col("record_no").cast(pl.String).str.zfill(8))
                                             .alias("serial_no"), "credited_on"),
                              file="bank_counter_day.dat", channel="bank_counter", created=day,
                              municipality_code="131032", reporting_bank_code="0005")
    t0 = time.perf_counter()
    parsed = read_payment_file(data, file="bank_counter_day.dat", channel="bank_counter")
    read_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    bal = balances(opening, sort=False)  # once a run, as the stage does
    _post(_receipts(opening), bal, parsed.records, outcomes, _no_demands(), fiscal_year=fiscal_year, day=day)
    day_seconds = time.perf_counter() - t0 + read_seconds

    # a year: the 普通徴収 payments spread over 180 days, the employers' and insurers' remittances each month, the
    # ledger growing and every 期 unpaid 15 days after its 納期限 demanded once
    receipts, outcomes, demanded = _receipts(opening), pl.DataFrame(schema=OUTCOME_SCHEMA), _no_demands()
    ledger_rows = opening.height
    per_day = max(1, int(opening.filter(pl.col("route") == "ordinary").height / YEAR_DAYS))
    days = [date(fiscal_year, 5, 21) + timedelta(days=2 * k) for k in range(YEAR_DAYS)]
    bal = balances(opening, sort=False)
    # the payers of each day are drawn beforehand (the drawing is not the stage's work)
    remitted = _remittances(opening, days, seed)
    drawn = [pl.concat([_day_records(bal, per_day, seed + k, d, f"bank_counter_{k}.dat"),
                        *([remitted[d]] if d in remitted else [])]) for k, d in enumerate(days)]
    t0 = time.perf_counter()
    for d, recs in zip(days, drawn):
        receipts, bal, outcomes, demanded, posted = _post(receipts, bal, recs, outcomes, demanded,
                                                          fiscal_year=fiscal_year, day=d)
        ledger_rows += posted
    year_seconds = time.perf_counter() - t0
    remittances = sum(frame.height for frame in remitted.values())
    unpaid_share = round(float((bal["unpaid"] > 0).mean()), 3)
    return {
        "ledger_opening_rows": opening.height, "setup_seconds": round(setup, 2),
        "day_records": parsed.records.height, "day_read_seconds": round(read_seconds, 2),
        "day_seconds": round(day_seconds, 2), "day_target_seconds": 30,
        "year_days": YEAR_DAYS, "year_records": outcomes.height, "year_remittances": remittances,
        "year_demands": demanded.height, "year_unpaid_key_share": unpaid_share, "year_ledger_rows": ledger_rows,
        "year_seconds": round(year_seconds, 1), "year_target_seconds": 300,
        "peak_rss_gib": peak_rss_gib(), "peak_target_gib": 6,
    }


def _no_demands():
    import polars as pl

    return pl.DataFrame(schema={"notice_no": pl.String, "route": pl.String, "payer": pl.String, "period": pl.String})


def bench(residents: int = 1_000_000, seed: int = 20260101, fiscal_year: int = 2026) -> dict[str, Any]:
    return measure(_child, residents, seed, fiscal_year)
