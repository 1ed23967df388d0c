"""transforms.corrections: the 提出区分 rules on tiny frames, and a scored run on a generated ward."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from contracts.layouts import load_layout
from contracts.returns_ingest import STATUSES
from transforms.corrections import (
    HISTORY_COLUMNS,
    apply_submission_history,
    received_date_from_file,
)
from transforms.parse_csv import parse_csv_document

KEY = ["designation_no", "employee_no"]
ORDER = ["received_on", "file", "record_no"]


def _records(*rows: tuple[str, str, str, str, int]) -> pl.DataFrame:
    """rows: (designation_no, employee_no, 提出区分, file name, record_no); received date from the name."""
    frame = pl.DataFrame(
        rows, schema={"designation_no": pl.String, "employee_no": pl.String, "submission_type": pl.String,
                      "file": pl.String, "record_no": pl.Int64},
        orient="row",
    )
    return frame.with_columns(received_date_from_file(pl.col("file")).alias("received_on"))


def _history(frame: pl.DataFrame) -> dict[str, dict]:
    out = apply_submission_history(frame, key=KEY, order=ORDER)
    return {row["doc_uid"]: row for row in out.iter_rows(named=True)}


def _status(history: dict[str, dict]) -> dict[str, str]:
    return {uid: row["status"] for uid, row in history.items()}


A = "salary_report/20250120_kyuyo_100001_001.csv"
B = "salary_report/20250215_kyuyo_100001_002.csv"
C = "salary_report/20250310_kyuyo_100001_003.csv"
D = "salary_report/20250402_kyuyo_100001_004.csv"


def test_received_date_from_file():
    names = pl.Series(["salary_report/municipality=131032/fiscal_year=2025/20250131_kyuyo_1_001.csv",
                       "20250402_nenkin_999_002.csv", "salary_report/kyuyo_1_001.csv", "x/20251332_kyuyo.csv", None])
    got = pl.select(received_date_from_file(pl.lit(names))).to_series().to_list()
    assert got == [dt.date(2025, 1, 31), dt.date(2025, 4, 2), None, None, None]


def test_new_alone_is_current():
    h = _history(_records(("100001", "E1", "0", A, 1)))
    row = h[f"{A}#1"]
    assert row["status"] == "current" and row["is_current"] and row["version"] == 1
    assert row["superseded_by"] is None and row["valid_to_order"] is None and not row["is_orphan"]


def test_new_then_two_corrections():
    h = _history(_records(("100001", "E1", "0", A, 1), ("100001", "E1", "2", B, 1), ("100001", "E1", "2", C, 1)))
    assert _status(h) == {f"{A}#1": "superseded", f"{B}#1": "superseded", f"{C}#1": "current"}
    assert h[f"{A}#1"]["superseded_by"] == f"{B}#1" and h[f"{B}#1"]["superseded_by"] == f"{C}#1"
    assert [h[u]["version"] for u in (f"{A}#1", f"{B}#1", f"{C}#1")] == [1, 2, 3]
    assert h[f"{A}#1"]["valid_to_order"] == h[f"{B}#1"]["valid_from_order"]
    assert [u for u, r in h.items() if r["is_current"]] == [f"{C}#1"]


def test_new_then_cancel_leaves_no_current_version():
    h = _history(_records(("100001", "E10", "0", A, 1), ("100001", "E10", "3", B, 1)))
    assert _status(h) == {f"{A}#1": "cancelled", f"{B}#1": "cancellation"}
    assert h[f"{A}#1"]["cancelled_by"] == f"{B}#1" and h[f"{A}#1"]["superseded_by"] is None
    assert h[f"{B}#1"]["cancels"] == f"{A}#1"
    assert not any(r["is_current"] for r in h.values())


def test_new_after_cancel_starts_again():
    h = _history(_records(("100001", "E1", "0", A, 1), ("100001", "E1", "3", B, 1), ("100001", "E1", "0", C, 1)))
    assert _status(h) == {f"{A}#1": "cancelled", f"{B}#1": "cancellation", f"{C}#1": "current"}
    assert not h[f"{C}#1"]["resubmitted"] and h[f"{C}#1"]["version"] == 3


def test_orphan_correction_is_flagged_and_kept_current():
    h = _history(_records(("100001", "E7", "2", B, 1)))
    row = h[f"{B}#1"]
    assert row["status"] == "orphan_correction" and row["is_orphan"] and row["is_current"]


def test_orphan_cancellation_is_never_current():
    h = _history(_records(("100001", "E7", "3", B, 1), ("100001", "E8", "0", A, 1), ("100001", "E8", "3", B, 2),
                          ("100001", "E8", "3", C, 1)))
    assert h[f"{B}#1"]["status"] == "orphan_correction" and not h[f"{B}#1"]["is_current"]
    assert h[f"{B}#1"]["cancels"] is None
    # a second 取消 after the first finds nothing current: orphan too
    assert h[f"{B}#2"]["status"] == "cancellation" and h[f"{C}#1"]["status"] == "orphan_correction"


def test_correction_after_cancel_is_orphan_but_current():
    h = _history(_records(("100001", "E1", "0", A, 1), ("100001", "E1", "3", B, 1), ("100001", "E1", "2", C, 1)))
    assert h[f"{C}#1"]["status"] == "orphan_correction" and h[f"{C}#1"]["is_current"]


def test_superseded_orphan_keeps_its_flag():
    h = _history(_records(("100001", "E7", "2", B, 1), ("100001", "E7", "2", C, 1)))
    assert h[f"{B}#1"]["status"] == "superseded" and h[f"{B}#1"]["is_orphan"]
    assert h[f"{C}#1"]["status"] == "current" and not h[f"{C}#1"]["is_orphan"]


def test_additional_record_of_a_second_employer_is_its_own_document():
    other = "salary_report/20250301_kyuyo_200002_002.csv"
    h = _history(_records(("100001", "E1", "0", A, 1), ("200002", "E1", "1", other, 1)))
    assert _status(h) == {f"{A}#1": "current", f"{other}#1": "current"}
    assert not any(r["resubmitted"] for r in h.values())


def test_new_again_on_a_current_key_replaces_it_and_is_flagged():
    h = _history(_records(("100001", "E1", "0", A, 1), ("100001", "E1", "1", B, 1)))
    assert _status(h) == {f"{A}#1": "superseded", f"{B}#1": "current"}
    assert h[f"{B}#1"]["resubmitted"] and h[f"{A}#1"]["superseded_by"] == f"{B}#1"


def test_same_day_orders_by_file_then_record_no():
    early = "salary_report/20250215_kyuyo_100001_002.csv"
    late = "salary_report/20250215_kyuyo_100001_003.csv"
    # given out of order; on the same day file _002 comes before _003, and record 2 after record 1
    h = _history(_records(("100001", "E1", "2", late, 1), ("100001", "E1", "2", early, 2),
                          ("100001", "E1", "0", early, 1)))
    assert h[f"{early}#1"]["version"] == 1 and h[f"{early}#2"]["version"] == 2 and h[f"{late}#1"]["version"] == 3
    assert [u for u, r in h.items() if r["is_current"]] == [f"{late}#1"]
    # an earlier date wins over the file name
    h = _history(_records(("100001", "E1", "2", "salary_report/20250101_kyuyo_100001_009.csv", 1),
                          ("100001", "E1", "0", "salary_report/20241231_kyuyo_100001_010.csv", 1)))
    assert h["salary_report/20250101_kyuyo_100001_009.csv#1"]["is_current"]


def test_incomplete_key_stands_alone():
    h = _history(_records(("100001", "", "0", A, 1), ("100001", "", "0", B, 1), ("100001", None, "2", C, 1)))
    assert all(r["key_missing"] for r in h.values())
    assert _status(h) == {f"{A}#1": "current", f"{B}#1": "current", f"{C}#1": "orphan_correction"}


def test_output_schema_and_every_row_kept():
    frame = _records(("100001", "E1", "0", A, 1), ("100001", "E1", "2", B, 1), ("100001", "E2", "0", A, 2))
    out = apply_submission_history(frame, key=KEY, order=ORDER)
    assert out.height == frame.height
    assert out.columns == frame.columns + list(HISTORY_COLUMNS)
    assert {c: out.schema[c] for c in HISTORY_COLUMNS} == HISTORY_COLUMNS
    assert set(out.get_column("status").cast(pl.String)) <= set(STATUSES)
    # one current version per key at most
    assert out.filter("is_current").group_by(KEY).len().get_column("len").max() == 1


def test_bad_input_is_refused_with_a_sentence():
    with pytest.raises(ValueError, match="提出区分"):
        apply_submission_history(_records(("100001", "E1", "9", A, 1)), key=KEY, order=ORDER)
    with pytest.raises(ValueError, match="missing column"):
        apply_submission_history(_records(("100001", "E1", "0", A, 1)), key=KEY, order=["nope"])


def _reference_statuses(types: list[str]) -> list[str]:
    """The rules as a plain state machine over one key's versions (for the test only)."""
    out: list[str] = []
    current = None
    for kind in types:
        if kind == "3":
            out.append("cancellation" if current is not None else "orphan_correction")
            if current is not None:
                out[current] = "cancelled"
            current = None
        else:
            if current is not None:
                out[current] = "superseded"
            out.append("orphan_correction" if kind == "2" and current is None else "current")
            current = len(out) - 1
    return out


