"""Progress of a running stage, for the operator who waits for it.

A stage declares its steps up front (``STEPS``, a tuple of short English sentences) and calls
:func:`step` as it enters each one; a step that works through countable units (files, sources,
partitions) may also call :func:`advance`. :func:`track` (used by :func:`pipelines.stage.execute`)
shows it:

* on a terminal, a progress bar from ``rich``: the step, ``done/total`` steps and the elapsed time;
* anywhere else (Airflow task logs, a CLI piped into a file, tests), plain lines on standard error —
  one when a step starts and one at least every ``JUMINZEI_PROGRESS_SECONDS`` (default 10) seconds
  while it runs, e.g. ``returns_ingest 131032/2026: step 2 of 5, reading and parsing the files, files
  120 of 480, elapsed 0:00:41``, and a last one with the outcome (``done`` or ``failed``).

``JUMINZEI_PROGRESS`` chooses explicitly: ``bar``, ``lines`` or ``off``. Progress lines hold step
names, counts and times only, never personal data. Nothing here changes what a stage computes.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from datetime import timedelta
from typing import TextIO

DEFAULT_SECONDS = 10.0

_current: ContextVar[_Tracker | None] = ContextVar("juminzei_progress", default=None)


def _elapsed(seconds: float) -> str:
    return str(timedelta(seconds=int(seconds)))


class _Tracker:
    """One stage run's progress: the current step, an optional count within it, and the display."""

    def __init__(self, label: str, steps: Sequence[str], *, mode: str, interval: float, stream: TextIO) -> None:
        self.label = label
        self.steps = tuple(steps)
        self.mode = mode
        self.interval = interval
        self.stream = stream
        self.started = time.monotonic()
        self.index = -1            # the step under way (0-based); -1 before the first
        self.unit: str | None = None
        self.done_units = 0
        self.total_units: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar = None
        self._task = None

    # ------------------------------------------------------------------------------- state
    def step(self, name: str, *, total: int | None = None, unit: str | None = None) -> None:
        with self._lock:
            if name in self.steps:
                self.index = max(self.index, self.steps.index(name))
            else:  # a step the stage did not declare: shown, counted as the next one
                self.index = min(self.index + 1, len(self.steps) - 1)
                self.steps = self.steps[: self.index] + (name,) + self.steps[self.index + 1:]
            self.unit, self.total_units, self.done_units = unit, total, 0
        self._show(changed=True)

    def advance(self, count: int = 1) -> None:
        with self._lock:
            self.done_units += count
        if self._bar is not None:
            self._show(changed=False)

    def line(self) -> str:
        """``<label>: step 3 of 7, <step>, files 120 of 480, elapsed 0:00:41``."""
        with self._lock:
            if self.index < 0:
                where = "starting"
            else:
                where = f"step {self.index + 1} of {len(self.steps)}, {self.steps[self.index]}"
                if self.unit and self.total_units is not None:
                    where += f", {self.unit} {self.done_units:,} of {self.total_units:,}"
        return f"{self.label}: {where}, elapsed {_elapsed(time.monotonic() - self.started)}"

    # ----------------------------------------------------------------------------- display
    def start(self) -> None:
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("steps"),
                TimeElapsedColumn(), console=Console(file=self.stream), transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(f"{self.label}: starting", total=len(self.steps))
        elif self.mode == "lines":
            self._thread = threading.Thread(target=self._heartbeat, name="juminzei-progress", daemon=True)
            self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.interval):
            self._emit()

    def _emit(self) -> None:
        print(self.line(), file=self.stream, flush=True)

    def _show(self, *, changed: bool) -> None:
        if self.mode == "lines" and changed:
            self._emit()
        elif self._bar is not None:
            with self._lock:
                name = self.steps[self.index] if self.index >= 0 else "starting"
                detail = (f" ({self.unit} {self.done_units:,}/{self.total_units:,})"
                          if self.unit and self.total_units is not None else "")
                completed = max(self.index, 0)
            self._bar.update(self._task, description=f"{self.label}: {name}{detail}", completed=completed)

    def finish(self, outcome: str) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        if self._bar is not None:
            self._bar.update(self._task, description=f"{self.label}: {outcome}",
                             completed=len(self.steps) if outcome == "done" else max(self.index, 0))
            self._bar.stop()
        elif self.mode == "lines":
            print(f"{self.label}: {outcome} after {_elapsed(time.monotonic() - self.started)}",
                  file=self.stream, flush=True)


def _mode(stream: TextIO) -> str:
    chosen = os.environ.get("JUMINZEI_PROGRESS", "").strip().lower()
    if chosen in ("bar", "lines", "off"):
        return chosen
    try:
        return "bar" if stream.isatty() else "lines"
    except (AttributeError, ValueError):
        return "lines"


def _interval() -> float:
    try:
        seconds = float(os.environ.get("JUMINZEI_PROGRESS_SECONDS", DEFAULT_SECONDS))
    except ValueError:
        return DEFAULT_SECONDS
    return min(max(seconds, 0.05), DEFAULT_SECONDS)  # never less often than every 10 seconds


@contextlib.contextmanager
def track(label: str, steps: Sequence[str], *, stream: TextIO | None = None, mode: str | None = None,
          interval: float | None = None) -> Iterator[_Tracker]:
    """Show the progress of the code inside (a stage run) under ``label``; steps as declared."""
    stream = stream if stream is not None else sys.stderr
    tracker = _Tracker(label, steps, mode=mode or _mode(stream), interval=interval or _interval(), stream=stream)
    token = _current.set(tracker)
    tracker.start()
    outcome = "failed"
    try:
        yield tracker
        outcome = "done"
    finally:
        tracker.finish(outcome)
        _current.reset(token)


def step(name: str, *, total: int | None = None, unit: str | None = None) -> None:
    """Enter step ``name`` of the running stage (no-op outside :func:`track`); ``total`` ``unit`` (e.g.
    480 files) are then counted with :func:`advance`."""
    tracker = _current.get()
    if tracker is not None:
        tracker.step(name, total=total, unit=unit)


def advance(count: int = 1) -> None:
    """Count ``count`` more units of the current step (no-op outside :func:`track`)."""
    tracker = _current.get()
    if tracker is not None:
        tracker.advance(count)
