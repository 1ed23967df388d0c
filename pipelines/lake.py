"""The Parquet lake (docs/architecture.md §3): zones, partitions, atomic and idempotent partition writes, the vault.

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
:class:`~contracts.errors.PartitionError`. Readers that glob the lake themselves must skip names
starting with ``.`` or ``_``.

Rerunning a write with the same rows leaves the partition untouched (same bytes, same manifest, same
run_id) and reports ``unchanged=True``. Columns named in ``compare_ignoring`` (e.g. the ``run_id`` of
quarantine rows) are left out of that comparison, so provenance columns do not defeat idempotency.

The vault (``vault/my_number/<M,N>``) is the only place a My Number rests: Parquet modular encryption
(Polars native, AES-GCM; never DuckDB for writing, see docs/sources.md P3.3) with an encrypted footer and a
separate column key for ``my_number``, derived from two keys of the key provider (:mod:`pipelines.keys`:
purposes ``vault`` and ``my_number``, by version; the manifest names the versions). Every vault write and
read appends an audit record.

The My Number guard
-------------------
Every write outside the vault goes through :func:`refuse_my_numbers` first: a partition of the zones
``staging``, ``quarantine`` and ``curated`` (:func:`write_partition`), a run report
(:func:`write_json_atomic` under ``reports/``), and any export writer (call it yourself, except for a
permitted export that must carry the number). It refuses (:class:`MyNumberLeakError`, naming the
dataset and the column, never the value; nothing is written) a text column that holds a *standalone*
12-digit number — a run of exactly 12 digits, ASCII or full-width, not part of a longer digit run —
that is the My Number of a person in the vault of the same municipality and fiscal year. So hashes,
法人番号 (13 digits), phone numbers, 宛名番号 and 12-digit numbers of nobody in the vault pass.

How: per text column (String, Categorical, lists of them) a regex extracts the digit runs of 12 or more
characters from the rows that have one; runs of exactly 12 that pass the check digit (平成26年総務省令
第85号 第5条) are semi-joined with the vault's numbers, held in memory for the run. Those numbers are
the ones the run already read or wrote (:func:`read_vault`, :func:`write_vault`), the ones a stage is
about to put in the vault (:func:`hold_my_numbers`), or else read once, with an audit record, with the
settings of the running stage (:func:`use_guard_settings`, set by :func:`pipelines.stage.execute`) or
of the environment. A lake without a vault for that municipality and year has nobody to protect.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
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

from contracts.errors import AppendOnlyError, ConfigError, ContractError, PartitionError

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
    "preview",     # dry-run renderings of the hand-offs and the operator's sample PDFs; never handed off
    "reports",     # run reports (JSON)
    "audit",       # append-only audit trail, chained by a keyed MAC (pipelines.audit)
    "locks",       # one lock file per stage and partition while a run works (pipelines.locks); no data
)
PARTITIONED_ZONES = frozenset({"vault", "staging", "quarantine", "curated"})

DATA_FILE = "part-0.parquet"
MANIFEST_FILE = "_manifest.json"
MANIFEST_VERSION = 1

# Fixed writer settings: the bytes depend only on the rows (and the Polars version).
PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 3
PARQUET_ROW_GROUP_SIZE = 262_144

#: the key of an append-only dataset's partitions, one per posting run (:func:`write_partition` with ``run``)
RUN_KEY = "posting_run"

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


def partition_path(lake: str | Path, zone: str, dataset: str, municipality: str, fiscal_year: int, *,
                   run: str | None = None) -> Path:
    """``<lake>/<zone>/<dataset>/municipality=<M>/fiscal_year=<N>``; with ``run``, the append-only partition of
    one posting run beneath it: ``…/fiscal_year=<N>/posting_run=<run>`` (:data:`RUN_KEY`)."""
    from pipelines.config import check_fiscal_year, check_municipality

    _check_zone(zone)
    _check_name("Dataset", dataset)
    check_municipality(municipality)
    check_fiscal_year(fiscal_year)
    path = Path(lake) / zone / dataset / f"municipality={municipality}" / f"fiscal_year={fiscal_year}"
    if run is None:
        return path
    _check_name("Posting run", run)
    return path / f"{RUN_KEY}={run}"


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
    """Write ``obj`` as JSON (sorted keys, indent 2, UTF-8) to ``path`` atomically. A run report
    (``<lake>/reports/<stage>/municipality=M/fiscal_year=N/…``) passes the My Number guard first."""
    data = _json_bytes(obj)
    scope = _report_scope(Path(path))
    if scope is not None:
        lake, municipality, fiscal_year = scope
        text = pl.DataFrame({"report": [data.decode("utf-8")]})
        refuse_my_numbers(text, lake=lake, municipality=municipality, fiscal_year=fiscal_year,
                          what=f"reports/{Path(path).parent.parent.parent.name}/{Path(path).name}")
    return write_bytes_atomic(path, data)


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
    from pipelines.locks import held_flock

    with held_flock(target.parent, flags=os.O_RDONLY | os.O_DIRECTORY):
        yield


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
    #: the key provider's versions the keys came from (``{"vault": 2, "my_number": 2}``), kept in the manifest
    key_versions: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_master(cls, master: bytes, encrypted_columns: Iterable[str] = ()) -> PartitionEncryption:
        return cls.from_keys(master, {c: master for c in encrypted_columns})

    @classmethod
    def from_keys(cls, footer_master: bytes, column_masters: Mapping[str, bytes],
                  key_versions: Mapping[str, int] | None = None) -> PartitionEncryption:
        """The footer key from ``footer_master``, each column's key from its own master (one master for all
        gives the keys of :meth:`from_master`)."""
        from pipelines.config import derive_key, key_id

        return cls(
            footer_key=derive_key(footer_master, "juminzei parquet footer v1"),
            column_keys={c: derive_key(m, f"juminzei parquet column v1:{c}") for c, m in column_masters.items()},
            key_id=key_id(footer_master),
            key_versions=dict(key_versions or {}),
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
    run: str | None = None,
) -> PartitionWrite:
    """Write one partition atomically and idempotently (see the module docstring).

    ``sort_by`` is the business key (rows are sorted by it, then by every other column);
    ``compare_ignoring`` names provenance columns left out of the "same content?" comparison.
    ``run`` writes the partition of one posting run of an append-only dataset (:func:`run_partitions`): once
    written it is never replaced; writing it again with the same rows changes nothing, with other rows is
    refused (:class:`AppendOnlyError`).
    """
    if zone not in PARTITIONED_ZONES:
        raise ConfigError(f"Zone {zone!r} does not hold partitions; expected one of {sorted(PARTITIONED_ZONES)}.")
    if isinstance(df, pl.LazyFrame):
        raise ConfigError("write_partition takes a collected DataFrame (validate it first), not a LazyFrame.")
    lake = Path(lake)
    target = partition_path(lake, zone, dataset, municipality, fiscal_year, run=run)
    if zone in GUARDED_ZONES:
        refuse_my_numbers(df, lake=lake, municipality=municipality, fiscal_year=fiscal_year, what=f"{zone}/{dataset}")
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
                **({"key_versions": dict(sorted(encryption.key_versions.items()))} if encryption.key_versions else {}),
            }
        ),
        "run_id": run_id,
    }
    if run is not None:
        manifest[RUN_KEY] = run

    with _partition_lock(target):
        _clean_leftovers(target)
        existing = _existing_manifest(target)
        if _existing_matches(target, existing, content_sha256, schema_digest):
            first = existing["files"][0]
            return PartitionWrite(
                lake, zone, dataset, municipality, fiscal_year, target, existing["rows"],
                first["sha256"], first["bytes"], True, existing["run_id"], existing,
            )
        if run is not None and existing is not None:
            raise AppendOnlyError(
                f"{zone}/{dataset} of {municipality}/{fiscal_year}: posting run {run} was posted by run "
                f"{existing['run_id']} with other rows ({existing['rows']} rows), and a posted run is never "
                "changed. Post the difference in a later posting run.")
        tmp = target.parent / f".{target.name}.tmp-{run_id}-{secrets.token_hex(4)}"
        tmp.mkdir(mode=0o700 if private else 0o750)
        _step("tmp_created")
        file_mode = 0o600 if private else 0o640
        try:
            _write_file_durable(tmp / DATA_FILE, data, file_mode)
            _step("data_written")
            _write_file_durable(tmp / MANIFEST_FILE, _json_bytes(manifest), file_mode)
            fsync_dir(tmp)
        except OSError:  # a full disk, no permission: the previous version stays, the half-written one goes
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _step("manifest_written")
        _swap_in(tmp, target)
        _step("done")
    return PartitionWrite(
        lake, zone, dataset, municipality, fiscal_year, target, frame.height,
        data_sha256, len(data), False, run_id, manifest,
    )


# ---------------------------------------------------------------------------------------------- reads


def read_manifest(lake: str | Path, zone: str, dataset: str, municipality: str, fiscal_year: int, *,
                  run: str | None = None) -> dict:
    """The manifest of a visible partition; :class:`PartitionError` if there is none."""
    target = partition_path(lake, zone, dataset, municipality, fiscal_year, run=run)
    manifest = _existing_manifest(target)
    if manifest is None:
        raise PartitionError(_absent_message(target, zone, dataset))
    return manifest


def partition_exists(lake: str | Path, zone: str, dataset: str, municipality: str, fiscal_year: int, *,
                     run: str | None = None) -> bool:
    return (partition_path(lake, zone, dataset, municipality, fiscal_year, run=run) / MANIFEST_FILE).is_file()


def run_partitions(lake: str | Path, zone: str, dataset: str, municipality: str, fiscal_year: int, *,
                   through: str | None = None) -> list[str]:
    """The posting runs of an append-only dataset that are visible (have a manifest), in order; with ``through``,
    those up to it. A run being written (a hidden temporary directory) is not among them."""
    base = partition_path(lake, zone, dataset, municipality, fiscal_year)
    if not base.is_dir():
        return []
    prefix = f"{RUN_KEY}="
    runs = sorted(p.name[len(prefix):] for p in base.iterdir()
                  if p.name.startswith(prefix) and (p / MANIFEST_FILE).is_file())
    return [r for r in runs if through is None or r <= through]


def read_run_partitions(lake: str | Path, zone: str, dataset: str, municipality: str, fiscal_year: int, *,
                        through: str | None = None, columns: Sequence[str] | None = None,
                        schema: Mapping[str, pl.DataType] | None = None) -> pl.DataFrame:
    """Every posting run of an append-only dataset (up to ``through``) read through its manifest and checked,
    concatenated in run order; an empty frame of ``schema`` when there is none yet."""
    runs = run_partitions(lake, zone, dataset, municipality, fiscal_year, through=through)
    frames = [read_partition(lake, zone, dataset, municipality, fiscal_year, columns=columns, run=r) for r in runs]
    if not frames:
        if schema is None:
            raise PartitionError(f"{zone}/{dataset} of {municipality}/{fiscal_year} has no posting run yet.")
        return pl.DataFrame(schema=dict(schema) if columns is None else {c: schema[c] for c in columns})
    return pl.concat(frames, how="vertical")


def run_partition_files(lake: str | Path, zone: str, dataset: str, municipality: str, fiscal_year: int, *,
                        through: str | None = None) -> list[Path]:
    """The Parquet files of the posting runs (up to ``through``), as their manifests name them: what a DuckDB
    statement of ``sql/`` reads (:func:`pipelines.sql.run_statement`)."""
    files = []
    for r in run_partitions(lake, zone, dataset, municipality, fiscal_year, through=through):
        target = partition_path(lake, zone, dataset, municipality, fiscal_year, run=r)
        files += [target / entry["name"] for entry in read_manifest(lake, zone, dataset, municipality, fiscal_year,
                                                                      run=r)["files"]]
    return files


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
    run: str | None = None,
) -> pl.DataFrame:
    """Read a whole partition through its manifest, isolated from a concurrent swap.

    The directory is opened once and every file is read relative to that handle, so a writer
    swapping in a new version meanwhile cannot mix versions. With ``verify`` the sha256 of every
    file is checked against the manifest. ``run``: one posting run of an append-only dataset.
    """
    target = partition_path(lake, zone, dataset, municipality, fiscal_year, run=run)
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


def vault_encryption(master_key: bytes, number_key: bytes | None = None,
                     versions: Mapping[str, int] | None = None) -> PartitionEncryption:
    """Encrypted footer (the ``vault`` key) + its own column key for ``my_number`` (the ``my_number`` key;
    by default the same master, as in the vaults of the first releases)."""
    return PartitionEncryption.from_keys(
        master_key, {VAULT_SECRET_COLUMN: number_key if number_key is not None else master_key}, versions)


#: the key provider's purposes of the vault (pipelines.keys): the footer and 宛名番号, and the My Number column
VAULT_PURPOSES = ("vault", "my_number")
#: the versions of a vault manifest written before key versions (the adopted single key file)
LEGACY_KEY_VERSIONS = {"vault": 1, "my_number": 1}


def vault_write_encryption(settings: Settings) -> PartitionEncryption:
    """The encryption of a vault write: the current version of both vault keys (made on first use).
    Call it before a stage's first write, so a key problem stops the run before anything is written."""
    keys = settings.keys()
    footer, number = (keys.current(purpose) for purpose in VAULT_PURPOSES)
    return vault_encryption(footer.material, number.material, {"vault": footer.version, "my_number": number.version})


