"""The sample-ward generator: population realism, registry files and their planted defects, determinism.

Everything runs at N ≤ 5,000 residents so the module stays fast (a few seconds). Figures asserted as
"realism" are loose bands around the generator's own targets for Minato ward (see population.py).
"""

from __future__ import annotations

import csv
from datetime import date
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from contracts.identifiers import (
    corporate_number_is_valid,
    is_valid_local_government_code,
    is_valid_my_number,
    local_government_code_is_valid,
    my_number_is_valid,
)
from sample_ward import GENERATOR_VERSION, generate_ward
from sample_ward import registry_defects as rd
from sample_ward.model import SCHEMAS
from sample_ward.population import DATA_DIR, build_population
from sample_ward.registry import (
    DISABILITY_COLUMNS,
    LIVELIHOOD_ASSISTANCE_COLUMNS,
    MY_NUMBER_COLUMNS,
    RESIDENT_REGISTRY_COLUMNS,
    registry_paths,
    write_registry,
)

FISCAL_YEAR = 2026
WARD = "131032"
N = 2000
SEED = 424242


# --------------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pop():
    return build_population(5000, 7, FISCAL_YEAR)


@pytest.fixture(scope="module")
def wards(tmp_path_factory) -> dict[str, Path]:
    """Two wards with the same arguments and one with another seed."""
    root = tmp_path_factory.mktemp("wards")
    out = {}
    for name, seed in (("a", SEED), ("b", SEED), ("other", SEED + 1)):
        out[name] = root / name
        generate_ward(out[name], residents=N, seed=seed, fiscal_year=FISCAL_YEAR)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _residents(pop) -> pl.DataFrame:
    return pop.persons.filter(pl.col("registry_status") == "resident").with_columns(
        (FISCAL_YEAR - 1 - pl.col("birth_date").dt.year()).alias("age"))


# --------------------------------------------------------------------------------------------------
# Determinism and the output folder
# --------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_same_arguments_give_identical_bytes(wards):
    a, b = _files(wards["a"]), _files(wards["b"])
    assert sorted(a) == sorted(b)
    different = [name for name in a if a[name] != b[name]]
    assert different == []


def test_another_seed_gives_other_files(wards):
    a, other = _files(wards["a"]), _files(wards["other"])
    reg = "landing/" + registry_paths(WARD, FISCAL_YEAR)["resident_registry"]
    assert a[reg] != other[reg]
    assert a["truth/persons.parquet"] != other["truth/persons.parquet"]
    assert a["manifest.json"] != other["manifest.json"]


def test_population_is_deterministic():
    one, two = build_population(800, 3, FISCAL_YEAR), build_population(800, 3, FISCAL_YEAR)
    for name in SCHEMAS:
        assert getattr(one, name).equals(getattr(two, name)), name
    three = build_population(800, 4, FISCAL_YEAR)
    assert not one.persons.equals(three.persons)


def test_manifest_lists_every_file_with_hash_size_and_records(wards):
    root = wards["a"]
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["generator_version"] == GENERATOR_VERSION
    assert manifest["arguments"] == {"residents": N, "seed": SEED, "fiscal_year": FISCAL_YEAR, "municipality_code": WARD}
    listed = [f["path"] for f in manifest["files"]]
    on_disk = sorted(p for p in _files(root) if p != "manifest.json")
    assert listed == on_disk == sorted(listed)
    for entry in manifest["files"]:
        data = (root / entry["path"]).read_bytes()
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    by_path = {f["path"]: f for f in manifest["files"]}
    for source, rel in registry_paths(WARD, FISCAL_YEAR).items():
        data = (root / "landing" / rel).read_bytes()
        assert by_path["landing/" + rel]["records"] == data.count(b"\n") - 1, source
    persons = pl.read_parquet(root / "truth/persons.parquet")
    assert by_path["truth/persons.parquet"]["records"] == persons.height
    assert {"truth/persons.parquet", "truth/documents.parquet", "truth/defects.parquet"} <= set(by_path)


def test_existing_folder_is_replaced_and_no_temporaries_remain(tmp_path):
    out = tmp_path / "ward"
    out.mkdir()
    (out / "stale.txt").write_text("left over from an older ward")
    generate_ward(out, residents=300, seed=1, fiscal_year=FISCAL_YEAR)
    assert not (out / "stale.txt").exists()
    assert (out / "manifest.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ward"]


