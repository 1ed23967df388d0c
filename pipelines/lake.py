"""The Parquet lake (DESIGN §3): zones, partitions, atomic and idempotent partition writes, the vault.

Layout of one partition::

    <lake>/<zone>/<dataset>/municipality=<M>/fiscal_year=<N>/
        part-0.parquet     the rows, sorted by the business key, zstd, no timestamps
        _manifest.json     dataset, zone, municipality, fiscal_year, rows, files (name, rows, sha256,
                           bytes), schema (names, dtypes), schema_hash, content_sha256, run_id

A partition is written whole into a hidden temporary directory beside its target
(``.fiscal_year=<N>.tmp-<run_id>-<hex>``), every file and the directory are fsynced, and the
directory is swapped in with one ``renameat2(RENAME_EXCHANGE)`` (plain ``rename`` when the target does
not exist yet). The previous version, now at the temporary name, is then removed. A writer killed at
any moment leaves either the previous version or the new one visible, never a mixture; its leftover
temporary directory is hidden from readers and removed by the next write of the same partition.

Readers go through the manifest (:func:`read_partition`, :func:`scan_partition`) and read only the
files it names; a directory without a manifest, or whose files do not match it, is refused with a
:class:`~pipelines.errors.PartitionError`. Readers that glob the lake themselves must skip names
starting with ``.`` or ``_``.

Rerunning a write with the same rows leaves the partition untouched (same bytes, same manifest, same
run_id) and reports ``unchanged=True``. Columns named in ``compare_ignoring`` (e.g. the ``run_id`` of
quarantine rows) are left out of that comparison, so provenance columns do not defeat idempotency.

The vault (``vault/my_number/<M,N>``) is the only place a My Number rests: Parquet modular encryption
(Polars native, AES-GCM; never DuckDB for writing, see reference §3.3) with an encrypted footer and a
separate column key for ``my_number``, both derived from the master key in
:class:`~pipelines.config.Settings`. Every vault write and read appends an audit record.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import hmac
import io
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from pipelines.errors import ConfigError, PartitionError

if TYPE_CHECKING:
    from pipelines.config import Settings

ZONES: tuple[str, ...] = (
    "landing",     # files exactly as received; never modified
    "ledger",      # ingested-files ledger (exactly-once ingestion)
    "vault",       # 宛名番号 ↔ 個人番号, encrypted; the only place the My Number rests
    "staging",     # typed, validated rows per source
    "quarantine",  # rejected rows with reason code, file, record number, field
    "curated",     # tax basis, assessments, installments, notices
    "exports",     # hand-off files + manifest
    "reports",     # run reports (JSON)
    "audit",       # append-only, hash-chained access and operation log
)
PARTITIONED_ZONES = frozenset({"vault", "staging", "quarantine", "curated"})

DATA_FILE = "part-0.parquet"
MANIFEST_FILE = "_manifest.json"
MANIFEST_VERSION = 1

# Fixed writer settings: the bytes depend only on the rows (and the Polars version).
PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 3
PARQUET_ROW_GROUP_SIZE = 262_144

VAULT_DATASET = "my_number"
VAULT_SECRET_COLUMN = "my_number"

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100

# Test hook: called with a step name at each step of a write (fault injection in tests only).
_STEP_HOOK: Callable[[str], None] | None = None


def _step(name: str) -> None:
    if _STEP_HOOK is not None:
        _STEP_HOOK(name)


# --------------------------------------------------------------------------------------------- paths


def _check_zone(zone: str) -> None:
    if zone not in ZONES:
        raise ConfigError(f"Lake zone {zone!r} does not exist; expected one of {', '.join(ZONES)}.")


def _check_name(kind: str, value: str) -> None:
    if not value or "/" in value or value.startswith((".", "_")) or "=" in value:
        raise ConfigError(f"{kind} {value!r} is not a usable lake name; expected a plain name like 'residents'.")


def zone_path(lake: str | Path, zone: str) -> Path:
    """``<lake>/<zone>``."""
    _check_zone(zone)
    return Path(lake) / zone


def partition_path(lake: str | Path, zone: str, dataset: str, municipality: str, fiscal_year: int) -> Path:
    """``<lake>/<zone>/<dataset>/municipality=<M>/fiscal_year=<N>``."""
    from pipelines.config import check_fiscal_year, check_municipality

    _check_zone(zone)
    _check_name("Dataset", dataset)
    check_municipality(municipality)
    check_fiscal_year(fiscal_year)
    return Path(lake) / zone / dataset / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"


def relative_to_lake(lake: str | Path, path: str | Path) -> str:
    """``path`` relative to the lake root, with forward slashes (as stored in reports)."""
    return Path(path).resolve().relative_to(Path(lake).resolve()).as_posix()


# ------------------------------------------------------------------------------------------ fsync etc


def fsync_dir(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file_durable(path: Path, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_bytes_atomic(path: str | Path, data: bytes, mode: int = 0o644) -> Path:
    """Replace ``path`` with ``data`` atomically: readers see the old file or the new one, never a mix.

    tmp file ``.<name>.tmp-<hex>`` in the same directory → fsync → rename over the target → fsync the
    directory. A writer killed midway leaves at most the hidden tmp file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{secrets.token_hex(4)}"
    try:
        _write_file_durable(tmp, data, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)
    return path


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as JSON (sorted keys, indent 2, UTF-8) to ``path`` atomically."""
    return write_bytes_atomic(path, _json_bytes(obj))


def sha256_file(path: str | Path, *, dir_fd: int | None = None) -> tuple[str, int]:
    """(hex sha256, size in bytes) of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_RDONLY, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# ---------------------------------------------------------------------------------- atomic swapping


