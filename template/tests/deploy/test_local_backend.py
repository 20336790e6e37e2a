"""The local deploy backend: release folders, the service env, migrations before the switch,
rollback without migrating, index refresh. The installed service is a fake script."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fake_service import FakeService
from support import SMOKE_KEY, write_tree

from deploy import local, rollout
from deploy.base import ActivationError, DeployError, Endpoint
from deploy.bundle import parse_env_file
from deploy.config import PACKAGE
from deploy.local import LocalBackend

# --- local backend --------------------------------------------------------------------------------


def write_state(home: Path, current: str | None, history: list[tuple[str, str]]) -> None:
    """A hand-written state.json: (release, event) pairs, oldest first, one day apart."""
    home.mkdir(parents=True, exist_ok=True)
    entries = [
        {"release": release, "event": event, "at": f"2025-03-{day:02d}T09:00:00+00:00"}
        | {"detail": f"note {day}" if event == "failed" else ""}
        for day, (release, event) in enumerate(history, start=1)
    ]
    state = {"current": current, "history": entries}
    (home / "state.json").write_text(json.dumps(state), encoding="utf-8")


@pytest.mark.parametrize(
    ("current", "history", "expected"),
    [
        pytest.param("bbb", [("aaa", "deployed"), ("bbb", "deployed")], "aaa", id="previous"),
        pytest.param(
            "ccc",
            [("aaa", "deployed"), ("bbb", "deployed"), ("ccc", "failed")],
            "bbb",
            id="skips-the-failed-current-release",
        ),
        pytest.param(
            "aaa",
            [("aaa", "deployed"), ("bbb", "failed"), ("aaa", "rolled_back"), ("ccc", "failed")],
            None,
            id="failed-releases-are-never-healthy",
        ),
        pytest.param(
            "ccc",
            [("aaa", "deployed"), ("bbb", "deployed"), ("aaa", "rolled_back"), ("ccc", "failed")],
            "aaa",
            id="not-the-release-rolled-away-from",
        ),
        pytest.param("aaa", [("aaa", "deployed")], None, id="only-the-current-release"),
        pytest.param(None, [], None, id="nothing-deployed"),
    ],
)
def test_previous_healthy_release(
    tmp_path: Path, current: str | None, history: list[tuple[str, str]], expected: str | None
) -> None:
    """The rollback target is the newest smoke-tested release that is not serving now."""
    write_state(tmp_path / "production", current, history)

    assert LocalBackend("production", tmp_path).previous_healthy() == expected


def test_local_rollback_without_an_earlier_healthy_release_says_so(tmp_path: Path) -> None:
    """Rolling back with nowhere to go fails clearly and leaves the state as it was."""
    write_state(tmp_path / "production", "aaa", [("aaa", "deployed"), ("bbb", "failed")])
    backend = LocalBackend("production", tmp_path)

    with pytest.raises(DeployError, match="production: no earlier healthy release"):
        backend.rollback()
    assert backend.current() == "aaa"


def test_service_env_is_created_once_private_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The environment's settings get a fresh private key and absolute shared paths, once."""
    monkeypatch.setenv("DEPLOY_PORT_PRODUCTION", "8123")
    root = Path("relative-root")  # the working directory is tmp_path
    shared = tmp_path.resolve() / "relative-root" / "production" / "shared"

    endpoint = LocalBackend("production", root).endpoint()

    path = shared / "service.env"
    settings = parse_env_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(settings["API_KEYS"]) >= 16
    assert endpoint == Endpoint("http://127.0.0.1:8123", settings["API_KEYS"])
    assert settings["APP_ENV"] == "production"
    assert settings["INDEX_CACHE_DIR"] == str(shared / "var" / "index")
    assert settings["DATABASE_URL"] == f"sqlite:///{shared / 'var' / 'ledger.sqlite'}"
    assert Path(settings["INDEX_CACHE_DIR"]).is_absolute()
    assert "INDEX_PATH" not in settings

    text = path.read_text(encoding="utf-8")
    monkeypatch.setenv("DEPLOY_PORT_PRODUCTION", "9999")
    assert LocalBackend("production", root).endpoint() == endpoint
    assert path.read_text(encoding="utf-8") == text

    monkeypatch.setenv("DEPLOY_ROOT", str(root))  # the default root
    assert LocalBackend("staging").endpoint().api_key != endpoint.api_key
    assert (shared.parent.parent / "staging" / "shared" / "service.env").is_file()


