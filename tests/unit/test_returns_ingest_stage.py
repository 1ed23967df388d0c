"""returns_ingest without Airflow: a changed file under a known name, and a crash between the staging
swap and the ledger update (the run after it must end consistent)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from pipelines import ledger

M, N = "131032", 2026


@pytest.fixture(scope="module")
def ward(tmp_path_factory) -> Path:
    from sample_ward import generate_ward

    out = tmp_path_factory.mktemp("ingest_stage") / "ward"
    generate_ward(out, residents=1500, seed=11, fiscal_year=N)
    return out


@pytest.fixture()
def settings(tmp_path, ward, monkeypatch):
    from pipelines.config import Settings
    from pipelines.resident_snapshot import run as snapshot

    lake = tmp_path / "lake"
    shutil.copytree(ward / "landing", lake / "landing")
    monkeypatch.setenv("JUMINZEI_LAKE", str(lake))
    monkeypatch.setenv("JUMINZEI_VAULT_KEY_FILE", str(tmp_path / "vault.key"))
    settings = Settings.from_env()
    snapshot(fiscal_year=N, settings=settings)
    return settings


def _staged(settings) -> dict[Path, bytes]:
    return {p: p.read_bytes() for zone in ("staging", "curated") for p in sorted((settings.lake / zone).rglob("*.parquet"))}


@pytest.mark.slow
def test_changed_file_under_known_name_is_a_new_version(settings):
    from pipelines.returns_ingest import run

    first = run(fiscal_year=N, settings=settings)
    assert first["counts"]["files_new_version"] == 0
    folder = settings.lake / "landing" / "pension_report" / f"municipality={M}" / f"fiscal_year={N}"
    target = sorted(folder.glob("*.csv"))[0]
    lines = target.read_bytes().split(b"\r\n")
    target.write_bytes(b"\r\n".join(lines[:-2] + [b""]))  # the payer re-sent the file without its last record
    second = run(fiscal_year=N, settings=settings)
    assert second["status"] == "success" and second["reconciliation"]["ok"]
    assert second["counts"]["files_new_version"] == 1
    assert any("changed since it was first ingested" in m and target.name in m for m in second["messages"])
    assert second["counts"]["received"] == first["counts"]["received"] - 1
    rows = ledger.read_ledger(settings.lake).filter(pl.col("path").str.ends_with(target.name))
    assert rows.height == 2 and rows.get_column("review_required").any()


@pytest.mark.slow
def test_crash_between_staging_and_ledger_is_repaired_by_the_next_run(settings, monkeypatch):
    import pipelines.ledger as ledger_module
    from pipelines.returns_ingest import run

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash after the partitions were swapped in")

    monkeypatch.setattr(ledger_module, "mark_ingested", crash)
    with pytest.raises(RuntimeError):
        run(fiscal_year=N, settings=settings)
    assert ledger.pending_files(settings.lake).height > 0  # the crashed run left its files pending
    after_crash = _staged(settings)
    monkeypatch.undo()

    repaired = run(fiscal_year=N, settings=settings)
    assert repaired["status"] == "success" and repaired["reconciliation"]["ok"]
    assert ledger.pending_files(settings.lake).height == 0
    assert repaired["counts"]["files_new"] > 0  # the pending files were taken over and reprocessed
    assert _staged(settings) == after_crash  # the same partitions: nothing lost, nothing doubled
    again = run(fiscal_year=N, settings=settings)
    assert again["counts"]["files_new"] == 0 and all(o["unchanged"] for o in again["outputs"])


# ------------------------------------------------------------------ e-Tax 配偶者・扶養親族 (etax_dependants)
_SHINZOKU = re.compile(rb"<jmz:SHINZOKU\s([^>]*?)/?>")  # one 配偶者・扶養親族 element (not jmz:SHINZOKU_LIST)
_BANGO = re.compile(rb'\bbango="([0-9]*)"')  # its 個人番号 attribute


def _plant_relative_with_taxpayers_number(settings) -> str:
    """In the first e-Tax return that lists relatives, give the first relative the taxpayer's own (valid)
    My Number: a number of someone else whose birth date disagrees. Returns the file's landing path."""
    import re

    folder = settings.lake / "landing" / "etax_return" / f"municipality={M}" / f"fiscal_year={N}"
    for path in sorted(folder.glob("*.xtx")):
        data = path.read_bytes()
        own = re.search(rb"<gen:kojinbango>([0-9]{12})</gen:kojinbango>", data)
        first = re.search(rb'(<jmz:SHINZOKU [^>]*?bango=")([0-9]{12})(")', data)
        if own and first:
            planted = data[:first.start(2)] + own.group(1) + data[first.end(2):]
            path.write_bytes(planted)
            return path.relative_to(settings.lake / "landing").as_posix()
    raise AssertionError("the generated ward has no e-Tax return listing a relative with a My Number")


