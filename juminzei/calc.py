"""`juminzei calc`: the tax calculator for one or many persons, independent of the lake.

Reads JSON Lines (one person per line, format in docs/calculator.md), writes one JSON object per
input line in the same order: the figures of :data:`transforms.tax_engine.OUTPUT_COLUMNS`, or
``{"error": ..., "field": ..., "line": n}`` for a line that cannot be computed (the other lines still
compute; ``n`` is the line's number in the input, blank lines included, as an editor shows it). The same engine as the ``tax_assessment`` DAG: the lines become the two basis frames of
:mod:`contracts.taxation_basis` and go through :func:`transforms.tax_engine.compute` in one pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Iterator, TextIO

import polars as pl

from contracts.taxation_basis import DISABILITY, PERSON_AMOUNTS, PERSON_FLAGS, person_schema, relative_schema

KINDS = ("special_ward", "city", "designated_city")
MAX_AMOUNT = 10**12  # 1 兆円: anything above is a typing error, not an income

_TAXPAYER = {"birth_date", "sex", "disability", "widow", "single_parent", "working_student", "livelihood_assistance"}
_INCOME = {"salary_revenue", "public_pension_revenue", "business_income", "real_estate_income", "dividend_income",
           "misc_income", "occasional_income"}
_PAID = {"social_insurance", "small_enterprise_mutual_aid", "life_insurance", "earthquake_insurance",
         "old_long_term_casualty_insurance", "medical_expenses", "medical_reimbursed"}
_LIFE = {"new_general": "life_new_general", "old_general": "life_old_general", "new_pension": "life_new_pension",
         "old_pension": "life_old_pension", "care_medical": "life_care_medical"}
_CREDITS = {"housing_loan_unused_income_tax_credit", "housing_loan_taxable_income_for_income_tax", "housing_moved_in",
            "housing_not_specified_acquisition", "furusato_donations", "one_stop", "other_donations_municipal",
            "other_donations_prefectural"}
_MUNICIPALITY = {"kind", "per_capita_municipal", "per_capita_prefectural", "grade"}
_RELATIVE = {"birth_date", "salary_revenue", "public_pension_revenue", "other_income", "disability", "cohabiting",
             "lineal_ascendant"}
_TOP = {"fiscal_year", "municipality", "taxpayer", "income", "paid", "spouse", "dependants", "credits"}


class InputError(ValueError):
    """One input line is invalid; ``field`` is its dotted path (e.g. ``taxpayer.birth_date``)."""

    def __init__(self, field: str, message: str, **extra: Any):
        super().__init__(message)
        self.field = field
        self.extra = extra  # more keys for the error object (the column of a JSON syntax error)


@dataclass
class Parsed:
    person: dict
    relatives: list[dict]
    profile: dict


_JSON_TYPES = {list: "an array", str: "a string", bool: "true or false", int: "a number", float: "a number",
               type(None): "null"}


def _kind(value: Any) -> str:
    """What a JSON value is, in the words of JSON (an array, a string, a number …)."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _mapping(value: Any, field: str, allowed: set[str]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(field, f"{field} must be an object ({{...}}), got {_kind(value)}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InputError(f"{field}.{unknown[0]}" if field else unknown[0],
                         f"unknown field {unknown[0]!r} in {field or 'the input'}; allowed: {', '.join(sorted(allowed))}")
    return value


