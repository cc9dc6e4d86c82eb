"""Every Python snippet of the README runs as written and prints what the README shows.

The snippets are ``pycon`` blocks, run here with doctest, each in a fresh namespace.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
# Fences stand at the start of a line (a snippet's strings may hold ``` themselves).
BLOCKS = re.findall(r"^```pycon\n(.*?)^```$", README.read_text(encoding="utf-8"), re.M | re.S)


def test_the_readme_has_snippets_and_none_is_plain_python() -> None:
    assert len(BLOCKS) >= 4
    text = README.read_text(encoding="utf-8")
    assert not re.search(r"^```python", text, re.M)  # every snippet is checked


@pytest.mark.parametrize("block", BLOCKS, ids=[f"snippet-{n}" for n in range(len(BLOCKS))])
def test_readme_snippet(block: str) -> None:
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block, {}, "README", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures: list[str] = []
    runner.run(test, out=failures.append)
    assert runner.failures == 0, "".join(failures)
