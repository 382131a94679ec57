"""Worker processes that run the function like Lambda execution environments.

Each worker handles one request at a time and is reused while warm; a new one is started (a cold
start) only when every warm one is busy. A worker that timed out, crashed or failed its init is
discarded. Concurrency above ``reservedConcurrency`` is refused as throttled. A change under the
code directory retires the warm workers, so the next request loads the new code.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import marshal
import os
import signal
import socket
import struct
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.dependencies import local_dependency_env
from components.limits import known_str
from components.packaging import source_files
from localalb.config import LocalFunction, LocalStack
from localalb.console import escape

REQUEST = struct.Struct(">I36sI")  # event length, request id, timeout (ms); see worker.py
# The event crosses to the worker in marshal's format: both ends run this Python, and it is the
# standard library's fastest encoding of a dict of strings (a ninth of JSON's time, here).
ANSWER = struct.Struct(">BdI")  # kind, duration (ms), payload length
RESPONSE = struct.Struct(">HI")  # a checked result: status, length of the header lines; see worker.py
READY, INIT_ERROR, RESULT, ERROR, INVALID = range(5)
Answer = tuple[int, float, bytes]  # kind, duration (ms), payload
Answered = tuple[int, bytes, bytes]  # a checked result: status, header lines ready to send, body
WORKER_SCRIPT = Path(__file__).resolve().parent / "worker.py"
INIT_ALLOWANCE_S = 10.0  # Lambda's init phase has its own 10-second limit
# Without reserved concurrency, the local cap on simultaneous environments (Lambda's account
# default is 1000; a laptop is not).
DEFAULT_CONCURRENCY_LIMIT = 64
RELOAD_POLL_S = 0.5
MAX_OUTPUT_LINE = 1024 * 1024  # the worker cuts longer output itself; this only bounds the reader


class Throttled(Exception):
    """Every allowed execution environment is busy."""


@dataclass(slots=True)
class Invocation:
    """The outcome of one invocation, as the load balancer sees it."""

    request_id: str
    response: Answered | None = None  # the handler's result, checked by ALB's rules: status, header lines, body
    refused: tuple[int, str, str] | None = None  # or why ALB refuses it: status, reason, detail
    error: dict[str, Any] | None = None  # errorType, errorMessage, stackTrace
    failure: str | None = None  # "timeout" or "crash": the environment is gone
    cold: bool = False
    init_ms: float | None = None
    duration_ms: float = 0.0


class _Worker(asyncio.Protocol):
    """The server's end of one worker's socket: frames in, one awaited answer at a time."""

    def __init__(self, generation: int, number: int):
        self.process: asyncio.subprocess.Process | None = None
        self.transport: asyncio.Transport | None = None
        self.generation = generation
        self.number = number
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Answer] | None = None
        self._lost = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a socket transport, as connected

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if not self._buffer and waiter is not None and not waiter.done() and len(data) >= ANSWER.size:
            kind, duration_ms, size = ANSWER.unpack_from(data)
            if len(data) == ANSWER.size + size:
                # The usual read: one whole answer, taken without a copy through the buffer.
                waiter.set_result((kind, duration_ms, data[ANSWER.size :]))
                return
        self._buffer += data
        self._deliver()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("the worker exited"))

    def _deliver(self) -> None:
        waiter, buffer = self._waiter, self._buffer
        if waiter is None or waiter.done() or len(buffer) < ANSWER.size:
            return
        kind, duration_ms, size = ANSWER.unpack_from(buffer)
        if len(buffer) < ANSWER.size + size:
            return
        payload = bytes(buffer[ANSWER.size : ANSWER.size + size])
        del buffer[: ANSWER.size + size]
        waiter.set_result((kind, duration_ms, payload))

    async def answer(self, timeout: float) -> Answer:
        """The next frame from the worker; TimeoutError after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Answer] = loop.create_future()
        self._waiter = waiter
        self._deliver()
        if self._lost and not waiter.done():
            raise ConnectionError("the worker exited")
        timer = loop.call_later(timeout, _expire, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def send(self, request_id: str, timeout_ms: int, event: bytes) -> None:
        assert self.transport is not None  # connected before the worker is used
        self.transport.write(REQUEST.pack(len(event), request_id.encode(), timeout_ms) + event)

    def kill(self) -> None:
        """Stop the worker and anything it started (it leads its own process group)."""
        if self.transport is not None:
            self.transport.close()
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)


