"""還付加算金 (transforms/refund_addition.py) against the rules municipalities publish.

The rules: 地方税法第17条の4第1項 (7.3 % a year, from the day after the day each cause of 過誤納 sets to the day
the refund is decided or applied), 附則第3条の2 (the 特例 rate of each calendar year), 第20条の4の2第2項・第5項
(1,000円 cut of the base, none on a refund under 2,000円; 100円 cut of the addition, none under 1,000円),
利率等の表示の年利建て移行に関する法律第25条 (365 days, leap years too), 民法第143条 (a month after a day).

No municipal page giving a worked 還付加算金 figure was found (searched: 計算例 / 設例 / 例 with 還付加算金 on
the pages we could read; the pages give the formula, the roundings, the rates and the start days, never a
filled-in case). So the rates below are copied from the pages cited at each, and every case applies one
page's published formula by hand — the expected figures are ours, worked as the page says, each written out.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest

from transforms.late_charge import percent_text
from transforms.refund_addition import (
    load_refund_addition_rules,
    refund_addition,
    refund_addition_segments,
    refund_additions,
    start_day,
)
from transforms.tax_rules import RuleError

OTSU = "大津市 「市税の還付加算金について」 https://www.city.otsu.lg.jp/soshiki/005/1206/g/04/63147.html"
KUSATSU = "草津市 「市税の還付加算金について」 https://www.city.kusatsu.shiga.jp/kurashi/zeikin/nozei/kannpu1.html"
HIROSHIMA = "広島市 FAQ 「還付加算金の算出方法」 https://www.city.hiroshima.lg.jp/site/shizei-nouhu/2139.html"
FUKUROI = "袋井市 「延滞金などの割合の改正」 https://www.city.fukuroi.shizuoka.jp/soshiki/nouzei/3/nozei/9403.html"

# (calendar years, percent a year, the page that publishes it)
PUBLISHED_RATES = [
    pytest.param([2014], "1.9", id=f"平成26年 1.9% 特例基準割合: {OTSU}; {HIROSHIMA}"),
    pytest.param([2015, 2016], "1.8", id=f"平成27年〜平成28年 1.8%: {OTSU}; {KUSATSU}"),
    pytest.param([2017], "1.7", id=f"平成29年 1.7%: {OTSU}; {HIROSHIMA}"),
    pytest.param([2018, 2019, 2020], "1.6", id=f"平成30年〜令和2年 1.6%: {OTSU}; {KUSATSU}"),
    pytest.param([2021], "1.0", id=f"令和3年 1.0% 還付加算金特例基準割合: {OTSU}; {HIROSHIMA}"),
    pytest.param([2022, 2023, 2024, 2025], "0.9", id=f"令和4年〜令和7年 0.9%: {OTSU} (table to 令和7年12月31日)"),
    pytest.param([2026], "1.3", id=f"令和8年1月1日以降 1.3%: {FUKUROI}"),
]


@pytest.mark.parametrize(("years", "percent"), PUBLISHED_RATES)
def test_each_years_rate_is_the_published_one(years, percent):
    rules = load_refund_addition_rules()
    assert [percent_text(rules.rate_of(y).rate) for y in years] == [percent] * len(years)


def test_every_years_rate_follows_the_formula_of_its_era():
    """附則第3条の2: 2014–2020 the 特例基準割合 (the same base the 延滞金 rates rest on: 延滞金's first-month
    rate less 1 %), from 2021 the 平均貸付割合 + 0.5 % (the 延滞金 first-month rate is 平均貸付割合 + 1 % + 1 %,
    so 1.5 % lower) — both files must tell the same story — and never above the law's 7.3 %."""
    from transforms.late_charge import load_late_charge_rules

    rules, late = load_refund_addition_rules(), load_late_charge_rules()
    assert sorted(rules.rates) == sorted(late.rates) == list(range(2014, 2027))
    for year, row in rules.rates.items():
        gap = Fraction(1, 100) if year <= 2020 else Fraction(15, 1000)
        assert row.rate == late.rates[year].first_month - gap, year
        assert 0 < row.rate <= Fraction(73, 1000) and f"{percent_text(row.rate)}%" in row.label, year


