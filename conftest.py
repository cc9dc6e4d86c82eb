"""Collection rules for the whole tree.

The verifiers integration cannot be imported where the ``serve`` extra is installed (verifiers
0.4 pins mcp 2.0; OpenEnv 0.10 needs mcp < 2), so the dev environment skips collecting its
module's doctests; ``tests/verifiers`` runs them in a virtual environment of their own.
"""

from __future__ import annotations

import importlib.util

collect_ignore = (
    []
    if importlib.util.find_spec("verifiers") is not None
    else ["mathattempt_env/adapters/verifiers.py", "mathattempt_vf"]
)
