"""The files the collection stage hands off: 督促状 and 還付通知書 print data, and the refunds' 総合振込 file.

From the rows a posting day decides (``pipelines.collection``: ``DEMAND_SCHEMA``, ``REFUND_SCHEMA``) this module
shapes, like :mod:`pipelines.notice_files` for the notices of the 当初賦課:

* ``demand_notice.csv`` — 督促状 print data (contracts/handoff/demand_notice.yaml), CP932 (外字 → 〓), with
  ``demand_notice.parquet`` beside it and ``demand_notice_encoding_report.csv`` (外字一覧);
* ``refund_notice.csv`` — 還付（充当）通知書 print data (contracts/handoff/refund_notice.yaml), the same way;
* the 全銀 総合振込 (種別 21) of the refunds of persons with a 公金受取口座
  (contracts/layouts/public_benefit_accounts.yaml), written by :mod:`transforms.zengin_records`. Its recipient
  is the ward's 指定金融機関, not the print vendor: it is returned as bytes.

Who receives what (the rule of :func:`transforms.notices.addressees`): a 普通徴収 督促状 and every 還付通知書 go
to the registered 送付先, else to the residence; a 給与特別徴収 督促状 goes to the 特別徴収義務者 (地方税法第329条
第1項: the 督促 is of the 特別徴収義務者), at the address of the employer data the notice export uses
(:func:`transforms.notices.employers`). A person under a DV等支援措置 gets no printed notice at all, on either
route, as in notice_files: the record is held (:func:`held_notices`) and carries no address. A protected person's
refund is still paid to the 公金受取口座 (the bank file carries a name and an account, never an address).

Pure: frames in, files (and sentences for the run report) out; the stage writes them with
:func:`pipelines.handoff.write_handoff`. No clock: every date comes from the rows or the arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import polars as pl

from contracts.errors import ConfigError, JuminzeiError
from contracts.handoff_layouts import load_handoff_layout, to_export
from pipelines.handoff import HandoffFile

I64 = pl.Int64
#: 全銀 総合振込: the 受取人名 field's width (half-width characters)
PAYEE_NAME_WIDTH = 30
#: why a notice is held instead of printed (as contracts.notice_export.HOLD_REASONS)
HOLD_REASONS = ("support_measures", "no_address")

#: 督促の理由 (地方税法第329条第1項, 第331条第1項: 差押 when not paid by the 10th day after the 督促状)
DEMAND_REASON = (
    "上記の税額が納期限までに完納されていないため、地方税法第329条第1項の規定により督促します。"
    "この督促状を発した日から起算して10日を経過した日までに完納されないときは、同法第331条第1項の規定により"
    "滞納処分（財産の差押え）を受けることになります。")
#: 教示 of the 督促 (審査請求 within 3 months; 取消訴訟 within 6 months of the 裁決); {head}: 港区長, {body}: 港区
DEMAND_APPEAL = (
    "この処分について不服があるときは、この処分があったことを知った日の翌日から起算して3か月以内に、{head}に対して"
    "審査請求をすることができます。この処分の取消しの訴えは、審査請求に対する裁決があったことを知った日の翌日から"
    "起算して6か月以内に、{body}を被告として（訴訟において{body}を代表する者は{head}となります。）提起することが"
    "できます。")
#: 還付の根拠 (地方税法第17条 還付, 第17条の4 還付加算金)
REFUND_REASON = "過誤納金を地方税法第17条の規定により還付し、同法第17条の4の規定により還付加算金を加算します。"


class CollectionFilesError(JuminzeiError):
    """The collection's hand-off files cannot be built from what was given (the sentence says why)."""


@dataclass(frozen=True)
class Consignor:
    """振込依頼人: the ward's account at its 指定金融機関 that pays the refunds (the 総合振込 header).
    Codes are digits as text; names are kana (full- or half-width; written half-width)."""

    remitter_code: str  # 振込依頼人コード, 10 digits assigned by the bank
    remitter_name: str  # 振込依頼人名, e.g. ミナトク
    bank_code: str  # 仕向銀行番号, 4 digits
    bank_name: str  # 仕向銀行名
    branch_code: str  # 仕向支店番号, 3 digits
    branch_name: str  # 仕向支店名
    deposit_type: str  # 預金種目 (依頼人): 1 普通, 2 当座, 9 その他
    account_no: str  # 口座番号 (依頼人), 7 digits


