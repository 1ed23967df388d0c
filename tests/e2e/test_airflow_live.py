"""Live: the real Airflow components, as `make airflow` starts them (juminzei.airflow_serve →
`airflow standalone`: API server, scheduler, DAG processor, triggerer), on free local ports with a
temporary Airflow home and lake.

A DAG run triggered through the REST API with a token must execute to success (issue 10: with no
shared `[api_auth] jwt_secret` each component signed its own tokens and tasks stayed "up for retry"),
the UI page must default to Asia/Tokyo, no secret may appear in the output, and SIGTERM to the
supervisor must leave no process of the installation running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil
import pytest

from tests.e2e.conftest import E2E_FISCAL_YEAR, E2E_SEED, REPO

pytestmark = pytest.mark.e2e

LIVE_RESIDENTS = 300
EARLIER_YEAR = 2025
DAG_ID = "resident_snapshot"
STARTUP_DEADLINE_S = 240  # a loaded 2-core machine: give up (and fail) after this, never assert a duration
RUN_DEADLINE_S = 240
STOP_DEADLINE_S = 90
JWT_FAILURES = ("Signature verification failed", "Failed to validate JWT", "was empty, using a generated one")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveAirflow:
    proc: subprocess.Popen
    port: int
    home: Path
    lake: Path
    output: Path
    # (pid, create_time) of every process seen under the supervisor: pids are not reused unnoticed.
    seen: set[tuple[int, float]] = field(default_factory=set)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def track(self) -> None:
        """Remember the supervisor's current descendants (task runners come and go)."""
        try:
            procs = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return
        for p in procs:
            try:
                self.seen.add((p.pid, p.create_time()))
            except psutil.NoSuchProcess:
                pass

    def survivors(self) -> list[str]:
        """Every live process of this installation: seen under the supervisor, or started with its
        Airflow home in the environment or on the command line."""
        found: dict[int, str] = {}
        for pid, created in self.seen:
            try:
                p = psutil.Process(pid)
                if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                    found[pid] = " ".join(p.cmdline())[:120]
            except psutil.NoSuchProcess:
                pass
        for p in psutil.process_iter(["pid", "cmdline"]):
            try:
                if p.pid in found or p.status() == psutil.STATUS_ZOMBIE:
                    continue
                cmdline = " ".join(p.info["cmdline"] or [])
                if str(self.home) in cmdline or p.environ().get("AIRFLOW_HOME") == str(self.home):
                    found[p.pid] = cmdline[:120]
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                pass
        return [f"{pid} {cmd}" for pid, cmd in sorted(found.items())]

    def output_tail(self, lines: int = 60) -> str:
        text = self.output.read_text(encoding="utf-8", errors="replace") if self.output.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if resp.headers.get_content_type() == "application/json" else raw)

    def diagnosis(self) -> str:
        """The output's token failures (if any) and its last lines, for a failure message."""
        text = self.output.read_text(encoding="utf-8", errors="replace") if self.output.exists() else ""
        failures = [line for line in text.splitlines() if any(f in line for f in JWT_FAILURES)]
        return "\n".join(failures[:10] + ["…"] + text.splitlines()[-40:])

    def wait_for(self, what: str, check, deadline_s: float, interval: float = 1.0):
        deadline = time.monotonic() + deadline_s
        while True:
            self.track()
            assert self.proc.poll() is None, f"the supervisor exited while waiting for {what}:\n{self.diagnosis()}"
            try:
                result = check()
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                result = None
            if result:
                return result
            assert time.monotonic() < deadline, f"gave up waiting for {what}:\n{self.diagnosis()}"
            time.sleep(interval)


