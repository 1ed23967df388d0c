"""Stage `notice_export` (徴収方法・期割・通知書): from the assessment to what leaves the building.

Reads ``curated/tax_assessment`` and the documents behind it (``curated/basis_lineage``,
``staging/salary_reports``, ``staging/etax_returns``, ``staging/residents``), the persons withheld from a
pension (``curated/pension_targets``, matched by ``pension_special_collection`` from the insurers' May file) and
two files of the landing zone (:mod:`transforms.notice_inputs`): the 送付先 and the DV等支援措置 list. It decides the 徴収方法 of every person with tax (:mod:`transforms.collection_plan`), splits each
route into its installments (:mod:`transforms.installments`) and writes ``curated/collection_plan``,
``curated/installment_schedule`` and the quarantined input records (``quarantine/notice_export``).

A dispatch also writes ``curated/notice_hold`` (the notices held back) and one hand-off folder per
recipient under ``exports/`` (:mod:`pipelines.notice_files`, :mod:`pipelines.handoff`): the print
vendor's 納税通知書 and 特別徴収税額決定通知書, the eLTAX data of electronic employers, the 回送 lists; and
a sample of 20 notices as PDF for the operator (:mod:`pipelines.notice_pdf`). A dry run writes the same
print and 回送 files under ``preview/`` only, and no dataset.

Dispatch is fail-closed: without a trustworthy DV等支援措置 list (missing, empty where last year's was
not, older than the profile allows, or with a record that cannot be read) a dispatch run stops before
anything is written, with the reasons; a dry run reports what would stop it and renders nothing
(docs/notice-export.md).

Counts: one input per landing file (received = staged + quarantined) and the assessment (received =
assessed persons = persons with a plan + persons with no tax).
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import polars as pl

from contracts.errors import ConfigError, JuminzeiError
from pipelines.config import Settings
from pipelines.handoff import write_handoff
from pipelines.lake import partition_exists, read_partition, write_partition
from pipelines.progress import step
from pipelines.reports import RunReport
from pipelines.stage import execute, require_reconciled, validate

log = logging.getLogger("juminzei.notice_export")

STAGE = "notice_export"
QUARANTINE_DATASET = STAGE
PLAN = "collection_plan"
SCHEDULE = "installment_schedule"
HOLD = "notice_hold"
#: the lake datasets the stage reads, all of the same municipality and fiscal year
INPUTS = (("curated", "tax_assessment"), ("curated", "basis_lineage"), ("staging", "residents"),
          ("staging", "salary_reports"), ("staging", "etax_returns"))
STEPS = ("reading the assessment and the notice inputs", "checking the DV等支援措置 list",
         "deciding the collection method", "splitting into installments", "building the notices",
         "checking the contracts", "writing", "writing the hand-off files")


#: the columns read (a 1,000,000-resident ward's assessment has 170 columns, its salary reports 200: reading
#: only these keeps the stage within its memory target, docs/notice-export.md "Speed")
ASSESSMENT_COLUMNS = [
    "person_id", "fiscal_year", "birth_date", "exemption", "salary_revenue", "public_pension_revenue",
    "salary_income", "public_pension_income", "total_income", "gross_income", "income_deductions", "taxable_income",
    "income_levy_gross_municipal", "income_levy_gross_prefectural", "adjustment_credit_municipal",
    "adjustment_credit_prefectural", "levy_after_adjustment_municipal", "levy_after_adjustment_prefectural",
    "income_levy_municipal", "income_levy_prefectural", "per_capita_levy_municipal", "per_capita_levy_prefectural",
    "forest_environment_tax", "total_tax",
]
RESIDENT_COLUMNS = ["atena_no", "name_kanji", "name_kana", "postal_code", "address", "address_detail", "birth_date",
                    "removal_date", "destination_address"]
SALARY_REPORT_COLUMNS = ["doc_uid", "file", "record_no", "received_on", "is_current", "designation_no", "employee_no",
                         "payer_name", "payer_address", "otsu_column", "payment_amount_yen", "ordinary_collection",
                         "remarks"]
SUMMARY_COLUMNS = ["designation_no", "is_current", "received_on", "file", "record_no", "payer_name", "payer_postal_code",
                   "payer_address", "notice_method_employer", "notice_method_employee"]


class DispatchStopped(JuminzeiError):
    """A safety interlock refused the dispatch; the sentence lists every reason."""


def run(
    *,
    fiscal_year: int,
    municipality: str = "131032",
    settings: Settings | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
    notice_date: str | date | None = None,
    requested_by: str | None = None,
    pension_switch_month: str | None = None,
) -> dict:
    """Plan, schedule and write the notices of one municipality and fiscal year: a dispatch writes the
    hand-off folders (``exports/``), a dry run the same files under ``preview/`` only.

    ``pension_switch_month`` (YYYY-MM): instead, the 納税通知書 (変更) of the persons whose pension withholding
    moved to 普通徴収 in that month (``pension_special_collection``, docs/pension-exchange.md), dated as the
    switch and handed to the print vendor as a hand-off of its own; the plan of June is left as it is.

    ``notice_date`` (通知日, ISO date): the day the notices go out; the DV等支援措置 list must be fresh on
    that day. Empty: today in Asia/Tokyo. ``requested_by``: who chose this run (the Airflow user who
    triggered it, or the CLI's user); recorded in the run report with the choice."""
    day = resolve_notice_date(notice_date)

    def body(settings: Settings, report: RunReport) -> None:
        report.dispatch = {
            "mode": "preview" if dry_run else "dispatch",
            "chosen_by": requested_by or f"{settings.actor} (command line)",
            "notice_date": day.isoformat(),
            "explicit": not dry_run,
        }
        if pension_switch_month:
            _run_switch(settings, municipality, fiscal_year, report.run_id, dry_run, pension_switch_month, report)
            return
        _run(settings, municipality, fiscal_year, report.run_id, dry_run, day, report)

    return execute(STAGE, body, fiscal_year=fiscal_year, municipality=municipality, settings=settings,
                   run_id=run_id, dry_run=dry_run, log=log, steps=STEPS)


def resolve_notice_date(value: str | date | None, today: date | None = None) -> date:
    """The notice date of a run: the operator's ISO date, else today's date in Asia/Tokyo."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if value in (None, ""):
        return today or datetime.now(ZoneInfo("Asia/Tokyo")).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"notice_date must be a date written YYYY-MM-DD, got {value!r}") from None


# --------------------------------------------------------------------------------------------- inputs


def landing_files(settings: Settings, source: str, municipality: str, fiscal_year: int) -> list[Path]:
    directory = settings.landing / source / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.csv") if p.is_file() and not p.name.startswith("."))


def _read_required(settings: Settings, source: str, municipality: str, fiscal_year: int,
                   report: RunReport) -> pl.DataFrame:
    """Every file of a required notice input; none → an error naming the file expected."""
    from contracts.errors import InputFileError
    from contracts.resident_snapshot import load_layout
    from pipelines.resident_snapshot import read_registry_file

    layout = load_layout(source)
    files = landing_files(settings, source, municipality, fiscal_year)
    if not files:
        expected = (settings.landing / source / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
                    / layout.expected_file(municipality, fiscal_year))
        raise InputFileError(expected, None, None,
                             f"the {layout.title} ({source}) as a UTF-8 CSV file with a header (it may hold no "
                             "records, but it must be delivered)", "no such file (no *.csv in that folder)")
    return pl.concat([read_registry_file(settings, p, layout, report) for p in files], how="vertical")


def pension_targets(lake: Path, municipality: str, fiscal_year: int, report: RunReport) -> pl.DataFrame:
    """The persons withheld from a pension, as the pension exchange decided them in May from the insurers'
    特別徴収対象者情報 (``curated/pension_targets``, docs/pension-exchange.md)."""
    from pipelines.pension_special_collection import TARGETS
    from transforms.pension_collection import notice_targets

    if not partition_exists(lake, "curated", TARGETS, municipality, fiscal_year):
        raise ConfigError(
            f"curated/{TARGETS} for {municipality}/{fiscal_year} does not exist: run pension_special_collection for "
            f"{fiscal_year}-05 (the pension insurers' 特別徴収対象者情報) before the notices, or the pensioners' tax "
            "would all go to 普通徴収")
    decided = read_partition(lake, "curated", TARGETS, municipality, fiscal_year)
    targets = notice_targets(decided)
    report.add_input_counts(f"curated/{TARGETS}", received=decided.height, staged=decided.height, quarantined=0,
                            source="pension_targets")
    report.set_count("pension_targets_withheld", targets.height)
    return targets


def _support_list(settings: Settings, municipality: str, fiscal_year: int, report: RunReport,
                  residents: pl.DataFrame | None, on: date | None = None):
    """The newest DV等支援措置 extract of a fiscal year (by the date in its name) taken on or before ``on`` (the
    notice date; a later extract belongs to a later dispatch), else the newest at all; None without one."""
    from contracts.errors import InputFileError
    from contracts.resident_snapshot import load_layout
    from pipelines.resident_snapshot import read_registry_file
    from transforms.notice_inputs import SupportList, check_records, support_file_date

    dated = []
    for path in landing_files(settings, "support_measures", municipality, fiscal_year):
        as_of = support_file_date(path.name, municipality)
        if as_of is None:
            raise InputFileError(path, None, None, f"a name shien_sochi_{municipality}_<YYYYMMDD>.csv (the extract date)",
                                 "the file name does not carry the extract date of the list")
        dated.append((as_of, path))
    if not dated:
        return None
    usable = [pair for pair in dated if on is None or pair[0] <= on]
    as_of, path = max(usable or dated)
    lines = read_registry_file(settings, path, load_layout("support_measures"), report)
    name = path.resolve().relative_to(settings.landing.resolve()).as_posix()
    return SupportList(file=name, as_of=as_of, records=check_records(lines, "support_measures", residents))


def _interlock(settings: Settings, municipality: str, fiscal_year: int, report: RunReport, residents: pl.DataFrame,
               notice_date: date, max_age: int, dry_run: bool, dry_run_note: str = ""):
    """The DV等支援措置 interlock of a dispatch (docs/notice-export.md): the list in force on the notice date and
    what would stop the dispatch. A dispatch that would stop raises :class:`DispatchStopped`; a dry run
    reports it. Returns the list (or None) and the problems."""
    from transforms.notice_inputs import suppression_problems

    current = _support_list(settings, municipality, fiscal_year, report, residents, on=notice_date)
    previous = _support_list(settings, municipality, fiscal_year - 1, report, residents)
    problems = suppression_problems(current, previous, notice_date=notice_date, max_age_days=max_age)
    report.dispatch["interlock"] = "stopped" if problems else "passed"
    if problems:
        sentence = ("Dispatch stopped by the DV等支援措置 interlock (docs/notice-export.md): " + "; ".join(problems)
                    + ". Nothing was written.")
        if not dry_run:
            raise DispatchStopped(sentence)
        report.message("Dry run: a dispatch now would stop. " + sentence + dry_run_note)
    return current, problems


def _salary_reports(lineage: pl.DataFrame, reports: pl.DataFrame) -> pl.DataFrame:
    """The current salary reports of each person's basis, in the columns the plan reads."""
    used = lineage.filter(pl.col("is_current") & (pl.col("source") == "salary_report")).select("person_id", "doc_uid")
    return used.join(reports.filter(pl.col("is_current")), on="doc_uid", how="inner").select(
        "person_id", "doc_uid", "designation_no",
        (pl.col("otsu_column").fill_null("").str.strip_chars() == "1").alias("otsu"),
        pl.col("payment_amount_yen").fill_null(0).alias("payment"),
        (pl.col("ordinary_collection").fill_null("").str.strip_chars() == "1").alias("ordinary"),
        "remarks",
    )


def _choices(lineage: pl.DataFrame, returns: pl.DataFrame) -> pl.DataFrame:
    """住民税に関する事項 of the current e-Tax return: 給与から差引き (1) or 自分で納付 (2)."""
    used = lineage.filter(pl.col("is_current") & (pl.col("source") == "etax_return")).select("person_id", "doc_uid")
    return used.join(returns.filter(pl.col("is_current")), on="doc_uid", how="inner").select(
        "person_id",
        pl.col("resident_tax_collection").replace_strict({"1": "withhold", "2": "self"}, default=None,
                                                         return_dtype=pl.String).alias("other_income_collection"),
    ).filter(pl.col("other_income_collection").is_not_null()).sort("person_id")


# -------------------------------------------------------------------------------------------- the run


def _run(settings: Settings, municipality: str, fiscal_year: int, run_id: str, dry_run: bool, notice_date: date,
         report: RunReport) -> None:
    from contracts.notice_export import CollectionPlan, InstallmentSchedule, NoticeInputQuarantine
    from contracts.resident_snapshot import load_layout
    from contracts.tax_assessment import TaxAssessment
    from transforms.notice_inputs import check_records
    from transforms.resident_snapshot import quarantine_frame
    from transforms.tax_rules import RuleError, load_municipality_profile

    lake = settings.lake
    for zone, dataset in INPUTS:
        if not partition_exists(lake, zone, dataset, municipality, fiscal_year):
            raise ConfigError(f"{zone}/{dataset} for {municipality}/{fiscal_year} does not exist: run the cycle up to "
                              "tax_assessment for this municipality and fiscal year first")
    try:
        profile = load_municipality_profile(municipality)
        max_age = profile.amount("notice_dispatch.support_list_max_age_days")
    except RuleError as error:
        raise ConfigError(str(error)) from None

    step(STEPS[0])
    assessment = validate(TaxAssessment, read_partition(lake, "curated", "tax_assessment", municipality, fiscal_year,
                                                        columns=ASSESSMENT_COLUMNS),
                          "curated/tax_assessment", run_id)
    lineage = read_partition(lake, "curated", "basis_lineage", municipality, fiscal_year,
                             columns=["person_id", "doc_uid", "source", "is_current"])
    residents_full = read_partition(lake, "staging", "residents", municipality, fiscal_year, columns=RESIDENT_COLUMNS)
    residents = residents_full.select("atena_no")
    checked = {
        source: check_records(_read_required(settings, source, municipality, fiscal_year, report), source, residents)
        for source in ("mailing_address",)
    }
    targets = pension_targets(lake, municipality, fiscal_year, report)

    step(STEPS[1])
    current, problems = _interlock(settings, municipality, fiscal_year, report, residents, notice_date, max_age,
                                   dry_run, " No preview files were rendered either (a protected address could be "
                                   "among them).")

    step(STEPS[2])
    from transforms.collection_plan import collection_plan

    salary_reports = read_partition(lake, "staging", "salary_reports", municipality, fiscal_year,
                                    columns=SALARY_REPORT_COLUMNS)
    reports = _salary_reports(lineage, salary_reports)
    choices = _choices(lineage, read_partition(lake, "staging", "etax_returns", municipality, fiscal_year,
                                               columns=["doc_uid", "is_current", "resident_tax_collection"]))
    plan = collection_plan(assessment, reports, targets, choices, fiscal_year=fiscal_year)

    step(STEPS[3])
    schedule = installment_schedule(plan, targets, profile, fiscal_year, notice_date)

    step(STEPS[4])
    from pipelines import notice_files
    from transforms.notice_inputs import mailing_addresses

    protected = current.persons(notice_date) if current is not None else pl.Series("atena_no", [], pl.String)
    vault_reader = None
    if not dry_run:
        def vault_reader(persons: pl.Series) -> pl.DataFrame:
            from pipelines.lake import read_vault

            return read_vault(settings, municipality, fiscal_year, reason=notice_files.ELTAX_VAULT_REASON,
                              run_id=run_id, atena_nos=persons.to_list())
    notices = notice_files.build(
        assessment=assessment, plan=plan, schedule=schedule, residents=residents_full,
        mailing=mailing_addresses(checked["mailing_address"]), protected=protected, reports=salary_reports,
        summaries=_optional(lake, "staging", "salary_summaries", municipality, fiscal_year),
        forwarding=read_partition(lake, "curated", "forwarding", municipality, fiscal_year),
        fiscal_year=fiscal_year, municipality=municipality, notice_date=notice_date, profile=profile,
        my_numbers=vault_reader,
        registrations=_registrations(lake, municipality, fiscal_year))

    step(STEPS[5])
    from contracts.notice_export import NoticeHold

    plan = validate(CollectionPlan, plan, f"curated/{PLAN}", run_id)
    schedule = validate(InstallmentSchedule, schedule, f"curated/{SCHEDULE}", run_id)
    held = validate(NoticeHold, notices.held, f"curated/{HOLD}", run_id)
    layouts = {source: load_layout(source) for source in checked}
    if current is not None:
        checked["support_measures"], layouts["support_measures"] = current.records, load_layout("support_measures")
    quarantine = validate(NoticeInputQuarantine, quarantine_frame({s: (checked[s], layouts[s]) for s in checked}, run_id),
                          f"quarantine/{QUARANTINE_DATASET}", run_id)
    _account(report, assessment, plan, schedule, checked, quarantine)
    notice_files.check(report, plan, notices)
    notice_files.check_files(report, notices)
    require_reconciled(report)
    source = {"tax_assessment": _provenance(lake, "curated", "tax_assessment", municipality, fiscal_year),
              "notice_date": notice_date.isoformat(), "stage_run_id": run_id}
    if dry_run:
        if not problems:
            step(STEPS[7])
            for recipient in ("print_vendor", "municipalities"):
                written = write_handoff(lake, recipient=recipient, municipality=municipality, fiscal_year=fiscal_year,
                                        run_id=run_id, files=notices.files[recipient], source=source, preview=True)
                report.handoffs.append(written)
            _samples(lake, municipality, fiscal_year, run_id, notices, report)
        report.message("Dry run: the plan, the installments and the notices were computed and checked; the notice "
                       "files were rendered under preview/ only (no eLTAX file: it would read the vault); nothing "
                       "was handed off and no dataset was written.")
        return

    step(STEPS[6])
    for zone, dataset, frame, key in (
        ("curated", PLAN, plan, ["person_id"]),
        ("curated", SCHEDULE, schedule, ["person_id", "method", "sequence"]),
        ("curated", HOLD, held, ["person_id", "notice_kind"]),
        ("quarantine", QUARANTINE_DATASET, quarantine, ["source", "file", "record_no"]),
    ):
        written = write_partition(lake, zone, dataset, municipality, fiscal_year, frame, sort_by=key, run_id=run_id,
                                  compare_ignoring=["run_id"] if zone == "quarantine" else ())
        report.add_output(written)

    step(STEPS[7])
    for recipient in ("print_vendor", "eltax", "municipalities"):
        if not notices.files[recipient]:
            continue
        written = write_handoff(lake, recipient=recipient, municipality=municipality, fiscal_year=fiscal_year,
                                run_id=run_id, files=notices.files[recipient], source=source)
        report.handoffs.append(written)
        if written.get("supersedes"):
            report.message(f"The {recipient} hand-off {written['run_id']} supersedes {written['supersedes']} (its "
                           "content differs): tell the recipient to use the new folder and discard the old one if "
                           "it was not yet printed or loaded; notices already mailed are changed by a 賦課更正, "
                           "not by a second dispatch.")
    _samples(lake, municipality, fiscal_year, run_id, notices, report)
    if all(o.get("unchanged") for o in report.outputs) and all(h["unchanged"] for h in report.handoffs):
        report.message("Inputs unchanged since the last run: every output partition and hand-off was left as it "
                       "was; nothing was sent again.")


def _run_switch(settings: Settings, municipality: str, fiscal_year: int, run_id: str, dry_run: bool, month: str,
                report: RunReport) -> None:
    """The 納税通知書 (変更) of a month's switch from pension withholding to 普通徴収 (see :func:`run`)."""
    from contracts.notice_export import CollectionPlan, InstallmentSchedule
    from contracts.tax_assessment import TaxAssessment
    from pipelines import notice_files
    from pipelines.pension_special_collection import MOVES, SWITCH_INSTALLMENTS
    from transforms.notice_inputs import check_records, mailing_addresses
    from transforms.pension_collection import switched_plan
    from transforms.tax_rules import RuleError, load_municipality_profile

    lake = settings.lake
    for zone, dataset in (("curated", "tax_assessment"), ("staging", "residents"), ("curated", PLAN),
                          ("curated", SCHEDULE), ("curated", MOVES), ("curated", SWITCH_INSTALLMENTS)):
        if not partition_exists(lake, zone, dataset, municipality, fiscal_year):
            raise ConfigError(f"{zone}/{dataset} for {municipality}/{fiscal_year} does not exist: the 納税通知書 (変更) of "
                              f"a pension switch need the dispatched 当初賦課 and pension_special_collection of {month}")
    moves = read_partition(lake, "curated", MOVES, municipality, fiscal_year)
    this_month = moves.filter(pl.col("month") == month)
    report.dispatch["pension_switch_month"] = month
    if this_month.height == 0:
        report.message(f"No pension withholding moved to 普通徴収 in {month}: there is no notice to send.")
        return
    try:
        profile = load_municipality_profile(municipality)
        max_age = profile.amount("notice_dispatch.support_list_max_age_days")
    except RuleError as error:
        raise ConfigError(str(error)) from None
    notice_date = this_month["notice_date"].min()
    report.dispatch["notice_date"] = notice_date.isoformat()

    step(STEPS[0])
    assessment = validate(TaxAssessment, read_partition(lake, "curated", "tax_assessment", municipality, fiscal_year,
                                                        columns=ASSESSMENT_COLUMNS), "curated/tax_assessment", run_id)
    residents_full = read_partition(lake, "staging", "residents", municipality, fiscal_year, columns=RESIDENT_COLUMNS)
    residents = residents_full.select("atena_no")
    mailing = check_records(_read_required(settings, "mailing_address", municipality, fiscal_year, report),
                            "mailing_address", residents)

    step(STEPS[1])
    current, problems = _interlock(settings, municipality, fiscal_year, report, residents, notice_date, max_age,
                                   dry_run)
    if problems:
        return

    step(STEPS[2])
    plan, schedule = switched_plan(read_partition(lake, "curated", PLAN, municipality, fiscal_year),
                                   read_partition(lake, "curated", SCHEDULE, municipality, fiscal_year), moves,
                                   read_partition(lake, "curated", SWITCH_INSTALLMENTS, municipality, fiscal_year), month)
    plan = validate(CollectionPlan, plan, f"curated/{PLAN} (switched in {month})", run_id)
    schedule = validate(InstallmentSchedule, schedule.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int32).over("person_id", "method").alias("sequence")),
        f"curated/{SCHEDULE} (switched in {month})", run_id)

    step(STEPS[4])
    protected = current.persons(notice_date) if current is not None else pl.Series("atena_no", [], pl.String)
    notices = notice_files.switch_notices(
        assessment=assessment.join(plan.select("person_id"), on="person_id", how="semi"), plan=plan,
        schedule=schedule, residents=residents_full, mailing=mailing_addresses(mailing), protected=protected,
        fiscal_year=fiscal_year, municipality=municipality, notice_date=notice_date, profile=profile)
    # the new notice of each person: the 普通徴収 期別 sum to the new 普通徴収 amount, the routes to the tax
    tax = notices.tax
    report.set_count("switch_notices", notices.sent_tax.height)
    report.set_count("switch_notices_held", notices.held.height)
    report.set_count("sum_switch_ordinary_amount", int(tax["ordinary_amount"].sum() or 0))
    wrong = tax.filter(pl.col("ordinary_installments_total") != pl.col("ordinary_amount")).height
    report.add_check("each switch notice's 普通徴収 期別 sum to its 普通徴収 amount", wrong == 0, expected=0, actual=wrong)
    unbalanced = tax.filter(pl.col("salary_amount") + pl.col("pension_amount") + pl.col("ordinary_amount")
                            != pl.col("total_tax")).height
    report.add_check("each switch notice's routes sum to the assessed tax", unbalanced == 0, expected=0,
                     actual=unbalanced)
    one_each = tax.height == this_month["atena_no"].n_unique()
    report.add_check("one notice per person switched in the month", one_each, expected=this_month["atena_no"].n_unique(),
                     actual=tax.height)
    require_reconciled(report)

    step(STEPS[7])
    source = {"pension_moves": _provenance(lake, "curated", MOVES, municipality, fiscal_year),
              "pension_switch_month": month, "notice_date": notice_date.isoformat(), "stage_run_id": run_id}
    written = write_handoff(lake, recipient="print_vendor", municipality=municipality, fiscal_year=fiscal_year,
                            run_id=run_id, files=notices.files["print_vendor"], source=source, preview=dry_run,
                            series=f"pension_switch_{month}")
    report.handoffs.append(written)
    if notices.held.height:
        report.message(f"{notices.held.height} switch notice(s) held (DV等支援措置 or no address): they are handled by "
                       "hand, like the held 当初 notices.")