def test_interrupted_run_keeps_the_previous_ward(tmp_path, monkeypatch):
    out = tmp_path / "ward"
    generate_ward(out, residents=300, seed=1, fiscal_year=FISCAL_YEAR)
    before = _files(out)

    import sample_ward.documents as documents

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(documents, "write_documents", boom)
    with pytest.raises(RuntimeError, match="interrupted"):
        generate_ward(out, residents=300, seed=2, fiscal_year=FISCAL_YEAR)
    assert _files(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["ward"]


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="municipality_code"):
        generate_ward(tmp_path / "w", residents=10, seed=1, fiscal_year=FISCAL_YEAR, municipality_code="131033")
    with pytest.raises(ValueError, match="residents"):
        generate_ward(tmp_path / "w", residents=0, seed=1, fiscal_year=FISCAL_YEAR)


def test_truth_defects_hold_registry_and_document_defects(wards):
    defects = pl.read_parquet(wards["a"] / "truth/defects.parquet")
    assert defects.columns == ["source", "file", "record_no", "field", "category", "description"]
    assert set(rd.ALL_CATEGORIES) <= set(defects["category"].unique().to_list())
    assert defects.filter(~pl.col("source").is_in(list(rd.CATEGORY_SOURCE.values()))).height > 0


# --------------------------------------------------------------------------------------------------
# Population: schema, identity, realism
# --------------------------------------------------------------------------------------------------
def test_schema_is_the_binding_one(pop):
    pop.check()
    for name, schema in SCHEMAS.items():
        assert dict(getattr(pop, name).schema) == schema, name


def test_resident_count_is_exact_and_other_groups_exist(pop):
    counts = dict(pop.persons.group_by("registry_status").len().iter_rows())
    assert counts["resident"] == 5000
    assert 0.025 <= counts["moved_out"] / 5000 <= 0.06
    assert 0.004 <= counts["deceased"] / 5000 <= 0.015
    assert counts["not_registered"] >= 5
    assert counts["outsider"] >= 20


def test_registry_membership_is_consistent(pop):
    p = pop.persons
    in_reg = p["registry_status"].is_in(["resident", "moved_out", "deceased"])
    assert (p["in_registry"] == in_reg).all()
    # a 宛名番号 (and 世帯番号, 住民となった/居住開始年月日) for the registry and the 住登外 the ward confirmed
    confirmed = (p["registry_status"] == "not_registered") & p["atena_no"].is_not_null()
    assert (p["atena_no"].is_not_null() == (in_reg | confirmed)).all()
    assert (p["household_no"].is_not_null() == (in_reg | confirmed)).all()
    assert (p["became_resident_date"].is_not_null() == (in_reg | confirmed)).all()
    reg = p.filter(in_reg)
    assert reg["atena_no"].str.contains(r"^[0-9]{10}$").all() and reg["atena_no"].n_unique() == reg.height
    assert reg["household_no"].str.contains(r"^[0-9]{10}$").all()
    assert (reg["became_resident_date"] >= reg["birth_date"]).all()
    # 宛名番号 is not derived from the My Number.
    with_mn = reg.filter(pl.col("my_number").is_not_null())
    assert (with_mn["atena_no"] != with_mn["my_number"].str.slice(0, 10)).all()


def test_removed_people(pop):
    p = pop.persons
    y0, y1 = dt.date(FISCAL_YEAR - 1, 1, 1), dt.date(FISCAL_YEAR - 1, 12, 31)
    moved = p.filter(pl.col("registry_status") == "moved_out")
    assert (moved["removal_reason"] == "転出").all()
    assert moved["removal_date"].is_between(y0, y1).all()
    assert moved.select(local_government_code_is_valid("jan1_municipality_code")).to_series().all()
    assert (moved["jan1_municipality_code"] != WARD).all()
    assert moved["jan1_address"].is_not_null().all() and moved["ward_address"].is_not_null().all()
    assert (moved["became_resident_date"] < moved["removal_date"]).all()
    dead = p.filter(pl.col("registry_status") == "deceased")
    assert (dead["removal_reason"] == "死亡").all()
    assert dead["removal_date"].is_between(y0, y1).all()
    assert dead["jan1_municipality_code"].is_null().all()
    # About half of the deceased were the husband of a now-widowed resident.
    assert p.filter(pl.col("household_id").is_in(dead["household_id"].implode())
                    & (pl.col("registry_status") == "resident"))["widow"].any()


