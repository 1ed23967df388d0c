"""Stage `returns_ingest`: the return-ingest window (January–April, then weekly for late documents).

Turns whatever arrived in ``landing/<source>/municipality=M/fiscal_year=N/`` into typed, validated,
matched staging data. Nothing is lost or silently guessed:

1. **Exactly-once files** (:mod:`pipelines.ledger`): every landing file is classified by sha256. A
   file whose bytes were already delivered under another name is skipped and reported; a known name
   with changed bytes is a new version, ingested and flagged for review. The ledger is marked
   ``pending`` before anything is written and ``ingested`` after the partitions are swapped in, so a
   crash in between is repaired by the next run.
2. **Parsing** of every non-duplicate file with the layouts in ``contracts/layouts/``
   (:mod:`transforms.parse_csv`, :mod:`transforms.parse_etax` on hardened XML): a malformed record is
   quarantined with reason, file, record number and field; the rest of the file still loads.
3. **Correction history** (:mod:`transforms.corrections`): 訂正 replaces, 取消 withdraws; all versions
   are kept with ``is_current``.
4. **宛名付設** (:mod:`transforms.matching`): My Number through the vault with a 5情報 check, else
   4情報 with a score; evidence beside every match; weak, ambiguous or conflicting matches go to the
   ``review_queue``, never to a guess.
5. **Routes**: a document of a resident on 1 January (or of a person who died during the year) is
   staged; of a person who moved out before 1 January, or whose address is outside the ward with no
   registry candidate, forwarded (回送, ``curated/forwarding`` per destination 団体コード: the registry's
   転出先, else the e-Tax 1月1日住所 code, else the municipality the address names, with the basis beside
   it); with a ward address but no registry candidate, staged as a 住登外 candidate
   (``staging/non_registered_candidates``).
6. **Relatives of e-Tax returns** (``staging/etax_dependants``): the 配偶者・扶養親族 each staged 確定申告書
   names, one row per (``doc_uid``, ``dependant_no``), tied to a 宛名番号 by their My Number with the
   same rule 1 as the taxpayer (:func:`transforms.matching.match_relatives_by_my_number`: vault, then a
   5情報 check; a number whose vault person disagrees is ``my_number_conflict`` and stays unresolved),
   with the rule and evidence beside it. The My Number is dropped afterwards. The dependants belong to
   their return's record: they are not counted as received records of a file.

Every run rebuilds the staging partitions from all ingested files (not only the new ones), so the
partitions are complete, keyed and byte-identical for the same landing content (STYLE rule 8).
Per file: ``received = staged + quarantined + forwarded`` (staged includes review and 住登外).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import polars as pl

from contracts.errors import ConfigError
from pipelines.config import Settings
from pipelines.progress import advance, step
from pipelines.reports import RunReport
from pipelines.stage import execute, require_reconciled, validate

log = logging.getLogger("juminzei.returns_ingest")

STAGE = "returns_ingest"
VAULT_REASON = "宛名付設: 課税資料の個人番号から宛名番号を特定する (地方税法第317条の6 等の資料の名寄せ)"
PERSON_SOURCES = ("salary_report", "pension_report", "etax_return", "resident_return", "furusato_notice")
STAGED_DATASETS = {
    "salary_report": "salary_reports",
    "salary_summary": "salary_summaries",
    "pension_report": "pension_reports",
    "etax_return": "etax_returns",
    "resident_return": "resident_returns",
    "furusato_notice": "furusato_notices",
}
DEPENDANTS_DATASET = "etax_dependants"  # 配偶者・扶養親族 named by the staged 確定申告書
RELATIVES_DATASET = "document_relatives"  # 5人目以降の扶養親族 of the staged 給与支払報告書 / 住民税申告書
QUARANTINE_DATASET = STAGE
#: the steps of a run, as its progress shows them (pipelines.progress)
STEPS = ("classifying the landing files", "reading and parsing the files", "matching documents to residents",
         "routing and checking the contracts", "writing staging, quarantine and forwarding")
WARNINGS_DATASET = f"{STAGE}_warnings"  # quarantine/returns_ingest_warnings: emptied optional values of staged records
MUNICIPALITIES = Path(__file__).resolve().parent.parent / "contracts" / "municipalities.csv"


def ward_name(municipality: str) -> str:
    """The 市区町村 name of ``municipality`` (e.g. 港区), from ``contracts/municipalities.csv``."""
    with MUNICIPALITIES.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["code"] == municipality:
                return row["name"]
    raise ConfigError(
        f"municipality {municipality} is not in {MUNICIPALITIES.name}; add its code, prefecture and name there"
    )


# ------------------------------------------------------------------------------------------ the run
def run(
    *,
    fiscal_year: int,
    municipality: str = "131032",
    settings: Settings | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
    landing: str | Path | None = None,
) -> dict:
    """Ingest the landing zone for one municipality and fiscal year; return the run report."""

    def body(settings: Settings, report: RunReport) -> None:
        landing_root = Path(landing) if landing else settings.landing
        _run(settings, landing_root, municipality, fiscal_year, report.run_id, dry_run, report)

    return execute(STAGE, body, fiscal_year=fiscal_year, municipality=municipality, settings=settings,
                   run_id=run_id, dry_run=dry_run, log=log, steps=STEPS)


def _run(settings: Settings, landing_root: Path, municipality: str, fiscal_year: int, run_id: str,
         dry_run: bool, report: RunReport) -> None:
    from pipelines import ledger
    from pipelines.lake import partition_exists, read_partition, read_vault, write_partition

    if not partition_exists(settings.lake, "staging", "residents", municipality, fiscal_year):
        raise ConfigError(
            f"No resident snapshot for {municipality}/{fiscal_year}: run resident_snapshot for that fiscal year "
            "first (宛名付設 needs the 1 January residents and the My Number vault)."
        )
    step(STEPS[0])
    files = [f for source in ledger.SOURCES for f in ledger.scan_landing(landing_root, source, municipality, fiscal_year)]
    missing = ledger.missing_ingested(settings.lake, files, municipality, fiscal_year)
    if missing:
        shown = ", ".join(f"landing/{path}" for path in missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ConfigError(
            f"The landing folder {landing_root} lacks {len(missing)} file(s) that were already ingested for "
            f"{municipality}/{fiscal_year} ({shown}). Every run rebuilds staging from all ingested files, so this "
            "run would drop their records; nothing was done. Deliver new files into the lake's landing zone "
            f"({settings.landing}) next to the earlier ones, and never remove a delivered file."
        )
    plan = ledger.classify(settings.lake, files)
    to_read = [c for c in plan if c.kind != "duplicate"]
    _report_files(report, plan)

    step(STEPS[1], total=len(to_read), unit="files")
    parsed = _parse_all(landing_root, to_read)
    received_by_file = parsed.pop("_received")
    for note in parsed.pop("_notes"):
        report.message(note)
    step(STEPS[2])
    residents = read_partition(settings.lake, "staging", "residents", municipality, fiscal_year)
    vault = read_vault(settings, municipality, fiscal_year, reason=VAULT_REASON, run_id=run_id)
    outcome = _match_and_route(parsed, residents, vault, municipality)
    del vault

    step(STEPS[3])
    staged, forwarding, review, non_registered, quarantine, dependants, relatives, warnings = _validated(
        outcome, parsed, run_id)
    _account(report, to_read, received_by_file, staged, forwarding, quarantine, review, non_registered, dependants)
    _count_relatives(report, relatives)
    _count_warnings(report, warnings)
    require_reconciled(report)
    if dry_run:
        report.message("Dry run: nothing was written to staging, quarantine, curated or the ledger.")
        return

    step(STEPS[4])
    plan = ledger.mark_pending(settings.lake, run_id, plan)
    for source, frame in staged.items():
        report.add_output(write_partition(settings.lake, "staging", STAGED_DATASETS[source], municipality,
                                          fiscal_year, frame, sort_by=["file", "record_no"], run_id=run_id))
    report.add_output(write_partition(settings.lake, "staging", DEPENDANTS_DATASET, municipality, fiscal_year,
                                      dependants, sort_by=["doc_uid", "dependant_no"], run_id=run_id))
    report.add_output(write_partition(settings.lake, "staging", RELATIVES_DATASET, municipality, fiscal_year,
                                      relatives, sort_by=["doc_uid", "field", "entry_no"], run_id=run_id))
    report.add_output(write_partition(settings.lake, "staging", "review_queue", municipality, fiscal_year, review,
                                      sort_by=["doc_uid", "candidate_rank"], run_id=run_id))
    report.add_output(write_partition(settings.lake, "staging", "non_registered_candidates", municipality,
                                      fiscal_year, non_registered, sort_by=["doc_uid"], run_id=run_id))
    report.add_output(write_partition(settings.lake, "curated", "forwarding", municipality, fiscal_year, forwarding,
                                      sort_by=["destination_municipality_code", "file", "record_no"], run_id=run_id))
    report.add_output(write_partition(settings.lake, "quarantine", QUARANTINE_DATASET, municipality, fiscal_year,
                                      quarantine, sort_by=["source", "file", "record_no"], run_id=run_id,
                                      compare_ignoring=["run_id"]))
    report.add_output(write_partition(settings.lake, "quarantine", WARNINGS_DATASET, municipality, fiscal_year,
                                      warnings, sort_by=["source", "file", "record_no", "field"], run_id=run_id,
                                      compare_ignoring=["run_id"]))
    ledger.mark_ingested(settings.lake, run_id, plan)


# ------------------------------------------------------------------------------------- the steps
def _report_files(report: RunReport, plan) -> None:
    kinds: dict[str, int] = {}
    for item in plan:
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
        if item.kind == "duplicate":
            report.message(
                f"File landing/{item.file.path} repeats landing/{item.first_path} byte for byte (same sha256): skipped."
            )
        elif item.kind == "new_version":
            report.message(
                f"File landing/{item.file.path} changed since it was first ingested: the new version is ingested "
                "and needs an operator's review."
            )
    for kind in ("new", "new_version", "already_ingested", "duplicate"):
        report.set_count(f"files_{kind}", kinds.get(kind, 0))


def _parse_all(landing_root: Path, to_read) -> dict[str, dict[str, pl.DataFrame]]:
    """Parse every file; returns per source: ``records`` (sound records), ``quarantine`` (one row per problem),
    ``warnings`` (emptied optional values of sound records), ``relatives`` (the 5人目以降 entries of the
    CSV formats that have them) and, for e-Tax returns, ``dependants`` (the relatives of the sound returns)."""
    from transforms.parse_csv import line_ends, parse_csv_documents
    from transforms.parse_etax import parse_etax_returns

    parsed: dict[str, dict[str, list[pl.DataFrame]]] = {
        s: {"records": [], "quarantine": [], "warnings": [], "relatives": []} for s in STAGED_DATASETS}
    parsed["etax_return"]["dependants"] = []
    contents: dict[str, list[tuple[str, bytes]]] = {s: [] for s in STAGED_DATASETS}
    received: dict[str, int] = {}
    notes: list[str] = []  # file-level observations for the run report (never the content)
    for item in to_read:
        data = item.file.absolute(landing_root).read_bytes()
        received[item.file.path] = count_records(data, item.file.source)
        if item.file.source != "etax_return" and (deviation := line_ends(data, item.file.source)):
            notes.append(f"File landing/{item.file.path} {deviation}.")
        contents[item.file.source].append((item.file.path, data))
        advance()
    for source, files in contents.items():
        # A source with no file still goes through its parser: the empty frames carry the schema, so an empty
        # delivery stages empty, typed partitions instead of failing downstream.
        if source == "etax_return":
            result = parse_etax_returns(files)
            parsed[source]["records"].append(result.returns)
            parsed[source]["dependants"].append(result.dependants)
        else:  # one vectorised pass over all files of the format
            result = parse_csv_documents(files, source)
            parsed[source]["records"].append(result.records)
            parsed[source]["relatives"].append(result.relatives)
        parsed[source]["quarantine"].append(result.quarantine)
        parsed[source]["warnings"].append(result.warnings)
        contents[source] = []  # release the bytes
    out: dict = {
        source: {kind: pl.concat(frames, how="vertical") if frames else pl.DataFrame() for kind, frames in parts.items()}
        for source, parts in parsed.items()
    }
    out["_received"] = received
    out["_notes"] = notes
    return out


def _history(source: str, records: pl.DataFrame) -> pl.DataFrame:
    """Versions of each document key (訂正/取消) from the layout's record key; e-Tax returns are each new."""
    from contracts.layouts import load_layout
    from transforms.corrections import apply_submission_history, document_uid, received_date_from_file

    records = records.with_columns(received_date_from_file(pl.col("file")).alias("received_on"))
    layout = load_layout(source)
    if source == "etax_return" or not layout.get("submission_type_field"):
        return records.with_columns(
            document_uid(pl.col("file"), pl.col("record_no")).alias("doc_uid"),
            pl.lit(True).alias("is_current"),
            pl.lit("current").alias("history_status"),
        )
    history = apply_submission_history(
        records, key=list(layout["record_key"]), order=["received_on", "file", "record_no"],
        submission_type=layout["submission_type_field"],
    )
    return history.with_columns(pl.col("status").cast(pl.String).alias("history_status")).drop("status")


