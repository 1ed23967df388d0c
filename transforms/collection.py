"""収納管理 (collection accounting): 調定 changes, 消込 of payments, 充当 and 還付, 督促 — pure frame functions.

The ledger (:class:`contracts.collection.LedgerEntries`) is append-only. What each posting run adds is decided
here from what the ledger already holds (its rows up to the run) and what arrived:

* the 調定 rows themselves come from :mod:`transforms.receivables`;
* :func:`match_payments` — 消込 of the day's payment records (:mod:`transforms.payment_records`): a record
  of a 納付書 (コンビニ, MPN, eL-QR, 窓口) pays the 期別 its 通知書番号 and 期別 name, whatever the amount (a
  short payment leaves the rest due, a long one is 過誤納 on that 期); a 特別徴収 remittance pays its
  特別徴収義務者's month, person by person in 宛名番号 order up to each one's unpaid amount. A 速報 is held
  as provisional until its 確報 (counted once) or its 取消; a record that names nothing the ledger holds goes to
  the 未特定入金 queue (suspense), never guessed; a record already posted is refused as a duplicate.
* :func:`appropriations` — a 期's 過誤納 goes first to the same person's unpaid 普通徴収 期別, oldest 納期限 first
  (充当, 地方税法第17条の2); what is left is refunded (還付, 第17条).
* :func:`demands` — a 督促 for every 期 still unpaid the given number of days after its 納期限 (第329条: within
  20 days), unless a 速報 of it is pending.

Nothing here reads the disk or the clock. Money is Int64 yen.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.receivables import KEY, LEDGER_COLUMNS, ledger_rows

I64 = pl.Int64
#: where an inbound payment record ends (docs/collection.md)
DISPOSITIONS = ("posted", "provisional", "cancelled_provisional", "suspense", "quarantined")
#: routes a person's own money sits on (an employer's remittance is the employer's: not 充当 to the person)
PERSONAL_ROUTES = ("ordinary", "pension_provisional", "pension_main", "late_charge")
#: the routes a person owes on and an overpayment is 充当 to: the tax first, its 延滞金 last (地方税法第17条の2)
OWED_ROUTES = ("ordinary", "late_charge")
PENSION_ROUTES = ("pension_provisional", "pension_main")

RECORD_SCHEMA = {
    "file": pl.String, "record_no": I64, "channel": pl.String, "report_kind": pl.String, "reference": pl.String,
    "paid_on": pl.Date, "credited_on": pl.Date, "notice_no": pl.String, "installment": pl.Int32,
    "route": pl.String, "payer": pl.String, "period": pl.String, "amount": I64, "retirement_amount": I64,
}
#: one row per inbound record and what became of it: curated/payment_records
OUTCOME_SCHEMA = {
    "posting_run": pl.String, "file": pl.String, "record_no": I64, "channel": pl.String,
    "report_kind": pl.String, "reference": pl.String, "paid_on": pl.Date, "notice_no": pl.String,
    "installment": pl.Int32, "route": pl.String, "payer": pl.String, "period": pl.String, "amount": I64,
    "retirement_amount": I64, "disposition": pl.String, "reason_code": pl.String, "posted_amount": I64,
    "suspense_amount": I64,
}


# ------------------------------------------------------------------------------------------- balances
def balances(ledger: pl.DataFrame, *, sort: bool = True) -> pl.DataFrame:
    """Per KEY: ``charged`` (調定), ``received`` (収入, net of refunds and 充当 out), ``unpaid``, ``overpaid``,
    with the key's person, 期別 and 納期限 (the ledger's own; the same figures as sql/receivable_balances.sql),
    sorted by KEY unless ``sort`` is False."""
    signed_charge = pl.when(pl.col("entry_kind").is_in(["assessment", "increase"])).then(pl.col("amount")) \
        .when(pl.col("entry_kind") == "decrease").then(-pl.col("amount")).otherwise(0)
    signed_receipt = pl.when(pl.col("entry_kind").is_in(["payment", "appropriation_in"])).then(pl.col("amount")) \
        .when(pl.col("entry_kind").is_in(["refund", "appropriation_out"])).then(-pl.col("amount")).otherwise(0)
    out = ledger.group_by(KEY).agg(
        pl.col("atena_no").first(), pl.col("installment").min(), pl.col("due_date").min(),
        signed_charge.sum().cast(I64).alias("charged"), signed_receipt.sum().cast(I64).alias("received"))
    out = _settled(out)
    return out.sort(KEY, nulls_last=False) if sort else out


def _settled(frame: pl.DataFrame) -> pl.DataFrame:
    extra = [c for c in INDEX if c in frame.columns]
    return frame.with_columns(
        (pl.col("charged") - pl.col("received")).clip(lower_bound=0).alias("unpaid"),
        (pl.col("received") - pl.col("charged")).clip(lower_bound=0).alias("overpaid"),
    ).select(*_BALANCE_COLUMNS, *extra)


_BALANCE_COLUMNS = ["atena_no", *KEY, "installment", "due_date", "charged", "received", "unpaid", "overpaid"]
#: the lookup columns :func:`apply_entries` keeps on the stage's balances: 64-bit hashes of the KEY, the 宛名番号,
#: the 通知書番号 and the month of a 特別徴収義務者 (payer and period). A day names a few thousand keys of millions;
#: finding them by a hash is a scan of integers, not of text, and every hit is then confirmed on the text itself
#: (a hash collision cannot mix two keys).
INDEX = ["_h", "_ah", "_nh", "_mh"]
_HASHED = {"atena_no": "_ah", "notice_no": "_nh", "payer_month": "_mh"}


def _payer_month(payer: pl.Expr, period: pl.Expr) -> pl.Expr:
    return pl.concat_str([payer.fill_null("-"), period.fill_null("-")], separator="/")


def _index() -> list[pl.Expr]:
    key = pl.concat_str([pl.col(k).fill_null("-") for k in KEY], separator="/")
    return [key.hash().alias("_h"), pl.col("atena_no").hash().alias("_ah"), pl.col("notice_no").hash().alias("_nh"),
            _payer_month(pl.col("payer"), pl.col("period")).hash().alias("_mh")]


def indexed(bal: pl.DataFrame) -> pl.DataFrame:
    """``bal`` with the :data:`INDEX` columns (computed once; :func:`apply_entries` keeps them)."""
    return bal if "_h" in bal.columns else bal.with_columns(_index())


def rows_naming(bal: pl.DataFrame, column: str, values: pl.Series) -> pl.DataFrame:
    """The rows of ``bal`` whose ``column`` (``atena_no``, ``notice_no``, or ``payer_month``: payer and period as
    ``payer/period``) is one of ``values``: through the index when ``bal`` has one (an integer scan, then the text
    compared on the few rows found)."""
    wanted = values.drop_nulls().unique()
    if wanted.len() == 0:
        return bal.clear()
    hashed = _HASHED[column]
    if hashed in bal.columns:
        bal = bal.filter(pl.col(hashed).is_in(wanted.hash().implode()))
    text = _payer_month(pl.col("payer"), pl.col("period")) if column == "payer_month" else pl.col(column)
    return bal.filter(text.is_in(wanted.implode()))


def keyed(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (ledger rows) with the KEY's hash ``_h`` (:data:`INDEX`), for :func:`rows_of_keys`."""
    return rows.with_columns(_index()[0])


