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

import polars as pl

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
            return f"{sign}{digits[:-places]}.{digits[-places:]}"
    raise ValueError(f"rate {rate} is not a short decimal percent")




# ------------------------------------------------------------------------------------ many periods at once
def rates_frame(rules: LateChargeRules) -> tuple[pl.DataFrame, int]:
    """The rates of every calendar year as integers over one common denominator (returned beside the frame):
    ``year``, ``first_num``, ``after_num`` — exact, so that the vectorised charge stays integer arithmetic."""
    import math

    denominator = math.lcm(*[r.first_month.denominator for r in rules.rates.values()],
                           *[r.after.denominator for r in rules.rates.values()])
    frame = pl.DataFrame({
        "_year": [r.year for r in rules.rates.values()],
        "_first_num": [int(r.first_month * denominator) for r in rules.rates.values()],
        "_after_num": [int(r.after * denominator) for r in rules.rates.values()],
    }, schema={"_year": pl.Int32, "_first_num": pl.Int64, "_after_num": pl.Int64})
    return frame, denominator


def late_charges(periods: pl.DataFrame, payments: pl.DataFrame, rules: LateChargeRules | None = None
                 ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`late_charge` for many periods at once, as frame operations (no loop over periods).

    ``periods``: ``key`` (any unique id), ``tax_amount``, ``due_date`` (moved off a closed day here),
    ``computed_on``; ``payments``: ``key``, ``date``, ``amount`` (none after its period's ``computed_on``).
    Returns (one row per period: ``key``, ``due_date``, ``late_charge``, ``before_rounding``, ``unpaid_tax``;
    one row per segment: ``key``, ``start``, ``end``, ``days``, ``base``, ``rate`` as a fraction's numerator over
    ``rate_denominator``, ``amount``). A segment in a calendar year without rates raises :class:`RuleError`."""
    from transforms.installments import next_open_day

    rules = rules or load_late_charge_rules()
    rates, denominator = rates_frame(rules)
    dues = periods.select(pl.col("due_date").unique())
    moved = {d: next_open_day(d) for d in dues["due_date"].to_list()}  # one per distinct date, not per person
    base = periods.with_columns(pl.col("due_date").replace_strict(moved, return_dtype=pl.Date))
    paid = payments.join(base.select("key", "due_date"), on="key", how="inner")
    early = paid.filter(pl.col("date") <= pl.col("due_date")).group_by("key").agg(
        pl.col("amount").sum().alias("_early"))
    late = paid.filter(pl.col("date") > pl.col("due_date")).group_by("key", "date").agg(pl.col("amount").sum()) \
        .sort("key", "date").with_columns(pl.col("amount").cum_sum().over("key").alias("_paid_by"))
    base = base.join(early, on="key", how="left").with_columns(
        (pl.col("tax_amount") - pl.col("_early").fill_null(0)).clip(lower_bound=0).alias("_at_due"),
        pl.col("due_date").dt.offset_by("1d").alias("_start"),
    ).with_columns(
        pl.col("_start").dt.offset_by(f"{rules.first_period_months}mo").alias("_corresponding"),
    ).with_columns(
        # 民法第143条: the day before the corresponding day, or the month's last day when there is none
        pl.when(pl.col("_corresponding").dt.day() == pl.col("_start").dt.day())
        .then(pl.col("_corresponding").dt.offset_by("-1d")).otherwise(pl.col("_corresponding")).alias("_first_end"),
    )
    charged = base.filter((pl.col("_at_due") >= rules.base_minimum) & (pl.col("computed_on") >= pl.col("_start")))
    year_ends = charged.select(
        "key", pl.int_ranges(pl.col("_start").dt.year(), pl.col("computed_on").dt.year() + 1).alias("_y"),
    ).explode("_y").select("key", pl.date(pl.col("_y"), 12, 31).alias("_cut"))
    cuts = pl.concat([
        year_ends,
        charged.select("key", pl.col("_first_end").alias("_cut")),
        charged.select("key", pl.col("computed_on").alias("_cut")),
        late.select("key", pl.col("date").alias("_cut")),
    ]).join(charged.select("key", "_start", "computed_on", "_first_end", "_at_due"), on="key", how="inner") \
        .filter((pl.col("_cut") >= pl.col("_start")) & (pl.col("_cut") <= pl.col("computed_on"))) \
        .unique(["key", "_cut"]).sort("key", "_cut")
    segments = cuts.with_columns(
        pl.col("_cut").shift(1).over("key").dt.offset_by("1d").fill_null(pl.col("_start")).alias("start"),
        pl.col("_cut").alias("end"),
    ).with_columns(pl.col("start").dt.offset_by("-1d").alias("_before"))
    # what is still unpaid on a segment's first day: the tax at the 納期限 less what was paid before that day
    segments = segments.sort("_before").join_asof(
        late.select("key", pl.col("date").alias("_before"), "_paid_by").sort("_before"),
        on="_before", by="key", strategy="backward", check_sortedness=False,  # sorted by _before within key
    ).with_columns((pl.col("_at_due") - pl.col("_paid_by").fill_null(0)).alias("_unpaid")) \
        .filter(pl.col("_unpaid") > 0)
    segments = segments.with_columns(pl.col("start").dt.year().cast(pl.Int32).alias("_year")) \
        .join(rates, on="_year", how="left")
    missing = segments.filter(pl.col("_first_num").is_null())["_year"].unique().sort().to_list()
    if missing:
        known = sorted(rules.rates)
        raise RuleError(f"{rules.file}: there are no 延滞金 rates for the calendar year {missing[0]} (the rules hold "
                        f"{known[0]}–{known[-1]})")
    segments = segments.with_columns(
        ((pl.col("end") - pl.col("start")).dt.total_days() + 1).cast(pl.Int64).alias("days"),
        (pl.col("_unpaid") // rules.base_unit * rules.base_unit).alias("base"),
        pl.when(pl.col("start") <= pl.col("_first_end")).then("_first_num").otherwise("_after_num").alias("rate"),
    ).with_columns(
        (pl.col("base") * pl.col("rate") * pl.col("days") // (denominator * rules.year_days)
         // rules.segment_unit * rules.segment_unit).alias("amount"),
    ).select("key", "start", "end", "days", "base", "rate", "amount").sort("key", "start")
    totals = segments.group_by("key").agg(pl.col("amount").sum().alias("before_rounding"))
    paid_total = late.group_by("key").agg(pl.col("amount").sum().alias("_late_paid"))
    result = base.join(totals, on="key", how="left").join(paid_total, on="key", how="left").with_columns(
        pl.col("before_rounding").fill_null(0),
        (pl.col("_at_due") - pl.col("_late_paid").fill_null(0)).clip(lower_bound=0).alias("unpaid_tax"),
    ).with_columns(
        (pl.col("before_rounding") // rules.charge_unit * rules.charge_unit).alias("late_charge"),
    ).with_columns(
        pl.when(pl.col("late_charge") < rules.charge_minimum).then(0).otherwise("late_charge").alias("late_charge"),
    ).select("key", "due_date", "late_charge", "before_rounding", "unpaid_tax")
    return result, segments.with_columns(pl.lit(denominator).alias("rate_denominator"))


__all__ = ["LateCharge", "LateChargeRules", "Segment", "YearRates", "late_charge", "late_charges",
           "load_late_charge_rules", "months_later_end", "percent_text", "rates_frame"]
