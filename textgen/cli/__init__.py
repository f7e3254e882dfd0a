"""The `textgen` command line: one click group, each subcommand in its own module, imported only
when used so that `textgen --help` is instant.

    textgen corpus prepare corpora/tang
    textgen train corpora/tang
    textgen sample checkpoints/tang --form wujue --seed 7
    textgen serve tang=checkpoints/tang
"""

from __future__ import annotations

import importlib
import sys

import click

from textgen import __version__
from textgen.errors import TextgenError

# name -> (module, attribute). The order is the order of `textgen --help`.
COMMANDS = {
    "corpus": ("textgen.cli.corpus", "corpus"),
    "train": ("textgen.cli.train", "train"),
    "eval": ("textgen.cli.evaluate", "eval_cmd"),
    "plot": ("textgen.cli.plot", "plot"),
    "sample": ("textgen.cli.sample", "sample"),
    "judge": ("textgen.cli.judge", "judge"),
    "serve": ("textgen.cli.serve", "serve"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._load(name) is not None]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._load(name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as e:
            if e.name == module:  # a command not built yet in this checkout
                return None
            raise


@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="textgen")
def cli() -> None:
    """Train character-level RNN language models on Chinese poetry and lyrics, sample from them,
    and serve them over HTTP.

    \b
    Quick start:
      textgen train corpora/tang              # fetch, prepare, train (CPU: ~30 min)
      textgen sample checkpoints/tang --form wujue --acrostic 春夏秋冬
      textgen serve tang=checkpoints/tang     # POST /generate on :8000
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit status 1, never a traceback."""
    try:
        cli.main(args=argv, prog_name="textgen", standalone_mode=False)
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
