"""No delivery state is a crash: every stage of the cycle on the deliveries an operator meets besides a full
ward — nothing at all, files already ingested, only malformed files, a single person, a person whose every
field is empty, and an upstream partition with zero rows. Each run must finish with a run report that says
what it saw and reconciles (received = staged + quarantined + forwarded), and the next stage must run on it.

The inputs are cut out of a small generated ward (the registry and document files in their wire formats);
the expected counts follow from the cut, not from the code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

#: Builds a generated ward or runs whole stages: left out of mutation runs (docs/testing.md).
pytestmark = pytest.mark.slow

M, N = "131032", 2026
CYCLE = ("resident_snapshot", "returns_ingest", "record_merge", "tax_assessment")
REGISTRY_SOURCES = ("resident_registry", "my_number", "livelihood_assistance", "disability")
CSV_DOCUMENTS = ("salary_report", "salary_summary", "pension_report", "resident_return", "furusato_notice")


@pytest.fixture(scope="module")
def ward(tmp_path_factory) -> Path:
    from sample_ward import generate_ward

    out = tmp_path_factory.mktemp("edge_states") / "ward"
    generate_ward(out, residents=300, seed=7, fiscal_year=N)
    return out / "landing"


@pytest.fixture()
def lake(tmp_path, monkeypatch) -> Path:
    lake = tmp_path / "lake"
    (lake / "landing").mkdir(parents=True)
    monkeypatch.setenv("JUMINZEI_LAKE", str(lake))
    monkeypatch.setenv("JUMINZEI_VAULT_KEY_FILE", str(tmp_path / "keys" / "vault.key"))
    monkeypatch.setenv("JUMINZEI_DATA_DOCS", str(tmp_path / "data_docs"))
    return lake


def _folder(root: Path, source: str) -> Path:
    return root / source / f"municipality={M}" / f"fiscal_year={N}"


def _deliver(ward: Path, lake: Path, sources) -> None:
    for source in sources:
        shutil.copytree(_folder(ward, source), _folder(lake / "landing", source))


def _registry(ward: Path, lake: Path, keep_rows) -> None:
    """The four registry files with their header and the data rows ``keep_rows(source, rows)`` returns."""
    for source in REGISTRY_SOURCES:
        (path,) = sorted(_folder(ward, source).glob("*.csv"))
        lines = path.read_bytes().splitlines(keepends=True)
        target = _folder(lake / "landing", source) / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"".join([lines[0], *keep_rows(source, lines[1:])]))


def _run(stage: str, **options) -> dict:
    from pipelines.stages import stage_runner

    report = stage_runner(stage)(fiscal_year=N, municipality=M, **options)
    assert report["status"] == "success", report["messages"]
    assert report["reconciliation"]["ok"], [c for c in report["reconciliation"]["checks"] if not c["ok"]]
    counts = report["counts"]
    assert counts["received"] == counts["staged"] + counts["quarantined"] + counts["forwarded"]
    return report


def _rows(lake: Path, zone: str, dataset: str) -> pl.DataFrame:
    from pipelines.lake import read_partition

    return read_partition(lake, zone, dataset, M, N)


def _cycle(lake: Path) -> dict[str, dict]:
    return {stage: _run(stage) for stage in CYCLE}


# ------------------------------------------------------------------------------------------- nothing
def test_empty_delivery_runs_the_whole_cycle(ward, lake, capsys):
    """Registry files with their header only and not one document: every stage reports 0 and writes its
    (empty, typed) partitions, so the next stage and the next day's run find them."""
    from juminzei.cli import main

    _registry(ward, lake, lambda source, rows: [])
    reports = _cycle(lake)
    for stage, report in reports.items():
        assert report["counts"]["received"] == 0, stage
        assert report["outputs"], f"{stage} wrote no partition"
    for dataset in ("salary_reports", "etax_returns", "review_queue", "etax_dependants"):
        assert _rows(lake, "staging", dataset).height == 0
    assert _rows(lake, "curated", "taxation_basis").height == 0
    assert _rows(lake, "curated", "tax_assessment").height == 0
    # The operator's command exits 0 and says what it saw.
    assert main(["run", "returns_ingest", "--fiscal-year", str(N)]) == 0
    captured = capsys.readouterr()
    assert "received 0, staged 0, quarantined 0, forwarded 0; reconciles: yes" in captured.out
    # its progress, as plain lines (no terminal here): every step, then the outcome
    assert "returns_ingest 131032/2026: step 1 of 5, classifying the landing files" in captured.err
    assert "returns_ingest 131032/2026: done after" in captured.err


