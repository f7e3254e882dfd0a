"""Training throughput in characters/s: textgen's training step against a bare
embedding + nn.LSTM + nn.Linear + cross-entropy + AdamW loop of the same shapes, in one process.

The machine is noisy, so the loops run interleaved in short blocks (bare, ours, bare, ours, ...) and
the ratio of their summed rates is the figure to quote. Reference size: LSTM 2 x 512, embedding 256,
seq_len 64, batch 64, on the Tang corpus.

    python benchmarks/train_throughput.py                     # corpora/tang, full softmax + levers
    python benchmarks/train_throughput.py --steps 8 --blocks 3 --variants full,adaptive
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from textgen.train.config import TrainConfig
from textgen.train.data import TrainData
from textgen.train.trainer import Trainer

VARIANTS = {
    "full": {},  # the same math as the bare loop
    "adaptive": {"adaptive_cutoffs": [1000, 3000]},
    "proj": {"proj_size": 128},
}


class Bare(nn.Module):
    def __init__(self, V, E, H, L):
        super().__init__()
        self.emb = nn.Embedding(V, E)
        self.rnn = nn.LSTM(E, H, L, batch_first=True)
        self.out = nn.Linear(H, V)

    def forward(self, x, y, h):
        o, h = self.rnn(self.emb(x), h)
        return F.cross_entropy(self.out(o).view(-1, self.out.out_features), y.reshape(-1)), h


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="corpora/tang", help="corpus to prepare (char tokenizer)")
    ap.add_argument("--steps", type=int, default=6, help="steps per block")
    ap.add_argument("--blocks", type=int, default=3, help="interleaved blocks per loop")
    ap.add_argument("--variants", default="full,adaptive,proj")
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--hidden-size", type=int, default=512)
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from textgen.data import prepare
    from textgen.model import ModelConfig

    data = TrainData.from_prepared(prepare(args.source))
    V = data.tokenizer.vocab_size
    B, T = args.batch_size, args.seq_len
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; {data.name}: vocabulary {V:,}; "
        f"LSTM {args.n_layer}x{args.hidden_size}, embedding {args.n_embd}, batch {B}, seq_len {T}"
    )

    torch.manual_seed(0)
    bare = Bare(V, args.n_embd, args.hidden_size, args.n_layer)
    bare_opt = torch.optim.AdamW(bare.parameters(), lr=1e-3)
    bare_state = {"h": None}
    ids = torch.from_numpy(data.splits["train"][: B * (T + 1) * 50].astype("int64"))

    def bare_step(i: int) -> None:
        chunk = ids[(i % 40) * B * T :][: B * (T + 1)].view(B, T + 1)
        loss, h = bare(chunk[:, :-1], chunk[:, 1:], bare_state["h"])
        bare_state["h"] = tuple(t.detach() for t in h)
        loss.backward()
        bare_opt.step()
        bare_opt.zero_grad(set_to_none=True)

    trainers = {}
    for name in args.variants.split(","):
        mc = ModelConfig(
            vocab_size=V,
            n_layer=args.n_layer,
            hidden_size=args.hidden_size,
            n_embd=args.n_embd,
            **VARIANTS[name],
        )
        cfg = TrainConfig(batch_size=B, seq_len=T, device="cpu", out=f"/tmp/textgen-bench-{name}")
        trainers[name] = Trainer(data, mc, cfg, overwrite=True, quiet=True)

    def our_step(tr: Trainer) -> None:
        x, y, _ = tr.loader.next_batch()
        tr.train_step(x, y, 1e-3)

    # Warm up every loop (allocator, first-call overheads), then time interleaved blocks.
    for i in range(2):
        bare_step(i)
        for tr in trainers.values():
            our_step(tr)
    times = {"bare": 0.0, **{n: 0.0 for n in trainers}}
    steps = 0
    for _ in range(args.blocks):
        for name in times:
            t0 = time.perf_counter()
            for i in range(args.steps):
                bare_step(i) if name == "bare" else our_step(trainers[name])
            times[name] += time.perf_counter() - t0
        steps += args.steps
    chars = steps * B * T * data.cpt("train")
    rate = {n: chars / t for n, t in times.items()}
    for n, r in rate.items():
        print(f"{n:>9}: {r:8,.0f} characters/s   ratio to bare {r / rate['bare']:.3f}")


if __name__ == "__main__":
    main()
