"""Corpora: fetch, read, clean, split and tokenize into a prepared directory that training reads.

from textgen.data import prepare, load_prepared
pc = prepare("tang")                 # corpus name, corpus dir, text file/folder or prepared dir
train_ids = pc.ids("train")          # memory-mapped token ids, every document ends in <eos>
pc.summary["chars_per_token"]        # {"train": 1.0, "val": 1.0, "test": 1.0} for characters
"""

from textgen.data.prepare import prepare
from textgen.data.store import PreparedCorpus, load_prepared

__all__ = ["PreparedCorpus", "load_prepared", "prepare"]
