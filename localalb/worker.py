"""A Lambda execution environment: one process, one request at a time, reused while warm.

Started by the pool as ``python worker.py`` with a socket on the fd named by ``LOCALALB_FD``.
Frames are a binary header and a payload, so the hot path decodes only the event and encodes only
the result: a request is ``REQUEST`` (payload length, request id, timeout in ms) and the event in
marshal's format (the server runs this same Python); an answer is ``ANSWER`` (kind, duration in
ms, payload length) and the result already checked as ALB checks it (``localalb/response.py``, on
the JSON Lambda would send): ``RESPONSE`` (status, length of the header lines), the header lines
as the listener writes them (``response.head_lines``), then the body; or the reason ALB refuses
the result, or the error, as JSON; or nothing once after the init phase. The handler is imported
once (the "init" phase, timed and reported with the first answer), so module state survives
between requests as in a real execution environment.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import json
import marshal
import os
import signal
import site
import socket
import struct
import sys
import time
import traceback
import types
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

# What the Lambda Python runtime provides besides the standard library.
LAMBDA_RUNTIME_PACKAGES = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"})
REQUEST = struct.Struct(">I36sI")
ANSWER = struct.Struct(">BdI")
RESPONSE = struct.Struct(">HI")
READY, INIT_ERROR, RESULT, ERROR, INVALID = range(5)
INIT_ALLOWANCE_S = 10.0
# The worker's own deadline past the function's timeout: the server normally stops it first; this
# stops it when the server is gone (killed with SIGKILL, say) and cannot.
DEADLINE_GRACE_S = 1.0
MAX_LINE_CHARS = 16 * 1024  # output without a newline is passed on in pieces of this size
PR_SET_PDEATHSIG = 1
_encode = json.JSONEncoder(separators=(",", ":")).encode  # the result, as compact as Lambda sends it


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
        self.code_prefix = os.path.join(code_dir, "")

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in LAMBDA_RUNTIME_PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None:
            return None
        locations = [spec.origin or ""] + list(spec.submodule_search_locations or [])
        if path is None and any(location.startswith(self.hidden) for location in locations):
            raise ModuleNotFoundError(
                f"No module named '{fullname}': it is installed on this machine but not in the Lambda "
                f"runtime; package it with the function (in {self.code_dir})",
                name=fullname,
            )
        if isinstance(spec.loader, importlib.machinery.SourceFileLoader) and (spec.origin or "").startswith(
            self.code_prefix
        ):
            spec.loader = _SourceOnlyLoader(spec.loader.name, spec.loader.path)
            return spec
        return None


class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Loads the function's own modules from their source, never from ``__pycache__``.

    Cached bytecode is trusted when the source's mtime (whole seconds) and size match: two
    same-size edits within a second would keep serving the old code after a reload.
    """

    def get_code(self, fullname: str) -> types.CodeType:  # noqa: D102 - importlib API
        return self.source_to_code(self.get_data(self.path), self.path)


class _TaggedStream(io.TextIOBase):
    """stdout/stderr that prefix every line with the current request id (as CloudWatch shows it)."""

    def __init__(self, target: TextIO | None) -> None:
        self._target = target
        self.request_id = "init"
        # Text since the last newline, as pieces: appending is O(1) and only the new piece is
        # searched, so a million one-character writes stay linear.
        self._pending: list[str] = []
        self._pending_chars = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._target is None:
            return len(text)  # --quiet: the function's output is discarded here, not in a pipe
        if "\n" not in text:
            self._pending.append(text)
            self._pending_chars += len(text)
            if self._pending_chars >= MAX_LINE_CHARS:
                self.flush()
            return len(text)
        head, *lines = text.split("\n")
        lines[-1:] = []  # the text after the last newline stays pending
        first = "".join(self._pending) + head
        tail = text[text.rfind("\n") + 1 :]
        self._pending, self._pending_chars = ([tail], len(tail)) if tail else ([], 0)
        self._target.write("".join(f"[{self.request_id}] {line}\n" for line in (first, *lines)))
        self._target.flush()
        return len(text)

    def flush(self) -> None:
        if self._target is None:
            return
        if self._pending:
            self._target.write(f"[{self.request_id}] {''.join(self._pending)}\n")
            self._pending, self._pending_chars = [], 0
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

    def receive(self) -> tuple[str, int, bytearray]:
        self._fill(REQUEST.size)
        size, request_id, timeout_ms = REQUEST.unpack_from(self.buffer)
        end = REQUEST.size + size
        self._fill(end)
        payload = self.buffer[REQUEST.size : end]  # one copy; marshal reads a bytearray as it is
        del self.buffer[:end]
        return request_id.decode(), timeout_ms, payload

    def send(self, kind: int, duration_ms: float, payload: bytes) -> None:
        self.sock.sendall(ANSWER.pack(kind, duration_ms, len(payload)) + payload)


def encode_response(status: int, lines: bytes, body: bytes) -> bytes:
    """A checked result as it crosses to the server (read by ``pool.decode_response``): status,
    header lines ready to send (``response.head_lines``) and body. The server decodes nothing a
    function could make unsafe to decode, and writes the lines as they are: the checks that made
    them run here, where the result was just encoded."""
    return RESPONSE.pack(status, len(lines)) + lines + body


