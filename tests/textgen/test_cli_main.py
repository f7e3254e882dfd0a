import os
import subprocess
import sys

import click
import pytest

from textgen.cli import COMMANDS, cli


def test_every_listed_command_resolves_to_its_module():
    for name in COMMANDS:
        cmd = cli.get_command(click.Context(cli), name)
        assert isinstance(cmd, click.Command) and cmd.name == name


def test_top_level_help_lists_commands_without_importing_torch():
    code = "import sys; from textgen.cli import main; main(['--help'])"
    out = subprocess.run([sys.executable, "-c", code + "\n"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for name in COMMANDS:
        assert f"  {name} " in out.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom textgen.cli import main\ntry:\n    main(['--help'])\n"
         "except SystemExit:\n    pass\nprint('torch' in sys.modules)"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert probe.stdout.strip().endswith("False")


@pytest.mark.slow  # a fresh interpreter loads and samples the shipped model
def test_sample_start_up_skips_pypinyins_phrase_dictionary():
    # Its 47k phrases have no one-character entry, and textgen only asks about single characters:
    # loading it would cost start-up time and change no reading.
    from pypinyin import phrases_dict

    assert not any(len(k) == 1 for k in phrases_dict.phrases_dict)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYPINYIN_")}
    code = ("import sys\nfrom textgen.cli import main\nmain(['sample', 'tang', '--form', 'wujue', '--seed', '1'])\n"
            "print('pypinyin' in sys.modules, 'pypinyin.phrases_dict' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "True False"
