"""Stage `collection` (収納管理): the daily posting runs of the collection ledger.

A run works on one municipality and 年度 and catches up to a processing day (the DAG's: the day of the run,
Asia/Tokyo). Every day since the last posting run on which something happens is one posting run, posted in day
order, each an append-only partition of its own (``…/posting_run=YYYY-MM-DD/``, :func:`pipelines.lake.
write_partition` with ``run``): the 当初 dispatch's notice date, every day with payment files in
``landing/payments/municipality=M/fiscal_year=N/day=YYYY-MM-DD/``, the notice date of every pension switch, and
the day each 期's 督促 falls due. In one posting run, in this order (docs/collection.md):

1. 調定: the ledger's 調定 is brought to what the notices sent by that day tell (:mod:`transforms.receivables`):
   ``assessment`` rows on the 当初 notice date, ``increase``/``decrease`` rows when a pension switch moved
   months to 普通徴収;
2. the day's payment files are read (:mod:`transforms.payment_records`; the channel is the start of the file
   name) and 消込 (:func:`transforms.collection.match_payments`): every record ends posted, provisional (速報),
   cancelled (速報取消), in suspense (未特定入金) or quarantined, and ``curated/payment_records`` says which;
   a file that cannot be read at all is quarantined whole;
3. a 期 paid up late is charged its 延滞金 (route ``late_charge``; deferred in ``curated/late_charge_deferrals``
   while a day of it has no published rate); 過誤納 is 充当 to the person's unpaid 期, oldest first, and the rest
   refunded (``curated/refunds``, with the 還付加算金 decided that day);
4. 督促: the unpaid 期 whose 督促 falls due (``curated/demand_notices``, with the 延滞金 as of the 発付日).

A pension insurer's remittance that equals what it reported withholding that month (``curated/pension_ledger``,
from its 特別徴収結果通知) pays each person what was withheld from each; a 仮徴収 above this year's tax is then
that person's overpayment, 充当 or refunded like any other.

The ledger partition is written last: a day is posted when its ledger partition exists. A posted day is never
changed; files put later into the folder of a posted day are refused with a sentence (put them in the folder of
the day they arrive). A rerun with the same files changes nothing, byte for byte.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from contracts.errors import ConfigError, JuminzeiError
from pipelines.config import Settings
from pipelines.lake import (
    partition_exists,
    read_partition,
    read_run_partitions,
    run_partition_files,
    run_partitions,
    write_partition,
)
from pipelines.progress import step
from pipelines.reports import RunReport, load_history
from pipelines.stage import execute, validate

log = logging.getLogger("juminzei.collection")

STAGE = "collection"
STEPS = ("reading the ledger", "posting the days", "writing")
LEDGER = "collection_ledger"
RECORDS = "payment_records"
FILES = "payment_files"
REFUNDS = "refunds"
DEMANDS = "demand_notices"
SCHEDULE = "installment_schedule"
MOVES = "pension_moves"
SWITCH_INSTALLMENTS = "pension_switch_installments"
PENSION_LEDGER = "pension_ledger"
PAYMENTS_SOURCE = "payments"
ACCOUNTS_SOURCE = "public_benefit_accounts"
REGISTRATIONS_SOURCE = "account_transfer_registrations"
SUSPENSIONS_SOURCE = "collection_suspensions"
REQUESTS = "account_transfer_requests"
FAILURES = "account_transfer_failures"
RESULT_PREFIX = "account_transfer_result_"
DEFERRALS = "late_charge_deferrals"

FILE_SCHEMA: dict[str, pl.DataType] = {
    "posting_run": pl.String(), "file": pl.String(), "channel": pl.String(), "sha256": pl.String(),
    "bytes": pl.Int64(), "records": pl.Int64(), "status": pl.String(), "reason_code": pl.String(),
    "reason": pl.String(),
}
REFUND_SCHEMA: dict[str, pl.DataType] = {
    "posting_run": pl.String(), "decided_on": pl.Date(), "atena_no": pl.String(), "notice_no": pl.String(),
    "route": pl.String(), "payer": pl.String(), "period": pl.String(), "installment": pl.Int32(),
    "refund": pl.Int64(), "paid_on": pl.Date(), "refund_addition": pl.Int64(),
}
DEMAND_SCHEMA: dict[str, pl.DataType] = {
    "posting_run": pl.String(), "issued_on": pl.Date(), "demand_no": pl.String(), "atena_no": pl.String(),
    "notice_no": pl.String(), "route": pl.String(), "payer": pl.String(), "period": pl.String(),
    "installment": pl.Int32(), "due_date": pl.Date(), "charged": pl.Int64(), "unpaid": pl.Int64(),
    "late_charge": pl.Int64(), "fee": pl.Int64(), "deadline": pl.Date(),
}

#: curated/late_charge_deferrals: a 期 paid up late on a day whose 延滞金 rate is not published yet (``deferred``),
#: and when a later day computed it (``computed``); a 期 whose last row is ``deferred`` is computed again every day
DEFERRAL_SCHEMA: dict[str, pl.DataType] = {
    "posting_run": pl.String(), "atena_no": pl.String(), "notice_no": pl.String(), "route": pl.String(),
    "payer": pl.String(), "period": pl.String(), "status": pl.String(), "reason": pl.String(),
}


class CollectionStopped(JuminzeiError):
    """The days cannot be posted as asked (a posted day's files changed, nothing dispatched yet)."""


def run(
    *,
    fiscal_year: int,
    municipality: str = "131032",
    settings: Settings | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
    processing_day: str | date | None = None,
) -> dict:
    """Post every pending day of the 年度's collection up to ``processing_day`` (YYYY-MM-DD; required: the DAG
    and the CLI default it to the run date in Asia/Tokyo, :mod:`pipelines.runtime`). See the module docstring."""
    through = _day(processing_day)

    def body(settings: Settings, report: RunReport) -> None:
        report.set_count("processing_day", int(through.strftime("%Y%m%d")))
        _run(settings, municipality, fiscal_year, through, report.run_id, dry_run, report)

    return execute(STAGE, body, fiscal_year=fiscal_year, municipality=municipality, settings=settings,
                   run_id=run_id, dry_run=dry_run, log=log, steps=STEPS)


def _day(value: str | date | None) -> date:
    if isinstance(value, date):
        return value
    if not value:
        raise ConfigError("processing_day (YYYY-MM-DD) is required: the day up to which the collection is posted")
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"processing_day {value!r} is not a day (YYYY-MM-DD)") from None


