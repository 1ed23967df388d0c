"""`make airflow`: Airflow's web UI, REST API, scheduler, DAG processor and triggerer on this checkout's
configuration, stopped as a whole on Ctrl-C or SIGTERM.

``airflow standalone`` starts the components as child processes but stops them only on Ctrl-C in its
own terminal; killed otherwise (SIGTERM from a service manager, a closed session) it leaves the
scheduler, API server and triggerer running, and tasks start their own process groups. So this
supervisor runs ``airflow standalone`` in a process group of its own, adopts every process that any
component leaves behind (Linux child subreaper) and, on SIGINT, SIGTERM or SIGHUP, sends SIGTERM to
all of them, waits up to ``--grace`` seconds for them to finish and then SIGKILLs whatever is left.
It exits only when none of them is left.

Usage: ``python -m juminzei.airflow_serve [--port 8080] [--grace 30]``
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from juminzei.airflow_env import REPO, airflow_environment

DEFAULT_PORT = 8080
DEFAULT_GRACE_SECONDS = 30.0
_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def _become_subreaper() -> bool:
    """Make orphaned descendants (e.g. a task runner whose parent died) children of this process,
    so that they can be found and stopped. Linux only; elsewhere the process group is all we have."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def serve_environment(port: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every component: the checkout's configuration, the API server on
    127.0.0.1:``port`` and the tasks' execution API at the same address."""
    env = dict(os.environ if base is None else base)
    env.update(airflow_environment())
    env["PATH"] = os.pathsep.join([str(REPO / ".venv" / "bin"), env.get("PATH", "")])
    env["AIRFLOW__API__PORT"] = str(port)
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://127.0.0.1:{port}/execution/"
    return env


def descendants(pid: int) -> list[int]:
    """Process ids of every live descendant of ``pid`` (children first, then their children)."""
    import psutil

    try:
        procs = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    alive = []
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _signal(pids: list[int], pgid: int | None, sig: int) -> None:
    if pgid is not None:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


class Supervisor:
    def __init__(self, command: list[str], env: dict[str, str], grace: float):
        self.command = command
        self.env = env
        self.grace = grace
        self.child: subprocess.Popen | None = None
        self.child_status: int | None = None
        self.stop_signal: int | None = None

    def _on_signal(self, signum: int, _frame) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum

    def _reap(self) -> None:
        """Collect the exit status of finished children (adopted orphans included)."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.child is not None and pid == self.child.pid:
                self.child_status = os.waitstatus_to_exitcode(status)
                self.child.returncode = self.child_status

    def _run_step(self, command: list[str]) -> int:
        """Run one preparatory command (its own process group too) unless a stop was requested."""
        proc = subprocess.Popen(command, env=self.env, cwd=REPO, start_new_session=True)
        while proc.poll() is None:
            if self.stop_signal is not None:
                _signal(descendants(proc.pid), proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=self.grace)
                except subprocess.TimeoutExpired:
                    _signal(descendants(proc.pid), proc.pid, signal.SIGKILL)
                    proc.wait()
                return 128 + self.stop_signal
            time.sleep(0.2)
        return proc.returncode

    def stop_all(self) -> None:
        """SIGTERM every descendant and the standalone process group, wait up to the grace period,
        SIGKILL the rest; return when none is left."""
        me = os.getpid()
        pgid = self.child.pid if self.child is not None else None
        deadline = time.monotonic() + self.grace
        signalled: set[int] = set()
        while True:
            self._reap()
            pids = descendants(me)
            if not pids:
                break
            if time.monotonic() >= deadline:
                print(f"airflow_serve: {len(pids)} process(es) still running after {self.grace:.0f} s: SIGKILL",
                      file=sys.stderr, flush=True)
                _signal(pids, pgid, signal.SIGKILL)
                time.sleep(0.2)
                continue
            new = [pid for pid in pids if pid not in signalled]
            if new:
                _signal(new, pgid if not signalled else None, signal.SIGTERM)
                signalled.update(new)
            time.sleep(0.2)
        self._reap()

    def run(self, before: list[list[str]]) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        _become_subreaper()
        try:
            for step in before:
                code = self._run_step(step)
                if code != 0:
                    return code
            if self.stop_signal is not None:
                return 128 + self.stop_signal
            self.child = subprocess.Popen(self.command, env=self.env, cwd=REPO, start_new_session=True)
            while self.stop_signal is None and self.child_status is None:
                self._reap()
                time.sleep(0.2)
        finally:
            if self.child is not None:
                how = f"signal {signal.Signals(self.stop_signal).name}" if self.stop_signal else "standalone exited"
                print(f"airflow_serve: {how}; stopping every Airflow process …", file=sys.stderr, flush=True)
            self.stop_all()
            if self.child is not None:
                print("airflow_serve: all Airflow processes stopped", file=sys.stderr, flush=True)
        if self.stop_signal is not None:
            return 0
        return self.child_status or 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW_PORT") or DEFAULT_PORT),
                        help="port of the web UI and REST API on 127.0.0.1 (default 8080, or $AIRFLOW_PORT)")
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE_SECONDS,
                        help="seconds the components get to stop before they are killed (default 30)")
    args = parser.parse_args(argv)

    env = serve_environment(args.port)
    airflow = str(REPO / ".venv" / "bin" / "airflow")
    password_file = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    print(f"airflow_serve: web UI and REST API at http://localhost:{args.port} (user admin; password in "
          f"{password_file}); Ctrl-C stops every component", flush=True)
    supervisor = Supervisor([airflow, "standalone"], env, args.grace)
    return supervisor.run(before=[[airflow, "db", "migrate"]])


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except OSError as exc:  # pragma: no cover - e.g. the venv is missing
        if exc.errno == errno.ENOENT:
            print(f"airflow_serve: {exc} — run `make venv` first", file=sys.stderr)
            raise SystemExit(1) from exc
        raise
