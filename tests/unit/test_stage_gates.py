"""The gates every stage shares (pipelines.stage): the contract gate's operator sentence and what a run of
``execute`` shows and records (docs/run-report.md). Hand-built models and bodies."""

from __future__ import annotations

import logging

import pandera.polars as pa
import polars as pl
import pytest
from pandera.api.polars.types import PolarsData

from contracts.errors import ConfigError, ContractError


class Thing(pa.DataFrameModel):
    a: pl.Int64 = pa.Field(gt=0)
    b: pl.Int64

    class Config:
        name = "Thing"

    @pa.dataframe_check(name="a is below b")
    def _a_below_b(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("a") < pl.col("b"))


TAIL = ("Nothing was written. This is a defect of the stage or an input it does not handle; report it with "
        "run id RUN1.")


def _sentence(frame: pl.DataFrame) -> str:
    from pipelines.stage import validate

    with pytest.raises(ContractError) as raised:
        validate(Thing, frame, "curated/thing", "RUN1")
    return str(raised.value)


def test_a_column_check_names_the_column_the_check_and_the_rows():
    assert _sentence(pl.DataFrame({"a": [1, -1, -2], "b": [5, 9, 9]})) == (
        f"Staged dataset curated/thing breaks its contract Thing: column a fails greater_than (2 rows). {TAIL}")


def test_a_frame_check_names_the_frame_and_several_failures_are_joined():
    assert _sentence(pl.DataFrame({"a": [1, 5], "b": [5, 2]})) == (
        f"Staged dataset curated/thing breaks its contract Thing: the frame fails a is below b (1 rows). {TAIL}")
    two = _sentence(pl.DataFrame({"a": [-1, 5], "b": [5, 2]}))
    assert "column a fails greater_than (1 rows); the frame fails a is below b (1 rows)." in two


def test_a_valid_frame_passes_unchanged():
    from pipelines.stage import validate

    frame = pl.DataFrame({"a": [1], "b": [2]})
    assert validate(Thing, frame, "curated/thing", "RUN1").equals(frame)


# ------------------------------------------------------------------------------------------ execute
@pytest.fixture()
def settings(tmp_path):
    from pipelines.config import Settings

    return Settings.from_env({"JUMINZEI_HOME": str(tmp_path), "JUMINZEI_LAKE": str(tmp_path / "lake"),
                              "JUMINZEI_ACTOR": "tester", "JUMINZEI_VAULT_KEY_FILE": str(tmp_path / "k" / "v.key"),
                              "JUMINZEI_DATA_DOCS": str(tmp_path / "docs")})


def _execute(settings, body, *, dry_run=False, run_id="20260520T030000Z-returns_ingest-0a1b2c3d", steps=()):
    from pipelines.stage import execute

    return execute("returns_ingest", body, fiscal_year=2026, municipality="131032", settings=settings,
                   run_id=run_id, dry_run=dry_run, log=logging.getLogger("test.stage"), steps=steps)


def test_a_run_shows_its_label_and_steps_and_logs_its_counts(settings, capsys, caplog):
    def body(settings, report):
        from pipelines.progress import step

        step("first")
        report.add_input_counts("landing/x.csv", received=3, staged=2, quarantined=1)
        report.add_quarantine_reasons({"bad_format": 1})

    with caplog.at_level(logging.INFO, logger="test.stage"):
        result = _execute(settings, body, dry_run=True, steps=("first",))
    err = capsys.readouterr().err
    assert "returns_ingest 131032/2026 (dry run): step 1 of 1, first" in err
    assert result["status"] == "success" and result["run_id"] == "20260520T030000Z-returns_ingest-0a1b2c3d"
    assert caplog.messages == [
        "returns_ingest 131032/2026 run 20260520T030000Z-returns_ingest-0a1b2c3d (dry run): received 3, staged 2, "
        "quarantined 1, forwarded 0; reconciles: True"]


def test_a_run_without_steps_shows_one_working_step_and_no_dry_run_mark(settings, capsys):
    _execute(settings, lambda settings, report: None)
    err = capsys.readouterr().err
    assert "returns_ingest 131032/2026: " in err and "(dry run)" not in err


def test_a_run_without_a_run_id_gets_one_of_its_stage_and_start(settings):
    result = _execute(settings, lambda settings, report: None, run_id=None)
    assert result["run_id"].startswith(result["started_at"][:4]) and "-returns_ingest-" in result["run_id"]


def test_a_project_error_fails_the_run_with_its_sentence_and_is_raised(settings, caplog):
    def body(settings, report):
        raise ConfigError("the rule file of 2031 does not exist")

    with caplog.at_level(logging.ERROR, logger="test.stage"), pytest.raises(ConfigError):
        _execute(settings, body)
    from pipelines.reports import load_latest

    (report,) = load_latest(settings.lake)
    assert report["status"] == "failed" and report["messages"] == ["the rule file of 2031 does not exist"]
    assert caplog.messages[-1].endswith("failed: the rule file of 2031 does not exist")


def test_an_unexpected_error_is_reported_by_type_only(settings):
    def body(settings, report):
        raise KeyError("0100000001 山田")  # its text may quote data: never shown

    with pytest.raises(KeyError):
        _execute(settings, body)
    from pipelines.reports import load_latest

    (report,) = load_latest(settings.lake)
    assert report["status"] == "failed"
    assert report["messages"] == [
        "The stage stopped on an unexpected KeyError; nothing after that point was written. See the task log of run "
        "20260520T030000Z-returns_ingest-0a1b2c3d for the traceback."]


def test_a_single_contract_error_without_a_check_name_rows_or_column_still_reads_as_a_sentence():
    """A pandera SchemaError (one failure, not SchemaErrors) whose check has no name, whose failure cases are not a
    table and which names no column: the sentence names the check as written and the frame."""
    from pipelines.stage import _contract_sentence

    class OneFailure(Exception):
        check = "custom check"
        failure_cases = 5  # not a table: no row count

    assert _contract_sentence(Thing, "curated/thing", OneFailure(), "RUN1") == (
        f"Staged dataset curated/thing breaks its contract Thing: the frame fails custom check. {TAIL}")


@pytest.mark.parametrize(("failing", "shown"), [  # each failing input, then the total, fail
    (4, "input:f0.csv, input:f1.csv, input:f2.csv, input:f3.csv, total"),
    (5, "input:f0.csv, input:f1.csv, input:f2.csv, input:f3.csv, input:f4.csv and 1 more"),
    (7, "input:f0.csv, input:f1.csv, input:f2.csv, input:f3.csv, input:f4.csv and 3 more"),
])
def test_the_reconciliation_gate_names_five_failing_inputs_and_counts_the_rest(failing, shown):
    from contracts.errors import ReconciliationError
    from pipelines.reports import RunReport
    from pipelines.stage import require_reconciled

    report = RunReport("returns_ingest", "131032", 2026, "RUN1", __import__("datetime").datetime(2026, 5, 20))
    for i in range(failing):
        report.add_input_counts(f"f{i}.csv", received=2, staged=1, quarantined=0)
    with pytest.raises(ReconciliationError) as refused:
        require_reconciled(report)
    assert str(refused.value) == (
        f"Counts of returns_ingest 131032/2026 do not reconcile ({shown}); nothing was written. Every received "
        "record must be staged, quarantined or forwarded.")
