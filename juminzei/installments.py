"""`juminzei installments`: the 期割 calculator (docs/installments.md), independent of the lake.

Reads JSON Lines, one object a line::

    {"fiscal_year": 2026, "method": "ordinary", "annual_tax": 172500}
    {"fiscal_year": 2026, "method": "salary", "annual_tax": 172500}
    {"fiscal_year": 2026, "method": "pension", "annual_tax": 36000, "first_year": true}
    {"fiscal_year": 2026, "method": "pension", "annual_tax": 57000, "first_year": false,
     "previous_year_annual_tax": 36000}
    {"fiscal_year": 2026, "method": "ordinary", "annual_tax": 172500, "notice_date": "2026-08-20"}
    {"fiscal_year": 2026, "method": "salary", "annual_tax": 172500, "notice_date": "2026-07-15"}

and writes one line for each: ``{"installments": [{"period": "YYYY-MM", "due_date": "YYYY-MM-DD",
"amount": int, "route": ...}]}``, or ``{"error": ..., "field": ..., "line": n}`` for a line that cannot be
answered (the other lines still are). The amounts come from :mod:`transforms.installments`, the same code
the ``notice_export`` stage uses, over all lines at once.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

import polars as pl

from juminzei.calc import MAX_AMOUNT, InputError, read_lines

_KEYS = {"fiscal_year", "method", "annual_tax", "rounding_unit", "due_months", "first_year",
         "previous_year_annual_tax", "notice_date"}


def _int(item: dict, field: str, *, minimum: int = 0, maximum: int = MAX_AMOUNT) -> int:
    value = item[field]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, f"{field} must be an integer, got {json.dumps(value, ensure_ascii=False)}")
    if not minimum <= value <= maximum:
        raise InputError(field, f"{field} must be between {minimum:,} and {maximum:,}, got {value:,}")
    return value


def parse_line(item: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    """One input object → one row of :func:`transforms.installments.installments_frame` (or InputError)."""
    from transforms.installments import METHODS, installment_rule_years

    if isinstance(item, InputError):
        raise item
    if not isinstance(item, dict):
        raise InputError("", "a line must be a JSON object such as {\"fiscal_year\": 2026, \"method\": \"ordinary\", "
                             "\"annual_tax\": 12000}")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise InputError(unknown[0], f"unknown field {unknown[0]!r}; the fields are {', '.join(sorted(_KEYS))}")
    for field in ("fiscal_year", "method", "annual_tax"):
        if field not in item:
            raise InputError(field, f"{field} is required")
    fiscal_year = item["fiscal_year"]
    if isinstance(fiscal_year, bool) or not isinstance(fiscal_year, int):
        raise InputError("fiscal_year", f"fiscal_year must be an integer year such as 2026, got {json.dumps(fiscal_year)}")
    first = installment_rule_years()[0]
    if not first <= fiscal_year <= 2100:
        raise InputError("fiscal_year", f"there are no installment rules for fiscal year {fiscal_year}: they start at "
                                        f"{first} (rules/installments/)")
    method = item["method"]
    if method not in METHODS:
        raise InputError("method", f"method must be one of {', '.join(repr(m) for m in METHODS)}, got "
                                   f"{json.dumps(method, ensure_ascii=False)}")
    row = {"fiscal_year": fiscal_year, "method": method, "annual_tax": _int(item, "annual_tax"),
           "rounding_unit": defaults["rounding_unit"], "due_months": defaults["due_months"],
           "due_day": defaults["due_day"], "first_year": False, "previous_year_annual_tax": None,
           "notice_date": None}
    if item.get("notice_date") is not None:
        from datetime import date

        try:
            row["notice_date"] = date.fromisoformat(str(item["notice_date"]))
        except ValueError:
            raise InputError("notice_date", "notice_date must be a date written YYYY-MM-DD (通知日), got "
                                            f"{json.dumps(item['notice_date'], ensure_ascii=False)}") from None
        if row["notice_date"].year not in (fiscal_year, fiscal_year + 1):
            raise InputError("notice_date", f"notice_date {row['notice_date'].isoformat()} is not in 年度 {fiscal_year}")
        if method == "salary":
            from transforms.installments import load_installment_rules, salary_slots

            if not salary_slots(fiscal_year, load_installment_rules(fiscal_year), row["notice_date"]):
                raise InputError("notice_date", f"a 給与特別徴収 notice of {row['notice_date'].isoformat()} leaves no "
                                                f"month of 年度 {fiscal_year} to withhold in (the last is May): the "
                                                "tax is collected by 普通徴収")
    if item.get("rounding_unit") is not None:
        unit = item["rounding_unit"]
        if unit not in (100, 1000) or isinstance(unit, bool):
            raise InputError("rounding_unit", f"rounding_unit must be 1000 or 100 (地方税法第20条の4の2第6項 as the "
                                              f"ordinance sets it), got {json.dumps(unit)}")
        row["rounding_unit"] = unit
    if item.get("due_months") is not None:
        months = item["due_months"]
        if (not isinstance(months, list) or not months
                or not all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in months)
                or len(set(months)) != len(months)):
            raise InputError("due_months", "due_months must be a list of different months 1–12 in the order of "
                                           f"the 年度, such as [6, 8, 10, 1]; got {json.dumps(months)}")
        row["due_months"] = list(months)
    if method == "pension":
        first_year = item.get("first_year")
        previous = item.get("previous_year_annual_tax")
        if first_year is None and previous is None:
            raise InputError("first_year", "a pension line needs first_year (true for a person new to 年金特別徴収) "
                                           "or previous_year_annual_tax (a continuing person)")
        if first_year is not None and not isinstance(first_year, bool):
            raise InputError("first_year", f"first_year must be true or false, got {json.dumps(first_year)}")
        row["first_year"] = bool(first_year)
        if not row["first_year"]:
            if previous is None:
                raise InputError("previous_year_annual_tax", "a continuing pension line (first_year false) needs "
                                                             "previous_year_annual_tax, from which the 仮徴収 follows")
            row["previous_year_annual_tax"] = _int(item, "previous_year_annual_tax")
        if 6 not in row["due_months"] or 8 not in row["due_months"]:
            raise InputError("due_months", "a pension line needs the June and August 普通徴収 納期 (the first-year "
                                           f"half is paid in them), got {json.dumps(row['due_months'])}")
    return row


def answer(items: list[tuple[int, Any]], municipality: str = "131032") -> list[dict]:
    """The answer object of every (line number, object), in order."""
    from transforms.installments import installments_frame, profile_schedule
    from transforms.tax_rules import RuleError, load_municipality_profile

    defaults = profile_schedule(load_municipality_profile(municipality))
    answers: dict[int, dict] = {}
    rows = []
    for index, (number, item) in enumerate(items):
        try:
            rows.append({"key": index, **parse_line(item, defaults)})
        except InputError as error:
            answers[index] = {"error": str(error), "field": error.field, "line": number, **error.extra}
    if rows:
        frame = pl.DataFrame(rows, schema={
            "key": pl.Int64, "fiscal_year": pl.Int32, "method": pl.String, "annual_tax": pl.Int64,
            "rounding_unit": pl.Int64, "due_months": pl.List(pl.Int32), "due_day": pl.String,
            "first_year": pl.Boolean, "previous_year_annual_tax": pl.Int64, "notice_date": pl.Date,
        })
        try:
            result = installments_frame(frame)
        except RuleError as error:  # a rule file cannot be read: every line of the batch says so
            for row in rows:
                answers[row["key"]] = {"error": str(error), "field": "fiscal_year", "line": items[row["key"]][0]}
        else:
            for key, group in result.group_by("key", maintain_order=True):
                answers[key[0]] = {"installments": [
                    {"period": r["period"], "due_date": r["due_date"].isoformat(), "amount": r["amount"],
                     "route": r["route"]}
                    for r in group.sort("sequence").iter_rows(named=True)
                ]}
            for row in rows:
                answers.setdefault(row["key"], {"installments": []})  # an annual amount of 0
    return [answers[index] for index in range(len(items))]


def run_installments(stream_in: TextIO, stream_out: TextIO, *, municipality: str = "131032",
                     batch: int = 100_000) -> int:
    """Stream stdin → stdout in batches; returns the number of error lines."""
    errors = 0
    buffer: list[tuple[int, Any]] = []

    def flush() -> None:
        nonlocal errors
        for result in answer(buffer, municipality):
            errors += "error" in result
            stream_out.write(json.dumps(result, ensure_ascii=False) + "\n")
        buffer.clear()

    for number, item in read_lines(stream_in):
        buffer.append((number, item))
        if len(buffer) >= batch:
            flush()
    if buffer:
        flush()
    return errors
