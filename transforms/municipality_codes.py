"""Address → 全国地方公共団体コード, and checks of a code written on a document (回送 destinations).

Pure functions over whole columns (no Python per row); the national table
(``contracts/local_government_codes.csv``, :func:`contracts.local_government_codes.load_local_government_codes`)
is passed in as an argument, so tests build tiny tables of their own.

How an address is mapped (:func:`municipality_code_from_address`)
-----------------------------------------------------------------
1. Place key of the address: the 方書 after a full-width space is cut off, NFKC (half-width kana,
   full-width digits), spaces and ideographic variation selectors removed, 旧字/異体字 folded with
   the same table as names (``transforms/data/kanji_variants.csv``) and ヶ written as ケ (金ケ崎町 /
   金ヶ崎町). The table's names get the same treatment, so both sides meet.
2. Keys of the table, each with the code it stands for:
   ``都道府県 + 市区町村`` (東京都府中市), ``都道府県 + 郡 + 町村`` (北海道石狩郡当別町) and, for a
   政令指定都市, the city (神奈川県横浜市 → 141003) and each ward (神奈川県横浜市鶴見区 → 141011);
   the same without the prefecture (府中市, 石狩郡当別町, 横浜市鶴見区), because documents often leave
   it out. A bare ward name (鶴見区, 中央区) is also a key without the prefecture, but only as a
   competitor: it never yields a code by itself and makes 中央区 or 北区 (東京都 and many wards of
   designated cities) ambiguous.
3. A key that stands for more than one code (府中市 in 東京都 and 広島県, 伊達市, 北海道泊村 of 古宇郡
   and of 国後郡, 港区 …) is *ambiguous*: it yields null, never a guess.
4. The address gets the code of its **longest** key that is a prefix of it (so 横浜市鶴見区 wins
   over 横浜市, and 安芸郡府中町 over nothing). If that longest key is ambiguous the result is null
   too: a shorter key is less specific, never a fallback. No key → null.

The result is the most specific code the address names: a ward code for a 政令指定都市 address that
names its ward, else the city's code. A 政令指定都市の区 (行政区, 地方自治法第252条の20) is an
administrative district of the city, not a 地方公共団体: the city levies the 個人住民税, so a 回送
destination is the city (:func:`taxing_municipality_code` maps a ward code to its city's code).
"""

from __future__ import annotations

import polars as pl

from contracts.identifiers import local_government_code_is_valid
from transforms.normalize import kanji_variants

__all__ = [
    "place_key",
    "address_keys",
    "municipality_code_from_address",
    "document_municipality_code",
    "taxing_municipality_code",
]

_VARIATION_SELECTORS = "[\ufe00-\ufe0f\U000e0100-\U000e01ef]"
_MAPPABLE = ("special_ward", "designated_city", "designated_city_ward", "city", "town", "village")


def place_key(expr: pl.Expr) -> pl.Expr:
    """Address or place name → matching key (rule 1 of the module docstring); empty → null."""
    variants = kanji_variants()
    e = expr.cast(pl.String).str.replace(r"(?s)\u3000.*$", "")
    e = e.str.normalize("NFKC").str.replace_all(r"\s", "")
    e = e.str.replace_all(_VARIATION_SELECTORS, "")
    e = e.str.replace_many(list(variants), list(variants.values()))
    e = e.str.replace_all("ヶ", "ケ", literal=True)
    return pl.when(e.str.len_chars() > 0).then(e).otherwise(pl.lit(None, pl.String))


