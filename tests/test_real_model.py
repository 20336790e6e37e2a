"""The OpenAI-compatible path against a real, independently written server: llama-cpp-python's
server running SmolLM2-135M-Instruct on one thread, offline (tests/llama_server.py).

A rendered service (MODEL_PROVIDER=openai, MODEL_BASE_URL at the server) answers a few corpus
questions. The assertions hold for any model, however weak: every question is answered or
abstained on (never a 5xx), no generation is longer than the configured cap (the server's own
`completion_tokens`), the cap travels as `max_tokens` (the field llama.cpp reads), the ledger's
tokens equal the server's reported usage, the model call's span carries the GenAI attributes,
the eval runs to a report that names the model (its verdict is not asserted: a 135M model cannot
pass the gate), and a killed server gives a 503 with a log line naming the failure.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .helpers import free_port, installed_copy, project_env, run, wait_ready
from .llama_server import MODEL_ALIAS, LlamaServer, RecordingProxy, build_wheel, install_server

pytestmark = [pytest.mark.generated, pytest.mark.realmodel]

PROFILE = "openai-py311"  # MODEL_PROVIDER=openai
CAP = 96  # MODEL_MAX_OUTPUT_TOKENS: short, so the run stays bounded on one thread
QUESTIONS = [
    "How many days of annual leave can I carry over into next year?",
    "What is the home office equipment allowance?",
    "How long does contractor VPN access last?",
    "Who won the football world cup?",
]
EVAL_CASES = 3  # golden cases the eval runs on the real model (the gate's verdict is not asserted)
KEY = "real-model-" + "k" * 24


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": KEY},
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def _spans(stdout: Path) -> list[dict[str, Any]]:
    """The spans the console exporter printed (one JSON object per span)."""
    text, spans, decoder, position = stdout.read_text(), [], json.JSONDecoder(), 0
    while (start := text.find("{", position)) != -1:
        try:
            value, position = decoder.raw_decode(text, start)
        except ValueError:
            position = start + 1
            continue
        if isinstance(value, dict) and "attributes" in value:
            spans.append(value)
    return spans


# Set up once per module, reported by the first test (`figure` is per test).
TIMINGS: list[str] = []


@pytest.fixture(scope="module")
def model_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LlamaServer, RecordingProxy]]:
    work = tmp_path_factory.mktemp("llama")
    wheel, build_seconds = build_wheel(work)
    started = time.monotonic()
    gguf = install_server(work / "venv", wheel)
    install_seconds = time.monotonic() - started
    build = f"built in {build_seconds:.0f} s" if build_seconds else f"cached ({wheel.parent})"
    with LlamaServer(work / "venv" / "bin" / "python", gguf, work / "server.log") as server:
        proxy = RecordingProxy(server.base)
        TIMINGS.append(
            f"[real model] llama-cpp-python wheel {build}; server venv {install_seconds:.1f} s; "
            f"server start {server.start_seconds:.1f} s"
        )
        try:
            yield server, proxy
        finally:
            proxy.close()


@pytest.fixture(scope="module")
def service(
    rendered: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
    model_server: tuple[LlamaServer, RecordingProxy],
) -> Iterator[dict[str, Any]]:
    """The openai profile installed and serving, its model the real server (via the proxy),
    spans printed to a file."""
    _, proxy = model_server
    work = tmp_path_factory.mktemp("real-model-service")
    repo = installed_copy(rendered[PROFILE], work / "repo")
    package = next(p.name for p in (repo / "src").iterdir() if (p / "app.py").is_file())
    port = free_port()
    model_env = {
        "MODEL_PROVIDER": "openai",
        "MODEL_BASE_URL": proxy.url,
        "MODEL_NAME": MODEL_ALIAS,
        "MODEL_MAX_OUTPUT_TOKENS": str(CAP),
        # One thread reads a ~700-token prompt in seconds: generous bounds, one attempt.
        "MODEL_TIMEOUT_SECONDS": "120",
        "MODEL_DEADLINE_SECONDS": "120",
        "MODEL_MAX_RETRIES": "0",
        "SHUTDOWN_GRACE_SECONDS": "150",
    }
    env = (
        project_env()
        | model_env
        | {
            "API_KEYS": KEY,
            "PORT": str(port),
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
    )
    stdout, stderr = work / "stdout.log", work / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            ["uv", "run", "--locked", "python", "-m", package, "serve"],
            cwd=repo,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process=process)
        yield {
            "repo": repo,
            "base": f"http://127.0.0.1:{port}",
            "stdout": stdout,
            "stderr": stderr,
            "model_env": model_env,
        }
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)


def _ledger(repo: Path, request_id: str) -> dict[str, Any]:
    with sqlite3.connect(repo / "var" / "ledger.sqlite") as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute(
            "SELECT * FROM requests WHERE request_id = ?", (request_id,)
        ).fetchone()
    assert row is not None, f"no ledger row for {request_id}"
    return dict(row)


def test_questions_are_answered_or_abstained_within_the_cap(
    service: dict[str, Any], model_server: tuple[LlamaServer, RecordingProxy], figure: Any
) -> None:
    _, proxy = model_server
    for line in TIMINGS:
        figure(line)
    rows = []
    for question in QUESTIONS:
        before = len(proxy.exchanges)
        started = time.monotonic()
        status, body = _post(f"{service['base']}/v1/ask", {"question": question})
        seconds = time.monotonic() - started
        calls = proxy.exchanges[before:]
        assert status == 200, f"{question!r}: HTTP {status} {body}"
        assert body["outcome"] in {"answered", "abstained"}, body
        row = _ledger(service["repo"], body["request_id"])
        # The cap travels in the field llama.cpp reads, and the server honoured it.
        for call in calls:
            assert call.request.get("max_tokens") == CAP, call.request
            assert "max_completion_tokens" not in call.request, call.request
            assert call.usage["completion_tokens"] <= CAP, call.usage
        # The ledger counts exactly what the server reported (every call of the request).
        assert row["input_tokens"] == sum(call.usage.get("prompt_tokens", 0) for call in calls)
        assert row["output_tokens"] == sum(call.usage.get("completion_tokens", 0) for call in calls)
        # Unpriced (no entry in data/prices.yaml for this model): NULL, never $0.
        assert row["cost_usd"] is None if calls else True
        rows.append((question, body["outcome"], row["guardrail"], row["output_tokens"], seconds))
        service.setdefault("asked", []).append((body["request_id"], row))
    figure(f"[real model] {len(QUESTIONS)} questions, cap {CAP} tokens, one thread:")
    for question, outcome, guardrail, tokens, seconds in rows:
        why = f" ({guardrail})" if guardrail else ""
        figure(
            f"[real model]   {question[:58]:<58} {outcome + why:<28} "
            f"{tokens:>3} completion tokens {seconds:5.1f} s"
        )


def test_model_call_spans_carry_the_genai_attributes(service: dict[str, Any]) -> None:
    asked = service.get("asked")
    if not asked:
        pytest.fail("no questions were asked (the previous test failed first)")
    called = {row["trace_id"]: row for _, row in asked if row["output_tokens"]}
    assert called, "no question reached the model"
    deadline = time.monotonic() + 30
    while True:
        chat = {
            span["context"]["trace_id"].removeprefix("0x"): span
            for span in _spans(service["stdout"])
            if span["name"] == f"chat {MODEL_ALIAS}"
        }
        if set(called) <= set(chat) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for trace_id, row in called.items():
        attributes = chat[trace_id]["attributes"]
        assert attributes["gen_ai.operation.name"] == "chat"
        assert attributes["gen_ai.provider.name"] == "openai"
        assert attributes["gen_ai.request.model"] == MODEL_ALIAS
        assert attributes["gen_ai.response.model"] == MODEL_ALIAS
        assert attributes["gen_ai.usage.input_tokens"] == row["input_tokens"]
        assert attributes["gen_ai.usage.output_tokens"] == row["output_tokens"]


def test_eval_on_the_configured_model_names_it(
    service: dict[str, Any], tmp_path: Path, figure: Any
) -> None:
    """`make eval MODEL=configured`, on a few golden cases (`python -m evals` with the same
    flag): it runs to a report that names the model; its verdict is not asserted."""
    repo = service["repo"]
    cases = yaml.safe_load((repo / "evals" / "cases" / "golden.yaml").read_text())
    subset = tmp_path / "cases"
    subset.mkdir()
    (subset / "golden.yaml").write_text(yaml.safe_dump(cases[:EVAL_CASES]))
    started = time.monotonic()
    result = run(
        [
            "uv",
            "run",
            "--locked",
            "python",
            "-m",
            "evals",
            "--use-configured-model",
            "--split",
            "golden",
            "--cases",
            str(subset),
            "--out",
            str(tmp_path / "report"),
        ],
        repo,
        check=False,
        env=service["model_env"] | {"API_KEYS": KEY},
        timeout=900,
    )
    seconds = time.monotonic() - started
    assert result.returncode in {0, 1}, result.stdout[-4000:] + result.stderr[-4000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert (
        MODEL_ALIAS in report["target"]
        and service["model_env"]["MODEL_BASE_URL"] in report["target"]
    )
    assert f"Target: {report['target']}" in result.stdout
    usage = report["splits"]["golden"]["usage"]
    assert usage["output_tokens"] and usage["input_tokens"], usage
    assert f"{EVAL_CASES}/{EVAL_CASES} cases" in result.stderr  # the progress line
    figure(
        f"[real model] eval of {EVAL_CASES} golden cases: {seconds:.1f} s, gate "
        f"{'passed' if report['passed'] else 'failed'} (not asserted), "
        f"{usage['output_tokens']} completion tokens"
    )


def test_a_killed_server_gives_503_with_a_log_line(
    service: dict[str, Any], model_server: tuple[LlamaServer, RecordingProxy]
) -> None:
    """Last in this file: it stops the server for good."""
    server, proxy = model_server
    server.kill()
    proxy.close()
    status, body = _post(f"{service['base']}/v1/ask", {"question": QUESTIONS[0]})
    assert status == 503, body
    assert body["code"] == "provider_unreachable", body
    request_id = body["request_id"]
    deadline = time.monotonic() + 10
    while True:
        lines = [
            line
            for line in service["stderr"].read_text().splitlines()
            if "model call failed" in line and f"request_id={request_id}" in line
        ]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert lines, "no log line for the failed model call"
    assert "provider=openai" in lines[0] and f"model={MODEL_ALIAS}" in lines[0]
    assert "code=provider_unreachable" in lines[0]
    assert _ledger(service["repo"], request_id)["error_code"] == "provider_unreachable"
