"""Keys behind an interface (issue 16; docs/key-management.md): every secret key the system uses comes from a
:class:`KeyProvider`, by purpose and version, and from nowhere else — never from an Airflow Variable or
Connection, an environment variable's value, a log or the lake.

Purposes (:data:`PURPOSES`):

``vault``      the vault's footer key: it opens the vault file and its 宛名番号 (Parquet modular encryption;
               :mod:`pipelines.lake`)
``my_number``  the vault's column key of the My Number itself: a process without it reads the vault's
               宛名番号 and gets :class:`KeyPermissionError` on the number
``audit``      the key of the audit trail's MAC chain (HMAC-SHA256; :mod:`pipelines.audit`)

Every key has a **version** (1, 2, …). New work uses the *current* version; a record or file written
under an older version names it, so it stays readable (the audit trail is verified with the version each
record names) until the version is *retired*. Rotation makes a new current version; retiring an old one
is a separate, recorded step (``juminzei keys`` and ``juminzei vault rotate-key``).

:class:`FileKeyProvider` is the development and test provider: one 32-byte file per purpose and version
(``<dir>/<purpose>.v<N>.key``, mode 0600, directory 0700) and a key ring (``<dir>/keyring.json``: the current
version of each purpose and the retired ones). A production deployment implements the same four methods
against its KMS or HSM (docs/key-management.md): the material of a version is fetched, never stored on a
worker's disk, and a worker identity without the right to a purpose gets :class:`KeyPermissionError`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from contracts.errors import ConfigError

KEY_BYTES = 32  # AES-256 / HMAC-SHA256
PURPOSES = ("vault", "my_number", "audit")
KEYRING = "keyring.json"
# A retired vault key has nothing left to decrypt (the vault was re-encrypted first) and is destroyed; a
# retired audit key signs nothing new but still verifies the records it signed for their 7-year retention.
DESTROYED_ON_RETIRE = frozenset({"vault", "my_number"})
# The single vault key file of the first releases (JUMINZEI_VAULT_KEY_FILE) is adopted as version 1 of both
# vault purposes, so a lake written before key versions still opens.
LEGACY_PURPOSES = ("vault", "my_number")
_FILE_RE = re.compile(r"^(?P<purpose>[a-z]+)\.v(?P<version>[1-9][0-9]*)\.key$")


class KeyPermissionError(ConfigError):
    """The provider holds no usable key of this purpose and version for this process (no right to it,
    retired and destroyed, or never made)."""


@dataclass(frozen=True)
class KeyVersion:
    """One version of one purpose's key. ``material`` never appears in a repr, a log or a report."""

    purpose: str
    version: int
    material: bytes = field(repr=False)


@runtime_checkable
class KeyProvider(Protocol):
    """What the system asks of a key store (a file ring in development, a KMS or HSM in production)."""

    def current(self, purpose: str, *, create: bool = True) -> KeyVersion:
        """The version new work uses; a first version is made when none exists and ``create``."""

    def get(self, purpose: str, version: int) -> KeyVersion:
        """A named version (to read or verify what was written under it); refused once destroyed."""

    def rotate(self, purpose: str) -> KeyVersion:
        """Make a new version and make it current; earlier versions stay readable until retired."""

    def retire(self, purpose: str, version: int) -> None:
        """Stop a version for new work; a vault version is destroyed, an audit version still verifies."""

    def versions(self, purpose: str) -> list[dict]:
        """The versions of a purpose: ``{"version", "state" (current|active|retired), "created"}``."""


