"""Where the local ALB's CPU goes per request, in the server and in the workers, stage by stage.

    .venv/bin/python benchmarks/localalb_profile.py --python /tmp/py313/bin/python [--root DIR] [--seconds 10]

Serves the dev stack (the hello function) with ``python -m localalb serve --quiet`` from ``--root``
(default: this checkout; another checkout gives the figures before a change) under bench-local's
load, ``wrk -t2 -c20`` on GET / after a warm-up, and prints two tables:

1. CPU time per request of the server process and of all the workers, user and system, read from
   /proc around a run with no profiler attached; with the client's (wrk), the rest of the machine's
   (the kernel's network work, other processes) and the idle time, so the rows add up to 2 cores.
2. That time split by stage, from ``perf record`` of the server and every worker during a second
   run: each sample is counted in the stage of its innermost Python function, named by Python's
   perf support (3.12+). perf counts only a process on a CPU; py-spy also counts a process that is
   ready but waiting for one, which on 2 loaded cores is most of its samples right after it wakes
   another process, so py-spy's split would blame the hand-off for the scheduler. The profiled run
   is slower; only its proportions are used, applied to the first table.

``--python`` is the interpreter that serves, with the project's dependencies installed; it must be
3.12 or newer for the split (``python3.13 -m venv /tmp/py313 && /tmp/py313/bin/pip install
--require-hashes -r requirements-dev.txt``). ``--console`` serves with the console on, to
/dev/null. Linux only, as root or with perf allowed; needs wrk and perf. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

# This folder is first on sys.path, so this is benchmarks/localalb.py (bench-local), not the package.
from localalb import ROOT, TICK_US, proc_stat, start_local, stop, wrk

Frame = tuple[str, str, str]  # (file name, function, the native functions it was running, leaf first)
Stages = tuple[tuple[str, Callable[[Frame], bool]], ...]  # (stage, whether a frame belongs to it)

# A sample belongs to the stage of its innermost Python function and the native code it was running
# (perf unwinds the native stack up to that function, not beyond): the first stage, in this order,
# that claims it. A sample with no Python function, or in asyncio's and uvloop's own code, is the
# event loop's (polling, reading sockets, running callbacks). In the server the only JSON encoding
# is the event's (before it was sent in marshal's format) and the only decoding the function's
# result (validation); in a worker both the result and the handler's log line are JSON-encoded.
SERVER_STAGES: Stages = (
    (
        "console: lines, escaping, the writer thread",
        lambda f: (
            f[0] == "console.py"
            or "_summarise" in f[1]
            or f[1] in ("LocalAlbApp.say", "WorkerPool._relay")
            or f[1].startswith("_Output")
        ),
    ),
    ("access-log line: record, format, write", lambda f: f[0] == "accesslog.py" or f[1] == "LocalAlbApp._request_line"),
    (
        "the event: encoding (JSON, then marshal)",
        lambda f: f[0] == "encoder.py" or f[1] == "dumps" or "marshal" in f[2],
    ),
    ("the hand-off: frame written to the worker", lambda f: f[1] == "_Worker.send"),
    ("the hand-off: request id, answer read, pool", lambda f: f[0] in ("pool.py", "uuid.py")),
    (
        # Since the checks moved to the workers, only the fields they send are decoded here.
        "the response: validation (JSON, shape)",
        lambda f: (
            f[0] in ("decoder.py", "response.py")
            or f[1] in ("loads", "parse_lambda_response", "decode_response", "_response_headers", "_response_body")
        ),
    ),
    (
        "the response: headers, write to the client",
        lambda f: (
            f[1] in ("LocalAlbApp._send", "RequestResponseCycle.send", "AlbProtocol.respond")
            or f[1].startswith("_OneWrite")
        ),
    ),
    ("the event: construction, limits, rules", lambda f: f[0] in ("alb.py", "rules.py")),
    (
        "HTTP: parsing, connection, ASGI cycle",
        lambda f: f[0] in ("httptools_impl.py", "protocol.py", "flow_control.py"),
    ),
    ("request bookkeeping (app.py, records)", lambda f: f[0] in ("app.py", "<string>")),
)
WORKER_STAGES: Stages = (
    ("output: print, tagged lines", lambda f: f[1].startswith("_TaggedStream")),
    ("request read (recv, frame)", lambda f: f[1] in ("_Channel.receive", "_Channel._fill")),
    ("answer written (send)", lambda f: f[1] in ("_Channel.send", "encode_response")),
    ("event decode (marshal)", lambda f: "marshal" in f[2]),
    # The only JSON a worker decodes is its result's, in ALB's checks (localalb/response.py).
    ("ALB's checks on the result (response.py)", lambda f: f[0] in ("response.py", "decoder.py") or f[1] == "loads"),
    ("JSON encoding: the result, the handler's log line", lambda f: f[0] == "encoder.py" or f[1] == "dumps"),
    ("the handler (function/app.py)", lambda f: f[0] == "app.py"),
    ("deadline timer, context", lambda f: f[1] in ("_deadline", "_Context.__init__")),
    ("invocation loop (worker.py)", lambda f: f[0] == "worker.py"),
)  # fmt: skip


def workers_of(server: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if proc_stat(int(entry))[0] == server:
                    pids.append(int(entry))
            except (OSError, ValueError):
                continue  # gone meanwhile
    return pids


def snapshot(server: int) -> dict[str, dict[int, tuple[int, int]]]:
    return {
        "server": {server: proc_stat(server)[1:]},
        "workers": {pid: proc_stat(pid)[1:] for pid in workers_of(server)},
    }


def machine_ticks() -> tuple[int, int]:
    """(busy, idle) ticks of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values[:8]) - idle, idle