def vault_key_versions(manifest: Mapping[str, Any] | None) -> dict[str, int]:
    """The key versions a vault partition was written under (its manifest), legacy partitions version 1."""
    versions = ((manifest or {}).get("encryption") or {}).get("key_versions")
    return {k: int(v) for k, v in versions.items()} if versions else dict(LEGACY_KEY_VERSIONS)


def _vault_decryption(settings: Settings, manifest: Mapping[str, Any] | None, *, numbers: bool) -> PartitionEncryption:
    from pipelines.keys import KeyPermissionError

    versions = vault_key_versions(manifest)
    keys = settings.keys()
    footer = keys.get("vault", versions["vault"])
    if not numbers:
        return PartitionEncryption.from_keys(footer.material, {}, {"vault": footer.version})
    try:
        number = keys.get("my_number", versions["my_number"])
    except KeyPermissionError as error:
        raise KeyPermissionError(
            f"This process holds no My Number key (purpose my_number, version {versions['my_number']}): it may read "
            f"the vault's 宛名番号 (read_vault(..., numbers=False)) but not the numbers. {error}") from None
    return vault_encryption(footer.material, number.material, versions)


def write_vault(
    settings: Settings,
    municipality: str,
    fiscal_year: int,
    df: pl.DataFrame,
    *,
    run_id: str,
    reason: str,
    key: bytes | None = None,
    encryption: PartitionEncryption | None = None,
) -> PartitionWrite:
    """Write the 宛名番号 ↔ 個人番号 partition (encrypted under the current vault keys, or ``encryption`` from
    :func:`vault_write_encryption`, or one explicit master ``key``) and append an audit record."""
    from pipelines.audit import append_audit

    if not reason or not reason.strip():
        raise ConfigError("A vault write needs a reason (処理事由) for the audit log; none was given.")
    from pipelines.locks import vault_lock

    with vault_lock(settings.lake, exclusive=False):  # no key rotation meanwhile (pipelines/vault.py)
        if key is not None:
            encryption = vault_encryption(key)
        elif encryption is None or encryption.key_versions != vault_write_encryption(settings).key_versions:
            encryption = vault_write_encryption(settings)  # the keys were rotated since the run fetched them
        result = write_partition(
            settings.lake, "vault", VAULT_DATASET, municipality, fiscal_year, df,
            sort_by=["atena_no"], run_id=run_id, encryption=encryption,
        )
    _remember_vault(settings.lake, municipality, fiscal_year, result.manifest.get("content_sha256"),
                    df.get_column(VAULT_SECRET_COLUMN))
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
        settings=settings,
        details={
            "partition": relative_to_lake(settings.lake, result.path),
            "rows": result.rows,
            "unchanged": result.unchanged,
            "key_versions": dict(encryption.key_versions),
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
    numbers: bool = True,
) -> pl.DataFrame:
    """Read the vault (all rows, or those of ``atena_nos``); the audit record is appended before returning.

    A read without a reason (処理事由) is refused. The audit record names the 宛名番号 read (or, for a
    bulk read, their count and digest). The keys are the versions the partition's manifest names (or one
    explicit master ``key``). ``numbers=False`` reads every column but the My Number with the ``vault`` key
    alone; a process without the ``my_number`` key gets :class:`pipelines.keys.KeyPermissionError` when it
    asks for the numbers.
    """
    from pipelines.audit import append_audit

    if not reason or not reason.strip():
        raise ConfigError("A vault read needs a reason (処理事由) for the audit log; none was given.")
    target = partition_path(settings.lake, "vault", VAULT_DATASET, municipality, fiscal_year)
    manifest = _existing_manifest(target)
    if manifest is None:
        raise PartitionError(_absent_message(target, "vault", VAULT_DATASET))
    if key is not None:
        encryption = vault_encryption(key)
    else:
        encryption = _vault_decryption(settings, manifest, numbers=numbers)
    columns = None
    if not numbers:
        columns = [c for c in manifest["schema"]["names"] if c != VAULT_SECRET_COLUMN]
    frame = read_partition(
        settings.lake, "vault", VAULT_DATASET, municipality, fiscal_year, columns=columns,
        decryption=encryption.decryption_properties(with_column_keys=numbers),
    )
    if numbers:  # the guard of this run uses the numbers just read (no second read)
        _remember_vault(settings.lake, municipality, fiscal_year, manifest.get("content_sha256"),
                        frame.get_column(VAULT_SECRET_COLUMN))
    if atena_nos is not None:
        frame = frame.filter(pl.col("atena_no").is_in(list(atena_nos)))
    append_audit(
        settings.lake,
        operation="vault_read" if numbers else "vault_read_without_numbers",
        reason=reason,
        run_id=run_id,
        dataset=f"vault/{VAULT_DATASET}",
        atena_nos=frame.get_column("atena_no"),
        actor=settings.actor,
        department=settings.department,
        host=settings.host,
        settings=settings,
        details={"partition": relative_to_lake(settings.lake, target), "rows": frame.height},
    )
    return frame


