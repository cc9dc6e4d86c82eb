import subprocess
import sys

HEAVY = ["torch", "transformers", "trl", "verl", "openrlhf", "pettingzoo", "datasets",
         "matplotlib", "sympy", "latex2sympy2_extended", "antlr4"]  # fmt: skip


def test_import_is_light() -> None:
    code = (
        "import sys, mathattempt_env, mathattempt_env.grading;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
