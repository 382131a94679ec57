"""The local load balancer as an ASGI application: limits, rules, actions, the function, access logs.

uvicorn does the HTTP; everything here is ALB behaviour.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal, TextIO

from components import rules as r
from components.limits import known
from components.waf_rules import BODY_SIZE_LIMIT, blocks_large_bodies
from localalb import alb
from localalb.accesslog import AccessLog, AccessRecord
from localalb.config import LocalStack
from localalb.console import Console, escape, shorten
from localalb.pool import Invocation, Throttled, WorkerPool

FLUSH_INTERVAL_S = 0.2  # the access log is written in batches, at most this late
CLIENT_GONE = 460  # ALB's access-log status for a client that closed the connection first
Scope = dict[str, Any]  # ASGI, as uvicorn passes it
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class LocalAlbApp:
    """Serves one stack's serving listener: its rules in priority order, then its default action."""

    def __init__(self, stack: LocalStack, log_dir: Path, quiet: bool = False, out: TextIO | None = None):
        self.stack = stack
        self.lb = stack.settings.load_balancer
        self.rules = tuple(sorted(stack.settings.rules, key=lambda rule: rule.priority))
        self.default_action = self.lb.default  # computed by the settings on every read
        self.multi_value = self.lb.multi_value_headers
        # The stack's own web ACL, where its body-size rule blocks: the one WAF rule emulated here.
        self.body_limit = BODY_SIZE_LIMIT if blocks_large_bodies(stack.settings.waf) else None
        self.quiet = quiet
        self.console = None if quiet else Console(out or sys.stdout)
        self.allowed = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in known(self.lb.allowed_cidrs))
        # Set by the server when the stack's HTTPS listener is served: the HTTP listener then
        # answers as the stack's port 80 does, with a redirect to this port.
        self.https_port: int | None = None
        # One pool per function, each with its own workers, timeout and concurrency limit.
        self.pools = {
            key: WorkerPool(stack, quiet=quiet, announce=self.say, function=function)
            for key, function in stack.functions().items()
        }
        self.pool = self.pools[stack.primary().key]  # the default action's: health checks and the banner
        self.access_log = AccessLog(log_dir, f"app/{stack.function_name}/local")
        self._flusher: asyncio.Task[None] | None = None
        self._health: asyncio.Task[None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.target_health = "initial"  # initial, healthy or unhealthy, as ALB reports a target
        self._streak: tuple[bool | None, int] = (None, 0)  # (last check passed, how many in a row)

    def say(self, line: str) -> None:
        """Print ``line`` on the console (never blocks; nothing with ``--quiet``)."""
        if self.console is not None:
            self.console.write(line)

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - one app per server, a bounded cache of peers
    def peer_allowed(self, ip: str) -> bool:
        """Whether the stack's security group (``loadBalancer.allowedCidrs``) admits ``ip``."""
        address = ipaddress.ip_address(ip.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address.version == net.version and address in net for net in self.allowed)

    def connection_dropped(self, client: tuple[str, int]) -> None:
        """Say on the console that a connection from outside ``allowedCidrs`` was dropped."""
        self.say(
            f"connection from {client[0]}:{client[1]} dropped: not in loadBalancer.allowedCidrs "
            f"({', '.join(known(self.lb.allowed_cidrs))}), as the load balancer's security group would"
        )

    def refused(
        self,
        client: tuple[str, int],
        status: int,
        reason: str,
        *,
        method: str,
        target: str,
        scheme: str,
        headers: list[tuple[bytes, bytes]],
        sent_bytes: int,
        received_bytes: int,
    ) -> None:
        """Log a request the listener answered itself before it was complete (400, 408)."""
        host = next((v.decode("latin-1") for k, v in headers if k == b"host"), "-")
        record = AccessRecord(
            received=time.time(),
            client=f"{client[0]}:{client[1]}",
            elb_status=status,
            request_line=f"{method} {scheme}://{host}{target} HTTP/1.1" if method != "-" else "- - - ",
            user_agent=next((v.decode("latin-1") for k, v in headers if k == b"user-agent"), "-"),
            received_bytes=received_bytes,
            sent_bytes=sent_bytes,
            protocol=scheme,
        )
        self.access_log.write(record)
        self.say(f"{method} {shorten(target)} -> {status}  (refused before the rules) {reason}")

    # --- ASGI -------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                await self._http(scope, receive, send)
            except asyncio.CancelledError:
                # Shutting down with this request in flight: its worker is stopped with the rest,
                # and the client is told the service is going away.
                await self._send(send, alb.error_response(503))
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        try:
            await self._lifespan_events(receive, send)
        except asyncio.CancelledError:
            # A second Ctrl-C: uvicorn skips the orderly shutdown and cancels this task. Stop the
            # workers and keep the logs anyway, without a traceback.
            for pool in self.pools.values():
                pool.kill_all()
            self.close_output()

    def close_output(self) -> None:
        """Write every access-log and console line still batched, and close both (again: no-op)."""
        self.access_log.close()
        if self.console is not None:
            self.console.close()

    async def _lifespan_events(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.loop = asyncio.get_running_loop()
                for pool in self.pools.values():
                    await pool.start()
                self._flusher = asyncio.create_task(self._flush_periodically())
                if self.lb.health_check.enabled:
                    self._health = asyncio.create_task(self._check_health_periodically())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for task in (self._flusher, self._health):
                    if task:
                        task.cancel()
                for pool in self.pools.values():
                    await pool.close()
                self.close_output()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- health checks (only when enabled on the target group) ---------------------------------

    async def _check_health_periodically(self) -> None:
        while True:
            await self.check_health_once()
            await asyncio.sleep(self.lb.health_check.interval)

    async def check_health_once(self) -> tuple[bool, str]:
        """One health check as ALB sends it; updates ``target_health`` by the thresholds."""
        check = self.lb.health_check
        event = alb.health_check_event(check.path, self.multi_value, self.stack.target_group_arn)
        try:
            outcome = await self.pool.invoke(event, wait_s=check.timeout)
        except Throttled:
            passed, detail = False, "throttled"
        else:
            passed, detail = _health_verdict(outcome, check.matcher)
        last, count = self._streak
        self._streak = (passed, count + 1 if last == passed else 1)
        needed = check.healthy_threshold if passed else check.unhealthy_threshold
        state = "healthy" if passed else "unhealthy"
        if self._streak[1] >= needed and self.target_health != state:
            self.target_health = state
            self.say(f"  health check: target is {state} ({detail}, {self._streak[1]} in a row)")
        return passed, detail

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            self.access_log.flush()

    async def _read_body(self, receive: Receive) -> bytes | None | Literal[False]:
        """The whole body; None once it passes 1 MB (ALB answers 413 without invoking); False when
        the client left before sending all of it (ALB never invokes on an incomplete request).

        An oversized body is still read to its end and discarded, so the connection stays framed
        for the client's next request.
        """
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= alb.MAX_BODY_BYTES:
                chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks) if size <= alb.MAX_BODY_BYTES else None

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = time.time()
        started = time.perf_counter()
        extensions = scope.get("extensions", {})
        connection = extensions.get("localalb.connection")
        writer = extensions.get("localalb.writer")
        body = writer.whole_body() if writer is not None else None
        if body is None:
            body = await self._read_body(receive)
        elif len(body) > alb.MAX_BODY_BYTES:
            body = None
        if body is False and connection is not None and connection.refused:
            return  # the listener answered (408) and logged it already
        client_ip, client_port = scope.get("client") or ("127.0.0.1", 0)
        request = alb.HttpRequest(
            method=scope["method"],
            raw_path=scope.get("raw_path") or scope["path"].encode(),
            raw_query=scope.get("query_string", b""),
            headers=tuple(scope["headers"]),
            body=body or b"",
            client_ip=client_ip,
            client_port=client_port,
            listener_port=scope["server"][1] if scope.get("server") else 80,
            protocol=scope.get("scheme", "http"),
        )
        host = user_agent = trace = None
        head_bytes = 0  # the headers, as they came over the wire
        for name, value in request.headers:
            head_bytes += len(name) + len(value) + 4
            if name == b"host" and host is None:
                host = value
            elif name == b"user-agent" and user_agent is None:
                user_agent = value
            elif name == b"x-amzn-trace-id" and trace is None and alb.TRACE_ID_RE.match(value):
                trace = value  # the first well-formed one: ALB continues the client's trace
        record = AccessRecord(
            received=received,
            client=f"{client_ip}:{client_port}",
            elb_status=0,
            request_line=self._request_line(request, host),
            user_agent=user_agent.decode("latin-1") if user_agent is not None else "-",
            # What came over the wire for this request: request line, headers and body.
            received_bytes=head_bytes
            + len(request.method)
            + len(request.raw_path)
            + len(request.raw_query)
            + 14
            + len(request.body),
            protocol=request.protocol,
        )
        if request.protocol == "https" and connection is not None:
            tls = connection.transport.get_extra_info("ssl_object")
            if tls is not None:
                record.tls = (tls.cipher()[0], tls.version() or "-")
        if body is False:
            response = None
        else:
            response = await self._respond(request, body is None, record, trace)
        record.request_time = time.perf_counter() - started - max(record.target_time, 0)
        if response is None or (connection is not None and connection.lost):
            record.elb_status = CLIENT_GONE  # nothing is sent: the client is gone
        else:
            record.elb_status = response.status
            if response.checked and connection is not None:
                lines = response.head_lines()
                record.sent_bytes = await connection.respond(scope, response.status, lines, response.body)
            else:
                await self._send(send, response, record)
        record.response_time = 0.0
        self.access_log.write(record)
        if not self.quiet:
            self._summarise(request, record)

    async def _respond(
        self, request: alb.HttpRequest, too_large: bool, record: AccessRecord, trace: bytes | None
    ) -> alb.HttpResponse:
        if self.https_port is not None and request.protocol == "http":
            # The stack's port 80: its only action redirects to HTTPS, same host, path and query.
            response = alb.https_redirect(request, self.https_port)
            record.matched_rule, record.actions = "0", "redirect"
            record.redirect_url = dict(response.headers)["location"]
            return response
        if self.body_limit is not None and (too_large or len(request.body) > self.body_limit):
            # The web ACL answers before any rule or target: ALB's own 403 page, logged as WAF's.
            record.matched_rule, record.actions = "-", "waf"
            return alb.error_response(403)
        try:
            if too_large:
                raise alb.AlbError(413, "-", "request body over 1 MB")
            alb.check_request_limits(request)
        except alb.AlbError as exc:
            record.error_reason = exc.reason
            return alb.error_response(exc.status)
        rule = r.first_match(self.rules, request.rule_request()) if self.rules else None
        action = rule.action if rule else self.default_action
        record.matched_rule = str(rule.priority) if rule else "0"
        record.actions = action.kind
        if isinstance(action, r.FixedResponse):
            return alb.fixed_response(action)
        if isinstance(action, r.Redirect):
            response = alb.redirect_response(action, request)
            record.redirect_url = dict(response.headers)["location"]
            return response
        return await self._forward(request, record, self.pools[action.function], trace)

    async def _forward(
        self, request: alb.HttpRequest, record: AccessRecord, pool: WorkerPool, trace: bytes | None
    ) -> alb.HttpResponse:
        # A well-formed trace id from the client (``trace``) is kept: ALB continues the trace;
        # anything else is replaced by a new one.
        trace_id = trace.decode("latin-1") if trace is not None else alb.new_trace_id()
        record.trace_id = trace_id
        record.target_group_arn = pool.target_group_arn
        record.function = pool.function.key
        try:
            event = alb.build_event(request, self.multi_value, pool.target_group_arn, trace_id)
        except alb.AlbError as exc:
            record.error_reason = exc.reason
            return alb.error_response(exc.status)
        invoked = time.perf_counter()
        try:
            outcome = await pool.invoke(event)
        except Throttled:
            record.error_reason = "LambdaThrottling"
            return alb.error_response(502)
        record.target_time = time.perf_counter() - invoked
        if outcome.cold:
            self.say(f"  cold start: init {outcome.init_ms or 0:.1f} ms (request {outcome.request_id})")
        if outcome.failure == "timeout":
            record.error_reason = "LambdaUnhandled"
            self.say(f"  [{outcome.request_id}] Task timed out after {pool.timeout_s} seconds")
            return alb.error_response(502)
        if outcome.failure == "crash":
            record.error_reason = "LambdaUnhandled"
            self.say(f"  [{outcome.request_id}] the execution environment exited (Runtime.ExitError)")
            return alb.error_response(502)
        if outcome.error is not None:
            record.error_reason = "LambdaUnhandled"
            self.say(f"  [{outcome.request_id}] {_describe_error(outcome.error)}")
            return alb.error_response(502)
        if outcome.refused is not None or outcome.response is None:
            # The worker applied ALB's checks to the result (localalb/response.py).
            status, reason, detail = outcome.refused or (502, "LambdaInvalidResponse", "no response")
            record.error_reason = reason
            self.say(f"  [{outcome.request_id}] {reason}: {shorten(detail)}")
            return alb.error_response(status)
        status, lines, body = outcome.response
        record.target_status = status
        return alb.HttpResponse(status, (), body, checked=True, lines=lines)

    async def _send(self, send: Send, response: alb.HttpResponse, record: AccessRecord | None = None) -> None:
        headers = []
        size = 0
        for name, value in response.header_pairs():
            header = (name.encode("latin-1"), value.encode("utf-8"))
            headers.append(header)
            size += len(header[0]) + len(header[1]) + 4
        body = response.body
        if response.status in alb.NO_BODY_STATUSES:
            body = b""  # dropped, as HTTP requires: the next response on the connection stays framed
        else:
            length = str(len(body)).encode()
            headers.append((b"content-length", length))
            size += len(length) + 18
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if record is not None:
            record.sent_bytes = len(body) + size

    @staticmethod
    def _request_line(request: alb.HttpRequest, host: bytes | None) -> str:
        query = b"?" + request.raw_query if request.raw_query else b""
        target = (request.raw_path + query).decode("latin-1")
        return (
            f"{request.method} {request.protocol}://{'-' if host is None else host.decode('latin-1')}{target} HTTP/1.1"
        )

    def _summarise(self, request: alb.HttpRequest, record: AccessRecord) -> None:
        rule = {"0": "default", "-": "refused before the rules"}.get(record.matched_rule, f"rule {record.matched_rule}")
        extra = f" {record.error_reason}" if record.error_reason != "-" else ""
        if record.function is not None:
            extra = f" by {record.function}{extra}"
        total_ms = (record.request_time + max(record.target_time, 0)) * 1000
        self.say(
            f"{escape(request.method)} {shorten(request.raw_path.decode('latin-1'))} -> {record.elb_status}"
            f"  {'' if record.actions == '-' else record.actions + ' '}({rule}){extra}  {total_ms:.1f} ms"
        )


def _health_verdict(outcome: Invocation, matcher: str) -> tuple[bool, str]:
    """Did a health-check invocation pass: a valid response whose status the matcher accepts."""
    if outcome.failure == "timeout":
        return False, "Target.Timeout"
    if outcome.failure or outcome.error is not None:
        return False, "Target.FailedHealthChecks: the function failed"
    if outcome.refused is not None or outcome.response is None:
        return False, f"Target.FailedHealthChecks: {outcome.refused[2] if outcome.refused else 'no response'}"
    status = outcome.response[0]
    if not alb.matcher_accepts(matcher, status):
        return False, f"Target.ResponseCodeMismatch: {status} not in {matcher}"
    return True, f"{status}"


def _describe_error(error: dict[str, Any]) -> str:
    """An unhandled function error for the console: type, message and frames, each line escaped
    so that request data in a message cannot print a line of its own."""
    lines = [f"{escape(str(error.get('errorType')))}: {shorten(str(error.get('errorMessage')), 2000)}"]
    for frame in error.get("stackTrace", []):
        lines += [f"    {escape(line)}" for line in str(frame).rstrip("\n").split("\n")]
    return "\n".join(lines)
