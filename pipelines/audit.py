"""Append-only, hash-chained audit log of operations on personal data (docs/architecture.md §5; PPC アクセスの記録).

One JSON object per line in ``<lake>/audit/audit_log.jsonl``. Each record holds:

``ts``          UTC time of the operation, ISO 8601 (the clock is read here, at the I/O boundary)
``actor``       who (``JUMINZEI_ACTOR`` or the OS user)
``host``        which machine (端末)
``department``  the actor's department (``JUMINZEI_DEPARTMENT`` or 税務課)
``operation``   e.g. ``vault_write``, ``vault_read``, ``my_number_file_read``, ``export``
``reason``      処理事由 (required, non-empty)
``run_id``      the stage run, or null for an interactive operation
``dataset``     what was touched, e.g. ``vault/my_number``
``atena_nos``   the 宛名番号 concerned: a sorted list, or for bulk operations
                ``{"count": n, "sha256": <digest of the sorted, newline-joined list>}``
``details``     small non-personal facts (partition, rows, unchanged …)
``prev_hash``   ``hash`` of the previous record (64 zeros for the first)
``hash``        sha256 of the canonical JSON of the record without ``hash``

宛名番号 appear here and nowhere in logs; the audit log never holds a My Number, a name or an
address. Changing, removing or reordering any record breaks the chain at that record, which
:func:`verify_chain` reports. Appends are serialised with an exclusive ``flock`` and fsynced.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from contracts.errors import ConfigError

AUDIT_FILE = "audit_log.jsonl"
GENESIS_HASH = "0" * 64
# Above this many 宛名番号 a record holds their count and digest instead of the list.
MAX_LISTED_ATENA_NOS = 1000


def audit_path(lake: str | Path) -> Path:
    return Path(lake) / "audit" / AUDIT_FILE


def canonical(record: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def record_hash(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


def summarise_atena_nos(
    atena_nos: Sequence[str] | pl.Series | int | None, *, limit: int = MAX_LISTED_ATENA_NOS
) -> Any:
    """A sorted list of 宛名番号, or ``{"count", "sha256"}`` when there are more than ``limit``."""
    if atena_nos is None:
        return []
    if isinstance(atena_nos, int):
        return {"count": atena_nos}
    if isinstance(atena_nos, pl.Series):  # bulk operations: sort and join in Polars, not in Python
        ordered = atena_nos.cast(pl.String).sort()
        if ordered.len() <= limit:
            return ordered.to_list()
        joined = ordered.str.join("\n").item() or ""
        return {"count": ordered.len(), "sha256": hashlib.sha256(joined.encode("utf-8")).hexdigest()}
    values = sorted(str(a) for a in atena_nos)
    if len(values) <= limit:
        return values
    digest = hashlib.sha256("\n".join(values).encode("utf-8")).hexdigest()
    return {"count": len(values), "sha256": digest}


def _default_actor() -> str:
    from pipelines.config import _os_user

    return os.environ.get("JUMINZEI_ACTOR") or _os_user()


def _last_hash(handle) -> str:
    """The ``hash`` of the last complete record of an open audit file (read from its tail)."""
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    if end == 0:
        return GENESIS_HASH
    chunk = 4096
    position = end
    tail = b""
    while position > 0:
        step = min(chunk, position)
        position -= step
        handle.seek(position)
        tail = handle.read(step) + tail
        lines = tail.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or position == 0:
            last = lines[-1]
            try:
                return json.loads(last)["hash"]
            except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
                # A torn last line (crash mid-append): chain to it anyway, verify_chain reports it.
                return hashlib.sha256(last).hexdigest()
        chunk *= 2
    return GENESIS_HASH


def append_audit(
    lake: str | Path,
    *,
    operation: str,
    reason: str,
    run_id: str | None,
    dataset: str,
    atena_nos: Sequence[str] | pl.Series | int | None,
    actor: str | None = None,
    department: str | None = None,
    host: str | None = None,
    details: Mapping[str, Any] | None = None,
    ts: datetime | None = None,
) -> dict:
    """Append one record to the chain and return it (with its ``hash``)."""
    if not reason or not str(reason).strip():
        raise ConfigError(f"Audit record for {operation!r} needs a reason (処理事由); none was given.")
    path = audit_path(lake)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    record: dict[str, Any] = {
        "ts": (ts or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "actor": actor or _default_actor(),
        "host": host or socket.gethostname(),
        "department": department or os.environ.get("JUMINZEI_DEPARTMENT") or "税務課",
        "operation": operation,
        "reason": reason,
        "run_id": run_id,
        "dataset": dataset,
        "atena_nos": summarise_atena_nos(atena_nos),
        "details": dict(details or {}),
    }
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            record["prev_hash"] = _last_hash(handle)
            record["hash"] = record_hash(record)
            line = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
            handle.seek(0, os.SEEK_END)
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    line = "\n" + line  # never glue a record onto a torn line
            os.write(handle.fileno(), line.encode("utf-8"))
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return record


def read_audit(lake: str | Path) -> list[dict]:
    """All records (raises on a line that is not JSON; use :func:`verify_chain` to check integrity)."""
    path = audit_path(lake)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    records: int
    broken_at_line: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"Audit chain intact: {self.records} records."
        return f"Audit chain broken at line {self.broken_at_line}: {self.problem}"


def verify_chain(lake: str | Path) -> ChainCheck:
    """Recompute every hash and link; report the first line where the chain breaks."""
    path = audit_path(lake)
    if not path.exists():
        return ChainCheck(True, 0)
    previous = GENESIS_HASH
    count = 0
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            line = raw.rstrip(b"\n")
            if not raw.endswith(b"\n"):
                return ChainCheck(False, count, line_no, "the last record is incomplete (no line end): a torn append")
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return ChainCheck(False, count, line_no, "the line is not a JSON record")
            if not isinstance(record, dict) or "hash" not in record or "prev_hash" not in record:
                return ChainCheck(False, count, line_no, "the record has no hash or prev_hash")
            if record["prev_hash"] != previous:
                return ChainCheck(False, count, line_no, "prev_hash does not match the previous record's hash")
            if record_hash(record) != record["hash"]:
                return ChainCheck(False, count, line_no, "the record's content does not match its hash")
            previous = record["hash"]
            count += 1
    return ChainCheck(True, count)


def chain_head(lake: str | Path) -> str:
    """The hash of the last record (64 zeros when empty), e.g. to note in a run report."""
    path = audit_path(lake)
    if not path.exists():
        return GENESIS_HASH
    with path.open("rb") as handle:
        return _last_hash(handle)
