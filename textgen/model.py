"""The language model: embedding -> stacked fused RNN (LSTM/GRU/Elman) -> output layer.

A pure network. Generation lives in textgen.sampling, training in textgen.train.

    cfg = ModelConfig(vocab_size=5000, cell="lstm", n_layer=2, hidden_size=512, n_embd=256)
    model = RNNLM(cfg)
    logits, hidden = model(idx)              # idx (B, T) -> logits (B, T, V)
    logits, hidden = model.step(idx[:, 0], hidden)   # one token per row: (B,) -> (B, V)
    loss, hidden = model.loss(idx, targets, hidden)  # training: mean nats per token

With an adaptive softmax (`adaptive_cutoffs`) the scores are log-probabilities; either way their
softmax is the model's distribution. `loss` is the cheap training path (no (B, T, V) tensor when
the output layer is adaptive).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from textgen.errors import ConfigError

CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")

# An LSTM's hidden state is (h, c); the other cells carry h alone. Both are (n_layer, B, H).
Hidden = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@dataclass
class ModelConfig:
    vocab_size: int
    cell: str = "lstm"
    n_layer: int = 2
    hidden_size: int = 512
    n_embd: int = 256
    dropout: float = 0.0  # between stacked RNN layers
    emb_dropout: float = 0.0  # on the embeddings
    out_dropout: float = 0.0  # on the RNN output, before the output layer
    tie_weights: bool = False  # share the embedding with the output layer (projects H -> n_embd)
    proj_size: int = 0  # project the RNN output to this size before the output layer (0 = none)
    # Adaptive softmax (Grave et al. 2017): token ids are frequency-ranked, so the head covers ids
    # below the first cutoff and rarer ids sit in smaller tail clusters. Empty = full softmax.
    adaptive_cutoffs: list[int] = field(default_factory=list)
    adaptive_div: float = 4.0  # each tail cluster's input size is divided by this, per cluster

    @property
    def out_features(self) -> int:
        """Size of the vector the output layer reads."""
        if self.tie_weights:
            return self.n_embd
        return self.proj_size or self.hidden_size

    def validate(self) -> None:
        if self.cell not in CELLS:
            raise ConfigError(f"unknown cell {self.cell!r}; choose one of {', '.join(CELLS)}")
        for name in ("vocab_size", "n_layer", "hidden_size", "n_embd"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("dropout", "emb_dropout", "out_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.proj_size < 0:
            raise ConfigError(f"proj_size must be 0 (none) or positive, got {self.proj_size}")
        if self.tie_weights and self.proj_size not in (0, self.n_embd):
            raise ConfigError(
                f"tie_weights needs the output layer's input to be n_embd={self.n_embd}, "
                f"but proj_size={self.proj_size}; use --proj-size 0 or {self.n_embd}, or drop --tie-weights"
            )
        cuts = list(self.adaptive_cutoffs)
        if cuts:
            if self.tie_weights:
                raise ConfigError("tie_weights cannot be combined with adaptive_cutoffs (adaptive softmax)")
            if cuts != sorted(set(cuts)) or cuts[0] < 1 or cuts[-1] >= self.vocab_size - 1:
                raise ConfigError(
                    f"adaptive_cutoffs must be increasing and between 1 and vocab_size-2 "
                    f"(={self.vocab_size - 2}), got {cuts}"
                )
            if self.adaptive_div < 1.0:
                raise ConfigError(f"adaptive_div must be at least 1, got {self.adaptive_div}")
            if int(self.out_features // self.adaptive_div ** len(cuts)) < 1:
                raise ConfigError(
                    f"adaptive softmax: the last tail cluster would have no dimensions "
                    f"({self.out_features} / {self.adaptive_div:g}^{len(cuts)}); use fewer cutoffs or a smaller adaptive_div"
                )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown model config field(s): {', '.join(sorted(unknown))}")
        d = dict(d)
        if "adaptive_cutoffs" in d:
            d["adaptive_cutoffs"] = [int(c) for c in d["adaptive_cutoffs"]]
        return cls(**d)


class RNNLM(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        self.config = config
        c = config
        self.embedding = nn.Embedding(c.vocab_size, c.n_embd)
        rnn_cls = {"lstm": nn.LSTM, "gru": nn.GRU}.get(c.cell, nn.RNN)
        kwargs = {"nonlinearity": c.cell[4:]} if c.cell.startswith("rnn_") else {}
        self.rnn = rnn_cls(
            c.n_embd,
            c.hidden_size,
            c.n_layer,
            batch_first=True,
            dropout=c.dropout if c.n_layer > 1 else 0.0,
            **kwargs,
        )
        # Identity, not Dropout(0): the training step should cost what the bare math costs.
        self.emb_drop = nn.Dropout(c.emb_dropout) if c.emb_dropout else nn.Identity()
        self.out_drop = nn.Dropout(c.out_dropout) if c.out_dropout else nn.Identity()
        # With tying, the output layer reuses the (V, n_embd) embedding, so the RNN output is first
        # projected to n_embd when the sizes differ. proj_size asks for such a projection untied:
        # a 512 -> 128 bottleneck makes a 9k-way softmax 4x cheaper.
        d_out = c.out_features
        self.proj = nn.Linear(c.hidden_size, d_out, bias=False) if d_out != c.hidden_size else None
        if c.adaptive_cutoffs:
            self.head = nn.AdaptiveLogSoftmaxWithLoss(
                d_out, c.vocab_size, list(c.adaptive_cutoffs), div_value=c.adaptive_div
            )
        else:
            self.head = nn.Linear(d_out, c.vocab_size)
        if c.tie_weights:
            # A unit-variance embedding as output weights would start with huge logits.
            nn.init.normal_(self.embedding.weight, std=c.n_embd**-0.5)
            self.head.weight = self.embedding.weight

    def init_hidden(self, batch_size: int, device: torch.device | str | None = None) -> Hidden:
        """All-zero state for `batch_size` rows."""
        device = device or self.embedding.weight.device
        shape = (self.config.n_layer, batch_size, self.config.hidden_size)
        h = torch.zeros(shape, device=device)
        return (h, torch.zeros_like(h)) if self.config.cell == "lstm" else h

    def features(self, idx: torch.Tensor, hidden: Hidden | None = None) -> tuple[torch.Tensor, Hidden]:
        """RNN outputs before the output layer: (B, T) -> (B, T, H or n_embd)."""
        x = self.emb_drop(self.embedding(idx))  # (B, T) -> (B, T, n_embd)
        out, hidden = self.rnn(x, hidden)  # (B, T, H)
        out = self.out_drop(out)
        if self.proj is not None:
            out = self.proj(out)
        return out, hidden

    def forward(self, idx: torch.Tensor, hidden: Hidden | None = None) -> tuple[torch.Tensor, Hidden]:
        """Scores for the next token at every position: (B, T) -> (B, T, V)."""
        out, hidden = self.features(idx, hidden)
        if isinstance(self.head, nn.AdaptiveLogSoftmaxWithLoss):
            B, T, D = out.shape
            return self.head.log_prob(out.reshape(B * T, D)).view(B, T, -1), hidden
        return self.head(out), hidden  # (B, T, V)

    def loss(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor,
        hidden: Hidden | None = None,
        reduction: str = "mean",
    ) -> tuple[torch.Tensor, Hidden]:
        """Cross-entropy of `targets` (B, T) in nats per token ("mean") or summed ("sum"/"none")."""
        out, hidden = self.features(idx, hidden)
        out = out.reshape(-1, out.size(-1))
        targets = targets.reshape(-1)
        if isinstance(self.head, nn.AdaptiveLogSoftmaxWithLoss):
            # The adaptive head scores only each target's cluster: no (B*T, V) tensor at all.
            nll = -self.head(out.float(), targets).output
            if reduction == "none":
                return nll, hidden
            return (nll.mean() if reduction == "mean" else nll.sum()), hidden
        logits = self.head(out).float()  # float: bf16 log-softmax over 10k classes loses bits
        return F.cross_entropy(logits, targets, reduction=reduction), hidden

    @torch.no_grad()
    def step(self, idx: torch.Tensor, hidden: Hidden | None) -> tuple[torch.Tensor, Hidden]:
        """One token per row: idx (B,) -> scores (B, V). The cheap path generation calls."""
        logits, hidden = self.forward(idx[:, None], hidden)
        return logits[:, -1], hidden

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def detach_hidden(hidden: Hidden) -> Hidden:
    """Cut the graph at a truncated-BPTT boundary, keeping the values (word_language_model's
    repackage_hidden)."""
    if isinstance(hidden, tuple):
        return tuple(h.detach() for h in hidden)
    return hidden.detach()


def select_rows(hidden: Hidden, rows: torch.Tensor) -> Hidden:
    """The state of the given batch rows, in that order."""
    if isinstance(hidden, tuple):
        return tuple(h.index_select(1, rows) for h in hidden)
    return hidden.index_select(1, rows)


def cat_rows(states: list[Hidden]) -> Hidden:
    """Stack the states of several batches into one batch (rows in order)."""
    if isinstance(states[0], tuple):
        return tuple(torch.cat([s[i] for s in states], dim=1) for i in range(len(states[0])))
    return torch.cat(states, dim=1)
