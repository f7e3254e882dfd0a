"""Generation: sampling parameters, the Generator engine and its continuous batches.

from textgen.sampling import Generator, SamplingParams
gen = Generator.from_checkpoint("tang")
[c] = gen.generate("春", SamplingParams(form="wujue", rhyme=True), seed=7)
print(c.text, c.finish_reason)
"""

from textgen.sampling.batch import Batch
from textgen.sampling.generator import Generator
from textgen.sampling.params import Completion, SamplingParams
from textgen.sampling.sequence import Sequence

__all__ = ["Batch", "Completion", "Generator", "SamplingParams", "Sequence"]
