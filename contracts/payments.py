"""The inbound payment files (収納データ) as data: loads and checks ``contracts/payments/``.

Five channels bring the ward's payments in (ids in :data:`CHANNELS`), one layout file each:

* ``convenience.yaml``: コンビニ収納 速報・確報 from the 収納代行 (120-byte records; the public "Variant B" data
  record, with the GS1-128 barcode of 標準料金代理収納 inside it);
* ``mpn.yaml``: MPN / Pay-easy 一括消込データ (120 bytes, designed);
* ``el_qr.yaml``: eL-QR 納付情報 from the 共通納税IFS (CSV, designed and synthetic);
* ``bank_counter.yaml``: 指定金融機関 窓口 OCR 収納データ (120 bytes, designed);
* ``special_remittance.yaml``: 特別徴収 納入データ, employers' and pension insurers' remittances (120 bytes,
  designed);
* ``codes.yaml``: every code list and limit, each value with its public source or the reason we chose it.

Where a layout is public it is followed exactly; where it is not, it is ours, in the family of the 全銀協 files
(120-byte records, レコード区分 1 header / 2 data / 8 trailer / 9 end) or CSV, and says ``designed: true`` with
the reason (a whole file, or one record type of a public one).

:func:`load_payment_layouts` reads them once and checks them: every field names its id (English snake_case),
項目名, position, length and type (:data:`TYPES`); the fields of a fixed-length record tile bytes 1..120 exactly
and the columns of a CSV record are numbered 1..n; each record starts with レコード区分 fixed to its code; every
code list a field names exists and its codes fit the field; the trailer's totals name what they sum; the
reference is made of data fields; a packing's parts fill its length; the fields the codec relies on are there
(:data:`REQUIRED_IDS`). A broken layout raises :class:`PaymentLayoutError` naming the file and the field.

:func:`render_markdown` writes ``docs/layouts/payments.md`` from the same data
(``.venv/bin/python -m contracts.payments --write-docs``). The codec is :mod:`transforms.payment_records`.
No I/O besides reading the YAML; no clock, no Airflow. Sources: docs/sources.md#f10.
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

PAYMENTS_DIR = Path(__file__).resolve().parent / "payments"
CODES_FILE = "codes.yaml"
#: channel id → its layout file; the order is the order of the docs and of ``CHANNELS`` in the codec
LAYOUT_FILES: dict[str, str] = {
    "convenience": "convenience.yaml",
    "mpn": "mpn.yaml",
    "el_qr": "el_qr.yaml",
    "bank_counter": "bank_counter.yaml",
    "special_remittance": "special_remittance.yaml",
}
CHANNELS: tuple[str, ...] = tuple(LAYOUT_FILES)
RECORD_LENGTH = 120
FORMATS = ("fixed", "csv")

#: field type → (the dtype of its column, what it holds). Fillers are not columns. In a fixed-length record a
#: digits-like value fills its field (zeros on the left where it is a number), an alnum or digits_left value is
#: left-aligned and space-filled, a nullable field is null when blank (spaces; an empty CSV cell).
TYPES: dict[str, tuple[str | None, str]] = {
    "digits": ("String", "ASCII digits filling the field, kept as text (codes, bank, branch and serial numbers)"),
    "digits_left": ("String", "1 or more ASCII digits, left-aligned, space-filled (a 指定番号 of 3 to 10 digits)"),
    "alnum": ("String", "ASCII digits and upper-case letters, left-aligned, space-filled; read without the "
                        "trailing spaces"),
    "date": ("Date", "YYYYMMDD, a real calendar date"),
    "time": ("String", "HHMM, 00:00–23:59, kept as text"),
    "month": ("String", "YYYYMM, month 01–12, kept as text"),
    "amount": ("Int64", "ASCII digits, yen, never negative (fixed: zero-filled; CSV: no leading zeros)"),
    "count": ("Int64", "ASCII digits, a count (fixed: zero-filled; CSV: no leading zeros)"),
    "notice_no": ("String", "通知書番号: exactly 15 ASCII digits"),
    "installment": ("Int32", "期別: 2 digits, one of its code list (01–04), read as an integer"),
    "barcode": ("String", "the 44 digits of a GS1-128 コンビニ barcode (packing below), kept as text"),
    "filler": (None, "ダミー・予備: spaces; not read into a column"),
}
FIELD_KEYS: tuple[str, ...] = ("id", "name_ja", "start", "length", "type")
OPTIONAL_FIELD_KEYS: frozenset[str] = frozenset({"fixed", "codes", "nullable", "description", "default", "total_of"})
#: record type → its レコード区分, in file order; a CSV file has no end record
RECORD_TYPES: dict[str, str] = {"header": "1", "data": "2", "trailer": "8", "end": "9"}
#: ids the codec relies on, per record type and channel ("*" = every channel)
REQUIRED_IDS: dict[str, dict[str, tuple[str, ...]]] = {
    "*": {"header": ("record_type", "created"), "data": ("record_type", "paid_on"),
          "trailer": ("record_type", "total_count", "total_amount")},
    "convenience": {"header": ("company_code",),
                    "data": ("report_kind_code", "paid_time", "barcode", "credited_on")},
    "mpn": {"header": ("agency_no",), "data": ("amount", "agency_no", "customer_no", "confirmation_no", "payment_class",
                                               "receipt_no", "credited_on")},
    "el_qr": {"header": ("municipality_code", "agency_no"),
              "data": ("amount", "agency_no", "payment_no", "confirmation_no", "payment_class", "municipality_code",
                       "notice_no", "installment", "credited_on", "receipt_no")},
    "bank_counter": {"data": ("amount", "notice_no", "installment", "credited_on", "tax_item")},
    "special_remittance": {"data": ("amount", "route_code", "payer", "fiscal_year", "period_month",
                                    "retirement_amount")},
}
#: the packings the codec unpacks, per channel: name → its part ids in order
REQUIRED_PACKINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "convenience": {"barcode": ("ai", "company_code", "tax_item", "notice_no", "installment", "reserved", "reissue",
                                "due_date", "stamp_flag", "amount", "check_digit")},
    "mpn": {"customer_no": ("notice_no", "installment")},
    "el_qr": {"el_number": ("agency_no", "notice_no", "installment", "confirmation_no", "payment_class")},
}
#: the limits of codes.yaml the codec reads
REQUIRED_LIMITS: tuple[str, ...] = ("barcode_amount_cap", "confirmation_modulus")

#: why a data record is quarantined (the reason_code of a quarantine row) → what it means. Field-level reasons
#: come from the field's type; the others are checks across fields.
REASON_CODES: dict[str, str] = {
    "invalid_digits": "a digits field holds something else than its digits (or is blank where it may not be)",
    "invalid_text": "an alnum field holds something else than digits, upper-case letters and trailing spaces",
    "invalid_date": "not a real date YYYYMMDD (or blank where it may not be)",
    "invalid_time": "not a time HHMM",
    "invalid_month": "not a month YYYYMM",
    "invalid_amount": "an amount that is not digits (in a CSV: has leading zeros, or is too long)",
    "invalid_count": "a count that is not digits",
    "invalid_notice_no": "the 通知書番号 is not 15 digits",
    "invalid_installment": "the 期別 is not 2 digits of the installment list (01–04)",
    "invalid_barcode": "the barcode is not 44 digits",
    "filler_not_blank": "a ダミー・予備 field holds something else than spaces",
    "unknown_code": "a code outside its code list (codes.yaml)",
    "barcode_check_digit": "the barcode's check digit (modulus 10, weights 3/1) is wrong",
    "barcode_layout": "the barcode is not ours: AI not 91, 印紙フラグ not 0, 予備 not 00, or 支払期限 not a date",
    "barcode_company": "the barcode's 請求書発行企業コード is not the header's",
    "barcode_over_cap": "the barcode's amount is above the 30万円 cap: no such barcode is printed",
    "invalid_customer_no": "the お客様番号 is not 17 digits (通知書番号 + 期別)",
    "confirmation_mismatch": "the 確認番号 does not match the 通知書番号 and 期別",
    "el_number_mismatch": "the eL 納付番号 is not the record's 通知書番号 + 期別",
    "agency_mismatch": "the 収納機関番号 is not the header's",
    "municipality_mismatch": "the 地方公共団体コード is not the header's",
    "route_mismatch": "a 年金特別徴収 record whose 指定番号 is not a 3-digit insurer code, or with 退職所得分",
    "period_outside_year": "the 納入月分 is outside the 年度's withholding (給与: June to May of the next year; "
                           "年金: April to March)",
}
#: field type → the reason of a record whose field of that type is malformed
TYPE_REASONS: dict[str, str] = {
    "digits": "invalid_digits", "digits_left": "invalid_digits", "alnum": "invalid_text", "date": "invalid_date",
    "time": "invalid_time", "month": "invalid_month", "amount": "invalid_amount", "count": "invalid_count",
    "notice_no": "invalid_notice_no", "installment": "invalid_installment", "barcode": "invalid_barcode",
    "filler": "filler_not_blank",
}
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


class PaymentLayoutError(LayoutError):
    """A payment layout file is inconsistent (names the file and the field)."""


@dataclass(frozen=True)
class PaymentField(FixedField):
    """One field of a payment record. In a CSV layout ``start`` is the column (1-based) and ``length`` the
    digits of the value (exact, or at most for an amount or a count)."""

    default: str | int | None = None  # written when the writer's frame has no column for it
    total_of: str | None = None  # trailer: the data column it sums, or "records" (the count)

    @property
    def dtype(self) -> str | None:
        return TYPES[self.type][0]

    @property
    def is_column(self) -> bool:
        return self.dtype is not None and self.fixed is None


@dataclass(frozen=True)
class PaymentRecordLayout:
    """The fields of one record type, in order; ``designed`` with its reason where the record is ours."""

    record_type: str  # header / data / trailer / end
    code: str  # its レコード区分
    fields: tuple[PaymentField, ...]
    designed: bool
    reason: str

    def field(self, field_id: str) -> PaymentField:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(f"the {self.record_type} record has no field {field_id!r}")

    def has(self, field_id: str) -> bool:
        return any(f.id == field_id for f in self.fields)

    @property
    def columns(self) -> tuple[PaymentField, ...]:
        return tuple(f for f in self.fields if f.is_column)


@dataclass(frozen=True)
class PackingPart:
    id: str
    name_ja: str
    offset: int  # 0-based within the packed value
    length: int
    fixed: str | None
    codes: str | None
    origin: str


@dataclass(frozen=True)
class Packing:
    """How a value (a barcode, a number) is made of parts."""

    name: str
    name_ja: str
    field: str | None  # the data field holding it, if any
    length: int
    parts: tuple[PackingPart, ...]

    def part(self, part_id: str) -> PackingPart:
        for p in self.parts:
            if p.id == part_id:
                return p
        raise KeyError(f"packing {self.name!r} has no part {part_id!r}")


@dataclass(frozen=True)
class PaymentLayout:
    """One channel's file."""

    channel: str
    name_ja: str
    title_en: str
    file: str
    format: str  # fixed | csv
    record_length: int | None
    designed: bool
    designed_reason: str
    sources: tuple[str, ...]
    records: dict[str, PaymentRecordLayout]  # record type → layout, in file order
    reference: tuple[str, ...]  # the data fields whose text makes the reference
    reference_note: str
    packings: dict[str, Packing]

    @property
    def header(self) -> PaymentRecordLayout:
        return self.records["header"]

    @property
    def data(self) -> PaymentRecordLayout:
        return self.records["data"]

    @property
    def trailer(self) -> PaymentRecordLayout:
        return self.records["trailer"]

    @property
    def end(self) -> PaymentRecordLayout | None:
        return self.records.get("end")

    @property
    def order(self) -> str:
        """The レコード区分 of the record types present, in file order ("1289" or "128")."""
        return "".join(r.code for r in self.records.values())


