"""`make demo`: generate the sample ward, deliver it to the lake, run every DAG of the cycle in order
with `airflow dags test` on the committed configuration, and print a summary an operator can read.

Re-runnable: the ward is regenerated with the same seed (same bytes), landing files are copied only
when they differ, and stages rewrite only partitions whose content changed.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

# The demo drives the installation from outside, as an operator does: through `bin/airflow`, which
# takes its environment from juminzei/airflow_env.py. So this tool imports nothing of `juminzei`.
REPO = Path(__file__).resolve().parents[1]
AIRFLOW = REPO / "bin" / "airflow"
#: the control totals the summary prints per hand-off file (the manifest holds them all)
CONTROL_TOTALS_SHOWN = ("sum_total_tax", "sum_ordinary_installments_total", "sum_pension_amount", "sum_salary_amount")

#: configuration a DAG of the cycle takes besides the fiscal year and dry_run (filled in by main)
DAG_CONF: dict[str, dict] = {}


def deliver(ward_landing: Path, lake_landing: Path) -> int:
    """Copy the generated landing files into the lake's landing zone (like a delivery); count new ones."""
    copied = 0
    for source in sorted(ward_landing.rglob("*")):
        if not source.is_file():
            continue
        target = lake_landing / source.relative_to(ward_landing)
        if target.exists() and filecmp.cmp(source, target, shallow=False):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
        copied += 1
    return copied


def reset_if_ward_changed(ward: Path, lake: Path) -> None:
    """Landing files are never modified, so a different sample ward (other size, seed or generator
    version) gets a fresh demo lake instead of a mix of two wards' deliveries."""
    fingerprint = hashlib.sha256((ward / "manifest.json").read_bytes()).hexdigest()
    marker = lake / "demo_ward.sha256"
    if lake.exists() and (not marker.exists() or marker.read_text(encoding="ascii").strip() != fingerprint):
        print(f"   the sample ward changed since the last demo: starting a fresh demo lake at {lake}", flush=True)
        shutil.rmtree(lake)
    lake.mkdir(parents=True, exist_ok=True)
    marker.write_text(fingerprint + "\n", encoding="ascii")