class RefundHandoff(NamedTuple):
    """What :func:`refund_files` returns: the print vendor's files, the 総合振込 file (None when no refund is
    paid to a 公金受取口座) and sentences for the run report."""

    print_files: list[HandoffFile]
    transfer: bytes | None
    messages: list[str]


# ----------------------------------------------------------------------------------------- common


def ward_texts(municipality_code: str) -> dict[str, str]:
    """``body`` (港区), ``authority_name`` (港区長: the 命令権者) and ``tax_item`` (特別区民税・都民税) of a
    municipality, from the 団体コード table (contracts/local_government_codes.csv)."""
    from contracts.local_government_codes import load_local_government_codes

    rows = load_local_government_codes().filter(pl.col("code") == municipality_code)
    if rows.height != 1 or not rows["municipality"][0]:
        raise ConfigError(f"団体コード {municipality_code!r} is not a municipality of "
                          "contracts/local_government_codes.csv")
    row = rows.row(0, named=True)
    name, prefecture = row["municipality"], row["prefecture"]
    if row["kind"] == "special_ward":
        item = "特別区民税・都民税"
    else:  # 横浜市 → 市民税・県民税, 八王子市 → 市民税・都民税
        item = f"{name[-1]}民税・{prefecture[-1]}民税"
    return {"body": name, "authority_name": f"{name}長", "tax_item": item}


def _print_files(export: str, frame: pl.DataFrame) -> list[HandoffFile]:
    """A print file as CP932 CSV (外字 → 〓), Parquet with the characters themselves beside it, and the 外字
    report of the CSV (as :func:`pipelines.notice_files._paper`) when the CSV replaced a character: a day's files
    without 外字 have no report."""
    from transforms.notices import cp932_form, replace_unencodable, unencodable_characters

    layout = load_handoff_layout(export)
    shaped = cp932_form(to_export(frame, layout))
    gaiji = unencodable_characters(shaped, "notice_no")  # the report names a record by its 通知書番号
    counts = {"notices": shaped.height}
    report_layout = load_handoff_layout("encoding_report")
    report = gaiji.with_columns(pl.lit(f"{export}.csv").alias("print_file")).sort("notice_no", "field", "position")
    files = [
        HandoffFile(f"{export}.csv", replace_unencodable(shaped, gaiji), layout, "csv", None, dict(counts)),
        HandoffFile(f"{export}.parquet", shaped, layout, "parquet", None, dict(counts)),
    ]
    if report.height:
        files.append(HandoffFile(f"{export}_encoding_report.csv", to_export(report, report_layout), report_layout,
                                 "csv"))
    return files


def _sent(records: pl.DataFrame, *tiebreak: str) -> pl.DataFrame:
    """The records not held, in postal order with their 発送連番."""
    from transforms.notices import dispatch_order

    return dispatch_order(records.filter(pl.col("hold_reason").is_null()), "addressee_postal_code",
                          "addressee_address", "addressee_address_detail", *tiebreak)


def _hold_reason(protected: pl.Expr, address: pl.Expr) -> pl.Expr:
    return pl.when(protected).then(pl.lit("support_measures")).when(address.is_null()).then(pl.lit("no_address")) \
        .otherwise(pl.lit(None, pl.String))


_ADDRESS = ("addressee_postal_code", "addressee_address", "addressee_address_detail", "addressee_name",
            "address_basis", "obligor_address")


def held_notices(records: pl.DataFrame, kind: str) -> pl.DataFrame:
    """The hold queue of :func:`demand_notices` / :func:`refund_notices` records (``kind``: ``demand_notice`` or
    ``refund_notice``): ``person_id``, ``notice_kind``, ``document_no`` (督促状番号 / 還付番号), ``notice_no``,
    ``route``, ``reason`` (:data:`HOLD_REASONS`) and ``amount`` (合計金額). No address, no name."""
    key = {"demand_notice": "demand_no", "refund_notice": "refund_no"}[kind]
    return records.filter(pl.col("hold_reason").is_not_null()).select(
        "person_id", pl.lit(kind).alias("notice_kind"), pl.col(key).alias("document_no"), "notice_no", "route",
        pl.col("hold_reason").alias("reason"), pl.col("total_amount").alias("amount"),
    ).sort("person_id", "document_no")


# ----------------------------------------------------------------------------------------- 督促状