def test_local_status_lists_the_history_newest_first(tmp_path: Path) -> None:
    """`make status` shows what serves and the recorded events, newest first."""
    write_state(tmp_path / "staging", "bbb", [("aaa", "deployed"), ("ccc", "failed")])
    backend = LocalBackend("staging", tmp_path)
    backend.record("bbb", "rolled_back", "manual, serving again after 1.5 s")

    lines = backend.status().splitlines()

    assert lines[1] == "serving:     bbb (not running)"
    events = [line.split()[1:3] for line in lines[3:]]
    assert events == [["rolled_back", "bbb"], ["failed", "ccc"], ["deployed", "aaa"]]
    assert lines[3].endswith("manual, serving again after 1.5 s")
    assert lines[4].endswith("note 2")


POSTGRES_URL = "postgresql+psycopg://svc:pw@db.internal:5432/svc"  # pragma: allowlist secret


def test_service_env_takes_database_url_from_the_deploying_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DATABASE_URL set when the environment is created (Postgres, say) is recorded and kept."""
    monkeypatch.setenv("DATABASE_URL", POSTGRES_URL)
    backend = LocalBackend("staging", tmp_path)
    backend.endpoint()

    settings = parse_env_file(tmp_path / "staging" / "shared" / "service.env")
    assert settings["DATABASE_URL"] == POSTGRES_URL

    monkeypatch.delenv("DATABASE_URL")  # later commands use the recorded database
    assert LocalBackend("staging", tmp_path)._release_env(tmp_path)["DATABASE_URL"] == POSTGRES_URL


def test_a_different_database_url_later_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One environment, one database: a stray DATABASE_URL never splits it in two."""
    backend = LocalBackend("production", tmp_path)
    backend.endpoint()  # created with the shared SQLite database
    monkeypatch.setenv("DATABASE_URL", POSTGRES_URL)

    with pytest.raises(DeployError, match="DATABASE_URL in the environment differs"):
        backend.endpoint()


def test_an_older_service_env_gains_the_index_cache(tmp_path: Path) -> None:
    """A service.env written before snapshots were shared (INDEX_PATH) gets INDEX_CACHE_DIR."""
    shared = tmp_path / "production" / "shared"
    write_tree(
        shared,
        {
            "service.env": "APP_ENV=production\nHOST=127.0.0.1\nPORT=8100\n"
            f"API_KEYS={SMOKE_KEY}\nINDEX_PATH=/old/index.sqlite\n"
            f"DATABASE_URL=sqlite:///{shared / 'var' / 'ledger.sqlite'}\n"
        },
    )

    LocalBackend("production", tmp_path).endpoint()

    settings = parse_env_file(shared / "service.env")
    assert settings["INDEX_CACHE_DIR"] == str((shared / "var" / "index").resolve())


# A release's python: logs how it was called (and with which database) and answers like the
# service's CLI: `migrate` fails when told to, `ingest` publishes snapshot abc123.
FAKE_PYTHON = r"""
import json, os, pathlib, sys

release = pathlib.Path(__file__).resolve().parent.parent.parent
home = release.parent.parent
with open(home / "calls.jsonl", "a") as log:
    call = {"release": release.name, "argv": sys.argv[1:], "cwd": os.getcwd()}
    log.write(json.dumps(call | {"database": os.environ.get("DATABASE_URL")}) + "\n")
command = sys.argv[3]
if (home / f"{command}-fails").exists():
    sys.stderr.write(f"{command}: alembic.util.exc.CommandError: boom\n")
    sys.exit(1)
if command == "migrate":
    print("database at revision 0002, code expects 0002: the schema is up to date")
elif command == "ingest":
    print("snapshot abc123: indexed 3 documents, excluded 0 by classification policy, "
          "quarantined 0; now current (was 0ld000)\nreport: var/ingest-report.json")
"""


