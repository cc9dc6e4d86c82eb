"""The sandbox's modules import one way: the jail never imports the layers that probe it."""

from __future__ import annotations

import ast
from pathlib import Path

SANDBOX = Path(__file__).resolve().parents[2] / "mathattempt_env" / "sandbox"


def _imports(name: str) -> set[str]:
    tree = ast.parse((SANDBOX / f"{name}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def test_jail_does_not_import_layers_which_imports_jail() -> None:
    assert "mathattempt_env.sandbox.jail" in _imports("layers")  # probe() asks the jail
    assert not any(name.endswith("layers") for name in _imports("jail")), _imports("jail")
