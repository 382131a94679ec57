"""Start and stop the local load balancer: ``make_server`` for tests and tools, ``serve`` for the CLI."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn

from localalb.app import LocalAlbApp
from localalb.config import LocalStack
from localalb.protocol import protocol_for

SHUTDOWN_GRACE_S = 2


class LocalAlbServer:
    """One listener bound to ``host:port`` (port 0 picks a free one) serving ``stack``."""

    def __init__(self, stack: LocalStack, host: str = "127.0.0.1", port: int = 8080, *, log_dir=None, quiet=False):
        self.stack = stack
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.socket.listen(2048)  # connections queue from now on, before the loop starts accepting
        self.host = host
        self.port = self.socket.getsockname()[1]
        folder = Path(log_dir) if log_dir else stack.project_dir / ".localalb" / stack.stack
        self.app = LocalAlbApp(stack, folder, quiet=quiet)
        config = uvicorn.Config(
            self.app,
            loop="uvloop",
            http=protocol_for(self.app),
            ws="none",  # ALB answers a WebSocket upgrade to a Lambda target with 400 (the app does)
            lifespan="on",
            access_log=False,
            proxy_headers=False,  # the client is the TCP peer; X-Forwarded-For is only passed on
            server_header=False,
            log_level="error",
            # ALB's idle timeout is the keep-alive the client sees.
            timeout_keep_alive=stack.settings.load_balancer.idle_timeout,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM; then stop every worker."""
        self.server.run(sockets=[self.socket])

    def start(self) -> LocalAlbServer:
        """Serve in a background thread (for tests); returns once the listener is ready."""
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the local ALB did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving, stop every worker and flush the access log."""
        self.server.should_exit = True
        if self._thread:
            self._thread.join(SHUTDOWN_GRACE_S + 5)
        self.socket.close()

    def __enter__(self) -> LocalAlbServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def make_server(stack: LocalStack, host: str = "127.0.0.1", port: int = 0, **options) -> LocalAlbServer:
    """A server for ``stack`` on ``host:port`` (port 0: a free port), not yet started."""
    return LocalAlbServer(stack, host, port, **options)