def _match_and_route(parsed, residents: pl.DataFrame, vault: pl.DataFrame, municipality: str) -> dict:
    from transforms.matching import document_identity, match_documents
    from transforms.normalize import normalize_address

    ward = ward_name(municipality)
    etax_dependants = parsed["etax_return"].pop("dependants", None)
    listed = {source: parts.pop("relatives", None) for source, parts in parsed.items()}
    with_history: dict[str, pl.DataFrame] = {}
    for source, parts in parsed.items():  # memory: each parsed frame is released once its history is built
        records = parts.pop("records")
        with_history[source] = _history(source, records)
        del records
    documents = pl.concat([document_identity(s, with_history[s]) for s in PERSON_SOURCES], how="vertical")
    result = match_documents(documents, residents, vault)
    people = residents.select("atena_no", "registry_status", "destination_municipality_code")
    in_ward = normalize_address(pl.col("address")).str.starts_with(ward)
    routes = (
        result.matches.join(documents.select("doc_uid", "source", "address"), on="doc_uid", how="left", validate="1:1")
        .join(people, on="atena_no", how="left", validate="m:1")
        .with_columns(
            pl.when(pl.col("decision") == "review").then(pl.lit("review"))
            .when((pl.col("decision") == "auto") & (pl.col("registry_status") == "moved_out")).then(pl.lit("forward"))
            .when(pl.col("decision") == "auto").then(pl.lit("stage"))
            .when(in_ward.fill_null(False)).then(pl.lit("non_registered"))
            .otherwise(pl.lit("forward")).alias("route"),
            pl.when(pl.col("decision") == "auto").then(pl.lit("moved_out_before_assessment_date"))
            .otherwise(pl.lit("address_outside_ward")).alias("forward_reason"),
        )
    )
    review = result.review_queue
    routes = _forwarding_destinations(routes, with_history.get("etax_return"), municipality)
    dependants = _etax_dependants(etax_dependants, with_history.get("etax_return"), routes, residents, vault)
    relatives = _document_relatives(listed, with_history, routes, residents, vault)
    return {"with_history": with_history, "routes": routes, "review": review, "dependants": dependants,
            "relatives": relatives}


