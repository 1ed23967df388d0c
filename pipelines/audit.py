"""Append-only audit trail of operations on personal data, chained with a keyed MAC and anchored
(docs/audit.md; docs/architecture.md §5; PPC アクセスの記録; the ward's assessment, section III).

One JSON object per line in ``<lake>/audit/audit_log.jsonl``. Each record holds:

``v``           the record format (2: keyed MAC chain)
``seq``         its place in the trail (1, 2, …): a record removed or inserted shows as a gap
``ts``          処理日時: UTC time of the operation, ISO 8601 (the clock is read here, at the I/O boundary)
``actor``       operator id (``JUMINZEI_ACTOR``, the Airflow user of a DAG run, or the OS user)
``host``        端末 (the machine)
``department``  部署 (``JUMINZEI_DEPARTMENT`` or 税務課)
``operation``   e.g. ``vault_write``, ``vault_read``, ``my_number_file_read``, ``export``
``reason``      処理事由 (required, non-empty: a record without one is refused)
``run_id``      the stage run, or null for an interactive operation
``dataset``     what was touched, e.g. ``vault/my_number``
``atena_nos``   the 宛名番号 concerned: a sorted list, or for bulk operations
                ``{"count": n, "sha256": <digest of the sorted, newline-joined list>}``
``details``     small non-personal facts (partition, rows, unchanged …)
``key_version`` the version of the audit key (:mod:`pipelines.keys`, purpose ``audit``) that made ``mac``
``prev_mac``    ``mac`` of the previous record (64 zeros for the first)
``mac``         HMAC-SHA256, under that key, of the canonical JSON of the record without ``mac``

Tamper evidence against someone who can write the file but holds no audit key: changing any byte of a
record, deleting, inserting or reordering records, or appending a forged one breaks a MAC or a link
(a new MAC cannot be computed without the key). Deleting records from the *end* leaves a valid, shorter
chain, so the head is **anchored**: every append also writes ``{seq, mac, ts}`` to a separate append-only
anchor file (``JUMINZEI_AUDIT_ANCHOR``; in production a WORM store the lake's writers cannot rewrite), and
every run report records the head it left (``audit_head``). :func:`verify` checks the chain, then every
anchor and run report against it, and names the first bad record.

A crash while appending leaves a torn last line. It is reported until the next append *seals* it: that
append writes an ``audit_torn_line_sealed`` record naming the torn line's sha256 and length, chained to the
last complete record, so the trail stays verifiable and the torn bytes stay where they were.

宛名番号 appear here and nowhere in logs; the audit trail never holds a My Number, a name or an address.
Appends are serialised with an exclusive ``flock`` and fsynced. Records are kept 7 years (the assessment's
retention; docs/audit.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from contracts.errors import ConfigError
from pipelines.config import default_anchor_path

if TYPE_CHECKING:
    from pipelines.config import Settings
    from pipelines.keys import KeyProvider

AUDIT_FILE = "audit_log.jsonl"
FORMAT = 2
GENESIS_MAC = "0" * 64
KEY_PURPOSE = "audit"
SEAL_OPERATION = "audit_torn_line_sealed"
SEAL_REASON = "監査証跡の途切れた行の封印 (前回の追記の中断)"
# Above this many 宛名番号 a record holds their count and digest instead of the list.
MAX_LISTED_ATENA_NOS = 1000


def audit_path(lake: str | Path) -> Path:
    return Path(lake) / "audit" / AUDIT_FILE


def canonical(record: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k != "mac"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def record_mac(record: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, canonical(record), hashlib.sha256).hexdigest()


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


#: the settings of the stage run working in this process (:func:`use_run_settings`): a record appended without
#: settings for that run's lake names the run's operator (the Airflow user of a DAG run), not the OS user
_RUN_SETTINGS: dict[str, Any] = {"settings": None}


def use_run_settings(settings: Settings | None) -> None:
    """Set by :func:`pipelines.stage.execute` for every run (``None`` clears it)."""
    _RUN_SETTINGS["settings"] = settings


def _settings(settings: Settings | None, lake: str | Path | None = None) -> Settings:
    from pipelines.config import Settings

    if settings is not None:
        return settings
    running = _RUN_SETTINGS["settings"]
    if running is not None and lake is not None and Path(running.lake).resolve() == Path(lake).resolve():
        return running
    return Settings.from_env()


def anchor_path_of(lake: str | Path, settings: Settings | None = None) -> Path:
    """Where the anchors of ``lake``'s trail go: ``JUMINZEI_AUDIT_ANCHOR`` when set, else beside the lake."""
    settings = _settings(settings)
    return settings.audit_anchor_override or default_anchor_path(lake)


