"""词牌 (ci tunes) learned from the Song ci corpus: each tune's line lengths, punctuation, rhymes, tones.

    tune = get_tune("浣溪沙")
    tune.lengths, tune.puncts, tune.rhymes   # (7, 7, 7, 7, 7, 7), ("。", "。", ...), (0, 0, 0, None, 0, 0)
    tune.spec()                              # the FormSpec that holds a ci to the tune
    python scripts/build_tunes.py            # rebuild textgen/poetry/data/tunes.json from the corpus

Mining (build_table), over the ci of the prepared songci train split, by tune (the header line; 失调名
= unknown tune is skipped), for tunes with MIN_EXAMPLES ci or more:
- lines are the text between punctuation marks; a ci's shape is its sequence of line lengths. The
  modal shape is the tune's pattern; other shapes with VARIANT_SHARE of the ci are its 又一体.
- over the ci of the modal shape: the modal punctuation after each line and where text lines break;
  whether each line end rhymes, by majority (below); and the tone of each position (平 / 仄 where
  TONE_AGREEMENT of the ci with a known tone agree, else 中 = either; 平水韵 tones, 入声 = 仄).
- rhyme: a line end rhymes in a ci when it shares a 词林正韵 部 (textgen.poetry.pingshui) with the
  ci's last line or with a neighbouring line end; a position rhymes when it does so in
  RHYME_AGREEMENT of the ci, and the last line always rhymes (a ci ends on a rhyme). Rhyming positions chain into rhyme sets (换韵 tunes such as
  菩萨蛮 have several): consecutive rhyming positions that share a 部 in most ci share a set; a set's
  tone is the majority tone of its endings. 词林正韵 部 are approximated from 平水韵 groups (groups it
  splits count in both 部).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from textgen.errors import ConfigError
from textgen.poetry.lines import punctuated_lines

DATA_FILE = Path(__file__).parent / "data" / "tunes.json"
MIN_EXAMPLES = 20
VARIANT_SHARE = 0.1
TONE_AGREEMENT = 0.8
RHYME_AGREEMENT = 0.6
UNKNOWN_TUNE = "失调名"


@dataclass(frozen=True)
class Tune:
    name: str
    examples: int  # ci of this tune in the corpus
    matching: int  # ... of which have the modal shape
    lengths: tuple[int, ...]
    puncts: tuple[str, ...]  # the punctuation after each line
    breaks: tuple[bool, ...]  # a newline after the line
    rhymes: tuple[int | None, ...]  # rhyme set of each line end (None = no rhyme)
    rhyme_tones: tuple[bool, ...]  # per rhyme set: True = 平, False = 仄
    tones: tuple[str, ...]  # per line: 平 / 仄 / 中 for each position
    variants: tuple[tuple[tuple[int, ...], int], ...]  # 又一体: (lengths, count)

    def spec(self, layout: str | None = None):
        """The FormSpec that holds a ci to this tune (line lengths, punctuation, breaks, rhymes)."""
        from textgen.poetry.forms import FormSpec

        breaks = (
            tuple(i < len(self.lengths) - 1 for i in range(len(self.lengths))) if layout == "line" else None
        )
        return FormSpec(self.name, self.lengths, "tune", puncts=self.puncts, breaks=breaks or self.breaks,
                        rhyme_sets=self.rhymes, rhyme_tones=self.rhyme_tones, tone_pattern=self.tones)  # fmt: skip

    def pattern(self) -> str:
        """The tune as text: each line's tones, its punctuation, 韵 marks (e.g. 平平仄仄仄平平(韵)。)."""
        parts = []
        for i, t in enumerate(self.tones):
            mark = (
                ""
                if self.rhymes[i] is None
                else f"({'平' if self.rhyme_tones[self.rhymes[i]] else '仄'}韵{self.rhymes[i] + 1})"
            )
            parts.append(t + mark + self.puncts[i] + ("\n" if self.breaks[i] else ""))
        return "".join(parts)


def split_ci(doc: str) -> tuple[str, list[tuple[str, str, bool]]]:
    """(tune header, [(line text, punctuation after it, newline after it)]) of one corpus document."""
    head, _, body = doc.partition("\n")
    return head, punctuated_lines(body)


def build_table(docs: list[str], min_examples: int = MIN_EXAMPLES) -> dict:
    """The tune table mined from corpus documents (header line = tune), as a JSON-ready dict."""
    by_tune: dict[str, list[list[tuple[str, str, bool]]]] = {}
    for doc in docs:
        head, lines = split_ci(doc)
        if head and head != UNKNOWN_TUNE and lines:
            by_tune.setdefault(head, []).append(lines)
    tunes = {}
    for name in sorted(by_tune, key=lambda t: (-len(by_tune[t]), t)):
        cis = by_tune[name]
        if len(cis) >= min_examples:
            tunes[name] = asdict(_mine(name, cis))
    return {"min_examples": min_examples, "tunes": tunes}


