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


@pytest.mark.parametrize(("code", "path", "sentence"), [
    (errno.ENOSPC, None, "x stopped: there is no space left on the device at the lake. Nothing of this run was kept: "
                         "the partitions of earlier runs are intact and its temporary files were removed. To go on, "
                         "free space on the lake's disk (or raise the quota) and run it again."),
    (errno.EDQUOT, "reports/s/municipality=131032/fiscal_year=2026/.failure_slot",
     "x stopped: the disk quota is used up at reports/s/municipality=131032/fiscal_year=2026/.failure_slot (in the "
     "lake LAKE). Nothing of this run was kept: the partitions of earlier runs are intact and its temporary files "
     "were removed. To go on, free space on the lake's disk (or raise the quota) and run it again."),
    (errno.EROFS, "curated/b/municipality=131032/.fiscal_year=2026.tmp-R-1a2b/part-0.parquet",
     "x stopped: the file system is read-only at curated/b/municipality=131032/fiscal_year=2026 (in the lake LAKE). "
     "Nothing of this run was kept: the partitions of earlier runs are intact and its temporary files were removed. "
     "To go on, give the batch user write access there (or mount the file system read-write) and run it again."),
])
def test_the_storage_sentence_names_the_place_a_hidden_file_as_it_is_a_temporary_copy_as_what_it_becomes(
        tmp_path, code, path, sentence):
    from pipelines.stage import storage_error

    lake_root = tmp_path / "lake"
    error = OSError(code, os.strerror(code), str(lake_root / path) if path else None)
    assert str(storage_error(error, lake_root, "x")) == sentence.replace("LAKE", str(lake_root))
    assert storage_error(OSError(errno.ENOENT, "gone", "x"), lake_root, "x") is None
    assert storage_error(ValueError("not a disk"), lake_root, "x") is None


def test_the_failure_slot_is_stamped_in_utc_whatever_the_machines_time_zone(settings, monkeypatch):
    import json
    import time
    from datetime import UTC, datetime

    from pipelines.reports import RunReport, failure_slot_path, reserve_failure_slot
    from pipelines.stage import _slot_only

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        reserve_failure_slot(settings.lake, "record_merge", M, N)
        report = RunReport("record_merge", M, N, RUN_1, datetime.now(UTC))
        _slot_only(settings, report)
        record = json.loads(failure_slot_path(settings.lake, "record_merge", M, N).read_bytes())
        stamped = datetime.fromisoformat(record["finished_at"].replace("Z", "+00:00"))
        assert abs((stamped - datetime.now(UTC)).total_seconds()) < 120  # not nine hours off
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_run_whose_report_alone_cannot_be_written_leaves_its_failure_in_the_slot(settings, monkeypatch):
    """The data were written, the report was not (its folder is full): the run fails with the sentence naming the
    report, the slot holds the failure with that sentence once, and status shows it; the run's end is not in the
    audit trail, so the next run records it as aborted."""
    import pipelines.reports as reports

    run(settings, writer(["0000000001"]), RUN_1)
    real = reports.write_json_atomic

    def full(path, obj):
        if "/reports/" in str(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, obj)

    monkeypatch.setattr(reports, "write_json_atomic", full)
    with pytest.raises(StorageError) as failed:
        run(settings, writer(["0000000002"]), RUN_2)
    sentence = str(failed.value)
    assert sentence.startswith("record_merge 131032/2026 stopped: there is no space left on the device at reports/"
                               f"record_merge/municipality=131032/fiscal_year=2026/{RUN_2}.json (in the lake")
    [shown] = load_status(settings.lake)
    assert shown["run_id"] == RUN_2 and shown["status"] == "failed" and shown["messages"] == [sentence]
    monkeypatch.undo()
    run(settings, writer(["0000000002"]), RUN_3)
    operations = [(r["operation"], r["run_id"]) for r in read_audit(settings.lake)]
    assert ("stage_run_finished", RUN_2) not in operations and ("stage_run_aborted", RUN_2) in operations


def test_no_room_for_the_lock_or_for_the_end_record_is_told_with_a_sentence(settings, monkeypatch):
    import pipelines.audit as audit_module
    import pipelines.locks as locks

    run(settings, writer(["0000000001"]), RUN_1)  # the slot exists from now on
    lock_file = settings.lake / "locks" / "record_merge" / "municipality=131032" / "fiscal_year=2026.lock"

    def no_room(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(lock_file))

    monkeypatch.setattr(locks, "acquire", no_room)
    with pytest.raises(StorageError, match="^record_merge 131032/2026 stopped: there is no space left on the device at "
                                           "locks/record_merge/municipality=131032/fiscal_year=2026.lock"):
        run(settings, writer(["0000000002"]), RUN_2)
    [shown] = load_status(settings.lake)
    assert shown["run_id"] == RUN_2 and shown["status"] == "failed"
    monkeypatch.undo()

    real = audit_module.append_audit

    def end_not_recorded(lake_root, **kwargs):
        if kwargs.get("operation") == "stage_run_finished":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(audit_module.audit_path(lake_root)))
        return real(lake_root, **kwargs)

    monkeypatch.setattr(audit_module, "append_audit", end_not_recorded)
    with pytest.raises(StorageError, match="^record_merge 131032/2026: recording its end in the audit trail stopped: "
                                           "there is no space left on the device at audit/audit_log.jsonl"):
        run(settings, writer(["0000000003"]), RUN_3)
    monkeypatch.undo()
    run(settings, writer(["0000000003"]), "20260523T030000Z-record_merge-55667788")
    operations = [(r["operation"], r["run_id"]) for r in read_audit(settings.lake)]
    assert ("stage_run_aborted", RUN_3) in operations and ("stage_run_finished", RUN_3) not in operations


def test_a_runs_times_are_utc_whatever_the_machines_time_zone(settings, monkeypatch):
    import time
    from datetime import UTC, datetime

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        result = execute("record_merge", writer(["0000000001"]), fiscal_year=N, municipality=M, settings=settings,
                         run_id=None, dry_run=False, log=logging.getLogger("test.storage"))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    now = datetime.now(UTC)
    for stamp in (result["started_at"], result["finished_at"]):
        assert abs((datetime.fromisoformat(stamp.replace("Z", "+00:00")) - now).total_seconds()) < 120
    assert result["run_id"].startswith(result["started_at"].replace("-", "").replace(":", ""))  # its UTC start
