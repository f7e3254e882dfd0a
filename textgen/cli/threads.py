"""How many CPU threads a command should give torch when the user does not say.

On a machine shared with other work, OpenMP threads beyond the idle cores wait for each other at
every small operation: measured here, a 2-thread eval ran 10-25x slower than a 1-thread one while
another job held a core, and a tiny training step took 2 s instead of 0.2 s.

    torch.set_num_threads(idle_cores())

    @threads_option            # a command's --threads (0 = idle_cores())
"""

from __future__ import annotations

import os

import click


def idle_cores() -> int:
    """The cores this process may use minus the load other processes put on them (at least 1)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        return cores
    return max(1, min(cores, round(cores - load)))


# --threads of the commands that pick their own default (eval, judges train).
threads_option = click.option(
    "--threads", type=click.IntRange(min=0), default=0, show_default=True,
    help="CPU threads (0 = the cores other work leaves idle)",
)  # fmt: skip
