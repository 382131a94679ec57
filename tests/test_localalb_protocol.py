"""The listener's connection driven the way uvicorn's own tests drive its protocol: a recording
transport and ``data_received``, no sockets. Pins the seams localalb/protocol.py reaches into, one
test each: the request cycle's ``transport``, ``response_started`` and ``on_response``; the
keep-alive timer; ``send_400_response``; ``self.url``, ``self.headers``, ``self.scope``,
``self.client`` and ``parser.get_http_version()``/``get_method()``; the cycle's ``more_body``,
``body``, ``waiting_for_100_continue``, ``disconnected`` and ``message_event``; and uvicorn's
handling of an upgrade without WebSockets."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path

import pytest
import uvicorn
from uvicorn.server import ServerState

from localalb.app import LocalAlbApp
from localalb.config import load_stack
from localalb.protocol import AlbProtocol, _OneWrite, protocol_for
from tests.test_localalb_cli import copy_test_project


class RecordingTransport(asyncio.Transport):
    """Every write as it was made, so a test can count them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.closed_by_server = False  # closed before the client went away (set by ``exchange``)
        self.aborted = False
        self.late: list[bytes] = []  # writes attempted after close

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 40000)}.get(name, default)

    def write(self, data) -> None:
        if self.closed:
            self.late.append(bytes(data))  # seen by a test even when the app swallows the error
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def abort(self) -> None:
        self.aborted = self.closed = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


@pytest.fixture
def app(tmp_path: Path) -> LocalAlbApp:
    """The ``single`` stack, whose /maintenance rule is a fixed response: no worker is needed."""
    project = copy_test_project(tmp_path / "project")
    return LocalAlbApp(load_stack(project, "single"), tmp_path / "logs", quiet=True)


def connect(app: LocalAlbApp) -> tuple[AlbProtocol, RecordingTransport]:
    """A new connection to the app's listener (inside a running event loop), as uvicorn makes it."""
    config = uvicorn.Config(app, http=protocol_for(app), lifespan="off", log_level="error")
    config.load()
    state = ServerState()
    state.default_headers = [(b"date", b"Sun, 06 Dec 2026 02:00:00 GMT")]  # as uvicorn's server sets it each second
    protocol = config.http_protocol_class(config=config, server_state=state, app_state={})  # type: ignore[call-arg]
    assert isinstance(protocol, AlbProtocol)
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


def exchange(app: LocalAlbApp, *chunks: bytes) -> RecordingTransport:
    """Feed ``chunks`` to one connection and let the requests run; the transport's writes."""

    async def run() -> RecordingTransport:
        protocol, transport = connect(app)
        for chunk in chunks:
            protocol.data_received(chunk)
            for _ in range(20):  # the request's task and the next pipelined one
                await asyncio.sleep(0)
        transport.closed_by_server = transport.closed
        protocol.connection_lost(None)
        return transport

    return asyncio.run(run())


def test_a_response_leaves_in_one_write(app):
    transport = exchange(app, b"GET /maintenance HTTP/1.1\r\nHost: x\r\n\r\n")
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 503 ")
    assert transport.writes[0].endswith(b'\r\n\r\n{"down":true}')


def test_a_head_request_gets_its_head_without_a_body(app):
    transport = exchange(app, b"HEAD /maintenance HTTP/1.1\r\nHost: x\r\n\r\n")
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 503 ")
    assert transport.writes[0].endswith(b"\r\n\r\n")


