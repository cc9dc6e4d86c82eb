"""Old runtime trees (root without namespaces) are removed, and a tree in use never is."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from mathattempt_env.sandbox import tree
from mathattempt_env.sandbox.runtime import runtime

OLD = time.time() - 30 * 86400


def _dir(home: Path, name: str, mtime: float | None = None) -> Path:
    path = home / name
    (path / "usr" / "lib").mkdir(parents=True)
    (path / "usr" / "lib" / "f.py").write_text("x = 1\n")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_prune_removes_unused_trees_and_stale_builds_only(tmp_path: Path) -> None:
    old = _dir(tmp_path, "root-0000000000000001", OLD)
    recent = _dir(tmp_path, "root-0000000000000002")
    kept = _dir(tmp_path, "root-0000000000000003", OLD)
    crashed = _dir(tmp_path, "root-building-abc", time.time() - 2 * 86400)
    building = _dir(tmp_path, "root-building-def")
    other = _dir(tmp_path, "notes", OLD)
    removed = tree.prune(str(tmp_path), keep=str(kept))
    assert sorted(removed) == sorted([str(old), str(crashed)])
    assert all(p.exists() for p in (recent, kept, building, other))


@pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")
def test_prune_keeps_an_old_tree_that_a_running_process_has_as_its_root(tmp_path: Path) -> None:
    used = _dir(tmp_path, "root-00000000000000aa", OLD)
    pid = os.fork()
    if pid == 0:  # a long-lived server, chrooted into its tree
        try:
            os.chroot(used)
            time.sleep(60)
        finally:
            os._exit(0)
    try:
        for _ in range(200):  # until the child has changed its root
            if os.readlink(f"/proc/{pid}/root") == str(used):
                break
            time.sleep(0.01)
        assert tree.prune(str(tmp_path), keep="") == []
        assert used.exists()
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert tree.prune(str(tmp_path), keep="") == [str(used)]


def test_making_a_tree_prunes_the_old_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    home = tmp_path / "mathattempt_env"
    home.mkdir(mode=0o700)
    old = _dir(home, "root-00000000000000bb", OLD)
    made = tree.runtime_tree(runtime())
    assert Path(made).is_dir() and not old.exists()
    os.utime(made, (OLD, OLD))
    assert tree.runtime_tree(runtime()) == made  # found again, and marked as used
    assert os.stat(made).st_mtime > time.time() - 60
