"""The one retry policy of the HTTP clients: bounds, growth, jitter, determinism, threads."""

from __future__ import annotations

import threading

import pytest

from mathattempt_env.errors import ConfigError
from mathattempt_env.retry import RetryPolicy


def test_delays_start_at_zero_then_double_within_the_jitter() -> None:
    delays = list(RetryPolicy(retries=4, backoff=1.0, seed=3).delays())
    assert len(delays) == 5 and delays[0] == 0.0
    for n, delay in enumerate(delays[1:], start=1):
        assert 2 ** (n - 1) <= delay <= 1.25 * 2 ** (n - 1)


def test_the_same_seed_gives_the_same_waits_and_no_retries_means_one_try() -> None:
    assert list(RetryPolicy(3, 0.5, seed=7).delays()) == list(RetryPolicy(3, 0.5, seed=7).delays())
    assert list(RetryPolicy(0, 2.0).delays()) == [0.0]


@pytest.mark.parametrize(
    ("retries", "backoff"), [(-1, 1.0), (1, -0.5), (True, 1.0), (1.5, 1.0), (1, "1")]
)
def test_bad_settings_are_config_errors(retries, backoff) -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(retries, backoff)


def test_one_policy_serves_many_threads() -> None:
    policy = RetryPolicy(retries=50, backoff=0.001)
    counts: list[int] = []

    def use() -> None:
        counts.append(sum(1 for _ in policy.delays()))

    threads = [threading.Thread(target=use) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts == [51] * 16
