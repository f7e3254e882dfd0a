"""The generation engine: a loaded checkpoint, sequences, and a continuously batched step loop.

    gen = Generator.from_checkpoint("tang")
    gen.generate("床前", SamplingParams(max_new_tokens=24), seed=1)[0].text

    # continuous batching (the HTTP service drives this from a worker thread)
    batch = gen.new_batch()
    batch.add(gen.new_sequence("春", SamplingParams(form="wujue"), seed=7))
    while len(batch):
        for seq, text in batch.step():       # one forward step for every row
            print(text, end="")

A row is primed on <eos> + prompt (the model learned <eos> between poems, so the prompt reads as the
start of one), then every step feeds each row its last token and samples the next with the row's
own torch.Generator: a row's text depends on its prompt, params and seed, not its neighbours (up
to floating-point differences of batched matrix products, which only matter at exact ties).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import torch

from textgen.checkpoint import Checkpoint, load_checkpoint
from textgen.errors import ConfigError, TokenizerError
from textgen.poetry.forms import FormSpec
from textgen.poetry.rhyme import default_scheme
from textgen.sampling.batch import Batch, SamplingPlan, choose
from textgen.sampling.constraints import PoemConstraint
from textgen.sampling.device import check_device
from textgen.sampling.guided import Guided, HeaderPlan, header_plan
from textgen.sampling.params import LIBRARY, Completion, Limits, SamplingParams, SamplingRequest
from textgen.sampling.protocol import Constraint
from textgen.sampling.runner import ModelRunner
from textgen.sampling.sequence import Sequence
from textgen.sampling.vocab import VocabIndex

log = logging.getLogger("textgen.sampling")
ON_UNKNOWN = ("error", "skip")


class Generator:
    """A checkpoint loaded for generation. Build with Generator.from_checkpoint(path)."""

    def __init__(self, checkpoint: Checkpoint, *, layout: str = "couplet", quantize: str | bool | None = None,
                 fast: bool | None = None, onednn: bool = False):  # fmt: skip
        self.checkpoint = checkpoint
        self.tokenizer = checkpoint.tokenizer
        # The model and how it steps (speed options: see ModelRunner).
        self.runner = ModelRunner(checkpoint.model, quantize=quantize, fast=fast, onednn=onednn)
        self.model, self.device, self.quantize = self.runner.model, self.runner.device, self.runner.quantize
        # Identifies what produces the text: quantized weights give other text than exact ones, so a
        # shared cache must not mix them.
        self.digest = checkpoint.digest + (f"+{self.quantize}" if self.quantize else "")
        self.layout = layout  # how forms lay out lines: "couplet" (corpus layout) or "line"
        p = checkpoint.path
        self.name = (p.parent.name if p.stem in ("best", "last", "model") else p.stem) if p else "model"
        self._index: VocabIndex | None = None
        # The metadata lines the model learned to read first (tang: form, title; songci: the tune).
        self.header_fields = checkpoint.meta.header_fields
        # Rhyme and tones by 平水韵 for classical corpora, by 中华新韵 for lyrics (params may override).
        self.rhyme_scheme = default_scheme(checkpoint.meta.corpus.name or None)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu", **kwargs) -> Generator:
        return cls(load_checkpoint(path, device=check_device(device)), **kwargs)

    @property
    def index(self) -> VocabIndex:
        if self._index is None:
            self._index = VocabIndex(self.tokenizer, self.device)
        return self._index

    # The model's steps are the runner's (kept here for callers of the Generator).
    def forward_step(self, idx: torch.Tensor, hidden, rows: torch.Tensor | None = None):
        return self.runner.forward_step(idx, hidden, rows)

    def forward(self, idx: torch.Tensor, hidden):
        return self.runner.forward(idx, hidden)

    def backend(self):
        return self.runner.backend()

    def new_sequence(self, prompt: str = "", params: SamplingParams | None = None, seed: int | None = None,
                     on_unknown: str = "error") -> Sequence:  # fmt: skip
        """One row for one prompt: new_rows(prompt, params, n=1, seed=seed)[0]."""
        return self.new_rows(prompt, params, n=1, seed=seed, on_unknown=on_unknown)[0]

    def new_rows(self, prompts: str | list[str] = "", params: SamplingParams | None = None, *, n: int = 1,
                 seed: int | None = None, on_unknown: str = "error") -> list[Sequence]:  # fmt: skip
        """The one way from a request to rows (generate() and the CLI come here; the service calls
        its two halves, prepare() and rows(), with a cache lookup between them): n rows per prompt,
        prompt-major, row r seeded with seed + r. No model work; ConfigError / TokenizerError."""
        return self.rows(self.prepare(SamplingRequest(prompts, params, n, seed), on_unknown=on_unknown))

    def prepare(
        self, request: SamplingRequest, *, limits: Limits = LIBRARY, on_unknown: str = "error"
    ) -> Prepared:
        """Check a request once (within `limits`, and against what this model can do) and encode
        each prompt once; ConfigError / TokenizerError naming what is wrong."""
        if on_unknown not in ON_UNKNOWN:
            raise ConfigError(f"on_unknown must be 'error' or 'skip', got {on_unknown!r}")
        if request.given is not None:  # the model's generation defaults for what the caller left unset
            given = {k: getattr(request.params, k) for k in request.given}
            request = dataclasses.replace(request, params=self.default_params(**given), given=None)
        spec = request.validate(limits, self.layout)
        params = request.params
        if params.title is not None and "title" not in self.header_fields:
            raise ConfigError("this model was not trained with titles: leave out title (--title)")
        if params.keywords is not None and "keywords" not in self.header_fields:
            raise ConfigError("this model was not trained with keyword plans: leave out keywords")
        if limits.tune_header and params.tune is not None and "rhythmic" not in self.header_fields:
            raise ConfigError("this model was not trained with tunes (词牌): leave out tune")
        ids, skipped = [], []
        for prompt in request.prompts:
            unknown = self.tokenizer.unknown_chars(prompt)
            if unknown and on_unknown == "error":
                shown = "".join(unknown[:20]) + ("…" if len(unknown) > 20 else "")
                raise TokenizerError(
                    f"prompt has {len(unknown)} character(s) not in the vocabulary: {shown!r}"
                )
            if unknown:
                log.warning("skipped %d unknown prompt character(s): %r", len(unknown), "".join(unknown))
            ids.append(self.tokenizer.encode(prompt, unknown="skip"))
            skipped.append(unknown)
        seed = secrets.randbits(32) if request.seed is None else request.seed
        return Prepared(request, spec, ids, skipped, seed)

    def rows(self, prepared: Prepared) -> list[Sequence]:
        """The rows of a prepared request (each with its own constraint state), not yet in a batch."""
        request, spec, rows = prepared.request, prepared.spec, []
        params = request.params
        for prompt, ids, skipped in zip(request.prompts, prepared.ids, prepared.skipped, strict=True):
            for _ in range(request.n):  # a constraint is each row's own state
                constraint, context = self._constraint(params, ids, prompt, spec)
                if isinstance(constraint, Guided) and constraint.items:
                    row_ids = context  # the row writes a header line first; the prompt is forced after it
                else:
                    row_ids = context + ids  # every header line is known: primed with the prompt
                seed = prepared.seed + len(rows)
                seq = Sequence(
                    self.tokenizer, prompt, row_ids, params, seed, constraint, skipped, self.device
                )
                if "keywords" in self.header_fields:
                    seq.keywords = self.keyword_plan(params)  # None: the row writes its own plan
                rows.append(seq)
        return rows

    @property
    def planner(self):
        """The keyword planner shipped beside the model (keywords.json), or None."""
        if not hasattr(self, "_planner"):
            self._planner = None
            p = self.checkpoint.path
            f = p.parent / "keywords.json" if p else None
            if f is not None and f.is_file():
                from textgen.data.keywords import KeywordPlanner

                try:
                    self._planner = KeywordPlanner.load(f)
                except (OSError, ValueError) as e:
                    raise ConfigError(f"{f}: cannot read the keyword planner ({e})") from e
        return self._planner

    def keyword_plan(self, params: SamplingParams) -> str | None:
        """The keyword line for a request: its own keywords, else planned from its title by the
        model's planner; None leaves the plan to the model (it writes the line itself)."""
        from textgen.data.keywords import keyword_line, parse_keywords

        if params.keywords:
            return keyword_line(parse_keywords(params.keywords))
        if params.title and self.planner is not None:
            words = self.planner.plan(params.title)
            return keyword_line(words) if words else None
        return None

    def _header(
        self, params: SamplingParams, spec, prompt: str = ""
    ) -> tuple[list[int], list[list[int] | None], list[bool]]:
        """(context ids, header lines the row writes, which of them are hidden) for the model's
        header fields. A prompt opens the poem's body: header lines the request leaves open are
        written by the row before it. A prompt with a line per header field (songci's '浣溪沙\\n')
        is read as its own header. The keyword plan is a hidden line: never part of the text."""
        from textgen.data.clean import form_name

        values = {"form": form_name(list(spec.line_lengths)) if spec else None, "title": params.title}
        if "keywords" in self.header_fields:
            values["keywords"] = self.keyword_plan(params)
        if spec is not None and spec.is_tune:  # songci opens each ci with its tune (词牌) line
            values.update(form=None, rhythmic=spec.name)
        body = bool(prompt) and prompt.count("\n") < len(self.header_fields)
        if "form" in self.header_fields and not values["form"] and (body or params.title):
            values["form"] = _implied_form(prompt)  # a form line the model would otherwise make up
        plan = header_plan(self.header_fields, values) if self.header_fields else None
        if plan is None and (body or "keywords" in self.header_fields):
            # The row writes its header lines first; with a plan line, even for free text, so that
            # the plan (and a form line the row makes up) stays out of the text.
            plan = HeaderPlan("", [None] * len(self.header_fields))
        if plan is None:
            return [], [], []
        enc = self.tokenizer.encode
        unknown = self.tokenizer.unknown_chars(plan.context + "".join(x or "" for x in plan.lines))
        if unknown:
            raise TokenizerError(
                f"the header (form, title) has character(s) not in the vocabulary: {''.join(unknown)!r}"
            )
        fields = self.header_fields[len(self.header_fields) - len(plan.lines) :]
        hidden = [f in ("keywords", "form") for f in fields]  # the text shows the title and the body
        return enc(plan.context), [None if x is None else enc(x + "\n") for x in plan.lines], hidden

    def _constraint(
        self, params: SamplingParams, ids: list[int], prompt: str, spec: FormSpec | None
    ) -> tuple[Constraint | None, list[int]]:
        """(constraint or None, header context ids to prime before the prompt); `spec`: the form the
        request asks for (SamplingRequest.validate)."""
        context, lines, hidden = self._header(params, spec, prompt)
        if spec is None and not lines:
            return None, context
        inner = None if spec is None else self._poem_constraint(spec, params)
        if not lines and not params.guards and inner is not None:
            inner.feed_prompt(ids, prompt)
            c = inner
        else:
            c = Guided(inner, self.index, lines=lines, guards=params.guards, hidden=hidden)
            c.feed_prompt(ids, prompt)
        # max_new_tokens is the poem's budget: a title line the row writes (up to MAX_TITLE characters,
        # budgeted on its own) and the prompt forced after it are not counted. Exact: a form's closing
        # <eos> is not a generated token either (a 五绝 in couplet layout takes 25).
        need = inner.remaining() - 1 if inner is not None else 0
        if need > params.max_new_tokens:
            after = " after the prompt" if ids else ""
            raise ConfigError(
                f"max_new_tokens={params.max_new_tokens} is too few for form {spec.name}: "
                f"it needs {need}{after}"  # the service names its own field (max_tokens on /v1)
            )
        return c, context

    def _poem_constraint(self, spec, params: SamplingParams) -> PoemConstraint:
        return PoemConstraint(spec, acrostic=params.acrostic, rhyme=params.rhyme, index=self.index,
                              tones=params.tones, scheme=params.rhyme_scheme or self.rhyme_scheme)  # fmt: skip

    def new_batch(self) -> Batch:
        return Batch(self.runner, self.tokenizer)

    def generate(self, prompts: str | list[str] = "", params: SamplingParams | None = None, *, n: int = 1,
                 seed: int | None = None, on_unknown: str = "error") -> list[Completion]:  # fmt: skip
        """Complete every prompt n times; row r (prompt-major) uses seed + r. Rows that search
        (forms and tunes, by default where the model's generation.json says so) are searched one
        by one; the others share one batch. params=None: the model's generation defaults."""
        params = params if params is not None else self.default_params()
        seqs = self.new_rows(prompts, params, n=n, seed=seed, on_unknown=on_unknown)
        out = {id(s): s for s in seqs}
        batch = self.new_batch()
        for s in seqs:
            if self.searches(s):
                out[id(s)] = self.search(s)
            else:
                batch.add(s)
        while len(batch):
            batch.step()
        return [out[id(s)].completion() for s in seqs]

    # -- generation defaults and line-level search ---------------------------------------------
    @property
    def defaults(self) -> dict:
        """The model's own generation settings (generation.json beside its weights, like a Hugging
        Face model's generation_config.json): SamplingParams fields a request leaves unset."""
        if not hasattr(self, "_defaults"):
            self._defaults = load_generation_defaults(self.checkpoint.path)
        return self._defaults

    def default_params(self, **given) -> SamplingParams:
        """SamplingParams from the model's defaults, then `given` (what a caller set) on top. A
        default rhyme applies where lines are known (a form, an acrostic or a tune)."""
        d = {**self.defaults, **given}
        if "rhyme" not in given and not (d.get("form") or d.get("acrostic") or d.get("tune")):
            d.pop("rhyme", None)
        return SamplingParams(**d)

    def searches(self, seq: Sequence) -> bool:
        """Whether a row is written by line-level search: its params say so, or (search unset) the
        model's defaults; only a form or a tune has lines to search over."""
        on = seq.params.search
        if on is None:
            on = bool(self.defaults.get("search", False))
        inner = seq.constraint.inner if isinstance(seq.constraint, Guided) else seq.constraint
        return bool(on) and inner is not None and seq.params.temperature > 0

    @property
    def judges(self):
        """The learned judges shipped beside the model (textgen.judges), or None."""
        if not hasattr(self, "_judges"):
            from textgen.judges import Judges

            p = self.checkpoint.path
            self._judges = Judges.load(p.parent) if p is not None else None
        return self._judges

    def search(self, seq: Sequence) -> Sequence:
        """Write the row by line-level search (textgen.sampling.search): afterwards `seq` itself
        holds the chosen poem, finished (so a caller keyed on the row object finds it)."""
        from textgen.sampling.search import search_sequence

        best = search_sequence(self, seq, judges=self.judges, planner=self.planner)
        if best is not seq:
            seq.__dict__.update(best.__dict__)
        return seq

    def choose(
        self, logits: torch.Tensor, seqs: list[Sequence], plan: SamplingPlan | None = None
    ) -> torch.Tensor:
        """Apply every row's processors and constraints to (B, V) logits and draw one token per row
        (batch.choose). `plan`: the rows' SamplingPlan when the caller keeps one, else built here."""
        return choose(logits, seqs, plan or SamplingPlan(seqs, logits.device), self.tokenizer)