class _Output(asyncio.Protocol):
    """A worker's stdout and stderr, passed to the console a line at a time, control characters
    escaped; read as it arrives (in the event loop's read callback, no task to wake)."""

    def __init__(self, announce: Callable[[str], None]) -> None:
        self.announce = announce
        self.partial = b""
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        *lines, self.partial = (self.partial + data).split(b"\n")
        for line in lines:
            self.announce(escape(line.decode("utf-8", "replace")))
        if len(self.partial) > MAX_OUTPUT_LINE:
            self.partial = b""  # the worker cuts its lines far shorter; this only bounds the buffer

    def connection_lost(self, exc: Exception | None) -> None:
        if self.partial:
            self.announce(escape(self.partial.decode("utf-8", "replace")))
        if not self.done.done():
            self.done.set_result(None)


def _request_id() -> str:
    """A random (version 4) UUID as text, as Lambda's request ids are, without uuid.UUID's object."""
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


def decode_response(payload: bytes) -> Answered:
    """A result the worker checked (``worker.encode_response``): status, header lines, body."""
    status, size = RESPONSE.unpack_from(payload)
    end = RESPONSE.size + size
    return status, payload[RESPONSE.size : end], payload[end:]


def _expire(waiter: asyncio.Future[Answer]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class WorkerPool:
    """Runs one function's handler in worker processes separate from the server (one pool per
    function: each has its own workers, timeout and concurrency limit)."""

    def __init__(
        self,
        stack: LocalStack,
        quiet: bool = False,
        announce: Callable[[str], None] = print,
        function: LocalFunction | None = None,
    ):
        self.function = function or stack.primary()
        self.target_group_arn = self.function.target_group_arn  # in every event; formatted once
        fn = self.function.settings
        self.stack = stack
        self.timeout_s = fn.timeout
        self.limit = fn.reserved_concurrency or DEFAULT_CONCURRENCY_LIMIT
        self.quiet = quiet
        self.announce = announce
        self.generation = 0
        self.busy = 0
        self.cold_starts = 0
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._numbers = 0
        self._env = self._environment()
        self._watcher: asyncio.Task[None] | None = None
        self._relays: set[asyncio.Future[None]] = set()  # workers' output still being read
        self._snapshot = self._code_snapshot()

    def _environment(self) -> dict[str, str]:
        fn, stack, function = self.function.settings, self.stack, self.function
        env = dict(os.environ)
        env.update({key: known_str(value) for key, value in fn.environment.items()})  # a stack file's strings
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": function.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group_name,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_REGION": stack.region,
                "AWS_DEFAULT_REGION": stack.region,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
                "LAMBDA_TASK_ROOT": str(function.code_dir),
                "LAMBDA_RUNTIME_DIR": str(WORKER_SCRIPT.parent),
                "_HANDLER": fn.handler,
                "TZ": ":UTC",
                "PYTHONUNBUFFERED": "1",
                # The load balancer invokes the `live` alias, as the deployed stack does.
                "LOCALALB_FUNCTION_ARN": f"{function.arn}:live",
                # The header mode the worker checks the function's results in (it removes this).
                "LOCALALB_MULTI_VALUE": "1" if stack.settings.load_balancer.multi_value_headers else "0",
            }
        )
        return env

    async def start(self) -> None:
        """Start watching the code directory for changes."""
        self._watcher = asyncio.create_task(self._watch())

    async def close(self) -> None:
        """Stop every worker, idle or busy."""
        self.kill_all()
        await asyncio.gather(*(w.process.wait() for w in self._all if w.process), return_exceptions=True)
        await asyncio.gather(*self._relays, return_exceptions=True)
        self._all.clear()
        self._idle.clear()

    def kill_all(self) -> None:
        """Stop every worker at once, without waiting (the event loop is going away)."""
        if self._watcher:
            self._watcher.cancel()
        for worker in list(self._all):
            worker.kill()

    async def _spawn(self) -> _Worker:
        parent, child = socket.socketpair()
        self._numbers += 1
        number = self._numbers
        env = dict(self._env)
        env["LOCALALB_FD"] = str(child.fileno())
        env["LOCALALB_QUIET"] = "1" if self.quiet else "0"
        env["LOCALALB_SERVER_PID"] = str(os.getpid())
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        # requirements.txt, installed for this machine (cached by its hash, so rebuilt after it changes).
        env.update(
            await asyncio.to_thread(local_dependency_env, self.function.code_dir, self.stack.project_dir / ".build")
        )
        # The function's output comes back through a pipe the server reads, so a console nobody
        # drains can never block a handler in print().
        loop = asyncio.get_running_loop()
        output_read, output_write = (None, None) if self.quiet else os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER_SCRIPT),
                env=env,
                pass_fds=(child.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL if output_write is None else output_write,
                stderr=asyncio.subprocess.DEVNULL if output_write is None else output_write,
                # Its own session: a Ctrl-C in the terminal reaches the server only, which then
                # stops every worker itself.
                start_new_session=True,
            )
        except BaseException:
            if output_read is not None:
                os.close(output_read)
            raise
        finally:
            child.close()
            if output_write is not None:
                os.close(output_write)
        worker = _Worker(self.generation, number)
        worker.process = process
        if output_read is not None:
            relay = _Output(self.announce)
            await loop.connect_read_pipe(lambda: relay, open(output_read, "rb", buffering=0))  # noqa: SIM115 - the transport closes it
            self._relays.add(relay.done)
            relay.done.add_done_callback(self._relays.discard)
        await loop.connect_accepted_socket(lambda: worker, sock=parent)
        self._all.add(worker)
        return worker

    async def _init(self, worker: _Worker, outcome: Invocation) -> bool:
        """Wait for a new worker's init phase (10 s at most, as in Lambda); False when it failed."""
        try:
            kind, outcome.init_ms, payload = await worker.answer(INIT_ALLOWANCE_S)
        except TimeoutError:
            outcome.failure = "timeout"
        except ConnectionError:
            outcome.failure = "crash"
        else:
            if kind == INIT_ERROR:
                outcome.error = json.loads(payload)
        if outcome.failure or outcome.error:
            self._discard(worker)
            return False
        return True

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        self._all.discard(worker)

    async def invoke(self, event: dict[str, Any], wait_s: float | None = None) -> Invocation:
        """Run the handler on ``event`` in a warm worker, or a new one (cold start).

        ``wait_s`` (health checks) gives up sooner than the function's timeout; the worker is then
        replaced like a timed-out one.
        """
        if self.busy >= self.limit:
            raise Throttled
        self.busy += 1
        request_id = _request_id()
        outcome = Invocation(request_id)
        worker = None
        try:
            if self._idle:
                worker = self._idle.pop()
            else:
                worker = await self._spawn()
                outcome.cold = True
                self.cold_starts += 1
                if not await self._init(worker, outcome):
                    return outcome
            worker.send(request_id, self.timeout_s * 1000, marshal.dumps(event))
            try:
                kind, outcome.duration_ms, payload = await worker.answer(min(self.timeout_s, wait_s or self.timeout_s))
            except TimeoutError:
                outcome.failure = "timeout"
            except ConnectionError:
                outcome.failure = "crash"
            except asyncio.CancelledError:
                self._discard(worker)  # mid-invocation: it cannot be reused
                raise
            if outcome.failure:
                self._discard(worker)
                return outcome
            if kind == ERROR:
                outcome.error = json.loads(payload)
            elif kind == INVALID:
                status, reason, detail = json.loads(payload)
                outcome.refused = (int(status), str(reason), str(detail))
            else:
                outcome.response = decode_response(payload)
            if worker.generation != self.generation:
                self._discard(worker)  # the code changed while it ran
            else:
                self._idle.append(worker)
            return outcome
        finally:
            self.busy -= 1

    def _code_snapshot(self) -> tuple[tuple[str, bytes], ...]:
        # Contents, not mtimes: two same-size edits within the file system's time resolution
        # must still reload.
        code_dir = self.function.code_dir
        snapshot = []
        for name in source_files(code_dir):
            with contextlib.suppress(FileNotFoundError):
                snapshot.append((name, hashlib.blake2b((code_dir / name).read_bytes(), digest_size=16).digest()))
        return tuple(snapshot)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(RELOAD_POLL_S)
            snapshot = await asyncio.to_thread(self._code_snapshot)
            if snapshot != self._snapshot:
                self._snapshot = snapshot
                self.reload()

    def reload(self) -> None:
        """Retire every warm worker: the next request starts one with the current code."""
        self.generation += 1
        for worker in self._idle:
            self._discard(worker)
        self._idle.clear()
        self.announce(f"code changed under {self.function.settings.code_dir}/: reloading the function")