def demand_notices(demands: pl.DataFrame, *, residents: pl.DataFrame, mailing: pl.DataFrame, protected: pl.Series,
                   employers: pl.DataFrame, fiscal_year: int, municipality_code: str) -> pl.DataFrame:
    """Every 督促状 record (the fields of contracts/handoff/demand_notice.yaml but ``dispatch_seq``) with
    ``protected`` and ``hold_reason`` (null: printed; ``support_measures``; ``no_address``: no address to send
    it to — a person outside ``residents``, an employer without an address). A held record carries no address.

    ``demands``: ``DEMAND_SCHEMA`` rows; ``residents``: atena_no, name_kanji, name_kana, postal_code, address,
    address_detail; ``mailing``: the staged 送付先 (:func:`transforms.notice_inputs.mailing_addresses`);
    ``protected``: the 宛名番号 under a DV等支援措置; ``employers``: :func:`transforms.notices.employers`
    (designation_no, employer_name, employer_postal_code, employer_address)."""
    from transforms.notices import addressees

    texts = ward_texts(municipality_code)
    shielded = protected.cast(pl.String).unique().implode()
    addressed = addressees(residents, mailing, protected).drop("protected")
    payers = employers.select(
        pl.col("designation_no").cast(pl.String).str.strip_chars().alias("payer"), "employer_name",
        "employer_postal_code", "employer_address").unique("payer", keep="last", maintain_order=True)
    salary = pl.col("route") == "salary"

    def either(employer: str | pl.Expr, person: str) -> pl.Expr:
        employer_expr = pl.col(employer) if isinstance(employer, str) else employer
        return pl.when(salary).then(employer_expr).otherwise(pl.col(person))

    joined = demands.join(addressed, left_on="atena_no", right_on="person_id", how="left", validate="m:1") \
        .join(payers, on="payer", how="left", validate="m:1")
    records = joined.select(
        "demand_no", "issued_on", pl.lit(fiscal_year, I64).alias("fiscal_year"),
        pl.lit(municipality_code).alias("municipality_code"),
        pl.lit(texts["authority_name"]).alias("authority_name"), pl.lit(texts["tax_item"]).alias("tax_item"),
        "route", "notice_no", pl.col("atena_no").alias("person_id"),
        either("employer_postal_code", "addressee_postal_code").alias("addressee_postal_code"),
        either("employer_address", "addressee_address").alias("addressee_address"),
        either(pl.lit(None, pl.String), "addressee_address_detail").alias("addressee_address_detail"),
        either("employer_name", "addressee_name").alias("addressee_name"),
        either(pl.when(pl.col("employer_address").is_not_null()).then(pl.lit("employer")), "address_basis")
        .alias("address_basis"),
        either("employer_name", "taxpayer_name").alias("obligor_name"),
        either("employer_address", "taxpayer_address").alias("obligor_address"),
        pl.when(salary).then(pl.col("payer")).alias("designation_no"),
        pl.when(salary).then(pl.col("taxpayer_name")).alias("employee_name"),
        pl.col("installment").cast(I64), "period", "due_date",
        pl.col("charged").alias("installment_amount"), pl.col("unpaid").alias("tax_amount"), "late_charge",
        pl.col("late_charge").is_null().alias("late_charge_until_payment"), "fee",
        (pl.col("unpaid") + pl.col("late_charge").fill_null(0) + pl.col("fee")).alias("total_amount"),
        "deadline", pl.lit(DEMAND_REASON).alias("legal_basis"),
        pl.lit(DEMAND_APPEAL.format(head=texts["authority_name"], body=texts["body"])).alias("appeal_notice"),
        pl.col("atena_no").is_in(shielded).alias("protected"),  # from the list itself: fail-closed
    )
    records = records.with_columns(_hold_reason(pl.col("protected"), pl.col("addressee_address")).alias("hold_reason"))
    return records.with_columns(
        *[pl.when(pl.col("hold_reason").is_not_null()).then(None).otherwise(pl.col(c)).alias(c) for c in _ADDRESS]
    ).sort("demand_no")


def demand_notice_files(demands: pl.DataFrame, *, residents: pl.DataFrame, mailing: pl.DataFrame,
                        protected: pl.Series, employers: pl.DataFrame, fiscal_year: int,
                        municipality_code: str) -> list[HandoffFile]:
    """The print vendor's 督促状 files of ``demands`` (see :func:`demand_notices` for the arguments):
    ``demand_notice.csv`` (CP932), ``demand_notice.parquet`` and ``demand_notice_encoding_report.csv``, the
    records in postal order of the addressee; the held 督促状 are in none of them (:func:`held_notices`).
    Empty when there is nothing to print."""
    records = demand_notices(demands, residents=residents, mailing=mailing, protected=protected,
                             employers=employers, fiscal_year=fiscal_year, municipality_code=municipality_code)
    sent = _sent(records, "addressee_name", "demand_no")
    return _print_files("demand_notice", sent) if sent.height else []


