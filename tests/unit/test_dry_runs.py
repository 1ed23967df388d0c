"""Every stage of the cycle, on a small generated ward, in the two runs that must leave the lake as it was:

* a dry run computes and checks everything and writes only its run report (and, where the stage keeps one,
  its audit record and validation report): every other file of the lake is byte-identical afterwards;
* a run whose counts do not reconcile (a record lost between reading and routing, simulated by reporting one
  record more than the stage received) fails with :class:`ReconciliationError` before writing anything:
  its report says ``failed``, and no partition, ledger row or vault file changes.

The upstream stages run for real once per module; each test works on a copy of that lake.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

#: Builds a generated ward or runs whole stages: left out of mutation runs (docs/testing.md).
pytestmark = pytest.mark.slow

M, N = "131032", 2026
CYCLE = ("resident_snapshot", "returns_ingest", "record_merge", "tax_assessment")
# What a run may add or change besides the lake's data: its report, the audit trail (resident_snapshot records
# that it read the My Number file, even in a dry run), and the validation report (Data Docs) outside the lake.
REPORT_ZONES = ("reports", "audit", "locks")  # a lock file holds no data, only the running run


@pytest.fixture(scope="module")
def upstream(tmp_path_factory) -> dict[str, Path]:
    """``upstream[stage]``: a lake in which every stage before ``stage`` has run (for real) on a 150-person ward."""
    from sample_ward import generate_ward
    from pipelines.stages import stage_runner

    root = tmp_path_factory.mktemp("dry_runs")
    generate_ward(root / "ward", residents=150, seed=5, fiscal_year=N)
    lakes: dict[str, Path] = {}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUMINZEI_VAULT_KEY_FILE", str(root / "keys" / "vault.key"))
        env.setenv("JUMINZEI_DATA_DOCS", str(root / "data_docs"))
        current = root / "lake_0"
        shutil.copytree(root / "ward" / "landing", current / "landing")
        for i, stage in enumerate(CYCLE):
            lakes[stage] = current
            following = root / f"lake_{i + 1}"
            shutil.copytree(current, following)
            env.setenv("JUMINZEI_LAKE", str(following))
            report = stage_runner(stage)(fiscal_year=N, municipality=M)
            assert report["status"] == "success" and report["reconciliation"]["ok"], stage
            current = following
    return {"root": root, **lakes}


@pytest.fixture()
def lake_before(upstream, tmp_path, monkeypatch):
    """A private copy of the lake before ``stage``, with the module's vault key."""
    def copy(stage: str) -> Path:
        lake = tmp_path / "lake"
        shutil.copytree(upstream[stage], lake)
        monkeypatch.setenv("JUMINZEI_LAKE", str(lake))
        monkeypatch.setenv("JUMINZEI_VAULT_KEY_FILE", str(upstream["root"] / "keys" / "vault.key"))
        monkeypatch.setenv("JUMINZEI_DATA_DOCS", str(tmp_path / "data_docs"))
        return lake
    return copy


def _files(lake: Path) -> dict[str, bytes]:
    return {p.relative_to(lake).as_posix(): p.read_bytes() for p in sorted(lake.rglob("*")) if p.is_file()}


def _data_unchanged(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """Every file outside the report zones is byte-identical, and none was added or removed there."""
    data = lambda files: {k: v for k, v in files.items() if k.split("/")[0] not in REPORT_ZONES}  # noqa: E731
    b, a = data(before), data(after)
    assert sorted(set(a) - set(b)) == [] and sorted(set(b) - set(a)) == []
    assert [k for k in b if a[k] != b[k]] == []


def _new_reports(before: dict[str, bytes], after: dict[str, bytes], stage: str) -> list[str]:
    added = sorted(k for k in set(after) - set(before) if k.startswith("reports/"))
    assert added and all(k.startswith(f"reports/{stage}/municipality={M}/fiscal_year={N}/") for k in added), added
    return added


@pytest.mark.parametrize("stage", CYCLE)
def test_a_dry_run_writes_only_its_report(stage, lake_before):
    from pipelines.stages import stage_runner

    lake = lake_before(stage)
    before = _files(lake)
    report = stage_runner(stage)(fiscal_year=N, municipality=M, dry_run=True)
    after = _files(lake)
    assert report["status"] == "success" and report["dry_run"] is True and report["outputs"] == []
    assert report["reconciliation"]["ok"] and report["counts"]["received"] > 0
    _data_unchanged(before, after)
    added = _new_reports(before, after, stage)
    slot = [k for k in added if k.endswith("/.failure_slot")]  # the stage's failure slot, reserved blank
    assert all(after[k].strip() == b"" for k in slot)
    assert {Path(k).name for k in added if k not in slot} == {f"{report['run_id']}.json", "latest_dry_run.json"}
    # the real run's latest.json (written upstream, when there was one) is untouched
    assert all(after[k] == before[k] for k in before if k.endswith("/latest.json"))


@pytest.mark.parametrize("stage", CYCLE)
def test_a_run_that_does_not_reconcile_writes_nothing(stage, lake_before, monkeypatch):
    from contracts.errors import ReconciliationError
    from pipelines.reports import RunReport, load_latest
    from pipelines.stages import stage_runner

    lake = lake_before(stage)
    before = _files(lake)
    original = RunReport.add_input_counts

    def one_more_received(self, path, *, received, **rest):  # a record the routing lost
        return original(self, path, received=received + 1, **rest)

    monkeypatch.setattr(RunReport, "add_input_counts", one_more_received)
    with pytest.raises(ReconciliationError, match="do not reconcile"):
        stage_runner(stage)(fiscal_year=N, municipality=M)
    after = _files(lake)
    _data_unchanged(before, after)
    _new_reports(before, after, stage)
    latest = [r for r in load_latest(lake) if r["stage"] == stage]
    assert [r["status"] for r in latest] == ["failed"] and latest[0]["outputs"] == []
    assert latest[0]["reconciliation"]["ok"] is False
