"""The judges: repetition and its calibration, the networks learning an obvious signal, the API the
search calls (shapes, title/context absent, combine), save/load and refusing damaged files."""

from __future__ import annotations

import json
import random

import pytest
import torch

from textgen.errors import CheckpointError
from textgen.judges import NAMES, Judges
from textgen.judges.data import Poem, RepeatTable, char_list, cross_repeats, jinti, read_poems
from textgen.judges.fit import auc, cross_validated, fit_weights, ranking
from textgen.judges.train import Continuation, TrainData, new_net, train_net

TINY = {"n_embd": 16, "channels": 16, "hidden": 16}
# Four topics of ten characters: a "real" poem keeps to one topic and its title names it.
TOPICS = {
    "山": "山峰岭石松云涧泉林谷",
    "水": "江河湖海波浪舟渡潮湾",
    "春": "花柳莺燕桃杏芳草暖风",
    "秋": "霜菊枫雁寒露叶落凉月",
}


@pytest.fixture(autouse=True)
def _one_thread(one_thread):  # tests/conftest.py
    yield


def topic_poem(rng: random.Random, topic: str, n: int = 4, L: int = 5) -> Poem:
    lines = ["".join(rng.sample(TOPICS[topic], L)) for _ in range(n)]
    clauses = [x + ("，" if i % 2 == 0 else "。\n") for i, x in enumerate(lines)]
    return Poem(["五绝", f"咏{topic}"], f"咏{topic}", lines, clauses)


def mixed_poem(rng: random.Random, n: int = 4, L: int = 5) -> list[str]:
    """The "model": one character over and over in each line, the lines' characters from any topic."""
    return [rng.choice("".join(TOPICS.values())) * L for _ in range(n)]


@pytest.fixture(scope="module")
def trained() -> tuple[Judges, list[Poem]]:
    rng = random.Random(0)
    real = [topic_poem(rng, rng.choice(list(TOPICS))) for _ in range(300)]
    model = [mixed_poem(rng) for _ in range(200)]
    cont = []
    for p in real[:100]:
        k = rng.randint(1, 3)
        cont.append(Continuation(p, k, mixed_poem(rng)[0]))
    chars = char_list(real)
    net = new_net(chars, TINY, seed=0)
    judges = Judges(net, chars, RepeatTable.fit([p.lines for p in real]))
    train_net(net, judges.encode, TrainData(real, model, cont), seconds=0, max_steps=100, batch=64, lr=1e-2)
    return judges, real


def test_cross_repeats_counts_lines_not_doubled_characters():
    assert cross_repeats(["白日依山尽", "黄河入海流"]) == 0
    assert cross_repeats(["漫漫长夜长", "黄河入海流"]) == 0  # 漫漫 and 长…长 within one line
    assert cross_repeats(["明月照山川", "明月照江流", "明日照我心"]) == 2 + 1 + 2  # 明 x3, 月 x2, 照 x3


def test_repeat_table_is_zero_for_real_rates_and_falls_with_heavy_repetition():
    rng = random.Random(1)
    pool = [chr(0x4E00 + i) for i in range(400)]
    real = []
    for _ in range(200):  # 20 characters each, about one in three poems repeating one of them
        chars = rng.sample(pool, 20)
        if rng.random() < 0.3:
            chars[5] = chars[0]
        real.append(["".join(chars[i : i + 5]) for i in range(0, 20, 5)])
    table = RepeatTable.fit(real)
    varied = ["白日依山尽", "黄河入海流", "欲穷千里目", "更上一层楼"]
    heavy = ["明月照山川", "明月照山流", "明月照山心", "明月照山头"]
    assert table.score(varied) == 0.0
    assert table.score(heavy) < -5
    scores = [table.score(["明月照山川"] * n + ["白日依江尽"]) for n in range(1, 4)]
    assert scores == sorted(scores, reverse=True)  # more repetition, lower score
    assert table.scores(varied[:3], [varied[3], heavy[0]]) == [
        table.score(varied),
        table.score([*varied[:3], heavy[0]]),
    ]
    assert RepeatTable.from_dict(json.loads(json.dumps(table.to_dict()))).tables == table.tables


