"""``python -m localalb serve --stack dev``: the command line of the local load balancer."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import sys
from pathlib import Path

from localalb.config import LocalConfigError, load_stack
from localalb.server import make_server

DESCRIPTION = (
    "Run a stack's function on this machine behind a local Application Load Balancer that applies "
    "the stack's own listener rules and ALB's event, response and error behaviour. "
    "For development only: plain HTTP, no TLS, no authentication; it binds to 127.0.0.1 by default."
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localalb", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a stack (development only)", description=DESCRIPTION)
    serve.add_argument("--stack", required=True, help="the stack whose Pulumi.<stack>.yaml to serve, e.g. dev")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080)")
    serve.add_argument("--project-dir", type=Path, default=Path.cwd(), help="where Pulumi.yaml is (default: .)")
    serve.add_argument("--log-dir", type=Path, help="access-log folder (default: .localalb/<stack>)")
    serve.add_argument("--quiet", action="store_true", help="print neither requests nor the function's logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        stack = load_stack(args.project_dir.resolve(), args.stack)
    except LocalConfigError as exc:
        print(f"localalb: {exc}", file=sys.stderr)
        return 2
    for key, source in stack.local_secrets:
        print(f"localalb: {key} is a secret of the stack; using its local value from {source}", file=sys.stderr)
    try:
        server = make_server(stack, args.host, args.port, log_dir=args.log_dir, quiet=args.quiet)
    except OSError as exc:
        print(f"localalb: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    if not ipaddress.ip_address(server.socket.getsockname()[0]).is_loopback:
        print(
            f"localalb: WARNING: listening on {args.host}: anyone who can reach this machine can call the "
            "function, with your AWS credentials. Use 127.0.0.1 unless you mean it.",
            file=sys.stderr,
        )
    lb, fn = stack.settings.load_balancer, stack.settings.function
    print(
        f"localalb (development only) serving stack '{stack.stack}' on {server.url}\n"
        f"  listener: plain HTTP (the stack's {'HTTPS listener and its redirect' if lb.https else 'HTTP listener'}"
        f" rules; TLS does not apply locally)\n"
        f"  rules: {len(stack.settings.routes)} route(s), then default action {lb.default_action.kind}; "
        f"header mode: {'multi-value' if lb.multi_value_headers else 'single-value'}\n"
        f"  function: {fn.code_dir}/{fn.handler} (timeout {fn.timeout} s, "
        f"concurrency {fn.reserved_concurrency or 'unreserved'}), reloads when its files change\n"
        f"  access log: {server.app.access_log.path}\n"
        "Ctrl-C to stop.",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it has handled
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
