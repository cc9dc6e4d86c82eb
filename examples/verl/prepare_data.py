"""Write verl parquet files for our environments (the agent loop reads its settings from them).

python examples/verl/prepare_data.py --env MultiAttemptMath-v0 --attempts 1 5 \\
        --dataset hendrycks_math --out data/mathattempt/train.parquet --max-total-tokens 3000
"""

from __future__ import annotations

import argparse
import json
import os

from mathattempt_env.adapters.verl import export_parquet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="MultiAttemptMath-v0")
    parser.add_argument("--dataset", default="builtin")
    parser.add_argument("--out", required=True)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--attempts", type=int, nargs=2, default=None, metavar=("MIN", "MAX"))
    parser.add_argument("--max-total-tokens", type=int, default=3000)
    parser.add_argument("--env-kwargs", default="{}", help="more env arguments, as JSON")
    args = parser.parse_args()
    env_kwargs = json.loads(args.env_kwargs)
    if args.attempts is not None:
        env_kwargs["attempts"] = list(args.attempts)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    count = export_parquet(
        args.out,
        args.dataset,
        env_id=args.env,
        limit=args.limit,
        max_total_tokens=args.max_total_tokens,
        **env_kwargs,
    )
    print(f"wrote {count} rows to {args.out}")


if __name__ == "__main__":
    main()
