"""延滞金 (late-payment charge) of one unpaid tax period: 地方税法第326条 (個人住民税), 附則第3条の2 (特例).

The charge runs from the day after the 納期限 (due date) to the day the tax is paid, on the unpaid tax:

* at the lower rate up to the day one month after the 納期限 has passed (納期限の翌日から起算して1月を経過する日,
  民法第143条: the day before the corresponding day of the next month, or the month's last day when it has
  none), at the higher rate after it; each rate is that of the calendar year the day falls in
  (``rules/late_charge.yaml``: 7.3 % and 14.6 % by the law, lowered every year by the 特例 of 附則第3条の2);
* on the unpaid tax with its 1,000円未満 cut off, and on nothing when the tax unpaid at the 納期限 is under
  2,000円 (地方税法第20条の4の2第2項); a payment is applied to the tax first and lowers the base from the day
  after it (the charge runs to the day of payment on the part paid; the rule of 国税通則法第62条, whose
  local-tax article was not found — rules file ``basis_notes``);
* per 365 days a year, leap years too (利率等の表示の年利建て移行に関する法律第25条);
* each segment of days with one base and one rate gives base × rate × days / 365, its 1円未満 cut off (the
  practice of every municipal example); the sum has its 100円未満 cut off, and a sum under 1,000円 is not
  collected (地方税法第20条の4の2第5項).

The rates and every unit and threshold are rule data (``rules/late_charge.yaml``), each with its legal basis;
this module holds the formula only. Exact arithmetic (:class:`fractions.Fraction`); nothing here reads the
clock, the disk (but the rules file) or logs a value.

The calculator (``juminzei late-charge``, docs/late-charge.md) answers one period per input line. The
collection stage will compute the charge for the periods it posts; at the scale of a ward the same rules
apply per period in a frame (issue 15).
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from transforms.tax_rules import RULES_DIR, RuleError, RuleSet, _load_yaml, check_basis, to_fraction

RULES_FILE = RULES_DIR / "late_charge.yaml"


@dataclass(frozen=True)
class YearRates:
    """The two 延滞金 rates of one calendar year, in percent a year, and where they are published."""

    year: int
    first_month: Fraction  # a year, as a fraction (0.024 for 2.4 %): up to one month after the 納期限
    after: Fraction  # from then on
    label: str  # e.g. 延滞金特例基準割合 1.4 %
    source: str


@dataclass(frozen=True)
class LateChargeRules:
    """``rules/late_charge.yaml``: the units and thresholds of the computation and the rates per calendar year."""

    file: str
    year_days: int
    first_period_months: int
    base_unit: int
    base_minimum: int
    segment_unit: int
    charge_unit: int
    charge_minimum: int
    rates: dict[int, YearRates]

    def rates_of(self, year: int) -> YearRates:
        try:
            return self.rates[year]
        except KeyError:
            known = sorted(self.rates)
            raise RuleError(f"{self.file}: there are no 延滞金 rates for the calendar year {year} (the rules hold "
                            f"{known[0]}–{known[-1]}; a year's 特例 rates follow the 平均貸付割合 the 財務大臣 "
                            "announces by 30 November of the year before: add its row when published)"
                            ) from None


@functools.cache
def load_late_charge_rules() -> LateChargeRules:
    data = _load_yaml(RULES_FILE)
    file = f"rules/{RULES_FILE.name}"
    rules = RuleSet(file, {k: v for k, v in data.items() if k != "parameters"}, data.get("parameters") or {})
    rules.refuse_undocumented()
    rates: dict[int, YearRates] = {}
    for row in rules.table("late_charge_rates.table"):
        year = row.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or year in rates:
            raise RuleError(f"{file}: late_charge_rates.table: each row needs a calendar year of its own, got {year!r}")
        problems = check_basis(row, file, f"late_charge_rates.table[{year}]")
        if problems:
            raise RuleError("; ".join(problems))
        first = to_fraction(row.get("first_month_percent"), file=file, key=f"{year}.first_month_percent")
        after = to_fraction(row.get("after_percent"), file=file, key=f"{year}.after_percent")
        rates[year] = YearRates(year, first, after, str(row.get("label", "")), "; ".join(row["basis"]))
    years = sorted(rates)
    if years != list(range(years[0], years[-1] + 1)):
        raise RuleError(f"{file}: late_charge_rates.table must hold every calendar year from {years[0]} to "
                        f"{years[-1]}")
    return LateChargeRules(
        file=file,
        year_days=rules.amount("late_charge_computation.year_days"),
        first_period_months=rules.amount("late_charge_computation.first_period_months"),
        base_unit=rules.amount("late_charge_computation.base_unit"),
        base_minimum=rules.amount("late_charge_computation.base_minimum"),
        segment_unit=rules.amount("late_charge_computation.segment_unit"),
        charge_unit=rules.amount("late_charge_computation.charge_unit"),
        charge_minimum=rules.amount("late_charge_computation.charge_minimum"),
        rates=rates,
    )


def months_later_end(start: date, months: int) -> date:
    """The last day of a period of ``months`` months counted from ``start`` (its first day): the day before
    the corresponding day ``months`` later, or that month's last day when it has no corresponding day
    (民法第143条第2項)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    if start.day > last:
        return date(year, month, last)
    return date(year, month, start.day) - timedelta(days=1)


