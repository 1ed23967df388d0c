"""`juminzei`: the operator command line (generate a sample ward, run a stage, show status).

Errors meant for operators (bad input, bad configuration) print one sentence naming the file, record
and field and exit with status 2; a traceback is printed only for genuine bugs.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="juminzei",
        description="Individual resident tax (個人住民税) batch system: operator commands.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = commands.add_parser("generate", help="write a synthetic sample ward (registry, documents, truth/)")
    gen.add_argument("--residents", type=_positive_int, default=2000, help="people resident on 1 January (default 2000)")
    gen.add_argument("--seed", type=int, default=20260101, help="random seed; the same seed gives the same bytes")
    gen.add_argument("--fiscal-year", type=int, default=2026, help="年度 (賦課期日 1 January of that year)")
    gen.add_argument("--municipality", default="131032", help="6-digit 団体コード (default 131032 港区)")
    gen.add_argument("--out", type=Path, required=True, help="output folder (replaced atomically)")

    run = commands.add_parser("run", help="run one stage of the yearly cycle without Airflow")
    run.add_argument("stage", help="stage name, e.g. resident_snapshot")
    run.add_argument("--fiscal-year", type=int, required=True, help="年度 to process")
    run.add_argument("--municipality", default=None, help="6-digit 団体コード (default from settings)")
    run.add_argument("--dry-run", action="store_true", help="validate and count only; write only the run report")
    run.add_argument("--landing", default=None, help="landing folder (returns_ingest; default: the lake's landing zone)")
    run.add_argument("--notice-date", default=None,
                     help="notice date YYYY-MM-DD (notice_export; default: today in Asia/Tokyo)")
    run.add_argument("--pension-switch-month", default=None,
                     help="month YYYY-MM (notice_export: the 納税通知書 of the pension switches of that month)")
    run.add_argument("--processing-month", default=None,
                     help="month YYYY-MM (pension_special_collection; default: this month in Asia/Tokyo)")
    run.add_argument("--processing-day", default=None,
                     help="day YYYY-MM-DD (collection: post every pending day up to it; default: today in Asia/Tokyo)")
    run.add_argument("--json", action="store_true", help="print the run summary as JSON")

    status = commands.add_parser(
        "status", help="latest real run and latest dry run of every stage and fiscal year (--history: all runs)")
    status.add_argument("--json", action="store_true", help="print the reports themselves as JSON")
    status.add_argument("--history", action="store_true", help="every run, newest first, instead of the latest")
    status.add_argument("--stage", default=None, help="only this stage (with --history)")
    status.add_argument("--fiscal-year", type=int, default=None, help="only this 年度 (with --history)")
    status.add_argument("--limit", type=_positive_int, default=30, help="at most this many runs (--history; default 30)")

    commands.add_parser("stages", help="list the stages that `run` knows")

    calc = commands.add_parser(
        "calc", help="tax calculator: JSON Lines on stdin, one result object per line on stdout (docs/calculator.md)"
    )
    calc.add_argument("--municipality", default="131032",
                      help="profile used when a line has no `municipality` (default 131032 港区)")
    calc.add_argument("--explain", action="store_true",
                      help="print the computation sheet of each line instead of JSON")

    installments = commands.add_parser(
        "installments", help="期割 calculator: JSON Lines on stdin, one installment list per line (docs/installments.md)"
    )
    installments.add_argument("--municipality", default="131032",
                              help="profile whose 普通徴収 納期 and rounding unit a line without them takes (default 131032 港区)")

    commands.add_parser(
        "late-charge", help="延滞金 calculator: JSON Lines on stdin (tax_amount, due_date, payments, computed_on), one "
                            "answer per line (docs/late-charge.md)")

    explain = commands.add_parser("explain", help="print one person's stored computation sheet (税額計算明細)")
    explain.add_argument("--fiscal-year", type=int, required=True, help="年度")
    explain.add_argument("--atena-no", required=True, help="宛名番号 (10 digits)")
    explain.add_argument("--municipality", default=None, help="6-digit 団体コード (default from settings)")
    explain.add_argument("--no-sources", action="store_true", help="omit the legal source under each line")
    acct = commands.add_parser("account", help="one person's collection account: 調定, payments, balances, 延滞金, "
                                               "督促 and 還付 (docs/collection.md)")
    acct.add_argument("--fiscal-year", type=int, required=True, help="年度")
    acct.add_argument("--atena-no", required=True, help="宛名番号 (10 digits)")
    acct.add_argument("--municipality", default=None, help="6-digit 団体コード (default from settings)")
    acct.add_argument("--as-of", default=None, help="day YYYY-MM-DD (default: today in Asia/Tokyo)")
    held = commands.add_parser("suspense", help="未特定入金: the payments held in suspense and the unpaid 期 each "
                                                "could go to (docs/collection.md)")
    held.add_argument("--fiscal-year", type=int, required=True, help="年度")
    held.add_argument("--municipality", default=None, help="6-digit 団体コード (default from settings)")
    held.add_argument("--as-of", default=None, help="day YYYY-MM-DD (default: today in Asia/Tokyo)")
    _add_review_parser(commands)
    _add_quarantine_parser(commands)
    _add_audit_parser(commands)
    vault = commands.add_parser("vault", help="the My Number vault's keys: their versions, and rotation")
    actions = vault.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("keys", help="the versions of both vault keys and the partitions under each (no key)")
    rotate = actions.add_parser("rotate-key", help="re-encrypt the whole vault under new key versions, retire the old")
    rotate.add_argument("--reason", required=True, help="処理事由, recorded in the audit trail")
    _add_handoff_parser(commands)
    preview = commands.add_parser("preview", help="render one person's notices to PDF (from the newest print data)")
    preview.add_argument("--fiscal-year", type=int, required=True, help="年度")
    preview.add_argument("--atena-no", required=True, help="宛名番号 (10 digits)")
    preview.add_argument("--municipality", default=None, help="6-digit 団体コード (default from settings)")
    preview.add_argument("--out", default=None,
                         help="folder for the PDF files (default: var/preview-pdf under the lake's parent)")
    return parser


def _add_handoff_parser(commands) -> None:
    """`juminzei handoff list|verify|ack` (docs/notice-export.md, "Hand-offs")."""
    handoff = commands.add_parser("handoff", help="the hand-off folders of notice_export: list, verify, acknowledge")
    actions = handoff.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every hand-off folder with its records, control totals and state")
    listing.add_argument("--json", action="store_true", help="print as JSON")
    verify = actions.add_parser("verify", help="check a run's folders against their manifests (sha256, sizes)")
    verify.add_argument("run_id")
    ack = actions.add_parser(
        "ack", help="the recipient confirmed receipt: erase the run's temporary print files (the manifest stays)")
    ack.add_argument("run_id")
    ack.add_argument("--recipient", default=None, help="only this recipient's folder (print_vendor, eltax, municipalities)")
    ack.add_argument("--confirmation", required=True,
                     help="the recipient's confirmation, e.g. the vendor's receipt number (recorded; never personal data)")


def _add_review_parser(commands) -> None:
    """`juminzei review list|show|decide` (docs/operator-guide.md, "Deciding the review queue and merge flags")."""
    review = commands.add_parser("review", help="settle the 宛名付設 review queue and the 扶養 flags of record_merge")
    actions = review.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--fiscal-year", type=int, required=True, help="年度")
    common.add_argument("--municipality", default=None, help="6-digit 団体コード (default from settings)")
    listing = actions.add_parser("list", parents=[common], help="every item with its latest decision")
    listing.add_argument("--open", action="store_true",
                         help="only items still to decide (undecided, pending, or stale at the last merge)")
    listing.add_argument("--json", action="store_true", help="print the items as JSON")
    show = actions.add_parser("show", parents=[common], help="one item: candidates or claims, decision history")
    show.add_argument("item", help="item id from `review list` (D…/F…) or the full item key")
    show.add_argument("--json", action="store_true", help="print the item and its history as JSON")
    decide = actions.add_parser(
        "decide", parents=[common],
        help="record a decision (applied by the next record_merge run)",
        description="Decisions: a queued document → person <宛名番号> | none | forward <団体コード>; "
                    "扶養重複 → keep <宛名番号 of the taxpayer who keeps the relative> | deny | pending; "
                    "扶養否認 候補 → keep | deny | pending.")
    decide.add_argument("item", help="item id from `review list` (D…/F…) or the full item key")
    decide.add_argument("decision", choices=["person", "none", "forward", "keep", "deny", "pending"])
    decide.add_argument("target", nargs="?", default=None, help="宛名番号 (person, keep of 扶養重複) or 団体コード (forward)")
    decide.add_argument("--reason", required=True, help="判定理由 (mandatory; never a My Number)")
    decide.add_argument("--not-a-candidate", action="store_true",
                        help="person: the 宛名番号 is not among the queue's candidates, and that is intended")
    decide.add_argument("--json", action="store_true", help="print the stored decision as JSON")


def _add_quarantine_parser(commands) -> None:
    """`juminzei quarantine list|show` (docs/operator-guide.md, "Quarantine: reading it and resubmitting")."""
    quarantine = commands.add_parser("quarantine", help="quarantined records and warnings per stage and file")
    actions = quarantine.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--fiscal-year", type=int, default=None, help="年度 (default: every year in the lake)")
    common.add_argument("--municipality", default=None, help="6-digit 団体コード (default from settings)")
    common.add_argument("--json", action="store_true", help="print as JSON")
    actions.add_parser("list", parents=[common], help="counts per stage, file and reason")
    show = actions.add_parser("show", parents=[common], help="the rows of one file or one stage, with their message")
    show.add_argument("--stage", default=None, help="e.g. returns_ingest (returns_ingest_warnings: warnings only)")
    show.add_argument("--file", default=None, help="file name, or its path relative to the landing root")


def _add_audit_parser(commands) -> None:
    """`juminzei audit verify|keys|rotate-key` (docs/audit.md)."""
    trail = commands.add_parser("audit", help="the audit trail: verify its MAC chain and anchors, its keys")
    actions = trail.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="check every record's MAC and link, the anchors and the run reports")
    verify.add_argument("--anchors", type=Path, default=None,
                        help="anchor file (default: JUMINZEI_AUDIT_ANCHOR, else beside the lake)")
    verify.add_argument("--json", action="store_true", help="print the outcome as JSON")
    actions.add_parser("keys", help="the versions of the audit key (never the key itself)")
    rotate = actions.add_parser("rotate-key", help="sign new records under a new audit key version")
    rotate.add_argument("--reason", required=True, help="処理事由, recorded in the trail")


def cmd_audit(args: argparse.Namespace) -> int:
    from pipelines import audit
    from pipelines.config import Settings

    settings = Settings.from_env()
    if args.action == "keys":
        for row in settings.keys().versions(audit.KEY_PURPOSE):
            print(f"audit key version {row['version']}: {row['state']} (made {row['created']})")
        return 0
    if args.action == "rotate-key":
        version = audit.rotate_key(settings, reason=args.reason)
        print(f"New audit records are signed with key version {version}; earlier versions still verify theirs.")
        return 0
    check = audit.verify_and_record(settings, anchors=args.anchors)
    if args.json:
        print(json.dumps(check.to_dict(), ensure_ascii=False, indent=2, sort_keys=True))
    else:
        print(check)
    return 0 if check.ok else 1


def cmd_vault(args: argparse.Namespace) -> int:
    from pipelines import vault
    from pipelines.config import Settings

    settings = Settings.from_env()
    if args.action == "keys":
        for purpose, rows in vault.key_versions(settings).items():
            for row in rows:
                used = ", ".join(row["partitions"]) or "no partition"
                print(f"{purpose} key version {row['version']}: {row['state']} (made {row['created']}); {used}")
        return 0
    done = vault.rotate_key(settings, reason=args.reason)
    retired = "; ".join(f"{p} {', '.join(map(str, v))}" for p, v in sorted(done["retired"].items())) or "none"
    print(f"Vault re-encrypted: {len(done['partitions'])} partitions under vault key version "
          f"{done['to_versions']['vault']} and My Number key version {done['to_versions']['my_number']}; "
          f"retired and destroyed: {retired} (run {done['run_id']}).")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    # The generator is a development, test and demo tool beside the product (docs/sample-ward.md): it is
    # imported here only, when asked for, and a production installation does not contain it.
    try:
        from sample_ward import generate_ward
    except ModuleNotFoundError as missing:
        if missing.name != "sample_ward":
            raise
        print("juminzei generate: the sample-ward generator (sample_ward/) is a development tool and is not part "
              "of this installation; run it from a checkout of the repository (make venv).", file=sys.stderr)
        return 2

    summary = generate_ward(
        args.out, residents=args.residents, seed=args.seed, fiscal_year=args.fiscal_year,
        municipality_code=args.municipality,
    )
    print(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.runtime import require_reconciled, resolve_run_config, run_stage

    params = {"fiscal_year": args.fiscal_year, "municipality": args.municipality, "dry_run": args.dry_run}
    if args.landing is not None:  # a stage that takes no landing folder refuses the option by name
        params["landing"] = args.landing
    if args.notice_date is not None:
        params["notice_date"] = args.notice_date
    if args.processing_month is not None:
        params["processing_month"] = args.processing_month
    if args.pension_switch_month is not None:
        params["pension_switch_month"] = args.pension_switch_month
    if args.processing_day is not None:
        params["processing_day"] = args.processing_day
    run = resolve_run_config(args.stage, params, now=datetime.now(timezone.utc))
    summary = run_stage(run)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True))
    else:
        counts = summary["counts"]
        print(
            f"{summary['stage']} {summary['municipality']}/{summary['fiscal_year']} run {summary['run_id']}: "
            f"{summary['status']}; received {counts.get('received')}, staged {counts.get('staged')}, "
            f"quarantined {counts.get('quarantined')}, forwarded {counts.get('forwarded')}; "
            f"reconciles: {'yes' if summary['reconciles'] else 'NO'}; report {summary['report_path']}"
        )
    require_reconciled(summary)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from contracts.errors import ConfigError
    from pipelines.config import Settings
    from pipelines.reports import format_status, load_history, load_status

    lake = Settings.from_env().lake
    if not lake.is_dir():
        raise ConfigError(
            f"the lake {lake} does not exist: no stage has run with this installation, or JUMINZEI_LAKE / "
            "JUMINZEI_HOME point elsewhere (the lake is JUMINZEI_LAKE, else <JUMINZEI_HOME>/var/lake)"
        )
    if args.history:
        reports = load_history(lake, stage=args.stage, fiscal_year=args.fiscal_year, limit=args.limit)
    elif args.stage or args.fiscal_year:
        raise ConfigError("--stage and --fiscal-year filter the history: add --history")
    else:
        reports = load_status(lake)
    if args.json:
        print(json.dumps(reports, ensure_ascii=False, indent=2, sort_keys=True))
    else:
        print(format_status(reports, lake=lake, history=args.history))
    return 0


def cmd_stages(args: argparse.Namespace) -> int:
    from pipelines.stages import STAGES

    for name in sorted(STAGES):
        print(name)
    return 0


def cmd_calc(args: argparse.Namespace) -> int:
    from juminzei.calc import run_calculator

    errors = run_calculator(sys.stdin, sys.stdout, municipality=args.municipality, explain=args.explain)
    return 1 if errors else 0


def cmd_installments(args: argparse.Namespace) -> int:
    from juminzei.installments import run_installments

    errors = run_installments(sys.stdin, sys.stdout, municipality=args.municipality)
    return 1 if errors else 0


def cmd_late_charge(args: argparse.Namespace) -> int:
    from juminzei.late_charge import run_late_charge

    errors = run_late_charge(sys.stdin, sys.stdout)
    return 1 if errors else 0


def cmd_explain(args: argparse.Namespace) -> int:
    import re

    from contracts.errors import ConfigError
    from pipelines.audit import append_audit
    from pipelines.config import Settings
    from pipelines.tax_assessment import load_assessment_row
    from transforms.tax_explain import format_sheet
    from transforms.tax_rules import load_municipality_profile, load_rules

    settings = Settings.from_env()
    municipality = args.municipality or settings.municipality
    if not re.fullmatch(r"[0-9]{10}", args.atena_no):
        raise ConfigError(f"--atena-no must be a 10-digit 宛名番号, got {args.atena_no!r}")
    row = load_assessment_row(settings, municipality, args.fiscal_year, args.atena_no)
    append_audit(
        settings.lake, operation="assessment_explained", reason="税額計算明細の表示 (juminzei explain)",
        run_id=None, dataset="curated/tax_assessment", atena_nos=[args.atena_no], actor=settings.actor,
        department=settings.department, host=settings.host, settings=settings, details={"fiscal_year": args.fiscal_year},
    )
    print(format_sheet(row, load_rules(args.fiscal_year), load_municipality_profile(municipality),
                       title=f"宛名番号 {args.atena_no}", with_sources=not args.no_sources), end="")
    return 0


def cmd_account(args: argparse.Namespace) -> int:
    import re
    from datetime import date

    from contracts.errors import ConfigError
    from pipelines.account import account, format_account
    from pipelines.config import Settings
    from pipelines.dag_policy import TIMEZONE

    settings = Settings.from_env()
    if not re.fullmatch(r"[0-9]{10}", args.atena_no):
        raise ConfigError(f"--atena-no must be a 10-digit 宛名番号, got {args.atena_no!r}")
    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else datetime.now(TIMEZONE).date()
    except ValueError:
        raise ConfigError(f"--as-of must be a day written YYYY-MM-DD, got {args.as_of!r}") from None
    acc = account(settings, args.municipality or settings.municipality, args.fiscal_year, args.atena_no, as_of)
    print(format_account(acc), end="")
    return 0


def cmd_suspense(args: argparse.Namespace) -> int:
    from datetime import date

    from contracts.errors import ConfigError
    from pipelines.account import format_suspense, suspense_queue
    from pipelines.config import Settings
    from pipelines.dag_policy import TIMEZONE

    settings = Settings.from_env()
    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else datetime.now(TIMEZONE).date()
    except ValueError:
        raise ConfigError(f"--as-of must be a day written YYYY-MM-DD, got {args.as_of!r}") from None
    held, candidates = suspense_queue(settings, args.municipality or settings.municipality, args.fiscal_year, as_of)
    print(format_suspense(held, candidates), end="")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from pipelines import review
    from pipelines.config import Settings

    settings = Settings.from_env()
    municipality = args.municipality or settings.municipality
    if args.action == "decide":
        row = review.decide(settings, municipality=municipality, fiscal_year=args.fiscal_year, item=args.item,
                            decision=args.decision, target=args.target, reason=args.reason,
                            now=datetime.now(timezone.utc), allow_non_candidate=args.not_a_candidate)
        if args.json:
            print(json.dumps(row, ensure_ascii=False, indent=2, sort_keys=True))
        else:
            replaced = f" (supersedes {row['supersedes']})" if row["supersedes"] else ""
            target = f" {row['target']}" if row["target"] else ""
            print(f"decision {row['decision_id']} recorded{replaced}: "
                  f"item {row['item_id']} → {row['decision']}{target}.\n"
                  f"The next record_merge run applies it: trigger the record_merge DAG, or run\n"
                  f"  juminzei run record_merge --fiscal-year {args.fiscal_year} --municipality {municipality}")
        return 0
    desk = review.load_desk(settings, municipality, args.fiscal_year)
    if args.action == "list":
        items = desk.items.filter(review.open_items()) if args.open else desk.items
        review.audit_view(settings, desk, items, command="review list")
        if args.json:
            print(json.dumps({"municipality": municipality, "fiscal_year": args.fiscal_year, "notes": list(desk.notes),
                              "items": items.to_dicts()}, ensure_ascii=False, indent=2, sort_keys=True, default=str))
        else:
            print(review.format_items(desk, items), end="")
        return 0
    item = review.find_item(desk, args.item)
    history = review.item_history(desk, item)
    review.audit_view(settings, desk, review.items_named(desk, item), command="review show")
    if args.json:
        print(json.dumps({"item": item, "history": history.to_dicts()}, ensure_ascii=False, indent=2, sort_keys=True,
                         default=str))
    else:
        print(review.format_item(desk, item, history), end="")
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from contracts.errors import ConfigError
    from pipelines import quarantine
    from pipelines.config import Settings, check_fiscal_year

    settings = Settings.from_env()
    municipality = args.municipality or settings.municipality
    if args.fiscal_year is not None:
        check_fiscal_year(args.fiscal_year)
    rows = quarantine.read_rows(settings.lake, quarantine.partitions(settings.lake, municipality, args.fiscal_year))
    if args.action == "list":
        table = quarantine.summary(rows)
        if args.json:
            print(json.dumps(table.to_dicts(), ensure_ascii=False, indent=2, sort_keys=True))
        else:
            print(quarantine.format_summary(rows), end="")
        return 0
    if args.stage is None and args.file is None:
        raise ConfigError("quarantine show needs --stage or --file (see `juminzei quarantine list`).")
    chosen = quarantine.select_rows(rows, stage=args.stage, file=args.file)
    quarantine.audit_show(settings, chosen, stage=args.stage, file=args.file)
    if args.json:
        print(json.dumps(chosen.to_dicts(), ensure_ascii=False, indent=2, sort_keys=True))
    else:
        print(quarantine.format_rows(chosen), end="")
    return 0


def cmd_handoff(args: argparse.Namespace) -> int:
    from pipelines import handoff
    from pipelines.config import Settings

    settings = Settings.from_env()
    if args.action == "ack":
        results = handoff.acknowledge(settings.lake, args.run_id, recipient=args.recipient, by=settings.actor,
                                      reason=args.confirmation)
        for result in results:
            if result["already"]:
                print(f"{result['path']}: already acknowledged at {result['at']} by {result['by']}")
            else:
                print(f"{result['path']}: acknowledged; erased {len(result['deleted'])} files "
                      f"({', '.join(result['deleted'])}); the manifest stays")
        return 0
    if args.action == "verify":
        folders = handoff.handoff_folders(settings.lake, args.run_id)
        if not folders:
            from contracts.errors import ConfigError

            raise ConfigError(f"no hand-off of run {args.run_id} under {settings.lake / 'exports'}")
        bad = 0
        for folder in folders:
            problems = handoff.verify_handoff(folder)
            bad += len(problems)
            print(f"{folder.relative_to(settings.lake)}: " + ("as its manifest says" if not problems else "; ".join(problems)))
        return 1 if bad else 0
    rows = handoff.list_handoffs(settings.lake)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        state = f"acknowledged {row['acknowledged']}" if row["acknowledged"] else "awaiting acknowledgement"
        print(f"{row['path']}  {row['files']} files, {row['rows']} records, {state}"
              + (f", supersedes {row['supersedes']}" if row.get("supersedes") else ""))
    if not rows:
        print(f"no hand-off under {settings.lake / 'exports'}")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    import re

    import polars as pl

    from contracts.errors import ConfigError
    from pipelines.audit import append_audit
    from pipelines.config import Settings
    from pipelines.lake import partition_exists, read_partition
    from pipelines.notice_pdf import person_notices, render

    settings = Settings.from_env()
    municipality = args.municipality or settings.municipality
    if not re.fullmatch(r"[0-9]{10}", args.atena_no):
        raise ConfigError(f"--atena-no must be a 10-digit 宛名番号, got {args.atena_no!r}")
    folder, found = person_notices(settings.lake, municipality, args.fiscal_year, args.atena_no)
    if not found:
        held = None
        if partition_exists(settings.lake, "curated", "notice_hold", municipality, args.fiscal_year):
            hold = read_partition(settings.lake, "curated", "notice_hold", municipality, args.fiscal_year)
            held = hold.filter(pl.col("person_id") == args.atena_no)
        if held is not None and held.height:
            raise ConfigError(f"宛名番号 {args.atena_no}: every notice is held ({', '.join(held['reason'].unique().sort())}), "
                              "so none is in the print data; the hold queue is curated/notice_hold")
        raise ConfigError(f"宛名番号 {args.atena_no} has no notice in {folder} (no tax, or not a resident of "
                          f"{municipality} on 1 January {args.fiscal_year})")
    out = Path(args.out) if args.out else settings.lake.parent / "preview-pdf"
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    append_audit(settings.lake, operation="notice_previewed", reason="通知書のプレビュー (juminzei preview)",
                 run_id=None, dataset=folder, atena_nos=[args.atena_no], actor=settings.actor,
                 department=settings.department, host=settings.host, settings=settings, details={"fiscal_year": args.fiscal_year})
    for kind, record in found:
        path = out / f"{args.fiscal_year}_{args.atena_no}_{kind}.pdf"
        path.write_bytes(render(kind, record))
        path.chmod(0o600)
        print(f"{path}  ({kind}, 通知書番号 {record['notice_no']}, from {folder})")
    return 0


COMMANDS = {
    "generate": cmd_generate, "run": cmd_run, "status": cmd_status, "stages": cmd_stages,
    "calc": cmd_calc, "installments": cmd_installments, "late-charge": cmd_late_charge, "explain": cmd_explain,
    "account": cmd_account, "suspense": cmd_suspense,
    "review": cmd_review,
    "quarantine": cmd_quarantine, "handoff": cmd_handoff, "preview": cmd_preview, "audit": cmd_audit,
    "vault": cmd_vault,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except Exception as error:  # operator errors become one sentence; bugs keep their traceback
        from contracts.errors import JuminzeiError

        if isinstance(error, JuminzeiError):
            print(f"juminzei {args.command}: {error}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    raise SystemExit(main())
