"""A real local Ray cluster for tests: a head node on 127.0.0.1 and a second node process.

Started once per test session (the first test that asks) and stopped at the end by PID:
every process of this cluster (those that name its temp folder or its port, and their
descendants) is sent SIGTERM, then SIGKILL; other Ray clusters on the machine are left alone
(``ray stop`` would stop them too). :func:`leftovers` lists what it left running after that.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests import procs

RAY = str(Path(sys.executable).parent / "ray")
COMMON = ["--disable-usage-stats", "--object-store-memory", "150000000", "--num-gpus", "0"]


class Cluster:
    """The cluster's address, and how to stop it."""

    def __init__(self) -> None:
        from tests.serving import free_port

        self.since = procs.start_ticks(os.getpid())
        self.port = free_port()
        self.temp = tempfile.mkdtemp(prefix="rt-", dir="/tmp")  # short: Ray's socket paths
        self.address = f"127.0.0.1:{self.port}"
        # The nodes run without token authentication, as this driver does by default (Ray reads
        # its mode once, when it is first imported): otherwise a token file that an earlier
        # `ray.init` left in ~/.ray turns it on for the head alone, and nothing can join.
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
        try:
            self._start(env)
        except BaseException:
            self.stop()
            raise

    def _start(self, env: dict[str, str]) -> None:
        subprocess.run(
            [RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
             "--num-cpus", "2", "--include-dashboard", "false", "--temp-dir", self.temp, *COMMON],
            check=True, capture_output=True, timeout=180, env=env,
        )  # fmt: skip
        subprocess.run(
            [RAY, "start", "--address", self.address, "--node-ip-address", "127.0.0.1",
             "--num-cpus", "2", *COMMON],
            check=True, capture_output=True, timeout=180, env=env,
        )  # fmt: skip
        import ray

        deadline = time.monotonic() + 120
        ray.init(address=self.address, log_to_driver=False, configure_logging=False)
        while len([n for n in ray.nodes() if n["Alive"]]) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)

    def nodes(self) -> int:
        import ray

        return len([n for n in ray.nodes() if n["Alive"]])

    def processes(self) -> list[int]:
        """The running processes of this cluster (not this test process or its children)."""
        marks = (self.temp, f":{self.port}")
        roots = set()
        candidates = []
        for pid in procs.pids():
            if procs.start_ticks(pid) < self.since or procs.descends_from(pid, os.getpid()):
                continue
            candidates.append(pid)
            if any(mark in _command(pid) for mark in marks):
                roots.add(pid)
        return [
            p for p in candidates if p in roots or any(procs.descends_from(p, r) for r in roots)
        ]

    def stop(self) -> None:
        import ray

        ray.shutdown()
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 10.0)):
            for pid in self.processes():
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while self.processes() and time.monotonic() < deadline:
                time.sleep(0.2)
        shutil.rmtree(self.temp, ignore_errors=True)


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def leftovers(since: int) -> list[str]:
    """Processes started since ``since`` (ticks) that are Ray's or the grader's, still running."""
    found = []
    for pid in procs.pids():
        if procs.start_ticks(pid) < since or procs.descends_from(pid, os.getpid()):
            continue  # older, or this process's own (its grader's fork server)
        command = _command(pid)
        marks = ("raylet", "gcs_server", "ray::", "default_worker", "mathattempt_env", "_zygote")
        if any(mark in command for mark in marks) and procs.state(pid) not in (b"Z", b""):
            found.append(f"{pid} {command[:120]}")
    return found