def _renameat2_exchange(src: Path, dst: Path) -> bool:
    """Atomically exchange two directories (Linux ≥3.15). False if the platform can't; raise on others."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError):
        return False
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    result = func(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(src), None, str(dst))


def _swap_in(tmp: Path, target: Path) -> None:
    """Make ``tmp`` visible at ``target``; the previous target (if any) is removed afterwards."""
    parent = target.parent
    if not target.exists():
        os.rename(tmp, target)
        _step("renamed")
        fsync_dir(parent)
        return
    if _renameat2_exchange(tmp, target):
        _step("exchanged")
        fsync_dir(parent)
        shutil.rmtree(tmp)  # tmp now holds the previous version
        _step("old_removed")
        return
    # Fallback without an atomic exchange: a short window where the target is absent. The previous
    # version stays at .old-…, and the next write (or an operator) restores it if we die in between.
    old = parent / f".{target.name}.old-{secrets.token_hex(4)}"
    os.rename(target, old)
    _step("fallback_moved_old")
    os.rename(tmp, target)
    fsync_dir(parent)
    shutil.rmtree(old)


@contextlib.contextmanager
def _partition_lock(target: Path):
    """Exclusive flock on the partition's parent directory (released by the kernel if we die)."""
    fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _clean_leftovers(target: Path) -> None:
    """Remove temp dirs of killed writers; restore a previous version left by the fallback path."""
    parent = target.parent
    tmp_prefix = f".{target.name}.tmp-"
    old_prefix = f".{target.name}.old-"
    olds = sorted(p for p in parent.iterdir() if p.name.startswith(old_prefix))
    if not target.exists() and len(olds) == 1 and (olds[0] / MANIFEST_FILE).exists():
        os.rename(olds[0], target)
        fsync_dir(parent)
        olds = []
    for leftover in parent.iterdir():
        if leftover.name.startswith(tmp_prefix) or leftover in olds:
            shutil.rmtree(leftover, ignore_errors=True)


# ------------------------------------------------------------------------------------------ encryption