def per_request(
    before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]], requests: int
) -> tuple[float, float]:
    """(user, system) microseconds per request over the processes of ``after`` (new ones from zero)."""
    user = sum(u - before.get(pid, (0, 0))[0] for pid, (u, _) in after.items())
    system = sum(s - before.get(pid, (0, 0))[1] for pid, (_, s) in after.items())
    return user * TICK_US / requests, system * TICK_US / requests


def accounting(server: int, port: int, seconds: int) -> dict[str, tuple[float, float]]:
    """CPU per request (user, system) in microseconds, by process, around one wrk run."""
    before, busy0, client0 = snapshot(server), machine_ticks(), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = wrk(port, seconds)
    after, busy1, client1 = snapshot(server), machine_ticks(), resource.getrusage(resource.RUSAGE_CHILDREN)
    n = result["requests"]
    budget = {role: per_request(before[role], after[role], n) for role in ("server", "workers")}
    budget["wrk (the client)"] = (
        (client1.ru_utime - client0.ru_utime) * 1e6 / n,
        (client1.ru_stime - client0.ru_stime) * 1e6 / n,
    )
    busy = (busy1[0] - busy0[0]) * TICK_US / n
    idle = (busy1[1] - busy0[1]) * TICK_US / n
    ours = sum(sum(pair) for pair in budget.values())
    budget["the rest: kernel (softirq), other processes"] = (0.0, busy - ours)
    budget["idle (both cores)"] = (0.0, idle)
    budget["_result"] = (result["rps"], result["p99"])
    return budget


def _samples(script: str) -> list[tuple[int, bool, Frame | None]]:
    """``perf script -F pid,ip,sym`` output as (pid, on a kernel address, innermost Python function)."""
    samples = []
    for block in script.split("\n\n"):
        lines = block.strip("\n").split("\n")
        if len(lines) < 2 or not lines[0].strip().isdigit():
            continue
        match = re.search(r"py::(\S+):(\S+)", block)
        native = block[: match.start()] if match else block
        frame = (Path(match.group(2)).name, match.group(1), native) if match else None
        samples.append((int(lines[0]), lines[1].split()[0].startswith("ffffffff"), frame))
    return samples


def stage_of(frame: Frame | None, stages: Stages) -> str:
    if frame is not None:
        for name, test in stages:
            if test(frame):
                return name
    return "event loop, interpreter, other"


