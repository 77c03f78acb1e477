"""``stonks demo`` as a user runs it: embedded default in an empty directory, twice."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def run_demo(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STONKS_")}
    return subprocess.run(
        [sys.executable, "-m", "stonks", "demo"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def test_demo_runs_end_to_end_on_the_embedded_default_and_is_idempotent(tmp_path: Path) -> None:
    first = run_demo(tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "[1/6] services: embedded Redis started" in out
    assert "[2/6] database: sqlite:///" in out and "(34 tables)" in out
    assert "1 dead-lettered" in out
    assert "ticker: Field required" in out
    assert "companies: 496 rows, 10 tracked" in out
    aapl = next(line for line in out.splitlines() if line.strip().startswith("AAPL"))
    assert "2010-08-20" in aapl
    assert "embedded Redis stopped" in out

    database = tmp_path / ".stonks" / "stonks.db"
    with sqlite3.connect(database) as conn:
        assert conn.execute("select count(*) from companies").fetchone() == (496,)

    second = run_demo(tmp_path)
    assert second.returncode == 0, second.stderr
    assert "companies: 496 rows, 10 tracked" in second.stdout
    with sqlite3.connect(database) as conn:
        assert conn.execute("select count(*) from companies").fetchone() == (496,)
