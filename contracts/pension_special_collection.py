"""Contracts of the pension_special_collection stage (年金特別徴収, docs/pension-exchange.md).

* :class:`PensionTargets`    curated/pension_targets      one row per 特別徴収対象者 record (00) in force:
  its 宛名番号 (or none) and whether the ward withholds from that pension; ``notice_export`` reads it
* :class:`PensionLedger`     curated/pension_ledger       one row per person, insurer and pension month
  asked for or reported: requested against withheld
* :class:`PensionMoves`      curated/pension_moves        one row per month moved to 普通徴収 after a stop
* :class:`SwitchInstallments` curated/pension_switch_installments  the 普通徴収 installments of what moved

The checks are the invariants the exchange relies on: a withheld record names its 宛名番号 and nothing else
names why not; a person is withheld from one pension; a reported month adds up; a month moves once, with
what was not withheld of it. Validate *collected* DataFrames.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

_ATENA = r"^[0-9]{10}$"
_PERIOD = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
_PAYER = r"^[0-9]{3}$"
NOT_WITHHELD_REASONS = ("not_matched", "another_pension", "no_previous_record")
LEDGER_STATUSES = ("withheld", "not_withheld", "refused", "pending", "mismatch", "unexpected")


class _MatchedRecord(pa.DataFrameModel):
    """The fields of an insurer's record about a pensioner (00, 30) and its 宛名付設."""

    doc_uid: pl.String = pa.Field(unique=True)
    file: pl.String
    record_no: pl.Int64 = pa.Field(ge=1)
    payer_code: pl.String = pa.Field(str_matches=_PAYER)
    basic_pension_no: pl.String = pa.Field(str_matches=r"^[0-9]{10}$")
    pension_code: pl.String = pa.Field(str_matches=r"^[0-9]{4}$")
    category: pl.String = pa.Field(isin=["01", "02"])
    pension_annual_amount: pl.Int64 = pa.Field(ge=0)
    atena_no: pl.String = pa.Field(nullable=True, str_matches=_ATENA)
    match_decision: pl.String = pa.Field(isin=["auto", "review", "no_candidate"])
    match_rule: pl.String = pa.Field(nullable=True)


class PensionTargets(_MatchedRecord):
    """curated/pension_targets: the insurers' 特別徴収対象者 as the ward decided them."""

    previous_year_tax: pl.Int64 = pa.Field(nullable=True, ge=0)
    withholding: pl.Boolean
    not_withheld_reason: pl.String = pa.Field(nullable=True, isin=list(NOT_WITHHELD_REASONS))

    class Config:
        name = "PensionTargets"
        strict = True
        ordered = True
        coerce = False

    @pa.dataframe_check(name="a record is withheld from exactly when no reason says otherwise, and names its person")
    def _reason(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("withholding") == pl.col("not_withheld_reason").is_null())
            & (~pl.col("withholding") | pl.col("atena_no").is_not_null()))

    @pa.dataframe_check(name="a person is withheld from one pension only")
    def _one_pension(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            ~(pl.col("withholding") & pl.col("atena_no").is_duplicated().over("withholding")))


class PensionLedger(pa.DataFrameModel):
    """curated/pension_ledger: what was asked for and what the insurers report, per person, insurer and month."""

    atena_no: pl.String = pa.Field(nullable=True, str_matches=_ATENA)
    payer_code: pl.String = pa.Field(str_matches=_PAYER)
    basic_pension_no: pl.String = pa.Field(nullable=True)
    pension_code: pl.String = pa.Field(nullable=True)
    period: pl.String = pa.Field(str_matches=_PERIOD)
    route: pl.String = pa.Field(nullable=True, isin=["pension_provisional", "pension_main"])
    requested: pl.Int64 = pa.Field(ge=0)
    withheld: pl.Int64 = pa.Field(nullable=True, ge=0)
    not_withheld: pl.Int64 = pa.Field(nullable=True, ge=0)
    result_category: pl.String = pa.Field(nullable=True)
    answer_result: pl.String = pa.Field(nullable=True)
    result_file: pl.String = pa.Field(nullable=True)
    status: pl.String = pa.Field(isin=list(LEDGER_STATUSES))

    class Config:
        name = "PensionLedger"
        strict = True
        ordered = True
        coerce = False

    @pa.dataframe_check(name="a month withheld or not withheld adds up to what was requested")
    def _adds_up(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            ~pl.col("status").is_in(["withheld", "not_withheld"])
            | ((pl.col("withheld") + pl.col("not_withheld")) == pl.col("requested")).fill_null(False))


