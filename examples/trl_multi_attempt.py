"""Train on MultiAttemptMath-v0 (or any of our envs) with TRL: GRPO or RLOO, on CPU or GPU.

Default (offline, a few minutes on a laptop CPU): builds a tiny Qwen2-architecture model and a
byte-level BPE tokenizer with Qwen2.5's chat markup, teaches it the boxed-answer format with a
short supervised warm-up, then runs a few RL steps on built-in problems and prints the reward
per step and the accuracy by attempt.

    python examples/trl_multi_attempt.py
    python examples/trl_multi_attempt.py --env S2RMath-v0 --algo rloo --max-steps 5

The real run (a GPU; the model and the MATH train set come from the Hugging Face hub; the
paper's settings: attempts U{1..5}, 3,000 model tokens per episode, temperature 1.0, KL 0.01,
lr 5e-7):

    python examples/trl_multi_attempt.py --model Qwen/Qwen2.5-Math-1.5B --dataset hendrycks_math \\
        --max-steps 1280 --batch-size 64 --group-size 8

``--algo rloo`` is multi-turn RLOO as TRL supports it: GRPOTrainer with this package's
rollout function and ``scale_rewards="none"`` (advantage ``r - mean(r)``, the leave-one-out
advantage times ``(G-1)/G``). For the single-turn env it uses TRL's own ``RLOOTrainer``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="MultiAttemptMath-v0")
    parser.add_argument("--algo", choices=("grpo", "rloo"), default="grpo")
    parser.add_argument("--model", default=None, help="a local path or hub id (default: tiny)")
    parser.add_argument("--dataset", default=None, help="default: built-in problems")
    parser.add_argument("--max-steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=16, help="episodes per step")
    parser.add_argument("--group-size", type=int, default=4, help="episodes per problem")
    parser.add_argument("--max-total-tokens", type=int, default=None)
    parser.add_argument("--output-dir", default="runs/trl_multi_attempt")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def load(args: argparse.Namespace):
    """The model, tokenizer, problems and settings: tiny and local, or a real checkpoint."""
    from mathattempt_env.data import load_problems
    from mathattempt_env.data.builtin import BuiltinProblems

    if args.model is None:
        from mathattempt_env.rollout.tiny import teach_format, tiny_qwen2

        # Easy built-in problems (small remainders), so a tiny model is sometimes right.
        problems = list(BuiltinProblems(args.seed, size=64, levels=(1,), families=("remainder",)))
        model, tokenizer = tiny_qwen2(seed=args.seed)
        started = time.perf_counter()
        losses = teach_format(model, tokenizer, problems[:32], steps=60)
        print(
            f"format warm-up: loss {losses[0]:.2f} -> {losses[-1]:.2f} "
            f"({time.perf_counter() - started:.1f} s)"
        )
        settings = {
            "learning_rate": 1e-3,
            "beta": 0.0,
            "max_completion_length": 24,
            "temperature": 0.7,
            "max_total_tokens": args.max_total_tokens or 64,
        }
        return model, tokenizer, problems, settings
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.model, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype="auto")
    problems = load_problems(args.dataset or "builtin")
    settings = {
        "learning_rate": 5e-7,
        "beta": 0.01,
        "max_completion_length": 3000,
        "temperature": 1.0,
        "max_total_tokens": args.max_total_tokens or 3000,
    }
    return model, tokenizer, problems, settings


def main() -> None:
    args = parse_args()
    import torch
    from transformers import PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer

    from mathattempt_env.adapters.trl import (
        env_reward,
        make_reward_func,
        make_rollout_func,
        problem_dataset,
    )

    model, tokenizer, problems, settings = load(args)
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
            reward_funcs=[make_reward_func("paper-single")],
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

    episodes = []

    class Report(TrainerCallback):
        def on_log(self, _args, state, control, logs=None, **kwargs):
            if logs and "reward" in logs:
                batch = rollout.last_episodes if rollout is not None else []
                episodes.extend(batch)
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
    if episodes:
        # accuracy@k: solved within k attempts (episodes stop at the first correct attempt)
        budget = max(e.info.get("attempts", e.attempts) for e in episodes)
        by_k = defaultdict(int)
        for episode in episodes:
            if episode.correct:
                by_k[episode.attempts] += 1
        line, running = [], 0
        for k in range(1, budget + 1):
            running += by_k[k]
            line.append(f"k={k}: {100 * running / len(episodes):.1f}%")
        print(f"accuracy by attempt over {len(episodes)} training episodes: " + ", ".join(line))


if __name__ == "__main__":
    main()
