"""The 全銀協 fixed-length files as data: loads and checks ``contracts/zengin/``.

The ward exchanges two 全銀協 formats with banks, both 120-byte records of JIS X 0201 characters: ヘッダー
(データ区分 1), データ (2) …, トレーラ (8), エンド (9).

* ``account_transfer_91.yaml``: 預金口座振替 (種別コード 91), the 依頼データ (direct-debit request) the ward
  sends and the 振替結果データ the bank returns, the same layout with 振替結果コード filled;
* ``general_transfer_21.yaml``: 総合振込 (種別コード 21), the ward's refund (還付) payments;
* ``codes.yaml``: every code list and the characters of a kana field (全銀 "C" item), each value marked
  with its public source or with the reason juminzei chose it.

:func:`load_zengin_layouts` reads them once and checks them: every field names its id (English
snake_case), 項目名, start byte, length, type and padding (the one of its type, :data:`TYPES`); the fields of
each record type tile bytes 1..120 exactly, with no gap and no overlap; the first field of each record is
データ区分 fixed to that record type's code; every code list a field names exists; the codec's fields are
there (:data:`REQUIRED_IDS`). A broken layout raises :class:`ZenginLayoutError` naming the file and the field.

:func:`render_markdown` writes ``docs/layouts/zengin.md`` from the same data
(``.venv/bin/python -m contracts.zengin --write-docs``). The codec that reads and writes the bytes is
:mod:`transforms.zengin_records`. No I/O besides reading the YAML; no clock, no Airflow.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from contracts.fixed_width import (
    FixedField,
    check_code_lists,
    display_name,
    origin,
    read_layout_yaml,
    tiling_problem,
)
from contracts.layouts import LayoutError

ZENGIN_DIR = Path(__file__).resolve().parent / "zengin"
CODES_FILE = "codes.yaml"
#: format code (種別コード) → its layout file
LAYOUT_FILES: dict[str, str] = {"21": "general_transfer_21.yaml", "91": "account_transfer_91.yaml"}
#: what a caller names when reading or writing (``kind``) → the format code of its layout. The request and
#: the result of a 口座振替 share one layout; the codec checks a different trailer for each.
KINDS: dict[str, str] = {"21": "21", "91": "91", "91_result": "91"}
RECORD_LENGTH = 120

#: field type → (its padding rule, the dtype of its column, what the docs say about it). Fillers are not columns.
TYPES: dict[str, tuple[str, str | None, str]] = {
    "digits": ("zero_left", "String", "ASCII digits kept as text (codes, bank and account numbers, MMDD): leading "
                                      "zeros matter; a nullable one may be blank (spaces), read as null"),
    "count": ("zero_left", "Int64", "ASCII digits, a count"),
    "amount": ("zero_left", "Int64", "ASCII digits, yen (never negative)"),
    "kana": ("space_right", "String", "全銀 \"C\" item: the characters of the kana set below, one byte each; read as "
                                      "Unicode half-width katakana (U+FF61–U+FF9F) and ASCII, trailing spaces "
                                      "removed"),
    "filler": ("space_right", None, "ダミー: spaces; not read into a column"),
}
#: padding rule → how a value shorter than its field is filled
PADS: dict[str, str] = {
    "zero_left": "right-aligned, zero-padded on the left",
    "space_right": "left-aligned, padded with spaces (0x20)",
}
FIELD_KEYS: tuple[str, ...] = ("id", "name_ja", "start", "length", "type", "pad")
OPTIONAL_FIELD_KEYS: frozenset[str] = frozenset({"fixed", "codes", "nullable", "description"})
#: record type → its データ区分, in file order
RECORD_TYPES: dict[str, str] = {"header": "1", "data": "2", "trailer": "8", "end": "9"}
#: ids the codec relies on, per record type (both formats); the 口座振替 adds :data:`RESULT_IDS`
REQUIRED_IDS: dict[str, tuple[str, ...]] = {
    "header": ("data_type", "type_code", "code_class"),
    "data": ("data_type", "amount"),
    "trailer": ("data_type", "total_count", "total_amount"),
    "end": ("data_type",),
}
#: the 口座振替's result fields: 振替結果コード in the data record, 振替済・振替不能 in the trailer
RESULT_IDS: dict[str, tuple[str, ...]] = {
    "data": ("result_code",),
    "trailer": ("transferred_count", "transferred_amount", "failed_count", "failed_amount"),
}
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


class ZenginLayoutError(LayoutError):
    """A 全銀 layout file is inconsistent (names the file and the field)."""


@dataclass(frozen=True)
class ZenginField(FixedField):
    """One field of a 全銀 record (see the comment at the top of account_transfer_91.yaml)."""

    @property
    def dtype(self) -> str | None:
        return TYPES[self.type][1]

    @property
    def is_column(self) -> bool:
        """Whether the field is a column of the frames (not a filler, not a fixed value)."""
        return self.dtype is not None and self.fixed is None


@dataclass(frozen=True)
class ZenginRecordLayout:
    """The fields of one record type, in byte order."""

    record_type: str  # header / data / trailer / end
    data_type: str  # its データ区分: 1 / 2 / 8 / 9
    length: int
    fields: tuple[ZenginField, ...]

    def field(self, field_id: str) -> ZenginField:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(f"the {self.record_type} record has no field {field_id!r}")

    def has(self, field_id: str) -> bool:
        return any(f.id == field_id for f in self.fields)

    @property
    def columns(self) -> tuple[ZenginField, ...]:
        return tuple(f for f in self.fields if f.is_column)

    @property
    def column_names(self) -> list[str]:
        return [f.id for f in self.columns]


@dataclass(frozen=True)
class ZenginLayout:
    """One 全銀 format: its four record types."""

    format_code: str  # 種別コード
    name_ja: str
    title_en: str
    file: str
    record_length: int
    sources: tuple[str, ...]
    header: ZenginRecordLayout
    data: ZenginRecordLayout
    trailer: ZenginRecordLayout
    end: ZenginRecordLayout

    @property
    def records(self) -> dict[str, ZenginRecordLayout]:
        """Record type → layout, in file order (header, data, trailer, end)."""
        return {"header": self.header, "data": self.data, "trailer": self.trailer, "end": self.end}

    @property
    def has_results(self) -> bool:
        """Whether the format carries 振替結果 (the 口座振替 does, the 総合振込 does not)."""
        return all(self.records[kind].has(i) for kind, ids in RESULT_IDS.items() for i in ids)


@dataclass(frozen=True)
class KanaGroup:
    """One group of characters of the kana set, with its origin."""

    chars: str
    label: str
    origin: str  # "public: …" or the reason juminzei chose it
    writes: bool  # whether to_zengin_kana may produce it


@dataclass(frozen=True)
class ZenginLayouts:
    """Everything of ``contracts/zengin/``: the formats, the code lists and the kana set."""

    formats: dict[str, ZenginLayout]  # format code → layout
    codes: dict[str, Any]  # codes.yaml code_lists as read
    kana_groups: tuple[KanaGroup, ...]

    def layout(self, kind: str) -> ZenginLayout:
        """The layout of ``kind`` (``"21"``, ``"91"``, ``"91_result"``: :data:`KINDS`)."""
        try:
            return self.formats[KINDS[kind]]
        except KeyError:
            raise KeyError(f"no 全銀 layout for kind {kind!r} (known: {', '.join(KINDS)})") from None

    @property
    def kana_characters(self) -> str:
        """Every character a kana field may hold (the reader and the writer)."""
        return "".join(g.chars for g in self.kana_groups)

    @property
    def kana_written(self) -> str:
        """The characters :func:`transforms.zengin_records.to_zengin_kana` may produce."""
        return "".join(g.chars for g in self.kana_groups if g.writes)

    def code_list(self, name: str) -> dict[str, Any]:
        return self.codes[name]


# ------------------------------------------------------------------------------------------------ loading

@functools.cache
def load_zengin_layouts() -> ZenginLayouts:
    """The checked layouts of ``contracts/zengin/`` (cached and shared: treat as read-only)."""
    return load_zengin_layouts_from(ZENGIN_DIR)


def load_zengin_layouts_from(directory: Path) -> ZenginLayouts:
    """The layouts of ``directory`` (a copy of ``contracts/zengin/``), checked; not cached."""
    directory = Path(directory)
    codes_path = directory / CODES_FILE
    raw_codes = _read_yaml(codes_path)
    code_lists = _check_code_lists(_name(codes_path), raw_codes)
    kana_groups = _check_kana(_name(codes_path), raw_codes)
    formats: dict[str, ZenginLayout] = {}
    for format_code, file_name in LAYOUT_FILES.items():
        formats[format_code] = _layout(directory / file_name, format_code, code_lists, kana_groups)
    return ZenginLayouts(formats, code_lists, kana_groups)


def _name(path: Path) -> str:
    """``contracts/zengin/<file>`` for the real folder; the path itself for a copy."""
    return display_name(path, ZENGIN_DIR)


def _read_yaml(path: Path) -> dict[str, Any]:
    return read_layout_yaml(path, _name(path), ZenginLayoutError)


def _origin(where: str, entry: dict[str, Any]) -> str:
    return origin(where, entry, ZenginLayoutError)


def _check_code_lists(file: str, raw: dict[str, Any]) -> dict[str, Any]:
    return check_code_lists(file, raw, ZenginLayoutError, ascii_codes=False)


def _check_kana(file: str, raw: dict[str, Any]) -> tuple[KanaGroup, ...]:
    groups = (raw.get("character_sets") or {}).get("kana")
    if not isinstance(groups, list) or not groups:
        raise ZenginLayoutError(f"{file}: missing character_sets.kana")
    found: list[KanaGroup] = []
    seen: set[str] = set()
    for spec in groups:
        if not isinstance(spec, dict) or not isinstance(spec.get("chars"), str) or "label" not in spec:
            raise ZenginLayoutError(f"{file}: character_sets.kana: each group needs chars and a label ({spec!r})")
        where = f"{file}: character_sets.kana group {spec['label']!r}"
        for char in spec["chars"]:
            if char in seen:
                raise ZenginLayoutError(f"{where}: the character {char!r} is listed twice")
            seen.add(char)
            if not _single_byte(char):
                raise ZenginLayoutError(f"{where}: {char!r} (U+{ord(char):04X}) is not a single-byte JIS X 0201 "
                                        "character of Shift_JIS")
        found.append(KanaGroup(spec["chars"], str(spec["label"]), _origin(where, spec), bool(spec.get("writes", True))))
    if " " not in seen:
        raise ZenginLayoutError(f"{file}: character_sets.kana must hold the space (the padding of a kana field)")
    return tuple(found)


def _single_byte(char: str) -> bool:
    """Printable ASCII or half-width katakana: one byte in CP932 (ASCII 0x20–0x7E, kana 0xA1–0xDF)."""
    return " " <= char <= "~" or "\uff61" <= char <= "\uff9f"


def _layout(path: Path, format_code: str, codes: dict[str, Any], kana: tuple[KanaGroup, ...]) -> ZenginLayout:
    file = _name(path)
    raw = _read_yaml(path)
    for key in ("format_code", "name_ja", "title_en", "record_length", "sources", "records"):
        if key not in raw:
            raise ZenginLayoutError(f"{file}: missing {key}")
    if str(raw["format_code"]) != format_code:
        raise ZenginLayoutError(f"{file}: format_code is {raw['format_code']!r}; this file holds 種別コード "
                                f"{format_code}")
    if raw["record_length"] != RECORD_LENGTH:
        raise ZenginLayoutError(f"{file}: record_length is {raw['record_length']!r}; a 全銀 record is "
                                f"{RECORD_LENGTH} bytes")
    sources = raw["sources"]
    if not (isinstance(sources, list) and sources and all(isinstance(s, str) and s.strip() for s in sources)):
        raise ZenginLayoutError(f"{file}: sources is a list of citations")
    records = raw["records"]
    if not isinstance(records, dict) or list(records) != list(RECORD_TYPES):
        raise ZenginLayoutError(f"{file}: records holds {', '.join(RECORD_TYPES)}, in that order")
    built = {kind: _record(file, kind, records[kind], codes, format_code) for kind in RECORD_TYPES}
    layout = ZenginLayout(format_code, str(raw["name_ja"]), str(raw["title_en"]), file, RECORD_LENGTH,
                          tuple(sources), built["header"], built["data"], built["trailer"], built["end"])
    partial = [f"{kind}.{i}" for kind, ids in RESULT_IDS.items() for i in ids if built[kind].has(i)]
    if partial and not layout.has_results:
        raise ZenginLayoutError(f"{file}: it has the result field(s) {', '.join(partial)} but not all of "
                                f"{', '.join(f'{k}.{i}' for k, ids in RESULT_IDS.items() for i in ids)}")
    return layout


def _record(file: str, kind: str, specs: Any, codes: dict[str, Any], format_code: str) -> ZenginRecordLayout:
    if not isinstance(specs, list) or not specs:
        raise ZenginLayoutError(f"{file}: the {kind} record has no fields")
    fields = [_field(file, kind, spec, codes) for spec in specs]
    ids: dict[str, ZenginField] = {}
    for f in fields:
        if f.id in ids:
            raise ZenginLayoutError(f"{file}: field {f.title} appears twice in the {kind} record")
        ids[f.id] = f
    _check_tiling(file, kind, fields)
    first = fields[0]
    if first.id != "data_type" or first.fixed != RECORD_TYPES[kind]:
        raise ZenginLayoutError(f"{file}: the {kind} record starts with データ区分 (data_type) fixed to "
                                f"{RECORD_TYPES[kind]!r}, not {first.title} {first.fixed!r}")
    for required in REQUIRED_IDS[kind]:
        if required not in ids:
            raise ZenginLayoutError(f"{file}: the {kind} record has no field {required!r}")
    if kind == "header" and ids["type_code"].fixed != format_code:
        raise ZenginLayoutError(f"{file}: field {ids['type_code'].title} is fixed to {format_code!r} in this file")
    for f in fields:
        if kind == "data" and f.type == "count":
            raise ZenginLayoutError(f"{file}: field {f.title}: a data record holds no count")
        if kind == "trailer" and f.type == "amount" and not f.id.endswith("_amount"):
            raise ZenginLayoutError(f"{file}: field {f.title}: a trailer amount's id ends in _amount")
    if kind == "data" and [f.id for f in fields if f.type == "amount"] != ["amount"]:
        raise ZenginLayoutError(f"{file}: the data record holds exactly one amount, 'amount' (the trailer sums it)")
    return ZenginRecordLayout(kind, RECORD_TYPES[kind], RECORD_LENGTH, tuple(fields))


def _field(file: str, kind: str, spec: Any, codes: dict[str, Any]) -> ZenginField:
    if not isinstance(spec, dict):
        raise ZenginLayoutError(f"{file}: a field of the {kind} record is not a mapping: {spec!r}")
    where = f"{file}: {kind} record, field {spec.get('id')!r}"
    missing = [k for k in FIELD_KEYS if k not in spec]
    if missing:
        raise ZenginLayoutError(f"{where} lacks {', '.join(missing)}")
    unknown = sorted(set(spec) - set(FIELD_KEYS) - OPTIONAL_FIELD_KEYS)
    if unknown:
        raise ZenginLayoutError(f"{where} has unknown keys {', '.join(unknown)}")
    if not (isinstance(spec["id"], str) and SNAKE_CASE.match(spec["id"])):
        raise ZenginLayoutError(f"{where}: the id is English snake_case")
    where = f"{file}: {kind} record, field {spec['name_ja']} ({spec['id']})"
    field_type = spec["type"]
    if field_type not in TYPES:
        raise ZenginLayoutError(f"{where}: type {field_type!r} is not one of {', '.join(TYPES)}")
    if spec["pad"] != TYPES[field_type][0]:
        raise ZenginLayoutError(f"{where}: a {field_type} field is padded {TYPES[field_type][0]}, not {spec['pad']}")
    start, length = spec["start"], spec["length"]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (start, length)):
        raise ZenginLayoutError(f"{where}: start and length are positive integers")
    if field_type in ("count", "amount") and length > 18:
        raise ZenginLayoutError(f"{where}: at most 18 digits fit an Int64")
    nullable = spec.get("nullable", False)
    if not isinstance(nullable, bool):
        raise ZenginLayoutError(f"{where}: nullable is true or false")
    if nullable and field_type not in ("digits", "kana"):
        raise ZenginLayoutError(f"{where}: a {field_type} field cannot be blank")
    if nullable and field_type == "kana" and "codes" not in spec:
        raise ZenginLayoutError(f"{where}: a kana field may always be blank; nullable is for code fields")
    fixed = spec.get("fixed")
    list_name = spec.get("codes")
    code_values: tuple[tuple[str, str], ...] = ()
    if list_name is not None:
        if list_name not in codes:
            raise ZenginLayoutError(f"{where}: codes {list_name!r} is not a code list of codes.yaml")
        if field_type not in ("digits", "kana"):
            raise ZenginLayoutError(f"{where}: only a digits or kana field takes codes")
        code_values = tuple((c, str(e["label"])) for c, e in codes[list_name]["codes"].items())
        for code, _ in code_values:
            if len(code) != length or (field_type == "digits" and not (code.isascii() and code.isdigit())):
                raise ZenginLayoutError(f"{where}: code {code!r} of list {list_name!r} does not fill the "
                                        f"{length}-byte {field_type} field")
    if fixed is not None:
        if field_type != "digits":
            raise ZenginLayoutError(f"{where}: only a digits field may be fixed")
        if not (isinstance(fixed, str) and len(fixed) == length and fixed.isascii() and fixed.isdigit()):
            raise ZenginLayoutError(f"{where}: the fixed value {fixed!r} is not {length} digits (quote it)")
        if code_values and fixed not in dict(code_values):
            raise ZenginLayoutError(f"{where}: the fixed value {fixed!r} is not a code of list {list_name!r}")
    return ZenginField(
        id=spec["id"], name_ja=str(spec["name_ja"]), start=start, length=length, type=field_type, pad=spec["pad"],
        file=file, fixed=fixed, codes=list_name, code_values=code_values, nullable=nullable,
        description=str(spec.get("description", "")),
    )


def _check_tiling(file: str, kind: str, fields: list[ZenginField]) -> None:
    """The fields cover bytes 1..120 exactly once, in order: no gap, no overlap."""
    problem = tiling_problem(fields, RECORD_LENGTH, f"{kind} record")
    if problem:
        raise ZenginLayoutError(f"{file}: {kind} record, {problem[1]}")


# -------------------------------------------------------------------------------------------------- docs

def _field_rows(fields: tuple[ZenginField, ...]) -> list[str]:
    rows = ["| bytes | length | id | 項目名 | type | notes |", "|---|---:|---|---|---|---|"]
    for f in fields:
        notes = []
        if f.fixed is not None:
            notes.append(f"always `{f.fixed}`")
        elif f.codes:
            notes.append(f"codes: [`{f.codes}`](#{f.codes})")
        if f.nullable:
            notes.append("may be blank (read as null)" if f.type == "digits" else "may be blank")
        if f.description:
            notes.append(f.description)
        column = f"`{f.id}`" if f.is_column else f"({f.id})"
        span = f"{f.start}" if f.length == 1 else f"{f.start}–{f.end}"
        rows.append(f"| {span} | {f.length} | {column} | {f.name_ja} | {f.type} | {'; '.join(notes)} |")
    return rows


_SPECIAL_CHARS = {" ": "space", "\\": "¥ (byte 0x5C)"}


def _kana_text(chars: str) -> str:
    """The characters of a kana group for a table cell: the printable ones in code, space and ¥ by name."""
    plain = "".join(c for c in chars if c not in _SPECIAL_CHARS)
    named = [_SPECIAL_CHARS[c] for c in chars if c in _SPECIAL_CHARS]
    return " and ".join(([f"`{plain}`"] if plain else []) + ([", ".join(named)] if named else []))


_INTRO = """\
# 全銀協 fixed-length files: 総合振込 (21) and 預金口座振替 (91) — `zengin`

