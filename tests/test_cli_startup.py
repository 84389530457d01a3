"""`koppel --help` and the commands that touch no engine start without loading what they don't use:
no durable engine (DBOS, SQLAlchemy) outside the commands that run one, and for help alone not even
the settings, logging, Django or the connectors. Checked on the modules a real `koppel` process loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ENGINE = ("dbos", "sqlalchemy")
BEYOND_HELP = (*ENGINE, "django", "pydantic_settings", "structlog", "koppel.settings", "koppel.core",
               "koppel.connectors", "koppel.sync", "koppel.flows", "rich.markdown")

# Runs `koppel ARGS…` as the console script does, then writes the names of the modules it loaded.
_PROBE = """
import json, sys
from koppel.cli import main
out, sys.argv = sys.argv[1], ["koppel", *sys.argv[2:]]
try:
    main()
except SystemExit:
    pass
with open(out, "w") as file:
    json.dump(sorted(sys.modules), file)
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, shared by this module's commands."""
    directory = tmp_path_factory.mktemp("startup")
    assert among(loaded_by(directory, "migrate"), ENGINE) == []
    return directory


def loaded_by(directory: Path, *args: str) -> set[str]:
    out = directory / "modules.json"
    env = {**os.environ, "KOPPEL_DATA_DIR": str(directory / "var"), "KOPPEL_LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "-c", _PROBE, str(out), *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert out.exists(), f"koppel {' '.join(args)} did not finish ({done.returncode}):\n{done.stderr[-2000:]}"
    return set(json.loads(out.read_text()))


def among(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in packages or m.startswith(packages))


@pytest.mark.parametrize("args", [[], ["--help"], ["sync", "--help"], ["integration", "--help"],
                                  ["worker", "--help"], ["connect", "accountview", "--help"]])
def test_help_loads_only_the_command_line(tmp_path: Path, args: list[str]) -> None:
    modules = loaded_by(tmp_path, *args)
    assert "koppel.cli" in modules and "typer" in modules  # the probe did run the command line
    assert among(modules, BEYOND_HELP) == []


@pytest.mark.slow
def test_commands_without_an_engine_do_not_load_it(data_dir: Path) -> None:
    listed = loaded_by(data_dir, "integration", "list", "--json")
    assert "django" in listed and "koppel.settings" in listed  # it did read the database
    assert among(listed, ENGINE) == []


@pytest.mark.slow
def test_a_command_that_runs_the_engine_does_load_it(data_dir: Path) -> None:
    """The probe sees an engine where there is one: `purge` deletes finished workflows through DBOS."""
    assert "dbos" in among(loaded_by(data_dir, "purge", "--json"), ENGINE)
