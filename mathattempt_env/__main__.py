"""Play scripted episodes of every environment on the built-in problems, offline.

Run ``python -m mathattempt_env``. The scripted policy answers wrongly first and then gives
the gold answer, so each environment's feedback, rewards and episode end are shown; in
``ToolMath-v0`` it first runs a line of Python in the sandbox and reads the output.
"""

from __future__ import annotations

import gymnasium as gym

import mathattempt_env
from mathattempt_env.envs import surface

SCRIPTS = {
    "SingleTurnMath-v0": ["wrong"],
    "MultiAttemptMath-v0": ["nobox", "wrong", "right"],
    "S2RMath-v0": ["trajectory"],
    "ToolMath-v0": ["code", "right"],
}


def _say(kind: str, gold: str) -> str:
    if kind == "nobox":
        return "I think the answer is 7."
    if kind == "wrong":
        return r"Let me compute. The answer is $\boxed{-9999}$."
    if kind == "code":  # the sandbox runs it and the output block is the next observation
        return "Let me compute it.\n```python\nprint(6 * 7)\n```\n```output"
    if kind == "right":
        return rf"Let me compute again. The answer is $\boxed{{{gold}}}$."
    return (
        r"The answer is $\boxed{-9999}$."
        "\n\nWait, let me recheck my solution.\n\n"
        "That is wrong. Therefore, the answer is incorrect."
        f"\n\nLet me try again.\n\nThe answer is $\\boxed{{{gold}}}$."
        "\n\nWait, let me recheck my solution.\n\nIt checks out. Therefore, the answer is correct."
    )


def main() -> None:
    """Print one scripted episode per registered environment."""
    print(
        f"mathattempt_env {mathattempt_env.__version__}: scripted episodes on built-in problems\n"
    )
    for env_id, script in SCRIPTS.items():
        env = gym.make(env_id)
        obs, info = env.reset(seed=0, options={"index": 1})
        unwrapped = surface(env)
        print(f"== {env_id} (reward scheme {unwrapped.reward_scheme.name!r})")
        print(f"observation: {obs!r}")
        for kind in script:
            action = _say(kind, unwrapped.problem.answer)
            obs, reward, terminated, truncated, info = env.step(action)
            if info["kind"] == "tool":
                tool = info["tool"]
                print(
                    f"  step: tool call, status={tool['status']!r} output={tool['output']!r} "
                    f"layers={'+'.join(tool['layers'])} reward={reward} terminated={terminated}"
                )
            else:
                grade = info["grade"]
                print(
                    f"  step: extracted={grade.extracted!r} correct={grade.correct} "
                    f"reward={reward} terminated={terminated} truncated={truncated}"
                )
            if obs:
                print(f"  observation: {obs!r}")
            if info["kind"] == "trajectory":  # S²R: each action of the generation
                for a in info["actions"]:
                    print(f"    {a['type']:6s} reward={a['reward']:+.0f} context={a['context']!r}")
            if terminated or truncated:
                break
        print()


if __name__ == "__main__":
    main()
