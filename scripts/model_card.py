"""Write the model card of a shipped model: checkpoints/<name>/MODEL.md and card.json.

Everything in the card is measured when this runs, on the shipped (float16) weights: a fresh test-split
evaluation, judge figures of N unconstrained vs N constrained samples (same seeds), ten samples with
the settings that reproduce them, and one greedy completion that tests/test_shipped.py checks.

    python scripts/model_card.py tang --command "textgen train corpora/tang ..." --hardware "..."
    python scripts/model_card.py lyrics -n 200 --command "..." --hardware "..."

The training command, hardware and notes are not in the checkpoint, so they are given here and
kept in card.json; a second run reads them back from there when they are not given again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from textgen.checkpoint import RELEASE_FILE, load_checkpoint, resolve_checkpoint
from textgen.cli.evaluate import corpus_header_lines
from textgen.data.prepare import prepare_recorded
from textgen.paths import atomic_write_text
from textgen.poetry.judge import Poem, judge, train_half_lines
from textgen.sampling import Generator, SamplingParams
from textgen.train.evaluate import score_documents

CHUNK = 64
TEMPERATURE = 0.8
# Greedy completions checked by tests/test_shipped.py: a prompt per corpus kind.
GREEDY = {"poem": "床前明月光，", "ci": "浣溪沙\n", "lyrics": "汪峰\n"}


def columns(kind: str) -> dict[str, tuple[str, SamplingParams]]:
    """Judge columns: name -> (prompt, params). Every constrained column is a 4-line poem."""
    c = dict(temperature=TEMPERATURE)
    cols = {"free": ("", SamplingParams(max_new_tokens=120, **c))}
    if kind == "lyrics":
        cols["free, 周杰伦"] = ("周杰伦\n", SamplingParams(max_new_tokens=120, **c))
    if kind == "ci":
        cols["free, 浣溪沙"] = ("浣溪沙\n", SamplingParams(max_new_tokens=120, **c))
    cols.update(
        {
            "wujue": ("", SamplingParams(form="wujue", **c)),
            "wujue+rhyme": ("", SamplingParams(form="wujue", rhyme=True, **c)),
            "qijue+rhyme": ("", SamplingParams(form="qijue", rhyme=True, **c)),
            "qijue+rhyme+acrostic": ("", SamplingParams(form="qijue", rhyme=True, acrostic="春夏秋冬", **c)),
        }
    )
    return cols


# Ten samples: (prompt, params, seed), shown with the command that reproduces each.
def showcase(kind: str, titled: bool = False) -> list[tuple[str, SamplingParams, int]]:
    c = dict(temperature=TEMPERATURE)
    if kind == "poem" and titled:
        return [
            ("", SamplingParams(form="wujue", rhyme=True, title="春晓", **c), 1),
            ("", SamplingParams(form="wulv", rhyme=True, title="春夜喜雨", **c), 2),
            ("", SamplingParams(form="qijue", rhyme=True, title="送友人", **c), 3),
            ("", SamplingParams(form="qijue", rhyme=True, acrostic="春夏秋冬", **c), 4),
            ("", SamplingParams(form="qilv", rhyme=True, title="登高", **c), 5),
            ("", SamplingParams(form="wujue", rhyme=True, **c), 6),
            ("", SamplingParams(form="wujue", rhyme=True, tones=True, title="山居秋暝", **c), 7),
            ("明月", SamplingParams(form="wujue", rhyme=True, title="静夜思", **c), 8),
            ("", SamplingParams(form="wujue", acrostic="风花雪月", rhyme=True, **c), 9),
            ("", SamplingParams(max_new_tokens=80, **c), 10),
        ]
    if kind == "poem":
        return [
            ("", SamplingParams(form="wujue", **c), 1),
            ("", SamplingParams(form="wujue", rhyme=True, **c), 2),
            ("", SamplingParams(form="qijue", rhyme=True, **c), 3),
            ("", SamplingParams(form="qijue", rhyme=True, acrostic="春夏秋冬", **c), 4),
            ("", SamplingParams(form="wulv", rhyme=True, **c), 5),
            ("", SamplingParams(form="qilv", rhyme=True, **c), 6),
            ("", SamplingParams(form="wujue", rhyme=True, tones=True, **c), 7),
            ("明月", SamplingParams(form="wujue", rhyme=True, **c), 8),
            ("", SamplingParams(form="wujue", acrostic="风花雪月", rhyme=True, **c), 9),
            ("", SamplingParams(max_new_tokens=80, **c), 10),
        ]
    if kind == "ci":
        tunes = [
            "浣溪沙",
            "水调歌头",
            "鹧鸪天",
            "菩萨蛮",
            "西江月",
            "临江仙",
            "蝶恋花",
            "念奴娇",
            "清平乐",
            "虞美人",
        ]
        return [(f"{t}\n", SamplingParams(max_new_tokens=160, **c), i + 1) for i, t in enumerate(tunes)]
    artists = ["汪峰", "周杰伦", "林俊杰", "陈奕迅", "许嵩", "邓紫棋", "任然", "汪峰", "周杰伦", "陈奕迅"]
    return [(f"{a}\n", SamplingParams(max_new_tokens=100, **c), i + 1) for i, a in enumerate(artists)]


def command(name: str, prompt: str, p: SamplingParams, seed: int) -> str:
    parts = ["textgen sample", name]
    if prompt:
        parts.append("--prompt '" + prompt.replace("\n", "\\n") + "'")
    if p.form:
        parts.append(f"--form {p.form}")
    if p.acrostic:
        parts.append(f"--acrostic {p.acrostic}")
    if p.rhyme:
        parts.append("--rhyme")
    if p.tones:
        parts.append("--tones")
    if p.title:
        parts.append(f"--title {p.title}")
    if not p.form and not p.acrostic:
        parts.append(f"--max-new-tokens {p.max_new_tokens}")
    parts.append(f"--temperature {p.temperature:g} --seed {seed}")
    return " ".join(parts)


def shown(gen: Generator, prompt: str, p: SamplingParams, text: str) -> str:
    """A completion as a reader sees it: the title (given, or written by the model), then the poem."""
    if p.title:
        return f"{p.title}\n{prompt}{text}"
    if "title" in gen.header_fields and (p.form or p.acrostic):
        return text  # the model wrote its title line first; the prompt follows it
    return prompt + text


def body(gen: Generator, prompt: str, p: SamplingParams, text: str) -> str:
    """What the judge reads: the poem without the header lines the model wrote."""
    if "title" in gen.header_fields and (p.form or p.acrostic) and not p.title:
        return text.split("\n", 1)[-1]
    k = len(gen.header_fields)
    if k and not (p.form or p.acrostic) and not prompt and text.count("\n") >= k:
        return text.split("\n", k)[-1]  # free text: the model wrote the whole header
    return prompt + text


def generate(gen: Generator, prompt: str, params: SamplingParams, n: int, seed: int) -> list:
    out = []
    for start in range(0, n, CHUNK):
        out += gen.generate(prompt, params, n=min(CHUNK, n - start), seed=seed + start)
    return out


def kind_of(meta: dict) -> str:
    corpus = meta.get("corpus", {})
    if corpus.get("manifest", {}).get("read", {}).get("kind") == "lyrics":
        return "lyrics"
    return "ci" if corpus.get("name") == "songci" else "poem"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", help="a shipped model: checkpoints/<name>/model.safetensors")
    ap.add_argument("-n", type=int, default=200, help="samples per judge column")
    ap.add_argument("--command", help="the training command(s), as run")
    ap.add_argument("--hardware", help="where and how long it trained")
    ap.add_argument("--notes", help="limitations and remarks (Markdown), appended to the card")
    ap.add_argument("--quality", help="benchmarks/poem_quality.py --json output to show (defects vs real)")
    ap.add_argument("--conditions", help="benchmarks/condition_value.py --json output (header values)")
    ap.add_argument(
        "--baseline",
        help="JSON {label, body_bpc, bpc} (or a list of them): earlier models on this test split",
    )
    ap.add_argument("--curve", help="a PNG of bits/char against training time, copied next to the card")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    path = resolve_checkpoint(args.name)
    folder = path.parent
    old = json.loads((folder / "card.json").read_text()) if (folder / "card.json").is_file() else {}
    given = {k: getattr(args, k) or old.get(k, "") for k in ("command", "hardware", "notes")}
    for k in ("quality", "conditions", "baseline"):
        given[k] = json.loads(Path(getattr(args, k)).read_text()) if getattr(args, k) else old.get(k)
    if args.curve:
        import shutil

        shutil.copyfile(args.curve, resolve_checkpoint(args.name).parent / "curve.png")
        given["curve"] = "curve.png"
    else:
        given["curve"] = old.get("curve")
    ckpt = load_checkpoint(path)
    meta = ckpt.meta.to_dict()  # the meta.json form the card is written from
    kind = kind_of(meta)
    corpus = meta["corpus"]
    pc = prepare_recorded(corpus, progress=True, tokenizer=ckpt.tokenizer)

    t = time.perf_counter()
    # The scorer `textgen eval` uses (tests/test_shipped.py compares the two): all characters, and the
    # bodies after each document's header lines.
    tok = ckpt.tokenizer
    ids = pc.ids("test")
    oov = int((ids == tok.unk_id).sum())
    r = score_documents(ckpt.model, ids, eos_id=tok.eos_id, newline_id=tok.encode("\n")[0],
                        header_lines=corpus_header_lines(pc.summary, corpus),
                        chars_per_token=float(pc.summary["chars_per_token"]["test"]),
                        ignore_id=tok.unk_id if oov else None)  # fmt: skip
    s = r.all
    test = {"loss": s.loss, "ppl": s.ppl, "bpc": s.bpc, "tokens": s.tokens, "chars": round(s.chars),
            "body_bpc": r.body.bpc, "body_chars": round(r.body.chars)}  # fmt: skip
    print(
        f"test: {s.bpc:.4f} bits/char, body {r.body.bpc:.4f}, in {time.perf_counter() - t:.0f}s",
        file=sys.stderr,
    )

    gen = Generator(ckpt)
    lines = train_half_lines(pc.text_path("train"))
    judged = {}
    for col, (prompt, params) in columns(kind).items():
        comps = generate(gen, prompt, params, args.n, 1)
        poems = [
            Poem(
                body(gen, prompt, params, c.text),
                params.form,
                params.acrostic,
                params.rhyme,
                params.tones,
                rhyme_scheme=params.rhyme_scheme or gen.rhyme_scheme,
            )  # judged by the scheme it was sampled under
            for c in comps
        ]
        scores = judge(poems, train_lines=lines)
        judged[col] = {
            k: scores[k] for k in ("compliance", "rhyme_rate", "tone_rate", "copy_rate", "distinct_2")
        }
        judged[col]["mean_chars"] = round(scores["mean_chars"], 1)
        print(f"judge {col}: {judged[col]}", file=sys.stderr)

    samples = []
    for prompt, params, seed in showcase(kind, "title" in gen.header_fields):
        c = gen.generate(prompt, params, n=1, seed=seed)[0]
        samples.append({"command": command(args.name, prompt, params, seed),
                        "text": shown(gen, prompt, params, c.text)})  # fmt: skip
    greedy_prompt = GREEDY[kind]
    g = gen.generate(greedy_prompt, SamplingParams(temperature=0.0, max_new_tokens=48), seed=0)[0]
    card = {
        "name": args.name,
        "file": RELEASE_FILE,
        "sha256": ckpt.digest,
        "bytes": path.stat().st_size,
        "params": sum(p.numel() for p in ckpt.model.parameters()),
        "test": test,
        "test_in_training": meta.get("test"),
        "judge": {"n": args.n, "seeds": f"1..{args.n}", "temperature": TEMPERATURE, "columns": judged},
        "greedy": {"prompt": greedy_prompt, "max_new_tokens": 48, "text": g.text},
        "samples": samples,
        **given,
    }
    atomic_write_text(folder / "card.json", json.dumps(card, ensure_ascii=False, indent=1) + "\n")
    atomic_write_text(folder / "MODEL.md", render(card, meta, pc.summary, ckpt.model.config.to_dict()))
    print(f"wrote {folder / 'MODEL.md'} and card.json", file=sys.stderr)


def render(card: dict, meta: dict, summary: dict, model: dict) -> str:
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
    j = card["judge"]
    out += [
        "",
        f"### Judge ({j['n']} samples per column, seeds {j['seeds']}, temperature {j['temperature']})",
        "`free` is unconstrained and judged against whatever form it happens to have; the other",
        "columns are constrained 4-line poems. Copy rate: share of half-lines (≥ 4 characters) found verbatim",
        "in the training split.",
        "",
        "| column | compliance | rhyme rate | tone rate | copy rate | distinct-2 | mean chars |",
        "|---|---|---|---|---|---|---|",
    ]

    def f(v):
        return "–" if v is None else f"{v:.3f}"

    for col, s in j["columns"].items():
        out.append(
            f"| {col} | {f(s['compliance'])} | {f(s['rhyme_rate'])} | {f(s['tone_rate'])} | "
            f"{f(s['copy_rate'])} | {f(s['distinct_2'])} | {s['mean_chars']} |"
        )
    out += _extras(card)
    out += ["", "## Samples", ""]
    for i, s in enumerate(card["samples"], 1):
        out += [f"{i}. `{s['command']}`", "", "   " + s["text"].strip().replace("\n", "\n   "), ""]
    g = card["greedy"]
    out += [
        "Greedy (temperature 0) from "
        + json.dumps(g["prompt"], ensure_ascii=False)
        + f", {g['max_new_tokens']} tokens (checked by `tests/test_shipped.py`):",
        "",
        "    " + (g["prompt"] + g["text"]).replace("\n", "\n    "),
        "",
    ]
    if card.get("notes"):
        out += ["## Limitations and notes", "", card["notes"].strip(), ""]
    return "\n".join(out)


def _extras(card: dict) -> list[str]:
    """Sections from benchmark outputs given to this script: baseline, header values, defects, curve."""
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
    q = card.get("quality")
    if q:
        out += ["", "### Generated 绝句 against real ones",
                f"`python benchmarks/poem_quality.py {card['name']}`: {q['n']} poems per form "
                f"(`--rhyme --temperature {q['temperature']:g}`, guards on, seeds 1..{q['n']}) next to the "
                "test split's real 绝句. Defects: a character 3+ times in a line (triple), a repeat that is not a "
                "叠字 (repeat), 兮, a function word or numeral at a rhyme position (weak_rhyme), a repeated rhyme "
                "character, a variant character, 不知何处; rhyme under 平水韵; copy rate against the training split."]  # fmt: skip
        for form, cols in q["forms"].items():
            names = list(cols)
            out += ["", f"{'五绝' if form == 'wujue' else '七绝'}:", "", "| | " + " | ".join(names) + " |",
                    "|---|" + "---|" * len(names)]  # fmt: skip
            for key in ("bpc", "compliance", "rhyme_rate", "copy_rate", "distinct_2", "triple", "repeat", "xi",
                        "weak_rhyme", "repeated_rhyme", "variant", "filler"):  # fmt: skip
                if any(key in cols[n] for n in names):
                    cells = [f"{cols[n][key]:.3f}" if key in cols[n] else "" for n in names]
                    label = "bits/char of real poems (own header)" if key == "bpc" else key
                    out.append(f"| {label} | " + " | ".join(cells) + " |")
    if card.get("curve"):
        out += ["", "### Bits per character against training time", "",
                f"![validation bits/char against CPU minutes]({card['curve']})"]  # fmt: skip
    return out


if __name__ == "__main__":
    main()