@dataclass(frozen=True)
class PartitionEncryption:
    """Parquet modular encryption keys for one partition (Polars native; AES-GCM).

    ``footer_key`` encrypts the footer and every column without its own key; ``column_keys`` give
    selected columns their own key. Keys never appear in ``repr``; ``key_id`` is a non-secret id.
    """

    footer_key: bytes = field(repr=False)
    column_keys: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    key_id: str = ""

    @classmethod
    def from_master(cls, master: bytes, encrypted_columns: Iterable[str] = ()) -> PartitionEncryption:
        from pipelines.config import derive_key, key_id

        return cls(
            footer_key=derive_key(master, "juminzei parquet footer v1"),
            column_keys={c: derive_key(master, f"juminzei parquet column v1:{c}") for c in encrypted_columns},
            key_id=key_id(master),
        )

    def encryption_properties(self) -> pl.ParquetEncryptionProperties:
        return pl.ParquetEncryptionProperties(footer_key=self.footer_key, column_keys=dict(self.column_keys) or None)

    def decryption_properties(self, *, with_column_keys: bool = True) -> pl.ParquetDecryptionProperties:
        return pl.ParquetDecryptionProperties(
            footer_key=self.footer_key,
            column_keys=(dict(self.column_keys) or None) if with_column_keys else None,
        )

    def content_digest(self, data: bytes) -> str:
        """Keyed digest of plaintext content (the vault's idempotency key): no unkeyed hash of PII."""
        return hmac.new(self.footer_key, data, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------------------------- writes


@dataclass(frozen=True)
class PartitionWrite:
    """What :func:`write_partition` did. ``run_id`` is the run that produced the visible version."""

    lake: Path
    zone: str
    dataset: str
    municipality: str
    fiscal_year: int
    path: Path
    rows: int
    sha256: str
    bytes: int
    unchanged: bool
    run_id: str
    manifest: dict = field(repr=False)

    def to_report(self) -> dict:
        """The entry of a run report's ``outputs`` list."""
        return {
            "dataset": self.dataset,
            "zone": self.zone,
            "path": relative_to_lake(self.lake, self.path),
            "rows": self.rows,
            "sha256": self.sha256,
            "unchanged": self.unchanged,
        }


def schema_of(df: pl.DataFrame) -> dict:
    return {"names": list(df.columns), "dtypes": [str(dtype) for dtype in df.dtypes]}


def schema_hash(schema: Mapping[str, Sequence[str]]) -> str:
    pairs = [[n, d] for n, d in zip(schema["names"], schema["dtypes"], strict=True)]
    return hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode("utf-8")).hexdigest()


def _sorted(df: pl.DataFrame, sort_by: Sequence[str]) -> pl.DataFrame:
    missing = [c for c in sort_by if c not in df.columns]
    if missing:
        raise ConfigError(f"Cannot sort by {missing}: the frame has columns {df.columns}.")
    # The key first, then every other column, so equal keys cannot leave the order to chance.
    rest = [c for c in df.columns if c not in sort_by and _sortable(df.schema[c])]
    return df.sort([*sort_by, *rest], nulls_last=True, maintain_order=True)


def _sortable(dtype: pl.DataType) -> bool:
    return not isinstance(dtype, (pl.List, pl.Array, pl.Struct, pl.Object))


def _parquet_bytes(df: pl.DataFrame, encryption: pl.ParquetEncryptionProperties | None = None) -> bytes:
    buffer = io.BytesIO()
    df.write_parquet(
        buffer,
        compression=PARQUET_COMPRESSION,
        compression_level=PARQUET_COMPRESSION_LEVEL,
        row_group_size=PARQUET_ROW_GROUP_SIZE,
        statistics=encryption is None,
        encryption=encryption,
    )
    return buffer.getvalue()


