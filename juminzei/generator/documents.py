"""Source documents of the return-ingest window, written in their wire formats, with their truth.

``write_documents(pop, landing_dir, seed)`` renders a :class:`~juminzei.generator.model.Population` into
``landing_dir/<source>/municipality=<M>/fiscal_year=<Y>/<YYYYMMDD>_…`` (docs/sample-ward.md):

==================  =========================================================  ===================
source              document                                                   format
==================  =========================================================  ===================
salary_report       給与支払報告書 個人別明細書, one file per employer submission   統一CSV, CP932
salary_summary      給与支払報告書 総括表, one per salary_report file (same name)   own CSV, CP932
pension_report      公的年金等支払報告書, files per payer code                     49+6 cols, CP932
etax_return         確定申告書 (国税連携 e-Tax分), one return per file              e-Tax XML, UTF-8
resident_return     特別区民税・都民税申告書                                        own CSV, CP932
furusato_notice     寄附金税額控除に係る申告特例通知書                               own CSV, CP932
==================  =========================================================  ===================

Layouts (column order, names, types) are read from ``contracts/layouts/<source>.yaml``. Every record
written has one row in the returned ``documents`` frame (truth/documents.parquet) and every planted
case one row in ``defects`` (truth/defects.parquet); categories are in :mod:`juminzei.generator.defects`.

Who gets documents: persons whose ``registry_status`` is ``resident`` (route ``stage``), ``moved_out``
(route ``forward`` to their 1 January municipality — employers, payers and donors used the old ward
address, and e-Tax filers named the ward as their 1 January address) or ``not_registered`` (住登外,
route ``non_registered``). Deceased persons and outsiders get none (no 1 January residence in the
ward); outsiders still appear as dependants on their taxpayer's documents.

Design: every CSV source is one Polars frame with one String column per layout field; lines are built
with ``pl.concat_str`` over whole frames and encoded to CP932 once per file. Malformed and noisy cases
are planted on small random subsets (numpy generators seeded from ``seed`` and a per-purpose stream
name), so the same population and seed give byte-identical files. e-Tax XML documents are also built
as whole-column string expressions; only the final file writes loop over returns.
"""

from __future__ import annotations

import datetime as dt
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from juminzei.generator import defects as D
from juminzei.generator import wire_amounts as A
from juminzei.generator import wire_text as T
from juminzei.generator.model import Population
from juminzei.generator.wire_layouts import field_ids, load_layout

SOURCES: tuple[str, ...] = (
    "salary_report",
    "salary_summary",
    "pension_report",
    "etax_return",
    "resident_return",
    "furusato_notice",
)

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

SUBMISSION_LABEL = {"0": "新規", "1": "追加", "2": "訂正", "3": "取消"}
IN_SCOPE = ("resident", "moved_out", "not_registered")
ROUTE_OF_STATUS = {"resident": D.ROUTE_STAGE, "moved_out": D.ROUTE_FORWARD, "not_registered": D.ROUTE_NON_REGISTERED}

# Planting rates (share of eligible records); every applicable category gets at least one record.
MALFORMED_RATE = 0.0005  # per malformed category (≈0.5% of records over the ten CSV categories)
RATES: dict[str, float] = {
    D.MY_NUMBER_MISSING: 0.015,
    D.MY_NUMBER_OF_OTHER_PERSON: 0.001,
    D.KANA_VARIANT: 0.02,
    D.KANJI_VARIANT: 0.08,  # of the records whose name has a character with a variant
    D.FULLWIDTH_DIGITS: 0.003,
}
CSV_MALFORMED: tuple[str, ...] = (
    D.WRONG_FIELD_COUNT,
    D.NON_NUMERIC_AMOUNT,
    D.IMPOSSIBLE_DATE,
    D.UNKNOWN_ERA_CODE,
    D.BAD_SUBMISSION_TYPE,
    D.TRUNCATED_LINE,
    D.INVALID_CP932_BYTES,
    D.EMPTY_MANDATORY_FIELD,
    D.OVER_WIDTH_FIELD,
    D.BAD_MY_NUMBER_CHECK_DIGIT,
)
ADDITIONAL_RATE = 0.01  # 追加: employee missing from the first file, sent later
CORRECTION_RATE = 0.005  # 訂正
CANCELLATION_RATE = 0.002  # 取消 of a record sent in error
DUPLICATE_FILE_RATE = 0.004  # files delivered twice
PENSION_FILE_MAX_RECORDS = 20_000
RESIDENT_FILE_MAX_RECORDS = 500


# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DocumentsResult:
    documents: pl.DataFrame  # truth/documents.parquet rows (DOCUMENT_SCHEMA)
    defects: pl.DataFrame  # truth/defects.parquet rows (DEFECT_SCHEMA)


@dataclass
class _Ctx:
    pop: Population
    landing: Path
    seed: int
    fiscal_year: int = 0
    income_year: int = 0
    municipality: str = ""
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
        return np.random.default_rng([self.seed & 0xFFFFFFFF, self.seed >> 32 & 0xFFFFFFFF, zlib.crc32(stream.encode())])

    def partition(self, source: str) -> str:
        return f"{source}/municipality={self.municipality}/fiscal_year={self.fiscal_year}"

    def day(self, month: int, day: int) -> dt.date:
        return dt.date(self.fiscal_year, month, day)


def _random_dates(rng: np.random.Generator, n: int, windows: list[tuple[dt.date, dt.date, float]]) -> np.ndarray:
    """``n`` dates drawn from weighted inclusive windows (numpy datetime64[D])."""
    weights = np.array([w for *_, w in windows], dtype=float)
    which = rng.choice(len(windows), size=n, p=weights / weights.sum())
    starts = np.array([np.datetime64(a) for a, _, _ in windows])
    spans = np.array([(b - a).days + 1 for a, b, _ in windows])
    offsets = (rng.random(n) * spans[which]).astype(np.int64)
    return starts[which] + offsets


def _count(rate: float, n_eligible: int) -> int:
    if n_eligible <= 0:
        return 0
    return int(min(n_eligible, max(1, round(rate * n_eligible))))


