"""The `koppel` command, two ways: in this process (`invoke`, against the test database: fast, for what a
command prints and returns) and as the real command in a subprocess (`make_koppel`, against a data
directory of its own: for the one end-to-end test per command)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from typer.testing import CliRunner, Result

from koppel.connectors.sandboxkit.serve import free_port


def invoke(*args: str) -> Result:
    """Run `koppel ARGS` in this process; stdout and stderr are kept apart."""
    from koppel.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@dataclass
class Server:
    """A `koppel` server process on 127.0.0.1; its output goes to `log`."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """Ctrl-C, as a user stops it; returns the exit code (killed after 30 s: then not 0)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return -signal.SIGKILL


@dataclass
class Koppel:
    data_dir: Path
    env: dict[str, str]

    def __call__(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "koppel.cli", *args], env=self.env, text=True,
                                capture_output=True, input=input, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"koppel {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def python(self, code: str) -> str:
        """Run Python with Django set up for this data directory; returns stdout."""
        prelude = "from koppel.core import setup; setup()\n"
        result = subprocess.run([sys.executable, "-c", prelude + code], env=self.env, text=True,
                                capture_output=True, timeout=120)
        if result.returncode != 0:
            raise AssertionError(result.stderr)
        return result.stdout

    def serve(self, command: str, timeout: float = 90) -> Server:
        """Start `koppel COMMAND --port P` (web or run) and wait until its login page answers."""
        port = free_port()
        log = self.data_dir.parent / f"{command}-{port}.log"
        with log.open("wb") as out:
            # Ctrl-C must reach it even when the tests run in the background, where a shell starts commands
            # with SIGINT ignored (and Python then leaves it ignored)
            process = subprocess.Popen([sys.executable, "-m", "koppel.cli", command, "--port", str(port)],
                                       env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        server = Server(process, f"http://127.0.0.1:{port}", log)
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(server.url + "/login/", timeout=1)
                return server
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    server.stop()
                    raise AssertionError(f"koppel {command} did not answer:\n{server.output()}") from None
                time.sleep(0.2)


def make_koppel(tmp_path: Path, **extra_env: str) -> Koppel:
    data_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPPEL_")}
    env.update({"KOPPEL_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", **extra_env})
    return Koppel(data_dir=data_dir, env=env)
