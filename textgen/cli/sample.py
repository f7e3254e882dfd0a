"""`textgen sample`: write text with a trained checkpoint, streamed to the terminal as it comes.

textgen sample tang --prompt 床前 --seed 1
textgen sample tang --form qijue --acrostic 春夏秋冬 --rhyme -n 4 --json
"""

from __future__ import annotations

import dataclasses
import json
import sys

import click

from textgen.sampling.params import MAX_N, MAX_NEW_TOKENS, SamplingParams

KEYWORDS_HELP = ("关键词 plan, e.g. 明月,故乡: what the poem is about, for models trained with keyword plans (tang). "
                 "Without it, tang plans keywords from --title.")  # fmt: skip
SEARCH_HELP = ("Line-level search for forms and tunes: each line chosen among the model's own candidates by the "
               "model and its judges [default: the model's; tang: on].")  # fmt: skip


@click.command(
    epilog="""\b
例子 (examples):
  textgen sample tang --prompt 床前明月光 --seed 1     # the poem opens so, after its title
  textgen sample tang --form wujue                     # 五言绝句 (searched line by line, rhymed: tang's defaults)
  textgen sample tang --form qijue --title 送友人归山 --keywords 友人,青山   # 命题 with a keyword plan
  textgen sample tang --form wujue --no-search --temperature 1   # plain sampling, as char-rnn does
  textgen sample tang --form qijue --acrostic 春夏秋冬 --rhyme   # 押韵的七言藏头诗
  textgen sample tang --form wulv --rhyme --tones --prompt 白日   # 讲平仄的五言律诗
  textgen sample tang --form wulv --title 春夜喜雨                # 命题作诗: a 五律 to a title
  textgen sample tang --form 5,5,7,7 -n 3 --temperature 0.8 --top-k 40
  textgen sample songci --prompt '浣溪沙\\n' --seed 3                 # 词: a 词牌 first line holds the tune
  textgen sample songci --tune 浣溪沙 --rhyme                      # 依词牌填词: 句式, 标点, 韵位
  textgen sample lyrics --prompt 周杰伦 --max-new-tokens 120 --json   # 歌词: an artist first

\b
lyrics artists: 周杰伦 林俊杰 陈奕迅 许嵩 邓紫棋 任然 汪峰 (the corpus's; the songs mix in
some English and Korean fragments, as the lyrics it learned from did)"""
)
@click.argument("checkpoint", type=click.Path())
@click.option("--prompt", default="",
              help=r"Text the poem's body starts with (the model continues it); \n in it is a line break. "
                   r"tang writes a title line first; songci: a 词牌 as the first line holds that tune; "
                   r"lyrics: an artist's name, alone or as the first line.")  # fmt: skip
@click.option("--max-new-tokens", type=int, default=None,
              help="Most tokens to generate [default: 200; with --form/--acrostic the poem ends itself]; a "
                   "title line the model writes has its own budget.")  # fmt: skip
@click.option("--min-new-tokens", type=int, default=None,
              help="Write at least this many tokens before ending (small models often stop early).")  # fmt: skip
@click.option("--temperature", type=float, default=None,
              help="0 = greedy; higher = wilder (max 5) [default: the model's, else 1].")  # fmt: skip
@click.option("--top-k", type=int, default=None,
              help="Sample among the k likeliest tokens (0 = all) [default: the model's, else 0].")  # fmt: skip
@click.option("--top-p", type=float, default=None,
              help="Nucleus sampling mass in (0, 1] [default: the model's, else 1].")  # fmt: skip
@click.option("--repetition-penalty", type=float, default=None, help="> 1 discourages repeats [default: 1].")
@click.option(
    "--no-repeat-ngram-size", type=int, default=None, help="Forbid repeating any n-gram [default: off]."
)
@click.option(
    "--seed", type=int, default=None, help="Random seed (completion i uses seed + i); random if unset."
)
@click.option("-n", "n", type=int, default=1, show_default=True, help=f"Number of completions (max {MAX_N}).")
@click.option("--stop", multiple=True, help="Stop before this text (repeatable).")
@click.option(
    "--form", default=None, help="wujue 五绝, qijue 七绝, wulv 五律, qilv 七律, or line lengths like 5,5,7,7."
)
@click.option("--tune", default=None,
              help="词牌 for ci models (songci): its header line, line lengths, punctuation and rhyme "
                   "positions (`textgen tunes` lists them).")  # fmt: skip
