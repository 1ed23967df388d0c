"""transforms.parse_csv: hand-made records for every quarantine reason, and a scored run on a generated ward."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from contracts.layouts import field_spec, load_layout
from transforms.parse_csv import QUARANTINE_SCHEMA, REASONS, parse_csv_document

FILE = "salary_report/test.csv"
GOOD_MY_NUMBER = "123456789018"  # check digit 8 (平成26年総務省令第85号 第5条)
NAME = "港　太郎"


def _salary_fields(**overrides: str) -> dict[str, str]:
    """A valid 給与支払報告書 record (by layout id); every other field empty."""
    values = {f["id"]: "" for f in load_layout("salary_report")["fields"]}
    values.update(
        document_type="315", payer_address="東京都港区芝公園一丁目５番", payer_name="港物産株式会社",
        submission_type="0", income_year="06", recipient_address="東京都港区芝浦三丁目４番１号",
        recipient_name=NAME, payment_amount="3000000", birth_era="4", birth_year="02", birth_month="03",
        birth_day="04", recipient_my_number=GOOD_MY_NUMBER, recipient_kana="ﾐﾅﾄ ﾀﾛｳ", employee_no="E001",
        destination_municipality_code="131032", designation_no="123456", creation_type="1",
    )
    values.update(overrides)
    return values


def _line(fmt: str, values: dict[str, str]) -> str:
    return ",".join(values[f["id"]] for f in load_layout(fmt)["fields"])


def _file(*lines: str | bytes) -> bytes:
    return b"".join((line if isinstance(line, bytes) else line.encode("cp932")) + b"\r\n" for line in lines)


def _one(fmt: str, line: str | bytes):
    parsed = parse_csv_document(_file(_line("salary_report", _salary_fields()), line), fmt, file=FILE)
    assert parsed.records.height + parsed.quarantine.height == 2
    return parsed


def test_a_valid_record_is_typed():
    values = _salary_fields(payment_amount="３０００　０００", withholding_tax="")
    parsed = parse_csv_document(_file(_line("salary_report", values)), "salary_report", file=FILE)
    assert parsed.quarantine.height == 0
    row = parsed.records.row(0, named=True)
    assert row["file"] == FILE and row["record_no"] == 1
    assert row["payment_amount"] == "３０００　０００" and row["payment_amount_yen"] == 3_000_000
    assert row["withholding_tax_yen"] == 0
    assert row["birth_on"] == dt.date(1990, 3, 4)  # 平成2年 (法定調書 code 4)
    assert row["submission_type_label"] == "新規"
    assert row["recipient_name"] == NAME and row["my_number_missing"] is False and row["gaiji_flag"] is False
    assert parsed.records.schema["payment_amount_yen"] == pl.Int64 and parsed.records.schema["birth_on"] == pl.Date


def test_era_codes_are_the_legal_record_system_and_era_spans_are_checked():
    cases = {("1", "64", "01", "07"): dt.date(1989, 1, 7), ("4", "01", "01", "08"): dt.date(1989, 1, 8),
             ("5", "01", "05", "01"): dt.date(2019, 5, 1), ("3", "45", "07", "29"): dt.date(1912, 7, 29),
             ("2", "15", "12", "24"): dt.date(1926, 12, 24)}
    for (era, yy, mm, dd), expected in cases.items():
        line = _line("salary_report", _salary_fields(birth_era=era, birth_year=yy, birth_month=mm, birth_day=dd))
        parsed = parse_csv_document(_file(line), "salary_report", file=FILE)
        assert parsed.records.get_column("birth_on").to_list() == [expected], (era, yy, mm, dd)
    for era, yy, mm, dd in [("5", "01", "04", "30"), ("4", "31", "05", "01"), ("1", "64", "01", "08"), ("4", "02", "02", "30")]:
        line = _line("salary_report", _salary_fields(birth_era=era, birth_year=yy, birth_month=mm, birth_day=dd))
        parsed = parse_csv_document(_file(line), "salary_report", file=FILE)
        assert parsed.quarantine.get_column("reason_code").to_list() == ["impossible_date"], (era, yy, mm, dd)


@pytest.mark.parametrize(
    ("reason", "line", "field"),
    [
        ("invalid_encoding", _line("salary_report", _salary_fields()).replace(NAME, "\x00").encode("cp932").replace(b"\x00", "港".encode("cp932") + b"\x85\x40"), "recipient_name"),
        ("wrong_field_count", _line("salary_report", _salary_fields()) + ",", None),
        ("wrong_field_count", _line("salary_report", _salary_fields()).rsplit(",", 1)[0], None),
        ("wrong_field_count", '"unclosed,' + _line("salary_report", _salary_fields()), None),
        ("empty_mandatory_field", _line("salary_report", _salary_fields(recipient_name="　")), "recipient_name"),
        ("over_width_field", _line("salary_report", _salary_fields(employee_no="E" * 26)), "employee_no"),
        ("non_numeric_amount", _line("salary_report", _salary_fields(payment_amount="3OOOOOO")), "payment_amount"),
        ("non_numeric_amount", _line("salary_report", _salary_fields(payment_amount="-3000")), "payment_amount"),
        ("unknown_era_code", _line("salary_report", _salary_fields(birth_era="9")), "birth_era"),
        ("impossible_date", _line("salary_report", _salary_fields(birth_month="13")), "birth_year"),
        ("bad_submission_type", _line("salary_report", _salary_fields(submission_type="5")), "submission_type"),
        ("bad_code", _line("salary_report", _salary_fields(creation_type="7")), "creation_type"),
        ("bad_code", _line("salary_report", _salary_fields(destination_municipality_code="131033")), "destination_municipality_code"),
        ("bad_code", _line("salary_report", _salary_fields(otsu_column="2")), "otsu_column"),
        ("bad_my_number_check_digit", _line("salary_report", _salary_fields(recipient_my_number="123456789011")), "recipient_my_number"),
        ("bad_my_number_check_digit", _line("salary_report", _salary_fields(recipient_my_number="12345678901")), "recipient_my_number"),
    ],
)
def test_each_reason_quarantines_the_record_and_keeps_the_rest(reason, line, field):
    parsed = _one("salary_report", line)
    assert parsed.records.get_column("record_no").to_list() == [1]
    q = parsed.quarantine
    assert dict(q.schema) == QUARANTINE_SCHEMA
    assert q.row(0, named=True) | {"message": None} == {
        "source": "salary_report", "file": FILE, "record_no": 2, "field": field, "reason_code": reason, "message": None
    }
    message = q.item(0, "message")
    assert message.startswith(f"Input file {FILE}, record 2: ") and "expected" in message
    if field:
        assert f"{field_spec('salary_report', field)['name_ja']} ({field})" in message
    for secret in (GOOD_MY_NUMBER, "123456789011", "港　太郎", "太郎", "ﾐﾅﾄ"):
        assert secret not in message
    assert parsed.warnings.height == 0


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("payer_corporate_number", "1234567890123", "bad_code"),  # 法人番号 check digit wrong (valid: …128)
        ("minor", "2", "bad_code"),
        ("spouse_my_number", "123456789011", "bad_my_number_check_digit"),
        ("withholding_tax", "1O000", "non_numeric_amount"),
        ("remarks", "普" * 66, "over_width_field"),
        ("job_change_month", "13", "impossible_date"),
    ],
)
def test_an_invalid_optional_field_is_emptied_with_a_warning_and_the_record_is_staged(field, value, reason):
    """Issue 10 point 9: only an invalid required (or ``on_invalid: hold``) field holds a record."""
    values = _salary_fields(**{field: value})
    if field == "job_change_month":
        values.update(job_change_type="2", job_change_year="06", job_change_day="15")
    parsed = _one("salary_report", _line("salary_report", values))
    assert parsed.quarantine.height == 0
    assert parsed.records.get_column("record_no").to_list() == [1, 2]
    w = parsed.warnings
    assert dict(w.schema) == QUARANTINE_SCHEMA
    group = ("job_change_year", "job_change_month", "job_change_day") if field == "job_change_month" else (field,)
    assert w.select("source", "file", "record_no", "field", "reason_code").rows() == [
        ("salary_report", FILE, 2, group[0], reason)]
    row = parsed.records.row(1, named=True)
    for emptied in group:
        assert row[emptied] is None
    if field == "withholding_tax":
        assert row["withholding_tax_yen"] is None
    if field == "job_change_month":
        assert row["job_change_on"] is None
    message = w.item(0, "message")
    assert message.startswith(f"Input file {FILE}, record 2: ") and "set to empty" in message
    for secret in ([value] if len(value) > 2 else []) + ["港　太郎", GOOD_MY_NUMBER]:
        assert secret not in message


def test_every_optional_field_states_its_decision_and_required_fields_hold():
    from contracts.layouts import CSV_FORMATS, on_invalid

    for fmt in CSV_FORMATS:
        for f in load_layout(fmt)["fields"]:
            decision = on_invalid(fmt, f["id"])
            assert decision == "hold" if f["required"] else decision in ("hold", "warn"), (fmt, f["id"])
    # the matching key and the record key hold even though they may be empty
    assert on_invalid("salary_report", "recipient_my_number") == "hold"
    assert on_invalid("salary_report", "employee_no") == "hold"
    assert on_invalid("salary_report", "payer_corporate_number") == "warn"


def test_a_hold_problem_wins_over_a_warning_on_the_same_record():
    line = _line("salary_report", _salary_fields(minor="2", otsu_column="7"))
    parsed = _one("salary_report", line)
    assert parsed.quarantine.select("record_no", "field").rows() == [(2, "otsu_column")]
    assert parsed.warnings.height == 0


def test_the_first_reason_in_the_documented_order_wins():
    line = _line("salary_report", _salary_fields(recipient_name="", payment_amount="x", submission_type="9"))
    assert _one("salary_report", line).quarantine.item(0, "reason_code") == "empty_mandatory_field"
    line = _line("salary_report", _salary_fields(payment_amount="x", submission_type="9"))
    assert _one("salary_report", line).quarantine.item(0, "reason_code") == "non_numeric_amount"
    assert REASONS[0] == "invalid_encoding" and REASONS[-1] == "bad_my_number_check_digit" and len(REASONS) == 10


def test_noise_parses_and_is_flagged():
    missing = _line("salary_report", _salary_fields(recipient_my_number=""))
    gaiji = _line("salary_report", _salary_fields(recipient_name="髙橋　〓子"))
    fullwidth = _line("salary_report", _salary_fields(birth_year="０２", birth_month="０３", birth_day="０４"))
    quoted = _line("salary_report", _salary_fields(payer_name='"港物産, ""本社"""'))
    multiline = _line("salary_report", _salary_fields(remarks='"普A\r\n続き"'))
    parsed = parse_csv_document(_file(missing, gaiji, fullwidth, quoted, multiline), "salary_report", file=FILE)
    assert parsed.quarantine.height == 0
    r = parsed.records
    assert r.get_column("record_no").to_list() == [1, 2, 3, 4, 5]  # record 5 starts on line 5 (spans 5-6)
    assert r.get_column("my_number_missing").to_list() == [True, False, False, False, False]
    assert r.get_column("gaiji_flag").to_list() == [False, True, False, False, False]
    assert r.item(2, "birth_on") == dt.date(1990, 3, 4)
    assert r.item(3, "payer_name") == '港物産, "本社"' and r.item(4, "remarks") == "普A\r\n続き"


