"""Pandera contracts of the return-ingest stage (`returns_ingest`): the gates between the parsed,
matched documents and the lake. Validate collected DataFrames (a LazyFrame validation checks only the
schema, STYLE rule 7).

Document datasets carry the parsed fields of their format (layouts in ``contracts/layouts/``), so
their models are not strict about extra columns; what they pin down is the part every later stage
relies on: the record's identity, its version (訂正/取消 history), its match to a 宛名番号 with the
evidence, and its route. No dataset here may hold a My Number (個人番号): it is used to find the
宛名番号 through the vault and then dropped (docs/architecture.md §5).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from contracts.identifiers import local_government_code_is_valid
from contracts.layouts import FORMATS
from contracts.resident_snapshot import _RUN_ID

ROUTES = ("stage", "review", "non_registered", "forward")
DESTINATION_BASES = ("registry", "etax_jan1_code", "address")  # how a 回送 destination was found
DECISIONS = ("auto", "review", "no_candidate", "not_applicable")
#: Where a document version stands in its 訂正/取消 history (提出区分 新規・追加・訂正・取消), as
#: :func:`transforms.corrections.apply_submission_history` assigns it: the current version, one replaced
#: by a 訂正 (superseded), one withdrawn by a 取消 (cancelled), the 取消 record itself (cancellation), or
#: a 訂正/取消 whose original was never staged (orphan_correction).
STATUSES: tuple[str, ...] = ("current", "superseded", "cancelled", "cancellation", "orphan_correction")
#: How a relative (配偶者・扶養親族) named on a document was, or was not, tied to a 宛名番号 by its My
#: Number (宛名付設 of relatives, :func:`transforms.matching.match_relatives_by_my_number`).
RELATIVE_MATCH_RULES: tuple[str, ...] = (
    "my_number_verified",  # rule 1: the vault person's birth date and name agree → resolved
    "my_number_conflict",  # a valid number whose vault person disagrees in birth date or name → NOT resolved
    "my_number_unknown",   # a valid number the vault does not know (e.g. a parent living elsewhere)
    "my_number_invalid",   # not 12 digits with a valid check digit
    "no_my_number",        # no number on the document
)
SOURCES = FORMATS  # the document layouts
_ATENA = r"^[0-9]{10}$"
_MUNICIPALITY = r"^[0-9]{6}$"


def _message_has_no_long_number() -> pl.Expr:
    """True when ``message`` holds no run of 12 digits outside the file name it quotes (a landing file
    name may carry a 12-character 指定番号; the value of a field never appears in a message)."""
    run = r"[0-9０-９]{12}"
    return pl.col("message").str.count_matches(run) <= pl.col("file").str.count_matches(run)


def _no_my_number_columns(frame: pl.DataFrame | pl.LazyFrame) -> bool:
    """True when no text column is named after the My Number (flags such as ``*_missing`` are booleans)."""
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    return not any("my_number" in name and dtype == pl.String for name, dtype in schema.items())


class StagedDocument(pa.DataFrameModel):
    """staging/<documents of one source>: one row per parsed record (all versions kept)."""

    doc_uid: pl.String = pa.Field(unique=True, str_length={"min_value": 3})
    source: pl.String = pa.Field(isin=list(SOURCES))
    file: pl.String = pa.Field(str_length={"min_value": 1})
    record_no: pl.Int64 = pa.Field(ge=1)
    route: pl.String = pa.Field(isin=["stage", "review", "non_registered"])
    match_decision: pl.String = pa.Field(isin=list(DECISIONS))
    match_rule: pl.String = pa.Field(nullable=True)
    match_score: pl.Int16 = pa.Field(nullable=True, ge=0, le=100)
    atena_no: pl.String = pa.Field(nullable=True, str_matches=_ATENA)
    is_current: pl.Boolean = pa.Field()
    history_status: pl.String = pa.Field(isin=list(STATUSES))

    class Config:
        name = "StagedDocument"
        strict = False  # the parsed fields of the format follow
        coerce = False

    @pa.dataframe_check(name="no My Number column")
    def _no_my_number(cls, data: PolarsData) -> bool:
        return _no_my_number_columns(data.lazyframe)

    @pa.dataframe_check(name="auto-matched rows have a 宛名番号, others none")
    def _atena_iff_auto(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("match_decision") == "auto") == pl.col("atena_no").is_not_null())


#: staging/etax_dependants, in column order (the pipeline selects and casts to it).
ETAX_DEPENDANT_COLUMNS: dict[str, pl.DataType] = {
    "doc_uid": pl.String(),            # the 確定申告書 (its staged version) that names the relative
    "dependant_no": pl.Int32(),        # order within the return, from 1
    "relationship": pl.String(),       # spouse (配偶者) | dependant (扶養親族)
    "name_kanji": pl.String(),
    "birth_date": pl.Date(),
    "cohabiting": pl.Boolean(),        # 同居
    "disability": pl.Int8(),           # 障害者区分 0 none, 1 障害者, 2 特別障害者 (as on the return)
    "total_income": pl.Int64(),        # the relative's 合計所得金額 as declared
    "gaiji_flag": pl.Boolean(),
    "relative_atena_no": pl.String(),  # resolved by My Number, else null
    "relative_match_rule": pl.String(),
    "relative_match_evidence": pl.List(pl.String()),
}


class EtaxDependant(pa.DataFrameModel):
    """staging/etax_dependants: the 配偶者・扶養親族 each staged e-Tax 確定申告書 names, one row per
    (doc_uid, dependant_no). ``relative_atena_no`` is set only when the relative's My Number led through
    the vault to a person whose birth date and name agree (``relative_match_rule`` =
    ``my_number_verified``); the My Number itself is not kept."""

    doc_uid: pl.String = pa.Field(str_length={"min_value": 3})
    dependant_no: pl.Int32 = pa.Field(ge=1)
    relationship: pl.String = pa.Field(nullable=True, isin=["spouse", "dependant"])
    name_kanji: pl.String = pa.Field(nullable=True)
    birth_date: pl.Date = pa.Field(nullable=True)
    cohabiting: pl.Boolean = pa.Field(nullable=True)
    disability: pl.Int8 = pa.Field(nullable=True, isin=[0, 1, 2])
    total_income: pl.Int64 = pa.Field(nullable=True)
    gaiji_flag: pl.Boolean = pa.Field()
    relative_atena_no: pl.String = pa.Field(nullable=True, str_matches=_ATENA)
    relative_match_rule: pl.String = pa.Field(isin=list(RELATIVE_MATCH_RULES))
    relative_match_evidence: pl.List(pl.String) = pa.Field()

    class Config:
        name = "EtaxDependant"
        strict = True
        ordered = True
        coerce = False
        unique = ["doc_uid", "dependant_no"]

    @pa.dataframe_check(name="no My Number column")
    def _no_my_number(cls, data: PolarsData) -> pl.LazyFrame:
        # One Boolean per row (not a scalar): pandera cannot stack a scalar failure with the strict
        # column failure an extra my_number column also raises. Strictness covers an empty frame.
        return data.lazyframe.select(pl.lit(_no_my_number_columns(data.lazyframe)).alias("no_my_number"))

    @pa.dataframe_check(name="a 宛名番号 exactly when the My Number was verified")
    def _atena_iff_verified(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("relative_match_rule") == "my_number_verified") == pl.col("relative_atena_no").is_not_null()
        )


#: staging/document_relatives, in column order (the pipeline selects and casts to it).
DOCUMENT_RELATIVE_COLUMNS: dict[str, pl.DataType] = {
    "doc_uid": pl.String(),            # the staged document (給与支払報告書 or 住民税申告書 version) that lists the relative
    "source": pl.String(),             # salary_report | resident_return
    "field": pl.String(),              # the layout field: dependants_5th_plus | young_dependants_5th_plus
    "entry_no": pl.Int32(),            # the entry's position in that field, from 1
    "slot": pl.Int32(),                # the relative's position among the document's 扶養親族 of that list (5, 6, …)
    "under16": pl.Boolean(),           # 16歳未満の扶養親族 list (salary report); null when the list does not say
    "name_kanji": pl.String(),
    "relative_atena_no": pl.String(),  # resolved by My Number (name verified), else null
    "relative_match_rule": pl.String(),
    "relative_match_evidence": pl.List(pl.String()),
}


class DocumentRelative(pa.DataFrameModel):
    """staging/document_relatives: the 5人目以降の扶養親族 a staged 給与支払報告書 (統一CSV cols 132, 133)
    or 住民税申告書 (col 71) lists as '(個人番号)氏名' entries, one row per entry (doc_uid, field,
    entry_no). ``relative_atena_no`` is set only when the entry's My Number led through the vault to a
    person whose name agrees (``my_number_verified``; the entries carry no birth date); the My Number
    itself is not kept, and neither is the field's raw text."""

    doc_uid: pl.String = pa.Field(str_length={"min_value": 3})
    source: pl.String = pa.Field(isin=["salary_report", "resident_return"])
    field: pl.String = pa.Field(isin=["dependants_5th_plus", "young_dependants_5th_plus"])
    entry_no: pl.Int32 = pa.Field(ge=1)
    slot: pl.Int32 = pa.Field(ge=5)
    under16: pl.Boolean = pa.Field(nullable=True)
    name_kanji: pl.String = pa.Field(str_length={"min_value": 1})
    relative_atena_no: pl.String = pa.Field(nullable=True, str_matches=_ATENA)
    relative_match_rule: pl.String = pa.Field(isin=list(RELATIVE_MATCH_RULES))
    relative_match_evidence: pl.List(pl.String) = pa.Field()

    class Config:
        name = "DocumentRelative"
        strict = True
        ordered = True
        coerce = False
        unique = ["doc_uid", "field", "entry_no"]

    @pa.dataframe_check(name="no My Number column")
    def _no_my_number(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.lit(_no_my_number_columns(data.lazyframe)).alias("no_my_number"))

    @pa.dataframe_check(name="a 宛名番号 exactly when the My Number was verified")
    def _atena_iff_verified(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("relative_match_rule") == "my_number_verified") == pl.col("relative_atena_no").is_not_null()
        )


