"""The collection stage's hand-off files (pipelines.collection_files): the 督促状 and 還付通知書 print data and the
refunds' 全銀 総合振込 (種別 21) — fields, totals, the DV等支援措置 persons held, the 21 file read back by the same
codec with the same totals, no 12-digit number in any print file (docs/sources.md T10, T11, T12, F8, F9).

Hand-built demand and refund rows (the schemas of pipelines.collection), residents, 送付先, employers and
公金受取口座; every expected figure is worked out in the test from the rows above it."""

from __future__ import annotations

import io
import json
import re
from datetime import date

import polars as pl
import pytest

from contracts.errors import ConfigError
from contracts.handoff_layouts import load_handoff_layout, render_markdown
from pipelines import collection_files as cf
from pipelines.collection import DEMAND_SCHEMA, REFUND_SCHEMA
from pipelines.handoff import write_handoff
from transforms.zengin_records import read_zengin_file

M, N = "131032", 2026
ISSUED, DEADLINE = date(2026, 7, 21), date(2026, 7, 31)
DECIDED, TRANSFER = date(2026, 7, 21), date(2026, 7, 31)
PLAIN, GAIJI, PROTECTED, ABROAD = "0100000001", "0100000002", "0100000004", "0100000009"
MY_NUMBERS = pl.Series(["123456789018"])  # a valid check digit (docs/sources.md P1.2): planted in the vault

RESIDENTS = pl.DataFrame({
    "atena_no": [PLAIN, GAIJI, "0100000003", PROTECTED],
    "name_kanji": ["港　一郎", "𠮷田　花子", "芝　三郎", "高輪　四郎"],
    "name_kana": ["ミナト　イチロウ", "ヨシダ　ハナコ", "シバ　サブロウ", "タカナワ　シロウ"],
    "postal_code": ["1080074", "1050011", "1070062", "1080071"],
    "address": ["東京都港区高輪一丁目１番１号", "東京都港区芝公園二丁目２番２号", "東京都港区南青山三丁目３番３号",
                "東京都港区白金台四丁目４番４号"],
    "address_detail": ["高輪ハイツ１０１号室", None, None, None],
})
MAILING = pl.DataFrame({
    "person_id": [GAIJI], "addressee": ["青山　太郎様方"], "postal_code": ["5300001"],
    "address": ["大阪府大阪市北区梅田一丁目１番１号"], "address_detail": [None],
}, schema_overrides={"address_detail": pl.String})
EMPLOYERS = pl.DataFrame({
    "designation_no": ["A0001", "B0002"], "employer_name": ["株式会社みなと商事", "芝浦工業株式会社"],
    "employer_postal_code": ["1050001", None],
    "employer_address": ["東京都港区虎ノ門一丁目１番１号", "東京都港区芝浦四丁目４番４号"],
    "notice_method_employer": ["paper", "paper"], "notice_method_employee": ["paper", "paper"],
})
SHIELDED = pl.Series([PROTECTED])
TWELVE = re.compile(r"(?<![0-9０-９])[0-9０-９]{12}(?![0-9０-９])")


def _demand(atena: str, route: str, payer: str | None, unpaid: int, late: int | None, *, charged: int | None = None,
            period: str = "2026-06", installment: int = 1, fee: int = 0) -> dict:
    notice = f"2026{'2' if route == 'salary' else '1'}{atena}"
    return {"posting_run": ISSUED.isoformat(), "issued_on": ISSUED,
            "demand_no": f"20260721-{notice}-{route}-{payer or '-'}-{period}", "atena_no": atena, "notice_no": notice,
            "route": route, "payer": payer, "period": period, "installment": installment, "due_date": date(2026, 6, 30),
            "charged": charged or unpaid, "unpaid": unpaid, "late_charge": late, "fee": fee, "deadline": DEADLINE}


DEMANDS = pl.DataFrame([
    _demand(PLAIN, "ordinary", None, 25_000, None, charged=30_000),          # 延滞金 not computed
    _demand(GAIJI, "ordinary", None, 12_000, 1_000, fee=100),               # to the 送付先, with a fee
    _demand(GAIJI, "salary", "A0001", 8_000, None, installment=3),           # to the employer
    _demand(PROTECTED, "ordinary", None, 40_000, 1_200),                     # DV等支援措置: held
    _demand(PROTECTED, "salary", "B0002", 9_000, None, installment=3),       # held too, on the employer route
    _demand(ABROAD, "ordinary", None, 5_000, None),                          # not a resident: no address, held
], schema=DEMAND_SCHEMA)


