import subprocess
import sys

HEAVY = ["torch", "transformers", "trl", "verl", "openrlhf", "pettingzoo", "datasets",
         "matplotlib", "sympy", "latex2sympy2_extended", "antlr4", "openenv", "fastapi",
         "uvicorn", "websockets"]  # fmt: skip


def test_import_is_light() -> None:
    code = (
        "import sys, mathattempt_env, mathattempt_env.grading, mathattempt_env.rollout,"
        " mathattempt_env.rollout.batching, mathattempt_env.adapters;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_making_every_env_stays_light() -> None:
    code = (
        "import sys, gymnasium as gym, mathattempt_env\n"
        "for env_id in mathattempt_env.ENV_IDS:\n"
        "    env = gym.make(env_id); env.reset(seed=0); env.step('\\\\boxed{1}')\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_on_an_env_works_right_after_import() -> None:
    code = (
        "import pydoc, mathattempt_env\n"
        "print(pydoc.render_doc(mathattempt_env.envs.MultiAttemptMathEnv).splitlines()[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "MultiAttemptMathEnv" in out.stdout


def test_the_command_has_a_version_and_its_help_shows_defaults() -> None:
    cli = [sys.executable, "-m", "mathattempt_env.cli"]
    version = subprocess.run([*cli, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("mathattempt ")
    usage = subprocess.run([*cli, "eval", "--help"], capture_output=True, text=True, check=True)
    text = " ".join(usage.stdout.split())
    assert "(default: 1-7)" in text and "(default: 8000)" in text
