"""The engine's two seams: a Constraint protocol both constraint kinds implement, and a ModelRunner
that batches step through (no Generator needed)."""

from __future__ import annotations

import torch

from textgen.poetry.forms import resolve_form
from textgen.sampling import Batch, SamplingParams
from textgen.sampling.constraints import PoemConstraint
from textgen.sampling.guided import Guided
from textgen.sampling.protocol import Constraint
from textgen.sampling.runner import ModelRunner


def test_both_constraint_kinds_implement_the_protocol(gen):
    poem = PoemConstraint(resolve_form("wujue"), acrostic=None, rhyme=False, index=gen.index)
    guided = Guided(PoemConstraint(resolve_form("wujue"), acrostic=None, rhyme=False, index=gen.index),
                    gen.index, lines=[None], guards=True)  # fmt: skip
    for c in (poem, guided):
        assert isinstance(c, Constraint)
    # A poem constraint has no header: the header questions have trivial answers.
    assert not poem.writes_title and not poem.prompt_in_text
    assert not poem.in_header() and not poem.writing_hidden() and not poem.done
    # A title line the row writes first: the prompt is forced after it, so the text holds it.
    assert guided.writes_title and guided.in_header() and not guided.writing_hidden()
    guided.feed_prompt(gen.tokenizer.encode("春"), "春")
    assert guided.prompt_in_text and guided.remaining() == 2 + 1 + poem.remaining() - 1


def test_remaining_counts_the_steps_to_done(gen):
    """Walking either kind by its masks takes remaining() steps, then it is done."""
    poem = PoemConstraint(resolve_form("wujue"), acrostic="春夏秋冬", rhyme=False, index=gen.index)
    inner = PoemConstraint(resolve_form("wujue"), acrostic=None, rhyme=False, index=gen.index)
    guided = Guided(inner, gen.index, lines=[gen.tokenizer.encode("春\n")], guards=True)  # a given line
    guided.feed_prompt(gen.tokenizer.encode("床前"), "床前")
    for c in (poem, guided):
        want, steps = c.remaining(), 0
        while not c.done:
            c.advance(int(c.allowed().nonzero()[-1]))
            steps += 1
        assert steps == want and c.remaining() == 0 and not c.in_header()


def test_a_batch_steps_through_a_model_runner(gen):
    """Batch needs a ModelRunner and a tokenizer, not the Generator, and gives the Generator's text."""
    params = SamplingParams(max_new_tokens=12, temperature=0.9)
    rows = gen.new_rows(["床", "春"], params, seed=3)
    runner = ModelRunner(gen.checkpoint.model)
    batch = Batch(runner, gen.tokenizer)
    for s in rows:
        batch.add(s)
    while len(batch):
        batch.step()
    assert [s.text for s in rows] == [c.text for c in gen.generate(["床", "春"], params, seed=3)]
    hidden = runner.prime([gen.tokenizer.eos_id, *gen.tokenizer.encode("床前")])
    want = gen.model.init_hidden(1)
    _, want = gen.model(torch.tensor([[gen.tokenizer.eos_id, gen.tokenizer.encode("床")[0]]]), want)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(hidden, want, strict=True))