def rows_of_keys(frame: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``frame`` (ledger rows or balances) whose KEY is one of ``keys``' (a frame with the KEY
    columns): through ``_h`` when ``frame`` has it (:func:`keyed`), the text deciding."""
    wanted = keys.select(KEY).unique()
    if wanted.height == 0:
        return frame.clear()
    if "_h" in frame.columns:
        frame = frame.filter(pl.col("_h").is_in(wanted.select(_index()[0]).to_series().implode()))
    return frame.join(wanted, on=KEY, how="semi", nulls_equal=True)


def apply_entries(bal: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """The balances after ``rows`` (new ledger rows) are posted: :func:`balances` of the ledger with them, computed
    from the balances before (``bal``) by touching only the keys the rows name. A day's rows are few and the
    ledger is large, so the keys are found through the :data:`INDEX` (added once) and their figures updated in
    place of a copy (the text columns are shared, not copied); a key the ledger did not hold is appended. The
    rows keep their order."""
    bal = indexed(bal)
    if rows.height == 0:
        return bal
    delta = balances(rows, sort=False).with_columns(_index())
    found_at = bal["_h"].is_in(delta["_h"].implode()).arg_true()
    known = bal[found_at].select(*KEY, "installment", "due_date", "charged", "received").with_columns(
        found_at.alias("_at"))
    both = delta.join(known, on=KEY, how="left", nulls_equal=True, suffix="_was")  # the text decides, not the hash
    old = both.filter(pl.col("_at").is_not_null())
    new = both.filter(pl.col("_at").is_null()).select(bal.columns)
    at = old["_at"]
    updated = bal.with_columns(
        bal["charged"].scatter(at, old["charged"] + old["charged_was"]),
        bal["received"].scatter(at, old["received"] + old["received_was"]),
        bal["installment"].scatter(at, old.select(pl.min_horizontal("installment", "installment_was"))
                                   .to_series().cast(bal.schema["installment"])),
        bal["due_date"].scatter(at, old.select(pl.min_horizontal("due_date", "due_date_was")).to_series()),
    )
    figures = _settled(updated[at].select(*bal.columns))
    updated = updated.with_columns(
        updated["unpaid"].scatter(at, figures["unpaid"]), updated["overpaid"].scatter(at, figures["overpaid"]))
    return pl.concat([updated, new], how="vertical_relaxed") if new.height else updated


# ----------------------------------------------------------------------------------------------- 消込
def _outcomes(records: pl.DataFrame, posting_run: str, disposition: pl.Expr, reason: pl.Expr,
              posted: pl.Expr, suspense: pl.Expr) -> pl.DataFrame:
    return records.select(
        pl.lit(posting_run).alias("posting_run"), "file", "record_no", "channel", "report_kind", "reference",
        "paid_on", "notice_no", "installment", "route", "payer", "period", "amount", "retirement_amount",
        disposition.alias("disposition"), reason.alias("reason_code"), posted.cast(I64).alias("posted_amount"),
        suspense.cast(I64).alias("suspense_amount"))


def match_payments(records: pl.DataFrame, bal: pl.DataFrame, earlier: pl.DataFrame, *, fiscal_year: int,
                   posting_run: str, posted_on: date, pension_detail: pl.DataFrame | None = None
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """消込 of the run's payment records (``records``: :data:`RECORD_SCHEMA`, every file of the day) against the
    ledger's balances ``bal`` (:func:`balances`, 調定 of this run included) and ``earlier`` outcomes (every earlier
    posting run's curated/payment_records). Returns the ledger's ``payment`` rows and one outcome per record
    (:data:`OUTCOME_SCHEMA`). Records are taken in (paid_on, file, record_no) order. ``pension_detail``
    (atena_no, route, payer, period, withheld: what each pension insurer reported withholding from each person,
    curated/pension_ledger) lets a pension remittance that equals its month's detail pay person by person what
    was withheld from each, a 調定 or not (a 仮徴収 above this year's tax is the person's overpayment)."""
    recs = records.sort("paid_on", "file", "record_no")
    # a final record posted before, or twice in the day's files, counts once: the first
    seen = earlier.filter((pl.col("disposition") == "posted") & (pl.col("report_kind") == "final")) \
        .select("channel", "reference", pl.lit(True).alias("_seen")).unique()
    recs = recs.join(seen, on=["channel", "reference"], how="left").with_columns(
        pl.col("_seen").fill_null(False),
        (pl.int_range(pl.len()).over("channel", "reference", "report_kind") > 0).alias("_dup_today"))
    recs = recs.with_columns(
        ((pl.col("report_kind") == "final") & pl.col("reference").is_not_null()
         & (pl.col("_seen") | pl.col("_dup_today"))).alias("_duplicate"))

    slips = recs.filter((pl.col("channel") != "special_remittance") & ~pl.col("_duplicate"))
    remits = recs.filter((pl.col("channel") == "special_remittance") & ~pl.col("_duplicate"))

    outcomes = [_outcomes(recs.filter(pl.col("_duplicate")), posting_run, pl.lit("quarantined"),
                          pl.lit("duplicate_payment"), pl.lit(0), pl.lit(0))]

    # 速報 and 速報取消: held, not posted
    prelim = slips.filter(pl.col("report_kind") == "preliminary")
    cancel = slips.filter(pl.col("report_kind") == "preliminary_cancel")
    outcomes.append(_outcomes(prelim, posting_run, pl.lit("provisional"), pl.lit(None, pl.String), pl.lit(0),
                              pl.lit(0)))
    pending_refs = pl.concat([earlier.filter(pl.col("disposition") == "provisional").select("reference"),
                              prelim.select("reference")])["reference"]
    outcomes.append(_outcomes(cancel, posting_run,
                              pl.when(pl.col("reference").is_in(pending_refs.implode())).then(pl.lit("cancelled_provisional"))
                              .otherwise(pl.lit("suspense")),
                              pl.when(pl.col("reference").is_in(pending_refs.implode())).then(pl.lit(None, pl.String))
                              .otherwise(pl.lit("cancel_without_preliminary")), pl.lit(0), pl.lit(0)))

    # 納付書 payments: the 期 their 通知書番号 and 期別 name
    final = slips.filter(pl.col("report_kind") == "final")
    named = rows_naming(bal, "notice_no", final["notice_no"])  # the 期 of the 通知書番号 the records name
    ordinary = named.filter(pl.col("route") == "ordinary").select(
        "notice_no", "installment", "atena_no", "route", "payer", "period", "due_date")
    known_notices = named.select("notice_no").unique()
    hit = final.join(ordinary, on=["notice_no", "installment"], how="left", suffix="_ledger")
    reason = (pl.when(pl.col("notice_no").is_null()).then(pl.lit("no_notice_number"))
              .when(~pl.col("notice_no").str.starts_with(f"{fiscal_year:04d}")).then(pl.lit("other_fiscal_year"))
              .when(~pl.col("notice_no").is_in(known_notices["notice_no"].implode())).then(pl.lit("unknown_notice"))
              .when(pl.col("atena_no").is_null()).then(pl.lit("unknown_installment")))
    hit = hit.with_columns(reason.alias("_reason"))
    ok = hit.filter(pl.col("_reason").is_null())
    lost = hit.filter(pl.col("_reason").is_not_null())
    outcomes.append(_outcomes(ok.with_columns(pl.col("route_ledger").alias("route"),
                                              pl.col("payer_ledger").alias("payer"),
                                              pl.col("period_ledger").alias("period")),
                              posting_run, pl.lit("posted"), pl.lit(None, pl.String), pl.col("amount"), pl.lit(0)))
    outcomes.append(_outcomes(lost, posting_run, pl.lit("suspense"), pl.col("_reason"), pl.lit(0),
                              pl.col("amount")))
    slip_rows = ok.select(
        "atena_no", "notice_no", pl.col("route_ledger").alias("route"), pl.col("payer_ledger").alias("payer"),
        pl.col("period_ledger").alias("period"), "installment", "due_date", "amount", "paid_on", "file",
        "record_no", "channel")

    # 特別徴収 remittances: the 特別徴収義務者's month, person by person
    by_detail, detail_rows, detail_outcomes = _pension_by_detail(remits, bal, pension_detail, fiscal_year,
                                                                 posting_run)
    remit_rows, remit_outcomes = _allocate_remittances(remits.join(by_detail, on=["file", "record_no"], how="anti"),
                                                       bal, posting_run)
    remit_rows = pl.concat([remit_rows, detail_rows], how="vertical_relaxed")
    outcomes.append(detail_outcomes)
    outcomes.append(remit_outcomes)

    pays = pl.concat([slip_rows, remit_rows], how="vertical_relaxed")
    posted = ledger_rows(
        pays, kind="payment", posting_run=posting_run, posted_on=posted_on, fiscal_year=fiscal_year,
        amount=pl.col("amount"), value_date=pl.col("paid_on"),
        cause=pl.concat_str(pl.col("channel"), pl.lit(":"), pl.col("file"), pl.lit("#"),
                            pl.col("record_no").cast(pl.String)),
        id_suffix=pl.concat_str(pl.col("file"), pl.lit("#"), pl.col("record_no").cast(pl.String)))
    out = pl.concat([o.select(list(OUTCOME_SCHEMA)).cast(OUTCOME_SCHEMA) for o in outcomes], how="vertical")
    return posted, out.sort("file", "record_no")


def _pension_by_detail(remits: pl.DataFrame, bal: pl.DataFrame, detail: pl.DataFrame | None, fiscal_year: int,
                       posting_run: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The pension remittances that equal the insurer's reported withholding of their month (the only remittance
    of that insurer and month in the day's files): (their file/record_no, the payment rows per person, their
    outcomes)."""
    keys = pl.DataFrame(schema={"file": pl.String, "record_no": I64})
    rows_schema = {"atena_no": pl.String, "notice_no": pl.String, "route": pl.String, "payer": pl.String,
                   "period": pl.String, "installment": pl.Int32, "due_date": pl.Date, "amount": I64,
                   "paid_on": pl.Date, "file": pl.String, "record_no": I64, "channel": pl.String}
    pension = remits.filter(pl.col("route") == "pension")
    if detail is None or detail.height == 0 or pension.height == 0:
        return keys, pl.DataFrame(schema=rows_schema), pl.DataFrame(schema=OUTCOME_SCHEMA)
    from transforms.notices import NOTICE_KINDS

    totals = detail.group_by("payer", "period").agg(pl.col("withheld").sum().alias("_detail"))
    single = pension.with_columns(pl.len().over("payer", "period").alias("_n"))
    exact = single.join(totals, on=["payer", "period"], how="inner").filter(
        (pl.col("_n") == 1) & (pl.col("amount") == pl.col("_detail")) & (pl.col("retirement_amount") == 0))
    if exact.height == 0:
        return keys, pl.DataFrame(schema=rows_schema), pl.DataFrame(schema=OUTCOME_SCHEMA)
    months = exact.select(_payer_month(pl.col("payer"), pl.col("period"))).to_series()
    dues = rows_naming(bal, "payer_month", months).filter(pl.col("route").is_in(list(PENSION_ROUTES))) \
        .group_by("route", "payer", "period").agg(
        pl.col("due_date").max())
    lines = exact.select("payer", "period", "paid_on", "file", "record_no", "channel").join(
        detail.filter(pl.col("withheld") > 0), on=["payer", "period"], how="inner").join(
        dues, on=["route", "payer", "period"], how="left")
    month = pl.col("period").str.slice(5, 2).cast(pl.Int32)
    rows = lines.select(
        "atena_no",
        pl.concat_str(pl.lit(f"{fiscal_year:04d}{NOTICE_KINDS['tax_notice']}"), pl.col("atena_no")).alias("notice_no"),
        "route", "payer", "period", ((month + 8) % 12 + 1).cast(pl.Int32).alias("installment"),
        pl.col("due_date").fill_null(pl.col("paid_on")), pl.col("withheld").cast(I64).alias("amount"), "paid_on",
        "file", "record_no", "channel")
    out = _outcomes(exact, posting_run, pl.lit("posted"), pl.lit(None, pl.String), pl.col("amount"), pl.lit(0))
    return exact.select("file", "record_no"), rows.cast(rows_schema), out


