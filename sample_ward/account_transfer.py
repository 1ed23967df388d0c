"""口座振替 of the sample ward: the 収納 desk's registration file and the bank that answers the 依頼 files.

A tool for tests and the demo, not the product (the product's side is :mod:`transforms.account_transfer`).

* :func:`registrations` — about 30 % of the given 普通徴収 persons lodged a 預金口座振替依頼書: most before the
  年度 (開始日 = the first 普通徴収 納期), some during it (開始日 = a later 納期), a few ended since (終了日: 廃止) and
  a few changed their account (a second 依頼書 with a newer 受付日, the first left without 終了日, so that the
  newest 受付日 must win). Banks, branches, accounts and holders' names are synthetic (:data:`BANKS`,
  :data:`FAMILY_NAMES`: the ward's place names, :data:`GIVEN_NAMES`: common given names; drawn apart, no
  real person's), every name in the characters a 全銀 file takes (small kana written large: ﾛﾂﾎﾟﾝｷﾞ).
  :func:`registrations_csv` writes the frame in the landing layout's wire form
  (``contracts/layouts/account_transfer_registrations.yaml``: UTF-8, header, comma, LF, dates YYYYMMDD) and
  :func:`registrations_path` says where it goes under ``landing/``.
* :func:`bank_results` — the bank: reads a 91 依頼 file and returns its 振替結果 file, most records 振替済 (0), a few
  資金不足 (1) and one 取引なし (2), byte-valid (the trailer's 振替済・振替不能 totals computed by the codec).

Deterministic: NumPy streams derived from the seed (and, for a result, from the request's 引落日), frames sorted,
no clock. Vectorised over people (NumPy and Polars columns); no loop runs over records.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from transforms.account_transfer import REGISTRATION_SCHEMA
from transforms.installments import ordinary_slots
from transforms.zengin_records import read_zengin_file, write_zengin_file

_STREAM = 0x4B4F5A41  # "KOZA": this module's own random stream
_RESULT_STREAM = 0x4B454B4B  # "KEKK" (結果): the bank's stream

#: the share of 普通徴収 persons with a 依頼書
REGISTERED_SHARE = 0.30
#: of the registered: who registered during the 年度 (a later first 納期), who ended it, who changed account
LATE_SHARE = 0.15
ENDED_SHARE = 0.05
CHANGED_SHARE = 0.05
#: of the debits of a file: 資金不足 (code 1); one more record is 取引なし (code 2)
SHORT_OF_FUNDS_SHARE = 0.04
#: 普通徴収 納期 of the 特別区 profile (rules/profiles/special_ward.yaml ordinary_collection.due_months)
DUE_MONTHS: tuple[int, ...] = (6, 8, 10, 1)

#: synthetic banks (金融機関コード, kana name), made up for the sample ward (a code may happen to be a real
#: institution's; the names are the ward's place names)
BANKS: tuple[tuple[str, str], ...] = (
    ("0901", "ﾐﾅﾄｻﾝﾌﾟﾙ"), ("0902", "ｼﾊﾞｳﾗ"), ("0903", "ﾀｶﾅﾜ"), ("0904", "ｱｻﾞﾌﾞ"), ("0905", "ｼﾛｶﾞﾈ"),
)
FAMILY_NAMES: tuple[str, ...] = (
    "ﾐﾅﾄ", "ｼﾊﾞ", "ｱｵﾔﾏ", "ｱｶｻｶ", "ﾀｶﾅﾜ", "ｼﾛｶﾞﾈ", "ﾛﾂﾎﾟﾝｷﾞ", "ｱｻﾞﾌﾞ", "ﾐﾀ", "ｺｳﾅﾝ", "ﾀﾞｲﾊﾞ", "ｼﾝﾊﾞｼ",
)
GIVEN_NAMES: tuple[str, ...] = (
    "ﾀﾛｳ", "ﾊﾅｺ", "ｹﾝｼﾞ", "ﾕｳｺ", "ｻﾄｼ", "ﾐﾎ", "ﾋﾛｼ", "ｱｲ", "ﾀｸﾔ", "ﾒｸﾞﾐ", "ｼﾞﾛｳ", "ﾅｵｺ",
)
COLUMNS = tuple(REGISTRATION_SCHEMA)


def registrations_path(municipality: str, fiscal_year: int) -> str:
    """Where the registration file goes, relative to ``landing/`` (the layout's file_pattern)."""
    from contracts.resident_snapshot import load_layout

    name = load_layout("account_transfer_registrations").expected_file(municipality, fiscal_year)
    return f"account_transfer_registrations/municipality={municipality}/fiscal_year={fiscal_year}/{name}"


def _rng(*keys: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(keys))))


