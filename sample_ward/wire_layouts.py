"""File layouts as data: loads ``contracts/layouts/<format>.yaml`` and renders ``docs/layouts/<format>.md``.

The document writers take the column order of every CSV format from these files, so a layout change is
a data change; the ingest reads the same files. Regenerate the Markdown after editing a layout::

    python -m sample_ward.wire_layouts
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The loader lives in contracts (the ingest reads the same layouts and must not import the generator);
# re-exported here so the generator's imports keep working.
from contracts.layouts import (
    CSV_FORMATS,
    FIELD_KEYS,
    FORMATS,
    HOLD_REASONS,
    LAYOUT_DIR,
    LayoutError,
    field_ids,
    field_position,
    field_spec,
    load_layout,
)

__all__ = [
    "LAYOUT_DIR",
    "DOCS_DIR",
    "FORMATS",
    "CSV_FORMATS",
    "LayoutError",
    "load_layout",
    "field_ids",
    "field_position",
    "field_spec",
    "render_markdown",
    "write_docs",
]

DOCS_DIR = Path(__file__).resolve().parents[1] / "docs" / "layouts"
_FIELD_KEYS = FIELD_KEYS


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def _if_invalid(field: dict[str, Any]) -> str:
    if field["required"]:
        return "hold"
    if field["on_invalid"] == "hold":
        return f"hold: {field['hold_because']}"
    return "warn"


def render_markdown(fmt: str) -> str:
    """Human-readable description of one layout (the YAML stays the source of truth)."""
    layout = load_layout(fmt)
    own = layout.get("own_layout")
    kind = {True: "OWN (synthetic) layout", "partly": "public layout with own extensions", False: "public layout"}[own]
    lines = [
        f"# {layout['title_ja']} — `{fmt}`",
        "",
        f"_Generated from `contracts/layouts/{fmt}.yaml` by `python -m sample_ward.wire_layouts`;"
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
        "## An invalid value",
        "",
        "Column *if invalid* says what a value the layout does not allow (form, width, code, date, check digit) "
        "does to its record. **hold**: the record is quarantined with the reason, file, record and field. "
        "**warn**: the value is set to empty, the record is staged, and a warning row (file, record, field, "
        "reason) goes to `quarantine/<stage>_warnings`. Required fields always hold; an optional field holds "
        "only when the record is not usable without it, for one of these reasons:",
        "",
    ]
    lines += [f"- `{name}`: {text}" for name, text in HOLD_REASONS.items()]
    lines += [
        "",
        "## Fields",
        "",
        "| pos | id | 項目名 | type | width | req | if invalid | allowed | note | source |",
        "|---|---|---|---|---|---|---|---|---|---|",
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
                    _if_invalid(field),
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
