"""`textgen plot RUN_DIR...`: redraw loss curves (bits per character against characters trained),
several runs on one chart.

    textgen plot runs/tang                       # -> runs/tang/loss.png
    textgen plot runs/tang runs/tang-gru -o compare.png
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command(
    epilog="""\b
Examples:
  textgen plot runs/tang                       # -> runs/tang/loss.png
  textgen plot runs/tang runs/tang-tiny -o compare.png"""
)
@click.argument("runs", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    default=None,
    help="PNG to write (default: RUN_DIR/loss.png for one run, runs.png for several)",
)
def plot(runs, output):
    """Draw the train and validation curves of one or more run directories."""
    from textgen.train.runlog import plot_runs

    out = Path(output) if output else (Path(runs[0]) / "loss.png" if len(runs) == 1 else Path("runs.png"))
    plot_runs([Path(r) for r in runs], out)
    click.echo(f"wrote {out}")
