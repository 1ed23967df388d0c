"""Contracts of the taxation basis (課税台帳の基礎資料): what `record_merge` (資料併合) writes and the
tax engine (`transforms.tax_engine`) reads. The calculator (`juminzei calc`) builds the same two
frames from its JSON input, so the DAG and the calculator run one engine on one shape.

* :class:`TaxationBasis`   curated/taxation_basis            one row per person (宛名番号) and 年度
* :class:`BasisRelative`   curated/taxation_basis_relatives  one row per spouse / dependant named

Amounts are integer yen (``Int64``); an absent amount is 0, never null. ``person_id`` is the
宛名番号 in the lake and the input line number in the calculator.

Income fields (所得の区分, 地方税法第32条・第313条 with 所得税法の例):
* ``salary_revenue`` 給与の収入金額 and ``public_pension_revenue`` 公的年金等の収入金額: revenues; the
  engine derives 給与所得 and 公的年金等に係る雑所得.
* ``business_income`` 事業所得, ``real_estate_income`` 不動産所得, ``dividend_income`` 配当所得
  (総合課税), ``misc_income`` その他の雑所得 (公的年金等以外): 所得金額 (revenue − expenses).
* ``occasional_income`` 一時所得の金額 after its 50万円 special deduction and before halving; the
  engine counts half of it (所得税法第22条第2項第2号).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

DISABILITY = ("none", "ordinary", "special")  # 障害者 / 特別障害者
SEX = ("female", "male")
RELATIVE_ROLES = ("spouse", "dependant")

#: column → dtype of the person frame (the engine's input); amounts default to 0.
PERSON_AMOUNTS: tuple[str, ...] = (
    "salary_revenue", "public_pension_revenue", "business_income", "real_estate_income",
    "dividend_income", "misc_income", "occasional_income",
    "social_insurance", "small_enterprise_mutual_aid",
    "life_new_general", "life_old_general", "life_new_pension", "life_old_pension", "life_care_medical",
    "earthquake_insurance", "old_long_term_casualty_insurance", "medical_expenses", "medical_reimbursed",
    "housing_loan_unused_income_tax_credit", "housing_loan_taxable_income_for_income_tax",
    "furusato_donations", "other_donations_municipal", "other_donations_prefectural",
)
PERSON_FLAGS: tuple[str, ...] = (
    "widow", "single_parent", "working_student", "livelihood_assistance", "one_stop",
    "housing_not_specified_acquisition",  # 住宅ローン: the home is not a 特定取得 (no 8%/10% 消費税): 5% / 97,500 cap
)
RELATIVE_AMOUNTS: tuple[str, ...] = ("salary_revenue", "public_pension_revenue", "other_income")


def person_schema() -> dict[str, pl.DataType]:
    """The engine's person columns and dtypes (the calculator and record_merge build exactly these)."""
    schema: dict[str, pl.DataType] = {
        "person_id": pl.String(),
        "fiscal_year": pl.Int32(),
        "birth_date": pl.Date(),
        "sex": pl.String(),
        "disability": pl.String(),
    }
    schema.update({name: pl.Boolean() for name in PERSON_FLAGS})
    schema.update({name: pl.Int64() for name in PERSON_AMOUNTS})
    schema["housing_moved_in"] = pl.Date()  # 居住開始日 (住宅借入金等特別税額控除), null if none
    return schema


def relative_schema() -> dict[str, pl.DataType]:
    """The engine's relative columns (spouse and dependants named by the taxpayer)."""
    schema: dict[str, pl.DataType] = {
        "person_id": pl.String(),
        "role": pl.String(),
        "seq": pl.Int32(),
        "birth_date": pl.Date(),
        "disability": pl.String(),
        "cohabiting": pl.Boolean(),  # 同居
        "lineal_ascendant": pl.Boolean(),  # 直系尊属 (同居老親等)
    }
    schema.update({name: pl.Int64() for name in RELATIVE_AMOUNTS})
    return schema


class TaxationBasis(pa.DataFrameModel):
    """curated/taxation_basis: one row per resident on 1 January (and 住登外 taxpayer) and 年度.

    The engine columns (``person_schema``) come first; record_merge adds its own columns after them
    (``atena_no``, ``has_documents``, ``basis_source`` …), so the model is not strict about extras.
    """

    person_id: pl.String = pa.Field(unique=True)
    fiscal_year: pl.Int32 = pa.Field(ge=2020, le=2100)
    birth_date: pl.Date = pa.Field(nullable=True)
    sex: pl.String = pa.Field(isin=list(SEX), nullable=True)
    disability: pl.String = pa.Field(isin=list(DISABILITY))

    class Config:
        name = "TaxationBasis"
        strict = False
        coerce = False

    @pa.dataframe_check(name="every amount column present, Int64, non-null and not negative")
    def _amounts(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.all_horizontal([pl.col(name).is_not_null() & (pl.col(name) >= 0) for name in PERSON_AMOUNTS])
        )

    @pa.dataframe_check(name="every flag column present and non-null")
    def _flags(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.all_horizontal([pl.col(name).is_not_null() for name in PERSON_FLAGS]))


class BasisRelative(pa.DataFrameModel):
    """curated/taxation_basis_relatives: spouse (配偶者) and dependants (扶養親族) per taxpayer.

    ``other_income`` is the relative's 合計所得金額 other than salary and public pensions (or the
    whole 合計所得金額 when a document states only that). record_merge adds ``relative_atena_no``
    (resolved 宛名番号 or null) and the lineage columns after the engine columns.
    """

    person_id: pl.String = pa.Field()
    role: pl.String = pa.Field(isin=list(RELATIVE_ROLES))
    seq: pl.Int32 = pa.Field(ge=1)
    birth_date: pl.Date = pa.Field(nullable=True)
    disability: pl.String = pa.Field(isin=list(DISABILITY))
    cohabiting: pl.Boolean = pa.Field()
    lineal_ascendant: pl.Boolean = pa.Field()
    salary_revenue: pl.Int64 = pa.Field(ge=0)
    public_pension_revenue: pl.Int64 = pa.Field(ge=0)
    other_income: pl.Int64 = pa.Field(ge=0)

    class Config:
        name = "BasisRelative"
        strict = False
        coerce = False
        unique = ["person_id", "role", "seq"]

    @pa.dataframe_check(name="at most one spouse per taxpayer")
    def _one_spouse(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            ~((pl.col("role") == "spouse") & (pl.col("seq") > 1))
        )