@dataclass(frozen=True)
class PaymentLayouts:
    """Everything of ``contracts/payments/``: the channels, the code lists and the limits."""

    channels: dict[str, PaymentLayout]
    codes: dict[str, Any]  # codes.yaml code_lists as read
    limits: dict[str, Any]  # codes.yaml limits as read

    def layout(self, channel: str) -> PaymentLayout:
        try:
            return self.channels[channel]
        except KeyError:
            raise KeyError(f"no payment layout for channel {channel!r} (known: {', '.join(CHANNELS)})") from None

    def limit(self, name: str) -> int:
        return int(self.limits[name]["value"])

    def code_values(self, list_name: str) -> tuple[str, ...]:
        return tuple(self.codes[list_name]["codes"])


# ------------------------------------------------------------------------------------------------ loading

@functools.cache
def load_payment_layouts() -> PaymentLayouts:
    """The checked layouts of ``contracts/payments/`` (cached and shared: treat as read-only)."""
    return load_payment_layouts_from(PAYMENTS_DIR)


def load_payment_layouts_from(directory: Path) -> PaymentLayouts:
    """The layouts of ``directory`` (a copy of ``contracts/payments/``), checked; not cached."""
    directory = Path(directory)
    codes_path = directory / CODES_FILE
    raw_codes = _read_yaml(codes_path)
    codes = _check_code_lists(_name(codes_path), raw_codes)
    limits = _check_limits(_name(codes_path), raw_codes)
    channels = {channel: _layout(directory / file_name, channel, codes) for channel, file_name in LAYOUT_FILES.items()}
    return PaymentLayouts(channels, codes, limits)


