"""MODEL.md from card.json: the Markdown half of scripts/model_card.py (which measures and writes
card.json, then calls render()). Every section reads the card only, so a card can be re-rendered
without the model:

    from card_render import render
    text = render(card, meta, summary, model_config)    # meta.json, the prepared corpus's summary
"""

from __future__ import annotations

import json
from pathlib import Path

FORMS = {"wujue": "五绝", "qijue": "七绝", "wulv": "五律", "qilv": "七律"}
QUALITY_ROWS = (  # poem_quality.py's keys, in the order the table shows them
    ("bpc", "bits/char of real poems (own header)"), ("compliance", None), ("rhyme_rate", None),
    ("rhyme_pairs", "rhyme_pairs (line 4 rhymes with line 2)"), ("copy_rate", None), ("distinct_2", None),
    ("cross_line_repeats", "cross_line_repeats (per poem)"), ("repeated_chars", "repeated_chars (per poem)"),
    ("title_mean", "title length, mean"), ("title_p95", "title length, 95th percentile"),
    ("title_long", "titles over 12 characters (share)"), ("triple", None), ("repeat", None), ("xi", None),
    ("weak_rhyme", None), ("repeated_rhyme", None), ("variant", None), ("filler", None),
)  # fmt: skip
MARKS = ("fluency", "coherence", "relevance", "poeticness", "overall")


def render(card: dict, meta: dict, summary: dict, model: dict) -> str:
    """The whole MODEL.md."""
    out = _head(card, meta, summary, model)
    out += _judge(card)
    out += _extras(card)
    out += _detectability(card.get("detectability"))
    for n, r in enumerate(card.get("blind") or [], 1):
        out += _blind(r, n)
    out += _latency(card.get("latency"))
    out += _defaults(card)
    out += _companions(card)
    out += _samples(card)
    if card.get("notes"):
        out += ["## Limitations and notes", "", card["notes"].strip(), ""]
    return "\n".join(out)


