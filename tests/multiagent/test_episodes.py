"""Scripted solver and verifier play whole games; every reward and ending is asserted."""

import pytest
from pettingzoo.utils.env_logger import EnvLogger

from mathattempt_env.errors import ConfigError, EpisodeFinishedError
from mathattempt_env.multiagent import SOLVER, VERIFIER, TextObservation, solver_verifier_v0
from mathattempt_env.rewards import REWARDS, VerifierReward, get_reward
from mathattempt_env.types import Turn

PROBLEMS = [{"id": "p0", "problem": "What is $6 \\times 7$?", "answer": "42"}]
RIGHT = "6*7 = 42, so \\boxed{42}."
WRONG = "6*7 = 41, so \\boxed{41}."
ACCEPT = "Each step checks out. Therefore, the answer is correct."
REJECT = "6*7 is not 41. Therefore, the answer is incorrect."
MUMBLE = "I am not sure about this one."


def game(**kwargs):
    env = solver_verifier_v0.env(dataset=PROBLEMS, **kwargs)
    env.reset(seed=0)
    return env


def play(env, script):
    """Step the scripted actions; return (rewards, terminations, truncations) after each."""
    steps = []
    for action in script:
        assert not (env.terminations[env.agent_selection] or env.truncations[env.agent_selection])
        env.step(action)
        steps.append((dict(env.rewards), dict(env.terminations), dict(env.truncations)))
    return steps


def rewards(steps):
    return [(r[SOLVER], r[VERIFIER]) for r, _, _ in steps]


def only_last_ends(steps, *, truncated=False):
    ended = [any(t.values()) or any(u.values()) for _, t, u in steps]
    assert ended == [False] * (len(steps) - 1) + [True]
    _, terminations, truncations = steps[-1]
    assert terminations == dict.fromkeys((SOLVER, VERIFIER), not truncated)
    assert truncations == dict.fromkeys((SOLVER, VERIFIER), truncated)


def finish(env):
    """Let both finished agents leave the game, as agent_iter does; return their last() values."""
    final = {}
    for agent in env.agent_iter():
        observation, reward, terminated, truncated, info = env.last()
        assert terminated or truncated
        assert observation == ""
        final[agent] = (reward, info)
        env.step(None)
    assert env.agents == []
    return final


# --- the protocol, with the default rewards ----------------------------------------------


def test_right_answer_accepted_first_time():
    env = game()
    steps = play(env, [RIGHT, ACCEPT])
    assert rewards(steps) == [(0.0, 0.0), (1.0, 1.0)]
    assert all(type(r) is float for step in rewards(steps) for r in step)
    only_last_ends(steps)
    final = finish(env)
    assert final[SOLVER][0] == 1.0 and final[VERIFIER][0] == 1.0
    info = final[VERIFIER][1]
    assert info["end_reason"] == "accepted" and info["correct"] is True
    assert info["verdicts"] == ("correct",)
    assert [t["outcome"] for t in info["turns"] if t["kind"] == "verify"] == ["accept-right"]


def test_wrong_answer_accepted_costs_both():
    env = game()
    steps = play(env, [WRONG, ACCEPT])
    assert rewards(steps) == [(0.0, 0.0), (-1.0, -1.0)]
    only_last_ends(steps)
    info = env.infos[SOLVER]
    assert info["end_reason"] == "accepted" and info["correct"] is False
    assert info["turns"][-1]["outcome"] == "accept-wrong"


def test_rejections_then_acceptance_and_the_verifier_metrics():
    env = game(attempts=3)
    steps = play(env, [RIGHT, REJECT, WRONG, REJECT, RIGHT, ACCEPT])
    assert rewards(steps) == [
        (0.0, 0.0),
        (0.0, -1.0),  # rejected a right answer
        (0.0, 0.0),
        (0.0, 1.0),  # rejected a wrong one
        (0.0, 0.0),
        (1.0, 1.0),  # accepted a right one; the final answer is right
    ]
    only_last_ends(steps)
    final = finish(env)
    assert final[SOLVER][0] == 1.0
    assert final[VERIFIER][0] == 1.0  # what it earned since it last acted
    info = final[SOLVER][1]
    assert [g.correct for g in info["grades"]] == [True, False, True]
    assert info["verdicts"] == ("incorrect", "incorrect", "correct")
    metrics = info["verifier_metrics"]
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["accept_precision"] == 1.0
    assert metrics["accept_recall"] == 0.5
    assert metrics["reject_precision"] == 0.5
    assert metrics["reject_recall"] == 1.0
    assert metrics["unparseable_rate"] == 0.0


