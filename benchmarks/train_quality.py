"""Quality per minute: Tang test bits per character after a fixed training budget.

Trains with a preset (default: the CPU default preset) for --minutes of training time, then prints
the best validation and the test bits per character (the trainer scores the test split with the
best checkpoint). Peer at the same 10-minute CPU budget (word_language_model, 2 x 512, AdamW
lr 2e-3, traditional Tang): 8.60 bits per character; unigram frequencies alone: 9.73.

    python benchmarks/train_quality.py --minutes 10
    python benchmarks/train_quality.py --minutes 60 --preset base --out runs/tang-base
"""

from __future__ import annotations

import argparse
import json

from textgen.train.config import resolve_config
from textgen.train.data import TrainData
from textgen.train.trainer import train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="corpora/tang")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--preset", default=None, help="default: the CPU default preset")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=JSON",
        help="override a config field, e.g. --set lr=0.002 --set hidden_size=512",
    )
    ap.add_argument("--out", default="/tmp/textgen-bench-quality")
    args = ap.parse_args()

    from textgen.data import prepare

    data = TrainData.from_prepared(prepare(args.source))
    overrides = {"time_budget": args.minutes, "out": args.out}
    for kv in args.set:
        k, v = kv.split("=", 1)
        overrides[k] = json.loads(v)
    mc, tc = resolve_config(args.preset, data.tokenizer.vocab_size, overrides)
    result = train(data, mc, tc, overwrite=True)
    best, test = result["best"], result.get("test", {})
    print(
        json.dumps(
            {
                "preset": args.preset or "default",
                "minutes": args.minutes,
                "steps": result["step"],
                "chars_trained": result["chars_seen"],
                "best_val_bpc": best.get("bpc"),
                "test_bpc": test.get("bpc"),
                "test_ppl_per_char": 2 ** test["bpc"] if test else None,
                "model": mc.to_dict(),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
