"""Every command refuses abbreviated flags and reports a mistake in one line, exit status 2.

Run as a user runs them (subprocesses, from the project root), each with a bounded time: a
mistake must be reported before any model is built or loaded.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.shared import DATA

ROOT = Path(__file__).resolve().parents[1]
MAIN_JOB = [sys.executable, "examples/trl_multi_attempt.py"]
EVAL = [sys.executable, "-m", "mathattempt_env.cli", "eval"]
REPLICATE = [sys.executable, "-m", "experiments.replicate"]


def _run(argv: list[str], limit: float = 60.0) -> tuple[int, str, str, float]:
    started = time.monotonic()
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=limit + 60, check=False
    )
    return done.returncode, done.stdout, done.stderr.strip(), time.monotonic() - started


@pytest.mark.parametrize(
    "argv",
    [
        [*MAIN_JOB, "--max-step", "3"],
        [*MAIN_JOB, "--seed", "3"],  # --seed exists: the full name is fine...
        [sys.executable, "examples/trl_tool_cir.py", "--max-step", "3"],
        [*EVAL, "--attempt", "3", "--dataset", "math500", "--model", "m", "--out", "o"],
        [*REPLICATE, "--seed", "3"],  # ...but here it would have been --seeds
        [sys.executable, "examples/verl/prepare_data.py", "--out", "x.parquet", "--limi", "3"],
        [sys.executable, "examples/openrlhf/prepare_data.py", "--out", "x.jsonl", "--limi", "3"],
        [sys.executable, "examples/solver_verifier.py", "--game", "3"],
        [sys.executable, "-m", "mathattempt_env.grading", "--boxed", "1", "1"],
    ],
    ids=lambda argv: " ".join(Path(a).name for a in argv[1:4]),
)
def test_abbreviated_flags_are_refused(argv: list[str]) -> None:
    if argv[:2] == MAIN_JOB and argv[2] == "--seed":
        argv = [*argv, "--max-step", "1"]  # the abbreviation is the second flag
    status, out, err, _ = _run(argv)
    assert status == 2, (status, out[-500:], err)
    assert "unrecognized arguments" in err and "usage:" in err, err
    assert "format warm-up" not in out  # nothing started


def test_every_argument_parser_in_the_project_refuses_abbreviations() -> None:
    """Parsers made by hand anywhere (a new benchmark, example or command) must too."""
    loose = []
    for path, node, name in _parser_calls():
        if name not in ("ArgumentParser", "add_parser"):
            continue
        if path.name == "cli.py" and name == "ArgumentParser":
            continue  # strict_parser itself, which sets it
        strict = any(
            k.arg == "allow_abbrev" and isinstance(k.value, ast.Constant) and not k.value.value
            for k in node.keywords
        )
        if not strict:
            loose.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not loose, loose


def _parser_calls() -> list[tuple[Path, ast.Call, str]]:
    """Every call in the project's commands, with the name it calls."""
    calls = []
    for path in [*ROOT.glob("mathattempt_env/**/*.py"), *ROOT.glob("examples/**/*.py"),
                 *ROOT.glob("benchmarks/*.py"), *ROOT.glob("experiments/**/*.py")]:  # fmt: skip
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                calls.append((path, node, getattr(node.func, "attr", getattr(node.func, "id", ""))))
    return calls


def test_no_description_shows_a_doubled_percent_sign() -> None:
    """argparse %-formats ``help`` strings but prints ``description`` and ``epilog`` as written.

    So a ``95%%`` there reaches the user as ``95%%``.
    """
    doubled = []
    for path, node, _ in _parser_calls():
        for keyword in node.keywords:
            if keyword.arg in ("description", "epilog"):
                text = "".join(
                    part.value
                    for part in ast.walk(keyword.value)
                    if isinstance(part, ast.Constant) and isinstance(part.value, str)
                )
                if "%%" in text:
                    doubled.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not doubled, doubled


# An eval of math500 from the shared folder, with a model that is never reached.
EVAL_MATH500 = ["--dataset", "math500", "--data-dir", str(DATA), "--model", "nowhere", "--out", "o"]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([*MAIN_JOB, "--env", "MultiAtemptMath-v0"], "did you mean 'MultiAttemptMath-v0'?"),
        (
            [*EVAL, "--env", "MultiAtemptMath-v0", *EVAL_MATH500],
            "--env: unknown env id 'MultiAtemptMath-v0'; did you mean 'MultiAttemptMath-v0'?",
        ),
        (
            [*EVAL, "--env-kwargs", '{"attempt": 3}', *EVAL_MATH500],
            "--env-kwargs: unknown MultiAttemptMath-v0 option 'attempt'; did you mean 'attempts'?",
        ),
        ([*EVAL, "--env-kwargs", "attempts=3", *EVAL_MATH500], "--env-kwargs: not JSON"),
        ([*MAIN_JOB, "--dataset", "hendrycks_math", "--model", "nowhere"], "unknown dataset"),
        ([*MAIN_JOB, "--model", "{empty}"], "could not load it"),
    ],
    ids=["main job env", "eval env", "eval option", "eval json", "main job dataset",
         "main job model"],
)  # fmt: skip
def test_a_mistake_is_one_line_before_any_model_loads(
    argv: list[str], needle: str, tmp_path: Path
) -> None:
    status, out, err, elapsed = _run([a.replace("{empty}", str(tmp_path)) for a in argv])
    assert status == 2, (status, out[-500:], err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert needle in err, err
    assert "format warm-up" not in out


_WITHOUT = (
    "import runpy, sys; sys.modules[{module!r}] = None; sys.argv = {argv!r}; "
    "runpy.run_{kind}({target!r}, run_name='__main__')"
)


@pytest.mark.parametrize(
    ("module", "argv", "extra"),
    [
        ("torch", ["examples/trl_multi_attempt.py", "--max-steps", "1"], "trl"),
        ("trl", ["examples/trl_multi_attempt.py", "--max-steps", "1"], "trl"),
        ("torch", ["experiments.replicate", "--mini", "--out", "{tmp}/r"], "eval"),
        (
            "torch",
            [
                "mathattempt_env.cli",
                "eval",
                "--dataset",
                "math500",
                "--data-dir",
                str(DATA),
                "--model",
                "{model}",
                "--out",
                "{tmp}/e",
                "--limit",
                "1",
            ],
            "eval",
        ),
    ],  # fmt: skip
    ids=["main job without torch", "main job without trl", "replicate", "eval hf"],
)
def test_a_missing_extra_is_one_line_naming_it(
    module: str, argv: list[str], extra: str, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    argv = [a.format(tmp=tmp_path, model=model) for a in argv]
    kind, target = ("path", argv[0]) if argv[0].endswith(".py") else ("module", argv[0])
    code = _WITHOUT.format(module=module, argv=argv, kind=kind, target=target)
    status, out, err, _ = _run([sys.executable, "-c", code])
    assert status == 2, (status, out[-500:], err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert f"needs the {extra!r} extra (no module named {module!r})" in err, err
    assert f'pip install -e ".[{extra}]"' in err