# ----------------------------------------------------------------------------------------- 還付


def payee_names(accounts: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """``atena_no`` and the 全銀 受取人名 (``payee_name``) of each 公金受取口座: the 口座名義カナ in half-width
    (:func:`transforms.zengin_records.to_zengin_kana`), cut to :data:`PAYEE_NAME_WIDTH` characters as banks do;
    null when a character has no 全銀 form (the refund then waits for a 口座振込依頼書). With sentences naming
    the 宛名番号 concerned (never the name)."""
    from transforms.zengin_records import ZenginKanaError, to_zengin_kana

    converted: dict[str, str | None] = {}
    for name in accounts["account_holder_kana"].drop_nulls().unique().sort().to_list():
        try:
            converted[name] = to_zengin_kana(name)
        except ZenginKanaError:
            converted[name] = None
    out = accounts.select("atena_no", pl.col("account_holder_kana").replace_strict(
        converted, default=None, return_dtype=pl.String).alias("_kana"))
    messages = []
    bad = out.filter(pl.col("_kana").is_null())["atena_no"].sort().to_list()
    if bad:
        messages.append(f"{len(bad)} 公金受取口座 have a 口座名義カナ with a character that has no 全銀 form "
                        f"(宛名番号 {', '.join(bad)}): their refunds are not transferred; the 還付通知書 asks for a "
                        "口座振込依頼書. Correct the account data.")
    cut = out.filter(pl.col("_kana").str.len_chars() > PAYEE_NAME_WIDTH)["atena_no"].sort().to_list()
    if cut:
        messages.append(f"{len(cut)} 受取人名 are longer than {PAYEE_NAME_WIDTH} half-width characters and were cut "
                        f"to {PAYEE_NAME_WIDTH}, as banks do (宛名番号 {', '.join(cut)}).")
    return out.select("atena_no", pl.col("_kana").str.slice(0, PAYEE_NAME_WIDTH).alias("payee_name")), messages


def refund_notices(refunds: pl.DataFrame, *, residents: pl.DataFrame, mailing: pl.DataFrame, protected: pl.Series,
                   accounts: pl.DataFrame, fiscal_year: int, municipality_code: str,
                   transfer_day: date) -> tuple[pl.DataFrame, list[str]]:
    """Every 還付通知書 record (the fields of contracts/handoff/refund_notice.yaml but ``dispatch_seq``) with
    ``protected``, ``hold_reason`` (as :func:`demand_notices`), the transfer's ``payee_name``, ``account_no``,
    ``customer_code`` and ``transfer_amount`` (null unless paid to a 公金受取口座); and sentences for the report.

    ``refunds``: ``REFUND_SCHEMA`` rows; ``accounts``: the staged 公金受取口座 (public_benefit_accounts: atena_no,
    bank_code, branch_code, deposit_type, account_no, account_holder_kana), one per 宛名番号. The 還付番号 is the
    決定日 and a 連番 in 宛名番号 and 期 order among the refunds of that day. A refund whose 還付加算金 is not
    decided is paid without it (and said so)."""
    from transforms.notices import addressees

    if refunds.height and transfer_day < refunds["decided_on"].max():
        raise ConfigError(f"the transfer day {transfer_day.isoformat()} is before the refunds were decided "
                          f"({refunds['decided_on'].max().isoformat()}): give a 振込指定日 on or after it")
    duplicated = accounts.filter(pl.col("atena_no").is_duplicated())["atena_no"].unique().sort().to_list()
    if duplicated:
        raise CollectionFilesError(f"the 公金受取口座 list holds more than one account for 宛名番号 "
                                   f"{', '.join(duplicated)}: the refund cannot choose one. Deliver one per person.")
    texts = ward_texts(municipality_code)
    shielded = protected.cast(pl.String).unique().implode()
    addressed = addressees(residents, mailing, protected).drop("protected")
    accounts = accounts.filter(pl.col("atena_no").is_in(refunds["atena_no"].unique().implode()))  # the refundees'
    names, messages = payee_names(accounts)
    paid_to = accounts.select("atena_no", "bank_code", "branch_code", pl.col("deposit_type").cast(pl.String),
                              "account_no").join(names, on="atena_no", how="left", validate="1:1") \
        .filter(pl.col("payee_name").is_not_null())

    ordered = refunds.sort("decided_on", "atena_no", "notice_no", "route", "payer", "period", nulls_last=False) \
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=I64).over("decided_on").alias("_seq"))
    if ordered.height and int(ordered["_seq"].max()) > 999_999:
        raise CollectionFilesError("more than 999,999 refunds decided on one day: the 還付番号 has 6 digits")
    seq = pl.col("_seq").cast(pl.String).str.zfill(6)
    account = pl.col("payee_name").is_not_null()
    joined = ordered.join(addressed, left_on="atena_no", right_on="person_id", how="left", validate="m:1") \
        .join(paid_to, on="atena_no", how="left", validate="m:1")
    records = joined.select(
        pl.concat_str(pl.col("decided_on").dt.strftime("%Y%m%d"), pl.lit("-"), seq).alias("refund_no"),
        "decided_on", pl.lit(fiscal_year, I64).alias("fiscal_year"),
        pl.lit(municipality_code).alias("municipality_code"),
        pl.lit(texts["authority_name"]).alias("authority_name"), pl.lit(texts["tax_item"]).alias("tax_item"),
        "notice_no", pl.col("atena_no").alias("person_id"),
        "addressee_postal_code", "addressee_address", "addressee_address_detail", "addressee_name", "address_basis",
        "taxpayer_name", "taxpayer_name_kana", "route", pl.col("installment").cast(I64), "period", "paid_on",
        pl.col("refund").alias("refund_amount"), "refund_addition",
        pl.col("refund_addition").is_not_null().alias("refund_addition_decided"),
        (pl.col("refund") + pl.col("refund_addition").fill_null(0)).alias("total_amount"),
        pl.when(account).then(pl.lit("public_benefit_account")).otherwise(pl.lit("transfer_request"))
        .alias("payment_method"),
        pl.when(account).then(pl.lit(transfer_day, pl.Date)).alias("transfer_date"),
        pl.when(account).then(pl.col("bank_code")).alias("bank_code"),
        pl.when(account).then(pl.col("branch_code")).alias("branch_code"),
        pl.when(account).then(pl.col("deposit_type")).alias("deposit_type"),
        pl.when(account).then(pl.concat_str(pl.lit("****"), pl.col("account_no").str.slice(-3)))
        .alias("account_no_masked"),
        pl.lit(REFUND_REASON).alias("legal_basis"),
        pl.col("atena_no").is_in(shielded).alias("protected"),
        # the transfer (never printed)
        "payee_name", pl.when(account).then(pl.col("account_no")).alias("account_no"),
        pl.concat_str(pl.col("decided_on").dt.strftime("%m%d"), seq).alias("customer_code"),
        pl.when(account).then(pl.col("refund") + pl.col("refund_addition").fill_null(0)).alias("transfer_amount"),
    )
    records = records.with_columns(_hold_reason(pl.col("protected"), pl.col("addressee_address")).alias("hold_reason"))
    records = records.with_columns(
        *[pl.when(pl.col("hold_reason").is_not_null()).then(None).otherwise(pl.col(c)).alias(c)
          for c in _ADDRESS if c in records.columns])
    messages += _refund_messages(records)
    return records.sort("refund_no"), messages


