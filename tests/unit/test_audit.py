"""The hash-chained audit log: complete records, verification, and tampering detected."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest

from contracts.errors import ConfigError
from pipelines import audit, lake
from pipelines.config import Settings

FIELDS = {"ts", "actor", "host", "department", "operation", "reason", "run_id", "dataset", "atena_nos",
          "details", "prev_hash", "hash"}


def fill(root, n=3):
    for i in range(n):
        audit.append_audit(
            root, operation="vault_read", reason=f"理由 {i}", run_id=f"run-{i}", dataset="vault/my_number",
            atena_nos=[f"{i:010d}", "0000000099"], actor="tester", department="税務課", host="h1",
            ts=datetime(2026, 1, 5, 9, 0, i, tzinfo=UTC),
        )


def lines(root):
    return audit.audit_path(root).read_text(encoding="utf-8").splitlines()


def write_lines(root, rows):
    audit.audit_path(root).write_text("".join(r + "\n" for r in rows), encoding="utf-8")


def test_records_are_complete_and_chained(tmp_path):
    fill(tmp_path)
    records = audit.read_audit(tmp_path)
    assert len(records) == 3
    assert all(set(r) == FIELDS for r in records)
    assert records[0]["prev_hash"] == audit.GENESIS_HASH
    assert records[1]["prev_hash"] == records[0]["hash"] and records[2]["prev_hash"] == records[1]["hash"]
    assert records[0]["ts"] == "2026-01-05T09:00:00.000000Z"
    assert records[0]["atena_nos"] == ["0000000000", "0000000099"]  # sorted
    assert records[0]["department"] == "税務課" and records[0]["actor"] == "tester"
    check = audit.verify_chain(tmp_path)
    assert check.ok and check.records == 3 and "intact" in str(check)
    assert audit.chain_head(tmp_path) == records[-1]["hash"]


def test_bulk_operations_record_count_and_digest(tmp_path):
    many = [f"{i:010d}" for i in range(5000)]
    record = audit.append_audit(tmp_path, operation="vault_write", reason="作成", run_id="r", dataset="vault/my_number",
                                atena_nos=list(reversed(many)))
    assert record["atena_nos"]["count"] == 5000
    assert len(record["atena_nos"]["sha256"]) == 64
    assert audit.summarise_atena_nos(many) == record["atena_nos"]  # order does not matter
    assert audit.append_audit(tmp_path, operation="x", reason="y", run_id=None, dataset="d", atena_nos=7)[
        "atena_nos"] == {"count": 7}


def test_actor_and_department_default_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("JUMINZEI_ACTOR", "sato")
    monkeypatch.setenv("JUMINZEI_DEPARTMENT", "課税課")
    record = audit.append_audit(tmp_path, operation="x", reason="y", run_id=None, dataset="d", atena_nos=[])
    assert record["actor"] == "sato" and record["department"] == "課税課" and record["host"]


def test_a_record_without_reason_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="reason"):
        audit.append_audit(tmp_path, operation="vault_read", reason="  ", run_id=None, dataset="d", atena_nos=[])
    assert not audit.audit_path(tmp_path).exists()


def test_changing_a_field_breaks_the_chain_at_that_record(tmp_path):
    fill(tmp_path)
    rows = lines(tmp_path)
    record = json.loads(rows[1])
    record["atena_nos"] = ["0000000001"]  # hide who was read
    rows[1] = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    write_lines(tmp_path, rows)
    check = audit.verify_chain(tmp_path)
    assert not check.ok and check.broken_at_line == 2 and "hash" in check.problem


def test_recomputing_the_hash_of_a_changed_record_still_breaks_the_next_link(tmp_path):
    fill(tmp_path)
    rows = lines(tmp_path)
    record = json.loads(rows[0])
    record["reason"] = "別の理由"
    record["hash"] = audit.record_hash(record)
    rows[0] = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    write_lines(tmp_path, rows)
    check = audit.verify_chain(tmp_path)
    assert not check.ok and check.broken_at_line == 2 and "prev_hash" in check.problem


@pytest.mark.parametrize("edit", ["delete", "swap"])
def test_removing_or_reordering_records_breaks_the_chain(tmp_path, edit):
    fill(tmp_path)
    rows = lines(tmp_path)
    rows = [rows[0], rows[2]] if edit == "delete" else [rows[1], rows[0], rows[2]]
    write_lines(tmp_path, rows)
    assert not audit.verify_chain(tmp_path).ok


def test_a_torn_append_is_reported_and_never_glued_to_the_next_record(tmp_path):
    fill(tmp_path, 2)
    with audit.audit_path(tmp_path).open("a", encoding="utf-8") as handle:
        handle.write('{"ts":"2026-01-05T09')  # crash mid-append
    check = audit.verify_chain(tmp_path)
    assert not check.ok and check.broken_at_line == 3 and "torn" in check.problem
    audit.append_audit(tmp_path, operation="x", reason="y", run_id=None, dataset="d", atena_nos=[])
    assert len(lines(tmp_path)) == 4
    check = audit.verify_chain(tmp_path)
    assert not check.ok and check.broken_at_line == 3  # still reported: the log is append-only


def test_vault_write_and_read_append_audit_records(tmp_path):
    settings = Settings.from_env({"JUMINZEI_HOME": str(tmp_path), "JUMINZEI_ACTOR": "tester"})
    vault = pl.DataFrame({"atena_no": ["0000000002", "0000000001"], "my_number": ["012345678903", "123456789018"]})
    lake.write_vault(settings, "131032", 2026, vault, run_id="run-1", reason="作成")
    with pytest.raises(ConfigError, match="reason"):
        lake.read_vault(settings, "131032", 2026, reason="", run_id=None)
    got = lake.read_vault(settings, "131032", 2026, reason="税額計算のための照会", run_id=None, atena_nos=["0000000001"])
    assert got.to_dicts() == [{"atena_no": "0000000001", "my_number": "123456789018"}]
    records = audit.read_audit(settings.lake)
    assert [r["operation"] for r in records] == ["vault_write", "vault_read"]
    assert records[0]["atena_nos"] == ["0000000001", "0000000002"]
    assert records[1]["atena_nos"] == ["0000000001"] and records[1]["reason"] == "税額計算のための照会"
    assert records[1]["actor"] == "tester"
    text = audit.audit_path(settings.lake).read_text(encoding="utf-8")
    assert "123456789018" not in text and "012345678903" not in text
    assert audit.verify_chain(settings.lake).ok


def test_bulk_summary_is_the_same_from_a_polars_series():
    many = [f"{i:010d}" for i in range(3000)]
    assert audit.summarise_atena_nos(pl.Series(list(reversed(many)))) == audit.summarise_atena_nos(many)
    assert audit.summarise_atena_nos(pl.Series(["0000000002", "0000000001"])) == ["0000000001", "0000000002"]
