"""Latency of the line-level search: one poem per request with the model's own defaults
(generation.json: search on for forms), on one CPU thread, against plain sampling of the same form.

    python benchmarks/search_latency.py                         # tang, 10 seeds per form
    python benchmarks/search_latency.py --quantize fp16 --json  # what `textgen serve --quantize fp16` runs
    python benchmarks/search_latency.py --cli                   # also: `textgen sample tang --form wujue`, wall clock

Targets (issue 18): a 五绝 within 1.5 s and a 七律 within 4 s with search on, one core; the CLI's
`textgen sample tang --form wujue` prints within 3 s. The model is loaded (and its first poem
written) before timing; each poem's time is the whole generate() call. Figures from a shared
machine are noisy: the script prints the load average it ran under.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch

from textgen.sampling import Generator
from textgen.sampling.device import configure_cpu

FORMS = ("wujue", "qijue", "wulv", "qilv")
TARGETS = {"wujue": 1.5, "qilv": 4.0}


def time_form(gen: Generator, form: str, seeds: range, **given) -> list[float]:
    out = []
    for s in seeds:
        t = time.perf_counter()
        gen.generate("", gen.default_params(form=form, **given), seed=s)
        out.append(time.perf_counter() - t)
    return out


def summary(times: list[float]) -> dict:
    q = sorted(times)
    return {
        "median_s": round(statistics.median(q), 3),
        "p90_s": round(q[min(len(q) - 1, int(0.9 * len(q)))], 3),
        "max_s": round(q[-1], 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", default="tang")
    ap.add_argument("--seeds", type=int, default=10, help="poems per form and setting")
    ap.add_argument("--quantize", choices=("fp16", "int8"), default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cli", action="store_true", help="also time `textgen sample CHECKPOINT --form wujue`")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    configure_cpu(args.threads)
    torch.set_num_threads(args.threads)
    gen = Generator.from_checkpoint(args.checkpoint, quantize=args.quantize)
    gen.generate("", gen.default_params(form="wujue"), seed=0)  # load tables, judges, planner
    seeds = range(1, args.seeds + 1)
    rows = {}
    for form in FORMS:
        rows[f"{form} search"] = summary(time_form(gen, form, seeds, search=True))
        rows[f"{form} plain"] = summary(time_form(gen, form, seeds, search=False))
    if args.cli:
        t = time.perf_counter()
        cmd = [sys.executable, "-m", "textgen", "sample", args.checkpoint, "--form", "wujue", "--seed", "1"]
        subprocess.run(cmd, check=True, capture_output=True)
        rows["cli wujue"] = {"wall_s": round(time.perf_counter() - t, 3)}
    report = {
        "checkpoint": args.checkpoint,
        "quantize": args.quantize,
        "threads": args.threads,
        "defaults": gen.defaults,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "rows": rows,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(f"{args.checkpoint} quantize={args.quantize} threads={args.threads} load={report['load_average']}")
    print(f"defaults: {gen.defaults}")
    for name, r in rows.items():
        form = name.split()[0]
        target = f"   (target <= {TARGETS[form]} s)" if name.endswith("search") and form in TARGETS else ""
        print(f"  {name:14s} " + "  ".join(f"{k} {v}" for k, v in r.items()) + target)


if __name__ == "__main__":
    main()
