"""Run inside a network namespace with only loopback (see tests/test_air_gap.py): render the
template, install from the warm uv cache only, `make check`, `make run`, then open `/docs` and
`/dashboard` in headless Chromium. Prints one JSON summary as its last line; the test asserts.

Usage: python -m tests.air_gap_driver <workdir> <artifacts dir>
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .helpers import (
    browse,
    chromium,
    env_api_key,
    free_port,
    git_commit_all,
    post_json,
    project_env,
    render,
    wait_ready,
)


def network_reachable() -> bool:
    """Whether anything beyond loopback answers (it must not, in the sandbox)."""
    try:
        socket.create_connection(("pypi.org", 443), timeout=3).close()
    except OSError:
        try:
            socket.create_connection(("151.101.0.223", 443), timeout=3).close()
        except OSError:
            return False
    return True


def main(workdir: Path, artifacts: Path) -> dict[str, object]:
    summary: dict[str, object] = {"network_reachable": network_reachable()}
    env = project_env() | {"UV_OFFLINE": "1"}
    started = time.monotonic()
    repo = render(workdir / "repo")
    git_commit_all(repo, "Render offline")
    check = subprocess.run(
        ["make", "check"], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    summary["check"] = {
        "returncode": check.returncode,
        "eval_passed": "Eval gate PASSED" in check.stdout,
        "tail": check.stdout[-3000:] + "\n--- stderr ---\n" + check.stderr[-2000:],
        "seconds": round(time.monotonic() - started, 1),
    }
    if check.returncode != 0:
        return summary

    port = free_port()
    server = subprocess.Popen(
        ["make", "run"],
        cwd=repo,
        env=env | {"PORT": str(port)},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/readyz", process=server)
        key = env_api_key(repo)
        question = {"question": "How many days of annual leave can I carry over?"}
        summary["answer"] = post_json(f"{base}/v1/ask", question, key, timeout=30)
        browser = chromium()
        if browser is None:
            summary["error"] = "chromium is not installed (.ci/run installs it)"
            return summary
        artifacts.mkdir(parents=True, exist_ok=True)
        summary["docs_dom"] = browse(
            browser, f"{base}/docs", screenshot=artifacts / "offline-docs.png", budget_ms=10000
        )
        summary["dashboard_dom"] = browse(
            browser,
            f"{base}/dashboard#key={key}",
            screenshot=artifacts / "offline-dashboard.png",
            budget_ms=10000,
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    return summary


if __name__ == "__main__":
    result = main(Path(sys.argv[1]), Path(sys.argv[2]))
    print(json.dumps(result))
