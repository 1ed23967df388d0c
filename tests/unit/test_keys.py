"""Keys behind an interface (issue 16, point 1; docs/key-management.md): versions per purpose, the file provider,
the legacy key file adopted, a reader without the My Number key, and `juminzei vault rotate-key`."""

from __future__ import annotations

import json
import shutil
import stat

import polars as pl
import pytest

from contracts.errors import ConfigError
from juminzei.cli import main
from pipelines import audit, lake
from pipelines.config import Settings, derive_key
from tests.unit.private_env import private_settings
from pipelines.keys import FileKeyProvider, KeyPermissionError, KeyProvider
from pipelines.locks import VaultBusyError, vault_lock
from pipelines.vault import rotate_key

M = "131032"
VAULT = pl.DataFrame({"atena_no": ["0000000002", "0000000001"], "my_number": ["012345678903", "123456789018"]})


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    return private_settings(tmp_path, monkeypatch, actor="tester")


def test_the_file_provider_keeps_private_versions_per_purpose(tmp_path):
    keys = FileKeyProvider(tmp_path / "keys")
    assert isinstance(keys, KeyProvider)
    first = keys.current("audit")
    assert (first.purpose, first.version, len(first.material)) == ("audit", 1, 32)
    assert keys.current("audit") == first  # the same until rotated
    assert "material" not in repr(first) and first.material.hex() not in repr(first)
    path = tmp_path / "keys" / "audit.v1.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    second = keys.rotate("audit")
    assert second.version == 2 and second.material != first.material and keys.current("audit") == second
    assert keys.get("audit", 1) == first
    assert [(r["version"], r["state"]) for r in keys.versions("audit")] == [(1, "active"), (2, "current")]
    assert keys.current("vault").material not in (first.material, second.material)  # purposes are separate
    with pytest.raises(ConfigError, match="not known"):
        keys.current("tax")


def test_a_retired_vault_key_is_destroyed_an_audit_key_keeps_verifying(tmp_path):
    keys = FileKeyProvider(tmp_path)
    keys.current("vault"), keys.current("audit")
    keys.rotate("vault"), keys.rotate("audit")
    with pytest.raises(ConfigError, match="current one"):
        keys.retire("vault", 2)
    keys.retire("vault", 1)
    keys.retire("audit", 1)
    assert not (tmp_path / "vault.v1.key").exists() and (tmp_path / "audit.v1.key").exists()
    with pytest.raises(KeyPermissionError, match="retired"):
        keys.get("vault", 1)
    assert keys.get("audit", 1).version == 1
    assert [r["state"] for r in keys.versions("vault")] == ["retired", "current"]
    assert keys.rotate("vault").version == 3  # a retired number is never made again


def test_a_key_file_others_can_read_or_of_the_wrong_length_is_refused(tmp_path):
    keys = FileKeyProvider(tmp_path)
    keys.current("audit")
    (tmp_path / "audit.v1.key").chmod(0o644)
    with pytest.raises(ConfigError, match="600"):
        keys.get("audit", 1)
    (tmp_path / "audit.v1.key").chmod(0o600)
    (tmp_path / "audit.v1.key").write_bytes(b"short")
    with pytest.raises(ConfigError, match="32"):
        keys.get("audit", 1)
    with pytest.raises(KeyPermissionError, match="No audit key of version 7"):
        keys.get("audit", 7)
    with pytest.raises(KeyPermissionError, match="No my_number key"):
        FileKeyProvider(tmp_path / "empty").current("my_number", create=False)