def _samples(lake: Path, municipality: str, fiscal_year: int, run_id: str, notices, report: RunReport) -> None:
    """The operator's sample of 20 notices as PDF, when the print file was written anew (an unchanged
    rerun keeps the earlier sample)."""
    from pipelines.notice_pdf import write_samples

    vendor = [h for h in report.handoffs if h["recipient"] == "print_vendor"]
    if not vendor or vendor[0]["unchanged"]:
        return
    written = write_samples(lake, municipality, fiscal_year, run_id, notices.sent_tax, notices.sent_special)
    report.message(f"A sample of {written['files']} notices was rendered for you to look at before the vendor prints: "
                   f"{written['path']}/ (juminzei preview renders any one notice).")


def _optional(lake: Path, zone: str, dataset: str, municipality: str, fiscal_year: int) -> pl.DataFrame:
    """A partition that may be absent (no 総括表 was received): an empty frame then."""
    if partition_exists(lake, zone, dataset, municipality, fiscal_year):
        return read_partition(lake, zone, dataset, municipality, fiscal_year, columns=SUMMARY_COLUMNS)
    return pl.DataFrame(schema={"designation_no": pl.String, "is_current": pl.Boolean, "received_on": pl.Date,
                                "file": pl.String, "record_no": pl.Int64, "payer_name": pl.String,
                                "payer_postal_code": pl.String, "payer_address": pl.String,
                                "notice_method_employer": pl.String, "notice_method_employee": pl.String})


