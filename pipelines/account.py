"""`juminzei account`: one person's collection account (収納状況), read from the ledger's posting runs.

What an operator at the counter needs to answer a taxpayer: each 期's 調定, 収入 and balance per route, every
payment with the file and record it came from, every 充当 and 還付, the 督促 sent, and the 延滞金 of each
overdue 期 as of a day (:func:`transforms.late_charge.late_charges`; unknown for a day whose rate is not yet
published). Every look is an audit record (処理事由: 収納状況の照会).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from contracts.errors import ConfigError
from pipelines.config import Settings
from pipelines.lake import read_run_partitions


def account(settings: Settings, municipality: str, fiscal_year: int, atena_no: str, as_of: date) -> dict:
    """The person's account as posted by ``as_of``: ``periods`` (KEY, 期別, 納期限, 調定, 収入, 未納, 過誤納,
    延滞金), ``entries`` (every ledger row), ``refunds`` and ``demands``; ConfigError when the ledger holds
    nothing of the person."""
    from contracts.collection import LEDGER_SCHEMA
    from pipelines.audit import append_audit
    from pipelines.collection import DEFERRAL_SCHEMA, DEFERRALS, DEMAND_SCHEMA, DEMANDS, LEDGER, REFUND_SCHEMA, \
        REFUNDS, late_charges_of
    from transforms.collection import balances

    lake = settings.lake
    through = as_of.isoformat()
    ledger = read_run_partitions(lake, "curated", LEDGER, municipality, fiscal_year, through=through,
                                 schema=LEDGER_SCHEMA).filter(pl.col("atena_no") == atena_no)
    if ledger.height == 0:
        raise ConfigError(f"the collection ledger of {municipality}/{fiscal_year} holds nothing of 宛名番号 "
                          f"{atena_no} posted by {through} (no 調定: not assessed, or the collection stage has not "
                          "run)")
    append_audit(lake, operation="account_viewed", reason="収納状況の照会 (juminzei account)", run_id=None,
                 dataset=f"curated/{LEDGER}", atena_nos=[atena_no], actor=settings.actor,
                 department=settings.department, host=settings.host, settings=settings,
                 details={"fiscal_year": fiscal_year, "as_of": through})
    bal = balances(ledger)
    overdue = bal.filter((pl.col("unpaid") > 0) & (pl.col("due_date") < as_of)
                         & pl.col("route").is_in(["ordinary", "salary"]))
    notes: list[str] = []  # a 延滞金 that cannot be computed yet says why
    charges = late_charges_of(overdue, ledger, as_of, notes.append) if overdue.height else None
    periods = bal if charges is None else bal.join(charges, on=["notice_no", "route", "payer", "period"],
                                                   how="left", nulls_equal=True)
    if "late_charge" not in periods.columns:
        periods = periods.with_columns(pl.lit(None, pl.Int64).alias("late_charge"))
    refunds = read_run_partitions(lake, "curated", REFUNDS, municipality, fiscal_year, through=through,
                                  schema=REFUND_SCHEMA).filter(pl.col("atena_no") == atena_no)
    demands = read_run_partitions(lake, "curated", DEMANDS, municipality, fiscal_year, through=through,
                                  schema=DEMAND_SCHEMA).filter(pl.col("atena_no") == atena_no)
    # a 延滞金 fixed on a day whose rate is not published yet waits for it (curated/late_charge_deferrals)
    deferrals = read_run_partitions(lake, "curated", DEFERRALS, municipality, fiscal_year, through=through,
                                    schema=DEFERRAL_SCHEMA).filter(pl.col("atena_no") == atena_no)
    waiting = deferrals.group_by("notice_no", "route", "payer", "period", maintain_order=True).agg(
        pl.col("status").last(), pl.col("posting_run").last(), pl.col("reason").last()) \
        .filter(pl.col("status") == "deferred")
    notes += [f"the 延滞金 of {r['route']} {r['period']} (paid up late) waits since {r['posting_run']} for its rate: "
              f"{r['reason']}" for r in waiting.iter_rows(named=True)]
    return {"atena_no": atena_no, "fiscal_year": fiscal_year, "as_of": through,
            "periods": periods.sort("due_date", "route", "period"),
            "entries": ledger.sort("posted_on", "value_date", "entry_id"), "refunds": refunds, "demands": demands,
            "messages": notes}


def _yen(value) -> str:
    return "—" if value is None else f"{value:,}"


def format_account(acc: dict) -> str:
    """The account as text for a terminal."""
    lines = [f"収納状況 宛名番号 {acc['atena_no']} 年度 {acc['fiscal_year']} (posted by {acc['as_of']})", "",
             "期 (route, 特別徴収義務者, 通知書番号, 期別, 納期限): 調定 / 収入 / 未納 / 過誤納 / 延滞金"]
    for p in acc["periods"].iter_rows(named=True):
        payer = f" {p['payer']}" if p["payer"] else ""
        lines.append(f"  {p['route']}{payer} {p['notice_no']} 第{p['installment']}期 {p['period']} 納期限 "
                     f"{p['due_date']}: {_yen(p['charged'])} / {_yen(p['received'])} / {_yen(p['unpaid'])} / "
                     f"{_yen(p['overpaid'])} / {_yen(p['late_charge'])}")
    totals = acc["periods"].select(pl.col("charged", "received", "unpaid", "overpaid").sum()).row(0, named=True)
    lines.append(f"  合計: 調定 {_yen(totals['charged'])}, 収入 {_yen(totals['received'])}, 未納 "
                 f"{_yen(totals['unpaid'])}, 過誤納 {_yen(totals['overpaid'])}")
    lines += ["", "記帳 (posted on, value date, kind, period, yen, cause)"]
    for e in acc["entries"].iter_rows(named=True):
        lines.append(f"  {e['posted_on']} {e['value_date']} {e['entry_kind']} {e['route']} {e['period']} "
                     f"{_yen(e['amount'])} {e['cause']}")
    if acc["refunds"].height:
        lines += ["", "還付 (decided on, period, yen, 還付加算金)"]
        for r in acc["refunds"].iter_rows(named=True):
            lines.append(f"  {r['decided_on']} {r['route']} {r['period']} {_yen(r['refund'])} "
                         f"加算金 {_yen(r['refund_addition'])}")
    if acc["demands"].height:
        lines += ["", "督促 (issued on, 督促状番号, period, 未納, 延滞金 at issue, 指定期限)"]
        for d in acc["demands"].iter_rows(named=True):
            lines.append(f"  {d['issued_on']} {d['demand_no']} {d['route']} {d['period']} {_yen(d['unpaid'])} "
                         f"{_yen(d['late_charge'])} {d['deadline']}")
    lines += [f"  note: {m}" for m in acc["messages"]]
    return "\n".join(lines) + "\n"


def suspense_queue(settings: Settings, municipality: str, fiscal_year: int, as_of: date
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The 未特定入金 held by ``as_of`` (curated/payment_records with a suspense amount: the records in suspense and
    the excess of a remittance above its month's 調定) and, for each whose
    通知書番号 names a person, the unpaid 期 an operator may apply it to (sql/suspense_candidates.sql). The look
    is an audit record (it shows persons' 期)."""
    from pipelines.audit import append_audit
    from pipelines.collection import LEDGER, RECORDS
    from pipelines.lake import run_partition_files, run_partitions
    from pipelines.sql import run_statement

    lake = settings.lake
    through = as_of.isoformat()
    if not run_partitions(lake, "curated", RECORDS, municipality, fiscal_year, through=through):
        raise ConfigError(f"the collection of {municipality}/{fiscal_year} has posted no payment file by {through}")
    held = read_run_partitions(lake, "curated", RECORDS, municipality, fiscal_year, through=through)
    held = held.filter(pl.col("suspense_amount") > 0)  # suspense records, and the excess of a posted remittance
    ledger = run_partition_files(lake, "curated", LEDGER, municipality, fiscal_year, through=through)
    candidates = run_statement("suspense_candidates", {"fiscal_year": fiscal_year, "as_of": as_of},
                               {"ledger": ledger, "suspense": held}) if held.height and ledger else None
    append_audit(lake, operation="suspense_viewed", reason="未特定入金の照会 (juminzei suspense)", run_id=None,
                 dataset=f"curated/{RECORDS}",
                 atena_nos=[] if candidates is None else candidates["atena_no"].unique().sort().to_list(),
                 actor=settings.actor, department=settings.department, host=settings.host, settings=settings,
                 details={"fiscal_year": fiscal_year, "as_of": through, "held": held.height})
    if candidates is None:
        candidates = pl.DataFrame(schema={"file": pl.String, "record_no": pl.Int64, "atena_no": pl.String})
    return held.sort("posting_run", "file", "record_no"), candidates


def format_suspense(held: pl.DataFrame, candidates: pl.DataFrame) -> str:
    lines = [f"未特定入金: {held.height} records, {_yen(int(held['suspense_amount'].sum() or 0))} yen"]
    for h in held.iter_rows(named=True):
        lines.append(f"  {h['posting_run']} {h['file']} #{h['record_no']} {h['channel']} {h['reason_code']}: "
                     f"{_yen(h['suspense_amount'])} yen (通知書番号 {h['notice_no'] or '—'}, 期別 "
                     f"{h['installment'] or '—'}, 特別徴収義務者 {h['payer'] or '—'} {h['period'] or ''})")
        mine = candidates.filter((pl.col("file") == h["file"]) & (pl.col("record_no") == h["record_no"]))
        for c in mine.iter_rows(named=True):
            exact = " (the same amount)" if c["exact_amount"] else ""
            lines.append(f"      candidate: 宛名番号 {c['atena_no']} {c['route']} 第{c['installment']}期 {c['period']} "
                         f"納期限 {c['due_date']} 未納 {_yen(c['unpaid'])}{exact}")
    return "\n".join(lines) + "\n"


__all__ = ["account", "format_account", "format_suspense", "suspense_queue"]