def test_other_layouts_gregorian_dates_and_negative_income():
    values = {f["id"]: "" for f in load_layout("resident_return")["fields"]}
    values.update(submission_type="0", receipt_no="JS00000001", fiscal_year="2025", destination_municipality_code="131032",
                  submitted_date="20250310", name_kana="ミナト　タロウ", name=NAME, birth_date="19800229", sex="1",
                  address="東京都港区芝浦三丁目４番１号", business_income="-120000")
    good = _line("resident_return", values)
    bad = _line("resident_return", values | {"birth_date": "19810229"})
    parsed = parse_csv_document(_file(good, bad), "resident_return", file="resident_return/x.csv")
    assert parsed.records.item(0, "birth_on") == dt.date(1980, 2, 29)
    assert parsed.records.item(0, "business_income_yen") == -120000
    assert parsed.records.item(0, "my_number_missing") is True
    assert parsed.quarantine.select("record_no", "reason_code", "field").row(0) == (2, "impossible_date", "birth_date")


def test_empty_file_and_unknown_format():
    parsed = parse_csv_document(b"", "furusato_notice", file="furusato_notice/empty.csv")
    assert parsed.records.height == 0 and parsed.quarantine.height == 0
    with pytest.raises(ValueError, match="not a CSV document format"):
        parse_csv_document(b"", "etax_return", file="x")