# ------------------------------------------------------------------------------------------ the calendar
def dispatched_on(lake: Path, municipality: str, fiscal_year: int) -> date:
    """The notice date of the 当初 dispatch (the first successful ``notice_export`` dispatch of the 年度,
    not a dry run, not a pension switch): the day the opening 調定 is posted."""
    days = [
        date.fromisoformat(r["dispatch"]["notice_date"])
        for r in load_history(lake, stage="notice_export", fiscal_year=fiscal_year, municipality=municipality)
        if r.get("status") == "success" and not r.get("dry_run") and (r.get("dispatch") or {}).get("mode") == "dispatch"
        and not (r.get("dispatch") or {}).get("pension_switch_month") and (r.get("dispatch") or {}).get("notice_date")
    ]
    if not days or not partition_exists(lake, "curated", SCHEDULE, municipality, fiscal_year):
        raise CollectionStopped(
            f"the {fiscal_year} 年度 of {municipality} has no dispatched 当初賦課 (notice_export, not a dry run): "
            "there is nothing to collect yet. Dispatch the notices first.")
    return min(days)


def landing_days(landing: Path, municipality: str, fiscal_year: int) -> dict[str, list[Path]]:
    """The day folders of ``landing/payments/…`` and their files (hidden and ``_`` names skipped)."""
    base = landing / PAYMENTS_SOURCE / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    if not base.is_dir():
        return {}
    out: dict[str, list[Path]] = {}
    for folder in sorted(base.iterdir()):
        if not folder.is_dir() or not folder.name.startswith("day="):
            continue
        day = folder.name[4:]
        try:
            date.fromisoformat(day)
        except ValueError:
            raise ConfigError(f"landing folder {folder.relative_to(landing)} is not named day=YYYY-MM-DD") from None
        out[day] = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "_")))
    return out


def demand_days(due_dates: pl.Series, after_days: int) -> set[str]:
    """The day the 督促 of each 納期限 falls due: ``after_days`` later, moved to the next open day."""
    from transforms.installments import next_open_day

    return {next_open_day(d + timedelta(days=after_days)).isoformat() for d in due_dates.unique().to_list()}


# ------------------------------------------------------------------------------------------------ run
def _run(settings: Settings, municipality: str, fiscal_year: int, through: date, run_id: str, dry_run: bool,
         report: RunReport) -> None:
    from transforms.tax_rules import RuleError, load_municipality_profile

    lake = settings.lake
    try:
        profile = load_municipality_profile(municipality)
        due_months = list(profile.get("ordinary_collection.due_months"))
        after_days = profile.amount("collection.demand_after_days")
    except RuleError as error:
        raise ConfigError(str(error)) from None

    step(STEPS[0])
    opening = dispatched_on(lake, municipality, fiscal_year)
    posted = run_partitions(lake, "curated", LEDGER, municipality, fiscal_year)
    last = posted[-1] if posted else None
    schedule = read_partition(lake, "curated", SCHEDULE, municipality, fiscal_year)
    moves = _optional(lake, MOVES, municipality, fiscal_year)
    switch = _optional(lake, SWITCH_INSTALLMENTS, municipality, fiscal_year)
    pension = _optional(lake, PENSION_LEDGER, municipality, fiscal_year)
    folders = landing_days(settings.landing, municipality, fiscal_year)
    _check_posted_days(lake, settings.landing, municipality, fiscal_year, folders, posted)

    dues = pl.concat([schedule["due_date"], switch["due_date"]]) if switch is not None else schedule["due_date"]
    events = {opening.isoformat(), *folders, *demand_days(dues, after_days)}
    registrations = _registrations(settings, municipality, fiscal_year, report)
    request_days = profile.amount("collection.account_transfer_request_days")
    if registrations is not None:  # the 口座振替 依頼 of each 普通徴収 納期限 goes to the bank that many days before
        ordinary = schedule.filter(pl.col("route") == "ordinary")["due_date"]
        if switch is not None:
            ordinary = pl.concat([ordinary, switch["due_date"]])
        events |= {(d - timedelta(days=request_days)).isoformat() for d in ordinary.unique().to_list()}
    if moves is not None:
        events |= {d.isoformat() for d in moves["notice_date"].unique().to_list()}
    days = sorted(d for d in events if d >= opening.isoformat() and d <= through.isoformat()
                  and (last is None or d > last))
    report.set_count("days_posted", len(days))
    if not days:
        report.message(f"Nothing to post: the ledger is posted up to {last} and no day up to {through} has files "
                       "or a 督促 due.")

    # the ledger as posted: its balances and receipts are what the days work on (a dry run keeps every row in
    # memory too, for the totals below; a run that writes reads them back from the partitions instead)
    ledger = read_run_partitions(lake, "curated", LEDGER, municipality, fiscal_year, schema=_ledger_schema(),
                                 columns=None if dry_run else WORKING_COLUMNS)
    outcomes = read_run_partitions(lake, "curated", RECORDS, municipality, fiscal_year, through=last,
                                   schema=_outcome_schema())
    demanded = read_run_partitions(lake, "curated", DEMANDS, municipality, fiscal_year, through=last,
                                   schema=DEMAND_SCHEMA)

    step(STEPS[1])
    ctx = _Context(settings, municipality, fiscal_year, run_id, dry_run, report, profile, due_months, schedule,
                   moves, switch, opening)
    ctx.registrations, ctx.request_days = registrations, request_days
    ctx.suspensions = _suspensions(settings, municipality, fiscal_year, report)
    ctx.requests = read_run_partitions(lake, "curated", REQUESTS, municipality, fiscal_year, through=last,
                                       schema=_request_schema())
    ctx.deferrals = read_run_partitions(lake, "curated", DEFERRALS, municipality, fiscal_year, through=last,
                                        schema=DEFERRAL_SCHEMA)
    if pension is not None:  # what each insurer reported withholding from each person (特別徴収結果通知, 22)
        ctx.pension_detail = pension.filter(pl.col("withheld") > 0).select(
            "atena_no", "route", pl.col("payer_code").alias("payer"), "period", "withheld")
    for day in days:
        ledger, outcomes, demanded = ctx.post_day(date.fromisoformat(day), folders.get(day, []), ledger, outcomes,
                                                  demanded)

    step(STEPS[2])
    _summarise(lake, municipality, fiscal_year, through, ledger, ctx.bal, report, dry_run)


def _optional(lake: Path, dataset: str, municipality: str, fiscal_year: int) -> pl.DataFrame | None:
    if not partition_exists(lake, "curated", dataset, municipality, fiscal_year):
        return None
    return read_partition(lake, "curated", dataset, municipality, fiscal_year)


def _check_posted_days(lake: Path, landing: Path, municipality: str, fiscal_year: int,
                       folders: dict[str, list[Path]], posted: list[str]) -> None:
    """A posted day's folder must hold the files it was posted with; a folder of a past day never posted is
    refused too (its day is over)."""
    if not posted:
        return
    seen = read_run_partitions(lake, "curated", FILES, municipality, fiscal_year, schema=FILE_SCHEMA,
                               columns=["posting_run", "file", "sha256"])
    for day, paths in folders.items():
        if day > posted[-1]:
            continue
        now = sorted((p.name, _sha256(p)) for p in paths)
        then = sorted(seen.filter(pl.col("posting_run") == day).select("file", "sha256").rows())
        if now != then:
            raise CollectionStopped(
                f"the payment files of {day} (landing/{PAYMENTS_SOURCE}/…/day={day}/) are not those that day was "
                f"posted with, and the ledger is posted up to {posted[-1]}: a posted day is never changed. Put a "
                "late or corrected file in the folder of the day it arrives in.")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ledger_schema() -> dict[str, pl.DataType]:
    from contracts.collection import LEDGER_SCHEMA

    return LEDGER_SCHEMA