def profile(python: str, root: Path, seconds: int, quiet: bool, folder: Path) -> dict[str, Counter[tuple[str, bool]]]:
    """``perf record`` of the server and its workers during a wrk run: samples by role, stage and
    whether the CPU was in the kernel."""
    env = dict(os.environ, PYTHONPERFSUPPORT="1")  # Python functions named in /tmp/perf-<pid>.map; workers inherit it
    process, port = start_local(quiet=quiet, root=root, python=python, env=env)
    data = folder / "perf.data"
    try:
        wrk(port, 3)
        server = process.pid
        pids = [server, *workers_of(server)]
        recorder = subprocess.Popen(
            ["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "--no-buildid-cache",
             "-p", ",".join(map(str, pids)), "-o", str(data)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1)  # attached
        wrk(port, seconds)
        recorder.send_signal(signal.SIGINT)
        recorder.wait()
        script = subprocess.run(
            ["perf", "script", "-F", "pid,ip,sym", "-i", str(data)], capture_output=True, text=True, check=True
        ).stdout
    finally:
        stop(process)
        for pid in pids:
            Path(f"/tmp/perf-{pid}.map").unlink(missing_ok=True)  # noqa: S108 - where Python writes it
    shares: dict[str, Counter[tuple[str, bool]]] = {"server": Counter(), "workers": Counter()}
    for pid, in_kernel, frame in _samples(script):
        role = "server" if pid == server else "workers"
        shares[role][(stage_of(frame, SERVER_STAGES if role == "server" else WORKER_STAGES), in_kernel)] += 1
    return shares


def table(title: str, shares: Counter[tuple[str, bool]], total_us: float) -> None:
    samples = sum(shares.values()) or 1
    stages: Counter[str] = Counter()
    kernel: Counter[str] = Counter()
    for (stage, in_kernel), count in shares.items():
        stages[stage] += count
        kernel[stage] += count if in_kernel else 0
    print(f"\n{title}: {total_us:.0f} µs per request ({samples} samples)")
    print(f"  {'stage':<46}     µs  share  of which in the kernel")
    for stage, count in stages.most_common():
        share, in_kernel = 100 * count / samples, 100 * kernel[stage] / count
        print(f"  {stage:<46} {total_us * count / samples:6.1f}  {share:4.0f} %  {in_kernel:4.0f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter that serves (3.12+)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose localalb to measure")
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured wrk run")
    parser.add_argument("--console", action="store_true", help="serve with the console on (to /dev/null)")
    args = parser.parse_args()
    for tool in ("wrk", "perf"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed (Debian: apt-get install {'wrk' if tool == 'wrk' else 'linux-perf'})")
    version = subprocess.run([args.python, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    if version != "True":
        sys.exit(f"{args.python} is older than Python 3.12, whose perf support names Python functions for perf")
    root, quiet = args.root.resolve(), not args.console
    process, port = start_local(quiet=quiet, root=root, python=args.python)
    try:
        wrk(port, 3)  # warm: every execution environment the load needs is started now
        budget = accounting(process.pid, port, args.seconds)
    finally:
        stop(process)
    with tempfile.TemporaryDirectory() as folder:
        shares = profile(args.python, root, args.seconds, quiet, Path(folder))
    rps, p99 = budget.pop("_result")
    mode = "--quiet" if quiet else "console to /dev/null"
    print(f"localalb {mode} from {root} on {args.python}: wrk -t2 -c20 -d{args.seconds}s GET /, {rps:,.0f} "
          f"requests/s, p99 {p99:.2f} ms, load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")  # fmt: skip
    print("\nCPU per request, µs                                 user  system   total")
    for role, (user, system) in budget.items():
        print(f"  {role:<48} {user:6.1f}  {system:6.1f}  {user + system:6.1f}")
    table("server, by stage", shares["server"], sum(budget["server"]))
    table("workers, by stage (one request runs in one worker)", shares["workers"], sum(budget["workers"]))


if __name__ == "__main__":
    main()
