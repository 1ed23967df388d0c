"""Contracts of the resident_snapshot stage: input layouts (as data) and the staged outputs.

Inputs: ``contracts/layouts/{resident_registry,my_number,livelihood_assistance,disability}.yaml``,
read by :func:`load_layout`; the parser takes its column list, types and allowed values from there.

Outputs (Pandera, polars backend; strict and ordered columns, explicit dtypes, nullability,
uniqueness, value checks). Validate *collected* DataFrames: validating a LazyFrame checks only the
schema, not the data.

* :class:`Residents`        staging/residents         one row per registry person (incl. removed)
* :class:`Households`       staging/households        one row per 世帯番号
* :class:`WelfareStatus`    staging/welfare_status    生活保護 (生活扶助) on 1 January
* :class:`DisabilityStatus` staging/disability_status 障害者 / 特別障害者 per person
* :class:`VaultEntry`       vault/my_number           宛名番号 ↔ 個人番号 (encrypted partition)
* :class:`QuarantineRecord` quarantine/resident_snapshot  rejected input records (no My Number)
* :class:`SnapshotWarning`  quarantine/resident_snapshot_warnings  emptied optional values of staged records
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl
import yaml
from pandera.api.polars.types import PolarsData

from contracts.identifiers import my_number_is_valid

LAYOUT_DIR = Path(__file__).resolve().parent / "layouts"
SOURCES: tuple[str, ...] = ("resident_registry", "my_number", "livelihood_assistance", "disability")
#: sources a ward may not send (no file: none of its records); read and checked like the others
OPTIONAL_SOURCES: tuple[str, ...] = ("non_registered_register",)

# ----------------------------------------------------------------------------------------- layouts

FIELD_TYPES = frozenset({"digits", "text", "code", "date"})
CODE_DTYPES = {"Int8": pl.Int8, "String": pl.String, "Boolean": pl.Boolean}
KNOWN_CHECKS = frozenset({"my_number_check_digit", "local_government_code_check_digit"})


@dataclass(frozen=True)
class LayoutField:
    """One column of an input layout (see the comment at the top of each YAML file)."""

    name: str
    label: str  # 項目名 (official Japanese item name)
    type: str
    required: bool
    width: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    allowed: dict[str, str] | None = None
    allowed_by: tuple[str, dict[str, tuple[str, ...]]] | None = None
    dtype: str | None = None
    format: str | None = None
    check: str | None = None
    expected: str | None = None  # operator description of `pattern`
    on_invalid: str = "hold"  # hold (quarantine the record) | warn (empty the value, stage, warn)
    hold_because: str | None = None  # why an optional field holds (contracts.layouts.HOLD_REASONS)

    @property
    def title(self) -> str:
        """``生年月日 (birth_date)``: how messages name a field."""
        return f"{self.label} ({self.name})"


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    source: str
    file_pattern: str
    dialect: dict[str, Any]
    key: tuple[str, ...]
    fields: tuple[LayoutField, ...]
    secret_fields: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> LayoutField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"layout {self.name} has no field {name!r}")

    def expected_file(self, municipality: str, fiscal_year: int) -> str:
        return self.file_pattern.format(municipality=municipality, fiscal_year=fiscal_year)


def _field_from(raw: dict, layout_name: str) -> LayoutField:
    where = f"layout {layout_name}, field {raw.get('name')!r}"
    if raw.get("type") not in FIELD_TYPES:
        raise ValueError(f"{where}: type must be one of {sorted(FIELD_TYPES)}")
    if raw["type"] == "digits" and not isinstance(raw.get("width"), int):
        raise ValueError(f"{where}: a digits field needs an integer width")
    if raw["type"] == "date" and raw.get("format") != "YYYYMMDD":
        raise ValueError(f"{where}: the only date format is YYYYMMDD")
    if raw["type"] == "code":
        if bool(raw.get("allowed")) == bool(raw.get("allowed_by")):
            raise ValueError(f"{where}: a code field needs exactly one of allowed / allowed_by")
        if raw.get("dtype", "String") not in CODE_DTYPES:
            raise ValueError(f"{where}: dtype must be one of {sorted(CODE_DTYPES)}")
    if raw.get("check") is not None and raw["check"] not in KNOWN_CHECKS:
        raise ValueError(f"{where}: check must be one of {sorted(KNOWN_CHECKS)}")
    _check_on_invalid(raw, where)
    allowed_by = None
    if raw.get("allowed_by"):
        spec = raw["allowed_by"]
        allowed_by = (spec["field"], {str(k): tuple(str(v) for v in vs) for k, vs in spec["values"].items()})
    return LayoutField(
        name=raw["name"],
        label=raw["label"],
        type=raw["type"],
        required=bool(raw.get("required", False)),
        width=raw.get("width"),
        max_length=raw.get("max_length"),
        pattern=raw.get("pattern"),
        allowed={str(k): str(v) for k, v in raw["allowed"].items()} if raw.get("allowed") else None,
        allowed_by=allowed_by,
        dtype=raw.get("dtype", "String") if raw["type"] == "code" else None,
        format=raw.get("format"),
        check=raw.get("check"),
        expected=raw.get("expected"),
        on_invalid="hold" if raw.get("required") else raw["on_invalid"],
        hold_because=raw.get("hold_because"),
    )


def _check_on_invalid(raw: dict, where: str) -> None:
    """The same rule as the document layouts (contracts.layouts): a required field always holds; an
    optional one states ``on_invalid`` (``hold`` with a ``hold_because`` of HOLD_REASONS, or ``warn``)."""
    from contracts.layouts import HOLD_REASONS, ON_INVALID

    decision = raw.get("on_invalid")
    if raw.get("required"):
        if decision not in (None, "hold") or "hold_because" in raw:
            raise ValueError(f"{where}: a required field always holds its record (no on_invalid)")
        return
    if decision not in ON_INVALID:
        raise ValueError(f"{where}: an optional field must state on_invalid: one of {', '.join(ON_INVALID)}")
    if (decision == "hold") != ("hold_because" in raw):
        raise ValueError(f"{where}: hold_because is given exactly when on_invalid is hold")
    if decision == "hold" and raw["hold_because"] not in HOLD_REASONS:
        raise ValueError(f"{where}: hold_because must be one of {', '.join(HOLD_REASONS)}")


@functools.cache
def load_layout(name: str) -> Layout:
    """The layout ``contracts/layouts/<name>.yaml``, checked for internal consistency."""
    raw = yaml.safe_load((LAYOUT_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    fields = tuple(_field_from(f, name) for f in raw["fields"])
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ValueError(f"layout {name}: duplicate field names")
    for f in fields:
        if f.allowed_by and f.allowed_by[0] not in names:
            raise ValueError(f"layout {name}, field {f.name}: allowed_by refers to unknown field {f.allowed_by[0]!r}")
    for k in raw.get("key", []):
        if k not in names:
            raise ValueError(f"layout {name}: key column {k!r} is not a field")
    dialect = raw["dialect"]
    if (dialect.get("encoding"), dialect.get("delimiter"), dialect.get("quote"), dialect.get("header")) != (
        "utf-8", ",", '"', True,
    ):
        raise ValueError(f"layout {name}: the registry dialect is UTF-8, comma, double quote, with header")
    return Layout(
        name=raw["layout"],
        title=raw["title"],
        source=raw["source"],
        file_pattern=raw["file_pattern"],
        dialect=dict(dialect),
        key=tuple(raw.get("key", [])),
        fields=fields,
        secret_fields=tuple(raw.get("secret_fields", [])),
    )


# ----------------------------------------------------------------------------------- reason codes

# Stable quarantine reason codes (reports count by these; operators look them up in the docs).
REASON_CODES: dict[str, str] = {
    "undecodable_bytes": "the line is not valid UTF-8",
    "wrong_field_count": "the line does not have the layout's number of fields",
    "broken_quoting": "the line's double quotes do not form valid CSV",
    "control_character": "the line contains a control character (CR, TAB, NUL …)",
    "missing_required": "a required field is empty",
    "bad_format": "a field does not have the layout's form (digits, width, characters, length)",
    "bad_date": "a date field is not a real date written YYYYMMDD",
    "bad_code": "a code field holds a value the layout does not allow",
    "bad_check_digit": "an identifier's check digit is wrong",
    "inconsistent_dates": "dates of one record contradict each other",
    "inconsistent_removal": "消除事由, 消除年月日 and 転出先 contradict each other",
    "inconsistent_nationality": "住民区分 and 国籍 contradict each other",
    "duplicate_atena_no": "the 宛名番号 appears on more than one record of the file: all are held",
    "duplicate_certificate": "the same 宛名番号 and 手帳種別 appear more than once: all are held",
    "my_number_shared": "one 個人番号 is given for two or more 宛名番号: all are held",
    "unknown_atena_no": "the 宛名番号 is not in the registry extract",
    "atena_no_quarantined": "the 宛名番号's registry record is itself in quarantine",
    "atena_no_in_registry": "a 住登外 record carries the 宛名番号 of a 住民記録 person",
    "inconsistent_registration": "a 住登外 record contradicts itself (住民票 in this ward, or living here only after 1 January)",
}

#: ``non_registered``: a 住登外者 (地方税法第294条第3項), from the 住登外者 登録ファイル, not the registry
REGISTRY_STATUSES = ("resident", "moved_out", "deceased", "non_registered")
REMOVAL_REASONS = ("転出", "死亡")
HEAD_STATUSES = ("ok", "missing", "ambiguous")

_ATENA = r"^[0-9]{10}$"
_RUN_ID = r"^[0-9]{8}T[0-9]{6}Z-[a-z][a-z0-9_]*-[0-9a-f]{8}$"


# -------------------------------------------------------------------------------------------- models


class Residents(pa.DataFrameModel):
    """staging/residents: every person of the 1 January registry extract, incl. those removed in Y-1.

    ``resident_on_assessment_date``: registered in the ward on 1 January of the fiscal year
    (賦課期日, 地方税法第39条・第318条); see ``transforms.resident_snapshot`` for the exact rule.
    ``age_on_assessment_date``: age on 1 January (年齢計算ニ関スル法律); null if born after it.
    """

    atena_no: pl.String = pa.Field(unique=True, str_matches=_ATENA)
    household_no: pl.String = pa.Field(str_matches=_ATENA)
    relationship: pl.String = pa.Field(str_length={"min_value": 1})
    name_kanji: pl.String = pa.Field(str_length={"min_value": 1})
    name_kana: pl.String = pa.Field(str_length={"min_value": 1})
    alias_kanji: pl.String = pa.Field(nullable=True)
    alias_kana: pl.String = pa.Field(nullable=True)
    birth_date: pl.Date
    sex: pl.Int8 = pa.Field(isin=[1, 2])
    postal_code: pl.String = pa.Field(str_matches=r"^[0-9]{7}$")
    town_code: pl.String = pa.Field(str_matches=r"^[0-9]{7}$")
    address: pl.String = pa.Field(str_length={"min_value": 1})
    address_detail: pl.String = pa.Field(nullable=True)
    resident_type: pl.Int8 = pa.Field(isin=[1, 2])
    nationality: pl.String = pa.Field(nullable=True)
    became_resident_date: pl.Date
    removal_reason: pl.String = pa.Field(nullable=True, isin=list(REMOVAL_REASONS))
    removal_date: pl.Date = pa.Field(nullable=True)
    destination_municipality_code: pl.String = pa.Field(nullable=True, str_matches=r"^[0-9]{6}$")
    destination_address: pl.String = pa.Field(nullable=True)
    registry_status: pl.String = pa.Field(isin=list(REGISTRY_STATUSES))
    resident_on_assessment_date: pl.Boolean
    age_on_assessment_date: pl.Int16 = pa.Field(nullable=True, ge=0, le=150)

    class Config:
        name = "Residents"
        strict = True  # no column may be added or dropped
        ordered = True
        coerce = False  # dtypes are checked, never converted

    @pa.dataframe_check(name="registry_status matches removal_reason")
    def _status_matches_removal(cls, data: PolarsData) -> pl.LazyFrame:
        status = pl.col("registry_status")
        reason = pl.col("removal_reason")
        return data.lazyframe.select(
            pl.when(reason.is_null()).then(status.is_in(["resident", "non_registered"]))
            .when(reason == "転出").then(status == "moved_out")
            .otherwise(status == "deceased")
        )

    @pa.dataframe_check(name="removal_reason and removal_date both set or both empty")
    def _removal_pair(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("removal_reason").is_null() == pl.col("removal_date").is_null())

    @pa.dataframe_check(name="birth_date <= became_resident_date <= removal_date")
    def _date_order(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("birth_date") <= pl.col("became_resident_date"))
            & (pl.col("removal_date").is_null() | (pl.col("became_resident_date") <= pl.col("removal_date")))
        )

    @pa.dataframe_check(name="a person resident on the assessment date has an age on it")
    def _resident_has_age(cls, data: PolarsData) -> pl.LazyFrame:
        # Registered on 1 January implies born by then, so the age is defined.
        return data.lazyframe.select(
            ~pl.col("resident_on_assessment_date") | pl.col("age_on_assessment_date").is_not_null()
        )


class Households(pa.DataFrameModel):
    """staging/households: one row per 世帯番号 among the staged residents.

    ``head_atena_no`` is the one 世帯主 (続柄) among members resident on 1 January (else among all
    members); ``head_status`` says ``missing`` (no 世帯主) or ``ambiguous`` (more than one) instead.
    """

    household_no: pl.String = pa.Field(unique=True, str_matches=_ATENA)
    head_atena_no: pl.String = pa.Field(nullable=True, str_matches=_ATENA)
    head_status: pl.String = pa.Field(isin=list(HEAD_STATUSES))
    member_count: pl.Int32 = pa.Field(ge=1)
    resident_member_count: pl.Int32 = pa.Field(ge=0)

    class Config:
        name = "Households"
        strict = True  # no column may be added or dropped
        ordered = True
        coerce = False  # dtypes are checked, never converted

    @pa.dataframe_check(name="resident members <= members")
    def _resident_le_members(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("resident_member_count") <= pl.col("member_count"))

    @pa.dataframe_check(name="head_atena_no set exactly when head_status is ok")
    def _head_status(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("head_atena_no").is_not_null() == (pl.col("head_status") == "ok"))


class NonRegisteredResidents(pa.DataFrameModel):
    """staging/non_registered_residents: the 住登外者 the ward taxes as its residents (地方税法第294条第3項),
    one row each, beside their row of staging/residents (``registry_status`` ``non_registered``).

    ``registered_municipality_code``/``registered_address``: where their 住民票 is; the 住登外課税通知 of
    ``notice_export`` goes to that municipality. ``living_since``: 居住開始年月日, on or before 1 January.
    ``confirmed_date``: the day an operator confirmed the person as 住登外.
    """

    atena_no: pl.String = pa.Field(unique=True, str_matches=_ATENA)
    registered_municipality_code: pl.String = pa.Field(str_matches=r"^[0-9]{6}$")
    registered_address: pl.String = pa.Field(str_length={"min_value": 1})
    living_since: pl.Date
    confirmed_date: pl.Date

    class Config:
        name = "NonRegisteredResidents"
        strict = True  # no column may be added or dropped
        ordered = True
        coerce = False  # dtypes are checked, never converted


class WelfareStatus(pa.DataFrameModel):
    """staging/welfare_status: 生活保護法による生活扶助 受給者 (basis of 地方税法第295条第1項第1号 非課税).

    ``assisted_on_assessment_date``: assistance started on or before 1 January of the fiscal year.
    """

    atena_no: pl.String = pa.Field(unique=True, str_matches=_ATENA)
    case_no: pl.String = pa.Field(str_length={"min_value": 1})
    assistance_start_date: pl.Date
    assisted_on_assessment_date: pl.Boolean

    class Config:
        name = "WelfareStatus"
        strict = True  # no column may be added or dropped
        ordered = True
        coerce = False  # dtypes are checked, never converted


class DisabilityStatus(pa.DataFrameModel):
    """staging/disability_status: one row per person holding at least one 障害者 certificate.

    障害者 / 特別障害者 for the resident tax: 地方税法第292条第1項第10号・第11号 and 地方税法施行令
    第7条の15の7, which follow 所得税法施行令第10条. By grade (第10条第2項), a 特別障害者 holds a
    身体障害者手帳 of grade 1 or 2, a 精神障害者保健福祉手帳 of grade 1, or has been judged severely
    intellectually disabled (療育手帳 A). ``special_by_grade`` is that rule; ``special_declared`` is the
    file's flag (which may also cover other grounds, e.g. 寝たきり or a 市町村長 認定);
    ``special_disability`` = either. (Check the wording against e-Gov before citing officially.)
    """

    atena_no: pl.String = pa.Field(unique=True, str_matches=_ATENA)
    physical_grade: pl.Int8 = pa.Field(nullable=True, ge=1, le=6)       # 身体障害者手帳 等級
    mental_grade: pl.Int8 = pa.Field(nullable=True, ge=1, le=3)         # 精神障害者保健福祉手帳 等級
    intellectual_grade: pl.String = pa.Field(nullable=True, isin=["A", "B"])  # 療育手帳 判定
    certificate_count: pl.Int8 = pa.Field(ge=1, le=3)
    special_declared: pl.Boolean
    special_by_grade: pl.Boolean
    special_disability: pl.Boolean

    class Config:
        name = "DisabilityStatus"
        strict = True  # no column may be added or dropped
        ordered = True
        coerce = False  # dtypes are checked, never converted

    @pa.dataframe_check(name="special_by_grade follows 所得税法施行令第10条第2項")
    def _by_grade(cls, data: PolarsData) -> pl.LazyFrame:
        rule = (
            (pl.col("physical_grade") <= 2).fill_null(False)
            | (pl.col("mental_grade") == 1).fill_null(False)
            | (pl.col("intellectual_grade") == "A").fill_null(False)
        )
        return data.lazyframe.select(pl.col("special_by_grade") == rule)

    @pa.dataframe_check(name="special_disability = special_declared or special_by_grade")
    def _special(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("special_disability") == (pl.col("special_declared") | pl.col("special_by_grade"))
        )

    @pa.dataframe_check(name="at least one certificate grade")
    def _some_grade(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.any_horizontal(
                pl.col("physical_grade").is_not_null(),
                pl.col("mental_grade").is_not_null(),
                pl.col("intellectual_grade").is_not_null(),
            )
        )


class VaultEntry(pa.DataFrameModel):
    """vault/my_number: 宛名番号 ↔ 個人番号, the only place a My Number rests (encrypted partition).

    The My Number is a 12-character string (never an integer: leading zeros) with a valid check
    digit (平成26年総務省令第85号 第5条); one number belongs to one 宛名番号 and vice versa.
    """

    atena_no: pl.String = pa.Field(unique=True, str_matches=_ATENA)
    my_number: pl.String = pa.Field(unique=True, str_matches=r"^[0-9]{12}$")

    class Config:
        name = "VaultEntry"
        strict = True  # no column may be added or dropped
        ordered = True
        coerce = False  # dtypes are checked, never converted

    @pa.check("my_number", name="my_number check digit (平成26年総務省令第85号 第5条)")
    def _check_digit(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(my_number_is_valid(pl.col(data.key)))


class QuarantineRecord(pa.DataFrameModel):
    """quarantine/resident_snapshot: one row per rejected input record; never a My Number.

    ``record_no`` is the line number in ``file`` (header = line 1); ``field`` the first failing
    layout column (null for a structural problem of the whole line).
    """

    source: pl.String = pa.Field(isin=list(SOURCES + OPTIONAL_SOURCES))
    file: pl.String = pa.Field(str_length={"min_value": 1})
    record_no: pl.Int64 = pa.Field(ge=2)
    field: pl.String = pa.Field(nullable=True)
    reason_code: pl.String = pa.Field(isin=list(REASON_CODES))
    message: pl.String = pa.Field(str_length={"min_value": 1})
    run_id: pl.String = pa.Field(str_matches=_RUN_ID)

    class Config:
        name = "QuarantineRecord"
        strict = True  # no column may be added or dropped
        ordered = True
        coerce = False  # dtypes are checked, never converted
        unique = ["source", "file", "record_no"]

    @pa.check("message", name="no 12-digit number (My Number) in messages")
    def _no_my_number(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col(data.key).str.contains(r"[0-9０-９]{12}"))


#: Field-level reasons that can be warnings (an optional ``on_invalid: warn`` field; never a line problem).
WARNING_CODES: tuple[str, ...] = ("bad_format", "bad_date", "bad_code", "bad_check_digit")


class SnapshotWarning(pa.DataFrameModel):
    """quarantine/resident_snapshot_warnings: one row per invalid value of an ``on_invalid: warn``
    field of a record that was staged; the value was set to empty. The quarantine's columns; no
    personal data, never the value."""

    source: pl.String = pa.Field(isin=list(SOURCES + OPTIONAL_SOURCES))
    file: pl.String = pa.Field(str_length={"min_value": 1})
    record_no: pl.Int64 = pa.Field(ge=2)
    field: pl.String = pa.Field(str_length={"min_value": 1})
    reason_code: pl.String = pa.Field(isin=list(WARNING_CODES))
    message: pl.String = pa.Field(str_length={"min_value": 1})
    run_id: pl.String = pa.Field(str_matches=_RUN_ID)

    class Config:
        name = "SnapshotWarning"
        strict = True
        ordered = True
        coerce = False
        unique = ["source", "file", "record_no", "field"]

    @pa.check("message", name="no 12-digit number (My Number) in messages")
    def _no_my_number(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col(data.key).str.contains(r"[0-9０-９]{12}"))


STAGED_CONTRACTS: dict[str, type[pa.DataFrameModel]] = {
    "residents": Residents,
    "households": Households,
    "welfare_status": WelfareStatus,
    "disability_status": DisabilityStatus,
}
