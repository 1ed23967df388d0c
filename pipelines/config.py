"""Run configuration, resolved once at the boundary (CLI or DAG task) and passed down.

Environment variables (all optional):

=========================  ==========================================================  ======================================
variable                   meaning                                                     default
=========================  ==========================================================  ======================================
``JUMINZEI_HOME``          the checkout / installation root                            current working directory
``JUMINZEI_LAKE``          root of the Parquet lake (docs/architecture.md §3)          ``<home>/var/lake``
``JUMINZEI_LANDING``       root of the landing zone (files as received)                ``<lake>/landing``
``JUMINZEI_MUNICIPALITY``  default 全国地方公共団体コード (6 digits)                     ``131032`` (港区)
``JUMINZEI_VAULT_KEY_FILE`` the single vault key file of the first releases, adopted   ``<home>/var/keys/vault.key``
                           as version 1 of the vault keys when present
``JUMINZEI_KEY_DIR``       the key directory of :class:`pipelines.keys.FileKeyProvider`  the vault key file's folder
                           (the vault's and the audit trail's keys, by version)
``JUMINZEI_AUDIT_ANCHOR``  the append-only anchor file of the audit trail (production:   ``<lake>/../audit_anchors/<lake
                           a WORM store; :mod:`pipelines.audit`)                         name>.jsonl``
``JUMINZEI_ACTOR``         who runs the stage, for the audit log                       the OS user
``JUMINZEI_DEPARTMENT``    the actor's department, for the audit log                   ``税務課``
``JUMINZEI_DATA_DOCS``     folder of the validation reports (Great Expectations Data   ``<home>/var/data_docs``
                           Docs site, run summaries, GE stores); see
                           :mod:`pipelines.validation_docs`
=========================  ==========================================================  ======================================

The keys (vault footer, My Number column, audit MAC) come from the key provider (:mod:`pipelines.keys`,
docs/key-management.md): on a development machine one file per purpose and version, created on first use
with 32 random bytes and mode 0600 (its directory 0700). **Production does not use key files on the
worker's disk**: the keys stay in a KMS that authorises the dedicated My Number worker identity (see
``docs/sources.md`` P3.1, P3.5); never in an Airflow Variable or Connection. No key goes to logs,
reports, the audit trail or the lake; only a non-secret key id (an HMAC of a fixed label) and the key
versions are recorded in the vault manifest, so a wrong key is recognised.

The clock is read only by :func:`new_run_id` (and by the CLI / DAG boundary); transforms never read it.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import re
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from contracts.errors import ConfigError

DEFAULT_MUNICIPALITY = "131032"  # 港区 (全国地方公共団体コード incl. check digit)
DEFAULT_DEPARTMENT = "税務課"
VAULT_KEY_BYTES = 32  # AES-256

_MUNICIPALITY_RE = re.compile(r"^[0-9]{6}$")
_STAGE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
RUN_ID_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[a-z][a-z0-9_]*-[0-9a-f]{8}$")


@dataclass(frozen=True)
class Settings:
    """Where things are and who runs them. Build with :meth:`from_env` once per process/run."""

    home: Path
    lake: Path
    landing: Path
    municipality: str
    vault_key_file: Path
    actor: str
    department: str
    host: str
    data_docs_override: Path | None = None  # JUMINZEI_DATA_DOCS; None = the default under <home>/var
    key_dir_override: Path | None = None  # JUMINZEI_KEY_DIR; None = the vault key file's folder
    audit_anchor_override: Path | None = None  # JUMINZEI_AUDIT_ANCHOR; None = beside the lake

    @property
    def key_dir(self) -> Path:
        """The folder of the file key provider (``JUMINZEI_KEY_DIR`` or the vault key file's folder)."""
        return self.key_dir_override if self.key_dir_override is not None else self.vault_key_file.parent

    def keys(self):
        """The key provider of this deployment (:mod:`pipelines.keys`)."""
        from pipelines.keys import FileKeyProvider

        return FileKeyProvider(self.key_dir, legacy_vault_key=self.vault_key_file)

    @property
    def audit_anchor(self) -> Path:
        """The audit trail's anchor file (:func:`default_anchor_path` unless configured)."""
        return self.audit_anchor_override if self.audit_anchor_override is not None else default_anchor_path(self.lake)

    @property
    def data_docs(self) -> Path:
        """Fixed folder of the validation reports (Data Docs): ``JUMINZEI_DATA_DOCS`` or ``<home>/var/data_docs``."""
        return self.data_docs_override if self.data_docs_override is not None else self.home / "var" / "data_docs"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("JUMINZEI_HOME") or os.getcwd()).resolve()
        lake = Path(env["JUMINZEI_LAKE"]).resolve() if env.get("JUMINZEI_LAKE") else home / "var" / "lake"
        landing = Path(env["JUMINZEI_LANDING"]).resolve() if env.get("JUMINZEI_LANDING") else lake / "landing"
        municipality = env.get("JUMINZEI_MUNICIPALITY") or DEFAULT_MUNICIPALITY
        check_municipality(municipality)
        key_file = (
            Path(env["JUMINZEI_VAULT_KEY_FILE"]).resolve()
            if env.get("JUMINZEI_VAULT_KEY_FILE")
            else home / "var" / "keys" / "vault.key"
        )
        return cls(
            home=home,
            lake=lake,
            landing=landing,
            municipality=municipality,
            vault_key_file=key_file,
            actor=env.get("JUMINZEI_ACTOR") or _os_user(),
            department=env.get("JUMINZEI_DEPARTMENT") or DEFAULT_DEPARTMENT,
            host=socket.gethostname(),
            data_docs_override=Path(env["JUMINZEI_DATA_DOCS"]).resolve() if env.get("JUMINZEI_DATA_DOCS") else None,
            key_dir_override=Path(env["JUMINZEI_KEY_DIR"]).resolve() if env.get("JUMINZEI_KEY_DIR") else None,
            audit_anchor_override=(Path(env["JUMINZEI_AUDIT_ANCHOR"]).resolve()
                                   if env.get("JUMINZEI_AUDIT_ANCHOR") else None),
        )



