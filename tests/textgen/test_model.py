"""The model against the published equations, and the seeds of the field: BPTT learns binary
addition. Plus the scoring paths (full / adaptive softmax, projection) and bad configs."""

import numpy as np
import pytest
import torch

from textgen.checkpoint import load_checkpoint, save_checkpoint
from textgen.errors import ConfigError
from textgen.model import RNNLM, ModelConfig, cat_rows, detach_hidden, select_rows
from textgen.tokenizer import CharTokenizer


@pytest.fixture(autouse=True)
def _one_thread(one_thread):  # tests/conftest.py
    yield


def _np_params(rnn, layer):
    g = lambda n: getattr(rnn, f"{n}_l{layer}").detach().double().numpy()  # noqa: E731
    return g("weight_ih"), g("weight_hh"), g("bias_ih"), g("bias_hh")


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _reference(cell, rnn, x, n_layer, H):
    """numpy implementation of the cells' equations (PyTorch's gate order)."""
    B, T, _ = x.shape
    h = np.zeros((n_layer, B, H))
    c = np.zeros((n_layer, B, H))
    inp = x
    for layer in range(n_layer):
        W_ih, W_hh, b_ih, b_hh = _np_params(rnn, layer)
        outs = []
        for t in range(T):
            xt, hp = inp[:, t], h[layer]
            if cell in ("rnn_tanh", "rnn_relu"):
                # The Elman network: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
                a = xt @ W_ih.T + b_ih + hp @ W_hh.T + b_hh
                h[layer] = np.tanh(a) if cell == "rnn_tanh" else np.maximum(a, 0)
            elif cell == "lstm":
                gates = xt @ W_ih.T + b_ih + hp @ W_hh.T + b_hh
                i, f, g, o = np.split(gates, 4, axis=1)
                c[layer] = _sigmoid(f) * c[layer] + _sigmoid(i) * np.tanh(g)
                h[layer] = _sigmoid(o) * np.tanh(c[layer])
            else:  # gru
                gi, gh = xt @ W_ih.T + b_ih, hp @ W_hh.T + b_hh
                ir, iz, inn = np.split(gi, 3, axis=1)
                hr, hz, hn = np.split(gh, 3, axis=1)
                r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
                n = np.tanh(inn + r * hn)
                h[layer] = (1 - z) * n + z * hp
            outs.append(h[layer].copy())
        inp = np.stack(outs, axis=1)
    return inp, h, c


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_cells_match_their_equations(cell):
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=11, cell=cell, n_layer=2, hidden_size=7, n_embd=5)).double()
    idx = torch.randint(0, 11, (3, 6))
    x = model.embedding(idx).detach().numpy()
    out, hidden = model.features(idx)
    ref_out, ref_h, ref_c = _reference(cell, model.rnn, x, 2, 7)
    np.testing.assert_allclose(out.detach().numpy(), ref_out, rtol=1e-10, atol=1e-12)
    h = hidden[0] if cell == "lstm" else hidden
    np.testing.assert_allclose(h.detach().numpy(), ref_h, rtol=1e-10, atol=1e-12)
    if cell == "lstm":
        np.testing.assert_allclose(hidden[1].detach().numpy(), ref_c, rtol=1e-10, atol=1e-12)


@pytest.mark.slow  # hundreds of training steps
def test_stacked_rnn_learns_8_bit_binary_addition():
    """Two input bits per step (LSB first), the sum bit as target: the carry must be held in the
    state, so this only works if BPTT really carries gradients through time."""
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=4, cell="lstm", n_layer=2, hidden_size=24, n_embd=8))
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)

    def batch(a, b):
        bits = torch.arange(9)
        abit, bbit, sbit = (a[:, None] >> bits) & 1, (b[:, None] >> bits) & 1, ((a + b)[:, None] >> bits) & 1
        return abit * 2 + bbit, sbit  # token = (a_t, b_t); the 9th step reads (0, 0) and emits the carry

    gen = torch.Generator().manual_seed(1)
    for _ in range(600):
        a, b = torch.randint(0, 256, (128,), generator=gen), torch.randint(0, 256, (128,), generator=gen)
        x, y = batch(a, b)
        loss, _ = model.loss(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.01:
            break
    a, b = torch.meshgrid(torch.arange(256), torch.arange(256), indexing="ij")
    x, y = batch(a.reshape(-1), b.reshape(-1))
    with torch.no_grad():
        pred = model(x)[0].argmax(-1)
    assert (pred == y).all(dim=1).float().mean().item() == 1.0  # all 65,536 sums exactly right


@pytest.mark.parametrize(
    "extra", [{}, {"adaptive_cutoffs": [4, 10]}, {"proj_size": 6}, {"tie_weights": True}]
)
def test_scores_are_a_distribution_and_loss_matches_them(extra):
    torch.manual_seed(0)
    model = RNNLM(ModelConfig(vocab_size=20, n_layer=2, hidden_size=16, n_embd=8, **extra)).eval()
    idx, tgt = torch.randint(0, 20, (3, 5)), torch.randint(0, 20, (3, 5))
    scores, hidden = model(idx)
    assert scores.shape == (3, 5, 20)
    logp = torch.log_softmax(scores, -1)
    expect = -logp.gather(-1, tgt[..., None]).mean()
    loss, _ = model.loss(idx, tgt)
    assert torch.allclose(loss, expect, atol=1e-5)
    # step() continues the same computation one token at a time
    h = None
    for t in range(5):
        s, h = model.step(idx[:, t], h)
        assert torch.allclose(torch.log_softmax(s, -1), logp[:, t], atol=1e-5)


def test_adaptive_checkpoint_round_trip(tmp_path):
    tok = CharTokenizer.train(["床前明月光疑是地上霜举头望低思故乡"])
    model = RNNLM(ModelConfig(vocab_size=tok.vocab_size, hidden_size=16, n_embd=8, adaptive_cutoffs=[5, 10]))
    save_checkpoint(tmp_path / "last.safetensors", model.eval(), tok, {})
    ckpt = load_checkpoint(tmp_path)
    idx = torch.tensor([[2, 3, 4]])
    assert torch.equal(model(idx)[0], ckpt.model(idx)[0])
    assert ckpt.model.config.adaptive_cutoffs == [5, 10]


def test_hidden_helpers_for_lstm_and_gru():
    for cell in ("lstm", "gru"):
        model = RNNLM(ModelConfig(vocab_size=9, cell=cell, n_layer=2, hidden_size=4, n_embd=3))
        _, h = model(torch.randint(0, 9, (3, 4)))
        both = cat_rows([select_rows(h, torch.tensor([2])), select_rows(h, torch.tensor([0]))])
        ref = select_rows(h, torch.tensor([2, 0]))
        for a, b in zip(both if cell == "lstm" else [both], ref if cell == "lstm" else [ref], strict=True):
            assert torch.equal(a, b)
        assert not any(t.requires_grad for t in (detach_hidden(h) if cell == "lstm" else [detach_hidden(h)]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cell": "transformer"}, "unknown cell"),
        ({"tie_weights": True, "proj_size": 5}, "tie_weights needs"),
        ({"tie_weights": True, "adaptive_cutoffs": [4]}, "cannot be combined"),
        ({"adaptive_cutoffs": [10, 4]}, "adaptive_cutoffs must be increasing"),
        ({"dropout": 1.0}, "dropout"),
        ({"adaptive_cutoffs": [4, 8, 12]}, "no dimensions"),
    ],
)
def test_bad_model_configs_are_one_clear_error(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        RNNLM(ModelConfig(vocab_size=20, hidden_size=8, n_embd=4, **kwargs))
