"""The pension_special_collection stage on a small generated ward, fed with files written here from the
public record layout (docs/layouts/pension_exchange.md; the codec writes the bytes, the records are built
from the ward's residents as an insurer would send them), month by month: May's 特別徴収対象者情報, July's
requests, August's answers, November's results, and the bad files an insurer can deliver.

Expected amounts come from the ward's own installment schedule (what was asked) and from the files built
here (what the insurer says), never from the stage's outputs.
"""

from __future__ import annotations

import shutil
import unicodedata
from datetime import date
from pathlib import Path

import polars as pl
import pytest

pytestmark = pytest.mark.slow  # builds a generated ward and runs whole stages

M, N = "131032", 2026
UPSTREAM = ("resident_snapshot", "returns_ingest", "record_merge", "tax_assessment")
#: the insurers' names in the 公的年金等支払報告書 → their 特別徴収義務者コード (docs/sources.md#f3-2)
PAYER_CODES = {"日本年金機構": "999", "国家公務員共済組合連合会": "501", "地方職員共済組合": "594",
               "東京都職員共済組合": "596", "全国市町村共済組合連合会": "700", "日本私立学校振興・共済事業団": "686"}
_HALF = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF61, 0xFFA0)}


def _half_width(text: str | None) -> str | None:
    """Full-width katakana → JIS X 0201 half-width (voiced marks as separate ﾞ ﾟ), as the insurers write 氏名カナ."""
    if text is None:
        return None
    marks = {"\u3099": "ﾞ", "\u309a": "ﾟ", "\u3000": " "}
    return "".join(marks.get(ch, _HALF.get(ch, ch)) for ch in unicodedata.normalize("NFD", text))


def _env(monkeypatch, root: Path, lake: Path) -> None:
    monkeypatch.setenv("JUMINZEI_LAKE", str(lake))
    monkeypatch.setenv("JUMINZEI_VAULT_KEY_FILE", str(root / "keys" / "vault.key"))
    monkeypatch.setenv("JUMINZEI_DATA_DOCS", str(root / "data_docs"))


