"""The judges' networks: one char embedding, a small CNN line encoder per judge, and three heads.

Every judge reads verse lines as vectors (each line encoded on its own), so the search encodes the
poem so far once and each candidate once, then combines vectors: cheap for K candidates.

    net = JudgeNet(JudgeConfig(vocab_size=len(chars) + 2))
    vecs = net.lines(net.enc_real, ids)          # (B, L, T) char ids -> (B, L, h) line vectors
    net.real(vecs, mask)                         # (B,) logit: a real poem, not the model's
    net.follow(ctx_vecs, ctx_mask, cand_vecs)    # (B,) logit: the candidate follows the context
    net.title(title_vecs, poem_vecs, mask, net.title_extra(title_ids, ids))  # answers the title
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn

from textgen.judges.data import PAD, UNK


@dataclass
class JudgeConfig:
    vocab_size: int
    n_embd: int = 64  # char embedding
    channels: int = 96  # convolution filters per line encoder
    hidden: int = 96  # line vector
    max_lines: int = 16  # positions of lines (a tune may have more than a 律诗's 8)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> JudgeConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in d.items() if k in names})


class LineEncoder(nn.Module):
    """The weights that turn one line's char embeddings into a vector (JudgeNet.lines_many does the
    work): width-3 convolution, max over the line, plus the mean embedding (a bag of characters)
    and the last character's (where the rhyme sits)."""

    def __init__(self, c: JudgeConfig):
        super().__init__()
        self.conv = nn.Conv1d(c.n_embd, c.channels, 3, padding=1)
        self.out = nn.Linear(c.channels + 2 * c.n_embd, c.hidden)


