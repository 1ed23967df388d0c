"""data_samples/: the committed samples are what `make samples` writes, byte for byte; every good sample
goes through its real stage with the counts its own structure implies and nothing quarantined; every bad
sibling is quarantined with exactly the reason, record and field the index records."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data_samples"
INDEX = json.loads((SAMPLES / "samples.json").read_text(encoding="utf-8"))
ENTRIES = INDEX["samples"]
M, N = INDEX["ward"]["municipality_code"], INDEX["ward"]["fiscal_year"]
REGISTRY_STAGE, DOCUMENT_STAGE, NOTICE_STAGE = "resident_snapshot", "returns_ingest", "notice_export"
PENSION_STAGE = "pension_special_collection"
PENSION_SOURCES = ("pension_exchange", "pension_previous_year", "resident_changes")
#: the notice inputs' extract dates are 1 May and 1 June of the year (sample_ward.notice_inputs): notices of
#: 10 June find the DV等支援措置 list 9 days old, inside the profile's 14
NOTICE_DATE = f"{N}-05-20"
HAND_WRITTEN = {"README.md", ".gitattributes"}  # not the maker's: it leaves them alone


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _landing_path(entry_file: str) -> str:
    """``landing/<source>/...`` or ``bad/<source>/...`` → the path relative to a landing root."""
    return entry_file.split("/", 1)[1]


# ----------------------------------------------------------------------------------- reproducible
def test_make_samples_reproduces_the_committed_files_byte_for_byte(tmp_path):
    from sample_ward.samples import write_samples

    (tmp_path / "README.md").write_text("left alone\n", encoding="utf-8")
    write_samples(tmp_path)
    made = _tree(tmp_path)
    assert made.pop("README.md") == b"left alone\n"  # the maker never touches the hand-written page
    committed = {rel: data for rel, data in _tree(SAMPLES).items() if rel not in HAND_WRITTEN}
    assert sorted(made) == sorted(committed), "files missing from or extra in data_samples/: run `make samples`"
    changed = [rel for rel in made if made[rel] != committed[rel]]
    assert not changed, f"`make samples` writes other bytes for {changed}"


# ----------------------------------------------------------------------------------- the index
def test_the_index_covers_every_landing_source_once_and_names_existing_files():
    from contracts.layouts import FORMATS
    from contracts.resident_snapshot import OPTIONAL_SOURCES, SOURCES
    from transforms.notice_inputs import SOURCES as NOTICE_SOURCES

    REGISTRY_SOURCES = SOURCES + OPTIONAL_SOURCES  # noqa: N806  (the 住登外者 register is read by the snapshot too)
    sources = [e["source"] for e in ENTRIES]
    assert sorted(sources) == sorted(set(REGISTRY_SOURCES) | set(FORMATS) | set(NOTICE_SOURCES) | set(PENSION_SOURCES))
    assert len(sources) == len(set(sources))
    for entry in ENTRIES:
        assert entry["stage"] == (REGISTRY_STAGE if entry["source"] in REGISTRY_SOURCES else
                                  NOTICE_STAGE if entry["source"] in NOTICE_SOURCES else
                                  PENSION_STAGE if entry["source"] in PENSION_SOURCES else DOCUMENT_STAGE)
        for rel in (entry["file"], entry["bad"]["file"], entry["layout"], entry["doc"].split("#")[0]):
            assert (SAMPLES / rel).is_file() or (REPO / rel).is_file(), rel
        # the bad sibling has the good one's name, in the bad/ tree: it can replace it in a landing folder
        assert _landing_path(entry["file"]) == _landing_path(entry["bad"]["file"])
        assert entry["file"].startswith(f"landing/{entry['source']}/municipality={M}/fiscal_year={N}/")
        assert entry["bad"]["file"].startswith("bad/")


def test_the_readme_table_lists_every_sample():
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for entry in ENTRIES:
        name = entry["file"].rsplit("/", 1)[1]
        assert name in readme and entry["bad"]["reason_code"] in readme, entry["source"]


def test_the_wire_format_of_every_sample():
    """Encoding, line ends and header as the layouts say: checked on the bytes, independently of the parsers."""
    from contracts.resident_snapshot import load_layout as registry_layout

    for entry in ENTRIES:
        data = (SAMPLES / entry["file"]).read_bytes()
        if entry["source"] == "etax_return":
            assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n') and b"\r" not in data
            data.decode("utf-8")
            assert entry["records"] == 1
            continue
        if entry["source"] == "pension_exchange":
            # 96 bytes of control block, then whole 500-byte records: header 1, data 2 …, trailer 3; no line end
            assert (len(data) - 96) % 500 == 0 and b"\n" not in data and b"\r" not in data
            kinds = [data[at:at + 1] for at in range(96, len(data), 500)]
            assert kinds[0] == b"1" and kinds[-1] == b"3" and set(kinds[1:-1]) <= {b"2"}
            assert entry["records"] == kinds.count(b"2") >= 1
            assert data[:5].decode("ascii") == M[:5]  # 市町村コード of the control block
            continue
        if entry["stage"] in (REGISTRY_STAGE, NOTICE_STAGE, PENSION_STAGE):  # the registry dialect
            text = data.decode("utf-8")
            assert "\r" not in text and text.endswith("\n")
            header, *rows = text[:-1].split("\n")
            assert header.split(",") == registry_layout(entry["source"]).names  # a header row
            assert entry["encoding"] == "UTF-8" and "LF" in entry["format"]
        else:
            text = data.decode("cp932")  # strict: every byte is CP932
            assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
            rows = text[:-2].split("\r\n")
            assert entry["encoding"] == "CP932" and "CRLF, no header" in entry["format"]
            from contracts.layouts import load_layout

            count = load_layout(entry["source"])["wire"]["field_count"]
            assert all(row.count(",") == count - 1 for row in rows if '"' not in row)  # no header, full width
        assert len(rows) == entry["records"] >= 1


def test_the_registry_extracts_carry_a_my_number_only_in_the_my_number_file():
    """Of the registry extracts only kojin_bango holds 12-digit numbers (the 住民記録 itself has none)."""
    for entry in ENTRIES:
        if entry["stage"] == REGISTRY_STAGE and entry["source"] != "my_number":
            text = (SAMPLES / entry["file"]).read_text(encoding="utf-8")
            assert not re.search(r"(?<![0-9])[0-9]{12}(?![0-9])", text), entry["source"]


# ----------------------------------------------------------------------------------- the stages
def _run_stages(tmp_path: Path, overlay: list[dict]) -> dict:
    """Copy the good samples into a fresh lake's landing zone, replace the files of ``overlay`` by their bad
    siblings, run the cycle up to notice_export; return the reports and quarantines of the reading stages."""
    from pipelines.config import Settings
    from pipelines.lake import read_partition
    from pipelines.notice_export import run as notices
    from pipelines.pension_special_collection import run as pension
    from pipelines.record_merge import run as merge
    from pipelines.resident_snapshot import run as snapshot
    from pipelines.returns_ingest import run as ingest
    from pipelines.tax_assessment import run as assess

    lake = tmp_path / "lake"
    shutil.copytree(SAMPLES / "landing", lake / "landing")
    for entry in overlay:
        shutil.copyfile(SAMPLES / entry["bad"]["file"], lake / "landing" / _landing_path(entry["bad"]["file"]))
    settings = Settings.from_env({
        "JUMINZEI_HOME": str(tmp_path), "JUMINZEI_LAKE": str(lake), "JUMINZEI_ACTOR": "tester",
        "JUMINZEI_VAULT_KEY_FILE": str(tmp_path / "keys" / "vault.key"),
        "JUMINZEI_DATA_DOCS": str(tmp_path / "data_docs"),
    })
    reports = {REGISTRY_STAGE: snapshot(fiscal_year=N, municipality=M, settings=settings),
               DOCUMENT_STAGE: ingest(fiscal_year=N, municipality=M, settings=settings)}
    merge(fiscal_year=N, municipality=M, settings=settings)
    assess(fiscal_year=N, municipality=M, settings=settings)
    reports[PENSION_STAGE] = pension(fiscal_year=N, municipality=M, settings=settings, processing_month=f"{N}-05")
    reports[NOTICE_STAGE] = notices(fiscal_year=N, municipality=M, settings=settings, notice_date=NOTICE_DATE)
    quarantine = {stage: read_partition(lake, "quarantine", stage, M, N) for stage in reports}
    warnings = {stage: read_partition(lake, "quarantine", f"{stage}_warnings", M, N)
                for stage in (REGISTRY_STAGE, DOCUMENT_STAGE)}
    return {"reports": reports, "quarantine": quarantine, "warnings": warnings}


def _per_input(report: dict) -> dict[str, dict]:
    return {row["path"].removeprefix("landing/"): row for row in report["per_input"]}


@pytest.mark.slow
def test_every_good_sample_goes_through_its_stage_with_nothing_quarantined(tmp_path):
    result = _run_stages(tmp_path, overlay=[])
    for stage, report in result["reports"].items():
        assert report["status"] == "success" and report["reconciliation"]["ok"], stage
        assert result["quarantine"][stage].height == 0, result["quarantine"][stage].select("file", "reason_code")
        if stage in result["warnings"]:  # notice_export has no warnings dataset: an invalid value holds its record
            assert result["warnings"][stage].height == 0, result["warnings"][stage].select("file", "reason_code")
    for entry in ENTRIES:
        row = _per_input(result["reports"][entry["stage"]])[_landing_path(entry["file"])]
        expected = entry["expected"]
        assert (row["received"], row["staged"], row["quarantined"], row["forwarded"]) == (
            entry["records"], expected["staged"], expected["quarantined"], expected["forwarded"]), entry["source"]


@pytest.mark.slow
def test_every_bad_sibling_is_quarantined_with_its_recorded_reason_record_and_field(tmp_path):
    quarantined = [e for e in ENTRIES if e["bad"].get("dispatch") != "stopped"]
    result = _run_stages(tmp_path, overlay=quarantined)  # every bad sibling at once: each fault stays on its own
    for stage, report in result["reports"].items():
        assert report["status"] == "success" and report["reconciliation"]["ok"], stage
    found = {
        (row["file"], row["record_no"], row["field"], row["reason_code"])
        for stage in result["quarantine"]
        for row in result["quarantine"][stage].iter_rows(named=True)
    }
    expected = {(_landing_path(e["bad"]["file"]), e["bad"]["record_no"], e["bad"]["field"], e["bad"]["reason_code"])
                for e in quarantined}
    assert found == expected
    for entry in quarantined:
        row = _per_input(result["reports"][entry["stage"]])[_landing_path(entry["bad"]["file"])]
        bad = entry["bad"]["expected"]
        assert (row["received"], row["quarantined"], row["staged"] + row["forwarded"]) == (
            entry["records"], bad["quarantined"], bad["staged"] + bad["forwarded"]), entry["source"]


@pytest.mark.slow
def test_the_bad_support_list_stops_dispatch_naming_its_file_line_and_field(tmp_path):
    """A DV等支援措置 record that cannot be read is not quarantined and forgotten: the person it protects
    cannot be known, so dispatch stops (docs/notice-export.md) and says where."""
    from pipelines.notice_export import DispatchStopped

    (entry,) = [e for e in ENTRIES if e["bad"].get("dispatch") == "stopped"]
    with pytest.raises(DispatchStopped) as stopped:
        _run_stages(tmp_path, overlay=[entry])
    name = entry["bad"]["file"].rsplit("/", 1)[1]
    assert f"{name} line {entry['bad']['record_no']}" in str(stopped.value)
    assert entry["bad"]["reason_code"] in str(stopped.value) and entry["bad"]["field"] in str(stopped.value)


@pytest.mark.slow
def test_the_quarantine_messages_of_the_broken_my_numbers_never_echo_a_number(tmp_path):
    broken = [e for e in ENTRIES if "check_digit" in e["bad"]["reason_code"] and "my_number" in e["bad"]["field"]]
    assert {e["source"] for e in broken} == {"my_number", "salary_report"}
    result = _run_stages(tmp_path, overlay=broken)
    messages = pl.concat([q.select("message") for q in result["quarantine"].values()])["message"].to_list()
    assert len(messages) == len(broken)
    numbers = {m.decode() for e in broken
               for m in re.findall(rb"(?<![0-9])[0-9]{12}(?![0-9])", (SAMPLES / e["bad"]["file"]).read_bytes())}
    assert numbers and not any(n in m for n in numbers for m in messages)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["source"] for e in ENTRIES])
def test_the_bad_sibling_differs_from_its_good_sample_in_one_record_only(entry):
    good = (SAMPLES / entry["file"]).read_bytes()
    bad = (SAMPLES / entry["bad"]["file"]).read_bytes()
    if entry["source"] == "etax_return":
        assert good.startswith(bad) and len(bad) < len(good)
        return
    if entry["source"] == "pension_exchange":  # a fault of the trailer (the last 500-byte record) only
        assert len(good) == len(bad) and good[:-500] == bad[:-500] and good[-500:] != bad[-500:]
        assert entry["bad"]["record_no"] is None  # the stage refuses the whole file
        return
    newline = b"\n" if entry["stage"] in (REGISTRY_STAGE, NOTICE_STAGE, PENSION_STAGE) else b"\r\n"
    good_lines, bad_lines = good.split(newline), bad.split(newline)
    assert len(good_lines) == len(bad_lines)
    differing = [no for no, (a, b) in enumerate(zip(good_lines, bad_lines, strict=True), start=1) if a != b]
    assert differing == [entry["bad"]["record_no"]]


# ----------------------------------------------------------------------------------- the hand-offs
EXPORTS = INDEX["exports"]


def test_the_index_has_a_sample_of_every_handoff_layout_and_the_readme_lists_them():
    from contracts.handoff_layouts import handoff_exports

    assert sorted({e["export"] for e in EXPORTS}) == handoff_exports()
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for entry in EXPORTS:
        assert (SAMPLES / entry["file"]).is_file() and (REPO / entry["doc"]).is_file(), entry["file"]
        assert entry["export"] in readme, entry["export"]


@pytest.mark.parametrize("manifest", sorted({e["manifest"] for e in EXPORTS}))
def test_every_sample_handoff_is_as_its_manifest_says_and_its_totals_are_the_sums_of_its_records(manifest):
    """The control totals, recomputed here from the files' bytes with the layout's amount fields."""
    import io

    from contracts.handoff_layouts import load_handoff_layout
    from pipelines.handoff import verify_handoff

    folder = (SAMPLES / manifest).parent
    assert verify_handoff(folder) == []
    data = json.loads((SAMPLES / manifest).read_text(encoding="utf-8"))
    for entry in data["files"]:
        raw = (folder / entry["name"]).read_bytes()
        if entry["format"] == "parquet":
            frame = pl.read_parquet(io.BytesIO(raw))
        else:
            assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
            frame = pl.read_csv(io.BytesIO(raw.decode(entry["encoding"]).encode("utf-8")), infer_schema=False)
        layout = load_handoff_layout(entry["export"])
        totals = entry["control_totals"]
        assert totals["rows"] == frame.height >= 1, entry["name"]
        for column in [c for c in frame.columns if f"sum_{c}" in totals]:
            assert totals[f"sum_{column}"] == sum(int(v) for v in frame[column].drop_nulls().to_list()), column
        amounts = [f["id"] for f in layout.data["fields"] if f["type"] == "yen" and "repeat" not in f]
        assert all(f"sum_{c}" in totals for c in amounts), entry["name"]


def test_no_paper_sample_holds_a_twelve_digit_number_and_only_the_eltax_file_carries_my_numbers():
    for entry in EXPORTS:
        raw = (SAMPLES / entry["file"]).read_bytes()
        text = raw.decode("utf-8", errors="replace") if entry["format"] == "parquet" else raw.decode(entry["encoding"])
        runs = re.findall(r"(?<![0-9])[0-9]{12}(?![0-9])", text)
        if entry["carries_my_number"]:
            assert not entry["paper"] and runs, entry["file"]
        else:
            assert not runs, entry["file"]


def test_the_print_samples_show_a_gaiji_as_geta_and_report_it():
    (report,) = [e for e in EXPORTS if e["export"] == "encoding_report" and "notice_export" in e["file"]]
    rows = pl.read_csv(SAMPLES / report["file"], infer_schema=False)
    assert rows.height >= 1
    notice = [e for e in EXPORTS if e["export"] == "tax_notice" and e["format"] == "csv"][0]
    text = (SAMPLES / notice["file"]).read_bytes().decode("cp932")
    for row in rows.iter_rows(named=True):
        assert row["notice_no"] in text and row["code_point"] == f"U+{ord(row['character']):04X}"
    assert "〓" in text


# ----------------------------------------------------------------------------------- the 年金特徴 exchange
EXCHANGE = INDEX["exchange"]


def test_the_exchange_samples_cover_what_the_ward_sends_and_receives():
    codes = {(e["direction"], e["notice_code"]) for e in EXCHANGE}
    assert {("outbound", "01"), ("outbound", "61"), ("outbound", "31"), ("outbound", "41"), ("inbound", "02"),
            ("inbound", "22"),
            ("inbound", "30"), ("inbound", "32")} <= codes
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for entry in EXCHANGE:
        assert entry["file"].rsplit("/", 1)[1] in readme, entry["file"]


@pytest.mark.parametrize("entry", [e for e in EXCHANGE if e["direction"] == "outbound"], ids=lambda e: e["notice_code"])
def test_an_outbound_exchange_sample_reads_back_and_writes_the_same_bytes(entry):
    from transforms.pension_exchange_records import read_exchange_file, write_exchange_file

    data = (SAMPLES / entry["file"]).read_bytes()
    name = entry["file"].rsplit("/", 1)[1]
    exchange = read_exchange_file(data, file=name)  # every trailer's count and totals checked
    assert set(exchange.records) == {entry["notice_code"]} and exchange.records[entry["notice_code"]].height >= 1
    assert write_exchange_file(exchange, file=name) == data


@pytest.mark.parametrize("entry", [e for e in EXCHANGE if e["direction"] == "inbound"], ids=lambda e: e["notice_code"])
def test_an_inbound_exchange_sample_is_staged_and_its_bad_sibling_quarantined_whole(entry, tmp_path):
    """Through the stage's own reader (pipelines.pension_special_collection.read_month), in a month's folder."""
    from contracts.pension_exchange import landing_folder
    from pipelines.pension_special_collection import read_month

    name = entry["file"].rsplit("/", 1)[1]
    month = "2026-09"
    for kind, rel in (("good", entry["file"]), ("bad", entry["bad"]["file"])):
        landing = tmp_path / kind
        folder = landing / landing_folder(M, N, month)
        folder.mkdir(parents=True)
        shutil.copyfile(SAMPLES / rel, folder / name)
        files, records = read_month(landing, M, N, month)
        (row,) = files.iter_rows(named=True)
        if kind == "good":
            assert row["status"] == "staged" and records.height == row["records"] >= 1
        else:
            assert (row["status"], row["reason_code"]) == ("quarantined", entry["bad"]["reason_code"])
            assert records.height == 0


# ----------------------------------------------------------------------------------- collection (収納)
PAYMENTS = INDEX["payments"]


def test_the_payment_samples_cover_every_channel_and_bank_file():
    kinds = {(e["direction"], e["channel"]) for e in PAYMENTS}
    assert {("inbound", c) for c in ("convenience", "mpn", "el_qr", "bank_counter", "special_remittance",
                                     "account_transfer_result")} <= kinds
    assert {("outbound", "zengin_91"), ("outbound", "zengin_21"), ("landing", "account_transfer_registrations"),
            ("landing", "public_benefit_accounts")} <= kinds
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for entry in PAYMENTS:
        assert entry["file"].rsplit("/", 1)[1] in readme, entry["file"]


@pytest.mark.parametrize("entry", [e for e in PAYMENTS if e["direction"] == "inbound"], ids=lambda e: e["channel"])
def test_an_inbound_payment_sample_reads_whole_and_its_bad_sibling_loses_exactly_its_fault(entry):
    """Through the collection stage's readers: the good file has no record in quarantine; the bad sibling's
    faulty record is quarantined with its reason and every other record still read (a 振替結果 with a wrong
    trailer is refused whole)."""
    from transforms.payment_records import read_payment_file
    from transforms.zengin_records import ZenginFormatError, read_zengin_file

    good = (SAMPLES / entry["file"]).read_bytes()
    bad = (SAMPLES / entry["bad"]["file"]).read_bytes()
    name = entry["file"].rsplit("/", 1)[1]
    if entry["channel"] == "account_transfer_result":
        assert read_zengin_file(good, file=name, kind="91_result").records.height >= 1
        with pytest.raises(ZenginFormatError) as refused:
            read_zengin_file(bad, file=name, kind="91_result")
        assert type(refused.value).__name__ == entry["bad"]["reason_code"]
        return
    read = read_payment_file(good, file=name, channel=entry["channel"])
    assert read.quarantine.height == 0 and read.records.height >= 1
    faulty = read_payment_file(bad, file=name, channel=entry["channel"])
    assert faulty.quarantine.select("record_no", "reason_code").rows() == [
        (entry["bad"]["record_no"], entry["bad"]["reason_code"])]
    assert faulty.records.height == read.records.height - 1


@pytest.mark.parametrize("entry", [e for e in PAYMENTS if e["direction"] == "outbound"], ids=lambda e: e["channel"])
def test_an_outbound_bank_sample_reads_back_and_writes_the_same_bytes(entry):
    from transforms.zengin_records import read_zengin_file, write_zengin_file

    data = (SAMPLES / entry["file"]).read_bytes()
    kind = entry["channel"].removeprefix("zengin_")
    zf = read_zengin_file(data, file=entry["file"], kind=kind)
    assert zf.records.height >= 1 and write_zengin_file(zf, file=entry["file"], kind=kind) == data
