"""Progress of long stages (pipelines.progress): done of total and the elapsed time, at least every 10
seconds, as plain lines where there is no terminal (Airflow task logs) and as a rich bar on one."""

from __future__ import annotations

import io
import re
import time

import pytest

from pipelines import progress


def test_plain_lines_name_the_step_the_count_and_the_time():
    out = io.StringIO()
    with progress.track("returns_ingest 131032/2026", ("classifying", "parsing"), stream=out, mode="lines",
                        interval=5):
        progress.step("classifying")
        progress.step("parsing", total=3, unit="files")
        progress.advance(2)
    lines = out.getvalue().splitlines()
    assert lines[0] == "returns_ingest 131032/2026: step 1 of 2, classifying, elapsed 0:00:00"
    assert lines[1] == "returns_ingest 131032/2026: step 2 of 2, parsing, files 0 of 3, elapsed 0:00:00"
    assert lines[-1] == "returns_ingest 131032/2026: done after 0:00:00"


def test_a_long_step_is_reported_again_while_it_runs():
    """The heartbeat repeats the current state every interval (10 s in production, shorter here)."""
    out = io.StringIO()
    with progress.track("record_merge 131032/2026", ("merging",), stream=out, mode="lines", interval=0.05):
        progress.step("merging", total=10, unit="partitions")
        progress.advance(4)
        time.sleep(0.4)
    repeats = [line for line in out.getvalue().splitlines() if "partitions 4 of 10" in line]
    assert len(repeats) >= 3, out.getvalue()
    assert all(re.search(r"elapsed \d+:\d\d:\d\d$", line) for line in repeats)


def test_the_interval_is_never_longer_than_ten_seconds(monkeypatch):
    monkeypatch.setenv("JUMINZEI_PROGRESS_SECONDS", "60")
    assert progress._interval() == 10
    monkeypatch.setenv("JUMINZEI_PROGRESS_SECONDS", "2")
    assert progress._interval() == 2


def test_a_failure_is_shown_as_such_and_re_raised():
    out = io.StringIO()
    with pytest.raises(ValueError):
        with progress.track("tax_assessment 131032/2026", ("computing",), stream=out, mode="lines", interval=5):
            progress.step("computing")
            raise ValueError("boom")
    assert out.getvalue().splitlines()[-1].startswith("tax_assessment 131032/2026: failed after ")


def test_a_terminal_gets_a_rich_bar():
    out = io.StringIO()
    with progress.track("record_merge 131032/2026", ("a", "b"), stream=out, mode="bar"):
        progress.step("b")
    assert "2/2" in out.getvalue() and "done" in out.getvalue()


def test_outside_a_stage_step_and_advance_do_nothing():
    progress.step("anything")
    progress.advance()


def test_mode_follows_the_stream_and_the_setting(monkeypatch):
    monkeypatch.delenv("JUMINZEI_PROGRESS", raising=False)
    assert progress._mode(io.StringIO()) == "lines"
    monkeypatch.setenv("JUMINZEI_PROGRESS", "off")
    assert progress._mode(io.StringIO()) == "off"


def test_every_stage_declares_its_steps():
    from importlib import import_module

    from pipelines.stages import STAGES

    for target in STAGES.values():
        module = import_module(target.partition(":")[0])
        assert len(module.STEPS) >= 3 and all(isinstance(s, str) and s for s in module.STEPS), target