@pytest.mark.slow
def test_etax_dependants_are_staged_by_my_number_and_without_it(settings, ward):
    from contracts.returns_ingest import EtaxDependant
    from pipelines.lake import read_partition
    from pipelines.returns_ingest import run

    conflict_file = _plant_relative_with_taxpayers_number(settings)
    report = run(fiscal_year=N, settings=settings)
    assert report["status"] == "success" and report["reconciliation"]["ok"]
    written = {(o["zone"], o["dataset"]): o["rows"] for o in report["outputs"]}
    staged = read_partition(settings.lake, "staging", "etax_dependants", M, N)
    returns = read_partition(settings.lake, "staging", "etax_returns", M, N)

    # No My Number: no such column, and no number of any person in the partition's bytes.
    assert not any("my_number" in c for c in staged.columns)
    assert list(staged.columns) == list(EtaxDependant.to_schema().columns)
    numbers = pl.read_parquet(ward / "truth" / "persons.parquet").get_column("my_number").drop_nulls().to_list()
    folder = settings.lake / "staging" / "etax_dependants" / f"municipality={M}" / f"fiscal_year={N}"
    data = b"".join(p.read_bytes() for p in folder.glob("*.parquet"))
    assert data and not any(n.encode() in data for n in numbers)

    # One row per relative of every staged return: the jmz:SHINZOKU elements of each delivered file, counted
    # in document order with a regular expression over the raw bytes (not with the stage's XML parser).
    landing = settings.lake / "landing"
    listed = []
    for path in sorted((landing / "etax_return").rglob("*.xtx")):
        doc_uid = f"{path.relative_to(landing).as_posix()}#1"
        for position, element in enumerate(_SHINZOKU.finditer(path.read_bytes()), start=1):
            number = _BANGO.search(element.group(1))
            listed.append({"doc_uid": doc_uid, "dependant_no": position,
                           "my_number": number.group(1).decode() if number and number.group(1) else None})
    expected = pl.DataFrame(listed, schema={"doc_uid": pl.String, "dependant_no": pl.Int32, "my_number": pl.String}).join(
        returns.select("doc_uid"), on="doc_uid", how="semi")
    assert staged.height == expected.height > 0
    key = ["doc_uid", "dependant_no"]
    assert staged.select(key).sort(key).equals(expected.select(key).sort(key))
    assert report["counts"]["etax_dependants"] == written[("staging", "etax_dependants")] == staged.height
    assert staged.select("doc_uid", "dependant_no").is_duplicated().sum() == 0

    # Resolved relatives are the owners of the numbers on the return (truth: the vault's 宛名番号).
    owners = pl.read_parquet(ward / "truth" / "persons.parquet").select("my_number", pl.col("atena_no").alias("owner"))
    got = staged.join(expected.select("doc_uid", "dependant_no", "my_number"), on=["doc_uid", "dependant_no"],
                      validate="1:1").join(owners, on="my_number", how="left")
    verified = got.filter(pl.col("relative_match_rule") == "my_number_verified")
    assert verified.height > 0 and (verified["relative_atena_no"] == verified["owner"]).all()
    assert verified["relative_match_evidence"].list.contains("birth_date").all()

    # The planted number belongs to the taxpayer himself: a conflict, never resolved.
    planted = got.filter((pl.col("doc_uid") == f"{conflict_file}#1") & (pl.col("dependant_no") == 1)).row(0, named=True)
    assert planted["relative_match_rule"] == "my_number_conflict" and planted["relative_atena_no"] is None
    assert report["counts"]["etax_dependants_my_number_conflict"] >= 1
    assert report["counts"]["etax_dependants_my_number_verified"] == verified.height

    # The relatives belong to their return's record: one received record per e-Tax file, and the
    # stage's staged total is that of the documents alone.
    etax_inputs = [p for p in report["per_input"] if p.get("source") == "etax_return"]
    assert etax_inputs and all(p["received"] == 1 for p in etax_inputs)
    documents = sum(h for (zone, dataset), h in written.items()
                    if zone == "staging" and dataset not in ("etax_dependants", "review_queue", "non_registered_candidates"))
    assert report["counts"]["staged"] == documents


def test_etax_dependant_contract_rejects_a_my_number_and_duplicate_keys(settings):
    from pandera.errors import SchemaError, SchemaErrors

    from contracts.returns_ingest import ETAX_DEPENDANT_COLUMNS, EtaxDependant

    good = pl.DataFrame([{"doc_uid": "etax/x.xtx#1", "dependant_no": 1, "relationship": "spouse", "name_kanji": "山田　花子",
                          "birth_date": None, "cohabiting": True, "disability": 0, "total_income": 0, "gaiji_flag": False,
                          "relative_atena_no": None, "relative_match_rule": "my_number_unknown",
                          "relative_match_evidence": []}], schema=ETAX_DEPENDANT_COLUMNS)
    EtaxDependant.validate(good)
    bad = (
        good.with_columns(pl.lit("123456789018").alias("my_number")),
        pl.concat([good, good]),
        good.with_columns(pl.lit("0000000001").alias("relative_atena_no")),  # a 宛名番号 without a verified number
    )
    for frame in bad:
        with pytest.raises((SchemaError, SchemaErrors)):
            EtaxDependant.validate(frame, lazy=True)