def _error(kind: str, exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": kind if kind.startswith("Runtime.") else type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def _init_error_kind(exc: BaseException) -> str:
    """The error type Lambda's Python runtime reports for a failed init."""
    if isinstance(exc, SyntaxError):
        return "Runtime.UserCodeSyntaxError"
    if isinstance(exc, _HandlerNotFound):
        return "Runtime.HandlerNotFound"
    return "Runtime.ImportModuleError"


class _HandlerNotFound(Exception):
    """The module has no attribute named by the handler setting."""


def _die_with_the_server(server_pid: int) -> None:
    """Be killed when the server dies, whatever killed it (Linux: a parent-death signal)."""
    if sys.platform.startswith("linux"):
        # The process's own symbols include libc's prctl (no library search: it would cost a
        # subprocess at every cold start).
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != server_pid:
        os._exit(1)  # the server died before the signal was armed


def _deadline(seconds: float) -> None:
    """Arm (or, with 0, disarm) the worker's own deadline: SIGALRM's default action ends it even
    inside a busy loop, with no Python code needed to run."""
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _response_checks() -> types.ModuleType:
    """``localalb/response.py``, ALB's checks on a result, loaded by its path under a private name:
    this folder is not on the function's import path, and the function's own modules keep theirs."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "response.py")
    spec = importlib.util.spec_from_file_location("_localalb_response", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    # The pool stops workers itself; a Ctrl-C meant for the server must not interrupt a handler.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    _die_with_the_server(int(os.environ["LOCALALB_SERVER_PID"]))
    fd = int(os.environ.pop("LOCALALB_FD"))
    # Not passed on to processes the function starts: one left running would keep the socket
    # open, and the server would see a crash only at the timeout.
    os.set_inheritable(fd, False)
    channel = _Channel(socket.socket(fileno=fd))
    checks = _response_checks()
    check, refused, head_lines = checks.check_lambda_response, checks.AlbError, checks.head_lines
    multi_value = os.environ.pop("LOCALALB_MULTI_VALUE", "0") == "1"  # the target group's header mode
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
    _deadline(INIT_ALLOWANCE_S + DEADLINE_GRACE_S)
    try:
        # The function's requirements.txt, built for this machine by the pool: importable, unlike site-packages.
        if "LOCALALB_DEPENDENCIES_ERROR" in os.environ:
            raise ImportError(os.environ["LOCALALB_DEPENDENCIES_ERROR"])
        sys.path[1:1] = [os.environ["LOCALALB_DEPENDENCIES"]] if "LOCALALB_DEPENDENCIES" in os.environ else []
        module = importlib.import_module(module_name)
        if not hasattr(module, function_name):
            raise _HandlerNotFound(f"Handler '{function_name}' missing on module '{module_name}'")
        handler = getattr(module, function_name)
    except Exception as exc:  # noqa: BLE001 - reported to the server as Lambda reports init errors
        traceback.print_exc()
        out.flush()
        err.flush()
        init_ms = (time.perf_counter() - started) * 1000
        channel.send(INIT_ERROR, init_ms, json.dumps(_error(_init_error_kind(exc), exc)).encode())
        return  # Lambda discards an environment whose init failed
    _deadline(0)
    # The init phase ends here, as in Lambda: report it before the first invocation.
    channel.send(READY, (time.perf_counter() - started) * 1000, b"")
    while True:
        try:
            request_id, timeout_ms, encoded_event = channel.receive()
        except (EOFError, OSError):
            return  # the server closed our socket: stop
        out.request_id = err.request_id = request_id
        invoke_started = time.perf_counter()
        _deadline(timeout_ms / 1000 + DEADLINE_GRACE_S)
        try:
            context = _Context(request_id, time.time() * 1000 + timeout_ms)
            event = marshal.loads(encoded_event)  # noqa: S302 - written by the server, on a socket only it holds
            result = handler(event, context)
            kind, payload = RESULT, _encode(result).encode()
        except Exception as exc:  # noqa: BLE001 - an unhandled function error, as Lambda reports it
            print(json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}), file=sys.stderr)
            kind, payload = ERROR, json.dumps(_error(type(exc).__name__, exc)).encode()
        _deadline(0)
        duration_ms = (time.perf_counter() - invoke_started) * 1000
        out.flush()
        err.flush()
        if kind == RESULT:
            # ALB's checks, here rather than in the server: the server's one process serves every
            # request, and this one has just encoded the JSON they apply to.
            try:
                status, headers, body = check(payload, multi_value, result)
                payload = encode_response(status, head_lines(status, headers, body), body)
            except refused as exc:
                kind, payload = INVALID, json.dumps([exc.status, exc.reason, exc.detail]).encode()
            except Exception as exc:  # noqa: BLE001 - a body ALB cannot send, such as a lone surrogate
                kind, payload = INVALID, json.dumps([502, "LambdaInvalidResponse", str(exc)]).encode()
        channel.send(kind, duration_ms, payload)


if __name__ == "__main__":
    main()
