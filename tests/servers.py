"""Throw-away servers for the outage tests: a Redis and a PostgreSQL cluster of the test's own,
on free ports, that the test stops and starts mid-stream (never the machine's shared ones)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, *, up: bool, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            is_up = probe.connect_ex(("127.0.0.1", port)) == 0
        if is_up == up:
            return
        time.sleep(0.05)
    raise AssertionError(f"port {port} did not go {'up' if up else 'down'}")


class RedisServer:
    """``redis-server`` on its own port, keeping nothing on disk (like the machine's)."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("needs redis-server (apt-get install redis-server)")
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, up=True)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # as a crash or a stopped container: no goodbye
            self.process.wait(timeout=10)
            self.process = None
        _wait_for_port(self.port, up=False)


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.skip("needs the PostgreSQL server binaries (apt-get install postgresql)")
    return Path(found[-1]).parent


class PostgresCluster:
    """A PostgreSQL cluster in a folder of the test's own (initdb), on its own port."""

    def __init__(self) -> None:
        self.bin, self.port = _postgres_bin(), free_port()
        # A folder of its own under /tmp: pytest's tmp_path sits in a folder only its owner
        # may enter, and the server may have to run as another user.
        self.folder = Path(tempfile.mkdtemp(prefix="minsheng-pg-"))
        self.data, self.socket_dir = self.folder / "data", self.folder / "run"
        self.socket_dir.mkdir()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.socket_dir, "postgres")
        subprocess.run(
            [*self.as_user, str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres"]
            + ["--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"],
            check=True,
            capture_output=True,
        )

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        # fsync off: a killed server's writes are still in the OS's cache (only a machine
        # crash would lose them). Commits stay synchronous, as in production: with
        # synchronous_commit off a killed server forgets its last commits, answered or not.
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c max_connections=100"
        )
        self._ctl("-o", options, "-l", str(self.data / "server.log"), "-w", "start")
        _wait_for_port(self.port, up=True)

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: as a crash (connections cut, no checkpoint)."""
        self._ctl("-m", mode, "-w", "stop")
        _wait_for_port(self.port, up=False)

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except (subprocess.CalledProcessError, AssertionError):
            pass
        shutil.rmtree(self.folder, ignore_errors=True)
