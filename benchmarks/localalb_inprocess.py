"""The local ALB's own work per request, without sockets, wake-ups or other processes' noise.

    .venv/bin/python benchmarks/localalb_inprocess.py [--root DIR ...] [--requests 10000] [--runs 5]
    .venv/bin/python benchmarks/localalb_inprocess.py --instructions [--root DIR ...]      (needs valgrind)

Two measures, for each checkout given with ``--root`` (default: this one), in alternating runs:

1. **server**: the dev stack's app and listener protocol in one process, fed ``GET /`` on 20
   connections through a transport that only counts writes, with a pool whose invocation answers
   at once with the hello function's result (as the worker sends it: checked, for a checkout that
   has ``localalb/response.py``, the JSON before). CPU time per request: HTTP parsing, the ASGI
   cycle, the event, the access-log line, the response; no system calls.
2. **worker**: one worker process (``localalb/worker.py``) sent the hello event over its socket,
   one request at a time; its CPU per request from /proc (Linux): the frame, the event's decode,
   the handler, the result's encoding and checks, the answer.

``--instructions`` counts instead the instructions the server runs per request (valgrind's
callgrind; the difference between a run of 1,000 and one of 3,000 requests, so start-up cancels
out): exact and blind to the machine's load, for a change worth a microsecond or two.

Both leave out what a loaded machine adds (the wake-up of a process, caches another process
emptied): ``benchmarks/localalb_profile.py`` measures the whole under ``bench-local``'s load.
Other processes on the machine only add to a run's time, so the fastest run is printed first,
then the median and the slowest. Asserts nothing.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SERVER = r"""
import asyncio, json, sys, tempfile, time
from pathlib import Path
root, requests = Path(sys.argv[1]), int(sys.argv[2])
sys.path.insert(0, str(root))
sys.path.insert(0, str(root / "function"))
import uvicorn, uvloop
from uvicorn.server import ServerState
from localalb import pool
from localalb.app import LocalAlbApp
from localalb.config import load_stack
from localalb.protocol import protocol_for
import app as function

result = function.handler({"httpMethod": "GET", "path": "/", "headers": {}}, None)
payload = json.dumps(result, separators=(",", ":")).encode()
if hasattr(pool, "decode_response"):  # the worker checks the result and sends plain fields
    from localalb import response as checks
    from localalb.worker import encode_response
    status, headers, body = checks.check_lambda_response(payload, False)
    if hasattr(checks, "head_lines"):  # ... as the header lines the listener writes
        fields = encode_response(status, checks.head_lines(status, headers, body), body)
    else:
        fields = encode_response(status, headers, body)
    def answer(outcome):
        outcome.response = pool.decode_response(fields)
else:
    def answer(outcome):
        outcome.payload = payload

async def invoke(self, event, wait_s=None):
    pool.marshal.dumps(event)  # the frame's encoding, as the pool writes it
    outcome = pool.Invocation(pool._request_id())
    answer(outcome)
    return outcome

pool.WorkerPool.invoke = invoke
app = LocalAlbApp(load_stack(root, "dev"), Path(tempfile.mkdtemp()), quiet=True)

class Counting(asyncio.Transport):
    def __init__(self):
        super().__init__()
        self.writes, self.closed = 0, False
    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 40000)}.get(name, default)
    def write(self, data):
        self.writes += 1
    def close(self):
        self.closed = True
    def is_closing(self):
        return self.closed
    def pause_reading(self):
        pass
    def resume_reading(self):
        pass

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"

