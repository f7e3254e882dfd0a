"""Bits per character against CPU time, for several model sizes: which model is best for the compute?

Trains each preset for the same number of minutes on one CPU thread (same corpus, same code), then
plots validation bits/char against training minutes, with any finished run directories added
(`--run DIR[=OFFSET_MIN][@LABEL]`: a warm-started run drawn from the minute its source model had
trained).

    python benchmarks/train_curve.py --presets tiny,small --minutes 15            # ~30 min
    python benchmarks/train_curve.py --presets small,base --minutes 30 --eval-interval 150 --run runs/curve-tiny
    python benchmarks/train_curve.py --presets '' --run runs/tang-v2=100 --out docs/tang_curve.png

Validation bits/char are the whole documents' (header lines included) as training reports them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from textgen.train.runlog import read_metrics


def train(preset: str, corpus: str, minutes: float, out: Path, eval_interval: int = 0) -> None:
    cmd = [sys.executable, "-m", "textgen", "train", corpus, "--preset", preset, "--time-budget", str(minutes),
           "--epochs", "0", "--threads", "1", "--out", str(out), "--overwrite", "--quiet"]  # fmt: skip
    if eval_interval:
        cmd += ["--eval-interval", str(eval_interval)]
    print("$", " ".join(cmd[2:]), file=sys.stderr)
    subprocess.run(cmd, check=True)


def curve(run: Path, offset: float = 0.0) -> list[tuple[float, float]]:
    """(training minutes, val bits/char) of a run's evaluations."""
    return [
        (offset + e["elapsed"] / 60, e["bpc"])
        for e in read_metrics(run / "metrics.jsonl")
        if e["kind"] == "val"
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="corpora/tang")
    ap.add_argument("--presets", default="tiny,small", help="comma-separated presets to train ('' = none)")
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument(
        "--eval-interval", type=int, default=0, help="steps between evaluations (default: the preset's)"
    )
    ap.add_argument("--run", action="append", default=[],
                    help="a finished run to add: DIR, DIR=OFFSET_MIN, with @LABEL for its legend entry")  # fmt: skip
    ap.add_argument("--out", default="runs/curve.png")
    args = ap.parse_args()

    runs: dict[str, tuple[Path, float]] = {}
    for p in filter(None, args.presets.split(",")):
        out = Path("runs") / f"curve-{p}"
        train(p, args.corpus, args.minutes, out, args.eval_interval)
        runs[f"{p} (from scratch)"] = (out, 0.0)
    for r in args.run:
        r, _, label = r.partition("@")
        d, _, off = r.partition("=")
        name = Path(d).name
        runs[label or (f"{name[6:]} (from scratch)" if name.startswith("curve-") else name)] = (
            Path(d),
            float(off or 0),
        )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    table = {}
    for label, (d, off) in runs.items():
        pts = curve(d, off)
        if not pts:
            continue
        meta = json.loads((d / "meta.json").read_text()) if (d / "meta.json").is_file() else {}
        size = f", {meta['params'] / 1e6:.1f} M params" if meta.get("params") else ""
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker=".", label=label + size)
        table[label] = {"minutes": round(pts[-1][0], 1), "val_bpc": round(min(y for _, y in pts), 3),
                        "test_bpc": (meta.get("test") or {}).get("bpc"), "params": meta.get("params")}  # fmt: skip
    ax.set_xlabel("training minutes, one CPU thread")
    ax.set_ylabel("validation bits per character")
    ax.grid(alpha=0.3)
    ax.legend()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(json.dumps(table, ensure_ascii=False, indent=1))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