# ----------------------------------------------------------------------------------------------------
# Person-level facts shared by all documents
def _people(ctx: _Ctx) -> pl.DataFrame:
    """One row per person with document identity, route and the income-tax amounts of the documents."""
    pop = ctx.pop
    iy = ctx.income_year
    dec31 = dt.date(iy, 12, 31)
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
    gifts = pop.donations.group_by("person_id").agg(
        pl.col("amount").sum().alias("donation_total"), pl.len().alias("donation_count")
    )
    birth = pl.col("birth_date")
    # age on 31 December of the income year (one is a year older on the day before the birthday)
    age = (pl.lit(iy) - birth.dt.year() + ((birth.dt.month() == 1) & (birth.dt.day() == 1)).cast(pl.Int32)).cast(pl.Int32)
    people = (
        pop.persons.join(jobs, on="person_id", how="left", validate="1:1")
        .join(pens, on="person_id", how="left", validate="1:1")
        .join(gifts, on="person_id", how="left", validate="1:1")
        .with_columns(
            pl.col(
                "salary_revenue_total", "salary_social_insurance", "salary_withholding", "pension_revenue_total",
                "pension_social_insurance", "pension_withholding", "donation_total",
            ).fill_null(0),
            pl.col("donation_count").fill_null(0).cast(pl.Int64),
            age.alias("age"),
            pl.concat_str(["family_name_kanji", pl.lit("\u3000"), "given_name_kanji"]).alias("name_kanji"),
            pl.concat_str(["family_name_kana", pl.lit("\u3000"), "given_name_kana"]).alias("name_kana_fw"),
            pl.when(pl.col("ward_address_detail").is_not_null())
            .then(pl.concat_str(["ward_address", pl.lit("\u3000"), "ward_address_detail"]))
            .otherwise(pl.col("ward_address"))
            .alias("doc_address"),
            pl.col("registry_status").replace_strict(ROUTE_OF_STATUS, default=None).alias("route"),
            pl.when(pl.col("registry_status") == "moved_out")
            .then(pl.col("jan1_municipality_code"))
            .otherwise(None)
            .alias("destination_code"),
            (pl.col("disability_certificate").is_not_null() & ~pl.col("special_disability")).alias("disabled"),
        )
    )
    hw = T.halfwidth_kana_map(people.get_column("name_kana_fw").unique().to_list())
    people = people.with_columns(
        pl.col("name_kana_fw").replace_strict(hw, default=None, return_dtype=pl.String).alias("name_kana_hw")
    )
    # incomes as the documents state them (所得税 side; wire_amounts)
    occasional_half = pl.max_horizontal(pl.col("occasional_income"), pl.lit(0)) // 2
    people = people.with_columns(
        A.salary_income(pl.col("salary_revenue_total"), iy).alias("salary_income_gross"),
        occasional_half.alias("occasional_half"),
    ).with_columns(
        (
            pl.col("salary_income_gross") + pl.col("business_income") + pl.col("real_estate_income")
            + pl.col("dividend_income") + pl.col("misc_income") + pl.col("occasional_half")
        ).alias("non_pension_income"),
    ).with_columns(
        A.pension_income(pl.col("pension_revenue_total"), pl.col("age") >= 65, pl.col("non_pension_income")).alias("pension_income"),
    )
    dep = _dependant_summary(ctx, people)
    people = people.join(dep, left_on="person_id", right_on="taxpayer_person_id", how="left", validate="1:1")
    # 所得金額調整控除 (1) children/特別障害者 and (2) salary + pension (tax-rules.md §1)
    adj1 = (
        pl.when(
            (pl.col("salary_revenue_total") > 8_500_000)
            & (pl.col("special_disability") | pl.col("has_under23").fill_null(False) | pl.col("has_special_disabled_dep").fill_null(False))
        )
        .then(-((-(pl.min_horizontal(pl.col("salary_revenue_total"), pl.lit(10_000_000)) - 8_500_000)) // 10))
        .otherwise(0)
    )
    people = people.with_columns(adj1.alias("income_adjustment_1")).with_columns(
        pl.when((pl.col("salary_income_gross") > 0) & (pl.col("pension_income") > 0))
        .then(
            pl.max_horizontal(
                pl.lit(0),
                pl.min_horizontal(pl.col("salary_income_gross") - pl.col("income_adjustment_1"), pl.lit(100_000))
                + pl.min_horizontal(pl.col("pension_income"), pl.lit(100_000))
                - 100_000,
            )
        )
        .otherwise(0)
        .alias("income_adjustment_2")
    ).with_columns(
        (pl.col("salary_income_gross") - pl.col("income_adjustment_1") - pl.col("income_adjustment_2"))
        .clip(lower_bound=0)
        .alias("salary_income"),
    ).with_columns(
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
        (
            pl.when(pl.col("widow")).then(A.WIDOW).otherwise(0)
            + pl.when(pl.col("single_parent")).then(A.SINGLE_PARENT).otherwise(0)
        ).alias("widow_single_parent_deduction"),
        (
            pl.when(pl.col("working_student")).then(A.WORKING_STUDENT).otherwise(0)
            + pl.when(pl.col("special_disability")).then(A.SPECIAL_DISABLED).when(pl.col("disabled")).then(A.DISABLED).otherwise(0)
            + pl.col("dependant_disability_deduction").fill_null(0)
        ).alias("student_disability_deduction"),
    )
    # spouse's 合計所得 (for 配偶者(特別)控除 and the spouse columns)
    spouse_income = people.select(
        pl.col("person_id").alias("spouse_id"), pl.col("total_income").alias("spouse_total_income"),
        (pl.col("age") >= 70).alias("spouse_aged_70"), pl.col("name_kanji").alias("spouse_name"),
        pl.col("name_kana_hw").alias("spouse_kana_hw"), pl.col("name_kana_fw").alias("spouse_kana_fw"),
        pl.col("my_number").alias("spouse_my_number"), pl.col("birth_date").alias("spouse_birth_date"),
    )
    people = people.join(spouse_income, on="spouse_id", how="left", validate="m:1").with_columns(
        A.spouse_deduction(pl.col("total_income"), pl.col("spouse_total_income"), pl.col("spouse_aged_70").fill_null(False), iy).alias("spouse_deduction"),
        A.basic_deduction(pl.col("total_income"), iy).alias("basic_deduction"),
        pl.col("dependant_deduction").fill_null(0),
        A.medical_deduction(pl.col("medical_expenses"), pl.col("total_income")).alias("medical_deduction"),
        A.donation_deduction(pl.col("donation_total"), pl.col("total_income")).alias("donation_deduction"),
    )
    _ = dec31
    return people.sort("person_id")


def _dependant_summary(ctx: _Ctx, people: pl.DataFrame) -> pl.DataFrame:
    """Per taxpayer: spouse, counts by 扶養 kind, 所得税 扶養/障害者 deductions and the ordered lists
    of dependants written on the 給与支払報告書 (ages on 31 December of the income year)."""
    iy = ctx.income_year
    facts = people.select(
        pl.col("person_id").alias("dependant_person_id"), "age", "name_kanji", "name_kana_hw", "name_kana_fw",
        "my_number", "birth_date", "special_disability", "disabled",
        (pl.col("salary_income_gross") + pl.col("business_income") + pl.col("real_estate_income") + pl.col("pension_income")
         + pl.col("dividend_income") + pl.col("misc_income") + pl.col("occasional_half")).alias("dep_income"),
    )
    deps = ctx.pop.dependants.join(facts, on="dependant_person_id", how="left", validate="m:1")
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
        (
            pl.when(pl.col("is_specific")).then(A.DEPENDANT_SPECIFIC)
            .when(pl.col("is_aged_cohabiting")).then(A.DEPENDANT_AGED_COHABITING_PARENT)
            .when(pl.col("is_aged")).then(A.DEPENDANT_AGED)
            .when(pl.col("is_general")).then(A.DEPENDANT_GENERAL)
            .otherwise(0)
        ).alias("dep_deduction"),
        (
            pl.when(pl.col("special_disability") & pl.col("living_together")).then(A.COHABITING_SPECIAL_DISABLED)
            .when(pl.col("special_disability")).then(A.SPECIAL_DISABLED)
            .when(pl.col("disabled")).then(A.DISABLED)
            .otherwise(0)
        ).alias("dis_deduction"),
    )
    summary = deps.group_by("taxpayer_person_id").agg(
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
    # ordered lists: spouse; dependants aged 16+; under 16 (oldest first)
    ordered = deps.filter(is_dep).sort(["taxpayer_person_id", "birth_date", "dependant_person_id"]).with_columns(
        pl.int_range(pl.len()).over(["taxpayer_person_id", "is_under16"]).alias("slot")
    )
    wide = summary
    for young, prefix in ((False, "dependant"), (True, "young_dependant")):
        group = ordered.filter(pl.col("is_under16") == young)
        for k in range(4):
            slot = group.filter(pl.col("slot") == k).select(
                "taxpayer_person_id",
                pl.col("name_kana_hw").alias(f"{prefix}_{k + 1}_kana"),
                pl.col("name_kanji").alias(f"{prefix}_{k + 1}_name"),
                pl.col("my_number").alias(f"{prefix}_{k + 1}_my_number"),
            )
            wide = wide.join(slot, on="taxpayer_person_id", how="left", validate="1:1")
        rest = group.filter(pl.col("slot") >= 4).group_by("taxpayer_person_id").agg(
            pl.concat_str([pl.lit("("), pl.col("my_number").fill_null(""), pl.lit(")"), pl.col("name_kanji")])
            .str.join("\u3000")
            .alias(f"{prefix}s_5th_plus")
        )
        wide = wide.join(rest, on="taxpayer_person_id", how="left", validate="1:1")
    # resident-return list (all dependants, any age): name, kana (全角), number, birth date, 同居, 障害
    for k in range(4):
        slot = deps.filter(is_dep).sort(["taxpayer_person_id", "birth_date", "dependant_person_id"]).with_columns(
            pl.int_range(pl.len()).over("taxpayer_person_id").alias("rslot")
        )
        pick = slot.filter(pl.col("rslot") == k).select(
            "taxpayer_person_id",
            pl.col("name_kanji").alias(f"rr_dep_{k + 1}_name"),
            pl.col("name_kana_fw").alias(f"rr_dep_{k + 1}_kana"),
            pl.col("my_number").alias(f"rr_dep_{k + 1}_my_number"),
            T.ymd(pl.col("birth_date")).alias(f"rr_dep_{k + 1}_birth_date"),
            pl.when(pl.col("living_together")).then(pl.lit("1")).otherwise(pl.lit("0")).alias(f"rr_dep_{k + 1}_cohabiting"),
            pl.when(pl.col("special_disability")).then(pl.lit("2")).when(pl.col("disabled")).then(pl.lit("1"))
            .otherwise(pl.lit("0")).alias(f"rr_dep_{k + 1}_disability"),
        )
        wide = wide.join(pick, on="taxpayer_person_id", how="left", validate="1:1")
    rr_rest = (
        deps.filter(is_dep).sort(["taxpayer_person_id", "birth_date", "dependant_person_id"])
        .with_columns(pl.int_range(pl.len()).over("taxpayer_person_id").alias("rslot"))
        .filter(pl.col("rslot") >= 4)
        .group_by("taxpayer_person_id")
        .agg(
            pl.concat_str([pl.lit("("), pl.col("my_number").fill_null(""), pl.lit(")"), pl.col("name_kanji")])
            .str.join("\u3000")
            .alias("rr_dependants_5th_plus")
        )
    )
    wide = wide.join(rr_rest, on="taxpayer_person_id", how="left", validate="1:1")
    _ = iy
    return wide


# ----------------------------------------------------------------------------------------------------
# CSV engine: assemble lines, detect characters outside JIS X 0208, plant defects, write
@dataclass(frozen=True)
class _FieldMap:
    """Which layout fields a source uses for each kind of planted defect."""

    amount: str
    submission: str
    mandatory: str
    width: str
    width_extra: int
    width_filler: str = "0"
    date: tuple[str, ...] = ()  # era-part date fields (month, day) or one YYYYMMDD field
    era: str | None = None
    my_number: str | None = None
    kana: str | None = None
    kana_fullwidth: bool = False
    kanji: str | None = None
    invalid_bytes: str | None = None
    fullwidth: tuple[str, ...] = ()


def _assemble(frame: pl.DataFrame, fmt: str) -> pl.Expr:
    layout = load_layout(fmt)
    parts = []
    for spec in layout["fields"]:
        column = pl.col(spec["id"]).fill_null("")
        if spec["type"] in ("text", "text_fullwidth") and frame.height and frame.get_column(spec["id"]).fill_null("").str.contains(r'[",\r\n]').any():
            column = T.csv_quote(column)
        parts.append(column)
    return pl.concat_str(parts, separator=",")


def _text_fields(fmt: str) -> list[str]:
    return [f["id"] for f in load_layout(fmt)["fields"] if f["type"] in ("text", "text_fullwidth", "kana_halfwidth", "kana_fullwidth")]


def _mark_characters(frame: pl.DataFrame, fmt: str) -> pl.DataFrame:
    """Find lines with characters outside JIS X 0208: substitute the unencodable ones (〓 / dropped
    variation selectors) and mark the rows (NON_JIS_CHAR_SUBSTITUTED, CP932_EXTENSION_CHAR)."""
    text_cols = _text_fields(fmt)
    distinct: set[str] = set()
    for column in text_cols:
        distinct.update(v for v in frame.get_column(column).unique().to_list() if v and not v.isascii())
    classes = T.classify_chars(distinct)
    sub_pat, ext_pat = classes.substitute_pattern(), classes.extension_pattern()
    frame = frame.with_columns(pl.lit(None, pl.String).alias("_char_defect"), pl.lit(None, pl.String).alias("_char_field"))
    if sub_pat is None and ext_pat is None:
        return frame
    checks = []
    for column in text_cols:
        col = pl.col(column).fill_null("")
        if sub_pat:
            checks.append(pl.when(col.str.contains(sub_pat)).then(pl.lit(f"{D.NON_JIS_CHAR_SUBSTITUTED}|{column}")))
    for column in text_cols:
        col = pl.col(column).fill_null("")
        if ext_pat:
            checks.append(pl.when(col.str.contains(ext_pat)).then(pl.lit(f"{D.CP932_EXTENSION_CHAR}|{column}")))
    flagged = pl.coalesce(checks) if checks else pl.lit(None, pl.String)
    frame = frame.with_columns(flagged.alias("_char_flag"))
    frame = frame.with_columns(
        pl.col("_char_flag").str.split_exact("|", 1).struct.field("field_0").alias("_char_defect"),
        pl.col("_char_flag").str.split_exact("|", 1).struct.field("field_1").alias("_char_field"),
    ).drop("_char_flag")
    if classes.substitute:
        olds = list(classes.substitute)
        news = [classes.substitute[c] for c in olds]
        frame = frame.with_columns(pl.col(c).str.replace_many(olds, news) for c in text_cols)
    return frame


def _choose_rows(
    rng: np.random.Generator, eligible: np.ndarray, plan: list[tuple[str, np.ndarray | None, int]]
) -> np.ndarray:
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
    return chosen


def _other_numbers(ctx: _Ctx, people: pl.DataFrame, own: np.ndarray, stream: str) -> np.ndarray:
    """For each element of ``own`` (person ids), the valid My Number of ANOTHER in-scope resident."""
    pool = people.filter((pl.col("registry_status") == "resident") & pl.col("my_number").is_not_null()).select("person_id", "my_number")
    ids, numbers = pool.get_column("person_id").to_numpy(), np.array(pool.get_column("my_number").to_list(), dtype=object)
    if len(ids) < 2:
        return np.array([None] * len(own), dtype=object)
    rng = ctx.rng(stream)
    pick = rng.integers(0, len(ids), size=len(own))
    pick = np.where(ids[pick] == own, (pick + 1) % len(ids), pick)
    return numbers[pick]


def _plant_csv(
    ctx: _Ctx,
    source: str,
    frame: pl.DataFrame,
    fmt: str,
    fields: _FieldMap,
    people: pl.DataFrame,
    eligible_extra: pl.Expr,
    categories: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Plant noise and malformed records on ``frame`` (a source's records with layout columns, meta
    columns prefixed ``_``); returns the frame with ``line`` built and ``_defect``/``_field``/``_desc``."""
    frame = _mark_characters(frame, fmt)
    frame = frame.with_columns(
        pl.coalesce(pl.col("_defect"), pl.col("_char_defect")).alias("_defect"),
        pl.coalesce(pl.col("_field"), pl.col("_char_field")).alias("_field"),
    ).drop("_char_defect", "_char_field")
    frame = frame.with_columns(
        pl.when(pl.col("_defect") == D.NON_JIS_CHAR_SUBSTITUTED)
        .then(pl.lit("character outside JIS X 0208 not encodable in CP932, written as 〓 (variation selectors dropped)"))
        .when(pl.col("_defect") == D.CP932_EXTENSION_CHAR)
        .then(pl.lit("character outside JIS X 0208 written with a CP932 vendor-extension code"))
        .otherwise(pl.col("_desc"))
        .alias("_desc")
    ).with_row_index("_row")
    rng = ctx.rng(f"plant/{source}")
    eligible = frame.select((pl.col("_defect").is_null() & eligible_extra).alias("e")).get_column("e").to_numpy()
    n_el = int(eligible.sum())

    def mask(expr: pl.Expr) -> np.ndarray:
        return frame.select(expr.fill_null(False).alias("m")).get_column("m").to_numpy()

    has_number = mask(pl.col(fields.my_number) != "") if fields.my_number else None
    plan: list[tuple[str, np.ndarray | None, int]] = []
    for category in CSV_MALFORMED:
        if category == D.UNKNOWN_ERA_CODE and not fields.era:
            continue
        if category == D.IMPOSSIBLE_DATE and not fields.date:
            continue
        if category == D.BAD_MY_NUMBER_CHECK_DIGIT:
            if not fields.my_number:
                continue
            plan.append((category, has_number, _count(MALFORMED_RATE, n_el)))
            continue
        if category == D.INVALID_CP932_BYTES and not fields.invalid_bytes:
            continue
        plan.append((category, None, _count(MALFORMED_RATE, n_el)))
    if fields.my_number:
        plan.append((D.MY_NUMBER_MISSING, has_number, _count(RATES[D.MY_NUMBER_MISSING], n_el)))
        plan.append((D.MY_NUMBER_OF_OTHER_PERSON, has_number, _count(RATES[D.MY_NUMBER_OF_OTHER_PERSON], n_el)))
    if fields.kanji:
        variant_chars = "[" + "".join(T.KANJI_VARIANTS) + "]"
        can = mask(pl.col(fields.kanji).str.contains(variant_chars))
        plan.append((D.KANJI_VARIANT, can, _count(RATES[D.KANJI_VARIANT], int((can & eligible).sum()))))
    if fields.kana:
        plan.append((D.KANA_VARIANT, mask(pl.col(fields.kana) != ""), _count(RATES[D.KANA_VARIANT], n_el)))
    if fields.fullwidth:
        plan.append((D.FULLWIDTH_DIGITS, None, _count(RATES[D.FULLWIDTH_DIGITS], n_el)))
    if categories is not None:
        plan = [entry for entry in plan if entry[0] in categories]
    chosen = _choose_rows(rng, eligible, plan)
    frame = frame.with_columns(pl.Series("_planted", chosen, dtype=pl.String))
    planted = frame.filter(pl.col("_planted").is_not_null())
    rest = frame.filter(pl.col("_planted").is_null())
    planted = _apply_planted(ctx, source, planted, fields, people)
    rest = rest.with_columns(_assemble(rest, fmt).alias("line"))
    planted = planted.with_columns(_assemble(planted, fmt).alias("line"))
    planted = _apply_line_defects(planted, fields)
    return pl.concat([rest, planted.select(rest.columns)], how="vertical").sort("_row").drop("_row", "_planted")


def _apply_planted(ctx: _Ctx, source: str, sub: pl.DataFrame, fm: _FieldMap, people: pl.DataFrame) -> pl.DataFrame:
    """Field-level changes for the planted rows (small frame); sets _defect/_field/_desc."""
    if sub.height == 0:
        return sub
    cat = pl.col("_planted")
    updates: dict[str, pl.Expr] = {}

    def put(column: str, category: str, value: pl.Expr) -> None:
        base = updates.get(column, pl.col(column))
        updates[column] = pl.when(cat == category).then(value).otherwise(base)

    amount = pl.col(fm.amount)
    put(
        fm.amount,
        D.NON_NUMERIC_AMOUNT,
        pl.when(amount.str.contains("0")).then(amount.str.replace("0", "O", literal=True))
        .when(amount == "").then(pl.lit("1O0000"))
        .otherwise(pl.concat_str([amount, pl.lit("円")])),
    )
    if fm.date:
        if len(fm.date) == 2:  # era-part date: month 13 or day 32
            put(fm.date[0], D.IMPOSSIBLE_DATE, pl.lit("13"))
        else:  # YYYYMMDD
            put(fm.date[0], D.IMPOSSIBLE_DATE, pl.concat_str([pl.col(fm.date[0]).str.slice(0, 4), pl.lit("0230")]))
    if fm.era:
        put(fm.era, D.UNKNOWN_ERA_CODE, pl.lit("9"))
    put(fm.submission, D.BAD_SUBMISSION_TYPE, pl.lit("5"))
    put(fm.mandatory, D.EMPTY_MANDATORY_FIELD, pl.lit(""))
    put(fm.width, D.OVER_WIDTH_FIELD, pl.concat_str([pl.col(fm.width), pl.lit(fm.width_filler * fm.width_extra)]))
    if fm.my_number:
        number = pl.col(fm.my_number)
        put(fm.my_number, D.BAD_MY_NUMBER_CHECK_DIGIT, T.corrupt_check_digit(number))
        put(fm.my_number, D.MY_NUMBER_MISSING, pl.lit(""))
        others = _other_numbers(ctx, people, sub.get_column("_person_id").fill_null(-1).to_numpy(), f"other/{source}")
        sub = sub.with_columns(pl.Series("_other_number", others, dtype=pl.String))
        put(fm.my_number, D.MY_NUMBER_OF_OTHER_PERSON, pl.col("_other_number"))
    if fm.kanji:
        put(fm.kanji, D.KANJI_VARIANT, pl.col(fm.kanji).str.replace_many(list(T.KANJI_VARIANTS), list(T.KANJI_VARIANTS.values())))
    if fm.kana:
        variants = (T.kana_variants_fullwidth if fm.kana_fullwidth else T.kana_variants_halfwidth)(pl.col(fm.kana))
        sub = sub.with_columns(pl.Series("_variant_pick", ctx.rng(f"kana/{source}").integers(0, len(variants), sub.height)))
        chosen_variant = pl.lit(None, pl.String)
        for i, variant in enumerate(variants):
            chosen_variant = pl.when(pl.col("_variant_pick") == i).then(variant).otherwise(chosen_variant)
        space_variant = variants[4]
        put(fm.kana, D.KANA_VARIANT, pl.when(chosen_variant != pl.col(fm.kana)).then(chosen_variant).otherwise(space_variant))
    for column in fm.fullwidth:
        put(column, D.FULLWIDTH_DIGITS, T.fullwidth_digits(pl.col(column)))
    if fm.invalid_bytes:
        target = pl.col(fm.invalid_bytes)
        put(fm.invalid_bytes, D.INVALID_CP932_BYTES, pl.concat_str([target.str.slice(0, 1), pl.lit(T.INVALID_BYTES_MARKER), target.str.slice(1)]))
    sub = sub.with_columns(**updates)
    field_of = {
        D.NON_NUMERIC_AMOUNT: fm.amount,
        D.IMPOSSIBLE_DATE: fm.date[0] if fm.date else None,
        D.UNKNOWN_ERA_CODE: fm.era,
        D.BAD_SUBMISSION_TYPE: fm.submission,
        D.EMPTY_MANDATORY_FIELD: fm.mandatory,
        D.OVER_WIDTH_FIELD: fm.width,
        D.BAD_MY_NUMBER_CHECK_DIGIT: fm.my_number,
        D.MY_NUMBER_MISSING: fm.my_number,
        D.MY_NUMBER_OF_OTHER_PERSON: fm.my_number,
        D.KANJI_VARIANT: fm.kanji,
        D.KANA_VARIANT: fm.kana,
        D.FULLWIDTH_DIGITS: ",".join(fm.fullwidth),
        D.INVALID_CP932_BYTES: fm.invalid_bytes,
        D.WRONG_FIELD_COUNT: None,
        D.TRUNCATED_LINE: None,
    }
    desc_of = {
        D.NON_NUMERIC_AMOUNT: "amount with a non-digit character (O for 0, 円 suffix)",
        D.IMPOSSIBLE_DATE: "date that does not exist (month 13 / 2月30日)",
        D.UNKNOWN_ERA_CODE: "元号 code 9 is not a 法定調書 era code",
        D.BAD_SUBMISSION_TYPE: "提出区分 5 is not one of 0 新規, 1 追加, 2 訂正, 3 取消",
        D.EMPTY_MANDATORY_FIELD: "required field left empty",
        D.OVER_WIDTH_FIELD: "field longer than its layout width",
        D.BAD_MY_NUMBER_CHECK_DIGIT: "個人番号 with a wrong check digit",
        D.MY_NUMBER_MISSING: "個人番号 left blank",
        D.MY_NUMBER_OF_OTHER_PERSON: "valid 個人番号 of another resident",
        D.KANJI_VARIANT: "旧字/異体字 variant of the name",
        D.KANA_VARIANT: "kana spelling variant of the name",
        D.FULLWIDTH_DIGITS: "amounts/dates written with full-width digits",
        D.INVALID_CP932_BYTES: "invalid CP932 byte sequence 0x85 0x40 inside the field",
        D.WRONG_FIELD_COUNT: "line with a wrong number of fields",
        D.TRUNCATED_LINE: "line cut short",
    }
    return sub.with_columns(
        pl.col("_planted").alias("_defect"),
        pl.col("_planted").replace_strict(field_of, default=None, return_dtype=pl.String).alias("_field"),
        pl.col("_planted").replace_strict(desc_of, default=None, return_dtype=pl.String).alias("_desc"),
    ).drop([c for c in ("_other_number", "_variant_pick") if c in sub.columns])


def _apply_line_defects(sub: pl.DataFrame, fm: _FieldMap) -> pl.DataFrame:
    if sub.height == 0:
        return sub
    line = pl.col("line")
    cut = (line.str.len_chars() * 3 // 5).cast(pl.Int64)
    wrong_count = pl.when(pl.col("_row") % 2 == 0).then(line.str.replace(r",[^,]*$", "")).otherwise(pl.concat_str([line, pl.lit(",")]))
    return sub.with_columns(
        pl.when(pl.col("_planted") == D.WRONG_FIELD_COUNT)
        .then(wrong_count)
        .when(pl.col("_planted") == D.TRUNCATED_LINE)
        .then(line.str.slice(0, cut))
        .otherwise(line)
        .alias("line")
    )


def _emit(ctx: _Ctx, source: str, frame: pl.DataFrame, copies: pl.DataFrame | None = None) -> None:
    """Append truth rows (documents, defects) of a written source frame and of its duplicate copies
    (whose defects are recorded once per file by ``_duplicate_files``)."""
    if copies is not None and copies.height:
        ctx.documents.append(_truth_rows(source, copies.select(frame.columns)))
    ctx.documents.append(_truth_rows(source, frame))
    bad = frame.filter(pl.col("_defect").is_not_null()).select(
        pl.lit(source).alias("source"), "file", pl.col("record_no").cast(pl.Int64), pl.col("_field").alias("field"),
        pl.col("_defect").alias("category"), pl.col("_desc").alias("description"),
    )
    ctx.defects.append(bad.cast(DEFECT_SCHEMA))


def _truth_rows(source: str, frame: pl.DataFrame) -> pl.DataFrame:
    docs = frame.select(
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
    )
    return docs.cast(DOCUMENT_SCHEMA)


def _with_route(frame: pl.DataFrame) -> pl.DataFrame:
    """Final expected_route from the person's route and the record's defect category."""
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


def _duplicate_names(ctx: _Ctx, files: list[str], stream: str) -> dict[str, str]:
    """New names (same name, received 2-19 days later) for files delivered twice."""
    rng = ctx.rng(stream)
    delays = rng.integers(2, 20, size=len(files))
    return {rel: _shift_name(rel, int(delay), ctx.fiscal_year) for rel, delay in zip(files, delays)}


def _duplicate_files(ctx: _Ctx, source: str, frame: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """Copy files byte for byte under their new names; returns the truth rows of the copies."""
    copies = []
    for rel, new_rel in sorted(names.items()):
        shutil.copyfile(ctx.landing / rel, ctx.landing / new_rel)
        rows = frame.filter(pl.col("file") == rel).with_columns(
            pl.lit(new_rel).alias("file"),
            pl.lit(_date_of(new_rel)).alias("_received"),
            pl.lit(D.DUPLICATE_FILE).alias("_defect"),
            pl.lit(None, pl.String).alias("_field"),
            pl.lit(f"byte-identical copy of {rel}").alias("_desc"),
        )
        copies.append(rows)
    if not copies:
        return frame.head(0)
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
    # per-record defects of copies are not repeated in defects.parquet (one row per copied file above)
    return _with_route(pl.concat(copies, how="vertical")).with_columns(pl.lit(True).alias("_copy"))


def _date_of(rel: str) -> dt.date:
    name = rel.rsplit("/", 1)[-1]
    return dt.datetime.strptime(name[:8], "%Y%m%d").date()


def _shift_name(rel: str, days: int, fiscal_year: int) -> str:
    head, name = rel.rsplit("/", 1)
    new_date = min(_date_of(rel) + dt.timedelta(days=days), dt.date(fiscal_year, 4, 30))
    if new_date <= _date_of(rel):
        new_date = _date_of(rel) + dt.timedelta(days=1)
    return f"{head}/{new_date:%Y%m%d}{name[8:]}"


# ----------------------------------------------------------------------------------------------------
# Submissions: 追加 / 訂正 / 取消 and file assignment (salary and pension reports)
KIND_ORDER = {"main": 0, "additional": 1, "correction": 2, "cancellation": 3}


def _lifecycle(
    ctx: _Ctx,
    rec: pl.DataFrame,
    *,
    stream: str,
    key_field: str,
    amount_field: str,
    submission_field: str,
    exclude_files: pl.Expr,
) -> pl.DataFrame:
    """Add 訂正 (correction) and 取消 (cancellation) records for a random few main-file records.

    訂正: the original keeps 提出区分 0 but with a wrong 支払金額 (defect superseded_by_correction); a
    later file re-sends it with the true values and 提出区分 2. 取消: the main file also carries an
    erroneous second record of the same employee under a mistyped key (defect cancelled_later); a later
    file cancels that key with 提出区分 3."""
    rng = ctx.rng(stream)
    rec = rec.with_row_index("_lc")
    eligible = rec.select(((pl.col("_kind") == "main") & ~exclude_files).alias("e")).get_column("e").to_numpy()
    n = int(eligible.sum())
    picks = _choose_rows(rng, eligible, [("corr", None, _count(CORRECTION_RATE, n)), ("canc", None, _count(CANCELLATION_RATE, n))])
    rec = rec.with_columns(pl.Series("_lc_pick", picks, dtype=pl.String))
    corr = rec.filter(pl.col("_lc_pick") == "corr")
    corrected = corr.with_columns(
        pl.lit("2").alias(submission_field), pl.lit("correction").alias("_kind"), pl.lit("訂正").alias("_submission"),
    )
    delta = (rng.integers(10, 300, size=rec.height) * 1000) * np.where(rng.random(rec.height) < 0.5, -1, 1)
    wrong = (pl.col(amount_field).cast(pl.Int64) + pl.Series(delta)).abs().cast(pl.String)
    rec = rec.with_columns(
        pl.when(pl.col("_lc_pick") == "corr").then(wrong).otherwise(pl.col(amount_field)).alias(amount_field),
        pl.when(pl.col("_lc_pick") == "corr").then(pl.lit(D.SUPERSEDED_BY_CORRECTION)).otherwise(pl.col("_defect")).alias("_defect"),
        pl.when(pl.col("_lc_pick") == "corr").then(pl.lit(amount_field)).otherwise(pl.col("_field")).alias("_field"),
        pl.when(pl.col("_lc_pick") == "corr")
        .then(pl.lit("original with a wrong amount; a later 提出区分 2 (訂正) record carries the true values"))
        .otherwise(pl.col("_desc"))
        .alias("_desc"),
    )
    canc = rec.filter(pl.col("_lc_pick") == "canc")
    mistyped = pl.concat_str([pl.col(key_field), pl.lit("0")])
    erroneous = canc.with_columns(
        mistyped.alias(key_field),
        pl.concat_str([pl.col("_group"), pl.lit(":"), mistyped]).alias("_doc_key"),
        pl.lit(D.CANCELLED_LATER).alias("_defect"),
        pl.lit(key_field).alias("_field"),
        pl.lit("record sent in error under a mistyped key; cancelled by a later 提出区分 3 (取消) record").alias("_desc"),
    )
    cancel = erroneous.with_columns(
        pl.lit("3").alias(submission_field), pl.lit("cancellation").alias("_kind"), pl.lit("取消").alias("_submission"),
        pl.lit(None, pl.String).alias("_defect"), pl.lit(None, pl.String).alias("_field"), pl.lit(None, pl.String).alias("_desc"),
    )
    return pl.concat([rec, corrected, erroneous, cancel], how="vertical").drop("_lc", "_lc_pick")


def _assign_files(
    ctx: _Ctx,
    rec: pl.DataFrame,
    *,
    source: str,
    stem: str,
    chunk: int | None,
    windows: list[tuple[dt.date, dt.date, float]],
    stream: str,
    sort_key: list[str],
) -> pl.DataFrame:
    """File, record number and received date for every record.

    Main records (提出区分 0) of a group (employer 指定番号 / pension payer code) go to seq 001.. (chunks
    of ``chunk`` records), received on a date drawn from ``windows``; each later kind (追加, 訂正, 取消)
    present in the group gets the next seq, received 7-30 days after the previous file."""
    rng = ctx.rng(stream)
    rec = rec.sort(["_group", "_kind_order", *sort_key])
    rec = rec.with_columns(
        pl.when(pl.col("_kind") == "main")
        .then(pl.int_range(pl.len()).over(["_group", "_kind"]) // (chunk or 10**12))
        .otherwise(None)
        .alias("_chunk")
    )
    mains = rec.filter(pl.col("_kind") == "main").select("_group", "_chunk").unique().sort("_group", "_chunk")
    mains = mains.with_columns(
        pl.Series("_date", _random_dates(rng, mains.height, windows)).cast(pl.Date), (pl.col("_chunk") + 1).alias("_seq")
    )
    last = mains.group_by("_group").agg(pl.col("_date").max().alias("_last"), pl.col("_seq").max().alias("_nseq"))
    laters = rec.filter(pl.col("_kind") != "main").select("_group", "_kind_order").unique().sort("_group", "_kind_order")
    laters = laters.join(last, on="_group", how="left", validate="m:1").with_columns(
        pl.int_range(1, pl.len() + 1).over("_group").alias("_rank"),
        pl.Series("_gap", rng.integers(7, 31, laters.height)),
    ).with_columns(
        (pl.col("_nseq").fill_null(0) + pl.col("_rank")).alias("_seq"),
        pl.min_horizontal(
            pl.col("_last").fill_null(ctx.day(1, 31)) + pl.duration(days=pl.col("_gap").cum_sum().over("_group")),
            pl.lit(ctx.day(4, 30)),
        ).alias("_date"),
    )
    rec = rec.join(mains, on=["_group", "_chunk"], how="left", validate="m:1", nulls_equal=False).join(
        laters.select("_group", "_kind_order", pl.col("_seq").alias("_seq_l"), pl.col("_date").alias("_date_l")),
        on=["_group", "_kind_order"],
        how="left",
        validate="m:1",
    )
    part = ctx.partition(source)
    rec = rec.with_columns(
        pl.coalesce("_seq", "_seq_l").alias("_seq"), pl.coalesce("_date", "_date_l").alias("_received")
    ).with_columns(
        pl.format(
            f"{part}/{{}}_{stem}_{{}}_{{}}.csv",
            pl.col("_received").dt.strftime("%Y%m%d"),
            pl.col("_group"),
            pl.col("_seq").cast(pl.String).str.zfill(3),
        ).alias("file")
    ).drop("_seq_l", "_date_l", "_chunk", "_date")
    rec = rec.sort(["file", *sort_key]).with_columns((pl.int_range(pl.len()).over("file") + 1).alias("record_no"))
    return rec


def _pick_duplicate_files(ctx: _Ctx, files: pl.DataFrame, stream: str, max_records: int = 200) -> list[str]:
    """Choose a few small files (column ``file``, ``n``) to be delivered twice."""
    candidates = files.filter(pl.col("n") <= max_records).sort("file").get_column("file").to_list()
    if not candidates:
        candidates = files.sort("n", "file").head(1).get_column("file").to_list()
    k = _count(DUPLICATE_FILE_RATE, len(candidates))
    rng = ctx.rng(stream)
    return sorted(rng.choice(np.array(candidates, dtype=object), size=k, replace=False).tolist())


def _meta(people_cols: bool = True) -> list[pl.Expr]:
    """Meta columns carried by every CSV record frame."""
    return [
        pl.col("person_id").alias("_person_id"),
        pl.col("atena_no").alias("_atena_no"),
        pl.col("route").alias("_route"),
        pl.col("destination_code").alias("_destination"),
        pl.lit(None, pl.String).alias("_defect"),
        pl.lit(None, pl.String).alias("_field"),
        pl.lit(None, pl.String).alias("_desc"),
    ]


def _blank_fields(fmt: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Add every layout field the builder did not set as an empty string, in layout order."""
    missing = [f for f in field_ids(fmt) if f not in frame.columns]
    return frame.with_columns(pl.lit("").alias(f) for f in missing)


def _layout_frame(fmt: str, frame: pl.DataFrame) -> pl.DataFrame:
    frame = _blank_fields(fmt, frame)
    ids = field_ids(fmt)
    meta = [c for c in frame.columns if c.startswith("_") or c in ("file", "record_no")]
    return frame.select([pl.col(c).cast(pl.String).fill_null("") for c in ids] + meta)


# ----------------------------------------------------------------------------------------------------
# 給与支払報告書 (個人別明細書 + 総括表)
def _salary_records(ctx: _Ctx, people: pl.DataFrame) -> pl.DataFrame:
    pop = ctx.pop
    iy = ctx.income_year
    scope = people.filter(pl.col("registry_status").is_in(IN_SCOPE))
    employers = pop.employers.select(pl.all().name.prefix("er_"))
    jobs = pop.employments.join(scope, on="person_id", how="inner", validate="m:1").join(
        employers, left_on="employer_id", right_on="er_employer_id", how="left", validate="m:1"
    )
    jobs = jobs.sort("person_id", "employment_id").with_columns(
        (
            pl.col("is_primary") & pl.col("end_date").is_null()
            & (pl.col("is_primary") & pl.col("end_date").is_null()).cum_sum().over("person_id").eq(1)
        ).alias("_yea"),
        (pl.col("ordinary_collection") | pl.col("end_date").is_not_null()).alias("_ordinary"),
    )
    yea = pl.col("_yea")

    def y(expr: pl.Expr) -> pl.Expr:  # only on the 年末調整 record
        return pl.when(yea).then(expr).otherwise(pl.lit(""))

    def count(column: str) -> pl.Expr:
        return y(T.amount(pl.col(column).fill_null(0)))

    spouse = pl.col("spouse_id").is_not_null()
    limit = A.dependant_income_limit(iy)
    spouse_target = spouse & (pl.col("spouse_total_income") <= limit) & (pl.col("spouse_deduction") > 0)
    job_salary_income = A.salary_income(pl.col("salary_revenue"), iy)
    adj1 = (
        pl.when((pl.col("salary_revenue") > 8_500_000)
                & (pl.col("special_disability") | pl.col("has_under23").fill_null(False) | pl.col("has_special_disabled_dep").fill_null(False)))
        .then(-((-(pl.min_horizontal(pl.col("salary_revenue"), pl.lit(10_000_000)) - 8_500_000)) // 10))
        .otherwise(0)
    )
    social = pl.col("social_insurance") + pl.col("social_insurance_paid") + pl.col("small_enterprise_mutual_aid")
    total_deductions = (
        social + pl.col("life_insurance_deduction") + pl.col("earthquake_deduction") + pl.col("spouse_deduction")
        + pl.col("dependant_deduction") + pl.col("student_disability_deduction") + pl.col("widow_single_parent_deduction")
        + pl.col("basic_deduction")
    )
    change_date = pl.coalesce("end_date", "start_date")
    fields: dict[str, pl.Expr] = {
        "document_type": pl.lit("315"),
        "payer_address": pl.col("er_address"),
        "payer_name": pl.col("er_name"),
        "payer_phone": pl.col("er_phone"),
        "submission_type": pl.lit("0"),
        "income_year": pl.lit(f"{ctx.reiwa_income_year:02d}"),
        "recipient_address": pl.col("doc_address"),
        "recipient_abroad": pl.lit("0"),
        "recipient_name": pl.col("name_kanji"),
        "payment_kind": pl.when(pl.col("is_primary")).then(pl.lit("給料・賞与")).otherwise(pl.lit("給料")),
        "payment_amount": T.amount(pl.col("salary_revenue"), blank_zero=False),
        "salary_income": y(T.amount(job_salary_income - adj1, blank_zero=False)),
        "total_income_deductions": y(T.amount(total_deductions, blank_zero=False)),
        "withholding_tax": T.amount(pl.col("withholding_tax"), blank_zero=False),
        "spouse_deduction_target": y(pl.when(spouse_target).then(pl.lit("1")).otherwise(pl.lit(""))),
        "spouse_aged": y(T.flag(spouse_target & pl.col("spouse_aged_70").fill_null(False))),
        "spouse_deduction_amount": y(T.amount(pl.col("spouse_deduction"))),
        "dependants_specific_main": count("n_specific"),
        "dependants_aged_main": count("n_aged"),
        "dependants_aged_cohabiting": count("n_aged_cohabiting"),
        "dependants_other_main": count("n_general"),
        "disabled_special": count("n_disabled_special"),
        "disabled_special_cohabiting": count("n_disabled_special_cohabiting"),
        "disabled_other": count("n_disabled_other"),
        "social_insurance": pl.when(yea).then(T.amount(social)).otherwise(T.amount(pl.col("social_insurance"))),
        "small_enterprise_mutual_aid": y(T.amount(pl.col("small_enterprise_mutual_aid"))),
        "life_insurance_deduction": y(T.amount(pl.col("life_insurance_deduction"))),
        "earthquake_insurance_deduction": y(T.amount(pl.col("earthquake_deduction"))),
        "old_private_pension_premium": y(T.amount(pl.col("life_insurance_old_pension"))),
        "spouse_total_income": y(pl.when(spouse).then(T.amount(pl.col("spouse_total_income"), blank_zero=False)).otherwise(pl.lit(""))),
        "birth_era": T.era_code(pl.col("birth_date"), T.LEGAL),
        "birth_year": T.pad2(T.era_year(pl.col("birth_date"))),
        "birth_month": T.pad2(pl.col("birth_date").dt.month()),
        "birth_day": T.pad2(pl.col("birth_date").dt.day()),
        "minor": T.flag(pl.col("age") < 18),
        "otsu_column": T.flag(~pl.col("is_primary")),
        "self_special_disabled": y(T.flag(pl.col("special_disability"))),
        "self_other_disabled": y(T.flag(pl.col("disabled"))),
        "widow": y(T.flag(pl.col("widow"))),
        "working_student": y(T.flag(pl.col("working_student"))),
        "foreigner": T.flag(pl.col("resident_type") == 2),
        "job_change_type": pl.when(pl.col("end_date").is_not_null()).then(pl.lit("2"))
        .when(pl.col("start_date").is_not_null()).then(pl.lit("1")).otherwise(pl.lit("")),
        "job_change_year": T.pad2(T.era_year(change_date)),
        "job_change_month": T.pad2(change_date.dt.month()),
        "job_change_day": T.pad2(change_date.dt.day()),
        "remarks": pl.col("ordinary_collection_reason").str.replace_many(["A", "B", "C", "D", "E", "F"], ["Ａ", "Ｂ", "Ｃ", "Ｄ", "Ｅ", "Ｆ"]),
        "new_life_premium": y(T.amount(pl.col("life_insurance_new_general"))),
        "old_life_premium": y(T.amount(pl.col("life_insurance_old_general"))),
        "care_medical_premium": y(T.amount(pl.col("life_insurance_care_medical"))),
        "new_private_pension_premium": y(T.amount(pl.col("life_insurance_new_pension"))),
        "dependants_under16": count("n_under16"),
        "national_pension_premium": y(T.amount(pl.col("social_insurance_paid"))),
        "payer_corporate_number": pl.col("er_corporate_number"),
        "recipient_my_number": pl.col("my_number"),
        "spouse_kana": y(pl.col("spouse_kana_hw")),
        "spouse_name": y(pl.col("spouse_name")),
        "spouse_nonresident": y(pl.when(spouse).then(pl.lit("00")).otherwise(pl.lit(""))),
        "spouse_my_number": y(pl.col("spouse_my_number")),
        "dependants_5th_plus": y(pl.col("dependants_5th_plus")),
        "young_dependants_5th_plus": y(pl.col("young_dependants_5th_plus")),
        "ordinary_collection": T.flag(pl.col("_ordinary")),
        "recipient_kana": pl.col("name_kana_hw"),
        "employee_no": pl.col("employee_no"),
        "destination_municipality_code": pl.lit(ctx.municipality),
        "designation_no": pl.col("er_designation_no"),
        "basic_deduction": y(T.amount(pl.col("basic_deduction"))),
        "income_adjustment_deduction": y(T.amount(adj1)),
        "single_parent": y(T.flag(pl.col("single_parent"))),
        "creation_type": pl.when(pl.col("salary_revenue") <= 5_000_000).then(pl.lit("1")).otherwise(pl.lit("2")),
    }
    for prefix in ("dependant", "young_dependant"):
        for k in range(1, 5):
            fields[f"{prefix}_{k}_kana"] = y(pl.col(f"{prefix}_{k}_kana"))
            fields[f"{prefix}_{k}_name"] = y(pl.col(f"{prefix}_{k}_name"))
            fields[f"{prefix}_{k}_nonresident"] = y(pl.when(pl.col(f"{prefix}_{k}_name").is_not_null()).then(pl.lit("00")).otherwise(pl.lit("")))
            fields[f"{prefix}_{k}_my_number"] = y(pl.col(f"{prefix}_{k}_my_number"))
    rec = jobs.select(
        *[expr.alias(name) for name, expr in fields.items()],
        *_meta(),
        pl.col("er_designation_no").alias("_group"),
        pl.concat_str([pl.col("er_designation_no"), pl.lit(":"), pl.col("employee_no")]).alias("_doc_key"),
        pl.col("_ordinary"),
        pl.col("end_date").is_not_null().alias("_leaver"),
        pl.col("employment_id").alias("_source_id"),
        pl.lit("新規").alias("_submission"),
        pl.lit("main").alias("_kind"),
    )
    return _layout_frame("salary_report", rec)


SALARY_FIELDS = _FieldMap(
    amount="payment_amount",
    submission="submission_type",
    mandatory="recipient_name",
    width="employee_no",
    width_extra=26,
    date=("birth_month", "birth_day"),
    era="birth_era",
    my_number="recipient_my_number",
    kana="recipient_kana",
    kanji="recipient_name",
    invalid_bytes="recipient_name",
    fullwidth=("payment_amount", "withholding_tax", "birth_year", "birth_month", "birth_day"),
)
SUMMARY_FIELDS = _FieldMap(
    amount="reported_total",
    submission="submission_type",
    mandatory="payer_name",
    width="designation_no",
    width_extra=13,
    date=("submit_month", "submit_day"),
    era="submit_era",
    fullwidth=("reported_total", "recipients_total"),
)
SUMMARY_CATEGORIES = (D.WRONG_FIELD_COUNT, D.NON_NUMERIC_AMOUNT, D.EMPTY_MANDATORY_FIELD, D.TRUNCATED_LINE, D.FULLWIDTH_DIGITS)


def _write_salary(ctx: _Ctx, people: pl.DataFrame) -> None:
    rec = _salary_records(ctx, people)
    rng = ctx.rng("salary/additional")
    additional = rng.random(rec.height) < ADDITIONAL_RATE
    rec = rec.with_columns(
        pl.when(pl.Series(additional)).then(pl.lit("additional")).otherwise(pl.col("_kind")).alias("_kind"),
        pl.when(pl.Series(additional)).then(pl.lit("1")).otherwise(pl.col("submission_type")).alias("submission_type"),
        pl.when(pl.Series(additional)).then(pl.lit("追加")).otherwise(pl.col("_submission")).alias("_submission"),
    )
    # main files first (to pick the files delivered twice), then 訂正/取消 records, then final file names
    windows = [(ctx.day(1, 20), ctx.day(1, 31), 0.85), (ctx.day(1, 5), ctx.day(1, 19), 0.10), (ctx.day(2, 1), ctx.day(2, 20), 0.05)]
    probe = _assign_files(ctx, rec.with_columns(pl.col("_kind").replace_strict(KIND_ORDER).alias("_kind_order")),
                          source="salary_report", stem="kyuyo", chunk=None, windows=windows, stream="salary/files", sort_key=["employee_no", "_source_id"])
    main_files = probe.filter(pl.col("_kind") == "main").group_by("file").agg(pl.len().alias("n"), pl.col("_group").first())
    dup_files = _pick_duplicate_files(ctx, main_files, "salary/duplicates")
    dup_groups = main_files.filter(pl.col("file").is_in(dup_files)).get_column("_group").to_list()
    rec = _lifecycle(ctx, rec, stream="salary/lifecycle", key_field="employee_no", amount_field="payment_amount",
                     submission_field="submission_type", exclude_files=pl.col("_group").is_in(dup_groups))
    rec = rec.with_columns(pl.col("_kind").replace_strict(KIND_ORDER).alias("_kind_order"))
    rec = _assign_files(ctx, rec, source="salary_report", stem="kyuyo", chunk=None, windows=windows,
                        stream="salary/files", sort_key=["employee_no", "_source_id"])
    dup_files = sorted(set(rec.filter(pl.col("_group").is_in(dup_groups) & (pl.col("_kind") == "main")).get_column("file").to_list()))
    eligible = ~pl.col("file").is_in(dup_files) & pl.col("_kind").is_in(["main", "additional"])
    rec = _plant_csv(ctx, "salary_report", rec, "salary_report", SALARY_FIELDS, people, eligible)
    rec = _with_route(rec)
    summary = _salary_summaries(ctx, rec)
    summary = _plant_csv(ctx, "salary_summary", summary, "salary_summary", SUMMARY_FIELDS, people,
                         ~pl.col("file").is_in([f.replace("_kyuyo_", "_soukatsu_") for f in dup_files]), SUMMARY_CATEGORIES)
    summary = _with_route(summary)
    T.write_cp932_files(rec.select("file", "record_no", "line"), ctx.landing)
    T.write_cp932_files(summary.select("file", "record_no", "line"), ctx.landing)
    names = _duplicate_names(ctx, dup_files, "salary/dup-dates")
    copies = _duplicate_files(ctx, "salary_report", rec, names)
    summary_names = {k.replace("_kyuyo_", "_soukatsu_"): v.replace("_kyuyo_", "_soukatsu_") for k, v in names.items()}
    summary_copies = _duplicate_files(ctx, "salary_summary", summary, summary_names)
    _emit(ctx, "salary_report", rec, copies)
    _emit(ctx, "salary_summary", summary, summary_copies)


def _salary_summaries(ctx: _Ctx, rec: pl.DataFrame) -> pl.DataFrame:
    """One 総括表 record per 明細 file, counts as written in that file."""
    employers = ctx.pop.employers
    per_file = rec.group_by("file").agg(
        pl.col("_group").first().alias("designation_no"),
        pl.col("submission_type").first().alias("_sub_code"),
        pl.col("_submission").first(),
        pl.col("_received").first(),
        (~pl.col("_ordinary")).sum().alias("special"),
        (pl.col("_ordinary") & pl.col("_leaver")).sum().alias("retired"),
        (pl.col("_ordinary") & ~pl.col("_leaver")).sum().alias("other"),
        pl.len().alias("total"),
    ).sort("file")
    # submission of the file = its kind (the planted bad 提出区分 does not change the batch's kind)
    kind_code = {"新規": "0", "追加": "1", "訂正": "2", "取消": "3"}
    rng = ctx.rng("salary/summary")
    n = per_file.height
    extra = (rng.random(n) * 3 * per_file.get_column("total").to_numpy()).astype(np.int64)
    submitted = per_file.get_column("_received").to_numpy() - rng.integers(0, 6, n).astype("timedelta64[D]")
    frame = per_file.join(
        employers.select(
            pl.col("designation_no"), pl.col("corporate_number"), pl.col("name"), pl.col("postal_code"), pl.col("address"),
            pl.col("phone"), pl.col("business_type"),
        ),
        on="designation_no",
        how="left",
        validate="m:1",
    ).sort("file").with_columns(
        pl.Series("_submitted", submitted).cast(pl.Date),
        pl.Series("_extra", extra),
        pl.Series("_notice", rng.choice(np.array(["1", "2"], dtype=object), size=n, p=[0.6, 0.4]).tolist(), dtype=pl.String),
        pl.Series("_pay", rng.choice(np.array(["月給　毎月２５日", "月給　毎月末日", "月給　毎月２０日", "日給　毎週金曜日"], dtype=object), size=n).tolist(), dtype=pl.String),
    )
    fields = {
        "destination_municipality_code": pl.lit(ctx.municipality),
        "destination_name": pl.lit("港区"),
        "income_year": pl.lit(f"{ctx.reiwa_income_year:02d}"),
        "submit_era": T.era_code(pl.col("_submitted"), T.LEGAL),
        "submit_year": T.pad2(T.era_year(pl.col("_submitted"))),
        "submit_month": T.pad2(pl.col("_submitted").dt.month()),
        "submit_day": T.pad2(pl.col("_submitted").dt.day()),
        "designation_no": pl.col("designation_no"),
        "payer_number": pl.col("corporate_number"),
        "payer_name": pl.col("name"),
        "payer_postal_code": pl.col("postal_code"),
        "payer_address": pl.col("address"),
        "payer_phone": pl.col("phone"),
        "contact_section": pl.lit("総務部　総務課"),
        "contact_phone": pl.col("phone"),
        "business_type": pl.col("business_type"),
        "pay_period_from": pl.lit("01"),
        "pay_period_to": pl.lit("12"),
        "pay_method": pl.col("_pay"),
        "payment_slip": pl.lit("1"),
        "recipients_total": (pl.col("total") + pl.col("_extra")).cast(pl.String),
        "reported_special": pl.col("special").cast(pl.String),
        "reported_ordinary_retired": pl.col("retired").cast(pl.String),
        "reported_ordinary_other": pl.col("other").cast(pl.String),
        "reported_total": pl.col("total").cast(pl.String),
        "notice_method_employer": pl.col("_notice"),
        "notice_method_employee": pl.col("_notice"),
        "submission_type": pl.col("_submission").replace_strict(kind_code),
    }
    out = frame.select(
        *[expr.alias(k) for k, expr in fields.items()],
        pl.col("file").str.replace("_kyuyo_", "_soukatsu_", literal=True).alias("file"),
        pl.lit(1, pl.Int64).alias("record_no"),
        pl.lit(None, pl.Int64).alias("_person_id"),
        pl.lit(None, pl.String).alias("_atena_no"),
        pl.lit(D.ROUTE_STAGE).alias("_route"),
        pl.lit(None, pl.String).alias("_destination"),
        pl.lit(None, pl.String).alias("_defect"),
        pl.lit(None, pl.String).alias("_field"),
        pl.lit(None, pl.String).alias("_desc"),
        pl.concat_str([pl.col("designation_no"), pl.lit(":"), pl.col("file").str.extract(r"_(\d{3})\.csv$")]).alias("_doc_key"),
        pl.col("_submission"),
        pl.col("_received"),
    )
    return _layout_frame("salary_summary", out)
