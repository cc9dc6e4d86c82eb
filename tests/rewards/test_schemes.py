"""Every reward scheme as a table: (grade history, step) -> reward."""

import pytest

from mathattempt_env.errors import ConfigError
from mathattempt_env.rewards import REWARDS, Discounted, RepeatPenalty, get_reward
from mathattempt_env.types import ActionRecord, Grade


def solve(answer, correct=False):
    formatted = answer is not None
    return ActionRecord(
        "solve", Grade(correct, formatted, answer, "numeric" if formatted else "no-answer")
    )


RIGHT, WRONG, NOBOX = solve("42", True), solve("41"), solve(None)


@pytest.mark.parametrize(
    ("name", "history", "final", "expected"),
    [
        ("paper", [WRONG], False, 0.0),
        ("paper", [WRONG, RIGHT], True, 1.0),
        ("paper", [WRONG, WRONG], True, -0.5),
        ("paper", [NOBOX, WRONG], True, -0.5),
        ("paper", [NOBOX, NOBOX], True, -1.0),
        ("paper-single", [RIGHT], True, 1.0),
        ("paper-single", [WRONG], True, -0.5),
        ("paper-single", [RIGHT, NOBOX], True, -1.0),
        ("binary", [WRONG, RIGHT], True, 1.0),
        ("binary", [WRONG], True, 0.0),
        ("binary", [RIGHT], False, 0.0),
        ("discounted", [RIGHT], True, 1.0),
        ("discounted", [WRONG, WRONG, RIGHT], True, pytest.approx(0.64)),
        ("discounted", [WRONG], True, -0.5),
        ("per-attempt", [WRONG], False, -0.5),
        ("per-attempt", [WRONG, NOBOX], False, -1.0),
        ("per-attempt", [WRONG, RIGHT], True, 1.0),
        ("repeat-penalty", [WRONG, WRONG], False, -0.5),
        ("repeat-penalty", [WRONG, solve(" 4 1 ")], True, -1.0),
        ("repeat-penalty", [WRONG, RIGHT], True, 1.0),
        ("s2r-outcome", [RIGHT, WRONG], True, -1.0),
        ("s2r-outcome", [WRONG, RIGHT], True, 1.0),
        ("s2r-outcome", [RIGHT], False, 0.0),
        ("s2r-process", [RIGHT], False, 1.0),
        (
            "s2r-process",
            [RIGHT, ActionRecord("verify", verdict="incorrect", target_correct=True)],
            False,
            -1.0,
        ),
    ],
)
def test_scheme_table(name, history, final, expected):
    breakdown = get_reward(name)(history, final=final)
    assert breakdown.reward == expected
    assert sum(breakdown.components.values()) == pytest.approx(breakdown.reward)


def test_every_registered_scheme_is_in_the_table_and_in_range():
    for name in REWARDS:
        scheme = get_reward(name)
        assert scheme.name == name
        for history in ([RIGHT], [WRONG], [NOBOX], [WRONG, WRONG, NOBOX]):
            for final in (False, True):
                reward = scheme(history, new=1, final=final).reward
                assert scheme.low <= reward <= scheme.high


def test_schemes_are_pure_and_comparable():
    assert get_reward("paper") == get_reward("paper")
    assert get_reward("discounted") != get_reward("paper")
    history = [WRONG, RIGHT]
    scheme = get_reward("repeat-penalty")
    assert scheme(history, final=True) == scheme(history, final=True)


def test_process_truncation_gives_minus_one_on_the_last_action():
    scheme = get_reward("s2r-process")
    breakdown = scheme([RIGHT], new=1, final=True, truncated=True)
    assert breakdown.action_rewards == (-1.0,)


@pytest.mark.parametrize("bad", [-0.1, 1.5, "x"])
def test_bad_discount(bad):
    with pytest.raises(ConfigError, match="discount: expected a number in \\[0, 1\\]"):
        Discounted(bad)


def test_bad_repeat_penalty():
    with pytest.raises(ConfigError, match="penalty: expected a number >= 0, got -1"):
        RepeatPenalty(-1)


def test_not_a_scheme():
    with pytest.raises(ConfigError, match="expected a reward scheme name or object, got 3"):
        get_reward(3)


# --- the verifier scheme and verdict metrics ------------------------------------------------


def verify(verdict, target, cut=False):
    return ActionRecord("verify", verdict=verdict, target_correct=target, cut=cut)


@pytest.mark.parametrize(
    ("record", "outcome", "default", "custom"),
    [
        (verify("correct", True), "accept-right", 1.0, 0.5),
        (verify("incorrect", False), "reject-wrong", 1.0, 0.5),
        (verify("correct", False), "accept-wrong", -1.0, -3.0),
        (verify("incorrect", True), "reject-right", -1.0, -0.25),
        (verify("unparseable", True), "unparseable", -1.0, -2.0),
        (verify("correct", True, cut=True), "accept-right", -1.0, -2.0),  # cut: unparseable's
    ],
)
def test_verifier_reward_table(record, outcome, default, custom):
    from mathattempt_env.rewards import VerifierReward, verdict_outcome

    assert verdict_outcome(record) == outcome
    assert get_reward("verifier")([record]).reward == default
    scheme = VerifierReward(right=0.5, accept_wrong=-3.0, reject_right=-0.25, unparseable=-2.0)
    assert scheme([record]).reward == custom
    assert (scheme.low, scheme.high) == (-3.0, 0.5)


def test_verifier_reward_scores_only_new_verify_records():
    history = [RIGHT, verify("correct", True), WRONG, verify("correct", False)]
    breakdown = get_reward("verifier")(history, new=2)
    assert breakdown.action_rewards == (-1.0,) and breakdown.components == {"verify": -1.0}
    assert get_reward("verifier")(history, new=0).reward == 0.0


@pytest.mark.parametrize("field", ["right", "accept_wrong", "reject_right", "unparseable"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), "1", True])
def test_verifier_reward_rejects_bad_values(field, value):
    from mathattempt_env.rewards import VerifierReward

    with pytest.raises(ConfigError, match=f"{field}: expected a finite number"):
        VerifierReward(**{field: value})


def test_verdict_outcome_of_a_solve_is_a_clear_error():
    from mathattempt_env.rewards import verdict_outcome

    with pytest.raises(ConfigError, match="expected a verify record, got kind 'solve'"):
        verdict_outcome(RIGHT)


def test_verifier_metrics_count_every_outcome():
    from mathattempt_env.rewards import s2r_metrics, verifier_metrics

    episodes = [
        [RIGHT, verify("correct", True), WRONG, verify("correct", False)],
        [WRONG, verify("incorrect", False), WRONG, verify("unparseable", False)],
        [RIGHT, verify("incorrect", True)],
    ]
    m = verifier_metrics(episodes)
    assert m["verifies"] == 5.0
    assert (m["accept-right"], m["accept-wrong"], m["reject-right"], m["reject-wrong"]) == (
        1.0,
        1.0,
        1.0,
        1.0,
    )
    assert m["unparseable"] == 1.0
    assert m["accuracy"] == 2 / 5
    assert m["accept_precision"] == 1 / 2 and m["accept_recall"] == 1 / 2
    assert m["reject_precision"] == 1 / 2 and m["reject_recall"] == 1 / 3
    assert m["unparseable_rate"] == 1 / 5
    s2r = s2r_metrics(episodes)
    assert s2r["error_recall"] == m["reject_recall"]
    assert s2r["correct_precision"] == m["accept_precision"]
    assert s2r["verification_accuracy"] == m["accuracy"]
    empty = verifier_metrics([])
    assert empty["accuracy"] is None and empty["verifies"] == 0.0
