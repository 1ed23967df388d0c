"""The document layouts as data: loads and checks ``contracts/layouts/<format>.yaml``.

One loader shared by the generator (which writes the files) and the ingest (which parses them), so a
layout change is a data change seen by both. Only the return-ingest document formats are covered here
(:data:`FORMATS`); the registry extracts have their own loader in :mod:`contracts.resident_snapshot`.

A layout is checked once when loaded: every field carries the keys of :data:`FIELD_KEYS`, field ids are
unique and, for the CSV formats, positions run 1..n and match ``wire.field_count``. An inconsistent
layout raises :class:`LayoutError` naming the file and the field.

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
        if fmt in CSV_FORMATS and field["pos"] != index:
            raise LayoutError(f"{path.name}: field {field['id']!r} has pos {field['pos']}, expected {index}")
    if fmt in CSV_FORMATS and layout["wire"]["field_count"] != len(fields):
        raise LayoutError(f"{path.name}: field_count {layout['wire']['field_count']} but {len(fields)} fields")
    return layout


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
