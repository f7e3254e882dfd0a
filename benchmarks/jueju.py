"""Real and generated 绝句 side by side, for the benchmarks that compare them (poem_quality,
detectability, blind/make_set).

    pc = corpus_for(gen)                                  # the checkpoint's own prepared corpus
    # or, in a benchmark's main(): add_options(ap); args = ap.parse_args(); gen, pc = model_and_corpus(args)
    real = real_jueju(pc)                                 # the test split's 五绝 and 七绝, bodies + titles
    made = generate_jueju(gen, ["wujue"] * 8, settings(temperature=0.8), seed=1)
    cross_line_repeats(made[0].body), title_lengths([p.title for p in made])

A generated poem's text opens with the header lines the model wrote itself (its title, a keyword
plan): they are dropped, so a body is the verse only, laid out as the corpus lays it out.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from pathlib import Path

from textgen.data.clean import classical_form
from textgen.poetry.check import split_lines
from textgen.sampling import Generator, SamplingParams

FORMS = {"wujue": "五绝", "qijue": "七绝"}
CHUNK = 64  # poems per generate() call
LONG_TITLE = 12  # characters: a title longer than this is a long one


@dataclass
class Jueju:
    form: str  # "wujue" | "qijue"
    body: str  # the verse lines only
    title: str | None = None  # the real title, or the one the model wrote (or was given)
    seed: int | None = None  # generated: the row's seed


def add_options(ap: argparse.ArgumentParser) -> None:
    """The options of a benchmark that compares real and generated poems: sampling settings (each
    left to the model's defaults unless given; settings_of reads them), the real poems' corpus and
    the CPU threads (model_and_corpus reads them)."""
    ap.add_argument("--search", action=argparse.BooleanOptionalAction, default=None,
                    help="line-level search on / off [default: the model's default]")  # fmt: skip
    ap.add_argument("--temperature", type=float, default=None, help="[default: the model's]")
    ap.add_argument("--top-p", type=float, default=None, help="[default: the model's]")
    ap.add_argument("--rhyme", action=argparse.BooleanOptionalAction, default=None,
                    help="the rhyme mask on / off [default: the model's default]")  # fmt: skip
    ap.add_argument("--corpus", default=None,
                    help="real poems from this corpus (a name or a prepared folder) instead of the checkpoint's")  # fmt: skip
    ap.add_argument("--threads", type=int, default=1)


def settings_of(args: argparse.Namespace, **given) -> dict:
    """settings() from add_options' sampling options, `given` taking precedence."""
    return settings(**{"search": args.search, "temperature": args.temperature, "top_p": args.top_p,
                       "rhyme": args.rhyme, **given})  # fmt: skip


def model_and_corpus(args: argparse.Namespace):
    """(Generator, prepared corpus) for args.checkpoint, args.corpus and args.threads."""
    import torch

    torch.set_num_threads(args.threads)
    gen = Generator.from_checkpoint(args.checkpoint)
    return gen, corpus_for(gen, args.corpus)


def corpus_for(gen: Generator, corpus: str | None = None):
    """The corpus the real poems come from: `corpus` (a prepared folder, or a corpus name, prepared
    if needed), else the one the checkpoint was trained on."""
    from textgen.data.prepare import prepare, prepare_recorded
    from textgen.data.store import is_prepared_dir, load_prepared

    if corpus and is_prepared_dir(Path(corpus)):
        return load_prepared(corpus)
    if corpus:
        return prepare(corpus, progress=False)
    return prepare_recorded(gen.checkpoint.meta.corpus.to_dict(), tokenizer=gen.checkpoint.tokenizer)


def header_fields_of(pc) -> list[str]:
    """The field of each header line of a prepared corpus's documents (["form", "title", ...]);
    "" for a line that is not one field."""
    k = pc.summary.get("header_lines", 0)
    read = pc.summary.get("manifest", {}).get("read", {})
    template = read.get("header") if isinstance(read, dict) else None
    lines = template.split("\n") if isinstance(template, str) and template else []
    fields = [x[1:-1] if x.startswith("{") and x.endswith("}") and x.count("{") == 1 else "" for x in lines]
    return (fields + [""] * k)[:k]


def real_jueju(pc, split: str = "test", forms=tuple(FORMS)) -> list[Jueju]:
    """The 绝句 of a split (header lines removed; the title kept when the header has one). The form
    is the header's form line when there is one, else read from the poem's shape."""
    fields = header_fields_of(pc)
    k = len(fields)
    names = {FORMS[f]: f for f in forms}
    out = []
    for d in pc.documents(split):
        parts = d.split("\n", k) if k else [d]
        if len(parts) <= k:
            continue
        header, body = dict(zip(fields, parts[:k], strict=True)), parts[-1]
        name = header.get("form") if header.get("form") in FORMS.values() else classical_form(body)
        if name in names:
            out.append(Jueju(names[name], body, header.get("title") or None))
    return out


def settings(*, search: bool | None = None, temperature: float | None = None, top_p: float | None = None,
             rhyme: bool | None = None, **extra) -> dict:  # fmt: skip
    """SamplingParams keywords with only what was given: the rest stays the model's default."""
    given = {"search": search, "temperature": temperature, "top_p": top_p, "rhyme": rhyme, **extra}
    return {k: v for k, v in given.items() if v is not None}


def body_of(text: str, title: str | None = None, keywords: str | None = None) -> str:
    """The verse of a generated text: the title and keyword lines the model wrote first removed
    (and any other leading line without a clause mark, which no verse line of a 绝句 lacks)."""
    for head in (title, keywords):
        if head and text.startswith(head + "\n"):
            text = text[len(head) + 1 :]
    lines = text.split("\n")
    while len(lines) > 1 and not any(m in lines[0] for m in "，。？！；"):
        lines = lines[1:]
    return "\n".join(lines).strip("\n")


def generate_jueju(gen: Generator, forms: list[str], params: dict, seed: int,
                   titles: list[str] | None = None) -> list[Jueju]:  # fmt: skip
    """One poem per entry of `forms` (row i seeded seed + i), with the SamplingParams keywords
    `params`; `titles`: each row given that title (the titled rounds), else the model writes one."""
    out: list[Jueju | None] = [None] * len(forms)
    if titles is not None:
        groups = [([i], dict(form=forms[i], title=titles[i])) for i in range(len(forms))]
    else:  # rows of one form in batches, each a run of consecutive seeds
        groups = []
        for f in dict.fromkeys(forms):
            rows = [i for i, x in enumerate(forms) if x == f]
            groups += [(rows[s : s + CHUNK], dict(form=f)) for s in range(0, len(rows), CHUNK)]
    for rows, fixed in groups:
        p = gen.default_params(**params, **fixed)  # what is not given: the model's generation.json
        for r, c in zip(rows, _generate(gen, p, rows, seed), strict=True):
            title = fixed.get("title") or c.title
            out[r] = Jueju(fixed["form"], body_of(c.text, c.title, c.keywords), title, c.seed)
    return out  # type: ignore[return-value]


def _generate(gen: Generator, p: SamplingParams, rows: list[int], seed: int):
    """generate() for rows given as indices, row i seeded seed + i: one call per run of consecutive rows."""
    start = 0
    while start < len(rows):
        end = start + 1
        while end < len(rows) and rows[end] == rows[end - 1] + 1:
            end += 1
        yield from gen.generate("", p, n=end - start, seed=seed + rows[start])
        start = end


def form_mix(real: list[Jueju], n: int, rng: random.Random) -> list[str]:
    """n forms in the real poems' proportions (shuffled): a generated set shaped like the real one."""
    share = sum(p.form == "wujue" for p in real) / max(len(real), 1)
    k = round(n * share)
    forms = ["wujue"] * k + ["qijue"] * (n - k)
    rng.shuffle(forms)
    return forms


def cross_line_repeats(body: str) -> int:
    """Characters that come back in a later verse line: for each character, the lines holding it
    after the first (a 叠字 or other repeat inside one line does not count)."""
    seen: dict[str, int] = {}
    for line in split_lines(body):
        for ch in set(line):
            seen[ch] = seen.get(ch, 0) + 1
    return sum(n - 1 for n in seen.values())


def title_lengths(titles: list[str | None]) -> dict:
    """Mean and 95th percentile of title lengths (characters), and the share over LONG_TITLE."""
    n = sorted(len(t) for t in titles if t)
    if not n:
        return {"titles": 0}
    p95 = n[min(len(n) - 1, round(0.95 * (len(n) - 1)))]
    return {"titles": len(n), "title_mean": sum(n) / len(n), "title_p95": p95,
            "title_long": sum(x > LONG_TITLE for x in n) / len(n)}  # fmt: skip