def run_dag(dag_id: str, conf: dict, env: dict[str, str], log_dir: Path,
            name: str | None = None) -> tuple[bool, float, Path]:
    """`airflow dags test` one DAG; the full Airflow log goes to a file, not the terminal."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name or dag_id}.log"
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        result = subprocess.run(
            [str(AIRFLOW), "dags", "test", dag_id, "--conf", json.dumps(conf)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, check=False,
        )
    return result.returncode == 0, time.monotonic() - started, log_path


def summary_table(lake: Path, dag_results: list[tuple[str, bool, float, Path]], fiscal_year: int,
                  dispatch: dict | None = None) -> str:
    """The cycle's summary; ``dispatch``: the report of the 当初賦課's notice_export run (the latest report of the
    stage may be a later month's 納税通知書 (変更))."""
    from pipelines.reports import load_latest

    reports = {
        (r["stage"], r["fiscal_year"]): r for r in load_latest(lake) if r["fiscal_year"] == fiscal_year
    }
    lines = [
        f"juminzei demo — fiscal year {fiscal_year}, lake {lake}",
        "",
        f"{'stage':<20} {'DAG':<6} {'received':>9} {'staged':>8} {'quarant.':>9} {'forwarded':>9}  reconciles",
    ]
    outputs: list[str] = []
    for dag_id, ok, seconds, log_path in dag_results:
        report = reports.get((dag_id, fiscal_year))
        counts = report["counts"] if report else {}
        reconciles = report and report.get("reconciliation", {}).get("ok")
        lines.append(
            f"{dag_id:<20} {'ok' if ok else 'FAILED':<6} {counts.get('received', '-'):>9} {counts.get('staged', '-'):>8} "
            f"{counts.get('quarantined', '-'):>9} {counts.get('forwarded', '-'):>9}  "
            f"{'yes' if reconciles else 'NO'}   ({seconds:.0f}s, log {log_path.relative_to(REPO)})"
        )
        if report:
            for reason, count in sorted(report.get("quarantine_reasons", {}).items()):
                lines.append(f"{'':<28}quarantined: {reason} × {count}")
            for output in report.get("outputs", []):
                outputs.append(f"  {dag_id}: {output['dataset']:<22} {output['rows']:>7} rows  {output['path']}")
            report_dir = Path("reports") / dag_id / f"municipality={report['municipality']}" / f"fiscal_year={fiscal_year}"
            outputs.append(f"  {dag_id}: {'run report':<22} {'':>12}  {report_dir / (report['run_id'] + '.json')}")
            validation = report.get("validation")
            if validation:
                state = "ok" if validation.get("success") else "FAILED"
                page = validation.get("report_page") or validation.get("data_docs")
                outputs.append(f"  {dag_id}: {'validation report':<22} {state:>12}  {page}")
    lines += ["", f"Outputs (under {lake}):"] + outputs
    assessment = reports.get(("tax_assessment", fiscal_year))
    if assessment:
        counts = assessment["counts"]
        lines += [
            "",
            f"Assessment {fiscal_year}: {counts.get('persons_none', 0)} taxed, {counts.get('persons_income_levy_exempt', 0)} "
            f"所得割のみ非課税, {counts.get('persons_fully_exempt', 0)} 非課税; total {counts.get('sum_total_tax', 0):,} yen "
            f"(特別区民税 所得割 {counts.get('sum_income_levy_municipal', 0):,}, 都民税 所得割 "
            f"{counts.get('sum_income_levy_prefectural', 0):,}).",
            f"One person's computation sheet: .venv/bin/juminzei explain --fiscal-year {fiscal_year} --atena-no <宛名番号>",
            "The calculator on its own: echo '{\"fiscal_year\": 2026, \"taxpayer\": {\"birth_date\": \"1980-04-01\"}, "
            "\"income\": {\"salary_revenue\": 5000000}}' | .venv/bin/juminzei calc",
        ]
    notices = dispatch or reports.get(("notice_export", fiscal_year))
    if notices:
        counts = notices["counts"]
        lines += [
            "",
            f"Collection plan {fiscal_year} (notice date {DAG_CONF.get('notice_export', {}).get('notice_date', 'today')}): "
            f"{counts.get('persons_with_plan', 0)} persons with tax; 給与特別徴収 {counts.get('sum_salary_amount', 0):,}, "
            f"年金特別徴収 {counts.get('sum_pension_amount', 0):,}, 普通徴収 {counts.get('sum_ordinary_amount', 0):,} yen "
            f"= {counts.get('sum_total_tax', 0):,} assessed; {counts.get('installments', 0)} installments.",
            f"Notices: {counts.get('tax_notices', 0)} 納税通知書, {counts.get('special_collection_notices', 0)} "
            f"特別徴収税額決定通知書, {counts.get('notices_held', 0)} held (DV等支援措置 or no address: "
            f"{counts.get('sum_held_amount', 0):,} yen), {counts.get('forwarded_documents', 0)} documents on the 回送 lists.",
        ]
        for handoff in notices.get("handoffs", []):
            state = f"unchanged, as in run {handoff['run_id']}" if handoff.get("unchanged") else "written"
            lines.append(f"  {handoff['recipient']:<15} {handoff['files']:>3} files  {handoff['path']}/ ({state})")
            manifest = json.loads((Path(lake) / handoff["path"] / "manifest.json").read_text(encoding="utf-8"))
            by_export: dict[str, dict[str, int]] = {}
            for entry in manifest["files"]:
                if entry["format"] != "csv":
                    continue  # the Parquet beside a print file holds the same records
                totals = by_export.setdefault(entry["export"], {})
                for key, value in entry["control_totals"].items():
                    totals[key] = totals.get(key, 0) + value
            for export, totals in sorted(by_export.items()):
                shown = ", ".join(f"{k.removeprefix('sum_')} {v:,}" for k, v in totals.items() if k in CONTROL_TOTALS_SHOWN)
                lines.append(f"      {export}: {totals['rows']} records" + (f"; {shown}" if shown else ""))
        lines.append("Each folder's manifest.json holds every control total; `juminzei handoff ack <run_id>` erases the "
                     "files once the recipient confirms receipt.")
    lines += ["", "See `.venv/bin/juminzei status` for every stage and year; `make airflow` for the web UI."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--fiscal-year", type=int, default=2026)
    args = parser.parse_args(argv)

    env = dict(os.environ)
    # The demo has its own lake, whatever JUMINZEI_LAKE says, so it can never touch a real one.
    env["JUMINZEI_LAKE"] = str(REPO / "var" / "lake")
    env.setdefault("JUMINZEI_HOME", str(REPO))
    os.environ.update({k: env[k] for k in ("JUMINZEI_LAKE", "JUMINZEI_HOME")})
    lake = Path(env["JUMINZEI_LAKE"])
    ward = REPO / "var" / "sample_ward"

    from sample_ward import generate_ward
    from pipelines.dag_policy import CYCLE_ORDER

    print(f"1. generating the sample ward: {args.residents} residents, seed {args.seed} → {ward.relative_to(REPO)}", flush=True)
    generate_ward(ward, residents=args.residents, seed=args.seed, fiscal_year=args.fiscal_year)
    reset_if_ward_changed(ward, lake)
    copied = deliver(ward / "landing", lake / "landing")
    print(f"2. delivered {copied} new or changed files to {lake / 'landing'}", flush=True)

    for command in (["db", "migrate"], ["dags", "reserialize"]):
        step = subprocess.run(
            [str(AIRFLOW), *command], env=env, cwd=REPO,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        )
        if step.returncode != 0:
            print(step.stdout[-4000:], file=sys.stderr)
            print(f"demo: `airflow {' '.join(command)}` failed (output above)", file=sys.stderr)
            return 1
    print("3. Airflow metadata database ready (SQLite, var/airflow/airflow.db), DAGs serialized", flush=True)

    results = []
    conf = {"fiscal_year": args.fiscal_year, "dry_run": False}
    # notices go out as in the ward's year: the 特別徴収税額 reach the employers by 31 May (地方税法第321条の4第1項)
    DAG_CONF["notice_export"] = {"notice_date": f"{args.fiscal_year}-05-20"}
    # the pension insurers' May delivery (特別徴収対象者情報) decides who is withheld from a pension
    DAG_CONF["pension_special_collection"] = {"processing_month": f"{args.fiscal_year}-05"}
    # the collection ledger opens with the dispatch (its first posting run: the notice date); the year's payments
    # are posted after the pension months (step 6), each day's files in the folder of the day they arrive
    DAG_CONF["collection"] = {"processing_day": DAG_CONF["notice_export"]["notice_date"]}
    insurers = PensionDesk(args, lake)
    insurers.deliver(f"{args.fiscal_year}-05")
    logs = REPO / "var" / "demo" / "logs"
    for dag_id in CYCLE_ORDER:
        print(f"4. airflow dags test {dag_id} …", flush=True)
        ok, seconds, log_path = run_dag(dag_id, {**conf, **DAG_CONF.get(dag_id, {})}, env, logs)
        results.append((dag_id, ok, seconds, log_path))
        if not ok:
            return _failed(dag_id, seconds, log_path, lake, results, args.fiscal_year)
    # the rest of the 年度's exchange: each month the insurers answer what the ward sent and report what they
    # withheld; the ward's run reconciles it and moves what stopped to 普通徴収
    months = [f"{args.fiscal_year + (m < 4)}-{m:02d}" for m in (6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]
    pension_runs = []
    may = f"{args.fiscal_year}-05"
    dispatch = insurers.notices_report()  # the 当初賦課's, before any switch notice
    may_report = insurers.report()  # May's run is the cycle's; its switches (April's 仮徴収 not withheld) are
    if may_report.get("counts", {}).get("persons_moved_this_month"):  # notified once the 当初 notices are out
        ok, seconds, log_path = run_dag("notice_export", {**conf, "pension_switch_month": may}, env,
                                        logs / "pension_months", name=f"{may}-switch-notices")
        if not ok:
            return _failed(f"notice_export {may} (switch notices)", seconds, log_path, lake, results, args.fiscal_year)
        pension_runs.append((may, ok, seconds, may_report, insurers.notices_report()))
    print(f"5. a year of 年金特徴 exchange, {months[0]} … {months[-1]}: the insurers' files, then "
          "airflow dags test pension_special_collection for each month …", flush=True)
    for month in months:
        insurers.deliver(month)
        ok, seconds, log_path = run_dag("pension_special_collection", {**conf, "processing_month": month}, env,
                                        logs / "pension_months", name=month)
        report = insurers.report()
        if not ok:
            return _failed(f"pension_special_collection {month}", seconds, log_path, lake, results, args.fiscal_year)
        notices = None
        if report.get("counts", {}).get("persons_moved_this_month"):
            # the 納税通知書 (変更) of the month's switch, after a fresh DV等支援措置 extract (the interlock)
            insurers.fresh_support_list(month)
            ok, more, log_path = run_dag("notice_export", {**conf, "pension_switch_month": month}, env,
                                         logs / "pension_months", name=f"{month}-switch-notices")
            if not ok:
                return _failed(f"notice_export {month} (switch notices)", more, log_path, lake, results,
                               args.fiscal_year)
            seconds += more
            notices = insurers.notices_report()
        pension_runs.append((month, ok, seconds, report, notices))
    # a year of payments: taxpayers, employers, pension insurers and their collecting agents deliver the payment
    # files day by day until the end of the 出納整理期間 (31 May); one collection run posts every day of it
    end = f"{args.fiscal_year + 1}-05-31"
    planted = _payments(lake, args, end)
    # posted in segments, as the daily DAG would: up to each 普通徴収 納期限 (the 口座振替 依頼 of it has gone to
    # the bank by then), the bank answers, and so on to the end of the 出納整理期間
    segments = [*_ordinary_due_dates(lake, args.fiscal_year), end]
    print(f"6. a year of payments to {end} delivered; airflow dags test collection in {len(segments)} runs "
          "(every day posted in order; the bank answers each 口座振替 依頼) …", flush=True)
    seconds = 0.0
    for through in segments:
        ok, more, log_path = run_dag("collection", {**conf, "processing_day": through}, env, logs / "collection",
                                     name=through)
        seconds += more
        if not ok:
            return _failed(f"collection to {through}", more, log_path, lake, results, args.fiscal_year)
        from sample_ward.payments import bank_answers

        bank_answers(lake, municipality="131032", fiscal_year=args.fiscal_year, seed=args.seed)
    print()
    print(summary_table(lake, results, args.fiscal_year, dispatch))
    print(pension_table(pension_runs, insurers))
    print(collection_table(lake, args.fiscal_year, planted, seconds))
    intact = audit_line(lake)
    return 0 if all(ok for _, ok, _, _ in results) and len(results) == len(CYCLE_ORDER) and intact else 1


def audit_line(lake: Path) -> bool:
    """The audit trail checked as `juminzei audit verify` does (docs/audit.md): one line, and whether intact."""
    from pipelines.audit import verify
    from pipelines.config import Settings

    check = verify(lake, settings=Settings.from_env())
    print(f"Audit trail: {check}")
    return check.ok


def _payments(lake: Path, args: argparse.Namespace, end: str) -> dict[str, int]:
    from datetime import date

    from sample_ward.payments import deliver, deliver_desk, desk_files, registrations, simulate

    notice_date = date.fromisoformat(DAG_CONF["notice_export"]["notice_date"])
    deliver_desk(lake / "landing", desk_files(lake, municipality="131032", fiscal_year=args.fiscal_year,
                                              seed=args.seed, opening=notice_date, through=date.fromisoformat(end)))
    registered = registrations(lake, municipality="131032", fiscal_year=args.fiscal_year, seed=args.seed)
    files, planted = simulate(lake, municipality="131032", fiscal_year=args.fiscal_year, seed=args.seed,
                              opening=notice_date, through=date.fromisoformat(end), registered=registered)
    deliver(lake / "landing", files, municipality="131032", fiscal_year=args.fiscal_year)
    return planted


def _ordinary_due_dates(lake: Path, fiscal_year: int) -> list[str]:
    import polars as pl

    from pipelines.lake import read_partition

    schedule = read_partition(lake, "curated", "installment_schedule", "131032", fiscal_year)
    dues = schedule.filter(pl.col("route") == "ordinary")["due_date"].unique().sort().to_list()
    return [d.isoformat() for d in dues]


def collection_table(lake: Path, fiscal_year: int, planted: dict[str, int], seconds: float) -> str:
    """収納率 per route, where every payment record went, and the reconciliation (docs/collection.md)."""
    from pipelines.reports import load_history

    runs = [r for r in load_history(lake, stage="collection", fiscal_year=fiscal_year)
            if r.get("status") == "success" and not r.get("dry_run")]
    if not runs:
        return ""
    latest, c = runs[0], {}
    for r in reversed(runs):  # the year's figures: counts summed over the runs, balances from the latest
        for k, v in r["counts"].items():
            if k.startswith(("records_", "yen_", "refunds", "demand_notices", "days_posted", "late_charges")):
                c[k] = c.get(k, 0) + v
    totals = latest["counts"]
    lines = ["", f"収納 {fiscal_year}: the ledger as posted to {latest['counts'].get('processing_day')} "
             f"({c.get('days_posted', 0)} posting runs; the year's run took {seconds:.0f}s; docs/collection.md)",
             f"{'route':<20} {'調定':>14} {'収入':>14} {'未納':>12} {'過誤納':>9} {'収納率':>7}"]
    for route in ("ordinary", "salary", "pension_provisional", "pension_main", "late_charge"):
        charged = totals.get(f"{route}_charged", 0)
        if not charged:
            continue
        received = totals.get(f"{route}_received", 0)
        lines.append(f"{route:<20} {charged:>14,} {received:>14,} {totals.get(f'{route}_unpaid', 0):>12,} "
                     f"{totals.get(f'{route}_overpaid', 0):>9,} {received / charged:>7.1%}")
    lines.append(
        f"Payment records: {c.get('records_posted', 0)} posted, {c.get('records_provisional', 0)} 速報 held until "
        f"their 確報 ({c.get('records_cancelled_provisional', 0)} cancelled), {c.get('records_suspense', 0)} in suspense "
        f"(未特定入金, {c.get('yen_suspense', 0):,} yen), {c.get('records_quarantined', 0)} quarantined.")
    lines.append(
        f"Posted: 収入 {c.get('yen_payment', 0):,} yen; 充当 {c.get('yen_appropriation_in', 0):,}; 還付 "
        f"{c.get('yen_refund', 0):,} in {c.get('refunds', 0)} refunds; {c.get('demand_notices', 0)} 督促状; "
        f"{c.get('late_charges', 0)} 延滞金 charged (route late_charge)"
        + (f"; {c['late_charges_deferred']} 延滞金 waiting for a rate not yet published (curated/late_charge_deferrals)"
           if c.get("late_charges_deferred") else "") + ".")
    checks = [k for r in runs for k in r.get("reconciliation", {}).get("checks", []) if not k.get("ok")]
    lines.append("Reconciliation: " + ("every run's checks hold (yen read = posted + suspense per day; the DuckDB "
                                       "sum of the ledger = the balances kept, per 期 of every person and per "
                                       "route)" if not checks else
                                       f"{len(checks)} checks FAILED: " + "; ".join(k["name"] for k in checks)))
    shown = ", ".join(f"{k} {v}" for k, v in planted.items())
    lines.append(f"Planted by the payers and agents: {shown}.")
    lines.append("One person: .venv/bin/juminzei account --fiscal-year "
                 f"{fiscal_year} --atena-no <宛名番号> --as-of {fiscal_year + 1}-05-31")
    return "\n".join(lines)


def _failed(what: str, seconds: float, log_path: Path, lake: Path, results: list, fiscal_year: int) -> int:
    print(f"   {what} FAILED after {seconds:.0f}s; last lines of {log_path}:", file=sys.stderr)
    print("\n".join(log_path.read_text(encoding="utf-8").splitlines()[-30:]), file=sys.stderr)
    print()
    print(summary_table(lake, results, fiscal_year))
    return 1


class PensionDesk:
    """The demo's pension insurers (sample_ward.pension_insurer, a tool): each month they read what the ward
    handed off to them and deliver their files into the lake's landing zone."""

    def __init__(self, args: argparse.Namespace, lake: Path) -> None:
        from sample_ward.pension_insurer import PensionInsurers
        from sample_ward.population import build_population

        self.fiscal_year, self.lake, self.municipality = args.fiscal_year, lake, "131032"
        pop = build_population(args.residents, args.seed, args.fiscal_year, self.municipality)
        self.insurers = PensionInsurers(pop, args.seed)

    def deliver(self, month: str) -> int:
        from sample_ward.pension_insurer import outbound_from_lake, write_month

        outbound = outbound_from_lake(self.lake, self.municipality, self.fiscal_year, month)
        files = self.insurers.inbound(month, outbound)
        write_month(self.lake / "landing", month, files, municipality=self.municipality, fiscal_year=self.fiscal_year)
        # the 住民記録's 異動 extract of the month (April's too with May's: the exchange starts in May)
        for of in ([f"{self.fiscal_year}-04"] if month == f"{self.fiscal_year}-05" else []) + [month]:
            rel, data = self.insurers.resident_changes_file(of)
            path = self.lake / "landing" / rel
            if not path.exists() or path.read_bytes() != data:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.part")
                tmp.write_bytes(data)
                os.replace(tmp, path)
        return len(files)

    def report(self, stage: str = "pension_special_collection") -> dict:
        path = (self.lake / "reports" / stage / f"municipality={self.municipality}"
                / f"fiscal_year={self.fiscal_year}" / "latest.json")
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def notices_report(self) -> dict:
        return self.report("notice_export")

    def fresh_support_list(self, month: str) -> None:
        """The registry's DV等支援措置 extract taken again on the 15th of ``month`` (the May list's persons):
        the notices of a switch are dated the 20th, and the interlock wants a list at most 14 days old."""
        folder = self.lake / "landing" / "support_measures" / f"municipality={self.municipality}" \
            / f"fiscal_year={self.fiscal_year}"
        may = folder / f"shien_sochi_{self.municipality}_{self.fiscal_year}0515.csv"
        fresh = folder / f"shien_sochi_{self.municipality}_{month.replace('-', '')}15.csv"
        if may.exists() and not fresh.exists():
            tmp = fresh.with_name(f".{fresh.name}.part")
            tmp.write_bytes(may.read_bytes())
            os.replace(tmp, fresh)


def pension_table(runs: list[tuple[str, bool, float, dict, dict | None]], desk: PensionDesk) -> str:
    """One line per month of the exchange, and the planted faults of the insurers' files."""
    lines = ["", f"年金特徴 {desk.fiscal_year}: one run per month (docs/pension-exchange.md)",
             f"{'month':<8} {'run':<6} {'files':>5} {'quarant.':>8} {'superseded':>10} {'withheld':>12} "
             f"{'moved':>9} {'open':>12} {'notices':>7}  reconciles"]
    for month, ok, seconds, report, notices in runs:
        c = report.get("counts", {})
        if c.get("already_processed"):
            lines.append(f"{month:<8} {'ok' if ok else 'FAILED':<6} processed already with the same files: left as it "
                         f"was ({seconds:.0f}s)")
            continue
        sent = notices.get("counts", {}).get("switch_notices", 0) if notices else 0
        lines.append(
            f"{month:<8} {'ok' if ok else 'FAILED':<6} {c.get('files_received', 0):>5} {c.get('files_quarantined', 0):>8} "
            f"{c.get('files_superseded', 0):>10} {c.get('sum_withheld', 0):>12,} {c.get('sum_moved', 0):>9,} "
            f"{c.get('sum_open', 0):>12,} {sent:>7}  {'yes' if report.get('reconciliation', {}).get('ok') else 'NO'} "
            f"({seconds:.0f}s)")
    lines.append("notices: the 納税通知書 (変更) of the month's switch to 普通徴収 (print vendor hand-off of its own).")
    faults = desk.insurers.planted_faults()
    lines.append("The insurers' planted faults (each must be quarantined or superseded, nothing else lost):")
    for row in faults.iter_rows(named=True):
        lines.append(f"  {row['month']} {row['file']}: {row['kind']} → {row['ward_action']}")
    lines.append("Rows: curated/pension_ledger (per person, insurer and month), curated/pension_moves and "
                 "curated/pension_switch_installments (普通徴収 after a stop), quarantine/pension_special_collection.")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
