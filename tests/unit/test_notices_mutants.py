"""transforms.notices: rules the mutation run of the notice modules found without a test (its surviving
mutants). Each test states its rule; every expected value is worked out by hand from the small frames built
here (docs/testing.md). A mutant that cannot change any result is argued as equivalent instead of tested."""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms import notices as n

RESIDENTS = pl.DataFrame({
    "atena_no": ["0000000001", "0000000002", "0000000003"],
    "name_kanji": ["港　一郎", "芝　花子", "高輪　三郎"],
    "name_kana": ["ミナト　イチロウ", "シバ　ハナコ", "タカナワ　サブロウ"],
    "postal_code": ["1080074", "1050011", "1080071"],
    "address": ["東京都港区高輪一丁目１番１号", "東京都港区芝公園二丁目２番２号", "東京都港区白金台三丁目３番３号"],
    "address_detail": [None, None, None],
    "birth_date": [date(1970, 1, 1)] * 3,
    "removal_date": [None, date(2025, 12, 1), None],
    "destination_address": [None, "東京都渋谷区宇田川町１番１号", None],
}, schema_overrides={"address_detail": pl.String, "removal_date": pl.Date, "destination_address": pl.String})
NO_MAILING = pl.DataFrame(schema={"person_id": pl.String, "addressee": pl.String, "postal_code": pl.String,
                                  "address": pl.String, "address_detail": pl.String})
NOBODY = pl.Series([], dtype=pl.String)

ORDINARY = ["2026-06", "2026-08", "2026-10", "2027-01"]          # 第1期〜第4期
PROVISIONAL, MAIN = ["2026-04", "2026-06", "2026-08"], ["2026-10", "2026-12", "2027-02"]


def _assessment(person_ids: list[str]) -> pl.DataFrame:
    rows = len(person_ids)
    money = {c: [0] * rows for c in n.FIGURES if not c.startswith("other_credits")}
    adjusted = {f"levy_after_adjustment_{lv}": [0] * rows for lv in ("municipal", "prefectural")}
    return pl.DataFrame({"person_id": person_ids, **money, **adjusted}, schema_overrides={c: pl.Int64 for c in money})


def _plan(rows: list[dict]) -> pl.DataFrame:
    base = {"ordinary_amount": 0, "salary_amount": 0, "pension_amount": 0, "pension_payer": None,
            "pension_first_year": None, "ordinary_reason": None, "salary_doc_uid": None, "salary_payer": None}
    return pl.DataFrame([{**base, **r} for r in rows], schema_overrides={
        "ordinary_amount": pl.Int64, "salary_amount": pl.Int64, "pension_amount": pl.Int64,
        "pension_payer": pl.String, "pension_first_year": pl.Boolean, "ordinary_reason": pl.String,
        "salary_doc_uid": pl.String, "salary_payer": pl.String})


def _slot(person: str, period: str, amount: int, route: str) -> dict:
    y, m = int(period[:4]), int(period[5:])
    return {"person_id": person, "period": period, "due_date": date(y, m, 28), "amount": amount, "route": route}


def _schedule(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"person_id": pl.String, "period": pl.String, "due_date": pl.Date,
                                      "amount": pl.Int64, "route": pl.String})


def _tax_notices(plan, schedule, *, person_ids, provisional=PROVISIONAL, residents=RESIDENTS):
    addressed = n.addressees(residents, NO_MAILING, NOBODY)
    return n.tax_notices(_assessment(person_ids), plan, schedule, addressed, fiscal_year=2026,
                         ordinary_periods=ORDINARY, provisional_periods=provisional, main_periods=MAIN)


