"""Contracts of the operators' review decisions (審査・判定) and of how record_merge applied them.

* :class:`ReviewDecision`  curated/review_decisions  one row per decision, append-only (history kept)
* :class:`ReviewOutcome`   curated/review_outcomes   what the latest record_merge run did with the
                                                     latest decision of every item

An *item* is something an operator settles (docs/operator-guide.md "Deciding the review queue and merge
flags"):

==============================  ======================================  ===================================
``item_kind``                   ``item_key``                            decisions (``target``)
==============================  ======================================  ===================================
``document``                    ``doc_uid`` in ``staging/review_queue``  ``person`` (宛名番号), ``none``,
                                (宛名付設 候補)                           ``forward`` (団体コード)
``dependant_claimed_twice``     the relative's 宛名番号 (扶養重複)        ``keep`` (宛名番号 of the taxpayer
                                                                        who keeps the relative), ``deny``,
                                                                        ``pending``
``dependant_income_over_limit`` ``<taxpayer 宛名番号>/<relative 宛名番号>``  ``keep``, ``deny``, ``pending``
                                (扶養否認 候補)
``pension_target``              ``doc_uid`` in                          ``person`` (宛名番号), ``none``
                                ``staging/pension_review_queue``
                                (年金特徴 特別徴収対象者の宛名付設)
==============================  ======================================  ===================================

A ``pension_target`` decision is applied by the next run of ``pension_special_collection``
(docs/pension-exchange.md), not by record_merge.

The latest decision on an item (``decided_at``, then ``decision_id``) is the one that counts; earlier
ones stay in the dataset (``supersedes`` names the decision a row replaced). A decision's ``reason``
is free text but may never hold a My Number: a 12-digit number (or 4-4-4 digits) with a valid check
digit is refused, here and by :func:`transforms.review.reason_problem` before anything is written.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from contracts.identifiers import my_number_is_valid

ITEM_KINDS: tuple[str, ...] = ("document", "dependant_claimed_twice", "dependant_income_over_limit", "pension_target")
#: the decisions an operator may take on each kind of item
DECISIONS_BY_KIND: dict[str, tuple[str, ...]] = {
    "document": ("person", "none", "forward"),               # この人 / 該当者なし / 回送
    "dependant_claimed_twice": ("keep", "deny", "pending"),   # 扶養重複: one taxpayer keeps / nobody / 照会中
    "dependant_income_over_limit": ("keep", "deny", "pending"),  # 扶養否認 候補: 認める / 否認 / 照会中
    "pension_target": ("person", "none"),  # 年金特徴 特別徴収対象者: この人 / 該当者なし
}
DECISIONS: tuple[str, ...] = ("person", "none", "forward", "keep", "deny", "pending")
#: what record_merge did with the latest decision of an item (curated/review_outcomes)
OUTCOMES: tuple[str, ...] = (
    "merged",        # document: merged into the chosen person's basis (lineage carries the decision id)
    "not_matched",   # document: no resident of the ward; not merged (住登外 candidate or 未申告 survey)
    "forwarded",     # document: 回送 to the named municipality; not merged
    "claim_kept",    # 扶養: the claim stays (扶養重複: with the chosen taxpayer only)
    "claim_denied",  # 扶養: the relative is dropped from the claiming taxpayer(s)
    "pending",       # 扶養: the taxpayer is asked; nothing changes yet
    "stale",         # the item is no longer open (e.g. the document left the queue): not applied
)
REASON_MAX_CHARS = 500

_ATENA = r"^[0-9]{10}$"
_DECISION_ID = r"^rd-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$"
_ISO_UTC = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$"

#: curated/review_decisions, in column order
DECISION_COLUMNS: dict[str, pl.DataType] = {
    "decision_id": pl.String(),      # rd-<UTC time>-<8 hex>
    "decided_at": pl.String(),       # UTC, ISO 8601 with microseconds and Z (as the audit log)
    "item_kind": pl.String(),
    "item_key": pl.String(),
    "item_id": pl.String(),          # the short id `juminzei review list` shows (transforms.review.item_id)
    "decision": pl.String(),
    "target": pl.String(),           # 宛名番号 (person, keep of 扶養重複) or 団体コード (forward), else null
    "target_was_candidate": pl.Boolean(),  # person: the target was one of the queue's candidates
    "reason": pl.String(),           # 判定理由 (free text, no My Number)
    "actor": pl.String(),
    "department": pl.String(),
    "host": pl.String(),
    "supersedes": pl.String(),       # decision_id of the item's previous latest decision, else null
    "audit_hash": pl.String(),       # MAC of the audit record written for this decision (pipelines.audit)
}

#: curated/review_outcomes, in column order
OUTCOME_COLUMNS: dict[str, pl.DataType] = {
    "decision_id": pl.String(),
    "item_kind": pl.String(),
    "item_key": pl.String(),
    "decision": pl.String(),
    "target": pl.String(),
    "outcome": pl.String(),
    "person_id": pl.String(),        # the taxpayer whose basis or relatives changed, else null
    "detail": pl.String(),
}


def my_number_in_text(text: pl.Expr) -> pl.Expr:
    """True where the text holds a standalone 12-digit number, written plain or as 4-4-4 digits with
    spaces or hyphens, full-width or not, whose check digit is valid (平成26年総務省令第85号 第5条)."""
    ascii_text = (
        text.str.normalize("NFKC")
        .str.replace_all(r"[‐‑‒–—―−ー]", "-")
        .str.replace_all(r"[^0-9 \-]", " ")  # every other character separates numbers
    )
    found = ascii_text.str.extract_all(r"(?-u:\b)(?:[0-9]{12}|[0-9]{4}[ \-][0-9]{4}[ \-][0-9]{4})(?-u:\b)")
    return (
        found.list.eval(my_number_is_valid(pl.element().str.replace_all(r"[ \-]", "")))
        .list.any().fill_null(False)
    )


class ReviewDecision(pa.DataFrameModel):
    """curated/review_decisions: every decision ever taken, one row each (append-only)."""

    decision_id: pl.String = pa.Field(unique=True, str_matches=_DECISION_ID)
    decided_at: pl.String = pa.Field(str_matches=_ISO_UTC)
    item_kind: pl.String = pa.Field(isin=list(ITEM_KINDS))
    item_key: pl.String = pa.Field(str_length={"min_value": 1})
    item_id: pl.String = pa.Field(str_matches=r"^[DFP][0-9a-f]{8}$")
    decision: pl.String = pa.Field(isin=list(DECISIONS))
    target: pl.String = pa.Field(nullable=True)
    target_was_candidate: pl.Boolean = pa.Field(nullable=True)
    reason: pl.String = pa.Field(str_length={"min_value": 1, "max_value": REASON_MAX_CHARS})
    actor: pl.String = pa.Field(str_length={"min_value": 1})
    department: pl.String = pa.Field(str_length={"min_value": 1})
    host: pl.String = pa.Field(str_length={"min_value": 1})
    supersedes: pl.String = pa.Field(nullable=True, str_matches=_DECISION_ID)
    audit_hash: pl.String = pa.Field(str_matches=r"^[0-9a-f]{64}$")

    class Config:
        name = "ReviewDecision"
        strict = True
        ordered = True
        coerce = False

    @pa.check("reason", name="no My Number (12 digits with a valid check digit) in the reason")
    def _no_my_number(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~my_number_in_text(pl.col(data.key)))

    @pa.check("reason", name="the reason is not blank")
    def _not_blank(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).str.strip_chars().str.len_chars() > 0)

    @pa.dataframe_check(name="the decision is one of its item kind")
    def _decision_fits_kind(cls, data: PolarsData) -> pl.LazyFrame:
        allowed = pl.lit(False)
        for kind, decisions in DECISIONS_BY_KIND.items():
            allowed = allowed | ((pl.col("item_kind") == kind) & pl.col("decision").is_in(list(decisions)))
        return data.lazyframe.select(allowed)

    @pa.dataframe_check(name="target: 宛名番号 for person and 扶養重複 keep, 団体コード for forward, else none")
    def _target_shape(cls, data: PolarsData) -> pl.LazyFrame:
        decision, target = pl.col("decision"), pl.col("target")
        twice = pl.col("item_kind") == "dependant_claimed_twice"
        atena_target = (decision == "person") | ((decision == "keep") & twice)
        return data.lazyframe.select(
            pl.when(atena_target).then(target.str.contains(_ATENA).fill_null(False))
            .when(decision == "forward").then(target.str.contains(r"^[0-9]{6}$").fill_null(False))
            .otherwise(target.is_null())
        )


class ReviewOutcome(pa.DataFrameModel):
    """curated/review_outcomes: the latest decision of every decided item and what the merge did."""

    decision_id: pl.String = pa.Field(unique=True, str_matches=_DECISION_ID)
    item_kind: pl.String = pa.Field(isin=list(ITEM_KINDS))
    item_key: pl.String = pa.Field()
    decision: pl.String = pa.Field(isin=list(DECISIONS))
    target: pl.String = pa.Field(nullable=True)
    outcome: pl.String = pa.Field(isin=list(OUTCOMES))
    person_id: pl.String = pa.Field(nullable=True, str_matches=_ATENA)
    detail: pl.String = pa.Field()

    class Config:
        name = "ReviewOutcome"
        strict = True
        ordered = True
        coerce = False
        unique = ["item_kind", "item_key"]
