"""transforms.matching: the My Number rule, the conflict rule, 4情報 scoring, ambiguity and threshold
on tiny frames; then scored on a generated ward through the real snapshot stage and parsers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from transforms.matching import (
    MATCH_SCHEMA,
    REVIEW_SCHEMA,
    document_identity,
    match_documents,
)

D = dt.date
TARO, JIRO, HANAKO, TWIN_A, TWIN_B, ALIAS = (f"000000000{i}" for i in range(1, 7))
NO_TARO = "123456789018"  # valid check digits (平成26年総務省令第85号 第5条)
NO_HANAKO = "012345678903"
NO_UNKNOWN = "983205673214"


def residents() -> pl.DataFrame:
    rows = [
        # atena_no, kana, kanji, alias_kanji, alias_kana, birth, sex, address
        (TARO, "サトウ　タロウ", "佐藤　太郎", None, None, D(1980, 1, 1), 1, "東京都港区芝浦三丁目４番１号"),
        (JIRO, "サトウ　ジロウ", "佐藤　次郎", None, None, D(1980, 1, 1), 1, "東京都港区芝浦三丁目４番１号"),
        (HANAKO, "ヤマダ　ハナコ", "山田　花子", None, None, D(1990, 5, 5), 2, "東京都港区赤坂一丁目１番１号"),
        # twins: same birth date, same address, same sex, names one character apart
        (TWIN_A, "タカハシ　ユウタ", "髙橋　優太", None, None, D(2001, 7, 7), 1, "東京都港区高輪二丁目３番４号"),
        (TWIN_B, "タカハシ　ユウト", "髙橋　優斗", None, None, D(2001, 7, 7), 1, "東京都港区高輪二丁目３番４号"),
        (ALIAS, "テイラー　マシュー", "テイラー　マシュー", "後藤　周平", "ゴトウ　シュウヘイ", D(1975, 3, 3), 1,
         "東京都港区六本木六丁目１２番２号"),
    ]
    cols = ["atena_no", "name_kana", "name_kanji", "alias_kanji", "alias_kana", "birth_date", "sex", "address"]
    frame = pl.DataFrame(rows, schema=cols, orient="row").with_columns(pl.col("sex").cast(pl.Int8))
    return frame.with_columns(
        pl.lit("resident").alias("registry_status"),
        pl.lit(True).alias("resident_on_assessment_date"),
        pl.lit(None, pl.String).alias("destination_municipality_code"),
    )


VAULT = pl.DataFrame({"atena_no": [TARO, HANAKO], "my_number": [NO_TARO, NO_HANAKO]})


def documents(*rows: tuple) -> pl.DataFrame:
    cols = ["doc_uid", "my_number", "name_kana", "name_kanji", "birth_date", "sex", "address"]
    return pl.DataFrame(list(rows), schema=cols, orient="row").with_columns(pl.col("sex").cast(pl.Int8))


def match(*rows: tuple, **kwargs):
    result = match_documents(documents(*rows), residents(), VAULT, **kwargs)
    assert dict(result.matches.schema) == MATCH_SCHEMA
    assert dict(result.review_queue.schema) == REVIEW_SCHEMA
    return result


def row_of(result, doc_uid: str) -> dict:
    return result.matches.filter(pl.col("doc_uid") == doc_uid).to_dicts()[0]


# ------------------------------------------------------------------------------------ rule 1
def test_my_number_verified_auto_matches_with_evidence():
    r = match(("d1", NO_TARO, "ｻﾄｳ ﾀﾛｳ", "佐藤　太郎", D(1980, 1, 1), None, "港区芝浦3-4-1"))
    got = row_of(r, "d1")
    assert (got["atena_no"], got["decision"], got["rule"]) == (TARO, "auto", "my_number_verified")
    assert got["score"] == 90 and got["agreed_fields"][0] == "my_number" and "birth_date" in got["agreed_fields"]
    assert r.review_queue.height == 0


def test_valid_number_of_another_resident_is_a_conflict_never_a_match():
    # Jiro's document carries Hanako's (valid) number: the 5情報 disagree.
    r = match(("d1", NO_HANAKO, "サトウ　ジロウ", "佐藤　次郎", D(1980, 1, 1), 1, "東京都港区芝浦三丁目４番１号"))
    got = row_of(r, "d1")
    assert got["atena_no"] is None and got["decision"] == "review" and got["rule"] == "my_number_conflict"
    q = r.review_queue
    assert set(q.get_column("reason")) == {"my_number_conflict"}
    owner = q.filter(pl.col("candidate_atena_no") == HANAKO).to_dicts()[0]
    assert owner["candidate_agreed_fields"] == ["my_number"]
    best = q.filter(pl.col("candidate_rank") == 1).to_dicts()[0]  # the 4情報 candidate is shown too
    assert best["candidate_atena_no"] == JIRO and best["candidate_score"] == 100
    assert sorted(q.get_column("candidate_rank").to_list()) == list(range(1, q.height + 1))


def test_same_birth_date_but_other_name_is_still_a_conflict():
    r = match(("d1", NO_TARO, "サトウ　ジロウ", "佐藤　次郎", D(1980, 1, 1), 1, "港区芝浦3-4-1"))
    assert row_of(r, "d1")["rule"] == "my_number_conflict" and row_of(r, "d1")["atena_no"] is None


def test_unknown_or_invalid_number_falls_through_to_four_info():
    r = match(
        ("unknown", NO_UNKNOWN, "ヤマダ　ハナコ", "山田　花子", D(1990, 5, 5), 2, "東京都港区赤坂一丁目１番１号"),
        ("invalid", "123456789019", "ヤマダ　ハナコ", "山田　花子", D(1990, 5, 5), 2, "東京都港区赤坂一丁目１番１号"),
    )
    for uid in ("unknown", "invalid"):
        got = row_of(r, uid)
        assert (got["atena_no"], got["decision"], got["rule"], got["score"]) == (HANAKO, "auto", "four_info", 100)


# ------------------------------------------------------------------------------------ rule 2
def test_four_info_kana_variant_kanji_variant_and_alias():
    r = match(
        ("kana", None, "ﾔﾏﾀﾞﾊﾅｺ", "山田　〓子", D(1990, 5, 5), 2, "港区赤坂１－１－１"),
        ("kanji", None, None, "髙橋　優太", D(2001, 7, 7), 1, "東京都港区高輪二丁目３番４号"),
        ("alias", None, "ｺﾞﾄｳ ｼｭｳﾍｲ", "後藤　周平", D(1975, 3, 3), 1, "東京都港区六本木六丁目１２番２号　六本木ヒルズ"),
    )
    assert row_of(r, "kana")["atena_no"] == HANAKO
    assert row_of(r, "kana")["agreed_fields"] == ["name_kana", "birth_date", "sex", "address"]
    assert row_of(r, "kanji")["atena_no"] == TWIN_A and row_of(r, "kanji")["score"] == 100
    assert row_of(r, "alias")["atena_no"] == ALIAS


def test_name_points_are_the_max_of_kana_and_kanji_not_the_sum():
    r = match(("d1", None, "ヤマダ　ハナコ", "山田　花子", D(1990, 5, 5), 2, "東京都港区赤坂一丁目１番１号"))
    assert row_of(r, "d1")["score"] == 100


def test_twins_with_similar_names_are_ambiguous_not_guessed():
    # The kana could be either twin (ユウ… with the given name lost): both score the same.
    r = match(("d1", None, "タカハシ", "高橋", D(2001, 7, 7), 1, "東京都港区高輪二丁目３番４号"))
    got = row_of(r, "d1")
    assert got["atena_no"] is None and got["decision"] == "review" and got["rule"] == "four_info"
    q = r.review_queue
    assert set(q.get_column("candidate_atena_no")) == {TWIN_A, TWIN_B}
    assert set(q.get_column("reason")) == {"below_threshold"}


def test_ambiguous_when_best_reaches_threshold_but_second_is_close():
    # two residents both fully agree apart from sex: 90 and 90
    r = match(("d1", None, "サトウ　タロウ", "佐藤　太郎", D(1980, 1, 1), None, "港区芝浦3-4-1"))
    assert row_of(r, "d1")["atena_no"] == TARO  # Jiro's name disagrees: 50, not within 10
    twins = match(("d1", None, "タカハシ　ユウタ", "高橋　優太", D(2001, 7, 7), None, "港区高輪2-3-4"),
                  auto_threshold=50)
    assert row_of(twins, "d1")["atena_no"] == TWIN_A  # 90 vs 50
    close = match(("d1", None, "タカハシ　ユウタ", "高橋　優太", D(2001, 7, 7), 2, "港区高輪2-3-4"))
    assert row_of(close, "d1")["decision"] == "auto"  # sex disagrees: 90 vs 50 still unique
    both = match(("d1", None, "タカハシ", "高橋", D(2001, 7, 7), 1, "港区高輪2-3-4"), auto_threshold=60)
    assert row_of(both, "d1")["decision"] == "review"
    assert set(both.review_queue.get_column("reason")) == {"ambiguous"}


def test_threshold_decides_between_auto_and_review():
    doc = ("d1", None, "ヤマダ　ハナコ", "山田　花子", D(1990, 5, 5), 2, "東京都港区赤坂一丁目９番９号")  # moved within 町丁目
    assert row_of(match(doc), "d1")["score"] == 90 and row_of(match(doc), "d1")["decision"] == "auto"
    strict = match(doc, auto_threshold=95)
    assert row_of(strict, "d1")["decision"] == "review" and row_of(strict, "d1")["atena_no"] is None
    assert strict.review_queue.to_dicts() == [{
        "doc_uid": "d1", "reason": "below_threshold", "candidate_atena_no": HANAKO, "candidate_score": 90,
        "candidate_agreed_fields": ["name_kana", "name_kanji", "birth_date", "sex", "town_block"], "candidate_rank": 1,
    }]


def test_no_candidate_and_one_row_per_document():
    r = match(
        ("nobody", None, "タナカ　イチロウ", "田中　一郎", D(1999, 9, 9), 1, "港区芝1-1-1"),
        ("no_birth", None, "ヤマダ　ハナコ", "山田　花子", None, 2, "港区赤坂1-1-1"),
        ("birth_only", None, "タナカ", "田中", D(1990, 5, 5), 1, "千代田区丸の内1-1-1"),
    )
    assert r.matches.get_column("decision").to_list() == ["no_candidate"] * 3
    assert r.matches.get_column("rule").null_count() == 3 and r.review_queue.height == 0
    assert r.matches.get_column("agreed_fields").to_list() == [[], [], []]


def test_duplicate_doc_uid_is_refused():
    with pytest.raises(ValueError, match="unique"):
        match(("d", None, "ア", "亜", D(2000, 1, 1), 1, None), ("d", None, "イ", "伊", D(2000, 1, 1), 1, None))


def test_document_identity_rejects_the_summary():
    with pytest.raises(ValueError, match="no taxpayer identity"):
        document_identity("salary_summary", pl.DataFrame())


# ------------------------------------------------------------------------------- scored on a ward
M, N = "131032", 2026
CSV_FORMATS = ("salary_report", "pension_report", "resident_return", "furusato_notice")


@pytest.fixture(scope="module")
def ward_match(tmp_path_factory):
    from sample_ward import generate_ward
    from pipelines import lake, resident_snapshot
    from pipelines.config import Settings
    from transforms.parse_csv import parse_csv_document
    from transforms.parse_etax import parse_etax_returns

    root = tmp_path_factory.mktemp("matching")
    ward = root / "ward"
    generate_ward(ward, residents=2000, seed=20260314, fiscal_year=N)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUMINZEI_LAKE", str(root / "lake"))
        mp.setenv("JUMINZEI_LANDING", str(ward / "landing"))
        mp.setenv("JUMINZEI_VAULT_KEY_FILE", str(root / "keys" / "vault.key"))
        settings = Settings.from_env()
        resident_snapshot.run(fiscal_year=N, settings=settings)
        staged = lake.read_partition(settings.lake, "staging", "residents", M, N)
        vault = lake.read_vault(settings, M, N, reason="宛名付設テスト", run_id=None)

    landing = ward / "landing"
    docs = []
    for fmt in CSV_FORMATS:
        for path in sorted((landing / fmt).rglob("*.csv")):
            parsed = parse_csv_document(path.read_bytes(), fmt, file=path.relative_to(landing).as_posix())
            docs.append(document_identity(fmt, parsed.records))
    xml = [(p.relative_to(landing).as_posix(), p.read_bytes()) for p in sorted((landing / "etax_return").rglob("*.xtx"))]
    docs.append(document_identity("etax_return", parse_etax_returns(xml).returns))
    documents = pl.concat(docs, how="vertical")
    result = match_documents(documents, staged, vault)
    truth = pl.read_parquet(ward / "truth" / "documents.parquet")
    return documents, result, truth


@pytest.mark.slow
def test_scored_on_a_generated_ward(ward_match):
    documents, result, truth = ward_match
    assert result.matches.height == documents.height
    scored = (
        documents.select("doc_uid", "file", "record_no")
        .join(result.matches, on="doc_uid", how="inner", validate="1:1")
        .join(truth.select("file", "record_no", "true_atena_no", "expected_route", "defect"),
              on=["file", "record_no"], how="left", validate="1:1")
    )
    assert scored.get_column("expected_route").null_count() == 0  # every parsed document is in truth
    auto = scored.filter(pl.col("decision") == "auto")
    correct = auto.filter(pl.col("atena_no") == pl.col("true_atena_no")).height
    precision = correct / max(auto.height, 1)
    other_number = scored.filter(pl.col("defect") == "my_number_of_other_person")
    matchable = scored.filter(pl.col("true_atena_no").is_not_null() & pl.col("expected_route").is_in(["stage", "forward"]))
    handled = matchable.filter(pl.col("decision").is_in(["auto", "review"]))
    coverage = handled.height / max(matchable.height, 1)
    auto_share = matchable.filter(pl.col("decision") == "auto").height / max(matchable.height, 1)
    counts = {f"{d}/{r}": n for d, r, n in scored.group_by("decision", "rule").len().sort("decision", "rule").iter_rows()}
    print(f"\nmatching on the sample ward: {scored.height} documents; auto {auto.height} ({correct} correct, "
          f"precision {precision:.4f}); matchable {matchable.height}, auto or queued {handled.height} "
          f"({coverage:.4f}), auto {auto_share:.4f}; my_number_of_other_person {other_number.height} "
          f"(auto-matched {other_number.filter(pl.col('decision') == 'auto').height}); "
          f"review rows {result.review_queue.height}; by decision/rule {counts}")
    wrong = auto.filter(pl.col("atena_no") != pl.col("true_atena_no")).select("doc_uid", "rule", "score", "defect")
    assert precision >= 0.999, wrong.to_dicts()
    assert other_number.height > 0
    assert other_number.filter(pl.col("decision") == "auto").height == 0
    assert set(other_number.get_column("rule")) == {"my_number_conflict"}
    assert coverage >= 0.99, matchable.filter(~pl.col("decision").is_in(["auto", "review"])).select(
        "doc_uid", "defect").to_dicts()
    # every document of a review decision has its candidates in the queue, none of an auto one
    queued = set(result.review_queue.get_column("doc_uid"))
    assert queued == set(scored.filter(pl.col("decision") == "review").get_column("doc_uid"))
    assert not result.review_queue.get_column("doc_uid").is_in(auto.get_column("doc_uid").implode()).any()


def _numbers_in(frame: pl.DataFrame) -> set[str]:
    """Every run of 12 digits in any text or list-of-text cell of ``frame`` (a My Number in free text too)."""
    found: set[str] = set()
    for column, dtype in frame.schema.items():
        values = frame.get_column(column)
        if dtype == pl.List(pl.String):
            values = values.explode()
        if values.dtype == pl.String:
            found |= set(values.str.extract_all(r"(?:^|[^0-9])([0-9]{12})(?:[^0-9]|$)").explode().drop_nulls()
                         .str.extract(r"([0-9]{12})").to_list())
    return found


def test_no_my_number_leaves_matching_in_its_outputs():
    """Privacy by construction (docs/architecture.md §5): matching reads 個人番号 from documents and the
    vault and writes only 宛名番号, rules, scores and field names. Documents here carry a verified number,
    another resident's number, an unknown valid one and an invalid one; neither the matches nor the review
    queue holds any of them, in any column."""
    r = match(
        ("d1", NO_TARO, "ｻﾄｳ ﾀﾛｳ", "佐藤　太郎", D(1980, 1, 1), None, "港区芝浦3-4-1"),
        ("d2", NO_HANAKO, "サトウ　ジロウ", "佐藤　次郎", D(1980, 1, 1), 1, "東京都港区芝浦三丁目４番１号"),
        ("d3", NO_UNKNOWN, "ヤマダ　ハナコ", "山田　花子", D(1990, 5, 5), 2, "東京都港区赤坂一丁目１番１号"),
        ("d4", "123456789012", "タカハシ　ユウタ", "髙橋　優太", D(2001, 7, 7), 1, "東京都港区高輪二丁目３番４号"),
    )
    assert r.matches.height == 4 and r.review_queue.height > 0
    assert _numbers_in(r.matches) == set() and _numbers_in(r.review_queue) == set()
    # the scan itself finds a number where one is
    assert _numbers_in(pl.DataFrame({"note": [f"番号 {NO_TARO} を確認"], "l": [["x", NO_HANAKO]]})) == {
        NO_TARO, NO_HANAKO}


@pytest.mark.slow
def test_matching_outputs_carry_no_my_number(ward_match):
    _, result, _ = ward_match
    for frame in (result.matches, result.review_queue):
        for column, dtype in frame.schema.items():
            if dtype == pl.String:
                assert not frame.get_column(column).str.contains(r"^[0-9]{12}$").any(), column


# ------------------------------------------------------------------- relatives named on a document
def test_relatives_resolved_only_by_a_verified_my_number():
    from transforms.matching import RELATIVE_MATCH_SCHEMA, match_relatives_by_my_number

    relatives = pl.DataFrame(
        [("r1", NO_TARO, "佐藤　太郎", D(1980, 1, 1)),      # number, birth date and name agree
         ("r2", NO_HANAKO, "山田　花子", D(1991, 5, 5)),    # Hanako's number, another birth date
         ("r3", NO_UNKNOWN, "佐藤　次郎", D(1980, 1, 1)),   # valid, not in the vault (no 4情報 guess)
         ("r4", "123456789019", "佐藤　太郎", D(1980, 1, 1)),  # bad check digit
         ("r5", None, "佐藤　太郎", D(1980, 1, 1))],
        schema=["relative_key", "my_number", "name_kanji", "birth_date"], orient="row",
    ).with_columns(pl.lit(None, pl.String).alias("name_kana"))
    got = match_relatives_by_my_number(relatives, residents(), VAULT)
    assert dict(got.schema) == RELATIVE_MATCH_SCHEMA and "my_number" not in got.columns
    assert got.select("relative_key", "relative_atena_no", "relative_match_rule").rows() == [
        ("r1", TARO, "my_number_verified"), ("r2", None, "my_number_conflict"), ("r3", None, "my_number_unknown"),
        ("r4", None, "my_number_invalid"), ("r5", None, "no_my_number")]
    evidence = dict(got.select("relative_key", "relative_match_evidence").rows())
    assert evidence["r1"][0] == "my_number" and "birth_date" in evidence["r1"]
    assert "birth_date" not in evidence["r2"] and evidence["r3"] == []


def test_a_relative_without_a_birth_date_is_resolved_by_name_only_when_the_caller_allows_it():
    """The default asks for the birth date AND the name (rule 1); a document that carries no birth date of
    its relatives (the 給与支払報告書 lists 控除対象扶養親族 by name and number) may accept the name alone."""
    from transforms.matching import match_relatives_by_my_number

    relatives = pl.DataFrame({"relative_key": ["r1"], "my_number": [NO_TARO], "name_kanji": ["佐藤　太郎"],
                              "name_kana": [None], "birth_date": [None]},
                             schema_overrides={"name_kana": pl.String, "birth_date": pl.Date})
    strict = match_relatives_by_my_number(relatives, residents(), VAULT).row(0, named=True)
    assert strict["relative_atena_no"] is None and strict["relative_match_rule"] == "my_number_conflict"
    lenient = match_relatives_by_my_number(relatives, residents(), VAULT, birth_date_required=False).row(0, named=True)
    assert (lenient["relative_atena_no"], lenient["relative_match_rule"]) == (TARO, "my_number_verified")


@pytest.mark.parametrize("keys, message", [
    (["r1", "r1"], "relative_key must be set and unique"),
    (["r1", None], "relative_key must be set and unique"),
])
def test_relatives_need_a_unique_key_each(keys, message):
    from transforms.matching import match_relatives_by_my_number

    relatives = pl.DataFrame({"relative_key": keys, "my_number": [NO_TARO, NO_HANAKO], "name_kanji": ["a", "b"],
                              "name_kana": [None, None], "birth_date": [None, None]},
                             schema_overrides={"name_kana": pl.String, "birth_date": pl.Date})
    with pytest.raises(ValueError, match=message):
        match_relatives_by_my_number(relatives, residents(), VAULT)


def test_a_relatives_frame_without_a_column_is_refused_naming_it():
    from transforms.matching import match_relatives_by_my_number

    relatives = pl.DataFrame({"relative_key": ["r1"], "my_number": [NO_TARO], "name_kanji": ["佐藤　太郎"]})
    with pytest.raises(ValueError, match=r"lacks the columns \['name_kana', 'birth_date'\]"):
        match_relatives_by_my_number(relatives, residents(), VAULT)


def test_a_kanji_name_that_is_neither_the_name_nor_the_alias_scores_no_name_points():
    """Points (transforms/matching.py POINTS): birth date 30 + sex 10 + address 20 = 60, and no 40 for the
    name: 「別人　名前」 is neither テイラー　マシュー nor the 通称 後藤　周平."""
    r = match(("d1", None, None, "別人　名前", D(1975, 3, 3), 1, "東京都港区六本木六丁目１２番２号"))
    assert (row_of(r, "d1")["decision"], row_of(r, "d1")["score"]) == ("review", 60)
    (best,) = r.review_queue.filter(pl.col("doc_uid") == "d1").rows(named=True)
    assert (best["candidate_atena_no"], best["candidate_score"]) == (ALIAS, 60)
    assert "name_kanji" not in best["candidate_agreed_fields"]


def test_a_document_without_a_birth_date_is_never_matched_by_four_info():
    """佐藤　太郎 with his sex and address but no birth date: no candidate at all (4情報 needs the birth
    date), so the document goes to the operator instead of a guess between 太郎 and 次郎 of the same address."""
    r = match(("d1", None, "サトウ　タロウ", "佐藤　太郎", None, 1, "東京都港区芝浦三丁目４番１号"))
    got = row_of(r, "d1")
    assert (got["atena_no"], got["decision"]) == (None, "no_candidate")


@pytest.mark.parametrize("fmt", sorted(__import__("transforms.matching", fromlist=["DOCUMENT_FORMATS"]).DOCUMENT_FORMATS))
def test_document_identity_names_its_source_and_reads_blank_text_as_missing(fmt):
    from transforms.matching import DOCUMENT_FORMATS, document_identity

    my_number, kana, kanji, birth, sex, addresses = DOCUMENT_FORMATS[fmt]
    record = {"file": "f.csv", "record_no": 7, my_number: "\\u3000 ", kana: "", kanji: "　佐藤　太郎",
              birth: D(1980, 1, 1), **{a: " " for a in addresses}}
    if sex:
        record[sex] = "x"  # not a code: null, never an error
    got = document_identity(fmt, pl.DataFrame([record])).row(0, named=True)
    assert (got["doc_uid"], got["source"], got["record_no"]) == ("f.csv#7", fmt, 7)
    assert got["name_kana"] is None and got["address"] is None and got["name_kanji"] == "　佐藤　太郎"
    assert got["sex"] is None
