"""Shared machinery of the document writers: run context, person-level facts, truth rows, duplicates.

Used by :mod:`sample_ward.documents` (the public entry point) and the per-format writers
(:mod:`~sample_ward.wire_sources`, :mod:`~sample_ward.wire_etax`)."""

from __future__ import annotations

import datetime as dt
import os
import queue
import shutil
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from sample_ward import defects as D
from sample_ward import wire_amounts as A
from sample_ward import wire_text as T
from sample_ward.model import Population

DOCUMENT_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "file": pl.String(),  # relative to landing/
    "record_no": pl.Int64(),  # 1-based line number; 1 for XML
    "doc_key": pl.String(),
    "person_id": pl.Int64(),
    "true_atena_no": pl.String(),
    "expected_route": pl.String(),
    "destination_municipality_code": pl.String(),
    "submission_type": pl.String(),  # 新規 / 追加 / 訂正 / 取消
    "received_date": pl.Date(),
    "defect": pl.String(),
}
DEFECT_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "file": pl.String(),
    "record_no": pl.Int64(),
    "field": pl.String(),
    "category": pl.String(),
    "description": pl.String(),
}

IN_SCOPE = ("resident", "moved_out", "not_registered")
"""Registry statuses whose every document reaches the ward (returns, notices and reports)."""
ROUTE_OF_STATUS = {
    "resident": D.ROUTE_STAGE,
    "moved_out": D.ROUTE_FORWARD,
    "not_registered": D.ROUTE_NON_REGISTERED,
    "deceased": D.ROUTE_STAGE,  # reports only: matched to the 宛名, then not taxed (no 1 January residence)
    "outsider": D.ROUTE_FORWARD,  # misdirected salary reports only, forwarded to the 1 January municipality
}

# Planting rates (share of eligible records); every applicable category gets at least one record.
MALFORMED_RATE = 0.0005  # per malformed category (≈0.5% of the records over the ten CSV categories)
RATES: dict[str, float] = {
    D.MY_NUMBER_MISSING: 0.015,
    D.MY_NUMBER_OF_OTHER_PERSON: 0.001,
    D.KANA_VARIANT: 0.02,
    D.KANJI_VARIANT: 0.04,  # of the records whose name has a character with a variant
    D.FULLWIDTH_DIGITS: 0.003,
}
ADDITIONAL_RATE = 0.01  # 追加: employee missing from the first file, sent later
CORRECTION_RATE = 0.005  # 訂正
CANCELLATION_RATE = 0.002  # 取消 of a record sent in error
DUPLICATE_FILE_RATE = 0.004  # files delivered twice


@dataclass
class Ctx:
    """One run: population, output folder, seed, and the truth rows collected so far."""

    pop: Population
    landing: Path
    seed: int
    fiscal_year: int = 0
    income_year: int = 0
    municipality: str = ""
    classes: T.CharClasses | None = None
    writer: FileWriter | None = None
    encode_fallbacks: int = 0  # files that needed the per-character CP932 fallback (a bug if > 0)
    documents: list[pl.DataFrame] = field(default_factory=list)
    defects: list[pl.DataFrame] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fiscal_year = self.pop.fiscal_year
        self.income_year = self.pop.fiscal_year - 1
        self.municipality = self.pop.municipality_code

    @property
    def reiwa_income_year(self) -> int:
        return self.income_year - 2018

    @property
    def municipality5(self) -> str:
        return self.municipality[:5]

    def rng(self, stream: str) -> np.random.Generator:
        """A generator for one purpose: the same (seed, stream) always gives the same draws."""
        return np.random.default_rng([self.seed & 0xFFFFFFFF, (self.seed >> 32) & 0xFFFFFFFF, zlib.crc32(stream.encode())])

    def partition(self, source: str) -> str:
        return f"{source}/municipality={self.municipality}/fiscal_year={self.fiscal_year}"

    def day(self, month: int, day: int) -> dt.date:
        return dt.date(self.fiscal_year, month, day)


def random_dates(rng: np.random.Generator, n: int, windows: list[tuple[dt.date, dt.date, float]]) -> np.ndarray:
    """``n`` dates (datetime64[D]) drawn from weighted inclusive windows."""
    weights = np.array([w for *_, w in windows], dtype=float)
    which = rng.choice(len(windows), size=n, p=weights / weights.sum())
    starts = np.array([np.datetime64(a) for a, _, _ in windows])
    spans = np.array([(b - a).days + 1 for a, b, _ in windows])
    offsets = (rng.random(n) * spans[which]).astype(np.int64)
    return starts[which] + offsets


