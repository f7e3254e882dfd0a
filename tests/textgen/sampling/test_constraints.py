import pytest

from textgen.poetry.check import form_problems
from textgen.poetry.forms import resolve_form
from textgen.sampling import SamplingParams

CASES = [
    dict(form="wujue"),
    dict(form="qijue", rhyme=True),
    dict(form="wulv", rhyme=True),
    dict(form="qilv"),
    dict(form="3,5,7"),
    dict(acrostic="春夏秋冬"),
    dict(form="qijue", acrostic="春夏秋冬", rhyme=True),
    dict(form="wujue", acrostic="明月春风", rhyme=True),
    dict(form="wujue", rhyme=True, tones=True),
    dict(form="qilv", acrostic="春夏秋冬春夏秋冬", rhyme=True, tones=True),
    dict(form="wulv", tones=True),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_every_constrained_sample_complies(gen, case):
    params = SamplingParams(temperature=1.2, max_new_tokens=100, **case)
    spec = resolve_form(case.get("form"), case.get("acrostic"), case.get("rhyme", False))
    outs = gen.generate("", params, n=40, seed=1000)
    for c in outs:
        assert c.finish_reason == "eos", c
        problems = form_problems(
            c.text, spec, case.get("acrostic"), case.get("rhyme", False), case.get("tones", False)
        )
        assert problems == [], c.text
    assert len({c.text for c in outs}) > 30  # the model still chooses the words


def test_constraints_with_prompt_greedy_and_penalties(gen):
    spec = resolve_form("wujue")
    for kw in (
        dict(temperature=0),
        dict(top_k=3, repetition_penalty=2.0, no_repeat_ngram_size=1),
        dict(top_p=0.5),
    ):
        for seed in range(10):
            c = gen.generate("床前", SamplingParams(form="wujue", rhyme=True, **kw), seed=seed)[0]
            assert form_problems("床前" + c.text, spec, rhyme=True) == [], c.text


def test_couplet_layout_is_the_default_and_line_layout_is_possible(gen):
    c = gen.generate("", SamplingParams(form="wujue"), seed=3)[0]
    assert c.text.count("\n") == 1 and c.text.endswith("。")
    gen2 = type(gen)(gen.checkpoint, layout="line")
    c = gen2.generate("", SamplingParams(form="wujue"), seed=3)[0]
    assert c.text.count("\n") == 3
    assert form_problems(c.text, resolve_form("wujue", layout="line")) == []
