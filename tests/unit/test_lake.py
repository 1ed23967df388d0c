"""The lake: atomic, idempotent partition writes; readers never see a partial partition."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pytest

from contracts.errors import ConfigError, PartitionError
from pipelines import lake

REPO = Path(__file__).resolve().parents[2]
M, N = "131032", 2026


def frame(rows: int, seed: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "atena_no": [f"{i:010d}" for i in range(rows)],
            "value": pl.int_range(0, rows, eager=True) * (seed + 1),
            "label": [f"v{seed}-{i % 97}" for i in range(rows)],
        }
    )


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under root (hidden ones included) with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_partition_path_layout(tmp_path):
    path = lake.partition_path(tmp_path, "staging", "residents", M, N)
    assert path == tmp_path / "staging" / "residents" / "municipality=131032" / "fiscal_year=2026"
    with pytest.raises(ConfigError):
        lake.partition_path(tmp_path, "nowhere", "residents", M, N)
    with pytest.raises(ConfigError):
        lake.partition_path(tmp_path, "staging", "residents", "13103", N)
    with pytest.raises(ConfigError):
        lake.partition_path(tmp_path, "staging", "../x", M, N)


def test_write_then_read_round_trip_with_manifest(tmp_path):
    df = frame(1000).sample(fraction=1.0, shuffle=True, seed=3)
    written = lake.write_partition(tmp_path, "staging", "residents", M, N, df, sort_by=["atena_no"], run_id="r1")
    assert not written.unchanged and written.rows == 1000
    manifest = json.loads((written.path / lake.MANIFEST_FILE).read_text())
    assert manifest["dataset"] == "residents" and manifest["zone"] == "staging"
    assert manifest["municipality"] == M and manifest["fiscal_year"] == N and manifest["rows"] == 1000
    assert manifest["run_id"] == "r1"
    assert manifest["schema"] == {"names": ["atena_no", "value", "label"], "dtypes": ["String", "Int64", "String"]}
    assert manifest["schema_hash"] == lake.schema_hash(manifest["schema"])
    [entry] = manifest["files"]
    data = (written.path / entry["name"]).read_bytes()
    assert entry == {"name": "part-0.parquet", "rows": 1000, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    back = lake.read_partition(tmp_path, "staging", "residents", M, N)
    assert back.equals(df.sort("atena_no"))  # sorted by the key on write
    assert lake.scan_partition(tmp_path, "staging", "residents", M, N).collect().equals(back)
    # Nothing but the partition and its manifest is left beside it.
    assert sorted(p.name for p in written.path.parent.iterdir()) == ["fiscal_year=2026"]
    assert written.to_report()["path"] == "staging/residents/municipality=131032/fiscal_year=2026"


def test_bytes_do_not_depend_on_row_order_or_chunks(tmp_path):
    df = frame(5000)
    a = lake.write_partition(tmp_path / "a", "staging", "x", M, N, df, sort_by=["atena_no"], run_id="r")
    shuffled = pl.concat([df[2500:], df[:2500]], rechunk=False)
    b = lake.write_partition(tmp_path / "b", "staging", "x", M, N, shuffled, sort_by=["atena_no"], run_id="r")
    assert a.sha256 == b.sha256
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")


def test_rerun_with_same_rows_is_unchanged_and_byte_identical(tmp_path):
    first = lake.write_partition(tmp_path, "staging", "x", M, N, frame(2000), sort_by=["atena_no"], run_id="run-1")
    before = tree_bytes(tmp_path)
    mtimes = {p: p.stat().st_mtime_ns for p in first.path.iterdir()}
    again = lake.write_partition(tmp_path, "staging", "x", M, N, frame(2000), sort_by=["atena_no"], run_id="run-2")
    assert again.unchanged and again.run_id == "run-1" and again.sha256 == first.sha256
    assert tree_bytes(tmp_path) == before
    assert {p: p.stat().st_mtime_ns for p in first.path.iterdir()} == mtimes  # not even rewritten


def test_changed_rows_replace_the_partition(tmp_path):
    lake.write_partition(tmp_path, "staging", "x", M, N, frame(100), sort_by=["atena_no"], run_id="run-1")
    second = lake.write_partition(tmp_path, "staging", "x", M, N, frame(50, seed=1), sort_by=["atena_no"], run_id="run-2")
    assert not second.unchanged
    assert lake.read_manifest(tmp_path, "staging", "x", M, N)["run_id"] == "run-2"
    assert lake.read_partition(tmp_path, "staging", "x", M, N).equals(frame(50, seed=1))
    assert [p.name for p in second.path.parent.iterdir()] == ["fiscal_year=2026"]


def test_provenance_columns_do_not_defeat_idempotency(tmp_path):
    base = frame(10)
    one = base.with_columns(pl.lit("run-1").alias("run_id"))
    two = base.with_columns(pl.lit("run-2").alias("run_id"))
    lake.write_partition(tmp_path, "quarantine", "q", M, N, one, sort_by=["atena_no"], run_id="run-1",
                         compare_ignoring=["run_id"])
    before = tree_bytes(tmp_path)
    again = lake.write_partition(tmp_path, "quarantine", "q", M, N, two, sort_by=["atena_no"], run_id="run-2",
                                 compare_ignoring=["run_id"])
    assert again.unchanged and tree_bytes(tmp_path) == before


def test_damaged_partition_is_rewritten_not_trusted(tmp_path):
    written = lake.write_partition(tmp_path, "staging", "x", M, N, frame(100), sort_by=["atena_no"], run_id="r1")
    data_file = written.path / lake.DATA_FILE
    data_file.write_bytes(data_file.read_bytes()[:-10])
    with pytest.raises(PartitionError, match="does not match its manifest"):
        lake.read_partition(tmp_path, "staging", "x", M, N)
    with pytest.raises(PartitionError, match="wrong size"):
        lake.scan_partition(tmp_path, "staging", "x", M, N)
    again = lake.write_partition(tmp_path, "staging", "x", M, N, frame(100), sort_by=["atena_no"], run_id="r2")
    assert not again.unchanged
    assert lake.read_partition(tmp_path, "staging", "x", M, N).equals(frame(100))


def test_reader_refuses_a_directory_without_manifest(tmp_path):
    target = lake.partition_path(tmp_path, "staging", "x", M, N)
    with pytest.raises(PartitionError, match="absent"):
        lake.read_partition(tmp_path, "staging", "x", M, N)
    target.mkdir(parents=True)
    frame(10).write_parquet(target / lake.DATA_FILE)  # a stray file, as a naive writer would leave it
    with pytest.raises(PartitionError, match="no _manifest.json"):
        lake.read_partition(tmp_path, "staging", "x", M, N)
    with pytest.raises(PartitionError):
        lake.scan_partition(tmp_path, "staging", "x", M, N)


def test_leftover_temp_dirs_are_ignored_by_readers_and_cleaned_by_the_next_write(tmp_path):
    lake.write_partition(tmp_path, "staging", "x", M, N, frame(10), sort_by=["atena_no"], run_id="r1")
    parent = lake.partition_path(tmp_path, "staging", "x", M, N).parent
    leftover = parent / ".fiscal_year=2026.tmp-r0-deadbeef"
    leftover.mkdir()
    (leftover / lake.DATA_FILE).write_bytes(b"PAR1 half written")
    assert lake.read_partition(tmp_path, "staging", "x", M, N).equals(frame(10))
    lake.write_partition(tmp_path, "staging", "x", M, N, frame(10), sort_by=["atena_no"], run_id="r2")
    assert not leftover.exists()


def test_write_json_atomic_is_sorted_and_complete(tmp_path):
    path = lake.write_json_atomic(tmp_path / "r" / "x.json", {"b": 1, "a": "港区"})
    assert path.read_text(encoding="utf-8") == '{\n  "a": "港区",\n  "b": 1\n}\n'
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]


def test_encrypted_partition_needs_the_key(tmp_path):
    key = os.urandom(32)
    enc = lake.PartitionEncryption.from_master(key, ["label"])
    df = frame(100)
    written = lake.write_partition(tmp_path, "vault", "v", M, N, df, sort_by=["atena_no"], run_id="r1", encryption=enc)
    assert b"v0-1" not in (written.path / lake.DATA_FILE).read_bytes()
    assert "footer_key" not in repr(enc) and key.hex() not in repr(enc)
    assert lake.read_partition(tmp_path, "vault", "v", M, N, decryption=enc).equals(df)
    with pytest.raises(pl.exceptions.ComputeError, match="encrypted footer"):  # no key
        lake.read_partition(tmp_path, "vault", "v", M, N)
    with pytest.raises(pl.exceptions.ComputeError, match="unable to decrypt"):  # another key
        lake.read_partition(tmp_path, "vault", "v", M, N, decryption=lake.PartitionEncryption.from_master(os.urandom(32)))
    # Encrypted bytes differ per write (random nonces), yet a rerun is recognised as unchanged.
    before = tree_bytes(tmp_path)
    again = lake.write_partition(tmp_path, "vault", "v", M, N, df, sort_by=["atena_no"], run_id="r2", encryption=enc)
    assert again.unchanged and tree_bytes(tmp_path) == before


def test_fallback_without_rename_exchange(tmp_path, monkeypatch):
    monkeypatch.setattr(lake, "_renameat2_exchange", lambda src, dst: False)
    lake.write_partition(tmp_path, "staging", "x", M, N, frame(10), sort_by=["atena_no"], run_id="r1")
    lake.write_partition(tmp_path, "staging", "x", M, N, frame(20), sort_by=["atena_no"], run_id="r2")
    assert lake.read_partition(tmp_path, "staging", "x", M, N).equals(frame(20))
    assert [p.name for p in lake.partition_path(tmp_path, "staging", "x", M, N).parent.iterdir()] == ["fiscal_year=2026"]


# ----------------------------------------------------------------------------------- killed writers

CHILD = textwrap.dedent(
    """
    import os, sys, time
    import polars as pl
    from pipelines import lake

    root, rows, stop_at, fallback = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
    if fallback:
        lake._renameat2_exchange = lambda src, dst: False

    def hook(step):
        if step == stop_at:
            print(step, flush=True)
            time.sleep(60)  # the parent kills us here

    lake._STEP_HOOK = hook
    print("start", flush=True)
    df = pl.DataFrame({
        "atena_no": pl.int_range(0, rows, eager=True).cast(pl.String).str.zfill(10),
        "value": pl.int_range(0, rows, eager=True) * 7,
        "label": pl.int_range(0, rows, eager=True).cast(pl.String) + "-new",
    })
    lake.write_partition(root, "staging", "big", "131032", 2026, df, sort_by=["atena_no"], run_id="run-new")
    print("finished", flush=True)
    """
)


def old_frame() -> pl.DataFrame:
    return pl.DataFrame({
        "atena_no": [f"{i:010d}" for i in range(1000)],
        "value": pl.int_range(0, 1000, eager=True),
        "label": [f"{i}-old" for i in range(1000)],
    })


def start_child(root: Path, rows: int, stop_at: str, fallback: bool = False) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "POLARS_MAX_THREADS": "2"}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), str(rows), stop_at, "1" if fallback else "0"],
        stdout=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )


def wait_for(child: subprocess.Popen, word: str) -> None:
    for line in child.stdout:
        if line.strip() == word:
            return
    raise AssertionError(f"child ended before {word!r}")


def assert_one_whole_version(root: Path, new_rows: int) -> str:
    """The visible partition is exactly the old or exactly the new version, consistent with its manifest."""
    df = lake.read_partition(root, "staging", "big", M, N, verify=True)
    manifest = lake.read_manifest(root, "staging", "big", M, N)
    if manifest["run_id"] == "run-old":
        assert df.equals(old_frame())
        return "old"
    assert manifest["run_id"] == "run-new" and df.height == new_rows == manifest["rows"]
    assert df.get_column("label").str.ends_with("-new").all()
    return "new"


@pytest.mark.parametrize(
    ("stop_at", "expected"),
    [("tmp_created", "old"), ("data_written", "old"), ("manifest_written", "old"), ("exchanged", "new")],
)
def test_writer_killed_at_each_step_leaves_a_whole_version(tmp_path, stop_at, expected):
    lake.write_partition(tmp_path, "staging", "big", M, N, old_frame(), sort_by=["atena_no"], run_id="run-old")
    child = start_child(tmp_path, 50_000, stop_at)
    try:
        wait_for(child, stop_at)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert assert_one_whole_version(tmp_path, 50_000) == expected
    # The next write cleans what the killed writer left and succeeds.
    lake.write_partition(tmp_path, "staging", "big", M, N, old_frame(), sort_by=["atena_no"], run_id="run-old")
    assert [p.name for p in lake.partition_path(tmp_path, "staging", "big", M, N).parent.iterdir()] == [
        "fiscal_year=2026"
    ]


@pytest.mark.slow
def test_writer_killed_at_random_moments_of_a_big_write(tmp_path):
    lake.write_partition(tmp_path, "staging", "big", M, N, old_frame(), sort_by=["atena_no"], run_id="run-old")
    rows = 400_000
    seen = set()
    for delay in (0.0, 0.25, 0.5, 0.9):
        child = start_child(tmp_path, rows, stop_at="never")
        try:
            wait_for(child, "start")
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(timeout=30)
        seen.add(assert_one_whole_version(tmp_path, rows))
        if "new" in seen:  # put the old version back for the next round
            lake.write_partition(tmp_path, "staging", "big", M, N, old_frame(), sort_by=["atena_no"], run_id="run-old")
    assert "old" in seen


def test_fallback_writer_killed_between_renames_is_restored_by_next_write(tmp_path):
    lake.write_partition(tmp_path, "staging", "big", M, N, old_frame(), sort_by=["atena_no"], run_id="run-old")
    child = start_child(tmp_path, 10_000, "fallback_moved_old", fallback=True)
    try:
        wait_for(child, "fallback_moved_old")
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    # Never a partial version: the partition is refused with an explanation, not half-read.
    with pytest.raises(PartitionError, match="interrupted write"):
        lake.read_partition(tmp_path, "staging", "big", M, N)
    again = lake.write_partition(tmp_path, "staging", "big", M, N, old_frame(), sort_by=["atena_no"], run_id="run-x")
    assert again.unchanged and again.run_id == "run-old"  # the previous version was put back
    assert assert_one_whole_version(tmp_path, 10_000) == "old"
