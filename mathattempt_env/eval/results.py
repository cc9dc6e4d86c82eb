"""``results.jsonl``: append-only, flushed per episode, resumable, tied to one configuration.

``config.json`` beside it records the configuration that produced the results; resuming into
a directory written by a different configuration is refused. One process writes a folder at
a time (a lock file; a second one is refused with a clear message). Lines are pure ASCII
JSON, so any string a model can produce (lone surrogates, NUL, any script) round-trips.

An episode whose backend failed (retries spent on bad replies or timeouts) is written as a
``"status": "failed"`` record with its reason. It is not a result: a re-run retries it, and a
later record for the same key supersedes it. A line cut short by a killed run (SIGKILL
mid-write) is dropped on the next start, so only episodes in flight are lost; a corrupted line
anywhere else is reported by line number, set aside in ``results.rejected.jsonl``, and its
episode is run again.

Examples:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> log = ResultsLog(folder, {"model": "m"})
    >>> log.append({"key": "a/1", "first_correct": 1, "text": "\\ud800"})
    >>> log.close()
    >>> read_results(folder)[0]["text"] == "\\ud800"
    True
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mathattempt_env.errors import ConfigError

RESULTS = "results.jsonl"
CONFIG = "config.json"
REJECTED = "results.rejected.jsonl"
LOCK = ".lock"


def config_hash(identity: Mapping[str, Any]) -> str:
    """A short, stable hash of the settings that decide every episode's result.

    Examples:
        >>> config_hash({"model": "m", "attempts": 7}) == config_hash({"attempts": 7, "model": "m"})
        True
    """
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Parsed:
    """What a results file holds.

    Attributes:
        records: the last record of every key, in order of first appearance.
        rejected: ``(line number, text)`` of lines that are not a record.
        end: where the complete lines end (a killed write's tail starts there).
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[tuple[int, bytes]] = field(default_factory=list)
    end: int = 0


def parse_results(data: bytes) -> Parsed:
    """Read the complete lines of a results file; corrupted lines are set aside, not fatal.

    Examples:
        >>> parsed = parse_results(b'{"key": "a"}\\nnot json\\n{"key": "a", "n": 2}\\n{"ke')
        >>> parsed.records, [n for n, _ in parsed.rejected], parsed.end
        ([{'key': 'a', 'n': 2}], [2], 43)
    """
    end = data.rfind(b"\n") + 1
    latest: dict[str, dict[str, Any]] = {}
    rejected = []
    for number, line in enumerate(data[:end].splitlines(), start=1):
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("key"), str):
            rejected.append((number, line))
            continue
        latest[record["key"]] = record  # a later record (a re-run) supersedes an earlier one
    return Parsed(list(latest.values()), rejected, end)


def failed(record: Mapping[str, Any]) -> bool:
    """Whether a record is an episode that failed for an infrastructure reason."""
    return record.get("status") == "failed"


def read_results(folder: Path) -> list[dict[str, Any]]:
    """The last record of every key in ``folder/results.jsonl``, failed ones included."""
    path = folder / RESULTS
    return parse_results(path.read_bytes()).records if path.is_file() else []


def check_resumable(folder: Path, identity: Mapping[str, Any]) -> bool:
    """Whether ``folder`` holds a run of this configuration (``False``: a fresh directory).

    Raises:
        ConfigError: ``folder`` holds results of a different configuration, or results with
            no record of their configuration.
    """
    config_path = folder / CONFIG
    if config_path.is_file():
        try:
            stored = json.loads(config_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ConfigError(f"--out: {config_path} is not valid JSON ({error})") from None
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


def _lock(folder: Path) -> int:
    """Take the folder's writer lock, or say who holds it."""
    handle = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(handle, 32).decode(errors="replace").strip() or "another process"
        os.close(handle)
        raise ConfigError(
            f"--out: {folder} is being written by another mathattempt eval (pid {holder}); "
            "wait for it to finish, or use another --out directory"
        ) from None
    os.ftruncate(handle, 0)
    os.write(handle, str(os.getpid()).encode())
    return handle


class ResultsLog:
    """The results of one evaluation configuration in one directory.

    Args:
        folder: the output directory (created if needed).
        identity: the settings that decide results (model, env, attempts, decoding, ...).

    Attributes:
        done: keys with a result; failed episodes are not done.
        rejected: line numbers of corrupted lines set aside when the log was opened.

    Raises:
        ConfigError: ``folder`` holds results of a different configuration, or another
            process is writing it.
    """

    def __init__(self, folder: Path, identity: Mapping[str, Any]) -> None:
        self.folder = folder
        self.identity = dict(identity)
        self.hash = config_hash(identity)
        resuming = check_resumable(folder, identity)
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = _lock(folder)
        if not resuming:
            config_path = folder / CONFIG
            temporary = config_path.with_suffix(".tmp")
            temporary.write_text(json.dumps({"hash": self.hash, "identity": self.identity}))
            os.replace(temporary, config_path)
        path = folder / RESULTS
        data = path.read_bytes() if path.is_file() else b""
        parsed = parse_results(data)
        self._latest = {r["key"]: r for r in parsed.records}
        self.rejected = [number for number, _ in parsed.rejected]
        if parsed.rejected:
            self._set_aside(path, data, parsed)
        self.done = {r["key"] for r in parsed.records if not failed(r)}
        self._handle = path.open("ab")
        if parsed.end < len(data) and not parsed.rejected:
            self._handle.truncate(parsed.end)  # a killed run's partial line

    def _set_aside(self, path: Path, data: bytes, parsed: Parsed) -> None:
        """Move corrupted lines to the rejected file and keep every good line."""
        with (self.folder / REJECTED).open("ab") as rejected:
            for number, line in parsed.rejected:
                note = {"line": number, "text": line.decode("utf-8", errors="replace")}
                rejected.write((json.dumps(note) + "\n").encode())
        kept = b"".join(_line(record) for record in parsed.records)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(kept)
        os.replace(temporary, path)

    def append(self, record: dict[str, Any]) -> None:
        """Write one finished (or failed) episode and force it to disk."""
        if record["key"] in self.done:
            return
        self._handle.write(_line({**record, "config_hash": self.hash}))
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._latest[record["key"]] = record
        if not failed(record):
            self.done.add(record["key"])

    @property
    def records(self) -> list[dict[str, Any]]:
        """The last record of every key (failed ones included), in order of first appearance."""
        return list(self._latest.values())

    def close(self) -> None:
        """Close the file and release the folder."""
        self._handle.close()
        os.close(self._lock)


def _line(record: Mapping[str, Any]) -> bytes:
    # ASCII escapes keep every string intact, lone surrogates included.
    return (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")
