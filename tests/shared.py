"""Where the shared data lives (``../shared`` beside the project root), for every test.

The files are listed by name, not found by globbing, so that without the folder every test
that reads one is still collected and fails (or skips) with the reason, instead of
vanishing from the count.
"""

from __future__ import annotations

from pathlib import Path

from mathattempt_env.data.registry import DATASETS

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = SHARED / "data"
GRADING = SHARED / "grading"
#: The benchmark files the registry reads from a data folder, one per named dataset.
DATA_FILES = [DATA / spec.file for spec in DATASETS.values() if spec.file]