def test_empty_files_are_received_as_zero_records(ward, lake):
    """A document file of 0 bytes holds no record: received 0, nothing quarantined, the run reconciles. The
    five empty files have the same bytes, so the first is new and the others are reported as its repeats."""
    _registry(ward, lake, lambda source, rows: rows)
    _run("resident_snapshot")
    for source in CSV_DOCUMENTS:
        folder = _folder(lake / "landing", source)
        folder.mkdir(parents=True)
        (folder / "20260131_empty_0000001.csv").write_bytes(b"")
    report = _run("returns_ingest")
    counts = report["counts"]
    assert counts["received"] == 0 and counts["quarantined"] == 0
    assert (counts["files_new"], counts["files_duplicate"]) == (1, len(CSV_DOCUMENTS) - 1)


# ---------------------------------------------------------------------------------- already ingested
def test_a_delivery_of_only_already_ingested_files(ward, lake):
    """The second run of the day sees every file already ingested: it reports them, stages the same rows and
    replaces no partition (so no downstream stage is started)."""
    from pipelines.runtime import publish_skip_reason, summarize

    _deliver(ward, lake, (*REGISTRY_SOURCES, "salary_report", "salary_summary", "etax_return"))
    _run("resident_snapshot")
    first = _run("returns_ingest")
    files = sum(1 for p in (lake / "landing").rglob("*") if p.is_file() and p.parts[-4] not in REGISTRY_SOURCES)
    new, repeats = first["counts"]["files_new"], first["counts"]["files_duplicate"]  # the ward plants repeats
    assert new + repeats == files and new > 0
    second = _run("returns_ingest")
    assert (second["counts"]["files_already_ingested"], second["counts"]["files_new"]) == (new, 0)
    assert {k: second["counts"][k] for k in ("received", "staged", "quarantined", "forwarded")} == \
        {k: first["counts"][k] for k in ("received", "staged", "quarantined", "forwarded")}
    assert all(o["unchanged"] for o in second["outputs"])
    assert "changed no dataset" in publish_skip_reason(summarize(second))


# ------------------------------------------------------------------------------------ only malformed
def test_a_delivery_of_only_malformed_files(ward, lake):
    """Every record of every file is bad: all quarantined with a reason, nothing staged, the run exits 0,
    and record_merge and tax_assessment run on the residents alone (everyone a 未申告 candidate)."""
    from contracts.layouts import load_layout

    _registry(ward, lake, lambda source, rows: rows)
    bad_lines = 0
    for source in ("salary_report", "pension_report", "resident_return", "furusato_notice"):
        folder = _folder(lake / "landing", source)
        folder.mkdir(parents=True)
        fields = load_layout(source)["wire"]["field_count"]
        lines = [
            b"garbage",                                   # one field instead of all of them
            b"," * (fields - 1),                          # every field empty
            ",".join(["x"] * fields).encode("ascii"),     # every field the wrong type
            b"\xff\xfe\x00broken bytes",                  # not CP932 text
        ]
        (folder / "20260131_bad_0000001.csv").write_bytes(b"\r\n".join(lines) + b"\r\n")
        bad_lines += len(lines)
    folder = _folder(lake / "landing", "etax_return")
    folder.mkdir(parents=True)
    (folder / "20260131_etax_9999901.xtx").write_bytes(b"<?xml version='1.0'?><DATA><unclosed>")
    (folder / "20260131_etax_9999902.xtx").write_bytes(b"")
    _run("resident_snapshot")
    report = _run("returns_ingest")
    counts = report["counts"]
    assert counts["staged"] == 0 and counts["forwarded"] == 0
    assert counts["received"] == counts["quarantined"] == bad_lines + 2
    assert sum(report["quarantine_reasons"].values()) == bad_lines + 2
    quarantined = _rows(lake, "quarantine", "returns_ingest")
    assert quarantined.get_column("reason_code").null_count() == 0
    assert quarantined.get_column("message").str.len_chars().min() > 10
    reports = {stage: _run(stage) for stage in ("record_merge", "tax_assessment")}
    residents = int(_rows(lake, "staging", "residents").get_column("resident_on_assessment_date").sum())
    assert _rows(lake, "curated", "taxation_basis").height == residents
    assert _rows(lake, "curated", "non_filers").height > 0
    assert reports["tax_assessment"]["counts"]["received"] == residents


