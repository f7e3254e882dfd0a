"""Sampling as a pure function of logits: named processors and one draw per row.

Every function takes a (B, V) float tensor and per-row parameters (B,), so one batch can mix
requests with different settings, and each row's result depends only on its own logits and its own
random number (drawn from that row's torch.Generator by the caller):

    logits = apply_repetition_penalty(logits, rows, presence, penalty)
    logits = apply_allowed(logits, rows, allowed)          # form/acrostic/rhyme masks, banned tokens
    idx = sample_next_token(logits, u, temperature, top_k, top_p)   # temperature 0 = argmax

Masked tokens are -inf; a caller must leave every row at least one finite logit (the masks in
textgen.sampling.constraints guarantee it), so every draw lands on an allowed token.
"""

from __future__ import annotations

import torch

NEG_INF = float("-inf")


def apply_repetition_penalty(
    logits: torch.Tensor, rows: torch.Tensor, presence: torch.Tensor, penalty: torch.Tensor
) -> torch.Tensor:
    """CTRL-style penalty on the given rows: a seen token's logit is divided by `penalty` if
    positive, multiplied if negative. presence (R, V) bool, penalty (R,)."""
    sub = logits.index_select(0, rows)
    p = penalty[:, None]
    penalised = torch.where(sub > 0, sub / p, sub * p)
    logits.index_copy_(0, rows, torch.where(presence, penalised, sub))
    return logits


def apply_allowed(logits: torch.Tensor, rows: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Set every token outside `allowed` (R, V) bool to -inf on the given rows."""
    sub = logits.index_select(0, rows).masked_fill(~allowed, NEG_INF)
    logits.index_copy_(0, rows, sub)
    return logits


def apply_temperature(logits: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
    # Greedy rows (t = 0) are decided by argmax before this; dividing by 1 keeps them finite.
    t = torch.where(temperature > 0, temperature, torch.ones_like(temperature))
    return logits / t[:, None]


def apply_top_k(logits: torch.Tensor, top_k: torch.Tensor) -> torch.Tensor:
    """Keep each row's k highest logits (ties at the k-th value kept too); k = 0 keeps all."""
    kmax = int(top_k.max())
    if kmax <= 0:
        return logits
    kmax = min(kmax, logits.size(-1))
    top = logits.topk(kmax, dim=-1).values  # (B, kmax), descending
    kth = top.gather(1, (top_k.clamp(1, kmax) - 1)[:, None])  # (B, 1)
    kth = torch.where(top_k[:, None] > 0, kth, torch.full_like(kth, NEG_INF))
    return logits.masked_fill(logits < kth, NEG_INF)


NUCLEUS_SCAN = 256  # top tokens looked at first; a row is sorted whole only when they hold < p


def apply_top_p(logits: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """Nucleus: keep the smallest set of top tokens whose probability reaches p (at least one)."""
    if logits.size(-1) <= NUCLEUS_SCAN:
        return _top_p_sorted(logits, top_p)
    # Sorting 10k logits per row was most of a batched step; the nucleus usually lies within the
    # top few hundred tokens, where the same rule gives the same set. Other rows are sorted whole.
    top, order = logits.topk(NUCLEUS_SCAN, dim=-1)
    probs = (top - torch.logsumexp(logits, dim=-1, keepdim=True)).exp()
    cum = probs.cumsum(dim=-1)
    remove = (cum - probs > top_p[:, None]) & (top_p[:, None] < 1.0)
    out = torch.full_like(logits, NEG_INF).scatter(1, order, top.masked_fill(remove, NEG_INF))
    out = torch.where(top_p[:, None] < 1.0, out, logits)  # p = 1: the row is left exactly alone
    wide = ((cum[:, -1] < top_p) & (top_p < 1.0)).nonzero().flatten()
    if wide.numel():
        out[wide] = _top_p_sorted(logits[wide], top_p[wide])
    return out


def _top_p_sorted(logits: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(dim=-1)
    before = probs.cumsum(dim=-1) - probs  # mass of the tokens ranked above each one
    # Rows with p = 1 are left exactly alone (rounding could otherwise trim their tail).
    remove = (before > top_p[:, None]) & (top_p[:, None] < 1.0)
    sorted_logits = sorted_logits.masked_fill(remove, NEG_INF)
    return torch.full_like(logits, NEG_INF).scatter(1, order, sorted_logits)


def sampling_flags(params) -> tuple[bool, bool, bool, bool, bool]:
    """(all rows sample, any row samples, any temperature != 1, any top-k, any top-p) of a list of
    SamplingParams: which steps sample_next_token can skip, known without reading tensors."""
    t = [p.temperature for p in params]
    return (
        all(x > 0 for x in t),
        any(x > 0 for x in t),
        any(x != 1 for x in t),
        any(p.top_k > 0 for p in params),
        any(p.top_p < 1.0 for p in params),
    )


def sample_next_token(
    logits: torch.Tensor,
    u: torch.Tensor,
    temperature: torch.Tensor,
    top_k: torch.Tensor,
    top_p: torch.Tensor,
    flags: tuple[bool, bool, bool, bool, bool] | None = None,
) -> torch.Tensor:
    """One token per row: argmax where temperature is 0, else an inverse-CDF draw with the row's
    uniform u in [0, 1) from softmax(top_p(top_k(logits / t))). Returns (B,) int64. Work that no
    row needs (temperature 1, top-k/top-p off, greedy) is skipped; results are the same. `flags`
    (see sampling_flags) saves reading the settings back from the tensors at every step."""
    if flags is None:
        flags = (
            bool((temperature > 0).all()),
            bool((temperature > 0).any()),
            bool((temperature != 1).any()),
            bool((top_k > 0).any()),
            bool((top_p < 1.0).any()),
        )
    all_sampled, any_sampled, any_temperature, any_top_k, any_top_p = flags
    sampled_rows = temperature > 0
    if not all_sampled:
        greedy = logits.argmax(dim=-1)
        if not any_sampled:
            return greedy
    x = apply_temperature(logits, temperature) if any_temperature else logits
    if any_top_k:
        x = apply_top_k(x, top_k)
    if any_top_p:
        x = apply_top_p(x, top_p)
    # Unnormalised weights are enough for an inverse-CDF draw: the target scales with the total.
    weights = (x - x.amax(dim=-1, keepdim=True)).exp()
    cdf = weights.cumsum(dim=-1)
    target = (u.to(cdf.dtype) * cdf[:, -1])[:, None]
    idx = torch.searchsorted(cdf, target, right=True).squeeze(1).clamp_max(logits.size(-1) - 1)
    # u * total can round up to the total; never return a token the filters removed.
    bad = weights.gather(1, idx[:, None]).squeeze(1) <= 0
    if bool(bad.any()):
        idx = torch.where(bad, weights.argmax(dim=-1), idx)
    return idx if all_sampled else torch.where(sampled_rows, idx, greedy)