def _name(path: Path) -> str:
    """``contracts/payments/<file>`` for the real folder; the path itself for a copy."""
    return display_name(path, PAYMENTS_DIR)


def _read_yaml(path: Path) -> dict[str, Any]:
    return read_layout_yaml(path, _name(path), PaymentLayoutError)


def _origin(where: str, entry: dict[str, Any]) -> str:
    return origin(where, entry, PaymentLayoutError)


def _check_code_lists(file: str, raw: dict[str, Any]) -> dict[str, Any]:
    return check_code_lists(file, raw, PaymentLayoutError, ascii_codes=True)


def _check_limits(file: str, raw: dict[str, Any]) -> dict[str, Any]:
    limits = raw.get("limits")
    if not isinstance(limits, dict):
        raise PaymentLayoutError(f"{file}: missing limits")
    for name in REQUIRED_LIMITS:
        spec = limits.get(name)
        if not isinstance(spec, dict) or not isinstance(spec.get("value"), int) or "label" not in spec:
            raise PaymentLayoutError(f"{file}: limit {name!r} needs an integer value and a label")
        _origin(f"{file}: limit {name!r}", spec)
    return limits


def _layout(path: Path, channel: str, codes: dict[str, Any]) -> PaymentLayout:
    file = _name(path)
    raw = _read_yaml(path)
    for key in ("channel", "name_ja", "title_en", "format", "designed", "sources", "reference", "records"):
        if key not in raw:
            raise PaymentLayoutError(f"{file}: missing {key}")
    if raw["channel"] != channel:
        raise PaymentLayoutError(f"{file}: channel is {raw['channel']!r}; this file holds {channel!r}")
    fmt = raw["format"]
    if fmt not in FORMATS:
        raise PaymentLayoutError(f"{file}: format is {fmt!r}, not one of {', '.join(FORMATS)}")
    if fmt == "fixed" and raw.get("record_length") != RECORD_LENGTH:
        raise PaymentLayoutError(f"{file}: record_length is {raw.get('record_length')!r}; a fixed-length payment "
                                 f"record is {RECORD_LENGTH} bytes")
    if not isinstance(raw["designed"], bool):
        raise PaymentLayoutError(f"{file}: designed is true or false")
    reason = str(raw.get("designed_reason", "")).strip()
    if raw["designed"] and not reason:
        raise PaymentLayoutError(f"{file}: a designed layout says why in designed_reason")
    sources = raw["sources"]
    if not (isinstance(sources, list) and sources and all(isinstance(s, str) and s.strip() for s in sources)):
        raise PaymentLayoutError(f"{file}: sources is a list of citations")
    records = raw["records"]
    expected = list(RECORD_TYPES) if fmt == "fixed" else ["header", "data", "trailer"]
    if not isinstance(records, dict) or list(records) != expected:
        raise PaymentLayoutError(f"{file}: records holds {', '.join(expected)}, in that order")
    built = {kind: _record(file, kind, records[kind], codes, fmt, raw["designed"]) for kind in expected}
    for scope in ("*", channel):
        for kind, ids in REQUIRED_IDS.get(scope, {}).items():
            for required in ids:
                if not built[kind].has(required):
                    raise PaymentLayoutError(f"{file}: the {kind} record has no field {required!r}")
    packings = {name: _packing(file, name, spec, codes, built["data"])
                for name, spec in (raw.get("packings") or {}).items()}
    data_ids = {f.id for f in built["data"].columns}
    # a trailer may total a value packed inside a data field (the コンビニ barcode's 支払金額)
    packed = {p.id for packing in packings.values() if packing.field for p in packing.parts}
    for f in built["trailer"].columns:
        if f.total_of is None:
            raise PaymentLayoutError(f"{file}: trailer field {f.title} names what it totals (total_of)")
        if f.total_of != "records" and f.total_of not in data_ids | packed:
            raise PaymentLayoutError(f"{file}: trailer field {f.title}: total_of {f.total_of!r} is not a data field")
        if (f.total_of == "records") != (f.type == "count"):
            raise PaymentLayoutError(f"{file}: trailer field {f.title}: a count totals records, an amount a field")
    reference = raw["reference"]
    if not (isinstance(reference, list) and reference and all(r in data_ids for r in reference)):
        raise PaymentLayoutError(f"{file}: reference is a list of data field ids")
    for name, parts in REQUIRED_PACKINGS.get(channel, {}).items():
        if name not in packings or tuple(p.id for p in packings[name].parts) != parts:
            raise PaymentLayoutError(f"{file}: packing {name!r} holds the parts {', '.join(parts)}, in that order")
    return PaymentLayout(channel, str(raw["name_ja"]), str(raw["title_en"]), file, fmt, raw.get("record_length"),
                         raw["designed"], reason, tuple(sources), built, tuple(reference),
                         str(raw.get("reference_note", "")), packings)


