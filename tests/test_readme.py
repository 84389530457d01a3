"""The README's "Using it" path, run as written against `koppel sandbox`: its commands in order, each as a
real process in a fresh directory, with its `shop.toml` as printed. What the test changes, and only that:
the fixed ports (8801, 8802, 8766, 8000) become free ones, the `export` line is the one `koppel sandbox`
printed, `<number>` is an order the run handled, the browser is httpx, and the password comes from
KOPPEL_NEW_PASSWORD. The run must send orders and park none."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from koppel.connectors.sandboxkit.serve import free_port

README = Path(__file__).resolve().parents[1] / "README.md"
KOPPEL = ".venv/bin/koppel"


def using_it() -> tuple[list[str], str]:
    """The commands (comments dropped) and the TOML file of the README's "Using it" section."""
    section = README.read_text(encoding="utf-8").split("## Using it", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w*)\n(.*?)```", section, flags=re.S)
    commands = next(body for kind, body in blocks if kind == "")
    toml = next(body for kind, body in blocks if kind == "toml")
    lines = [re.split(r"\s{2,}#", line)[0].strip() for line in commands.splitlines()]
    return [line for line in lines if line], toml


class Session:
    """A shell in a fresh directory: the environment `export` changes, each command a real process."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.ports = {"8801": str(free_port()), "8802": str(free_port()), "8766": str(free_port())}
        web_port = str(free_port())
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KOPPEL_")}
        self.env.update(PYTHONUNBUFFERED="1", COLUMNS="200", KOPPEL_WEB_PORT=web_port,
                        KOPPEL_NEW_PASSWORD="kast-Wolk-7-fiets")
        self.web = f"http://127.0.0.1:{web_port}"
        self.servers: list[subprocess.Popen[str]] = []

    def argv(self, command: str) -> list[str]:
        words = shlex.split(command)
        assert words[0] == KOPPEL, command
        return [sys.executable, "-m", "koppel.cli", *words[1:]]

    def run(self, command: str, *extra: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*self.argv(command), *extra], cwd=self.cwd, env=self.env, text=True,
                              capture_output=True, timeout=180)
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
        return done

    def start(self, command: str, *extra: str) -> subprocess.Popen[str]:
        process = subprocess.Popen([*self.argv(command), *extra], cwd=self.cwd, env=self.env, text=True,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.servers.append(process)
        return process

    def stop(self) -> None:
        for process in self.servers:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def line_starting(process: subprocess.Popen[str], prefix: str) -> str:
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip().startswith(prefix):
            return line.strip()
    raise AssertionError(f"the command ended without printing a line starting {prefix!r}")


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    shell = Session(tmp_path)
    try:
        yield shell
    finally:
        shell.stop()


@pytest.mark.slow
def test_the_readme_path_works_as_written(session: Session) -> None:
    commands, toml = using_it()
    for port, free in session.ports.items():
        toml = toml.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free}")
    (session.cwd / "shop.toml").write_text(toml)
    said: dict[str, str] = {}
    exported = ""
    for command in commands:
        if command.startswith("export "):
            assert exported, "the README exports credentials before `koppel sandbox` printed them"
            for assignment in shlex.split(exported)[1:]:
                name, _, value = assignment.partition("=")
                session.env[name] = value
            continue
        verb = shlex.split(command)[1]
        if verb == "sandbox":
            sandbox = session.start(command, "--shop-port", session.ports["8801"],
                                    "--books-port", session.ports["8802"])
            exported = line_starting(sandbox, "export ")
        elif verb == "connect":
            connect = session.start(command, "--port", session.ports["8766"])
            page = httpx.get(line_starting(connect, "http"), follow_redirects=True, timeout=60)
            out, _ = connect.communicate(timeout=120)
            assert connect.returncode == 0 and "Koppel is connected to AccountView" in page.text, out
            said[verb] = out
        elif verb == "run":
            server = session.start(command)
            deadline = time.monotonic() + 120
            while True:
                try:
                    assert httpx.get(f"{session.web}/login/", timeout=2).status_code == 200
                    break
                except httpx.TransportError:
                    assert server.poll() is None and time.monotonic() < deadline, "koppel run did not answer"
                    time.sleep(0.3)
        else:
            if "<number>" in command:
                number = re.search(r"^│?\s*order\s*│\s*(\S+)", said["activity"], flags=re.M)
                assert number, said["activity"]
                command = command.replace("<number>", number.group(1))
            said[verb] = session.run(command).stdout
    sent = re.search(r"my-shop: (\d+) sent, (\d+) skipped, (\d+) parked", said["sync"])
    assert sent, said["sync"]
    assert int(sent.group(1)) >= 10 and sent.group(3) == "0", said["sync"] + said["activity"]
    assert "companies reached: DEMO (Demo BV)" in said["connect"]
    assert "created user admin, owner of workspace acme" in said["createuser"]
    assert "fits" in said["check"]
    assert re.search(r"my-shop: 0 sent, 1 skipped, 0 parked", said["retry"]), said["retry"]