def test_the_single_key_file_of_the_first_releases_opens_its_vault_as_version_1(settings):
    legacy = bytes(range(32))
    settings.vault_key_file.parent.mkdir(mode=0o700)
    settings.vault_key_file.write_bytes(legacy)
    settings.vault_key_file.chmod(0o600)
    lake.write_vault(settings, M, 2026, VAULT, run_id="r1", reason="作成", key=legacy)  # as the old code wrote it
    read = lake.read_vault(settings, M, 2026, reason="照会", run_id=None)
    assert read.sort("atena_no").equals(VAULT.sort("atena_no"))
    keys = settings.keys()
    assert keys.get("vault", 1).material == legacy and keys.get("my_number", 1).material == legacy
    ring = json.loads((settings.key_dir / "keyring.json").read_text(encoding="utf-8"))
    assert ring["vault"]["created"]["1"] == "adopted from vault.key"


def test_the_vault_manifest_names_its_key_versions_and_never_a_key(settings):
    lake.write_vault(settings, M, 2026, VAULT, run_id="r1", reason="作成")
    manifest = lake.read_manifest(settings.lake, "vault", "my_number", M, 2026)
    assert manifest["encryption"]["key_versions"] == {"my_number": 1, "vault": 1}
    keys = settings.keys()
    footer, number = keys.get("vault", 1).material, keys.get("my_number", 1).material
    assert footer != number  # the footer and the number have keys of their own
    text = json.dumps(manifest)
    for secret in (footer, number, derive_key(footer, "juminzei parquet footer v1")):
        assert secret.hex() not in text


def test_a_reader_without_the_my_number_key_reads_the_atena_numbers_and_is_refused_the_numbers(settings, tmp_path,
                                                                                                  monkeypatch):
    lake.write_vault(settings, M, 2026, VAULT, run_id="r1", reason="作成")
    # a worker identity granted the vault key only (its key directory holds no my_number key)
    limited = tmp_path / "limited-keys"
    limited.mkdir(mode=0o700)
    shutil.copy2(settings.key_dir / "vault.v1.key", limited / "vault.v1.key")
    ring = json.loads((settings.key_dir / "keyring.json").read_text(encoding="utf-8"))
    (limited / "keyring.json").write_text(json.dumps({"vault": ring["vault"]}), encoding="utf-8")
    monkeypatch.setenv("JUMINZEI_KEY_DIR", str(limited))
    reader = Settings.from_env()
    got = lake.read_vault(reader, M, 2026, reason="宛名番号の一覧", run_id=None, numbers=False)
    assert got.columns == ["atena_no"] and got["atena_no"].to_list() == ["0000000001", "0000000002"]
    with pytest.raises(KeyPermissionError, match="holds no My Number key .*宛名番号"):
        lake.read_vault(reader, M, 2026, reason="番号の照会", run_id=None)
    operations = [r["operation"] for r in audit.read_audit(settings.lake)]
    assert operations[-1] == "vault_read_without_numbers"  # the refused read returned nothing and wrote nothing


def test_rotate_key_re_encrypts_every_partition_and_destroys_the_old_keys(settings, capsys):
    lake.write_vault(settings, M, 2025, VAULT, run_id="r0", reason="作成")
    lake.write_vault(settings, M, 2026, VAULT.head(1), run_id="r1", reason="作成")
    old_files = {p: (settings.lake / "vault" / "my_number" / f"municipality={M}" / f"fiscal_year={p}" /
                     lake.DATA_FILE).read_bytes() for p in (2025, 2026)}
    assert main(["vault", "rotate-key", "--reason", "年次の鍵更新"]) == 0
    assert "2 partitions under vault key version 2" in capsys.readouterr().out
    for year, rows in ((2025, VAULT), (2026, VAULT.head(1))):
        manifest = lake.read_manifest(settings.lake, "vault", "my_number", M, year)
        assert manifest["encryption"]["key_versions"] == {"my_number": 2, "vault": 2}
        assert lake.read_vault(settings, M, year, reason="照会", run_id=None).sort("atena_no").equals(
            rows.sort("atena_no"))
    assert not (settings.key_dir / "vault.v1.key").exists() and not (settings.key_dir / "my_number.v1.key").exists()
    # what the old keys encrypted cannot be opened any more, even from a copy kept of the old file
    with pytest.raises(KeyPermissionError, match="retired"):
        settings.keys().get("vault", 1)
    assert all(b"012345678903" not in data for data in old_files.values())
    records = [r for r in audit.read_audit(settings.lake) if r["operation"].startswith("vault_key_rot")]
    assert [r["operation"] for r in records] == ["vault_key_rotation_started", "vault_key_rotated"]
    assert records[1]["details"]["retired"] == {"my_number": [1], "vault": [1]}
    assert records[1]["reason"] == "年次の鍵更新" and records[1]["actor"] == "tester"
    assert audit.verify(settings.lake, settings=settings).ok
    assert main(["vault", "keys"]) == 0
    shown = capsys.readouterr().out
    assert "vault key version 2: current" in shown and f"{M}/2025, {M}/2026" in shown and "version 1: retired" in shown


