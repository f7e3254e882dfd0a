"""What a row's constraint is to the engine: per-step masks over the vocabulary and their state.

Two kinds implement it: PoemConstraint (constraints.py: a form's slots, acrostic, rhyme, tones) and
Guided (guided.py: header lines the row writes or is given, then a PoemConstraint or free text,
with degeneration guards). Sequence, Batch and the CLI read a constraint only through this protocol.

    c.allowed()            # (V,) bool: the tokens allowed next, never empty
    c.advance(token_id)    # after the row chose one
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Constraint(Protocol):
    """One row's constraint state. A kind without header lines answers the header questions
    trivially (writes_title and prompt_in_text False, in_header() and writing_hidden() False)."""

    writes_title: bool  # the row's text opens with a title line it writes
    prompt_in_text: bool  # the prompt is forced after header lines the row writes (so its text holds it)

    @property
    def done(self) -> bool:
        """Nothing is left to write (only a form ends)."""
        ...

    def allowed(self, tones: bool | None = None) -> torch.Tensor:
        """The tokens allowed next ((V,) bool, never empty); tones=False ignores 平仄."""
        ...

    def advance(self, token_id: int) -> None:
        """Record the token the row chose."""
        ...

    def forced(self) -> bool:
        """Whether the next token is fixed (the model's logits for it are not needed)."""
        ...

    def remaining(self) -> int:
        """Tokens still to write, a form's closing <eos> included (0 for free text)."""
        ...

    def feed_prompt(self, ids: list[int], prompt: str) -> None:
        """Walk the prompt up front; ConfigError when it cannot start such a text."""
        ...

    def in_header(self) -> bool:
        """The next token belongs to a header line (or the prompt forced after one): it does not
        count against max_new_tokens."""
        ...

    def writing_hidden(self) -> bool:
        """The next token belongs to a hidden header line (the keyword plan): never in the text."""
        ...
