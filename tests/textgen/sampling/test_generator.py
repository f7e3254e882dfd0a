import pytest
import torch

from textgen.errors import CheckpointError, ConfigError, TokenizerError
from textgen.sampling import Generator, SamplingParams


def run(gen, prompt="", seed=0, **kw):
    return gen.generate(prompt, SamplingParams(**kw), seed=seed)[0]


def test_generator_identity(gen, ckpt_path):
    assert gen.name == "tiny"
    assert len(gen.digest) == 64
    assert gen.checkpoint.path == ckpt_path


def test_greedy_is_deterministic_and_top_k_1_equals_greedy(gen):
    a = run(gen, "床", seed=1, temperature=0, max_new_tokens=30)
    b = run(gen, "床", seed=2, temperature=0, max_new_tokens=30)
    c = run(gen, "床", seed=3, temperature=1.5, top_k=1, max_new_tokens=30)
    assert a.text == b.text == c.text
    assert a.finish_reason in ("length", "eos")


def test_greedy_matches_a_plain_argmax_loop(gen):
    out = run(gen, "春眠", temperature=0, max_new_tokens=20)
    tok, model = gen.tokenizer, gen.model
    ids = [tok.eos_id, *tok.encode("春眠")]
    logits, hidden = model(torch.tensor([ids]))
    got = []
    for _ in range(20):
        last = logits[0, -1].clone()
        last[tok.unk_id] = float("-inf")
        nxt = int(last.argmax())
        if nxt == tok.eos_id:
            break
        got.append(nxt)
        logits, hidden = model(torch.tensor([[nxt]]), hidden)
    assert out.text == tok.decode(got)


def test_same_seed_same_text_different_seeds_differ(gen):
    texts = [run(gen, "春", seed=s, max_new_tokens=40).text for s in range(8)]
    again = [run(gen, "春", seed=s, max_new_tokens=40).text for s in range(8)]
    assert texts == again
    assert len(set(texts)) > 4


def test_row_text_is_the_same_alone_and_in_a_batch(gen):
    reqs = [
        ("床前", SamplingParams(max_new_tokens=30, temperature=0.9), 11),
        ("", SamplingParams(max_new_tokens=25, top_k=5), 12),
        ("春眠不觉", SamplingParams(max_new_tokens=40, top_p=0.8, repetition_penalty=1.3), 13),
        ("举头", SamplingParams(temperature=0, max_new_tokens=10), 14),
        ("白", SamplingParams(form="wujue", rhyme=True), 15),
        ("夜", SamplingParams(max_new_tokens=30, no_repeat_ngram_size=2), 16),
    ]
    alone = [gen.generate(p, params, seed=s)[0].text for p, params, s in reqs]
    batch = gen.new_batch()
    seqs = [gen.new_sequence(p, params, s) for p, params, s in reqs]
    streamed = {id(s): "" for s in seqs}
    # Rows join at different steps (continuous batching) and some leave early.
    pending = list(seqs)
    steps = 0
    while pending or len(batch):
        if pending and steps % 3 == 0:
            batch.add(pending.pop(0))
        for seq, text in batch.step():
            streamed[id(seq)] += text
        steps += 1
    assert [s.text for s in seqs] == alone
    assert [streamed[id(s)] for s in seqs] == alone
    assert all(s.finished and s.finish_reason in ("length", "eos", "stop") for s in seqs)


def test_generate_n_uses_consecutive_seeds(gen):
    p = SamplingParams(max_new_tokens=20)
    many = gen.generate(["床", "春"], p, n=3, seed=100)
    assert [c.seed for c in many] == list(range(100, 106))
    assert [c.prompt for c in many] == ["床"] * 3 + ["春"] * 3
    assert many[4].text == gen.generate("春", p, seed=104)[0].text
    assert all(c.tokens <= 20 for c in many)


def test_length_and_token_counts(gen):
    c = run(gen, "床", seed=5, max_new_tokens=7, temperature=0.1)
    assert c.finish_reason in ("length", "eos")
    if c.finish_reason == "length":
        assert c.tokens == 7 == len(c.text)


def test_remove_cancels_a_row(gen):
    batch = gen.new_batch()
    a = gen.new_sequence("床", SamplingParams(max_new_tokens=50), 1)
    b = gen.new_sequence("春", SamplingParams(max_new_tokens=50), 2)
    batch.add(a)
    batch.add(b)
    batch.step()
    batch.remove(a)
    assert len(batch) in (0, 1)
    while len(batch):
        assert all(seq is b for seq, _ in batch.step())