# ------------------------------------------------------------------------------ scored on a generated ward
SCORED = ("salary_report", "salary_summary", "pension_report", "resident_return", "furusato_notice")


@pytest.fixture(scope="module")
def ward(tmp_path_factory) -> Path:
    from sample_ward import generate_ward

    out = tmp_path_factory.mktemp("parse_csv") / "ward"
    generate_ward(out, residents=2000, seed=7, fiscal_year=2025)
    return out


@pytest.mark.slow
def test_scored_on_the_generated_ward(ward):
    landing = ward / "landing"
    records, quarantine = [], []
    for fmt in SCORED:
        for path in sorted((landing / fmt).rglob("*.csv")):
            rel = path.relative_to(landing).as_posix()
            parsed = parse_csv_document(path.read_bytes(), fmt, file=rel)
            records.append(parsed.records.select("file", "record_no"))
            quarantine.append(parsed.quarantine)
    got = pl.concat(
        [pl.concat(records).with_columns(pl.lit(False).alias("quarantined")),
         pl.concat(quarantine).select("file", "record_no", pl.lit(True).alias("quarantined"))]
    )
    truth = pl.read_parquet(ward / "truth" / "documents.parquet").filter(pl.col("source").is_in(SCORED))
    joined = truth.join(got, on=["file", "record_no"], how="full", coalesce=True, validate="1:1")
    # received = parsed + quarantined, per file, record for record
    assert joined.filter(pl.col("quarantined").is_null() | pl.col("source").is_null()).height == 0
    expected = pl.col("expected_route") == "quarantine"
    tp = joined.filter(expected & pl.col("quarantined")).height
    fp = joined.filter(~expected & pl.col("quarantined"))
    fn = joined.filter(expected & ~pl.col("quarantined"))
    precision, recall = tp / max(tp + fp.height, 1), tp / max(tp + fn.height, 1)
    print(f"\nparse_csv on the sample ward: {joined.height} records, quarantine tp={tp} fp={fp.height} fn={fn.height} "
          f"precision={precision:.3f} recall={recall:.3f}")
    # no record of a person's route (stage / forward / non_registered, noise included) is quarantined
    assert fp.height == 0, fp.select("file", "record_no", "defect").to_dicts()
    # every malformed record is quarantined
    assert fn.height == 0, fn.select("file", "record_no", "defect").to_dicts()
    assert tp >= 35
    q = pl.concat(quarantine)
    assert q.get_column("reason_code").is_in(list(REASONS)).all()
    my_numbers = pl.read_parquet(ward / "truth" / "persons.parquet").get_column("my_number").drop_nulls()
    assert not q.get_column("message").str.contains_any(my_numbers.to_list()).any()


