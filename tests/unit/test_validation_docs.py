"""Validation reports (Great Expectations Data Docs): one passing and one failing run into a temporary
``var/data_docs``, then what an operator and an auditor see. GE takes seconds to import, so both runs
happen once, in a module-scoped fixture; the tests only read what they left behind."""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from contracts.errors import ConfigError
from pipelines import reports
from pipelines.config import Settings
from pipelines.validation_docs import _columns_needed, document_validation, render_run_page, write_offline_report

RUN_PASS = "20260105T093000Z-record_merge-0a0a0a0a"
RUN_FAIL = "20260106T093000Z-record_merge-0b0b0b0b"
T1 = datetime(2026, 1, 6, 9, 31, tzinfo=UTC)
BIG = 2**53 + 1  # not exactly representable as float64: a float sum would be off by one

# Synthetic identifiers and values that must never reach the Data Docs or the summaries.
SECRET_IDS = ["SYNTH-PID-0001", "SYNTH-PID-0002", "SYNTH-PID-0003", "SYNTH-PID-0004"]
SECRET_BAD_AMOUNT = -987654321
SECRET_BAD_CODE = "bogus_method_x"

GOOD = pl.DataFrame(
    {
        "person_id": SECRET_IDS,
        "income_levy": pl.Series([1000, 2500, 0, BIG], dtype=pl.Int64),
        "collection_method": ["ordinary", "salary", "pension", "salary"],
        "not_needed": [1.5, 2.5, 3.5, 4.5],
    }
)
BAD = pl.DataFrame(
    {
        "person_id": [SECRET_IDS[0], SECRET_IDS[1], SECRET_IDS[1], SECRET_IDS[2]],
        "income_levy": pl.Series([1000, None, 2500, SECRET_BAD_AMOUNT], dtype=pl.Int64),
        "collection_method": ["ordinary", "salary", "salary", SECRET_BAD_CODE],
    }
)
HOUSEHOLDS = pl.DataFrame({"household_id": ["SYNTH-HH-01", "SYNTH-HH-02", "SYNTH-HH-03"]})

UNIQUE_MEANING = "one basis per person (資料併合)"


def expectation_set(levy_sum: int) -> list[dict]:
    return [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "person_id"}, "meaning": UNIQUE_MEANING},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income_levy"},
         "meaning": "every person has an income levy (所得割)"},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "income_levy", "min_value": 0},
         "meaning": "no negative income levy"},
        {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 4}, "meaning": "four bases"},
        {"type": "expect_column_sum_to_be_between",
         "kwargs": {"column": "income_levy", "min_value": levy_sum, "max_value": levy_sum},
         "meaning": "levy total equals the control total"},
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "collection_method", "value_set": ["ordinary", "salary", "pension"]},
         "meaning": "known collection method (徴収方法)"},
        {"type": "expect_compound_columns_to_be_unique",
         "kwargs": {"column_list": ["person_id", "collection_method"]}, "meaning": "one row per person and method"},
        {"type": "expect_column_to_exist", "kwargs": {"column": "person_id"}, "meaning": "person id column present"},
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    settings = Settings.from_env({"JUMINZEI_HOME": str(home)})
    lake = home / "var" / "lake"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        passing = document_validation(
            stage="record_merge", municipality="131032", fiscal_year=2026, run_id=RUN_PASS, settings=settings,
            tables={"basis": GOOD, "households": HOUSEHOLDS},
            expectations={
                "basis": expectation_set(1000 + 2500 + 0 + BIG),
                "households": [{"type": "expect_table_row_count_to_equal", "kwargs": {"value": 3},
                                "meaning": "three households"}],
            },
        )
        report = reports.RunReport("record_merge", "131032", 2026, RUN_FAIL, T1)
        failing = document_validation(
            stage="record_merge", municipality="131032", fiscal_year=2026, run_id=RUN_FAIL, settings=settings,
            tables={"basis": BAD}, expectations={"basis": expectation_set(0)}, report=report,
        )
    finished = report.finish("success", T1)
    reports.write_report(lake, finished)
    return {"home": home, "settings": settings, "lake": lake, "passing": passing, "failing": failing,
            "report": finished, "stdout": stdout.getvalue()}


