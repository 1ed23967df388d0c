"""Every figure record_merge derives from a 給与支払報告書, checked on reports written here by hand.

The 統一CSV lines are built field by field from the column positions of the 給与支払報告書（個人別明細書）
(docs/sources.md F1.2 #n for columns 1–90, F1.3 col n for the later ones; the positions are written out
below, not read from contracts/layouts, so a layout that moved a column is caught too), parsed by the real
parser (transforms.parse_csv) and merged by transforms.record_merge. Each expected value is worked out by
hand in the test from the rule it cites; none is read back from the code under test.

Income year 令和7年 (2025) → 年度2026.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from transforms.parse_csv import parse_csv_document
from transforms.record_merge import merge_records

FY = 2026
FOLDER = f"salary_report/municipality=131032/fiscal_year={FY}"

# Column positions (1-based) of the 統一CSV 給与支払報告書, from docs/sources.md F1.2 / F1.3.
DOCUMENT_TYPE = 1          # 法定資料の種類 (315)
PAYER_ADDRESS = 4
PAYER_NAME = 5
SUBMISSION_TYPE = 10       # 提出区分 0 新規
INCOME_YEAR = 11           # 年分 (令和 yy)
RECIPIENT_ADDRESS = 12
RECIPIENT_NAME = 14
PAYMENT = 17               # 支払金額
SALARY_INCOME = 19         # 給与所得控除後の給与等の金額
INCOME_DEDUCTIONS = 20     # 所得控除の額の合計額
SOCIAL_INSURANCE = 36      # 社会保険料等の金額 (小規模企業共済等掛金を含む)
SMALL_ENTERPRISE = 37      # 上の内訳 小規模企業共済等掛金
EARTHQUAKE_DEDUCTION = 39  # 地震保険料の控除額 (所得税: 地震保険料 + 旧長期損害保険料 の控除額)
HOUSING_CREDIT = 40        # 住宅借入金等特別控除の額 (applied against 所得税)
OLD_PRIVATE_PENSION = 41   # 旧個人年金保険料の金額
OLD_LONG_TERM = 43         # 旧長期損害保険料の金額
BIRTH_ERA, BIRTH_YY, BIRTH_MM, BIRTH_DD = 44, 45, 46, 47
OTSU = 50                  # 乙欄適用
SELF_SPECIAL_DISABLED = 51
SELF_OTHER_DISABLED = 52
WIDOW = 54
WORKING_STUDENT = 56
MOVE_IN_YY, MOVE_IN_MM, MOVE_IN_DD = 74, 75, 76   # 住宅借入金等特別控除等適用家屋居住年月日（1回目）, no era code
HOUSING_CREDIT_POSSIBLE = 78                       # 住宅借入金等特別控除可能額
NEW_LIFE, OLD_LIFE, CARE_MEDICAL, NEW_PRIVATE_PENSION = 87, 88, 89, 90
RECIPIENT_KANA = 137
EMPLOYEE_NO = 138
DESTINATION = 139          # 提出先市町村コード (131032 港区, check digit 2)
DESIGNATION_NO = 140
SINGLE_PARENT = 143
CREATION_TYPE = 147
FIELD_COUNT = 147


def salary_line(employee_no: str, **values: int | str) -> str:
    """One 統一CSV record: a sound header part for 港区 plus ``values`` keyed by the column constants
    above (e.g. ``salary_line("1", PAYMENT=3_000_000)``)."""
    fields = [""] * FIELD_COUNT
    base = {
        DOCUMENT_TYPE: "315", PAYER_ADDRESS: "東京都港区芝公園１－５－２５", PAYER_NAME: "株式会社手書き商事",
        SUBMISSION_TYPE: "0", INCOME_YEAR: "07", RECIPIENT_ADDRESS: "東京都港区六本木１－１－１",
        RECIPIENT_NAME: "港　太郎", PAYMENT: "0", BIRTH_ERA: "1", BIRTH_YY: "55", BIRTH_MM: "06", BIRTH_DD: "15",
        RECIPIENT_KANA: "ﾐﾅﾄ ﾀﾛｳ", EMPLOYEE_NO: employee_no, DESTINATION: "131032", DESIGNATION_NO: "000000001234",
        CREATION_TYPE: "1",
    }
    named = {globals()[name]: value for name, value in values.items()}
    for position, value in {**base, **named}.items():
        fields[position - 1] = str(value)
    return ",".join(fields)


def staged_reports(lines: list[tuple[str, str]], file: str = "20260131_kyuyo_000000001234_001.csv") -> pl.DataFrame:
    """Parse the hand-written lines as one delivered file and stage them as matched to ``atena_no``
    (``lines`` = [(atena_no, line)]), the way returns_ingest leaves a current, auto-matched report."""
    data = ("\r\n".join(line for _, line in lines) + "\r\n").encode("cp932")
    parsed = parse_csv_document(data, "salary_report", file=f"{FOLDER}/{file}")
    assert parsed.quarantine.height == 0, parsed.quarantine.to_dicts()
    assert parsed.records.height == len(lines)
    owners = pl.DataFrame({"record_no": list(range(1, len(lines) + 1)), "atena_no": [a for a, _ in lines]},
                          schema={"record_no": pl.Int64, "atena_no": pl.String})
    return parsed.records.join(owners, on="record_no", validate="1:1").with_columns(
        pl.concat_str([pl.col("file"), pl.lit("#"), pl.col("record_no").cast(pl.String)]).alias("doc_uid"),
        pl.lit("stage").alias("route"), pl.lit("auto").alias("match_decision"), pl.lit(True).alias("is_current"),
        pl.lit("current").alias("history_status"), pl.lit(1, pl.Int64).alias("version"),
        pl.lit(date(2026, 1, 31)).alias("received_on"),
    )


def merge(atena_nos: list[str], salary: pl.DataFrame, etax: pl.DataFrame | None = None):
    from tests.unit.test_record_merge import ETAX, FURUSATO, PENSION, RR, _frame, _residents

    rr = _frame([], RR).with_columns(pl.col("spouse_birth_on").cast(pl.Date),
                                     *[pl.col(f"dependant_{k}_birth_on").cast(pl.Date) for k in range(1, 5)])
    return merge_records(
        fiscal_year=FY,
        residents=_residents([{"atena_no": a, "household_no": f"H{a}"} for a in atena_nos]),
        disability_status=pl.DataFrame(schema={"atena_no": pl.String, "special_disability": pl.Boolean}),
        welfare_status=pl.DataFrame(schema={"atena_no": pl.String, "assisted_on_assessment_date": pl.Boolean}),
        salary_reports=salary, pension_reports=_frame([], PENSION),
        etax_returns=etax if etax is not None else _frame([], ETAX),
        resident_returns=rr, furusato_notices=_frame([], FURUSATO),
        review_queue=pl.DataFrame(schema={"doc_uid": pl.String, "source": pl.String, "candidate_atena_no": pl.String}),
        dependant_income_limit=580_000,
    )


def basis_row(result, atena_no: str) -> dict:
    (row,) = result.basis.filter(pl.col("person_id") == atena_no).to_dicts()
    return row


# ------------------------------------------------------------------------------- 住宅借入金等特別控除
def test_housing_loan_figures_from_the_primary_report():
    """住宅借入金等特別税額控除 (地方税法附則第5条の4の2) needs three figures from the 給与支払報告書:

    * 所得税で控除しきれなかった額 = 住宅借入金等特別控除可能額 (col 78) − 住宅借入金等特別控除の額 (col 40).
      Hand-built: 支払金額 6,000,000 → 給与所得 4,360,000 (所得税法第28条, 別表第五 above: × 80% − 44万);
      所得控除 1,234,567 → 課税総所得金額 3,125,433 → 3,125,000 (国税通則法第118条第1項, 1,000円未満切捨て);
      所得税 3,125,000 × 10% − 97,500 = 215,000 is all the credit can take of 可能額 250,000:
      col 40 = 215,000, unused 35,000.
    * the cap base, 所得税の課税総所得金額等 = 3,125,000 (as above);
    * the move-in date (cols 74–76, 和暦 without an era code): 30/10/01 → 平成30年10月1日 = 2018-10-01.
    """
    line = salary_line("1", PAYMENT=6_000_000, SALARY_INCOME=4_360_000, INCOME_DEDUCTIONS=1_234_567,
                       HOUSING_CREDIT_POSSIBLE=250_000, HOUSING_CREDIT=215_000,
                       MOVE_IN_YY="30", MOVE_IN_MM="10", MOVE_IN_DD="01")
    row = basis_row(merge(["A"], staged_reports([("A", line)])), "A")
    assert row["housing_loan_unused_income_tax_credit"] == 35_000
    assert row["housing_loan_taxable_income_for_income_tax"] == 3_125_000
    assert row["housing_moved_in"] == date(2018, 10, 1)
    assert row["salary_revenue"] == 6_000_000 and row["basis_source"] == "information_returns"


@pytest.mark.parametrize(
    "yy,mm,dd,moved_in",
    [
        ("30", "10", "01", date(2018, 10, 1)),   # 平成30年 = 1988 + 30
        ("31", "04", "30", date(2019, 4, 30)),   # 平成31年4月30日: the last day of 平成
        ("01", "05", "01", date(2019, 5, 1)),    # 令和元年5月1日 = 2018 + 1
        ("26", "04", "01", date(2014, 4, 1)),    # 平成26年4月: the first month of the 8% 特定取得 period
        ("25", "12", "31", date(2013, 12, 31)),  # 平成25年
        ("07", "12", "31", date(2025, 12, 31)),  # 令和7年: the income year itself
        ("08", "01", "15", date(1996, 1, 15)),   # 8 > 令和7: read as 平成8年 (the docstring of housing_move_in_date)
    ],
)
def test_move_in_year_is_read_in_the_era_it_belongs_to(yy, mm, dd, moved_in):
    """Cols 74–76 hold 年 as a 2-digit 和暦 year with no era code (F1.2 #74). 令和N年 = 2018 + N
    (元号を改める政令, 平成31年政令第143号: 令和元年 = 2019), 平成N年 = 1988 + N (平成元年 = 1989). A year up to
    the 令和 year of the income year (7 for 2025) is 令和, a larger one 平成."""
    line = salary_line("1", PAYMENT=5_000_000, SALARY_INCOME=3_560_000, INCOME_DEDUCTIONS=1_000_000,
                       HOUSING_CREDIT_POSSIBLE=100_000, HOUSING_CREDIT=60_000,
                       MOVE_IN_YY=yy, MOVE_IN_MM=mm, MOVE_IN_DD=dd)
    assert basis_row(merge(["A"], staged_reports([("A", line)])), "A")["housing_moved_in"] == moved_in


def test_housing_loan_figures_only_from_the_primary_employer_and_only_with_a_loan():
    """The 年末調整 (and so the 住宅借入金等特別控除) is done only by the 主たる給与 payer (所得税法第190条): the
    乙欄 report's 所得 figures are not a 課税総所得金額. Without a 可能額 (col 78 empty) there is no credit to
    carry over and no date to read, even when cols 19/20 are filled."""
    primary = salary_line("1", PAYMENT=4_000_000, SALARY_INCOME=2_760_000, INCOME_DEDUCTIONS=900_000,
                          HOUSING_CREDIT_POSSIBLE=120_000, HOUSING_CREDIT=80_000, MOVE_IN_YY="04", MOVE_IN_MM="03",
                          MOVE_IN_DD="20")
    secondary = salary_line("2", PAYMENT=4_500_000, OTSU="1", SALARY_INCOME=3_000_000, INCOME_DEDUCTIONS=0)
    no_loan = salary_line("3", PAYMENT=3_000_000, SALARY_INCOME=2_020_000, INCOME_DEDUCTIONS=800_000)
    result = merge(["A", "B"], staged_reports([("A", primary), ("A", secondary), ("B", no_loan)]))
    a, b = basis_row(result, "A"), basis_row(result, "B")
    # A: 2,760,000 − 900,000 = 1,860,000 (already a multiple of 1,000); 120,000 − 80,000 = 40,000; 令和4年 = 2022.
    assert (a["housing_loan_unused_income_tax_credit"], a["housing_loan_taxable_income_for_income_tax"]) == (40_000, 1_860_000)
    assert a["housing_moved_in"] == date(2022, 3, 20)
    assert a["salary_revenue"] == 4_000_000 + 4_500_000 and a["salary_payers"] == 2
    assert a["primary_salary_doc_uid"].endswith("#1")  # the 甲欄 report, although the 乙欄 one pays more
    assert (b["housing_loan_unused_income_tax_credit"], b["housing_loan_taxable_income_for_income_tax"]) == (0, 0)
    assert b["housing_moved_in"] is None


# -------------------------------------------------------------------------------- 地震保険料 / 旧長期
@pytest.mark.parametrize(
    "reported,old_long_term,earthquake",
    [
        # 地震保険料 30,000 + 旧長期 16,000: 所得税 旧長期 16,000 × ½ + 5,000 = 13,000 → col 39 = 43,000
        (43_000, 16_000, 30_000),
        # 地震保険料 20,000 + 旧長期 8,000 (≤ 10,000: in full) → col 39 = 28,000
        (28_000, 8_000, 20_000),
        # 地震保険料 1,000 + 旧長期 25,000 (> 20,000: 15,000) → col 39 = 16,000
        (16_000, 25_000, 1_000),
        # 地震保険料 40,000 and no 旧長期 → col 39 = 40,000
        (40_000, 0, 40_000),
    ],
)
def test_earthquake_premium_is_the_reported_deduction_without_the_old_long_term_part(reported, old_long_term, earthquake):
    """Col 39 地震保険料の控除額 is the 所得税 deduction (所得税法第77条): 地震保険料 (up to 50,000 in full) plus
    the 旧長期損害保険料 deduction (premium ≤ 10,000 in full; ≤ 20,000: ½ + 5,000; above: 15,000; 所得税法等の
    一部を改正する法律 (平成18年法律第10号) 附則第10条第2項). The 住民税 deduction (地方税法第314条の2第1項第5号の3)
    is computed from the premiums with its own bands, so the basis must hold the 地震保険料 itself: col 39
    minus the 所得税 旧長期 deduction of col 43, and the 旧長期 premium (col 43) beside it."""
    line = salary_line("1", PAYMENT=3_000_000, EARTHQUAKE_DEDUCTION=reported, OLD_LONG_TERM=old_long_term)
    row = basis_row(merge(["A"], staged_reports([("A", line)])), "A")
    assert (row["earthquake_insurance"], row["old_long_term_casualty_insurance"]) == (earthquake, old_long_term)


def test_earthquake_figures_give_the_resident_tax_deduction_of_the_premiums():
    """From the basis of the first case above (地震保険料 30,000, 旧長期 16,000) the engine must give the 住民税
    地震保険料控除 of the true premiums: 30,000 × ½ = 15,000; 旧長期 16,000 > 15,000 → 10,000; together
    25,000 (at most 25,000). With 地震保険料 20,000 and 旧長期 8,000: 10,000 + (8,000 × ½ + 2,500 = 6,500) =
    16,500 — the code under test mistaking col 39 (28,000) for the premium would give 14,000 + 6,500 = 20,500."""
    from juminzei.calc import calculate

    line = salary_line("1", PAYMENT=3_000_000, EARTHQUAKE_DEDUCTION=28_000, OLD_LONG_TERM=8_000)
    row = basis_row(merge(["A"], staged_reports([("A", line)])), "A")
    data = {"fiscal_year": FY, "taxpayer": {"birth_date": "1980-06-15", "sex": "male"},
            "income": {"salary_revenue": row["salary_revenue"]},
            "paid": {"earthquake_insurance": row["earthquake_insurance"],
                     "old_long_term_casualty_insurance": row["old_long_term_casualty_insurance"]}}
    (result,) = calculate([data], detail=True)
    assert result["deduction_earthquake"] == 16_500


# ---------------------------------------------------------------------- the other amounts and the flags
def test_premiums_social_insurance_and_salary_are_read_and_summed():
    """社会保険料等の金額 (col 36) includes 小規模企業共済等掛金 (col 37, 内書): 社会保険料控除 (第314条の2第1項
    第3号) takes 36 − 37, 小規模企業共済等掛金控除 (第4号) takes 37. 生命保険料控除 (第5号) reads the premiums:
    新生命 col 87, 旧生命 col 88, 介護医療 col 89, 新個人年金 col 90, 旧個人年金 col 41. Without a return the
    basis sums the reports of all payers (支払金額, col 17; 地方税法第32条第2項・第313条第2項 → 所得税法第28条)."""
    first = salary_line("1", PAYMENT=3_000_000, SOCIAL_INSURANCE=450_000, SMALL_ENTERPRISE=60_000,
                        NEW_LIFE=80_000, OLD_LIFE=110_000, CARE_MEDICAL=30_000, NEW_PRIVATE_PENSION=70_000,
                        OLD_PRIVATE_PENSION=90_000)
    second = salary_line("2", PAYMENT=400_000, OTSU="1", SOCIAL_INSURANCE=20_000, NEW_LIFE=5_000)
    row = basis_row(merge(["A"], staged_reports([("A", first), ("A", second)])), "A")
    assert row["salary_revenue"] == 3_400_000
    assert row["social_insurance"] == (450_000 - 60_000) + 20_000
    assert row["small_enterprise_mutual_aid"] == 60_000
    assert (row["life_new_general"], row["life_old_general"], row["life_care_medical"],
            row["life_new_pension"], row["life_old_pension"]) == (85_000, 110_000, 30_000, 70_000, 90_000)
    assert row["salary_payers"] == 2 and row["n_salary_report"] == 2
    for column in ("public_pension_revenue", "business_income", "furusato_donations", "medical_expenses"):
        assert row[column] == 0, column


def test_personal_status_comes_from_the_primary_report():
    """本人 障害者 (col 51 特別障害者, col 52 その他; 第314条の2第1項第6号), 寡婦 (col 54 = 1; 第8号), ひとり親
    (col 143; 第8号の2) and 勤労学生 (col 56; 第9号) are what the 主たる給与 payer learned in the 年末調整
    (所得税法第194条 扶養控除等申告書); a 乙欄 report does not carry them."""
    lines = [
        ("B", salary_line("1", PAYMENT=2_000_000, SELF_OTHER_DISABLED="1", WORKING_STUDENT="1")),
        ("C", salary_line("2", PAYMENT=2_500_000, SELF_SPECIAL_DISABLED="1", SINGLE_PARENT="1")),
        ("D", salary_line("3", PAYMENT=2_200_000, WIDOW="1")),
        ("E", salary_line("4", PAYMENT=2_000_000)),
        ("E", salary_line("5", PAYMENT=300_000, OTSU="1", WIDOW="1", SELF_SPECIAL_DISABLED="1")),
    ]
    result = merge(["B", "C", "D", "E"], staged_reports(lines))
    got = {a: (r["disability"], r["widow"], r["single_parent"], r["working_student"])
           for a in "BCDE" for r in [basis_row(result, a)]}
    assert got == {
        "B": ("ordinary", False, False, True),
        "C": ("special", False, True, False),
        "D": ("none", True, False, False),
        "E": ("none", False, False, False),
    }


# ---------------------------------------------------------------------------------- 損失 not offset
def test_a_loss_on_a_return_is_set_to_zero_and_flagged():
    """A negative 事業・不動産・雑所得 on a 確定申告書 is a 損失: 損益通算 (所得税法第69条, followed for the 住民税
    by 地方税法第32条第2項・第313条第2項) is not applied by record_merge, so the category is 0 in the basis and
    the operator gets a ``loss_not_offset`` flag naming the return. A return without a loss gets no flag."""
    from tests.unit.test_record_merge import ETAX, _frame

    etax = _frame([
        {"doc_uid": "etax/a.xtx#1", "atena_no": "A", "income_business": -300_000, "revenue_salary": 4_000_000,
         "income_total": 2_460_000},
        {"doc_uid": "etax/b.xtx#1", "atena_no": "B", "income_real_estate": -50_000, "income_total": 0},
        {"doc_uid": "etax/c.xtx#1", "atena_no": "C", "income_misc_other": -1, "income_total": 0},
        {"doc_uid": "etax/d.xtx#1", "atena_no": "D", "income_business": 800_000, "income_total": 800_000},
    ], ETAX)
    empty_salary = staged_reports([("Z", salary_line("9", PAYMENT=1))]).head(0)
    result = merge(["A", "B", "C", "D"], empty_salary, etax=etax)
    flagged = result.flags.filter(pl.col("flag") == "loss_not_offset").sort("person_id")
    assert flagged.select("person_id", "related").rows() == [
        ("A", "etax/a.xtx#1"), ("B", "etax/b.xtx#1"), ("C", "etax/c.xtx#1")]
    assert basis_row(result, "A")["business_income"] == 0 and basis_row(result, "A")["salary_revenue"] == 4_000_000
    assert basis_row(result, "B")["real_estate_income"] == 0 and basis_row(result, "C")["misc_income"] == 0
    assert basis_row(result, "D")["business_income"] == 800_000
