"""The computation sheet (税額計算明細, `transforms.tax_explain`) line by line, as the operator reads it.

Each person below is computed by the real engine (`juminzei.calc.calculate(..., detail=True)`, the row
`juminzei calc --explain` and `juminzei explain` print) and the test states the whole sheet: every line in
order as (section, label, column, amount, quantity, rule, unit), which lines are left out (a zero amount
is not printed unless the line is always shown), and the legal basis (根拠) printed under each rule. The
labels, the words of the 判定 and the citations are what the operator reads: they are the sheet's
specification and are written out here literally. The amounts come from the published worked examples
(tests/worked_examples, the same inputs) or are worked out by hand in the comments from the law and the
year's rule tables (rules/fiscal_year_2026.yaml: 給与所得 別表第五 as amended in 令和7年, 基礎控除 43万,
扶養 33/45/38/45万, 人的控除差 5/18/10/13万, 調整控除 3%/2% (指定都市 4%/1%), 均等割 3,000/1,000,
森林環境税 1,000). None is taken from the code under test.
"""

from __future__ import annotations

import functools
import json
import unicodedata

import pytest

from juminzei.calc import calculate
from transforms.tax_explain import _rate, format_sheet, sheet_lines
from transforms.tax_rules import load_municipality_profile, load_profile, load_rules

S1 = "1 所得 (income)"
S2 = "2 所得控除 (income deductions)"
S3 = "3 課税標準 (taxable income)"
S4 = "4 非課税の判定 (exemption)"
S5 = "5 所得割 (income levy)"
S6 = "6 均等割・森林環境税 (per-capita levies)"
S7 = "7 年税額 (annual tax)"

# --------------------------------------------------------------------------- the legal basis (根拠)
# The citations the sheet prints under each rule, as rules/fiscal_year_2026.yaml states them.
BASIS = {
    "salary_income": (
        "所得税法第28条第2項〜第4項 (給与所得控除額; 660万円未満は別表第五による)",
        "所得税法別表第五 (令和7年分以後の表: 651,000円未満 0円, 651,000円以上1,900,000円未満 収入金額 − 650,000円)",
        "所得税法等の一部を改正する法律 (令和7年法律第13号) (最低保障額 65万円・別表第五の改正, 令和7年分以後)",
        "地方税法第32条第1項・第2項, 第313条第1項・第2項 (所得割の課税標準: 総所得金額は所得税法その他の所得税に関する法令の計算の例による)",
    ),
    "income_adjustment_children": (
        "租税特別措置法第41条の3の11第1項 (所得金額調整控除: 子ども・特別障害者等; 令和2年分の創設時は第41条の3の3)",
        "地方税法第32条第2項・第313条第2項 (所得税に関する法令の計算の例による) — no separate article of 地方税法 or its 附則 was found",
    ),
    "income_adjustment_salary_pension": (
        "租税特別措置法第41条の3の11第2項 (所得金額調整控除: 給与所得と公的年金等に係る雑所得の双方がある場合)",
        "地方税法第32条第2項・第313条第2項 (所得税に関する法令の計算の例による)",
    ),
    "public_pension_income": (
        "所得税法第35条第2項第1号・第4項 (公的年金等控除額)",
        "租税特別措置法第41条の15の3 (公的年金等控除額の特例: 65歳以上, 年齢はその年12月31日)",
        "地方税法第32条第2項・第313条第2項 (所得税に関する法令の計算の例による)",
    ),
    "occasional_income_share": (
        "所得税法第22条第2項第2号 (一時所得の2分の1)",
        "所得税法第34条第2項・第3項 (一時所得の特別控除 50万円)",
        "地方税法第32条第2項・第313条第2項 (所得税に関する法令の計算の例による)",
    ),
    "income_aggregation": (
        "地方税法第32条第1項・第2項, 第313条第1項・第2項 (所得割の課税標準: 総所得金額は所得税法その他の所得税に関する法令の計算の例による)",
        "所得税法第22条 (総所得金額)",
    ),
    "social_insurance_deduction": ("地方税法第34条第1項第3号・第314条の2第1項第3号 (社会保険料控除: 支払った金額)",),
    "small_enterprise_deduction": ("地方税法第34条第1項第4号・第314条の2第1項第4号 (小規模企業共済等掛金控除: 支払った金額)",),
    "life_insurance_deduction": (
        "地方税法第34条第1項第5号・第314条の2第1項第5号 (生命保険料控除: 新・旧生命保険料, 介護医療保険料, 新・旧個人年金保険料)",),
    "earthquake_insurance_deduction": (
        "地方税法第34条第1項第5号の3・第314条の2第1項第5号の3 (地震保険料控除)",
        "地方税法等の一部を改正する法律 (平成18年法律第7号) 附則 (旧長期損害保険料の経過措置; 条 not identified here)",
    ),
    "medical_expense_deduction": ("地方税法第34条第1項第2号・第314条の2第1項第2号 (医療費控除)",),
    "disability_deduction": ("地方税法第34条第1項第6号・第3項, 第314条の2第1項第6号・第3項 (障害者控除; 特別障害者・同居特別障害者)",),
    "widow_deduction": ("地方税法第34条第1項第8号・第314条の2第1項第8号 (寡婦控除)",
                        "地方税法第23条第1項・第292条第1項 (寡婦の定義; 合計所得金額500万円以下)"),
    "single_parent_deduction": ("地方税法第34条第1項第8号の2・第314条の2第1項第8号の2 (ひとり親控除)",
                                "地方税法第23条第1項・第292条第1項 (ひとり親の定義; 合計所得金額500万円以下)"),
    "working_student_deduction": ("地方税法第34条第1項第9号・第314条の2第1項第9号 (勤労学生控除)",
                                  "地方税法第23条第1項・第292条第1項 (勤労学生の定義; 合計所得金額85万円以下)",
                                  "地方税法等の一部を改正する法律 (令和7年法律第7号)"),
    "spouse_deduction": ("地方税法第34条第1項第10号・第314条の2第1項第10号 (配偶者控除; 老人控除対象配偶者は同号イ)",),
    "spouse_special_deduction": ("地方税法第34条第1項第10号の2・第314条の2第1項第10号の2 (配偶者特別控除)",),
    "dependants": (
        "地方税法第23条第1項, 第292条第1項第7号・第9号 (同一生計配偶者・扶養親族の定義; 合計所得金額58万円以下)",
        "地方税法等の一部を改正する法律 (令和7年法律第7号) (58万円, 令和8年度分以後)",
        "地方税法第34条第1項第11号・第4項, 第314条の2第1項第11号・第4項 (扶養控除: 一般・特定・老人, 同居老親等)",
    ),
    "specific_relative_deduction": ("地方税法第34条第1項・第314条の2第1項 (特定親族特別控除)",
                                    "地方税法等の一部を改正する法律 (令和7年法律第7号) (特定親族特別控除の創設, 令和8年度分以後)"),
    "basic_deduction": ("地方税法第34条第2項・第314条の2第2項 (基礎控除)",),
    "rounding": ("地方税法第20条の4の2第1項 (課税標準額の1,000円未満切捨て)・第3項 (確定金額の100円未満切捨て)",),
    "exemption": (
        "地方税法第24条の5第1項・第3項, 第295条第1項・第3項 (非課税の範囲: 生活扶助, 障害者・未成年者・寡婦・ひとり親 135万円, 均等割の非課税限度額)",
        "地方税法施行令第47条の3 (均等割の非課税の基準)",
        "地方税法附則第3条の3 (所得割の非課税の範囲と限度額近くの減額)",
    ),
    "personal_deduction_differences": ("地方税法第37条第1号イ・第314条の6第1号イ (人的控除額の差の表)",),
    "adjustment_credit": ("地方税法第37条・第314条の6 (調整控除)",),
    "dividend_credit": ("地方税法附則第5条第1項・第3項 (配当控除)",),
    "housing_loan_credit": ("地方税法附則第5条の4の2 (個人の道府県民税の住宅借入金等特別税額控除)",
                            "地方税法附則第45条 (個人の市町村民税の住宅借入金等特別税額控除)"),
    "donation_credit": (
        "地方税法第37条の2第1項〜第3項・第314条の7第1項〜第3項 (寄附金税額控除: 基本控除, 特例控除, 所得割の20%)",
        "地方税法第37条の2第11項・第314条の7第11項 (特例控除額の割合の表, 人的控除差調整額)",
        "地方税法附則第5条の6 (特例控除額の割合の特例: 復興特別所得税を加味した割合)",
        "地方税法附則 (申告特例控除; 条 not identified here)",
    ),
    "forest_environment_tax": ("森林環境税及び森林環境譲与税に関する法律第4条 (非課税: 均等割を課されない者)・第5条 (税率 1,000円), 令和6年度分以後",),
}
# 令和7年度 (fiscal_year_2025.yaml) cites an older 別表第五 and the 48万 limit of the dependants.
BASIS_2025 = {
    **BASIS,
    "salary_income": (
        "所得税法第28条第2項〜第4項 (給与所得控除額; 660万円未満は別表第五による)",
        "所得税法別表第五 (年末調整等のための給与所得控除後の給与等の金額の表; 令和2年分から令和6年分までの表: 551,000円未満 0円)",
        "地方税法第32条第1項・第2項, 第313条第1項・第2項 (所得割の課税標準: 総所得金額は所得税法その他の所得税に関する法令の計算の例による)",
    ),
    "dependants": (
        "地方税法第23条第1項第7号・第8号, 第292条第1項第7号・第8号 (同一生計配偶者・扶養親族の定義; 合計所得金額48万円以下)",
        "地方税法第34条第1項第11号・第4項, 第314条の2第1項第11号・第4項 (扶養控除: 一般・特定・老人, 同居老親等)",
    ),
}
# The rates and per-capita amounts are the municipality's: their basis is its profile's, the ward's 条例
# after the law (港区), the standard rates for an ordinary or a designated city.
WARD_BASIS = {
    "income_levy_percent": (
        "地方税法第35条第1項 (道府県民税の所得割の標準税率 100分の4)",
        "地方税法第314条の3第1項 (市町村民税の所得割の標準税率 100分の6)",
        "地方税法第1条第2項 (市町村に関する規定の特別区への準用)",
        "港区特別区税条例第10条〜第35条 (特別区民税の所得割の税率 100分の6; the article within was not identified)",
        "東京都都税条例 (個人の都民税の所得割の税率 100分の4; article not identified)",
    ),
    "adjustment_credit_percent": ("地方税法第37条 (道府県民税 100分の2)・第314条の6 (市町村民税 100分の3)",),
    "per_capita_levy": (
        "地方税法第38条 (道府県民税の均等割の標準税率 1,000円)・第310条 (市町村民税の均等割の標準税率 3,000円)",
        "地方税法第1条第2項 (市町村に関する規定の特別区への準用)",
        "港区特別区税条例第10条〜第35条 (特別区民税の均等割の税率 3,000円; the article within was not identified)",
        "東京都都税条例 (個人の都民税の均等割の税率 1,000円; article not identified)",
    ),
}
CITY_BASIS = {
    "income_levy_percent": ("地方税法第35条第1項 (道府県民税の所得割の標準税率 100分の4)",
                            "地方税法第314条の3第1項 (市町村民税の所得割の標準税率 100分の6)"),
    "adjustment_credit_percent": ("地方税法第37条 (道府県民税 100分の2)・第314条の6 (市町村民税 100分の3)",),
    "per_capita_levy": ("地方税法第38条 (道府県民税の均等割の標準税率 1,000円)・第310条 (市町村民税の均等割の標準税率 3,000円)",),
}
DESIGNATED_CITY_BASIS = {
    "income_levy_percent": ("地方税法第35条第2項 (指定都市の区域内に住所を有する者: 道府県民税 100分の2)",
                            "地方税法第314条の3第2項 (指定都市: 市民税 100分の8)"),
    "adjustment_credit_percent": ("地方税法第37条 (指定都市の住民: 道府県民税 100分の1)・第314条の6 (指定都市: 市民税 100分の4)",),
    "per_capita_levy": CITY_BASIS["per_capita_levy"],
}
PROFILE_BASIS = {None: WARD_BASIS, "city": CITY_BASIS, "designated_city": DESIGNATED_CITY_BASIS}

