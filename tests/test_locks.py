"""The locks match pyproject.toml, carry hashes, and give `pulumi up` the versions the tests use."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
FROM_PYPROJECT = f"{PROJECT['name']} (pyproject.toml)"  # how pip-compile annotates a top-level pin
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
STALE = "is stale: run python3 dev.py lock"


@dataclass
class Locked:
    """One package in a lock file."""

    version: str
    hashes: int = 0
    via: list[str] = field(default_factory=list)


def read_lock(name: str) -> dict[str, Locked]:
    """A pip-compile output, by canonical package name."""
    packages: dict[str, Locked] = {}
    current: Locked | None = None
    for line in (ROOT / name).read_text().splitlines():
        pinned = PIN.match(line)
        if pinned:
            current = packages[canonicalize_name(pinned[1])] = Locked(pinned[2])
            continue
        text = line.strip()
        if current is None:
            continue
        if text.startswith("--hash="):
            current.hashes += 1
        elif text.startswith("# via"):
            current.via += [text.removeprefix("# via").strip()] if text != "# via" else []
        elif text.startswith("#   "):
            current.via.append(text[1:].strip())
    return packages


def declared(*extras: str) -> list[Requirement]:
    """The project's dependencies plus those of ``extras``, as pyproject.toml states them."""
    lines = PROJECT["dependencies"] + [line for extra in extras for line in PROJECT["optional-dependencies"][extra]]
    return [Requirement(line) for line in lines]


# requirements.txt is what the Pulumi CLI installs; requirements-dev.txt is what .venv gets.
LOCKS = {"requirements.txt": ("typecheck",), "requirements-dev.txt": ("typecheck", "dev")}


@pytest.mark.parametrize("lock_name", LOCKS)
def test_every_pin_in_pyproject_is_in_its_lock_at_that_version(lock_name):
    lock = read_lock(lock_name)
    problems = []
    for requirement in declared(*LOCKS[lock_name]):
        locked = lock.get(canonicalize_name(requirement.name))
        if locked is None:
            problems.append(f"{requirement.name} is missing")
        elif not requirement.specifier.contains(locked.version, prereleases=True):
            problems.append(f"{requirement.name} is locked at {locked.version}, pyproject.toml says {requirement}")
    assert not problems, f"{lock_name} {STALE}: {problems}"


@pytest.mark.parametrize("lock_name", LOCKS)
def test_a_dependency_removed_from_pyproject_leaves_its_lock(lock_name):
    lock = read_lock(lock_name)
    top_level = {name for name, locked in lock.items() if FROM_PYPROJECT in locked.via}
    assert top_level == {canonicalize_name(r.name) for r in declared(*LOCKS[lock_name])}, f"{lock_name} {STALE}"


@pytest.mark.parametrize("lock_name", LOCKS)
def test_every_locked_package_has_a_hash_so_pip_checks_every_download(lock_name):
    lock = read_lock(lock_name)
    assert len(lock) > len(declared(*LOCKS[lock_name])), "the lock should hold the transitive packages too"
    assert [name for name, locked in lock.items() if not locked.hashes] == []


def test_tests_run_the_versions_pulumi_up_installs():
    runtime, dev = read_lock("requirements.txt"), read_lock("requirements-dev.txt")
    different = {name: (locked.version, dev.get(name)) for name, locked in runtime.items()}
    assert {name: v for name, v in different.items() if v[1] is None or v[1].version != v[0]} == {}


def test_pulumi_installs_the_runtime_lock_and_type_checks_with_a_checker_it_holds():
    options = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["runtime"]["options"]
    # toolchain pip installs requirements.txt into the virtualenv; the CLI refuses to run when the
    # typechecker is set but not installed there.
    assert options["toolchain"] == "pip" and options["virtualenv"] == ".venv"
    assert options["typechecker"] in read_lock("requirements.txt")


def test_pip_install_finds_every_package_it_is_told_to_ship():
    setuptools = PYPROJECT["tool"]["setuptools"]
    folders = [setuptools.get("package-dir", {}).get(p, p) for p in setuptools["packages"]]
    assert [f for f in folders if not (ROOT / f / "__init__.py").is_file()] == []


def _checked_python_files() -> list[Path]:
    """The program's files that mypy reads (pyproject.toml excludes tests, benchmarks, bootstrap)."""
    excluded = [re.compile(pattern) for pattern in PYPROJECT["tool"]["mypy"]["exclude"]]
    tops = [p for p in ROOT.iterdir() if not p.name.startswith(".")]  # not .venv, .git
    files = [f for top in tops for f in (top.rglob("*.py") if top.is_dir() else [top]) if f.suffix == ".py"]
    return [p for p in files if not any(e.search(p.relative_to(ROOT).as_posix()) for e in excluded)]


def test_every_aws_module_the_program_uses_is_type_checked():
    # mypy reads only the pulumi_aws modules listed with follow_imports = "normal"; any other is
    # skipped and typed Any, so a newly used service would go unchecked without this test.
    followed = {
        module.removesuffix(".*")
        for override in PYPROJECT["tool"]["mypy"]["overrides"]
        if override.get("follow_imports") == "normal"
        for module in override["module"]
    }
    used = set()
    for path in _checked_python_files():
        text = path.read_text()
        used |= {f"pulumi_aws.{name}" for name in re.findall(r"(?<![\w.])aws\.([a-z][a-z0-9_]*)\.\w", text)}
        used |= {f"pulumi_aws.{name}" for name in re.findall(r"(?<![\w.])aws\.(get_[a-z0-9_]+?)(?:_output)?\(", text)}
    assert "pulumi_aws.lb" in used  # the scan sees the program's imports
    assert sorted(used - followed) == []


# What `pulumi up`, the local ALB and the smoke check import: they run from requirements.txt alone.
RUNTIME_CODE = ("__main__.py", "components", "localalb", "smoke")


def third_party_imports(paths: tuple[str, ...]) -> dict[str, str]:
    """Every top-level module the code imports that is neither the standard library nor ours,
    with one file that imports it."""
    import ast
    import sys

    ours = {path.name.removesuffix(".py") for path in ROOT.iterdir()} | {"lambda_alb"}
    found: dict[str, str] = {}
    files = [p for name in paths for p in ([ROOT / name] if name.endswith(".py") else (ROOT / name).rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ours:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_package_the_program_imports_is_in_the_lock_pulumi_installs():
    from importlib.metadata import packages_distributions

    distributions = packages_distributions()
    runtime = read_lock("requirements.txt")
    missing = [
        f"{module} (imported by {where})"
        for module, where in sorted(third_party_imports(RUNTIME_CODE).items())
        if not any(canonicalize_name(d) in runtime for d in distributions.get(module, [module]))
    ]
    assert not missing, f"not in requirements.txt, so `pulumi up` would fail to import them: {missing}"
