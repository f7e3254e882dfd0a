"""Rebuild textgen/poetry/data/tunes.json, the 词牌 table, from the songci corpus (train split).

    python scripts/build_tunes.py                 # prepares songci if needed (npm pack, cached)
    python scripts/build_tunes.py --check         # exit 1 if the shipped table differs from a rebuild

The table is a pure function of the prepared corpus and textgen.poetry.tunes (see its docstring for
how patterns are mined); tests/textgen/poetry/test_tunes.py checks that a rebuild reproduces it.
"""

from __future__ import annotations

import argparse
import json
import sys

from textgen.poetry.tunes import DATA_FILE, build_table, table_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="songci", help="A corpus name or prepared directory.")
    ap.add_argument("--check", action="store_true", help="Compare with the shipped table; write nothing.")
    args = ap.parse_args()
    from textgen.data.prepare import prepare

    pc = prepare(args.corpus, progress=False)
    text = table_json(build_table(pc.documents("train")), source=f"{pc.name} train split")
    if args.check:
        same = DATA_FILE.is_file() and DATA_FILE.read_text(encoding="utf-8") == text
        print("tunes.json is up to date" if same else "tunes.json differs from a rebuild")
        sys.exit(0 if same else 1)
    DATA_FILE.parent.mkdir(parents=True, exist_ok=True)
    DATA_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {DATA_FILE} ({len(json.loads(text)['tunes'])} tunes)")


if __name__ == "__main__":
    main()
