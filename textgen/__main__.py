"""`python -m textgen ...` is the same as the `textgen` command."""

from textgen.cli import main

main()