def default_anchor_path(lake: str | Path) -> Path:
    """The audit trail's anchor file when ``JUMINZEI_AUDIT_ANCHOR`` is not set: outside the lake, beside it
    (``var/lake`` → ``var/audit_anchors/lake.jsonl``), so a copy or rewrite of the lake does not carry it."""
    lake = Path(lake).resolve()
    return lake.parent / "audit_anchors" / f"{lake.name}.jsonl"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): fall back to the numeric uid
        return f"uid:{os.getuid()}"


def check_municipality(code: str) -> str:
    """Return ``code`` if it is a 6-digit 全国地方公共団体コード, else raise :class:`ConfigError`."""
    if not isinstance(code, str) or not _MUNICIPALITY_RE.match(code):
        raise ConfigError(
            f"Municipality code {code!r} is not usable; expected the 6-digit 全国地方公共団体コード, e.g. 131032 for 港区."
        )
    return code


def check_fiscal_year(fiscal_year: int) -> int:
    """Return ``fiscal_year`` if it is a plausible 年度 (2000–2100), else raise :class:`ConfigError`."""
    if isinstance(fiscal_year, bool) or not isinstance(fiscal_year, int) or not 2000 <= fiscal_year <= 2100:
        raise ConfigError(f"Fiscal year {fiscal_year!r} is not usable; expected a 年度 between 2000 and 2100, e.g. 2026.")
    return fiscal_year


def load_vault_key(path: Path, *, create: bool = True) -> bytes:
    """Read the 32-byte vault master key from ``path``; create it (0600, dir 0700) if absent.

    Refuses a key file readable by group or others, or of the wrong length, with a :class:`ConfigError`.
    """
    path = Path(path)
    if not path.exists():
        if not create:
            raise ConfigError(f"Vault key file {path} does not exist; expected the 32-byte key (JUMINZEI_VAULT_KEY_FILE).")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            try:
                os.write(fd, secrets.token_bytes(VAULT_KEY_BYTES))
                os.fsync(fd)
            finally:
                os.close(fd)
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            f"Vault key file {path} has permissions {mode:o}; expected 600 (readable by its owner only)."
        )
    key = path.read_bytes()
    if len(key) != VAULT_KEY_BYTES:
        raise ConfigError(f"Vault key file {path} holds {len(key)} bytes; expected exactly {VAULT_KEY_BYTES} bytes.")
    return key


def derive_key(master: bytes, label: str) -> bytes:
    """A 32-byte sub-key for one purpose (HMAC-SHA256 of a fixed label under the master key)."""
    return hmac.new(master, label.encode("utf-8"), hashlib.sha256).digest()


def key_id(master: bytes) -> str:
    """A non-secret identifier of a key (16 hex), safe to record in manifests to detect a wrong key."""
    return derive_key(master, "juminzei key id v1").hex()[:16]


def new_run_id(stage: str, now: datetime | None = None) -> str:
    """A sortable, unique run id: ``20260105T093000Z-resident_snapshot-1a2b3c4d``.

    ``now`` is the run's start time (timezone-aware; naive values are taken as UTC). This and the CLI
    / DAG boundary are the only places that read the clock.
    """
    if not _STAGE_RE.match(stage):
        raise ConfigError(f"Stage name {stage!r} is not usable; expected lower-case letters, digits and underscores.")
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{stage}-{secrets.token_hex(4)}"