def _demand_files(demands: pl.DataFrame = DEMANDS):
    return cf.demand_notice_files(demands, residents=RESIDENTS, mailing=MAILING, protected=SHIELDED,
                                  employers=EMPLOYERS, fiscal_year=N, municipality_code=M)


def _records(demands: pl.DataFrame = DEMANDS) -> pl.DataFrame:
    return cf.demand_notices(demands, residents=RESIDENTS, mailing=MAILING, protected=SHIELDED, employers=EMPLOYERS,
                             fiscal_year=N, municipality_code=M)


def _by_name(files) -> dict:
    return {f.name: f for f in files}


def _csv_text(item) -> str:
    from pipelines.handoff import file_bytes

    return file_bytes(item).decode("cp932")


# ------------------------------------------------------------------------------------------------ 督促状
def test_a_demand_notice_prints_what_a_tokusokujo_prints():
    rows = {(r["person_id"], r["route"]): r for r in _by_name(_demand_files())["demand_notice.csv"].frame
            .iter_rows(named=True)}
    plain = rows[(PLAIN, "ordinary")]
    assert (plain["addressee_name"], plain["addressee_postal_code"], plain["address_basis"]) == (
        "港　一郎", "1080074", "residence")
    assert plain["addressee_address_detail"] == "高輪ハイツ１０１号室"
    assert plain["obligor_address"] == "東京都港区高輪一丁目１番１号　高輪ハイツ１０１号室"
    assert (plain["issued_on"], plain["deadline"], plain["due_date"]) == (ISSUED, DEADLINE, date(2026, 6, 30))
    assert (plain["authority_name"], plain["tax_item"], plain["fiscal_year"]) == ("港区長", "特別区民税・都民税", 2026)
    assert (plain["installment_amount"], plain["tax_amount"]) == (30_000, 25_000)  # 調定 and what is unpaid
    # no 延滞金 computed: the field is empty, the flag says the form prints the sentence, the total is the tax alone
    assert (plain["late_charge"], plain["late_charge_until_payment"], plain["total_amount"]) == (None, "true", 25_000)
    assert "地方税法第329条第1項" in plain["legal_basis"] and "第331条第1項" in plain["legal_basis"]
    assert "3か月以内に、港区長に対して審査請求" in plain["appeal_notice"]
    assert "港区を被告として" in plain["appeal_notice"]
    assert (plain["designation_no"], plain["employee_name"]) == (None, None)

    mailed = rows[(GAIJI, "ordinary")]  # the registered 送付先
    assert (mailed["addressee_name"], mailed["address_basis"], mailed["addressee_postal_code"]) == (
        "青山　太郎様方", "mailing_address", "5300001")
    assert mailed["obligor_name"] == "〓田　花子"  # 𠮷 is not CP932: 〓 in the CSV (the encoding report names it)
    assert (mailed["late_charge"], mailed["fee"], mailed["late_charge_until_payment"]) == (1_000, 100, "false")
    assert mailed["total_amount"] == 12_000 + 1_000 + 100

    salary = rows[(GAIJI, "salary")]  # 給与特別徴収: the 特別徴収義務者 is demanded, at its own address
    assert (salary["addressee_name"], salary["obligor_name"], salary["address_basis"]) == (
        "株式会社みなと商事", "株式会社みなと商事", "employer")
    assert (salary["addressee_postal_code"], salary["addressee_address"], salary["addressee_address_detail"]) == (
        "1050001", "東京都港区虎ノ門一丁目１番１号", None)
    assert (salary["designation_no"], salary["employee_name"], salary["installment"]) == ("A0001", "〓田　花子", 3)
    assert salary["total_amount"] == 8_000


def test_the_print_files_are_the_csv_the_parquet_and_the_encoding_report_in_postal_order():
    files = _by_name(_demand_files())
    assert list(files) == ["demand_notice.csv", "demand_notice.parquet", "demand_notice_encoding_report.csv"]
    csv = files["demand_notice.csv"].frame
    # postal order: 1050001 (employer), 1080074 (港), 5300001 (送付先 in 大阪)
    assert csv.select("dispatch_seq", "addressee_postal_code").rows() == [(1, "1050001"), (2, "1080074"),
                                                                          (3, "5300001")]
    assert csv.columns == load_handoff_layout("demand_notice").columns()
    parquet = files["demand_notice.parquet"].frame
    assert parquet["employee_name"].to_list() == ["𠮷田　花子", None, None]  # the character itself
    text = _csv_text(files["demand_notice.csv"])
    assert text.startswith("dispatch_seq,demand_no,issued_on,") and "\r\n" in text and "𠮷" not in text
    report = files["demand_notice_encoding_report.csv"].frame
    assert report.select("print_file", "notice_no", "character", "code_point").unique().sort("notice_no").rows() == [
        ("demand_notice.csv", f"20261{GAIJI}", "𠮷", "U+20BB7"),
        ("demand_notice.csv", f"20262{GAIJI}", "𠮷", "U+20BB7")]