def test_read_poems_keeps_jinti_and_finds_the_title():
    docs = [
        "五绝\n静夜思\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。",
        "七绝\n太长\n床前明月光，疑是地上霜。",  # two lines: not 近体
        "五绝\n坏\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡乡。",  # uneven lines
    ]
    poems = read_poems(docs, header_lines=2, fields=["form", "title"])
    assert len(poems) == 1
    p = poems[0]
    assert p.title == "静夜思" and p.lines == ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"]
    assert p.prompt(1) == "五绝\n静夜思\n床前明月光，"
    assert p.prompt(2) == "五绝\n静夜思\n床前明月光，疑是地上霜。\n"
    assert read_poems(docs[:1], header_lines=2, fields=[])[0].title is None
    assert jinti(["白日依山尽"] * 8) and not jinti(["白日依山"] * 4)


def test_judges_learn_an_obvious_signal(trained):
    judges, real = trained
    rng = random.Random(7)
    held_real = [topic_poem(rng, rng.choice(list(TOPICS))) for _ in range(40)]
    held_model = [mixed_poem(rng) for _ in range(40)]

    def real_score(lines):
        return float(judges.features(None, lines[:-1], lines[-1:])["real"][0])

    assert auc([real_score(p.lines) for p in held_real], [real_score(q) for q in held_model]) > 0.9
    pos, neg = [], []
    for p in held_real:  # the next line of the same topic vs a line of another topic
        other = next(q for q in held_real if q.title != p.title)
        pos.append(float(judges.features(None, p.lines[:2], [p.lines[2]])["follow"][0]))
        neg.append(float(judges.features(None, p.lines[:2], [other.lines[2]])["follow"][0]))
    assert auc(pos, neg) > 0.8
    pos, neg = [], []
    for p in held_real:
        other = next(q for q in held_real if q.title != p.title)
        pos.append(float(judges.features(p.title, p.lines[:3], p.lines[3:])["title"][0]))
        neg.append(float(judges.features(other.title, p.lines[:3], p.lines[3:])["title"][0]))
    assert auc(pos, neg) > 0.8


def test_features_shapes_and_absent_title_or_context(trained):
    judges, _ = trained
    cands = ["山峰岭石松", "江河湖海波", "花柳莺燕桃"]
    f = judges.features("咏山", ["云涧泉林谷"], cands)
    assert set(f) == set(NAMES)
    for v in f.values():
        assert v.shape == (3,) and v.dtype == torch.float32 and torch.isfinite(v).all()
    assert torch.equal(judges.features(None, ["云涧泉林谷"], cands)["title"], torch.zeros(3))
    first = judges.features("咏山", [], cands)
    assert torch.equal(first["follow"], torch.zeros(3)) and torch.equal(first["repeat"], torch.zeros(3))
    assert all(v.shape == (0,) for v in judges.features("咏山", ["云涧泉林谷"], []).values())
    # unknown characters, and lines of a tune's uneven lengths, are scored too
    assert judges.features("无题", ["天地玄黄宇宙洪荒", "日月"], ["盈昃辰宿"])["real"].shape == (1,)
    # a candidate's score does not depend on the others in the batch
    alone = judges.features("咏山", ["云涧泉林谷"], cands[1:2])
    assert torch.allclose(alone["real"], f["real"][1:2], atol=1e-5)


def test_combine_is_the_weighted_sum(trained):
    judges, _ = trained
    judges.set_weights({"lm": 2.0, "real": 0.5, "follow": 0.0, "title": 1.0, "repeat": 3.0})
    f = judges.features("咏山", ["云涧泉林谷"], ["山峰岭石松", "江河湖海波"])
    lm = torch.tensor([-3.0, -4.0])
    want = 2.0 * lm + 0.5 * f["real"] + f["title"] + 3.0 * f["repeat"]
    assert torch.allclose(judges.combine(f, lm), want)
    assert judges.weights == {"lm": 2.0, "real": 0.5, "follow": 0.0, "title": 1.0, "repeat": 3.0}
    judges.set_weights({"lm": 0.0, "real": 1.0})  # a weight of 0 ignores the lm, even a -inf one
    assert torch.equal(judges.combine(f, torch.tensor([float("-inf"), -4.0])), f["real"])


