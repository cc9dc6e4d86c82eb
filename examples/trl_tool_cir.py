"""CIR-style RL with a Python tool in TRL: GRPO on ToolMath-v0, tool output masked, +1/-1.

Default (offline, a few CPU minutes): a tiny Qwen2-architecture model is warm-started on
traces that call the tool for built-in remainder problems (write ``print(a % b)``, read the
output block, box the result), then trained with GRPO through this package's rollout
function: generation stops at ```` ```output ````, the sandbox runs the code, its output is
appended as masked environment tokens, and the model goes on in the same turn. Each step
prints the reward, tool calls per episode, the share of failed calls and the solved count.

    python examples/trl_tool_cir.py

The real run (GPUs; the model and data from the Hugging Face hub), with the settings of
CIR (RUC AI Box's RL follow-up of STILL-3) that our sources give: 16 rollouts per problem,
4,096 response tokens, tool output masked, +1/-1 on the answer, a budget of 2 calls:

    python examples/trl_tool_cir.py --model Qwen/Qwen2.5-Math-1.5B --dataset math_train \\
        --max-steps 500 --batch-size 128 --group-size 16 --max-total-tokens 4096

Where this differs from CIR, and why: CIR trains in verl with a REINFORCE++ baseline; TRL
has GRPO, used here with its group baseline (``--scale none`` gives r - mean(r)). CIR raises
the call budget during training; here it is fixed per run (``--max-tool-calls``). The
learning rate (1e-6) and no KL term are our choices: our sources do not give CIR's. The same
run in verl: ``examples/verl/run.sh tool_cir``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

from mathattempt_env.cli import load_model, run_command, strict_parser

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
ENV = "ToolMath-v0"

ROOT = Path(__file__).resolve().parents[1]  # the repository


def parse_args() -> argparse.Namespace:
    parser = strict_parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a local path or hub id (default: tiny)")
    parser.add_argument("--dataset", default=None, help="default: built-in problems")
    parser.add_argument("--data-dir", default=None, help="a folder with the datasets' JSONL files")
    parser.add_argument("--max-steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=16, help="episodes per step")
    parser.add_argument("--group-size", type=int, default=8, help="episodes per problem")
    parser.add_argument("--max-total-tokens", type=int, default=None)
    parser.add_argument("--max-tool-calls", type=int, default=2)
    parser.add_argument("--scale", choices=("group", "none"), default="group")
    parser.add_argument("--output-dir", default="runs/trl_tool_cir")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def tool_trace(problem) -> str:
    """A worked trace for a built-in remainder problem that computes the answer with code."""
    a, b = re.findall(r"\$(\d+)\$", problem.problem)[:2]
    return (
        f"```python\nprint({a} % {b})\n```\n```output\n{problem.answer}\n```\n"
        f"The answer is \\boxed{{{problem.answer}}}."
    )


def load(args: argparse.Namespace):
    """The model, tokenizer, problems and settings: tiny and local, or a real checkpoint."""
    from mathattempt_env.data import load_problems

    if args.model is None:
        from mathattempt_env.data.builtin import BuiltinProblems
        from mathattempt_env.prompts.tools import TOOL_PROMPTS

        sys.path.insert(0, str(ROOT))  # the repository's experiments/ (not installed)
        from experiments.tiny import teach_format, tiny_qwen2

        problems = list(BuiltinProblems(args.seed, size=64, levels=(1,), families=("remainder",)))
        model, tokenizer = tiny_qwen2(seed=args.seed)
        started = time.perf_counter()
        losses = teach_format(
            model, tokenizer, problems[:32], steps=80,
            messages=lambda p: TOOL_PROMPTS["tir"].messages(p.problem), answer=tool_trace,
        )  # fmt: skip
        print(
            f"tool warm-up: loss {losses[0]:.2f} -> {losses[-1]:.2f} "
            f"({time.perf_counter() - started:.1f} s)"
        )
        settings = {"learning_rate": 1e-4, "max_completion_length": 96, "temperature": 1.0}
        return model, tokenizer, problems, settings, args.max_total_tokens or 96
    problems = load_problems(args.dataset or "builtin", data_dir=args.data_dir)
    model, tokenizer = load_model(args.model)
    settings = {"learning_rate": 1e-6, "max_completion_length": 4096, "temperature": 1.0}
    return model, tokenizer, problems, settings, args.max_total_tokens or 4096


def main() -> int:
    args = parse_args()
    import torch
    from transformers import PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from mathattempt_env.adapters.trl import env_reward, make_rollout_func, problem_dataset
    from mathattempt_env.sandbox import shared_sandbox

    model, tokenizer, problems, settings, budget = load(args)
    env_kwargs = {
        "dataset": problems,
        "reward": "plus-minus-one",
        "tool_options": {"max_calls": args.max_tool_calls},
    }
    rollout = make_rollout_func(ENV, max_total_tokens=budget, seed=args.seed, **env_kwargs)
    config = GRPOConfig(
        output_dir=args.output_dir,
        per_device_train_batch_size=args.batch_size,
        num_generations=args.group_size,
        max_steps=args.max_steps,
        beta=0.0,
        scale_rewards=args.scale,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=args.seed,
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        bf16=torch.cuda.is_available(),
        gradient_checkpointing=args.model is not None,
        **settings,
    )
    model.config.use_cache = args.model is None
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[env_reward],
        args=config,
        train_dataset=problem_dataset(ENV, **env_kwargs),
        processing_class=tokenizer,
        rollout_func=rollout,
    )

    class Report(TrainerCallback):
        def on_log(self, _args, state, control, logs=None, **kwargs):
            batch = rollout.last_episodes
            if not (logs and "reward" in logs and batch):
                return
            made = sum(r.tool_calls for e in batch for r in e.info["records"])
            failed = sum(r.tool_failed for e in batch for r in e.info["records"])
            solved = sum(e.correct for e in batch)
            print(
                f"step {state.global_step:3d}  reward {logs['reward']:+.3f}  "
                f"tool calls/episode {made / len(batch):.2f}  last call failed {failed}  "
                f"solved {solved}/{len(batch)}  "
                f"sandbox errors so far {shared_sandbox().infrastructure_errors}"
            )

    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(Report())
    print(f"GRPO on {ENV}: {args.max_steps} steps x {args.batch_size} episodes, +1/-1 reward")
    started = time.perf_counter()
    trainer.train()
    print(f"trained in {time.perf_counter() - started:.1f} s")
    final = os.path.join(args.output_dir, "final")
    trainer.save_model(final)
    tokenizer.save_pretrained(final)
    print(f"saved the trained model in {final}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("examples/trl_tool_cir.py", main, extra="trl"))
