"""Contracts of record_merge's own outputs (資料併合). The taxation basis and its relatives are
:mod:`contracts.taxation_basis`; these are the audit and operator frames beside them.

* :class:`BasisLineage`  curated/basis_lineage   one row per (person, document version) considered
* :class:`MergeFlag`     curated/merge_flags     one row per (flag, person, related)
* :class:`NonFiler`      curated/non_filers      未申告調査: residents on 1 January without documents
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from contracts.returns_ingest import STATUSES

#: The document sources merged into the taxation basis (課税資料): 確定申告書 (e-Tax), 住民税申告書,
#: 給与支払報告書, 公的年金等支払報告書, 申告特例通知書 (ふるさと納税 one-stop).
SOURCES: tuple[str, ...] = ("etax_return", "resident_return", "salary_report", "pension_report", "furusato_notice")
#: What record_merge did with each document version (:class:`BasisLineage` ``use``).
LINEAGE_USES: tuple[str, ...] = (
    "basis",            # the person's 確定申告書 / 住民税申告書 that the basis follows
    "summed",           # an information return summed into the basis (no return filed)
    "added",            # an information return that filled categories a 住民税申告書 left at 0
    "voided_one_stop",  # a 申告特例通知書 voided by a return (確定申告書 or 住民税申告書)
    "superseded",       # an earlier version replaced by a 訂正
    "cancelled",        # a version withdrawn by a 取消 (and the 取消 record itself)
    "not_used",         # current but not used: covered by a return, a second return, or not resident on 1 January
)
#: The issues raised for an operator (:class:`MergeFlag` ``flag``); never resolved silently.
FLAGS: tuple[str, ...] = (
    "dependant_claimed_twice",      # 扶養重複
    "dependant_income_over_limit",  # 扶養否認 候補
    "document_in_review",           # 宛名付設 review pending: the basis may be incomplete
    "conflicting_declarations",     # two current returns (確定申告書 and 住民税申告書, or two of one kind)
    "declared_salary_differs",      # 住民税申告書 salary ≠ sum of 給与支払報告書
    "dependants_not_itemised",      # e-Tax return claims 扶養控除 but lists no dependant (or none were staged)
    "loss_not_offset",              # a negative income (損失) was set to 0: 損益通算 is not applied here
    "orphan_correction_merged",     # a 訂正 whose original was never staged is merged as the only version
)


class BasisLineage(pa.DataFrameModel):
    """Which document (and version) each basis value came from."""

    person_id: pl.String = pa.Field()  # 宛名番号
    doc_uid: pl.String = pa.Field()
    source: pl.String = pa.Field(isin=list(SOURCES))
    version: pl.Int64 = pa.Field(ge=1)
    history_status: pl.String = pa.Field(isin=list(STATUSES))
    is_current: pl.Boolean = pa.Field()
    use: pl.String = pa.Field(isin=list(LINEAGE_USES))
    fields: pl.List(pl.String) = pa.Field()
    decision_id: pl.String = pa.Field(nullable=True)  # operator's 宛名付設 decision (review_decisions), else auto

    class Config:
        name = "BasisLineage"
        strict = True
        coerce = False
        unique = ["person_id", "doc_uid", "version"]

    @pa.dataframe_check(name="only a current version can be used")
    def _used_is_current(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            ~pl.col("use").is_in(["basis", "summed", "added", "voided_one_stop"]) | pl.col("is_current")
        )


class MergeFlag(pa.DataFrameModel):
    """An issue for an operator; never resolved silently."""

    flag: pl.String = pa.Field(isin=list(FLAGS))
    person_id: pl.String = pa.Field()
    related: pl.String = pa.Field(nullable=True)  # doc_uid or 宛名番号 of the other party
    detail: pl.String = pa.Field()
    decision: pl.String = pa.Field(nullable=True, isin=["keep", "deny", "pending"])  # operator's 扶養 decision
    decision_id: pl.String = pa.Field(nullable=True)  # curated/review_decisions row applied, else null

    class Config:
        name = "MergeFlag"
        strict = True
        coerce = False
        unique = ["flag", "person_id", "related"]


class NonFiler(pa.DataFrameModel):
    """未申告調査 candidate: resident on 1 January with no current document."""

    atena_no: pl.String = pa.Field(unique=True)
    household_no: pl.String = pa.Field(nullable=True)
    birth_date: pl.Date = pa.Field(nullable=True)
    age_on_assessment_date: pl.Int16 = pa.Field(nullable=True, ge=0)
    claimed_as_relative: pl.Boolean = pa.Field()
    claimed_by: pl.String = pa.Field(nullable=True)
    document_in_review: pl.Boolean = pa.Field()

    class Config:
        name = "NonFiler"
        strict = True
        coerce = False

    @pa.dataframe_check(name="claimed_by is given exactly when claimed_as_relative")
    def _claimed(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("claimed_as_relative") == pl.col("claimed_by").is_not_null())
