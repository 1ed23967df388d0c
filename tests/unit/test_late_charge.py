"""延滞金 (transforms/late_charge.py, `juminzei late-charge`) against published municipal worked examples.

Each example's inputs and figures are copied from the municipality's own page (cited at the case); the
expected segments and totals are theirs, not this code's. The rules: 地方税法第326条第1項 (rates, days from
the day after the 納期限 to the day of payment), 附則第3条の2 (the 特例 rates of each calendar year),
第20条の4の2第2項・第5項 (1,000円 cut of the base, none under 2,000円; 100円 cut of the charge, none under
1,000円), 民法第143条 (the one-month period), 利率等の表示の年利建て移行に関する法律第25条 (365 days).
"""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from fractions import Fraction

import pytest

from transforms.late_charge import late_charge, load_late_charge_rules, months_later_end, percent_text

# (source, tax, 納期限, paid on, [(from, to, days, base, rate %, yen)], total before rounding, 延滞金)
PUBLISHED = [
    pytest.param(56_400, date(2026, 2, 2), date(2026, 5, 29),
                 [("2026-02-03", "2026-03-02", 28, 56_000, "2.8", 120),
                  ("2026-03-03", "2026-05-29", 88, 56_000, "9.1", 1_228)],
                 1_348, 1_300,
                 id="中央市 (山梨県) 延滞金の計算例: https://www.city.chuo.yamanashi.jp/soshiki/zeimu/shuunou/10746.html"),
    pytest.param(65_000, date(2021, 5, 31), date(2022, 1, 31),
                 [("2021-06-01", "2021-06-30", 30, 65_000, "2.5", 133),
                  ("2021-07-01", "2021-12-31", 184, 65_000, "8.8", 2_883),
                  ("2022-01-01", "2022-01-31", 31, 65_000, "8.7", 480)],
                 3_496, 3_400,
                 id="豊橋市 延滞金の計算 (two calendar years): www.city.toyohashi.lg.jp menuid=10874"),
    pytest.param(100_000, date(2016, 10, 31), date(2017, 2, 20),
                 [("2016-11-01", "2016-11-30", 30, 100_000, "2.8", 230),
                  ("2016-12-01", "2016-12-31", 31, 100_000, "9.1", 772),
                  ("2017-01-01", "2017-02-20", 51, 100_000, "9.0", 1_257)],
                 2_259, 2_200,
                 id="泉佐野市 FAQ 市府民税3期 (two calendar years): https://www.city.izumisano.lg.jp/kakuka/somu/zeimu/faq/faq_nofu/q4.html"),
    pytest.param(117_300, date(2024, 1, 31), date(2024, 8, 31),
                 [("2024-02-01", "2024-02-29", 29, 117_000, "2.4", 223),
                  ("2024-03-01", "2024-08-31", 184, 117_000, "8.7", 5_131)],
                 5_354, 5_300,
                 id="富里市 市民税・県民税 (a leap year, still 365 days): https://www.city.tomisato.lg.jp/0000000057.html"),
]


@pytest.mark.parametrize(("tax", "due", "paid", "segments", "total", "charge"), PUBLISHED)
def test_published_examples_to_the_yen(tax, due, paid, segments, total, charge):
    result = late_charge(tax, due, [(paid, tax)], paid)
    got = [(s.start.isoformat(), s.end.isoformat(), s.days, s.base, percent_text(s.rate), s.amount)
           for s in result.segments]
    assert got == segments
    assert (result.before_rounding, result.late_charge, result.unpaid_tax) == (total, charge, 0)


def test_kitami_example_gives_the_published_total():
    """北見市 市道民税2期 (http://www.city.kitami.lg.jp/docs/1933/): 75,000円, 納期限 2017-08-31, paid 2017-11-15;
    the page gives 166円 for September at 2.7 % and 1,000円 in all (the second line is cut off on the page)."""
    result = late_charge(75_000, date(2017, 8, 31), [(date(2017, 11, 15), 75_000)], date(2017, 11, 15))
    assert result.segments[0].amount == 166 and result.late_charge == 1_000


def test_a_due_date_on_a_closed_day_moves_to_the_next_open_day():
    """中央市's example: the 納期限 of 31 January 2026 (a Saturday) is 2 February (地方税法第20条の5第2項)."""
    nominal = late_charge(56_400, date(2026, 1, 31), [(date(2026, 5, 29), 56_400)], date(2026, 5, 29))
    assert nominal.due_date == date(2026, 2, 2) and nominal.late_charge == 1_300


