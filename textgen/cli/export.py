"""`textgen export RUN OUT`: a training run's best checkpoint as a compact, shippable model folder.

textgen export runs/tang checkpoints/tang            # checkpoints/tang/model.safetensors (float16)
textgen sample tang --form qijue                     # found by name from then on
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click

DTYPES = ("float16", "bfloat16", "float32")


@click.command(
    epilog="""\b
Examples:
  textgen export runs/tang checkpoints/tang
  textgen export runs/lyrics/best.safetensors checkpoints/lyrics --dtype float32

The folder gets model.safetensors (weights, tokenizer and the run's meta; nothing pickled) and a
readable meta.json. Any folder named checkpoints/<NAME> next to the package, in the current
directory or on $TEXTGEN_CHECKPOINTS makes NAME usable wherever a checkpoint is asked for."""
)
@click.argument("run")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--dtype", type=click.Choice(DTYPES), default="float16", show_default=True,
    help="weights are stored in this precision and computed in float32 after loading",
)  # fmt: skip
@click.option("--overwrite", is_flag=True, help="replace an existing model.safetensors in OUT")
def export(run: str, out: Path, dtype: str, overwrite: bool) -> None:
    """Write RUN's best checkpoint (a run directory or checkpoint file) to OUT/model.safetensors."""
    import torch

    from textgen.checkpoint import RELEASE_FILE, load_checkpoint, save_checkpoint
    from textgen.errors import ConfigError
    from textgen.paths import atomic_write_text

    target = out / RELEASE_FILE
    if target.exists() and not overwrite:
        raise ConfigError(f"{target} exists; pass --overwrite to replace it")
    ckpt = load_checkpoint(run)
    model = ckpt.model.to(getattr(torch, dtype))
    meta = replace(ckpt.meta, release={"dtype": dtype, "from": str(ckpt.path), "from_sha256": ckpt.digest})
    save_checkpoint(target, model, ckpt.tokenizer, meta)
    atomic_write_text(out / "meta.json", json.dumps(meta.to_dict(), ensure_ascii=False, indent=2) + "\n")
    size = target.stat().st_size
    click.echo(
        f"{target}: {size / 2**20:.1f} MiB, {dtype}, {sum(p.numel() for p in model.parameters()):,} params"
    )