def all_text(root: Path) -> str:
    """Every HTML and JSON file GE or we wrote, concatenated (static assets excluded)."""
    return "\n".join(
        p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in (".html", ".json")
    )


def test_site_lives_in_the_fixed_folder_and_lists_both_runs(runs):
    data_docs = runs["home"] / "var" / "data_docs"
    assert runs["passing"]["data_docs"] == str(data_docs / "index.html")
    index = (data_docs / "index.html").read_text(encoding="utf-8")
    assert "record_merge.basis.131032.2026" in index and "record_merge.households.131032.2026" in index
    assert RUN_PASS in index and RUN_FAIL in index  # the index keeps earlier runs
    for page in [*runs["passing"]["pages"].values(), *runs["failing"]["pages"].values()]:
        assert Path(page).is_file() and Path(page).is_relative_to(data_docs)
    assert RUN_FAIL in runs["failing"]["pages"]["basis"]
    assert runs["stdout"] == ""  # GE's own output stays out of ours


def test_passing_run(runs):
    passing = runs["passing"]
    assert passing["success"] is True and passing["failed"] == []
    assert passing["expectations"] == 9
    assert passing["tables"] == {"basis": 4, "households": 3}
    summary = json.loads(Path(passing["validation_result"]).read_text(encoding="utf-8"))
    sums = [e for e in summary["results"]["basis"] if e["type"] == "expect_column_sum_to_be_between"]
    assert sums[0]["result"]["observed_value"] == 1000 + 2500 + BIG  # integer yen stay exact


def test_failing_run_names_each_failure_with_its_meaning(runs):
    failing = runs["failing"]
    assert failing["success"] is False and failing["expectations"] == 8
    failed = {f["type"]: f for f in failing["failed"]}
    assert sorted(failed) == sorted([
        "expect_column_values_to_be_unique", "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between", "expect_column_sum_to_be_between",
        "expect_column_values_to_be_in_set", "expect_compound_columns_to_be_unique",
    ])
    unique = failed["expect_column_values_to_be_unique"]
    assert unique["table"] == "basis" and unique["kwargs"] == {"column": "person_id"}
    assert unique["meaning"] == UNIQUE_MEANING
    assert unique["detail"].startswith("2 of 4 values unexpected")
    assert failed["expect_column_values_to_not_be_null"]["detail"].startswith("1 of 4 values unexpected")
    page = Path(failing["pages"]["basis"]).read_text(encoding="utf-8")
    assert UNIQUE_MEANING in page and "expect_column_values_to_be_unique" in page


def test_no_values_of_the_data_in_pages_or_results(runs):
    text = all_text(runs["home"] / "var" / "data_docs")
    for secret in [*SECRET_IDS, str(SECRET_BAD_AMOUNT), SECRET_BAD_CODE, "SYNTH-HH-01"]:
        assert secret not in text
    summary = json.loads(Path(runs["failing"]["validation_result"]).read_text(encoding="utf-8"))
    assert summary["result_format"]["partial_unexpected_count"] == 0


def test_only_the_named_columns_are_converted():
    specs = [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "c"}},
        {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["a", "c"]}},
        {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 1}},
    ]
    assert _columns_needed(["a", "b", "c", "d"], specs) == ["a", "c"]
    assert _columns_needed(["a", "b"], specs[2:]) == []
    assert _columns_needed(["a", "b"], [{"type": "expect_table_columns_to_match_set", "kwargs": {}}]) == ["a", "b"]


def test_run_report_links_the_validation(runs, tmp_path):
    report = runs["report"]
    assert report["validation"]["data_docs"] == runs["failing"]["data_docs"]
    assert report["validation"]["success"] is False
    [check] = [c for c in report["reconciliation"]["checks"] if c["name"] == "validation_report"]
    assert check["ok"] is False and check["expected"] == 8 and check["actual"] == 2
    assert report["reconciliation"]["ok"] is False
    assert any("6 of 8 expectations not met" in m for m in report["messages"])
    latest = reports.load_latest(runs["lake"])
    table = reports.format_status(latest)
    # status points at the offline run page; the JSON rows keep GE's index as well
    assert "    validation:" in table and Path(runs["failing"]["report_page"]).name in table  # may be folded
    assert "validation reports of every run (Data Docs)" in table
    [row] = json.loads(reports.format_status(latest, as_json=True))
    assert row["validation"] == "FAILED" and row["validation_report"] == runs["failing"]["data_docs"]
    assert row["validation_page"] == runs["failing"]["report_page"]
    assert report["validation"]["report_page"] == runs["failing"]["report_page"]
    assert report["validation"]["runs_index"] == runs["failing"]["runs_index"]
    assert any(runs["failing"]["report_page"] in m for m in report["messages"])


