"""Header lines: the metadata lines a document opens with, one field per line, and how a request
fills them in.

A corpus manifest's read.header is a template of one field per line: tang's "{form}\\n{title}",
songci's "{rhythmic}" (the 词牌). A model trained on such documents reads those lines as conditions.
`header_plan` turns what a request knows (some fields' values) into the context primed before the
row, plus the lines the row itself must write first: an open field is written by the model (Chinese
characters, then a newline), and any later known line or the prompt is forced after it. Nothing
here knows a field by name except the title's bounds (check_title).

    template_fields("{form}\\n{title}")                 # ["form", "title"]
    render_header("{form}\\n{title}", {"form": "五绝", "title": "春晓"})   # "五绝\\n春晓"
    plan = header_plan(["form", "title"], {"form": "五绝", "title": None})
    plan.context, plan.lines                           # "五绝\\n", [None]  (the model writes the title)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textgen.errors import ConfigError

MAX_TITLE = 30  # characters in a title (request field and a model-written title line alike)


@dataclass
class HeaderPlan:
    context: str  # header lines given up front, primed before the prompt (each ends in "\n")
    lines: list[str | None] = field(default_factory=list)  # then: None = the model writes it; str = forced


def template_fields(template: str) -> list[str]:
    """The field of each header line of a read.header template: ["form", "title"] for
    "{form}\\n{title}"; [] when there is none (or a line is not exactly one field)."""
    out = []
    for line in template.split("\n") if template else []:
        if not (line.startswith("{") and line.endswith("}") and line.count("{") == 1):
            return []
        out.append(line[1:-1])
    return out


def template_lines(template: str) -> int:
    """How many header lines the template puts before each document's body."""
    return len(template.split("\n")) if template else 0


def render_header(template: str, values: dict) -> str | None:
    """A document's header lines: each template line filled from `values` and stripped; None when a
    field is missing or a line comes out empty (such a document has no header to learn from)."""
    lines = []
    for part in template.split("\n"):
        try:
            line = part.format_map(values).strip()
        except (KeyError, IndexError, ValueError):
            return None
        if not line:
            return None
        lines.append(line)
    return "\n".join(lines)


def header_plan(fields: list[str], values: dict[str, str | None]) -> HeaderPlan | None:
    """None when the request fixes no header field (the model then writes its header itself, if it
    learned one). Fields after the first open one are forced after the model has written it."""
    if not any(values.get(f) for f in fields):
        return None
    given: list[str] = []
    i = 0
    while i < len(fields) and values.get(fields[i]):
        given.append(values[fields[i]])
        i += 1
    return HeaderPlan("".join(f"{v}\n" for v in given), [values.get(f) or None for f in fields[i:]])


def check_title(title: object) -> None:
    """ConfigError unless the title is None or 1 to MAX_TITLE characters on one line."""
    if title is None:
        return
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE or "\n" in title:
        raise ConfigError(f"title must be 1 to {MAX_TITLE} characters on one line, got {title!r}")