async def main():
    config = uvicorn.Config(app, http=protocol_for(app), lifespan="off", log_level="error", proxy_headers=False,
                            ws="none", server_header=False, access_log=False)
    config.load()
    connections = []
    for _ in range(20):
        protocol = config.http_protocol_class(config=config, server_state=ServerState(), app_state={})
        transport = Counting()
        protocol.connection_made(transport)
        connections.append((protocol, transport))

    async def client(protocol, transport, n):
        for _ in range(n):
            before = transport.writes
            protocol.data_received(REQUEST)
            while transport.writes == before:
                await asyncio.sleep(0)

    await asyncio.gather(*(client(p, t, 200) for p, t in connections))  # warm-up
    started = time.process_time()
    await asyncio.gather(*(client(p, t, requests // 20) for p, t in connections))
    print((time.process_time() - started) / requests * 1e6)

uvloop.run(main())
app.access_log.close()
"""

WORKER = r"""
import marshal, os, socket, subprocess, sys
from pathlib import Path
root, requests = Path(sys.argv[1]), int(sys.argv[2])
sys.path.insert(0, str(root))
from localalb import alb
from localalb.config import load_stack
from localalb.pool import ANSWER, REQUEST, WorkerPool

pool = WorkerPool(load_stack(root, "dev"), quiet=True)
ours, theirs = socket.socketpair()
env = dict(pool._env, LOCALALB_FD=str(theirs.fileno()), LOCALALB_QUIET="1", LOCALALB_SERVER_PID=str(os.getpid()),
           AWS_LAMBDA_LOG_STREAM_NAME="bench")
process = subprocess.Popen([sys.executable, str(root / "localalb" / "worker.py")], env=env, pass_fds=(theirs.fileno(),))
theirs.close()
request = alb.HttpRequest(method="GET", raw_path=b"/", raw_query=b"", headers=((b"host", b"127.0.0.1:8080"),
                          (b"user-agent", b"bench"), (b"accept", b"*/*")), body=b"", client_ip="127.0.0.1",
                          client_port=40000, listener_port=8080)
event = marshal.dumps(alb.build_event(request, False, pool.target_group_arn, alb.new_trace_id()))
frame = REQUEST.pack(len(event), b"0" * 36, 3000) + event

def answer():
    data = b""
    while len(data) < ANSWER.size or len(data) < ANSWER.size + ANSWER.unpack_from(data)[2]:
        data += ours.recv(65536)

def ticks():
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])

answer()  # the init phase
for _ in range(2000):
    ours.sendall(frame)
    answer()
before = ticks()
for _ in range(requests):
    ours.sendall(frame)
    answer()
print((ticks() - before) * 1e6 / os.sysconf("SC_CLK_TCK") / requests)
process.kill()
"""


def measure(script: str, root: Path, requests: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", script, str(root), str(requests)], capture_output=True, text=True, check=True
    ).stdout
    return float(out.strip().splitlines()[-1])


def instructions(root: Path) -> float:
    """The server's instructions per request, by callgrind (slow: about two minutes)."""

    def count(requests: int) -> int:
        err = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", SERVER,
             str(root), str(requests)],
            capture_output=True, text=True, check=True,
        ).stderr  # fmt: skip
        return int(re.search(r"Collected : (\d+)", err).group(1))  # type: ignore[union-attr]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        short, long = pool.map(count, (1000, 3000))
    return (long - short) / 2000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, action="append", help="a checkout to measure (repeatable)")
    parser.add_argument("--requests", type=int, default=10000, help="requests per run")
    parser.add_argument("--runs", type=int, default=5, help="alternating runs of each checkout")
    parser.add_argument("--instructions", action="store_true", help="count the server's instructions (valgrind)")
    args = parser.parse_args()
    roots = [root.resolve() for root in (args.root or [ROOT])]
    if args.instructions:
        for root in roots:
            print(f"server  {root}  {instructions(root):,.0f} instructions/request", flush=True)
        return
    results: dict[tuple[str, Path], list[float]] = {}
    for run in range(args.runs):
        for root in roots if run % 2 == 0 else roots[::-1]:
            for name, script in (("server", SERVER), ("worker", WORKER)):
                value = measure(script, root, args.requests)
                results.setdefault((name, root), []).append(value)
                print(f"run {run + 1}  {name}  {root}  {value:6.1f} µs/request", flush=True)
    # Another process can only add time to a run: the fastest run is the closest to the code's own cost.
    print(f"\nover {args.runs} runs of {args.requests:,} requests (load average {os.getloadavg()[0]:.2f}):")
    for (name, root), values in results.items():
        print(
            f"  {name:<7} {root}  fastest {min(values):6.1f} µs/request   median {statistics.median(values):6.1f}"
            f"   slowest {max(values):6.1f}"
        )


if __name__ == "__main__":
    main()
