"""口座振替 of 普通徴収 期別 (transforms/account_transfer.py), its registration layout
(contracts/layouts/account_transfer_registrations.yaml) and the sample ward's registrations and bank
(sample_ward/account_transfer.py).

Balances, registrations and result files are built by hand in each test; a result file is written out record by
record (every record checked to be 120 bytes), its trailer totals the sums of the hand-written amounts. The
expected 顧客番号 follow the packing stated in the module: 通知書番号 15 + 期別 2 + "000".
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from contracts.errors import ContractError, JuminzeiError
from transforms.account_transfer import (
    FAILURE_SCHEMA,
    REQUEST_SCHEMA,
    debit_requests,
    request_file,
    result_records,
    staged_registrations,
    valid_registrations,
)
from transforms.collection import OUTCOME_SCHEMA, RECORD_SCHEMA, match_payments
from transforms.zengin_records import (
    ZenginFieldError,
    ZenginTrailerTotalsError,
    ZenginWriteCharacterError,
    read_zengin_file,
)

DAY = date(2026, 6, 30)  # 第1期 納期限 = 引落日
SP = " "
CRLF = b"\r\n"
FILE = "account_transfer_result_20260630.txt"


def notice(atena: str) -> str:
    return f"20261{atena}"  # 年度 2026 + 納税通知書 (1) + 宛名番号


def balance(atena: str, period: str, installment: int, due: date, charged: int, received: int = 0,
            route: str = "ordinary", payer: str | None = None) -> dict:
    return {"atena_no": atena, "notice_no": notice(atena) if route != "salary" else f"20262{atena}", "route": route,
            "payer": payer, "period": period, "installment": installment, "due_date": due, "charged": charged,
            "received": received, "unpaid": max(charged - received, 0), "overpaid": max(received - charged, 0)}


BAL_SCHEMA = {"atena_no": pl.String, "notice_no": pl.String, "route": pl.String, "payer": pl.String,
              "period": pl.String, "installment": pl.Int32, "due_date": pl.Date, "charged": pl.Int64,
              "received": pl.Int64, "unpaid": pl.Int64, "overpaid": pl.Int64}


def balances(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=BAL_SCHEMA)


def reg(atena: str, start: date, end: date | None = None, accepted: date = date(2026, 5, 20), *,
        account: str = "7654321", bank: str = "0009", branch: str = "825", deposit: str = "1",
        name: str = "ﾐﾅﾄ ﾀﾛｳ") -> dict:
    return {"atena_no": atena, "bank_code": bank, "branch_code": branch, "deposit_type": deposit,
            "account_no": account, "account_holder_kana": name, "start_date": start, "end_date": end,
            "accepted_on": accepted}


REG_SCHEMA = {"atena_no": pl.String, "bank_code": pl.String, "branch_code": pl.String, "deposit_type": pl.String,
              "account_no": pl.String, "account_holder_kana": pl.String, "start_date": pl.Date,
              "end_date": pl.Date, "accepted_on": pl.Date}


def registrations(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=REG_SCHEMA)


def line(*parts: str) -> bytes:
    """One record from its fields, written out by hand; must come to 120 bytes."""
    raw = "".join(parts).encode("cp932")
    assert len(raw) == 120, f"a hand-built record is {len(raw)} bytes"
    return raw


def joined(records: list[bytes]) -> bytes:
    return CRLF.join(records) + CRLF


# Header: データ区分 1, 種別 91, コード区分 0, 委託者コード, 委託者名 (40), 引落日 MMDD, 取引銀行 4 + 名 15,
# 支店 3 + 名 15, 預金種目 and 口座番号 of the ward blank, ダミー 17.
def header(mmdd: str = "0630") -> bytes:
    return line("1", "91", "0", "1310320001", "ﾐﾅﾄｸ".ljust(40), mmdd, "0005", "ﾐﾅﾄｷﾞﾝｺｳ".ljust(15), "041",
                "ﾎﾝﾃﾝ".ljust(15), SP, SP * 7, SP * 17)


def data(customer_no: str, amount: int, code: str, *, new_code: str = "1", account: str = "7654321",
         name: str = "ﾐﾅﾄ ﾀﾛｳ") -> bytes:
    """引落銀行 0009 (名 blank), 支店 825 (名 blank), ダミー 4, 預金種目 1, 口座番号, 預金者名 (30), 引落金額 (10),
    新規コード, 顧客番号 (20), 振替結果コード, ダミー 8."""
    return line("2", "0009", SP * 15, "825", SP * 15, SP * 4, "1", account, name.ljust(30), f"{amount:010d}",
                new_code, customer_no, code, SP * 8)


def trailer(count: int, total: int, done: int, done_yen: int, failed: int, failed_yen: int) -> bytes:
    return line("8", f"{count:06d}", f"{total:012d}", f"{done:06d}", f"{done_yen:012d}", f"{failed:06d}",
                f"{failed_yen:012d}", SP * 65)


END = line("9", SP * 119)

A, B, C = "0000000001", "0000000002", "0000000003"
CUST_A = "20261000000000101000"  # 通知書番号 202610000000001 + 期別 01 + 000


def one_request(atena: str = A, amount: int = 12_300, installment: int = 1, new_code: str = "1",
                day: date = DAY, account: str = "7654321") -> dict:
    return {"debit_day": day, "customer_no": f"{notice(atena)}{installment:02d}000", "atena_no": atena,
            "notice_no": notice(atena), "installment": installment, "period": "2026-06", "amount": amount,
            "new_code": new_code, "bank_code": "0009", "branch_code": "825", "deposit_type": "1",
            "account_no": account, "account_holder_kana": "ﾐﾅﾄ ﾀﾛｳ", "accepted_on": date(2026, 5, 20)}


def requests(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=REQUEST_SCHEMA)


# ------------------------------------------------------------------------------------ which 期 are debited
def test_only_the_unpaid_ordinary_periods_due_that_day_of_registered_persons_are_debited():
    bal = balances(
        balance(A, "2026-06", 1, DAY, 12_300),  # debited
        balance(A, "2026-08", 2, date(2026, 8, 31), 12_000),  # another 納期限
        balance(B, "2026-06", 1, DAY, 20_000, received=5_000),  # partly paid: the rest is debited
        balance(C, "2026-06", 1, DAY, 9_000, received=9_000),  # paid: nothing to debit
        balance(C, "2026-06", 1, DAY, 30_000, route="salary", payer="00001234"),  # not 普通徴収
        balance("0000000004", "2026-06", 1, DAY, 8_000),  # no registration
    )
    regs = registrations(reg(A, date(2026, 6, 30)), reg(B, date(2025, 6, 30), account="1111111"),
                         reg(C, date(2025, 6, 30)))
    out = debit_requests(bal, regs, debit_day=DAY)
    assert out.schema == pl.Schema(REQUEST_SCHEMA)
    assert out.select("customer_no", "atena_no", "notice_no", "installment", "period", "amount", "account_no",
                      "debit_day").rows() == [
        (CUST_A, A, "202610000000001", 1, "2026-06", 12_300, "7654321", DAY),
        ("20261000000000201000", B, "202610000000002", 1, "2026-06", 15_000, "1111111", DAY),
    ]


@pytest.mark.parametrize(("start", "end", "debited"), [
    (DAY, None, True),  # 開始日 on the 引落日
    (date(2026, 7, 1), None, False),  # starts after it
    (date(2025, 6, 30), DAY, True),  # 終了日 on the 引落日: still in force
    (date(2025, 6, 30), date(2026, 6, 29), False),  # 廃止 the day before
    (date(2025, 6, 30), date(2026, 8, 31), True),
])
def test_a_registration_is_in_force_from_its_start_to_its_end_inclusive(start, end, debited):
    out = debit_requests(balances(balance(A, "2026-06", 1, DAY, 12_300)), registrations(reg(A, start, end)),
                         debit_day=DAY)
    assert out.height == (1 if debited else 0)


def test_the_newest_acceptance_wins_among_registrations_in_force():
    regs = registrations(
        reg(A, date(2024, 6, 30), accepted=date(2024, 5, 1), account="1000001"),
        reg(A, date(2026, 6, 30), accepted=date(2026, 6, 1), account="2000002"),  # the newest in force
        reg(A, date(2026, 8, 31), accepted=date(2026, 6, 10), account="3000003"),  # newer, not yet in force
    )
    out = debit_requests(balances(balance(A, "2026-06", 1, DAY, 12_300)), regs, debit_day=DAY)
    assert out.select("account_no", "accepted_on").rows() == [("2000002", date(2026, 6, 1))]
    later = debit_requests(balances(balance(A, "2026-08", 2, date(2026, 8, 31), 12_000)), regs,
                           debit_day=date(2026, 8, 31))
    assert later["account_no"].to_list() == ["3000003"]
    assert valid_registrations(regs, day=date(2024, 6, 30))["account_no"].to_list() == ["1000001"]


def test_registration_dates_may_come_as_the_layouts_yyyymmdd_text():
    regs = registrations(reg(A, DAY)).with_columns(
        pl.col("start_date", "accepted_on").dt.strftime("%Y%m%d"), pl.lit(None, pl.String).alias("end_date"))
    out = debit_requests(balances(balance(A, "2026-06", 1, DAY, 12_300)), regs, debit_day=DAY)
    assert out["accepted_on"].to_list() == [date(2026, 5, 20)]


def test_the_new_code_is_1_for_the_first_debit_of_a_registration_only():
    bal = balances(balance(A, "2026-08", 2, date(2026, 8, 31), 12_000),
                   balance(B, "2026-08", 2, date(2026, 8, 31), 15_000))
    regs = registrations(reg(A, DAY), reg(B, date(2026, 8, 31), accepted=date(2026, 8, 1), account="2222222"),
                         reg(B, DAY, accepted=date(2026, 5, 20), account="1111111"))
    # June: A and B's older registration were debited
    earlier = requests(one_request(A), one_request(B, account="1111111"))
    aug = date(2026, 8, 31)
    out = debit_requests(bal, regs, debit_day=aug, earlier_requests=earlier)
    assert out.select("atena_no", "account_no", "new_code").rows() == [
        (A, "7654321", "0"),  # the same registration was debited in June
        (B, "2222222", "1"),  # a new 依頼書 (new 受付日): its first debit
    ]
    # a rerun of the same day sees its own earlier run as "earlier_requests": ignored, the file stays the same
    again = debit_requests(bal, regs, debit_day=aug, earlier_requests=pl.concat([earlier, out.cast(REQUEST_SCHEMA)]))
    assert again.equals(out)
    assert debit_requests(bal, regs, debit_day=aug)["new_code"].to_list() == ["1", "1"]


def test_two_registrations_of_one_person_on_one_acceptance_day_are_refused_without_their_accounts():
    regs = registrations(reg(A, DAY, account="1234567"), reg(A, DAY, account="7654321"))
    with pytest.raises(ContractError) as refused:
        debit_requests(balances(balance(A, "2026-06", 1, DAY, 12_300)), regs, debit_day=DAY)
    assert "2 registrations share a 宛名番号 and a 受付日" in str(refused.value)
    assert "1234567" not in str(refused.value) and A not in str(refused.value)


def test_a_notice_number_that_cannot_be_packed_is_refused():
    bal = balances(balance(A, "2026-06", 1, DAY, 12_300)).with_columns(pl.lit("2026-1").alias("notice_no"))
    with pytest.raises(ContractError, match="^1 普通徴収 期 due on 2026-06-30 .* 顧客番号 cannot be packed"):
        debit_requests(bal, registrations(reg(A, DAY)), debit_day=DAY)
    assert debit_requests(bal, registrations(reg(B, DAY)), debit_day=DAY).height == 0  # not debited: not packed


def test_one_yen_unpaid_is_still_debited():
    out = debit_requests(balances(balance(A, "2026-06", 1, DAY, 12_300, received=12_299)), registrations(reg(A, DAY)),
                         debit_day=DAY)
    assert out["amount"].to_list() == [1]


@pytest.mark.parametrize(("installment", "packed"), [(1, True), (98, True), (99, True), (0, False), (100, False)])
def test_a_period_number_is_packed_in_two_digits_of_the_customer_number(installment, packed):
    """顧客番号 = 通知書番号 (15 digits) + 期別 (2 digits) + 000 (docs/layouts/payments.md): 期別 1–99 fit."""
    bal = balances(balance(A, "2026-06", installment, DAY, 12_300))
    if packed:
        out = debit_requests(bal, registrations(reg(A, DAY)), debit_day=DAY)
        assert out["customer_no"].to_list() == [f"202610000000001{installment:02d}000"]
    else:
        with pytest.raises(ContractError, match="期別 outside 1–99"):
            debit_requests(bal, registrations(reg(A, DAY)), debit_day=DAY)


def test_a_period_without_a_notice_number_is_refused_not_debited():
    bal = balances(balance(A, "2026-06", 1, DAY, 12_300)).with_columns(pl.lit(None, pl.String).alias("notice_no"))
    with pytest.raises(ContractError, match="^1 普通徴収 期 due on 2026-06-30 have a 通知書番号 that is not 15 digits "
                                            "or a 期別 outside 1–99: their 顧客番号 cannot be packed; expected the "
                                            "ledger's 通知書番号 and 期別$"):
        debit_requests(bal, registrations(reg(A, DAY)), debit_day=DAY)


def test_a_period_without_a_period_number_is_refused_not_debited():
    bal = balances(balance(A, "2026-06", 1, DAY, 12_300)).with_columns(pl.lit(None, pl.Int32).alias("installment"))
    with pytest.raises(ContractError, match="期別 outside 1–99"):
        debit_requests(bal, registrations(reg(A, DAY)), debit_day=DAY)


def test_two_balance_rows_of_one_period_are_refused_not_debited_twice():
    row = balance(A, "2026-06", 1, DAY, 12_300)
    with pytest.raises(ContractError, match="^two 期 due on 2026-06-30 share a 通知書番号 and a 期別: expected one balance "
                                            "row per 期 \\(transforms.collection.balances\\)$"):
        debit_requests(balances(row, row), registrations(reg(A, DAY)), debit_day=DAY)


def test_staged_registrations_come_by_person_then_acceptance_day():
    checked = _checked(HEADER + "".join([
        f"{B},0009,825,1,7654321,ﾐﾅﾄ ﾀﾛｳ,20260630,,20260520\n",
        f"{A},0009,825,1,1111111,ﾐﾅﾄ ﾀﾛｳ,20260630,,20260601\n",
        f"{A},0009,825,1,2222222,ﾐﾅﾄ ﾀﾛｳ,20250630,,20250520\n",
    ]))
    assert staged_registrations(checked).select("atena_no", "account_no", "accepted_on").rows() == [
        (A, "2222222", date(2025, 5, 20)), (A, "1111111", date(2026, 6, 1)), (B, "7654321", date(2026, 5, 20))]


# ------------------------------------------------------------------------------------------ the 依頼 file
def test_the_request_file_is_the_91_request_byte_for_byte():
    bal = balances(balance(A, "2026-06", 1, DAY, 12_300), balance(B, "2026-06", 1, DAY, 45_600))
    regs = registrations(reg(A, DAY), reg(B, date(2025, 6, 30), account="0012345", deposit="3",
                                         name="ｶ)ｻﾝﾌﾟﾙ ﾊﾅｺ", bank="0137", branch="031"))
    earlier = requests(one_request(B, day=date(2026, 1, 31), account="0012345"))
    reqs = debit_requests(bal, regs, debit_day=DAY, earlier_requests=earlier)
    out = request_file(reqs, file="account_transfer_request_20260630.txt", consignor_code="1310320001",
                       consignor_name_kana="ﾐﾅﾄｸ", debit_day=DAY, bank_code="0005", bank_name_kana="ﾐﾅﾄｷﾞﾝｺｳ",
                       branch_code="041", branch_name_kana="ﾎﾝﾃﾝ")
    expected = joined([
        header(),
        # written out by hand: 0009 / blank / 825 / blank / ダミー / 1 / 7654321 / ﾐﾅﾄ ﾀﾛｳ / 12,300 / 新規 1 /
        # 顧客番号 202610000000001 01 000 / 振替結果 0 / ダミー
        b"2" + b"0009" + b" " * 15 + b"825" + b" " * 15 + b" " * 4 + b"1" + b"7654321"
        + "ﾐﾅﾄ ﾀﾛｳ".encode("cp932") + b" " * 23 + b"0000012300" + b"1" + b"20261000000000101000" + b"0" + b" " * 8,
        line("2", "0137", SP * 15, "031", SP * 15, SP * 4, "3", "0012345", "ｶ)ｻﾝﾌﾟﾙ ﾊﾅｺ".ljust(30), "0000045600",
             "0", "20261000000000201000", "0", SP * 8),
        trailer(2, 57_900, 0, 0, 0, 0),
        END,
    ])
    assert out == expected
    assert len(expected.split(CRLF)[1]) == 120


def test_the_request_file_takes_the_requests_of_its_day_only():
    with pytest.raises(ContractError, match="1 requests for r.txt are for another 引落日.*expected the requests of "
                                            "that day only \\(one file per 引落日\\)$"):
        request_file(requests(one_request(day=date(2026, 8, 31))), file="r.txt", consignor_code="1310320001",
                     consignor_name_kana="ﾐﾅﾄｸ", debit_day=DAY, bank_code="0005", bank_name_kana="ﾐﾅﾄｷﾞﾝｺｳ",
                     branch_code="041", branch_name_kana="ﾎﾝﾃﾝ")


def test_a_request_the_writer_cannot_write_is_refused_naming_the_file():
    bad = requests(one_request()).with_columns(pl.lit("ﾐﾅﾄ taro").alias("account_holder_kana"))
    with pytest.raises(ZenginWriteCharacterError, match="^Output file koza_furikae_91_20260630.txt, record 2"):
        request_file(bad, file="koza_furikae_91_20260630.txt", consignor_code="1310320001",
                     consignor_name_kana="ﾐﾅﾄｸ", debit_day=DAY, bank_code="0005", bank_name_kana="ﾐﾅﾄｷﾞﾝｺｳ",
                     branch_code="041", branch_name_kana="ﾎﾝﾃﾝ")


# ------------------------------------------------------------------------------------------ the 振替結果 file
def test_a_transferred_debit_is_a_final_payment_of_its_period():
    reqs = requests(one_request(A), one_request(B, amount=45_600))
    result = joined([header(), data(CUST_A, 12_300, "0"), data("20261000000000201000", 45_600, "1"),
                     trailer(2, 57_900, 1, 12_300, 1, 45_600), END])
    payments, failures = result_records(result, file=FILE, requests=reqs)
    assert payments.schema == pl.Schema(RECORD_SCHEMA) and failures.schema == pl.Schema(FAILURE_SCHEMA)
    assert payments.to_dicts() == [{
        "file": FILE, "record_no": 2, "channel": "account_transfer", "report_kind": "final",
        "reference": f"{CUST_A}20260630", "paid_on": DAY, "credited_on": None, "notice_no": "202610000000001",
        "installment": 1, "route": None, "payer": None, "period": None, "amount": 12_300, "retirement_amount": 0,
    }]
    assert failures.select("record_no", "atena_no", "notice_no", "installment", "period", "debit_day", "amount",
                           "result_code", "reason").rows() == [
        (3, B, "202610000000002", 1, "2026-06", DAY, 45_600, "1", "資金不足")]


@pytest.mark.parametrize(("code", "reason"), [
    ("1", "資金不足"), ("2", "取引なし (口座解約・口座相違)"), ("3", "預金者の都合による振替停止"),
    ("4", "預金口座振替依頼書なし (未登録・不備)"), ("8", "委託者の都合による振替停止"), ("9", "その他"),
    ("5", "振替不能 (コード表にない振替結果コード)"),
])
def test_every_other_result_code_is_a_failure_with_its_reason(code, reason):
    result = joined([header(), data(CUST_A, 12_300, code), trailer(1, 12_300, 0, 0, 1, 12_300), END])
    payments, failures = result_records(result, file=FILE, requests=requests(one_request()))
    assert payments.height == 0
    assert failures.select("atena_no", "result_code", "reason").rows() == [(A, code, reason)]


def test_the_year_of_the_debit_day_comes_from_the_request_of_that_month_and_day():
    jan = date(2027, 2, 1)  # 第4期 (1月末 2027-01-31 is a Sunday: the next open day)
    reqs = requests(one_request(A, installment=4, day=jan), one_request(A))
    result = joined([header("0201"), data("20261000000000104000", 12_300, "0", new_code="0"),
                     trailer(1, 12_300, 1, 12_300, 0, 0), END])
    payments, _ = result_records(result, file=FILE, requests=reqs)
    assert payments.select("paid_on", "installment", "reference").rows() == [
        (jan, 4, "2026100000000010400020270201")]


def test_a_transferred_record_matching_no_request_is_a_payment_that_消込_puts_to_suspense():
    reqs = requests(one_request(A))
    result = joined([
        header(),
        data("20261000000000901000", 5_000, "0"),  # a 顧客番号 we did not ask for
        data(CUST_A, 99_999, "0"),  # our 顧客番号, another amount
        data("ABC".ljust(20), 1_000, "0"),  # not our packing
        trailer(3, 105_999, 3, 105_999, 0, 0), END])
    payments, failures = result_records(result, file=FILE, requests=reqs)
    assert failures.height == 0
    assert payments.select("record_no", "notice_no", "installment", "paid_on", "amount").rows() == [
        (2, "202610000000009", None, DAY, 5_000), (3, "202610000000001", None, DAY, 99_999),
        (4, None, None, DAY, 1_000)]
    # the ledger knows notice 202610000000001 (A's), not 202610000000009
    bal = balances(balance(A, "2026-06", 1, DAY, 12_300))
    posted, outcomes = match_payments(payments, bal, pl.DataFrame(schema=OUTCOME_SCHEMA), fiscal_year=2026,
                                      posting_run="2026-06-30", posted_on=DAY)
    assert posted.height == 0
    assert outcomes.select("record_no", "disposition", "reason_code", "suspense_amount").rows() == [
        (2, "suspense", "unknown_notice", 5_000), (3, "suspense", "unknown_installment", 99_999),
        (4, "suspense", "no_notice_number", 1_000)]


def test_a_failed_record_matching_no_request_is_listed_with_no_person_and_no_money_moved():
    result = joined([header(), data("20261000000000901000", 5_000, "2"), trailer(1, 5_000, 0, 0, 1, 5_000), END])
    payments, failures = result_records(result, file=FILE, requests=requests(one_request()))
    assert payments.height == 0
    assert failures.select("atena_no", "notice_no", "installment", "result_code").rows() == [
        (None, "202610000000009", None, "2")]


def test_a_matched_debit_is_posted_once_whatever_the_file_is_called():
    reqs = requests(one_request(A))
    result = joined([header(), data(CUST_A, 12_300, "0"), trailer(1, 12_300, 1, 12_300, 0, 0), END])
    first, _ = result_records(result, file="a.txt", requests=reqs)
    again, _ = result_records(result, file="b.txt", requests=reqs)
    bal = balances(balance(A, "2026-06", 1, DAY, 12_300))
    posted, outcomes = match_payments(pl.concat([first, again]), bal, pl.DataFrame(schema=OUTCOME_SCHEMA),
                                      fiscal_year=2026, posting_run="2026-06-30", posted_on=DAY)
    assert posted.select("notice_no", "route", "period", "amount", "value_date").rows() == [
        ("202610000000001", "ordinary", "2026-06", 12_300, DAY)]
    assert outcomes.select("file", "disposition", "reason_code").rows() == [
        ("a.txt", "posted", None), ("b.txt", "quarantined", "duplicate_payment")]


def test_a_file_the_codec_refuses_raises_naming_file_record_and_field_but_no_amount():
    result = joined([header(), data(CUST_A, 12_300, "0"), trailer(1, 12_300, 0, 0, 1, 12_300), END])
    with pytest.raises(ZenginTrailerTotalsError) as refused:
        result_records(result, file=FILE, requests=requests(one_request()))
    message = str(refused.value)
    assert isinstance(refused.value, JuminzeiError)
    assert FILE in message and "record 3" in message and "振替済件数" in message
    assert "12300" not in message and "7654321" not in message and "ﾐﾅﾄ" not in message


def test_a_result_for_a_day_no_request_was_sent_is_refused_whole():
    result = joined([header("0731"), data(CUST_A, 12_300, "0"), trailer(1, 12_300, 1, 12_300, 0, 0), END])
    with pytest.raises(ZenginFieldError, match=r"record 1, field 引落日 \(debit_date\): no request was sent"):
        result_records(result, file=FILE, requests=requests(one_request()))


# ------------------------------------------------------------------------------------------ the layout
def test_the_registration_layout_is_read_by_the_registry_loader():
    from contracts.resident_snapshot import load_layout

    layout = load_layout("account_transfer_registrations")
    assert layout.names == ["atena_no", "bank_code", "branch_code", "deposit_type", "account_no",
                            "account_holder_kana", "start_date", "end_date", "accepted_on"]
    assert layout.key == ("atena_no", "accepted_on")
    assert [(f.name, f.width) for f in layout.fields if f.type == "digits"] == [
        ("atena_no", 10), ("bank_code", 4), ("branch_code", 3), ("account_no", 7)]
    assert layout.field("deposit_type").allowed == {"1": "普通預金", "2": "当座預金", "3": "納税準備預金"}
    end = layout.field("end_date")
    assert (end.required, end.on_invalid, end.hold_because) == (False, "hold", "collection")
    assert layout.expected_file("131032", 2026) == "koza_furikae_131032_2026.csv"


def test_the_holder_name_takes_exactly_the_kana_the_zengin_writer_produces():
    from contracts.resident_snapshot import load_layout
    from contracts.zengin import load_zengin_layouts

    field = load_layout("account_transfer_registrations").field("account_holder_kana")
    kana = load_zengin_layouts()
    others = [c for c in kana.kana_characters if c not in kana.kana_written] + ["ｧ", "ｯ", "a", "ア", "山", "、"]
    taken = pl.Series(list(kana.kana_written) + others).str.contains(field.pattern)
    assert taken.to_list() == [True] * len(kana.kana_written) + [False] * len(others)
    assert field.max_length == 30


def _checked(text: str) -> pl.DataFrame:
    from contracts.resident_snapshot import load_layout
    from transforms.resident_snapshot import decode_lines, keyed_records

    return keyed_records(decode_lines(text.encode("utf-8"), "koza_furikae_131032_2026.csv").lines,
                         load_layout("account_transfer_registrations"))


HEADER = "atena_no,bank_code,branch_code,deposit_type,account_no,account_holder_kana,start_date,end_date,accepted_on\n"


def test_registration_records_are_checked_and_typed():
    checked = _checked(HEADER + "".join([
        f"{A},0009,825,1,7654321,ﾐﾅﾄ ﾀﾛｳ,20260630,,20260520\n",
        f"{B},0009,825,9,7654321,ﾐﾅﾄ ﾀﾛｳ,20260630,,20260520\n",  # 預金種目 9
        f"{C},0009,825,1,7654321,ﾐﾅﾄ ﾀﾛｯ,20260630,,20260520\n",  # small ｯ
        "0000000004,0009,825,1,7654321,ﾐﾅﾄ ﾀﾛｳ,20260630,20260231,20260520\n",  # no such 終了日
        f"0000000005,0009,825,1,7654321,{'ｱ' * 31},20260630,,20260520\n",  # 31 characters
    ]))
    assert checked.select("record_no", "_reason", "_field").rows() == [
        (2, None, None), (3, "bad_code", "deposit_type"), (4, "bad_format", "account_holder_kana"),
        (5, "bad_date", "end_date"), (6, "bad_format", "account_holder_kana")]
    assert staged_registrations(checked).rows() == [
        (A, "0009", "825", "1", "7654321", "ﾐﾅﾄ ﾀﾛｳ", DAY, None, date(2026, 5, 20))]


# ------------------------------------------------------------------------------------------ the sample ward
PERSONS = pl.DataFrame({"atena_no": [f"{i:010d}" for i in range(1, 1001)]})


def test_the_sample_registrations_are_a_deterministic_third_of_the_persons_in_the_layouts_wire_form():
    from sample_ward.account_transfer import registrations as sample, registrations_csv

    regs = sample(PERSONS, seed=11, fiscal_year=2026)
    assert regs.equals(sample(PERSONS, seed=11, fiscal_year=2026))
    assert not regs.equals(sample(PERSONS, seed=12, fiscal_year=2026))
    persons = regs["atena_no"].n_unique()
    assert 280 <= persons <= 320 and regs.height > persons  # a few changed account: two 依頼書
    assert regs.filter(pl.col("end_date").is_not_null()).height > 0
    wire = registrations_csv(regs)
    assert wire.startswith(HEADER.encode()) and wire.endswith(b"\n") and b"\r" not in wire
    checked = _checked(wire.decode("utf-8"))
    assert checked["_reason"].null_count() == checked.height  # every record passes the layout
    assert staged_registrations(checked).equals(regs)
    # in force on the first 納期: at most one per person, the newest 受付日
    assert valid_registrations(regs, day=DAY)["atena_no"].is_unique().all()


def test_the_sample_bank_answers_a_request_with_mostly_transferred_a_few_short_and_one_unknown_account():
    from sample_ward.account_transfer import bank_results, registrations as sample

    regs = sample(PERSONS, seed=11, fiscal_year=2026)
    bal = balances(*[balance(a, "2026-06", 1, DAY, 10_000 + i) for i, a in enumerate(PERSONS["atena_no"])])
    reqs = debit_requests(bal, regs, debit_day=DAY)
    request = request_file(reqs, file="r.txt", consignor_code="1310320001", consignor_name_kana="ﾐﾅﾄｸ",
                           debit_day=DAY, bank_code="0005", bank_name_kana="ﾐﾅﾄｷﾞﾝｺｳ", branch_code="041",
                           branch_name_kana="ﾎﾝﾃﾝ")
    answer = bank_results(request, file="r.txt", seed=11)
    assert answer == bank_results(request, file="r.txt", seed=11)
    result = read_zengin_file(answer, file="res.txt", kind="91_result")  # byte-valid, trailer checked
    codes = result.records["result_code"].value_counts().sort("result_code").rows()
    assert codes[0][0] == "0" and codes[0][1] > 0.9 * reqs.height
    assert [c for c, _ in codes] == ["0", "1", "2"] and dict(codes)["2"] == 1 and dict(codes)["1"] >= 1
    payments, failures = result_records(answer, file="res.txt", requests=reqs)
    assert payments.height + failures.height == reqs.height
    assert payments["installment"].null_count() == 0 and failures["atena_no"].null_count() == 0
