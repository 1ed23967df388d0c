"""Check digits of 個人番号, 法人番号 and 地方公共団体コード (contracts.identifiers).

Sources of the rules and golden vectors:
* 個人番号: 平成26年総務省令第85号 第5条 (weights 6,5,4,3,2,7,6,5,4,3,2 from the left on the 11-digit
  base; remainder r = Σ mod 11; check = 0 if r <= 1 else 11 − r). Worked examples: 62149832025 → 7,
  98320567321 → 4, 12345678901 → 8.
* 法人番号: 法人番号の指定等に関する省令 (平成26年財務省令第70号) 第2条 (weights 1,2,1,2… from the right
  of the 12-digit base; check = 9 − Σ mod 9, written as the leftmost digit). 123456789012 → 7123456789012.
* 地方公共団体コード: weights 6,5,4,3,2; check = (11 − Σ mod 11) mod 10 (131032 港区, 131041 新宿区,
  131130 渋谷区).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from contracts.identifiers import (
    CORPORATE_NUMBER_WEIGHTS,
    MY_NUMBER_WEIGHTS,
    corporate_number_check_digit,
    corporate_number_check_digit_expr,
    corporate_number_is_valid,
    is_valid_corporate_number,
    is_valid_local_government_code,
    is_valid_my_number,
    local_government_code_check_digit,
    local_government_code_is_valid,
    my_number_check_digit,
    my_number_check_digit_expr,
    my_number_check_digits,
    my_number_is_valid,
)

# 平成26年総務省令第85号 第5条: golden vectors (base, check digit).
MY_NUMBER_GOLDEN = [("62149832025", 7), ("98320567321", 4), ("12345678901", 8), ("01234567890", 3)]
# 法人番号の指定等に関する省令 第2条.
CORPORATE_VALID = ["7123456789012", "5835678256246", "4011001098993", "7000012050002"]


# --- 個人番号 -----------------------------------------------------------------------------------------
def test_my_number_weights_are_those_of_the_ordinance():
    assert MY_NUMBER_WEIGHTS == (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


@pytest.mark.parametrize(("base", "check"), MY_NUMBER_GOLDEN)
def test_my_number_golden_vectors(base, check):
    assert my_number_check_digit(base) == check
    assert is_valid_my_number(base + str(check))
    for wrong in set(range(10)) - {check}:
        assert not is_valid_my_number(base + str(wrong))


def test_my_number_leading_zero_is_kept_and_valid():
    assert is_valid_my_number("012345678903")
    assert my_number_check_digits(np.array([1234567890]))[0] == 3  # the same base read as an integer


def test_all_zero_my_number_is_rejected_explicitly():
    # The arithmetic accepts it (Σ = 0 → check 0); the rule rejects it.
    assert my_number_check_digit("00000000000") == 0
    assert not is_valid_my_number("000000000000")
    frame = pl.DataFrame({"n": ["000000000000"]})
    assert frame.select(my_number_is_valid("n")).item() is False


@pytest.mark.parametrize("value", [None, 621498320257, "62149832025", "6214983202570", "６２１４９８３２０２５７",
                                   "6214-9832-0257", " 621498320257", "62149832025a", "+62149832025", ""])
def test_my_number_rejects_non_canonical_values(value):
    assert not is_valid_my_number(value)


def test_my_number_check_digit_refuses_malformed_base():
    with pytest.raises(ValueError, match="11 ASCII digits"):
        my_number_check_digit("6214983202")


def test_wrong_weights_would_fail_the_golden_vectors():
    # A transcription error seen in public code (weights 7,6,5,4,3,2,7,6,5,4,3) must not pass.
    def wrong(base: str) -> int:
        r = sum(int(d) * w for d, w in zip(base, (7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3), strict=True)) % 11
        return 0 if r <= 1 else 11 - r

    assert any(wrong(base) != check for base, check in MY_NUMBER_GOLDEN)


def test_my_number_expression_matches_scalar_on_random_numbers():
    rng = np.random.default_rng(85)
    base = rng.integers(0, 10**11, 20_000)
    good = base * 10 + my_number_check_digits(base)
    bad = base * 10 + (my_number_check_digits(base) + rng.integers(1, 10, base.size)) % 10
    values = (pl.Series(np.concatenate([good, bad])).cast(pl.String).str.zfill(12).to_list()
              + ["000000000000", None, "６２１４９８３２０２５７", "62149832025", "12345678901a", "+62149832025"])
    frame = pl.DataFrame({"n": pl.Series(values, dtype=pl.String)})
    vector = frame.select(my_number_is_valid("n")).to_series().to_list()
    assert vector == [is_valid_my_number(v) for v in values]
    assert sum(vector[: good.size]) == good.size and not any(vector[good.size: 2 * good.size])


def test_my_number_check_digit_expression_and_numpy_agree_with_scalar():
    rng = np.random.default_rng(5)
    base = rng.integers(0, 10**11, 5_000)
    strings = pl.Series(base).cast(pl.String).str.zfill(11)
    expr = pl.DataFrame({"b": strings}).select(my_number_check_digit_expr("b")).to_series().to_list()
    scalar = [my_number_check_digit(s) for s in strings.to_list()]
    assert expr == scalar == my_number_check_digits(base).tolist()
    assert pl.DataFrame({"b": ["1234567890x"]}).select(my_number_check_digit_expr("b")).item() is None


def test_my_number_expression_handles_a_million_rows():
    rng = np.random.default_rng(1)
    base = rng.integers(1, 10**11, 1_000_000)
    numbers = pl.Series(base * 10 + my_number_check_digits(base)).cast(pl.String).str.zfill(12)
    assert pl.DataFrame({"n": numbers}).lazy().select(my_number_is_valid("n").all()).collect().item()


# --- 法人番号 -----------------------------------------------------------------------------------------
def test_corporate_number_weights_alternate_from_the_right():
    assert CORPORATE_NUMBER_WEIGHTS[-1] == 1 and CORPORATE_NUMBER_WEIGHTS[-2] == 2


def test_corporate_number_golden_vector():
    assert corporate_number_check_digit("123456789012") == 7
    assert is_valid_corporate_number("7123456789012")


@pytest.mark.parametrize("value", CORPORATE_VALID)
def test_corporate_number_known_valid(value):
    assert is_valid_corporate_number(value)
    for wrong in set("123456789") - {value[0]}:
        assert not is_valid_corporate_number(wrong + value[1:])


@pytest.mark.parametrize("value", [None, 7123456789012, "123456789012", "71234567890123", "7123-456789012", "７123456789012"])
def test_corporate_number_rejects_malformed(value):
    assert not is_valid_corporate_number(value)


def test_corporate_number_expression_matches_scalar():
    rng = np.random.default_rng(70)
    bases = pl.Series(rng.integers(0, 10**12, 5_000)).cast(pl.String).str.zfill(12)
    checks = pl.DataFrame({"b": bases}).select(corporate_number_check_digit_expr("b")).to_series()
    assert checks.to_list() == [corporate_number_check_digit(b) for b in bases.to_list()]
    good = (checks.cast(pl.String) + bases).to_list()
    bad = ((checks % 9 + 1).cast(pl.String) + bases).to_list()
    values = good + bad + CORPORATE_VALID + [None, "123", "+123456789012"]
    vector = pl.DataFrame({"c": pl.Series(values, dtype=pl.String)}).select(corporate_number_is_valid("c"))
    assert vector.to_series().to_list() == [is_valid_corporate_number(v) for v in values]


# --- 地方公共団体コード ------------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "valid"), [("131032", True), ("131041", True), ("131130", True), ("010006", True),
                                             ("131033", False), ("13103", False), (None, False)])
def test_local_government_code(code, valid):
    assert is_valid_local_government_code(code) is valid
    frame = pl.DataFrame({"c": pl.Series([code], dtype=pl.String)})
    assert frame.select(local_government_code_is_valid("c")).item() is valid


def test_local_government_code_check_digit_remainders_zero_and_one():
    assert local_government_code_check_digit("13104") == 1  # remainder 0 → 11 → 1
    assert local_government_code_check_digit("13113") == 0  # remainder 1 → 10 → 0
