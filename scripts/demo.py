"""Render a service with the default answers, start it on the embedded model and ask it a question.

Usage: scripts/demo.py [DEST]   (default build/demo; re-rendered from scratch each time)
The service keeps running in the foreground until Ctrl-C. HOST and PORT are honoured.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import copier

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How many days of annual leave can I carry over?"


def wait_ready(base_url: str, server: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the service exited with code {server.returncode}; see output above")
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"the service was not ready at {base_url} within {timeout:.0f}s")


def api_key(project: Path) -> str:
    for line in (project / ".env").read_text().splitlines():
        if line.startswith("API_KEYS="):
            return line.split("=", 1)[1].split(",")[0].strip()
    raise SystemExit("no API_KEYS in .env")


def ask(base_url: str, key: str, question: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"{base_url}/v1/ask",
        data=json.dumps({"question": question}).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": key},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        result: dict[str, object] = json.load(response)
        return result


def main() -> int:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "build/demo").resolve()
    shutil.rmtree(dest, ignore_errors=True)
    print(f"Rendering the template with default answers into {dest} ...", flush=True)
    copier.run_copy(str(ROOT), dest, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)
    project = dest
    # The generated repo has its own environment; do not leak the template's into it.
    env = {name: value for name, value in os.environ.items() if name != "VIRTUAL_ENV"}

    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    base_url = f"http://{host}:{port}"
    print("Starting it with `make run` (embedded offline model) ...", flush=True)
    server = subprocess.Popen(["make", "run"], cwd=project, env=env, start_new_session=True)
    # The server runs in its own session (Ctrl-C reaches it through us, once): SIGTERM must stop
    # it too, and so must the end of `make demo` itself (make does not pass SIGTERM on).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    parent = os.getppid()
    try:
        wait_ready(base_url, server)
        key = api_key(project)
        result = ask(base_url, key, QUESTION)
        print("\n" + "=" * 72)
        print(f"Q: {QUESTION}")
        print(f"A: {result['answer']}")
        for citation in result["citations"]:  # type: ignore[attr-defined]
            print(f"   [{citation['doc_id']}] {citation['title']}")
        print(f"outcome={result['outcome']} request_id={result['request_id']}")
        print("=" * 72)
        print(f"\nThe service runs at {base_url} (API docs: {base_url}/docs). Try more:")
        print(
            f"  curl -s {base_url}/v1/ask -H 'X-API-Key: {key}' "
            "-H 'Content-Type: application/json' "
            """-d '{"question": "What is the home office allowance?"}'"""
        )
        print(f"Project: {project}   Stop with Ctrl-C.\n", flush=True)
        while server.poll() is None and os.getppid() == parent:
            time.sleep(0.5)
        return server.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
