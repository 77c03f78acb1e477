"""Builds the Cython signal kernels; all other metadata lives in pyproject.toml.

Every ``signal_kernels/*.pyx`` becomes an extension module. The build is portable by
default (``-O3``, no ``-march=native``); set ``STONKS_NATIVE_BUILD=1`` to opt into
``-march=native`` for the machine that runs it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent
KERNEL_DIR = HERE / "signal_kernels"

COMPILE_ARGS = ["-O3", "-fno-math-errno"]
if os.environ.get("STONKS_NATIVE_BUILD") == "1":
    COMPILE_ARGS.append("-march=native")

COMPILER_DIRECTIVES = {
    "language_level": "3",
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
    "embedsignature": True,
}


def kernel_extensions() -> list[Extension]:
    return [
        Extension(
            name=f"signal_kernels.{pyx.stem}",
            sources=[str(pyx.relative_to(HERE))],
            include_dirs=[np.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=COMPILE_ARGS,
        )
        for pyx in sorted(KERNEL_DIR.glob("*.pyx"))
    ]


setup(
    ext_modules=cythonize(
        kernel_extensions(),
        compiler_directives=COMPILER_DIRECTIVES,
        annotate=False,
        quiet=True,
    )
)