class Forwarding(pa.DataFrameModel):
    """curated/forwarding (回送): documents of people not resident in the ward on 1 January.

    ``destination_basis`` is the evidence of the destination: ``registry`` (転出先 of the matched
    person), ``etax_jan1_code`` (e-Tax 1月1日住所 code) or ``address`` (municipality named by the
    address); null with a null destination (operators decide)."""

    destination_municipality_code: pl.String = pa.Field(nullable=True, str_matches=_MUNICIPALITY)
    destination_basis: pl.String = pa.Field(nullable=True, isin=list(DESTINATION_BASES))
    source: pl.String = pa.Field(isin=list(SOURCES))
    file: pl.String = pa.Field(str_length={"min_value": 1})
    record_no: pl.Int64 = pa.Field(ge=1)
    doc_uid: pl.String = pa.Field(unique=True)
    reason: pl.String = pa.Field(isin=["moved_out_before_assessment_date", "address_outside_ward"])
    atena_no: pl.String = pa.Field(nullable=True, str_matches=_ATENA)
    is_current: pl.Boolean = pa.Field()

    class Config:
        name = "Forwarding"
        strict = True
        ordered = True
        coerce = False

    @pa.check("destination_municipality_code", name="destination 団体コード check digit")
    def _destination_check_digit(cls, data: PolarsData) -> pl.LazyFrame:
        column = pl.col(data.key)
        return data.lazyframe.select(column.is_null() | local_government_code_is_valid(column))

    @pa.dataframe_check(name="destination_basis set exactly when the destination is known")
    def _basis_iff_destination(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("destination_basis").is_null() == pl.col("destination_municipality_code").is_null()
        )