def _write(lake: Path, month: str, code: str, payer: str, created: date, data: pl.DataFrame, serial: int = 1) -> Path:
    from contracts.pension_exchange import exchange_file_name, landing_folder
    from transforms.pension_exchange_records import ControlBlock, ExchangeFile, write_exchange_file

    name = exchange_file_name(code, payer, created, serial)
    groups = pl.DataFrame({"municipality_code": [M[:5]], "payer_code": [payer], "notice_code": [code],
                           "medium_code": ["1"], "created_date": [created]})
    data = data.with_columns(pl.lit(M[:5]).alias("municipality_code"), pl.lit(payer).alias("payer_code"),
                             pl.lit(created).alias("created_date"))
    body = write_exchange_file(ExchangeFile(ControlBlock(M[:5], f"{serial:03d}", created), groups, {code: data}),
                               file=name)
    folder = lake / "landing" / landing_folder(M, N, month)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(body)
    return folder / name


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A lake after the 当初賦課 dispatch, with May's 00 files and last year's register."""
    from pipelines.lake import read_partition, write_partition
    from pipelines.notice_export import run as notice_export
    from pipelines.stages import stage_runner
    from sample_ward import generate_ward
    from transforms.pension_exchange_records import unencodable_kanji

    root = tmp_path_factory.mktemp("pension")
    generate_ward(root / "ward", residents=400, seed=11, fiscal_year=N)
    lake = root / "lake"
    shutil.copytree(root / "ward" / "landing", lake / "landing")
    with pytest.MonkeyPatch.context() as patch:
        _env(patch, root, lake)
        for stage in UPSTREAM:
            assert stage_runner(stage)(fiscal_year=N, municipality=M)["status"] == "success"
        # the generated ward's own pension exchange is replaced by files built here from the public layout
        shutil.rmtree(lake / "landing" / "pension_exchange")
        shutil.rmtree(lake / "landing" / "pension_previous_year")
        residents = read_partition(lake, "staging", "residents", M, N)
        reports = read_partition(lake, "staging", "pension_reports", M, N).filter(
            pl.col("is_current") & pl.col("atena_no").is_not_null()
            & pl.col("payer_name").is_in(list(PAYER_CODES))).sort(
            "atena_no", "art203_3_1_payment_yen", descending=[False, True]).unique("atena_no", keep="first")
        rows = reports.select(
            "atena_no", pl.col("payer_name").replace_strict(PAYER_CODES).alias("payer_code"), "basic_pension_no",
            "pension_code", pl.col("art203_3_1_payment_yen").alias("pension_annual_amount"),
        ).join(residents, on="atena_no").filter(pl.col("birth_date") <= date(N - 65, 4, 2)).select(
            "atena_no", "payer_code", "basic_pension_no", "pension_code", "pension_annual_amount",
            # every other pensioner continues from last year, with a previous pension-route tax of 3 % of the
            # pension rounded down to 100円 (a test's choice: any amount serves)
            pl.when(pl.col("atena_no").str.slice(9, 1).cast(pl.Int32) % 2 == 0).then(pl.lit("02"))
            .otherwise(pl.lit("01")).alias("category"),
            (pl.col("pension_annual_amount") * 3 // 100 // 100 * 100).alias("previous_year_tax"),
            "birth_date", pl.col("sex").cast(pl.String),
            pl.col("name_kana").map_elements(_half_width, return_dtype=pl.String), "name_kanji", "postal_code",
            pl.col("address").alias("address_kanji"))
        rows = rows.filter(unencodable_kanji(rows["name_kanji"]).is_null()
                           & unencodable_kanji(rows["address_kanji"]).is_null())
        # last year's register (the ward's own, as the system would have written it a year ago)
        register = rows.filter(pl.col("category") == "02").select(
            "atena_no", "basic_pension_no", "pension_code", "payer_code", pl.col("previous_year_tax").cast(pl.Int64))
        write_partition(lake, "curated", "pension_register", M, N - 1, register, sort_by=["basic_pension_no"],
                        run_id="register-2025")
        for payer in sorted(rows["payer_code"].unique().to_list()):
            mine = rows.filter(pl.col("payer_code") == payer)
            _write(lake, "2026-05", "00", payer, date(2026, 5, 20), mine.select(
                "basic_pension_no", "pension_code", "birth_date", "sex", "name_kana", "name_kanji", "postal_code",
                pl.lit(None, pl.String).alias("address_kana"), "address_kanji", "category",
                pl.lit(date(2026, 4, 1)).alias("event_date"), pl.col("pension_annual_amount").alias("amount_1"),
                pl.lit(0, pl.Int64).alias("amount_2"), pl.lit(0, pl.Int64).alias("amount_3"),
                pl.lit(None, pl.String).alias("mutual_aid_certificate_no")))
        # May's run decides who is withheld from a pension; the 当初賦課 dispatch reads it
        assert _run("2026-05")["status"] == "success"
        assert notice_export(fiscal_year=N, municipality=M, notice_date="2026-05-20")["status"] == "success"
    return root


@pytest.fixture()
def lake(template, tmp_path, monkeypatch) -> Path:
    lake = tmp_path / "lake"
    shutil.copytree(template / "lake", lake)
    _env(monkeypatch, template, lake)
    return lake


def _run(month: str, **options) -> dict:
    from pipelines.pension_special_collection import run

    return run(fiscal_year=N, municipality=M, processing_month=month, **options)


def _read(lake: Path, zone: str, dataset: str) -> pl.DataFrame:
    from pipelines.lake import read_partition

    return read_partition(lake, zone, dataset, M, N)


def _sent(lake: Path, code: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((lake / "exports" / "pension_insurers").rglob(f"Z4{code}_*.dta"))}


def _answer(lake: Path, month: str, refuse: int = 1) -> None:
    """The insurers' 02: every 01 record echoed, 処理結果 00, but the ``refuse``-th 特別徴収対象者 of 999: 02 年金額不足."""
    from transforms.pension_exchange_records import read_exchange_file

    for name, body in _sent(lake, "01").items():
        records = read_exchange_file(body, file=name).records["01"]
        payer = name[5:8]
        result = pl.Series(["00"] * records.height)
        withheld = [i for i, c in enumerate(records["category"].to_list()) if c == "01"]
        if payer == "999":
            result[withheld[refuse]] = "02"
        _write(lake, month, "02", payer, date(2026, 8, 10), records.drop("municipality_code", "payer_code",
               "created_date").with_columns(result.alias("result"), pl.lit(date(2026, 8, 10)).alias("event_date")))


