"""Runs the real `koppel` command in a subprocess against its own data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


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


def make_koppel(tmp_path: Path, **extra_env: str) -> Koppel:
    data_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOPPEL_")}
    env.update({"KOPPEL_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", **extra_env})
    return Koppel(data_dir=data_dir, env=env)
