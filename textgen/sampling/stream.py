"""Turning generated ids into text that is safe to show: whole characters, no partial stop string.

    ts = TextStream(tokenizer, stop=("。",))
    for i in ids:
        delta, stopped = ts.push(i)      # delta: text now safe to emit (maybe "")
    rest = ts.finish()                   # at the end: whatever was held back (if it is whole)

Ids are re-decoded from a moving offset (TGI's prefix/read offsets) and text is released only when
it does not end in U+FFFD, so a SentencePiece byte-fallback character split over several tokens
is never shown half-done (nanochat's rule). Text that could still grow into a stop string is held
back until it cannot; when a stop string appears the text ends just before it.
"""

from __future__ import annotations

from textgen.tokenizer import Tokenizer

REPLACEMENT = "\ufffd"


class TextStream:
    def __init__(self, tokenizer: Tokenizer, stop: tuple[str, ...] = ()):
        self.tokenizer = tokenizer
        self.stop = tuple(stop)
        self.ids: list[int] = []
        self.text = ""  # decoded whole characters so far
        self.emitted = 0  # len of text already released
        self._prefix = 0
        self._read = 0
        self._max_stop = max((len(s) for s in self.stop), default=0)
        # A character tokenizer's ids are whole characters: no re-decoding needed.
        self._whole = tokenizer.kind == "char"

    def push(self, token_id: int) -> tuple[str, bool]:
        """Add one generated id; return (text safe to emit now, whether a stop string appeared)."""
        self.ids.append(token_id)
        if self._whole:
            self.text += self.tokenizer.decode([token_id])
            self._prefix = self._read = len(self.ids)
        else:
            self.text += self._decode_new()
        if self.stop:
            cut = self._find_stop()
            if cut is not None:
                self.text = self.text[:cut]
                return self._release(len(self.text)), True
            return self._release(len(self.text) - self._partial_stop_len()), False
        return self._release(len(self.text)), False

    def finish(self) -> str:
        """The held-back text at the end (a dangling broken character is dropped)."""
        tail = self.tokenizer.decode(self.ids[self._prefix :])
        done = self.tokenizer.decode(self.ids[self._prefix : self._read])
        if len(tail) > len(done):
            self.text += tail[len(done) :].rstrip(REPLACEMENT)
            self._read = self._prefix = len(self.ids)
        return self._release(len(self.text))

    def _decode_new(self) -> str:
        done = self.tokenizer.decode(self.ids[self._prefix : self._read])
        new = self.tokenizer.decode(self.ids[self._prefix :])
        if len(new) > len(done) and not new.endswith(REPLACEMENT):
            self._prefix, self._read = self._read, len(self.ids)
            return new[len(done) :]
        return ""

    def _find_stop(self) -> int | None:
        # Earlier text was already checked, so only look where a new stop could start.
        start = max(0, self.emitted - self._max_stop)
        hits = [i for s in self.stop if (i := self.text.find(s, start)) >= 0]
        return min(hits) if hits else None

    def _partial_stop_len(self) -> int:
        """Length of the longest end of the unreleased text that begins some stop string."""
        pending = len(self.text) - self.emitted
        for k in range(min(pending, self._max_stop - 1), 0, -1):
            end = self.text[-k:]
            if any(s.startswith(end) for s in self.stop):
                return k
        return 0

    def _release(self, upto: int) -> str:
        if upto <= self.emitted:
            return ""
        out = self.text[self.emitted : upto]
        self.emitted = upto
        return out