# --------------------------------------------------------------------------------------- the persons
# Published worked examples (tests/worked_examples/<id>.yaml, the same input; the page is cited there).
YURI = {  # d-nerima-salary-single-2026 (練馬区 令和8年度 計算例, ユリさん), 港区 profile
    "fiscal_year": 2026, "taxpayer": {"birth_date": "2003-04-01", "sex": "female", "disability": "none"},
    "income": {"salary_revenue": 1650000}, "paid": {"social_insurance": 240000}}
OSAKA = {  # c-osaka-salary-furusato-designated-city-2026 (大阪市 令和8年度 計算例)
    "fiscal_year": 2026,
    "municipality": {"kind": "designated_city", "per_capita_municipal": 3000, "per_capita_prefectural": 1000, "grade": 1},
    "taxpayer": {"birth_date": "1979-04-01", "sex": "male", "disability": "none"},
    "income": {"salary_revenue": 5436629},
    "paid": {"social_insurance": 543663,
             "life_insurance": {"old_general": 24000, "new_general": 84000, "old_pension": 84000, "care_medical": 87600},
             "earthquake_insurance": 24000, "old_long_term_casualty_insurance": 20000,
             "medical_expenses": 153000, "medical_reimbursed": 41470},
    "spouse": {"birth_date": "1979-04-01", "disability": "none", "cohabiting": True},
    "dependants": [{"birth_date": "2008-04-01", "disability": "none", "cohabiting": True},
                   {"birth_date": "2012-04-01", "disability": "none", "cohabiting": True}],
    "credits": {"furusato_donations": 15000, "one_stop": False}}
KURASHIKI = {  # b-kurashiki-furusato-onestop (倉敷市 寄附金税額控除の計算例, ワンストップ特例)
    "fiscal_year": 2025,
    "municipality": {"kind": "city", "per_capita_municipal": 3000, "per_capita_prefectural": 1000, "grade": 1},
    "taxpayer": {"birth_date": "1979-06-01", "sex": "male", "disability": "none"},
    "income": {"business_income": 3000000}, "paid": {"social_insurance": 720000},
    "spouse": None, "dependants": [], "credits": {"furusato_donations": 102000, "one_stop": True}}
NIIZA = {  # a-niiza-salary-pension-income-adjustment (新座市 計算例, run as 令和7年度)
    "fiscal_year": 2025,
    "municipality": {"kind": "city", "per_capita_municipal": 3000, "per_capita_prefectural": 1000, "grade": 1},
    "taxpayer": {"birth_date": "1967-08-08", "sex": "male", "disability": "none"},
    "income": {"salary_revenue": 3600000, "public_pension_revenue": 1000000},
    "paid": {"social_insurance": 243450, "life_insurance": {"old_general": 100000, "old_pension": 100000},
             "earthquake_insurance": 36000, "medical_expenses": 200000},
    "spouse": {"birth_date": "1969-04-01", "disability": "none", "cohabiting": True},
    "dependants": [{"birth_date": "1999-04-01", "disability": "none", "cohabiting": True},
                   {"birth_date": "1939-04-01", "disability": "none", "cohabiting": True, "lineal_ascendant": True}]}
GIFU = {  # b-gifu-pension-occasional (岐阜市 計算例: 年金 + 一時所得, 令和7年度)
    "fiscal_year": 2025,
    "municipality": {"kind": "city", "per_capita_municipal": 3500, "per_capita_prefectural": 2500, "grade": 1},
    "taxpayer": {"birth_date": "1954-06-01", "sex": "male", "disability": "none"},
    "income": {"public_pension_revenue": 2800000, "occasional_income": 1445000},
    "paid": {"social_insurance": 250000, "life_insurance": {"old_general": 54000, "care_medical": 115000, "old_pension": 204000}},
    "spouse": {"birth_date": "1957-06-01", "public_pension_revenue": 800000, "disability": "none", "cohabiting": True},
    "dependants": []}
SAKATA = {  # a-sakata-pension-exempt (酒田市 計算例, 花子さん: 非課税, 3級地)
    "fiscal_year": 2026,
    "municipality": {"kind": "city", "per_capita_municipal": 3000, "per_capita_prefectural": 1000, "grade": 3},
    "taxpayer": {"birth_date": "1962-04-01", "sex": "female", "disability": "none"},
    "income": {"public_pension_revenue": 870000}, "spouse": None}
MINATO_DISABLED = {  # a-minato-exempt-disabled-salary (港区 FAQ: 障害者は合計所得135万円以下で非課税)
    "fiscal_year": 2026, "taxpayer": {"birth_date": "1985-04-01", "sex": "female", "disability": "ordinary"},
    "income": {"salary_revenue": 2043999}}
NERIMA_INCOME_LEVY_EXEMPT = {  # d-nerima-exempt-one-dependant-income-levy-2026 (練馬区 早見表: 1人 177万円 所得割非課税)
    "fiscal_year": 2026, "taxpayer": {"birth_date": "1980-04-01", "sex": "male", "disability": "none"},
    "income": {"salary_revenue": 1770000},
    "spouse": {"birth_date": "1980-04-01", "disability": "none", "cohabiting": True}}
HOUSING = {  # c-unknown-housing-loan-income-tax-limit (住宅ローン控除: 所得税の課税総所得 × 5% が上限)
    "fiscal_year": 2025,
    "municipality": {"kind": "city", "per_capita_municipal": 3000, "per_capita_prefectural": 1000, "grade": 1},
    "taxpayer": {"birth_date": "1984-04-01", "sex": "male", "disability": "none"},
    "income": {"salary_revenue": 4500000}, "paid": {"social_insurance": 475000},
    "spouse": {"birth_date": "1986-04-01", "disability": "none", "cohabiting": True},
    "dependants": [{"birth_date": "2007-04-01", "disability": "none", "cohabiting": True},
                   {"birth_date": "2008-04-01", "disability": "none", "cohabiting": True}],
    "credits": {"housing_loan_unused_income_tax_credit": 150000, "housing_loan_taxable_income_for_income_tax": 1000000,
                "housing_moved_in": "2022-06-01"}}
