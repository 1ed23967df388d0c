"""Contracts of the notice_export stage: the collection plan and the installment schedule.

* :class:`CollectionPlan`      curated/collection_plan       one row per assessed person with tax > 0:
  which part is collected by 給与特別徴収, 年金特別徴収 and 普通徴収 (transforms.collection_plan)
* :class:`InstallmentSchedule` curated/installment_schedule  one row per person, route and period:
  the 期割 of every route (transforms.installments)
* :class:`NoticeHold`          curated/notice_hold           one row per held notice (the hold queue)
* :class:`NoticeInputQuarantine` quarantine/notice_export   held records of the notice inputs (the
  registry's quarantine contract, for the notice inputs' sources)

The checks are the invariants the law and the hand-offs rely on whatever the rules of the year: the
three routes sum to the assessment, each 特別徴収 amount names its 特別徴収義務者, and the installments
of a person's route sum to that route's amount (checked by the stage across the two datasets).
Validate *collected* DataFrames.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from contracts.resident_snapshot import QuarantineRecord

#: the landing files notice_export reads (contracts/layouts/; transforms.notice_inputs.SOURCES)
NOTICE_INPUT_SOURCES = ("mailing_address", "support_measures")

#: the routes of an installment (transforms.installments): 普通徴収, 給与特別徴収, 年金 仮徴収, 年金 本徴収
ROUTES = ("ordinary", "salary", "pension_provisional", "pension_main")
ROUTE_AMOUNTS = ("salary_amount", "pension_amount", "ordinary_amount")
#: the notices of a person: 納税通知書 (普通徴収 and 年金特別徴収) and 特別徴収税額決定通知書 (給与)
NOTICE_KINDS = ("tax_notice", "special_collection", "non_registered_notice")
#: why a notice is held instead of exported
HOLD_REASONS = ("support_measures", "no_address")
_ATENA = r"^[0-9]{10}$"
_PERIOD = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class CollectionPlan(pa.DataFrameModel):
    """curated/collection_plan: the 徴収方法 of every assessed person with tax."""

    person_id: pl.String = pa.Field(unique=True, str_matches=_ATENA)
    fiscal_year: pl.Int32
    total_tax: pl.Int64 = pa.Field(gt=0)
    income_levy: pl.Int64 = pa.Field(ge=0)
    per_capita_total: pl.Int64 = pa.Field(ge=0)
    salary_income_levy: pl.Int64 = pa.Field(ge=0)
    pension_income_levy: pl.Int64 = pa.Field(ge=0)
    other_income_levy: pl.Int64 = pa.Field(ge=0)
    salary_amount: pl.Int64 = pa.Field(ge=0)
    salary_payer: pl.String = pa.Field(nullable=True)
    salary_doc_uid: pl.String = pa.Field(nullable=True)
    pension_amount: pl.Int64 = pa.Field(ge=0)
    pension_payer: pl.String = pa.Field(nullable=True, str_matches=r"^[0-9]{3}$")
    pension_first_year: pl.Boolean = pa.Field(nullable=True)
    ordinary_amount: pl.Int64 = pa.Field(ge=0)
    ordinary_reason: pl.String = pa.Field(nullable=True, str_matches=r"^普[A-F]$")
    other_income_collection: pl.String = pa.Field(isin=["withhold", "self"])

    class Config:
        name = "CollectionPlan"
        strict = True
        ordered = True
        coerce = False

    @pa.dataframe_check(name="the three routes sum to the assessed tax to the yen")
    def _sums(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("salary_amount") + pl.col("pension_amount") + pl.col("ordinary_amount") == pl.col("total_tax"))

    @pa.dataframe_check(name="the 所得割 parts sum to the 所得割")
    def _parts(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("salary_income_levy") + pl.col("pension_income_levy") + pl.col("other_income_levy")
            == pl.col("income_levy"))

    @pa.dataframe_check(name="a withheld amount names its 特別徴収義務者, and only a withheld amount does")
    def _payers(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            ((pl.col("salary_amount") > 0) == pl.col("salary_payer").is_not_null())
            & ((pl.col("pension_amount") > 0) == pl.col("pension_payer").is_not_null())
            & (pl.col("salary_payer").is_null() == pl.col("salary_doc_uid").is_null())
        )


class InstallmentSchedule(pa.DataFrameModel):
    """curated/installment_schedule: every installment (期割) of every route of every plan."""

    person_id: pl.String = pa.Field(str_matches=_ATENA)
    method: pl.String = pa.Field(isin=["ordinary", "salary", "pension"])
    sequence: pl.Int32 = pa.Field(ge=0)
    period: pl.String = pa.Field(str_matches=_PERIOD)
    due_date: pl.Date
    amount: pl.Int64 = pa.Field(gt=0)
    route: pl.String = pa.Field(isin=list(ROUTES))
    payer: pl.String = pa.Field(nullable=True)

    class Config:
        name = "InstallmentSchedule"
        strict = True
        ordered = True
        coerce = False
        unique = ["person_id", "method", "sequence"]

    @pa.dataframe_check(name="a withheld installment names its 特別徴収義務者; an ordinary one none")
    def _payer(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("route") == "ordinary") == pl.col("payer").is_null())


class NoticeHold(pa.DataFrameModel):
    """curated/notice_hold: the notices held back instead of exported (保留): every notice of a person on
    the DV等支援措置 list, and a 納税通知書 with no address to send it to. No address is kept here: an
    operator handles each one by hand (docs/notice-export.md)."""

    person_id: pl.String = pa.Field(str_matches=_ATENA)
    notice_no: pl.String = pa.Field(unique=True, str_matches=r"^[0-9]{4}[123][0-9]{10}$")
    notice_kind: pl.String = pa.Field(isin=list(NOTICE_KINDS))
    designation_no: pl.String = pa.Field(nullable=True)
    reason: pl.String = pa.Field(isin=list(HOLD_REASONS))
    amount: pl.Int64 = pa.Field(ge=0)
    fiscal_year: pl.Int32

    class Config:
        name = "NoticeHold"
        strict = True
        ordered = True
        coerce = False
        unique = ["person_id", "notice_kind"]

    @pa.dataframe_check(name="a held 特別徴収 notice names its 特別徴収義務者; a 納税通知書 none")
    def _designation(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("notice_kind") == "special_collection") == pl.col("designation_no").is_not_null())


class NoticeInputQuarantine(QuarantineRecord):
    """quarantine/notice_export: one row per held record of a notice input; the same columns, reasons and
    checks as the registry's quarantine (the inputs share its dialect and parser)."""

    source: pl.String = pa.Field(isin=list(NOTICE_INPUT_SOURCES))

    class Config:
        name = "NoticeInputQuarantine"
