"""The audit trail (pipelines.audit; docs/audit.md): complete records chained by a keyed MAC, anchored outside
the trail, and every tampering case of issue 16 detected at its first bad record by `juminzei audit verify`.

The attacker of these tests can rewrite the trail file but holds no audit key (the key provider's directory
is not theirs): where a case "recomputes" a MAC it uses the attacker's own key, as anyone without ours must.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from contracts.errors import ConfigError
from juminzei.cli import main
from pipelines import audit, lake
from pipelines.config import Settings
from tests.unit.private_env import private_settings

FIELDS = {"v", "seq", "ts", "actor", "host", "department", "operation", "reason", "run_id", "dataset", "atena_nos",
          "details", "key_version", "prev_mac", "mac"}
ATTACKERS_KEY = b"\x07" * 32


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    return private_settings(tmp_path, monkeypatch, actor="tester", JUMINZEI_KEY_DIR=str(tmp_path / "keys"))


def fill(settings: Settings, n: int = 5) -> list[dict]:
    return [audit.append_audit(
        settings.lake, operation="vault_read", reason=f"理由 {i}", run_id=f"run-{i}", dataset="vault/my_number",
        atena_nos=[f"{i:010d}", "0000000099"], actor="tester", department="税務課", host="h1",
        ts=datetime(2026, 1, 5, 9, 0, i, tzinfo=UTC), settings=settings,
    ) for i in range(n)]


def trail_lines(settings: Settings) -> list[bytes]:
    return audit.audit_path(settings.lake).read_bytes().split(b"\n")[:-1]


def write_trail(settings: Settings, lines: list[bytes], *, last_newline: bool = True) -> None:
    body = b"\n".join(lines) + (b"\n" if last_newline else b"")
    audit.audit_path(settings.lake).write_bytes(body)


def dumps(record: dict) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def flip(line: bytes, field: str) -> bytes:
    """One bit flipped in the first digit of a field's value (the line stays valid JSON)."""
    start = line.index(f'"{field}":'.encode()) + len(field) + 3
    while not chr(line[start]).isdigit():
        start += 1
    return line[:start] + bytes([line[start] ^ 0x01]) + line[start + 1:]


def attackers_mac(record: dict) -> str:
    return hmac.new(ATTACKERS_KEY, audit.canonical(record), hashlib.sha256).hexdigest()


# ------------------------------------------------------------------------------------- the records


def test_records_are_complete_numbered_and_chained_by_a_keyed_mac(settings):
    records = fill(settings, 3)
    assert audit.read_audit(settings.lake) == records
    assert all(set(r) == FIELDS for r in records)
    assert [r["seq"] for r in records] == [1, 2, 3] and records[0]["prev_mac"] == audit.GENESIS_MAC
    assert records[1]["prev_mac"] == records[0]["mac"] and records[2]["prev_mac"] == records[1]["mac"]
    assert records[0]["ts"] == "2026-01-05T09:00:00.000000Z"
    assert records[0]["atena_nos"] == ["0000000000", "0000000099"]  # sorted
    assert records[0]["department"] == "税務課" and records[0]["actor"] == "tester" and records[0]["key_version"] == 1
    # the MAC is HMAC-SHA256 under the audit key version 1 of the provider, of the record without its MAC
    key = (Path(settings.key_dir) / "audit.v1.key").read_bytes()
    body = {k: v for k, v in records[2].items() if k != "mac"}
    expected = hmac.new(key, json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(),
                        hashlib.sha256).hexdigest()
    assert records[2]["mac"] == expected
    assert audit.chain_head(settings.lake) == {"seq": 3, "mac": records[2]["mac"]}
    check = audit.verify(settings.lake, settings=settings)
    assert check.ok and check.records == 3 and check.anchors == 3 and "intact" in str(check)


def test_the_key_lives_in_the_key_directory_never_in_the_trail_or_the_lake(settings):
    fill(settings, 2)
    key = (Path(settings.key_dir) / "audit.v1.key").read_bytes()
    assert (Path(settings.key_dir) / "audit.v1.key").stat().st_mode & 0o077 == 0
    for path in [*settings.lake.rglob("*"), audit.anchor_path_of(settings.lake, settings)]:
        if path.is_file():
            data = path.read_bytes()
            assert key not in data and key.hex().encode() not in data