# ------------------------------------------------------------------------------------ My Number guard

GUARDED_ZONES = frozenset({"staging", "quarantine", "curated"})
GUARD_REASON = (
    "個人番号の漏えい防止: 保管庫外への書込み（staging・quarantine・curated・報告）に保管庫の個人番号が含まれないことの検査 "
    "(番号法第12条 安全管理措置)"
)
_STANDALONE_RUN = r"[0-9０-９]{12,}"  # greedy: a longer digit run is captured whole and then ruled out by length
_FULLWIDTH_DIGITS = [chr(0xFF10 + i) for i in range(10)]
_ASCII_DIGITS = [str(i) for i in range(10)]
_GUARD_CACHE_SIZE = 4


class MyNumberLeakError(ContractError):
    """A write outside the vault would have carried the My Number of a person in the vault."""


@dataclass(frozen=True)
class _VaultNumbers:
    digest: str | None  # content_sha256 of the vault manifest the numbers came from
    numbers: pl.DataFrame  # one column ``number`` (String), unique


_VAULT_NUMBERS: dict[tuple[str, str, int], _VaultNumbers] = {}
_PENDING_NUMBERS: dict[tuple[str, str, int], pl.DataFrame] = {}
_GUARD_SETTINGS: dict[str, Any] = {"settings": None, "run_id": None}


