"""`textgen train SOURCE`: prepare the corpus (cached) and train a model on it.

Every ModelConfig / TrainConfig field is an option of the same name; a preset fills in the rest.

    textgen train corpora/tang                          # CPU default: preset small, 30 minutes
    textgen train corpora/tang --preset tiny --out runs/tang-tiny
    textgen train corpora/tang --resume runs/tang
    torchrun --nproc-per-node 2 -m textgen train corpora/tang --device cpu
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path

import click

from textgen.model import ModelConfig
from textgen.train.config import DEFAULT_PRESET, PRESETS, TrainConfig

HELP = {
    "cell": "RNN cell: lstm | gru | rnn_tanh | rnn_relu (Elman)",
    "n_layer": "stacked RNN layers",
    "hidden_size": "RNN state size per layer",
    "n_embd": "embedding size",
    "dropout": "dropout between RNN layers",
    "emb_dropout": "dropout on the embeddings",
    "out_dropout": "dropout on the RNN output",
    "tie_weights": "share the embedding matrix with the output layer",
    "proj_size": "project the RNN output to this size before the output layer (0 = none)",
    "adaptive_cutoffs": "adaptive softmax cluster cutoffs, e.g. 1000,3000 ('none' = full softmax)",
    "adaptive_div": "adaptive softmax: tail cluster size divisor",
    "batch_size": "parallel token streams per step (global over DDP processes)",
    "seq_len": "truncated-BPTT length (tokens per stream per step)",
    "lr": "peak learning rate (AdamW)",
    "min_lr": "learning rate at the end of cosine decay",
    "weight_decay": "AdamW weight decay (matrices only)",
    "beta2": "AdamW beta2",
    "warmup_steps": "linear learning-rate warm-up steps",
    "lr_schedule": "cosine | plateau | constant",
    "plateau_factor": "plateau schedule: lr multiplier",
    "plateau_patience": "plateau schedule: evaluations without improvement before decaying",
    "grad_clip": "clip the global gradient norm to this (0 = off)",
    "epochs": "stop after this many epochs (0 = no limit)",
    "max_steps": "stop after this many steps (0 = no limit)",
    "time_budget": "stop after this many minutes of training (0 = no limit)",
    "eval_interval": "steps between evaluations and checkpoints (at most one epoch)",
    "eval_tokens": "validation tokens per evaluation (0 = whole split)",
    "log_interval": "steps between log lines in metrics.jsonl",
    "patience": "early stopping: stop after this many evaluations without a better val loss "
    "[default: 5; 0 = never]",
    "divergence_factor": "stop when the loss rises above this multiple of its best",
    "seed": "random seed (weights, stream offsets, dropout)",
    "device": "auto | cpu | cuda | mps",
    "threads": "CPU threads [default: the cores other work leaves idle, kept on --resume; 0 = torch's]",
    "out": "run directory (default runs/<corpus name>)",
    "init_from": "start from this CHECKPOINT's weights (a shipped name, run or file): its architecture, "
    "rows matched by character",
    "keep_vocab": "with --init-from: encode the corpus with that model's vocabulary instead of its own, so "
    "every output row carries over (fine-tuning a model trained on a larger corpus)",
}


def _cutoffs(value):
    if value is None or isinstance(value, list):
        return value
    if value.strip().lower() in ("", "none", "0"):
        return []
    try:
        return [int(v) for v in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None


def _field_options(cls, skip=()):
    """One click option per dataclass field; default None = 'not given' so presets apply."""
    opts = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        t = hints[f.name]
        if t is bool:
            opts.append(
                click.option(
                    f"{flag}/--no-{f.name.replace('_', '-')}", f.name, default=None, help=HELP.get(f.name)
                )
            )
        elif typing.get_origin(t) in (list, types.GenericAlias) or t == list[int]:
            opts.append(
                click.option(
                    flag, f.name, default=None, callback=lambda c, p, v: _cutoffs(v), help=HELP.get(f.name)
                )
            )
        else:
            opts.append(click.option(flag, f.name, type=t, default=None, help=HELP.get(f.name)))
    return opts


def _apply(options):
    def deco(fn):
        for opt in reversed(options):
            fn = opt(fn)
        return fn

    return deco


@click.command(
    context_settings={"max_content_width": 100},
    epilog="""\b
