"""The Airflow environment of this checkout: the installation's secrets (generated once, private, read
by Airflow itself and never printed), the UI's default time zone, and the `make airflow` supervisor
that stops every process it started."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from juminzei.airflow_env import (
    ADMIN_PASSWORD_FILE,
    SecretsPermissionError,
    airflow_environment,
    ensure_secrets,
)
from juminzei.airflow_ui import DefaultUiTimezoneMiddleware, inject_default_timezone

REPO = Path(__file__).resolve().parents[2]
SECRET_FILES = ("jwt_secret", "api_secret_key", "fernet_key", ADMIN_PASSWORD_FILE)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_secrets_are_generated_once_and_private(tmp_path):
    folder = ensure_secrets(tmp_path / "home")
    assert _mode(folder) == 0o700
    first = {}
    for name in SECRET_FILES:
        assert _mode(folder / name) == 0o600, name
        first[name] = (folder / name).read_text(encoding="ascii")
        assert first[name].strip(), name
    # Every later start (every component) reads the same values.
    ensure_secrets(tmp_path / "home")
    airflow_environment(REPO, tmp_path / "home")
    assert {name: (folder / name).read_text(encoding="ascii") for name in SECRET_FILES} == first
    # Another installation gets its own.
    other = ensure_secrets(tmp_path / "other")
    assert all((other / name).read_text(encoding="ascii") != first[name] for name in SECRET_FILES)
    assert list(json.loads(first[ADMIN_PASSWORD_FILE])) == ["admin"]
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")], "temporary file left behind"


def test_secrets_readable_by_others_are_refused(tmp_path):
    folder = ensure_secrets(tmp_path / "home")
    (folder / "jwt_secret").chmod(0o644)
    with pytest.raises(SecretsPermissionError, match="jwt_secret has mode 0644"):
        ensure_secrets(tmp_path / "home")


def test_environment_names_the_files_not_the_values(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "JUMINZEI_AIRFLOW_HOME": str(home)}
    shell = subprocess.run(
        [sys.executable, "-m", "juminzei.airflow_env", "--shell"],
        env=env, cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout
    folder = home / "secrets"
    for name in SECRET_FILES:
        assert (folder / name).read_text(encoding="ascii") not in shell, f"{name} printed"
    assert f"export AIRFLOW__API_AUTH__JWT_SECRET_CMD='cat {folder / 'jwt_secret'}'" in shell
    assert "AIRFLOW__API__SECRET_KEY_CMD=" in shell and "AIRFLOW__CORE__FERNET_KEY_CMD=" in shell
    assert f"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE={folder / ADMIN_PASSWORD_FILE}" in shell


@pytest.mark.slow
def test_airflow_reads_the_shared_secrets(tmp_path):
    """Airflow itself resolves each option from its file: every component gets the same value."""
    env = {**os.environ, **airflow_environment(REPO, tmp_path / "home")}
    probe = textwrap.dedent("""
        import json
        from airflow.configuration import conf
        print(json.dumps({
            "jwt_secret": conf.get("api_auth", "jwt_secret"),
            "api_secret_key": conf.get("api", "secret_key"),
            "fernet_key": conf.get("core", "fernet_key"),
        }))
    """)
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    values = json.loads(out.stdout.strip().splitlines()[-1])
    folder = tmp_path / "home" / "secrets"
    assert values == {name: (folder / name).read_text(encoding="ascii") for name in values}


# --- the web UI's default time zone -------------------------------------------------------------

INDEX = b'<!doctype html>\n<html>\n  <head>\n    <meta charset="UTF-8" />\n    <script type="module" src="./x.js"></script>\n  </head>\n</html>\n'


def test_script_goes_before_the_ui_scripts():
    page = inject_default_timezone(INDEX)
    script = b'<script>try{if(!window.localStorage.getItem("timezone"))window.localStorage.setItem("timezone","\\"Asia/Tokyo\\"");}catch(e){}</script>'
    assert page == INDEX.replace(b"<head>", b"<head>" + script)
    assert page.index(script) < page.index(b'type="module"')
    assert inject_default_timezone(b"<html>no head</html>") == b"<html>no head</html>"


def _call(middleware_app, method: str, content_type: bytes, body: bytes) -> tuple[dict, bytes]:
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body[:10], "more_body": True})
        await send({"type": "http.response.body", "body": body[10:], "more_body": False})

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    asyncio.run(middleware_app(app)({"type": "http", "method": method, "path": "/"}, receive, send))
    headers = dict(sent[0]["headers"])
    return headers, b"".join(m.get("body", b"") for m in sent[1:])


def test_middleware_changes_only_html_pages():
    headers, body = _call(DefaultUiTimezoneMiddleware, "GET", b"text/html; charset=utf-8", INDEX)
    assert body == inject_default_timezone(INDEX)
    assert headers[b"content-length"] == str(len(body)).encode()
    payload = json.dumps({"html": "<head>"}).encode()
    assert _call(DefaultUiTimezoneMiddleware, "GET", b"application/json", payload)[1] == payload
    assert _call(DefaultUiTimezoneMiddleware, "POST", b"text/html", INDEX)[1] == INDEX


# --- the supervisor of `make airflow` -----------------------------------------------------------

# Stands in for `airflow standalone`: a component in the same process group, one that ignores SIGTERM,
# and one in a session of its own whose parent exits (an orphan, like a task runner left behind).
FAKE_STANDALONE = textwrap.dedent("""
    import os, signal, subprocess, sys, time
    pids = sys.argv[1]
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    stubborn = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
    launcher = subprocess.Popen([sys.executable, "-c",
        "import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
        " start_new_session=True, stdout=subprocess.DEVNULL); print(p.pid)"], stdout=subprocess.PIPE, text=True)
    orphan = int(launcher.communicate()[0])
    with open(pids + ".part", "w") as f:
        f.write(" ".join(str(p) for p in (os.getpid(), sleeper.pid, stubborn.pid, orphan)))
    os.replace(pids + ".part", pids)
    time.sleep(600)