def count(rate: float, n_eligible: int) -> int:
    """Records to plant: ``rate`` of the eligible ones, at least one when any is eligible."""
    if n_eligible <= 0:
        return 0
    return int(min(n_eligible, max(1, round(rate * n_eligible))))


def choose_rows(rng: np.random.Generator, eligible: np.ndarray, plan: list[tuple[str, np.ndarray | None, int]]) -> list[str | None]:
    """Disjoint random rows per category. ``plan``: (category, extra eligibility mask or None, count)."""
    chosen = np.full(len(eligible), None, dtype=object)
    free = eligible.copy()
    for category, extra, k in plan:
        candidates = np.flatnonzero(free & (extra if extra is not None else True))
        k = min(k, len(candidates))
        if k <= 0:
            continue
        picks = rng.choice(candidates, size=k, replace=False)
        chosen[picks] = category
        free[picks] = False
    return chosen.tolist()


# ----------------------------------------------------------------------------------------------------
# Person-level facts shared by all documents
PEOPLE_COLUMNS = (
    "person_id", "atena_no", "relationship", "birth_date", "sex", "resident_type", "my_number", "registry_status",
    "ward_postal_code", "ward_address", "ward_address_detail", "jan1_municipality_code", "jan1_address", "jan1_postal_code",
    "special_disability", "widow", "single_parent", "working_student", "income_profile", "business_revenue",
    "business_income", "real_estate_income", "dividend_income", "misc_income", "occasional_income", "social_insurance_paid",
    "small_enterprise_mutual_aid", "life_insurance_new_general", "life_insurance_old_general", "life_insurance_new_pension",
    "life_insurance_old_pension", "life_insurance_care_medical", "earthquake_insurance", "medical_expenses",
    "files_final_return", "files_resident_return",
)


DOC_ADDRESS = (
    pl.when(pl.col("ward_address_detail").is_not_null())
    .then(pl.concat_str(["ward_address", pl.lit("\u3000"), "ward_address_detail"]))
    .otherwise(pl.coalesce("ward_address", "jan1_address"))
)
"""住所 as employers, payers and municipalities write it: the ward address and 方書 (the old address for
people who moved out; the real address elsewhere for misdirected reports of outsiders)."""


def attach(frame: pl.DataFrame, right: pl.DataFrame, *, left_on: str, right_on: str) -> pl.DataFrame:
    """Left-join ``right`` (unique on ``right_on``) onto ``frame`` without copying ``frame``'s columns:
    the join runs on the key column alone and the matched columns are stacked on, in frame order."""
    keys = frame.select(pl.col(left_on).alias("__key"))
    aligned = keys.join(right.rename({right_on: "__key"}), on="__key", how="left", validate="m:1", maintain_order="left")
    return frame.hstack(aligned.drop("__key"))


