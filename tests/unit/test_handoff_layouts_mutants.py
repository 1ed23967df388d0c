"""contracts.handoff_layouts: the rules the mutation run found without a test — how ``to_export`` refuses a
frame that does not fit its layout and never rewrites a value, and the ``--write-docs`` command. Layouts
are built by hand here (a ``HandoffLayout`` of a few fields); expected values are worked out in the tests
(docs/testing.md)."""

from __future__ import annotations

import codecs
import re
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from contracts import handoff_layouts as hl
from contracts.handoff_layouts import HandoffLayout, HandoffLayoutError, to_export

#: the layouts the command documents: one YAML file each in contracts/handoff/, by name
LAYOUT_FILES = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "contracts" / "handoff").glob("*.yaml"))


def _layout(*fields: tuple[str, str]) -> HandoffLayout:
    return HandoffLayout("hand_built", {"fields": [{"id": i, "name_ja": i, "type": t} for i, t in fields]})


# ----------------------------------------------------------------------------------------- to_export
def test_a_frame_lacking_fields_is_refused_naming_every_missing_field_in_layout_order():
    """A layout and its producer must agree: the error names the layout file and each absent field, in
    the layout's order, separated by ", "."""
    layout = _layout(("notice_no", "digits"), ("name", "text"), ("amount", "yen"), ("note", "text"))
    frame = pl.DataFrame({"name": ["港　一郎"], "extra": [1]})
    with pytest.raises(HandoffLayoutError) as caught:
        to_export(frame, layout)
    assert str(caught.value) == ("contracts/handoff/hand_built.yaml: the export has no column "
                                 "notice_no, amount, note")


def test_to_export_never_rewrites_a_code_and_spells_a_boolean_code_true_or_false():
    """普通徴収切替理由 ``普A`` stays ``普A`` (a code is copied, not lower-cased); a Boolean in a code field is
    written ``true``/``false`` (tax_notice.yaml: pension_first_year), while a Boolean in a count field
    counts 1/0 — the spelling applies to code fields only."""
    layout = _layout(("ordinary_reason", "code"), ("pension_first_year", "code"), ("flag_count", "count"))
    frame = pl.DataFrame({"ordinary_reason": ["普A", "普F", None], "pension_first_year": [True, False, None],
                          "flag_count": [True, False, True]})
    out = to_export(frame, layout)
    assert out.rows() == [("普A", "true", 1), ("普F", "false", 0), (None, None, 1)]
    assert out.schema == {"ordinary_reason": pl.String, "pension_first_year": pl.String, "flag_count": pl.Int64}


def test_a_date_read_back_must_be_iso_and_anything_else_is_refused():
    """A file read back holds its dates as ISO text (YYYY-MM-DD): that is parsed; ``2026/06/30`` or an
    impossible ``2026-13-01`` stops the export instead of becoming another date or an empty field."""
    layout = _layout(("notice_date", "date"))
    assert to_export(pl.DataFrame({"notice_date": ["2026-06-30"]}), layout)["notice_date"].to_list() == [
        date(2026, 6, 30)]
    for bad in ("2026/06/30", "2026-13-01"):
        with pytest.raises(pl.exceptions.InvalidOperationError, match="conversion from `str` to `date` failed"):
            to_export(pl.DataFrame({"notice_date": ["2026-06-30", bad]}), layout)


def test_an_amount_that_is_not_a_whole_number_of_yen_is_refused_not_emptied():
    """A ``yen`` field is Int64; ``12000`` as text is 12,000 yen, ``12,000`` (a separator) is refused — a
    control total must never lose an amount to an empty field."""
    layout = _layout(("amount", "yen"))
    assert to_export(pl.DataFrame({"amount": ["12000"]}), layout)["amount"].to_list() == [12_000]
    with pytest.raises(pl.exceptions.InvalidOperationError, match="conversion from `str` to `i64` failed"):
        to_export(pl.DataFrame({"amount": ["12000", "12,000"]}), layout)


