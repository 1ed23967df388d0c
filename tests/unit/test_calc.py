"""`juminzei calc`: JSON Lines in, one object per line out; errors name the field and never stop the
other lines; the computation sheet (`--explain`) prints the same figures with their rules."""

from __future__ import annotations

import io
import json
import subprocess
import sys

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
    assert lines["deduction_basic"].rule == "basic_deduction" and "第314条の2" in lines["deduction_basic"].source
    text = format_sheet(row, rules, profile)
    assert "特別区民税 所得割額" in text and f"{row['total_tax']:,}" in text and "根拠:" in text
