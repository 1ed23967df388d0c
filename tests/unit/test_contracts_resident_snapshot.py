"""Contracts of the resident_snapshot stage: good samples pass, each known-bad sample fails."""

from __future__ import annotations

from datetime import date

import pandera.polars as pa
import polars as pl
import pytest
from pandera.errors import SchemaError, SchemaErrors

from contracts import resident_snapshot as c

RUN_ID = "20260105T093000Z-resident_snapshot-0a1b2c3d"


def residents() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "atena_no": ["0000000001", "0000000002"],
            "household_no": ["0000000101", "0000000102"],
            "relationship": ["世帯主", "世帯主"],
            "name_kanji": ["港　太郎", "芝　次郎"],
            "name_kana": ["ミナト　タロウ", "シバ　ジロウ"],
            "alias_kanji": [None, None],
            "alias_kana": [None, None],
            "birth_date": [date(1980, 5, 15), date(1970, 3, 1)],
            "sex": pl.Series([1, 1], dtype=pl.Int8),
            "postal_code": ["1080023", "1080023"],
            "town_code": ["1310301", "1310301"],
            "address": ["東京都港区芝浦三丁目４番１号", "東京都港区芝浦三丁目４番２号"],
            "address_detail": [None, "芝浦タワー１０１"],
            "resident_type": pl.Series([1, 1], dtype=pl.Int8),
            "nationality": [None, None],
            "became_resident_date": [date(1980, 5, 15), date(2000, 4, 1)],
            "removal_reason": [None, "転出"],
            "removal_date": [None, date(2026, 1, 1)],
            "destination_municipality_code": [None, "141003"],
            "destination_address": [None, "神奈川県横浜市西区"],
            "registry_status": ["resident", "moved_out"],
            "resident_on_assessment_date": [True, False],
            "age_on_assessment_date": pl.Series([45, 55], dtype=pl.Int16),
        },
        schema_overrides={"alias_kanji": pl.String, "alias_kana": pl.String, "nationality": pl.String},
    )


def households() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "household_no": ["0000000101", "0000000102"],
            "head_atena_no": ["0000000001", None],
            "head_status": ["ok", "missing"],
            "member_count": pl.Series([1, 1], dtype=pl.Int32),
            "resident_member_count": pl.Series([1, 0], dtype=pl.Int32),
        }
    )


def welfare() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "atena_no": ["0000000001"],
            "case_no": ["K-1"],
            "assistance_start_date": [date(2020, 4, 1)],
            "assisted_on_assessment_date": [True],
        }
    )


def disability() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "atena_no": ["0000000001", "0000000002"],
            "physical_grade": pl.Series([1, None], dtype=pl.Int8),
            "mental_grade": pl.Series([None, 2], dtype=pl.Int8),
            "intellectual_grade": pl.Series([None, None], dtype=pl.String),
            "certificate_count": pl.Series([1, 1], dtype=pl.Int8),
            "special_declared": [False, False],
            "special_by_grade": [True, False],
            "special_disability": [True, False],
        }
    )


def vault() -> pl.DataFrame:
    return pl.DataFrame({"atena_no": ["0000000001", "0000000002"], "my_number": ["123456789018", "012345678903"]})


def quarantine() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": ["resident_registry", "my_number"],
            "file": ["resident_registry/x.csv", "my_number/y.csv"],
            "record_no": [5, 7],
            "field": ["birth_date", "my_number"],
            "reason_code": ["bad_date", "bad_check_digit"],
            "message": ["x.csv line 5: 生年月日 …", "y.csv line 7: 個人番号 (my_number) *********010 fails …"],
            "run_id": [RUN_ID, RUN_ID],
        }
    )


GOOD = [
    (c.Residents, residents),
    (c.Households, households),
    (c.WelfareStatus, welfare),
    (c.DisabilityStatus, disability),
    (c.VaultEntry, vault),
    (c.QuarantineRecord, quarantine),
]


@pytest.mark.parametrize(("model", "make"), GOOD, ids=[m.__name__ for m, _ in GOOD])
def test_good_sample_passes(model, make):
    model.validate(make(), lazy=True)


def fails(model: type[pa.DataFrameModel], df: pl.DataFrame) -> None:
    with pytest.raises((SchemaError, SchemaErrors)):
        model.validate(df, lazy=True)


