"""Held-out figures of the judges and the weights that combine them with the language model.

    groups = [Group(poem, k, candidates, lm), ...]       # validation contexts, the model's lines
    X, mask = group_features(judges, groups)            # (G, 1+K, F): the real line first
    w = fit_weights(X, mask, names)                     # the real line should outrank the model's
    ranking(X, mask, w)                                 # {"top1": ..., "auc": ...}

The fit is the ranking loss of Holtzman et al. (2018): for each validation context the real next
line and K lines the model wrote for it are scored w . features, and the softmax over the group
should put the real line first. Weights are kept >= 0: every feature is "higher = better".

Among lines the model itself sampled, the chance that one is the real line is p_real / p_model of
it, so this fit prefers the less probable lines and gives the language model weight 0 when real
lines are less probable than the model's samples (at temperature 0.8 they are): the judges then
choose among candidates the model already finds likely. A residual energy model (Deng et al.
2020) would add the line's log-probability instead, lm weight = line length; cross_validated
reports that ranking too ("lm=L + judges").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from textgen.judges.data import Poem


@dataclass
class Group:
    """A validation context (poem, k: lines before the candidate), the model's candidate lines for
    it, and the language model's mean log-probability of [real line, *candidates]."""

    poem: Poem
    k: int
    candidates: list[str]
    lm: torch.Tensor  # (1 + K,)


def auc(pos: list[float] | torch.Tensor, neg: list[float] | torch.Tensor) -> float:
    """ROC AUC: the chance a positive scores above a negative (ties count half)."""
    p, n = torch.as_tensor(pos, dtype=torch.float64), torch.as_tensor(neg, dtype=torch.float64)
    if not len(p) or not len(n):
        return float("nan")
    diff = p[:, None] - n[None, :]
    return float((diff > 0).double().mean() + 0.5 * (diff == 0).double().mean())


def accuracy(pos, neg) -> float:
    """Balanced accuracy of logit > 0 (real) vs <= 0."""
    p, n = torch.as_tensor(pos), torch.as_tensor(neg)
    return float(((p > 0).float().mean() + (n <= 0).float().mean()) / 2)


def group_features(judges, groups: list[Group], names: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """(G, 1+K, F) features ("lm" and each judge, in `names` order; the real line at index 0) and
    the (G, 1+K) mask of lines to rank (the model's lines equal to the real one are left out)."""
    K = max(len(g.candidates) for g in groups)
    X = torch.zeros(len(groups), 1 + K, len(names))
    mask = torch.zeros(len(groups), 1 + K, dtype=torch.bool)
    for i, g in enumerate(groups):
        real = g.poem.lines[g.k]
        lines = [real, *g.candidates]
        feats = judges.features(g.poem.title, g.poem.lines[: g.k], lines)
        feats["lm"] = g.lm
        for f, name in enumerate(names):
            X[i, : len(lines), f] = feats[name]
        mask[i, : len(lines)] = torch.tensor([True] + [c != real for c in g.candidates])
        mask[i] &= torch.isfinite(X[i]).all(-1)
    X = torch.nan_to_num(X, neginf=0.0)
    return X, mask


def ranking(X: torch.Tensor, mask: torch.Tensor, w: torch.Tensor) -> dict:
    """How the weighted score ranks the real line among the model's: top-1 rate and AUC (real vs
    each model line of its own group)."""
    s = (X @ w).masked_fill(~mask, float("-inf"))  # (G, 1+K)
    ok = mask[:, 0] & (mask[:, 1:].sum(1) > 0)
    s, m = s[ok], mask[ok]
    top1 = (s[:, 1:].max(1).values < s[:, 0]).float().mean()
    diff = s[:, :1] - s[:, 1:]
    pair = ((diff > 0).float() + 0.5 * (diff == 0).float()) * m[:, 1:]
    return {"top1": round(float(top1), 4), "auc": round(float(pair.sum() / m[:, 1:].sum()), 4),
            "groups": int(ok.sum()), "chance_top1": round(float((1 / m.sum(1)).mean()), 4)}  # fmt: skip


def fit_weights(X: torch.Tensor, mask: torch.Tensor, fixed: dict[int, float] | None = None,
                l2: float = 1e-3) -> torch.Tensor:  # fmt: skip
    """(F,) weights >= 0 minimising the mean -log softmax of the real line within its group (+ l2 on
    the fitted ones); `fixed`: feature index -> a weight held where it is."""
    fixed = fixed or {}
    ok = mask[:, 0] & (mask[:, 1:].sum(1) > 0)
    X, mask = X[ok], mask[ok]
    free = torch.tensor([i not in fixed for i in range(X.shape[-1])])
    held = torch.zeros(X.shape[-1])
    for i, v in fixed.items():
        held[i] = v
    # w = softplus(u) >= 0; L-BFGS on the smooth, convex-in-w loss converges in a few dozen steps
    u = torch.full((X.shape[-1],), -2.25, requires_grad=True)  # softplus(-2.25) = 0.1
    opt = torch.optim.LBFGS([u], lr=1.0, max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        w = torch.where(free, torch.nn.functional.softplus(u), held)
        s = (X @ w).masked_fill(~mask, float("-inf"))
        loss = -s.log_softmax(1)[:, 0].mean() + l2 * (w[free] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    w = torch.where(free, torch.nn.functional.softplus(u), held).detach()
    return torch.where(w < 1e-3, torch.zeros_like(w), w)  # softplus never reaches 0: what is ~0 is 0


def cross_validated(X: torch.Tensor, mask: torch.Tensor, names: tuple[str, ...], seed: int = 0,
                    line_length: float = 5.0) -> dict:  # fmt: skip
    """Two-fold figures (fit on one half of the groups, rank the other, both ways, averaged): the
    language model alone, each judge alone, the judges together, all fitted (what ships), and the
    judges' weights with the lm at the line length ("lm=L + judges")."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(X), generator=g)
    halves = [order[: len(X) // 2], order[len(X) // 2 :]]
    lm = names.index("lm")
    judges = [i for i, n in enumerate(names) if n != "lm"]
    sets = {"lm": ([], {lm: 1.0}), **{names[i]: ([i], {}) for i in judges}, "judges": (judges, {}),
            "all": (list(range(len(names))), {}), "lm=L + judges": (judges, {lm: line_length})}  # fmt: skip
    out = {}
    for label, (cols, fixed) in sets.items():
        rows = []
        for a, b in (halves, halves[::-1]):
            w = torch.zeros(len(names))
            for i, v in fixed.items():
                w[i] = v
            if cols:  # a weight in `fixed` is set after the fit of the others
                w[cols] = fit_weights(X[a][..., cols], mask[a])
            rows.append(ranking(X[b], mask[b], w))
        out[label] = {k: round(sum(r[k] for r in rows) / 2, 4) for k in ("top1", "auc", "chance_top1")}
    return out
