"""Training: truncated-BPTT language-model training with exact resume and DDP.

    from textgen.data import prepare
    from textgen.train import TrainData, resolve_config, train
    data = TrainData.from_prepared(prepare("corpora/tang"))
    model_cfg, train_cfg = resolve_config("tiny", data.tokenizer.vocab_size, {"out": "runs/t"})
    result = train(data, model_cfg, train_cfg)      # {"step", "best", "test", "run_dir", ...}

Modules: config (TrainConfig, presets), loader (stream batches), schedule (learning rate),
trainer (the loop, and what each validation score means), state (RunState, where a run stands;
last.state.pt), checkpointing (the run directory: saving, resuming), validation (scoring val/test
during a run), progress (what a run prints, from numbers), parts (optimizer, plan, warm start),
evaluate (bits per character), runlog (metrics.jsonl, loss.png), device (--device), distributed
(torchrun set-up).
"""

from textgen.train.config import PRESETS, TrainConfig, resolve_config
from textgen.train.data import TrainData
from textgen.train.trainer import Trainer, TrainingError, train

__all__ = ["PRESETS", "TrainConfig", "TrainData", "Trainer", "TrainingError", "resolve_config", "train"]
