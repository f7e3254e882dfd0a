"""Devices and process-wide CPU settings for generation: check a device name, set threads and oneDNN.

from textgen.sampling.device import check_device, configure_cpu
configure_cpu(threads=1)      # once per process, at start-up: both settings are global to torch
check_device("cuda")          # torch.device("cuda"), or ConfigError where this machine has none
"""

from __future__ import annotations

import contextlib

import torch

from textgen.errors import ConfigError


def check_device(device: str | torch.device) -> torch.device:
    """A torch device this machine has, or ConfigError naming it."""
    try:
        d = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ConfigError(f"unknown device {device!r} ({e})") from e
    if d.type == "cuda" and (not torch.cuda.is_available() or (d.index or 0) >= torch.cuda.device_count()):
        raise ConfigError(f"device {device!r} is not available on this machine")
    if d.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {device!r} is not available on this machine")
    return d


def configure_cpu(threads: int | None = None, onednn: bool = False) -> None:
    """Process-wide CPU settings, once at start-up (a CLI command, a server): torch's intra-op
    threads (one-token steps are small, and on a busy machine extra OpenMP threads mostly wait for
    each other: 10x slower here) and oneDNN, slower than the native kernels for one-token steps
    (benchmarks/sample_latency.py). Both are global to torch, so per-call switches would race."""
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ConfigError(f"threads must be at least 1, got {threads!r}")
        torch.set_num_threads(threads)
    torch._C._set_mkldnn_enabled(onednn)


@contextlib.contextmanager
def _onednn_off():
    # torch.backends.mkldnn.flags() does the same but warns about Intel-GPU TF32 on every call.
    was = torch._C._get_mkldnn_enabled()
    torch._C._set_mkldnn_enabled(False)
    try:
        yield
    finally:
        torch._C._set_mkldnn_enabled(was)
