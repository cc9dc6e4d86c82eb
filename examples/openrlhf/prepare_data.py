"""Write a JSONL prompt file for OpenRLHF: one row per problem, ``problem`` and ``answer``.

    python examples/openrlhf/prepare_data.py --dataset math_train \\
        --out data/openrlhf/train.jsonl

The agent module poses each row's ``problem`` (``--data.input_key problem``) with the gold
``answer`` (``--data.label_key answer``); do not pass ``--data.apply_chat_template``: the agent
templates the environment's own opening.
"""

from __future__ import annotations

import json
import os
import sys

from mathattempt_env.cli import run_command, strict_parser
from mathattempt_env.data import load_problems


def main() -> int:
    parser = strict_parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="builtin")
    parser.add_argument("--data-dir", default=None, help="a folder with the datasets' JSONL files")
    parser.add_argument("--out", required=True)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    problems = load_problems(args.dataset, data_dir=args.data_dir)
    count = len(problems) if args.limit is None else min(args.limit, len(problems))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as out:
        for problem in problems[:count]:
            row = {"id": problem.id, "problem": problem.problem, "answer": problem.answer}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {count} rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("examples/openrlhf/prepare_data.py", main, extra="openrlhf"))