def test_the_anchors_are_written_outside_the_lake_one_per_record(settings):
    records = fill(settings, 3)
    anchor = audit.anchor_path_of(settings.lake, settings)
    assert settings.lake not in anchor.parents
    assert [json.loads(line) for line in anchor.read_text(encoding="utf-8").splitlines()] == [
        {"seq": r["seq"], "mac": r["mac"], "ts": r["ts"]} for r in records]


def test_bulk_operations_record_count_and_digest(settings):
    many = [f"{i:010d}" for i in range(5000)]
    record = audit.append_audit(settings.lake, operation="vault_write", reason="作成", run_id="r",
                                dataset="vault/my_number", atena_nos=list(reversed(many)))
    assert record["atena_nos"]["count"] == 5000
    assert record["atena_nos"]["sha256"] == hashlib.sha256("\n".join(many).encode()).hexdigest()
    assert audit.summarise_atena_nos(many) == record["atena_nos"]  # order does not matter
    assert audit.append_audit(settings.lake, operation="x", reason="y", run_id=None, dataset="d", atena_nos=7)[
        "atena_nos"] == {"count": 7}


def test_bulk_summary_is_the_same_from_a_polars_series():
    many = [f"{i:010d}" for i in range(3000)]
    assert audit.summarise_atena_nos(pl.Series(list(reversed(many)))) == audit.summarise_atena_nos(many)
    assert audit.summarise_atena_nos(pl.Series(["0000000002", "0000000001"])) == ["0000000001", "0000000002"]


def test_actor_and_department_default_from_environment(settings, monkeypatch):
    monkeypatch.setenv("JUMINZEI_ACTOR", "sato")
    monkeypatch.setenv("JUMINZEI_DEPARTMENT", "課税課")
    record = audit.append_audit(settings.lake, operation="x", reason="y", run_id=None, dataset="d", atena_nos=[])
    assert record["actor"] == "sato" and record["department"] == "課税課" and record["host"]


def test_a_record_without_reason_is_refused(settings):
    with pytest.raises(ConfigError, match="reason"):
        audit.append_audit(settings.lake, operation="vault_read", reason="  ", run_id=None, dataset="d", atena_nos=[])
    assert not audit.audit_path(settings.lake).exists()


def test_vault_write_and_read_append_audit_records(settings):
    vault = pl.DataFrame({"atena_no": ["0000000002", "0000000001"], "my_number": ["012345678903", "123456789018"]})
    lake.write_vault(settings, "131032", 2026, vault, run_id="run-1", reason="作成")
    with pytest.raises(ConfigError, match="reason"):
        lake.read_vault(settings, "131032", 2026, reason="", run_id=None)
    got = lake.read_vault(settings, "131032", 2026, reason="税額計算のための照会", run_id=None,
                          atena_nos=["0000000001"])
    assert got.to_dicts() == [{"atena_no": "0000000001", "my_number": "123456789018"}]
    records = audit.read_audit(settings.lake)
    assert [r["operation"] for r in records] == ["vault_write", "vault_read"]
    assert records[0]["atena_nos"] == ["0000000001", "0000000002"]
    assert records[1]["atena_nos"] == ["0000000001"] and records[1]["reason"] == "税額計算のための照会"
    assert records[1]["actor"] == "tester"
    text = audit.audit_path(settings.lake).read_text(encoding="utf-8")
    assert "123456789018" not in text and "012345678903" not in text
    assert audit.verify(settings.lake, settings=settings).ok


# ------------------------------------------------------------------------- the 12 cases of issue 16


def _flip_reason(lines):  # 1: a byte of a field's value (the 処理日時 of record 3)
    lines[2] = flip(lines[2], "ts")
    return 3


def _flip_mac(lines):  # 2: a byte of a record's MAC (record 1)
    lines[0] = flip(lines[0], "mac")
    return 1


def _flip_link(lines):  # 3: a byte of a record's link to the one before (record 5)
    lines[4] = flip(lines[4], "prev_mac")
    return 5


def _delete_first(lines):  # 4
    del lines[0]
    return 1


def _delete_middle(lines):  # 5
    del lines[2]
    return 3


def _delete_last(lines):  # 6: the chain left is valid; the anchors hold the removed record
    del lines[-1]
    return None


def _swap_neighbours(lines):  # 7
    lines[1], lines[2] = lines[2], lines[1]
    return 2


def _swap_first_and_last(lines):  # 8
    lines[0], lines[-1] = lines[-1], lines[0]
    return 1


