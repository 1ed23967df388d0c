"""`make fuzz`: every target of tests/fuzz_targets.py with a long random budget; prints executions and findings.

    make fuzz                      # FUZZ_EXAMPLES=2000 a target (about 20 minutes on 2 cores)
    make fuzz FUZZ_EXAMPLES=200    # a quick look
    make fuzz FUZZ_ONLY=zengin     # the targets whose name starts with it

A finding is the smallest failing input hypothesis found for a target, with the exception it raised; the run then
goes on with the next target. Exit status 1 when anything was found. The draws are random (a new seed each run),
unlike `make test`'s fixed ones; FUZZ_SEED=<n> repeats a run.
"""

from __future__ import annotations

import os
import sys
import time

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st


def _runner(target, budget: int, run_seed: int, counter: list[int]):
    @seed(run_seed)
    @settings(max_examples=budget, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              derandomize=False, print_blob=True)
    @given(st.data())
    def run(data):
        counter[0] += 1
        target.call(data.draw(target.strategy(), label=target.name))

    return run


def main() -> int:
    import tempfile

    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(tempfile.mkdtemp(prefix="juminzei-fuzz-"))  # its caches never land in the checkout
    from tests.fuzz_targets import targets

    budget = int(os.environ.get("FUZZ_EXAMPLES", "2000"))
    only = os.environ.get("FUZZ_ONLY", "")
    chosen = [t for t in targets() if t.name.startswith(only)]
    run_seed = int(os.environ.get("FUZZ_SEED") or time.time_ns() % 2**32)
    print(f"fuzz: {len(chosen)} targets, {budget} examples each, seed {run_seed} (FUZZ_SEED={run_seed} repeats it)")
    findings: list[tuple[str, str]] = []
    total = 0
    print(f"{'target':<32} {'executions':>10} {'seconds':>8}  finding")
    for target in chosen:
        counter = [0]
        run = _runner(target, budget, run_seed, counter)
        started = time.monotonic()
        finding = ""
        try:
            run()
        except Exception as error:  # the shrunk failing input: reported, then the next target
            finding = f"{type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''}"
            findings.append((target.name, str(error)))
        total += counter[0]
        print(f"{target.name:<32} {counter[0]:>10} {time.monotonic() - started:>8.1f}  {finding or '-'}", flush=True)
    print(f"fuzz: {total} executions, {len(findings)} findings")
    for name, text in findings:
        print(f"\n--- {name}\n{text}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