Examples:
  textgen train corpora/tang                       # default preset: ~30 min on 2 CPU cores, runs/tang
  textgen train corpora/tang --preset tiny --name tang-tiny   # a toy model: 3 minutes of training
  textgen train my_lyrics.txt --time-budget 10     # any UTF-8 text, into runs/my_lyrics
  textgen train --resume runs/tang                 # after Ctrl-C: on to the saved budget
  textgen train --resume runs/tang --max-steps 5000      # or to a new one
  textgen train corpora/songci --init-from tang --time-budget 20   # warm start from a model
  textgen train corpora/tang --init-from tang --keep-vocab --max-steps 20   # fine-tune, same vocabulary
\b
Budgets (--epochs, --max-steps, --time-budget) count from the start of the run, summed over
resumes; the first one reached stops it. On --resume every option given wins over the saved
one, and giving any budget replaces all the saved budgets. Ctrl-C saves and exits 130.""",
)
@click.argument("source", required=False)
@click.option(
    "--preset",
    default=None,
    metavar="|".join(PRESETS),
    help=f"model size + training defaults (default {DEFAULT_PRESET}: ~30 min on a 2-core CPU)",
)
@click.option("--tokenizer", type=click.Choice(["char", "sentencepiece"]), default="char", show_default=True)
@click.option("--vocab-size", type=int, default=None, help="SentencePiece vocabulary size")
@click.option("--min-freq", type=int, default=1, show_default=True, help="char tokenizer: minimum count")
@click.option(
    "--resume",
    "resume",
    default=None,
    metavar="RUN_DIR",
    help="continue this run exactly; options given win over its saved ones (budgets as a set)",
)
@click.option(
    "--name", default=None, help="run directory runs/NAME [default: the corpus, file or folder name]"
)
@click.option("--overwrite", is_flag=True, help="replace the run already in the run directory")
@click.option("--quiet", is_flag=True, help="no progress bar or log lines")
@_apply(_field_options(ModelConfig, skip=("vocab_size",)))
@_apply(_field_options(TrainConfig))
def train(source, preset, tokenizer, vocab_size, min_freq, resume, name, overwrite, quiet, **fields):
    """Train a language model on SOURCE: a corpus name or folder (corpora/tang), a prepared corpus,
    or any UTF-8 text file or folder of them. Writes best/last checkpoints, metrics.jsonl and loss.png
    to the run directory. Under torchrun, trains with DDP (only rank 0 writes)."""
    from textgen.errors import ConfigError
    from textgen.train.config import resolve_config, resume_config
    from textgen.train.data import TrainData
    from textgen.train.trainer import train as run_training

    if name and (fields["out"] or resume):
        raise ConfigError("--name names a new run in runs/; it cannot go with --out or --resume")

    if resume:
        from textgen.train.state import read_state

        state = read_state(resume)
        saved = state["corpus"]
        pc = (
            _prepare(source, tokenizer, vocab_size, min_freq, fields["device"])
            if source and saved.get("vocabulary") != "given"
            else _load_prepared(saved)
        )
        data = TrainData.from_prepared(pc)
        model_cfg = ModelConfig.from_dict(state["model_config"])
        given_model = {k: v for k, v in fields.items() if v is not None and hasattr(model_cfg, k)}
        if any(getattr(model_cfg, k) != v for k, v in given_model.items()):
            raise ConfigError(f"--resume {resume}: model options cannot change when resuming")
        cfg = resume_config(state["train_config"], {**fields, "out": str(resume)})
    else:
        if not source:
            raise click.UsageError("give a SOURCE to train on (e.g. corpora/tang), or --resume RUN_DIR")
        if fields.get("init_from"):
            fields = _architecture_of(fields["init_from"], fields)
        resolve_config(preset, 1 << 20, fields)  # bad options fail before any data work
        vocabulary = _tokenizer_of(fields["init_from"]) if fields.get("keep_vocab") else None
        pc = _prepare(source, tokenizer, vocab_size, min_freq, fields["device"], vocabulary)
        data = TrainData.from_prepared(pc)
        fields["out"] = fields["out"] or str(Path("runs") / (name or run_name(source, data.name)))
        model_cfg, cfg = resolve_config(preset, data.tokenizer.vocab_size, fields)
        cfg.threads = cfg.threads or _default_threads(cfg.device)
    result = run_training(data, model_cfg, cfg, resume=resume, overwrite=overwrite, quiet=quiet)
    run, first = result["run_dir"], os.environ.get("RANK", "0") == "0"  # torchrun: one report
    if first:
        best = result["best"]
        at = f"; best checkpoint from step {best['step']}, {best['bpc']:.3f} val bits/char" if best else ""
        click.echo(f"run: {run} ({result['stop_reason']} at step {result['step']}{at})")
    if result["stop_reason"] == "interrupted":
        raise click.exceptions.Exit(130)  # `textgen train ... && textgen export ...` must not go on
    if first:  # a run directory means its best checkpoint to all three
        click.echo(f"next: textgen sample {run}    textgen eval {run}    textgen serve {run}")


# File names that say nothing about what is in them: such a run is named after its folder.
GENERIC_NAMES = {"input", "data", "train", "text", "corpus", "all", "dataset"}


def run_name(source: str, corpus_name: str) -> str:
    """A run's default name: the corpus's, or for a generic file name (char-rnn's input.txt) the
    name of the folder holding it."""
    p = Path(source)
    if p.is_file() and p.stem.lower() in GENERIC_NAMES and p.resolve().parent.name:
        return p.resolve().parent.name
    return corpus_name


def _default_threads(device: str) -> int:
    """A new CPU run without --threads gets the cores other work leaves idle, chosen once and
    saved in its config, so a resumed run computes with the same count (and the same losses).
    0 (torch's default) under torchrun, with OMP_NUM_THREADS set, or off the CPU."""
    from textgen.cli.threads import idle_cores
    from textgen.train.device import resolve_device

    if "OMP_NUM_THREADS" in os.environ or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return 0
    return idle_cores() if resolve_device(device).type == "cpu" else 0


REGULARISATION = ("dropout", "emb_dropout", "out_dropout")


def _architecture_of(checkpoint: str, fields: dict) -> dict:
    """--init-from: the source model's architecture fills the model options; given ones must agree.
    Dropout is regularisation, not architecture: a warm start may change it (an overfitting model)."""
    import json

    from textgen.checkpoint import read_metadata, resolve_checkpoint
    from textgen.errors import ConfigError

    src = json.loads(read_metadata(checkpoint)["model_config"])
    resolve_checkpoint(checkpoint)  # a clear error now if it is missing
    fields = {**fields, "init_from": checkpoint}
    for k, v in src.items():
        if k == "vocab_size" or k not in fields:
            continue
        if k in REGULARISATION and fields[k] is not None:
            continue
        if fields[k] is not None and fields[k] != v:
            raise ConfigError(f"--{k.replace('_', '-')} {fields[k]} differs from --init-from's model ({v})")
        fields[k] = v
    return fields


def _tokenizer_of(checkpoint: str):
    """The tokenizer stored in a checkpoint's metadata (its weights are not read)."""
    from textgen.checkpoint import read_metadata
    from textgen.tokenizer import tokenizer_from_json

    return tokenizer_from_json(read_metadata(checkpoint)["tokenizer"])


def _prepare(source, tokenizer, vocab_size, min_freq, device, vocabulary=None):
    import os

    from textgen.data import prepare
    from textgen.train import distributed

    # Under torchrun, rank 0 prepares; the others then find it cached.
    rank = int(os.environ.get("RANK", "0"))
    dist = distributed.setup(device or "auto") if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None
    options = dict(tokenizer=tokenizer, vocab_size=vocab_size, min_freq=min_freq, vocabulary=vocabulary)
    if dist is None or rank == 0:
        pc = prepare(source, progress=rank == 0, **options)
    if dist is not None:
        dist.barrier()
        if rank != 0:
            pc = prepare(source, progress=False, **options)
    return pc


def _load_prepared(saved: dict):
    from textgen.data import load_prepared
    from textgen.errors import CheckpointError

    if not saved.get("prepared"):
        raise CheckpointError("this run does not record its prepared corpus; give SOURCE as well as --resume")
    return load_prepared(saved["prepared"])
