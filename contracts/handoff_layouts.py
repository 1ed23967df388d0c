"""The layouts of the files that leave the building (hand-offs), as data: ``contracts/handoff/<export>.yaml``.

One YAML file per export names its recipient, whether it is printed on paper (``paper``: no 個人番号
may appear in it, ever), whether it may carry 個人番号 (``carries_my_number``), its wire form and every
field in order: ``id``, ``name_ja``, ``type`` (:data:`TYPES`) and an optional ``description`` and
``allowed``. A field with ``repeat: <group>`` stands for as many fields as the group has slots (the
納期 of the municipality, the twelve months of 給与特別徴収...): ``{i}`` in its id and name is the slot
number (``{i:02d}`` zero-padded) and ``{month}`` the calendar month of the slot.

:func:`to_export` shapes a frame into a layout (the columns in order, typed, nothing else);
:func:`render_markdown` writes ``docs/layouts/<export>.md`` from the same data, so the vendor's
description cannot drift from what is written. Pure: no I/O besides reading the YAML.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

HANDOFF_DIR = Path(__file__).resolve().parent / "handoff"

#: field type → (Polars dtype of the frame, what the docs say about its text form)
TYPES: dict[str, tuple[pl.DataType, str]] = {
    "count": (pl.Int64(), "integer, ASCII digits"),
    "yen": (pl.Int64(), "integer yen, ASCII digits, no separators; summed in the manifest's control totals"),
    "digits": (pl.String(), "ASCII digits, leading zeros kept"),
    "text": (pl.String(), "text (CP932 in a CP932 file; a character CP932 cannot hold is 〓, see the encoding report)"),
    "code": (pl.String(), "one of the allowed values"),
    "date": (pl.Date(), "YYYY-MM-DD"),
    "period": (pl.String(), "YYYY-MM, the month in which the amount is paid"),
}
REQUIRED_KEYS = ("export", "title_ja", "title_en", "recipient", "paper", "record", "key", "wire", "fields")
FIELD_KEYS = ("id", "name_ja", "type")


class HandoffLayoutError(ValueError):
    """A hand-off layout file is inconsistent (names the file and the field)."""


@dataclass(frozen=True)
class HandoffLayout:
    export: str
    data: dict[str, Any]

    @property
    def recipient(self) -> str:
        return self.data["recipient"]

    @property
    def paper(self) -> bool:
        return bool(self.data["paper"])

    @property
    def carries_my_number(self) -> bool:
        return bool(self.data.get("carries_my_number", False))

    @property
    def key(self) -> str:
        return self.data["key"]

    @property
    def encoding(self) -> str:
        return self.data["wire"]["encoding"]

    def fields(self, slots: dict[str, list[int]] | None = None) -> list[dict[str, Any]]:
        """The fields in order. A run of consecutive fields repeating the same group is expanded slot by
        slot (``installment_1_period, installment_1_due_date, installment_1_amount, installment_2_…``) with
        ``slots[group]``, the calendar month of each slot in order."""
        out: list[dict[str, Any]] = []
        specs = list(self.data["fields"])
        i = 0
        while i < len(specs):
            group = specs[i].get("repeat")
            if group is None:
                out.append(dict(specs[i]))
                i += 1
                continue
            block = []
            while i < len(specs) and specs[i].get("repeat") == group:
                block.append(specs[i])
                i += 1
            if slots is None or group not in slots:
                raise HandoffLayoutError(f"contracts/handoff/{self.export}.yaml: the slots of {group!r} were not given")
            for number, month in enumerate(slots[group], start=1):
                for spec in block:
                    expanded = {k: v for k, v in spec.items() if k != "repeat"}
                    expanded["id"] = spec["id"].format(i=number, month=month)
                    expanded["name_ja"] = spec["name_ja"].format(i=number, month=month)
                    out.append(expanded)
        return out

    def columns(self, slots: dict[str, list[int]] | None = None) -> list[str]:
        return [f["id"] for f in self.fields(slots)]

    def amount_columns(self, slots: dict[str, list[int]] | None = None) -> list[str]:
        """The ``yen`` fields: each is summed in the manifest's control totals."""
        return [f["id"] for f in self.fields(slots) if f["type"] == "yen"]