def test_unknown_prompt_characters(gen):
    with pytest.raises(TokenizerError, match="龘"):
        gen.new_sequence("床龘前", SamplingParams(), 1)
    seq = gen.new_sequence("床龘前", SamplingParams(), 1, on_unknown="skip")
    assert seq.skipped == ["龘"]
    assert gen.tokenizer.decode(seq.prompt_ids) == "床前"


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 6}, "temperature"),
        ({"top_k": -1}, "top_k"),
        ({"top_p": 0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"max_new_tokens": 5000}, "max_new_tokens"),
        ({"repetition_penalty": 0}, "repetition_penalty"),
        ({"stop": ("",)}, "stop"),
        ({"form": "sonnet"}, "unknown form"),
        ({"form": "wujue", "acrostic": "春夏秋冬春"}, "must match"),
        ({"rhyme": True}, "rhyme needs a form"),
        ({"form": 5}, "form must be a string"),
        ({"rhyme": "yes"}, "rhyme must be"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_k": 1.5}, "top_k"),
    ],
)
def test_bad_params_are_config_errors(gen, kw, match):
    with pytest.raises(ConfigError, match=match):
        gen.new_sequence("", SamplingParams(**kw), 1)


def test_bad_requests(gen):
    with pytest.raises(ConfigError, match="seed"):
        gen.new_sequence("", None, -1)
    with pytest.raises(ConfigError, match="n x prompts"):
        gen.generate("", None, n=1000)
    with pytest.raises(ConfigError, match="acrostic"):
        gen.new_sequence("", SamplingParams(acrostic="春龘"), 1)
    with pytest.raises(ConfigError, match="too few"):
        gen.new_sequence("", SamplingParams(form="qilv", max_new_tokens=20), 1)
    with pytest.raises(ConfigError, match="does not fit"):
        gen.new_sequence("床前明月光光", SamplingParams(form="wujue"), 1)


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        Generator.from_checkpoint(bad)


@pytest.mark.parametrize(
    "kw",
    [
        dict(cell="lstm"),
        dict(cell="gru"),
        dict(cell="rnn_tanh"),
        dict(cell="rnn_relu", n_layer=1),
        dict(cell="lstm", tie_weights=True),
        dict(cell="gru", adaptive_cutoffs=[20, 40]),
        dict(cell="lstm", proj_size=12, adaptive_cutoffs=[30]),
    ],
    ids=str,
)
def test_fast_step_matches_the_model(kw):
    from textgen.model import RNNLM, ModelConfig
    from textgen.sampling.fast import FastStep

    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=60, hidden_size=24, n_embd=16, **({"n_layer": 2} | kw))
    model = RNNLM(cfg).eval()
    exact, q, h = FastStep(model), FastStep(model, quantize="int8"), FastStep(model, quantize="fp16")
    idx, hidden = torch.tensor([3, 7, 11]), model.init_hidden(3)
    for _ in range(4):
        want, hidden_want = model.step(idx, hidden)
        got, hidden_got = exact(idx, hidden)
        approx, _ = q(idx, hidden)
        half, _ = h(idx, hidden)
        assert torch.allclose(want, half, atol=1e-2)
        assert torch.allclose(want, got, atol=1e-5)
        assert torch.allclose(torch.cat([h.flatten() for h in hidden_want] if isinstance(hidden_want, tuple)
                                        else [hidden_want.flatten()]),
                              torch.cat([h.flatten() for h in hidden_got] if isinstance(hidden_got, tuple)
                                        else [hidden_got.flatten()]), atol=1e-5)  # fmt: skip
        p, pq = want.softmax(-1), approx.softmax(-1)
        assert (p - pq).abs().max() < 0.05  # int8: close, not equal
        idx, hidden = want.argmax(-1), hidden_want


def test_speed_options_keep_the_contract(gen):
    from textgen.poetry.check import form_problems
    from textgen.poetry.forms import resolve_form

    plain = Generator(gen.checkpoint, fast=False, onednn=True)
    q = Generator(gen.checkpoint, quantize=True)  # int8
    half = Generator(gen.checkpoint, quantize="fp16")
    assert q.quantize == "int8"
    with pytest.raises(ConfigError, match="quantize"):
        Generator(gen.checkpoint, quantize="int4")
    # fp16 keeps a row's text independent of its batch (int8 does not promise that).
    params = SamplingParams(max_new_tokens=30)
    together = half.generate(["床", "春眠不觉晓，"], params, n=3, seed=5)
    assert together[4].text == half.generate("春眠不觉晓，", params, seed=9)[0].text
    p = SamplingParams(temperature=0, max_new_tokens=30)
    assert plain.generate("床", p)[0].text == gen.generate("床", p)[0].text
    for c in q.generate("", SamplingParams(form="wujue", acrostic="春夏秋冬", rhyme=True), n=10, seed=1):
        assert form_problems(c.text, resolve_form("wujue"), "春夏秋冬", True) == []


def test_no_repeat_ngram_rule(gen):
    for n in (1, 2, 3):
        for seed in range(5):
            text = gen.generate("床前", SamplingParams(max_new_tokens=40, no_repeat_ngram_size=n), seed=seed)[
                0
            ].text
            ids = gen.tokenizer.encode("床前" + text)
            grams = [tuple(ids[i : i + n]) for i in range(len(ids) - n + 1)]
            assert len(grams) == len(set(grams)), (n, text)
