#!/usr/bin/env python3
"""The project's single entry point; needs only Python 3.11+ on the machine.

python3 dev.py setup   create .venv and install requirements-dev.txt (when they changed)
python3 dev.py test    setup, then lint and the whole test suite
python3 dev.py generate
                       setup, then rewrite what is generated from the settings declarations
                       (schema/stack.schema.json, Pulumi.yaml's config, docs/configuration.md)
python3 dev.py bench   setup, then print the foundation and dependency benchmarks' numbers
python3 dev.py bench-local
                       setup, then the local ALB against serverless-offline (needs wrk and npm)
python3 dev.py serve [--stack dev] [--port 8080] ...
                       setup, then serve the stack behind the local ALB (development only)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".requirements.sha256"
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")


def _run(*args: str) -> None:
    result = subprocess.run(args, cwd=ROOT)
    if result.returncode:
        sys.exit(result.returncode)


def setup() -> None:
    """Create the virtualenv and install the pinned requirements, skipping work already done."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 the machine has
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    digest = hashlib.sha256(b"".join((ROOT / f).read_bytes() for f in REQUIREMENTS)).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PYTHON.exists():
        _run(sys.executable, "-m", "venv", str(VENV))
    _run(str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", "requirements-dev.txt")
    STAMP.write_text(digest)


def test() -> None:
    setup()
    _run(str(PYTHON), "-m", "ruff", "check", ".")
    _run(str(PYTHON), "-m", "ruff", "format", "--check", ".")
    _run(str(PYTHON), "-m", "pytest")


def generate() -> None:
    setup()
    _run(str(PYTHON), "-m", "components.generate")


def bench() -> None:
    setup()
    _run(str(PYTHON), "benchmarks/foundation.py")
    _run(str(PYTHON), "benchmarks/dependencies.py")


def bench_local() -> None:
    setup()
    _run(str(PYTHON), "benchmarks/localalb.py")


def serve(*args: str) -> None:
    setup()
    if "--stack" not in args:
        args = ("--stack", "dev", *args)
    os.chdir(ROOT)
    os.execv(str(PYTHON), [str(PYTHON), "-m", "localalb", "serve", *args])


COMMANDS = {
    "setup": setup,
    "test": test,
    "generate": generate,
    "bench": bench,
    "bench-local": bench_local,
    "serve": serve,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS or (len(sys.argv) > 2 and sys.argv[1] != "serve"):
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
