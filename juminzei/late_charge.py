"""`juminzei late-charge`: the 延滞金 calculator (docs/late-charge.md), independent of the lake.

Reads JSON Lines, one unpaid tax period a line::

    {"tax_amount": 100000, "due_date": "2025-06-30", "payments": [{"date": "2025-09-10", "amount": 100000}],
     "computed_on": "2025-09-10"}

``tax_amount``: the tax of the period (yen); ``due_date``: its 納期限; ``payments``: every payment of the
period's tax (in any order; each is applied to the tax first); ``computed_on``: the day of computation — tax
still unpaid then accrues up to it, that day included. Writes one line for each::

    {"late_charge": 1100, "due_date": "2025-06-30", "before_rounding": 1180, "unpaid_tax": 0,
     "segments": [{"from": "2025-07-01", "to": "2025-07-31", "days": 31, "base": 100000, "rate": "2.4",
                   "amount": 203},
                  {"from": "2025-08-01", "to": "2025-09-10", "days": 41, "base": 100000, "rate": "8.7",
                   "amount": 977}]}

(100,000 × 2.4 % × 31 / 365 = 203.8 → 203; 100,000 × 8.7 % × 41 / 365 = 977.3 → 977; 1,180 → 1,100.)
``late_charge`` is the yen to collect after every statutory rounding, ``due_date`` the 納期限 the charge runs
from (a 納期限 on a closed day moves to the next open day), ``rate`` the percent a year of the segment. A
line that cannot be answered gives ``{"error": ..., "field": ..., "line": n}`` (the other lines still are).
The computation is :func:`transforms.late_charge.late_charge`.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, TextIO

from juminzei.calc import MAX_AMOUNT, InputError, read_lines

_KEYS = ("tax_amount", "due_date", "payments", "computed_on")


def _yen(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        shown = json.dumps(value, ensure_ascii=False)
        raise InputError(field, f"{field} must be an integer number of yen, got {shown}")
    if not 0 <= value <= MAX_AMOUNT:
        raise InputError(field, f"{field} must be between 0 and {MAX_AMOUNT:,} yen, got {value:,}")
    return value


def _date(value: Any, field: str) -> date:
    try:
        if not isinstance(value, str):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(field, f"{field} must be a date written YYYY-MM-DD, got "
                                f"{json.dumps(value, ensure_ascii=False)}") from None


def parse_line(item: Any) -> tuple[int, date, list[tuple[date, int]], date]:
    """One input object → (tax_amount, due_date, payments, computed_on), or an InputError naming the field."""
    if isinstance(item, InputError):
        raise item
    if not isinstance(item, dict):
        raise InputError("", 'a line must be a JSON object such as {"tax_amount": 100000, "due_date": "2025-06-30", '
                             '"payments": [], "computed_on": "2025-09-30"}')
    unknown = sorted(set(item) - set(_KEYS))
    if unknown:
        raise InputError(unknown[0], f"unknown field {unknown[0]!r}; the fields are {', '.join(_KEYS)}")
    for field in ("tax_amount", "due_date", "computed_on"):
        if field not in item:
            raise InputError(field, f"{field} is required")
    tax = _yen(item["tax_amount"], "tax_amount")
    due = _date(item["due_date"], "due_date")
    computed_on = _date(item["computed_on"], "computed_on")
    if computed_on < due:
        raise InputError("computed_on", f"computed_on {computed_on.isoformat()} is before due_date {due.isoformat()}")
    raw = item.get("payments", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise InputError("payments", 'payments must be a list such as [{"date": "2025-09-10", "amount": 50000}]')
    payments = []
    for index, payment in enumerate(raw):
        where = f"payments[{index}]"
        if not isinstance(payment, dict) or set(payment) != {"date", "amount"}:
            raise InputError(where, f'{where} must be an object with "date" and "amount", got '
                                    f"{json.dumps(payment, ensure_ascii=False)}")
        day = _date(payment["date"], f"{where}.date")
        if day > computed_on:
            raise InputError(f"{where}.date", f"{where}.date {day.isoformat()} is after computed_on "
                                              f"{computed_on.isoformat()}")
        payments.append((day, _yen(payment["amount"], f"{where}.amount")))
    return tax, due, payments, computed_on


def answer(item: Any) -> dict[str, Any]:
    from transforms.late_charge import late_charge, percent_text
    from transforms.tax_rules import RuleError

    tax, due, payments, computed_on = parse_line(item)
    try:
        result = late_charge(tax, due, payments, computed_on)
    except RuleError as error:
        raise InputError("computed_on", str(error)) from None
    return {
        "late_charge": result.late_charge,
        "due_date": result.due_date.isoformat(),
        "before_rounding": result.before_rounding,
        "unpaid_tax": result.unpaid_tax,
        "segments": [{"from": s.start.isoformat(), "to": s.end.isoformat(), "days": s.days, "base": s.base,
                      "rate": percent_text(s.rate), "amount": s.amount} for s in result.segments],
    }


def run_late_charge(stream_in: TextIO, stream_out: TextIO) -> int:
    """stdin → stdout, one answer per input line; returns the number of error lines."""
    errors = 0
    for number, item in read_lines(stream_in):
        try:
            result = answer(item)
        except InputError as error:
            errors += 1
            result = {"error": str(error), "field": error.field, "line": number, **error.extra}
        stream_out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return errors
