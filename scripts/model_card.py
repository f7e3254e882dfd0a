"""Write the model card of a shipped model: checkpoints/<name>/MODEL.md and card.json.

Everything in the card is measured when this runs, on the shipped (float16) weights: a fresh test-split
evaluation, judge figures of N samples per column (the plain sampler, and the model's generation
defaults), ten samples printed by the `textgen sample` command shown with each (run as written), and
one greedy completion that tests/test_shipped.py checks. Benchmark outputs given as JSON are shown too.

    python scripts/model_card.py tang --command "textgen train corpora/tang ..." --hardware "..."
    python scripts/model_card.py tang --detectability detect.json --blind r1=blind/r1/score.json \
        --latency latency.json --quality quality.json --defaults-note "..." --out /tmp/card
    python scripts/model_card.py lyrics -n 200 --command "..." --hardware "..."

The training command, hardware, notes and benchmark outputs are not in the checkpoint, so they are
given here and kept in card.json; a second run reads them back from there when they are not given
again. Blind rounds add up: each --blind round joins the rounds card.json already holds (a round
given again replaces its earlier copy). Rendering: scripts/card_render.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
from card_render import render

from textgen.checkpoint import RELEASE_FILE, load_checkpoint, resolve_checkpoint
from textgen.cli.evaluate import corpus_header_lines
from textgen.data.prepare import prepare_recorded
from textgen.paths import atomic_write_text
from textgen.poetry.judge import Poem, judge, train_half_lines
from textgen.sampling import Generator, SamplingParams
from textgen.sampling.params import MAX_NEW_TOKENS
from textgen.train.evaluate import score_documents

CHUNK = 64
TEMPERATURE = 0.8
# Greedy completions checked by tests/test_shipped.py: a prompt per corpus kind.
GREEDY = {"poem": "床前明月光，", "ci": "浣溪沙\n", "lyrics": "汪峰\n"}
KEPT = ("command", "hardware", "notes", "defaults_note")  # text options card.json keeps between runs
BENCHMARKS = ("quality", "conditions", "baseline", "detectability", "latency")  # JSON options, likewise


def columns(gen: Generator, kind: str) -> dict[str, tuple[str, SamplingParams, str]]:
    """Judge columns: name -> (prompt, params, settings in words). The plain sampler at temperature
    0.8 (as every earlier card measured it), then the model's generation defaults for two forms."""
    c = dict(temperature=TEMPERATURE, search=False)
    plain = f"plain sampler (no search), temperature {TEMPERATURE:g}"
    cols = {"free": ("", SamplingParams(max_new_tokens=120, **c), plain)}
    if kind == "lyrics":
        cols["free, 周杰伦"] = ("周杰伦\n", SamplingParams(max_new_tokens=120, **c), plain)
    if kind == "ci":
        cols["free, 浣溪沙"] = ("浣溪沙\n", SamplingParams(max_new_tokens=120, **c), plain)
    for name, extra in (("wujue", dict(form="wujue")), ("wujue+rhyme", dict(form="wujue", rhyme=True)),
                        ("qijue+rhyme", dict(form="qijue", rhyme=True)),
                        ("qijue+rhyme+acrostic", dict(form="qijue", rhyme=True, acrostic="春夏秋冬"))):  # fmt: skip
        cols[name] = ("", SamplingParams(**extra, **c), plain)
    if kind == "poem" and gen.defaults:
        shown = ", ".join(f"{k} {v}" for k, v in gen.defaults.items())
        for form in ("wujue", "qijue"):
            cols[f"{form} (defaults)"] = (
                "",
                gen.default_params(form=form),
                f"the model's defaults ({shown})",
            )
    return cols


