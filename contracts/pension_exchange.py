"""The 年金特徴 exchange files (公的年金からの特別徴収) as data: loads and checks ``contracts/pension_exchange/``.

The monthly files exchanged with the pension insurers are a 96-byte control block followed by groups of
500-byte records, one group per municipality and 特別徴収義務者: a header (レコード区分 1), the data records (2)
and a trailer (3) (docs/sources.md#f3-3). The layout is data:

* ``record_frame.yaml``: the control block, the header, the trailer and the data-record fields every notice
  type shares (bytes 1–381 and 486–500);
* one file per notice type (通知内容コード), ``<name>_<code>.yaml``, with the data-record bytes 382–485
  (各種区分, 処理結果, 後期移管コード, 各種年月日, 各種金額欄 金額1–3, 予備3);
* ``codes.yaml``: every code and meaning of the resident-tax route, each marked with its source or with the
  reason juminzei chose it where nothing public was found (docs/sources.md#f3-4).

:func:`load_exchange_layouts` reads them once and checks them: every field names its id, 項目名, start byte,
length, type and padding rule (the rule must be the one of its type, :data:`TYPES`); the fields of each
record tile it exactly, bytes 1..500 (the control block 1..96) with no gap and no overlap; a kanji field
sits between a 漢字IN and a 漢字OUT shift code; every code list, fixed value and meaning a field refers to
exists; every notice type of ``codes.yaml`` has exactly one layout file. A broken layout raises
:class:`PensionLayoutError` naming the file and the field.

:func:`render_markdown` writes ``docs/layouts/pension_exchange.md`` from the same data
(``.venv/bin/python -m contracts.pension_exchange --write-docs``). The codec that reads and writes the bytes
is :mod:`transforms.pension_exchange_records`. No I/O besides reading the YAML; no clock, no Airflow.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from contracts.fixed_width import FixedField, tiling_problem
from contracts.layouts import LayoutError

PENSION_EXCHANGE_DIR = Path(__file__).resolve().parent / "pension_exchange"
FRAME_FILE = "record_frame.yaml"
CODES_FILE = "codes.yaml"

#: field type → (its padding rule, the dtype of its column, what the docs say about it). Types without a
#: dtype (shift codes, fillers) are not columns of the frames.
TYPES: dict[str, tuple[str, str | None, str]] = {
    "digits": ("zero_left", "String", "ASCII digits kept as text (codes and numbers whose leading zeros matter)"),
    "count": ("zero_left", "Int64", "ASCII digits, a count"),
    "amount": ("zero_left", "Int64", "ASCII digits, yen (never negative)"),
    "date": ("none", "Date", "YYYYMMDD (西暦); a field that may be blank holds spaces"),
    "ascii": ("space_right", "String", "printable ASCII"),
    "kana": ("space_right", "String", "半角カナ: JIS X 0201 katakana as 8-bit bytes 0xA1–0xDF, and ASCII except \\ and ~; "
                                      "read as half-width katakana (U+FF61–U+FF9F)"),
    "kanji": ("fullwidth_space_right", "String", "JIS X 0208 two-byte codes (ISO-2022-JP), between a 漢字IN and a "
                                                 "漢字OUT shift code; 2 bytes a character"),
    "shift": ("none", None, "a shift code: 漢字IN ESC $ B (1B 24 42) or 漢字OUT ESC ( B (1B 28 42)"),
    "filler": ("space_right", None, "予備, or an item the resident-tax route does not use: spaces, not read"),
}
#: padding rule → how a value shorter than its field is filled
PADS: dict[str, str] = {
    "zero_left": "right-aligned, zero-padded on the left",
    "space_right": "left-aligned, padded with spaces (0x20)",
    "fullwidth_space_right": "left-aligned, padded with the full-width space 　 (JIS 0x2121)",
    "none": "always full (no padding)",
}
#: the two shift codes of ISO-2022-JP (RFC 1468, docs/sources.md#f3-5)
SHIFT_CODES: dict[str, bytes] = {"kanji_in": b"\x1b$B", "kanji_out": b"\x1b(B"}
FIELD_KEYS: tuple[str, ...] = ("id", "name_ja", "start", "length", "type", "pad")
OPTIONAL_FIELD_KEYS: frozenset[str] = frozenset({"fixed", "fixed_ref", "codes", "nullable", "description", "shift"})
RECORD_KINDS: tuple[str, ...] = ("control", "header", "trailer", "data")
#: ids the codec relies on, per kind of record
REQUIRED_IDS: dict[str, tuple[str, ...]] = {
    "control": ("municipality_code", "medium_serial_no", "created_date", "record_count"),
    "header": ("record_type", "municipality_code", "payer_code", "notice_code", "medium_code", "created_date"),
    "trailer": ("record_type", "municipality_code", "payer_code", "notice_code", "created_date", "record_count",
                "total_amount_1", "total_amount_2", "total_amount_3"),
    "data": ("record_type", "municipality_code", "payer_code", "notice_code", "created_date", "amount_1", "amount_2",
             "amount_3"),
}
#: the fields of a notice type whose meaning codes.yaml gives (notice_meanings) when they are used
MEANING_FIELDS: tuple[str, ...] = ("event_date", "amount_1", "amount_2", "amount_3")
NOTICE_FILE = re.compile(r"^[a-z][a-z_]*_(?P<code>[0-9]{2})\.yaml$")

#: The name of an exchanged file (our choice; the names of the resident-tax route are not public, the 国保連
#: route names its files Z1X*/Z2X*/Z3X* with the extension .dta, docs/sources.md#f3-2): ``Z4`` (特別徴収制度コード
#: 4, codes.yaml), the 通知内容コード, the 特別徴収義務者コード, the 作成年月日 and the 媒体連番 of the control
#: block, e.g. ``Z422_999_20261115_001.dta``. A file sent again corrected keeps its name but for a higher 媒体連番.
FILE_NAME = re.compile(
    r"^Z4(?P<notice_code>[0-9]{2})_(?P<payer_code>[0-9]{3})_(?P<created>[0-9]{8})_(?P<serial>[0-9]{3})\.dta$")
#: where the files received in a month land, relative to the landing zone: one folder per month of receipt
#: (``month=YYYY-MM``) under the 年度 the exchange belongs to (April to March)
LANDING_FOLDER = "pension_exchange/municipality={municipality}/fiscal_year={fiscal_year}/month={month}"


def exchange_file_name(notice_code: str, payer_code: str, created: date, serial: int) -> str:
    """The file name of one notice type for one 特別徴収義務者 (:data:`FILE_NAME`)."""
    name = f"Z4{notice_code}_{payer_code}_{created:%Y%m%d}_{serial:03d}.dta"
    if not FILE_NAME.match(name):
        raise ValueError(f"not a 年金特徴 file name: {name!r}")
    return name


def parse_exchange_file_name(name: str) -> dict[str, str] | None:
    """``notice_code``, ``payer_code``, ``created`` (YYYYMMDD) and ``serial`` of a file name, or None."""
    found = FILE_NAME.match(name)
    return found.groupdict() if found else None


def landing_folder(municipality: str, fiscal_year: int, month: str) -> str:
    """The landing folder of the files received in ``month`` (YYYY-MM) for ``fiscal_year``."""
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", month):
        raise ValueError(f"month must be written YYYY-MM, got {month!r}")
    return LANDING_FOLDER.format(municipality=municipality, fiscal_year=fiscal_year, month=month)


class PensionLayoutError(LayoutError):
    """A 年金特徴 layout file is inconsistent (names the file and the field)."""


@dataclass(frozen=True)
class ExchangeField(FixedField):
    """One field of a 年金特徴 record (see the comment at the top of record_frame.yaml)."""

    fixed_by_notice: bool = False  # ``fixed: notice``: the value is the notice type's own 通知内容コード
    shift: str | None = None  # kanji_in / kanji_out for a shift field
    meaning: tuple[tuple[str, str], ...] = ()  # notice_meanings entry: (key, value) pairs

    @property
    def is_column(self) -> bool:
        """Whether the field is a column of the frames (not a shift code, a filler or a fixed value)."""
        return TYPES[self.type][1] is not None and self.fixed is None

    @property
    def dtype(self) -> str | None:
        return TYPES[self.type][1]


@dataclass(frozen=True)
class RecordLayout:
    """The fields of one kind of record, in byte order."""

    kind: str  # control / header / trailer / data
    length: int
    fields: tuple[ExchangeField, ...]

    def field(self, field_id: str) -> ExchangeField:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(f"the {self.kind} record has no field {field_id!r}")

    @property
    def columns(self) -> tuple[ExchangeField, ...]:
        return tuple(f for f in self.fields if f.is_column)

    @property
    def column_names(self) -> list[str]:
        return [f.id for f in self.columns]


@dataclass(frozen=True)
class NoticeLayout:
    """The data record of one notice type (通知内容コード)."""

    notice_code: str
    title_ja: str
    title_en: str
    direction: str  # inbound (insurer → ward) / outbound (ward → insurer)
    when: str
    file: str
    data: RecordLayout

    def meaning(self, field_id: str) -> dict[str, str]:
        """What ``event_date`` or ``amount_n`` means in this notice type (codes.yaml notice_meanings)."""
        return dict(self.data.field(field_id).meaning)

    def amount_names(self) -> dict[str, str]:
        """``{"amount_1": "main_october", …}``: the quantity each amount column holds in this notice type."""
        return {f"amount_{i}": self.meaning(f"amount_{i}")["id"] for i in (1, 2, 3)}


@dataclass(frozen=True)
class ExchangeLayouts:
    """Everything of ``contracts/pension_exchange/``: the record frame, the notice types and the codes."""

    record_length: int
    control_length: int
    control: RecordLayout
    header: RecordLayout
    trailer: RecordLayout
    notices: dict[str, NoticeLayout]
    codes: dict[str, Any]  # codes.yaml as read (code_lists, notice_meanings)

    def notice(self, notice_code: str) -> NoticeLayout:
        try:
            return self.notices[notice_code]
        except KeyError:
            raise KeyError(f"no 年金特徴 layout for 通知内容コード {notice_code!r} "
                           f"(known: {', '.join(sorted(self.notices))})") from None

    def code_list(self, name: str) -> dict[str, Any]:
        return self.codes["code_lists"][name]


# ------------------------------------------------------------------------------------------------ loading

@functools.cache
def load_exchange_layouts() -> ExchangeLayouts:
    """The checked layouts of ``contracts/pension_exchange/`` (cached and shared: treat as read-only)."""
    return load_exchange_layouts_from(PENSION_EXCHANGE_DIR)


def load_exchange_layouts_from(directory: Path) -> ExchangeLayouts:
    """The layouts of ``directory`` (a copy of ``contracts/pension_exchange/``), checked; not cached."""
    directory = Path(directory)
    codes = _read_yaml(directory / CODES_FILE)
    _check_codes(codes)
    frame = _read_yaml(directory / FRAME_FILE)
    frame_name = _name(directory / FRAME_FILE)
    for key in ("record_length", "control_length", "control", "header", "trailer", "data_common"):
        if key not in frame:
            raise PensionLayoutError(f"{frame_name}: missing {key}")
    record_length, control_length = frame["record_length"], frame["control_length"]
    control = _record("control", frame_name, frame["control"], control_length, codes, None)
    header = _record("header", frame_name, frame["header"], record_length, codes, None)
    trailer = _record("trailer", frame_name, frame["trailer"], record_length, codes, None)

    notice_codes = codes["code_lists"]["notice_code"]["codes"]
    notices: dict[str, NoticeLayout] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name in (FRAME_FILE, CODES_FILE):
            continue
        name = _name(path)
        match = NOTICE_FILE.match(path.name)
        raw = _read_yaml(path)
        code = str(raw.get("notice_code", ""))
        if match is None or match.group("code") != code:
            raise PensionLayoutError(f"{name}: a notice type's file is named <name>_<通知内容コード>.yaml and says "
                                     f"the same notice_code (it says {code!r})")
        if code not in notice_codes:
            raise PensionLayoutError(f"{name}: notice_code {code!r} is not a 通知内容コード of codes.yaml")
        if code in notices:
            raise PensionLayoutError(f"{name}: a second layout for 通知内容コード {code} ({notices[code].file})")
        for key in ("title_en", "direction", "when", "fields"):
            if key not in raw:
                raise PensionLayoutError(f"{name}: missing {key}")
        if raw["direction"] not in ("inbound", "outbound"):
            raise PensionLayoutError(f"{name}: direction must be inbound or outbound")
        meanings = (codes.get("notice_meanings") or {}).get(code) or {}
        specs = [(frame_name, spec) for spec in frame["data_common"]] + [(name, spec) for spec in raw["fields"]]
        data = _record("data", None, specs, record_length, codes, code, meanings)
        notices[code] = NoticeLayout(code, notice_codes[code]["label"], raw["title_en"], raw["direction"], raw["when"],
                                     name, data)
    missing = sorted(set(notice_codes) - set(notices))
    if missing:
        raise PensionLayoutError(f"{_name(directory / CODES_FILE)}: 通知内容コード {', '.join(missing)} has no layout "
                                 f"file in {_name(directory)}/")
    extra = sorted(set((codes.get("notice_meanings") or {})) - set(notices))
    if extra:
        raise PensionLayoutError(f"{_name(directory / CODES_FILE)}: notice_meanings of {', '.join(extra)}, which is "
                                 "not a notice type")
    return ExchangeLayouts(record_length, control_length, control, header, trailer, dict(sorted(notices.items())),
                           codes)


def _name(path: Path) -> str:
    """``contracts/pension_exchange/<file>`` for the real folder; the path itself for a copy."""
    try:
        return path.resolve().relative_to(PENSION_EXCHANGE_DIR.parent.parent).as_posix()
    except ValueError:
        return str(path)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise PensionLayoutError(f"{_name(path)}: the file is missing")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise PensionLayoutError(f"{_name(path)}: not a mapping")
    return data


def _origin(entry: dict[str, Any], where: str) -> None:
    """A code or a meaning says where it comes from: exactly one of ``source`` and ``chosen``."""
    if ("source" in entry) == ("chosen" in entry):
        raise PensionLayoutError(f"{where}: give exactly one of source (where it was read) and chosen "
                                 "(why juminzei chose it)")
    if "chosen" in entry and not str(entry["chosen"]).startswith("chosen by juminzei: not public"):
        raise PensionLayoutError(f"{where}: a chosen value says 'chosen by juminzei: not public' and why")


def _check_codes(codes: dict[str, Any]) -> None:
    name = f"contracts/pension_exchange/{CODES_FILE}"
    lists = codes.get("code_lists")
    if not isinstance(lists, dict) or "notice_code" not in lists:
        raise PensionLayoutError(f"{name}: missing code_lists (with notice_code)")
    for list_name, spec in lists.items():
        entries = spec.get("codes") if isinstance(spec, dict) else None
        if not entries or "name_ja" not in spec:
            raise PensionLayoutError(f"{name}: code list {list_name!r} needs name_ja and codes")
        for code, entry in entries.items():
            where = f"{name}: code {code!r} of {list_name}"
            if not isinstance(code, str):
                raise PensionLayoutError(f"{where}: write the code as a quoted string (leading zeros matter)")
            if not isinstance(entry, dict) or "label" not in entry:
                raise PensionLayoutError(f"{where}: needs a label")
            _origin(entry, where)
        if spec.get("fixed") and len(entries) != 1:
            raise PensionLayoutError(f"{name}: the fixed code list {list_name!r} must hold exactly one code")
    for notice, meanings in (codes.get("notice_meanings") or {}).items():
        for field_id, meaning in meanings.items():
            where = f"{name}: notice_meanings {notice!r} {field_id}"
            if field_id not in MEANING_FIELDS:
                raise PensionLayoutError(f"{where}: only {', '.join(MEANING_FIELDS)} have meanings")
            if "label" not in meaning or (field_id.startswith("amount_") and "id" not in meaning):
                raise PensionLayoutError(f"{where}: needs a label (and an id for an amount)")
            _origin(meaning, where)


def _record(kind: str, file: str | None, specs: list, length: int, codes: dict[str, Any], notice: str | None,
            meanings: dict[str, Any] | None = None) -> RecordLayout:
    """The checked fields of one record. ``specs`` are the YAML entries, or (file, entry) pairs for the data
    record, whose fields come from two files (then they are put in byte order before the tiling check)."""
    pairs = [item if isinstance(item, tuple) else (file, item) for item in specs]
    fields = [_field(where, spec, codes, notice, (meanings or {})) for where, spec in pairs]
    if kind == "data":
        fields.sort(key=lambda f: f.start)
    ids: dict[str, ExchangeField] = {}
    for f in fields:
        if f.id in ids:
            raise PensionLayoutError(f"{f.file}: field {f.title} appears twice in the {kind} record")
        ids[f.id] = f
    _check_tiling(kind, fields, length)
    for i, f in enumerate(fields):
        if f.type == "kanji":
            before = fields[i - 1] if i > 0 else None
            after = fields[i + 1] if i + 1 < len(fields) else None
            if before is None or before.shift != "kanji_in" or after is None or after.shift != "kanji_out":
                raise PensionLayoutError(f"{f.file}: field {f.title} is kanji: it must follow a kanji_in shift code "
                                         "and be followed by a kanji_out shift code")
    last_file = fields[-1].file if fields else file
    for required in REQUIRED_IDS[kind]:
        if required not in ids:
            raise PensionLayoutError(f"{last_file}: the {kind} record has no field {required!r}")
    if kind == "data":
        for field_id in MEANING_FIELDS:
            f = ids.get(field_id)
            used = f is not None and f.type in ("date", "amount")
            if used and not f.meaning:
                raise PensionLayoutError(f"{f.file}: field {f.title} needs its meaning in codes.yaml "
                                         f"notice_meanings.\"{notice}\".{field_id}")
            if not used and field_id in (meanings or {}):
                raise PensionLayoutError(f"contracts/pension_exchange/{CODES_FILE}: notice_meanings \"{notice}\" "
                                         f"gives {field_id}, which that notice type does not use")
    return RecordLayout(kind, length, tuple(fields))


def _field(file: str, spec: Any, codes: dict[str, Any], notice: str | None, meanings: dict[str, Any]) -> ExchangeField:
    if not isinstance(spec, dict):
        raise PensionLayoutError(f"{file}: a field is not a mapping: {spec!r}")
    where = f"{file}: field {spec.get('id')!r}"
    missing = [k for k in FIELD_KEYS if k not in spec]
    if missing:
        raise PensionLayoutError(f"{where} lacks {', '.join(missing)}")
    unknown = sorted(set(spec) - set(FIELD_KEYS) - OPTIONAL_FIELD_KEYS)
    if unknown:
        raise PensionLayoutError(f"{where} has unknown keys {', '.join(unknown)}")
    where = f"{file}: field {spec['name_ja']} ({spec['id']})"
    kind = spec["type"]
    if kind not in TYPES:
        raise PensionLayoutError(f"{where}: type {kind!r} is not one of {', '.join(TYPES)}")
    if spec["pad"] != TYPES[kind][0]:
        raise PensionLayoutError(f"{where}: a {kind} field is padded {TYPES[kind][0]}, not {spec['pad']}")
    start, length = spec["start"], spec["length"]
    if not (isinstance(start, int) and isinstance(length, int) and start >= 1 and length >= 1):
        raise PensionLayoutError(f"{where}: start and length are positive integers")
    if kind == "date" and length != 8:
        raise PensionLayoutError(f"{where}: a date is 8 bytes (YYYYMMDD)")
    if kind in ("count", "amount") and length > 18:
        raise PensionLayoutError(f"{where}: at most 18 digits fit an Int64")
    if kind == "kanji" and length % 2:
        raise PensionLayoutError(f"{where}: a kanji field holds 2 bytes a character: its length must be even")
    shift = spec.get("shift")
    if (kind == "shift") != (shift is not None):
        raise PensionLayoutError(f"{where}: a shift field, and only a shift field, names its shift code")
    if kind == "shift" and (shift not in SHIFT_CODES or length != 3):
        raise PensionLayoutError(f"{where}: a shift code is kanji_in or kanji_out, 3 bytes")
    nullable = bool(spec.get("nullable", False))
    if nullable and kind not in ("digits", "date", "ascii", "kana", "kanji"):
        raise PensionLayoutError(f"{where}: a {kind} field cannot be blank")
    fixed = spec.get("fixed")
    if "fixed" in spec and "fixed_ref" in spec:
        raise PensionLayoutError(f"{where}: give fixed or fixed_ref, not both")
    if "fixed_ref" in spec:
        ref = codes["code_lists"].get(spec["fixed_ref"])
        if ref is None or not ref.get("fixed"):
            raise PensionLayoutError(f"{where}: fixed_ref {spec['fixed_ref']!r} is not a fixed code list of codes.yaml")
        fixed = next(iter(ref["codes"]))
    if fixed == "notice":
        if notice is None:
            raise PensionLayoutError(f"{where}: fixed: notice is for the data record only")
        fixed = notice
    code_values: tuple[tuple[str, str], ...] = ()
    list_name = spec.get("codes") or spec.get("fixed_ref")
    if spec.get("codes") is not None:
        if spec["codes"] not in codes["code_lists"]:
            raise PensionLayoutError(f"{where}: codes {spec['codes']!r} is not a code list of codes.yaml")
    if list_name is not None:
        code_values = tuple((c, e["label"]) for c, e in codes["code_lists"][list_name]["codes"].items())
    if fixed is not None or code_values:
        if kind != "digits":
            raise PensionLayoutError(f"{where}: only a digits field may be fixed or take codes")
        for value in ([fixed] if fixed is not None else []) + [c for c, _ in code_values]:
            if not (isinstance(value, str) and len(value) == length and value.isascii() and value.isdigit()):
                raise PensionLayoutError(f"{where}: the value {value!r} is not {length} digits")
    meaning: tuple[tuple[str, str], ...] = ()
    if notice is not None and spec["id"] in MEANING_FIELDS and kind in ("date", "amount"):
        meaning = tuple((k, str(v)) for k, v in (meanings.get(spec["id"]) or {}).items())
    return ExchangeField(
        id=spec["id"], name_ja=spec["name_ja"], start=start, length=length, type=kind, pad=spec["pad"], file=file,
        fixed=fixed, fixed_by_notice=spec.get("fixed") == "notice", codes=list_name, code_values=code_values,
        nullable=nullable, shift=shift,
        description=str(spec.get("description", "")), meaning=meaning,
    )


def _check_tiling(kind: str, fields: list[ExchangeField], length: int) -> None:
    """The fields cover bytes 1..length exactly once, in order: no gap, no overlap."""
    record = "control block" if kind == "control" else f"{kind} record"
    problem = tiling_problem(fields, length, record)
    if problem:
        at_fault, words = problem
        raise PensionLayoutError(f"{at_fault.file if at_fault else 'contracts/pension_exchange'}: {words}")


# -------------------------------------------------------------------------------------------------- docs

def _origin_text(entry: dict[str, Any]) -> str:
    if "source" in entry:
        return f"public: {entry['source']}"
    return str(entry["chosen"])


def _field_rows(fields: tuple[ExchangeField, ...]) -> list[str]:
    rows = ["| bytes | length | id | 項目名 | type | padding | notes |", "|---|---:|---|---|---|---|---|"]
    for f in fields:
        notes = []
        if f.fixed_by_notice:
            notes.append("always the notice type's 通知内容コード")
        elif f.fixed is not None:
            notes.append(f"always `{f.fixed}`")
        elif f.codes:
            notes.append(f"codes: `{f.codes}`")
        if f.shift:
            notes.append(f"`{SHIFT_CODES[f.shift].hex(' ').upper()}` ({'漢字IN' if f.shift == 'kanji_in' else '漢字OUT'})")
        if f.nullable:
            notes.append("may be blank (null)")
        if f.meaning:
            notes.append(f"**{dict(f.meaning)['label']}**")
        if f.description:
            notes.append(f.description)
        column = f"`{f.id}`" if f.is_column else f"({f.id})"
        span = f"{f.start}" if f.length == 1 else f"{f.start}–{f.end}"
        rows.append(f"| {span} | {f.length} | {column} | {f.name_ja} | {f.type} | {f.pad} | {'; '.join(notes)} |")
    return rows


def render_markdown(layouts: ExchangeLayouts | None = None) -> str:
    """``docs/layouts/pension_exchange.md``: the files field by field, and every code with its origin."""
    lay = layouts or load_exchange_layouts()
    lines = [
        "# 年金特徴 exchange files (公的年金からの特別徴収) — `pension_exchange`",
        "",
        "The files exchanged every month with the pension insurers about withholding the resident tax from "
        "public pensions. Generated from `contracts/pension_exchange/` (do not edit by hand: "
        "`.venv/bin/python -m contracts.pension_exchange --write-docs`); read and written byte for byte by "
        "`transforms/pension_exchange_records.py`.",
        "",
        "## The file",
        "",
        f"- A control block of {lay.control_length} bytes, then records of {lay.record_length} bytes; no line ends, "
        f"no separators: a file is {lay.control_length} + k × {lay.record_length} bytes.",
        "- After the control block, one group per municipality and 特別徴収義務者: a header (レコード区分 1), "
        "its data records (2), a trailer (3). Groups are sorted by 市町村コード; a file may hold groups of "
        "several notice types, at most one per 市町村コード, 特別徴収義務者コード and 通知内容コード.",
        "- The trailer's 合計件数 is the number of the group's data records and its 合計金額 the sums of "
        "金額1, 金額2 and 金額3; the header and the trailer carry the same 市町村コード, 特別徴収義務者コード, "
        "通知内容コード and 作成年月日, and every data record the header's 市町村コード, 特別徴収義務者コード and "
        "通知内容コード. A file that breaks any of this is refused whole.",
        "- Record numbers in messages count the 500-byte records after the control block, from 1.",
        "- Characters: ASCII, 半角カナ as 8-bit JIS X 0201 bytes, and kanji as JIS X 0208 codes between the "
        "shift codes ESC $ B and ESC ( B (ISO-2022-JP; docs/sources.md#f3-5). The shift codes are always "
        "there, even around a blank field.",
        "- A character outside JIS X 0208 (e.g. 𠮷, 髙) is refused by the writer with an error naming the "
        "record, the field and the character's position; it is never dropped or replaced. The exchange "
        "tells the pension insurer whose pension to withhold from: a silently changed name or address "
        "would be sent as if it were right, so the operator chooses the 代替文字 in the person's record "
        "before the file is written. The Unicode forms of the same JIS characters used by Windows text "
        "(～ ∥ － ￠ ￡ ￢ for 〜 ‖ − ¢ £ ¬) are written as those JIS characters and read back in the "
        "standard form.",
        f"- The control block is {lay.control_length} bytes: the seven items below add up to it, and the "
        "sources agree (docs/sources.md#f3-3). What ファイル格納件数 counts is not stated there: we count "
        "every record after the control block (headers, data records and trailers), because each "
        "trailer already counts its data records.",
        "",
        "## Types and padding",
        "",
        "| type | column | content | padding |",
        "|---|---|---|---|",
    ]
    for name, (pad, dtype, text) in TYPES.items():
        lines.append(f"| {name} | {dtype or '(none)'} | {text} | {PADS[pad]} |")
    lines += ["", "A field in parentheses in the tables below is not a column of the frames (a shift code, a "
              "filler or a fixed value); the reader checks a fixed value and the shift codes, and ignores "
              "fillers."]
    for title, record in (("Control block", lay.control), ("Header record", lay.header),
                          ("Trailer record", lay.trailer)):
        lines += ["", f"## {title} ({record.length} bytes)", "", *_field_rows(record.fields)]
    common = next(iter(lay.notices.values())).data
    lines += ["", f"## Data record ({lay.record_length} bytes): the fields of every notice type", "",
              "Bytes 382–485 depend on the notice type (next section).", "",
              *_field_rows(tuple(f for f in common.fields if f.file.endswith(FRAME_FILE)))]
    lines += ["", "## Notice types (通知内容コード)", "",
              "| code | 通知 | direction | when | layout |", "|---|---|---|---|---|"]
    for code, notice in lay.notices.items():
        arrow = "insurer → ward" if notice.direction == "inbound" else "ward → insurer"
        lines.append(f"| {code} | {notice.title_ja} | {arrow} | {notice.when} | `{notice.file}` |")
    for code, notice in lay.notices.items():
        own = tuple(f for f in notice.data.fields if f.file == notice.file)
        lines += ["", f"### {code} {notice.title_ja} — {notice.title_en}", "", *_field_rows(own)]
        meant = [f for f in own if f.meaning]
        if meant:
            lines += ["", "| field | meaning | origin |", "|---|---|---|"]
            for f in meant:
                m = dict(f.meaning)
                name = f"{m['label']}" + (f" (`{m['id']}`)" if "id" in m else "")
                lines.append(f"| `{f.id}` | {name} | {_origin_text(m)} |")
    lines += ["", "## Codes", "",
              "Every code the route uses, from `contracts/pension_exchange/codes.yaml`. *public* means read in a "
              "source (for the 介護・国保・後期 route of the same record family); the others were chosen by "
              "juminzei because nothing public was found, for the reason given (docs/sources.md#f3-4)."]
    for name, spec in lay.codes["code_lists"].items():
        lines += ["", f"### `{name}` — {spec['name_ja']}", ""]
        if spec.get("note"):
            lines += [str(spec["note"]).strip(), ""]
        lines += ["| code | meaning | origin |", "|---|---|---|"]
        for code, entry in spec["codes"].items():
            lines.append(f"| `{code}` | {entry['label']} | {_origin_text(entry)} |")
    return "\n".join(lines) + "\n"


def docs_path() -> Path:
    return Path(__file__).resolve().parents[1] / "docs" / "layouts" / "pension_exchange.md"


def _main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Render docs/layouts/pension_exchange.md from "
                                                 "contracts/pension_exchange/.")
    parser.add_argument("--write-docs", action="store_true", help="write the file (else: print its path)")
    args = parser.parse_args(argv)
    path = docs_path()
    if args.write_docs:
        path.write_text(render_markdown(load_exchange_layouts()), encoding="utf-8")
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())


__all__ = [
    "PENSION_EXCHANGE_DIR", "TYPES", "PADS", "SHIFT_CODES", "PensionLayoutError", "ExchangeField", "RecordLayout",
    "NoticeLayout", "ExchangeLayouts", "load_exchange_layouts", "load_exchange_layouts_from", "render_markdown",
    "docs_path", "FILE_NAME", "LANDING_FOLDER", "exchange_file_name", "parse_exchange_file_name", "landing_folder",
]
