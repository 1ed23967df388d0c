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

    status = commands.add_parser("status", help="latest run report of every stage and fiscal year")
    status.add_argument("--json", action="store_true", help="print the latest reports as JSON")

    commands.add_parser("stages", help="list the stages that `run` knows")
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

    run = resolve_run_config(
        args.stage,
        {"fiscal_year": args.fiscal_year, "municipality": args.municipality, "dry_run": args.dry_run,
         "landing": args.landing},
        now=datetime.now(timezone.utc),
    )
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
    from pipelines.reports import format_status, load_latest

    reports = load_latest(Settings.from_env().lake)
    if args.json:
        print(json.dumps(reports, ensure_ascii=False, indent=2, sort_keys=True))
    else:
        print(format_status(reports))
    return 0


def cmd_stages(args: argparse.Namespace) -> int:
    from pipelines.stages import STAGES

    for name in sorted(STAGES):
        print(name)
    return 0


COMMANDS = {"generate": cmd_generate, "run": cmd_run, "status": cmd_status, "stages": cmd_stages}


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