def _one(result):
    return [(s.start.isoformat(), s.end.isoformat(), s.days, s.base, percent_text(s.rate), s.amount)
            for s in result.segments]


def test_a_reduced_assessment_runs_from_the_day_after_the_payment():
    """大津市's formula (還付となる金額 × 割合 × 加算日数 ÷ 365; 1,000円未満 and 100円未満 cut) with 草津市's start
    (賦課決定した徴収金に係る過納金: 納付納入があった日の翌日から) and its end (還付の支出を決定した日).
    Worked by hand: 300,800円 paid 2025-06-30, refund decided 2025-12-19 → base 300,000; 07-01〜12-19 = 172
    days; 300,000 × 0.9 % × 172 / 365 = 1,272.3 → 1,272 → 1,200."""
    result = refund_addition(300_800, [(date(2025, 6, 30), 300_800)], "assessment_reduced", date(2025, 12, 19))
    assert _one(result) == [("2025-07-01", "2025-12-19", 172, 300_000, "0.9", 1_272)]
    assert (result.before_rounding, result.refund_addition) == (1_272, 1_200)


def test_a_refund_across_new_year_takes_each_years_rate():
    """附則第3条の2 sets the rate 「その年中」: a period crossing 31 December is split (as for 延滞金). Worked by
    hand: 1,000,500円 paid 2025-10-31, decided 2026-03-13 → base 1,000,000; 2025-11-01〜12-31 61 days at 0.9 %
    = 1,504.1 → 1,504; 2026-01-01〜03-13 72 days at 1.3 % (袋井市) = 2,564.4 → 2,564; 4,068 → 4,000."""
    result = refund_addition(1_000_500, [(date(2025, 10, 31), 1_000_500)], "assessment_reduced",
                             date(2026, 3, 13))
    assert _one(result) == [("2025-11-01", "2025-12-31", 61, 1_000_000, "0.9", 1_504),
                            ("2026-01-01", "2026-03-13", 72, 1_000_000, "1.3", 2_564)]
    assert (result.before_rounding, result.refund_addition) == (4_068, 4_000)


def test_a_leap_year_still_counts_365_days():
    """草津市: 「閏年も365日で計算します」 (利率等の表示の年利建て移行に関する法律第25条). 2,028,000円 paid
    2024-01-31, decided 2024-03-31: 02-01〜03-31 = 60 days (29 February included); 2,028,000 × 0.9 % × 60 / 365
    = 3,000.3 → 3,000 → 3,000 (over 366 days it would be 2,992.1 → 2,900)."""
    result = refund_addition(2_028_000, [(date(2024, 1, 31), 2_028_000)], "assessment_reduced", date(2024, 3, 31))
    assert _one(result) == [("2024-02-01", "2024-03-31", 60, 2_028_000, "0.9", 3_000)]
    assert result.refund_addition == 3_000


def test_a_mistaken_payment_runs_from_the_day_after_one_month_has_passed():
    """草津市: 上記以外の過誤納金 (a payment made twice) starts after 「納付納入があった日の翌日から起算して一月を
    経過する日」. Worked by hand: 1,200,000円 paid twice, the second on 2025-05-31 → the month counted from
    06-01 has passed on 06-30 → 07-01〜2025-10-15 = 107 days × 0.9 % on 1,200,000 = 3,166.0 → 3,166 → 3,100."""
    result = refund_addition(1_200_000, [(date(2025, 5, 31), 1_200_000)], "mistaken_payment", date(2025, 10, 15))
    assert _one(result) == [("2025-07-01", "2025-10-15", 107, 1_200_000, "0.9", 3_166)]
    assert result.refund_addition == 3_100


@pytest.mark.parametrize(("paid_on", "day"), [
    (date(2025, 5, 31), date(2025, 6, 30)), (date(2025, 6, 30), date(2025, 7, 31)),
    (date(2024, 1, 30), date(2024, 2, 29)),  # the month from 31 January has no 31 February: its last day
    (date(2025, 1, 30), date(2025, 2, 28)), (date(2025, 12, 15), date(2026, 1, 15)),
])
def test_one_month_after_a_payment_follows_article_143_of_the_civil_code(paid_on, day):
    rules = load_refund_addition_rules()
    assert start_day(rules.cause_of("mistaken_payment"), paid_on) == day
    assert start_day(rules.cause_of("assessment_reduced"), paid_on) == paid_on


