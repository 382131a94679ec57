"""The listener's connections: uvicorn's httptools protocol with the limits ALB applies as bytes arrive.

uvicorn parses HTTP; this subclass adds what a load balancer does before any request reaches the
rules: a bounded request head (a line or header that never ends is refused once it passes ALB's
limits, not buffered), the idle timeout on every connection from its first byte (silent, partial
head, partial body), the security group's ``allowedCidrs``, and ALB's own error page and access-log
line for every request it refuses, malformed ones included.
"""

from __future__ import annotations

import asyncio
import http
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from localalb import alb

if TYPE_CHECKING:
    from localalb.app import LocalAlbApp

# Everything before the body: request line and headers. Past this, ALB has already refused the
# request (16 KB line, 64 KB of headers), so more bytes are never buffered.
MAX_HEAD_BYTES = alb.MAX_HEADER_LINE + alb.MAX_HEADERS_TOTAL
HTTP_VERSIONS = ("1.0", "1.1")


def _status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")


# The status lines uvicorn writes (its table, built the same way).
STATUS_LINES = {status: _status_line(status) for status in range(100, 600)}


class _Refusal(Exception):
    """Raised inside a parser callback: the request is refused with ``status``."""


class AlbProtocol(HttpToolsProtocol):
    """One client connection to a local listener; ``alb`` is set by ``protocol_for``."""

    alb: LocalAlbApp

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle_s = float(self.alb.lb.idle_timeout)
        self.lost = False  # the client closed the connection (or it was closed on it)
        self.refused = False  # the listener answered this connection itself (and closed it)
        self._head_open = True  # waiting for (the rest of) a request head
        self._head_bytes = 0
        self._refusal: tuple[int, str] | None = None
        self._last_io = 0.0
        self._head_started = 0.0  # when the first byte of the current request head arrived
        self._timer: asyncio.TimerHandle | None = None
        self.held: _OneWrite | None = None  # the request cycle holding a response head, if any

    # --- connection ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Accept the connection, or drop it unanswered when the peer is outside ``allowedCidrs``."""
        super().connection_made(transport)
        if self.client and not self.alb.peer_allowed(self.client[0]):
            # ALB's security group drops such a connection; the closest a local socket gets is
            # closing it before any byte is read or written.
            self.alb.connection_dropped(self.client)
            transport.abort()
            return
        self._last_io = self.loop.time()
        self._timer = self.loop.call_later(self.idle_s, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        """Remember that the client left (a request in flight is then logged 460)."""
        self.lost = True
        if self._timer is not None:
            self._timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser, never more than ALB's head limits allow while a head is arriving."""
        if self.refused or self.parser is None:
            return
        self._last_io = self.loop.time()
        if not self._head_open:
            super().data_received(data)
            return
        if self._head_bytes == 0:
            self._head_started = self._last_io
        room = MAX_HEAD_BYTES - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        self._head_bytes = MAX_HEAD_BYTES
        super().data_received(data[:room])
        if self.refused:
            return
        if self._head_open:
            self.refuse(400, "request line and headers over 80 KB")
        else:
            self.data_received(data[room:])

    def _check_idle(self) -> None:
        """ALB's idle timeout: no byte from the client for ``idleTimeout`` seconds; and a request
        head must be complete within ``idleTimeout`` of its first byte (a head sent a byte at a
        time would otherwise hold the connection for ever)."""
        if self.transport.is_closing():
            return
        now = self.loop.time()
        partial_head = self._head_open and self._head_bytes > 0
        left = self.idle_s - (now - self._last_io)
        if partial_head:
            left = min(left, self.idle_s - (now - self._head_started))
        if left > 0:
            self._timer = self.loop.call_later(left, self._check_idle)
            return
        cycle = self.cycle
        partial_body = cycle is not None and cycle.more_body and not cycle.response_started
        if partial_head or partial_body:
            self.refuse(408, "the request was incomplete at the idle timeout")
            if partial_body:
                cycle.disconnected = True  # the request task sees a disconnect and stops
                cycle.message_event.set()
        elif cycle is not None and not cycle.response_complete:
            # The function is running: its own timeout governs, not the client's silence.
            self._timer = self.loop.call_later(self.idle_s, self._check_idle)
        else:
            self.transport.close()

    # --- parser callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:  # noqa: D102 - httptools callback
        super().on_message_begin()
        self.scope["extensions"] = {"localalb.connection": self}  # type: ignore[dict-item]

    def on_url(self, url: bytes) -> None:  # noqa: D102 - httptools callback
        super().on_url(url)
        if len(self.url) > alb.MAX_HEADER_LINE:
            self._refuse_in_parser(400, "request line over 16 KB")

    def on_header(self, name: bytes, value: bytes) -> None:  # noqa: D102 - httptools callback
        if len(name) + len(value) + 4 > alb.MAX_HEADER_LINE:
            self._refuse_in_parser(400, "a header over 16 KB")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:  # noqa: D102 - httptools callback
        if self.parser.get_http_version() not in HTTP_VERSIONS:
            # "GET /ok" with no version (HTTP/0.9): ALB speaks HTTP/1.x and HTTP/2 only.
            self._refuse_in_parser(400, "no HTTP version in the request line")
        self._head_open = False
        self._head_bytes = 0
        previous = self.cycle
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not previous:
            self.scope["extensions"]["localalb.writer"] = _OneWrite(self, self.cycle)  # type: ignore[assignment]

    def on_message_complete(self) -> None:  # noqa: D102 - httptools callback
        super().on_message_complete()
        self._head_open = True

    def on_response_complete(self) -> None:
        """uvicorn's, less its keep-alive timer: ``_check_idle`` already applies ALB's idle timeout to
        every connection with one timer per idle period, where uvicorn arms and cancels one per
        request."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)

    async def respond(self, scope: dict[str, Any], status: int, lines: bytes, body: bytes) -> int:
        """Answer the request of ``scope`` with a whole response in one write, as uvicorn's ``send``
        would for ``http.response.start`` then ``http.response.body``, without its per-message
        work: ``lines`` are the header lines of a checked response (``response.head_lines``: names
        tokens, values without control characters, content-length). Returns the bytes counted in
        the access log (headers and body)."""
        writer: _OneWrite = scope["extensions"]["localalb.writer"]
        return await writer.respond(status, lines, body)

    def _refuse_in_parser(self, status: int, reason: str) -> None:
        self._refusal = (status, reason)
        raise _Refusal(reason)

    # --- refusals -----------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse, replaced by ALB's."""
        status, reason = self._refusal or (400, "malformed HTTP request")
        self.refuse(status, reason)

    def _close_lingering(self) -> None:
        """Close after a refusal the way web servers do: send FIN, then keep reading (and dropping)
        what the client is still sending for a moment. Closing at once while its bytes still arrive
        makes the kernel answer with a reset, which can destroy the refusal before the client reads
        it."""
        if not self.transport.can_write_eof():  # TLS: no half-close
            self.transport.close()
            return
        self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)

    def refuse(self, status: int, reason: str) -> None:
        """Answer ``status`` with ALB's error page, log it, and close the connection."""
        if self.refused:
            return
        self.refused = True
        if self.held is not None:
            self.held.flush()  # the answer to the request before this one goes first
        page = alb.error_response(status)
        head = [f"HTTP/1.1 {status} {alb.reason_phrase(status)}"]
        head += [f"{name}: {value}" for name, value in page.headers]
        head += [f"content-length: {len(page.body)}", "connection: close"]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + page.body
        if not self.transport.is_closing():
            self.transport.write(raw)
            self._close_lingering()
        url = getattr(self, "url", b"") or b""
        method = self.scope.get("method") if self.scope else None
        if method is None and url and self.parser is not None:
            method = self.parser.get_method().decode("latin-1")  # parsed before the URL began
        self.alb.refused(
            self.client or ("-", 0),
            status,
            reason,
            method=method or "-",
            target=url.decode("latin-1"),
            scheme=self.scheme or "http",
            headers=list(self.headers or []) if self.headers is not None else [],
            sent_bytes=len(raw),
            received_bytes=self._head_bytes,
        )


