"""Every command's --help has examples, and every example parses as printed (the options exist,
the values are valid, the quoting is what a user types: `\\n` shows as backslash-n)."""

import shlex

import click
import pytest

from textgen.cli import COMMANDS, cli, main


def _commands():
    ctx = click.Context(cli)
    for name in COMMANDS:
        cmd = cli.get_command(ctx, name)
        yield [name]
        if isinstance(cmd, click.Group):
            yield from ([name, sub] for sub in cmd.list_commands(ctx))


def _help(path, capsys) -> str:
    try:
        main([*path, "--help"])
    except SystemExit as e:
        assert e.code == 0
    return capsys.readouterr().out


def examples(help_text: str) -> list[list[str]]:
    """The `textgen ...` command lines of a help text's examples section, as argv lists."""
    lines = help_text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower().endswith("examples):")
                 or line.strip().lower() == "examples:")  # fmt: skip
    out = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        for part in line.split("|"):
            words = shlex.split(part, comments=True)
            while words and "=" in words[0] and not words[0].startswith("-"):
                words = words[1:]  # VAR=value before the command
            if ">" in words:
                words = words[: words.index(">")]
            if words and words[0] == "textgen":
                out.append(words[1:])
    return out


def _parse(argv: list[str]) -> None:
    """Parse argv the way `textgen` would, without running the command."""
    cmd, ctx = cli, None
    while isinstance(cmd, click.Group):
        ctx = click.Context(cmd, parent=ctx, info_name=cmd.name)
        cmd, argv = cmd.get_command(ctx, argv[0]), argv[1:]
        assert cmd is not None
    cmd.make_context(cmd.name, list(argv), parent=ctx)


@pytest.mark.parametrize("path", list(_commands()), ids=" ".join)
def test_every_command_has_examples_that_parse_as_printed(path, capsys):
    text = _help(path, capsys)
    found = examples(text)
    assert found, f"textgen {' '.join(path)} --help shows no example"
    for argv in found:
        _parse(argv)


def test_sample_help_shows_a_typed_newline_as_backslash_n(capsys):
    text = _help(["sample"], capsys)
    assert "--prompt '浣溪沙\\n'" in text
    prompts = [a[a.index("--prompt") + 1] for a in examples(text) if "--prompt" in a]
    assert "浣溪沙\\n" in prompts and not any("\n" in p for p in prompts)


@pytest.mark.slow
def test_sample_examples_run_as_printed(capsys):
    text = _help(["sample"], capsys)
    for argv in examples(text):
        main([*argv, "--seed", "1"] if "--seed" not in argv else argv)
        assert capsys.readouterr().out.strip()
