"""Run an evaluation: episodes for every problem of every dataset, logged as they finish."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym

from mathattempt_env.data import load_problems
from mathattempt_env.envs.config import EnvConfig
from mathattempt_env.envs.surface import has_surface, surface
from mathattempt_env.errors import ConfigError
from mathattempt_env.eval.backends import BackendError, ChatBackend
from mathattempt_env.eval.episodes import play
from mathattempt_env.eval.metrics import accuracy_at_k, summarize
from mathattempt_env.eval.report import plot_accuracy, summary_markdown
from mathattempt_env.eval.results import ResultsLog, failed, read_results
from mathattempt_env.registration import check_env_id
from mathattempt_env.types import Problem

#: Bumped when the evaluation protocol changes in a way that changes results.
PROTOCOL = 2
SUMMARY, PLOT = "summary.md", "accuracy_vs_attempts.png"


def parse_attempts(text: str) -> list[int]:
    """``"1-7"`` -> ``[1, ..., 7]``; ``"3"`` -> ``[1, 2, 3]`` (every k up to the budget).

    Examples:
        >>> parse_attempts("1-7")[-1], parse_attempts("2-4")
        (7, [2, 3, 4])
    """
    low, _, high = text.partition("-")
    try:
        first, last = (int(low), int(high)) if high else (1, int(low))
    except ValueError:
        first = last = 0
    if not 1 <= first <= last:
        raise ConfigError(f"--attempts: expected K or LOW-HIGH with 1 <= LOW <= HIGH, got {text!r}")
    return list(range(first, last + 1))


@dataclasses.dataclass
class EvalConfig:
    """What to evaluate and how. ``identity()`` is what must match to resume a directory.

    Attributes:
        env: a registered env id (``MultiAttemptMath-v0``, ``S2RMath-v0``, ...).
        datasets: dataset names or JSONL paths.
        ks: the attempt counts to report; the run uses the largest as its budget.
        out: the output directory.
        model: the model path or name, as the backend knows it.
        backend: ``hf``, ``vllm``, ``openai`` (or a name for a custom backend).
        temperature: 0 for greedy decoding (the papers' protocol).
        max_tokens: the token budget of one episode, across attempts.
        concurrency: the most episodes in flight.
        limit: evaluate only the first N problems of each dataset.
        data_dir: where named datasets' JSONL files are.
        progress: show a progress bar on stderr.
        env_kwargs: more ``gym.make`` arguments for the env (JSON values: part of the run's
            identity), e.g. ``{"feedback": "answer"}``.
        env_backend: where the envs step: ``"local"`` (this process) or ``"ray"`` (the actors
            of a Ray env pool; the same episodes, so not part of the identity).
    """

    env: str
    datasets: Sequence[str]
    ks: Sequence[int]
    out: Path
    model: str
    backend: str
    temperature: float = 0.0
    max_tokens: int = 8000
    concurrency: int = 32
    limit: int | None = None
    data_dir: str | None = None
    progress: bool = True
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    env_backend: str = "local"

    def identity(self) -> dict[str, Any]:
        """The settings that decide each episode's result (``limit`` and datasets do not)."""
        return {
            "protocol": PROTOCOL,
            "env": self.env,
            "attempts": max(self.ks),
            "model": self.model,
            "backend": self.backend,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            **({"env_kwargs": self.env_kwargs} if self.env_kwargs else {}),
        }


def _make_env(
    config: EvalConfig, problem: Problem, think: str = "auto", backend: Any = None
) -> tuple[gym.Env[str, str], dict[str, Any]]:
    reserved = {"dataset", "think"} & set(config.env_kwargs)
    if reserved:
        raise ConfigError(f"--env-kwargs: {sorted(reserved)} are set by the evaluation itself")
    env_config = EnvConfig.parse(config.env, config.env_kwargs, where="--env-kwargs")
    local: dict[str, Any] = {"dataset": [problem], "think": think}
    count = getattr(backend, "count_tokens", None)
    if count is not None:  # a tool's output counts toward the token budget, in tokens
        local.update(length_fn=count, length_unit="tokens")
    if config.env_backend == "ray":
        from mathattempt_env.serve.ray_pool import RayEnv

        env: Any = RayEnv(env_config, local)
    elif config.env_backend == "local":
        env = env_config.make(**local).unwrapped
    else:
        raise ConfigError(f"--env-backend: expected local or ray, got {config.env_backend!r}")
    if not has_surface(env):
        raise ConfigError(f"--env: {config.env!r} is not a mathattempt_env environment")
    options: dict[str, Any] = {"index": 0}
    if "attempts" in surface(env).option_names():
        options["attempts"] = max(config.ks)
    return env, options


def check_env(config: EvalConfig, problem: Problem) -> None:
    """Make the env once, so a wrong ``--env`` or option is reported before a model loads.

    Raises:
        ConfigError: an unknown env id, an unknown or bad option, or not one of ours.
    """
    try:
        check_env_id(config.env)
    except ConfigError as error:
        raise ConfigError(f"--env: {error}") from None
    env, _ = _make_env(config, problem)
    env.close()


def load_datasets(config: EvalConfig) -> list[tuple[str, Problem]]:
    """Every (dataset label, problem) pair to evaluate, ``limit`` applied per dataset."""
    tasks: list[tuple[str, Problem]] = []
    labels: set[str] = set()
    for name in config.datasets:
        try:
            problems = load_problems(name, data_dir=config.data_dir)
        except ConfigError as error:
            raise ConfigError(f"--dataset: {error}") from error
        label = Path(name).stem if name.endswith(".jsonl") else name
        if label in labels:
            raise ConfigError(f"--dataset: {label!r} is given twice")
        labels.add(label)
        count = len(problems) if config.limit is None else min(config.limit, len(problems))
        tasks += [(label, problems[i]) for i in range(count)]
    return tasks


class _Progress:
    """A tqdm bar with the running accuracy, or nothing."""

    def __init__(self, total: int, done: int, ks: Sequence[int], enabled: bool) -> None:
        self.ks = ks
        self.bar: Any = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="episode", file=sys.stderr)

    def update(self, records: Sequence[dict[str, Any]]) -> None:
        if self.bar is None:
            return
        first, last = min(self.ks), max(self.ks)
        self.bar.set_postfix_str(
            f"acc@{first} {100 * accuracy_at_k(records, first):.1f}%"
            f" acc@{last} {100 * accuracy_at_k(records, last):.1f}%"
        )
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def pending(config: EvalConfig) -> int:
    """How many episodes of ``config`` are not done yet (failed ones count as not done)."""
    tasks = load_datasets(config)
    done = {r["key"] for r in read_results(config.out) if not failed(r)}
    return sum(f"{label}/{problem.id}" not in done for label, problem in tasks)


