"""How easily a held-out classifier tells generated 绝句 from real ones: accuracy and ROC AUC.

    python benchmarks/detectability.py tang                         # the model's default settings
    python benchmarks/detectability.py tang --compare-search --json > detect.json
    python benchmarks/detectability.py runs/tang --no-search --rhyme --temperature 0.8 --top-p 0.9

Real: the 五绝 and 七绝 of the checkpoint's test split (header lines removed). Generated: a fresh set
of as many 绝句, in the real set's 五绝/七绝 proportions, rows seeded --seed, --seed + 1, ...; the
title (and keyword) lines the model writes are dropped. Settings left out stay the model's defaults.

The classifier is of another kind than the search's judges (small neural nets): a logistic
regression on TF-IDF character 1- and 2-grams (within verse lines; the vocabulary from the training
half, n-grams in 2+ of its poems; sublinear tf, l2-normalised rows; its L2 strength chosen by an
inner 2-fold split of the training half): what the poems say, word by word. A second column adds
form features, standardised: the even lines rhyme under 平水韵, the 格律 tone rules hold, characters
repeated across lines, characters repeated in the poem, and each defect of textgen.poetry.defects.
2-fold: train on half of the real and half of the generated poems, test on the other halves, swap;
--repeats draws new halves. The control row pits two halves of the real poems against each other:
it reads about 0.5, and any other row's distance from it is what the classifier found.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from textgen.poetry.check import split_lines
from textgen.poetry.defects import DEFECTS, defects
from textgen.poetry.gelv import rhyme_faults, tone_faults

sys.path.insert(0, str(Path(__file__).parent))
from jueju import (  # noqa: E402
    add_options,
    cross_line_repeats,
    form_mix,
    generate_jueju,
    model_and_corpus,
    real_jueju,
    settings_of,
)

C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)  # inverse L2 strength, as scikit-learn's C
BIAS = 10.0  # the constant feature that carries the bias (its penalty is C * BIAS^2 times weaker)


FORM_FEATURES = ("rhymes", "tones_kept", "cross_line_repeats", "repeated_chars", *DEFECTS)


@dataclass
class Doc:
    """A poem as the classifier sees it: its character 1-2-grams and its form features."""

    grams: list[str]
    form: list[float]

    @classmethod
    def of(cls, body: str) -> Doc:
        lines = split_lines(body)
        grams = [c for x in lines for c in x] + [x[i : i + 2] for x in lines for i in range(len(x) - 1)]
        chars = "".join(lines)
        found = defects(body)
        form = [not rhyme_faults(lines), len(lines) >= 4 and not tone_faults(lines), cross_line_repeats(body),
                sum(chars.count(c) > 1 for c in set(chars)), *(found[d] for d in DEFECTS)]  # fmt: skip
        return cls(grams, [float(x) for x in form])


class Features:
    """TF-IDF over character 1-2-grams, fit on the training poems (n-grams in 2+ of them); with
    `form`, the form features too, standardised on the training poems."""

    def __init__(self, docs: list[Doc], form: bool, min_df: int = 2):
        df = Counter(g for d in docs for g in set(d.grams))
        self.vocab = {g: i for i, g in enumerate(sorted(g for g, n in df.items() if n >= min_df))}
        n = len(docs)
        self.idf = np.array([math.log((1 + n) / (1 + df[g])) + 1 for g in self.vocab])
        self.form = form
        f = np.array([d.form for d in docs])
        self.mean, self.sd = f.mean(0), np.maximum(f.std(0), 1e-6)

    def __call__(self, docs: list[Doc]) -> np.ndarray:
        x = np.zeros((len(docs), len(self.vocab)))
        for r, d in enumerate(docs):
            for g, k in Counter(d.grams).items():
                if g in self.vocab:
                    x[r, self.vocab[g]] = 1 + math.log(k)
        x *= self.idf
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        if not self.form:
            return x
        return np.hstack([x, (np.array([d.form for d in docs]) - self.mean) / self.sd])


def fit_logreg(x: np.ndarray, y: np.ndarray, c: float, iters: int = 50):
    """L2-regularised logistic regression (sum of log-losses + ||w||^2 / 2C; the bias, a constant
    feature of BIAS, all but unregularised), by Newton's method with the Hessian solved in the
    n x n form (Woodbury: poems are fewer than features). Returns a scorer: features -> log-odds
    of 'generated'."""
    z = np.hstack([x, np.full((len(x), 1), BIAS)])
    k = z @ z.T
    w = np.zeros(z.shape[1])

    def loss(w):
        m = z @ w
        return float(np.logaddexp(0, m).sum() - (y * m).sum() + w @ w / (2 * c))

    f = loss(w)
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(z @ w)))
        g = z.T @ (p - y) + w / c
        r = np.sqrt(p * (1 - p))
        # (Z'SZ + I/C)^-1 g = C (g - Z'S^1/2 (I/C + S^1/2 Z Z' S^1/2)^-1 S^1/2 Z g)
        inner = np.linalg.solve(np.eye(len(k)) / c + r[:, None] * k * r[None, :], r * (z @ g))
        step = c * (g - z.T @ (r * inner))
        t = 1.0
        while (new := loss(w - t * step)) > f - 1e-4 * t * (g @ step) and t > 1e-8:
            t /= 2  # backtracking: a full Newton step can overshoot far from the optimum
        w, f, done = w - t * step, new, abs(f - new) < 1e-10 * max(1.0, abs(f))
        if done:
            break
    wx, b = w[:-1], w[-1] * BIAS
    return lambda x_: x_ @ wx + b


def roc_auc(scores: np.ndarray, y: np.ndarray) -> float:
    """Probability that a positive scores above a negative (ties count half): Mann-Whitney."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    s = scores[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def train_and_test(train: list[tuple[Doc, int]], test: list[tuple[Doc, int]], form: bool) -> dict:
    """Fit on `train` (C chosen by an inner 2-fold split of it), score `test`."""
    feats = Features([d for d, _ in train], form)
    x, y = feats([d for d, _ in train]), np.array([t for _, t in train])
    inner = np.arange(len(train)) % 2 == 0  # train is shuffled: alternate rows are two halves
    best, best_c = -1.0, C_GRID[0]
    for c in C_GRID:
        auc = 0.0
        for a in (inner, ~inner):
            auc += roc_auc(fit_logreg(x[a], y[a], c)(x[~a]), y[~a]) / 2
        if auc > best:
            best, best_c = auc, c
    score = fit_logreg(x, y, best_c)
    xt, yt = feats([d for d, _ in test]), np.array([t for _, t in test])
    s = score(xt)
    return {"accuracy": float(((s > 0) == (yt == 1)).mean()), "auc": roc_auc(s, yt), "C": best_c}