def _record(file: str, kind: str, spec: Any, codes: dict[str, Any], fmt: str, designed: bool
            ) -> PaymentRecordLayout:
    if not isinstance(spec, dict) or not isinstance(spec.get("fields"), list) or not spec["fields"]:
        raise PaymentLayoutError(f"{file}: the {kind} record is a mapping with its fields")
    record_designed = spec.get("designed", designed)
    if not isinstance(record_designed, bool):
        raise PaymentLayoutError(f"{file}: the {kind} record's designed is true or false")
    reason = str(spec.get("reason", "")).strip()
    if record_designed and not designed and not reason:
        raise PaymentLayoutError(f"{file}: the designed {kind} record of a public layout says why (reason)")
    fields = [_field(file, kind, f, codes, fmt) for f in spec["fields"]]
    seen: set[str] = set()
    for f in fields:
        if f.id in seen:
            raise PaymentLayoutError(f"{file}: field {f.title} appears twice in the {kind} record")
        seen.add(f.id)
    if fmt == "fixed":
        problem = tiling_problem(fields, RECORD_LENGTH, f"{kind} record")
        if problem:
            raise PaymentLayoutError(f"{file}: {kind} record, {problem[1]}")
    else:
        for number, f in enumerate(fields, start=1):
            if f.start != number:
                raise PaymentLayoutError(f"{file}: {kind} record, field {f.title} is column {f.start}; the columns "
                                         f"are numbered 1, 2, … in order (expected {number})")
            if f.type == "filler":
                raise PaymentLayoutError(f"{file}: {kind} record, field {f.title}: a CSV has no filler")
    first = fields[0]
    if first.id != "record_type" or first.fixed != RECORD_TYPES[kind]:
        raise PaymentLayoutError(f"{file}: the {kind} record starts with レコード区分 (record_type) fixed to "
                                 f"{RECORD_TYPES[kind]!r}, not {first.title} {first.fixed!r}")
    if kind != "trailer" and any(f.total_of for f in fields):
        raise PaymentLayoutError(f"{file}: only the trailer's fields take total_of")
    return PaymentRecordLayout(kind, RECORD_TYPES[kind], tuple(fields), record_designed, reason)