@pytest.mark.parametrize(("start", "end"), [
    (date(2026, 7, 1), date(2026, 7, 31)), (date(2026, 6, 1), date(2026, 6, 30)),
    (date(2024, 1, 31), date(2024, 2, 29)), (date(2025, 1, 31), date(2025, 2, 28)),  # no 31 February: month end
    (date(2025, 9, 2), date(2025, 10, 1)), (date(2026, 12, 15), date(2027, 1, 14)),
])
def test_the_one_month_period_follows_article_143_of_the_civil_code(start, end):
    assert months_later_end(start, 1) == end


def test_a_partial_payment_lowers_the_base_from_the_next_day():
    """100,000円, 納期限 2026-06-30; 40,000円 paid 2026-07-20 and 60,000円 on 2026-09-30 (2026 rates 2.8 % /
    9.1 %). Worked by hand: 07-01〜07-20 on 100,000 for 20 days at 2.8 % = 153.4 → 153; 07-21〜07-31 on 60,000
    for 11 days at 2.8 % = 50.6 → 50; 08-01〜09-30 on 60,000 for 61 days at 9.1 % = 912.5 → 912; 1,115 → 1,100.
    (No published partial-payment example was found: the rule is 国税通則法第62条's, see rules/late_charge.yaml.)"""
    result = late_charge(100_000, date(2026, 6, 30), [(date(2026, 9, 30), 60_000), (date(2026, 7, 20), 40_000)],
                         date(2026, 10, 15))
    assert [(s.start, s.end, s.base, s.amount) for s in result.segments] == [
        (date(2026, 7, 1), date(2026, 7, 20), 100_000, 153), (date(2026, 7, 21), date(2026, 7, 31), 60_000, 50),
        (date(2026, 8, 1), date(2026, 9, 30), 60_000, 912)]
    assert (result.late_charge, result.unpaid_tax) == (1_100, 0)


def test_tax_still_unpaid_runs_to_the_day_of_computation_and_early_payments_count_first():
    """120,000円 due 2026-08-31, 20,500円 paid on the 納期限 itself: 99,500 late → base 99,000. Unpaid on
    2026-10-15: 09-01〜09-30 30 days at 2.8 % = 227.8 → 227; 10-01〜10-15 15 days at 9.1 % = 370.2 → 370."""
    result = late_charge(120_000, date(2026, 8, 31), [(date(2026, 8, 31), 20_500)], date(2026, 10, 15))
    assert [(s.days, s.base, s.amount) for s in result.segments] == [(30, 99_000, 227), (15, 99_000, 370)]
    assert (result.before_rounding, result.late_charge, result.unpaid_tax) == (597, 0, 99_500)  # under 1,000円: none


@pytest.mark.parametrize("tax", [1_999, 2_000])
def test_no_charge_on_a_tax_under_2000_yen(tax):
    """第20条の4の2第2項: a tax under 2,000円 bears no 延滞金 however late; 2,000円 twelve years late (at 8.7–9.2 %
    a year, about 180円 a year) bears more than 1,000円."""
    result = late_charge(tax, date(2014, 6, 30), [], date(2026, 6, 30))
    if tax < 2_000:
        assert result.segments == () and result.late_charge == 0
    else:
        assert {s.base for s in result.segments} == {2_000} and result.late_charge >= 1_000


def test_a_calendar_year_without_published_rates_is_refused_not_guessed():
    from transforms.tax_rules import RuleError

    with pytest.raises(RuleError, match="calendar year 2027 .the rules hold 2014–2026; .*announces by 30 November of "
                                        "the year before: add its row when published\\)$"):
        late_charge(100_000, date(2026, 12, 1), [], date(2027, 1, 5))


