"""The local ALB under the attacks of issue 11: what a well-behaved client sees meanwhile.

    .venv/bin/python benchmarks/localalb_attacks.py [--root DIR] [--seconds 4]

``--root`` is the checkout whose ``localalb`` is measured (default: this one), so the same script
gives the figures before and after a change (e.g. ``git worktree add /tmp/before <commit>``). The
served project is a copy of tests/localalb_project (stack ``attack``: idle timeout 1 s, function
timeout 30 s). For each slow-connection attack a probe client sends GET / on one keep-alive
connection during the attack and the script prints its p50/p99/max latency, its failures, the
server's memory and how many attacking connections the server closed. Then single figures for
the function-side cases. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
PROBE_TIMEOUT_S = 2.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``python -m localalb serve`` from ``root`` on a free port, its console sent to ``stdout``."""

    def __init__(self, root: Path, project: Path, stdout=subprocess.DEVNULL, quiet: bool = True):
        self.port = free_port()
        args = [sys.executable, "-m", "localalb", "serve", "--stack", "attack", "--port", str(self.port)]
        args += ["--project-dir", str(project)] + (["--quiet"] if quiet else [])
        self.process = subprocess.Popen(args, cwd=root, stdout=stdout, stderr=stdout)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.05)
        get(self.port, "/")  # warm: one worker started

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def get(port: int, path: str, timeout: float = PROBE_TIMEOUT_S) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def probe(port: int, seconds: float) -> tuple[list[float], int]:
    """Latencies (ms) of GET / on one keep-alive connection for ``seconds``; failures reconnect."""
    latencies, failures = [], 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT_S)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        try:
            conn.request("GET", "/")
            conn.getresponse().read()
            latencies.append((time.perf_counter() - started) * 1000)
        except (OSError, http.client.HTTPException):
            failures += 1
            latencies.append(PROBE_TIMEOUT_S * 1000)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT_S)
        time.sleep(0.005)
    conn.close()
    return latencies, failures


def endless(prefix: bytes) -> Callable[[int, threading.Event, list], None]:
    """An attacker that sends ``prefix`` then 1 MB chunks without a line end, as fast as accepted."""

    def attack(port: int, stop: threading.Event, sockets: list) -> None:
        with contextlib.suppress(OSError):
            sock = socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT_S)
            sockets.append(sock)
            sock.sendall(prefix)
            chunk = b"a" * (1024 * 1024)
            while not stop.is_set():
                sock.sendall(chunk)

    return attack


def slow(first: bytes, drip: bytes | None) -> Callable[[int, threading.Event, list], None]:
    """An attacker that sends ``first`` and then, every half second, ``drip`` (None: nothing)."""

    def attack(port: int, stop: threading.Event, sockets: list) -> None:
        with contextlib.suppress(OSError):
            sock = socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT_S)
            sockets.append(sock)
            if first:
                sock.sendall(first)
            while not stop.wait(0.5):
                if drip:
                    sock.sendall(drip)

    return attack


