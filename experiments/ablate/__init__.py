"""Reward-shaping ablations on the CPU testbed, in one command.

``python -m experiments.ablate`` trains the same warm start under N reward schemes × S seeds
(:mod:`~experiments.ablate.run`), evaluates every model with the published multi-attempt
protocol through the eval's own code path, and writes ``summary.md``, ``summary.json`` and
``ablation.png`` (:mod:`~experiments.ablate.report`): per scheme the mean and 95% interval
(Student's t over seeds) of accuracy at each k, the repeat rate, the formatted rate and the
return on the paper's scale, and per scheme the paired difference from a baseline scheme,
marked resolved (its interval excludes 0) or within noise (:mod:`~experiments.ablate.stats`).

The testbed is the replication's (:mod:`~experiments.replicate.settings`): a tiny model that
can learn to read the feedback, so the schemes have a skill to shape. Schemes are names or
specs with parameters (``--schemes paper binary paper:wrong=-0.25``). Re-running resumes;
a folder made with other settings is refused.

Like :mod:`experiments.replicate`, it ships in the source tree, not the wheel (see
``ARCHITECTURE.md``), and needs the ``trl`` and ``eval`` extras.

Examples:
    >>> from experiments.ablate.presets import PRESETS
    >>> PRESETS["paper"].schemes
    ('paper', 'binary', 'repeat-penalty', 'discounted')
"""