def test_unusable_expectations_are_refused_before_anything_is_written(runs, tmp_path):
    settings = Settings.from_env({"JUMINZEI_HOME": str(tmp_path)})
    cases = [
        ({"other": [{"type": "expect_column_to_exist", "kwargs": {"column": "x"}, "meaning": "m"}]}, "other"),
        ({"basis": [{"type": "expect_column_values_to_be_unique", "kwargs": {"column": "person_id"}}]}, "meaning"),
        ({"basis": [{"type": "expect_column_max_to_be_between", "kwargs": {"column": "income_levy"},
                     "meaning": "m"}]}, "personal data"),
        ({"basis": [{"type": "expect_the_moon", "kwargs": {}, "meaning": "m"}]}, "ExpectTheMoon"),
        ({"basis": [{"type": "expect_column_values_to_be_unique",
                     "kwargs": {"column": "person_id", "result_format": "COMPLETE"}, "meaning": "m"}]},
         "result_format"),
    ]
    for expectations, phrase in cases:
        with pytest.raises(ConfigError, match=phrase):
            document_validation(stage="record_merge", municipality="131032", fiscal_year=2026, run_id=RUN_PASS,
                                settings=settings, tables={"basis": GOOD}, expectations=expectations)
    assert not (tmp_path / "var" / "data_docs").exists()


def test_data_docs_setting_default_and_override(tmp_path):
    default = Settings.from_env({"JUMINZEI_HOME": str(tmp_path)})
    assert default.data_docs == tmp_path.resolve() / "var" / "data_docs"
    moved = Settings.from_env({"JUMINZEI_HOME": str(tmp_path), "JUMINZEI_DATA_DOCS": str(tmp_path / "elsewhere")})
    assert moved.data_docs == (tmp_path / "elsewhere").resolve()


# ------------------------------------------------------------------------------- offline pages


def links(path: Path) -> list[Path]:
    """The files the relative links of an HTML page point to."""
    from urllib.parse import unquote

    hrefs = re.findall(r'href="([^"]*)"', path.read_text(encoding="utf-8"))
    return [(path.parent / unquote(html.unescape(h))).resolve() for h in hrefs]


def offline_pages(runs) -> list[Path]:
    return [Path(runs["passing"]["report_page"]), Path(runs["failing"]["report_page"]),
            Path(runs["failing"]["runs_index"])]