# ----------------------------------------------------------------------------------------- addressees
def test_each_resident_has_one_addressee_row_even_if_the_mailing_frame_repeats_a_person():
    """One row per resident, so one notice each: two 送付先 rows for 0000000003 still give one addressee
    row for them (from a 送付先), and three rows for the three residents."""
    mailing = pl.DataFrame({
        "person_id": ["0000000003", "0000000003"], "addressee": ["青山　太郎様方", "青山　太郎様方"],
        "postal_code": ["5300001", "5300002"], "address": ["大阪府大阪市北区梅田一丁目１番１号", "大阪府大阪市北区梅田二丁目２番２号"],
        "address_detail": [None, None],
    }, schema_overrides={"address_detail": pl.String})
    out = n.addressees(RESIDENTS, mailing, NOBODY)
    assert out["person_id"].to_list() == ["0000000001", "0000000002", "0000000003"]
    assert out.row(2, named=True)["address_basis"] == "mailing_address"


# ----------------------------------------------------------------------------------------- 期別 (_wide)
def test_a_period_with_nothing_to_pay_is_empty_on_the_notice_and_the_later_periods_still_print():
    """A notice issued late pays in the 納期 still ahead (第319条の2第3項): nothing falls in 第1期, and the
    notice still prints 第2期〜第4期 (the layout: "empty when the 期 has nothing to pay")."""
    plan = _plan([{"person_id": "0000000001", "ordinary_amount": 30_000}])
    schedule = _schedule([_slot("0000000001", "2026-08", 10_000, "ordinary"),
                          _slot("0000000001", "2026-10", 10_000, "ordinary"),
                          _slot("0000000001", "2027-01", 10_000, "ordinary")])
    row = _tax_notices(plan, schedule, person_ids=["0000000001"]).row(0, named=True)
    assert [row[f"installment_1_{part}"] for part in ("period", "due_date", "amount")] == [None, None, None]
    # 第2期 is August 2026, due on the 28th (the fixture's day), 10,000 yen; 第3期 and 第4期 the same amount
    assert (row["installment_2_period"], row["installment_2_due_date"], row["installment_2_amount"]) == (
        "2026-08", date(2026, 8, 28), 10_000)
    assert [row[f"installment_{i}_amount"] for i in (3, 4)] == [10_000, 10_000]
    assert row["ordinary_installments_total"] == 30_000   # 3 × 10,000


def test_a_tax_notice_has_one_period_due_date_and_amount_per_slot_and_no_other_slot_columns():
    """Four 普通徴収 期, three 仮徴収 and three 本徴収 slots: exactly 4 + 3 + 3 groups of (period, due date,
    amount), numbered from 1, in slot order — no slot 0 and no slot after the last."""
    plan = _plan([{"person_id": "0000000001", "ordinary_amount": 4_000}])
    schedule = _schedule([_slot("0000000001", p, 1_000, "ordinary") for p in ORDINARY])
    out = _tax_notices(plan, schedule, person_ids=["0000000001"])
    slot_columns = [c for c in out.columns if c.split("_")[0] in ("installment", "provisional", "main")]
    expected = [f"{prefix}_{i}_{part}" for prefix, count in (("installment", 4), ("provisional", 3), ("main", 3))
                for i in range(1, count + 1) for part in ("period", "due_date", "amount")]
    assert slot_columns == expected
    assert [out.row(0, named=True)[f"installment_{i}_amount"] for i in range(1, 5)] == [1_000] * 4


def test_a_route_without_periods_adds_no_slot_columns_and_the_notice_is_still_built():
    """A group with no slots (a rule file without 仮徴収 months) gives no ``provisional_*`` column; the
    other groups are unchanged."""
    plan = _plan([{"person_id": "0000000001", "pension_amount": 30_000, "pension_payer": "001",
                   "pension_first_year": False}])
    schedule = _schedule([_slot("0000000001", p, 10_000, "pension_main") for p in MAIN])
    out = _tax_notices(plan, schedule, person_ids=["0000000001"], provisional=[])
    assert not [c for c in out.columns if c.startswith("provisional_")]
    assert [out.row(0, named=True)[f"main_{i}_amount"] for i in (1, 2, 3)] == [10_000] * 3


