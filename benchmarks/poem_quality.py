"""Generated 绝句 next to real ones: the defects that gave the poems away, copying, diversity, rhyme,
and what the model thinks of the real poems (bits per body character after their own header).

    python benchmarks/poem_quality.py tang                      # 200 五绝 + 200 七绝, release settings
    python benchmarks/poem_quality.py runs/tang-v2 --no-guards-column --json

Real poems: the 五绝 / 七绝 of the checkpoint's own test split (header lines removed). Generated:
`--form wujue|qijue --rhyme --temperature 0.8`, guards on (the default), seeds 1..n; on a model
trained with titles the model writes its own title line, which is dropped before judging. Rhyme is
judged under 平水韵; copy rate = share of half-lines (4+ characters) found verbatim in the training
split. Defects: textgen/poetry/defects.py.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from textgen.data.clean import classical_form
from textgen.data.prepare import prepare, prepare_recorded
from textgen.poetry.defects import DEFECTS, defect_rates
from textgen.poetry.judge import Poem, judge, train_half_lines
from textgen.sampling import Generator, SamplingParams
from textgen.sampling.guided import header_fields

sys.path.insert(0, str(Path(__file__).parent))
from condition_value import body_nats  # noqa: E402

FORMS = {"wujue": "五绝", "qijue": "七绝"}
CHUNK = 50


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


def generated(gen: Generator, form: str, n: int, guards: bool, temperature: float) -> list[str]:
    params = SamplingParams(form=form, rhyme=True, temperature=temperature, guards=guards, max_new_tokens=200)
    texts = []
    for start in range(0, n, CHUNK):
        for c in gen.generate("", params, n=min(CHUNK, n - start), seed=1 + start):
            texts.append(c.text.split("\n", 1)[1] if "title" in gen.header_fields else c.text)
    return texts


def scores(texts: list[str], form: str, train_lines: set[str]) -> dict:
    j = judge([Poem(t) for t in texts], train_lines=train_lines, form=form, scheme="pingshui")
    out = {k: j[k] for k in ("compliance", "rhyme_rate", "copy_rate", "distinct_2") if k in j}
    return {"n": len(texts), **out, **defect_rates(texts)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--no-guards-column", action="store_true", help="also sample with guards off")
    ap.add_argument("--corpus", default=None,
                    help="take the real poems (and the copy-rate training text) from this corpus instead of the "
                         "checkpoint's own, e.g. the current `tang` when judging an older model")  # fmt: skip
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    gen = Generator.from_checkpoint(args.checkpoint)
    pc = (
        prepare(args.corpus, progress=False)
        if args.corpus
        else prepare_recorded(gen.checkpoint.meta.corpus.to_dict(), tokenizer=gen.checkpoint.tokenizer)
    )
    k_model = len(header_fields(gen.checkpoint.meta))
    k = pc.summary.get("header_lines", 0)
    train_lines = train_half_lines(pc.text_path("train"))
    report = {
        "checkpoint": args.checkpoint,
        "corpus": str(pc.dir),
        "n": args.n,
        "temperature": args.temperature,
        "forms": {},
    }
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
        cols = {"real": scores([b for _, b in real], form, train_lines) | {"bpc": nats / chars / math.log(2)}}
        cols["generated"] = scores(generated(gen, form, args.n, True, args.temperature), form, train_lines)
        if args.no_guards_column:
            cols["no guards"] = scores(
                generated(gen, form, args.n, False, args.temperature), form, train_lines
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
        for key in ("bpc", "compliance", "rhyme_rate", "copy_rate", "distinct_2", *DEFECTS):
            row = [f"{cols[c][key]:.3f}" if key in cols[c] else "" for c in names]
            print(f"| {key} | " + " | ".join(row) + " |")


@torch.no_grad()
def _plain_nats(model, tok, body: str) -> tuple[float, int]:
    ids = torch.tensor([[tok.eos_id, *tok.encode(body, unknown="unk"), tok.eos_id]])
    logits, _ = model(ids[:, :-1], model.init_hidden(1))
    nll = -logits.log_softmax(-1)[0].gather(1, ids[0, 1:, None]).squeeze(1)
    return float(nll.sum()), ids.shape[1] - 1


if __name__ == "__main__":
    main()