def _f(v, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _head(card: dict, meta: dict, summary: dict, model: dict) -> list[str]:
    tc, corpus = meta["train_config"], meta["corpus"]
    name, test = card["name"], card["test"]
    src = corpus["manifest"]["source"]
    if src["type"] == "npm":
        origin = f"npm package `{src['package']}@{src['version']}` (integrity `{src['integrity'][:20]}…`)"
    else:
        origin = (
            "the corpora "
            + ", ".join(f"`{Path(c).name}`" for c in src.get("corpora", []))
            + " (see corpora/)"
        )
    docs, chars = summary["documents"], summary["chars"]
    out = [f"# `{name}`: {summary['description']}", ""]
    out += [
        f"A character-level {model.get('cell', 'lstm').upper()} language model shipped with textgen: "
        f"`textgen sample {name}`, `textgen eval {name}`, `textgen serve`.",
        "",
        "## Data",
        f"- Corpus `{corpus['name']}` (`corpora/{corpus['name']}/corpus.toml`, manifest sha256 "
        f"`{corpus['manifest_sha256'][:12]}…`), from {origin}.",
        f"- Split by document hash 90/5/5: train {docs['train']:,} documents ({chars['train']:,} characters), "
        f"val {docs['val']:,} ({chars['val']:,}), test {docs['test']:,} ({chars['test']:,}).",
        f"- Tokenizer: {summary['tokenizer']['kind']}, vocabulary {summary['vocab_size']:,} (with `<unk>`, `<eos>`).",
        "",
        "## Model",
        f"- {model.get('n_layer')} × {model.get('hidden_size')} "
        f"{model.get('cell', 'lstm').upper()}, embedding {model.get('n_embd')}, "
        f"adaptive softmax cutoffs {model.get('adaptive_cutoffs') or 'none (full softmax)'}, "
        f"dropout {model.get('dropout', 0)}; {card['params']:,} parameters.",
        f"- `{card['file']}`: {card['bytes'] / 2**20:.1f} MiB, float16 weights (computed in float32 after loading), "
        f"sha256 `{card['sha256'][:16]}…`; safetensors, nothing pickled.",
        "",
        "## Training",
        "```sh",
        card["command"] or "(not recorded)",
        "```",
        f"- {card['hardware'] or 'hardware not recorded'}",
        f"- {meta.get('step', 0):,} steps, {meta.get('epoch', 0):.2f} epochs, "
        f"{meta.get('chars_seen', 0) / 1e6:.1f} M characters seen, {meta.get('elapsed_s', 0) / 60:.0f} minutes "
        f"of training; batch {tc['batch_size']} × seq_len {tc['seq_len']}, lr {tc['lr']:g} "
        f"({tc['lr_schedule']}), git commit `{meta.get('git_commit', '?')[:10]}`.",
        "",
        "## Results",
        f"- **Test: {test['bpc']:.3f} bits per character, perplexity {test['ppl']:.1f}** "
        f"({test['chars']:,} characters; `textgen eval {name} --split test` on the shipped float16 weights)"
        + (
            f"; **{test['body_bpc']:.3f}** per character of the bodies alone ({test['body_chars']:,} "
            "characters after the header lines, which are read but not scored)."
            if test.get("body_chars") and test["body_chars"] < test["chars"]
            else "."
        ),
    ]
    if card.get("test_in_training"):
        t = card["test_in_training"]
        out.append(
            f"- The same split at the end of training (float32 weights): {t['bpc']:.3f} bits per character."
        )
    best = meta.get("best") or {}
    if best:
        out.append(
            f"- Best validation: {best.get('bpc', 0):.3f} bits per character at step {best.get('step')}."
        )
    return out


def _judge(card: dict) -> list[str]:
    j = card["judge"]
    out = [
        "",
        f"### Judge ({j['n']} samples per column, seeds {j['seeds']})",
        "`free` is unconstrained and judged against whatever form it happens to have; the other",
        "columns are constrained 4-line poems. Copy rate: share of half-lines (≥ 4 characters) found verbatim",
        "in the training split.",
        "",
        "| column | compliance | rhyme rate | tone rate | copy rate | distinct-2 | mean chars |",
        "|---|---|---|---|---|---|---|",
    ]
    for col, s in j["columns"].items():
        out.append(f"| {col} | {_f(s['compliance'])} | {_f(s['rhyme_rate'])} | {_f(s['tone_rate'])} | "
                   f"{_f(s['copy_rate'])} | {_f(s['distinct_2'])} | {s['mean_chars']} |")  # fmt: skip
    settings = j.get("settings")
    if settings:  # one line per distinct setting: which columns it covers
        by: dict[str, list[str]] = {}
        for col, s in settings.items():
            by.setdefault(s, []).append(col)
        out += [""] + [f"- {', '.join(f'`{c}`' for c in cols)}: {s}." for s, cols in by.items()]
    else:  # a card written before the columns recorded their settings
        out += ["", f"Temperature {j['temperature']}."]
    return out


def _extras(card: dict) -> list[str]:
    """Sections from benchmark outputs given to model_card.py: baseline, header values, quality, curve."""
    out = []
    b, test = card.get("baseline"), card["test"]
    if b:
        out += ["", "### Against the previous models, same test split",
                "Bits per character of the poem bodies (newline and end-of-poem included; header lines given "
                "as unscored context) and of all characters:", "",
                "| model | body bits/char | all bits/char |", "|---|---|---|"]  # fmt: skip
        for one in b if isinstance(b, list) else [b]:  # one earlier model, or several
            bpc = f"{one['bpc']:.3f}" if one.get("bpc") else "–"
            out.append(f"| {one['label']} | {one['body_bpc']:.3f} | {bpc} |")
        out.append(f"| this model | {test.get('body_bpc', test['bpc']):.3f} | {test['bpc']:.3f} |")
    c = card.get("conditions")
    if c:
        out += ["", "### What the header lines are worth",
                f"`python benchmarks/condition_value.py {card['name']}`: bits per body character of the "
                f"{c['documents']:,} test documents after their own header versus another document's:", "",
                "| header | bits/char | the right one saves |", "|---|---|---|",
                f"| own | {c['bpc_own_header']:.3f} | |",
                f"| another poem's | {c['bpc_other_header']:.3f} | {c['saving']:.3f} |"]  # fmt: skip
        for f in c.get("header_fields", [])[: 9 if len(c.get("header_fields", [])) > 1 else 0]:
            out.append(f"| another poem's {f} only | {c['bpc_own_header'] + c[f'saving_{f}']:.3f} | "
                       f"{c[f'saving_{f}']:.3f} |")  # fmt: skip
    out += _quality(card.get("quality"), card["name"])
    if card.get("curve"):
        out += ["", "### Bits per character against training time", "",
                f"![validation bits/char against CPU minutes]({card['curve']})"]  # fmt: skip
    return out


def _quality(q: dict | None, name: str) -> list[str]:
    """benchmarks/poem_quality.py --json: one table per form, a column per setting."""
    if not q:
        return []
    out = ["", "### Generated 绝句 against real ones",
           f"`python benchmarks/poem_quality.py {name}`: {q['n']} poems per form and column (seeds 1..{q['n']}) "
           "next to the test split's real 绝句. `generated`: the release settings of the last card "
           f"(`--rhyme --temperature {q['temperature']:g}`, guards on); `no guards`: the same without guards; "
           "`search off` / `search on` / `default`: the model's default output (what `textgen sample --form` "
           "writes) with the line-level search off, on, or as generation.json says. Rhyme under 平水韵 "
           "(rhyme_rate: the even lines share a 平声 group and break no rule; rhyme_pairs: line 4 rhymes with "
           "line 2); copy rate against the training split; cross_line_repeats: characters that come back in "
           "a later line; repeated_chars: characters more than once in the poem; the title the model writes is "
           "measured against the real titles. Defects: a character 3+ times in a line (triple), a repeat that "
           "is not a 叠字 (repeat), 兮, a function word or numeral at a rhyme position (weak_rhyme), a repeated "
           "rhyme character, a variant character, 不知何处."]  # fmt: skip
    for form, cols in q["forms"].items():
        names = list(cols)
        out += ["", f"{FORMS.get(form, form)}:", "", "| | " + " | ".join(names) + " |",
                "|---|" + "---|" * len(names)]  # fmt: skip
        for key, label in QUALITY_ROWS:
            if any(key in cols[n] for n in names):
                out.append(f"| {label or key} | " + " | ".join(_f(cols[n].get(key)) for n in names) + " |")
    return out


def detectability_command(d: dict) -> str:
    """The command that wrote a detectability report (its own "command" when it records one)."""
    if d.get("command"):
        return d["command"]
    gen = [r for r in d["rows"] if "params" in r]
    parts = ["python benchmarks/detectability.py", d["checkpoint"]]
    if gen:
        parts.append(f"-n {gen[0]['n_real']}")
    parts.append(f"--seed {d['seed']} --repeats {d['repeats']}")
    searches = [r["params"].get("search") for r in gen]
    if len(gen) == 2 and searches == [False, True]:
        parts.append("--compare-search")
    elif searches and searches[0] is not None:
        parts.append("--search" if searches[0] else "--no-search")
    shared = {k: v for k, v in (gen[0]["params"] if gen else {}).items() if k != "search"}
    for k, v in shared.items():
        flag = "--" + k.replace("_", "-")
        parts.append(flag if v is True else f"--no-{flag[2:]}" if v is False else f"{flag} {v:g}")
    return " ".join(parts + ["--json"])


def _detectability(d: dict | None) -> list[str]:
    """benchmarks/detectability.py --json: a row per setting, the real-vs-real control first."""
    if not d:
        return []
    out = ["", "### How easily a classifier tells generated 绝句 from real ones",
           f"{d['classifier']}, 2-fold × {d['repeats']} (mean ± sd over folds); real: the test split's 绝句; "
           "generated: a fresh set in the same 五绝/七绝 mix. The control pits two halves of the real poems "
           "against each other (about 0.5); ROC AUC 0.5 means the classifier cannot tell.", "",
           "```sh", detectability_command(d), "```", "",
           "| setting | n per side | n-gram AUC | n-gram accuracy | + form AUC | + form accuracy |",
           "|---|---|---|---|---|---|"]  # fmt: skip
    for r in d["rows"]:
        name = r["name"] + (f" ({r['note']})" if r.get("note") else "")
        if "error" in r:
            out.append(f"| {name} | | {r['error']} | | | |")
            continue
        cells = [
            f"{r[k][m]:.3f} ± {r[k][m + '_sd']:.3f}"
            for k in ("ngrams", "ngrams+form")
            for m in ("auc", "accuracy")
        ]
        out.append(f"| {name} | {r['n_real']} / {r['n_other']} | " + " | ".join(cells) + " |")
    return out


def _blind(r: dict, n: int) -> list[str]:
    """One blind round (benchmarks/blind/score.py --json, with the name model_card gave it)."""
    rnd = r.get("round", {})
    titled = bool(rnd.get("titled"))
    params = " ".join(f"{k}={v}" for k, v in (rnd.get("params") or {}).items()) or "the model's defaults"
    date = (rnd.get("created") or "")[:10] or "date not recorded"
    real, gen = r["real"], r["generated"]
    out = ["", f"### Blind reading {n}: {r.get('name') or 'round ' + str(n)} ({date})",
           f"{'Titled' if titled else 'Untitled'} round; reader: {r.get('reader') or 'not named'}; "
           f"generated by `{rnd.get('checkpoint', '?')}` with {params}, seeds {rnd.get('generation_seeds', '?')} "
           f"(`benchmarks/blind/make_set.py --seed {rnd.get('seed')}`{' --titled' if titled else ''}); "
           "marks 1–5.", "",
           "| figure | real 绝句 | generated |", "|---|---|---|",
           f"| taken for real | {real['taken_for_real']}/{real['judged']} | {gen['taken_for_real']}/{gen['judged']} |"]  # fmt: skip
    for m in MARKS:
        if m == "relevance" and not titled and real.get(m) is None and gen.get(m) is None:
            continue
        label = "relevance to the title" if m == "relevance" else m
        out.append(f"| mean {label} | {_f(real.get(m), 2)} | {_f(gen.get(m), 2)} |")
    if real["marked"] < real["poems"] or gen["marked"] < gen["poems"]:
        out.append(f"| poems marked | {real['marked']}/{real['poems']} | {gen['marked']}/{gen['poems']} |")
    if r.get("reader_accuracy") is not None:
        out += ["", f"The reader told real from generated {r['reader_accuracy']:.0%} of the time."]
    return out


def latency_command(d: dict) -> str:
    if d.get("command"):
        return d["command"]
    parts = ["python benchmarks/search_latency.py --checkpoint", d["checkpoint"]]
    if d.get("quantize"):
        parts.append(f"--quantize {d['quantize']}")
    if d.get("threads", 1) != 1:
        parts.append(f"--threads {d['threads']}")
    if "cli wujue" in d["rows"]:
        parts.append("--cli")
    return " ".join(parts + ["--json"])


def _latency(d: dict | None) -> list[str]:
    """benchmarks/search_latency.py --json: seconds per poem, search on and off, per form."""
    if not d:
        return []
    rows, targets = d["rows"], {"wujue": 1.5, "qilv": 4.0}
    out = ["", "### Seconds per poem",
           f"One poem per generate() call with the model's defaults, {d.get('threads', 1)} CPU thread(s), "
           f"weights {d.get('quantize') or 'float32'}, load average {d.get('load_average')} (a shared machine "
           "reads noisy):", "", "```sh", latency_command(d), "```", "",
           "| form | search: median / p90 / max (s) | plain sampler: median (s) | target (search) |",
           "|---|---|---|---|"]  # fmt: skip
    for form in dict.fromkeys(k.split()[0] for k in rows if k.endswith(("search", "plain"))):
        s, p = rows.get(f"{form} search"), rows.get(f"{form} plain")
        on = f"{s['median_s']:.2f} / {s['p90_s']:.2f} / {s['max_s']:.2f}" if s else "–"
        target = f"≤ {targets[form]} s" if form in targets else ""
        out.append(f"| {FORMS.get(form, form)} | {on} | {_f(p['median_s'], 2) if p else '–'} | {target} |")
    if "cli wujue" in rows:
        out += ["", f"`textgen sample {d['checkpoint']} --form wujue --seed 1`, start to finish in a fresh process: "
                f"{rows['cli wujue']['wall_s']:.2f} s (target ≤ 3 s)."]  # fmt: skip
    return out


def _defaults(card: dict) -> list[str]:
    """The model's generation.json, and how its values were chosen."""
    g = card.get("generation")
    if not g:
        return []
    out = ["", "## Generation defaults", "",
           f"`generation.json` beside the weights: what `textgen sample {card['name']}`, the Python API "
           "(`Generator.generate(params=None)`, `gen.default_params(...)`), HTTP and the playground use for "
           "every setting a request leaves out (the line-level search applies to forms and tunes; rhyme where "
           "the lines are known).", "", "```json", json.dumps(g, ensure_ascii=False, indent=2), "```"]  # fmt: skip
    if card.get("defaults_note"):
        out += ["", card["defaults_note"].strip()]
    return out


def _companions(card: dict) -> list[str]:
    """The files shipped beside the weights, the command that rebuilds each, and the judges' figures."""
    files = card.get("companions") or []
    if not files:
        return []
    out = ["", "## Files beside the model", "", "| file | what | bytes | sha256 |", "|---|---|---|---|"]
    for f in files:
        out.append(f"| `{f['file']}` | {f['what']} | {f['bytes']:,} | `{f['sha256'][:12]}…` |")
    commands = list(dict.fromkeys(f["command"] for f in files if f.get("command")))
    if commands:
        out += ["", "Rebuilt by:", "", "```sh", *commands, "```"]
    j = card.get("judges")
    if not j:
        return out
    out += ["", "### The judges' held-out figures",
            "Each judge on data it was not trained on (ROC AUC, accuracy); `*_vs_model_line`: each score alone "
            "ranking the real next line against the model's candidates for the same validation context.", "",
            "| judge | task | AUC | accuracy |", "|---|---|---|---|"]  # fmt: skip
    if j.get("for_this_model") is False:
        out[-4] += " **These judges were trained for another model's weights: re-train them.**"
    for name, f in (j.get("figures") or {}).items():
        out.append(f"| {name} | {f.get('task', '')} | {_f(f.get('auc'))} | {_f(f.get('accuracy'))} |")
    combo = j.get("combination") or {}
    if combo:
        out += ["", "Ranking the real next line among the model's candidates (validation, two-fold):", "",
                "| scorer | top-1 | chance | AUC |", "|---|---|---|---|"]  # fmt: skip
        for name, f in combo.items():
            out.append(f"| {name} | {_f(f.get('top1'))} | {_f(f.get('chance_top1'))} | {_f(f.get('auc'))} |")
    w = j.get("weights") or {}
    if w:
        out += ["", f"Weights of the search's score ({j.get('weights_source', 'source not recorded')}): "
                + ", ".join(f"{k} {v:g}" for k, v in w.items()) + "."]  # fmt: skip
    data = j.get("data") or {}
    if data:
        out += ["", "Trained on " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in data.items()
                                              if isinstance(v, int)) + "."]  # fmt: skip
    return out


def _samples(card: dict) -> list[str]:
    out = ["", "## Samples", "",
           "Each as `textgen sample` prints it, with the model's generation defaults; the command gives only "
           "what differs from them, and reproduces the poem.", ""]  # fmt: skip
    for i, s in enumerate(card["samples"], 1):
        out += [f"{i}. `{s['command']}`", "", "   " + s["text"].strip().replace("\n", "\n   "), ""]
    g = card["greedy"]
    out += [
        "Greedy (temperature 0, the rest at the library's defaults) from "
        + json.dumps(g["prompt"], ensure_ascii=False)
        + f", {g['max_new_tokens']} tokens (checked by `tests/test_shipped.py`):",
        "",
        "    " + g.get("shown", g["prompt"] + g["text"]).replace("\n", "\n    "),
        "",
    ]
    return out