@click.option("--acrostic", default=None, help="藏头诗: these characters start the lines, in order.")
@click.option("--rhyme/--no-rhyme", default=None,
              help="Even lines end on one rhyme group (see --rhyme-scheme) [default: the model's; tang: on].")  # fmt: skip
@click.option("--layout", type=click.Choice(["couplet", "line"]), default="couplet", show_default=True,
              help="Forms: two half-lines per text line (as in the corpus) or one.")  # fmt: skip
@click.option(
    "--tones/--no-tones", default=None, help="Keep the 平仄 rules of 近体诗 (5- or 7-character lines)."
)
@click.option("--keywords", default=None, help=KEYWORDS_HELP)
@click.option("--search/--no-search", default=None, help=SEARCH_HELP)
@click.option(
    "--beams", type=int, default=None, help="Search: partial poems kept after each line [default: 2]."
)
@click.option(
    "--candidates", type=int, default=None, help="Search: candidates per line and beam [default: 8]."
)
@click.option("--title", default=None,
              help="The poem's title (命题作诗), for models trained with titles (tang); printed once, as the "
                   "first line. Without it, tang writes its own title line first (with --form or --prompt).")  # fmt: skip
@click.option("--guards/--no-guards", default=None,
              help="Degeneration guards for classical forms: no character 3 times in a line, 叠字 only as a "
                   "pair, no repeated or function-word rhymes, no 兮.")  # fmt: skip
@click.option("--rhyme-scheme", type=click.Choice(["pingshui", "xinyun"]), default=None,
              help="Rhyme and tones by 平水韵 (classical) or 中华新韵 (modern) [default: the model's].")  # fmt: skip
@click.option("--on-unknown", type=click.Choice(["error", "skip"]), default="error", show_default=True,
              help="Prompt characters outside the vocabulary: fail, or drop them with a warning.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per completion.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, mps ...")
@click.option(
    "--quantize",
    type=click.Choice(["fp16", "int8"]),
    default=None,
    help="Smaller weights for faster CPU steps (close to, not equal to, the exact model).",
)
@click.option("--threads", type=int, default=1, show_default=True,
              help="CPU threads for torch (one-token steps rarely gain from more; busy machines lose).")  # fmt: skip
def sample(checkpoint, prompt, max_new_tokens, min_new_tokens, temperature, top_k, top_p, repetition_penalty,
           no_repeat_ngram_size, seed, n, stop, form, acrostic, rhyme, layout, tones, keywords, search, beams,
           candidates, title, guards, rhyme_scheme, tune, on_unknown, as_json, device, quantize, threads) -> None:  # fmt: skip
    """Generate text from CHECKPOINT: a shipped model's name (tang, songci, lyrics), a run directory
    or a .safetensors file."""
    import logging

    from textgen.errors import ConfigError
    from textgen.sampling import Generator
    from textgen.sampling.device import configure_cpu

    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)
    given_budget = max_new_tokens is not None
    if max_new_tokens is None:  # a form ends with its last line; only free text needs a cap
        max_new_tokens = MAX_NEW_TOKENS if (form or acrostic or tune) else 200
    # What the user set; the rest comes from the model's generation defaults (generation.json).
    given = {k: v for k, v in dict(
        max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens, temperature=temperature, top_k=top_k,
        top_p=top_p, repetition_penalty=repetition_penalty, no_repeat_ngram_size=no_repeat_ngram_size,
        stop=tuple(stop) or None, form=form, acrostic=acrostic, rhyme=rhyme, tones=tones, keywords=keywords,
        search=search, beams=beams, candidates=candidates, rhyme_scheme=rhyme_scheme, title=title, guards=guards,
        tune=tune).items() if v is not None}  # fmt: skip
    params = SamplingParams(**given)
    params.validate()  # before loading the model: bad options fail fast
    # Shipped songci/lyrics models take a first line (词牌 or artist): let `--prompt '浣溪沙\n'` say so.
    prompt = prompt.replace("\\n", "\n")
    if not 1 <= n <= MAX_N:
        raise ConfigError(f"-n must be between 1 and {MAX_N}, got {n}")
    configure_cpu(threads)
    gen = Generator.from_checkpoint(checkpoint, device=device, quantize=quantize, layout=layout)
    params = gen.default_params(**given)
    prompt, implied = _header_prompt(gen, prompt, tune)
    if implied != tune:  # `--prompt '浣溪沙\n'` holds its tune
        tune = implied
        budget = params.max_new_tokens if given_budget else MAX_NEW_TOKENS
        params = dataclasses.replace(params, tune=tune, max_new_tokens=budget)
        params.validate()
    if params.rhyme_scheme is None:  # the model's own, written out with --json for the judge
        params = dataclasses.replace(params, rhyme_scheme=gen.rhyme_scheme)
    seqs = gen.new_rows(prompt, params, n=n, seed=seed, on_unknown=on_unknown)  # completion i: seed + i
    searched = {id(s) for s in seqs if gen.searches(s)}  # written whole by line-level search
    batch = gen.new_batch()
    for s in seqs:
        if id(s) not in searched:
            batch.add(s)
    printed = 0  # completions are printed in order; the first one streams as it is written
    if seqs[0].skipped:  # show the prompt the model read
        prompt = gen.tokenizer.decode(gen.tokenizer.encode(prompt, unknown="skip"))
    if seqs[0].constraint is not None and seqs[0].constraint.prompt_in_text:
        prompt = ""  # the model writes a title line first; the prompt follows it in the text
    if tune:  # the tune's header line, which the model read before the ci
        from textgen.poetry.tunes import get_tune

        prompt = get_tune(tune).name + "\n" + prompt
    if params.title:  # the title the model read before the poem, shown as its first line
        prompt = params.title + "\n" + prompt
    if not as_json:
        _out(prompt)
    while printed < n:
        seq = seqs[printed]
        if id(seq) in searched:
            gen.search(seq)  # the poem appears when the search has chosen every line
            if not as_json:
                _out(seq.text)
        while not seq.finished:
            for s, text in batch.step():
                if s is seq and not as_json:
                    _out(text)
        _finish(seqs, printed, params, as_json)
        printed += 1
        if printed < n and not as_json:  # a blank line between completions
            nxt = seqs[printed]
            _out("\n" + prompt + ("" if id(nxt) in searched else nxt.text))