def _request_schema() -> dict[str, pl.DataType]:
    from transforms.account_transfer import REQUEST_SCHEMA

    return REQUEST_SCHEMA


def _registrations(settings: Settings, municipality: str, fiscal_year: int, report: RunReport
                   ) -> pl.DataFrame | None:
    """The 口座振替 registrations delivered by the 収納 desk (landing/account_transfer_registrations/), staged;
    None when none was delivered (no 口座振替 then)."""
    from pipelines.notice_export import _read_required, landing_files
    from transforms.account_transfer import staged_registrations
    from transforms.notice_inputs import check_records

    if not landing_files(settings, REGISTRATIONS_SOURCE, municipality, fiscal_year):
        return None
    checked = check_records(_read_required(settings, REGISTRATIONS_SOURCE, municipality, fiscal_year, report),
                            REGISTRATIONS_SOURCE, None)
    held = checked.filter(pl.col("_reason").is_not_null()).height
    if held:
        report.message(f"{held} 口座振替 registrations cannot be read and are left out (the file's layout: "
                       "contracts/layouts/account_transfer_registrations.yaml): correct them, or their 期 are not "
                       "debited.")
    return staged_registrations(checked)


def _suspensions(settings: Settings, municipality: str, fiscal_year: int, report: RunReport
                 ) -> pl.DataFrame | None:
    """The suspensions the 収納 desk delivered (landing/collection_suspensions/: 徴収猶予, 換価の猶予, 滞納処分の
    停止, 督促保留), staged (atena_no, kind, start_date, end_date); None when none was delivered."""
    from pipelines.notice_export import _read_required, landing_files
    from transforms.notice_inputs import check_records

    if not landing_files(settings, SUSPENSIONS_SOURCE, municipality, fiscal_year):
        return None
    checked = check_records(_read_required(settings, SUSPENSIONS_SOURCE, municipality, fiscal_year, report),
                            SUSPENSIONS_SOURCE, None)
    held = checked.filter(pl.col("_reason").is_not_null()).height
    if held:
        report.message(f"{held} records of the suspension list (徴収猶予等) cannot be read and are left out: "
                       "correct them, or a 督促 may go to a person whose collection is suspended.")
    day = "%Y%m%d"
    return checked.filter(pl.col("_reason").is_null()).select(
        "atena_no", "kind", pl.col("start_date").str.strptime(pl.Date, day),
        pl.col("end_date").str.strptime(pl.Date, day, strict=False))


def _outcome_schema() -> dict[str, pl.DataType]:
    from transforms.collection import OUTCOME_SCHEMA

    return OUTCOME_SCHEMA


