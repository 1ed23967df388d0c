"""Contract of the tax assessment (`tax_assessment` stage): curated/tax_assessment.

One row per person of the taxation basis: the calculator's figures (transforms.tax_engine
OUTPUT_COLUMNS) plus every intermediate the computation sheet prints (``juminzei explain``). The
checks are the invariants of the law that hold whatever the rules of the year: money is non-negative
integer yen, the levies are rounded to 100円 and the taxable income to 1,000円, an exempt person pays
nothing of what they are exempt from, and the total is the sum of its parts.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

EXEMPTIONS = ("none", "income_levy_exempt", "fully_exempt")
MONEY = (
    "salary_income", "public_pension_income", "total_income", "gross_income", "income_deductions", "taxable_income",
    "income_levy_gross_municipal", "income_levy_gross_prefectural", "adjustment_credit_municipal",
    "adjustment_credit_prefectural", "income_levy_municipal", "income_levy_prefectural",
    "per_capita_levy_municipal", "per_capita_levy_prefectural", "forest_environment_tax", "total_tax",
)


class TaxAssessment(pa.DataFrameModel):
    """curated/tax_assessment: the assessment (賦課) of every person of the basis."""

    person_id: pl.String = pa.Field(unique=True)
    fiscal_year: pl.Int32 = pa.Field()
    exemption: pl.String = pa.Field(isin=list(EXEMPTIONS))
    taxable_income: pl.Int64 = pa.Field(ge=0)
    income_levy_municipal: pl.Int64 = pa.Field(ge=0)
    income_levy_prefectural: pl.Int64 = pa.Field(ge=0)
    total_tax: pl.Int64 = pa.Field(ge=0)

    class Config:
        name = "TaxAssessment"
        strict = False  # the intermediates of the computation sheet follow
        coerce = False

    @pa.dataframe_check(name="money columns are non-null, non-negative Int64")
    def _money(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.all_horizontal([pl.col(c).is_not_null() & (pl.col(c) >= 0) for c in MONEY]))

    @pa.dataframe_check(name="課税標準 is a multiple of 1,000 and each 所得割 of 100 (地方税法第20条の4の2)")
    def _rounding(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("taxable_income") % 1000 == 0)
            & (pl.col("income_levy_municipal") % 100 == 0)
            & (pl.col("income_levy_prefectural") % 100 == 0)
        )

    @pa.dataframe_check(name="exempt persons pay nothing they are exempt from")
    def _exempt(cls, data: PolarsData) -> pl.LazyFrame:
        levies = pl.col("income_levy_municipal") + pl.col("income_levy_prefectural")
        per_capita = pl.col("per_capita_levy_municipal") + pl.col("per_capita_levy_prefectural") + pl.col("forest_environment_tax")
        return data.lazyframe.select(
            pl.when(pl.col("exemption") == "fully_exempt").then((levies == 0) & (per_capita == 0))
            .when(pl.col("exemption") == "income_levy_exempt").then(levies == 0)
            .otherwise(True)
        )

    @pa.dataframe_check(name="total_tax = 所得割 + 均等割 + 森林環境税")
    def _total(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("total_tax") == pl.sum_horizontal(
                "income_levy_municipal", "income_levy_prefectural", "per_capita_levy_municipal",
                "per_capita_levy_prefectural", "forest_environment_tax",
            )
        )

    @pa.dataframe_check(name="所得割 never exceeds 算出所得割")
    def _credits(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("income_levy_municipal") <= pl.col("income_levy_gross_municipal"))
            & (pl.col("income_levy_prefectural") <= pl.col("income_levy_gross_prefectural"))
        )
