"""`juminzei calc`: JSON Lines in, one object per line out; errors name the field and never stop the
other lines; the computation sheet (`--explain`) prints the same figures with their rules."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from juminzei.calc import calculate, run_calculator
from transforms.tax_engine import OUTPUT_COLUMNS
from transforms.tax_explain import format_sheet, sheet_lines
from transforms.tax_rules import load_municipality_profile, load_rules

GOOD = {"fiscal_year": 2026, "taxpayer": {"birth_date": "1980-04-01"}, "income": {"salary_revenue": 5_000_000}}


def test_output_has_exactly_the_documented_keys_in_order_of_input():
    small = {**GOOD, "income": {"salary_revenue": 1_000_000}}
    results = calculate([GOOD, small, GOOD])
    assert [list(r) for r in results] == [list(OUTPUT_COLUMNS)] * 3
    assert results[0] == results[2] and results[1]["exemption"] == "fully_exempt"
    # 給与所得 5,000,000 → 3,560,000 (別表第五, 80% − 440,000); 基礎控除 43万 → 課税標準 3,130,000
    assert results[0]["salary_income"] == 3_560_000 and results[0]["taxable_income"] == 3_130_000


def test_invalid_lines_get_an_error_naming_the_field_and_the_others_compute():
    lines = [
        GOOD,
        {**GOOD, "income": {"salary_revenue": -5}},
        {**GOOD, "income": {"salary_revenu": 5}},
        {**GOOD, "taxpayer": {"birth_date": "1980-02-30"}},
        {**GOOD, "fiscal_year": 2019},
        {**GOOD, "municipality": {"kind": "village"}},
        {**GOOD, "income": {"salary_revenue": 5_000_000.5}},
        {**GOOD, "dependants": [{"birth_date": "2010-01-01", "disability": "severe"}]},
        GOOD,
    ]
    results = calculate(lines)
    fields = [r.get("field") for r in results]
    assert fields == [None, "income.salary_revenue", "income.salary_revenu", "taxpayer.birth_date", "fiscal_year",
                      "municipality.kind", "income.salary_revenue", "dependants[0].disability", None]
    assert [r.get("line") for r in results if "error" in r] == [2, 3, 4, 5, 6, 7, 8]
    assert results[0] == results[-1] and "total_tax" in results[-1]


def test_stream_interface_and_exit_status():
    text = json.dumps(GOOD) + "\nnot json\n\n" + json.dumps(GOOD) + "\n"
    out = io.StringIO()
    assert run_calculator(io.StringIO(text), out, batch=1) == 1
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 3 and rows[1]["line"] == 2 and "not valid JSON" in rows[1]["error"]
    assert rows[0] == rows[2]


@pytest.mark.slow
def test_command_line():
    done = subprocess.run([sys.executable, "-m", "juminzei.cli", "calc"], input=json.dumps(GOOD) + "\n",
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_tax"] > 0


def test_the_sheet_prints_the_computed_figures_with_rules_and_sources():
    (row,) = calculate([{**GOOD, "credits": {"furusato_donations": 30_000, "one_stop": True}}], detail=True)
    rules, profile = load_rules(2026), load_municipality_profile("131032")
    lines = {line.name: line for line in sheet_lines(row, rules, profile)}
    for name in ("salary_income", "taxable_income", "income_levy_municipal", "donation_special_credit_prefectural",
                 "total_tax"):
        assert lines[name].amount == row[name]
    assert lines["deduction_basic"].rule == "basic_deduction"
    assert lines["deduction_basic"].basis == ("地方税法第34条第2項・第314条の2第2項 (基礎控除)",)
    text = format_sheet(row, rules, profile)
    assert "特別区民税 所得割額" in text and f"{row['total_tax']:,}" in text
    # the legal basis under the line, every citation; references (municipal pages) are not printed
    assert "根拠: 地方税法第34条第2項・第314条の2第2項 (基礎控除)" in text
    for citation in rules.basis("donation_credit"):
        assert citation in text
    for page in rules.references("donation_credit"):
        assert page not in text
    # the ward's ordinance is cited for its per-capita levy, after the law
    assert "港区特別区税条例" in text and "東京都都税条例" in text
    assert format_sheet(row, rules, profile, with_sources=False).count("根拠") == 0


def test_every_line_with_a_rule_has_a_basis_that_names_a_law():
    from transforms.tax_rules import names_a_law

    data = {**GOOD, "paid": {"social_insurance": 600_000, "small_enterprise_mutual_aid": 10_000,
                             "medical_expenses": 300_000, "life_insurance": {"new_general": 80_000}},
            "dependants": [{"birth_date": "2005-05-05"}], "credits": {"furusato_donations": 30_000}}
    (row,) = calculate([data], detail=True)
    lines = sheet_lines(row, load_rules(2026), load_municipality_profile("131032"))
    assert len([line for line in lines if line.rule]) > 20
    for line in lines:
        if line.rule:
            assert line.basis and all(names_a_law(c) for c in line.basis), line


# ------------------------------------------------------------------- error messages name the problem
def _run(text: str) -> list[dict]:
    out = io.StringIO()
    run_calculator(io.StringIO(text), out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_top_level_array_is_named_as_such():
    (result,) = _run(json.dumps([GOOD]) + "\n")
    assert result["error"].startswith("each line must be one JSON object") and result["error"].endswith("got an array")
    assert result["line"] == 1 and result["field"] == ""
    (result,) = _run('"2026"\n')
    assert result["error"].endswith("got a string")


def test_a_missing_fiscal_year_names_the_key():
    (result,) = _run(json.dumps({"taxpayer": {"birth_date": "1980-04-01"}}) + "\n")
    assert result["field"] == "fiscal_year"
    assert 'the key "fiscal_year" is missing' in result["error"]
    (null,) = _run('{"fiscal_year": null}\n')
    assert null["field"] == "fiscal_year" and null["error"].endswith("got null")


def test_a_json_syntax_error_names_its_true_line_and_column():
    """Lines are counted as an editor counts them (blank lines included); the column is 1-based."""
    text = "\n".join(["", json.dumps(GOOD), "", "   ", '{"fiscal_year": 2026 "income": {}}', json.dumps(GOOD)]) + "\n"
    results = _run(text)
    assert [r.get("line") for r in results if "error" in r] == [5]
    error = results[1]
    #  {"fiscal_year": 2026 "income": {}}
    #  123456789012345678901^ the decoder stops at the 22nd character, where a ',' was expected
    assert error["column"] == 22 and error["error"] == "line 5, column 22 is not valid JSON: Expecting ',' delimiter"
    assert results[0] == results[2] and "total_tax" in results[0]


def test_line_numbers_hold_across_batches_and_blank_lines():
    lines = [json.dumps(GOOD), "", json.dumps({**GOOD, "fiscal_year": 1999}), json.dumps(GOOD), "",
             json.dumps({"fiscal_year": 2026, "income": {"salary": 1}})]
    out = io.StringIO()
    assert run_calculator(io.StringIO("\n".join(lines) + "\n"), out, batch=2) == 2
    errors = [json.loads(line) for line in out.getvalue().splitlines() if "error" in line]
    assert [e["line"] for e in errors] == [3, 6]
    assert errors[1]["field"] == "income.salary"


def test_a_byte_order_mark_does_not_break_the_first_line():
    (result,) = _run("\ufeff" + json.dumps(GOOD) + "\n")
    assert "error" not in result


def test_explain_titles_each_sheet_with_its_input_line():
    out = io.StringIO()
    run_calculator(io.StringIO(json.dumps(GOOD) + "\n\n" + json.dumps(GOOD) + "\n"), out, explain=True, batch=1)
    assert "入力 1 行目" in out.getvalue() and "入力 3 行目" in out.getvalue()
