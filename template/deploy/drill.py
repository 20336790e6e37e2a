"""Rollback drill: prove that a bad release is rolled back and that the runbook's commands work.

In a throw-away DEPLOY_ROOT on this machine (local backend, environment "production"):

1. deploy release A (this checkout) and smoke test it;
2. deploy release B, which ships a broken setting (an unreachable model endpoint), so it becomes
   ready but fails its smoke test: the automatic rollback must restore A; the time from the
   failed smoke test to A serving again is measured;
3. deploy release C (a harmless settings change) and then run, in order, every code block of
   docs/runbooks/rollback.md marked `<!-- drill -->`, exactly as written; afterwards A must
   serve again. The runbook cannot drift from reality without this drill failing.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .base import DeployError
from .bundle import build_bundle
from .config import PROJECT, REPO_ROOT
from .local import LocalBackend
from .rollout import RolledBackError, deploy
from .smoke import smoke_test

RUNBOOK = REPO_ROOT / "docs" / "runbooks" / "rollback.md"
MARKER = "<!-- drill -->"
_FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


class DrillFailedError(Exception):
    """The drill found a gap: the message says which step and what happened."""


def runbook_commands(runbook: Path = RUNBOOK) -> list[str]:
    """The code blocks that directly follow a `<!-- drill -->` line, in order."""
    text = runbook.read_text(encoding="utf-8")
    blocks = []
    for part in text.split(MARKER)[1:]:
        match = _FENCE.match(part.lstrip("\n"))
        if match is None:
            raise DrillFailedError(f"{runbook}: {MARKER} must be followed by a fenced code block")
        blocks.append(match.group(1))
    if not blocks:
        raise DrillFailedError(f"{runbook} has no code block marked {MARKER}: nothing to drill")
    return blocks


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _say(message: str) -> None:
    print(f"drill: {message}", flush=True)


def run_drill(*, keep: bool = False) -> dict[str, float]:
    """Run the drill; return the measured seconds. Raises DrillFailedError on any gap."""
    root = Path(tempfile.mkdtemp(prefix=f"{PROJECT}-drill-"))
    os.environ["DEPLOY_ROOT"] = str(root)
    # The drill's install has its own SQLite database: never migrate the operator's DATABASE_URL.
    os.environ.pop("DATABASE_URL", None)
    os.environ["DEPLOY_PORT_PRODUCTION"] = str(_free_port())
    backend = LocalBackend("production", root)
    store = root / "bundles"
    try:
        release_a = build_bundle(REPO_ROOT, store)
        deploy(backend, release_a)
        _say(f"release A {release_a} deployed and healthy")

        broken = {
            "MODEL_PROVIDER": "openai",
            "MODEL_NAME": "drill-unreachable-model",
            "MODEL_BASE_URL": f"http://127.0.0.1:{_free_port()}/v1",
            "MODEL_API_KEY": "drill-placeholder-credential",  # pragma: allowlist secret
            "MODEL_MAX_RETRIES": "0",
        }
        release_b = build_bundle(REPO_ROOT, store, broken)
        try:
            deploy(backend, release_b)
        except RolledBackError as rollback:
            automatic = rollback.seconds
            _say(f"release B {release_b} failed its smoke test: {rollback.reason}")
        else:
            raise DrillFailedError(f"release B {release_b} passed its smoke test: it must not")
        if backend.current() != release_a:
            raise DrillFailedError(
                f"after the automatic rollback {backend.current()} serves, not A"
            )
        smoke_test(backend.endpoint())
        _say(f"automatic rollback restored A in {automatic:.1f} s (failed smoke -> A serving)")

        release_c = build_bundle(REPO_ROOT, store, {"LOG_LEVEL": "warning"})
        deploy(backend, release_c)
        _say(f"release C {release_c} deployed; now running {RUNBOOK.relative_to(REPO_ROOT)}")
        started = time.monotonic()
        for block in runbook_commands():
            _say("$ " + block.strip().replace("\n", "\n       "))
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block],
                cwd=REPO_ROOT,
                env={**os.environ, "DEPLOY_BACKEND": "local"},
                check=False,
            )
            if result.returncode != 0:
                raise DrillFailedError(
                    f"runbook command failed (exit {result.returncode}): {block}"
                )
        manual = time.monotonic() - started
        if backend.current() != release_a:
            raise DrillFailedError(
                f"after the runbook's rollback {backend.current()} serves, not A"
            )
        smoke_test(backend.endpoint())
        _say(f"runbook rollback restored A in {manual:.1f} s (all runbook commands included)")
        return {"automatic_rollback_seconds": automatic, "runbook_rollback_seconds": manual}
    except DeployError as error:
        raise DrillFailedError(str(error)) from error
    finally:
        backend.stop()
        if keep:
            _say(f"kept {root}")
        else:
            backend.clean()
            shutil.rmtree(root, ignore_errors=True)
