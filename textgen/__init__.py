"""textgen: character-level recurrent language models for Chinese poetry and lyrics.

from textgen import Generator, SamplingParams
gen = Generator.from_checkpoint("tang")
print(gen.generate("床前", SamplingParams(max_new_tokens=24), seed=1)[0].text)
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # Lazy so `import textgen` stays cheap (no torch) for the CLI's --help and the data tools.
    if name == "Generator":
        from textgen.sampling.generator import Generator

        return Generator
    if name == "SamplingParams":
        from textgen.sampling.params import SamplingParams

        return SamplingParams
    raise AttributeError(name)
