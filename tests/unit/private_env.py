"""A private installation for one test: home, lake, keys and data docs under the test's own folder, set in the
environment (so the CLI, the stages and the audit trail all see it), with the given operator."""

from __future__ import annotations

from pathlib import Path

from pipelines.config import Settings


def private_settings(tmp_path: Path, monkeypatch, *, actor: str = "tester", **extra: str) -> Settings:
    env = {"JUMINZEI_HOME": str(tmp_path), "JUMINZEI_LAKE": str(tmp_path / "lake"), "JUMINZEI_ACTOR": actor,
           "JUMINZEI_VAULT_KEY_FILE": str(tmp_path / "keys" / "vault.key"),
           "JUMINZEI_DATA_DOCS": str(tmp_path / "docs"), **extra}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("JUMINZEI_KEY_DIR", "JUMINZEI_AUDIT_ANCHOR"):
        if name not in extra:
            monkeypatch.delenv(name, raising=False)
    return Settings.from_env()
