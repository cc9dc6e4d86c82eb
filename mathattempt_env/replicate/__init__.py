"""A tiny end-to-end replication of the multi-attempt paper's effect, on a CPU, in one command.

``python -m mathattempt_env.replicate`` builds a tiny Qwen2-architecture model, warm-starts it
(:mod:`~mathattempt_env.replicate.warmstart`), trains one copy with RLOO on
``MultiAttemptMath-v0`` and one on ``SingleTurnMath-v0`` (:mod:`~mathattempt_env.replicate.
rloo`), evaluates the warm start and both models with the published multi-attempt protocol
through ``mathattempt eval``'s own code path (:mod:`~mathattempt_env.replicate.evaluate`), for
each of several seeds, and writes ``summary.md``, ``summary.json``, ``curves.png`` and
``training.png`` (:mod:`~mathattempt_env.replicate.report`). ``--quick`` runs one seed with
fewer steps; ``--mini`` only checks the pipeline. Re-running resumes.

It is a module rather than an example script so that it installs with the package, runs
from any folder, and is tested as code; it needs the ``trl`` and ``eval`` extras (torch,
transformers, matplotlib, tqdm), which the ``dev`` install has.

Example:
    >>> from mathattempt_env.replicate.settings import PRESETS
    >>> PRESETS["full"].seeds, PRESETS["full"].attempts
    (3, (1, 5))
"""
