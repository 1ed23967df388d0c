"""The pension insurers of the sample ward: a simulator of the other side of the 年金特徴 exchange.

A tool for tests and the demo, not the product (docs/sample-ward.md, "Pension insurers"). Every month the
ward exchanges 500-byte record files (docs/layouts/pension_exchange.md) with the 特別徴収義務者 that pay
its residents' public pensions (999 日本年金機構 and the 共済). This module plays those insurers for one
generated population and one 年度 ``Y`` (April Y … March Y+1):

* :func:`target_person_files`: the 特別徴収対象者情報 (通知内容コード 00) of May, one file per insurer,
  created 20 May (the insurers' deadline is 25 May): the ward's pensioners of 65 or more on 1 April Y
  with a pension of at least 180,000 yen a year, the pension of the largest payment, less a few the insurer
  does not list; about one in eight a 新規者. The records carry what the insurer holds,
  not what the ward holds: a few old addresses (the person moved within the ward), kana-only names,
  旧字 variants, and one or two people who do not live in the ward at all (:func:`target_person_truth`
  says which record is which).
* :func:`previous_year_register`: the ward's previous-year figures that its first year of operation
  reads from a migration CSV (``contracts/layouts/pension_previous_year.yaml``): the 前年度の年金特別徴収
  税額 of every 前年度継続者, from which the 仮徴収 of April, June and August is withheld.
* :class:`PensionInsurers`: month by month, :meth:`PensionInsurers.inbound` returns the files the
  insurers deliver in that month, given every file the ward has sent: the 00 files in May, an answer
  (02, 32, 42, 62) to each request the ward sent that month (01, 31, 41, 61), in July and November the
  特別徴収追加候補者情報 (30) of the pensioners not listed in May, and in odd months the
  特別徴収結果通知 (22) of the previous month's pension payment. Deaths, 差止 and short pensions are drawn
  once per population and seed (:meth:`PensionInsurers.deaths`), and four files carry a planted fault
  (:meth:`PensionInsurers.planted_faults`).
* :func:`write_month` puts a month's files into the landing zone, one atomic rename per file.

Characters: the insurers write every character of a name or an address that JIS X 0208 cannot hold
(𠮷, 髙, 﨑 …) as 〓 (U+3013, JIS 0x222E, the usual substitute), drop variation selectors, widen ASCII
and half-width kana in kanji fields, and write the kana name in 半角カナ (the product's writer refuses
such characters instead: the ward must not change a name it sends; an insurer's file simply arrives so).

Deterministic: the same population, seed and outbound files give byte-identical files (NumPy streams
derived from the seed, every frame sorted, no clock). Vectorised over people; loops run over insurers,
files and months only, and the kana/kanji conversions over the distinct names.

Run ``python -m sample_ward.pension_insurer --help`` for the command line, which reads the ward's
outbound files from the lake's exports and writes a month's inbound files into the landing zone.
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import jaconv
import numpy as np
import polars as pl

from contracts.errors import JuminzeiError
from contracts.pension_exchange import (
    exchange_file_name,
    landing_folder,
    load_exchange_layouts,
    parse_exchange_file_name,
)
from transforms.pension_exchange_records import (
    ControlBlock,
    ExchangeFile,
    read_exchange_file,
    unencodable_kanji,
    write_exchange_file,
)

from .model import Population
from .wire_text import KANJI_VARIANTS

__all__ = [
    "PensionInsurers", "target_person_files", "target_person_truth", "previous_year_register",
    "previous_year_register_path", "write_previous_year_register", "write_month", "fiscal_year_of",
    "provisional_amounts", "substitute_outside_jis", "halfwidth_kana", "REGISTER_COLUMNS", "VARIATIONS",
    "GETA", "main", "outbound_from_lake",
]

#: the stream of the selection of the listed pensioners ("NOTI": the stream the sample ward's former
#: 年金特別徴収対象者 CSV was drawn from, kept so that a seed lists the same persons as before)
_SELECTION_STREAM = 0x4E4F5449
#: this module's own draws ("NENK"), one child stream per purpose
_STREAM = 0x4E454E4B
_VARIATION_DRAWS, _EVENT_DRAWS, _MOVE_DRAWS, _CANDIDATE_DRAWS = 1, 2, 3, 4
#: residents who move out of the ward in a month (転出), share of the residents; the 住民記録 異動 extract lists them
MOVE_OUT_SHARE = 0.004

#: 年金特別徴収: 65 or more on 1 April of the 年度 (地方税法第321条の7の2第1項) and a pension of 180,000 yen or
#: more a year (地方税法施行令第48条の9の11; docs/sources.md T9)
PENSION_AGE = 65
MIN_PENSION_YEN = 180_000
NEW_SHARE = 0.125  # 新規者 among the listed
UNLISTED_SHARE = 0.05  # eligible by age and amount but not listed by the insurer in May
#: the unlisted are found later (a pension decided after May) and sent as 特別徴収追加候補者 (30, 新規者), half
#: in each of these months (index in the 年度: July, November), created on the 20th
_CANDIDATE_MONTHS = (3, 7)
#: each kind of identity variation (old address, kana-only name, 旧字 variant), share of the resident records
VARIATION_SHARE = 0.015
#: records of people who do not live in the ward (the insurer's address is stale)
NOT_RESIDENT_RECORDS = 2
DEATH_SHARE = 0.01  # die between April and February
SUSPENSION_SHARE = 0.005  # 差止 from one payment month on
SHORTFALL_SHARE = 0.01  # 支払年金額不足 at one payment
REQUEST_SHORTFALL_SHARE = 0.01  # answered 02 年金額不足 to a request, besides the amounts the pension cannot bear
#: from this many listed pensioners on, every rare event and variation happens at least once
ENOUGH_PENSIONERS = 20

#: the substitute of a character outside JIS X 0208 (〓 U+3013, JIS 0x222E)
GETA = "\u3013"
_VARIATION_SELECTORS = "[\ufe00-\ufe0f\U000e0100-\U000e01ef]"
#: small kana without a 半角 form, written with the full-size one
_SMALL_KANA = {"ヵ": "ｶ", "ヶ": "ｹ", "ヮ": "ﾜ", "ヰ": "ｲ", "ヱ": "ｴ"}
_NOT_HALFWIDTH = r"[^\x20-\x5B\x5D-\x7D\uFF61-\uFF9F]"

OLD_ADDRESS = "old_address"
KANA_ONLY = "kana_only_name"
KANJI_VARIANT = "kanji_variant"
NOT_RESIDENT = "not_resident"
SUBSTITUTED = "substituted_character"
TRUNCATED = "truncated"
#: the ``variation`` of a 00 record in :func:`target_person_truth` (null: what the population holds)
VARIATIONS: dict[str, str] = {
    OLD_ADDRESS: "the address is an older one in the ward (the person moved within the ward)",
    KANA_ONLY: "氏名漢字 is blank: the insurer knows the person by the kana name only",
    KANJI_VARIANT: "氏名漢字 written with a 旧字/異体字 variant (渡辺/渡邊, 斉藤/齊藤 …)",
    NOT_RESIDENT: "a person who does not live in the ward: the insurer's address is stale",
    SUBSTITUTED: "a character of the name or address outside JIS X 0208 written as 〓",
    TRUNCATED: "a name or address longer than its field, cut at the field's end",
}

#: answer to each notice the ward sends
ANSWERS: dict[str, str] = {"01": "02", "31": "32", "41": "42", "61": "62"}
_REQUESTS = ("01", "31")
#: 各種区分 of a 41 that stops the withholding of the 年度 (死亡, 特別事情, 税額変更による中止); 11 changes the
#: amounts; 02 転出 withdraws the next 年度's 仮徴収 only (this 年度's continues after a move: the 平成28年10月
#: reform, docs/sources.md T9), which a simulator of one 年度 has nothing of
_STOPS_41 = ("01", "03", "12")
_MEDIUM_ONLINE = "1"  # 媒体コード 1: eLTAX

#: payment months by index in the 年度 (0 = April): 仮徴収 April, June, August; 本徴収 October, December,
#: February (rules/installments/fiscal_year_2017.yaml pension_special_collection)
PROVISIONAL_PAYMENTS = (0, 2, 4)
MAIN_PAYMENTS = (6, 8, 10)
_MAIN_AMOUNT = {6: "amount_1", 8: "amount_2", 10: "amount_3"}
_TARGETS_MONTH, _TARGETS_DAY, _RESULTS_DAY = 1, 20, 10
# the planted faults (index of the month of delivery)
_TRAILER_FAULT, _LENGTH_FAULT, _LATE_FILE, _CORRECTED_FILE = 3, 5, 7, 9

REGISTER_COLUMNS = ("atena_no", "basic_pension_no", "pension_code", "payer_code", "previous_year_tax")
_KEY = ("payer_code", "basic_pension_no", "pension_code")


# ------------------------------------------------------------------------------------------- months

def _parse_month(month: str) -> tuple[int, int]:
    found = re.fullmatch(r"([0-9]{4})-(0[1-9]|1[0-2])", month)
    if found is None:
        raise ValueError(f"month must be written YYYY-MM, got {month!r}")
    return int(found.group(1)), int(found.group(2))


def fiscal_year_of(month: str) -> int:
    """The 年度 a month (YYYY-MM) belongs to: April Y … March Y+1 are 年度 Y."""
    year, number = _parse_month(month)
    return year if number >= 4 else year - 1


def _month_start(fiscal_year: int, index: int) -> date:
    """The first day of month ``index`` of the 年度 (0 = April, 11 = March)."""
    year, month0 = divmod(fiscal_year * 12 + 3 + index, 12)
    return date(year, month0 + 1, 1)


def _month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def _month_text(fiscal_year: int, index: int) -> str:
    return f"{_month_start(fiscal_year, index):%Y-%m}"


def _payment_date(fiscal_year: int, index: int) -> date:
    """The pension payment of a payment month: the 15th, or the weekday before it (national holidays are not
    modelled)."""
    day = _month_start(fiscal_year, index) + timedelta(days=14)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _draws(seed: int, purpose: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _STREAM, purpose])))


def _count(share: float, n: int) -> int:
    """How many of ``n`` get a rare event: the share rounded, and at least one once there are
    :data:`ENOUGH_PENSIONERS` (a smaller ward gets only what its share rounds to)."""
    return min(n, max(1 if n >= ENOUGH_PENSIONERS else 0, round(share * n)))


# --------------------------------------------------------------------------------------------- rules

def provisional_amounts(previous_year_tax: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """仮徴収 of April, June and August from the previous 年度's pension-route tax: half of it rounded down
    to 100 yen (地方税法第321条の7の8第1項), split in three, each share rounded down to 100 yen and the
    fraction in April (rules/installments/fiscal_year_2017.yaml ``pension_special_collection``; written
    here on its own, the simulator does not use the product's ``transforms.installments``)."""
    total = previous_year_tax // 2 // 100 * 100
    share = total // 3 // 100 * 100
    return ((total - 2 * share).alias("provisional_april"), share.alias("provisional_june"),
            share.alias("provisional_august"))


# ---------------------------------------------------------------------------------------- characters

def _widened(values: pl.Series) -> pl.Series:
    """ASCII and 半角カナ as their full-width forms (per distinct value)."""
    distinct = values.drop_nulls().unique().sort().to_list()
    wide = {v: jaconv.h2z(v, kana=True, ascii=True, digit=True) for v in distinct}
    return values.replace_strict(wide, default=None, return_dtype=pl.String) if wide else values.cast(pl.String)


def substitute_outside_jis(values: pl.Series) -> pl.Series:
    """Text as an insurer writes it in a kanji field: ASCII and 半角カナ widened, variation selectors dropped,
    and every character outside JIS X 0208 replaced by 〓 (:data:`GETA`). Null stays null."""
    text = _widened(values).str.replace_all(_VARIATION_SELECTORS, "")
    chars = text.drop_nulls().str.split("").explode().unique().sort()
    chars = chars.filter(chars.str.len_chars() == 1)
    bad = chars.filter(unencodable_kanji(chars).is_not_null()).to_list() if len(chars) else []
    return text.str.replace_many(bad, [GETA] * len(bad)) if bad else text


def halfwidth_kana(values: pl.Series) -> pl.Series:
    """Full-width katakana (names separated by a full-width space) as 半角カナ (JIS X 0201) with an ASCII
    space; small kana without a half-width form become their full-size forms, anything else a field of
    JIS X 0201 cannot hold becomes a space."""
    distinct = values.drop_nulls().unique().sort().to_list()
    half = {v: jaconv.z2h(jaconv.hira2kata(v.replace("\u3000", " ")), kana=True, ascii=True, digit=True)
            for v in distinct}
    text = values.replace_strict(half, default=None, return_dtype=pl.String) if half else values.cast(pl.String)
    text = text.str.replace_many(list(_SMALL_KANA), list(_SMALL_KANA.values()))
    return text.str.replace_all(_NOT_HALFWIDTH, " ")


# ----------------------------------------------------------------------------------- the insurers' book

def _identities(pop: Population) -> pl.DataFrame:
    """Per person, the identity an insurer holds before any variation: the address where the person lives
    (the ward's for residents, 住登外 and the dead; elsewhere for those who moved out or never lived here)."""
    elsewhere = pl.col("registry_status").is_in(["moved_out", "outsider"])
    ward_address = pl.concat_str(["ward_address", "ward_address_detail"], separator="\u3000", ignore_nulls=True)
    return pop.persons.select(
        "person_id", "atena_no", "registry_status", "birth_date",
        pl.col("sex").cast(pl.String).alias("sex"),
        pl.concat_str(["family_name_kana", "given_name_kana"], separator="\u3000").alias("name_kana"),
        pl.concat_str(["family_name_kanji", "given_name_kanji"], separator="\u3000").alias("name_kanji"),
        pl.when(elsewhere).then(pl.col("jan1_postal_code")).otherwise(pl.col("ward_postal_code")).alias("postal_code"),
        pl.when(elsewhere).then(pl.col("jan1_address")).otherwise(ward_address).alias("address_kanji"),
        ward_address.alias("ward_address_full"), pl.col("ward_postal_code"),
    )


def _book(pop: Population) -> pl.DataFrame:
    """Every pension of the population with its holder's identity: what the insurers know (raw text)."""
    pensions = pop.pensions.select(
        *_KEY, "person_id", "pension_revenue", "withholding_tax", "social_insurance",
        pl.when(pl.col("payer_code") != "999").then(pl.concat_str(["payer_code", "basic_pension_no"], separator="-"))
        .alias("mutual_aid_certificate_no"),  # 共済年金証書記号番号: synthetic, 共済 only
    )
    return pensions.join(_identities(pop), on="person_id", how="left", validate="m:1", maintain_order="left") \
        .sort(*_KEY)


def _listed(pop: Population, seed: int) -> pl.DataFrame:
    """The resident pensioners eligible by age and amount, with ``listed`` (on the insurers' May lists; the
    others become 追加候補者), 各種区分 and the previous year's tax (a synthetic estimate: the generator does not
    compute last year's tax)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _SELECTION_STREAM])))
    born_by = date(pop.fiscal_year - PENSION_AGE, 4, 2)  # 65 on 1 April: born on or before 2 April (民法第143条)
    residents = pop.persons.filter(pl.col("in_registry") & (pl.col("registry_status") == "resident")) \
        .sort(pl.col("atena_no").cast(pl.Int64))
    pensions = pop.pensions.sort(["person_id", "pension_revenue", "payer_code"], descending=[False, True, False]) \
        .unique("person_id", keep="first", maintain_order=True)
    eligible = residents.select("person_id", "atena_no", "birth_date").join(pensions, on="person_id") \
        .filter((pl.col("birth_date") <= born_by) & (pl.col("pension_revenue") >= MIN_PENSION_YEN)) \
        .sort(pl.col("atena_no").cast(pl.Int64))
    n = eligible.height
    listed = rng.random(n) >= UNLISTED_SHARE
    new = rng.random(n) < NEW_SHARE
    short = len(_CANDIDATE_MONTHS) - int((~listed).sum())
    if n >= ENOUGH_PENSIONERS and short > 0:  # a 追加候補者 in each candidate month (a draw of its own stream)
        listed[_draws(seed, _CANDIDATE_DRAWS).choice(np.flatnonzero(listed), size=short, replace=False)] = False
    factor = rng.uniform(0.85, 1.15, n)
    # last year's pension-route tax, a synthetic estimate: (公的年金等控除後 − 基礎控除 43万) × 10 % + 5,000
    income = (eligible["pension_revenue"].to_numpy() - 1_100_000).clip(0, None)
    estimate = ((income - 430_000).clip(0, None) * 0.10 + np.where(income > 450_000, 5_000, 0)) * factor
    previous = np.where(new, 0, (estimate // 100).astype(np.int64) * 100)
    return eligible.with_columns(
        pl.Series("category", np.where(new, "01", "02")),
        pl.Series("previous_year_tax", previous.astype(np.int64), pl.Int64),
        pl.Series("listed", listed),
    ).select(*_KEY, "person_id", "category", "previous_year_tax", "listed")


def _stale_ward_addresses(identities: pl.DataFrame) -> pl.DataFrame:
    """Addresses in the ward nobody of the registry lives at any more (households that moved out or died
    out), or, in a ward too small to have them, those of residents: what an old record still holds."""
    left = identities.filter(pl.col("registry_status").is_in(["moved_out", "deceased"])
                             & pl.col("ward_address_full").is_not_null())
    if left.is_empty():
        left = identities.filter(pl.col("registry_status") == "resident")
    return left.select(pl.col("ward_address_full").alias("address_kanji"), pl.col("ward_postal_code").alias(
        "postal_code")).unique().sort("address_kanji", "postal_code")


def _pick_other_address(rng: np.random.Generator, pool: pl.DataFrame, own: pl.Series) -> pl.DataFrame:
    """For each own address, one of ``pool`` that is not it (the next one when the draw hits it)."""
    if pool.is_empty():
        return pl.DataFrame({"address_kanji": own, "postal_code": pl.Series([None] * len(own), dtype=pl.String)})
    index = rng.integers(0, pool.height, len(own))
    same = (pool["address_kanji"].gather(index) == own).fill_null(False).to_numpy()
    index = np.where(same & (pool.height > 1), (index + 1) % pool.height, index)
    return pool[index.tolist()]


def _variant_names() -> dict[str, str]:
    """The 旧字/異体字 variants whose variant JIS X 0208 holds (髙, 﨑, 瀨 are written 〓 and left out)."""
    variants = pl.Series(list(KANJI_VARIANTS.values()))
    fits = unencodable_kanji(variants).is_null().to_list()
    return {k: v for (k, v), ok in zip(KANJI_VARIANTS.items(), fits, strict=True) if ok}


@dataclass(frozen=True)
class _Targets:
    records: pl.DataFrame  # the 00 records as written (insurer text), sorted by payer then key
    book: pl.DataFrame  # every pension as the insurers know it (insurer text)
    candidates: pl.DataFrame  # the 追加候補者 (30): key and person_id of the eligible pensioners not listed


def _targets(pop: Population, seed: int) -> _Targets:
    """The 00 records (with their planted variations) and the insurers' book, in insurer text."""
    book = _book(pop)
    identities = _identities(pop)
    eligible = _listed(pop, seed)
    unlisted = eligible.filter(~pl.col("listed")).select(*_KEY, "person_id").sort(*_KEY)
    listed = eligible.filter("listed").drop("listed").join(book, on=[*_KEY, "person_id"], how="left",
                                                           validate="1:1", maintain_order="left").sort(*_KEY)
    rng = _draws(seed, _VARIATION_DRAWS)
    stale = _stale_ward_addresses(identities)

    n = listed.height
    raw_name, raw_address = listed["name_kanji"], listed["address_kanji"]
    special = (unencodable_kanji(raw_name).is_not_null() | unencodable_kanji(raw_address).is_not_null()
               | (raw_name.str.len_chars() > 25) | (raw_address.str.len_chars() > 80).fill_null(False)).to_numpy()
    variants = _variant_names()
    pattern = "[" + "".join(sorted(variants)) + "]"
    can = {
        OLD_ADDRESS: ~special & (listed["registry_status"] == "resident").to_numpy(),
        KANJI_VARIANT: ~special & raw_name.str.contains(pattern).fill_null(False).to_numpy(),
        KANA_ONLY: ~special,
    }
    order = rng.permutation(n)
    kinds = [None, *can]
    variation = np.zeros(n, dtype=np.int64)  # index into kinds: 0 none
    for number, allowed in enumerate(can.values(), start=1):  # three kinds: disjoint persons, one random order
        free = order[allowed[order] & (variation[order] == 0)]
        variation[free[:_count(VARIATION_SHARE, n)]] = number
    marks = pl.Series("variation", kinds, dtype=pl.String).gather(variation)
    moved = _pick_other_address(rng, stale, raw_address)
    listed = listed.with_columns(marks).with_columns(
        pl.when(pl.col("variation") == OLD_ADDRESS).then(moved["address_kanji"]).otherwise("address_kanji")
        .alias("address_kanji"),
        pl.when(pl.col("variation") == OLD_ADDRESS).then(moved["postal_code"]).otherwise("postal_code")
        .alias("postal_code"),
        pl.when(pl.col("variation") == KANJI_VARIANT)
        .then(pl.col("name_kanji").str.replace_many(list(variants), list(variants.values())))
        .when(pl.col("variation") == KANA_ONLY).then(None).otherwise("name_kanji").alias("name_kanji"),
    )

    # one or two people who do not live in the ward, listed to it on a stale address, as 新規者
    born_by = date(pop.fiscal_year - PENSION_AGE, 4, 2)
    away = book.filter(pl.col("registry_status").is_in(["moved_out", "outsider"]) & (pl.col("birth_date") <= born_by)
                       & (pl.col("pension_revenue") >= MIN_PENSION_YEN)) \
        .sort(["person_id", "pension_revenue", "payer_code"], descending=[False, True, False]) \
        .unique("person_id", keep="first", maintain_order=True)
    chosen = np.sort(rng.choice(away.height, size=min(NOT_RESIDENT_RECORDS, away.height), replace=False)) \
        if away.height else np.zeros(0, dtype=np.int64)
    away = away[chosen.tolist()]
    stale_for = _pick_other_address(rng, stale, away["address_kanji"])
    moved_out = pl.col("registry_status") == "moved_out"
    away = away.with_columns(
        pl.when(moved_out).then("ward_address_full").otherwise(stale_for["address_kanji"]).alias("address_kanji"),
        pl.when(moved_out).then("ward_postal_code").otherwise(stale_for["postal_code"]).alias("postal_code"),
        pl.lit("01").alias("category"), pl.lit(0, pl.Int64).alias("previous_year_tax"),
        pl.lit(NOT_RESIDENT).alias("variation"),
    ).select(listed.columns)
    records = pl.concat([listed, away]).sort(*_KEY)

    # what the insurers hold is what they listed: the book takes the 00 records' identity
    book = pl.concat([book.join(records.select(_KEY), on=list(_KEY), how="anti"),
                      records.select(book.columns)]).sort(*_KEY)
    records, book = _insurer_text(records), _insurer_text(book)
    records = records.with_columns(
        pl.when(pl.col("variation").is_null() & pl.col("_substituted")).then(pl.lit(SUBSTITUTED))
        .when(pl.col("variation").is_null() & pl.col("_truncated")).then(pl.lit(TRUNCATED))
        .otherwise("variation").alias("variation"))
    return _Targets(records.drop("_substituted", "_truncated"), book.drop("_substituted", "_truncated"), unlisted)


def _insurer_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Names and addresses as the insurers write them (:func:`substitute_outside_jis`, :func:`halfwidth_kana`),
    cut to their fields (氏名カナ 25, 氏名漢字 25, 住所漢字 80 characters); the 住所カナ is blank (the
    population has no kana address)."""
    name = substitute_outside_jis(frame["name_kanji"])
    address = substitute_outside_jis(frame["address_kanji"])
    kana = halfwidth_kana(frame["name_kana"])
    substituted = (unencodable_kanji(_widened(frame["name_kanji"])).is_not_null()
                   | unencodable_kanji(_widened(frame["address_kanji"])).is_not_null())
    truncated = ((name.str.len_chars() > 25) | (address.str.len_chars() > 80) | (kana.str.len_chars() > 25)) \
        .fill_null(False)
    return frame.with_columns(
        name.str.slice(0, 25).alias("name_kanji"),
        address.str.slice(0, 80).alias("address_kanji"),
        kana.str.slice(0, 25).alias("name_kana"),
        pl.lit(None, pl.String).alias("address_kana"),
        substituted.alias("_substituted"), truncated.alias("_truncated"),
    )


# ------------------------------------------------------------------------------------------- files

def _file_bytes(notice_code: str, municipality_code: str, payer_code: str, created: date, serial: int,
                records: pl.DataFrame) -> tuple[str, bytes]:
    """One 年金特徴 file of one group: its name and bytes (the product's codec writes them)."""
    layout = load_exchange_layouts().notice(notice_code).data
    frame = records.with_columns(
        pl.lit(municipality_code).alias("municipality_code"), pl.lit(payer_code).alias("payer_code"),
        pl.lit(created, pl.Date).alias("created_date"),
    ).select(layout.column_names)
    groups = pl.DataFrame({
        "municipality_code": [municipality_code], "payer_code": [payer_code], "notice_code": [notice_code],
        "medium_code": [_MEDIUM_ONLINE], "created_date": pl.Series([created], dtype=pl.Date),
    })
    name = exchange_file_name(notice_code, payer_code, created, serial)
    control = ControlBlock(municipality_code, f"{serial:03d}", created)
    return name, write_exchange_file(ExchangeFile(control, groups, {notice_code: frame}), file=name)


def _trailer_off_by_one(data: bytes) -> bytes:
    """The file (one group) with its trailer's 合計金額 金額1 one yen too high."""
    lay = load_exchange_layouts()
    f = lay.trailer.field("total_amount_1")
    start = len(data) - lay.record_length + f.offset
    value = int(data[start:start + f.length]) + 1
    return data[:start] + f"{value:0{f.length}d}".encode("ascii") + data[start + f.length:]


def _first_record_short(data: bytes) -> bytes:
    """The file with its first data record one byte short (499 bytes: its last byte, a space, is missing)."""
    lay = load_exchange_layouts()
    end = lay.control_length + 2 * lay.record_length  # the control block, the header, the first data record
    return data[:end - 1] + data[end:]


# --------------------------------------------------------------------------------------- the simulator

class PensionInsurers:
    """The pension insurers of ``pop`` for its 年度 (module docstring). Build once per population and seed;
    :meth:`inbound` is a function of the month and the ward's outbound files only."""

    def __init__(self, pop: Population, seed: int) -> None:
        self.fiscal_year = pop.fiscal_year
        self.municipality = pop.municipality_code  # 6 digits (全国地方公共団体コード)
        self.municipality_code = pop.municipality_code[:5]  # 市町村コード of the files: without the check digit
        targets = _targets(pop, seed)
        self._records, self._book = targets.records, targets.book
        self._candidates = targets.candidates
        counts = self._records.group_by("payer_code").len().sort(["len", "payer_code"], descending=[True, False])
        #: the insurer with the most 00 records: the planted faults are in its files
        self.main_payer: str | None = counts["payer_code"][0] if counts.height else None
        self._events = self._draw_events(seed)
        self._files_00, self._truth = self._write_targets()
        self._moves_out = self._draw_moves_out(pop, seed)

    # ----------------------------------------------------------------------------------------- May

    def _write_targets(self) -> tuple[dict[str, bytes], pl.DataFrame]:
        created = _month_start(self.fiscal_year, _TARGETS_MONTH).replace(day=_TARGETS_DAY)
        captured = date(self.fiscal_year, 4, 1)  # 捕捉年月日: 1 April of the 年度
        records = self._records.with_columns(
            pl.lit(captured, pl.Date).alias("event_date"),
            pl.col("pension_revenue").alias("amount_1"),  # 年金年額
            pl.lit(0, pl.Int64).alias("amount_2"), pl.lit(0, pl.Int64).alias("amount_3"))
        files: dict[str, bytes] = {}
        truth = []
        for payer in records["payer_code"].unique().sort().to_list():  # one file per insurer
            mine = records.filter(pl.col("payer_code") == payer)
            name, data = _file_bytes("00", self.municipality_code, payer, created, 1, mine)
            files[name] = data
            truth.append(mine.select(
                pl.lit(name).alias("file"), (pl.int_range(pl.len()) + 2).cast(pl.Int64).alias("record_no"),
                *_KEY, "person_id", "atena_no", "category", "variation"))
        schema = {"file": pl.String, "record_no": pl.Int64, "payer_code": pl.String, "basic_pension_no": pl.String,
                  "pension_code": pl.String, "person_id": pl.Int64, "atena_no": pl.String, "category": pl.String,
                  "variation": pl.String}
        return files, (pl.concat(truth) if truth else pl.DataFrame(schema=schema))

    def target_person_files(self) -> dict[str, bytes]:
        """The 特別徴収対象者情報 (00) of May: file name → bytes, one file per 特別徴収義務者."""
        return dict(self._files_00)

    def target_person_truth(self) -> pl.DataFrame:
        """One row per 00 record: ``file``, ``record_no`` (1-based among the 500-byte records after the control
        block: the header is 1), ``payer_code``, ``basic_pension_no``, ``pension_code``, ``person_id``,
        ``atena_no`` (the person's 宛名番号; null for someone the registry never held), ``category`` and
        ``variation`` (:data:`VARIATIONS`; null when the record holds what the population holds)."""
        return self._truth.clone()

    def previous_year_register(self) -> pl.DataFrame:
        """The migration register (module docstring): one row per 前年度継続者 of the 00 files, sorted by 宛名番号."""
        return self._records.filter(pl.col("category") == "02").select(REGISTER_COLUMNS) \
            .sort("atena_no", "payer_code")

    # ------------------------------------------------------------------------------------- events

    def _draw_events(self, seed: int) -> pl.DataFrame:
        """Per resident 00 person: death date, first month of a 差止, month of a short pension, and whether a
        request is answered 年金額不足 (null/false for most)."""
        rng = _draws(seed, _EVENT_DRAWS)
        people = self._records.filter(pl.col("variation").fill_null("") != NOT_RESIDENT) \
            .select("person_id", "atena_no", *_KEY).sort(*_KEY)
        n = people.height
        starts = np.array([np.datetime64(_month_start(self.fiscal_year, i), "D") for i in range(12)])
        lengths = np.array([calendar.monthrange(d.year, d.month)[1] for d in
                            (_month_start(self.fiscal_year, i) for i in range(12))])

        def pick(share: float) -> np.ndarray:
            mask = np.zeros(n, dtype=bool)
            mask[rng.choice(n, size=_count(share, n), replace=False)] = True
            return mask

        dies = pick(DEATH_SHARE)
        month = rng.integers(0, 11, n)  # April … February
        day = (rng.random(n) * lengths[month]).astype(np.int64)
        death = np.where(dies, starts[month] + day, np.datetime64("NaT", "D"))
        payments = np.array(PROVISIONAL_PAYMENTS + MAIN_PAYMENTS)
        suspended = pick(SUSPENSION_SHARE)
        suspended_from = payments[rng.integers(0, payments.size, n)]
        short = pick(SHORTFALL_SHARE)
        short_at = payments[rng.integers(0, payments.size, n)]
        refused = pick(REQUEST_SHORTFALL_SHARE)
        return people.with_columns(
            pl.Series("death_date", death).cast(pl.Date),
            pl.Series("suspended_from", np.where(suspended, suspended_from, -1)).cast(pl.Int64),
            pl.Series("short_at", np.where(short, short_at, -1)).cast(pl.Int64),
            pl.Series("request_shortfall", refused),
            pl.Series("death_month", np.where(dies, month, -1)).cast(pl.Int64),  # 0 = April; -1 alive
        )

    def deaths(self) -> pl.DataFrame:
        """The pensioners who die during the 年度: ``person_id``, ``atena_no``, ``payer_code``,
        ``basic_pension_no``, ``pension_code``, ``death_date``; from their death month on, the 22 says 失権."""
        return self._events.filter(pl.col("death_date").is_not_null()) \
            .select("person_id", "atena_no", *_KEY, "death_date").sort("death_date", *_KEY)

    def _draw_moves_out(self, pop: Population, seed: int) -> pl.DataFrame:
        """Residents (not among the deceased) who move out of the ward during the 年度: atena_no, date."""
        rng = _draws(seed, _MOVE_DRAWS)
        residents = pop.persons.filter(pl.col("in_registry") & (pl.col("registry_status") == "resident")) \
            .select("atena_no").join(self.deaths().select("atena_no"), on="atena_no", how="anti").sort("atena_no")
        n = residents.height
        k = min(n, _count(MOVE_OUT_SHARE * 12, n))
        chosen = np.sort(rng.choice(n, size=k, replace=False)) if k else np.array([], dtype=np.int64)
        start = np.datetime64(date(self.fiscal_year, 4, 1), "D")
        days = rng.integers(0, 365, k)
        return residents[chosen].with_columns(pl.Series("change_date", start + days).cast(pl.Date))

    def resident_changes_file(self, month: str) -> tuple[str, bytes]:
        """The ward's 住民記録 異動 extract of ``month`` (layout ``contracts/layouts/resident_changes.yaml``): the
        deaths of the month among the resident pensioners, as the registry records them on the 死亡届 (the same
        deaths the insurers learn of), and the residents who moved out of the ward (転出, a few in a thousand a
        month). Path relative to ``landing/`` and bytes; a month without a change has its header only."""
        year, number = _parse_month(month)
        in_month = (pl.col("change_date").dt.year() == year) & (pl.col("change_date").dt.month() == number)
        died = self.deaths().filter(pl.col("atena_no").is_not_null()).select(
            "atena_no", pl.lit("1").alias("change"), pl.col("death_date").alias("change_date"))
        moved = self._moves_out.select("atena_no", pl.lit("2").alias("change"), "change_date")
        changes = pl.concat([died, moved]).filter(in_month).sort("atena_no")
        lines = ["atena_no,change,change_date"] + [f"{a},{c},{d:%Y%m%d}" for a, c, d in changes.iter_rows()]
        rel = (f"resident_changes/municipality={self.municipality}/fiscal_year={self.fiscal_year}/"
               f"jumin_ido_{self.municipality}_{year:04d}{number:02d}.csv")
        return rel, ("\n".join(lines) + "\n").encode("utf-8")

    # -------------------------------------------------------------------------------------- faults

    def planted_faults(self) -> pl.DataFrame:
        """The planted faults and the files sent again after them: ``month`` (the month of delivery), ``file``, ``payer_code``, ``kind``,
        ``error`` (the reader's exception, null when the file reads) and ``ward_action``. All are in the 22 of
        :attr:`main_payer`; a fault whose file has no record (the ward requested nothing for that payment)
        is not delivered."""
        if self.main_payer is None:
            return pl.DataFrame(schema={c: pl.String for c in ("month", "file", "payer_code", "kind", "error",
                                                                "ward_action")})

        def name(index: int, serial: int = 1) -> str:
            return exchange_file_name("22", self.main_payer, self._results_created(index), serial)

        rows = [
            (_TRAILER_FAULT, name(_TRAILER_FAULT), "trailer_total", "TrailerTotalsError",
             "refuse the file whole (合計金額 金額1 is 1 yen more than its records) and ask the insurer to send it again"),
            (_LENGTH_FAULT, name(_LENGTH_FAULT), "file_length", "FileLengthError",
             "refuse the file whole (its first data record is 499 bytes) and ask the insurer to send it again"),
            (_TRAILER_FAULT + 1, name(_TRAILER_FAULT, 2), "resent_file", None,
             "read it: the file refused the month before, sent again correct (媒体連番 002)"),
            (_LENGTH_FAULT + 1, name(_LENGTH_FAULT, 2), "resent_file", None,
             "read it: the file refused the month before, sent again correct (媒体連番 002)"),
            (_LATE_FILE + 1, name(_LATE_FILE), "late_file", None,
             "read it: the results of the October payment, delivered a month late in the December folder"),
            (_CORRECTED_FILE, name(_CORRECTED_FILE, 1), "corrected_file", None,
             "媒体連番 001 has one wrong record (金額1 1,000 yen too high): superseded by 002, do not use it"),
            (_CORRECTED_FILE, name(_CORRECTED_FILE, 2), "corrected_file", None,
             "媒体連番 002 is the correction of 001 (same name but the serial): use it instead of 001"),
        ]
        return pl.DataFrame({
            "month": [_month_text(self.fiscal_year, r[0]) for r in rows], "file": [r[1] for r in rows],
            "payer_code": [self.main_payer] * len(rows), "kind": [r[2] for r in rows], "error": [r[3] for r in rows],
            "ward_action": [r[4] for r in rows]}, schema={c: pl.String for c in (
                "month", "file", "payer_code", "kind", "error", "ward_action")})

    # ------------------------------------------------------------------------------------- inbound

    def _index(self, month: str) -> int:
        year, number = _parse_month(month)
        index = (year - self.fiscal_year) * 12 + number - 4
        if not 0 <= index < 12:
            raise ValueError(f"month {month} is outside 年度 {self.fiscal_year} "
                             f"({self.fiscal_year}-04 … {self.fiscal_year + 1}-03)")
        return index

    def inbound(self, month: str, outbound: dict[str, bytes]) -> dict[str, bytes]:
        """The files the insurers deliver in ``month`` (YYYY-MM, within the 年度), name → bytes, given every file
        the ward has sent (``outbound``: name → bytes, all months up to this one).

        A file the ward sent is answered on the 10th of the month after its 作成年月日 (the insurers process a
        month's notices together), in that month's delivery."""
        index = self._index(month)
        sent = self._sent(outbound)
        files: dict[str, bytes] = {}
        if index == _TARGETS_MONTH:
            files.update(self._files_00)
        files.update(self._candidate_files(index))
        files.update(self._answers(sent, index))
        if index % 2 == 1:
            for payer, delivered in self._results(sent, index - 1).items():
                if not (index == _LATE_FILE and payer == self.main_payer):
                    files.update(delivered)
        if index == _LATE_FILE + 1 and self.main_payer is not None:
            files.update(self._results(sent, _LATE_FILE - 1).get(self.main_payer, {}))
        if index - 1 in (_TRAILER_FAULT, _LENGTH_FAULT) and self.main_payer is not None:
            # the refused file, sent again correct the month after (媒体連番 002, the same 作成年月日)
            files.update(self._results(sent, index - 2, resend=True).get(self.main_payer, {}))
        return dict(sorted(files.items()))

    def candidate_truth(self) -> pl.DataFrame:
        """One row per 追加候補者 (30) record: ``month_index`` (0 = April), ``payer_code``, ``basic_pension_no``,
        ``pension_code``, ``person_id``, ``atena_no``."""
        months = pl.Series(_CANDIDATE_MONTHS, dtype=pl.Int64)
        return self._candidates.with_columns(
            months.gather(np.arange(self._candidates.height) % len(_CANDIDATE_MONTHS)).alias("month_index"),
        ).join(self._book.select(*_KEY, "atena_no"), on=list(_KEY), how="left", validate="1:1",
               maintain_order="left").select("month_index", *_KEY, "person_id", "atena_no")

    def _candidate_files(self, index: int) -> dict[str, bytes]:
        """The 特別徴収追加候補者情報 (30, 各種区分 01 新規者) delivered in month ``index``, one file per insurer:
        the pensioners the insurers did not list in May, found since (捕捉年月日 the 1st of the month)."""
        if index not in _CANDIDATE_MONTHS:
            return {}
        mine = self.candidate_truth().filter(pl.col("month_index") == index).select(_KEY)
        if mine.is_empty():
            return {}
        created = _month_start(self.fiscal_year, index).replace(day=_TARGETS_DAY)
        records = mine.join(self._book, on=list(_KEY), how="left", validate="1:1", maintain_order="left").with_columns(
            pl.lit("01").alias("category"), pl.lit(_month_start(self.fiscal_year, index), pl.Date).alias("event_date"),
            pl.col("pension_revenue").alias("amount_1"),  # 年金年額
            pl.lit(0, pl.Int64).alias("amount_2"), pl.lit(0, pl.Int64).alias("amount_3"))
        files: dict[str, bytes] = {}
        for payer in records["payer_code"].unique().sort().to_list():
            name, data = _file_bytes("30", self.municipality_code, payer, created, 1,
                                     records.filter(pl.col("payer_code") == payer))
            files[name] = data
        return files

    def _sent(self, outbound: dict[str, bytes]) -> pl.DataFrame:
        """Every data record the ward sent, with the file, its month index, its answer date and the answer's
        処理結果."""
        frames = []
        for name in sorted(outbound):
            if parse_exchange_file_name(name) is None:
                raise ValueError(f"{name}: not the name of a 年金特徴 file (Z4<通知内容コード>_<義務者>_<YYYYMMDD>_<連番>.dta)")
            read = read_exchange_file(outbound[name], file=name)
            created = read.control.created_date
            # the insurers process what arrived in a month and answer on the 10th of the next (処理年月日)
            answered = _month_end(created) + timedelta(days=_RESULTS_DAY)
            index = (created.year - self.fiscal_year) * 12 + created.month - 4
            for code, frame in sorted(read.records.items()):
                if code not in ANSWERS:
                    raise ValueError(f"{name}: 通知内容コード {code} is not a notice the ward sends (expected "
                                     f"{', '.join(ANSWERS)})")
                frames.append(frame.with_columns(
                    pl.lit(name).alias("file"), pl.lit(code).alias("notice_code"), pl.lit(index).alias("file_month"),
                    pl.lit(answered, pl.Date).alias("answer_date")))
        if not frames:
            return pl.DataFrame(schema={"file": pl.String, "notice_code": pl.String, "file_month": pl.Int64,
                                        "created_date": pl.Date, "record_no": pl.Int64, **{k: pl.String for k in _KEY},
                                        "category": pl.String, "result": pl.String})
        sent = pl.concat(frames, how="diagonal_relaxed")
        book = self._book.select(*_KEY, "person_id", pl.lit(True).alias("_known"),
                                 ((pl.col("pension_revenue") - pl.col("withholding_tax") - pl.col("social_insurance"))
                                  // 6).alias("_net_payment"))
        events = self._events.select("person_id", "death_date", "suspended_from", "request_shortfall")
        sent = sent.join(book, on=list(_KEY), how="left", validate="m:1", maintain_order="left") \
            .join(events, on="person_id", how="left", validate="m:1", maintain_order="left")
        request = pl.col("notice_code").is_in(_REQUESTS) & (pl.col("category") == "01")
        largest = pl.max_horizontal("amount_1", "amount_2", "amount_3")
        gone = (pl.col("death_date") <= pl.col("answer_date")).fill_null(False) | (
            pl.col("suspended_from").is_between(0, pl.col("file_month"))).fill_null(False)
        sent = sent.with_columns(
            pl.when(pl.col("_known").is_null()).then(pl.lit("01"))  # 該当者なし
            .when(gone & (pl.col("notice_code") != "41")).then(pl.lit("03"))  # 資格喪失・差止
            .when(request & (pl.col("request_shortfall").fill_null(False) | (largest > pl.col("_net_payment"))))
            .then(pl.lit("02"))  # 年金額不足
            .otherwise(pl.lit("00")).alias("result"),
        )
        # a 税額変更 (41-11) changes a 本徴収 under way: without an accepted request before it, その他 (99)
        accepted = sent.filter(request & (pl.col("result") == "00")).group_by(list(_KEY)) \
            .agg(pl.col("created_date").min().alias("_accepted_since"))
        change = (pl.col("notice_code") == "41") & (pl.col("category") == "11") & (pl.col("result") == "00")
        running = (pl.col("_accepted_since") <= pl.col("created_date")).fill_null(False)
        return sent.join(accepted, on=list(_KEY), how="left", validate="m:1", maintain_order="left").with_columns(
            pl.when(change & ~running).then(pl.lit("99")).otherwise("result").alias("result"),
        ).drop("_accepted_since").sort("file_month", "file", "record_no")

    def _answers(self, sent: pl.DataFrame, index: int) -> dict[str, bytes]:
        """An answer file (02, 32, 42, 62) per file and insurer the ward sent the month before."""
        now = sent.filter(pl.col("file_month") == index - 1)
        if now.is_empty():
            return {}
        groups = now.select("file", "notice_code", "municipality_code", "payer_code", "answer_date").unique() \
            .with_columns(pl.col("notice_code").replace_strict(ANSWERS).alias("answer_code")) \
            .sort("answer_code", "payer_code", "answer_date", "file", "municipality_code")
        groups = groups.with_columns(
            (pl.int_range(pl.len()).over("answer_code", "payer_code", "answer_date") + 1).alias("serial"))
        files: dict[str, bytes] = {}
        for file, code, municipality, payer, answered, answer_code, serial in groups.iter_rows():
            records = now.filter((pl.col("file") == file) & (pl.col("notice_code") == code)
                                 & (pl.col("municipality_code") == municipality) & (pl.col("payer_code") == payer)) \
                .sort("record_no").with_columns(pl.col("answer_date").alias("event_date"))  # 処理年月日
            name, data = _file_bytes(answer_code, municipality, payer, answered, serial, records)
            files[name] = data
        return files

    def _results_created(self, index: int) -> date:
        return _month_start(self.fiscal_year, index).replace(day=_RESULTS_DAY)

    def _requested(self, sent: pl.DataFrame, payment: int) -> pl.DataFrame:
        """``_KEY`` → ``requested`` (yen, > 0) for one payment month."""
        before = sent.filter((pl.col("file_month") < payment) & (pl.col("result") == "00"))
        stop = pl.col("notice_code").eq("41") & pl.col("category").is_in(_STOPS_41)
        if payment in PROVISIONAL_PAYMENTS:
            april, june, august = provisional_amounts(pl.col("previous_year_tax"))
            amount = {0: april, 2: june, 4: august}[payment]
            base = self._records.filter(pl.col("category") == "02").select(*_KEY, amount.alias("requested"))
            return base.join(before.filter(stop).select(_KEY).unique(), on=list(_KEY), how="anti") \
                .filter(pl.col("requested") > 0)
        # the notices that set or stop a 本徴収 under way: a 41-02 (転出) does neither (this 年度 continues)
        changes = before.filter(pl.col("notice_code").is_in(_REQUESTS) | (
            pl.col("notice_code").eq("41") & pl.col("category").is_in([*_STOPS_41, "11"])))
        if changes.is_empty():
            return pl.DataFrame(schema={**{k: pl.String for k in _KEY}, "requested": pl.Int64})
        sets = (pl.col("notice_code").is_in(_REQUESTS) & (pl.col("category") == "01")) | (
            pl.col("notice_code").eq("41") & (pl.col("category") == "11"))
        latest = changes.sort("created_date", "file", "record_no").group_by(list(_KEY), maintain_order=True).last()
        return latest.select(*_KEY, pl.when(sets).then(pl.col(_MAIN_AMOUNT[payment])).otherwise(0)
                             .cast(pl.Int64).alias("requested")).filter(pl.col("requested") > 0)

    def _results(self, sent: pl.DataFrame, payment: int, resend: bool = False) -> dict[str, dict[str, bytes]]:
        """The 22 of one payment month, per insurer (payer → {name: bytes}), planted faults included; ``resend``:
        the main insurer's file sent again without its fault, 媒体連番 002 (the answer to the ward's request
        after it refused the first)."""
        delivery = payment + 1
        requested = self._requested(sent, payment)
        if requested.is_empty():
            return {}
        events = self._events.select("person_id", "death_month", "suspended_from", "short_at")
        frame = requested.join(self._book, on=list(_KEY), how="left", validate="1:1", maintain_order="left") \
            .join(events, on="person_id", how="left", validate="m:1", maintain_order="left")
        # a pension too small at a payment it was asked for (reported 03) ends the withholding for the rest of the
        # 年度 (特別徴収の中止): the insurer neither withholds nor reports the later payments
        earlier = [p for p in (*PROVISIONAL_PAYMENTS, *MAIN_PAYMENTS) if p < payment]
        if earlier:
            was_short = pl.concat([self._requested(sent, p).select(*_KEY, pl.lit(p, pl.Int64).alias("short_at"))
                                   for p in earlier])
            frame = frame.join(was_short, on=[*_KEY, "short_at"], how="anti")
        if frame.is_empty():
            return {}
        dead = pl.col("death_month").is_between(0, payment).fill_null(False)
        suspended = pl.col("suspended_from").is_between(0, payment).fill_null(False)
        short = (pl.col("short_at") == payment).fill_null(False)
        category = pl.when(dead).then(pl.lit("01")).when(suspended).then(pl.lit("02")).when(short).then(pl.lit("03")) \
            .otherwise(pl.lit("00"))
        frame = frame.with_columns(category.alias("category")).with_columns(
            pl.lit(_payment_date(self.fiscal_year, payment), pl.Date).alias("event_date"),  # 徴収年月日
            pl.when(pl.col("category") == "00").then("requested").otherwise(0).cast(pl.Int64).alias("amount_1"),
            pl.when(pl.col("category") == "00").then(0).otherwise("requested").cast(pl.Int64).alias("amount_2"),
            pl.lit(0, pl.Int64).alias("amount_3"),
        ).sort(*_KEY)
        created = self._results_created(delivery)
        out: dict[str, dict[str, bytes]] = {}
        for payer in frame["payer_code"].unique().sort().to_list():
            mine = frame.filter(pl.col("payer_code") == payer)
            name, data = _file_bytes("22", self.municipality_code, payer, created, 1, mine)
            out[payer] = {name: data}
            if payer != self.main_payer:
                continue
            if resend:
                again, data = _file_bytes("22", self.municipality_code, payer, created, 2, mine)
                out[payer] = {again: data}
            elif delivery == _TRAILER_FAULT:
                out[payer] = {name: _trailer_off_by_one(data)}
            elif delivery == _LENGTH_FAULT:
                out[payer] = {name: _first_record_short(data)}
            elif delivery == _CORRECTED_FILE:
                wrong = mine.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.col("amount_1") + 1_000)
                                          .otherwise("amount_1").alias("amount_1"))
                first, bad = _file_bytes("22", self.municipality_code, payer, created, 1, wrong)
                second, good = _file_bytes("22", self.municipality_code, payer, created, 2, mine)
                out[payer] = {first: bad, second: good}
        return out


# ------------------------------------------------------------------------------------ module functions

def target_person_files(pop: Population, seed: int) -> dict[str, bytes]:
    """The 00 files of May (:meth:`PensionInsurers.target_person_files`)."""
    return PensionInsurers(pop, seed).target_person_files()


def target_person_truth(pop: Population, seed: int) -> pl.DataFrame:
    """Who each 00 record is and how it differs from the population (:meth:`PensionInsurers.target_person_truth`)."""
    return PensionInsurers(pop, seed).target_person_truth()


def previous_year_register(pop: Population, seed: int) -> pl.DataFrame:
    """The migration register of the previous year's pension-route tax: ``atena_no``, ``basic_pension_no``,
    ``pension_code``, ``payer_code``, ``previous_year_tax`` (Int64 yen), one row per 前年度継続者 of the 00
    files (same 基礎年金番号, 年金コード and 特別徴収義務者), sorted by 宛名番号."""
    return PensionInsurers(pop, seed).previous_year_register()


def previous_year_register_path(municipality: str, fiscal_year: int) -> str:
    """The register's path relative to ``landing/`` (layout ``contracts/layouts/pension_previous_year.yaml``)."""
    return (f"pension_previous_year/municipality={municipality}/fiscal_year={fiscal_year}/"
            f"nenkin_tokucho_zennendo_{municipality}_{fiscal_year}0401.csv")


def write_previous_year_register(pop: Population, seed: int, landing_dir: Path) -> Path:
    """Write the register in the registry dialect (UTF-8, header, comma, LF) under ``landing_dir``."""
    from .registry import _csv_bytes  # the registry files' dialect, written the same way

    frame = previous_year_register(pop, seed).with_columns(pl.col("previous_year_tax").cast(pl.String))
    path = Path(landing_dir) / previous_year_register_path(pop.municipality_code, pop.fiscal_year)
    _atomic_write(path, _csv_bytes(frame))
    return path


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_month(landing_dir: Path, month: str, files: dict[str, bytes], *, municipality: str,
                fiscal_year: int | None = None) -> list[Path]:
    """Write a month's inbound files under ``landing_dir / landing_folder(municipality, fiscal_year, month)``
    (``fiscal_year``: the 年度 of ``month`` unless given), each to a temporary name, fsynced, then renamed.
    A file already there with the same bytes is left alone; with other bytes it is refused (FileExistsError):
    the landing zone is never modified. Returns the paths, sorted."""
    year = fiscal_year_of(month) if fiscal_year is None else fiscal_year
    folder = Path(landing_dir) / landing_folder(municipality, year, month)
    paths = []
    for name in sorted(files):
        if parse_exchange_file_name(name) is None:
            raise ValueError(f"{name}: not the name of a 年金特徴 file (Z4<通知内容コード>_<義務者>_<YYYYMMDD>_<連番>.dta)")
        path = folder / name
        if path.exists():
            if path.read_bytes() != files[name]:
                raise FileExistsError(f"{path}: already received with other bytes; the landing zone is never "
                                      "modified (a corrected file comes with a higher 媒体連番)")
        else:
            _atomic_write(path, files[name])
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------------------- command line

def _run_month(run: Path) -> str | None:
    """The month of a hand-off run folder: its manifest's ``series`` (the month of a monthly exchange), else
    the UTC date its run id begins with."""
    try:
        series = json.loads((run / "manifest.json").read_text(encoding="utf-8")).get("series")
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        series = None
    if isinstance(series, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}", series):
        return series
    found = re.match(r"([0-9]{4})([0-9]{2})[0-9]{2}T", run.name)
    return f"{found.group(1)}-{found.group(2)}" if found else None


def outbound_from_lake(lake: Path, municipality: str, fiscal_year: int, month: str) -> dict[str, bytes]:
    """The ward's outbound files of every month up to ``month``: the newest hand-off run folder of each month
    under ``<lake>/exports/pension_insurers/municipality=M/fiscal_year=N/`` (the month is the manifest's
    ``series``, :func:`_run_month`). Run ids begin with their UTC start time: the newest sorts last."""
    root = Path(lake) / "exports" / "pension_insurers" / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    if not root.is_dir():
        return {}
    newest: dict[str, Path] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        run_month = _run_month(folder)
        if run_month is not None:
            newest[run_month] = folder  # sorted: a later run of the same month replaces an earlier one
    files: dict[str, bytes] = {}
    for run_month, run in sorted(newest.items()):
        if run_month <= month:
            for path in sorted(run.glob("Z4*.dta")):
                files[path.name] = path.read_bytes()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample_ward.pension_insurer",
        description="Play the pension insurers of a generated ward for one month: read the ward's outbound 年金特徴 "
                    "files from the lake's exports and write the month's inbound files into the landing zone.")
    parser.add_argument("--landing", type=Path, required=True, help="the landing zone (e.g. <lake>/landing)")
    parser.add_argument("--lake", type=Path, required=True, help="the lake whose exports/pension_insurers/ is read")
    parser.add_argument("--month", required=True, help="the month of delivery, YYYY-MM (April … March of the 年度)")
    parser.add_argument("--residents", type=int, required=True, help="the ward's residents (as generated)")
    parser.add_argument("--seed", type=int, required=True, help="the ward's seed (as generated)")
    parser.add_argument("--fiscal-year", type=int, required=True, help="the 年度")
    parser.add_argument("--municipality", default="131032", help="the 6-digit 団体コード (default 131032)")
    parser.add_argument("--large-families", type=float, default=0.0, help="as generated (default 0)")
    parser.add_argument("--previous-year-register", action="store_true",
                        help="also write the migration register of the previous year's tax")
    args = parser.parse_args(argv)
    from .population import build_population

    try:
        if fiscal_year_of(args.month) != args.fiscal_year:
            raise ValueError(f"month {args.month} is not in 年度 {args.fiscal_year}")
        pop = build_population(args.residents, args.seed, args.fiscal_year, args.municipality, args.large_families)
        insurers = PensionInsurers(pop, args.seed)
        outbound = outbound_from_lake(args.lake, args.municipality, args.fiscal_year, args.month)
        files = insurers.inbound(args.month, outbound)
        written = write_month(args.landing, args.month, files, municipality=args.municipality,
                              fiscal_year=args.fiscal_year)
        if args.previous_year_register:
            written.append(write_previous_year_register(pop, args.seed, args.landing))
    except (ValueError, FileExistsError, JuminzeiError) as problem:  # each says what is wrong in a sentence
        print(f"pension_insurer: {problem}", file=sys.stderr)
        return 2
    print(f"{len(outbound)} outbound file(s) read; {len(written)} file(s) written for {args.month}:")
    for path in written:
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