def _summary(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(N, T, d), (N, T) -> (N, 2d): a line's mean character embedding and its last character's."""
    bag = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
    end = (mask.sum(1) - 1).clamp(min=0)
    return torch.cat([bag, x.gather(1, end[:, None, None].expand(-1, 1, x.shape[-1]))[:, 0]], -1)


def _mlp(n_in: int, n_hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, 1))


class JudgeNet(nn.Module):
    def __init__(self, config: JudgeConfig):
        super().__init__()
        self.config = c = config
        self.emb = nn.Embedding(c.vocab_size, c.n_embd, padding_idx=PAD)
        self.enc_real, self.enc_follow = LineEncoder(c), LineEncoder(c)
        self.enc_title, self.enc_poem = LineEncoder(c), LineEncoder(c)  # title chars; the poem's lines
        self.pos_real = nn.Embedding(c.max_lines, c.hidden)
        self.pos_follow = nn.Embedding(c.max_lines, c.hidden)
        self.real_head = _mlp(2 * c.hidden, c.hidden)
        self.follow_head = _mlp(7 * c.hidden + 2, c.hidden)
        self.title_poem = nn.Linear(2 * c.hidden, c.hidden)
        self.title_head = _mlp(3 * c.hidden + 2, c.hidden)
        self.drop = nn.Dropout(0.1)  # on line vectors, while training: a few thousand model poems

    def lines(self, enc: LineEncoder, ids: torch.Tensor) -> torch.Tensor:
        """(..., T) char ids -> (..., h) line vectors (all-PAD lines give a vector too: mask them)."""
        return self.lines_many([enc], ids)[0]

    def lines_many(self, encs: list[LineEncoder], ids: torch.Tensor) -> list[torch.Tensor]:
        """lines() for several encoders at once: one embedding lookup and one matrix product with
        their filters stacked (the search's call encodes the same lines for three judges)."""
        flat = ids.reshape(-1, ids.shape[-1])
        x, mask = self.emb(flat), flat != PAD
        # The width-3 convolutions as one (N*T, 3d) x (3d, n*C) product over each character's
        # window: faster than conv1d on a few short lines, the same sums.
        pad = torch.nn.functional.pad(x, (0, 0, 1, 1))  # (N, T+2, d)
        windows = torch.cat([pad[:, :-2], pad[:, 1:-1], pad[:, 2:]], -1)  # (N, T, 3d)
        w = torch.cat([e.conv.weight.permute(0, 2, 1).flatten(1) for e in encs])  # (n*C, 3d)
        b = torch.cat([e.conv.bias for e in encs])
        h = torch.relu(torch.nn.functional.linear(windows, w, b))  # (N, T, n*C)
        if not bool(mask.all()):
            h = h.masked_fill(~mask[..., None], 0.0)  # relu >= 0, so 0 stands in for -inf
        h = h.amax(1)
        summary = _summary(x, mask)
        C = self.config.channels
        vecs = [
            torch.relu(e.out(torch.cat([h[:, i * C : (i + 1) * C], summary], -1))) for i, e in enumerate(encs)
        ]
        return [self.drop(v).reshape(*ids.shape[:-1], -1) for v in vecs]

    def real(self, vecs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, L, h) line vectors of enc_real, (B, L) valid lines -> (B,) logit of a real poem."""
        pos = torch.arange(vecs.shape[1], device=vecs.device).clamp(max=self.config.max_lines - 1)
        v = vecs + self.pos_real(pos)  # where a line stands (line 3 turns, line 4 lands)
        return self.real_head(_pool(v, mask)).squeeze(-1)

    def follow(
        self, ctx: torch.Tensor, mask: torch.Tensor, cand: torch.Tensor, extra: torch.Tensor
    ) -> torch.Tensor:
        """ctx (B, L, h) enc_follow vectors of lines before the candidate, mask (B, L) (at least
        one line each), cand (B, h), extra (B, 2) follow_extra() -> (B,) logit that the
        candidate is the next line."""
        n = mask.sum(1)  # lines before the candidate
        last = _line_at(ctx, n - 1)
        rhyme = _line_at(ctx, n - 2) * (n >= 2)[:, None]  # the line before last: it rhymes with line n+1
        m = mask[..., None].float()
        mean = (ctx * m).sum(1) / m.sum(1).clamp(min=1)
        cand = cand + self.pos_follow(n.clamp(max=self.config.max_lines - 1))
        x = torch.cat([last, rhyme, mean, cand, last * cand, rhyme * cand, mean * cand, extra], -1)
        return self.follow_head(x).squeeze(-1)

    def title(
        self, title: torch.Tensor, vecs: torch.Tensor, mask: torch.Tensor, extra: torch.Tensor
    ) -> torch.Tensor:
        """title (B, h) enc_title vector, vecs (B, L, h) enc_poem line vectors, extra (B, 2)
        title_extra() -> (B,) logit that the poem answers this title."""
        poem = torch.relu(self.title_poem(_pool(vecs, mask)))
        return self.title_head(torch.cat([title, poem, title * poem, extra], -1)).squeeze(-1)

    # Two direct measures each, which the heads can use from the first step (the char embeddings
    # start as the language model's, whose similarities already mean something).

    def follow_extra(self, ctx: torch.Tensor, mask: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        """ctx (B, L, T) ids, mask (B, L), cand (B, T) ids -> (B, 2): the cosine of the candidate's
        mean character embedding with the last line's and with the whole context's."""
        last = ctx.gather(1, (mask.sum(1) - 1).clamp(min=0)[:, None, None].expand(-1, 1, ctx.shape[-1]))[:, 0]
        return follow_extra(self.bag(last), self.bag(ctx.flatten(1)), self.bag(cand))

    def title_extra(self, title: torch.Tensor, poem: torch.Tensor) -> torch.Tensor:
        """title (B, Tt) ids, poem (B, L, T) ids -> (B, 2): the share of the title's characters
        (PAD and UNK aside) the poem holds, and the cosine of their mean character embeddings."""
        poem = poem.flatten(1)
        known = title > UNK
        hit = (title[:, :, None] == poem[:, None, :]).any(-1) & known
        shared = hit.sum(1) / known.sum(1).clamp(min=1)
        return title_extra(shared, self.bag(title), self.bag(poem))

    def bag(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, N) ids -> (B, d): the mean embedding of the characters (PAD aside)."""
        m = (ids != PAD)[..., None]
        return (self.emb(ids) * m).sum(1) / m.sum(1).clamp(min=1)


def follow_extra(last: torch.Tensor, ctx: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
    """(B, 2) from mean character embeddings (B, d): the candidate's, the last line's, the context's."""
    return torch.stack([_cos(last, cand), _cos(ctx, cand)], -1)


def title_extra(shared: torch.Tensor, title: torch.Tensor, poem: torch.Tensor) -> torch.Tensor:
    """(B, 2) from the share of title characters in the poem (B,) and mean embeddings (B, d)."""
    return torch.stack([shared, _cos(title, poem)], -1)


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a, b, dim=-1, eps=1e-6)


def _line_at(v: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    """(B, L, h), (B,) -> (B, h): each row's line i (clamped to 0)."""
    return v.gather(1, i.clamp(min=0)[:, None, None].expand(-1, 1, v.shape[-1]))[:, 0]


def _pool(v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, L, h), (B, L) -> (B, 2h): mean and max over the valid lines."""
    m = mask[..., None]
    mean = (v * m).sum(1) / m.sum(1).clamp(min=1)
    top = v.masked_fill(~m, float("-inf")).amax(1)
    return torch.cat([mean, torch.where(torch.isfinite(top), top, torch.zeros_like(top))], -1)
