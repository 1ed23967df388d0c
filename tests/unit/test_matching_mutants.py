"""transforms.matching: rules that the mutation run of 宛名付設 found with no test stating them (its surviving
mutants, /work/logs/matching_survivors.txt). Each test states its rule, and every expected value is worked out
by hand from the small frames of ``tests/unit/test_matching.py`` (docs/testing.md). A mutant that cannot change
any result is not tested here. It is argued as equivalent in the accepted list instead.

Points used below (transforms/matching.py ``POINTS``): name 40 (kana or kanji, 通称 included), birth date 30,
sex 10, address 20 (normalised 住所 equal) or 町丁目 10. The default ``auto_threshold`` is 90."""

from __future__ import annotations

import re

import polars as pl
import pytest

from tests.unit.test_matching import ALIAS, D, HANAKO, NO_TARO, TARO, VAULT, match, residents, row_of
from transforms.matching import document_identity, match_relatives_by_my_number


# ------------------------------------------------------------------------------------ scoring
def test_a_kanji_name_scores_through_the_alias_only_when_it_equals_the_alias():
    """The 通称 gives the name points only when the document's kanji IS the 通称. 「佐藤　太郎」 is neither the
    registered テイラー　マシュー nor the 通称 後藤　周平, so the resident born 1975-03-03 at 六本木六丁目１２番２号
    scores birth 30 + sex 10 + address 20 = 60 with no name, which is below 90: review, never auto."""
    r = match(("d1", None, None, "佐藤　太郎", D(1975, 3, 3), 1, "東京都港区六本木六丁目１２番２号"))
    got = row_of(r, "d1")
    assert (got["atena_no"], got["decision"], got["rule"], got["score"]) == (None, "review", "four_info", 60)
    assert got["agreed_fields"] == ["birth_date", "sex", "address"]
    assert r.review_queue.rows() == [("d1", "below_threshold", ALIAS, 60, ["birth_date", "sex", "address"], 1)]


def test_a_document_without_an_address_scores_neither_address_nor_town_block():
    """A missing 住所 agrees with nothing, neither the whole address (20) nor the 町丁目 (10). 山田　花子 with
    her kana, kanji, birth date and sex but no address: 40 + 30 + 10 = 80, below 90, so the document goes to
    review (below_threshold). With either point granted it would reach 90 or 100 and be matched on data
    the document does not carry."""
    r = match(("d1", None, "ヤマダ　ハナコ", "山田　花子", D(1990, 5, 5), 2, None))
    got = row_of(r, "d1")
    assert (got["atena_no"], got["decision"], got["score"]) == (None, "review", 80)
    assert got["agreed_fields"] == ["name_kana", "name_kanji", "birth_date", "sex"]
    assert r.review_queue.rows() == [
        ("d1", "below_threshold", HANAKO, 80, ["name_kana", "name_kanji", "birth_date", "sex"], 1)]


def test_a_taxpayers_my_number_is_not_verified_without_a_birth_date():
    """Rule 1 asks for the birth date AND the name of the number's owner. A taxpayer's document carrying
    太郎's number, name, sex and address but no birth date is not verified by name alone (only relatives may
    be, when the caller allows it). It is a my_number_conflict in review, with 太郎 as the only candidate:
    name 40 + sex 10 + address 20 = 70. There is no 4情報 candidate without a birth date."""
    r = match(("d1", NO_TARO, "サトウ　タロウ", "佐藤　太郎", None, 1, "東京都港区芝浦三丁目４番１号"))
    got = row_of(r, "d1")
    assert (got["atena_no"], got["decision"], got["rule"], got["score"]) == (None, "review", "my_number_conflict", 70)
    fields = ["my_number", "name_kana", "name_kanji", "sex", "address"]
    assert got["agreed_fields"] == fields
    assert r.review_queue.rows() == [("d1", "my_number_conflict", TARO, 70, fields, 1)]


