"""Builds the aa-logon wheel with the native libraries inside the package.

setuptools-rust runs cargo (release profile) for two cdylibs of the Cargo workspace this package
lives in and puts them next to the modules, where ``aa_logon._native`` loads them first:

- ``aa_logon/libaa_logon.so`` (crate libaa-logon, the shipped C library), and
- ``aa_logon/libaa_logon_testkit.so`` (crate aa-logon-testkit: the virtual keys of
  ``aa_logon.testing``, for the tests of programs that use aa_logon; about 1 MB, so it rides in
  the same wheel rather than in an extra that would need a second distribution).

They are plain C libraries loaded with ctypes, not Python extension modules, so they keep their
C names and the wheel is tagged ``py3-none-<platform>``: one wheel serves every Python 3.9+.
``auditwheel repair`` then gives it a manylinux tag. The version is the Cargo workspace version
(``[workspace.package]`` of the top Cargo.toml), checked against the C header's.

The build needs this repository checkout (the Rust sources are outside this directory), so
there is no sdist: build wheels with ``pip wheel ./bindings/python`` (or install with ``pip
install ./bindings/python``). Set CARGO_TARGET_DIR to reuse an existing cargo build.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Tuple

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools_rust import Binding, RustExtension, Strip, build_rust

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def _read(path: Path) -> str:
    if not path.is_file():
        sys.exit(
            f"aa-logon: {path} not found. This package is built from a checkout of the aa-logon "
            "repository (pip install ./bindings/python or pip wheel ./bindings/python), not from an sdist."
        )
    return path.read_text(encoding="utf-8")


def workspace_version() -> str:
    """``version`` of ``[workspace.package]`` in the workspace's Cargo.toml."""
    cargo_toml = _read(REPO / "Cargo.toml")
    section = re.search(r"^\[workspace\.package\]\s*$(.*?)(?=^\[|\Z)", cargo_toml, re.M | re.S)
    version = section and re.search(r'^version\s*=\s*"([^"]+)"', section.group(1), re.M)
    if not version:
        sys.exit(f"aa-logon: no version in [workspace.package] of {REPO / 'Cargo.toml'}")
    header = _read(REPO / "include" / "aa_logon.h")
    parts = [re.search(rf"^#define AA_LOGON_VERSION_{part} (\d+)$", header, re.M) for part in ("MAJOR", "MINOR", "PATCH")]
    in_header = ".".join(match.group(1) if match else "?" for match in parts)
    if in_header != version.group(1):
        sys.exit(
            f"aa-logon: include/aa_logon.h is version {in_header} but Cargo.toml says {version.group(1)}: "
            "update the version defines of cbindgen.toml and regenerate the header"
        )
    return version.group(1)


def _library_file(crate_library: str) -> str:
    if sys.platform == "win32":
        return f"{crate_library}.dll"
    if sys.platform == "darwin":
        return f"lib{crate_library}.dylib"
    return f"lib{crate_library}.so"


class build_rust_c_libraries(build_rust):  # noqa: N801 (a setuptools command name)
    """Puts each cdylib in the package under its C library name (``libaa_logon.so``, the file
    ``aa_logon._native`` looks for) instead of a Python extension module name."""

    def get_dylib_ext_path(self, ext: RustExtension, target_fname: str) -> str:
        module_path = super().get_dylib_ext_path(ext, target_fname)
        crate_library = target_fname.rsplit(".", 1)[-1]
        return os.path.join(os.path.dirname(module_path), _library_file(crate_library))


class bdist_wheel_any_python(bdist_wheel):  # noqa: N801
    """Tags the wheel py3-none-<platform>: the libraries do not depend on the Python version."""

    def get_tag(self) -> Tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


def _library(module: str, crate_dir: str) -> RustExtension:
    return RustExtension(
        module,
        path=str(REPO / crate_dir / "Cargo.toml"),
        binding=Binding.NoBinding,
        strip=Strip.All,
        py_limited_api=False,
        args=["--locked"],
    )


setup(
    version=workspace_version(),
    rust_extensions=[
        _library("aa_logon.aa_logon", "libaa_logon"),
        _library("aa_logon.aa_logon_testkit", "testkit/capi"),
    ],
    cmdclass={"build_rust": build_rust_c_libraries, "bdist_wheel": bdist_wheel_any_python},
    zip_safe=False,
)
