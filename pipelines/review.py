"""The review desk (審査): the items operators settle and the append-only store of their decisions.

Items (``contracts.review``): the 宛名付設 candidates of ``staging/review_queue`` (one item per queued
document) and the 扶養 flags of ``curated/merge_flags`` (扶養重複: one item per relative claimed by
several taxpayers; 扶養否認 候補: one item per taxpayer and dependant). ``juminzei review list|show``
reads them; ``juminzei review decide`` records a decision; the next ``record_merge`` run applies it.

The store: ``curated/review_decisions/<M,N>`` holds every decision ever taken, one row each. A
decision is appended by rewriting the partition with the earlier rows unchanged and the new row
added, through :func:`pipelines.lake.write_partition` (atomic swap, manifest with sha256), under an
exclusive lock so that two operators deciding at once cannot lose a row. A later decision on the same
item supersedes the earlier one (``supersedes``); nothing is ever removed. Each decision is first
written to the audit log (operation ``review_decision``, with the 宛名番号 concerned, the decision id
and a digest of the reason); the row keeps that audit record's MAC (``audit_hash``).

Why one partition and not one file per decision: readers (record_merge, the CLI, auditors) get one
manifest-checked, sorted, contract-validated table per municipality and year, like every other lake
dataset; decisions are few (hundreds a year), so rewriting the partition costs nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from contracts.errors import JuminzeiError
from pipelines.config import Settings, check_fiscal_year, check_municipality

DATASET = "review_decisions"
OUTCOMES_DATASET = "review_outcomes"
ZONE = "curated"
AUDIT_OPERATION = "review_decision"
AUDIT_REASON = "宛名付設・扶養の審査判定の記録 (juminzei review decide)"
VIEW_REASON = "審査対象の確認 (juminzei review)"
FLAG_KINDS = ("dependant_claimed_twice", "dependant_income_over_limit")
ITEM_ORDER = ("document", *FLAG_KINDS, "pension_target")
_ATENA = re.compile(r"^[0-9]{10}$")
_CODE = re.compile(r"^[0-9]{6}$")


class ReviewError(JuminzeiError):
    """A decision cannot be recorded as asked (unknown item, wrong decision or target, bad reason)."""


@dataclass(frozen=True)
class ReviewDesk:
    """What can be decided for one municipality and fiscal year, with the decisions taken so far.

    ``items``: one row per item — ``item_id``, ``item_kind``, ``item_key``, ``what`` (source or flag),
    ``reason`` (queue reason or flag detail), ``persons`` (candidates, or claimants then the relative),
    ``candidates`` (documents: list of rank, 宛名番号, score, agreed fields), and the latest decision
    (``decision``, ``target``, ``decision_id``, ``decided_at``, ``actor``; null while undecided) with the
    ``outcome`` the latest record_merge run gave it (null when decided after that run).
    ``decisions``: the whole history. ``notes``: sentences on what could not be read.
    """

    municipality: str
    fiscal_year: int
    items: pl.DataFrame
    decisions: pl.DataFrame
    notes: tuple[str, ...]


# ------------------------------------------------------------------------------------------ reading
def read_decisions(settings: Settings, municipality: str, fiscal_year: int) -> pl.DataFrame:
    """Every decision of the partition (no rows when none was taken yet)."""
    from pipelines.lake import partition_exists, read_partition
    from transforms.review import empty_decisions

    if not partition_exists(settings.lake, ZONE, DATASET, municipality, fiscal_year):
        return empty_decisions()
    return read_partition(settings.lake, ZONE, DATASET, municipality, fiscal_year)


def load_desk(settings: Settings, municipality: str, fiscal_year: int) -> ReviewDesk:
    """The items of the review queue and the 扶養 flags, with their latest decision."""
    from pipelines.lake import partition_exists, read_partition
    from transforms.review import item_id, latest_decisions

    check_municipality(municipality)
    check_fiscal_year(fiscal_year)
    notes: list[str] = []
    frames: list[pl.DataFrame] = []
    if partition_exists(settings.lake, "staging", "review_queue", municipality, fiscal_year):
        queue = read_partition(settings.lake, "staging", "review_queue", municipality, fiscal_year)
        frames.append(_document_items(queue))
    else:
        notes.append(f"staging/review_queue for {municipality}/{fiscal_year} does not exist: run returns_ingest first.")
    if partition_exists(settings.lake, "curated", "merge_flags", municipality, fiscal_year):
        flags = read_partition(settings.lake, "curated", "merge_flags", municipality, fiscal_year)
        frames.append(_flag_items(flags))
    else:
        notes.append(f"curated/merge_flags for {municipality}/{fiscal_year} does not exist: run record_merge to see "
                     "the 扶養 flags.")
    if partition_exists(settings.lake, "staging", "pension_review_queue", municipality, fiscal_year):
        pension = read_partition(settings.lake, "staging", "pension_review_queue", municipality, fiscal_year)
        frames.append(_document_items(pension.with_columns(pl.lit("pension_target").alias("source")),
                                      kind="pension_target"))
    items = pl.concat(frames, how="vertical") if frames else _empty_items()
    # Item ids: one hash per item (operators' items, a few hundred; not a loop over people).
    items = items.with_columns(
        pl.struct("item_kind", "item_key").map_elements(lambda r: item_id(r["item_kind"], r["item_key"]),
                                                        return_dtype=pl.String).alias("item_id"))
    decisions = read_decisions(settings, municipality, fiscal_year)
    latest = latest_decisions(decisions).select(
        "item_kind", "item_key", "decision", "target", "decision_id", "decided_at", "actor")
    # What the latest record_merge run did with each decision (null: decided after that run).
    if partition_exists(settings.lake, ZONE, OUTCOMES_DATASET, municipality, fiscal_year):
        outcomes = read_partition(settings.lake, ZONE, OUTCOMES_DATASET, municipality, fiscal_year,
                                  columns=["decision_id", "outcome"])
    else:
        outcomes = pl.DataFrame(schema={"decision_id": pl.String, "outcome": pl.String})
    latest = latest.join(outcomes, on="decision_id", how="left", validate="1:1")
    items = (items.join(latest, on=["item_kind", "item_key"], how="left", validate="1:1")
             .select("item_id", *[c for c in items.columns if c != "item_id"], "decision", "target", "decision_id",
                     "decided_at", "actor", "outcome")
             .sort(pl.col("item_kind").replace_strict({k: i for i, k in enumerate(ITEM_ORDER)}, return_dtype=pl.Int8),
                   "item_key"))
    return ReviewDesk(municipality, fiscal_year, items, decisions, tuple(notes))


_CANDIDATE = pl.Struct({"rank": pl.Int64, "atena_no": pl.String, "score": pl.Int16, "agreed": pl.List(pl.String)})
_ITEM_SCHEMA = {
    "item_kind": pl.String, "item_key": pl.String, "what": pl.String, "reason": pl.String,
    "persons": pl.List(pl.String), "candidates": pl.List(_CANDIDATE),
}


def _empty_items() -> pl.DataFrame:
    return pl.DataFrame(schema=_ITEM_SCHEMA)


def _document_items(queue: pl.DataFrame, kind: str = "document") -> pl.DataFrame:
    ordered = queue.sort("doc_uid", "candidate_rank", nulls_last=True)
    return ordered.group_by("doc_uid", maintain_order=True).agg(
        pl.col("source").first().alias("what"),
        pl.col("reason").first().alias("reason"),
        pl.col("candidate_atena_no").drop_nulls().alias("persons"),
        pl.struct(pl.col("candidate_rank").alias("rank"), pl.col("candidate_atena_no").alias("atena_no"),
                  pl.col("candidate_score").alias("score"), pl.col("candidate_agreed_fields").alias("agreed"))
        .filter(pl.col("candidate_atena_no").is_not_null()).alias("candidates"),
    ).select(pl.lit(kind).alias("item_kind"), pl.col("doc_uid").alias("item_key"), "what", "reason",
             "persons", "candidates").cast(_ITEM_SCHEMA)


def _flag_items(flags: pl.DataFrame) -> pl.DataFrame:
    from transforms.review import flag_item_key_expr

    raised = flags.filter(pl.col("flag").is_in(FLAG_KINDS) & pl.col("related").is_not_null()).with_columns(
        flag_item_key_expr(pl.col("flag"), pl.col("person_id"), pl.col("related")).alias("item_key"))
    return (
        raised.sort("flag", "item_key", "person_id")
        .group_by("flag", "item_key", maintain_order=True)
        .agg(pl.col("detail").first().alias("reason"),
             pl.col("person_id").unique(maintain_order=True).alias("_claimants"),
             pl.col("related").first().alias("_related"))
        .select(pl.col("flag").alias("item_kind"), "item_key", pl.col("flag").alias("what"), "reason",
                pl.concat_list("_claimants", "_related").alias("persons"),  # the taxpayers, then the relative
                pl.lit(None, pl.List(_CANDIDATE)).alias("candidates"))
        .cast(_ITEM_SCHEMA)
    )


def find_item(desk: ReviewDesk, item: str) -> dict:
    """The item named by its short id (``D…``/``F…``) or its full key; a :class:`ReviewError` otherwise."""
    items = desk.items
    found = items.filter(pl.col("item_id") == item)
    if not found.height:
        found = items.filter(pl.col("item_key") == item)
    if found.height == 1:
        return found.row(0, named=True)
    where = f"{desk.municipality}/{desk.fiscal_year}"
    if found.height > 1:
        ids = ", ".join(found.get_column("item_id").to_list())
        raise ReviewError(f"Item {item!r} names several items of {where} ({ids}); give the id instead.")
    raise ReviewError(
        f"Item {item!r} is not open for review in {where}: not in staging/review_queue, among the 扶養 flags "
        "of curated/merge_flags nor in staging/pension_review_queue. List the items with `juminzei review list`."
    )


def items_named(desk: ReviewDesk, item: dict) -> pl.DataFrame:
    """The row of ``item`` in ``desk.items`` (as a frame)."""
    return desk.items.filter(pl.col("item_id") == item["item_id"])


def item_history(desk: ReviewDesk, item: dict) -> pl.DataFrame:
    """Every decision taken on ``item``, oldest first."""
    return desk.decisions.filter(
        (pl.col("item_kind") == item["item_kind"]) & (pl.col("item_key") == item["item_key"])
    ).sort("decided_at", "decision_id")


def audit_view(settings: Settings, desk: ReviewDesk, items: pl.DataFrame, *, command: str) -> None:
    """Write the audit record of showing ``items`` (their 宛名番号 are personal data)."""
    from pipelines.audit import append_audit

    persons = items.select(pl.col("persons").explode().drop_nulls().unique()).to_series() if items.height else []
    append_audit(
        settings.lake, operation="review_items_viewed", reason=VIEW_REASON, run_id=None,
        dataset="staging/review_queue, curated/merge_flags", atena_nos=persons, actor=settings.actor,
        department=settings.department, host=settings.host, settings=settings,
        details={"command": command, "municipality": desk.municipality, "fiscal_year": desk.fiscal_year,
                 "items": items.height},
    )


# ----------------------------------------------------------------------------------------- deciding
def decide(
    settings: Settings,
    *,
    municipality: str,
    fiscal_year: int,
    item: str,
    decision: str,
    target: str | None,
    reason: str,
    now: datetime,
    allow_non_candidate: bool = False,
) -> dict:
    """Check and append one decision; return its row (as stored). Nothing is written if a check fails.

    ``now`` is the decision time (read by the caller at the boundary)."""
    from contracts.review import DECISION_COLUMNS, DECISIONS_BY_KIND, ReviewDecision
    from pipelines.audit import append_audit
    from pipelines.lake import write_partition
    from pipelines.stage import validate
    from transforms.review import iso_utc, latest_decisions, new_decision_id, reason_problem

    problem = reason_problem(reason)
    if problem:
        raise ReviewError(problem)
    reason = reason.strip()
    desk = load_desk(settings, municipality, fiscal_year)
    found = find_item(desk, item)
    kind = found["item_kind"]
    allowed = DECISIONS_BY_KIND[kind]
    if decision not in allowed:
        raise ReviewError(f"Item {found['item_id']} ({_KIND_WORDS[kind]}) takes one of: {', '.join(allowed)}; "
                          f"got {decision!r}.")
    target, was_candidate = _checked_target(settings, municipality, fiscal_year, found, decision, target,
                                            allow_non_candidate)
    concerned = sorted(set(found["persons"] or []) | ({target} if target and _ATENA.match(target) else set()))

    with _decision_lock(settings, municipality, fiscal_year):
        decisions = read_decisions(settings, municipality, fiscal_year)
        previous = latest_decisions(decisions).filter(
            (pl.col("item_kind") == kind) & (pl.col("item_key") == found["item_key"]))
        decided_at = iso_utc(now)
        if previous.height and previous.get_column("decided_at").item() >= decided_at:
            raise ReviewError(
                f"Item {found['item_id']} was last decided at {previous.get_column('decided_at').item()}, not before "
                f"this decision's time {decided_at}: check the machine's clock; nothing was recorded.")
        decision_id = new_decision_id(now)
        row = {
            "decision_id": decision_id, "decided_at": decided_at, "item_kind": kind, "item_key": found["item_key"],
            "item_id": found["item_id"], "decision": decision, "target": target,
            "target_was_candidate": was_candidate, "reason": reason, "actor": settings.actor,
            "department": settings.department, "host": settings.host,
            "supersedes": previous.get_column("decision_id").item() if previous.height else None,
            "audit_hash": "0" * 64,
        }
        frame = pl.concat([decisions, pl.DataFrame([row], schema=DECISION_COLUMNS)], how="vertical")
        validate(ReviewDecision, frame, f"{ZONE}/{DATASET}", decision_id)  # before anything is written
        record = append_audit(
            settings.lake, operation=AUDIT_OPERATION, reason=AUDIT_REASON, run_id=None, dataset=f"{ZONE}/{DATASET}",
            atena_nos=concerned, actor=settings.actor, department=settings.department, host=settings.host, settings=settings,
            details={
                "decision_id": decision_id, "municipality": municipality, "fiscal_year": fiscal_year,
                "item_id": found["item_id"], "item_kind": kind, "decision": decision,
                "target_municipality": target if decision == "forward" else None,
                "supersedes": row["supersedes"],
                "reason_sha256": hashlib.sha256(reason.encode("utf-8")).hexdigest(),
            },
            ts=now,
        )
        row["audit_hash"] = record["mac"]  # the MAC of its audit record (pipelines.audit)
        frame = pl.concat([decisions, pl.DataFrame([row], schema=DECISION_COLUMNS)], how="vertical")
        frame = validate(ReviewDecision, frame, f"{ZONE}/{DATASET}", decision_id)
        written = write_partition(settings.lake, ZONE, DATASET, municipality, fiscal_year, frame,
                                  sort_by=["decided_at", "decision_id"], run_id=decision_id)
    return {**row, "partition": str(written.path), "rows": written.rows}


_KIND_WORDS = {
    "document": "a document in the 宛名付設 review queue",
    "dependant_claimed_twice": "a relative claimed by several taxpayers",
    "dependant_income_over_limit": "a dependant whose income is over the limit",
    "pension_target": "a pensioner of the insurers' 特別徴収対象者情報 in the 宛名付設 review queue",
}


def _checked_target(settings: Settings, municipality: str, fiscal_year: int, item: dict, decision: str,
                    target: str | None, allow_non_candidate: bool) -> tuple[str | None, bool | None]:
    """The target after its checks, and whether it was a candidate (person decisions only)."""
    kind, item_name = item["item_kind"], item["item_id"]
    needs_atena = decision == "person" or (decision == "keep" and kind == "dependant_claimed_twice")
    if decision == "forward":
        return _checked_destination(municipality, item_name, target), None
    if not needs_atena:
        if target not in (None, ""):
            raise ReviewError(f"Decision {decision!r} on item {item_name} takes no target; remove it.")
        return None, None
    what = "the resident the document belongs to" if decision == "person" else "the taxpayer who keeps the relative"
    if not target or not _ATENA.match(target):
        raise ReviewError(f"Decision {decision!r} on item {item_name} needs the 10-digit 宛名番号 of {what}.")
    if decision == "keep":
        claimants = (item["persons"] or [])[:-1]  # the relative is last
        if target not in claimants:
            raise ReviewError(f"The 宛名番号 given for item {item_name} is not one of the taxpayers who claim the "
                              "relative; see `juminzei review show " + item_name + "`.")
        return target, None
    _check_resident(settings, municipality, fiscal_year, target, item_name)
    was_candidate = target in (item["persons"] or [])
    if not was_candidate and not allow_non_candidate:
        raise ReviewError(
            f"The 宛名番号 given is not one of the candidates of item {item_name} (see `juminzei review show "
            f"{item_name}`). If research showed it is this resident all the same, repeat with --not-a-candidate."
        )
    return target, was_candidate


def _check_resident(settings: Settings, municipality: str, fiscal_year: int, atena_no: str, item_name: str) -> None:
    from pipelines.lake import partition_exists, scan_partition

    if not partition_exists(settings.lake, "staging", "residents", municipality, fiscal_year):
        raise ReviewError(f"staging/residents for {municipality}/{fiscal_year} does not exist: run resident_snapshot "
                          "first.")
    person = (scan_partition(settings.lake, "staging", "residents", municipality, fiscal_year)
              .filter(pl.col("atena_no") == atena_no).select("resident_on_assessment_date").collect())
    if not person.height:
        raise ReviewError(f"The 宛名番号 given for item {item_name} is not in staging/residents of "
                          f"{municipality}/{fiscal_year}; check the number.")
    if not person.get_column("resident_on_assessment_date").fill_null(False).any():
        raise ReviewError(
            f"The 宛名番号 given for item {item_name} was not resident on 1 January {fiscal_year} (賦課期日): only "
            "residents get a taxation basis here. For a person who had moved out, decide `forward` with the "
            "destination 団体コード."
        )


def _checked_destination(municipality: str, item_name: str, code: str | None) -> str:
    from contracts.local_government_codes import load_local_government_codes

    if not code or not _CODE.match(code):
        raise ReviewError(f"Decision 'forward' on item {item_name} needs the 6-digit 団体コード of the destination "
                          "(全国地方公共団体コード with its check digit, e.g. 131041 for 新宿区).")
    table = load_local_government_codes().filter(pl.col("code") == code)
    if not table.height:
        raise ReviewError(f"団体コード {code} is not in contracts/local_government_codes.csv (check digit or a code "
                          "that does not exist); nothing was recorded.")
    row = table.row(0, named=True)
    if row["kind"] == "prefecture":
        raise ReviewError(f"団体コード {code} is a prefecture ({row['prefecture']}); forward to the municipality.")
    if row["kind"] == "designated_city_ward":
        raise ReviewError(f"団体コード {code} is a ward of a designated city ({row['municipality']}); forward to the "
                          f"city, which levies the tax: {row['designated_city_code']}.")
    if code == municipality:
        raise ReviewError(f"団体コード {code} is this municipality; decide `person` or `none` instead of forward.")
    return code


@contextmanager
def _decision_lock(settings: Settings, municipality: str, fiscal_year: int) -> Iterator[None]:
    """Exclusive lock per municipality over read + append + write (released by the kernel if we die).

    A separate lock file: ``write_partition`` takes its own lock on the partition's folder."""
    from pipelines.lake import partition_path

    folder = partition_path(settings.lake, ZONE, DATASET, municipality, fiscal_year).parent
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    from pipelines.locks import held_flock

    with held_flock(folder / f".decide-{fiscal_year}.lock"):
        yield