class PensionMoves(pa.DataFrameModel):
    """curated/pension_moves: each month moved to 普通徴収, once, in the month the stop became known."""

    atena_no: pl.String = pa.Field(str_matches=_ATENA)
    payer_code: pl.String = pa.Field(str_matches=_PAYER)
    period: pl.String = pa.Field(str_matches=_PERIOD)
    route: pl.String = pa.Field(isin=["pension_provisional", "pension_main"])
    amount: pl.Int64 = pa.Field(ge=0)
    stop_period: pl.String = pa.Field(str_matches=_PERIOD)
    stop_reason: pl.String = pa.Field(str_matches=r"^(result|collection|change)_[0-9]{2}$")
    month: pl.String = pa.Field(str_matches=_PERIOD)
    notice_date: pl.Date

    class Config:
        name = "PensionMoves"
        strict = True
        ordered = True
        coerce = False
        unique = ["atena_no", "payer_code", "period"]

    @pa.dataframe_check(name="a month moves from the stop on")
    def _after_stop(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("period") >= pl.col("stop_period"))


class SwitchInstallments(pa.DataFrameModel):
    """curated/pension_switch_installments: the 普通徴収 installments of what moved in each month."""

    month: pl.String = pa.Field(str_matches=_PERIOD)
    person_id: pl.String = pa.Field(str_matches=_ATENA)
    sequence: pl.Int32 = pa.Field(ge=0)
    period: pl.String = pa.Field(str_matches=_PERIOD)
    due_date: pl.Date
    amount: pl.Int64 = pa.Field(gt=0)
    notice_date: pl.Date

    class Config:
        name = "SwitchInstallments"
        strict = True
        ordered = True
        coerce = False
        unique = ["month", "person_id", "sequence"]

    @pa.dataframe_check(name="an installment falls due after its notice")
    def _after_notice(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("due_date") > pl.col("notice_date"))


class PensionQuarantine(pa.DataFrameModel):
    """quarantine/pension_special_collection: an exchange file quarantined whole (``record_no`` and ``field``
    null) or a record of the register's migration file, with the month it was found in; never a My Number."""

    month: pl.String = pa.Field(str_matches=_PERIOD)
    source: pl.String = pa.Field(isin=["pension_exchange", "pension_previous_year", "resident_changes"])
    file: pl.String = pa.Field(str_length={"min_value": 1})
    record_no: pl.Int64 = pa.Field(nullable=True, ge=2)
    field: pl.String = pa.Field(nullable=True)
    reason_code: pl.String = pa.Field(str_length={"min_value": 1})
    message: pl.String = pa.Field(str_length={"min_value": 1})

    class Config:
        name = "PensionQuarantine"
        strict = True
        ordered = True
        coerce = False
        unique = ["month", "source", "file", "record_no"]

    @pa.dataframe_check(name="an exchange file is quarantined whole; a register record by its line")
    def _whole_files(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("source") == "pension_exchange") == pl.col("record_no").is_null())

    @pa.check("message", name="no 12-digit number (My Number) in messages")
    def _no_my_number(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col(data.key).str.contains(r"[0-9０-９]{12}"))


class PensionCandidates(_MatchedRecord):
    """curated/pension_candidates: the 特別徴収追加候補者 (30) received in the 年度, tied to a 宛名番号 or not."""

    class Config:
        name = "PensionCandidates"
        strict = True
        ordered = True
        coerce = False

    @pa.dataframe_check(name="a candidate names its person exactly when it was matched")
    def _matched(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("match_decision") == "auto") == pl.col("atena_no").is_not_null())