def test_a_mistaken_payment_refunded_within_the_month_bears_nothing():
    result = refund_addition(500_000, [(date(2025, 5, 31), 500_000)], "mistaken_payment", date(2025, 6, 30))
    assert result.segments == () and result.refund_addition == 0


def test_a_refund_made_of_several_payments_runs_per_payment_to_one_end():
    """A 期別 paid in three parts, the whole refunded, decided 2026-02-27. Each part runs from the day after its
    own payment (草津市's start for a 過納) and has its own 1,000円 cut (our reading, rules file basis_notes):
    250,400 (07-31) → 250,000: 2025-08-01〜12-31 153 d at 0.9 % = 943.2 → 943, 2026 58 d at 1.3 % = 516.4 → 516;
    150,000 (09-01): 121 d → 447.5 → 447, 58 d → 309.9 → 309; 99,600 (10-31) → 99,000: 61 d → 148.9 → 148,
    58 d → 204.5 → 204. 2,567 → 2,500."""
    payments = [(date(2025, 9, 1), 150_000), (date(2025, 7, 31), 250_400), (date(2025, 10, 31), 99_600)]
    result = refund_addition(500_000, payments, "assessment_reduced", date(2026, 2, 27))
    assert _one(result) == [
        ("2025-08-01", "2025-12-31", 153, 250_000, "0.9", 943), ("2026-01-01", "2026-02-27", 58, 250_000, "1.3", 516),
        ("2025-09-02", "2025-12-31", 121, 150_000, "0.9", 447), ("2026-01-01", "2026-02-27", 58, 150_000, "1.3", 309),
        ("2025-11-01", "2025-12-31", 61, 99_000, "0.9", 148), ("2026-01-01", "2026-02-27", 58, 99_000, "1.3", 204)]
    assert (result.before_rounding, result.refund_addition) == (2_567, 2_500)


@pytest.mark.parametrize(("refund", "segments"), [(1_999, 0), (2_000, 1)])
def test_no_addition_on_a_refund_under_2000_yen(refund, segments):
    """第20条の4の2第2項 (大津市: 「還付となる金額が2,000円未満の時は、還付加算金は加算されません」): 1,999円 has no
    segment at all however long it waited; 2,000円 is computed (and its few yen a year stay under 1,000円)."""
    result = refund_addition(refund, [(date(2014, 3, 31), refund)], "assessment_reduced", date(2026, 3, 31))
    assert len({s.base for s in result.segments}) == segments and result.refund_addition == 0
    assert all(s.base == 2_000 for s in result.segments)


@pytest.mark.parametrize(("part", "total", "addition"), [
    (986_999, 999, 0),  # base 986,000: 37 days at 1.0 % = 999.5 → 999, under 1,000円: nothing added
    (987_000, 1_000, 1_000),  # base 987,000: 1,000.5 → 1,000, added
])
def test_the_base_is_cut_to_1000_yen_and_an_addition_under_1000_yen_is_dropped(part, total, addition):
    """第20条の4の2第2項 and 第5項 at their boundaries (2021, 1.0 %; paid 2021-03-31, decided 2021-05-07: 37 days)."""
    result = refund_addition(part, [(date(2021, 3, 31), part)], "assessment_reduced", date(2021, 5, 7))
    assert result.segments[0].base == part // 1_000 * 1_000 and result.segments[0].days == 37
    assert (result.before_rounding, result.refund_addition) == (total, addition)


@pytest.mark.parametrize(("base", "total", "addition"), [(802_000, 1_098, 1_000), (803_000, 1_100, 1_100)])
def test_the_addition_is_cut_to_100_yen(base, total, addition):
    """第20条の4の2第5項: 50 days at 1.0 % (2021-04-01〜05-20) — 802,000 gives 1,098.6 → 1,098 → 1,000; 803,000
    gives 1,100.0 → 1,100 → 1,100."""
    result = refund_addition(base, [(date(2021, 3, 31), base)], "assessment_reduced", date(2021, 5, 20))
    assert (result.before_rounding, result.refund_addition) == (total, addition)


