"""File layouts as data: loads ``contracts/layouts/<format>.yaml`` and renders ``docs/layouts/<format>.md``.

The document writers take the column order of every CSV format from these files, so a layout change is
a data change; the ingest reads the same files. Regenerate the Markdown after editing a layout::

    python -m juminzei.generator.wire_layouts
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

LAYOUT_DIR = Path(__file__).resolve().parents[2] / "contracts" / "layouts"
DOCS_DIR = Path(__file__).resolve().parents[2] / "docs" / "layouts"

FORMATS: tuple[str, ...] = (
    "salary_report",
    "salary_summary",
    "pension_report",
    "etax_return",
    "resident_return",
    "furusato_notice",
)
CSV_FORMATS: tuple[str, ...] = tuple(f for f in FORMATS if f != "etax_return")

_FIELD_KEYS = ("pos", "id", "name_ja", "type", "width", "required", "source")


class LayoutError(ValueError):
    """A layout file is inconsistent (names the file and the field)."""


@functools.cache
def load_layout(fmt: str) -> dict[str, Any]:
    """The parsed layout of ``fmt``; CSV layouts are checked for positions 1..n and ``field_count``."""
    path = LAYOUT_DIR / f"{fmt}.yaml"
    with path.open(encoding="utf-8") as handle:
        layout = yaml.safe_load(handle)
    fields = layout.get("fields") or []
    ids: set[str] = set()
    for index, field in enumerate(fields, start=1):
        missing = [key for key in _FIELD_KEYS if key not in field]
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
    for field in load_layout(fmt)["fields"]:
        if field["id"] == field_id:
            return int(field["pos"])
    raise KeyError(f"{fmt}: no field {field_id!r}")


def field_spec(fmt: str, field_id: str) -> dict[str, Any]:
    for field in load_layout(fmt)["fields"]:
        if field["id"] == field_id:
            return field
    raise KeyError(f"{fmt}: no field {field_id!r}")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(fmt: str) -> str:
    """Human-readable description of one layout (the YAML stays the source of truth)."""
    layout = load_layout(fmt)
    own = layout.get("own_layout")
    kind = {True: "OWN (synthetic) layout", "partly": "public layout with own extensions", False: "public layout"}[own]
    lines = [
        f"# {layout['title_ja']} — `{fmt}`",
        "",
        f"_Generated from `contracts/layouts/{fmt}.yaml` by `python -m juminzei.generator.wire_layouts`;"
        " edit the YAML, not this file._",
        "",
        f"**{layout['title_en']}** — {kind}.",
        "",
        layout["status"].strip(),
        "",
        "## Wire",
        "",
    ]
    for key, value in layout["wire"].items():
        if isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in value.items())
        lines.append(f"- {key}: {value}")
    lines.append(f"- file name: `{layout['file_name']}`")
    lines.append(f"- record key: {', '.join(layout['record_key'])}")
    if "submission_types" in layout:
        codes = ", ".join(f"{k} {v}" for k, v in layout["submission_types"].items())
        lines.append(f"- 提出区分 (`{layout['submission_type_field']}`): {codes}")
    if "era_codes" in layout:
        era = layout["era_codes"]
        codes = ", ".join(f"{k} {v}" for k, v in era.items() if k != "system")
        lines.append(f"- era codes ({era['system']}): {codes}")
    for key in ("consistency", "amounts"):
        if key in layout:
            lines.append(f"- {key}: {layout[key]}")
    lines += ["", "## Sources", ""]
    lines += [f"- {source}" for source in layout["source"]]
    lines += ["", "## Types", ""]
    lines += [f"- `{name}`: {text}" for name, text in layout["types"].items()]
    lines += [
        "",
        "## Fields",
        "",
        "| pos | id | 項目名 | type | width | req | allowed | note | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for field in layout["fields"]:
        note = field.get("note", "")
        if field.get("extension") or field.get("own"):
            note = ("**own** " + _cell(note)).strip()
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    field["pos"],
                    f"`{field['id']}`",
                    field["name_ja"],
                    field["type"],
                    field["width"],
                    field["required"],
                    field.get("allowed"),
                    note,
                    field["source"],
                )
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def write_docs(out_dir: Path = DOCS_DIR) -> list[Path]:
    """Write ``docs/layouts/<format>.md`` for every layout; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in FORMATS:
        path = out_dir / f"{fmt}.md"
        path.write_text(render_markdown(fmt), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    for written_path in write_docs():
        print(written_path)
