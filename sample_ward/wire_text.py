"""Text helpers for the wire formats: era dates, kana width, digits, CSV quoting, CP932 character classes,
My Number check digits and the bulk CP932 file writer. Everything works on whole Polars columns; the only
per-value Python work is on the (small) sets of distinct names and characters."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

import jaconv
import numpy as np
import polars as pl

# --- eras ----------------------------------------------------------------------------------------------
# (first day, gregorian year of 元年, 法定調書 code, e-Tax code, name). docs/sources.md F1.5: the 法定調書/給報
# CSV codes (昭和 1, 大正 2, 明治 3, 平成 4, 令和 5) differ from the e-Tax/eLTAX XML codes (明治 1, 大正 2,
# 昭和 3, 平成 4, 令和 5).
ERAS: tuple[tuple[dt.date, int, int, int, str], ...] = (
    (dt.date(2019, 5, 1), 2019, 5, 5, "令和"),
    (dt.date(1989, 1, 8), 1989, 4, 4, "平成"),
    (dt.date(1926, 12, 25), 1926, 1, 3, "昭和"),
    (dt.date(1912, 7, 30), 1912, 2, 2, "大正"),
    (dt.date(1868, 10, 23), 1868, 3, 1, "明治"),
)
LEGAL = "houtei_chousho"
ETAX = "etax"


def era_code(date: pl.Expr, system: str) -> pl.Expr:
    """元号 code (String) of ``date`` in the 法定調書 (``LEGAL``) or e-Tax (``ETAX``) system."""
    expr = pl.when(date.is_null()).then(pl.lit(None, pl.String))
    for start, _base, legal_code, etax_code, _name in ERAS:
        code = legal_code if system == LEGAL else etax_code
        expr = expr.when(date >= pl.lit(start)).then(pl.lit(str(code)))
    return expr.otherwise(pl.lit(None, pl.String))


def era_year(date: pl.Expr) -> pl.Expr:
    """Year of the era (Int32) of ``date``."""
    expr = pl.when(date.is_null()).then(pl.lit(None, pl.Int32))
    for start, base, *_rest in ERAS:
        expr = expr.when(date >= pl.lit(start)).then((date.dt.year() - base + 1).cast(pl.Int32))
    return expr.otherwise(pl.lit(None, pl.Int32))


def pad2(expr: pl.Expr) -> pl.Expr:
    """Integer → 2-digit zero-padded string (null stays null)."""
    return expr.cast(pl.String).str.zfill(2)


def ymd(date: pl.Expr) -> pl.Expr:
    """Date → YYYYMMDD string."""
    return date.dt.strftime("%Y%m%d")


def amount(expr: pl.Expr, *, blank_zero: bool = True) -> pl.Expr:
    """Int yen → plain digits (leading '-' for negatives); 0/null → '' when ``blank_zero``."""
    text = expr.cast(pl.String)
    if blank_zero:
        return pl.when(expr.fill_null(0) == 0).then(pl.lit("")).otherwise(text)
    return text.fill_null("0")


def flag(expr: pl.Expr) -> pl.Expr:
    """Boolean → '1' / ''."""
    return pl.when(expr.fill_null(False)).then(pl.lit("1")).otherwise(pl.lit(""))


_FW_DIGITS = [chr(0xFF10 + i) for i in range(10)]
_ASCII_DIGITS = [str(i) for i in range(10)]


def fullwidth_digits(expr: pl.Expr) -> pl.Expr:
    """ASCII digits → full-width digits (０-９)."""
    return expr.str.replace_many(_ASCII_DIGITS, _FW_DIGITS)


def csv_quote(expr: pl.Expr) -> pl.Expr:
    """Minimal CSV quoting: quote (and double inner quotes) only when the value needs it."""
    return (
        pl.when(expr.str.contains(r'[",\r\n]'))
        .then(pl.concat_str([pl.lit('"'), expr.str.replace_all('"', '""', literal=True), pl.lit('"')]))
        .otherwise(expr)
    )


# --- kana ------------------------------------------------------------------------------------------------
def halfwidth_kana_map(values: Iterable[str | None]) -> dict[str, str]:
    """Full-width katakana (全角 space between names) → 半角カナ (half-width space), per distinct value."""
    out = {}
    for value in set(values):
        if value is None:
            continue
        out[value] = jaconv.z2h(value.replace("\u3000", " "), kana=True, ascii=False, digit=False)
    return out


# Kana spelling variants (KANA_VARIANT). Each returns the list of variant expressions in the same order
# (small tsu, long vowel → ウ, ウ → long vowel, オ/ヲ, no space, other width); a variant that does not
# change the value is replaced by the caller with the no-space variant (index 4), which always does.
def kana_variants_halfwidth(col: pl.Expr) -> list[pl.Expr]:
    return [
        col.str.replace_all("ｯ", "ﾂ", literal=True),  # small tsu written large
        col.str.replace_all("ｰ", "ｳ", literal=True),  # long vowel mark → ウ
        col.str.replace(r"([ｵｺｿﾄﾉﾎﾓﾖﾛｮ]ﾞ?)ｳ", "${1}ｰ"),  # サトウ → サトー (o-row + ウ written as a long vowel)
        col.str.replace_all("ｵ", "ｦ", literal=True),  # オ/ヲ confusion
        pl.concat_str([col.str.replace_all(" ", "", literal=True)]),  # no space between family and given
        col.map_batches(_halfwidth_to_fullwidth_series, return_dtype=pl.String),  # full-width in a half-width column
    ]


def kana_variants_fullwidth(col: pl.Expr) -> list[pl.Expr]:
    return [
        col.str.replace_all("ッ", "ツ", literal=True),
        col.str.replace_all("ー", "ウ", literal=True),
        col.str.replace(r"([オコソトノホモヨロョゴゾドボポ])ウ", "${1}ー"),
        col.str.replace_all("オ", "ヲ", literal=True),
        col.str.replace_all("\u3000", "", literal=True),
        col.map_batches(_fullwidth_to_halfwidth_series, return_dtype=pl.String),  # half-width in a full-width field
    ]


def _halfwidth_to_fullwidth_series(series: pl.Series) -> pl.Series:
    distinct = series.unique().drop_nulls().to_list()
    mapping = {v: jaconv.h2z(v, kana=True, ascii=False, digit=False).replace(" ", "\u3000") for v in distinct}
    return series.replace_strict(mapping, default=None, return_dtype=pl.String)


def _fullwidth_to_halfwidth_series(series: pl.Series) -> pl.Series:
    distinct = series.unique().drop_nulls().to_list()
    return series.replace_strict(halfwidth_kana_map(distinct), default=None, return_dtype=pl.String)


# 旧字/新字 and 異体字 variants for KANJI_VARIANT (all encodable in CP932; 髙 﨑 are CP932 extensions).
KANJI_VARIANTS: dict[str, str] = {
    "辺": "邊",
    "斉": "齊",
    "沢": "澤",
    "浜": "濱",
    "桜": "櫻",
    "広": "廣",
    "国": "國",
    "竜": "龍",
    "島": "嶋",
    "恵": "惠",
    "栄": "榮",
    "実": "實",
    "真": "眞",
    "富": "冨",
    "高": "髙",
    "崎": "﨑",
    "関": "關",
    "斎": "齋",
    "渕": "淵",
    "瀬": "瀨",
}


# --- CP932 character classes ---------------------------------------------------------------------------
_GETA = "〓"
_VARIATION_SELECTOR = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")


@dataclass(frozen=True)
class CharClasses:
    """Characters found in text bound for CP932 files that are outside JIS X 0208."""

    substitute: dict[str, str]  # not encodable in CP932 → replacement ('〓', or '' for variation selectors)
    extension: frozenset[str]  # encodable only as a CP932 vendor extension (NEC / IBM rows)

    def substitute_pattern(self) -> str | None:
        return _char_class(self.substitute)

    def extension_pattern(self) -> str | None:
        return _char_class(self.extension)


def _char_class(chars: Iterable[str]) -> str | None:
    chars = sorted(chars)
    if not chars:
        return None
    return "[" + "".join(re.escape(c) if c in "\\]^-[" else c for c in chars) + "]"


def _is_jis0208_cp932(encoded: bytes) -> bool:
    if len(encoded) == 1:
        return True  # ASCII / JIS X 0201 half-width katakana
    lead = encoded[0]
    # JIS X 0208 rows 1-8 (0x81-0x84) and 16-84 (0x88-0x9F, 0xE0-0xEA); 0x87 = NEC row 13,
    # 0xED-0xEE = NEC-selected IBM extensions, 0xF0-0xF9 = user-defined, 0xFA-0xFC = IBM extensions.
    return 0x81 <= lead <= 0x84 or 0x88 <= lead <= 0x9F or 0xE0 <= lead <= 0xEA


def classify_chars(texts: Iterable[str]) -> CharClasses:
    """Classify every distinct non-ASCII character of ``texts`` (pass distinct values for speed)."""
    chars: set[str] = set()
    for text in texts:
        if text and not text.isascii():
            chars.update(text)
    substitute: dict[str, str] = {}
    extension: set[str] = set()
    for char in sorted(chars):
        if char.isascii():
            continue
        if _VARIATION_SELECTOR.fullmatch(char):
            substitute[char] = ""
            continue
        try:
            encoded = char.encode("cp932")
        except UnicodeEncodeError:
            substitute[char] = _GETA
            continue
        if not _is_jis0208_cp932(encoded):
            extension.add(char)
    return CharClasses(substitute, frozenset(extension))


# --- identification numbers -----------------------------------------------------------------------------
_MY_NUMBER_WEIGHTS = np.array([6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2], dtype=np.int64)


def my_number_check_digit(first11: np.ndarray) -> np.ndarray:
    """Check digit of 個人番号 (平成26年総務省令第85号 第5条): weights 6,5,4,3,2,7,6,5,4,3,2 on the first 11
    digits (most significant first); r = Σ mod 11; check = 0 if r ≤ 1 else 11 − r. ``first11``: (n, 11)."""
    remainder = (first11 * _MY_NUMBER_WEIGHTS).sum(axis=1) % 11
    return np.where(remainder <= 1, 0, 11 - remainder)


def my_number_is_valid(numbers: Iterable[str]) -> np.ndarray:
    arr = list(numbers)
    out = np.zeros(len(arr), dtype=bool)
    for i, number in enumerate(arr):
        if number is None or len(number) != 12 or not number.isdigit():
            continue
        digits = np.frombuffer(number.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
        out[i] = my_number_check_digit(digits[None, :11])[0] == digits[11]
    return out


def corrupt_check_digit(expr: pl.Expr) -> pl.Expr:
    """Replace the last digit of a 12-digit number by (digit + 1..9) mod 10 → always a wrong check digit."""
    last = expr.str.slice(11, 1).cast(pl.Int32)
    return pl.concat_str([expr.str.slice(0, 11), ((last + 3) % 10).cast(pl.String)])


def corporate_number_check_digit(body12: np.ndarray) -> np.ndarray:
    """Check digit (leading) of 法人番号: 9 − (Σ P_n × Q_n mod 9), n counted from the lowest digit,
    Q_n = 1 for odd n, 2 for even n. ``body12``: (n, 12) most significant first."""
    weights = np.array([2 if (12 - i) % 2 == 0 else 1 for i in range(12)], dtype=np.int64)
    return 9 - (body12 * weights).sum(axis=1) % 9


# --- writing ----------------------------------------------------------------------------------------------
INVALID_BYTES_MARKER = "\x1a\x1a"  # placeholder in text, swapped for INVALID_CP932 after encoding
INVALID_CP932 = b"\x85\x40"  # an unassigned double-byte code: strict CP932 decoding fails
