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


def small_vocab_generator(chars: str):
    import torch

    from textgen.checkpoint import Checkpoint
    from textgen.model import RNNLM, ModelConfig
    from textgen.sampling import Generator
    from textgen.tokenizer import CharTokenizer

    tok = CharTokenizer(list("，。\n") + list(chars))
    torch.manual_seed(1)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=8, n_embd=4)).eval()
    return Generator(Checkpoint(model, tok))


def test_rhyme_never_dead_ends_in_a_poor_vocabulary():
    # 唐 has 3 characters, 尤 one, 齐 one: a 五律's four rhymes must open in 唐 and reuse one.
    gen = small_vocab_generator("光霜乡流一")
    for c in gen.generate("", SamplingParams(form="wulv", rhyme=True, temperature=2.0), n=30, seed=0):
        assert form_problems(c.text, resolve_form("wulv"), rhyme=True) == [], c.text
        lines = c.text.replace("。", "，").replace("\n", "").split("，")
        ends, first = [line[-1] for line in lines[1::2]], lines[0][-1]
        # 平水韵: the first line ends 仄 (一) or rhymes too (首句入韵); fresh rhymes until none are left.
        assert set(ends) <= set("光霜乡") and first in "光霜乡一"
        assert len(set(ends) | {first} - {"一"}) == 3


def test_prompt_fixes_the_rhyme_group_even_if_small():
    gen = small_vocab_generator("光霜乡流一春月")
    prompt = "春春春春春，春春春春流。\n"
    for c in gen.generate(prompt, SamplingParams(form="wujue", rhyme=True, tones=True), n=10, seed=0):
        assert (prompt + c.text).endswith("流。")  # the only 尤 character, reused


def test_impossible_constraints_are_config_errors():
    from textgen.errors import ConfigError

    gen = small_vocab_generator("光霜乡")  # all 平: no 仄 characters for the tone pattern
    with pytest.raises(ConfigError, match="平 or 仄"):
        gen.new_sequence("", SamplingParams(form="wujue", tones=True), 0)
    with pytest.raises(ConfigError, match="acrostic"):
        gen.new_sequence("", SamplingParams(form="wujue", acrostic="光霜乡月"), 0)
    with pytest.raises(ConfigError, match="rhyme"):
        small_vocab_generator("\U00020000\U00020001").new_sequence(
            "", SamplingParams(form="wujue", rhyme=True), 0
        )
    with pytest.raises(ConfigError, match="rhyme"):
        params = SamplingParams(form="wujue", rhyme=True, rhyme_scheme="xinyun")
        small_vocab_generator("\uf900\uf901").new_sequence("", params, 0)
    with pytest.raises(ConfigError, match="no Chinese"):
        small_vocab_generator("abc").new_sequence("", SamplingParams(form="wujue"), 0)


def test_forms_with_a_sentencepiece_model():
    import torch

    from textgen.checkpoint import Checkpoint
    from textgen.model import RNNLM, ModelConfig
    from textgen.sampling import Generator
    from textgen.tokenizer.spm import SentencePieceTokenizer

    from .conftest import LINES

    tok = SentencePieceTokenizer.train(LINES * 10, vocab_size=360)
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=16, n_embd=8)).eval()
    gen = Generator(Checkpoint(model, tok))
    spec = resolve_form("wujue")
    for c in gen.generate("", SamplingParams(form="wujue", rhyme=True), n=10, seed=0):
        assert form_problems(c.text, spec, rhyme=True) == [], c.text


def test_skipping_the_output_layer_on_forced_tokens_changes_nothing(gen):
    from textgen.sampling import Generator

    plain = Generator(gen.checkpoint, fast=False)  # always scores every row
    cases = [
        ("", SamplingParams(max_new_tokens=40)),
        ("春风", SamplingParams(form="qijue", acrostic="春夏秋冬", rhyme=True)),
        ("春眠不觉晓，处处", SamplingParams(form="wujue", temperature=0)),
    ]
    for p, params in cases:
        a = [c.text for c in gen.generate(p, params, n=4, seed=3)]
        b = [c.text for c in plain.generate(p, params, n=4, seed=3)]
        assert a == b
    # Mixed in one batch: forced and free rows side by side.
    batch, seqs = gen.new_batch(), [gen.new_sequence(p, params, 3) for p, params in cases]
    for s in seqs:
        batch.add(s)
    while len(batch):
        batch.step()
    assert [s.text for s in seqs] == [plain.generate(p, params, seed=3)[0].text for p, params in cases]


def test_a_form_without_rhyme_or_tones_never_builds_the_scheme_tables(ckpt_path):
    # Building them is most of a one-poem CLI call's start-up; a plain form does not need them.
    from textgen.sampling import Generator, SamplingParams

    g = Generator.from_checkpoint(ckpt_path)
    g.generate("", SamplingParams(form="wujue", temperature=1.0), n=2, seed=1)
    assert g.index._schemes == {}
    g.generate("", SamplingParams(form="wujue", rhyme=True, temperature=1.0), seed=1)
    assert set(g.index._schemes) == {"pingshui"}
