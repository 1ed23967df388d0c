"""住登外課税通知 (transforms/non_registered.py), on hand-built frames.

地方税法第294条第3項: a person who lived in the ward on 1 January without a 住民票 here is taxed by the
ward as its resident; the ward tells the municipality of the 住民票 (第294条第4項), which then does not tax
them for the 年度. One notice per assessed 住登外者; a protected person's notice is held.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from transforms.non_registered import held_non_registered_notices, non_registered_notices

REGISTRATIONS = pl.DataFrame({
    "atena_no": ["0900000002", "0900000001", "0900000003"],
    "registered_municipality_code": ["141003", "131016", "131016"],
    "registered_address": ["神奈川県横浜市中区港町一丁目１番地", "東京都千代田区神田一丁目１番１号", "東京都千代田区神田二丁目２番２号"],
    "living_since": [date(2024, 9, 1), date(2025, 4, 1), date(2023, 1, 10)],
    "confirmed_date": [date(2026, 3, 12), date(2026, 3, 10), date(2026, 3, 11)],
})
RESIDENTS = pl.DataFrame({
    "atena_no": ["0100000001", "0900000001", "0900000002", "0900000003"],
    "name_kanji": ["港　太郎", "住登　一郎", "住登　二郎", "住登　三子"],
    "name_kana": ["ミナト　タロウ", "ジュウトウ　イチロウ", "ジュウトウ　ジロウ", "ジュウトウ　ミツコ"],
    "birth_date": [date(1980, 5, 15), date(1980, 4, 5), date(1990, 7, 7), date(1970, 1, 1)],
    "postal_code": ["1080023"] * 4,
    "address": ["東京都港区芝浦三丁目４番１号", "東京都港区芝浦三丁目５番２号", "東京都港区芝浦三丁目５番３号", "東京都港区芝浦三丁目５番４号"],
    "address_detail": [None, "芝浦ハイツ３０１", None, None],
})
# 0900000002 is 非課税 (total 0); 0900000003 was not assessed (e.g. its documents are still in review)
ASSESSMENT = pl.DataFrame({"person_id": ["0100000001", "0900000001", "0900000002"],
                           "total_tax": [120_000, 54_300, 0]}, schema={"person_id": pl.String, "total_tax": pl.Int64})


def notices(protected=()):
    return non_registered_notices(REGISTRATIONS, RESIDENTS, ASSESSMENT, pl.Series("atena_no", list(protected), pl.String),
                                  fiscal_year=2026, municipality="131032", notice_date=date(2026, 5, 20))


def test_one_notice_per_assessed_non_registered_person_to_the_municipality_of_the_residence_record():
    out = notices()
    # registry residents get none; the unassessed 住登外者 none either; ordered by destination, then 宛名番号
    assert out.select("registered_municipality_code", "person_id", "notice_no").rows() == [
        ("131016", "0900000001", "202630900000001"),  # 年度 2026 + kind 3 + 宛名番号
        ("141003", "0900000002", "202630900000002"),
    ]
    first = out.row(0, named=True)
    assert (first["name_kanji"], first["birth_date"], first["residence_address"], first["residence_address_detail"],
            first["registered_address"], first["living_since"], first["fiscal_year"], first["municipality_code"],
            first["notice_date"]) == (
        "住登　一郎", date(1980, 4, 5), "東京都港区芝浦三丁目５番２号", "芝浦ハイツ３０１",
        "東京都千代田区神田一丁目１番１号", date(2025, 4, 1), 2026, "131032", date(2026, 5, 20))


def test_an_exempt_person_is_notified_as_exempt_the_ward_still_holds_the_taxation():
    """A 非課税 住登外者 is still the ward's to tax (and not the other municipality's): notified as exempt."""
    assert dict(notices().select("person_id", "taxation").rows()) == {"0900000001": "taxed", "0900000002": "exempt"}


def test_a_protected_persons_notice_is_held_without_an_amount_or_address():
    """Held like the person's other notices; it carries no amount (their tax, 54,300円, is held on their
    own notices), so the hold queue's amounts still add up to the tax held."""
    out = notices(protected=["0900000001"])
    assert out.filter(pl.col("protected")).get_column("person_id").to_list() == ["0900000001"]
    held = held_non_registered_notices(out)
    assert held.rows() == [("0900000001", "202630900000001", "non_registered_notice", None, "support_measures", 0)]
    assert not any("address" in c for c in held.columns)
