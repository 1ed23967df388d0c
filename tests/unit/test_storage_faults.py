"""A full or unwritable lake (issue 16, point 6; pipelines/stage.py, pipelines/reports.py): the stage fails with an
operator sentence naming the path (no traceback), the previous partition stays, the temporary files go, and when
not even the run report can be written the failure lands in the stage's pre-allocated failure slot, which
`juminzei status` shows. The disk is made full or read-only by making the lake's low-level writer raise the
error the kernel gives (ENOSPC, EACCES): a test cannot fill the machine's disk, and it runs as root here, to whom
a read-only mode means nothing."""

from __future__ import annotations

import errno
import logging
import os

import polars as pl
import pytest

from contracts.errors import StorageError
from pipelines import lake
from pipelines.audit import read_audit
from pipelines.config import Settings
from tests.unit.private_env import private_settings
from pipelines.reports import FAILURE_SLOT_BYTES, failure_slot_path, format_status, load_latest, load_status
from pipelines.stage import execute

M, N = "131032", 2026
RUN_1 = "20260520T030000Z-record_merge-0a1b2c3d"
RUN_2 = "20260521T030000Z-record_merge-9f8e7d6c"
RUN_3 = "20260522T030000Z-record_merge-11223344"


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    return private_settings(tmp_path, monkeypatch, actor="sato")


def writer(rows):
    def body(settings, report):
        written = lake.write_partition(settings.lake, "curated", "taxation_basis", M, N,
                                       pl.DataFrame({"atena_no": rows}), sort_by=["atena_no"], run_id=report.run_id)
        report.add_output(written)
    return body


def run(settings, body, run_id):
    return execute("record_merge", body, fiscal_year=N, municipality=M, settings=settings, run_id=run_id,
                   dry_run=False, log=logging.getLogger("test.storage"))


def failing_writes(monkeypatch, code: int, *, when=lambda path: True):
    real = lake._write_file_durable

    def write(path, data, mode=0o644):
        if when(str(path)):
            raise OSError(code, os.strerror(code), str(path))
        return real(path, data, mode)

    monkeypatch.setattr(lake, "_write_file_durable", write)


def hidden_temporaries(root):
    return [p for p in root.rglob(".*tmp*")]


def test_a_full_disk_during_a_partition_write_fails_the_run_with_a_sentence_and_keeps_the_previous_partition(
        settings, monkeypatch):
    run(settings, writer(["0000000001", "0000000002"]), RUN_1)
    failing_writes(monkeypatch, errno.ENOSPC, when=lambda path: "/curated/" in path)
    with pytest.raises(StorageError) as failed:
        run(settings, writer(["0000000003"]), RUN_2)
    sentence = str(failed.value)
    assert sentence.startswith("record_merge 131032/2026 stopped: there is no space left on the device at curated/")
    assert "curated/taxation_basis/municipality=131032/fiscal_year=2026 (in the lake" in sentence  # the partition
    assert "free space on the lake's disk" in sentence
    assert failed.value.__cause__ is None and failed.value.__suppress_context__  # no chained traceback
    kept = lake.read_partition(settings.lake, "curated", "taxation_basis", M, N)
    assert kept["atena_no"].to_list() == ["0000000001", "0000000002"]  # the previous partition, intact
    assert hidden_temporaries(settings.lake) == []
    # the report could be written (only the data's disk path failed): it says so, and status shows it
    [latest] = load_latest(settings.lake)
    assert latest["run_id"] == RUN_2 and latest["status"] == "failed" and latest["messages"][-1] == sentence
    ends = [r for r in read_audit(settings.lake) if r["operation"] == "stage_run_finished"]
    assert [e["details"]["status"] for e in ends] == ["success", "failed"]


def test_when_not_even_the_report_fits_the_failure_slot_holds_it_and_status_shows_it(settings, monkeypatch, capsys):
    run(settings, writer(["0000000001"]), RUN_1)
    slot = failure_slot_path(settings.lake, "record_merge", M, N)
    assert slot.stat().st_size == FAILURE_SLOT_BYTES and slot.read_bytes().strip() == b""
    failing_writes(monkeypatch, errno.ENOSPC)  # the whole disk is full: data, report, audit trail
    monkeypatch.setattr("pipelines.audit._line", lambda record: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(settings.lake / "audit" / "audit_log.jsonl"))))
    with pytest.raises(StorageError, match="no space left"):
        run(settings, writer(["0000000002"]), RUN_2)
    assert slot.stat().st_size == FAILURE_SLOT_BYTES  # written in place: no new block was needed
    [latest] = load_latest(settings.lake)
    assert latest["run_id"] == RUN_1 and latest["status"] == "success"  # the last report written is the old one
    [shown] = load_status(settings.lake)
    assert shown["run_id"] == RUN_2 and shown["status"] == "failed" and "no space left" in shown["messages"][-1]
    table = format_status(load_status(settings.lake), lake=settings.lake)
    assert "FAILED" in table and "! record_merge 131032/2026 stopped: there is no space left" in table
    assert ".failure_slot" in table  # where the record is, since no report could be written
    assert hidden_temporaries(settings.lake) == []
    monkeypatch.undo()  # space freed: the next run works, records the failed one as aborted, blanks the slot
    result = run(settings, writer(["0000000002"]), RUN_3)
    assert result["status"] == "success" and slot.read_bytes().strip() == b""
    [shown] = load_status(settings.lake)
    assert shown["run_id"] == RUN_3
    operations = [(r["operation"], r["run_id"]) for r in read_audit(settings.lake)]
    assert operations[-3:] == [("stage_run_aborted", RUN_2), ("stage_run_started", RUN_3),
                               ("stage_run_finished", RUN_3)]


def test_a_read_only_partition_fails_the_run_with_a_sentence_not_a_traceback(settings, monkeypatch, capsys):
    from juminzei.cli import main

    run(settings, writer(["0000000001"]), RUN_1)
    failing_writes(monkeypatch, errno.EACCES, when=lambda path: "/curated/" in path)
    # the CLI runs "record_merge" through its usual path; the stage's body is the small writer of this file
    monkeypatch.setattr("pipelines.record_merge.run", lambda *, fiscal_year, municipality, settings, run_id,
                        dry_run, **options: run(settings, writer(["0000000009"]), run_id or RUN_2))
    assert main(["run", "record_merge", "--fiscal-year", str(N)]) == 2
    err = capsys.readouterr().err.splitlines()[-1]  # after the progress lines
    assert err.startswith("juminzei run: record_merge 131032/2026 stopped: permission is denied at curated/"
                          "taxation_basis/municipality=131032/fiscal_year=2026 (in the lake")
    assert "give the batch user write access there" in err and "Traceback" not in err
    assert lake.read_partition(settings.lake, "curated", "taxation_basis", M, N)["atena_no"].to_list() == [
        "0000000001"]


def test_the_airflow_task_keeps_its_retries_for_a_full_disk_and_shows_the_sentence(monkeypatch):
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    from pipelines import runtime

    def full(run):
        raise StorageError("record_merge 131032/2026 stopped: there is no space left on the device at curated/x.")

    monkeypatch.setattr(runtime, "run_stage", full)
    with pytest.raises(AirflowException, match="no space left") as raised:
        runtime.run_stage_task({})
    assert not isinstance(raised.value, AirflowFailException)  # a retry may find space freed
