"""The local ALB as a user runs it: the command line, its console, reloads and shutdown."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localalb.__main__ import main
from localalb.config import LocalConfigError, load_stack
from localalb.server import LocalAlbServer, make_server

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_test_project(tmp_path)


def copy_test_project(destination: Path) -> Path:
    """A fresh copy of tests/localalb_project (its stack files and handlers) at ``destination``."""
    shutil.copytree(HERE / "localalb_project", destination, dirs_exist_ok=True)
    return destination


@contextlib.contextmanager
def serving(project: Path, stack: str, logs: str = "logs") -> Iterator[LocalAlbServer]:
    """The stack served in-process (quiet), stopped afterwards; its access log under ``project/logs``."""
    server = make_server(load_stack(project, stack), log_dir=project / logs, quiet=True).start()
    try:
        yield server
    finally:
        server.stop()


def get(port: int, path: str = "/") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_help_says_development_only(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "development only" in out.lower()
    assert "--stack" in out and "127.0.0.1" in out


def test_invalid_stack_configuration_is_reported_like_pulumi_does(project, capsys):
    (project / "Pulumi.broken.yaml").write_text(
        "config:\n  lambda-alb:function:\n    memroySize: 512\n  lambda-alb:routes:\n    - priority: 0\n"
    )
    assert main(["serve", "--stack", "broken", "--project-dir", str(project)]) == 2
    err = capsys.readouterr().err
    assert "function.memroySize: unknown key (did you mean 'memorySize'?)" in err
    assert "routes[0].priority: 0 is outside 1-50000" in err


SECRET_STACK = (
    "config:\n  lambda-alb:function:\n    codeDir: handlers\n    handler: probe.handler\n"
    "    environment:\n      PLAIN: shown\n      API_KEY:\n        secure: v1:AAAA\n"
)


def test_a_secret_without_a_local_value_stops_the_server_naming_the_key_and_both_ways(project, capsys):
    (project / "Pulumi.secret.yaml").write_text(SECRET_STACK)
    with pytest.raises(LocalConfigError) as info:
        load_stack(project, "secret", environ={})
    message = str(info.value)
    assert "function.environment.API_KEY: a secret only the Pulumi CLI can decrypt" in message
    assert "environment variable API_KEY" in message and ".localalb/secret/secrets.yaml (git-ignored)" in message
    assert "v1:AAAA" not in message
    assert main(["serve", "--stack", "secret", "--project-dir", str(project)]) == 2


def test_a_secret_takes_its_local_value_from_the_shell_then_the_secrets_file(project):
    (project / "Pulumi.secret.yaml").write_text(SECRET_STACK)
    stack = load_stack(project, "secret", environ={"API_KEY": "from-shell"})
    assert stack.settings.function.environment == {"PLAIN": "shown", "API_KEY": "from-shell"}
    assert stack.local_secrets == (("function.environment.API_KEY", "$API_KEY"),)
    secrets = project / ".localalb" / "secret" / "secrets.yaml"
    secrets.parent.mkdir(parents=True)
    secrets.write_text("function.environment.API_KEY: from-file\n")
    stack = load_stack(project, "secret", environ={})
    assert stack.settings.function.environment["API_KEY"] == "from-file"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("PLAIN: ok\nfunction.environment.API_KEY: a: b\n", "not valid YAML at line 2"),
        ("- function.environment.API_KEY: x\n", "holds a list, not a map"),
    ],
)
def test_a_broken_secrets_file_is_named_with_what_to_write_instead_of_a_traceback(project, content, problem):
    (project / "Pulumi.secret.yaml").write_text(SECRET_STACK)
    secrets = project / ".localalb" / "secret" / "secrets.yaml"
    secrets.parent.mkdir(parents=True)
    secrets.write_text(content)
    with pytest.raises(LocalConfigError) as info:
        load_stack(project, "secret", environ={})
    assert f".localalb/secret/secrets.yaml: {problem}" in str(info.value)
    assert "'function.environment.<NAME>: <value>' a line" in str(info.value)


def test_a_secret_outside_the_environment_is_refused_locally_as_by_pulumi_up(project):
    (project / "Pulumi.secret.yaml").write_text(
        "config:\n  lambda-alb:function:\n    codeDir: handlers\n    handler: probe.handler\n"
        "  lambda-alb:monitoring:\n    alarmEmail:\n      secure: v1:BBBB\n"
    )
    with pytest.raises(LocalConfigError, match="monitoring.alarmEmail: a secret; only function.environment"):
        load_stack(project, "secret", environ={"alarmEmail": "x"})


def test_a_missing_stack_file_is_named(project, capsys):
    assert main(["serve", "--stack", "nope", "--project-dir", str(project)]) == 2
    assert "Pulumi.nope.yaml: no such file" in capsys.readouterr().err


class Running:
    """``python -m localalb serve`` in a subprocess, with its console collected line by line."""

    def __init__(self, project: Path, stack: str, *extra: str):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "localalb",
                "serve",
                "--stack",
                stack,
                "--port",
                "0",
                "--project-dir",
                str(project),
                *extra,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.port = int(self.wait_for(r"on http://127\.0\.0\.1:(\d+)").group(1))

    def _read(self):
        assert self.process.stdout is not None  # started with stdout=PIPE
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 15) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} never printed; console:\n" + "\n".join(self.lines))

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def all_lines(self, timeout: float = 10) -> list[str]:
        """Every line the process printed, once it has exited and its output is read to the end."""
        self.process.wait(timeout=timeout)
        self.reader.join(timeout=timeout)
        return self.lines

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_server_and_every_worker(project, sig):
    running = Running(project, "multi")
    try:
        status, body = get(running.port, "/state")
        assert status == 200
        worker = json.loads(body)["pid"]
        assert _alive(worker)
        running.process.send_signal(sig)
        running.process.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker)
    finally:
        running.stop()


def test_console_shows_requests_cold_starts_and_function_logs_with_request_id(project):
    running = Running(project, "single")
    try:
        assert get(running.port, "/print")[0] == 200
        running.wait_for(r"cold start: init [\d.]+ ms")
        line = running.wait_for(r"\[([0-9a-f-]{36})\] hello from the function")
        assert len(line.group(1)) == 36
        running.wait_for(r"GET /print -> 200 +forward \(default\)")
        assert get(running.port, "/raise")[0] == 502
        running.wait_for(r"ValueError: boom")
    finally:
        running.stop()


def serve_module(project: Path, module: str, source: str):
    """A stack whose handler is ``<module>.handler`` with ``source``, served in-process."""
    (project / "handlers" / f"{module}.py").write_text(source)
    (project / f"Pulumi.{module}.yaml").write_text(
        f"config:\n  lambda-alb:function:\n    codeDir: handlers\n    handler: {module}.handler\n"
    )
    return make_server(load_stack(project, module), log_dir=project / "logs", quiet=True).start()


def answering(body: bytes) -> str:
    return f"def handler(event, context):\n    return {{'statusCode': 200, 'body': {body.decode()!r}}}\n"


def wait_for_body(server, body: bytes) -> None:
    deadline = time.monotonic() + 10
    while get(server.port) != (200, body):
        assert time.monotonic() < deadline, f"{body!r} was never served"
        time.sleep(0.1)


def test_changing_the_code_reloads_the_function_without_a_restart(project):
    server = serve_module(project, "version", answering(b"v1"))
    try:
        assert get(server.port) == (200, b"v1")
        (project / "handlers" / "version.py").write_text(answering(b"v2"))
        wait_for_body(server, b"v2")
    finally:
        server.stop()


def test_a_function_that_fails_to_import_gives_502_and_recovers_once_fixed(project):
    server = serve_module(project, "broken", "raise RuntimeError('import failed')\n")
    try:
        assert get(server.port)[0] == 502
        (project / "handlers" / "broken.py").write_text(answering(b"fixed"))
        wait_for_body(server, b"fixed")
    finally:
        server.stop()


def test_the_function_sees_only_what_the_lambda_runtime_has(project):
    (project / "handlers" / "deps.py").write_text(
        "import boto3  # in the Lambda runtime\n"
        "def handler(event, context):\n"
        "    if event['path'] == '/yaml':\n"
        "        import yaml  # installed here (pulumi needs it) but not in Lambda\n"
        "    return {'statusCode': 200, 'body': boto3.__name__}\n"
    )
    (project / "Pulumi.deps.yaml").write_text(
        "config:\n  lambda-alb:function:\n    codeDir: handlers\n    handler: deps.handler\n"
    )
    running = Running(project, "deps")
    try:
        assert get(running.port) == (200, b"boto3")
        assert get(running.port, "/yaml")[0] == 502
        running.wait_for(r"No module named 'yaml': it is installed on this machine but not in the Lambda runtime")
    finally:
        running.stop()


def test_a_stack_name_pulumi_up_refuses_is_refused_here_too(project, capsys):
    (project / "Pulumi.staging-eu.yaml").write_text("config: {}\n")
    assert main(["serve", "--stack", "staging-eu", "--project-dir", str(project)]) == 2
    err = capsys.readouterr().err
    assert "stack name 'staging-eu'" in err and "at most 9 characters" in err


def test_a_stack_that_pins_its_service_name_may_have_any_stack_name_here_as_in_pulumi_up(project):
    from localalb.config import load_stack

    single = (project / "Pulumi.single.yaml").read_text()
    (project / "Pulumi.staging-eu.yaml").write_text(single + "  lambda-alb:serviceName: lambda-alb-stg\n")
    assert load_stack(project, "staging-eu").stack == "staging-eu"


@pytest.mark.parametrize("stack", ["stagingeu", "staging-eu", "dev_1", "Dev-1"])
def test_the_stack_name_rule_is_the_one_the_pulumi_program_applies(stack):
    import pulumi

    from components.naming import name_problem, service_name
    from tests.harness import evaluate
    from tests.harness import load_stack as load_stack_config

    refused_here = name_problem(service_name(stack)) is not None
    try:
        # The rule is for a stack named after the stack: the stack files pin serviceName.
        evaluate({k: v for k, v in load_stack_config("dev").items() if k != "lambda-alb:serviceName"}, stack)
    except pulumi.RunError as exc:
        assert "names the function, load balancer and target group" in str(exc)
        assert refused_here
    else:
        assert not refused_here