# ----------------------------------------------------------------------------------------- joins
def test_a_notified_person_with_no_address_still_gets_a_notice_which_goes_to_the_hold_queue():
    """Every person with a 普通徴収 amount gets a 納税通知書 (one each); one with nowhere to send it (not in
    the residents the addresses come from) keeps the notice, address empty, and the hold queue takes it
    with reason ``no_address`` — it is never silently dropped."""
    plan = _plan([{"person_id": "0000000001", "ordinary_amount": 5_000},
                  {"person_id": "0000000009", "ordinary_amount": 7_000}])
    schedule = _schedule([_slot("0000000001", "2026-06", 5_000, "ordinary"),
                          _slot("0000000009", "2026-06", 7_000, "ordinary")])
    tax = _tax_notices(plan, schedule, person_ids=["0000000001", "0000000009"])
    assert tax["person_id"].to_list() == ["0000000001", "0000000009"]
    stranded = tax.row(1, named=True)
    assert stranded["addressee_address"] is None and stranded["notice_no"] == "202610000000009"
    special = pl.DataFrame(schema={"person_id": pl.String, "notice_no": pl.String, "protected": pl.Boolean,
                                   "designation_no": pl.String, "salary_amount": pl.Int64})
    held = n.held_notices(tax, special)
    # 7,000 of 普通徴収 + 0 of 年金特別徴収
    assert held.select("person_id", "notice_kind", "reason", "amount").rows() == [
        ("0000000009", "tax_notice", "no_address", 7_000)]


def test_a_computation_line_the_assessment_leaves_empty_prints_as_zero():
    """A person without salary or pension has those lines empty in the assessment; the notice prints 0
    there, not an empty field (the lines must add up on paper)."""
    frame = _assessment(["0000000001"]).with_columns(
        pl.lit(None, pl.Int64).alias("salary_revenue"), pl.lit(None, pl.Int64).alias("public_pension_income"),
        pl.lit(3_000).alias("per_capita_levy_municipal"))
    out = n.figures(frame).row(0, named=True)
    assert (out["salary_revenue"], out["public_pension_income"], out["per_capita_levy_municipal"]) == (0, 0, 3_000)


# ----------------------------------------------------------------------------------------- hold queue
def test_the_hold_queue_is_ordered_by_person_then_kind():
    """Person 1's 納税通知書 (no address) comes before person 2's 特別徴収 notice although
    ``special_collection`` sorts before ``tax_notice``; within a person, ``special_collection`` first."""
    tax = pl.DataFrame({"person_id": ["0000000001", "0000000002"],
                        "notice_no": ["202610000000001", "202610000000002"],
                        "protected": [False, True], "addressee_address": [None, None],
                        "ordinary_amount": [4_000, 6_000], "pension_amount": [0, 0]})
    special = pl.DataFrame({"person_id": ["0000000002"], "notice_no": ["202620000000002"], "protected": [True],
                            "designation_no": ["1000000001"], "salary_amount": [12_000]})
    held = n.held_notices(tax, special)
    assert held.select("person_id", "notice_kind").rows() == [
        ("0000000001", "tax_notice"), ("0000000002", "special_collection"), ("0000000002", "tax_notice")]


# ----------------------------------------------------------------------------------------- 回送
FORWARDING = pl.DataFrame({
    # (destination, source, file, record) scrambled on purpose; d8 is not current (superseded)
    "doc_uid": ["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"],
    "destination_municipality_code": ["131130", "131130", None, "131130", "131041", "131130", "131130", "100000"],
    "destination_basis": ["registry", "registry", None, "etax_jan1_code", "registry", "registry", "registry",
                          "registry"],
    "source": ["salary_report", "salary_report", "etax_return", "etax_return", "salary_report", "salary_report",
               "salary_report", "salary_report"],
    "file": ["a.csv", "a.csv", "b.xtx", "z.xtx", "b.csv", "b.csv", "a.csv", "a.csv"],
    "record_no": [5, 2, 1, 9, 1, 1, 1, 1],
    "reason": ["moved_out_before_assessment_date"] * 8,
    "atena_no": ["0000000002", None, None, "0000000001", "0000000003", None, None, "0000000001"],
    "is_current": [True, True, True, True, True, True, True, False],
})


