"""Readers side by side on the sets we report: held-out SQuAD v1.1 and v2.0, and the seed article's gold set.

    python -m bench.compare ~/.cache/qa/readers/minilm-e2 ~/.cache/qa/readers/minilm-distilled models/reader
    python -m bench.compare models/reader --sets gold --precision fp32

Each reader goes through the project's own commands, one process per (reader, set), so every figure is the one
`qa-train eval-reader` or `qa eval` prints and can be re-run alone:
  v1     qa-train eval-reader V1 --exclude-seen TRAIN   (SQuAD v1.1 dev articles the readers were not trained on)
  v2     qa-train eval-reader V2                         (the held-out SQuAD v2.0 articles: has-answer F1, no-answer)
  gold   qa eval GOLD --reader DIR                 (the whole pipeline on the seed article)
A set whose file is missing is skipped with a note (the SQuAD split comes from `qa-train split-squad`, see the model
card). Timings come from a shared machine: compare them within one run only. Prints a markdown table and ends
with one line of JSON holding the same figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.precision import PRECISIONS
from qa.settings import default_cache_dir

ROOT = Path(__file__).resolve().parent.parent
CACHE = default_cache_dir()  # where `qa-train split-squad` wrote the held-out split (QA_CACHE_DIR honoured)
SQUAD = ROOT.parent / "shared" / "data" / "squad"
SETS = ("v1", "v2", "gold")

# One command's JSON result, or the reason there is none.
Runner = Callable[[list[str]], dict[str, Any]]


class EvalFailed(RuntimeError):
    """An evaluation command exited with an error; its last lines of stderr say why."""


@dataclass(frozen=True)
class Files:
    v1: Path
    exclude: Path
    v2: Path
    gold: Path


def commands(qa: str, reader: str, files: Files, precision: str, workdir: Path) -> dict[str, list[str]]:
    """The command line of every set, for one reader."""
    return {
        "v1": [qa, "eval-reader", str(files.v1), "--exclude-seen", str(files.exclude), "--model", reader,
               "--precision", precision],
        "v2": [qa, "eval-reader", str(files.v2), "--model", reader, "--precision", precision],
        "gold": [qa, "eval", str(files.gold), "--reader", reader, "--out", str(workdir), "--quiet"],
    }  # fmt: skip


def missing(files: Files, name: str) -> Path | None:
    """The file set `name` needs that is not there, if any."""
    needed = {"v1": (files.v1, files.exclude), "v2": (files.v2,), "gold": (files.gold,)}[name]
    return next((path for path in needed if not path.exists()), None)


def run_command(argv: list[str]) -> dict[str, Any]:
    """Run one evaluation; its last line of stdout is its JSON result."""
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-3:])
        raise EvalFailed(f"`{' '.join(argv[1:3])}` exited {proc.returncode}: {tail}")
    return json.loads(lines[-1])


def row(name: str, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One reader's figures, flattened under set-prefixed keys (absent sets are left out)."""
    out: dict[str, Any] = {"reader": name}
    wanted = {
        "v1": ("exact_match", "f1", "ms_per_question"),
        "v2": ("has_ans_f1", "no_ans_accuracy", "ms_per_question"),
        "gold": (
            "exact_match",
            "f1",
            "best_span_exact_match",
            "no_answer_accuracy",
            "wrong_abstentions",
            "recall_at_k",
            "p50_ms",
        ),
    }
    for set_name, keys in wanted.items():
        if set_name in results:
            out.update({f"{set_name}_{key}": results[set_name].get(key) for key in keys})
    return out


def _pair(a: Any, b: Any, digits: int = 2) -> str:
    return "—" if a is None else f"{a:.{digits}f} / {b:.{digits}f}"


def _num(value: Any, fmt: str = "{:.1f}") -> str:
    return "—" if value is None else fmt.format(value)


def table(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown: one line per reader."""
    head = (
        "| reader | v1.1 held-out EM / F1 | ms/q | v2.0 has-answer F1 / no-answer % | gold EM / F1 "
        "| gold best span right % | gold unanswerable abstained % | gold wrong abstentions | gold recall@k % "
        "| gold p50 ms |"
    )
    lines = [head, "|" + " --- |" * 10]
    for r in rows:
        cells = [
            r["reader"],
            _pair(r.get("v1_exact_match"), r.get("v1_f1")),
            _num(r.get("v1_ms_per_question")),
            _pair(r.get("v2_has_ans_f1"), r.get("v2_no_ans_accuracy")),
            _pair(r.get("gold_exact_match"), r.get("gold_f1"), 1),
            _num(r.get("gold_best_span_exact_match")),
            _num(r.get("gold_no_answer_accuracy")),
            _num(r.get("gold_wrong_abstentions"), "{}"),
            _num(r.get("gold_recall_at_k")),
            _num(r.get("gold_p50_ms"), "{:.0f}"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare(
    readers: Sequence[str],
    names: Sequence[str],
    sets: Sequence[str],
    files: Files,
    precision: str,
    runner: Runner = run_command,
    qa: str = str(Path(sys.executable).parent / "qa"),
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every reader on every set that can run; returns the rows and the notes on what did not."""
    notes: list[str] = []
    runnable = []
    for name in sets:
        gone = missing(files, name)
        if gone is None:
            runnable.append(name)
        else:
            notes.append(f"set {name} skipped: {gone} does not exist")
    rows = []
    with tempfile.TemporaryDirectory(prefix="qa-compare-") as tmp:
        for reader, name in zip(readers, names, strict=True):
            argvs = commands(qa, reader, files, precision, Path(tmp) / name)
            results: dict[str, dict[str, Any]] = {}
            for set_name in runnable:
                print(f"{name}: {set_name}", file=sys.stderr, flush=True)
                try:
                    results[set_name] = runner(argvs[set_name])
                except EvalFailed as exc:
                    notes.append(f"{name}, set {set_name}: {exc}")
            rows.append(row(name, results))
    return rows, notes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n")[0])
    p.add_argument("readers", nargs="+", help="reader directories (or hub ids)")
    p.add_argument("--names", nargs="+", help="a label per reader (default: the directory's name)")
    p.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    p.add_argument("--precision", choices=PRECISIONS, default="auto", help="reader arithmetic on every set")
    p.add_argument("--v1", type=Path, default=SQUAD / "squad-v1.1-dev-open.json")
    p.add_argument("--exclude-seen", type=Path, default=CACHE / "data" / "squad-v2.0-dev.train.json")
    p.add_argument("--v2", type=Path, default=CACHE / "data" / "squad-v2.0-dev.holdout.json")
    p.add_argument("--gold", type=Path, default=ROOT / "eval" / "seed_gold.jsonl")
    args = p.parse_args(argv)
    if args.names and len(args.names) != len(args.readers):
        p.error(f"--names gives {len(args.names)} labels for {len(args.readers)} readers")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["QA_READER_PRECISION"] = args.precision  # the gold set's pipeline reads it from the settings
    names = args.names or [Path(reader).name or reader for reader in args.readers]
    files = Files(args.v1, args.exclude_seen, args.v2, args.gold)
    rows, notes = compare(args.readers, names, args.sets, files, args.precision)
    print(table(rows))
    for note in notes:
        print(f"note: {note}")
    print(json.dumps({"precision": args.precision, "rows": rows, "notes": notes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
