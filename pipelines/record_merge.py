"""Stage `record_merge` (資料併合): one taxation basis per person resident on 1 January and 年度.

Reads the resident snapshot and the staged documents of one municipality and fiscal year, merges
them with :func:`transforms.record_merge.merge_records` (precedence, sums, 訂正/取消, one-stop voiding,
relatives resolved to 宛名番号; an e-Tax filer's relatives come from ``staging/etax_dependants``, the 5th
and further dependants of 給与支払報告書 / 住民税申告書 from ``staging/document_relatives``) and
writes six curated partitions atomically:

* ``curated/taxation_basis``            one row per resident on 1 January (contracts.taxation_basis)
* ``curated/taxation_basis_relatives``  spouse and dependants named by each taxpayer
* ``curated/basis_lineage``             every document version considered and how it was used
* ``curated/merge_flags``               issues for operators (扶養重複, 扶養否認 候補, review pending …)
* ``curated/non_filers``                未申告調査: residents on 1 January without any document
* ``curated/review_outcomes``           what this run did with the operators' latest decisions

Operators' decisions (``curated/review_decisions``, written by ``juminzei review decide``, see
:mod:`pipelines.review`) are read when the partition exists and applied by the merge: a queued
document decided ``person`` is merged into that person's basis, 扶養 decisions change the relatives.
A decision whose item is gone (stale) is counted and named in the run report, never an error.

Reconciliation (run report): per staged dataset, every usable document version read
(``received``) ends in exactly one lineage ``use`` (``staged``); the residents on 1 January
(``received``) each have exactly one basis row. Rules: docs/record-merge.md.
"""

from __future__ import annotations

import logging

import polars as pl

from contracts.errors import ConfigError
from pipelines.config import Settings
from pipelines.progress import advance, step
from pipelines.reports import RunReport
from pipelines.stage import execute, require_reconciled, validate

log = logging.getLogger("juminzei.record_merge")

STAGE = "record_merge"
#: staged datasets read (the DAG schedules on their Assets)
DOCUMENT_DATASETS = {
    "salary_report": "salary_reports",
    "pension_report": "pension_reports",
    "etax_return": "etax_returns",
    "resident_return": "resident_returns",
    "furusato_notice": "furusato_notices",
}
REGISTRY_DATASETS = ("residents", "disability_status", "welfare_status")
#: 配偶者・扶養親族 listed by the e-Tax returns (returns_ingest). Optional: a lake staged before the
#: dataset existed has none, and its e-Tax filers keep unnamed relatives (flag dependants_not_itemised).
ETAX_DEPENDANTS = "etax_dependants"
#: 5人目以降の扶養親族 of the 給与支払報告書 and 住民税申告書 (returns_ingest). Optional in the same way:
#: a lake staged before the dataset existed counts only the first four dependants of those documents.
DOCUMENT_RELATIVES = "document_relatives"
OPTIONAL_DATASETS = (ETAX_DEPENDANTS, DOCUMENT_RELATIVES)
INPUT_DATASETS = (*DOCUMENT_DATASETS.values(), *REGISTRY_DATASETS, "review_queue", *OPTIONAL_DATASETS)
#: the steps of a run, as its progress shows them (pipelines.progress)
STEPS = ("reading the staged documents", "merging the documents per person", "checking the contracts",
         "writing the validation report", "writing the curated datasets")
OUTPUT_DATASETS = ("taxation_basis", "taxation_basis_relatives", "basis_lineage", "merge_flags", "non_filers",
                   "review_outcomes")
#: curated/review_decisions (optional: absent until an operator decides something)
DECISIONS_DATASET = "review_decisions"


def run(
    *,
    fiscal_year: int,
    municipality: str = "131032",
    settings: Settings | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
) -> dict:
    """Merge the staged documents of one municipality and fiscal year; return the run report."""

    def body(settings: Settings, report: RunReport) -> None:
        _run(settings, municipality, fiscal_year, report, dry_run)

    return execute(STAGE, body, fiscal_year=fiscal_year, municipality=municipality, settings=settings,
                   run_id=run_id, dry_run=dry_run, log=log, steps=STEPS)


