"""`textgen tunes`: the 词牌 (ci tunes) known to --tune, mined from the Song ci corpus.

textgen tunes                 # every tune: example count, line lengths, rhyme positions
textgen tunes 浣溪沙           # one tune's pattern (tones, punctuation, rhymes) and its 又一体
"""

from __future__ import annotations

import json

import click


@click.command(
    epilog="""\b
例子 (examples):
  textgen tunes                       # 词牌一览: 例词数, 句式, 韵位
  textgen tunes 菩萨蛮                 # 格律 (平/仄/中 = 可平可仄) 与又一体
  textgen tunes --json | head -c 300
  python scripts/build_tunes.py       # rebuild the table from the songci corpus"""
)
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the table (or the tune) as JSON.")
def tunes(name, as_json) -> None:
    """List the known tunes, or show the pattern of the tune NAME."""
    from dataclasses import asdict

    from textgen.poetry.tunes import get_tune
    from textgen.poetry.tunes import tunes as table

    if name:
        tune = get_tune(name)
        if as_json:
            click.echo(json.dumps(asdict(tune), ensure_ascii=False))
            return
        click.echo(f"{tune.name}: {tune.examples} ci, {tune.matching} in this shape "
                   f"({sum(tune.lengths)} characters, {len(tune.lengths)} lines)")  # fmt: skip
        click.echo(tune.pattern())
        for lengths, count in tune.variants:
            click.echo(f"又一体 ({count} ci): {','.join(map(str, lengths))}")
        return
    rows = table()
    if as_json:
        click.echo(json.dumps({k: asdict(v) for k, v in rows.items()}, ensure_ascii=False))
        return
    for tune in rows.values():
        rhymes = ",".join(str(i + 1) for i, r in enumerate(tune.rhymes) if r is not None)
        click.echo(f"{tune.name:10s}\t{tune.examples:4d} ci\tlines {','.join(map(str, tune.lengths))}"
                   f"\trhymes at {rhymes}")  # fmt: skip
