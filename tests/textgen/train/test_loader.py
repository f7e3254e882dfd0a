"""The truncated-BPTT layout: contiguous streams, shifted targets, moving offsets, rank shares."""

import numpy as np
import pytest
import torch

from textgen.errors import ConfigError
from textgen.train.loader import StreamLoader, eval_batches

IDS = np.arange(10_000, dtype=np.int32)  # token i has id i: positions are easy to read


def test_streams_are_contiguous_and_targets_shifted():
    ld = StreamLoader(IDS, batch_size=4, seq_len=8, seed=0)
    x0, y0, new0 = ld.next_batch()
    x1, _, new1 = ld.next_batch()
    assert new0 and not new1
    assert x0.dtype == torch.int64 and x0.shape == (4, 8)
    assert torch.equal(y0, x0 + 1)  # the target is the next token
    assert torch.equal(x1[:, 0], x0[:, -1] + 1)  # step k+1 continues each stream where step k ended
    L = ld.stream_len
    assert torch.equal(x0[:, 0], torch.arange(4) * L)  # epoch 0 starts at offset 0, streams L apart


def test_each_epoch_moves_the_truncation_points_and_covers_the_stream():
    ld = StreamLoader(IDS, batch_size=4, seq_len=8, seed=3)
    offsets = {ld.offset(e) for e in range(1, 20)}
    assert len(offsets) > 3 and all(0 <= o < 8 for o in offsets)
    seen = []
    for _ in range(ld.steps_per_epoch):
        x, _, _ = ld.next_batch()
        seen.append(x)
    assert ld.epoch == 1 and ld.step == 0
    row0 = torch.cat([x[0] for x in seen])
    assert torch.equal(row0, torch.arange(len(row0)))  # row 0 of epoch 0 reads tokens 0, 1, 2, ...
    x, _, new = ld.next_batch()
    assert new and x[0, 0].item() == ld.offset(1)


def test_ranks_split_the_global_batch():
    full = StreamLoader(IDS, batch_size=4, seq_len=8, seed=1)
    parts = [StreamLoader(IDS, batch_size=4, seq_len=8, seed=1, rank=r, world_size=2) for r in range(2)]
    for epoch, step in [(0, 0), (0, 5), (2, 3)]:
        x, y = full.batch(epoch, step)
        xs, ys = zip(*(p.batch(epoch, step) for p in parts), strict=True)
        assert torch.equal(torch.cat(xs), x) and torch.equal(torch.cat(ys), y)
    with pytest.raises(ConfigError, match="divisible"):
        StreamLoader(IDS, batch_size=3, seq_len=8, world_size=2)


def test_state_round_trip_gives_the_same_next_batches():
    a = StreamLoader(IDS, batch_size=4, seq_len=8, seed=5)
    for _ in range(ld_steps := a.steps_per_epoch + 3):
        a.next_batch()
    b = StreamLoader(IDS, batch_size=4, seq_len=8, seed=5)
    b.load_state_dict(a.state_dict())
    assert ld_steps > a.steps_per_epoch
    for _ in range(5):
        xa, ya, _ = a.next_batch()
        xb, yb, _ = b.next_batch()
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_too_short_a_split_is_a_clear_error():
    with pytest.raises(ConfigError, match="too short"):
        StreamLoader(IDS[:100], batch_size=64, seq_len=64)


def test_eval_batches_score_every_token_once():
    ys = [y for _, y in eval_batches(IDS[:1001], batch_size=4, seq_len=64)]
    assert sorted(torch.cat([y.reshape(-1) for y in ys]).tolist()) == list(range(1, 1001))
    capped = sum(y.numel() for _, y in eval_batches(IDS, batch_size=4, seq_len=64, max_tokens=500))
    assert capped == 500
