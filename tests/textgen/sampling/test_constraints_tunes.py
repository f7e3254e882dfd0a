"""--tune: a ci held to its tune's lines, punctuation, breaks and rhyme sets; the tune as header line."""

import pytest

from textgen.errors import ConfigError
from textgen.poetry.check import form_problems, split_lines
from textgen.poetry.forms import resolve_form
from textgen.poetry.rhyme import rhymes_of
from textgen.sampling import SamplingParams

from .test_constraints import small_vocab_generator

# Rhymes for each tone: 月雪节 (18 仄) 绿曲玉 (15 仄), 天年前 (7 平) 霜光香 (2 平); others free.
CHARS = "月雪节绿曲玉天年前霜光香人春风吹花柳一不"


@pytest.mark.parametrize("tune", ["浣溪沙", "菩萨蛮", "鹧鸪天", "满江红"])
def test_every_ci_keeps_its_tune(tune):
    gen = small_vocab_generator(CHARS + "、")
    spec = resolve_form(None, tune=tune)
    outs = gen.generate("", SamplingParams(tune=tune, temperature=2.0), n=20, seed=1)  # rhymes: it is a tune
    for c in outs:
        assert c.finish_reason == "eos" and form_problems(c.text, spec, rhyme=True) == [], c.text
        lines = split_lines(c.text)
        for r, ping in enumerate(spec.rhyme_tones):  # each rhyme set in one 部 of its tone
            ends = [lines[i][-1] for i in range(len(lines)) if spec.rhyme_sets[i] == r]
            assert frozenset.intersection(*(rhymes_of(ch, "cilin", ping) for ch in ends)), (r, ends)
    assert len({c.text for c in outs}) > 15


def test_tune_tones_and_errors():
    gen = small_vocab_generator(CHARS)
    spec = resolve_form(None, tune="浣溪沙")
    for c in gen.generate("", SamplingParams(tune="浣溪沙", rhyme=True, tones=True), n=10, seed=2):
        assert form_problems(c.text, spec, rhyme=True, tones=True) == [], c.text
    with pytest.raises(ConfigError, match="unknown tune"):
        SamplingParams(tune="不存在的调").validate()
    with pytest.raises(ConfigError, match="not both"):
        SamplingParams(tune="浣溪沙", form="wujue").validate()


def test_the_tune_is_the_header_line_of_a_songci_model():
    import torch

    from textgen.checkpoint import Checkpoint
    from textgen.model import RNNLM, ModelConfig
    from textgen.sampling import Generator
    from textgen.tokenizer import CharTokenizer

    tok = CharTokenizer(list("，。\n浣溪沙") + list(CHARS))
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=8, n_embd=4)).eval()
    meta = {"corpus": {"name": "songci", "manifest": {"read": {"header": "{rhythmic}"}}}}
    gen = Generator(Checkpoint(model, tok, meta))
    seq = gen.new_sequence("", SamplingParams(tune="浣溪沙", rhyme=True), 0)
    assert seq.prompt_ids[-4:] == tok.encode("浣溪沙\n")  # primed after <eos>: the ci's first line
    text = gen.generate("", SamplingParams(tune="浣溪沙", rhyme=True), seed=0)[0].text
    assert form_problems(text, resolve_form(None, tune="浣溪沙"), rhyme=True) == []