class _Context:
    """What every posting day of one run shares."""

    def __init__(self, settings, municipality, fiscal_year, run_id, dry_run, report, profile, due_months, schedule,
                 moves, switch, opening):
        self.settings, self.municipality, self.fiscal_year = settings, municipality, fiscal_year
        self.run_id, self.dry_run, self.report, self.profile = run_id, dry_run, report, profile
        self.due_months, self.schedule, self.moves, self.switch, self.opening = \
            due_months, schedule, moves, switch, opening
        self.pension_detail: pl.DataFrame | None = None
        self.bal: pl.DataFrame | None = None  # the ledger's balances (transforms.collection.balances), kept up to date
        self.receipts: pl.DataFrame | None = None  # its payment, 充当 and 減額 rows, keyed (see _receipts)
        self._told: tuple | None = None  # what the notices sent by the last charged day told (see _charges)
        self.registrations: pl.DataFrame | None = None
        self.suspensions: pl.DataFrame | None = None
        self.request_days = 0
        self.requests = pl.DataFrame(schema=_request_schema())
        self.deferrals = pl.DataFrame(schema=DEFERRAL_SCHEMA)
        self._deferred_today: list[pl.DataFrame] = []

    def post_day(self, day: date, paths: list[Path], ledger: pl.DataFrame, outcomes: pl.DataFrame,
                 demanded: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        from contracts.collection import LedgerEntries
        from transforms.collection import apply_entries, appropriations, balances, match_payments

        run = day.isoformat()
        fy, report = self.fiscal_year, self.report
        if self.bal is None:  # the balances of the ledger as read; kept up to date day by day after that
            self.bal = balances(ledger, sort=False) if ledger.height else _no_balances()
            self.receipts = _receipts(ledger)
        # 1. 調定
        charges = self._charges(day, run, opening=self.bal.height == 0)
        bal = apply_entries(self.bal, charges)
        # 2. payments
        files, records, quarantined, failures = self._read_files(run, paths)
        payments, day_outcomes = match_payments(records, bal, outcomes, fiscal_year=fy, posting_run=run,
                                                posted_on=day, pension_detail=self.pension_detail)
        day_outcomes = pl.concat([day_outcomes, quarantined], how="vertical").sort("file", "record_no")
        # 3. 延滞金 of the 期 paid up late, then 充当 (the tax first, 延滞金 last) and 還付
        bal = apply_entries(bal, payments)
        receipts = pl.concat([self.receipts, _receipts(charges), _receipts(payments)], how="vertical")
        late = self._late_charges(day, run, bal, payments, receipts)
        bal = apply_entries(bal, late)
        moved, refunds = appropriations(bal, fiscal_year=fy, posting_run=run, posted_on=day)
        bal = apply_entries(bal, moved)
        receipts = pl.concat([receipts, _receipts(moved)], how="vertical")
        late_after = self._late_charges(day, run, bal, moved.filter(pl.col("entry_kind") == "appropriation_in"),
                                        receipts)
        bal = apply_entries(bal, late_after)
        day_rows = pl.concat([charges, payments, late, moved, late_after], how="vertical_relaxed")
        day_rows = validate(LedgerEntries, day_rows.cast(_ledger_schema()), f"curated/{LEDGER} {run}", self.run_id)
        # the day's rows are written below; only a dry run keeps the ledger's rows in memory (for _summarise)
        ledger = pl.concat([ledger, day_rows], how="vertical") if self.dry_run else ledger.clear()
        refund_rows = self._refunds(run, day, refunds, receipts)
        request_rows = self._debit_requests(day, bal)
        # 4. 督促
        all_outcomes = pl.concat([outcomes, day_outcomes], how="vertical")
        demand_rows = self._demands(run, day, bal, demanded, all_outcomes, receipts)
        self.bal, self.receipts = bal, receipts

        deferral_rows = pl.concat(self._deferred_today, how="vertical") if self._deferred_today else \
            pl.DataFrame(schema=DEFERRAL_SCHEMA)
        self._deferred_today = []
        self.deferrals = pl.concat([self.deferrals, deferral_rows], how="vertical")
        self._account(run, files, day_outcomes, day_rows, refund_rows, demand_rows, failures)
        self._daily(run, day, day_rows, day_outcomes, refund_rows, demand_rows)
        if demand_rows.height or refund_rows.height or request_rows.height:  # they leave before the day is posted
            self._hand_off(run, day, demand_rows, refund_rows, request_rows)
        if not self.dry_run:
            lake, m = self.settings.lake, self.municipality
            extra = []
            if self.registrations is not None or request_rows.height:
                extra.append((REQUESTS, request_rows, ["debit_day", "customer_no"]))
            if failures.height:
                extra.append((FAILURES, failures, ["file", "record_no"]))
            if deferral_rows.height:
                extra.append((DEFERRALS, deferral_rows, ["notice_no", "route", "period", "status"]))
            for dataset, frame, key in (*extra, (FILES, files, ["file"]),
                                        (RECORDS, day_outcomes, ["file", "record_no"]),
                                        (REFUNDS, refund_rows, ["atena_no", "notice_no", "route", "period"]),
                                        (DEMANDS, demand_rows, ["demand_no"]),
                                        (LEDGER, day_rows, ["entry_id"])):  # the ledger last: it marks the day
                report.add_output(write_partition(lake, "curated", dataset, m, fy, frame, sort_by=key,
                                                  run_id=self.run_id, run=run))
        self.requests = pl.concat([self.requests, request_rows], how="vertical")
        return ledger, all_outcomes, pl.concat([demanded, demand_rows], how="vertical")

    def _charges(self, day: date, run: str, *, opening: bool) -> pl.DataFrame:
        """The 調定 rows of ``day`` (:func:`transforms.receivables.charge_entries`): computed on the first day of
        the run and whenever the notices sent by the day change (a pension switch's notice date passed), else
        none — the notified schedule is the whole year's, so it is not rebuilt on a day nothing changed."""
        from transforms.receivables import charge_entries, notified_schedule, receivables

        def told(frame: pl.DataFrame | None) -> tuple[int, int]:
            if frame is None or frame.height == 0:
                return (0, 0)
            by_then = frame.filter(pl.col("notice_date") <= day)
            return (by_then.height, int(by_then["amount"].sum() or 0))

        signature = (told(self.moves), told(self.switch))
        if not opening and signature == self._told:
            return pl.DataFrame(schema=_ledger_schema())
        self._told = signature
        notified = notified_schedule(self.schedule, self.moves, self.switch, as_of=day)
        targets = receivables(notified, fiscal_year=self.fiscal_year, due_months=self.due_months)
        # the 延滞金 (route late_charge) is charged by the collection itself, never by a notice: not compared
        return charge_entries(targets, self.bal.filter(pl.col("route") != "late_charge"), opening=opening,
                              fiscal_year=self.fiscal_year, posting_run=run, posted_on=day,
                              cause="curated/installment_schedule" if opening else
                              "curated/pension_moves (年金特別徴収から普通徴収へ)").cast(_ledger_schema())

    def _late_charges(self, day: date, run: str, bal: pl.DataFrame, touched: pl.DataFrame,
                      ledger: pl.DataFrame) -> pl.DataFrame:
        """The 延滞金 (route ``late_charge``) of every 普通徴収 期 that ``touched`` (the day's payments or 充当) paid
        up after its 納期限, and of every 期 deferred before: computed to its last payment (transforms.late_charge,
        地方税法第326条 and 附則第3条の2, every statutory rounding), charged at once. When a day of the 期 has no
        published rate, none is charged: the 期 are deferred (curated/late_charge_deferrals) and computed again
        on every later posting day until the rate is in rules/late_charge.yaml — never guessed, never dropped."""
        from transforms.collection import late_charge_entries, late_charge_periods
        from transforms.late_charge import late_charges
        from transforms.receivables import KEY
        from transforms.tax_rules import RuleError

        pending = self._pending_deferrals()
        periods, paid = late_charge_periods(bal, pl.concat([touched.select(KEY), pending.select(KEY)],
                                                           how="vertical_relaxed"), ledger)

        def mark(frame: pl.DataFrame, status: str, reason: str | None) -> None:
            if frame.height:
                self._deferred_today.append(frame.select(
                    pl.lit(run).alias("posting_run"), "atena_no", *KEY, pl.lit(status).alias("status"),
                    pl.lit(reason, pl.String).alias("reason")).cast(DEFERRAL_SCHEMA))

        if periods.height == 0:
            mark(pending, "computed", "no 延滞金 is due any more (the 期 is unpaid again or charged)")
            return pl.DataFrame(schema=_ledger_schema())
        try:
            charged, _segments = late_charges(periods.select("key", pl.col("charged").alias("tax_amount"),
                                                             "due_date", "computed_on"), paid)
        except RuleError as error:
            new = periods.join(pending.select(KEY), on=KEY, how="anti", nulls_equal=True)
            mark(new, "deferred", str(error))
            if new.height:
                self.report.message(f"{run}: the 延滞金 of {new.height} 期 paid late is deferred until the rate is "
                                    f"published: {error}")
                self.report.set_count("late_charges_deferred",
                                      self.report.counts.get("late_charges_deferred", 0) + new.height)
            return pl.DataFrame(schema=_ledger_schema())
        mark(pending, "computed", None)
        rows = late_charge_entries(periods, charged, fiscal_year=self.fiscal_year, posting_run=run, posted_on=day)
        if rows.height:
            self.report.set_count("late_charges", self.report.counts.get("late_charges", 0) + rows.height)
        return rows.cast(_ledger_schema())

    def _pending_deferrals(self) -> pl.DataFrame:
        """The 期 whose 延滞金 is deferred (their last row in curated/late_charge_deferrals, today's included)."""
        from transforms.receivables import KEY

        rows = pl.concat([self.deferrals, *self._deferred_today], how="vertical")
        last = rows.with_row_index("_n").sort("_n").group_by(KEY, maintain_order=True).agg(
            pl.col("atena_no").last(), pl.col("status").last())
        return last.filter(pl.col("status") == "deferred").select("atena_no", *KEY)

    # -------------------------------------------------------------------------------------- files
    def _read_files(self, run: str, paths: list[Path]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        from transforms.collection import OUTCOME_SCHEMA, RECORD_SCHEMA

        from transforms.account_transfer import FAILURE_SCHEMA, result_records

        files, frames, bad, failed = [], [], [], []
        for path in paths:
            data = path.read_bytes()
            channel = "account_transfer" if path.name.startswith(RESULT_PREFIX) else channel_of(path.name)
            entry = {"posting_run": run, "file": path.name, "channel": channel,
                     "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "records": 0,
                     "status": "read", "reason_code": None, "reason": None}
            if channel is None:
                entry.update(status="quarantined", reason_code="unknown_file", records=1,
                             reason="the file name does not start with a known channel (docs/layouts/payments.md)")
            elif channel == "account_transfer":  # the bank's 振替結果 of a 口座振替 依頼 the ward sent
                try:
                    paid, failures = result_records(data, file=path.name, requests=self.requests)
                except (JuminzeiError, ValueError) as error:
                    entry.update(status="quarantined", reason_code=type(error).__name__, records=1,
                                 reason=str(error))
                else:
                    frames.append(paid.select(list(RECORD_SCHEMA)).cast(RECORD_SCHEMA))
                    failed.append(failures.with_columns(pl.lit(run).alias("posting_run")))
                    entry["records"] = paid.height + failures.height
                    self.report.set_count("account_transfer_failed",
                                          self.report.counts.get("account_transfer_failed", 0) + failures.height)
            else:
                from transforms.payment_records import read_payment_file

                try:
                    parsed = read_payment_file(data, file=path.name, channel=channel)
                except JuminzeiError as error:
                    entry.update(status="quarantined", reason_code=type(error).__name__, records=1,
                                 reason=str(error))
                else:
                    frames.append(parsed.records.select(list(RECORD_SCHEMA)).cast(RECORD_SCHEMA))
                    q = parsed.quarantine
                    entry["records"] = parsed.records.height + q.height
                    bad.append(q.select(
                        pl.lit(run).alias("posting_run"), "file", "record_no", pl.lit(channel).alias("channel"),
                        pl.col("reason_code").alias("reason_code")))
            if entry["status"] == "quarantined":
                self.report.message(f"payment file {path.name} of {run} is quarantined whole: {entry['reason']}")
                bad.append(pl.DataFrame({"posting_run": [run], "file": [path.name], "record_no": [None],
                                         "channel": [channel], "reason_code": [entry["reason_code"]]},
                                        schema={"posting_run": pl.String, "file": pl.String, "record_no": pl.Int64,
                                                "channel": pl.String, "reason_code": pl.String}))
            files.append(entry)
        records = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=RECORD_SCHEMA)
        quarantined = pl.concat(bad, how="vertical") if bad else pl.DataFrame(
            schema={"posting_run": pl.String, "file": pl.String, "record_no": pl.Int64, "channel": pl.String,
                    "reason_code": pl.String})
        fixed = {"disposition": pl.lit("quarantined"), "posted_amount": pl.lit(0, pl.Int64),
                 "suspense_amount": pl.lit(0, pl.Int64)}
        quarantined = quarantined.with_columns(
            *[pl.lit(None, dtype).alias(c) for c, dtype in OUTCOME_SCHEMA.items()
              if c not in quarantined.columns and c not in fixed],
            *[value.alias(c) for c, value in fixed.items()],
        ).select(list(OUTCOME_SCHEMA)).cast(OUTCOME_SCHEMA)
        failure_schema = {"posting_run": pl.String(), **FAILURE_SCHEMA}
        failures = pl.concat(failed, how="vertical").select(list(failure_schema)).cast(failure_schema) if failed \
            else pl.DataFrame(schema=failure_schema)
        return pl.DataFrame(files, schema=FILE_SCHEMA), records, quarantined, failures

    # ---------------------------------------------------------------------------------- hand-offs
    def _inputs(self) -> dict:
        """What the printed files need, read once a run: residents, 送付先, employers, 公金受取口座."""
        if getattr(self, "_printed_inputs", None) is None:
            from pipelines.notice_export import RESIDENT_COLUMNS, SALARY_REPORT_COLUMNS, _read_required, landing_files
            from transforms.notice_inputs import check_records, mailing_addresses
            from transforms.notices import employers

            lake, m, fy, report = self.settings.lake, self.municipality, self.fiscal_year, self.report
            residents = read_partition(lake, "staging", "residents", m, fy, columns=RESIDENT_COLUMNS)
            mailing = check_records(_read_required(self.settings, "mailing_address", m, fy, report),
                                    "mailing_address", residents.select("atena_no"))
            reports = read_partition(lake, "staging", "salary_reports", m, fy, columns=SALARY_REPORT_COLUMNS) \
                .filter(pl.col("is_current"))
            summaries = read_partition(lake, "staging", "salary_summaries", m, fy) \
                if partition_exists(lake, "staging", "salary_summaries", m, fy) else None
            accounts = pl.DataFrame(schema={"atena_no": pl.String, "bank_code": pl.String, "branch_code": pl.String,
                                            "deposit_type": pl.String, "account_no": pl.String,
                                            "account_holder_kana": pl.String, "obtained_on": pl.Date})
            if landing_files(self.settings, ACCOUNTS_SOURCE, m, fy):  # the newest account of each person
                checked = check_records(_read_required(self.settings, ACCOUNTS_SOURCE, m, fy, report),
                                        ACCOUNTS_SOURCE, residents.select("atena_no"))
                accounts = checked.filter(pl.col("_reason").is_null()).sort("atena_no", "obtained_on") \
                    .unique("atena_no", keep="last", maintain_order=True).select(accounts.columns) \
                    .cast({c: accounts.schema[c] for c in accounts.columns if c != "obtained_on"})
            self._printed_inputs = {
                "residents": residents, "mailing": mailing_addresses(mailing), "accounts": accounts,
                "employers": employers(summaries, reports) if summaries is not None else None}
        return self._printed_inputs

    def _hand_off(self, run: str, day: date, demands: pl.DataFrame, refunds: pl.DataFrame,
                  requests: pl.DataFrame) -> None:
        """The day's 督促状 and 還付通知書 print data to the print vendor, and the 総合振込 of the refunds paid to a
        公金受取口座 and the 口座振替 依頼 to the 指定金融機関, each a hand-off folder of its own (``<run id>-<day>``).
        Printing waits for the DV等支援措置 list as a dispatch of notices does: a list missing or too old on the day
        stops the run before the day is posted (docs/notice-export.md); a bank file carries no address."""
        from pipelines.collection_files import Consignor, demand_notice_files, refund_files, transfer_file_name
        from pipelines.handoff import RawHandoffFile, write_handoff
        from pipelines.notice_export import _interlock

        inputs, report = self._inputs(), self.report
        protected = pl.Series("atena_no", [], pl.String)
        if demands.height or refunds.height:  # printed with an address: the interlock first
            report.dispatch = report.dispatch or {}
            current, problems = _interlock(self.settings, self.municipality, self.fiscal_year, report,
                                           inputs["residents"].select("atena_no"), day,
                                           self.profile.amount("notice_dispatch.support_list_max_age_days"),
                                           self.dry_run, " The day's 督促状 and 還付通知書 were not rendered.")
            if problems:
                return
            if current is not None:
                protected = current.persons(day)
        common = dict(residents=inputs["residents"], mailing=inputs["mailing"], protected=protected,
                      fiscal_year=self.fiscal_year, municipality_code=self.municipality)
        printed = []
        if demands.height:
            employer_rows = inputs["employers"]
            if employer_rows is None:
                employer_rows = pl.DataFrame(schema={"designation_no": pl.String, "employer_name": pl.String,
                                                     "employer_address": pl.String})
            printed += demand_notice_files(demands, employers=employer_rows, **common)
        transfer = None
        if refunds.height:
            consignor = Consignor(**self.profile.get("collection.refund_consignor"))
            handed = refund_files(refunds, accounts=inputs["accounts"], transfer_day=day, consignor=consignor,
                                  **common)
            printed += handed.print_files
            transfer = handed.transfer
            for sentence in handed.messages:
                report.message(f"{run}: {sentence}")
        bank = []
        if transfer is not None:
            bank.append(RawHandoffFile(name=transfer_file_name(day), data=transfer, recipient="bank",
                                       export="zengin_21", encoding="cp932", totals={"rows": int(refunds.height)}))
        for debit_day, part in requests.group_by("debit_day", maintain_order=True):
            bank.append(self._request_file(debit_day[0], part))
        folder = f"{self.run_id}-{day:%Y%m%d}"
        source = {"stage": STAGE, "posting_run": run}
        if printed:
            report.handoffs.append(write_handoff(
                self.settings.lake, recipient="print_vendor", municipality=self.municipality,
                fiscal_year=self.fiscal_year, run_id=folder, files=printed, source=source,
                preview=self.dry_run, series=f"collection:{run}"))
        if bank:
            report.handoffs.append(write_handoff(
                self.settings.lake, recipient="bank", municipality=self.municipality, fiscal_year=self.fiscal_year,
                run_id=folder, files=bank, source=source, preview=self.dry_run, series=f"collection:{run}"))

    def _request_file(self, debit_day: date, requests: pl.DataFrame):
        """The 口座振替 依頼 (全銀 91) of one 引落日, for the bank."""
        from pipelines.handoff import RawHandoffFile
        from transforms.account_transfer import request_file

        name = f"koza_furikae_91_{debit_day:%Y%m%d}.txt"
        consignor = self.profile.get("collection.account_transfer_consignor")
        data = request_file(requests, file=name, debit_day=debit_day, **consignor)
        return RawHandoffFile(name=name, data=data, recipient="bank", export="zengin_91", encoding="cp932",
                              totals={"rows": requests.height, "sum_amount": int(requests["amount"].sum())})

    def _debit_requests(self, day: date, bal: pl.DataFrame) -> pl.DataFrame:
        """The 口座振替 依頼 made on ``day``: for every 普通徴収 納期限 within the profile's days ahead that has none
        yet, the unpaid 期 of the persons with a registration in force (:mod:`transforms.account_transfer`)."""
        from transforms.account_transfer import debit_requests

        if self.registrations is None:
            return pl.DataFrame(schema=_request_schema())
        asked = set(self.requests["debit_day"].unique().to_list())
        window = (pl.col("due_date") > day) & (pl.col("due_date") <= day + timedelta(days=self.request_days))
        ahead = bal.filter(window).filter(pl.col("route") == "ordinary")
        frames = [debit_requests(bal, self.registrations, debit_day=d, earlier_requests=self.requests)
                  for d in sorted(set(ahead["due_date"].unique().to_list()) - asked)]
        out = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=_request_schema())
        if out.height:
            self.report.set_count("account_transfer_requested",
                                  self.report.counts.get("account_transfer_requested", 0) + out.height)
        return out.cast(_request_schema())

    # ------------------------------------------------------------------------------------ refunds
    def _refunds(self, run: str, day: date, refunds: pl.DataFrame, ledger: pl.DataFrame) -> pl.DataFrame:
        """The refunds decided on ``day`` with their 還付加算金 (from the latest payment of the 期; ``ledger``: the
        ledger's rows, or only its receipts: :func:`_receipts`)."""
        if refunds.height == 0:
            return pl.DataFrame(schema=REFUND_SCHEMA)
        from transforms.collection import rows_of_keys
        from transforms.receivables import KEY

        last_paid = rows_of_keys(ledger, refunds).filter(pl.col("entry_kind") == "payment").group_by(KEY).agg(
            pl.col("value_date").max().alias("paid_on"))
        rows = refunds.join(last_paid, on=KEY, how="left", nulls_equal=True).select(
            pl.lit(run).alias("posting_run"), pl.lit(day, pl.Date).alias("decided_on"), "atena_no", "notice_no",
            "route", "payer", "period", "installment", "refund", "paid_on")
        return rows.with_columns(_refund_additions(rows, ledger, day, self.report).alias("refund_addition")) \
            .cast(REFUND_SCHEMA)

    # ------------------------------------------------------------------------------------ 督促
    def _demands(self, run: str, day: date, bal: pl.DataFrame, demanded: pl.DataFrame, outcomes: pl.DataFrame,
                 ledger: pl.DataFrame) -> pl.DataFrame:
        from transforms.collection import demands, pending_preliminary

        pending = pending_preliminary(outcomes, bal)
        due = demands(bal, demanded, pending, day=day,
                      issue_after_days=self.profile.amount("collection.demand_after_days"))
        if self.suspensions is not None and due.height:  # no 督促 while a suspension is in force (第329条)
            held = self.suspensions.filter((pl.col("start_date") <= day)
                                           & (pl.col("end_date").is_null() | (pl.col("end_date") >= day)))
            waiting = due.join(held.select("atena_no").unique(), on="atena_no", how="semi")
            if waiting.height:
                self.report.set_count("demands_suspended",
                                      self.report.counts.get("demands_suspended", 0) + waiting.height)
            due = due.join(held.select("atena_no").unique(), on="atena_no", how="anti")
        if due.height == 0:
            return pl.DataFrame(schema=DEMAND_SCHEMA)
        fee = self.profile.amount("collection.demand_fee")
        deadline = day + timedelta(days=self.profile.amount("collection.demand_deadline_days"))
        charges = late_charges_of(due, ledger, day, self.report.message)
        out = due.join(charges, on=["notice_no", "route", "payer", "period"], how="left", nulls_equal=True).select(
            pl.lit(run).alias("posting_run"), pl.lit(day, pl.Date).alias("issued_on"),
            pl.concat_str(pl.lit(run.replace("-", "")), pl.lit("-"), pl.col("notice_no"), pl.lit("-"),
                          pl.col("route"), pl.lit("-"), pl.col("payer").fill_null("-"), pl.lit("-"),
                          pl.col("period")).alias("demand_no"),
            "atena_no", "notice_no", "route", "payer", "period", "installment", "due_date", "charged", "unpaid",
            "late_charge", pl.lit(fee, pl.Int64).alias("fee"),
            pl.lit(deadline, pl.Date).alias("deadline"))
        return out.cast(DEMAND_SCHEMA)

    # ------------------------------------------------------------------------------------ report
    def _daily(self, run: str, day: date, rows: pl.DataFrame, outcomes: pl.DataFrame, refunds: pl.DataFrame,
               demands: pl.DataFrame) -> None:
        """The day's 収納日計 (sql/daily_receipts.sql over the day's rows): yen and rows received, 充当 and
        refunded per route, with the records matched, held and in suspense."""
        from pipelines.sql import run_statement

        receipts = run_statement("daily_receipts", {"fiscal_year": self.fiscal_year, "day": day}, {"ledger": rows})
        by_kind = {(r["entry_kind"], r["route"]): {"rows": int(r["rows"]), "yen": int(r["amount"])}
                   for r in receipts.iter_rows(named=True)}
        self.report.daily.append({
            "day": run,
            "receipts": [{"entry_kind": k, "route": r, **v} for (k, r), v in sorted(by_kind.items())],
            "records": {d: outcomes.filter(pl.col("disposition") == d).height
                        for d in ("posted", "provisional", "cancelled_provisional", "suspense", "quarantined")},
            "suspense_yen": int(outcomes["suspense_amount"].sum() or 0),
            "refunds": refunds.height, "refund_yen": int(refunds["refund"].sum() or 0) if refunds.height else 0,
            "demand_notices": demands.height,
        })

    def _account(self, run: str, files: pl.DataFrame, outcomes: pl.DataFrame, rows: pl.DataFrame,
                 refunds: pl.DataFrame, demands: pl.DataFrame, failures: pl.DataFrame) -> None:
        report = self.report
        per_file = outcomes.group_by("file").agg(
            pl.len().alias("received"),
            (pl.col("disposition") != "quarantined").sum().alias("staged"),
            (pl.col("disposition") == "quarantined").sum().alias("quarantined"))
        per_file = files.select("file", "records").join(per_file, on="file", how="left")
        if failures.height:  # a 振替不能 record is recorded (curated/account_transfer_failures), not a payment
            failed = failures.group_by("file").agg(pl.len().alias("_failed"))
            per_file = per_file.join(failed, on="file", how="left").with_columns(
                (pl.col("staged").fill_null(0) + pl.col("_failed").fill_null(0)).alias("staged")).drop("_failed")
        for f in per_file.iter_rows(named=True):
            report.add_input_counts(f"landing/{PAYMENTS_SOURCE}/municipality={self.municipality}/fiscal_year="
                                    f"{self.fiscal_year}/day={run}/{f['file']}",
                                    received=f["records"], staged=f["staged"] or 0,
                                    quarantined=f["quarantined"] or 0, source=PAYMENTS_SOURCE)
        for disposition in ("posted", "provisional", "cancelled_provisional", "suspense", "quarantined"):
            name = f"records_{disposition}"
            report.set_count(name, report.counts.get(name, 0) + outcomes.filter(
                pl.col("disposition") == disposition).height)
        report.add_quarantine_reasons(dict(outcomes.filter(pl.col("disposition") == "quarantined")
                                           .group_by("reason_code").len().rows()))
        sums = dict(rows.group_by("entry_kind").agg(pl.col("amount").sum()).rows())
        for kind in ("assessment", "increase", "decrease", "payment", "appropriation_in", "refund"):  # all routes
            name = f"yen_{kind}"
            report.set_count(name, report.counts.get(name, 0) + int(sums.get(kind, 0)))
        report.set_count("yen_suspense", report.counts.get("yen_suspense", 0)
                         + int(outcomes["suspense_amount"].sum() or 0))
        report.set_count("refunds", report.counts.get("refunds", 0) + refunds.height)
        report.set_count("demand_notices", report.counts.get("demand_notices", 0) + demands.height)
        # every yen of a record read (a final payment, a remittance with its 退職所得分) is posted or in suspense
        read = outcomes.filter(pl.col("disposition").is_in(["posted", "suspense"])
                               & (pl.col("report_kind") == "final"))
        yen_in = int((read["amount"] + read["retirement_amount"]).sum() or 0)
        posted_yen = int(outcomes["posted_amount"].sum() or 0)
        suspense_yen = int(outcomes["suspense_amount"].sum() or 0)
        report.add_check(f"{run}: yen received = posted + suspense", yen_in == posted_yen + suspense_yen
                         and posted_yen == int(sums.get("payment", 0)),
                         expected=yen_in, actual={"posted": posted_yen, "suspense": suspense_yen,
                                                  "ledger_payments": int(sums.get("payment", 0))},
                         detail="every yen of a payment record read is posted to a 期 or held in suspense")