def _allocate_remittances(remits: pl.DataFrame, bal: pl.DataFrame, posting_run: str
                          ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A remittance of (route, 特別徴収義務者, month) pays the unpaid 期 of that 義務者 and month in 宛名番号
    order, each up to its unpaid amount; what is above the month's unpaid total, and a 退職所得分 (not assessed
    here), go to suspense; a remittance that names no 調定 goes to suspense whole."""
    empty_rows = pl.DataFrame(schema={"atena_no": pl.String, "notice_no": pl.String, "route": pl.String,
                                      "payer": pl.String, "period": pl.String, "installment": pl.Int32,
                                      "due_date": pl.Date, "amount": I64, "paid_on": pl.Date, "file": pl.String,
                                      "record_no": I64, "channel": pl.String})
    if remits.height == 0:
        return empty_rows, pl.DataFrame(schema=OUTCOME_SCHEMA)
    family = pl.when(pl.col("route").is_in(list(PENSION_ROUTES))).then(pl.lit("pension")).otherwise(pl.col("route"))
    months = remits.select(_payer_month(pl.col("payer"), pl.col("period"))).to_series()
    owed = rows_naming(bal, "payer_month", months).filter(pl.col("route").is_in(["salary", *PENSION_ROUTES])) \
        .with_columns(family.alias("_family")).select(
        "_family", "payer", "period", "atena_no", "notice_no", "route", "installment", "due_date", "unpaid")
    r = remits.with_row_index("_r").rename({"route": "_family", "notice_no": "_notice_no",
                                                     "installment": "_installment"})
    # several remittances of one month are taken in order, each on what the previous left unpaid
    r = r.with_columns(pl.col("amount").cum_sum().over("_family", "payer", "period").alias("_upto"))
    r = r.with_columns((pl.col("_upto") - pl.col("amount")).alias("_from"))
    lines = r.join(owed.filter(pl.col("unpaid") > 0).sort("atena_no", "route"), on=["_family", "payer", "period"],
                   how="inner")
    lines = lines.sort("_r", "atena_no", "route").with_columns(
        pl.col("unpaid").cum_sum().over("_r").alias("_owed_upto"))
    lines = lines.with_columns((pl.col("_owed_upto") - pl.col("unpaid")).alias("_owed_from"))
    # the overlap of [_from, _upto) (this remittance's yen) with [_owed_from, _owed_upto) (this person's)
    lines = lines.with_columns(
        (pl.min_horizontal("_upto", "_owed_upto") - pl.max_horizontal("_from", "_owed_from"))
        .clip(lower_bound=0).alias("_paid"))
    paid = lines.filter(pl.col("_paid") > 0)
    rows = paid.select("atena_no", "notice_no", "route", "payer", "period", "installment", "due_date",
                       pl.col("_paid").alias("amount"), "paid_on", "file", "record_no", "channel")
    per_record = paid.group_by("_r").agg(pl.col("_paid").sum().alias("_posted"))
    r = r.join(per_record, on="_r", how="left").with_columns(pl.col("_posted").fill_null(0))
    r = r.with_columns((pl.col("amount") - pl.col("_posted") + pl.col("retirement_amount")).alias("_suspense"))
    reason = (pl.when(pl.col("_posted") == 0).then(pl.lit("unknown_remittance"))
              .when(pl.col("amount") > pl.col("_posted")).then(pl.lit("remittance_above_charge"))
              .when(pl.col("retirement_amount") > 0).then(pl.lit("retirement_income_not_assessed")))
    disposition = pl.when(pl.col("_posted") > 0).then(pl.lit("posted")).otherwise(pl.lit("suspense"))
    out = _outcomes(r.rename({"_family": "route", "_notice_no": "notice_no", "_installment": "installment"}),
                    posting_run, disposition, reason, pl.col("_posted"), pl.col("_suspense"))
    return rows, out


# ------------------------------------------------------------------------------------- 充当 and 還付
def appropriations(bal: pl.DataFrame, *, fiscal_year: int, posting_run: str, posted_on: date
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each 期 overpaid on a person's own route (``bal``: :func:`balances` after the day's payments) is 充当 to
    the person's unpaid 普通徴収 期別, oldest 納期限 first, their 延滞金 last (地方税法第17条の2), then refunded
    (第17条).
    Returns the ledger rows (``appropriation_out`` / ``appropriation_in`` pairs and ``refund`` rows) and the
    refunds decided (one row per overpaid 期: atena_no, KEY, ``refund``)."""
    over = bal.filter(pl.col("overpaid") > 0).filter(pl.col("route").is_in(list(PERSONAL_ROUTES))) \
        .sort("atena_no", "due_date", *KEY, nulls_last=False)
    if over.height == 0:
        return pl.DataFrame(schema={c: None for c in LEDGER_COLUMNS}).clear(), _no_refunds()
    need = rows_naming(bal, "atena_no", over["atena_no"]) \
        .filter(pl.col("route").is_in(list(OWED_ROUTES)) & (pl.col("unpaid") > 0)) \
        .with_columns((pl.col("route") == "late_charge").alias("_last")) \
        .sort("atena_no", "_last", "due_date", *KEY, nulls_last=False).drop("_last")
    over = over.with_columns(pl.col("overpaid").cum_sum().over("atena_no").alias("_upto"))
    over = over.with_columns((pl.col("_upto") - pl.col("overpaid")).alias("_from"))
    need = need.with_columns(pl.col("unpaid").cum_sum().over("atena_no").alias("_n_upto"))
    need = need.with_columns((pl.col("_n_upto") - pl.col("unpaid")).alias("_n_from"))
    pairs = over.join(need, on="atena_no", how="inner", suffix="_to").with_columns(
        (pl.min_horizontal("_upto", "_n_upto") - pl.max_horizontal("_from", "_n_from"))
        .clip(lower_bound=0).alias("_moved")).filter(pl.col("_moved") > 0)
    source = pairs.select("atena_no", *KEY, "installment", "due_date", "_moved",
                          pl.concat_str(*[pl.col(f"{k}_to").fill_null("-") for k in KEY], separator="/")
                          .alias("_other"))
    target = pairs.select("atena_no", *[pl.col(f"{k}_to").alias(k) for k in KEY], pl.col("installment_to")
                          .alias("installment"), pl.col("due_date_to").alias("due_date"), "_moved",
                          pl.concat_str(*[pl.col(k).fill_null("-") for k in KEY], separator="/").alias("_other"))
    kw = dict(posting_run=posting_run, posted_on=posted_on, fiscal_year=fiscal_year, amount=pl.col("_moved"))
    out_rows = ledger_rows(source, kind="appropriation_out", cause=pl.concat_str(pl.lit("充当 to "), pl.col("_other")),
                            id_suffix=pl.concat_str(pl.lit(posting_run), pl.lit(">"), pl.col("_other")), **kw)
    in_rows = ledger_rows(target, kind="appropriation_in", cause=pl.concat_str(pl.lit("充当 from "), pl.col("_other")),
                           id_suffix=pl.concat_str(pl.lit(posting_run), pl.lit("<"), pl.col("_other")), **kw)
    moved = pairs.group_by(KEY).agg(pl.col("_moved").sum())
    left = over.join(moved, on=KEY, how="left", nulls_equal=True).with_columns(
        (pl.col("overpaid") - pl.col("_moved").fill_null(0)).alias("refund")).filter(pl.col("refund") > 0)
    refund_rows = ledger_rows(left, kind="refund", cause=pl.lit("還付 (地方税法第17条)"),
                               id_suffix=pl.lit(posting_run), posting_run=posting_run, posted_on=posted_on,
                               fiscal_year=fiscal_year, amount=pl.col("refund"))
    rows = pl.concat([out_rows, in_rows, refund_rows], how="vertical")
    refunds = left.select("atena_no", *KEY, "installment", "due_date", pl.col("refund").cast(I64))
    return rows, refunds