def test_rotate_key_needs_a_reason_and_waits_for_no_write(settings):
    lake.write_vault(settings, M, 2026, VAULT, run_id="r1", reason="作成")
    with pytest.raises(ConfigError, match="reason"):
        rotate_key(settings, reason=" ")
    with vault_lock(settings.lake, exclusive=False):  # a resident_snapshot writing its vault
        with pytest.raises(VaultBusyError, match="vault write is under way"):
            rotate_key(settings, reason="鍵更新")
    assert settings.keys().current("vault").version == 1  # nothing changed


def test_a_run_that_fetched_its_keys_before_a_rotation_writes_under_the_new_ones(settings):
    lake.write_vault(settings, M, 2026, VAULT, run_id="r1", reason="作成")
    fetched = lake.vault_write_encryption(settings)  # a resident_snapshot run fetches its keys early
    rotate_key(settings, reason="鍵更新")
    lake.write_vault(settings, M, 2027, VAULT, run_id="r2", reason="作成", encryption=fetched)
    manifest = lake.read_manifest(settings.lake, "vault", "my_number", M, 2027)
    assert manifest["encryption"]["key_versions"] == {"my_number": 2, "vault": 2}
    assert lake.read_vault(settings, M, 2027, reason="照会", run_id=None).height == 2


def test_no_key_reaches_a_log_a_report_or_the_lake_and_none_comes_from_airflow(settings, caplog):
    """The keys come from the provider only: no module reads an Airflow Variable or Connection, and a vault write,
    a read, a rotation and an audit verification leave no key (nor its hex, nor a derived Parquet key) in the
    logs, the lake or the anchors."""
    import logging
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    for folder in ("dags", "pipelines", "transforms", "contracts", "juminzei"):
        for path in (repo / folder).rglob("*.py"):
            code = path.read_text(encoding="utf-8")
            assert not re.search(r"\b(Variable|Connection)\.get|BaseHook\.get_connection|from airflow\.models import "
                                 r"(Variable|Connection)", code), path
    keys = settings.keys()
    with caplog.at_level(logging.DEBUG):
        lake.write_vault(settings, M, 2026, VAULT, run_id="r1", reason="作成")
        lake.read_vault(settings, M, 2026, reason="照会", run_id=None)
        secrets = [keys.get("vault", 1).material, keys.get("my_number", 1).material]  # destroyed by the rotation
        rotate_key(settings, reason="鍵更新")
        audit.verify_and_record(settings)
    secrets += [keys.get("vault", 2).material, keys.get("my_number", 2).material, keys.get("audit", 1).material]
    secrets += [derive_key(m, "juminzei parquet footer v1") for m in secrets]
    text = caplog.text.encode("utf-8")
    files = [p for p in [*settings.lake.rglob("*"), audit.anchor_path_of(settings.lake, settings)] if p.is_file()]
    for secret in secrets:
        assert secret not in text and secret.hex().encode() not in text
        for path in files:
            data = path.read_bytes()
            assert secret not in data and secret.hex().encode() not in data, path
