"""Operators' review decisions applied by record_merge, on tiny frames built here: a queued document
decided → merged into the chosen person; 扶養重複 decided → the relative kept by one taxpayer only;
扶養否認 denied → the dependant dropped; stale decisions reported, not applied; the reason check."""

from __future__ import annotations

import polars as pl
import pytest

from contracts.identifiers import my_number_check_digit
from contracts.record_merge import BasisLineage, MergeFlag
from contracts.review import DECISION_COLUMNS, OUTCOME_COLUMNS, ReviewDecision, ReviewOutcome
from tests.unit.test_record_merge import FAMILY, _merge, _row, _use, _valid
from transforms.record_merge import merge_records
from transforms.review import item_id, latest_decisions, reason_problem


def _decisions(rows: list[dict]) -> pl.DataFrame:
    """curated/review_decisions rows (unspecified columns at a neutral value)."""
    base = {"item_id": "D00000000", "target": None, "target_was_candidate": None, "reason": "確認済み",
            "actor": "tester", "department": "税務課", "host": "h", "supersedes": None, "audit_hash": "0" * 64}
    full = []
    for n, row in enumerate(rows):
        full.append({**base, "decision_id": f"rd-20260301T10{n:02d}00Z-0000000{n % 10}",
                     "decided_at": f"2026-03-01T10:{n:02d}:00.000000Z", **row})
    return pl.DataFrame(full, schema=DECISION_COLUMNS)


def _merge_with(decisions: pl.DataFrame, residents, **documents):
    """tests.unit.test_record_merge._merge with review decisions."""
    import tests.unit.test_record_merge as base

    original = base.merge_records

    def with_decisions(**kwargs):
        return merge_records(**kwargs, review_decisions=decisions)

    base.merge_records = with_decisions
    try:
        return _merge(residents, **documents)
    finally:
        base.merge_records = original


PEOPLE = [{"atena_no": "A", "household_no": "H1"}, {"atena_no": "B", "household_no": "H2"},
          {"atena_no": "D", "household_no": "H9", "resident_on_assessment_date": False}]
QUEUED = {"route": "review", "match_decision": "review", "atena_no": None}
QUEUE = pl.DataFrame({"doc_uid": ["s1", "s1", "s2"], "source": ["salary_report"] * 3,
                      "candidate_atena_no": ["A", "B", "A"]})


def _queued_salaries():
    return [{"doc_uid": "s1", "payment_amount_yen": 3_000_000, **QUEUED},
            {"doc_uid": "s2", "payment_amount_yen": 500_000, **QUEUED}]


# ------------------------------------------------------------------------------------- documents
def test_without_decisions_queued_documents_are_not_merged():
    result = _merge(PEOPLE, salary=_queued_salaries(), review=QUEUE)
    assert result.lineage.height == 0
    assert _row(result.basis, "B")["salary_revenue"] == 0
    assert result.review_outcomes.height == 0
    assert sorted(result.flags.get_column("related").to_list()) == ["s1", "s1", "s2"]


def test_a_queued_document_decided_for_a_person_is_merged_into_that_basis():
    decisions = _decisions([
        {"item_kind": "document", "item_key": "s1", "decision": "person", "target": "A"},
        {"item_kind": "document", "item_key": "s1", "decision": "person", "target": "B"},  # the later one counts
        {"item_kind": "document", "item_key": "s2", "decision": "none"},
    ])
    result = _merge_with(decisions, PEOPLE, salary=_queued_salaries(), review=QUEUE)
    _valid(result)
    assert result.review_outcomes.schema == pl.Schema(OUTCOME_COLUMNS)
    # B's basis now holds the salary of s1 (3,000,000 yen as declared), A's stays empty.
    assert _row(result.basis, "B")["salary_revenue"] == 3_000_000
    assert _row(result.basis, "B")["basis_source"] == "information_returns"
    assert _row(result.basis, "A")["salary_revenue"] == 0
    # Lineage: by operator decision, with the id of the latest decision.
    lineage = result.lineage.filter(pl.col("doc_uid") == "s1").row(0, named=True)
    assert lineage["person_id"] == "B" and lineage["use"] == "summed"
    assert lineage["decision_id"] == decisions.get_column("decision_id")[1]
    assert result.lineage.get_column("doc_uid").to_list() == ["s1"]  # s2 (none) is not merged
    # Decided documents leave the review markers; B is no longer a non-filer.
    assert result.flags.filter(pl.col("flag") == "document_in_review").height == 0
    assert result.non_filers.get_column("atena_no").to_list() == ["A"]
    assert result.non_filers.get_column("document_in_review").to_list() == [False]
    outcomes = dict(result.review_outcomes.select("item_key", "outcome").iter_rows())
    assert outcomes == {"s1": "merged", "s2": "not_matched"}
    assert result.counts["review_outcome_merged"] == 1 and result.counts["review_decisions_latest"] == 2


