"""Score a blind reading: the reader's marks against the round's key, per source.

    python benchmarks/blind/score.py blind/r1/key.json blind/r1/marks.csv
    python benchmarks/blind/score.py blind/r2/key.json blind/r2/marks.md --reader "reader B" --json

Marks: the marks.csv that make_set.py wrote, filled in (comma- or tab-separated), or a markdown table
with the same columns: no, real (real / generated; y / n; 真 / 假 ...), fluency, coherence, relevance
(titled rounds), poeticness, overall (1-5 each), note. Chinese column names work too (编号 真伪 流畅
连贯 切题 诗意 总评 备注). Prints a markdown table for the model card: per source, the share taken
for real and the mean of each mark.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import sys
from pathlib import Path

SCORES = ("fluency", "coherence", "relevance", "poeticness", "overall")
COLUMNS = {
    "no": "no", "#": "no", "编号": "no", "序号": "no", "poem": "no",
    "real": "real", "real?": "real", "source": "real", "真伪": "real", "来源": "real",
    "fluency": "fluency", "流畅": "fluency", "流畅度": "fluency",
    "coherence": "coherence", "连贯": "coherence", "连贯性": "coherence",
    "relevance": "relevance", "切题": "relevance", "扣题": "relevance",
    "poeticness": "poeticness", "诗意": "poeticness",
    "overall": "overall", "总评": "overall", "总体": "overall", "综合": "overall",
    "note": "note", "notes": "note", "备注": "note",
}  # fmt: skip
REAL = {"real", "r", "y", "yes", "1", "true", "t", "真", "是", "人", "古人", "唐人"}
GENERATED = {"generated", "g", "gen", "n", "no", "0", "false", "f", "假", "否", "机", "机器", "生成"}


class MarksError(ValueError):
    pass


def read_marks(text: str) -> dict[int, dict]:
    """{poem number: {"real": bool | None, "fluency": int | None, ...}} from CSV/TSV or a markdown table."""
    rows = [x for x in text.replace("\r\n", "\n").split("\n") if x.strip()]
    if rows and rows[0].lstrip().startswith("|"):
        table = [
            [c.strip() for c in x.strip().strip("|").split("|")] for x in rows if x.lstrip().startswith("|")
        ]
        table = [r for r in table if not all(set(c) <= set("-: ") for c in r)]  # the |---| line
    else:
        dialect = "excel-tab" if "\t" in rows[0] else "excel"
        table = [[c.strip() for c in r] for r in csv.reader(io.StringIO("\n".join(rows)), dialect=dialect)]
    if not table:
        raise MarksError("no marks")
    header = [COLUMNS.get(c.lower().split("(")[0].split("（")[0].strip(), c) for c in table[0]]
    if "no" not in header or "real" not in header:
        raise MarksError(
            f"the first row must name the columns (no, real, {', '.join(SCORES)}), got {table[0]}"
        )
    out: dict[int, dict] = {}
    for line, cells in enumerate(table[1:], 2):
        row = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=False))
        try:
            no = int(row["no"])
        except ValueError:
            raise MarksError(f"row {line}: poem number {row['no']!r} is not a number") from None
        if no in out:
            raise MarksError(f"row {line}: poem {no} is marked twice")
        marks: dict = {"real": _real(row["real"], line)}
        for s in SCORES:
            v = row.get(s, "")
            if not v:
                marks[s] = None
            elif v in ("1", "2", "3", "4", "5"):
                marks[s] = int(v)
            else:
                raise MarksError(f"row {line}: {s} must be 1 to 5, got {v!r}")
        out[no] = marks
    return out


def _real(v: str, line: int) -> bool | None:
    v = v.strip().lower()
    if not v:
        return None
    if v in REAL:
        return True
    if v in GENERATED:
        return False
    raise MarksError(f"row {line}: real must be real or generated (y / n, 真 / 假), got {v!r}")


def score(key: dict, marks: dict[int, dict]) -> dict:
    """Per source: poems, poems marked, taken for real, and the mean of each score."""
    sources = {p["no"]: p["source"] for p in key["poems"]}
    unknown = sorted(set(marks) - set(sources))
    if unknown:
        raise MarksError(f"poems {unknown} are not in the key (it has 1 to {len(sources)})")
    out = {}
    for source in ("real", "generated"):
        nos = [n for n, s in sources.items() if s == source]
        got = [marks[n] for n in nos if n in marks]
        judged = [m["real"] for m in got if m["real"] is not None]
        r = {"poems": len(nos), "marked": len(got), "judged": len(judged), "taken_for_real": sum(judged)}
        r["share_taken_for_real"] = sum(judged) / len(judged) if judged else None
        for s in SCORES:
            xs = [m[s] for m in got if m[s] is not None]
            r[s] = statistics.mean(xs) if xs else None
            r[f"{s}_n"] = len(xs)
        out[source] = r
    right = sum(
        m["real"] == (sources[n] == "real") for n, m in marks.items() if m["real"] is not None
    )  # how often the reader was right
    judged = sum(m["real"] is not None for m in marks.values())
    out["reader_accuracy"] = right / judged if judged else None
    return out


def table(key: dict, result: dict, reader: str | None) -> str:
    r, g, rnd = result["real"], result["generated"], key.get("round", {})
    kind = "titled" if rnd.get("titled") else "untitled"
    params = " ".join(f"{k}={v}" for k, v in rnd.get("params", {}).items()) or "the model's defaults"
    who = f", reader: {reader}" if reader else ""
    lines = [
        f"Blind reading, {kind} round (seed {rnd.get('seed')}, `{rnd.get('checkpoint')}`, {params}{who}):",
        "",
        "| figure | real 绝句 | generated |",
        "|---|---|---|",
        f"| taken for real | {r['taken_for_real']}/{r['judged']} | {g['taken_for_real']}/{g['judged']} |",
    ]
    for s in SCORES:
        if s == "relevance" and not rnd.get("titled") and r[s] is None and g[s] is None:
            continue
        label = {"relevance": "relevance to the title"}.get(s, s) + " (1–5)"
        lines.append(f"| {label} | {_num(r[s])} | {_num(g[s])} |")
    if r["marked"] < r["poems"] or g["marked"] < g["poems"]:
        lines.append(f"| poems marked | {r['marked']}/{r['poems']} | {g['marked']}/{g['poems']} |")
    if result["reader_accuracy"] is not None:
        lines += ["", f"The reader told real from generated {result['reader_accuracy']:.0%} of the time."]
    return "\n".join(lines)


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("key", help="the round's key.json (make_set.py)")
    ap.add_argument("marks", help="the reader's marks: CSV / TSV, or a markdown table")
    ap.add_argument("--reader", default=None, help="who read (shown in the table's heading)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args(argv)
    key = json.loads(Path(args.key).read_text(encoding="utf-8"))
    try:
        result = score(key, read_marks(Path(args.marks).read_text(encoding="utf-8-sig")))
    except MarksError as e:
        sys.exit(f"{args.marks}: {e}")
    if args.json:
        print(
            json.dumps({"round": key.get("round", {}), "reader": args.reader, **result}, ensure_ascii=False)
        )
    else:
        print(table(key, result, args.reader))


if __name__ == "__main__":
    main()
