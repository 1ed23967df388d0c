"""The engine's small steps: rounding, each exact in integer yen (money is Int64, never a float), and the
lookup of a row in a rule table by its inclusive upper bound.

- 1,000円未満切捨て of the 課税標準 and 100円未満切捨て of a levy: 地方税法第20条の4の2第1項・第3項;
- a proportional amount is rounded to 1円 in the direction the rule file names (``floor`` or ``ceil``),
  e.g. the 生命保険料控除 bands round up (地方税法第314条の2, the rule file's ``rounding: ceil``), a
  credit split between the levies rounds down.
Expected values are worked out by hand in each case.
"""

from __future__ import annotations

from fractions import Fraction

import polars as pl
import pytest

from transforms.tax_engine import _divide, _up_to, ceil_div, floor_to_unit, times_fraction

# 2**53 + 1 yen cannot be held by a float64: a float anywhere in the step would show in the result.
BEYOND_FLOAT = 2**53 + 1


def _eval(expression: pl.Expr) -> pl.Series:
    return pl.select(expression.alias("v")).to_series()


@pytest.mark.parametrize(("amount", "unit", "expected"), [
    (1_234_567, 1_000, 1_234_000),  # 課税標準: 567円 dropped
    (1_234_000, 1_000, 1_234_000),  # already a multiple: unchanged
    (999, 1_000, 0),
    (73_456, 100, 73_400),          # 所得割: 56円 dropped
])
def test_floor_to_unit_drops_the_fraction_below_the_unit(amount, unit, expected):
    result = _eval(floor_to_unit(pl.lit(amount, dtype=pl.Int64), unit))
    assert result.dtype == pl.Int64 and result.item() == expected


@pytest.mark.parametrize(("numerator", "denominator", "floor", "ceil"), [
    (7, 2, 3, 4),
    (8, 2, 4, 4),      # exact: both directions agree
    (1, 100_000, 0, 1),
    (0, 5, 0, 0),
    (BEYOND_FLOAT, 1, BEYOND_FLOAT, BEYOND_FLOAT),
    (3 * BEYOND_FLOAT, 3, BEYOND_FLOAT, BEYOND_FLOAT),
])
def test_divide_rounds_as_the_rule_file_says_in_exact_integers(numerator, denominator, floor, ceil):
    for rounding, expected in (("floor", floor), ("ceil", ceil)):
        result = _eval(_divide(pl.lit(numerator, dtype=pl.Int64), denominator, rounding))
        assert result.dtype == pl.Int64, rounding
        assert result.item() == expected, rounding
    assert _eval(ceil_div(pl.lit(numerator, dtype=pl.Int64), denominator)).item() == ceil


def test_divide_refuses_a_rounding_it_does_not_know():
    with pytest.raises(ValueError, match=r"unknown rounding 'half_up' \(floor or ceil\)"):
        _divide(pl.lit(1), 2, "half_up")


@pytest.mark.parametrize(("amount", "fraction", "rounding", "expected"), [
    (10_001, Fraction(3, 5), "floor", 6_000),   # 6,000.6 → 6,000
    (10_001, Fraction(3, 5), "ceil", 6_001),
    (10_000, Fraction(2, 5), "floor", 4_000),
    (12_345, Fraction(1, 1), "floor", 12_345),  # a whole number: no division at all
    (12_345, Fraction(2, 1), "ceil", 24_690),
])
def test_times_fraction_is_exact_with_an_explicit_rounding(amount, fraction, rounding, expected):
    result = _eval(times_fraction(pl.lit(amount, dtype=pl.Int64), fraction, rounding))
    assert result.dtype == pl.Int64 and result.item() == expected


# A rule table as the rule files write one: rows in order, ``up_to`` inclusive, null = no upper limit
# (e.g. 生命保険料控除 or the 特定親族特別控除 table).
BANDS = [{"up_to": 100, "amount": 10}, {"up_to": 200, "amount": 20}, {"up_to": None, "amount": 30}]


@pytest.mark.parametrize(("value", "expected"), [
    (-5, 10), (100, 10),   # the bound itself belongs to its row (以下)
    (101, 20), (200, 20),
    (201, 30), (10**12, 30),  # the last row has no upper limit
])
def test_up_to_picks_the_first_row_whose_inclusive_bound_holds(value, expected):
    result = _eval(_up_to(pl.lit(value, dtype=pl.Int64), BANDS, "amount"))
    assert result.dtype == pl.Int64 and result.item() == expected


def test_up_to_gives_the_default_above_a_table_that_ends():
    bounded = BANDS[:2]
    for default in (0, 7):
        result = _eval(_up_to(pl.lit(201, dtype=pl.Int64), bounded, "amount", default))
        assert result.dtype == pl.Int64 and result.item() == default
    assert _eval(_up_to(pl.lit(150, dtype=pl.Int64), bounded, "amount", 7)).item() == 20


