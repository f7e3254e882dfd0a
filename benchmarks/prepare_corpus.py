"""Wall time and peak memory of `textgen corpus prepare` from the cached download (targets for Tang on
a 2-core machine: < 60 s, < 2 GB).

    python benchmarks/prepare_corpus.py                       # corpora/tang, char tokenizer
    python benchmarks/prepare_corpus.py corpora/songci --repeat 3
    python benchmarks/prepare_corpus.py corpora/tang -- --tokenizer sentencepiece --vocab-size 8000

Each run is a fresh `textgen corpus prepare ... --force` process (so nothing is reused from the
prepared cache); peak RSS is that child's ru_maxrss. The download is fetched first and not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def run_once(cmd: list[str]) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr.strip()}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2),
        # ru_maxrss (KiB on Linux) is the max over all children so far: runs only grow it, so this
        # is an upper bound for later runs and exact for the first.
        "peak_rss_mb": round(after.ru_maxrss / 1024, 1),
        "prepared": proc.stdout.strip(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", default="corpora/tang", help="corpus name, dir or text file")
    ap.add_argument("--repeat", type=int, default=1, help="number of timed runs")
    ap.add_argument("extra", nargs="*", help="extra `textgen corpus prepare` options (after --)")
    args = ap.parse_args()
    textgen = [sys.executable, "-m", "textgen"]
    fetch = subprocess.run([*textgen, "corpus", "fetch", args.corpus], capture_output=True, text=True)
    if fetch.returncode != 0:
        sys.exit(fetch.stderr.strip())
    cmd = [*textgen, "corpus", "prepare", args.corpus, "--force", *args.extra]
    runs = [run_once(cmd) for _ in range(args.repeat)]
    summary = json.loads(open(os.path.join(runs[-1]["prepared"], "summary.json"), encoding="utf-8").read())
    result = {
        "corpus": args.corpus,
        "command": " ".join(["textgen", *cmd[3:]]),
        "cpus": os.cpu_count(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "runs": runs,
        "best_wall_s": min(r["wall_s"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "documents": sum(summary["documents"].values()),
        "chars": sum(summary["chars"].values()),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
