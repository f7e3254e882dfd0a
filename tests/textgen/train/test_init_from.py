"""Warm starts (`--init-from`): weights carried over by character into a new vocabulary; and a time
budget's warm-up that follows the share of the budget used."""

from __future__ import annotations

import pytest
import torch

from textgen.checkpoint import load_checkpoint
from textgen.errors import ConfigError
from textgen.model import RNNLM, ModelConfig
from textgen.train.config import TrainConfig
from textgen.train.init import transfer_weights
from textgen.train.schedule import LRSchedule
from textgen.train.trainer import train

from .conftest import POEMS, make_data


def _run(data, out, **over):
    mc = ModelConfig(
        vocab_size=data.tokenizer.vocab_size, n_layer=1, hidden_size=32, n_embd=16, **over.pop("model", {})
    )
    opts = dict(batch_size=4, seq_len=16, lr=1e-2, warmup_steps=0, eval_interval=40, log_interval=1,
                eval_tokens=0, device="cpu", max_steps=40, out=str(out))  # fmt: skip
    tc = TrainConfig(**{**opts, **over})
    return mc, train(data, mc, tc, quiet=True)


@pytest.mark.parametrize("cutoffs", [[], [6]])
def test_rows_follow_their_characters_into_a_new_vocabulary(cutoffs):
    old = make_data(poems=POEMS[:3]).tokenizer
    new = make_data(poems=["五绝\n题\n" + p for p in POEMS]).tokenizer  # more characters, other ids
    torch.manual_seed(0)
    src = RNNLM(
        ModelConfig(vocab_size=old.vocab_size, n_layer=1, hidden_size=8, n_embd=4, adaptive_cutoffs=cutoffs)
    )
    dst = RNNLM(
        ModelConfig(vocab_size=new.vocab_size, n_layer=1, hidden_size=8, n_embd=4, adaptive_cutoffs=cutoffs)
    )
    stats = transfer_weights(dst, new, src, old)
    for ch in "床明月。\n":
        i, j = new.encode(ch)[0], old.encode(ch)[0]
        assert torch.equal(dst.embedding.weight[i], src.embedding.weight[j])
    assert torch.equal(dst.rnn.weight_hh_l0, src.rnn.weight_hh_l0)
    assert stats["embedding_copied"] == old.vocab_size  # every old piece is in the new vocabulary
    assert 0 < stats["rows_copied"] <= old.vocab_size and stats["rows_new"] >= new.vocab_size - old.vocab_size
    if not cutoffs:
        i, j = new.encode("光")[0], old.encode("光")[0]
        assert torch.equal(dst.head.weight[i], src.head.weight[j])


def test_another_architecture_is_refused():
    tok = make_data().tokenizer
    a = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=1, hidden_size=8, n_embd=4))
    b = RNNLM(ModelConfig(vocab_size=tok.vocab_size, n_layer=2, hidden_size=8, n_embd=4))
    with pytest.raises(ConfigError, match="n_layer"):
        transfer_weights(a, tok, b, tok)


def test_a_warm_started_run_begins_where_its_source_ended(tmp_path):
    data = make_data()
    _, first = _run(data, tmp_path / "a")
    _, cold = _run(data, tmp_path / "cold", max_steps=1)
    mc, warm = _run(data, tmp_path / "warm", max_steps=1, init_from=str(tmp_path / "a" / "best.safetensors"))
    # One step after a warm start scores like the trained source, far better than a fresh model.
    assert warm["best"]["bpc"] < cold["best"]["bpc"] - 1.0
    assert abs(warm["best"]["bpc"] - first["best"]["bpc"]) < 0.5
    meta = load_checkpoint(tmp_path / "warm" / "best.safetensors").meta
    assert meta.train_config["init_from"].endswith("best.safetensors")


def test_time_budget_warm_up_never_takes_more_than_its_share():
    cfg = TrainConfig(lr=1.0, min_lr=0.0, warmup_steps=100, time_budget=10.0)
    s = LRSchedule(cfg)
    assert s.lr(0, 0.0) == pytest.approx(0.01)
    # A slow machine: step 5 already used 3% of the budget -> warm-up is over, cosine has begun.
    assert s.lr(5, 0.03 * 600) == pytest.approx(0.5 * (1 + torch.cos(torch.tensor(0.03 * torch.pi)).item()))
    assert s.lr(5, 0.015 * 600) == pytest.approx(0.5)  # halfway through its share: half the lr
    # Without a time budget, warm-up is counted in steps as before.
    assert LRSchedule(TrainConfig(lr=1.0, warmup_steps=100)).lr(5, 1e6) == pytest.approx(0.06)


def test_a_warm_start_takes_the_architecture_but_may_change_dropout(tmp_path):
    from textgen.cli.train import _architecture_of

    _run(make_data(), tmp_path / "a", max_steps=2, eval_interval=2)
    ck = str(tmp_path / "a" / "best.safetensors")
    fields = {"hidden_size": None, "n_layer": None, "dropout": 0.3, "emb_dropout": None}
    got = _architecture_of(ck, fields)
    assert (got["hidden_size"], got["n_layer"], got["dropout"], got["emb_dropout"]) == (32, 1, 0.3, 0.0)
    with pytest.raises(ConfigError, match="--hidden-size 64 differs from --init-from's model"):
        _architecture_of(ck, {**fields, "hidden_size": 64})
