"""What the judges learn from and are fitted on, from the language model: its own poems (the plain
sampler), its next lines for real contexts, and log-probabilities of lines.

    poems = model_poems(gen, 256, seed=1)                        # [["白日依山尽", ...], ...]
    rng = torch.Generator().manual_seed(1)
    lines, lm = sample_lines(gen.model, gen.tokenizer, poem.prompt(2), 8, 5, rng, real=poem.lines[2])
    line_logprobs(gen.model, gen.tokenizer, poem.prompt(2), ["黄河入海流", ...])   # (K,) teacher-forced
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from textgen.judges.data import jinti
from textgen.poetry.lines import verse_lines

FORMS = ("wujue", "qijue", "wulv", "qilv")
BATCH = 64
# The sampler's release settings (the search's candidates are drawn like these).
TEMPERATURE, TOP_P = 0.8, 0.9


def model_poems(gen, n: int, seed: int, progress: Callable | None = None) -> list[list[str]]:
    """n poems of the plain sampler, a quarter of each 近体 form (rhyme on), as verse lines; a
    title the model wrote first is dropped, and any poem not of its form's shape."""
    from textgen.sampling import SamplingParams

    out, done = [], 0
    for f, form in enumerate(FORMS):
        want = n // len(FORMS) + (f < n % len(FORMS))
        params = SamplingParams(form=form, rhyme=True, temperature=TEMPERATURE, top_p=TOP_P,
                                max_new_tokens=200, search=False)  # fmt: skip
        for start in range(0, want, BATCH):
            for c in gen.generate("", params, n=min(BATCH, want - start), seed=seed + 100_000 * f + start):
                text = c.text.split("\n", 1)[1] if c.title is not None and "\n" in c.text else c.text
                lines = verse_lines(text)
                if jinti(lines):
                    out.append(lines)
            done += min(BATCH, want - start)
            if progress:
                progress(done, n)
    return out


@torch.no_grad()
def sample_lines(model, tok, context: str, k: int, length: int, rng: torch.Generator, real: str | None = None,
                 temperature: float = TEMPERATURE, top_p: float = TOP_P) -> tuple[list[str], torch.Tensor]:  # fmt: skip
    """k lines of `length` characters the model writes after <eos> + context (as the search draws a
    line's candidates: one priming, k rows, temperature and top-p, characters only), and each
    line's mean log-probability per character (temperature 1, unmasked: the search's `lm`). With
    `real` (characters of the model's vocabulary), that line is teacher-forced as row 0: lm is then
    (1 + k,), the real line first."""
    allowed = _char_mask(tok)
    logits, hidden = _prime(model, tok, context)
    rows = k + (real is not None)
    hidden = tuple(_rows(h, rows) for h in hidden) if isinstance(hidden, tuple) else _rows(hidden, rows)
    last = logits[:, -1].expand(rows, -1)  # (rows, V)
    forced = tok.encode(real) if real is not None else None
    ids, lps = [], []
    for t in range(length):
        scores = last.float()
        probs = (scores / temperature).masked_fill(~allowed, float("-inf")).softmax(-1)
        sorted_p, order = probs.sort(-1, descending=True)
        drop = sorted_p.cumsum(-1) - sorted_p >= top_p  # outside the smallest set reaching top_p
        probs = probs.scatter(-1, order, sorted_p.masked_fill(drop, 0.0))
        nxt = torch.multinomial(probs, 1, generator=rng).squeeze(1)
        if forced is not None:
            nxt[0] = forced[t]
        lps.append(scores.log_softmax(-1).gather(1, nxt[:, None]).squeeze(1))
        ids.append(nxt)
        if t < length - 1:
            out, hidden = model(nxt[:, None], hidden)
            last = out[:, -1]
    cols = torch.stack(ids, 1).tolist()
    lines = ["".join(tok.id_to_piece(i) for i in row) for row in cols[1 if forced is not None else 0 :]]
    return lines, torch.stack(lps, 1).mean(1)


def _prime(model, tok, context: str):
    """(1, 1, V) scores of the first character after <eos> + context, and the state there (the
    output layer runs on the last position only)."""
    ctx = torch.tensor([[tok.eos_id, *tok.encode(context, unknown="unk")]])
    hidden = model.init_hidden(1)
    if ctx.shape[1] > 1:
        _, hidden = model.features(ctx[:, :-1], hidden)
    return model(ctx[:, -1:], hidden)


def _rows(h: torch.Tensor, n: int) -> torch.Tensor:
    return h.expand(-1, n, -1).contiguous()  # (layers, 1, H) -> (layers, n, H)


_MASKS: dict[int, torch.Tensor] = {}


def _char_mask(tok) -> torch.Tensor:
    """(V,) True at the ids of single Chinese characters: what a verse line may hold."""
    key = id(tok)
    if key not in _MASKS:
        pieces = [tok.id_to_piece(i) for i in range(tok.vocab_size)]
        _MASKS[key] = torch.tensor([len(x) == 1 and jinti([x * 5] * 4) for x in pieces])
    return _MASKS[key]


@torch.no_grad()
def line_logprobs(model, tok, context: str, lines: list[str]) -> torch.Tensor:
    """(K,) mean log-probability per character of each line (same length) after <eos> + context,
    teacher-forced, temperature 1, no mask: the `lm` the search hands Judges.combine. -inf for a
    line with a character outside the model's vocabulary."""
    logits, hidden = _prime(model, tok, context)
    first = logits[0, -1].float().log_softmax(-1)  # (V,) the first character's distribution
    known = [not tok.unknown_chars(x) for x in lines]
    ids = torch.tensor(
        [tok.encode(x) if ok else [tok.unk_id] * len(x) for x, ok in zip(lines, known, strict=True)]
    )
    K, T = ids.shape
    lp = first[ids[:, 0]][:, None]
    if T > 1:
        h = tuple(_rows(x, K) for x in hidden) if isinstance(hidden, tuple) else _rows(hidden, K)
        rest, _ = model(ids[:, :-1], h)  # (K, T-1, V)
        lp = torch.cat([lp, rest.float().log_softmax(-1).gather(2, ids[:, 1:, None]).squeeze(2)], 1)
    out = lp.mean(1)
    out[~torch.tensor(known)] = float("-inf")
    return out