def registrations(persons: pl.DataFrame, *, seed: int, fiscal_year: int,
                  due_months: Sequence[int] = DUE_MONTHS) -> pl.DataFrame:
    """The 依頼書 of about 30 % of ``persons`` (column ``atena_no``: the 普通徴収 persons), one row each and a second
    row for the few who changed account (:data:`transforms.account_transfer.REGISTRATION_SCHEMA`, sorted by 宛名番号
    and 受付日). ``due_months``: the 普通徴収 納期 months, whose 納期限 are the 開始日."""
    rng = _rng(seed, _STREAM, fiscal_year)
    atena = persons.select(pl.col("atena_no").cast(pl.String)).unique().sort("atena_no")["atena_no"]
    k = round(REGISTERED_SHARE * atena.len())
    if k == 0:
        return pl.DataFrame(schema=REGISTRATION_SCHEMA)
    chosen = atena.gather(np.sort(rng.choice(atena.len(), size=k, replace=False)))
    dues = np.array([slot.due_date for slot in ordinary_slots(fiscal_year, list(due_months))], dtype="datetime64[D]")
    # the first 納期 of the 年度 and of the two before, for the 依頼書 lodged then (still in force)
    firsts = np.array([ordinary_slots(fiscal_year - back, list(due_months))[0].due_date for back in (0, 1, 2)],
                      dtype="datetime64[D]")
    last = len(dues) - 1

    # 開始日: the first 納期 of the 年度 (or of one of the two before) for most; a later 納期 of the 年度 for those
    # who registered during it
    late = rng.random(k) < LATE_SHARE
    first_due = np.where(late, rng.integers(1, len(dues), size=k), 0)
    start = np.where(late, dues[first_due], firsts[rng.integers(0, 3, size=k)])
    # 受付日: 10 to 40 days before the 開始日 (the bank needs the 依頼書 ahead of the first debit)
    accepted = start - rng.integers(10, 41, size=k).astype("timedelta64[D]")
    # 廃止: the day before the next 納期, so that one 納期 of the 年度 was debited and the later ones are not
    ended = (rng.random(k) < ENDED_SHARE) & (first_due < last)
    end = np.where(ended, dues[np.minimum(first_due + 1, last)] - np.timedelta64(1, "D"), np.datetime64("NaT"))
    base = _accounts(rng, k).with_columns(
        pl.Series("atena_no", chosen, dtype=pl.String),
        pl.Series("start_date", start).cast(pl.Date),
        pl.Series("end_date", end).cast(pl.Date),
        pl.Series("accepted_on", accepted).cast(pl.Date),
    )
    # a change of account: a new 依頼書 from the next 納期, the first one left open (the newest 受付日 wins)
    changed = (rng.random(k) < CHANGED_SHARE) & ~ended & (first_due < last)
    second = base.filter(pl.Series(changed)).select("atena_no").with_columns(
        pl.Series("start_date", dues[first_due[changed] + 1]).cast(pl.Date),
        pl.lit(None, pl.Date).alias("end_date"))
    second = pl.concat([second, _accounts(rng, second.height)], how="horizontal").with_columns(
        (pl.col("start_date") - pl.duration(days=20)).alias("accepted_on"))
    frame = pl.concat([base.select(COLUMNS), second.select(COLUMNS)], how="vertical")
    return frame.cast(REGISTRATION_SCHEMA).sort("atena_no", "accepted_on")  # type: ignore[arg-type]


def _accounts(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """``n`` synthetic accounts: bank, branch, 預金種目 (mostly 普通), account number, holder's kana name."""
    codes = np.array([code for code, _ in BANKS])
    family, given = np.array(FAMILY_NAMES), np.array(GIVEN_NAMES)
    return pl.DataFrame({
        "bank_code": codes[rng.integers(0, len(BANKS), size=n)],
        "branch_code": pl.Series(rng.integers(1, 300, size=n)).cast(pl.String).str.zfill(3),
        "deposit_type": rng.choice(np.array(["1"] * 18 + ["2", "3"]), size=n),
        "account_no": pl.Series(rng.integers(1, 10_000_000, size=n)).cast(pl.String).str.zfill(7),
        "account_holder_kana": pl.Series(family[rng.integers(0, len(family), size=n)]) + " "
        + pl.Series(given[rng.integers(0, len(given), size=n)]),
    }).cast(pl.String)


def registrations_csv(frame: pl.DataFrame) -> bytes:
    """``frame`` (:func:`registrations`) in the landing layout's wire form: the layout's columns and header,
    UTF-8, comma, ``"`` where needed, LF, dates YYYYMMDD, an empty 終了日 for none."""
    from .registry import _csv_bytes  # the registry files' dialect, written the same way

    wire = frame.select(
        *[pl.col(c).cast(pl.String) for c in COLUMNS if REGISTRATION_SCHEMA[c] != pl.Date()],
        *[pl.col(c).dt.strftime("%Y%m%d") for c in COLUMNS if REGISTRATION_SCHEMA[c] == pl.Date()],
    ).select(COLUMNS).sort("atena_no", "accepted_on")
    return _csv_bytes(wire)


def bank_results(request: bytes, *, file: str, seed: int) -> bytes:
    """The 振替結果 file a bank returns for the 依頼 file ``request`` (kind ``91``; ``file`` names it in errors):
    the same header and records with 振替結果コード set — about :data:`SHORT_OF_FUNDS_SHARE` of them 1 (資金不足,
    at least one when there are three records or more), one 2 (取引なし) when there are two or more, the rest 0
    — and the trailer's totals computed. The line ends are the request's."""
    zf = read_zengin_file(request, file=file, kind="91")
    records = zf.records
    n = records.height
    day = int(str(zf.headers["debit_date"][0]))  # type: ignore[index]
    rng = _rng(seed, _RESULT_STREAM, day, n)
    codes = np.full(n, "0", dtype=object)
    order = rng.permutation(n)
    if n >= 2:
        codes[order[0]] = "2"
    short = max(1, round(SHORT_OF_FUNDS_SHARE * n)) if n >= 3 else 0
    codes[order[1:1 + short]] = "1"
    records = records.with_columns(pl.Series("result_code", codes.tolist(), dtype=pl.String))
    zf.records = records
    return write_zengin_file(zf, file=file, kind="91_result")


__all__ = ["BANKS", "COLUMNS", "bank_results", "registrations", "registrations_csv", "registrations_path"]
