"""口座振替 (direct debit) of 普通徴収 期別: who is debited on a 納期限, the 全銀 依頼 file, and what the bank's
振替結果 file means for the ledger — pure frame functions.

A resident who lodged a 預金口座振替依頼書 (地方自治法施行令第155条) has each 普通徴収 期別 debited from the
account on its 納期限 (the 引落日 is the 納期限). The mandates come from the 収納 desk's registration file
(``contracts/layouts/account_transfer_registrations.yaml``, read in the registry dialect; :func:`staged_registrations`
types its staged rows). The file formats are the 全銀協 預金口座振替 (種別コード 91), request and result, read and
written by :mod:`transforms.zengin_records` (layouts ``contracts/zengin/``, docs/layouts/zengin.md).

* :func:`debit_requests` — the 期 to debit on a day: route ``ordinary``, 納期限 on that day, still unpaid, of a
  person with a registration valid that day; one row each (:data:`REQUEST_SCHEMA`) with the account, the amount
  (the 未納額) and the 顧客番号.
* :func:`request_file` — those rows as the 91 依頼 file for the ward's 取引銀行.
* :func:`result_records` — the bank's 91 振替結果 file: code 0 (振替済) records as payment records of
  :data:`transforms.collection.RECORD_SCHEMA` (channel ``account_transfer``) for 消込, every other code as a row
  of the failures frame (:data:`FAILURE_SCHEMA`) for the 納付書 and the 督促 that follow.

顧客番号 (customer number, 20 digits, bytes 92–111 of the data record)
--------------------------------------------------------------------------
The 全銀 format leaves the 顧客番号 to the collector (docs/sources.md#f9); how municipalities pack it was not
found, so the packing is our choice. juminzei packs::

    通知書番号 (15 digits: 年度 4 + 通知書の種類 1 + 宛名番号 10) + 期別 (2 digits, zero-padded) + "000"

e.g. ``202610000012345`` + ``02`` + ``000`` = ``20261000001234502000``. The number is the same in every file of
the 期, so a result read months later still names its 期 without our request file. The last three digits are
reserved (000 now): a future 再振替 (a second debit of the same 期) would count there. Banks that take the
field as N (digits) or C (characters) both accept it.

Matching a result (:func:`result_records`)
--------------------------------------------
The 振替結果 file carries the 引落日 as MMDD (no year) in each group's header. Each group's 引落日 is the day of
a request with that MMDD (``requests``: what :func:`debit_requests` returned for the days sent); a group whose
MMDD is no request's day is not a result of ours, and the whole file is refused (:class:`ZenginFieldError`: the
stage quarantines it). Each data record is matched to the request of that day with the same 顧客番号 **and** the
same amount.

* code 0, matched: a payment of the 期 (``notice_no`` and ``installment`` from the 顧客番号, ``paid_on`` the
  引落日, ``reference`` = 顧客番号 + 引落日 YYYYMMDD: 28 digits, the same whatever the file is called, so a result
  delivered twice posts once);
* code 0, not matched (a 顧客番号 or an amount we did not ask for): a payment record too — the bank took the money
  — with ``installment`` left null so that 消込 cannot post it to a 期: the stage puts it to suspense (未特定入金;
  ``unknown_installment``, or ``unknown_notice`` / ``other_fiscal_year`` / ``no_notice_number`` by what the
  顧客番号 says). ``notice_no`` is the 顧客番号's first 15 digits when it has our packing, else null;
* any other code (振替不能): a failures row; nothing was debited, so nothing goes to the ledger. An unmatched one
  has ``atena_no`` null (and ``notice_no`` as above): it is listed for the operator, never put to suspense (no
  money moved).

Errors: malformed inputs of these functions (two registrations of one person with the same 受付日, requests of
another day, a 通知書番号 that cannot be packed) raise :class:`contracts.errors.ContractError`; a file the 全銀 codec
refuses raises its :class:`transforms.zengin_records.ZenginFormatError`. Messages name counts, files, records
and fields, never a name, an account number or an amount.

Nothing here reads the disk or the clock. Money is Int64 yen.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from contracts.errors import ContractError
from transforms.collection import RECORD_SCHEMA
from transforms.zengin_records import ZenginFieldError, ZenginFile, read_zengin_file, write_zengin_file

I64 = pl.Int64
CHANNEL = "account_transfer"
#: 顧客番号: 通知書番号 15 + 期別 2 + reserved 3 (module docstring)
NOTICE_NO_LENGTH = 15
INSTALLMENT_DIGITS = 2
CUSTOMER_NO_RESERVED = "000"
CUSTOMER_NO_LENGTH = NOTICE_NO_LENGTH + INSTALLMENT_DIGITS + len(CUSTOMER_NO_RESERVED)
#: 新規コード: 1 the first debit of a registration (第1回引落), 0 any later one (contracts/zengin/codes.yaml new_code)
NEW_CODE_FIRST, NEW_CODE_OTHER = "1", "0"
#: 振替結果コード 0 (振替済)
TRANSFERRED = "0"

#: the staged registrations (contracts/layouts/account_transfer_registrations.yaml, dates typed)
REGISTRATION_SCHEMA: dict[str, pl.DataType] = {
    "atena_no": pl.String(), "bank_code": pl.String(), "branch_code": pl.String(), "deposit_type": pl.String(),
    "account_no": pl.String(), "account_holder_kana": pl.String(), "start_date": pl.Date(), "end_date": pl.Date(),
    "accepted_on": pl.Date(),
}
#: one row per 期 to debit on ``debit_day`` (:func:`debit_requests`); the registration is (atena_no, accepted_on)
REQUEST_SCHEMA: dict[str, pl.DataType] = {
    "debit_day": pl.Date(),  # 引落日 = 納期限
    "customer_no": pl.String(),  # 顧客番号, 20 digits
    "atena_no": pl.String(), "notice_no": pl.String(), "installment": pl.Int32(), "period": pl.String(),
    "amount": pl.Int64(),  # 引落金額 = 未納額 of the 期
    "new_code": pl.String(),  # 新規コード
    "bank_code": pl.String(), "branch_code": pl.String(), "deposit_type": pl.String(), "account_no": pl.String(),
    "account_holder_kana": pl.String(),  # 預金者名
    "accepted_on": pl.Date(),  # 受付日 of the registration used
}
#: one row per 振替不能 record of a result file (:func:`result_records`); atena_no null: no request matched
FAILURE_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String(), "record_no": pl.Int64(), "customer_no": pl.String(),
    "atena_no": pl.String(), "notice_no": pl.String(), "installment": pl.Int32(), "period": pl.String(),
    "debit_day": pl.Date(), "amount": pl.Int64(), "result_code": pl.String(),
    "reason": pl.String(),  # the 振替結果コード's label in contracts/zengin/codes.yaml
}
_UNKNOWN_RESULT_REASON = "振替不能 (コード表にない振替結果コード)"


# ------------------------------------------------------------------------------------- registrations
def staged_registrations(checked: pl.DataFrame) -> pl.DataFrame:
    """The staged rows (``_reason`` null) of the registration file as checked by
    :func:`transforms.resident_snapshot.keyed_records`, typed (:data:`REGISTRATION_SCHEMA`, dates as Date),
    sorted by 宛名番号 and 受付日."""
    day = "%Y%m%d"
    return checked.filter(pl.col("_reason").is_null()).select(
        "atena_no", "bank_code", "branch_code", "deposit_type", "account_no", "account_holder_kana",
        pl.col("start_date").str.strptime(pl.Date, day), pl.col("end_date").str.strptime(pl.Date, day),
        pl.col("accepted_on").str.strptime(pl.Date, day),
    ).cast(REGISTRATION_SCHEMA).sort("atena_no", "accepted_on")  # type: ignore[arg-type]


def _typed_registrations(registrations: pl.DataFrame) -> pl.DataFrame:
    """``registrations`` with its dates as Date (YYYYMMDD text is taken too), checked for one row per key."""
    missing = [c for c in REGISTRATION_SCHEMA if c not in registrations.columns]
    if missing:
        raise ContractError(f"the registrations lack the column(s) {', '.join(missing)}; expected the columns of "
                            "contracts/layouts/account_transfer_registrations.yaml")
    dates = [pl.col(c).str.strptime(pl.Date, "%Y%m%d") if registrations.schema[c] == pl.String else pl.col(c)
             for c in ("start_date", "end_date", "accepted_on")]
    regs = registrations.with_columns(dates).select(list(REGISTRATION_SCHEMA)).cast(REGISTRATION_SCHEMA)  # type: ignore[arg-type]
    twice = regs.filter(pl.struct("atena_no", "accepted_on").is_duplicated())
    if twice.height:
        raise ContractError(f"{twice.height} registrations share a 宛名番号 and a 受付日 with another: which one is "
                            "meant cannot be known; expected one row per (atena_no, accepted_on), as the layout's "
                            "key holds such records at ingest")
    return regs


def valid_registrations(registrations: pl.DataFrame, *, day: date) -> pl.DataFrame:
    """The registration of each person in force on ``day``: 開始日 on or before it, no 終了日 or one on or after
    it; of several, the newest 受付日."""
    regs = _typed_registrations(registrations)
    on = pl.lit(day, pl.Date)
    valid = regs.filter((pl.col("start_date") <= on) & (pl.col("end_date").is_null() | (pl.col("end_date") >= on)))
    return valid.sort("atena_no", "accepted_on").unique("atena_no", keep="last", maintain_order=True)


# ----------------------------------------------------------------------------------------- requests
def customer_number(notice_no: pl.Expr, installment: pl.Expr) -> pl.Expr:
    """顧客番号: 通知書番号 (15) + 期別 (2, zero-padded) + ``000`` (module docstring)."""
    return pl.concat_str(notice_no, installment.cast(pl.String).str.zfill(INSTALLMENT_DIGITS),
                         pl.lit(CUSTOMER_NO_RESERVED))


def debit_requests(balances: pl.DataFrame, registrations: pl.DataFrame, *, debit_day: date,
                   earlier_requests: pl.DataFrame | None = None) -> pl.DataFrame:
    """The 期 to debit on ``debit_day`` (:data:`REQUEST_SCHEMA`, sorted by 顧客番号).

    ``balances``: :func:`transforms.collection.balances` as of the day; only route ``ordinary`` with 納期限 =
    ``debit_day`` and 未納額 above 0 is debited, for its 未納額. ``registrations``: :data:`REGISTRATION_SCHEMA`
    (:func:`staged_registrations`); the person's registration in force that day (:func:`valid_registrations`)
    gives the account. ``earlier_requests``: the requests sent on earlier days (:data:`REQUEST_SCHEMA`; rows of
    ``debit_day`` or later are ignored, so a rerun of the day gives the same file): 新規コード is 1 when none of
    them used the same registration (宛名番号 and 受付日), else 0."""
    day = pl.lit(debit_day, pl.Date)
    due = balances.filter((pl.col("due_date") == day) & (pl.col("unpaid") > 0)).filter(pl.col("route") == "ordinary")
    chosen = valid_registrations(registrations, day=debit_day)
    rows = due.join(chosen, on="atena_no", how="inner", validate="m:1")
    bad = rows.filter(~pl.col("notice_no").str.contains(f"^[0-9]{{{NOTICE_NO_LENGTH}}}$").fill_null(False)
                      | ~pl.col("installment").is_between(1, 10 ** INSTALLMENT_DIGITS - 1).fill_null(False))
    if bad.height:
        raise ContractError(f"{bad.height} 普通徴収 期 due on {debit_day.isoformat()} have a 通知書番号 that is not "
                            f"{NOTICE_NO_LENGTH} digits or a 期別 outside 1–99: their 顧客番号 cannot be packed; "
                            "expected the ledger's 通知書番号 and 期別")
    if earlier_requests is not None and earlier_requests.height:
        sent = earlier_requests.filter(pl.col("debit_day") < day).select(
            "atena_no", pl.col("accepted_on").cast(pl.Date), pl.lit(True).alias("_sent")).unique()
    else:
        sent = pl.DataFrame(schema={"atena_no": pl.String, "accepted_on": pl.Date, "_sent": pl.Boolean})
    rows = rows.join(sent, on=["atena_no", "accepted_on"], how="left", validate="m:1")
    out = rows.select(
        day.alias("debit_day"),
        customer_number(pl.col("notice_no"), pl.col("installment")).alias("customer_no"),
        "atena_no", "notice_no", pl.col("installment").cast(pl.Int32), "period",
        pl.col("unpaid").cast(I64).alias("amount"),
        pl.when(pl.col("_sent").fill_null(False)).then(pl.lit(NEW_CODE_OTHER)).otherwise(pl.lit(NEW_CODE_FIRST))
        .alias("new_code"),
        "bank_code", "branch_code", "deposit_type", "account_no", "account_holder_kana", "accepted_on",
    ).cast(REQUEST_SCHEMA).sort("customer_no")  # type: ignore[arg-type]
    if out["customer_no"].is_duplicated().any():
        raise ContractError(f"two 期 due on {debit_day.isoformat()} share a 通知書番号 and a 期別: expected one "
                            "balance row per 期 (transforms.collection.balances)")
    return out


def request_file(requests: pl.DataFrame, *, file: str, consignor_code: str, consignor_name_kana: str,
                 debit_day: date, bank_code: str, bank_name_kana: str, branch_code: str,
                 branch_name_kana: str) -> bytes:
    """The 全銀 預金口座振替 依頼 file (kind ``91``) of ``requests`` (:func:`debit_requests` of ``debit_day``):
    one group, the header naming the ward (委託者コード and 委託者名, given by the bank), the 引落日 (MMDD) and the
    ward's 取引銀行・支店; one data record per request in 顧客番号 order (引落銀行名・支店名 blank, 振替結果コード 0);
    the trailer computed by the codec. Names are 全銀 kana (:func:`transforms.zengin_records.to_zengin_kana`);
    a value the codec cannot write raises its :class:`~transforms.zengin_records.ZenginWriteError`."""
    other = requests.filter(pl.col("debit_day") != pl.lit(debit_day, pl.Date))
    if other.height:
        raise ContractError(f"{other.height} requests for {file} are for another 引落日 than {debit_day.isoformat()}; "
                            "expected the requests of that day only (one file per 引落日)")
    header = {
        "code_class": "0", "consignor_code": consignor_code, "consignor_name": consignor_name_kana,
        "debit_date": debit_day.strftime("%m%d"), "bank_code": bank_code, "bank_name": bank_name_kana,
        "branch_code": branch_code, "branch_name": branch_name_kana, "deposit_type": None, "account_no": None,
    }
    records = requests.sort("customer_no").select(
        "bank_code", pl.lit(None, pl.String).alias("bank_name"), "branch_code",
        pl.lit(None, pl.String).alias("branch_name"), "deposit_type", "account_no",
        pl.col("account_holder_kana").alias("account_holder_name"), pl.col("amount").cast(I64), "new_code",
        "customer_no", pl.lit(TRANSFERRED).alias("result_code"))
    return write_zengin_file(ZenginFile(headers=header, records=records), file=file, kind="91")


# ------------------------------------------------------------------------------------------ results
def _result_reasons() -> dict[str, str]:
    from contracts.zengin import load_zengin_layouts

    codes = load_zengin_layouts().code_list("result_code")["codes"]
    return {code: str(entry["label"]) for code, entry in codes.items()}


def _group_days(zf: ZenginFile, requests: pl.DataFrame, file: str) -> pl.DataFrame:
    """``group_no`` → ``debit_day``: the day of the requests whose MMDD is the group's 引落日."""
    headers = zf.headers
    assert isinstance(headers, pl.DataFrame)
    days = requests.select(pl.col("debit_day").cast(pl.Date)).unique().with_columns(
        pl.col("debit_day").dt.strftime("%m%d").alias("debit_date"))
    groups = headers.select("group_no", "record_no", "debit_date").join(days, on="debit_date", how="left")
    field = "引落日 (debit_date)"
    ambiguous = groups.filter(pl.col("group_no").is_duplicated())
    if ambiguous.height:
        raise ZenginFieldError(file, int(ambiguous["record_no"].min()), field,  # type: ignore[arg-type]
                               "the 引落日 of one request day", "requests of several years share that month and day")
    unknown = groups.filter(pl.col("debit_day").is_null())
    if unknown.height:
        raise ZenginFieldError(file, int(unknown["record_no"].min()), field,  # type: ignore[arg-type]
                               "the 引落日 of a 依頼 the ward sent", "no request was sent for that day: the file is "
                               "not the result of one of our 依頼 files")
    return groups.select("group_no", "debit_day")


