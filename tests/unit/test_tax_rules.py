"""The rule files (rules/): complete for every fiscal year, documented, exact."""

from __future__ import annotations

import pytest

from transforms.tax_rules import (
    KINDS, RuleError, available_fiscal_years, load_municipality_profile, load_profile, load_rules, to_fraction,
)


def test_the_three_fiscal_years_exist():
    assert {2025, 2026, 2027} <= set(available_fiscal_years())


def test_every_year_has_the_same_parameters_and_keys():
    """A new year is a new file with the same keys: the engine never branches on the year."""
    years = available_fiscal_years()
    first = load_rules(years[0])
    for year in years[1:]:
        rules = load_rules(year)
        assert set(rules.parameters) == set(first.parameters), year
        for name, spec in first.parameters.items():
            assert set(rules.parameters[name]) == set(spec), (year, name)


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_every_parameter_names_its_source_and_status(year):
    assert load_rules(year).check_documented() == []


@pytest.mark.parametrize("kind", KINDS)
def test_every_profile_is_documented(kind):
    assert load_profile(kind).check_documented() == []


def test_the_wards_profile_is_a_special_ward_with_its_per_capita_amounts():
    """港区: 特別区民税 3,000円 / 都民税 1,000円, 1級地 (地方税法第310条・第38条)."""
    profile = load_municipality_profile("131032")
    assert profile.kind == "special_ward"
    assert profile.amount("per_capita_levy.municipal") == 3000
    assert profile.amount("per_capita_levy.prefectural") == 1000
    assert profile.amount("grade.value") == 1
    assert profile.percent("income_levy_percent.municipal") == to_fraction("6")


def test_designated_city_rates_are_8_and_2_percent():
    """地方税法第314条の3第2項 / 第35条第2項 (指定都市, 平成30年度以後)."""
    profile = load_profile("designated_city")
    assert profile.percent("income_levy_percent.municipal") == to_fraction("8")
    assert profile.percent("income_levy_percent.prefectural") == to_fraction("2")
    assert profile.get("credit_share.municipal") == [4, 5]


def test_year_changes_of_the_2025_and_2026_reforms_are_in_the_data():
    """令和7年度改正 (from 年度2026): 扶養 48万→58万, 勤労学生 75万→85万, 給与所得控除 55万→65万."""
    assert load_rules(2025).amount("dependants.income_limit") == 480_000
    assert load_rules(2026).amount("dependants.income_limit") == 580_000
    assert load_rules(2027).amount("dependants.income_limit") == 620_000
    assert load_rules(2025).amount("working_student_deduction.income_limit") == 750_000
    assert load_rules(2026).amount("working_student_deduction.income_limit") == 850_000
    assert load_rules(2025).table("salary_income.table")[0]["add"] == 550_000
    assert load_rules(2026).table("salary_income.table")[0]["add"] == 650_000
    assert load_rules(2025).table("specific_relative_deduction.table") == []


def test_unknown_year_names_the_years_that_exist():
    with pytest.raises(RuleError, match="2025, 2026, 2027"):
        load_rules(1999)


def test_rates_are_exact_and_floats_are_refused(tmp_path, monkeypatch):
    assert to_fraction("84.895") == to_fraction("84895") / 1000
    import transforms.tax_rules as tr

    (tmp_path / "fiscal_year_2030.yaml").write_text("fiscal_year: 2030\nparameters:\n  x: {value: 0.1}\n", encoding="utf-8")
    monkeypatch.setattr(tr, "RULES_DIR", tmp_path)
    tr.load_rules.cache_clear()
    try:
        with pytest.raises(RuleError, match="float"):
            tr.load_rules(2030)
    finally:
        tr.load_rules.cache_clear()
