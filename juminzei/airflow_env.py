"""The environment that points Airflow at the committed configuration of this checkout.

One place decides it, so `bin/airflow`, `make demo`, `make airflow` and the tests agree:
metadata in SQLite under ``var/airflow``, DAGs from ``dags/``, configuration from ``airflow.cfg``,
and the installation's secrets from ``var/airflow/secrets/``.

The secrets (the JWT signing key every component must share, the API server's session key, the
Fernet key that encrypts connection passwords in the metadata database, the admin password of the
web UI) are generated once per Airflow home, each into its own 0600 file in a 0700 folder that git
ignores. They never pass through the environment or a log: Airflow reads each one itself through
its ``AIRFLOW__<SECTION>__<KEY>_CMD`` variant (``cat <file>``), so ``--shell`` prints only paths.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shlex
import stat
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SECRETS_DIR_NAME = "secrets"
# Admin password of Airflow's simple auth manager ({"admin": "<password>"}, Airflow's own format).
ADMIN_PASSWORD_FILE = "simple_auth_manager_passwords.json"
ADMIN_USER = "admin"


def _jwt_secret() -> str:
    # [api_auth] jwt_secret signs the tokens that the scheduler hands to tasks and the API server
    # checks (HS512: at least 64 random bytes).
    return secrets.token_urlsafe(64)


def _api_secret_key() -> str:
    # [api] secret_key signs the API server's session and log-fetching tokens.
    return secrets.token_urlsafe(32)


def _fernet_key() -> str:
    # [core] fernet_key: 32 random bytes, URL-safe base64 — the Fernet key format.
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def _admin_passwords() -> str:
    return json.dumps({ADMIN_USER: secrets.token_urlsafe(18)}) + "\n"


# Airflow option (section, key) -> file name in the secrets folder, generator.
AIRFLOW_SECRETS: dict[tuple[str, str], tuple[str, object]] = {
    ("api_auth", "jwt_secret"): ("jwt_secret", _jwt_secret),
    ("api", "secret_key"): ("api_secret_key", _api_secret_key),
    ("core", "fernet_key"): ("fernet_key", _fernet_key),
}


class SecretsPermissionError(RuntimeError):
    """A secrets file or folder that other users could read."""


def secrets_dir(airflow_home: Path) -> Path:
    return airflow_home / SECRETS_DIR_NAME


def _check_private(path: Path, allowed: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~allowed:
        raise SecretsPermissionError(
            f"{path} has mode {mode:04o}: other users could read the installation's secrets. "
            f"Run `chmod {allowed:o} {shlex.quote(str(path))}` and try again."
        )


def _write_once(path: Path, content: str) -> None:
    """Create ``path`` (0600) with ``content`` unless it exists; the first writer wins, no reader
    ever sees a half-written file."""
    if path.exists():
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if another process created it meanwhile: keep theirs
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def ensure_secrets(airflow_home: Path) -> Path:
    """Generate the installation's secrets once (0700 folder, 0600 files); return the folder.

    Existing files are kept as they are, so every component and every later start uses the same
    values. A folder or file readable by others is refused with the command that fixes it.
    """
    folder = secrets_dir(airflow_home)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _check_private(folder, 0o700)
    for name, generate in AIRFLOW_SECRETS.values():
        _write_once(folder / name, generate())  # type: ignore[operator]
    _write_once(folder / ADMIN_PASSWORD_FILE, _admin_passwords())
    for path in folder.iterdir():
        if not path.name.startswith("."):
            _check_private(path, 0o600)
    return folder


def _env_var(section: str, key: str) -> str:
    return f"AIRFLOW__{section.upper()}__{key.upper()}"


def airflow_environment(repo: Path = REPO, airflow_home: Path | None = None) -> dict[str, str]:
    """Return the variables that make Airflow use this checkout's configuration.

    Creates the Airflow home and its secrets on first use (see ``ensure_secrets``); the variables
    name the secrets' files, never their values.
    """
    home = airflow_home or Path(os.environ.get("JUMINZEI_AIRFLOW_HOME", repo / "var" / "airflow"))
    home.mkdir(parents=True, exist_ok=True)
    folder = ensure_secrets(home)
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(repo / "airflow.cfg"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(repo / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(repo / "juminzei" / "airflow_plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(folder / ADMIN_PASSWORD_FILE),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "JUMINZEI_HOME": os.environ.get("JUMINZEI_HOME", str(repo)),
        "PYTHONPATH": os.pathsep.join(p for p in (str(repo), os.environ.get("PYTHONPATH", "")) if p),
    }
    for (section, key), (name, _) in AIRFLOW_SECRETS.items():
        env[f"{_env_var(section, key)}_CMD"] = f"cat {shlex.quote(str(folder / name))}"
    return env


def main(argv: list[str]) -> int:
    env = airflow_environment()
    if argv[:1] == ["--shell"]:
        for key, value in env.items():
            print(f"export {key}={shlex.quote(value)}")
        return 0
    if argv[:1] == ["db-migrate"]:
        os.environ.update(env)
        os.execv(sys.executable, [sys.executable, "-m", "airflow", "db", "migrate"])
    print("usage: python -m juminzei.airflow_env --shell | db-migrate", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