def test_offline_run_page_and_index_are_written_beside_the_summaries(runs):
    data_docs = runs["home"] / "var" / "data_docs"
    failing = runs["failing"]
    run_dir = data_docs / "runs" / "record_merge" / "municipality=131032" / "fiscal_year=2026"
    assert failing["report_page"] == str(run_dir / f"{RUN_FAIL}.html")
    assert runs["passing"]["report_page"] == str(run_dir / f"{RUN_PASS}.html")
    assert failing["runs_index"] == runs["passing"]["runs_index"] == str(data_docs / "runs.html")
    assert all(p.is_file() for p in offline_pages(runs))

    page = Path(failing["report_page"]).read_text(encoding="utf-8")
    for spec in expectation_set(0):
        assert html.escape(spec["meaning"]) in page and spec["type"] in page
    rows = {re.search(r'<td lang="ja">([^<]*)</td>', r).group(1): r for r in page.split("\n") if '<td lang="ja">' in r}
    assert len(rows) == 8
    unique_row = rows[html.escape(UNIQUE_MEANING)]
    # 2 of the 4 rows share an identifier: FAILED, 2 unexpected of 4, 50 %
    assert "FAILED" in unique_row and ">2</td>" in unique_row and ">4</td>" in unique_row and "50.00" in unique_row
    assert "FAILED" not in rows["four bases"] and ">ok<" in rows["four bases"]
    assert "value_set" in rows[html.escape("known collection method (徴収方法)")]
    assert page.count(">FAILED</td>") == 6
    passing = Path(runs["passing"]["report_page"]).read_text(encoding="utf-8")
    assert "FAILED" not in passing and "three households" in passing
    assert f"{1000 + 2500 + BIG:,}" in passing  # the control total, exact, as the summary holds it

    # every link resolves inside the folder: the index, the JSON summary, GE's index and the table's GE page
    targets = links(Path(failing["report_page"]))
    assert Path(failing["pages"]["basis"]).resolve() in targets
    assert Path(failing["validation_result"]).resolve() in targets
    assert (data_docs / "runs.html").resolve() in targets and (data_docs / "index.html").resolve() in targets
    assert all(t.is_file() for t in targets)

    index_path = data_docs / "runs.html"
    index = index_path.read_text(encoding="utf-8")
    assert index.index(RUN_FAIL) < index.index(RUN_PASS)  # newest first
    [fail_row] = [r for r in index.split("\n") if RUN_FAIL in r]
    assert "FAILED" in fail_row and ">8</td>" in fail_row and ">6</td>" in fail_row
    [pass_row] = [r for r in index.split("\n") if RUN_PASS in r]
    assert ">ok</td>" in pass_row and ">9</td>" in pass_row and ">0</td>" in pass_row
    index_targets = links(index_path)
    assert Path(failing["report_page"]).resolve() in index_targets
    assert Path(runs["passing"]["report_page"]).resolve() in index_targets
    assert all(t.is_file() for t in index_targets)


def test_offline_pages_need_no_network_and_hold_no_data_values(runs):
    for path in offline_pages(runs):
        text = path.read_text(encoding="utf-8")
        lower = text.lower()
        assert "<script" not in lower and "<link" not in lower and "<img" not in lower
        assert re.search(r"(https?:)?//", text.replace("<!DOCTYPE html>", "")) is None, path  # no URL at all
        assert "@import" not in lower and "url(" not in lower
        assert "default-src 'none'" in text  # the browser would refuse any fetch anyway
        for secret in [*SECRET_IDS, str(SECRET_BAD_AMOUNT), f"{SECRET_BAD_AMOUNT:,}", SECRET_BAD_CODE, "SYNTH-HH-01"]:
            assert secret not in text, (path, secret)


def test_offline_pages_are_rebuilt_byte_identical_from_the_summaries(runs, tmp_path):
    data_docs = runs["home"] / "var" / "data_docs"
    before = {p: p.read_bytes() for p in offline_pages(runs)}
    inodes = {p: p.stat().st_ino for p in before}
    assert write_offline_report(data_docs) == data_docs / "runs.html"
    assert {p: p.read_bytes() for p in before} == before
    assert {p: p.stat().st_ino for p in before} == inodes  # unchanged bytes: the files are not rewritten

    # only the summaries, in another folder: the same pages, byte for byte (no time, no absolute path)
    copy = tmp_path / "elsewhere"
    shutil.copytree(data_docs / "runs", copy / "runs", ignore=shutil.ignore_patterns("*.html"))
    write_offline_report(copy)
    for path, data in before.items():
        assert (copy / path.relative_to(data_docs)).read_bytes() == data, path


def test_offline_index_lists_an_unreadable_summary_and_escapes_everything(runs, tmp_path):
    root = tmp_path / "data_docs"
    shutil.copytree(runs["home"] / "var" / "data_docs" / "runs", root / "runs")
    broken = root / "runs" / "tax_assessment" / "municipality=131032" / "fiscal_year=2026"
    broken.mkdir(parents=True)
    (broken / "20260107T093000Z-tax_assessment-0c0c0c0c.json").write_text("{broken", encoding="utf-8")
    index = write_offline_report(root).read_text(encoding="utf-8")
    [row] = [r for r in index.split("\n") if "0c0c0c0c" in r]
    assert "unreadable" in row and "href" not in row
    assert index.index("0c0c0c0c") < index.index(RUN_FAIL)
    assert not (broken / "20260107T093000Z-tax_assessment-0c0c0c0c.html").exists()

    hostile = json.loads(Path(runs["failing"]["validation_result"]).read_text(encoding="utf-8"))
    hostile["results"]["basis"][0]["meaning"] = '<script src="https://x.example/a.js"></script> & 資料'
    hostile["results"]["basis"][0]["kwargs"] = {"column": "<b>x</b>"}
    hostile["pages"]["basis"] = "/somewhere/else/page.html"  # outside the Data Docs folder: no link
    hostile["results"]["basis"][1].update(result={}, success=False, detail="could not be evaluated: no column x")
    page = render_run_page(hostile).decode("utf-8")
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script src=&quot;https://x.example/a.js&quot;&gt;&lt;/script&gt; &amp; 資料" in page
    assert "/somewhere/else" not in page
    assert "<td>could not be evaluated: no column x</td>" in page


