"""Checkpoint files: weights + everything needed to use them, in one safetensors file.

A checkpoint file (`best.safetensors`, `last.safetensors` in a run directory) holds the state dict
and, in its string metadata, the model config, the tokenizer and the run's meta (corpus, training
config, metrics, step, git commit). Nothing is pickled, so loading an untrusted file is safe.
A readable copy of the meta sits beside it as `meta.json`. Shipped models (`checkpoints/<name>/
model.safetensors`, half precision, with a MODEL.md card) are found by name.

    ckpt = load_checkpoint("tang")                   # a shipped model's name, a run dir or a file
    logits, hidden = ckpt.model(idx)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, safe_open, save_model

from textgen.errors import CheckpointError, TextgenError
from textgen.model import RNNLM, ModelConfig
from textgen.paths import make_readable
from textgen.tokenizer import Tokenizer, tokenizer_from_json

FORMAT = "textgen-checkpoint-1"


@dataclass
class Checkpoint:
    model: RNNLM
    tokenizer: Tokenizer
    meta: dict = field(default_factory=dict)
    path: Path | None = None
    digest: str = ""  # sha256 of the file: identifies these exact weights (cache keys)


def save_checkpoint(path: str | Path, model: RNNLM, tokenizer: Tokenizer, meta: dict | None = None) -> None:
    """Write model + tokenizer + meta to `path` atomically (temp file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format": FORMAT,
        "model_config": json.dumps(model.config.to_dict()),
        "tokenizer": tokenizer.to_json(),
        "meta": json.dumps(meta or {}, ensure_ascii=False),
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        # save_model (not save_file) because tied weights share storage.
        save_model(model, tmp, metadata=metadata)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        make_readable(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


RELEASE_FILE = "model.safetensors"  # a shipped model's weights, in checkpoints/<name>/


def shipped_dirs() -> list[Path]:
    """Where model names are looked up: $TEXTGEN_CHECKPOINTS (os.pathsep-separated), ./checkpoints, and
    the checkpoints/ folder next to the package (a source checkout or editable install)."""
    env = [Path(d) for d in os.environ.get("TEXTGEN_CHECKPOINTS", "").split(os.pathsep) if d]
    dirs = [*env, Path.cwd() / "checkpoints", Path(__file__).resolve().parents[1] / "checkpoints"]
    return list(dict.fromkeys(d.resolve() for d in dirs if d.is_dir()))


def shipped_models() -> dict[str, Path]:
    """Shipped model name -> its folder (the first of shipped_dirs() holding that name wins)."""
    found: dict[str, Path] = {}
    for d in shipped_dirs():
        for sub in sorted(d.iterdir()):
            if (sub / RELEASE_FILE).is_file():
                found.setdefault(sub.name, sub)
    return found


def resolve_checkpoint(path: str | Path) -> Path:
    """A shipped model's name means its model.safetensors; a run directory its best checkpoint (else
    its last); a file means itself."""
    p = Path(path)
    if not p.exists() and re.fullmatch(r"[\w.-]+", str(path)):
        shipped = shipped_models()
        if str(path) in shipped:
            return shipped[str(path)] / RELEASE_FILE
        names = ", ".join(shipped) or "none found"
        raise CheckpointError(f"{p}: no such checkpoint file or run directory, nor a shipped model ({names})")
    if p.is_dir():
        for name in (RELEASE_FILE, "best.safetensors", "last.safetensors"):
            if (p / name).is_file():
                return p / name
        raise CheckpointError(
            f"{p}: no {RELEASE_FILE}, best.safetensors or last.safetensors in this directory"
        )
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint file or run directory")
    return p


def read_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata of a checkpoint file, checked for the textgen format."""
    p = resolve_checkpoint(path)
    try:
        with safe_open(str(p), framework="pt") as f:
            md = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{p}: not a readable safetensors checkpoint ({e})") from e
    if md.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not a textgen checkpoint (format {md.get('format')!r})")
    return md


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint written by save_checkpoint onto `device` (eval mode)."""
    p = resolve_checkpoint(path)
    md = read_metadata(p)
    try:
        config = ModelConfig.from_dict(json.loads(md["model_config"]))
        tokenizer = tokenizer_from_json(md["tokenizer"])
        meta = json.loads(md.get("meta", "{}"))
        model = RNNLM(config)
        missing, unexpected = load_model(model, str(p), strict=False, device=str(device))
    except TextgenError as e:
        raise CheckpointError(f"{p}: {e}") from e
    except (KeyError, json.JSONDecodeError, SafetensorError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"{p}: corrupt or incompatible checkpoint ({e})") from e
    # A tied head.weight is stored once under the embedding's name; anything else missing is damage.
    missing = [m for m in missing if not (config.tie_weights and m == "head.weight")]
    if missing or unexpected:
        raise CheckpointError(
            f"{p}: weights do not match the model config (missing {missing}, unexpected {unexpected})"
        )
    model.to(device).eval()
    return Checkpoint(model=model, tokenizer=tokenizer, meta=meta, path=p, digest=file_digest(p))


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
