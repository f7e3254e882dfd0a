import torch

from textgen.checkpoint import load_checkpoint, save_checkpoint
from textgen.model import RNNLM, ModelConfig
from textgen.tokenizer import CharTokenizer, tokenizer_from_json


def test_char_tokenizer_round_trip_keeps_newlines_and_fullwidth_punctuation():
    text = "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"
    tok = CharTokenizer.train([text])
    assert tok.decode(tok.encode(text)) == text
    assert tokenizer_from_json(tok.to_json()).encode(text) == tok.encode(text)


def test_checkpoint_round_trip_tied_and_untied(tmp_path):
    tok = CharTokenizer.train(["春眠不觉晓"])
    idx = torch.tensor([[2, 3, 4]])
    for tie in (False, True):
        model = RNNLM(
            ModelConfig(vocab_size=tok.vocab_size, hidden_size=16, n_embd=8, tie_weights=tie)
        ).eval()
        save_checkpoint(tmp_path / "best.safetensors", model, tok, {"corpus": "测试"})
        ckpt = load_checkpoint(tmp_path)
        assert ckpt.meta.corpus.name == "测试"  # the oldest form: a name for the corpus
        assert torch.equal(model(idx)[0], ckpt.model(idx)[0])


def test_checkpoint_files_are_readable_by_others(tmp_path):
    # A container's non-root user must be able to read a mounted checkpoint.
    tok = CharTokenizer.train(["春眠不觉晓"])
    save_checkpoint(
        tmp_path / "best.safetensors",
        RNNLM(ModelConfig(vocab_size=tok.vocab_size, hidden_size=8, n_embd=8)),
        tok,
    )
    assert (tmp_path / "best.safetensors").stat().st_mode & 0o044 == 0o044