def test_a_year_of_exchange_reconciles_to_the_yen(lake):
    from transforms.pension_exchange_records import read_exchange_file

    may = _run("2026-05")
    assert may["status"] == "success" and may["reconciliation"]["ok"]
    targets = _read(lake, "curated", "pension_targets")
    assert targets["withholding"].all() and targets.height == may["counts"]["target_records"]
    july = _run("2026-07")
    assert july["handoffs"] and july["handoffs"][0]["recipient"] == "pension_insurers"
    # what was sent: each 01 file round-trips, its 本徴収 amounts are the installment schedule's, and the
    # trailers match the records (the reader checks them)
    schedule = _read(lake, "curated", "installment_schedule").filter(pl.col("route") == "pension_main")
    expected = {(r["person_id"], r["period"]): r["amount"] for r in schedule.iter_rows(named=True)}
    sent = 0
    for name, body in _sent(lake, "01").items():
        exchange = read_exchange_file(body, file=name)
        from transforms.pension_exchange_records import write_exchange_file

        assert write_exchange_file(exchange, file=name) == body
        records = exchange.records["01"].join(
            targets.select("basic_pension_no", "pension_code", "atena_no"), on=["basic_pension_no", "pension_code"])
        for r in records.filter(pl.col("category") == "01").iter_rows(named=True):
            got = (r["amount_1"], r["amount_2"], r["amount_3"])
            want = tuple(expected.get((r["atena_no"], p), 0) for p in ("2026-10", "2026-12", "2027-02"))
            assert got == want, r["atena_no"]
            sent += 1
    assert sent == july["counts"]["requests_withheld"] > 0

    _answer(lake, "2026-08")
    august = _run("2026-08")
    assert august["reconciliation"]["ok"] and august["counts"]["persons_moved_this_month"] == 1
    moved = _read(lake, "curated", "pension_moves")
    person = moved["atena_no"].unique().to_list()
    assert len(person) == 1 and set(moved["stop_reason"]) == {"result_02"}
    main = schedule.filter(pl.col("person_id") == person[0])
    assert int(moved["amount"].sum()) == int(main["amount"].sum())  # every 本徴収 month of the refused request
    # the switch is in the run report and, with the 宛名番号 concerned, in the audit log
    assert any("moved to 普通徴収" in m for m in august["messages"])
    from pipelines.audit import read_audit, verify_chain

    (audit,) = [r for r in read_audit(lake) if r["operation"] == "pension_switch_to_ordinary"]
    assert audit["atena_nos"] == person and audit["details"]["amount"] == int(moved["amount"].sum())
    assert verify_chain(lake).ok
    switch = _read(lake, "curated", "pension_switch_installments")
    assert int(switch["amount"].sum()) == int(moved["amount"].sum())
    # 20 August: the 普通徴収 納期 at least 10 days ahead are 8月 (31 Aug), 10月 and 1月 (rules late_notice)
    assert switch["period"].to_list() == ["2026-08", "2026-10", "2027-01"]
    assert switch["due_date"].min() >= date(2026, 8, 30)


def _no_records() -> pl.DataFrame:
    """The columns of a data record of any notice type (they share the frame), without a row."""
    from contracts.pension_exchange import load_exchange_layouts

    columns = [f for f in load_exchange_layouts().notice("22").data.columns
               if f.id not in ("municipality_code", "payer_code", "created_date")]
    return pl.DataFrame(schema={f.id: getattr(pl, f.dtype) for f in columns})


def test_bad_files_are_quarantined_whole_and_a_corrected_file_supersedes(lake):
    from contracts.pension_exchange import landing_folder, load_exchange_layouts

    _run("2026-05")
    folder = lake / "landing" / landing_folder(M, N, "2026-09")
    good = _write(lake, "2026-09", "22", "700", date(2026, 9, 10), _no_records())  # a result file without records
    body = good.read_bytes()
    (folder / "Z422_686_20260910_001.dta").write_bytes(body[:-1])  # a record one byte short
    wrong_total = bytearray(body)
    count = load_exchange_layouts().trailer.field("record_count")  # 合計件数 of the trailer, the last record
    wrong_total[-500 + count.start - 1:-500 + count.start - 1 + count.length] = b"1".rjust(count.length, b"0")
    (folder / "Z422_594_20260910_001.dta").write_bytes(bytes(wrong_total))
    (folder / "notes.txt").write_bytes(b"not a file of the exchange")
    report = _run("2026-09")
    assert report["status"] == "success"
    quarantine = _read(lake, "quarantine", "pension_special_collection")
    reasons = {file.rsplit("/", 1)[1]: reason for file, reason in quarantine.select("file", "reason_code").iter_rows()}
    assert set(quarantine["file"].str.replace(r"/[^/]+$", "")) == {folder.relative_to(lake / "landing").as_posix()}
    assert quarantine["record_no"].null_count() == quarantine.height  # a file is quarantined whole
    assert reasons == {"Z422_686_20260910_001.dta": "record_length", "Z422_594_20260910_001.dta": "trailer_totals",
                       "notes.txt": "file_name"}
    files = _read(lake, "staging", "pension_files").filter(pl.col("month") == "2026-09")
    assert files.filter(pl.col("status") == "staged")["file"].to_list() == ["Z422_700_20260910_001.dta"]
    assert report["counts"]["received"] == report["counts"]["staged"] + report["counts"]["quarantined"]
    # the same file sent again, corrected, in the next month: the second serial is used
    _write(lake, "2026-10", "22", "700", date(2026, 9, 10), _no_records(), serial=2)
    october = _run("2026-10")
    assert october["counts"]["files_superseded"] == 1


