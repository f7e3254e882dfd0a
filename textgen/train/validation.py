"""Scoring during a run: the val split every eval_interval steps and, when the run is done, the test
split with the best weights. These only score; the trainer decides what a score means (a new best,
the plateau schedule, early stopping).

    s = score_split(model, data, "val", max_tokens=50_000)    # Score: loss, ppl, bpc, ...
    s = score_best(model, data, "runs/tang/best.safetensors")  # the test split, best weights

Scoring itself is textgen.train.evaluate.
"""

from __future__ import annotations

from pathlib import Path

from textgen.model import RNNLM
from textgen.train.data import TrainData
from textgen.train.evaluate import Score, score_documents, score_ids


def score_split(model: RNNLM, data: TrainData, split: str, max_tokens: int) -> Score:
    """Score a split, or its first max_tokens (0: the whole split). The whole test split is scored
    document by document, as `textgen eval` scores it."""
    if split == "test" and not max_tokens:
        tok = data.tokenizer
        return score_documents(
            model, data.splits[split], eos_id=tok.eos_id, chars_per_token=data.cpt(split)
        ).all
    return score_ids(
        model,
        data.splits[split],
        chars_per_token=data.cpt(split),
        batch_size=16,
        seq_len=256,
        max_tokens=max_tokens,
    )


def score_best(model: RNNLM, data: TrainData, best: Path) -> Score:
    """The whole test split scored with the weights in `best` (the model's own are put back)."""
    from textgen.checkpoint import load_checkpoint

    device = next(model.parameters()).device
    last = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(load_checkpoint(best, device=device).model.state_dict())
    try:
        return score_split(model, data, "test", 0)
    finally:
        model.load_state_dict(last)
