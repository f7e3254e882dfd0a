"""The detectability benchmark's parts: ROC AUC, the 2-fold classifier on sets it can and cannot
tell apart, and the helpers that turn a generated text into a body and measure it."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from .conftest import load

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


det, jueju = load("detectability"), load("jueju")


def test_roc_auc_counts_ties_half():
    y = np.array([0, 0, 1, 1])
    assert det.roc_auc(np.array([0.1, 0.2, 0.3, 0.4]), y) == 1.0
    assert det.roc_auc(np.array([0.4, 0.3, 0.2, 0.1]), y) == 0.0
    assert det.roc_auc(np.array([0.5, 0.5, 0.5, 0.5]), y) == 0.5
    assert det.roc_auc(np.array([0.1, 0.3, 0.3, 0.4]), y) == 0.875


def poems(chars: str, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    line = lambda: "".join(rng.choice(chars) for _ in range(5))  # noqa: E731
    return [f"{line()}，{line()}。\n{line()}，{line()}。" for _ in range(n)]


def test_two_fold_tells_apart_what_differs_and_not_what_does_not(monkeypatch):
    monkeypatch.setattr(det, "C_GRID", (3.0,))  # fewer fits: a fast test
    a, b = "山水花月风云江湖天地", "春秋日夜人归来去长望"
    same = det.two_fold(poems(a + b, 30, 1), poems(a + b, 30, 2), repeats=1, seed=0)
    apart = det.two_fold(poems(a, 30, 3), poems(b, 30, 4), repeats=1, seed=0)
    for k in ("ngrams", "ngrams+form"):
        assert apart[k]["auc"] > 0.98 and apart[k]["accuracy"] > 0.9
        assert 0.25 < same[k]["auc"] < 0.75
        assert len(same[k]["folds"]) == 2


def test_body_of_drops_the_header_lines_the_model_wrote():
    body = "九龙蟠焰动，四照逐花生。\n即此流高殿，堪持待月明。"
    assert jueju.body_of(f"咏烛\n{body}", "咏烛") == body
    assert jueju.body_of(f"咏烛\n动、逐、即、持\n{body}", "咏烛", "动、逐、即、持") == body
    assert jueju.body_of(f"咏烛\n动、逐\n{body}") == body  # not told: lines without clause marks go
    assert jueju.body_of(body) == body


def test_repeats_and_title_lengths():
    assert jueju.cross_line_repeats("明月照明月，清风。\n明月，风风。") == 3  # 明 月 twice more, 风 once
    t = jueju.title_lengths(["春晓", "一二三四五六七八九十一二三", None, "夜"])
    assert t == {
        "titles": 3,
        "title_mean": pytest.approx(16 / 3),
        "title_p95": 13,
        "title_long": pytest.approx(1 / 3),
    }
    assert jueju.title_lengths([None]) == {"titles": 0}
    assert jueju.settings(search=None, temperature=0.8, rhyme=False) == {"temperature": 0.8, "rhyme": False}
