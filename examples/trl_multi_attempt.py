"""Train on MultiAttemptMath-v0 (or any of our envs) with TRL: GRPO or RLOO, on CPU or GPU.

Default (offline, a few minutes on a laptop CPU): builds a tiny Qwen2-architecture model and a
byte-level BPE tokenizer with Qwen2.5's chat markup, teaches it the boxed-answer format with a
short supervised warm-up on other problems, then runs a few RL steps (GRPO with a KL term to
the warmed-up model) on built-in problems. It prints the reward per step and by blocks of
steps (mean ± standard error); before and after RL, the mean reward, the accuracy within k
attempts and the share of boxed answers on held-out problems, every episode with the same
budget of 3 attempts; and the held-out reward's change with its paired standard error. The
three problem sets (warm-up, RL, held-out) are disjoint, checked with ``find_overlap``.

    python examples/trl_multi_attempt.py
    python examples/trl_multi_attempt.py --env S2RMath-v0 --algo rloo --max-steps 5

The tiny run pins its CPU kernels (:data:`PINNED_KERNELS`) so that its figures are the same on
every x86-64 machine; ``--native-kernels`` trades that for speed.

The real run (a GPU; the model and the MATH train set come from the Hugging Face hub; the
paper's settings: attempts U{1..5}, 3,000 model tokens per episode, temperature 1.0, KL 0.01,
lr 5e-7):

    python examples/trl_multi_attempt.py --model Qwen/Qwen2.5-Math-1.5B --dataset math_train \\
        --max-steps 1280 --batch-size 64 --group-size 8

(``--data-dir DIR``, or ``$MATHATTEMPT_DATA_DIR``, reads ``math_train.jsonl`` from a folder
instead of the hub.) The trained model is saved in ``OUTPUT_DIR/final``, and the script prints
the ``mathattempt eval`` command that evaluates it.

``--algo rloo`` is multi-turn RLOO as TRL supports it: GRPOTrainer with this package's
rollout function and ``scale_rewards="none"`` (advantage ``r - mean(r)``, the leave-one-out
advantage times ``(G-1)/G``). For the single-turn env it uses TRL's own ``RLOOTrainer``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from mathattempt_env.cli import load_model, run_command, strict_parser

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
WARMUP_STEPS = 30  # supervised format steps before RL (tiny model only)

ROOT = Path(__file__).resolve().parents[1]  # the repository


def parse_args() -> argparse.Namespace:
    parser = strict_parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="MultiAttemptMath-v0")
    parser.add_argument("--algo", choices=("grpo", "rloo"), default="grpo")
    parser.add_argument("--model", default=None, help="a local path or hub id (default: tiny)")
    parser.add_argument("--dataset", default=None, help="default: built-in problems")
    parser.add_argument("--data-dir", default=None, help="a folder with the datasets' JSONL files")
    parser.add_argument("--max-steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32, help="episodes per step")
    parser.add_argument("--group-size", type=int, default=4, help="episodes per problem")
    parser.add_argument("--max-total-tokens", type=int, default=None)
    parser.add_argument("--output-dir", default="runs/trl_multi_attempt")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--native-kernels",
        action="store_true",
        help="tiny model: use the CPU's fastest kernels (about 1.8x faster; the numbers then "
        "depend on the CPU and the thread count)",
    )
    return parser.parse_args()


#: CPU kernel settings that make the tiny run give the same numbers on any x86-64 machine:
#: PyTorch's generic kernels, MKL's conditional-reproducibility mode and oneDNN's SSE4.1 code.
#: Measured here: identical results with AVX-512 or only AVX2 enabled, and with 1 or 2
#: threads on 1 or 2 cores; without them each of those changed the held-out figures.
PINNED_KERNELS = {
    "ATEN_CPU_CAPABILITY": "default",
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
}


def load(args: argparse.Namespace):
    """The model, tokenizer, problems and settings: tiny and local, or a real checkpoint."""
    from mathattempt_env.data import load_problems
    from mathattempt_env.data.builtin import BuiltinProblems

    if args.model is None:
        from mathattempt_env.data.validate import find_overlap

        sys.path.insert(0, str(ROOT))  # the repository's experiments/ (not installed)
        from experiments.tiny import teach_format, tiny_qwen2

        # Easy built-in problems (small remainders), so a tiny model is sometimes right. The
        # format warm-up, the RL problems and the held-out problems are three disjoint sets.
        def remainders(seed: int, size: int) -> list:
            return list(BuiltinProblems(seed, size=size, levels=(1,), families=("remainder",)))

        problems = remainders(args.seed, 64)
        warm = [p for p in remainders(args.seed + 1000, 48) if not find_overlap(problems, [p])]
        seen = problems + warm
        held_out = [p for p in remainders(args.seed + 2000, 160) if not find_overlap(seen, [p])]
        model, tokenizer = tiny_qwen2(seed=args.seed)
        started = time.perf_counter()
        # A short warm-up on purpose: about 70% of its answers are boxed, so the RL steps have
        # something to teach at this scale (box the answer, answer in range); a fully
        # warmed-up guesser leaves the reward nothing to rise to.
        losses = teach_format(model, tokenizer, warm[:32], steps=WARMUP_STEPS)
        print(
            f"format warm-up on {len(warm[:32])} other problems: loss {losses[0]:.2f} -> "
            f"{losses[-1]:.2f} ({time.perf_counter() - started:.1f} s)"
        )
        # The KL term's reference model is loaded from the warmed-up model's folder.
        folder = os.path.join(args.output_dir, "warmed-up")
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        model.config._name_or_path = folder
        settings = {
            "learning_rate": 1e-3,
            "lr_scheduler_type": "constant",
            "beta": 0.05,
            "max_completion_length": 24,
            "temperature": 0.7,
            "max_total_tokens": args.max_total_tokens or 64,
        }
        return model, tokenizer, problems, settings, held_out[:128]
    problems = load_problems(args.dataset or "builtin", data_dir=args.data_dir)
    model, tokenizer = load_model(args.model)
    settings = {
        "learning_rate": 5e-7,
        "lr_scheduler_type": "linear",
        "beta": 0.01,
        "max_completion_length": 3000,
        "temperature": 1.0,
        "max_total_tokens": args.max_total_tokens or 3000,
    }
    return model, tokenizer, problems, settings, []  # evaluate with `mathattempt eval`


def main() -> int:
    args = parse_args()
    from mathattempt_env.registration import check_env_id

    check_env_id(args.env)  # before a model is built or loaded
    if args.model is None and not args.native_kernels:
        for name, value in PINNED_KERNELS.items():  # read when torch loads them
            os.environ.setdefault(name, value)
    import torch
    from transformers import PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer

    from mathattempt_env.adapters.trl import (
        env_reward,
        make_reward_func,
        make_rollout_func,
        problem_dataset,
    )

    model, tokenizer, problems, settings, held_out = load(args)
    before = None
    if held_out:
        before = evaluate(model, tokenizer, held_out, settings["max_total_tokens"], args.seed,
                          "before RL")  # fmt: skip
    env_kwargs: dict = {"dataset": problems}
    if args.env == "MultiAttemptMath-v0":
        env_kwargs["attempts"] = (1, 5)
    dataset = problem_dataset(args.env, **env_kwargs)
    common = dict(
        output_dir=args.output_dir,
        per_device_train_batch_size=args.batch_size,
        num_generations=args.group_size,
        max_completion_length=settings["max_completion_length"],
        max_steps=args.max_steps,
        learning_rate=settings["learning_rate"],
        lr_scheduler_type=settings["lr_scheduler_type"],
        beta=settings["beta"],
        temperature=settings["temperature"],
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=args.seed,
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        bf16=torch.cuda.is_available(),
        # Checkpointing saves memory on a real model; the tiny one does not need it.
        gradient_checkpointing=args.model is not None,
    )
    model.config.use_cache = args.model is None  # no KV cache under checkpointing
    single_turn_rloo = args.algo == "rloo" and args.env == "SingleTurnMath-v0"
    rollout = None
    if single_turn_rloo:
        trainer = RLOOTrainer(
            model=model,
            reward_funcs=[make_reward_func("paper-single", tokenizer=tokenizer)],
            args=RLOOConfig(**common),
            train_dataset=dataset,
            processing_class=tokenizer,
        )
    else:
        rollout = make_rollout_func(
            args.env, max_total_tokens=settings["max_total_tokens"], seed=args.seed, **env_kwargs
        )
        scale = "none" if args.algo == "rloo" else "group"
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=[env_reward],
            args=GRPOConfig(scale_rewards=scale, **common),
            train_dataset=dataset,
            processing_class=tokenizer,
            rollout_func=rollout,
        )

    step_rewards: list[float] = []

    class Report(TrainerCallback):
        def on_log(self, _args, state, control, logs=None, **kwargs):
            if logs and "reward" in logs:
                batch = rollout.last_episodes if rollout is not None else []
                step_rewards.append(float(logs["reward"]))
                extra = ""
                if batch:
                    solved = sum(e.correct for e in batch)
                    attempts = sum(e.attempts for e in batch) / len(batch)
                    extra = f"  solved {solved}/{len(batch)}  attempts/episode {attempts:.2f}"
                print(f"step {state.global_step:3d}  reward {logs['reward']:+.3f}{extra}")

    trainer.remove_callback(PrinterCallback)  # our own one-line report instead of raw dicts
    trainer.add_callback(Report())
    print(
        f"{args.algo.upper()} on {args.env}: {args.max_steps} steps x {args.batch_size} "
        f"episodes ({len(problems)} problems)"
    )
    started = time.perf_counter()
    trainer.train()
    print(f"trained in {time.perf_counter() - started:.1f} s")
    rewards = np.array(step_rewards)
    if len(rewards) >= 12:
        size = len(rewards) // 6
        blocks = [rewards[i : i + size] for i in range(0, 6 * size, size)]
        print(
            f"training reward by blocks of {size} steps (mean ± standard error): "
            + ", ".join(f"{b.mean():+.3f} ± {b.std(ddof=1) / len(b) ** 0.5:.3f}" for b in blocks)
        )
    if held_out:
        after = evaluate(model, tokenizer, held_out, settings["max_total_tokens"], args.seed,
                         "after RL")  # fmt: skip
        change = after - before
        print(
            f"held-out reward change {change.mean():+.3f} ± "
            f"{change.std(ddof=1) / len(change) ** 0.5:.3f} (paired over the same problems and "
            "sampling seed; mean ± standard error)"
        )
    save(trainer, tokenizer, args, held_out, settings["max_total_tokens"])
    return 0


def save(trainer, tokenizer, args: argparse.Namespace, held_out, max_total_tokens: int) -> None:
    """Save the trained model and print the ``mathattempt eval`` command that evaluates it."""
    final = os.path.join(args.output_dir, "final")
    trainer.save_model(final)
    tokenizer.save_pretrained(final)
    if held_out:  # the tiny model: its own held-out problems, written where eval reads them
        data = os.path.join(args.output_dir, "held_out.jsonl")
        with open(data, "w", encoding="utf-8") as out:
            for p in held_out:
                row = {"id": p.id, "problem": p.problem, "answer": p.answer}
                out.write(json.dumps(row) + "\n")
        where = f"--dataset {data} --attempts 3 --max-tokens {max_total_tokens}"
    else:
        where = "--dataset math500 --attempts 1-5"  # add --data-dir DIR without the hub
    print(
        f"saved the trained model in {final}; evaluate it with:\n"
        f"  mathattempt eval --model {final} {where} --out {os.path.join(args.output_dir, 'eval')}"
    )


def evaluate(
    model, tokenizer, problems, max_total_tokens: int, seed: int, when: str, budget: int = 3
):
    """Held-out reward, accuracy within k attempts and boxed share, one budget for every episode.

    The same sampling seed before and after RL, so the two lines differ by the model only.
    """
    import gymnasium as gym

    from mathattempt_env.rollout import EpisodeDriver
    from mathattempt_env.rollout.hf import HFGenerator

    model.eval()
    generator = HFGenerator(model, tokenizer, temperature=0.7, seed=seed + 1)
    driver = EpisodeDriver(tokenizer, generator, max_total_tokens=max_total_tokens)
    envs = [gym.make("MultiAttemptMath-v0", dataset=problems, attempts=budget) for _ in problems]
    options = [{"index": i} for i in range(len(problems))]
    episodes = driver.run_many(envs, seeds=list(range(len(problems))), options=options)
    cells = []
    for k in range(1, budget + 1):
        solved = sum(e.correct and e.attempts <= k for e in episodes)
        cells.append(f"k={k}: {100 * solved / len(episodes):.1f}%")
    boxed = [r.grade.formatted for e in episodes for r in e.info["records"] if r.kind == "solve"]
    rewards = np.array([e.reward for e in episodes])
    print(
        f"held-out, {when} ({len(problems)} problems, {budget} attempts each): reward "
        f"{rewards.mean():+.3f} ± {rewards.std(ddof=1) / len(rewards) ** 0.5:.3f}; accuracy "
        + ", ".join(cells)
        + f"; boxed answers {100 * sum(boxed) / max(1, len(boxed)):.0f}%"
    )
    return rewards


if __name__ == "__main__":
    sys.exit(run_command("examples/trl_multi_attempt.py", main, extra="trl"))
