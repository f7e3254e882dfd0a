"""Tokenizers: characters (default) and SentencePiece, one interface.

from textgen.tokenizer import CharTokenizer, tokenizer_from_json
tok = CharTokenizer.train(["床前明月光"], min_freq=1)
assert tok.decode(tok.encode("明月")) == "明月"
same = tokenizer_from_json(tok.to_json())
"""

from textgen.tokenizer.base import EOS, UNK, Tokenizer, tokenizer_from_json
from textgen.tokenizer.char import CharTokenizer

__all__ = ["EOS", "UNK", "CharTokenizer", "Tokenizer", "tokenizer_from_json"]