def test_unparseable_verdict_is_its_own_outcome_and_the_budget_runs_out():
    env = game(attempts=2)
    steps = play(env, [WRONG, MUMBLE, WRONG, REJECT])
    assert rewards(steps) == [(0.0, 0.0), (0.0, -1.0), (0.0, 0.0), (-1.0, 1.0)]
    only_last_ends(steps)
    info = env.infos[VERIFIER]
    assert info["verdicts"] == ("unparseable", "incorrect")
    assert info["turns"][1]["outcome"] == "unparseable"
    assert info["end_reason"] == "no attempts left"
    assert info["verifier_metrics"]["unparseable_rate"] == 0.5
    # An unparseable verdict does not accept: the solver got the mumble as its critique.
    assert MUMBLE in env.infos[SOLVER]["messages"][3]["content"]


def test_a_single_attempt_ends_after_the_first_verdict_either_way():
    env = game(attempts=1)
    steps = play(env, [WRONG, REJECT])
    assert rewards(steps) == [(0.0, 0.0), (-1.0, 1.0)]
    only_last_ends(steps)
    assert env.infos[SOLVER]["end_reason"] == "no attempts left"


# --- reward configuration -----------------------------------------------------------------


def test_verifier_penalties_are_configurable():
    scheme = VerifierReward(right=0.5, accept_wrong=-3.0, reject_right=-0.5, unparseable=-2.0)
    env = game(attempts=3, verifier_reward=scheme)
    steps = play(env, [RIGHT, REJECT, RIGHT, MUMBLE, WRONG, ACCEPT])
    assert [v for _, v in rewards(steps)] == [0.0, -0.5, 0.0, -2.0, 0.0, -3.0]
    assert rewards(steps)[-1][0] == -1.0  # the accepted final answer is wrong
    env = game(verifier_reward=scheme)
    assert [v for _, v in rewards(play(env, [WRONG, REJECT, RIGHT, ACCEPT]))] == [
        0.0,
        0.5,
        0.0,
        0.5,
    ]


def test_per_attempt_solver_reward_pays_on_the_solver_steps():
    env = game(attempts=2, reward="per-attempt")
    steps = play(env, [WRONG, REJECT, RIGHT, ACCEPT])
    assert rewards(steps) == [(-0.5, 0.0), (0.0, 1.0), (1.0, 0.0), (0.0, 1.0)]


def test_paper_reward_credits_an_overturned_right_answer_and_s2r_outcome_does_not():
    script = [RIGHT, REJECT, WRONG, ACCEPT]
    assert rewards(play(game(attempts=2, reward="paper"), script))[-1] == (1.0, -1.0)
    assert rewards(play(game(attempts=2), script))[-1] == (-1.0, -1.0)


@pytest.mark.parametrize("name", sorted(REWARDS))
def test_every_registered_scheme_scores_the_solver_attempts(name):
    env = game(attempts=3, reward=name)
    steps = play(env, [WRONG, REJECT, WRONG, MUMBLE, RIGHT, ACCEPT])
    solves = [r for r in env.unwrapped.referee.records if r.kind == "solve"]
    scheme = get_reward(name)
    expected = [
        scheme(solves[:1], new=1).reward,
        scheme(solves[:1], new=0).reward,
        scheme(solves[:2], new=1).reward,
        scheme(solves[:2], new=0).reward,
        scheme(solves, new=1).reward,
        scheme(solves, new=0, final=True).reward,
    ]
    assert [s for s, _ in rewards(steps)] == expected
    only_last_ends(steps)


# --- budgets ------------------------------------------------------------------------------