def _field(file: str, kind: str, spec: Any, codes: dict[str, Any], fmt: str) -> PaymentField:
    if not isinstance(spec, dict):
        raise PaymentLayoutError(f"{file}: a field of the {kind} record is not a mapping: {spec!r}")
    where = f"{file}: {kind} record, field {spec.get('id')!r}"
    missing = [k for k in FIELD_KEYS if k not in spec]
    if missing:
        raise PaymentLayoutError(f"{where} lacks {', '.join(missing)}")
    unknown = sorted(set(spec) - set(FIELD_KEYS) - OPTIONAL_FIELD_KEYS)
    if unknown:
        raise PaymentLayoutError(f"{where} has unknown keys {', '.join(unknown)}")
    if not (isinstance(spec["id"], str) and SNAKE_CASE.match(spec["id"])):
        raise PaymentLayoutError(f"{where}: the id is English snake_case")
    where = f"{file}: {kind} record, field {spec['name_ja']} ({spec['id']})"
    field_type = spec["type"]
    if field_type not in TYPES:
        raise PaymentLayoutError(f"{where}: type {field_type!r} is not one of {', '.join(TYPES)}")
    start, length = spec["start"], spec["length"]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (start, length)):
        raise PaymentLayoutError(f"{where}: start and length are positive integers")
    exact = {"date": 8, "time": 4, "month": 6, "notice_no": 15, "installment": 2, "barcode": 44}
    if field_type in exact and length != exact[field_type]:
        raise PaymentLayoutError(f"{where}: a {field_type} field is {exact[field_type]} long, not {length}")
    if field_type in ("count", "amount") and length > 18:
        raise PaymentLayoutError(f"{where}: at most 18 digits fit an Int64")
    nullable = spec.get("nullable", False)
    if not isinstance(nullable, bool):
        raise PaymentLayoutError(f"{where}: nullable is true or false")
    if nullable and field_type not in ("digits", "date", "alnum"):
        raise PaymentLayoutError(f"{where}: a {field_type} field cannot be blank")
    list_name = spec.get("codes")
    code_values: tuple[tuple[str, str], ...] = ()
    if list_name is not None:
        if list_name not in codes:
            raise PaymentLayoutError(f"{where}: codes {list_name!r} is not a code list of codes.yaml")
        if field_type not in ("digits", "alnum", "installment"):
            raise PaymentLayoutError(f"{where}: only a digits, alnum or installment field takes codes")
        code_values = tuple((c, str(e["label"])) for c, e in codes[list_name]["codes"].items())
        for code, _ in code_values:
            fits = len(code) <= length if field_type == "alnum" else len(code) == length and code.isdigit()
            if not fits:
                raise PaymentLayoutError(f"{where}: code {code!r} of list {list_name!r} does not fit the "
                                         f"{length}-long {field_type} field")
    elif field_type == "installment":
        raise PaymentLayoutError(f"{where}: an installment field names its code list")
    fixed = spec.get("fixed")
    if fixed is not None:
        if field_type != "digits":
            raise PaymentLayoutError(f"{where}: only a digits field may be fixed")
        if not (isinstance(fixed, str) and len(fixed) == length and fixed.isascii() and fixed.isdigit()):
            raise PaymentLayoutError(f"{where}: the fixed value {fixed!r} is not {length} digits (quote it)")
        if code_values and fixed not in dict(code_values):
            raise PaymentLayoutError(f"{where}: the fixed value {fixed!r} is not a code of list {list_name!r}")
    default = spec.get("default")
    if default is not None:
        numeric = field_type in ("amount", "count")
        if numeric != isinstance(default, int) or isinstance(default, bool):
            raise PaymentLayoutError(f"{where}: the default {default!r} is {'an integer' if numeric else 'a string'}")
        if code_values and str(default) not in dict(code_values):
            raise PaymentLayoutError(f"{where}: the default {default!r} is not a code of list {list_name!r}")
    total_of = spec.get("total_of")
    if total_of is not None and field_type not in ("count", "amount"):
        raise PaymentLayoutError(f"{where}: only a count or an amount totals (total_of)")
    return PaymentField(
        id=spec["id"], name_ja=str(spec["name_ja"]), start=start, length=length, type=field_type,
        pad="space_right" if field_type in ("alnum", "digits_left", "filler") else "zero_left", file=file,
        fixed=fixed, codes=list_name, code_values=code_values, nullable=nullable,
        description=str(spec.get("description", "")), default=default, total_of=total_of,
    )


