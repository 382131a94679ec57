"""Third-party dependencies from the function's ``requirements.txt``, built for Lambda or for here.

For AWS, pip installs binary wheels for the function's platform, not this machine's: Lambda's
Linux (Amazon Linux 2023, glibc 2.34, for python3.12 and later), its architecture and its runtime's
CPython version, with pip's own ``--platform``/``--python-version`` options, so no Docker is needed.
The installed files become a deterministic zip cached under ``.build/dependencies/<key>``, where
the key hashes the requirements, the platform, the runtime and pip's version: an unchanged build
runs no pip at all. For the local ALB, the same requirements are installed for this machine's
Python (Lambda's Linux wheels may not load here) into ``.build/local-dependencies/<key>``.

Every failure is a ``DependencyError`` whose lines name ``function.codeDir`` and the requirements
file, raised before any resource exists. Plain Python (no ``pulumi`` import).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .packaging import Package, add_entry, build_package, source_files

REQUIREMENTS_FILE = "requirements.txt"
# Lambda's limits for a package uploaded directly (not through S3), from "Lambda quotas".
MAX_ZIPPED_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
# python3.12, 3.13 and 3.14 run on Amazon Linux 2023, whose glibc is 2.34: a wheel built for any
# manylinux_2_N with 17 <= N <= 34 loads there (manylinux2014 is manylinux_2_17).
LAMBDA_GLIBC = (2, 34)
OLDEST_MANYLINUX_GLIBC = (2, 17)
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}
BIGGEST_SHOWN = 5
# Written by pip for this install only: the RECORD lists .pyc and script hashes that differ from
# machine to machine, direct_url.json holds local paths, bin/ holds scripts with this machine's
# interpreter in their first line. Lambda needs none of them (importlib.metadata works without).
_DROPPED_DIRS = ("__pycache__",)
_DROPPED_TOP_LEVEL = ("bin",)
_DROPPED_FILES = re.compile(r"(\.py[co]$)|(\.dist-info/(RECORD|direct_url\.json)$)")
_NESTED_REQUIREMENTS = re.compile(r"^\s*(?:-r|-c|--requirement|--constraint)[\s=]+(\S+)", re.MULTILINE)
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
_FROM_VERSIONS = re.compile(r"Could not find a version that satisfies the requirement (\S+) \(from versions: ([^)]*)\)")


class DependencyError(Exception):
    """The dependencies cannot be built or do not fit Lambda; one line per problem, each naming
    the setting (``function.codeDir``) and the requirements file."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Target:
    """Where the function runs: a Lambda runtime (``python3.13``) on an architecture (``arm64``)."""

    runtime: str
    architecture: str

    @property
    def python_version(self) -> str:
        """``3.13`` for ``python3.13``."""
        return self.runtime.removeprefix("python")

    @property
    def platforms(self) -> tuple[str, ...]:
        """The manylinux tags whose wheels load on Lambda's Linux for this architecture, newest first."""
        machine = MACHINES[self.architecture]
        newest, oldest = LAMBDA_GLIBC[1], OLDEST_MANYLINUX_GLIBC[1]
        # pip compares tags as strings, so the legacy alias of manylinux_2_17 is listed as well.
        tags = [f"manylinux_2_{minor}_{machine}" for minor in range(newest, oldest - 1, -1)]
        return (*tags, f"manylinux2014_{machine}")

    def describe(self) -> str:
        """How an error names the platform."""
        machine = MACHINES[self.architecture]
        return (
            f"Lambda {self.runtime} on {self.architecture} (CPython {self.python_version}, "
            f"manylinux {machine} up to glibc {LAMBDA_GLIBC[0]}.{LAMBDA_GLIBC[1]})"
        )


@dataclass(frozen=True)
class Dependencies:
    """Installed dependencies as a deterministic zip, with what the limit checks need."""

    archive: bytes
    unzipped_size: int
    sizes: tuple[tuple[str, int], ...]  # (distribution, unzipped bytes), biggest first
    files: tuple[str, ...]
    cached: bool  # True when no pip ran


def requirements_path(code_dir: Path) -> Path | None:
    """The function's ``requirements.txt``, or None when it has none."""
    path = code_dir / REQUIREMENTS_FILE
    return path if path.is_file() else None


def requirements_digest(path: Path) -> str:
    """SHA-256 over the requirements file and the files it includes with ``-r``/``-c``."""
    digest = hashlib.sha256()
    seen: set[Path] = set()
    pending = [path]
    while pending:
        current = pending.pop()
        if current in seen or not current.is_file():
            continue
        seen.add(current)
        data = current.read_bytes()
        digest.update(str(len(data)).encode() + b"\0" + data)
        text = data.decode(errors="replace")
        pending.extend(current.parent / nested for nested in _NESTED_REQUIREMENTS.findall(text))
    return digest.hexdigest()


def _pip_version() -> str:
    try:
        return importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        raise DependencyError(
            [f"function.codeDir: pip is not installed in {sys.executable}; it builds the dependencies"]
        ) from None


