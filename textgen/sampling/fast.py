"""A lean one-token step for generation: the model's weights run through the fused cell functions
(torch.lstm_cell / gru_cell / rnn_*_cell) instead of nn.LSTM's general sequence path, optionally
with dynamically quantized matrix products (fbgemm, CPU).

    step = FastStep(model)                       # exact fp32 (same math, different kernels)
    step = FastStep(model, quantize="fp16")      # fp16 weights: half the bytes per step
    step = FastStep(model, quantize="int8")      # int8 weights and activations: fastest
    logits, hidden = step(idx[:, 0], hidden)     # (B,) -> logits (B, V), same hidden layout

Why not nn.LSTM: in fp32 the cell functions are as fast or a little faster for one token; a
quantized nn.LSTM (quantize_dynamic) was slower than fp32 here, while quantized Linear layers on
the gate products are fast; and owning the step lets it skip the output layer for rows whose next
token a constraint forces. A one-token step is memory-bound (it streams every weight once), so
smaller weights are faster.
Caveat of int8: fbgemm quantizes the activations with one scale per call, i.e. per batch, so a
row's logits then depend (slightly) on the other rows in its batch; fp16 keeps rows independent.
Priming on a prompt still uses the model's own fp32 forward (many tokens at once).
"""

from __future__ import annotations

import warnings

import torch
import torch.nn as nn

from textgen.model import RNNLM

QUANTIZE = {"int8": torch.qint8, "fp16": torch.float16}


def _qlinear(weight: torch.Tensor, bias: torch.Tensor | None, quantize: str) -> nn.Module:
    lin = nn.Linear(weight.size(1), weight.size(0), bias=bias is not None)
    with torch.no_grad():
        lin.weight.copy_(weight)
        if bias is not None:
            lin.bias.copy_(bias)
    # quantize_dynamic swaps child modules only, so the Linear goes in a container.
    return quantize_linears(nn.Sequential(lin), quantize)[0]


def quantize_linears(module: nn.Module, quantize: str) -> nn.Module:
    """Dynamic quantization ("int8" or "fp16" weights) of the Linear layers in `module`, on a copy."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notices
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(module, {nn.Linear}, dtype=QUANTIZE[quantize], inplace=False).eval()


def _direct(q: nn.Module):
    """The quantized op behind a dynamic quantized Linear, called without the module's per-call
    Python (a few microseconds each, five calls a step): same op, same arguments, same result."""
    packed = q._packed_params._packed_params
    if q._packed_params.dtype == torch.qint8:
        op = torch.ops.quantized.linear_dynamic.default
        return lambda x: op(x, packed, True)  # reduce_range=True, as the module passes it
    op16 = torch.ops.quantized.linear_dynamic_fp16.default
    return lambda x: op16(x, packed)


class FastStep(nn.Module):
    def __init__(self, model: RNNLM, quantize: str | None = None):
        super().__init__()
        if quantize is not None and quantize not in QUANTIZE:
            raise ValueError(f"quantize must be one of {', '.join(QUANTIZE)} or None, got {quantize!r}")
        cfg = model.config
        self.cell = cfg.cell
        self.n_layer = cfg.n_layer
        self.quantize = quantize
        self.embedding = model.embedding
        self.vocab_size = cfg.vocab_size
        rnn = model.rnn
        self.weights = [
            [getattr(rnn, f"{k}_l{i}") for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            for i in range(cfg.n_layer)
        ]
        # Quantized gate products. LSTM/Elman gates are W_ih x + W_hh h, so with fp16 one product
        # of [W_ih | W_hh] with [x, h] does both (one call instead of two). Not with int8: one
        # activation scale for the embedding and the (smaller) state doubled the error measured
        # in benchmarks/sample_latency.py. GRU's candidate gate needs W_hh h on its own anyway.
        self.concat = quantize == "fp16" and self.cell != "gru"
        self.q_ih = nn.ModuleList()
        self.q_hh = nn.ModuleList()
        if quantize:
            for w_ih, w_hh, b_ih, b_hh in (tuple(w.detach() for w in ws) for ws in self.weights):
                if not self.concat:
                    self.q_ih.append(_qlinear(w_ih, b_ih, quantize))
                    self.q_hh.append(_qlinear(w_hh, b_hh, quantize))
                else:
                    self.q_ih.append(_qlinear(torch.cat([w_ih, w_hh], dim=1), b_ih + b_hh, quantize))
        tail = nn.ModuleDict({"head": model.head})
        if model.proj is not None:
            tail["proj"] = model.proj
        self.tail = quantize_linears(tail, quantize) if quantize else tail
        self.adaptive = not isinstance(model.head, nn.Linear)
        self.f_ih = [_direct(q) for q in self.q_ih]
        self.f_hh = [_direct(q) for q in self.q_hh]
        self.f_head = _direct(self.tail["head"]) if quantize and not self.adaptive else self.tail["head"]
        self.f_proj = (
            (_direct(self.tail["proj"]) if quantize else self.tail["proj"]) if "proj" in self.tail else None
        )

    @torch.no_grad()
    def forward(self, idx: torch.Tensor, hidden, rows: torch.Tensor | None = None):
        """rows: score only these rows (the others get zero logits: their next token is forced by
        a constraint, so the output layer, most of a step's work, would be wasted on them)."""
        x = self.embedding(idx)  # (B,) -> (B, n_embd)
        lstm = self.cell == "lstm"
        hs, cs = hidden if lstm else (hidden, None)
        new_h, new_c = [], []
        for i in range(self.n_layer):
            h = hs[i]
            c = cs[i] if lstm else None
            if self.quantize is not None:
                h, c = self._qcell(i, x, h, c)
            elif lstm:
                h, c = torch.lstm_cell(x, (h, c), *self.weights[i])
            elif self.cell == "gru":
                h = torch.gru_cell(x, h, *self.weights[i])
            else:
                cell = torch.rnn_tanh_cell if self.cell == "rnn_tanh" else torch.rnn_relu_cell
                h = cell(x, h, *self.weights[i])
            new_h.append(h)
            new_c.append(c)
            x = h
        h = torch.stack(new_h)
        if rows is None:
            logits = self._head(x)  # (B, V)
        else:
            logits = x.new_zeros(x.size(0), self.vocab_size)
            if rows.numel():
                logits.index_copy_(0, rows, self._head(x.index_select(0, rows)))
        return logits, ((h, torch.stack(new_c)) if lstm else h)

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        if self.f_proj is not None:
            x = self.f_proj(x)
        return self.tail["head"].log_prob(x) if self.adaptive else self.f_head(x)

    def _qcell(self, i: int, x, h, c):
        if self.cell == "gru":
            ir, iz, in_ = self.f_ih[i](x).chunk(3, dim=1)
            hr, hz, hn = self.f_hh[i](h).chunk(3, dim=1)
            r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
            n = torch.tanh(in_ + r * hn)
            return (1 - z) * n + z * h, None
        if self.concat:
            gates = self.f_ih[i](torch.cat([x, h], dim=1))  # W_ih x + W_hh h + biases
        else:
            gates = self.f_ih[i](x) + self.f_hh[i](h)
        if self.cell == "lstm":
            ig, fg, gg, og = gates.chunk(4, dim=1)
            c = torch.sigmoid(fg) * c + torch.sigmoid(ig) * torch.tanh(gg)
            return torch.sigmoid(og) * torch.tanh(c), c
        act = torch.tanh if self.cell == "rnn_tanh" else torch.relu
        return act(gates), None