def test_forward_and_stale_document_decisions_are_not_merged():
    decisions = _decisions([
        {"item_kind": "document", "item_key": "s1", "decision": "forward", "target": "131041"},
        {"item_kind": "document", "item_key": "s2", "decision": "person", "target": "D"},  # not resident on 1 Jan
        {"item_kind": "document", "item_key": "gone", "decision": "person", "target": "A"},  # left the queue
    ])
    result = _merge_with(decisions, PEOPLE, salary=_queued_salaries(), review=QUEUE)
    _valid(result)
    assert result.lineage.height == 0
    outcomes = dict(result.review_outcomes.select("item_key", "outcome").iter_rows())
    assert outcomes == {"s1": "forwarded", "s2": "stale", "gone": "stale"}
    # s2's decision is stale: it is still under review for its candidate.
    assert result.flags.filter(pl.col("flag") == "document_in_review").get_column("related").to_list() == ["s2"]
    assert result.counts["review_outcome_stale"] == 2


def test_an_auto_matched_document_is_never_changed_by_a_decision():
    decisions = _decisions([{"item_kind": "document", "item_key": "s1", "decision": "person", "target": "B"}])
    result = _merge_with(decisions, PEOPLE, salary=[{"doc_uid": "s1", "atena_no": "A", "payment_amount_yen": 1}],
                         review=pl.DataFrame(schema={"doc_uid": pl.String, "source": pl.String,
                                                     "candidate_atena_no": pl.String}))
    assert _use(result, "s1") == "summed" and _row(result.basis, "A")["salary_revenue"] == 1
    assert result.review_outcomes.get_column("outcome").to_list() == ["stale"]


# ------------------------------------------------------------------------------------- 扶養 flags
CLAIMS = dict(salary=[
    {"doc_uid": "sT", "atena_no": "T", "payment_amount_yen": 5_000_000, "dependant_1_kana": "ﾔﾏﾀﾞ ｳﾒ"},
    {"doc_uid": "sW", "atena_no": "W", "payment_amount_yen": 3_000_000, "dependant_1_kana": "ﾔﾏﾀﾞ ｳﾒ",
     "dependant_2_kana": "ﾀﾅｶ ﾐﾂﾙ"},
    # M: 給与所得 1,320,000 yen, over the 580,000 yen limit of the test (令和7年分 扶養親族 58万円)
    {"doc_uid": "sM", "atena_no": "M", "payment_amount_yen": 2_000_000, "salary_income_yen": 1_320_000}])


def _claims_of(result, relative: str) -> list[str]:
    return sorted(result.relatives.filter(pl.col("relative_atena_no") == relative).get_column("person_id").to_list())


def test_dependant_claimed_twice_decided_keeps_the_relative_with_one_taxpayer_only():
    decisions = _decisions([
        {"item_kind": "dependant_claimed_twice", "item_key": "M", "decision": "keep", "target": "W"},
    ])
    before = _merge(FAMILY, **CLAIMS)
    assert _claims_of(before, "M") == ["T", "W"]
    result = _merge_with(decisions, FAMILY, **CLAIMS)
    _valid(result)
    assert _claims_of(result, "M") == ["W"]
    # W keeps M and the unresolved second dependant, numbered 1..n again; T has no dependant left.
    w = result.relatives.filter(pl.col("person_id") == "W").sort("seq")
    assert w.select("seq", "relative_atena_no").rows() == [(1, "M"), (2, None)]
    assert result.relatives.filter(pl.col("person_id") == "T").height == 0
    # The flags stay, showing the decision; the outcome names the keeping taxpayer.
    twice = result.flags.filter(pl.col("flag") == "dependant_claimed_twice")
    assert twice.select("person_id", "decision").sort("person_id").rows() == [("T", "keep"), ("W", "keep")]
    assert twice.get_column("decision_id").unique().to_list() == decisions.get_column("decision_id").to_list()
    outcome = result.review_outcomes.row(0, named=True)
    assert (outcome["outcome"], outcome["person_id"]) == ("claim_kept", "W")