def showcase(kind: str, fields: list[str]) -> list[tuple[str, dict, int]]:
    """Ten samples: (prompt, the sample options wanted, seed). Options equal to the model's own
    defaults are dropped before they are run or shown (explicit())."""
    c = dict(temperature=TEMPERATURE)
    if kind == "poem" and "title" in fields:
        kw = {"keywords": "友人、青山"} if "keywords" in fields else {}
        return [
            ("", dict(form="wujue", rhyme=True, **c), 1),
            ("", dict(form="qijue", rhyme=True, **c), 2),
            ("", dict(form="wujue", rhyme=True, title="春晓", **c), 3),
            ("", dict(form="qijue", rhyme=True, title="送友人归山", **kw, **c), 4),
            ("", dict(form="wulv", rhyme=True, title="春夜喜雨", **c), 5),
            ("", dict(form="qilv", rhyme=True, title="登高", **c), 6),
            ("", dict(form="qijue", rhyme=True, acrostic="春夏秋冬", **c), 7),
            ("", dict(form="wujue", rhyme=True, tones=True, title="山居秋暝", **c), 8),
            ("明月", dict(form="wujue", rhyme=True, title="静夜思", **c), 9),
            ("", dict(max_new_tokens=80, **c), 10),
        ]
    if kind == "poem":
        return [
            ("", dict(form="wujue", **c), 1),
            ("", dict(form="wujue", rhyme=True, **c), 2),
            ("", dict(form="qijue", rhyme=True, **c), 3),
            ("", dict(form="qijue", rhyme=True, acrostic="春夏秋冬", **c), 4),
            ("", dict(form="wulv", rhyme=True, **c), 5),
            ("", dict(form="qilv", rhyme=True, **c), 6),
            ("", dict(form="wujue", rhyme=True, tones=True, **c), 7),
            ("明月", dict(form="wujue", rhyme=True, **c), 8),
            ("", dict(form="wujue", acrostic="风花雪月", rhyme=True, **c), 9),
            ("", dict(max_new_tokens=80, **c), 10),
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
        return [(f"{t}\n", dict(max_new_tokens=160, **c), i + 1) for i, t in enumerate(tunes)]
    artists = ["汪峰", "周杰伦", "林俊杰", "陈奕迅", "许嵩", "邓紫棋", "任然", "汪峰", "周杰伦", "陈奕迅"]
    return [(f"{a}\n", dict(max_new_tokens=100, **c), i + 1) for i, a in enumerate(artists)]


def explicit(gen: Generator, want: dict) -> dict:
    """The options of `want` that differ from what `textgen sample` would use anyway: the model's
    generation defaults, else SamplingParams' own (max_new_tokens: a form ends itself)."""
    base = SamplingParams()
    lines = bool(want.get("form") or want.get("acrostic") or want.get("tune"))
    out = {}
    for k, v in want.items():
        default = gen.defaults.get(k, getattr(base, k))
        if k == "rhyme" and not lines:
            default = False  # a default rhyme needs known lines
        if k == "max_new_tokens":
            default = MAX_NEW_TOKENS if lines else base.max_new_tokens  # the CLI's
        if v != default:
            out[k] = v
    return out


FIRST = ("form", "tune", "acrostic", "title", "keywords")  # shown first, in this order


def sample_args(prompt: str, given: dict, seed: int) -> list[str]:
    """`textgen sample` arguments after the checkpoint: the prompt, `given` as flags, the seed."""
    args = ["--prompt", prompt.replace("\n", "\\n")] if prompt else []
    for k in sorted(given, key=lambda k: (FIRST.index(k) if k in FIRST else len(FIRST), k)):
        v, flag = given[k], "--" + k.replace("_", "-")
        if isinstance(v, bool):
            args.append(flag if v else f"--no-{flag[2:]}")
        else:
            args += [flag, f"{v:g}" if isinstance(v, float) else str(v)]
    return args + ["--seed", str(seed)]


def shell(args: list[str]) -> str:
    """Arguments as one would type them: quoted where the shell would read them otherwise."""
    special = set(" \t'\"\\$`!*?;&|<>()[]{}#~")
    return " ".join(f"'{a}'" if set(a) & special else a for a in args)


def run_sample(model: Path, args: list[str]) -> str:
    """What `textgen sample MODEL ARGS` prints, run as a user runs it (a fresh process)."""
    cmd = [sys.executable, "-m", "textgen", "sample", str(model), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8")
    if r.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return r.stdout.rstrip("\n")


def shown(gen: Generator, prompt: str, p: SamplingParams, text: str) -> str:
    """A completion as `textgen sample` prints it: the title it was given, then the prompt unless the
    row wrote header lines first (its text then holds the prompt already), then the text."""
    row = gen.new_rows(prompt, p, n=1, seed=0)[0]
    if row.constraint is not None and row.constraint.prompt_in_text:
        prompt = ""
    return (f"{p.title}\n" if p.title else "") + prompt + text


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
    ap.add_argument("name", help="a shipped model: checkpoints/<name>/model.safetensors (or a model folder)")
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
    ap.add_argument("--detectability", help="benchmarks/detectability.py CKPT --compare-search --json output")
    ap.add_argument("--blind", nargs="+", default=[], metavar="[NAME=]FILE",
                    help="benchmarks/blind/score.py --json output of one or more rounds, each named NAME "
                         "(default: the file's folder and name); added to the rounds card.json holds")  # fmt: skip
    ap.add_argument("--latency", help="benchmarks/search_latency.py --json output")
    ap.add_argument("--defaults-note", help="how the values of generation.json were chosen (Markdown)")
    ap.add_argument("--companion-command", action="append", default=[], metavar="FILE=COMMAND",
                    help="the command that rebuilds a file shipped beside the model (keywords.json=...)")  # fmt: skip
    ap.add_argument("--curve", help="a PNG of bits/char against training time, copied next to the card")
    ap.add_argument(
        "--out", help="write MODEL.md and card.json (and curve.png) here, not in the model's folder"
    )
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    path = resolve_checkpoint(args.name)
    folder = path.parent
    out = Path(args.out) if args.out else folder
    out.mkdir(parents=True, exist_ok=True)
    old_file = out / "card.json" if (out / "card.json").is_file() else folder / "card.json"
    old = json.loads(old_file.read_text(encoding="utf-8")) if old_file.is_file() else {}
    given = {k: getattr(args, k) or old.get(k, "") for k in KEPT}
    for k in BENCHMARKS:
        given[k] = (
            json.loads(Path(getattr(args, k)).read_text(encoding="utf-8")) if getattr(args, k) else old.get(k)
        )
    given["blind"] = blind_rounds(old.get("blind") or [], args.blind)
    given["companion_commands"] = old.get("companion_commands", {}) | dict(
        c.split("=", 1) for c in args.companion_command
    )
    if args.curve:
        shutil.copyfile(args.curve, out / "curve.png")
        given["curve"] = "curve.png"
    else:
        given["curve"] = old.get("curve")
        if given["curve"] and out != folder and (folder / given["curve"]).is_file():
            shutil.copyfile(folder / given["curve"], out / given["curve"])
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
    judged, settings = {}, {}
    for col, (prompt, params, words) in columns(gen, kind).items():
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
        settings[col] = words
        print(f"judge {col}: {judged[col]}", file=sys.stderr)

    samples = []
    for prompt, want, seed in showcase(kind, gen.header_fields):
        sample = sample_args(prompt, explicit(gen, want), seed)
        samples.append({"command": "textgen sample " + shell([args.name, *sample]),
                        "text": run_sample(folder, sample)})  # fmt: skip
        print(f"sample {seed}: {samples[-1]['command']}", file=sys.stderr)
    greedy_prompt = GREEDY[kind]
    greedy = SamplingParams(temperature=0.0, max_new_tokens=48)  # as tests/test_shipped.py asks for it
    g = gen.generate(greedy_prompt, greedy, seed=0)[0]
    card = {
        "name": args.name,
        "file": RELEASE_FILE,
        "sha256": ckpt.digest,
        "bytes": path.stat().st_size,
        "params": sum(p.numel() for p in ckpt.model.parameters()),
        "test": test,
        "test_in_training": meta.get("test"),
        "judge": {
            "n": args.n,
            "seeds": f"1..{args.n}",
            "temperature": TEMPERATURE,
            "columns": judged,
            "settings": settings,
        },  # fmt: skip
        "greedy": {
            "prompt": greedy_prompt,
            "max_new_tokens": 48,
            "text": g.text,
            "shown": shown(gen, greedy_prompt, greedy, g.text),
        },  # fmt: skip
        "samples": samples,
        "generation": generation_json(folder),
        **companions(folder, args.name, corpus["name"], given["companion_commands"], ckpt.digest),
        **given,
    }
    atomic_write_text(out / "card.json", json.dumps(card, ensure_ascii=False, indent=1) + "\n")
    atomic_write_text(out / "MODEL.md", render(card, meta, pc.summary, ckpt.model.config.to_dict()))
    print(f"wrote {out / 'MODEL.md'} and card.json", file=sys.stderr)


def blind_rounds(kept: list[dict], files: list[str]) -> list[dict]:
    """The rounds card.json holds, then each file's round (score.py --json) named as given; a round
    already there (same key seed, creation time and reader) is replaced where it stands."""
    rounds = list(kept)
    for spec in files:
        name, _, file = spec.partition("=") if "=" in spec and not Path(spec).is_file() else ("", "", spec)
        r = json.loads(Path(file).read_text(encoding="utf-8"))
        if "real" not in r or "generated" not in r:
            raise SystemExit(f"{file}: not the output of benchmarks/blind/score.py --json")
        f = Path(file)
        r = {"name": name or r.get("name") or f"{f.parent.name}/{f.stem}", **r}
        ident = _round_id(r)
        at = next((i for i, x in enumerate(rounds) if _round_id(x) == ident), None)
        if at is None:
            rounds.append(r)
        else:
            rounds[at] = r
    return rounds


def _round_id(r: dict) -> tuple:
    rnd = r.get("round", {})
    return rnd.get("checkpoint"), rnd.get("seed"), rnd.get("titled"), rnd.get("created"), r.get("reader")


def generation_json(folder: Path) -> dict | None:
    """generation.json as shipped (its _comment / _measured keys too), or None."""
    f = folder / "generation.json"
    return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else None


COMPANIONS = {  # file -> what it is
    "generation.json": "generation defaults (see above); written by hand from measurements",
    "judges.safetensors": "the judges' networks (line-level search), float32, nothing pickled",
    "judges.json": "the judges' config, characters, repetition calibration, fitted weights and figures",
    "keywords.json": "the keyword planner: keywords for a title by co-occurrence in the training split",
}


def companions(folder: Path, name: str, corpus: str, commands: dict, digest: str) -> dict:
    """{"companions": the files shipped beside the weights, with the command that rebuilds each;
    "judges": judges.json's figures, weights and training data (None without judges)}."""
    info = None
    if (folder / "judges.json").is_file():
        info = json.loads((folder / "judges.json").read_text(encoding="utf-8"))
    judges_cmd = f"textgen judges train {name}"
    words = (info or {}).get("command", "").split()
    if words[:3] == ["textgen", "judges", "train"] and len(words) > 3:  # as it was run, for this name
        judges_cmd = " ".join(["textgen judges train", name, *words[4:]])
    where = f"checkpoints/{name}" if "/" not in name else str(folder)
    defaults = {"judges.safetensors": judges_cmd, "judges.json": judges_cmd,
                "keywords.json": "python -c \"from textgen.data.prepare import prepare; "
                                 "from textgen.data.keywords import planner_from_corpus as fit; "
                                 f"pc = prepare('{corpus}'); open('{where}/keywords.json', 'w')"
                                 ".write(fit(pc.text_path('train'), pc.summary['header_lines']).to_json())\""}  # fmt: skip
    files = []
    for f, what in COMPANIONS.items():
        p = folder / f
        if p.is_file():
            files.append({"file": f, "what": what, "bytes": p.stat().st_size,
                          "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                          "command": commands.get(f) or defaults.get(f)})  # fmt: skip
    judges = None
    if info:
        judges = {
            k: info.get(k) for k in ("command", "weights", "weights_source", "figures", "combination", "data")
        }
        judges["for_this_model"] = (info.get("model") or {}).get("sha256") == digest
        if not judges["for_this_model"]:
            print(
                "warning: judges.json was trained for another model (sha256): re-train them", file=sys.stderr
            )
    return {"companions": files, "judges": judges}


if __name__ == "__main__":
    main()