def test_a_rerun_is_byte_identical_and_months_run_in_order(lake):
    from pipelines.pension_special_collection import PensionExchangeStopped

    _run("2026-05")
    _run("2026-06")
    first = _run("2026-07")
    digests = {p.relative_to(lake).as_posix(): p.read_bytes() for p in (lake / "curated").rglob("*.parquet")}
    again = _run("2026-07")
    assert again["handoffs"][0]["unchanged"] and again["handoffs"][0]["run_id"] == first["handoffs"][0]["run_id"]
    assert {p.relative_to(lake).as_posix(): p.read_bytes() for p in (lake / "curated").rglob("*.parquet")} == digests
    # an earlier month with the files it was processed with: nothing to do; with a new file: refused
    june = _run("2026-06")
    assert june["status"] == "success" and june["outputs"] == [] and "processed already" in june["messages"][-1]
    _write(lake, "2026-06", "22", "999", date(2026, 6, 10), _no_records())
    with pytest.raises(PensionExchangeStopped, match="processed up to 2026-07"):
        _run("2026-06")


def test_the_request_month_needs_the_dispatched_assessment(lake):
    from pipelines.pension_special_collection import PensionExchangeStopped

    shutil.rmtree(lake / "curated" / "collection_plan")
    with pytest.raises(PensionExchangeStopped, match="dispatch notice_export"):
        _run("2026-07")


def test_a_record_the_matching_cannot_decide_waits_for_the_operator_and_then_follows_the_decision(lake):
    """A pensioner whose insurer holds an old address outside the ward (name, birth date and sex agree: 80
    points, below the 90 of an automatic match) and no 基礎年金番号 the register knows: the record goes to the
    review queue, is not withheld from, and appears on the review desk as a 年金特徴 item; the operator's
    `person` decision ties it at the next run of the month."""
    from datetime import UTC, datetime

    from pipelines.config import Settings
    from pipelines.lake import read_partition
    from pipelines.review import decide, load_desk

    residents = read_partition(lake, "staging", "residents", M, N)
    someone = residents.filter(pl.col("birth_date") <= date(N - 65, 4, 2)).sort("atena_no").row(0, named=True)
    record = pl.DataFrame({
        "basic_pension_no": ["9876543210"], "pension_code": ["1150"], "birth_date": [someone["birth_date"]],
        "sex": [str(someone["sex"])], "name_kana": [_half_width(someone["name_kana"])],
        "name_kanji": [someone["name_kanji"]], "postal_code": ["0600001"], "address_kana": [None],
        "address_kanji": ["北海道札幌市中央区北一条西二丁目"], "category": ["01"], "event_date": [date(N, 4, 1)],
        "amount_1": [1_500_000], "amount_2": [0], "amount_3": [0], "mutual_aid_certificate_no": [None]},
        schema_overrides={"address_kana": pl.String, "mutual_aid_certificate_no": pl.String})
    path = _write(lake, "2026-05", "00", "999", date(2026, 5, 21), record)
    _run("2026-05")
    doc = f"{path.name}#2"
    target = _read(lake, "curated", "pension_targets").filter(pl.col("doc_uid") == doc).row(0, named=True)
    assert (target["match_decision"], target["withholding"]) == ("review", False)
    settings = Settings.from_env()
    desk = load_desk(settings, M, N)
    (item,) = desk.items.filter(pl.col("item_key") == doc).iter_rows(named=True)
    assert item["item_kind"] == "pension_target" and someone["atena_no"] in item["persons"]
    decide(settings, municipality=M, fiscal_year=N, item=item["item_id"], decision="person",
           target=someone["atena_no"], reason="基礎年金番号の照会で本人と確認", now=datetime.now(UTC))
    again = _run("2026-05")
    assert any("operator's decision" in m for m in again["messages"])
    target = _read(lake, "curated", "pension_targets").filter(pl.col("doc_uid") == doc).row(0, named=True)
    assert (target["atena_no"], target["match_rule"]) == (someone["atena_no"], "review_decision")


