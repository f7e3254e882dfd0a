"""Rhyme and tone constraints under a rhyme scheme: 平水韵 for classical models, 中华新韵 on request."""

import pytest

from textgen.poetry.check import form_problems, split_lines
from textgen.poetry.forms import resolve_form
from textgen.poetry.rhyme import rhymes_of, tones_of
from textgen.sampling import SamplingParams

from .test_constraints import small_vocab_generator

# 生/红/风 rhyme today (庚) but sit in three 平水韵 groups; 白 石 日 月 are 入声 (仄) though 白 and 石
# read 平 today; 斜/家/花 share 六麻; 看 思 are 多音字 (平 or 仄).
CHARS = "生红风月白石日天霜光乡家斜花山雨去看思人明春秋不一"


@pytest.mark.parametrize("scheme", ["pingshui", "xinyun"])
@pytest.mark.parametrize("form", ["wujue", "qilv"])
def test_rhyme_and_tones_hold_under_each_scheme(scheme, form):
    gen = small_vocab_generator(CHARS)
    params = SamplingParams(form=form, rhyme=True, tones=True, rhyme_scheme=scheme, temperature=2.0)
    outs = gen.generate("", params, n=30, seed=5)
    for c in outs:
        assert form_problems(c.text, resolve_form(form), rhyme=True, tones=True, scheme=scheme) == [], c.text
    assert len({c.text for c in outs}) > 20
    if scheme == "pingshui":  # every rhyme is 平 in one group; 平 slots never get an 入声 character
        for c in outs:
            lines = split_lines(c.text)
            groups = [rhymes_of(x[-1]) for x in lines[1::2]]
            assert frozenset.intersection(*groups) and all(True in tones_of(x[-1]) for x in lines[1::2])


def test_classical_rhyme_rejects_what_modern_rhyme_accepts():
    # 生 红 风 share 庚 in 中华新韵; in 平水韵 生 is 八庚, 红 风 一东: 生 never rhymes with them.
    gen = small_vocab_generator("生红风霜光乡月")
    modern = gen.generate("", SamplingParams(form="wujue", rhyme=True, rhyme_scheme="xinyun"), n=40, seed=0)
    classic = gen.generate("", SamplingParams(form="wujue", rhyme=True), n=40, seed=0)
    ends = lambda outs: [{x[-1] for x in split_lines(c.text)[1::2]} for c in outs]  # noqa: E731
    assert any("生" in e and e & set("红风") for e in ends(modern))
    assert not any("生" in e and e & set("红风") for e in ends(classic))


def test_the_model_picks_the_default_scheme_and_tables_are_built_once():
    from textgen.checkpoint import Checkpoint
    from textgen.model import RNNLM, ModelConfig
    from textgen.sampling import Generator
    from textgen.tokenizer import CharTokenizer

    tok = CharTokenizer(list("，。\n") + list(CHARS))
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=8, n_embd=4)).eval()
    assert Generator(Checkpoint(model, tok, {"corpus": {"name": "tang"}})).rhyme_scheme == "pingshui"
    lyrics = Generator(Checkpoint(model, tok, {"corpus": {"name": "lyrics"}}))
    assert lyrics.rhyme_scheme == "xinyun"
    c = lyrics.new_sequence("", SamplingParams(form="wujue", rhyme=True), 0).constraint
    assert getattr(c, "inner", c).table.scheme == "xinyun"  # (inner: under the degeneration guards)
    c = lyrics.new_sequence(
        "", SamplingParams(form="wujue", rhyme=True, rhyme_scheme="pingshui"), 0
    ).constraint
    assert getattr(c, "inner", c).table is lyrics.index.scheme("pingshui")  # built once per vocabulary
    assert lyrics.index.scheme("pingshui") is lyrics.index.scheme("pingshui")
    with pytest.raises(Exception, match="rhyme_scheme"):
        SamplingParams(rhyme_scheme="cilin").validate()