def _document_relatives(listed: dict, with_history: dict[str, pl.DataFrame], routes: pl.DataFrame,
                        residents: pl.DataFrame, vault: pl.DataFrame) -> pl.DataFrame:
    """The 5人目以降の扶養親族 entries ('(個人番号)氏名') of every CSV document that is not forwarded,
    keyed by the document's ``doc_uid``, ``field`` and ``entry_no``, with their 宛名番号 found by My
    Number through the vault (rule 1 of :func:`transforms.matching.match_relatives_by_my_number`; the
    entries carry no birth date, so the name must agree). The My Number is not returned."""
    from contracts.returns_ingest import DOCUMENT_RELATIVE_COLUMNS
    from transforms.matching import match_relatives_by_my_number

    frames = []
    for source, relatives in listed.items():
        records = with_history.get(source)
        if relatives is None or not relatives.height or records is None or "route" not in routes.columns:
            continue
        kept = records.select("file", "record_no", "doc_uid").join(
            routes.filter(pl.col("route") != "forward").select("doc_uid"), on="doc_uid", how="semi")
        frames.append(relatives.join(kept, on=["file", "record_no"], how="inner", validate="m:1")
                      .with_columns(pl.lit(source).alias("source")))
    if not frames:
        return pl.DataFrame(schema=DOCUMENT_RELATIVE_COLUMNS)
    frame = pl.concat(frames, how="vertical").with_columns(
        pl.format("{}/{}/{}", pl.col("doc_uid"), pl.col("field"), pl.col("entry_no")).alias("relative_key"),
        pl.lit(None, pl.String).alias("name_kana"), pl.lit(None, pl.Date).alias("birth_date"),
    )
    matched = match_relatives_by_my_number(frame, residents, vault, birth_date_required=False)
    return (
        frame.join(matched, on="relative_key", how="left", validate="1:1")
        .select(list(DOCUMENT_RELATIVE_COLUMNS))
        .cast(DOCUMENT_RELATIVE_COLUMNS)
    )


