"""S2RMath-v0: trajectory splitting, verdicts, process rewards, interactive mode, metrics."""

import gymnasium as gym
import pytest

import mathattempt_env  # noqa: F401
from mathattempt_env.errors import ConfigError
from mathattempt_env.prompts import S2RFormat
from mathattempt_env.rewards import s2r_metrics

PROBLEMS = [{"id": "p0", "problem": "What is $6 \\times 7$?", "answer": "42"}]
VERIFY = "\n\nWait, let me recheck my solution.\n\n"
RETRY = "\n\nLet me try again.\n\n"
SAYS_RIGHT = "Checking each step. Therefore, the answer is correct."
SAYS_WRONG = "I made an error. Therefore, the answer is incorrect."


def trajectory(**kwargs):
    env = gym.make("S2RMath-v0", dataset=PROBLEMS, **kwargs).unwrapped
    env.reset(seed=0)
    return env


def test_trajectory_actions_spans_rewards_and_context_keys():
    env = trajectory()
    text = (
        "6*7=41, \\boxed{41}" + VERIFY + SAYS_WRONG + RETRY + "So \\boxed{42}" + VERIFY + SAYS_RIGHT
    )
    obs, reward, terminated, truncated, info = env.step(text)
    assert (obs, reward, terminated, truncated) == ("", 1.0, True, False)
    actions = info["actions"]
    assert [a["type"] for a in actions] == ["solve", "verify", "solve", "verify"]
    assert [a["reward"] for a in actions] == [0.0, 0.0, 0.0, 1.0]  # the outcome scheme
    assert [a["context"] for a in actions] == ["", "R-1", "R-1V1", "R-1V1R1"]
    assert actions[1]["verdict"] == "incorrect" and actions[1]["target_correct"] is False
    start, end = actions[2]["span"]
    assert text[start:end] == RETRY + "So \\boxed{42}"
    assert "".join(text[slice(*a["span"])] for a in actions) == text
    assert info["s2r_metrics"]["verification_accuracy"] == 1.0
    assert info["s2r_metrics"]["incorrect_to_correct"] == 1.0


def test_outcome_is_the_last_solution():
    env = trajectory()
    _, reward, *_ = env.step("\\boxed{42}" + VERIFY + SAYS_WRONG + RETRY + "\\boxed{40}")
    assert reward == -1.0


@pytest.mark.parametrize(
    ("verification", "verdict", "process"),
    [
        ("Therefore, the answer is correct.", "correct", 1.0),
        ("Therefore, the answer is incorrect.", "incorrect", -1.0),
        ("Hmm, I think it is fine.", "unparseable", -1.0),
        (
            "Therefore, the answer is incorrect. Oh wait. Therefore, the answer is correct.",
            "correct",
            1.0,
        ),
    ],
)
def test_verdicts_are_judged_against_the_truth(verification, verdict, process):
    env = trajectory()
    env = trajectory(reward="s2r-process")
    info = env.step("\\boxed{42}" + VERIFY + verification)[4]
    assert info["actions"][1]["verdict"] == verdict
    assert info["actions"][1]["reward"] == process


def test_lenient_format_uses_the_published_fallbacks_but_no_positional_default():
    lenient = S2RFormat(lenient=True)
    assert lenient.verdict("The answer is indeed 42.") == "correct"
    assert lenient.verdict("so 41 is incorrect") == "incorrect"
    assert lenient.verdict("no verdict here") == "unparseable"
    assert S2RFormat().verdict("The answer is indeed 42.") == "unparseable"


def test_cut_trajectory_is_truncated_with_minus_one_on_its_last_action():
    env = trajectory(reward="s2r-process", max_response_length=60)
    text = "\\boxed{42}" + VERIFY + SAYS_RIGHT
    _, reward, terminated, truncated, info = env.step(text)
    assert truncated and not terminated
    assert [a["reward"] for a in info["actions"]] == [1.0, -1.0]
    assert reward == 0.0 and info["action_rewards"] == (1.0, -1.0)
    assert [r.cut for r in info["records"]] == [False, True]  # only the last action was cut