def _packing(file: str, name: str, spec: Any, codes: dict[str, Any], data: PaymentRecordLayout) -> Packing:
    where = f"{file}: packing {name!r}"
    if not isinstance(spec, dict) or not isinstance(spec.get("parts"), list) or "length" not in spec:
        raise PaymentLayoutError(f"{where} needs name_ja, length and parts")
    field_id = spec.get("field")
    if field_id is not None and not data.has(field_id):
        raise PaymentLayoutError(f"{where}: field {field_id!r} is not a data field")
    parts: list[PackingPart] = []
    offset = 0
    for part in spec["parts"]:
        if not isinstance(part, dict) or not {"id", "name_ja", "length"} <= set(part):
            raise PaymentLayoutError(f"{where}: each part needs id, name_ja and length ({part!r})")
        part_where = f"{where}, part {part['name_ja']} ({part['id']})"
        if part.get("codes") is not None and part["codes"] not in codes:
            raise PaymentLayoutError(f"{part_where}: codes {part['codes']!r} is not a code list of codes.yaml")
        fixed = part.get("fixed")
        if fixed is not None and not (isinstance(fixed, str) and len(fixed) == part["length"]):
            raise PaymentLayoutError(f"{part_where}: the fixed value {fixed!r} is not {part['length']} long")
        parts.append(PackingPart(part["id"], str(part["name_ja"]), offset, int(part["length"]), fixed,
                                 part.get("codes"), _origin(part_where, part)))
        offset += int(part["length"])
    if offset != spec["length"]:
        raise PaymentLayoutError(f"{where}: its parts are {offset} long; the packing is {spec['length']}")
    return Packing(name, str(spec.get("name_ja", name)), field_id, int(spec["length"]), tuple(parts))


# -------------------------------------------------------------------------------------------------- docs

def _field_rows(fields: tuple[PaymentField, ...], fmt: str) -> list[str]:
    where = "bytes" if fmt == "fixed" else "column"
    rows = [f"| {where} | length | id | 項目名 | type | notes |", "|---|---:|---|---|---|---|"]
    for f in fields:
        notes = []
        if f.fixed is not None:
            notes.append(f"always `{f.fixed}`")
        elif f.codes:
            notes.append(f"codes: [`{f.codes}`](#{f.codes})")
        if f.nullable:
            notes.append("may be blank (read as null)")
        if f.total_of:
            notes.append("the number of data records" if f.total_of == "records" else f"the sum of `{f.total_of}`")
        if f.default is not None:
            notes.append(f"written as `{f.default}` when not given")
        if f.description:
            notes.append(f.description)
        column = f"`{f.id}`" if f.is_column else f"({f.id})"
        span = str(f.start) if fmt == "csv" or f.length == 1 else f"{f.start}–{f.end}"
        rows.append(f"| {span} | {f.length} | {column} | {f.name_ja} | {f.type} | {'; '.join(notes)} |")
    return rows