def write_report(config: EvalConfig, model: str, compare: Path | None = None) -> dict[str, Any]:
    """Summarize what ``config.out`` holds for ``config``; write ``summary.md`` and the plot.

    Returns:
        The summary (see :func:`~mathattempt_env.eval.metrics.summarize`), with ``failed``
        ({dataset: episodes whose backend failed}, not counted in the accuracies).
    """
    wanted = {f"{label}/{problem.id}" for label, problem in load_datasets(config)}
    records = [r for r in read_results(config.out) if r["key"] in wanted]
    summary = summarize([r for r in records if not failed(r)], config.ks)
    summary["failed"] = dict(Counter(str(r["dataset"]) for r in records if failed(r)))
    title = f"{config.env}, {model}, up to {max(config.ks)} attempts"
    (config.out / SUMMARY).write_text(summary_markdown(summary, config.ks, title))
    runs = [(config.out.name or str(config.out), summary)]
    if compare is not None:
        other = [r for r in read_results(compare) if not failed(r)]
        runs.append((compare.name or str(compare), summarize(other, config.ks)))
    plot_accuracy(config.out / PLOT, runs, config.ks, title=title)
    return summary


async def run_eval(
    config: EvalConfig,
    backend: ChatBackend,
    *,
    compare: Path | None = None,
    on_episode: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Evaluate, resuming whatever ``config.out`` already holds; write the summary and plot.

    An episode whose backend fails (:class:`~mathattempt_env.eval.backends.BackendError`:
    retries spent on timeouts, dropped connections or bad replies) is recorded as failed,
    with its reason, and the run goes on; a re-run retries only those.

    Args:
        config: the evaluation.
        backend: generates the replies.
        compare: another run's directory, drawn dashed in the plot.
        on_episode: called with each newly finished record (after it is on disk).

    Returns:
        The summary of every finished episode of ``config.datasets`` (see
        :func:`write_report`), with ``set_aside``: line numbers of corrupted lines of
        ``results.jsonl`` that were set aside (their episodes ran again).

    Raises:
        ConfigError: ``config.out`` holds another configuration's results, or another
            process is writing it.
    """
    tasks = load_datasets(config)
    log = ResultsLog(config.out, config.identity())
    todo = [(label, p) for label, p in tasks if f"{label}/{p.id}" not in log.done]
    wanted = {f"{label}/{problem.id}" for label, problem in tasks}
    finished = [r for r in log.records if r["key"] in wanted and not failed(r)]
    progress = _Progress(len(tasks), len(tasks) - len(todo), config.ks, config.progress)
    gate = asyncio.Semaphore(config.concurrency)

    # A template that opens <think> for the model: a reply without </think> was cut.
    think = "open" if getattr(backend, "opens_think", False) else "auto"

    async def one(label: str, problem: Problem) -> None:
        record: dict[str, Any] = {
            "key": f"{label}/{problem.id}",
            "dataset": label,
            "problem_id": problem.id,
            "gold": problem.answer,
            "model": backend.name,
        }
        async with gate:
            env, options = _make_env(config, problem, think, backend)
            try:
                result = await play(env, backend, options=options, max_tokens=config.max_tokens)
            except BackendError as error:  # infrastructure, not a wrong answer
                record.update(status="failed", error=str(error))
            except Exception as error:  # noqa: BLE001 - any failure is this episode's alone
                record.update(status="failed", error=f"{type(error).__name__}: {error}"[:2000])
            else:
                record.update(status="done", **result)
        log.append(record)
        if not failed(record):
            finished.append(record)
        progress.update(finished)
        if on_episode is not None:
            on_episode(record)

    running = [asyncio.ensure_future(one(label, problem)) for label, problem in todo]
    try:
        await asyncio.gather(*running)
    finally:
        # On any failure, stop the episodes in flight before the log closes: they are lost,
        # everything finished is already on disk.
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        progress.close()
        log.close()
    summary = write_report(config, backend.name, compare)
    summary["set_aside"] = log.rejected
    return summary