def _no_refunds() -> pl.DataFrame:
    return pl.DataFrame(schema={"atena_no": pl.String, "notice_no": pl.String, "route": pl.String,
                                "payer": pl.String, "period": pl.String, "installment": pl.Int32,
                                "due_date": pl.Date, "refund": I64})


# -------------------------------------------------------------------------------------------- 延滞金
def late_charge_due(bal: pl.DataFrame, touched: pl.DataFrame) -> pl.DataFrame:
    """The 普通徴収 期 whose tax is paid up (``unpaid`` 0, ``bal`` after the day's payments), touched by the day's
    rows (``touched``: KEY) and with no 延滞金 charged yet: the 期 whose 延滞金 is now fixed (地方税法第326条:
    from the day after the 納期限 to the day of payment)."""
    touched = touched.filter(pl.col("route") == "ordinary")  # (a remittance day touches every employer's month)
    mine = rows_naming(bal, "notice_no", touched["notice_no"])
    charged = mine.filter(pl.col("route") == "late_charge").select("notice_no", "period")
    return mine.filter((pl.col("route") == "ordinary") & (pl.col("unpaid") == 0) & (pl.col("charged") > 0)) \
        .join(touched.select(KEY).unique(), on=KEY, how="semi", nulls_equal=True) \
        .join(charged, on=["notice_no", "period"], how="anti").select(_BALANCE_COLUMNS)


