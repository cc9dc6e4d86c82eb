"""A policy that tries: what its code must not read, hold or choose, checked from the host side.

Golds and credentials are planted where real deployments keep them: a top-level directory
with the training script beside its data (``/workspace``-style), the caller's working
directory, ``sys.path`` and ``PYTHONPATH``, and the environment. Every test runs in each
isolation mode (``tests/sandbox/conftest.py``), with bounded counts and times.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path

import pytest

from mathattempt_env.sandbox import Sandbox, SandboxUnavailableError, jail, layers
from mathattempt_env.sandbox import pool as pool_module
from mathattempt_env.sandbox.runtime import runtime
from tests.sandbox.conftest import left_by, processes_of, run

GOLD = "GOLD-ANSWER-" + uuid.uuid4().hex[:8]
KEY = "sk-planted-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def workspace():
    """A top-level training directory: the script, its data with golds, and a .env."""
    top = Path(f"/mathattempt-workspace-{uuid.uuid4().hex[:8]}")
    (top / "data").mkdir(parents=True)
    (top / "train.py").write_text("print('train')\n")
    (top / "data" / "train.jsonl").write_text(f'{{"question": "1+1", "answer": "{GOLD}"}}\n')
    (top / ".env").write_text(f"OPENAI_API_KEY={KEY}\n")
    yield top
    shutil.rmtree(top, ignore_errors=True)


@pytest.fixture()
def deployed(workspace, monkeypatch):
    """The caller as a training job: working in the workspace, with it on every path."""
    monkeypatch.chdir(workspace)
    monkeypatch.syspath_prepend(str(workspace))
    monkeypatch.setenv("PYTHONPATH", str(workspace))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("HF_TOKEN", KEY + "-hf")
    return workspace


# The code a policy would write: look everywhere it can, print what it finds.
SNOOP = """
import os, sys
found = []
for path in [{top!r}, {top!r} + '/data/train.jsonl', {top!r} + '/.env', os.getcwd(), '/',
             '/proc/self/environ', '/proc/1/environ', '/proc/1/cmdline', '/proc/self/mountinfo']:
    try:
        if os.path.isdir(path):
            found.append((path, sorted(os.listdir(path))))
        else:
            found.append((path, open(path, 'rb').read()[:4000]))
    except Exception as e:
        found.append((path, type(e).__name__))
    try:
        info = os.stat(path)
        found.append(('stat', path, info.st_size))
    except Exception as e:
        found.append(('stat', path, type(e).__name__))
found.append(dict(os.environ))
print(found)
print('PATH', sys.path)
"""

# Scan this process's own readable memory for a marker (what a freed heap may still hold).
MEMORY = """
import ctypes
ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: make its own /proc/self/mem readable
hits, scanned = 0, 0
try:
    maps = open('/proc/self/maps').read().splitlines()
    mem = open('/proc/self/mem', 'rb', 0)
except OSError as e:
    print('unreadable', type(e).__name__)
else:
    for line in maps:
        bounds, perms = line.split()[:2]
        if not perms.startswith('r'):
            continue
        start, end = (int(x, 16) for x in bounds.split('-'))
        if end - start > 1 << 28:
            continue
        try:
            mem.seek(start)
            chunk = mem.read(end - start)
        except (OSError, ValueError, OverflowError):
            continue
        scanned += len(chunk)
        for head, tail in {halves!r}:  # the whole marker is never built here
            at = chunk.find(head)
            while at >= 0:
                hits += chunk[at + len(head):at + len(head) + len(tail)] == tail
                at = chunk.find(head, at + 1)
    print('scanned', scanned > 0, 'hits', hits)
