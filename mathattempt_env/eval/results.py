"""``results.jsonl``: append-only, flushed per episode, resumable, tied to one configuration.

``config.json`` beside it records the configuration that produced the results. Resuming into
a directory written by a different configuration is refused. A line cut short by a killed run
(SIGKILL mid-write) is dropped on the next start, so only episodes in flight are lost.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mathattempt_env.errors import ConfigError

RESULTS = "results.jsonl"
CONFIG = "config.json"


def config_hash(identity: Mapping[str, Any]) -> str:
    """A short, stable hash of the settings that decide every episode's result.

    Example:
        >>> config_hash({"model": "m", "attempts": 7}) == config_hash({"attempts": 7, "model": "m"})
        True
    """
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _complete(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The records in ``data`` and where its complete lines end (a killed write's tail is not)."""
    end = data.rfind(b"\n") + 1
    return [json.loads(line) for line in data[:end].splitlines()], end


def read_results(folder: Path) -> list[dict[str, Any]]:
    """The complete records in ``folder/results.jsonl`` (a cut-off last line is skipped)."""
    path = folder / RESULTS
    return _complete(path.read_bytes())[0] if path.is_file() else []


def check_resumable(folder: Path, identity: Mapping[str, Any]) -> bool:
    """Whether ``folder`` holds a run of this configuration (``False``: a fresh directory).

    Raises:
        ConfigError: ``folder`` holds results of a different configuration, or results with
            no record of their configuration.
    """
    config_path = folder / CONFIG
    if config_path.is_file():
        stored = json.loads(config_path.read_text())
        if stored.get("hash") != config_hash(identity):
            old = stored.get("identity", {})
            differences = [
                f"{key}: {old.get(key)!r} there, {identity.get(key)!r} now"
                for key in sorted(set(old) | set(identity))
                if old.get(key) != identity.get(key)
            ]
            raise ConfigError(
                f"--out: {folder} holds results of a different run ("
                + "; ".join(differences)
                + "); use another --out directory"
            )
        return True
    if (folder / RESULTS).is_file():
        raise ConfigError(f"--out: {folder} has {RESULTS} but no {CONFIG}; cannot resume")
    return False


class ResultsLog:
    """The results of one evaluation configuration in one directory.

    Args:
        folder: the output directory (created if needed).
        identity: the settings that decide results (model, env, attempts, decoding, ...).

    Raises:
        ConfigError: ``folder`` holds results of a different configuration.
    """

    def __init__(self, folder: Path, identity: Mapping[str, Any]) -> None:
        self.folder = folder
        self.identity = dict(identity)
        self.hash = config_hash(identity)
        config_path = folder / CONFIG
        if not check_resumable(folder, identity):
            folder.mkdir(parents=True, exist_ok=True)
            temporary = config_path.with_suffix(".tmp")
            temporary.write_text(json.dumps({"hash": self.hash, "identity": self.identity}))
            os.replace(temporary, config_path)
        path = folder / RESULTS
        data = path.read_bytes() if path.is_file() else b""
        self.records, end = _complete(data)
        self.done = {record["key"] for record in self.records}
        self._handle = path.open("ab")
        if end < len(data):  # cut a killed run's partial line, so appends start on a new line
            self._handle.truncate(end)

    def append(self, record: dict[str, Any]) -> None:
        """Write one finished episode and force it to disk."""
        if record["key"] in self.done:
            return
        line = json.dumps({**record, "config_hash": self.hash}, ensure_ascii=False) + "\n"
        self._handle.write(line.encode())
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.done.add(record["key"])
        self.records.append(record)

    def close(self) -> None:
        """Close the file."""
        self._handle.close()
