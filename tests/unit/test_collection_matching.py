"""消込, 充当・還付 and 督促 (transforms/collection.py) on a small hand-made ledger.

The ledger of 年度 2026 holds, for two synthetic persons:

* A (0100000001), 普通徴収 in four 期 (港区's 納期: 6月・8月・10月・1月 末, 地方税法第320条): 第1期 10,000 due
  2026-06-30, 第2期 9,000 due 2026-08-31, 第3期 9,000 due 2026-11-02, 第4期 9,000 due 2027-02-01;
* B (0100000002) and C (0100000003), 給与特別徴収 by the employer 92702083: June 8,300 and 4,100, due 2026-07-10.

Every expected figure below follows from the rules stated in each test (a payment pays the 期 it names; the
rest stays due; an overpayment is 充当 to the oldest unpaid 期 of the same person, then refunded — 地方税法
第17条の2, 第17条; a 督促 for a 期 unpaid 15 days after its 納期限 — the ward's profile within 第329条's 20 days),
worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from contracts.collection import LedgerEntries
from transforms.collection import INDEX, RECORD_SCHEMA, OUTCOME_SCHEMA, appropriations, balances, demands, \
    match_payments, pending_preliminary
from transforms.receivables import assessment_entries

A, B, C = "0100000001", "0100000002", "0100000003"
NA, NB, NC = "202610100000001", "202620100000002", "202620100000003"
EMPLOYER = "92702083"


def _schedule() -> pl.DataFrame:
    rows = [
        (A, "ordinary", 0, "2026-06", date(2026, 6, 30), 10_000, "ordinary", None),
        (A, "ordinary", 1, "2026-08", date(2026, 8, 31), 9_000, "ordinary", None),
        (A, "ordinary", 2, "2026-10", date(2026, 11, 2), 9_000, "ordinary", None),
        (A, "ordinary", 3, "2027-01", date(2027, 2, 1), 9_000, "ordinary", None),
        (B, "salary", 0, "2026-06", date(2026, 7, 10), 8_300, "salary", EMPLOYER),
        (C, "salary", 0, "2026-06", date(2026, 7, 10), 4_100, "salary", EMPLOYER),
    ]
    return pl.DataFrame(rows, schema={"person_id": pl.String, "method": pl.String, "sequence": pl.Int32,
                                      "period": pl.String, "due_date": pl.Date, "amount": pl.Int64,
                                      "route": pl.String, "payer": pl.String}, orient="row")


def _opening() -> pl.DataFrame:
    return assessment_entries(_schedule(), fiscal_year=2026, posted_on=date(2026, 6, 10), posting_run="2026-06-10",
                              due_months=[6, 8, 10, 1])


def _record(file: str, record_no: int, *, kind: str = "final", ref: str | None = None, paid: date,
            notice: str | None = None, installment: int | None = None, amount: int, channel: str = "convenience",
            route: str | None = None, payer: str | None = None, period: str | None = None,
            retirement: int = 0) -> dict:
    return {"file": file, "record_no": record_no, "channel": channel, "report_kind": kind,
            "reference": ref or f"{file}#{record_no}", "paid_on": paid, "credited_on": None, "notice_no": notice,
            "installment": installment, "route": route, "payer": payer, "period": period, "amount": amount,
            "retirement_amount": retirement}


def _records(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=RECORD_SCHEMA)


NO_OUTCOMES = pl.DataFrame(schema=OUTCOME_SCHEMA)


#: C': 第1期 1,000,000 yen (納期限 2026-06-30) and 第2期 500,000 (2026-08-31), 普通徴収
C_PRIME = "0100000009"


def _c_prime_ledger() -> pl.DataFrame:
    schedule = pl.DataFrame([
        (C_PRIME, "ordinary", 0, "2026-06", date(2026, 6, 30), 1_000_000, "ordinary", None),
        (C_PRIME, "ordinary", 1, "2026-08", date(2026, 8, 31), 500_000, "ordinary", None),
    ], schema=_schedule().schema, orient="row")
    return assessment_entries(schedule, fiscal_year=2026, posted_on=date(2026, 6, 10), posting_run="2026-06-10",
                              due_months=[6, 8, 10, 1])


def _match(records: pl.DataFrame, ledger: pl.DataFrame, earlier: pl.DataFrame = NO_OUTCOMES,
           day: date = date(2026, 7, 15)):
    return match_payments(records, balances(ledger), earlier, fiscal_year=2026, posting_run=day.isoformat(),
                          posted_on=day)


def test_a_payment_pays_the_period_it_names_and_a_short_one_leaves_the_rest_due():
    ledger = _opening()
    # A pays 第1期 in full (10,000) and 4,000 of 第2期 (9,000): 第2期 keeps 5,000 due
    rows, outcomes = _match(_records(
        _record("cvs_1", 2, paid=date(2026, 6, 29), notice=NA, installment=1, amount=10_000),
        _record("cvs_1", 3, paid=date(2026, 7, 1), notice=NA, installment=2, amount=4_000)), ledger)
    LedgerEntries.validate(rows)
    assert rows.select("entry_kind", "period", "value_date", "amount").rows() == [
        ("payment", "2026-06", date(2026, 6, 29), 10_000), ("payment", "2026-08", date(2026, 7, 1), 4_000)]
    assert outcomes["disposition"].to_list() == ["posted", "posted"]
    bal = balances(pl.concat([ledger, rows])).filter(pl.col("atena_no") == A)
    assert bal.select("period", "unpaid", "overpaid").rows() == [
        ("2026-06", 0, 0), ("2026-08", 5_000, 0), ("2026-10", 9_000, 0), ("2027-01", 9_000, 0)]


def test_what_names_nothing_goes_to_suspense_never_guessed():
    ledger = _opening()
    rows, outcomes = _match(_records(
        _record("mpn_1", 2, paid=date(2026, 7, 1), notice="202610199999999", installment=1, amount=5_000),
        _record("mpn_1", 3, paid=date(2026, 7, 1), notice=NA, installment=7, amount=5_000),
        _record("mpn_1", 4, paid=date(2026, 7, 1), notice="202510100000001", installment=1, amount=5_000),
        _record("mpn_1", 5, paid=date(2026, 7, 1), notice=None, installment=None, amount=5_000)), ledger)
    assert rows.height == 0
    assert outcomes.select("record_no", "disposition", "reason_code", "suspense_amount").rows() == [
        (2, "suspense", "unknown_notice", 5_000), (3, "suspense", "unknown_installment", 5_000),
        (4, "suspense", "other_fiscal_year", 5_000), (5, "suspense", "no_notice_number", 5_000)]


def test_a_preliminary_report_is_held_and_its_confirmation_counted_once():
    ledger = _opening()
    # day 1: the 速報 of A's 第1期; nothing posted
    rows1, out1 = _match(_records(_record("cvs_s", 2, kind="preliminary", ref="BAR1", paid=date(2026, 6, 29),
                                          notice=NA, installment=1, amount=10_000)), ledger,
                         day=date(2026, 6, 30))
    assert rows1.height == 0 and out1["disposition"].to_list() == ["provisional"]
    # while it waits, no 督促 for that 期 (the money is on its way)
    assert pending_preliminary(out1, balances(ledger)).select("period").to_series().to_list() == ["2026-06"]
    # day 2: its 確報, and the same 確報 delivered again in another file: posted once, the repeat quarantined
    rows2, out2 = _match(_records(
        _record("cvs_k", 2, ref="BAR1", paid=date(2026, 6, 29), notice=NA, installment=1, amount=10_000),
        _record("cvs_k2", 2, ref="BAR1", paid=date(2026, 6, 29), notice=NA, installment=1, amount=10_000)),
        ledger, earlier=out1, day=date(2026, 7, 3))
    assert rows2["amount"].to_list() == [10_000]
    assert out2.select("file", "disposition", "reason_code").rows() == [
        ("cvs_k", "posted", None), ("cvs_k2", "quarantined", "duplicate_payment")]
    # day 3: the same 確報 a third time, a day later: still counted once
    all_out = pl.concat([out1, out2])
    rows3, out3 = _match(_records(_record("cvs_k3", 2, ref="BAR1", paid=date(2026, 6, 29), notice=NA,
                                          installment=1, amount=10_000)), pl.concat([ledger, rows2]),
                         earlier=all_out, day=date(2026, 7, 6))
    assert rows3.height == 0 and out3["reason_code"].to_list() == ["duplicate_payment"]
    assert pending_preliminary(all_out, balances(ledger)).height == 0


def test_a_cancelled_preliminary_report_pays_nothing_and_a_cancel_of_nothing_is_suspense():
    ledger = _opening()
    _, out1 = _match(_records(_record("cvs_s", 2, kind="preliminary", ref="BAR2", paid=date(2026, 6, 29),
                                      notice=NA, installment=1, amount=10_000)), ledger)
    rows, out2 = _match(_records(
        _record("cvs_c", 2, kind="preliminary_cancel", ref="BAR2", paid=date(2026, 6, 29), notice=NA,
                installment=1, amount=10_000),
        _record("cvs_c", 3, kind="preliminary_cancel", ref="BAR9", paid=date(2026, 6, 29), notice=NA,
                installment=1, amount=10_000)), ledger, earlier=out1)
    assert rows.height == 0
    assert out2.select("disposition", "reason_code").rows() == [
        ("cancelled_provisional", None), ("suspense", "cancel_without_preliminary")]
    assert pending_preliminary(pl.concat([out1, out2]), balances(ledger)).height == 0


def test_a_remittance_pays_its_employers_month_person_by_person():
    ledger = _opening()
    # the employer remits June: 8,300 + 4,100 = 12,400 for B and C; then a second employer month that no 調定
    # names, and a remittance with 3,000 of 退職所得分 (not assessed here)
    remit = dict(channel="special_remittance", route="salary", payer=EMPLOYER, period="2026-06")
    rows, out = _match(_records(
        _record("rem_1", 2, paid=date(2026, 7, 10), amount=12_400, **remit),
        _record("rem_1", 3, paid=date(2026, 7, 10), amount=5_000, channel="special_remittance", route="salary",
                payer="99999999", period="2026-06"),
        _record("rem_1", 4, paid=date(2026, 7, 10), amount=0, retirement=3_000, **remit)), ledger)
    LedgerEntries.validate(rows)
    assert rows.select("atena_no", "notice_no", "period", "amount").rows() == [
        (B, NB, "2026-06", 8_300), (C, NC, "2026-06", 4_100)]
    assert out.select("record_no", "disposition", "reason_code", "posted_amount", "suspense_amount").rows() == [
        (2, "posted", None, 12_400, 0), (3, "suspense", "unknown_remittance", 0, 5_000),
        (4, "suspense", "unknown_remittance", 0, 3_000)]


def test_a_short_remittance_pays_in_atena_order_and_a_long_one_leaves_the_excess_in_suspense():
    ledger = _opening()
    remit = dict(channel="special_remittance", route="salary", payer=EMPLOYER, period="2026-06")
    # 10,000 of 12,400: B's 8,300 in full, then 1,700 of C's 4,100 (2,400 left due)
    rows, _ = _match(_records(_record("rem_2", 2, paid=date(2026, 7, 10), amount=10_000, **remit)), ledger)
    assert rows.select("atena_no", "amount").rows() == [(B, 8_300), (C, 1_700)]
    # then 3,000 more: C's 2,400, and 600 above the month's 調定 to suspense for review
    rows2, out2 = _match(_records(_record("rem_3", 2, paid=date(2026, 7, 13), amount=3_000, **remit)),
                         pl.concat([ledger, rows]))
    assert rows2.select("atena_no", "amount").rows() == [(C, 2_400)]
    assert out2.select("disposition", "reason_code", "posted_amount", "suspense_amount").rows() == [
        ("posted", "remittance_above_charge", 2_400, 600)]


def test_an_overpayment_goes_to_the_oldest_unpaid_period_first_then_is_refunded():
    ledger = _opening()
    # A pays 第1期 twice (bank and convenience store): 10,000 too much on 第1期
    rows, _ = _match(_records(
        _record("bank_1", 2, paid=date(2026, 6, 25), notice=NA, installment=1, amount=10_000, channel="bank_counter"),
        _record("cvs_1", 2, paid=date(2026, 6, 26), notice=NA, installment=1, amount=10_000)), ledger)
    moved, refunds = appropriations(balances(pl.concat([ledger, rows])), fiscal_year=2026, posting_run="2026-07-15",
                                    posted_on=date(2026, 7, 15))
    LedgerEntries.validate(moved)
    # 充当: 9,000 to 第2期 (the oldest unpaid), 1,000 to 第3期; nothing left to refund
    assert moved.select("entry_kind", "period", "amount").sort("entry_kind", "period").rows() == [
        ("appropriation_in", "2026-08", 9_000), ("appropriation_in", "2026-10", 1_000),
        ("appropriation_out", "2026-06", 9_000), ("appropriation_out", "2026-06", 1_000)]
    assert refunds.height == 0
    after = balances(pl.concat([ledger, rows, moved])).filter(pl.col("atena_no") == A)
    assert after.select("period", "unpaid", "overpaid").rows() == [
        ("2026-06", 0, 0), ("2026-08", 0, 0), ("2026-10", 8_000, 0), ("2027-01", 9_000, 0)]


def test_what_no_unpaid_period_can_take_is_refunded():
    ledger = _opening()
    # A pays the whole year (37,000) and then 第4期 again (9,000): nothing unpaid is left to take the 9,000
    pays = [_record("bank_2", n + 2, paid=date(2026, 6, 20), notice=NA, installment=n + 1, amount=a,
                    channel="bank_counter") for n, a in enumerate([10_000, 9_000, 9_000, 9_000])]
    pays.append(_record("cvs_2", 2, paid=date(2026, 6, 22), notice=NA, installment=4, amount=9_000))
    rows, _ = _match(_records(*pays), ledger)
    moved, refunds = appropriations(balances(pl.concat([ledger, rows])), fiscal_year=2026, posting_run="2026-07-15",
                                    posted_on=date(2026, 7, 15))
    assert moved.select("entry_kind", "period", "amount").rows() == [("refund", "2027-01", 9_000)]
    assert refunds.select("atena_no", "period", "refund").rows() == [(A, "2027-01", 9_000)]


def test_a_demand_for_each_period_unpaid_fifteen_days_after_its_due_date_once():
    ledger = _opening()
    # on 2026-07-15, 15 days after 第1期's 2026-06-30: A's 第1期 is demanded; B and C's June (due 2026-07-10)
    # only 5 days late: not yet
    none = pl.DataFrame(schema={"notice_no": pl.String, "route": pl.String, "payer": pl.String, "period": pl.String})
    due = demands(balances(ledger), none, none, day=date(2026, 7, 15), issue_after_days=15)
    assert due.select("atena_no", "period", "unpaid").rows() == [(A, "2026-06", 10_000)]
    # on 2026-07-27 (17 days after 2026-07-10) the employer's June of B and C; A's 第1期 was demanded already
    later = demands(balances(ledger), due, none, day=date(2026, 7, 27), issue_after_days=15)
    assert later.select("atena_no", "route", "period").rows() == [(B, "salary", "2026-06"), (C, "salary", "2026-06")]
    # one yen left unpaid is still unpaid (第329条 knows no minimum)
    short, _ = _match(_records(_record("bank_1", 2, paid=date(2026, 6, 30), notice=NA, installment=1,
                                       amount=9_999, channel="bank_counter")), ledger)
    assert demands(balances(pl.concat([ledger, short])), none, none, day=date(2026, 7, 15),
                   issue_after_days=15).select("period", "unpaid").rows() == [("2026-06", 1)]
    # a paid 期 is not demanded; a 期 with a pending 速報 waits
    pending = due.select("notice_no", "route", "payer", "period")
    assert demands(balances(ledger), none, pending, day=date(2026, 7, 15), issue_after_days=15).height == 0


def test_balances_kept_up_to_date_equal_balances_rebuilt_from_the_whole_ledger():
    """The stage keeps the balances day by day (apply_entries) instead of summing the whole ledger each day: after
    any sequence of postings both give the same figures per key."""
    from transforms.collection import apply_entries

    ledger = _opening()
    remit = dict(channel="special_remittance", route="salary", payer=EMPLOYER, period="2026-06")
    day1, _ = _match(_records(_record("bank_1", 2, paid=date(2026, 6, 25), notice=NA, installment=1, amount=10_000,
                                      channel="bank_counter"),
                              _record("rem_1", 2, paid=date(2026, 7, 10), amount=10_000, **remit)), ledger)
    day2, _ = _match(_records(_record("cvs_1", 2, paid=date(2026, 6, 26), notice=NA, installment=1,
                                      amount=10_000)), pl.concat([ledger, day1]))
    moved, _ = appropriations(balances(pl.concat([ledger, day1, day2])), fiscal_year=2026,
                              posting_run="2026-07-15", posted_on=date(2026, 7, 15))
    # 調定 changes too: A's 第2期 raised by 1,000 and 第3期 lowered by 2,000 (a 賦課更正), and two hand-made rows
    # whose 納期限 and 期別 differ from the key's (balances() takes the earliest of each, whatever the order)
    from transforms.receivables import charge_entries, receivables

    changed = _schedule().with_columns(
        pl.when((pl.col("person_id") == A) & (pl.col("period") == "2026-08")).then(pl.col("amount") + 1_000)
        .when((pl.col("person_id") == A) & (pl.col("period") == "2026-10")).then(pl.col("amount") - 2_000)
        .otherwise(pl.col("amount")).alias("amount"))
    charges = charge_entries(receivables(changed, fiscal_year=2026, due_months=[6, 8, 10, 1]), balances(ledger),
                             opening=False, fiscal_year=2026, posting_run="2026-07-20", posted_on=date(2026, 7, 20),
                             cause="a 賦課更正")
    assert sorted(charges.select("entry_kind", "amount").rows()) == [("decrease", 2_000), ("increase", 1_000)]
    earlier = charges.filter(pl.col("entry_kind") == "increase").with_columns(
        pl.lit("increase/hand-made-earlier").alias("entry_id"), pl.lit(date(2026, 8, 1)).alias("due_date"),
        pl.lit(1, pl.Int32).alias("installment"), pl.lit(5, pl.Int64).alias("amount"))
    later = earlier.with_columns(pl.lit("increase/hand-made-later").alias("entry_id"),
                                 pl.lit(date(2026, 12, 1)).alias("due_date"), pl.lit(3, pl.Int32).alias("installment"))
    kept = balances(ledger, sort=False)
    for rows in (day1, day2, moved, day1.head(0), charges, earlier, later):
        kept = apply_entries(kept, rows)
    rebuilt = balances(pl.concat([ledger, day1, day2, moved, charges, earlier, later]))
    assert kept.drop(INDEX).sort("notice_no", "route", "payer", "period", nulls_last=False).equals(rebuilt)
    second = rebuilt.filter((pl.col("atena_no") == A) & (pl.col("period") == "2026-08"))
    assert second.select("installment", "due_date", "charged").rows() == [(1, date(2026, 8, 1), 9_000 + 1_000 + 10)]


def test_a_period_paid_late_is_charged_its_late_charge_and_an_overpayment_goes_to_the_tax_first():
    """C' owes 第1期 1,000,000 yen (納期限 2026-06-30) and 第2期 500,000 (2026-08-31) and pays 第1期 on 2026-10-30
    with 1,025,000 yen. The 延滞金 (地方税法第326条, 2026 rates 2.8 % / 9.1 %, 附則第3条の2; 365 days):
    2026-07-01 … 07-31 (one month: 民法第143条) 31 days × 2.8 % on 1,000,000 = 2,378.08 → 2,378;
    08-01 … 10-30, 91 days × 9.1 % = 22,687.67 → 22,687; 25,065 → 100円未満切捨て → 25,000.
    The 25,000 paid above the tax is 充当 to the oldest unpaid tax first (第2期), the 延滞金 last (第17条の2)."""
    from transforms.collection import apply_entries, late_charge_rows

    who, ledger = C_PRIME, _c_prime_ledger()
    notice = f"20261{who}"
    paid, _ = _match(_records(_record("bank_9", 2, paid=date(2026, 10, 30), notice=notice, installment=1,
                                      amount=1_025_000, channel="bank_counter")), ledger, day=date(2026, 11, 2))
    bal = apply_entries(balances(ledger, sort=False), paid)
    late = late_charge_rows(bal, paid, pl.concat([ledger, paid]), fiscal_year=2026, posting_run="2026-11-02",
                            posted_on=date(2026, 11, 2))
    LedgerEntries.validate(late)
    # owed at once: due the day it is charged, on the same 通知書番号 and 期別 as the tax it follows
    assert late.select("entry_kind", "route", "notice_no", "period", "installment", "due_date", "value_date",
                       "amount").rows() == [
        ("assessment", "late_charge", notice, "2026-06", 1, date(2026, 11, 2), date(2026, 11, 2), 25_000)]
    assert "第326条" in late["cause"][0]
    bal = apply_entries(bal, late)
    moved, refunds = appropriations(bal, fiscal_year=2026, posting_run="2026-11-02", posted_on=date(2026, 11, 2))
    assert moved.filter(pl.col("entry_kind") == "appropriation_in").select("route", "period", "amount").rows() == [
        ("ordinary", "2026-08", 25_000)]
    assert refunds.height == 0
    # a 延滞金 under 1,000 yen is not collected (第20条の4の2第5項): 第2期 500,000 paid 5 days late gives
    # 500,000 × 2.8 % × 5 / 365 = 191.78 → 191 → 100円未満切捨て 100 → under 1,000: no row
    second, _ = _match(_records(_record("bank_9", 3, paid=date(2026, 9, 5), notice=notice, installment=2,
                                        amount=500_000, channel="bank_counter")), ledger, day=date(2026, 9, 7))
    small = late_charge_rows(apply_entries(balances(ledger, sort=False), second), second,
                             pl.concat([ledger, second]), fiscal_year=2026, posting_run="2026-09-07",
                             posted_on=date(2026, 9, 7))
    assert small.height == 0
    # a late payment that leaves part of the tax unpaid fixes no 延滞金 yet (it runs until the tax is paid up)
    part, _ = _match(_records(_record("bank_9", 4, paid=date(2026, 10, 30), notice=notice, installment=2,
                                      amount=300_000, channel="bank_counter")), ledger, day=date(2026, 11, 2))
    none = late_charge_rows(apply_entries(balances(ledger, sort=False), part), part, pl.concat([ledger, part]),
                            fiscal_year=2026, posting_run="2026-11-02", posted_on=date(2026, 11, 2))
    # nothing to charge is still a frame of the ledger's columns and types: the day's rows are concatenated with it
    from contracts.collection import LEDGER_SCHEMA

    assert none.height == 0 and none.schema == pl.Schema(LEDGER_SCHEMA)
    # the same 期 is not charged twice when it is touched again
    again = late_charge_rows(apply_entries(bal, late), paid, pl.concat([ledger, paid, late]), fiscal_year=2026,
                             posting_run="2026-11-03", posted_on=date(2026, 11, 3))
    assert again.height == 0


def test_nothing_overpaid_means_no_appropriation_and_an_empty_refund_list_of_the_refunds_shape():
    """With nothing overpaid there is nothing to 充当 or refund; the empty refund list still has the columns and
    types of a refund (the stage joins it to the day's payments and writes it)."""
    moved, refunds = appropriations(balances(_opening()), fiscal_year=2026, posting_run="2026-07-15",
                                    posted_on=date(2026, 7, 15))
    assert moved.height == 0 and refunds.height == 0
    assert refunds.schema == pl.Schema({"atena_no": pl.String, "notice_no": pl.String, "route": pl.String,
                                        "payer": pl.String, "period": pl.String, "installment": pl.Int32,
                                        "due_date": pl.Date, "refund": pl.Int64})


def test_a_period_paid_up_late_by_appropriation_is_charged_its_late_charge_to_the_day_of_the_appropriation():
    """C' pays 1,525,000 yen on 2026-10-30 on 第1期 (1,000,000): 第1期's 延滞金 is 25,000 (worked out above); the
    525,000 above the tax is 充当 (posted 2026-11-02) to 第2期 (500,000, 納期限 2026-08-31) first and then to
    第1期's 延滞金 (25,000). 第2期 is thereby paid up late, on the 充当's day: its 延滞金 runs
    2026-09-01 … 09-30 (one month) 30 days × 2.8 % on 500,000 = 1,150.68 → 1,150, and 10-01 … 11-02, 33 days ×
    9.1 % = 4,113.97 → 4,113; 5,263 → 100円未満切捨て → 5,200 (地方税法第326条, 附則第3条の2)."""
    from transforms.collection import apply_entries, late_charge_rows

    who, ledger = C_PRIME, _c_prime_ledger()
    day = date(2026, 11, 2)
    paid, _ = _match(_records(_record("bank_9", 2, paid=date(2026, 10, 30), notice=f"20261{who}", installment=1,
                                      amount=1_525_000, channel="bank_counter")), ledger, day=day)
    bal = apply_entries(balances(ledger, sort=False), paid)
    late = late_charge_rows(bal, paid, pl.concat([ledger, paid]), fiscal_year=2026, posting_run="2026-11-02",
                            posted_on=day)
    bal = apply_entries(bal, late)
    moved, refunds = appropriations(bal, fiscal_year=2026, posting_run="2026-11-02", posted_on=day)
    assert moved.filter(pl.col("entry_kind") == "appropriation_in").sort("route").select(
        "route", "period", "amount").rows() == [("late_charge", "2026-06", 25_000), ("ordinary", "2026-08", 500_000)]
    assert refunds.height == 0
    bal = apply_entries(bal, moved)
    after = late_charge_rows(bal, moved.filter(pl.col("entry_kind") == "appropriation_in"),
                             pl.concat([ledger, paid, late, moved]), fiscal_year=2026, posting_run="2026-11-02",
                             posted_on=day)
    assert after.select("route", "period", "amount").rows() == [("late_charge", "2026-08", 5_200)]


def test_a_payment_to_a_period_a_notice_withdrew_is_overpaid_and_goes_to_the_oldest_unpaid_period():
    """A's 第4期 (9,000) is withdrawn by a later notice (a ``decrease`` 調定 to 0, 地方自治法施行令第154条: a new
    row, never an edit); A pays the 第4期 slip of the old notice anyway. The payment still names a 期 the ledger
    holds, so it is posted there (never guessed elsewhere, never lost) and is 過誤納 on it: 9,000 is 充当 to the
    oldest unpaid 期, 第1期 (10,000, 地方税法第17条の2), which keeps 1,000 due; nothing is refunded and no 督促 is
    made for the withdrawn 期."""
    from transforms.receivables import charge_entries, receivables

    ledger = _opening()
    withdrawn = _schedule().filter(~((pl.col("person_id") == A) & (pl.col("period") == "2027-01")))
    decrease = charge_entries(receivables(withdrawn, fiscal_year=2026, due_months=[6, 8, 10, 1]), balances(ledger),
                              opening=False, fiscal_year=2026, posting_run="2026-07-01", posted_on=date(2026, 7, 1),
                              cause="a notice withdrawing 第4期")
    assert decrease.select("entry_kind", "period", "amount").rows() == [("decrease", "2027-01", 9_000)]
    ledger = pl.concat([ledger, decrease])
    rows, outcomes = _match(_records(_record("cvs_3", 2, paid=date(2026, 7, 10), notice=NA, installment=4,
                                             amount=9_000)), ledger)
    assert outcomes.select("disposition", "posted_amount").rows() == [("posted", 9_000)]
    moved, refunds = appropriations(balances(pl.concat([ledger, rows])), fiscal_year=2026,
                                    posting_run="2026-07-15", posted_on=date(2026, 7, 15))
    assert moved.select("entry_kind", "period", "amount").sort("entry_kind").rows() == [
        ("appropriation_in", "2026-06", 9_000), ("appropriation_out", "2027-01", 9_000)]
    assert refunds.height == 0
    after = balances(pl.concat([ledger, rows, moved])).filter(pl.col("atena_no") == A)
    assert after.select("period", "charged", "unpaid", "overpaid").rows() == [
        ("2026-06", 10_000, 1_000, 0), ("2026-08", 9_000, 9_000, 0), ("2026-10", 9_000, 9_000, 0),
        ("2027-01", 0, 0, 0)]
    none = pl.DataFrame(schema={"notice_no": pl.String, "route": pl.String, "payer": pl.String, "period": pl.String})
    late = demands(balances(pl.concat([ledger, rows, moved])), none, none, day=date(2027, 3, 1), issue_after_days=15)
    assert "2027-01" not in late.filter(pl.col("atena_no") == A)["period"].to_list()


def test_the_lookup_index_finds_keys_but_the_text_decides_even_when_every_hash_collides(monkeypatch):
    """apply_entries and rows_naming find a day's keys through 64-bit hashes (transforms.collection.INDEX). A hash
    is not proof: with every hash forced equal (every key colliding with every other) the figures must still be
    those of the whole ledger summed again, and a lookup by 通知書番号 or 宛名番号 must return only that one's rows."""
    import transforms.collection as collection
    from transforms.collection import apply_entries, indexed, rows_naming

    # every key, 宛名番号 and 通知書番号 hashes to 7, in the balances and in each day's rows alike
    monkeypatch.setattr(collection, "_index", lambda: [pl.lit(7, pl.UInt64).alias(c) for c in collection.INDEX])
    monkeypatch.setattr(pl.Series, "hash", lambda self, *a, **k: pl.Series(self.name, [7] * len(self), pl.UInt64))
    ledger = _opening()
    records = _records(
        _record("bank_1", 2, paid=date(2026, 6, 25), notice=NA, installment=1, amount=4_000, channel="bank_counter"),
        _record("rem_1", 2, paid=date(2026, 7, 10), amount=8_300, channel="special_remittance", route="salary",
                payer=EMPLOYER, period="2026-06"))
    day1, outcomes = _match(records, ledger)
    colliding = indexed(balances(ledger, sort=False))
    assert colliding["_h"].unique().to_list() == [7]
    # 消込 through the index finds the same 期: 4,000 on A's 第1期; the remittance 8,300 to B (宛名番号 order) and
    # nothing to C
    indexed_rows, indexed_outcomes = match_payments(records, colliding, NO_OUTCOMES, fiscal_year=2026,
                                                    posting_run="2026-07-15", posted_on=date(2026, 7, 15))
    assert indexed_rows.equals(day1) and indexed_outcomes.equals(outcomes)
    assert day1.select("atena_no", "period", "amount").rows() == [(A, "2026-06", 4_000), (B, "2026-06", 8_300)]
    assert sorted(rows_naming(colliding, "payer_month", pl.Series([f"{EMPLOYER}/2026-06"]))["atena_no"]) == [B, C]
    kept = apply_entries(colliding, day1)
    assert kept.height == balances(ledger).height
    rebuilt = balances(pl.concat([ledger, day1]))
    assert kept.drop(INDEX).sort("notice_no", "route", "payer", "period", nulls_last=False) \
        .equals(rebuilt)
    assert rows_naming(colliding, "notice_no", pl.Series([NB]))["atena_no"].to_list() == [B]
    assert sorted(rows_naming(colliding, "atena_no", pl.Series([A, None]))["period"].to_list()) == [
        "2026-06", "2026-08", "2026-10", "2027-01"]
    # a key the ledger did not hold is added, once
    late = day1.head(1).with_columns(pl.lit("late_charge").alias("route"), pl.lit("assessment").alias("entry_kind"))
    grown = apply_entries(kept, late)
    assert grown.height == kept.height + 1
    assert grown.filter(pl.col("route") == "late_charge").select("charged", "unpaid").rows() == [(4_000, 4_000)]