def test_up_to_of_an_empty_table_is_the_default_as_an_integer_yen_column():
    for default in (0, 7):
        result = _eval(_up_to(pl.lit(5, dtype=pl.Int64), [], "amount", default))
        assert result.dtype == pl.Int64 and result.item() == default


# ---------------------------------------------------------------------------- relatives
def test_every_relative_gets_an_integer_amount_in_every_deduction_column_never_a_gap():
    """Per relative, each deduction and difference column holds yen (0 when nothing applies), never null:
    a null would silently vanish in the per-taxpayer sums instead of being a 0 someone decided on."""
    import datetime as dt

    from contracts.taxation_basis import relative_schema
    from transforms.tax_engine import _relatives_frame
    from transforms.tax_rules import load_rules

    def relative(seq, birth, *, role="dependant", disability="none", cohabiting=False, parent=False, income=0):
        return {"person_id": "P1", "role": role, "seq": seq, "birth_date": dt.date.fromisoformat(birth),
                "disability": disability, "cohabiting": cohabiting, "lineal_ascendant": parent,
                "salary_revenue": 0, "public_pension_revenue": 0, "other_income": income}

    rows = [
        relative(1, "2015-06-01"),                                      # 年少
        relative(2, "1990-06-01"),                                      # 一般
        relative(3, "2005-06-01"),                                      # 特定
        relative(4, "1950-06-01"),                                      # 老人
        relative(5, "1950-06-01", cohabiting=True, parent=True),        # 同居老親等
        relative(6, "1990-06-01", income=700_000),                      # above the limit: none
        relative(7, "2005-06-01", income=700_000),                      # 特定親族 (above the limit)
        relative(8, "1990-06-01", disability="ordinary"),
        relative(9, "1990-06-01", disability="special"),
        relative(10, "1990-06-01", disability="special", cohabiting=True),
        relative(11, "1980-06-01", role="spouse"),
        relative(12, "1980-06-01", role="spouse", income=1_000_000),
    ]
    schema = relative_schema()
    frame = pl.LazyFrame([{name: row.get(name) for name in schema} for row in rows], schema=schema)
    out = _relatives_frame(frame, load_rules(2026)).collect()
    amounts = ["rel_dependant_deduction", "rel_dependant_difference", "rel_specific_relative_deduction",
               "rel_disability_deduction", "rel_disability_difference", "rel_total_income"]
    for name in amounts:
        assert out[name].dtype == pl.Int64, name
        assert out[name].null_count() == 0, name
    assert out["rel_category"].null_count() == 0
    assert out["rel_category"].to_list() == [
        "under_16", "general", "specific", "aged", "aged_parent_cohabiting", "none", "none",
        "general", "general", "general", "none", "none",
    ]
    # 障害者控除 26万 / 30万 / 同居特別障害者 53万 (地方税法第314条の2第1項第6号), 0 for the rest
    assert out["rel_disability_deduction"].to_list() == [0] * 7 + [260_000, 300_000, 530_000, 0, 0]


# ----------------------------------------------------------------------------- fiscal years
def test_persons_of_several_fiscal_years_are_each_computed_under_their_own_years_rules():
    """One call, two 年度: each person with the rules of their own year and only their own relatives.
    令和7年度 (2024年分): 給与所得控除 最低 55万, 扶養 limit 48万; 令和8年度 (2025年分): 65万 and 58万
    (rules/fiscal_year_2025.yaml, fiscal_year_2026.yaml; 令和7年法律第7号)."""
    from juminzei.calc import calculate

    def person(year, salary, dependant_income):
        return {"fiscal_year": year, "taxpayer": {"birth_date": "1980-06-15", "sex": "male"},
                "income": {"salary_revenue": salary, "business_income": 5_000_000},
                "dependants": [{"birth_date": "1985-06-01", "other_income": dependant_income}]}

    objects = [person(2026, 1_000_000, 500_000), person(2025, 1_000_000, 500_000), person(2026, 0, 590_000)]
    first, second, third = calculate(objects, detail=True)
    assert (first["fiscal_year"], second["fiscal_year"], third["fiscal_year"]) == (2026, 2025, 2026)
    assert first["salary_income"] == 1_000_000 - 650_000
    assert second["salary_income"] == 1_000_000 - 550_000
    assert first["deduction_dependants"] == 330_000   # 50万 ≤ 58万: 扶養親族
    assert second["deduction_dependants"] == 0        # 50万 > 48万: not
    assert third["deduction_dependants"] == 0         # 59万 > 58万: its own relative, not the others'
    # and each person computed alone gives the same figures
    from transforms.tax_engine import OUTPUT_COLUMNS

    for together, data in zip((first, second, third), objects):
        (alone,) = calculate([data], detail=True)
        assert {k: together[k] for k in OUTPUT_COLUMNS} == {k: alone[k] for k in OUTPUT_COLUMNS}


