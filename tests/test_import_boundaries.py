"""The tiers stay apart: the domain library and the kernels import no framework."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "plugins/stonks": {"airflow", "fastapi", "starlette", "stonks_airflow", "realtime"},
    "signal_kernels": {"airflow", "fastapi", "starlette", "stonks", "realtime", "redis"},
    "realtime": {"airflow", "stonks_airflow"},
    "dags": {"realtime", "fastapi", "signal_kernels"},
}


def imported_roots(path: Path) -> set[str]:
    if path.suffix in {".pyx", ".pxd"}:
        # Cython: scan import/cimport lines; the rest of the syntax is not Python.
        roots = set()
        for line in path.read_text().splitlines():
            words = line.strip().split()
            if len(words) >= 2 and words[0] in {"import", "cimport", "from"}:
                roots.add(words[1].split(".")[0])
        return roots
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("tree", sorted(FORBIDDEN))
def test_tier_imports_no_forbidden_package(tree: str) -> None:
    offenders = []
    for path in sorted((REPO / tree).rglob("*")):
        if path.suffix not in {".py", ".pyx", ".pxd", ".pyi"} or "__pycache__" in path.parts:
            continue
        bad = imported_roots(path) & FORBIDDEN[tree]
        if bad:
            offenders.append(f"{path.relative_to(REPO)} imports {sorted(bad)}")
    assert offenders == []


def test_importing_the_domain_library_loads_no_framework() -> None:
    code = (
        "import sys, importlib, pkgutil, stonks, signal_kernels\n"
        "for m in pkgutil.walk_packages(stonks.__path__, 'stonks.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in "
        "{'airflow', 'fastapi', 'starlette'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == "[]"