def test_a_cut_verification_truncates_the_game_and_earns_the_unparseable_reward():
    env = game(max_total_length=len(WRONG) + 20)
    steps = play(env, [WRONG, ACCEPT])  # the verdict sentence is cut off
    assert rewards(steps) == [(0.0, 0.0), (-1.0, -1.0)]
    only_last_ends(steps, truncated=True)
    info = env.infos[VERIFIER]
    assert info["end_reason"] == "budget spent"
    assert info["turns"][-1]["cut"] is True
    assert info["turns"][-1]["text"] == ACCEPT[:20]
    assert info["messages"][-1]["content"] == ACCEPT[:20]


def test_a_cut_solution_truncates_the_game_before_the_verifier_acts():
    env = game(max_response_length=10)
    steps = play(env, [RIGHT])
    assert rewards(steps) == [(-1.0, 0.0)]  # "6*7 = 42, " has no boxed answer
    only_last_ends(steps, truncated=True)
    assert env.infos[SOLVER]["grades"][0].reason == "no-answer"


def test_a_turn_cut_by_its_producer_is_cut():
    env = game()
    steps = play(env, [Turn(RIGHT, cut=True)])
    only_last_ends(steps, truncated=True)
    assert env.infos[SOLVER]["turns"][0]["cut"] is True


# --- illegal actions ------------------------------------------------------------------------


def test_a_non_string_action_is_an_illegal_move_that_ends_the_game():
    EnvLogger.flush()
    env = game()
    env.step(42)
    assert env.rewards == {SOLVER: -1.0, VERIFIER: 0.0}
    assert env.terminations == {SOLVER: True, VERIFIER: True}
    assert env.truncations == {SOLVER: False, VERIFIER: False}
    assert any("Illegal move" in m for m in EnvLogger.mqueue)
    for info in env.infos.values():
        assert info["illegal_move"] == SOLVER
        assert info["end_reason"] == "illegal move by solver_0: expected a str action, got int"
    final = finish(env)
    assert final[SOLVER][0] == -1.0 and final[VERIFIER][0] == 0.0
    EnvLogger.flush()


def test_the_verifier_can_move_illegally_too_with_a_custom_penalty():
    env = game(illegal_reward=-5.0)
    steps = play(env, [RIGHT, None])
    assert rewards(steps) == [(0.0, 0.0), (0.0, -5.0)]
    only_last_ends(steps)
    assert env.infos[SOLVER]["reward_components"] == {}
    assert env.infos[VERIFIER]["reward_components"] == {"illegal_move": -5.0}
    EnvLogger.flush()


def test_illegal_move_needs_a_running_game():
    env = game()
    play(env, [RIGHT, ACCEPT])
    with pytest.raises(EpisodeFinishedError, match="'solver_0' is not playing a running game"):
        env.unwrapped.illegal_move(SOLVER, "too late")


def test_bytes_are_decoded_not_illegal():
    env = game()
    assert rewards(play(env, [RIGHT.encode(), ACCEPT.encode()])) == [(0.0, 0.0), (1.0, 1.0)]


def test_a_finished_agent_can_only_pass_none():
    env = game()
    play(env, [RIGHT, ACCEPT])
    with pytest.raises(ValueError, match="only valid action is None"):
        env.step(RIGHT)


def test_stepping_before_reset_is_refused_by_the_order_enforcing_wrapper():
    env = solver_verifier_v0.env(dataset=PROBLEMS)
    with pytest.raises(AssertionError, match="reset\\(\\) needs to be called before step"):
        env.step(RIGHT)


# --- views, observations and info ---------------------------------------------------------