def _guard_key(lake: str | Path, municipality: str, fiscal_year: int) -> tuple[str, str, int]:
    return (str(Path(lake).resolve()), municipality, int(fiscal_year))


def _numbers_frame(numbers: pl.Series) -> pl.DataFrame:
    return pl.DataFrame({"number": numbers.cast(pl.String)}).drop_nulls().unique()


def _remember_vault(lake: str | Path, municipality: str, fiscal_year: int, digest: str | None,
                    numbers: pl.Series) -> None:
    key = _guard_key(lake, municipality, fiscal_year)
    _VAULT_NUMBERS.pop(key, None)
    while len(_VAULT_NUMBERS) >= _GUARD_CACHE_SIZE:  # keep memory bounded in long-lived processes (tests)
        _VAULT_NUMBERS.pop(next(iter(_VAULT_NUMBERS)))
    _VAULT_NUMBERS[key] = _VaultNumbers(digest, _numbers_frame(numbers))
    _PENDING_NUMBERS.pop(key, None)


def use_guard_settings(settings: Settings | None, run_id: str | None = None) -> None:
    """The settings (vault key, audit identity) with which the guard reads a vault it has not seen in
    this run; :func:`pipelines.stage.execute` sets them for every stage run. Without them the guard
    uses :meth:`Settings.from_env`."""
    _GUARD_SETTINGS["settings"] = settings
    _GUARD_SETTINGS["run_id"] = run_id


