"""Training the judges' networks on real poems (training split) and the model's own output.

    data = TrainData(real=poems, model=[lines, ...], cont=[Continuation(poem, k, line), ...])
    net = new_net(chars, lm_embedding=(tokenizer, lm.embedding.weight))
    train_net(net, judges.encode, data, seconds=60)

Each step draws one batch per judge (all poems of one line length), half positives and half
negatives, and adds the three binary cross-entropies:
- real: a real poem's first m lines vs a model poem's first m lines, or real lines then the
  model's own next line for that context (what the search chooses among);
- follow: a context's real next line vs the model's line for the same context, a model poem's
  line, or (half the negatives) another real poem's line at the same place;
- title: the poem's first m lines with its own title vs another poem's title.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from textgen.judges.data import Poem
from textgen.judges.nets import JudgeConfig, JudgeNet


@dataclass
class Continuation:
    """The model's line k of a real poem, written after the poem's header and first k lines."""

    poem: Poem
    k: int
    line: str


@dataclass
class TrainData:
    real: list[Poem]
    model: list[list[str]]  # the model's own poems (verse lines)
    cont: list[Continuation] = field(default_factory=list)

    def by_length(self) -> dict[int, tuple[list[Poem], list[list[str]], list[Continuation]]]:
        """Line length -> (real poems, model poems, continuations) of that length."""
        out: dict[int, tuple[list, list, list]] = {}
        for p in self.real:
            out.setdefault(len(p.lines[0]), ([], [], []))[0].append(p)
        for q in self.model:
            if len(q[0]) in out:
                out[len(q[0])][1].append(q)
        for c in self.cont:
            if len(c.line) in out:
                out[len(c.line)][2].append(c)
        return {n: v for n, v in out.items() if v[1] or v[2]}


def new_net(chars: str, config: dict | None = None, lm_embedding=None, seed: int = 0) -> JudgeNet:
    """A JudgeNet for `chars`; with lm_embedding = (tokenizer, (V, n_embd) weights) its char
    embeddings start as the language model's, projected on their principal directions."""
    torch.manual_seed(seed)
    net = JudgeNet(JudgeConfig(vocab_size=len(chars) + 2, **(config or {})))
    if lm_embedding is not None:
        tok, weight = lm_embedding
        _init_from_lm(net, chars, tok, weight.detach().float())
    return net


def _init_from_lm(net: JudgeNet, chars: str, tok, weight: torch.Tensor) -> None:
    d = net.config.n_embd
    rows, ids = [], []
    for i, c in enumerate(chars):
        if not tok.unknown_chars(c):
            enc = tok.encode(c)
            if len(enc) == 1:
                rows.append(i + 2)
                ids.append(enc[0])
    d = min(d, weight.shape[1])
    if len(ids) < d:
        return
    x = weight[ids] - weight[ids].mean(0)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    proj = x @ v[:d].T  # (n, d): the LM embedding's main directions
    proj = proj / proj.std() * net.emb.weight.std()
    with torch.no_grad():
        net.emb.weight[rows, :d] = proj


