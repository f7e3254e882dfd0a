"""Wang Feng lyrics with karpathy/char-rnn's own split and its default model size (LSTM 2 x 128).

char-rnn cuts the text into 50 rows (batch_size 50), each a contiguous segment, reads them 50
characters at a time (seq_length 50), and keeps the last 5% of those chunks, i.e. the last 5% of
every row, as validation; the state starts at zero when validation starts. This script builds the
same layout in characters, trains textgen's trainer on the train part with early stopping on the
validation part, then scores the best checkpoint on exactly char-rnn's validation layout.
`--split tail` instead keeps the contiguous last 5% of the text (word_language_model style).

Peers (nats per character): char-rnn 1.7672 nats/byte = about 4.72; word_language_model on the
same split 4.48; on the tail split 5.04 at best.

    OMP_NUM_THREADS=1 python benchmarks/train_wangfeng.py                 # char-rnn split
    OMP_NUM_THREADS=1 python benchmarks/train_wangfeng.py --split tail
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from textgen.checkpoint import load_checkpoint
from textgen.model import ModelConfig, detach_hidden
from textgen.tokenizer import CharTokenizer
from textgen.train.config import TrainConfig
from textgen.train.data import TrainData
from textgen.train.trainer import train

DEFAULT_FILE = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora" / "wangfeng" / "input.txt"


def charrnn_split(ids: np.ndarray, rows: int = 50, seq: int = 50, val_frac: float = 0.05):
    """(train stream, val x (rows, Lv), val y (rows, Lv)) exactly as char-rnn's loader splits."""
    n = (len(ids) - 1) // (rows * seq) * rows * seq
    x = ids[:n].reshape(rows, -1)
    y = ids[1 : n + 1].reshape(rows, -1)
    nbatches = x.shape[1] // seq
    ntrain = math.floor(nbatches * (1 - val_frac))
    cut = ntrain * seq
    # Training rows joined end to end: the trainer's 50 streams then line up with char-rnn's rows.
    train_stream = np.concatenate([np.append(x[r, :cut], y[r, cut - 1]) for r in range(rows)])
    return train_stream, x[:, cut:], y[:, cut:]


@torch.no_grad()
def score_rows(model, x: np.ndarray, y: np.ndarray, seq: int = 50) -> float:
    """Mean nats per character over (rows, L) arrays, state carried from zero, `seq` at a time."""
    model.eval()
    xt, yt = torch.from_numpy(x.astype(np.int64)), torch.from_numpy(y.astype(np.int64))
    nats, n, hidden = 0.0, 0, None
    for i in range(0, xt.shape[1], seq):
        nll, hidden = model.loss(xt[:, i : i + seq], yt[:, i : i + seq], hidden, reduction="sum")
        hidden = detach_hidden(hidden)
        nats += float(nll)
        n += yt[:, i : i + seq].numel()
    return nats / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", default=str(DEFAULT_FILE))
    ap.add_argument("--split", choices=["charrnn", "tail"], default="charrnn")
    ap.add_argument("--cell", default="lstm")
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--emb-dropout", type=float, default=0.1)
    ap.add_argument("--out-dropout", type=float, default=0.3)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--no-tie-weights", dest="tie_weights", action="store_false")
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--epochs", type=float, default=80)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--out", default="/tmp/textgen-bench-wangfeng")
    args = ap.parse_args()

    text = Path(args.file).read_text(encoding="utf-8")
    tok = CharTokenizer.train([text])  # char-rnn's vocabulary is the whole file's
    ids = np.array(tok.encode(text), dtype=np.int32)
    if args.split == "charrnn":
        train_ids, vx, vy = charrnn_split(ids)
        val_ids = np.concatenate([np.append(vx[r], vy[r, -1]) for r in range(vx.shape[0])])
    else:
        cut = int(len(ids) * 0.95)
        train_ids, val_ids = ids[: cut + 1], ids[cut:]
        vx, vy = val_ids[None, :-1], val_ids[None, 1:]
    data = TrainData.from_arrays("wangfeng", tok, {"train": train_ids, "val": val_ids})
    mc = ModelConfig(
        vocab_size=tok.vocab_size,
        cell=args.cell,
        n_layer=2,
        hidden_size=128,
        n_embd=args.n_embd,
        dropout=args.dropout,
        emb_dropout=args.emb_dropout,
        out_dropout=args.out_dropout,
        tie_weights=args.tie_weights,
    )
    spe = (len(train_ids) - 50) // 50 // 50
    tc = TrainConfig(
        batch_size=50,
        seq_len=50,
        lr=args.lr,
        min_lr=args.lr / 20,
        weight_decay=args.weight_decay,
        warmup_steps=30,
        epochs=args.epochs,
        eval_interval=spe,
        eval_tokens=0,
        log_interval=spe,
        patience=args.patience,
        seed=args.seed,
        device="cpu",
        out=args.out,
    )
    print(
        f"{len(ids):,} characters, vocabulary {tok.vocab_size:,}; split {args.split}: "
        f"train {len(train_ids):,}, val {vy.size:,}"
    )
    result = train(data, mc, tc, overwrite=True, quiet=True)
    best = load_checkpoint(Path(args.out) / "best.safetensors").model
    nats = score_rows(best, vx, vy, seq=50 if args.split == "charrnn" else 10_000)
    print(
        f"stopped: {result['stop_reason']} at step {result['step']} ({result['step'] / spe:.1f} epochs); "
        f"best at step {result['best']['step']}"
    )
    print(
        f"validation ({args.split} split): {nats:.4f} nats per character "
        f"({nats / math.log(2):.3f} bits, perplexity {math.exp(nats):.1f})"
    )


if __name__ == "__main__":
    main()