def test_an_addition_candidate_is_matched_answered_once_and_not_withheld_from_this_year(lake):
    """A 特別徴収追加候補者 (30) in October: tied to its resident like a May record and recorded, and answered in
    October's hand-off by one 追加依頼通知 (31) that echoes its identity as 特別徴収非対象者 (03) with amounts 0:
    nothing is withheld from it this 年度 (its pension tax is in 普通徴収 since the 当初賦課). A rerun of October
    and November's run send nothing more; the insurer's 32 in November closes it."""
    from pipelines.lake import read_partition
    from transforms.pension_exchange_records import read_exchange_file

    residents = read_partition(lake, "staging", "residents", M, N)
    targets = _read(lake, "curated", "pension_targets")
    someone = residents.filter((pl.col("birth_date") <= date(N - 65, 4, 2))
                               & ~pl.col("atena_no").is_in(targets["atena_no"].drop_nulls().implode())) \
        .sort("atena_no").row(0, named=True)
    record = pl.DataFrame({
        "basic_pension_no": ["5550001111"], "pension_code": ["1150"], "birth_date": [someone["birth_date"]],
        "sex": [str(someone["sex"])], "name_kana": [_half_width(someone["name_kana"])],
        "name_kanji": [someone["name_kanji"]], "postal_code": [someone["postal_code"]], "address_kana": [None],
        "address_kanji": [someone["address"]], "category": ["01"], "event_date": [date(N, 9, 1)],
        "amount_1": [900_000], "amount_2": [0], "amount_3": [0], "mutual_aid_certificate_no": [None]},
        schema_overrides={"address_kana": pl.String, "mutual_aid_certificate_no": pl.String})
    _write(lake, "2026-10", "30", "999", date(2026, 10, 10), record)
    for month in ("2026-05", "2026-06", "2026-07", "2026-08", "2026-09"):
        _run(month)
    october = _run("2026-10")
    assert october["counts"]["addition_candidates"] == 1
    (added,) = _read(lake, "curated", "pension_candidates").iter_rows(named=True)
    assert (added["atena_no"], added["match_decision"]) == (someone["atena_no"], "auto")
    assert someone["atena_no"] not in set(_read(lake, "curated", "pension_targets")["atena_no"].drop_nulls())
    assert october["counts"]["addition_answers_sent"] == 1
    (name, data), = _sent(lake, "31").items()
    assert name == "Z431_999_20261020_001.dta"  # the month's exchange date (profile switch_notice_day 20)
    (answer,) = read_exchange_file(data, file=name).records["31"].iter_rows(named=True)
    assert {k: answer[k] for k in ("basic_pension_no", "pension_code", "birth_date", "name_kanji", "category",
                                   "amount_1", "amount_2", "amount_3")} == {
        "basic_pension_no": "5550001111", "pension_code": "1150", "birth_date": someone["birth_date"],
        "name_kanji": someone["name_kanji"], "category": "03", "amount_1": 0, "amount_2": 0, "amount_3": 0}
    assert _run("2026-10")["status"] == "success"
    assert list(_sent(lake, "31")) == [name]
    reply = read_exchange_file(data, file=name).records["31"].with_columns(
        pl.lit("00").alias("result"), pl.lit(date(2026, 11, 10)).alias("event_date"))
    _write(lake, "2026-11", "32", "999", date(2026, 11, 10), reply.drop("municipality_code", "payer_code",
                                                                            "created_date"))
    november = _run("2026-11")
    assert november["counts"].get("addition_answers_sent", 0) == 0 and list(_sent(lake, "31")) == [name]
    (closed,) = _read(lake, "curated", "pension_answers").filter(pl.col("notice_code") == "31").iter_rows(named=True)
    assert (closed["atena_no"], closed["status"]) == (someone["atena_no"], "accepted")