def hold_my_numbers(lake: str | Path, municipality: str, fiscal_year: int, numbers: pl.Series) -> None:
    """Numbers that this run will write to the vault (resident_snapshot stages the residents before it
    swaps the vault in): the guard refuses them too until :func:`write_vault` has written them."""
    key = _guard_key(lake, municipality, fiscal_year)
    _PENDING_NUMBERS[key] = _numbers_frame(numbers)


def _load_vault_numbers(lake: Path, municipality: str, fiscal_year: int) -> None:
    import dataclasses

    from pipelines.config import Settings

    settings = _GUARD_SETTINGS["settings"] or Settings.from_env()
    if Path(settings.lake).resolve() != lake.resolve():
        settings = dataclasses.replace(settings, lake=lake)
    try:
        read_vault(settings, municipality, fiscal_year, reason=GUARD_REASON, run_id=_GUARD_SETTINGS["run_id"])
    except (ConfigError, PartitionError) as error:
        raise ConfigError(
            f"The My Number guard cannot read the vault of {municipality}/{fiscal_year} to check a write: {error} "
            "Nothing was written."
        ) from None
    except Exception as error:  # a wrong key: the decryption error may quote bytes, so only its type
        raise ConfigError(
            f"The My Number guard cannot open the vault of {municipality}/{fiscal_year} to check a write "
            f"({type(error).__name__}; is JUMINZEI_KEY_DIR the key directory of this lake?). Nothing was written."
        ) from None


