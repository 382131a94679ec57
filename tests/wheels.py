"""Tiny wheels built by hand for the dependency tests and benchmark: no network, no build tools.

A wheel is a zip holding the package and a ``<name>-<version>.dist-info`` folder with METADATA,
WHEEL (its tags) and RECORD (each file's hash and size), as the wheel specification describes.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(
    folder: Path,
    name: str,
    version: str = "1.0",
    tag: str = "py3-none-any",
    files: dict[str, bytes] | None = None,
    requires: tuple[str, ...] = (),
) -> Path:
    """Write ``<name>-<version>-<tag>.whl`` into ``folder``; by default one module, ``<name>``,
    whose ``WHEEL_TAG`` says which wheel was installed."""
    files = files if files is not None else {f"{name}/__init__.py": f"WHEEL_TAG = {tag!r}\n".encode()}
    dist_info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    purelib = "true" if tag.endswith("-none-any") else "false"
    wheel = f"Wheel-Version: 1.0\nGenerator: tests.wheels\nRoot-Is-Purelib: {purelib}\nTag: {tag}\n"
    contents = {**files, f"{dist_info}/METADATA": metadata.encode(), f"{dist_info}/WHEEL": wheel.encode()}
    record = [_record_line(path, data) for path, data in contents.items()] + [f"{dist_info}/RECORD,,"]
    contents[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in contents.items():
            archive.writestr(member, data)
    return path
