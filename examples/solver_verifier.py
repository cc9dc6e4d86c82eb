"""Two scripted policies play the PettingZoo solver-verifier game on built-in problems.

The solver works out remainder problems ("What is the remainder when $7^{28}$ is divided by
$10$?") but slips on its first attempt. The careful verifier recomputes the remainder and
explains what it found; the lazy verifier accepts everything. Neither policy sees the gold
answer: each reads only its own view of the game, as a language model would.

Run: python examples/solver_verifier.py [--games N] [--seed S]
Needs the pettingzoo extra: pip install -e ".[pettingzoo]" (in the source folder)
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable

from mathattempt_env.data import load_problems
from mathattempt_env.multiagent import solver_verifier_v0

Policy = Callable[[list[dict[str, str]]], str]
QUESTION = re.compile(r"remainder when \$(\d+)(?:\^\{(\d+)\})?\$ is divided by \$(\d+)\$")
BOXED = re.compile(r"\\boxed\{([^{}]*)\}")


def remainder(text: str) -> tuple[str, int, int]:
    """The problem's expression, modulus and true remainder, worked out from the question."""
    match = QUESTION.search(text)
    assert match, "the example only plays remainder problems"
    base, power, modulus = int(match[1]), int(match[2] or 1), int(match[3])
    shown = f"{base}^{{{power}}}" if match[2] else str(base)
    return shown, modulus, pow(base, power, modulus)


def slipping_solver(view: list[dict[str, str]]) -> str:
    """Right from the second attempt on; off by one on the first."""
    shown, modulus, value = remainder(view[1]["content"])  # the user turn holds the question
    attempt = 1 + sum(turn["role"] == "assistant" for turn in view)
    answer = value if attempt > 1 else (value + 1) % modulus
    return f"Reducing ${shown}$ modulo {modulus} step by step gives \\boxed{{{answer}}}."


def careful_verifier(view: list[dict[str, str]]) -> str:
    """Recompute the remainder; accept only a boxed answer equal to it."""
    question = next(t["content"] for t in view if "Problem:" in t["content"])
    shown, _, value = remainder(question)
    boxed = BOXED.findall(view[-1]["content"])
    if boxed and boxed[-1].strip() == str(value):
        return f"I also get {value} for ${shown}$. Therefore, the answer is correct."
    claimed = boxed[-1] if boxed else "no boxed answer"
    return (
        f"I get {value} for ${shown}$, not {claimed}. Recheck the last reduction step. "
        "Therefore, the answer is incorrect."
    )


def lazy_verifier(view: list[dict[str, str]]) -> str:
    """Accept everything without looking."""
    return "Looks fine to me. Therefore, the answer is correct."


def play(solver: Policy, verifier: Policy, index: int, seed: int, show: bool = False) -> dict:
    """One game through the AEC API; returns each agent's total reward and the final info."""
    game = solver_verifier_v0.env(attempts=3)
    game.reset(seed=seed, options={"index": index})
    policies = {"solver_0": solver, "verifier_0": verifier}
    totals = {"solver_0": 0.0, "verifier_0": 0.0}
    info: dict = {}
    for agent in game.agent_iter():
        observation, reward, terminated, truncated, info = game.last()
        totals[agent] += reward
        if show and not (terminated or truncated):
            print(f"--- {agent} sees ---\n{observation}\n")
        action = None if terminated or truncated else policies[agent](info["messages"])
        if show and action is not None:
            print(f"--- {agent} says ---\n{action}\n")
        game.step(action)
    if show:
        print(f"Game over ({info['end_reason']}); rewards: {totals}")
    return {"totals": totals, "info": info}


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    indices = [i for i, p in enumerate(load_problems("builtin")) if p.subject == "remainder"]

    print("One game, solver vs careful verifier:\n")
    play(slipping_solver, careful_verifier, indices[0], args.seed, show=True)

    print(f"\n{args.games} games per pairing:\n")
    print("| verifier | solver reward | verifier reward | final answer right | attempts used |")
    print("|---|---|---|---|---|")
    for name, verifier in (("careful", careful_verifier), ("lazy", lazy_verifier)):
        games = [
            play(slipping_solver, verifier, index, args.seed + n)
            for n, index in enumerate(indices[: args.games])
        ]
        solver = sum(g["totals"]["solver_0"] for g in games) / len(games)
        judge = sum(g["totals"]["verifier_0"] for g in games) / len(games)
        right = sum(g["info"]["correct"] for g in games) / len(games)
        used = sum(g["info"]["attempt"] for g in games) / len(games)
        print(f"| {name} | {solver:+.2f} | {judge:+.2f} | {right:.0%} | {used:.1f} |")


if __name__ == "__main__":
    main()