def _etax_dependants(dependants: pl.DataFrame | None, etax: pl.DataFrame | None, routes: pl.DataFrame,
                     residents: pl.DataFrame, vault: pl.DataFrame) -> pl.DataFrame:
    """The relatives named by every e-Tax return that is not forwarded, keyed by the return's
    ``doc_uid`` and ``dependant_no``, with their 宛名番号 found by My Number (rule and evidence beside
    it; :func:`transforms.matching.match_relatives_by_my_number`). The My Number is not returned."""
    from contracts.returns_ingest import ETAX_DEPENDANT_COLUMNS
    from transforms.matching import match_relatives_by_my_number

    if dependants is None or not dependants.height or etax is None or "route" not in routes.columns:
        return pl.DataFrame(schema=ETAX_DEPENDANT_COLUMNS)
    kept = etax.select("file", "doc_uid").join(
        routes.filter(pl.col("route") != "forward").select("doc_uid"), on="doc_uid", how="semi")
    frame = dependants.join(kept, on="file", how="inner", validate="m:1").with_columns(
        pl.concat_str([pl.col("doc_uid"), pl.lit("/"), pl.col("dependant_no").cast(pl.String)]).alias("relative_key"))
    matched = match_relatives_by_my_number(frame, residents, vault)
    return (
        frame.join(matched, on="relative_key", how="left", validate="1:1")
        .select(list(ETAX_DEPENDANT_COLUMNS))
        .cast(ETAX_DEPENDANT_COLUMNS)
    )


