"""The document layouts as data: loads and checks ``contracts/layouts/<format>.yaml``.

One loader shared by the generator (which writes the files) and the ingest (which parses them), so a
layout change is a data change seen by both. Only the return-ingest document formats are covered here
(:data:`FORMATS`); the registry extracts have their own loader in :mod:`contracts.resident_snapshot`.

A layout is checked once when loaded: every field carries the keys of :data:`FIELD_KEYS`, field ids are
unique and, for the CSV formats, positions run 1..n and match ``wire.field_count``. An inconsistent
layout raises :class:`LayoutError` naming the file and the field.

What an invalid value does (``on_invalid``)
-------------------------------------------
Every optional field (``required: false``) states what happens when it holds a value the layout does not
allow (wrong form, width, code, date or check digit): ``warn`` — the value is set to null, the record is
staged and a warning row (file, record, field, reason) goes to the stage's warnings dataset; ``hold`` —
the record is quarantined, as for a required field, and ``hold_because`` names why the field is needed
for the record to be usable (one of :data:`HOLD_REASONS`). A required field always holds; it may not
say otherwise. An empty optional field is never a problem. :func:`on_invalid` gives the decision of
one field (``hold`` for required fields).

No I/O besides reading the YAML, no clock, no Airflow.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "LAYOUT_DIR",
    "FORMATS",
    "CSV_FORMATS",
    "FIELD_KEYS",
    "LayoutError",
    "load_layout",
    "field_ids",
    "field_position",
    "field_spec",
    "ON_INVALID",
    "HOLD_REASONS",
    "on_invalid",
]

LAYOUT_DIR = Path(__file__).resolve().parent / "layouts"

FORMATS: tuple[str, ...] = (
    "salary_report",
    "salary_summary",
    "pension_report",
    "etax_return",
    "resident_return",
    "furusato_notice",
)
CSV_FORMATS: tuple[str, ...] = tuple(f for f in FORMATS if f != "etax_return")

FIELD_KEYS: tuple[str, ...] = ("pos", "id", "name_ja", "type", "width", "required", "source")

#: What an invalid value in a field does to its record (see the module docstring).
ON_INVALID: tuple[str, ...] = ("hold", "warn")
#: Why an optional field holds its record when its value is invalid (``hold_because``). Also used by the
#: registry layouts of resident_snapshot (contracts.resident_snapshot).
HOLD_REASONS: dict[str, str] = {
    "matching_key": "宛名付設 reads it to find the person: a wrong value could tie the record to nobody or to "
                    "someone else, so the payer is asked for the right value",
    "record_key": "the 訂正/取消 history keys the record on it: without it a correction could not find the "
                  "record it corrects",
    "tax_basis": "record_merge reads it into the taxation basis (income, deduction, relative or status): an "
                 "empty value would change the tax",
    "collection": "it decides how or by whom the tax is collected (普通徴収・特別徴収, 年金特徴)",
    "consistency": "a cross-field rule of the layout reads it: an empty value would break the record anyway",
}


class LayoutError(ValueError):
    """A layout file is inconsistent (names the file and the field)."""


@functools.cache
def load_layout(fmt: str) -> dict[str, Any]:
    """The parsed layout of ``fmt``; CSV layouts are checked for positions 1..n and ``field_count``.

    The result is cached and shared: treat it as read-only.
    """
    path = LAYOUT_DIR / f"{fmt}.yaml"
    with path.open(encoding="utf-8") as handle:
        layout = yaml.safe_load(handle)
    fields = layout.get("fields") or []
    ids: set[str] = set()
    for index, field in enumerate(fields, start=1):
        missing = [key for key in FIELD_KEYS if key not in field]
        if missing:
            raise LayoutError(f"{path.name}: field #{index} lacks {missing}")
        if field["id"] in ids:
            raise LayoutError(f"{path.name}: duplicate field id {field['id']!r}")
        ids.add(field["id"])
        _check_on_invalid(path.name, field)
        if fmt in CSV_FORMATS and field["pos"] != index:
            raise LayoutError(f"{path.name}: field {field['id']!r} has pos {field['pos']}, expected {index}")
    if fmt in CSV_FORMATS and layout["wire"]["field_count"] != len(fields):
        raise LayoutError(f"{path.name}: field_count {layout['wire']['field_count']} but {len(fields)} fields")
    return layout


def _check_on_invalid(file: str, field: dict[str, Any]) -> None:
    decision = field.get("on_invalid")
    where = f"{file}: field {field['id']!r}"
    if field["required"]:
        if decision not in (None, "hold") or "hold_because" in field:
            raise LayoutError(f"{where} is required: an invalid value always holds the record (no on_invalid)")
        return
    if decision not in ON_INVALID:
        raise LayoutError(f"{where} is optional and must state on_invalid: one of {', '.join(ON_INVALID)}")
    if (decision == "hold") != ("hold_because" in field):
        raise LayoutError(f"{where}: hold_because is given exactly when on_invalid is hold")
    if decision == "hold" and field["hold_because"] not in HOLD_REASONS:
        raise LayoutError(f"{where}: hold_because must be one of {', '.join(HOLD_REASONS)}")


def on_invalid(fmt: str, field_id: str) -> str:
    """``hold`` or ``warn``: what an invalid value of ``field_id`` does to its record (required → hold)."""
    spec = field_spec(fmt, field_id)
    return "hold" if spec["required"] else str(spec["on_invalid"])


def field_ids(fmt: str) -> list[str]:
    """Field ids of a CSV layout in column order."""
    return [field["id"] for field in load_layout(fmt)["fields"]]


def field_position(fmt: str, field_id: str) -> int:
    """1-based column of ``field_id`` in a CSV layout."""
    return int(field_spec(fmt, field_id)["pos"])


def field_spec(fmt: str, field_id: str) -> dict[str, Any]:
    """The layout entry of ``field_id`` (pos, id, name_ja, type, width, required, allowed …)."""
    for field in load_layout(fmt)["fields"]:
        if field["id"] == field_id:
            return field
    raise KeyError(f"{fmt}: no field {field_id!r}")
