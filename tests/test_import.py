import subprocess
import sys

HEAVY = ["torch", "transformers", "trl", "verl", "openrlhf", "pettingzoo", "datasets",
         "matplotlib", "sympy", "latex2sympy2_extended", "antlr4"]  # fmt: skip


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