def dependant_income_limit(fiscal_year: int) -> int:
    """合計所得金額 limit of a 扶養親族 for the year, from ``rules/`` (never a constant in code)."""
    from transforms.tax_rules import RuleError, load_rules

    try:
        return int(load_rules(fiscal_year).amount("dependants.income_limit"))
    except RuleError as error:  # its sentence names the file and key, never personal data
        raise ConfigError(f"{error}. Fix or add the rule file and rerun.") from None
    except Exception as error:  # a missing or unreadable rules file is an operator's configuration problem
        raise ConfigError(
            f"The tax rules for fiscal year {fiscal_year} could not be read (dependants.income_limit in "
            f"rules/fiscal_year_{fiscal_year}.yaml): {type(error).__name__}. Fix or add that file and rerun."
        ) from None


def _run(settings: Settings, municipality: str, fiscal_year: int, report: RunReport, dry_run: bool) -> None:
    from contracts.record_merge import BasisLineage, MergeFlag, NonFiler
    from contracts.review import ReviewOutcome
    from contracts.taxation_basis import BasisRelative, TaxationBasis
    from pipelines.lake import partition_exists, read_partition, write_partition
    from pipelines.review import read_decisions
    from transforms.record_merge import decided_documents, merge_records, usable, with_review_decisions
    from transforms.review import latest_decisions

    for dataset in (*REGISTRY_DATASETS, *DOCUMENT_DATASETS.values(), "review_queue"):
        if not partition_exists(settings.lake, "staging", dataset, municipality, fiscal_year):
            first = "resident_snapshot" if dataset in REGISTRY_DATASETS else "returns_ingest"
            raise ConfigError(
                f"staging/{dataset} for {municipality}/{fiscal_year} does not exist: run {first} for that "
                "fiscal year first (資料併合 needs the 1 January residents and the staged documents)."
            )
    step(STEPS[0])
    limit = dependant_income_limit(fiscal_year)
    frames = {d: read_partition(settings.lake, "staging", d, municipality, fiscal_year) for d in INPUT_DATASETS
              if d not in OPTIONAL_DATASETS or partition_exists(settings.lake, "staging", d, municipality, fiscal_year)}
    if ETAX_DEPENDANTS not in frames:
        report.message(f"staging/{ETAX_DEPENDANTS} does not exist for {municipality}/{fiscal_year} (staged by an "
                       "older returns_ingest): e-Tax filers get no itemised spouse/dependants; rerun returns_ingest.")
    if DOCUMENT_RELATIVES not in frames:
        report.message(f"staging/{DOCUMENT_RELATIVES} does not exist for {municipality}/{fiscal_year} (staged by an "
                       "older returns_ingest): the 5th and further dependants of 給与支払報告書 and 住民税申告書 are not "
                       "counted; rerun returns_ingest.")
    decisions = read_decisions(settings, municipality, fiscal_year)
    step(STEPS[1])
    result = merge_records(
        fiscal_year=fiscal_year,
        residents=frames["residents"], disability_status=frames["disability_status"],
        welfare_status=frames["welfare_status"], review_queue=frames["review_queue"],
        dependant_income_limit=limit, etax_dependants=frames.get(ETAX_DEPENDANTS), review_decisions=decisions,
        document_relatives=frames.get(DOCUMENT_RELATIVES),
        **{name: frames[name] for name in DOCUMENT_DATASETS.values()},
    )
    step(STEPS[2])
    basis = validate(TaxationBasis, result.basis, "curated/taxation_basis", report.run_id)
    relatives = validate(BasisRelative, result.relatives, "curated/taxation_basis_relatives", report.run_id)
    lineage = validate(BasisLineage, result.lineage, "curated/basis_lineage", report.run_id)
    flags = validate(MergeFlag, result.flags, "curated/merge_flags", report.run_id)
    non_filers = validate(NonFiler, result.non_filers, "curated/non_filers", report.run_id)
    outcomes = validate(ReviewOutcome, result.review_outcomes, "curated/review_outcomes", report.run_id)
    _account_decisions(report, decisions, outcomes, latest_decisions(decisions).height)

    # --- reconciliation: every usable document version → exactly one lineage use; residents → basis rows
    # (usable: auto-matched, or tied to a resident by an operator's decision on the review queue)
    residents_now = frames["residents"].filter(pl.col("resident_on_assessment_date").fill_null(False))
    decided = decided_documents(latest_decisions(decisions), frames["review_queue"], residents_now.get_column("atena_no"))
    uses = lineage.group_by("source").len()
    used_by_source = dict(uses.iter_rows())
    for source, dataset in DOCUMENT_DATASETS.items():
        received = usable(with_review_decisions(frames[dataset].lazy(), decided)).select(pl.len()).collect().item()
        report.add_input_counts(f"staging/{dataset}", received=received, staged=used_by_source.get(source, 0),
                                quarantined=0, forwarded=0, source=source)
    residents_on_jan1 = int(frames["residents"].get_column("resident_on_assessment_date").fill_null(False).sum())
    report.add_input_counts("staging/residents", received=residents_on_jan1, staged=basis.height, quarantined=0,
                            forwarded=0, source="residents")
    duplicates = lineage.select("doc_uid", "version").is_duplicated().sum()
    report.add_check("lineage_one_use_per_document_version", duplicates == 0, expected=0, actual=int(duplicates),
                     detail="every document version ends in exactly one lineage use")
    report.add_check("basis_rows_equal_residents_on_1_january", basis.height == residents_on_jan1,
                     expected=residents_on_jan1, actual=basis.height,
                     detail="one taxation basis per resident on 1 January (賦課期日)")
    orphans = relatives.join(basis.select("person_id"), on="person_id", how="anti").height
    report.add_check("relatives_belong_to_a_basis", orphans == 0, expected=0, actual=orphans,
                     detail="every spouse/dependant row names a taxpayer with a basis")
    for name, value in result.counts.items():
        report.set_count(name, value)
    for use, count in lineage.group_by("use").len().sort("use").iter_rows():
        report.set_count(f"lineage_{use}", count)
    for flag, count in flags.group_by("flag").len().sort("flag").iter_rows():
        report.set_count(f"flag_{flag}", count)
    salary_persons, salary_used = _salary_used(lineage, frames["salary_reports"])
    require_reconciled(report)

    step(STEPS[3])
    _document_validation(settings, municipality, fiscal_year, report, basis, relatives, residents_on_jan1,
                         salary_persons, salary_used)
    if dry_run:
        report.message("Dry run: nothing was written to curated.")
        return
    outputs = {
        "taxation_basis": (basis, ["person_id"]),
        "taxation_basis_relatives": (relatives, ["person_id", "role", "seq"]),
        "basis_lineage": (lineage, ["person_id", "doc_uid", "version"]),
        "merge_flags": (flags, ["flag", "person_id", "related"]),
        "non_filers": (non_filers, ["atena_no"]),
        "review_outcomes": (outcomes, ["item_kind", "item_key"]),
    }
    step(STEPS[4], total=len(outputs), unit="partitions")
    for dataset, (frame, key) in outputs.items():
        advance()
        report.add_output(write_partition(settings.lake, "curated", dataset, municipality, fiscal_year, frame,
                                          sort_by=key, run_id=report.run_id))