_INTRO = """\
# Inbound payment files (収納データ) — `payments`

The files that bring the ward's payments in, one layout per channel: コンビニ 速報・確報 (`convenience`),
MPN / Pay-easy (`mpn`), eL-QR 納付情報 (`el_qr`), bank-counter OCR data (`bank_counter`) and 特別徴収
remittances (`special_remittance`). Generated from `contracts/payments/` (do not edit by hand:
`.venv/bin/python -m contracts.payments --write-docs`); read and written byte for byte by
`transforms/payment_records.py` (`read_payment_file`, `write_payment_file`). Sources:
[docs/sources.md#f10](../sources.md#f10).

## The files

- **Records.** A fixed-length file is 120-byte records: one header (レコード区分 1), its data records (2), one
  trailer (8) and one end record (9). The eL-QR file is CSV: the same record types in the first column of each
  row, header, data rows, trailer, and no end row. One group per file.
- **Characters.** Shift_JIS (CP932). Every field of these layouts holds ASCII (digits, upper-case letters,
  spaces), so a record's 120 characters are 120 bytes; a file that does not decode as CP932 is refused.
- **Record separators.** None, or CR LF, CR or LF after each record (the same throughout), with or without one
  after the last record; the reader remembers which and the writer writes it back (CR LF after every record by
  default), so that `write(read(b)) == b`.
- **Structural faults refuse the file** (`PaymentFormatError`, naming the file, the record number counted from 1
  over every record, header included, and the field): a record that is not 120 bytes or a CSV row with the
  wrong number of columns (`PaymentRecordLengthError`); bytes that are not CP932 (`PaymentDecodeError`); records
  out of the order above or an unknown レコード区分 (`PaymentRecordOrderError`); a malformed header, trailer or
  end field (`PaymentFieldError`); a trailer whose 件数 is not the number of data records, or whose 金額 is not
  the sum of their amounts (`PaymentTrailerTotalsError`; the sum is checked when every amount is readable).
- **A malformed data record does not stop the file.** It goes to the quarantine with a reason (table below),
  naming its first faulty field; the other records are read. Every data record ends in exactly one of the
  records and the quarantine. Messages never quote a 通知書番号, an amount or a barcode.
- **Normalized records.** Every channel reads into the same columns (`PAYMENT_SCHEMA`): `file`, `record_no`,
  `channel`, `report_kind` (final; a コンビニ 速報 is preliminary, a 速報取消 preliminary_cancel), `reference`
  (the key of one payment across files, per channel below), `paid_on` (領収日), `credited_on` (収入日 where
  the file has one), `notice_no`, `installment`, `route`, `payer`, `period` (the last three for 特別徴収),
  `amount`, `retirement_amount`. The raw fields of each data record are kept beside them (`details`).
"""

_PUBLIC_AND_DESIGNED = """\
## What is public and what we designed

- `convenience` — **public**: the 44-digit GS1-128 barcode (AI 91, 請求書発行企業コード, 自由使用欄 21, 再発行区分,
  支払期限, 印紙フラグ, 金額, check digit) and the 30万円 cap; the 120-byte Variant B data record and 種別 01/02/03
  (public code). **Ours**: the packing of the 自由使用欄 (税目 2 + 通知書番号 15 + 期別 2 + 00); the header's content,
  the trailer and the end record; バーコード種別 `1`.
- `mpn` — **public**: the identifiers and their lengths (収納機関番号 5, お客様番号 ≤20, 確認番号 ≤6, 納付区分 ≤16);
  the items checked on import. **Ours**: the whole record; お客様番号 = 通知書番号 + 期別; 確認番号 = a check
  value; the チャネル区分 codes.
- `el_qr` — **public**: eL番号 = 収納機関番号 + 納付番号 + 確認番号 + 納付区分; 納付情報 imported from the
  共通納税IFS; the channels. **Ours**: the whole file (synthetic CSV); the lengths of the eL番号 parts; the
  channel codes.
- `bank_counter` — **public**: that banks OCR-read the 領収済通知書 and deliver 消込 data. **Ours**: the whole
  record and its codes.
- `special_remittance` — **public**: the items of the 納入書 (年度, 納入月分, 指定番号, 納期限, 給与分, 退職所得分,
  人員); the 全銀 地方税納付代行 family. **Ours**: the whole record and its codes.

The 確認番号 (MPN and eL) is `(通知書番号 + 期別 read as one 17-digit integer) mod 999983`, zero-filled to 6
digits: 999983 is prime, so a changed digit or two swapped neighbouring digits always change it. Replace a designed
layout with the real one, in its YAML file only, when the ward's 収納代行, 指定金融機関 or eLTAX gives it.
"""


