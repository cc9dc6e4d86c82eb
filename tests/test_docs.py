"""The README and the documentation site: every snippet runs as written, the site builds.

The snippets are ``pycon`` blocks, run here with doctest, each in a fresh namespace; the site
is built with MkDocs in strict mode (any warning, such as a broken link or an unknown
cross-reference in a docstring, fails the build).
"""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]


def _blocks(path: Path) -> list[str]:
    # Fences stand at the start of a line (a snippet's strings may hold ``` themselves).
    return re.findall(r"^```pycon\n(.*?)^```$", path.read_text(encoding="utf-8"), re.M | re.S)


SNIPPETS = [(path, block) for path in PAGES for block in _blocks(path)]


def test_the_pages_have_snippets_and_none_is_unchecked_python() -> None:
    assert len(_blocks(README)) >= 3 and len(SNIPPETS) >= 15
    for path in PAGES:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^```python", text, re.M), path  # every snippet is checked


@pytest.mark.parametrize(
    ("path", "block"),
    SNIPPETS,
    ids=[f"{p.relative_to(ROOT)}-{n}" for n, (p, _) in enumerate(SNIPPETS)],
)
def test_snippet(path: Path, block: str) -> None:
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block, {}, str(path.name), str(path), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures: list[str] = []
    runner.run(test, out=failures.append)
    assert runner.failures == 0, "".join(failures)


def test_the_readme_is_a_front_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, len(lines)
    linked = set(re.findall(r"\]\((docs/[^)#]+)", "\n".join(lines)))
    assert all((ROOT / page).is_file() for page in linked), linked


def test_the_site_builds_without_warnings(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    pages = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("index.html")}
    for page in ("envs/contract/index.html", "envs/s2r/index.html", "training/verl/index.html",
                 "api/envs/index.html", "benchmarks/index.html"):  # fmt: skip
        assert page in pages, sorted(pages)
    api = (tmp_path / "api" / "envs" / "index.html").read_text(encoding="utf-8")
    # the API pages are generated from the docstrings: a class's own prose appears there
    assert "An env id and its options, validated" in api and "def make_tool" not in api
    assert "tool and the attempt in progress: its text so far" in api