def test_no_persons_give_an_empty_result_with_every_output_column():
    from contracts.taxation_basis import person_schema, relative_schema
    from transforms.tax_engine import OUTPUT_COLUMNS, PROFILE_COLUMNS, compute

    schema = {**person_schema(), **{name: pl.Int64() for name in PROFILE_COLUMNS}}
    out = compute(pl.DataFrame(schema=schema), pl.DataFrame(schema=relative_schema()))
    assert out.height == 0
    assert set(OUTPUT_COLUMNS) <= set(out.columns)
    assert all(out.schema[name] == pl.Int64 for name in OUTPUT_COLUMNS if name.startswith(("deduction_", "tax_")))


def test_money_never_becomes_a_float_anywhere_in_the_engine():
    """No figure of the engine is ever a float (money is exact integer yen), whatever mix of incomes,
    deductions and relatives a person has; the output holds exactly the documented columns."""
    from juminzei.calc import calculate
    from transforms.tax_engine import OUTPUT_COLUMNS

    rich = {
        "fiscal_year": 2026, "taxpayer": {"birth_date": "1958-06-15", "sex": "female", "disability": "special"},
        "income": {"salary_revenue": 9_000_000, "public_pension_revenue": 2_000_000, "business_income": 300_000,
                   "dividend_income": 200_000},
        "paid": {"social_insurance": 800_000, "medical_expenses": 300_000, "earthquake_insurance": 30_000,
                 "life_insurance": {"new_general": 50_000, "old_pension": 60_000}},
        "credits": {"furusato_donations": 50_000},
        "spouse": {"birth_date": "1956-01-01", "other_income": 1_000_000},
        "dependants": [{"birth_date": "2010-06-01"}, {"birth_date": "1950-01-01", "lineal_ascendant": True,
                                                      "cohabiting": True, "disability": "ordinary"}],
    }
    (row,) = calculate([rich])
    assert set(row) == set(OUTPUT_COLUMNS)
    assert not [name for name, value in row.items() if isinstance(value, float)]
    (detail,) = calculate([rich], detail=True)
    assert not [name for name, value in detail.items() if isinstance(value, float)]


def _engine_frames(monkeypatch, objects):
    """The person and relative frames the calculator builds for ``objects`` (ids 000000000, 000000001, …)."""
    import transforms.tax_engine as engine
    from juminzei.calc import calculate

    captured = {}
    real = engine.compute

    def keep(persons, relatives):
        captured.update(persons=persons, relatives=relatives)
        return real(persons, relatives)

    monkeypatch.setattr(engine, "compute", keep)
    calculate(objects)
    return captured["persons"], captured["relatives"]


def test_a_person_id_twice_or_not_a_number_stops_the_engine_instead_of_mixing_up_relatives(monkeypatch):
    """Relatives join their taxpayer on the digits of ``person_id`` (宛名番号): the same id twice, or an id
    that is not all digits, would give a relative to the wrong person or to nobody, so the engine refuses."""
    from transforms.tax_engine import compute

    taxpayer = {"fiscal_year": 2026, "taxpayer": {"birth_date": "1980-06-15"}, "income": {"business_income": 5_000_000},
                "dependants": [{"birth_date": "1990-06-01"}]}
    persons, relatives = _engine_frames(monkeypatch, [taxpayer, taxpayer])
    assert compute(persons, relatives).height == 2
    twice = persons.with_columns(pl.lit("000000000").alias("person_id"))
    with pytest.raises(pl.exceptions.ComputeError, match="1:1"):
        compute(twice, relatives)
    lettered = persons.with_columns(pl.col("person_id").str.replace("^0", "A"))
    with pytest.raises(pl.exceptions.ComputeError, match="strict integer parsing failed"):
        compute(lettered, relatives.with_columns(pl.col("person_id").str.replace("^0", "A")))


def test_an_unknown_birth_date_is_not_a_minor_and_an_unknown_grade_stops_the_engine(monkeypatch):
    """未成年者 (第295条第1項第2号) must be shown by a birth date: without one nobody is exempted as a minor.
    The 級地 must be one the rule file knows (1, 2, 3): any other stops the run rather than taking a default."""
    from transforms.tax_engine import compute

    taxpayer = {"fiscal_year": 2026, "taxpayer": {"birth_date": "2010-06-15"}, "income": {"business_income": 1_000_000}}
    persons, relatives = _engine_frames(monkeypatch, [taxpayer])
    assert compute(persons, relatives)["exemption"].to_list() == ["fully_exempt"]  # a minor with 100万
    unknown = compute(persons.with_columns(pl.lit(None, pl.Date).alias("birth_date")), relatives)
    assert unknown["is_minor"].to_list() == [False]
    assert unknown["exemption"].to_list() == ["none"]
    with pytest.raises(pl.exceptions.InvalidOperationError):
        compute(persons.with_columns(pl.lit(4, pl.Int64).alias("grade")), relatives)
