"""Checkpoint files: weights + everything needed to use them, in one safetensors file.

A checkpoint file (`best.safetensors`, `last.safetensors` in a run directory) holds the state dict
and, in its string metadata, the model config, the tokenizer and the run's meta (corpus, training
config, metrics, step, git commit). Nothing is pickled, so loading an untrusted file is safe.
A readable copy of the meta sits beside it as `meta.json`. Shipped models (`checkpoints/<name>/
model.safetensors`, half precision, with a MODEL.md card) are found by name.

The meta is the contract between train, eval, sample and serve: a CheckpointMeta (and its
CorpusRecord) read from the file's JSON, with a default for every field an older file lacks and
the keys this version does not know kept as they were.

    ckpt = load_checkpoint("tang")                   # a shipped model's name, a run dir or a file
    logits, hidden = ckpt.model(idx)
    ckpt.meta.corpus.name, ckpt.meta.header_fields   # its corpus and header lines: tang, [form, title, ...]
    meta = read_meta("tang")                         # the same record without loading the weights
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, safe_open, save_model

from textgen.errors import CheckpointError, TextgenError
from textgen.model import RNNLM, ModelConfig
from textgen.paths import atomic_write
from textgen.poetry.header import template_fields, template_lines
from textgen.tokenizer import Tokenizer, tokenizer_from_json

FORMAT = "textgen-checkpoint-1"


def _known(cls, d: dict) -> tuple[dict, dict]:
    """(the keys of `d` that are fields of dataclass `cls`, the others)."""
    names = {f.name for f in fields(cls)} - {"extra"}
    return {k: v for k, v in d.items() if k in names}, {k: v for k, v in d.items() if k not in names}


@dataclass
class CorpusRecord:
    """What a model was trained on (TrainData.describe()): enough to find the prepared corpus again,
    or prepare it again from the recorded manifest, and to check a resumed run reads the same one."""

    name: str = ""
    prepared: str = ""  # the prepared folder on the machine that trained it
    manifest: dict = field(default_factory=dict)  # corpus.toml as read (read.header: the header lines)
    manifest_sha256: str = ""
    tokenizer: str = ""  # its kind: char | sentencepiece
    tokenizer_sha256: str = ""
    vocab_size: int = 0
    tokens: dict = field(default_factory=dict)  # split -> tokens
    chars_per_token: dict = field(default_factory=dict)  # split -> characters per token
    vocabulary: str = ""  # "given": encoded with another model's tokenizer (--keep-vocab)
    extra: dict = field(default_factory=dict)  # keys this version does not know

    @classmethod
    def from_dict(cls, d: dict | str | None) -> CorpusRecord:
        if isinstance(d, str):  # the oldest files recorded only a name
            return cls(name=d)
        known, extra = _known(cls, d if isinstance(d, dict) else {})
        return cls(**known, extra=extra)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        if not self.vocabulary:
            del d["vocabulary"]
        return d | self.extra

    @property
    def header_template(self) -> str:
        """The manifest's read.header, e.g. "{form}\\n{title}" ("" when documents have no header)."""
        read = self.manifest.get("read") if isinstance(self.manifest, dict) else None
        header = read.get("header") if isinstance(read, dict) else None
        return header if isinstance(header, str) else ""


@dataclass
class CheckpointMeta:
    """The run's record stored in a checkpoint and in meta.json beside it."""

    corpus: CorpusRecord = field(default_factory=CorpusRecord)
    train_config: dict = field(default_factory=dict)  # TrainConfig.to_dict()
    metrics: dict = field(default_factory=dict)  # the evaluation this checkpoint was saved at
    best: dict = field(default_factory=dict)  # the best evaluation of the run so far
    step: int = 0
    epoch: float = 0.0
    chars_seen: float = 0.0  # training characters
    elapsed_s: float = 0.0  # training seconds
    params: int = 0
    git_commit: str = ""
    world_size: int = 1
    device: str = ""
    test: dict | None = None  # the test split scored with the best weights, when the run ended
    release: dict | None = None  # `textgen export`: {"dtype", "from", "from_sha256"}
    extra: dict = field(default_factory=dict)  # keys this version does not know, kept as they were

    @classmethod
    def from_dict(cls, d: dict | None) -> CheckpointMeta:
        known, extra = _known(cls, dict(d or {}))
        return cls(**{**known, "corpus": CorpusRecord.from_dict(known.get("corpus"))}, extra=extra)

    def to_dict(self) -> dict:
        """The meta.json form (what from_dict reads back)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        d["corpus"] = self.corpus.to_dict()
        for k in ("test", "release"):
            if d[k] is None:
                del d[k]
        return d | self.extra

    @property
    def header_fields(self) -> list[str]:
        """The metadata field of each header line the model was trained with: ["form", "title"] for
        a read.header of "{form}\\n{title}"; [] when it had none (or lines that are not one field)."""
        return template_fields(self.corpus.header_template)

    @property
    def header_lines(self) -> int:
        """Header lines before each document's body in the training corpus."""
        return template_lines(self.corpus.header_template)


@dataclass
class Checkpoint:
    model: RNNLM
    tokenizer: Tokenizer
    meta: CheckpointMeta = field(default_factory=CheckpointMeta)
    path: Path | None = None
    digest: str = ""  # sha256 of the file: identifies these exact weights (cache keys)

    def __post_init__(self):
        if not isinstance(self.meta, CheckpointMeta):  # a meta.json dict (tests, tools)
            self.meta = CheckpointMeta.from_dict(self.meta)


def save_checkpoint(
    path: str | Path, model: RNNLM, tokenizer: Tokenizer, meta: CheckpointMeta | dict | None = None
) -> None:
    """Write model + tokenizer + meta to `path` atomically (temp file, fsync, rename). A dict meta is
    read as CheckpointMeta.from_dict would read it back."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not isinstance(meta, CheckpointMeta):
        meta = CheckpointMeta.from_dict(meta)
    metadata = {
        "format": FORMAT,
        "model_config": json.dumps(model.config.to_dict()),
        "tokenizer": tokenizer.to_json(),
        "meta": json.dumps(meta.to_dict(), ensure_ascii=False, default=str),
    }
    # save_model (not save_file) because tied weights share storage.
    atomic_write(path, lambda tmp: save_model(model, tmp, metadata=metadata))


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


def read_meta(path: str | Path) -> CheckpointMeta:
    """A checkpoint's meta, without loading its weights."""
    p = resolve_checkpoint(path)
    try:
        return CheckpointMeta.from_dict(json.loads(read_metadata(p).get("meta", "{}")))
    except (json.JSONDecodeError, TypeError) as e:
        raise CheckpointError(f"{p}: corrupt checkpoint meta ({e})") from e


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint written by save_checkpoint onto `device` (eval mode)."""
    p = resolve_checkpoint(path)
    md = read_metadata(p)
    try:
        config = ModelConfig.from_dict(json.loads(md["model_config"]))
        tokenizer = tokenizer_from_json(md["tokenizer"])
        meta = CheckpointMeta.from_dict(json.loads(md.get("meta", "{}")))
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
