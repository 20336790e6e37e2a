"""Release tooling (deploy/): content-addressed bundles, the drilled runbook, deploy with automatic
rollback, the local and Kubernetes backends, the smoke test and `python -m deploy`.

Offline and fast: no service is started, kubectl is a fake script that logs how it was called,
and the smoke test talks to a tiny HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import sys
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy import drill, kubernetes, local, rollout
from deploy.__main__ import main
from deploy.base import ActivationError, DeployError, Endpoint, SmokeTestError
from deploy.bundle import build_bundle, parse_env_file, read_release_env, unpack_bundle
from deploy.config import DEFAULT_SMOKE_QUESTION, PACKAGE, PROJECT
from deploy.kubernetes import KubernetesBackend
from deploy.local import LocalBackend
from deploy.smoke import smoke_test

RELEASE_ID = re.compile(r"^[0-9a-f]{12}$")
# A fake key for tests only.
SMOKE_KEY = "smoke-test-key-0123456789"  # pragma: allowlist secret


@pytest.fixture(autouse=True)
def _no_deploy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The release tooling reads these from the environment; none leaks in from the shell."""
    for name in (
        "DEPLOY_ROOT",
        "DEPLOY_BACKEND",
        "DEPLOY_PORT_STAGING",
        "DEPLOY_PORT_PRODUCTION",
        "KUBECTL",
        "SERVICE_URL",
        "SMOKE_API_KEY",
        "SMOKE_QUESTION",
        "DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


# --- bundles --------------------------------------------------------------------------------------

BUNDLED = {
    "pyproject.toml": "[project]\nname = 'fake'\n",
    "uv.lock": "version = 1\n",
    "README.md": "# Fake\n",
    ".python-version": "3.12\n",
    "src/fake/__init__.py": "ANSWER = 42\n",
    "data/corpus/leave.md": "# Leave\nCarry over up to 5 days.\n",
}
LEFT_OUT = {
    "src/fake/__pycache__/__init__.cpython-312.pyc": "bytecode",
    ".venv/bin/python": "#!/bin/sh\n",
    "var/deploy/production/state.json": "{}\n",
    "tests/test_fake.py": "def test_fake() -> None: ...\n",
    "docs/index.md": "# Docs\n",
    "deploy/__init__.py": "",
    ".env": "LOG_LEVEL=debug\n",
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def bundle_members(store: Path, release: str) -> dict[str, str]:
    members: dict[str, str] = {}
    with tarfile.open(store / f"{release}.tar.gz") as archive:
        for member in archive.getmembers():
            file = archive.extractfile(member)
            assert file is not None, member.name
            members[member.name] = file.read().decode()
    return members


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A small fake checkout: the allow-listed files plus everything a release must leave out."""
    return write_tree(tmp_path / "checkout", BUNDLED | LEFT_OUT)


def test_same_tree_gives_the_same_release_id(checkout: Path, tmp_path: Path) -> None:
    """The id depends on paths and bytes only: not on where the tree is, nor on mtimes."""
    release = build_bundle(checkout, tmp_path / "store")
    copy = shutil.copytree(checkout, tmp_path / "elsewhere")
    os.utime(copy / "src" / "fake" / "__init__.py", (0, 0))

    assert RELEASE_ID.match(release)
    assert build_bundle(copy, tmp_path / "other-store") == release
    assert build_bundle(checkout, tmp_path / "store") == release


@pytest.mark.parametrize("name", ["pyproject.toml", "uv.lock", "src/fake/__init__.py"])
def test_a_changed_file_gives_a_new_release_id(checkout: Path, tmp_path: Path, name: str) -> None:
    """Any change to a bundled file is a different release."""
    before = build_bundle(checkout, tmp_path / "store")
    (checkout / name).write_text("# changed\n", encoding="utf-8")

    assert build_bundle(checkout, tmp_path / "store") != before


def test_a_moved_file_gives_a_new_release_id(checkout: Path, tmp_path: Path) -> None:
    """Paths are part of the id: the same bytes under another name are another release."""
    before = build_bundle(checkout, tmp_path / "store")
    (checkout / "data" / "corpus" / "leave.md").rename(checkout / "data" / "corpus" / "pto.md")

    assert build_bundle(checkout, tmp_path / "store") != before


def test_a_baked_in_setting_gives_a_new_release_id(checkout: Path, tmp_path: Path) -> None:
    """Settings baked into a release are part of its id (in any order)."""
    store = tmp_path / "store"
    plain = build_bundle(checkout, store)
    warning = build_bundle(checkout, store, {"LOG_LEVEL": "warning", "MODEL_MAX_RETRIES": "0"})
    error = build_bundle(checkout, store, {"LOG_LEVEL": "error", "MODEL_MAX_RETRIES": "0"})

    reordered = build_bundle(checkout, store, {"MODEL_MAX_RETRIES": "0", "LOG_LEVEL": "warning"})

    assert len({plain, warning, error}) == 3
    assert reordered == warning


def test_files_outside_the_allow_list_do_not_change_the_id(checkout: Path, tmp_path: Path) -> None:
    """Tests, .venv, var/, caches and secrets never reach a release, so they cannot change it."""
    before = build_bundle(checkout, tmp_path / "store")
    write_tree(checkout, dict.fromkeys(LEFT_OUT, "changed\n"))

    assert build_bundle(checkout, tmp_path / "store") == before


def test_bundle_holds_exactly_the_allow_listed_files(checkout: Path, tmp_path: Path) -> None:
    """The bundle mirrors .dockerignore: no .venv, var/, tests, docs, .env or __pycache__."""
    store = tmp_path / "store"
    plain = build_bundle(checkout, store)
    baked = build_bundle(checkout, store, {"LOG_LEVEL": "warning"})

    assert bundle_members(store, plain) == BUNDLED
    assert bundle_members(store, baked) == BUNDLED | {"release.env": "LOG_LEVEL=warning\n"}


def test_unpacked_bundle_is_the_checkout(checkout: Path, tmp_path: Path) -> None:
    """Unpacking gives back the bundled files and settings; a stale partial folder is replaced."""
    store = tmp_path / "store"
    release = build_bundle(checkout, store, {"LOG_LEVEL": "warning"})
    destination = tmp_path / "releases" / release
    write_tree(tmp_path / "releases" / f"{release}.partial", {"left-over.txt": "interrupted\n"})

    unpack_bundle(store / f"{release}.tar.gz", destination)

    unpacked = {
        path.relative_to(destination).as_posix(): path.read_text(encoding="utf-8")
        for path in destination.rglob("*")
        if path.is_file()
    }
    assert unpacked == BUNDLED | {"release.env": "LOG_LEVEL=warning\n"}
    assert read_release_env(destination) == {"LOG_LEVEL": "warning"}
    assert sorted(p.name for p in destination.parent.iterdir()) == [release]


def test_a_folder_without_pyproject_is_not_bundled(checkout: Path, tmp_path: Path) -> None:
    """Building from anything but a checkout of the service fails and writes nothing."""
    (checkout / "pyproject.toml").unlink()

    with pytest.raises(FileNotFoundError, match=r"pyproject\.toml"):
        build_bundle(checkout, tmp_path / "store")
    assert not (tmp_path / "store").exists()


# --- the drilled runbook --------------------------------------------------------------------------


def test_runbook_drills_the_local_rollback() -> None:
    """The real runbook marks status, rollback and smoke commands, in that order, for the drill."""
    blocks = drill.runbook_commands()

    def first(command: str) -> int:
        return next(i for i, block in enumerate(blocks) if command in block)

    assert len(blocks) >= 3
    assert first("make status") < first("make rollback ENV=production BACKEND=local")
    assert first("make rollback ENV=production BACKEND=local") < first("make smoke")
    # The Kubernetes commands cannot run in a local drill, so they must stay unmarked.
    assert not any("BACKEND=kubernetes" in block for block in blocks)


def test_marked_blocks_come_back_in_order(tmp_path: Path) -> None:
    """Only blocks right after a marker count, blank lines in between allowed."""
    runbook = tmp_path / "rollback.md"
    runbook.write_text(
        "# Runbook\n\n<!-- drill -->\n```bash\nmake status ENV=staging\n```\n\n"
        "```bash\nmake deploy ENV=staging\n```\n\n<!-- drill -->\n\n```\nmake smoke ENV=staging\n"
        "make status ENV=staging\n```\n",
        encoding="utf-8",
    )

    assert drill.runbook_commands(runbook) == [
        "make status ENV=staging\n",
        "make smoke ENV=staging\nmake status ENV=staging\n",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("# Runbook\n\n```bash\nmake status\n```\n", "no code block", id="no-marker"),
        pytest.param(
            "<!-- drill -->\nRun this:\n\n```bash\nmake status\n```\n",
            "must be followed by a fenced code block",
            id="marker-without-block",
        ),
    ],
)
def test_a_runbook_the_drill_cannot_run_fails_it(tmp_path: Path, text: str, message: str) -> None:
    """A runbook without drillable blocks fails the drill instead of passing vacuously."""
    runbook = tmp_path / "rollback.md"
    runbook.write_text(text, encoding="utf-8")

    with pytest.raises(drill.DrillFailedError, match=message):
        drill.runbook_commands(runbook)


# --- deploy with automatic rollback ---------------------------------------------------------------


class FakeBackend:
    """In memory: what serves, what served before, and the calls that matter."""

    name = "fake"

    def __init__(self, *served: str, switches: bool = True) -> None:
        self.served = list(served)
        self.serving: str | None = served[-1] if served else None
        self.switches = switches  # False: activation fails before the switch
        self.events: list[tuple[str, str]] = []
        self.rollbacks: list[str | None] = []

    def current(self) -> str | None:
        return self.serving

    def activate(self, release: str) -> None:
        if not self.switches:
            raise ActivationError(f"image of {release} could not be pulled")
        self.serving = release
        self.served.append(release)

    def rollback(self, to: str | None = None) -> str:
        self.rollbacks.append(to)
        target = to or next(r for r in reversed(self.served) if r != self.serving)
        self.serving = target
        self.served.append(target)
        return target

    def endpoint(self) -> Endpoint:
        return Endpoint(f"http://fake.invalid/{self.serving}", SMOKE_KEY)

    def record(self, release: str, event: str, detail: str = "") -> None:
        self.events.append((release, event))

    def status(self) -> str:
        return f"serving {self.serving}"

    def refresh(self) -> None:
        """Nothing to refresh in memory."""


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Releases whose smoke test fails; every other release passes it in 0.25 s."""
    failing: set[str] = set()

    def fake_smoke_test(endpoint: Endpoint) -> float:
        release = endpoint.url.rpartition("/")[2]
        if release in failing:
            raise SmokeTestError(f"/v1/ask answered 503 (provider_unavailable) on {release}\nmore")
        return 0.25

    monkeypatch.setattr(rollout, "smoke_test", fake_smoke_test)
    return failing


def test_a_healthy_release_is_deployed(broken: set[str]) -> None:
    """A release that passes its smoke test serves and is recorded as deployed."""
    backend = FakeBackend("aaa")

    result = rollout.deploy(backend, "bbb")

    assert result == rollout.Deployed("bbb", "aaa", 0.25)
    assert backend.serving == "bbb"
    assert backend.events == [("bbb", "deployed")]
    assert backend.rollbacks == []


def test_a_release_failing_its_smoke_test_is_rolled_back(broken: set[str]) -> None:
    """After the switch, a failed smoke test restores the previous release and still fails."""
    backend = FakeBackend("aaa")
    broken.add("bbb")

    with pytest.raises(rollout.RolledBackError) as caught:
        rollout.deploy(backend, "bbb")

    assert (caught.value.failed, caught.value.restored) == ("bbb", "aaa")
    assert caught.value.reason == "/v1/ask answered 503 (provider_unavailable) on bbb"
    assert 0 <= caught.value.seconds < 5
    assert backend.serving == "aaa"
    assert backend.rollbacks == [None]
    assert backend.events == [("bbb", "failed"), ("aaa", "rolled_back")]


@pytest.mark.parametrize(
    "served", [pytest.param((), id="first-release"), pytest.param(("bbb",), id="same-release")]
)
def test_nothing_to_roll_back_to_is_a_plain_failure(
    broken: set[str], served: tuple[str, ...]
) -> None:
    """Without an earlier release the deploy fails as is: no rollback is attempted."""
    backend = FakeBackend(*served)
    broken.add("bbb")

    with pytest.raises(DeployError, match="no earlier release") as caught:
        rollout.deploy(backend, "bbb")

    assert not isinstance(caught.value, rollout.RolledBackError)
    assert backend.rollbacks == []
    assert backend.events == [("bbb", "failed")]


def test_a_release_failing_before_the_switch_is_not_rolled_back(broken: set[str]) -> None:
    """When activation fails and the previous release still serves, nothing is switched back."""
    backend = FakeBackend("aaa", switches=False)

    with pytest.raises(DeployError, match="before the switch; aaa still serves") as caught:
        rollout.deploy(backend, "bbb")

    assert not isinstance(caught.value, rollout.RolledBackError)
    assert backend.serving == "aaa"
    assert backend.rollbacks == []
    assert backend.events == [("bbb", "failed")]


def test_a_restored_release_failing_its_smoke_test_propagates(broken: set[str]) -> None:
    """A rollback is only reported when the restored release really serves again."""
    backend = FakeBackend("aaa")
    broken.update({"aaa", "bbb"})

    with pytest.raises(SmokeTestError, match="on aaa"):
        rollout.deploy(backend, "bbb")

    assert backend.rollbacks == [None]
    assert backend.events == [("bbb", "failed")]


def test_manual_rollback_is_smoke_tested_and_recorded(broken: set[str]) -> None:
    """`make rollback` switches to the given release, smoke tests it and records it."""
    backend = FakeBackend("aaa", "bbb", "ccc")

    restored, seconds = rollout.rollback(backend, "aaa")

    assert restored == "aaa"
    assert 0 <= seconds < 5
    assert backend.rollbacks == ["aaa"]
    assert backend.events == [("aaa", "rolled_back")]

    broken.add("bbb")
    with pytest.raises(SmokeTestError, match="on bbb"):
        rollout.rollback(backend, "bbb")
    assert backend.events == [("aaa", "rolled_back")]


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
    monkeypatch.setattr(LocalBackend, "_wait_ready", lambda self, process: None)
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


# --- Kubernetes backend ---------------------------------------------------------------------------

PLACEHOLDER = f"ghcr.io/acme/{PROJECT}:set-by-deploy-pipeline"
DIGEST = f"ghcr.io/acme/{PROJECT}@sha256:{'ab' * 32}"
NAMESPACE = f"{PROJECT}-production"
DEPLOYMENT = f"deployment/{PROJECT}"

# The fake kubectl: logs every call (stdin of `apply` included), fails when told to, prints the
# overlay for `kustomize`, the serving image for `get`, the next state of a Job for `get job/...`
# and the Job's output for `logs`. It reads its behaviour from a file.
FAKE_KUBECTL = r"""
import json, os, sys

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
call = {"argv": args, "stdin": sys.stdin.read() if "apply" in args else None}
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps(call) + "\n")
with open(os.path.join(here, "behaviour.json")) as file:
    behaviour = json.load(file)
if behaviour["fail_on"] and behaviour["fail_on"] in " ".join(args):
    sys.stderr.write(behaviour["stderr"])
    sys.exit(1)
if args[0] == "kustomize":
    sys.stdout.write(behaviour["manifest"])
elif "get" in args and any(arg.startswith("job/") for arg in args):
    with open(os.path.join(here, "calls.jsonl")) as log:
        polls = sum('"get", "job/' in line for line in log)
    states = behaviour["job_states"]
    sys.stdout.write(states[min(polls, len(states)) - 1])
elif "get" in args:
    sys.stdout.write(behaviour["image"])
elif "logs" in args:
    sys.stdout.write(behaviour["logs"])
"""


def overlay(*images: str, init: str | None = None) -> str:
    """A rendered overlay: a Service, and a Deployment and a CronJob running `images` (the
    Deployment's pods with an init container running `init`, when given)."""
    containers = [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
    pod: dict[str, Any] = {"template": {"spec": {"containers": containers}}}
    if init is not None:
        deployment_pod = {
            "template": {"spec": {"initContainers": [{"name": "migrate", "image": init}]}}
        }
        deployment_pod["template"]["spec"]["containers"] = containers
    else:
        deployment_pod = pod
    return yaml.safe_dump_all(
        [
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": PROJECT}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": PROJECT}}
            | {"spec": deployment_pod},
            {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": f"{PROJECT}-r"}}
            | {"spec": {"jobTemplate": {"spec": pod}}},
        ]
    )


def images_of(manifests: str) -> list[str]:
    images: list[str] = []
    for doc in yaml.safe_load_all(manifests):
        spec = doc.get("spec", {})
        pod = spec.get("jobTemplate", {}).get("spec", spec).get("template", {}).get("spec", {})
        for kind in ("initContainers", "containers"):
            images += [container["image"] for container in pod.get(kind, [])]
    return images


PLACEHOLDER_OVERLAY = overlay(PLACEHOLDER)


@dataclass
class FakeKubectl:
    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / "kubectl"

    def behave(
        self,
        *,
        manifest: str = PLACEHOLDER_OVERLAY,
        image: str = PLACEHOLDER,
        fail_on: str = "",
        stderr: str = "",
        job_states: tuple[str, ...] = ("Complete ",),
        logs: str = "",
    ) -> None:
        behaviour = {
            "manifest": manifest,
            "image": image,
            "fail_on": fail_on,
            "stderr": stderr,
            "job_states": job_states,
            "logs": logs,
        }
        (self.folder / "behaviour.json").write_text(json.dumps(behaviour), encoding="utf-8")

    def calls(self) -> list[dict[str, Any]]:
        log = self.folder / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]

    def backend(self) -> KubernetesBackend:
        return KubernetesBackend("production", kubectl=str(self.path))


@pytest.fixture
def kubectl(tmp_path: Path) -> FakeKubectl:
    fake = FakeKubectl(tmp_path / "bin")
    fake.folder.mkdir()
    fake.path.write_text(f"#!{sys.executable} -IS\n{FAKE_KUBECTL}", encoding="utf-8")
    fake.path.chmod(0o755)
    fake.behave()
    return fake


def test_activate_applies_the_overlay_pinned_to_the_digest(kubectl: FakeKubectl) -> None:
    """Every container of the service runs the digest; the rollout is annotated and awaited."""
    kubectl.backend().activate(DIGEST)

    kustomize, apply, annotate, status = kubectl.calls()
    assert kustomize["argv"][0] == "kustomize"
    assert kustomize["argv"][1].endswith(os.path.join("deploy", "k8s", "overlays", "production"))
    assert apply["argv"] == ["apply", "-n", NAMESPACE, "-f", "-"]
    assert images_of(apply["stdin"]) == [DIGEST, DIGEST]
    assert [doc["kind"] for doc in yaml.safe_load_all(apply["stdin"])] == [
        "Service",
        "Deployment",
        "CronJob",
    ]
    assert annotate["argv"] == [
        "-n",
        NAMESPACE,
        "annotate",
        "--overwrite",
        DEPLOYMENT,
        f"kubernetes.io/change-cause=deploy {DIGEST}",
    ]
    assert status["argv"][:5] == ["-n", NAMESPACE, "rollout", "status", DEPLOYMENT]


def test_activate_pins_only_the_service_image(kubectl: FakeKubectl) -> None:
    """A registry with a port still matches the service image; other images stay as they are."""
    sidecar = "registry.internal:5000/team/otel-collector:0.120"
    kubectl.behave(manifest=overlay(f"registry.internal:5000/team/{PROJECT}:main", sidecar))

    kubectl.backend().activate(DIGEST)

    apply = kubectl.calls()[1]
    assert images_of(apply["stdin"]) == [DIGEST, sidecar, DIGEST, sidecar]


def test_activate_pins_the_migrate_init_container(kubectl: FakeKubectl) -> None:
    """The init container migrates with the release it starts, never with a placeholder."""
    kubectl.behave(manifest=overlay(PLACEHOLDER, init=PLACEHOLDER))

    kubectl.backend().activate(DIGEST)

    apply = kubectl.calls()[1]
    assert images_of(apply["stdin"]) == [DIGEST, DIGEST, DIGEST]
    (deployment,) = [d for d in yaml.safe_load_all(apply["stdin"]) if d["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["initContainers"][0]["image"] == DIGEST


def test_activate_refuses_an_overlay_without_the_service_image(kubectl: FakeKubectl) -> None:
    """Nothing is applied when no container would run the release."""
    kubectl.behave(manifest=overlay("nginx:1.27"))

    with pytest.raises(DeployError, match=f"runs the image {PROJECT}"):
        kubectl.backend().activate(DIGEST)
    assert [call["argv"][0] for call in kubectl.calls()] == ["kustomize"]


@pytest.mark.parametrize("release", [PLACEHOLDER, f"ghcr.io/acme/{PROJECT}:latest", "abc123"])
def test_activate_rejects_a_release_without_a_digest(kubectl: FakeKubectl, release: str) -> None:
    """Only an image pinned by digest is deployable: kubectl is never called otherwise."""
    with pytest.raises(DeployError, match="pinned by digest"):
        kubectl.backend().activate(release)
    assert kubectl.calls() == []


@pytest.mark.parametrize(
    ("to", "undo"),
    [
        pytest.param(None, ["-n", NAMESPACE, "rollout", "undo", DEPLOYMENT], id="previous"),
        pytest.param(
            "3",
            ["-n", NAMESPACE, "rollout", "undo", DEPLOYMENT, "--to-revision=3"],
            id="revision",
        ),
    ],
)
def test_rollback_undoes_the_rollout(kubectl: FakeKubectl, to: str | None, undo: list[str]) -> None:
    """A rollback is `rollout undo`, awaited, and reports the image serving afterwards."""
    kubectl.behave(image=DIGEST)

    assert kubectl.backend().rollback(to) == DIGEST

    argvs = [call["argv"] for call in kubectl.calls()]
    assert argvs[0] == undo
    assert argvs[1][:5] == ["-n", NAMESPACE, "rollout", "status", DEPLOYMENT]


def test_rollback_rejects_a_revision_that_is_not_a_number(kubectl: FakeKubectl) -> None:
    with pytest.raises(DeployError, match="revision number"):
        kubectl.backend().rollback("abc")
    assert kubectl.calls() == []


SUMMARY = "snapshot abc123: indexed 22 documents, ...; now current (was 0ld000)\n"


def test_kubernetes_refresh_runs_the_cronjob_now(
    kubectl: FakeKubectl, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Job from the CronJob, polled until complete; its output (the summary) is shown."""
    monkeypatch.setattr(kubernetes, "REFRESH_POLL_SECONDS", 0.0)
    kubectl.behave(job_states=("", "", "Complete "), logs=SUMMARY)

    kubectl.backend().refresh()

    argvs = [call["argv"] for call in kubectl.calls()]
    create, *polls, logs = argvs
    assert create[:5] == ["-n", NAMESPACE, "create", "job", create[4]]
    assert create[5] == f"--from=cronjob/{PROJECT}-refresh"
    job = create[4]
    assert len(job) <= 63
    assert len(polls) == 3
    assert all(poll[:4] == ["-n", NAMESPACE, "get", f"job/{job}"] for poll in polls)
    assert logs[:4] == ["-n", NAMESPACE, "logs", f"job/{job}"]
    assert "snapshot abc123: indexed 22 documents" in capsys.readouterr().out


def test_a_failed_kubernetes_refresh_says_the_snapshot_stays(
    kubectl: FakeKubectl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rejected corpus fails the Job: the error keeps its reason, nothing else changes."""
    monkeypatch.setattr(kubernetes, "REFRESH_POLL_SECONDS", 0.0)
    reason = "ingest failed, current snapshot unchanged: 24 of 24 documents quarantined\n"
    kubectl.behave(job_states=("", "Failed "), logs=reason)

    with pytest.raises(DeployError, match="keep serving the previous snapshot") as caught:
        kubectl.backend().refresh()
    assert "24 of 24 documents quarantined" in str(caught.value)


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({}, id="neither"),
        pytest.param({"SERVICE_URL": "https://staging.example.com"}, id="url-only"),
        pytest.param({"SMOKE_API_KEY": SMOKE_KEY}, id="key-only"),
    ],
)
def test_kubernetes_endpoint_needs_url_and_key(
    monkeypatch: pytest.MonkeyPatch, settings: dict[str, str]
) -> None:
    """Smoke tests and evals need both variables; the error names both."""
    for name, value in settings.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(DeployError, match="SERVICE_URL") as caught:
        KubernetesBackend("staging").endpoint()
    assert "SMOKE_API_KEY" in str(caught.value)

    monkeypatch.setenv("SERVICE_URL", "https://staging.example.com")
    monkeypatch.setenv("SMOKE_API_KEY", SMOKE_KEY)
    assert KubernetesBackend("staging").endpoint() == Endpoint(
        "https://staging.example.com", SMOKE_KEY
    )


def test_a_failing_kubectl_surfaces_its_stderr(kubectl: FakeKubectl) -> None:
    """kubectl's own error reaches the operator, with the command that failed."""
    kubectl.behave(fail_on="apply", stderr=f'namespaces "{NAMESPACE}" not found\n')

    with pytest.raises(DeployError, match=f'apply -n {NAMESPACE} -f - failed:\nnamespaces "'):
        kubectl.backend().activate(DIGEST)


def test_a_missing_kubectl_is_a_deploy_error(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="not found: install kubectl or set KUBECTL"):
        KubernetesBackend("staging", kubectl=str(tmp_path / "no-kubectl")).activate(DIGEST)


def test_a_rollout_that_never_becomes_ready_is_an_activation_error(kubectl: FakeKubectl) -> None:
    """A failed `rollout status` means the new release is not healthy: an ActivationError."""
    kubectl.behave(fail_on="rollout status", stderr="error: exceeded its progress deadline\n")

    with pytest.raises(ActivationError, match="exceeded its progress deadline"):
        kubectl.backend().activate(DIGEST)


# --- smoke test -----------------------------------------------------------------------------------

ANSWERED = {"outcome": "answered", "answer": "5 days.", "citations": [{"doc_id": "HR-LEAVE-002"}]}


@dataclass
class FakeService:
    """How /readyz and /v1/ask answer (status, JSON or raw bytes), and what /v1/ask was sent."""

    url: str = ""
    ready: tuple[int, Any] = (200, {"status": "ready"})
    ask: tuple[int, Any] = (200, ANSWERED)
    truncated: bool = False
    keys: list[str | None] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)


class _SmokeServer(ThreadingHTTPServer):
    service: FakeService


class _SmokeHandler(BaseHTTPRequestHandler):
    server: _SmokeServer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def do_GET(self) -> None:
        self._reply(*(self.server.service.ready if self.path == "/readyz" else (404, {})))

    def do_POST(self) -> None:
        service = self.server.service
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        service.keys.append(self.headers.get("X-API-Key"))
        service.questions.append(body["question"])
        self._reply(*(service.ask if self.path == "/v1/ask" else (404, {})))

    def _reply(self, status: int, body: Any) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        extra = 100 if self.server.service.truncated and self.command == "POST" else 0
        self.send_header("Content-Length", str(len(data) + extra))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def smoke_server() -> Iterator[_SmokeServer]:
    server = _SmokeServer(("127.0.0.1", 0), _SmokeHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def service(smoke_server: _SmokeServer) -> FakeService:
    """A fresh fake service for each test, on the module's server."""
    smoke_server.service = FakeService(url=f"http://127.0.0.1:{smoke_server.server_address[1]}/")
    return smoke_server.service


def test_smoke_passes_on_an_answer_with_citations(service: FakeService) -> None:
    """Ready, and the smoke question answered with citations, asked with the endpoint's key."""
    seconds = smoke_test(Endpoint(service.url, SMOKE_KEY))

    assert 0 <= seconds < 5
    assert service.keys == [SMOKE_KEY]
    assert service.questions == [DEFAULT_SMOKE_QUESTION]


def test_smoke_question_can_be_overridden(
    service: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMOKE_QUESTION", "Who approves travel?")

    smoke_test(Endpoint(service.url, SMOKE_KEY))

    assert service.questions == ["Who approves travel?"]


@pytest.mark.parametrize(
    ("ready", "ask", "message"),
    [
        pytest.param(
            (503, {"status": "not ready", "checks": {"index": "missing"}}),
            (200, ANSWERED),
            r"/readyz answered 503: \{'index': 'missing'\}",
            id="not-ready",
        ),
        pytest.param(
            (200, {}),
            (503, {"code": "provider_unavailable", "detail": "the model provider is down"}),
            r"/v1/ask answered 503 \(provider_unavailable\)",
            id="ask-unavailable",
        ),
        pytest.param(
            (200, {}),
            (200, {"outcome": "abstained", "citations": [{"doc_id": "HR-LEAVE-002"}]}),
            "outcome='abstained'",
            id="abstained",
        ),
        pytest.param(
            (200, {}),
            (200, {"outcome": "answered", "citations": []}),
            "did not answer .* with citations",
            id="no-citations",
        ),
        pytest.param(
            (200, {}), (200, b"<html>maintenance</html>"), "no usable response", id="not-json"
        ),
        pytest.param((200, {}), (200, ["answered"]), "not an object", id="not-an-object"),
    ],
)
def test_smoke_fails_unless_the_release_really_serves(
    service: FakeService, ready: tuple[int, Any], ask: tuple[int, Any], message: str
) -> None:
    """Every unhealthy answer is a SmokeTestError, which is what triggers a rollback."""
    service.ready, service.ask = ready, ask

    with pytest.raises(SmokeTestError, match=message):
        smoke_test(Endpoint(service.url, SMOKE_KEY))


def test_smoke_fails_on_a_truncated_response(service: FakeService) -> None:
    """A reply cut short (the service died mid-answer) fails the smoke test, not the deploy tool."""
    service.truncated = True

    with pytest.raises(SmokeTestError, match="no usable response"):
        smoke_test(Endpoint(service.url, SMOKE_KEY))


def test_smoke_fails_when_nothing_listens() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: connections are refused

    with pytest.raises(SmokeTestError, match="no usable response"):
        smoke_test(Endpoint(f"http://127.0.0.1:{port}", SMOKE_KEY))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com", "127.0.0.1:8100"])
def test_smoke_rejects_a_url_that_is_not_http(url: str) -> None:
    with pytest.raises(SmokeTestError, match=r"not an http\(s\) URL"):
        smoke_test(Endpoint(url, SMOKE_KEY))


# --- python -m deploy -----------------------------------------------------------------------------


def test_cli_without_env_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["status"])

    assert caught.value.code == 2
    assert "--env" in capsys.readouterr().err


def test_cli_kubernetes_deploy_needs_a_release(capsys: pytest.CaptureFixture[str]) -> None:
    """Kubernetes deploys only an image pinned by digest: no default, a clear message."""
    assert main(["deploy", "--env", "staging", "--backend", "kubernetes"]) == 1
    error = capsys.readouterr().err
    assert "--release is required: an image reference pinned by digest" in error


def test_cli_build_prints_the_release_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make release` builds this checkout into DEPLOY_ROOT/bundles and prints the id."""
    monkeypatch.setenv("DEPLOY_ROOT", str(tmp_path))

    assert main(["build"]) == 0
    release = capsys.readouterr().out.strip()
    assert RELEASE_ID.match(release)
    assert (tmp_path / "bundles" / f"{release}.tar.gz").is_file()

    assert main(["build", "--setting", "LOG_LEVEL=warning"]) == 0
    assert capsys.readouterr().out.strip() not in {release, ""}

    assert main(["build", "--setting", "LOG_LEVEL"]) == 1
    assert "--setting takes KEY=VALUE" in capsys.readouterr().err