def test_not_registered_and_outsiders(pop):
    p = pop.persons
    nr = p.filter(pl.col("registry_status") == "not_registered")
    assert (~nr["in_registry"]).all()
    assert (nr["jan1_municipality_code"] == WARD).all() and nr["ward_address"].is_not_null().all()
    # two in three confirmed by the ward (person index not a multiple of 3): a 宛名番号 of the 09… range and
    # a 住民票 in another municipality; the others stay candidates without either
    confirmed = nr.filter(pl.col("person_id") % 3 != 0)
    candidates = nr.filter(pl.col("person_id") % 3 == 0)
    assert confirmed.height > 0 and candidates.height > 0
    assert confirmed["atena_no"].str.contains(r"^09[0-9]{8}$").all() and confirmed["atena_no"].is_unique().all()
    assert confirmed["household_no"].str.contains(r"^095[0-9]{7}$").all()
    assert (confirmed["registered_municipality_code"] != WARD).all()
    assert confirmed["registered_municipality_code"].map_elements(is_valid_local_government_code, return_dtype=pl.Boolean).all()
    assert confirmed["registered_address"].is_not_null().all()
    assert (confirmed["became_resident_date"] <= date(FISCAL_YEAR, 1, 1)).all()
    assert (confirmed["became_resident_date"] >= confirmed["birth_date"]).all()
    assert candidates["atena_no"].is_null().all() and candidates["registered_municipality_code"].is_null().all()
    assert p.filter(pl.col("registry_status") != "not_registered")["registered_municipality_code"].is_null().all()
    out = p.filter(pl.col("registry_status") == "outsider")
    assert out["atena_no"].is_null().all() and out["ward_address"].is_null().all()
    assert (out["jan1_municipality_code"] != WARD).all()
    # Some outsiders are dependants claimed by a resident (parents in another prefecture, students).
    claimed = pop.dependants.join(p.select("person_id", "registry_status"), left_on="dependant_person_id",
                                  right_on="person_id", how="inner", validate="m:1")
    assert claimed.filter((pl.col("registry_status") == "outsider") & ~pl.col("living_together")).height > 0


def test_age_pyramid_and_households(pop):
    r = _residents(pop)
    assert 0.10 <= (r["age"] < 15).mean() <= 0.17
    assert 0.13 <= (r["age"] >= 65).mean() <= 0.21
    assert ((r["age"] >= 25) & (r["age"] <= 55)).mean() >= 0.45
    sizes = r.group_by("household_id").len()["len"]
    assert 0.45 <= (sizes == 1).mean() <= 0.65
    assert sizes.max() >= 4
    relationships = set(r["relationship"].unique().to_list())
    assert {"世帯主", "妻", "子", "父", "母", "同居人"} <= relationships
    assert (r.group_by("household_id").agg((pl.col("relationship") == "世帯主").sum())["relationship"] == 1).all()


def test_foreign_residents_and_aliases(pop):
    r = _residents(pop)
    foreign = r.filter(pl.col("resident_type") == 2)
    assert 0.05 <= foreign.height / r.height <= 0.12
    assert foreign["nationality"].is_not_null().all()
    assert r.filter(pl.col("resident_type") == 1)["nationality"].is_null().all()
    assert foreign["alias_kanji"].is_not_null().sum() > 0
    assert r.filter(pl.col("resident_type") == 1)["alias_kanji"].is_null().all()


def test_names_and_kana(pop):
    p = pop.persons
    kana = re.compile(r"^[\u30A1-\u30FA\u30FC]+$")
    assert all(kana.match(k) for k in p["family_name_kana"].unique().to_list())
    assert all(kana.match(k) for k in p["given_name_kana"].unique().to_list())
    assert p["family_name_kanji"].is_not_null().all() and p["given_name_kanji"].is_not_null().all()

    def outside_jis_x0208(text: str) -> bool:
        try:
            text.encode("iso2022_jp")
            return False
        except UnicodeEncodeError:
            return True

    names = p["family_name_kanji"].unique().to_list() + p["given_name_kanji"].unique().to_list()
    assert any(outside_jis_x0208(name) for name in names)


def test_my_numbers(pop):
    numbers = pop.persons["my_number"]
    assert 1 <= numbers.null_count() <= 0.002 * numbers.len() + 2
    present = numbers.drop_nulls()
    assert present.n_unique() == present.len()
    assert pl.DataFrame({"n": present}).select(my_number_is_valid("n").all()).item()
    assert 0.05 <= present.str.starts_with("0").mean() <= 0.15