def test_a_calendar_year_without_a_published_rate_is_refused_not_guessed():
    import polars as pl

    with pytest.raises(RuleError, match="no 還付加算金 rate for the calendar year 2027 .*the rules hold 2014–2026; .*"
                                        "announces by 30 November of the year before: add its row when published\\)$"):
        refund_addition(500_000, [(date(2026, 12, 1), 500_000)], "assessment_reduced", date(2027, 1, 5))
    frame = pl.DataFrame({"refund_id": ["r1"], "cause": ["assessment_reduced"], "paid_on": [date(2026, 12, 1)],
                          "amount": [500_000], "decided_on": [date(2027, 1, 5)]})
    with pytest.raises(RuleError, match="2027"):
        refund_additions(frame)


def test_causes_whose_start_needs_a_date_we_do_not_take_are_refused_with_a_sentence():
    """更正の請求 (第2号) and 所得税の更正・申告 (第3号) are in the rules with their days but need a date the
    calculator does not take (the 請求, the 更正, the 所得税 notice): refused, not guessed from the payment."""
    rules = load_refund_addition_rules()
    assert {c for c, k in rules.causes.items() if k.supported} == {"assessment_reduced", "mistaken_payment"}
    assert [(r.day, r.months) for r in rules.causes["request_for_correction"].start_from] == [
        ("correction_requested_on", 3), ("corrected_on", 1)]
    for cause in ("request_for_correction", "income_tax_correction", "income_tax_return"):
        with pytest.raises(RuleError, match="does not take yet"):
            refund_addition(10_000, [(date(2025, 6, 30), 10_000)], cause, date(2025, 9, 30))
    with pytest.raises(RuleError, match="not a cause"):
        refund_addition(10_000, [(date(2025, 6, 30), 10_000)], "overpaid", date(2025, 9, 30))


@pytest.mark.parametrize(("refund", "payments", "message"), [
    (10_000, [(date(2025, 6, 30), 9_000)], "carry 9000 yen"),
    (10_000, [], "at least one payment"),
    (10_000, [(date(2025, 10, 1), 10_000)], "after the day the refund is decided"),
    (-1, [(date(2025, 6, 30), -1)], "0 or more"),
])
def test_inputs_that_cannot_make_a_refund_are_refused(refund, payments, message):
    with pytest.raises(ValueError, match=message):
        refund_addition(refund, payments, "assessment_reduced", date(2025, 9, 30))


