"""Write verl parquet files for our environments (the agent loop reads its settings from them).

python examples/verl/prepare_data.py --env MultiAttemptMath-v0 --attempts 1 5 \\
        --dataset math_train --out data/mathattempt/train.parquet --max-total-tokens 3000
"""

from __future__ import annotations

import os
import sys

from mathattempt_env.cli import json_object, run_command, strict_parser
from mathattempt_env.data import load_problems


def main() -> int:
    parser = strict_parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="MultiAttemptMath-v0")
    parser.add_argument("--dataset", default="builtin")
    parser.add_argument("--data-dir", default=None, help="a folder with the datasets' JSONL files")
    parser.add_argument("--out", required=True)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--attempts", type=int, nargs=2, default=None, metavar=("MIN", "MAX"))
    parser.add_argument("--max-total-tokens", type=int, default=3000)
    parser.add_argument("--env-kwargs", default="{}", help="more env arguments, as JSON")
    parser.add_argument(
        "--tokenizer",
        default=None,
        help="the policy's tokenizer (a folder or hub id): think is read from its chat template",
    )
    args = parser.parse_args()
    from mathattempt_env.adapters.verl import export_parquet

    problems = load_problems(args.dataset, data_dir=args.data_dir)
    env_kwargs = json_object("--env-kwargs", args.env_kwargs)
    if args.attempts is not None:
        env_kwargs["attempts"] = list(args.attempts)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    count = export_parquet(
        args.out,
        problems,
        env_id=args.env,
        limit=args.limit,
        max_total_tokens=args.max_total_tokens,
        tokenizer=args.tokenizer,
        **env_kwargs,
    )
    print(f"wrote {count} rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("examples/verl/prepare_data.py", main, extra="verl"))