@dataclass
class LocalInstall:
    """A local environment with prepared releases whose python is FAKE_PYTHON."""

    backend: LocalBackend
    events: list[str] = field(default_factory=list)

    @property
    def home(self) -> Path:
        return self.backend.home

    def release(self, name: str) -> Path:
        python = self.home / "releases" / name / ".venv" / "bin" / "python"
        python.parent.mkdir(parents=True, exist_ok=True)
        python.write_text(f"#!{sys.executable} -IS\n{FAKE_PYTHON}", encoding="utf-8")
        python.chmod(0o755)
        return python.parent.parent.parent

    def serving(self, name: str) -> None:
        self.release(name)
        self.backend._switch(self.home / "releases" / name)
        write_state(self.home, name, [(name, "deployed")])

    def fail(self, command: str) -> None:
        (self.home / f"{command}-fails").touch()

    def calls(self) -> list[dict[str, Any]]:
        log = self.home / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalInstall:
    """No real process is started or stopped: stop/start/ready are recorded instead."""
    local = LocalInstall(LocalBackend("production", tmp_path))
    monkeypatch.setattr(LocalBackend, "stop", lambda self: local.events.append("stop"))
    monkeypatch.setattr(LocalBackend, "_start", lambda self: local.events.append("start"))
    monkeypatch.setattr(LocalBackend, "_wait_ready", lambda self, process, release: None)
    # Whatever else runs on this machine: no process holds the environment's port here.
    monkeypatch.setattr(LocalBackend, "_port_in_use", lambda self: False)
    return local


def test_local_deploy_migrates_before_the_switch(install: LocalInstall) -> None:
    """The new release migrates the environment's database while the old one still serves."""
    install.serving("aaa")
    install.release("bbb")

    install.backend.activate("bbb")

    (migrate,) = install.calls()
    assert migrate["release"] == "bbb"
    assert migrate["argv"] == ["-m", PACKAGE, "migrate"]
    assert migrate["database"] == install.backend._shared_settings()["DATABASE_URL"]
    assert install.events == ["stop", "start"]  # migrated before the old release stopped
    assert install.backend.current() == "bbb"
    assert (install.home / "current").resolve().name == "bbb"


def test_a_failed_migration_switches_nothing(install: LocalInstall) -> None:
    """The deploy fails with the migration's error; the old release was never stopped."""
    install.serving("aaa")
    install.release("bbb")
    install.fail("migrate")

    with pytest.raises(DeployError, match="failed before the switch; aaa still serves") as caught:
        rollout.deploy(install.backend, "bbb")

    assert "migrating the database for release bbb failed" in str(caught.value)
    assert "CommandError: boom" in str(caught.value)
    assert install.events == []
    assert install.backend.current() == "aaa"
    assert (install.home / "current").resolve().name == "aaa"
    assert [entry["event"] for entry in install.backend._state()["history"]][-1] == "failed"


def test_local_rollback_does_not_migrate(install: LocalInstall) -> None:
    """Rolling back runs the older release on the newer (additive) schema: no migration."""
    install.release("aaa")
    install.serving("bbb")
    write_state(install.home, "bbb", [("aaa", "deployed"), ("bbb", "deployed")])
    install.fail("migrate")

    assert install.backend.rollback() == "aaa"

    assert install.calls() == []
    assert install.events == ["stop", "start"]
    assert install.backend.current() == "aaa"