def _refund_messages(records: pl.DataFrame) -> list[str]:
    out = []
    pending = records.filter(pl.col("refund_addition").is_null())
    if pending.height:
        paid = pending.filter(pl.col("payment_method") == "public_benefit_account")
        out.append(f"{pending.height} refunds ({int(pending['refund_amount'].sum())} yen) have no 還付加算金 decided "
                   f"(a rate is not yet published): {paid.height} of them are transferred for the 還付金 only "
                   f"({int(paid['refund_amount'].sum() or 0)} yen); their 還付加算金 is paid when it is decided.")
    held = records.filter(pl.col("hold_reason") == "support_measures")
    if held.height:
        paid = held.filter(pl.col("payment_method") == "public_benefit_account").height
        out.append(f"{held.height} 還付通知書 of persons under a DV等支援措置 are held, not printed (the hold queue); "
                   f"{paid} of their refunds are transferred to the 公金受取口座 (no address leaves the building), "
                   f"the others wait for the section to hand over a 口座振込依頼書.")
    lost = records.filter(pl.col("hold_reason") == "no_address")
    if lost.height:
        out.append(f"{lost.height} 還付通知書 have no address to go to (宛名番号 "
                   f"{', '.join(lost['person_id'].unique().sort().to_list())}): held.")
    return out


