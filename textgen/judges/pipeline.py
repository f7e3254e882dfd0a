"""`textgen judges train`, as a function: from a checkpoint to judges.safetensors + judges.json.

    judges, paths = train_judges("checkpoints/tang", samples=2048, seed=1)   # about 6 minutes

1. the checkpoint's recorded corpus: 近体 poems (4 or 8 lines of 5 or 7 characters) of the
   training split (judges) and of the validation split (figures, combination weights);
2. the model's own poems (plain sampler, release settings) and its next line for training
   contexts (drawn as the search draws candidates); `samples` of each, a fifth held out;
3. the three networks trained together (training split only), repetition calibrated on it;
4. validation contexts, each with the real next line and 8 lines the model wrote for it (their mean
   log-probabilities per character, the real line's teacher-forced), scored by the judges; the
   weights fitted to rank the real line first (fit.py; fixed fallback weights when there are too
   few contexts).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import torch

from textgen.errors import CorpusError
from textgen.judges.data import Poem, RepeatTable, char_list, cross_repeats, read_poems
from textgen.judges.fit import Group, accuracy, auc, cross_validated, fit_weights, group_features
from textgen.judges.judges import FALLBACK_WEIGHTS, NAMES, Judges
from textgen.judges.samples import model_poems, sample_lines
from textgen.judges.train import Continuation, TrainData, new_net, train_net

CANDIDATES = 8  # the model's lines per validation context
MIN_POEMS = 16
MIN_GROUPS = 8  # fewer validation contexts: the fallback weights


def train_judges(checkpoint: str | Path, *, out: str | Path | None = None,
                 log: Callable[[str], None] = lambda s: None, **kwargs) -> tuple[Judges, tuple[Path, Path]]:  # fmt: skip
    """Train, evaluate and fit a model's judges on its recorded corpus (build_judges' keyword
    arguments); write them into `out` (default: beside the model)."""
    from textgen.data.prepare import prepare_recorded
    from textgen.sampling import Generator

    t0 = time.perf_counter()
    gen = Generator.from_checkpoint(checkpoint)
    ckpt = gen.checkpoint
    corpus = ckpt.meta.corpus
    if not corpus.name:
        raise CorpusError(f"{ckpt.path}: records no corpus to train judges on")
    pc = prepare_recorded(corpus.to_dict(), tokenizer=ckpt.tokenizer)
    k_header = int(pc.summary.get("header_lines", ckpt.meta.header_lines) or 0)
    fields = ckpt.meta.header_fields
    real = read_poems(pc.documents("train"), k_header, fields)
    val = read_poems(pc.documents("val"), k_header, fields)
    if len(real) < MIN_POEMS or len(val) < 2:
        raise CorpusError(
            f"{pc.dir}: {len(real)} training and {len(val)} validation poems of 近体 shape "
            f"(4 or 8 lines of 5 or 7 characters); judges need at least {MIN_POEMS} and 2"
        )
    log(f"corpus {pc.dir.name}: {len(real):,} training and {len(val):,} validation 近体 poems")
    if "keywords" in fields and "title" in fields:  # the keyword planner ships beside the judges
        from textgen.data.keywords import planner_from_corpus
        from textgen.paths import atomic_write_text

        where = Path(out) if out else ckpt.path.parent
        where.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            where / "keywords.json", planner_from_corpus(pc.dir / "train.txt", k_header).to_json()
        )
        log(f"wrote {where / 'keywords.json'} (the keyword planner, from the training split)")
    judges = build_judges(gen, real, val, log=log, **kwargs)
    judges.info = {
        "model": {"checkpoint": str(checkpoint), "sha256": ckpt.digest, "corpus": pc.dir.name},
        **judges.info,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return judges, judges.save(Path(out) if out else ckpt.path.parent)


def build_judges(gen, real: list[Poem], val: list[Poem], *, samples: int = 2048, seed: int = 1,
                 steps: int = 1000, train_seconds: float = 0.0, contexts: int | None = None,
                 net_config: dict | None = None, command: str = "",
                 log: Callable[[str], None] = lambda s: None) -> Judges:  # fmt: skip
    """The judges of the model `gen` holds, from its training (`real`) and validation (`val`) 近体
    poems: sampled data, trained networks, held-out figures and fitted weights (in .info)."""
    rng = random.Random(seed)

    def bar(what):
        start = time.perf_counter()
        return lambda done, total: log(f"  {what} {done}/{total} ({time.perf_counter() - start:.0f} s)")

    log(f"sampling {samples} poems from the model (plain sampler, T=0.8, top-p 0.9)")
    model = model_poems(gen, samples, seed, progress=bar("poems"))
    log(f"sampling the model's next line for {samples} training contexts")
    cont = _continuations(gen, rng.sample(real, min(samples, len(real))), rng, seed, bar("lines"))
    n_groups = min(len(val), contexts if contexts is not None else max(MIN_GROUPS, samples // 4))
    log(f"sampling {CANDIDATES} candidate lines for each of {n_groups} validation contexts")
    groups = _groups(gen, rng.sample(val, n_groups), rng, seed, bar("candidates"))
    if not model and not cont:
        raise CorpusError("the model wrote no poem of 近体 shape and no usable line: nothing to judge")

    held = len(model) // 5
    rng.shuffle(model)
    rng.shuffle(cont)
    data = TrainData(real, model[held:], cont[len(cont) // 5 :])
    chars = char_list(real)
    ckpt = gen.checkpoint
    net = new_net(chars, net_config, lm_embedding=(ckpt.tokenizer, ckpt.model.embedding.weight), seed=seed)
    judges = Judges(net, chars, RepeatTable.fit([p.lines for p in real]))
    cap = f", at most {train_seconds:g} s" if train_seconds else ""
    log(f"training the judges: {steps} steps{cap} ({len(chars):,} characters)")
    stats = train_net(net, judges.encode, data, seconds=train_seconds, max_steps=steps, seed=seed,
                      progress=lambda s, e, loss: log(f"  step {s} ({e:.0f} s): loss {loss}"))  # fmt: skip

    log("held-out figures and combination weights")
    figures = evaluate(judges, val, model[:held], rng)
    names = ("lm", *NAMES)
    usable = [g for g in groups if g.candidates]
    weights, combination = dict(FALLBACK_WEIGHTS), {}
    source = f"fallback (fewer than {MIN_GROUPS} validation contexts)"
    if len(usable) >= MIN_GROUPS:
        X, mask = group_features(judges, usable, names)
        figures |= _line_figures(X, mask, names)
        length = round(_mean([len(p.lines[0]) for p in real]), 2)
        combination = cross_validated(X, mask, names, seed, line_length=length)
        w = fit_weights(X, mask)
        source = f"fitted: ranking loss on {len(usable)} validation contexts, weights >= 0 (fit.py)"
        if not all(torch.isfinite(w)):
            source = "fallback (the fit failed)"
        else:
            weights = {n: round(float(x), 4) for n, x in zip(names, w, strict=True)}
    judges.set_weights(weights)
    judges.info = {
        "command": command,
        "weights_source": source,
        "data": {
            "real_train": len(real),
            "real_val": len(val),
            "model_poems": len(model),
            "model_next_lines": len(cont),
            "held_out": held,
            "val_contexts": len(usable),
            "candidates": CANDIDATES,
            "seed": seed,
        },  # fmt: skip
        "training": stats,
        "figures": figures,
        "combination": combination,
    }
    return judges


def _continuations(gen, poems: list[Poem], rng: random.Random, seed: int, progress) -> list[Continuation]:
    """The model's line k of each training poem (k at random, at least one line before it)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i, p in enumerate(poems):
        k = rng.randint(1, len(p.lines) - 1)
        with gen.backend():  # the generator's CPU settings (oneDNN off: faster one-token steps)
            (line,), _ = sample_lines(gen.model, gen.tokenizer, p.prompt(k), 1, len(p.lines[k]), g)
        out.append(Continuation(p, k, line))
        if (i + 1) % 128 == 0 or i + 1 == len(poems):
            progress(i + 1, len(poems))
    return out