def test_save_and_load_round_trip(trained, tmp_path):
    judges, _ = trained
    assert Judges.load(tmp_path) is None  # no judges beside this model
    judges.info = {"figures": {"real": {"auc": 0.9}}}
    st, js = judges.save(tmp_path)
    assert st.name == "judges.safetensors" and js.name == "judges.json"
    back = Judges.load(tmp_path / "model.safetensors")  # the model's file finds its folder too
    assert back.weights == judges.weights and back.info["figures"] == {"real": {"auc": 0.9}}
    a = judges.features("咏山", ["云涧泉林谷", "山峰岭石松"], ["江河湖海波", "霜菊枫雁寒"])
    b = back.features("咏山", ["云涧泉林谷", "山峰岭石松"], ["江河湖海波", "霜菊枫雁寒"])
    assert all(torch.equal(a[k], b[k]) for k in NAMES)
    info = json.loads(js.read_text(encoding="utf-8"))
    assert info["format"] == "textgen-judges-1" and "chars" in info and "weights" in info


@pytest.mark.parametrize(
    "damage, names",
    [
        (lambda st, js: st.write_bytes(st.read_bytes()[:100]), "judges.safetensors"),
        (lambda st, js: js.write_text("{not json", encoding="utf-8"), "judges.json"),
        (lambda st, js: js.write_text(json.dumps({"format": "other"}), encoding="utf-8"), "judges.json"),
        (lambda st, js: st.unlink(), "judges.safetensors"),
        (
            lambda st, js: js.write_text(
                js.read_text(encoding="utf-8").replace('"chars": "', '"chars": "丁'), encoding="utf-8"
            ),
            "judges.json",
        ),  # fmt: skip
    ],
    ids=["truncated weights", "bad json", "other format", "weights missing", "char list changed"],
)
def test_damaged_files_are_refused_in_one_line_naming_the_file(trained, tmp_path, damage, names):
    judges, _ = trained
    st, js = judges.save(tmp_path)
    damage(st, js)
    with pytest.raises(CheckpointError) as e:
        Judges.load(tmp_path)
    msg = str(e.value)
    assert names in msg and "\n" not in msg


def test_fit_weights_finds_the_feature_that_ranks_the_real_line_first():
    g = torch.Generator().manual_seed(0)
    G, K = 60, 8
    X = torch.randn(G, 1 + K, 3, generator=g)
    X[:, 0, 1] += 3.0  # feature 1 puts the real line (index 0) first; 0 and 2 are noise
    mask = torch.ones(G, 1 + K, dtype=torch.bool)
    w = fit_weights(X, mask)
    assert w[1] > 3 * max(w[0], w[2]) and (w >= 0).all()
    assert ranking(X, mask, w)["top1"] > 0.7
    held = fit_weights(X, mask, fixed={0: 1.0})
    assert held[0] == 1.0 and held[1] > 0.5
    cv = cross_validated(X, mask, ("lm", "real", "follow"))
    assert cv["real"]["top1"] > cv["follow"]["top1"] and set(cv) >= {"lm", "judges", "all", "lm=L + judges"}


def test_build_judges_end_to_end_with_a_tiny_model(tmp_path):
    """Sampling, the model's candidate lines with their log-probabilities, training, figures, the
    fitted weights and the files, on a tiny random model (nothing here needs the shipped tang)."""
    from textgen.checkpoint import save_checkpoint
    from textgen.judges.pipeline import build_judges
    from textgen.judges.samples import line_logprobs, sample_lines
    from textgen.model import RNNLM, ModelConfig
    from textgen.sampling import Generator
    from textgen.tokenizer import CharTokenizer

    rng = random.Random(3)
    poems = [topic_poem(rng, t) for t in TOPICS for _ in range(12)]
    text = "".join(p.prompt(4) for p in poems) + "五言七绝律诗"
    tok = CharTokenizer.train([text])
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=16, n_embd=8)).eval()
    meta = {"corpus": {"name": "toy", "manifest": {"read": {"header": "{form}\n{title}"}}}}
    save_checkpoint(tmp_path / "toy" / "best.safetensors", model, tok, meta)
    gen = Generator.from_checkpoint(tmp_path / "toy")

    p = poems[0]
    g = torch.Generator().manual_seed(0)
    cands, lm = sample_lines(gen.model, tok, p.prompt(2), 4, 5, g, real=p.lines[2])
    assert len(cands) == 4 and all(len(c) == 5 and not tok.unknown_chars(c) for c in cands)
    assert torch.allclose(lm, line_logprobs(gen.model, tok, p.prompt(2), [p.lines[2], *cands]), atol=1e-5)

    judges = build_judges(gen, poems[:40], poems[40:], samples=8, contexts=8, seed=1, steps=3,
                          net_config=TINY, command="textgen judges train toy")  # fmt: skip
    assert set(judges.weights) == {"lm", *NAMES}
    info = judges.info
    assert info["data"]["val_contexts"] == 8 and info["training"]["steps"] == 3
    assert {"real", "follow_other_poem", "title", "repeat", "real_vs_model_line"} <= set(info["figures"])
    assert info["weights_source"].startswith("fitted") and "all" in info["combination"]
    judges.save(tmp_path / "toy")
    back = Judges.load(tmp_path / "toy" / "best.safetensors")
    assert back.weights == judges.weights and back.info["command"] == "textgen judges train toy"
    assert back.features("咏山", p.lines[:1], cands)["real"].shape == (4,)