def _amount(value: Any, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(field, f"{field} must be an integer number of yen, got {value!r}")
    if value < 0:
        raise InputError(field, f"{field} must not be negative (losses are not supported), got {value}")
    if value > MAX_AMOUNT:
        raise InputError(field, f"{field} is larger than {MAX_AMOUNT:,} yen")
    return value


def _flag(value: Any, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InputError(field, f"{field} must be true or false, got {value!r}")
    return value


def _date(value: Any, field: str, *, required: bool) -> date | None:
    if value is None:
        if required:
            raise InputError(field, f"{field} is required (YYYY-MM-DD)")
        return None
    if not isinstance(value, str):
        raise InputError(field, f"{field} must be a date string YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(field, f"{field} must be a date YYYY-MM-DD, got {value!r}") from None


def _choice(value: Any, field: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    if value is None:
        return default
    if value not in allowed:
        raise InputError(field, f"{field} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _relative(value: Any, field: str, role: str, seq: int) -> dict:
    data = _mapping(value, field, _RELATIVE | ({"lineal_ascendant"} if role == "dependant" else set()))
    if role == "spouse" and "lineal_ascendant" in data:
        raise InputError(f"{field}.lineal_ascendant", "a spouse cannot be a lineal ascendant")
    return {
        "role": role,
        "seq": seq,
        "birth_date": _date(data.get("birth_date"), f"{field}.birth_date", required=False),
        "disability": _choice(data.get("disability"), f"{field}.disability", DISABILITY, "none"),
        "cohabiting": _flag(data.get("cohabiting"), f"{field}.cohabiting"),
        "lineal_ascendant": _flag(data.get("lineal_ascendant"), f"{field}.lineal_ascendant"),
        "salary_revenue": _amount(data.get("salary_revenue"), f"{field}.salary_revenue"),
        "public_pension_revenue": _amount(data.get("public_pension_revenue"), f"{field}.public_pension_revenue"),
        "other_income": _amount(data.get("other_income"), f"{field}.other_income"),
    }


def parse_line(data: Any, *, available_years: Iterable[int]) -> Parsed:
    """Validate one input object and turn it into engine rows (raises :class:`InputError`)."""
    from transforms.tax_rules import KINDS as _K  # noqa: F401  (same kinds)

    if not isinstance(data, dict):
        raise InputError("", f"each line must be one JSON object ({{\"fiscal_year\": 2026, ...}}); got {_kind(data)}")
    top = _mapping(data, "", _TOP)
    if "fiscal_year" not in top:
        raise InputError("fiscal_year", "the key \"fiscal_year\" is missing: each line needs the fiscal year (年度) to "
                                        "compute, e.g. \"fiscal_year\": 2026")
    year = top.get("fiscal_year")
    if isinstance(year, bool) or not isinstance(year, int):
        got = "null" if year is None else f"{_kind(year)} {json.dumps(year, ensure_ascii=False)}"
        raise InputError("fiscal_year", f"fiscal_year must be an integer year such as 2026, got {got}")
    years = sorted(available_years)
    if year not in years:
        raise InputError("fiscal_year", f"fiscal_year {year} has no rules; available: {', '.join(map(str, years))}")
    municipality = _mapping(top.get("municipality"), "municipality", _MUNICIPALITY)
    kind = _choice(municipality.get("kind"), "municipality.kind", KINDS, None)
    profile: dict[str, Any] = {"kind": kind}
    for key in ("per_capita_municipal", "per_capita_prefectural"):
        if municipality.get(key) is not None:
            profile[key] = _amount(municipality[key], f"municipality.{key}")
    if municipality.get("grade") is not None:
        grade = municipality["grade"]
        if isinstance(grade, bool) or grade not in (1, 2, 3):
            raise InputError("municipality.grade", f"municipality.grade must be 1, 2 or 3, got {grade!r}")
        profile["grade"] = grade
    taxpayer = _mapping(top.get("taxpayer"), "taxpayer", _TAXPAYER)
    income = _mapping(top.get("income"), "income", _INCOME)
    paid = _mapping(top.get("paid"), "paid", _PAID)
    life = _mapping(paid.get("life_insurance"), "paid.life_insurance", set(_LIFE))
    credits = _mapping(top.get("credits"), "credits", _CREDITS)
    person: dict[str, Any] = {
        "fiscal_year": year,
        "birth_date": _date(taxpayer.get("birth_date"), "taxpayer.birth_date", required=False),
        "sex": _choice(taxpayer.get("sex"), "taxpayer.sex", ("female", "male"), None),
        "disability": _choice(taxpayer.get("disability"), "taxpayer.disability", DISABILITY, "none"),
    }
    for name in ("widow", "single_parent", "working_student", "livelihood_assistance"):
        person[name] = _flag(taxpayer.get(name), f"taxpayer.{name}")
    if person["single_parent"] and person["sex"] is None:
        raise InputError("taxpayer.sex", "taxpayer.sex is required for ひとり親 (the adjustment credit differs)")
    for name in _INCOME:
        person[name] = _amount(income.get(name), f"income.{name}")
    for name in _PAID - {"life_insurance"}:
        person[name] = _amount(paid.get(name), f"paid.{name}")
    for key, column in _LIFE.items():
        person[column] = _amount(life.get(key), f"paid.life_insurance.{key}")
    for name in _CREDITS - {"housing_moved_in", "one_stop", "housing_not_specified_acquisition"}:
        person[name] = _amount(credits.get(name), f"credits.{name}")
    person["one_stop"] = _flag(credits.get("one_stop"), "credits.one_stop")
    person["housing_not_specified_acquisition"] = _flag(
        credits.get("housing_not_specified_acquisition"), "credits.housing_not_specified_acquisition")
    person["housing_moved_in"] = _date(credits.get("housing_moved_in"), "credits.housing_moved_in", required=False)
    if person["housing_loan_unused_income_tax_credit"] and person["housing_moved_in"] is None:
        raise InputError("credits.housing_moved_in", "credits.housing_moved_in is required with a housing-loan credit")
    relatives = []
    if top.get("spouse") is not None:
        relatives.append(_relative(top["spouse"], "spouse", "spouse", 1))
    dependants = top.get("dependants") or []
    if not isinstance(dependants, list):
        raise InputError("dependants", "dependants must be a list")
    for index, item in enumerate(dependants):
        relatives.append(_relative(item, f"dependants[{index}]", "dependant", index + 1))
    missing = set(PERSON_AMOUNTS) - set(person)
    assert not missing, missing
    return Parsed(person, relatives, profile)


def _profile_row(profile: dict, default_code: str) -> dict[str, int]:
    from transforms.tax_engine import profile_columns
    from transforms.tax_rules import load_municipality_profile, load_profile

    base = load_profile(profile["kind"]) if profile.get("kind") else load_municipality_profile(default_code)
    return profile_columns(
        base,
        per_capita_municipal=profile.get("per_capita_municipal"),
        per_capita_prefectural=profile.get("per_capita_prefectural"),
        grade=profile.get("grade"),
    )


def calculate(objects: list[Any], *, municipality: str = "131032", detail: bool = False,
              line_numbers: list[int] | None = None) -> list[dict]:
    """Compute a list of decoded input objects; one result (or error) dict per object, in order.

    ``detail`` keeps every engine column (for the computation sheet) instead of the output keys.
    ``line_numbers`` are the objects' lines in the input (for error results; default 1, 2, …).
    """
    numbers = line_numbers if line_numbers is not None else list(range(1, len(objects) + 1))
    from transforms.tax_engine import OUTPUT_COLUMNS, PROFILE_COLUMNS, compute
    from transforms.tax_rules import available_fiscal_years

    years = available_fiscal_years()
    results: list[dict | None] = [None] * len(objects)
    persons, relatives = [], []
    kinds: dict[int, str | None] = {}
    for index, data in enumerate(objects):
        if isinstance(data, InputError):
            results[index] = {"error": str(data), "field": data.field, "line": numbers[index], **data.extra}
            continue
        try:
            parsed = parse_line(data, available_years=years)
            profile = _profile_row(parsed.profile, municipality)
        except InputError as error:
            results[index] = {"error": str(error), "field": error.field, "line": numbers[index]}
            continue
        person_id = f"{index:09d}"
        kinds[index] = parsed.profile.get("kind")
        persons.append({"person_id": person_id, **parsed.person, **profile})
        relatives.extend({"person_id": person_id, **relative} for relative in parsed.relatives)
    if persons:
        schema = {**person_schema(), **{name: pl.Int64() for name in PROFILE_COLUMNS}}
        frame = pl.DataFrame(persons, schema=schema)
        relative_frame = pl.DataFrame(relatives, schema=relative_schema())
        computed = compute(frame, relative_frame)
        if not detail:
            computed = computed.select(["person_id", *OUTPUT_COLUMNS])
        for row in computed.iter_rows(named=True):
            index = int(row["person_id"])
            if detail:
                row["municipality_kind"] = kinds[index]
                row["input_line"] = numbers[index]
            else:
                del row["person_id"]
            results[index] = row
    return [r for r in results if r is not None]


def read_lines(stream: TextIO) -> Iterator[tuple[int, Any]]:
    """Decode JSON Lines into (line number, object); blank lines are skipped but counted.

    A line that is not JSON becomes an InputError naming the line and the column (1-based, in
    characters from the start of the line, as an editor counts them) where the decoder stopped. A
    UTF-8 byte order mark at the start of the input is not part of the first line.
    """
    for number, line in enumerate(stream, start=1):
        if number == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        text = line.rstrip("\r\n")
        try:
            yield number, json.loads(text)
        except json.JSONDecodeError as error:
            column = error.pos + 1  # the whole text is one line: the position is the column
            yield number, InputError(
                "", f"line {number}, column {column} is not valid JSON: {error.msg}", column=column)


def run_calculator(stream_in: TextIO, stream_out: TextIO, *, municipality: str = "131032", batch: int = 100_000,
                   explain: bool = False) -> int:
    """Stream stdin → stdout in batches; returns the number of error lines.

    With ``explain`` each line's computation sheet is printed instead of its JSON object.
    """
    errors = 0
    buffer: list[Any] = []
    numbers: list[int] = []

    def flush() -> None:
        nonlocal errors
        for result in calculate(buffer, municipality=municipality, detail=explain, line_numbers=numbers):
            if "error" in result:
                errors += 1
                stream_out.write(json.dumps(result, ensure_ascii=False) + "\n")
            elif explain:
                stream_out.write(_sheet(result, municipality) + "\n")
            else:
                stream_out.write(json.dumps(result, ensure_ascii=False) + "\n")
        buffer.clear()
        numbers.clear()

    for number, item in read_lines(stream_in):
        buffer.append(item)
        numbers.append(number)
        if len(buffer) >= batch:
            flush()
    if buffer:
        flush()
    return errors


def _sheet(row: dict, municipality: str) -> str:
    from transforms.tax_explain import format_sheet
    from transforms.tax_rules import load_municipality_profile, load_profile, load_rules

    kind = row.get("municipality_kind")
    profile = load_profile(kind) if kind else load_municipality_profile(municipality)
    return format_sheet(row, load_rules(int(row["fiscal_year"])), profile, title=f"入力 {row['input_line']} 行目")