def _forged_append(lines):  # 9: a record appended with a recomputed hash (sha256 of its content, no key)
    last = json.loads(lines[-1])
    forged = {**last, "seq": last["seq"] + 1, "prev_mac": last["mac"], "operation": "vault_read",
              "reason": "偽の照会", "atena_nos": ["0000000042"]}
    forged["mac"] = hashlib.sha256(audit.canonical(forged)).hexdigest()
    lines.append(dumps(forged))
    return 6


def _edit_and_rehash(lines):  # 10: a middle record edited and every record from it re-MACed (attacker's key)
    previous = json.loads(lines[1])["mac"]
    for i in range(2, len(lines)):
        record = json.loads(lines[i])
        if i == 2:
            record["atena_nos"] = ["0000000001"]  # hide who was read
        record["prev_mac"] = previous
        record["mac"] = attackers_mac(record)
        previous = record["mac"]
        lines[i] = dumps(record)
    return 3


def _stale_mac(lines):  # 11: a record edited, its MAC left as it was (stale)
    record = json.loads(lines[3])
    record["reason"] = "別の理由"
    lines[3] = dumps(record)
    return 4


def _torn_last_line(lines):  # 12: the last record cut short (no line end)
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    return "torn"


CASES = {
    "flipped byte in a value": _flip_reason,
    "flipped byte in a MAC": _flip_mac,
    "flipped byte in a link": _flip_link,
    "first record deleted": _delete_first,
    "middle record deleted": _delete_middle,
    "last record deleted": _delete_last,
    "two neighbours swapped": _swap_neighbours,
    "first and last swapped": _swap_first_and_last,
    "forged record appended with a recomputed hash": _forged_append,
    "middle record edited and the rest re-hashed": _edit_and_rehash,
    "record edited with its MAC left stale": _stale_mac,
    "torn last line": _torn_last_line,
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_tampering_case_is_detected_at_its_first_bad_record(settings, case, capsys):
    records = fill(settings, 5)
    assert audit.verify(settings.lake, settings=settings).ok
    lines = trail_lines(settings)
    expected = CASES[case](lines)
    write_trail(settings, lines, last_newline=expected != "torn")
    check = audit.verify(settings.lake, settings=settings)
    assert not check.ok
    if expected == "torn":
        assert check.broken_at_line == 5 and "torn" in check.problem and check.records == 4
    elif expected is None:  # only the anchors can tell: the trail ends before the record they hold
        assert check.broken_at_line is None and check.records == 4
        assert "record 5" in check.problem and "removed from its end" in check.problem
    else:
        assert check.broken_at_line == expected and check.records == expected - 1
    # the operator's command says the same, names the line, and fails
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "NOT intact" in out and (check.broken_at_line is None or f"line {check.broken_at_line}" in out)
    assert records  # (the records written before the tampering)


def test_an_older_copy_put_back_is_detected_by_the_anchors_and_the_run_reports(settings):
    fill(settings, 3)
    old = audit.audit_path(settings.lake).read_bytes()
    fill(settings, 2)
    head = audit.chain_head(settings.lake)
    report = settings.lake / "reports" / "collection" / "municipality=131032" / "fiscal_year=2026" / "r1.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"audit_head": head}), encoding="utf-8")
    audit.audit_path(settings.lake).write_bytes(old)
    # without the anchor file (e.g. kept on another store that was not reachable) the run report still tells
    check = audit.verify(settings.lake, settings=settings, anchors=settings.home / "no-anchors.jsonl")
    assert not check.ok and "run report reports/collection" in check.problem and "record 5" in check.problem
    check = audit.verify(settings.lake, settings=settings)
    assert not check.ok and "anchor" in check.problem


def test_a_torn_line_is_sealed_by_the_next_append_and_the_trail_verifies_again(settings):
    fill(settings, 2)
    with audit.audit_path(settings.lake).open("ab") as handle:
        handle.write(b'{"ts":"2026-01-05T09')  # crash mid-append
    assert "torn" in audit.verify(settings.lake, settings=settings).problem
    audit.append_audit(settings.lake, operation="x", reason="y", run_id=None, dataset="d", atena_nos=[])
    records = audit.read_audit(settings.lake)
    assert [r["operation"] for r in records] == ["vault_read", "vault_read", audit.SEAL_OPERATION, "x"]
    seal = records[2]
    assert seal["details"] == {"torn_bytes": 20,
                               "torn_sha256": hashlib.sha256(b'{"ts":"2026-01-05T09').hexdigest()}
    assert seal["seq"] == 3 and seal["prev_mac"] == records[1]["mac"] and records[3]["seq"] == 4
    assert b'{"ts":"2026-01-05T09\n' in audit.audit_path(settings.lake).read_bytes()  # the torn bytes stay
    check = audit.verify(settings.lake, settings=settings)
    assert check.ok and check.records == 4


def test_a_line_slipped_in_is_not_a_torn_line_without_a_seal(settings):
    fill(settings, 3)
    lines = trail_lines(settings)
    lines.insert(1, b"garbage")
    write_trail(settings, lines)
    check = audit.verify(settings.lake, settings=settings)
    assert not check.ok and check.broken_at_line == 2 and "not a record" in check.problem


def test_records_of_two_key_versions_verify_each_under_its_own(settings):
    fill(settings, 2)
    assert audit.rotate_key(settings, reason="定期の鍵更新") == 2
    fill(settings, 1)
    records = audit.read_audit(settings.lake)
    assert [r["key_version"] for r in records] == [1, 1, 1, 2, 2]
    assert [r["operation"] for r in records][2:4] == ["audit_key_rotation_started", "audit_key_rotated"]
    assert audit.verify(settings.lake, settings=settings).ok
    settings.keys().retire("audit", 1)  # a retired audit key signs nothing new but still verifies
    assert audit.verify(settings.lake, settings=settings).ok
    assert audit.append_audit(settings.lake, operation="x", reason="y", run_id=None, dataset="d",
                              atena_nos=[])["key_version"] == 2
    os.remove(Path(settings.key_dir) / "audit.v1.key")  # a version lost: its records cannot be verified
    check = audit.verify(settings.lake, settings=settings)
    assert not check.ok and check.broken_at_line == 1 and "version 1" in check.problem


def test_a_trail_checked_with_another_key_fails_at_its_first_record(settings, tmp_path):
    fill(settings, 2)
    other = Settings.from_env({**os.environ, "JUMINZEI_KEY_DIR": str(tmp_path / "other-keys")})
    other.keys().current("audit")
    check = audit.verify(settings.lake, settings=other)
    assert not check.ok and check.broken_at_line == 1 and "MAC" in check.problem


def _legacy_trail(n: int) -> list[dict]:
    """Records of the first releases' unkeyed chain: hash = sha256 of the canonical record without it."""
    out, previous = [], "0" * 64
    for i in range(n):
        record = {"ts": f"2026-01-05T09:00:0{i}.000000Z", "actor": "tester", "operation": "vault_read",
                  "reason": "照会", "atena_nos": [f"{i:010d}"], "prev_hash": previous}
        record["hash"] = hashlib.sha256(audit.canonical({k: v for k, v in record.items()})).hexdigest()
        out.append(record)
        previous = record["hash"]
    return out


def test_a_trail_of_the_old_unkeyed_chain_goes_on_keyed_and_is_checked_as_a_hash_chain(settings):
    old = _legacy_trail(3)
    audit.audit_path(settings.lake).parent.mkdir(parents=True)
    write_trail(settings, [dumps(r) for r in old])
    record = audit.append_audit(settings.lake, operation="x", reason="y", run_id=None, dataset="d", atena_nos=[])
    assert (record["seq"], record["prev_mac"]) == (4, old[-1]["hash"])
    check = audit.verify(settings.lake, settings=settings)
    assert check.ok and check.records == 4 and check.legacy == 3 and "old unkeyed hash chain" in str(check)
    lines = trail_lines(settings)
    edited = json.loads(lines[1])
    edited["atena_nos"] = ["0000000009"]
    lines[1] = dumps(edited)
    write_trail(settings, lines)
    check = audit.verify(settings.lake, settings=settings)
    assert not check.ok and check.broken_at_line == 2 and "old unkeyed hash chain" in check.problem
    write_trail(settings, [trail_lines(settings)[3], *[dumps(r) for r in old]])  # old records after a keyed one
    assert not audit.verify(settings.lake, settings=settings).ok


def test_audit_verify_records_its_own_check_and_prints_the_counts(settings, capsys):
    fill(settings, 2)
    assert main(["audit", "verify"]) == 0
    assert "Audit trail intact: 2 records" in capsys.readouterr().out
    last = audit.read_audit(settings.lake)[-1]
    assert last["operation"] == "audit_verified" and last["details"]["ok"] is True
    assert main(["audit", "verify", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["records"] == 3
    assert main(["audit", "keys"]) == 0
    assert "audit key version 1: current" in capsys.readouterr().out