def test_a_protected_persons_demands_are_held_on_both_routes_and_carry_no_address():
    records = _records()
    held = cf.held_notices(records, "demand_notice")
    assert held.select("person_id", "route", "reason", "amount").rows() == [
        (PROTECTED, "ordinary", "support_measures", 40_000 + 1_200), (PROTECTED, "salary", "support_measures", 9_000),
        (ABROAD, "ordinary", "no_address", 5_000)]
    assert set(held.columns) == {"person_id", "notice_kind", "document_no", "notice_no", "route", "reason", "amount"}
    shielded = records.filter(pl.col("person_id") == PROTECTED)
    address = shielded.select("addressee_address", "addressee_postal_code", "addressee_name", "obligor_address")
    assert address.null_count().row(0) == (2, 2, 2, 2)  # nothing to print with, even by mistake
    for item in _demand_files():
        text = _csv_text(item) if item.fmt == "csv" else item.frame.write_csv()
        for trace in (PROTECTED, "高輪　四郎", "白金台", "芝浦工業", ABROAD):
            assert trace not in text, (item.name, trace)


def test_every_demand_is_printed_or_held_and_the_manifest_totals_are_the_sums(tmp_path):
    from pipelines.lake import hold_my_numbers

    hold_my_numbers(tmp_path, M, N, MY_NUMBERS)  # the guard of paper files is armed: nothing of ours trips it
    files = _demand_files()
    printed = files[0].frame
    held = cf.held_notices(_records(), "demand_notice")
    assert printed.height + held.height == DEMANDS.height
    out = write_handoff(tmp_path, recipient="print_vendor", municipality=M, fiscal_year=N,
                        run_id="20260721T000000Z-collection-1", files=files, source={"collection": "2026-07-21"})
    manifest = json.loads((tmp_path / out["path"] / "manifest.json").read_text(encoding="utf-8"))
    totals = manifest["control_totals"]["demand_notice.csv"]
    assert totals["rows"] == totals["notices"] == 3
    assert totals["sum_tax_amount"] == 25_000 + 12_000 + 8_000
    assert totals["sum_late_charge"] == 1_000 and totals["sum_fee"] == 100
    assert totals["sum_total_amount"] == 25_000 + 13_100 + 8_000
    assert totals["sum_installment_amount"] == 30_000 + 12_000 + 8_000
    assert manifest["control_totals"]["demand_notice.parquet"] == totals
    held_tax = int(_records().filter(pl.col("hold_reason").is_not_null())["tax_amount"].sum())
    assert totals["sum_tax_amount"] + held_tax == int(DEMANDS["unpaid"].sum())  # every 本税 printed or held


def test_no_demand_nothing_to_print():
    assert _demand_files(DEMANDS.filter(pl.col("atena_no") == PROTECTED)) == []
    assert _demand_files(DEMANDS.clear()) == []


def test_a_ward_outside_tokyo_gets_its_own_tax_item_and_head():
    assert cf.ward_texts("141003") == {"body": "横浜市", "authority_name": "横浜市長", "tax_item": "市民税・県民税"}
    with pytest.raises(ConfigError, match="999999"):
        cf.ward_texts("999999")


# ------------------------------------------------------------------------------------------------ 還付
ACCOUNTS = pl.DataFrame({
    "atena_no": [PLAIN, PROTECTED, "0100000003"],
    "bank_code": ["0009", "9900", "0005"], "branch_code": ["825", "018", "041"], "deposit_type": ["1", "1", "4"],
    "account_no": ["7654321", "1234567", "0012345"],
    "account_holder_kana": ["ミナト　イチロウ", "タカナワ　シロウ", "芝　サブロウ"],  # the last has a kanji
    "obtained_on": ["20250401", "20240101", "20230101"],
})
CONSIGNOR = cf.Consignor(remitter_code="1310320002", remitter_name="ミナトク", bank_code="0005",
                         bank_name="ミツビシユーエフジェイ", branch_code="041", branch_name="アカサカ",
                         deposit_type="2", account_no="7777777")


