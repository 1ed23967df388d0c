"""Normalisation of names and addresses for 宛名付設 (tying a document to a 宛名番号).

Documents write the same person in many ways: half-width kana (給与支払報告書 カナ氏名 is 半角),
hiragana, small kana written large, long vowels written ー or ウ, 旧字 (髙, 﨑, 邊 …), full-width
digits, 丁目 in kanji numerals or as a dash. Matching compares *normalised* values, and the same
function is applied to both sides (document and registry), so what matters is that each rule maps
every spelling of one reading to one key. The keys are for comparison only: they are never shown
as a person's name or written back to the registry.

Every function takes and returns a Polars expression (whole columns, no Python per row); null stays
null, and a value that normalises to the empty string becomes null (an empty key must never match).

Kana (:func:`normalize_kana`), in this order
--------------------------------------------
1. NFKC: 半角カナ → 全角カナ, and a half-width voiced / semi-voiced mark is composed with its kana
   (ｶﾞ → ガ, ﾊﾟ → パ); full-width Latin letters and digits → ASCII; U+3000 → ASCII space.
2. Hiragana → katakana (ぁ … ゖ → ァ … ヶ, ゝゞ → ヽヾ): a フリガナ field may be filled in hiragana.
3. ヴ-row → バ-row (ヴァ→バ, ヴィ→ビ, ヴ→ブ, ヴェ→ベ, ヴォ→ボ): both spellings are registered for the
   same foreign names; mapped always, so either spelling meets the other.
4. Small kana → large (ァィゥェォ ッ ャュョ ヮ ヵヶ → アイウエオ ツ ヤユヨ ワ カケ): 住基 and many
   payers' systems write 拗音/促音 in large kana (キョウコ = キヨウコ, ハットリ = ハツトリ).
5. Old / homophone kana: ヲ→オ, ヂ→ジ, ヅ→ズ, ヰ→イ, ヱ→エ (same sound in modern Japanese).
6. Long vowels: the mark ー, its half-width form and every dash look-alike (‐ ‑ ‒ – — ― − - ～ 〜)
   are removed; then a ウ written after a kana of the オ or ウ row, and an オ written after a kana
   of the オ row, are removed too, because there they lengthen the vowel (現代仮名遣い writes the
   long o as おう or おお, the long u as うう): サトウ = サトー = サト, ユウコ = ユーコ = ユコ,
   オオタ = オータ = オタ. The key may therefore fold two readings (ユウキ/ユキ); the other 4情報
   still have to agree before anything is matched.
7. Spaces (half- and full-width) and name separators (・ = ＝ .) are removed: the separator
   between family and given name is written, omitted or doubled at will.

Kanji names (:func:`normalize_kanji_name`)
------------------------------------------
1. NFKC, which here is safe: it touches only compatibility characters (full-width Latin letters of
   foreign names, half-width kana of names written in katakana, CJK compatibility ideographs that
   decompose to the very same unified kanji). It does not fold 旧字 into 新字.
2. Ideographic variation selectors (U+FE00–FE0F, U+E0100–E01EF) are removed (葛󠄀 → 葛).
3. Spaces and separators are removed (as for kana).
4. 旧字 / 異体字 → 新字 from ``transforms/data/kanji_variants.csv`` (old, new, note). The table is
   data: add a row to fold another variant. A 外字 replaced by 〓 cannot be recovered; such a name
   simply does not agree in kanji (the kana still can).

Addresses (:func:`normalize_address`, :func:`town_block`)
----------------------------------------------------------
1. The 方書 (building, room) is cut off where a full-width space separates it from the 住所
   (the wire formats write ``住所 + U+3000 + 方書``).
2. NFKC (full-width digits and hyphens → ASCII), then every space is removed.
3. The prefecture prefix (東京都, 北海道, 京都府, 大阪府, ○○県) is dropped: documents write it or not.
4. Kanji numerals of 丁目 (一 … 二十) → digits.
5. 丁目, 番地, 番, 号 after a digit, の between digits and every dash variant → ``-``; repeated
   dashes collapse, a trailing dash is dropped (芝浦三丁目４番１号 = 芝浦３－４－１ = 芝浦3-4-1).
:func:`town_block` is the 町丁目 part of a normalised address (up to the 丁目 number):
``港区芝浦3-4-1`` → ``港区芝浦3``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import polars as pl

__all__ = [
    "KANJI_VARIANTS_FILE",
    "kanji_variants",
    "normalize_kana",
    "normalize_kanji_name",
    "normalize_address",
    "town_block",
]

KANJI_VARIANTS_FILE = Path(__file__).resolve().parent / "data" / "kanji_variants.csv"

# --- kana tables ---------------------------------------------------------------------------------
# Hiragana U+3041..U+3096 sit exactly 0x60 below katakana U+30A1..U+30F6; ゝゞ (U+309D/E) → ヽヾ.
_HIRAGANA = [chr(c) for c in range(0x3041, 0x3097)] + ["ゝ", "ゞ"]
_KATAKANA = [chr(c + 0x60) for c in range(0x3041, 0x3097)] + ["ヽ", "ヾ"]
_VU = {"ヴァ": "バ", "ヴィ": "ビ", "ヴェ": "ベ", "ヴォ": "ボ", "ヴ": "ブ"}
_SMALL_TO_LARGE = {
    "ァ": "ア", "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ", "ッ": "ツ",
    "ャ": "ヤ", "ュ": "ユ", "ョ": "ヨ", "ヮ": "ワ", "ヵ": "カ", "ヶ": "ケ",
}
_HOMOPHONES = {"ヲ": "オ", "ヂ": "ジ", "ヅ": "ズ", "ヰ": "イ", "ヱ": "エ"}
# ー (U+30FC), ｰ (U+FF70, already ー after NFKC), hyphen, non-breaking hyphen, figure dash, en dash,
# em dash, horizontal bar, minus sign, hyphen-minus, full-width tilde, wave dash.
_LONG_VOWEL_AND_DASHES = "[\u30fc\uff70\u2010\u2011\u2012\u2013\u2014\u2015\u2212\\-\uff5e\u301c~]"
# Kana whose vowel is オ or ウ (after steps 1-5): a following ウ lengthens the vowel.
_O_ROW = "オコゴソゾトドノホボポモヨロ"
_U_ROW = "ウクグスズツヌフブプムユル"
_SPACES_AND_SEPARATORS = r"[\s\u3000・=＝.．]"
_VARIATION_SELECTORS = "[\ufe00-\ufe0f\U000e0100-\U000e01ef]"

# --- address tables ------------------------------------------------------------------------------
_KANJI_DIGITS = ["一", "二", "三", "四", "五", "六", "七", "八", "九"]


def _kanji_numeral(n: int) -> str:
    """1 … 20 in kanji numerals as written in 丁目 (十一, 二十)."""
    tens, ones = divmod(n, 10)
    return ("" if tens == 0 else ("十" if tens == 1 else _KANJI_DIGITS[tens - 1] + "十")) + (
        _KANJI_DIGITS[ones - 1] if ones else ""
    )


_CHOME_KANJI = {f"{_kanji_numeral(n)}丁目": f"{n}丁目" for n in range(20, 0, -1)}
_PREFECTURE = r"^(?:東京都|北海道|京都府|大阪府|[^0-9\-]{2,3}県)"
_ADDRESS_DASHES = "[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\u30fc\uff70~\u301c\uff5e]"


def _null_if_empty(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.len_chars() > 0).then(expr).otherwise(pl.lit(None, pl.String))


# --------------------------------------------------------------------------------------------- kana
def normalize_kana(expr: pl.Expr) -> pl.Expr:
    """Kana name → comparison key (rules 1-7 of the module docstring)."""
    e = expr.cast(pl.String).str.normalize("NFKC")  # 1. half-width → full-width, ｶﾞ → ガ
    e = e.str.replace_many(_HIRAGANA, _KATAKANA)  # 2. hiragana → katakana
    e = e.str.replace_many(list(_VU), list(_VU.values()), leftmost=True)  # 3. ヴ-row → バ-row
    e = e.str.replace_many(list(_SMALL_TO_LARGE), list(_SMALL_TO_LARGE.values()))  # 4. small → large
    e = e.str.replace_many(list(_HOMOPHONES), list(_HOMOPHONES.values()))  # 5. ヲ→オ, ヂ→ジ, ヅ→ズ …
    e = e.str.replace_all(_LONG_VOWEL_AND_DASHES, "")  # 6a. long-vowel mark and dashes
    e = e.str.replace_all(_SPACES_AND_SEPARATORS, "")  # 7. spaces and separators
    e = e.str.replace_all(f"([{_O_ROW}{_U_ROW}])ウ", "${1}")  # 6b. オ/ウ-row + ウ is a long vowel
    e = e.str.replace_all(f"([{_O_ROW}])オ", "${1}")  # 6b. オ-row + オ is a long vowel
    return _null_if_empty(e)


# -------------------------------------------------------------------------------------------- kanji
@functools.cache
def kanji_variants() -> dict[str, str]:
    """The 旧字/異体字 → 新字 table (``transforms/data/kanji_variants.csv``), checked once."""
    table = pl.read_csv(KANJI_VARIANTS_FILE, schema={"old": pl.String, "new": pl.String, "note": pl.String})
    if table.filter((pl.col("old").str.len_chars() != 1) | (pl.col("new").str.len_chars() != 1)).height:
        raise ValueError(f"{KANJI_VARIANTS_FILE}: every row maps one character to one character")
    if table.get_column("old").is_duplicated().any():
        raise ValueError(f"{KANJI_VARIANTS_FILE}: a character appears twice in column old")
    if table.filter(pl.col("new").is_in(table.get_column("old").implode())).height:
        raise ValueError(f"{KANJI_VARIANTS_FILE}: a 'new' character is itself an 'old' one (chains are not allowed)")
    return dict(zip(table.get_column("old").to_list(), table.get_column("new").to_list(), strict=True))


def normalize_kanji_name(expr: pl.Expr) -> pl.Expr:
    """Kanji (or any written) name → comparison key: NFKC, no variation selectors, no spaces, 新字."""
    variants = kanji_variants()
    e = expr.cast(pl.String).str.normalize("NFKC")
    e = e.str.replace_all(_VARIATION_SELECTORS, "")
    e = e.str.replace_all(_SPACES_AND_SEPARATORS, "")
    e = e.str.replace_many(list(variants), list(variants.values()))
    return _null_if_empty(e)


# ------------------------------------------------------------------------------------------ address
def normalize_address(expr: pl.Expr) -> pl.Expr:
    """住所 → comparison key, without 方書 and prefecture (see the module docstring)."""
    e = expr.cast(pl.String).str.replace(r"(?s)\u3000.*$", "")  # 1. cut the 方書 off
    e = e.str.normalize("NFKC").str.replace_all(r"\s", "")  # 2.
    e = e.str.replace(_PREFECTURE, "")  # 3.
    e = e.str.replace_many(list(_CHOME_KANJI), list(_CHOME_KANJI.values()), leftmost=True)  # 4.
    e = e.str.replace_all(_ADDRESS_DASHES, "-")
    e = e.str.replace_all(r"([0-9])(?:丁目|番地|番|号)", "${1}-")  # 5.
    e = e.str.replace_all(r"([0-9])の", "${1}-")
    e = e.str.replace_all(r"-+", "-").str.replace(r"-$", "")
    return _null_if_empty(e)


def town_block(normalised_address: pl.Expr) -> pl.Expr:
    """The 町丁目 of a :func:`normalize_address` key: everything up to the first number (港区芝浦3)."""
    return normalised_address.str.extract(r"^([^0-9]+[0-9]+)", 1)
