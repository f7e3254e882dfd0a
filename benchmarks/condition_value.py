"""Do the header lines help? For a model trained on documents that open with metadata lines (tang: the
form and the title; songci: the tune name 词牌; lyrics: the artist), score every test document's body
given its own header versus the header of another test document, in bits per body character; with
several header lines, also each line swapped alone (e.g. another poem's title under the right form).

    python benchmarks/condition_value.py songci
    python benchmarks/condition_value.py tang --limit 800 --json

If the model uses the header, the body costs fewer bits after the right one. Each document is scored
on its own from the start-of-document state, so every condition sees exactly the same body tokens.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys

import torch

from textgen.checkpoint import load_checkpoint
from textgen.data.prepare import prepare_recorded


@torch.no_grad()
def body_nats(model, tok, header: str, body: str) -> tuple[float, int]:
    """Nats of the body's tokens and the final <eos>, after <eos> + header + newline."""
    ctx = [tok.eos_id, *tok.encode(header + "\n", unknown="unk")]
    target = [*tok.encode(body, unknown="unk"), tok.eos_id]
    ids = torch.tensor([ctx + target])
    logits, _ = model(ids[:, :-1], model.init_hidden(1))
    logp = logits.log_softmax(-1)[0, len(ctx) - 1 :]
    nll = -logp.gather(1, ids[0, len(ctx) :, None]).squeeze(1)
    return float(nll.sum()), len(target)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--split", default="test", choices=["val", "test"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--limit", type=int, default=0, help="score this many documents, drawn at random (0 = all)"
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    ckpt = load_checkpoint(args.checkpoint)
    pc = prepare_recorded(ckpt.meta.corpus.to_dict(), tokenizer=ckpt.tokenizer)
    fields = ckpt.meta.header_fields or ["header"]
    k = len(fields)
    docs = [d.split("\n", k) for d in pc.documents(args.split) if d.count("\n") >= k]
    docs = [(h, parts[-1]) for parts in docs for h in [parts[:-1]]]
    rng = random.Random(args.seed)
    if args.limit and args.limit < len(docs):
        docs = rng.sample(docs, args.limit)
    conditions = ["own", "other"] + ([f"other {f}" for f in fields] if k > 1 else [])
    totals = dict.fromkeys(conditions, 0.0)
    chars = 0
    for header, body in docs:
        other = header
        while other == header:
            other = rng.choice(docs)[0]
        variants = {"own": header, "other": other}
        for i, f in enumerate(fields if k > 1 else []):
            swapped = list(header)
            while swapped[i] == header[i]:
                swapped[i] = rng.choice(docs)[0][i]
            variants[f"other {f}"] = swapped
        for name, h in variants.items():
            nats, n = body_nats(ckpt.model, ckpt.tokenizer, "\n".join(h), body)
            totals[name] += nats
        chars += n
    bpc = {c: v / chars / math.log(2) for c, v in totals.items()}
    report = {"checkpoint": args.checkpoint, "split": args.split, "documents": len(docs), "body_chars": chars,
              "header_fields": fields, "bpc_own_header": bpc["own"], "bpc_other_header": bpc["other"],
              "saving": bpc["other"] - bpc["own"],
              **{f"saving_{c[6:]}": bpc[c] - bpc["own"] for c in conditions[2:]}}  # fmt: skip
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return
    lines = [
        f"{args.checkpoint}, {args.split} split, {len(docs):,} documents, {chars:,} body characters:",
        f"  body after its own header        {bpc['own']:.3f} bits/char",
        f"  body after another's header      {bpc['other']:.3f} bits/char (the right one saves "
        f"{bpc['other'] - bpc['own']:.3f})",
    ]
    for c in conditions[2:]:
        lines.append(f"  with only the {c[6:]} swapped    {bpc[c]:.3f} bits/char (the right {c[6:]} saves "
                     f"{bpc[c] - bpc['own']:.3f})")  # fmt: skip
    print("\n".join(lines), file=sys.stdout)


if __name__ == "__main__":
    main()