def late_charge_entries(settled: pl.DataFrame, charges: pl.DataFrame, *, fiscal_year: int, posting_run: str,
                        posted_on: date) -> pl.DataFrame:
    """The ``assessment`` rows of route ``late_charge`` (one per 期 with a 延滞金 above 0) from ``charges``
    (:func:`transforms.late_charge.late_charges` of ``settled``, the periods of :func:`late_charge_periods`: ``key``
    = the 期's ``key`` there; ``late_charge``), due on ``posted_on`` (the 延滞金 is owed at once)."""
    rows = settled.join(charges.select("key", "late_charge"), on="key", how="inner").filter(
        pl.col("late_charge") > 0)
    rows = rows.with_columns(pl.lit("late_charge").alias("route"), pl.lit(posted_on, pl.Date).alias("due_date"))
    return ledger_rows(rows, kind="assessment", posting_run=posting_run, posted_on=posted_on,
                       fiscal_year=fiscal_year, amount=pl.col("late_charge"),
                       cause=pl.lit("延滞金 (地方税法第326条) of the 期 paid late"))


def late_charge_periods(bal: pl.DataFrame, touched: pl.DataFrame, ledger: pl.DataFrame
                        ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The 期 that ``touched`` (KEY of the day's payments or 充当) paid up after their 納期限, with no 延滞金 yet
    (``bal``: the balances with them; ``ledger``: every row so far, the day's included — or only its payment and
    充当 rows; with ``_h`` (:func:`keyed`) the 期 are found by their hash, not by a scan of text).
    Returns ``(periods, paid)``: the 期 (their balance columns, ``key`` and ``computed_on``, the day of the last
    payment) and their payments (``key``, ``date``, ``amount``): the input of
    :func:`transforms.late_charge.late_charges`."""
    settled = late_charge_due(bal, touched)
    numbered = settled.with_row_index("_k").with_columns(pl.col("_k").cast(pl.String).alias("key")).drop("_k")
    paid = rows_of_keys(ledger, settled).filter(pl.col("entry_kind").is_in(["payment", "appropriation_in"])).join(
        numbered.select("key", *KEY), on=KEY, how="inner", nulls_equal=True).select(
        "key", pl.col("value_date").alias("date"), "amount")
    last = paid.group_by("key").agg(pl.col("date").max().alias("computed_on"))
    periods = numbered.join(last, on="key", how="inner").filter(pl.col("computed_on") > pl.col("due_date"))
    return periods, paid.join(periods.select("key"), on="key", how="semi")


def late_charge_rows(bal: pl.DataFrame, touched: pl.DataFrame, ledger: pl.DataFrame, *, fiscal_year: int,
                     posting_run: str, posted_on: date) -> pl.DataFrame:
    """The 延滞金 rows of the 期 that ``touched`` paid up after their 納期限 (:func:`late_charge_periods`): each
    computed by :func:`transforms.late_charge.late_charges` from its 調定 and its payments to the last one, every
    statutory rounding applied. Raises the rules' RuleError for a day without a published rate."""
    from contracts.collection import LEDGER_SCHEMA
    from transforms.late_charge import late_charges

    periods, paid = late_charge_periods(bal, touched, ledger)
    if periods.height == 0:
        return pl.DataFrame(schema=LEDGER_SCHEMA)
    charged, _segments = late_charges(periods.select("key", pl.col("charged").alias("tax_amount"), "due_date",
                                                     "computed_on"), paid)
    return late_charge_entries(periods, charged, fiscal_year=fiscal_year, posting_run=posting_run,
                               posted_on=posted_on)


# ----------------------------------------------------------------------------------------------- 督促
def pending_preliminary(outcomes: pl.DataFrame, bal: pl.DataFrame) -> pl.DataFrame:
    """The KEY of every 期 with a 速報 not yet confirmed by its 確報 nor cancelled (``outcomes``: every posting
    run's curated/payment_records so far): a 督促 waits for it (the money is on its way)."""
    settled = outcomes.filter(pl.col("disposition").is_in(["posted", "cancelled_provisional"])
                              & pl.col("report_kind").is_in(["final", "preliminary_cancel"])).select("reference")
    waiting = outcomes.filter(pl.col("disposition") == "provisional").join(settled, on="reference", how="anti") \
        .select("notice_no", "installment")
    ordinary = rows_naming(bal, "notice_no", waiting["notice_no"]).filter(pl.col("route") == "ordinary")
    return waiting.join(ordinary.select("notice_no", "installment", *KEY[1:]),
                        on=["notice_no", "installment"], how="inner").select(KEY).unique()



def demands(bal: pl.DataFrame, demanded: pl.DataFrame, pending: pl.DataFrame, *, day: date,
            issue_after_days: int) -> pl.DataFrame:
    """The 期 to demand on ``day``: unpaid (``bal``), their 納期限 at least ``issue_after_days`` days before
    ``day``, not demanded before (``demanded``: KEY of earlier 督促), no 速報 of it pending (``pending``: KEY).
    普通徴収 per person; 給与特別徴収 per 特別徴収義務者 and month (the employer is demanded, 第321条の5)."""
    due = bal.filter((pl.col("unpaid") > 0)
                     & ((pl.lit(day, pl.Date) - pl.col("due_date")).dt.total_days() >= issue_after_days)) \
        .filter(pl.col("route").is_in(["ordinary", "salary"]))  # the integers first: the text of the few left
    due = due.join(demanded.select(KEY), on=KEY, how="anti", nulls_equal=True) \
        .join(pending.select(KEY), on=KEY, how="anti", nulls_equal=True)
    return due.select("atena_no", *KEY, "installment", "due_date", "charged", "unpaid").sort(KEY, nulls_last=False)


__all__ = ["DISPOSITIONS", "INDEX", "OUTCOME_SCHEMA", "RECORD_SCHEMA", "apply_entries", "appropriations", "balances",
           "demands", "indexed", "keyed", "late_charge_due", "late_charge_entries", "late_charge_periods",
           "late_charge_rows", "match_payments", "pending_preliminary", "rows_naming", "rows_of_keys"]
