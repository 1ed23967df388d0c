"""The return-ingest documents in their wire formats (sample_ward.documents) and their truth."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from pathlib import Path

import polars as pl
import pytest
from lxml import etree

from sample_ward import defects as D
from sample_ward.documents import DEFECT_SCHEMA, DOCUMENT_SCHEMA, SOURCES, write_documents
from sample_ward.wire_layouts import DOCS_DIR, FORMATS, field_ids, field_position, load_layout, render_markdown
from sample_ward.wire_text import my_number_is_valid
from tests.unit.conftest_documents import build_fixture_population

SEED = 20260101
FISCAL_YEAR = 2026
NS = "http://xml.e-tax.nta.go.jp/XSD/shotoku"
GEN = "http://xml.e-tax.nta.go.jp/XSD/general"
SAFE = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
LEGAL_ERA = [(dt.date(2019, 5, 1), "5", 2019), (dt.date(1989, 1, 8), "4", 1989), (dt.date(1926, 12, 25), "1", 1926),
             (dt.date(1912, 7, 30), "2", 1912), (dt.date(1868, 10, 23), "3", 1868)]
ETAX_ERA = {"5": "5", "4": "4", "1": "3", "2": "2", "3": "1"}  # 法定調書 code -> e-Tax code


@pytest.fixture(scope="module")
def ward(tmp_path_factory):
    pop = build_fixture_population(2000, seed=11, fiscal_year=FISCAL_YEAR)
    landing = tmp_path_factory.mktemp("ward") / "landing"
    result = write_documents(pop, landing, seed=SEED)
    return pop, landing, result


def _lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\r\n"), f"{path.name}: last line must end with CRLF"
    return data[:-2].split(b"\r\n")


def _fields(raw: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(raw.decode("cp932"))))


def _record(landing: Path, file: str, record_no: int) -> list[str]:
    return _fields(_lines(landing / file)[record_no - 1])


def _legal_era(birth: dt.date) -> tuple[str, str]:
    for start, code, base in LEGAL_ERA:
        if birth >= start:
            return code, f"{birth.year - base + 1:02d}"
    raise AssertionError(birth)


def _clean(docs: pl.DataFrame, source: str) -> pl.DataFrame:
    return docs.filter((pl.col("source") == source) & pl.col("defect").is_null())


# --------------------------------------------------------------------------------------------------
def test_truth_frames_have_the_documented_schema_and_order(ward):
    _, _, result = ward
    assert dict(result.documents.schema) == DOCUMENT_SCHEMA
    assert dict(result.defects.schema) == DEFECT_SCHEMA
    assert result.documents.equals(result.documents.sort("source", "file", "record_no"))
    assert set(result.documents.get_column("source").unique()) == set(SOURCES)
    assert result.documents.select(pl.struct("file", "record_no").is_unique().all()).item()
    assert set(result.documents.get_column("expected_route").unique()) <= set(D.ROUTES)
    assert set(result.documents.get_column("submission_type").unique()) <= {"新規", "追加", "訂正", "取消"}


def test_every_file_has_its_truth_rows_one_per_line(ward):
    _, landing, result = ward
    on_disk = {str(p.relative_to(landing)) for p in landing.rglob("*") if p.is_file()}
    assert on_disk == set(result.documents.get_column("file").unique())
    for (file,), rows in result.documents.group_by("file"):
        numbers = sorted(rows.get_column("record_no").to_list())
        if file.endswith(".xtx"):
            assert numbers == [1]
        else:
            assert numbers == list(range(1, len(_lines(landing / file)) + 1)), file


def test_file_names_carry_the_received_date_and_follow_the_sample_ward_tree(ward):
    _, _, result = ward
    patterns = {
        "salary_report": r"\d{8}_kyuyo_\w+_\d{3}\.csv",
        "salary_summary": r"\d{8}_soukatsu_\w+_\d{3}\.csv",
        "pension_report": r"\d{8}_nenkin_\w+_\d{3}\.csv",
        "etax_return": r"\d{8}_etax_\d{7}\.xtx",
        "resident_return": r"\d{8}_juminzei_shinkoku_\d{5}\.csv",
        "furusato_notice": r"\d{8}_tokurei_\d{5}\.csv",
    }
    files = result.documents.select("source", "file", "received_date").unique()
    for source, file, received in files.iter_rows():
        folder, name = file.rsplit("/", 1)
        assert folder == f"{source}/municipality=131032/fiscal_year={FISCAL_YEAR}"
        assert re.fullmatch(patterns[source], name), file
        assert name[:8] == f"{received:%Y%m%d}"
        assert dt.date(FISCAL_YEAR, 1, 1) <= received <= dt.date(FISCAL_YEAR, 4, 30)
    salary = files.filter(pl.col("source") == "salary_report")
    assert salary.select(pl.col("received_date").dt.month().is_in([1, 2]).mean()).item() > 0.8
    summaries = set(files.filter(pl.col("source") == "salary_summary").get_column("file"))
    for detail in salary.get_column("file"):  # each 明細 file has its 総括表 with the same date and seq
        assert detail.replace("salary_report/", "salary_summary/").replace("_kyuyo_", "_soukatsu_") in summaries


def test_csv_files_are_cp932_without_header_and_have_the_layout_field_counts(ward):
    _, landing, result = ward
    first_field = {"salary_report": "315", "pension_report": "331"}
    csv_docs = result.documents.filter(~pl.col("file").str.ends_with(".xtx"))
    for (file, source), rows in csv_docs.group_by("file", "source"):
        lines = _lines(landing / file)
        expected = load_layout(source)["wire"]["field_count"]
        for record_no, defect in rows.select("record_no", "defect").iter_rows():
            raw = lines[record_no - 1]
            if defect == D.INVALID_CP932_BYTES:
                with pytest.raises(UnicodeDecodeError):
                    raw.decode("cp932")
                continue
            values = _fields(raw)
            if defect == D.WRONG_FIELD_COUNT:
                assert len(values) != expected
            elif defect != D.TRUNCATED_LINE:
                assert len(values) == expected, (file, record_no, defect)
                if source in first_field:
                    assert values[0] == first_field[source]


def test_every_defect_category_is_planted_and_routed(ward):
    _, _, result = ward
    assert set(D.ALL_CATEGORIES) <= set(result.defects.get_column("category").unique())
    docs = result.documents
    malformed = docs.filter(pl.col("defect").is_in(list(D.MALFORMED + D.HOSTILE_XML)))
    assert (malformed.get_column("expected_route") == D.ROUTE_QUARANTINE).all()
    assert (docs.filter(pl.col("expected_route") == D.ROUTE_QUARANTINE).get_column("defect").is_in(list(D.MALFORMED + D.HOSTILE_XML))).all()
    duplicates = docs.filter(pl.col("expected_route") == D.ROUTE_DUPLICATE_FILE)
    assert (duplicates.get_column("defect") == D.DUPLICATE_FILE).all()
    # every planted record defect is also a row of defects.parquet
    keyed = docs.filter(pl.col("defect").is_not_null() & (pl.col("defect") != D.DUPLICATE_FILE)).select("file", "record_no", "defect")
    listed = result.defects.select("file", "record_no", pl.col("category").alias("defect"))
    assert keyed.join(listed, on=["file", "record_no", "defect"], how="anti").height == 0


def test_duplicate_files_are_byte_identical_copies_of_an_earlier_file(ward):
    _, landing, result = ward
    docs = result.documents
    digest = {str(p.relative_to(landing)): hashlib.sha256(p.read_bytes()).hexdigest() for p in landing.rglob("*") if p.is_file()}
    copies = docs.filter(pl.col("expected_route") == D.ROUTE_DUPLICATE_FILE).select("source", "file", "received_date").unique()
    assert set(copies.get_column("source")) >= {"salary_report", "salary_summary", "pension_report", "etax_return",
                                                 "resident_return", "furusato_notice"}
    originals = docs.filter(pl.col("expected_route") != D.ROUTE_DUPLICATE_FILE).select("file", "received_date").unique()
    by_hash = {}
    for file, received in originals.iter_rows():
        by_hash.setdefault(digest[file], []).append(received)
    for _, file, received in copies.iter_rows():
        assert file in digest and digest[file] in by_hash, file
        assert min(by_hash[digest[file]]) < received


def test_routes_follow_the_person(ward):
    pop, _, result = ward
    docs = result.documents.filter(pl.col("person_id").is_not_null()).join(
        pop.persons.select("person_id", "atena_no", "registry_status", "jan1_municipality_code"), on="person_id", how="left"
    )
    assert (docs.get_column("true_atena_no").eq_missing(docs.get_column("atena_no"))).all()
    forward = docs.filter(pl.col("expected_route") == D.ROUTE_FORWARD)
    assert forward.height > 0
    assert (forward.get_column("destination_municipality_code") == forward.get_column("jan1_municipality_code")).all()
    assert (forward.get_column("destination_municipality_code") != "131032").all()
    non_registered = docs.filter(pl.col("expected_route") == D.ROUTE_NON_REGISTERED)
    assert non_registered.height > 0
    assert (non_registered.get_column("registry_status") == "not_registered").all()
    assert non_registered.get_column("true_atena_no").is_null().all()
    stage = docs.filter(pl.col("expected_route") == D.ROUTE_STAGE)
    assert stage.get_column("registry_status").is_in(["resident", "deceased"]).all()
    assert stage.get_column("destination_municipality_code").is_null().all()


def test_salary_records_carry_identity_era_codes_and_half_width_kana(ward):
    pop, landing, result = ward
    persons = {r["person_id"]: r for r in pop.persons.iter_rows(named=True)}
    col = {name: field_position("salary_report", name) - 1 for name in field_ids("salary_report")}
    rows = _clean(result.documents, "salary_report").head(300)
    assert rows.height > 100
    for file, record_no, person_id in rows.select("file", "record_no", "person_id").iter_rows():
        values = _record(landing, file, record_no)
        person = persons[person_id]
        era, yy = _legal_era(person["birth_date"])
        assert (values[col["birth_era"]], values[col["birth_year"]]) == (era, yy)
        assert values[col["birth_month"]] == f"{person['birth_date'].month:02d}"
        assert values[col["birth_day"]] == f"{person['birth_date'].day:02d}"
        assert values[col["recipient_name"]] == f"{person['family_name_kanji']}\u3000{person['given_name_kanji']}"
        assert re.fullmatch(r"[\uff66-\uff9f ]+", values[col["recipient_kana"]]), values[col["recipient_kana"]]
        assert values[col["recipient_my_number"]] in ("", person["my_number"] or "")
        assert values[col["income_year"]] == f"{FISCAL_YEAR - 1 - 2018:02d}"
        assert values[col["destination_municipality_code"]] == "131032"
        assert values[col["payment_amount"]].isdigit()


def test_year_end_adjustment_secondary_and_leaver_records(ward):
    pop, landing, result = ward
    col = {name: field_position("salary_report", name) - 1 for name in field_ids("salary_report")}
    jobs = pop.employments.with_columns(
        pl.concat_str([pl.col("employer_id").cast(pl.String)]).alias("_e")
    ).join(pop.employers.select("employer_id", "designation_no"), on="employer_id")
    keyed = jobs.select(pl.concat_str(["designation_no", pl.lit(":"), "employee_no"]).alias("doc_key"), "is_primary", "end_date",
                        "start_date", "ordinary_collection")
    rows = _clean(result.documents, "salary_report").filter(pl.col("submission_type") == "新規").join(keyed, on="doc_key")
    seen = {"secondary": 0, "leaver": 0, "yea": 0}
    for file, record_no, primary, end, start, ordinary in rows.select(
        "file", "record_no", "is_primary", "end_date", "start_date", "ordinary_collection"
    ).iter_rows():
        values = _record(landing, file, record_no)
        if not primary:
            seen["secondary"] += 1
            assert values[col["otsu_column"]] == "1" and values[col["total_income_deductions"]] == ""
        if end is not None:
            seen["leaver"] += 1
            assert values[col["job_change_type"]] == "2" and values[col["ordinary_collection"]] == "1"
            assert values[col["job_change_month"]] == f"{end.month:02d}"
        elif primary:
            seen["yea"] += 1
            assert values[col["total_income_deductions"]].isdigit() and values[col["salary_income"]].isdigit()
            assert values[col["basic_deduction"]].isdigit()
            if start is not None:
                assert values[col["job_change_type"]] == "1"
        if ordinary:
            assert values[col["ordinary_collection"]] == "1"
    assert min(seen.values()) > 0, seen


def test_salary_summary_counts_match_the_detail_file(ward):
    _, landing, result = ward
    col = {name: field_position("salary_summary", name) - 1 for name in field_ids("salary_summary")}
    sal = {name: field_position("salary_report", name) - 1 for name in field_ids("salary_report")}
    summaries = _clean(result.documents, "salary_summary")
    assert summaries.height > 10
    for (file,) in summaries.select("file").iter_rows():
        values = _record(landing, file, 1)
        detail = file.replace("salary_summary/", "salary_report/").replace("_soukatsu_", "_kyuyo_")
        lines = _lines(landing / detail)
        total = int(values[col["reported_total"]])
        parts = [int(values[col[k]]) for k in ("reported_special", "reported_ordinary_retired", "reported_ordinary_other")]
        assert total == len(lines) == sum(parts)
        assert int(values[col["recipients_total"]]) >= total
        split = [raw.split(b",") for raw in lines]
        if all(len(values) == 147 for values in split):  # no truncated / wrong-count / quoted record
            assert parts[1] + parts[2] == sum(values[sal["ordinary_collection"]] == b"1" for values in split)


def test_corrections_cancellations_and_additions_are_later_files(ward):
    _, landing, result = ward
    for source in ("salary_report", "pension_report"):
        docs = result.documents.filter(pl.col("source") == source)
        sub_col = field_position(source, "submission_type") - 1
        for label, code in (("追加", "1"), ("訂正", "2"), ("取消", "3")):
            later = docs.filter(pl.col("submission_type") == label)
            assert later.height > 0, (source, label)
            for file, record_no in later.select("file", "record_no").head(5).iter_rows():
                assert _record(landing, file, record_no)[sub_col] == code
        for label, mark in (("訂正", D.SUPERSEDED_BY_CORRECTION), ("取消", D.CANCELLED_LATER)):
            later = docs.filter(pl.col("submission_type") == label).select("doc_key", pl.col("received_date").alias("later"))
            earlier = docs.filter(pl.col("defect") == mark).select("doc_key", "received_date")
            paired = later.join(earlier, on="doc_key", how="inner")
            assert paired.height == later.height == earlier.height, (source, label)
            assert (paired.get_column("received_date") < paired.get_column("later")).all()


def test_my_number_cases(ward):
    pop, landing, result = ward
    residents = pop.persons.filter(pl.col("registry_status") == "resident").select("person_id", "my_number")
    owner = dict(residents.drop_nulls().select("my_number", "person_id").iter_rows())
    for source, field in (("salary_report", "recipient_my_number"), ("pension_report", "recipient_my_number"),
                          ("resident_return", "my_number"), ("furusato_notice", "my_number")):
        position = field_position(source, field) - 1
        docs = result.documents.filter(pl.col("source") == source)
        for category in (D.MY_NUMBER_OF_OTHER_PERSON, D.BAD_MY_NUMBER_CHECK_DIGIT, D.MY_NUMBER_MISSING):
            rows = docs.filter(pl.col("defect") == category)
            assert rows.height > 0, (source, category)
            for file, record_no, person_id in rows.select("file", "record_no", "person_id").iter_rows():
                number = _record(landing, file, record_no)[position]
                if category == D.MY_NUMBER_MISSING:
                    assert number == ""
                elif category == D.BAD_MY_NUMBER_CHECK_DIGIT:
                    assert len(number) == 12 and not my_number_is_valid([number])[0]
                else:
                    assert my_number_is_valid([number])[0] and owner[number] != person_id


def test_planted_text_cases_are_visible_in_the_files(ward):
    _, landing, result = ward
    docs = result.documents
    name_col = field_position("salary_report", "recipient_name") - 1
    kana_col = field_position("salary_report", "recipient_kana") - 1
    amount_col = field_position("salary_report", "payment_amount") - 1
    salary = docs.filter(pl.col("source") == "salary_report")
    for file, record_no in salary.filter(pl.col("defect") == D.FULLWIDTH_DIGITS).select("file", "record_no").iter_rows():
        assert re.fullmatch("[０-９]+", _record(landing, file, record_no)[amount_col])
    for file, record_no in salary.filter(pl.col("defect") == D.NON_NUMERIC_AMOUNT).select("file", "record_no").iter_rows():
        assert not _record(landing, file, record_no)[amount_col].isdigit()
    for file, record_no in salary.filter(pl.col("defect") == D.KANA_VARIANT).select("file", "record_no").iter_rows():
        assert _record(landing, file, record_no)[kana_col] != ""
    geta = 0
    for file, record_no in docs.filter(pl.col("defect") == D.NON_JIS_CHAR_SUBSTITUTED).select("file", "record_no").iter_rows():
        text = _lines(landing / file)[record_no - 1].decode("cp932")
        geta += "〓" in text
    assert geta > 0
    ext = docs.filter(pl.col("defect") == D.CP932_EXTENSION_CHAR).select("file", "record_no").row(0)
    assert re.search("[髙﨑德濵]", _lines(landing / ext[0])[ext[1] - 1].decode("cp932"))
    over = salary.filter(pl.col("defect") == D.OVER_WIDTH_FIELD).select("file", "record_no").row(0)
    assert len(_record(landing, *over)[field_position("salary_report", "employee_no") - 1]) > 25
    empty = salary.filter(pl.col("defect") == D.EMPTY_MANDATORY_FIELD).select("file", "record_no").row(0)
    assert _record(landing, *empty)[name_col] == ""


def test_etax_returns_are_well_formed_e_tax_xml(ward):
    pop, landing, result = ward
    persons = {r["person_id"]: r for r in pop.persons.iter_rows(named=True)}
    salary = dict(pop.employments.group_by("person_id").agg(pl.col("salary_revenue").sum()).iter_rows())
    parser = etree.XMLParser(**SAFE)
    returns = result.documents.filter(pl.col("source") == "etax_return")
    for file, defect, person_id, route in returns.select("file", "defect", "person_id", "expected_route").iter_rows():
        data = (landing / file).read_bytes()
        if defect in D.HOSTILE_XML:
            assert b"<!DOCTYPE" in data and person_id is None
            continue
        if defect == D.MALFORMED_XML:
            with pytest.raises(etree.XMLSyntaxError):
                etree.fromstring(data, parser)
            continue
        root = etree.fromstring(data, parser)
        if defect == D.WRONG_NAMESPACE:
            assert etree.QName(root).namespace != NS
            continue
        assert etree.QName(root).namespace == NS and root.tag == f"{{{NS}}}DATA"
        it = root.find(f"{{{NS}}}RKO0010/{{{NS}}}CONTENTS/{{{NS}}}IT")
        name = it.find(f"{{{NS}}}NOZEISHA_NM")
        if defect == D.MISSING_REQUIRED_ELEMENT:
            assert name is None
            continue
        person = persons[person_id]
        if defect is None:
            assert name.text == f"{person['family_name_kanji']}\u3000{person['given_name_kanji']}"  # real character kept
            era = it.find(f"{{{NS}}}BIRTHDAY/{{{GEN}}}era").text
            assert era == ETAX_ERA[_legal_era(person["birth_date"])[0]]
            assert it.find(f"{{{NS}}}NOZEISHA_BANGO/{{{GEN}}}kojinbango").text == person["my_number"]
        assert it.find(f"{{{NS}}}ICHIGATSUIPPI_ADR_CODE").text == "13103"
        assert it.find(f"{{{NS}}}ICHIGATSUIPPI_ADR").text is not None
        koa = root.find(f"{{{NS}}}RKO0010/{{{NS}}}CONTENTS/{{{NS}}}KOA020/{{{NS}}}KOA020-1/{{{NS}}}ABB00000")
        revenue = koa.find(f"{{{NS}}}ABB00010/{{{NS}}}ABB00080")
        assert int(revenue.text if revenue is not None else 0) == salary.get(person_id, 0)
        assert koa.find(f"{{{NS}}}ABB00270/{{{NS}}}ABB00410") is not None
        if route == D.ROUTE_FORWARD:
            assert it.find(f"{{{NS}}}NOZEISHA_ADR").text == person["jan1_address"]


def test_furusato_notices_of_filers_are_marked_void_in_truth(ward):
    pop, landing, result = ward
    notices = result.documents.filter(pl.col("source") == "furusato_notice").join(
        pop.persons.select("person_id", "files_final_return", "files_resident_return"), on="person_id", how="left"
    )
    filers = notices.filter(pl.col("files_final_return") | pl.col("files_resident_return"))
    assert filers.height > 0
    assert filers.filter(pl.col("defect").is_null()).height == 0
    per_donor = notices.filter(pl.col("expected_route") != D.ROUTE_DUPLICATE_FILE).group_by("person_id").len()
    many = set(per_donor.filter(pl.col("len") > 5).get_column("person_id"))
    voided = notices.filter(pl.col("defect") == D.ONE_STOP_VOIDED_OVER_FIVE)
    assert set(voided.get_column("person_id")) <= many
    flag_col = field_position("furusato_notice", "one_stop_cancelled") - 1
    file, record_no = filers.filter(pl.col("defect") == D.ONE_STOP_VOIDED_BY_RETURN).select("file", "record_no").row(0)
    assert _record(landing, file, record_no)[flag_col] == "0"  # the void is marked in truth, not in the file


@pytest.mark.slow
def test_same_population_and_seed_give_identical_bytes(tmp_path):
    pop = build_fixture_population(300, seed=5)
    first = write_documents(pop, tmp_path / "a", seed=7)
    second = write_documents(pop, tmp_path / "b", seed=7)
    assert first.documents.equals(second.documents) and first.defects.equals(second.defects)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    third = write_documents(pop, tmp_path / "c", seed=8)
    assert not third.documents.equals(first.documents)


def test_layout_files_and_their_markdown_are_consistent():
    for fmt in FORMATS:
        layout = load_layout(fmt)
        assert all(f.get("source") for f in layout["fields"])
        assert layout["own_layout"] in (True, False, "partly")
        assert (DOCS_DIR / f"{fmt}.md").read_text(encoding="utf-8") == render_markdown(fmt), (
            f"docs/layouts/{fmt}.md is stale: run python -m sample_ward.wire_layouts"
        )
    assert load_layout("salary_report")["wire"]["field_count"] == 147
    assert field_ids("salary_report")[9] == "submission_type" and field_ids("salary_report")[-1] == "creation_type"
    assert load_layout("pension_report")["wire"]["field_count"] == 55


def test_documents_from_the_real_population_builder(tmp_path):
    population = pytest.importorskip("sample_ward.population")
    pop = population.build_population(800, 3, FISCAL_YEAR)
    result = write_documents(pop, tmp_path / "landing", seed=3)
    on_disk = {str(p.relative_to(tmp_path / "landing")) for p in (tmp_path / "landing").rglob("*") if p.is_file()}
    assert on_disk == set(result.documents.get_column("file").unique())
    assert set(result.documents.get_column("source").unique()) == set(SOURCES)
    planted = set(result.defects.get_column("category").unique())
    assert set(D.MALFORMED + D.HOSTILE_XML) <= planted
    assert not result.defects.filter(pl.col("description").str.starts_with("encoding fallback")).height
