"""Local ALB throughput and latency, side by side with serverless-offline's ALB mode.

    python3 dev.py bench-local        (needs wrk, e.g. `apt-get install wrk`, and npm for the peer)
    .venv/bin/python benchmarks/localalb.py [--runs 3] [--seconds 10] [--before DIR] [--memory 60] [--no-peer]

Every server runs the same handler (function/app.py, the hello function) and gets the same load,
``wrk -t2 -c20`` on GET /. All of them are started first and warmed up (the first 3 s, cold starts
included, are reported apart), then measured in alternating runs (A B C, C B A, A B C ...), so that
a machine whose load changes gives each the same share of it, and none always runs right after the
same other one. Prints, per run, requests/s, p50 and p99 latency, the CPU time per request of the
server and every process it started (its workers; serverless-offline's node and its Python
processes; Linux only), errors (non-2xx and socket errors) and the load average; then each
server's median and the ratio to serverless-offline run by run; the server's memory before and
after; and a run of exactly 10,000 requests against the local ALB counting every status.
``--before DIR`` adds the local ALB of another checkout (e.g. ``git worktree add /tmp/before
<commit>``) to the rotation, for figures before and after a change; ``--memory 60`` ends with one
60-second run printing the server's memory every 5 s. Asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
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


def start_local(
    quiet: bool, root: Path = ROOT, python: str = sys.executable, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, int]:
    """``python -m localalb serve --stack dev`` from the checkout ``root``, on a free port."""
    port = free_port()
    args = [python, "-m", "localalb", "serve", "--stack", "dev", "--port", str(port)]
    process = subprocess.Popen(
        [*args, "--quiet"] if quiet else args,
        cwd=root,
        env=env,
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


TICK_US = 1_000_000 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else float("nan")


def proc_stat(pid: int) -> tuple[int, int, int]:
    """(parent pid, user ticks, system ticks) of a process, from /proc (Linux)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[11]), int(fields[12])


def process_tree(root: int) -> dict[int, tuple[int, int]]:
    """User and system ticks of ``root`` and every process below it (a server and its workers);
    empty where /proc is missing."""
    parents: dict[int, list[int]] = {}
    ticks: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                parent, user, system = proc_stat(int(entry))
            except (OSError, ValueError):
                continue  # gone meanwhile
            parents.setdefault(parent, []).append(int(entry))
            ticks[int(entry)] = (user, system)
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in ticks:
            tree[pid] = ticks[pid]
        todo += parents.get(pid, [])
    return tree


def cpu_us(before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]], requests: int) -> float:
    """CPU time (user and system) per request over the processes of ``after``, new ones from zero."""
    ticks = sum(u + s - sum(before.get(pid, (0, 0))) for pid, (u, s) in after.items())
    return ticks * TICK_US / max(requests, 1)


def measured(process: subprocess.Popen, port: int, seconds: int) -> dict:
    """One wrk run, with the load average and the CPU per request of the server and its workers."""
    before = process_tree(process.pid)
    result = wrk(port, seconds)
    after = process_tree(process.pid)
    return {**result, "load": os.getloadavg()[0], "cpu": cpu_us(before, after, result["requests"])}


def rss_mb(pid: int) -> float:
    """The resident memory of a process (Linux; NaN elsewhere)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


def row(name: str, result: dict) -> str:
    errors = result["non_2xx"] + result["socket_errors"]
    return (
        f"{name:<36} {result['rps']:>7,.0f} req/s   p50 {result['p50']:5.2f} ms   p99 {result['p99']:6.2f} ms   "
        f"CPU {result['cpu']:4.0f} µs/req   errors {errors}   load {result['load']:.2f}"
    )


def memory_run(process: subprocess.Popen, port: int, seconds: int) -> None:
    """One long wrk run, printing the server's resident memory every 5 s."""
    samples = [(0, rss_mb(process.pid))]
    load = threading.Thread(target=lambda: samples.append((-1, wrk(port, seconds)["rps"])))
    load.start()
    for elapsed in range(5, seconds + 1, 5):
        time.sleep(5)
        samples.append((elapsed, rss_mb(process.pid)))
    load.join()
    rps = next(value for at, value in samples if at == -1)
    memory = "  ".join(f"{at} s {mb:.1f}" for at, mb in samples if at >= 0)
    print(f"{seconds} s run of localalb --quiet at {rps:,.0f} req/s, server memory (MB): {memory}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs of each server, alternating")
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured wrk run")
    parser.add_argument("--no-peer", action="store_true", help="skip serverless-offline")
    parser.add_argument("--before", type=Path, help="also measure the local ALB of this checkout")
    parser.add_argument("--memory", type=int, default=0, metavar="SECONDS", help="end with a run this long")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    servers: dict[str, tuple[subprocess.Popen, int]] = {}
    try:
        servers["localalb --quiet"] = start_local(quiet=True)
        servers["localalb (console to /dev/null)"] = start_local(quiet=False)
        if args.before:
            servers["localalb --quiet, before"] = start_local(quiet=True, root=args.before.resolve())
        if not args.no_peer:
            servers["serverless-offline 13 (ALB mode)"] = start_peer()
        # Every execution environment the load needs starts in the first run (cold starts); the
        # second lets serverless-offline, whose first seconds are slow, settle.
        cold = {name: wrk(port, 3) for name, (_, port) in servers.items()}
        for _, port in servers.values():
            wrk(port, 5)
        memory_before = {name: rss_mb(process.pid) for name, (process, _) in servers.items() if "localalb" in name}
        runs: dict[str, list[dict]] = {name: [] for name in servers}
        print(f"wrk -t2 -c20 -d{args.seconds}s GET / (hello function), alternating runs, on {os.cpu_count()} cores")
        for run in range(1, args.runs + 1):
            # Every other run in reverse order (A B C, C B A, ...): none always follows the same one.
            order = list(servers.items()) if run % 2 else list(reversed(servers.items()))
            for name, (process, port) in order:
                result = measured(process, port, args.seconds)
                runs[name].append(result)
                print(f"run {run}  {row(name, result)}", flush=True)
        memory_after = {name: rss_mb(servers[name][0].pid) for name in memory_before}
        exact = exact_run(servers["localalb --quiet"][1])
        if args.memory:
            memory_run(*servers["localalb --quiet"], args.memory)
    finally:
        for process, _ in servers.values():
            stop(process)

    print("\nmedian of the runs:")
    for name, results in runs.items():
        median = {key: statistics.median(r[key] for r in results) for key in ("rps", "p50", "p99", "load", "cpu")}
        errors = {key: sum(r[key] for r in results) for key in ("non_2xx", "socket_errors")}
        print(f"        {row(name, {**median, **errors})}")
    peer = runs.get("serverless-offline 13 (ALB mode)")
    if peer:
        for name, results in runs.items():
            if name.startswith("localalb"):
                ratios = [ours["rps"] / theirs["rps"] for ours, theirs in zip(results, peer, strict=True)]
                each = ", ".join(f"{ratio:.2f}x" for ratio in ratios)
                print(
                    f"ratio {name} / serverless-offline, run by run: {each} (median {statistics.median(ratios):.2f}x)"
                )
    print(
        "first 3 s after start (cold starts included), p99:",
        "".join(f"  {name} {r['p99']:.2f} ms" for name, r in cold.items()),
    )
    print(
        "server memory (MB) before and after the runs:",
        "".join(f"  {name} {memory_before[name]:.1f} -> {memory_after[name]:.1f}" for name in memory_before),
    )
    print(f"10,000 requests over 20 connections to localalb --quiet: {dict(sorted(exact.items(), key=str))}")


if __name__ == "__main__":
    main()
