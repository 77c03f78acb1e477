"""A throwaway PostgreSQL server for the tests, started from the image's server binaries.

``initdb`` refuses to run as root, so when the tests run as root the cluster is created and
started as the unprivileged ``postgres`` user (``runuser``); the data and socket directories
are owned by that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bindir() -> Path:
    configured = os.environ.get("STONKS_PG_BINDIR")
    if configured:
        return Path(configured)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for candidate in reversed(candidates):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError(
        "PostgreSQL server binaries not found (apt-get install postgresql-15, "
        "or set STONKS_TEST_DATABASE_URL / STONKS_PG_BINDIR)"
    )


class PostgresServer:
    """initdb + pg_ctl on a free port under a temporary directory; ``stop()`` removes it."""

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="stonks-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.log = self.root / "postgres.log"
        self._run_as: list[str] = []
        if os.geteuid() == 0:
            pwd.getpwnam("postgres")  # KeyError names the missing user
            self._run_as = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def socket_url(self) -> str:
        """The same server through its Unix-domain socket (what a co-located client uses)."""
        return f"postgresql+psycopg2://postgres@/postgres?host={self.sockets}&port={self.port}"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._run_as, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        self.sockets.mkdir(parents=True)
        if self._run_as:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", "-t", "60", "start",
        )
        self._wait_ready()
        return self.url

    def _wait_ready(self) -> None:
        engine = sa.create_engine(self.url)
        deadline = time.monotonic() + 30
        try:
            while True:
                try:
                    with engine.connect() as conn:
                        conn.execute(sa.text("select 1"))
                    return
                except sa.exc.OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        finally:
            engine.dispose()

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [*self._run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m",
                 "immediate", "stop"],
                capture_output=True, timeout=60, check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)