"""


def halves(*markers: str) -> list[tuple[bytes, bytes]]:
    return [(m[: len(m) // 2].encode(), m[len(m) // 2 :].encode()) for m in markers]


def test_golds_credentials_and_the_callers_path_are_out_of_reach(sandbox, deployed):
    result = run(sandbox, SNOOP.format(top=str(deployed)))
    assert GOLD not in result.output and KEY not in result.output, result.output
    assert "train.py" not in result.output and "OPENAI" not in result.output
    search_path = result.output.split("\nPATH ", 1)[1]
    assert str(deployed) not in search_path and os.getcwd() not in search_path
    # A fresh sandbox made by the deployed caller is no different.
    box = Sandbox(size=1, wall_factor=2.0)
    box.layers = sandbox.layers  # the same mode as the fixture's
    try:
        fresh = run(box, SNOOP.format(top=str(deployed)))
        assert GOLD not in fresh.output and KEY not in fresh.output
        assert re.search(
            rf"\('stat', '{deployed}', '(FileNotFound|Permission)Error'\)", fresh.output
        )
    finally:
        box.close()


def test_stat_of_a_host_path_reveals_nothing(sandbox, deployed):
    code = (
        "import os\n"
        f"for p in [{str(deployed)!r}, {str(deployed / 'data' / 'train.jsonl')!r}, '/etc/passwd',"
        " '/home', '/var/log']:\n"
        "    try:\n        print(p, os.stat(p).st_size)\n"
        "    except OSError as e:\n        print(p, type(e).__name__)\n"
    )
    output = run(sandbox, code).output
    for line in output.splitlines():
        assert line.endswith(("FileNotFoundError", "PermissionError")), output


def test_the_runtime_grants_nothing_of_the_callers(deployed):
    allowed = runtime()
    for path in allowed.readable() + allowed.path:
        assert not path.startswith(str(deployed)) and path != os.getcwd()
    assert not any(p == os.path.expanduser("~") for p in allowed.readable())


def test_the_standard_library_and_the_packages_import(sandbox):
    code = (
        "import sys, importlib\nfailed = []\n"
        "skip = {'antigravity', 'this', 'idlelib', 'turtle', 'turtledemo', 'tkinter', 'lib2to3',"
        " 'ensurepip', 'venv', 'pydoc', 'webbrowser', '__phello__', 'msvcrt', 'winreg',"
        " 'winsound', '_winapi', 'nt', '_overlapped', 'msilib', '_msi', 'nturl2path',"
        " 'ntpath', '_wmi', 'xxsubtype', 'xxlimited', 'xxlimited_35', '_scproxy', '_osx_support',"
        " '_aix_support', 'pydoc_data', '_bootsubprocess'}\n"
        "for name in sorted(sys.stdlib_module_names - skip):\n"
        "    try:\n        importlib.import_module(name)\n"
        "    except ImportError as e:\n"
        "        if 'No module named' not in str(e) or name in str(e) and '.' in name:\n"
        "            failed.append((name, str(e)))\n"
        "    except Exception as e:\n        failed.append((name, repr(e)))\n"
        "from sympy.abc import x\nimport numpy.fft, numpy.polynomial, csv, concurrent.futures\n"
        "import sympy.plotting, sympy.stats, mpmath, numpy.random, fractions, decimal\n"
        "print(numpy.fft.fft([1, 0]).real.tolist(), sympy.stats.E(sympy.stats.Die('d', 6)))\n"
        "print('failed', failed)\n"
    )
    result = run(sandbox, code, timeout=10.0)
    assert result.status == "ok", result.output
    assert "failed []" in result.output and "[1.0, 1.0] 7/2" in result.output, result.output


def test_a_call_inherits_no_memory_of_another_call(sandbox):
    secret_code, secret_out = "CODE-" + uuid.uuid4().hex, "OUT-" + uuid.uuid4().hex
    half = len(secret_out) // 2
    first = f"marker = {secret_code!r}\nprint({secret_out[:half]!r} + {secret_out[half:]!r})"
    assert run(sandbox, first).output == secret_out + "\n"
    scan = MEMORY.format(halves=halves(secret_code, secret_out))
    for _ in range(2):  # either server of the pool
        output = run(sandbox, scan, timeout=10.0).output
        assert "hits 0" in output or "unreadable" in output, output
        if "namespaces" in sandbox.layers and "landlock" not in sandbox.layers:
            assert "scanned True" in output  # the scan really read memory


def test_the_environment_of_the_caller_is_not_in_memory(sandbox, deployed):
    box = Sandbox(size=1, wall_factor=2.0)
    box.layers = sandbox.layers
    try:
        output = run(box, MEMORY.format(halves=halves(KEY)), timeout=10.0).output
    finally:
        box.close()
    assert "hits 0" in output or "unreadable" in output, output


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("import os\nos._exit(97)", "error"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "killed"),
        ("import os\nos.killpg(0, 9)", "killed"),
        ("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)", "output-flood"),
        ("raise SystemExit(97)", "error"),
    ],
    ids=["exit-97", "self-kill", "kill-group", "flood", "system-exit-97"],
)
def test_the_code_cannot_choose_an_infrastructure_verdict(sandbox, code, status):
    errors = sandbox.infrastructure_errors
    result = run(sandbox, code)
    assert result.status == status and result.failed
    assert sandbox.infrastructure_errors == errors


def test_a_setsid_fork_bomb_is_gone_when_its_call_ends(sandbox):
    code = (
        "import os, time\n"
        "for _ in range(200):\n"
        "    try:\n        pid = os.fork()\n    except OSError:\n        continue\n"
        "    if pid == 0:\n        os.setsid()\n"
        "        while True:\n            try:\n                os.fork() or os.setsid()\n"
        "            except OSError:\n                time.sleep(0.01)\n"
        "time.sleep(0.5)\nprint('spawned')\n"
    )
    result = run(sandbox, code, timeout=2.0)
    assert not result.infrastructure_error
    time.sleep(0.2)
    assert left_by(result, sandbox) == 0
    assert run(sandbox, "print('next')").output == "next\n"


def test_a_deep_tree_is_removed_and_never_an_infrastructure_error(sandbox):
    code = (
        "import os\nfor _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\n"
        "open('f', 'w').write('x' * 1000)\nos.chmod('.', 0)\nprint('deep')\n"
    )
    assert run(sandbox, code, timeout=10.0).output == "deep\n"
    for _ in range(2):
        listing = run(sandbox, "import os\nprint(os.listdir('.'))").output
        assert listing == "[]\n"


def test_clone_into_a_new_namespace_is_denied(sandbox):
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "for flag in (0x10000000, 0x20000000, 0x40000000, 0x00020000):\n"
        "    r = libc.syscall(56, flag | 17, 0, 0, 0, 0)\n"
        "    if r == 0:\n        libc.syscall(60, 0)\n"
        "    print('clone', r, ctypes.get_errno())\n"
        "args = (ctypes.c_uint64 * 11)(0x10000000, 0, 0, 0, 17)\n"
        "print('clone3', libc.syscall(435, ctypes.byref(args), 88), ctypes.get_errno())\n"
    )
    output = run(sandbox, code).output
    assert output.count("clone -1 1") == 4, output
    assert "clone3 -1 38" in output, output


def test_memory_is_bounded_per_call_not_per_process(sandbox):
    # Four processes that each hold 700 MB: within each one's own limit, over the call's 2 GiB.
    code = (
        "import os, time\nkids = []\n"
        "for _ in range(4):\n    pid = os.fork()\n"
        "    if pid == 0:\n        try:\n            b = b'x' * (700 << 20)\n"
        "            open('held-%d' % os.getpid(), 'w').close()\n            time.sleep(6)\n"
        "        finally:\n            os._exit(0)\n    kids.append(pid)\n"
        "dead = set()\nfor _ in range(400):\n"
        "    for pid in kids:\n        if pid not in dead and os.waitpid(pid, os.WNOHANG)[0]:\n"
        "            dead.add(pid)\n"
        "    held = {p for p in kids if os.path.exists('held-%d' % p)}\n"
        "    if held | dead == set(kids):\n        break\n    time.sleep(0.01)\n"
        "time.sleep(0.5)\n"  # an out-of-memory kill may land just after a process held
        "for pid in kids:\n        if pid not in dead and os.waitpid(pid, os.WNOHANG)[0]:\n"
        "            dead.add(pid)\n"
        "print('holding', len(held - dead), 'dead', len(dead))\n"
    )
    result = run(sandbox, code, timeout=8.0)
    if result.bounds.get("memory") != "cgroup":
        pytest.skip(f"no memory cgroup here: the bound is {result.bounds}")
    holding = int(result.output.split()[1])
    assert holding <= 2, result.output  # 2.8 GB asked, 2 GiB allowed


def test_cpu_time_not_wall_time_decides_a_timeout(sandbox):
    """Two CPU burners on a 2-core host: a call that fits its CPU budget still passes."""
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        code = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6:\n    pass\nprint('done')"
        results = [sandbox.run(code, timeout=1.0) for _ in range(4)]
        assert all(r.status == "ok" for r in results), results
        assert all(0.5 < r.cpu_s < 1.0 for r in results), [r.cpu_s for r in results]
        spin = sandbox.run("while True:\n    pass", timeout=1.0)
        assert spin.status == "timeout" and spin.cpu_s >= 1.0
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def test_mixed_hostile_load_loses_no_ordinary_call(sandbox):
    hostile = [
        "import os\nwhile True:\n    try:\n        os.fork() or os.setsid()\n    except OSError:\n        pass",
        "import os\nos._exit(97)",
        "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)",
        "x = bytearray(1500 << 20)",
        "import os\nfor i in range(100000):\n    open('f%d' % i, 'w').write('x' * 100)",
    ]
    lost: list[object] = []
    uids: set[int | None] = set()

    def worker(index: int) -> None:
        for n in range(12):
            if (index + n) % 5 < 2:
                uids.add(sandbox.run(hostile[(index + n) % len(hostile)], timeout=1.0).uid)
            else:
                result = sandbox.run(f"print({n} + {index})", timeout=2.0)
                uids.add(result.uid)
                if result.output != f"{n + index}\n":
                    lost.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not lost, lost[:3]
    assert time.monotonic() - started < 300
    time.sleep(0.2)
    assert not any(processes_of(uid) for uid in uids if uid is not None)


def test_without_a_layer_for_the_network_it_refuses(monkeypatch):
    monkeypatch.setattr(layers, "seccomp_available", lambda: False)
    monkeypatch.setattr(jail, "jail_available", lambda: False)
    with pytest.raises(SandboxUnavailableError, match="network.*'tool' extra"):
        Sandbox()


def test_a_degraded_mode_warns_once(monkeypatch):
    monkeypatch.setattr(jail, "jail_available", lambda: False)
    monkeypatch.setattr(pool_module, "_warned", set())
    with pytest.warns(RuntimeWarning, match="WITHOUT namespaces"):
        Sandbox(size=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Sandbox(size=1)


def _contend(box: Sandbox, threads: int = 3) -> None:
    workers = [
        threading.Thread(target=box.run, args=("import time\ntime.sleep(0.5)",))
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)


def test_a_pool_grows_only_when_its_servers_are_busy(sandbox, monkeypatch):
    monkeypatch.setenv(pool_module.BUDGET_VARIABLE, "64")  # other pools of this run hold slots
    box = Sandbox(size=4, wall_factor=2.0)
    box.layers = sandbox.layers
    try:
        for n in range(5):
            assert box.run(f"print({n})").output == f"{n}\n"
        assert box.servers() == 1
        _contend(box)
        assert 1 < box.servers() <= 4
    finally:
        box.close()


def test_growth_stays_within_the_host_wide_budget(sandbox, monkeypatch):
    monkeypatch.setenv(pool_module.BUDGET_VARIABLE, "0")  # no server beyond each pool's first
    box = Sandbox(size=4, wall_factor=2.0)
    box.layers = sandbox.layers
    try:
        _contend(box)
        assert box.servers() == 1
    finally:
        box.close()


def test_servers_outlive_the_thread_that_started_them(sandbox):
    """Linux sends a parent-death signal when the starting *thread* ends: not a death."""
    box = Sandbox(size=2, wall_factor=2.0)
    box.layers = sandbox.layers
    try:
        starter = threading.Thread(target=lambda: box.run("print(1)"))
        starter.start()
        starter.join(120)
        time.sleep(0.5)
        errors = box.infrastructure_errors
        assert [box.run(f"print({n})").output for n in range(3)] == ["0\n", "1\n", "2\n"]
        assert box.infrastructure_errors == errors
    finally:
        box.close()


def test_servers_exit_when_their_caller_is_killed(tmp_path):
    script = (
        "import os, sys, time, warnings\nwarnings.simplefilter('ignore')\n"
        "from mathattempt_env.sandbox import Sandbox\nbox = Sandbox(size=1)\n"
        "box.run('print(1)')\nprint(box.pool.checkout(time.monotonic() + 60).proc.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    caller = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        server = int(caller.stdout.readline())
    finally:
        caller.kill()
        caller.wait()
    for _ in range(100):
        if (
            not os.path.exists(f"/proc/{server}")
            or Path(f"/proc/{server}/stat").read_text().split(") ")[1][0] == "Z"
        ):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the server outlived its caller by 5 s")


def test_the_base_interpreters_site_packages_is_out_of_reach(sandbox, tmp_path):
    """pyenv, conda and Docker's python images keep every pip install under the standard
    library's directory: a job's own package and data there stay unreadable."""
    site = os.path.join(os.path.dirname(os.__file__), "site-packages")
    if not os.path.isdir(site) or not os.access(site, os.W_OK):
        pytest.skip("the base interpreter has no writable site-packages here")
    planted = os.path.join(site, f"mathattempt_planted_{uuid.uuid4().hex[:8]}")
    os.mkdir(planted)
    try:
        with open(os.path.join(planted, "golds.jsonl"), "w") as handle:
            handle.write(GOLD)
        code = (
            "import os\n"
            f"for path in [{site!r}, {planted!r}, {planted + '/golds.jsonl'!r}]:\n"
            "    try:\n"
            "        print(os.listdir(path) if os.path.isdir(path) else open(path).read())\n"
            "    except OSError as e:\n        print(type(e).__name__)\n"
            f"import {os.path.basename(planted)}\n"
        )
        result = run(sandbox, code)
        assert (
            GOLD not in result.output
            and "mathattempt_planted" not in result.output.split("ModuleNotFoundError")[0]
        ), result.output
        assert "ModuleNotFoundError" in result.output
        assert run(sandbox, "import csv, json, email.mime.text\nprint('ok')").output == "ok\n"
    finally:
        shutil.rmtree(planted, ignore_errors=True)


def test_a_server_that_cannot_start_is_a_quick_sandbox_error(monkeypatch):
    """No writable place for the runtime's tree: each call is a sandbox error, at once."""
    from mathattempt_env.sandbox import tree

    def refuse(_runtime):
        raise OSError("read-only file system")

    monkeypatch.setattr(tree, "runtime_tree", refuse)
    monkeypatch.setattr(jail, "jail_available", lambda: False)
    box = Sandbox(size=1)
    if "uid" not in box.layers:
        pytest.skip("the tree is made only as root")
    started = time.monotonic()
    results = [box.run("print(1)") for _ in range(2)]
    assert all(r.status == "sandbox-error" and "read-only" in r.output for r in results)
    assert time.monotonic() - started < 5 and box.infrastructure_errors == 2
    box.close()