def _registrations(lake: Path, municipality: str, fiscal_year: int) -> pl.DataFrame | None:
    """staging/non_registered_residents (the 住登外者), or None for a snapshot taken before the stage
    staged them."""
    if partition_exists(lake, "staging", "non_registered_residents", municipality, fiscal_year):
        return read_partition(lake, "staging", "non_registered_residents", municipality, fiscal_year)
    return None


def _provenance(lake: Path, zone: str, dataset: str, municipality: str, fiscal_year: int) -> dict:
    """Which version of a dataset the hand-offs come from: its run id and content digest."""
    from pipelines.lake import read_manifest

    manifest = read_manifest(lake, zone, dataset, municipality, fiscal_year)
    return {"dataset": f"{zone}/{dataset}", "run_id": manifest.get("run_id"),
            "content_sha256": manifest.get("content_sha256"), "rows": manifest.get("rows")}


def installment_schedule(plan: pl.DataFrame, targets: pl.DataFrame, profile, fiscal_year: int,
                         notice_date: date | None = None) -> pl.DataFrame:
    """The installments of every route of every plan: one row per person, method and installment. A
    ``notice_date`` after a 納期 leaves the 普通徴収 to the 納期 still ahead (rules ``late_notice``)."""
    from transforms.installments import installments_frame, profile_schedule

    schedule = profile_schedule(profile)
    common = [pl.lit(fiscal_year, pl.Int64).alias("fiscal_year"),
              pl.lit(schedule["rounding_unit"], pl.Int64).alias("rounding_unit"),
              pl.lit(schedule["due_months"], pl.List(pl.Int64)).alias("due_months"),
              pl.lit(str(schedule["due_day"]), pl.String).alias("due_day"),
              pl.lit(notice_date, pl.Date).alias("notice_date")]
    previous = targets.select("person_id", pl.col("previous_year_tax").alias("previous_year_annual_tax"))
    rows = pl.concat([
        plan.filter(pl.col("ordinary_amount") > 0).select(
            "person_id", pl.lit("ordinary").alias("method"), pl.col("ordinary_amount").alias("annual_tax"),
            pl.lit(None, pl.String).alias("payer"), pl.lit(None, pl.Boolean).alias("first_year")),
        plan.filter(pl.col("salary_amount") > 0).select(
            "person_id", pl.lit("salary").alias("method"), pl.col("salary_amount").alias("annual_tax"),
            pl.col("salary_payer").alias("payer"), pl.lit(None, pl.Boolean).alias("first_year")),
        plan.filter(pl.col("pension_amount") > 0).select(
            "person_id", pl.lit("pension").alias("method"), pl.col("pension_amount").alias("annual_tax"),
            pl.col("pension_payer").alias("payer"), pl.col("pension_first_year").alias("first_year")),
    ]).join(previous, on="person_id", how="left").with_columns(common).with_columns(
        pl.concat_str("person_id", pl.lit("|"), "method").alias("key"),
    )
    if schedule["due_day"] != "last":
        rows = rows.with_columns(pl.col("due_day").cast(pl.Int64))
    long = installments_frame(rows.select("key", "fiscal_year", "method", "annual_tax", "rounding_unit", "due_months",
                                          "due_day", "first_year", "previous_year_annual_tax", "notice_date"), key="key")
    payers = rows.select("key", "person_id", "method", "payer")
    return long.join(payers, on="key", how="left").select(
        "person_id", "method", "sequence", "period", "due_date", "amount", "route",
        pl.when(pl.col("route") == "ordinary").then(pl.lit(None, pl.String)).otherwise(pl.col("payer")).alias("payer"),
    ).sort("person_id", "method", "sequence")


