"""The Unicode text space, its sampling and its AsyncVectorEnv shared memory."""

import copy

import pytest
from gymnasium.vector.utils import (
    create_shared_memory,
    read_from_shared_memory,
    write_to_shared_memory,
)

from mathattempt_env.envs import UnicodeText
from mathattempt_env.errors import ConfigError


def test_contains_any_string_up_to_the_limit():
    space = UnicodeText(50)
    for text in [
        "",
        "\\boxed{\\frac{\\pi}{2}}",
        "∫₀¹ x² dx = ⅓",
        "emoji 🙂",
        "\x00\ud800 lone",
        "x" * 50,
    ]:
        assert space.contains(text)
    assert not space.contains("x" * 51) and not space.contains(b"abc") and not space.contains(None)


def test_sample_is_seeded_and_in_the_space():
    a, b = UnicodeText(30, seed=4), UnicodeText(30, seed=4)
    samples = [a.sample() for _ in range(50)]
    assert samples == [b.sample() for _ in range(50)]
    assert all(a.contains(s) for s in samples) and len(set(samples)) > 40


def test_bad_arguments():
    with pytest.raises(ConfigError, match="max_length: expected an int >= 1, got 0"):
        UnicodeText(0)
    with pytest.raises(ConfigError, match="masks"):
        UnicodeText(5).sample(mask=1)


def test_shared_memory_round_trip_is_live_and_snapshots_on_deepcopy():
    space = UnicodeText(20)
    memory = create_shared_memory(space, n=3)
    view = read_from_shared_memory(space, memory, n=3)
    write_to_shared_memory(space, 1, "√2 ≈ 1.414 🙂", memory)
    assert tuple(view) == ("", "√2 ≈ 1.414 🙂", "")
    snapshot = copy.deepcopy(view)
    write_to_shared_memory(space, 1, "changed", memory)
    assert snapshot == ("", "√2 ≈ 1.414 🙂", "") and view[1] == "changed"
