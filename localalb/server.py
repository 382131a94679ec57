"""Start and stop the local load balancer: ``make_server`` for tests and tools, ``serve`` for the CLI."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from localalb.app import LocalAlbApp
from localalb.config import LocalStack
from localalb.protocol import protocol_for

if TYPE_CHECKING:
    from localalb.tls import LocalTls

SHUTDOWN_GRACE_S = 2
DEFAULT_HTTPS_PORT = 8443


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections queue from now on, before the loop starts accepting
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server plus the HTTPS listener, which has a TLS context of its own."""

    def __init__(self, config: uvicorn.Config, tls_socket: socket.socket | None, tls: LocalTls | None):
        super().__init__(config)
        self.tls_socket, self.tls = tls_socket, tls
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start the plain listeners through uvicorn, then the HTTPS one on the same app."""
        await super().startup(sockets=sockets)
        if self.tls_socket is not None and self.tls is not None and not self.should_exit:
            config = self.config

            def create_protocol() -> asyncio.Protocol:
                return config.http_protocol_class(  # type: ignore[call-arg]
                    config=config, server_state=self.server_state, app_state=self.lifespan.state
                )

            loop = asyncio.get_running_loop()
            server = await loop.create_server(create_protocol, sock=self.tls_socket, ssl=self.tls.context)
            self.servers.append(server)
        self.ready.set()


class LocalAlbServer:
    """The stack's listeners on ``host``: HTTP on ``port`` (0 picks a free one) and, when the stack
    has a certificate, HTTPS on ``https_port``, the HTTP one then redirecting to it as port 80 does."""

    def __init__(
        self,
        stack: LocalStack,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        https_port: int = DEFAULT_HTTPS_PORT,
        log_dir: Path | None = None,
        quiet: bool = False,
    ):
        self.stack = stack
        self.host = host
        lb = stack.settings.load_balancer
        state_dir = stack.project_dir / ".localalb" / stack.stack
        folder = Path(log_dir) if log_dir else state_dir
        self.app = LocalAlbApp(stack, folder, quiet=quiet)
        self.tls: LocalTls | None = None
        self.tls_socket: socket.socket | None = None
        self.https_port: int | None = None
        # Without a certificate, the HTTP listener serves the rules; with one, HTTPS serves them
        # and HTTP exists only to redirect (unless httpRedirect is off: then there is no port 80).
        self.socket = _listen(host, port) if not lb.https or lb.http_redirect else None
        self.port = self.socket.getsockname()[1] if self.socket else None
        if lb.https:
            from localalb.tls import server_tls  # cryptography is loaded only for an HTTPS stack

            self.tls = server_tls(state_dir, host, lb.ssl_policy)
            self.tls_socket = _listen(host, https_port)
            self.https_port = self.tls_socket.getsockname()[1]
            self.app.https_port = self.https_port
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
            # ALB's idle timeout is the keep-alive the client sees (and applies before a request too:
            # see protocol.py).
            timeout_keep_alive=lb.idle_timeout,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
        self.server = _Server(config, self.tls_socket, self.tls)
        self._thread: threading.Thread | None = None
        self._sockets = [sock for sock in (self.socket,) if sock is not None]

    @property
    def url(self) -> str:
        """The URL of the listener that serves the rules (HTTPS when the stack has a certificate)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.https_port is not None:
            return f"https://{host}:{self.https_port}"
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM; then stop every worker."""
        try:
            self.server.run(sockets=self._sockets)
        finally:
            # Also when serving ends with an error: the batched log and console lines are kept.
            self.app.close_output()

    def start(self) -> LocalAlbServer:
        """Serve in a background thread (for tests); returns once the listeners are ready."""
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": self._sockets}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.ready.is_set():
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the local ALB did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving, stop every worker and flush the access log."""
        self.server.should_exit = True
        if self._thread:
            self._thread.join(SHUTDOWN_GRACE_S + 5)
        for sock in (self.socket, self.tls_socket):
            if sock is not None:
                sock.close()

    def __enter__(self) -> LocalAlbServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_server(
    stack: LocalStack, host: str = "127.0.0.1", port: int = 0, https_port: int = 0, **options: Any
) -> LocalAlbServer:
    """A server for ``stack`` on ``host:port`` (port 0: a free port), not yet started."""
    return LocalAlbServer(stack, host, port, https_port=https_port, **options)