def two_fold(neg: list[str], pos: list[str], repeats: int, seed: int) -> dict:
    """2-fold cross-validation (halves of each class), `repeats` times over new halves, for each
    feature set: {"ngrams": {accuracy, auc, their sd, folds}, "ngrams+form": {...}}."""
    rng = random.Random(seed)
    docs = [[(Doc.of(t), label) for t in bodies] for bodies, label in ((neg, 0), (pos, 1))]
    folds: dict[str, list[dict]] = {"ngrams": [], "ngrams+form": []}
    for _ in range(repeats):
        a, b = [], []
        for d in docs:
            d = d[:]
            rng.shuffle(d)
            a, b = a + d[: len(d) // 2], b + d[len(d) // 2 :]
        rng.shuffle(a)
        rng.shuffle(b)
        for name in folds:
            folds[name] += [train_and_test(a, b, name != "ngrams"), train_and_test(b, a, name != "ngrams")]
    out = {}
    for name, fs in folds.items():
        acc, auc = [f["accuracy"] for f in fs], [f["auc"] for f in fs]
        out[name] = {
            "accuracy": statistics.mean(acc),
            "accuracy_sd": statistics.stdev(acc) if len(acc) > 1 else 0.0,
            "auc": statistics.mean(auc),
            "auc_sd": statistics.stdev(auc) if len(auc) > 1 else 0.0,
            "folds": fs,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("-n", type=int, default=400, help="poems per side (real ones: at most the test split's)")
    ap.add_argument("--seed", type=int, default=1000, help="first generation seed; also draws the halves")
    ap.add_argument("--compare-search", action="store_true",
                    help="two generated rows, --no-search and --search, on the same seeds")  # fmt: skip
    ap.add_argument("--repeats", type=int, default=3, help="2-fold splits drawn (each gives two folds)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    add_options(ap)
    args = ap.parse_args()
    gen, pc = model_and_corpus(args)
    rng = random.Random(args.seed)
    pool = real_jueju(pc)
    real = rng.sample(pool, min(args.n, len(pool)))
    control = rng.sample(pool, len(pool) // 2 * 2)
    report = {"checkpoint": args.checkpoint, "corpus": str(pc.dir), "seed": args.seed, "repeats": args.repeats,
              "classifier": "logistic regression on TF-IDF character 1-2-grams (+ form features)", "rows": []}  # fmt: skip
    half = len(control) // 2
    row = {"name": "real vs real (control)", "n_real": half, "n_other": half}
    report["rows"].append(row | two_fold([p.body for p in control[:half]], [p.body for p in control[half:]],
                                         args.repeats, args.seed))  # fmt: skip
    forms = form_mix(real, len(real), rng)
    variants = [("off", False), ("on", True)] if args.compare_search else [(None, args.search)]
    bodies: dict[str, list[str]] = {}
    for label, search in variants:
        params = settings_of(args, search=search)
        shown = " ".join(f"{k}={v}" for k, v in params.items()) or "the model's defaults"
        row = {"name": f"real vs generated ({shown})", "params": params, "n_real": len(real),
               "n_other": len(forms)}  # fmt: skip
        t0 = time.perf_counter()
        try:
            made = generate_jueju(gen, forms, params, args.seed)
        except Exception as e:  # noqa: BLE001 -- e.g. search not there yet: the other rows still run
            report["rows"].append(row | {"error": f"{type(e).__name__}: {e}"})
            continue
        row["generate_s"] = round(time.perf_counter() - t0, 1)
        bodies[label or ""] = [p.body for p in made]
        if label == "on" and bodies.get("off") == bodies["on"]:
            row["note"] = "the same poems as --no-search: the sampler ignores search"
        report["rows"].append(
            row | two_fold([p.body for p in real], bodies[label or ""], args.repeats, args.seed)
        )
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return
    print(
        f"\nDetectability ({args.checkpoint}; {report['classifier']}; 2-fold x {args.repeats}, mean ± sd)\n"
    )
    print("| pair | n per side | accuracy | ROC AUC | accuracy, + form | ROC AUC, + form |")
    print("|---|---|---|---|---|---|")
    for r in report["rows"]:
        if "error" in r:
            print(f"| {r['name']} | | {r['error']} | | | |")
            continue
        note = f" ({r['note']})" if r.get("note") else ""
        cells = [f"{r[k]['accuracy']:.3f} ± {r[k]['accuracy_sd']:.3f} | {r[k]['auc']:.3f} ± {r[k]['auc_sd']:.3f}"
                 for k in ("ngrams", "ngrams+form")]  # fmt: skip
        print(f"| {r['name']}{note} | {r['n_real']} / {r['n_other']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