The ward pays refunds (還付) to residents' bank accounts with 総合振込 files (種別コード 21), sends
口座振替 依頼 files (預金口座振替, 種別コード 91) to banks and reads back their 振替結果 files. Generated from
`contracts/zengin/` (do not edit by hand: `.venv/bin/python -m contracts.zengin --write-docs`); read and
written byte for byte by `transforms/zengin_records.py` (`read_zengin_file`, `write_zengin_file`).

## The file

- **Records.** Every record is 120 bytes. A file is one or more groups, each a ヘッダー (データ区分 1), its
  データ records (2) and a トレーラ (8), followed by one エンド record (9): `1 2…2 8 [1 2…2 8 …] 9`. Several
  groups in one file (マルチファイル) are accepted by some banks only (PC 持込); the writer writes what it is
  given, one group unless told otherwise. A group with no data record (trailer 0 / 0) is read and written;
  do not send one to a bank without asking it.
- **Characters.** JIS X 0201 in its single-byte Shift_JIS / CP932 form: ASCII digits, upper-case letters, a few
  symbols and half-width katakana (bytes 0xA1–0xDF), one byte per character, so that 120 characters are 120
  bytes. Which characters a kana field may hold is the kana set below. コード区分 0 (JIS) is the only code the
  codec writes; an EBCDIC file (コード区分 1) is mainframe transfer and is not read.
