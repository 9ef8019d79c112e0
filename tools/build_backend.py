"""The build backend (PEP 517) of pyproject.toml: setuptools', except that
it builds the wheel itself when setuptools cannot.

Before 70.1 setuptools needs the wheel package for ``bdist_wheel`` (and for
a wheel's metadata), and a stock virtualenv has none: Python 3.9's comes with
setuptools 58.1.  So offline, in such a venv, ``pip install --no-index
--no-build-isolation .`` would fail with "invalid command 'bdist_wheel'".
Then this backend has setuptools write the metadata (egg_info) and copy the
files (build), and zips them as a pure-Python wheel.
"""

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

from setuptools import build_meta as _setuptools
from setuptools.build_meta import build_sdist, get_requires_for_build_sdist  # noqa: F401  (the hooks, as they are)

if hasattr(_setuptools, "build_editable"):                  # setuptools 64 and newer: PEP 660
    from setuptools.build_meta import (build_editable, get_requires_for_build_editable,  # noqa: F401
                                       prepare_metadata_for_build_editable)


def _has_bdist_wheel():
    """Whether setuptools can build a wheel: itself (70.1+), or with wheel."""
    for name in ("setuptools.command.bdist_wheel", "wheel.bdist_wheel"):
        try:
            __import__(name)
            return True
        except ImportError:
            pass
    return False


def get_requires_for_build_wheel(config_settings=None):
    return _setuptools.get_requires_for_build_wheel(config_settings) if _has_bdist_wheel() else []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    if _has_bdist_wheel():
        return _setuptools.prepare_metadata_for_build_wheel(metadata_directory, config_settings)
    with tempfile.TemporaryDirectory() as work:
        return _dist_info(work, metadata_directory)[0]


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if _has_bdist_wheel():
        return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
    with tempfile.TemporaryDirectory() as work:
        lib = os.path.join(work, "lib")
        dist_info, name = _dist_info(work, lib)
        path = os.path.join(wheel_directory, name + "-py3-none-any.whl")
        _zip(lib, dist_info, path)
        return os.path.basename(path)


def _dist_info(work, target):
    """Run egg_info and build into ``work``, the built files into ``target``;
    write the .dist-info folder there (no RECORD).  (its name, the wheel's
    name without its tags)"""
    subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base", work,
                    "build", "--build-base", os.path.join(work, "build")], check=True, stdout=sys.stderr)
    egg_info, = [os.path.join(work, n) for n in os.listdir(work) if n.endswith(".egg-info")]
    if not os.path.isdir(target):
        shutil.copytree(os.path.join(work, "build", "lib"), target)
        _add_package_data(egg_info, target)
    metadata = _metadata(egg_info)
    fields = dict(line.split(": ", 1) for line in metadata.split("\n\n", 1)[0].splitlines() if ": " in line)
    name = "{}-{}".format(fields["Name"].replace("-", "_"), fields["Version"])
    dist_info = os.path.join(target, name + ".dist-info")
    os.makedirs(dist_info)
    _write(os.path.join(dist_info, "METADATA"), metadata)
    _write(os.path.join(dist_info, "WHEEL"), "Wheel-Version: 1.0\nGenerator: slack_rtm tools/build_backend.py\n"
                                             "Root-Is-Purelib: true\nTag: py3-none-any\n")
    for extra in ("entry_points.txt", "top_level.txt"):
        if os.path.exists(os.path.join(egg_info, extra)):
            shutil.copy(os.path.join(egg_info, extra), dist_info)
    return os.path.basename(dist_info), name


def _add_package_data(egg_info, target):
    """Copy the files of the packages (top_level.txt) that an old build_py
    leaves out: setuptools 58 copies no data of a package without an
    __init__.py, such as slack_rtm-stubs/__init__.pyi."""
    packages = set(_lines(os.path.join(egg_info, "top_level.txt")))
    for path in _lines(os.path.join(egg_info, "SOURCES.txt")):
        if "/" in path and path.split("/", 1)[0] in packages and not os.path.exists(os.path.join(target, path)):
            os.makedirs(os.path.dirname(os.path.join(target, path)), exist_ok=True)
            shutil.copy(path, os.path.join(target, path))


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def _metadata(egg_info):
    """PKG-INFO with the requirements of requires.txt as Requires-Dist and
    Provides-Extra (egg_info keeps them apart)."""
    with open(os.path.join(egg_info, "PKG-INFO"), encoding="utf-8") as f:
        head, _, body = f.read().partition("\n\n")
    lines = [line for line in head.splitlines() if not line.startswith(("Requires-Dist:", "Provides-Extra:"))]
    extra = None
    requires = os.path.join(egg_info, "requires.txt")
    for line in open(requires, encoding="utf-8").read().splitlines() if os.path.exists(requires) else ():
        line = line.strip()
        if line.startswith("["):
            extra = line.strip("[]")
            if ":" in extra:
                raise SystemExit("tools/build_backend.py: an extra with a marker needs the wheel package")
            lines.append("Provides-Extra: " + extra)
        elif line:
            lines.append("Requires-Dist: " + line + ('; extra == "{}"'.format(extra) if extra else ""))
    return "\n".join(lines) + "\n\n" + body


def _write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _zip(lib, dist_info, path):
    """The wheel: the files of ``lib``, then a RECORD of their hashes."""
    record = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for root, dirs, files in os.walk(lib):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                arcname = os.path.relpath(full, lib).replace(os.sep, "/")
                with open(full, "rb") as f:
                    data = f.read()
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                zf.writestr(arcname, data)
                record.append("{},sha256={},{}".format(arcname, digest, len(data)))
        record.append(dist_info + "/RECORD,,")
        zf.writestr(dist_info + "/RECORD", "\n".join(record) + "\n")