def _groups(gen, poems: list[Poem], rng: random.Random, seed: int, progress) -> list[Group]:
    """Validation contexts at a random line each, with the model's candidate lines and the mean
    log-probability of [real line, *candidates]."""
    g = torch.Generator().manual_seed(seed + 1)
    groups = []
    for i, p in enumerate(poems):
        k = rng.randint(0, len(p.lines) - 1)
        if gen.tokenizer.unknown_chars(p.lines[k]):  # the model cannot score that line
            continue
        with gen.backend():
            cands, lm = sample_lines(gen.model, gen.tokenizer, p.prompt(k), CANDIDATES, len(p.lines[k]), g,
                                     real=p.lines[k])  # fmt: skip
        groups.append(Group(p, k, cands, lm))
        if (i + 1) % 32 == 0 or i + 1 == len(poems):
            progress(i + 1, len(poems))
    return groups


def evaluate(judges: Judges, val: list[Poem], model: list[list[str]], rng: random.Random) -> dict:
    """Each judge on held-out poems: real validation poems vs model poems it was not trained on;
    the real next line vs a line of another validation poem; the real title vs another's."""

    def real(lines):  # fmt: skip
        return float(judges.features(None, lines[:-1], lines[-1:])["real"][0])

    val = val[:500]
    pos, neg = [real(p.lines) for p in val], [real(q) for q in model]
    out = {"real": {"auc": auc(pos, neg), "accuracy": accuracy(pos, neg), "task": "validation poems vs held-out model poems"}}  # fmt: skip
    pos, neg = [], []
    for p in val:
        k = rng.randint(1, len(p.lines) - 1)
        other = rng.choice(val)
        pos.append(float(judges.features(None, p.lines[:k], [p.lines[k]])["follow"][0]))
        neg.append(float(judges.features(None, p.lines[:k], [rng.choice(other.lines)])["follow"][0]))
    out["follow_other_poem"] = {"auc": auc(pos, neg), "accuracy": accuracy(pos, neg),
                                "task": "real next line vs a line of another validation poem"}  # fmt: skip
    titled = [p for p in val if p.title]
    if len(titled) > 1:
        pos, neg = [], []
        for p in titled:
            other = rng.choice([q for q in titled[:50] if q.title != p.title] or titled)
            pos.append(float(judges.features(p.title, p.lines[:-1], p.lines[-1:])["title"][0]))
            neg.append(float(judges.features(other.title, p.lines[:-1], p.lines[-1:])["title"][0]))
        out["title"] = {
            "auc": auc(pos, neg),
            "accuracy": accuracy(pos, neg),
            "task": "own title vs another poem's",
        }
    pos = [judges.repeat.score(p.lines) for p in val]
    neg = [judges.repeat.score(q) for q in model]
    out["repeat"] = {"auc": auc(pos, neg), "task": "validation poems vs held-out model poems",
                     "mean_repeats_real": _mean([cross_repeats(p.lines) for p in val]),
                     "mean_repeats_model": _mean([cross_repeats(q) for q in model])}  # fmt: skip
    return _rounded(out)


def _line_figures(X: torch.Tensor, mask: torch.Tensor, names: tuple[str, ...]) -> dict:
    """Each feature alone on the search's own question: the real next line vs the model's lines for
    the same validation context (pooled AUC; the follow judge only where there is a line before)."""
    out = {}
    real, cand = mask[:, 0], mask[:, 1:]
    for f, name in enumerate(names):
        rows = torch.ones(len(X), dtype=torch.bool)
        if name == "follow":
            rows = X[:, :, f].abs().sum(1) > 0  # the first line has nothing to follow: all 0
        pos = X[rows & real, 0, f]
        neg = X[:, 1:, f][cand & rows[:, None]]
        out[f"{name}_vs_model_line"] = {
            "auc": auc(pos, neg),
            "task": "real next line vs the model's, same context",
        }
    return _rounded(out)


def _mean(xs: list[float]) -> float:
    return sum(xs) / max(len(xs), 1)


def _rounded(d):
    if isinstance(d, dict):
        return {k: _rounded(v) for k, v in d.items()}
    if isinstance(d, float):
        return None if d != d else round(d, 4)  # NaN (nothing to score) is no JSON number
    return d