def channel_of(name: str) -> str | None:
    """The channel a payment file's name starts with (``convenience_…``, ``special_remittance_…``), or None."""
    from transforms.payment_records import CHANNELS

    for channel in sorted(CHANNELS, key=len, reverse=True):
        if name.startswith(f"{channel}_"):
            return channel
    return None


def _no_balances() -> pl.DataFrame:
    return pl.DataFrame(schema={"atena_no": pl.String, "notice_no": pl.String, "route": pl.String,
                                "payer": pl.String, "period": pl.String, "installment": pl.Int32,
                                "due_date": pl.Date, "charged": pl.Int64, "received": pl.Int64,
                                "unpaid": pl.Int64, "overpaid": pl.Int64})


#: the ledger rows the per-day computations read back (延滞金 from the payments and 充当 of a 期; 還付加算金 from
#: its last payment and whether its 調定 was lowered): kept by the stage, keyed (transforms.collection.keyed), so
#: that a day looks up its few 期 by a hash instead of scanning the whole ledger's text
RECEIPT_KINDS = ("payment", "appropriation_in", "decrease")
#: the columns of the ledger a run works from: what balances and receipts need (not the readable ``entry_id``
#: and ``cause``, most of the ledger's memory)
WORKING_COLUMNS = ["posted_on", "value_date", "entry_kind", "atena_no", "fiscal_year", "route", "payer", "notice_no",
                   "period", "installment", "due_date", "amount"]
