"""`textgen judge`: score generated poems (form compliance, rhyme, 格律 tones, copying, diversity).

textgen sample tang --form wujue -n 200 --seed 1 --json > wujue.jsonl
textgen judge wujue.jsonl --checkpoint tang
textgen judge poems.txt --rhyme-scheme pingshui --faults     # which rule each poem breaks, where
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command(
    epilog="""\b
例子 (examples):
  textgen sample tang --form wujue -n 200 --seed 1 --json > 五绝.jsonl
  textgen judge 五绝.jsonl --checkpoint tang        # 复制率对照训练集
  textgen judge poems.txt --form qijue --train-file train.txt --json
  textgen sample tang -n 50 --json | textgen judge -
  textgen judge 五绝.jsonl --rhyme-scheme xinyun --faults   # 按中华新韵, 列出每首的毛病"""
)
@click.argument("file", type=click.Path(allow_dash=True))
@click.option(
    "--form",
    default=None,
    help="Judge every poem against this form (default: what each asked for, else detected).",
)
@click.option("--train-file", type=click.Path(), default=None, help="Training text for the copy rate.")
@click.option(
    "--checkpoint", default=None, help="Take the training text from this checkpoint's prepared corpus."
)
@click.option("--rhyme-scheme", type=click.Choice(["pingshui", "xinyun"]), default=None,
              help="Judge rhyme and tones by 平水韵 or 中华新韵 [default: as sampled, else the "
                   "--checkpoint's, else pingshui].")  # fmt: skip
@click.option("--faults", "show_faults", is_flag=True,
              help="Also list each poem's rhyme and tone faults (rule, line, character).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the scores as one JSON object.")
def judge(file, form, train_file, checkpoint, rhyme_scheme, show_faults, as_json) -> None:
    """Score the poems in FILE (`-` = stdin): JSON lines from `textgen sample --json`, or plain
    text with one poem per blank-line separated block."""
    from textgen.errors import ConfigError
    from textgen.poetry.judge import judge as score
    from textgen.poetry.judge import parse_poems, poem_faults, read_poems, train_half_lines

    if train_file and checkpoint:
        raise ConfigError("give --train-file or --checkpoint, not both")
    if form:
        from textgen.poetry.forms import resolve_form

        resolve_form(form)
    poems = parse_poems(sys.stdin.read()) if file == "-" else read_poems(file)
    if checkpoint:
        train_file = checkpoint_train_text(checkpoint)
        if rhyme_scheme is None:  # the model's own scheme (平水韵 for classical, 中华新韵 for lyrics)
            rhyme_scheme = checkpoint_scheme(checkpoint)
    lines = train_half_lines(train_file) if train_file else None
    report = score(poems, train_lines=lines, form=form, scheme=rhyme_scheme)
    if show_faults:
        report["poem_faults"] = [
            poem_faults(p.text, rhyme_scheme or p.rhyme_scheme or "pingshui", p.tune) for p in poems
        ]
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    listed = report.pop("poem_faults", None)
    for key, value in report.items():
        if isinstance(value, float):
            value = f"{value:.3f}"
        elif value is None:
            value = "-"
        click.echo(f"{key:12s} {value}")
    for i, faults in enumerate(listed or []):
        if faults:
            click.echo(f"poem {i + 1}: {', '.join(faults)}")


def checkpoint_train_text(checkpoint: str) -> Path:
    """The train.txt of the prepared corpus a checkpoint was trained on (prepared again from the
    shipped manifest when this machine lacks it)."""
    from textgen.checkpoint import read_meta, read_metadata
    from textgen.data.prepare import prepare_recorded
    from textgen.errors import ConfigError
    from textgen.tokenizer import tokenizer_from_json

    corpus = read_meta(checkpoint).corpus
    if not corpus.name:
        raise ConfigError(f"{checkpoint}: records no corpus; pass --train-file")
    tokenizer = tokenizer_from_json(read_metadata(checkpoint)["tokenizer"])
    return prepare_recorded(corpus.to_dict(), tokenizer=tokenizer).text_path("train")


def checkpoint_scheme(checkpoint: str) -> str:
    """The rhyme scheme a checkpoint samples under by default."""
    from textgen.checkpoint import read_meta
    from textgen.poetry.rhyme import default_scheme

    return default_scheme(read_meta(checkpoint).corpus.name or None)
