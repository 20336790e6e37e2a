"""A fake service for the deploy tests: a tiny HTTP server on 127.0.0.1 whose /readyz and
/v1/ask answer what a test sets. Its fixtures (`smoke_server`, `service`) are registered for
every test by conftest.py (`pytest_plugins`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

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
