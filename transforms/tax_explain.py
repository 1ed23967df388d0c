"""The computation sheet (税額計算明細): every line of one person's assessment with its rule.

Pure: takes one computed row (a dict of the engine's columns, as stored in ``curated/tax_assessment``
or returned by the calculator), the year's rules and the profile, and returns the lines a tax clerk
reads. The figures are the stored ones — the sheet never recomputes — so it shows exactly what the
notices print. Each line: the Japanese term, the identifier, a quantity where one applies (a count,
an age, a rate), the amount in yen, and the rule (parameter) with its legal basis (根拠): the articles
of 地方税法, 所得税法, 租税特別措置法, the 政令 and 告示, and the ward's 条例, as the rule file cites them.

The rule files also list ``references`` (municipal worked examples, 国税庁 answer pages) that show how
a figure is computed. The sheet does not print them: it is the justification of an assessment, and a
municipal page is not a legal basis for one; printing it beside the articles would invite reading it
as one. They stay in rules/ and in the tests, for whoever maintains the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping

from transforms.tax_rules import Profile, Rules

SCALE = 100_000


@dataclass(frozen=True)
class Line:
    section: str
    label: str  # Japanese term
    name: str  # identifier (column)
    amount: int | str | None
    quantity: str = ""
    rule: str = ""  # parameter name in rules/ or the profile
    basis: tuple[str, ...] = ()  # the legal basis (根拠) of the rule: citations of the law
    unit: str = "円"


def _rate(value: int | None) -> str:
    if value is None:
        return ""
    fraction = Fraction(int(value), SCALE) * 100
    text = f"{float(fraction):.3f}".rstrip("0").rstrip(".")
    return f"{text}%"


def sheet_lines(row: Mapping[str, Any], rules: Rules, profile: Profile) -> list[Line]:
    """The ordered lines of the computation sheet of ``row``."""
    r = row
    lines: list[Line] = []

    def add(section: str, label: str, name: str, *, rule: str = "", quantity: str = "", amount: Any = None,
            always: bool = False, profile_rule: bool = False, unit: str = "円") -> None:
        value = r.get(name) if amount is None else amount
        if not always and (value in (None, 0, False, "")):
            return
        basis = (profile.basis(rule) if profile_rule else rules.basis(rule)) if rule else ()
        lines.append(Line(section, label, name, value, quantity, rule, basis, unit))

    m, p = profile.levy_name("municipal"), profile.levy_name("prefectural")
    s1 = "1 所得 (income)"
    add(s1, "給与収入", "salary_revenue")
    if r.get("income_adjustment_children") or r.get("income_adjustment_salary_pension"):
        add(s1, "給与所得 (給与所得控除後)", "salary_income_table", rule="salary_income")
    add(s1, "所得金額調整控除 (子ども・特別障害者等)", "income_adjustment_children", rule="income_adjustment_children")
    add(s1, "所得金額調整控除 (給与・年金)", "income_adjustment_salary_pension", rule="income_adjustment_salary_pension")
    add(s1, "給与所得", "salary_income", always=True, rule="salary_income")
    add(s1, "公的年金等収入", "public_pension_revenue")
    add(s1, "公的年金等に係る雑所得", "public_pension_income", rule="public_pension_income",
        quantity=f"年齢 {r.get('age')}" if r.get("public_pension_revenue") else "")
    add(s1, "事業所得", "business_income")
    add(s1, "不動産所得", "real_estate_income")
    add(s1, "配当所得 (総合課税)", "dividend_income")
    add(s1, "その他の雑所得", "misc_income")
    add(s1, "一時所得 (½)", "occasional_income_counted", rule="occasional_income_share")
    add(s1, "合計所得金額", "total_income", always=True, rule="income_aggregation")
    add(s1, "総所得金額等", "gross_income", always=True, rule="income_aggregation")

    s2 = "2 所得控除 (income deductions)"
    add(s2, "社会保険料控除", "deduction_social_insurance", rule="social_insurance_deduction")
    add(s2, "小規模企業共済等掛金控除", "deduction_small_enterprise", rule="small_enterprise_deduction")
    add(s2, "生命保険料控除", "deduction_life_insurance", rule="life_insurance_deduction")
    add(s2, "地震保険料控除", "deduction_earthquake", rule="earthquake_insurance_deduction")
    add(s2, "医療費控除", "deduction_medical", rule="medical_expense_deduction")
    add(s2, "障害者控除", "deduction_disability", rule="disability_deduction")
    add(s2, "寡婦控除", "deduction_widow", rule="widow_deduction")
    add(s2, "ひとり親控除", "deduction_single_parent", rule="single_parent_deduction")
    add(s2, "勤労学生控除", "deduction_working_student", rule="working_student_deduction")
    add(s2, "配偶者控除", "deduction_spouse", rule="spouse_deduction",
        quantity="老人" if r.get("spouse_aged") else "")
    add(s2, "配偶者特別控除", "deduction_spouse_special", rule="spouse_special_deduction",
        quantity=f"配偶者の所得 {r.get('spouse_total_income'):,}" if r.get("spouse_total_income") is not None else "")
    counts = []
    for key, label in (("dependants_general", "一般"), ("dependants_specific", "特定"), ("dependants_aged", "老人"),
                       ("dependants_aged_parent", "同居老親等"), ("dependants_under_16", "年少")):
        if r.get(key):
            counts.append(f"{label}{r[key]}人")
    add(s2, "扶養控除", "deduction_dependants", rule="dependants", quantity=" ".join(counts))
    add(s2, "特定親族特別控除", "deduction_specific_relatives", rule="specific_relative_deduction",
        quantity=f"{r.get('specific_relatives')}人" if r.get("specific_relatives") else "")
    add(s2, "基礎控除", "deduction_basic", rule="basic_deduction", always=True)
    add(s2, "所得控除合計", "income_deductions", always=True)

    s3 = "3 課税標準 (taxable income)"
    add(s3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", rule="rounding", always=True)

    s4 = "4 非課税の判定 (exemption)"
    add(s4, "同一生計配偶者・扶養親族の数", "household_count", always=True, amount=r.get("household_count"),
        unit="人", rule="exemption")
    add(s4, "均等割の非課税限度額 (合計所得金額)", "per_capita_exemption_limit", rule="exemption", always=True,
        quantity=f"{r.get('grade')}級地")
    add(s4, "所得割の非課税限度額 (総所得金額等)", "income_levy_exemption_limit", rule="exemption", always=True)
    reasons = {None: "課税", "livelihood_assistance": "非課税 (生活扶助)", "low_income_category":
               "非課税 (障害者・未成年者・寡婦・ひとり親, 合計所得135万円以下)", "per_capita_limit": "非課税 (均等割の限度額以下)",
               "income_levy_limit": "所得割のみ非課税 (所得割の限度額以下)"}
    add(s4, "判定", "exemption", amount=reasons.get(r.get("exemption_reason"), str(r.get("exemption_reason"))),
        rule="exemption", always=True, unit="")

    s5 = "5 所得割 (income levy)"
    add(s5, "人的控除額の差の合計額", "personal_deduction_difference", rule="personal_deduction_differences")
    add(s5, "調整控除の基礎となる額", "adjustment_credit_base", rule="adjustment_credit")
    for levy, name in (("municipal", m), ("prefectural", p)):
        add(s5, f"{name} 算出所得割", f"income_levy_gross_{levy}", rule="income_levy_percent", profile_rule=True,
            quantity=_rate(r.get(f"income_rate_{levy}")), always=True)
        add(s5, f"{name} 調整控除", f"adjustment_credit_{levy}", rule="adjustment_credit_percent", profile_rule=True,
            quantity=_rate(r.get(f"adjustment_rate_{levy}")))
        add(s5, f"{name} 配当控除", f"dividend_credit_{levy}", rule="dividend_credit")
        add(s5, f"{name} 住宅借入金等特別税額控除", f"housing_loan_credit_{levy}", rule="housing_loan_credit")
        add(s5, f"{name} 寄附金税額控除 (基本控除)", f"donation_basic_credit_{levy}", rule="donation_credit")
        add(s5, f"{name} 寄附金税額控除 (特例控除)", f"donation_special_credit_{levy}", rule="donation_credit",
            quantity=_rate(r.get("special_rate")))
        add(s5, f"{name} 寄附金税額控除 (申告特例控除)", f"donation_one_stop_credit_{levy}", rule="donation_credit")
        add(s5, f"{name} 寄附金税額控除 (計)", f"donation_credit_{levy}", rule="donation_credit")
        add(s5, f"{name} 非課税限度額に係る調整 (附則第3条の3)", f"near_limit_reduction_{levy}", rule="exemption")
        add(s5, f"{name} 所得割額 (100円未満切捨て)", f"income_levy_{levy}", rule="rounding", always=True)

    s6 = "6 均等割・森林環境税 (per-capita levies)"
    add(s6, f"{m} 均等割", "per_capita_levy_municipal", rule="per_capita_levy", profile_rule=True, always=True)
    add(s6, f"{p} 均等割", "per_capita_levy_prefectural", rule="per_capita_levy", profile_rule=True, always=True)
    add(s6, "森林環境税", "forest_environment_tax", rule="forest_environment_tax", always=True)

    s7 = "7 年税額 (annual tax)"
    add(s7, f"{m} (所得割 + 均等割)", "tax_municipal",
        amount=(r.get("income_levy_municipal") or 0) + (r.get("per_capita_levy_municipal") or 0), always=True)
    add(s7, f"{p} (所得割 + 均等割)", "tax_prefectural",
        amount=(r.get("income_levy_prefectural") or 0) + (r.get("per_capita_levy_prefectural") or 0), always=True)
    add(s7, "森林環境税", "forest_environment_tax", always=True)
    add(s7, "年税額 合計", "total_tax", always=True)
    return lines


def format_sheet(row: Mapping[str, Any], rules: Rules, profile: Profile, *, title: str = "",
                 with_sources: bool = True) -> str:
    """The sheet as fixed-width text for a terminal or a printout.

    With ``with_sources`` (the default) the legal basis of each rule is printed under the first line
    that uses the rule (``根拠:``, one citation per line); later lines of the same rule refer to it.
    """
    head = [
        f"個人住民税 税額計算明細 — {rules.label} (fiscal year {rules.fiscal_year}; 所得 {rules.income_year}年分)",
        f"{title}".rstrip(),
        f"団体: {profile.header.get('name', profile.kind)} ({profile.kind}); 税率 {profile.levy_name('municipal')} "
        f"{_rate(row.get('income_rate_municipal'))} / {profile.levy_name('prefectural')} {_rate(row.get('income_rate_prefectural'))}",
    ]
    if row.get("birth_date") is not None:
        head.append(f"生年月日 {row['birth_date']} (年齢 {row.get('age')}歳, {rules.income_year}年12月31日現在)")
    out = [line for line in head if line]
    section = None
    width = 44
    cited: set[str] = set()
    for line in sheet_lines(row, rules, profile):
        if line.section != section:
            section = line.section
            out.append("")
            out.append(section)
        amount = f"{line.amount:>14,}" if isinstance(line.amount, int) and not isinstance(line.amount, bool) else f"{str(line.amount):>14}"
        label = line.label
        pad = width - sum(2 if ord(ch) > 0x2E7F else 1 for ch in label)
        text = f"  {label}{' ' * max(pad, 1)}{line.quantity:>14} {amount} {line.unit}".rstrip()
        if line.rule:
            text += f"   [{line.rule}]"
        out.append(text)
        if with_sources and line.basis and line.rule not in cited:
            cited.add(line.rule)
            out.append(f"{'':6}根拠: {line.basis[0]}")
            out.extend(f"{'':12}{citation}" for citation in line.basis[1:])
    return "\n".join(out) + "\n"
