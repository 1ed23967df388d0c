"""transforms.notices on hand-built frames: who a notice goes to, what it prints, who is held, the
発送連番, the 外字 report and the 回送 list (docs/notice-export.md, docs/layouts/)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from transforms import notices as n

RESIDENTS = pl.DataFrame({
    "atena_no": ["0000000001", "0000000002", "0000000003", "0000000004"],
    "name_kanji": ["港　一郎", "𠮷田　花子", "芝　三郎", "高輪　四郎"],
    "name_kana": ["ミナト　イチロウ", "ヨシダ　ハナコ", "シバ　サブロウ", "タカナワ　シロウ"],
    "postal_code": ["1080074", "1050011", "1070062", "1080071"],
    "address": ["東京都港区高輪一丁目１番１号", "東京都港区芝公園二丁目２番２号", "東京都港区南青山三丁目３番３号",
                "東京都港区白金台四丁目４番４号"],
    "address_detail": ["高輪ハイツ１０１号室", None, None, None],
    "birth_date": [date(1970, 1, 1)] * 4,
    "removal_date": [None] * 4,
    "destination_address": [None] * 4,
}, schema_overrides={"removal_date": pl.Date, "destination_address": pl.String})
MAILING = pl.DataFrame({
    "person_id": ["0000000003"], "addressee": ["青山　太郎様方"], "postal_code": ["5300001"],
    "address": ["大阪府大阪市北区梅田一丁目１番１号"], "address_detail": [None],
}, schema_overrides={"address_detail": pl.String})


def test_the_mailing_address_comes_before_the_residence_and_a_protected_person_has_no_address():
    out = n.addressees(RESIDENTS, MAILING, pl.Series(["0000000004"]))
    by = {r["person_id"]: r for r in out.iter_rows(named=True)}
    # no 送付先: the residence of the 1 January snapshot, with its 方書
    assert by["0000000001"]["address_basis"] == "residence"
    assert by["0000000001"]["addressee_address"] == "東京都港区高輪一丁目１番１号"
    assert by["0000000001"]["addressee_address_detail"] == "高輪ハイツ１０１号室"
    assert by["0000000001"]["taxpayer_address"] == "東京都港区高輪一丁目１番１号　高輪ハイツ１０１号室"
    # a registered 送付先: its name, postal code and address
    assert by["0000000003"]["address_basis"] == "mailing_address"
    assert (by["0000000003"]["addressee_name"], by["0000000003"]["addressee_postal_code"]) == ("青山　太郎様方", "5300001")
    # DV等支援措置: every address field is empty, the residence included
    protected = by["0000000004"]
    assert protected["protected"] is True
    assert [protected[c] for c in ("addressee_address", "addressee_postal_code", "addressee_name",
                                    "taxpayer_address", "address_basis")] == [None] * 5


def test_a_notice_number_is_the_year_the_kind_and_the_atena_no_never_twelve_digits():
    frame = pl.DataFrame({"person_id": ["0000000001"]})
    numbers = frame.select(n.notice_no(2026, "tax_notice").alias("a"), n.notice_no(2026, "special_collection").alias("b"))
    assert numbers.row(0) == ("202610000000001", "202620000000001")
    assert all(len(v) == 15 for v in numbers.row(0))


def _assessment(person_ids: list[str]) -> pl.DataFrame:
    rows = len(person_ids)
    money = {c: [0] * rows for c in n.FIGURES if not c.startswith("other_credits")}
    return pl.DataFrame({"person_id": person_ids, **money,
                         "levy_after_adjustment_municipal": [0] * rows, "levy_after_adjustment_prefectural": [0] * rows},
                        schema_overrides={c: pl.Int64 for c in money})


def test_the_computation_lines_add_up_the_other_credits_are_what_lies_between_the_adjusted_levy_and_the_levy():
    frame = _assessment(["0000000001"]).with_columns(
        pl.lit(108_180).alias("income_levy_gross_municipal"), pl.lit(1_500).alias("adjustment_credit_municipal"),
        pl.lit(106_680).alias("levy_after_adjustment_municipal"), pl.lit(106_600).alias("income_levy_municipal"))
    out = n.figures(frame).row(0, named=True)
    # 108,180 − 1,500 = 106,680 after the 調整控除; the 所得割 is 106,600: 80 yen of credits and rounding
    assert out["other_credits_municipal"] == 80
    assert out["income_levy_gross_municipal"] - out["adjustment_credit_municipal"] - out["other_credits_municipal"] \
        == out["income_levy_municipal"]


def _plan(rows: list[dict]) -> pl.DataFrame:
    base = {"ordinary_amount": 0, "salary_amount": 0, "pension_amount": 0, "pension_payer": None,
            "pension_first_year": None, "ordinary_reason": None, "salary_doc_uid": None, "salary_payer": None}
    return pl.DataFrame([{**base, **r} for r in rows], schema_overrides={
        "pension_payer": pl.String, "pension_first_year": pl.Boolean, "ordinary_reason": pl.String,
        "salary_doc_uid": pl.String, "salary_payer": pl.String})


def _slot(person: str, period: str, amount: int, route: str) -> dict:
    y, m = int(period[:4]), int(period[5:])
    return {"person_id": person, "period": period, "due_date": date(y, m, 28), "amount": amount, "route": route}


ORDINARY = ["2026-06", "2026-08", "2026-10", "2027-01"]
PROVISIONAL, MAIN = ["2026-04", "2026-06", "2026-08"], ["2026-10", "2026-12", "2027-02"]


def test_a_first_year_pensioners_ordinary_half_shares_the_periods_of_the_ordinary_route():
    """伊東市's first-year case (docs/installments.md): the half not withheld is paid by 普通徴収 in June and
    August; a person who also owes 普通徴収 on other income pays both on one notice, per 期."""
    plan = _plan([{"person_id": "0000000001", "ordinary_amount": 40_000, "pension_amount": 60_000,
                   "pension_payer": "001", "pension_first_year": True}])
    schedule = pl.DataFrame([
        _slot("0000000001", "2026-06", 10_000, "ordinary"), _slot("0000000001", "2026-08", 10_000, "ordinary"),
        _slot("0000000001", "2026-10", 10_000, "ordinary"), _slot("0000000001", "2027-01", 10_000, "ordinary"),
        _slot("0000000001", "2026-06", 15_000, "ordinary"), _slot("0000000001", "2026-08", 15_000, "ordinary"),
        _slot("0000000001", "2026-10", 10_000, "pension_main"), _slot("0000000001", "2026-12", 10_000, "pension_main"),
        _slot("0000000001", "2027-02", 10_000, "pension_main"),
    ])
    addressed = n.addressees(RESIDENTS, MAILING.clear(), pl.Series([], dtype=pl.String))
    out = n.tax_notices(_assessment(["0000000001"]), plan, schedule, addressed, fiscal_year=2026,
                        ordinary_periods=ORDINARY, provisional_periods=PROVISIONAL, main_periods=MAIN).row(0, named=True)
    assert [out[f"installment_{i}_amount"] for i in range(1, 5)] == [25_000, 25_000, 10_000, 10_000]
    assert out["ordinary_installments_total"] == 70_000  # 40,000 + the half of 60,000
    assert [out[f"main_{i}_amount"] for i in range(1, 4)] == [10_000] * 3
    assert out["provisional_1_amount"] is None
    assert out["installment_3_period"] == "2026-10" and out["notice_no"] == "202610000000001"


def test_a_continuing_pensioners_provisional_collection_above_this_years_amount_is_shown_as_an_overpayment():
    """仮徴収 = half of last year's pension tax in three (地方税法第321条の7の8第1項, 平準化): last year 98,600
    → 49,300 → 16,500 (April, with the 100円 fraction) + 16,400 + 16,400. This year's pension tax is 14,300:
    the 仮徴収 already exceeds it, so there is no 本徴収 and 49,300 − 14,300 = 35,000 is an overpayment
    (過誤納金) to refund or apply (第17条・第17条の2; 湖西市: 「払いすぎとなる方については差額をお返し
    (還付)」). A pensioner whose 仮徴収 stays below the amount, and a person without one, show 0."""
    plan = _plan([
        {"person_id": "0000000001", "pension_amount": 14_300, "pension_payer": "001", "pension_first_year": False},
        {"person_id": "0000000002", "pension_amount": 60_000, "pension_payer": "001", "pension_first_year": False},
        {"person_id": "0000000003", "ordinary_amount": 5_000},
    ])
    schedule = pl.DataFrame([
        _slot("0000000001", "2026-04", 16_500, "pension_provisional"),
        _slot("0000000001", "2026-06", 16_400, "pension_provisional"),
        _slot("0000000001", "2026-08", 16_400, "pension_provisional"),
        *[_slot("0000000002", p, 6_000, "pension_provisional") for p in PROVISIONAL],   # last year 36,000
        *[_slot("0000000002", p, 14_000, "pension_main") for p in MAIN],
        _slot("0000000003", "2026-06", 5_000, "ordinary"),
    ])
    addressed = n.addressees(RESIDENTS, MAILING.clear(), pl.Series([], dtype=pl.String))
    out = n.tax_notices(_assessment(["0000000001", "0000000002", "0000000003"]), plan, schedule, addressed,
                        fiscal_year=2026, ordinary_periods=ORDINARY, provisional_periods=PROVISIONAL,
                        main_periods=MAIN)
    assert out.select("person_id", "pension_provisional_excess").rows() == [
        ("0000000001", 35_000), ("0000000002", 0), ("0000000003", 0)]
    assert out.schema["pension_provisional_excess"] == pl.Int64 and "_provisional_total" not in out.columns
    first = out.row(0, named=True)
    assert [first[f"main_{i}_amount"] for i in range(1, 4)] == [None] * 3


def test_a_person_wholly_withheld_from_a_salary_gets_no_tax_notice():
    plan = _plan([{"person_id": "0000000001", "salary_amount": 120_000, "salary_payer": "A1", "salary_doc_uid": "d1"},
                  {"person_id": "0000000002", "ordinary_amount": 5_000}])
    schedule = pl.DataFrame([_slot("0000000002", "2026-06", 5_000, "ordinary")])
    addressed = n.addressees(RESIDENTS, MAILING, pl.Series([], dtype=pl.String))
    out = n.tax_notices(_assessment(["0000000001", "0000000002"]), plan, schedule, addressed, fiscal_year=2026,
                        ordinary_periods=ORDINARY, provisional_periods=PROVISIONAL, main_periods=MAIN)
    assert out["person_id"].to_list() == ["0000000002"]


REPORTS = pl.DataFrame({
    # two employees of the same name, two companies of the same name under different 指定番号, and a
    # person who changed jobs (two reports): the notice follows the report the plan names, nothing else
    "doc_uid": ["r1", "r2", "r3", "r4"],
    "designation_no": ["1000000001", "2000000002", "1000000001", "2000000002"],
    "employee_no": ["E1", "E2", "E3", "E4"],
    "payer_name": ["港商事株式会社", "港商事株式会社", "港商事株式会社", "港商事株式会社"],
    "payer_address": ["東京都港区芝一丁目", "大阪府大阪市北区", "東京都港区芝一丁目", "大阪府大阪市北区"],
    "is_current": [True] * 4, "received_on": [date(2026, 1, 31)] * 4, "file": ["f"] * 4, "record_no": [1, 2, 3, 4],
})
SUMMARIES = pl.DataFrame({
    "designation_no": ["1000000001", "2000000002"], "is_current": [True, True],
    "received_on": [date(2026, 1, 31)] * 2, "file": ["s1", "s2"], "record_no": [1, 1],
    "payer_name": ["港商事株式会社", "港商事株式会社"], "payer_postal_code": ["1050014", "5300001"],
    "payer_address": ["東京都港区芝一丁目", "大阪府大阪市北区"],
    "notice_method_employer": ["1", "2"], "notice_method_employee": [None, "2"],
})


@pytest.mark.parametrize("person, doc, designation", [
    ("0000000001", "r1", "1000000001"), ("0000000002", "r2", "2000000002"),   # same name, same company name
    ("0000000003", "r4", "2000000002"),                                         # job change: the later report
])
def test_a_special_collection_notice_goes_to_the_designation_number_of_the_report_the_plan_names(person, doc, designation):
    residents = RESIDENTS.with_columns(pl.lit("港　一郎").alias("name_kanji"))
    plan = _plan([{"person_id": person, "salary_amount": 12_000, "salary_doc_uid": doc, "salary_payer": designation}])
    schedule = pl.DataFrame([_slot(person, f"{2026 + (m < 6)}-{m:02d}", 1_000, "salary")
                             for m in (6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5)])
    addressed = n.addressees(residents, MAILING.clear(), pl.Series([], dtype=pl.String))
    out = n.special_collection_notices(_assessment([person]), plan, schedule, REPORTS, n.employers(SUMMARIES, REPORTS),
                                       addressed, fiscal_year=2026,
                                       salary_periods=[f"{2026 + (m < 6)}-{m:02d}" for m in (6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5)])
    row = out.row(0, named=True)
    assert (row["designation_no"], row["employee_no"]) == (designation, REPORTS.filter(pl.col("doc_uid") == doc)["employee_no"][0])
    assert row["employer_address"] == SUMMARIES.filter(pl.col("designation_no") == designation)["payer_address"][0]
    assert [row[f"month_{i:02d}_amount"] for i in range(1, 13)] == [1_000] * 12


def test_the_notice_method_comes_from_the_summary_sheet_and_a_designation_without_one_is_paper():
    reports = REPORTS.vstack(REPORTS.head(1).with_columns(pl.lit("3000000003").alias("designation_no"),
                                                          pl.lit("r5").alias("doc_uid")))
    out = {r["designation_no"]: r for r in n.employers(SUMMARIES, reports).iter_rows(named=True)}
    assert (out["1000000001"]["notice_method_employer"], out["1000000001"]["notice_method_employee"]) == ("paper", "paper")
    assert (out["2000000002"]["notice_method_employer"], out["2000000002"]["notice_method_employee"]) == ("eltax", "eltax")
    assert out["3000000003"]["notice_method_employer"] == "paper" and out["3000000003"]["employer_name"] == "港商事株式会社"


def test_every_notice_of_a_protected_person_is_held_and_a_notice_without_address_too():
    tax = pl.DataFrame({"person_id": ["0000000001", "0000000004", "0000000005"],
                        "notice_no": ["202610000000001", "202610000000004", "202610000000005"],
                        "protected": [False, True, False], "addressee_address": ["x", None, None],
                        "ordinary_amount": [1_000, 2_000, 3_000], "pension_amount": [0, 500, 0]})
    special = pl.DataFrame({"person_id": ["0000000004"], "notice_no": ["202620000000004"], "protected": [True],
                            "designation_no": ["1000000001"], "salary_amount": [12_000]})
    held = n.held_notices(tax, special)
    assert held.select("person_id", "notice_kind", "reason", "amount").rows() == [
        ("0000000004", "special_collection", "support_measures", 12_000),
        ("0000000004", "tax_notice", "support_measures", 2_500),
        ("0000000005", "tax_notice", "no_address", 3_000),
    ]


def test_the_dispatch_sequence_runs_in_postal_code_order():
    frame = pl.DataFrame({"postal": ["1080074", None, "1050011", "1050011"], "address": ["b", "z", "c", "a"]})
    out = n.dispatch_order(frame, "postal", "address")
    assert out.select("postal", "address", "dispatch_seq").rows() == [
        ("1050011", "a", 1), ("1050011", "c", 2), ("1080074", "b", 3), (None, "z", 4)]


def test_the_encoding_report_lists_each_character_cp932_cannot_hold_with_record_field_and_position():
    frame = pl.DataFrame({"notice_no": ["1", "2"], "name": ["𠮷田　花子", "港　一郎"], "address": ["𡈽屋方〜", "港区"]})
    shaped = n.cp932_form(frame)
    assert shaped["address"][0] == "𡈽屋方～"   # WAVE DASH becomes CP932's FULLWIDTH TILDE, not 外字
    report = n.unencodable_characters(shaped, "notice_no")
    assert report.rows() == [("1", "address", "𡈽", "U+2123D", 1), ("1", "name", "𠮷", "U+20BB7", 1)]
    replaced = n.replace_unencodable(shaped, report)
    assert replaced["name"][0] == "〓田　花子" and replaced["address"][0] == "〓屋方～"
    assert "".join(replaced["name"]).encode("cp932")  # now writable


def test_the_forwarding_list_takes_the_name_and_the_moved_to_address_of_a_former_resident():
    forwarding = pl.DataFrame({
        "destination_municipality_code": ["131130", None], "destination_basis": ["registry", None],
        "source": ["salary_report", "salary_report"], "file": ["f.csv", "f.csv"], "record_no": [3, 4],
        "doc_uid": ["d3", "d4"], "reason": ["moved_out_before_assessment_date", "address_outside_ward"],
        "atena_no": ["0000000001", None], "is_current": [True, True],
    })
    residents = RESIDENTS.with_columns(pl.lit(date(2025, 12, 1)).alias("removal_date"),
                                       pl.lit("東京都渋谷区宇田川町１番１号").alias("destination_address"))
    out = n.forwarding_lists(forwarding, residents)
    assert out.row(0, named=True)["name_kanji"] == "港　一郎"
    assert out.row(0, named=True)["moved_to_address"] == "東京都渋谷区宇田川町１番１号"
    assert out["destination_municipality_code"].to_list() == ["131130", None]


def test_a_designation_number_written_with_blanks_names_the_same_employer_as_the_plan():
    """The plan reads the 指定番号 without surrounding blanks (transforms.collection_plan); the notice
    must name the same employer, or a report written as "1000000001 " would look like another one."""
    reports = REPORTS.with_columns(pl.lit(" 1000000001 ").alias("designation_no"))
    summaries = SUMMARIES.with_columns(pl.lit("1000000001　".strip() + " ").alias("designation_no")).head(1)
    plan = _plan([{"person_id": "0000000001", "salary_amount": 12_000, "salary_doc_uid": "r1",
                   "salary_payer": "1000000001"}])
    months = [f"{2026 + (m < 6)}-{m:02d}" for m in (6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5)]
    schedule = pl.DataFrame([_slot("0000000001", p, 1_000, "salary") for p in months])
    addressed = n.addressees(RESIDENTS, MAILING.clear(), pl.Series([], dtype=pl.String))
    row = n.special_collection_notices(_assessment(["0000000001"]), plan, schedule, reports,
                                       n.employers(summaries, reports), addressed, fiscal_year=2026,
                                       salary_periods=months).row(0, named=True)
    assert row["designation_no"] == row["salary_payer"] == "1000000001"
    assert row["employer_postal_code"] == "1050014"  # found in the 総括表 despite the blanks
