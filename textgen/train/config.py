"""Training configuration: the TrainConfig dataclass and the presets (model size + training overrides).

Every field of TrainConfig and ModelConfig is a `textgen train` option of the same name (dashes for
underscores); a preset fills in whatever the command line leaves unset.

    model_cfg, train_cfg = resolve_config("small", vocab_size=6000, overrides={"lr": 1e-3})
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from textgen.errors import ConfigError
from textgen.model import ModelConfig

SCHEDULES = ("cosine", "plateau", "constant")
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class TrainConfig:
    batch_size: int = 64  # streams laid side by side (global, over all DDP ranks)
    seq_len: int = 64  # truncated-BPTT length: tokens per stream per step
    lr: float = 2e-3  # peak learning rate (AdamW)
    min_lr: float = 1e-4  # where cosine decay ends
    weight_decay: float = 0.01
    beta2: float = 0.99  # AdamW's second-moment decay; 0.99 suits short runs
    warmup_steps: int = 100
    lr_schedule: str = "cosine"  # cosine | plateau | constant
    plateau_factor: float = 0.5  # plateau: multiply the lr by this after `plateau_patience` bad evals
    plateau_patience: int = 2
    grad_clip: float = 1.0  # max global gradient norm (0 = off)
    epochs: float = 0.0  # 0 = no limit
    max_steps: int = 0  # 0 = no limit
    time_budget: float = 0.0  # minutes of training (0 = no limit); cosine decays over it
    eval_interval: int = 500  # steps between validation runs (and last/best checkpoints); at most an epoch
    eval_tokens: int = 100_000  # validation tokens scored per eval (0 = the whole split)
    log_interval: int = 50
    # Stop after this many evaluations without a better val loss (0 = never). On by default: on a
    # small text the validation loss turns and rises within a few epochs (the text is being learned
    # by heart), and a long run then only moves the last checkpoint further from the best.
    patience: int = 5
    divergence_factor: float = 4.0  # stop if the smoothed loss exceeds this x its best
    seed: int = 1337
    device: str = "auto"  # auto | cpu | cuda | mps
    threads: int = 0  # CPU threads for torch (0 = torch's default); 1 can win on a busy machine
    out: str = ""  # run directory; default runs/<corpus name>
    init_from: str = ""  # start from this checkpoint's weights (its architecture, matched by character)
    keep_vocab: bool = (
        False  # with init_from: encode the corpus with its tokenizer, so every row carries over
    )

    def validate(self) -> None:
        if self.keep_vocab and not self.init_from:
            raise ConfigError("--keep-vocab keeps the vocabulary of --init-from's model: give --init-from")
        if self.lr_schedule not in SCHEDULES:
            raise ConfigError(f"unknown --lr-schedule {self.lr_schedule!r}; choose {', '.join(SCHEDULES)}")
        if self.device not in DEVICES:
            raise ConfigError(f"unknown --device {self.device!r}; choose {', '.join(DEVICES)}")
        for name in ("batch_size", "seq_len", "eval_interval", "log_interval"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        for name in (
            "lr",
            "min_lr",
            "weight_decay",
            "grad_clip",
            "epochs",
            "max_steps",
            "time_budget",
            "eval_tokens",
            "patience",
            "warmup_steps",
            "threads",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(
                    f"--{name.replace('_', '-')} must not be negative, got {getattr(self, name)}"
                )
        if self.lr <= 0:
            raise ConfigError(f"--lr must be positive, got {self.lr}")
        if not 0 < self.plateau_factor < 1:
            raise ConfigError(f"--plateau-factor must be in (0, 1), got {self.plateau_factor}")
        if not 0 < self.beta2 < 1:
            raise ConfigError(f"--beta2 must be in (0, 1), got {self.beta2}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


# Presets: ModelConfig fields + TrainConfig fields. `small` is the CPU default: a 30-minute budget
# (cosine-annealed over the budget); on a shared 2-core CPU it ran at 250-5,000 characters/s depending
# on the other load, i.e. up to ~3 epochs of Tang when the machine is quiet.
PRESETS: dict[str, dict] = {
    # A smoke test: 3 minutes, seconds per evaluation.
    "tiny": dict(
        n_layer=1,
        hidden_size=128,
        n_embd=64,
        batch_size=32,
        seq_len=64,
        lr=3e-3,
        warmup_steps=20,
        eval_interval=100,
        eval_tokens=20_000,
        log_interval=10,
        time_budget=3.0,
    ),
    # CPU default: 2 x 384 LSTM, adaptive softmax so the ~7k-way output layer stops dominating.
    "small": dict(
        n_layer=2,
        hidden_size=384,
        n_embd=192,
        adaptive_cutoffs=[1000, 3000],
        batch_size=64,
        seq_len=64,
        lr=6e-3,  # 10-min Tang runs: 8.11 test bits/char vs 8.16 at 3e-3
        warmup_steps=50,
        eval_interval=250,
        eval_tokens=50_000,
        log_interval=25,
        time_budget=30.0,
    ),
    # The reference size (2 x 512, embedding 256): a long CPU run or a quick GPU one.
    "base": dict(
        n_layer=2,
        hidden_size=512,
        n_embd=256,
        adaptive_cutoffs=[1000, 3000],
        dropout=0.1,
        batch_size=64,
        seq_len=64,
        lr=2e-3,
        warmup_steps=100,
        eval_interval=500,
        eval_tokens=100_000,
        log_interval=50,
        epochs=10.0,
    ),
    # GPU: 3 x 1024, full softmax, dropout for the many epochs it can afford.
    "large": dict(
        n_layer=3,
        hidden_size=1024,
        n_embd=512,
        dropout=0.25,
        emb_dropout=0.1,
        out_dropout=0.25,
        batch_size=128,
        seq_len=128,
        lr=1.5e-3,
        warmup_steps=200,
        eval_interval=1000,
        eval_tokens=0,
        log_interval=100,
        epochs=30.0,
        patience=5,
    ),
}
DEFAULT_PRESET = "small"

MODEL_FIELDS = [f.name for f in fields(ModelConfig) if f.name != "vocab_size"]
TRAIN_FIELDS = [f.name for f in fields(TrainConfig)]
BUDGETS = ("epochs", "max_steps", "time_budget")


def resume_config(saved: dict, given: dict) -> TrainConfig:
    """A resumed run's config: the saved one, with every option given on the command line winning.

    Budgets count from the start of the run: steps, epochs and training minutes are summed over
    resumes. They are replaced as a set: giving any of --epochs, --max-steps or --time-budget
    drops the saved ones, so `--resume RUN --max-steps 400` trains to step 400 whatever time
    budget the first command had; giving none continues to the saved budget (after Ctrl-C)."""
    given = {k: v for k, v in given.items() if v is not None and k in TRAIN_FIELDS}
    values = dict(saved)
    if any(k in given for k in BUDGETS):
        values.update(dict.fromkeys(BUDGETS, 0))
    values.update(given)
    cfg = TrainConfig.from_dict(values)
    cfg.validate()
    return cfg


def resolve_config(
    preset: str | None, vocab_size: int, overrides: dict | None = None
) -> tuple[ModelConfig, TrainConfig]:
    """Defaults < preset < overrides (options the user gave; None values are ignored)."""
    name = preset or DEFAULT_PRESET
    if name not in PRESETS:
        raise ConfigError(f"unknown --preset {name!r}; choose one of {', '.join(PRESETS)}")
    values = {**PRESETS[name], **{k: v for k, v in (overrides or {}).items() if v is not None}}
    unknown = set(values) - set(MODEL_FIELDS) - set(TRAIN_FIELDS)
    if unknown:
        raise ConfigError(f"unknown config field(s): {', '.join(sorted(unknown))}")
    model_cfg = ModelConfig(vocab_size=vocab_size, **{k: v for k, v in values.items() if k in MODEL_FIELDS})
    # A preset's adaptive cutoffs assume a vocabulary of several thousand; drop the ones a small
    # vocabulary cannot hold (an explicit --adaptive-cutoffs is validated as given).
    if "adaptive_cutoffs" not in (overrides or {}) or overrides.get("adaptive_cutoffs") is None:
        model_cfg.adaptive_cutoffs = [c for c in model_cfg.adaptive_cutoffs if c < vocab_size // 2]
    train_cfg = TrainConfig(**{k: v for k, v in values.items() if k in TRAIN_FIELDS})
    model_cfg.validate()
    train_cfg.validate()
    return model_cfg, train_cfg