def test_each_agent_sees_its_own_view_and_never_the_gold():
    env = game(attempts=3)
    assert isinstance(env.observe(SOLVER), TextObservation)
    assert "You have 3 attempts" in env.observe(SOLVER)
    assert env.observe(VERIFIER) == ""
    play(env, [WRONG])
    assert env.observe(SOLVER) == ""
    shown = env.observe(VERIFIER)
    assert "What is $6 \\times 7$?" in shown and WRONG in shown
    play(env, [REJECT])
    critique = env.observe(SOLVER)
    assert REJECT in critique and "2 attempts left" in critique
    play(env, [WRONG, MUMBLE])
    solver = env.infos[SOLVER]["messages"]
    verifier = env.infos[VERIFIER]["messages"]
    exchange = ["assistant", "user"]
    assert [m["role"] for m in solver] == ["system", "user", *exchange * 2]
    assert [m["role"] for m in verifier] == ["system", "user", *exchange, "assistant"]
    assert (
        verifier[3]["content"]
        == f"The solver tried again (attempt 2). Check this solution:\n{WRONG}"
    )
    assert [m["content"] for m in solver if m["role"] == "assistant"] == [WRONG, WRONG]
    assert [m["content"] for m in verifier if m["role"] == "assistant"] == [REJECT, MUMBLE]
    for message in solver + verifier:
        assert "42" not in message["content"]


def test_the_verifier_can_be_shown_only_the_boxed_answer():
    env = game(verifier_sees="answer")
    play(env, [WRONG])
    shown = env.observe(VERIFIER)
    assert "\\boxed{41}" in shown and "6*7" not in shown
    env = game(verifier_sees="answer")
    play(env, ["no box here"])
    assert "No final answer in \\boxed{} was given." in env.observe(VERIFIER)


def test_binary_feedback_hides_the_critique():
    env = game(feedback="binary")
    play(env, [WRONG, REJECT])
    assert env.observe(SOLVER) == (
        "Your answer is incorrect. You have 2 attempts left. Try an alternative."
    )


def test_info_names_every_turns_agent_role_and_rewards():
    env = game(attempts=2)
    play(env, [WRONG, REJECT, RIGHT, ACCEPT])
    info = env.infos[SOLVER]
    assert info["role"] == "solver" and env.infos[VERIFIER]["role"] == "verifier"
    assert info["roles"] == {SOLVER: "solver", VERIFIER: "verifier"}
    turns = info["turns"]
    assert [(t["agent"], t["role"], t["kind"], t["attempt"]) for t in turns] == [
        (SOLVER, "solver", "solve", 1),
        (VERIFIER, "verifier", "verify", 1),
        (SOLVER, "solver", "solve", 2),
        (VERIFIER, "verifier", "verify", 2),
    ]
    assert [t["rewards"] for t in turns] == [
        {SOLVER: 0.0, VERIFIER: 0.0},
        {SOLVER: 0.0, VERIFIER: 1.0},
        {SOLVER: 0.0, VERIFIER: 0.0},
        {SOLVER: 1.0, VERIFIER: 1.0},
    ]
    assert turns[0]["extracted"] == "41" and turns[0]["correct"] is False
    assert turns[1]["target_correct"] is False and turns[1]["verdict"] == "incorrect"
    assert info["problem_id"] == "p0" and info["attempts"] == 2 and info["attempts_left"] == 0


def test_active_agent_alternates():
    env = game()
    assert env.infos[SOLVER]["active_agent"] == SOLVER
    play(env, [WRONG])
    assert env.agent_selection == VERIFIER
    assert env.infos[SOLVER]["active_agent"] == VERIFIER


def test_render_shows_the_transcript():
    env = game(render_mode="ansi")
    play(env, [WRONG, ACCEPT])
    text = env.render()
    assert "[solver_0 (solver), attempt 1]" in text and WRONG in text and ACCEPT in text
    assert text.endswith("[end: accepted]")
    assert game().render() is None


# --- reset options and bad configuration --------------------------------------------------


