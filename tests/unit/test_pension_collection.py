"""The ward's side of the 年金特徴 exchange (transforms/pension_collection.py), on hand-made frames.

Every expected amount is worked out here from the rules it follows, never read back from the code:
仮徴収 of the next 年度 = ½ of this 年度's pension-route tax, rounded down to 100円, in three payments each
rounded down to 100円 with the fraction in the first (地方税法第321条の7の8第1項; rules/installments
``pension_special_collection``); a withholding that stops moves every month from the stop on that was not
withheld to 普通徴収 (地方税法第321条の7の6). Every person is synthetic.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from transforms import pension_collection as pc
from transforms.matching import match_documents

N = 2026


def _records(rows: list[dict], notice_code: str, file: str, month: str = "2026-05") -> pl.DataFrame:
    """Data records in RECORD_SCHEMA, as transforms.pension_exchange_records would read them."""
    full = []
    for i, row in enumerate(rows, start=1):
        base = {c: None for c in pc.RECORD_SCHEMA}
        base.update(month=month, file=file, medium_serial_no="001", notice_code=notice_code, record_no=i,
                    created_date=date(2026, 5, 20), amount_1=0, amount_2=0, amount_3=0)
        base.update(row)
        full.append(base)
    return pl.DataFrame(full, schema=pc.RECORD_SCHEMA, orient="row")


def _target(payer: str, number: str, category: str, annual: int, **identity) -> dict:
    return {"payer_code": payer, "basic_pension_no": number, "pension_code": "1150", "category": category,
            "amount_1": annual, "birth_date": identity.get("birth_date", date(1950, 3, 3)), "sex": "1",
            "name_kana": identity.get("kana", "ﾐﾅﾄ ﾀﾛｳ"), "name_kanji": identity.get("kanji", "港 太郎"),
            "address_kanji": identity.get("address", "東京都港区芝公園一丁目1番1号")}


def _matches(pairs: dict[str, str | None]) -> pl.DataFrame:
    return pl.DataFrame({"doc_uid": list(pairs), "atena_no": list(pairs.values()),
                         "decision": ["auto" if a else "no_candidate" for a in pairs.values()],
                         "rule": ["four_info" if a else None for a in pairs.values()]},
                        schema={"doc_uid": pl.String, "atena_no": pl.String, "decision": pl.String, "rule": pl.String})


REGISTER = pl.DataFrame({"atena_no": ["0000000001"], "basic_pension_no": ["1234567890"], "pension_code": ["1150"],
                         "payer_code": ["999"], "previous_year_tax": [61_000]})


# ------------------------------------------------------------------------------------------ targets
def test_one_pension_per_person_the_japan_pension_service_first_and_the_register_gives_last_years_tax():
    # person 1: listed by 999 (continuing, in the register) and by a 共済 with a larger pension → 999 is kept
    # person 2: a 新規者 → previous_year_tax 0; person 3: continuing but unknown to the register; one unmatched
    targets = _records([
        _target("999", "1234567890", "02", 1_200_000),
        _target("700", "1234567890", "01", 2_400_000),
        _target("999", "2222222222", "01", 900_000),
        _target("594", "3333333333", "02", 1_500_000),
        _target("999", "4444444444", "01", 800_000),
    ], "00", "Z400_999_20260520_001.dta")
    f = "Z400_999_20260520_001.dta#"
    decided = pc.decide_targets(targets, _matches({f + "1": "0000000001", f + "2": "0000000001",
                                                   f + "3": "0000000002", f + "4": "0000000003", f + "5": None}),
                                REGISTER)
    got = {r["doc_uid"][-1]: r for r in decided.iter_rows(named=True)}
    assert got["1"]["withholding"] and got["1"]["previous_year_tax"] == 61_000
    assert got["2"]["not_withheld_reason"] == "another_pension"
    assert got["3"]["withholding"] and got["3"]["previous_year_tax"] == 0
    assert got["4"]["not_withheld_reason"] == "no_previous_record"
    assert got["5"]["not_withheld_reason"] == "not_matched" and got["5"]["atena_no"] is None
    persons = pc.notice_targets(decided)
    assert persons["person_id"].to_list() == ["0000000001", "0000000002"]
    assert persons["first_year"].to_list() == [False, True]


def test_the_basic_pension_number_of_the_register_is_verified_like_a_my_number():
    residents = pl.DataFrame({
        "atena_no": ["0000000001", "0000000002"], "name_kana": ["ミナト タロウ", "シバ ハナコ"],
        "alias_kana": [None, None], "name_kanji": ["港 太郎", "芝 花子"], "alias_kanji": [None, None],
        "birth_date": [date(1950, 3, 3), date(1952, 7, 7)], "sex": [1, 2],
        "address": ["東京都港区芝公園一丁目1番1号", "東京都港区芝二丁目2番2号"],
    })
    register = pl.DataFrame({"atena_no": ["0000000001", "0000000002"],
                             "basic_pension_no": ["1234567890", "5555555555"]})
    targets = _records([
        _target("999", "1234567890", "02", 1_200_000, address="東京都港区白金一丁目9番9号"),  # moved: the number decides
        _target("999", "5555555555", "02", 1_000_000),  # the number is 芝 花子's, the name and birth date are not
    ], "00", "f.dta")
    result = match_documents(pc.target_documents(targets), residents, pc.register_keys(register),
                             key="basic_pension_no")
    rows = {r["doc_uid"]: r for r in result.matches.iter_rows(named=True)}
    assert rows["f.dta#1"]["atena_no"] == "0000000001" and rows["f.dta#1"]["rule"] == "basic_pension_no_verified"
    assert rows["f.dta#2"]["decision"] == "review" and rows["f.dta#2"]["rule"] == "basic_pension_no_conflict"
    assert set(result.review_queue.filter(pl.col("doc_uid") == "f.dta#2")["reason"]) == {"basic_pension_no_conflict"}


def test_a_number_the_register_ties_to_two_persons_is_not_used():
    register = pl.DataFrame({"atena_no": ["0000000001", "0000000002", "0000000003"],
                             "basic_pension_no": ["1111111111", "1111111111", "2222222222"]})
    assert pc.register_keys(register).to_dicts() == [{"atena_no": "0000000003", "basic_pension_no": "2222222222"}]


# ------------------------------------------------------------------------------------------ requests
def test_the_request_carries_the_schedules_main_amounts_and_next_years_provisional_split():
    from transforms.installments import load_installment_rules, pension_amounts

    targets = _records([_target("999", "1234567890", "02", 1_200_000),
                        _target("999", "9999999999", "01", 700_000)], "00", "f.dta")
    decided = pc.decide_targets(targets, _matches({"f.dta#1": "0000000001", "f.dta#2": "0000000009"}), REGISTER)
    plan = pl.DataFrame({"person_id": ["0000000001", "0000000009"], "pension_amount": [61_000, 0],
                         "pension_payer": ["999", None]})
    # 本徴収 of a 61,000円 route after a 30,500円 仮徴収: 30,500 in three, 100円 shares, fraction first
    schedule = pl.DataFrame({"person_id": ["0000000001"] * 3, "route": ["pension_main"] * 3,
                             "period": ["2026-10", "2026-12", "2027-02"], "amount": [10_300, 10_100, 10_100]})
    rules = load_installment_rules(N + 1)
    provisional = pension_amounts(pl.lit(0, pl.Int64), pl.col("pension_amount"), pl.lit(False), rules, 100)
    requests, changes = pc.request_records(targets, decided, plan, schedule,
                                           dict(zip("abc", provisional["pension_provisional"], strict=True)))
    one = requests.filter(pl.col("basic_pension_no") == "1234567890").row(0, named=True)
    assert (one["category"], one["amount_1"], one["amount_2"], one["amount_3"]) == ("01", 10_300, 10_100, 10_100)
    other = requests.filter(pl.col("basic_pension_no") == "9999999999").row(0, named=True)
    assert (other["category"], other["amount_1"], other["amount_2"], other["amount_3"]) == ("03", 0, 0, 0)
    # next 年度: ½ × 61,000 = 30,500 → 10,100 × 2 and 10,300 first
    assert changes.select("atena_no", "category", "amount_1", "amount_2", "amount_3").rows() == [
        ("0000000001", "00", 10_300, 10_100, 10_100)]  # 61 各種区分 00 初期値 (codes.yaml category_61)
    # a month the schedule has no installment in is asked 0 (a small 本徴収 may not reach every month)
    short, _ = pc.request_records(targets, decided, plan, schedule.filter(pl.col("period") == "2026-10"),
                                  dict(zip("abc", provisional["pension_provisional"], strict=True)))
    assert short.filter(pl.col("basic_pension_no") == "1234567890").select(
        "category", "amount_1", "amount_2", "amount_3").row(0) == ("01", 10_300, 0, 0)
    assert one["name_kanji"] == "港 太郎" and one["birth_date"] == date(1950, 3, 3)  # echoed from the 00 record
    # a person who has moved out of the ward keeps this 年度's 本徴収 (平成28年10月 reform) but is not asked next
    # 年度's 仮徴収: that 年度 is the new municipality's (賦課期日 1 January, 地方税法第318条)
    moved = pl.DataFrame({"atena_no": ["0000000001"], "change_date": [date(2026, 6, 30)]})
    next_year = dict(zip("abc", provisional["pension_provisional"], strict=True))
    requests_after, changes_after = pc.request_records(targets, decided, plan, schedule, next_year, moved_out=moved)
    assert requests_after.equals(requests) and changes_after.height == 0


# -------------------------------------------------------------------------------------- the ledger
def _schedule(rows: list[tuple[str, str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"person_id": pl.String, "route": pl.String, "period": pl.String,
                                      "amount": pl.Int64}, orient="row").with_columns(pl.lit("999").alias("payer"))


PERSONS = pl.DataFrame({"atena_no": ["0000000001", "0000000002", "0000000003"], "payer_code": ["999"] * 3,
                        "basic_pension_no": ["1111111111", "2222222222", "3333333333"], "pension_code": ["1150"] * 3})


def _requests(*atena: str) -> pl.DataFrame:
    return PERSONS.filter(pl.col("atena_no").is_in(list(atena))).with_columns(pl.lit("01").alias("category"))


def _result(number: str, category: str, withheld: int, not_withheld: int, paid: date, month: str) -> dict:
    return {"payer_code": "999", "basic_pension_no": number, "pension_code": "1150", "category": category,
            "amount_1": withheld, "amount_2": not_withheld, "event_date": paid, "month": month}


def test_the_ledger_sets_each_requested_month_against_its_result():
    schedule = _schedule([
        ("0000000001", "pension_provisional", "2026-04", 10_300), ("0000000001", "pension_main", "2026-10", 5_000),
        ("0000000002", "pension_main", "2026-10", 7_000), ("0000000002", "pension_main", "2026-12", 7_000),
        ("0000000003", "pension_main", "2026-10", 4_000),
    ])
    answers = _records([{"payer_code": "999", "basic_pension_no": "3333333333", "pension_code": "1150",
                         "result": "02"}], "02", "a.dta")
    results = pl.concat([
        _records([_result("1111111111", "00", 10_300, 0, date(2026, 4, 15), "2026-05")], "22", "m5.dta", "2026-05"),
        _records([_result("1111111111", "00", 4_000, 0, date(2026, 10, 15), "2026-11"),   # 1,000円 short: mismatch
                  _result("2222222222", "03", 3_000, 4_000, date(2026, 10, 15), "2026-11"),  # part withheld
                  _result("1111111111", "00", 9_999, 0, date(2026, 6, 15), "2026-11")],  # nothing was asked in June
                 "22", "m11.dta", "2026-11"),
    ])
    requested = pc.requested_months(schedule, _requests("0000000001", "0000000002", "0000000003"), answers)
    ledger = pc.withholding_ledger(requested, results, PERSONS)
    status = {(r["atena_no"], r["period"]): r["status"] for r in ledger.iter_rows(named=True)}
    assert status == {
        ("0000000001", "2026-04"): "withheld", ("0000000001", "2026-06"): "unexpected",
        ("0000000001", "2026-10"): "mismatch", ("0000000002", "2026-10"): "not_withheld",
        ("0000000002", "2026-12"): "pending", ("0000000003", "2026-10"): "refused",
    }


def test_a_stop_moves_every_month_from_it_on_that_was_not_withheld_and_each_month_once():
    schedule = _schedule([
        ("0000000002", "pension_provisional", "2026-08", 6_000),
        ("0000000002", "pension_main", "2026-10", 7_000), ("0000000002", "pension_main", "2026-12", 7_000),
        ("0000000002", "pension_main", "2027-02", 7_000),
        ("0000000003", "pension_main", "2026-10", 4_000), ("0000000003", "pension_main", "2026-12", 4_000),
    ])
    answers = _records([{"payer_code": "999", "basic_pension_no": "3333333333", "pension_code": "1150",
                         "result": "03"}], "02", "a.dta")
    results = _records([_result("2222222222", "00", 6_000, 0, date(2026, 8, 14), "2026-09"),
                        _result("2222222222", "03", 3_000, 4_000, date(2026, 10, 15), "2026-11")], "22", "r.dta", "2026-11")
    requested = pc.requested_months(schedule, _requests("0000000002", "0000000003"), answers)
    ledger = pc.withholding_ledger(requested, results, PERSONS)
    empty = pl.DataFrame(schema={"atena_no": pl.String, "payer_code": pl.String, "period": pl.String})
    moved = pc.moves(ledger, empty)
    # person 2: August withheld; October 4,000 short → stop; December and February not yet reported → moved
    # person 3: the insurer refused the request (資格喪失・差止) → every 本徴収 month moves
    assert moved.select("atena_no", "period", "amount", "stop_reason").rows() == [
        ("0000000002", "2026-10", 4_000, "collection_03"), ("0000000002", "2026-12", 7_000, "collection_03"),
        ("0000000002", "2027-02", 7_000, "collection_03"),
        ("0000000003", "2026-10", 4_000, "result_03"), ("0000000003", "2026-12", 4_000, "result_03"),
    ]
    again = pc.moves(ledger, moved.select("atena_no", "payer_code", "period"))
    assert again.height == 0


def test_a_mismatched_month_is_not_moved_before_the_insurer_answers():
    schedule = _schedule([("0000000001", "pension_main", "2026-10", 5_000)])
    results = _records([_result("1111111111", "03", 0, 4_000, date(2026, 10, 15), "2026-11")], "22", "r.dta", "2026-11")
    requested = pc.requested_months(schedule, _requests("0000000001"),
                                    _records([], "02", "none.dta"))
    ledger = pc.withholding_ledger(requested, results, PERSONS)
    assert ledger["status"].to_list() == ["mismatch"]
    empty = pl.DataFrame(schema={"atena_no": pl.String, "payer_code": pl.String, "period": pl.String})
    assert pc.moves(ledger, empty).height == 0


def test_a_result_without_a_payment_date_reports_the_even_month_before_its_arrival():
    frame = pl.DataFrame({"event_date": [None, date(2026, 10, 15)], "month": ["2027-01", "2026-11"]},
                         schema={"event_date": pl.Date, "month": pl.String})
    assert frame.select(pc.result_period(pl.col("event_date"), pl.col("month")))["event_date"].to_list() == [
        "2026-12", "2026-10"]


# ---------------------------------------------------------------------------------------------- files
def test_a_file_sent_again_with_a_higher_serial_supersedes_the_first():
    files = pl.DataFrame({
        "month": ["2027-01", "2027-01", "2027-01"],
        "file": ["Z422_999_20270110_001.dta", "Z422_999_20270110_002.dta", "Z422_700_20270110_001.dta"],
        "notice_code": ["22"] * 3, "payer_code": ["999", "999", "700"],
        "created_date": [date(2027, 1, 10)] * 3, "medium_serial_no": ["001", "002", "001"],
    })
    got = dict(pc.current_files(files).select("file", "superseded_by").iter_rows())
    assert got == {"Z422_999_20270110_001.dta": "Z422_999_20270110_002.dta", "Z422_999_20270110_002.dta": None,
                   "Z422_700_20270110_001.dta": None}


@pytest.mark.parametrize(("year", "first", "last"), [(2026, "2026-04", "2027-03"), (2027, "2027-04", "2028-03")])
def test_the_months_of_a_fiscal_year_run_from_april_to_march(year, first, last):
    months = pc.months_of_year(year)
    assert (len(months), months[0], months[-1], months[9]) == (12, first, last, f"{year + 1}-01")


def test_a_death_stops_the_withholding_from_its_month_and_moves_what_is_still_to_come():
    """A death on 20 November: the October payment was made before it (its result is still to come, it is
    not moved); December and February will not be paid to the deceased and move to 普通徴収. A person whose
    every month is withheld already has nothing to stop."""
    schedule = _schedule([
        ("0000000001", "pension_main", "2026-10", 5_000), ("0000000001", "pension_main", "2026-12", 5_000),
        ("0000000001", "pension_main", "2027-02", 5_000), ("0000000002", "pension_main", "2026-10", 3_000),
    ])
    results = _records([_result("2222222222", "00", 3_000, 0, date(2026, 10, 15), "2026-11")], "22", "r.dta", "2026-11")
    requested = pc.requested_months(schedule, _requests("0000000001", "0000000002"), _records([], "02", "n.dta"))
    ledger = pc.withholding_ledger(requested, results, PERSONS)
    deaths = pl.DataFrame({"atena_no": ["0000000001", "0000000002"], "change_date": [date(2026, 11, 20)] * 2})
    stops = pc.death_stops(ledger, deaths)
    assert stops.rows() == [("0000000001", "999", "2026-11", "change_01")]
    empty = pl.DataFrame(schema={"atena_no": pl.String, "payer_code": pl.String, "period": pl.String})
    moved = pc.moves(ledger, empty, stops=stops)
    assert moved.select("atena_no", "period", "amount", "stop_reason").rows() == [
        ("0000000001", "2026-12", 5_000, "change_01"), ("0000000001", "2027-02", 5_000, "change_01")]


def test_each_notice_sent_is_set_against_its_answer():
    """01 answered by 02, 41 by 42, 61 by 62, by the pension; an answer to nothing sent is flagged."""
    sent = pl.DataFrame({
        "notice_code": ["01", "01", "41", "61"], "payer_code": ["999"] * 4,
        "basic_pension_no": ["1111111111", "2222222222", "1111111111", "3333333333"], "pension_code": ["1150"] * 4,
        "atena_no": ["0000000001", "0000000002", "0000000001", "0000000003"],
        "file": ["Z401.dta", "Z401.dta", "Z441.dta", "Z461.dta"]})
    replies = pl.concat([
        _records([{"payer_code": "999", "basic_pension_no": "1111111111", "pension_code": "1150", "result": "00"},
                  {"payer_code": "999", "basic_pension_no": "2222222222", "pension_code": "1150", "result": "02"},
                  {"payer_code": "999", "basic_pension_no": "4444444444", "pension_code": "1150", "result": "00"}],
                 "02", "Z402.dta", "2026-08"),
        _records([{"payer_code": "999", "basic_pension_no": "1111111111", "pension_code": "1150", "result": "00"}],
                 "42", "Z442.dta", "2026-12"),
    ])
    got = {(r["notice_code"], r["basic_pension_no"]): r["status"] for r in pc.answered(sent, replies).iter_rows(named=True)}
    assert got == {("01", "1111111111"): "accepted", ("01", "2222222222"): "refused",
                   ("01", "4444444444"): "unsolicited", ("41", "1111111111"): "accepted",
                   ("61", "3333333333"): "pending"}


def test_an_operators_decision_settles_a_record_in_review_and_nothing_else():
    matches = pl.DataFrame({
        "doc_uid": ["f#1", "f#2", "f#3", "f#4"], "atena_no": [None, None, "0000000003", None],
        "decision": ["review", "review", "auto", "no_candidate"],
        "rule": ["four_info", "four_info", "four_info", None]},
        schema={"doc_uid": pl.String, "atena_no": pl.String, "decision": pl.String, "rule": pl.String})
    decisions = pl.DataFrame({"item_key": ["f#1", "f#2", "f#3"], "decision": ["person", "none", "person"],
                              "target": ["0000000001", None, "0000000009"], "decision_id": ["a", "b", "c"]})
    got = pc.apply_review_decisions(matches, decisions).rows()
    assert got == [("f#1", "0000000001", "auto", "review_decision"),     # この人
                   ("f#2", None, "no_candidate", "review_decision"),      # 該当者なし
                   ("f#3", "0000000003", "auto", "four_info"),            # not in review any more: unchanged
                   ("f#4", None, "no_candidate", None)]


def test_a_switch_takes_the_moved_months_out_of_the_pension_route_and_into_the_ordinary_one():
    """The 納税通知書 (変更) of a November switch: P's October, December and February 本徴収 (5,000 each) were not
    withheld; they leave the pension route (30,000 → 15,000, 仮徴収 kept) and join 普通徴収 (30,000 → 45,000) as
    the switch installment of January beside June's four 期. Q's whole pension route moved: no route, no
    特別徴収義務者 is left. R moved in another month and gets no notice now."""
    plan = pl.DataFrame({
        "person_id": ["P", "Q", "R"], "total_tax": [60_000, 10_000, 8_000], "salary_amount": [0, 0, 0],
        "pension_amount": [30_000, 10_000, 8_000], "ordinary_amount": [30_000, 0, 0],
        "pension_payer": ["999", "700", "999"], "pension_first_year": [False, True, False]})
    rows = [("P", "ordinary", p, a, "ordinary") for p, a in
            (("2026-06", 9_000), ("2026-08", 7_000), ("2026-10", 7_000), ("2027-01", 7_000))]
    rows += [("P", "pension", p, 5_000, r) for p, r in
             (("2026-04", "pension_provisional"), ("2026-06", "pension_provisional"),
              ("2026-08", "pension_provisional"), ("2026-10", "pension_main"), ("2026-12", "pension_main"),
              ("2027-02", "pension_main"))]
    rows += [("Q", "pension", "2026-10", 10_000, "pension_main"), ("R", "pension", "2026-10", 8_000, "pension_main")]
    schedule = pl.DataFrame(rows, schema={"person_id": pl.String, "method": pl.String, "period": pl.String,
                                          "amount": pl.Int64, "route": pl.String}, orient="row").with_columns(
        pl.lit(0, pl.Int32).alias("sequence"), pl.lit(date(2026, 6, 30)).alias("due_date"),
        pl.when(pl.col("route") == "ordinary").then(pl.lit(None, pl.String)).otherwise(pl.lit("999")).alias("payer"))
    moves = pl.DataFrame({
        "atena_no": ["P", "P", "P", "Q", "R"], "payer_code": ["999", "999", "999", "700", "999"],
        "period": ["2026-10", "2026-12", "2027-02", "2026-10", "2026-10"], "route": ["pension_main"] * 5,
        "amount": [5_000, 5_000, 5_000, 10_000, 8_000],
        "month": ["2026-11", "2026-11", "2026-11", "2026-11", "2026-12"]})
    switch = pl.DataFrame({"month": ["2026-11", "2026-11", "2026-12"], "person_id": ["P", "Q", "R"],
                           "sequence": pl.Series([0, 0, 0], dtype=pl.Int32), "period": ["2027-01"] * 3,
                           "due_date": [date(2027, 2, 1)] * 3, "amount": [15_000, 10_000, 8_000]})
    new_plan, new_schedule = pc.switched_plan(plan, schedule, moves, switch, "2026-11")
    assert new_plan.select("person_id", "pension_amount", "ordinary_amount", "pension_payer",
                           "pension_first_year").rows() == [("P", 15_000, 45_000, "999", False),
                                                            ("Q", 0, 10_000, None, None)]
    p = new_schedule.filter(pl.col("person_id") == "P")
    ordinary = p.filter(pl.col("route") == "ordinary").sort("period", "amount")
    assert ordinary.select("period", "amount").rows() == [
        ("2026-06", 9_000), ("2026-08", 7_000), ("2026-10", 7_000), ("2027-01", 7_000), ("2027-01", 15_000)]
    assert int(ordinary["amount"].sum()) == 45_000
    assert p.filter(pl.col("route") == "pension_main").height == 0
    assert p.filter(pl.col("route") == "pension_provisional")["amount"].to_list() == [5_000] * 3
    assert set(new_schedule["person_id"]) == {"P", "Q"}
    assert new_schedule.filter(pl.col("route") == "ordinary")["payer"].null_count() == \
        new_schedule.filter(pl.col("route") == "ordinary").height
    # the switch installments are 普通徴収 of their own 期, listed by person, period and route like the rest
    assert new_schedule.filter(pl.col("amount").is_in([15_000, 10_000]) & (pl.col("period") == "2027-01")).select(
        "person_id", "method", "sequence", "due_date", "route").rows() == [
        ("P", "ordinary", 0, date(2027, 2, 1), "ordinary"), ("Q", "ordinary", 0, date(2027, 2, 1), "ordinary")]
    assert new_schedule.schema["payer"] == pl.String
    assert new_schedule.select("person_id", "period", "route").rows() == sorted(
        new_schedule.select("person_id", "period", "route").rows())


def test_each_addition_candidate_is_answered_once_as_not_withheld_with_its_own_identity():
    """追加候補者 (30) → 追加依頼通知 (31): one answer per candidate pension, the identity echoed as the insurer sent
    it, 各種区分 03 特別徴収非対象者 with amounts 0 (docs/pension-exchange.md); a pension answered in an earlier
    month is not answered again, and the newest record of a pension sent twice is the one echoed."""
    july = _records([_target("999", "1000000001", "01", 900_000),
                     _target("501", "1000000002", "01", 700_000, kanji="芝 花子")], "30", "Z430_a.dta", "2026-07")
    november = _records([_target("999", "1000000001", "02", 900_000, address="東京都港区三田一丁目2番3号"),
                         _target("999", "1000000003", "01", 500_000, kanji="麻布 一郎")], "30", "Z430_b.dta", "2026-11")
    records = pl.concat([july, november])
    added = pc.candidates(records, _matches({"Z430_a.dta#1": "000000000011", "Z430_a.dta#2": None,
                                              "Z430_b.dta#1": "000000000011", "Z430_b.dta#2": "000000000033"}))
    first = pc.addition_answers(july, added, None)
    assert first.select("payer_code", "basic_pension_no", "atena_no", "name_kanji", "category").rows() == [
        ("501", "1000000002", None, "芝 花子", "03"), ("999", "1000000001", "000000000011", "港 太郎", "03")]
    assert first.select(pl.sum_horizontal("amount_1", "amount_2", "amount_3")).to_series().to_list() == [0, 0]
    sent = first.with_columns(pl.lit("31").alias("notice_code"))
    later = pc.addition_answers(records, added, sent)
    assert later.select("basic_pension_no", "atena_no", "name_kanji").rows() == [
        ("1000000003", "000000000033", "麻布 一郎")]
    # nothing sent yet: the pension sent twice is answered once, with the newer (November) address
    both = pc.addition_answers(records, added, sent.filter(pl.lit(False)))
    assert both["basic_pension_no"].to_list() == ["1000000002", "1000000001", "1000000003"]
    assert both.filter(pl.col("basic_pension_no") == "1000000001")["address_kanji"].to_list() == [
        "東京都港区三田一丁目2番3号"]
    # an earlier 01 or 41 to the same pension is not an answer to the candidate
    assert pc.addition_answers(july, added, first.with_columns(pl.lit("41").alias("notice_code"))).height == 2


def test_a_move_out_before_the_next_assessment_day_withdraws_next_years_provisional_collection_once():
    """41 各種区分 02 転出 (codes.yaml category_41): for a pension whose 61 was sent and whose holder moved out
    before 1 January of the next 年度 — 異動年月日 the move, amounts 0; a move on or after 1 January keeps the
    person the ward's taxpayer next 年度 (賦課期日, 地方税法第318条), and a pension with a 41 already is not sent
    another."""
    identity = {c: None for c in pc.IDENTITY}
    sent = pl.DataFrame([
        {**identity, "notice_code": "61", "payer_code": "999", "basic_pension_no": "1000000001", "pension_code": "1150",
         "atena_no": "0000000001", "name_kanji": "港 太郎", "birth_date": date(1950, 3, 3), "category": "00",
         "amount_1": 10_300, "amount_2": 10_100, "amount_3": 10_100},
        {**identity, "notice_code": "61", "payer_code": "501", "basic_pension_no": "1000000002", "pension_code": "1150",
         "atena_no": "0000000002", "name_kanji": "芝 花子", "birth_date": date(1951, 4, 4), "category": "00",
         "amount_1": 5_200, "amount_2": 5_100, "amount_3": 5_100},
        {**identity, "notice_code": "61", "payer_code": "999", "basic_pension_no": "1000000003", "pension_code": "1150",
         "atena_no": "0000000003", "name_kanji": "麻布 一郎", "birth_date": date(1952, 5, 5), "category": "00",
         "amount_1": 3_400, "amount_2": 3_300, "amount_3": 3_300},
        {**identity, "notice_code": "41", "payer_code": "999", "basic_pension_no": "1000000003", "pension_code": "1150",
         "atena_no": "0000000003", "category": "01", "amount_1": 0, "amount_2": 0, "amount_3": 0},
    ], schema_overrides={"birth_date": pl.Date})
    moves = pl.DataFrame({"atena_no": ["0000000001", "0000000002", "0000000003", "0000000004"],
                          "change_date": [date(2026, 10, 15), date(2027, 1, 1), date(2026, 9, 1), date(2026, 8, 1)]})
    rows = pc.move_out_stops(sent, moves, date(2027, 1, 1))
    assert rows.select("payer_code", "basic_pension_no", "atena_no", "name_kanji", "category", "event_date").rows() == [
        ("999", "1000000001", "0000000001", "港 太郎", "02", date(2026, 10, 15))]
    assert rows.select(pl.sum_horizontal("amount_1", "amount_2", "amount_3")).item() == 0
    # the records sent carry 異動年月日 of their own (the 41 of a death) and a 61 may have gone twice (the
    # newer identity is echoed); two insurers' pensions come out by insurer, then 基礎年金番号
    more = pl.concat([sent.with_columns(pl.lit(None, pl.Date).alias("event_date")), pl.DataFrame([
        {**identity, "notice_code": "61", "payer_code": "999", "basic_pension_no": "1000000005", "pension_code": "1150",
         "atena_no": "0000000005", "name_kanji": "白金 一", "birth_date": date(1949, 1, 1), "category": "00",
         "amount_1": 1_000, "amount_2": 1_000, "amount_3": 1_000, "event_date": None},
        {**identity, "notice_code": "61", "payer_code": "501", "basic_pension_no": "1000000009", "pension_code": "1150",
         "atena_no": "0000000009", "name_kanji": "高輪 旧", "birth_date": date(1948, 2, 2), "category": "00",
         "amount_1": 1_000, "amount_2": 1_000, "amount_3": 1_000, "event_date": None},
        {**identity, "notice_code": "61", "payer_code": "501", "basic_pension_no": "1000000009", "pension_code": "1150",
         "atena_no": "0000000009", "name_kanji": "高輪 新", "birth_date": date(1948, 2, 2), "category": "00",
         "amount_1": 1_000, "amount_2": 1_000, "amount_3": 1_000, "event_date": None},
    ], schema_overrides={"birth_date": pl.Date, "event_date": pl.Date})], how="diagonal_relaxed")
    out = pl.concat([moves, pl.DataFrame({"atena_no": ["0000000005", "0000000009"],
                                          "change_date": [date(2026, 11, 1), date(2026, 12, 1)]})])
    rows = pc.move_out_stops(more, out, date(2027, 1, 1))
    assert rows.select("payer_code", "basic_pension_no", "name_kanji", "event_date").rows() == [
        ("501", "1000000009", "高輪 新", date(2026, 12, 1)), ("999", "1000000001", "港 太郎", date(2026, 10, 15)),
        ("999", "1000000005", "白金 一", date(2026, 11, 1))]
    assert rows.schema["amount_1"] == pl.Int64 and rows.schema["event_date"] == pl.Date
    # once sent, not again
    again = pl.concat([sent, rows.with_columns(pl.lit("41").alias("notice_code"))], how="diagonal_relaxed")
    assert pc.move_out_stops(again, moves, date(2027, 1, 1)).height == 0
    nothing = pc.move_out_stops(None, moves, date(2027, 1, 1))
    assert nothing.height == 0 and nothing.columns == rows.columns
    assert (nothing.schema["birth_date"], nothing.schema["event_date"], nothing.schema["amount_3"],
            nothing.schema["name_kanji"]) == (pl.Date, pl.Date, pl.Int64, pl.String)


def test_the_ledger_rows_in_order_with_amounts_accepted_answers_and_a_later_file_winning():
    """Every column of the ledger on hand-made rows given out of order: 0000000001's October 5,000 is reported
    twice — 4,000 in file r1.dta, then corrected to 5,000 in r2.dta (the later file counts: withheld); its
    December 5,000 was accepted (02 処理結果 00) and has no result yet (pending, not refused); 0000000002's
    October 7,000 is reported 正常 (00) with 5,000 withheld and 2,000 not (the two add up to what was asked,
    and a part missing is not a full withholding: not_withheld); a result for 0000000003's August, when
    nothing was asked, is unexpected with requested 0."""
    schedule = _schedule([
        ("0000000002", "pension_main", "2026-10", 7_000),
        ("0000000001", "pension_main", "2026-12", 5_000), ("0000000001", "pension_main", "2026-10", 5_000),
    ])
    answers = _records([{"payer_code": "999", "basic_pension_no": n, "pension_code": "1150", "result": "00"}
                        for n in ("1111111111", "2222222222")], "02", "a.dta")
    results = pl.concat([
        _records([_result("3333333333", "00", 3_000, 0, date(2026, 8, 15), "2026-09"),
                  _result("2222222222", "00", 5_000, 2_000, date(2026, 10, 15), "2026-11"),
                  _result("1111111111", "00", 4_000, 0, date(2026, 10, 15), "2026-11")], "22", "r1.dta", "2026-11"),
        _records([_result("1111111111", "00", 5_000, 0, date(2026, 10, 15), "2026-11")], "22", "r2.dta", "2026-11"),
    ])
    requested = pc.requested_months(schedule, _requests("0000000001", "0000000002"), answers)
    ledger = pc.withholding_ledger(requested, results.reverse(), PERSONS.reverse())
    assert ledger.select("atena_no", "period", "requested", "withheld", "not_withheld", "answer_result",
                         "result_file", "status").rows() == [
        ("0000000001", "2026-10", 5_000, 5_000, 0, "00", "r2.dta", "withheld"),
        ("0000000001", "2026-12", 5_000, None, None, "00", None, "pending"),
        ("0000000002", "2026-10", 7_000, 5_000, 2_000, "00", "r1.dta", "not_withheld"),
        ("0000000003", "2026-08", 0, 3_000, 0, None, "r1.dta", "unexpected"),
    ]


def test_answers_in_order_one_notice_sent_and_a_newer_answer_counting():
    """One 01 sent (a frame of a single row); the insurer answers it 02 (年金額不足) in August and again 00 in
    September (a corrected answer: the newer month counts, whatever the file names); an answer in a file of its
    own to a 61 nothing was sent for is unsolicited. Rows come out by notice type, then pension."""
    sent = pl.DataFrame({"notice_code": ["01"], "payer_code": ["999"], "basic_pension_no": ["2222222222"],
                         "pension_code": ["1150"], "atena_no": ["0000000002"], "file": ["Z401.dta"]})
    replies = pl.concat([
        _records([{"payer_code": "999", "basic_pension_no": "2222222222", "pension_code": "1150", "result": "00"}],
                 "02", "A_late.dta", "2026-09"),
        _records([{"payer_code": "999", "basic_pension_no": "1111111111", "pension_code": "1150", "result": "00"}],
                 "62", "A_62.dta", "2026-08"),
        _records([{"payer_code": "999", "basic_pension_no": "2222222222", "pension_code": "1150", "result": "02"}],
                 "02", "Z_first.dta", "2026-08"),
    ])
    got = pc.answered(sent, replies)
    assert got.select("notice_code", "basic_pension_no", "atena_no", "answer_code", "result", "answer_file",
                      "status").rows() == [
        ("01", "2222222222", "0000000002", "02", "00", "A_late.dta", "accepted"),
        ("61", "1111111111", None, "62", "00", "A_62.dta", "unsolicited"),
    ]
    assert got.schema["notice_code"] == pl.String and got.schema["answer_code"] == pl.String


def test_among_other_insurers_the_largest_pension_then_the_lower_code_is_withheld_from():
    """Without a 999 pension (地方税法施行令第48条の9の10 as read in decide_targets' docstring): person 1's 700
    pension of 900,000 is withheld rather than the 501 one of 700,000; person 2's two pensions of 600,000 tie,
    and the lower 特別徴収義務者コード (501) is taken."""
    targets = _records([
        _target("501", "1111111111", "01", 700_000), _target("700", "1111111111", "01", 900_000),
        _target("700", "2222222222", "01", 600_000), _target("501", "2222222222", "01", 600_000),
    ], "00", "f.dta")
    decided = pc.decide_targets(targets, _matches({"f.dta#1": "0000000001", "f.dta#2": "0000000001",
                                                   "f.dta#3": "0000000002", "f.dta#4": "0000000002"}), REGISTER)
    withheld = decided.filter("withholding").select("atena_no", "payer_code").rows()
    assert withheld == [("0000000001", "700"), ("0000000002", "501")]


def test_the_earliest_stop_of_a_withholding_counts_and_requests_of_nothing_are_left_out():
    """0000000002: the request is answered 02 refused in August after a first 00 answer (the newest answer
    counts: refused), a 0円 month is not requested, and a death stop in February comes after the refusal of
    October: the months move from October with the answer's reason, once each, with route pension_main."""
    schedule = _schedule([("0000000002", "pension_main", "2026-10", 7_000),
                          ("0000000002", "pension_main", "2026-12", 0),
                          ("0000000002", "pension_main", "2027-02", 7_000)])
    answers = pl.concat([
        _records([{"payer_code": "999", "basic_pension_no": "2222222222", "pension_code": "1150", "result": "00"}],
                 "02", "a1.dta", "2026-08"),
        _records([{"payer_code": "999", "basic_pension_no": "2222222222", "pension_code": "1150", "result": "02"}],
                 "02", "a2.dta", "2026-08"),
    ])
    requested = pc.requested_months(schedule, _requests("0000000002"), answers)
    assert requested.select("period", "requested", "route", "answer_result").rows() == [
        ("2026-10", 7_000, "pension_main", "02"), ("2027-02", 7_000, "pension_main", "02")]
    ledger = pc.withholding_ledger(requested, _records([], "22", "none.dta"), PERSONS)
    death = pl.DataFrame({"atena_no": ["0000000002"], "payer_code": ["999"], "stop_period": ["2027-02"],
                          "stop_reason": ["change_01"]})
    empty = pl.DataFrame(schema={"atena_no": pl.String, "payer_code": pl.String, "period": pl.String})
    moved = pc.moves(ledger.reverse(), empty, stops=death)
    assert moved.select("atena_no", "payer_code", "period", "route", "amount", "stop_period", "stop_reason").rows() == [
        ("0000000002", "999", "2026-10", "pension_main", 7_000, "2026-10", "result_02"),
        ("0000000002", "999", "2027-02", "pension_main", 7_000, "2026-10", "result_02")]


def test_records_of_a_file_carry_the_file_month_serial_and_notice_type_given():
    frame = pc.records_frame(pl.DataFrame({"payer_code": ["999"], "record_no": [2], "amount_1": [5_000]}),
                             month="2026-11", file="Z422_999_20261110_002.dta", medium_serial_no="002",
                             notice_code="22")
    assert frame.columns == list(pc.RECORD_SCHEMA) and frame.schema == pl.Schema(pc.RECORD_SCHEMA)
    row = frame.row(0, named=True)
    assert (row["month"], row["file"], row["medium_serial_no"], row["notice_code"], row["payer_code"],
            row["amount_1"], row["amount_2"]) == ("2026-11", "Z422_999_20261110_002.dta", "002", "22", "999",
                                                  5_000, None)