def _stop(live: LiveAirflow) -> None:
    """Last resort after a failed test: kill whatever is left, so no process outlives the test."""
    if live.proc.poll() is None:
        live.proc.send_signal(signal.SIGTERM)
        try:
            live.proc.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            pass
    for entry in live.survivors():
        pid = int(entry.split()[0])
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(live.proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if live.proc.poll() is None:
        live.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def live_airflow(tmp_path_factory):
    from sample_ward import generate_ward

    root = tmp_path_factory.mktemp("live")
    home, lake = root / "airflow_home", root / "lake"
    generate_ward(root / "ward", residents=LIVE_RESIDENTS, seed=E2E_SEED, fiscal_year=E2E_FISCAL_YEAR)
    shutil.copytree(root / "ward" / "landing", lake / "landing")
    # An earlier fiscal year as well: its snapshot, run by hand, must start record_merge for that year.
    generate_ward(root / "ward_earlier", residents=LIVE_RESIDENTS, seed=E2E_SEED, fiscal_year=EARLIER_YEAR)
    shutil.copytree(root / "ward_earlier" / "landing", lake / "landing", dirs_exist_ok=True)

    port = _free_port()
    env = dict(os.environ)
    env.update({
        "JUMINZEI_AIRFLOW_HOME": str(home),
        "JUMINZEI_LAKE": str(lake),
        "JUMINZEI_VAULT_KEY_FILE": str(root / "keys" / "vault.key"),
        "JUMINZEI_DATA_DOCS": str(root / "data_docs"),
        # The scheduler's and triggerer's log servers have fixed default ports: free ones here, so
        # that this test runs beside `make airflow` or another test.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
    })
    output = root / "airflow_serve.log"
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "juminzei.airflow_serve", "--port", str(port), "--grace", "30"],
            env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    live = LiveAirflow(proc=proc, port=port, home=home, lake=lake, output=output)
    try:
        yield live
    finally:
        _stop(live)


def _token(live: LiveAirflow) -> str:
    passwords_file = live.home / "secrets" / "simple_auth_manager_passwords.json"
    password = json.loads(passwords_file.read_text(encoding="utf-8"))["admin"]
    status, body = live.request("POST", "/auth/token", {"username": "admin", "password": password})
    assert status == 201 or status == 200, body
    return body["access_token"]


def test_rest_api_trigger_executes(live_airflow: LiveAirflow):
    live = live_airflow

    def api_up():
        status, body = live.request("GET", "/api/v2/monitor/health")
        return status == 200 and body

    live.wait_for("the API server", api_up, STARTUP_DEADLINE_S)

    # The installation's secrets: generated once, private, and never in the output.
    secrets_dir = live.home / "secrets"
    assert oct(secrets_dir.stat().st_mode & 0o777) == oct(0o700)
    for name in ("jwt_secret", "api_secret_key", "fernet_key", "simple_auth_manager_passwords.json"):
        assert oct((secrets_dir / name).stat().st_mode & 0o777) == oct(0o600), name

    token = _token(live)

    # The UI page makes Asia/Tokyo the browser's time zone unless the user chose one.
    status, page = live.request("GET", "/", token=token)
    assert status == 200 and b'localStorage.setItem("timezone","\\"Asia/Tokyo\\"")' in page, page[:400]

    def dag_parsed():
        try:
            status, body = live.request("GET", f"/api/v2/dags/{DAG_ID}", token=token)
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise
        return body if status == 200 else None

    dag = live.wait_for(f"the DAG processor to parse {DAG_ID}", dag_parsed, STARTUP_DEADLINE_S)
    assert dag["is_paused"] is True  # [core] dags_are_paused_at_creation

    status, body = live.request("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False}, token=token)
    assert status == 200 and body["is_paused"] is False

    conf = {"fiscal_year": E2E_FISCAL_YEAR, "municipality": "131032", "dry_run": True}
    status, run = live.request("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf}, token=token)
    assert status == 200, run
    run_id = run["dag_run_id"]

    def run_finished():
        status, body = live.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.request.quote(run_id, safe='')}", token=token)
        return body if body["state"] in ("success", "failed") else None

    finished = live.wait_for(f"run {run_id} to finish", run_finished, RUN_DEADLINE_S, interval=2.0)
    if finished["state"] != "success":
        _, tis = live.request("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.request.quote(run_id, safe='')}/taskInstances", token=token)
        states = {ti["task_id"]: ti["state"] for ti in tis["task_instances"]}
        pytest.fail(f"run {run_id} ended {finished['state']}; tasks {states}\n{live.diagnosis()}")

    # The tasks really ran in this installation: the dry run wrote its run report to this lake.
    reports_dir = live.lake / "reports" / DAG_ID / "municipality=131032" / f"fiscal_year={E2E_FISCAL_YEAR}"
    reports = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(reports_dir.glob("*.json")) if not p.name.startswith("latest")]
    assert [r["dry_run"] for r in reports] == [True], reports
    assert reports[0]["status"] == "success"

    # No component signed or checked tokens with a key of its own.
    task_logs = "".join(p.read_text(encoding="utf-8", errors="replace") for p in (live.home / "logs").rglob("*.log"))
    assert task_logs, "no task log written"
    output = live.output.read_text(encoding="utf-8", errors="replace")
    for failure in JWT_FAILURES:
        assert failure not in task_logs and failure not in output, failure
    for name in ("jwt_secret", "api_secret_key", "fernet_key"):
        value = (secrets_dir / name).read_text(encoding="ascii")
        assert value and value not in output and value not in task_logs, f"the {name} value was printed"


