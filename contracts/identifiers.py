"""Check digits of the public identifiers the ward receives: 個人番号, 法人番号, 地方公共団体コード.

Why this module exists: a document's My Number is only a *lookup key* into the vault, so a
mistyped number must be caught before it can match the wrong person, and the ingest stage must do
that over millions of rows.  Each identifier therefore comes twice:

* scalar functions (``my_number_check_digit``, ``is_valid_my_number`` …) for single values, error
  messages and tests;
* vectorised Polars expressions (``my_number_is_valid(pl.col("my_number"))`` …) for whole columns,
  built from integer arithmetic on the digits (no Python per row);
* a NumPy helper (``my_number_check_digits``) for the generator, which draws numbers as integers.

All identifiers are *strings of ASCII digits*: leading zeros are significant (about one My Number in
ten starts with ``0``), so they are never stored as integers.  Full-width digits, hyphens or spaces
are rejected here; normalising them is the caller's decision (and must be recorded as such).

The module sits with the contracts because the contracts validate these check digits (a staged
地方公共団体コード, a review reason that must not hold a My Number, the vault); the parsers and the
matcher in ``transforms/`` import it from here, never the other way round.

Legal sources
-------------
* 個人番号: 平成26年総務省令第85号 第5条 (the ordinance made under the My Number Act that fixes how
  the check digit of a 個人番号 is computed):
  検査用数字 = 11 − (Σ_{n=1..11} Pn × Qn を 11 で除した余り); ただし余りが 1 以下なら 0.
  Pn is the n-th digit counted from the *right* of the 11-digit base, Qn = n + 1 (n ≤ 6),
  n − 5 (n ≥ 7); read from the left, the weights are 6,5,4,3,2,7,6,5,4,3,2.
  The all-zero number (twelve 0s) passes that arithmetic but is never issued: it is rejected explicitly.
* 法人番号: 法人番号の指定等に関する省令 (平成26年財務省令第70号) 第2条:
  検査用数字 = 9 − (Σ_{n=1..12} Pn × Qn を 9 で除した余り), Pn counted from the right of the
  12-digit base, Qn = 1 for odd n and 2 for even n.  The check digit is the *leftmost* of the 13.
* 全国地方公共団体コード (総務省): 5-digit code + check digit; weights 6,5,4,3,2 from the left,
  check = 11 − (Σ mod 11), keeping the last digit (a result of 10 gives 0, 11 gives 1); e.g.
  13103 → 131032 (港区), 13104 → 131041 (新宿区, remainder 0), 13113 → 131130 (渋谷区, remainder 1).
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

__all__ = [
    "MY_NUMBER_WEIGHTS",
    "CORPORATE_NUMBER_WEIGHTS",
    "LOCAL_GOVERNMENT_CODE_WEIGHTS",
    "my_number_check_digit",
    "is_valid_my_number",
    "my_number_check_digits",
    "my_number_check_digit_expr",
    "my_number_is_valid",
    "corporate_number_check_digit",
    "is_valid_corporate_number",
    "corporate_number_check_digit_expr",
    "corporate_number_is_valid",
    "local_government_code_check_digit",
    "is_valid_local_government_code",
    "local_government_code_is_valid",
]

# 平成26年総務省令第85号 第5条: Qn for the 11 base digits, read from the LEFT (n = 11 … 1).
MY_NUMBER_WEIGHTS: tuple[int, ...] = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
# 法人番号の指定等に関する省令 第2条: Qn for the 12 base digits, read from the LEFT (n = 12 … 1):
# the rightmost base digit (n = 1) has weight 1, the next 2, and so on alternating.
CORPORATE_NUMBER_WEIGHTS: tuple[int, ...] = (2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1)
# 全国地方公共団体コード: weights of the 5 code digits, from the left.
LOCAL_GOVERNMENT_CODE_WEIGHTS: tuple[int, ...] = (6, 5, 4, 3, 2)

_ASCII_DIGITS = {n: re.compile(rf"[0-9]{{{n}}}") for n in (5, 6, 11, 12, 13)}
_MY_NUMBER_NEVER_ISSUED = "0" * 12


def _digits_or_raise(value: str, length: int, what: str) -> list[int]:
    if not isinstance(value, str) or _ASCII_DIGITS[length].fullmatch(value) is None:
        raise ValueError(f"{what}: expected a string of {length} ASCII digits, got {value!r}")
    return [ord(ch) - 48 for ch in value]


def _is_digits(value: object, length: int) -> bool:
    return isinstance(value, str) and _ASCII_DIGITS[length].fullmatch(value) is not None


# --------------------------------------------------------------------------------------------
# 個人番号 (My Number)
# --------------------------------------------------------------------------------------------
def my_number_check_digit(base11: str) -> int:
    """Check digit (検査用数字) of an 11-digit My Number base (平成26年総務省令第85号 第5条).

    >>> my_number_check_digit("62149832025")
    7
    """
    digits = _digits_or_raise(base11, 11, "my_number_check_digit")
    remainder = sum(p * q for p, q in zip(digits, MY_NUMBER_WEIGHTS, strict=True)) % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_my_number(value: object) -> bool:
    """True when ``value`` is a 12-ASCII-digit string whose last digit is its 第5条 check digit.

    The all-zero number satisfies the arithmetic but is not a number anyone holds: rejected.
    Anything that is not exactly 12 ASCII digits (None, int, full-width digits, hyphens) is False.
    """
    if not _is_digits(value, 12) or value == _MY_NUMBER_NEVER_ISSUED:
        return False
    assert isinstance(value, str)
    return my_number_check_digit(value[:11]) == ord(value[11]) - 48


def my_number_check_digits(base: np.ndarray) -> np.ndarray:
    """Vectorised 第5条 check digits for integer bases 0 … 10**11 − 1 (for the generator).

    The base is the 11-digit number read as an integer, so leading zeros are implicit.
    Returns an int64 array of digits 0–9.
    """
    base = np.asarray(base, dtype=np.int64)
    if base.size and (base.min() < 0 or base.max() >= 10**11):
        raise ValueError("my_number_check_digits: bases must be in 0 … 10**11 − 1")
    total = np.zeros(base.shape, dtype=np.int64)
    rest = base.copy()
    # Walk from the rightmost digit (n = 1) to the leftmost (n = 11).
    for weight in reversed(MY_NUMBER_WEIGHTS):
        total += (rest % 10) * weight
        rest //= 10
    remainder = total % 11
    return np.where(remainder <= 1, 0, 11 - remainder).astype(np.int64)


def _as_expr(expr: pl.Expr | str) -> pl.Expr:
    return pl.col(expr) if isinstance(expr, str) else expr


def _weighted_digit_sum(number: pl.Expr, weights: tuple[int, ...]) -> pl.Expr:
    """Σ digit × weight over a non-negative integer expression of len(weights) digits (weights left to right).

    Integer arithmetic on one Int64 column (no per-digit string slicing, no Python per row):
    validating two million My Numbers takes well under a second on one core.
    """
    n = len(weights)
    terms = [((number // (10 ** (n - 1 - i))) % 10) * w for i, w in enumerate(weights)]
    return pl.sum_horizontal(terms)


def _my_number_check_from_base(number: pl.Expr) -> pl.Expr:
    remainder = _weighted_digit_sum(number, MY_NUMBER_WEIGHTS) % 11
    return pl.when(remainder <= 1).then(pl.lit(0, pl.Int64)).otherwise(11 - remainder)


def my_number_check_digit_expr(base11: pl.Expr | str) -> pl.Expr:
    """Polars expression: 第5条 check digit (Int64) of an 11-ASCII-digit string column, else null."""
    e = _as_expr(base11)
    number = e.str.to_integer(base=10, strict=False).cast(pl.Int64)
    return pl.when(e.str.contains(r"^[0-9]{11}$")).then(_my_number_check_from_base(number))


def my_number_is_valid(my_number: pl.Expr | str) -> pl.Expr:
    """Polars expression: Boolean, True where the string is a valid 個人番号 (see :func:`is_valid_my_number`).

    Null input gives False (a missing number is not a valid number; test ``is_null`` separately
    to tell "missing" from "wrong").  Works on millions of rows: one regex and integer arithmetic
    on the whole 12-digit value (check digit = value mod 10, base = value div 10).
    """
    e = _as_expr(my_number)
    number = e.str.to_integer(base=10, strict=False).cast(pl.Int64)
    well_formed = e.str.contains(r"^[0-9]{12}$") & (e != _MY_NUMBER_NEVER_ISSUED)
    # Kleene logic: False & null is False, so garbage that does not parse never becomes True.
    return (well_formed & (_my_number_check_from_base(number // 10) == number % 10)).fill_null(False)


# --------------------------------------------------------------------------------------------
# 法人番号 (corporate number)
# --------------------------------------------------------------------------------------------
def corporate_number_check_digit(base12: str) -> int:
    """Check digit of a 12-digit 法人番号 base (法人番号の指定等に関する省令 第2条); it is prepended.

    >>> corporate_number_check_digit("100000000000")
    7
    """
    digits = _digits_or_raise(base12, 12, "corporate_number_check_digit")
    total = sum(p * q for p, q in zip(digits, CORPORATE_NUMBER_WEIGHTS, strict=True))
    return 9 - total % 9


def is_valid_corporate_number(value: object) -> bool:
    """True when ``value`` is 13 ASCII digits whose FIRST digit is the 第2条 check digit of the other 12."""
    if not _is_digits(value, 13):
        return False
    assert isinstance(value, str)
    return corporate_number_check_digit(value[1:]) == ord(value[0]) - 48


def corporate_number_check_digit_expr(base12: pl.Expr | str) -> pl.Expr:
    """Polars expression: 第2条 check digit (Int64) of a 12-ASCII-digit string column, else null."""
    e = _as_expr(base12)
    number = e.str.to_integer(base=10, strict=False).cast(pl.Int64)
    check = 9 - _weighted_digit_sum(number, CORPORATE_NUMBER_WEIGHTS) % 9
    return pl.when(e.str.contains(r"^[0-9]{12}$")).then(check)


def corporate_number_is_valid(corporate_number: pl.Expr | str) -> pl.Expr:
    """Polars expression: Boolean, True where the string is a valid 13-digit 法人番号; null gives False."""
    e = _as_expr(corporate_number)
    number = e.str.to_integer(base=10, strict=False).cast(pl.Int64)
    base = number % 10**12
    check = number // 10**12
    well_formed = e.str.contains(r"^[0-9]{13}$")
    return (well_formed & (9 - _weighted_digit_sum(base, CORPORATE_NUMBER_WEIGHTS) % 9 == check)).fill_null(False)


# --------------------------------------------------------------------------------------------
# 全国地方公共団体コード (local government code)
# --------------------------------------------------------------------------------------------
def local_government_code_check_digit(code5: str) -> int:
    """Check digit of a 5-digit 地方公共団体コード: (11 − Σ mod 11) mod 10, weights 6,5,4,3,2.

    >>> local_government_code_check_digit("13103")
    2
    """
    digits = _digits_or_raise(code5, 5, "local_government_code_check_digit")
    remainder = sum(p * q for p, q in zip(digits, LOCAL_GOVERNMENT_CODE_WEIGHTS, strict=True)) % 11
    return (11 - remainder) % 10


def is_valid_local_government_code(value: object) -> bool:
    """True when ``value`` is a 6-ASCII-digit 団体コード whose last digit is its check digit."""
    if not _is_digits(value, 6):
        return False
    assert isinstance(value, str)
    return local_government_code_check_digit(value[:5]) == ord(value[5]) - 48


def local_government_code_is_valid(code: pl.Expr | str) -> pl.Expr:
    """Polars expression: Boolean, True where the string is a valid 6-digit 団体コード; null gives False."""
    e = _as_expr(code)
    number = e.str.to_integer(base=10, strict=False).cast(pl.Int64)
    expected = (11 - _weighted_digit_sum(number // 10, LOCAL_GOVERNMENT_CODE_WEIGHTS) % 11) % 10
    return (e.str.contains(r"^[0-9]{6}$") & (expected == number % 10)).fill_null(False)
