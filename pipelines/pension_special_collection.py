"""Stage `pension_special_collection` (年金特別徴収): one month of the exchange with the pension insurers.

A run works on one municipality, 年度 and processing month (April to March). It reads the files the insurers
delivered that month (``landing/pension_exchange/municipality=M/fiscal_year=N/month=YYYY-MM/``, names and
layout in docs/layouts/pension_exchange.md) and what earlier months left in the lake, and:

1. checks every file whole (length, record order, trailer counts and totals, the municipality, the name):
   a file that fails is quarantined with its reason and none of its records is used; a file sent again
   corrected (a higher 媒体連番) supersedes the earlier one;
2. ties each 特別徴収対象者 (00) to a 宛名番号 (:mod:`transforms.pension_collection`, the same matching as
   宛名付設) and decides from which pension each person is withheld (``curated/pension_targets``, which
   ``notice_export`` reads); a record that is ambiguous or conflicting goes to ``staging/pension_review_queue``;
3. in the profile's request month (July), once ``notice_export`` has dispatched the assessment, writes the
   依頼通知 (01) and next 年度's 仮徴収 (61) per insurer into a hand-off folder for eLTAX
   (``exports/pension_insurers/``);
4. reconciles the answers (02) and the monthly results (22) with what was requested
   (``curated/pension_ledger``: one row per person, insurer and pension month);
5. moves what stopped to 普通徴収: each month not withheld from the stop on, with new 普通徴収 installments in
   the 納期 still ahead (``curated/pension_moves``, ``curated/pension_switch_installments``).

Months run in order: a month earlier than the latest one processed is left as it is when its files are the
same (nothing is written) and refused when they changed. A rerun of the latest month with the same files
writes byte-identical datasets and hands nothing off again.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from contracts.errors import ConfigError, JuminzeiError
from pipelines.config import Settings
from pipelines.lake import partition_exists, read_partition, write_partition
from pipelines.progress import step
from pipelines.reports import RunReport
from pipelines.stage import execute, require_reconciled, validate

log = logging.getLogger("juminzei.pension_special_collection")

STAGE = "pension_special_collection"
STEPS = ("reading the month's files", "matching the target persons", "preparing the requests",
         "reconciling the answers and results", "moving stopped withholding to 普通徴収", "writing")
FILES = "pension_files"
RECORDS = "pension_records"
TARGETS = "pension_targets"
REVIEW = "pension_review_queue"
OUTBOUND = "pension_outbound"
LEDGER = "pension_ledger"
MOVES = "pension_moves"
SWITCH_INSTALLMENTS = "pension_switch_installments"
ANSWERS = "pension_answers"
CANDIDATES = "pension_candidates"
REGISTER = "pension_register"
MONTHS = "pension_months"
QUARANTINE_DATASET = STAGE
RESIDENT_COLUMNS = ["atena_no", "name_kana", "alias_kana", "name_kanji", "alias_kanji", "birth_date", "sex", "address"]

#: a file-level problem → reason code of the quarantine (the codec's error classes, then the stage's own checks)
ERROR_CODES = {
    "FileLengthError": "record_length", "ControlCountError": "control_count",
    "UnknownRecordTypeError": "record_type", "RecordSequenceError": "record_order",
    "HeaderTrailerMismatchError": "header_trailer", "GroupMismatchError": "group", "TrailerTotalsError": "trailer_totals",
}
FILE_SCHEMA: dict[str, pl.DataType] = {
    "month": pl.String(), "file": pl.String(), "path": pl.String(), "notice_code": pl.String(), "payer_code": pl.String(),
    "created_date": pl.Date(), "medium_serial_no": pl.String(), "sha256": pl.String(), "records": pl.Int64(),
    "status": pl.String(),
    "reason_code": pl.String(), "reason": pl.String(),
}


#: quarantine/pension_special_collection: a whole exchange file (record_no and field null) or a record of the
#: register's migration file, the month it was found in
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "month": pl.String(), "source": pl.String(), "file": pl.String(), "record_no": pl.Int64(), "field": pl.String(),
    "reason_code": pl.String(), "message": pl.String(),
}


class PensionExchangeStopped(JuminzeiError):
    """The month cannot be processed as asked (order of months, a missing assessment); the sentence says why."""


def run(
    *,
    fiscal_year: int,
    municipality: str = "131032",
    settings: Settings | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
    processing_month: str | None = None,
) -> dict:
    """Process one month of the 年金特徴 exchange (see the module docstring). ``processing_month``: YYYY-MM
    within the 年度 (April N to March N+1); required."""
    from transforms.pension_collection import months_of_year

    if not processing_month:
        raise ConfigError("processing_month (YYYY-MM) is required: the month of the exchange to process")
    if processing_month not in months_of_year(fiscal_year):
        raise ConfigError(f"processing_month {processing_month} is not a month of the {fiscal_year} 年度 "
                          f"({fiscal_year}-04 to {fiscal_year + 1}-03)")

    def body(settings: Settings, report: RunReport) -> None:
        report.set_count("processing_month", int(processing_month.replace("-", "")))
        _run(settings, municipality, fiscal_year, processing_month, report.run_id, dry_run, report)

    return execute(STAGE, body, fiscal_year=fiscal_year, municipality=municipality, settings=settings,
                   run_id=run_id, dry_run=dry_run, log=log, steps=STEPS)


# ------------------------------------------------------------------------------------------ helpers
def _earlier(lake: Path, zone: str, dataset: str, municipality: str, fiscal_year: int, month: str,
             schema: dict | None = None) -> pl.DataFrame | None:
    """The rows of a whole-year dataset that earlier months wrote (the processing month's are rebuilt)."""
    if not partition_exists(lake, zone, dataset, municipality, fiscal_year):
        return pl.DataFrame(schema=schema) if schema is not None else None
    frame = read_partition(lake, zone, dataset, municipality, fiscal_year)
    return frame.filter(pl.col("month") < month)


def _already_processed(lake: Path, municipality: str, fiscal_year: int, month: str, month_files: pl.DataFrame) -> bool:
    """Whether ``month`` lies before the latest month processed. Months run in order: an earlier month whose
    files are the ones it was processed with is left as it is (True: nothing to do); one whose files changed
    is refused, as the later months were decided on it."""
    if not partition_exists(lake, "staging", MONTHS, municipality, fiscal_year):
        return False
    months = read_partition(lake, "staging", MONTHS, municipality, fiscal_year, columns=["month"])["month"]
    latest = months.max() if months.len() else None
    if latest is None or latest <= month:
        return False
    seen = read_partition(lake, "staging", FILES, municipality, fiscal_year, columns=["month", "file", "sha256"]) \
        .filter(pl.col("month") == month).sort("file")
    if month in months.to_list() and seen.equals(month_files.select("month", "file", "sha256").sort("file")):
        return True
    raise PensionExchangeStopped(
        f"the 年金特徴 exchange of {municipality}/{fiscal_year} was processed up to {latest}, and the files of {month} "
        "are not those it was processed with: an earlier month cannot be processed again, as the later months were "
        f"decided on it. Rerun {latest} or go on with the next month; a late or corrected file is put in the "
        "folder of the month it arrives in.")


def read_month(landing: Path, municipality: str, fiscal_year: int, month: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The files received in ``month``: one row per file (:data:`FILE_SCHEMA`) and the records of the files
    that pass (:data:`transforms.pension_collection.RECORD_SCHEMA`). A file that fails is quarantined whole."""
    from contracts.pension_exchange import landing_folder, parse_exchange_file_name
    from transforms.pension_collection import INBOUND, RECORD_SCHEMA, records_frame
    from transforms.pension_exchange_records import PensionExchangeFileError, read_exchange_file

    folder = landing / landing_folder(municipality, fiscal_year, month)
    paths = sorted(p for p in folder.glob("*") if p.is_file() and not p.name.startswith(".")) if folder.is_dir() else []
    files, frames = [], []
    ours = municipality[:5]  # 市町村コード: 府県2 + 市町村3, without the check digit
    for path in paths:
        data = path.read_bytes()
        row = {"month": month, "file": path.name, "path": (folder.relative_to(landing) / path.name).as_posix(),
               "sha256": hashlib.sha256(data).hexdigest(), "notice_code": None, "payer_code": None, "created_date": None,
               "medium_serial_no": None, "records": None, "status": "quarantined", "reason_code": None, "reason": None}
        named = parse_exchange_file_name(path.name)
        if named is None:
            files.append({**row, "reason_code": "file_name",
                          "reason": "the name is not Z4<通知内容コード>_<特別徴収義務者コード>_<YYYYMMDD>_<媒体連番>.dta "
                                    "(docs/layouts/pension_exchange.md)"})
            continue
        row.update(notice_code=named["notice_code"], payer_code=named["payer_code"], medium_serial_no=named["serial"])
        try:
            exchange = read_exchange_file(data, file=path.name)
        except PensionExchangeFileError as error:
            files.append({**row, "records": _data_records(data), "reason": str(error),
                          "reason_code": ERROR_CODES.get(type(error).__name__, "field_value")})
            continue
        groups = exchange.groups
        row["created_date"] = exchange.control.created_date
        row["records"] = int(groups["record_count"].sum() or 0)
        problem = None
        if exchange.control.medium_serial_no != named["serial"]:
            problem = ("name", f"the name says 媒体連番 {named['serial']}, the control block {exchange.control.medium_serial_no}")
        elif set(groups["municipality_code"].to_list()) != {ours} or exchange.control.municipality_code != ours:
            problem = ("other_municipality", f"the file holds records of 市町村コード "
                       f"{', '.join(sorted(set(groups['municipality_code'].to_list())))}, not {ours}")
        elif set(groups["notice_code"].to_list()) != {named["notice_code"]}:
            problem = ("name", f"the name says 通知内容コード {named['notice_code']}, the records "
                       f"{', '.join(sorted(set(groups['notice_code'].to_list())))}")
        elif set(groups["payer_code"].to_list()) != {named["payer_code"]}:
            problem = ("name", f"the name says 特別徴収義務者コード {named['payer_code']}, the records "
                       f"{', '.join(sorted(set(groups['payer_code'].to_list())))}")
        elif named["notice_code"] not in INBOUND:
            problem = ("not_inbound", f"通知内容コード {named['notice_code']} is a notice the ward sends, not one it receives")
        if problem is not None:
            files.append({**row, "reason_code": problem[0], "reason": problem[1]})
            continue
        files.append({**row, "status": "staged"})
        frames.append(records_frame(exchange.records[named["notice_code"]], month=month, file=path.name,
                                    medium_serial_no=named["serial"], notice_code=named["notice_code"]))
    file_frame = pl.DataFrame(files, schema=FILE_SCHEMA, orient="row") if files else pl.DataFrame(schema=FILE_SCHEMA)
    records = pl.concat(frames) if frames else pl.DataFrame(schema=RECORD_SCHEMA)
    return file_frame, records


def _data_records(data: bytes) -> int | None:
    """The data records of a file the reader refused, counted by their レコード区分 (2) when the file is made
    of whole records; None when it is not (the file then counts as one received item)."""
    head, width = 96, 500
    if len(data) < head or (len(data) - head) % width:
        return None
    return sum(data[at:at + 1] == b"2" for at in range(head, len(data), width))


def _register(settings: Settings, municipality: str, fiscal_year: int, month: str,
              report: RunReport) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ward's register of the previous 年度 (基礎年金番号 → 宛名番号, with that year's pension-route tax)
    and the quarantined records of its migration file: the lake's own (``curated/pension_register`` of the
    year before) or, in the first year, the migration file of the former system (``landing/pension_previous_year/``,
    layout ``pension_previous_year``). A record that cannot be read is quarantined with its reason: its
    pension has no previous record and is not withheld from until the operator corrects the file."""
    schema = {"atena_no": pl.String, "basic_pension_no": pl.String, "pension_code": pl.String,
              "payer_code": pl.String, "previous_year_tax": pl.Int64}
    lake, none = settings.lake, pl.DataFrame(schema=QUARANTINE_SCHEMA)
    if partition_exists(lake, "curated", REGISTER, municipality, fiscal_year - 1):
        register = read_partition(lake, "curated", REGISTER, municipality, fiscal_year - 1)
        return register.select(list(schema)).cast(schema), none
    folder = settings.landing / "pension_previous_year" / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    paths = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not paths:
        report.message(f"No register of the {fiscal_year - 1} 年度 (curated/{REGISTER}) and no migration file under "
                       f"{folder.relative_to(settings.landing)}/: 前年度継続者 cannot be tied by 基礎年金番号 and their "
                       "仮徴収 is unknown (each goes to the operator).")
        return pl.DataFrame(schema=schema), none
    staged, held = _registry_dialect(settings, paths, "pension_previous_year", month, report)
    return staged.select(list(schema)).cast(schema), held


def _registry_dialect(settings: Settings, paths: list[Path], source: str, month: str,
                      report: RunReport) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Files of the registry dialect (layout ``source``): the records that stage, and the others as quarantine
    rows of the month; each file counted as an input of the run."""
    from contracts.resident_snapshot import load_layout
    from pipelines.resident_snapshot import read_registry_file
    from transforms.resident_snapshot import keyed_records, quarantine_frame

    layout = load_layout(source)
    checked = keyed_records(pl.concat([read_registry_file(settings, p, layout, report) for p in paths]), layout, None)
    for file, received, staged in checked.group_by("file").agg(
            pl.len(), pl.col("_reason").is_null().sum()).sort("file").iter_rows():
        report.add_input_counts(f"landing/{file}", received=received, staged=staged, quarantined=received - staged,
                                source=source)
    held = quarantine_frame({source: (checked, layout)}, "run").select(
        pl.lit(month).alias("month"), *[c for c in QUARANTINE_SCHEMA if c != "month"])
    return checked.filter(pl.col("_reason").is_null()), held.cast(QUARANTINE_SCHEMA)


# -------------------------------------------------------------------------------------------- the run
def _run(settings: Settings, municipality: str, fiscal_year: int, month: str, run_id: str, dry_run: bool,
         report: RunReport) -> None:
    from transforms import pension_collection as pc
    from transforms.tax_rules import RuleError, load_municipality_profile

    lake = settings.lake
    if not partition_exists(lake, "staging", "residents", municipality, fiscal_year):
        raise ConfigError(f"staging/residents for {municipality}/{fiscal_year} does not exist: run resident_snapshot "
                          "for this municipality and fiscal year first")
    try:
        profile = load_municipality_profile(municipality)
        request_month = int(profile.amount("pension_exchange.request_month"))
        exchange_day = int(profile.amount("pension_exchange.switch_notice_day"))
    except RuleError as error:
        raise ConfigError(str(error)) from None
    months = pc.months_of_year(fiscal_year)
    exchange_date = pc.switch_notice_date(month, exchange_day)

    step(STEPS[0])
    month_files, month_records = read_month(settings.landing, municipality, fiscal_year, month)
    if _already_processed(lake, municipality, fiscal_year, month, month_files):
        _count_files(report, month_files)
        report.message(f"{month} was processed already with these same files, and later months after it: nothing "
                       "was changed or written.")
        report.set_count("already_processed", 1)
        return
    files = pl.concat([_earlier(lake, "staging", FILES, municipality, fiscal_year, month, FILE_SCHEMA), month_files])
    records = pl.concat([_earlier(lake, "staging", RECORDS, municipality, fiscal_year, month, pc.RECORD_SCHEMA),
                         month_records])
    in_force = pc.current_files(files.filter(pl.col("status") == "staged").select(
        "month", "file", "notice_code", "payer_code", "created_date", "medium_serial_no"))
    superseded = in_force.filter(pl.col("superseded_by").is_not_null())
    records_in_force = records.join(superseded.select("file"), on="file", how="anti")
    for row in month_files.filter(pl.col("status") == "staged").iter_rows(named=True):
        if row["notice_code"] == "22" and int(month[5:]) % 2 == 0:
            report.message(f"{row['file']}: a 特別徴収結果通知 received in an even month (late): its results are used.")

    step(STEPS[1])
    register, register_held = _register(settings, municipality, fiscal_year, month, report)
    decided, review, added = _targets(settings, municipality, fiscal_year, month, records_in_force, register, report)

    step(STEPS[2])
    changes, changes_held = _resident_changes(settings, municipality, fiscal_year, month, report)
    sent = _Sent(_earlier(lake, "curated", OUTBOUND, municipality, fiscal_year, month))
    request_from = months.index(f"{fiscal_year + (request_month < 4):04d}-{request_month:02d}")
    if months.index(month) >= request_from and sent.before_of("01").height == 0:
        sent.add(*_requests(settings, municipality, fiscal_year, month, exchange_date, decided, records_in_force,
                            changes, report))
    if added is not None and added.height:
        answer_rows = pc.addition_answers(records_in_force.filter(pl.col("notice_code") == "30"), added, sent.before)
        sent.add(*notice_files(municipality, month, exchange_date, {"31": answer_rows}))
        report.set_count("addition_answers_sent", answer_rows.height)

    step(STEPS[3])
    ledger = _ledger(settings, municipality, fiscal_year, register, decided, sent.all(), records_in_force)

    step(STEPS[4])
    deaths = pc.death_stops(ledger, changes.filter(pl.col("change") == "1"))
    stop_outbound, stop_files, moved_out_stops = _stop_notices(municipality, fiscal_year, month, exchange_date,
                                                               deaths, changes, ledger, records_in_force, sent.all())
    if stop_outbound is not None:
        sent.add(stop_outbound, stop_files)
        report.set_count("stop_notices_sent", stop_outbound.height)
        report.set_count("provisional_withdrawn_moved_out", moved_out_stops)
    outbound, new_outbound, handoff_files = sent.all(), sent.new(), sent.files
    earlier_moves = _earlier(lake, "curated", MOVES, municipality, fiscal_year, month)
    moved = pc.moves(ledger, earlier_moves if earlier_moves is not None else
                     pl.DataFrame(schema={"atena_no": pl.String, "payer_code": pl.String, "period": pl.String}),
                     stops=deaths)
    moved = moved.with_columns(pl.lit(month).alias("month"), pl.lit(exchange_date).alias("notice_date"))
    switch = _switch_installments(moved, profile, fiscal_year, exchange_date, month)
    all_moves = pl.concat([earlier_moves, moved], how="vertical_relaxed") if earlier_moves is not None else moved
    earlier_switch = _earlier(lake, "curated", SWITCH_INSTALLMENTS, municipality, fiscal_year, month)
    all_switch = pl.concat([earlier_switch, switch], how="vertical_relaxed") if earlier_switch is not None else switch

    from contracts.pension_special_collection import PensionLedger, PensionMoves, PensionTargets, SwitchInstallments

    ledger = validate(PensionLedger, ledger, f"curated/{LEDGER}", run_id)
    all_moves = validate(PensionMoves, all_moves.select(list(PensionMoves.to_schema().columns)), f"curated/{MOVES}",
                         run_id)
    all_switch = validate(SwitchInstallments, all_switch, f"curated/{SWITCH_INSTALLMENTS}", run_id)
    if decided is not None:
        from contracts.pension_special_collection import PensionCandidates

        decided = validate(PensionTargets, decided, f"curated/{TARGETS}", run_id)
        added = validate(PensionCandidates, added, f"curated/{CANDIDATES}", run_id)
    earlier_quarantine = _earlier(lake, "quarantine", QUARANTINE_DATASET, municipality, fiscal_year, month,
                                  QUARANTINE_SCHEMA)
    files_held = month_files.filter(pl.col("status") == "quarantined").select(
        "month", pl.lit("pension_exchange").alias("source"), pl.col("path").alias("file"),
        pl.lit(None, pl.Int64).alias("record_no"), pl.lit(None, pl.String).alias("field"), "reason_code",
        pl.col("reason").alias("message"))
    register_held = pl.concat([register_held, changes_held])
    new_register_held = register_held.join(earlier_quarantine, on=["source", "file", "record_no"], how="anti")
    quarantine = pl.concat([earlier_quarantine, files_held.cast(QUARANTINE_SCHEMA), new_register_held])
    from contracts.pension_special_collection import PensionQuarantine

    quarantine = validate(PensionQuarantine, quarantine, f"quarantine/{QUARANTINE_DATASET}", run_id)
    answers = pc.answered(outbound, records_in_force)
    _account_answers(report, answers)
    _account(report, month_files, records_in_force, decided, review, ledger, moved, all_moves, superseded, month)
    report.add_quarantine_reasons(dict(register_held.group_by("reason_code").len().sort("reason_code").iter_rows()))
    require_reconciled(report)
    if dry_run:
        report.message(f"Dry run of {month}: the files were read and checked, the targets matched and the ledger "
                       "reconciled; nothing was written and nothing handed off.")
        return

    step(STEPS[5])
    processed = pl.concat([
        _earlier(lake, "staging", MONTHS, municipality, fiscal_year, month, {"month": pl.String, "files": pl.Int64}),
        pl.DataFrame({"month": [month], "files": [month_files.height]}, schema={"month": pl.String, "files": pl.Int64}),
    ])
    outputs = [
        ("staging", MONTHS, processed, ["month"]),
        ("staging", FILES, files, ["month", "file"]),
        ("staging", RECORDS, records, ["month", "file", "record_no"]),
        ("quarantine", QUARANTINE_DATASET, quarantine, ["month", "source", "file", "record_no"]),
        ("curated", LEDGER, ledger, ["atena_no", "payer_code", "basic_pension_no", "pension_code", "period"]),
        ("curated", ANSWERS, answers, ["notice_code", "payer_code", "basic_pension_no", "pension_code"]),
        ("curated", MOVES, all_moves, ["month", "atena_no", "payer_code", "period"]),
        ("curated", SWITCH_INSTALLMENTS, all_switch, ["month", "person_id", "sequence"]),
    ]
    if decided is not None:
        outputs += [("curated", TARGETS, decided, ["doc_uid"]), ("staging", REVIEW, review, ["doc_uid", "candidate_rank"]),
                    ("curated", CANDIDATES, added, ["doc_uid"])]
    if outbound is not None:
        outputs.append(("curated", OUTBOUND, outbound, ["month", "file", "record_no"]))
    for zone, dataset, frame, key in outputs:
        written = write_partition(lake, zone, dataset, municipality, fiscal_year, frame, sort_by=key, run_id=run_id)
        report.add_output(written)
        if dataset == MOVES and moved.height and not written.unchanged:
            _audit_switch(lake, run_id, month, moved)
    if new_outbound is not None and new_outbound.filter(pl.col("notice_code") == "01").height:
        register = _next_register(decided, new_outbound, settings, municipality, fiscal_year)
        report.add_output(write_partition(lake, "curated", REGISTER, municipality, fiscal_year, register,
                                          sort_by=["basic_pension_no", "pension_code", "payer_code"], run_id=run_id))
    if handoff_files:
        from pipelines.handoff import write_handoff

        written = write_handoff(lake, recipient="pension_insurers", municipality=municipality, fiscal_year=fiscal_year,
                                run_id=run_id, files=handoff_files, series=month,
                                source={"processing_month": month, "stage_run_id": run_id})
        report.handoffs.append(written)


@dataclass
class _Sent:
    """What the ward has sent the insurers this 年度: the records of earlier months (``before``, as in
    ``curated/pension_outbound``) and this month's, added notice by notice with their files."""

    before: pl.DataFrame | None
    added: list[pl.DataFrame] = field(default_factory=list)
    files: list = field(default_factory=list)

    def before_of(self, code: str) -> pl.DataFrame:
        return self.before.filter(pl.col("notice_code") == code) if self.before is not None else pl.DataFrame()

    def add(self, records: pl.DataFrame | None, files: list) -> None:
        if records is not None:
            self.added.append(records)
            self.files.extend(files)

    def new(self) -> pl.DataFrame | None:
        return pl.concat(self.added, how="diagonal_relaxed") if self.added else None

    def all(self) -> pl.DataFrame | None:
        frames = [f for f in (self.before, *self.added) if f is not None and f.height]
        return pl.concat(frames, how="diagonal_relaxed") if frames else None


def _targets(settings: Settings, municipality: str, fiscal_year: int, month: str, records: pl.DataFrame,
             register: pl.DataFrame, report: RunReport):
    """The 00 records in force, matched and decided; None before May when none was received (from May on an
    empty list is a list: nobody is withheld)."""
    from transforms import pension_collection as pc
    from transforms.matching import match_documents

    targets = records.filter(pl.col("notice_code") == "00")
    if targets.height == 0 and month < f"{fiscal_year}-05":
        return None, None, None  # before May: the insurers' list is not due yet
    if targets.height == 0:
        report.message(f"No 特別徴収対象者情報 (00) has been received for {fiscal_year} by {month} (due by 25 May): "
                       "nobody is withheld from a pension and the notices put the pension tax into 普通徴収. Ask the "
                       "insurers for the file if one is expected.")
    residents = read_partition(settings.lake, "staging", "residents", municipality, fiscal_year, columns=RESIDENT_COLUMNS)
    # the 追加候補者 (30) of the year are matched with the same rules, beside the 00 records
    candidates = records.filter(pl.col("notice_code") == "30")
    both = pl.concat([targets, candidates])
    result = match_documents(pc.target_documents(both), residents, pc.register_keys(register), key="basic_pension_no")
    matches = pc.apply_review_decisions(result.matches, _review_decisions(settings, municipality, fiscal_year))
    target_uids = targets.select(pc.doc_uid().alias("doc_uid"))
    decided = pc.decide_targets(targets, matches.join(target_uids, on="doc_uid", how="semi"), register)
    settled = matches.filter(pl.col("rule") == "review_decision").height
    if settled:
        report.message(f"{settled} 特別徴収対象者 record(s) tied or not tied by an operator's decision (juminzei review).")
    added = pc.candidates(candidates, matches)
    report.set_count("addition_candidates", added.height)
    if added.height:
        report.message(f"{added.height} 特別徴収追加候補者 (30) received this 年度: matched and recorded "
                       f"(curated/{CANDIDATES}); each is answered once by a 追加依頼通知 (31) as 特別徴収非対象者, "
                       "their tax of this 年度 stays in 普通徴収 and the insurers list them again next May.")
    return decided, result.review_queue, added


def _review_decisions(settings: Settings, municipality: str, fiscal_year: int) -> pl.DataFrame:
    """The latest operator decision on each pension_target item of the review desk (``juminzei review``)."""
    from pipelines.review import read_decisions
    from transforms.review import latest_decisions

    return latest_decisions(read_decisions(settings, municipality, fiscal_year)).filter(
        pl.col("item_kind") == "pension_target").select("item_key", "decision", "target", "decision_id")


def _requests(settings: Settings, municipality: str, fiscal_year: int, month: str, created: date,
              decided: pl.DataFrame | None, records: pl.DataFrame, changes: pl.DataFrame, report: RunReport):
    """The 01 and 61 files of the request month, one of each per insurer, and their records as sent; no 61 for
    a person who has moved out of the ward already (the next 年度 is the new municipality's)."""
    from transforms import pension_collection as pc
    from transforms.installments import load_installment_rules, pension_amounts

    lake = settings.lake
    for dataset in ("collection_plan", "installment_schedule"):
        if not partition_exists(lake, "curated", dataset, municipality, fiscal_year):
            raise PensionExchangeStopped(
                f"the 特別徴収依頼通知 of {municipality}/{fiscal_year} is due in {month}, but curated/{dataset} does not "
                "exist: dispatch notice_export (the 当初賦課) first, then run this month again.")
    if decided is None:
        raise PensionExchangeStopped(
            f"the 特別徴収依頼通知 of {municipality}/{fiscal_year} is due in {month}, but no 特別徴収対象者情報 (00) was "
            "received: ask the pension insurers for it and run this month again.")
    plan = read_partition(lake, "curated", "collection_plan", municipality, fiscal_year,
                          columns=["person_id", "pension_amount", "pension_payer"])
    schedule = read_partition(lake, "curated", "installment_schedule", municipality, fiscal_year,
                              columns=["person_id", "route", "period", "amount", "payer"])
    rules = load_installment_rules(fiscal_year + 1)
    unit = rules.amount("pension_special_collection.unit")
    provisional = pension_amounts(pl.lit(0, pl.Int64), pl.col("pension_amount"), pl.lit(False), rules, unit)
    targets = records.filter(pl.col("notice_code") == "00")
    requests, changes = pc.request_records(targets, decided, plan, schedule,
                                           dict(zip(("april", "june", "august"), provisional["pension_provisional"], strict=True)),
                                           moved_out=changes.filter(
                                               (pl.col("change") == pc.CHANGE_MOVED_OUT)
                                               & (pl.col("change_date") < pc.next_assessment_day(fiscal_year))))
    sent, files = notice_files(municipality, month, created, {"01": requests, "61": changes})
    report.set_count("requests_sent", requests.height)
    report.set_count("requests_withheld", requests.filter(pl.col("category") == "01").height)
    report.set_count("provisional_changes_sent", changes.height)
    return sent, files


def notice_files(municipality: str, month: str, created: date, notices: dict[str, pl.DataFrame]):
    """The outbound files of a month, one per notice type and insurer (``notices``: 通知内容コード → data
    records with ``payer_code`` and ``atena_no``), and their records as sent (``month``, ``file``,
    ``notice_code``, ``record_no`` added; the 宛名番号 stays with the ward, it is not in the file)."""
    from contracts.pension_exchange import exchange_file_name
    from pipelines.handoff import RawHandoffFile
    from transforms.pension_exchange_records import ControlBlock, ExchangeFile, write_exchange_file

    sent, files = [], []
    for code, frame in notices.items():
        for payer in sorted(frame["payer_code"].unique().to_list()):
            rows = frame.filter(pl.col("payer_code") == payer)
            name = exchange_file_name(code, payer, created, 1)
            data_rows = rows.drop("atena_no").with_columns(
                pl.lit(municipality[:5]).alias("municipality_code"), pl.lit(created).alias("created_date"))
            groups = pl.DataFrame({"municipality_code": [municipality[:5]], "payer_code": [payer], "notice_code": [code],
                                   "medium_code": ["1"], "created_date": [created]})
            data = write_exchange_file(ExchangeFile(control=ControlBlock(municipality[:5], "001", created),
                                                    groups=groups, records={code: data_rows}), file=name)
            totals = {"rows": rows.height, **{f"sum_amount_{i}": int(rows[f"amount_{i}"].sum() or 0) for i in (1, 2, 3)}}
            files.append(RawHandoffFile(name=name, data=data, recipient="pension_insurers",
                                        export=f"pension_exchange_{code}", encoding="iso-2022-jp", totals=totals))
            sent.append(rows.with_columns(pl.lit(month).alias("month"), pl.lit(name).alias("file"),
                                          pl.lit(code).alias("notice_code"),
                                          pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("record_no")))
    if not sent:
        return None, []
    return pl.concat(sent, how="diagonal_relaxed"), files


def _resident_changes(settings: Settings, municipality: str, fiscal_year: int, month: str,
                      report: RunReport) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The deaths and removals the 住民記録 recorded up to ``month``: every monthly extract of the 年度 until
    then (``landing/resident_changes/``, layout ``resident_changes``), and its quarantined records."""
    schema = {"atena_no": pl.String, "change": pl.String, "change_date": pl.Date}
    folder = settings.landing / "resident_changes" / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    last = month.replace("-", "")
    paths = [p for p in sorted(folder.glob(f"jumin_ido_{municipality}_*.csv")) if p.stem.rsplit("_", 1)[1] <= last] \
        if folder.is_dir() else []
    if not paths:
        return pl.DataFrame(schema=schema), pl.DataFrame(schema=QUARANTINE_SCHEMA)
    staged, held = _registry_dialect(settings, paths, "resident_changes", month, report)
    return staged.select("atena_no", "change", pl.col("change_date").str.strptime(pl.Date, "%Y%m%d")).cast(schema), held


def _stop_notices(municipality: str, fiscal_year: int, month: str, created: date, deaths: pl.DataFrame,
                  changes: pl.DataFrame, ledger: pl.DataFrame, records: pl.DataFrame, outbound: pl.DataFrame | None):
    """The month's 資格喪失等の通知 (41), one file per insurer: 各種区分 01 死亡 for the deaths not yet notified (one
    record per pension, its identity as the insurer sent it in May, 異動年月日 the date of death, amounts 0;
    codes.yaml), and 02 転出 withdrawing next 年度's 仮徴収 of those who moved out before the next 賦課期日
    (:func:`transforms.pension_collection.move_out_stops`)."""
    from transforms import pension_collection as pc

    moves_out = pc.move_out_stops(outbound, changes.filter(pl.col("change") == pc.CHANGE_MOVED_OUT),
                               pc.next_assessment_day(fiscal_year))
    rows = pl.concat([_death_rows(deaths, changes, ledger, records, outbound), moves_out], how="vertical_relaxed") \
        .sort("payer_code", "category", "basic_pension_no", "pension_code")
    if rows.height == 0:
        return None, [], moves_out.height
    return *notice_files(municipality, month, created, {"41": rows}), moves_out.height


def _death_rows(deaths: pl.DataFrame, changes: pl.DataFrame, ledger: pl.DataFrame, records: pl.DataFrame,
                outbound: pl.DataFrame | None) -> pl.DataFrame:
    from transforms.pension_collection import IDENTITY, PENSION_KEY

    pensions = ledger.select("atena_no", *PENSION_KEY).drop_nulls().unique(["atena_no", "payer_code"])
    notified = outbound.filter(pl.col("notice_code") == "41").select("atena_no", "payer_code") \
        if outbound is not None and "notice_code" in outbound.columns else pl.DataFrame(
            schema={"atena_no": pl.String, "payer_code": pl.String})
    identity = records.filter(pl.col("notice_code") == "00").select(*PENSION_KEY, *[c for c in IDENTITY
                                                                                   if c not in PENSION_KEY]) \
        .unique(PENSION_KEY, keep="last")
    stops = deaths.join(notified, on=["atena_no", "payer_code"], how="anti").join(
        pensions, on=["atena_no", "payer_code"], how="inner").join(identity, on=PENSION_KEY, how="inner") \
        .join(changes.filter(pl.col("change") == "1").select("atena_no", pl.col("change_date").alias("event_date")),
              on="atena_no", how="left")
    return stops.select(
        "payer_code", "atena_no", *IDENTITY, pl.lit("01").alias("category"), "event_date",
        *[pl.lit(0, pl.Int64).alias(f"amount_{i}") for i in (1, 2, 3)])


def _provisional_requested(register: pl.DataFrame, fiscal_year: int) -> pl.DataFrame:
    """The 仮徴収 the ward asked for last year, per month (April, June, August): ½ of the previous pension-route
    tax, rounded down to 100円, in three (rules/installments ``pension_special_collection``)."""
    from transforms.installments import load_installment_rules, pension_amounts, pension_slots

    rules = load_installment_rules(fiscal_year)
    slots = pension_slots(fiscal_year, rules, "pension_provisional")
    amounts = pension_amounts(pl.lit(0, pl.Int64), pl.col("previous_year_tax"), pl.lit(False), rules,
                              rules.amount("pension_special_collection.unit"))["pension_provisional"]
    wide = register.select("atena_no", "payer_code", "basic_pension_no", "pension_code",
                           *[a.cast(pl.Int64).alias(s.period) for s, a in zip(slots, amounts, strict=True)])
    return wide.unpivot(index=["atena_no", "payer_code", "basic_pension_no", "pension_code"],
                        variable_name="period", value_name="amount")


def _ledger(settings: Settings, municipality: str, fiscal_year: int, register: pl.DataFrame,
            decided: pl.DataFrame | None, outbound: pl.DataFrame | None, records: pl.DataFrame) -> pl.DataFrame:
    from transforms import pension_collection as pc

    lake = settings.lake
    provisional = _provisional_requested(register, fiscal_year).select(
        "atena_no", "payer_code", "period", "amount").rename({"amount": "requested"})
    schedule = pl.concat([
        provisional.select(pl.col("atena_no").alias("person_id"), "period", pl.col("requested").alias("amount"),
                           pl.lit("pension_provisional").alias("route"), pl.col("payer_code").alias("payer")),
    ])
    if partition_exists(lake, "curated", "installment_schedule", municipality, fiscal_year):
        main = read_partition(lake, "curated", "installment_schedule", municipality, fiscal_year,
                              columns=["person_id", "route", "period", "amount", "payer"]).filter(
            pl.col("route") == "pension_main").select("person_id", "period", "amount", "route", "payer")
        schedule = pl.concat([schedule, main])
    requests = outbound.filter(pl.col("notice_code") == "01") if outbound is not None else \
        pl.DataFrame(schema={"atena_no": pl.String, "payer_code": pl.String, "basic_pension_no": pl.String,
                             "pension_code": pl.String, "category": pl.String})
    answers = records.filter(pl.col("notice_code") == "02")
    requested = pc.requested_months(schedule, requests, answers)
    persons = register.select("atena_no", *pc.PENSION_KEY)
    if decided is not None:
        persons = pl.concat([decided.filter(pl.col("atena_no").is_not_null()).select("atena_no", *pc.PENSION_KEY),
                             persons]).unique(pc.PENSION_KEY, keep="first", maintain_order=True)
    return pc.withholding_ledger(requested, records.filter(pl.col("notice_code") == "22"), persons)


def _switch_installments(moved: pl.DataFrame, profile, fiscal_year: int, notice_date: date, month: str) -> pl.DataFrame:
    """New 普通徴収 installments of what moved this month: one notice per person, the 納期 still ahead of
    the notice date (rules/installments ``late_notice``)."""
    from transforms.installments import installments_frame, profile_schedule

    schedule = profile_schedule(profile)
    per_person = moved.group_by("atena_no").agg(pl.col("amount").sum().alias("annual_tax")).filter(
        pl.col("annual_tax") > 0).sort("atena_no")
    rows = per_person.select(
        pl.col("atena_no").alias("key"), pl.lit(fiscal_year, pl.Int64).alias("fiscal_year"),
        pl.lit("ordinary").alias("method"), pl.col("annual_tax").cast(pl.Int64),
        pl.lit(schedule["rounding_unit"], pl.Int64).alias("rounding_unit"),
        pl.lit(schedule["due_months"], pl.List(pl.Int64)).alias("due_months"),
        pl.lit(str(schedule["due_day"]), pl.String).alias("due_day"),
        pl.lit(None, pl.Boolean).alias("first_year"), pl.lit(None, pl.Int64).alias("previous_year_annual_tax"),
        pl.lit(notice_date, pl.Date).alias("notice_date"))
    if schedule["due_day"] != "last":
        rows = rows.with_columns(pl.col("due_day").cast(pl.Int64))
    long = installments_frame(rows, key="key")
    return long.select(pl.lit(month).alias("month"), pl.col("key").alias("person_id"), "sequence", "period",
                       "due_date", "amount", pl.lit(notice_date, pl.Date).alias("notice_date"))


def _next_register(decided: pl.DataFrame, outbound: pl.DataFrame, settings: Settings, municipality: str,
                   fiscal_year: int) -> pl.DataFrame:
    """The register the next 年度 reads: each pension withheld from, with this 年度's pension-route tax."""
    plan = read_partition(settings.lake, "curated", "collection_plan", municipality, fiscal_year,
                          columns=["person_id", "pension_amount", "pension_payer"])
    withheld = outbound.filter((pl.col("notice_code") == "01") & (pl.col("category") == "01"))
    return withheld.select("atena_no", "basic_pension_no", "pension_code", "payer_code").join(
        plan.select(pl.col("person_id").alias("atena_no"), pl.col("pension_payer").alias("payer_code"),
                    pl.col("pension_amount").alias("previous_year_tax")), on=["atena_no", "payer_code"], how="left")


def _account_answers(report: RunReport, answers: pl.DataFrame) -> None:
    """Each notice sent against its answer: counts per notice type and status, and a sentence for what the
    operator must follow up (a refused stop or 仮徴収, an answer to nothing sent)."""
    for code, status, count in answers.group_by("notice_code", "status").len().sort("notice_code", "status").iter_rows():
        report.set_count(f"answers_{code}_{status}", count)
    refused = answers.filter((pl.col("status") == "refused") & pl.col("notice_code").is_in(["41", "61"]))
    unsolicited = answers.filter(pl.col("status") == "unsolicited")
    if refused.height or unsolicited.height:
        report.message(f"{refused.height} 資格喪失等・仮徴収額変更 notice(s) refused by the insurer and "
                       f"{unsolicited.height} answer(s) to nothing the ward sent: ask the insurer "
                       f"(curated/{ANSWERS}, status refused or unsolicited).")


SWITCH_REASON = "年金特別徴収の中止に伴う普通徴収への切替 (地方税法第321条の7の6)"


def _audit_switch(lake: Path, run_id: str, month: str, moved: pl.DataFrame) -> None:
    """One audit record per month's switch: who moved from pension withholding to 普通徴収 (宛名番号 only)."""
    from pipelines.audit import append_audit

    reasons = dict(moved.group_by("stop_reason").agg(pl.col("atena_no").n_unique()).sort("stop_reason").iter_rows())
    append_audit(lake, operation="pension_switch_to_ordinary", reason=SWITCH_REASON, run_id=run_id,
                 dataset=f"curated/{MOVES}", atena_nos=moved["atena_no"].unique().sort(),
                 details={"processing_month": month, "persons": moved["atena_no"].n_unique(),
                          "months_moved": moved.height, "amount": int(moved["amount"].sum() or 0),
                          "persons_by_stop_reason": reasons})


def _count_files(report: RunReport, month_files: pl.DataFrame) -> None:
    """Each file of the month as an input of the run (its data records staged, or all quarantined), and the
    quarantine reasons: a file quarantined whole counts each of its records (or itself, when its records
    cannot be told apart)."""
    for row in month_files.sort("file").iter_rows(named=True):
        received = row["records"] if row["records"] is not None else 1
        staged = received if row["status"] == "staged" else 0
        report.add_input_counts(f"landing/{row['path']}", received=received, staged=staged,
                                quarantined=received - staged, source=f"pension_exchange_{row['notice_code'] or 'unknown'}")
    reasons = month_files.filter(pl.col("status") == "quarantined").group_by("reason_code").agg(
        pl.col("records").fill_null(1).sum()).sort("reason_code")
    report.add_quarantine_reasons(dict(reasons.iter_rows()))


def _account(report: RunReport, month_files: pl.DataFrame, records: pl.DataFrame, decided: pl.DataFrame | None,
             review: pl.DataFrame | None, ledger: pl.DataFrame, moved: pl.DataFrame, all_moves: pl.DataFrame,
             superseded: pl.DataFrame, month: str) -> None:
    _count_files(report, month_files)
    report.set_count("files_received", month_files.height)
    report.set_count("files_quarantined", month_files.filter(pl.col("status") == "quarantined").height)
    report.set_count("files_superseded", superseded.height)
    if decided is not None:
        report.set_count("target_records", decided.height)
        report.set_count("target_records_usable", decided.filter("withholding").height)
        for reason, count in decided.group_by("not_withheld_reason").len().drop_nulls().sort("not_withheld_reason").iter_rows():
            report.set_count(f"targets_{reason}", count)
        report.set_count("review_queue_records", review["doc_uid"].n_unique() if review is not None else 0)
    for status, count in ledger.group_by("status").len().sort("status").iter_rows():
        report.set_count(f"ledger_{status}", count)
    report.set_count("sum_requested", int(ledger["requested"].sum() or 0))
    report.set_count("sum_withheld", int(ledger.filter(pl.col("status") == "withheld")["withheld"].sum() or 0))
    report.set_count("persons_moved_this_month", moved["atena_no"].n_unique())
    report.set_count("sum_moved_this_month", int(moved["amount"].sum() or 0))
    if moved.height:
        reasons = moved.group_by("stop_reason").agg(pl.col("atena_no").n_unique().alias("persons"),
                                                    pl.col("amount").sum()).sort("stop_reason")
        shown = ", ".join(f"{r} {p} person(s) {a:,} yen" for r, p, a in reasons.iter_rows())
        report.message(f"Withholding stopped for {moved['atena_no'].n_unique()} person(s) this month: "
                       f"{int(moved['amount'].sum()):,} yen moved to 普通徴収 with new installments ({shown}; "
                       f"curated/{SWITCH_INSTALLMENTS}, audit log operation pension_switch_to_ordinary).")
    # every requested month ends in exactly one place: withheld, moved to 普通徴収 or still open; a month the
    # insurer withheld after it was moved was paid twice (the excess is a refund for collection)
    moved_keys = all_moves.select("atena_no", "payer_code", "period", pl.col("amount").alias("_moved"))
    rows = ledger.filter(pl.col("status") != "unexpected").join(moved_keys, on=["atena_no", "payer_code", "period"],
                                                                 how="left")
    reported = pl.col("status").is_in(["withheld", "not_withheld"])
    withheld = pl.when(reported).then(pl.col("withheld")).otherwise(0)
    moved_part = pl.col("_moved").fill_null(0)
    open_part = pl.when(pl.col("_moved").is_null() & (pl.col("status") != "withheld")).then(
        pl.col("requested") - withheld).otherwise(0)
    parts = rows.select(withheld.alias("w"), moved_part.alias("m"), open_part.alias("o"), "requested",
                        pl.max_horizontal(withheld + moved_part - pl.col("requested"), 0).alias("over"))
    total, over = int(parts["requested"].sum() or 0), int(parts["over"].sum() or 0)
    accounted = int((parts["w"] + parts["m"] + parts["o"]).sum() or 0)
    report.set_count("sum_withheld_after_move", over)
    report.set_count("months_withheld_after_move", parts.filter(pl.col("over") > 0).height)
    report.set_count("sum_open", int(parts["o"].sum() or 0))
    report.set_count("sum_moved", int(parts["m"].sum() or 0))
    report.add_check("every yen requested is withheld, moved to 普通徴収 or still open", total + over == accounted,
                     expected=total + over, actual=accounted,
                     detail="a month withheld after it was moved counts in both: the excess is refunded by collection")
    unexpected = ledger.filter(pl.col("status") == "unexpected").height
    report.set_count("results_without_request", unexpected)
    mismatched = ledger.filter(pl.col("status") == "mismatch").height
    if mismatched or unexpected:
        report.message(f"{mismatched} month(s) whose 特別徴収結果 do not add up to what was requested and {unexpected} "
                       "result(s) for a month nothing was requested in: ask the insurer (juminzei status shows the "
                       "counts; curated/pension_ledger the rows).")
