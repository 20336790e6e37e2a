"""Serve the app with uvicorn, with a graceful shutdown that has a bound (see shutdown.py)."""

from __future__ import annotations

import signal
from types import FrameType

import uvicorn
from fastapi import FastAPI

from .api.context import MAX_HEADER_BYTES
from .app import create_app
from .settings import Settings
from .shutdown import Shutdown

KEEP_ALIVE_SECONDS = 75
SERVER_MAX_HEAD_BYTES = 4 * MAX_HEADER_BYTES


class _GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, shutdown: Shutdown) -> None:
        super().__init__(config)
        self._shutdown = shutdown

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Tell the app first, so in-flight model calls get their deadline.
        self._shutdown.begin()
        super().handle_exit(sig, frame)


def server_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """How uvicorn serves the app (serve() and the tests that need a real server use it)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        proxy_headers=True,
        # Longer than any load balancer's idle timeout (60 s is common), so the server never
        # closes a kept-alive connection just as the balancer sends a request on it (a 502).
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        # The server's own bound; requests still in a model call are answered before it.
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
        # Above the app's own header limit, so oversized headers reach the app and get a 431
        # in the error shape with a request id (api/context.py); only a request head above
        # this is refused by uvicorn itself, with a plain-text 400.
        h11_max_incomplete_event_size=SERVER_MAX_HEAD_BYTES,
    )


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(settings: Settings) -> None:
    """Serve until Ctrl-C or SIGTERM, shut down gracefully, then exit 0 without a traceback.

    uvicorn handles the signal, shuts down, then raises it again for whoever handled it before:
    these handlers make that a normal exit (not a KeyboardInterrupt traceback, nor a death by
    signal that `make run` would report as an error)."""
    app = create_app(settings)
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _exit_quietly)
    _GracefulServer(server_config(app, settings), app.state.shutdown).run()
