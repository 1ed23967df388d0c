"""A year of payments for the sample ward (a tool, not the product; docs/sample-ward.md).

The taxpayers, employers, pension insurers, banks and the コンビニ 収納代行 of the generated ward pay what the
notices in the lake tell them, and their collecting agents deliver the payment files the collection stage reads
(docs/layouts/payments.md) into ``landing/payments/municipality=M/fiscal_year=N/day=YYYY-MM-DD/``:

* each 普通徴収 期 is paid on time by most people, late by some, in part by a few, twice by a few (at a bank and
  at a convenience store), and not at all by a few; each payment through one channel: コンビニ (a 速報 the next
  day, its 確報 four days later — the same payment, counted once), 窓口 (OCR data two business days later),
  MPN/Pay-easy (the next business day), eL-QR (three business days later);
* each employer remits each month's 給与特別徴収 by the 10th of the next month (one late, one short, one with
  too much), each pension insurer what it withheld (curated/pension_ledger);
* planted faults, each once: a 速報 cancelled (速報取消) without its 確報, a payment quoting a 通知書番号 nobody
  has, one quoting a 期 the notice does not have (a pensioner's 納税通知書 without 普通徴収), one quoting last
  年度's notice, a record with a wrong barcode
  check digit, one with an impossible date, and a whole file whose trailer total is wrong (sent again corrected
  the next business day).

Everything is drawn from the seed, vectorised over the installments (no loop over people). ``planted`` in the
result lists what was planted, for the demo's summary and the tests.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

COMPANY_CODE = "912345"   # the ward's 請求書発行企業コード (sample)
AGENT_CODE = "12345"      # the 収納代行's code (sample)
AGENCY_NO = "13103"       # the ward's 収納機関番号 (MPN, eL) (sample)
BANK = "0005"             # the 指定金融機関 (sample)
CHANNEL_FILES = {"convenience": "dat", "mpn": "dat", "el_qr": "csv", "bank_counter": "dat",
                 "special_remittance": "dat"}


def _open(days: pl.Expr) -> pl.Expr:
    """The next day a bank is open: Saturday and Sunday move to Monday (holidays are left to the tool's
    simplicity: a file may arrive on a holiday)."""
    weekday = days.dt.weekday()  # 1 = Monday … 7 = Sunday
    return pl.when(weekday == 6).then(days.dt.offset_by("2d")).when(weekday == 7) \
        .then(days.dt.offset_by("1d")).otherwise(days)


def _notified(lake: Path, municipality: str, fiscal_year: int, as_of: date) -> pl.DataFrame:
    from pipelines.lake import partition_exists, read_partition
    from transforms.receivables import notified_schedule, receivables
    from transforms.tax_rules import load_municipality_profile

    def optional(name: str) -> pl.DataFrame | None:
        return read_partition(lake, "curated", name, municipality, fiscal_year) \
            if partition_exists(lake, "curated", name, municipality, fiscal_year) else None

    schedule = read_partition(lake, "curated", "installment_schedule", municipality, fiscal_year)
    switch = optional("pension_switch_installments")
    notified = notified_schedule(schedule, optional("pension_moves"), switch, as_of)
    due_months = list(load_municipality_profile(municipality).get("ordinary_collection.due_months"))
    owed = receivables(notified, fiscal_year=fiscal_year, due_months=due_months)
    # a 期 a switch notice added (or raised) is known to the taxpayer from that notice's date on
    told = pl.DataFrame(schema={"atena_no": pl.String, "period": pl.String, "notified_on": pl.Date})
    if switch is not None and switch.height:
        told = switch.group_by(pl.col("person_id").alias("atena_no"), "period").agg(
            pl.col("notice_date").max().alias("notified_on"))
    return owed.join(told, on=["atena_no", "period"], how="left").with_columns(
        pl.when(pl.col("route") == "ordinary").then(pl.col("notified_on")).alias("notified_on"))


def simulate(lake: Path, *, municipality: str, fiscal_year: int, seed: int, opening: date, through: date,
             registered: pl.DataFrame | None = None) -> tuple[dict[str, dict[str, bytes]], dict[str, int]]:
    """The payment files of every delivery day in (``opening``, ``through``]: ``{day: {file name: bytes}}``, and
    the counts of what was planted. ``registered``: the 口座振替 registrations (atena_no, start_date, end_date):
    their 期 are debited by the bank (:func:`bank_answers`), not paid at a counter — but for one person who pays
    a debited 期 at a convenience store too (a 過誤納 to refund)."""
    rng = np.random.default_rng(seed)
    owed = _notified(lake, municipality, fiscal_year, through)
    ordinary = owed.filter(pl.col("route") == "ordinary").sort("notice_no", "installment")
    if registered is not None and registered.height:
        debited = ordinary.join(registered.select("atena_no", "start_date", "end_date"), on="atena_no") \
            .filter((pl.col("start_date") <= pl.col("due_date"))
                    & (pl.col("end_date").is_null() | (pl.col("end_date") >= pl.col("due_date")))) \
            .select("notice_no", "installment").unique()
        keep = debited.sort("notice_no", "installment").head(1)  # also paid at a store: paid twice
        ordinary = ordinary.join(debited.join(keep, on=["notice_no", "installment"], how="anti"),
                                 on=["notice_no", "installment"], how="anti")
    payments, planted = _ordinary_payments(ordinary, rng, opening, through)
    pension_only = owed.group_by("notice_no").agg((pl.col("route") == "ordinary").any().alias("_ordinary")) \
        .filter(~pl.col("_ordinary") & pl.col("notice_no").str.slice(4, 1).eq("1")).sort("notice_no")
    planted["_pension_only_notice"] = pension_only["notice_no"][0] if pension_only.height else None
    remits = _remittances(lake, owed, municipality, fiscal_year, rng, opening, through)
    events = pl.concat([payments, remits], how="diagonal_relaxed")
    files = _files(events.drop("_early"), municipality, fiscal_year, rng, planted)
    planted.pop("_pension_only_notice", None)
    files = {day: named for day, named in files.items() if day <= through.isoformat()}
    return files, planted


# --------------------------------------------------------------------------------- 普通徴収 payments
def _ordinary_payments(rows: pl.DataFrame, rng: np.random.Generator, opening: date, through: date
                       ) -> tuple[pl.DataFrame, dict[str, int]]:
    n = rows.height
    u = rng.random(n)
    behaviour = np.select([u < 0.03, u < 0.07, u < 0.15, u < 0.17], ["never", "partial", "late", "twice"], "on_time")
    early = rng.integers(0, 21, n)
    late = rng.integers(5, 61, n)
    ch = rng.random(n)
    channel = np.select([ch < 0.45, ch < 0.70, ch < 0.80], ["convenience", "bank_counter", "mpn"], "el_qr")
    base = rows.with_columns(pl.Series("behaviour", behaviour), pl.Series("_early", early),
                             pl.Series("_late", late), pl.Series("channel", channel))
    base = base.with_columns(  # above the 30万円 barcode cap nobody can pay at a convenience store
        pl.when((pl.col("channel") == "convenience") & (pl.col("target") > 299_999)).then(pl.lit("bank_counter"))
        .otherwise(pl.col("channel")).alias("channel"))
    on_day = (pl.col("due_date") - pl.duration(days=pl.col("_early"))).alias("paid_on")
    pays = pl.concat([
        base.filter(pl.col("behaviour") == "on_time").with_columns(on_day, pl.col("target").alias("amount")),
        base.filter(pl.col("behaviour") == "late").with_columns(
            (pl.col("due_date") + pl.duration(days=pl.col("_late"))).alias("paid_on"),
            pl.col("target").alias("amount")),
        base.filter(pl.col("behaviour") == "partial").with_columns(
            on_day, ((pl.col("target") // 200) * 100).alias("amount")),
        base.filter(pl.col("behaviour") == "twice").with_columns(
            on_day, pl.col("target").alias("amount"), pl.lit("bank_counter").alias("channel")),
        base.filter((pl.col("behaviour") == "twice") & (pl.col("target") <= 299_999)).with_columns(
            (pl.col("due_date") - pl.duration(days=pl.col("_early")) + pl.duration(days=1)).alias("paid_on"),
            pl.col("target").alias("amount"), pl.lit("convenience").alias("channel")),
    ], how="vertical")
    first_day = pl.max_horizontal(pl.lit(opening), pl.col("notified_on").fill_null(opening)).dt.offset_by("1d")
    pays = pays.with_columns(pl.max_horizontal(pl.col("paid_on"), first_day).alias("paid_on")) \
        .filter((pl.col("amount") > 0) & (pl.col("paid_on") <= through))
    pays = pays.with_columns(  # a bank counter and MPN count the day the bank is open
        pl.when(pl.col("channel").is_in(["bank_counter"])).then(_open(pl.col("paid_on")))
        .otherwise(pl.col("paid_on")).alias("paid_on"))
    planted = {f"ordinary_{b}": int((behaviour == b).sum()) for b in ("never", "partial", "late", "twice")}
    return pays.select("notice_no", "installment", "due_date", "amount", "paid_on", "channel"), planted


# --------------------------------------------------------------------------------- 特別徴収 remittances
def _remittances(lake: Path, owed: pl.DataFrame, municipality: str, fiscal_year: int, rng: np.random.Generator,
                 opening: date, through: date) -> pl.DataFrame:
    from pipelines.lake import partition_exists, read_partition

    salary = owed.filter(pl.col("route") == "salary").group_by("payer", "period").agg(
        pl.col("target").sum().alias("amount"), pl.len().alias("headcount"), pl.col("due_date").max())
    salary = salary.sort("payer", "period").with_columns(pl.lit("salary").alias("route"))
    pension = pl.DataFrame(schema={"payer": pl.String, "period": pl.String, "amount": pl.Int64,
                                   "headcount": pl.UInt32, "due_date": pl.Date, "route": pl.String})
    if partition_exists(lake, "curated", "pension_ledger", municipality, fiscal_year):
        withheld = read_partition(lake, "curated", "pension_ledger", municipality, fiscal_year).filter(
            (pl.col("status") == "withheld") & (pl.col("withheld") > 0))
        dues = owed.filter(pl.col("route").str.starts_with("pension")).select(
            pl.col("payer"), "period", "due_date").unique(["payer", "period"])
        pension = withheld.group_by(pl.col("payer_code").alias("payer"), "period").agg(
            pl.col("withheld").sum().alias("amount"), pl.len().alias("headcount")).join(
            dues, on=["payer", "period"], how="inner").with_columns(pl.lit("pension").alias("route")).sort(
            "payer", "period")
    rem = pl.concat([salary, pension.select(salary.columns).cast(salary.schema)], how="vertical")
    n = rem.height
    rem = rem.with_columns(pl.Series("_early", rng.integers(0, 6, n)))
    rem = rem.with_columns((pl.col("due_date") - pl.duration(days=pl.col("_early"))).alias("paid_on"))
    # one employer pays a month late, one short by 1,000 yen, one 500 yen too much (each its first month)
    employers = salary["payer"].unique(maintain_order=True).to_list()
    if len(employers) >= 3:
        first = pl.col("period") == salary.filter(pl.col("payer") == employers[0])["period"].min()
        rem = rem.with_columns(
            pl.when((pl.col("payer") == employers[0]) & first).then(pl.col("due_date") + pl.duration(days=20))
            .otherwise(pl.col("paid_on")).alias("paid_on"),
            pl.when((pl.col("payer") == employers[1]) & (pl.col("period") == f"{fiscal_year}-06"))
            .then(pl.col("amount") - 1_000)
            .when((pl.col("payer") == employers[2]) & (pl.col("period") == f"{fiscal_year}-06"))
            .then(pl.col("amount") + 500).otherwise(pl.col("amount")).alias("amount"))
    rem = rem.with_columns(pl.max_horizontal(_open(pl.col("paid_on")), pl.lit(opening + timedelta(days=1)))
                           .alias("paid_on")).filter(pl.col("paid_on") <= through)
    return rem.with_columns(pl.lit("special_remittance").alias("channel"),
                            pl.col("headcount").cast(pl.Int64))


# ------------------------------------------------------------------------------------------- files
def _files(events: pl.DataFrame, municipality: str, fiscal_year: int, rng: np.random.Generator,
           planted: dict[str, int]) -> dict[str, dict[str, bytes]]:
    from transforms.payment_records import write_payment_file

    events = events.sort("paid_on", "channel", "notice_no", "installment", "payer", "period", nulls_last=True)
    events = events.with_row_index("_seq")
    # the agents' own numbers: a serial per record, a store, a time of day
    events = events.with_columns(
        pl.format("{}", (pl.col("_seq") + 1).cast(pl.String).str.zfill(8)).alias("serial_no"),
        (pl.col("_seq") + 1).cast(pl.String).str.zfill(20).alias("receipt_no"),
        pl.Series("paid_time", [f"{h:02d}{m:02d}" for h, m in zip(rng.integers(7, 23, events.height),
                                                                 rng.integers(0, 60, events.height))]),
    )
    out: dict[str, dict[str, bytes]] = {}

    def put(day: date, name: str, data: bytes) -> None:
        out.setdefault(day.isoformat(), {})[name] = data

    cvs = events.filter(pl.col("channel") == "convenience")
    cvs = cvs.with_columns(pl.col("due_date").alias("due_on"), pl.lit("0012345").alias("store_code"),
                           pl.lit("000010").alias("cvs_code"))
    # the 速報 the next day, its 確報 four days later with the day the agent pays the ward
    preliminary = cvs.with_columns(pl.lit("preliminary").alias("report_kind"),
                                   pl.col("paid_on").dt.offset_by("1d").alias("delivered"),
                                   pl.lit(None, pl.Date).alias("credited_on"), pl.lit(None, pl.Date).alias("booked_on"))
    final = cvs.with_columns(pl.lit("final").alias("report_kind"),
                             pl.col("paid_on").dt.offset_by("4d").alias("delivered"),
                             _open(pl.col("paid_on").dt.offset_by("10d")).alias("credited_on"),
                             pl.col("paid_on").dt.offset_by("4d").alias("booked_on"))
    # planted: the first convenience payment is cancelled at the store (速報取消, no 確報)
    if cvs.height:
        first = cvs["_seq"][0]
        cancel = preliminary.filter(pl.col("_seq") == first).with_columns(
            pl.lit("preliminary_cancel").alias("report_kind"), pl.col("paid_on").dt.offset_by("2d")
            .alias("delivered"))
        final = final.filter(pl.col("_seq") != first)
        preliminary = pl.concat([preliminary, cancel])
        planted["preliminary_cancelled"] = 1
    cvs_all = pl.concat([preliminary, final]).with_columns(pl.col("delivered").alias("acquired_on"))
    for (day,), part in cvs_all.sort("delivered", "report_kind", "_seq").group_by("delivered", maintain_order=True):
        put(day, f"convenience_{day:%Y%m%d}.dat", write_payment_file(
            part.select("report_kind", "paid_on", "paid_time", "notice_no", "installment", "due_on", "amount",
                        "store_code", "acquired_on", "credited_on", "booked_on", "cvs_code"),
            file="cvs", channel="convenience", created=day, agent_code=AGENT_CODE, company_code=COMPANY_CODE))

    delays = {"bank_counter": 2, "mpn": 1, "el_qr": 3}
    for channel, delay in delays.items():
        part_all = events.filter(pl.col("channel") == channel).with_columns(
            _open(pl.col("paid_on").dt.offset_by(f"{delay}d")).alias("delivered"))
        part_all = part_all.with_columns(pl.col("delivered").alias("credited_on"))
        for (day,), part in part_all.group_by("delivered", maintain_order=True):
            put(day, f"{channel}_{day:%Y%m%d}.{CHANNEL_FILES[channel]}", _write_slips(part, channel, day,
                                                                                   municipality))
    rem = events.filter(pl.col("channel") == "special_remittance").with_columns(
        _open(pl.col("paid_on").dt.offset_by("2d")).alias("delivered"))
    for (day,), part in rem.group_by("delivered", maintain_order=True):
        put(day, f"special_remittance_{day:%Y%m%d}.dat", write_payment_file(
            part.select("route", "payer", "period", pl.col("due_date").alias("due_on"), "amount",
                        pl.lit(0, pl.Int64).alias("retirement_amount"), "headcount", "paid_on",
                        pl.lit(BANK).alias("bank_code"), pl.lit("041").alias("branch_code"), "serial_no",
                        pl.lit(str(fiscal_year)).alias("fiscal_year")),
            file="remit", channel="special_remittance", created=day, municipality_code=municipality,
            reporting_bank_code=BANK))
    _plant_faults(out, events, municipality, fiscal_year, planted)
    return dict(sorted(out.items()))


def _write_slips(part: pl.DataFrame, channel: str, day: date, municipality: str) -> bytes:
    from transforms.payment_records import write_payment_file

    if channel == "bank_counter":
        return write_payment_file(part.select("paid_on", pl.lit(BANK).alias("bank_code"),
                                              pl.lit("041").alias("branch_code"), "notice_no", "installment",
                                              "amount", "serial_no", "credited_on"),
                                  file="ocr", channel=channel, created=day, municipality_code=municipality,
                                  reporting_bank_code=BANK)
    receipt = pl.col("receipt_no").str.slice(4) if channel == "mpn" else pl.col("receipt_no")  # MPN: 16 digits
    if channel == "mpn":
        return write_payment_file(part.select("paid_on", pl.lit(BANK).alias("bank_code"),
                                              pl.lit("041").alias("branch_code"), pl.lit("1").alias("channel_code"),
                                              "notice_no", "installment", "amount", "credited_on", receipt),
                                  file="mpn", channel=channel, created=day, agency_no=AGENCY_NO)
    return write_payment_file(part.select(pl.lit(AGENCY_NO).alias("agency_no"), "notice_no", "installment",
                                          pl.lit(municipality).alias("municipality_code"), "amount", "paid_on",
                                          "credited_on", pl.lit("01").alias("channel_code"), receipt),
                              file="el", channel=channel, created=day, municipality_code=municipality,
                              agency_no=AGENCY_NO)


def _plant_faults(out: dict[str, dict[str, bytes]], events: pl.DataFrame, municipality: str, fiscal_year: int,
                  planted: dict[str, int]) -> None:
    """A bank counter file of odd payments, a record with a wrong check digit, one with an impossible date, and
    a file whose trailer total is wrong (sent again corrected the next business day)."""
    from transforms.payment_records import write_payment_file

    slips = events.filter(pl.col("channel").is_in(["bank_counter", "mpn", "el_qr", "convenience"]))
    if slips.height == 0:
        return
    sample = slips.row(0, named=True)
    day = sample["paid_on"] + timedelta(days=7)
    day = day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)
    # nobody's 通知書番号; a 期 the notice does not have (the 納税通知書 of a person withheld from a pension only,
    # 第1期); last 年度's notice; and a fourth record with an impossible 収納日 (2026-02-31)
    no_such = planted.get("_pension_only_notice") or sample["notice_no"]
    odd = pl.DataFrame({
        "paid_on": [sample["paid_on"]] * 4, "bank_code": [BANK] * 4, "branch_code": ["041"] * 4,
        "notice_no": [f"{fiscal_year:04d}1" + "9999999999", no_such,
                      f"{fiscal_year - 1:04d}1" + sample["notice_no"][5:], sample["notice_no"]],
        "installment": pl.Series([1, 1, 1, 1], dtype=pl.Int32),
        "amount": pl.Series([5_000, 5_000, 5_000, 5_000], dtype=pl.Int64),
        "serial_no": ["90000001", "90000002", "90000003", "90000004"], "credited_on": [day] * 4})
    data = write_payment_file(odd, file="ocr", channel="bank_counter", created=day, municipality_code=municipality,
                              reporting_bank_code=BANK)
    records = data.split(b"\r\n")
    records[4] = records[4][:1] + f"{fiscal_year}0231".encode() + records[4][9:]
    out.setdefault(day.isoformat(), {})[f"bank_counter_{day:%Y%m%d}_odd.dat"] = b"\r\n".join(records)
    planted.update(unknown_notice=1, unknown_installment=1, other_fiscal_year=1, impossible_date=1)
    # a convenience file whose one record has a wrong check digit
    cvs_days = [d for d, files in out.items() if any(n.startswith("convenience_") for n in files)]
    if cvs_days:
        d = cvs_days[len(cvs_days) // 2]
        name = next(n for n in out[d] if n.startswith("convenience_"))
        lines = out[d][name].split(b"\r\n")
        rec = bytearray(lines[1])
        pos = 16 + 43  # the barcode is bytes 17–60; its 44th digit is the check digit
        rec[pos] = ord(str((int(chr(rec[pos])) + 1) % 10))
        lines[1] = bytes(rec)
        out[d][name] = b"\r\n".join(lines)
        planted["bad_check_digit"] = 1
    # an eL-QR file whose trailer total is wrong: refused whole, then delivered again corrected
    el_days = [d for d, files in out.items() if any(n.startswith("el_qr_") for n in files)]
    if el_days:
        d = el_days[0]
        name = next(n for n in out[d] if n.startswith("el_qr_"))
        good = out[d][name]
        text = good.decode("cp932").split("\r\n")
        trailer = next(i for i, t in enumerate(text) if t.startswith("8,"))
        cells = text[trailer].split(",")
        cells[2] = str(int(cells[2]) + 1000)
        text[trailer] = ",".join(cells)
        out[d][name] = "\r\n".join(text).encode("cp932")
        again = date.fromisoformat(d) + timedelta(days=1)
        again = again + timedelta(days=(7 - again.weekday()) % 7 if again.weekday() >= 5 else 0)
        out.setdefault(again.isoformat(), {})[f"el_qr_{date.fromisoformat(d):%Y%m%d}_resent.csv"] = good
        planted["file_with_wrong_trailer"] = 1


def registrations(lake: Path, *, municipality: str, fiscal_year: int, seed: int) -> pl.DataFrame:
    """The 口座振替 依頼書 of about 30 % of the 普通徴収 persons (:mod:`sample_ward.account_transfer`)."""
    from sample_ward.account_transfer import registrations as made
    from transforms.tax_rules import load_municipality_profile

    owed = _notified(lake, municipality, fiscal_year, date(fiscal_year + 1, 5, 31))
    persons = owed.filter(pl.col("route") == "ordinary").select("atena_no").unique().sort("atena_no")
    due_months = list(load_municipality_profile(municipality).get("ordinary_collection.due_months"))
    return made(persons, seed=seed, fiscal_year=fiscal_year, due_months=due_months)


def desk_files(lake: Path, *, municipality: str, fiscal_year: int, seed: int, opening: date, through: date
               ) -> dict[str, bytes]:
    """What the ward's other desks deliver for the year's collection, by path under the landing zone: the
    住民記録's DV等支援措置 extract every Monday (the same persons as May's: the 督促状 and 還付通知書 are printed
    only with a list at most 14 days old), the 公金受取口座 obtained for the residents (about 40 %) and the
    口座振替 registrations (about 30 % of the 普通徴収 persons)."""
    from pipelines.lake import read_partition
    from sample_ward.account_transfer import registrations_csv, registrations_path
    from sample_ward.public_benefit_accounts import accounts, accounts_csv

    out: dict[str, bytes] = {}
    support = Path("support_measures") / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    may = sorted((lake / "landing" / support).glob(f"shien_sochi_{municipality}_*.csv"))
    if may:
        data = may[0].read_bytes()
        day = opening + timedelta(days=(7 - opening.weekday()) % 7)
        while day <= through:
            out[(support / f"shien_sochi_{municipality}_{day:%Y%m%d}.csv").as_posix()] = data
            day += timedelta(days=7)
    residents = read_partition(lake, "staging", "residents", municipality, fiscal_year,
                               columns=["atena_no", "name_kana"])
    made = accounts(residents, seed=seed, through=opening)
    folder = Path("public_benefit_accounts") / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    out[(folder / f"kokin_koza_{municipality}_{opening:%Y%m%d}.csv").as_posix()] = accounts_csv(made)
    out[registrations_path(municipality, fiscal_year)] = registrations_csv(
        registrations(lake, municipality=municipality, fiscal_year=fiscal_year, seed=seed))
    return out


def bank_answers(lake: Path, *, municipality: str, fiscal_year: int, seed: int) -> int:
    """The bank answers every 口座振替 依頼 (全銀 91) the ward handed off and it has not answered yet: its 振替結果
    arrives in the landing folder of the third day after the 引落日 (:func:`sample_ward.account_transfer.
    bank_results`). Returns the number of result files delivered."""
    from sample_ward.account_transfer import bank_results

    exports = lake / "exports" / "bank" / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    base = lake / "landing" / "payments" / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    written = 0
    for request in sorted(exports.glob("*/koza_furikae_91_*.txt")):
        debit = date.fromisoformat(f"{request.stem[-8:-4]}-{request.stem[-4:-2]}-{request.stem[-2:]}")
        day = debit + timedelta(days=3)
        day = day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)
        target = base / f"day={day.isoformat()}" / f"account_transfer_result_{debit:%Y%m%d}.txt"
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(bank_results(request.read_bytes(), file=request.name, seed=seed))
        written += 1
    return written


def deliver_desk(landing: Path, files: dict[str, bytes]) -> int:
    """Write :func:`desk_files` into the landing zone (a file already there is left as it is)."""
    written = 0
    for rel, data in files.items():
        path = landing / rel
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written += 1
    return written


def deliver(landing: Path, files: dict[str, dict[str, bytes]], *, municipality: str, fiscal_year: int) -> int:
    """Write the files into the landing day folders (a file already there with the same bytes is left)."""
    written = 0
    base = landing / "payments" / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    for day, named in files.items():
        folder = base / f"day={day}"
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in named.items():
            path = folder / name
            if path.exists() and path.read_bytes() == data:
                continue
            path.write_bytes(data)
            written += 1
    return written


__all__ = ["bank_answers", "deliver", "deliver_desk", "desk_files", "registrations", "simulate"]