- **Record separators.** Banks take records with no separator at all, or with CR LF after each record (one bank
  refuses CR alone and LF alone; a result file downloaded from a bank comes with CR LF). The reader accepts a
  file with no separator, or with CR LF, CR or LF between records (the same one throughout), with or without one
  after the エンド record, and remembers which; the writer writes CR LF after every record, the エンド record
  included, unless told otherwise, and writes a file read back exactly as it was read. Nothing may follow the
  エンド record (not even an EOF byte 0x1A).
- **Padding.** N (digits) items are right-aligned and zero-filled, C (kana) items left-aligned and space-filled;
  an item not set is all zeros or all spaces. ダミー bytes are spaces: a file with anything else there is refused
  (naming the field), so that every file read is written back to the same bytes.
- **Checks when reading** (each refusal raises a subclass of `ZenginFormatError` whose message names the file,
  the record number counted from 1 over every record of the file, and the field): every record 120 bytes
  (`ZenginRecordLengthError`); the order above and a known データ区分 (`ZenginRecordOrderError`); the 種別コード
  of each header is the kind asked for, digits fields hold digits, kana fields hold characters of the kana set,
  ダミー holds spaces (`ZenginFieldError`); each trailer's 合計件数 and 合計金額 are the count and sum of its
  group's data records, and in a 振替結果 file its 振替済件数・金額 are those of the records with 振替結果コード
  0 and its 振替不能件数・金額 those of the other codes; in a 依頼 the four are 0 and 振替結果コード is 0 or blank
  (`ZenginTrailerTotalsError`). Messages quote counts and totals, never a name, an account or an amount of
  one record.