def _get(live: LiveAirflow, path: str, token: str):
    try:
        return live.request("GET", path, token=token)[1]
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


def test_unpausing_skips_the_late_schedule_and_an_asset_run_follows_its_partition(live_airflow: LiveAirflow):
    """Unpausing resident_snapshot (previous test) made the scheduler start the run of its latest 4 January
    06:00: months late, it does nothing (resolve_run skipped). A real snapshot of an earlier fiscal year, run by
    hand, starts record_merge through its Asset events, and record_merge works on that year, not on the
    year of its own start."""
    live = live_airflow
    token = _token(live)
    runs = live.wait_for("the scheduled run created by unpausing", lambda: _get(
        live, f"/api/v2/dags/{DAG_ID}/dagRuns?run_type=scheduled", token)["dag_runs"], RUN_DEADLINE_S, interval=2.0)
    for run in runs:
        quoted = urllib.request.quote(run["dag_run_id"], safe="")
        done = live.wait_for("the late scheduled run", lambda q=quoted: (
            (b := _get(live, f"/api/v2/dags/{DAG_ID}/dagRuns/{q}", token)) and b["state"] in ("success", "failed") and b),
            RUN_DEADLINE_S, interval=2.0)
        tis = _get(live, f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted}/taskInstances", token)["task_instances"]
        late = (time.time() - datetime.fromisoformat(run["logical_date"]).timestamp()) > 3 * 86400
        if late:
            assert done["state"] == "success" and {t["task_id"]: t["state"] for t in tis}["resolve_run"] == "skipped"

    live.wait_for("record_merge to be parsed", lambda: _get(live, "/api/v2/dags/record_merge", token), STARTUP_DEADLINE_S)
    status, body = live.request("PATCH", "/api/v2/dags/record_merge", {"is_paused": False}, token=token)
    assert status == 200 and body["is_paused"] is False
    conf = {"fiscal_year": EARLIER_YEAR, "municipality": "131032", "dry_run": False}
    status, run = live.request("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf}, token=token)
    assert status == 200, run
    quoted = urllib.request.quote(run["dag_run_id"], safe="")
    finished = live.wait_for("the real snapshot run", lambda: (
        (b := _get(live, f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted}", token)) and b["state"] in ("success", "failed") and b),
        RUN_DEADLINE_S, interval=2.0)
    assert finished["state"] == "success", live.diagnosis()

    def merge_resolved():
        merges = _get(live, "/api/v2/dags/record_merge/dagRuns?run_type=asset_triggered", token)["dag_runs"]
        for merge in merges:
            q = urllib.request.quote(merge["dag_run_id"], safe="")
            entry = _get(live, f"/api/v2/dags/record_merge/dagRuns/{q}/taskInstances/resolve_run/xcomEntries/return_value",
                         token)
            if entry:
                return entry
        return None

    entry = live.wait_for("record_merge's resolve_run after the Asset event", merge_resolved, RUN_DEADLINE_S, interval=2.0)
    value = entry["value"]
    resolved = json.loads(value) if isinstance(value, str) else value
    assert (resolved["fiscal_year"], resolved["municipality"]) == (EARLIER_YEAR, "131032"), resolved
    live.request("PATCH", "/api/v2/dags/record_merge", {"is_paused": True}, token=token)  # its merge has no ingest


def test_sigterm_stops_every_process(live_airflow: LiveAirflow):
    live = live_airflow
    live.track()
    assert live.proc.poll() is None, live.output_tail()
    assert live.survivors(), "no Airflow component was running before SIGTERM"

    live.proc.send_signal(signal.SIGTERM)
    try:
        code = live.proc.wait(timeout=STOP_DEADLINE_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the supervisor did not exit after SIGTERM:\n{live.output_tail()}")
    assert code == 0, live.output_tail()
    left = live.survivors()
    assert left == [], "processes outlived SIGTERM:\n" + "\n".join(left)
    assert "all Airflow processes stopped" in live.output_tail()