def _refund(atena: str, refund: int, addition: int | None, *, route: str = "ordinary", period: str = "2026-06",
            installment: int = 1) -> dict:
    return {"posting_run": DECIDED.isoformat(), "decided_on": DECIDED, "atena_no": atena, "notice_no": f"20261{atena}",
            "route": route, "payer": "001" if route.startswith("pension") else None, "period": period,
            "installment": installment, "refund": refund, "paid_on": date(2026, 6, 20), "refund_addition": addition}


REFUNDS = pl.DataFrame([
    _refund(PLAIN, 30_000, 1_000),                                      # 公金受取口座: transferred with its 加算金
    _refund(PLAIN, 4_000, None, period="2026-08", installment=2),       # 加算金 not decided: the refund only
    _refund(GAIJI, 12_000, None),                                       # no account: 口座振込依頼書
    _refund("0100000003", 7_000, 0, route="pension_main", period="2026-10", installment=7),  # kanji in the kana
    _refund(PROTECTED, 50_000, 2_000),                                  # held notice, paid all the same
], schema=REFUND_SCHEMA)


def _refund_files(refunds: pl.DataFrame = REFUNDS, accounts: pl.DataFrame = ACCOUNTS, **kw):
    return cf.refund_files(refunds, residents=RESIDENTS, mailing=MAILING, protected=SHIELDED, accounts=accounts,
                           fiscal_year=N, municipality_code=M, transfer_day=kw.pop("transfer_day", TRANSFER),
                           consignor=CONSIGNOR, **kw)


def test_a_refund_notice_says_how_much_and_how_it_is_paid():
    out = _refund_files()
    rows = {(r["person_id"], r["period"]): r for r in _by_name(out.print_files)["refund_notice.csv"].frame
            .iter_rows(named=True)}
    paid = rows[(PLAIN, "2026-06")]
    assert (paid["refund_amount"], paid["refund_addition"], paid["total_amount"]) == (30_000, 1_000, 31_000)
    assert (paid["payment_method"], paid["transfer_date"], paid["bank_code"], paid["branch_code"]) == (
        "public_benefit_account", TRANSFER, "0009", "825")
    assert (paid["deposit_type"], paid["account_no_masked"], paid["refund_addition_decided"]) == (
        "1", "****321", "true")
    assert (paid["refund_no"], paid["decided_on"], paid["authority_name"]) == ("20260721-000001", DECIDED, "港区長")
    assert (paid["addressee_name"], paid["address_basis"], paid["taxpayer_name_kana"]) == (
        "港　一郎", "residence", "ミナト　イチロウ")
    assert "地方税法第17条" in paid["legal_basis"] and "第17条の4" in paid["legal_basis"]
    pending = rows[(PLAIN, "2026-08")]  # no 加算金 decided: empty, flagged, the total is the refund
    assert (pending["refund_addition"], pending["refund_addition_decided"], pending["total_amount"]) == (
        None, "false", 4_000)
    mailed = rows[(GAIJI, "2026-06")]  # no 公金受取口座: the 口座振込依頼書, no account printed; to the 送付先
    assert (mailed["payment_method"], mailed["transfer_date"], mailed["bank_code"], mailed["account_no_masked"]) == (
        "transfer_request", None, None, None)
    assert (mailed["addressee_name"], mailed["taxpayer_name"]) == ("青山　太郎様方", "〓田　花子")
    kanji = rows[("0100000003", "2026-10")]  # an account whose kana cannot be written: the request form instead
    assert (kanji["payment_method"], kanji["route"], kanji["installment"]) == ("transfer_request", "pension_main", 7)
    assert PROTECTED not in {p for p, _ in rows}
    text = _csv_text(_by_name(out.print_files)["refund_notice.csv"])
    for trace in ("7654321", "1234567", "高輪　四郎", "白金台"):
        assert trace not in text  # no full account number, nothing of the protected person