_RECEIPT_COLUMNS = ["entry_kind", "notice_no", "route", "payer", "period", "value_date", "amount"]


def _receipts(rows: pl.DataFrame) -> pl.DataFrame:
    """The ``rows`` of :data:`RECEIPT_KINDS`, narrowed to what is read back from them, with the KEY's hash."""
    from transforms.collection import keyed

    schema = _ledger_schema()
    return keyed(rows.filter(pl.col("entry_kind").is_in(list(RECEIPT_KINDS))).select(_RECEIPT_COLUMNS)
                 .cast({c: schema[c] for c in _RECEIPT_COLUMNS}))


def late_charges_of(due: pl.DataFrame, ledger: pl.DataFrame, day: date, say) -> pl.DataFrame:
    """延滞金 as of ``day`` of each 期 in ``due`` (its 調定 and the payments made on it); null, with a sentence in
    the report, when a day of the period has no published rate (the 督促状 still goes out: the 延滞金 is
    computed when the tax is paid). ``say`` takes that sentence (a run report's ``message``)."""
    from transforms.collection import rows_of_keys
    from transforms.late_charge import late_charges
    from transforms.receivables import KEY
    from transforms.tax_rules import RuleError

    periods = due.with_row_index("_id").select(pl.col("_id").cast(pl.String).alias("key"), *KEY,
                                               pl.col("charged").alias("tax_amount"), "due_date",
                                               pl.lit(day, pl.Date).alias("computed_on"))
    pays = rows_of_keys(ledger, due).filter(pl.col("entry_kind").is_in(["payment", "appropriation_in"])
                                            & (pl.col("value_date") <= day)).join(
        periods.select("key", *KEY), on=KEY, how="inner", nulls_equal=True).select(
        "key", pl.col("value_date").alias("date"), "amount")
    try:
        charged, _segments = late_charges(periods.select("key", "tax_amount", "due_date", "computed_on"), pays)
    except RuleError as error:
        say(f"the 延滞金 of {day} is not computed: {error}")
        return periods.select(*KEY, pl.lit(None, pl.Int64).alias("late_charge"))
    return periods.select("key", *KEY).join(charged.select("key", "late_charge"), on="key", how="left").select(
        *KEY, pl.col("late_charge").cast(pl.Int64))