def _account_decisions(report: RunReport, decisions: pl.DataFrame, outcomes: pl.DataFrame, latest: int) -> None:
    """Counts of the operators' decisions and one message per stale decision (ids only, no personal data)."""
    report.set_count("review_decisions_recorded", decisions.height)
    report.set_count("review_decisions_superseded", decisions.height - latest)
    stale = outcomes.filter(pl.col("outcome") == "stale")
    report.set_count("review_decisions_applied", outcomes.height - stale.height
                     - int((outcomes.get_column("outcome") == "pending").sum()))
    report.set_count("review_decisions_pending", int((outcomes.get_column("outcome") == "pending").sum()))
    report.set_count("review_decisions_stale", stale.height)
    report.add_check("review_decisions_all_judged", outcomes.height == latest, expected=latest, actual=outcomes.height,
                     detail="the latest decision of every item is applied, pending or reported stale")
    from transforms.review import item_id

    for decision_id, kind, key, detail in stale.select("decision_id", "item_kind", "item_key", "detail").iter_rows():
        report.message(f"Decision {decision_id} on item {item_id(kind, key)} is stale and was not applied: {detail}.")


def _salary_used(lineage: pl.DataFrame, salary: pl.DataFrame) -> tuple[pl.Series, int]:
    """Persons whose salary came from 給与支払報告書 (lineage: summed/added with salary_revenue) and
    the sum of the 支払金額 of those reports, read again from staging."""
    used = lineage.filter(
        (pl.col("source") == "salary_report") & pl.col("use").is_in(["summed", "added"])
        & pl.col("fields").list.contains("salary_revenue")
    ).select("person_id", "doc_uid")
    current = salary.filter(pl.col("is_current")).select("doc_uid", pl.col("payment_amount_yen").fill_null(0))
    total = int(used.join(current, on="doc_uid", how="inner").get_column("payment_amount_yen").sum())
    return used.get_column("person_id").unique(), total


