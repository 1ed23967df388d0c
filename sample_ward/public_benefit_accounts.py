"""The 公金受取口座 the collection stage pays refunds to (landing ``public_benefit_accounts``): synthetic accounts
for about :data:`ACCOUNT_SHARE` of the given persons.

Layout: ``contracts/layouts/public_benefit_accounts.yaml`` (the registry dialect: UTF-8, header row, comma, ``"``
quoting where needed, LF), rows sorted by 宛名番号. The banks are real 全銀 金融機関コード (so that the codes look
like those of a real file), the branches and account numbers random, the 口座名義カナ the person's 氏 and 名 in
full-width katakana with an ideographic space (as the 情報提供ネットワークシステム gives them); the 取得日 lies
between the start of the service (2022-10-01) and ``through``. Nothing here is a real account.

Deterministic: one NumPy stream derived from ``seed``; no clock, no hash order.
"""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import polars as pl

_STREAM = 0x4B4F4B49  # "KOKI": this module's own random stream

#: the columns of the landing file, in the layout's order
ACCOUNT_COLUMNS = ("atena_no", "bank_code", "branch_code", "deposit_type", "account_no", "account_holder_kana",
                   "obtained_on")
ACCOUNT_SHARE = 0.4
#: the day the ward began to obtain 公金受取口座 through the 情報提供ネットワークシステム (the PIA's 変更箇所)
SERVICE_START = date(2022, 10, 1)
#: 金融機関コード and their weight: the large banks, an internet bank and ゆうちょ銀行 (9900)
BANKS = {"0001": 3, "0005": 4, "0009": 4, "0010": 2, "0036": 1, "0038": 1, "9900": 3}
#: 預金種目 and their weight: almost all 普通, a few 貯蓄 and 当座
DEPOSIT_TYPES = {"1": 96, "4": 3, "2": 1}


def accounts(persons: pl.DataFrame, *, seed: int, through: date = date(2026, 5, 31)) -> pl.DataFrame:
    """About 40 % of ``persons`` (those with a 宛名番号) with a 公金受取口座: the columns of
    :data:`ACCOUNT_COLUMNS`, ``obtained_on`` a Date, the rest text. ``persons`` has ``atena_no`` and either
    ``family_name_kana`` and ``given_name_kana`` (the generator's persons) or ``name_kana``."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, _STREAM])))
    if "name_kana" in persons.columns:
        kana = pl.col("name_kana")
    else:
        kana = pl.concat_str("family_name_kana", "given_name_kana", separator="\u3000")
    people = persons.filter(pl.col("atena_no").is_not_null()).select("atena_no", kana.alias("account_holder_kana")) \
        .unique("atena_no", keep="first", maintain_order=True).sort(pl.col("atena_no").cast(pl.Int64))
    chosen = people.filter(pl.Series(rng.random(people.height) < ACCOUNT_SHARE))
    n = chosen.height
    banks, bank_weights = list(BANKS), np.array(list(BANKS.values()), dtype=float)
    kinds, kind_weights = list(DEPOSIT_TYPES), np.array(list(DEPOSIT_TYPES.values()), dtype=float)
    span = max((through - SERVICE_START).days, 0) + 1
    return pl.DataFrame({
        "atena_no": chosen["atena_no"],
        "bank_code": pl.Series(rng.choice(banks, size=n, p=bank_weights / bank_weights.sum()).tolist(),
                               dtype=pl.String),
        "branch_code": pl.Series([f"{b:03d}" for b in rng.integers(1, 1000, size=n).tolist()], dtype=pl.String),
        "deposit_type": pl.Series(rng.choice(kinds, size=n, p=kind_weights / kind_weights.sum()).tolist(),
                                  dtype=pl.String),
        "account_no": pl.Series([f"{a:07d}" for a in rng.integers(1, 10_000_000, size=n).tolist()], dtype=pl.String),
        "account_holder_kana": chosen["account_holder_kana"],
        "obtained_on": pl.Series([date.fromordinal(SERVICE_START.toordinal() + int(d))
                                  for d in rng.integers(0, span, size=n).tolist()], dtype=pl.Date),
    }).select(ACCOUNT_COLUMNS)


def accounts_csv(frame: pl.DataFrame) -> bytes:
    """``frame`` (:func:`accounts`) as the landing file: the layout's columns, the date as YYYYMMDD, UTF-8 with a
    header row, comma, ``"`` where needed, LF."""
    wire = frame.select(
        *[pl.col(c) for c in ACCOUNT_COLUMNS if c != "obtained_on"],
        (pl.col("obtained_on").dt.strftime("%Y%m%d") if frame.schema["obtained_on"] == pl.Date
         else pl.col("obtained_on")).alias("obtained_on"),
    ).select(ACCOUNT_COLUMNS).sort(pl.col("atena_no").cast(pl.Int64))
    buffer = io.BytesIO()
    wire.write_csv(buffer, include_header=True, separator=",", line_terminator="\n", quote_char='"',
                   quote_style="necessary", null_value="")
    return buffer.getvalue()


__all__ = ["ACCOUNT_COLUMNS", "ACCOUNT_SHARE", "accounts", "accounts_csv"]
