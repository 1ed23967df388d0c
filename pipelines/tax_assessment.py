"""Stage `tax_assessment` (税額計算 / 当初賦課): the tax of every person of the taxation basis.

Reads ``curated/taxation_basis`` and ``curated/taxation_basis_relatives`` (written by
``record_merge``), attaches the municipality's profile (``rules/profiles/``), runs the engine of
:mod:`transforms.tax_engine` with the rules of the fiscal year (``rules/fiscal_year_N.yaml``) in one
vectorised pass, gates the result with :class:`contracts.tax_assessment.TaxAssessment` and writes
``curated/tax_assessment`` (the figures and every intermediate of the computation sheet, so that
``juminzei explain`` and the notices print the stored figures, never a recomputation).

Counts: received = persons in the basis; staged = persons assessed; nothing is quarantined (a person
the engine cannot compute stops the run with an operator sentence instead). The report also carries
the totals per levy and the number of persons per exemption, and a Great Expectations validation
report (Data Docs) reconciling the counts and income totals with the basis.
"""

from __future__ import annotations

import logging

import polars as pl

from contracts.errors import ConfigError
from pipelines.config import Settings
from pipelines.lake import partition_exists, read_partition, write_partition
from pipelines.progress import step
from pipelines.reports import RunReport
from pipelines.stage import execute, require_reconciled, validate

log = logging.getLogger("juminzei.tax_assessment")

STAGE = "tax_assessment"
OUTPUT = "tax_assessment"
BASIS = "taxation_basis"
RELATIVES = "taxation_basis_relatives"


#: the steps of a run, as its progress shows them (pipelines.progress)
STEPS = ("reading the taxation basis", "computing the tax", "checking the contracts and the validation report",
         "writing the assessment")


def run(
    *,
    fiscal_year: int,
    municipality: str = "131032",
    settings: Settings | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
) -> dict:
    """Assess every person of the basis for one municipality and fiscal year; return the run report."""

    def body(settings: Settings, report: RunReport) -> None:
        _run(settings, municipality, fiscal_year, report.run_id, dry_run, report)

    return execute(STAGE, body, fiscal_year=fiscal_year, municipality=municipality, settings=settings,
                   run_id=run_id, dry_run=dry_run, log=log, steps=STEPS)


