"""The ``mathattempt`` command.

``mathattempt eval``: the multi-attempt evaluation of the papers for any model (see
:mod:`mathattempt_env.eval`). Errors in the configuration, the data, the model path or the
server are reported in one line on stderr with exit status 2, without a traceback. Episodes
whose backend failed after every retry are recorded and the run goes on; it then exits with
status 3, and re-running the same command retries only those.

Examples:
    >>> args = _parser().parse_args(["eval", "--dataset", "math500", "--model", "m", "--out", "o"])
    >>> args.attempts, args.temperature, args.max_tokens, args.backend
    ('1-7', 0.0, 8000, 'hf')
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mathattempt_env.errors import ConfigError, MathAttemptError, install_hint

if TYPE_CHECKING:
    from mathattempt_env.eval.backends import ChatBackend

BACKENDS = ("hf", "vllm", "openai")


#: Exit status when some episodes failed for backend reasons (the rest are recorded).
SOME_FAILED = 3


def strict_parser(**kwargs: Any) -> argparse.ArgumentParser:
    """An argument parser that refuses abbreviated flags (``--seed`` is not ``--seeds``).

    Every command of the package and its examples uses one, so a mistyped flag is an error
    instead of a silently different run. Sub-command parsers made from it refuse them too.

    Examples:
        >>> parser = strict_parser(prog="demo", exit_on_error=False)
        >>> _ = parser.add_argument("--seeds", type=int)
        >>> parser.parse_args(["--seeds", "3"]).seeds
        3
        >>> parser.parse_known_args(["--seed", "3"])[1]
        ['--seed', '3']
    """
    kwargs.setdefault("allow_abbrev", False)
    return argparse.ArgumentParser(**kwargs)


#: Python modules that only an extra installs, and the extra that does.
EXTRA_MODULES = {
    "torch": "eval",
    "transformers": "eval",
    "matplotlib": "eval",
    "tqdm": "eval",
    "aiohttp": "eval",
    "trl": "trl",
    "datasets": "datasets",
    "verl": "verl",
    "pettingzoo": "pettingzoo",
    "pyseccomp": "tool",
    "openenv": "serve",
    "uvicorn": "serve",
    "fastapi": "serve",
}


def run_command(prog: str, body: Callable[[], int], extra: str | None = None) -> int:
    """Run a command's ``body``; report a mistake in one line on stderr, exit status 2.

    A configuration or data error, an unknown env id, and a module that an extra installs
    (named with the extra to install) are one line each, without a traceback; anything else
    is a bug and keeps its traceback.

    Args:
        prog: the command's name, the start of each message.
        body: the command; returns the exit status.
        extra: the extra that installs everything this command needs, when one does.

    Examples:
        >>> def needs_torch() -> int:
        ...     raise ModuleNotFoundError("No module named 'torch'", name="torch")
        >>> run_command("demo", needs_torch, extra="trl")  # doctest: +ELLIPSIS
        2
    """
    import gymnasium

    try:
        return body()
    except (MathAttemptError, gymnasium.error.Error) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
    except ModuleNotFoundError as error:
        top = (error.name or "").split(".")[0]
        if top not in EXTRA_MODULES:
            raise
        needed = extra or EXTRA_MODULES[top]
        print(
            f"{prog}: error: this needs the {needed!r} extra (no module named {top!r}): "
            f"{install_hint(needed)}",
            file=sys.stderr,
        )
    return 2


def load_model(name: str) -> tuple[Any, Any]:
    """A causal language model and its tokenizer (left padding), from a folder or the hub.

    Raises:
        ConfigError: it cannot be loaded (the first line of the reason).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(name, dtype="auto")
    except (OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise ConfigError(f"--model {name!r}: could not load it: {reason}") from None
    return model, tokenizer


def json_object(flag: str, text: str) -> dict[str, Any]:
    """The JSON object a flag was given, or a one-line error naming the flag.

    Examples:
        >>> json_object("--env-kwargs", '{"attempts": 3}')
        {'attempts': 3}
        >>> json_object("--env-kwargs", "attempts=3")
        Traceback (most recent call last):
        ...
        mathattempt_env.errors.ConfigError: --env-kwargs: not JSON (...): 'attempts=3'
    """
    from mathattempt_env.envs.config import json_object as parse

    return parse(text, flag)


def _parser() -> argparse.ArgumentParser:
    from mathattempt_env import __version__

    parser = strict_parser(prog="mathattempt", description="mathattempt_env tools")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = _command(
        commands,
        "eval",
        "accuracy within k attempts on math benchmarks, for any model",
        "Evaluate a model with the multi-attempt protocol (greedy, feedback from the true "
        "answer after each wrong attempt, one token budget across attempts). One run at the "
        "largest k gives every smaller k. Re-running the same command resumes.",
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
    run.add_argument(
        "--env-backend",
        choices=("local", "ray"),
        default="local",
        help="where the envs step: this process, or the actors of a Ray env pool",
    )
    run.add_argument("--compare", type=Path, help="another run's --out, drawn dashed in the plot")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    _serve_parser(commands)
    _grader_parser(commands)
    return parser


def _command(commands: Any, name: str, help: str, description: str) -> Any:
    """A sub-command's parser (strict, with defaults shown) and its ``--env`` flags."""
    command = commands.add_parser(
        name,
        allow_abbrev=False,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help=help,
        description=description,
    )
    command.add_argument("--env", default="MultiAttemptMath-v0", help="a registered env id")
    command.add_argument(
        "--env-kwargs",
        default="{}",
        help="more env arguments, as a JSON object (e.g. '{\"attempts\": 3}')",
    )
    return command


def _serve_parser(commands: Any) -> None:
    serve = _command(
        commands,
        "serve",
        "serve an env over OpenEnv's WebSocket protocol",
        "Serve episodes of an env to OpenEnv clients (TRL, Unsloth, SkyRL, ...): one env per "
        "WebSocket session at /ws. Binds 127.0.0.1 unless told otherwise; another address "
        "needs a token or --insecure. SIGTERM stops it gracefully (exit 0).",
    )
    _listen_flags(serve, 8000)
    serve.add_argument("--max-sessions", type=int, default=256, help="sessions open at once")
    serve.add_argument(
        "--session-timeout",
        type=float,
        default=600.0,
        help="idle seconds before a session ends (0: never)",
    )
    serve.add_argument(
        "--max-message-bytes", type=int, default=16 << 20, help="largest WebSocket message"
    )
    serve.add_argument(
        "--max-action-chars", type=int, default=4_000_000, help="longest action text"
    )
    serve.add_argument(
        "--tokenizer",
        default=None,
        help="a tokenizer folder or hub name: length budgets count its tokens (what the "
        "rollout driver sends), and think= follows its chat template",
    )


def _listen_flags(command: Any, port: int) -> None:
    """The flags every server of the package takes: where, who, how it stops."""
    command.add_argument("--host", default="127.0.0.1", help="address to bind")
    command.add_argument("--port", type=int, default=port, help="port (0: any free one)")
    command.add_argument(
        "--token",
        default=None,
        help="bearer token clients must send (default: the MATHATTEMPT_SERVE_TOKEN variable)",
    )
    command.add_argument(
        "--insecure", action="store_true", help="allow a non-loopback --host without a token"
    )
    command.add_argument(
        "--graceful-timeout", type=int, default=10, help="seconds a stop waits for requests"
    )
    command.add_argument("--log-level", default="warning", help="uvicorn's log level")


def _grader_parser(commands: Any) -> None:
    grader = _command(
        commands,
        "serve-grader",
        "serve the grader over HTTP (OpenRLHF's remote reward, and /grade)",
        "A stateless grading service: POST /get_reward (OpenRLHF's --reward.remote_url) and "
        "POST /grade (batches of verdicts), graded by --workers processes. --env-kwargs holds "
        "the default grading options (box, think, grade_timeout); --env is not used.",
    )
    _listen_flags(grader, 5000)
    grader.add_argument("--workers", type=int, default=2, help="grading processes")
    grader.add_argument("--reward", default="paper-single", help="the default reward scheme")
    grader.add_argument(
        "--deadline", type=float, default=60.0, help="default seconds one request may take"
    )


def _settings(args: argparse.Namespace, **more: Any) -> Any:
    import os

    from mathattempt_env.serve.server import TOKEN_VARIABLE, ServeSettings

    return ServeSettings(
        host=args.host,
        port=args.port,
        token=args.token or os.environ.get(TOKEN_VARIABLE) or None,
        insecure=args.insecure,
        graceful_timeout=args.graceful_timeout,
        log_level=args.log_level,
        **more,
    )


def _serve_grader(args: argparse.Namespace) -> int:
    from mathattempt_env.serve.grading import GradingService, build_grading_app
    from mathattempt_env.serve.server import run_app

    settings = _settings(args)  # checks the address before any worker starts
    options = {"reward": args.reward, **json_object("--env-kwargs", args.env_kwargs)}
    if args.deadline <= 0:
        raise ConfigError(f"--deadline: expected seconds > 0, got {args.deadline}")
    service = GradingService(args.workers, options, deadline=args.deadline)
    try:
        return run_app(build_grading_app(service, token=settings.token), settings)
    finally:
        service.close()


def _serve(args: argparse.Namespace) -> int:
    from mathattempt_env.envs.config import EnvConfig
    from mathattempt_env.serve.server import serve

    options = json_object("--env-kwargs", args.env_kwargs)
    local: dict[str, Any] = {}
    if args.tokenizer is not None:
        from transformers import AutoTokenizer

        from mathattempt_env.rollout.chat import measured_by

        if options.get("length_unit") == "chars":
            raise ConfigError("--tokenizer counts tokens, but --env-kwargs says length_unit chars")
        try:
            tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
        except (OSError, ValueError) as error:
            raise ConfigError(
                f"--tokenizer {args.tokenizer!r}: could not load it: {error}"
            ) from None
        options, local = measured_by(tokenizer, options)
    config = EnvConfig.parse(args.env, options, where="--env-kwargs")
    settings = _settings(
        args,
        max_sessions=args.max_sessions,
        session_timeout=args.session_timeout if args.session_timeout > 0 else None,
        max_message_bytes=args.max_message_bytes,
        max_action_chars=args.max_action_chars,
    )
    return serve(config, settings, local=local)


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
        check_env,
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
    env_kwargs = json_object("--env-kwargs", args.env_kwargs)
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
        env_backend=args.env_backend,
    )
    # Cheap checks first, so a typo is not reported after a model has loaded.
    tasks = load_datasets(config)
    if tasks:
        check_env(config, tasks[0][1])
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
    if args.command == "serve":
        return run_command("mathattempt serve", lambda: _serve(args), extra="serve")
    if args.command == "serve-grader":
        return run_command("mathattempt serve-grader", lambda: _serve_grader(args), extra="serve")

    def body() -> int:
        try:
            text, status = asyncio.run(_evaluate(args))
        except KeyboardInterrupt:
            print(
                f"mathattempt {args.command}: interrupted; finished episodes are in {args.out}, "
                "run the same command to resume",
                file=sys.stderr,
            )
            return 130
        print(text, end="")
        return status

    return run_command(f"mathattempt {args.command}", body, extra="eval")


if __name__ == "__main__":
    sys.exit(main())