def test_local_refresh_publishes_without_a_restart(
    install: LocalInstall, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make refresh` runs the serving release's ingest; nothing is stopped or restarted."""
    install.serving("aaa")

    install.backend.refresh()

    (ingest,) = install.calls()
    assert (ingest["release"], ingest["argv"]) == ("aaa", ["-m", PACKAGE, "ingest"])
    assert install.events == []
    assert "snapshot abc123: indexed 3 documents" in capsys.readouterr().out


def test_local_refresh_waits_until_the_service_serves_the_snapshot(
    install: LocalInstall,
    service: FakeService,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With the service running, the refresh returns once /readyz names the new snapshot."""
    monkeypatch.setenv("DEPLOY_PORT_PRODUCTION", service.url.rstrip("/").rpartition(":")[2])
    monkeypatch.setattr(LocalBackend, "_running_pid", lambda self: 4242)
    install.serving("aaa")
    service.ready = (200, {"status": "ready", "snapshot_id": "abc123"})

    install.backend.refresh()

    assert "production: serving snapshot abc123 after" in capsys.readouterr().out
    assert install.events == []


def test_local_refresh_fails_when_the_service_never_follows(
    install: LocalInstall, service: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_PORT_PRODUCTION", service.url.rstrip("/").rpartition(":")[2])
    monkeypatch.setattr(LocalBackend, "_running_pid", lambda self: 4242)
    monkeypatch.setattr(local, "SNAPSHOT_FOLLOW_TIMEOUT_SECONDS", 0.3)
    install.serving("aaa")
    service.ready = (200, {"status": "ready", "snapshot_id": "0ld000"})

    with pytest.raises(DeployError, match="still serves 0ld000 after 0 s"):
        install.backend.refresh()


def test_a_rejected_refresh_fails_with_the_reason(install: LocalInstall) -> None:
    install.serving("aaa")
    install.fail("ingest")

    with pytest.raises(DeployError, match="ingest failed:\ningest: alembic"):
        install.backend.refresh()
    assert install.events == []


# --- the backend knows its own process ------------------------------------------------------------


def port_of(service: FakeService) -> int:
    return int(service.url.rstrip("/").rsplit(":", 1)[1])


def test_a_port_held_by_another_process_is_refused_before_anything_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, service: FakeService
) -> None:
    """Another program (or an orphan of a deleted DEPLOY_ROOT) on the port: the deploy says so,
    names the setting, and migrates, stops and switches nothing; `status` warns."""
    port = port_of(service)
    monkeypatch.setenv("DEPLOY_PORT_PRODUCTION", str(port))
    local = LocalInstall(LocalBackend("production", tmp_path))
    local.serving("aaa")
    local.release("bbb")

    with pytest.raises(ActivationError) as refused:
        local.backend.activate("bbb")

    message = str(refused.value)
    assert f"port {port} of production is taken by a process this deployment did not start" in (
        message
    )
    assert "service.env" in message
    assert "DEPLOY_PORT_PRODUCTION" in message
    assert local.calls() == []  # not even migrated
    assert local.backend.current() == "aaa"
    assert f"port {port} is in use by a process this deployment does not know" in (
        local.backend.status()
    )


def test_readiness_needs_the_release_it_started_to_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, service: FakeService
) -> None:
    """A ready service on the port is not enough: /readyz must name the release started."""
    monkeypatch.setenv("DEPLOY_PORT_PRODUCTION", str(port_of(service)))
    backend = LocalBackend("production", tmp_path)
    started = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        service.ready = (200, {"status": "ready", "release": "0ther0000000"})
        with pytest.raises(ActivationError, match="answers as release 0ther0000000, not bbb"):
            backend._wait_ready(started, "bbb")
        service.ready = (200, {"status": "ready"})
        with pytest.raises(ActivationError, match="answers as release unknown, not bbb"):
            backend._wait_ready(started, "bbb")

        service.ready = (200, {"status": "ready", "release": "bbb"})
        backend._wait_ready(started, "bbb")
    finally:
        started.kill()
        started.wait()


def test_the_started_service_is_told_its_release(install: LocalInstall) -> None:
    release = install.release("bbb")

    assert install.backend._release_env(release)["RELEASE_ID"] == "bbb"
