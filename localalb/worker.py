"""A Lambda execution environment: one process, one request at a time, reused while warm.

Started by the pool as ``python -m localalb.worker`` with a socket on the fd named by
``LOCALALB_FD``. A frame is two 4-byte big-endian lengths, a JSON object and a raw payload
(the event for a request; the handler's JSON result for an answer, passed through unparsed). The handler is imported
once (the "init" phase, timed and reported with the first answer), so module state survives
between requests as in a real execution environment.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import signal
import socket
import struct
import sys
import time
import traceback

_LENGTHS = struct.Struct(">II")


class _Context:
    """The ``context`` argument, with the attributes the Lambda Python runtime provides."""

    def __init__(self, request_id: str, deadline_ms: float) -> None:
        env = os.environ
        self.aws_request_id = request_id
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.invoked_function_arn = env["LOCALALB_FUNCTION_ARN"]
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


class _TaggedStream(io.TextIOBase):
    """stdout/stderr that prefix every line with the current request id (as CloudWatch shows it)."""

    def __init__(self, target) -> None:
        self._target = target
        self.request_id = "init"
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            *lines, self._pending = self._pending.split("\n")
            self._target.write("".join(f"[{self.request_id}] {line}\n" for line in lines))
            self._target.flush()
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._target.write(f"[{self.request_id}] {self._pending}\n")
            self._pending = ""
        self._target.flush()


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _send(sock: socket.socket, meta: dict, payload: bytes = b"") -> None:
    encoded = json.dumps(meta, separators=(",", ":")).encode()
    sock.sendall(_LENGTHS.pack(len(encoded), len(payload)) + encoded + payload)


def _error(kind: str, exc: BaseException) -> dict:
    return {
        "errorType": kind if kind.startswith("Runtime.") else type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


def main() -> None:
    # The pool stops workers itself; a Ctrl-C meant for the server must not interrupt a handler.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sock = socket.socket(fileno=int(os.environ["LOCALALB_FD"]))
    out, err = _TaggedStream(sys.stdout), _TaggedStream(sys.stderr)
    sys.stdout, sys.stderr = out, err
    code_dir, handler_name = os.environ["LAMBDA_TASK_ROOT"], os.environ["_HANDLER"]
    os.chdir(code_dir)
    sys.path[0] = code_dir  # was this file's folder: the function sees only its own code
    module_name, _, function_name = handler_name.rpartition(".")

    started = time.perf_counter()
    init_error = None
    handler = None
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:  # noqa: BLE001 - reported to the server as Lambda reports init errors
        init_error = _error("Runtime.ImportModuleError", exc)
        traceback.print_exc()
    init_ms = (time.perf_counter() - started) * 1000
    # The init phase ends here, as in Lambda: report it before the first invocation.
    _send(sock, {"initMs": init_ms, "error": init_error} if init_error else {"initMs": init_ms})
    if init_error is not None:
        return  # Lambda discards an environment whose init failed
    while True:
        try:
            meta_size, payload_size = _LENGTHS.unpack(_recv_exactly(sock, _LENGTHS.size))
            request = json.loads(_recv_exactly(sock, meta_size))
            event = json.loads(_recv_exactly(sock, payload_size))
        except (EOFError, OSError):
            return  # the server closed our socket: stop
        out.request_id = err.request_id = request["requestId"]
        answer: dict = {}
        invoke_started = time.perf_counter()
        payload = b""
        try:
            deadline_ms = time.time() * 1000 + request["timeoutMs"]
            result = handler(event, _Context(request["requestId"], deadline_ms))
            payload = json.dumps(result, separators=(",", ":")).encode()
        except Exception as exc:  # noqa: BLE001 - an unhandled function error, as Lambda reports it
            answer["error"] = _error("Runtime.Unhandled", exc)
            print(json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}), file=sys.stderr)
        out.flush()
        err.flush()
        answer["durationMs"] = (time.perf_counter() - invoke_started) * 1000
        _send(sock, answer, payload)


if __name__ == "__main__":
    main()
