"""The replication pipeline end to end in seconds (--mini): files, resume, well-formed numbers.

Whether the effect appears is the benchmark's business (the README's table), not a test's.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from experiments.replicate.__main__ import main
from experiments.replicate.rloo import advantages, train
from experiments.replicate.run import run
from experiments.replicate.settings import MULTI, PRESETS, divisor, problem_sets
from experiments.replicate.warmstart import encode, write_traces
from mathattempt_env.data.builtin import BuiltinProblems
from mathattempt_env.data.validate import find_overlap
from mathattempt_env.errors import ConfigError

MINI = PRESETS["mini"]


def test_a_mini_run_writes_every_file_with_well_formed_numbers(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["--mini", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| + multi-attempt RL |" in printed and "summary.md" in printed
    for name in ("summary.md", "summary.json", "curves.png", "training.png", "settings.json",
                 "heldout.jsonl", "seed0/warm/model/config.json", "seed0/multi/training.json",
                 "seed0/single/model/config.json", "seed0/single/model-step2/config.json",
                 "seed0/eval-multi/results.jsonl", "seed0/eval-single_compute/results.jsonl"):  # fmt: skip
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    ks = [str(k) for k in range(1, MINI.eval_attempts + 1)]
    assert "| + single-turn RL, equal compute |" in printed
    for arm in ("warm", "multi", "single", "single_compute"):
        result = summary["evals"][0][arm]
        accuracy = [result["accuracy"][k] for k in ks]
        assert all(0 <= a <= 1 for a in accuracy) and accuracy == sorted(accuracy)
        assert result["episodes"] == MINI.eval_problems
        rate = result["repeat_rate"]
        assert math.isnan(rate) or 0 <= rate <= 1
    history = json.loads((out / "seed0/multi/training.json").read_text())
    assert [h["step"] for h in history] == [1, 2]
    assert all(-1 <= h["reward"] <= 1 and h["model_tokens"] > 0 for h in history)
    single = json.loads((out / "seed0/single/training.json").read_text())
    assert len(single) == MINI.single_steps
    compute = summary["compute"]
    assert [compute[a]["steps"] for a in ("multi", "single", "single_compute")] == [2, 2, 3]
    assert 0 < compute["single"]["model_tokens"][0] < compute["single_compute"]["model_tokens"][0]
    assert set(summary["goals"]) == {
        "learns_from_failures_every_seed",
        "repeat_rate_falls_15_every_seed",
        "gap_over_10_every_seed_same_sign",
        "gap_over_10_every_seed_same_sign_equal_compute",
        "learn_5_points_every_seed",
        "repeat_rate_falls_every_seed",
    }


def test_a_finished_run_resumes_to_the_same_report_and_other_settings_are_refused(tmp_path):
    out = tmp_path / "run"
    first = run(out, MINI, progress=False)
    again = run(out, MINI, progress=False)  # every stage is on disk: nothing reruns
    for key in ("evals", "effects"):  # JSON, so that NaN (no second attempts) compares equal
        assert json.dumps(again[key]) == json.dumps(first[key])
    with pytest.raises(ConfigError, match="other settings .*steps"):
        run(out, dataclasses.replace(MINI, steps=3), progress=False)
    # a run saved before a field existed resumes when the field keeps its default
    saved = json.loads((out / "settings.json").read_text())
    del saved["divisors"], saved["level"]
    (out / "settings.json").write_text(json.dumps(saved))
    assert json.dumps(run(out, MINI, progress=False)["evals"]) == json.dumps(first["evals"])
    with pytest.raises(ConfigError, match=r"other settings \(divisors differ\)"):
        run(out, dataclasses.replace(MINI, divisors=(3,)), progress=False)


def test_rl_killed_after_a_checkpoint_resumes_to_the_same_model(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from experiments.tiny import tiny_qwen2

    settings = dataclasses.replace(MINI, checkpoint_every=1)
    problems, _, _ = problem_sets(settings)

    def fresh():
        return tiny_qwen2(hidden_size=16, layers=1, seed=3)

    model, tokenizer = fresh()
    whole = train(model, tokenizer, MULTI, problems, settings, steps=3, seed=7,
                  folder=tmp_path / "whole", snapshots=[2])  # fmt: skip
    first, tokenizer = fresh()
    train(first, tokenizer, MULTI, problems, settings, steps=2, seed=7, folder=tmp_path / "cut",
          snapshots=[2])  # fmt: skip
    second, tokenizer = fresh()  # a new process would start from the warm model again
    resumed = train(second, tokenizer, MULTI, problems, settings, steps=3, seed=7,
                    folder=tmp_path / "cut", snapshots=[2])  # fmt: skip

    def strip(history):  # wall time differs; NaN (no second attempt) compares as JSON
        return json.dumps([{k: v for k, v in h.items() if k != "seconds"} for h in history])

    assert strip(resumed) == strip(whole)
    for a, b in zip(model.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    snapshot = [AutoModelForCausalLM.from_pretrained(tmp_path / run / "model-step2")
                for run in ("whole", "cut")]  # fmt: skip
    for a, b in zip(*(m.state_dict().values() for m in snapshot), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("seed", range(20))
def test_rloo_advantages_are_leave_one_out_per_attempt(seed):
    rng = np.random.default_rng(seed)
    g = int(rng.integers(2, 9))
    returns = rng.choice([1.0, -0.5, -1.0], size=g)
    attempts = rng.integers(1, 6, size=g)
    episode = advantages(returns, attempts, "episode")
    classic = returns - (returns.sum() - returns) / (g - 1)
    assert np.allclose(episode, classic[:, None])  # one advantage per episode: plain RLOO
    attempt = advantages(returns, attempts, "attempt")
    assert np.allclose(attempt[:, 0], classic)  # everyone reaches the first attempt
    for t in range(attempts.max()):
        reached = attempts > t
        if reached.sum() >= 2:  # a leave-one-out baseline: the credits of an attempt sum to 0
            assert abs(attempt[reached, t].sum()) < 1e-9
        if reached.sum() == 1:  # nobody else got there: the previous attempt's baseline
            i = int(np.flatnonzero(reached)[0])
            assert attempt[i, t] == pytest.approx(attempt[i, t - 1])


def test_the_held_out_set_is_disjoint_and_the_warm_traces_are_what_they_claim():
    train_problems, held_out, dropped = problem_sets(PRESETS["full"])
    assert find_overlap(train_problems, held_out) == [] and dropped > 0
    assert len(held_out) == PRESETS["full"].eval_problems
    traces = write_traces(train_problems, 600, np.random.default_rng(0), repeat_prob=0.35)
    repeated = later = 0
    for conversation in traces:
        answers = [m["content"] for m in conversation if m["role"] == "assistant"]
        later += len(answers) - 1
        repeated += sum(a in answers[:n] for n, a in enumerate(answers) if n)
    assert 0.25 < repeated / later < 0.45  # the scripted guesser repeats as configured
    assert all(t[-1]["role"] == "assistant" for t in traces)  # each ends with an answer
    assert {divisor(p) for p in train_problems} == {3, 4, 5, 6, 7}


def test_a_divisor_filter_keeps_only_that_answer_space_and_refuses_what_it_cannot_fill():
    settings = dataclasses.replace(MINI, level=2, divisors=(3,), train_problems=300,
                                   eval_problems=100)  # fmt: skip
    train_problems, held_out, _ = problem_sets(settings)
    assert len(train_problems) == 300 and len(held_out) == 100
    assert {divisor(p) for p in train_problems + held_out} == {3}
    assert find_overlap(train_problems, held_out) == []
    assert {int(p.answer) for p in held_out} == {0, 1, 2}
    # without a filter, the problems are the generator's own, as before the option existed
    everything = dataclasses.replace(MINI, train_problems=300, eval_problems=100)
    assert problem_sets(everything)[0] == list(
        BuiltinProblems(1000, size=300, levels=(1,), families=("remainder",))
    )
    with pytest.raises(ConfigError, match=r"divisors: level 1 draws divisors 3..7, got \(9,\)"):
        dataclasses.replace(MINI, divisors=(9,))
    with pytest.raises(ConfigError, match=r"\d+/500 distinct evaluation"):  # only 491 exist
        problem_sets(dataclasses.replace(MINI, divisors=(3,), eval_problems=500))


def test_the_warm_start_loss_covers_the_answers_only():
    from experiments.tiny import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    problems, _, _ = problem_sets(MINI)
    traces = write_traces(problems, 4, np.random.default_rng(1), repeat_prob=0.9)
    for conversation in traces:
        ids, mask = encode(tokenizer, conversation)
        kept = tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if m])
        answers = [m["content"] for m in conversation if m["role"] == "assistant"]
        assert kept == "".join(a + "<|im_end|>" for a in answers)
        rendered = tokenizer.apply_chat_template(conversation, tokenize=False)
        assert tokenizer.decode(ids) == rendered.rstrip("\n")


def test_the_saved_warm_start_reads_its_traces_as_it_was_trained_on_them(tmp_path):
    # Evaluation and RL load the tokenizer back from the warm start's folder; transformers
    # builds a Qwen2 model's tokenizer as a Qwen2Tokenizer there. Any difference from the
    # tokenizer the warm start was fitted with (e.g. " 3" one token in training, two when
    # loaded) leaves the model unable to read the feedback it learnt to read.
    from transformers import AutoTokenizer

    from experiments.replicate.run import _warm
    from experiments.tiny import tiny_tokenizer

    problems, _, _ = problem_sets(MINI)
    _warm(tmp_path / "warm", problems, MINI, 0, False)
    loaded = AutoTokenizer.from_pretrained(tmp_path / "warm" / "model")
    fitted = tiny_tokenizer(MINI.vocab)
    traces = write_traces(problems, 40, np.random.default_rng([0, 1]), repeat_prob=0.35,
                          multi=MINI.warm_multi, attempts=MINI.warm_attempts)  # fmt: skip
    assert [encode(loaded, t) for t in traces] == [encode(fitted, t) for t in traces]
    assert loaded.tokenize("Your answer 37 is incorrect.")[2:5] == ["Ġ", "3", "7"]  # as Qwen2.5


def test_the_unlearning_calibration_fine_tunes_each_candidate_once_and_tables_it(tmp_path):
    from experiments.replicate.unlearn import CANDIDATES
    from experiments.replicate.unlearn import main as unlearn_main

    out = tmp_path / "unlearn"
    assert unlearn_main(["--mini", "--out", str(out), "--no-progress"]) == 0
    rows = json.loads((out / "unlearn.json").read_text())
    assert [(r["steps"], r["lr"]) for r in rows] == [(0, 0.0), *CANDIDATES["mini"]]
    tuned = out / "steps2-lr0.001" / "model"
    assert tuned.is_dir() and (out / "warm" / "model").is_dir()
    # each candidate is the warm start changed by its own fine-tuning
    from transformers import AutoModelForCausalLM

    before = AutoModelForCausalLM.from_pretrained(out / "warm" / "model").state_dict()
    after = AutoModelForCausalLM.from_pretrained(tuned).state_dict()
    assert any(not (before[k] == after[k]).all() for k in before)
    stamp = (tuned / "config.json").stat().st_mtime_ns
    assert unlearn_main(["--mini", "--out", str(out), "--no-progress"]) == 0  # resumed
    assert (tuned / "config.json").stat().st_mtime_ns == stamp
    table = (out / "unlearn.md").read_text()
    assert "| none (the warm start) |" in table and "| 2 steps, lr 0.001 |" in table