def _document_validation(settings: Settings, municipality: str, fiscal_year: int, report: RunReport,
                         basis: pl.DataFrame, relatives: pl.DataFrame, residents_on_jan1: int, salary_persons: pl.Series,
                         salary_used: int) -> None:
    """Great Expectations report (Data Docs) on the outputs; the gates are the Pandera contracts."""
    from contracts.taxation_basis import PERSON_AMOUNTS
    from pipelines.validation_docs import document_validation

    # Totals: the salary of the reports used must reappear in the basis of the persons they were used
    # for (returns state their own salary, so their persons are not in this table).
    from_reports = basis.filter(pl.col("person_id").is_in(salary_persons.implode()))
    tables = {
        "taxation_basis": basis.drop("housing_moved_in"),
        "salary_from_reports": from_reports.select("person_id", "salary_revenue", "basis_source"),
        "taxation_basis_relatives": relatives.with_columns(
            pl.col("person_id").is_in(basis.get_column("person_id").implode()).alias("taxpayer_has_basis")),
    }
    expectations = {
        "taxation_basis": [
            {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "person_id"},
             "meaning": "one taxation basis per person (宛名番号)"},
            {"type": "expect_table_row_count_to_equal", "kwargs": {"value": residents_on_jan1},
             "meaning": "one basis row per resident on 1 January (賦課期日) of the resident snapshot"},
            *[{"type": "expect_column_values_to_be_between", "kwargs": {"column": c, "min_value": 0, "max_value": 10**12},
               "meaning": f"{c} is a plausible amount of yen (0 to 1兆)"} for c in PERSON_AMOUNTS],
        ],
        "salary_from_reports": [
            {"type": "expect_column_sum_to_be_between",
             "kwargs": {"column": "salary_revenue", "min_value": salary_used, "max_value": salary_used},
             "meaning": "salary from 給与支払報告書 in the basis equals the sum of the report amounts used "
                        "(reconciles with returns_ingest's staged reports)"},
        ],
        "taxation_basis_relatives": [
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "taxpayer_has_basis", "value_set": [True]},
             "meaning": "every spouse/dependant belongs to a taxpayer with a basis"},
        ],
    }
    document_validation(stage=STAGE, municipality=municipality, fiscal_year=fiscal_year, run_id=report.run_id,
                        settings=settings, tables=tables, expectations=expectations, report=report)