def load_generation_defaults(path: Path | None) -> dict:
    """generation.json beside a checkpoint: {field: value} for SamplingParams fields; {} if absent.
    A file that is not such an object is an error naming the file."""
    import json

    f = path.parent / "generation.json" if path is not None else None
    if f is None or not f.is_file():
        return {}
    try:
        d = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"{f}: not valid JSON ({e})") from e
    known = {x.name for x in dataclasses.fields(SamplingParams)}
    if not isinstance(d, dict) or set(d) - known - {"_comment", "_measured"}:
        extra = sorted(set(d) - known) if isinstance(d, dict) else []
        raise ConfigError(f"{f}: must be an object of SamplingParams fields (unknown: {extra})")
    d = {k: v for k, v in d.items() if k in known}
    try:
        SamplingParams(**{k: v for k, v in d.items() if k != "rhyme"}).validate()
    except ConfigError as e:
        raise ConfigError(f"{f}: {e}") from e
    return d


@dataclass
class Prepared:
    """A request checked and encoded once (Generator.prepare): what rows() builds rows from."""

    request: SamplingRequest
    spec: FormSpec | None
    ids: list[list[int]]  # each prompt's token ids
    skipped: list[list[str]]  # each prompt's characters not in the vocabulary
    seed: int  # the first row's seed (drawn when the request gave none)

    @property
    def prompt_tokens(self) -> int:
        return sum(len(x) for x in self.ids)


def _implied_form(prompt: str) -> str:
    """The form line for a prompt or title given without a form (form lines are a closed set the
    model does not reliably write unprompted): the 律 of the prompt's first verse line, 五言 unless
    that line shows 7 characters (or 4, 6: 四言, 六言; other lengths: 杂言)."""
    parts = re.split(r"[，。？！；：、,.!?;:\n]", prompt.strip(), maxsplit=1)
    n, done = len(parts[0]), len(parts) > 1  # done: the line ended on punctuation
    if done:
        return {4: "四言", 5: "五律", 6: "六言", 7: "七律"}.get(n, "杂言")
    return "五律" if n <= 5 else "七律" if n <= 7 else "杂言"  # a line still being written