class ReviewQueue(pa.DataFrameModel):
    """staging/review_queue: weak, ambiguous or conflicting matches for operators, with candidates."""

    doc_uid: pl.String = pa.Field()
    source: pl.String = pa.Field(isin=list(SOURCES))
    reason: pl.String = pa.Field(isin=["my_number_conflict", "ambiguous", "below_threshold"])
    candidate_atena_no: pl.String = pa.Field(nullable=True, str_matches=_ATENA)
    candidate_score: pl.Int16 = pa.Field(nullable=True)
    candidate_rank: pl.Int64 = pa.Field(nullable=True, ge=1)

    class Config:
        name = "ReviewQueue"
        strict = False  # candidate_agreed_fields (list) follows
        coerce = False


class IngestQuarantine(pa.DataFrameModel):
    """quarantine/returns_ingest: one row per rejected record (first problem; the others listed)."""

    source: pl.String = pa.Field(isin=list(SOURCES))
    file: pl.String = pa.Field(str_length={"min_value": 1})
    record_no: pl.Int64 = pa.Field(ge=1)
    field: pl.String = pa.Field(nullable=True)
    reason_code: pl.String = pa.Field(str_matches=r"^[a-z][a-z0-9_]*$")
    message: pl.String = pa.Field(str_length={"min_value": 1})
    other_reasons: pl.List(pl.String) = pa.Field()
    run_id: pl.String = pa.Field(str_matches=_RUN_ID)

    class Config:
        name = "IngestQuarantine"
        strict = True
        ordered = True
        coerce = False
        unique = ["source", "file", "record_no"]

    @pa.dataframe_check(name="no 12-digit number (My Number) in messages")
    def _no_my_number(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(_message_has_no_long_number())


class IngestWarning(pa.DataFrameModel):
    """quarantine/returns_ingest_warnings: one row per invalid value of an ``on_invalid: warn`` field
    (contracts/layouts/*.yaml) of a record that was NOT quarantined: the value was set to null and the
    record went on (staged or forwarded). Also a malformed 5人目以降 relative entry (``field`` names the
    layout field and the entry number). The same columns as the quarantine but ``other_reasons``; no
    personal data, no field value (``juminzei quarantine`` lists every ``*_warnings`` dataset as
    warnings)."""

    source: pl.String = pa.Field(isin=list(SOURCES))
    file: pl.String = pa.Field(str_length={"min_value": 1})
    record_no: pl.Int64 = pa.Field(ge=1)
    field: pl.String = pa.Field(str_length={"min_value": 1})
    reason_code: pl.String = pa.Field(str_matches=r"^[a-z][a-z0-9_]*$")
    message: pl.String = pa.Field(str_length={"min_value": 1})
    run_id: pl.String = pa.Field(str_matches=_RUN_ID)

    class Config:
        name = "IngestWarning"
        strict = True
        ordered = True
        coerce = False
        unique = ["source", "file", "record_no", "field"]

    @pa.dataframe_check(name="no 12-digit number (My Number) in messages")
    def _no_my_number(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(_message_has_no_long_number())