def test_the_forwarding_list_is_ordered_by_destination_then_source_file_and_record_unknown_destination_last():
    """Sorted by destination 団体コード (131041 before 131130), then the document: source (etax_return before
    salary_report), file (a.csv before b.csv), record number; a document with no known destination last."""
    out = n.forwarding_lists(FORWARDING, RESIDENTS)
    # 131041: d5 | 131130: etax_return z.xtx 9 (d4); salary_report a.csv 1, 2, 5 (d7, d2, d1), b.csv 1 (d6) | null: d3
    assert out["doc_uid"].to_list() == ["d5", "d4", "d7", "d2", "d1", "d6", "d3"]


def test_the_forwarding_list_carries_the_atena_no_of_each_document():
    """Each row keeps the 宛名番号 of its document (null when the document matched nobody), and the name
    and moved-to address of a former resident."""
    out = n.forwarding_lists(FORWARDING, RESIDENTS)
    by = {r["doc_uid"]: r for r in out.iter_rows(named=True)}
    assert {uid: by[uid]["atena_no"] for uid in by} == {
        "d1": "0000000002", "d2": None, "d3": None, "d4": "0000000001", "d5": "0000000003", "d6": None, "d7": None}
    assert (by["d1"]["name_kanji"], by["d1"]["moved_out_on"], by["d1"]["moved_to_address"]) == (
        "芝　花子", date(2025, 12, 1), "東京都渋谷区宇田川町１番１号")


def test_the_records_of_one_file_sort_by_record_number_as_a_number():
    """Four records of one file given in reverse order come out 1, 2, 3, 10 (a number, not text)."""
    forwarding = pl.DataFrame({
        "destination_municipality_code": ["131130"] * 4, "destination_basis": ["registry"] * 4,
        "source": ["salary_report"] * 4, "file": ["a.csv"] * 4, "record_no": [10, 3, 2, 1],
        "doc_uid": ["r10", "r3", "r2", "r1"], "reason": ["moved_out_before_assessment_date"] * 4,
        "atena_no": [None] * 4, "is_current": [True] * 4,
    }, schema_overrides={"atena_no": pl.String})
    out = n.forwarding_lists(forwarding, RESIDENTS)
    assert out["record_no"].to_list() == [1, 2, 3, 10]


# ----------------------------------------------------------------------------------------- 外字 report
REPORT_SCHEMA = {"notice_no": pl.String, "field": pl.String, "character": pl.String, "code_point": pl.String,
                 "position": pl.Int64}


def test_an_empty_encoding_report_still_has_its_five_columns():
    """No row, or no text column besides the key: the report is empty but keeps key, field, character,
    code_point and position (the vendor's encoding_report.csv keeps its header)."""
    no_rows = pl.DataFrame(schema={"notice_no": pl.String, "name": pl.String})
    only_key = pl.DataFrame({"notice_no": ["1", "2"], "amount": [1_000, 2_000]})
    for frame in (no_rows, only_key):
        report = n.unencodable_characters(frame, "notice_no")
        assert report.height == 0 and dict(report.schema) == REPORT_SCHEMA