def render_markdown(layouts: PaymentLayouts | None = None) -> str:
    """``docs/layouts/payments.md``: every channel field by field, the packings, the codes and the reasons."""
    lay = layouts or load_payment_layouts()
    lines = [_INTRO.rstrip("\n"), "", "## Types", "", "| type | column | content |", "|---|---|---|"]
    for name, (dtype, text) in TYPES.items():
        lines.append(f"| {name} | {dtype or '(none)'} | {text} |")
    lines += ["", "A field in parentheses is not a column (a ダミー or a fixed value): the reader checks it, the "
              "writer writes it."]
    titles = {"header": "ヘッダー・レコード", "data": "データ・レコード", "trailer": "トレーラ・レコード",
              "end": "エンド・レコード"}
    for layout in lay.channels.values():
        status = f"**designed**: {layout.designed_reason}" if layout.designed else "**public** (parts marked designed)"
        lines += ["", f"## `{layout.channel}` — {layout.name_ja} ({layout.title_en})", "",
                  f"Layout: `{layout.file}`; {layout.format}"
                  + (f", {layout.record_length} bytes" if layout.record_length else "") + f". {status}.", "",
                  f"Reference: {' + '.join(f'`{r}`' for r in layout.reference)} — {layout.reference_note}.", "",
                  "Sources:", ""]
        lines += [f"- {source}" for source in layout.sources]
        for kind, record in layout.records.items():
            own = record.designed and not layout.designed
            lines += ["", f"### {layout.channel}: {titles[kind]} (レコード区分 {record.code})"
                      + (" — designed" if own else ""), ""]
            lines += [f"Designed by juminzei: {record.reason}.", ""] if own else []
            lines += _field_rows(record.fields, layout.format)
        for packing in layout.packings.values():
            held = f" (field `{packing.field}`)" if packing.field else ""
            lines += ["", f"### {layout.channel}: packing `{packing.name}` — {packing.name_ja}{held}, "
                      f"{packing.length} digits", "", "| digits | length | part | 項目名 | value | origin |",
                      "|---|---:|---|---|---|---|"]
            for p in packing.parts:
                span = str(p.offset + 1) if p.length == 1 else f"{p.offset + 1}–{p.offset + p.length}"
                value = f"always `{p.fixed}`" if p.fixed else (f"codes: [`{p.codes}`](#{p.codes})" if p.codes else "")
                lines.append(f"| {span} | {p.length} | `{p.id}` | {p.name_ja} | {value} | {p.origin} |")
    lines += ["", _PUBLIC_AND_DESIGNED.rstrip("\n"), "", "## Quarantine reasons", "",
              "| reason_code | the data record |", "|---|---|"]
    lines += [f"| `{code}` | {text} |" for code, text in REASON_CODES.items()]
    lines += ["", "## Codes", "", "From `contracts/payments/codes.yaml`. *public* names where the value was read; "
              "the others were chosen by juminzei for the reason given."]
    for name, spec in lay.codes.items():
        lines += ["", f"### <a id=\"{name}\"></a>`{name}` — {spec['name_ja']}", ""]
        if spec.get("note"):
            lines += [str(spec["note"]).strip(), ""]
        lines += ["| code | meaning | origin |", "|---|---|---|"]
        for code, entry in spec["codes"].items():
            lines.append(f"| `{code}` | {entry['label']} | {_origin(name, entry)} |")
    lines += ["", "## Limits", "", "| limit | value | meaning | origin |", "|---|---:|---|---|"]
    for name, spec in lay.limits.items():
        lines.append(f"| `{name}` | {spec['value']} | {spec['label']} | {_origin(name, spec)} |")
    return "\n".join(lines) + "\n"


def docs_path() -> Path:
    return Path(__file__).resolve().parents[1] / "docs" / "layouts" / "payments.md"


def _main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Render docs/layouts/payments.md from contracts/payments/.")
    parser.add_argument("--write-docs", action="store_true", help="write the file (else: print its path)")
    args = parser.parse_args(argv)
    path = docs_path()
    if args.write_docs:
        path.write_text(render_markdown(load_payment_layouts()), encoding="utf-8")
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())


__all__ = [
    "PAYMENTS_DIR", "LAYOUT_FILES", "CHANNELS", "RECORD_LENGTH", "TYPES", "RECORD_TYPES", "REQUIRED_IDS",
    "REASON_CODES", "TYPE_REASONS", "PaymentLayoutError", "PaymentField", "PaymentRecordLayout", "Packing",
    "PackingPart", "PaymentLayout", "PaymentLayouts", "load_payment_layouts", "load_payment_layouts_from",
    "render_markdown", "docs_path",
]