# ------------------------------------------------------------------------------------- single person
def test_a_ward_of_one_person(ward, lake, tmp_path, monkeypatch):
    """One resident, their My Number and their salary reports only: one basis, one assessment, and the
    salary in the basis is the sum of that person's 支払金額 (統一CSV field 17)."""
    # Find a resident with a current, matched salary report by ingesting the whole ward once elsewhere.
    scout = tmp_path / "scout"
    shutil.copytree(ward, scout / "landing")
    monkeypatch.setenv("JUMINZEI_LAKE", str(scout))
    _run("resident_snapshot")
    _run("returns_ingest")
    salary = _rows(scout, "staging", "salary_reports").filter(
        pl.col("is_current") & (pl.col("route") == "stage") & pl.col("atena_no").is_not_null())
    atena_no = salary.get_column("atena_no").sort()[0]
    own = salary.filter(pl.col("atena_no") == atena_no)
    expected_salary = int(own.get_column("payment_amount_yen").sum())
    monkeypatch.setenv("JUMINZEI_LAKE", str(lake))

    key = atena_no.encode("ascii")
    _registry(ward, lake, lambda source, rows: [r for r in rows if r.startswith(key + b",")])
    folder = _folder(lake / "landing", "salary_report")
    folder.mkdir(parents=True)
    for file, records in own.group_by("file").agg(pl.col("record_no")).iter_rows():
        lines = (ward / file).read_bytes().splitlines(keepends=True)
        (folder / Path(file).name).write_bytes(b"".join(lines[n - 1] for n in sorted(records)))
    reports = _cycle(lake)
    assert reports["resident_snapshot"]["counts"]["staged"] >= 1
    assert reports["returns_ingest"]["counts"]["staged"] == own.height
    basis = _rows(lake, "curated", "taxation_basis")
    assert basis.get_column("person_id").to_list() == [atena_no]
    assert basis.get_column("salary_revenue").to_list() == [expected_salary]
    assert _rows(lake, "curated", "tax_assessment").height == 1


# ----------------------------------------------------------------------------- every field empty
def test_a_person_with_every_field_empty(ward, lake):
    """A registry row and a My Number row of empty fields are quarantined (missing required fields) and the
    rest of the snapshot stages; the cycle runs on."""
    blank = {}

    def with_blank_row(source, rows):
        blank[source] = b"," * rows[0].count(b",") + b"\n"
        return [*rows, blank[source]]

    _registry(ward, lake, with_blank_row)
    snapshot = _run("resident_snapshot")
    per_file = {p["source"]: p for p in snapshot["per_input"]}
    for source in REGISTRY_SOURCES:
        assert per_file[source]["quarantined"] >= 1, source
    quarantined = _rows(lake, "quarantine", "resident_snapshot")
    for source in REGISTRY_SOURCES:
        (path,) = _folder(lake / "landing", source).glob("*.csv")
        last_line = len(path.read_bytes().splitlines())  # the header is line 1
        assert quarantined.filter(pl.col("file").str.contains(path.name) & (pl.col("record_no") == last_line)).height == 1
    for stage in CYCLE[1:]:
        _run(stage)


# ------------------------------------------------------------------------------ zero upstream rows
def test_documents_for_a_ward_without_residents(ward, lake):
    """The snapshot staged zero residents (registry header only) but the documents arrived: no document is
    lost — each is staged as a 住登外 candidate, forwarded or quarantined — and the basis is empty."""
    _registry(ward, lake, lambda source, rows: [])
    _deliver(ward, lake, ("salary_report", "salary_summary", "pension_report", "etax_return", "resident_return",
                          "furusato_notice"))
    assert _run("resident_snapshot")["counts"]["staged"] == 0
    report = _run("returns_ingest")
    counts = report["counts"]
    assert counts["received"] > 0 and counts.get("match_auto", 0) == 0
    assert counts["forwarded"] > 0 and counts["non_registered_candidates"] > 0
    assert _run("record_merge")["counts"]["received"] == 0
    assert _rows(lake, "curated", "taxation_basis").height == 0
    assert _run("tax_assessment")["counts"]["received"] == 0


# ----------------------------------------------------------------------------------- tiny wards
@pytest.mark.parametrize("residents", [1, 2, 5, 100, 200])
def test_the_generator_builds_tiny_wards(residents):
    """Small wards (a single person, a demo of 100) must generate: a block with no member was once a crash."""
    from sample_ward.population import build_population

    for seed in range(5):
        population = build_population(residents, seed, N)
        assert population is not None


# ------------------------------------------------------------------------- a landing without earlier files
def test_a_landing_folder_without_the_files_already_ingested_is_refused(ward, lake, tmp_path):
    """Every run rebuilds staging from all ingested files: a run on another folder (`--landing`), or after a
    delivered file was removed, would silently drop their records. It is refused and nothing changes."""
    from contracts.errors import ConfigError

    _deliver(ward, lake, (*REGISTRY_SOURCES, "salary_report", "salary_summary"))
    _run("resident_snapshot")
    first = _run("returns_ingest")
    staged_before = _rows(lake, "staging", "salary_reports")
    elsewhere = tmp_path / "elsewhere"
    _deliver(ward, elsewhere, ("pension_report",))
    with pytest.raises(ConfigError, match=r"lacks \d+ file\(s\) that were already ingested"):
        _run("returns_ingest", landing=str(elsewhere / "landing"))
    removed = sorted(_folder(lake / "landing", "salary_report").glob("*.csv"))[0]
    removed.unlink()
    with pytest.raises(ConfigError, match=removed.name):
        _run("returns_ingest")
    assert _rows(lake, "staging", "salary_reports").equals(staged_before)
    assert first["counts"]["staged"] > 0