# Hand-built persons (港区, 令和8年度), each for the lines no published example reaches.
FAMILY = {  # every kind of dependant, an aged spouse, a 特定親族, 所得金額調整控除 (子ども)
    "fiscal_year": 2026, "taxpayer": {"birth_date": "1970-04-01", "sex": "male"},
    "income": {"salary_revenue": 9_000_000},
    "paid": {"small_enterprise_mutual_aid": 100_000, "earthquake_insurance": 50_000},
    "spouse": {"birth_date": "1953-04-01", "cohabiting": True},
    "dependants": [{"birth_date": "2009-04-01", "cohabiting": True},  # 16: 一般
                   {"birth_date": "2005-04-01", "cohabiting": True},  # 20: 特定
                   {"birth_date": "2015-04-01", "cohabiting": True},  # 10: 年少
                   {"birth_date": "1945-04-01", "lineal_ascendant": True},  # 80, living apart: 老人
                   {"birth_date": "1943-04-01", "cohabiting": True, "lineal_ascendant": True},  # 82: 同居老親等
                   {"birth_date": "2004-04-01", "salary_revenue": 1_600_000, "cohabiting": True}]}  # 21: 特定親族
RICH = {  # 合計所得金額 above 2,500万: no 基礎控除, no 調整控除; 配当控除 above 1,000万
    "fiscal_year": 2026, "taxpayer": {"birth_date": "1960-04-01", "sex": "male"},
    "income": {"business_income": 26_000_000, "dividend_income": 1_000_000, "real_estate_income": 500_000,
               "misc_income": 200_000}}
WIDOW = {  # 寡婦控除; a dividend of 100円 whose 配当控除 is 1円 (a one-yen line is printed)
    "fiscal_year": 2026, "taxpayer": {"birth_date": "1965-04-01", "sex": "female", "widow": True},
    "income": {"real_estate_income": 1_500_000, "misc_income": 200_000, "dividend_income": 100},
    "paid": {"social_insurance": 300_000}}
STUDENT = {  # 勤労学生控除
    "fiscal_year": 2026, "taxpayer": {"birth_date": "2005-04-01", "sex": "female", "working_student": True},
    "income": {"salary_revenue": 1_400_000}}
SINGLE_PARENT = {  # ひとり親控除 (mother) with a child under 16
    "fiscal_year": 2026, "taxpayer": {"birth_date": "1985-04-01", "sex": "female", "single_parent": True},
    "income": {"salary_revenue": 3_000_000}, "paid": {"social_insurance": 450_000},
    "dependants": [{"birth_date": "2015-04-01", "cohabiting": True}]}
SPOUSE_SPECIAL = {  # 配偶者特別控除 and a 特別障害者 taxpayer
    "fiscal_year": 2026, "taxpayer": {"birth_date": "1975-04-01", "sex": "male", "disability": "special"},
    "income": {"salary_revenue": 6_000_000}, "paid": {"social_insurance": 900_000},
    "spouse": {"birth_date": "1977-04-01", "salary_revenue": 1_500_000, "cohabiting": True}}
LIVELIHOOD = {  # 生活扶助: nothing levied
    "fiscal_year": 2026, "taxpayer": {"birth_date": "1970-04-01", "livelihood_assistance": True}}
NEAR_LIMIT = {  # 総所得金額等 1,000円 above the 所得割 limit: 附則第3条の3; no birth date given
    "fiscal_year": 2026, "income": {"business_income": 451_000}}

PERSONS = {"YURI": YURI, "OSAKA": OSAKA, "KURASHIKI": KURASHIKI, "NIIZA": NIIZA, "GIFU": GIFU, "SAKATA": SAKATA,
           "MINATO_DISABLED": MINATO_DISABLED, "NERIMA_INCOME_LEVY_EXEMPT": NERIMA_INCOME_LEVY_EXEMPT,
           "HOUSING": HOUSING, "FAMILY": FAMILY, "RICH": RICH, "WIDOW": WIDOW, "STUDENT": STUDENT,
           "SINGLE_PARENT": SINGLE_PARENT, "SPOUSE_SPECIAL": SPOUSE_SPECIAL, "LIVELIHOOD": LIVELIHOOD,
           "NEAR_LIMIT": NEAR_LIMIT}


@functools.cache
def _rows() -> dict[str, dict]:
    """Every person through the engine at once (one `calculate` call, as `juminzei calc` batches)."""
    names = list(PERSONS)
    rows = calculate([json.loads(json.dumps(PERSONS[n])) for n in names], detail=True)
    assert all("error" not in row for row in rows), rows
    return dict(zip(names, rows))


def _row(name: str) -> dict:
    return dict(_rows()[name])


def _rules_and_profile(row: dict):
    """The profile `juminzei calc --explain` uses: the kind's profile, or 港区 when no kind is given."""
    kind = row.get("municipality_kind")
    profile = load_profile(kind) if kind else load_municipality_profile("131032")
    return load_rules(int(row["fiscal_year"])), profile


def _sheet(name: str) -> list[tuple]:
    row = _row(name)
    rules, profile = _rules_and_profile(row)
    return [(x.section, x.label, x.name, x.amount, x.quantity, x.rule, x.unit) for x in sheet_lines(row, rules, profile)]


def L(section, label, name, amount, quantity="", rule="", unit="円"):  # noqa: N802 — one expected line
    return (section, label, name, amount, quantity, rule, unit)


def _s4(count, per_capita_limit, grade, income_levy_limit, verdict):
    """Section 4 is always printed in full: the household count, both limits and the 判定."""
    return [
        L(S4, "同一生計配偶者・扶養親族の数", "household_count", count, "", "exemption", "人"),
        L(S4, "均等割の非課税限度額 (合計所得金額)", "per_capita_exemption_limit", per_capita_limit, f"{grade}級地", "exemption"),
        L(S4, "所得割の非課税限度額 (総所得金額等)", "income_levy_exemption_limit", income_levy_limit, "", "exemption"),
        L(S4, "判定", "exemption", verdict, "", "exemption", ""),
    ]


def _s6_s7(m, p, levy_m, per_capita_m, levy_p, per_capita_p, forest):
    """Sections 6 and 7, always printed: 年税額 of each levy = 所得割 + 均等割; the total adds 森林環境税."""
    return [
        L(S6, f"{m} 均等割", "per_capita_levy_municipal", per_capita_m, "", "per_capita_levy"),
        L(S6, f"{p} 均等割", "per_capita_levy_prefectural", per_capita_p, "", "per_capita_levy"),
        L(S6, "森林環境税", "forest_environment_tax", forest, "", "forest_environment_tax"),
        L(S7, f"{m} (所得割 + 均等割)", "tax_municipal", levy_m + per_capita_m),
        L(S7, f"{p} (所得割 + 均等割)", "tax_prefectural", levy_p + per_capita_p),
        L(S7, "森林環境税", "forest_environment_tax", forest),
        L(S7, "年税額 合計", "total_tax", levy_m + per_capita_m + levy_p + per_capita_p + forest),
    ]


WARD = ("特別区民税", "都民税")
CITY = ("市町村民税", "道府県民税")
DESIGNATED = ("市民税", "道府県民税")

# ------------------------------------------------------------------------- the expected sheets
EXPECTED: dict[str, list[tuple]] = {}