def test_pipelined_requests_are_answered_in_order(app):
    transport = exchange(
        app,
        b"HEAD /maintenance HTTP/1.1\r\nHost: x\r\n\r\nGET /maintenance HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    answers = b"".join(transport.writes)
    assert answers.count(b"HTTP/1.1 503 ") == 2
    assert answers.endswith(b'\r\n\r\n{"down":true}')
    assert answers.index(b"\r\n\r\n") < answers.index(b"HTTP/1.1 503 ", 1)  # HEAD's head came first, whole


def test_100_continue_goes_out_before_the_body_is_sent(app):
    head = b"POST /maintenance HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    transport = exchange(app, head, b"hi")
    assert transport.writes[0] == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert len(transport.writes) == 2
    assert transport.writes[1].startswith(b"HTTP/1.1 503 ")


def test_a_whole_body_is_taken_from_uvicorns_cycle_and_a_partial_one_through_receive(app):
    """``whole_body`` reads the cycle's ``more_body``, ``body`` and ``waiting_for_100_continue``
    as uvicorn's ``receive`` leaves them: the body once all of it is there, else None (the app then
    awaits ``receive``, which also sends a 100 Continue that is owed)."""

    async def run() -> list[bytes | None]:
        seen = []
        for chunk in (
            b"POST /maintenance HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
            b"POST /maintenance HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nhello",
            b"POST /maintenance HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
            b"GET /maintenance HTTP/1.1\r\nHost: x\r\n\r\n",
        ):
            protocol, _ = connect(app)
            protocol.data_received(chunk)  # the request's task has not run yet
            writer = protocol.scope["extensions"]["localalb.writer"]
            assert isinstance(writer, _OneWrite)
            seen.append(writer.whole_body())
            protocol.connection_lost(None)
        return seen

    assert asyncio.run(run()) == [b"hello", None, None, b""]


def test_a_refusal_while_a_head_is_held_sends_the_head_first(app):
    """A response waiting for its body (its task paused while the client drains) and a refusal on
    the same connection (the next request timed out half-sent): the held head goes first."""

    async def run() -> RecordingTransport:
        protocol, transport = connect(app)
        protocol.data_received(b"GET /maintenance HTTP/1.1\r\nHost: x\r\n\r\n")
        cycle = protocol.cycle
        cycle.response_started = True
        cycle.transport.write(b"HTTP/1.1 503 Service Unavailable\r\n\r\n")
        assert transport.writes == []  # held for the body
        protocol.refuse(408, "the request was incomplete at the idle timeout")
        protocol.connection_lost(None)
        return transport

    transport = asyncio.run(run())
    assert transport.writes[0] == b"HTTP/1.1 503 Service Unavailable\r\n\r\n"
    assert transport.writes[1].startswith(b"HTTP/1.1 408 ")


def test_between_requests_only_the_idle_timeout_watches_the_connection(app):
    """uvicorn's own keep-alive timer is not armed after a response: ALB's idle timeout, which
    protocol.py applies from the first byte, is the one that closes a quiet connection."""

    async def run() -> tuple[AlbProtocol, RecordingTransport]:
        protocol, transport = connect(app)
        protocol.data_received(b"GET /maintenance HTTP/1.1\r\nHost: x\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0)
        assert protocol.cycle is not None and protocol.cycle.response_complete
        assert protocol.timeout_keep_alive_task is None
        assert not transport.closed
        protocol._last_io -= protocol.idle_s  # as if idleTimeout had passed since
        protocol._check_idle()
        return protocol, transport

    _, transport = asyncio.run(run())
    assert transport.closed


# --- one test per uvicorn internal protocol.py relies on -------------------------------------
# Each fails when an upgrade of uvicorn changes the seam it names, before any server test does.


def record_refusals(app: LocalAlbApp) -> list[dict]:
    """What the listener logs for each request it answers itself (``LocalAlbApp.refused``)."""
    refusals: list[dict] = []
    app.refused = lambda client, status, reason, **fields: refusals.append(  # type: ignore[method-assign]
        {"status": status, "reason": reason, **fields}
    )
    return refusals


def test_uvicorn_passes_an_unparsable_request_to_send_400_response(app):
    """uvicorn's ``data_received`` catches httptools' ``HttpParserError`` and calls
    ``send_400_response``, which protocol.py overrides with ALB's page and log line."""
    refusals = record_refusals(app)
    transport = exchange(app, b"GET /maintenance HTTP/1.1\r\nHost x\r\n\r\n")
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"server: awselb/2.0\r\n" in transport.writes[0]  # ALB's page, not uvicorn's text/plain one
    assert transport.closed_by_server
    assert [(r["status"], r["reason"]) for r in refusals] == [(400, "malformed HTTP request")]


def test_an_exception_in_a_parser_callback_reaches_send_400_response(app):
    """A header over ALB's 16 KB is refused by raising inside uvicorn's ``on_header`` callback:
    httptools turns that into ``HttpParserError`` and uvicorn into ``send_400_response``. The
    method comes from ``parser.get_method()``, the target from uvicorn's ``self.url``."""
    refusals = record_refusals(app)
    transport = exchange(app, b"GET /maintenance?a=1 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 17000 + b"\r\n\r\n")
    assert transport.writes[0].startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert len(refusals) == 1
    assert refusals[0]["reason"] == "a header over 16 KB"
    assert refusals[0]["method"] == "GET"
    assert refusals[0]["target"] == "/maintenance?a=1"
    assert (b"host", b"x") in refusals[0]["headers"]  # uvicorn's self.headers, names lower-cased


def test_the_request_line_is_read_from_uvicorns_url_as_it_arrives(app):
    """``on_url`` accumulates uvicorn's ``self.url``; protocol.py measures it there."""
    refusals = record_refusals(app)
    transport = exchange(app, b"GET /" + b"a" * 17000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert transport.writes[0].startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert [r["reason"] for r in refusals] == ["request line over 16 KB"]


def test_the_http_version_comes_from_the_parser_at_headers_complete(app):
    """``parser.get_http_version()`` in ``on_headers_complete``: a request line with no version
    (HTTP/0.9) is refused; HTTP/1.0 is served, and closed after its answer as uvicorn does."""
    refusals = record_refusals(app)
    transport = exchange(app, b"GET /maintenance\r\n\r\n")
    assert transport.writes[0].startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert [r["reason"] for r in refusals] == ["no HTTP version in the request line"]

    transport = exchange(app, b"GET /maintenance HTTP/1.0\r\nHost: x\r\n\r\n")
    assert transport.writes[0].startswith(b"HTTP/1.1 503 ")
    assert b"connection: close\r\n" in transport.writes[0]
    assert transport.closed_by_server


def test_the_scope_uvicorn_builds_carries_the_connection_to_the_app(app):
    """uvicorn builds ``self.scope`` in ``on_message_begin`` and hands it to the app; protocol.py
    adds the connection there, which the app reads to see a refusal or a client that left."""

    async def run() -> AlbProtocol:
        protocol, _ = connect(app)
        protocol.data_received(b"GET /maintenance HTTP/1.1\r\nHost: x\r\n\r\n")
        assert protocol.cycle.scope is protocol.scope
        assert protocol.scope["extensions"]["localalb.connection"] is protocol
        for _ in range(20):
            await asyncio.sleep(0)
        return protocol

    assert asyncio.run(run()).cycle.response_complete


def test_a_body_cut_off_at_the_idle_timeout_is_refused_and_the_request_stopped(app):
    """``_check_idle`` reads uvicorn's cycle: ``more_body`` and ``response_started`` to see a
    partial body, then sets ``disconnected`` and ``message_event`` so the app's ``receive`` sees
    the client gone. One answer (408), one log line, and the function is never reached."""
    refusals = record_refusals(app)

    async def run() -> tuple[AlbProtocol, RecordingTransport]:
        protocol, transport = connect(app)
        protocol.data_received(b"POST /maintenance HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf")
        for _ in range(20):
            await asyncio.sleep(0)
        cycle = protocol.cycle
        assert cycle.more_body and not cycle.response_started  # the app is waiting for the rest
        protocol._last_io -= protocol.idle_s  # as if idleTimeout had passed since
        protocol._check_idle()
        for _ in range(20):
            await asyncio.sleep(0)
        assert cycle.disconnected
        return protocol, transport

    _, transport = asyncio.run(run())
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 408 ")
    assert [r["status"] for r in refusals] == [408]


def test_a_client_outside_allowed_cidrs_is_dropped_by_uvicorns_peer_address(app):
    """``connection_made``: uvicorn reads the peer into ``self.client`` from the transport's
    ``peername``; protocol.py then drops a peer outside ``allowedCidrs`` unanswered."""
    app.allowed = (ipaddress.ip_network("10.0.0.0/8"),)

    async def run() -> tuple[AlbProtocol, RecordingTransport]:
        return connect(app)

    protocol, transport = asyncio.run(run())
    assert protocol.client == ("127.0.0.1", 40000)
    assert transport.aborted and transport.writes == []


def test_a_websocket_upgrade_reaches_the_app_with_no_websocket_protocol(app):
    """With ``ws="none"`` uvicorn leaves an Upgrade request to the app (httptools raises
    ``HttpParserUpgrade``, uvicorn finds no WebSocket protocol), which answers 400 as ALB does."""
    transport = exchange(
        app,
        b"GET /maintenance HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_connection_lost_tells_the_running_request_its_client_left(app):
    """uvicorn's ``connection_lost`` marks the cycle ``disconnected`` and drops its parser;
    protocol.py's ``lost`` is what the app logs as 460."""

    async def run() -> tuple[AlbProtocol, RecordingTransport]:
        protocol, transport = connect(app)
        protocol.data_received(b"POST /maintenance HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf")
        cycle = protocol.cycle
        protocol.connection_lost(None)
        assert cycle.disconnected and protocol.lost and protocol.parser is None
        protocol.data_received(b"more")  # after the parser is gone: ignored, no error
        for _ in range(20):
            await asyncio.sleep(0)
        return protocol, transport

    _, transport = asyncio.run(run())
    assert transport.writes == []


# --- the response written without uvicorn's send (AlbProtocol.respond) -----------------------
# ALB's own pages and a function's checked results are written by protocol.py from uvicorn's
# cycle state; these pin that state: default_headers, keep_alive, the method in the scope,
# response_started/response_complete, message_event, on_response, and the flow's write_paused.


def test_an_alb_page_is_written_whole_with_uvicorns_default_headers(app):
    transport = exchange(app, b"TRACE /maintenance HTTP/1.1\r\nHost: x\r\n\r\n")
    assert len(transport.writes) == 1
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 405 Method Not Allowed"
    assert lines[1] == b"date: Sun, 06 Dec 2026 02:00:00 GMT"  # uvicorn's default headers come first
    assert b"server: awselb/2.0" in lines
    assert f"content-length: {len(body)}".encode() in lines
    assert b"<h1>405 Method Not Allowed</h1>" in body
    assert not transport.closed_by_server  # kept alive, as uvicorn's cycle decided


def test_a_written_response_completes_uvicorns_cycle_so_the_next_request_runs(app):
    """Two pipelined requests answered through ``respond``: the cycle is marked complete and
    ``on_response`` starts the queued one."""
    transport = exchange(
        app, b"TRACE /a HTTP/1.1\r\nHost: x\r\n\r\nTRACE /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert len(transport.writes) == 2
    assert all(write.startswith(b"HTTP/1.1 405 ") for write in transport.writes)
    assert b"connection: close\r\n" not in transport.writes[0]
    assert b"connection: close\r\n" in transport.writes[1]  # uvicorn's keep_alive, from the request
    assert transport.closed_by_server


def test_a_written_response_to_head_has_its_length_and_no_body(app):
    forwarded = ", ".join(f"10.0.0.{n}" for n in range(31))
    transport = exchange(app, f"HEAD /a HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {forwarded}\r\n\r\n".encode())
    assert len(transport.writes) == 1
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 463 ")
    assert b"content-length: " in head and not head.endswith(b"content-length: 0")
    assert body == b""


def test_a_written_response_waits_while_uvicorns_flow_control_has_writing_paused(app):
    """``cycle.flow.write_paused`` (the client is not reading): the response waits for
    ``flow.drain()`` as uvicorn's ``send`` does, then goes out when writing resumes."""

    async def run() -> tuple[list[bytes], RecordingTransport]:
        protocol, transport = connect(app)
        protocol.pause_writing()
        protocol.data_received(b"TRACE /a HTTP/1.1\r\nHost: x\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0)
        waiting = list(transport.writes)
        protocol.resume_writing()
        for _ in range(20):
            await asyncio.sleep(0)
        return waiting, transport

    waiting, transport = asyncio.run(run())
    assert waiting == []
    assert len(transport.writes) == 1 and transport.writes[0].startswith(b"HTTP/1.1 405 ")


def test_a_response_waiting_on_flow_control_is_dropped_when_the_client_leaves(app):
    """The client stops reading, then goes: uvicorn's ``connection_lost`` marks the cycle
    ``disconnected`` and resumes writing; the waiting response is not written to a closed
    connection."""

    async def run() -> RecordingTransport:
        protocol, transport = connect(app)
        protocol.pause_writing()
        protocol.data_received(b"TRACE /a HTTP/1.1\r\nHost: x\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0)
        protocol.connection_lost(None)
        for _ in range(20):
            await asyncio.sleep(0)
        return transport

    transport = asyncio.run(run())
    assert transport.writes == [] and transport.late == []
