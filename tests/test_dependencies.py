"""requirements.txt dependencies: built for Lambda's platform, deterministic, cached, clear errors.

Every wheel is built by hand in the test (tests/wheels.py) and pip installs from that folder only
(no index, no pip configuration files), so the suite needs no network.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pulumi
import pytest

from components import dependencies as deps
from components.dependencies import (
    DependencyError,
    Target,
    build_function_package,
    local_dependencies,
    local_dependency_env,
)
from components.packaging import build_package
from tests.harness import AwsMocks, RecordingMonitor, evaluate, load_stack
from tests.test_localalb_cli import Running, get, project, wait_for_body  # noqa: F401 - project is a fixture
from tests.wheels import make_wheel

ROOT = Path(__file__).resolve().parent.parent
ARM = "cp313-cp313-manylinux2014_aarch64"
X86 = "cp313-cp313-manylinux2014_x86_64"


@pytest.fixture
def wheels(tmp_path, monkeypatch) -> Path:
    """A folder of wheels that pip uses as its only source: a pure package that needs a native one,
    built for each architecture."""
    folder = tmp_path / "wheels"
    make_wheel(folder, "purething", requires=("fastthing",))
    make_wheel(folder, "fastthing", tag=ARM)
    make_wheel(folder, "fastthing", tag=X86)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # this machine's pip.conf names other indexes
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")  # leave the user's pip cache alone
    return folder


def function_dir(root: Path, requirements: str | None, code: str = "import purething\n") -> Path:
    """A project with ``fn/app.py`` and, when given, ``fn/requirements.txt``."""
    code_dir = root / "fn"
    code_dir.mkdir(parents=True, exist_ok=True)
    (code_dir / "app.py").write_text(code)
    if requirements is not None:
        (code_dir / "requirements.txt").write_text(requirements)
    return root


def build(root: Path, runtime: str = "python3.13", architecture: str = "arm64"):
    return build_function_package(root, "fn", Target(runtime, architecture), root / ".build")


def entries(package) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(package.data))
    return {name: archive.read(name) for name in archive.namelist()}


def installed_tag(package, module: str = "fastthing") -> str:
    return entries(package)[f"{module}/__init__.py"].decode()


def test_each_architecture_gets_its_own_native_wheel_and_cache_entry(wheels, tmp_path):
    root = function_dir(tmp_path, "purething==1.0\n")
    for architecture, tag in (("arm64", ARM), ("x86_64", X86)):
        package = build(root, architecture=architecture)
        assert installed_tag(package) == f"WHEEL_TAG = {tag!r}\n"
        assert {"purething/__init__.py", "app.py"} <= set(entries(package))
        assert package.files == ("app.py", "requirements.txt")  # the function's own files
    assert len(list((root / ".build" / "dependencies").iterdir())) == 2


def test_the_runtime_chooses_the_python_version_of_the_wheel(wheels, tmp_path):
    make_wheel(wheels, "fastthing", tag="cp312-cp312-manylinux2014_aarch64")
    package = build(function_dir(tmp_path, "purething\n"), runtime="python3.12")
    assert "cp312" in installed_tag(package)


def test_a_wheel_for_a_newer_glibc_than_lambdas_is_not_chosen(wheels, tmp_path):
    make_wheel(wheels, "fastthing", "2.0", tag="cp313-cp313-manylinux_2_28_aarch64")
    make_wheel(wheels, "fastthing", "3.0", tag="cp313-cp313-manylinux_2_39_aarch64")  # Lambda has glibc 2.34
    files = entries(build(function_dir(tmp_path, "fastthing\n")))
    assert "fastthing-2.0.dist-info/METADATA" in files


def test_without_requirements_the_package_is_exactly_the_code_package(wheels, tmp_path):
    root = function_dir(tmp_path, None)
    assert build(root).data == build_package(root / "fn").data


def test_a_requirements_file_with_only_comments_adds_nothing_even_from_a_relative_path(wheels, tmp_path, monkeypatch):
    root = function_dir(tmp_path, "# dependencies will come\n")
    monkeypatch.chdir(tmp_path)
    package = build_function_package(Path("."), "fn", Target("python3.13", "arm64"), Path(".build"))
    assert sorted(entries(package)) == ["app.py", "requirements.txt"]
    assert (root / ".build" / "dependencies").is_dir()


def test_repeat_builds_are_byte_identical_and_hold_no_machine_specific_files(wheels, tmp_path):
    script = {"tool/__init__.py": b"", "tool-1.0.data/scripts/tool": b"#!python\nprint('hi')\n"}
    make_wheel(wheels, "tool", files=script)
    root = function_dir(tmp_path, "tool\npurething==1.0\n")
    first = build(root)
    for info in zipfile.ZipFile(io.BytesIO(first.data)).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 in (0o644, 0o755)
        assert not info.filename.startswith("bin/"), "scripts carry this machine's interpreter path"
        assert "__pycache__" not in info.filename and not info.filename.endswith(".pyc")
        assert not info.filename.endswith(("/RECORD", "/direct_url.json"))
    shutil.rmtree(root / ".build")  # pip runs again, into another temporary folder
    (root / "fn" / "app.py").touch()
    second = build(root)
    assert first.data == second.data
    assert first.sha256_base64 == second.sha256_base64


def test_an_unchanged_build_runs_no_pip_and_a_changed_requirements_file_does(wheels, tmp_path, monkeypatch):
    root = function_dir(tmp_path, "purething==1.0\n")
    first = build(root)
    with monkeypatch.context() as patched:
        patched.setattr(subprocess, "run", lambda *a, **k: pytest.fail("pip ran"))
        assert build(root).data == first.data
    make_wheel(wheels, "purething", "2.0", files={"purething/__init__.py": b"VERSION = 2\n"})
    (root / "fn" / "requirements.txt").write_text("purething==2.0\n")
    assert entries(build(root))["purething/__init__.py"] == b"VERSION = 2\n"


def test_a_requirement_without_a_wheel_for_the_platform_is_named_with_the_platform(wheels, tmp_path):
    (wheels / f"fastthing-1.0-{ARM}.whl").unlink()
    with pytest.raises(DependencyError) as info:
        build(function_dir(tmp_path, "purething\n"), architecture="arm64")
    message = str(info.value)
    assert message.startswith("function.codeDir: fn/requirements.txt: no wheel of 'fastthing' for Lambda python3.13")
    assert "on arm64 (CPython 3.13, manylinux aarch64" in message
    assert "Traceback" not in message


def test_a_pip_failure_is_pips_message_not_a_traceback(wheels, tmp_path):
    with pytest.raises(DependencyError) as info:
        build(function_dir(tmp_path, "purething ==== 1\n"))
    message = str(info.value)
    assert message.startswith("function.codeDir: fn/requirements.txt: pip could not install the requirements: ")
    assert "Invalid requirement" in message
    assert "Traceback" not in message
    assert not any((tmp_path / ".build" / "dependencies").iterdir()), "a failed build leaves no cache entry"


def test_files_included_with_dash_r_are_part_of_the_cache_key(tmp_path):
    root = function_dir(tmp_path, "-r base.txt\n")
    (root / "fn" / "base.txt").write_text("purething==1.0\n")
    before = deps.requirements_digest(root / "fn" / "requirements.txt")
    (root / "fn" / "base.txt").write_text("purething==2.0\n")
    assert deps.requirements_digest(root / "fn" / "requirements.txt") != before


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_hashed_requirements_are_checked_for_every_package(wheels, tmp_path):
    pure, arm = wheels / "purething-1.0-py3-none-any.whl", wheels / f"fastthing-1.0-{ARM}.whl"
    x86 = wheels / f"fastthing-1.0-{X86}.whl"
    hashed = f"purething==1.0 --hash=sha256:{_sha256(pure)}\nfastthing==1.0 --hash=sha256:{_sha256(arm)}"
    hashed += f" --hash=sha256:{_sha256(x86)}\n"
    assert "purething/__init__.py" in entries(build(function_dir(tmp_path / "ok", hashed)))
    # With one hash, every requirement needs one: a dependency left unpinned is refused.
    with pytest.raises(
        DependencyError,
        match="all requirements must have their versions pinned with ==. These do not: fastthing",
    ):
        build(function_dir(tmp_path / "partial", f"purething==1.0 --hash=sha256:{_sha256(pure)}\n"))
    with pytest.raises(DependencyError, match="pip could not install the requirements: THESE PACKAGES DO NOT MATCH"):
        build(function_dir(tmp_path / "wrong", hashed.replace(_sha256(pure), "0" * 64)))


def test_a_package_over_lambdas_limits_names_the_biggest_dependencies(wheels, tmp_path, monkeypatch):
    make_wheel(wheels, "bigthing", files={"bigthing/data.bin": os.urandom(300_000)})  # does not compress
    make_wheel(wheels, "midthing", files={"midthing/data.bin": b"\0" * 200_000})
    monkeypatch.setattr(deps, "MAX_UNZIPPED_BYTES", 400_000)
    monkeypatch.setattr(deps, "MAX_ZIPPED_BYTES", 200_000)
    with pytest.raises(DependencyError) as info:
        build(function_dir(tmp_path, "midthing\nbigthing\npurething\n"))
    unzipped, zipped = info.value.problems
    biggest = "biggest dependencies: bigthing 0.3 MB, midthing 0.2 MB, "
    assert unzipped.startswith("function.codeDir: fn/requirements.txt: the package is 0.5 MB unzipped, over Lambda's")
    assert "0.4 MB limit; " + biggest in unzipped
    assert "0.3 MB zipped, over Lambda's 0.2 MB limit for a direct upload; " + biggest in zipped


def test_a_code_file_that_clashes_with_a_dependency_is_refused(wheels, tmp_path):
    root = function_dir(tmp_path, "purething\n")
    (root / "fn" / "purething").mkdir()
    (root / "fn" / "purething" / "__init__.py").write_text("")
    with pytest.raises(DependencyError, match="purething/__init__.py both in fn/ and in the installed dependencies"):
        build(root)


# --- through the real program -----------------------------------------------------------------


def program(root: Path, requirements: str) -> Path:
    """A copy of the program whose function has ``requirements``."""
    shutil.copy(ROOT / "__main__.py", root / "__main__.py")
    shutil.copytree(ROOT / "function", root / "function", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "function" / "requirements.txt").write_text(requirements)
    return root


def test_the_deployed_zip_is_code_and_arm64_dependencies_with_its_hash(wheels, tmp_path):
    root = program(tmp_path, "purething\n")
    graph = evaluate(load_stack("dev"), program_dir=root)
    function = graph.one("aws:lambda/function:Function").inputs
    zipped = (root / ".build" / "lambda-alb-dev.zip").read_bytes()
    assert function["sourceCodeHash"] == base64.b64encode(hashlib.sha256(zipped).digest()).decode()
    archive = zipfile.ZipFile(io.BytesIO(zipped))
    assert archive.read("fastthing/__init__.py").decode() == f"WHEEL_TAG = {ARM!r}\n"
    assert {"app.py", "purething/__init__.py"} <= set(archive.namelist())


def test_a_dependency_error_stops_the_program_as_one_run_error_before_any_aws_resource(wheels, tmp_path):
    root = program(tmp_path, "purething\nnosuchthing\n")
    monitor = RecordingMonitor(AwsMocks())
    with pytest.raises(pulumi.RunError) as info:
        evaluate(load_stack("dev"), program_dir=root, monitor=monitor)
    assert str(info.value).startswith("1 problem(s) with the function's dependencies:\n  - function.codeDir: ")
    assert "no wheel of 'nosuchthing' for Lambda python3.13 on arm64" in str(info.value)
    assert monitor.program_resources() == []  # not even the component: the package is built first


# --- the same locally -------------------------------------------------------------------------


def test_local_dependencies_are_built_for_this_machine_and_cached(wheels, tmp_path, monkeypatch):
    make_wheel(wheels, "fastthing", tag="py3-none-any")  # what this machine can load
    root = function_dir(tmp_path, "purething\n")
    folder = local_dependencies(root / "fn", root / ".build")
    assert folder is not None
    assert (folder / "fastthing" / "__init__.py").read_text() == "WHEEL_TAG = 'py3-none-any'\n"
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("pip ran"))
    assert local_dependencies(root / "fn", root / ".build") == folder


HANDLER = (
    "def handler(event, context):\n"
    "    if event['path'] == '/yaml':\n"
    "        import yaml  # installed here (pulumi needs it), in neither Lambda nor requirements.txt\n"
    "    import purething, fastthing\n"
    "    return {'statusCode': 200, 'body': purething.WHEEL_TAG + ' ' + fastthing.WHEEL_TAG}\n"
)


def stack_with(root: Path, name: str, handler: str) -> None:
    """A stack ``name`` whose function is ``handlers/<name>.py`` with ``handler`` as its source."""
    (root / "handlers" / f"{name}.py").write_text(handler)
    (root / f"Pulumi.{name}.yaml").write_text(
        f"config:\n  lambda-alb:function:\n    codeDir: handlers\n    handler: {name}.handler\n"
    )


def test_the_local_alb_imports_requirements_refuses_the_rest_and_rebuilds_on_change(wheels, project):  # noqa: F811
    make_wheel(wheels, "fastthing", tag="py3-none-any")
    (project / "handlers" / "requirements.txt").write_text("purething==1.0\n")
    stack_with(project, "withdeps", HANDLER)
    running = Running(project, "withdeps")
    try:
        assert get(running.port) == (200, b"py3-none-any py3-none-any")
        assert get(running.port, "/yaml")[0] == 502
        running.wait_for(r"No module named 'yaml': it is installed on this machine but not in the Lambda runtime")
        v2 = {"purething/__init__.py": b"WHEEL_TAG = 'v2'\n"}
        make_wheel(wheels, "purething", "2.0", requires=("fastthing",), files=v2)
        (project / "handlers" / "requirements.txt").write_text("purething==2.0\n")
        wait_for_body(running, b"v2 py3-none-any")
    finally:
        running.stop()


def test_a_local_build_failure_fails_the_cold_start_with_pips_reason_and_is_remembered_without_rerunning_pip(
    wheels,
    project,  # noqa: F811
    monkeypatch,
):
    (project / "handlers" / "requirements.txt").write_text("nosuchthing\n")
    stack_with(project, "broken", "def handler(event, context):\n    return {'statusCode': 200}\n")
    running = Running(project, "broken")
    try:
        assert get(running.port)[0] == 502
        running.wait_for(r"ImportError: function.codeDir: .*no wheel of 'nosuchthing' for this machine's Python")
    finally:
        running.stop()
    first = local_dependency_env(project / "handlers", project / ".build")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("pip ran again"))
    assert local_dependency_env(project / "handlers", project / ".build") == first
