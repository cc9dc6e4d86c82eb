"""Experiments that use the package and are not part of what ``pip install`` ships.

- :mod:`experiments.tiny`: tiny Qwen2-architecture models and a Qwen2.5-style tokenizer built
  locally (no hub), for the tests, the examples' CPU runs and the replication;
- :mod:`experiments.replicate`: the tiny replication of the multi-attempt paper's experiment,
  ``python -m experiments.replicate`` from the repository's root.

They need the ``eval`` extra (torch, transformers).
"""