def test_random_histories_match_the_state_machine():
    import numpy as np

    rng = np.random.default_rng(3)
    n = 3000
    frame = pl.DataFrame({
        "designation_no": rng.integers(0, 20, n).astype(str), "employee_no": rng.integers(0, 15, n).astype(str),
        "submission_type": rng.choice(["0", "0", "1", "2", "3"], n),
        "file": [f"salary_report/202501{d:02d}_kyuyo_1_{s:03d}.csv" for d, s in zip(rng.integers(1, 29, n), rng.integers(1, 4, n))],
        "record_no": rng.integers(1, 50, n),
    }).unique(["file", "record_no"]).with_columns(received_date_from_file(pl.col("file")).alias("received_on"))
    out = apply_submission_history(frame, key=KEY, order=ORDER)
    assert out.get_column("valid_from_order").to_list() == list(range(1, out.height + 1))
    for _, versions in out.group_by(KEY):
        versions = versions.sort("version")
        expected = _reference_statuses(versions.get_column("submission_type").to_list())
        assert versions.get_column("status").cast(pl.String).to_list() == expected
        assert versions.get_column("version").to_list() == list(range(1, versions.height + 1))


# ------------------------------------------------------------------------------------ generated ward
SOURCES = ("salary_report", "pension_report")


@pytest.fixture(scope="module")
def ward(tmp_path_factory) -> Path:
    from sample_ward import generate_ward

    out = tmp_path_factory.mktemp("corrections") / "ward"
    generate_ward(out, residents=2000, seed=7, fiscal_year=2025)
    return out