def _refund_additions(rows: pl.DataFrame, ledger: pl.DataFrame, day: date, report: RunReport) -> pl.Series:
    """還付加算金 of each refund decided on ``day`` (:mod:`transforms.refund_addition`), counted from its last
    payment: a 過納 (the 期's 調定 was lowered, 第17条の4第1項第1号) from the day after it, any other 過誤納
    (paid twice, paid too much: 第4号) from one month after it. Null, with a sentence in the report, when a
    day has no published rate (the rules refuse it rather than guess)."""
    from transforms.collection import rows_of_keys
    from transforms.receivables import KEY
    from transforms.refund_addition import refund_additions
    from transforms.tax_rules import RuleError

    lowered = rows_of_keys(ledger, rows).filter(pl.col("entry_kind") == "decrease").select(KEY).unique().with_columns(
        pl.lit(True).alias("_lowered"))
    frame = rows.with_row_index("_id").join(lowered, on=KEY, how="left", nulls_equal=True).sort("_id").select(
        pl.col("_id").cast(pl.String).alias("refund_id"),
        pl.when(pl.col("_lowered")).then(pl.lit("assessment_reduced")).otherwise(pl.lit("mistaken_payment"))
        .alias("cause"),
        pl.col("paid_on").fill_null(day), pl.col("refund").alias("amount"), pl.lit(day, pl.Date).alias("decided_on"))
    try:
        out = refund_additions(frame)
    except RuleError as error:
        report.message(f"the 還付加算金 of the refunds decided on {day} is not decided: {error}")
        return pl.Series("refund_addition", [None] * rows.height, pl.Int64)
    return frame.select("refund_id").join(out.select("refund_id", "refund_addition"), on="refund_id",
                                          how="left", maintain_order="left")["refund_addition"].cast(pl.Int64)


