"""A Lambda execution environment: one process, one request at a time, reused while warm.

Started by the pool as ``python worker.py`` with a socket on the fd named by ``LOCALALB_FD``.
Frames are binary headers and a JSON payload, so the hot path parses only the event and encodes
only the result: a request is ``REQUEST`` (payload length, request id, timeout in ms) and the event;
an answer is ``ANSWER`` (kind, duration in ms, payload length) and the result, the error or, once
after the init phase, ``{"initMs": ...}``. The handler is imported
once (the "init" phase, timed and reported with the first answer), so module state survives
between requests as in a real execution environment.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import io
import json
import os
import signal
import site
import socket
import struct
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any, TextIO

# What the Lambda Python runtime provides besides the standard library.
LAMBDA_RUNTIME_PACKAGES = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"})
REQUEST = struct.Struct(">I36sI")
ANSWER = struct.Struct(">BdI")
READY, INIT_ERROR, RESULT, ERROR = range(4)


class _Context:
    """The ``context`` argument, with the attributes the Lambda Python runtime provides."""

    # Fixed for the life of the execution environment; read once by ``main``.
    function_name = function_version = memory_limit_in_mb = invoked_function_arn = ""
    log_group_name = log_stream_name = ""
    identity = client_context = None

    def __init__(self, request_id: str, deadline_ms: float) -> None:
        self.aws_request_id = request_id
        self._deadline_ms = deadline_ms

    @classmethod
    def configure(cls, env: Mapping[str, str]) -> None:
        cls.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        cls.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        cls.memory_limit_in_mb = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        cls.invoked_function_arn = env["LOCALALB_FUNCTION_ARN"]
        cls.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        cls.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


class _LambdaRuntimeImports(importlib.abc.MetaPathFinder):
    """Imports as in Lambda: the standard library, boto3 and its dependencies, and the function's
    own code. Anything else merely installed on this machine is refused, so a missing dependency
    fails here as it would in AWS (Runtime.ImportModuleError) instead of after the deploy."""

    def __init__(self, hidden_dirs: list[str], code_dir: str) -> None:
        self.hidden = tuple(os.path.join(d, "") for d in hidden_dirs)
        self.code_dir = code_dir

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if path is not None or fullname in LAMBDA_RUNTIME_PACKAGES:
            return None  # submodules follow their package
        spec = importlib.machinery.PathFinder.find_spec(fullname)
        locations = [spec.origin or ""] + list(spec.submodule_search_locations or []) if spec else []
        if any(location.startswith(self.hidden) for location in locations):
            raise ModuleNotFoundError(
                f"No module named '{fullname}': it is installed on this machine but not in the Lambda "
                f"runtime; package it with the function (in {self.code_dir})",
                name=fullname,
            )
        return None


class _TaggedStream(io.TextIOBase):
    """stdout/stderr that prefix every line with the current request id (as CloudWatch shows it)."""

    def __init__(self, target: TextIO | None) -> None:
        self._target = target
        self.request_id = "init"
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._target is None:
            return len(text)  # --quiet: the function's output is discarded here, not in a pipe
        self._pending += text
        if "\n" in self._pending:
            *lines, self._pending = self._pending.split("\n")
            self._target.write("".join(f"[{self.request_id}] {line}\n" for line in lines))
            self._target.flush()
        return len(text)

    def flush(self) -> None:
        if self._target is None:
            return
        if self._pending:
            self._target.write(f"[{self.request_id}] {self._pending}\n")
            self._pending = ""
        self._target.flush()


class _Channel:
    """The worker's end of the socket, reading whole frames with as few system calls as possible."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self, size: int) -> None:
        while len(self.buffer) < size:
            chunk = self.sock.recv(max(65536, size - len(self.buffer)))
            if not chunk:
                raise EOFError
            self.buffer += chunk

    def receive(self) -> tuple[str, int, bytes]:
        self._fill(REQUEST.size)
        size, request_id, timeout_ms = REQUEST.unpack_from(self.buffer)
        self._fill(REQUEST.size + size)
        payload = bytes(self.buffer[REQUEST.size : REQUEST.size + size])
        del self.buffer[: REQUEST.size + size]
        return request_id.decode(), timeout_ms, payload

    def send(self, kind: int, duration_ms: float, payload: bytes) -> None:
        self.sock.sendall(ANSWER.pack(kind, duration_ms, len(payload)) + payload)


def _error(kind: str, exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": kind if kind.startswith("Runtime.") else type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


def main() -> None:
    # The pool stops workers itself; a Ctrl-C meant for the server must not interrupt a handler.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    channel = _Channel(socket.socket(fileno=int(os.environ["LOCALALB_FD"])))
    _Context.configure(os.environ)
    quiet = os.environ.get("LOCALALB_QUIET") == "1"
    out, err = _TaggedStream(None if quiet else sys.stdout), _TaggedStream(None if quiet else sys.stderr)
    sys.stdout, sys.stderr = out, err
    code_dir, handler_name = os.environ["LAMBDA_TASK_ROOT"], os.environ["_HANDLER"]
    os.chdir(code_dir)
    sys.path[0] = code_dir  # was this file's folder: the function sees only its own code
    module_name, _, function_name = handler_name.rpartition(".")
    sys.meta_path.insert(0, _LambdaRuntimeImports([*site.getsitepackages(), site.getusersitepackages()], code_dir))

    started = time.perf_counter()
    try:
        # The function's requirements.txt, built for this machine by the pool: importable, unlike site-packages.
        if "LOCALALB_DEPENDENCIES_ERROR" in os.environ:
            raise ImportError(os.environ["LOCALALB_DEPENDENCIES_ERROR"])
        sys.path[1:1] = [os.environ["LOCALALB_DEPENDENCIES"]] if "LOCALALB_DEPENDENCIES" in os.environ else []
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:  # noqa: BLE001 - reported to the server as Lambda reports init errors
        traceback.print_exc()
        out.flush()
        err.flush()
        init_ms = (time.perf_counter() - started) * 1000
        channel.send(INIT_ERROR, init_ms, json.dumps(_error("Runtime.ImportModuleError", exc)).encode())
        return  # Lambda discards an environment whose init failed
    # The init phase ends here, as in Lambda: report it before the first invocation.
    channel.send(READY, (time.perf_counter() - started) * 1000, b"")
    while True:
        try:
            request_id, timeout_ms, event = channel.receive()
        except (EOFError, OSError):
            return  # the server closed our socket: stop
        out.request_id = err.request_id = request_id
        invoke_started = time.perf_counter()
        try:
            context = _Context(request_id, time.time() * 1000 + timeout_ms)
            kind, payload = RESULT, json.dumps(handler(json.loads(event), context), separators=(",", ":")).encode()
        except Exception as exc:  # noqa: BLE001 - an unhandled function error, as Lambda reports it
            print(json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}), file=sys.stderr)
            kind, payload = ERROR, json.dumps(_error(type(exc).__name__, exc)).encode()
        out.flush()
        err.flush()
        channel.send(kind, (time.perf_counter() - invoke_started) * 1000, payload)


if __name__ == "__main__":
    main()
