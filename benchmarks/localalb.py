"""Local ALB throughput and latency, side by side with serverless-offline's ALB mode.

    python3 dev.py bench-local        (needs wrk, e.g. `apt-get install wrk`, and npm for the peer)

Both servers run the same handler (function/app.py, the hello function) and get the same load:
``wrk -t2 -c20`` on GET /, after a warm-up so cold starts are not counted. Prints requests/s,
p50/p99 latency and errors for each, the ratio, the p99 of the warm-up (cold starts included), and
a run of exactly 10,000 requests against the local ALB counting every status. Asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench"
PEER_PACKAGES = ("serverless@3", "serverless-offline@13")
SERVERLESS_YML = """\
service: lambda-alb-bench
frameworkVersion: '3'
provider:
  name: aws
  runtime: python3.11
  stage: dev
plugins:
  - serverless-offline
custom:
  serverless-offline:
    albPort: {port}
    noPrependStageInUrl: true
functions:
  hello:
    handler: app.handler
    events:
      - alb:
          listenerArn: {listener_arn}
          priority: 1
          conditions:
            path: /
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(port: int, path: str = "/", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered 200 on port {port}")


def wrk(port: int, seconds: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", "-c20", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50%"),
        "p99": ms("99%"),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }


def measure(port: int, seconds: int) -> dict:
    """The measured run, after a 3-second warm-up whose figures are kept as ``cold``: every
    execution environment the load needs is started then (cold starts)."""
    cold = wrk(port, 3)
    return {**wrk(port, seconds), "cold": cold}


def start_local(quiet: bool) -> tuple[subprocess.Popen, int]:
    port = free_port()
    args = [sys.executable, "-m", "localalb", "serve", "--stack", "dev", "--port", str(port)]
    process = subprocess.Popen(
        [*args, "--quiet"] if quiet else args,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_until_serving(port)
    return process, port


def start_peer() -> tuple[subprocess.Popen, int]:
    peer = CACHE / "serverless-offline"
    peer.mkdir(parents=True, exist_ok=True)
    if not (peer / "node_modules" / "serverless-offline").exists():
        print(f"installing {' '.join(PEER_PACKAGES)} into {peer} (once) ...", flush=True)
        (peer / "package.json").write_text('{"name": "lambda-alb-bench-peer", "private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", *PEER_PACKAGES], cwd=peer, check=True)
    shutil.copy(ROOT / "function" / "app.py", peer / "app.py")
    port = free_port()
    listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/bench/50dc6c495c0c9188/f2f7dc8e"
    (peer / "serverless.yml").write_text(SERVERLESS_YML.format(port=port, listener_arn=listener))
    env = dict(os.environ, SLS_TELEMETRY_DISABLED="1", SLS_NOTIFICATIONS_MODE="off")
    process = subprocess.Popen(
        ["npx", "serverless", "offline", "--noPrependStageInUrl"],
        cwd=peer,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_until_serving(port)
    return process, port


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def exact_run(port: int, total: int = 10_000, connections: int = 20) -> Counter:
    """Exactly ``total`` GET / requests over ``connections`` keep-alive connections; every status counted."""
    statuses: Counter = Counter()
    lock = threading.Lock()
    per_connection = [total // connections + (1 if i < total % connections else 0) for i in range(connections)]

    def client(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(count):
            try:
                conn.request("GET", "/")
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError as exc:
                status = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                statuses[status] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in per_connection]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def row(name: str, result: dict) -> str:
    return (
        f"{name:<38} {result['rps']:>9,.0f} req/s   p50 {result['p50']:6.2f} ms   p99 {result['p99']:7.2f} ms   "
        f"non-2xx {result['non_2xx']}   socket errors {result['socket_errors']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured wrk run")
    parser.add_argument("--no-peer", action="store_true", help="skip serverless-offline")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    results = {}
    for quiet in (True, False):
        process, port = start_local(quiet)
        try:
            results["quiet" if quiet else "console"] = measure(port, args.seconds)
            if quiet:
                exact = exact_run(port)
        finally:
            stop(process)
    if not args.no_peer:
        process, port = start_peer()
        try:
            results["peer"] = measure(port, args.seconds)
        finally:
            stop(process)

    print(f"wrk -t2 -c20 -d{args.seconds}s GET / (hello function), after a 3 s warm-up, on {os.cpu_count()} cores")
    print(row("localalb --quiet", results["quiet"]))
    print(row("localalb (console to /dev/null)", results["console"]))
    if "peer" in results:
        print(row("serverless-offline 13 (ALB mode)", results["peer"]))
        print(f"ratio localalb --quiet / serverless-offline: {results['quiet']['rps'] / results['peer']['rps']:.2f}x")
        print(
            f"ratio localalb (console) / serverless-offline: {results['console']['rps'] / results['peer']['rps']:.2f}x"
        )
    print("first 3 s after start (cold starts included), p99:", end="")
    print("".join(f"  {name} {result['cold']['p99']:.2f} ms" for name, result in results.items()))
    print(f"10,000 requests over 20 connections to localalb: {dict(sorted(exact.items(), key=str))}")


if __name__ == "__main__":
    main()
