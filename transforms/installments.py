"""期割 (installments) of each collection route and their 納期限, by the law and the rule files.

Three routes carry the 個人住民税 (with the 森林環境税 levied with its 均等割):

- 普通徴収 (``ordinary``): the 納期 of 地方税法第320条 as the municipality's ordinance fixes them (特別区:
  the last day of June, August, October and January); each 期 takes an equal share rounded down to the
  ordinance's unit, the fractions, and an amount wholly below the unit, go to the first 期
  (第20条の4の2第6項).
- 給与特別徴収 (``salary``): twelve monthly amounts June to May, 100円未満 fractions (or the whole of a tax
  under 1,200円) in June (第321条の5第1項); the employer pays each in by the 10th of the next month. A notice
  sent after 5月31日 starts the withholding in the month after it, over the months left to May.
- 年金特別徴収 (``pension_provisional``, ``pension_main``): 仮徴収 in April, June and August and 本徴収 in
  October, December and February (第321条の7の2, 第321条の7の8); a person new to the route pays half by
  普通徴収 in the first two 納期 instead of 仮徴収.

Every 納期限 that falls on a Saturday, Sunday, national holiday or 12月29日〜1月3日 moves to the next
day that is none of these (第20条の5第2項, 施行令第6条の18); the national holidays come from the
maintained ``holidays`` package (国民の祝日に関する法律, 振替休日 and 国民の休日 included).

The amounts are Polars expressions over a whole frame (one row per person and route); the schedules
(which months, which dates) are computed once per fiscal year from the rule files. Nothing loops over
people. ``juminzei installments`` (juminzei/installments_cli.py) is the calculator over the same code.
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from contracts.notice_export import ROUTES
from transforms.tax_engine import floor_to_unit, times_fraction
from transforms.tax_rules import RULES_DIR, RuleError, RuleSet, _load_yaml

I64 = pl.Int64
METHODS = ("ordinary", "salary", "pension")
INSTALLMENT_RULES_DIR = RULES_DIR / "installments"


# ----------------------------------------------------------------------------------- 納期限
@functools.cache
def _national_holidays(year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays("JP", years=year))


def is_closed(day: date) -> bool:
    """Whether a 期限 falling on ``day`` moves (地方税法第20条の5第2項: 民法第142条の休日 and 一般の休日, and
    the days of 施行令第6条の18: Saturdays and 12月29日〜31日; 1月1日〜3日 are 一般の休日)."""
    return (
        day.weekday() >= 5
        or day in _national_holidays(day.year)
        or (day.month == 12 and day.day >= 29)
        or (day.month == 1 and day.day <= 3)
    )


def next_open_day(day: date) -> date:
    """``day`` itself, or the first later day on which a 期限 can fall (地方税法第20条の5第2項)."""
    while is_closed(day):
        day += timedelta(days=1)
    return day


def months_in_order(fiscal_year: int, months: list[int]) -> list[tuple[int, int]]:
    """(year, month) of each month of a schedule listed in order from the 年度's first: the first month is
    in ``fiscal_year`` and the year turns wherever the list wraps (June … December, January … May)."""
    year, previous, out = fiscal_year, 0, []
    for month in months:
        if not 1 <= month <= 12:
            raise ValueError(f"month must be 1–12, got {month}")
        if month <= previous:
            year += 1
        out.append((year, month))
        previous = month
    return out


def _day_in(year: int, month: int, day: int | str) -> date:
    last = calendar.monthrange(year, month)[1]
    return date(year, month, last if day == "last" else min(int(day), last))


# ----------------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class InstallmentRules(RuleSet):
    """The installment rules in force for a fiscal year (the latest file of rules/installments/ whose
    ``from_fiscal_year`` is not after it: these rules change seldom, so a file holds from its year on)."""

    @property
    def from_fiscal_year(self) -> int:
        return int(self.header["from_fiscal_year"])

    def months(self, path: str) -> list[int]:
        value = self.get(path)
        # a YAML `true` is an int to Python, not month 1
        months = isinstance(value, list) and all(isinstance(m, int) and not isinstance(m, bool) for m in value)
        if not value or not months or not all(1 <= m <= 12 for m in value):
            raise RuleError(f"{self.file}: {path} must be a list of months 1–12, got {value!r}")
        return list(value)


def installment_rule_years() -> list[int]:
    return sorted(int(p.stem.removeprefix("fiscal_year_")) for p in INSTALLMENT_RULES_DIR.glob("fiscal_year_*.yaml"))


@functools.cache
def load_installment_rules(fiscal_year: int) -> InstallmentRules:
    years = [y for y in installment_rule_years() if y <= int(fiscal_year)]
    if not years:
        first = min(installment_rule_years(), default=None)
        raise RuleError(f"there are no installment rules for fiscal year {fiscal_year} (rules/installments/ starts "
                        f"at {first})")
    path = INSTALLMENT_RULES_DIR / f"fiscal_year_{years[-1]}.yaml"
    data = _load_yaml(path)  # a mapping, with no float anywhere (money is integers)
    file = f"installments/{path.name}"
    if int(data.get("from_fiscal_year", -1)) != years[-1]:
        raise RuleError(f"{file}: from_fiscal_year must be {years[-1]}, as the file name says")
    rules = InstallmentRules(file, {k: v for k, v in data.items() if k != "parameters"}, data.get("parameters") or {})
    rules.refuse_undocumented()
    return rules


# ----------------------------------------------------------------------------------- schedules
@dataclass(frozen=True)
class Slot:
    """One installment of a route: the month it is paid in (``period``, YYYY-MM) and its 納期限."""

    period: str
    due_date: date
    route: str


def ordinary_slots(fiscal_year: int, due_months: list[int], due_day: int | str = "last") -> list[Slot]:
    """The 普通徴収 納期 of the 年度 in order (第320条; the months and day from the municipality's ordinance)."""
    return [Slot(f"{year:04d}-{m:02d}", next_open_day(_day_in(year, m, due_day)), "ordinary")
            for year, m in months_in_order(fiscal_year, due_months)]


def remaining_slots(slots: list[Slot], notice_date: date, lead_days: int) -> list[Slot]:
    """The 普通徴収 納期 of a notice issued on ``notice_date``: those whose 納期限 is at least ``lead_days``
    after it (地方税法第319条の2第3項: the notice reaches the taxpayer 10 days before the 納期限); when
    none is left, one 随時 納期 at the end of the month after the notice (rules ``late_notice``)."""
    ahead = [s for s in slots if s.due_date >= notice_date + timedelta(days=lead_days)]
    if ahead:
        return ahead
    year, month = (notice_date.year + 1, 1) if notice_date.month == 12 else (notice_date.year, notice_date.month + 1)
    return [Slot(f"{year:04d}-{month:02d}", next_open_day(_day_in(year, month, "last")), "ordinary")]


def _pay_in_slots(fiscal_year: int, months: list[int], pay_in_day: int, route: str) -> list[Slot]:
    """Months of 特別徴収: withheld in each month, paid in by ``pay_in_day`` of the next month."""
    slots = []
    for year, month in months_in_order(fiscal_year, months):
        pay_year, pay_month = (year + 1, 1) if month == 12 else (year, month + 1)
        slots.append(Slot(f"{year:04d}-{month:02d}", next_open_day(_day_in(pay_year, pay_month, pay_in_day)), route))
    return slots


def salary_slots(fiscal_year: int, rules: InstallmentRules, notice_date: date | None = None) -> list[Slot]:
    """The months of 給与特別徴収. A notice later than the day the law sets for it (5月31日, 第321条の4第1項)
    starts the withholding in the month after the notice month (第321条の5第1項; rules
    ``salary_special_collection.notice_deadline_*``); a notice after the last month leaves none."""
    p = "salary_special_collection"
    slots = _pay_in_slots(fiscal_year, rules.months(f"{p}.months"), rules.amount(f"{p}.pay_in_day"), "salary")
    if notice_date is None:
        return slots
    deadline = date(fiscal_year, rules.amount(f"{p}.notice_deadline_month"), rules.amount(f"{p}.notice_deadline_day"))
    if notice_date <= deadline:
        return slots
    return [s for s in slots if s.period > f"{notice_date.year:04d}-{notice_date.month:02d}"]


def pension_slots(fiscal_year: int, rules: InstallmentRules, route: str) -> list[Slot]:
    p = "pension_special_collection"
    key = {"pension_provisional": "provisional_months", "pension_main": "main_months"}[route]
    return _pay_in_slots(fiscal_year, rules.months(f"{p}.{key}"), rules.amount(f"{p}.pay_in_day"), route)


# ----------------------------------------------------------------------------------- amounts
def equal_shares(total: pl.Expr, count: int, unit: int) -> list[pl.Expr]:
    """``total`` in ``count`` installments: each the equal share rounded down to ``unit``; the fractions of
    every share, and a total wholly below ``count × unit``, go to the first (地方税法第20条の4の2第6項 with
    1,000円 or the ordinance's unit; 第321条の5第1項 with 100円). The shares sum to the total exactly."""
    if count < 1 or unit < 1:
        raise ValueError(f"count and unit must be positive, got {count} and {unit}")
    share = floor_to_unit(total // count, unit)
    return [total - share * (count - 1), *([share] * (count - 1))]


def pension_amounts(annual: pl.Expr, previous: pl.Expr, first_year: pl.Expr, rules: InstallmentRules,
                    ordinary_unit: int, first_count: int | None = None) -> dict[str, list[pl.Expr]]:
    """The amounts of the pension route for one 年度, as expressions per slot:

    ``ordinary`` (first year only: the half not withheld, in the first two 普通徴収 納期),
    ``pension_provisional`` (continuing persons: 仮徴収 April/June/August) and ``pension_main`` (本徴収
    October/December/February). The 本徴収 takes what the others leave, never below 0. ``first_count``: the
    number of 普通徴収 納期 the first-year half is paid in (those of the rules, fewer after a late notice).
    """
    p = "pension_special_collection"
    unit = rules.amount(f"{p}.unit")
    if first_count is None:
        first_count = len(rules.months(f"{p}.first_year_ordinary_months"))
    provisional_count = len(rules.months(f"{p}.provisional_months"))
    main_count = len(rules.months(f"{p}.main_months"))
    half = rules.percent(f"{p}.share_of_annual")  # ½ (地方税法第321条の7の2第1項, 第321条の7の8第1項)
    minimum = rules.amount(f"{p}.minimum")

    # first year: the withheld half, rounded down to 100円 (100円 when that is less, never more than the
    # annual amount); the rest by 普通徴収 in two 納期
    withheld_first = pl.min_horizontal(
        pl.max_horizontal(floor_to_unit(times_fraction(annual, half), unit), minimum), annual
    )
    ordinary_first = annual - withheld_first
    # continuing: 仮徴収 total = ½ of the previous 年度's pension-route tax, rounded down to 100円
    provisional_total = floor_to_unit(times_fraction(previous, half), unit)
    provisional = [pl.when(first_year).then(0).otherwise(a) for a in equal_shares(provisional_total, provisional_count, unit)]
    main_total = pl.when(first_year).then(withheld_first).otherwise(pl.max_horizontal(annual - provisional_total, 0))
    ordinary = [pl.when(first_year).then(a).otherwise(0) for a in equal_shares(ordinary_first, first_count, ordinary_unit)]
    return {
        "ordinary": ordinary,
        "pension_provisional": provisional,
        "pension_main": equal_shares(main_total, main_count, unit),
    }


def installments_frame(frame: pl.DataFrame, *, key: str = "key") -> pl.DataFrame:
    """Installments of every row of ``frame`` (columns ``key``, ``fiscal_year``, ``method``, ``annual_tax``,
    ``rounding_unit``, ``due_months`` (list), ``due_day``, ``first_year``, ``previous_year_annual_tax``, and
    optionally ``notice_date``: a notice issued after a 納期 pays in the 納期 still ahead, rules
    ``late_notice``) as a long frame: ``key``, ``sequence``, ``period``, ``due_date``, ``amount``, ``route``;
    installments of 0円 are left out (a tax smaller than the unit is paid once). Rows are grouped by their
    schedule (year, method, months, unit, notice date): a loop over a handful of schedules, never over people."""
    out = []
    schedule_keys = ["fiscal_year", "method", "due_months", "due_day", "rounding_unit"]
    if "notice_date" in frame.columns:
        schedule_keys.append("notice_date")
    for keys, rows in frame.group_by(schedule_keys, maintain_order=True):
        fiscal_year, method, due_months, due_day, unit = keys[:5]
        notice_date = keys[5] if len(keys) > 5 else None
        rules = load_installment_rules(int(fiscal_year))
        ordinary = ordinary_slots(int(fiscal_year), list(due_months), due_day)
        if notice_date is not None:
            ordinary = remaining_slots(ordinary, notice_date, rules.amount("late_notice.lead_days"))
        annual = pl.col("annual_tax")
        pieces: list[tuple[Slot, pl.Expr]] = []
        if method == "ordinary":
            pieces = list(zip(ordinary, equal_shares(annual, len(ordinary), int(unit))))
        elif method == "salary":
            slots = salary_slots(int(fiscal_year), rules, notice_date)
            if not slots:
                raise RuleError(f"a 給与特別徴収 notice of {notice_date} leaves no month of the {fiscal_year} 年度 to "
                                "withhold in (the last is May): collect the tax by 普通徴収")
            pieces = list(zip(slots, equal_shares(annual, len(slots), rules.amount("salary_special_collection.unit"))))
        elif method == "pension":
            first_months = rules.months("pension_special_collection.first_year_ordinary_months")
            first_slots = [s for s in ordinary if int(s.period[5:]) in first_months]
            if notice_date is None and len(first_slots) != len(first_months):
                raise RuleError(f"the first-year 普通徴収 months {first_months} are not all 普通徴収 納期 {list(due_months)}")
            if not first_slots:  # a late notice after the first-year months: the half in the next 納期 ahead
                first_slots = ordinary[:1]
            amounts = pension_amounts(annual, pl.col("previous_year_annual_tax").fill_null(0), pl.col("first_year"),
                                      rules, int(unit), first_count=len(first_slots))
            slots = {
                "ordinary": first_slots,
                "pension_provisional": pension_slots(int(fiscal_year), rules, "pension_provisional"),
                "pension_main": pension_slots(int(fiscal_year), rules, "pension_main"),
            }
            pieces = [pair for route in slots for pair in zip(slots[route], amounts[route])]
        else:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        pieces.sort(key=lambda pair: (pair[0].period, ROUTES.index(pair[0].route)))
        long = rows.select(
            pl.col(key),
            pl.concat_list([pl.lit(i, pl.Int32) for i in range(len(pieces))]).alias("sequence"),
            pl.concat_list([amount.cast(I64) for _, amount in pieces]).alias("amount"),
        ).explode(["sequence", "amount"])
        slots_frame = pl.DataFrame({
            "sequence": list(range(len(pieces))),
            "period": [s.period for s, _ in pieces],
            "due_date": [s.due_date for s, _ in pieces],
            "route": [s.route for s, _ in pieces],
        }, schema={"sequence": pl.Int32, "period": pl.String, "due_date": pl.Date, "route": pl.String})
        out.append(long.join(slots_frame, on="sequence", how="left"))
    schema = {key: frame.schema[key], "sequence": pl.Int32, "amount": I64, "period": pl.String,
              "due_date": pl.Date, "route": pl.String}
    if not out:  # the columns in the order of a non-empty answer
        return pl.DataFrame(schema=schema).select(key, "sequence", "period", "due_date", "amount", "route")
    result = pl.concat(out).filter(pl.col("amount") != 0).sort(key, "sequence")
    # number what is left, 0 upwards, per row of the input
    result = result.with_columns(pl.int_range(pl.len(), dtype=pl.Int32).over(key).alias("sequence"))
    return result.select(key, "sequence", "period", "due_date", "amount", "route")


def profile_schedule(profile: RuleSet) -> dict[str, Any]:
    """The municipality's 普通徴収 schedule: its 納期 months, the day in the month and the rounding unit."""
    p = "ordinary_collection"
    months = profile.get(f"{p}.due_months")
    unit = profile.amount(f"{p}.rounding_unit")
    day = profile.get(f"{p}.due_day")
    if unit not in (100, 1000):
        raise RuleError(f"{profile.file}: {p}.rounding_unit must be 100 or 1000, got {unit!r}")
    return {"due_months": list(months), "rounding_unit": unit, "due_day": day}


__all__ = [
    "ROUTES", "METHODS", "Slot", "months_in_order", "InstallmentRules", "load_installment_rules", "is_closed", "next_open_day",
    "ordinary_slots", "remaining_slots", "salary_slots", "pension_slots", "equal_shares", "pension_amounts", "installments_frame",
    "profile_schedule",
]
