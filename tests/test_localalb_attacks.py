"""The local ALB under hostile clients and hostile functions: each case once stalled, leaked or lied;
then what it answers and logs where it once differed from ALB (refused requests, clients that
leave, init errors, the console, Ctrl-C, the stack's allowedCidrs).

Socket-level where the defect is at that level. The ``attack`` stack has a one-second idle
timeout, so the timeout cases end in about a second.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import marshal
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localalb.config import load_stack
from tests.test_localalb_cli import ROOT, Running, _alive, copy_test_project, get, serving


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return copy_test_project(tmp_path_factory.mktemp("attack"))


@pytest.fixture(scope="module")
def server(project):
    with serving(project, "attack") as server:
        yield server


def connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a timeout fails the test)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def send_until_refused(sock: socket.socket, prefix: bytes, filler: bytes, total: int) -> None:
    """Send ``prefix`` then ``filler`` up to ``total`` bytes; stop quietly once the server hangs up."""
    try:
        sock.sendall(prefix)
        for _ in range(total // len(filler)):
            sock.sendall(filler)
    except (BrokenPipeError, ConnectionResetError):
        pass


def access_log(server) -> list[str]:
    server.app.access_log.flush()
    return server.app.access_log.path.read_text().splitlines()


def wait_for_log(server, needle: str) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [line for line in access_log(server) if needle in line]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no access-log line with {needle!r}")


def elb_status(line: str) -> str:
    return line.split(" ")[8]


# --- 1. a request head that never ends -----------------------------------------------------------


@pytest.mark.parametrize(
    "prefix",
    [b"GET /", b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: "],
    ids=["request-line", "header-value"],
)
def test_a_head_that_never_ends_is_refused_as_it_arrives_and_others_are_served(server, prefix):
    with connect(server) as sock:
        send_until_refused(sock, prefix, b"a" * 16384, 4 * 1024 * 1024)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:200]
    assert b"server: awselb/2.0" in answer and b"<h1>400 Bad Request</h1>" in answer
    assert get(server.port, "/")[0] == 200


# --- 2. workers die with the server ------------------------------------------------------------


def test_a_busy_worker_dies_when_the_server_is_killed(project):
    running = Running(project, "attack")
    pid_file = project / "spin.pid"
    pid_file.unlink(missing_ok=True)
    worker = None
    try:
        threading.Thread(target=lambda: _ignore_errors(get, running.port, "/spin"), daemon=True).start()
        deadline = time.monotonic() + 10
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the handler never started"
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        running.process.send_signal(signal.SIGKILL)
        running.process.wait(timeout=5)
        deadline = time.monotonic() + 5
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker), "the worker outlived the server"
    finally:
        running.stop()
        if worker is not None and _alive(worker):
            os.kill(worker, signal.SIGKILL)


def _ignore_errors(function, *args):
    with contextlib.suppress(OSError):
        function(*args)


def test_a_worker_keeps_its_own_deadline_when_nobody_stops_it(project):
    """Started by hand with no server to stop it, a spinning handler still ends after its timeout."""
    from localalb.pool import REQUEST, WorkerPool

    stack = load_stack(project, "attack")
    env = WorkerPool(stack, quiet=True)._env
    ours, theirs = socket.socketpair()
    env.update(LOCALALB_FD=str(theirs.fileno()), LOCALALB_QUIET="1", LOCALALB_SERVER_PID=str(os.getpid()))
    env["AWS_LAMBDA_LOG_STREAM_NAME"] = "test"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "localalb" / "worker.py")], env=env, pass_fds=(theirs.fileno(),)
    )
    theirs.close()
    try:
        event = marshal.dumps({"path": "/spin", "queryStringParameters": {}})
        ours.sendall(REQUEST.pack(len(event), b"0" * 36, 500) + event)  # a 0.5-second timeout
        assert process.wait(timeout=10) == -signal.SIGALRM
    finally:
        if process.poll() is None:
            process.kill()
        ours.close()


# --- 3. output without newlines --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/chatty?n=500000", "/json-dump"])
def test_output_without_newlines_does_not_slow_the_function_into_its_timeout(project, path):
    with Running(project, "chatty") as running:
        assert get(running.port, path) == (200, b"ok")
        running.wait_for(r"GET /(chatty|json-dump) -> 200")
        assert not any("Task timed out" in line for line in running.lines)


# --- 4. a body that never fully arrives ----------------------------------------------------------


def test_a_truncated_body_never_reaches_the_function_and_is_logged_460(server, project):
    record = project / "record.log"
    record.unlink(missing_ok=True)
    with connect(server) as sock:
        sock.sendall(b"POST /record?truncated=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"b" * 500)
        time.sleep(0.1)
    line = wait_for_log(server, "truncated=1")
    assert elb_status(line) == "460"
    assert get(server.port, "/record") == (200, b"ok")
    assert record.read_text() == "0\n"  # only the complete request ran


# --- 5. reloads --------------------------------------------------------------------------------


def test_a_same_size_edit_within_the_same_second_is_reloaded(project):
    from tests.test_localalb_cli import answering, serve_module, wait_for_body

    server = serve_module(project, "stale", answering(b"v1"))
    source = project / "handlers" / "stale.py"
    try:
        assert get(server.port) == (200, b"v1")
        stat = source.stat()
        source.write_text(answering(b"v2"))
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
        wait_for_body(server, b"v2")
    finally:
        server.stop()


# --- 6. the idle timeout from the first byte -------------------------------------------------------


def _drip_a_header_at_a_time(sock: socket.socket) -> None:
    sock.sendall(b"GET /slowloris HTTP/1.1\r\nHost: x\r\n")
    for _ in range(20):  # up to 5 s of dripping, far past the 1 s idle timeout
        if select.select([sock], [], [], 0.25)[0]:
            return  # the answer is there: sending more now would reset the connection under it
        sock.sendall(b"X-Drip: 1\r\n")
    raise AssertionError("a head still arriving after 5 s was still being read")


IDLE_CASES = {
    "silent": lambda sock: None,
    "partial head": lambda sock: sock.sendall(b"GET /partial-head HTTP/1.1\r\nHost: x\r\n"),
    "partial body": lambda sock: sock.sendall(
        b"POST /partial-body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"
    ),
    "head dripped a header at a time": _drip_a_header_at_a_time,
}


def test_the_idle_timeout_applies_from_the_first_byte(server):
    """A silent connection is closed; an incomplete request gets 408 (all cases at once: one timeout)."""

    def run(send) -> bytes:
        with connect(server) as sock:
            send(sock)
            return read_all(sock)

    with concurrent.futures.ThreadPoolExecutor(len(IDLE_CASES)) as pool:
        answers = dict(zip(IDLE_CASES, pool.map(run, IDLE_CASES.values()), strict=True))
    assert answers.pop("silent") == b""
    for case, answer in answers.items():
        assert answer.startswith(b"HTTP/1.1 408 Request Time-out\r\n"), (case, answer[:100])
    for target in ("/partial-head", "/partial-body", "/slowloris"):
        line = wait_for_log(server, target)
        # ALB's status 408, and no target status: none of them reached the function.
        assert (elb_status(line), line.split(" ")[9]) == ("408", "-"), line


# --- 7. a crash is seen at once, even with a child holding on --------------------------------------


def test_a_crash_that_leaves_a_child_running_is_a_502_at_once(project):
    with Running(project, "attack") as running:
        conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=8)  # well below the 30 s timeout
        conn.request("GET", "/orphan-exit")
        assert conn.getresponse().status == 502
        running.wait_for(r"the execution environment exited \(Runtime.ExitError\)")


# --- 8. the console cannot be forged ---------------------------------------------------------------


def test_request_data_in_an_exception_cannot_forge_console_lines(project):
    with Running(project, "attack") as running:
        forged = "%0AGET%20/forged%20-%3E%20200%1B%5B2J"
        assert get(running.port, f"/inject?m={forged}")[0] == 502
        running.wait_for(r"ValueError: \\x0aGET /forged -> 200\\x1b\[2J")
        running.wait_for(r"GET /inject -> 502")
        assert not any(line.startswith("GET /forged") for line in running.lines)
        assert not any("\x1b" in line for line in running.lines)


# --- 9. a console nobody reads ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_undrained_console_never_blocks_requests(project):
    port = _free_port()
    read_end, write_end = os.pipe()  # nobody ever reads read_end
    process = subprocess.Popen(
        [sys.executable, "-m", "localalb", "serve", "--stack", "attack", "--port", str(port)]
        + ["--project-dir", str(project)],
        cwd=ROOT,
        stdout=write_end,
        stderr=write_end,
    )
    os.close(write_end)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server never listened"
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for _ in range(1500):  # each prints a request line and a function line: far over a pipe's 64 KB
            conn.request("GET", "/print")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"ok")
        conn.close()
    finally:
        process.kill()
        process.wait()
        os.close(read_end)


# --- fidelity: what ALB answers and logs ---------------------------------------------------------


def exchange(server, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(data)
        return read_all(sock)


@pytest.mark.parametrize(
    "data",
    [b"GET /ok\r\n\r\n", b"GET /bad HTTP/1.1\r\nHost x\r\n\r\n", b"GET /sp ace HTTP/1.1\r\n\r\n", b"\x16\x03\x01\x00"],
    ids=["no-version", "header-without-colon", "space-in-target", "tls-on-http"],
)
def test_a_request_alb_cannot_parse_gets_its_400_page_and_an_access_log_line(server, data):
    before = len(access_log(server))
    answer = exchange(server, data)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:100]
    assert b"server: awselb/2.0" in answer and answer.endswith(b"</html>\r\n")
    deadline = time.monotonic() + 5
    while len(access_log(server)) == before:
        assert time.monotonic() < deadline, "no access-log line"
        time.sleep(0.05)
    assert elb_status(access_log(server)[-1]) == "400"


def test_a_client_that_leaves_before_the_answer_is_logged_460_with_the_target_status(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /nap?s=0.3&left=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    line = wait_for_log(server, "left=1")
    fields = line.split(" ")
    assert (fields[8], fields[9]) == ("460", "200")  # elb_status, target_status


@pytest.mark.parametrize(
    ("handler", "reported"),
    [
        ("typo.handler", r"Runtime\.UserCodeSyntaxError: "),
        ("attack.nothing", r"Runtime\.HandlerNotFound: Handler 'nothing' missing on module 'attack'"),
    ],
)
def test_init_errors_are_reported_as_lambda_does(project, handler, reported):
    (project / "handlers" / "typo.py").write_text("def handler(event, context)\n    return {}\n")
    stack = handler.split(".")[1]
    (project / f"Pulumi.{stack}.yaml").write_text(
        f"config:\n  lambda-alb:function:\n    codeDir: handlers\n    handler: {handler}\n"
    )
    with Running(project, stack) as running:
        assert get(running.port)[0] == 502
        running.wait_for(reported)


def test_a_long_refused_url_is_cut_on_the_console_and_ctrl_c_twice_stops_quietly(project):
    with Running(project, "attack") as running:
        with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
            sock.sendall(b"GET /" + b"u" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_all(sock).startswith(b"HTTP/1.1 400 ")
        line = running.wait_for(r"-> 400 +\(refused before the rules\) request line over 16 KB").string
        assert len(line) < 400 and "characters)" in line
        running.process.send_signal(signal.SIGINT)
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=10) == 0
        lines = running.all_lines()
        assert not any("Traceback" in line or "Error" in line for line in lines), lines


def test_a_peer_outside_allowed_cidrs_is_dropped_unanswered_and_the_console_says_so(project):
    with Running(project, "closed") as running:
        with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                answer = read_all(sock)
            except ConnectionResetError:
                answer = b""
        assert answer == b""
        running.wait_for(
            r"connection from 127\.0\.0\.1:\d+ dropped: not in loadBalancer\.allowedCidrs \(10\.0\.0\.0/8\)"
        )


def test_access_log_fields_cannot_split_or_forge_a_line():
    from localalb.accesslog import AccessRecord, format_line

    record = AccessRecord(received=0.0, client="127.0.0.1:1", elb_status=400, request_line='GET /a\n"x" \x1b[2J')
    line = format_line("app/x/local", record)
    assert "\n" not in line and "\x1b" not in line
    assert '"GET /a\\x0a\\"x\\" \\x1b[2J"' in line


@given(st.text())
def test_an_access_log_field_is_escaped_by_the_rule_whatever_path_it_takes(value):
    """``_quoted`` skips the regex for printable text; the result is the regex's, whatever the text."""
    from localalb.accesslog import _UNSAFE_RE, _escape, _quoted

    expected = '"-"' if value in ("", "-") else f'"{_UNSAFE_RE.sub(_escape, value)}"'
    assert _quoted(value) == expected


def test_console_lines_are_dropped_and_counted_while_nobody_reads_then_it_says_so():
    from localalb.console import Console

    read_end, write_end = os.pipe()
    out = os.fdopen(write_end, "w")
    console = Console(out, max_lines=100)
    for number in range(5000):  # ~300 KB: far beyond the pipe's buffer and the queue
        console.write(f"line {number} " + "x" * 50)
    assert console.dropped > 0  # and every write above returned: the caller never waited
    seen = []
    reader = threading.Thread(target=lambda: seen.append(os.fdopen(read_end, "rb").read()))
    reader.start()  # now someone reads
    console.flush(timeout=5)
    console.write("after the jam")
    console.close(timeout=5)
    out.close()
    reader.join(5)
    assert b"console line(s) dropped: the console was not read" in seen[0]
    assert seen[0].endswith(b"after the jam\n")