def test_custom_delimiters():
    fmt = S2RFormat(verify_start="<verify>", retry_start="<retry>")
    env = trajectory(format=fmt)
    info = env.step("\\boxed{1}<verify>Therefore, the answer is incorrect.<retry>\\boxed{42}")[4]
    assert [a["type"] for a in info["actions"]] == ["solve", "verify", "solve"]


def test_interactive_mode_asks_to_verify_then_to_retry():
    env = gym.make("S2RMath-v0", dataset=PROBLEMS, mode="interactive", attempts=2).unwrapped
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("\\boxed{41}")
    assert obs == S2RFormat().verify_request and reward == -1.0 and not terminated
    obs, reward, terminated, truncated, info = env.step(SAYS_WRONG)
    assert obs == S2RFormat().retry_request and reward == 1.0
    obs, reward, *_ = env.step("\\boxed{42}")
    assert reward == 1.0
    obs, reward, terminated, truncated, info = env.step(SAYS_RIGHT)
    assert (obs, reward, terminated, truncated) == ("", 1.0, True, False)
    assert [a["context"] for a in info["actions"]] == ["", "R-1", "R-1V1", "R-1V1R1"]
    assert [m["role"] for m in info["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]


def test_interactive_mode_ends_when_attempts_run_out():
    env = gym.make("S2RMath-v0", dataset=PROBLEMS, mode="interactive", attempts=1).unwrapped
    env.reset(seed=0)
    env.step("\\boxed{41}")
    _, reward, terminated, truncated, info = env.step("not sure")
    assert terminated and not truncated and reward == -1.0
    assert info["actions"][-1]["verdict"] == "unparseable"


def test_metrics_aggregate_many_episodes():
    env = trajectory()
    episodes = []
    for text in [
        "\\boxed{41}" + VERIFY + SAYS_WRONG + RETRY + "\\boxed{42}" + VERIFY + SAYS_RIGHT,
        "\\boxed{42}" + VERIFY + SAYS_WRONG + RETRY + "\\boxed{41}" + VERIFY + SAYS_RIGHT,
        "\\boxed{41}" + VERIFY + SAYS_RIGHT,
        "\\boxed{42}" + VERIFY + "no idea",
    ]:
        env.reset(seed=0)
        episodes.append(env.step(text)[4]["records"])
    m = s2r_metrics(episodes)
    # verifies: (wrong, said wrong) ok, (right, said right) ok, (right, said wrong) bad,
    # (wrong, said right) bad, (wrong, said right) bad, (right, unparseable) bad.
    assert m["verifies"] == 6 and m["verification_accuracy"] == pytest.approx(2 / 6)
    assert m["error_recall"] == pytest.approx(1 / 3)
    assert m["correct_precision"] == pytest.approx(1 / 3)
    assert m["incorrect_to_correct"] == 0.25 and m["correct_to_incorrect"] == 0.25
    assert m["unparseable_rate"] == pytest.approx(1 / 6)
    assert s2r_metrics([])["verification_accuracy"] is None


def test_interactive_attempt_budget_can_be_a_range_or_a_reset_option():
    env = gym.make("S2RMath-v0", dataset=PROBLEMS, mode="interactive", attempts=(1, 3)).unwrapped
    budgets = set()
    for seed in range(20):
        _, info = env.reset(seed=seed)
        budgets.add(info["attempts_left"])
    assert budgets == {1, 2, 3}
    _, info = env.reset(seed=0, options={"attempts": 5})
    assert info["attempts_left"] == 5
    trajectory_env = gym.make("S2RMath-v0", dataset=PROBLEMS).unwrapped
    with pytest.raises(ConfigError, match="unknown \\['attempts'\\]"):
        trajectory_env.reset(options={"attempts": 2})
    with pytest.raises(ConfigError, match="attempts: expected an int >= 1 or \\(min, max\\)"):
        gym.make("S2RMath-v0", mode="interactive", attempts=(3, 1))