def test_the_encoding_report_is_ordered_by_record_then_field_then_position():
    """Rows by 通知書番号, then field name, then position. 𠮷 𡈽 𠀋 𩸽 𠮟 鷗 are outside CP932."""
    frame = pl.DataFrame({
        "notice_no": ["2", "1"],
        "name": ["鷗𠮷", "港𩸽"],
        # record 1's address holds six 外字 in an order unrelated to their code points
        "address": ["𡈽", "港𠮟区𡈽𠀋町鷗𩸽𠮷"],
    })
    report = n.unencodable_characters(frame, "notice_no")
    assert report.select("notice_no", "field", "character", "position").rows() == [
        ("1", "address", "𠮟", 2), ("1", "address", "𡈽", 4), ("1", "address", "𠀋", 5), ("1", "address", "鷗", 7),
        ("1", "address", "𩸽", 8), ("1", "address", "𠮷", 9),
        ("1", "name", "𩸽", 2),
        ("2", "address", "𡈽", 1),
        ("2", "name", "鷗", 1), ("2", "name", "𠮷", 2),
    ]
    assert report.filter(pl.col("character") == "鷗")["code_point"].unique().to_list() == ["U+9DD7"]


# ----------------------------------------------------------------------------------------- 特別徴収義務者 (employers)
def _summaries(rows: list[tuple]) -> pl.DataFrame:
    """総括表 rows: (指定番号, current, received, file, record, name, postal code, address, 受取方法 employer, employee)."""
    return pl.DataFrame(rows, orient="row", schema={
        "designation_no": pl.String, "is_current": pl.Boolean, "received_on": pl.Date, "file": pl.String,
        "record_no": pl.Int64, "payer_name": pl.String, "payer_postal_code": pl.String, "payer_address": pl.String,
        "notice_method_employer": pl.String, "notice_method_employee": pl.String})


def _reports(rows: list[tuple]) -> pl.DataFrame:
    """個人別明細書 rows: (doc_uid, 指定番号, current, received, file, record, payer name, payer address, 受給者番号)."""
    return pl.DataFrame(rows, orient="row", schema={
        "doc_uid": pl.String, "designation_no": pl.String, "is_current": pl.Boolean, "received_on": pl.Date,
        "file": pl.String, "record_no": pl.Int64, "payer_name": pl.String, "payer_address": pl.String,
        "employee_no": pl.String})


JAN20, JAN31, FEB10 = date(2026, 1, 20), date(2026, 1, 31), date(2026, 2, 10)
NO_REPORTS = _reports([])
EMPLOYER_COLUMNS = ("designation_no", "employer_name", "employer_postal_code", "employer_address",
                    "notice_method_employer", "notice_method_employee")


def test_the_employers_name_and_address_come_from_its_latest_current_summary_by_date_then_file_then_record():
    """地方税法第317条の6第1項: the 総括表 received last is the employer's current one. Latest by received
    date (1000000001: 31 January beats 20 January although its file and record sort first), then by file
    (2000000002: b.csv after a.csv on the same day, although its record number is lower), then by record
    (3000000003: record 2 after record 1 in the same file, given first); a superseded one (is_current
    false) never counts even when received later (1000000001's 10 February row)."""
    summaries = _summaries([
        ("3000000003", True, JAN31, "a.csv", 2, "白金工業", "1080072", "東京都港区白金一丁目", "2", "2"),
        ("3000000003", True, JAN31, "a.csv", 1, "白金工業（前）", "1080073", "東京都港区白金二丁目", "1", "1"),
        ("1000000001", True, JAN20, "b.csv", 9, "高輪商事（旧）", "1080074", "東京都港区高輪一丁目", "1", "1"),
        ("1000000001", True, JAN31, "a.csv", 1, "高輪商事", "1080075", "東京都港区高輪二丁目", "2", "1"),
        ("1000000001", False, FEB10, "c.csv", 1, "高輪商事（取消）", "1080076", "東京都港区高輪三丁目", "1", "2"),
        ("2000000002", True, JAN31, "b.csv", 1, "芝産業", "1050011", "東京都港区芝公園一丁目", "1", "2"),
        ("2000000002", True, JAN31, "a.csv", 5, "芝産業（前）", "1050012", "東京都港区芝公園二丁目", "2", "1"),
    ])
    out = n.employers(summaries, NO_REPORTS)
    # 受取方法 "2" is eLTAX, "1" paper
    assert out.select(EMPLOYER_COLUMNS).rows() == [
        ("1000000001", "高輪商事", "1080075", "東京都港区高輪二丁目", "eltax", "paper"),
        ("2000000002", "芝産業", "1050011", "東京都港区芝公園一丁目", "paper", "eltax"),
        ("3000000003", "白金工業", "1080072", "東京都港区白金一丁目", "eltax", "eltax"),
    ]


