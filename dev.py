#!/usr/bin/env python3
"""The project's single entry point; needs only Python 3.11+ on the machine.

python3 dev.py setup   create .venv and install the locked requirements-dev.txt (when it changed)
python3 dev.py test [pytest arguments]
                       setup, then lint, type-check and the test suite (on a worker per core, plus
                       one); arguments go to pytest, which then runs in one process,
                       e.g. python3 dev.py test -m "not integration"   or   -k stacks -x   or   -n 3
python3 dev.py lint    setup, then ruff (check and format) on the files git tracks
python3 dev.py typecheck
                       setup, then mypy as `pulumi up` runs it (Pulumi.yaml: typechecker), and
                       again on the tests (their settings: tests/mypy.toml)
python3 dev.py lock [pip-compile arguments]
                       rewrite requirements.txt and requirements-dev.txt from pyproject.toml,
                       with hashes; e.g. --upgrade-package boto3, or --upgrade for everything
python3 dev.py generate
                       setup, then rewrite what is generated from the settings declarations
                       (schema/stack.schema.json, Pulumi.yaml's config, docs/configuration.md)
python3 dev.py check-generated
                       setup, then fail, naming them, when generated files differ from what
                       `generate` would write (the test suite's check, alone; writes nothing)
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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".requirements.sha256"
# The locks `python3 dev.py lock` writes, in this order: requirements-dev.txt (everything: what
# .venv gets here) is resolved first, then requirements.txt (what the Pulumi CLI installs for
# `pulumi up`: the program's dependencies and the type checker) constrained to it, so both hold
# the same versions and a test tool's bounds (pulumi-policy's on protobuf) cannot make them differ.
RUNTIME_LOCK = "requirements.txt"
DEV_LOCK = "requirements-dev.txt"
LOCKS = {
    DEV_LOCK: ("--extra", "typecheck", "--extra", "dev"),
    RUNTIME_LOCK: ("--extra", "typecheck", "--constraint", DEV_LOCK),
}


def _run(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.run(args, cwd=ROOT, env=env).returncode


def _check(*args: str) -> None:
    returncode = _run(*args)
    if returncode:
        sys.exit(returncode)


def setup() -> None:
    """Create the virtualenv and install the locked requirements, skipping work already done."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 the machine has
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    digest = hashlib.sha256((ROOT / DEV_LOCK).read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PYTHON.exists():
        _check(sys.executable, "-m", "venv", str(VENV))
    pip = (str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check")
    _check(*pip, "--require-hashes", "-r", DEV_LOCK)
    STAMP.write_text(digest)


def python_files() -> list[str]:
    """The project's Python files as git tracks them, so a scratch file of yours never fails lint;
    outside a git checkout (an unpacked archive), every file under the project folder."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return ["."]
    # A tracked file deleted in the work tree is not there to lint.
    return sorted(name for name in listed.split("\0") if name and (ROOT / name).is_file())


def lint() -> int:
    """ruff's checks and its formatter (as a check) on the tracked files; the worse exit status."""
    files = python_files()
    check = _run(str(PYTHON), "-m", "ruff", "check", *files)
    formatted = _run(str(PYTHON), "-m", "ruff", "format", "--check", *files)
    return check or formatted


# The tests' mypy settings; pyproject.toml's are the program's, which `pulumi up` reads.
TESTS_MYPY_CONFIG = "tests/mypy.toml"


def test_files() -> list[str]:
    """The tests' Python files: those git tracks (as for lint), or every one outside a git checkout."""
    files = python_files()
    if files == ["."]:
        return sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "tests").rglob("*.py"))
    return [name for name in files if name.startswith("tests/")]


def typecheck() -> int:
    """mypy exactly as the Pulumi CLI runs it before a preview or update (its config is in
    pyproject.toml), then on the tests, which that run leaves out; both run, the worse exit status."""
    program = _run(str(PYTHON), "-m", "mypy", "--exclude", ".venv", ".")
    tests = _run(str(PYTHON), "-m", "mypy", "--config-file", TESTS_MYPY_CONFIG, *test_files())
    return program or tests


MAX_WORKERS = 8


