"""A run's metrics file (metrics.jsonl, one JSON object per event) and its loss-curve picture.

Events: {"kind": "train", "step", "loss", "lr", "grad_norm", "tokens_per_s", "chars_per_s", ...},
{"kind": "val" | "test", "step", "loss", "ppl", "bpc", ...}. Every event carries "chars_seen" (training
characters so far), the x axis of the plot, so runs with different tokenizers share a chart.

    log = MetricsLog(run_dir / "metrics.jsonl"); log.write({"kind": "val", ...})
    plot_runs([run_dir], run_dir / "loss.png")
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

from textgen.errors import TextgenError
from textgen.paths import atomic_write_bytes, atomic_write_text


class MetricsLog:
    def __init__(self, path: Path):
        self.path = Path(path)

    def write(self, event: dict) -> None:
        # One short line per append: a crash loses at most the line being written, and readers skip
        # a torn last line.
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event, ensure_ascii=False) + "\n")

    def truncate_after(self, step: int) -> None:
        """On resume: drop events logged after the saved state (they will be logged again)."""
        if self.path.exists():
            kept = [
                e for e in read_metrics(self.path) if e.get("step", 0) <= step and e.get("kind") != "test"
            ]
            atomic_write_text(self.path, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in kept))


def read_metrics(path: Path) -> list[dict]:
    events = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a torn last line from a kill
    return events


def _metrics_file(run: Path) -> Path:
    run = Path(run)
    f = run / "metrics.jsonl" if run.is_dir() else run
    if not f.is_file():
        raise TextgenError(f"{run}: no metrics.jsonl (not a textgen run directory?)")
    return f


def plot_runs(runs: list[Path], out: Path, labels: list[str] | None = None) -> Path:
    """Draw bits per character against training characters for each run: train (thin, smoothed)
    and validation (dots), on one chart. Written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for i, run in enumerate(runs):
        events = read_metrics(_metrics_file(run))
        label = labels[i] if labels else Path(run).name
        color = f"C{i % 10}"
        tr = [e for e in events if e.get("kind") == "train" and math.isfinite(e.get("bpc", math.nan))]
        va = [e for e in events if e.get("kind") == "val"]
        te = [e for e in events if e.get("kind") == "test"]
        if tr:
            xs = [e["chars_seen"] for e in tr]
            ys, ema = [], None
            for e in tr:  # light smoothing: the raw per-interval loss is noisy
                ema = e["bpc"] if ema is None else 0.7 * ema + 0.3 * e["bpc"]
                ys.append(ema)
            ax.plot(xs, ys, color=color, alpha=0.45, lw=1, label=f"{label} train")
        if va:
            ax.plot(
                [e["chars_seen"] for e in va],
                [e["bpc"] for e in va],
                "o-",
                color=color,
                ms=3,
                lw=1.5,
                label=f"{label} val",
            )
        for e in te:
            ax.plot(
                [e["chars_seen"]], [e["bpc"]], "*", color=color, ms=10, label=f"{label} test {e['bpc']:.3f}"
            )
    ax.set_xlabel("characters trained")
    ax.set_ylabel("bits per character")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("textgen: loss per character")
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write_bytes(Path(out), buf.getvalue())
    return Path(out)
