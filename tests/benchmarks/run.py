"""`make bench`: run every benchmark and print its figures. Benchmarks report; they do not assert
wall-clock times (STYLE rule 15). Each `tests/benchmarks/bench_*.py` exposes `bench() -> dict`.

Select with `make bench BENCH=generator` (substring of the module name); scale with env
`JUMINZEI_BENCH_RESIDENTS` (default 1,000,000).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    wanted = os.environ.get("BENCH", "")
    residents = int(os.environ.get("JUMINZEI_BENCH_RESIDENTS", "1000000"))
    modules = sorted(p.stem for p in HERE.glob("bench_*.py") if wanted in p.stem)
    if not modules:
        print(f"no benchmark matches {wanted!r}", file=sys.stderr)
        return 2
    results = {}
    for name in modules:
        module = importlib.import_module(f"tests.benchmarks.{name}")
        print(f"== {name} ({residents:,} residents)", flush=True)
        figures = module.bench(residents=residents)
        results[name] = figures
        print(json.dumps(figures, indent=2, ensure_ascii=False, sort_keys=True), flush=True)
    out = Path(os.environ.get("JUMINZEI_HOME", ".")) / "var" / "bench" / "latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