- **Codes.** A value outside its code list (e.g. 振込指定区分 `0`) does not refuse a file: banks' files are read
  as their bytes allow, and `unknown_codes` lists such values with their record numbers for the operator.
- **Writing.** The writer computes every trailer; it refuses (`ZenginWriteError`, naming the record the value
  would have been and the field) an amount that is not an integer, negative or too long, a digits field that is
  not digits, and any character outside the kana set, full-width text included. Convert names first with
  `to_zengin_kana`: full-width and hiragana kana become half-width (small kana written large, ガ as ｶﾞ), full-width
  digits, upper-case letters and `（）－．／` become their half-width forms, ー becomes `-`; anything else
  (kanji, lower-case letters, ・ …) raises, so that a name is never changed silently.
"""

_PUBLIC_AND_CHOSEN = """\
## What is public and what we chose

The official 全銀協 「適用業務およびレコード・フォーマット」 was not obtained. The positions and lengths of
every field, the padding rules, the record order and the trailer totals agree across the sources listed with
each format (three banks' published layouts, a 全銀協 transcript, a 収納代行's FAQ and public code); the
総合振込 positions also agree field by field with files written by three other implementations
(https://github.com/devture/zengin-generator, https://github.com/drag0sd0g/zengin4j,
https://github.com/Kyash/zengin-go), which the tests read. What we chose, where the sources disagree or are
silent:

- **Kinds.** `91` is the 依頼 and `91_result` the 振替結果 of the same layout: the reader checks the trailer of
  the one asked for, so that a result file returned with empty result totals is refused rather than taken for a
  request.
- **預金種目・口座番号 of the 口座振替 header** (bytes 96–103) are optional at some banks, and one public
  codebase makes bytes 96–120 a dummy: blank is read as null.
- **振替結果コード in a 依頼**: `0`, or blank as some banks want it. Codes 5, 6 and 7 were not found; a result file
  holding one is read and counts it as 振替不能.
- **振替結果コード 8 and 9** come from public code and a copied bank specification, not from a bank's own page.
- **顧客番号 (91) and 顧客コード1・2 (21)** are N or C by the bank's rule: read and written as kana text, byte for
  byte. With 識別表示 `Y`, bytes 92–111 are one 20-character EDI情報 (the two fields joined).
- **手形交換所番号 (21)** is unused: zeros or blank both occur and both are read.
- **The kana set**: the groups marked *chosen* below.
- **Municipal (地公体) variants** of the 口座振替 of 220, 300 and 350 bytes exist (the first ~90 bytes and the
  trailer are the 全銀 ones, the rest differs per bank and municipality). They are other layouts: when the ward's
  指定金融機関 names one, it becomes another layout file here, not a change to these.
"""


def render_markdown(layouts: ZenginLayouts | None = None) -> str:
    """``docs/layouts/zengin.md``: the files field by field, every code and the kana set with their origin."""
    lay = layouts or load_zengin_layouts()
    lines = [_INTRO.rstrip("\n"), "", "## Types", "", "| type | column | content | padding |", "|---|---|---|---|"]
    for name, (pad, dtype, text) in TYPES.items():
        lines.append(f"| {name} | {dtype or '(none)'} | {text} | {PADS[pad]} |")
    lines += ["", "A field in parentheses is not a column of the frames (a ダミー or a fixed value): the reader "
              "checks it, the writer writes it."]
    titles = {"header": "ヘッダー・レコード", "data": "データ・レコード", "trailer": "トレーラ・レコード",
              "end": "エンド・レコード"}
    for layout in lay.formats.values():
        lines += ["", f"## {layout.format_code} {layout.name_ja} — {layout.title_en}", "",
                  f"Layout: `{layout.file}`. Sources:", ""]
        lines += [f"- {source}" for source in layout.sources]
        for kind, record in layout.records.items():
            lines += ["", f"### {layout.format_code}: {titles[kind]} (データ区分 {record.data_type}, "
                      f"{record.length} bytes)", "", *_field_rows(record.fields)]
    lines += ["", _PUBLIC_AND_CHOSEN.rstrip("\n"), "", "## Codes", "",
              "From `contracts/zengin/codes.yaml`. *public* names where the value was read; the others were chosen "
              "by juminzei for the reason given."]
    for name, spec in lay.codes.items():
        lines += ["", f"### <a id=\"{name}\"></a>`{name}` — {spec['name_ja']}", ""]
        if spec.get("note"):
            lines += [str(spec["note"]).strip(), ""]
        lines += ["| code | meaning | origin |", "|---|---|---|"]
        for code, entry in spec["codes"].items():
            lines.append(f"| `{code}` | {entry['label']} | {_origin(name, entry)} |")
    lines += ["", "## The kana set", "",
              "Every character a kana field may hold, read and written (`contracts/zengin/codes.yaml`, "
              "`character_sets.kana`). Groups marked *not written by to_zengin_kana* are accepted so that a bank's "
              "file is not refused for them, but the converter never produces them.", "",
              "| characters | what | origin |", "|---|---|---|"]
    for group in lay.kana_groups:
        what = group.label + ("" if group.writes else " (not written by to_zengin_kana)")
        lines.append(f"| {_kana_text(group.chars)} | {what} | {group.origin} |")
    return "\n".join(lines) + "\n"


def docs_path() -> Path:
    return Path(__file__).resolve().parents[1] / "docs" / "layouts" / "zengin.md"


def _main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Render docs/layouts/zengin.md from contracts/zengin/.")
    parser.add_argument("--write-docs", action="store_true", help="write the file (else: print its path)")
    args = parser.parse_args(argv)
    path = docs_path()
    if args.write_docs:
        path.write_text(render_markdown(load_zengin_layouts()), encoding="utf-8")
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())


__all__ = [
    "ZENGIN_DIR", "LAYOUT_FILES", "KINDS", "RECORD_LENGTH", "TYPES", "PADS", "RECORD_TYPES", "REQUIRED_IDS",
    "RESULT_IDS", "ZenginLayoutError", "ZenginField", "ZenginRecordLayout", "ZenginLayout", "KanaGroup",
    "ZenginLayouts", "load_zengin_layouts", "load_zengin_layouts_from", "render_markdown", "docs_path",
]
