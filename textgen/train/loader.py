"""Truncated-BPTT batches: the token stream cut into `batch_size` contiguous streams.

As in pytorch/examples word_language_model (batchify + get_batch), for batch_size 4 and
stream length L the id stream a b c d ... is laid out as

    stream 0: a b c d e f ...      step 0 reads columns [0, seq_len), step 1 [seq_len, 2 seq_len) ...
    stream 1: g h i j k l ...      and the targets are the same columns shifted by one token,
    stream 2: m n o p q r ...      so the hidden state left by step k is the right context
    stream 3: s t u v w x ...      for step k+1: the trainer carries it over (detached).

Each epoch starts the layout at a random offset in [0, seq_len) so the truncation points move.
Under DDP rank r of W reads streams [r B/W, (r+1) B/W): together the ranks see exactly the global
batch one process would. The position (epoch, step) is the whole state, so a resumed run reads
exactly the batches the uninterrupted one would have.

    loader = StreamLoader(ids, batch_size=64, seq_len=64, seed=1337)
    x, y, new_epoch = loader.next_batch()   # (B/W, T) int64 tensors; True: the hidden state resets
    loader.progress                         # epochs done, fractional
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from textgen.errors import ConfigError


class StreamLoader:
    def __init__(
        self,
        ids: np.ndarray,
        batch_size: int,
        seq_len: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ):
        if batch_size % world_size:
            raise ConfigError(
                f"--batch-size {batch_size} must be divisible by the number of processes ({world_size})"
            )
        self.ids = ids
        self.batch_size = batch_size
        self.seq_len = seq_len
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.step = 0  # steps taken in the current epoch
        if self.steps_per_epoch < 1:
            raise ConfigError(
                f"the training split ({len(ids):,} tokens) is too short for --batch-size {batch_size} "
                f"x --seq-len {seq_len}; lower them"
            )

    @property
    def stream_len(self) -> int:
        # The largest offset is seq_len - 1, and targets need one token past the inputs.
        return (len(self.ids) - self.seq_len) // self.batch_size

    @property
    def steps_per_epoch(self) -> int:
        return self.stream_len // self.seq_len

    def offset(self, epoch: int) -> int:
        """Where epoch `epoch`'s layout starts: random per epoch, the same on every rank."""
        if epoch == 0:
            return 0
        return int(np.random.default_rng([self.seed, epoch]).integers(0, self.seq_len))

    def batch(self, epoch: int, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's (inputs, targets) for one step: each (B / world_size, seq_len) int64."""
        L, T = self.stream_len, self.seq_len
        per_rank = self.batch_size // self.world_size
        first = self.rank * per_rank
        start = self.offset(epoch) + first * L + step * T
        # Row i of this rank starts at start + i*L: a strided view of the id array, then one copy.
        rows = np.lib.stride_tricks.as_strided(
            self.ids[start:], shape=(per_rank, T + 1), strides=(L * self.ids.strides[0], self.ids.strides[0])
        )
        chunk = torch.from_numpy(rows.astype(np.int64))
        return chunk[:, :-1], chunk[:, 1:]

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """The next batch and whether it starts a new epoch (the carried hidden state must reset)."""
        new_epoch = self.step == 0
        x, y = self.batch(self.epoch, self.step)
        self.step += 1
        if self.step == self.steps_per_epoch:
            self.epoch, self.step = self.epoch + 1, 0
        return x, y, new_epoch

    @property
    def progress(self) -> float:
        """Epochs done, fractional."""
        return self.epoch + self.step / self.steps_per_epoch

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "step": self.step, "offset": self.offset(self.epoch)}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.step = int(state["epoch"]), int(state["step"])


def eval_batches(
    ids: np.ndarray, batch_size: int, seq_len: int, max_tokens: int = 0
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Score a split: the first `max_tokens` (0 = all) laid out as `batch_size` streams, read
    `seq_len` at a time; the caller carries the hidden state. Every token but the last
    `batch_size`-remainder is a target exactly once."""
    n = len(ids) if not max_tokens else min(len(ids), max_tokens + 1)
    batch_size = max(1, min(batch_size, (n - 1) // 2))
    L = (n - 1) // batch_size
    data = np.asarray(ids[: batch_size * L + 1]).astype(np.int64)
    x = torch.from_numpy(data[:-1].reshape(batch_size, L))
    y = torch.from_numpy(data[1:].reshape(batch_size, L))
    for i in range(0, L, seq_len):
        yield x[:, i : i + seq_len], y[:, i : i + seq_len]
