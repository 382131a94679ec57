"""Worker processes that run the function like Lambda execution environments.

Each worker handles one request at a time and is reused while warm; a new one is started (a cold
start) only when every warm one is busy. A worker that timed out, crashed or failed its init is
discarded. Concurrency above ``reservedConcurrency`` is refused as throttled. A change under the
code directory retires the warm workers, so the next request loads the new code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import struct
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from components.packaging import source_files
from localalb.config import LocalStack

_LENGTHS = struct.Struct(">II")
WORKER_SCRIPT = Path(__file__).resolve().parent / "worker.py"
INIT_ALLOWANCE_S = 10.0  # Lambda's init phase has its own 10-second limit
# Without reserved concurrency, the local cap on simultaneous environments (Lambda's account
# default is 1000; a laptop is not).
DEFAULT_CONCURRENCY_LIMIT = 64
RELOAD_POLL_S = 0.5


class Throttled(Exception):
    """Every allowed execution environment is busy."""


@dataclass
class Invocation:
    """The outcome of one invocation, as the load balancer sees it."""

    request_id: str
    payload: bytes | None = None  # the handler's result, JSON-encoded
    error: dict | None = None  # errorType, errorMessage, stackTrace
    failure: str | None = None  # "timeout" or "crash": the environment is gone
    cold: bool = False
    init_ms: float | None = None
    duration_ms: float = 0.0


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process, reader, writer, generation: int, number: int):
        self.process = process
        self.reader = reader
        self.writer = writer
        self.generation = generation
        self.number = number

    async def call(self, meta: dict, event: bytes) -> tuple[dict, bytes]:
        encoded = json.dumps(meta, separators=(",", ":")).encode()
        self.writer.write(_LENGTHS.pack(len(encoded), len(event)) + encoded + event)
        return await self.answer()

    async def answer(self) -> tuple[dict, bytes]:
        meta_size, payload_size = _LENGTHS.unpack(await self.reader.readexactly(_LENGTHS.size))
        answer = json.loads(await self.reader.readexactly(meta_size))
        return answer, await self.reader.readexactly(payload_size)

    def kill(self) -> None:
        """Stop the worker and anything it started (it leads its own process group)."""
        self.writer.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


class WorkerPool:
    """Runs the stack's handler in worker processes separate from the server."""

    def __init__(self, stack: LocalStack, quiet: bool = False, announce=print):
        fn = stack.settings.function
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
        self._watcher: asyncio.Task | None = None
        self._snapshot = self._code_snapshot()

    def _environment(self) -> dict[str, str]:
        fn, stack = self.stack.settings.function, self.stack
        env = dict(os.environ)
        env.update(fn.environment)
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": stack.function_name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
                "AWS_LAMBDA_LOG_GROUP_NAME": stack.log_group_name,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_REGION": stack.region,
                "AWS_DEFAULT_REGION": stack.region,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
                "LAMBDA_TASK_ROOT": str(stack.code_dir),
                "LAMBDA_RUNTIME_DIR": str(WORKER_SCRIPT.parent),
                "_HANDLER": fn.handler,
                "TZ": ":UTC",
                "PYTHONUNBUFFERED": "1",
                "LOCALALB_FUNCTION_ARN": stack.function_arn,
            }
        )
        return env

    async def start(self) -> None:
        """Start watching the code directory for changes."""
        self._watcher = asyncio.create_task(self._watch())

    async def close(self) -> None:
        """Stop every worker, idle or busy."""
        if self._watcher:
            self._watcher.cancel()
        for worker in list(self._all):
            worker.kill()
        await asyncio.gather(*(w.process.wait() for w in self._all), return_exceptions=True)
        self._all.clear()
        self._idle.clear()

    async def _spawn(self) -> _Worker:
        parent, child = socket.socketpair()
        self._numbers += 1
        number = self._numbers
        env = dict(self._env)
        env["LOCALALB_FD"] = str(child.fileno())
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        output = asyncio.subprocess.DEVNULL if self.quiet else None
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER_SCRIPT),
                env=env,
                pass_fds=(child.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                # Its own session: a Ctrl-C in the terminal reaches the server only, which then
                # stops every worker itself.
                start_new_session=True,
            )
        finally:
            child.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent)
        worker = _Worker(process, reader, writer, self.generation, number)
        self._all.add(worker)
        return worker

    async def _init(self, worker: _Worker, outcome: Invocation) -> bool:
        """Wait for a new worker's init phase (10 s at most, as in Lambda); False when it failed."""
        try:
            answer, _ = await asyncio.wait_for(worker.answer(), INIT_ALLOWANCE_S)
        except TimeoutError:
            outcome.failure = "timeout"
        except (asyncio.IncompleteReadError, ConnectionError):
            outcome.failure = "crash"
        else:
            outcome.init_ms = answer.get("initMs")
            outcome.error = answer.get("error")
        if outcome.failure or outcome.error:
            self._discard(worker)
            return False
        return True

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        self._all.discard(worker)

    async def invoke(self, event: dict) -> Invocation:
        """Run the handler on ``event`` in a warm worker, or a new one (cold start)."""
        if self.busy >= self.limit:
            raise Throttled
        self.busy += 1
        request_id = str(uuid.uuid4())
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
            meta = {"requestId": request_id, "timeoutMs": self.timeout_s * 1000}
            try:
                answer, payload = await asyncio.wait_for(
                    worker.call(meta, json.dumps(event, separators=(",", ":")).encode()), self.timeout_s
                )
            except TimeoutError:
                outcome.failure = "timeout"
            except (asyncio.IncompleteReadError, ConnectionError):
                outcome.failure = "crash"
            if outcome.failure:
                self._discard(worker)
                return outcome
            outcome.duration_ms = answer.get("durationMs", 0.0)
            outcome.error = answer.get("error")
            outcome.payload = payload if outcome.error is None else None
            if worker.generation != self.generation:
                self._discard(worker)  # the code changed while it ran
            else:
                self._idle.append(worker)
            return outcome
        finally:
            self.busy -= 1

    def _code_snapshot(self) -> tuple:
        code_dir = self.stack.code_dir
        snapshot = []
        for name in source_files(code_dir):
            with contextlib.suppress(FileNotFoundError):
                stat = (code_dir / name).stat()
                snapshot.append((name, stat.st_mtime_ns, stat.st_size))
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
        self.announce(f"code changed under {self.stack.settings.function.code_dir}/: reloading the function")
