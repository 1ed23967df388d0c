"""The national 団体コード table (contracts/local_government_codes.csv), the address → 団体コード mapper
(transforms/municipality_codes.py) and the 回送 destinations of returns_ingest."""

from __future__ import annotations

import csv
from pathlib import Path

import pandera.errors
import polars as pl
import pytest

from contracts.identifiers import local_government_code_check_digit
from contracts.local_government_codes import TABLE_FILE, LocalGovernmentCode, load_local_government_codes
from transforms.municipality_codes import (
    address_keys,
    document_municipality_code,
    municipality_code_from_address,
    place_key,
    taxing_municipality_code,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return load_local_government_codes()


def _code(table: pl.DataFrame, prefecture: str, municipality: str, county: str | None = None) -> str:
    rows = table.filter((pl.col("prefecture") == prefecture) & (pl.col("municipality") == municipality))
    if county is not None:
        rows = rows.filter(pl.col("county") == county)
    assert rows.height == 1, f"{prefecture}{municipality}: {rows.height} rows"
    return rows.item(0, "code")


# ------------------------------------------------------------------------------------------- table
def test_every_check_digit_is_valid_recomputed_row_by_row():
    with TABLE_FILE.open(encoding="utf-8", newline="") as handle:
        codes = [row["code"] for row in csv.DictReader(handle)]
    assert len(codes) > 1900
    wrong = [c for c in codes if len(c) != 6 or local_government_code_check_digit(c[:5]) != int(c[5])]
    assert wrong == []


def test_table_shape(table):
    kinds = dict(table.group_by("kind").len().iter_rows())
    # 令和6年1月1日: 47 都道府県, 1,747 市区町村 (incl. the 6 村 of the 北方領土), 20 政令指定都市 with 171 区
    assert kinds["prefecture"] == 47
    assert sum(kinds[k] for k in ("special_ward", "designated_city", "city", "town", "village")) == 1747
    assert kinds["designated_city"] == 20 and kinds["designated_city_ward"] == 171
    prefectures = table.filter(pl.col("kind") == "prefecture")
    assert prefectures.get_column("code").str.slice(0, 2).to_list() == [f"{n:02d}" for n in range(1, 48)]
    assert prefectures.get_column("prefecture").n_unique() == 47


def test_tokyo_special_wards_and_cities(table):
    tokyo = table.filter(pl.col("prefecture") == "東京都")
    wards = tokyo.filter(pl.col("kind") == "special_ward").get_column("code").str.slice(0, 5).sort().to_list()
    assert wards == [str(n) for n in range(13101, 13124)]  # 131016 千代田区 … 131237 江戸川区
    assert _code(table, "東京都", "港区") == "131032"
    assert tokyo.filter(pl.col("kind") == "city").height > 20
    assert tokyo.filter(pl.col("kind") == "designated_city_ward").height == 0


def test_designated_cities_and_their_wards_are_distinguishable(table):
    yokohama = table.filter(pl.col("code") == "141003").row(0, named=True)
    assert (yokohama["municipality"], yokohama["kind"]) == ("横浜市", "designated_city")
    tsurumi = table.filter(pl.col("code") == "141011").row(0, named=True)
    assert tsurumi["kind"] == "designated_city_ward" and tsurumi["designated_city_code"] == "141003"
    assert tsurumi["municipality"].startswith("横浜市")
    per_city = table.filter(pl.col("kind") == "designated_city_ward").group_by("designated_city_code").len()
    assert per_city.height == 20 and per_city.get_column("len").min() >= 2
    # 浜松市 after the 2024-01-01 reorganisation: 3 wards
    hamamatsu = _code(table, "静岡県", "浜松市")
    assert table.filter(pl.col("designated_city_code") == hamamatsu).get_column("municipality").sort().to_list() == [
        "浜松市中央区", "浜松市天竜区", "浜松市浜名区"]


def test_contract_rejects_a_wrong_check_digit(table):
    bad = table.with_columns(pl.when(pl.col("code") == "131032").then(pl.lit("131033")).otherwise(pl.col("code"))
                             .alias("code"))
    with pytest.raises(pandera.errors.SchemaErrors, match="check digit"):
        LocalGovernmentCode.validate(bad, lazy=True)


def test_contract_rejects_a_ward_without_its_city(table):
    bad = table.filter(pl.col("code") != "141003")
    with pytest.raises(pandera.errors.SchemaErrors, match="designated_city_code"):
        LocalGovernmentCode.validate(bad, lazy=True)


def test_served_municipalities_agree_with_the_national_table(table):
    served = pl.read_csv(ROOT / "contracts" / "municipalities.csv", schema_overrides={"code": pl.String})
    joined = served.join(table, on="code", how="left", validate="1:1")
    assert joined.filter((pl.col("prefecture") != pl.col("prefecture_right")) | (pl.col("name") != pl.col("municipality"))
                         | pl.col("prefecture_right").is_null()).height == 0


def test_generator_municipalities_are_official(table):
    """The generator's list was written from memory: every code must be the official one for its name."""
    generator = pl.read_csv(ROOT / "sample_ward" / "data" / "municipalities.csv",
                            schema_overrides={"municipality_code": pl.String}).filter(pl.col("kind") != "prefecture")
    joined = generator.join(table, left_on="municipality_code", right_on="code", how="left", validate="1:1")
    wrong = joined.filter((pl.col("prefecture") != pl.col("prefecture_right")) | (pl.col("name") != pl.col("municipality"))
                          | pl.col("municipality").is_null())
    assert wrong.select("municipality_code", "prefecture", "name").rows() == []


# ------------------------------------------------------------------------------------------ mapper
def _tiny() -> pl.DataFrame:
    """A hand-made table with the hard cases (codes as in the national table)."""
    rows = [
        ("130001", "東京都", None, None, "prefecture", None),
        ("131024", "東京都", None, "中央区", "special_ward", None),
        ("132063", "東京都", None, "府中市", "city", None),
        ("342084", "広島県", None, "府中市", "city", None),
        ("343021", "広島県", "安芸郡", "府中町", "town", None),
        ("012335", "北海道", None, "伊達市", "city", None),
        ("072133", "福島県", None, "伊達市", "city", None),
        ("014036", "北海道", "古宇郡", "泊村", "village", None),
        ("016969", "北海道", None, "泊村", "village", None),
        ("011002", "北海道", None, "札幌市", "designated_city", None),
        ("011011", "北海道", None, "札幌市中央区", "designated_city_ward", "011002"),
        ("141003", "神奈川県", None, "横浜市", "designated_city", None),
        ("141011", "神奈川県", None, "横浜市鶴見区", "designated_city_ward", "141003"),
        ("033812", "岩手県", "胆沢郡", "金ケ崎町", "town", None),
    ]
    return pl.DataFrame(rows, schema=["code", "prefecture", "county", "municipality", "kind", "designated_city_code"],
                        orient="row")


def _map(addresses: list[str | None], table: pl.DataFrame) -> list[str | None]:
    frame = pl.DataFrame({"address": addresses}, schema={"address": pl.String})
    return municipality_code_from_address(frame, "address", address_keys(table)).get_column(
        "address_municipality_code").to_list()


@pytest.mark.parametrize(("address", "expected"), [
    ("東京都府中市宮西町２丁目２４番地", "132063"),
    ("広島県府中市府川町３１５", "342084"),
    ("府中市宮西町2-24", None),                    # 東京都 or 広島県: ambiguous without the prefecture
    ("北海道伊達市鹿島町20-1", "012335"),
    ("福島県伊達市保原町", "072133"),
    ("伊達市保原町", None),
    ("神奈川県横浜市鶴見区鶴見中央3-20-1", "141011"),   # the ward when the address names it
    ("神奈川県横浜市みなとみらい1-1", "141003"),        # else the designated city
    ("横浜市鶴見区鶴見中央", "141011"),               # no prefecture, unique name
    ("鶴見区鶴見中央", None),                         # a bare ward name never maps
    ("東京都中央区銀座1-1", "131024"),
    ("中央区銀座1-1", None),                          # 東京都中央区 or 札幌市中央区
    ("北海道古宇郡泊村大字茅沼", "014036"),
    ("北海道泊村", None),                             # two 泊村 in 北海道
    ("安芸郡府中町大通", "343021"),
    ("府中町大通", "343021"),                          # unique town name without prefecture
    ("岩手県金ヶ崎町西根", "033812"),                  # ヶ = ケ
    ("ﾄｳｷｮｳﾄ", None),
    ("株式会社テスト　東京都府中市", None),             # text after U+3000 is 方書, never read
    ("", None),
    (None, None),
])
def test_address_to_code(address, expected):
    assert _map([address], _tiny()) == [expected]


def test_mapper_keeps_rows_and_order_with_repeated_addresses():
    addresses = ["東京都府中市1", None, "広島県府中市1", "東京都府中市1", "garbage"]
    assert _map(addresses, _tiny()) == ["132063", None, "342084", "132063", None]


def test_address_keys_mark_ambiguity_instead_of_choosing():
    keys = address_keys(_tiny())
    assert keys.get_column("key").is_unique().all()
    codes = dict(keys.select("key", "code").iter_rows())
    assert codes["府中市"] is None and codes["東京都府中市"] == "132063" and codes["北海道泊村"] is None


def test_place_key_folds_width_and_ke():
    out = pl.select(place_key(pl.lit("岩手県 金ヶ崎町１－２\u3000ビル"))).item()
    assert out == "岩手県金ケ崎町1-2"


def test_real_table_maps_the_duplicate_names(table):
    got = _map(["東京都府中市宮西町", "広島県府中市府川町", "北海道伊達市", "福島県伊達市", "府中市", "大阪府大阪市北区梅田"],
               table)
    assert got[:4] == [_code(table, "東京都", "府中市"), _code(table, "広島県", "府中市"),
                       _code(table, "北海道", "伊達市"), _code(table, "福島県", "伊達市")]
    assert got[4] is None
    assert got[5] == _code(table, "大阪府", "大阪市北区")


def test_document_code_five_or_six_digits(table):
    values = pl.Series(["14100", "141003", "141004", "140007", "99999", " 13103 ", "", None, "1410031"])
    got = pl.select(document_municipality_code(pl.lit(values), table)).to_series().to_list()
    assert got == ["141003", "141003", None, None, None, "131032", None, None, None]


def test_taxing_municipality_is_the_city_of_a_ward(table):
    got = pl.select(taxing_municipality_code(pl.lit(pl.Series(["141011", "141003", "131032", None])), table))
    assert got.to_series().to_list() == ["141003", "141003", "131032", None]


# ------------------------------------------------------------------------------- 回送 destinations
def test_forwarding_destination_precedence():
    from pipelines.returns_ingest import _forwarding_destinations

    routes = pl.DataFrame({
        "doc_uid": ["a", "b", "c", "d", "e", "f", "g"],
        "route": ["forward", "forward", "forward", "forward", "forward", "stage", "forward"],
        "address": ["東京都府中市1", "東京都府中市1", "東京都府中市1", "府中市1", "神奈川県横浜市鶴見区1",
                    "東京都府中市1", "東京都港区芝1"],
        "destination_municipality_code": ["141003", None, None, None, None, None, None],  # registry 転出先
    })
    etax = pl.DataFrame({"doc_uid": ["b", "c", "g"], "jan1_address_code": ["34208", "13103", "13103"]})
    out = _forwarding_destinations(routes, etax, "131032").sort("doc_uid")
    assert out.get_column("destination_municipality_code").to_list() == [
        "141003", "342084", "132063", None, "141003", None, None]
    assert out.get_column("destination_basis").to_list() == [
        "registry", "etax_jan1_code", "address", None, "address", None, None]


def test_forwarding_contract_needs_basis_with_destination():
    from contracts.returns_ingest import Forwarding

    row = {"destination_municipality_code": "132063", "destination_basis": "address", "source": "salary_report",
           "file": "f.csv", "record_no": 1, "doc_uid": "f.csv#1", "reason": "address_outside_ward",
           "atena_no": None, "is_current": True}
    schema = {"atena_no": pl.String}
    assert Forwarding.validate(pl.DataFrame([row], schema_overrides=schema)).height == 1
    for change in ({"destination_basis": None}, {"destination_municipality_code": None},
                   {"destination_municipality_code": "132064"}, {"destination_basis": "guess"}):
        bad = pl.DataFrame([{**row, **change}], schema_overrides={**schema, "destination_basis": pl.String,
                                                                 "destination_municipality_code": pl.String})
        with pytest.raises((pandera.errors.SchemaError, pandera.errors.SchemaErrors)):
            Forwarding.validate(bad, lazy=True)


@pytest.mark.slow
def test_sample_ward_forwarding_has_every_destination(tmp_path, monkeypatch):
    """A generated ward through resident_snapshot and returns_ingest (no Airflow): every forwarded
    document gets the destination the generator's truth knows, and its basis."""
    import shutil

    from sample_ward import generate_ward
    from pipelines.config import Settings
    from pipelines.resident_snapshot import run as snapshot
    from pipelines.returns_ingest import run as ingest

    ward = tmp_path / "ward"
    generate_ward(ward, residents=1500, seed=7, fiscal_year=2026)
    lake = tmp_path / "lake"
    shutil.copytree(ward / "landing", lake / "landing")
    monkeypatch.setenv("JUMINZEI_LAKE", str(lake))
    monkeypatch.setenv("JUMINZEI_VAULT_KEY_FILE", str(tmp_path / "vault.key"))
    settings = Settings.from_env()
    snapshot(fiscal_year=2026, settings=settings)
    report = ingest(fiscal_year=2026, settings=settings)

    folder = lake / "curated" / "forwarding" / "municipality=131032" / "fiscal_year=2026"
    forwarded = pl.read_parquet(sorted(folder.glob("*.parquet")))
    assert forwarded.height > 0 and report["counts"]["forwarded_destination_unknown"] == 0
    assert forwarded.get_column("destination_basis").is_in(["registry", "address"]).all()
    assert report["counts"]["forwarded_destination_address"] > 0
    truth = pl.read_parquet(ward / "truth" / "documents.parquet")
    joined = forwarded.join(truth, on=["source", "file", "record_no"], how="left", validate="1:1", suffix="_truth")
    assert joined.get_column("destination_municipality_code_truth").null_count() == 0
    assert (joined.get_column("destination_municipality_code")
            == joined.get_column("destination_municipality_code_truth")).all()
    # the CSV layouts' own 提出先 field is kept in staging under its own name
    staged = pl.read_parquet(sorted((lake / "staging" / "salary_reports").rglob("*.parquet")))
    assert "destination_municipality_code" in staged.columns and not any(c.endswith("_right") for c in staged.columns)