def test_dependant_over_the_limit_denied_is_dropped_and_pending_changes_nothing():
    decisions = _decisions([
        {"item_kind": "dependant_income_over_limit", "item_key": "T/M", "decision": "deny"},
        {"item_kind": "dependant_income_over_limit", "item_key": "W/M", "decision": "pending"},
    ])
    result = _merge_with(decisions, FAMILY, **CLAIMS)
    _valid(result)
    assert _claims_of(result, "M") == ["W"]
    over = result.flags.filter(pl.col("flag") == "dependant_income_over_limit")
    assert over.select("person_id", "decision").sort("person_id").rows() == [("T", "deny"), ("W", "pending")]
    outcomes = dict(result.review_outcomes.select("item_key", "outcome").iter_rows())
    assert outcomes == {"T/M": "claim_denied", "W/M": "pending"}
    assert result.counts["review_outcome_pending"] == 1


def test_a_keep_for_a_taxpayer_who_does_not_claim_is_stale_and_changes_nothing():
    decisions = _decisions([
        {"item_kind": "dependant_claimed_twice", "item_key": "M", "decision": "keep", "target": "X"},
        {"item_kind": "dependant_claimed_twice", "item_key": "C", "decision": "deny"},  # no such flag
    ])
    result = _merge_with(decisions, FAMILY, **CLAIMS)
    assert _claims_of(result, "M") == ["T", "W"]
    assert result.flags.get_column("decision").null_count() == result.flags.height
    assert result.review_outcomes.get_column("outcome").to_list() == ["stale", "stale"]


# ---------------------------------------------------------------------------------- helpers, contracts
def _valid_my_number(base11: str) -> str:
    return base11 + str(my_number_check_digit(base11))


def test_reason_refuses_a_my_number_in_any_common_spelling_and_accepts_other_numbers():
    number = _valid_my_number("62149832025")
    grouped = f"{number[:4]}-{number[4:8]}-{number[8:]}"
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for text in (f"番号{number}は本人", f"no. {grouped}", f"個人番号 {full_width}", f"x{number}x"):
        assert "My Number" in reason_problem(text), text
    wrong = number[:11] + str((int(number[11]) + 1) % 10)
    corporate = "1" + number  # 13 digits: a 法人番号-shaped number, not a My Number
    for text in (f"番号{wrong}", f"法人 {corporate}", "2026年3月1日 電話で確認", "宛名番号 0100005662"):
        assert reason_problem(text) is None, text
    assert reason_problem("   ") is not None and reason_problem(None) is not None


def test_the_decision_contract_refuses_a_my_number_a_blank_reason_and_a_wrong_decision():
    from pandera.errors import SchemaError, SchemaErrors

    good = _decisions([{"item_kind": "document", "item_key": "s1", "decision": "person", "target": "0100000001"}])
    ReviewDecision.validate(good, lazy=True)
    bad = [
        good.with_columns(pl.lit(f"番号 {_valid_my_number('62149832025')}").alias("reason")),
        good.with_columns(pl.lit("  ").alias("reason")),
        good.with_columns(pl.lit("keep").alias("decision")),
        good.with_columns(pl.lit(None, pl.String).alias("target")),
    ]
    for frame in bad:
        with pytest.raises((SchemaError, SchemaErrors)):
            ReviewDecision.validate(frame, lazy=True)


def test_latest_decision_wins_and_item_ids_are_stable():
    decisions = _decisions([
        {"item_kind": "document", "item_key": "s1", "decision": "none"},
        {"item_kind": "document", "item_key": "s1", "decision": "forward", "target": "131041"},
    ])
    latest = latest_decisions(decisions)
    assert latest.select("item_key", "decision").rows() == [("s1", "forward")]
    assert item_id("document", "s1") == item_id("document", "s1")
    assert item_id("document", "s1").startswith("D") and item_id("dependant_claimed_twice", "M").startswith("F")
    assert len(item_id("document", "s1")) == 9


def test_the_lineage_and_flag_contracts_take_the_decision_columns():
    from pandera.errors import SchemaError, SchemaErrors

    result = _merge(FAMILY, **CLAIMS)
    BasisLineage.validate(result.lineage, lazy=True)
    bad = result.flags.with_columns(pl.lit("maybe").alias("decision"))
    with pytest.raises((SchemaError, SchemaErrors)):
        MergeFlag.validate(bad, lazy=True)


def test_the_outcome_contract_refuses_an_unknown_outcome():
    from pandera.errors import SchemaError, SchemaErrors

    good = pl.DataFrame([{"decision_id": "rd-20260301T100000Z-00000000", "item_kind": "document", "item_key": "s1",
                          "decision": "person", "target": "0100000001", "outcome": "merged",
                          "person_id": "0100000001", "detail": "merged"}], schema=OUTCOME_COLUMNS)
    ReviewOutcome.validate(good, lazy=True)
    with pytest.raises((SchemaError, SchemaErrors)):
        ReviewOutcome.validate(good.with_columns(pl.lit("guessed").alias("outcome")), lazy=True)