@pytest.mark.parametrize(("refund", "payments", "message"), [
    (10_000, [(date(2025, 6, 30), -1), (date(2025, 7, 31), 10_001)], "amounts are yen of 0 or more"),
    (10_000, [], "a refund is made of at least one payment: give the day and the yen of each"),
    (10_000, [(date(2025, 10, 1), 10_000)], r"a payment is dated after the day the refund is decided \(decided_on\)"),
])
def test_the_refusals_say_exactly_what_is_wrong(refund, payments, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        refund_addition(refund, payments, "assessment_reduced", date(2025, 9, 30))


def test_a_refund_of_0_yen_or_a_payment_carrying_none_of_it_is_not_refused():
    """Nothing to refund bears nothing; a payment that carries 0 yen of a refund simply adds no segment (第17条の4:
    the addition is on the 過誤納金, so a part of 0 yen runs on nothing)."""
    nothing = refund_addition(0, [(date(2025, 6, 30), 0)], "assessment_reduced", date(2025, 9, 30))
    assert (nothing.refund_addition, nothing.segments, nothing.cause, nothing.decided_on) == (
        0, (), "assessment_reduced", date(2025, 9, 30))
    result = refund_addition(300_800, [(date(2025, 5, 30), 0), (date(2025, 6, 30), 300_800)], "assessment_reduced",
                             date(2025, 12, 19))
    assert [s.paid_on for s in result.segments] == [date(2025, 6, 30)] and result.refund_addition == 1_200


def test_a_refund_decided_on_the_day_of_payment_bears_nothing_and_is_not_refused():
    result = refund_addition(500_000, [(date(2025, 6, 30), 500_000)], "assessment_reduced", date(2025, 6, 30))
    assert (result.refund_addition, result.before_rounding, result.segments) == (0, 0, ())


def test_the_result_names_its_cause_and_day_of_decision_and_its_yen_are_integers():
    small = refund_addition(1_999, [(date(2025, 6, 30), 1_999)], "mistaken_payment", date(2025, 12, 19))
    assert (small.cause, small.decided_on, small.refund_amount) == ("mistaken_payment", date(2025, 12, 19), 1_999)
    result = refund_addition(300_800, [(date(2025, 6, 30), 300_800)], "assessment_reduced", date(2025, 12, 19))
    assert (result.cause, result.decided_on, result.refund_amount) == ("assessment_reduced", date(2025, 12, 19),
                                                                       300_800)
    assert all(type(s.amount) is int for s in result.segments) and type(result.before_rounding) is int


def test_the_first_day_that_runs_is_one_day_of_addition():
    """A refund decided on the first day of its period bears one day: 3,650,000円 paid 2025-06-30 (a 過納 runs
    from 07-01), decided 07-01 → 3,650,000 × 0.9 % × 1 / 365 = 90 → under 1,000円, no addition; the segment is
    there. By frame and one at a time alike."""
    import polars as pl

    one = refund_addition(3_650_000, [(date(2025, 6, 30), 3_650_000)], "assessment_reduced", date(2025, 7, 1))
    assert [(s.start, s.end, s.days, s.amount) for s in one.segments] == [
        (date(2025, 7, 1), date(2025, 7, 1), 1, 90)]
    frame = pl.DataFrame({"refund_id": ["r1"], "cause": ["assessment_reduced"], "paid_on": [date(2025, 6, 30)],
                          "amount": [3_650_000], "decided_on": [date(2025, 7, 1)]})
    segments = refund_addition_segments(frame)
    assert segments.select("start", "end", "days", "amount").rows() == [(date(2025, 7, 1), date(2025, 7, 1), 1, 90)]


def test_refunds_that_all_bear_nothing_give_an_empty_frame_of_the_segments_columns():
    import polars as pl

    frame = pl.DataFrame({"refund_id": ["r1", "r2"], "cause": ["assessment_reduced", "mistaken_payment"],
                          "paid_on": [date(2025, 6, 30)] * 2, "amount": [1_999, 500],
                          "decided_on": [date(2025, 9, 30)] * 2})
    segments = refund_addition_segments(frame)
    assert segments.height == 0 and segments.columns == [
        "refund_id", "paid_on", "start", "end", "days", "base", "rate", "rate_denominator", "amount"]
    assert refund_additions(frame)["refund_addition"].to_list() == [0, 0]


def test_the_segments_come_in_the_order_of_refund_payment_and_start():
    import polars as pl

    frame = pl.DataFrame({
        "refund_id": ["r2", "r1", "r1", "r2"], "cause": ["assessment_reduced"] * 4,
        "paid_on": [date(2025, 10, 31), date(2025, 9, 1), date(2025, 7, 31), date(2025, 6, 30)],
        "amount": [500_000, 150_000, 250_000, 400_000], "decided_on": [date(2026, 3, 13)] * 4})
    segments = refund_addition_segments(frame)
    assert segments.select("refund_id", "paid_on", "start").rows() == [
        ("r1", date(2025, 7, 31), date(2025, 8, 1)), ("r1", date(2025, 7, 31), date(2026, 1, 1)),
        ("r1", date(2025, 9, 1), date(2025, 9, 2)), ("r1", date(2025, 9, 1), date(2026, 1, 1)),
        ("r2", date(2025, 6, 30), date(2025, 7, 1)), ("r2", date(2025, 6, 30), date(2026, 1, 1)),
        ("r2", date(2025, 10, 31), date(2025, 11, 1)), ("r2", date(2025, 10, 31), date(2026, 1, 1))]
    assert segments.schema["amount"] == pl.Int64 and segments.schema["days"] == pl.Int64
    assert segments.schema["rate_denominator"] == pl.Int64
    # two parts paid on one day: by their base, then by the year
    same_day = pl.DataFrame({"refund_id": ["r1", "r1"], "cause": ["assessment_reduced"] * 2,
                             "paid_on": [date(2025, 7, 31)] * 2, "amount": [250_000, 150_000],
                             "decided_on": [date(2026, 3, 13)] * 2})
    assert refund_addition_segments(same_day).select("base", "start").rows() == [
        (150_000, date(2025, 8, 1)), (150_000, date(2026, 1, 1)), (250_000, date(2025, 8, 1)),
        (250_000, date(2026, 1, 1))]
    from transforms.refund_addition import rates_frame

    rates, denominator = rates_frame(load_refund_addition_rules())
    assert rates.schema == {"_year": pl.Int32, "_rate_num": pl.Int64} and denominator == 1000  # 0.9 % = 9/1000


@pytest.mark.parametrize(("edit", "message"), [
    ({"amount": [None, 5_000]}, r"^refunds: column amount has an empty value$"),
    ({"decided_on": [date(2025, 9, 30), date(2025, 10, 31)]},
     r"^refunds: refund 'r1' has more than one cause or decided_on; a refund has one cause and one day of decision$"),
    ({"amount": [5_000, -1]}, r"^refunds: refund 'r1' has a negative amount or a payment dated after its decided_on$"),
    ({"paid_on": [date(2025, 6, 30), date(2025, 10, 1)]},
     r"^refunds: refund 'r1' has a negative amount or a payment dated after its decided_on$"),
    ({"amount": ["5000", "x"]}, "conversion from `str` to `i64` failed"),  # a value that is not yen: not guessed
])
def test_the_frame_refuses_what_cannot_be_a_refund_naming_it(edit, message):
    """The frame form refuses what the one-refund form refuses; a payment on the day of decision and a payment
    carrying 0 yen are not refused (see the one-refund tests)."""
    import polars as pl

    rows = {"refund_id": ["r1", "r1"], "cause": ["assessment_reduced"] * 2,
            "paid_on": [date(2025, 6, 30), date(2025, 7, 31)], "amount": [5_000, 5_000],
            "decided_on": [date(2025, 9, 30)] * 2}
    with pytest.raises((ValueError, pl.exceptions.InvalidOperationError), match=message):
        refund_additions(pl.DataFrame({**rows, **edit}))
    fine = pl.DataFrame({**rows, "paid_on": [date(2025, 6, 30), date(2025, 9, 30)], "amount": [0, 5_000]})
    assert refund_additions(fine)["refund_amount"].to_list() == [5_000]


def test_the_frame_refuses_a_refund_without_its_columns_naming_them():
    import polars as pl

    frame = pl.DataFrame({"refund_id": ["r1"], "paid_on": [date(2025, 6, 30)], "amount": [5_000]})
    with pytest.raises(ValueError, match=r"^refunds: the frame has no column cause, decided_on \(it needs refund_id, "
                                         r"cause, paid_on, amount, decided_on: one row per payment making up a "
                                         r"refund\)$"):
        refund_additions(frame)


def test_the_frame_refuses_a_refund_with_two_causes():
    import polars as pl

    frame = pl.DataFrame({"refund_id": ["r1", "r1"], "cause": ["assessment_reduced", "mistaken_payment"],
                          "paid_on": [date(2025, 6, 30)] * 2, "amount": [5_000, 5_000],
                          "decided_on": [date(2025, 9, 30)] * 2})
    with pytest.raises(ValueError, match="'r1' has more than one cause"):
        refund_additions(frame)


def test_many_refunds_at_once_give_what_each_gives_alone():
    """refund_additions (frame operations) against refund_addition (one refund, the function the cases above
    check) on those cases and 400 drawn ones: payments 2014–2026, one to three parts each from 500 to
    20,000,000 yen, both supported causes, decisions up to 900 days later (at the latest 2026-12-31)."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(20260417)
    cases = [
        ("assessment_reduced", [(date(2025, 6, 30), 300_800)], date(2025, 12, 19)),
        ("assessment_reduced", [(date(2025, 10, 31), 1_000_500)], date(2026, 3, 13)),
        ("mistaken_payment", [(date(2025, 5, 31), 1_200_000)], date(2025, 10, 15)),
        ("assessment_reduced", [(date(2025, 9, 1), 150_000), (date(2025, 7, 31), 250_400),
                                (date(2025, 10, 31), 99_600)], date(2026, 2, 27)),
    ]
    for _ in range(400):
        first = date(2014, 1, 1) + timedelta(days=int(rng.integers(0, 12 * 365 + 120)))  # parts by 2026-08
        parts = [(first + timedelta(days=int(rng.integers(0, 120))),
                  int(rng.choice([500, 999, 1_999, 2_000, 2_999, 75_500, 152_500, 3_000_000, 20_000_000])))
                 for _ in range(int(rng.integers(1, 4)))]
        decided = max(d for d, _ in parts) + timedelta(days=int(rng.integers(0, 900)))
        decided = min(decided, date(2026, 12, 31))
        cause = str(rng.choice(["assessment_reduced", "mistaken_payment"]))
        cases.append((cause, parts, decided))
    rows = [(f"r{k:04d}", cause, d, a, decided) for k, (cause, parts, decided) in enumerate(cases) for d, a in parts]
    frame = pl.DataFrame(rows, schema={"refund_id": pl.String, "cause": pl.String, "paid_on": pl.Date,
                                       "amount": pl.Int64, "decided_on": pl.Date}, orient="row")
    result = refund_additions(frame)
    segments = refund_addition_segments(frame)
    assert result.schema["refund_addition"] == pl.Int64 and result.height == len(cases)
    # the draw reaches what matters: additions paid, refunds across a new year, refunds of several payments
    assert result.filter(pl.col("refund_addition") > 0).height > 100
    assert segments.group_by("refund_id").agg(pl.col("start").dt.year().n_unique()).filter(
        pl.col("start") > 1).height > 50
    assert segments.group_by("refund_id").agg(pl.col("paid_on").n_unique()).filter(pl.col("paid_on") > 1).height > 50
    by_id = {r["refund_id"]: r for r in result.iter_rows(named=True)}
    for k, (cause, parts, decided) in enumerate(cases):
        one = refund_addition(sum(a for _, a in parts), parts, cause, decided)
        row = by_id[f"r{k:04d}"]
        assert (row["refund_addition"], row["before_rounding"], row["refund_amount"]) == (
            one.refund_addition, one.before_rounding, one.refund_amount), (cause, parts, decided)
        mine = segments.filter(pl.col("refund_id") == f"r{k:04d}")
        got = sorted((r[1], r[2], r[3], r[4], r[5], Fraction(r[6], r[7]), r[8]) for r in mine.rows())
        assert got == sorted((s.paid_on, s.start, s.end, s.days, s.base, s.rate, s.amount) for s in one.segments), (
            cause, parts, decided)


@pytest.mark.parametrize(("old", "new", "message"), [
    ('percent: "1.3"', 'percent: "7.4"', r"table\[2026\]\.percent must be above 0 and at most the law's 7\.3"),
    ('percent: "1.3"', "percent: 1.3", "float"),
    ("{day: corrected_on, months: 1}]\n        supported: false",
     "{day: corrected_on, months: 1}]\n        supported: true",
     r"table\[request_for_correction\] is marked supported but starts from a day the calculator does not take"),
    ("      - year: 2020\n", "      - year: 2030\n", "every calendar year"),
    ("          - '地方税法第17条の4第1項第4号", "          - '草津市",
     r"table\[mistaken_payment\]\.basis .* names no law"),
])
def test_the_loader_refuses_a_rules_file_it_cannot_trust(tmp_path, monkeypatch, old, new, message):
    import transforms.refund_addition as module

    text = module.RULES_FILE.read_text(encoding="utf-8")
    assert old in text
    planted = tmp_path / "refund_addition.yaml"
    planted.write_text(text.replace(old, new, 1), encoding="utf-8")
    monkeypatch.setattr(module, "RULES_FILE", planted)
    module.load_refund_addition_rules.cache_clear()
    try:
        with pytest.raises(RuleError, match=message):
            module.load_refund_addition_rules()
    finally:
        module.load_refund_addition_rules.cache_clear()
