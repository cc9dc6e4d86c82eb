"""The verifiers integration's own virtual environment, built once and reused.

verifiers 0.4 cannot share an environment with the ``serve`` extra (it pins mcp 2.0; OpenEnv
0.10 needs mcp < 2), so the tests install ``.[verifiers]`` into ``.venv-verifiers`` beside the
project, exactly as a user would, and run verifiers' own commands there. The folder is rebuilt
when ``pyproject.toml`` changes (a stamp holds its hash).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / ".venv-verifiers"
INSTALL_TIMEOUT = 1200


def _stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def bin_dir() -> Path:
    """The environment's ``bin`` folder, building the environment first if it is missing or
    out of date."""
    stamp = FOLDER / ".stamp"
    if stamp.is_file() and stamp.read_text() == _stamp() and (FOLDER / "bin" / "vf-eval").exists():
        return FOLDER / "bin"
    shutil.rmtree(FOLDER, ignore_errors=True)  # the stamp is written last: a half-built one
    subprocess.run([sys.executable, "-m", "venv", str(FOLDER)], check=True, timeout=300)
    result = subprocess.run(
        [str(FOLDER / "bin" / "python"), "-m", "pip", "install", "--quiet",
         "-e", f"{ROOT}[verifiers]", "pytest>=8"],
        capture_output=True, text=True, timeout=INSTALL_TIMEOUT, cwd=ROOT,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"installing .[verifiers] failed:\n{result.stderr[-4000:]}")
    stamp.write_text(_stamp())
    return FOLDER / "bin"