def test_each_document_outcome_tells_the_operator_what_happened_and_outcomes_are_ordered():
    """The review outcomes are what `juminzei review` shows: each says why, in the operator's words."""
    decisions = _decisions([
        {"item_kind": "document", "item_key": "s1", "decision": "forward", "target": "131041"},
        {"item_kind": "document", "item_key": "s2", "decision": "person", "target": "D"},  # not resident on 1 Jan
        {"item_kind": "document", "item_key": "gone", "decision": "person", "target": "A"},  # left the queue
    ])
    result = _merge_with(decisions, PEOPLE, salary=_queued_salaries(), review=QUEUE)
    detail = dict(result.review_outcomes.select("item_key", "detail").iter_rows())
    assert detail == {
        "s1": "to be forwarded (回送) to 131041; not merged",
        "s2": "the chosen person is not resident on 1 January in the current resident snapshot; not merged",
        "gone": "the document is no longer in the review queue (matched anew, or its file was replaced); "
                "decide again if it comes back",
    }
    decisions = _decisions([
        {"item_kind": "document", "item_key": "s1", "decision": "person", "target": "B"},
        {"item_kind": "document", "item_key": "s2", "decision": "none"},
    ])
    result = _merge_with(decisions, PEOPLE, salary=_queued_salaries(), review=QUEUE)
    detail = dict(result.review_outcomes.select("item_key", "detail").iter_rows())
    assert detail == {
        "s1": "merged into the chosen person's basis (basis_lineage.decision_id)",
        "s2": "no resident of the ward: not merged; a 住登外 candidate if the taxpayer lived in the ward on "
              "1 January, else a document to return",
    }
    assert result.review_outcomes.select("item_kind", "item_key").rows() == [("document", "s1"), ("document", "s2")]


def test_a_decided_document_with_several_candidates_is_merged_once():
    decisions = _decisions([{"item_kind": "document", "item_key": "s1", "decision": "person", "target": "A"}])
    result = _merge_with(decisions, PEOPLE, salary=_queued_salaries(), review=QUEUE)  # s1 has candidates A and B
    assert result.lineage.filter(pl.col("doc_uid") == "s1").height == 1
    assert _row(result.basis, "A")["salary_revenue"] == 3_000_000


def test_each_flag_outcome_tells_the_operator_what_happened():
    """扶養 decisions' outcomes, in the words `juminzei review` shows, with the taxpayer they concern."""
    decisions = _decisions([
        {"item_kind": "dependant_income_over_limit", "item_key": "T/M", "decision": "deny"},
        {"item_kind": "dependant_income_over_limit", "item_key": "W/M", "decision": "pending"},
    ])
    rows = _merge_with(decisions, FAMILY, **CLAIMS).review_outcomes.select("item_key", "person_id", "detail").rows()
    assert rows == [("T/M", "T", "the dependant is dropped from this taxpayer (扶養否認)"),
                    ("W/M", "W", "the taxpayer is asked; the claim stays as declared meanwhile")]
    decisions = _decisions([{"item_kind": "dependant_income_over_limit", "item_key": "T/M", "decision": "keep"}])
    rows = _merge_with(decisions, FAMILY, **CLAIMS).review_outcomes.select("item_key", "person_id", "detail").rows()
    assert rows == [("T/M", "T", "the dependant claim is accepted as declared")]
    for decision, detail in [("keep", "the relative stays with the chosen taxpayer and is dropped from the others"),
                             ("deny", "the relative is dropped from every claiming taxpayer")]:
        target = "W" if decision == "keep" else None
        decisions = _decisions([{"item_kind": "dependant_claimed_twice", "item_key": "M", "decision": decision,
                                 "target": target}])
        (row,) = _merge_with(decisions, FAMILY, **CLAIMS).review_outcomes.select("item_key", "detail").rows()
        assert row == ("M", detail)
    decisions = _decisions([
        {"item_kind": "dependant_claimed_twice", "item_key": "M", "decision": "keep", "target": "X"},
        {"item_kind": "dependant_claimed_twice", "item_key": "C", "decision": "deny"},
    ])
    rows = _merge_with(decisions, FAMILY, **CLAIMS).review_outcomes.select("item_key", "person_id", "detail").rows()
    assert rows == [("C", None, "the flag is no longer raised (the claims changed)"),
                    ("M", None, "the taxpayer chosen to keep the relative no longer claims them")]