# ----------------------------------------------------------------------------------------- the command
@pytest.fixture
def fake_checkout(tmp_path, monkeypatch):
    """The module as if it lived in ``tmp_path/contracts/``: the command writes ``tmp_path/docs/layouts``,
    never the real docs. Every ``Path.write_text`` call is recorded with its encoding."""
    (tmp_path / "docs" / "layouts").mkdir(parents=True)
    monkeypatch.setattr(hl, "__file__", str(tmp_path / "contracts" / "handoff_layouts.py"))
    monkeypatch.setattr(sys, "argv", ["handoff_layouts"])   # the command must read its own argv
    writes: list[tuple[Path, str | None]] = []
    real_write_text = Path.write_text

    def recording_write_text(self, data, encoding=None, errors=None, newline=None):
        writes.append((self, encoding))
        return real_write_text(self, data, encoding=encoding, errors=errors, newline=newline)

    monkeypatch.setattr(Path, "write_text", recording_write_text)
    return tmp_path / "docs" / "layouts", writes


def test_the_command_without_write_docs_lists_the_documents_and_writes_nothing(fake_checkout, capsys):
    """``python -m contracts.handoff_layouts`` prints ``docs/layouts/<export>.md`` for each YAML file of
    contracts/handoff/, in name order, writes nothing and exits 0."""
    docs, writes = fake_checkout
    assert {"tax_notice", "forwarding_list", "encoding_report"} <= set(LAYOUT_FILES)
    assert hl._main([]) == 0
    assert capsys.readouterr().out.splitlines() == [str(docs / f"{e}.md") for e in LAYOUT_FILES]
    assert writes == [] and list(docs.iterdir()) == []


def test_write_docs_writes_each_layouts_document_as_utf8(fake_checkout, capsys):
    """``--write-docs`` writes every ``docs/layouts/<export>.md`` from its layout, in UTF-8 named
    explicitly (never the machine's locale), lists each file and exits 0."""
    docs, writes = fake_checkout
    assert hl._main(["--write-docs"]) == 0
    exports = LAYOUT_FILES
    assert capsys.readouterr().out.splitlines() == [str(docs / f"{e}.md") for e in exports]
    assert [path for path, _ in writes] == [docs / f"{e}.md" for e in exports]
    assert all(encoding is not None and codecs.lookup(encoding).name == "utf-8" for _, encoding in writes)
    for export in exports:
        text = (docs / f"{export}.md").read_bytes().decode("utf-8")
        assert text == hl.render_markdown(hl.load_handoff_layout(export))
        assert text.startswith("# ") and f"`{export}`" in text.splitlines()[0]


def test_the_command_explains_itself_and_its_option(monkeypatch, capsys):
    """``--help`` says what the command does and what ``--write-docs`` does."""
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as caught:
        hl._main(["--help"])
    assert caught.value.code == 0
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert "Render docs/layouts/<export>.md from contracts/handoff/." in lines
    assert any(re.fullmatch(r"--write-docs\s+write the files \(else: list them\)", line) for line in lines), lines


# ------------------------------------------------------------------------------------ repeated fields
def test_a_repeated_group_expands_slot_by_slot_with_its_number_and_calendar_month():
    """A run of fields with ``repeat: g`` becomes, per slot of ``slots[g]`` (the calendar months in order),
    one field each, with ``{i}`` the slot's number (from 1) and ``{month}`` its month in the id and the
    Japanese name; the expanded fields are concrete (no ``repeat`` left) and keep the other keys."""
    layout = HandoffLayout("hand_built", {"fields": [
        {"id": "notice_no", "name_ja": "通知書番号", "type": "digits"},
        {"id": "m{month}_{i}_period", "name_ja": "第{i}期（{month}月）", "type": "period", "repeat": "g"},
        {"id": "m_{i:02d}_amount", "name_ja": "{month}月分", "type": "yen", "repeat": "g", "description": "d"},
        {"id": "total", "name_ja": "計", "type": "yen"},
    ]})
    fields = layout.fields({"g": [6, 1]})
    assert [(f["id"], f["name_ja"]) for f in fields] == [
        ("notice_no", "通知書番号"),
        ("m6_1_period", "第1期（6月）"), ("m_01_amount", "6月分"),
        ("m1_2_period", "第2期（1月）"), ("m_02_amount", "1月分"),
        ("total", "計"),
    ]
    assert all("repeat" not in f for f in fields)
    assert fields[2] == {"id": "m_01_amount", "name_ja": "6月分", "type": "yen", "description": "d"}
