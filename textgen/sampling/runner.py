"""The model as generation runs it: its device, the one-token step (exact or quantized), the
CPU backend switch, and recurrent state. Batches and the line-level search step rows through it;
they need nothing else of the Generator.

    runner = ModelRunner(model, quantize="fp16")
    hidden = runner.prime([tokenizer.eos_id, *ids])       # <eos> + a prompt: the state before ids[-1]
    logits, hidden = runner.forward_step(torch.tensor([ids[-1]]), hidden)   # one step, one row
"""

from __future__ import annotations

import contextlib

import torch

from textgen.errors import ConfigError
from textgen.model import RNNLM
from textgen.sampling.device import _onednn_off
from textgen.sampling.fast import QUANTIZE, FastStep


class ModelRunner:
    """A model in eval mode and how to step it. Speed options, measured in
    benchmarks/sample_latency.py: oneDNN's path is slower than the native one for one-token steps
    on CPU; `fast` steps through the fused cell functions (exact fp32, default on CPU); `quantize`
    ("fp16" or "int8"; True = "int8") runs those steps on smaller weights (CPU only, approximate;
    int8 couples rows of a batch, see fast.py). Thread count and oneDNN are process-wide: set them
    once with configure_cpu(), not here."""

    def __init__(self, model: RNNLM, *, quantize: str | bool | None = None, fast: bool | None = None,
                 onednn: bool = False):  # fmt: skip
        self.model = model.eval()
        self.device = next(self.model.parameters()).device
        self.onednn = onednn
        if isinstance(quantize, bool):
            quantize = "int8" if quantize else None
        if quantize is not None and quantize not in QUANTIZE:
            raise ConfigError(f"quantize must be one of {', '.join(QUANTIZE)}, got {quantize!r}")
        if quantize and self.device.type != "cpu":
            raise ConfigError("quantize works on CPU only")
        self.quantize = quantize
        self.fast = (self.device.type == "cpu") if fast is None else fast
        self.fast = self.fast or quantize is not None
        self._step = FastStep(self.model, quantize) if self.fast else self.model.step

    def init_hidden(self, batch: int = 1):
        """Zero recurrent state for `batch` rows, on the model's device."""
        return self.model.init_hidden(batch, self.device)

    def prime(self, ids: list[int]):
        """One row's state after reading every id but the last (which is its next step's input)."""
        with torch.inference_mode():
            hidden = self.init_hidden(1)
            if len(ids) > 1:
                _, hidden = self.forward(torch.tensor([ids[:-1]], device=self.device), hidden)
        return hidden

    def forward_step(self, idx: torch.Tensor, hidden, rows: torch.Tensor | None = None):
        """(B,) -> logits (B, V), hidden: the one model call per batch step. With `rows`, only
        those rows need real logits (the fast step skips the output layer for the others)."""
        with self.backend():
            return self._step(idx, hidden, rows) if self.fast else self._step(idx, hidden)

    def forward(self, idx: torch.Tensor, hidden):
        """(B, T) -> logits (B, T, V), hidden: priming on a prompt."""
        with self.backend():
            return self.model(idx, hidden)

    def backend(self):
        """oneDNN off around model calls on CPU, unless configure_cpu() already turned it off for the
        process (then nothing is switched per call, so engine threads cannot race on the flag)."""
        if self.device.type == "cpu" and not self.onednn and torch._C._get_mkldnn_enabled():
            return _onednn_off()
        return contextlib.nullcontext()
