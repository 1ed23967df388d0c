"""The national 全国地方公共団体コード table (``contracts/local_government_codes.csv``) and its contract.

One row per 都道府県, 市区町村 and 政令指定都市の区 (総務省「都道府県コード及び市区町村コード」, the
release of 令和6年1月1日; provenance, counts and how to update: ``local_government_codes.md``).
The table is reference data read by the pipelines and handed to pure transforms
(:mod:`transforms.municipality_codes`), e.g. to find the 回送 destination of a document from its address.

Columns
-------
``code``                  6-digit 団体コード incl. check digit (JIS X 0401/0402 5 digits + 検査数字)
``prefecture``            都道府県名
``county``                郡名 of a 町/村 (from 日本郵便's 郵便番号データ; empty where none)
``municipality``          市区町村名; for a 政令指定都市の区 the full name (横浜市鶴見区); empty on prefecture rows
``municipality_kana``     読み in full-width katakana (as given by the source; informative, not used to match)
``kind``                  prefecture | special_ward (東京都の特別区) | designated_city (政令指定都市) |
                          designated_city_ward (行政区) | city | town | village
``designated_city_code``  for a designated_city_ward: the code of its city (the taxing body); else empty
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from contracts.identifiers import local_government_code_is_valid

TABLE_FILE = Path(__file__).resolve().parent / "local_government_codes.csv"
KINDS = ("prefecture", "special_ward", "designated_city", "designated_city_ward", "city", "town", "village")
COLUMNS = ("code", "prefecture", "county", "municipality", "municipality_kana", "kind", "designated_city_code")


class LocalGovernmentCode(pa.DataFrameModel):
    """contracts/local_government_codes.csv: one row per 地方公共団体 (and 政令指定都市の区)."""

    code: pl.String = pa.Field(unique=True, str_matches=r"^[0-9]{6}$")
    prefecture: pl.String = pa.Field(str_matches=r"^.{2,3}[都道府県]$")
    county: pl.String = pa.Field(nullable=True, str_matches=r"^.+郡$")
    municipality: pl.String = pa.Field(nullable=True, str_matches=r"^.+[市区町村]$")
    municipality_kana: pl.String = pa.Field(nullable=True, str_matches=r"^[ァ-ヶー]+$")
    kind: pl.String = pa.Field(isin=list(KINDS))
    designated_city_code: pl.String = pa.Field(nullable=True, str_matches=r"^[0-9]{6}$")

    class Config:
        name = "LocalGovernmentCode"
        strict = True
        ordered = True
        coerce = False

    @pa.check("code", name="団体コード check digit (weights 6,5,4,3,2, mod 11)")
    def _check_digit(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(local_government_code_is_valid(pl.col(data.key)))

    @pa.check("code", name="the 5-digit code (without check digit) is unique")
    def _code5_unique(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col(data.key).str.slice(0, 5).is_duplicated())

    @pa.dataframe_check(name="prefecture rows (and only they) have no municipality and a code ending 000+check digit")
    def _prefecture_rows(cls, data: PolarsData) -> pl.LazyFrame:
        is_prefecture = pl.col("kind") == "prefecture"
        return data.lazyframe.select(
            (is_prefecture == pl.col("municipality").is_null())
            & (is_prefecture == (pl.col("code").str.slice(2, 3) == "000"))
        )

    @pa.dataframe_check(name="the first two digits are the prefecture's code")
    def _same_prefecture(cls, data: PolarsData) -> pl.LazyFrame:
        head = pl.col("code").str.slice(0, 2)
        return data.lazyframe.select(
            pl.col("prefecture").n_unique().over(head) == 1
        )

    @pa.dataframe_check(name="designated_city_code set exactly on designated_city_ward rows, naming a designated_city")
    def _ward_parent(cls, data: PolarsData) -> pl.LazyFrame:
        frame = data.lazyframe
        cities = frame.filter(pl.col("kind") == "designated_city").select(
            pl.col("code").alias("designated_city_code"), pl.lit(True).alias("_parent_is_city"))
        is_ward = pl.col("kind") == "designated_city_ward"
        return frame.join(cities, on="designated_city_code", how="left", maintain_order="left").select(
            (is_ward == pl.col("designated_city_code").is_not_null())
            & (~is_ward | pl.col("_parent_is_city").fill_null(False))
        )

    @pa.dataframe_check(name="county only on towns and villages")
    def _county(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("county").is_null() | pl.col("kind").is_in(["town", "village"]))


@functools.cache
def load_local_government_codes() -> pl.DataFrame:
    """The validated table (read once per process). Empty cells are nulls."""
    table = pl.read_csv(TABLE_FILE, schema={c: pl.String for c in COLUMNS})
    return LocalGovernmentCode.validate(table, lazy=True)