# The artists of the shipped lyrics corpus (corpora/lyrics): each song opens with one of them.
ARTISTS = {"lyrics": ("周杰伦", "林俊杰", "陈奕迅", "许嵩", "邓紫棋", "任然", "汪峰")}


def _header_prompt(gen, prompt: str, tune: str | None) -> tuple[str, str | None]:
    """(prompt, tune) for models whose documents open with one header line. songci: a prompt that
    opens with a known 词牌 holds that tune, as --tune does. lyrics: a prompt that is an artist's
    name, or whose first line is, reads it as the artist line; an unknown artist is an error (a
    prompt without a line break otherwise opens the song)."""
    from textgen.errors import ConfigError
    from textgen.poetry.tunes import find_tune

    first, newline, rest = prompt.partition("\n")
    name = first.strip()
    if gen.header_fields == ["rhythmic"] and name:
        found = find_tune(name)
        if found is not None and tune not in (None, found.name):
            raise ConfigError(f"the prompt opens with tune {found.name} but --tune is {tune}: give one")
        if found is not None:
            return rest, found.name
        if found is None and newline and tune is None:
            raise ConfigError(f"the first line of a ci prompt is its tune (词牌), and {name!r} is not one "
                              "`textgen tunes` knows (a prompt without a line break opens the ci)")  # fmt: skip
    artists = ARTISTS.get(gen.checkpoint.meta.corpus.name)
    if gen.header_fields == ["artist"] and artists and (newline or name in artists):
        if name not in artists:
            raise ConfigError(f"unknown artist {name!r}: the first line of a lyrics prompt is one of "
                              f"{', '.join(artists)} (a prompt without a line break opens the song)")  # fmt: skip
        return name + "\n" + rest, tune
    return prompt, tune


def _finish(seqs, i, params, as_json) -> None:
    c = seqs[i].completion()
    if not c.text.strip():  # an empty poem is not a silent success
        print(f"warning: completion {i + 1} is empty (the model ended at once); --min-new-tokens N "
              "makes it write at least N tokens", file=sys.stderr)  # fmt: skip
    if as_json:
        d = c.to_dict() | {
            k: v
            for k, v in params.to_dict().items()
            if k in ("form", "acrostic", "rhyme", "tones", "rhyme_scheme", "title", "tune", "search")
        }
        d["title"] = params.title or c.title  # given (context), or written by the model (starts its text)
        _out(json.dumps(d, ensure_ascii=False) + "\n")
    else:
        _out("\n")


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