# ------------------------------------------------------------------------------------------- output
KIND_LABELS = {"document": "宛名付設", "dependant_claimed_twice": "扶養重複", "dependant_income_over_limit": "扶養否認",
               "pension_target": "年金特徴"}
DECISION_HELP = {
    "document": "person <宛名番号> | none | forward <団体コード>",
    "dependant_claimed_twice": "keep <宛名番号 of the taxpayer who keeps the relative> | deny | pending",
    "dependant_income_over_limit": "keep | deny | pending",
    "pension_target": "person <宛名番号> | none",
}


def _persons_cell(item: dict) -> str:
    persons = item["persons"] or []
    if item["item_kind"] == "document":
        candidates = item["candidates"] or []
        if not candidates:
            return "no candidate"
        best = candidates[0]
        more = f" +{len(candidates) - 1}" if len(candidates) > 1 else ""
        return f"{best['atena_no']} ({best['score']}){more}"
    if item["item_kind"] == "dependant_claimed_twice":
        return f"→ {persons[-1]} ({len(persons) - 1} claims)"
    return f"{persons[0]} → {persons[-1]}"


def _what_cell(item: dict) -> str:
    if item["item_kind"] == "document":
        return f"{item['what']} {item['reason']}"
    return "relative claimed by several" if item["item_kind"] == "dependant_claimed_twice" else "income over the limit"