def _forwarding_destinations(routes: pl.DataFrame, etax: pl.DataFrame | None, municipality: str) -> pl.DataFrame:
    """回送先: the destination 団体コード of every forwarded document, with its evidence.

    In this order (``destination_basis``): ``registry`` — the 転出先 of the matched person;
    ``etax_jan1_code`` — the e-Tax 1月1日住所 code (``ICHIGATSUIPPI_ADR_CODE``, 5 or 6 digits) when it
    names a municipality of the national table; ``address`` — the municipality named by the document's
    address (its 1 January address when it has one), longest 都道府県+市区町村 prefix, ambiguous names
    give none (:mod:`transforms.municipality_codes`). A code equal to the ward's own is never a
    destination. What none of them finds stays null (``forwarded_destination_unknown``). A 政令指定都市の区
    code becomes its city's code: the city levies the tax and receives the documents.
    """
    from contracts.local_government_codes import load_local_government_codes
    from transforms.municipality_codes import (
        address_keys,
        document_municipality_code,
        municipality_code_from_address,
        taxing_municipality_code,
    )

    table = load_local_government_codes()
    if etax is not None and "jan1_address_code" in etax.columns:
        jan1 = etax.select("doc_uid", document_municipality_code(pl.col("jan1_address_code"), table).alias("_jan1_code"))
    else:
        jan1 = pl.DataFrame(schema={"doc_uid": pl.String, "_jan1_code": pl.String})
    forward = pl.col("route") == "forward"
    routes = routes.join(jan1, on="doc_uid", how="left", validate="1:1", maintain_order="left")
    routes = municipality_code_from_address(
        routes.with_columns(pl.when(forward).then(pl.col("address")).alias("_forward_address")),
        "_forward_address", address_keys(table), alias="_address_code",
    )
    candidates = [(basis, taxing_municipality_code(pl.col(column), table)) for basis, column in (
        ("registry", "destination_municipality_code"), ("etax_jan1_code", "_jan1_code"), ("address", "_address_code"))]
    code = basis = pl.when(~forward).then(pl.lit(None, pl.String))
    for name, column in candidates:
        usable = column.is_not_null() & (column != municipality)
        code = code.when(usable).then(column)
        basis = basis.when(usable).then(pl.lit(name))
    return routes.with_columns(
        code.otherwise(pl.lit(None, pl.String)).alias("destination_municipality_code"),
        basis.otherwise(pl.lit(None, pl.String)).alias("destination_basis"),
    ).drop("_jan1_code", "_forward_address", "_address_code")


