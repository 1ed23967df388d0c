"""One run at a time per stage, municipality and fiscal year (issue 16; docs/operator-guide.md, "Two runs at once").

A stage run holds an exclusive ``flock`` on ``<lake>/locks/<stage>/municipality=<M>/fiscal_year=<N>.lock``
for its whole length, CLI and Airflow alike. A second run of the same stage and partition started meanwhile
is refused at once with :class:`RunLockedError`, whose sentence names the run that holds the lock (its run
id, operator, host, process and start time). Runs of other stages or partitions are not held up.

The lock file holds, while a run works, one JSON line describing that run (no personal data), and is emptied
once the run's end (success or failure) is recorded; a run that could not record its end leaves it. The
kernel releases a ``flock`` when its process dies, so a run killed with ``SIGKILL`` or lost with its machine
leaves no lock behind: the next run takes it at once. It finds the
description the killed run left and returns it (:attr:`StageLock.aborted`), so that the stage can record the
abort in the audit trail (``stage_run_aborted``): no record of the killed run stays without its end.

``flock`` works on a local file system; a lake on a network file system needs a lock service instead (the
same interface: acquire with a description, refuse naming the holder, report an abandoned holder).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.errors import JuminzeiError

LOCKS_ZONE = "locks"


class RunLockedError(JuminzeiError):
    """Another run of the same stage, municipality and fiscal year is working."""


@contextmanager
def held_flock(path: str | Path, *, flags: int = os.O_RDWR | os.O_CREAT, mode: int = 0o640) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (a lock file, or a folder opened with ``O_DIRECTORY``) for the block,
    waiting for it; the kernel releases it if the process dies."""
    fd = os.open(path, flags, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def lock_path(lake: str | Path, stage: str, municipality: str, fiscal_year: int) -> Path:
    return Path(lake) / LOCKS_ZONE / stage / f"municipality={municipality}" / f"fiscal_year={fiscal_year}.lock"


@dataclass
class StageLock:
    """The held lock of one run; ``aborted`` is the description a killed earlier run left, if any."""

    path: Path
    fd: int
    holder: dict
    aborted: dict | None = None
    #: set once the run's end is recorded; a lock let go without it keeps its description, so the next run
    #: records this one as aborted
    ended: bool = False
    released: bool = field(default=False)

    def release(self) -> None:
        """Empty the description if the run's end was recorded, and let go (idempotent)."""
        if self.released:
            return
        try:
            if self.ended:
                os.ftruncate(self.fd, 0)
                os.fsync(self.fd)
        except OSError:  # a full or read-only disk: the lock still goes with the descriptor
            pass
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.released = True

    def __enter__(self) -> StageLock:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _describe(holder: dict | None) -> str:
    if not holder:
        return "another run (it left no description)"
    return (f"run {holder.get('run_id')} started {holder.get('started_at')} by {holder.get('actor')} on "
            f"{holder.get('host')} (process {holder.get('pid')})")


def _read(fd: int) -> dict | None:
    os.lseek(fd, 0, os.SEEK_SET)
    data = os.read(fd, 65536)
    if not data.strip():
        return None
    try:
        holder = json.loads(data)
    except ValueError:
        return {"run_id": None, "note": "an unreadable description"}
    return holder if isinstance(holder, dict) else None


def acquire(lake: str | Path, stage: str, municipality: str, fiscal_year: int, *, run_id: str, actor: str,
            dry_run: bool = False, now: datetime | None = None) -> StageLock:
    """Take the lock of ``stage`` for one partition, or raise :class:`RunLockedError` naming the holder."""
    path = lock_path(lake, stage, municipality, fiscal_year)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read(fd)
        os.close(fd)
        raise RunLockedError(
            f"{stage} {municipality}/{fiscal_year} is already running: {_describe(holder)}. This run was refused "
            "and wrote nothing; start it again once that run has finished (see `juminzei status`).") from None
    except BaseException:
        os.close(fd)
        raise
    try:
        aborted = _read(fd)
        holder = {"run_id": run_id, "stage": stage, "municipality": municipality, "fiscal_year": fiscal_year,
                  "dry_run": dry_run, "actor": actor, "host": socket.gethostname(), "pid": os.getpid(),
                  "started_at": (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
                  .replace("+00:00", "Z")}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(holder, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(fd)
    except BaseException:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        raise
    return StageLock(path, fd, holder, aborted)


class VaultBusyError(JuminzeiError):
    """A vault key rotation cannot start while a vault write is under way (or the other way round)."""


@contextmanager
def vault_lock(lake: str | Path, *, exclusive: bool) -> Iterator[None]:
    """Vault writes hold this lock shared (several partitions may be written at once); a key rotation holds it
    exclusive, so no write can use a key version that the rotation is about to retire. A rotation does not
    wait: it is refused while a write is under way; a write waits for a rotation to end."""
    path = (Path(lake) / LOCKS_ZONE / "vault.lock").resolve()
    if path in _VAULT_HELD_EXCLUSIVE:  # the rotation's own writes (a second flock here would wait for itself)
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB if exclusive else fcntl.LOCK_SH)
        except BlockingIOError:
            raise VaultBusyError("A vault write is under way (a resident_snapshot run); rotate the vault key once it "
                                 "has finished. Nothing was changed.") from None
        if exclusive:
            _VAULT_HELD_EXCLUSIVE.add(path)
        yield
    finally:
        _VAULT_HELD_EXCLUSIVE.discard(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


_VAULT_HELD_EXCLUSIVE: set[Path] = set()