OUTCOME_LABELS = {"merged": "merged", "not_matched": "no resident", "forwarded": "forwarded",
                  "claim_kept": "claim kept", "claim_denied": "claim denied", "pending": "pending", "stale": "STALE"}


def open_items() -> pl.Expr:
    """Items still waiting for a decision: none taken, the taxpayer is being asked, or the latest
    decision was found stale by the last merge."""
    return (pl.col("decision").is_null() | (pl.col("decision") == "pending").fill_null(False)
            | (pl.col("outcome") == "stale").fill_null(False))


def format_items(desk: ReviewDesk, items: pl.DataFrame) -> str:
    """The `juminzei review list` table (fits in 100 columns)."""
    from pipelines.terminal import pad, wrap

    kinds = desk.items.group_by("item_kind").agg(pl.len(), open_items().sum().alias("open"))
    counts = {k: (n, o) for k, n, o in kinds.iter_rows()}
    docs = counts.get("document", (0, 0))
    flags = [counts.get(k, (0, 0)) for k in FLAG_KINDS]
    lines = [
        f"review {desk.municipality}/{desk.fiscal_year}: {docs[0]} documents ({docs[1]} open), "
        f"{sum(f[0] for f in flags)} 扶養 flags ({sum(f[1] for f in flags)} open); "
        f"{desk.decisions.height} decisions recorded",
    ]
    lines += [line for note in desk.notes for line in wrap(note, indent="  ")]
    if items.height:
        lines.append(f"{pad('ID', 9)}  {pad('KIND', 8)}  {pad('WHAT', 34)}  {pad('PERSONS', 24)}  DECISION")
        for item in items.iter_rows(named=True):
            status = (OUTCOME_LABELS[item["outcome"]] if item["outcome"]
                      else f"{item['decision']}, to apply" if item["decision"] else "open")
            lines.append(f"{pad(item['item_id'], 9)}  {pad(KIND_LABELS[item['item_kind']], 8)}  "
                         f"{pad(_what_cell(item), 34)}  {pad(_persons_cell(item), 24)}  {pad(status, 17).rstrip()}")
    else:
        lines.append("nothing to review")
    lines += wrap("Details: juminzei review show <ID>. Decide: juminzei review decide <ID> <decision> [target] "
                  "--reason '…'; the next record_merge run applies it (trigger the record_merge DAG or run "
                  "`juminzei run record_merge`).")
    return "\n".join(lines) + "\n"


