"""The console: lines that cannot forge other lines, written by a thread the server never waits for.

A terminal nobody reads (``serve | less`` paused, a pipe left undrained) must not stall requests:
lines go to a bounded queue and a writer thread; when the queue is full, lines are dropped and
counted, and the count is printed once the console drains again.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from typing import TextIO

MAX_QUEUED_LINES = 10_000
FLUSH_INTERVAL_S = 0.05
MAX_VALUE_CHARS = 200  # a request path or a reason longer than this is cut on the console
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    """``text`` with every control character (newline and ESC included, tab kept) as ``\\xNN``.

    Request data reaches the console through paths, reasons and exception messages; escaped, it
    can neither start a forged line nor drive the terminal.
    """
    if not _CONTROL_RE.search(text):
        return text
    return _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def shorten(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` escaped and cut to ``limit`` characters, saying how long it was."""
    text = escape(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...({len(text)} characters)"


class Console:
    """Writes whole lines to ``out`` from a daemon thread; ``write`` never blocks the caller.

    The thread wakes every ``interval`` seconds and writes what has queued up in one call, so a
    busy server pays a list append per line, not a thread switch.
    """

    def __init__(self, out: TextIO, max_lines: int = MAX_QUEUED_LINES, interval: float = FLUSH_INTERVAL_S):
        self._out = out
        self._lines: deque[str] = deque()
        self._max = max_lines
        self._interval = interval
        self._dropped = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="localalb-console", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        """Lines dropped so far because the console was not drained."""
        return self._dropped

    def write(self, text: str) -> None:
        """Queue ``text`` (one or more lines, without the final newline)."""
        with self._lock:
            if len(self._lines) >= self._max:
                self._dropped += 1
                return
            self._lines.append(text)
            self._idle.clear()

    def _run(self) -> None:
        reported = 0
        while True:
            stopping = self._stop.wait(self._interval)
            with self._lock:
                batch = list(self._lines)
                self._lines.clear()
                dropped = self._dropped
            if dropped != reported:
                batch.insert(0, f"localalb: {dropped - reported} console line(s) dropped: the console was not read")
                reported = dropped
            if batch:
                try:
                    self._out.write("\n".join(batch) + "\n")
                    self._out.flush()
                except (OSError, ValueError):
                    return  # the console is gone (closed pipe): nothing more can be shown
            with self._lock:
                if not self._lines:
                    self._idle.set()
            if stopping:
                return

    def flush(self, timeout: float = 1.0) -> None:
        """Wait up to ``timeout`` seconds for queued lines to be written (never longer)."""
        self._idle.wait(timeout)

    def close(self, timeout: float = 1.0) -> None:
        """Write what is queued, giving up after ``timeout`` seconds if nobody reads."""
        self._stop.set()
        self._thread.join(timeout)
