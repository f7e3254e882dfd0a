"""A poem's keyword plan (Wang et al. 2016, *Chinese Poetry Generation with Planning based Neural
Network*): a few words that carry its subject, one per verse line, found by corpus statistics, and a
planner that proposes such words for a title by their co-occurrence with the title's words.

A "word" is a two-character span inside a verse line that recurs in many poems (明月, 故人, 青山),
so no segmenter is needed; a line without one gives its most specific recurring character. Among a
line's words the most specific (highest inverse document frequency) is its keyword: 明月 rather
than 不见, which the stop characters rule out anyway.

    ex = KeywordExtractor.fit(bodies)                 # bodies: poem texts, one verse line per row
    ex.extract("床前明月光，疑是地上霜。\\n举头望明月，低头思故乡。")   # ['明月', '地上', '举头', '故乡']
    planner = KeywordPlanner.fit(pairs)               # pairs: (title, keywords) from the training split
    planner.plan("送友人归山")                          # ['友人', '归山', ...]
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

SEP = "、"  # between keywords on the header line (in every classical vocabulary; never in a keyword)
N_KEYWORDS = 4
# Function words, pronouns and adverbs: a keyword holding one carries no subject (不见, 何处, 相思 stays).
STOP = set("不无何之其而以于也矣乎兮者所是此谁自亦已未莫非犹皆欲应可须当将与若如似为向从得然一有在")
_LINE = re.compile(r"[，。？！；：、\n]+")


def verse_lines(body: str) -> list[str]:
    return [x for x in _LINE.split(body) if x]


def _spans(line: str) -> list[str]:
    return [line[i : i + 2] for i in range(len(line) - 1)]


class KeywordExtractor:
    """Document frequencies of words (recurring two-character spans) and characters."""

    def __init__(self, df: dict[str, int], n_docs: int, char_min_df: int = 300):
        self.df, self.n_docs, self.char_min_df = df, n_docs, char_min_df

    @classmethod
    def fit(cls, bodies: Iterable[str], min_df: int = 20, min_pmi: float = 3.0) -> KeywordExtractor:
        """Words: spans in at least `min_df` poems whose two characters stick together
        (pointwise mutual information >= min_pmi nats: 故乡 is a word, 思故 is not)."""
        df: Counter[str] = Counter()
        count: Counter[str] = Counter()
        n = 0
        for body in bodies:
            n += 1
            seen = set()
            for line in verse_lines(body):
                spans = _spans(line)
                count.update(line)
                count.update(spans)
                seen.update(line)
                seen.update(spans)
            df.update(seen)
        chars = sum(v for k, v in count.items() if len(k) == 1)

        def cohesive(w: str) -> bool:
            return len(w) == 1 or math.log(count[w] * chars / (count[w[0]] * count[w[1]])) >= min_pmi

        keep = {k: v for k, v in df.items() if v >= min_df and not (set(k) & STOP) and cohesive(k)}
        return cls(keep, n)

    def idf(self, w: str) -> float:
        return math.log(self.n_docs / self.df[w])

    def line_keyword(self, line: str) -> str | None:
        words = [w for w in _spans(line) if w in self.df]
        if not words:
            # A character alone only when it is common (院, 溪): a rare one is seldom the subject.
            words = [c for c in line if self.df.get(c, 0) >= self.char_min_df]
        return max(words, key=self.idf, default=None)  # ties: the first, so it is deterministic

    def extract(self, body: str, k: int = N_KEYWORDS) -> list[str]:
        """One keyword per verse line, in order, distinct; a longer poem keeps its k most specific
        (still in order of appearance)."""
        found: list[str] = []
        for line in verse_lines(body):
            w = self.line_keyword(line)
            if w and w not in found:
                found.append(w)
        if len(found) > k:
            top = set(sorted(found, key=self.idf, reverse=True)[:k])
            found = [w for w in found if w in top]
        return found


def keyword_line(words: list[str]) -> str:
    """The header line; a poem without a keyword gets 无 (a header line is never empty)."""
    return SEP.join(words) or "无"


def parse_keywords(value: str | list[str] | None) -> list[str]:
    """A request's keywords: a list, or one string split on 、 , ， or spaces."""
    if value is None:
        return []
    items = value if isinstance(value, list) else re.split(r"[、,，\s]+", value)
    return [w for w in (x.strip() for x in items) if w]