# How long a refused connection is still read (and its bytes dropped) after the answer.
LINGER_S = 2.0


class _OneWrite:
    """The transport one request's cycle writes its response through, installed on the cycle.

    uvicorn writes the status line and headers, then the body: two system calls and two TCP
    segments, and the client wakes up for each. Here the head waits for the body and both leave in
    one write. Anything else (a 100 Continue, a close) goes through at once, after what is held;
    the end of the response (a HEAD request has no body) and a refusal on the connection send what
    is held first.
    """

    def __init__(self, protocol: AlbProtocol, cycle: Any) -> None:
        self._protocol = protocol
        self._transport = protocol.transport
        self._cycle = cycle  # uvicorn's RequestResponseCycle: response_started is set before the head is written
        self._on_response = cycle.on_response
        self._held: bytes | None = None
        self._head_seen = False
        cycle.transport = self
        cycle.on_response = self._response_complete

    def write(self, data: bytes) -> None:
        if self._held is not None:
            data = self._release() + data
        elif not self._head_seen and self._cycle.response_started:
            self._head_seen = True
            self._held = data
            self._protocol.held = self
            return
        self._transport.write(data)

    def _release(self) -> bytes:
        held, self._held = self._held or b"", None
        self._protocol.held = None
        return held

    def flush(self) -> None:
        """Write what is held, if anything."""
        if self._held is not None:
            self._transport.write(self._release())

    def _response_complete(self) -> None:
        self.flush()
        self._on_response()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    async def respond(self, status: int, lines: bytes, body: bytes) -> int:
        """The response as uvicorn's cycle writes it (status line, its default headers such as
        date, then ``lines``, connection: close when the connection ends, no body for HEAD), and
        the cycle's state after it, in one write; see ``AlbProtocol.respond``."""
        if status in alb.NO_BODY_STATUSES:
            body = b""  # dropped, as HTTP requires: the next response on the connection stays framed
        cycle = self._cycle
        if cycle.flow.write_paused and not cycle.disconnected:
            await cycle.flow.drain()
        if cycle.disconnected:
            return len(lines) + len(body)  # counted as uvicorn's send would have been
        if cycle.response_started:
            raise RuntimeError("the response has already started")
        cycle.response_started = True
        cycle.waiting_for_100_continue = False
        head = [STATUS_LINES[status]]
        for name, value in cycle.default_headers:
            head += (name, b": ", value, b"\r\n")
        head.append(lines)
        if not cycle.keep_alive:
            head.append(b"connection: close\r\n")
        head.append(b"\r\n")
        if cycle.scope["method"] != "HEAD":
            head.append(body)
        self.flush()
        self._transport.write(b"".join(head))
        cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            self._transport.close()
        cycle.on_response()
        return len(lines) + len(body)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def whole_body(self) -> bytes | None:
        """The request's body when all of it has arrived and nothing is owed to the client before
        it is read (a 100 Continue): what uvicorn's ``receive`` would return, without awaiting it
        and building its message. None otherwise (then ``receive`` is the way)."""
        cycle = self._cycle
        if cycle.more_body or cycle.waiting_for_100_continue or cycle.disconnected:
            return None
        body, cycle.body = bytes(cycle.body), bytearray()
        return body


def protocol_for(app: LocalAlbApp) -> type[AlbProtocol]:
    """The protocol class uvicorn instantiates per connection, bound to ``app``."""
    return type("BoundAlbProtocol", (AlbProtocol,), {"alb": app})