# 練馬区 ユリさん (published: 課税総所得 330,000, 所得割 18,300 / 12,200, 年税額 35,500).
# 給与所得 1,650,000 − 650,000 (最低保障額, 別表第五 令和7年分以後) = 1,000,000; no 所得金額調整控除, so the
# 給与所得控除後 line is left out. 控除 240,000 + 430,000 = 670,000; 1,000,000 − 670,000 = 330,000.
# 限度額 (1級地, 0人): 35万 + 10万 = 450,000 both. 人的控除差 = 基礎 5万; 課税総所得 ≤ 200万: 調整控除の基礎
# = min(50,000, 330,000) = 50,000 → 1,500 (3%) / 1,000 (2%). 19,800 − 1,500 = 18,300; 13,200 − 1,000 = 12,200.
EXPECTED["YURI"] = [
    L(S1, "給与収入", "salary_revenue", 1_650_000),
    L(S1, "給与所得", "salary_income", 1_000_000, "", "salary_income"),
    L(S1, "合計所得金額", "total_income", 1_000_000, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 1_000_000, "", "income_aggregation"),
    L(S2, "社会保険料控除", "deduction_social_insurance", 240_000, "", "social_insurance_deduction"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 670_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 330_000, "", "rounding"),
    *_s4(0, 450_000, 1, 450_000, "課税"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 50_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 50_000, "", "adjustment_credit"),
    L(S5, "特別区民税 算出所得割", "income_levy_gross_municipal", 19_800, "6%", "income_levy_percent"),
    L(S5, "特別区民税 調整控除", "adjustment_credit_municipal", 1_500, "3%", "adjustment_credit_percent"),
    L(S5, "特別区民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 18_300, "", "rounding"),
    L(S5, "都民税 算出所得割", "income_levy_gross_prefectural", 13_200, "4%", "income_levy_percent"),
    L(S5, "都民税 調整控除", "adjustment_credit_prefectural", 1_000, "2%", "adjustment_credit_percent"),
    L(S5, "都民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 12_200, "", "rounding"),
    *_s6_s7(*WARD, 18_300, 3_000, 12_200, 1_000, 1_000),
]

# 大阪市 (published: 給与所得 3,908,800, deductions 543,663 / 70,000 / 22,000 / 11,530, 配偶者 330,000, 扶養
# 330,000 (17歳 一般; 13歳 年少 0), 課税総所得 2,171,000, 市民税 8% 173,680, 調整控除 2,000 / 500, 寄附金
# 基本 1,040 / 260, 特例 8,830 / 2,208 at 84.895%). 所得控除合計 = 543,663 + 70,000 + 22,000 + 11,530 +
# 330,000 + 330,000 + 430,000 = 1,737,193. 道府県民税 2% of 2,171,000 = 43,420. 人的控除差 = 基礎 5万 + 配偶者
# 5万 + 一般扶養 5万 = 150,000; 課税総所得 > 200万: max(150,000 − 171,000, 50,000) = 50,000 (4% 2,000, 1% 500).
# 寄附金計 1,040 + 8,830 = 9,870; 260 + 2,208 = 2,468. 所得割 173,680 − 2,000 − 9,870 = 161,810 → 161,800;
# 43,420 − 500 − 2,468 = 40,452 → 40,400. 3人 (配偶者, 2 children): 均等割 35万×4 + 10万 + 21万 = 1,710,000,
# 所得割 35万×4 + 10万 + 32万 = 1,820,000. 均等割 3,000 / 1,000 are the input's.
EXPECTED["OSAKA"] = [
    L(S1, "給与収入", "salary_revenue", 5_436_629),
    L(S1, "給与所得", "salary_income", 3_908_800, "", "salary_income"),
    L(S1, "合計所得金額", "total_income", 3_908_800, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 3_908_800, "", "income_aggregation"),
    L(S2, "社会保険料控除", "deduction_social_insurance", 543_663, "", "social_insurance_deduction"),
    L(S2, "生命保険料控除", "deduction_life_insurance", 70_000, "", "life_insurance_deduction"),
    L(S2, "地震保険料控除", "deduction_earthquake", 22_000, "", "earthquake_insurance_deduction"),
    L(S2, "医療費控除", "deduction_medical", 11_530, "", "medical_expense_deduction"),
    L(S2, "配偶者控除", "deduction_spouse", 330_000, "", "spouse_deduction"),
    L(S2, "扶養控除", "deduction_dependants", 330_000, "一般1人 年少1人", "dependants"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 1_737_193),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 2_171_000, "", "rounding"),
    *_s4(3, 1_710_000, 1, 1_820_000, "課税"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 150_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 50_000, "", "adjustment_credit"),
    L(S5, "市民税 算出所得割", "income_levy_gross_municipal", 173_680, "8%", "income_levy_percent"),
    L(S5, "市民税 調整控除", "adjustment_credit_municipal", 2_000, "4%", "adjustment_credit_percent"),
    L(S5, "市民税 寄附金税額控除 (基本控除)", "donation_basic_credit_municipal", 1_040, "", "donation_credit"),
    L(S5, "市民税 寄附金税額控除 (特例控除)", "donation_special_credit_municipal", 8_830, "84.895%", "donation_credit"),
    L(S5, "市民税 寄附金税額控除 (計)", "donation_credit_municipal", 9_870, "", "donation_credit"),
    L(S5, "市民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 161_800, "", "rounding"),
    L(S5, "道府県民税 算出所得割", "income_levy_gross_prefectural", 43_420, "2%", "income_levy_percent"),
    L(S5, "道府県民税 調整控除", "adjustment_credit_prefectural", 500, "1%", "adjustment_credit_percent"),
    L(S5, "道府県民税 寄附金税額控除 (基本控除)", "donation_basic_credit_prefectural", 260, "", "donation_credit"),
    L(S5, "道府県民税 寄附金税額控除 (特例控除)", "donation_special_credit_prefectural", 2_208, "84.895%", "donation_credit"),
    L(S5, "道府県民税 寄附金税額控除 (計)", "donation_credit_prefectural", 2_468, "", "donation_credit"),
    L(S5, "道府県民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 40_400, "", "rounding"),
    *_s6_s7(*DESIGNATED, 161_800, 3_000, 40_400, 1_000, 1_000),
]

# 倉敷市, ワンストップ (published, both levies together: 総所得 3,000,000, 所得控除 1,150,000, 課税総所得
# 1,850,000, 所得割 after 調整控除 182,500, 基本控除 10,000, 特例控除 36,500 (20% cap), 申告特例控除 2,195,
# 寄附金税額控除 48,695). Split by levy: 算出 6% 111,000 / 4% 74,000; 調整控除 min(5万, 1,850,000) = 50,000 →
# 1,500 / 1,000 (109,500 + 73,000 = 182,500); 基本 (102,000 − 2,000) × 6% = 6,000, × 4% = 4,000; 特例 capped
# at 20% of the levy after 調整控除: 21,900 / 14,600 (= 36,500); 申告特例 = 特例 × 5.105/84.895 (所得税 5% ×
# 1.021): 1,316.9 → 1,317, 877.9 → 878 (rounded up, = 2,195 as published); 計 29,217 / 19,478 (= 48,695).
# 所得割 109,500 − 29,217 = 80,283 → 80,200; 73,000 − 19,478 = 53,522 → 53,500. The business income prints
# 給与所得 0 (always shown).
EXPECTED["KURASHIKI"] = [
    L(S1, "給与所得", "salary_income", 0, "", "salary_income"),
    L(S1, "事業所得", "business_income", 3_000_000),
    L(S1, "合計所得金額", "total_income", 3_000_000, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 3_000_000, "", "income_aggregation"),
    L(S2, "社会保険料控除", "deduction_social_insurance", 720_000, "", "social_insurance_deduction"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 1_150_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 1_850_000, "", "rounding"),
    *_s4(0, 450_000, 1, 450_000, "課税"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 50_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 50_000, "", "adjustment_credit"),
    L(S5, "市町村民税 算出所得割", "income_levy_gross_municipal", 111_000, "6%", "income_levy_percent"),
    L(S5, "市町村民税 調整控除", "adjustment_credit_municipal", 1_500, "3%", "adjustment_credit_percent"),
    L(S5, "市町村民税 寄附金税額控除 (基本控除)", "donation_basic_credit_municipal", 6_000, "", "donation_credit"),
    L(S5, "市町村民税 寄附金税額控除 (特例控除)", "donation_special_credit_municipal", 21_900, "84.895%", "donation_credit"),
    L(S5, "市町村民税 寄附金税額控除 (申告特例控除)", "donation_one_stop_credit_municipal", 1_317, "", "donation_credit"),
    L(S5, "市町村民税 寄附金税額控除 (計)", "donation_credit_municipal", 29_217, "", "donation_credit"),
    L(S5, "市町村民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 80_200, "", "rounding"),
    L(S5, "道府県民税 算出所得割", "income_levy_gross_prefectural", 74_000, "4%", "income_levy_percent"),
    L(S5, "道府県民税 調整控除", "adjustment_credit_prefectural", 1_000, "2%", "adjustment_credit_percent"),
    L(S5, "道府県民税 寄附金税額控除 (基本控除)", "donation_basic_credit_prefectural", 4_000, "", "donation_credit"),
    L(S5, "道府県民税 寄附金税額控除 (特例控除)", "donation_special_credit_prefectural", 14_600, "84.895%", "donation_credit"),
    L(S5, "道府県民税 寄附金税額控除 (申告特例控除)", "donation_one_stop_credit_prefectural", 878, "", "donation_credit"),
    L(S5, "道府県民税 寄附金税額控除 (計)", "donation_credit_prefectural", 19_478, "", "donation_credit"),
    L(S5, "道府県民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 53_500, "", "rounding"),
    *_s6_s7(*CITY, 80_200, 3_000, 53_500, 1_000, 1_000),
]

# 新座市 (published: 給与所得 before the adjustment 2,440,000, 所得金額調整控除 100,000, 年金所得 400,000 (57歳),
# 合計所得 2,740,000, 所得控除 1,971,450, 課税総所得 768,000, 人的控除差 280,000, 調整控除 8,400 / 5,600).
# 給与所得 after the adjustment 2,440,000 − 100,000 = 2,340,000: with an adjustment the sheet shows the
# 給与所得控除後 figure and the adjustment above it. 扶養: 一般 (25歳) 330,000 + 同居老親等 (85歳) 450,000 =
# 780,000. 6% 46,080 − 8,400 = 37,680 → 37,600; 4% 30,720 − 5,600 = 25,120 → 25,100. 3人: 1,710,000 / 1,820,000.
EXPECTED["NIIZA"] = [
    L(S1, "給与収入", "salary_revenue", 3_600_000),
    L(S1, "給与所得 (給与所得控除後)", "salary_income_table", 2_440_000, "", "salary_income"),
    L(S1, "所得金額調整控除 (給与・年金)", "income_adjustment_salary_pension", 100_000, "", "income_adjustment_salary_pension"),
    L(S1, "給与所得", "salary_income", 2_340_000, "", "salary_income"),
    L(S1, "公的年金等収入", "public_pension_revenue", 1_000_000),
    L(S1, "公的年金等に係る雑所得", "public_pension_income", 400_000, "年齢 57", "public_pension_income"),
    L(S1, "合計所得金額", "total_income", 2_740_000, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 2_740_000, "", "income_aggregation"),
    L(S2, "社会保険料控除", "deduction_social_insurance", 243_450, "", "social_insurance_deduction"),
    L(S2, "生命保険料控除", "deduction_life_insurance", 70_000, "", "life_insurance_deduction"),
    L(S2, "地震保険料控除", "deduction_earthquake", 18_000, "", "earthquake_insurance_deduction"),
    L(S2, "医療費控除", "deduction_medical", 100_000, "", "medical_expense_deduction"),
    L(S2, "配偶者控除", "deduction_spouse", 330_000, "", "spouse_deduction"),
    L(S2, "扶養控除", "deduction_dependants", 780_000, "一般1人 同居老親等1人", "dependants"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 1_971_450),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 768_000, "", "rounding"),
    *_s4(3, 1_710_000, 1, 1_820_000, "課税"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 280_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 280_000, "", "adjustment_credit"),
    L(S5, "市町村民税 算出所得割", "income_levy_gross_municipal", 46_080, "6%", "income_levy_percent"),
    L(S5, "市町村民税 調整控除", "adjustment_credit_municipal", 8_400, "3%", "adjustment_credit_percent"),
    L(S5, "市町村民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 37_600, "", "rounding"),
    L(S5, "道府県民税 算出所得割", "income_levy_gross_prefectural", 30_720, "4%", "income_levy_percent"),
    L(S5, "道府県民税 調整控除", "adjustment_credit_prefectural", 5_600, "2%", "adjustment_credit_percent"),
    L(S5, "道府県民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 25_100, "", "rounding"),
    *_s6_s7(*CITY, 37_600, 3_000, 25_100, 1_000, 1_000),
]

# 岐阜市 (published: 課税総所得 1,342,000, 算出 80,520 / 53,680, 調整控除 3,000 / 2,000, 所得割 77,500 /
# 51,600, 均等割 3,500 / 2,500, 生命保険料控除 70,000, 人的控除差 100,000). 年金 2,800,000 at 70: 公的年金等控除
# 110万 → 1,700,000; 一時所得 1,445,000 × ½ = 722,500; 合計 2,422,500. 配偶者 (67, 年金 80万 → 所得 0):
# 330,000. 控除 250,000 + 70,000 + 330,000 + 430,000 = 1,080,000. 1人: 35万×2 + 10万 + 21万 = 1,010,000,
# 35万×2 + 10万 + 32万 = 1,120,000. No salary: 給与所得 0 still printed.
EXPECTED["GIFU"] = [
    L(S1, "給与所得", "salary_income", 0, "", "salary_income"),
    L(S1, "公的年金等収入", "public_pension_revenue", 2_800_000),
    L(S1, "公的年金等に係る雑所得", "public_pension_income", 1_700_000, "年齢 70", "public_pension_income"),
    L(S1, "一時所得 (½)", "occasional_income_counted", 722_500, "", "occasional_income_share"),
    L(S1, "合計所得金額", "total_income", 2_422_500, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 2_422_500, "", "income_aggregation"),
    L(S2, "社会保険料控除", "deduction_social_insurance", 250_000, "", "social_insurance_deduction"),
    L(S2, "生命保険料控除", "deduction_life_insurance", 70_000, "", "life_insurance_deduction"),
    L(S2, "配偶者控除", "deduction_spouse", 330_000, "", "spouse_deduction"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 1_080_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 1_342_000, "", "rounding"),
    *_s4(1, 1_010_000, 1, 1_120_000, "課税"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 100_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 100_000, "", "adjustment_credit"),
    L(S5, "市町村民税 算出所得割", "income_levy_gross_municipal", 80_520, "6%", "income_levy_percent"),
    L(S5, "市町村民税 調整控除", "adjustment_credit_municipal", 3_000, "3%", "adjustment_credit_percent"),
    L(S5, "市町村民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 77_500, "", "rounding"),
    L(S5, "道府県民税 算出所得割", "income_levy_gross_prefectural", 53_680, "4%", "income_levy_percent"),
    L(S5, "道府県民税 調整控除", "adjustment_credit_prefectural", 2_000, "2%", "adjustment_credit_percent"),
    L(S5, "道府県民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 51_600, "", "rounding"),
    *_s6_s7(*CITY, 77_500, 3_500, 51_600, 2_500, 1_000),
]

# 酒田市 花子さん (published: 年金所得 270,000 (63歳: 870,000 − 60万), 合計所得 270,000 ≤ 3級地の限度額 38万 =
# 28万 + 10万: 市・県民税も森林環境税も非課税, total 0). 課税総所得 max(270,000 − 430,000, 0) = 0. The
# 所得割 limit is not graded: 35万 + 10万 = 450,000. Every levy line is printed with 0; the 調整控除 lines
# (base 0) are left out.
EXPECTED["SAKATA"] = [
    L(S1, "給与所得", "salary_income", 0, "", "salary_income"),
    L(S1, "公的年金等収入", "public_pension_revenue", 870_000),
    L(S1, "公的年金等に係る雑所得", "public_pension_income", 270_000, "年齢 63", "public_pension_income"),
    L(S1, "合計所得金額", "total_income", 270_000, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 270_000, "", "income_aggregation"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 430_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 0, "", "rounding"),
    *_s4(0, 380_000, 3, 450_000, "非課税 (均等割の限度額以下)"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 50_000, "", "personal_deduction_differences"),
    L(S5, "市町村民税 算出所得割", "income_levy_gross_municipal", 0, "6%", "income_levy_percent"),
    L(S5, "市町村民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 0, "", "rounding"),
    L(S5, "道府県民税 算出所得割", "income_levy_gross_prefectural", 0, "4%", "income_levy_percent"),
    L(S5, "道府県民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 0, "", "rounding"),
    *_s6_s7(*CITY, 0, 0, 0, 0, 0),
]

# 港区 FAQ: a 障害者 with 給与収入 2,043,999 (< 204万4千円) is not taxed. 給与所得 (別表第五, 4,000円 steps:
# 2,040,000 × 70% − 80,000) = 1,348,000 ≤ 135万 (地方税法第295条第1項第2号). 障害者控除 (住民税) 260,000;
# 1,348,000 − 690,000 = 658,000. The computed levy is printed (6% 39,480, 4% 26,320; 人的控除差 = 基礎 5万 +
# 障害者 1万 = 60,000 → 1,800 / 1,200) but the 所得割額, 均等割 and 森林環境税 are 0.
EXPECTED["MINATO_DISABLED"] = [
    L(S1, "給与収入", "salary_revenue", 2_043_999),
    L(S1, "給与所得", "salary_income", 1_348_000, "", "salary_income"),
    L(S1, "合計所得金額", "total_income", 1_348_000, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 1_348_000, "", "income_aggregation"),
    L(S2, "障害者控除", "deduction_disability", 260_000, "", "disability_deduction"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 690_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 658_000, "", "rounding"),
    *_s4(0, 450_000, 1, 450_000, "非課税 (障害者・未成年者・寡婦・ひとり親, 合計所得135万円以下)"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 60_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 60_000, "", "adjustment_credit"),
    L(S5, "特別区民税 算出所得割", "income_levy_gross_municipal", 39_480, "6%", "income_levy_percent"),
    L(S5, "特別区民税 調整控除", "adjustment_credit_municipal", 1_800, "3%", "adjustment_credit_percent"),
    L(S5, "特別区民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 0, "", "rounding"),
    L(S5, "都民税 算出所得割", "income_levy_gross_prefectural", 26_320, "4%", "income_levy_percent"),
    L(S5, "都民税 調整控除", "adjustment_credit_prefectural", 1_200, "2%", "adjustment_credit_percent"),
    L(S5, "都民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 0, "", "rounding"),
    *_s6_s7(*WARD, 0, 0, 0, 0, 0),
]

# 練馬区 早見表 (1人, 給与収入 177万円 → 所得割非課税): 給与所得 1,770,000 − 650,000 = 1,120,000 = 所得割の限度額
# 35万×2 + 10万 + 32万; above the 均等割 limit 35万×2 + 10万 + 21万 = 1,010,000: 均等割 and 森林環境税 are due.
# 配偶者控除 330,000; 1,120,000 − 760,000 = 360,000; 6% 21,600, 4% 14,400; 人的控除差 基礎 + 配偶者 = 100,000
# → 3,000 / 2,000 (printed, the 所得割額 is 0). 年税額 = 3,000 + 1,000 + 1,000.
EXPECTED["NERIMA_INCOME_LEVY_EXEMPT"] = [
    L(S1, "給与収入", "salary_revenue", 1_770_000),
    L(S1, "給与所得", "salary_income", 1_120_000, "", "salary_income"),
    L(S1, "合計所得金額", "total_income", 1_120_000, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 1_120_000, "", "income_aggregation"),
    L(S2, "配偶者控除", "deduction_spouse", 330_000, "", "spouse_deduction"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 760_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 360_000, "", "rounding"),
    *_s4(1, 1_010_000, 1, 1_120_000, "所得割のみ非課税 (所得割の限度額以下)"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 100_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 100_000, "", "adjustment_credit"),
    L(S5, "特別区民税 算出所得割", "income_levy_gross_municipal", 21_600, "6%", "income_levy_percent"),
    L(S5, "特別区民税 調整控除", "adjustment_credit_municipal", 3_000, "3%", "adjustment_credit_percent"),
    L(S5, "特別区民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 0, "", "rounding"),
    L(S5, "都民税 算出所得割", "income_levy_gross_prefectural", 14_400, "4%", "income_levy_percent"),
    L(S5, "都民税 調整控除", "adjustment_credit_prefectural", 2_000, "2%", "adjustment_credit_percent"),
    L(S5, "都民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 0, "", "rounding"),
    *_s6_s7(*WARD, 0, 3_000, 0, 1_000, 1_000),
]

# 住宅借入金等特別税額控除 (published: the smallest of 150,000 unused, 1,000,000 × 5% = 50,000 and 97,500 →
# 50,000), split 3/5 and 2/5 (附則第45条, 附則第5条の4の2): 30,000 / 20,000. 給与所得 (令和6年分の表, 4,500,000
# × 80% − 440,000) = 3,160,000; 控除 475,000 + 配偶者 330,000 + 一般扶養 (16, 17歳) 660,000 + 430,000 =
# 1,895,000; 課税総所得 1,265,000. 人的控除差 5万 × 4 = 200,000 ≤ 課税総所得 → 6,000 / 4,000. 6% 75,900 −
# 6,000 − 30,000 = 39,900; 4% 50,600 − 4,000 − 20,000 = 26,600.
EXPECTED["HOUSING"] = [
    L(S1, "給与収入", "salary_revenue", 4_500_000),
    L(S1, "給与所得", "salary_income", 3_160_000, "", "salary_income"),
    L(S1, "合計所得金額", "total_income", 3_160_000, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 3_160_000, "", "income_aggregation"),
    L(S2, "社会保険料控除", "deduction_social_insurance", 475_000, "", "social_insurance_deduction"),
    L(S2, "配偶者控除", "deduction_spouse", 330_000, "", "spouse_deduction"),
    L(S2, "扶養控除", "deduction_dependants", 660_000, "一般2人", "dependants"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 1_895_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 1_265_000, "", "rounding"),
    *_s4(3, 1_710_000, 1, 1_820_000, "課税"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 200_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 200_000, "", "adjustment_credit"),
    L(S5, "市町村民税 算出所得割", "income_levy_gross_municipal", 75_900, "6%", "income_levy_percent"),
    L(S5, "市町村民税 調整控除", "adjustment_credit_municipal", 6_000, "3%", "adjustment_credit_percent"),
    L(S5, "市町村民税 住宅借入金等特別税額控除", "housing_loan_credit_municipal", 30_000, "", "housing_loan_credit"),
    L(S5, "市町村民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 39_900, "", "rounding"),
    L(S5, "道府県民税 算出所得割", "income_levy_gross_prefectural", 50_600, "4%", "income_levy_percent"),
    L(S5, "道府県民税 調整控除", "adjustment_credit_prefectural", 4_000, "2%", "adjustment_credit_percent"),
    L(S5, "道府県民税 住宅借入金等特別税額控除", "housing_loan_credit_prefectural", 20_000, "", "housing_loan_credit"),
    L(S5, "道府県民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 26_600, "", "rounding"),
    *_s6_s7(*CITY, 39_900, 3_000, 26_600, 1_000, 1_000),
]

# FAMILY (hand-built). 給与所得 9,000,000 − 1,950,000 (上限) = 7,050,000; a dependant under 23: 所得金額調整控除
# (min(収入, 1,000万) − 850万) × 10% = 50,000 → 7,000,000 (≤ 900万: full 配偶者控除). 地震 50,000 × ½ = 25,000.
# 配偶者 72歳: 老人 380,000. 扶養: 一般 (16) 330,000 + 特定 (20) 450,000 + 老人 (80, apart) 380,000 + 同居老親等
# (82) 450,000 + 年少 (10) 0 = 1,610,000. The 21-year-old earns 1,600,000 (所得 950,000 > 58万): not a dependant,
# a 特定親族 with 450,000 (所得 ≤ 95万). 控除 100,000 + 25,000 + 380,000 + 1,610,000 + 450,000 + 430,000 =
# 2,995,000; 課税総所得 4,005,000. 人的控除差 5 + 10 (老人配偶者) + 5 + 18 + 10 + 13 = 61万; above 200万:
# max(610,000 − 2,005,000, 50,000) = 50,000 → 1,500 / 1,000. 6% 240,300, 4% 160,200. 6人 (配偶者 + 5 扶養親族):
# 35万×7 + 10万 + 21万 = 2,760,000; + 32万 = 2,870,000.
EXPECTED["FAMILY"] = [
    L(S1, "給与収入", "salary_revenue", 9_000_000),
    L(S1, "給与所得 (給与所得控除後)", "salary_income_table", 7_050_000, "", "salary_income"),
    L(S1, "所得金額調整控除 (子ども・特別障害者等)", "income_adjustment_children", 50_000, "", "income_adjustment_children"),
    L(S1, "給与所得", "salary_income", 7_000_000, "", "salary_income"),
    L(S1, "合計所得金額", "total_income", 7_000_000, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 7_000_000, "", "income_aggregation"),
    L(S2, "小規模企業共済等掛金控除", "deduction_small_enterprise", 100_000, "", "small_enterprise_deduction"),
    L(S2, "地震保険料控除", "deduction_earthquake", 25_000, "", "earthquake_insurance_deduction"),
    L(S2, "配偶者控除", "deduction_spouse", 380_000, "老人", "spouse_deduction"),
    L(S2, "扶養控除", "deduction_dependants", 1_610_000, "一般1人 特定1人 老人1人 同居老親等1人 年少1人", "dependants"),
    L(S2, "特定親族特別控除", "deduction_specific_relatives", 450_000, "1人", "specific_relative_deduction"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 2_995_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 4_005_000, "", "rounding"),
    *_s4(6, 2_760_000, 1, 2_870_000, "課税"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 610_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 50_000, "", "adjustment_credit"),
    L(S5, "特別区民税 算出所得割", "income_levy_gross_municipal", 240_300, "6%", "income_levy_percent"),
    L(S5, "特別区民税 調整控除", "adjustment_credit_municipal", 1_500, "3%", "adjustment_credit_percent"),
    L(S5, "特別区民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 238_800, "", "rounding"),
    L(S5, "都民税 算出所得割", "income_levy_gross_prefectural", 160_200, "4%", "income_levy_percent"),
    L(S5, "都民税 調整控除", "adjustment_credit_prefectural", 1_000, "2%", "adjustment_credit_percent"),
    L(S5, "都民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 159_200, "", "rounding"),
    *_s6_s7(*WARD, 238_800, 3_000, 159_200, 1_000, 1_000),
]

# RICH (hand-built). 合計所得 26,000,000 + 1,000,000 + 500,000 + 200,000 = 27,700,000 > 2,500万: 基礎控除 0
# (地方税法第314条の2第2項), so 基礎控除 and 所得控除合計 print 0; no 人的控除差 and no 調整控除 (合計所得 >
# 2,500万, 第314条の6) — those lines are left out. 6% 1,662,000, 4% 1,108,000. 配当控除: 課税総所得 − 1,000万 =
# 17,700,000 ≥ the dividend, so all of it takes the upper-bracket rates 0.8% / 0.6% (附則第5条第1項第2号):
# 8,000 / 6,000.
EXPECTED["RICH"] = [
    L(S1, "給与所得", "salary_income", 0, "", "salary_income"),
    L(S1, "事業所得", "business_income", 26_000_000),
    L(S1, "不動産所得", "real_estate_income", 500_000),
    L(S1, "配当所得 (総合課税)", "dividend_income", 1_000_000),
    L(S1, "その他の雑所得", "misc_income", 200_000),
    L(S1, "合計所得金額", "total_income", 27_700_000, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 27_700_000, "", "income_aggregation"),
    L(S2, "基礎控除", "deduction_basic", 0, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 0),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 27_700_000, "", "rounding"),
    *_s4(0, 450_000, 1, 450_000, "課税"),
    L(S5, "特別区民税 算出所得割", "income_levy_gross_municipal", 1_662_000, "6%", "income_levy_percent"),
    L(S5, "特別区民税 配当控除", "dividend_credit_municipal", 8_000, "", "dividend_credit"),
    L(S5, "特別区民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 1_654_000, "", "rounding"),
    L(S5, "都民税 算出所得割", "income_levy_gross_prefectural", 1_108_000, "4%", "income_levy_percent"),
    L(S5, "都民税 配当控除", "dividend_credit_prefectural", 6_000, "", "dividend_credit"),
    L(S5, "都民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 1_102_000, "", "rounding"),
    *_s6_s7(*WARD, 1_654_000, 3_000, 1_102_000, 1_000, 1_000),
]

# WIDOW (hand-built). 合計所得 1,500,000 + 200,000 + 100 = 1,700,100 ≤ 500万: 寡婦控除 260,000. 控除 300,000 +
# 260,000 + 430,000 = 990,000; 710,100 → 710,000. 人的控除差 基礎 5万 + 寡婦 1万 = 60,000 → 1,800 / 1,200.
# 配当控除 (課税総所得 ≤ 1,000万): 100 × 1.6% = 1.6 → 1, 100 × 1.2% = 1.2 → 1 (1円未満切捨て): a 1円 line is
# printed. 42,600 − 1,800 − 1 = 40,799 → 40,700; 28,400 − 1,200 − 1 = 27,199 → 27,100.
EXPECTED["WIDOW"] = [
    L(S1, "給与所得", "salary_income", 0, "", "salary_income"),
    L(S1, "不動産所得", "real_estate_income", 1_500_000),
    L(S1, "配当所得 (総合課税)", "dividend_income", 100),
    L(S1, "その他の雑所得", "misc_income", 200_000),
    L(S1, "合計所得金額", "total_income", 1_700_100, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 1_700_100, "", "income_aggregation"),
    L(S2, "社会保険料控除", "deduction_social_insurance", 300_000, "", "social_insurance_deduction"),
    L(S2, "寡婦控除", "deduction_widow", 260_000, "", "widow_deduction"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 990_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 710_000, "", "rounding"),
    *_s4(0, 450_000, 1, 450_000, "課税"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 60_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 60_000, "", "adjustment_credit"),
    L(S5, "特別区民税 算出所得割", "income_levy_gross_municipal", 42_600, "6%", "income_levy_percent"),
    L(S5, "特別区民税 調整控除", "adjustment_credit_municipal", 1_800, "3%", "adjustment_credit_percent"),
    L(S5, "特別区民税 配当控除", "dividend_credit_municipal", 1, "", "dividend_credit"),
    L(S5, "特別区民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 40_700, "", "rounding"),
    L(S5, "都民税 算出所得割", "income_levy_gross_prefectural", 28_400, "4%", "income_levy_percent"),
    L(S5, "都民税 調整控除", "adjustment_credit_prefectural", 1_200, "2%", "adjustment_credit_percent"),
    L(S5, "都民税 配当控除", "dividend_credit_prefectural", 1, "", "dividend_credit"),
    L(S5, "都民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 27_100, "", "rounding"),
    *_s6_s7(*WARD, 40_700, 3_000, 27_100, 1_000, 1_000),
]

# STUDENT (hand-built). 給与所得 1,400,000 − 650,000 = 750,000 ≤ 85万: 勤労学生控除 260,000; 750,000 − 690,000 =
# 60,000. Above 45万: taxed (a 勤労学生 is not in the 135万 category). 人的控除差 5万 + 1万 = 60,000 = 課税総所得:
# base 60,000 → 1,800 / 1,200; 3,600 − 1,800 = 1,800; 2,400 − 1,200 = 1,200.
EXPECTED["STUDENT"] = [
    L(S1, "給与収入", "salary_revenue", 1_400_000),
    L(S1, "給与所得", "salary_income", 750_000, "", "salary_income"),
    L(S1, "合計所得金額", "total_income", 750_000, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 750_000, "", "income_aggregation"),
    L(S2, "勤労学生控除", "deduction_working_student", 260_000, "", "working_student_deduction"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 690_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 60_000, "", "rounding"),
    *_s4(0, 450_000, 1, 450_000, "課税"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 60_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 60_000, "", "adjustment_credit"),
    L(S5, "特別区民税 算出所得割", "income_levy_gross_municipal", 3_600, "6%", "income_levy_percent"),
    L(S5, "特別区民税 調整控除", "adjustment_credit_municipal", 1_800, "3%", "adjustment_credit_percent"),
    L(S5, "特別区民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 1_800, "", "rounding"),
    L(S5, "都民税 算出所得割", "income_levy_gross_prefectural", 2_400, "4%", "income_levy_percent"),
    L(S5, "都民税 調整控除", "adjustment_credit_prefectural", 1_200, "2%", "adjustment_credit_percent"),
    L(S5, "都民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 1_200, "", "rounding"),
    *_s6_s7(*WARD, 1_800, 3_000, 1_200, 1_000, 1_000),
]

# SINGLE_PARENT (hand-built). 給与所得 3,000,000 × 70% − 80,000 = 2,020,000 (> 135万: taxed). ひとり親 300,000;
# 控除 450,000 + 300,000 + 430,000 = 1,180,000 → 840,000. The child of 10 is 年少 (no 扶養控除, so no line) but
# counts for the limits: 1人 → 1,010,000 / 1,120,000. 人的控除差 基礎 5万 + ひとり親 (母) 5万 = 100,000 →
# 3,000 / 2,000; 50,400 − 3,000 = 47,400; 33,600 − 2,000 = 31,600.
EXPECTED["SINGLE_PARENT"] = [
    L(S1, "給与収入", "salary_revenue", 3_000_000),
    L(S1, "給与所得", "salary_income", 2_020_000, "", "salary_income"),
    L(S1, "合計所得金額", "total_income", 2_020_000, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 2_020_000, "", "income_aggregation"),
    L(S2, "社会保険料控除", "deduction_social_insurance", 450_000, "", "social_insurance_deduction"),
    L(S2, "ひとり親控除", "deduction_single_parent", 300_000, "", "single_parent_deduction"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 1_180_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 840_000, "", "rounding"),
    *_s4(1, 1_010_000, 1, 1_120_000, "課税"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 100_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 100_000, "", "adjustment_credit"),
    L(S5, "特別区民税 算出所得割", "income_levy_gross_municipal", 50_400, "6%", "income_levy_percent"),
    L(S5, "特別区民税 調整控除", "adjustment_credit_municipal", 3_000, "3%", "adjustment_credit_percent"),
    L(S5, "特別区民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 47_400, "", "rounding"),
    L(S5, "都民税 算出所得割", "income_levy_gross_prefectural", 33_600, "4%", "income_levy_percent"),
    L(S5, "都民税 調整控除", "adjustment_credit_prefectural", 2_000, "2%", "adjustment_credit_percent"),
    L(S5, "都民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 31_600, "", "rounding"),
    *_s6_s7(*WARD, 47_400, 3_000, 31_600, 1_000, 1_000),
]

# SPOUSE_SPECIAL (hand-built). 給与所得 6,000,000 × 80% − 440,000 = 4,360,000. 特別障害者: 300,000. The wife's
# 給与所得 1,500,000 − 650,000 = 850,000 (> 58万: no 配偶者控除; 58万超95万以下: 配偶者特別控除 330,000, the
# quantity shows her 所得); she is not a 同一生計配偶者, so 0人 for the limits. 控除 900,000 + 300,000 + 330,000
# + 430,000 = 1,960,000 → 2,400,000. 人的控除差 基礎 5万 + 特別障害者 10万 (配偶者特別控除 at 85万: 0) = 150,000;
# above 200万: max(150,000 − 400,000, 50,000) = 50,000 → 1,500 / 1,000; 144,000 − 1,500, 96,000 − 1,000.
EXPECTED["SPOUSE_SPECIAL"] = [
    L(S1, "給与収入", "salary_revenue", 6_000_000),
    L(S1, "給与所得", "salary_income", 4_360_000, "", "salary_income"),
    L(S1, "合計所得金額", "total_income", 4_360_000, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 4_360_000, "", "income_aggregation"),
    L(S2, "社会保険料控除", "deduction_social_insurance", 900_000, "", "social_insurance_deduction"),
    L(S2, "障害者控除", "deduction_disability", 300_000, "", "disability_deduction"),
    L(S2, "配偶者特別控除", "deduction_spouse_special", 330_000, "配偶者の所得 850,000", "spouse_special_deduction"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 1_960_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 2_400_000, "", "rounding"),
    *_s4(0, 450_000, 1, 450_000, "課税"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 150_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 50_000, "", "adjustment_credit"),
    L(S5, "特別区民税 算出所得割", "income_levy_gross_municipal", 144_000, "6%", "income_levy_percent"),
    L(S5, "特別区民税 調整控除", "adjustment_credit_municipal", 1_500, "3%", "adjustment_credit_percent"),
    L(S5, "特別区民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 142_500, "", "rounding"),
    L(S5, "都民税 算出所得割", "income_levy_gross_prefectural", 96_000, "4%", "income_levy_percent"),
    L(S5, "都民税 調整控除", "adjustment_credit_prefectural", 1_000, "2%", "adjustment_credit_percent"),
    L(S5, "都民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 95_000, "", "rounding"),
    *_s6_s7(*WARD, 142_500, 3_000, 95_000, 1_000, 1_000),
]

# LIVELIHOOD (hand-built): 生活扶助 (第295条第1項第1号): nothing is levied whatever the income; no income here,
# so 所得 0 is printed on the always-shown lines and every levy is 0.
EXPECTED["LIVELIHOOD"] = [
    L(S1, "給与所得", "salary_income", 0, "", "salary_income"),
    L(S1, "合計所得金額", "total_income", 0, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 0, "", "income_aggregation"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 430_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 0, "", "rounding"),
    *_s4(0, 450_000, 1, 450_000, "非課税 (生活扶助)"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 50_000, "", "personal_deduction_differences"),
    L(S5, "特別区民税 算出所得割", "income_levy_gross_municipal", 0, "6%", "income_levy_percent"),
    L(S5, "特別区民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 0, "", "rounding"),
    L(S5, "都民税 算出所得割", "income_levy_gross_prefectural", 0, "4%", "income_levy_percent"),
    L(S5, "都民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 0, "", "rounding"),
    *_s6_s7(*WARD, 0, 0, 0, 0, 0),
]

# NEAR_LIMIT (hand-built): 総所得金額等 451,000, 1,000 above the 所得割 limit 450,000. 課税総所得 21,000; 6% 1,260,
# 4% 840; 調整控除 min(5万, 21,000) = 21,000 → 630 / 420: 1,050 in all, more than 451,000 − 450,000 = 1,000, so
# 附則第3条の3第2項 takes off 50, split 3:2 → 30 / 20; 600 / 400.
EXPECTED["NEAR_LIMIT"] = [
    L(S1, "給与所得", "salary_income", 0, "", "salary_income"),
    L(S1, "事業所得", "business_income", 451_000),
    L(S1, "合計所得金額", "total_income", 451_000, "", "income_aggregation"),
    L(S1, "総所得金額等", "gross_income", 451_000, "", "income_aggregation"),
    L(S2, "基礎控除", "deduction_basic", 430_000, "", "basic_deduction"),
    L(S2, "所得控除合計", "income_deductions", 430_000),
    L(S3, "課税総所得金額 (1,000円未満切捨て)", "taxable_income", 21_000, "", "rounding"),
    *_s4(0, 450_000, 1, 450_000, "課税"),
    L(S5, "人的控除額の差の合計額", "personal_deduction_difference", 50_000, "", "personal_deduction_differences"),
    L(S5, "調整控除の基礎となる額", "adjustment_credit_base", 21_000, "", "adjustment_credit"),
    L(S5, "特別区民税 算出所得割", "income_levy_gross_municipal", 1_260, "6%", "income_levy_percent"),
    L(S5, "特別区民税 調整控除", "adjustment_credit_municipal", 630, "3%", "adjustment_credit_percent"),
    L(S5, "特別区民税 非課税限度額に係る調整 (附則第3条の3)", "near_limit_reduction_municipal", 30, "", "exemption"),
    L(S5, "特別区民税 所得割額 (100円未満切捨て)", "income_levy_municipal", 600, "", "rounding"),
    L(S5, "都民税 算出所得割", "income_levy_gross_prefectural", 840, "4%", "income_levy_percent"),
    L(S5, "都民税 調整控除", "adjustment_credit_prefectural", 420, "2%", "adjustment_credit_percent"),
    L(S5, "都民税 非課税限度額に係る調整 (附則第3条の3)", "near_limit_reduction_prefectural", 20, "", "exemption"),
    L(S5, "都民税 所得割額 (100円未満切捨て)", "income_levy_prefectural", 400, "", "rounding"),
    *_s6_s7(*WARD, 600, 3_000, 400, 1_000, 1_000),
]


# ----------------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", list(EXPECTED))
def test_the_sheet_shows_every_line_in_order_and_leaves_out_the_zero_ones(name):
    """The whole sheet of each person: what the operator reads, line by line (labels are the spec)."""
    assert _sheet(name) == EXPECTED[name]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_rule_line_carries_its_legal_basis(name):
    """根拠: the rate and per-capita lines cite the municipality's profile, every other rule the year's law."""
    row = _row(name)
    rules, profile = _rules_and_profile(row)
    law = BASIS_2025 if row["fiscal_year"] == 2025 else BASIS
    ordinance = PROFILE_BASIS[row["municipality_kind"]]
    for line in sheet_lines(row, rules, profile):
        expected = ordinance.get(line.rule) or law.get(line.rule, ())
        assert line.basis == expected, (line.name, line.rule)


def test_a_row_value_unknown_to_the_sheet_is_printed_as_it_is():
    """A 非課税 reason the sheet has no words for is shown as its code, not as 課税 (hand-edited row)."""
    row = {**_row("YURI"), "exemption_reason": "court_order"}
    rules, profile = _rules_and_profile(row)
    (verdict,) = [line for line in sheet_lines(row, rules, profile) if line.name == "exemption"]
    assert (verdict.label, verdict.amount, verdict.unit) == ("判定", "court_order", "")


def test_rates_print_as_percent_with_up_to_three_decimals():
    """Rates are kept in 1/100,000 (SCALE): 6,000 = 6%; 84,895 = 84.895% (特例控除); 2,025 = 2.025% (神奈川県)."""
    assert _rate(6_000) == "6%"
    assert _rate(84_895) == "84.895%"
    assert _rate(2_025) == "2.025%"
    assert _rate(90_000) == "90%"
    assert _rate(500) == "0.5%"
    assert _rate(100_000) == "100%"
    assert _rate(0) == "0%"
    assert _rate(None) == ""


# ---------------------------------------------------------------------- the rendered sheet (text)
def _cells(text: str) -> int:
    """Terminal width: a wide (全角) character takes two cells."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _printed(line: tuple) -> str:
    """One line as printed: two blanks, the label padded to 44 cells (at least one blank), the quantity and the
    amount right-aligned in 14 characters (yen with thousands separators), the unit, then the rule in brackets."""
    _, label, _, amount, quantity, rule, unit = line
    amount_text = f"{amount:,}" if isinstance(amount, int) else str(amount)
    text = ("  " + label + " " * max(44 - _cells(label), 1) + quantity.rjust(14) + " " + amount_text.rjust(14)
            + " " + unit).rstrip()
    return text + (f"   [{rule}]" if rule else "")


def _expected_text(head: list[str], lines: list[tuple], basis: dict | None) -> str:
    out = list(head)
    section, cited = None, set()
    for line in lines:
        if line[0] != section:
            section = line[0]
            out += ["", section]
        out.append(_printed(line))
        rule = line[5]
        if basis is not None and rule and rule not in cited and basis.get(rule):
            cited.add(rule)
            out.append("      根拠: " + basis[rule][0])
            out += ["            " + citation for citation in basis[rule][1:]]
    return "\n".join(out) + "\n"


def test_the_printed_sheet_of_a_ward_resident_with_its_sources():
    """`juminzei explain`: the header names the year, the ward and its rates and the birth date; every rule's
    根拠 is printed once, under the first line that uses it, one citation per line."""
    row = _row("YURI")
    rules, profile = _rules_and_profile(row)
    text = format_sheet(row, rules, profile, title="宛名番号 0000000001  ")
    head = [
        "個人住民税 税額計算明細 — 令和8年度 (fiscal year 2026; 所得 2025年分)",
        "宛名番号 0000000001",
        "団体: 港区 (special_ward); 税率 特別区民税 6% / 都民税 4%",
        "生年月日 2003-04-01 (年齢 22歳, 2025年12月31日現在)",
    ]
    assert text == _expected_text(head, EXPECTED["YURI"], {**BASIS, **WARD_BASIS})
    # two lines spelled out character by character
    assert "\n  給与所得" + " " * 36 + " " * 14 + " " + "     1,000,000 円   [salary_income]\n" in text
    assert "\n  判定" + " " * 40 + " " * 14 + " " + " " * 12 + "課税   [exemption]\n" in text
    assert text.count("根拠:") == len({line[5] for line in EXPECTED["YURI"] if line[5]})


def test_the_printed_sheet_of_a_city_resident_without_sources():
    """A kind's profile has no name: the header shows the kind. Without sources no 根拠 line is printed; no title,
    no blank header line."""
    row = _row("KURASHIKI")
    rules, profile = _rules_and_profile(row)
    text = format_sheet(row, rules, profile, with_sources=False)
    head = [
        "個人住民税 税額計算明細 — 令和7年度 (fiscal year 2025; 所得 2024年分)",
        "団体: city (city); 税率 市町村民税 6% / 道府県民税 4%",
        "生年月日 1979-06-01 (年齢 45歳, 2024年12月31日現在)",
    ]
    assert text == _expected_text(head, EXPECTED["KURASHIKI"], None)
    assert "根拠" not in text


def test_the_printed_sheet_without_a_birth_date_and_with_a_label_wider_than_the_column():
    """No birth date: no 生年月日 line. A label as wide as the column or wider is followed by one blank."""
    row = _row("NEAR_LIMIT")
    rules, profile = _rules_and_profile(row)
    text = format_sheet(row, rules, profile, title="入力 1 行目")
    head = [
        "個人住民税 税額計算明細 — 令和8年度 (fiscal year 2026; 所得 2025年分)",
        "入力 1 行目",
        "団体: 港区 (special_ward); 税率 特別区民税 6% / 都民税 4%",
    ]
    assert text == _expected_text(head, EXPECTED["NEAR_LIMIT"], {**BASIS, **WARD_BASIS})
    # 都民税 非課税限度額に係る調整 (附則第3条の3): 44 cells exactly; the 特別区民税 one is 48 cells
    assert "\n  都民税 非課税限度額に係る調整 (附則第3条の3) " + " " * 14 + " " + " " * 12 + "20 円   [exemption]\n" in text
    assert "\n  特別区民税 非課税限度額に係る調整 (附則第3条の3) " + " " * 14 + " " + " " * 12 + "30 円   [exemption]\n" in text


def test_the_printed_sheet_of_a_designated_city_and_of_a_2025_pensioner():
    """The designated city's and 令和7年度's wording and rates, and the pensioner's age, as printed."""
    for name, basis, head in (
        ("OSAKA", {**BASIS, **DESIGNATED_CITY_BASIS}, [
            "個人住民税 税額計算明細 — 令和8年度 (fiscal year 2026; 所得 2025年分)",
            "団体: designated_city (designated_city); 税率 市民税 8% / 道府県民税 2%",
            "生年月日 1979-04-01 (年齢 46歳, 2025年12月31日現在)"]),
        ("GIFU", {**BASIS_2025, **CITY_BASIS}, [
            "個人住民税 税額計算明細 — 令和7年度 (fiscal year 2025; 所得 2024年分)",
            "団体: city (city); 税率 市町村民税 6% / 道府県民税 4%",
            "生年月日 1954-06-01 (年齢 70歳, 2024年12月31日現在)"]),
    ):
        row = _row(name)
        rules, profile = _rules_and_profile(row)
        assert format_sheet(row, rules, profile) == _expected_text(head, EXPECTED[name], basis), name
