"""Registry-wide invariants: every registered id is a good Gymnasium citizen."""

import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import mathattempt_env
from mathattempt_env.errors import EpisodeFinishedError
from mathattempt_env.types import Turn

IDS = sorted(mathattempt_env.ENV_IDS)


def boxed(answer: str) -> str:
    return f"Let me work it out. So the answer is $\\boxed{{{answer}}}$."


def wrong(env=None) -> str:
    return boxed("zzz-not-an-answer")


def play(env, seed, policy):
    obs, info = env.reset(seed=seed)
    trace = [(obs, info["problem_id"])]
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy(env.unwrapped))
        trace.append((obs, reward, terminated, truncated, info["reward_components"]))
        done = terminated or truncated
    return trace


@pytest.mark.parametrize("env_id", IDS)
def test_check_env_passes_without_warnings(env_id):
    env = gym.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)


@pytest.mark.parametrize("env_id", IDS)
def test_make_without_arguments_runs_offline_on_builtin(env_id):
    env = gym.make(env_id)
    obs, info = env.reset(seed=0)
    assert info["source"] == "builtin" and obs
    _, reward, terminated, truncated, _ = env.step(boxed(env.unwrapped.problem.answer))
    assert reward == 1.0
    assert terminated and not truncated


def test_module_prefixed_id_works_without_importing_the_package():
    code = (
        "import gymnasium as gym, sys\n"
        "assert 'mathattempt_env' not in sys.modules\n"
        "env = gym.make('mathattempt_env:MultiAttemptMath-v0')\n"
        "print(env.reset(seed=0)[1]['attempts'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) in range(1, 6)


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_episode(env_id):
    runs = [play(gym.make(env_id), seed=7, policy=wrong) for _ in range(2)]
    assert runs[0] == runs[1]
    other = play(gym.make(env_id), seed=8, policy=wrong)
    assert other[0] != runs[0][0]


@pytest.mark.parametrize("env_id", IDS)
def test_gold_answer_earns_the_maximum_reward(env_id):
    env = gym.make(env_id)
    scheme = env.unwrapped.reward_scheme
    for seed in range(20):
        env.reset(seed=seed)
        _, reward, terminated, _, _ = env.step(boxed(env.unwrapped.problem.answer))
        assert reward == scheme.high == 1.0 and terminated


@pytest.mark.parametrize("env_id", IDS)
def test_rewards_stay_in_range(env_id):
    env = gym.make(env_id)
    scheme = env.unwrapped.reward_scheme
    for seed in range(30):
        for _obs, reward, *_ in play(env, seed, wrong)[1:]:
            assert scheme.low <= reward <= scheme.high


DISTINCT = [
    {"id": "d1", "problem": "Compute the special value.", "answer": "\\frac{91733}{7}"},
    {"id": "d2", "problem": "Find the pair.", "answer": "(31337, -27182)"},
]


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("feedback", ["binary", "answer", "none"])
def test_gold_never_appears_in_observations_messages_or_info(env_id, feedback):
    kwargs = {"feedback": feedback, "attempts": 3} if env_id == "MultiAttemptMath-v0" else {}
    env = gym.make(env_id, dataset=DISTINCT, **kwargs)
    for index, row in enumerate(DISTINCT):
        obs, info = env.reset(seed=0, options={"index": index})
        seen = [obs, repr(info)]
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(boxed("12") + " or maybe 7")
            seen += [obs, repr(info)]
            done = terminated or truncated
        assert not any(row["answer"] in text for text in seen)


@pytest.mark.parametrize("env_id", IDS)
def test_step_after_end_and_before_reset_raise(env_id):
    env = gym.make(env_id).unwrapped
    with pytest.raises(EpisodeFinishedError, match="call reset"):
        env.step("x")
    env.reset(seed=0)
    env.step(boxed(env.problem.answer))
    with pytest.raises(EpisodeFinishedError, match=r"the episode has ended \(solved|graded"):
        env.step("again")


@pytest.mark.parametrize("env_id", IDS)
def test_non_string_action_is_a_clear_type_error(env_id):
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    with pytest.raises(TypeError, match="action: expected a str, got int"):
        env.step(42)


@pytest.mark.parametrize("env_id", IDS)
def test_envs_pickle_mid_episode(env_id):
    env = gym.make(env_id)
    env.reset(seed=3)
    copy = pickle.loads(pickle.dumps(env))
    assert copy.unwrapped.problem == env.unwrapped.problem
    assert copy.step(wrong())[:4] == env.step(wrong())[:4]


@pytest.mark.parametrize("env_id", IDS)
def test_spec_records_the_reward_scheme(env_id):
    assert gym.make(env_id).spec.kwargs["reward"] == gym.make(env_id).unwrapped.reward_scheme.name
    assert gym.make(env_id, reward="binary").spec.kwargs["reward"] == "binary"
    remade = gym.make(gym.make(env_id, reward="per-attempt").spec)
    assert remade.unwrapped.reward_scheme.name == "per-attempt"


@pytest.mark.parametrize("vector", [gym.vector.SyncVectorEnv, gym.vector.AsyncVectorEnv])
@pytest.mark.parametrize("env_id", IDS)
def test_vector_envs(vector, env_id):
    envs = vector([lambda: gym.make(env_id) for _ in range(3)])
    try:
        obs, info = envs.reset(seed=[1, 2, 3])
        singles = [gym.make(env_id).reset(seed=s)[0] for s in (1, 2, 3)]
        assert tuple(obs) == tuple(singles)
        obs, reward, terminated, truncated, info = envs.step(["\\boxed{x}"] * 3)
        assert len(obs) == 3 and all(isinstance(o, str) for o in obs)
        assert reward.shape == (3,) and info["grade"].shape == (3,)
    finally:
        envs.close()


@pytest.mark.parametrize("env_id", IDS)
def test_reset_can_pose_a_problem_from_outside_the_dataset(env_id):
    from mathattempt_env.errors import ConfigError, DatasetError

    env = gym.make(env_id)
    problem = {"problem": "What is $6 \\times 7$?", "answer": "42"}
    _, info = env.reset(seed=0, options={"problem": problem})
    assert info["index"] == -1 and info["problem_id"].startswith("given-")
    assert "What is $6 \\times 7$?" in info["messages"][-1]["content"]
    assert "42" not in str(info["messages"])  # the gold is never shown
    _, again = env.reset(seed=0, options={"problem": problem})
    assert again["problem_id"] == info["problem_id"]  # a stable id, not Python's salted hash
    *_, step_info = env.step(r"\boxed{42}")
    assert step_info["grade"].correct
    with pytest.raises(ConfigError, match="give one of 'index', 'problem', 'group'"):
        env.reset(options={"problem": problem, "index": 0})
    with pytest.raises(DatasetError, match="unbalanced braces"):
        env.reset(options={"problem": {"problem": "x", "answer": "\\frac{1}{2"}})


def test_a_turn_carries_its_length_and_its_cut_through_wrappers():
    env = gym.make("MultiAttemptMath-v0", attempts=3, max_total_length=10, length_fn=len)
    _, info = env.reset(seed=0)
    assert info["length_left"] == 10
    info = env.step(Turn("partial", length=4, cut=True))[-1]  # the producer's count and cut
    assert (info["cut"], info["length_used"], info["length_left"]) == (True, 4, 6)
    info = env.step("whole")[-1]  # a plain str is measured by length_fn
    assert (info["cut"], info["length_used"]) == (False, 9)


def test_reset_options_set_one_episodes_length_budget():
    env = gym.make("MultiAttemptMath-v0", attempts=3)
    _, info = env.reset(seed=0)
    assert "length_left" not in info  # no limit
    _, info = env.reset(seed=0, options={"max_total_length": 5, "max_response_length": 3})
    assert info["length_left"] == 3
    info = env.step("abcdef")[-1]
    assert info["cut"] and (info["length_used"], info["length_left"]) == (3, 2)
    _, _, terminated, truncated, info = env.step("abc")  # the total budget runs out
    assert info["length_used"] == 5 and truncated and not terminated
    _, info = env.reset(seed=0)  # the next episode has the constructor's budget again
    assert "length_left" not in info
