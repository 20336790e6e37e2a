"""Local backend: versioned release folders on one machine, an atomic switch and a restart.

Layout under DEPLOY_ROOT (default var/deploy):

    bundles/<release>.tar.gz          built by `python -m deploy build` (content-addressed)
    <env>/releases/<release>/         unpacked bundle with its own .venv (uv sync --locked)
    <env>/current -> releases/<id>    the switch: a symlink replaced atomically
    <env>/shared/service.env          settings of the environment (API key, port, DATABASE_URL)
    <env>/shared/var/                 the SQLite database (ledger and index snapshots) and the
                                      local index cache: survive releases and rollbacks
    <env>/state.json                  what serves now and the deploy history
    <env>/service.pid, logs/          the running process and its output

The database is shared SQLite under shared/var unless DATABASE_URL is set when service.env is
created (e.g. a Postgres URL): then that URL is recorded and used from then on.

A deploy first migrates the database with the new release (`python -m <package> migrate`); if
that fails, nothing is switched and the old release keeps serving. Migrations are additive, so a
rollback needs none. One process serves per environment, so a switch restarts it (a short gap,
fine for a single-machine install; use the kubernetes backend for zero-downtime rolling updates).
A refresh publishes a new index snapshot that the running service picks up by itself.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from .base import ActivationError, DeployError, Endpoint
from .bundle import parse_env_file, read_release_env, unpack_bundle
from .config import (
    PACKAGE,
    READY_TIMEOUT_SECONDS,
    SNAPSHOT_FOLLOW_TIMEOUT_SECONDS,
    Environment,
    local_port,
    local_root,
)

STOP_TIMEOUT_SECONDS = 15.0


class LocalBackend:
    name = "local"

    def __init__(self, environment: Environment, root: Path | None = None) -> None:
        self.environment = environment
        self.root = root or local_root()
        self.home = self.root / environment
        self.bundles = self.root / "bundles"

    # --- paths and state ---------------------------------------------------------------------
    @property
    def _current_link(self) -> Path:
        return self.home / "current"

    @property
    def _state_path(self) -> Path:
        return self.home / "state.json"

    @property
    def _pid_path(self) -> Path:
        return self.home / "service.pid"

    def _state(self) -> dict[str, Any]:
        if self._state_path.exists():
            state: dict[str, Any] = json.loads(self._state_path.read_text(encoding="utf-8"))
            return state
        return {"current": None, "history": []}

    def _save_state(self, state: dict[str, Any]) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        partial = self._state_path.with_suffix(".partial")
        partial.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        partial.replace(self._state_path)

    def current(self) -> str | None:
        current: str | None = self._state()["current"]
        return current

    def record(self, release: str, event: str, detail: str = "") -> None:
        state = self._state()
        state["history"].append(
            {
                "release": release,
                "event": event,
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "detail": detail,
            }
        )
        self._save_state(state)

    def previous_healthy(self) -> str | None:
        """The newest release that passed its smoke test and is not the one serving now.

        A rollback counts as well (it is smoke tested): after rolling back from B to A, the next
        rollback goes to A, never to the B that was rolled away from.
        """
        state = self._state()
        for entry in reversed(state["history"]):
            healthy = entry["event"] in {"deployed", "rolled_back"}
            if healthy and entry["release"] != state["current"]:
                release: str = entry["release"]
                return release
        return None

    # --- settings ----------------------------------------------------------------------------
    def _shared_settings(self) -> dict[str, str]:
        """The environment's settings file, created on first use with a fresh API key.

        DATABASE_URL is the shared SQLite file under shared/var, or the DATABASE_URL of the
        deploying environment when one is set at creation (a Postgres database, say). Once
        written, the file is the one source of truth: every later command uses the same database.
        """
        path = self.home / "shared" / "service.env"
        var = (self.home / "shared" / "var").resolve()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{var / 'ledger.sqlite'}"
            lines = [
                "# Settings of this environment (see README.md, Configuration). Keep it private.",
                f"APP_ENV={self.environment}",
                "HOST=127.0.0.1",
                f"PORT={local_port(self.environment)}",
                f"API_KEYS={secrets.token_hex(24)}",
                f"METRICS_TOKEN={secrets.token_hex(24)}",
                f"INDEX_CACHE_DIR={var / 'index'}",
                f"DATABASE_URL={database_url}",
                "OTEL_TRACES_EXPORTER=none",
            ]
            path.touch(mode=0o600)  # private before the API key is written into it
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            path.chmod(0o600)
        settings = parse_env_file(path)
        if "INDEX_CACHE_DIR" not in settings:  # written by an older template (INDEX_PATH)
            with path.open("a", encoding="utf-8") as file:
                file.write(f"INDEX_CACHE_DIR={var / 'index'}\n")
            settings["INDEX_CACHE_DIR"] = str(var / "index")
        if "METRICS_TOKEN" not in settings:  # written before /metrics needed a token
            token = secrets.token_hex(24)
            with path.open("a", encoding="utf-8") as file:
                file.write(f"METRICS_TOKEN={token}\n")
            settings["METRICS_TOKEN"] = token
        requested = os.environ.get("DATABASE_URL")
        if requested and requested != settings.get("DATABASE_URL"):
            raise DeployError(
                f"DATABASE_URL in the environment differs from the one {self.environment} uses "
                f"({path}): unset it, or edit that file to move the environment to another "
                "database (then `make migrate` against it)"
            )
        return settings

    def _release_env(self, release_dir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
        # RELEASE_ID: /readyz reports it, so the checks know they reached this release.
        release = {"RELEASE_ID": release_dir.name}
        return env | self._shared_settings() | read_release_env(release_dir) | release

    def endpoint(self) -> Endpoint:
        settings = self._shared_settings()
        key = settings["API_KEYS"].split(",")[0]
        return Endpoint(f"http://{settings['HOST']}:{settings['PORT']}", key)

    # --- releases ----------------------------------------------------------------------------
    def _prepare(self, release: str) -> Path:
        """Unpack the bundle and install its locked dependencies (once per release)."""
        release_dir = self.home / "releases" / release
        if (release_dir / ".venv" / "bin" / "python").exists():
            return release_dir
        bundle = self.bundles / f"{release}.tar.gz"
        if not bundle.exists():
            raise DeployError(
                f"no bundle for release {release} in {self.bundles}: "
                "build one with `make release` (python -m deploy build)"
            )
        if not release_dir.exists():
            release_dir.parent.mkdir(parents=True, exist_ok=True)
            unpack_bundle(bundle, release_dir)
        env = self._release_env(release_dir) | {
            "UV_PROJECT_ENVIRONMENT": str(release_dir / ".venv")
        }
        result = subprocess.run(
            ["uv", "sync", "--locked", "--no-dev", "--no-editable"],
            cwd=release_dir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ActivationError(f"installing release {release} failed:\n{result.stderr}")
        return release_dir

    def _switch(self, release_dir: Path) -> None:
        """Point `current` at the release in one atomic rename."""
        staged = self.home / "current.next"
        staged.unlink(missing_ok=True)
        staged.symlink_to(release_dir.relative_to(self.home))
        staged.replace(self._current_link)

    # --- the process -------------------------------------------------------------------------
    def _running_pid(self) -> int | None:
        if not self._pid_path.exists():
            return None
        pid = int(self._pid_path.read_text(encoding="utf-8"))
        return pid if _alive(pid) else None

    def stop(self) -> None:
        """Stop the serving process (SIGTERM, then SIGKILL after a grace period)."""
        pid = self._running_pid()
        if pid is not None:
            os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        self._pid_path.unlink(missing_ok=True)

    def _port_in_use(self) -> bool:
        settings = self._shared_settings()
        with socket.socket() as probe:
            probe.settimeout(1)
            return probe.connect_ex((settings["HOST"], int(settings["PORT"]))) == 0

    def _refuse_a_taken_port(self) -> None:
        """With no process of ours running, anything listening on the port is not ours: refuse
        before anything is migrated, stopped or switched."""
        if self._running_pid() is None and self._port_in_use():
            port = self._shared_settings()["PORT"]
            raise ActivationError(
                f"port {port} of {self.environment} is taken by a process this deployment did "
                f"not start (an orphan of an earlier DEPLOY_ROOT, or another program): stop it, "
                f"or choose another port with PORT= in {self.home / 'shared' / 'service.env'} "
                f"(DEPLOY_PORT_{self.environment.upper()} sets it for a new environment)"
            )

    def _start(self) -> subprocess.Popen[bytes]:
        release_dir = self._current_link.resolve()
        logs = self.home / "logs"
        logs.mkdir(exist_ok=True)
        with (logs / "service.log").open("ab") as log:
            process = subprocess.Popen(
                [str(release_dir / ".venv" / "bin" / "python"), "-m", PACKAGE, "serve"],
                cwd=release_dir,
                env=self._release_env(release_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: survives this command, stops cleanly
            )
        self._pid_path.write_text(str(process.pid), encoding="utf-8")
        return process

    def _wait_ready(self, process: subprocess.Popen[bytes], release: str) -> None:
        """Until /readyz is 200 and names `release`: the process we started answers, not
        another one on the same port."""
        url = self.endpoint().url
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ActivationError(
                    f"the service exited with code {process.returncode} during start-up; "
                    f"see {self.home / 'logs' / 'service.log'}"
                )
            ready = _get_json(f"{url}/readyz")
            if ready is not None:
                answered = ready.get("release")
                if answered == release:
                    return
                raise ActivationError(
                    f"{url} answers as release {answered or 'unknown'}, not {release}: another "
                    "process serves on this port"
                )
            time.sleep(0.2)
        raise ActivationError(f"not ready after {READY_TIMEOUT_SECONDS:.0f} s: {url}/readyz")

    def _package(self, release_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `python -m <package> ARGS` of a release with the environment's settings."""
        return subprocess.run(
            [str(release_dir / ".venv" / "bin" / "python"), "-m", PACKAGE, *args],
            cwd=release_dir,
            env=self._release_env(release_dir),
            capture_output=True,
            text=True,
            check=False,
        )

    def _migrate(self, release: str, release_dir: Path) -> None:
        """Bring the database to the release's schema, before its traffic (and before the stop).

        The old release keeps serving meanwhile: migrations are additive, so it runs on the new
        schema. A failure raises before anything is switched.
        """
        result = self._package(release_dir, "migrate")
        if result.returncode != 0:
            raise ActivationError(
                f"migrating the database for release {release} failed (exit {result.returncode}), "
                "nothing was switched (docs/runbooks/failed-migration.md):\n"
                + (result.stderr or result.stdout).strip()
            )
        print(f"{self.environment}: {result.stdout.strip()}", flush=True)

    def _serve(self, release: str, *, migrate: bool) -> None:
        self._refuse_a_taken_port()
        release_dir = self._prepare(release)
        if migrate:
            self._migrate(release, release_dir)
        self.stop()
        self._switch(release_dir)
        state = self._state()
        state["current"] = release
        self._save_state(state)
        self._wait_ready(self._start(), release)

    # --- Backend -----------------------------------------------------------------------------
    def activate(self, release: str) -> None:
        self._serve(release, migrate=True)

    def rollback(self, to: str | None = None) -> str:
        target = to or self.previous_healthy()
        if target is None:
            raise DeployError(
                f"{self.environment}: no earlier healthy release to roll back to "
                "(`make status` shows the history)"
            )
        # No migration: the database may be newer than the release, which is fine (additive).
        self._serve(target, migrate=False)
        return target

    def status(self) -> str:
        state = self._state()
        running = self._running_pid()
        lines = [
            f"environment: {self.environment} (local backend, {self.home})",
            f"serving:     {state['current'] or 'nothing deployed yet'}"
            + (f" (pid {running}, {self.endpoint().url})" if running else " (not running)"),
        ]
        if running is None and self._port_in_use():
            answered = (_get_json(f"{self.endpoint().url}/readyz") or {}).get("release")
            lines.append(
                f"WARNING:     port {self._shared_settings()['PORT']} is in use by a process this "
                f"deployment does not know (release {answered or 'unknown'}): an orphan of an "
                "earlier DEPLOY_ROOT or `make clean`, or another program. Stop it before deploying."
            )
        lines.append("history (newest first):")
        for entry in reversed(state["history"][-10:]):
            detail = f"  {entry['detail']}" if entry["detail"] else ""
            lines.append(f"  {entry['at']}  {entry['event']:<12} {entry['release']}{detail}")
        return "\n".join(lines)

    def refresh(self) -> None:
        """Publish a new snapshot with the serving release, and wait until the service serves it.

        No restart: the service follows the database's "current" pointer by itself. A corpus that
        fails validation leaves the pointer (and what is served) as it was, and fails here.
        """
        release = self.current()
        if release is None:
            raise DeployError(f"{self.environment}: nothing deployed yet, nothing to refresh")
        result = self._package(self._current_link.resolve(), "ingest")
        if result.returncode != 0:
            raise DeployError(f"ingest failed:\n{(result.stderr or result.stdout).strip()}")
        print(result.stdout.strip(), flush=True)
        published = re.search(r"^snapshot (\S+?):", result.stdout, re.MULTILINE)
        if published and self._running_pid() is not None:
            snapshot = published.group(1)
            seconds = self._wait_serving(snapshot)
            print(f"{self.environment}: serving snapshot {snapshot} after {seconds:.1f} s")

    def _wait_serving(self, snapshot: str) -> float:
        """Seconds until /readyz names `snapshot`; a DeployError after the follow timeout."""
        url = f"{self.endpoint().url}/readyz"
        started = time.monotonic()
        seen = None
        while time.monotonic() - started < SNAPSHOT_FOLLOW_TIMEOUT_SECONDS:
            seen = (_get_json(url) or {}).get("snapshot_id")  # None: not up, a 503, not JSON
            if seen == snapshot:
                return time.monotonic() - started
            time.sleep(0.5)
        raise DeployError(
            f"snapshot {snapshot} is current in the database, but the service still serves "
            f"{seen or 'nothing'} after {SNAPSHOT_FOLLOW_TIMEOUT_SECONDS:.0f} s: "
            f"see {self.home / 'logs' / 'service.log'}"
        )

    def clean(self) -> None:
        """Stop the service and delete this environment's folders (drills and tests)."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def _alive(pid: int) -> bool:
    """True while the process runs (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        # Linux: "pid (command) state ..."; the command may contain spaces and parentheses.
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # gone meanwhile (or no /proc: assume alive)
    return stat.rpartition(")")[2].split()[0] != "Z"


def _get_json(url: str) -> dict[str, Any] | None:
    """The JSON body of a 200 answer, or None (refused, timed out, an error status, not JSON)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            body = json.loads(response.read())
    except (OSError, ValueError):  # URLError and HTTP errors are OSErrors
        return None
    return body if isinstance(body, dict) else None
