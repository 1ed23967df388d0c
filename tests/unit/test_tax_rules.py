"""The rule files (rules/): complete for every fiscal year, documented with their legal basis, exact."""

from __future__ import annotations

import shutil

import pytest

import transforms.tax_rules as tr
from transforms.tax_rules import (
    KINDS, RuleError, available_fiscal_years, load_municipality_profile, load_profile, load_rules, names_a_law,
    to_fraction,
)

#: keys that document a parameter rather than give its value (they may differ between years)
DOC_KEYS = {"description", "basis", "references", "basis_notes", "status"}


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
            assert set(rules.parameters[name]) - DOC_KEYS == set(spec) - DOC_KEYS, (year, name)


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_every_parameter_names_its_legal_basis_and_status(year):
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
    # 別表第五: the first row is 0円 below 551,000 / 651,000; then 収入 − 550,000 / − 650,000
    assert load_rules(2025).table("salary_income.table")[:2] == [
        {"from": 0, "fixed": 0}, {"from": 551_000, "floor_unit": 1, "percent": "0", "add": 550_000}]
    assert load_rules(2026).table("salary_income.table")[:2] == [
        {"from": 0, "fixed": 0}, {"from": 651_000, "floor_unit": 1, "percent": "0", "add": 650_000}]
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


# ------------------------------------------------------------------------------ legal basis (根拠)
def _every_file():
    for year in available_fiscal_years():
        yield load_rules(year)
    for kind in KINDS:
        yield load_profile(kind)
    yield load_municipality_profile("131032")


def test_every_parameter_cites_the_law_as_its_basis_and_pages_only_as_references():
    """Each basis citation begins with a registered law or ordinance; no municipal page is a basis."""
    for rule_set in _every_file():
        for name in rule_set.parameters:
            basis = rule_set.basis(name)
            assert basis, (rule_set.file, name)
            assert all(names_a_law(citation) for citation in basis), (rule_set.file, name, basis)
            assert any(tr.ARTICLE_RE.search(citation) for citation in basis), (rule_set.file, name)
            for page in rule_set.references(name):
                assert not names_a_law(page), (rule_set.file, name, page)


def test_the_wards_ordinance_is_the_basis_of_its_per_capita_levy():
    """港区: 特別区民税 均等割 by 港区特別区税条例, 都民税 by 東京都都税条例, after 地方税法第310条・第38条."""
    basis = load_municipality_profile("131032").basis("per_capita_levy")
    assert basis[0].startswith("地方税法第38条")
    assert any(c.startswith("港区特別区税条例") for c in basis) and any(c.startswith("東京都都税条例") for c in basis)
    assert load_rules(2026).basis("forest_environment_tax")[0].startswith("森林環境税及び森林環境譲与税に関する法律第4条")


@pytest.fixture
def rules_copy(tmp_path, monkeypatch):
    """A copy of rules/ that a test may plant a bad rule in; the loader reads the copy."""
    shutil.copytree(tr.RULES_DIR, tmp_path / "rules")
    monkeypatch.setattr(tr, "RULES_DIR", tmp_path / "rules")
    for cached in (tr.load_rules, tr.load_profile, tr.load_municipality_profile, tr.registered_laws):
        cached.cache_clear()
    yield tmp_path / "rules"
    for cached in (tr.load_rules, tr.load_profile, tr.load_municipality_profile, tr.registered_laws):
        cached.cache_clear()


def _plant(rules_dir, old: str, new: str, file: str = "fiscal_year_2026.yaml") -> None:
    path = rules_dir / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


BASIC_BASIS = "    basis:\n      - '地方税法第34条第2項・第314条の2第2項 (基礎控除)'\n"


def test_a_rule_whose_basis_is_only_a_municipal_page_is_refused(rules_copy):
    _plant(rules_copy, BASIC_BASIS, "    basis:\n      - '東根市 「個人住民税の所得控除」'\n")
    with pytest.raises(RuleError) as error:
        tr.load_rules(2026)
    message = str(error.value)
    assert "fiscal_year_2026.yaml" in message and "basic_deduction.basis" in message and "names no law" in message


def test_a_rule_without_a_basis_is_refused(rules_copy):
    _plant(rules_copy, BASIC_BASIS, "")
    with pytest.raises(RuleError, match=r"fiscal_year_2026\.yaml: basic_deduction has no legal basis"):
        tr.load_rules(2026)


def test_the_old_mixed_source_string_is_refused(rules_copy):
    _plant(rules_copy, BASIC_BASIS, BASIC_BASIS + "    source: 地方税法第34条第2項; 東根市\n")
    with pytest.raises(RuleError, match=r"basic_deduction has 'source'"):
        tr.load_rules(2026)


def test_a_basis_that_names_a_law_but_no_article_is_refused(rules_copy):
    _plant(rules_copy, BASIC_BASIS, "    basis:\n      - '地方税法 (基礎控除)'\n")
    with pytest.raises(RuleError, match=r"basic_deduction.basis cites no article"):
        tr.load_rules(2026)


def test_a_ward_override_citing_only_a_page_is_refused(rules_copy):
    _plant(rules_copy, "      - '港区特別区税条例第10条〜第35条 (特別区民税の均等割の税率",
           "      - '港区 「住民税の計算方法」 (特別区民税の均等割の税率", file="profiles/municipality_131032.yaml")
    with pytest.raises(RuleError, match=r"municipality_131032\.yaml: overrides.per_capita_levy.basis .* names no law"):
        tr.load_municipality_profile("131032")


def test_a_salary_table_without_its_first_row_is_refused(rules_copy):
    """別表第五's first row (0 below the first threshold) must be in the data, not implied by code."""
    from transforms.tax_engine import salary_table

    _plant(rules_copy, "      - {from: 0, fixed: 0}", "")
    with pytest.raises(RuleError, match=r"fiscal_year_2026\.yaml: salary_income.table must start with a row from 0"):
        salary_table(tr.load_rules(2026))


def test_a_ward_override_that_sets_a_value_must_cite_its_ordinance(rules_copy):
    """港区's own amounts rest on its 条例: an override without a basis is refused."""
    path = rules_copy / "profiles" / "municipality_131032.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  grade:\n")
    path.write_text(text[:start] + "  grade: 1\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"municipality_131032\.yaml: overrides.grade has no legal basis"):
        tr.load_municipality_profile("131032")