class KeywordPlanner:
    """Keywords for a title, by co-occurrence: for each word of the title (its two-character spans
    and characters), how much more often a keyword occurs in poems whose title holds that word than
    overall (pointwise mutual information, weighted by evidence). Fit on the training split only."""

    def __init__(self, table: dict[str, list[list]], prior: list[str], words: list[str] = ()):
        self.table, self.prior = table, prior  # title unit -> [[keyword, score], ...]; fallbacks
        self.words = set(words)  # every keyword seen often enough: a title's own words among them lead

    @staticmethod
    def _units(title: str) -> set[str]:
        t = re.sub(r"[^\u3400-\u9fff]", "", title)
        return set(_spans(t)) | {c for c in t if c not in STOP}

    @classmethod
    def fit(cls, pairs: Iterable[tuple[str, list[str]]], min_count: int = 3, top: int = 24,
            min_joint: int = 5) -> KeywordPlanner:  # fmt: skip
        kw_count: Counter[str] = Counter()
        unit_count: Counter[str] = Counter()
        joint: dict[str, Counter[str]] = defaultdict(Counter)
        n = 0
        for title, kws in pairs:
            n += 1
            kws = set(kws)
            kw_count.update(kws)
            for u in cls._units(title):
                unit_count[u] += 1
                joint[u].update(kws)
        table = {}
        for u, c in joint.items():
            if unit_count[u] < min_count:
                continue
            scored = []
            for w, j in c.items():
                if j < min_joint:
                    continue
                pmi = math.log(j * n / (unit_count[u] * kw_count[w]))
                if pmi > 0:  # P(keyword | title word) x lift: often with it, and more than elsewhere
                    score = (
                        pmi * j / unit_count[u] * (1.5 if len(w) == 2 else 1.0)
                    )  # words over lone characters
                    scored.append([w, round(score, 5)])
            scored.sort(key=lambda x: (-x[1], x[0]))
            if scored:
                table[u] = scored[:top]
        prior = [w for w, _ in kw_count.most_common(50)]
        words = sorted(w for w, c in kw_count.items() if c >= min_joint and len(w) == 2)
        return cls(table, prior, words)

    def plan(self, title: str, k: int = N_KEYWORDS) -> list[str]:
        """Up to k keywords for a title, best first, no two sharing a character; a title word that
        is itself a known keyword comes first (《送友人》 writes about 友人)."""
        units = self._units(title)
        score: Counter[str] = Counter()
        for u in units:
            for w, s in self.table.get(u, ()):
                score[w] += s
        for u in units:
            if len(u) == 2 and (u in score or u in self.words):
                score[u] += 100.0  # the title's own word
        out: list[str] = []
        for w, _ in sorted(score.items(), key=lambda x: (-x[1], x[0])):
            if not any(set(w) & set(x) for x in out):
                out.append(w)
            if len(out) == k:
                break
        return out

    def to_json(self) -> str:
        d = {"table": self.table, "prior": self.prior, "words": sorted(self.words)}
        return json.dumps(d, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def load(cls, path: str | Path) -> KeywordPlanner:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(d, dict) or not isinstance(d.get("table"), dict):
            raise ValueError(f"{path}: not a keyword planner file (no 'table')")
        return cls(d["table"], list(d.get("prior") or []), list(d.get("words") or []))


def planner_from_corpus(train_txt: str | Path, header_lines: int) -> KeywordPlanner:
    """The planner of a prepared corpus whose documents open with title and keyword lines (the
    last two header lines): fit on its training split only (train.txt, blank-line separated)."""
    pairs = []
    for doc in Path(train_txt).read_text(encoding="utf-8").split("\n\n"):
        lines = doc.split("\n")
        if len(lines) > header_lines >= 2:
            pairs.append((lines[header_lines - 2], parse_keywords(lines[header_lines - 1])))
    if not pairs:
        raise ValueError(f"{train_txt}: no documents with title and keyword lines")
    return KeywordPlanner.fit(pairs)
