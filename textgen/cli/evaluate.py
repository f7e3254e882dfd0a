"""`textgen eval CHECKPOINT`: score a split of the model's corpus, or any text file.

textgen eval tang --split test
textgen eval tang --text-file poems.txt --json
"""

from __future__ import annotations

import json

import click


@click.command("eval")
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
    help="score this UTF-8 text instead (one document; unknown characters are counted, not scored)",
)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | mps")
def eval_cmd(checkpoint, split, text_file, as_json, device):
    """Loss (nats per token), perplexity, bits per character, characters scored and
    out-of-vocabulary count of CHECKPOINT (a checkpoint file or run directory)."""
    from textgen.checkpoint import load_checkpoint
    from textgen.train.evaluate import score_ids
    from textgen.train.trainer import resolve_device

    ckpt = load_checkpoint(checkpoint, device=resolve_device(device))
    tok = ckpt.tokenizer
    result = {"checkpoint": str(ckpt.path)}
    if text_file:
        ids, chars, oov = _encode_text(text_file, tok)
        n_scored = sum(1 for i in ids[1:] if i != tok.unk_id)
        cpt = chars / max(n_scored, 1)
        s = score_ids(
            ckpt.model,
            ids,
            chars_per_token=cpt,
            batch_size=1 if len(ids) < 200_000 else 16,
            seq_len=512,
            ignore_id=tok.unk_id if oov else None,
        )
        result["text_file"] = text_file
    else:
        import numpy as np  # noqa: F401  (the split is a memmap)

        pc = _corpus_of(ckpt, checkpoint)
        ids = pc.ids(split)
        cpt = float(pc.summary.get("chars_per_token", {}).get(split, 1.0)) or 1.0
        s = score_ids(ckpt.model, ids, chars_per_token=cpt)
        oov = int(np.count_nonzero(np.asarray(ids) == tok.unk_id))
        result["split"] = split
    result.update(loss=s.loss, ppl=s.ppl, bpc=s.bpc, tokens=s.tokens, chars=round(s.chars), oov=oov)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    where = f"text file {text_file}" if text_file else f"{split} split"
    click.echo(f"{ckpt.path} on {where}:")
    click.echo(f"  loss {s.loss:.4f} nats/token, perplexity {s.ppl:.2f}, {s.bpc:.4f} bits/char")
    click.echo(f"  {round(s.chars):,} characters scored ({s.tokens:,} tokens), {oov:,} out of vocabulary")


def _encode_text(path: str, tok) -> tuple[list[int], int, int]:
    """<eos> + the text's ids (unknown characters as <unk>), characters scored, unknown count."""
    from textgen.errors import TextgenError

    try:
        text = open(path, encoding="utf-8").read()
    except (OSError, UnicodeDecodeError) as e:
        raise TextgenError(f"{path}: cannot read as UTF-8 text ({e})") from e
    if not text:
        raise TextgenError(f"{path}: empty file")
    unknown = set(tok.unknown_chars(text))
    oov = sum(1 for ch in text if ch in unknown)
    ids = [tok.eos_id, *tok.encode(text, unknown="unk")]
    return ids, len(text) - oov, oov


def _corpus_of(ckpt, checkpoint):
    """The prepared corpus recorded in the checkpoint (prepared again if this machine lacks it)."""
    from textgen.data.prepare import prepare_recorded
    from textgen.errors import CheckpointError

    corpus = ckpt.meta.get("corpus", {})
    if not corpus.get("name"):
        raise CheckpointError(f"{checkpoint}: records no corpus; use --text-file")
    return prepare_recorded(corpus, progress=True)
