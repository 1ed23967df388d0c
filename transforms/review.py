"""Operators' review decisions (審査・判定): pure helpers shared by the decision store
(:mod:`pipelines.review`) and record_merge, which applies the decisions (:mod:`transforms.record_merge`).

No I/O and no clock: the time of a decision is passed in by the caller (the CLI boundary).
Vocabularies and the dataset's contract: :mod:`contracts.review`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

import polars as pl

from contracts.review import DECISION_COLUMNS, REASON_MAX_CHARS, my_number_in_text

ITEM_ID_PREFIX = {"document": "D", "dependant_claimed_twice": "F", "dependant_income_over_limit": "F",
                  "pension_target": "P"}


def item_id(kind: str, key: str) -> str:
    """The short id of an item (``D`` for a queued document, ``F`` for a merge flag, ``P`` for a pensioner of the
    insurers' 特別徴収対象者情報, then 8 hex digits of
    the sha256 of kind and key): stable across runs, so an operator can type it. Holds no personal data
    beyond what the key holds (a file name and record number, or 宛名番号)."""
    digest = hashlib.sha256(f"{kind}\n{key}".encode("utf-8")).hexdigest()
    return f"{ITEM_ID_PREFIX[kind]}{digest[:8]}"


def flag_item_key(kind: str, person_id: str, related: str) -> str:
    """The item key of a 扶養 flag of ``curated/merge_flags``: the relative for 扶養重複 (one item for all
    the taxpayers who claim them), ``<taxpayer>/<relative>`` for 扶養否認 候補."""
    return related if kind == "dependant_claimed_twice" else f"{person_id}/{related}"


def flag_item_key_expr(kind: pl.Expr, person_id: pl.Expr, related: pl.Expr) -> pl.Expr:
    """:func:`flag_item_key` for whole columns."""
    return (pl.when(kind == "dependant_claimed_twice").then(related)
            .otherwise(pl.concat_str([person_id, pl.lit("/"), related])))


def new_decision_id(now: datetime) -> str:
    """``rd-<UTC yyyymmddThhmmssZ>-<8 hex>``: sortable by time, unique."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return f"rd-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"


def iso_utc(now: datetime) -> str:
    """The decision time as the audit log writes times: UTC, microseconds, ``Z``."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def reason_problem(reason: str | None) -> str | None:
    """Why ``reason`` cannot be stored, as a sentence that does not repeat it; None when it can."""
    if reason is None or not reason.strip():
        return "A decision needs a reason (判定理由): say why, e.g. which document or answer settled it."
    if len(reason) > REASON_MAX_CHARS:
        return (f"The reason has {len(reason)} characters; keep it to {REASON_MAX_CHARS} "
                "(details belong in the case file).")
    if pl.select(my_number_in_text(pl.lit(reason, pl.String))).item():
        return ("The reason holds a 12-digit number with a valid My Number check digit; a My Number may not be "
                "written outside the vault. Name the document or the 宛名番号 instead.")
    return None


def empty_decisions() -> pl.DataFrame:
    """curated/review_decisions with no rows."""
    return pl.DataFrame(schema=DECISION_COLUMNS)


def latest_decisions(decisions: pl.DataFrame | pl.LazyFrame | None) -> pl.DataFrame:
    """The decision that counts for every item: the latest by ``decided_at``, then ``decision_id``."""
    if decisions is None:
        return empty_decisions()
    frame = decisions.lazy().collect() if isinstance(decisions, pl.LazyFrame) else decisions
    if not frame.height:
        return frame
    return (
        frame.sort("decided_at", "decision_id")
        .unique(["item_kind", "item_key"], keep="last", maintain_order=True)
        .sort("item_kind", "item_key")
    )
