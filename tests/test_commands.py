"""Every command the README, the docs and the examples print runs as written, as a CPU allows.

The commands are read from the documents themselves: the ``bash`` blocks and inline commands
of the README and of every page in ``docs/``, the examples' docstrings and the launch scripts' usage lines. Each one is
either run here or listed in :data:`NOT_RUN` with the reason; a new command in the docs that
is neither fails :func:`test_every_documented_command_is_run_or_excused`.

Each runs in a fresh working folder that holds the repository's ``examples/`` (so relative
paths resolve as for a user in the project root), with ``MATHATTEMPT_DATA_DIR`` pointing at
``../shared/data`` instead of the Hugging Face hub, and with these stand-ins where a CPU
machine has no GPU or network:

- a tiny Qwen2 model saved to disk where a command names ``Qwen/Qwen2.5-Math-1.5B``;
- a few steps, a small batch and a short token budget, appended after the documented flags
  (argparse takes the last), so the command's own flags are still parsed and resolved;
- a local OpenAI-compatible server for ``--base-url``, and the vLLM stand-in
  (``tests/eval/vllm_standin``) for ``--backend vllm``;
- for the verl launch script, Hydra's ``--cfg job`` (compose and print the config, then
  stop) after its data preparation ran in full; for the OpenRLHF one, a ``ray`` on the
  ``PATH`` that records the job it was asked to submit.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.eval.conftest import SERVER
from tests.shared import DATA

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXAMPLES = ROOT / "examples"
REAL_MODEL = "Qwen/Qwen2.5-Math-1.5B"
FAST_TRL = ["--max-steps", "1", "--batch-size", "4", "--group-size", "2"]

pytestmark = pytest.mark.needs_shared


def _joined(lines: list[str]) -> list[str]:
    """Lines with ``\\`` continuations joined, comments and blanks dropped."""
    out: list[str] = []
    pending = ""
    for line in lines:
        line = line.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        out.append(pending + line)
        pending = ""
    return out


def _without_comment(command: str) -> str:
    return re.split(r"\s{2,}#\s", command)[0].strip()


def documented() -> list[str]:
    """Every command the README, the docs, the examples' docstrings and launch scripts print."""
    pages = [README, *sorted((ROOT / "docs").rglob("*.md"))]
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    commands: list[str] = []
    for block in re.findall(r"^```bash\n(.*?)^```$", text, re.M | re.S):
        commands += [_without_comment(c) for c in _joined(block.splitlines())]
    prose = re.sub(r"^```.*?^```$", "", text, flags=re.M | re.S)
    # A code span opens and closes with runs of as many backticks (it may hold fewer).
    for found in re.finditer(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", prose, re.S):
        span = " ".join(found.group(2).split())
        if re.match(r"(python |mathattempt |examples/\S+\.sh)", span):
            commands.append(span)
    for script in sorted(EXAMPLES.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
        lines = [line for line in doc.splitlines()]
        commands += [
            c for c in _joined(lines) if c.startswith(("python examples/", "mathattempt "))
        ]
    for script in sorted(EXAMPLES.rglob("*.sh")):
        for line in script.read_text(encoding="utf-8").splitlines():
            usage = re.match(r"#\s+(examples/\S+\.sh \S+)", line)
            if usage:
                commands.append(usage.group(1))
    return list(dict.fromkeys(c for c in commands if not c.startswith("pip ")))


#: Documented commands this test does not run, and why. (``pip install`` lines are run by CI
#: itself: it installs exactly as the README says.)
NOT_RUN = {
    "python -m pytest -q": "the test command itself: CI runs it",
    "mathattempt eval": "the command's name in prose, not a command",
    "mathattempt serve": "the command's name in prose, not a command",
    "mathattempt serve-grader": "the command's name in prose, not a command",
    "mathattempt eval --env-backend ray": "a flag named in prose; tests/serve/test_ray.py runs "
    "an evaluation with it on a Ray cluster",
    "python benchmarks/scale.py": "needs the bench extra (math-verify)",
    "python benchmarks/scale.py --batches 8": "needs the bench extra (math-verify)",
    "python -c": "the interpreter's flag in prose, not a command",
    "mathattempt eval --env ToolMath-v0": "a flag named in prose; the eval tests run the tool "
    "env (tests/eval/test_tool_eval.py)",
    "python -m experiments.replicate": "the name of the replication in prose; its three "
    "documented forms are run below",
    "python benchmarks/envs.py": "needs the bench extra (math-verify, GEM), which CI does not "
    "install; the README's tables come from it",
    "python benchmarks/grader.py": "needs the bench extra",
    "python benchmarks/grader.py --only dev": "needs the bench extra",
    "python benchmarks/multiagent.py": "needs the bench extra",
    "python benchmarks/rollout.py": "needs the bench extra",
    "python benchmarks/sandbox.py": "needs the bench extra",
    "vf-eval mathattempt-vf -m Qwen/Qwen2.5-Math-1.5B-Instruct --client.base-url "
    "http://127.0.0.1:8000/v1 -n 50 -r 4 --no-push --env.taskset.env MultiAttemptMath-v0 "
    "--env.taskset.attempts 1 5 --env.taskset.dataset math500": "needs the verifiers extra, "
    "which cannot share the dev environment: tests/verifiers/test_verifiers.py runs it as "
    "written (4 problems, a scripted server) in an environment of its own",
    "vf-validate mathattempt-vf -n 50 --runtime.type subprocess --taskset.env ToolMath-v0": (
        "needs the verifiers extra: tests/verifiers/test_verifiers.py runs it as written "
        "(4 problems) in an environment of its own"
    ),
    "python -m pytest -q mathattempt_env tests/envs tests/rewards tests/data tests/rollout "
    "tests/grading --deselect tests/grading/test_hostile.py": "a subset of the test command "
    "CI runs; its paths are checked by test_the_fast_subset_names_real_paths",
}


@dataclass
class Plan:
    """How to run one documented command here."""

    append: list[str] = field(default_factory=list)
    timeout: float = 600.0
    expect: tuple[str, ...] = ()  # lines the output must hold
    files: tuple[str, ...] = ()  # files the command must leave in the working folder
    stop_when: str | None = None  # a long run: stop it once this file exists
    serves: bool = False  # a server: once it says it is ready, SIGTERM must stop it with 0


PLANS: dict[str, Plan] = {
    "python examples/trl_multi_attempt.py": Plan(
        ["--max-steps", "2", "--batch-size", "8"],
        expect=(
            "format warm-up on 32 other problems: loss",
            "held-out, before RL (128 problems",
            "step   2  reward",
            "held-out, after RL (128 problems",
            "held-out reward change",
            "saved the trained model in runs/trl_multi_attempt/final",
        ),
        files=("runs/trl_multi_attempt/final/config.json", "runs/trl_multi_attempt/held_out.jsonl"),
    ),
    "python examples/trl_multi_attempt.py --env S2RMath-v0 --algo rloo --max-steps 5": Plan(
        FAST_TRL, expect=("RLOO on S2RMath-v0",)
    ),
    "python examples/trl_multi_attempt.py --model Qwen/Qwen2.5-Math-1.5B --dataset math_train "
    "--max-steps 1280 --batch-size 64 --group-size 8": Plan(
        [*FAST_TRL, "--max-total-tokens", "32", "--output-dir", "runs/real"],
        expect=(
            "GRPO on MultiAttemptMath-v0: 1 steps x 4 episodes (7500 problems)",
            "saved the trained model in runs/real/final",
        ),  # fmt: skip
    ),
    "python examples/trl_tool_cir.py": Plan(FAST_TRL, expect=("tool warm-up: loss",)),
    "python examples/trl_tool_cir.py --model Qwen/Qwen2.5-Math-1.5B --dataset math_train "
    "--max-steps 500 --batch-size 128 --group-size 16 --max-total-tokens 4096": Plan(
        [*FAST_TRL, "--max-total-tokens", "32", "--output-dir", "runs/real-tool"],
        expect=("GRPO on ToolMath-v0: 1 steps x 4 episodes",),
    ),
    "python examples/verl/prepare_data.py --env MultiAttemptMath-v0 --attempts 1 5 --dataset "
    "math_train --out data/mathattempt/train.parquet --max-total-tokens 3000": Plan(
        expect=("wrote 7500 rows to data/mathattempt/train.parquet",),
        files=("data/mathattempt/train.parquet",),
    ),
    "python examples/openrlhf/prepare_data.py --dataset math_train --out "
    "data/openrlhf/train.jsonl": Plan(
        expect=("wrote 7500 rows to data/openrlhf/train.jsonl",),
        files=("data/openrlhf/train.jsonl",),
    ),
    "python examples/solver_verifier.py": Plan(["--games", "4"], expect=("4 games per pairing",)),
    "python -m mathattempt_env": Plan(
        expect=tuple(
            f"== {env}"
            for env in ("SingleTurnMath-v0", "MultiAttemptMath-v0", "S2RMath-v0", "ToolMath-v0")
        )
        + ("status='ok' output='42\\n'",),
    ),  # fmt: skip
    "python -m mathattempt_env.grading": Plan(expect=("True ",)),
    'python -c "from mathattempt_env.sandbox import probe; print(sorted(probe()))"': Plan(
        expect=("'rlimits'",)
    ),
    "python -m experiments.replicate --mini": Plan(
        ["--no-progress"], timeout=900, files=("runs/replicate-mini/summary.md",)
    ),
    # The full and quick runs take 44 and 10 minutes: started as written, stopped once the
    # first model is training (settings resolved, problems written, the warm start begun).
    "python -m experiments.replicate": Plan(
        ["--no-progress"], stop_when="runs/replicate-full/seed0/warm"
    ),
    "python -m experiments.replicate --quick": Plan(
        ["--no-progress"], stop_when="runs/replicate-quick/seed0/warm"
    ),
    # The testbed's full runs take an hour or more: each is started as written and stopped
    # once its first warm start has begun (settings checked, problems written).
    "python -m experiments.replicate --preset testbed": Plan(
        ["--no-progress"], stop_when="runs/replicate-testbed/seed0/warm"
    ),
    "python -m experiments.replicate --preset testbed-quick": Plan(
        ["--no-progress"], stop_when="runs/replicate-testbed-quick/seed0/warm"
    ),
    "python -m experiments.replicate.sweep": Plan(
        ["--no-progress"],
        stop_when="runs/sweep-full/as-first-replicated--128x4--half-single-turn--u-1--5/warm",
    ),
    "python -m experiments.replicate.unlearn": Plan(
        ["--no-progress"], stop_when="runs/unlearn-full/warm"
    ),
    "python -m experiments.ablate --mini": Plan(
        ["--no-progress"],
        timeout=900,
        files=("runs/ablate-mini/summary.md",),
        expect=("Reward-scheme ablation", "Within noise:"),
    ),  # fmt: skip
    "python -m experiments.ablate": Plan(
        ["--no-progress"], stop_when="runs/ablate-paper/seed0/warm"
    ),
    "python -m experiments.ablate --quick": Plan(
        ["--no-progress"], stop_when="runs/ablate-quick/seed0/warm"
    ),
    "python -m experiments.ablate --schemes paper paper:wrong=-0.25 paper:wrong=-1 --baseline "
    "paper --out runs/ablate-wrong": Plan(
        ["--no-progress"], stop_when="runs/ablate-wrong/seed0/warm"
    ),
    "python -m experiments.ablate --schemes paper binary --out runs/ablate-mine": Plan(
        ["--no-progress"], stop_when="runs/ablate-mine/seed0/warm"
    ),
    "mathattempt --version": Plan(expect=("mathattempt 0.",)),
    "mathattempt serve --env MultiAttemptMath-v0": Plan(["--port", "0"], serves=True),
    "mathattempt serve --env MultiAttemptMath-v0 --env-kwargs '{\"attempts\": 3}'": Plan(
        ["--port", "0"], serves=True
    ),
    "mathattempt serve --env MultiAttemptMath-v0 --env-kwargs '{\"attempts\": [1, 5]}' "
    "--tokenizer Qwen/Qwen2.5-Math-1.5B": Plan(["--port", "0"], serves=True),
    "python -m mathattempt_env.serve": Plan(["--port", "0"], serves=True),
    "mathattempt serve-grader --workers 2 --port 5000": Plan(["--port", "0"], serves=True),
    "python benchmarks/serve.py": Plan(["--episodes", "30"], expect=("added by serving",)),
    "mathattempt eval --help": Plan(expect=("--data-dir",)),
    # Evaluates the main job's saved model (the plan above runs first, in the same folder).
    "mathattempt eval --model runs/trl_multi_attempt/final --dataset math500 --dataset aime24 "
    "--dataset amc23 --dataset minerva_math --dataset olympiadbench --attempts 1-7 --out "
    "runs/eval": Plan(
        ["--limit", "1", "--max-tokens", "32", "--no-progress"],
        expect=("| math500 | 1 |", "| olympiadbench | 1 |"),
        files=("runs/eval/accuracy_vs_attempts.png",),
    ),
    "mathattempt eval --backend openai --base-url http://127.0.0.1:8000/v1 --model "
    "Qwen/Qwen2.5-Math-1.5B --dataset math500 --out runs/eval-server": Plan(
        ["--limit", "2", "--max-tokens", "32", "--no-progress"],
        expect=("| math500 | 2 |",),
        files=("runs/eval-server/results.jsonl",),
    ),
    "mathattempt eval --backend vllm --model Qwen/Qwen2.5-Math-1.5B --dataset math500 --out "
    "runs/eval-vllm --compare runs/eval-server": Plan(
        ["--limit", "2", "--max-tokens", "32", "--no-progress"],
        expect=("| math500 | 2 |",),
        files=("runs/eval-vllm/accuracy_vs_attempts.png",),
    ),
}
for _config in ("multi_attempt_ppo", "multi_attempt_rloo", "s2r_rloo", "tool_cir"):
    PLANS[f"examples/verl/run.sh {_config}"] = Plan(
        ["--cfg", "job"], expect=("agent_loop_config_path",), files=("data/mathattempt",)
    )
for _algo in ("ppo", "rloo"):
    PLANS[f"examples/openrlhf/run.sh {_algo}"] = Plan(
        expect=("wrote 7500 rows to data/openrlhf/train.jsonl",),
        files=("data/openrlhf/train.jsonl", "ray-job.txt"),
    )
# The README names the launch scripts' choices together.
ALIASES = {
    "examples/verl/run.sh multi_attempt_ppo | multi_attempt_rloo | s2r_rloo": [
        f"examples/verl/run.sh {c}" for c in ("multi_attempt_ppo", "multi_attempt_rloo", "s2r_rloo")
    ],
    "examples/openrlhf/run.sh ppo | rloo": ["examples/openrlhf/run.sh ppo",
                                           "examples/openrlhf/run.sh rloo"],
}  # fmt: skip


def test_every_documented_command_is_run_or_excused() -> None:
    commands = documented()
    assert len(commands) >= 20, commands
    expanded = [part for c in commands for part in ALIASES.get(c, [c])]
    missing = [c for c in expanded if c not in PLANS and c not in NOT_RUN]
    assert not missing, f"documented but neither run nor excused: {missing}"
    stale = [c for c in PLANS if c not in expanded]
    assert not stale, f"planned but no longer documented: {stale}"


def test_the_fast_subset_names_real_paths() -> None:
    (subset,) = [c for c in NOT_RUN if c.startswith("python -m pytest -q mathattempt_env")]
    words = shlex.split(subset)[3:]
    paths = [w for w in words if not w.startswith("-")]
    assert paths and all((ROOT / p).exists() for p in paths), paths


# --- the working folder and its stand-ins -------------------------------------------------


@pytest.fixture(scope="session")
def workspace(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("user")
    (folder / "examples").symlink_to(EXAMPLES)
    (folder / "benchmarks").symlink_to(ROOT / "benchmarks")
    return folder


@pytest.fixture(scope="session")
def real_model(tmp_path_factory) -> Path:
    """The tiny model, saved where a command names the real one."""
    from experiments.tiny import tiny_qwen2

    folder = tmp_path_factory.mktemp("tiny-real")
    model, tokenizer = tiny_qwen2(seed=1)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _environment(extra_path: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["MATHATTEMPT_DATA_DIR"] = str(DATA)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    bin_dir = str(Path(sys.executable).parent)  # python, mathattempt
    env["PATH"] = os.pathsep.join(filter(None, [str(extra_path or ""), bin_dir, env["PATH"]]))
    return env


def _ray_recorder(folder: Path) -> Path:
    """A ``ray`` that records the job it was asked to submit (OpenRLHF needs GPUs)."""
    bin_dir = folder / "recorder-bin"
    bin_dir.mkdir(exist_ok=True)
    ray = bin_dir / "ray"
    ray.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"open({str(folder / 'ray-job.txt')!r}, 'w').write('\\n'.join(sys.argv[1:]))\n"
    )
    ray.chmod(0o755)
    return bin_dir


def _argv(command: str, real_model: Path, base_url: str | None) -> list[str]:
    words = shlex.split(command.replace(REAL_MODEL, str(real_model)))
    if base_url is not None:
        words = [base_url if w == "http://127.0.0.1:8000/v1" else w for w in words]
    if words[0] == "python":
        words[0] = sys.executable
    return words


def _run(argv: list[str], plan: Plan, cwd: Path, env: dict[str, str]) -> str:
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    if plan.serves:
        return _serve(process, plan)
    if plan.stop_when is None:
        try:
            out, _ = process.communicate(timeout=plan.timeout)
        finally:
            _stop(process)
        assert process.returncode == 0, f"{argv} exited {process.returncode}:\n{out[-3000:]}"
        return out
    deadline = time.monotonic() + plan.timeout
    while time.monotonic() < deadline and process.poll() is None:
        if (cwd / plan.stop_when).exists():
            time.sleep(5)  # the first stage runs
            break
        time.sleep(0.5)
    running = process.poll() is None
    _stop(process)
    out = process.stdout.read() if process.stdout else ""
    assert running and (cwd / plan.stop_when).exists(), f"{argv} did not start:\n{out[-3000:]}"
    return out


def _serve(process: subprocess.Popen[Any], plan: Plan) -> str:
    """Wait (bounded) for the server's ready line, then stop it with SIGTERM: exit 0."""
    import select

    said = []
    deadline = time.monotonic() + plan.timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            ready, _, _ = select.select([process.stdout], [], [], 0.5)
            if ready:
                said.append(process.stdout.readline() if process.stdout else "")
                if "ready on http://127.0.0.1:" in said[-1]:
                    process.send_signal(signal.SIGTERM)
                    process.wait(30)
                    break
    finally:
        _stop(process)
    out = "".join(said) + (process.stdout.read() if process.stdout else "")
    assert process.returncode == 0 and "ready on" in out, f"exited {process.returncode}:\n{out}"
    return out


def _stop(process: subprocess.Popen[Any]) -> None:
    """End the command and everything it started, by its process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.parametrize("command", list(PLANS))
def test_documented_command_runs(command: str, workspace: Path, real_model: Path) -> None:
    if command.startswith("mathattempt eval --model runs/trl_multi_attempt/final"):
        main_job = workspace / "runs" / "trl_multi_attempt" / "final"
        if not main_job.exists():
            _run_plan("python examples/trl_multi_attempt.py", workspace, real_model)
    if command.startswith("examples/") and shutil.which("bash") is None:
        pytest.skip("the launch scripts are bash scripts")
    if "--compare runs/eval-server" in command and not (workspace / "runs/eval-server").exists():
        _run_plan(
            "mathattempt eval --backend openai --base-url http://127.0.0.1:8000/v1 --model "
            "Qwen/Qwen2.5-Math-1.5B --dataset math500 --out runs/eval-server",
            workspace,
            real_model,
        )
    _run_plan(command, workspace, real_model)


def _run_plan(command: str, workspace: Path, real_model: Path) -> None:
    plan = PLANS[command]
    env = _environment()
    base_url = None
    server = None
    if "--backend vllm" in command:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT / "tests/eval/vllm_standin"), env["PYTHONPATH"]]
        )
    if command.startswith("examples/openrlhf/"):
        env = _environment(_ray_recorder(workspace))
    try:
        if "--backend openai" in command:
            server = subprocess.Popen(
                [sys.executable, str(SERVER), "--model", str(real_model)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip
            line = server.stdout.readline() if server.stdout else ""
            assert line.startswith("READY "), line
            base_url = f"http://127.0.0.1:{int(line.split()[1])}/v1"
        argv = [*_argv(command, real_model, base_url), *plan.append]
        out = _run(argv, plan, workspace, env)
    finally:
        if server is not None:
            server.kill()
            server.wait()
    for expected in plan.expect:
        assert expected in out, f"{command}: {expected!r} not in:\n{out[-3000:]}"
    for name in plan.files:
        assert (workspace / name).exists(), f"{command}: no {name}"
    if command.startswith("examples/openrlhf/"):
        job = " ".join((workspace / "ray-job.txt").read_text().split("\n"))
        estimator = "gae" if command.endswith("ppo") else "rloo"
        assert "openrlhf.cli.train_ppo_ray" in job and "--train.agent_func_path" in job, job
        assert f"--algo.advantage.estimator {estimator}" in job, job
