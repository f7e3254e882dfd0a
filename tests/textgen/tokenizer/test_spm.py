from __future__ import annotations

import random

import pytest

from textgen.errors import ConfigError, TokenizerError
from textgen.tokenizer import tokenizer_from_json
from textgen.tokenizer.spm import SentencePieceTokenizer

CHARS = "山水花月风云江湖天地春秋日夜明光霜故乡思举头望低床前疑是上"


def _docs(n: int = 200, seed: int = 0) -> list[str]:
    rng = random.Random(seed)

    def half() -> str:
        return "".join(rng.choice(CHARS) for _ in range(5))

    return ["\n".join(half() + "，" + half() + "。" for _ in range(rng.randint(2, 4))) for _ in range(n)]


@pytest.fixture(scope="module", params=["unigram", "bpe"])
def tok(request):
    return SentencePieceTokenizer.train(_docs(), vocab_size=400, model_type=request.param)


def test_special_ids_and_round_trip(tok):
    assert tok.kind == "sentencepiece" and tok.unk_id == 0 and tok.eos_id == 1
    assert tok.id_to_piece(0) == "<unk>" and tok.id_to_piece(1) == "<eos>"
    for text in [
        "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。",
        "天青色 等烟雨\n\n  而我在等你",
        "Hello, 世界! 😀\n",
    ]:
        ids = tok.encode(text)
        assert tok.decode(ids) == text  # byte fallback: any text, exactly
        assert tok.unknown_chars(text) == []
    assert tok.decode([*tok.encode("明月"), tok.eos_id]) == "明月"
    assert tok.decode([tok.unk_id]) == "\ufffd"


def test_pieces_merge_characters(tok):
    docs = _docs(50, seed=1)
    n_chars = sum(len(d) for d in docs)
    n_tokens = sum(len(tok.encode(d)) for d in docs)
    assert n_tokens < n_chars  # a 400-piece model on 30 characters must merge some
    assert "\n" in {tok.id_to_piece(i) for i in tok.encode("明月\n光")}


def test_json_round_trip_is_self_contained(tok):
    again = tokenizer_from_json(tok.to_json())
    assert isinstance(again, SentencePieceTokenizer) and again.vocab_size == tok.vocab_size
    text = "床前明月光，\n疑是地上霜。"
    assert again.encode(text) == tok.encode(text) and again.model_type == tok.model_type


def test_bad_inputs():
    with pytest.raises(ConfigError, match="too small"):
        SentencePieceTokenizer.train(_docs(), vocab_size=100)
    with pytest.raises(ConfigError, match="model-type"):
        SentencePieceTokenizer.train(_docs(), vocab_size=400, model_type="wordpiece")
    with pytest.raises(TokenizerError, match="base64"):
        SentencePieceTokenizer.from_dict({"kind": "sentencepiece", "model": "%%%"})


def test_small_vocab_lowers_coverage_and_falls_back_to_bytes():
    rng = random.Random(0)
    many = [chr(0x4E00 + i) for i in range(400)]
    docs = ["".join(rng.choice(many[:40]) for _ in range(60)) for _ in range(200)]
    docs.append("".join(many[40:]))  # 360 characters seen once: 3% of the text
    tok = SentencePieceTokenizer.train(docs, vocab_size=500)
    assert 0.98 <= tok.character_coverage < 1.0 and tok.vocab_size <= 500
    rare = many[-1]
    assert len(tok.encode(rare)) == 3 and tok.decode(tok.encode(rare)) == rare  # its UTF-8 bytes
    with pytest.raises(ConfigError, match="--vocab-size 300 is too small for this text's characters"):
        SentencePieceTokenizer.train(["".join(many)], vocab_size=300)
