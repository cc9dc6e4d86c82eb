"""The ``mathattempt`` command.

``mathattempt eval``: the multi-attempt evaluation of the papers for any model (see
:mod:`mathattempt_env.eval`). Errors in the configuration, the data, the model path or the
server are reported in one line on stderr with exit status 2, without a traceback. Episodes
whose backend failed after every retry are recorded and the run goes on; it then exits with
status 3, and re-running the same command retries only those.

Example:
    >>> args = _parser().parse_args(["eval", "--dataset", "math500", "--model", "m", "--out", "o"])
    >>> args.attempts, args.temperature, args.max_tokens, args.backend
    ('1-7', 0.0, 8000, 'hf')
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mathattempt_env.errors import ConfigError, MathAttemptError

if TYPE_CHECKING:
    from mathattempt_env.eval.backends import ChatBackend

BACKENDS = ("hf", "vllm", "openai")


#: Exit status when some episodes failed for backend reasons (the rest are recorded).
SOME_FAILED = 3


def _parser() -> argparse.ArgumentParser:
    from mathattempt_env import __version__

    parser = argparse.ArgumentParser(prog="mathattempt", description="mathattempt_env tools")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "eval",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help="accuracy within k attempts on math benchmarks, for any model",
        description="Evaluate a model with the multi-attempt protocol (greedy, feedback from "
        "the true answer after each wrong attempt, one token budget across attempts). One run "
        "at the largest k gives every smaller k. Re-running the same command resumes.",
    )
    run.add_argument("--env", default="MultiAttemptMath-v0", help="a registered env id")
    run.add_argument(
        "--env-kwargs",
        default="{}",
        help='more env arguments, as a JSON object (e.g. \'{"feedback": "answer"}\')',
    )
    run.add_argument(
        "--dataset",
        action="append",
        required=True,
        help="a dataset name (math500, aime24, amc23, minerva_math, olympiadbench, gsm8k) or a "
        "JSONL path; repeat for several",
    )
    run.add_argument("--attempts", default="1-7", help="K or LOW-HIGH")
    run.add_argument(
        "--model", required=True, help="model directory (hf), path or id (vllm), name (openai)"
    )
    run.add_argument("--backend", choices=BACKENDS, default="hf", help="how replies are made")
    run.add_argument("--base-url", help="OpenAI-compatible API root, e.g. http://localhost:8000/v1")
    run.add_argument("--api-key", default=None, help="bearer token for --base-url")
    run.add_argument("--out", required=True, type=Path, help="output directory")
    run.add_argument("--limit", type=int, help="only the first N problems of each dataset")
    run.add_argument("--temperature", type=float, default=0.0, help="0: greedy")
    run.add_argument("--max-tokens", type=int, default=8000, help="episode token budget")
    run.add_argument("--concurrency", type=int, default=32, help="episodes in flight")
    run.add_argument("--timeout", type=float, default=600.0, help="seconds per request (openai)")
    run.add_argument("--retries", type=int, default=5, help="retries per request (openai)")
    run.add_argument(
        "--backoff", type=float, default=1.0, help="first retry delay in seconds, doubling (openai)"
    )
    run.add_argument("--data-dir", help="folder with the datasets' JSONL files")
    run.add_argument("--compare", type=Path, help="another run's --out, drawn dashed in the plot")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _positive(name: str, value: int | float | None) -> None:
    if value is not None and value <= 0:
        raise ConfigError(f"{name}: expected a positive number, got {value!r}")


def _backend(args: argparse.Namespace) -> ChatBackend:
    from mathattempt_env.eval.backends import HFBackend, VLLMBackend
    from mathattempt_env.eval.openai import OpenAIBackend

    if args.backend == "openai":
        if not args.base_url:
            raise ConfigError("--backend openai needs --base-url")
        return OpenAIBackend(
            args.base_url,
            args.model,
            temperature=args.temperature,
            concurrency=args.concurrency,
            timeout=args.timeout,
            retries=args.retries,
            backoff=args.backoff,
            api_key=args.api_key,
        )
    if args.backend == "vllm":
        return VLLMBackend(args.model, temperature=args.temperature, batch_size=args.concurrency)
    return HFBackend(args.model, temperature=args.temperature, batch_size=args.concurrency)


async def _evaluate(args: argparse.Namespace) -> tuple[str, int]:
    """Run or resume the evaluation; returns the summary text and the exit status."""
    from mathattempt_env.eval.openai import OpenAIBackend
    from mathattempt_env.eval.results import RESULTS, check_resumable
    from mathattempt_env.eval.runner import (
        SUMMARY,
        EvalConfig,
        load_datasets,
        parse_attempts,
        pending,
        run_eval,
        write_report,
    )

    _positive("--limit", args.limit)
    _positive("--max-tokens", args.max_tokens)
    _positive("--concurrency", args.concurrency)
    if args.compare is not None and not (args.compare / RESULTS).is_file():
        raise ConfigError(f"--compare: {args.compare} has no {RESULTS}")
    try:
        env_kwargs = json.loads(args.env_kwargs)
    except json.JSONDecodeError as error:
        raise ConfigError(f"--env-kwargs: not JSON ({error}): {args.env_kwargs!r}") from None
    if not isinstance(env_kwargs, dict):
        raise ConfigError(f"--env-kwargs: expected a JSON object, got {args.env_kwargs!r}")
    config = EvalConfig(
        env=args.env,
        env_kwargs=env_kwargs,
        datasets=args.dataset,
        ks=parse_attempts(args.attempts),
        out=args.out,
        model=args.model,
        backend=args.backend,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        concurrency=args.concurrency,
        limit=args.limit,
        data_dir=args.data_dir,
        progress=not args.no_progress,
    )
    # Cheap checks first, so a typo is not reported after a model has loaded.
    load_datasets(config)
    if check_resumable(config.out, config.identity()) and pending(config) == 0:
        summary = write_report(config, args.model, args.compare)  # no model needed
    else:
        backend = _backend(args)
        try:
            if isinstance(backend, OpenAIBackend):
                await backend.check()
            summary = await run_eval(config, backend, compare=args.compare)
        finally:
            await backend.aclose()
        if summary["set_aside"]:
            lines = ", ".join(map(str, summary["set_aside"]))
            print(
                f"mathattempt eval: {RESULTS} lines {lines} were not records; they are set aside "
                f"in results.rejected.jsonl and their episodes ran again",
                file=sys.stderr,
            )
    failures = sum(summary.get("failed", {}).values())
    if failures:
        print(
            f"mathattempt eval: {failures} episode(s) failed (backend errors after every retry; "
            f"reasons in {config.out / RESULTS}); run the same command to retry them",
            file=sys.stderr,
        )
    return (config.out / SUMMARY).read_text(), SOME_FAILED if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, 2: bad input, 3: some failed)."""
    args = _parser().parse_args(argv)
    try:
        text, status = asyncio.run(_evaluate(args))
    except MathAttemptError as error:
        print(f"mathattempt {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"mathattempt {args.command}: interrupted; finished episodes are in {args.out}, "
            "run the same command to resume",
            file=sys.stderr,
        )
        return 130
    print(text, end="")
    return status


if __name__ == "__main__":
    sys.exit(main())
