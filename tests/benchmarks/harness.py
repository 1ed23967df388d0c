"""What every benchmark shares: a scratch folder, preparation steps in their own processes, and the
measured run in a fresh spawned process so that its peak RSS is its own.

    with scratch("record_merge") as work:
        step(_prepare, residents, seed, fiscal_year, str(work))      # raises StepFailed on a non-zero exit
        figures = measure(_child, fiscal_year, str(work))           # the child's dict, or {"ok": False, ...}

A measured child is a module-level function taking its arguments and returning a dict of figures;
:func:`measure` runs it through :func:`_report` so that any exception becomes ``{"ok": False, "error"}``
and a child killed by the kernel (e.g. out of memory) is reported instead of hanging the parent.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_module
import resource
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

REPO = Path(__file__).resolve().parents[2]
_CTX = mp.get_context("spawn")


class StepFailed(RuntimeError):
    """A preparation step exited with a non-zero status."""


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A scratch folder under ``JUMINZEI_BENCH_DIR`` (default ``var/bench``), removed afterwards."""
    root = Path(os.environ.get("JUMINZEI_BENCH_DIR", REPO / "var" / "bench"))
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=root))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def step(target: Callable[..., Any], *args: Any) -> None:
    """Run a preparation step in its own process (its memory is not the measured stage's)."""
    process = _CTX.Process(target=target, args=args)
    process.start()
    process.join()
    if process.exitcode != 0:
        raise StepFailed(f"{target.__name__} failed (exit {process.exitcode})")


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far, in GiB (ru_maxrss is KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)


def _report(target: Callable[..., dict], args: tuple, results: Any) -> None:
    try:
        results.put({"ok": True, **target(*args)})
    except BaseException as error:  # report, never hang the parent
        results.put({"ok": False, "error": f"{type(error).__name__}: {error}"})


def measure(target: Callable[..., dict], *args: Any) -> dict[str, Any]:
    """Run ``target(*args)`` in a fresh spawned process and return its figures."""
    results = _CTX.Queue()
    process = _CTX.Process(target=_report, args=(target, args, results))
    process.start()
    while True:
        try:
            figures = results.get(timeout=5)
            break
        except queue_module.Empty:
            if not process.is_alive():
                figures = {"ok": False, "error": f"{target.__name__} died with exit {process.exitcode} (killed?)"}
                break
    process.join()
    return figures


def header(residents: int, seed: int, fiscal_year: int) -> dict[str, Any]:
    return {"residents": residents, "seed": seed, "fiscal_year": fiscal_year, "cpus": os.cpu_count()}