def _existing_manifest(target: Path) -> dict | None:
    try:
        return json.loads((target / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _existing_matches(target: Path, manifest: dict | None, content_sha256: str, schema_digest: str) -> bool:
    if not manifest or manifest.get("content_sha256") != content_sha256 or manifest.get("schema_hash") != schema_digest:
        return False
    for entry in manifest.get("files", []):
        try:
            digest, size = sha256_file(target / entry["name"])
        except (FileNotFoundError, KeyError):
            return False
        if digest != entry.get("sha256") or size != entry.get("bytes"):
            return False  # damaged on disk: rewrite
    return True


def write_partition(
    lake: str | Path,
    zone: str,
    dataset: str,
    municipality: str,
    fiscal_year: int,
    df: pl.DataFrame,
    *,
    sort_by: Sequence[str],
    run_id: str,
    encryption: PartitionEncryption | None = None,
    compare_ignoring: Sequence[str] = (),
) -> PartitionWrite:
    """Write one partition atomically and idempotently (see the module docstring).

    ``sort_by`` is the business key (rows are sorted by it, then by every other column);
    ``compare_ignoring`` names provenance columns left out of the "same content?" comparison.
    """
    if zone not in PARTITIONED_ZONES:
        raise ConfigError(f"Zone {zone!r} does not hold partitions; expected one of {sorted(PARTITIONED_ZONES)}.")
    if isinstance(df, pl.LazyFrame):
        raise ConfigError("write_partition takes a collected DataFrame (validate it first), not a LazyFrame.")
    lake = Path(lake)
    target = partition_path(lake, zone, dataset, municipality, fiscal_year)
    # Lake data is personal data: never world-readable; the vault is for its owner only.
    private = zone == "vault" or encryption is not None
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o750)

    frame = _sorted(df, sort_by)
    schema = schema_of(frame)
    schema_digest = schema_hash(schema)
    if encryption is not None:
        data = _parquet_bytes(frame, encryption.encryption_properties())
        plain = _parquet_bytes(frame.drop([c for c in compare_ignoring if c in frame.columns]))
        content_sha256 = encryption.content_digest(plain)
        del plain
    else:
        data = _parquet_bytes(frame)
        ignored = [c for c in compare_ignoring if c in frame.columns]
        content_sha256 = (
            hashlib.sha256(_parquet_bytes(frame.drop(ignored))).hexdigest()
            if ignored
            else hashlib.sha256(data).hexdigest()
        )
    data_sha256 = hashlib.sha256(data).hexdigest()

    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "dataset": dataset,
        "zone": zone,
        "municipality": municipality,
        "fiscal_year": fiscal_year,
        "rows": frame.height,
        "files": [{"name": DATA_FILE, "rows": frame.height, "sha256": data_sha256, "bytes": len(data)}],
        "schema": schema,
        "schema_hash": schema_digest,
        "sort_by": list(sort_by),
        "content_sha256": content_sha256,
        "content_digest": "hmac-sha256" if encryption is not None else "sha256",
        "content_ignores": sorted(compare_ignoring),
        "encryption": (
            None
            if encryption is None
            else {
                "scheme": "parquet-modular-encryption/AES_GCM_V1",
                "footer": "encrypted",
                "key_id": encryption.key_id,
                "column_keys": sorted(encryption.column_keys),
            }
        ),
        "run_id": run_id,
    }

    with _partition_lock(target):
        _clean_leftovers(target)
        existing = _existing_manifest(target)
        if _existing_matches(target, existing, content_sha256, schema_digest):
            first = existing["files"][0]
            return PartitionWrite(
                lake, zone, dataset, municipality, fiscal_year, target, existing["rows"],
                first["sha256"], first["bytes"], True, existing["run_id"], existing,
            )
        tmp = target.parent / f".{target.name}.tmp-{run_id}-{secrets.token_hex(4)}"
        tmp.mkdir(mode=0o700 if private else 0o750)
        _step("tmp_created")
        file_mode = 0o600 if private else 0o640
        _write_file_durable(tmp / DATA_FILE, data, file_mode)
        _step("data_written")
        _write_file_durable(tmp / MANIFEST_FILE, _json_bytes(manifest), file_mode)
        fsync_dir(tmp)
        _step("manifest_written")
        _swap_in(tmp, target)
        _step("done")
    return PartitionWrite(
        lake, zone, dataset, municipality, fiscal_year, target, frame.height,
        data_sha256, len(data), False, run_id, manifest,
    )


