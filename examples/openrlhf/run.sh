#!/usr/bin/env bash
# Train Qwen2.5-Math-1.5B with OpenRLHF on MultiAttemptMath-v0 through its agent executor, with
# the multi-attempt paper's settings: gamma 1, lambda 0.99, KL 0.01 (k3, as a loss), actor lr
# 5e-7, critic lr 1e-5 (PPO), rollout batch 1024 episodes, train batch 128, temperature 1.0,
# attempts U{1..5}, 3,000 model tokens per episode. Needs GPUs and a full OpenRLHF install.
#   examples/openrlhf/run.sh ppo    # PPO: GAE with a critic, one episode per prompt
#   examples/openrlhf/run.sh rloo   # RLOO: 256 prompts x 4 episodes, leave-one-out baseline
# Further arguments are passed to OpenRLHF. TRAIN_DATASET names the dataset (math_train);
# MATHATTEMPT_DATA_DIR reads its JSONL file from a folder instead of the Hugging Face hub.
set -euo pipefail
ALGO=${1:?usage: run.sh ppo|rloo [openrlhf arguments...]}
shift
cd "$(dirname "$0")/../.."
MODEL=Qwen/Qwen2.5-Math-1.5B
case "$ALGO" in
    ppo) ALGO_ARGS=(--algo.advantage.estimator gae --critic.model_name_or_path "$MODEL"
                    --critic.adam.lr 1e-5 --rollout.batch_size 1024
                    --rollout.n_samples_per_prompt 1) ;;
    rloo) ALGO_ARGS=(--algo.advantage.estimator rloo --rollout.batch_size 256
                     --rollout.n_samples_per_prompt 4) ;;
    *) echo "run.sh: expected ppo or rloo, got $ALGO" >&2; exit 2 ;;
esac
python examples/openrlhf/prepare_data.py --dataset "${TRAIN_DATASET:-math_train}" \
    --out data/openrlhf/train.jsonl
AGENT=$(python -c "import mathattempt_env.adapters.openrlhf as m; print(m.__file__)")
export MATHATTEMPT_ENV=MultiAttemptMath-v0
export MATHATTEMPT_ENV_KWARGS='{"attempts": [1, 5]}'
export MATHATTEMPT_MAX_TOTAL_TOKENS=3000
RUNTIME_ENV=$(python -c 'import json, os; print(json.dumps({"working_dir": os.getcwd(),
    "env_vars": {k: os.environ[k] for k in os.environ if k.startswith("MATHATTEMPT_")}}))')
ray job submit --address="${RAY_ADDRESS:-http://127.0.0.1:8265}" --runtime-env-json="$RUNTIME_ENV" \
    -- python3 -m openrlhf.cli.train_ppo_ray \
    --actor.model_name_or_path "$MODEL" \
    --train.agent_func_path "$AGENT" \
    --data.prompt_dataset data/openrlhf/train.jsonl \
    --data.input_key problem --data.label_key answer \
    --data.max_len 4608 --rollout.max_new_tokens 3000 \
    --algo.advantage.gamma 1.0 --algo.advantage.lambd 0.99 \
    --algo.kl.use_loss --algo.kl.estimator k3 --algo.kl.init_coef 0.01 \
    --actor.adam.lr 5e-7 --train.batch_size 128 \
    --rollout.temperature 1.0 --train.num_episodes 160 \
    "${ALGO_ARGS[@]}" "$@"
