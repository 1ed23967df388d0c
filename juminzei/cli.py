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

    explain = commands.add_parser("explain", help="print one person's stored computation sheet (税額計算明細)")
    explain.add_argument("--fiscal-year", type=int, required=True, help="年度")
    explain.add_argument("--atena-no", required=True, help="宛名番号 (10 digits)")
    explain.add_argument("--municipality", default=None, help="6-digit 団体コード (default from settings)")
    explain.add_argument("--no-sources", action="store_true", help="omit the legal source under each line")
    return parser


def cmd_generate(args: argparse.Namespace) -> int:
    from juminzei.generator import generate_ward

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
    from pipelines.config import Settings
    from pipelines.errors import ConfigError
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


def cmd_explain(args: argparse.Namespace) -> int:
    import re

    from pipelines.audit import append_audit
    from pipelines.config import Settings
    from pipelines.errors import ConfigError
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
        department=settings.department, host=settings.host, details={"fiscal_year": args.fiscal_year},
    )
    print(format_sheet(row, load_rules(args.fiscal_year), load_municipality_profile(municipality),
                       title=f"宛名番号 {args.atena_no}", with_sources=not args.no_sources), end="")
    return 0


COMMANDS = {
    "generate": cmd_generate, "run": cmd_run, "status": cmd_status, "stages": cmd_stages,
    "calc": cmd_calc, "explain": cmd_explain,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except Exception as error:  # operator errors become one sentence; bugs keep their traceback
        from pipelines.errors import JuminzeiError

        if isinstance(error, JuminzeiError):
            print(f"juminzei {args.command}: {error}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    raise SystemExit(main())
