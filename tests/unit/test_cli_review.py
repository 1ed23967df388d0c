"""`juminzei review list|show|decide` and `juminzei quarantine list|show` on a tiny lake written here:
the decision store is append-only, refuses what it must, writes the audit log, and the output fits in
100 columns."""

from __future__ import annotations

import json

import polars as pl
import pytest

from contracts.identifiers import my_number_check_digit
from juminzei.cli import main
from pipelines import audit
from pipelines.lake import read_partition, write_partition
from pipelines.terminal import WIDTH, display_width
from transforms.review import item_id

M, FY = "131032", 2026
RUN = "20260301T000000Z-test-00000000"
DOC = "salary_report/municipality=131032/fiscal_year=2026/20260122_kyuyo_92702083_001.csv#348"
A, B, C, OUT, T, W, R = ("0100000001", "0100000002", "0100000003", "0100000004", "0100000011", "0100000012",
                         "0100000013")


@pytest.fixture()
def lake(tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    monkeypatch.setenv("JUMINZEI_LAKE", str(lake))
    monkeypatch.setenv("JUMINZEI_ACTOR", "operator-1")
    monkeypatch.setenv("JUMINZEI_MUNICIPALITY", M)
    residents = pl.DataFrame({"atena_no": [A, B, C, OUT, T, W, R],
                              "resident_on_assessment_date": [True, True, True, False, True, True, True]})
    queue = pl.DataFrame({"doc_uid": [DOC, DOC], "source": ["salary_report"] * 2,
                          "reason": ["my_number_conflict"] * 2, "candidate_atena_no": [A, B],
                          "candidate_score": pl.Series([90, 0], dtype=pl.Int16), "candidate_rank": [1, 2],
                          "candidate_agreed_fields": [["name_kana", "birth_date"], ["my_number"]]})
    flags = pl.DataFrame({"flag": ["dependant_claimed_twice", "dependant_claimed_twice", "dependant_income_over_limit"],
                          "person_id": [T, W, T], "related": [R, R, R],
                          "detail": ["the same person is claimed by more than one taxpayer"] * 2 + ["over the limit"],
                          "decision": [None, None, None], "decision_id": [None, None, None]},
                         schema_overrides={"decision": pl.String, "decision_id": pl.String})
    for zone, dataset, frame, key in (("staging", "residents", residents, ["atena_no"]),
                                      ("staging", "review_queue", queue, ["doc_uid", "candidate_rank"]),
                                      ("curated", "merge_flags", flags, ["flag", "person_id", "related"])):
        write_partition(lake, zone, dataset, M, FY, frame, sort_by=key, run_id=RUN)
    return lake


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main([*argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _decide(capsys, *argv):
    return _run(capsys, "review", "decide", *argv, "--fiscal-year", str(FY))


def _fits(text: str) -> None:
    for line in text.splitlines():
        assert display_width(line) <= WIDTH, line


def _decisions(lake) -> pl.DataFrame:
    return read_partition(lake, "curated", "review_decisions", M, FY)


DOC_ID = item_id("document", DOC)
TWICE_ID = item_id("dependant_claimed_twice", R)
OVER_ID = item_id("dependant_income_over_limit", f"{T}/{R}")


def test_list_and_show_fit_in_100_columns_and_are_audited(lake, capsys):
    code, out, _ = _run(capsys, "review", "list", "--fiscal-year", str(FY))
    assert code == 0
    _fits(out)
    for name in (DOC_ID, TWICE_ID, OVER_ID):
        assert name in out
    code, out, _ = _run(capsys, "review", "show", DOC_ID, "--fiscal-year", str(FY))
    assert code == 0 and DOC in out and A in out and "no decision yet" in out
    _fits(out)
    code, out, _ = _run(capsys, "review", "list", "--fiscal-year", str(FY), "--json")
    items = json.loads(out)["items"]
    assert {i["item_id"] for i in items} == {DOC_ID, TWICE_ID, OVER_ID}
    views = [r for r in audit.read_audit(lake) if r["operation"] == "review_items_viewed"]
    assert len(views) == 3 and A in views[1]["atena_nos"]


def test_decide_appends_supersedes_and_writes_the_audit_log(lake, capsys):
    code, out, _ = _decide(capsys, DOC_ID, "person", B, "--reason", "勤務先に照会し本人と確認")
    assert code == 0 and "record_merge" in out
    code, _, _ = _decide(capsys, DOC, "person", A, "--reason", "再確認の結果 候補1 が本人")  # full key works too
    assert code == 0
    rows = _decisions(lake)
    assert rows.height == 2
    first, second = rows.sort("decided_at").iter_rows(named=True)
    assert (first["target"], second["target"]) == (B, A)
    assert second["supersedes"] == first["decision_id"] and first["supersedes"] is None
    assert second["actor"] == "operator-1" and second["department"] == "税務課"
    assert second["target_was_candidate"] is True and second["item_id"] == DOC_ID
    assert second["decided_at"].endswith("Z")
    records = [r for r in audit.read_audit(lake) if r["operation"] == "review_decision"]
    assert [r["mac"] for r in records] == [first["audit_hash"], second["audit_hash"]]
    assert records[1]["atena_nos"] == [A, B] and records[1]["details"]["decision_id"] == second["decision_id"]
    assert "再確認" not in json.dumps(records, ensure_ascii=False)  # the free text stays in the dataset
    assert audit.verify_chain(lake).ok
    code, out, _ = _run(capsys, "review", "show", DOC_ID, "--fiscal-year", str(FY))
    assert first["decision_id"] in out and second["decision_id"] in out
    _fits(out)


def test_decide_refuses_and_writes_nothing(lake, capsys):
    number = "62149832025" + str(my_number_check_digit("62149832025"))
    refused = [
        (DOC_ID, "person", C, "--reason", "候補外"),                      # not a candidate, no --not-a-candidate
        (DOC_ID, "person", OUT, "--reason", "転出済み", "--not-a-candidate"),  # not resident on 1 January
        (DOC_ID, "person", "0199999999", "--reason", "x", "--not-a-candidate"),  # not in staging/residents
        (DOC_ID, "person", A, "--reason", f"個人番号 {number} で確認"),    # a My Number in the reason
        (DOC_ID, "person", A, "--reason", "   "),                          # a blank reason
        (DOC_ID, "keep", "--reason", "x"),                                 # not a decision of a document
        (DOC_ID, "forward", "131033", "--reason", "x"),                    # bad check digit
        (DOC_ID, "forward", M, "--reason", "x"),                           # this municipality
        (DOC_ID, "forward", "011100", "--reason", "x"),                    # a ward of 札幌市: forward to the city
        (DOC_ID, "none", A, "--reason", "x"),                              # none takes no target
        (TWICE_ID, "keep", C, "--reason", "x"),                            # C does not claim R
        ("Dffffffff", "none", "--reason", "x"),                            # no such item
    ]
    for argv in refused:
        code, out, err = _decide(capsys, *argv)
        assert code == 2, argv
        assert err.startswith("juminzei review: ") and number not in err, err
    assert not (lake / "curated" / "review_decisions" / f"municipality={M}" / f"fiscal_year={FY}").exists()
    assert [r for r in audit.read_audit(lake) if r["operation"] == "review_decision"] == []


def test_decide_accepts_each_kind_of_decision(lake, capsys):
    assert _decide(capsys, DOC_ID, "person", C, "--reason", "戸籍照会で判明", "--not-a-candidate")[0] == 0
    assert _decide(capsys, DOC_ID, "forward", "131041", "--reason", "新宿区に居住")[0] == 0
    assert _decide(capsys, TWICE_ID, "keep", W, "--reason", "妻が扶養と回答")[0] == 0
    assert _decide(capsys, OVER_ID, "pending", "--reason", "本人に照会中")[0] == 0
    rows = _decisions(lake).sort("decided_at")
    assert rows.select("item_id", "decision", "target").rows() == [
        (DOC_ID, "person", C), (DOC_ID, "forward", "131041"), (TWICE_ID, "keep", W), (OVER_ID, "pending", None)]
    assert rows.get_column("target_was_candidate").to_list() == [False, None, None, None]
    code, out, _ = _run(capsys, "review", "list", "--fiscal-year", str(FY), "--open")  # pending stays open
    assert code == 0 and OVER_ID in out and "pending, to apply" in out and DOC_ID not in out
    code, out, _ = _run(capsys, "review", "list", "--fiscal-year", str(FY))
    assert "forward, to apply" in out and "keep, to apply" in out


# ------------------------------------------------------------------------------------- quarantine
@pytest.fixture()
def quarantined(lake):
    long_name = "salary_report/municipality=131032/fiscal_year=2026/20260122_kyuyo_a_very_long_employer_name_001.csv"
    rows = pl.DataFrame({
        "source": ["salary_report", "salary_report", "etax_return"],
        "file": [long_name, long_name, "etax_return/municipality=131032/fiscal_year=2026/20260218_etax_0000036.xtx"],
        "record_no": [3, 7, 1], "field": ["payment_amount_yen", None, "IT/NOZEISHA_NM"],
        "reason_code": ["non_numeric_amount", "wrong_field_count", "missing_required_element"],
        "message": ["支払金額 (payment_amount_yen) " + "は数字ではありません。" * 12, "line has 10 fields; expected 87",
                    "the element NOZEISHA_NM is missing"],
        "other_reasons": [["over_width_field"], [], []], "run_id": [RUN] * 3,
    })
    warnings = pl.DataFrame({"source": ["salary_report"], "file": [long_name], "record_no": [9],
                             "field": ["payer_corporate_number"], "reason_code": ["bad_check_digit"],
                             "message": ["法人番号 check digit is wrong; set to null, record staged"], "run_id": [RUN]})
    write_partition(lake, "quarantine", "returns_ingest", M, FY, rows, sort_by=["source", "file", "record_no"],
                    run_id=RUN)
    write_partition(lake, "quarantine", "returns_ingest_warnings", M, FY, warnings,
                    sort_by=["source", "file", "record_no"], run_id=RUN)
    return lake


def test_quarantine_list_counts_per_stage_file_and_reason(quarantined, capsys):
    code, out, _ = _run(capsys, "quarantine", "list", "--fiscal-year", str(FY))
    assert code == 0
    _fits(out)
    assert "returns_ingest 131032/2026: 3 rows quarantined (not staged) in 2 files" in out
    assert "returns_ingest 131032/2026: 1 row with a warning (staged, a field set to null) in 1 file" in out
    code, out, _ = _run(capsys, "quarantine", "list", "--json")
    table = json.loads(out)
    assert {(r["kind"], r["reason_code"], r["rows"]) for r in table} == {
        ("quarantined", "non_numeric_amount", 1), ("quarantined", "wrong_field_count", 1),
        ("quarantined", "missing_required_element", 1), ("warning", "bad_check_digit", 1)}


def test_quarantine_show_prints_every_row_with_its_message_and_is_audited(quarantined, capsys):
    code, out, _ = _run(capsys, "quarantine", "show", "--file", "20260122_kyuyo_a_very_long_employer_name_001.csv")
    assert code == 0
    _fits(out)
    assert "record 3  field payment_amount_yen  reason non_numeric_amount" in out
    assert "record 7  field (whole record)  reason wrong_field_count" in out
    assert "also: over_width_field" in out
    assert "record 9  field payer_corporate_number  reason bad_check_digit" in out  # the warning
    unwrapped = "".join(line.strip() for line in out.splitlines())
    assert unwrapped.count("は数字ではありません。") == 12  # the whole message, wrapped
    code, out, _ = _run(capsys, "quarantine", "show", "--stage", "returns_ingest_warnings", "--json")
    assert [r["record_no"] for r in json.loads(out)] == [9]
    views = [r for r in audit.read_audit(quarantined) if r["operation"] == "quarantine_viewed"]
    assert len(views) == 2 and views[0]["details"]["rows"] == 3 and views[0]["atena_nos"] == []
    code, _, err = _run(capsys, "quarantine", "show")
    assert code == 2 and "--stage or --file" in err


def test_decisions_taken_at_once_are_all_kept(lake):
    """Three operators decide at the same moment: the lock keeps every row (nothing lost by the rewrite)."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime

    from pipelines.config import Settings
    from pipelines.review import decide

    settings = Settings.from_env()
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    jobs = [(DOC_ID, "none", None), (TWICE_ID, "deny", None), (OVER_ID, "keep", None)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        done = list(pool.map(lambda job: decide(settings, municipality=M, fiscal_year=FY, item=job[0],
                                                decision=job[1], target=job[2], reason="同時に判定", now=now), jobs))
    rows = _decisions(lake)
    assert rows.height == 3 and set(rows.get_column("decision_id")) == {d["decision_id"] for d in done}
    assert audit.verify_chain(lake).ok
