"""Self-consistency on every row of the real benchmark files in ../shared/data."""

import json
from pathlib import Path

import pytest

from mathattempt_env.grading import grade, validate_gold
from tests.shared import DATA
from tests.shared import DATA_FILES as FILES

pytestmark = pytest.mark.needs_shared


def test_the_shared_data_is_present() -> None:
    assert FILES, f"expected the benchmark JSONL files in {DATA}"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_boxed_gold_is_correct_for_every_row(path: Path) -> None:
    failures = []
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    for row in rows:
        validate_gold(row["answer"], where=f"{path.name} id {row['id']}")
        result = grade("\\boxed{" + row["answer"] + "}", row["answer"], boxed_only=True)
        if not result.correct:
            failures.append((row["id"], row["answer"], result.reason))
    assert not failures, failures[:10]
