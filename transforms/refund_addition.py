"""還付加算金 (interest added to a refund of overpaid local tax): 地方税法第17条の4, 附則第3条の2 (特例).

When the ward refunds (還付) or applies (充当) a 過誤納金, it adds interest on it:

* from the day after the day its cause sets (第17条の4第1項各号: the day of payment for a 過納 left by a
  更正・決定・賦課決定, the day one month after it for a 誤納 such as a payment made twice; the causes and their
  days are rule data, ``rules/refund_addition.yaml``) to the day the refund is decided (還付のための支出を決定
  した日) or the 充当 day, both counted; a refund made of several payments runs per payment, each from its
  own start, all to the same end;
* at the rate of the calendar year each day falls in: 7.3 % by the law, lowered every year by the 特例 of
  附則第3条の2 (2014–2020 the 特例基準割合, from 2021 the 還付加算金特例基準割合 = 平均貸付割合 + 0.5 %);
* per 365 days a year, leap years too (利率等の表示の年利建て移行に関する法律第25条);
* on each payment's part of the refund with its 1,000円未満 cut off, and on nothing when the refund is under
  2,000円 (地方税法第20条の4の2第2項); each segment of days with one base and one rate gives
  base × rate × days / 365, its 1円未満 cut off; the sum has its 100円未満 cut off, and a sum under 1,000円
  is not added (第20条の4の2第5項).

The rates, the causes and every unit and threshold are rule data, each with its legal basis; this module
holds the formula only. Exact arithmetic (:class:`fractions.Fraction`; integer numerators over one common
denominator in the frame form); nothing here reads the clock, the disk (but the rules file) or logs a value.

:func:`refund_addition` answers one refund with its breakdown; :func:`refund_additions` answers a frame of
refunds at once (frame operations, no loop over refunds) and is held equal to the first by a test.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

import polars as pl

from transforms.late_charge import months_later_end, percent_text
from transforms.tax_rules import RULES_DIR, RuleError, RuleSet, _load_yaml, check_basis, to_fraction

RULES_FILE = RULES_DIR / "refund_addition.yaml"
#: The days a cause's start rule may name that this calculator takes as input (the day of each payment).
#: A cause whose start needs another day (the 更正の請求, the 所得税 更正通知) is refused until it takes it.
DAYS_TAKEN = ("paid_on",)
#: Columns of the frame :func:`refund_additions` reads: one row per payment making up a refund.
REFUND_COLUMNS = {"refund_id": pl.String, "cause": pl.String, "paid_on": pl.Date, "amount": pl.Int64,
                  "decided_on": pl.Date}


@dataclass(frozen=True)
class StartRule:
    """One day a cause of 過誤納 names (第17条の4第1項各号) and how far after it the start day lies."""

    day: str  # the day named: paid_on (納付又は納入があった日), corrected_on, …
    months: int  # 0: that day itself; N: the day N months counted from the day after it have passed


@dataclass(frozen=True)
class Cause:
    """A cause of 過誤納 (過納 after a 減額, 誤納, …) and the day its 還付加算金 starts after."""

    cause: str  # e.g. assessment_reduced  # 更正・決定・賦課決定による過納金
    label: str
    start_from: tuple[StartRule, ...]  # the earliest of them is the day; the addition runs from the day after
    supported: bool
    source: str  # its legal basis, for explanations


@dataclass(frozen=True)
class YearRate:
    """The 還付加算金 rate of one calendar year and where it comes from."""

    year: int
    rate: Fraction  # a year, as a fraction (0.009 for 0.9 %)
    label: str  # e.g. 還付加算金特例基準割合 0.9 %
    source: str


@dataclass(frozen=True)
class RefundAdditionRules:
    """``rules/refund_addition.yaml``: units and thresholds, the causes, the rate of every calendar year."""

    file: str
    year_days: int
    base_unit: int
    base_minimum: int
    segment_unit: int
    addition_unit: int
    addition_minimum: int
    causes: dict[str, Cause]
    rates: dict[int, YearRate]

    def rate_of(self, year: int) -> YearRate:
        try:
            return self.rates[year]
        except KeyError:
            raise RuleError(_missing_year(self, year)) from None

    def cause_of(self, cause: str) -> Cause:
        """The cause named, refusing one the rules do not list or whose start day this calculator cannot set."""
        found = self.causes.get(cause)
        if found is None:
            raise RuleError(f"{self.file}: {cause!r} is not a cause of 過誤納 the rules list "
                            f"(refund_addition_causes: {', '.join(sorted(self.causes))})")
        if not found.supported:
            needed = sorted({r.day for r in found.start_from} - set(DAYS_TAKEN))
            raise RuleError(f"{self.file}: the 還付加算金 of a {cause!r} refund ({found.label}) starts from "
                            f"{' / '.join(needed)}, a day this calculator does not take yet; compute it by "
                            "hand (refund_addition_causes.table)")
        return found


def _missing_year(rules: RefundAdditionRules, year: int) -> str:
    known = sorted(rules.rates)
    return (f"{rules.file}: there is no 還付加算金 rate for the calendar year {year} (the rules hold "
            f"{known[0]}–{known[-1]}; a year's 還付加算金特例基準割合 follows the 平均貸付割合 the 財務大臣 "
            "announces by 30 November of the year before: add its row when published)")


def _load_causes(rules: RuleSet, file: str) -> dict[str, Cause]:
    causes: dict[str, Cause] = {}
    for row in rules.table("refund_addition_causes.table"):
        name = row.get("cause")
        where = f"refund_addition_causes.table[{name}]"
        if not isinstance(name, str) or not name or name in causes:
            raise RuleError(f"{file}: refund_addition_causes.table: each row needs a cause name of its own, "
                            f"got {name!r}")
        problems = check_basis(row, file, where)
        if problems:
            raise RuleError("; ".join(problems))
        starts = row.get("start_from")
        if not isinstance(starts, list) or not starts:
            raise RuleError(f"{file}: {where}.start_from must list at least one {{day, months}}")
        rules_: list[StartRule] = []
        for start in starts:
            day, months = (start.get("day"), start.get("months")) if isinstance(start, dict) else (None, None)
            if not isinstance(day, str) or isinstance(months, bool) or not isinstance(months, int) or months < 0:
                raise RuleError(f"{file}: {where}.start_from: each entry is {{day: name, months: 0 or more}}, "
                                f"got {start!r}")
            rules_.append(StartRule(day, months))
        supported = row.get("supported")
        if not isinstance(supported, bool):
            raise RuleError(f"{file}: {where}.supported must be true or false, got {supported!r}")
        if supported and any(r.day not in DAYS_TAKEN for r in rules_):
            raise RuleError(f"{file}: {where} is marked supported but starts from a day the calculator does "
                            f"not take (it takes {', '.join(DAYS_TAKEN)})")
        causes[name] = Cause(name, str(row.get("label", "")), tuple(rules_), supported, "; ".join(row["basis"]))
    return causes


@functools.cache
def load_refund_addition_rules() -> RefundAdditionRules:
    data = _load_yaml(RULES_FILE)
    file = f"rules/{RULES_FILE.name}"
    rules = RuleSet(file, {k: v for k, v in data.items() if k != "parameters"}, data.get("parameters") or {})
    rules.refuse_undocumented()
    statutory = rules.percent("refund_addition_rates.statutory_percent")  # 第17条の4第1項: 年7.3%
    rates: dict[int, YearRate] = {}
    for row in rules.table("refund_addition_rates.table"):
        year = row.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or year in rates:
            raise RuleError(f"{file}: refund_addition_rates.table: each row needs a calendar year of its own, "
                            f"got {year!r}")
        problems = check_basis(row, file, f"refund_addition_rates.table[{year}]")
        if problems:
            raise RuleError("; ".join(problems))
        rate = to_fraction(row.get("percent"), file=file, key=f"{year}.percent")
        if not 0 < rate <= statutory:
            raise RuleError(f"{file}: refund_addition_rates.table[{year}].percent must be above 0 and at most "
                            f"the law's {percent_text(statutory)} % (the 特例 applies only while it is lower)")
        rates[year] = YearRate(year, rate, str(row.get("label", "")), "; ".join(row["basis"]))
    years = sorted(rates)
    if not years or years != list(range(years[0], years[-1] + 1)):
        raise RuleError(f"{file}: refund_addition_rates.table must hold every calendar year from the first to "
                        "the last")
    return RefundAdditionRules(
        file=file,
        year_days=rules.amount("refund_addition_computation.year_days"),
        base_unit=rules.amount("refund_addition_computation.base_unit"),
        base_minimum=rules.amount("refund_addition_computation.base_minimum"),
        segment_unit=rules.amount("refund_addition_computation.segment_unit"),
        addition_unit=rules.amount("refund_addition_computation.addition_unit"),
        addition_minimum=rules.amount("refund_addition_computation.addition_minimum"),
        causes=_load_causes(rules, file),
        rates=rates,
    )


# ------------------------------------------------------------------------------------------ the roundings
def refund_base(part: int, rules: RefundAdditionRules) -> int:
    """A payment's part of the refund with its 1,000円未満 cut off (地方税法第20条の4の2第2項)."""
    return part // rules.base_unit * rules.base_unit


