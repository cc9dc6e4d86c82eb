"""Random and hostile code never crashes the pool, never hangs it, never leaves a process."""

from __future__ import annotations

import random
import time

import pytest

from mathattempt_env.sandbox import Sandbox

from .conftest import processes_of

pytestmark = pytest.mark.needs_sandbox

FRAGMENTS = [
    "print({n})", "x = [0] * {n}", "import os\nos.fork()", "raise ValueError({n})",
    "import sys\nsys.exit({n})", "while {n} > 0:\n    {n}", "def f(x):\n    return f(x)",
    "import time\ntime.sleep(0.{n})", "print('y' * 10**{d})", "import ctypes", "(", "\x00",
    "import threading\nthreading.Thread(target=print).start()", "open('f{n}', 'w').write('z')",
    "import signal\nsignal.alarm(1)", "import os\nos.kill(os.getpid(), 11)", "yield",
    "import sympy\nprint(sympy.factorint({n}))", "exec('1/0')", "import gc\ngc.collect()",
    "import os\nos.setsid()", "import resource\nresource.setrlimit(0, (1, 1))",
]  # fmt: skip
STATUSES = {"ok", "error", "timeout", "killed", "output-flood"}


def test_fuzzed_code_always_gets_a_verdict_and_leaves_nothing():
    rng = random.Random(1234)
    sandbox = Sandbox(size=2)
    uids = set()
    try:
        for _ in range(60):
            pieces = rng.sample(FRAGMENTS, rng.randint(1, 4))
            code = "\n".join(p.format(n=rng.randint(1, 9), d=rng.randint(1, 7)) for p in pieces)
            started = time.monotonic()
            result = sandbox.run(code, timeout=1.0)
            assert time.monotonic() - started < 4.0
            assert result.status in STATUSES, (code, result)
            uids.add(result.uid)
        assert sandbox.run("print('still fine')").output == "still fine\n"
        assert sandbox.infrastructure_errors == 0
    finally:
        sandbox.close()
    time.sleep(0.2)
    assert not any(processes_of(uid) for uid in uids if uid is not None)