def result_records(result: bytes, *, file: str, requests: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The bank's 振替結果 file (kind ``91_result``) read and matched to ``requests`` (:data:`REQUEST_SCHEMA`,
    the requests of the days the file may answer). Returns the payment records (:data:`RECORD_SCHEMA`, code 0,
    matched or not) and the failures (:data:`FAILURE_SCHEMA`, every other code), both in record order. See the
    module docstring for the matching, what an unmatched record becomes, and what is refused."""
    zf = read_zengin_file(result, file=file, kind="91_result")
    reqs = requests.select(list(REQUEST_SCHEMA)).cast(REQUEST_SCHEMA)  # type: ignore[arg-type]
    if reqs.select(pl.struct("customer_no", "debit_day").is_duplicated().any()).item():
        raise ContractError("two requests share a 顧客番号 and a 引落日; expected the requests as debit_requests "
                            "wrote them, once each")
    days = _group_days(zf, reqs, file)
    ours = f"^[0-9]{{{NOTICE_NO_LENGTH}}}[0-9]{{{INSTALLMENT_DIGITS}}}{CUSTOMER_NO_RESERVED}$"
    records = zf.records.join(days, on="group_no", how="left", validate="m:1").join(
        reqs.select("customer_no", "amount", "debit_day", "atena_no", "period", pl.lit(True).alias("_matched")),
        on=["customer_no", "amount", "debit_day"], how="left", validate="m:1",
    ).with_columns(
        pl.col("_matched").fill_null(False),
        pl.when(pl.col("customer_no").str.contains(ours)).then(pl.col("customer_no").str.slice(0, NOTICE_NO_LENGTH))
        .alias("_notice_no"),
    ).with_columns(
        pl.when(pl.col("_matched")).then(
            pl.col("customer_no").str.slice(NOTICE_NO_LENGTH, INSTALLMENT_DIGITS).cast(pl.Int32))
        .otherwise(pl.lit(None, pl.Int32)).alias("_installment"),
    ).sort("record_no")

    paid = records.filter(pl.col("result_code") == TRANSFERRED)
    payments = paid.select(
        pl.lit(file).alias("file"), "record_no", pl.lit(CHANNEL).alias("channel"), pl.lit("final").alias("report_kind"),
        pl.concat_str(pl.col("customer_no"), pl.col("debit_day").dt.strftime("%Y%m%d")).alias("reference"),
        pl.col("debit_day").alias("paid_on"), pl.lit(None, pl.Date).alias("credited_on"),
        pl.col("_notice_no").alias("notice_no"), pl.col("_installment").alias("installment"),
        pl.lit(None, pl.String).alias("route"), pl.lit(None, pl.String).alias("payer"),
        pl.lit(None, pl.String).alias("period"), pl.col("amount").cast(I64),
        pl.lit(0, I64).alias("retirement_amount"),
    ).cast(RECORD_SCHEMA)  # type: ignore[arg-type]

    reasons = _result_reasons()
    failed = records.filter(pl.col("result_code") != TRANSFERRED)
    failures = failed.select(
        pl.lit(file).alias("file"), "record_no", "customer_no", "atena_no", pl.col("_notice_no").alias("notice_no"),
        pl.col("_installment").alias("installment"), "period", "debit_day", pl.col("amount").cast(I64),
        "result_code",
        pl.col("result_code").replace_strict(reasons, default=_UNKNOWN_RESULT_REASON, return_dtype=pl.String)
        .alias("reason"),
    ).cast(FAILURE_SCHEMA)  # type: ignore[arg-type]
    return payments, failures


__all__ = ["CHANNEL", "CUSTOMER_NO_LENGTH", "FAILURE_SCHEMA", "REGISTRATION_SCHEMA", "REQUEST_SCHEMA",
           "customer_number", "debit_requests", "request_file", "result_records", "staged_registrations",
           "valid_registrations"]