def test_cli_refuses_a_missing_checkpoint_in_one_line(capsys):
    from textgen.cli import main

    with pytest.raises(SystemExit) as e:
        main(["judges", "train", "no/such/model", "--quiet"])
    assert e.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "no/such/model" in err and "\n" not in err


def test_features_match_the_training_path(trained):
    """The search's fast path (context encoded once, sums of embeddings) scores as the batched
    training computation does."""
    from textgen.judges.train import _poem_tensor

    judges, _ = trained
    net, title, lines, cands = judges.net, "咏山", ["云涧泉林谷", "山峰岭石松"], ["江河湖海波", "霜菊枫雁寒"]
    f = judges.features(title, lines, cands)
    with torch.no_grad():
        ids, mask = _poem_tensor(judges.encode, [lines, lines])
        cids = judges.encode(cands)
        follow = net.follow(net.lines(net.enc_follow, ids), mask, net.lines(net.enc_follow, cids),
                            net.follow_extra(ids, mask, cids))  # fmt: skip
        poems, pmask = _poem_tensor(judges.encode, [[*lines, c] for c in cands])
        tids = judges.encode([title, title])
        t = net.title(net.lines(net.enc_title, tids), net.lines(net.enc_poem, poems), pmask,
                      net.title_extra(tids, poems))  # fmt: skip
        real = net.real(net.lines(net.enc_real, poems), pmask)
    assert torch.allclose(f["follow"], follow, atol=1e-5)
    assert torch.allclose(f["title"], t, atol=1e-5)
    assert torch.allclose(f["real"], real, atol=1e-5)


def test_line_encoder_is_a_width_3_convolution():
    """lines_many's windowed product against torch's conv1d, with a padded (shorter) line."""
    from textgen.judges.nets import JudgeConfig, JudgeNet, _summary

    torch.manual_seed(0)
    net = JudgeNet(JudgeConfig(vocab_size=50, **TINY)).eval()
    ids = torch.randint(2, 50, (6, 7))
    ids[0, 5:] = 0
    x, m = net.emb(ids), ids != 0
    for enc in (net.enc_real, net.enc_follow):
        h = torch.relu(enc.conv(x.transpose(1, 2))).transpose(1, 2).masked_fill(~m[..., None], 0).amax(1)
        want = torch.relu(enc.out(torch.cat([h, _summary(x, m)], -1)))
        assert torch.allclose(net.lines(enc, ids), want, atol=1e-5)


def test_weights_command_shows_and_sets_a_weight_with_its_reason(trained, tmp_path, capsys):
    from textgen.checkpoint import save_checkpoint
    from textgen.cli import main
    from textgen.model import RNNLM, ModelConfig
    from textgen.tokenizer import CharTokenizer

    judges, _ = trained
    tok = CharTokenizer.train(["云山"])
    save_checkpoint(tmp_path / "model.safetensors", RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1,
                    hidden_size=8, n_embd=4)), tok, {"corpus": "toy"})  # fmt: skip
    judges.info = {"weights_source": "fitted"}
    judges.save(tmp_path)
    main(
        ["judges", "weights", str(tmp_path / "model.safetensors"), "--set", "lm=1.5", "--why", "blind round"]
    )
    back = Judges.load(tmp_path)
    assert back.weights["lm"] == 1.5 and "blind round" in back.info["weights_source"]
    assert back.info["fitted_weights"]["lm"] == judges.weights["lm"]
    with pytest.raises(SystemExit) as e:
        main(["judges", "weights", str(tmp_path / "model.safetensors"), "--set", "lm=-1"])
    assert e.value.code == 1 and "NAME=VALUE" in capsys.readouterr().err
