"""A real PostgreSQL server for the test session, started in a temporary directory and stopped at
the end; a pytest plugin (registered in tests/conftest.py).

`postgres_server` (session) yields a `PostgresServer`; `postgres_database` yields the URL of a
fresh, empty database on it. `initdb` refuses to run as root, so as root the server runs as the
`postgres` user. Binaries are found on PATH or under /usr/lib/postgresql/*/bin.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from koppel.connectors.sandboxkit.serve import free_port


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    socket_dir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database; returns its URL."""
        name = name or f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _binary(name: str) -> str:
    candidates = [shutil.which(name) or ""]
    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                         key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0,
                         reverse=True)
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(f"PostgreSQL's {name} was not found on PATH or in /usr/lib/postgresql/*/bin: "
                "install PostgreSQL (make test does) to run these tests")


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], **kwargs: object) -> None:
    result = subprocess.run(_as_server_user(command), capture_output=True, text=True,  # type: ignore[call-overload]
                            **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n"
                           f"{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 and a free port, with trust auth for user `postgres`."""
    root = Path(tempfile.mkdtemp(prefix="koppel-pg-"))
    data, sockets, log = root / "data", root / "sockets", root / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
    port = free_port()
    _run([_binary("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
          "--no-sync", "--locale=C"])
    options = (f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c synchronous_commit=off "
               "-c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB")
    _run([_binary("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"])
    server = PostgresServer(host="127.0.0.1", port=port, user="postgres", socket_dir=sockets)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(server.url(), connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield server
    finally:
        try:
            _run([_binary("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new empty database, dropped after the test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url.rsplit("/", 1)[1])