def _summarise(lake: Path, municipality: str, fiscal_year: int, through: date, ledger: pl.DataFrame,
               bal: pl.DataFrame | None, report: RunReport, dry_run: bool) -> None:
    """The 調定・収入・未納 totals of the 年度 as of the processing day, by a DuckDB statement over the ledger's
    partitions (a dry run: over the rows in memory), held equal to the balances the run kept day by day (``bal``;
    when it posted no day, the ledger as read summed here): two computations that share no code."""
    from pipelines.sql import run_statement
    from transforms.collection import balances
    from transforms.receivables import KEY

    files = run_partition_files(lake, "curated", LEDGER, municipality, fiscal_year)
    if (dry_run and ledger.height == 0) or (not dry_run and not files):
        return
    source = ledger if dry_run else files
    totals = run_statement("collection_totals", {"fiscal_year": fiscal_year, "as_of": through}, {"ledger": source})
    kept = bal if bal is not None else balances(ledger.filter(pl.col("posted_on") <= through))
    mine = kept.group_by("route").agg(
        pl.col("charged").sum(), pl.col("received").sum(), pl.col("unpaid").sum(), pl.col("overpaid").sum()) \
        .sort("route")
    same = totals.select("route", "charged", "received", "unpaid", "overpaid").sort("route").equals(
        mine.select("route", "charged", "received", "unpaid", "overpaid"))
    report.add_check("collection_totals (sql) = the ledger summed per 期", same,
                     expected=mine.to_dicts(), actual=totals.to_dicts(),
                     detail="調定 = 収入 + 未納 − 過誤納 per 期 and route, two computations")
    # per 期 of every person: the DuckDB sum over the partitions against the figures kept day by day
    figures = ["atena_no", *KEY, "charged", "received", "unpaid", "overpaid"]
    per_key = run_statement("receivable_balances", {"fiscal_year": fiscal_year, "as_of": through},
                            {"ledger": source}).select(figures).sort(KEY, nulls_last=False)
    kept_per_key = kept.select(figures).sort(KEY, nulls_last=False)
    differing = per_key.join(kept_per_key, on=figures, how="anti", nulls_equal=True).height \
        + kept_per_key.join(per_key, on=figures, how="anti", nulls_equal=True).height
    report.add_check("receivable_balances (sql) = the balances kept day by day, per 期 of every person",
                     differing == 0 and per_key.height == kept_per_key.height, expected=per_key.height,
                     actual={"periods": kept_per_key.height, "differing": differing},
                     detail="調定 = 収入 + 未納 − 過誤納 for every 通知書番号, route and 期別, summed over the "
                            "whole ledger by DuckDB and kept by the run from its rows")
    for row in totals.iter_rows(named=True):
        for figure in ("charged", "received", "unpaid", "overpaid"):
            report.set_count(f"{row['route']}_{figure}", int(row[figure]))
    records = run_partition_files(lake, "curated", RECORDS, municipality, fiscal_year)
    if not dry_run and records:  # every payment file of the year, to the ledger (sql/payment_reconciliation.sql)
        files = run_statement("payment_reconciliation", {"fiscal_year": fiscal_year},
                              {"ledger": source, "records": records})
        off = files.filter(~pl.col("reconciles"))
        report.add_check("payment_reconciliation (sql): every payment file's records in one place and its posted "
                         "yen in the ledger", off.height == 0, expected=files.height,
                         actual=files.height - off.height,
                         detail=("files that do not: " + ", ".join(off["file"].to_list()[:5])) if off.height else
                         "records = posted + provisional + cancelled + suspense + quarantined; posted yen = ledger")


__all__ = ["CollectionStopped", "channel_of", "dispatched_on", "landing_days", "late_charges_of", "run"]