CONNECTION_ATTACKS = [
    ("endless request line (4 connections, 1 MB chunks)", endless(b"GET /"), 4),
    ("endless header value (4 connections, 1 MB chunks)", endless(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: "), 4),
    ("slowloris (300 partial heads, a header every 0.5 s)", slow(b"GET / HTTP/1.1\r\nHost: x\r\n", b"X-a: b\r\n"), 300),
    ("silent connections (300, nothing sent)", slow(b"", None), 300),
    (
        "partial bodies (300, 10 of 1000 bytes)",
        slow(b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n0123456789", None),
        300,
    ),
]


def closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(65536, socket.MSG_PEEK) is not None and True
    except BlockingIOError:
        return False
    except OSError:
        return True


def run_connection_attack(root: Path, project: Path, name: str, attacker, count: int, seconds: float) -> None:
    server = Server(root, project)
    stop, sockets = threading.Event(), []
    rss_before = server.rss_mb()
    threads = [threading.Thread(target=attacker, args=(server.port, stop, sockets), daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    latencies, failures = probe(server.port, seconds)
    rss_after = server.rss_mb()
    closed = sum(closed_by_server(sock) for sock in list(sockets))
    stop.set()
    for sock in list(sockets):
        with contextlib.suppress(OSError):
            sock.close()
    server.stop()
    latencies.sort()
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    print(
        f"{name:55} probe p50 {statistics.median(latencies):7.2f} ms  p99 {p99:7.2f} ms  max {latencies[-1]:7.1f} ms"
        f"  failures {failures:3}  requests {len(latencies):4}  server RSS {rss_before:.0f}->{rss_after:.0f} MB"
        f"  attacker connections closed by the server {closed}/{len(sockets)}",
        flush=True,
    )


def timed(function: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    try:
        result = function()
    except (OSError, http.client.HTTPException) as exc:
        result = type(exc).__name__
    return time.perf_counter() - started, result


def function_cases(root: Path, project: Path) -> None:
    server = Server(root, project, quiet=False)
    seconds, status = timed(lambda: get(server.port, "/chatty?n=800000", timeout=40))
    print(f"{'800,000 one-character writes (console on)':55} {seconds:7.2f} s, status {status}", flush=True)
    seconds, status = timed(lambda: get(server.port, "/json-dump", timeout=40))
    print(f"{'json.dump of ~750 KB to stdout (console on)':55} {seconds:7.2f} s, status {status}", flush=True)
    seconds, status = timed(lambda: get(server.port, "/orphan-exit", timeout=40))
    print(
        f"{'crash leaving a child holding the socket':55} {seconds * 1000:7.0f} ms to the answer, status {status}",
        flush=True,
    )
    server.stop()

    read_end, write_end = os.pipe()
    server = Server(root, project, stdout=write_end, quiet=False)
    answered, end = 0, time.monotonic() + 5
    with contextlib.suppress(OSError, http.client.HTTPException):
        while time.monotonic() < end:
            get(server.port, "/print")
            answered += 1
    print(f"{'console into a pipe nobody reads':55} {answered} answered in 5 s (stops at a failure)", flush=True)
    server.stop()
    os.close(read_end)
    os.close(write_end)

    server = Server(root, project, quiet=True)
    pid_file = project / "spin.pid"
    pid_file.unlink(missing_ok=True)
    threading.Thread(target=lambda: timed(lambda: get(server.port, "/spin", timeout=60)), daemon=True).start()
    while not pid_file.exists() or not pid_file.read_text():
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    server.process.kill()
    server.process.wait()
    time.sleep(2)
    alive = Path(f"/proc/{worker}").exists() and " Z " not in Path(f"/proc/{worker}/stat").read_text()
    print(f"{'busy worker 2 s after SIGKILL of the server':55} {'still running' if alive else 'gone'}", flush=True)
    if alive:
        os.kill(worker, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout whose localalb to measure")
    parser.add_argument("--seconds", type=float, default=4.0, help="probe duration per attack")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(HERE / "tests" / "localalb_project", project, dirs_exist_ok=True)
        print(f"localalb from {args.root}; probe: GET / on one keep-alive connection, {PROBE_TIMEOUT_S:.0f} s timeout")
        server = Server(args.root.resolve(), project)
        latencies, failures = probe(server.port, args.seconds)
        server.stop()
        latencies.sort()
        print(
            f"{'no attack':55} probe p50 {statistics.median(latencies):7.2f} ms  "
            f"p99 {latencies[int(len(latencies) * 0.99) - 1]:7.2f} ms  failures {failures}",
            flush=True,
        )
        for name, attacker, count in CONNECTION_ATTACKS:
            run_connection_attack(args.root.resolve(), project, name, attacker, count, args.seconds)
        function_cases(args.root.resolve(), project)


if __name__ == "__main__":
    main()
