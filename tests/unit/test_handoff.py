"""Hand-off folders (pipelines.handoff), their layouts (contracts.handoff_layouts) and the notice PDFs
(pipelines.notice_pdf): written at once with a manifest whose control totals are the sums of the files,
never twice with the same content, never with a 個人番号 on paper, erased on acknowledgement."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from contracts.handoff_layouts import HandoffLayoutError, handoff_exports, load_handoff_layout, render_markdown, to_export
from pipelines.handoff import HandoffError, HandoffFile, acknowledge, csv_bytes, verify_handoff, write_handoff

M, N = "131032", 2026
DOCS = Path(__file__).resolve().parents[2] / "docs" / "layouts"
MONTHS = {"months": [6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5]}


def _forwarding(rows: int = 2, code: str = "131130") -> pl.DataFrame:
    return pl.DataFrame({
        "destination_municipality_code": [code] * rows, "destination_name": ["東京都渋谷区"] * rows,
        "destination_basis": ["registry"] * rows, "fiscal_year": [N] * rows, "municipality_code": [M] * rows,
        "source": ["salary_report"] * rows, "file": ["salary_report/a.csv"] * rows,
        "record_no": list(range(1, rows + 1)), "doc_uid": [f"d{i}" for i in range(rows)],
        "reason": ["moved_out_before_assessment_date"] * rows, "name_kanji": ["港　一郎"] * rows,
        "name_kana": ["ミナト　イチロウ"] * rows, "birth_date": [date(1970, 1, 1)] * rows,
        "moved_out_on": [date(2025, 12, 1)] * rows, "moved_to_address": ["東京都渋谷区宇田川町１番１号"] * rows,
    })


def _file(frame: pl.DataFrame, name: str = "kaiso_131130.csv") -> HandoffFile:
    layout = load_handoff_layout("forwarding_list")
    return HandoffFile(name, to_export(frame, layout), layout, "csv", None, {"documents": frame.height})


def _employee_file(salary: list[int]) -> HandoffFile:
    layout = load_handoff_layout("special_collection_employee")
    rows = len(salary)
    columns = layout.columns(MONTHS)
    frame = pl.DataFrame({c: [None] * rows for c in columns}, schema={c: pl.String for c in columns}).with_columns(
        pl.Series("notice_no", [f"20262000000000{i}" for i in range(rows)]),
        *[pl.lit(0).cast(pl.Int64).alias(c) for c in layout.amount_columns(MONTHS)],
        *[pl.lit(1).cast(pl.Int64).alias(c) for c in ("dispatch_seq", "page_seq", "fiscal_year")],
        pl.lit(date(2026, 6, 10)).alias("notice_date"),
    ).with_columns(pl.Series("salary_amount", salary, pl.Int64))
    return HandoffFile("special_collection_employee.csv", to_export(frame, layout, MONTHS), layout, "csv", MONTHS)


# ----------------------------------------------------------------------------------------- layouts
@pytest.mark.parametrize("export", handoff_exports())
def test_every_layout_loads_and_its_document_is_generated_from_it(export):
    layout = load_handoff_layout(export)
    assert (DOCS / f"{export}.md").read_text(encoding="utf-8") == render_markdown(layout), \
        f"docs/layouts/{export}.md is stale: .venv/bin/python -m contracts.handoff_layouts --write-docs"


def test_repeated_fields_expand_slot_by_slot_with_the_calendar_month():
    layout = load_handoff_layout("tax_notice")
    columns = layout.columns({"installments": [6, 8], "provisional": [4], "main": [10]})
    start = columns.index("installment_1_period")
    assert columns[start:start + 6] == ["installment_1_period", "installment_1_due_date", "installment_1_amount",
                                        "installment_2_period", "installment_2_due_date", "installment_2_amount"]
    names = [f["name_ja"] for f in load_handoff_layout("special_collection_employer").fields(MONTHS)]
    assert "6月分" in names and "5月分" in names and names.index("6月分") < names.index("5月分")
    with pytest.raises(HandoffLayoutError, match="slots of 'installments'"):
        layout.columns()


def test_only_a_layout_that_is_not_printed_may_carry_my_numbers():
    assert load_handoff_layout("eltax_special_collection").carries_my_number
    assert "my_number" in load_handoff_layout("eltax_special_collection").columns(MONTHS)
    for export in handoff_exports():
        layout = load_handoff_layout(export)
        if layout.paper:
            assert not layout.carries_my_number and "my_number" not in layout.columns(
                {**MONTHS, "installments": [6], "provisional": [4], "main": [10]})


# ----------------------------------------------------------------------------------------- writing
def test_a_csv_is_cp932_with_crlf_and_a_header_of_field_ids():
    data = csv_bytes(pl.DataFrame({"a": ["港区"], "b": [date(2026, 6, 30)]}), "cp932")
    assert data == "a,b\r\n港区,2026-06-30\r\n".encode("cp932")
    with pytest.raises(HandoffError, match="cannot be written in cp932"):
        csv_bytes(pl.DataFrame({"a": ["𠮷"]}), "cp932")


def test_a_handoff_folder_holds_its_files_and_a_manifest_whose_totals_are_the_sums_of_the_files(tmp_path):
    item = _employee_file([120_000, 35_900, 0])
    out = write_handoff(tmp_path, recipient="print_vendor", municipality=M, fiscal_year=N, run_id="20260610T000000Z-x-1",
                        files=[item], source={"tax_assessment": {"run_id": "t"}})
    folder = tmp_path / out["path"]
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "special_collection_employee.csv"]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    totals = manifest["control_totals"]["special_collection_employee.csv"]
    assert totals["rows"] == 3 and totals["sum_salary_amount"] == 155_900   # 120,000 + 35,900 + 0
    assert manifest["source"] == {"tax_assessment": {"run_id": "t"}} and manifest["acknowledged"] is None
    assert verify_handoff(folder) == []
    (folder / "special_collection_employee.csv").write_bytes(b"tampered")
    assert verify_handoff(folder) == ["special_collection_employee.csv differs from its manifest"]


def test_the_same_content_is_never_handed_off_twice_and_a_change_names_what_it_supersedes(tmp_path):
    first = write_handoff(tmp_path, recipient="municipalities", municipality=M, fiscal_year=N, run_id="20260610T000000Z-x-1",
                          files=[_file(_forwarding())], source={})
    again = write_handoff(tmp_path, recipient="municipalities", municipality=M, fiscal_year=N, run_id="20260611T000000Z-x-2",
                          files=[_file(_forwarding())], source={})
    assert again["unchanged"] and again["run_id"] == first["run_id"] and again["path"] == first["path"]
    assert not (tmp_path / "exports" / "municipalities" / f"municipality={M}" / f"fiscal_year={N}"
                / "20260611T000000Z-x-2").exists()
    changed = write_handoff(tmp_path, recipient="municipalities", municipality=M, fiscal_year=N,
                            run_id="20260612T000000Z-x-3", files=[_file(_forwarding(3))], source={})
    assert not changed["unchanged"] and changed["supersedes"] == first["run_id"]


def test_a_preview_is_written_under_preview_and_is_no_handoff(tmp_path):
    out = write_handoff(tmp_path, recipient="municipalities", municipality=M, fiscal_year=N, run_id="20260610T000000Z-x-1",
                        files=[_file(_forwarding())], source={}, preview=True)
    assert out["path"].startswith("preview/municipalities/") and not (tmp_path / "exports").exists()


def test_a_paper_file_with_a_my_number_of_the_vault_is_refused_and_nothing_is_written(tmp_path):
    from pipelines.lake import MyNumberLeakError, hold_my_numbers

    number = "123456789018"  # check digit valid (番号法施行令第8条; docs/sources.md P1.2)
    hold_my_numbers(tmp_path, M, N, pl.Series([number]))
    frame = _forwarding().with_columns(pl.lit(f"備考 {number}").alias("moved_to_address"))
    with pytest.raises(MyNumberLeakError, match="moved_to_address"):
        write_handoff(tmp_path, recipient="municipalities", municipality=M, fiscal_year=N,
                      run_id="20260610T000000Z-x-1", files=[_file(frame)], source={})
    assert not (tmp_path / "exports").exists()


def test_a_file_for_another_recipient_is_refused(tmp_path):
    from contracts.errors import ConfigError

    with pytest.raises(ConfigError, match="is for municipalities, not print_vendor"):
        write_handoff(tmp_path, recipient="print_vendor", municipality=M, fiscal_year=N, run_id="r-x-1",
                      files=[_file(_forwarding())], source={})


def test_a_hand_off_that_names_persons_records_their_atena_numbers_and_a_preview_records_nothing(tmp_path):
    from pipelines.audit import read_audit

    frame = pl.DataFrame({"person_id": ["0000000002", "0000000001", "0000000002"], "n": [1, 2, 3]})
    layout = load_handoff_layout("forwarding_list")
    item = HandoffFile("people.parquet", frame, layout, "parquet")
    from pipelines.handoff import _record_export

    _record_export(tmp_path, "municipalities", tmp_path / "exports" / "x", "r1", [item],
                   {"files": 1, "rows": 3, "content_sha256": "c"})
    (record,) = read_audit(tmp_path)
    assert record["operation"] == "export" and record["atena_nos"] == ["0000000001", "0000000002"]
    write_handoff(tmp_path, recipient="municipalities", municipality=M, fiscal_year=N, run_id="r-p-1",
                  files=[_file(_forwarding())], source={}, preview=True)
    assert len(read_audit(tmp_path)) == 1  # a preview leaves the building never: no export record


def test_an_acknowledgement_erases_the_files_keeps_the_manifest_and_is_audited(tmp_path):
    from pipelines.audit import read_audit

    run_id = "20260610T000000Z-notice_export-abcd1234"
    out = write_handoff(tmp_path, recipient="municipalities", municipality=M, fiscal_year=N, run_id=run_id,
                        files=[_file(_forwarding())], source={})
    report_dir = tmp_path / "reports" / "notice_export" / f"municipality={M}" / f"fiscal_year={N}"
    report_dir.mkdir(parents=True)
    (report_dir / f"{run_id}.json").write_text(json.dumps({"run_id": run_id, "stage": "notice_export"}))
    (result,) = acknowledge(tmp_path, run_id, by="operator-1", reason="受領 2026-06-12",
                            now=__import__("datetime").datetime(2026, 6, 12, 3, 0, tzinfo=__import__("datetime").UTC))
    folder = tmp_path / out["path"]
    assert [p.name for p in folder.iterdir()] == ["manifest.json"]
    assert result["deleted"] == ["kaiso_131130.csv"] and result["at"] == "2026-06-12T03:00:00Z"
    assert verify_handoff(folder) == []
    written, record = read_audit(tmp_path)
    assert record["operation"] == "handoff_acknowledged_files_deleted" and record["run_id"] == run_id
    # the hand-off itself was recorded when it was written: where it went and whom it names
    assert written["operation"] == "export" and written["dataset"] == out["path"] and written["run_id"] == run_id
    assert written["atena_nos"] == []  # a 回送 list names documents of people who are not the ward's residents
    assert written["details"] == {"recipient": "municipalities", "files": 1, "rows": 2,
                                  "content_sha256": out["content_sha256"]}
    stored = json.loads((report_dir / f"{run_id}.json").read_text())
    assert stored["handoff_acknowledgements"][0]["confirmation"] == "受領 2026-06-12"
    with pytest.raises(HandoffError, match="no hand-off of run nope"):
        acknowledge(tmp_path, "nope", by="x", reason="y")


# ----------------------------------------------------------------------------------------- PDF
def _notice_record() -> dict:
    layout = load_handoff_layout("tax_notice")
    slots = {"installments": [6, 8, 10, 1], "provisional": [4, 6, 8], "main": [10, 12, 2]}
    record = {c: None for c in layout.columns(slots)}
    record.update({
        "notice_no": "202610100000001", "person_id": "0100000001", "fiscal_year": 2026, "notice_date": "2026-06-10",
        "addressee_postal_code": "1050001", "addressee_address": "東京都港区虎ノ門一丁目１番１号",
        "addressee_name": "𠮷田　花子", "taxpayer_name": "𠮷田　花子", "taxpayer_name_kana": "ヨシダ　ハナコ",
        "total_tax": 202_000, "ordinary_amount": 202_000, "ordinary_installments_total": 202_000,
        "income_levy_municipal": 118_200, "installment_1_amount": 52_000, "installment_1_due_date": "2026-06-30",
        "installment_1_period": "2026-06",
    })
    return record


def test_the_font_is_the_one_inside_the_locked_package_not_one_of_the_machine():
    from pipelines.notice_pdf import font_path

    path = font_path()
    assert path.name == "ipaexg.ttf" and "site-packages" in path.parts and "matplotlib_fontja" in path.parts


def test_a_notice_pdf_shows_its_amounts_in_japanese_and_the_same_notice_gives_the_same_bytes():
    from pipelines.notice_pdf import pdf_text, render_tax_notice

    data = render_tax_notice(_notice_record())
    text = pdf_text(data)
    for expected in ("令和8年度", "納税通知書兼税額決定通知書", "202,000", "52,000", "118,200", "2026年6月30日", "〓田　花子"):
        assert expected in text, expected
    assert render_tax_notice(_notice_record()) == data   # invariant: no creation time, fixed document id


def test_a_notice_whose_provisional_collection_exceeds_the_pension_tax_says_there_is_no_main_collection():
    from pipelines.notice_pdf import pdf_text, render_tax_notice

    record = _notice_record()
    record.update({"pension_amount": 14_300, "pension_payer": "001", "pension_first_year": False,
                   "provisional_1_period": "2026-04", "provisional_1_amount": 16_500,
                   "provisional_2_period": "2026-06", "provisional_2_amount": 16_400,
                   "provisional_3_period": "2026-08", "provisional_3_amount": 16_400,
                   "pension_provisional_excess": 35_000})
    text = pdf_text(render_tax_notice(record))
    for expected in ("仮徴収（2026年4月・2026年6月・2026年8月）", "本徴収（なし）", "35,000 円上回るため本徴収はありません", "還付"):
        assert expected in text, expected
    record["pension_provisional_excess"] = 0
    assert "上回る" not in pdf_text(render_tax_notice(record))


def test_the_era_year_of_a_fiscal_year():
    from pipelines.notice_pdf import era_year

    assert (era_year(2026), era_year(2019), era_year(2018)) == ("令和8年度", "令和元年度", "平成30年度")
