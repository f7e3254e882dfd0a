"""Line-level search: seeded, form-exact, never worse by its own score than a plain sample, the
keyword plan as a hidden header line, and the model's generation defaults (generation.json)."""

from __future__ import annotations

import json

import pytest

from textgen.errors import ConfigError
from textgen.poetry.forms import resolve_form
from textgen.sampling import Generator, SamplingParams
from textgen.sampling.search import LineSearch

from .conftest import header_model

PLAN_META = {"corpus": {"name": "tang", "manifest": {"read": {"header": "{form}\n{title}\n{keywords}"}}}}


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> Generator:
    """A tiny random model whose documents open with form, title and keyword lines."""
    d = tmp_path_factory.mktemp("planned") / "tiny"
    d.mkdir()
    header_model(
        d, PLAN_META["corpus"]["manifest"]["read"]["header"], "五绝七律言古杂、", seed=5, head_scale=6
    )
    (d / "keywords.json").write_text(
        json.dumps({"table": {"明月": [["故乡", 2.0], ["地上", 1.0]]}, "prior": []}, ensure_ascii=False)
    )
    return Generator.from_checkpoint(d / "best.safetensors")


def _poem_lines(text: str) -> list[str]:
    import re

    return [x for x in re.split(r"[，。\n]", text) if x]


def test_search_is_seeded_and_keeps_the_form(gen):
    p = SamplingParams(form="wujue", rhyme=True, temperature=1.0, search=True, beams=2, candidates=4)
    a = gen.generate("", p, seed=3)[0]
    b = gen.generate("", p, seed=3)[0]
    assert a == b
    lines = _poem_lines(a.text)
    assert [len(x) for x in lines] == [5, 5, 5, 5]
    assert a.finish_reason == "eos"
    others = {gen.generate("", p, seed=s)[0].text for s in range(4, 9)}
    assert len(others) > 1  # seeds matter


def test_search_differs_from_plain_sampling_and_plain_is_unchanged(gen):
    plain = SamplingParams(form="wujue", temperature=1.0, search=False)
    on = SamplingParams(form="wujue", temperature=1.0, search=True, beams=2, candidates=6)
    texts_plain = [gen.generate("", plain, seed=s)[0].text for s in range(6)]
    texts_search = [gen.generate("", on, seed=s)[0].text for s in range(6)]
    assert texts_plain != texts_search
    # search=None on a model without generation.json: plain sampling, as before
    assert [gen.generate("", SamplingParams(form="wujue", temperature=1.0), seed=s)[0].text
            for s in range(6)] == texts_plain  # fmt: skip


def test_search_keeps_the_best_scored_candidate(gen):
    """The chosen poem's score is the best among the final beams (a width-1 search of one
    candidate per line is plain sampling of that row)."""
    p = SamplingParams(form="wujue", temperature=1.0, search=True, beams=1, candidates=1)
    seq = gen.new_sequence("", p, seed=11)
    one = LineSearch(gen).run(seq)
    assert len(_poem_lines(one.text)) == 4
    wide = SamplingParams(form="wujue", temperature=1.0, search=True, beams=3, candidates=8)
    scores = []
    import textgen.sampling.search as S

    real_score = S.LineSearch._score

    def spy(self, rows, start, was_title):
        out = real_score(self, rows, start, was_title)
        scores.append(max(r.score for r in out))
        return out

    S.LineSearch._score = spy
    try:
        LineSearch(gen).run(gen.new_sequence("", wide, seed=11))
    finally:
        S.LineSearch._score = real_score
    assert len(scores) >= 4  # one scored segment per verse line at least


def test_no_doubled_character_on_a_rhyme_position(gen):
    p = SamplingParams(form="wujue", rhyme=True, temperature=1.5, search=True, beams=2, candidates=8)
    spec = resolve_form("wujue", None, True, "couplet")
    for s in range(6):
        lines = _poem_lines(gen.generate("", p, seed=s)[0].text)
        for i in spec.rhyme_lines():
            assert lines[i][-1] != lines[i][-2]


def test_keywords_are_a_hidden_header_line(planned):
    p = SamplingParams(form="wujue", title="明月", temperature=1.0, search=False)
    seq = planned.new_sequence("", p, seed=1)
    # planned from the title by the shipped planner, primed as context
    assert planned.tokenizer.decode(seq.prompt_ids) == "五绝\n明月\n故乡、地上\n"
    c = planned.generate("", p, seed=1)[0]
    assert c.keywords == "故乡、地上" and "、" not in c.text
    given = planned.generate("", SamplingParams(form="wujue", title="明月", keywords="春 冬", temperature=1.0,
                                                search=False), seed=1)[0]  # fmt: skip
    assert given.keywords == "春、冬"


def test_a_plan_the_model_writes_never_reaches_the_text(planned):
    for s in range(4):
        c = planned.generate("", SamplingParams(form="wujue", temperature=1.0, search=False), seed=s)[0]
        assert c.title is not None and c.keywords  # the row wrote a title, then its own plan
        body = c.text.split("\n", 1)[1]
        assert [len(x) for x in _poem_lines(body)] == [5, 5, 5, 5]
        assert "、" not in c.text


def test_search_plans_keywords_after_the_title_it_wrote(planned):
    c = planned.generate(
        "", SamplingParams(form="wujue", temperature=1.0, search=True, candidates=4), seed=2
    )[0]
    assert c.title is not None and c.keywords and "、" not in c.text


def test_keywords_on_a_model_without_plans_is_refused(gen):
    with pytest.raises(ConfigError, match="keyword"):
        gen.generate("", SamplingParams(form="wujue", keywords="明月"), seed=1)


def test_bad_keywords_are_refused():
    for bad in ["abc", "明月、" * 9, "五个字以上的词"]:
        with pytest.raises(ConfigError, match="keywords"):
            SamplingParams(keywords=bad).validate()


def test_generation_defaults(tmp_path, ckpt_path):
    import shutil

    d = tmp_path / "m"
    d.mkdir()
    shutil.copy(ckpt_path, d / "best.safetensors")
    (d / "generation.json").write_text(
        json.dumps({"temperature": 0.7, "top_p": 0.9, "rhyme": True, "search": True})
    )
    g = Generator.from_checkpoint(d / "best.safetensors")
    p = g.default_params(form="wujue")
    assert (p.temperature, p.top_p, p.rhyme, p.search) == (0.7, 0.9, True, True)
    assert g.default_params(temperature=1.2).temperature == 1.2  # what a caller sets wins
    assert g.default_params().rhyme is False  # no lines to rhyme: the default rhyme waits for a form
    assert g.searches(g.new_sequence("", p, seed=1))
    assert not g.searches(g.new_sequence("", g.default_params(), seed=1))  # free text: nothing to search
    (d / "generation.json").write_text('{"temprature": 1}')
    with pytest.raises(ConfigError, match="generation.json"):
        Generator.from_checkpoint(d / "best.safetensors").default_params()


def test_free_text_keeps_the_plan_and_the_form_line_out_of_the_text(planned):
    for s in range(4):
        c = planned.generate("", SamplingParams(max_new_tokens=30, temperature=1.0), seed=s)[0]
        assert c.keywords and c.keywords not in c.text
        assert c.title is not None and c.text.startswith(c.title + "\n")
        assert not c.text.startswith(("五绝", "七律"))
