"""The vault's keys: `juminzei vault keys` and `juminzei vault rotate-key` (issue 16; docs/key-management.md).

A rotation makes a new version of both vault keys (purposes ``vault`` and ``my_number``, :mod:`pipelines.keys`),
re-encrypts every vault partition of the lake under them (each partition atomically, read back and compared
before the next), then retires every older version no partition names any more: a retired vault key is
destroyed. It holds the vault lock exclusive (:func:`pipelines.locks.vault_lock`), so no vault write runs
meanwhile, and it is recorded in the audit trail: started, each partition, and rotated with the versions
retired. A rotation stopped half-way (a crash) leaves every partition readable — each under the version its
manifest names, none retired yet — and the next rotation finishes the job under a newer version.
"""

from __future__ import annotations

from pathlib import Path

from contracts.errors import ConfigError, PartitionError
from pipelines.config import Settings, new_run_id

REASON_OF_REWRITE = "保管庫の鍵の更新に伴う再暗号化 (juminzei vault rotate-key)"


def vault_partitions(lake: str | Path) -> list[tuple[str, int]]:
    """``(municipality, fiscal_year)`` of every vault partition of the lake, in order."""
    from pipelines.lake import VAULT_DATASET

    root = Path(lake) / "vault" / VAULT_DATASET
    found = []
    for folder in sorted(root.glob("municipality=*/fiscal_year=*")):
        if folder.is_dir() and not folder.name.startswith("."):
            found.append((folder.parent.name.split("=", 1)[1], int(folder.name.split("=", 1)[1])))
    return found


def key_versions(settings: Settings) -> dict[str, list[dict]]:
    """The versions of both vault keys and the partitions written under each (no key material)."""
    from pipelines.lake import VAULT_DATASET, VAULT_PURPOSES, read_manifest, vault_key_versions

    keys = settings.keys()
    used: dict[tuple[str, int], list[str]] = {}
    for municipality, fiscal_year in vault_partitions(settings.lake):
        manifest = read_manifest(settings.lake, "vault", VAULT_DATASET, municipality, fiscal_year)
        for purpose, version in vault_key_versions(manifest).items():
            used.setdefault((purpose, version), []).append(f"{municipality}/{fiscal_year}")
    return {purpose: [{**row, "partitions": used.get((purpose, row["version"]), [])}
                      for row in keys.versions(purpose)] for purpose in VAULT_PURPOSES}


def rotate_key(settings: Settings, *, reason: str) -> dict:
    """Rotate both vault keys (see the module docstring); return what was done (versions, partitions)."""
    from pipelines.audit import append_audit
    from pipelines.lake import (
        VAULT_DATASET, VAULT_PURPOSES, read_manifest, read_vault, vault_key_versions, write_vault,
    )
    from pipelines.locks import vault_lock

    if not reason or not reason.strip():
        raise ConfigError("Rotating the vault key needs a reason (処理事由); none was given.")
    run_id = new_run_id("vault_key_rotation")
    common = {"dataset": f"vault/{VAULT_DATASET}", "actor": settings.actor, "department": settings.department,
              "host": settings.host, "settings": settings, "run_id": run_id}
    keys = settings.keys()
    with vault_lock(settings.lake, exclusive=True):
        before = {purpose: keys.current(purpose).version for purpose in VAULT_PURPOSES}
        partitions = vault_partitions(settings.lake)
        append_audit(settings.lake, operation="vault_key_rotation_started", reason=reason, atena_nos=None,
                     details={"from_versions": before, "partitions": len(partitions)}, **common)
        after = {purpose: keys.rotate(purpose).version for purpose in VAULT_PURPOSES}
        for municipality, fiscal_year in partitions:
            frame = read_vault(settings, municipality, fiscal_year, reason=REASON_OF_REWRITE, run_id=run_id)
            write_vault(settings, municipality, fiscal_year, frame, run_id=run_id, reason=REASON_OF_REWRITE)
            again = read_vault(settings, municipality, fiscal_year, reason=REASON_OF_REWRITE, run_id=run_id)
            manifest = read_manifest(settings.lake, "vault", VAULT_DATASET, municipality, fiscal_year)
            if vault_key_versions(manifest) != after or not again.sort("atena_no").equals(frame.sort("atena_no")):
                raise PartitionError(
                    f"The vault of {municipality}/{fiscal_year} did not read back the same under the new keys; the "
                    "rotation stopped and retired nothing (every partition is still readable). Report run "
                    f"{run_id}.")
        manifests = [read_manifest(settings.lake, "vault", VAULT_DATASET, m, y) for m, y in vault_partitions(settings.lake)]
        still_used = {(p, v) for manifest in manifests for p, v in vault_key_versions(manifest).items()}
        retired: dict[str, list[int]] = {}
        for purpose in VAULT_PURPOSES:
            for row in keys.versions(purpose):
                if row["state"] == "active" and (purpose, row["version"]) not in still_used:
                    keys.retire(purpose, row["version"])
                    retired.setdefault(purpose, []).append(row["version"])
        append_audit(settings.lake, operation="vault_key_rotated", reason=reason, atena_nos=None,
                     details={"from_versions": before, "to_versions": after, "partitions": len(partitions),
                              "retired": retired}, **common)
    return {"run_id": run_id, "from_versions": before, "to_versions": after,
            "partitions": [f"{m}/{y}" for m, y in partitions], "retired": retired}
