"""The component installs as a library of its own, under a name that cannot collide."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    # A copy of what the package is built from: setuptools writes build/ into the source folder.
    source = tmp_path_factory.mktemp("source")
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copytree(ROOT / "components", source / "components", ignore=shutil.ignore_patterns("__pycache__"))
    # No index and no build isolation: the installed setuptools builds it, offline and quickly.
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
               "--no-index", "--no-compile", "--no-warn-conflicts", "--disable-pip-version-check",
               "--target", str(target), str(source)]  # fmt: skip
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "TMPDIR": str(build)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    return target


def run_python(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    # The installed copy only: the repository is not on the path (a different working directory).
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=site, check=False)


def test_pip_install_gives_the_component_as_lambda_alb_and_nothing_named_components(installed):
    assert (installed / "lambda_alb" / "service.py").is_file()
    # A release's check function is packaged from the installed copy (components/releases.py).
    from components.releases import CHECK_CODE

    assert (installed / "lambda_alb" / CHECK_CODE.name / "check.py").is_file()
    assert not (installed / "components").exists()
    result = run_python(
        installed,
        "from lambda_alb import LambdaAlbService, LambdaAlbServiceArgs, FunctionArgs, RouteArgs\n"
        "from lambda_alb.service import validate_args\n"
        "import pathlib\n"
        "args = LambdaAlbServiceArgs(function=FunctionArgs(memory_size=1))\n"
        "_, problems = validate_args('svc', args, pathlib.Path('.'))\n"
        "print(problems[0])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "function.memory_size: 1 is outside 128-10240 MB"