def test_an_employer_known_only_from_its_reports_takes_its_latest_current_report_and_paper_notices():
    """A 指定番号 without a 総括表 takes the name and address of its latest current 個人別明細書 (received date,
    then file, then record, as for the 総括表), no postal code, and paper notices for both the employer and
    the employee copies. Its 指定番号 is read without surrounding blanks, as the plan reads it: "7000000007 "
    is 7000000007, and " 1000000001 " is the employer of the 総括表, not a second one."""
    summaries = _summaries([
        ("1000000001", True, JAN31, "s.csv", 1, "高輪商事", "1080075", "東京都港区高輪二丁目", "1", "1")])
    reports = _reports([
        ("r1", " 1000000001 ", True, FEB10, "z.csv", 1, "高輪商事（明細）", "東京都港区高輪九丁目", "E1"),
        ("r2", "4000000004", True, JAN20, "b.csv", 9, "麻布物産（旧）", "東京都港区麻布一丁目", "E2"),
        ("r3", "4000000004", True, JAN31, "a.csv", 1, "麻布物産", "東京都港区麻布二丁目", "E3"),
        ("r4", "4000000004", False, FEB10, "c.csv", 1, "麻布物産（取消）", "東京都港区麻布三丁目", "E4"),
        ("r5", "5000000005", True, JAN31, "b.csv", 1, "赤坂興業", "東京都港区赤坂一丁目", "E5"),
        ("r6", "5000000005", True, JAN31, "a.csv", 5, "赤坂興業（前）", "東京都港区赤坂二丁目", "E6"),
        ("r7", "6000000006", True, JAN31, "a.csv", 2, "六本木開発", "東京都港区六本木一丁目", "E7"),
        ("r8", "6000000006", True, JAN31, "a.csv", 1, "六本木開発（前）", "東京都港区六本木二丁目", "E8"),
        ("r9", "7000000007 ", True, JAN31, "a.csv", 3, "青山企画", "東京都港区南青山一丁目", "E9"),
    ])
    out = n.employers(summaries, reports)
    assert out.select(EMPLOYER_COLUMNS).rows() == [
        ("1000000001", "高輪商事", "1080075", "東京都港区高輪二丁目", "paper", "paper"),
        ("4000000004", "麻布物産", None, "東京都港区麻布二丁目", "paper", "paper"),
        ("5000000005", "赤坂興業", None, "東京都港区赤坂一丁目", "paper", "paper"),
        ("6000000006", "六本木開発", None, "東京都港区六本木一丁目", "paper", "paper"),
        ("7000000007", "青山企画", None, "東京都港区南青山一丁目", "paper", "paper"),
    ]


# ----------------------------------------------------------------------------------------- 特別徴収税額決定通知書
SALARY_MONTHS = [f"{2026 + (m < 6)}-{m:02d}" for m in (6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5)]   # June … May
SALARY_REPORTS = _reports([
    ("r1", "1000000001", True, JAN31, "a.csv", 1, "高輪商事", "東京都港区高輪二丁目", "E1"),
    ("r2", "2000000002", True, JAN31, "a.csv", 2, "芝産業", "東京都港区芝公園一丁目", "E2"),
    ("r3", "2000000002", True, JAN31, "a.csv", 3, "芝産業", "東京都港区芝公園一丁目", "E3"),
])


def _salary(person: str, amount_each: int = 1_000) -> list[dict]:
    return [_slot(person, p, amount_each, "salary") for p in SALARY_MONTHS]