def workers(pytest_args: tuple[str, ...]) -> tuple[str, ...]:
    """pytest-xdist's options for the whole suite: one worker more than the machine has cores, since
    about a fifth of the suite's time is spent waiting (the local ALB's timeouts, processes starting)
    and the spare worker uses it. With arguments (a selection, -x, --pdb...), pytest runs as asked,
    in one process: starting workers costs more than a part of the suite takes; add -n 3 for them."""
    if pytest_args:
        return ()
    # The cores this process may use (a container's CPU set, not the host's count), and at most
    # MAX_WORKERS: each worker imports and collects the whole suite, so more stop paying off.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return ("--numprocesses", str(min(cores + 1, MAX_WORKERS)), "--dist", "worksteal")


def test(*pytest_args: str) -> None:
    """Lint, type-check and run the tests; every step runs, and any failure fails the whole."""
    setup()
    failed = [name for name, step in (("lint", lint), ("typecheck", typecheck)) if step()]
    # Python's bytecode cache on, even when the shell turned it off (PYTHONDONTWRITEBYTECODE): a run
    # starts some fifty Python processes (workers, local ALBs, pip), and without the cache each one
    # compiles the project's modules again, a fifth of the suite's time on a fresh clone here.
    # __pycache__ is ignored by git and left out of the function package.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    tests = _run(str(PYTHON), "-m", "pytest", *workers(pytest_args), *pytest_args, env=env)
    if failed:
        print(f"dev.py test: {' and '.join(failed)} failed (see above)", file=sys.stderr)
    sys.exit(tests or (1 if failed else 0))


def lock(*pip_compile_args: str) -> None:
    """Resolve pyproject.toml's dependencies into the two hashed lock files, then update .venv."""
    setup()
    # The header of each lock then says how to regenerate it.
    env = {**os.environ, "CUSTOM_COMPILE_COMMAND": "python3 dev.py lock"}
    for output, selection in LOCKS.items():
        returncode = _run(
            str(PYTHON), "-m", "piptools", "compile", "--quiet", "--generate-hashes", "--allow-unsafe",
            "--strip-extras", "--no-emit-index-url", "--no-emit-find-links",
            *selection, *pip_compile_args, "--output-file", output, "pyproject.toml",
            env=env,
        )  # fmt: skip
        if returncode:
            sys.exit(returncode)
    setup()


def generate() -> None:
    setup()
    _check(str(PYTHON), "-m", "components.generate")


# The suite's check that every generated file is up to date; check-generated runs it alone.
GENERATED_TEST = "tests/test_generated.py::test_every_generated_file_is_up_to_date"


def check_generated() -> int:
    """The generated files' check, as the test suite makes it, without writing anything."""
    return _run(str(PYTHON), "-m", "pytest", "--no-header", GENERATED_TEST)


def bench() -> None:
    setup()
    _check(str(PYTHON), "benchmarks/foundation.py")
    _check(str(PYTHON), "benchmarks/dependencies.py")


def bench_local() -> None:
    setup()
    _check(str(PYTHON), "benchmarks/localalb.py")


def serve(*args: str) -> None:
    setup()
    if "--stack" not in args:
        args = ("--stack", "dev", *args)
    os.chdir(ROOT)
    os.execv(str(PYTHON), [str(PYTHON), "-m", "localalb", "serve", *args])


def _then_exit(step: Callable[[], int]) -> Callable[[], None]:
    def run() -> None:
        setup()
        sys.exit(step())

    return run


COMMANDS: dict[str, Callable[..., None]] = {
    "setup": setup,
    "test": test,
    "lint": _then_exit(lint),
    "typecheck": _then_exit(typecheck),
    "lock": lock,
    "generate": generate,
    "check-generated": _then_exit(check_generated),
    "bench": bench,
    "bench-local": bench_local,
    "serve": serve,
}
TAKES_ARGUMENTS = {"test", "lock", "serve"}

if __name__ == "__main__":
    command, arguments = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command not in COMMANDS or (arguments and command not in TAKES_ARGUMENTS):
        sys.exit(__doc__)
    COMMANDS[command](*arguments)
