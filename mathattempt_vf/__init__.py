"""The verifiers entry point of mathattempt_env: ``vf-eval mathattempt-vf``.

verifiers 0.4 imports an environment by its id (``mathattempt-vf`` → this module) and takes
the ``Taskset``, ``Env`` and ``Harness`` subclasses it exports; they live in
:mod:`mathattempt_env.adapters.verifiers`. Needs the ``verifiers`` extra.
"""

from mathattempt_env.adapters.verifiers import MathEnv, MathHarness, MathTaskset

__all__ = ["MathEnv", "MathHarness", "MathTaskset"]
