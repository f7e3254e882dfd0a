"""`textgen eval CHECKPOINT`: score a split of the model's corpus, or any text file.

    textgen eval tang                                # the shipped Tang model on its test split
    textgen eval runs/tang --split val --json
    textgen eval songci --text-file my_ci.txt --header-lines 1

Progress (characters scored, ETA) goes to stderr; the figures to stdout.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import click

from textgen.cli.threads import threads_option

if TYPE_CHECKING:
    from textgen.checkpoint import CheckpointMeta


@click.command(
    "eval",
    epilog="""\b
Examples:
  textgen eval tang                         # shipped model, test split of its corpus
  textgen eval runs/tang --split val --json
  textgen eval songci --text-file my_ci.txt --header-lines 1""",
)
@click.argument("checkpoint")
@click.option(
    "--split",
    type=click.Choice(["val", "test"]),
    default="test",
    show_default=True,
    help="split of the corpus the model was trained on",
)
@click.option(
    "--text-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="score this UTF-8 text instead (documents separated by blank lines; unknown characters "
    "are counted, not scored)",
)
@click.option(
    "--header-lines",
    type=click.IntRange(min=0),
    default=None,
    help="metadata lines opening each document, read but left out of the body figure "
    "[default: as in the model's corpus]",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.option("--quiet", is_flag=True, help="no progress bar")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | mps")
@threads_option
def eval_cmd(checkpoint, split, text_file, header_lines, as_json, quiet, device, threads):
    """Loss (nats per token), perplexity and bits per character of CHECKPOINT (a shipped model's
    name such as tang, a run directory or a .safetensors file): over all characters, and over
    document bodies only (after each document's header lines, e.g. a 词牌 or an artist)."""
    import torch

    from textgen.checkpoint import load_checkpoint
    from textgen.cli.threads import idle_cores
    from textgen.train.device import resolve_device

    ckpt = load_checkpoint(checkpoint, device=resolve_device(device))
    on_cpu = next(ckpt.model.parameters()).device.type == "cpu"
    if on_cpu:
        torch.set_num_threads(threads or idle_cores())
    ids, cpt, oov, summary = _data(ckpt, checkpoint, split, text_file)
    if header_lines is None:
        header_lines = corpus_header_lines(summary, ckpt.meta)
    t0 = time.perf_counter()
    r = _score(ckpt, ids, cpt, oov, header_lines, quiet)
    seconds = time.perf_counter() - t0
    s, b = r.all, r.body
    result = {"checkpoint": str(ckpt.path), **({"text_file": text_file} if text_file else {"split": split})}
    result.update(loss=s.loss, ppl=s.ppl, bpc=s.bpc, tokens=s.tokens, chars=round(s.chars), oov=oov)
    result.update(header_lines=header_lines, body_bits_per_char=b.bpc, body_chars=round(b.chars))
    result.update(seconds=round(seconds, 2), threads=torch.get_num_threads() if on_cpu else None)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(f"{ckpt.path} on {f'text file {text_file}' if text_file else f'{split} split'}:")
    click.echo(f"  loss {s.loss:.4f} nats/token, perplexity {s.ppl:.2f}, {s.bpc:.4f} bits/char")
    lines = f"after {header_lines} header line{'s' * (header_lines != 1)} per document"
    click.echo(
        f"  body: {b.bpc:.4f} bits/char over {round(b.chars):,} characters ({lines if header_lines else 'no header lines'})"
    )
    click.echo(f"  {round(s.chars):,} characters scored ({s.tokens:,} tokens), {oov:,} out of vocabulary")
    click.echo(f"  {seconds:.1f} s ({s.chars / max(seconds, 1e-9):,.0f} characters/s)")


def _data(ckpt, checkpoint, split, text_file):
    """(ids, characters per token, unknown characters, prepared summary or None) to score."""
    import numpy as np

    tok = ckpt.tokenizer
    if text_file:
        ids, chars, oov = _encode_text(text_file, tok)
        cpt = chars / max(sum(1 for i in ids if i != tok.unk_id), 1)
        return ids, cpt, oov, _recorded_summary(ckpt.meta.corpus.prepared)
    pc = _corpus_of(ckpt, checkpoint)
    ids = pc.ids(split)
    cpt = float(pc.summary.get("chars_per_token", {}).get(split, 1.0)) or 1.0
    return ids, cpt, int(np.count_nonzero(np.asarray(ids) == tok.unk_id)), pc.summary


def _score(ckpt, ids, cpt, oov, header_lines, quiet):
    """score_documents with a progress bar (characters scored, time left) on stderr."""
    from tqdm import tqdm

    from textgen.train.evaluate import score_documents

    tok = ckpt.tokenizer
    bar = tqdm(
        total=round(len(ids) * cpt), unit="char", unit_scale=True, desc="eval", leave=False, disable=quiet
    )

    def progress(done, total):
        bar.total = round(total * cpt)
        bar.update(round(done * cpt) - bar.n)

    with bar:
        return score_documents(
            ckpt.model,
            ids,
            eos_id=tok.eos_id,
            newline_id=_newline_id(tok),
            header_lines=header_lines,
            chars_per_token=cpt,
            ignore_id=tok.unk_id if oov else None,
            progress=progress,
        )


def corpus_header_lines(summary: dict | None, meta: CheckpointMeta) -> int:
    """Header lines per document: the prepared summary's `header_lines`, else the line count of
    the recorded manifest's read.header template, else 0."""
    if summary and summary.get("header_lines") is not None:
        return int(summary["header_lines"])
    return meta.header_lines


def _newline_id(tok) -> int | None:
    from textgen.errors import TextgenError

    try:
        ids = tok.encode("\n")
    except TextgenError:  # a tokenizer without a newline: no line structure to find
        return None
    return ids[0] if len(ids) == 1 else None


def _encode_text(path: str, tok) -> tuple[list[int], float, int]:
    """The text's documents (blocks of lines between blank lines), each ending in <eos> as in a
    prepared corpus; unknown characters as <unk>. Returns ids, characters scored (each <eos>
    counts one, the document break), unknown count."""
    from textgen.errors import TextgenError

    try:
        text = open(path, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError) as e:
        raise TextgenError(f"{path}: cannot read as UTF-8 text ({e})") from e
    docs, block = [], []
    for line in text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n"):
        if line.strip():
            block.append(line)
        elif block:
            docs.append("\n".join(block))
            block = []
    if block:
        docs.append("\n".join(block))
    if not docs:
        raise TextgenError(f"{path}: no text to score")
    unknown = set(tok.unknown_chars("".join(docs)))
    oov = sum(1 for d in docs for ch in d if ch in unknown)
    ids = []
    for d in docs:
        ids += [*tok.encode(d, unknown="unk"), tok.eos_id]
    return ids, sum(len(d) for d in docs) + len(docs) - oov, oov


def _recorded_summary(path: str) -> dict | None:
    """The summary of the checkpoint's prepared corpus if this machine has it (never prepares)."""
    from pathlib import Path

    f = Path(path) / "summary.json" if path else None
    try:
        return json.loads(f.read_text(encoding="utf-8")) if f else None
    except (OSError, ValueError):
        return None


def _corpus_of(ckpt, checkpoint):
    """The prepared corpus recorded in the checkpoint (prepared again if this machine lacks it)."""
    from textgen.data.prepare import prepare_recorded
    from textgen.errors import CheckpointError

    corpus = ckpt.meta.corpus
    if not corpus.name:
        raise CheckpointError(f"{checkpoint}: records no corpus; use --text-file")
    from textgen.errors import CorpusError

    try:
        return prepare_recorded(corpus.to_dict(), progress=True, tokenizer=ckpt.tokenizer)
    except CorpusError as e:  # eval reads the mirror from the environment only: no --mirror here
        raise CorpusError(str(e).replace("or pass --mirror DIR", "before textgen eval")) from None
