"""The listener's connection driven the way uvicorn's own tests drive its protocol: a recording
transport and ``data_received``, no sockets. Pins the seam localalb/protocol.py reaches into: the
request cycle's ``transport``, ``response_started`` and ``on_response``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import uvicorn
from uvicorn.server import ServerState

from localalb.app import LocalAlbApp
from localalb.config import load_stack
from localalb.protocol import AlbProtocol, protocol_for
from tests.test_localalb_cli import copy_test_project


class RecordingTransport(asyncio.Transport):
    """Every write as it was made, so a test can count them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 40000)}.get(name, default)

    def write(self, data) -> None:
        assert not self.closed, "written after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

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
    protocol = config.http_protocol_class(config=config, server_state=ServerState(), app_state={})  # type: ignore[call-arg]
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
