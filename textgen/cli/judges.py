"""`textgen judges train CHECKPOINT`: train the judges the line-level search scores poems with, and
write judges.safetensors + judges.json beside the model.

    textgen judges train tang                        # the shipped model (5-10 minutes on one core)
    textgen judges train runs/tang --samples 2048 --out runs/tang

A model trained with keyword plans also gets keywords.json, its title -> keywords planner (fit on
the same training split). Progress goes to stderr; the held-out figures and fitted weights to stdout.
"""

from __future__ import annotations

import json

import click

from textgen.cli.threads import threads_option


@click.group(
    "judges",
    epilog="""\b
Examples:
  textgen judges train tang
  textgen judges train runs/tang --samples 512 --seed 2""",
)
def judges() -> None:
    """Learned judges that score the line-level search: (a) real poem vs the model's own, (b) does a
    line follow the ones before it, (c) does the poem answer its title, (d) repetition across lines,
    calibrated to real poems."""


@judges.command(
    "train",
    epilog="""\b
Examples:
  textgen judges train tang                          # writes checkpoints/tang/judges.*
  textgen judges train runs/tang --samples 512 --steps 300
  textgen judges train tang --out /tmp/judges --seed 2 --json""",
)
@click.argument("checkpoint")
@click.option(
    "--samples",
    type=click.IntRange(min=8),
    default=2048,
    show_default=True,
    help="model poems to sample, and as many next lines for training contexts (a quarter as many "
    "validation contexts get 8 candidate lines each)",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="folder to write judges.safetensors and judges.json into [default: the model's own]",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=1, show_default=True, help="sampling and training seed"
)
@click.option("--steps", type=click.IntRange(min=1), default=1000, show_default=True,
              help="training steps of the judges' networks (64 examples per judge each)")  # fmt: skip
@click.option("--train-seconds", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="stop training after this long even if steps remain (0 = no limit)")  # fmt: skip
@threads_option
@click.option("--json", "as_json", is_flag=True, help="print the figures and weights as one JSON object")
@click.option("--quiet", is_flag=True, help="no progress on stderr")
def train(checkpoint, samples, out, seed, steps, train_seconds, threads, as_json, quiet):
    """Train the judges of CHECKPOINT (a shipped model's name such as tang, a run directory or a
    .safetensors file) on the training split of its corpus and its own samples; fit the weights
    that combine them with its log-probabilities on the validation split."""
    import torch

    from textgen.cli.threads import idle_cores
    from textgen.judges.pipeline import train_judges

    torch.set_num_threads(threads or idle_cores())
    command = f"textgen judges train {checkpoint} --samples {samples} --seed {seed} --steps {steps}"
    if train_seconds:
        command += f" --train-seconds {train_seconds:g}"

    def log(msg: str) -> None:
        if not quiet:
            click.echo(msg, err=True)

    judges, paths = train_judges(checkpoint, samples=samples, seed=seed, out=out, steps=steps,
                                 train_seconds=train_seconds, command=command, log=log)  # fmt: skip
    info = judges.info
    if as_json:
        click.echo(
            json.dumps(
                {"files": [str(p) for p in paths], "weights": judges.weights, **info}, ensure_ascii=False
            )
        )
        return
    click.echo(f"wrote {paths[0]} and {paths[1].name} ({info['seconds']:.0f} s)")
    click.echo("held-out figures:")
    for name, f in info["figures"].items():
        acc = f" accuracy {f['accuracy']:.3f}" if f.get("accuracy") is not None else ""
        shown = f"{f['auc']:.3f}" if f.get("auc") is not None else "n/a"
        click.echo(f"  {name:24s} AUC {shown}{acc}  ({f['task']})")
    if info["combination"]:
        click.echo("ranking the real next line among the model's (validation, two-fold):")
        for name, f in info["combination"].items():
            click.echo(
                f"  {name:24s} top-1 {f['top1']:.3f} (chance {f['chance_top1']:.3f}), AUC {f['auc']:.3f}"
            )
    shown = ", ".join(f"{k} {v:g}" for k, v in judges.weights.items())
    click.echo(f"weights ({info['weights_source']}): {shown}")


@judges.command(
    "weights",
    epilog="""\b
Examples:
  textgen judges weights tang                         # show them
  textgen judges weights tang --set lm=1.0 --why "blind rounds 1-2 (MODEL.md)" """,
)
@click.argument("checkpoint")
@click.option("--set", "assignments", multiple=True, metavar="NAME=VALUE",
              help="hold this weight at VALUE (lm, real, follow, title, repeat); repeatable")  # fmt: skip
@click.option("--why", default="", help="the measurement that chose the value, kept in judges.json")
def weights(checkpoint, assignments, why):
    """Show, or set by hand, the weights that combine CHECKPOINT's judges with its log-probability.
    The fit (textgen judges train) ranks real lines above the model's; a weight set here instead is
    recorded in judges.json with the reason."""
    from textgen.checkpoint import resolve_checkpoint
    from textgen.errors import ConfigError
    from textgen.judges import NAMES, Judges

    folder = resolve_checkpoint(checkpoint).parent
    j = Judges.load(folder)
    if j is None:
        raise ConfigError(f"{folder}: no judges (textgen judges train {checkpoint})")
    w = dict(j.weights)
    for a in assignments:
        name, eq, value = a.partition("=")
        try:
            v = float(value)
        except ValueError:
            v = float("nan")
        if not eq or name not in ("lm", *NAMES) or not v >= 0:
            raise ConfigError(
                f"--set {a!r}: expected NAME=VALUE with NAME one of lm, {', '.join(NAMES)}, VALUE >= 0"
            )
        w[name] = v
    if assignments:
        fitted = j.info.get("fitted_weights") or j.weights
        j.info["fitted_weights"] = fitted
        changed = ", ".join(f"{k} {fitted.get(k)} -> {v:g}" for k, v in w.items() if v != fitted.get(k))
        j.info["weights_source"] = f"set by hand ({changed}){': ' + why if why else ''}; fitted: {fitted}"
        j.set_weights(w)
        j.save(folder)
    click.echo(" ".join(f"{k} {v:g}" for k, v in j.weights.items()))
    click.echo(f"source: {j.info.get('weights_source', '')}")
