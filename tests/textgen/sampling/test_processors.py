import math

import torch

from textgen.sampling.processors import (
    apply_allowed,
    apply_repetition_penalty,
    apply_top_k,
    apply_top_p,
    sample_next_token,
)

INF = float("inf")


def test_top_k_per_row_and_off():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0], [1.0, 3.0, 2.0, 0.0]])
    out = apply_top_k(logits, torch.tensor([2, 0]))
    assert out[0].tolist() == [-INF, 3.0, 2.0, -INF]
    assert out[1].tolist() == logits[1].tolist()


def test_top_p_keeps_the_smallest_nucleus_and_at_least_one():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]] * 3)
    out = apply_top_p(probs.log(), torch.tensor([0.7, 0.01, 1.0]))
    assert torch.isfinite(out[0]).tolist() == [True, True, False, False]
    assert torch.isfinite(out[1]).tolist() == [True, False, False, False]
    assert torch.equal(out[2], probs[2].log())


def test_repetition_penalty_and_allowed_masks():
    logits = torch.tensor([[2.0, -2.0, 1.0], [2.0, -2.0, 1.0]])
    presence = torch.tensor([[True, True, False]])
    apply_repetition_penalty(logits, torch.tensor([1]), presence, torch.tensor([2.0]))
    assert logits.tolist() == [[2.0, -2.0, 1.0], [1.0, -4.0, 1.0]]
    apply_allowed(logits, torch.tensor([0]), torch.tensor([[False, False, True]]))
    assert logits[0].tolist() == [-INF, -INF, 1.0]


def test_sample_is_greedy_at_temperature_zero_and_follows_u():
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, math.log(3.0)], [5.0, 0.0]])
    t = torch.tensor([1.0, 1.0, 0.0])
    off_k, off_p = torch.zeros(3, dtype=torch.long), torch.ones(3)
    # p = (0.25, 0.75): u below 0.25 picks token 0, above picks token 1; greedy ignores u.
    idx = sample_next_token(logits, torch.tensor([0.2, 0.3, 0.99]), t, off_k, off_p)
    assert idx.tolist() == [0, 1, 0]


def test_sample_never_picks_a_masked_token():
    logits = torch.full((4, 10), -INF)
    logits[:, 7] = 0.0
    for u in (0.0, 0.5, 0.999999):
        idx = sample_next_token(logits, torch.full((4,), u), torch.ones(4), torch.zeros(4, dtype=torch.long),
                                torch.ones(4))  # fmt: skip
        assert idx.tolist() == [7] * 4


def test_sampling_matches_the_distribution():
    g = torch.Generator().manual_seed(0)
    logits = torch.tensor([[0.0, 1.0, 2.0]]).log_softmax(-1)
    counts = torch.zeros(3)
    for _ in range(4000):
        u = torch.rand(1, generator=g)
        counts[
            sample_next_token(logits, u, torch.ones(1), torch.zeros(1, dtype=torch.long), torch.ones(1))
        ] += 1
    assert torch.allclose(counts / 4000, logits.exp()[0], atol=0.03)


def test_flags_from_params_give_the_same_tokens_as_reading_the_tensors():
    from textgen.sampling import SamplingParams
    from textgen.sampling.processors import sampling_flags

    torch.manual_seed(0)
    rows = [
        SamplingParams(temperature=0.0),
        SamplingParams(temperature=1.0),
        SamplingParams(temperature=0.7, top_k=3),
        SamplingParams(temperature=1.3, top_p=0.5),
    ]
    for batch in (rows, rows[:1], rows[1:2], rows[2:]):
        logits = torch.randn(len(batch), 50)
        u = torch.rand(len(batch))
        t = torch.tensor([p.temperature for p in batch])
        k = torch.tensor([p.top_k for p in batch])
        p_ = torch.tensor([p.top_p for p in batch])
        flags = sampling_flags(batch)
        assert flags == (bool((t > 0).all()), bool((t > 0).any()), bool((t != 1).any()),
                         bool((k > 0).any()), bool((p_ < 1).any()))  # fmt: skip
        assert torch.equal(
            sample_next_token(logits.clone(), u, t, k, p_, flags),
            sample_next_token(logits.clone(), u, t, k, p_),
        )