# ------------------------------------------------------------------ issue 10 point 10: 5人目以降の扶養親族
FIFTH = "123456789018"  # valid check digit
SIXTH_BAD = "123456789011"  # wrong check digit


def test_fifth_and_further_relatives_are_parsed_into_entries_and_not_kept_as_text():
    values = _salary_fields(
        dependants_5th_plus=f"({FIFTH})港　五郎　({SIXTH_BAD})港　六子　(0)　()港　七美",
        young_dependants_5th_plus="(１２３４５６７８９０１８)港　八",  # full-width digits are read as digits
    )
    parsed = parse_csv_document(_file(_line("salary_report", values)), "salary_report", file=FILE)
    assert parsed.quarantine.height == 0 and parsed.records.height == 1
    assert "dependants_5th_plus" not in parsed.records.columns
    assert "young_dependants_5th_plus" not in parsed.records.columns
    assert parsed.relatives.select("field", "entry_no", "slot", "under16", "name_kanji", "my_number").rows() == [
        ("dependants_5th_plus", 1, 5, False, "港　五郎", FIFTH),
        ("dependants_5th_plus", 2, 6, False, "港　六子", None),  # number dropped, relative kept
        ("dependants_5th_plus", 4, 8, False, "港　七美", None),  # no number given: fine
        ("young_dependants_5th_plus", 1, 5, True, "港　八", FIFTH),
    ]
    assert parsed.warnings.select("field", "reason_code").rows() == [
        ("dependants_5th_plus[2]", "bad_my_number_check_digit"),
        ("dependants_5th_plus[3]", "malformed_relative_entry"),  # "(0)" without a name
    ]
    for message in parsed.warnings.get_column("message"):
        assert FIFTH not in message and SIXTH_BAD not in message and "港" not in message