def test_addresses_and_towns(pop):
    towns = pl.read_csv(DATA_DIR / "minato_towns.csv", infer_schema=False)
    r = _residents(pop)
    assert r["ward_address"].str.starts_with("東京都港区").all()
    assert r["ward_address"].str.contains("(丁目.+番.+号|番地)$").all()
    assert r["ward_town_code"].str.contains(r"^[0-9]{7}$").all()
    assert r["ward_postal_code"].is_in(towns["postal_code"].implode()).all()
    assert r["ward_address_detail"].is_not_null().mean() > 0.5
    assert (r["jan1_address"] == r["ward_address"]).all()


def test_income_facts_are_consistent(pop):
    p, e = pop.persons, pop.employments
    money = [c for c, t in SCHEMAS["persons"].items() if t == pl.Int64() and c not in ("person_id", "household_id",
                                                                                         "spouse_person_id")]
    assert all(p[c].null_count() == 0 for c in money)
    assert (e["salary_revenue"] > 0).all() and (e["withholding_tax"] >= 0).all()
    assert e.filter(~pl.col("is_primary")).height > 0  # 従たる給与
    assert e.filter(pl.col("end_date").is_not_null()).height > 0 and e.filter(pl.col("start_date").is_not_null()).height > 0
    y0, y1 = dt.date(FISCAL_YEAR - 1, 1, 1), dt.date(FISCAL_YEAR - 1, 12, 31)
    assert e["start_date"].drop_nulls().is_between(y0, y1).all() and e["end_date"].drop_nulls().is_between(y0, y1).all()
    assert set(e["ordinary_collection_reason"].drop_nulls().unique().to_list()) <= {"普A", "普B", "普C", "普D", "普E", "普F"}
    assert (e["ordinary_collection"] == e["ordinary_collection_reason"].is_not_null()).all()
    salaried = p.filter(pl.col("income_profile") == "salaried")["person_id"]
    assert salaried.is_in(e["person_id"].implode()).mean() > 0.95
    children = _residents(pop).filter(pl.col("age") < 15)["person_id"]
    assert not children.is_in(e["person_id"].implode()).any()
    pens = pop.pensions
    assert (pens["payer_code"] == "999").mean() > 0.7 and pens["payer_code"].n_unique() >= 3
    assert pens["basic_pension_no"].str.contains(r"^[0-9]{10}$").all()
    old = _residents(pop).filter(pl.col("age") >= 65)["person_id"]
    assert old.is_in(pens["person_id"].implode()).mean() > 0.9
    assert p.filter(pl.col("income_profile") == "self_employed")["files_final_return"].all()
    assert p["files_resident_return"].any() and not (p["files_resident_return"] & p["files_final_return"]).any()
    assert p["working_student"].any() and p["single_parent"].any() and p["widow"].any()
    assert 0.005 <= _residents(pop)["livelihood_assistance"].mean() <= 0.03
    assert 0.02 <= _residents(pop)["disability_certificate"].is_not_null().mean() <= 0.06
    special = p.filter(pl.col("special_disability"))
    assert special.select(
        ((pl.col("disability_certificate") == "身体") & pl.col("disability_grade").is_in(["1", "2"]))
        | ((pl.col("disability_certificate") == "精神") & (pl.col("disability_grade") == "1"))
        | ((pl.col("disability_certificate") == "療育") & (pl.col("disability_grade") == "A"))).to_series().all()


def test_employers(pop):
    emp = pop.employers
    assert emp["employer_id"].to_list() == list(range(emp.height))
    assert set(pop.employments["employer_id"].unique().to_list()) == set(emp["employer_id"].to_list())
    assert emp["designation_no"].str.contains(r"^[0-9]{8,10}$").all() and emp["designation_no"].n_unique() == emp.height
    corp = emp.filter(pl.col("corporate_number").is_not_null())
    assert corp.select(corporate_number_is_valid("corporate_number").all()).item()
    assert emp["corporate_number"].null_count() > 0  # sole proprietors
    assert emp["address"].str.starts_with("東京都港区").mean() > 0.4