def test_the_transfer_file_reads_back_with_the_same_totals():
    out = _refund_files()
    zf = read_zengin_file(out.transfer, file=cf.transfer_file_name(TRANSFER), kind="21")
    records = zf.records
    # PLAIN 31,000 and 4,000 (refund only); PROTECTED 52,000: paid to the 公金受取口座 although the notice is held
    assert records.select("customer_code_1", "amount").rows() == [(PLAIN, 31_000), (PLAIN, 4_000),
                                                                  (PROTECTED, 52_000)]
    assert zf.trailers.row(0, named=True)["total_count"] == 3
    assert zf.trailers.row(0, named=True)["total_amount"] == int(records["amount"].sum()) == 87_000
    assert records["payee_name"].to_list() == ["ﾐﾅﾄ ｲﾁﾛｳ", "ﾐﾅﾄ ｲﾁﾛｳ", "ﾀｶﾅﾜ ｼﾛｳ"]
    assert records.select("bank_code", "branch_code", "deposit_type", "account_no").row(2) == (
        "9900", "018", "1", "1234567")
    assert records["customer_code_2"].to_list() == ["0721000001", "0721000002", "0721000005"]  # MMDD + the 連番
    header = zf.header
    assert (header["transfer_date"], header["remitter_code"], header["code_class"]) == ("0731", "1310320002", "0")
    assert out.transfer[:4] == b"1210"  # データ区分 1, 種別コード 21, コード区分 0
    assert (header["remitter_name"], header["bank_name"], header["account_no"]) == ("ﾐﾅﾄｸ", "ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ", "7777777")
    # the file's total is the notices' 合計 of the refunds it pays
    notices, _ = cf.refund_notices(REFUNDS, residents=RESIDENTS, mailing=MAILING, protected=SHIELDED, accounts=ACCOUNTS,
                                   fiscal_year=N, municipality_code=M, transfer_day=TRANSFER)
    paid = notices.filter(pl.col("payment_method") == "public_benefit_account")
    assert int(paid["total_amount"].sum()) == 87_000 and paid["refund_no"].to_list() == [
        "20260721-000001", "20260721-000002", "20260721-000005"]


def test_the_messages_say_what_was_paid_without_its_addition_and_what_is_held():
    messages = _refund_files().messages
    text = "\n".join(messages)
    assert "2 refunds (16000 yen) have no 還付加算金 decided" in text  # 4,000 + 12,000
    assert "1 of them are transferred for the 還付金 only (4000 yen)" in text
    assert "1 公金受取口座 have a 口座名義カナ with a character that has no 全銀 form (宛名番号 0100000003)" in text
    assert "1 還付通知書 of persons under a DV等支援措置 are held" in text
    assert "1 of their refunds are transferred" in text
    assert "3 transfers, 87000 yen (還付金 84000, 還付加算金 3000)" in text
    for message in messages:
        assert "ミナト" not in message and "ﾐﾅﾄ" not in message and "7654321" not in message  # no name, no account


def test_the_refund_print_files_and_their_totals(tmp_path):
    from pipelines.lake import hold_my_numbers

    hold_my_numbers(tmp_path, M, N, MY_NUMBERS)
    out = _refund_files()
    assert [f.name for f in out.print_files] == ["refund_notice.csv", "refund_notice.parquet",
                                                 "refund_notice_encoding_report.csv"]
    csv = out.print_files[0].frame
    assert csv.columns == load_handoff_layout("refund_notice").columns()
    assert csv.select("dispatch_seq", "addressee_postal_code").rows() == [
        (1, "1070062"), (2, "1080074"), (3, "1080074"), (4, "5300001")]
    written = write_handoff(tmp_path, recipient="print_vendor", municipality=M, fiscal_year=N,
                            run_id="20260721T000000Z-collection-1", files=out.print_files, source={})
    totals = written["control_totals"]["refund_notice.csv"]
    assert totals["rows"] == totals["notices"] == 4
    assert totals["sum_refund_amount"] == 30_000 + 4_000 + 12_000 + 7_000
    assert totals["sum_refund_addition"] == 1_000 and totals["sum_total_amount"] == 54_000
    held = cf.held_notices(cf.refund_notices(REFUNDS, residents=RESIDENTS, mailing=MAILING, protected=SHIELDED,
                                             accounts=ACCOUNTS, fiscal_year=N, municipality_code=M,
                                             transfer_day=TRANSFER)[0], "refund_notice")
    assert held.select("person_id", "document_no", "reason", "amount").rows() == [
        (PROTECTED, "20260721-000005", "support_measures", 52_000)]
    assert totals["sum_total_amount"] + int(held["amount"].sum()) == int(
        (REFUNDS["refund"] + REFUNDS["refund_addition"].fill_null(0)).sum())


