"""Episode servers started by tests: a real ``mathattempt serve`` process on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Served:
    """A running server: its URL and process."""

    url: str
    process: subprocess.Popen

    def stats(self, token: str | None = None) -> dict[str, Any]:
        request = urllib.request.Request(f"{self.url}/mathattempt/stats")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(
    env_id: str = "MultiAttemptMath-v0",
    options: dict | None = None,
    *args: str,
    port: int = 0,
    env: dict | None = None,
    timeout: float = 90.0,
) -> Served:
    """Start ``mathattempt serve`` and wait for its ready line (bounded)."""
    command = [
        sys.executable,
        "-m",
        "mathattempt_env.serve",
        "--env",
        env_id,
        "--env-kwargs",
        json.dumps(options or {}),
        "--port",
        str(port),
        *args,
    ]
    return _launch(command, env, timeout)


def start_grader(*args: str, env: dict | None = None, timeout: float = 90.0) -> Served:
    """Start ``mathattempt serve-grader`` on a free port and wait for its ready line."""
    command = [sys.executable, "-m", "mathattempt_env.cli", "serve-grader", "--port", "0", *args]
    return _launch(command, env, timeout)


def _launch(command: list[str], env: dict | None, timeout: float) -> Served:
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if "ready on" in line:
                return Served(line.split("ready on", 1)[1].strip(), process)
        if process.poll() is not None:
            break
    if process.poll() is None:
        process.kill()
    process.wait(30)
    errors = process.stderr.read()[-2000:] if process.stderr else ""
    stop(Served("", process))
    raise RuntimeError(f"server did not start: {line!r} {errors!r}")


def stop(served: Served, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
    """Stop the server by its PID; returns its exit status."""
    process = served.process
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    for stream in (process.stdout, process.stderr):
        if stream:
            stream.close()
    return process.returncode


@contextlib.contextmanager
def serving(
    env_id: str = "MultiAttemptMath-v0", options: dict | None = None, *args: str, **kwargs: Any
) -> Iterator[Served]:
    served = start(env_id, options, *args, **kwargs)
    try:
        yield served
    finally:
        stop(served)
