"""The small readers of record_merge (transforms/record_merge.py) on hand-built columns: how an amount,
a flag, a text, a 障害者区分, a 居住開始年月日 and a staged row's status are read. Each is a rule a
report's field obeys (the 統一CSV leaves a field empty for 0 or "no"); a fault in one of them flows into
every basis, so each is pinned here, not only through merge_records (found by make mutate)."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from transforms import record_merge as rm


def test_an_empty_amount_is_0_and_a_negative_one_is_not_taken():
    frame = pl.DataFrame({"yen": [None, 5, -3]}, schema={"yen": pl.Int64})
    assert frame.select(rm._i("yen"))["yen"].to_list() == [0, 5, -3]
    got = frame.select(rm._nn(pl.col("yen")).alias("v"))
    assert got["v"].to_list() == [0, 5, 0] and got.schema["v"] == pl.Int64


def test_a_flag_is_yes_only_for_1_and_an_empty_or_absent_flag_is_no():
    frame = pl.DataFrame({"f": ["1", " 1 ", "0", "", None, "2"]})
    assert frame.select(rm._flag("f"))["f"].to_list() == [True, True, False, False, False, False]


def test_an_empty_text_is_null_and_a_one_character_text_is_kept():
    frame = pl.DataFrame({"t": ["", "  ", "a", " 港 ", None]})
    assert frame.select(rm._text("t").alias("t"))["t"].to_list() == [None, None, "a", "港", None]


@pytest.mark.parametrize(("a", "b", "graver"), [
    ("none", "ordinary", "ordinary"), ("ordinary", "none", "ordinary"), ("ordinary", "special", "special"),
    ("special", "ordinary", "special"), ("none", "none", "none"), ("special", "special", "special"),
])
def test_the_graver_disability_wins(a, b, graver):
    frame = pl.DataFrame({"a": [a], "b": [b]})
    assert frame.select(rm._disability_max(pl.col("a"), pl.col("b")).alias("d"))["d"].item() == graver


def test_an_unknown_disability_code_stops_the_merge_instead_of_counting_as_none():
    frame = pl.DataFrame({"a": ["grave"], "b": ["none"]})
    with pytest.raises(pl.exceptions.InvalidOperationError):
        frame.select(rm._disability_max(pl.col("a"), pl.col("b")))


def test_only_auto_matched_staged_rows_and_operator_matches_with_an_atena_no_are_used():
    frame = pl.LazyFrame({
        "doc_uid": ["a", "b", "c", "d", "e"],
        "route": ["stage", "review", "stage", "review", "stage"],
        "match_decision": ["auto", "auto", "review", rm.OPERATOR_MATCH, "auto"],
        "atena_no": ["1", "2", "3", "4", None],
    })
    assert rm.usable(frame).collect()["doc_uid"].to_list() == ["a", "d"]


def test_a_version_counts_when_it_is_current_or_an_orphan_correction():
    frame = pl.DataFrame({
        "is_current": [True, True, None, False, True],
        "history_status": ["current", "orphan_correction", "current", "current", "superseded"],
    })
    assert frame.select(rm.is_current().alias("c"))["c"].to_list() == [True, True, False, False, False]


@pytest.mark.parametrize(("year", "month", "day", "expected"), [
    # 令和7年分 (income year 2025): years up to 7 are 令和, larger ones 平成
    ("7", "3", "1", date(2025, 3, 1)), ("1", "12", "31", date(2019, 12, 31)),
    ("8", "1", "1", date(1996, 1, 1)),  # 平成8年
    ("30", "4", "15", date(2018, 4, 15)),  # 平成30年
    ("", "", "", None), ("0", "1", "1", None), ("ab", "1", "1", None),  # absent or not a year
    ("5", "2", "30", None),  # not a real date
])
def test_the_move_in_date_of_a_salary_report(year, month, day, expected):
    frame = pl.DataFrame({"y": [year], "m": [month], "d": [day]})
    got = frame.select(rm.housing_move_in_date(pl.col("y"), pl.col("m"), pl.col("d"), 2025).alias("on"))
    assert got["on"].item() == expected


def test_the_lineage_of_a_source_without_versions_or_decisions():
    """A source whose rows carry no ``version`` (one version only) or ``review_decision_id`` gives version 1
    and no decision; a null is_current is false."""
    frame = pl.LazyFrame({
        "doc_uid": ["a"], "route": ["stage"], "match_decision": ["auto"], "atena_no": ["1"],
        "history_status": ["current"], "is_current": [None], "received_on": [date(2026, 2, 3)],
    }, schema_overrides={"is_current": pl.Boolean})
    row = rm._lineage_base(frame, "furusato_notice").collect().row(0, named=True)
    assert row == {"person_id": "1", "source": "furusato_notice", "doc_uid": "a", "version": 1,
                   "history_status": "current", "is_current": False, "received_on": date(2026, 2, 3),
                   "_current": False, "decision_id": None}
    with_both = frame.with_columns(pl.lit(3, pl.Int32).alias("version"), pl.lit("D1").alias("review_decision_id"))
    row = rm._lineage_base(with_both, "furusato_notice").collect().row(0, named=True)
    assert (row["version"], row["decision_id"]) == (3, "D1")
