"""The `textgen` command line: one click group, each subcommand in its own module, imported only
when used so that `textgen --help` is instant.

    textgen corpus prepare corpora/tang
    textgen train corpora/tang
    textgen sample tang --form wujue --seed 7        # a shipped model, by name
    textgen serve                                    # every shipped model over HTTP
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from textgen import __version__
from textgen.errors import TextgenError

# textgen asks pypinyin about one character at a time: its 47k-phrase dictionary (no one-character
# entries, so the same readings) and its defensive copy of the character table only cost start-up
# (0.36 -> 0.08 s to import on an idle machine). Set before anything imports pypinyin.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")

# name -> (module, attribute, one-line help). The order is the order of `textgen --help`, which
# shows these lines without importing the modules (some import torch, which takes seconds).
COMMANDS = {
    "corpus": ("textgen.cli.corpus", "corpus", "Fetch, prepare and inspect corpora."),
    "train": ("textgen.cli.train", "train", "Train a language model on a corpus or any UTF-8 text."),
    "eval": ("textgen.cli.evaluate", "eval_cmd", "Loss, perplexity and bits per character of a checkpoint."),
    "plot": ("textgen.cli.plot", "plot", "Draw the loss curves of one or more runs."),
    "sample": ("textgen.cli.sample", "sample", "Generate text: prompts, seeds, forms, acrostics, rhyme."),
    "judge": ("textgen.cli.judge", "judge", "Score generated poems: form, rhyme, copying, diversity."),
    "judges": ("textgen.cli.judges", "judges", "Train the learned judges that score the line-level search."),
    "tunes": ("textgen.cli.tunes", "tunes", "List the 词牌 (ci tunes) for --tune, with their patterns."),
    "export": ("textgen.cli.export", "export", "Write a run's best checkpoint as a compact, named model."),
    "serve": ("textgen.cli.serve", "serve", "Serve checkpoints over HTTP (/generate, OpenAI API)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, _, help_) in COMMANDS.items()])


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="textgen")
def cli() -> None:
    """Train character-level RNN language models on Chinese poetry and lyrics, sample from them,
    and serve them over HTTP.

    \b
    Quick start:
      textgen sample tang --form qijue --acrostic 春夏秋冬   # shipped model: tang, songci, lyrics
      textgen train corpora/tang              # fetch, prepare, train into runs/tang (CPU: ~30 min)
      textgen sample runs/tang --form wujue
      textgen serve                           # shipped models; POST /generate on :8000
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit status 1, never a traceback."""
    try:
        rc = cli.main(args=argv, prog_name="textgen", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except TextgenError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    if isinstance(rc, int) and not isinstance(rc, bool) and rc:  # a command's ctx.exit(code)
        sys.exit(rc)
