"""Line-level search for classical forms and tunes: each verse line is drawn as `candidates` samples
from each of the `beams` best partial poems (one batch), every partial poem is scored, the best
`beams` go on, as the strong poetry systems search (a beam over lines, not over characters).

The score of a line is what the model thinks of it, unconstrained (its mean log-probability per
character at temperature 1, so a rhyme the mask had to force, or a line the guards bent, ranks low:
rhyme is reached by selection, the mask stays as the last resort) plus the learned judges
(textgen.judges: does the poem read as real, does the line follow, does it answer the title, how
much it repeats), combined with weights fitted on validation data. Without judges, a built-in
repetition penalty stands in. The model still chooses every character; the search only chooses
among the model's own lines. Seeded: candidate k of beam b on segment s draws from its own
generator seeded from (seed, s, b, k), so the same request gives the same poem.

    seq = gen.new_sequence("", SamplingParams(form="wujue", search=True), seed=7)
    search_sequence(gen, seq)          # seq now holds the best poem found (seq.completion())
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from textgen.model import cat_rows, select_rows
from textgen.poetry.seasons import seasons
from textgen.sampling.batch import SamplingPlan
from textgen.sampling.guided import Guided
from textgen.sampling.sequence import Sequence

TITLE_MAX_CHARS = 12  # a model-written title longer than this (real 绝句 titles: 90th percentile) ranks last
SEASON_WEIGHT = 1.2  # log(0.10 / 0.029): how much likelier a mixed-season quatrain is generated than real
PLAN_WEIGHT = 0.8  # nats per character of the line's mean log-probability that a planned word is worth
_SEED_MIX = 0x9E3779B97F4A7C15


@dataclass
class _Path:
    seq: Sequence
    hidden: object  # (1-row) recurrent state after the last accepted token's input
    next_input: int
    score: float = 0.0
    lines: list[str] = field(default_factory=list)  # verse lines written so far (characters only)
    partial: str = ""  # characters of the current, unfinished line (a prompt that opens the body)
    title: str | None = None


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or ch >= "\U00020000"


def _poem(c):
    return c.inner if isinstance(c, Guided) else c


def _header_state(c) -> tuple[int, int]:
    """(header items left, forced prompt tokens left): what remains before the poem itself."""
    if isinstance(c, Guided):
        return len(c.items), len(c.forced_queue)
    return 0, 0


def _slot_line(p) -> int:
    return -1 if p is None or p.done else p.slots[p.pos].line


def _segment_done(seq: Sequence, start: tuple) -> bool:
    if seq.finished:
        return True
    c = seq.constraint
    head = _header_state(c)
    if start[0] or start[1]:  # a header line (or the forced prompt) is the segment
        return head != start[:2]
    p = _poem(c)
    return p is None or p.done or _slot_line(p) != start[2]


def _fork(gen, seq: Sequence, seed: int) -> Sequence:
    shared = {id(x): x for x in (gen, gen.tokenizer, gen.index, seq.params, seq.rng)}
    p = _poem(seq.constraint)
    if p is not None:  # what never changes while a row writes: shared, not copied
        shared.update({id(x): x for x in (p.spec, p.slots, p.index, p.punct_id, p.acrostic)})
    if isinstance(seq.constraint, Guided) and seq.constraint.guards:
        shared[id(seq.constraint.rules)] = seq.constraint.rules
    shared[id(seq.params.stop)] = seq.params.stop
    new = copy.deepcopy(seq, memo=shared)
    new.rng = torch.Generator().manual_seed(seed)
    return new


def _derive(seed: int, *parts: int) -> int:
    x = seed
    for v in parts:
        x = (x * 1_000_003 + v + 1) * _SEED_MIX % (2**63 - 1)
    return x


class LineSearch:
    """The search for one row. `judges`: a textgen.judges.Judges or None."""

    def __init__(self, gen, judges=None, planner=None):
        self.gen, self.judges, self.planner = gen, judges, planner

    def run(self, seq: Sequence) -> Sequence:
        gen, params = self.gen, seq.params
        B, K = params.beams, params.candidates
        ids = [gen.tokenizer.eos_id, *seq.prompt_ids]
        hidden = gen.runner.prime(ids)
        partial = (
            "".join(ch for ch in seq.prompt if _is_cjk(ch)) if not _header_state(seq.constraint)[0] else ""
        )
        beams = [_Path(seq, hidden, ids[-1], partial=partial, title=params.title)]
        segment = 0
        while not all(b.seq.finished for b in beams):
            live = [b for b in beams if not b.seq.finished]
            done = [b for b in beams if b.seq.finished]
            cands = self._expand(live, K, segment)
            beams = sorted(done + cands, key=lambda b: -b.score)[:B]
            segment += 1
            if segment > 256:  # a form has at most a few dozen segments; never loop forever
                break
        best = max(beams, key=lambda b: b.score)
        best.seq.seed = seq.seed
        return best.seq

    # -- one segment (a verse line, or a header line) for every live path ---------------------
    def _expand(self, live: list[_Path], K: int, segment: int) -> list[_Path]:
        gen = self.gen
        rows: list[_Path] = []
        for b_i, b in enumerate(live):
            c = b.seq.constraint
            items, queue = _header_state(c)
            forced = (items and c.items[0] is not None) or (not items and queue)
            k = 1 if forced else K
            for k_i in range(k):
                s = _fork(gen, b.seq, _derive(b.seq.seed, segment, b_i, k_i))
                rows.append(_Path(s, b.hidden, b.next_input, b.score, list(b.lines), b.partial, b.title))
        start = [(*_header_state(r.seq.constraint), _slot_line(_poem(r.seq.constraint))) for r in rows]
        was_title = [bool(st[0]) and r.seq.constraint.items[0] is None and r.seq.constraint.writes_title
                     and not r.seq.ids for r, st in zip(rows, start, strict=True)]  # fmt: skip
        hidden = cat_rows([r.hidden for r in rows])
        inputs = torch.tensor([r.next_input for r in rows], device=gen.device)
        logp = [0.0] * len(rows)
        nchar = [0] * len(rows)
        text = [""] * len(rows)
        active = list(range(len(rows)))
        seqs = [r.seq for r in rows]
        with torch.inference_mode():
            while active:
                idx_rows = torch.tensor(active, device=gen.device)
                h = hidden if len(active) == len(rows) else select_rows(hidden, idx_rows)
                logits, h = gen.forward_step(inputs.index_select(0, idx_rows), h)
                raw = torch.log_softmax(logits.float(), dim=-1)
                act = [seqs[r] for r in active]
                toks = gen.choose(logits, act, SamplingPlan(act, gen.device)).tolist()
                hidden = _put(hidden, idx_rows, h, len(active) == len(rows))
                still = []
                for j, r in enumerate(active):
                    tok = toks[j]
                    inputs[r] = tok
                    ch = gen.tokenizer.decode([tok]) if tok != gen.tokenizer.eos_id else ""
                    if ch and _is_cjk(ch):
                        logp[r] += float(raw[j, tok])
                        nchar[r] += 1
                        text[r] += ch
                    seqs[r].accept(tok, gen.tokenizer.eos_id)
                    if not _segment_done(seqs[r], start[r]):
                        still.append(r)
                active = still
        out = []
        for r, path in enumerate(rows):
            path.hidden = select_rows(hidden, torch.tensor([r], device=gen.device))
            path.next_input = int(inputs[r])
            path.lm = logp[r] / max(nchar[r], 1)
            path.text = text[r]
            out.append(path)
        return self._score(out, start, was_title)

    def _score(self, rows: list[_Path], start, was_title) -> list[_Path]:
        """Add each row's segment score; verse lines are judged together per parent path."""
        verse = []
        for r, p in enumerate(rows):
            if was_title[r]:
                p.title = p.text
                n = len(p.text)
                p.score += p.lm - (10.0 if n > TITLE_MAX_CHARS or n == 0 else 0.0)
                self._plan_keywords(p)
            elif not (start[r][0] or start[r][1]):  # a forced header line or prompt: nothing to score
                verse.append(p)
        # Group the candidates of one parent (same lines so far) so the judges see them in one call.
        groups: dict[tuple, list[_Path]] = {}
        for p in verse:
            groups.setdefault((p.title, tuple(p.lines), p.partial), []).append(p)
        for (title, lines, partial), ps in groups.items():
            cand = [partial + p.text for p in ps]
            lm = torch.tensor([p.lm for p in ps])
            total = self._judge(title, list(lines), cand, lm, ps)
            for p, t, c in zip(ps, total.tolist(), cand, strict=True):
                p.score += t
                p.lines.append(c)
                p.partial = ""
        # Identical poems are one candidate: keep the first of each.
        seen, out = set(), []
        for p in rows:
            key = (p.title, tuple(p.lines), p.partial, p.seq.finished)
            if key not in seen:
                seen.add(key)
                out.append(p)
        return out

    def _judge(self, title, lines: list[str], cand: list[str], lm: torch.Tensor, ps) -> torch.Tensor:
        if self.judges is not None and cand and all(cand):
            feats = self.judges.features(title, lines, cand)
            total = self.judges.combine(feats, lm).float()
        else:
            seen = set("".join(lines))
            rep = torch.tensor([sum(ch in seen for ch in set(c)) for c in cand], dtype=torch.float)
            total = lm - 0.5 * rep
        # The keyword plan is followed by selection: a line that brings in a planned word not yet
        # used gains PLAN_WEIGHT (a whole word) or a third of it (one of its characters).
        plan = self._plan_words(ps[0].seq) if ps else []
        if plan:
            before = "".join(lines)
            for i, c in enumerate(cand):
                fresh = [w for w in plan if w not in before]
                if any(w in c for w in fresh):
                    total[i] += PLAN_WEIGHT
                elif any(ch in c for w in fresh for ch in w):
                    total[i] += PLAN_WEIGHT / 3
        # One season per poem: a line that brings in another season than the title and the lines
        # before it paint loses SEASON_WEIGHT (real 绝句 mix seasons in 2.9%, the plain search's in 10%).
        painted = seasons((title or "") + "".join(lines))
        if painted:
            for i, c in enumerate(cand):
                if seasons(c) - painted:
                    total[i] -= SEASON_WEIGHT
        # A 叠字 never sits on a rhyme position: such a line is taken only when nothing else is left.
        for i, p in enumerate(ps):
            c = cand[i]
            poem = _poem(p.seq.constraint)
            line_no = len(lines)
            rhymes = poem is not None and line_no in set(poem.spec.rhyme_lines())
            if rhymes and len(c) >= 2 and c[-1] == c[-2]:
                total[i] -= 100.0
        return total

    def _plan_words(self, seq: Sequence) -> list[str]:
        from textgen.data.keywords import parse_keywords

        if seq.keyword_ids:
            return parse_keywords(self.gen.tokenizer.decode(seq.keyword_ids).strip())
        return parse_keywords(seq.keywords) if seq.keywords else []

    def _plan_keywords(self, p: _Path) -> None:
        """After a model-written title: the keyword line the model would write next is planned from
        the title by corpus co-occurrence (textgen.data.keywords.KeywordPlanner) and forced."""
        c = p.seq.constraint
        if self.planner is None or not isinstance(c, Guided) or not c.items or c.items[0] is not None:
            return
        if not c.hidden[0]:
            return
        words = self.planner.plan(p.title or "")
        if words:
            from textgen.data.keywords import keyword_line

            c.items[0] = self.gen.tokenizer.encode(keyword_line(words) + "\n")


def _put(hidden, rows: torch.Tensor, new, whole: bool):
    """Write the active rows' new state back into the segment's batch state."""
    if whole:
        return new
    if isinstance(hidden, tuple):
        return tuple(h.index_copy(1, rows, n) for h, n in zip(hidden, new, strict=True))
    return hidden.index_copy(1, rows, new)


def search_sequence(gen, seq: Sequence, judges=None, planner=None) -> Sequence:
    """Run the search for one row and return the finished best row (the given one is left as is)."""
    return LineSearch(gen, judges, planner).run(seq)