def test_dependants_and_donations(pop):
    d = pop.dependants
    assert set(d["kind"].unique().to_list()) == {"spouse", "dependant"}
    assert d.group_by("dependant_person_id").len().filter(pl.col("len") > 1).height > 0  # 扶養重複
    assert (d["taxpayer_person_id"] != d["dependant_person_id"]).all()
    g = pop.donations
    per_donor = g.group_by("person_id").len()["len"]
    assert per_donor.min() >= 1 and per_donor.max() <= 8
    assert g["amount"].is_between(5_000, 500_000).all()
    assert (g["recipient_municipality_code"] != WARD).all()
    assert g.select(local_government_code_is_valid("recipient_municipality_code").all()).item()
    assert 0.5 < g["one_stop"].mean() < 1.0
    income_people = pop.persons.filter(pl.col("income_profile").is_in(["salaried", "self_employed", "pensioner"])).height
    assert 0.04 <= g["person_id"].n_unique() / income_people <= 0.2


def test_data_tables():
    mun = pl.read_csv(DATA_DIR / "municipalities.csv", infer_schema=False)
    assert all(is_valid_local_government_code(c) for c in mun["municipality_code"].to_list())
    assert mun["municipality_code"].n_unique() == mun.height
    towns = pl.read_csv(DATA_DIR / "minato_towns.csv", infer_schema=False)
    assert towns["postal_code"].str.contains(r"^[0-9]{7}$").all()
    assert towns["town_id"].str.contains(r"^[0-9]{4}$").all()


# --------------------------------------------------------------------------------------------------
# Registry files and their planted defects
# --------------------------------------------------------------------------------------------------
HEADERS = {
    "resident_registry": RESIDENT_REGISTRY_COLUMNS,
    "my_number": MY_NUMBER_COLUMNS,
    "livelihood_assistance": LIVELIHOOD_ASSISTANCE_COLUMNS,
    "disability": DISABILITY_COLUMNS,
}