def _validated(outcome: dict, parsed, run_id: str):
    from contracts.returns_ingest import (
        DocumentRelative,
        EtaxDependant,
        Forwarding,
        IngestQuarantine,
        IngestWarning,
        ReviewQueue,
        StagedDocument,
    )

    routes: pl.DataFrame = outcome["routes"]
    staged: dict[str, pl.DataFrame] = {}
    forwarded: list[pl.DataFrame] = []
    for source in STAGED_DATASETS:
        frame = outcome["with_history"].pop(source, None)  # memory: released as it is staged
        if frame is None:
            continue
        frame = frame.with_columns(pl.lit(source).alias("source"))
        if source in PERSON_SOURCES:
            frame = frame.join(
                routes.select(
                    # prefixed: CSV layouts have a field destination_municipality_code of their own (提出先)
                    "doc_uid", "route", pl.col("forward_reason").alias("_forward_reason"),
                    pl.col("destination_municipality_code").alias("_forward_destination"),
                    pl.col("destination_basis").alias("_forward_basis"),
                    pl.col("decision").alias("match_decision"), pl.col("rule").alias("match_rule"),
                    pl.col("score").alias("match_score"), pl.col("agreed_fields").alias("match_evidence"),
                    "atena_no",
                ),
                on="doc_uid", how="left", validate="1:1",
            )
        else:  # 総括表: the employer's summary, no person
            frame = frame.with_columns(
                pl.lit("stage").alias("route"), pl.lit(None, pl.String).alias("_forward_reason"),
                pl.lit(None, pl.String).alias("_forward_destination"),
                pl.lit(None, pl.String).alias("_forward_basis"),
                pl.lit("not_applicable").alias("match_decision"), pl.lit(None, pl.String).alias("match_rule"),
                pl.lit(None, pl.Int16).alias("match_score"), pl.lit([], pl.List(pl.String)).alias("match_evidence"),
                pl.lit(None, pl.String).alias("atena_no"),
            )
        # The My Number rests only in the vault: drop every text column that could hold one.
        frame = frame.drop([c for c, t in frame.schema.items() if "my_number" in c and t == pl.String])
        forwarded.append(
            frame.filter(pl.col("route") == "forward").select(
                pl.col("_forward_destination").alias("destination_municipality_code"),
                pl.col("_forward_basis").alias("destination_basis"), "source", "file", "record_no", "doc_uid",
                pl.col("_forward_reason").alias("reason"), "atena_no", "is_current",
            )
        )
        kept = frame.filter(pl.col("route") != "forward").drop("_forward_reason", "_forward_destination",
                                                                 "_forward_basis")
        staged[source] = validate(StagedDocument, kept, f"staging/{STAGED_DATASETS[source]}", run_id)

    forwarding = pl.concat(forwarded, how="vertical")  # every source is present, if empty (see _parse_all)
    forwarding = validate(Forwarding, forwarding.with_columns(pl.col("record_no").cast(pl.Int64)), "curated/forwarding", run_id)

    review = outcome["review"].join(routes.select("doc_uid", "source"), on="doc_uid", how="left", validate="m:1")
    review = review.select("doc_uid", "source", "reason", "candidate_atena_no", "candidate_score",
                           pl.col("candidate_rank").cast(pl.Int64), "candidate_agreed_fields")
    review = validate(ReviewQueue, review, "staging/review_queue", run_id)

    non_registered = pl.concat(
        [f.filter(pl.col("route") == "non_registered").select("doc_uid", "source", "file", "record_no")
         for f in staged.values()] or [pl.DataFrame(schema={"doc_uid": pl.String, "source": pl.String,
                                                              "file": pl.String, "record_no": pl.Int64})],
        how="vertical",
    )

    problems = [p["quarantine"] for p in parsed.values() if p["quarantine"].height]
    quarantine = (
        pl.concat(problems, how="vertical_relaxed") if problems
        else pl.DataFrame(schema={"source": pl.String, "file": pl.String, "record_no": pl.Int64, "field": pl.String,
                                  "reason_code": pl.String, "message": pl.String})
    )
    quarantine = (
        quarantine.with_columns(pl.col("record_no").cast(pl.Int64), pl.int_range(pl.len()).alias("_n"))
        .sort("source", "file", "record_no", "_n")
        .group_by("source", "file", "record_no", maintain_order=True)
        .agg(pl.col("field").first(), pl.col("reason_code").first(), pl.col("message").first(),
             pl.col("reason_code").slice(1).alias("other_reasons"))
        .with_columns(pl.lit(run_id).alias("run_id"))
    )
    quarantine = validate(IngestQuarantine, quarantine, f"quarantine/{QUARANTINE_DATASET}", run_id)
    # Relatives of the staged e-Tax returns (the returns' own contract already passed).
    etax_staged = staged.get("etax_return", pl.DataFrame(schema={"doc_uid": pl.String})).select("doc_uid")
    dependants = outcome["dependants"].join(etax_staged, on="doc_uid", how="semi")
    dependants = validate(EtaxDependant, dependants, f"staging/{DEPENDANTS_DATASET}", run_id)
    documents_staged = pl.concat([f.select("doc_uid") for f in staged.values()] or [pl.DataFrame(schema={"doc_uid": pl.String})])
    relatives = outcome["relatives"].join(documents_staged, on="doc_uid", how="semi")
    relatives = validate(DocumentRelative, relatives, f"staging/{RELATIVES_DATASET}", run_id)
    warnings = _warnings(parsed, run_id)
    warnings = validate(IngestWarning, warnings, f"quarantine/{WARNINGS_DATASET}", run_id)
    return staged, forwarding, review, non_registered, quarantine, dependants, relatives, warnings


