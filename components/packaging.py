"""Deterministic packaging of the function's code directory.

Only source files go in: never ``__pycache__``, compiled files, tests or hidden files. Entries are
sorted and stamped with a fixed time and mode, so the same sources always give the same bytes and
the same hash, and running the tests or building twice never causes a spurious function update.
Plain Python (no ``pulumi`` import).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import os
import secrets
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

EXCLUDED_DIRS = ("__pycache__", "tests", "test", "*.egg-info", "*.dist-info", ".*")
EXCLUDED_FILES = ("*.pyc", "*.pyo", "test_*.py", "*_test.py", "conftest.py", ".*", "*~")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold


@dataclass(frozen=True)
class Package:
    """A built function package."""

    data: bytes
    files: tuple[str, ...]

    @property
    def sha256_base64(self) -> str:
        """Base64 of the SHA-256 of the zip, the form Lambda's ``CodeSha256`` uses."""
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode()

    @property
    def size(self) -> int:
        return len(self.data)


def source_files(code_dir: Path) -> list[str]:
    """The package's files, as sorted POSIX paths relative to ``code_dir``."""
    found = []
    for path in code_dir.rglob("*"):
        rel = path.relative_to(code_dir)
        parents = rel.parts[:-1]
        if any(fnmatch.fnmatch(part, pat) for part in parents for pat in EXCLUDED_DIRS):
            continue
        if path.is_dir() or path.is_symlink():
            continue
        if any(fnmatch.fnmatch(rel.name, pat) for pat in EXCLUDED_FILES):
            continue
        found.append(rel.as_posix())
    return sorted(found)


def add_entry(archive: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644, level: int = 9) -> None:
    """Add one file with a fixed time and ``mode``: the entry depends only on its name and bytes."""
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = mode << 16
    info.create_system = 3  # Unix, so the mode above is honoured
    archive.writestr(info, data, compresslevel=level)


def build_package(code_dir: Path, dependencies: bytes | None = None) -> Package:
    """Zip ``code_dir``'s source files into bytes that depend only on their names and contents.

    ``dependencies`` is an already deterministic zip of installed dependencies: the code is
    appended to a copy of it, so its (often large) entries are reused compressed, never redone.
    """
    files = source_files(code_dir)
    buffer = io.BytesIO(dependencies or b"")
    with zipfile.ZipFile(buffer, "a" if dependencies else "w") as archive:
        for name in files:
            add_entry(archive, name, (code_dir / name).read_bytes())
    return Package(data=buffer.getvalue(), files=tuple(files))


def write_package(package: Package, out_dir: Path, name: str) -> Path:
    """Write the package as ``<out_dir>/<name>.zip``, touching the file only when it changed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.zip"
    try:
        unchanged = target.read_bytes() == package.data
    except FileNotFoundError:  # not built yet, or removed (a cleaned .build/) while we looked
        unchanged = False
    if not unchanged:
        # A temporary file of this write's own, renamed over the target: two programs writing the
        # package at once (two previews of one stack) each leave a whole zip, never a mix. Created
        # with os.open's mode so the umask applies, as it did to the file it replaces.
        tmp = out_dir / f".{name}.{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(4)}.tmp"
        handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(package.data)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return target
