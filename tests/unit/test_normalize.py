"""transforms.normalize: each kana rule, 旧字 folding and the address forms, on tiny columns."""

from __future__ import annotations

import polars as pl
import pytest

from transforms.normalize import (
    kanji_variants,
    normalize_address,
    normalize_kana,
    normalize_kanji_name,
    town_block,
)


def _apply(fn, values: list[str | None]) -> list[str | None]:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(fn(pl.col("v"))).to_series().to_list()


def kana(*values: str | None) -> list[str | None]:
    return _apply(normalize_kana, list(values))


def kanji(*values: str | None) -> list[str | None]:
    return _apply(normalize_kanji_name, list(values))


def address(*values: str | None) -> list[str | None]:
    return _apply(normalize_address, list(values))


def same(values: list[str | None]) -> bool:
    return len(set(values)) == 1 and values[0] is not None


# --------------------------------------------------------------------------------------------- kana
def test_halfwidth_to_fullwidth_with_voiced_marks():
    assert kana("ｶﾞｸ", "ﾊﾟﾝ", "ﾀﾞｲｽｹ") == ["ガク", "パン", "ダイスケ"]
    assert same(kana("ﾅｶﾞﾀ ﾕｳｽｹ", "ナガタ　ユウスケ"))


def test_hiragana_to_katakana():
    assert same(kana("やまだ　はなこ", "ヤマダ　ハナコ", "ﾔﾏﾀﾞ ﾊﾅｺ"))


def test_small_kana_written_large():
    assert same(kana("ハットリ", "ハツトリ"))
    assert same(kana("キャロル", "キヤロル"))
    assert kana("ァィゥェォッャュョヮヵヶ") == ["アイウエオツヤユヨワカケ"]


def test_long_vowel_mark_dashes_and_u_after_o_or_u_row():
    assert same(kana("サトウ", "サトー", "ｻﾄｰ", "サト‐", "サト−"))
    assert same(kana("ユウコ", "ユーコ"))
    assert same(kana("オオタ", "オータ"))
    assert same(kana("シュウヘイ", "シューヘイ", "シユウヘイ"))


def test_wo_di_du_and_old_kana():
    assert same(kana("トヲル", "トオル"))
    assert same(kana("ミチヂ", "ミチジ"))
    assert same(kana("ツヅキ", "ツズキ"))
    assert same(kana("ヰヱ", "イエ"))


def test_vu_mapped_to_b_row_consistently():
    assert same(kana("ヴァイオリン", "バイオリン"))
    assert same(kana("ヴィクトル", "ビクトル"))


def test_spaces_and_separators_removed_empty_is_null():
    assert same(kana("ヤマダ　ハナコ", "ヤマダ ハナコ", "ヤマダハナコ", "ヤマダ　　ハナコ"))
    assert same(kana("テイラー・マシュー", "テイラー　マシュー"))
    assert kana("　", "", None) == [None, None, None]


def test_different_names_stay_different():
    assert len(set(kana("サトウ　タロウ", "サトウ　ジロウ", "カトウ　タロウ"))) == 3


# -------------------------------------------------------------------------------------------- kanji
@pytest.mark.parametrize(
    ("old", "new"),
    [("髙橋　芳子", "高橋　芳子"), ("岩﨑　信子", "岩崎　信子"), ("渡邊　透", "渡辺　透"), ("渡邉　透", "渡辺　透"),
     ("齋藤　朋子", "斎藤　朋子"), ("齊藤　勉", "斉藤　勉"), ("濱田　惠", "浜田　恵"), ("澤村　眞", "沢村　真"),
     ("廣瀨　國男", "広瀬　国男"), ("櫻井　德子", "桜井　徳子"), ("大藏　龍", "大蔵　竜"), ("大嶋　結愛", "大島　結愛")],
)
def test_old_and_variant_kanji_fold_to_the_new_form(old, new):
    assert same(kanji(old, new))


def test_kanji_spaces_variation_selectors_and_nfkc():
    assert same(kanji("山田　花子", "山田 花子", "山田花子"))
    assert same(kanji("葛\U000e0100西　一郎", "葛西　一郎"))
    assert same(kanji("ＳＭＩＴＨ　ＪＯＨＮ", "SMITH JOHN"))
    assert kanji("山田　花子", "山田　花") == ["山田花子", "山田花"]
    assert kanji(None, "　") == [None, None]


def test_variant_table_is_well_formed():
    table = kanji_variants()
    assert len(table) >= 40
    assert all(len(o) == 1 and len(n) == 1 for o, n in table.items())
    assert not set(table.values()) & set(table)  # no chains


# ------------------------------------------------------------------------------------------ address
def test_address_forms_agree():
    forms = address(
        "東京都港区芝浦三丁目４番１号",
        "港区芝浦３－４－１",
        "東京都港区芝浦3丁目4番地1",
        "東京都港区芝浦三丁目4-1",
        "東京都 港区芝浦３丁目４の１",
        "東京都港区芝浦三丁目４ー１",
        "東京都港区芝浦三丁目４番１号　芝浦タワー１０１号室",
    )
    assert forms == ["港区芝浦3-4-1"] * 7


def test_address_chome_numerals_and_town_names_with_numerals():
    assert address("東京都港区麻布十番一丁目１７番１２号") == ["港区麻布十番1-17-12"]
    assert address("港区赤坂十一丁目２番", "港区赤坂二十丁目２番") == ["港区赤坂11-2", "港区赤坂20-2"]
    assert address("東京都港区六本木六丁目１２番２号") == ["港区六本木6-12-2"]
    assert address("神奈川県横浜市西区みなとみらい二丁目３番") == ["横浜市西区みなとみらい2-3"]
    assert address(None, "　方書だけ") == [None, None]


def test_town_block():
    got = pl.DataFrame({"a": ["東京都港区芝浦三丁目４番１号", "港区芝浦３－９－９", "港区高輪一丁目１番"]}).select(
        town_block(normalize_address(pl.col("a")))
    ).to_series().to_list()
    assert got == ["港区芝浦3", "港区芝浦3", "港区高輪1"]