def _warnings(parsed, run_id: str, extra: list[pl.DataFrame] = ()) -> pl.DataFrame:
    """One row per emptied optional value of a record that was not quarantined (columns of the
    quarantine without ``other_reasons``; docs/returns-ingest.md). A warning never changes where its
    record went: it is not counted in received / staged / quarantined / forwarded."""
    from transforms.parse_csv import QUARANTINE_SCHEMA

    frames = [p["warnings"] for p in parsed.values() if p.get("warnings") is not None and p["warnings"].height]
    frames += [f for f in extra if f.height]
    warnings = pl.concat([pl.DataFrame(schema=QUARANTINE_SCHEMA), *[f.cast(QUARANTINE_SCHEMA) for f in frames]],
                         how="vertical")
    return warnings.with_columns(pl.lit(run_id).alias("run_id")).sort("source", "file", "record_no", "field")


def _count_relatives(report: RunReport, relatives: pl.DataFrame) -> None:
    """The 5人目以降 relatives are part of their document's record (not in received/staged)."""
    from contracts.returns_ingest import RELATIVE_MATCH_RULES

    report.set_count("document_relatives", relatives.height)
    rules = relatives.get_column("relative_match_rule")
    for rule in RELATIVE_MATCH_RULES:
        report.set_count(f"document_relatives_{rule}", int((rules == rule).sum()))


