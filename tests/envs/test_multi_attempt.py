"""MultiAttemptMath-v0 and SingleTurnMath-v0: the published protocol, to the character."""

from collections import Counter

import gymnasium as gym
import pytest

import mathattempt_env  # noqa: F401
from mathattempt_env.errors import ConfigError
from mathattempt_env.rewards import Discounted

PROBLEMS = [
    {"id": "p0", "problem": "What is $6 \\times 7$?", "answer": "42"},
    {"id": "p1", "problem": "Simplify $\\frac{6}{8}$.", "answer": "\\frac{3}{4}"},
]
SYSTEM = (
    "Please reason step by step, and put your final answer within \\boxed{}. You have 3 attempts"
    " to answer the questions, and you should provide the full reasoning steps in each attempt."
)


def make(**kwargs):
    return gym.make("MultiAttemptMath-v0", dataset=PROBLEMS, **kwargs).unwrapped


def test_published_prompt_and_feedback_to_the_character():
    env = make(attempts=3)
    obs, info = env.reset(seed=0, options={"index": 0})
    assert obs == SYSTEM + "\n\nWhat is $6 \\times 7$?"
    assert info["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "What is $6 \\times 7$?"},
    ]
    obs, reward, terminated, truncated, info = env.step("\\boxed{41}")
    assert obs == "Your answer is incorrect. You have 2 attempts left. Try an alternative."
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert info["messages"][-1] == {"role": "system", "content": obs}
    assert (info["attempt"], info["attempts_left"]) == (1, 2)
    obs, *_ = env.step("no box at all")
    assert obs == "Your answer is incorrect. You have 1 attempts left. Try an alternative."
    obs, reward, terminated, truncated, info = env.step("\\boxed{6 \\cdot 7}")
    assert (obs, reward, terminated, truncated) == ("", 1.0, True, False)
    assert info["grade"].correct and info["grade"].extracted == "6 \\cdot 7"
    assert [m["role"] for m in info["messages"]] == [
        "system",
        "user",
        "assistant",
        "system",
        "assistant",
        "system",
        "assistant",
    ]


def test_repeat_question_variant():
    env = make(attempts=2, prompt="repeat-question")
    obs, info = env.reset(seed=0, options={"index": 1})
    assert info["messages"][0]["content"].endswith("You have 2 attempts to answer the question.")
    obs, *_ = env.step("\\boxed{1}")
    assert obs == (
        "Your answer is incorrect. Try an alternative. You have 1 attempts to answer the question."
        "\n\nSimplify $\\frac{6}{8}$."
    )
    assert env.messages[-2:] == [
        {"role": "system", "content": obs.split("\n\n")[0]},
        {"role": "user", "content": "Simplify $\\frac{6}{8}$."},
    ]


@pytest.mark.parametrize(
    ("level", "answer", "expected"),
    [
        ("none", "\\boxed{5}", "You have 1 attempts left. Try an alternative."),
        (
            "answer",
            "\\boxed{5}",
            "Your answer 5 is incorrect. You have 1 attempts left. Try an alternative.",
        ),
        (
            "answer",
            "five",
            "No final answer in \\boxed{} was found. You have 1 attempts left. Try an alternative.",
        ),
    ],
)
def test_feedback_levels(level, answer, expected):
    env = make(attempts=2, feedback=level)
    env.reset(seed=0, options={"index": 0})
    assert env.step(answer)[0] == expected


def test_feedback_role_is_configurable():
    env = make(attempts=2, feedback_role="user")
    env.reset(seed=0)
    env.step("x")
    assert env.messages[-1]["role"] == "user"


def test_final_rewards_follow_the_paper():
    env = make(attempts=2)
    cases = [
        (["\\boxed{1}", "\\boxed{42}"], 1.0),
        (["\\boxed{1}", "\\boxed{2}"], -0.5),
        (["nothing", "\\boxed{2}"], -0.5),
        (["nothing", "still nothing"], -1.0),
    ]
    for answers, final in cases:
        env.reset(seed=0, options={"index": 0})
        rewards = [env.step(a)[1] for a in answers]
        assert rewards == [0.0, final]


def test_discounted_scheme_and_components():
    env = make(attempts=3, reward=Discounted(0.5))
    env.reset(seed=0, options={"index": 0})
    env.step("\\boxed{1}")
    env.step("\\boxed{2}")
    _, reward, terminated, _, info = env.step("\\boxed{42}")
    assert reward == 0.25 and terminated and info["reward_components"] == {"outcome": 0.25}


def test_attempt_budget_is_sampled_from_the_env_rng():
    env = make()
    budgets = Counter(env.reset(seed=s)[1]["attempts"] for s in range(500))
    assert set(budgets) == {1, 2, 3, 4, 5}
    assert min(budgets.values()) > 60
    assert make(attempts=(2, 3)).reset(seed=0)[1]["attempts"] in (2, 3)
    assert make().reset(seed=0, options={"attempts": 7, "index": 1})[1]["attempts"] == 7


