#!/usr/bin/env bash
# Train Qwen2.5-Math-1.5B with verl on our environments; needs GPUs, vLLM and
# `pip install "mathattempt-env[verl]"`. Usage:
#   examples/verl/run.sh multi_attempt_ppo   # PPO (GAE + critic) on MultiAttemptMath-v0
#   examples/verl/run.sh multi_attempt_rloo  # RLOO on MultiAttemptMath-v0
#   examples/verl/run.sh s2r_rloo            # RLOO on S2RMath-v0 (trajectory mode)
#   examples/verl/run.sh tool_cir            # CIR-style: REINFORCE++ on ToolMath-v0 (Python tool)
# Further arguments are Hydra overrides. The settings are in the YAML files beside this script.
# TRAIN_DATASET and VAL_DATASET name the datasets (math_train, math500); MATHATTEMPT_DATA_DIR
# reads their JSONL files from a folder instead of the Hugging Face hub.
set -euo pipefail
CONFIG=${1:?usage: run.sh multi_attempt_ppo|multi_attempt_rloo|s2r_rloo|tool_cir [overrides...]}
shift
cd "$(dirname "$0")/../.."
case "$CONFIG" in
    s2r_*) ENV=S2RMath-v0; PREFIX=s2r_; DATA_ARGS=(--max-total-tokens 8000) ;;
    tool_*) ENV=ToolMath-v0; PREFIX=tool_; DATA_ARGS=(--max-total-tokens 4096
        --env-kwargs '{"reward": "plus-minus-one", "tool_options": {"max_calls": 2}}') ;;
    *) ENV=MultiAttemptMath-v0; PREFIX=; DATA_ARGS=(--attempts 1 5 --max-total-tokens 3000) ;;
esac
python examples/verl/prepare_data.py --env "$ENV" "${DATA_ARGS[@]}" \
    --dataset "${TRAIN_DATASET:-math_train}" --out "data/mathattempt/${PREFIX}train.parquet"
python examples/verl/prepare_data.py --env "$ENV" "${DATA_ARGS[@]}" \
    --dataset "${VAL_DATASET:-math500}" --out "data/mathattempt/${PREFIX}val.parquet"
python -m verl.trainer.main_ppo --config-path "$PWD/examples/verl" --config-name "$CONFIG" "$@"