def _special(plan, schedule, *, person_ids, reports=SALARY_REPORTS, employer_rows=None, residents=RESIDENTS):
    addressed = n.addressees(residents, NO_MAILING, NOBODY)
    if employer_rows is None:
        employer_rows = n.employers(_summaries([]), reports)
    return n.special_collection_notices(_assessment(person_ids), plan, schedule, reports, employer_rows, addressed,
                                        fiscal_year=2026, salary_periods=SALARY_MONTHS)


def test_a_special_collection_notice_carries_the_persons_other_routes_beside_the_salary_amount():
    """The record keeps how the 年税額 splits: 給与特別徴収 60,000, 普通徴収 3,000 (other income paid by the
    person) and 年金特別徴収 12,000 — 75,000 in all — not only the salary part."""
    plan = _plan([{"person_id": "0000000001", "salary_amount": 60_000, "ordinary_amount": 3_000,
                   "pension_amount": 12_000, "salary_doc_uid": "r1", "salary_payer": "1000000001"}])
    row = _special(plan, _schedule(_salary("0000000001", 5_000)), person_ids=["0000000001"]).row(0, named=True)
    assert (row["salary_amount"], row["ordinary_amount"], row["pension_amount"]) == (60_000, 3_000, 12_000)
    assert "literal" not in row


def test_the_special_collection_notice_shows_twelve_months_june_to_may_an_absent_month_as_zero():
    """Twelve monthly amounts in the order June … May (地方税法第321条の5第1項); a month with no 特別徴収 (here
    June, April and May) is 0, never empty or 1; only the salary route counts (the 普通徴収 row of June is
    not a June withholding). July carries 5,800 (with the 端数), August … March 5,000 each: 5,800 + 8 × 5,000
    = 45,800, the annual amount."""
    plan = _plan([{"person_id": "0000000001", "salary_amount": 45_800, "ordinary_amount": 3_000,
                   "salary_doc_uid": "r1", "salary_payer": "1000000001"}])
    schedule = _schedule([_slot("0000000001", "2026-07", 5_800, "salary")]
                         + [_slot("0000000001", p, 5_000, "salary") for p in SALARY_MONTHS[2:10]]
                         + [_slot("0000000001", "2026-06", 3_000, "ordinary")])
    row = _special(plan, schedule, person_ids=["0000000001"]).row(0, named=True)
    assert [row[f"month_{i:02d}_amount"] for i in range(1, 13)] == [0, 5_800] + [5_000] * 8 + [0, 0]
    assert not [c for c in row if c.startswith("month_") and c not in {f"month_{i:02d}_amount" for i in range(1, 13)}]


def test_two_salary_installments_of_one_month_are_added_up():
    """The month's amount is what the schedule withholds in that month: two rows of June (3,000 + 2,000)
    print as 5,000, the other eleven months 5,000 each (12 × 5,000 = 60,000)."""
    plan = _plan([{"person_id": "0000000001", "salary_amount": 60_000, "salary_doc_uid": "r1",
                   "salary_payer": "1000000001"}])
    schedule = _schedule([_slot("0000000001", "2026-06", 3_000, "salary"), _slot("0000000001", "2026-06", 2_000, "salary")]
                         + [_slot("0000000001", p, 5_000, "salary") for p in SALARY_MONTHS[1:]])
    row = _special(plan, schedule, person_ids=["0000000001"]).row(0, named=True)
    assert [row[f"month_{i:02d}_amount"] for i in range(1, 13)] == [5_000] * 12


def test_with_nobody_withheld_there_is_no_special_collection_notice_and_the_frame_keeps_its_month_columns():
    """A person with no salary withholding (all 普通徴収) gets no 特別徴収 notice; with nobody withheld the
    frame is empty but still has the person, the 指定番号 and the twelve month columns (the print files
    keep their header)."""
    plan = _plan([{"person_id": "0000000001", "ordinary_amount": 5_000}])
    out = _special(plan, _schedule([_slot("0000000001", "2026-06", 5_000, "ordinary")]), person_ids=["0000000001"])
    assert out.height == 0
    assert {"person_id", "designation_no", "employer_name"} | {f"month_{i:02d}_amount" for i in range(1, 13)} <= set(out.columns)
    assert out.schema["person_id"] == pl.String and out.schema["month_01_amount"] == pl.Int64


