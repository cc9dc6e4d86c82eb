"""PettingZoo's own checks on solver_verifier_v0: api_test, parallel_api_test, seed tests."""

import subprocess
import sys
import warnings

import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test
from pettingzoo.utils.env_logger import EnvLogger

from mathattempt_env.multiagent import solver_verifier_v0

# What PettingZoo's checks warn about for any text environment (they expect numeric Box or
# Discrete spaces and NumPy observations), and our warning for the dummy reset option that
# the checks pass. Anything else is a failure.
EXPECTED_WARNINGS = (
    "Observation is not a NumPy array",
    "Observation space for each agent probably should be",
    "Action space for each agent probably should be",
    "solver_verifier_v0 reset options: ignoring unknown ['options']",
)

CONFIGS = [
    {},
    {"attempts": (1, 4), "verifier_sees": "answer", "reward": "paper", "feedback": "binary"},
    {"max_total_length": 300},  # random text runs the budget out: the truncation path
]


def unexpected(caught):
    return [str(w.message) for w in caught if not str(w.message).startswith(EXPECTED_WARNINGS)]


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_api_test_passes(kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        api_test(solver_verifier_v0.env(**kwargs), num_cycles=1000)
    assert unexpected(caught) == []


@pytest.mark.parametrize("out_of_turn", ["illegal", "ignore"])
@pytest.mark.parametrize("kwargs", CONFIGS)
def test_parallel_api_test_passes(kwargs, out_of_turn):
    EnvLogger.flush()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parallel_api_test(
            solver_verifier_v0.parallel_env(out_of_turn=out_of_turn, **kwargs), num_cycles=1000
        )
    assert unexpected(caught) == []
    # The checker sends every live agent an action, so under "illegal" the verifier acts out
    # of turn on the first step of each game; under "ignore" that is never an illegal move.
    illegal = [m for m in EnvLogger.mqueue if "Illegal move" in m]
    assert bool(illegal) == (out_of_turn == "illegal")
    EnvLogger.flush()


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_seed_test_passes(kwargs):
    seed_test(lambda: solver_verifier_v0.env(**kwargs), num_cycles=100)


@pytest.mark.parametrize("kwargs", CONFIGS)
def test_parallel_seed_test_passes(kwargs):
    parallel_seed_test(
        lambda: solver_verifier_v0.parallel_env(out_of_turn="ignore", **kwargs), num_cycles=100
    )


def test_same_seed_same_games_and_different_seeds_differ():
    def games(seed):
        env = solver_verifier_v0.raw_env(attempts=(1, 5))
        env.reset(seed=seed)
        seen = [(env.problem.id, env.infos["solver_0"]["attempts"])]
        for _ in range(5):
            env.reset()
            seen.append((env.problem.id, env.infos["solver_0"]["attempts"]))
        return seen

    assert games(3) == games(3)
    assert games(3) != games(4)


def test_import_needs_the_extra_and_says_so():
    code = (
        "import sys; sys.modules['pettingzoo'] = None\n"
        "import mathattempt_env\n"
        "try:\n"
        "    import mathattempt_env.multiagent\n"
        "except ModuleNotFoundError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install -e ".[pettingzoo]" (in the mathattempt_env source folder)' in out.stdout
