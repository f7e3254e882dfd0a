"""Does the header line help? For a model trained on documents that open with a metadata line (songci:
the tune name 词牌; lyrics: the artist), score every test document's body given its own header versus
the header of another test document (a different value), in bits per body character.

    python benchmarks/condition_value.py songci
    python benchmarks/condition_value.py lyrics --json

If the model uses the header, the body costs fewer bits after the right one. Each document is scored
on its own from the start-of-document state, so both conditions see exactly the same body tokens.
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
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    ckpt = load_checkpoint(args.checkpoint)
    pc = prepare_recorded(ckpt.meta["corpus"])
    docs = [d.split("\n", 1) for d in pc.documents(args.split) if "\n" in d]
    rng = random.Random(args.seed)
    totals = {"own": 0.0, "other": 0.0}
    chars = 0
    for header, body in docs:
        other = header
        while other == header:
            other = rng.choice(docs)[0]
        own, n = body_nats(ckpt.model, ckpt.tokenizer, header, body)
        wrong, _ = body_nats(ckpt.model, ckpt.tokenizer, other, body)
        totals["own"] += own
        totals["other"] += wrong
        chars += n
    bpc = {k: v / chars / math.log(2) for k, v in totals.items()}
    report = {"checkpoint": args.checkpoint, "split": args.split, "documents": len(docs), "body_chars": chars,
              "bpc_own_header": bpc["own"], "bpc_other_header": bpc["other"],
              "saving": bpc["other"] - bpc["own"]}  # fmt: skip
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return
    print(
        f"{args.checkpoint}, {args.split} split, {len(docs):,} documents, {chars:,} body characters:\n"
        f"  body after its own header     {bpc['own']:.3f} bits/char\n"
        f"  body after another's header   {bpc['other']:.3f} bits/char\n"
        f"  the right header saves        {bpc['other'] - bpc['own']:.3f} bits/char",
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
