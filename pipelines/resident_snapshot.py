"""Stage ``resident_snapshot``: the 住民記録 as of 1 January (賦課期日), households, 生活保護 and 障害者
status, and the My Number vault, for one municipality and fiscal year.

Reads (``<landing>/<source>/municipality=M/fiscal_year=N/*.csv``, layouts in ``contracts/layouts``)::

    resident_registry      住民記録 抽出ファイル        jumin_kiroku_<M>_<N>0101.csv
    my_number              個人番号 対応ファイル        kojin_bango_<M>_<N>0101.csv
    livelihood_assistance  生活保護 (生活扶助) 受給者   seikatsu_fujo_<M>_<N>0101.csv
    disability             障害者ファイル               shogaisha_<M>_<N>0101.csv

Writes (each partition atomically; identical inputs leave every byte as it was)::

    staging/residents, staging/households, staging/welfare_status, staging/disability_status
    quarantine/resident_snapshot           rejected records (reason, file, line, field; no My Number)
    vault/my_number                        宛名番号 ↔ 個人番号, Parquet modular encryption
    reports/resident_snapshot/<M,N>/<run_id>.json + latest.json
    audit/audit_log.jsonl                  my_number_file_read, vault_write records

The dialect is explicit (UTF-8, comma, ``"``, header required and compared with the layout, LF); all
fields are read as strings, nothing is sniffed. A record with the wrong field count, broken quoting or
bytes that are not UTF-8 is quarantined, not fatal. A missing, empty or wrongly-headed file stops the
run with an :class:`~contracts.errors.InputFileError` before anything is written.

Every input record goes to exactly one place: staged or quarantined (nothing is forwarded here;
removed residents are staged with their status). The report checks, per input file, that
received = staged + quarantined + forwarded, and that each output has the rows its staged records
imply; a failed check or a broken contract stops the run before any write.

Each partition is swapped in atomically on its own. A run killed between two partition writes leaves
the ones already written at the new version and the rest at the previous one; rerunning the stage
completes it (partitions already written come out ``unchanged``).

``dry_run``: everything is computed, checked and reported; only the run report (marked
``dry_run: true``) and the audit record of reading the My Number file are written.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import polars as pl

from contracts.errors import InputFileError
from contracts.resident_snapshot import (
    OPTIONAL_SOURCES,
    SOURCES,
    DisabilityStatus,
    Households,
    Layout,
    NonRegisteredResidents,
    QuarantineRecord,
    Residents,
    SnapshotWarning,
    VaultEntry,
    WelfareStatus,
    load_layout,
)
from pipelines.audit import append_audit
from pipelines.config import Settings
from pipelines.lake import hold_my_numbers, vault_write_encryption, write_partition, write_vault
from pipelines.progress import advance, step
from pipelines.reports import RunReport
from pipelines.stage import execute, require_reconciled, validate

STAGE = "resident_snapshot"
QUARANTINE_DATASET = STAGE
WARNINGS_DATASET = f"{STAGE}_warnings"  # quarantine/resident_snapshot_warnings: emptied optional values
STAGED_KEYS: dict[str, list[str]] = {
    "residents": ["atena_no"],
    "households": ["household_no"],
    "welfare_status": ["atena_no"],
    "disability_status": ["atena_no"],
    "non_registered_residents": ["atena_no"],
}
#: the steps of a run, as its progress shows them (pipelines.progress)
STEPS = ("reading the registry files", "building the snapshot", "checking the contracts",
         "writing staging, quarantine and the vault")
VAULT_REASON = "賦課期日 (1月1日) 現在の宛名番号と個人番号の対応表の作成 (resident_snapshot)"
READ_REASON = "賦課期日 (1月1日) 現在の個人番号ファイルの検証 (resident_snapshot)"

log = logging.getLogger("juminzei.resident_snapshot")


# --------------------------------------------------------------------------------------------- inputs


def source_dir(settings: Settings, source: str, municipality: str, fiscal_year: int) -> Path:
    return settings.landing / source / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"


def _landing_name(settings: Settings, path: Path) -> str:
    """Path relative to the landing root (how quarantine rows and truth/ name a file)."""
    return path.resolve().relative_to(settings.landing.resolve()).as_posix()


def _read_source(
    settings: Settings, layout: Layout, municipality: str, fiscal_year: int, report: RunReport,
    optional: bool = False,
) -> pl.DataFrame:
    """Every file of one source as lines; a missing required source stops the run, a missing optional one
    (the 住登外者 登録ファイル) gives no lines and a report message."""
    from transforms.resident_snapshot import LINES_SCHEMA

    directory = source_dir(settings, layout.source, municipality, fiscal_year)
    files = (
        sorted(p for p in directory.glob("*.csv") if p.is_file() and not p.name.startswith("."))
        if directory.is_dir()
        else []
    )
    if not files and optional:
        report.message(f"{layout.source}: no {layout.title} in {directory}; nobody is taxed as 住登外 this run.")
        advance()
        return pl.DataFrame(schema=LINES_SCHEMA)
    if not files:
        expected_path = directory / layout.expected_file(municipality, fiscal_year)
        raise InputFileError(
            expected_path, None, None,
            f"the {layout.title} ({layout.source}) as a UTF-8 CSV file with a header in {directory}",
            "no such file (no *.csv in that folder)",
        )
    if len(files) > 1:
        report.message(f"{layout.source}: {len(files)} files found in {directory}; all were read as one source.")
    frames = [read_registry_file(settings, path, layout, report) for path in files]
    advance()
    return pl.concat(frames, how="vertical")


def read_registry_file(settings: Settings, path: Path, layout: Layout, report: RunReport) -> pl.DataFrame:
    """One file of the registry dialect (UTF-8, header, LF) as lines (``file, record_no, line``), recorded as
    an input of the run; an empty file, a header that is not the layout's or CR LF line ends stop the run
    with an :class:`InputFileError` naming the file (the notice inputs are read with it too)."""
    from transforms.resident_snapshot import decode_lines, parse_header

    data = path.read_bytes()
    name = _landing_name(settings, path)
    decoded = decode_lines(data, name)
    if decoded.empty:
        raise InputFileError(path, None, None, f"a header line ({','.join(layout.names)}) and records",
                             "the file is empty")
    if decoded.header is None:
        raise InputFileError(path, 1, None, "a UTF-8 header line", "the header line is not valid UTF-8")
    if decoded.header.endswith("\r"):
        raise InputFileError(path, 1, None, "LF line ends (the layout's dialect)",
                             "the file uses CR LF line ends")
    _check_header(path, decoded.header, layout, parse_header)
    if decoded.had_bom:
        report.message(f"{name}: starts with a UTF-8 byte order mark; it was ignored.")
    rows = decoded.lines.height
    report.add_input(
        f"landing/{name}", sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), rows=rows, source=layout.source
    )
    if rows == 0:
        report.message(f"{name}: has a header but no records.")
    return decoded.lines


def _check_header(path: Path, header: str, layout: Layout, parse_header) -> None:
    columns = parse_header(header)
    expected = layout.names
    if columns == expected:
        return
    # Never echo the found header: a file without one starts with a personal record.
    if columns is None:
        problem = "the header line's quoting is broken"
    elif len(columns) != len(expected):
        problem = f"the header has {len(columns)} columns, the layout {layout.name} has {len(expected)}"
    else:
        position = next(i for i, (a, b) in enumerate(zip(columns, expected, strict=True)) if a != b)
        problem = (f"header column {position + 1} is not {expected[position]!r} "
                   f"(the header does not match layout {layout.name})")
    raise InputFileError(path, 1, None, f"the header {','.join(expected)}", problem)


# ------------------------------------------------------------------------------------------ contracts


# -------------------------------------------------------------------------------------------- the run


def run(
    *,
    fiscal_year: int,
    municipality: str = "131032",
    settings: Settings | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
) -> dict:
    """Take the 1 January snapshot for one municipality and fiscal year; return the run report.

    The report is also written to ``<lake>/reports/resident_snapshot/municipality=M/fiscal_year=N/``
    (``<run_id>.json`` and ``latest.json``); the returned dict adds ``report_path`` (absolute).
    On failure a report with ``status: failed`` is written and the exception re-raised.
    """

    def body(settings: Settings, report: RunReport) -> None:
        _run(settings, municipality, fiscal_year, report.run_id, dry_run, report)

    return execute(STAGE, body, fiscal_year=fiscal_year, municipality=municipality, settings=settings,
                   run_id=run_id, dry_run=dry_run, log=log, steps=STEPS)


def _run(
    settings: Settings, municipality: str, fiscal_year: int, run_id: str, dry_run: bool, report: RunReport
) -> None:
    from transforms.resident_snapshot import build_snapshot

    step(STEPS[0], total=len(SOURCES) + len(OPTIONAL_SOURCES), unit="files")
    layouts = {source: load_layout(source) for source in SOURCES + OPTIONAL_SOURCES}
    lines = {source: _read_source(settings, layouts[source], municipality, fiscal_year, report,
                                  optional=source in OPTIONAL_SOURCES)
             for source in SOURCES + OPTIONAL_SOURCES}

    append_audit(
        settings.lake,
        operation="my_number_file_read",
        reason=READ_REASON,
        run_id=run_id,
        dataset="landing/my_number",
        atena_nos=lines["my_number"].height,  # a count: the file's 宛名番号 are not yet trusted
        actor=settings.actor,
        department=settings.department,
        host=settings.host,
        settings=settings,
        details={"dry_run": dry_run, "records": lines["my_number"].height},
    )

    step(STEPS[1])
    snapshot = build_snapshot(lines, fiscal_year=fiscal_year, run_id=run_id, layouts=layouts, municipality=municipality)
    del lines

    step(STEPS[2])
    staged = {
        "residents": validate(Residents, snapshot.residents, "staging/residents", run_id),
        "households": validate(Households, snapshot.households, "staging/households", run_id),
        "welfare_status": validate(WelfareStatus, snapshot.welfare_status, "staging/welfare_status", run_id),
        "disability_status": validate(DisabilityStatus, snapshot.disability_status, "staging/disability_status", run_id),
        "non_registered_residents": validate(NonRegisteredResidents, snapshot.non_registered_residents,
                                             "staging/non_registered_residents", run_id),
    }
    vault = validate(VaultEntry, snapshot.vault, "vault/my_number", run_id)
    quarantine = validate(QuarantineRecord, snapshot.quarantine, f"quarantine/{QUARANTINE_DATASET}", run_id)
    warnings = validate(SnapshotWarning, snapshot.warnings, f"quarantine/{WARNINGS_DATASET}", run_id)

    _account(report, snapshot, staged, vault, quarantine)
    # Warnings do not move a record (it is staged): counted per reason, outside the reconciliation.
    report.set_count("warnings", warnings.height)
    for reason, count in warnings.group_by("reason_code").len().sort("reason_code").iter_rows():
        report.set_count(f"warnings_{reason}", count)
    require_reconciled(report)

    if dry_run:
        report.message("Dry run: nothing was written to staging, quarantine or the vault.")
        return

    step(STEPS[3])
    encryption = vault_write_encryption(settings)  # before the first write: a key problem must not leave half a run
    # The My Number guard refuses this run's numbers in every partition written before the vault itself.
    hold_my_numbers(settings.lake, municipality, fiscal_year, vault.get_column("my_number"))
    for dataset, frame in staged.items():
        written = write_partition(
            settings.lake, "staging", dataset, municipality, fiscal_year, frame,
            sort_by=STAGED_KEYS[dataset], run_id=run_id,
        )
        report.add_output(written)
    written = write_partition(
        settings.lake, "quarantine", QUARANTINE_DATASET, municipality, fiscal_year, quarantine,
        sort_by=["source", "file", "record_no"], run_id=run_id, compare_ignoring=["run_id"],
    )
    report.add_output(written)
    written = write_partition(
        settings.lake, "quarantine", WARNINGS_DATASET, municipality, fiscal_year, warnings,
        sort_by=["source", "file", "record_no", "field"], run_id=run_id, compare_ignoring=["run_id"],
    )
    report.add_output(written)
    written = write_vault(settings, municipality, fiscal_year, vault, run_id=run_id, reason=VAULT_REASON,
                          encryption=encryption)
    report.add_output(written)
    unchanged = sum(1 for o in report.outputs if o["unchanged"])
    if unchanged == len(report.outputs):
        report.message("Inputs unchanged since the last run: every output partition was left as it was.")
    elif unchanged:
        report.message(f"{unchanged} of {len(report.outputs)} output partitions were unchanged and left as they were.")


def _account(report: RunReport, snapshot, staged: dict[str, pl.DataFrame], vault: pl.DataFrame,
             quarantine: pl.DataFrame) -> None:
    """Per-file counts, reasons, stage counts, output checks and operator sentences."""
    for row in snapshot.per_file.iter_rows(named=True):
        report.add_input_counts(
            f"landing/{row['file']}", received=row["received"], staged=row["staged"],
            quarantined=row["quarantined"], forwarded=row["forwarded"], source=row["source"],
        )
    # Files with a header and no records still appear, with zeros.
    seen = {e["path"] for e in report.per_input}
    for entry in report.inputs:
        if entry["path"] not in seen:
            report.add_input_counts(entry["path"], received=0, staged=0, quarantined=0, source=entry.get("source"))
    reasons = quarantine.group_by("reason_code").len().sort("reason_code")
    report.add_quarantine_reasons(dict(reasons.iter_rows()))

    staged_by_source = {
        source: int(snapshot.per_file.filter(pl.col("source") == source).get_column("staged").sum())
        for source in SOURCES + OPTIONAL_SOURCES
    }
    residents = staged["residents"]
    households = staged["households"]
    disability = staged["disability_status"]
    welfare = staged["welfare_status"]
    on_jan1 = int(residents.get_column("resident_on_assessment_date").sum())
    status_counts = dict(residents.group_by("registry_status").len().iter_rows())
    counts: dict[str, Any] = {
        "residents": residents.height,
        "resident_on_assessment_date": on_jan1,
        "registry_resident": status_counts.get("resident", 0),
        "registry_moved_out": status_counts.get("moved_out", 0),
        "registry_deceased": status_counts.get("deceased", 0),
        "non_registered": status_counts.get("non_registered", 0),
        "households": households.height,
        "households_head_missing": int((households.get_column("head_status") == "missing").sum()),
        "households_head_ambiguous": int((households.get_column("head_status") == "ambiguous").sum()),
        "vault_entries": vault.height,
        "welfare_status": welfare.height,
        "assisted_on_assessment_date": int(welfare.get_column("assisted_on_assessment_date").sum()),
        "disability_status": disability.height,
        "special_disability": int(disability.get_column("special_disability").sum()),
    }
    for name, value in counts.items():
        report.set_count(name, value)

    certificates = int(disability.get_column("certificate_count").cast(pl.Int64).sum())
    persons = staged_by_source["resident_registry"] + staged_by_source["non_registered_register"]
    report.add_check("residents = staged registry and 住登外 records", residents.height == persons,
                     expected=persons, actual=residents.height)
    non_registered = staged["non_registered_residents"]
    report.add_check("non_registered_residents = staged 住登外 records",
                     non_registered.height == staged_by_source["non_registered_register"],
                     expected=staged_by_source["non_registered_register"], actual=non_registered.height)
    report.add_check("vault entries = staged my_number records", vault.height == staged_by_source["my_number"],
                     expected=staged_by_source["my_number"], actual=vault.height)
    report.add_check("welfare_status = staged livelihood_assistance records",
                     welfare.height == staged_by_source["livelihood_assistance"],
                     expected=staged_by_source["livelihood_assistance"], actual=welfare.height)
    report.add_check("certificates in disability_status = staged disability records",
                     certificates == staged_by_source["disability"],
                     expected=staged_by_source["disability"], actual=certificates)
    members = int(households.get_column("member_count").cast(pl.Int64).sum())
    report.add_check("household members = residents", members == residents.height,
                     expected=residents.height, actual=members)
    total_quarantined = sum(e["quarantined"] for e in report.per_input)
    report.add_check("quarantine rows = quarantined records", quarantine.height == total_quarantined,
                     expected=total_quarantined, actual=quarantine.height)

    totals = report.totals()
    report.message(
        f"{totals['received']:,} records received from {len(report.inputs)} files: {totals['staged']:,} staged, "
        f"{totals['quarantined']:,} quarantined, {totals['forwarded']:,} forwarded. "
        f"{residents.height:,} persons ({counts['non_registered']:,} of them 住登外), {on_jan1:,} resident on 1 January; "
        f"{households.height:,} households; {vault.height:,} My Numbers for the vault."
    )
    if totals["quarantined"]:
        report.message(
            f"{totals['quarantined']:,} records are in quarantine/{QUARANTINE_DATASET} with a reason code, file, "
            "line and field: correct them at the source and rerun."
        )
    if counts["households_head_missing"] or counts["households_head_ambiguous"]:
        report.message(
            f"{counts['households_head_missing']:,} households have no 世帯主 and "
            f"{counts['households_head_ambiguous']:,} have more than one; their head_atena_no is empty."
        )