def test_no_twelve_digit_number_in_any_print_file():
    from pipelines.handoff import file_bytes

    for item in [*_demand_files(), *_refund_files().print_files]:
        if item.fmt == "csv":
            text = _csv_text(item)
        else:  # the file as written, read back: every value of every column
            text = pl.read_parquet(io.BytesIO(file_bytes(item))).write_csv()
        assert TWELVE.findall(text) == [], item.name


def test_without_any_account_there_is_no_transfer_file_and_every_notice_asks_for_the_form():
    out = _refund_files(accounts=ACCOUNTS.clear())
    assert out.transfer is None
    assert _refund_files(REFUNDS.clear()) == ([], None, [])  # and an account of no refundee is not even looked at
    assert set(out.print_files[0].frame["payment_method"]) == {"transfer_request"}


def test_a_transfer_day_before_the_decision_and_two_accounts_of_one_person_are_refused():
    with pytest.raises(ConfigError, match="2026-07-20 is before the refunds were decided"):
        _refund_files(transfer_day=date(2026, 7, 20))
    twice = pl.concat([ACCOUNTS, ACCOUNTS.head(1).with_columns(pl.lit("1111111").alias("account_no"))])
    with pytest.raises(cf.CollectionFilesError, match=f"more than one account for 宛名番号 {PLAIN}"):
        _refund_files(accounts=twice)


def test_a_long_kana_name_is_cut_to_the_30_characters_of_the_field():
    long = ACCOUNTS.with_columns(pl.when(pl.col("atena_no") == PLAIN).then(pl.lit("ミナト　" + "ガ" * 20))
                                 .otherwise(pl.col("account_holder_kana")).alias("account_holder_kana"))
    names, messages = cf.payee_names(long)
    name = names.filter(pl.col("atena_no") == PLAIN)["payee_name"][0]
    assert name == ("ﾐﾅﾄ " + "ｶﾞ" * 20)[:30] and len(name) == 30
    assert any("cut to 30" in m and PLAIN in m for m in messages)


# ------------------------------------------------------------------------------------------------ layouts
@pytest.mark.parametrize("export", ["demand_notice", "refund_notice"])
def test_the_layouts_are_paper_without_my_numbers_and_their_docs_are_generated(export):
    from pathlib import Path

    layout = load_handoff_layout(export)
    assert layout.paper and not layout.carries_my_number and layout.recipient == "print_vendor"
    docs = Path(__file__).resolve().parents[2] / "docs" / "layouts" / f"{export}.md"
    assert docs.read_text(encoding="utf-8") == render_markdown(layout)


def test_the_sample_accounts_are_about_40_percent_read_through_their_layout_and_pay_refunds():
    from contracts.resident_snapshot import load_layout
    from sample_ward.public_benefit_accounts import accounts, accounts_csv
    from transforms.resident_snapshot import keyed_records

    persons = pl.DataFrame({"atena_no": [f"01{i:08d}" for i in range(1, 501)],
                            "family_name_kana": ["ミナト"] * 500, "given_name_kana": ["ジロウ"] * 500})
    made = accounts(persons, seed=7)
    assert 150 <= made.height <= 250 and made["atena_no"].is_unique().all()
    assert made.equals(accounts(persons, seed=7)) and not made.equals(accounts(persons, seed=8))
    data = accounts_csv(made)
    lines = data.decode("utf-8").split("\n")
    assert lines[0] == "atena_no,bank_code,branch_code,deposit_type,account_no,account_holder_kana,obtained_on"
    frame = pl.DataFrame({"file": "kokin_koza_131032_20260601.csv", "record_no": list(range(2, len(lines))),
                          "line": lines[1:-1]})
    checked = keyed_records(frame, load_layout("public_benefit_accounts"))
    assert checked.filter(pl.col("_reason").is_not_null()).height == 0 and checked.height == made.height
    assert TWELVE.findall(data.decode("utf-8")) == []
    one = made.head(1)
    refund = REFUNDS.head(1).with_columns(pl.lit(one["atena_no"][0]).alias("atena_no"))
    residents = RESIDENTS.head(1).with_columns(pl.lit(one["atena_no"][0]).alias("atena_no"))
    out = cf.refund_files(refund, residents=residents, mailing=MAILING.clear(),
                          protected=pl.Series([], dtype=pl.String), accounts=made, fiscal_year=N,
                          municipality_code=M, transfer_day=TRANSFER, consignor=CONSIGNOR)
    zf = read_zengin_file(out.transfer, file="x.txt", kind="21")
    assert zf.records["payee_name"].to_list() == ["ﾐﾅﾄ ｼﾞﾛｳ"] and zf.records["amount"].to_list() == [31_000]