@pytest.mark.parametrize(("tax", "payments", "message"), [
    (-1, [], "amounts are yen of 0 or more"),
    (10_000, [(date(2026, 7, 1), -5)], "amounts are yen of 0 or more"),
    (10_000, [(date(2026, 9, 1), 10_000)], "a payment is dated after computed_on"),
])
def test_a_negative_amount_or_a_payment_after_the_day_of_computation_is_refused(tax, payments, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        late_charge(tax, date(2026, 6, 30), payments, date(2026, 8, 31))


def test_nothing_of_0_yen_is_refused_and_a_tax_paid_in_full_on_time_bears_nothing():
    assert late_charge(0, date(2026, 6, 30), [(date(2026, 6, 30), 0)], date(2026, 8, 31)).late_charge == 0
    paid = late_charge(10_000, date(2026, 6, 30), [(date(2026, 6, 30), 10_000)], date(2026, 8, 31))
    assert (paid.late_charge, paid.before_rounding, paid.segments, paid.unpaid_tax) == (0, 0, (), 0)


def test_on_the_due_date_itself_nothing_runs_and_a_later_payment_is_still_refused():
    result = late_charge(50_000, date(2026, 6, 30), [(date(2026, 6, 20), 20_000)], date(2026, 6, 30))
    assert (result.late_charge, result.segments, result.unpaid_tax) == (0, (), 30_000)
    with pytest.raises(ValueError, match="^a payment is dated after computed_on$"):
        late_charge(50_000, date(2026, 6, 30), [(date(2026, 7, 1), 50_000)], date(2026, 6, 30))


def test_before_the_due_date_nothing_runs_yet_and_what_is_unpaid_is_told():
    """Computed on a day before the 納期限 (a taxpayer asking early): no day is late yet (第326条第1項 counts from
    the day after the 納期限), and the tax less what was paid is still owed."""
    result = late_charge(50_000, date(2026, 6, 30), [(date(2026, 6, 10), 20_000)], date(2026, 6, 15))
    assert (result.late_charge, result.before_rounding, result.segments, result.unpaid_tax, result.due_date) == (
        0, 0, (), 30_000, date(2026, 6, 30))
    overpaid = late_charge(50_000, date(2026, 6, 30), [(date(2026, 6, 10), 60_000)], date(2026, 6, 15))
    assert overpaid.unpaid_tax == 0  # never a negative tax


def test_two_payments_on_one_day_both_lower_the_base():
    """100,000円 due 2026-06-30; 30,000円 and 30,000円 both paid 2026-07-10, the rest 2026-08-10 (2026 rates 2.8 % /
    9.1 %). By hand: 07-01〜07-10 on 100,000, 10 days at 2.8 % = 76.7 → 76; 07-11〜07-31 on 40,000, 21 days at
    2.8 % = 64.4 → 64; 08-01〜08-10 on 40,000, 10 days at 9.1 % = 99.7 → 99."""
    result = late_charge(100_000, date(2026, 6, 30), [(date(2026, 7, 10), 30_000), (date(2026, 7, 10), 30_000),
                                                      (date(2026, 8, 10), 40_000)], date(2026, 8, 10))
    assert [(s.start.isoformat(), s.end.isoformat(), s.base, s.amount) for s in result.segments] == [
        ("2026-07-01", "2026-07-10", 100_000, 76), ("2026-07-11", "2026-07-31", 40_000, 64),
        ("2026-08-01", "2026-08-10", 40_000, 99)]
    assert all(type(s.amount) is int for s in result.segments)  # yen are integers, never floats
    assert type(result.before_rounding) is int and type(result.late_charge) is int


def test_the_last_day_of_the_first_month_is_charged_at_the_lower_rate():
    """The lower rate runs to the day one month after the 納期限 has passed, that day included (第326条第1項:
    「納期限の翌日から一月を経過する日までの期間」): 100,000円 due 2026-06-30, 50,000円 paid 2026-07-30, the rest
    2026-08-05. The base changes on 07-31, the month's last day. By hand: 07-01〜07-30 on 100,000, 30 days at
    2.8 % = 230.1 → 230; 07-31 on 50,000, 1 day at 2.8 % = 3.8 → 3; 08-01〜08-05 on 50,000, 5 days at 9.1 % =
    62.3 → 62."""
    result = late_charge(100_000, date(2026, 6, 30), [(date(2026, 7, 30), 50_000), (date(2026, 8, 5), 50_000)],
                         date(2026, 8, 5))
    assert [(s.start.isoformat(), s.days, s.base, percent_text(s.rate), s.amount) for s in result.segments] == [
        ("2026-07-01", 30, 100_000, "2.8", 230), ("2026-07-31", 1, 50_000, "2.8", 3),
        ("2026-08-01", 5, 50_000, "9.1", 62)]


@pytest.mark.parametrize(("rate", "text"), [
    (Fraction(87, 1000), "8.7"), (Fraction(146, 1000), "14.6"), (Fraction(1, 400), "0.25"),
    (Fraction(0), "0.0"), (Fraction(-15, 1000), "-1.5"), (Fraction(123_456, 10**8), "0.123456"),
])
def test_a_rate_is_shown_as_the_percent_it_was_published_as(rate, text):
    assert percent_text(rate) == text


def test_a_rate_of_more_than_six_decimal_places_of_a_percent_is_refused():
    with pytest.raises(ValueError, match=r"^rate 1/1000000000 is not a short decimal percent$"):
        percent_text(Fraction(1, 10**9))


def test_every_years_rates_follow_the_formula_of_the_special_provision():
    """附則第3条の2: both rates rest on one base rate of the year — base + 1 % (at most 7.3 %) and base + 7.3 %
    (at most 14.6 %) — so the two always differ by 6.3 points while the lower is under 7.3 %."""
    rules = load_late_charge_rules()
    assert sorted(rules.rates) == list(range(2014, 2027))
    for year, rates in rules.rates.items():
        assert rates.after - rates.first_month == Fraction(63, 1000), year
        assert rates.first_month <= Fraction(73, 1000) and rates.after <= Fraction(146, 1000)
        base = rates.first_month - Fraction(1, 100)
        assert f"{percent_text(base)}%" in rates.label, year


def test_the_calculator_answers_each_line_and_names_the_bad_field():
    from juminzei.late_charge import run_late_charge

    lines = [
        {"tax_amount": 65_000, "due_date": "2021-05-31", "payments": [{"date": "2022-01-31", "amount": 65_000}],
         "computed_on": "2022-01-31"},
        {"tax_amount": "65000", "due_date": "2021-05-31", "computed_on": "2022-01-31"},
        {"tax_amount": 65_000, "due_date": "2021-05-31", "payments": [{"date": "2022-02-01", "amount": 1}],
         "computed_on": "2022-01-31"},
        {"tax_amount": 65_000, "due_date": "31/05/2021", "computed_on": "2022-01-31"},
        {"tax_amount": 65_000, "due_date": "2021-05-31", "computed_on": "2022-01-31", "interest": 1},
    ]
    out = io.StringIO()
    errors = run_late_charge(io.StringIO("\n".join(json.dumps(x) for x in lines) + "\nnot json\n"), out)
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    assert errors == 5 and len(answers) == 6
    assert answers[0]["late_charge"] == 3_400 and answers[0]["segments"][1] == {
        "from": "2021-07-01", "to": "2021-12-31", "days": 184, "base": 65_000, "rate": "8.8", "amount": 2_883}
    assert [(a.get("field"), a.get("line")) for a in answers[1:]] == [
        ("tax_amount", 2), ("payments[0].date", 3), ("due_date", 4), ("interest", 5), ("", 6)]


def test_many_periods_at_once_give_what_each_gives_alone():
    """late_charges (frame operations, for the collection stage) against late_charge (one period, the function
    the published examples check) on the published cases and 400 drawn ones: due dates 2014–2025 (closed days
    included), taxes from 500 to 3,000,000 yen, up to three payments before or after the 納期限."""
    import numpy as np
    import polars as pl

    from transforms.late_charge import late_charges

    rng = np.random.default_rng(20261207)
    cases = [(tax, due, [(paid, tax)], paid) for tax, due, paid, *_ in (p.values for p in PUBLISHED)]
    for _ in range(400):
        due = date(2014, 1, 1) + timedelta(days=int(rng.integers(0, 12 * 365)))
        tax = int(rng.choice([500, 1_999, 2_000, 2_999, 75_000, 152_500, 3_000_000]))
        computed_on = due + timedelta(days=int(rng.integers(0, 700)))
        if computed_on.year > 2026:
            computed_on = date(2026, 12, 31)
        span = max((computed_on - due).days, 0)
        payments = [(due + timedelta(days=int(rng.integers(-20, span + 1))),
                     int(rng.integers(1, tax + 1))) for _ in range(int(rng.integers(0, 4)))]
        payments = [(d, a) for d, a in payments if d <= computed_on]
        cases.append((tax, due, payments, computed_on))
    periods = pl.DataFrame({"key": list(range(len(cases))), "tax_amount": [c[0] for c in cases],
                            "due_date": [c[1] for c in cases], "computed_on": [c[3] for c in cases]})
    payments = pl.DataFrame([(k, d, a) for k, c in enumerate(cases) for d, a in c[2]],
                            schema={"key": pl.Int64, "date": pl.Date, "amount": pl.Int64}, orient="row")
    result, segments = late_charges(periods, payments)
    # the draw reaches what matters: charges collected, bases lowered by a payment, two calendar years
    assert result.filter(pl.col("late_charge") > 0).height > 100
    assert segments.group_by("key").agg(pl.col("base").n_unique()).filter(pl.col("base") > 1).height > 20
    assert segments.group_by("key").agg(pl.col("start").dt.year().n_unique()).filter(pl.col("start") > 1).height > 20
    by_key = {r["key"]: r for r in result.iter_rows(named=True)}
    for key, (tax, due, paid, computed_on) in enumerate(cases):
        one = late_charge(tax, due, paid, computed_on)
        row = by_key[key]
        assert (row["late_charge"], row["before_rounding"], row["unpaid_tax"], row["due_date"]) == (
            one.late_charge, one.before_rounding, one.unpaid_tax, one.due_date), (tax, due, paid, computed_on)
        mine = segments.filter(pl.col("key") == key)
        assert mine.select("start", "end", "days", "base", "amount").rows() == [
            (s.start, s.end, s.days, s.base, s.amount) for s in one.segments], (tax, due, paid, computed_on)