def transfer_file_name(transfer_day: date) -> str:
    """The 総合振込 file's name: ``sogo_furikomi_21_<振込指定日 YYYYMMDD>.txt``."""
    return f"sogo_furikomi_21_{transfer_day.strftime('%Y%m%d')}.txt"


def transfer_file(records: pl.DataFrame, *, consignor: Consignor, transfer_day: date,
                  transfer_designation: str | None = "7") -> bytes | None:
    """The 全銀 総合振込 (種別 21) of the :func:`refund_notices` records paid to a 公金受取口座, one data record per
    refund in 還付番号 order (振込金額 = 還付金 + 還付加算金; 顧客コード1 the 宛名番号, 顧客コード2 the 決定日 MMDD and
    the 連番 of the 還付番号); None when there is none. The 被仕向銀行名・支店名 are blank (the 公金受取口座 gives the
    codes; banks route by code). ``transfer_designation``: 7 電信, 8 文書, None the bank's default."""
    from transforms.zengin_records import ZenginFile, to_zengin_kana, write_zengin_file

    paid = records.filter(pl.col("transfer_amount").is_not_null()).sort("refund_no")
    if paid.height == 0:
        return None
    header = {
        "code_class": "0", "remitter_code": consignor.remitter_code,
        "remitter_name": to_zengin_kana(consignor.remitter_name), "transfer_date": transfer_day.strftime("%m%d"),
        "bank_code": consignor.bank_code, "bank_name": to_zengin_kana(consignor.bank_name),
        "branch_code": consignor.branch_code, "branch_name": to_zengin_kana(consignor.branch_name),
        "deposit_type": consignor.deposit_type, "account_no": consignor.account_no,
    }
    data = paid.select(
        "bank_code", pl.lit("").alias("bank_name"), "branch_code", pl.lit("").alias("branch_name"),
        pl.lit(None, pl.String).alias("clearing_house_no"), "deposit_type", "account_no", "payee_name",
        pl.col("transfer_amount").cast(I64).alias("amount"), pl.lit("0").alias("new_code"),
        pl.col("person_id").alias("customer_code_1"), pl.col("customer_code").alias("customer_code_2"),
        pl.lit(transfer_designation, pl.String).alias("transfer_designation"), pl.lit("").alias("edi_flag"))
    return write_zengin_file(ZenginFile(header, data), file=transfer_file_name(transfer_day), kind="21")


def refund_files(refunds: pl.DataFrame, *, residents: pl.DataFrame, mailing: pl.DataFrame, protected: pl.Series,
                 accounts: pl.DataFrame, fiscal_year: int, municipality_code: str, transfer_day: date,
                 consignor: Consignor, transfer_designation: str | None = "7") -> RefundHandoff:
    """The print vendor's 還付通知書 files (``refund_notice.csv``/``.parquet``/``_encoding_report.csv``, empty when
    nothing is printed), the 総合振込 file of the refunds paid to a 公金受取口座 (:func:`transfer_file`, named
    :func:`transfer_file_name`) and sentences for the run report. See :func:`refund_notices`."""
    records, messages = refund_notices(refunds, residents=residents, mailing=mailing, protected=protected,
                                       accounts=accounts, fiscal_year=fiscal_year,
                                       municipality_code=municipality_code, transfer_day=transfer_day)
    sent = _sent(records, "person_id", "refund_no")
    files = _print_files("refund_notice", sent) if sent.height else []
    transfer = transfer_file(records, consignor=consignor, transfer_day=transfer_day,
                             transfer_designation=transfer_designation)
    if transfer is not None:
        paid = records.filter(pl.col("transfer_amount").is_not_null())
        messages.append(f"総合振込 {transfer_file_name(transfer_day)}: {paid.height} transfers, "
                        f"{int(paid['transfer_amount'].sum())} yen (還付金 {int(paid['refund_amount'].sum())}, "
                        f"還付加算金 {int(paid['refund_addition'].sum() or 0)}).")
    return RefundHandoff(files, transfer, messages)


__all__ = ["Consignor", "CollectionFilesError", "DEMAND_APPEAL", "DEMAND_REASON", "HOLD_REASONS", "REFUND_REASON",
           "RefundHandoff", "demand_notice_files", "demand_notices", "held_notices", "payee_names", "refund_files",
           "refund_notices", "transfer_file", "transfer_file_name", "ward_texts"]
