"""宛名付設: tie each received document to a 宛名番号, with the evidence, and never guess (docs/architecture.md §5).

Entry points
------------
* :func:`document_identity` — the identity columns of a parsed document format, renamed to the one
  ``documents`` layout :func:`match_documents` reads.
* :func:`match_documents` — ``documents`` × staged ``residents`` × ``vault`` → :class:`MatchResult`.
* :func:`match_relatives_by_my_number` — relatives named on a document (e-Tax 配偶者・扶養親族) ×
  ``residents`` × ``vault`` → their 宛名番号 by rule 1 only, with the evidence.

Rules, in order
---------------
**Rule 1 — My Number, verified.** A number with a valid check digit (平成26年総務省令第85号 第5条) is
looked up in the vault (join m:1). The vault person's 5情報 are then compared with the document's:
if birth date AND name (normalised kana or kanji, 通称 included) agree, the document is matched
automatically (``my_number_verified``). If they do not, the number may be a valid number of ANOTHER
person (a typing slip on the payer's side): the document is never matched automatically; it goes to
the review queue as ``my_number_conflict`` with the number's owner (``my_number`` among its agreed
fields) AND the 4情報 candidates. A number that is missing, invalid or unknown to the vault falls
through to rule 2, and so does a number whose vault person is not among the staged residents (their
registry record was quarantined): nothing can be verified against it.

**Rule 2 — 4情報.** Candidates are the residents born on the document's birth date (join m:n on
``birth_date``; whole columns, no loop over people) that agree in name, address or 町丁目 besides
(a resident who shares only the birth date, or birth date and sex, is not a candidate). Documents
verified by rule 1 are not blocked at all, so the m:n join only sees the few without a usable number.
Points (:data:`POINTS`): name 40 (kana or kanji exact after normalisation, alias included; the
maximum of the two, not the sum), birth date 30, sex 10, address 20 (normalised 住所 equal) or 10
(same 町丁目 only). A document is matched (``four_info``) only when the best score reaches
``auto_threshold`` AND no other candidate is within :data:`AMBIGUITY_MARGIN` points of it
(best − second > 10). Otherwise every candidate goes to the review queue (``ambiguous`` when the best
reached the threshold but is not unique, ``below_threshold`` when it did not). No candidate at all:
``no_candidate`` — the caller decides between 回送 and 住登外.

A document without sex (給与/年金 支払報告書 carry none) can reach 90 = name + birth + address: at the
default threshold it is matched only when the address agrees exactly.

Outputs (:class:`MatchResult`)
------------------------------
``matches``: exactly one row per document — ``doc_uid``, ``atena_no`` (null unless ``auto``),
``decision`` (auto | review | no_candidate), ``rule`` (my_number_verified | four_info |
my_number_conflict | null for no_candidate), ``score`` (Int16, the best candidate's), ``agreed_fields``
(list of :data:`FIELDS`; ``my_number`` when the vault person is the candidate).
``review_queue``: one row per (document, candidate) — ``doc_uid``, ``reason``, ``candidate_atena_no``,
``candidate_score``, ``candidate_agreed_fields``, ``candidate_rank`` (1 = best; ties by 宛名番号).

Nothing here reads the clock, the disk or the environment, and nothing logs a value: the My Number
is used only as a join key and is not in any output.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from contracts.identifiers import my_number_is_valid
from transforms.normalize import normalize_address, normalize_kana, normalize_kanji_name, town_block

__all__ = [
    "POINTS",
    "AMBIGUITY_MARGIN",
    "FIELDS",
    "KEY_RULES",
    "DOCUMENT_SCHEMA",
    "MATCH_SCHEMA",
    "REVIEW_SCHEMA",
    "DOCUMENT_FORMATS",
    "MatchResult",
    "document_identity",
    "match_documents",
    "RELATIVE_MATCH_SCHEMA",
    "match_relatives_by_my_number",
]

POINTS: dict[str, int] = {"name": 40, "birth_date": 30, "sex": 10, "address": 20, "town_block": 10}
AMBIGUITY_MARGIN = 10  # a second candidate within this many points of the best makes it ambiguous
FIELDS: tuple[str, ...] = ("my_number", "name_kana", "name_kanji", "birth_date", "sex", "address", "town_block")


def _basic_pension_no_is_valid(number: pl.Expr) -> pl.Expr:
    """A 基礎年金番号 as the insurers write it: ten digits (no check digit is public), not all zeros."""
    text = number.cast(pl.String)
    return text.str.contains(r"^[0-9]{10}$").fill_null(False) & (text != "0000000000").fill_null(False)


#: rule 1's identifiers: key → (which values are looked up, the rule of a verified match, the rule and review
#: reason of a disagreement). The 基礎年金番号 is tied to a 宛名番号 by the ward's own earlier matches (the
#: 年金特徴 register), as the My Number is by the vault.
KEY_RULES: dict[str, tuple] = {
    "my_number": (my_number_is_valid, "my_number_verified", "my_number_conflict"),
    "basic_pension_no": (_basic_pension_no_is_valid, "basic_pension_no_verified", "basic_pension_no_conflict"),
}

DOCUMENT_SCHEMA: dict[str, pl.DataType] = {
    "doc_uid": pl.String(), "my_number": pl.String(), "name_kana": pl.String(), "name_kanji": pl.String(),
    "birth_date": pl.Date(), "sex": pl.Int8(), "address": pl.String(),
}
MATCH_SCHEMA: dict[str, pl.DataType] = {
    "doc_uid": pl.String(), "atena_no": pl.String(), "decision": pl.String(), "rule": pl.String(),
    "score": pl.Int16(), "agreed_fields": pl.List(pl.String()),
}
REVIEW_SCHEMA: dict[str, pl.DataType] = {
    "doc_uid": pl.String(), "reason": pl.String(), "candidate_atena_no": pl.String(),
    "candidate_score": pl.Int16(), "candidate_agreed_fields": pl.List(pl.String()), "candidate_rank": pl.Int32(),
}


@dataclass(frozen=True)
class MatchResult:
    matches: pl.DataFrame
    review_queue: pl.DataFrame


# ------------------------------------------------------------------------------ document identity
def _text(column: str) -> pl.Expr:
    """A parsed text field; empty or blank → null."""
    c = pl.col(column)
    return pl.when(c.str.strip_chars(" \u3000") != "").then(c).otherwise(pl.lit(None, pl.String))


# format → (my_number, name_kana, name_kanji, birth_date, sex or None, address candidates in order)
DOCUMENT_FORMATS: dict[str, tuple[str, str, str, str, str | None, tuple[str, ...]]] = {
    "salary_report": ("recipient_my_number", "recipient_kana", "recipient_name", "birth_on", None, ("recipient_address",)),
    "pension_report": ("recipient_my_number", "recipient_kana", "recipient_name", "birth_on", None, ("recipient_address",)),
    # 住民税申告書: the 1 January address when given (it decides the taxing ward), else the current one
    "resident_return": ("my_number", "name_kana", "name", "birth_on", "sex", ("jan1_address", "address")),
    "furusato_notice": ("my_number", "name_kana", "name", "birth_on", "sex", ("address",)),
    "etax_return": ("my_number", "name_kana", "name_kanji", "birth_date", "sex", ("jan1_address", "address")),
}


def document_identity(fmt: str, parsed_records: pl.DataFrame) -> pl.DataFrame:
    """The identity columns of parsed records of format ``fmt``, as :func:`match_documents` reads them.

    ``parsed_records`` is ``ParsedCsv.records`` (transforms.parse_csv) or ``ParsedEtax.returns``
    (transforms.parse_etax). ``doc_uid`` is ``<file>#<record_no>``; ``source``, ``file`` and
    ``record_no`` are kept for the caller. 総括表 (salary_summary) names no person: not accepted.
    """
    if fmt not in DOCUMENT_FORMATS:
        raise ValueError(
            f"document_identity: format {fmt!r} carries no taxpayer identity; expected one of {sorted(DOCUMENT_FORMATS)}"
        )
    my_number, kana, kanji, birth, sex, addresses = DOCUMENT_FORMATS[fmt]
    return parsed_records.select(
        pl.concat_str([pl.col("file"), pl.lit("#"), pl.col("record_no").cast(pl.String)]).alias("doc_uid"),
        pl.lit(fmt).alias("source"),
        pl.col("file"),
        pl.col("record_no").cast(pl.Int64),
        _text(my_number).alias("my_number"),
        _text(kana).alias("name_kana"),
        _text(kanji).alias("name_kanji"),
        pl.col(birth).cast(pl.Date).alias("birth_date"),
        (pl.col(sex).cast(pl.Int8, strict=False) if sex else pl.lit(None, pl.Int8)).alias("sex"),
        pl.coalesce([_text(a) for a in addresses]).alias("address"),
    )


# ------------------------------------------------------------------------------------- scoring
def _documents_keys(documents: pl.DataFrame) -> pl.DataFrame:
    return documents.select(
        "doc_uid",
        pl.col("my_number").cast(pl.String),
        normalize_kana(pl.col("name_kana")).alias("d_kana"),
        normalize_kanji_name(pl.col("name_kanji")).alias("d_kanji"),
        pl.col("birth_date").cast(pl.Date),
        pl.col("sex").cast(pl.Int8).alias("d_sex"),
        normalize_address(pl.col("address")).alias("d_address"),
    ).with_columns(town_block(pl.col("d_address")).alias("d_town"))


def _residents_keys(residents: pl.DataFrame) -> pl.DataFrame:
    return residents.select(
        "atena_no",
        normalize_kana(pl.col("name_kana")).alias("r_kana"),
        normalize_kana(pl.col("alias_kana")).alias("r_alias_kana"),
        normalize_kanji_name(pl.col("name_kanji")).alias("r_kanji"),
        normalize_kanji_name(pl.col("alias_kanji")).alias("r_alias_kanji"),
        pl.col("birth_date").cast(pl.Date).alias("r_birth_date"),
        pl.col("sex").cast(pl.Int8).alias("r_sex"),
        normalize_address(pl.col("address")).alias("r_address"),
    ).with_columns(town_block(pl.col("r_address")).alias("r_town"))


def _scored(pairs: pl.DataFrame) -> pl.DataFrame:
    """Agreement flags, score (Int16) and agreed_fields of (document, resident) pairs."""
    kana = ((pl.col("d_kana") == pl.col("r_kana")) | (pl.col("d_kana") == pl.col("r_alias_kana"))).fill_null(False)
    kanji = ((pl.col("d_kanji") == pl.col("r_kanji")) | (pl.col("d_kanji") == pl.col("r_alias_kanji"))).fill_null(False)
    birth = (pl.col("birth_date") == pl.col("r_birth_date")).fill_null(False)
    sex = (pl.col("d_sex") == pl.col("r_sex")).fill_null(False)
    address = (pl.col("d_address") == pl.col("r_address")).fill_null(False)
    town = (~address & (pl.col("d_town") == pl.col("r_town"))).fill_null(False)
    flags = pairs.with_columns(
        kana.alias("_kana"), kanji.alias("_kanji"), birth.alias("_birth"), sex.alias("_sex"),
        address.alias("_address"), town.alias("_town"),
    )
    score = (
        pl.when(pl.col("_kana") | pl.col("_kanji")).then(POINTS["name"]).otherwise(0)
        + pl.when(pl.col("_birth")).then(POINTS["birth_date"]).otherwise(0)
        + pl.when(pl.col("_sex")).then(POINTS["sex"]).otherwise(0)
        + pl.when(pl.col("_address")).then(POINTS["address"]).otherwise(0)
        + pl.when(pl.col("_town")).then(POINTS["town_block"]).otherwise(0)
    )
    agreed = pl.concat_list(
        [pl.when(pl.col(flag)).then(pl.lit(name)).otherwise(pl.lit(None, pl.String))
         for flag, name in (("_kana", "name_kana"), ("_kanji", "name_kanji"), ("_birth", "birth_date"),
                            ("_sex", "sex"), ("_address", "address"), ("_town", "town_block"))]
    ).list.drop_nulls()
    return flags.with_columns(
        score.cast(pl.Int16).alias("score"),
        agreed.alias("agreed_fields"),
        (pl.col("_kana") | pl.col("_kanji")).alias("_name"),
    )


def _ranked(candidates: pl.DataFrame) -> pl.DataFrame:
    """candidate_rank per document: score descending, then 宛名番号 (deterministic)."""
    return candidates.sort(["doc_uid", "score", "atena_no"], descending=[False, True, False]).with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("doc_uid").alias("candidate_rank")
    )


# ------------------------------------------------------------------------------------ matching
def match_documents(
    documents: pl.DataFrame,
    residents: pl.DataFrame,
    vault: pl.DataFrame,
    *,
    auto_threshold: int = 90,
    name_suffices_without_birth_date: bool = False,
    key: str = "my_number",
) -> MatchResult:
    """Tie each document to a 宛名番号 or send it to review (see the module docstring).

    ``name_suffices_without_birth_date``: rule 1 verifies a document that carries no birth date on the
    name alone (for relatives listed by number and name only, :func:`match_relatives_by_my_number`);
    never for taxpayers, whose documents always carry one.

    ``key``: the identifier of rule 1 (:data:`KEY_RULES`). ``my_number`` (the default): ``documents`` and
    ``vault`` carry ``my_number``. ``basic_pension_no`` (年金特徴 特別徴収対象者, :mod:`transforms.pension_collection`):
    ``documents`` carry ``basic_pension_no`` instead of ``my_number`` and ``vault`` is the ward's register of
    earlier years (``atena_no``, ``basic_pension_no``); the rule is the same — the register's person is
    verified by birth date and name, a disagreement is a ``basic_pension_no_conflict`` for review."""
    if key not in KEY_RULES:
        raise ValueError(f"match_documents: key must be one of {sorted(KEY_RULES)}, got {key!r}")
    is_valid, verified_rule, conflict_rule = KEY_RULES[key]
    if key != "my_number":
        documents = documents.rename({key: "my_number"})
        vault = vault.rename({key: "my_number"})
    missing = [c for c in DOCUMENT_SCHEMA if c not in documents.columns]
    if missing:
        raise ValueError(f"match_documents: the documents frame lacks the columns {missing}")
    if documents.get_column("doc_uid").null_count() or documents.get_column("doc_uid").is_duplicated().any():
        raise ValueError("match_documents: doc_uid must be set and unique (one row per received document)")

    docs = _documents_keys(documents)
    people = _residents_keys(residents)

    # Rule 1: valid My Number → vault (m:1: a number has one owner) → owner's record (m:1).
    owners = (
        docs.filter(is_valid(pl.col("my_number")))
        .join(vault.select("atena_no", pl.col("my_number").cast(pl.String)).filter(pl.col("my_number").is_not_null()),
              on="my_number", how="inner", validate="m:1")
        .join(people, on="atena_no", how="inner", validate="m:1")
        .drop("my_number")
    )
    owners = _scored(owners).with_columns(
        pl.concat_list([pl.lit([key]), pl.col("agreed_fields")]).alias("agreed_fields"),
        ((pl.col("_birth") | (pl.lit(name_suffices_without_birth_date) & pl.col("birth_date").is_null()))
         & pl.col("_name")).alias("_verified"),
    )
    verified = owners.filter("_verified").select(
        "doc_uid", "atena_no", pl.lit("auto").alias("decision"), pl.lit(verified_rule).alias("rule"),
        "score", "agreed_fields",
    )
    conflicts = owners.filter(~pl.col("_verified"))

    # Rule 2: 4情報 candidates of every document not verified (conflicts too: the operator sees both).
    rest = docs.join(verified.select("doc_uid"), on="doc_uid", how="anti")
    pairs = rest.drop("my_number").join(
        people.with_columns(pl.col("r_birth_date").alias("birth_date")),
        on="birth_date", how="inner", validate="m:m",  # blocking: nulls never join
    )
    candidates = _scored(pairs).filter(pl.col("_name") | pl.col("_address") | pl.col("_town"))
    candidates = candidates.join(conflicts.select("doc_uid", "atena_no"), on=["doc_uid", "atena_no"], how="anti")
    cand_cols = ["doc_uid", "atena_no", "score", "agreed_fields"]
    four_info = _ranked(candidates.join(conflicts.select("doc_uid"), on="doc_uid", how="anti").select(cand_cols))

    best = four_info.filter(pl.col("candidate_rank") == 1).join(
        four_info.filter(pl.col("candidate_rank") == 2).select("doc_uid", pl.col("score").alias("_second")),
        on="doc_uid", how="left", validate="1:1",
    )
    reached = pl.col("score") >= auto_threshold
    unique = pl.col("_second").is_null() | ((pl.col("score") - pl.col("_second")) > AMBIGUITY_MARGIN)
    best = best.with_columns(
        pl.when(reached & unique).then(pl.lit("auto")).otherwise(pl.lit("review")).alias("decision"),
        pl.lit("four_info").alias("rule"),
        pl.when(reached & unique).then(pl.lit(None, pl.String))
        .when(reached).then(pl.lit("ambiguous")).otherwise(pl.lit("below_threshold")).alias("_reason"),
    )
    four_info_matches = best.select(
        "doc_uid",
        pl.when(pl.col("decision") == "auto").then(pl.col("atena_no")).otherwise(pl.lit(None, pl.String)).alias("atena_no"),
        "decision", "rule", "score", "agreed_fields",
    )
    conflict_matches = conflicts.select(
        "doc_uid", pl.lit(None, pl.String).alias("atena_no"), pl.lit("review").alias("decision"),
        pl.lit(conflict_rule).alias("rule"), "score", "agreed_fields",
    )

    decided = pl.concat(
        [f.select(list(MATCH_SCHEMA)).cast(MATCH_SCHEMA) for f in (verified, conflict_matches, four_info_matches)],
        how="vertical",
    )
    matches = (
        documents.select("doc_uid")
        .join(decided, on="doc_uid", how="left", validate="1:1")
        .with_columns(
            pl.col("decision").fill_null("no_candidate"),
            pl.col("agreed_fields").fill_null(pl.lit([], pl.List(pl.String))),
        )
        .select(list(MATCH_SCHEMA))
        .cast(MATCH_SCHEMA)
        .sort("doc_uid")
    )
    assert matches.height == documents.height and matches.get_column("doc_uid").n_unique() == matches.height, (
        "match_documents: not exactly one decision per document"
    )

    # Review queue: every candidate of every document not matched automatically.
    conflict_candidates = _ranked(
        pl.concat(
            [conflicts.select(cand_cols),
             candidates.join(conflicts.select("doc_uid"), on="doc_uid", how="semi").select(cand_cols)],
            how="vertical",
        )
    ).with_columns(pl.lit(conflict_rule).alias("reason"))
    weak = four_info.join(
        best.filter(pl.col("decision") == "review").select("doc_uid", pl.col("_reason").alias("reason")),
        on="doc_uid", how="inner", validate="m:1",
    )
    review_queue = (
        pl.concat([conflict_candidates.select(weak.columns), weak], how="vertical")
        .select(
            "doc_uid", "reason", pl.col("atena_no").alias("candidate_atena_no"), pl.col("score").alias("candidate_score"),
            pl.col("agreed_fields").alias("candidate_agreed_fields"), "candidate_rank",
        )
        .cast(REVIEW_SCHEMA)
        .sort("doc_uid", "candidate_rank")
    )
    return MatchResult(matches=matches, review_queue=review_queue)


# ------------------------------------------------------------------------- relatives (rule 1 only)
# The rules a relative's match can end in are :data:`contracts.returns_ingest.RELATIVE_MATCH_RULES`
# (the contract of staging/document_relatives and staging/etax_dependants validates them).
RELATIVE_MATCH_SCHEMA: dict[str, pl.DataType] = {
    "relative_key": pl.String(), "relative_atena_no": pl.String(), "relative_match_rule": pl.String(),
    "relative_match_evidence": pl.List(pl.String()),
}


def match_relatives_by_my_number(relatives: pl.DataFrame, residents: pl.DataFrame, vault: pl.DataFrame, *,
                                 birth_date_required: bool = True) -> pl.DataFrame:
    """宛名付設 of relatives (配偶者・扶養親族) a document names, by their My Number only.

    ``relatives`` has ``relative_key`` (unique), ``my_number``, ``name_kanji``, ``name_kana`` and
    ``birth_date``. Rule 1 of :func:`match_documents` is applied as it is to taxpayers (the same code
    path, not a copy): a number with a valid check digit is looked up in the vault, and the relative is
    resolved only when the vault person's birth date AND name agree (``my_number_verified``). A valid
    number of someone whose birth date or name disagrees is ``my_number_conflict`` and stays
    unresolved, never a guess. Relatives carry no address or sex, so 4情報 (rule 2) could never reach
    the automatic threshold: it is not used here (``my_number_unknown`` leaves the relative to the
    document's own data). Returns one row per relative with the columns of
    :data:`RELATIVE_MATCH_SCHEMA` (``relative_match_evidence``: the fields that agreed with the vault
    person, ``my_number`` first; empty without a vault person). The My Number is not in the output.
    """
    missing = [c for c in ("relative_key", "my_number", "name_kanji", "name_kana", "birth_date") if c not in relatives.columns]
    if missing:
        raise ValueError(f"match_relatives_by_my_number: the relatives frame lacks the columns {missing}")
    keys = relatives.get_column("relative_key")
    if keys.null_count() or keys.is_duplicated().any():
        raise ValueError("match_relatives_by_my_number: relative_key must be set and unique (one row per relative)")
    number = _text("my_number")
    valid = my_number_is_valid(pl.col("my_number")).fill_null(False)
    frame = relatives.with_columns(number.alias("my_number"))
    documents = frame.filter(valid).select(
        pl.col("relative_key").alias("doc_uid"), pl.col("my_number").cast(pl.String),
        pl.col("name_kana").cast(pl.String), pl.col("name_kanji").cast(pl.String), pl.col("birth_date").cast(pl.Date),
        pl.lit(None, pl.Int8).alias("sex"), pl.lit(None, pl.String).alias("address"),
    )
    # Only rule 1's outcomes are kept; whatever rule 2 said about the rest is ignored (see above).
    decided = match_documents(documents, residents, vault,
                              name_suffices_without_birth_date=not birth_date_required).matches.filter(
        pl.col("rule").is_in(["my_number_verified", "my_number_conflict"])
    ).select(
        pl.col("doc_uid").alias("relative_key"),
        pl.col("atena_no").alias("_atena_no"),
        pl.col("rule").alias("_rule"),
        pl.col("agreed_fields").alias("_evidence"),
    )
    out = frame.select("relative_key", number.is_null().alias("_absent"), valid.alias("_valid")).join(
        decided, on="relative_key", how="left", validate="1:1", maintain_order="left"
    )
    rule = (
        pl.when(pl.col("_absent")).then(pl.lit("no_my_number"))
        .when(~pl.col("_valid")).then(pl.lit("my_number_invalid"))
        .when(pl.col("_rule").is_not_null()).then(pl.col("_rule"))
        .otherwise(pl.lit("my_number_unknown"))
    )
    return out.select(
        "relative_key",
        pl.when(pl.col("_rule") == "my_number_verified").then(pl.col("_atena_no"))
        .otherwise(pl.lit(None, pl.String)).alias("relative_atena_no"),
        rule.alias("relative_match_rule"),
        pl.col("_evidence").fill_null(pl.lit([], pl.List(pl.String))).alias("relative_match_evidence"),
    ).cast(RELATIVE_MATCH_SCHEMA)