def segment_amount(base: int, rate: Fraction, days: int, rules: RefundAdditionRules) -> int:
    """base × rate × days / 365, its 1円未満 cut off (365 also in leap years: 利率等の表示の年利建て移行に関する
    法律第25条; the 1円 cut is the practice of the 延滞金 examples, rules file ``basis_notes``)."""
    exact = Fraction(base) * rate * days / rules.year_days
    return int(exact // rules.segment_unit) * rules.segment_unit


def addition_after_rounding(total: int, rules: RefundAdditionRules) -> int:
    """The sum with its 100円未満 cut off, and nothing when it is under 1,000円 (地方税法第20条の4の2第5項)."""
    addition = total // rules.addition_unit * rules.addition_unit
    return 0 if addition < rules.addition_minimum else addition


def start_day(cause: Cause, paid_on: date) -> date:
    """The day ``cause`` sets for a payment made on ``paid_on`` (第17条の4第1項各号); the addition runs from
    the day after it. N months after a day: the day on which N months counted from the day after it have
    passed (民法第143条, :func:`transforms.late_charge.months_later_end`)."""
    days = {"paid_on": paid_on}
    candidates = []
    for rule in cause.start_from:
        anchor = days[rule.day]
        candidates.append(months_later_end(anchor + timedelta(days=1), rule.months))  # 0 months: the day itself
    return min(candidates)


# ------------------------------------------------------------------------------------------------ one refund
@dataclass(frozen=True)
class Segment:
    paid_on: date  # the payment this part of the refund came from
    start: date
    end: date  # inclusive
    days: int
    base: int  # the payment's part of the refund, 1,000円未満 cut off
    rate: Fraction  # a year, as a fraction (0.009 for 0.9 %)
    amount: int  # yen, 1円未満 cut off


@dataclass(frozen=True)
class RefundAddition:
    refund_addition: int  # the yen added to the refund, after every statutory rounding
    before_rounding: int  # the sum of the segments
    segments: tuple[Segment, ...]
    refund_amount: int
    cause: str
    decided_on: date


def refund_addition(refund_amount: int, payments: list[tuple[date, int]], cause: str, decided_on: date,
                    rules: RefundAdditionRules | None = None) -> RefundAddition:
    """The 還付加算金 of one refund: ``refund_amount`` (the 過誤納金, yen), the ``payments`` it is made of as
    (day of payment, yen of the refund that payment carries) in any order — they must add up to the refund —,
    the ``cause`` of the 過誤納 (a cause of ``rules/refund_addition.yaml``) and ``decided_on``, the day the
    refund is decided (還付のための支出を決定した日) or applied (充当をした日), counted.

    Which payments a refund comes from, and how much of each, is the caller's to say (a 期別 of one tax
    paid in parts, say); each part runs from the day after its own start day to ``decided_on``."""
    rules = rules or load_refund_addition_rules()
    kind = rules.cause_of(cause)
    if refund_amount < 0 or any(amount < 0 for _, amount in payments):
        raise ValueError("amounts are yen of 0 or more")
    if not payments:
        raise ValueError("a refund is made of at least one payment: give the day and the yen of each")
    carried = sum(amount for _, amount in payments)
    if carried != refund_amount:
        raise ValueError(f"the payments carry {carried} yen of the refund but the refund is {refund_amount} yen")
    if any(day > decided_on for day, _ in payments):
        raise ValueError("a payment is dated after the day the refund is decided (decided_on)")
    if refund_amount < rules.base_minimum:  # その全額が2,000円未満: no 還付加算金 at all
        return RefundAddition(0, 0, (), refund_amount, cause, decided_on)
    segments: list[Segment] = []
    for paid_on, part in sorted(payments):
        base = refund_base(part, rules)
        if base == 0:
            continue
        first = start_day(kind, paid_on) + timedelta(days=1)
        for year in range(first.year, decided_on.year + 1):
            start, end = max(first, date(year, 1, 1)), min(decided_on, date(year, 12, 31))
            if start > end:  # decided on or before the start day: nothing runs
                continue
            rate = rules.rate_of(year).rate
            days = (end - start).days + 1
            segments.append(Segment(paid_on, start, end, days, base, rate, segment_amount(base, rate, days, rules)))
    total = sum(s.amount for s in segments)
    return RefundAddition(addition_after_rounding(total, rules), total, tuple(segments), refund_amount, cause,
                          decided_on)


# ------------------------------------------------------------------------------------ many refunds at once
def rates_frame(rules: RefundAdditionRules) -> tuple[pl.DataFrame, int]:
    """The rate of every calendar year as an integer over one common denominator (returned beside the frame):
    ``_year``, ``_rate_num`` — exact, so that the vectorised addition stays integer arithmetic."""
    denominator = math.lcm(*[r.rate.denominator for r in rules.rates.values()])
    frame = pl.DataFrame({
        "_year": [r.year for r in rules.rates.values()],
        "_rate_num": [int(r.rate * denominator) for r in rules.rates.values()],
    }, schema={"_year": pl.Int32, "_rate_num": pl.Int64})
    return frame, denominator


def _start_day_expr(rules: RefundAdditionRules, causes: list[str]) -> pl.Expr:
    """:func:`start_day` as an expression over ``cause`` and ``paid_on`` (every cause already checked)."""
    def months_after(months: int) -> pl.Expr:
        if months == 0:
            return pl.col("paid_on")
        first = pl.col("paid_on").dt.offset_by("1d")
        corresponding = first.dt.offset_by(f"{months}mo")  # clamped to the month's end when it has no such day
        # 民法第143条: the day before the corresponding day, or the month's last day when there is none
        return pl.when(corresponding.dt.day() == first.dt.day()).then(corresponding.dt.offset_by("-1d")) \
            .otherwise(corresponding)

    expr: pl.Expr | None = None
    for name in causes:
        kind = rules.cause_of(name)
        day = pl.min_horizontal(*[months_after(r.months) for r in kind.start_from])
        expr = (pl.when(pl.col("cause") == name) if expr is None else expr.when(pl.col("cause") == name)).then(day)
    return expr.otherwise(None)  # type: ignore[union-attr]


def _checked(refunds: pl.DataFrame, rules: RefundAdditionRules) -> pl.DataFrame:
    missing = [c for c in REFUND_COLUMNS if c not in refunds.columns]
    if missing:
        raise ValueError(f"refunds: the frame has no column {', '.join(missing)} (it needs "
                         f"{', '.join(REFUND_COLUMNS)}: one row per payment making up a refund)")
    frame = refunds.select([pl.col(c).cast(t, strict=True) for c, t in REFUND_COLUMNS.items()])
    nulls = [c for c in REFUND_COLUMNS if frame[c].null_count()]
    if nulls:
        raise ValueError(f"refunds: column {nulls[0]} has an empty value")
    mixed = frame.group_by("refund_id").agg(pl.col("cause").n_unique(), pl.col("decided_on").n_unique()) \
        .filter((pl.col("cause") > 1) | (pl.col("decided_on") > 1)).sort("refund_id")
    if mixed.height:
        raise ValueError(f"refunds: refund {mixed['refund_id'][0]!r} has more than one cause or decided_on; "
                         "a refund has one cause and one day of decision")
    bad = frame.filter((pl.col("amount") < 0) | (pl.col("paid_on") > pl.col("decided_on"))).sort("refund_id")
    if bad.height:
        raise ValueError(f"refunds: refund {bad['refund_id'][0]!r} has a negative amount or a payment dated after "
                         "its decided_on")
    for name in sorted(frame["cause"].unique().to_list()):
        rules.cause_of(name)  # refuses an unknown cause, or one whose start day needs a date we do not take
    return frame


def refund_addition_segments(refunds: pl.DataFrame, rules: RefundAdditionRules | None = None) -> pl.DataFrame:
    """The segments of :func:`refund_additions`: one row per payment part and calendar year that bears the
    addition — ``refund_id``, ``paid_on``, ``start``, ``end``, ``days``, ``base``, ``rate`` (a numerator over
    ``rate_denominator``), ``amount``. A segment in a calendar year without a rate raises :class:`RuleError`."""
    rules = rules or load_refund_addition_rules()
    frame = _checked(refunds, rules)
    rates, denominator = rates_frame(rules)
    totals = frame.group_by("refund_id").agg(pl.col("amount").sum().alias("_refund"))
    parts = frame.join(totals, on="refund_id", how="left", validate="m:1") \
        .filter(pl.col("_refund") >= rules.base_minimum) \
        .with_columns((pl.col("amount") // rules.base_unit * rules.base_unit).alias("base")) \
        .filter(pl.col("base") > 0)
    causes = sorted(parts["cause"].unique().to_list())
    if causes:
        parts = parts.with_columns(_start_day_expr(rules, causes).dt.offset_by("1d").alias("_first"))
    else:
        parts = parts.with_columns(pl.col("paid_on").alias("_first"))
    segments = parts.filter(pl.col("_first") <= pl.col("decided_on")).with_columns(
        pl.int_ranges(pl.col("_first").dt.year(), pl.col("decided_on").dt.year() + 1).alias("_year"),
    ).explode("_year").with_columns(
        pl.col("_year").cast(pl.Int32),
        pl.max_horizontal("_first", pl.date(pl.col("_year"), 1, 1)).alias("start"),
        pl.min_horizontal("decided_on", pl.date(pl.col("_year"), 12, 31)).alias("end"),
    ).join(rates, on="_year", how="left", validate="m:1")
    missing = segments.filter(pl.col("_rate_num").is_null())["_year"].unique().sort().to_list()
    if missing:
        raise RuleError(_missing_year(rules, missing[0]))
    return segments.with_columns(
        ((pl.col("end") - pl.col("start")).dt.total_days() + 1).cast(pl.Int64).alias("days"),
        pl.col("_rate_num").alias("rate"),
    ).with_columns(
        (pl.col("base") * pl.col("rate") * pl.col("days") // (denominator * rules.year_days)
         // rules.segment_unit * rules.segment_unit).alias("amount"),
        pl.lit(denominator, dtype=pl.Int64).alias("rate_denominator"),
    ).sort("refund_id", "paid_on", "base", "start").select(
        "refund_id", "paid_on", "start", "end", "days", "base", "rate", "rate_denominator", "amount")


def refund_additions(refunds: pl.DataFrame, rules: RefundAdditionRules | None = None) -> pl.DataFrame:
    """:func:`refund_addition` for many refunds at once, as frame operations (no loop over refunds).

    ``refunds``: one row per payment making up a refund — ``refund_id`` (String), ``cause`` (String),
    ``paid_on`` (Date), ``amount`` (Int64: the yen of the refund that payment carries), ``decided_on`` (Date;
    one cause and one decided_on per refund). Returns one row per ``refund_id``, sorted by it:
    ``refund_amount``, ``before_rounding`` and ``refund_addition`` (Int64 yen)."""
    rules = rules or load_refund_addition_rules()
    frame = _checked(refunds, rules)
    segments = refund_addition_segments(frame, rules)
    sums = segments.group_by("refund_id").agg(pl.col("amount").sum().alias("before_rounding"))
    addition = pl.col("before_rounding") // rules.addition_unit * rules.addition_unit
    return frame.group_by("refund_id").agg(pl.col("amount").sum().alias("refund_amount")) \
        .join(sums, on="refund_id", how="left", validate="1:1") \
        .with_columns(pl.col("before_rounding").fill_null(0)) \
        .with_columns(pl.when(addition < rules.addition_minimum).then(0).otherwise(addition)
                      .cast(pl.Int64).alias("refund_addition")) \
        .select("refund_id", "refund_amount", "before_rounding", "refund_addition").sort("refund_id")


__all__ = ["Cause", "RefundAddition", "RefundAdditionRules", "Segment", "StartRule", "YearRate",
           "addition_after_rounding", "load_refund_addition_rules", "refund_addition", "refund_addition_segments",
           "refund_additions", "refund_base", "segment_amount", "start_day"]
