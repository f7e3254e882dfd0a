"""The judges' data: 近体 poems read from a prepared corpus, cross-line repetition and its
calibration to real poems, and the char vocabulary the judges' networks read.

    doc = "五绝\\n静夜思\\n床前明月光，疑是地上霜。\\n举头望明月，低头思故乡。"
    poems = read_poems([doc], header_lines=2, fields=["form", "title"])
    poems[0].title, poems[0].lines[:2]         # ("静夜思", ["床前明月光", "疑是地上霜"])
    cross_repeats(["白日依山尽", "黄河入海流"])   # 0
    cross_repeats(["明月照山川", "明月照江流"])   # 3: 明, 月 and 照 stand in two lines
    table = RepeatTable.fit([p.lines for p in poems])   # real poems' rates (the training split's)
    table.score(poems[0].lines)                # 0.0: as real poems repeat; lower the rarer
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from textgen.poetry.lines import punctuated_lines, verse_lines

LINE_LENGTHS = (5, 7)  # 五言, 七言
LINE_COUNTS = (4, 8)  # 绝句, 律诗
PAD, UNK = 0, 1  # the judges' own char ids: 0 pads a line, 1 is any character not in their list


@dataclass
class Poem:
    """A 近体 poem of the corpus: its header lines as written, title (None: the corpus has none),
    verse lines without punctuation, and the body's punctuated clauses (to prompt the model)."""

    header: list[str]
    title: str | None
    lines: list[str]
    clauses: list[str]  # each verse line with the marks (and newline) after it, as in the corpus

    def prompt(self, k: int) -> str:
        """The header and the first k lines as the corpus writes them: what the model reads before
        line k."""
        return "".join(h + "\n" for h in self.header) + "".join(self.clauses[:k])


def jinti(lines: list[str]) -> bool:
    """4 or 8 lines, all of 5 or all of 7 Chinese characters."""
    return (
        len(lines) in LINE_COUNTS
        and len({len(x) for x in lines}) == 1
        and len(lines[0]) in LINE_LENGTHS
        and all(_cjk(c) for x in lines for c in x)
    )


def _cjk(c: str) -> bool:
    return "\u3400" <= c <= "\u9fff" or "\U00020000" <= c <= "\U0003134f" or "\uf900" <= c <= "\ufaff"


def read_poems(docs: list[str], header_lines: int, fields: list[str]) -> list[Poem]:
    """The 近体 poems among a split's documents (header lines first, then the body)."""
    title_at = fields.index("title") if "title" in fields and len(fields) == header_lines else None
    out = []
    for doc in docs:
        parts = doc.split("\n")
        if len(parts) <= header_lines:
            continue
        header, body = parts[:header_lines], "\n".join(parts[header_lines:])
        lines = verse_lines(body)
        if not jinti(lines):
            continue
        clauses = [x + marks + "\n" * nl for x, marks, nl in punctuated_lines(body)]
        if len(clauses) != len(lines):
            continue
        title = header[title_at].strip() if title_at is not None else None
        out.append(Poem(header, title or None, lines, clauses))
    return out


def cross_repeats(lines: list[str]) -> int:
    """Characters repeated across lines: for each character, the number of lines holding it beyond
    the first. A character twice in one line (a 叠字 such as 漫漫) counts once for that line."""
    counts = Counter(c for x in lines for c in set(x))
    return sum(n - 1 for n in counts.values() if n > 1)


class RepeatTable:
    """Calibration of cross_repeats to real poems: for each line length and line count, the share
    of real poem prefixes with at least c repeats. score() = log(min(1, 2 * P_real(>= c))): 0 while
    at least half of real poems repeat as much, then the log of how rare that much repetition is
    (beyond the most seen in real poems, `slope` nats per further repeat)."""

    def __init__(self, tables: dict[str, list[float]], slope: float = 1.0):
        self.tables = tables  # "5x4" -> [score for c = 0, 1, ..., max]
        self.slope = slope

    @classmethod
    def fit(cls, poems: list[list[str]]) -> RepeatTable:
        counts: dict[str, Counter] = {}
        for lines in poems:
            for n in range(1, len(lines) + 1):
                counts.setdefault(f"{len(lines[0])}x{n}", Counter())[cross_repeats(lines[:n])] += 1
        tables, slopes = {}, []
        for key, hist in sorted(counts.items()):
            total, at_least, row = sum(hist.values()), sum(hist.values()), []
            for c in range(max(hist) + 1):
                # add-one smoothing: a count never seen in real poems is not impossible
                row.append(round(min(0.0, math.log(2 * (at_least + 1) / (total + 2))), 4))
                at_least -= hist.get(c, 0)
            tables[key] = row
            if len(row) > 1 and row[-1] < 0:
                slopes.append(-row[-1] / (len(row) - 1))
        return cls(tables, slope=max(1.0, max(slopes, default=1.0)))

    def score(self, lines: list[str]) -> float:
        """The calibrated score of a poem (or the first lines of one)."""
        return self.scores(lines[:-1], lines[-1:])[0] if lines else 0.0

    def scores(self, lines: list[str], candidates: list[str]) -> list[float]:
        """score(lines + [c]) for each candidate c, the context's characters counted once."""
        row = self.tables.get(self._key([*lines, *candidates[:1]]))
        if not row:
            return [0.0] * len(candidates)
        seen = Counter(c for x in lines for c in set(x))
        base = sum(n - 1 for n in seen.values() if n > 1)
        out = []
        for cand in candidates:
            c = base + sum(1 for ch in set(cand) if ch in seen)
            out.append(row[c] if c < len(row) else row[-1] - self.slope * (c - len(row) + 1))
        return out

    def _key(self, lines: list[str]) -> str:
        """The table of the nearest line length and line count the real poems had."""
        want_len, want_n = len(lines[0]) if lines else 5, len(lines)
        keys = [tuple(map(int, k.split("x"))) for k in self.tables]
        if not keys:
            return ""
        best = min(keys, key=lambda k: (abs(k[0] - want_len), abs(k[1] - want_n)))
        return f"{best[0]}x{best[1]}"

    def to_dict(self) -> dict:
        return {"slope": self.slope, "tables": self.tables}

    @classmethod
    def from_dict(cls, d: dict) -> RepeatTable:
        return cls({str(k): [float(x) for x in v] for k, v in d["tables"].items()}, float(d["slope"]))


def char_list(poems: list[Poem], min_count: int = 2) -> str:
    """The characters of the poems' lines and titles seen at least `min_count` times, most frequent
    first: the judges' vocabulary (ids 2.., after PAD and UNK)."""
    counts = Counter(c for p in poems for x in [*p.lines, p.title or ""] for c in x)
    return "".join(c for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count)