# ------------------------------------------------------------------------------- document identity
def test_document_identity_keeps_the_callers_columns_and_reads_only_spaces_as_blank():
    """A 住民税申告書 record. ``doc_uid`` is ``<file>#<record_no>``, and ``source``, ``file`` and ``record_no``
    are kept for the caller. The sex code "2" becomes 2, and "x" (no code) becomes null without an error.
    Only half- and full-width spaces (U+0020, U+3000, the blanks the CSV layouts pad with) make a field
    missing. A my_number of "X" is kept for the number check to judge. The 1 January address comes first,
    and when it is blank the current one is used."""
    records = pl.DataFrame({
        "file": ["resident_return/a.csv", "resident_return/a.csv"],
        "record_no": [3, 4],
        "my_number": ["123456789018", "X"],
        "name_kana": ["サトウ　タロウ", "　"],
        "name": ["佐藤　太郎", " "],
        "birth_on": [D(1980, 1, 1), None],
        "sex": ["2", "x"],
        "jan1_address": ["東京都港区芝浦三丁目４番１号", " 　"],
        "address": ["東京都港区赤坂一丁目１番１号", "東京都港区赤坂一丁目１番１号"],
    })
    got = document_identity("resident_return", records)
    assert dict(got.schema) == {
        "doc_uid": pl.String, "source": pl.String, "file": pl.String, "record_no": pl.Int64,
        "my_number": pl.String, "name_kana": pl.String, "name_kanji": pl.String, "birth_date": pl.Date,
        "sex": pl.Int8, "address": pl.String,
    }
    assert got.rows() == [
        ("resident_return/a.csv#3", "resident_return", "resident_return/a.csv", 3, "123456789018",
         "サトウ　タロウ", "佐藤　太郎", D(1980, 1, 1), 2, "東京都港区芝浦三丁目４番１号"),
        ("resident_return/a.csv#4", "resident_return", "resident_return/a.csv", 4, "X",
         None, None, None, None, "東京都港区赤坂一丁目１番１号"),
    ]


# ------------------------------------------------------------------------------- relatives
def _relatives(*rows: tuple) -> pl.DataFrame:
    """(relative_key, my_number, name_kanji, birth_date) rows; relatives carry no kana here."""
    return pl.DataFrame(list(rows), schema={"relative_key": pl.String, "my_number": pl.String,
                                             "name_kanji": pl.String, "birth_date": pl.Date}, orient="row",
                        ).with_columns(pl.lit(None, pl.String).alias("name_kana"))


def test_a_relative_without_a_birth_date_needs_the_callers_leave_to_be_resolved_by_name():
    """By default (``birth_date_required=True``) a relative's number is verified only with the birth date
    AND the name. 太郎's number and name with no birth date give my_number_conflict and no 宛名番号. Only
    ``birth_date_required=False`` accepts the name alone: my_number_verified, 太郎, with the evidence
    my_number + name_kanji (nothing else agreed: no kana, birth date, sex or address given)."""
    relatives = _relatives(("r1", NO_TARO, "佐藤　太郎", None))
    strict = match_relatives_by_my_number(relatives, residents(), VAULT)
    assert strict.rows() == [("r1", None, "my_number_conflict", ["my_number", "name_kanji"])]
    lenient = match_relatives_by_my_number(relatives, residents(), VAULT, birth_date_required=False)
    assert lenient.rows() == [("r1", TARO, "my_number_verified", ["my_number", "name_kanji"])]


def test_a_relatives_number_field_is_missing_only_when_it_holds_nothing_but_spaces():
    """``no_my_number`` only for a number field that is empty or holds half- or full-width spaces only. A
    field holding anything else, a tab or a letter, was written by someone. It is a wrong number
    (``my_number_invalid``) for the operator to see, not a missing one."""
    relatives = _relatives(("blank", " \u3000 ", "佐藤　太郎", D(1980, 1, 1)),
                           ("tab", "\t", "佐藤　太郎", D(1980, 1, 1)),
                           ("letter", "X", "佐藤　太郎", D(1980, 1, 1)))
    got = match_relatives_by_my_number(relatives, residents(), VAULT)
    assert got.select("relative_key", "relative_atena_no", "relative_match_rule").rows() == [
        ("blank", None, "no_my_number"), ("tab", None, "my_number_invalid"), ("letter", None, "my_number_invalid")]


def test_a_relatives_frame_without_a_column_is_refused_with_the_exact_sentence():
    relatives = _relatives(("r1", NO_TARO, "佐藤　太郎", D(1980, 1, 1))).drop("birth_date")
    with pytest.raises(ValueError, match=r"^" + re.escape(
            "match_relatives_by_my_number: the relatives frame lacks the columns ['birth_date']") + r"$"):
        match_relatives_by_my_number(relatives, residents(), VAULT)


@pytest.mark.parametrize("keys", [["r1", "r1"], ["r1", None]], ids=["duplicated", "null"])
def test_relative_keys_must_be_unique_and_set_each_on_its_own(keys):
    """A duplicated key with no null, or a null key with no duplicate, is refused. Either alone breaks the
    one-row-per-relative output, and the operator reads this exact sentence."""
    relatives = _relatives((keys[0], NO_TARO, "佐藤　太郎", D(1980, 1, 1)), (keys[1], None, "山田　花子", None))
    sentence = "match_relatives_by_my_number: relative_key must be set and unique (one row per relative)"
    with pytest.raises(ValueError, match=r"^" + re.escape(sentence) + r"$"):
        match_relatives_by_my_number(relatives, residents(), VAULT)
