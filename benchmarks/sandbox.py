"""Sandbox benchmark: per-call cost of the Python tool against a fresh process and GEM's tool.

For three snippets (``print``, a numpy + sympy snippet, a sympy ``solve``) it measures the
wall time of a call through this package's warm sandbox pool, through a fresh ``python -c``
process per call, and through GEM's ``PythonCodeTool`` (gem-llm 0.1.0, which runs code in a
subprocess without isolation), all in the same run; then calls per second with one server per
core, and a 1,000-call soak (process count, descriptors, RSS of the calling process).

Run: python benchmarks/sandbox.py   (needs the `tool` extra; GEM from the `bench` notes)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mathattempt_env.sandbox import Sandbox  # noqa: E402

SNIPPETS = {
    "print": "print(1)",
    "numpy+sympy": (
        "import numpy as np, sympy as sp\n"
        "x = sp.Symbol('x')\nprint(np.arange(10).sum(), sp.factor(x**2 - 1))"
    ),
    "sympy solve": (
        "import sympy as sp\nx = sp.Symbol('x')\nprint(sp.solve(x**3 - 6*x**2 + 11*x - 6, x))"
    ),
}


def timed(call: Callable[[], object], n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return sorted(times)


def p(times: list[float], q: float) -> float:
    return times[min(len(times) - 1, int(q * len(times)))] * 1e3


def fresh(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, check=False)


def gem_tool() -> Callable[[str], object] | None:
    try:
        from gem.tools.python_code_tool import PythonCodeTool
    except ImportError:
        return None
    tool = PythonCodeTool(timeout=5)
    return lambda code: tool.execute_action(f"```python\n{code}\n```")


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    cores = os.cpu_count() or 1
    sandbox = Sandbox(size=cores)
    sandbox.prestart()
    sandbox.run("print(0)")
    gem = gem_tool()
    print(f"# sandbox: layers {', '.join(sandbox.layers)}; {cores} cores; warm pool of {cores}\n")
    print("| snippet | ours p50 | ours p95 | fresh python -c p50 | fresh / ours | GEM p50 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, code in SNIPPETS.items():
        ours = timed(lambda code=code: sandbox.run(code), 60)
        fresh_times = timed(lambda code=code: fresh(code), 5 if name != "print" else 20)
        gem_times = timed(lambda code=code: gem(code), 5) if gem else []
        ratio = statistics.median(fresh_times) / statistics.median(ours)
        gem_cell = f"{p(gem_times, 0.5):.1f} ms" if gem_times else "n/a"
        print(
            f"| {name} | {p(ours, 0.5):.1f} ms | {p(ours, 0.95):.1f} ms | "
            f"{p(fresh_times, 0.5):.1f} ms | {ratio:.1f}x | {gem_cell} |"
        )
    # Throughput: one thread per server.
    code = SNIPPETS["sympy solve"]
    done = []
    started = time.perf_counter()

    def worker() -> None:
        for _ in range(40):
            sandbox.run(code)
            done.append(1)

    threads = [threading.Thread(target=worker) for _ in range(cores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = len(done) / (time.perf_counter() - started)
    print(f"\nsympy solve, {cores} threads: {rate:.1f} calls/s ({rate / cores:.1f} per core)")
    # Soak.
    fds, rss = len(os.listdir("/proc/self/fd")), rss_mb()
    procs = len([e for e in os.listdir("/proc") if e.isdigit()])
    for n in range(1000):
        sandbox.run(f"print({n})")
    print(
        f"1,000-call soak: descriptors {fds} -> {len(os.listdir('/proc/self/fd'))}, "
        f"processes {procs} -> {len([e for e in os.listdir('/proc') if e.isdigit()])}, "
        f"RSS {rss:.0f} -> {rss_mb():.0f} MB"
    )
    sandbox.close()


if __name__ == "__main__":
    main()