# ---------------------------------------------------------------------------------------------- reads


def read_manifest(lake: str | Path, zone: str, dataset: str, municipality: str, fiscal_year: int) -> dict:
    """The manifest of a visible partition; :class:`PartitionError` if there is none."""
    target = partition_path(lake, zone, dataset, municipality, fiscal_year)
    manifest = _existing_manifest(target)
    if manifest is None:
        raise PartitionError(_absent_message(target, zone, dataset))
    return manifest


def partition_exists(lake: str | Path, zone: str, dataset: str, municipality: str, fiscal_year: int) -> bool:
    return (partition_path(lake, zone, dataset, municipality, fiscal_year) / MANIFEST_FILE).is_file()


def _absent_message(target: Path, zone: str, dataset: str) -> str:
    leftovers = [p.name for p in target.parent.glob(f".{target.name}.old-*")] if target.parent.exists() else []
    hint = (
        " An interrupted write left the previous version aside; the next run of the stage restores it."
        if leftovers
        else f" Run the stage that writes {zone}/{dataset} for this municipality and fiscal year first."
    )
    return f"Partition {target} is absent or has no {MANIFEST_FILE}.{hint}"


def _decryption(
    decryption: PartitionEncryption | pl.ParquetDecryptionProperties | None,
) -> pl.ParquetDecryptionProperties | None:
    if isinstance(decryption, PartitionEncryption):
        return decryption.decryption_properties()
    return decryption


def read_partition(
    lake: str | Path,
    zone: str,
    dataset: str,
    municipality: str,
    fiscal_year: int,
    *,
    columns: Sequence[str] | None = None,
    decryption: PartitionEncryption | pl.ParquetDecryptionProperties | None = None,
    verify: bool = True,
) -> pl.DataFrame:
    """Read a whole partition through its manifest, isolated from a concurrent swap.

    The directory is opened once and every file is read relative to that handle, so a writer
    swapping in a new version meanwhile cannot mix versions. With ``verify`` the sha256 of every
    file is checked against the manifest.
    """
    target = partition_path(lake, zone, dataset, municipality, fiscal_year)
    for _attempt in range(3):
        try:
            dir_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            raise PartitionError(_absent_message(target, zone, dataset)) from None
        try:
            try:
                manifest = json.loads(_read_at(dir_fd, MANIFEST_FILE))
            except FileNotFoundError:
                raise PartitionError(_absent_message(target, zone, dataset)) from None
            frames = []
            for entry in manifest["files"]:
                data = _read_at(dir_fd, entry["name"])
                if len(data) != entry["bytes"] or (verify and hashlib.sha256(data).hexdigest() != entry["sha256"]):
                    raise PartitionError(
                        f"Partition {target}: file {entry['name']} does not match its manifest "
                        f"(expected {entry['bytes']} bytes with sha256 {entry['sha256'][:12]}…); rerun the stage."
                    )
                frames.append(
                    pl.read_parquet(io.BytesIO(data), columns=list(columns) if columns else None,
                                    decryption=_decryption(decryption))
                )
            return pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
        except FileNotFoundError:
            continue  # the version we opened was swapped out and removed meanwhile: read the new one
        finally:
            os.close(dir_fd)
    raise PartitionError(f"Partition {target} kept changing while being read; retry when its writer has finished.")