def _lines(path: Path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8")
    assert "\r" not in text and text.endswith("\n")
    return list(csv.reader(text[:-1].split("\n")))


def _real_date(value: str) -> bool:
    if not re.fullmatch(r"[0-9]{8}", value):
        return False
    try:
        dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        return True
    except ValueError:
        return False


def _malformed_registry_lines(rows: list[list[str]]) -> dict[int, str]:
    """Line number → category for every line of the 住民記録 file that breaks the format."""
    bad: dict[int, str] = {}
    previous = None
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(RESIDENT_REGISTRY_COLUMNS):
            bad[i] = rd.REGISTRY_WRONG_COLUMN_COUNT
        elif not re.fullmatch(r"[0-9]{10}", row[0]):
            bad[i] = rd.REGISTRY_NON_DIGIT_ATENA_NO
        elif row[0] == previous:
            bad[i] = rd.REGISTRY_DUPLICATE_ATENA_NO
        elif row[3] == "":
            bad[i] = rd.REGISTRY_MISSING_NAME
        elif row[8] not in ("1", "2"):
            bad[i] = rd.REGISTRY_BAD_SEX_CODE
        elif not _real_date(row[7]) or not _real_date(row[15]) or (row[17] and not _real_date(row[17])):
            bad[i] = rd.REGISTRY_BAD_DATE
        previous = row[0]
    return bad


def test_registry_files_have_the_documented_layout(wards):
    landing = wards["a"] / "landing"
    persons = pl.read_parquet(wards["a"] / "truth/persons.parquet")
    paths = registry_paths(WARD, FISCAL_YEAR)
    for source, header in HEADERS.items():
        rows = _lines(landing / paths[source])
        assert tuple(rows[0]) == header, source
    # the 住登外者 登録ファイル: its layout's header, one line per confirmed 住登外者, in 宛名番号 order
    from contracts.resident_snapshot import load_layout

    register = _lines(landing / paths["non_registered_register"])
    assert register[0] == load_layout("non_registered_register").names
    confirmed = persons.filter((pl.col("registry_status") == "not_registered") & pl.col("atena_no").is_not_null())
    assert [r[0] for r in register[1:]] == sorted(confirmed["atena_no"].to_list())
    reg = _lines(landing / registry_paths(WARD, FISCAL_YEAR)["resident_registry"])
    good = [r for r in reg[1:] if len(r) == len(RESIDENT_REGISTRY_COLUMNS) and re.fullmatch(r"[0-9]{10}", r[0])]
    numbers = [r[0] for r in good]
    assert numbers == sorted(numbers)
    registered = set(persons.filter(pl.col("in_registry"))["atena_no"].to_list())
    in_file = {r[0] for r in reg[1:]}
    corrupted = [r[0] for r in reg[1:] if not re.fullmatch(r"[0-9]{10}", r[0])]
    assert {x for x in in_file if re.fullmatch(r"[0-9]{10}", x)} <= registered
    assert len(registered - in_file) == len(corrupted)  # only rows whose 宛名番号 was broken are missing
    assert all("\u3000" in r[3] for r in good if r[3])
    moved = [r for r in good if r[16] == "転出"]
    assert moved and all(is_valid_local_government_code(r[18]) and r[19] for r in moved)
    assert all(r[18] == "" and r[19] == "" for r in good if r[16] != "転出")


@pytest.mark.parametrize("source", list(HEADERS))
def test_every_planted_defect_is_in_truth_and_really_malformed(wards, source):
    landing = wards["a"] / "landing"
    rel = registry_paths(WARD, FISCAL_YEAR)[source]
    rows = _lines(landing / rel)
    truth = pl.read_parquet(wards["a"] / "truth/defects.parquet").filter(pl.col("source") == source)
    assert (truth["file"] == rel).all()
    planted = dict(zip(truth["record_no"].to_list(), truth["category"].to_list(), strict=True))
    expected = {c for c, s in rd.CATEGORY_SOURCE.items() if s == source}
    assert set(planted.values()) == expected  # at least one of each category, even at N = 2000

    if source == "resident_registry":
        assert _malformed_registry_lines(rows) == planted
        for line, field in zip(truth["record_no"].to_list(), truth["field"].to_list(), strict=True):
            if field is not None:
                assert field in RESIDENT_REGISTRY_COLUMNS
        return
    registry = _lines(landing / registry_paths(WARD, FISCAL_YEAR)["resident_registry"])
    known = {r[0] for r in registry[1:]}
    if source == "my_number":
        found: dict[int, str] = {}
        first_line: dict[str, int] = {}
        for i, row in enumerate(rows[1:], start=2):
            if not is_valid_my_number(row[1]):
                found[i] = rd.MY_NUMBER_BAD_CHECK_DIGIT
            elif row[1] in first_line:
                found[i] = rd.MY_NUMBER_SHARED
            else:
                first_line[row[1]] = i
        assert found == planted
    else:
        found = {i: c for i, row in enumerate(rows[1:], start=2) if row[0] not in known for c in expected}
        assert found == planted


def test_planted_rows_belong_to_people_without_documents(pop, tmp_path):
    """Breaking a registry row must not change where any document goes: planted rows are taken from
    people with no salary, pension, donation, return or dependant claim."""
    result = write_registry(pop, tmp_path / "landing", seed=7)
    duplicates = result.defects.filter(pl.col("category") == rd.REGISTRY_DUPLICATE_ATENA_NO).height
    assert result.rows["resident_registry"] == pop.persons["in_registry"].sum() + duplicates
    busy = pl.concat([pop.employments["person_id"], pop.pensions["person_id"], pop.donations["person_id"],
                      pop.dependants["taxpayer_person_id"], pop.dependants["dependant_person_id"]]).implode()
    atena_of_busy = set(pop.persons.filter(pl.col("person_id").is_in(busy) | pl.col("files_final_return")
                                           | pl.col("files_resident_return"))["atena_no"].drop_nulls().to_list())
    for source in ("resident_registry", "my_number"):
        rows = _lines(tmp_path / "landing" / result.files[source])
        lines = result.defects.filter(pl.col("source") == source)["record_no"].to_list()
        numbers = [rows[i - 1][0] for i in lines]
        checked = [x for x in numbers if re.fullmatch(r"[0-9]{10}", x)]
        assert checked and not set(checked) & atena_of_busy, source


def test_registry_defect_share_is_small(pop, tmp_path):
    result = write_registry(pop, tmp_path / "landing", seed=7)
    total = sum(result.rows.values())
    assert result.defects.height <= 0.006 * total + 10
    assert result.defects["category"].n_unique() == len(rd.ALL_CATEGORIES)


def test_numbers_stay_strings_with_leading_zeros(wards):
    landing = wards["a"] / "landing"
    rows = _lines(landing / registry_paths(WARD, FISCAL_YEAR)["my_number"])
    assert any(r[1].startswith("0") and len(r[1]) == 12 for r in rows[1:])
    assert all(len(r[0]) == 10 for r in rows[1:])
    assert np.mean([r[1].startswith("0") for r in rows[1:]]) > 0.03
