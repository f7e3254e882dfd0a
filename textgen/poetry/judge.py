"""Scoring a set of generated poems: form compliance, rhyme, memorisation and diversity.

    poems = read_poems("samples.jsonl")            # `textgen sample --json` output, or blank-line blocks
    report = judge(poems, train_lines=train_half_lines("train.txt"), form="wujue", scheme="pingshui")
    report["compliance"], report["rhyme_rate"], report["tone_rate"], report["faults"]
    poem_faults(poems[0].text)     # ['失粘 (line 3, char 2)', ...]

- compliance: share of poems that are exactly the requested form (layout, punctuation, line lengths,
  Chinese characters only, acrostic if one was asked for); without a requested form, the share
  whose lines match one of the named forms (the detected form).
- rhyme_rate: share of poems (4+ lines) that rhyme under the scheme (平水韵 by default: the even
  lines share a 平声 group, and a first line that can only end 平 rhymes too; textgen.poetry.gelv);
  rhyme_pairs: share of even lines after the first that rhyme with the first;
  rhyme_ping: share of even-line endings that can be read 平 (近体诗 rhymes on 平).
- copy_rate: share of generated half-lines (4+ characters) found verbatim in the training text.
- tone_rate: share of poems of 4+ lines of 5 or 7 characters that keep the 格律 tone rules under
  the scheme (失对, 失粘, 二四六, 孤平, 三平尾, line endings; textgen.poetry.gelv).
- faults: how many poems break each rule (出韵, 失粘 ...); poem_faults() says where.
- ci (a tune asked for, or a first line naming a known 词牌): tune_rate, the share laid out as their
  tune's modal pattern (line lengths, punctuation, breaks); tune_rhyme_rate, the share of those
  whose rhyme sets hold (textgen.poetry.gelv.tune_faults). Ci count in none of the 近体 rates.
- distinct_1 / distinct_2: distinct characters / bigrams over all of them (line characters only).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from textgen.errors import ConfigError
from textgen.poetry.check import detect_form, form_problems, split_lines
from textgen.poetry.forms import resolve_form
from textgen.poetry.gelv import rhyme_faults, tone_faults, tune_faults
from textgen.poetry.rhyme import check_scheme, rhymes_of, tones_of
from textgen.poetry.tones import TONE_LENGTHS

MIN_COPY_LEN = 4  # shorter half-lines are too common to count as copied


@dataclass
class Poem:
    text: str  # the whole poem (prompt + generated text)
    form: str | None = None  # what was asked for, if known
    acrostic: str | None = None
    rhyme: bool = False
    tones: bool = False
    rhyme_scheme: str | None = None  # the scheme it was sampled under, if known
    tune: str | None = None  # the 词牌 it was written to, if known


def parse_poems(data: str) -> list[Poem]:
    """JSON lines (objects with text/prompt/form/acrostic/rhyme) or blank-line separated blocks."""
    stripped = data.lstrip()
    if stripped.startswith("{"):
        poems = []
        for n, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                text, title = d["text"], d.get("title")
                if isinstance(title, str) and title and text.startswith(title + "\n"):
                    text = text[len(title) + 1 :]  # a title line the model wrote (the prompt follows it)
                else:
                    text = d.get("prompt", "") + text
                poems.append(Poem(text, d.get("form"), d.get("acrostic"),
                                  bool(d.get("rhyme")), bool(d.get("tones")), d.get("rhyme_scheme"),
                                  d.get("tune")))  # fmt: skip
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise ConfigError(f"line {n}: not a JSON object with a 'text' field ({e})") from e
        return poems
    blocks = data.replace("\r\n", "\n").split("\n\n")
    return [Poem(b.strip("\n")) for b in blocks if b.strip()]


def read_poems(path: str | Path) -> list[Poem]:
    try:
        return parse_poems(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read poems ({e})") from e


def train_half_lines(path: str | Path) -> set[str]:
    """Every half-line of a training text, for the copy rate."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the training text ({e})") from e
    return {x for x in split_lines(text) if len(x) >= MIN_COPY_LEN}


def poem_faults(text: str, scheme: str = "pingshui", tune: str | None = None) -> list[str]:
    """The rhyme and tone faults of one poem, each naming the rule and the place; tone faults only
    for poems of 5- or 7-character lines. A ci: its layout and rhyme against its tune."""
    t, body = ci_of(Poem(text, tune=tune))
    if t is not None:
        return form_problems(body, t.spec(), rhyme=True, scheme=scheme)
    lines = split_lines(text)
    faults = [str(f) for f in rhyme_faults(lines, scheme)] if len(lines) >= 2 else []
    if len(lines) >= 4 and all(len(x) in TONE_LENGTHS for x in lines):
        faults += [str(f) for f in tone_faults(lines, scheme)]
    return faults


