"""Start a run from another model's weights (`textgen train … --init-from tang`): warm-starting.

The architecture is the source model's; the vocabulary is the new corpus's. Rows of the embedding and
of the output layer are copied by character, so a corpus that gained header lines or lost a few rare
characters keeps everything the source model learned. Characters the source lacks (and, with an
adaptive softmax, characters that moved to another frequency cluster) keep their fresh initialisation.

    stats = transfer_weights(model, tokenizer, source.model, source.tokenizer)
    stats["rows_copied"], stats["rows_new"]
"""

from __future__ import annotations

import torch
import torch.nn as nn

from textgen.errors import ConfigError
from textgen.model import RNNLM
from textgen.tokenizer import Tokenizer


def _id_map(tok: Tokenizer, src: Tokenizer) -> dict[int, int]:
    """New id -> source id, for pieces both vocabularies hold (and the special tokens by role)."""
    src_ids = {src.id_to_piece(i): i for i in range(src.vocab_size) if i not in (src.unk_id, src.eos_id)}
    out = {tok.unk_id: src.unk_id, tok.eos_id: src.eos_id}
    for i in range(tok.vocab_size):
        if i not in out and tok.id_to_piece(i) in src_ids:
            out[i] = src_ids[tok.id_to_piece(i)]
    return out


def _cluster(i: int, cutoffs: list[int]) -> tuple[int, int]:
    """(cluster, row within it) of token id i in an adaptive softmax; cluster 0 is the head."""
    lo = 0
    for c, hi in enumerate(cutoffs):
        if i < hi:
            return c, i - lo
        lo = hi
    raise IndexError(i)


@torch.no_grad()
def transfer_weights(model: RNNLM, tok: Tokenizer, src: RNNLM, src_tok: Tokenizer) -> dict:
    a, b = model.config, src.config
    same = ("cell", "n_layer", "hidden_size", "n_embd", "tie_weights", "proj_size", "adaptive_div")
    diff = [k for k in same if getattr(a, k) != getattr(b, k)]
    if diff or bool(a.adaptive_cutoffs) != bool(b.adaptive_cutoffs):
        raise ConfigError(
            f"--init-from: the model's architecture differs from the source's ({diff or 'softmax'})"
        )
    ids = _id_map(tok, src_tok)
    model.rnn.load_state_dict(src.rnn.state_dict())
    if model.proj is not None:
        model.proj.load_state_dict(src.proj.state_dict())
    new, old = torch.tensor(list(ids)), torch.tensor(list(ids.values()))
    model.embedding.weight[new] = src.embedding.weight[old]
    copied = len(ids)
    if isinstance(model.head, nn.AdaptiveLogSoftmaxWithLoss):
        cuts_a = [*a.adaptive_cutoffs, a.vocab_size]
        cuts_b = [*b.adaptive_cutoffs, b.vocab_size]
        h, hs = model.head, src.head
        n_short = cuts_a[0]
        h.head.weight[n_short:] = hs.head.weight[cuts_b[0] :]  # the cluster logits
        for t, ts in zip(h.tail, hs.tail, strict=True):
            t[0].weight.copy_(ts[0].weight)
        copied = 0
        for i, j in ids.items():
            ci, ri = _cluster(i, cuts_a)
            cj, rj = _cluster(j, cuts_b)
            if ci != cj:
                continue
            copied += 1
            if ci == 0:
                h.head.weight[ri] = hs.head.weight[rj]
            else:
                h.tail[ci - 1][1].weight[ri] = hs.tail[ci - 1][1].weight[rj]
    elif not a.tie_weights:
        model.head.weight[new] = src.head.weight[old]
        if model.head.bias is not None:
            model.head.bias[new] = src.head.bias[old]
    return {"rows_copied": copied, "rows_new": tok.vocab_size - copied, "embedding_copied": len(ids)}