def people_facts(ctx: Ctx) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(people, dependants): one row per person (in ``person_id`` order) with document identity, route,
    ``doc_scope`` and the income-tax amounts written on the documents; and the taxpayer-dependant pairs
    with the dependants' facts. ``jan1_address``/``jan1_postal_code`` are kept only for people whose
    documents name another 1 January municipality (moved out, misdirected outsiders)."""
    pop = ctx.pop
    iy = ctx.income_year
    jobs = pop.employments.group_by("person_id").agg(
        pl.col("salary_revenue").sum().alias("salary_revenue_total"),
        pl.col("social_insurance").sum().alias("salary_social_insurance"),
        pl.col("withholding_tax").sum().alias("salary_withholding"),
    )
    pens = pop.pensions.group_by("person_id").agg(
        pl.col("pension_revenue").sum().alias("pension_revenue_total"),
        pl.col("social_insurance").sum().alias("pension_social_insurance"),
        pl.col("withholding_tax").sum().alias("pension_withholding"),
    )
    gifts = pop.donations.group_by("person_id").agg(pl.col("amount").sum().alias("donation_total"), pl.len().alias("donation_count"))
    birth = pl.col("birth_date")
    # age on 31 December of the income year (one is a year older on the day before the birthday)
    age = (pl.lit(iy) - birth.dt.year() + ((birth.dt.month() == 1) & (birth.dt.day() == 1)).cast(pl.Int32)).cast(pl.Int32)
    # Outsiders whose employer reports them to the ward although they lived elsewhere on 1 January: people
    # with a salary who are nobody's dependant or spouse in the ward (population.py LINK_MISDIRECTED).
    claimed = pl.concat([pop.dependants.get_column("dependant_person_id"), pop.persons.get_column("spouse_person_id").drop_nulls()])
    misdirected = (
        (pl.col("registry_status") == "outsider")
        & pl.col("person_id").is_in(pop.employments.get_column("person_id").implode())
        & ~pl.col("person_id").is_in(claimed.implode())
    )
    moved = (pl.col("registry_status") == "moved_out") | misdirected
    persons = pop.persons if pop.persons.get_column("person_id").is_sorted() else pop.persons.sort("person_id")
    people = persons.select(
        *[c for c in PEOPLE_COLUMNS if c not in ("jan1_address", "jan1_postal_code")],
        pl.when(moved).then(pl.col("jan1_address")).alias("jan1_address"),
        pl.when(moved).then(pl.col("jan1_postal_code")).alias("jan1_postal_code"),
        pl.concat_str(["family_name_kanji", pl.lit("\u3000"), "given_name_kanji"]).alias("name_kanji"),
        pl.concat_str(["family_name_kana", pl.lit("\u3000"), "given_name_kana"]).alias("name_kana_fw"),
        (pl.col("disability_certificate").is_not_null() & ~pl.col("special_disability")).alias("disabled"),
        age.alias("age"),
        # a 住登外者 the ward confirmed is in its 宛名 (住登外者 登録ファイル): the documents match and are staged
        pl.when((pl.col("registry_status") == "not_registered") & pl.col("atena_no").is_not_null())
        .then(pl.lit(D.ROUTE_STAGE))
        .otherwise(pl.col("registry_status").replace_strict(ROUTE_OF_STATUS, default=None)).alias("route"),
        # which documents reach the ward: "all", "reports" (salary/pension reports only) or null
        pl.when(pl.col("registry_status").is_in(IN_SCOPE)).then(pl.lit("all"))
        .when((pl.col("registry_status") == "deceased") | misdirected).then(pl.lit("reports"))
        .alias("doc_scope"),
        pl.when(moved).then(pl.col("jan1_municipality_code")).otherwise(None).alias("destination_code"),
    )
    for right in (jobs, pens, gifts):
        people = attach(people, right, left_on="person_id", right_on="person_id")
    hw = T.halfwidth_kana_map(people.get_column("name_kana_fw").unique().to_list())
    occasional_half = pl.max_horizontal(pl.col("occasional_income"), pl.lit(0)) // 2
    people = people.with_columns(
        pl.col(
            "salary_revenue_total", "salary_social_insurance", "salary_withholding", "pension_revenue_total",
            "pension_social_insurance", "pension_withholding", "donation_total",
        ).fill_null(0),
        pl.col("donation_count").fill_null(0).cast(pl.Int64),
        pl.col("name_kana_fw").replace_strict(hw, default=None, return_dtype=pl.String).alias("name_kana_hw"),
        A.salary_income(pl.col("salary_revenue_total"), iy).alias("salary_income_gross"),
        occasional_half.alias("occasional_half"),
    )
    people = people.with_columns(
        (
            pl.col("salary_income_gross") + pl.col("business_income") + pl.col("real_estate_income") + pl.col("dividend_income")
            + pl.col("misc_income") + pl.col("occasional_half")
        ).alias("non_pension_income"),
    )
    people = people.with_columns(
        A.pension_income(pl.col("pension_revenue_total"), pl.col("age") >= 65, pl.col("non_pension_income")).alias("pension_income"),
    )
    facts = people.select(
        pl.col("person_id").alias("dependant_person_id"), "age", "name_kanji", "name_kana_hw", "name_kana_fw", "my_number",
        "birth_date", "special_disability", "disabled",
    )
    deps = pop.dependants.join(facts, on="dependant_person_id", how="left", validate="m:1", maintain_order="left")
    people = attach(people, _dependant_counts(deps), left_on="person_id", right_on="taxpayer_person_id")
    # 所得金額調整控除 (1) children/特別障害者 and (2) salary + pension (docs/sources.md T1)
    adj1 = (
        pl.when(
            (pl.col("salary_revenue_total") > 8_500_000)
            & (pl.col("special_disability") | pl.col("has_under23").fill_null(False) | pl.col("has_special_disabled_dep").fill_null(False))
        )
        .then(-((-(pl.min_horizontal(pl.col("salary_revenue_total"), pl.lit(10_000_000)) - 8_500_000)) // 10))
        .otherwise(0)
    )
    people = people.with_columns(adj1.alias("income_adjustment_1"))
    people = people.with_columns(
        pl.when((pl.col("salary_income_gross") > 0) & (pl.col("pension_income") > 0))
        .then(
            pl.max_horizontal(
                pl.lit(0),
                pl.min_horizontal(pl.col("salary_income_gross") - pl.col("income_adjustment_1"), pl.lit(100_000))
                + pl.min_horizontal(pl.col("pension_income"), pl.lit(100_000)) - 100_000,
            )
        )
        .otherwise(0)
        .alias("income_adjustment_2")
    )
    people = people.with_columns(
        (pl.col("salary_income_gross") - pl.col("income_adjustment_1") - pl.col("income_adjustment_2")).clip(lower_bound=0).alias("salary_income"),
    )
    people = people.with_columns(
        (
            pl.col("salary_income") + pl.col("pension_income") + pl.col("business_income") + pl.col("real_estate_income")
            + pl.col("dividend_income") + pl.col("misc_income") + pl.col("occasional_half")
        ).alias("total_income"),
        (pl.col("salary_social_insurance") + pl.col("pension_social_insurance") + pl.col("social_insurance_paid")).alias("social_insurance_total"),
        A.life_insurance_deduction(
            pl.col("life_insurance_new_general"), pl.col("life_insurance_old_general"), pl.col("life_insurance_new_pension"),
            pl.col("life_insurance_old_pension"), pl.col("life_insurance_care_medical"),
        ).alias("life_insurance_deduction"),
        A.earthquake_deduction(pl.col("earthquake_insurance")).alias("earthquake_deduction"),
        (pl.when(pl.col("widow")).then(A.WIDOW).otherwise(0) + pl.when(pl.col("single_parent")).then(A.SINGLE_PARENT).otherwise(0))
        .alias("widow_single_parent_deduction"),
        (
            pl.when(pl.col("working_student")).then(A.WORKING_STUDENT).otherwise(0)
            + pl.when(pl.col("special_disability")).then(A.SPECIAL_DISABLED).when(pl.col("disabled")).then(A.DISABLED).otherwise(0)
            + pl.col("dependant_disability_deduction").fill_null(0)
        ).alias("student_disability_deduction"),
    )
    spouse = people.select(
        pl.col("person_id").alias("spouse_id"), pl.col("total_income").alias("spouse_total_income"), (pl.col("age") >= 70).alias("spouse_aged_70"),
    )
    people = attach(people, spouse, left_on="spouse_id", right_on="spouse_id")
    people = people.with_columns(
        A.spouse_deduction(pl.col("total_income"), pl.col("spouse_total_income"), pl.col("spouse_aged_70").fill_null(False), iy).alias("spouse_deduction"),
        A.basic_deduction(pl.col("total_income"), iy).alias("basic_deduction"),
        pl.col("dependant_deduction").fill_null(0),
        A.medical_deduction(pl.col("medical_expenses"), pl.col("total_income")).alias("medical_deduction"),
        A.donation_deduction(pl.col("donation_total"), pl.col("total_income")).alias("donation_deduction"),
    )
    ctx.classes = _char_classes(ctx, people)
    return people, deps


def spouse_details(people: pl.DataFrame) -> pl.DataFrame:
    """Name, kana, number and birth date of every person, keyed as ``spouse_id`` (join on demand)."""
    return people.select(
        pl.col("person_id").alias("spouse_id"), pl.col("name_kanji").alias("spouse_name"),
        pl.col("name_kana_hw").alias("spouse_kana_hw"), pl.col("name_kana_fw").alias("spouse_kana_fw"),
        pl.col("my_number").alias("spouse_my_number"), pl.col("birth_date").alias("spouse_birth_date"),
    )


def _dependant_counts(deps: pl.DataFrame) -> pl.DataFrame:
    """Per taxpayer: spouse id, counts by 扶養 kind (ages on 31 December) and 所得税 扶養/障害者 deductions."""
    is_dep = pl.col("kind") == "dependant"
    age = pl.col("age")
    deps = deps.with_columns(
        (is_dep & (age >= 19) & (age <= 22)).alias("is_specific"),
        (is_dep & (age >= 70)).alias("is_aged"),
        (is_dep & (age >= 70) & pl.col("living_together")).alias("is_aged_cohabiting"),
        (is_dep & (age >= 16) & ((age < 19) | ((age >= 23) & (age < 70)))).alias("is_general"),
        (is_dep & (age < 16)).alias("is_under16"),
        (is_dep & (age < 23)).alias("is_under23"),
    ).with_columns(
        pl.when(pl.col("is_specific")).then(A.DEPENDANT_SPECIFIC)
        .when(pl.col("is_aged_cohabiting")).then(A.DEPENDANT_AGED_COHABITING_PARENT)
        .when(pl.col("is_aged")).then(A.DEPENDANT_AGED)
        .when(pl.col("is_general")).then(A.DEPENDANT_GENERAL)
        .otherwise(0)
        .alias("dep_deduction"),
        pl.when(pl.col("special_disability") & pl.col("living_together")).then(A.COHABITING_SPECIAL_DISABLED)
        .when(pl.col("special_disability")).then(A.SPECIAL_DISABLED)
        .when(pl.col("disabled")).then(A.DISABLED)
        .otherwise(0)
        .alias("dis_deduction"),
    )
    return deps.group_by("taxpayer_person_id").agg(
        pl.col("is_specific").sum().alias("n_specific"),
        pl.col("is_aged").sum().alias("n_aged"),
        pl.col("is_aged_cohabiting").sum().alias("n_aged_cohabiting"),
        pl.col("is_general").sum().alias("n_general"),
        pl.col("is_under16").sum().alias("n_under16"),
        pl.col("is_under23").any().alias("has_under23"),
        (pl.col("special_disability") & pl.col("living_together")).sum().alias("n_disabled_special_cohabiting"),
        pl.col("special_disability").sum().alias("n_disabled_special"),
        pl.col("disabled").sum().alias("n_disabled_other"),
        pl.col("special_disability").any().alias("has_special_disabled_dep"),
        pl.col("dep_deduction").sum().alias("dependant_deduction"),
        pl.col("dis_deduction").sum().alias("dependant_disability_deduction"),
        pl.col("dependant_person_id").filter(pl.col("kind") == "spouse").first().alias("spouse_id"),
    )


def dependant_slots(deps: pl.DataFrame, *, split_under16: bool, columns: dict[str, pl.Expr], slots: int = 4) -> pl.DataFrame:
    """Wide frame per taxpayer: the first ``slots`` dependants (oldest first; with ``split_under16`` the
    16+ and the under-16 lists separately, prefixes ``dependant``/``young_dependant``) and a
    '(個人番号)氏名' list of the rest."""
    ordered = deps.filter(pl.col("kind") == "dependant").with_columns((pl.col("age") < 16).alias("_young"))
    if not split_under16:
        ordered = ordered.with_columns(pl.lit(False).alias("_young"))
    ordered = ordered.sort("taxpayer_person_id", "birth_date", "dependant_person_id").with_columns(
        pl.int_range(pl.len()).over(["taxpayer_person_id", "_young"]).alias("_slot")
    )
    wide = ordered.select("taxpayer_person_id").unique()
    groups = ((False, "dependant"), (True, "young_dependant")) if split_under16 else ((False, "dependant"),)
    for young, prefix in groups:
        group = ordered.filter(pl.col("_young") == young)
        for k in range(slots):
            pick = group.filter(pl.col("_slot") == k).select(
                "taxpayer_person_id", *[expr.alias(f"{prefix}_{k + 1}_{name}") for name, expr in columns.items()]
            )
            wide = wide.join(pick, on="taxpayer_person_id", how="left", validate="1:1", maintain_order="left")
        rest = group.filter(pl.col("_slot") >= slots).group_by("taxpayer_person_id").agg(
            pl.concat_str([pl.lit("("), pl.col("my_number").fill_null(""), pl.lit(")"), pl.col("name_kanji")])
            .str.join("\u3000")
            .alias(f"{prefix}s_5th_plus")
        )
        wide = wide.join(rest, on="taxpayer_person_id", how="left", validate="1:1", maintain_order="left")
    return wide.rename({"taxpayer_person_id": "person_id"})


def _char_classes(ctx: Ctx, people: pl.DataFrame) -> T.CharClasses:
    """Characters outside JIS X 0208 among every name and address the documents can carry."""
    pop = ctx.pop
    texts: list[str] = []
    for frame, cols in (
        (people, ("name_kanji", "ward_address", "ward_address_detail", "jan1_address", "relationship")),
        (pop.employers, ("name", "address", "business_type")),
        (pop.pensions, ("payer_name",)),
        (pop.donations, ("recipient_name",)),
        (pop.employments, ("ordinary_collection_reason",)),
    ):
        for col in cols:
            texts.append("".join(frame.get_column(col).unique().drop_nulls().to_list()))
    return T.classify_chars(["".join(set("".join(texts)))])


# ----------------------------------------------------------------------------------------------------
# Truth rows
def with_route(frame: pl.DataFrame) -> pl.DataFrame:
    """Final expected_route from the person's route (``_route``) and the record's defect category."""
    malformed = list(D.MALFORMED + D.HOSTILE_XML)
    return frame.with_columns(
        pl.when(pl.col("_defect").is_in(malformed)).then(pl.lit(D.ROUTE_QUARANTINE))
        .when(pl.col("_defect") == D.DUPLICATE_FILE).then(pl.lit(D.ROUTE_DUPLICATE_FILE))
        .otherwise(pl.col("_route"))
        .alias("_route"),
        pl.when(pl.col("_defect").is_in(malformed) | (pl.col("_defect") == D.DUPLICATE_FILE))
        .then(pl.lit(None, pl.String))
        .otherwise(pl.col("_destination"))
        .alias("_destination"),
    )


TRUTH_COLUMNS = ("file", "record_no", "_doc_key", "_person_id", "_atena_no", "_route", "_destination", "_submission",
                 "_received", "_defect", "_field", "_desc")


def truth_rows(source: str, frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        pl.lit(source).alias("source"),
        pl.col("file"),
        pl.col("record_no").cast(pl.Int64),
        pl.col("_doc_key").alias("doc_key"),
        pl.col("_person_id").cast(pl.Int64).alias("person_id"),
        pl.col("_atena_no").alias("true_atena_no"),
        pl.col("_route").alias("expected_route"),
        pl.col("_destination").alias("destination_municipality_code"),
        pl.col("_submission").alias("submission_type"),
        pl.col("_received").cast(pl.Date).alias("received_date"),
        pl.col("_defect").alias("defect"),
    ).cast(DOCUMENT_SCHEMA)


def emit(ctx: Ctx, source: str, frame: pl.DataFrame, copies: pl.DataFrame | None = None) -> None:
    """Collect truth rows of a written source frame and of its duplicate copies (whose defects are
    recorded once per copied file by :func:`duplicate_files`)."""
    if copies is not None and copies.height:
        ctx.documents.append(truth_rows(source, copies))
    ctx.documents.append(truth_rows(source, frame))
    bad = frame.filter(pl.col("_defect").is_not_null()).select(
        pl.lit(source).alias("source"), "file", pl.col("record_no").cast(pl.Int64), pl.col("_field").alias("field"),
        pl.col("_defect").alias("category"), pl.col("_desc").alias("description"),
    )
    ctx.defects.append(bad.cast(DEFECT_SCHEMA))
    if "_x_defect" in frame.columns:  # second case of a record that already carries a category
        extra = frame.filter(pl.col("_x_defect").is_not_null()).select(
            pl.lit(source).alias("source"), "file", pl.col("record_no").cast(pl.Int64), pl.col("_x_field").alias("field"),
            pl.col("_x_defect").alias("category"), pl.col("_x_desc").alias("description"),
        )
        ctx.defects.append(extra.cast(DEFECT_SCHEMA))


# ----------------------------------------------------------------------------------------------------
# Files delivered twice
def date_of(rel: str) -> dt.date:
    return dt.datetime.strptime(rel.rsplit("/", 1)[-1][:8], "%Y%m%d").date()


def later_name(ctx: Ctx, rel: str, days: int, new_tail: str | None = None) -> str:
    """``rel`` received ``days`` later (capped at 30 April, at least one day later); ``new_tail``
    replaces the part of the name after the date."""
    head, name = rel.rsplit("/", 1)
    new_date = min(date_of(rel) + dt.timedelta(days=days), ctx.day(4, 30))
    if new_date <= date_of(rel):
        new_date = date_of(rel) + dt.timedelta(days=1)
    return f"{head}/{new_date:%Y%m%d}{new_tail if new_tail is not None else name[8:]}"


def pick_duplicate_files(ctx: Ctx, files: pl.DataFrame, stream: str, max_records: int = 200) -> list[str]:
    """A few small files (frame with ``file``, ``n``) to be delivered twice (at least one)."""
    candidates = files.filter(pl.col("n") <= max_records).sort("file").get_column("file").to_list()
    if not candidates:
        candidates = files.sort("n", "file").head(1).get_column("file").to_list()
    k = count(DUPLICATE_FILE_RATE, len(candidates))
    rng = ctx.rng(stream)
    return sorted(rng.choice(np.array(candidates, dtype=object), size=k, replace=False).tolist()) if k else []


def duplicate_files(ctx: Ctx, source: str, frame: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """Copy files byte for byte under their new names; returns the truth-frame rows of the copies."""
    if not names:
        return frame.head(0).select(TRUTH_COLUMNS)
    assert ctx.writer is not None
    ctx.writer.copy(sorted(names.items()))
    mapping = pl.DataFrame({"file": list(names), "_new": list(names.values())})
    copies = frame.select(TRUTH_COLUMNS).join(mapping, on="file", how="inner", validate="m:1", maintain_order="left").with_columns(
        pl.col("_new").alias("file"),
        pl.col("_new").str.extract(r"/(\d{8})_[^/]*$").str.to_date("%Y%m%d").alias("_received"),
        pl.lit(D.DUPLICATE_FILE).alias("_defect"),
        pl.lit(None, pl.String).alias("_field"),
        pl.concat_str([pl.lit("byte-identical copy of "), pl.col("file")]).alias("_desc"),
    ).drop("_new")
    ctx.defects.append(
        pl.DataFrame(
            {
                "source": [source] * len(names),
                "file": [names[r] for r in sorted(names)],
                "record_no": [None] * len(names),
                "field": [None] * len(names),
                "category": [D.DUPLICATE_FILE] * len(names),
                "description": [f"byte-identical copy of {r} delivered again" for r in sorted(names)],
            },
            schema=DEFECT_SCHEMA,
        )
    )
    return with_route(copies)


class FileWriter:
    """Writes files on background threads, so that the disk's small-file latency overlaps with building
    the next source (two threads: measured faster than one or four for ext4 small files here). Copies
    of files delivered twice are made by :meth:`close` once every write has finished; the first error
    is raised by :meth:`close`. The queue is bounded to keep memory flat."""

    def __init__(self, landing: Path, threads: int = 2, max_pending: int = 4) -> None:
        self.landing = landing
        self._queue: queue.Queue = queue.Queue(maxsize=max_pending)
        self._copies: list[tuple[str, str]] = []
        self._errors: list[BaseException] = []
        self._made: set[str] = set()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"document-writer-{i}", daemon=True) for i in range(threads)]
        for thread in self._threads:
            thread.start()

    def write(self, rels: list[str], blobs: list[bytes]) -> None:
        self._check()
        self._queue.put((rels, blobs))

    def copy(self, pairs: list[tuple[str, str]]) -> None:
        self._copies.extend(pairs)

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._check()
        for src, dst in self._copies:
            shutil.copyfile(self.landing / src, self.landing / dst)
        self._copies.clear()

    def _check(self) -> None:
        if self._errors:
            raise RuntimeError(f"writing documents under {self.landing} failed: {self._errors[0]}") from self._errors[0]

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self._errors:
                continue  # drain after a failure
            try:
                self._write(*job)
            except BaseException as exc:  # reported by close()
                self._errors.append(exc)

    def _write(self, rels: list[str], blobs: list[bytes]) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        root = str(self.landing)
        for rel, blob in zip(rels, blobs):
            folder = rel.rsplit("/", 1)[0]
            if folder not in self._made:
                with self._lock:
                    (self.landing / folder).mkdir(parents=True, exist_ok=True)
                    self._made.add(folder)
            fd = os.open(f"{root}/{rel}", flags, 0o644)
            try:
                view = memoryview(blob)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
