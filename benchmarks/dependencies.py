"""Dependency build benchmark: prints numbers, asserts nothing.

    python3 dev.py bench        (after the foundation benchmark)
    .venv/bin/python benchmarks/dependencies.py

A function whose requirements.txt names ``requests``, which brings four more (urllib3, idna, certifi,
charset-normalizer): five dependencies. Cold and cached build times for Lambda (python3.13, arm64)
and for this machine (the local ALB), and what a cached build adds to an evaluation.

The wheels come from the package index this machine's pip reaches. When that index has no wheel of
one of them for Lambda's platform (an offline mirror often carries only this machine's), the Lambda
build uses a local folder instead: the real pure-Python wheels from the index, and, for a package
with no fitting wheel, its real files re-tagged for Lambda's platform (same sizes, never deployed).
The output says which source was used.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.dependencies import DependencyError, Target, build_function_package, local_dependencies  # noqa: E402
from components.packaging import build_package  # noqa: E402
from tests.wheels import make_wheel  # noqa: E402

REQUIREMENTS = "requests\n"
PACKAGES = ("requests", "urllib3", "idna", "certifi", "charset-normalizer")
TARGET = Target("python3.13", "arm64")
T = TypeVar("T")


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _project(root: Path) -> Path:
    shutil.copytree(ROOT / "function", root / "function", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "function" / "requirements.txt").write_text(REQUIREMENTS)
    return root


def _retagged_wheels(folder: Path) -> list[str]:
    """Every package's real wheel from the index; those with no Lambda wheel there re-tagged for it."""
    downloaded = folder / "downloaded"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest"]
        + [str(downloaded), *PACKAGES],
        check=True,
    )
    retagged = []
    for wheel in sorted(downloaded.glob("*.whl")):
        name, version, *_, tag_platform = wheel.stem.split("-")
        if tag_platform == "any":
            shutil.copy(wheel, folder)
            continue
        with zipfile.ZipFile(wheel) as archive:
            files = {n: archive.read(n) for n in archive.namelist() if ".dist-info/" not in n}
        make_wheel(folder, name, version, tag="cp313-cp313-manylinux2014_aarch64", files=files)
        retagged.append(name)
    return retagged


def lambda_builds(root: Path) -> tuple[list[tuple[str, str]], str]:
    """Cold and cached builds for Lambda, from the index or, failing that, local wheels."""
    project = _project(root / "lambda")
    build = lambda: build_function_package(project, "function", TARGET, project / ".build")  # noqa: E731
    source = "this machine's package index"
    try:
        cold, package = _timed(build)
    except DependencyError as exc:
        wheels = root / "wheels"
        retagged = _retagged_wheels(wheels)
        source = (
            f"a local folder (the index failed: {str(exc)[:140]}...); real wheels from the index, "
            f"{', '.join(retagged)} re-tagged for {TARGET.architecture}"
        )
        os.environ.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels))
        cold, package = _timed(build)
    colds = [cold]
    for _ in range(2):
        shutil.rmtree(project / ".build")
        colds.append(_timed(build)[0])
    cached = statistics.median(_timed(build)[0] for _ in range(21))
    code_only = statistics.median(_timed(lambda: build_package(project / "function"))[0] for _ in range(21))
    with_deps, without = program_evaluation(project)
    rows = [
        ("Lambda build (python3.13 arm64), cold: pip + zip", f"{statistics.median(colds):.2f} s (median of 3)"),
        ("Lambda build, cached (no pip)", f"{cached * 1000:.1f} ms"),
        ("  of which the code alone (no dependencies)", f"{code_only * 1000:.1f} ms"),
        ("  what the dependencies add to an evaluation", f"{(cached - code_only) * 1000:.1f} ms   (aim < 100 ms)"),
        ("package size (zipped)", f"{package.size / 1024:.0f} KiB"),
        ("dev stack evaluation (mocks), cached dependencies", f"{with_deps * 1000:.0f} ms"),
        ("dev stack evaluation (mocks), no requirements.txt", f"{without * 1000:.0f} ms"),
    ]
    return rows, source


def program_evaluation(project: Path, runs: int = 7) -> tuple[float, float]:
    """The whole program under mocks (as `pulumi preview` evaluates it), with the dependencies
    cached and without a requirements.txt: median seconds of warm re-evaluations."""
    import warnings

    from tests.harness import evaluate, load_stack

    warnings.simplefilter("ignore")
    shutil.copy(ROOT / "__main__.py", project / "__main__.py")
    config = load_stack("dev")
    evaluate(config, program_dir=project)  # warm imports; the dependencies are already cached
    with_deps = statistics.median(_timed(lambda: evaluate(config, program_dir=project))[0] for _ in range(runs))
    (project / "function" / "requirements.txt").rename(project / "requirements.off")
    try:
        without = statistics.median(_timed(lambda: evaluate(config, program_dir=project))[0] for _ in range(runs))
    finally:
        (project / "requirements.off").rename(project / "function" / "requirements.txt")
    return with_deps, without


def local_builds(root: Path) -> list[tuple[str, str]]:
    """Cold and cached builds for this machine, from the index this machine's pip reaches."""
    for key in ("PIP_CONFIG_FILE", "PIP_NO_INDEX", "PIP_FIND_LINKS"):
        os.environ.pop(key, None)
    project = _project(root / "local")
    code, build_dir = project / "function", project / ".build"
    try:
        cold, _ = _timed(lambda: local_dependencies(code, build_dir))
    except DependencyError as exc:
        return [("local build (this machine)", f"failed: {exc}")]
    cached = statistics.median(_timed(lambda: local_dependencies(code, build_dir))[0] for _ in range(21))
    return [
        ("local ALB build (this machine), cold", f"{cold:.2f} s"),
        ("local ALB build, cached (per cold start)", f"{cached * 1000:.2f} ms"),
    ]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows, source = lambda_builds(Path(tmp))
        rows += local_builds(Path(tmp))
    print(f"dependencies: {REQUIREMENTS.strip()} and its 4 dependencies ({', '.join(PACKAGES[1:])})")
    print(f"Lambda wheels from: {source}")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
