"""Render the template and run commands in rendered repos."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import copier
import pytest

ROOT = Path(__file__).resolve().parent.parent

# Answer profiles: the defaults, two that between them flip every option (GitLab instead of
# GitHub among them), and the extraction slice alone (a package name that sorts before evals/,
# as team names often do).
PROFILES: dict[str, dict[str, Any]] = {
    "default": {},
    "openai-py311": {
        "project_name": "hr-helper",
        "package_name": "hr_helper_service",
        "description": "Helps HR staff answer benefits questions from the handbook.",
        "owning_team": "@globex/people-tech",
        "business_owner": "VP People",
        "oncall_contact": "pagerduty: people-tech-primary",
        "kpi_name": "benefits question resolved without a ticket",
        "kpi_target_percent": 65,
        "model_provider": "openai",
        "model_name": "gpt-4.1-mini",
        "python_version": "3.11",
        "local_observability_stack": False,
        "ci_platform": "gitlab",
    },
    "anthropic-py313": {
        "project_name": "it-desk2",
        "description": "Answers IT help desk questions for the service desk team.",
        "owning_team": "@initech/service-desk",
        "business_owner": "@initech/service-desk-leads",
        "oncall_contact": "#it-desk-oncall",
        "kpi_name": "ticket deflected",
        "kpi_target_percent": 90,
        "model_provider": "anthropic",
        "model_name": "claude-haiku-4-5",
        "python_version": "3.13",
        "use_cases": ["qa", "extraction"],
    },
    "extraction-only": {
        "project_name": "claims-desk",
        "owning_team": "@acme/finance-ops",
        "business_owner": "Head of Finance Operations",
        "oncall_contact": "#finance-ops-oncall",
        "kpi_target_percent": 60,
        "use_cases": ["extraction"],
    },
}


def slices(profile: str) -> list[str]:
    """The use cases a profile renders (Copier's default: grounded Q&A alone)."""
    use_cases: list[str] = PROFILES[profile].get("use_cases", ["qa"])
    return use_cases


def platform(profile: str) -> str:
    """Where a profile's delivery runs: github (Copier's default) or gitlab."""
    name: str = PROFILES[profile].get("ci_platform", "github")
    return name


# A claim every profile with the extraction slice extracts (its default record, labelled).
EXTRACTION_CLAIM = (
    "Employee name: Jane Doe\nEmployee ID: E10234\nExpense date: 2026-03-03\n"
    "Merchant: Taxi Berlin GmbH\nCategory: Transport\nAmount: EUR 45.60"
)


def render(dest: Path, **data: Any) -> Path:
    """Render the working tree of this repo (uncommitted changes included) into dest."""
    copier.run_copy(
        str(ROOT), dest, data=data, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True
    )
    return dest


def project_env() -> dict[str, str]:
    """Environment for commands in a rendered repo: its own venv, never the template's."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    # A developer's shell variables must not leak into the generated service's settings.
    for name in ("API_KEYS", "MODEL_PROVIDER", "MODEL_API_KEY", "MODEL_BASE_URL", "DATABASE_URL"):
        env.pop(name, None)
    # The PII property tests run 10,000 variants per kind in the default profile's own suite
    # (tests/test_generated.py); the redactor is the same in every profile, so others run fewer.
    env.setdefault("PII_VARIANTS_PER_KIND", "1000")
    return env


def run(
    args: list[str],
    cwd: Path,
    *,
    check: bool = True,
    timeout: float = 900,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, failing with its output when it fails. `env` adds to project_env()."""
    result = subprocess.run(
        args,
        check=False,
        cwd=cwd,
        env=project_env() | (env or {}),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"`{' '.join(args)}` exited {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


def git_commit_all(repo: Path, message: str) -> None:
    run(["git", "init", "-q", "-b", "main"], repo)
    run(["git", "add", "-A"], repo)
    run(
        [
            "git",
            "-c",
            "user.name=thinslice",
            "-c",
            "user.email=t@thinslice.invalid",
            "commit",
            "-q",
            "--no-verify",
            "-m",
            message,
        ],
        repo,
    )


def installed_copy(rendered_repo: Path, dest: Path) -> Path:
    """A committed, installed working copy of a rendered repo (the session's renders stay
    pristine): what a team has right after `copier copy`, `git commit` and `uv sync`."""
    shutil.copytree(rendered_repo, dest)
    git_commit_all(dest, "Initial render")
    run(["uv", "sync", "--locked", "--quiet"], dest)
    return dest


@contextmanager
def make_run(repo: Path, port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    """`make run` in repo on `port`, ready (/readyz 200) for the block, stopped after.

    The server's output goes to a file, never a pipe: a pipe nobody reads fills up under
    heavy traffic (one log line per request) and blocks the server."""
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(
            ["make", "run"],
            cwd=repo,
            env=project_env() | (env or {}) | {"PORT": str(port)},
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            try:
                wait_ready(f"http://127.0.0.1:{port}/readyz", process=server)
            except AssertionError as error:
                log.seek(0)
                raise AssertionError(f"{error}\n--- make run ---\n{log.read()[-6000:]}") from None
            yield
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(
    url: str, *, timeout: float = 120, process: subprocess.Popen[Any] | None = None
) -> None:
    """Poll `url` (a /readyz) until it answers 200; fail early if `process` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(
                f"exited with {process.returncode} before {url} was ready\n{output}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{url} not ready within {timeout:.0f} s"
        time.sleep(0.3)


def stop_local_deploys(repo: Path, env: dict[str, str]) -> None:
    """Stop the services a local-backend deploy started under env's DEPLOY_ROOT."""
    for environment in ("staging", "production"):
        run(
            ["uv", "run", "--locked", "python", "-m", "deploy", "stop", "--env", environment],
            repo,
            env=env | {"DEPLOY_BACKEND": "local"},
            check=False,
        )


@contextmanager
def local_deploys(repo: Path, root: Path) -> Iterator[dict[str, str]]:
    """Environment for local-backend deploys of `repo`: a private DEPLOY_ROOT under `root` and
    free ports; the services deployed in it are stopped afterwards."""
    env = {
        "DEPLOY_ROOT": str(root / "deploy"),
        "DEPLOY_PORT_STAGING": str(free_port()),
        "DEPLOY_PORT_PRODUCTION": str(free_port()),
    }
    try:
        yield env
    finally:
        stop_local_deploys(repo, env)


def explain(result: object, tool: str) -> str:
    """The tail of a pipeline runner's output (act, gitlab-ci-local), for an assertion message."""
    stdout = getattr(result, "stdout", "")
    stderr = getattr(result, "stderr", "")
    return f"--- {tool} stdout ---\n{stdout[-8000:]}\n--- {tool} stderr ---\n{stderr[-3000:]}"


def no_network_prefix() -> list[str]:
    """A command prefix that runs a command with no network but loopback (`unshare -n`, as
    root); skips the calling test, with the reason, where namespaces are not permitted."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) (util-linux) on this machine")
    prefix = [unshare, "-n", "--", "bash", "-c", 'ip link set lo up && exec "$@"', "sandbox"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"network namespaces are not permitted here: {probe.stderr.strip()}")
    return prefix


def env_api_key(repo: Path) -> str:
    """The first API key of a rendered repo's .env (written by `make run` the first time)."""
    line = next(
        line for line in (repo / ".env").read_text().splitlines() if line.startswith("API_KEYS=")
    )
    return line.split("=", 1)[1].split(",")[0]


def post_json(url: str, body: dict[str, Any], key: str, timeout: float = 10) -> Any:
    """POST `body` as JSON with the API key to a running service; the parsed JSON answer
    (an HTTP error status raises)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": key},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browse(
    browser: str,
    url: str,
    *,
    screenshot: Path | None = None,
    budget_ms: int = 8000,
    prefix: list[str] | None = None,
) -> str:
    """The page's DOM after its scripts ran for `budget_ms` of virtual time, in headless
    Chromium (under `prefix`, e.g. no_network_prefix()); a screenshot too when asked."""
    flags = [*CHROMIUM_FLAGS, f"--virtual-time-budget={budget_ms}"]
    with tempfile.TemporaryDirectory() as profile:
        command = [*(prefix or []), browser, *flags, f"--user-data-dir={profile}"]
        dom = subprocess.run(
            [*command, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
        ).stdout
    if screenshot is not None:
        with tempfile.TemporaryDirectory() as profile:
            command = [*(prefix or []), browser, *flags, f"--user-data-dir={profile}"]
            subprocess.run(
                [*command, f"--screenshot={screenshot}", url],
                capture_output=True,
                timeout=120,
                check=True,
            )
    return dom