@pytest.mark.parametrize("bad", [0, -1, (3, 2), (0, 2), "3", 2.5, (1, 2, 3)])
def test_bad_attempts_are_config_errors(bad):
    with pytest.raises(ConfigError, match="attempts"):
        make(attempts=bad)


def test_bad_reset_options():
    env = make()
    with pytest.raises(
        ConfigError, match=r"options\['index'\]: expected an int in \[0, 2\), got 5"
    ):
        env.reset(options={"index": 5})
    with pytest.raises(ConfigError, match="unknown \\['seed'\\]"):
        env.reset(options={"seed": 1})


def test_first_or_last_box():
    text = "First \\boxed{42}, then I changed my mind: \\boxed{41}"
    for box, correct in (("last", False), ("first", True)):
        env = make(attempts=1, box=box)
        env.reset(seed=0, options={"index": 0})
        assert env.step(text)[4]["correct"] is correct


def test_total_budget_truncates_and_per_step_cut_continues():
    env = make(attempts=5, max_total_length=30)
    env.reset(seed=0, options={"index": 0})
    obs, reward, terminated, truncated, info = env.step("x" * 20 + "\\boxed{1}")
    assert not (terminated or truncated) and info["length_used"] == 29
    obs, reward, terminated, truncated, info = env.step("\\boxed{42} and more words")
    assert info["messages"][-1]["content"] == "\\"  # one character of budget was left
    assert (obs, reward, terminated, truncated) == ("", -0.5, False, True)
    assert info["cut"]

    env = make(attempts=3, max_response_length=12)
    env.reset(seed=0, options={"index": 0})
    obs, _, terminated, truncated, info = env.step("\\boxed{1} plus a long tail")
    assert info["cut"] and not (terminated or truncated) and info["grade"].formatted
    assert env.step("\\boxed{42}")[1:4] == (1.0, True, False)


def test_budget_in_tokens_via_length_fn():
    def words(text):
        return len(text.split())

    env = make(attempts=2, max_total_length=5, length_fn=words)
    env.reset(seed=0, options={"index": 0})
    _, _, _, truncated, info = env.step("one two three four five six \\boxed{42}")
    assert info["messages"][-1]["content"].split() == ["one", "two", "three", "four", "five"]
    assert truncated and not info["correct"]


def test_length_fn_is_called_once_per_uncut_step():
    calls = []

    def counting(text):
        calls.append(text)
        return len(text.split())

    env = make(attempts=3, max_total_length=100, length_fn=counting)
    env.reset(seed=0, options={"index": 0})
    env.step("a b \\boxed{1}")
    env.step("c \\boxed{2}")
    assert calls == ["a b \\boxed{1}", "c \\boxed{2}"] and env.used == 5


def test_single_turn_schemes():
    env = gym.make("SingleTurnMath-v0", dataset=PROBLEMS).unwrapped
    obs, info = env.reset(seed=0, options={"index": 0})
    assert obs == (
        "Please reason step by step, and put your final answer within \\boxed{}."
        "\n\nWhat is $6 \\times 7$?"
    )
    assert env.step("\\boxed{41}")[1:4] == (-0.5, True, False)
    env.reset(seed=0, options={"index": 0})
    assert env.step("41")[1] == -1.0
    binary = gym.make("SingleTurnMath-v0", dataset=PROBLEMS, reward="binary").unwrapped
    binary.reset(seed=0, options={"index": 0})
    assert binary.step("\\boxed{42}")[1:4] == (1.0, True, False)
    with pytest.raises(ConfigError, match="unknown \\['attempts'\\]"):
        binary.reset(options={"attempts": 3})


def test_unknown_names_suggest_close_matches():
    with pytest.raises(ConfigError, match="unknown reward scheme 'papr'; did you mean 'paper'"):
        make(reward="papr")
    with pytest.raises(
        ConfigError, match="unknown feedback template 'binry'; did you mean 'binary'"
    ):
        make(feedback="binry")
    with pytest.raises(ConfigError, match="unknown dataset 'math50'; did you mean 'math500'"):
        gym.make("MultiAttemptMath-v0", dataset="math50")


def test_model_output_never_raises():
    env = make(attempts=6)
    env.reset(seed=0, options={"index": 1})
    for text in [
        "",
        "\\boxed{",
        "\x00\ud800",
        "\\boxed{" * 5000,
        b"\\boxed{\xff}",
        "x" * 2_000_000,
    ]:
        _, _, terminated, truncated, info = env.step(text)
        assert info["grade"].correct is False
        if terminated or truncated:
            break


def test_critique_feedback_belongs_to_the_solver_verifier_game():
    with pytest.raises(ConfigError, match="quotes a verifier's critique"):
        gym.make("MultiAttemptMath-v0", feedback="critique")
