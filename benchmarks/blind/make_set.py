"""A blind reading's set: real 绝句 of the test split and generated ones, shuffled and numbered.

    python benchmarks/blind/make_set.py tang --seed 11 --out blind/r1                   # untitled round
    python benchmarks/blind/make_set.py tang --seed 12 --titled --out blind/r2 --exclude blind/r1/key.json

Writes to --out: poems.md (the numbered poems only, with titles in the titled round: what the reader
gets, with READER.md and the blank marks.csv) and key.json (which is which, and how each was made:
keep it from the reader until the marks are in; then benchmarks/blind/score.py). Every round takes a
new --seed: it draws the real poems (never one a --exclude key already showed) and seeds the
generated rows (seed x 1,000,000 + i), so two rounds share neither.

Generated poems have the real ones' 五绝/七绝 mix. In the untitled round a generated poem is written
with the model's own title line, which is dropped, as real poems are shown without theirs. In the
titled round each generated poem is given the title (and form) of another real test poem, one that
is not in the set, so no pair in the set shares a title. Settings left out stay the model's defaults.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from jueju import add_options, generate_jueju, model_and_corpus, real_jueju, settings_of  # noqa: E402

SEED_STRIDE = 1_000_000  # a round's generated rows are seeded seed * SEED_STRIDE + i
MARKS = ("real", "fluency", "coherence", "relevance", "poeticness", "overall")


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument(
        "--seed", type=int, required=True, help="a new one every round: draws the real poems, seeds the rest"
    )
    ap.add_argument("--out", required=True, help="folder for poems.md, marks.csv (blank) and key.json")
    ap.add_argument("--count", type=int, default=40, help="real poems, and as many generated ones")
    ap.add_argument(
        "--titled", action="store_true", help="show titles; generate each poem given a real title"
    )
    ap.add_argument(
        "--exclude", action="append", default=[], help="key.json of an earlier round: skip its real poems"
    )
    add_options(ap)
    return ap.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    gen, pc = model_and_corpus(args)
    shown_before = set()
    for path in args.exclude:
        shown_before |= {p["body"] for p in json.loads(Path(path).read_text(encoding="utf-8"))["poems"]}
    pool = [p for p in real_jueju(pc) if p.body not in shown_before and (p.title or not args.titled)]
    need = args.count * (2 if args.titled else 1)
    if len(pool) < need:
        sys.exit(f"only {len(pool)} unused real 绝句 with titles in {pc.dir}, {need} needed")
    rng = random.Random(args.seed)
    picked = rng.sample(pool, need)
    real, lent = picked[: args.count], picked[args.count :]  # lent: titles for the generated poems
    params = settings_of(args)
    base = args.seed * SEED_STRIDE
    if args.titled:
        made = generate_jueju(gen, [p.form for p in lent], params, base, titles=[p.title for p in lent])
    else:
        forms = [p.form for p in real]
        rng.shuffle(forms)
        made = generate_jueju(gen, forms, params, base)
    entries = [{"source": "real", "form": p.form, "title": p.title, "body": p.body} for p in real]
    for p in made:
        e = {"source": "generated", "form": p.form, "title": p.title, "body": p.body, "seed": p.seed}
        if not args.titled:  # the title line the model wrote, not shown
            e = e | {"title": None, "model_title": p.title}
        entries.append(e)
    rng.shuffle(entries)
    for i, e in enumerate(entries, 1):
        e["no"] = i
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "poems.md").write_text(poems_md(entries, args.titled), encoding="utf-8")
    cols = [m for m in MARKS if args.titled or m != "relevance"]
    (out / "marks.csv").write_text(
        ",".join(["no", *cols, "note"])
        + "\n"
        + "".join(f"{e['no']}{',' * (len(cols) + 1)}\n" for e in entries),
        encoding="utf-8",
    )
    key = {
        "round": {
            "checkpoint": args.checkpoint,
            "corpus": str(pc.dir),
            "seed": args.seed,
            "titled": args.titled,
            "count": args.count,
            "params": params,
            "generation_seeds": f"{base} + i",
            "excluded": args.exclude,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "poems": [{"no": e.pop("no"), **e} for e in entries],
    }
    (out / "key.json").write_text(json.dumps(key, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{out}/poems.md: {len(entries)} poems ({args.count} real, {len(made)} generated); "
          f"give the reader poems.md, marks.csv and READER.md, keep key.json", file=sys.stderr)  # fmt: skip


def poems_md(entries: list[dict], titled: bool) -> str:
    """The reader's file: numbered poems, titles in the titled round, nothing else."""
    kind = "有题 (titled)" if titled else "无题 (untitled)"
    out = [f"# 绝句 {len(entries)} 首 · {kind}", "", "请先读 READER.md。Read READER.md first.", ""]
    for e in entries:
        out += [f"## {e['no']}", ""]
        if titled:
            out += [f"《{e['title']}》", ""]
        out += [line + "  " for line in e["body"].split("\n")]  # two spaces: a markdown line break
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    main()
