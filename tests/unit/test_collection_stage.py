"""The collection stage on a small generated ward (docs/collection.md): the opening 調定 equals what the dispatched
notices tell, day by day posting runs are append-only and idempotent, a posted day is never changed, a dry run
writes only its report, payment files end matched, provisional, in suspense or quarantined record by record.

The cycle up to the 当初 dispatch runs once into a template lake; each test works on its own copy. Expected
figures are built here from the installment schedule the notices were printed from, or from payments written
into the test's own files, not from the stage's outputs."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

#: Builds a generated ward and runs whole stages: left out of mutation runs (docs/testing.md).
pytestmark = pytest.mark.slow

M, N = "131032", 2026
NOTICE_DATE = "2026-05-20"
UPSTREAM = ("resident_snapshot", "returns_ingest", "record_merge", "tax_assessment")


def _env(monkeypatch, root: Path, lake: Path) -> None:
    monkeypatch.setenv("JUMINZEI_LAKE", str(lake))
    monkeypatch.setenv("JUMINZEI_VAULT_KEY_FILE", str(root / "keys" / "vault.key"))
    monkeypatch.setenv("JUMINZEI_DATA_DOCS", str(root / "data_docs"))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    from pipelines.notice_export import run as dispatch
    from pipelines.stages import stage_runner
    from sample_ward import generate_ward

    root = tmp_path_factory.mktemp("collection")
    generate_ward(root / "ward", residents=300, seed=15, fiscal_year=N)
    lake = root / "lake"
    shutil.copytree(root / "ward" / "landing", lake / "landing")
    with pytest.MonkeyPatch.context() as patch:
        _env(patch, root, lake)
        for stage in UPSTREAM:
            assert stage_runner(stage)(fiscal_year=N, municipality=M)["status"] == "success"
        # May's 年金特徴 run: who is withheld from a pension (curated/pension_targets), then the dispatch
        pension = stage_runner("pension_special_collection")(fiscal_year=N, municipality=M, processing_month=f"{N}-05")
        assert pension["status"] == "success"
        assert dispatch(fiscal_year=N, municipality=M, notice_date=NOTICE_DATE)["status"] == "success"
    # the 住民記録's DV等支援措置 extract every Monday and the 公金受取口座 (sample_ward.payments.desk_files)
    from sample_ward.payments import deliver_desk, desk_files

    deliver_desk(lake / "landing", desk_files(lake, municipality=M, fiscal_year=N, seed=15,
                                              opening=date(2026, 5, 20), through=date(2027, 5, 31)))
    return root


@pytest.fixture()
def lake(template, tmp_path, monkeypatch) -> Path:
    lake = tmp_path / "lake"
    shutil.copytree(template / "lake", lake)
    _env(monkeypatch, template, lake)
    return lake


def _run(day: str, **options) -> dict:
    from pipelines.collection import run

    return run(fiscal_year=N, municipality=M, processing_day=day, **options)


def _ledger(lake: Path) -> pl.DataFrame:
    from contracts.collection import LEDGER_SCHEMA
    from pipelines.lake import read_run_partitions

    return read_run_partitions(lake, "curated", "collection_ledger", M, N, schema=LEDGER_SCHEMA)


def _day_folder(lake: Path, day: str) -> Path:
    folder = lake / "landing" / "payments" / f"municipality={M}" / f"fiscal_year={N}" / f"day={day}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _tree(lake: Path) -> dict[str, bytes]:
    base = lake / "curated"
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------------ 調定
def test_the_opening_charges_are_what_the_dispatched_notices_tell(lake):
    from pipelines.lake import read_partition

    report = _run("2026-05-31")
    assert report["status"] == "success" and report["reconciliation"]["ok"]
    ledger = _ledger(lake)
    opening = ledger.filter(pl.col("posting_run") == NOTICE_DATE)
    assert set(opening["entry_kind"]) == {"assessment"}
    assert set(opening["posted_on"]) == {date(2026, 5, 20)}
    # the notices' installments, summed per route: what the ledger must charge, less any pension month a stop
    # in May moved to 普通徴収 with its notice of 20 May (curated/pension_moves; in this ward: checked below)
    schedule = read_partition(lake, "curated", "installment_schedule", M, N)
    expected = dict(schedule.filter(pl.col("amount") > 0).group_by("route").agg(pl.col("amount").sum()).rows())
    assert dict(opening.group_by("route").agg(pl.col("amount").sum()).rows()) == expected
    assert report["counts"]["ordinary_charged"] == expected["ordinary"]
    assert report["counts"]["salary_unpaid"] == expected["salary"]
    # every 期 of every route is one receivable: as many rows as (person, route, payer, period) with tax
    keys = schedule.filter(pl.col("amount") > 0).select("person_id", "route", "payer", "period").unique()
    assert opening.height == keys.height


def test_a_rerun_posts_nothing_and_changes_no_byte(lake):
    first = _run("2026-08-31")
    before = _tree(lake)
    again = _run("2026-08-31")
    assert again["counts"]["days_posted"] == 0 and first["counts"]["days_posted"] > 0
    assert _tree(lake) == before


def test_a_demand_for_each_period_still_unpaid_fifteen_days_after_its_due_date(lake):
    from pipelines.lake import read_run_partitions

    _run("2026-07-31")
    demands = read_run_partitions(lake, "curated", "demand_notices", M, N,
                                  schema={"issued_on": pl.Date, "route": pl.String, "period": pl.String,
                                          "unpaid": pl.Int64, "deadline": pl.Date, "fee": pl.Int64},
                                  columns=["issued_on", "route", "period", "unpaid", "deadline", "fee"])
    # nothing was paid: 第1期 (納期限 2026-06-30) is demanded 15 days later, 2026-07-15, with a 指定期限 10 days
    # after that; June's salary withholding (納入期限 2026-07-10) on 2026-07-27 (the 25th is a Saturday)
    ordinary = demands.filter(pl.col("route") == "ordinary")
    assert set(ordinary["issued_on"]) == {date(2026, 7, 15)} and set(ordinary["period"]) == {"2026-06"}
    assert set(ordinary["deadline"]) == {date(2026, 7, 25)} and set(demands["fee"]) == {0}  # 港区: no 督促手数料
    salary = demands.filter(pl.col("route") == "salary")
    assert set(salary["issued_on"]) == {date(2026, 7, 27)} and set(salary["period"]) == {"2026-06"}


def test_a_dry_run_writes_only_its_report(lake):
    before = _tree(lake)
    report = _run("2026-08-31", dry_run=True)
    assert report["status"] == "success" and report["counts"]["days_posted"] > 0
    assert _tree(lake) == before


def test_a_posted_day_is_never_changed(lake):
    from pipelines.collection import CollectionStopped

    _run("2026-07-20")
    (_day_folder(lake, "2026-07-15") / "bank_counter_late.dat").write_bytes(b"x")
    with pytest.raises(CollectionStopped, match=r"day=2026-07-15.*a posted day is never changed"):
        _run("2026-07-31")


def test_without_a_fresh_support_list_the_day_of_a_demand_stops_unposted(lake):
    """督促状 are printed like notices: a DV等支援措置 list older than 14 days on the day stops the run before
    that day is posted (the days before it stay posted); a fresh list lets it go on."""
    from pipelines.notice_export import DispatchStopped

    folder = lake / "landing" / "support_measures" / f"municipality={M}" / f"fiscal_year={N}"
    late = sorted(folder.glob("shien_sochi_*_2026*.csv"))
    kept = {p.name: p.read_bytes() for p in late}
    for p in late:
        if p.name > f"shien_sochi_{M}_20260520.csv":
            p.unlink()
    with pytest.raises(DispatchStopped, match="61 days before"):
        _run("2026-07-31")
    from pipelines.lake import run_partitions

    posted = run_partitions(lake, "curated", "collection_ledger", M, N)
    assert posted and posted[-1] < "2026-07-15"  # 第1期's 督促 day (2026-07-15) is not posted
    for name, data in kept.items():
        (folder / name).write_bytes(data)
    assert _run("2026-07-31")["status"] == "success"
    assert "2026-07-15" in run_partitions(lake, "curated", "collection_ledger", M, N)


def test_nothing_is_collected_before_the_dispatch(lake, tmp_path):
    from pipelines.collection import CollectionStopped

    shutil.rmtree(lake / "reports" / "notice_export")
    with pytest.raises(CollectionStopped, match="no dispatched 当初賦課"):
        _run("2026-07-31")


# ---------------------------------------------------------------------------------- a year of payments
def test_a_year_of_payments_every_record_in_one_place_and_the_ledger_reconciles(lake):
    """The sample ward's payers and agents deliver a year (sample_ward.payments); every data record of every file
    ends posted, provisional, cancelled, in suspense or quarantined; the ledger's payments are the posted yen; a
    期 paid twice ends neither overpaid nor lost (充当 or refunded); every 督促 names a 期 unpaid on its day."""
    from pipelines.lake import read_run_partitions, run_partition_files
    from pipelines.sql import run_statement
    from sample_ward.payments import deliver, simulate
    from transforms.payment_records import PaymentFormatError, read_payment_file

    files, planted = simulate(lake, municipality=M, fiscal_year=N, seed=15, opening=date(2026, 5, 20),
                              through=date(2027, 5, 31))
    deliver(lake / "landing", files, municipality=M, fiscal_year=N)
    report = _run("2027-05-31")
    assert report["status"] == "success" and report["reconciliation"]["ok"]
    # the 収納日計 of every day posted, summed: the year's payments and refunds
    from pipelines.reports import load_report

    daily = load_report(lake, "collection", M, N, report["run_id"])["daily"]
    assert len(daily) == report["counts"]["days_posted"]
    received = sum(r["yen"] for d in daily for r in d["receipts"] if r["entry_kind"] == "payment")
    assert received == report["counts"]["yen_payment"]
    assert sum(d["refund_yen"] for d in daily) == report["counts"]["yen_refund"]

    # every data record of every delivered file, counted here by reading the files (a file refused whole: 1)
    delivered = 0
    for named in files.values():
        for name, data in named.items():
            channel = next(c for c in ("special_remittance", "bank_counter", "convenience", "el_qr", "mpn")
                           if name.startswith(c + "_"))
            try:
                parsed = read_payment_file(data, file=name, channel=channel)
                delivered += parsed.records.height + parsed.quarantine.height
            except PaymentFormatError:
                delivered += 1
    outcomes = read_run_partitions(lake, "curated", "payment_records", M, N)
    assert outcomes.height == delivered
    assert set(outcomes["disposition"]) <= {"posted", "provisional", "cancelled_provisional", "suspense",
                                            "quarantined"}
    ledger = _ledger(lake)
    assert int(outcomes["posted_amount"].sum()) == int(ledger.filter(pl.col("entry_kind") == "payment")["amount"].sum())
    # the planted faults, each where it belongs
    reasons = outcomes.group_by("disposition", "reason_code").len()
    for disposition, reason in (("suspense", "unknown_notice"), ("suspense", "unknown_installment"),
                                ("suspense", "other_fiscal_year"), ("quarantined", "invalid_date"),
                                ("quarantined", "barcode_check_digit"), ("cancelled_provisional", None)):
        assert reasons.filter((pl.col("disposition") == disposition)
                              & (pl.col("reason_code").eq_missing(reason))).height == 1, (disposition, reason)
    # no 期 ends overpaid: every overpayment was 充当 or refunded, and the SQL totals say the same
    files_ = run_partition_files(lake, "curated", "collection_ledger", M, N)
    balances = run_statement("receivable_balances", {"fiscal_year": N, "as_of": date(2027, 5, 31)},
                             {"ledger": files_})
    assert int(balances["overpaid"].sum()) == 0
    twice = ledger.filter(pl.col("entry_kind") == "payment").group_by("notice_no", "route", "period").len() \
        .filter(pl.col("len") >= 2)
    assert twice.height >= planted["ordinary_twice"] // 2
    refunded = ledger.filter(pl.col("entry_kind").is_in(["refund", "appropriation_out"]))
    assert refunded.join(twice, on=["notice_no", "route", "period"], how="semi").height >= 1
    # the 未特定入金 queue an operator works from: every suspense yen, with the candidates of a known person
    from pipelines.account import suspense_queue
    from pipelines.config import Settings

    held, _candidates = suspense_queue(Settings.from_env(), M, N, date(2027, 5, 31))
    assert int(held["suspense_amount"].sum()) == int(outcomes["suspense_amount"].sum()) > 0
    # every 督促 names a 期 unpaid on the day it was issued (the balances of that day, by the SQL statement)
    demands = read_run_partitions(lake, "curated", "demand_notices", M, N)
    for day in demands["issued_on"].unique().to_list():
        owed = run_statement("receivable_balances", {"fiscal_year": N, "as_of": day}, {"ledger": files_})
        named = demands.filter(pl.col("issued_on") == day).join(
            owed, on=["notice_no", "route", "period"], how="left", suffix="_sql")
        assert (named["unpaid_sql"] == named["unpaid"]).all() and (named["unpaid"] > 0).all()


def test_a_direct_debit_is_requested_before_its_due_date_and_its_result_posted(lake):
    """口座振替: the 依頼 (全銀 91) of 第1期 (納期限 2026-06-30) goes to the bank 10 days before (the profile's
    account_transfer_request_days) for every registered person with the 期 unpaid; the bank's 振替結果 pays the 期
    on the 引落日 (code 0) or is recorded as 振替不能 (other codes), and the 期 stays due."""
    from pipelines.lake import read_run_partitions
    from sample_ward.payments import bank_answers
    from transforms.zengin_records import read_zengin_file

    _run("2026-06-30")
    requests = read_run_partitions(lake, "curated", "account_transfer_requests", M, N)
    assert set(requests["debit_day"]) == {date(2026, 6, 30)} and requests.height > 0
    assert set(requests["installment"]) == {1}
    [request] = sorted((lake / "exports" / "bank").rglob("koza_furikae_91_20260630.txt"))
    sent = read_zengin_file(request.read_bytes(), file=request.name, kind="91")
    assert sent.records.height == requests.height
    assert int(sent.records["amount"].sum()) == int(requests["amount"].sum())
    assert bank_answers(lake, municipality=M, fiscal_year=N, seed=15) == 1
    report = _run("2026-07-10")
    assert report["reconciliation"]["ok"]
    ledger = _ledger(lake)
    debited = ledger.filter(pl.col("cause").str.starts_with("account_transfer:"))
    failures = read_run_partitions(lake, "curated", "account_transfer_failures", M, N)
    # every request ends paid or failed, to the yen
    assert debited.height + failures.height == requests.height
    assert int(debited["amount"].sum()) + int(failures["amount"].sum()) == int(requests["amount"].sum())
    assert set(debited["value_date"]) == {date(2026, 6, 30)} and failures.height >= 1


def test_no_demand_while_a_suspension_is_in_force_and_one_on_the_first_posting_day_after(lake):
    """A person with a 徴収猶予 from 1 to 20 July (landing/collection_suspensions) gets no 督促 for 第1期 on 15 July
    (地方税法第329条); the next posting day after it ends (27 July, the salary 督促 day) demands it."""
    from pipelines.lake import read_partition, read_run_partitions

    schedule = read_partition(lake, "curated", "installment_schedule", M, N)
    person = schedule.filter(pl.col("route") == "ordinary")["person_id"].sort()[0]
    folder = lake / "landing" / "collection_suspensions" / f"municipality={M}" / f"fiscal_year={N}"
    folder.mkdir(parents=True)
    (folder / f"choshu_yuyo_{M}_{N}.csv").write_text(
        f"atena_no,kind,start_date,end_date,decided_on\n{person},1,20260701,20260720,20260630\n", encoding="utf-8")
    report = _run("2026-07-31")
    assert report["counts"]["demands_suspended"] >= 1
    demands = read_run_partitions(lake, "curated", "demand_notices", M, N).filter(
        (pl.col("atena_no") == person) & (pl.col("period") == "2026-06"))
    assert demands["issued_on"].to_list() == [date(2026, 7, 27)]


def test_one_yen_kept_wrong_on_one_period_fails_the_per_period_reconciliation(lake, monkeypatch):
    """The run keeps its balances day by day (transforms.collection.apply_entries) and at the end holds them
    against DuckDB's sum over the ledger's partitions (sql/receivable_balances.sql) for every 期 of every person.
    A fault that keeps one yen on the wrong 期 (one 普通徴収 期 a yen short, another a yen over: every route's
    total unchanged, so the route totals' check passes) must fail that check, and so the DAG's
    check_reconciliation task."""
    import transforms.collection as collection

    real = collection.apply_entries

    def one_yen_moved(bal, rows):
        out = real(bal, rows)
        nth = pl.int_range(pl.len()).over(pl.col("route") == "ordinary")
        shift = pl.when((pl.col("route") == "ordinary") & (nth == 0)).then(1) \
            .when((pl.col("route") == "ordinary") & (nth == 1)).then(-1).otherwise(0)
        return out.with_columns(pl.col("received") + shift)

    monkeypatch.setattr(collection, "apply_entries", one_yen_moved)
    report = _run("2026-05-31")
    failed = [c["name"] for c in report["reconciliation"]["checks"] if not c["ok"]]
    assert failed == ["receivable_balances (sql) = the balances kept day by day, per 期 of every person"]
    monkeypatch.setattr(collection, "apply_entries", real)
    other = _run("2026-05-31", dry_run=True)
    assert other["reconciliation"]["ok"]


def test_a_late_charge_of_a_day_without_a_published_rate_waits_for_the_rate_then_is_charged(lake, monkeypatch):
    """The largest 普通徴収 第3期 (納期限 2026-11-02) is paid in full, late, on 2027-01-12. Its 延滞金 runs into
    2027, whose rates rules/late_charge.yaml does not hold (the 特例基準割合 for 2027 is not in the stored
    sources): the day is posted without it and the 期 is deferred (curated/late_charge_deferrals), never guessed
    and never dropped. With a 2027 row in the rules (here a stand-in: 2.9 % / 9.2 %, chosen unlike 2026's), the
    next posting day charges it, computed to the day of payment. By hand (地方税法第326条, 附則第3条の2; 365 days;
    base 1,000円未満切捨て; each segment's yen floored; the sum 100円未満切捨て):
    2026-11-03 … 12-02 (one month, 民法第143条) 30 days × 2.8 %; 12-03 … 12-31, 29 days × 9.1 %;
    2027-01-01 … 01-12, 12 days × 9.2 %."""
    import dataclasses
    from fractions import Fraction

    import transforms.late_charge as late_charge
    from pipelines.lake import read_partition, read_run_partitions
    from transforms.notices import NOTICE_KINDS
    from transforms.payment_records import write_payment_file

    schedule = read_partition(lake, "curated", "installment_schedule", M, N)
    third = schedule.filter((pl.col("route") == "ordinary") & (pl.col("period") == "2026-10")) \
        .group_by("person_id").agg(pl.col("amount").sum()).sort("amount", "person_id", descending=[True, False]).row(0)
    who, tax = third
    notice = f"{N}{NOTICE_KINDS['tax_notice']}{who}"
    base = tax // 1000 * 1000
    by_hand = base * 28 * 30 // 365_000 + base * 91 * 29 // 365_000 + base * 92 * 12 // 365_000
    expected = by_hand // 100 * 100
    assert expected >= 1000  # collected (地方税法第20条の4の2第5項: under 1,000円 it is not)

    def pay(day: date, installment: int, amount: int, serial: str) -> None:
        records = pl.DataFrame({"paid_on": [day], "bank_code": ["0005"], "branch_code": ["041"],
                                "notice_no": [notice], "installment": pl.Series([installment], dtype=pl.Int32),
                                "amount": pl.Series([amount], dtype=pl.Int64), "serial_no": [serial],
                                "credited_on": [day]})
        name = f"bank_counter_{day:%Y%m%d}.dat"
        (_day_folder(lake, day.isoformat()) / name).write_bytes(write_payment_file(
            records, file=name, channel="bank_counter", created=day, municipality_code=M,
            reporting_bank_code="0005"))

    def charged() -> pl.DataFrame:
        return _ledger(lake).filter((pl.col("route") == "late_charge") & (pl.col("notice_no") == notice))

    pay(date(2027, 1, 12), 3, tax, "00000001")
    report = _run("2027-01-12")
    assert report["counts"]["late_charges_deferred"] == 1
    assert any("deferred until the rate is published" in m for m in report["messages"])
    assert charged().height == 0
    deferred = read_run_partitions(lake, "curated", "late_charge_deferrals", M, N, schema=None)
    assert deferred.select("notice_no", "period", "status").rows() == [(notice, "2026-10", "deferred")]
    # the counter's view (juminzei account) says the 延滞金 waits, and the look is audited
    from pipelines.account import account
    from pipelines.config import Settings

    view = account(Settings.from_env(), M, N, who, date(2027, 1, 12))
    assert any("ordinary 2026-10" in m and "waits since 2027-01-12" in m for m in view["messages"])
    third_period = view["periods"].filter((pl.col("route") == "ordinary") & (pl.col("period") == "2026-10"))
    assert third_period.select("charged", "received", "unpaid").rows() == [(tax, tax, 0)]
    audit = (lake / "audit" / "audit_log.jsonl").read_text(encoding="utf-8").splitlines()
    assert '"account_viewed"' in audit[-1] and who in audit[-1]

    rules = late_charge.load_late_charge_rules()
    with_2027 = dataclasses.replace(rules, rates={**rules.rates, 2027: dataclasses.replace(
        rules.rates[2026], year=2027, first_month=Fraction(29, 1000), after=Fraction(92, 1000))})
    monkeypatch.setattr(late_charge, "load_late_charge_rules", lambda: with_2027)
    pay(date(2027, 1, 13), 4, 1_000, "00000002")  # any payment: 2027-01-13 becomes a posting day
    _run("2027-01-13")
    assert charged().select("posted_on", "amount").rows() == [(date(2027, 1, 13), expected)]
    deferred = read_run_partitions(lake, "curated", "late_charge_deferrals", M, N, schema=None)
    assert deferred.select("posting_run", "status").rows() == [("2027-01-12", "deferred"),
                                                                ("2027-01-13", "computed")]
    view = account(Settings.from_env(), M, N, who, date(2027, 1, 13))
    assert not any("waits since" in m for m in view["messages"])
    assert view["periods"].filter(pl.col("route") == "late_charge").select("period", "charged").rows() == [
        ("2026-10", expected)]