@pytest.mark.slow
def test_scored_on_the_generated_ward(ward):
    landing = ward / "landing"
    truth = pl.read_parquet(ward / "truth" / "documents.parquet").select(
        "file", "record_no", "defect", "expected_route", pl.col("submission_type").alias("truth_type"))
    figures = []
    for fmt in SOURCES:
        key = list(load_layout(fmt)["record_key"])
        parts = []
        for path in sorted((landing / fmt).rglob("*.csv")):
            rel = path.relative_to(landing).as_posix()
            parts.append(parse_csv_document(path.read_bytes(), fmt, file=rel).records
                         .select("file", "record_no", *key, "submission_type", "submission_type_label"))
        records = pl.concat(parts).with_columns(received_date_from_file(pl.col("file")).alias("received_on"))
        assert records.get_column("received_on").null_count() == 0
        history = apply_submission_history(records, key=key, order=ORDER)
        got = history.join(truth, on=["file", "record_no"], how="left", validate="1:1")
        assert got.get_column("truth_type").null_count() == 0
        assert (got.get_column("submission_type_label") == got.get_column("truth_type")).all()

        planted_superseded = got.filter(pl.col("defect") == "superseded_by_correction")
        planted_cancelled = got.filter(pl.col("defect") == "cancelled_later")
        corrections = got.filter(pl.col("submission_type") == "2")
        cancels = got.filter(pl.col("submission_type") == "3")
        # every planted superseded / cancelled record is not current, and ended by the right kind of record
        assert not planted_superseded.get_column("is_current").any()
        assert (planted_superseded.get_column("status") == "superseded").all()
        succ = planted_superseded.join(got.select(pl.col("doc_uid").alias("superseded_by"), pl.col("submission_type").alias("by")),
                                       on="superseded_by", how="left", validate="1:1")
        assert (succ.get_column("by") == "2").all()
        assert not planted_cancelled.get_column("is_current").any()
        assert (planted_cancelled.get_column("status") == "cancelled").all()
        # every 訂正 is current (the generator sends one per document), none is an orphan
        assert corrections.get_column("is_current").all() and not corrections.get_column("is_orphan").any()
        # every 取消 record withdraws exactly one planted cancelled_later version
        assert (cancels.get_column("status") == "cancellation").all()
        cancelled_uids = set(planted_cancelled.get_column("doc_uid"))
        assert set(cancels.get_column("cancels")) == cancelled_uids and cancels.height == len(cancelled_uids)
        # nothing else is superseded or cancelled except by a duplicate delivery (same bytes, other name)
        others = got.filter(~pl.col("is_current") & pl.col("defect").is_null() & (pl.col("submission_type") != "3"))
        dup = others.join(got.select(pl.col("doc_uid").alias("superseded_by"), pl.col("defect").alias("by_defect")),
                          on="superseded_by", how="left", validate="1:1")
        assert (dup.get_column("by_defect") == "duplicate_file").all()
        assert got.filter(pl.col("defect") == "duplicate_file").get_column("resubmitted").all()
        assert history.filter("is_current").group_by(key).len().get_column("len").max() == 1
        figures.append(
            f"{fmt}: {history.height} records, superseded_by_correction {planted_superseded.height}/"
            f"{planted_superseded.height} not current, cancelled_later {planted_cancelled.height}/"
            f"{planted_cancelled.height} cancelled, 訂正 current {corrections.height}/{corrections.height}, "
            f"取消 tied back {cancels.height}/{cancels.height}, originals superseded by a duplicate file {dup.height}"
        )
    print("\ncorrections on the sample ward: " + "; ".join(figures))
