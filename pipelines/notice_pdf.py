"""Notices rendered to PDF for the operator (``juminzei preview`` and the sample of each export run).

A4 portrait, black only, in the order of the standardised 納税通知書兼税額決定通知書 (通知書 part, the
computation lines, the 期別 table, the 年金特別徴収 part) and of the 特別徴収税額決定通知書（納税義務者用）
(the twelve monthly amounts). It is a preview of what the print vendor receives, not the vendor's
artwork: the vendor prints from the print data (docs/layouts/).

The font is IPAex Gothic (IPA Font License v1.0), shipped inside the locked PyPI package
``matplotlib-fontja`` (requirements.lock): it is found by the package's location, never on the machine.
A character the font lacks prints as 〓 (as in the CP932 print data). The PDF is written with
reportlab's invariant mode (no creation time, fixed document id): the same notice gives the same bytes.

No 個人番号 is ever rendered: the notice records carry none (the layouts are ``paper``), and every page
passes the My Number guard before it is written.
"""

from __future__ import annotations

import functools
import importlib.util
import io
from datetime import date
from pathlib import Path
from typing import Any

FONT_NAME = "IPAexGothic"
FONT_PACKAGE = "matplotlib_fontja"
FONT_FILE = ("fonts", "ipaexg.ttf")
GETA = "\u3013"
ERAS = ((date(2019, 5, 1), "令和", 2018), (date(1989, 1, 8), "平成", 1988))


class FontMissing(RuntimeError):
    pass


def font_path() -> Path:
    """IPAex Gothic inside the installed ``matplotlib-fontja`` package (not imported: only located)."""
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FontMissing(f"the font package {FONT_PACKAGE} is not installed: run `make venv` (requirements.lock)")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*FONT_FILE)
    if not path.is_file():
        raise FontMissing(f"{path} is missing from the package {FONT_PACKAGE}")
    return path


@functools.cache
def _font():
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    font = TTFont(FONT_NAME, str(font_path()))
    pdfmetrics.registerFont(font)
    return font


def printable(text: Any) -> str:
    """``text`` with every character the font lacks replaced by 〓."""
    if text is None:
        return ""
    glyphs = _font().face.charToGlyph
    return "".join(c if ord(c) in glyphs or c in " \u3000" else GETA for c in str(text))


def era_year(fiscal_year: int) -> str:
    """令和8年度 for 2026. A 年度 is named by the era of its calendar year (2019 is 令和元年度, as the
    government renamed 平成31年度 after 1 May 2019)."""
    end = date(fiscal_year, 12, 31)
    for first, name, offset in ERAS:
        if end >= first:
            number = fiscal_year - offset
            return f"{name}{'元' if number == 1 else number}年度"
    return f"{fiscal_year}年度"


def _yen(value: Any) -> str:
    return "" if value is None else f"{int(value):,}"


