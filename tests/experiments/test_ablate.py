"""The ablation runner end to end at the mini preset: files, pairing, resume, refusals.

Which scheme wins is the full run's business (the README's table), not a test's.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math

import pytest

from experiments.ablate.__main__ import main
from experiments.ablate.presets import PRESETS, Ablation
from experiments.ablate.report import markdown, summarize
from experiments.ablate.run import run
from experiments.ablate.stats import interval, paired
from experiments.replicate.settings import PRESETS as PRESETS_TESTBED
from experiments.replicate.settings import problem_sets
from mathattempt_env.errors import ConfigError

MINI = PRESETS["mini"].settings
#: "paper:wrong=-0.5" is the paper's scheme spelled with its default parameter: trained from
#: the same warm start with the same seeds it must give the same model, so a paired
#: difference of exactly 0 shows that the schemes really are paired.
SAME = "paper:wrong=-0.5"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("ablation")
    ablation = Ablation(MINI, ("paper", "binary", SAME), "paper")
    return out, ablation, run(out, ablation, progress=False)


def test_a_mini_ablation_writes_its_report_and_pairs_every_scheme(finished):
    out, ablation, summary = finished
    for name in ("summary.md", "summary.json", "ablation.png", "ablation.json", "heldout.jsonl",
                 "seed0/warm/model/config.json", "seed1/eval-warm/results.jsonl",
                 "seed1/binary/training.json", "seed1/paper_wrong=-0.5/model/config.json"):  # fmt: skip
        assert (out / name).is_file(), name
    assert not (out / "seed0" / "paper" / "warm").exists()  # one warm start per seed, shared
    assert len(summary["seeds"]) == MINI.seeds
    ks = [str(k) for k in range(1, MINI.eval_attempts + 1)]
    for seed in summary["seeds"]:
        for model in ("warm", "paper", "binary", SAME):
            accuracy = [seed[model]["accuracy"][k] for k in ks]
            assert accuracy == sorted(accuracy) and all(0 <= a <= 1 for a in accuracy)
            assert seed[model]["episodes"] == MINI.eval_problems
            assert 0 <= seed[model]["formatted_rate"] <= 1
            assert -1 <= seed[model]["reward"] <= 1
        assert json.dumps(seed[SAME]) == json.dumps(seed["paper"])  # paired: same model
    same = summary["comparisons"][SAME]
    for metric in ("acc@1", f"acc@{MINI.eval_attempts}", "formatted_rate", "reward"):
        assert same[metric]["differences"] == [0.0] * MINI.seeds
        assert not same[metric]["resolved"]
    text = (out / "summary.md").read_text()
    assert "| `binary` | acc k=1 |" in text and "Within noise:" in text
    assert text == markdown(summarize(ablation, summary["seeds"]))


def test_a_finished_ablation_resumes_to_the_same_report_and_refuses_other_settings(finished):
    out, ablation, summary = finished
    again = run(out, ablation, progress=False)  # everything is on disk: nothing reruns
    assert json.dumps(again) == json.dumps(summary)
    with pytest.raises(ConfigError, match="other settings .*schemes"):
        run(out, dataclasses.replace(ablation, schemes=("paper", "binary")), progress=False)
    with pytest.raises(ConfigError, match="other settings .*steps"):
        run(out, dataclasses.replace(ablation, settings=dataclasses.replace(MINI, steps=3)),
            progress=False)  # fmt: skip


def test_the_command_runs_a_preset_with_chosen_schemes_and_refuses_bad_ones(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["--mini", "--seeds", "1", "--schemes", "paper", "paper:wrong=-1",
                 "--out", str(out), "--no-progress"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "| `paper:wrong=-1` | acc k=1 |" in printed
    assert "With one seed no interval can be estimated" in printed
    assert main(["--mini", "--schemes", "paper", "nonsense", "--out", str(tmp_path / "x")]) == 2
    assert "nonsense" in capsys.readouterr().err
    assert main(["--mini", "--schemes", "paper:wrong=abc", "--out", str(tmp_path / "y")]) == 2
    assert "wrong" in capsys.readouterr().err
    assert main(["--mini", "--schemes", "paper", "--baseline", "binary",
                 "--out", str(tmp_path / "z")]) == 2  # fmt: skip
    assert "baseline" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # refused before anything is written


def test_returns_are_reported_to_hundredths_and_percentages_to_tenths(finished):
    """A resolved return difference of +0.04 must not print as +0.0."""
    _, _, summary = finished
    edited = copy.deepcopy(summary)
    edited["comparisons"][SAME]["reward"].update(mean=0.04, low=0.01, high=0.07, resolved=True)
    edited["comparisons"][SAME]["acc@1"].update(mean=0.025, low=0.005, high=0.045)
    text = markdown(edited)
    assert f"| `{SAME}` | return (paper scheme) | +0.04 [0.01, 0.07] | **resolved** |" in text
    assert f"| `{SAME}` | acc k=1 | +2.5 [0.5, 4.5] |" in text


def test_intervals_and_paired_differences_are_students_t():
    values = [0.31, 0.42, 0.35, 0.5]
    mean, low, high = interval(values)
    # by hand: sd 0.08347 (n - 1), t(0.975, 3) = 3.182, half-width 3.182 * 0.08347 / 2
    assert mean == pytest.approx(0.395) and high - mean == pytest.approx(0.13280, abs=1e-4)
    assert mean - low == pytest.approx(high - mean)
    assert math.isnan(interval([0.4])[1]) and math.isnan(interval([math.nan])[0])
    result = paired([0.5, 0.6, 0.55], [0.4, 0.52, 0.44])
    assert result["differences"] == pytest.approx([0.1, 0.08, 0.11]) and result["resolved"]
    assert not paired([0.5, 0.4, 0.6], [0.45, 0.5, 0.5])["resolved"]
    with pytest.raises(ValueError, match="3 values against 2"):
        paired([1, 2, 3], [1, 2])


def test_the_sweep_measures_each_candidate_once_and_passes_only_models_that_answer(tmp_path):
    from experiments.replicate.sweep import READS_FEEDBACK, SWEEPS, passes, sweep
    from experiments.replicate.sweep import main as sweep_main

    out = tmp_path / "sweep"
    assert sweep_main(["--mini", "--out", str(out), "--no-progress"]) == 0
    rows = json.loads((out / "sweep.json").read_text())
    assert [row["label"] for row in rows] == [label for label, _ in SWEEPS["mini"]]
    for row in rows:
        result = row["result"]
        assert result["parameters"] > 0 and result["fit_seconds"] > 0
        assert 0 <= result["formatted_rate"] <= 1
        assert row["settings"]["repeat_prob"] == 0  # fitted on never-repeat traces
    stamp = (out / "width-16" / "result.json").stat().st_mtime_ns
    assert sweep(out, "mini", progress=False) == rows  # resumed: read from disk
    assert (out / "width-16" / "result.json").stat().st_mtime_ns == stamp
    table = (out / "sweep.md").read_text()
    assert "| width 16 | 16×1 |" in table and "| level 1, m = 3..7 |" in table
    silent = {"repeat_rate": 0.0, "formatted_rate": 0.2}  # repeats nothing: says nothing
    assert not passes(silent)
    assert passes({"repeat_rate": READS_FEEDBACK / 2, "formatted_rate": 0.95})
    assert not passes({"repeat_rate": READS_FEEDBACK, "formatted_rate": 1.0})


def test_on_the_testbed_a_curriculum_spends_its_samples_inside_the_band():
    """The testbed's env and problems, played by the guesser its warm start imitates.

    A guesser that never repeats a rejected answer solves a remainder problem with divisor
    ``m`` within 2 attempts with chance ``2/m``: 0.67, 0.5, 0.4, 0.33, 0.29 for m = 3..7.
    Bucketed by divisor, a band of (0.45, 0.85) holds m = 3 and 4 (36% of the problems).
    """
    import gymnasium as gym
    import numpy as np

    from experiments.replicate.settings import divisor
    from experiments.replicate.warmstart import _guess
    from mathattempt_env.types import Problem
    from mathattempt_env.wrappers.curriculum import CurriculumWrapper

    train, _, _ = problem_sets(PRESETS_TESTBED["testbed"])
    by_divisor = [Problem(p.id, p.problem, p.answer, level=divisor(p)) for p in train]
    env = CurriculumWrapper(
        gym.make("MultiAttemptMath-v0", dataset=by_divisor, attempts=2, feedback="answer"),
        band=(0.45, 0.85), window=48, seed=3,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    played = []
    for _ in range(900):
        env.reset(seed=int(rng.integers(2**31)))
        m, rejected, done = env.unwrapped.problem.level, [], False
        while not done:
            answer = _guess(m, rejected, rng, repeat_prob=0.0)
            rejected.append(answer)
            *_, terminated, truncated, _ = env.step(rf"\boxed{{{answer}}}")
            done = terminated or truncated
        played.append(m)
    late = played[300:]
    inside = sum(m in (3, 4) for m in late) / len(late)
    assert inside > 0.7, inside  # uniform over the problems: 0.36
    stats = env.curriculum.stats()
    assert stats["3"]["rate"] > 0.45 and stats["7"]["rate"] < 0.45, stats
    assert all(s["picked"] > 0 for s in stats.values())  # the others are still measured