def _poem_tensor(encode: Callable, poems: list[list[str]]) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, L, T) ids and (B, L) mask of B poems (lists of lines of one length) padded to L lines."""
    L = max(len(p) for p in poems)
    T = len(poems[0][0])
    ids = encode([x for p in poems for x in p + [""] * (L - len(p))])[:, :T]
    ids = torch.nn.functional.pad(ids, (0, T - ids.shape[1])).reshape(len(poems), L, T)
    mask = torch.tensor([[i < len(p) for i in range(L)] for p in poems])
    return ids, mask


def _other(pool: list, item, rng: random.Random):
    """A random element of pool other than item (item itself when the pool has one element)."""
    for _ in range(8):
        x = rng.choice(pool)
        if x is not item:
            return x
    return x


def real_batch(rng: random.Random, real, model, cont, B: int) -> tuple[list[list[str]], list[float]]:
    poems, labels = [], []
    for _ in range(B // 2):
        p = rng.choice(real)
        poems.append(p.lines[: rng.randint(1, len(p.lines))])
        if cont and (rng.random() < 0.5 or not model):
            c = rng.choice(cont)
            poems.append([*c.poem.lines[: c.k], c.line])
        else:
            q = rng.choice(model)
            poems.append(q[: rng.randint(1, len(q))])
        labels += [1.0, 0.0]
    return poems, labels


def follow_batch(rng: random.Random, real, model, cont, B: int):
    """(contexts, candidates, labels): pairs of one context's real next line and a negative."""
    ctxs, cands, labels = [], [], []
    for i in range(B // 2):
        kind = i % 4
        if kind == 0 and cont:  # the model's own line for this context
            c = rng.choice(cont)
            p, k, neg = c.poem, c.k, c.line
        else:
            p = rng.choice(real)
            k = rng.randint(1, len(p.lines) - 1)
            if kind == 1 and model:  # a line of the model's, at the same place in its poem
                q = rng.choice(model)
                neg = q[min(k, len(q) - 1)]
            else:  # another real poem's line at the same place: only sense and rhyme tell
                q = _other(real, p, rng).lines
                neg = q[min(k, len(q) - 1)]
        ctxs += [p.lines[:k], p.lines[:k]]
        cands += [p.lines[k], neg]
        labels += [1.0, 0.0]
    return ctxs, cands, labels


def title_batch(rng: random.Random, titled: list[Poem], B: int):
    titles, poems, labels = [], [], []
    for _ in range(B // 2):
        p = rng.choice(titled)
        prefix = p.lines[: rng.randint(1, len(p.lines))]
        other = _other(titled, p, rng)
        titles += [p.title, other.title if other.title != p.title else rng.choice(titled).title]
        poems += [prefix, prefix]
        labels += [1.0, 0.0]
    return titles, poems, labels


def losses(net: JudgeNet, encode: Callable, rng: random.Random, group, B: int) -> dict[str, torch.Tensor]:
    """One batch per judge from one line length's (real, model, continuations): name -> loss."""
    real, model, cont = group
    out = {}
    poems, y = real_batch(rng, real, model, cont, B)
    ids, mask = _poem_tensor(encode, poems)
    out["real"] = F.binary_cross_entropy_with_logits(
        net.real(net.lines(net.enc_real, ids), mask), torch.tensor(y)
    )
    ctxs, cands, y = follow_batch(rng, real, model, cont, B)
    ids, mask = _poem_tensor(encode, ctxs)
    cids = encode(cands)
    logit = net.follow(net.lines(net.enc_follow, ids), mask, net.lines(net.enc_follow, cids),
                       net.follow_extra(ids, mask, cids))  # fmt: skip
    out["follow"] = F.binary_cross_entropy_with_logits(logit, torch.tensor(y))
    titled = [p for p in real if p.title]
    if len(titled) > 1:
        titles, poems, y = title_batch(rng, titled, B)
        ids, mask = _poem_tensor(encode, poems)
        tids = encode(titles)
        t = net.lines(net.enc_title, tids)
        logit = net.title(t, net.lines(net.enc_poem, ids), mask, net.title_extra(tids, ids))
        out["title"] = F.binary_cross_entropy_with_logits(logit, torch.tensor(y))
    return out


def train_net(net: JudgeNet, encode: Callable, data: TrainData, *, seconds: float = 60.0, max_steps: int = 0,
              batch: int = 64, lr: float = 3e-3, seed: int = 0, progress: Callable | None = None) -> dict:  # fmt: skip
    """Train all three networks together until `seconds` pass or `max_steps` are taken (0: no
    limit; one of them must be set): returns the steps taken and each judge's mean loss over the
    last 50 steps."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    groups = data.by_length()
    if not groups:
        raise ValueError("no line length has both real poems and model samples")
    lengths = list(groups)
    sizes = [len(groups[n][0]) for n in lengths]
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    net.train()
    t0, step, recent = time.perf_counter(), 0, []
    while True:
        elapsed = time.perf_counter() - t0
        if (max_steps and step >= max_steps) or (seconds and elapsed >= seconds):
            break
        frac = max(elapsed / seconds if seconds else 0.0, step / max_steps if max_steps else 0.0)
        for g in opt.param_groups:  # linear decay to a tenth
            g["lr"] = lr * (1 - 0.9 * min(frac, 1.0))
        n = rng.choices(lengths, weights=sizes)[0]
        parts = losses(net, encode, rng, groups[n], batch)
        loss = sum(parts.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        recent = [*recent[-49:], {k: float(v.detach()) for k, v in parts.items()}]
        if progress and step % 50 == 0:
            progress(step, elapsed, _mean(recent))
    net.eval()
    return {"steps": step, "seconds": round(time.perf_counter() - t0, 1), "loss": _mean(recent)}


def _mean(rows: list[dict]) -> dict:
    keys = {k for r in rows for k in r}
    return {
        k: round(sum(r[k] for r in rows if k in r) / sum(1 for r in rows if k in r), 4) for k in sorted(keys)
    }
