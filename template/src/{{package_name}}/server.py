"""Serve the app with uvicorn, with a graceful shutdown that has a bound (see shutdown.py)."""

from __future__ import annotations

from types import FrameType

import uvicorn

from .app import create_app
from .settings import Settings
from .shutdown import Shutdown

KEEP_ALIVE_SECONDS = 75


class _GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, shutdown: Shutdown) -> None:
        super().__init__(config)
        self._shutdown = shutdown

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Tell the app first, so in-flight model calls get their deadline.
        self._shutdown.begin()
        super().handle_exit(sig, frame)


def serve(settings: Settings) -> None:
    app = create_app(settings)
    config = uvicorn.Config(
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
    )
    _GracefulServer(config, app.state.shutdown).run()
