"""Generated 绝句 next to real ones: the defects that gave the poems away, copying, diversity, rhyme,
repetition across lines, title length, and what the model thinks of the real poems (bits per body
character after their own header).

    python benchmarks/poem_quality.py tang                      # 200 五绝 + 200 七绝 per column
    python benchmarks/poem_quality.py runs/tang-v2 --no-guards-column --search default --json

Real poems: the 五绝 / 七绝 of the checkpoint's own test split (header lines removed). Columns of
generated poems, seeds 1..n each: `generated`, the release settings `--rhyme --temperature 0.8`
(guards on, the default); `no guards`, the same without guards (--no-guards-column); and the
model's default output (no --rhyme, no temperature: what `textgen sample --form` writes), with the
line-level search off and on (`search off`, `search on`; --search default: one `default` column).
On a model trained with titles the model writes its own title line (and keyword line), which is
dropped before judging and measured on its own: mean length, 95th percentile and the share over
12 characters, against the real titles'. Rhyme is judged under 平水韵: rhyme_rate, the even
lines share a 平声 group and no rhyme rule is broken; rhyme_pairs, line 4 rhymes with line 2. Copy
rate = share of half-lines (4+ characters) found verbatim in the training split; cross_line_repeats
= characters that come back in a later line, per poem; repeated_chars = characters that occur more
than once in the poem (叠字 included), per poem. Defects: textgen/poetry/defects.py.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from textgen.data.clean import classical_form
from textgen.poetry.check import split_lines
from textgen.poetry.defects import DEFECTS, defect_rates
from textgen.poetry.judge import Poem, judge, train_half_lines
from textgen.sampling import Generator

sys.path.insert(0, str(Path(__file__).parent))
from condition_value import body_nats  # noqa: E402
from jueju import (  # noqa: E402
    FORMS,
    cross_line_repeats,
    generate_jueju,
    header_fields_of,
    model_and_corpus,
    settings,
    title_lengths,
)

TITLED = ("title_mean", "title_p95", "title_long")


def real_poems(pc, k: int, form: str) -> list[tuple[list[str], str]]:
    """(header lines, body) of the test split's poems of this form."""
    out = []
    for d in pc.documents("test"):
        parts = d.split("\n", k) if k else [d]
        if len(parts) <= k:
            continue
        header, body = parts[:k], parts[-1]
        if (header[0] if k and header[0] in FORMS.values() else classical_form(body)) == FORMS[form]:
            out.append((header, body))
    return out


def generated(gen: Generator, form: str, n: int, params: dict) -> tuple[list[str], list[str | None]]:
    """(bodies, the titles the model wrote) of n poems, seeds 1..n."""
    made = generate_jueju(gen, [form] * n, params, seed=1)
    return [p.body for p in made], [p.title for p in made]


def scores(texts: list[str], titles: list[str | None] | None, form: str, train_lines: set[str]) -> dict:
    j = judge([Poem(t) for t in texts], train_lines=train_lines, form=form, scheme="pingshui")
    out = {k: j[k] for k in ("compliance", "rhyme_rate", "rhyme_pairs", "copy_rate", "distinct_2") if k in j}
    out["cross_line_repeats"] = sum(cross_line_repeats(t) for t in texts) / len(texts)
    out["repeated_chars"] = sum(_repeated_chars(t) for t in texts) / len(texts)
    lengths = title_lengths(titles or [])
    if lengths["titles"]:
        out |= {k: lengths[k] for k in TITLED}
    return {"n": len(texts), **out, **defect_rates(texts)}


def _repeated_chars(body: str) -> int:
    chars = "".join(split_lines(body))
    return sum(chars.count(c) > 1 for c in set(chars))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--no-guards-column", action="store_true", help="also sample with guards off")
    ap.add_argument("--search", choices=("both", "default", "on", "off"), default="both",
                    help="the default-output columns: search off and on (both), or one column")  # fmt: skip
    ap.add_argument("--corpus", default=None,
                    help="take the real poems (and the copy-rate training text) from this corpus (a name or a prepared "
                         "folder) instead of the checkpoint's own, e.g. the current `tang` when judging an older model")  # fmt: skip
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    gen, pc = model_and_corpus(args)
    k_model = len(gen.checkpoint.meta.header_fields)
    k = pc.summary.get("header_lines", 0)
    train_lines = train_half_lines(pc.text_path("train"))
    report = {
        "checkpoint": args.checkpoint,
        "corpus": str(pc.dir),
        "n": args.n,
        "temperature": args.temperature,
        "forms": {},
    }
    title_at = header_fields_of(pc).index("title") if "title" in header_fields_of(pc) else None
    defaults = {"both": [("search off", False), ("search on", True)], "default": [("default", None)],
                "on": [("search on", True)], "off": [("search off", False)]}[args.search]  # fmt: skip
    for form in FORMS:
        real = real_poems(pc, k, form)
        nats = chars = 0.0
        model, tok = gen.checkpoint.model, gen.tokenizer
        with torch.no_grad():
            for header, body in real:
                if k_model:
                    x, n = body_nats(model, tok, "\n".join(header), body)
                else:  # no header: the body right after <eos>
                    x, n = _plain_nats(model, tok, body)
                nats, chars = nats + x, chars + n
        titles = [h[title_at] for h, _ in real] if title_at is not None else None
        cols = {
            "real": scores([b for _, b in real], titles, form, train_lines)
            | {"bpc": nats / chars / math.log(2)}
        }
        release = settings(rhyme=True, temperature=args.temperature, guards=True, max_new_tokens=200)
        cols["generated"] = scores(*generated(gen, form, args.n, release), form, train_lines)
        if args.no_guards_column:
            cols["no guards"] = scores(
                *generated(gen, form, args.n, release | {"guards": False}), form, train_lines
            )
        for name, search in defaults:
            try:
                bodies, made_titles = generated(gen, form, args.n, settings(search=search))
            except Exception as e:  # noqa: BLE001 -- e.g. no search yet: the other columns still run
                print(f"{name}: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            cols[name] = scores(bodies, made_titles, form, train_lines)
            if name == "search on" and "search off" in cols and cols["search on"] == cols["search off"]:
                print(
                    f"{FORMS[form]}: search on wrote what search off did (the sampler ignores it)",
                    file=sys.stderr,
                )
        report["forms"][form] = cols
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return
    for form, cols in report["forms"].items():
        names = list(cols)
        print(
            f"\n{FORMS[form]} ({args.checkpoint}; real: {cols['real']['n']} test poems, generated: {args.n})"
        )
        print("| | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
        for key in ("bpc", "compliance", "rhyme_rate", "rhyme_pairs", "copy_rate", "distinct_2", "cross_line_repeats",
                    "repeated_chars", *TITLED, *DEFECTS):  # fmt: skip
            if not any(key in cols[c] for c in names):
                continue
            row = [_cell(cols[c].get(key)) for c in names]
            print(f"| {key} | " + " | ".join(row) + " |")


def _cell(v) -> str:
    return "" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


@torch.no_grad()
def _plain_nats(model, tok, body: str) -> tuple[float, int]:
    ids = torch.tensor([[tok.eos_id, *tok.encode(body, unknown="unk"), tok.eos_id]])
    logits, _ = model(ids[:, :-1], model.init_hidden(1))
    nll = -logits.log_softmax(-1)[0].gather(1, ids[0, 1:, None]).squeeze(1)
    return float(nll.sum()), ids.shape[1] - 1


if __name__ == "__main__":
    main()