def _tail(handle) -> tuple[bytes | None, bytes]:
    """``(last complete line, torn bytes after it)`` of an open trail, read from its end."""
    handle.seek(0, os.SEEK_END)
    position = handle.tell()
    chunk, data = 4096, b""
    while position > 0:
        step = min(chunk, position)
        position -= step
        handle.seek(position)
        data = handle.read(step) + data
        cut = data.rfind(b"\n")
        if cut >= 0:
            body, torn = data[:cut], data[cut + 1:]
            start = body.rfind(b"\n")
            if start >= 0 or position == 0:
                return (body[start + 1:] or None), torn
        chunk *= 2
    return None, data


def _legacy(record: object) -> bool:
    """A record of the first releases' unkeyed hash chain (``prev_hash``/``hash``, no ``v``)."""
    return isinstance(record, dict) and "v" not in record and "hash" in record and "prev_hash" in record


def _legacy_hash(record: Mapping[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


def _head_of(line: bytes | None, handle=None) -> tuple[int, str]:
    """``(seq, mac)`` of the last complete record (``(0, GENESIS_MAC)`` for an empty trail). After a trail of the
    old unkeyed hash chain, the keyed chain goes on from its last ``hash``, numbered after its records."""
    if line is None:
        return 0, GENESIS_MAC
    try:
        record = json.loads(line)
        if _legacy(record) and handle is not None:
            handle.seek(0)
            return sum(1 for raw in handle.read().split(b"\n") if raw.strip()), str(record["hash"])
        return int(record["seq"]), str(record["mac"])
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            "The audit trail's last record is not a keyed record (written before the MAC chain, or damaged); "
            "run `juminzei audit verify` and start a new trail file only after the audit officer has kept the old "
            "one.") from None


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
    settings: Settings | None = None,
    keys: KeyProvider | None = None,
) -> dict:
    """Append one record to the trail (and its anchor) and return it, with its ``mac``.

    The key comes from ``keys`` (default: the deployment's provider, :meth:`Settings.keys`), the current
    version of purpose ``audit``; the anchor file from ``JUMINZEI_AUDIT_ANCHOR`` or beside the lake."""
    if not reason or not str(reason).strip():
        raise ConfigError(f"Audit record for {operation!r} needs a reason (処理事由); none was given.")
    settings = _settings(settings, lake)
    key = (keys or settings.keys()).current(KEY_PURPOSE)
    path = audit_path(lake)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = (ts or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    record: dict[str, Any] = {
        "v": FORMAT,
        "ts": stamp,
        "actor": actor or settings.actor,
        "host": host or settings.host,
        "department": department or settings.department,
        "operation": operation,
        "reason": reason,
        "run_id": run_id,
        "dataset": dataset,
        "atena_nos": summarise_atena_nos(atena_nos),
        "details": dict(details or {}),
        "key_version": key.version,
    }
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            last, torn = _tail(handle)
            seq, mac = _head_of(last, handle)
            lines = []
            if torn:  # a crash cut the last append: seal it (chained), then write this record
                seal = {**record, "operation": SEAL_OPERATION, "reason": SEAL_REASON,
                        "run_id": None, "dataset": "audit/audit_log", "atena_nos": [],
                        "details": {"torn_bytes": len(torn), "torn_sha256": hashlib.sha256(torn).hexdigest()},
                        "seq": seq + 1, "prev_mac": mac}
                seal["mac"] = record_mac(seal, key.material)
                seq, mac = seal["seq"], seal["mac"]
                lines.append(b"\n" + _line(seal))
            record["seq"], record["prev_mac"] = seq + 1, mac
            record["mac"] = record_mac(record, key.material)
            lines.append(_line(record))
            os.write(handle.fileno(), b"".join(lines))
            os.fsync(handle.fileno())
            _anchor(anchor_path_of(lake, settings), record)
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return record


def _line(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _anchor(path: Path, record: Mapping[str, Any]) -> None:
    """Append the new head to the anchor file (under the trail's lock, so anchors are in order)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, _line({"seq": record["seq"], "mac": record["mac"], "ts": record["ts"]}))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_audit(lake: str | Path) -> list[dict]:
    """The records (a torn line is left out; use :func:`verify` to check integrity)."""
    path = audit_path(lake)
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().split(b"\n"):
        try:
            record = json.loads(line) if line else None
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def chain_head(lake: str | Path) -> dict:
    """``{"seq", "mac"}`` of the last complete record (``seq`` 0 when empty), e.g. for a run report."""
    path = audit_path(lake)
    if not path.exists():
        return {"seq": 0, "mac": GENESIS_MAC}
    with path.open("rb") as handle:
        last, _ = _tail(handle)
    try:
        seq, mac = _head_of(last)
    except ConfigError:
        return {"seq": None, "mac": None}
    return {"seq": seq, "mac": mac}


# ----------------------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of :func:`verify`: ``records`` good records read; the first problem, if any."""

    ok: bool
    records: int
    broken_at_line: int | None = None
    problem: str | None = None
    anchors: int = 0
    reports: int = 0
    #: records of the first releases' unkeyed hash chain at the start of the trail (checked as a hash chain)
    legacy: int = 0

    def to_dict(self) -> dict:
        return {"ok": self.ok, "records": self.records, "broken_at_line": self.broken_at_line,
                "problem": self.problem, "anchors": self.anchors, "reports": self.reports, "legacy": self.legacy}

    def __str__(self) -> str:
        if self.ok:
            older = (f" (the first {self.legacy} of the old unkeyed hash chain, which a rewrite of the file could "
                     "pass)") if self.legacy else ""
            return (f"Audit trail intact: {self.records} records{older}, MAC chain verified; {self.anchors} anchors "
                    f"and {self.reports} run reports agree with it.")
        if self.broken_at_line:
            return (f"Audit trail NOT intact at line {self.broken_at_line} ({self.records} good records before it): "
                    f"{self.problem}")
        return f"Audit trail NOT intact ({self.records} records, each good in itself): {self.problem}"


def _describe(record: Mapping[str, Any]) -> str:
    return f"record {record.get('seq')} ({record.get('operation')} of {record.get('ts')})"


def verify(lake: str | Path, *, settings: Settings | None = None, keys: KeyProvider | None = None,
           anchors: Path | None = None, reports: bool = True) -> ChainCheck:
    """Check the whole trail: every MAC under the key version it names, every link and sequence number,
    then every anchor (``anchors``, default the configured anchor file) and, with ``reports``, the
    ``audit_head`` of every run report under the lake. The first problem found is returned."""
    from pipelines.keys import KeyPermissionError

    settings = _settings(settings)
    keys = keys or settings.keys()
    path = audit_path(lake)
    macs: list[str] = []
    keyring: dict[int, bytes] = {}
    legacy = 0
    if path.exists():
        raw = path.read_bytes()
        lines = raw.split(b"\n")
        torn_last = lines[-1] if lines[-1] else None
        lines = lines[:-1]
        previous, expected = GENESIS_MAC, 1
        for line_no, line in enumerate(lines, start=1):
            if line_no < len(lines) and _seals(lines[line_no], line):
                continue  # a torn append, sealed by the next record (whose MAC is checked next)
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                return ChainCheck(False, len(macs), line_no, "the line is not a record (a damaged or inserted line)")
            if _legacy(record) and len(macs) == legacy:  # the old hash chain, before any keyed record
                if record["prev_hash"] != previous or _legacy_hash(record) != record["hash"]:
                    return ChainCheck(False, len(macs), line_no, "a record of the old unkeyed hash chain does not "
                                      "match its hash or the record before it")
                previous, expected, legacy = record["hash"], expected + 1, legacy + 1
                macs.append(record["hash"])
                continue
            if record.get("v") != FORMAT or "mac" not in record:
                return ChainCheck(False, len(macs), line_no, "the record has no keyed MAC (a record of the old hash "
                                  "chain, or one written without the audit key)")
            if record.get("seq") != expected:
                return ChainCheck(False, len(macs), line_no, f"{_describe(record)} stands where record {expected} "
                                  "should: records were removed, inserted or reordered before it")
            if record.get("prev_mac") != previous:
                return ChainCheck(False, len(macs), line_no, f"{_describe(record)} does not link to the record "
                                  "before it (prev_mac): records were removed, inserted or reordered")
            version = record.get("key_version")
            if version not in keyring:
                try:
                    keyring[version] = keys.get(KEY_PURPOSE, int(version)).material
                except (KeyPermissionError, TypeError, ValueError) as error:
                    return ChainCheck(False, len(macs), line_no, f"{_describe(record)} names audit key version "
                                      f"{version!r}, which cannot be used here: {error}")
            if not hmac.compare_digest(record_mac(record, keyring[version]), str(record["mac"])):
                return ChainCheck(False, len(macs), line_no, f"{_describe(record)} does not match its MAC: it was "
                                  "changed after it was written, or forged without the audit key")
            previous, expected = record["mac"], expected + 1
            macs.append(record["mac"])
        if torn_last is not None:
            return ChainCheck(False, len(macs), len(lines) + 1, "the last record is incomplete (no line end): a torn "
                              "append, e.g. a crash while writing; the next append seals it")
    anchor_file = anchors if anchors is not None else anchor_path_of(lake, settings)
    anchor_count = 0
    if anchor_file.exists():
        for number, line in enumerate(anchor_file.read_bytes().split(b"\n"), start=1):
            if not line:
                continue
            try:
                anchor = json.loads(line)
                seq, mac = int(anchor["seq"]), str(anchor["mac"])
            except (ValueError, KeyError, TypeError):
                return ChainCheck(False, len(macs), None, f"anchor line {number} of {anchor_file} is not an anchor")
            problem = _against_head(macs, seq, mac, f"the anchor of {anchor.get('ts')} ({anchor_file.name} line "
                                    f"{number})")
            if problem:
                return ChainCheck(False, len(macs), None, problem, anchor_count)
            anchor_count += 1
    report_count = 0
    if reports:
        for report in sorted((Path(lake) / "reports").glob("*/municipality=*/fiscal_year=*/*.json")):
            if report.name.startswith("latest"):
                continue
            try:
                head = json.loads(report.read_text(encoding="utf-8")).get("audit_head")
            except (OSError, ValueError):
                continue
            if not isinstance(head, dict) or head.get("seq") is None:
                continue
            problem = _against_head(macs, int(head["seq"]), str(head.get("mac")),
                                    f"the run report {report.relative_to(lake).as_posix()}")
            if problem:
                return ChainCheck(False, len(macs), None, problem, anchor_count, report_count)
            report_count += 1
    return ChainCheck(True, len(macs), anchors=anchor_count, reports=report_count, legacy=legacy)


def _seals(following: bytes, line: bytes) -> bool:
    """Whether ``following`` is the seal record of the torn ``line`` before it (its MAC is checked as any)."""
    try:
        record = json.loads(following)
    except ValueError:
        return False
    return (isinstance(record, dict) and record.get("operation") == SEAL_OPERATION
            and (record.get("details") or {}).get("torn_sha256") == hashlib.sha256(line).hexdigest())


def _against_head(macs: list[str], seq: int, mac: str, what: str) -> str | None:
    if seq == 0:
        return None
    if seq > len(macs):
        return (f"{what} records record {seq}, but the trail ends at record {len(macs)}: records were removed from "
                "its end (or an older copy of the trail was put back)")
    if not hmac.compare_digest(macs[seq - 1], mac):
        return f"{what} records another record {seq} than the trail holds: the trail was rewritten from there"
    return None


def verify_chain(lake: str | Path, **kwargs) -> ChainCheck:
    """The chain alone (no anchors, no run reports); see :func:`verify`."""
    return verify(lake, anchors=Path(os.devnull), reports=False, **kwargs)


def verify_and_record(settings: Settings, *, anchors: Path | None = None) -> ChainCheck:
    """`juminzei audit verify`: :func:`verify`, then a record of the check itself (its outcome, no data)."""
    check = verify(settings.lake, settings=settings, anchors=anchors)
    append_audit(settings.lake, operation="audit_verified", reason="監査証跡の検証 (juminzei audit verify)",
                 run_id=None, dataset="audit/audit_log", atena_nos=None, actor=settings.actor,
                 department=settings.department, host=settings.host, settings=settings,
                 details={"ok": check.ok, "records": check.records, "broken_at_line": check.broken_at_line,
                          "anchors": check.anchors, "reports": check.reports})
    return check


def rotate_key(settings: Settings, *, reason: str) -> int:
    """A new audit key version for new records (earlier versions still verify theirs); the rotation is
    recorded twice — under the old key, then as the first record under the new one."""
    if not reason or not reason.strip():
        raise ConfigError("Rotating the audit key needs a reason (処理事由); none was given.")
    keys = settings.keys()
    old = keys.current(KEY_PURPOSE).version
    common = {"run_id": None, "dataset": "keys/audit", "atena_nos": None, "actor": settings.actor,
              "department": settings.department, "host": settings.host, "settings": settings, "keys": keys}
    append_audit(settings.lake, operation="audit_key_rotation_started", reason=reason, details={"from_version": old},
                 **common)
    new = keys.rotate(KEY_PURPOSE).version
    append_audit(settings.lake, operation="audit_key_rotated", reason=reason,
                 details={"from_version": old, "to_version": new}, **common)
    return new