def test_special_collection_notices_are_ordered_by_designation_number_then_atena_no():
    """Notices by 指定番号 (an employer's notices together), then 宛名番号; the plan lists them in another
    order: 0000000003 (2000000002), 0000000002 (1000000001), 0000000001 (2000000002)."""
    plan = _plan([{"person_id": "0000000003", "salary_amount": 12_000, "salary_doc_uid": "r3", "salary_payer": "2000000002"},
                  {"person_id": "0000000002", "salary_amount": 12_000, "salary_doc_uid": "r1", "salary_payer": "1000000001"},
                  {"person_id": "0000000001", "salary_amount": 12_000, "salary_doc_uid": "r2", "salary_payer": "2000000002"}])
    schedule = _schedule(_salary("0000000003") + _salary("0000000002") + _salary("0000000001"))
    out = _special(plan, schedule, person_ids=["0000000001", "0000000002", "0000000003"])
    assert out.select("designation_no", "person_id").rows() == [
        ("1000000001", "0000000002"), ("2000000002", "0000000001"), ("2000000002", "0000000003")]


def test_every_withheld_person_keeps_a_notice_when_a_part_it_is_joined_with_is_missing():
    """One notice per person withheld from a salary, whatever the other frames lack: the missing part's
    fields stay empty, for the run's checks (``pipelines.notice_files.check``: one notice per withheld
    person, every notice to the 指定番号 of its report, every employer named) to report — a notice is never
    dropped silently. 0000000002's report r9 is unknown (no 指定番号, no employer); 0000000003's 指定番号
    9000000009 has no employer row; 0000000004 has no address; 0000000005 no assessment row; 0000000006 no
    monthly row in the schedule."""
    residents = pl.concat([RESIDENTS, RESIDENTS.head(2).with_columns(
        pl.Series("atena_no", ["0000000005", "0000000006"]))])            # 0000000004 is not a resident
    reports = SALARY_REPORTS.vstack(_reports([
        ("r4", "9000000009", True, JAN31, "a.csv", 4, "名無し", "どこか", "E4")]))
    employer_rows = n.employers(_summaries([]), reports).filter(pl.col("designation_no") != "9000000009")
    people = ["0000000001", "0000000002", "0000000003", "0000000004", "0000000005", "0000000006"]
    docs = {"0000000002": "r9", "0000000003": "r4"}
    plan = _plan([{"person_id": p, "salary_amount": 12_000, "salary_doc_uid": docs.get(p, "r1"),
                   "salary_payer": "1000000001"} for p in people])
    schedule = _schedule([s for p in people[:5] for s in _salary(p)])
    out = _special(plan, schedule, person_ids=[p for p in people if p != "0000000005"], reports=reports,
                   employer_rows=employer_rows, residents=residents)
    assert sorted(out["person_id"]) == people
    by = {r["person_id"]: r for r in out.iter_rows(named=True)}
    assert {p: by[p]["salary_amount"] for p in people} == dict.fromkeys(people, 12_000)
    assert (by["0000000002"]["designation_no"], by["0000000002"]["employer_name"]) == (None, None)
    assert (by["0000000003"]["designation_no"], by["0000000003"]["employer_name"]) == ("9000000009", None)
    assert (by["0000000004"]["taxpayer_name"], by["0000000004"]["employer_name"]) == (None, "高輪商事")
    assert (by["0000000005"]["total_tax"], by["0000000005"]["taxpayer_name"]) == (None, "港　一郎")
    assert by["0000000001"]["month_01_amount"] == 1_000 and by["0000000001"]["total_tax"] == 0
