"""The language model: embedding -> stacked fused RNN (LSTM/GRU/Elman) -> output layer.

A pure network. Generation lives in textgen.sampling, training in textgen.train.

    cfg = ModelConfig(vocab_size=5000, cell="lstm", n_layer=2, hidden_size=512, n_embd=256)
    model = RNNLM(cfg)
    logits, hidden = model(idx)              # idx (B, T) -> logits (B, T, V)
    logits, hidden = model.step(idx[:, 0], hidden)   # one token per row: (B,) -> (B, V)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn

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

    def validate(self) -> None:
        if self.cell not in CELLS:
            raise ConfigError(f"unknown cell {self.cell!r}; choose one of {', '.join(CELLS)}")
        for name in ("vocab_size", "n_layer", "hidden_size", "n_embd"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("dropout", "emb_dropout", "out_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown model config field(s): {', '.join(sorted(unknown))}")
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
        self.emb_drop = nn.Dropout(c.emb_dropout)
        self.out_drop = nn.Dropout(c.out_dropout)
        # With tying, the output layer reuses the (V, n_embd) embedding, so the RNN output is first
        # projected to n_embd when the sizes differ.
        self.proj = (
            nn.Linear(c.hidden_size, c.n_embd, bias=False)
            if c.tie_weights and c.hidden_size != c.n_embd
            else None
        )
        self.head = nn.Linear(c.n_embd if c.tie_weights else c.hidden_size, c.vocab_size)
        if c.tie_weights:
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
        out, hidden = self.features(idx, hidden)
        return self.head(out), hidden  # (B, T, V)

    @torch.no_grad()
    def step(self, idx: torch.Tensor, hidden: Hidden | None) -> tuple[torch.Tensor, Hidden]:
        """One token per row: idx (B,) -> logits (B, V). The cheap path generation calls."""
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