def _read_at(dir_fd: int, name: str) -> bytes:
    fd = os.open(name, os.O_RDONLY, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def scan_partition(
    lake: str | Path,
    zone: str,
    dataset: str,
    municipality: str,
    fiscal_year: int,
    *,
    decryption: PartitionEncryption | pl.ParquetDecryptionProperties | None = None,
) -> pl.LazyFrame:
    """A LazyFrame over the files the manifest names (checked to exist with the manifest's sizes).

    A lazy scan reads later, so unlike :func:`read_partition` it is not isolated from a writer
    swapping the partition during the scan; stages never read and write the same partition at once.
    """
    target = partition_path(lake, zone, dataset, municipality, fiscal_year)
    manifest = read_manifest(lake, zone, dataset, municipality, fiscal_year)
    paths = []
    for entry in manifest["files"]:
        path = target / entry["name"]
        if not path.is_file() or path.stat().st_size != entry["bytes"]:
            raise PartitionError(
                f"Partition {target}: file {entry['name']} named by the manifest is missing or has the wrong size; "
                "rerun the stage."
            )
        paths.append(str(path))
    return pl.scan_parquet(paths, decryption=_decryption(decryption), hive_partitioning=False)


# ---------------------------------------------------------------------------------------------- vault


def vault_encryption(master_key: bytes) -> PartitionEncryption:
    """Encrypted footer (footer key) + its own column key for ``my_number``, both from the master key."""
    return PartitionEncryption.from_master(master_key, [VAULT_SECRET_COLUMN])


def write_vault(
    settings: Settings,
    municipality: str,
    fiscal_year: int,
    df: pl.DataFrame,
    *,
    run_id: str,
    reason: str,
    key: bytes | None = None,
) -> PartitionWrite:
    """Write the 宛名番号 ↔ 個人番号 partition (encrypted) and append an audit record."""
    from pipelines.audit import append_audit

    if not reason or not reason.strip():
        raise ConfigError("A vault write needs a reason (処理事由) for the audit log; none was given.")
    master = key if key is not None else settings.vault_key()
    result = write_partition(
        settings.lake, "vault", VAULT_DATASET, municipality, fiscal_year, df,
        sort_by=["atena_no"], run_id=run_id, encryption=vault_encryption(master),
    )
    append_audit(
        settings.lake,
        operation="vault_write",
        reason=reason,
        run_id=run_id,
        dataset=f"vault/{VAULT_DATASET}",
        atena_nos=df.get_column("atena_no"),
        actor=settings.actor,
        department=settings.department,
        host=settings.host,
        details={
            "partition": relative_to_lake(settings.lake, result.path),
            "rows": result.rows,
            "unchanged": result.unchanged,
        },
    )
    return result


def read_vault(
    settings: Settings,
    municipality: str,
    fiscal_year: int,
    *,
    reason: str,
    run_id: str | None,
    atena_nos: Sequence[str] | None = None,
    key: bytes | None = None,
) -> pl.DataFrame:
    """Read the vault (all rows, or those of ``atena_nos``); the audit record is appended before returning.

    A read without a reason (処理事由) is refused. The audit record names the 宛名番号 read (or, for a
    bulk read, their count and digest).
    """
    from pipelines.audit import append_audit

    if not reason or not reason.strip():
        raise ConfigError("A vault read needs a reason (処理事由) for the audit log; none was given.")
    master = key if key is not None else settings.vault_key(create=False)
    frame = read_partition(
        settings.lake, "vault", VAULT_DATASET, municipality, fiscal_year, decryption=vault_encryption(master)
    )
    if atena_nos is not None:
        frame = frame.filter(pl.col("atena_no").is_in(list(atena_nos)))
    append_audit(
        settings.lake,
        operation="vault_read",
        reason=reason,
        run_id=run_id,
        dataset=f"vault/{VAULT_DATASET}",
        atena_nos=frame.get_column("atena_no"),
        actor=settings.actor,
        department=settings.department,
        host=settings.host,
        details={
            "partition": relative_to_lake(settings.lake, partition_path(
                settings.lake, "vault", VAULT_DATASET, municipality, fiscal_year)),
            "rows": frame.height,
        },
    )
    return frame
