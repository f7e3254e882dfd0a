"""Which torch device a run (or an evaluation) uses: "auto" picks CUDA, then Apple MPS, then the CPU;
naming a device that is not there is a ConfigError rather than a crash later.

    device = resolve_device("auto")          # torch.device("cuda") on a GPU machine
"""

from __future__ import annotations

import torch

from textgen.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA GPU is available here")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("--device mps: Apple MPS is not available here")
    return torch.device(name)
