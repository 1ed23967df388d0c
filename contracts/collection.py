"""Contracts of collection accounting (収納管理, issue 15; docs/collection.md).

* :class:`LedgerEntries`  curated/collection_ledger  the append-only ledger: one row per posting — a 調定
  (``assessment``, and later ``increase``/``decrease`` by a 賦課更正), a payment, a refund or a 充当 — never
  edited; every balance is a query over it (``sql/receivable_balances.sql``).

A 調定 row is keyed by its 通知書番号, route, 特別徴収義務者 and 期別 (``period``): a 賦課更正 adds an
``increase`` or ``decrease`` row with the same key, so the old rows stay as they were posted
(地方自治法施行令第154条: 歳入の調定). Validate *collected* DataFrames.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

_ATENA = r"^[0-9]{10}$"
_PERIOD = r"^[0-9]{4}-(0[1-9]|1[0-2])$"

#: what a ledger row records (docs/glossary.md, collection)
ENTRY_KINDS = ("assessment", "increase", "decrease", "payment", "refund", "appropriation_in", "appropriation_out")
#: the routes of collection, as curated/installment_schedule names them
ROUTES = ("ordinary", "salary", "pension_provisional", "pension_main",
          "late_charge")  # 延滞金 of a 普通徴収 期 (地方税法第326条), charged when its tax is paid late


#: the columns of curated/collection_ledger, in order (an empty ledger is a frame of this schema)
LEDGER_SCHEMA: dict[str, pl.DataType] = {
    "entry_id": pl.String(), "posting_run": pl.String(), "posted_on": pl.Date(), "value_date": pl.Date(),
    "entry_kind": pl.String(), "atena_no": pl.String(), "fiscal_year": pl.Int64(), "route": pl.String(),
    "payer": pl.String(), "notice_no": pl.String(), "period": pl.String(), "installment": pl.Int32(),
    "due_date": pl.Date(), "amount": pl.Int64(), "cause": pl.String(),
}


class LedgerEntries(pa.DataFrameModel):
    """curated/collection_ledger, one posting run's rows."""

    entry_id: pl.String = pa.Field(unique=True)  # the row's key, readable (transforms.receivables.entry_id)
    posting_run: pl.String
    posted_on: pl.Date
    value_date: pl.Date  # the day the money moved: 領収日 of a payment; the posting day of 調定, 充当 and 還付
    entry_kind: pl.String = pa.Field(isin=list(ENTRY_KINDS))
    atena_no: pl.String = pa.Field(str_matches=_ATENA)
    fiscal_year: pl.Int64 = pa.Field(ge=2000, le=2100)
    route: pl.String = pa.Field(isin=list(ROUTES))
    payer: pl.String = pa.Field(nullable=True)
    notice_no: pl.String = pa.Field(str_matches=r"^[0-9]{4}[12][0-9]{10}$")
    period: pl.String = pa.Field(str_matches=_PERIOD)
    installment: pl.Int32 = pa.Field(ge=1, le=12)  # 期別: 普通徴収 第n期, 特別徴収 the month of the 年度 (4月 = 1)
    due_date: pl.Date
    amount: pl.Int64 = pa.Field(gt=0)
    cause: pl.String  # what the row comes from: a dataset and its key, a payment file and its record

    class Config:
        name = "LedgerEntries"
        strict = True
        ordered = True
        coerce = False

    @pa.dataframe_check(name="普通徴収 (and its 延滞金) has no 特別徴収義務者 and every 特別徴収 route names one")
    def _payer(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("route").is_in(["ordinary", "late_charge"]) == pl.col("payer").is_null())

    @pa.dataframe_check(name="the 通知書番号 is the person's: 年度, kind (1 納税通知書, 2 特別徴収), 宛名番号")
    def _notice(cls, data: PolarsData) -> pl.LazyFrame:
        kind = pl.when(pl.col("route") == "salary").then(pl.lit("2")).otherwise(pl.lit("1"))
        expected = pl.concat_str(pl.col("fiscal_year").cast(pl.String).str.zfill(4), kind, pl.col("atena_no"))
        return data.lazyframe.select(pl.col("notice_no") == expected)


__all__ = ["ENTRY_KINDS", "LEDGER_SCHEMA", "ROUTES", "LedgerEntries"]