def _day(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return f"{value.year}年{value.month}月{value.day}日"


def _month(period: str | None) -> str:
    return "" if not period else f"{int(period[:4])}年{int(period[5:])}月"


class _Page:
    """A thin helper over reportlab's canvas: text in mm from the top-left, boxes, tables."""

    def __init__(self, canvas, width, height):
        from reportlab.lib.units import mm

        self.c, self.mm, self.width, self.height = canvas, mm, width, height

    def text(self, x, y, value, size=9, right=False):
        self.c.setFont(FONT_NAME, size)
        draw = self.c.drawRightString if right else self.c.drawString
        draw(x * self.mm, self.height - y * self.mm, printable(value))

    def box(self, x, y, w, h):
        self.c.rect(x * self.mm, self.height - (y + h) * self.mm, w * self.mm, h * self.mm)

    def table(self, x, y, widths, rows, height=5.5, size=8.5):
        """rows of cells; a cell that is an int/None is a yen amount, right-aligned."""
        top = y
        for row in rows:
            left = x
            for width, cell in zip(widths, row):
                self.box(left, top, width, height)
                if isinstance(cell, int) or cell is None:
                    self.text(left + width - 1.5, top + height - 1.6, _yen(cell), size, right=True)
                else:
                    self.text(left + 1.5, top + height - 1.6, cell, size)
                left += width
            top += height
        return top


def _a4(title: str) -> tuple[io.BytesIO, Any, _Page]:
    """A one-page A4 document in invariant mode (the same content gives the same bytes)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    _font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle(title)
    return buffer, canvas, _Page(canvas, *A4)


def _finish(buffer: io.BytesIO, canvas) -> bytes:
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def render_tax_notice(record: dict[str, Any], *, municipality_name: str = "港区") -> bytes:
    """One 納税通知書兼税額決定通知書 (普通徴収 and the 年金特別徴収 part) as a one-page PDF."""
    buffer, canvas, page = _a4(f"納税通知書 {record['notice_no']}")
    year = era_year(int(record["fiscal_year"]))
    page.text(15, 14, f"〒{record.get('addressee_postal_code') or ''}", 10)
    page.text(15, 20, record.get("addressee_address"), 10)
    page.text(15, 25, record.get("addressee_address_detail"), 10)
    page.text(15, 32, f"{record.get('addressee_name') or ''}　様", 12)
    page.text(120, 14, f"通知書番号　{record['notice_no']}", 9)
    page.text(120, 19, f"宛名番号　　{record['person_id']}", 9)
    page.text(120, 24, f"通知日　　　{_day(record.get('notice_date'))}", 9)
    page.text(120, 29, f"{municipality_name}長", 9)
    page.text(15, 45, f"{year}　特別区民税・都民税・森林環境税　納税通知書兼税額決定通知書", 12)
    page.text(15, 51, f"納税義務者　{record.get('taxpayer_name') or ''}（{record.get('taxpayer_name_kana') or ''}）", 9)
    rows = [
        ["給与収入", record.get("salary_revenue"), "給与所得", record.get("salary_income")],
        ["公的年金等収入", record.get("public_pension_revenue"), "公的年金等に係る雑所得", record.get("public_pension_income")],
        ["総所得金額等", record.get("total_income"), "所得控除合計", record.get("income_deductions")],
        ["課税標準額", record.get("taxable_income"), "", None],
    ]
    y = page.table(15, 56, [38, 52, 45, 45], rows)
    levies = [
        ["", "特別区民税", "都民税", "森林環境税"],
        ["算出税額", record.get("income_levy_gross_municipal"), record.get("income_levy_gross_prefectural"), None],
        ["調整控除", record.get("adjustment_credit_municipal"), record.get("adjustment_credit_prefectural"), None],
        ["その他の税額控除等", record.get("other_credits_municipal"), record.get("other_credits_prefectural"), None],
        ["所得割額", record.get("income_levy_municipal"), record.get("income_levy_prefectural"), None],
        ["均等割額", record.get("per_capita_levy_municipal"), record.get("per_capita_levy_prefectural"),
         record.get("forest_environment_tax")],
    ]
    y = page.table(15, y + 4, [45, 45, 45, 45], levies)
    y = page.table(15, y + 4, [45, 45, 45, 45], [
        ["年税額", record.get("total_tax"), "普通徴収税額", record.get("ordinary_amount")],
        ["給与特別徴収税額", record.get("salary_amount"), "年金特別徴収税額", record.get("pension_amount")],
    ])
    if record.get("ordinary_reason"):
        page.text(15, y + 4, f"普通徴収の理由　{record['ordinary_reason']}", 8)
    y += 8
    page.text(15, y + 2, "普通徴収　納期別税額", 10)
    rows = [["期別", "納付月", "納期限", "納付額"]]
    i = 1
    while f"installment_{i}_period" in record:
        rows.append([f"第{i}期", _month(record.get(f"installment_{i}_period")),
                     _day(record.get(f"installment_{i}_due_date")), record.get(f"installment_{i}_amount")])
        i += 1
    rows.append(["計", "", "", record.get("ordinary_installments_total")])
    y = page.table(15, y + 4, [25, 40, 60, 55], rows)
    if record.get("pension_amount"):
        first = str(record.get("pension_first_year")).lower() == "true"
        page.text(15, y + 6, "公的年金からの特別徴収（年金保険者 " + str(record.get("pension_payer") or "") + "）"
                  + ("　本年度から開始: 6月・8月は普通徴収" if first else ""), 10)
        rows = [["", "1回目", "2回目", "3回目"]]
        for label, prefix in (("仮徴収", "provisional"), ("本徴収", "main")):
            months = [_month(record.get(f"{prefix}_{n}_period")) for n in (1, 2, 3)]
            rows.append([f"{label}（{'・'.join(m for m in months if m) or 'なし'}）",
                         *[record.get(f"{prefix}_{n}_amount") for n in (1, 2, 3)]])
        y = page.table(15, y + 8, [84, 32, 32, 32], rows, size=8)
        excess = record.get("pension_provisional_excess")
        if excess:
            page.text(15, y + 5, f"仮徴収額の合計が年金特別徴収税額を {int(excess):,} 円上回るため本徴収はありません。", 8)
            page.text(15, y + 9, "上回る額は還付（または未納の税への充当）をします（地方税法第17条・第17条の2）。", 8)
    page.text(15, 270, "納期限までに納付がない場合は督促状が送付され、延滞金がかかることがあります（地方税法第329条、第326条）。", 7)
    page.text(15, 275, "この処分に不服がある場合は、通知を受けた日の翌日から3か月以内に区長に審査請求ができます（行政不服審査法）。", 7)
    page.text(15, 282, "プレビュー（印刷業者の帳票ではありません）", 7)
    return _finish(buffer, canvas)


def render_special_collection_notice(record: dict[str, Any], *, municipality_name: str = "港区") -> bytes:
    """One 特別徴収税額決定通知書（納税義務者用） as a one-page PDF."""
    buffer, canvas, page = _a4(f"特別徴収税額決定通知書 {record['notice_no']}")
    year = era_year(int(record["fiscal_year"]))
    page.text(15, 14, f"{year}　給与所得等に係る特別区民税・都民税・森林環境税　特別徴収税額決定通知書（納税義務者用）", 10)
    page.text(15, 22, f"特別徴収義務者　{record.get('employer_name') or ''}（指定番号 {record.get('designation_no') or ''}）", 9)
    page.text(15, 28, f"納税義務者　{record.get('taxpayer_name') or ''}（{record.get('taxpayer_name_kana') or ''}）"
              f"　受給者番号 {record.get('employee_no') or ''}", 9)
    page.text(15, 34, f"住所　{record.get('taxpayer_address') or ''}", 9)
    page.text(130, 40, f"通知書番号 {record['notice_no']}", 8)
    page.text(130, 45, f"宛名番号 {record['person_id']}　{municipality_name}長", 8)
    y = page.table(15, 50, [45, 45, 45, 45], [
        ["給与収入", record.get("salary_revenue"), "総所得金額等", record.get("total_income")],
        ["所得控除合計", record.get("income_deductions"), "課税標準額", record.get("taxable_income")],
        ["所得割額（区）", record.get("income_levy_municipal"), "所得割額（都）", record.get("income_levy_prefectural")],
        ["均等割額（区）", record.get("per_capita_levy_municipal"), "均等割額（都）", record.get("per_capita_levy_prefectural")],
        ["森林環境税", record.get("forest_environment_tax"), "年税額", record.get("total_tax")],
        ["特別徴収税額", record.get("salary_amount"), "", None],
    ])
    page.text(15, y + 6, "月別特別徴収税額", 10)
    from transforms.installments import load_installment_rules

    labels = load_installment_rules(int(record["fiscal_year"])).months("salary_special_collection.months")
    months = [k for k in record if k.startswith("month_") and k.endswith("_amount")]
    rows = [[f"{labels[i]}月分" if i < len(labels) else k, record.get(k)] for i, k in enumerate(months)]
    page.table(15, y + 8, [40, 50], rows)
    page.text(15, 282, "プレビュー（印刷業者の帳票ではありません）", 7)
    return _finish(buffer, canvas)


# ------------------------------------------------------------------------------------- the operator's sample

SAMPLE_SIZE = 20


def sample_records(tax, special, size: int = SAMPLE_SIZE) -> list[tuple[str, dict[str, Any]]]:
    """A deterministic sample of the sent notices for the operator to look at: the ones most likely to go
    wrong first (a 外字, a 送付先, a first-year and a continuing pensioner, a 仮徴収 above the year's
    pension tax, a 普通徴収 with a reason), then special-collection notices, then evenly spaced 納税通知書
    in 発送連番 order. (kind, record) pairs."""
    import polars as pl

    from transforms.notices import unencodable_characters

    picked: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()

    def take(kind: str, frame, limit: int) -> None:
        for row in frame.head(limit).iter_rows(named=True):
            if len(picked) < size and row["notice_no"] not in seen:
                picked.append((kind, row))
                seen.add(row["notice_no"])

    if tax.height:
        gaiji = unencodable_characters(tax.select("notice_no", "addressee_name", "taxpayer_name", "addressee_address",
                                                  "addressee_address_detail"), "notice_no")
        take("tax_notice", tax.filter(pl.col("notice_no").is_in(gaiji["notice_no"].implode())), 3)
        take("tax_notice", tax.filter(pl.col("address_basis") == "mailing_address"), 2)
        take("tax_notice", tax.filter(pl.col("pension_first_year").fill_null(False)), 2)
        take("tax_notice", tax.filter(~pl.col("pension_first_year").fill_null(True)), 2)
        take("tax_notice", tax.filter(pl.col("pension_provisional_excess") > 0), 1)
        take("tax_notice", tax.filter(pl.col("ordinary_reason").is_not_null()), 2)
    if special.height:
        take("special_collection", special, 4)
    if tax.height:
        step = max(tax.height // max(size - len(picked), 1), 1)
        take("tax_notice", tax.gather_every(step), size)
    return picked


def render(kind: str, record: dict[str, Any]) -> bytes:
    return render_tax_notice(record) if kind == "tax_notice" else render_special_collection_notice(record)


def write_samples(lake: Path, municipality: str, fiscal_year: int, run_id: str, tax, special,
                  size: int = SAMPLE_SIZE) -> dict:
    """Render the sample to ``<lake>/preview/samples/municipality=M/fiscal_year=N/<run_id>/`` (one PDF per
    notice, ``NN_<kind>_<通知書番号>.pdf``), the folder written at once; return a summary for the report."""
    import os
    import secrets
    import shutil

    from pipelines.lake import fsync_dir

    parent = Path(lake) / "preview" / "samples" / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    target = parent / run_id
    tmp = parent / f".{run_id}.tmp-{secrets.token_hex(4)}"
    tmp.mkdir(mode=0o750)
    names = []
    try:
        for number, (kind, record) in enumerate(sample_records(tax, special, size), start=1):
            name = f"{number:02d}_{kind}_{record['notice_no']}.pdf"
            (tmp / name).write_bytes(render(kind, record))
            names.append(name)
        fsync_dir(tmp)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"path": target.relative_to(lake).as_posix(), "files": len(names)}


def person_notices(lake: Path, municipality: str, fiscal_year: int, atena_no: str) -> tuple[str, list[tuple[str, dict]]]:
    """The notices of one person from the newest print data that still holds its files (a dispatch under
    ``exports/`` or a dry run's preview under ``preview/``): (the folder, [(kind, record), ...])."""
    import polars as pl

    from contracts.errors import ConfigError

    lake = Path(lake)
    folders = []
    for root in ("exports", "preview"):
        parent = lake / root / "print_vendor" / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
        if parent.is_dir():
            folders += [p for p in parent.iterdir() if p.is_dir() and not p.name.startswith(".")
                        and (p / "tax_notice.parquet").is_file()]
    if not folders:
        raise ConfigError(f"there is no print data of {municipality}/{fiscal_year} to preview: run notice_export "
                          "(a dry run is enough: juminzei run notice_export --dry-run)")
    folder = max(folders, key=lambda p: p.name)  # run ids begin with their start time
    found = []
    for kind, name in (("tax_notice", "tax_notice.parquet"), ("special_collection", "special_collection_employee.parquet"),
                       ("special_collection", "special_collection_employer.parquet")):
        path = folder / name
        if not path.is_file() or any(k == kind for k, _ in found):
            continue
        rows = pl.read_parquet(path).filter(pl.col("person_id") == atena_no)
        found += [(kind, row) for row in rows.iter_rows(named=True)]
    return folder.relative_to(lake).as_posix(), found


def pdf_text(data: bytes) -> str:
    """The text of a PDF (every page), for checks."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


__all__ = ["font_path", "printable", "era_year", "render_tax_notice", "render_special_collection_notice", "pdf_text",
           "FontMissing", "sample_records", "render", "write_samples", "person_notices", "SAMPLE_SIZE"]