def test_offline_pages_label_columns_in_japanese_and_english_and_separate_yen(runs):
    """Operators read Japanese first: every column header carries both languages; yen amounts (bounds
    in the arguments, observed sums) carry thousands separators, exactly (no float rounding)."""
    passing = Path(runs["passing"]["report_page"]).read_text(encoding="utf-8")
    headers = re.findall(r"<th>([^<]*)</th>", passing.split("<h2>", 1)[1])
    assert headers[:10] == ["#", "意味 / Meaning", "期待 / Expectation", "引数 / Arguments", "結果 / Result",
                            "不適合 / Unexpected", "値の数 / Values", "空 / Null", "不適合率 % / Unexpected %",
                            "観測値 / Observed"]
    assert "<th>年度 / Fiscal year</th>" in passing and "<th>団体コード / Municipality</th>" in passing
    total = 1000 + 2500 + BIG
    assert f"<code>min_value</code> = <code>{total:,}</code>" in passing
    assert f"<code>max_value</code> = <code>{total:,}</code>" in passing
    assert f">{total:,}</td>" in passing  # the observed sum
    assert '<code>value_set</code> = <code>[&quot;ordinary&quot;、&quot;salary&quot;、&quot;pension&quot;]</code>' in \
        Path(runs["failing"]["report_page"]).read_text(encoding="utf-8")
    index = Path(runs["passing"]["runs_index"]).read_text(encoding="utf-8")
    for label in ("実行開始 (UTC) / Run started (UTC)", "処理 / Stage", "結果 / Result", "期待 / Expectations"):
        assert f"<th>{label}</th>" in index


def test_numbers_are_shown_with_separators():
    from pipelines.validation_docs import _argument, _number

    assert _number(1234567) == "1,234,567" and _number(3500.0) == "3,500" and _number(12.345) == "12.35"
    assert _argument(10**12) == "1,000,000,000,000" and _argument([0, 10_000]) == "[0、10,000]"
    assert _argument("salary_revenue") == "salary_revenue" and _argument(True) == "true"


def test_dry_runs_are_marked_in_the_index_and_on_their_page(tmp_path):
    """A dry run's validation is listed as 試行 / dry run (its outputs were not written), a real run as 本実行."""
    settings = Settings.from_env({"JUMINZEI_HOME": str(tmp_path)})
    kinds = {}
    for run_id, dry in ((RUN_PASS, False), (RUN_FAIL, True)):
        report = reports.RunReport("record_merge", "131032", 2026, run_id, T1, dry_run=dry)
        with contextlib.redirect_stdout(io.StringIO()):
            kinds[run_id] = document_validation(
                stage="record_merge", municipality="131032", fiscal_year=2026, run_id=run_id, settings=settings,
                tables={"households": HOUSEHOLDS},
                expectations={"households": [{"type": "expect_table_row_count_to_equal", "kwargs": {"value": 3},
                                              "meaning": "three households"}]}, report=report)
    index = Path(kinds[RUN_PASS]["runs_index"]).read_text(encoding="utf-8")
    [dry_row] = [r for r in index.split("\n") if RUN_FAIL in r]
    [real_row] = [r for r in index.split("\n") if RUN_PASS in r]
    assert "<td>試行 / dry run</td>" in dry_row and "<td>本実行 / run</td>" in real_row
    assert "<th>種別 / Kind</th>" in index
    assert "試行 / dry run" in Path(kinds[RUN_FAIL]["report_page"]).read_text(encoding="utf-8")
    assert kinds[RUN_FAIL]["dry_run"] is True and kinds[RUN_PASS]["dry_run"] is False
