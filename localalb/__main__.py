"""``python -m localalb serve --stack dev``: the command line of the local load balancer."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import ssl
import sys
from pathlib import Path

from localalb.config import LocalConfigError, load_stack
from localalb.server import DEFAULT_HTTPS_PORT, LocalAlbServer, make_server

DESCRIPTION = (
    "Run a stack's function on this machine behind a local Application Load Balancer that applies "
    "the stack's own listener rules and ALB's event, response and error behaviour. "
    "For development only: no authentication, HTTPS (for a stack with a certificate) from a local "
    "certificate authority; it binds to 127.0.0.1 by default."
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localalb", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a stack (development only)", description=DESCRIPTION)
    serve.add_argument("--stack", required=True, help="the stack whose Pulumi.<stack>.yaml to serve, e.g. dev")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="HTTP port, the stack's port 80 (default: 8080)")
    serve.add_argument(
        "--https-port",
        type=int,
        default=DEFAULT_HTTPS_PORT,
        help=f"HTTPS port, the stack's port 443, for a stack with a certificate (default: {DEFAULT_HTTPS_PORT})",
    )
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
        server = make_server(stack, args.host, args.port, args.https_port, log_dir=args.log_dir, quiet=args.quiet)
    except OSError as exc:
        ports = f"{args.port} or {args.https_port}" if stack.settings.load_balancer.https else str(args.port)
        print(f"localalb: cannot listen on {args.host} port {ports}: {exc.strerror}", file=sys.stderr)
        return 2
    bound = server.socket or server.tls_socket
    if bound is not None and not ipaddress.ip_address(bound.getsockname()[0]).is_loopback:
        print(
            f"localalb: WARNING: listening on {args.host}: anyone who can reach this machine can call the "
            "function, with your AWS credentials. Use 127.0.0.1 unless you mean it.",
            file=sys.stderr,
        )
    lb = stack.settings.load_balancer
    functions = "".join(
        f"  function{'' if key is None else ' ' + key}: {fn.settings.code_dir}/{fn.settings.handler} "
        f"(timeout {fn.settings.timeout} s, concurrency {fn.settings.reserved_concurrency or 'unreserved'}), "
        "reloads when its files change\n"
        for key, fn in stack.functions().items()
    )
    print(
        f"localalb (development only) serving stack '{stack.stack}' on {server.url}\n"
        f"{_listeners(server)}"
        f"  rules: {len(stack.settings.rules)} route(s), then default action {lb.default.kind}; "
        f"header mode: {'multi-value' if lb.multi_value_headers else 'single-value'}\n"
        f"{functions}"
        f"  access log: {server.app.access_log.path}\n"
        "Ctrl-C to stop.",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it has handled
        server.serve_forever()
    return 0


def _listeners(server: LocalAlbServer) -> str:
    """The banner's lines about the listeners and, with HTTPS, how to trust the local CA."""
    lb = server.stack.settings.load_balancer
    if server.tls is None:
        return f"  listener: HTTP on port {server.port} (the stack's port 80)\n"
    from localalb.tls import minimum_version

    tls_versions = "1.3" if minimum_version(lb.ssl_policy) == ssl.TLSVersion.TLSv1_3 else "1.2 and 1.3"
    http = (
        f"; HTTP on port {server.port} redirects to it (the stack's port 80)"
        if server.port is not None
        else "; no HTTP listener (httpRedirect is off)"
    )
    ca = server.tls.ca_file
    return (
        f"  listeners: HTTPS on port {server.https_port} (the stack's port 443, {lb.ssl_policy}: TLS "
        f"{tls_versions}){http}\n"
        f"  certificate: from a local CA; trust {ca} once, e.g. curl --cacert {ca} {server.url}/ ,\n"
        f"    or import it into your browser or system as a trusted authority (development machines only)\n"
    )


if __name__ == "__main__":
    sys.exit(main())