def _account(report: RunReport, assessment: pl.DataFrame, plan: pl.DataFrame, schedule: pl.DataFrame,
             checked: dict[str, pl.DataFrame], quarantine: pl.DataFrame) -> None:
    for source, frame in checked.items():
        by_file = frame.group_by("file").agg(pl.len().alias("received"), pl.col("_reason").is_null().sum().alias("staged"))
        for file, received, staged in by_file.sort("file").iter_rows():
            report.add_input_counts(f"landing/{file}", received=received, staged=staged, quarantined=received - staged,
                                    source=source)
    report.add_quarantine_reasons(dict(quarantine.group_by("reason_code").len().sort("reason_code").iter_rows()))
    assessed, with_tax = assessment.height, plan.height
    zero = assessment.filter(pl.col("total_tax") == 0).height
    report.add_input_counts("curated/tax_assessment", received=assessed, staged=assessed, quarantined=0,
                            source="tax_assessment")
    report.set_count("persons_with_plan", with_tax)
    report.set_count("persons_zero_tax", zero)
    report.add_check("assessed persons = persons with a plan + persons with no tax", assessed == with_tax + zero,
                     expected=assessed, actual=with_tax + zero)
    assessed_tax = int(assessment["total_tax"].sum() or 0)
    routes = {name: int(plan[name].sum() or 0) for name in ("salary_amount", "pension_amount", "ordinary_amount")}
    for name, value in routes.items():
        report.set_count(f"sum_{name}", value)
    report.set_count("sum_total_tax", assessed_tax)
    report.add_check("the routes sum to the assessed tax", sum(routes.values()) == assessed_tax,
                     expected=assessed_tax, actual=sum(routes.values()))
    # 仮徴収 (April, June, August) follows last year's tax; when it exceeds this year's pension amount the
    # 本徴収 is 0 and the excess is an overpayment (過誤納) to refund: a route's installments sum to
    # max(its amount, its 仮徴収)
    per_route = schedule.group_by("person_id", "method").agg(
        pl.col("amount").sum(),
        pl.col("amount").filter(pl.col("route") == "pension_provisional").sum().alias("provisional"))
    expected = pl.concat([
        plan.select("person_id", pl.lit("ordinary").alias("method"), pl.col("ordinary_amount").alias("due")),
        plan.select("person_id", pl.lit("salary").alias("method"), pl.col("salary_amount").alias("due")),
        plan.select("person_id", pl.lit("pension").alias("method"), pl.col("pension_amount").alias("due")),
    ]).filter(pl.col("due") > 0)
    joined = expected.join(per_route, on=["person_id", "method"], how="full", coalesce=True).with_columns(
        pl.col("due").fill_null(0), pl.col("amount").fill_null(0), pl.col("provisional").fill_null(0))
    mismatched = joined.filter(pl.col("amount") != pl.max_horizontal("due", "provisional")).height
    report.add_check("the installments of every route sum to the route's amount (or its 仮徴収 when larger)",
                     mismatched == 0, expected=0, actual=mismatched,
                     detail="person and method pairs whose installments differ")
    excess = joined.filter(pl.col("provisional") > pl.col("due"))
    report.set_count("persons_provisional_over_annual", excess.height)
    report.set_count("sum_provisional_over_annual", int((excess["provisional"] - excess["due"]).sum() or 0))
    report.set_count("installments", schedule.height)
    for route, count in schedule.group_by("route").len().sort("route").iter_rows():
        report.set_count(f"installments_{route}", count)
