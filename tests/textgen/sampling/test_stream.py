from textgen.sampling import SamplingParams
from textgen.sampling.stream import TextStream
from textgen.tokenizer import CharTokenizer


def push_all(ts, text, tok):
    out, stopped = "", False
    for i in tok.encode(text):
        delta, stopped = ts.push(i)
        out += delta
        if stopped:
            break
    return out, stopped


def test_stop_string_cuts_cleanly_and_partial_is_held_back():
    tok = CharTokenizer.train(["abcdef。xyz"])
    ts = TextStream(tok, ("cde", "z"))
    seen = []
    for ch in "abcd":
        seen.append(ts.push(tok.encode(ch)[0]))
    # "c" and "cd" could become "cde": held back.
    assert "".join(d for d, _ in seen) == "ab"
    assert ts.push(tok.encode("e")[0]) == ("", True)
    assert ts.text == "ab"


def test_held_back_text_is_released_when_it_cannot_be_a_stop():
    tok = CharTokenizer.train(["abcdef"])
    ts = TextStream(tok, ("cde",))
    out, stopped = push_all(ts, "abcdfa", tok)
    assert not stopped
    assert out + ts.finish() == "abcdfa"


def test_no_stop_streams_every_character():
    tok = CharTokenizer.train(["床前明月光"])
    ts = TextStream(tok)
    assert [ts.push(i)[0] for i in tok.encode("床前明")] == ["床", "前", "明"]


def test_generation_with_stop_strings(gen):
    texts = [gen.generate("春", SamplingParams(max_new_tokens=60), seed=s)[0] for s in range(10)]
    # Stop on a character some of the free runs produced.
    stop = next(c for t in texts for c in t.text[1:] if c.strip())
    for s, free in enumerate(texts):
        c = gen.generate("春", SamplingParams(max_new_tokens=60, stop=(stop,)), seed=s)[0]
        if stop in free.text:
            assert c.finish_reason == "stop"
            assert c.text == free.text[: free.text.index(stop)]
        else:
            assert c.text == free.text


def test_byte_fallback_characters_are_never_split():
    from textgen.tokenizer.spm import SentencePieceTokenizer

    tok = SentencePieceTokenizer.train(
        ["床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"] * 20, vocab_size=300
    )
    text = "明月龘光，鱻。"  # 龘 and 鱻 are not in the training text: UTF-8 byte pieces
    ids = tok.encode(text)
    assert len(ids) > len(text)  # really split into bytes
    ts = TextStream(tok, ("光，鱻",))
    deltas, stopped = [], False
    for i in ids:
        delta, stopped = ts.push(i)
        deltas.append(delta)
        if stopped:
            break
    assert stopped and all("\ufffd" not in d for d in deltas)
    assert "".join(deltas) == "明月龘"  # and the stop string (spanning a byte character) cut cleanly
    ts = TextStream(tok)
    out = "".join(ts.push(i)[0] for i in ids[:-2])  # ends inside 鱻's bytes
    assert "\ufffd" not in out and out + ts.finish() == "明月龘光，"