@functools.cache
def load_handoff_layout(export: str) -> HandoffLayout:
    path = HANDOFF_DIR / f"{export}.yaml"
    if not path.is_file():
        known = ", ".join(handoff_exports())
        raise HandoffLayoutError(f"there is no hand-off layout {export!r} (contracts/handoff/: {known})")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    name = f"contracts/handoff/{path.name}"
    if not isinstance(data, dict):
        raise HandoffLayoutError(f"{name}: not a mapping")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise HandoffLayoutError(f"{name}: missing {', '.join(missing)}")
    if data["export"] != export:
        raise HandoffLayoutError(f"{name}: export must be {export!r}, as the file name says")
    if data["paper"] and data.get("carries_my_number"):
        raise HandoffLayoutError(f"{name}: a paper export may not carry 個人番号")
    seen = set()
    groups = set((data.get("repeat") or {}).keys())
    for spec in data["fields"]:
        absent = [k for k in FIELD_KEYS if k not in spec]
        if absent:
            raise HandoffLayoutError(f"{name}: field {spec.get('id')!r} lacks {', '.join(absent)}")
        if spec["type"] not in TYPES:
            raise HandoffLayoutError(f"{name}: field {spec['id']!r} has type {spec['type']!r}; expected one of "
                                     f"{', '.join(TYPES)}")
        if spec["id"] in seen:
            raise HandoffLayoutError(f"{name}: field {spec['id']!r} appears twice")
        if "repeat" in spec and spec["repeat"] not in groups:
            raise HandoffLayoutError(f"{name}: field {spec['id']!r} repeats {spec['repeat']!r}, which `repeat:` "
                                     "does not describe")
        if spec["id"] == "my_number" and not data.get("carries_my_number"):
            raise HandoffLayoutError(f"{name}: a my_number field in an export that may not carry 個人番号")
        seen.add(spec["id"])
    if data["key"] not in seen:
        raise HandoffLayoutError(f"{name}: its key {data['key']!r} is not a field")
    return HandoffLayout(export, data)


def handoff_exports() -> list[str]:
    return sorted(p.stem for p in HANDOFF_DIR.glob("*.yaml"))


def to_export(frame: pl.DataFrame, layout: HandoffLayout, slots: dict[str, list[int]] | None = None) -> pl.DataFrame:
    """``frame`` shaped into ``layout``: its fields in order, each cast to the type's dtype; a field the
    frame lacks is an error (a layout and its producer must agree)."""
    fields = layout.fields(slots)
    missing = [f["id"] for f in fields if f["id"] not in frame.columns]
    if missing:
        raise HandoffLayoutError(f"contracts/handoff/{layout.export}.yaml: the export has no column "
                                 f"{', '.join(missing)}")
    exprs = []
    for spec in fields:
        dtype = TYPES[spec["type"]][0]
        column = pl.col(spec["id"])
        if spec["type"] == "code" and frame.schema[spec["id"]] == pl.Boolean:
            column = column.cast(pl.String).str.to_lowercase()
        if spec["type"] == "date" and frame.schema[spec["id"]] == pl.String:  # a file read back: ISO text
            column = column.str.to_date("%Y-%m-%d", strict=True)
        exprs.append(column.cast(dtype, strict=True).alias(spec["id"]))
    return frame.select(exprs)


def render_markdown(layout: HandoffLayout) -> str:
    """``docs/layouts/<export>.md``: the layout for the recipient, field by field."""
    d = layout.data
    lines = [
        f"# {d['title_ja']} — `{layout.export}`",
        "",
        f"{d['title_en']}. Generated from `contracts/handoff/{layout.export}.yaml` (do not edit by hand: "
        f"`.venv/bin/python -m contracts.handoff_layouts --write-docs`).",
        "",
        f"- **Recipient**: `{d['recipient']}` (folder `exports/{d['recipient']}/municipality=M/fiscal_year=N/<run_id>/`, "
        "with its `manifest.json`: docs/layouts/manifest.md)",
        f"- **Printed on paper**: {'yes: no 個人番号 ever appears in it' if d['paper'] else 'no'}",
        f"- **Carries 個人番号**: {'yes, as the field my_number says' if d.get('carries_my_number') else 'no'}",
        f"- **Record**: {d['record']}",
        f"- **Key**: `{d['key']}`",
        "",
        "## Wire form",
        "",
    ]
    for name, value in d["wire"].items():
        lines.append(f"- {name}: {value}")
    if d.get("repeat"):
        lines += ["", "## Repeated fields", ""]
        for name, value in d["repeat"].items():
            lines.append(f"- `{name}`: {value}")
    lines += ["", "## Fields", "", "| # | id | 項目名 | type | description |", "|---:|---|---|---|---|"]
    for pos, spec in enumerate(d["fields"], start=1):
        description = spec.get("description", "")
        if spec.get("allowed"):
            description = (description + " " if description else "") + "Allowed: " + ", ".join(
                f"`{v}`" for v in spec["allowed"]) + "."
        if spec.get("repeat"):
            description = (description + " " if description else "") + f"Repeated per slot of `{spec['repeat']}`."
        lines.append(f"| {pos} | `{spec['id']}` | {spec['name_ja']} | {spec['type']} | {description} |")
    lines += ["", "## Types", "", "| type | text form |", "|---|---|"]
    for name in sorted({s["type"] for s in d["fields"]}):
        lines.append(f"| {name} | {TYPES[name][1]} |")
    return "\n".join(lines) + "\n"


def _main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Render docs/layouts/<export>.md from contracts/handoff/.")
    parser.add_argument("--write-docs", action="store_true", help="write the files (else: list them)")
    args = parser.parse_args(argv)
    docs = Path(__file__).resolve().parents[1] / "docs" / "layouts"
    for export in handoff_exports():
        path = docs / f"{export}.md"
        if args.write_docs:
            path.write_text(render_markdown(load_handoff_layout(export)), encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())


__all__ = ["HANDOFF_DIR", "TYPES", "HandoffLayout", "HandoffLayoutError", "load_handoff_layout", "handoff_exports",
           "to_export", "render_markdown"]