def read_key_file(path: Path, purpose: str) -> bytes:
    """The 32 bytes of a key file, refused when others may read it or it has another length."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        raise KeyPermissionError(f"Key file {path} does not exist: this process holds no {purpose} key.") from None
    if mode & 0o077:
        raise ConfigError(f"Key file {path} has permissions {mode:o}; expected 600 (readable by its owner only).")
    try:
        material = path.read_bytes()
    except PermissionError:
        raise KeyPermissionError(f"Key file {path} cannot be read by this process (no right to the {purpose} "
                                 "key).") from None
    if len(material) != KEY_BYTES:
        raise ConfigError(f"Key file {path} holds {len(material)} bytes; expected exactly {KEY_BYTES}.")
    return material


def check_purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ConfigError(f"Key purpose {purpose!r} is not known; expected one of {', '.join(PURPOSES)}.")
    return purpose


class FileKeyProvider:
    """Keys as files in one private directory (development and tests; see the module docstring)."""

    def __init__(self, root: str | Path, *, legacy_vault_key: str | Path | None = None) -> None:
        self.root = Path(root)
        self.legacy_vault_key = Path(legacy_vault_key) if legacy_vault_key is not None else None

    def __repr__(self) -> str:  # the path only, never material
        return f"FileKeyProvider({str(self.root)!r})"

    # ----------------------------------------------------------------------------------------- ring
    def _ring_path(self) -> Path:
        return self.root / KEYRING

    def _key_path(self, purpose: str, version: int) -> Path:
        return self.root / f"{purpose}.v{version}.key"

    def _read_ring(self) -> dict:
        path = self._ring_path()
        if not path.exists():
            return {}
        try:
            ring = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ConfigError(f"Key ring {path} cannot be read ({type(error).__name__}); restore it from the "
                              "key custodian's copy.") from None
        if not isinstance(ring, dict):
            raise ConfigError(f"Key ring {path} is not a JSON object; restore it from the key custodian's copy.")
        return ring

    def _write_ring(self, ring: dict) -> None:
        path = self._ring_path()
        temporary = path.with_name(f".{KEYRING}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(ring, sort_keys=True, indent=1) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        from pipelines.locks import held_flock

        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        with held_flock(self.root / ".keyring.lock", mode=0o600):
            yield

    def _entry(self, ring: dict, purpose: str) -> dict:
        return ring.setdefault(purpose, {"current": None, "retired": [], "created": {}})

    def _make(self, ring: dict, purpose: str) -> int:
        entry = self._entry(ring, purpose)
        known = [int(v) for v in entry["created"]] + [int(v) for v in entry["retired"]]
        known += [int(m["version"]) for p in self.root.glob(f"{purpose}.v*.key")
                  if (m := _FILE_RE.match(p.name)) and m["purpose"] == purpose]
        version = max(known, default=0) + 1
        path = self._key_path(purpose, version)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        entry["created"][str(version)] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        entry["current"] = version
        self._write_ring(ring)
        return version

    def _adopt_legacy(self, purpose: str) -> None:
        """Version 1 of a vault purpose from the legacy single key file, once, when the ring has none."""
        legacy = self.legacy_vault_key
        if purpose not in LEGACY_PURPOSES or legacy is None or not legacy.exists() or purpose in self._read_ring():
            return
        material = read_key_file(legacy, "vault")  # checks its mode and length
        with self._locked():
            ring = self._read_ring()
            if purpose in ring:
                return
            path = self._key_path(purpose, 1)
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    os.write(fd, material)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            entry = self._entry(ring, purpose)
            entry["created"]["1"] = f"adopted from {legacy.name}"
            entry["current"] = 1
            self._write_ring(ring)

    # ------------------------------------------------------------------------------------ interface
    def current(self, purpose: str, *, create: bool = True) -> KeyVersion:
        check_purpose(purpose)
        self._adopt_legacy(purpose)
        ring = self._read_ring()
        version = (ring.get(purpose) or {}).get("current")
        if version is None:
            if not create:
                raise KeyPermissionError(
                    f"No {purpose} key in {self.root}: this process has no key of that purpose (set "
                    "JUMINZEI_KEY_DIR to the key directory of this lake, or ask the key custodian).")
            with self._locked():
                ring = self._read_ring()
                version = (ring.get(purpose) or {}).get("current") or self._make(ring, purpose)
        return self.get(purpose, int(version))

    def get(self, purpose: str, version: int) -> KeyVersion:
        check_purpose(purpose)
        self._adopt_legacy(purpose)
        entry = self._read_ring().get(purpose) or {}
        if version in entry.get("retired", []) and purpose in DESTROYED_ON_RETIRE:
            raise KeyPermissionError(f"The {purpose} key version {version} was retired; what was written under it "
                                     "can no longer be read with it.")
        path = self._key_path(purpose, version)
        if not path.exists():
            raise KeyPermissionError(f"No {purpose} key of version {version} in {self.root} (JUMINZEI_KEY_DIR): "
                                     "this process holds no such key.")
        return KeyVersion(purpose, version, read_key_file(path, purpose))

    def rotate(self, purpose: str) -> KeyVersion:
        check_purpose(purpose)
        with self._locked():
            version = self._make(self._read_ring(), purpose)
        return self.get(purpose, version)

    def retire(self, purpose: str, version: int) -> None:
        check_purpose(purpose)
        with self._locked():
            ring = self._read_ring()
            entry = self._entry(ring, purpose)
            if entry.get("current") == version:
                raise ConfigError(f"The {purpose} key version {version} is the current one; rotate first, then "
                                  "retire it.")
            path = self._key_path(purpose, version)
            if not path.exists() and str(version) not in entry["created"]:
                raise ConfigError(f"There is no {purpose} key version {version} to retire.")
            if version not in entry["retired"]:
                entry["retired"] = sorted([*entry["retired"], version])
            self._write_ring(ring)
            if path.exists() and purpose in DESTROYED_ON_RETIRE:  # destroyed: overwritten, then removed
                size = path.stat().st_size
                with path.open("r+b") as handle:
                    handle.write(secrets.token_bytes(size))
                    handle.flush()
                    os.fsync(handle.fileno())
                path.unlink()

    def versions(self, purpose: str) -> list[dict]:
        check_purpose(purpose)
        entry = self._read_ring().get(purpose) or {}
        created = entry.get("created", {})
        retired = set(entry.get("retired", []))
        out = []
        for version in sorted({int(v) for v in created} | retired):
            state = "retired" if version in retired else "current" if version == entry.get("current") else "active"
            out.append({"version": version, "state": state, "created": created.get(str(version))})
        return out
