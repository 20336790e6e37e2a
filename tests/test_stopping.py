"""Stopping what the quickstart starts: Ctrl-C and SIGTERM end `make run` and `make demo` cleanly,
with no error line or traceback, and leave no server behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from .helpers import ROOT, free_port, installed_copy, project_env, wait_ready

pytestmark = pytest.mark.generated


def port_closes(port: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return True
        time.sleep(0.3)
    return False


def start(args: list[str], cwd: Path, port: int) -> subprocess.Popen[str]:
    """Start `args` in its own process group, as a terminal would, with output to a pipe."""
    return subprocess.Popen(
        args,
        cwd=cwd,
        env=project_env() | {"PORT": str(port)},
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def repo(rendered: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return installed_copy(rendered["default"], tmp_path_factory.mktemp("stopping") / "repo")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_make_run_stops_cleanly(repo: Path, stop: signal.Signals) -> None:
    """Ctrl-C in a terminal signals the whole foreground group; so does a process manager."""
    port = free_port()
    make = start(["make", "run"], repo, port)
    wait_ready(f"http://127.0.0.1:{port}/readyz", process=make)

    os.killpg(make.pid, stop)
    output, _ = make.communicate(timeout=60)

    assert port_closes(port)
    assert "Application shutdown complete" in output
    for noise in ("Traceback", "KeyboardInterrupt", "*** ", "Error 1"):
        assert noise not in output, output[-3000:]


def test_sigterm_to_make_demo_leaves_no_server_running(tmp_path: Path) -> None:
    """A SIGTERM to `make` alone (as `kill <pid>` sends it) must still stop the demo's server."""
    port = free_port()
    demo = start(["make", "demo", f"DEMO_DIR={tmp_path / 'demo'}"], ROOT, port)
    wait_ready(f"http://127.0.0.1:{port}/readyz", timeout=300, process=demo)

    demo.send_signal(signal.SIGTERM)
    demo.wait(timeout=30)

    assert port_closes(port), "the demo's server kept running after make demo was stopped"