def address_keys(table: pl.DataFrame) -> pl.DataFrame:
    """Key table of a 団体コード table: ``key`` (unique), ``code`` (null when ambiguous), ``key_length``.

    ``table`` has the columns of ``contracts/local_government_codes.csv`` (code, prefecture, county,
    municipality, kind, designated_city_code); prefecture rows give no key (a destination is a municipality).
    """
    rows = table.filter(pl.col("kind").is_in(_MAPPABLE)).select(
        "code", "prefecture", "county", "municipality", "kind", "designated_city_code"
    )
    cities = table.filter(pl.col("kind") == "designated_city").select(
        pl.col("code").alias("designated_city_code"), pl.col("municipality").alias("_city")
    )
    wards = rows.filter(pl.col("kind") == "designated_city_ward").join(
        cities, on="designated_city_code", how="left", validate="m:1"
    )
    named = [
        rows.select("code", "prefecture", pl.col("municipality").alias("name")),
        rows.filter(pl.col("county").is_not_null()).select(
            "code", "prefecture", (pl.col("county") + pl.col("municipality")).alias("name")
        ),
    ]
    keys = [
        *[f.select("code", (pl.col("prefecture") + pl.col("name")).alias("key"), pl.lit(True).alias("usable"))
          for f in named],
        *[f.select("code", pl.col("name").alias("key"), pl.lit(True).alias("usable")) for f in named],
        # a bare ward name (鶴見区) only competes: it makes 中央区 / 北区 ambiguous and yields nothing
        wards.select("code", pl.col("municipality").str.strip_prefix(pl.col("_city")).alias("key"),
                     pl.lit(False).alias("usable")),
    ]
    return (
        pl.concat(keys, how="vertical")
        .with_columns(place_key(pl.col("key")).alias("key"))
        .group_by("key")
        .agg(pl.col("code").unique().alias("_codes"), pl.col("usable").all().alias("_usable"))
        .select(
            "key",
            pl.when((pl.col("_codes").list.len() == 1) & pl.col("_usable"))
            .then(pl.col("_codes").list.first()).otherwise(pl.lit(None, pl.String)).alias("code"),
            pl.col("key").str.len_chars().cast(pl.Int32).alias("key_length"),
        )
        .sort("key")
    )


def municipality_code_from_address(
    frame: pl.DataFrame, address: str, keys: pl.DataFrame, *, alias: str = "address_municipality_code"
) -> pl.DataFrame:
    """``frame`` with ``alias`` added: the 団体コード named by the column ``address`` (rules 1–4), or null.

    ``keys`` is :func:`address_keys` of the national table. Each distinct address is matched once
    against every key length (a join per length, all in one frame), then the longest match is kept.
    """
    if alias in frame.columns:
        raise ValueError(f"municipality_code_from_address: column {alias} already exists")
    lengths = pl.DataFrame({"_length": keys.get_column("key_length").unique().sort()})
    distinct = frame.select(pl.col(address).alias("_address")).unique().with_columns(
        place_key(pl.col("_address")).alias("_place")
    )
    best = (
        distinct.filter(pl.col("_place").is_not_null())
        .join(lengths, how="cross")
        .filter(pl.col("_place").str.len_chars() >= pl.col("_length"))
        .with_columns(pl.col("_place").str.slice(0, pl.col("_length")).alias("key"))
        .join(keys.select("key", "code", pl.col("key_length").alias("_length")), on=["key", "_length"],
              how="inner", validate="m:1")
        .sort("_address", "_length")
        .group_by("_address")
        .agg(pl.col("code").last().alias(alias))
    )
    return frame.join(best, left_on=address, right_on="_address", how="left", validate="m:1",
                      maintain_order="left", nulls_equal=False)


def document_municipality_code(code: pl.Expr, table: pl.DataFrame) -> pl.Expr:
    """Polars expression: a 団体コード written on a document, as a 6-digit code of a municipality in
    ``table``, or null.

    Accepted: 6 digits with a valid check digit, or 5 digits (JIS X 0402 without 検査数字, as e-Tax
    writes ``ICHIGATSUIPPI_ADR_CODE``), naming a municipality or ward of the table (not a prefecture).
    Anything else (wrong check digit, unknown code, prefecture code, blank) gives null.
    """
    mappable = table.filter(pl.col("kind").is_in(_MAPPABLE)).get_column("code")
    text = code.cast(pl.String).str.strip_chars()
    by_code5 = dict(zip(mappable.str.slice(0, 5).to_list(), mappable.to_list(), strict=True))
    six = pl.when(text.str.contains(r"^[0-9]{5}$")).then(text.replace_strict(by_code5, default=None,
                                                                                return_dtype=pl.String))
    six = six.when(local_government_code_is_valid(text)).then(text).otherwise(pl.lit(None, pl.String))
    return pl.when(six.is_in(mappable.implode())).then(six).otherwise(pl.lit(None, pl.String))


def taxing_municipality_code(code: pl.Expr, table: pl.DataFrame) -> pl.Expr:
    """Polars expression: the 団体コード of the municipality that levies the tax for ``code``: the city of a
    政令指定都市の区 (141011 横浜市鶴見区 → 141003 横浜市); every other code unchanged (null stays null)."""
    wards = table.filter(pl.col("kind") == "designated_city_ward")
    to_city = dict(zip(wards.get_column("code").to_list(), wards.get_column("designated_city_code").to_list(),
                       strict=True))
    return code.cast(pl.String).replace(to_city)