def test_text_outside_the_entry_form_is_a_warning_and_the_record_is_staged():
    values = _salary_fields(dependants_5th_plus="港　五郎")  # no '(個人番号)'
    parsed = parse_csv_document(_file(_line("salary_report", values)), "salary_report", file=FILE)
    assert parsed.records.height == 1 and parsed.relatives.height == 0
    assert parsed.warnings.select("field", "reason_code").rows() == [("dependants_5th_plus", "malformed_relative_entry")]


def test_resident_return_relatives_have_no_age_group():
    values = {f["id"]: "" for f in load_layout("resident_return")["fields"]}
    values.update(submission_type="0", receipt_no="JS00000001", fiscal_year="2026", destination_municipality_code="131032",
                  submitted_date="20260310", name_kana="ミナト　タロウ", name=NAME, birth_date="19800229", sex="1",
                  address="東京都港区芝浦三丁目４番１号", dependants_5th_plus=f"({FIFTH})港　五郎　()港　六子")
    parsed = parse_csv_document(_file(_line("resident_return", values)), "resident_return", file="resident_return/x.csv")
    assert parsed.relatives.select("slot", "under16", "name_kanji", "my_number").rows() == [
        (5, None, "港　五郎", FIFTH), (6, None, "港　六子", None)]


def test_lf_line_ends_are_read_like_crlf_and_said_once():
    """The layout says CRLF (Windows payroll software); a file written with LF only (as the peer 統一CSV
    writer does) must not become one long quarantined record: its records parse exactly as with CRLF, and
    `line_ends` gives the run report its sentence."""
    from transforms.parse_csv import line_ends, parse_csv_documents

    lines = [_line("salary_report", _salary_fields(employee_no=f"E00{k}", payment_amount=str(3_000_000 + k)))
             for k in range(1, 4)]
    crlf = _file(*lines)
    lf = crlf.replace(b"\r\n", b"\n")
    with_crlf = parse_csv_documents([(FILE, crlf)], "salary_report")
    with_lf = parse_csv_documents([(FILE, lf)], "salary_report")
    assert with_lf.quarantine.height == with_crlf.quarantine.height == 0
    assert with_lf.records.equals(with_crlf.records) and with_lf.records.height == 3
    assert line_ends(crlf, "salary_report") is None
    assert "LF line ends" in line_ends(lf, "salary_report")