def table_json(table: dict, source: str = "") -> str:
    """The table as the shipped file's text: one tune per line, so diffs stay readable."""
    rows = [
        f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
        for k, v in table["tunes"].items()
    ]
    head = {"source": source, "min_examples": table["min_examples"]}
    return json.dumps(head, ensure_ascii=False)[:-1] + ', "tunes": {\n' + ",\n".join(rows) + "\n}}\n"


def _mine(name: str, cis: list[list[tuple[str, str, bool]]]) -> Tune:
    from textgen.poetry.rhyme import tones_of

    shapes = Counter(tuple(len(x[0]) for x in ci) for ci in cis)
    lengths, matching = min(shapes.items(), key=lambda kv: (-kv[1], kv[0]))
    same = [ci for ci in cis if tuple(len(x[0]) for x in ci) == lengths]
    n = len(lengths)
    puncts = tuple(_mode(ci[i][1] or "。" for ci in same) for i in range(n))
    breaks = tuple(_mode(ci[i][2] for ci in same) if i < n - 1 else False for i in range(n))
    tones = []
    for i, k in enumerate(lengths):
        row = ""
        for j in range(k):
            known = [t for ci in same if len(t := tones_of(ci[i][0][j])) == 1]
            ping = sum(True in t for t in known)
            row += "平" if known and ping >= TONE_AGREEMENT * len(known) else "仄" if known and len(known) - ping >= TONE_AGREEMENT * len(known) else "中"  # fmt: skip
        tones.append(row)
    rhymes, rhyme_tones = _rhymes(same, n)
    variants = tuple((s, c) for s, c in sorted(shapes.items(), key=lambda kv: (-kv[1], kv[0]))
                     if s != lengths and c >= VARIANT_SHARE * len(cis))  # fmt: skip
    return Tune(
        name, len(cis), matching, lengths, puncts, breaks, rhymes, rhyme_tones, tuple(tones), variants
    )


def _rhymes(same: list, n: int) -> tuple[tuple[int | None, ...], tuple[bool, ...]]:
    from textgen.poetry.rhyme import tones_of

    ends = [[_bu(ci[i][0][-1]) for i in range(n)] for ci in same]
    linked = [0] * n  # ci in which line end i rhymes with the last line or a neighbour
    for e in ends:
        for i in range(n):
            near = [e[n - 1]] * (i != n - 1) + [e[j] for j in (i - 1, i + 1) if 0 <= j < n]
            linked[i] += any(e[i] & x for x in near)
    ping = []  # the majority tone of each line end
    for i in range(n):
        ts = [t for ci in same if len(t := tones_of(ci[i][0][-1])) == 1]
        ping.append(sum(True in t for t in ts) * 2 >= len(ts))
    sets: list[int | None] = [None] * n
    tones: list[bool] = []
    prev = None
    # The last line always rhymes (a ci ends on its rhyme), whatever lies between it and the last.
    for i in (i for i in range(n) if linked[i] >= RHYME_AGREEMENT * len(same) or i == n - 1):
        # The previous rhyming position's set when their ends share a 部 in most ci, in one tone.
        shared = prev is not None and sum(bool(e[i] & e[prev]) for e in ends) >= RHYME_AGREEMENT * len(same)
        if shared and ping[i] == ping[prev]:
            sets[i] = sets[prev]
        else:
            sets[i] = len(tones)
            tones.append(ping[i])
        prev = i
    return tuple(sets), tuple(tones)


def _bu(ch: str) -> frozenset[int]:
    """The 词林正韵 部 a character can rhyme in, any tone."""
    from textgen.poetry.pingshui import groups, readings

    table = groups()
    return frozenset(b for g, _ in readings(ch) for b in table[g].bu)


def _mode(values):
    c = Counter(values)
    return min(c.items(), key=lambda kv: (-kv[1], str(kv[0])))[0]


@lru_cache(maxsize=1)
def tunes() -> dict[str, Tune]:
    """The shipped tune table (textgen/poetry/data/tunes.json), by name."""
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return {name: _from_json(d) for name, d in data["tunes"].items()}


def _from_json(d: dict) -> Tune:
    return Tune(d["name"], d["examples"], d["matching"], tuple(d["lengths"]), tuple(d["puncts"]),
                tuple(d["breaks"]), tuple(d["rhymes"]), tuple(d["rhyme_tones"]), tuple(d["tones"]),
                tuple((tuple(s), c) for s, c in d["variants"]))  # fmt: skip


def find_tune(name: str) -> Tune | None:
    """A known tune by name (the corpus header, e.g. 浣溪沙, or one half of an alias like 望江南・忆江南)."""
    table = tunes()
    if name in table:
        return table[name]
    for full, tune in table.items():
        if name in full.split("・"):
            return tune
    return None


def get_tune(name: str) -> Tune:
    """find_tune, or ConfigError for an unknown name."""
    tune = find_tune(name) if isinstance(name, str) else None
    if tune is None:
        raise ConfigError(f"unknown tune {name!r}; `textgen tunes` lists the {len(tunes())} known ones")
    return tune