def judge(poems: list[Poem], *, train_lines: set[str] | None = None, form: str | None = None,
          scheme: str | None = None) -> dict:  # fmt: skip
    """Scores for a list of poems; `form` overrides what each poem asked for, `scheme` the rhyme
    scheme each was sampled under (default 平水韵)."""
    if not poems:
        raise ConfigError("no poems to judge")
    if scheme is not None:
        check_scheme(scheme)
    complied, forms, rules, schemes = 0, Counter(), Counter(), Counter()
    rhymed, rhyme_total, pairs, pair_total, toned, tone_total = 0, 0, 0, 0, 0, 0
    ping, ping_total, ci, ci_shaped, ci_rhymed = 0, 0, 0, 0, 0
    halves: list[str] = []
    for p in poems:
        want, sch = form or p.form, scheme or p.rhyme_scheme or "pingshui"
        schemes[sch] += 1
        tune, body = ci_of(p) if not form else (None, p.text)
        if tune is not None:
            halves += split_lines(body)
            spec = tune.spec()
            shaped = not form_problems(body, spec)
            faults = tune_faults(split_lines(body), spec, sch) if shaped else []
            ci, ci_shaped, ci_rhymed = ci + 1, ci_shaped + shaped, ci_rhymed + (shaped and not faults)
            complied += shaped
            forms[tune.name] += 1
            rules.update({f.rule for f in faults})
            continue
        lines = split_lines(p.text)
        halves += lines
        if want or p.acrostic:
            spec = resolve_form(want, p.acrostic, p.rhyme)
            ok = not form_problems(p.text, spec, p.acrostic, p.rhyme, p.tones, sch)
            forms[spec.name] += 1
        else:
            detected = detect_form(p.text)
            ok = detected is not None and not form_problems(p.text, resolve_form(detected))
            forms[detected or "other"] += 1
        complied += ok
        ends = [x[-1] for x in lines[1::2] if x]
        if len(ends) >= 2:  # a rhyme needs two even lines
            rhyme_total += 1
            faults = rhyme_faults(lines, sch)
            rhymed += not faults
            rules.update({f.rule for f in faults})
            first = rhymes_of(ends[0], sch)
            pairs += sum(bool(first & rhymes_of(ch, sch)) for ch in ends[1:])
            pair_total += len(ends) - 1
            ping += sum(True in tones_of(ch, sch) for ch in ends)
            ping_total += len(ends)
        if len(lines) >= 4 and all(len(x) in TONE_LENGTHS for x in lines):
            tone_total += 1
            faults = tone_faults(lines, sch)
            toned += not faults
            rules.update({f.rule for f in faults})
    report = {
        "poems": len(poems),
        "forms": dict(forms.most_common()),
        "compliance": complied / len(poems),
        "rhyme_scheme": "+".join(sorted(schemes)),
        "rhyme_rate": rhymed / rhyme_total if rhyme_total else None,
        "rhyme_pairs": pairs / pair_total if pair_total else None,
        "rhyme_ping": ping / ping_total if ping_total else None,
        "tone_rate": toned / tone_total if tone_total else None,
        "faults": dict(rules.most_common()),
        "ci": ci,
        "tune_rate": ci_shaped / ci if ci else None,
        "tune_rhyme_rate": ci_rhymed / ci_shaped if ci_shaped else None,
        "copy_rate": None,
        **distinct(halves),
        "mean_chars": sum(len(x) for x in halves) / len(poems),
    }
    if train_lines is not None:
        long = [x for x in halves if len(x) >= MIN_COPY_LEN]
        report["copy_rate"] = sum(x in train_lines for x in long) / len(long) if long else 0.0
    return report


def ci_of(p: Poem):
    """(Tune, the ci without its header line) for a ci of a known tune, else (None, text)."""
    from textgen.poetry.tunes import find_tune

    head, _, body = p.text.partition("\n")
    if p.tune:
        tune = find_tune(p.tune)
        if tune is not None:
            return tune, body if head in (p.tune, tune.name) else p.text
    tune = find_tune(head) if head and body else None
    return (tune, body) if tune is not None else (None, p.text)


def distinct(lines: list[str]) -> dict:
    """distinct-1 and distinct-2 over the characters of the lines (bigrams do not cross lines)."""
    uni = [c for x in lines for c in x]
    bi = [x[i : i + 2] for x in lines for i in range(len(x) - 1)]
    return {
        "distinct_1": len(set(uni)) / len(uni) if uni else 0.0,
        "distinct_2": len(set(bi)) / len(bi) if bi else 0.0,
    }