BAD = {
    # Residents
    "residents: duplicate atena_no": (c.Residents, lambda: residents().with_columns(pl.lit("0000000001").alias("atena_no"))),
    "residents: sex 3": (c.Residents, lambda: residents().with_columns(pl.lit(3, pl.Int8).alias("sex"))),
    "residents: sex as Int64": (c.Residents, lambda: residents().with_columns(pl.col("sex").cast(pl.Int64))),
    "residents: atena_no 9 digits": (c.Residents, lambda: residents().with_columns(pl.lit("000000001").alias("atena_no"))),
    "residents: missing name": (c.Residents, lambda: residents().with_columns(pl.lit(None, pl.String).alias("name_kanji"))),
    "residents: status vs removal": (c.Residents, lambda: residents().with_columns(pl.lit("resident").alias("registry_status"))),
    "residents: removal date without reason": (
        c.Residents, lambda: residents().with_columns(pl.lit(None, pl.String).alias("removal_reason"),
                                                      pl.lit("resident").alias("registry_status"))),
    "residents: born after becoming resident": (
        c.Residents, lambda: residents().with_columns(pl.lit(date(2030, 1, 1)).alias("birth_date"))),
    "residents: extra column my_number": (c.Residents, lambda: residents().with_columns(pl.lit("123456789018").alias("my_number"))),
    "residents: column missing": (c.Residents, lambda: residents().drop("age_on_assessment_date")),
    "residents: resident without age": (
        c.Residents, lambda: residents().with_columns(pl.lit(None, pl.Int16).alias("age_on_assessment_date"))),
    # Households
    "households: duplicate household_no": (c.Households, lambda: households().with_columns(pl.lit("0000000101").alias("household_no"))),
    "households: resident > members": (
        c.Households, lambda: households().with_columns(pl.lit(5, pl.Int32).alias("resident_member_count"))),
    "households: ok without head": (c.Households, lambda: households().with_columns(pl.lit("ok").alias("head_status"))),
    # WelfareStatus
    "welfare: duplicate atena_no": (c.WelfareStatus, lambda: pl.concat([welfare(), welfare()])),
    "welfare: start date as string": (
        c.WelfareStatus, lambda: welfare().with_columns(pl.lit("20200401").alias("assistance_start_date"))),
    # DisabilityStatus
    "disability: special_by_grade wrong": (
        c.DisabilityStatus, lambda: disability().with_columns(pl.lit(False).alias("special_by_grade"))),
    "disability: special not the union": (
        c.DisabilityStatus, lambda: disability().with_columns(pl.lit(False).alias("special_disability"))),
    "disability: grade 7": (c.DisabilityStatus, lambda: disability().with_columns(pl.lit(7, pl.Int8).alias("physical_grade"))),
    "disability: no grade at all": (
        c.DisabilityStatus,
        lambda: disability().with_columns(pl.lit(None, pl.Int8).alias("physical_grade"), pl.lit(None, pl.Int8).alias("mental_grade"),
                                          pl.lit(False).alias("special_by_grade"), pl.lit(False).alias("special_disability"))),
    # VaultEntry
    "vault: bad check digit": (c.VaultEntry, lambda: vault().with_columns(pl.lit("123456789010").alias("my_number"))),
    "vault: never-issued zeros": (c.VaultEntry, lambda: vault().head(1).with_columns(pl.lit("000000000000").alias("my_number"))),
    "vault: one number, two people": (c.VaultEntry, lambda: vault().with_columns(pl.lit("123456789018").alias("my_number"))),
    "vault: 11 digits": (c.VaultEntry, lambda: vault().with_columns(pl.lit("12345678901").alias("my_number"))),
    "vault: number as integer": (c.VaultEntry, lambda: vault().with_columns(pl.col("my_number").cast(pl.Int64))),
    "vault: duplicate atena_no": (c.VaultEntry, lambda: vault().with_columns(pl.lit("0000000001").alias("atena_no"))),
    # QuarantineRecord
    "quarantine: my_number column": (c.QuarantineRecord, lambda: quarantine().with_columns(pl.lit("x").alias("my_number"))),
    "quarantine: My Number in a message": (
        c.QuarantineRecord, lambda: quarantine().with_columns(pl.lit("line 7: 個人番号 123456789018 is wrong").alias("message"))),
    "quarantine: unknown reason code": (c.QuarantineRecord, lambda: quarantine().with_columns(pl.lit("oops").alias("reason_code"))),
    "quarantine: header line as record": (c.QuarantineRecord, lambda: quarantine().with_columns(pl.lit(1, pl.Int64).alias("record_no"))),
    "quarantine: same record twice": (
        c.QuarantineRecord, lambda: quarantine().with_columns(pl.lit("my_number").alias("source"), pl.lit("f").alias("file"),
                                                              pl.lit(3, pl.Int64).alias("record_no"))),
    "quarantine: bad run id": (c.QuarantineRecord, lambda: quarantine().with_columns(pl.lit("yesterday").alias("run_id"))),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_known_bad_sample_fails(case):
    model, make = BAD[case]
    fails(model, make())


def test_lazy_validation_checks_only_the_schema():
    """Why the stage validates collected frames: a LazyFrame passes despite a duplicate key."""
    bad = vault().with_columns(pl.lit("0000000001").alias("atena_no"))
    c.VaultEntry.validate(bad.lazy())  # schema only: no error
    fails(c.VaultEntry, bad)


def test_layouts_match_the_binding_column_lists():
    assert c.load_layout("resident_registry").names == [
        "atena_no", "household_no", "relationship", "name_kanji", "name_kana", "alias_kanji", "alias_kana",
        "birth_date", "sex", "postal_code", "town_code", "address", "address_detail", "resident_type", "nationality",
        "became_resident_date", "removal_reason", "removal_date", "destination_municipality_code", "destination_address",
    ]
    assert c.load_layout("my_number").names == ["atena_no", "my_number"]
    assert c.load_layout("livelihood_assistance").names == ["atena_no", "case_no", "assistance_start_date"]
    assert c.load_layout("disability").names == ["atena_no", "certificate_type", "grade", "special"]
    for source in c.SOURCES:
        layout = c.load_layout(source)
        assert layout.source == source and all(f.label for f in layout.fields)
    assert c.load_layout("resident_registry").expected_file("131032", 2026) == "jumin_kiroku_131032_20260101.csv"
