"""Write ``data_samples/``: one small sample of every file that enters the ward, with a known-bad sibling.

``make samples`` (``python -m sample_ward.samples --out data_samples``) writes::

    data_samples/landing/<source>/municipality=131032/fiscal_year=2026/<wire file name>   the good samples
    data_samples/bad/<source>/municipality=131032/fiscal_year=2026/<wire file name>       one fault each
    data_samples/samples.json                                                               the index

and nothing else (``data_samples/README.md`` is written by hand and left alone). How the samples are
made, and why (see data_samples/README.md for the reader's side):

1. A sample ward is generated with :func:`sample_ward.generate_ward` from fixed arguments
   (:data:`WARD`) into a temporary folder. It is bigger than the samples (300 residents) because the
   generator plants at least one defect of every category; a bigger ward leaves clean files to pick.
2. **Documents**: per document source, one whole file is picked (bytes unchanged) whose records all have
   no planted defect and the route ``stage`` in ``truth/documents.parquet`` (see :data:`KINDS` for the
   number of records wanted); the 総括表 is the one delivered with the picked 給与支払報告書.
3. **Registry extracts**: the people of the picked documents plus a few people who show the other cases
   (a 生活扶助 recipient, a 障害者手帳 holder, a resident without a My Number, a 転出 and a 死亡 消除, a
   外国人住民) are the sample's people; each registry file keeps its header and the lines of those
   people (bytes unchanged, original order), never a line listed in ``truth/defects.parquet``.
4. **Bad siblings**: the good file with ONE deliberate fault (:data:`KINDS`, ``fault``), under the same
   name in the ``bad/`` tree so that it can replace its good sibling in a landing folder. The index
   records which record and field were broken and the quarantine reason code the reading stage must give.

Deterministic: fixed arguments, no clock, everything sorted; a rerun gives byte-identical files
(``tests/unit/test_data_samples.py`` checks it against the committed files).

To add a sample for a new kind of file: add its :class:`Kind` to :data:`KINDS` (with a picker in
:func:`_pick_documents` or :func:`_registry_samples` if it is picked differently), run ``make samples``
and add its row to the table of data_samples/README.md.

Everything here is synthetic; the My Number sample carries generated 12-digit numbers (allowed in
``data_samples/`` and ``tests/`` only).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["WARD", "KINDS", "Kind", "Fault", "build_samples", "write_samples", "main"]

#: the arguments of the generated ward the samples are cut from (fixed: the samples never change by chance)
WARD: dict[str, Any] = {"residents": 300, "seed": 20260101, "fiscal_year": 2026, "municipality_code": "131032"}

INDEX = "samples.json"
EXPORTS_ROOT = "exports"
GOOD_ROOT = "landing"
BAD_ROOT = "bad"
REGISTRY_DOC = "docs/sample-ward.md#registry-files-own-layouts-utf-8-header-row-comma--quoting-lf"
NOTICE_DOC = "docs/sample-ward.md#notice-inputs-own-layouts-the-registry-dialect"
PENSION_DOC = "docs/layouts/pension_exchange.md"
PENSION_REGISTER_DOC = "docs/sample-ward.md#pension-insurers-sample_wardpension_insurerpy"
RESIDENT_CHANGES_DOC = "docs/sample-ward.md#resident-changes-the-registry-dialect"
#: the stages that read files of the registry dialect (UTF-8, header row, LF)
REGISTRY_DIALECT_STAGES = ("resident_snapshot", "notice_export", "pension_special_collection")
#: files of fixed-length records (年金特徴), not of the registry dialect although their stage reads one
FIXED_LENGTH_SOURCES = ("pension_exchange",)


@dataclass(frozen=True)
class Fault:
    """One deliberate fault: ``record`` (1-based data record of the good file; None when the stage refuses the
    whole file, as it does an exchange file whose trailer is wrong), ``field`` (layout field id, or None for
    a fault of the whole record/file), ``reason_code`` (what the stage must quarantine it with) and ``apply``
    (good bytes, record → bad bytes)."""

    description: str
    record: int | str | None
    field: str | None
    reason_code: str
    apply: Callable[[bytes, int], bytes]


@dataclass(frozen=True)
class Kind:
    """A kind of file that enters the ward: its landing ``source`` (= layout name), Japanese name, reading
    stage, describing page, how many records a document sample should have (the registry samples take
    the lines of the sample's people: 0 here), and the fault of its bad sibling. Format and encoding
    come from the layout (:func:`wire_format`)."""

    source: str
    title: str
    stage: str
    doc: str
    records: int
    fault: Fault


# ------------------------------------------------------------------------------------------ byte edits
def _csv_lines(data: bytes, newline: bytes) -> tuple[list[bytes], bytes]:
    """Records (lines) of a CSV file and its tail ("" after the last line end)."""
    parts = data.split(newline)
    if parts[-1] != b"":
        raise ValueError("the sample does not end with a line end")
    return parts[:-1], newline


def _edit_field(data: bytes, line_no: int, position: int, edit: Callable[[bytes], bytes | None], *,
                newline: bytes) -> bytes:
    """Replace field ``position`` (1-based) of line ``line_no`` (1-based, the header counting) by
    ``edit(old)``; ``None`` drops the field with its separator. Only lines without a quote are edited (so
    a comma is always a separator; CP932 and UTF-8 never use the comma byte inside a character)."""
    lines, newline = _csv_lines(data, newline)
    line = lines[line_no - 1]
    if b'"' in line:
        raise ValueError(f"line {line_no} is quoted; pick another record for the fault")
    fields = line.split(b",")
    new = edit(fields[position - 1])
    if new is None:
        del fields[position - 1]
    else:
        fields[position - 1] = new
    lines[line_no - 1] = b",".join(fields)
    return newline.join(lines) + newline


def _wrong_check_digit(value: bytes) -> bytes:
    """A 12-digit number with its last digit changed: the 第5条 check digit is unique, so it is now wrong."""
    text = value.decode("ascii")
    if len(text) != 12 or not text.isdigit():
        raise ValueError("the record carries no 12-digit number to break")
    return (text[:-1] + str((int(text[-1]) + 1) % 10)).encode("ascii")


def _registry_fault(field: str, edit: Callable[[bytes], bytes | None], layout: str) -> Callable[[bytes, int], bytes]:
    def apply(data: bytes, record: int) -> bytes:
        from contracts.resident_snapshot import load_layout

        names = load_layout(layout).names
        return _edit_field(data, record + 1, names.index(field) + 1, edit, newline=b"\n")

    return apply


def _document_fault(fmt: str, field: str, edit: Callable[[bytes], bytes | None]) -> Callable[[bytes, int], bytes]:
    def apply(data: bytes, record: int) -> bytes:
        from contracts.layouts import field_position

        return _edit_field(data, record, field_position(fmt, field), edit, newline=b"\r\n")

    return apply


def _drop_last_field(fmt: str) -> Callable[[bytes, int], bytes]:
    def apply(data: bytes, record: int) -> bytes:
        from contracts.layouts import load_layout

        count = load_layout(fmt)["wire"]["field_count"]
        return _edit_field(data, record, count, lambda _old: None, newline=b"\r\n")

    return apply


def _cut_xml(data: bytes, record: int) -> bytes:
    """The e-Tax file cut off just before its second page (KOA020-2): every element after it is missing."""
    at = data.find(b"<KOA020-2")
    if at < 0:
        raise ValueError("the e-Tax sample has no KOA020-2 page to cut at")
    return data[:at]


def _trailer_total_off(data: bytes, record: int | None) -> bytes:
    """The last trailer's 合計金額 金額1 one yen higher than the sum of its records' 金額1."""
    from contracts.pension_exchange import load_exchange_layouts

    lay = load_exchange_layouts()
    total = lay.trailer.field("total_amount_1")
    at = len(data) - lay.record_length + total.start - 1
    value = int(data[at:at + total.length]) + 1
    return data[:at] + str(value).rjust(total.length, "0").encode("ascii") + data[at + total.length:]


def _impossible_day(value: bytes) -> bytes:
    return value[:4] + b"0230"  # 30 February


def _month_13(value: bytes) -> bytes:
    return value[:4] + b"13" + value[6:]


#: every kind of file that enters the ward today, in the order of the index and the README table
KINDS: tuple[Kind, ...] = (
    Kind("resident_registry", "住民記録 抽出ファイル (1月1日現在)", "resident_snapshot", REGISTRY_DOC, 0,
         Fault("生年月日 (birth_date) of the resident without a My Number set to 30 February", "no_my_number",
               "birth_date", "bad_date", _registry_fault("birth_date", _impossible_day, "resident_registry"))),
    Kind("my_number", "個人番号 対応ファイル", "resident_snapshot", REGISTRY_DOC, 0,
         Fault("個人番号 (my_number) of the first line with its last digit changed (wrong check digit)", 1,
               "my_number", "bad_check_digit", _registry_fault("my_number", _wrong_check_digit, "my_number"))),
    Kind("livelihood_assistance", "生活保護 (生活扶助) 受給者ファイル", "resident_snapshot", REGISTRY_DOC, 0,
         Fault("生活扶助開始年月日 (assistance_start_date) of the first line set to month 13", 1,
               "assistance_start_date", "bad_date",
               _registry_fault("assistance_start_date", _month_13, "livelihood_assistance"))),
    Kind("disability", "障害者ファイル", "resident_snapshot", REGISTRY_DOC, 0,
         Fault("等級 (grade) of the first line set to 9 (no 手帳 has grade 9)", 1, "grade", "bad_code",
               _registry_fault("grade", lambda _old: b"9", "disability"))),
    Kind("non_registered_register", "住登外者 登録ファイル", "resident_snapshot", REGISTRY_DOC, 0,
         Fault("住民票所在 団体コード (registered_municipality_code) of the 住登外者 with its check digit changed",
               "non_registered", "registered_municipality_code", "bad_check_digit",
               _registry_fault("registered_municipality_code",
                               lambda old: old[:5] + str((int(old[5:6]) + 1) % 10).encode("ascii"),
                               "non_registered_register"))),
    Kind("salary_report", "給与支払報告書 (個人別明細書, 統一CSV)", "returns_ingest", "docs/layouts/salary_report.md", 2,
         Fault("（受給者）個人番号 of record 2 with its last digit changed (wrong check digit)", 2,
               "recipient_my_number", "bad_my_number_check_digit",
               _document_fault("salary_report", "recipient_my_number", _wrong_check_digit))),
    Kind("salary_summary", "給与支払報告書 (総括表)", "returns_ingest", "docs/layouts/salary_summary.md", 1,
         Fault("the last field of record 1 dropped with its comma (one field too few)", 1, None,
               "wrong_field_count", _drop_last_field("salary_summary"))),
    Kind("pension_report", "公的年金等支払報告書", "returns_ingest", "docs/layouts/pension_report.md", 2,
         Fault("受給者の生年月日 月 (birth_month) of record 2 set to 13; the parser names a 和暦 date by the first "
               "part of its yy/mm/dd group (birth_year)", 2, "birth_year", "impossible_date",
               _document_fault("pension_report", "birth_month", lambda _old: b"13"))),
    Kind("etax_return", "所得税 確定申告書 (国税連携 e-Tax XML)", "returns_ingest", "docs/layouts/etax_return.md", 1,
         Fault("the file cut off before its second page (KOA020-2): not well-formed XML", 1, None, "xml_malformed",
               _cut_xml)),
    Kind("resident_return", "特別区民税・都民税申告書", "returns_ingest", "docs/layouts/resident_return.md", 1,
         Fault("氏名 (name) of record 1 left empty", 1, "name", "empty_mandatory_field",
               _document_fault("resident_return", "name", lambda _old: b""))),
    Kind("furusato_notice", "寄附金税額控除に係る申告特例通知書", "returns_ingest", "docs/layouts/furusato_notice.md", 1,
         Fault("寄附金額（合計） (donation_amount) of record 1 with the letter O for every 0", 1, "donation_amount",
               "non_numeric_amount",
               _document_fault("furusato_notice", "donation_amount", lambda old: old.replace(b"0", b"O")))),
    Kind("pension_exchange", "特別徴収対象者情報 (年金特徴, 通知内容コード 00)", "pension_special_collection", PENSION_DOC, 0,
         Fault("合計金額 金額1 of the trailer one yen more than its records' sum: the stage refuses the whole file",
               None, None, "trailer_totals", _trailer_total_off)),
    Kind("resident_changes", "住民記録 異動 抽出ファイル (月次)", "pension_special_collection", RESIDENT_CHANGES_DOC, 0,
         Fault("異動年月日 (change_date) of the first line set to month 13", 1, "change_date", "bad_date",
               _registry_fault("change_date", _month_13, "resident_changes"))),
    Kind("pension_previous_year", "年金特別徴収 前年度税額ファイル (移行データ)", "pension_special_collection",
         PENSION_REGISTER_DOC, 0,
         Fault("前年度の年金特別徴収に係る年税額 (previous_year_tax) of the first line with a letter", 1,
               "previous_year_tax", "bad_format",
               _registry_fault("previous_year_tax", lambda old: old[:-1] + b"O", "pension_previous_year"))),
    Kind("mailing_address", "送付先ファイル", "notice_export", NOTICE_DOC, 0,
         Fault("送付先郵便番号 (postal_code) of the first line cut to 6 digits", 1, "postal_code", "bad_format",
               _registry_fault("postal_code", lambda old: old[:6], "mailing_address"))),
    Kind("support_measures", "DV等支援措置 対象者ファイル", "notice_export", NOTICE_DOC, 0,
         Fault("支援措置の終了予定年月日 (end_date) of the first line set to month 13: the person it protects cannot "
               "be known, so dispatch stops (fail-closed) instead of a quarantine", 1, "end_date", "bad_date",
               _registry_fault("end_date", _month_13, "support_measures"))),
)


# ------------------------------------------------------------------------------------------ wire formats
def wire_format(source: str) -> dict[str, str]:
    """Format and encoding of ``source`` as its layout states them (contracts/layouts/<source>.yaml)."""
    from contracts.layouts import FORMATS, load_layout

    if source in FIXED_LENGTH_SOURCES:
        return {"format": "fixed length: a 96-byte control block, then 500-byte header, data and trailer records, "
                          "no line ends", "encoding": "ISO-2022-JP (kanji between shift codes), JIS X 0201 kana"}
    if source in FORMATS:
        layout = load_layout(source)
        wire = layout["wire"]
        encoding = str(wire["encoding"]).upper()
        if source == "etax_return":
            return {"format": "XML, one return per file, LF line ends, no indentation",
                    "encoding": encoding}
        newline = str(wire["newline"]).split()[0]
        header = "header row" if wire.get("header") else "no header"
        return {"format": f"CSV, {wire['field_count']} fields, comma, minimal \" quoting, {newline}, {header}",
                "encoding": encoding}
    from contracts.resident_snapshot import load_layout as load_registry_layout

    layout = load_registry_layout(source)
    newline = {"\n": "LF", "\r\n": "CRLF"}[layout.dialect["line_terminator"]]
    return {"format": f"CSV, {len(layout.names)} fields, comma, minimal \" quoting, {newline}, header row",
            "encoding": str(layout.dialect["encoding"]).upper()}


def layout_file(source: str) -> str:
    if source == "pension_exchange":  # the record frame is record_frame.yaml; the 00 data bytes this file
        return "contracts/pension_exchange/target_persons_00.yaml"
    return f"contracts/layouts/{source}.yaml"


# ------------------------------------------------------------------------------------------ the picking
def _pick_documents(docs: Any, persons_ok: set[str]) -> dict[str, str]:
    """source → landing path of the picked file: all records clean, routed to ``stage``, of people whose
    registry lines are clean; the number of records closest to the kind's ``records``, then by name."""
    import polars as pl

    per_file = (
        docs.group_by("source", "file")
        .agg(
            pl.len().alias("n"),
            (pl.col("defect").is_null() & (pl.col("expected_route") == "stage")).all().alias("clean"),
            pl.col("true_atena_no").drop_nulls().alias("atena"),
        )
        .filter(pl.col("clean"))
        .sort("source", "file")
    )
    files: dict[str, list[tuple[str, int, list[str]]]] = {}
    for source, file, n, _clean, atena in per_file.iter_rows():
        if all(a in persons_ok for a in atena):
            files.setdefault(source, []).append((file, n, atena))
    summaries = {f for f, _n, _a in files.get("salary_summary", [])}
    picked: dict[str, str] = {}
    for kind in KINDS:
        if kind.stage != "returns_ingest" or kind.source == "salary_summary":
            continue
        candidates = files.get(kind.source, [])
        if kind.source == "salary_report":  # the 総括表 delivered with it must be clean too
            candidates = [c for c in candidates if _summary_of(c[0]) in summaries]
        if not candidates:
            raise ValueError(f"the ward {WARD} has no clean {kind.source} file; change WARD")
        file = min(candidates, key=lambda c: (abs(c[1] - kind.records), c[1], c[0]))[0]
        picked[kind.source] = file
        if kind.source == "salary_report":
            picked["salary_summary"] = _summary_of(file)
    return picked


def _summary_of(salary_file: str) -> str:
    """The 総括表 delivered with a 給与支払報告書 (same day, 指定番号 and sequence number)."""
    folder, name = salary_file.rsplit("/", 1)
    return folder.replace("salary_report/", "salary_summary/", 1) + "/" + name.replace("_kyuyo_", "_soukatsu_", 1)


def _registry_lines(data: bytes) -> list[tuple[int, str, bytes]]:
    """(line number with the header as 1, 宛名番号 = first field, line bytes) of every record line."""
    lines = data.split(b"\n")
    if lines[-1] != b"":
        raise ValueError("a registry extract does not end with LF")
    return [(no, line.split(b",", 1)[0].decode("utf-8", "replace"), line)
            for no, line in enumerate(lines[1:-1], start=2)]


def _registry_samples(landing: Path, defects: Any, people: set[str], paths: dict[str, str]) -> dict[str, bytes]:
    """Each registry file cut to its header and the lines of ``people`` (clean lines only)."""
    out: dict[str, bytes] = {}
    for source, rel in paths.items():
        data = (landing / rel).read_bytes()
        header = data.split(b"\n", 1)[0]
        bad_lines = set(defects.filter(defects["file"] == rel)["record_no"].to_list())
        kept = [line for no, atena, line in _registry_lines(data) if atena in people and no not in bad_lines]
        out[source] = header + b"\n" + b"".join(line + b"\n" for line in kept)
    return out


def _registry_roles(landing: Path, defects: Any, paths: dict[str, str],
                    docs_people: set[str]) -> tuple[dict[str, str], set[str]]:
    """The people (宛名番号) who show the registry cases the documents' people may not: role → 宛名番号.
    Also returns every 宛名番号 whose lines are all clean and unique (the people a sample may take)."""
    dirty: set[str] = set()
    seen: dict[str, dict[str, int]] = {}
    rows: dict[str, dict[str, list[str]]] = {}
    for source, rel in paths.items():
        data = (landing / rel).read_bytes()
        bad_lines = set(defects.filter(defects["file"] == rel)["record_no"].to_list())
        counts: dict[str, int] = {}
        rows[source] = {}
        for no, atena, line in _registry_lines(data):
            counts[atena] = counts.get(atena, 0) + 1
            if no in bad_lines:
                dirty.add(atena)
            rows[source][atena] = next(csv.reader([line.decode("utf-8")]))
        seen[source] = counts
    for counts in seen.values():
        dirty |= {a for a, n in counts.items() if n > 1}
    registry = {a: fields for a, fields in rows["resident_registry"].items() if a not in dirty}
    clean = set(registry)
    from contracts.resident_snapshot import load_layout

    names = load_layout("resident_registry").names

    def value(atena: str, column: str) -> str:
        return registry[atena][names.index(column)]

    roles: dict[str, str] = {}
    chosen = set(docs_people)
    tests: list[tuple[str, Callable[[str], bool]]] = [
        ("livelihood_assistance", lambda a: a in rows["livelihood_assistance"]),
        ("disability", lambda a: a in rows["disability"]),
        ("no_my_number", lambda a: a not in rows["my_number"] and a not in rows["livelihood_assistance"]
         and a not in rows["disability"] and value(a, "removal_reason") == ""),
        ("moved_out", lambda a: value(a, "removal_reason") == "転出"),
        ("deceased", lambda a: value(a, "removal_reason") == "死亡"),
        ("foreign_resident", lambda a: value(a, "resident_type") == "2" and value(a, "removal_reason") == ""),
    ]
    for role, test in tests:
        # A person already taken shows the case too; the bad 住民記録 line (no_my_number) is never a
        # document's person, so that breaking it changes nothing in the documents' routes.
        already = sorted(a for a in chosen if a in clean and test(a)) if role != "no_my_number" else []
        if already:
            roles[role] = already[0]
            continue
        candidates = sorted(a for a in clean - docs_people if test(a))
        if not candidates:
            raise ValueError(f"the ward {WARD} has no clean registry person for the role {role}; change WARD")
        roles[role] = candidates[0]
        chosen.add(candidates[0])
    # a 住登外者 of the register (its only file): the first whose line is clean
    registered_elsewhere = sorted(a for a in rows.get("non_registered_register", {}) if a not in dirty)
    if not registered_elsewhere:
        raise ValueError(f"the ward {WARD} has no clean 住登外者 for the role non_registered; change WARD")
    roles["non_registered"] = registered_elsewhere[0]
    return roles, clean


# ------------------------------------------------------------------------------------------ the samples
def _records(data: bytes, source: str) -> int:
    """Data records of a sample, from its structure: 1 per XML file, else lines (minus the header line)."""
    if source == "etax_return":
        return 1
    if source in FIXED_LENGTH_SOURCES:  # data records: レコード区分 2 at the start of each 500-byte record
        return sum(data[at:at + 1] == b"2" for at in range(96, len(data), 500))
    newline = b"\n" if _is_registry(source) else b"\r\n"
    lines = data.count(newline)
    return lines - 1 if _is_registry(source) else lines


def _is_registry(source: str) -> bool:
    return source not in FIXED_LENGTH_SOURCES and any(
        k.source == source and k.stage in REGISTRY_DIALECT_STAGES for k in KINDS)


def build_samples() -> dict[str, bytes]:
    """Every file of ``data_samples/`` the maker owns (path relative to it → bytes)."""
    import polars as pl

    from sample_ward import generate_ward
    from sample_ward.notice_inputs import notice_input_paths
    from sample_ward.registry import registry_paths
    from transforms.notice_inputs import SOURCES as NOTICE_SOURCES

    municipality, fiscal_year = WARD["municipality_code"], WARD["fiscal_year"]
    with tempfile.TemporaryDirectory(prefix="juminzei-samples-") as tmp:
        ward = Path(tmp) / "ward"
        generate_ward(ward, residents=WARD["residents"], seed=WARD["seed"], fiscal_year=fiscal_year,
                      municipality_code=municipality)
        landing = ward / "landing"
        docs = pl.read_parquet(ward / "truth" / "documents.parquet")
        defects = pl.read_parquet(ward / "truth" / "defects.parquet")
        paths = registry_paths(municipality, fiscal_year)

        _roles, clean = _registry_roles(landing, defects, paths, set())  # who may be taken at all
        picked = _pick_documents(docs, clean)
        docs_people = set(docs.filter(pl.col("file").is_in(list(picked.values())))["true_atena_no"].drop_nulls())
        roles, _clean = _registry_roles(landing, defects, paths, docs_people)
        people = docs_people | set(roles.values())
        # the notice inputs: one line each, of a person the sample's registry holds (taken from the
        # sample's people when one of them is listed, else the first clean registry person listed)
        notice_paths = notice_input_paths(municipality, fiscal_year)
        notice_people: dict[str, str] = {}
        for source in NOTICE_SOURCES:
            listed = [a for _no, a, _line in _registry_lines((landing / notice_paths[source]).read_bytes())]
            mine = sorted(a for a in listed if a in people)
            notice_people[source] = mine[0] if mine else sorted(a for a in listed if a in clean)[0]
        people |= set(notice_people.values())
        # the insurers' May file: the smallest one with two records or more, and the register lines of its
        # 前年度継続者; its pensioners join the sample's people so that the registry extract holds them
        pension_rel, pension_people = _pick_pension_file(landing, municipality, fiscal_year)
        people |= pension_people
        register_rel = _register_path(municipality, fiscal_year)

        good: dict[str, tuple[str, bytes]] = {}
        registry = _registry_samples(landing, defects, people, paths)
        for source, rel in paths.items():
            good[source] = (rel, registry[source])
        for source, rel in picked.items():
            good[source] = (rel, (landing / rel).read_bytes())
        for source, atena in notice_people.items():
            rel = notice_paths[source]
            good[source] = (rel, _registry_samples(landing, defects, {atena}, {source: rel})[source])
        good["pension_exchange"] = (pension_rel, (landing / pension_rel).read_bytes())
        changes_rel = (f"resident_changes/municipality={municipality}/fiscal_year={fiscal_year}/"
                       f"jumin_ido_{municipality}_{fiscal_year}05.csv")  # the May extract, read by May's exchange
        good["resident_changes"] = (changes_rel, (landing / changes_rel).read_bytes())
        good["pension_previous_year"] = (register_rel, _registry_samples(
            landing, defects, pension_people, {"pension_previous_year": register_rel})["pension_previous_year"])
        from sample_ward.export_samples import export_samples

        exports = export_samples(ward, Path(tmp) / "exports_work", municipality, fiscal_year)
        from sample_ward.exchange_samples import exchange_samples

        exchange, exchange_entries = exchange_samples(ward, Path(tmp) / "exchange_work", municipality, fiscal_year,
                                                      WARD["residents"], WARD["seed"])
        from sample_ward.payment_samples import payment_samples

        payments, payment_entries, printed = payment_samples(Path(tmp) / "exchange_work", municipality,
                                                             fiscal_year, WARD["seed"])
        exports.update(printed)

    files: dict[str, bytes] = {}
    entries = []
    for kind in KINDS:
        rel, data = good[kind.source]
        record = kind.fault.record
        if isinstance(record, str):  # a role: the line of that person
            record = _record_of(data, roles[record])
        bad = kind.fault.apply(data, record)
        record_no = None if record is None else record + 1 if _is_registry(kind.source) else record
        files[f"{GOOD_ROOT}/{rel}"] = data
        files[f"{BAD_ROOT}/{rel}"] = bad
        records = _records(data, kind.source)
        held = records if record is None else 1  # a whole file, or one record
        entries.append({
            "source": kind.source,
            "title": kind.title,
            **wire_format(kind.source),
            "stage": kind.stage,
            "layout": layout_file(kind.source),
            "doc": kind.doc,
            "file": f"{GOOD_ROOT}/{rel}",
            "sha256": hashlib.sha256(data).hexdigest(),
            "records": records,
            "expected": {"staged": records, "quarantined": 0, "forwarded": 0},
            "bad": {
                "file": f"{BAD_ROOT}/{rel}",
                "sha256": hashlib.sha256(bad).hexdigest(),
                "fault": kind.fault.description,
                "record_no": record_no,
                "field": kind.fault.field,
                "reason_code": kind.fault.reason_code,
                "expected": {"staged": records - held, "quarantined": held, "forwarded": 0},
                **({"dispatch": "stopped"} if kind.source == "support_measures" else {}),
            },
        })
    files.update(exports)
    files.update(exchange)
    files.update(payments)
    export_entries = _export_entries(exports)
    index = {
        "about": ("Synthetic samples of every file that enters the ward and of every hand-off that leaves it, "
                  "cut from a generated sample ward "
                  "(sample_ward.samples); see README.md. Record numbers are those the reading stage gives: "
                  "the line number (registry files: the header is line 1), 1 for an XML file."),
        "ward": dict(sorted(WARD.items())),
        "people": len(people),
        "samples": entries,
        "exports": export_entries,
        "exchange": exchange_entries,
        "payments": payment_entries,
    }
    files[INDEX] = (json.dumps(index, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return dict(sorted(files.items()))


def _export_entries(exports: dict[str, bytes]) -> list[dict]:
    """One index entry per sample hand-off file (the manifests list them too, with their control totals)."""
    from contracts.handoff_layouts import load_handoff_layout

    manifests = {rel.rsplit("/", 1)[0]: json.loads(data) for rel, data in exports.items() if rel.endswith("/manifest.json")}
    entries = []
    for folder, manifest in sorted(manifests.items()):
        for entry in manifest["files"]:
            layout = load_handoff_layout(entry["export"])
            entries.append({
                "recipient": manifest["recipient"],
                "export": entry["export"],
                "title": layout.data["title_ja"],
                "file": f"{folder}/{entry['name']}",
                "format": entry["format"],
                "encoding": entry["encoding"],
                "paper": entry["paper"],
                "carries_my_number": entry["carries_my_number"],
                "records": entry["rows"],
                "sha256": entry["sha256"],
                "layout": f"contracts/handoff/{entry['export']}.yaml",
                "doc": f"docs/layouts/{entry['export']}.md",
                "manifest": f"{folder}/manifest.json",
            })
    return entries


def _pick_pension_file(landing: Path, municipality: str, fiscal_year: int) -> tuple[str, set[str]]:
    """The May 00 file to sample (the fewest records, at least two, then by name) and the 宛名番号 of its
    pensioners who live in the ward (the simulator's truth says who each record is)."""
    from contracts.pension_exchange import landing_folder
    from sample_ward.pension_insurer import PensionInsurers
    from sample_ward.population import build_population

    folder = landing_folder(municipality, fiscal_year, f"{fiscal_year}-05")
    sizes = sorted((_records((landing / folder / p.name).read_bytes(), "pension_exchange"), p.name)
                   for p in (landing / folder).glob("Z400_*.dta"))
    records, name = next((n, f) for n, f in sizes if n >= 2)
    pop = build_population(WARD["residents"], WARD["seed"], fiscal_year, municipality)
    truth = PensionInsurers(pop, WARD["seed"]).target_person_truth()
    people = set(truth.filter((truth["file"] == name) & truth["atena_no"].is_not_null())["atena_no"].to_list())
    return f"{folder}/{name}", people


def _register_path(municipality: str, fiscal_year: int) -> str:
    from sample_ward.pension_insurer import previous_year_register_path

    return previous_year_register_path(municipality, fiscal_year)


def _record_of(data: bytes, atena_no: str) -> int:
    """The data record (1-based, header excluded) of ``atena_no`` in a registry sample."""
    for no, atena, _line in _registry_lines(data):
        if atena == atena_no:
            return no - 1
    raise ValueError("the 宛名番号 of the fault's person is not in the sample")


def write_samples(out: Path) -> dict[str, bytes]:
    """Replace the maker's files under ``out`` (``landing/``, ``bad/``, ``samples.json``) by a fresh build;
    anything else in ``out`` (README.md) is left alone. Built in memory first: a failing build writes nothing."""
    files = build_samples()
    out.mkdir(parents=True, exist_ok=True)
    for owned in (GOOD_ROOT, BAD_ROOT, EXPORTS_ROOT, "exchange", "payments"):
        if (out / owned).exists():
            shutil.rmtree(out / owned)
    for rel, data in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_ward.samples", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data_samples"), help="folder to write (default data_samples)")
    args = parser.parse_args(argv)
    files = write_samples(args.out)
    print(f"{len(files)} files written under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