def engine_inputs(basis: pl.DataFrame, relatives: pl.DataFrame, municipality: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The engine's two frames from the curated basis: its columns plus the municipality's profile."""
    from contracts.taxation_basis import person_schema, relative_schema
    from transforms.tax_engine import profile_columns
    from transforms.tax_rules import RuleError, load_municipality_profile

    try:
        profile = load_municipality_profile(municipality)
    except RuleError as error:
        raise ConfigError(str(error)) from None
    columns = profile_columns(profile)
    persons = basis.select(list(person_schema())).with_columns(
        [pl.lit(value, pl.Int64).alias(name) for name, value in columns.items()]
    )
    return persons, relatives.select(list(relative_schema()))


def assess(basis: pl.DataFrame, relatives: pl.DataFrame, *, municipality: str, fiscal_year: int) -> pl.DataFrame:
    """Pure: the assessment frame of one municipality and fiscal year (sorted by person_id)."""
    from transforms.tax_engine import compute
    from transforms.tax_rules import RuleError, load_rules

    wrong_year = basis.filter(pl.col("fiscal_year") != fiscal_year).height
    if wrong_year:
        raise ConfigError(f"{wrong_year} rows of the taxation basis are not of fiscal year {fiscal_year}")
    try:
        load_rules(fiscal_year)
    except RuleError as error:
        raise ConfigError(str(error)) from None
    persons, relative_frame = engine_inputs(basis, relatives, municipality)
    return compute(persons, relative_frame)


def _run(settings: Settings, municipality: str, fiscal_year: int, run_id: str, dry_run: bool, report: RunReport) -> None:
    from contracts.tax_assessment import TaxAssessment
    from contracts.taxation_basis import BasisRelative, TaxationBasis

    lake = settings.lake
    for dataset in (BASIS, RELATIVES):
        if not partition_exists(lake, "curated", dataset, municipality, fiscal_year):
            raise ConfigError(
                f"curated/{dataset} for {municipality}/{fiscal_year} does not exist: run record_merge for this "
                "municipality and fiscal year first"
            )
    step(STEPS[0])
    basis = validate(TaxationBasis, read_partition(lake, "curated", BASIS, municipality, fiscal_year),
                     f"curated/{BASIS}", run_id)
    relatives = validate(BasisRelative, read_partition(lake, "curated", RELATIVES, municipality, fiscal_year),
                         f"curated/{RELATIVES}", run_id)

    step(STEPS[1])
    assessment = assess(basis, relatives, municipality=municipality, fiscal_year=fiscal_year)
    step(STEPS[2])
    assessment = validate(TaxAssessment, assessment, f"curated/{OUTPUT}", run_id)

    report.add_input_counts(f"curated/{BASIS}", received=basis.height, staged=assessment.height, quarantined=0,
                            source=BASIS)
    _account(report, basis, assessment)
    _validation_report(settings, report, municipality, fiscal_year, run_id, basis, assessment)
    require_reconciled(report)
    if dry_run:
        report.message("Dry run: the assessment was computed and checked; nothing was written to the lake (the validation report was).")
        return
    step(STEPS[3])
    written = write_partition(lake, "curated", OUTPUT, municipality, fiscal_year, assessment,
                              sort_by=["person_id"], run_id=run_id)
    report.add_output(written)
    if written.unchanged:
        report.message("Inputs and rules unchanged since the last run: the assessment partition was left as it was.")


def _account(report: RunReport, basis: pl.DataFrame, assessment: pl.DataFrame) -> None:
    exemptions = assessment.group_by("exemption").len()
    for exemption, count in exemptions.iter_rows():
        report.set_count(f"persons_{exemption}", count)
    totals = assessment.select(
        pl.col("income_levy_municipal").sum(), pl.col("income_levy_prefectural").sum(),
        pl.col("per_capita_levy_municipal").sum(), pl.col("per_capita_levy_prefectural").sum(),
        pl.col("forest_environment_tax").sum(), pl.col("total_tax").sum(),
    ).row(0, named=True)
    for name, value in totals.items():
        report.set_count(f"sum_{name}", int(value or 0))
    report.add_check("one assessment per person of the basis",
                     assessment.height == basis.height and assessment["person_id"].n_unique() == basis.height,
                     expected=basis.height, actual=assessment.height)
    sum_parts = sum(int(totals[k] or 0) for k in totals if k != "total_tax")
    report.add_check("total tax = sum of levies", sum_parts == int(totals["total_tax"] or 0),
                     expected=sum_parts, actual=int(totals["total_tax"] or 0))
    basis_salary = int(basis["salary_revenue"].sum() or 0)
    assessed_salary = int(assessment["salary_revenue"].sum() or 0)
    report.add_check("salary revenue total = basis total", basis_salary == assessed_salary,
                     expected=basis_salary, actual=assessed_salary)


def _validation_report(settings: Settings, report: RunReport, municipality: str, fiscal_year: int, run_id: str,
                       basis: pl.DataFrame, assessment: pl.DataFrame) -> None:
    """Great Expectations Data Docs (the readable report; the Pandera gate above decides)."""
    from pipelines.validation_docs import document_validation

    money_max = 10**12
    totals = {name: int(basis[name].sum() or 0) for name in ("salary_revenue", "public_pension_revenue", "business_income")}
    expectations = [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "person_id"},
         "meaning": "one assessment per person (宛名番号)"},
        {"type": "expect_table_row_count_to_equal", "kwargs": {"value": basis.height},
         "meaning": "every person of the taxation basis (record_merge) is assessed"},
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "exemption", "value_set": ["none", "income_levy_exempt", "fully_exempt"]},
         "meaning": "非課税 decision is one of: 課税, 所得割のみ非課税, 非課税"},
    ]
    for name, total in totals.items():
        expectations.append({"type": "expect_column_sum_to_be_between",
                             "kwargs": {"column": name, "min_value": total, "max_value": total},
                             "meaning": f"{name} total equals the taxation basis total (counts and totals reconcile)"})
    for name in ("taxable_income", "income_levy_municipal", "income_levy_prefectural", "total_tax"):
        expectations.append({"type": "expect_column_values_to_be_between",
                             "kwargs": {"column": name, "min_value": 0, "max_value": money_max},
                             "meaning": f"{name} is a non-negative amount of yen"})
    expectations.append({"type": "expect_column_values_to_be_between",
                         "kwargs": {"column": "per_capita_levy_municipal", "min_value": 0, "max_value": 10_000},
                         "meaning": "均等割 is 0 (exempt) or the municipality's amount"})
    columns = ["person_id", "exemption", "taxable_income", "income_levy_municipal", "income_levy_prefectural",
               "total_tax", "per_capita_levy_municipal", *totals]
    document_validation(stage=STAGE, municipality=municipality, fiscal_year=fiscal_year, run_id=run_id,
                        settings=settings, tables={OUTPUT: assessment.select(columns)},
                        expectations={OUTPUT: expectations}, report=report)


def load_assessment_row(settings: Settings, municipality: str, fiscal_year: int, atena_no: str) -> dict:
    """The stored assessment of one person (for `juminzei explain`); ConfigError if absent."""
    from pipelines.lake import partition_path

    path = partition_path(settings.lake, "curated", OUTPUT, municipality, fiscal_year)
    if not partition_exists(settings.lake, "curated", OUTPUT, municipality, fiscal_year):
        raise ConfigError(f"there is no assessment for {municipality}/{fiscal_year} ({path}); run tax_assessment first")
    frame = read_partition(settings.lake, "curated", OUTPUT, municipality, fiscal_year)
    rows = frame.filter(pl.col("person_id") == atena_no)
    if rows.height == 0:
        raise ConfigError(f"宛名番号 {atena_no} has no assessment in {municipality}/{fiscal_year}")
    return rows.row(0, named=True)
