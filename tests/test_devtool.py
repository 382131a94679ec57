"""dev.py as a developer uses it: arguments reach pytest, lint reads only tracked files, and the
fast loop (-m "not integration") leaves out every test that starts a server or a process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import dev
from tests.conftest import kinds_of

TESTS = Path(__file__).resolve().parent


class Calls(list):
    """The commands dev.test ran, in order; ``environments`` the environment each was given."""

    environments: list[dict[str, str] | None]


@pytest.fixture
def calls(monkeypatch):
    """dev.test with every step recorded instead of run; lint and typecheck pass unless a test says."""
    recorded = Calls()
    recorded.environments = []
    monkeypatch.setattr(dev, "setup", lambda: None)
    monkeypatch.setattr(dev, "lint", lambda: 0)
    monkeypatch.setattr(dev, "typecheck", lambda: 0)

    def run(*args, env=None):
        recorded.append(args)
        recorded.environments.append(env)
        return 0

    monkeypatch.setattr(dev, "_run", run)
    return recorded


PYTEST = (str(dev.PYTHON), "-m", "pytest")


@pytest.mark.parametrize(("cores", "workers"), [(1, "2"), (2, "3"), (64, str(dev.MAX_WORKERS))])
def test_the_whole_suite_runs_on_one_worker_more_than_the_cores_it_may_use(calls, monkeypatch, cores, workers):
    monkeypatch.setattr(dev.os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setattr(dev.os, "cpu_count", lambda: cores)
    with pytest.raises(SystemExit) as exited:
        dev.test()
    assert exited.value.code == 0
    assert calls == [(*PYTEST, "--numprocesses", workers, "--dist", "worksteal")]


@pytest.mark.parametrize("arguments", [("-k", "stacks", "-m", "not integration"), ("-x",), ("-n", "2"), ("--pdb",)])
def test_arguments_after_test_go_to_pytest_as_they_are(calls, arguments):
    with pytest.raises(SystemExit) as exited:
        dev.test(*arguments)
    assert exited.value.code == 0
    assert calls == [(*PYTEST, *arguments)]


def test_the_tests_keep_pythons_bytecode_cache_even_when_the_shell_turned_it_off(calls, monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("SOMETHING_ELSE", "kept")
    with pytest.raises(SystemExit):
        dev.test("-x")
    (env,) = calls.environments
    assert "PYTHONDONTWRITEBYTECODE" not in env and env["SOMETHING_ELSE"] == "kept"


def test_a_lint_failure_fails_the_run_but_the_tests_still_run(calls, monkeypatch, capsys):
    monkeypatch.setattr(dev, "lint", lambda: 1)
    with pytest.raises(SystemExit) as exited:
        dev.test("-x")
    assert exited.value.code == 1
    assert calls == [(*PYTEST, "-x")]
    assert "lint failed" in capsys.readouterr().err


def test_an_unknown_command_or_stray_argument_prints_the_usage():
    for argv in (["bogus"], ["lint", "extra"]):
        result = subprocess.run([sys.executable, "dev.py", *argv], cwd=dev.ROOT, capture_output=True, text=True)
        assert result.returncode == 1
        assert "python3 dev.py test [pytest arguments]" in result.stderr


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


def test_lint_ignores_an_untracked_scratch_file_and_checks_it_once_added(tmp_path, monkeypatch):
    monkeypatch.setattr(dev, "ROOT", tmp_path)
    monkeypatch.setattr(dev, "PYTHON", Path(sys.executable))  # the ruff of this environment
    _git(tmp_path, "init", "-q")
    (tmp_path / "kept.py").write_text('"""Clean."""\n')
    (tmp_path / "gone.py").write_text('"""Tracked, then deleted."""\n')
    _git(tmp_path, "add", "kept.py", "gone.py")
    (tmp_path / "gone.py").unlink()
    (tmp_path / "scratch.py").write_text("import os\n")  # an unused import: F401
    assert dev.python_files() == ["kept.py"]
    assert dev.lint() == 0
    _git(tmp_path, "add", "scratch.py")
    assert dev.lint() != 0


def test_outside_a_git_checkout_lint_reads_the_whole_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setattr(dev, "ROOT", tmp_path)
    assert dev.python_files() == ["."]


# What makes a test slow and stateful: a server, a subprocess.
STARTS_SOMETHING = re.compile(r"\bsubprocess\b|\bmake_server\(|ThreadedMotoServer|\bPopen\(")


def test_files_that_start_servers_or_processes_are_left_out_of_the_fast_loop():
    starters = [p.name for p in TESTS.glob("test_*.py") if STARTS_SOMETHING.search(p.read_text())]
    assert {"test_localalb_server.py", "test_smoke.py"} <= set(starters)  # the pattern finds the known ones
    assert [name for name in starters if "integration" not in kinds_of(name)] == []


def test_files_that_evaluate_a_program_under_mocks_are_not_called_unit():
    evaluators = [p.name for p in TESTS.glob("test_*.py") if re.search(r"\bevaluate\(", p.read_text())]
    assert "test_stacks.py" in evaluators  # the pattern finds the known ones
    assert [name for name in evaluators if "unit" in kinds_of(name)] == []


def test_the_workers_of_a_run_evaluate_each_graph_once_between_them(tmp_path, monkeypatch):
    from tests import harness

    calls: list[str] = []

    def run(name: str) -> harness.Graph:
        calls.append(name)
        return harness.Graph([], {"name": name}, [])

    monkeypatch.setenv(harness.SHARED_GRAPHS, str(tmp_path))
    first = harness._shared("key", lambda: run("first"))
    again = harness._shared("key", lambda: run("again"))  # as another worker would ask
    other = harness._shared("other", lambda: run("other"))
    assert calls == ["first", "other"] and again.outputs == first.outputs == {"name": "first"}
    assert other.outputs == {"name": "other"}
    monkeypatch.delenv(harness.SHARED_GRAPHS)
    harness._shared("key", lambda: run("alone"))  # one process: nothing shared
    assert calls[-1] == "alone"