def _count_warnings(report: RunReport, warnings: pl.DataFrame) -> None:
    """``warnings`` and ``warnings_<reason_code>`` in the run report's counts (records are not recounted)."""
    report.set_count("warnings", warnings.height)
    report.set_count("warning_records", warnings.select("source", "file", "record_no").n_unique() if warnings.height else 0)
    for reason, count in warnings.group_by("reason_code").len().sort("reason_code").iter_rows():
        report.set_count(f"warnings_{reason}", count)


def _account(report: RunReport, to_read, received_by_file: dict[str, int], staged, forwarding, quarantine, review,
             non_registered, dependants: pl.DataFrame) -> None:
    """Per-file counts (received = staged + quarantined + forwarded), reasons and stage counts."""
    counted = [f.select("file").with_columns(pl.lit("staged").alias("where")) for f in staged.values()]
    counted.append(forwarding.select("file").with_columns(pl.lit("forwarded").alias("where")))
    counted.append(quarantine.select("file").with_columns(pl.lit("quarantined").alias("where")))
    per_file = pl.concat(counted, how="vertical").group_by("file", "where").len()
    by_file: dict[str, dict[str, int]] = {}
    for file, where, count in per_file.iter_rows():
        by_file.setdefault(file, {})[where] = count
    for item in to_read:
        got = by_file.get(item.file.path, {})
        staged_n, quarantined_n, forwarded_n = got.get("staged", 0), got.get("quarantined", 0), got.get("forwarded", 0)
        received = received_by_file[item.file.path]
        report.add_input(f"landing/{item.file.path}", sha256=item.file.sha256, bytes=item.file.size,
                         rows=received, source=item.file.source)
        report.add_input_counts(f"landing/{item.file.path}", received=received, staged=staged_n,
                                quarantined=quarantined_n, forwarded=forwarded_n, source=item.file.source)
    report.add_quarantine_reasons(dict(quarantine.group_by("reason_code").len().sort("reason_code").iter_rows()))
    for source, frame in staged.items():
        report.set_count(f"staged_{source}", frame.height)
        report.set_count(f"current_{source}", int(frame.get_column("is_current").sum()))
    report.set_count("review_queue_documents", review.get_column("doc_uid").n_unique())
    report.set_count("non_registered_candidates", non_registered.height)
    # e-Tax relatives are part of their return's record (not in received/staged): counted on their own.
    from contracts.returns_ingest import RELATIVE_MATCH_RULES

    report.set_count("etax_dependants", dependants.height)
    rules = dependants.get_column("relative_match_rule")
    for rule in RELATIVE_MATCH_RULES:
        report.set_count(f"etax_dependants_{rule}", int((rules == rule).sum()))
    report.set_count("forwarded_destination_unknown", int(forwarding.get_column("destination_municipality_code").is_null().sum()))
    from contracts.returns_ingest import DESTINATION_BASES

    bases = forwarding.get_column("destination_basis")
    for basis in DESTINATION_BASES:
        report.set_count(f"forwarded_destination_{basis}", int((bases == basis).sum()))
    decisions = pl.concat([f.select("match_decision") for f in staged.values()])
    for decision, count in decisions.group_by("match_decision").len().iter_rows():
        report.set_count(f"match_{decision}", count)


def count_records(data: bytes, source: str) -> int:
    """Records received in one file, counted from its bytes independently of the parsers: one per XML
    file, one per line of a CSV (the layouts allow no line break inside a field)."""
    if source == "etax_return":
        return 1
    lines = data.split(b"\n")
    if lines and lines[-1] in (b"", b"\r"):
        lines.pop()
    return len(lines)