def _guard_numbers(lake: Path, municipality: str, fiscal_year: int) -> pl.DataFrame | None:
    """The numbers to refuse for (lake, municipality, fiscal year), or None when there are none."""
    key = _guard_key(lake, municipality, fiscal_year)
    frames = []
    vault = _existing_manifest(partition_path(lake, "vault", VAULT_DATASET, municipality, fiscal_year))
    if vault is not None:
        known = _VAULT_NUMBERS.get(key)
        if known is None or known.digest != vault.get("content_sha256"):
            _load_vault_numbers(lake, municipality, fiscal_year)
            known = _VAULT_NUMBERS[key]
        frames.append(known.numbers)
    if key in _PENDING_NUMBERS:
        frames.append(_PENDING_NUMBERS[key])
    if not frames:
        return None
    return pl.concat(frames, how="vertical").unique() if len(frames) > 1 else frames[0]


def _text_columns(frame: pl.DataFrame) -> dict[str, pl.Expr]:
    """Every column that can hold text, as one String expression per row (lists joined by spaces)."""
    out: dict[str, pl.Expr] = {}
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            out[name] = pl.col(name)
        elif isinstance(dtype, (pl.Categorical, pl.Enum)):
            out[name] = pl.col(name).cast(pl.String)
        elif isinstance(dtype, (pl.List, pl.Array)) and (
            dtype.inner == pl.String or isinstance(dtype.inner, (pl.Categorical, pl.Enum))
        ):
            items = pl.col(name).cast(pl.List(pl.String)) if isinstance(dtype, pl.Array) or dtype.inner != pl.String \
                else pl.col(name)
            out[name] = items.list.join(" ")
    return out


