"""`textgen eval`'s scorer: batched over document pieces yet equal to one plain pass, every token
scored once, and the body figure leaving each document's header lines out."""

import json

import numpy as np
import pytest
import torch

from textgen.checkpoint import CheckpointMeta
from textgen.cli import main
from textgen.cli.evaluate import corpus_header_lines
from textgen.model import RNNLM, ModelConfig
from textgen.tokenizer import CharTokenizer
from textgen.train.evaluate import body_mask, score_documents

DOCS = [
    "浣溪沙\n一曲新词酒一杯，\n去年天气旧亭台。",
    "如梦令\n昨夜雨疏风骤，\n浓睡不消残酒。",
    "点绛唇\n蹴罢秋千，\n起来慵整纤纤手。",
    "长相思\n山一程，\n水一程。",
]


@pytest.fixture(scope="module")
def toy():
    tok = CharTokenizer.train(DOCS)
    rng = np.random.default_rng(0)
    ids = []
    for d in rng.choice(DOCS, 40):
        ids += tok.encode(str(d)) + [tok.eos_id]
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=2, hidden_size=24, n_embd=8)).eval()
    return tok, np.array(ids, dtype=np.int32), model


def _reference(model, tok, ids):
    """Per-target nats of one plain pass over <eos> + ids (an independent log-softmax)."""
    seq = torch.tensor([[tok.eos_id, *ids.tolist()]])
    with torch.no_grad():
        logits, _ = model(seq[:, :-1])
    return -torch.log_softmax(logits[0].double(), -1).gather(1, seq[0, 1:, None])[:, 0].numpy()


def test_one_stream_equals_a_plain_pass_and_scores_every_token(toy):
    tok, ids, model = toy
    ref = _reference(model, tok, ids)
    r = score_documents(model, ids, eos_id=tok.eos_id, n_streams=1, seq_len=7)
    assert r.pieces == 1 and r.all.tokens == len(ids)
    assert r.all.nats == pytest.approx(ref.sum(), rel=1e-5)
    assert r.body.nats == r.all.nats  # no header lines: the body is everything


def test_many_streams_with_full_context_equal_one_stream(toy):
    tok, ids, model = toy
    one = score_documents(model, ids, eos_id=tok.eos_id, n_streams=1, seq_len=16)
    many = score_documents(model, ids, eos_id=tok.eos_id, n_streams=8, seq_len=16, warmup=10**9)
    assert many.pieces == 8 and many.all.tokens == one.all.tokens == len(ids)
    assert many.all.nats == pytest.approx(one.all.nats, rel=1e-5)
    # Pieces cut at document ends, with a short warm-up, stay close to the exact figure.
    short = score_documents(model, ids, eos_id=tok.eos_id, n_streams=8, seq_len=16, warmup=20)
    assert short.all.tokens == len(ids) and short.all.loss == pytest.approx(one.all.loss, rel=0.01)


def test_body_leaves_header_lines_out(toy):
    tok, ids, model = toy
    nl, eos = tok.encode("\n")[0], tok.eos_id
    # <eos> 浣 溪 \n 一 ， \n 去 <eos> : with one header line, the body starts after the first \n
    seq = np.array([eos, *tok.encode("浣溪\n一，\n去"), eos, *tok.encode("长\n水"), eos])
    got = body_mask(seq, eos, nl, header_lines=1).tolist()
    #      浣     溪     \n     一    ，    \n    去    <eos>  长     \n     水    <eos>
    assert got == [False, False, False, True, True, True, True, True, False, False, True, True]
    ref = _reference(model, tok, ids)
    mask = body_mask(np.concatenate([[eos], ids]), eos, nl, 1)
    r = score_documents(model, ids, eos_id=eos, newline_id=nl, header_lines=1, n_streams=1)
    assert r.body.tokens == int(mask.sum())
    assert r.body.nats == pytest.approx(ref[mask].sum(), rel=1e-5)
    assert r.all.tokens == len(ids) and r.body.tokens < r.all.tokens


def test_header_lines_come_from_the_summary_then_the_manifest():
    def meta(header):
        return CheckpointMeta.from_dict({"corpus": {"manifest": {"read": {"header": header}}}})

    assert corpus_header_lines({"header_lines": 2}, meta("{artist}")) == 2
    assert corpus_header_lines(None, meta("{form}\n{title}")) == 2
    assert corpus_header_lines({}, meta("{rhythmic}")) == 1
    assert corpus_header_lines(None, meta("")) == 0
    assert corpus_header_lines(None, CheckpointMeta()) == 0


def test_eval_cli_reports_body_figure_and_progress(tmp_path, capsys):
    rng = np.random.default_rng(0)
    chars = list("春花秋月何时了往事知多少小楼昨夜又东风")
    docs = [
        "\n".join(
            [str(rng.choice(["浣溪沙", "如梦令"]))] + ["".join(rng.choice(chars, 5)) + "。" for _ in range(2)]
        )
        for _ in range(120)
    ]
    f = tmp_path / "ci.txt"
    f.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
    run = tmp_path / "run"
    main(["train", str(f), "--preset", "tiny", "--hidden-size", "16", "--n-embd", "8", "--batch-size", "4",
          "--seq-len", "8", "--max-steps", "2", "--eval-interval", "2", "--device", "cpu", "--out", str(run),
          "--quiet"])  # fmt: skip
    capsys.readouterr()
    main(["eval", str(run), "--split", "val", "--json", "--threads", "1"])
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert out["header_lines"] == 0 and out["body_bits_per_char"] == pytest.approx(out["bpc"])
    assert "eval" in cap.err and "char" in cap.err  # the progress bar, on stderr
    main(["eval", str(run), "--text-file", str(f), "--header-lines", "1", "--json", "--quiet"])
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    assert out["header_lines"] == 1 and out["oov"] == 0 and cap.err == ""
    assert out["chars"] == sum(len(d) for d in docs) + len(docs)  # each document's <eos> counts one
    assert out["body_chars"] == 2 * 7 * len(docs)  # two lines of 5 + "。" + "\n" (or <eos>)
    assert out["body_bits_per_char"] != pytest.approx(out["bpc"])
    main(["eval", str(run), "--text-file", str(f), "--header-lines", "1", "--threads", "1"])
    text = capsys.readouterr().out
    assert "body:" in text and "after 1 header line per document" in text