def test_reset_options_fix_the_problem_and_budget():
    env = solver_verifier_v0.env(attempts=(1, 5))
    env.reset(seed=0, options={"index": 3, "attempts": 4})
    assert env.infos[SOLVER]["index"] == 3 and env.infos[SOLVER]["attempts"] == 4
    env.reset(options={"problem": {"problem": "What is 1+1?", "answer": "2"}})
    assert env.unwrapped.problem.answer == "2" and env.infos[SOLVER]["index"] == -1
    with pytest.warns(UserWarning, match="ignoring unknown \\['colour'\\]"):
        env.reset(options={"colour": "red"})
    with pytest.raises(ConfigError, match="options\\['attempts'\\]"):
        env.reset(options={"attempts": 0})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"verifier_sees": "everything"}, "verifier_sees: expected 'response' or 'answer'"),
        ({"illegal_reward": "lots"}, "illegal_reward: expected a finite number"),
        ({"illegal_reward": float("nan")}, "illegal_reward: expected a finite number"),
        ({"feedback": "critiqe"}, "critique"),
        ({"reward": "papr"}, "paper"),
        ({"attempts": 0}, "attempts: expected an int >= 1"),
        ({"verifier_prompt": "check it"}, "verifier_prompt: expected a VerifierPrompt"),
        ({"verifier_reward": "verifer"}, "verifier"),
        ({"mode": "trajectory"}, "mode: the game is always interactive"),
        ({"box": "middle"}, "box: expected 'first' or 'last'"),
    ],
)
def test_bad_configuration_raises_a_clear_error(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        solver_verifier_v0.raw_env(**kwargs)


# --- the parallel API -------------------------------------------------------------------------


def parallel(**kwargs):
    env = solver_verifier_v0.parallel_env(dataset=PROBLEMS, **kwargs)
    env.reset(seed=0)
    return env


def test_parallel_game_gives_the_aec_rewards_step_by_step():
    env = parallel(attempts=3)
    script = [RIGHT, REJECT, WRONG, REJECT, RIGHT, ACCEPT]
    got = []
    for action in script:
        active = env.game.agent_selection
        obs, rew, term, trunc, infos = env.step({active: action})
        got.append((rew[SOLVER], rew[VERIFIER]))
        assert set(infos) == {SOLVER, VERIFIER}
    assert got == rewards(play(game(attempts=3), script))
    assert term == {SOLVER: True, VERIFIER: True} and env.agents == []
    assert infos[SOLVER]["end_reason"] == "accepted"


def test_parallel_acting_out_of_turn_is_illegal_by_default():
    EnvLogger.flush()
    env = parallel()
    obs, rew, term, trunc, infos = env.step({SOLVER: RIGHT, VERIFIER: ACCEPT})
    assert rew == {SOLVER: 0.0, VERIFIER: -1.0}
    assert term == {SOLVER: True, VERIFIER: True} and env.agents == []
    assert infos[SOLVER]["illegal_move"] == VERIFIER
    assert "acted out of turn" in infos[SOLVER]["end_reason"]
    assert infos[SOLVER]["turns"] == ()  # the solver's move was not played either
    EnvLogger.flush()


def test_parallel_out_of_turn_actions_can_be_ignored_and_are_reported():
    env = parallel(out_of_turn="ignore")
    obs, rew, term, trunc, infos = env.step({SOLVER: RIGHT, VERIFIER: "spoken too soon"})
    assert infos[VERIFIER]["ignored_action"] is True and "ignored_action" not in infos[SOLVER]
    assert not any(term.values()) and "Proposed solution" in obs[VERIFIER]
    obs, rew, term, trunc, infos = env.step({SOLVER: None, VERIFIER: ACCEPT})
    assert rew == {SOLVER: 1.0, VERIFIER: 1.0} and env.agents == []


def test_parallel_missing_move_of_the_agent_on_turn_is_illegal():
    env = parallel()
    obs, rew, term, trunc, infos = env.step({})
    assert rew == {SOLVER: -1.0, VERIFIER: 0.0}
    assert "expected a str action, got NoneType" in infos[VERIFIER]["end_reason"]
    EnvLogger.flush()


def test_parallel_rejects_actions_for_agents_not_in_the_game():
    env = parallel()
    with pytest.raises(ConfigError, match="'judge_0'"):
        env.step({"judge_0": "hello"})


def test_parallel_step_without_a_running_game_is_refused():
    env = solver_verifier_v0.parallel_env(dataset=PROBLEMS)
    with pytest.raises(EpisodeFinishedError, match="call reset"):
        env.step({SOLVER: RIGHT})
    env.reset(seed=0)
    env.step({SOLVER: RIGHT})
    env.step({VERIFIER: ACCEPT})
    with pytest.raises(EpisodeFinishedError, match="the game has ended"):
        env.step({SOLVER: RIGHT})
