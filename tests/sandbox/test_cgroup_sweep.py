"""Cgroups a killed process could not remove are removed by the next process's first sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mathattempt_env.sandbox import cgroups

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from mathattempt_env.sandbox import Sandbox
box = Sandbox(size=1)
assert box.run("print(6 * 7)").output.strip() == "42"
print("ran", flush=True)
time.sleep(600)
"""


def _ours(pid: int) -> list[str]:
    """The cgroup directories of sandbox servers started by ``pid``, in every hierarchy."""
    found = []
    mounts, own = cgroups._mounts(), cgroups._own_paths()
    for kind in cgroups.KINDS:
        if kind in mounts and kind in own:
            parent = os.path.join(mounts[kind], own[kind].lstrip("/"))
            found += [
                os.path.join(parent, name)
                for name in os.listdir(parent)
                if name.startswith(f"mathattempt-{pid}-")
            ]
    return found


def _run_until_ran() -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(root=str(ROOT))],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ran"
    return child


def test_a_sigkilled_owner_s_cgroups_are_swept_and_a_live_one_s_are_not():
    killed = _run_until_ran()
    alive = _run_until_ran()
    try:
        left = _ours(killed.pid)
        if not left:
            pytest.skip("no writable cgroup hierarchy here: the sandbox makes no cgroups")
        os.killpg(killed.pid, signal.SIGKILL)  # the owner and its sandbox servers, at once
        killed.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(os.path.exists(p) for p in left) and time.monotonic() < deadline:
            # Left behind: nobody was there to remove them. A new process's first sandbox
            # sweeps them (its servers' processes are gone, so the kernel allows it).
            fresh = _run_until_ran()
            os.killpg(fresh.pid, signal.SIGTERM)
            fresh.wait(timeout=30)
            for path in _ours(fresh.pid):  # SIGTERM'd: also the fresh one's own, if any
                cgroups._remove(path)
        assert not any(os.path.exists(p) for p in left), left
        assert _ours(alive.pid), "a live process's cgroups were removed"
    finally:
        for child in (killed, alive):
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=30)
        for child in (killed, alive):
            for path in _ours(child.pid):
                cgroups._remove(path)


def test_sweep_leaves_other_names_and_running_owners_alone(tmp_path: Path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    names = [
        f"mathattempt-{dead.pid}-0",  # swept
        f"mathattempt-{os.getpid()}-0",  # its owner runs
        f"mathattempt-{dead.pid}-x",  # not a sandbox's name
        "other-1-0",
    ]
    for name in names:
        (tmp_path / name).mkdir()
    assert cgroups.sweep(str(tmp_path)) == [str(tmp_path / names[0])]
    assert sorted(os.listdir(tmp_path)) == sorted(names[1:])