def cache_key(requirements: Path, target: Target) -> str:
    """What the built dependencies depend on: the requirements, the platform, the runtime, pip."""
    parts = [requirements_digest(requirements), target.runtime, target.architecture, _pip_version()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _run_pip(args: list[str], requirements: Path, label: str, target: Target | None) -> None:
    """Run pip, turning a failure into a DependencyError with pip's own words."""
    # pip runs from the requirements' folder, so relative paths in them mean what they say there.
    command = [sys.executable, "-m", "pip", "install", "--requirement", str(requirements.resolve()), *args]
    command += ["--no-input", "--disable-pip-version-check", "--progress-bar", "off"]
    # Both installs go to a folder of their own (--target): checking them against this program's
    # environment, which pip does by default, reads every installed package (a sixth of a run here)
    # to warn about conflicts that do not apply to the function.
    command.append("--no-warn-conflicts")
    # A requirements file with any --hash puts pip in hash-checking mode by itself: then every
    # requirement, dependencies included, must be pinned with a hash (tests/test_dependencies.py).
    result = subprocess.run(command, cwd=requirements.parent, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DependencyError([_explain_pip_failure(result.stdout + result.stderr, label, target)])


def _explain_pip_failure(output: str, label: str, target: Target | None) -> str:
    platform = target.describe() if target else f"this machine's Python {sys.version.split()[0]}"
    missing = _NO_MATCH.search(output)
    if missing:
        # pip lists no versions both for a package it cannot find and for one whose files are all
        # for other platforms (or source only): the message covers both.
        versions = _FROM_VERSIONS.search(output)
        seen = versions.group(2).strip() if versions else "none"
        seen_text = f" (versions that fit: {seen})" if seen != "none" else ""
        remedy = (
            "pin a version that publishes a wheel for this platform, or choose another function.runtime or "
            "function.architecture"
            if target
            else "pin a version that publishes a wheel for this machine"
        )
        return (
            f"{label}: no wheel of {missing.group(1)!r} for {platform}{seen_text}; only binary wheels are installed "
            f"(the index has none for this platform, only a source distribution, or no such package): {remedy}"
        )
    lines = output.splitlines()
    # pip's error is its first ERROR: line and what follows (the requirements it names, indented).
    first = next((i for i, line in enumerate(lines) if line.startswith("ERROR:")), max(0, len(lines) - 10))
    detail = " ".join(" ".join(line.removeprefix("ERROR:").split()) for line in lines[first:] if line.strip())
    return f"{label}: pip could not install the requirements: {detail}"


def _installed_files(site: Path) -> list[str]:
    found = []
    for path in site.rglob("*"):
        rel = path.relative_to(site)
        if path.is_dir() or rel.parts[0] in _DROPPED_TOP_LEVEL or any(p in _DROPPED_DIRS for p in rel.parts):
            continue
        name = rel.as_posix()
        if not _DROPPED_FILES.search(name):
            found.append(name)
    return sorted(found)


def _distribution_of(site: Path) -> dict[str, str]:
    """Installed path -> distribution name, from each wheel's RECORD (read before it is dropped)."""
    owner = {}
    for record in site.glob("*.dist-info/RECORD"):
        distribution = record.parent.name.removesuffix(".dist-info").rsplit("-", 1)[0]
        for line in record.read_text(errors="replace").splitlines():
            path = line.rsplit(",", 2)[0]
            owner[os.path.normpath(path).replace(os.sep, "/")] = distribution
    return owner


def _archive_site(site: Path) -> tuple[bytes, dict[str, object]]:
    """The deterministic zip of an installed folder, and its manifest (files, sizes)."""
    files = _installed_files(site)
    owner = _distribution_of(site)
    sizes: dict[str, int] = {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in files:
            path = site / name
            data = path.read_bytes()
            mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            add_entry(archive, name, data, mode, level=6)
            distribution = owner.get(name, name.split("/")[0])
            sizes[distribution] = sizes.get(distribution, 0) + len(data)
    biggest = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))
    manifest: dict[str, object] = {"files": files, "sizes": biggest, "unzipped": sum(sizes.values())}
    return buffer.getvalue(), manifest


def _publish(tmp: Path, final: Path) -> None:
    """Move a finished build into place; if another build got there first, keep that one."""
    try:
        os.rename(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not final.exists():
            raise


_build_lock = threading.Lock()  # one pip at a time per process; the rename covers other processes


def _install_for_lambda(requirements: Path, target: Target, final: Path, label: str) -> None:
    """pip into a temporary folder, zip it with its manifest, then move the result to ``final``."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    try:
        site = tmp / "site"
        platform = [arg for tag in target.platforms for arg in ("--platform", tag)]
        python = ["--implementation", "cp", "--python-version", target.python_version]
        _run_pip(
            ["--target", str(site), "--only-binary=:all:", *python, *platform, "--no-compile"],
            requirements,
            label,
            target,
        )
        site.mkdir(exist_ok=True)  # a requirements file of comments installs nothing
        data, manifest = _archive_site(site)
        shutil.rmtree(site)
        (tmp / "dependencies.zip").write_bytes(data)
        (tmp / "manifest.json").write_text(json.dumps(manifest))
        _publish(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def build_dependencies(requirements: Path, target: Target, build_dir: Path, label: str) -> Dependencies:
    """The requirements installed for ``target``, from the cache when it has them (no pip run)."""
    final = build_dir.resolve() / "dependencies" / cache_key(requirements, target)
    archive_path, manifest_path = final / "dependencies.zip", final / "manifest.json"
    cached = archive_path.exists() and manifest_path.exists()
    if not cached:
        with _build_lock:
            if not archive_path.exists():
                _install_for_lambda(requirements, target, final, label)
    manifest = json.loads(manifest_path.read_text())
    return Dependencies(
        archive=archive_path.read_bytes(),
        unzipped_size=manifest["unzipped"],
        sizes=tuple((name, size) for name, size in manifest["sizes"]),
        files=tuple(manifest["files"]),
        cached=cached,
    )


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _limit_problems(package: Package, code_size: int, deps: Dependencies, label: str) -> list[str]:
    problems = []
    unzipped = code_size + deps.unzipped_size
    if unzipped > MAX_UNZIPPED_BYTES or package.size > MAX_ZIPPED_BYTES:
        biggest = ", ".join(f"{name} {_mb(size)}" for name, size in deps.sizes[:BIGGEST_SHOWN])
        if unzipped > MAX_UNZIPPED_BYTES:
            problems.append(
                f"{label}: the package is {_mb(unzipped)} unzipped, over Lambda's {_mb(MAX_UNZIPPED_BYTES)} "
                f"limit; biggest dependencies: {biggest}"
            )
        if package.size > MAX_ZIPPED_BYTES:
            problems.append(
                f"{label}: the package is {_mb(package.size)} zipped, over Lambda's {_mb(MAX_ZIPPED_BYTES)} "
                f"limit for a direct upload; biggest dependencies: {biggest}"
            )
    return problems


def build_function_package(project_dir: Path, code_dir: str, target: Target, build_dir: Path) -> Package:
    """The function's package: its code plus, when it has a ``requirements.txt``, the dependencies
    installed for ``target``. Without requirements it is exactly the code's package. Raises
    ``DependencyError`` when pip fails or the result does not fit Lambda."""
    code_path = project_dir / code_dir
    requirements = requirements_path(code_path)
    if requirements is None:
        return build_package(code_path)
    label = f"function.codeDir: {Path(code_dir, REQUIREMENTS_FILE).as_posix()}"
    deps = build_dependencies(requirements, target, build_dir, label)
    code_files = source_files(code_path)
    clashes = sorted(set(code_files) & set(deps.files))
    if clashes:
        raise DependencyError(
            [
                f"{label}: {', '.join(clashes[:BIGGEST_SHOWN])} both in {code_dir}/ and in the installed "
                "dependencies; rename the code's copy, or drop the requirement that installs it"
            ]
        )
    package = build_package(code_path, deps.archive)
    code_size = sum((code_path / name).stat().st_size for name in code_files)
    problems = _limit_problems(package, code_size, deps, label)
    if problems:
        raise DependencyError(problems)
    return package


# --- for the local ALB ------------------------------------------------------------------------

_local_failures: dict[str, str] = {}  # key -> message: a broken file is not re-run on every cold start


def local_dependencies(code_dir: Path, build_dir: Path) -> Path | None:
    """The function's requirements installed for this machine's Python, in a folder to put on the
    function's path (None without requirements). Cached by the requirements' hash."""
    requirements = requirements_path(code_dir)
    if requirements is None:
        return None
    parts = [requirements_digest(requirements), sys.implementation.cache_tag or "", sysconfig.get_platform()]
    key = hashlib.sha256("\n".join([*parts, _pip_version()]).encode()).hexdigest()[:32]
    final = build_dir.resolve() / "local-dependencies" / key
    if key in _local_failures:
        raise DependencyError([_local_failures[key]])
    if final.is_dir():
        return final
    with _build_lock:
        if final.is_dir():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
        label = f"function.codeDir: {requirements}"
        try:
            _run_pip(["--target", str(tmp), "--only-binary=:all:"], requirements, label, None)
            _publish(tmp, final)
        except DependencyError as exc:
            _local_failures[key] = str(exc)
            raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final


def local_dependency_env(code_dir: Path, build_dir: Path) -> dict[str, str]:
    """Environment for a local worker: ``LOCALALB_DEPENDENCIES`` (the folder to import from) or
    ``LOCALALB_DEPENDENCIES_ERROR`` (why there is none: the worker fails its init with it)."""
    try:
        folder = local_dependencies(code_dir, build_dir)
    except DependencyError as exc:
        return {"LOCALALB_DEPENDENCIES_ERROR": str(exc)}
    return {"LOCALALB_DEPENDENCIES": str(folder)} if folder else {}
