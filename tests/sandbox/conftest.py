"""The sandbox in each isolation mode the machine allows, shared by the escape tests.

Every test that takes ``sandbox`` runs three times: all layers, without the namespaces jail
(Landlock and, as root, the runtime's own root file system hold the files), and without
Landlock (the jail holds them).
"""

from __future__ import annotations

import time

import pytest

from mathattempt_env.sandbox import Sandbox, jail, layers, probe
from mathattempt_env.sandbox.layers import is_call_uid
from tests.procs import ours, pids, uid_of

CONTAINING = {"all": {"landlock"}, "no-namespaces": {"landlock"}, "no-landlock": {"namespaces"}}


@pytest.fixture(scope="session", params=list(CONTAINING))
def sandbox(request):
    if not {"landlock", "namespaces"} & probe():
        pytest.skip("the host has neither Landlock nor namespaces: the sandbox refuses")
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "no-namespaces":
            patch.setattr(jail, "jail_available", lambda: False)
        elif request.param == "no-landlock":
            works, why = jail.jail_status()
            if not works:
                pytest.skip(f"namespaces (bubblewrap) are not available here: {why}")
            patch.setattr(layers, "landlock_abi", lambda: 0)
        box = Sandbox(size=2, wall_factor=2.0)
    assert CONTAINING[request.param] <= set(box.layers), box.layers
    if request.param != "all":
        assert not {"landlock", "namespaces"} - CONTAINING[request.param] & set(box.layers)
    box.prestart()
    yield box
    box.close()


def processes_of(uid: int) -> int:
    """Processes of one uid on the host (a call's own uid is unique to it)."""
    return sum(uid_of(pid) == uid for pid in pids())


def left_by(result, sandbox) -> int:
    """Processes a finished call left: of its own uid, or (without one) any beyond the
    prepared children, one per server, that wait for the next call."""
    if result.uid is not None:
        return processes_of(result.uid)
    return max(0, sandboxed_processes() - sandbox.servers())


def sandboxed_processes() -> int:
    """Processes this test process started that run as a call's own uid, or the old shared
    one: each idle server has one prepared child waiting for its next call; nothing else
    outlives a call. Other jobs' sandboxes on the machine are not counted."""
    count = 0
    for pid in pids():
        uid = uid_of(pid)
        if uid is not None and (is_call_uid(uid) or uid == 65534) and ours(pid):
            count += 1
    return count


def run(sandbox, code: str, timeout: float = 3.0):
    started = time.monotonic()
    result = sandbox.run(code, timeout=timeout)
    fence = sandbox.wall_factor * timeout + 1.0
    assert time.monotonic() - started < fence + 3.0, "the call outlived its deadline"
    assert not result.infrastructure_error, result
    return result
