"""The accuracy plot: a 0-100% axis, a title, and one line per dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mathattempt_env.eval.report import plot_accuracy


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    from matplotlib.figure import Figure

    figures: list[Any] = []
    original = Figure.savefig

    def keep(self: Figure, *args: Any, **kwargs: Any) -> None:
        figures.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figures


def test_all_zero_accuracy_has_no_negative_ticks_and_a_titled_figure(drawn, tmp_path: Path):
    summary = {"accuracy": {"a": {1: 0.0, 2: 0.0}, "average": {1: 0.0, 2: 0.0}}}
    plot_accuracy(tmp_path / "p.png", [("run", summary)], [1, 2], title="Env, model, 2")
    (axes,) = drawn[0].axes
    assert axes.get_ylim() == (0.0, 100.0)
    assert axes.get_title() == "Env, model, 2"
    assert [line.get_label() for line in axes.get_lines()] == ["a"]  # no average over one


def test_several_datasets_get_their_lines_and_a_bold_average(drawn, tmp_path: Path):
    summary = {
        "accuracy": {"a": {1: 0.2}, "b": {1: 0.4}, "average": {1: 0.3}},
    }
    plot_accuracy(tmp_path / "p.png", [("run", summary)], [1])
    labels = [line.get_label() for line in drawn[0].axes[0].get_lines()]
    assert labels == ["a", "b", "average"]


def test_the_average_is_drawn_beneath_the_datasets_it_may_coincide_with(drawn, tmp_path: Path):
    summary = {"accuracy": {"a": {1: 0.3}, "b": {1: 0.3}, "average": {1: 0.3}}}
    plot_accuracy(tmp_path / "p.png", [("run", summary)], [1])
    lines = {line.get_label(): line for line in drawn[0].axes[0].get_lines()}
    assert lines["average"].get_zorder() < min(lines[n].get_zorder() for n in "ab")
    assert lines["average"].get_linewidth() <= lines["a"].get_linewidth()


def test_a_compared_run_has_colours_of_its_own(drawn, tmp_path: Path):
    first = {"accuracy": {"a": {1: 0.2}, "b": {1: 0.4}, "average": {1: 0.3}}}
    second = {"accuracy": {"a": {1: 0.25}, "b": {1: 0.45}, "average": {1: 0.35}}}
    plot_accuracy(tmp_path / "p.png", [("new", first), ("old", second)], [1])
    lines = drawn[0].axes[0].get_lines()
    colours = [line.get_color() for line in lines]
    assert len(set(colours)) == len(colours) == 6, colours
    styles = {line.get_label(): line.get_linestyle() for line in lines}
    assert styles["a (new)"] == "-" and styles["a (old)"] == "--"
