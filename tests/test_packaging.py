"""Packaging is deterministic and holds only source files."""

import contextlib
import os
import shutil
import stat
import threading
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from components.packaging import add_entry, build_package, write_package

FUNCTION_DIR = Path(__file__).resolve().parent.parent / "function"


def test_package_holds_only_source_files(tmp_path):
    code = tmp_path / "fn"
    shutil.copytree(FUNCTION_DIR, code, ignore=shutil.ignore_patterns("__pycache__"))
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    (code / "stale.pyc").write_bytes(b"\0")
    (code / "tests").mkdir()
    (code / "tests" / "test_app.py").write_text("")
    (code / "test_local.py").write_text("")
    (code / ".env").write_text("SECRET=1")
    (code / "lib").mkdir()
    (code / "lib" / "util.py").write_text("X = 1\n")
    package = build_package(code)
    assert package.files == ("app.py", "lib/util.py")
    assert zipfile.ZipFile(BytesIO(package.data)).namelist() == ["app.py", "lib/util.py"]


def test_building_twice_gives_identical_bytes_despite_new_mtimes_and_caches(tmp_path):
    code = tmp_path / "fn"
    shutil.copytree(FUNCTION_DIR, code, ignore=shutil.ignore_patterns("__pycache__"))
    first = build_package(code)
    (code / "app.py").touch()
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "app.cpython-313.pyc").write_bytes(b"new")
    second = build_package(code)
    assert first.data == second.data
    assert first.sha256_base64 == second.sha256_base64


def test_a_source_change_changes_the_hash(tmp_path):
    code = tmp_path / "fn"
    shutil.copytree(FUNCTION_DIR, code, ignore=shutil.ignore_patterns("__pycache__"))
    before = build_package(code).sha256_base64
    (code / "app.py").write_text((code / "app.py").read_text() + "\n# changed\n")
    assert build_package(code).sha256_base64 != before


def test_entries_have_fixed_time_and_mode(tmp_path):
    package = build_package(FUNCTION_DIR)
    for info in zipfile.ZipFile(BytesIO(package.data)).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o644


def test_write_package_leaves_an_unchanged_file_alone(tmp_path):
    package = build_package(FUNCTION_DIR)
    path = write_package(package, tmp_path, "svc")
    stamp = path.stat().st_mtime_ns
    assert write_package(package, tmp_path, "svc").stat().st_mtime_ns == stamp
    assert path.read_bytes() == package.data


def test_programs_writing_the_package_at_once_always_leave_a_whole_zip(tmp_path):
    """Two previews of one stack (or two test workers) write the same zip: each write replaces it
    with a whole file of its own, never a mix of both, and leaves no temporary file behind."""
    from components.packaging import Package

    packages = [Package(data=bytes([n]) * 4_000_000, files=("app.py",)) for n in (1, 2)]
    wholes = {p.data for p in packages}
    seen: list[bytes] = []
    done = threading.Event()

    failures: list[BaseException] = []

    def write(package: Package) -> None:
        try:
            for _ in range(15):
                (tmp_path / "svc.zip").unlink(missing_ok=True)  # so every round writes
                write_package(package, tmp_path, "svc")
        except BaseException as exc:  # noqa: BLE001 - reported by the test, not lost in the thread
            failures.append(exc)

    def read() -> None:
        while not done.is_set():
            with contextlib.suppress(FileNotFoundError):
                seen.append((tmp_path / "svc.zip").read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(p,)) for p in packages]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()
    seen.append((tmp_path / "svc.zip").read_bytes())  # what the last write left
    assert not failures, failures
    assert all(data in wholes for data in seen), sorted({len(d) for d in seen} - {4_000_000})
    assert [p.name for p in tmp_path.iterdir()] in (["svc.zip"], [])


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_the_written_package_gets_the_mode_the_umask_gives_like_any_file(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        path = write_package(build_package(FUNCTION_DIR), tmp_path, "svc")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_real_package_is_small():
    assert build_package(FUNCTION_DIR).size < 16 * 1024


def test_code_is_appended_to_a_dependencies_zip_whose_entries_are_kept_as_they_are(tmp_path):
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        add_entry(archive, "dep/__init__.py", b"VALUE = 1\n" * 100, level=6)
    dependencies = buffer.getvalue()
    package = build_package(FUNCTION_DIR, dependencies)
    archive = zipfile.ZipFile(BytesIO(package.data))
    assert archive.namelist() == ["dep/__init__.py", "app.py"]
    assert archive.read("dep/__init__.py") == b"VALUE = 1\n" * 100
    # Reused, not recompressed: the package starts with the dependency's local header (30 bytes and
    # its name) and compressed data, byte for byte.
    info = zipfile.ZipFile(BytesIO(dependencies)).infolist()[0]
    entry_end = 30 + len(info.filename) + info.compress_size
    assert package.data[:entry_end] == dependencies[:entry_end]
    assert package.files == ("app.py",)