def format_item(desk: ReviewDesk, item: dict, history: pl.DataFrame) -> str:
    """The `juminzei review show` page of one item (fits in 100 columns)."""
    from pipelines.terminal import pad, wrap

    kind = item["item_kind"]
    where = f"{desk.municipality}/{desk.fiscal_year}"
    lines = [f"Item {item['item_id']}  {KIND_LABELS[kind]} ({_KIND_WORDS[kind]}), {where}"]
    lines += wrap(f"key: {item['item_key']}", indent="  ")
    if kind == "document":
        lines.append(f"  source: {item['what']}   reason: {item['reason']}")
        candidates = item["candidates"] or []
        if candidates:
            lines.append(f"  {pad('rank', 4)}  {pad('宛名番号', 10)}  {pad('score', 5)}  agreed fields")
            for c in candidates:
                lines += wrap(f"{pad(str(c['rank']), 4)}  {pad(c['atena_no'], 10)}  {pad(str(c['score']), 5)}  "
                              + ", ".join(c["agreed"] or []), indent="  ")
        else:
            lines.append("  no candidate")
    else:
        persons = item["persons"] or []
        lines += wrap(f"taxpayers: {', '.join(persons[:-1])}   relative: {persons[-1]}", indent="  ")
        lines += wrap(f"flag: {item['reason']}", indent="  ")
    lines += wrap(f"decisions: {DECISION_HELP[kind]}", indent="  ")
    if item["decision"]:
        applied = (f"the last record_merge run: {item['outcome']}" if item["outcome"]
                   else "not applied yet: run record_merge")
        lines += wrap(f"latest decision {item['decision_id']}: {applied}", indent="  ")
    if history.height:
        lines.append("  history (the latest counts):")
        for h in history.iter_rows(named=True):
            target = f" {h['target']}" if h["target"] else ""
            lines += wrap(f"{h['decided_at']}  {h['decision_id']}  {h['decision']}{target}  by {h['actor']} "
                          f"({h['department']})", indent="    ")
            lines += wrap(f"reason: {h['reason']}", indent="      ")
    else:
        lines.append("  history: no decision yet")
    return "\n".join(lines) + "\n"
