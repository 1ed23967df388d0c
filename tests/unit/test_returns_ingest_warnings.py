"""Issue 10 point 9 through the stage: a 給与支払報告書 written by another party from the public 統一CSV
layout (chumaltd/luca-jp, see ../shared/peer-files/SOURCES.md) carries a payer 法人番号 with a wrong
check digit; its employees are staged (or forwarded) with exactly one warning each, not quarantined.

The peer file is read from ../shared/peer-files (never copied into the repository); the test is
skipped when that folder is absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

M, N = "131032", 2026
PEER = (Path(__file__).resolve().parents[2] / ".." / "shared" / "peer-files" / "kyuyo_315_csv"
        / "chumaltd__luca-jp__jp_payreport_R7.GENERATED-68df219.csv")
REGISTRY_SOURCES = ("resident_registry", "my_number", "livelihood_assistance", "disability")
PEER_NAME = "20260131_kyuyo_000012345678_001.csv"  # the landing name pattern of contracts/layouts/salary_report.yaml


def peer_bytes_on_the_wire() -> bytes:
    """The peer's rows as eLTAX delivers a 給与支払報告書: CP932 with CRLF (their export writes UTF-8
    with LF, SOURCES.md; the layout's wire is CP932/CRLF). Nothing else is changed."""
    if not PEER.is_file():
        pytest.skip(f"peer file not available: {PEER} (../shared/peer-files is not part of the repository)")
    return PEER.read_bytes().decode("utf-8").replace("\n", "\r\n").encode("cp932")


def test_the_peer_file_parses_with_one_warning_per_employee():
    from transforms.parse_csv import parse_csv_document

    parsed = parse_csv_document(peer_bytes_on_the_wire(), "salary_report", file=f"salary_report/{PEER_NAME}")
    assert parsed.quarantine.height == 0
    assert parsed.records.get_column("record_no").to_list() == [1, 2, 3]
    assert parsed.warnings.select("record_no", "field", "reason_code").rows() == [
        (n, "payer_corporate_number", "bad_code") for n in (1, 2, 3)]
    assert parsed.records.get_column("payer_corporate_number").null_count() == 3
    # the rest of each record is as written (e.g. 支払金額 of SOURCES.md rows 1-3)
    assert parsed.records.get_column("payment_amount_yen").to_list() == [5_000_000, 2_400_000, 7_200_000]


@pytest.fixture(scope="module")
def lake_with_peer_file(tmp_path_factory):
    """A lake with the 1 January snapshot of a generated ward and, as the only document, the peer file."""
    from sample_ward import generate_ward
    from pipelines.config import Settings
    from pipelines.resident_snapshot import run as snapshot

    data = peer_bytes_on_the_wire()
    root = tmp_path_factory.mktemp("peer_ingest")
    generate_ward(root / "ward", residents=600, seed=5, fiscal_year=N)
    lake = root / "lake"
    for source in REGISTRY_SOURCES:
        shutil.copytree(root / "ward" / "landing" / source, lake / "landing" / source)
    folder = lake / "landing" / "salary_report" / f"municipality={M}" / f"fiscal_year={N}"
    folder.mkdir(parents=True)
    (folder / PEER_NAME).write_bytes(data)
    settings = Settings.from_env({"JUMINZEI_HOME": str(root), "JUMINZEI_LAKE": str(lake),
                                  "JUMINZEI_VAULT_KEY_FILE": str(root / "vault.key")})
    snapshot(fiscal_year=N, settings=settings)
    return settings


@pytest.mark.slow
def test_the_peer_file_stages_its_employees_with_one_warning_each(lake_with_peer_file):
    from contracts.returns_ingest import IngestWarning
    from pipelines.lake import read_partition
    from pipelines.returns_ingest import WARNINGS_DATASET, run

    settings = lake_with_peer_file
    report = run(fiscal_year=N, settings=settings)
    assert report["status"] == "success" and report["reconciliation"]["ok"]
    (counts,) = [p for p in report["per_input"] if p["path"].endswith(PEER_NAME)]
    # 架空 太郎 and 試験 次郎 live in 港区 (住登外 candidates: staged); 見本 三郎 lives in 横浜市 (回送).
    assert (counts["received"], counts["staged"], counts["forwarded"], counts["quarantined"]) == (3, 2, 1, 0)
    assert report["counts"]["quarantined"] == 0 and report["quarantine_reasons"] == {}
    assert report["counts"]["warnings"] == 3 and report["counts"]["warnings_bad_code"] == 3
    assert report["counts"]["warning_records"] == 3

    warnings = read_partition(settings.lake, "quarantine", WARNINGS_DATASET, M, N)
    assert list(warnings.columns) == list(IngestWarning.to_schema().columns)
    assert warnings.group_by("record_no").len().sort("record_no").rows() == [(1, 1), (2, 1), (3, 1)]
    assert set(warnings.get_column("field")) == {"payer_corporate_number"}
    assert warnings.get_column("file").unique().to_list() == [f"salary_report/municipality={M}/fiscal_year={N}/{PEER_NAME}"]
    assert (warnings.get_column("run_id") == report["run_id"]).all()
    for message in warnings.get_column("message"):
        assert "法人番号" in message and "1234567890123" not in message and "架空" not in message

    staged = read_partition(settings.lake, "staging", "salary_reports", M, N)
    assert staged.height == 2 and staged.get_column("payer_corporate_number").null_count() == 2
    assert read_partition(settings.lake, "curated", "forwarding", M, N).height == 1
    assert any(o["dataset"] == WARNINGS_DATASET and o["zone"] == "quarantine" for o in report["outputs"])

    again = run(fiscal_year=N, settings=settings)  # nothing new: the warnings partition is left as it was
    assert next(o for o in again["outputs"] if o["dataset"] == WARNINGS_DATASET)["unchanged"]


def test_the_warnings_contract_refuses_a_value_in_a_message_and_extra_columns():
    from pandera.errors import SchemaError, SchemaErrors

    from contracts.returns_ingest import IngestWarning

    good = pl.DataFrame([{"source": "salary_report", "file": "salary_report/x.csv", "record_no": 1,
                          "field": "payer_corporate_number", "reason_code": "bad_code", "message": "Input file x: bad.",
                          "run_id": "20260101T000000Z-returns_ingest-0123abcd"}])
    IngestWarning.validate(good)
    for bad in (good.with_columns(pl.lit("個人番号 123456789018").alias("message")),
                good.with_columns(pl.lit("123456789018").alias("value")),
                pl.concat([good, good])):
        with pytest.raises((SchemaError, SchemaErrors)):
            IngestWarning.validate(bad, lazy=True)
