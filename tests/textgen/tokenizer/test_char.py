from __future__ import annotations

import pytest

from textgen.errors import TokenizerError
from textgen.tokenizer import CharTokenizer, tokenizer_from_json


def test_round_trip_newlines_and_full_width_punctuation():
    text = "床前明月光，疑是地上霜。\n举头望明月？低头思故乡！\n「曰：善；」 ……"
    tok = CharTokenizer.train([text])
    assert tok.decode(tok.encode(text)) == text
    assert tokenizer_from_json(tok.to_json()).encode(text) == tok.encode(text)


def test_min_freq_and_unknowns():
    tok = CharTokenizer.train(["明明月", "月光"], min_freq=2)
    assert tok.itos == ["<unk>", "<eos>", "明", "月"]
    with pytest.raises(TokenizerError, match="not in the vocabulary"):
        tok.encode("明光")
    assert tok.encode("明光", unknown="unk") == [2, 0]
    assert tok.encode("明光", unknown="skip") == [2]
    assert tok.decode([2, 0, 1, 3]) == "明\ufffd月"
