"""Access-log lines in the ALB format (docs/alb-behaviour.md, section 5), written to a local folder."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

_SECONDS: dict[int, str] = {}


def _iso(ts: float) -> str:
    whole = int(ts)
    prefix = _SECONDS.get(whole)
    if prefix is None:
        if len(_SECONDS) > 4:
            _SECONDS.clear()
        prefix = _SECONDS[whole] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{prefix}.{int((ts - whole) * 1_000_000):06d}Z"


_UNSAFE_RE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\]')


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return "\\" + char if char in '"\\' else f"\\x{ord(char):02x}"


def _quoted(value: str) -> str:
    # Control characters (a newline above all) would split or forge a log line: escaped, as
    # ALB writes them. isprintable() is false for every one of them: the regex runs only when a
    # value has one, or a character such as a no-break space that is not printable but safe.
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value or "-"}"'
    return f'"{_UNSAFE_RE.sub(_escape, value)}"'


def _seconds(value: float) -> str:
    return f"{value:.3f}" if value >= 0 else "-1"


@dataclass(slots=True)
class AccessRecord:
    """What one request contributes to its log line; missing values are written as ``-``."""

    received: float
    client: str
    elb_status: int
    request_line: str
    user_agent: str = "-"
    target_status: int | None = None
    request_time: float = -1.0
    target_time: float = -1.0
    response_time: float = -1.0
    received_bytes: int = 0
    sent_bytes: int = 0
    target_group_arn: str = "-"
    trace_id: str = "-"
    matched_rule: str = "-"  # a priority, "0" for the default action, "-" when rules never ran
    actions: str = "-"
    redirect_url: str = "-"
    error_reason: str = "-"
    protocol: str = "http"  # the listener: http, or https (then TLS fields are filled)
    tls: tuple[str, str] = ("-", "-")  # cipher, protocol version
    function: str | None = None  # with several functions: the key of the one that served (console only)


def format_line(elb: str, rec: AccessRecord) -> str:
    """One space-separated line with ALB's 30 fields, in ALB's order: type, time, elb, client:port,
    target:port, request/target/response processing times, elb and target status, received and
    sent bytes, "request", "user_agent", ssl_cipher, ssl_protocol, target_group_arn, "trace_id",
    "domain_name", "chosen_cert_arn", matched_rule_priority, request_creation_time, "actions",
    "redirect_url", "error_reason", "target:port_list", "target_status_code_list",
    "classification", "classification_reason", conn_trace_id. A Lambda target has no target:port;
    SNI, the certificate, classification and the connection trace id are not emulated."""
    target_status = str(rec.target_status) if rec.target_status is not None else "-"
    done = rec.received + max(rec.request_time, 0) + max(rec.target_time, 0) + max(rec.response_time, 0)
    return (
        f"{'https' if rec.protocol == 'https' else 'http'} {_iso(done)} {elb} {rec.client} - "
        f"{_seconds(rec.request_time)} {_seconds(rec.target_time)} {_seconds(rec.response_time)} "
        f"{rec.elb_status} {target_status} {rec.received_bytes} {rec.sent_bytes} "
        f"{_quoted(rec.request_line)} {_quoted(rec.user_agent)} {rec.tls[0]} {rec.tls[1]} "
        f'{rec.target_group_arn} {_quoted(rec.trace_id)} "-" "-" {rec.matched_rule} {_iso(rec.received)} '
        f'{_quoted(rec.actions)} {_quoted(rec.redirect_url)} {_quoted(rec.error_reason)} "-" '
        f'"{target_status}" "-" "-" -'
    )


class AccessLog:
    """Appends lines to ``<folder>/access.log``; buffered, flushed by the server every half second."""

    def __init__(self, folder: Path, elb: str):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "access.log"
        self.elb = elb
        self._file = self.path.open("a", encoding="utf-8", buffering=64 * 1024)

    def write(self, record: AccessRecord) -> None:
        """Append one line (dropped once the log is closed: a request finishing during shutdown)."""
        if not self._file.closed:
            self._file.write(format_line(self.elb, record) + "\n")

    def flush(self) -> None:
        """Write buffered lines to the file."""
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        self._file.close()