""")


@pytest.mark.slow
def test_supervisor_stops_every_process_on_sigterm(tmp_path):
    pids_file = tmp_path / "pids"
    runner = textwrap.dedent(f"""
        import sys
        from juminzei.airflow_serve import Supervisor
        sys.exit(Supervisor([sys.executable, "-c", {FAKE_STANDALONE!r}, {str(pids_file)!r}], dict(__import__("os").environ), grace=3).run(before=[]))
    """)
    supervisor = subprocess.Popen([sys.executable, "-c", runner], cwd=REPO, start_new_session=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not pids_file.exists():
            assert supervisor.poll() is None, supervisor.communicate()[0]
            assert time.monotonic() < deadline, "the fake components did not start"
            time.sleep(0.1)
        pids = [int(p) for p in pids_file.read_text().split()]
        procs = [psutil.Process(pid) for pid in pids]
        assert all(p.is_running() for p in procs)
        assert os.getpgid(pids[3]) != os.getpgid(pids[0])  # outside the process group: killpg alone misses it

        supervisor.send_signal(signal.SIGTERM)
        output, _ = supervisor.communicate(timeout=60)
        assert supervisor.returncode == 0, output
        gone, alive = psutil.wait_procs(procs, timeout=5)
        assert alive == [], f"survived SIGTERM: {alive}\n{output}"
        assert "all Airflow processes stopped" in output
        assert "SIGKILL" in output  # the one that ignores SIGTERM was killed after the grace period
    finally:
        if supervisor.poll() is None:
            left = psutil.Process(supervisor.pid).children(recursive=True)
            os.killpg(supervisor.pid, signal.SIGKILL)
            for proc in left:
                try:
                    proc.kill()
                except psutil.NoSuchProcess:
                    pass
            supervisor.wait()
        if pids_file.exists():
            for pid in (int(p) for p in pids_file.read_text().split()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
