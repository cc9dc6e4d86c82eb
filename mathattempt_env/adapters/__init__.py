"""Thin, version-pinned adapters into the trainers people use; each is imported on its own.

- :mod:`mathattempt_env.adapters.trl`: TRL ``GRPOTrainer(rollout_func=...)`` and single-turn
  reward functions for ``RLOOTrainer`` / ``GRPOTrainer`` (extra ``trl``).
- :mod:`mathattempt_env.adapters.trl_env`: TRL ``GRPOTrainer(environment_factory=...)``: an
  env's attempts and tools as the model's tool calls, in-process or on an episode server
  (extra ``trl``).
- :mod:`mathattempt_env.adapters.verl`: verl ``compute_score``, a parquet exporter and the
  ``mathattempt`` agent loop (extra ``verl``).
- :mod:`mathattempt_env.adapters.openrlhf`: an OpenRLHF agent module and ``reward_func``
  (extra ``openrlhf``).

Nothing here is imported by ``import mathattempt_env``.
"""
