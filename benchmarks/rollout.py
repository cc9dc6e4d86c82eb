"""Episode-driver overhead against generation time (issue 4's target: < 2% at the 0.5B shape).

The driver's own work per episode (templating and encoding environment turns, decoding model
turns, stepping and grading in the env, S²R span mapping) is the episode's wall time minus the
time spent inside the model's ``generate``. Models are random (no hub here): the tiny test
model, and a model with Qwen2.5-0.5B's shape (896 wide, 24 layers, 14 heads / 2 KV heads, MLP
4864, vocabulary 151,936; ids beyond the local tokenizer's vocabulary are suppressed at
sampling). Generation runs batched across concurrent episodes, on this machine's CPU.

    python benchmarks/rollout.py [--quick]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import gymnasium as gym
import torch

import mathattempt_env  # noqa: F401
from mathattempt_env.data.builtin import BuiltinProblems
from mathattempt_env.rollout import EpisodeDriver
from mathattempt_env.rollout.hf import HFGenerator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's experiments/
from experiments.tiny import tiny_qwen2, tiny_tokenizer  # noqa: E402

SHAPES = {
    "tiny (64 wide, 2 layers)": dict(hidden_size=64, layers=2, heads=4, kv_heads=2),
    "Qwen2.5-0.5B shape": dict(
        hidden_size=896, layers=24, heads=14, kv_heads=2, intermediate_size=4864, vocab=151_936
    ),
}
ENVS = {
    "MultiAttemptMath-v0": {"attempts": 3},
    "S2RMath-v0": {"mode": "interactive", "attempts": 2},
}


class TimedGenerator(HFGenerator):
    """HFGenerator that adds up the time spent inside model.generate."""

    generation_s = 0.0

    def generate_batch(self, prompts, max_new_tokens):
        started = time.perf_counter()
        try:
            return super().generate_batch(prompts, max_new_tokens)
        finally:
            self.generation_s += time.perf_counter() - started


def build(shape):
    tokenizer = tiny_tokenizer()
    options = dict(shape)
    vocab = options.pop("vocab", None)
    model, tokenizer = tiny_qwen2(tokenizer, **options)
    extra = {}
    if vocab is not None:  # the real vocabulary size; sample only ids the tokenizer has
        from transformers import Qwen2ForCausalLM

        config = model.config
        config.vocab_size = vocab
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = Qwen2ForCausalLM(config)
        extra["suppress_tokens"] = list(range(len(tokenizer), vocab))
    model.eval()
    return model, tokenizer, extra


def measure(model, tokenizer, extra, env_id, env_kwargs, episodes, batch, turn_tokens):
    problems = list(BuiltinProblems(0, size=64))
    generator = TimedGenerator(model, tokenizer, seed=0, generate_kwargs=extra)
    driver = EpisodeDriver(
        tokenizer, generator, max_total_tokens=4 * turn_tokens, max_turn_tokens=turn_tokens
    )
    envs = [gym.make(env_id, dataset=problems, **env_kwargs) for _ in range(batch)]
    done, wall, tokens, turns = 0, 0.0, 0, 0
    while done < episodes:
        started = time.perf_counter()
        results = driver.run_many(envs, seeds=list(range(done, done + batch)))
        wall += time.perf_counter() - started
        done += batch
        tokens += sum(sum(e.response_mask) for e in results)
        turns += sum(len(e.turns) for e in results)
    overhead = wall - generator.generation_s
    return {
        "episodes": done,
        "turns": turns,
        "model tokens": tokens,
        "wall s": wall,
        "generate s": generator.generation_s,
        "overhead ms/episode": 1000 * overhead / done,
        "overhead %": 100 * overhead / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--quick", action="store_true", help="fewer episodes")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print(
        f"# rollout driver overhead ({platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__})\n"
    )
    print(
        "| model | env | episodes | turns | model tokens | generate s | wall s "
        "| driver ms/episode | driver share |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, shape in SHAPES.items():
        big = "vocab" in shape
        model, tokenizer, extra = build(shape)
        episodes = (8 if args.quick else 16) if big else (32 if args.quick else 128)
        for env_id, env_kwargs in ENVS.items():
            row = measure(
                model,
                tokenizer,
                extra,
                env_id,
                env_kwargs,
                episodes,
                batch=8,
                turn_tokens=32 if big else 24,
            )
            print(
                f"| {name} | {env_id} | {row['episodes']} | {row['turns']} | "
                f"{row['model tokens']} | {row['generate s']:.2f} | {row['wall s']:.2f} | "
                f"{row['overhead ms/episode']:.2f} | {row['overhead %']:.2f}% |"
            )
    print("\nTarget: driver share < 2% at the 0.5B shape.")


if __name__ == "__main__":
    main()