def _may_hold_twelve_digits(text: pl.Expr) -> pl.Expr:
    """A fast superset of "holds 12 digits in a row": 12 ASCII digits (byte-mode regex), 12 full-width
    digits, or both kinds of digit in one value (a mixed run). Three times faster than the Unicode
    class on Japanese text; the exact runs are extracted afterwards from the rows it keeps."""
    return (
        text.str.contains(r"(?-u)[0-9]{12}")
        | text.str.contains(r"[０-９]{12}")
        | (text.str.contains(r"[０-９]") & text.str.contains(r"(?-u)[0-9]"))
    )


def standalone_twelve_digit_runs(frame: pl.DataFrame) -> pl.DataFrame:
    """``column, number``: every distinct standalone run of exactly 12 digits (full-width digits read as
    ASCII) with a valid My Number check digit, per text column of ``frame`` (vectorised)."""
    from contracts.identifiers import my_number_is_valid

    columns = _text_columns(frame)
    if not columns or not frame.height:
        return pl.DataFrame(schema={"column": pl.String, "number": pl.String})
    scans = [
        frame.lazy().select(expr.alias("_text"))
        .filter(pl.col("_text").str.len_bytes() >= 12)  # cheap: offsets only, no scan of the text
        .filter(_may_hold_twelve_digits(pl.col("_text")))
        .select(pl.col("_text").str.extract_all(_STANDALONE_RUN).alias("number"))
        .explode("number")
        .filter(pl.col("number").str.len_chars() == 12)
        .select(pl.lit(name).alias("column"),
                pl.col("number").str.replace_many(_FULLWIDTH_DIGITS, _ASCII_DIGITS).alias("number"))
        .unique()
        for name, expr in columns.items()
    ]
    runs = pl.concat(pl.collect_all(scans), how="vertical")
    return runs.filter(my_number_is_valid(pl.col("number")).fill_null(False))


def refuse_my_numbers(frame: pl.DataFrame, *, lake: str | Path, municipality: str, fiscal_year: int,
                      what: str) -> None:
    """Raise :class:`MyNumberLeakError` when a text column of ``frame`` holds the My Number of a person
    in the vault of (``lake``, ``municipality``, ``fiscal_year``); ``what`` names the destination
    (e.g. ``staging/salary_reports``) in the message. See the module docstring."""
    numbers = _guard_numbers(Path(lake), municipality, fiscal_year)
    if numbers is None or not numbers.height:
        return
    runs = standalone_twelve_digit_runs(frame)
    if not runs.height:
        return
    hits = runs.join(numbers, on="number", how="semi").get_column("column").unique().sort().to_list()
    if hits:
        raise MyNumberLeakError(
            f"Refused to write {what} for {municipality}/{fiscal_year}: column(s) {', '.join(hits)} hold the "
            "個人番号 of a person in the vault. The My Number may rest only in the vault; nothing was written. "
            "This is a defect of the stage (a field that should be parsed and dropped): report it."
        )


def _report_scope(path: Path) -> tuple[Path, str, int] | None:
    """(lake, municipality, fiscal year) of a path ``<lake>/reports/<stage>/municipality=M/fiscal_year=N/<file>``."""
    parts = path.parts
    if len(parts) < 5 or parts[-5] != "reports":
        return None
    municipality, fiscal_year = parts[-3], parts[-2]
    if not (municipality.startswith("municipality=") and fiscal_year.startswith("fiscal_year=")):
        return None
    try:
        year = int(fiscal_year.removeprefix("fiscal_year="))
    except ValueError:
        return None
    return Path(*parts[:-5]), municipality.removeprefix("municipality="), year