@dataclass(frozen=True)
class Segment:
    start: date
    end: date  # inclusive
    days: int
    base: int  # the unpaid tax, 1,000円未満 cut off
    rate: Fraction  # a year, as a fraction (0.087 for 8.7 %)
    amount: int  # yen, 1円未満 cut off


@dataclass(frozen=True)
class LateCharge:
    late_charge: int  # the yen to collect, after every statutory rounding
    before_rounding: int  # the sum of the segments
    segments: tuple[Segment, ...]
    unpaid_tax: int  # tax still unpaid at the end of the computation
    due_date: date  # the 納期限 the charge runs from (moved off a closed day)


def late_charge(tax_amount: int, due_date: date, payments: list[tuple[date, int]], computed_on: date,
                rules: LateChargeRules | None = None) -> LateCharge:
    """The 延滞金 of one period: ``tax_amount`` (the tax of the period, yen), its ``due_date`` (納期限; one
    that falls on a Saturday, Sunday, holiday or 12月29日〜1月3日 moves to the next open day, 地方税法第20条の5
    第2項), ``payments`` (date, yen) in any order — each applied to the tax first — and the day of computation
    (the charge on tax still unpaid runs to it, that day included)."""
    from transforms.installments import next_open_day

    rules = rules or load_late_charge_rules()
    due_date = next_open_day(due_date)
    if tax_amount < 0 or any(amount < 0 for _, amount in payments):
        raise ValueError("amounts are yen of 0 or more")
    if computed_on < due_date:
        return LateCharge(0, 0, (), max(tax_amount - sum(a for _, a in payments), 0), due_date)
    if any(day > computed_on for day, _ in payments):
        raise ValueError("a payment is dated after computed_on")
    first_end = months_later_end(due_date + timedelta(days=1), rules.first_period_months)

    # the unpaid tax at the end of each day: payments on or before the 納期限 count before any charge runs
    unpaid = tax_amount
    by_day: dict[date, int] = {}
    for day, amount in sorted(payments):
        if day <= due_date:
            unpaid = max(unpaid - amount, 0)
        else:
            by_day[day] = by_day.get(day, 0) + amount
    # breakpoints after which the base or the rate changes: each payment day (the base falls the day after),
    # the end of the first month, each 31 December
    cuts = set(by_day) | {first_end}
    cuts |= {date(y, 12, 31) for y in range(due_date.year, computed_on.year + 1)}
    if unpaid < rules.base_minimum:  # その全額が2,000円未満: no 延滞金 at all
        return LateCharge(0, 0, (), max(unpaid - sum(by_day.values()), 0), due_date)
    segments: list[Segment] = []
    start = due_date + timedelta(days=1)
    for cut in sorted(c for c in cuts if c >= start) + [computed_on]:
        if unpaid == 0 or start > computed_on:
            break
        end = min(cut, computed_on)
        if end >= start:
            base = unpaid // rules.base_unit * rules.base_unit
            rates = rules.rates_of(start.year)
            rate = rates.first_month if start <= first_end else rates.after
            days = (end - start).days + 1
            exact = Fraction(base) * rate * days / rules.year_days
            amount = int(exact // rules.segment_unit) * rules.segment_unit
            segments.append(Segment(start, end, days, base, rate, amount))
            start = end + timedelta(days=1)
        if end in by_day:
            unpaid = max(unpaid - by_day[end], 0)
    total = sum(s.amount for s in segments)
    charge = total // rules.charge_unit * rules.charge_unit
    if charge < rules.charge_minimum:
        charge = 0
    return LateCharge(charge, total, tuple(segments), unpaid, due_date)


def percent_text(rate: Fraction) -> str:
    """A rate as the exact percent it was published as ("8.7", "14.6")."""
    percent = rate * 100
    for places in range(1, 7):
        scaled = percent * 10**places
        if scaled.denominator == 1:
            digits = str(abs(scaled.numerator)).rjust(places + 1, "0")
            sign = "-" if scaled < 0 else ""
            return sign + (f"{digits[:-places]}.{digits[-places:]}" if places else digits)
    raise ValueError(f"rate {rate} is not a short decimal percent")


__all__ = ["LateCharge", "LateChargeRules", "Segment", "YearRates", "late_charge", "load_late_charge_rules",
           "months_later_end", "percent_text"]
