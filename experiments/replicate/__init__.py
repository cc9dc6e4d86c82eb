"""A tiny end-to-end replication of the multi-attempt paper's effect, on a CPU, in one command.

``python -m experiments.replicate`` builds a tiny Qwen2-architecture model, warm-starts it
(:mod:`~experiments.replicate.warmstart`), trains one copy with RLOO on
``MultiAttemptMath-v0`` and one on ``SingleTurnMath-v0`` (:mod:`~experiments.replicate.
rloo`), evaluates the warm start and both models with the published multi-attempt protocol
through ``mathattempt eval``'s own code path (:mod:`~experiments.replicate.evaluate`), for
each of several seeds, and writes ``summary.md``, ``summary.json``, ``curves.png`` and
``training.png`` (:mod:`~experiments.replicate.report`). ``--quick`` runs one seed with
fewer steps; ``--mini`` only checks the pipeline. Re-running resumes.

It is a module rather than an example script so that it installs with the package, runs
from any folder, and is tested as code; it needs the ``trl`` and ``eval`` extras (torch,
transformers, matplotlib, tqdm), which the ``dev`` install has.

Examples:
    >>> from experiments.replicate.settings import PRESETS
    >>> PRESETS["full"].seeds, PRESETS["full"].attempts
    (3, (1, 5))
"""
