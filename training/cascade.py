"""Choosing the cascade's escalation threshold (qa/cascade.py, QA_ESCALATE_BELOW) on held-out answers.

Rows of the small reader and of the accurate reader over the same SQuAD file (`qa-train verifier-data` once with
each as QA_READER_MODEL, the accurate one under its own rule) pair up by question. At each threshold a question's
outcome in `auto` mode is the accurate reader's when the small reader gives an answer scored under it, else the
small reader's: what the cascade would give, and how often it would escalate, without running it per threshold.
The rows took early exit under each reader's own rule, as the cascade does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from qa.cascade import ReaderRule, load_rule
from qa.confidence import Calibration, load_calibration, span_inputs
from training.verifier import Rows

THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)


class UnpairedRowsError(ValueError):
    """Rows that do not say which question they are of, so two readers' rows cannot be paired."""


def paired(fast: Rows, accurate: Rows) -> tuple[Rows, Rows]:
    """The rows of the questions both readers read, in one order."""
    if fast.question is None or accurate.question is None:
        raise UnpairedRowsError("rows without question numbers (written before they were kept): collect them again")
    _, in_fast, in_accurate = np.intersect1d(fast.question, accurate.question, return_indices=True)
    return fast.subset(in_fast), accurate.subset(in_accurate)


def under_rule(rows: Rows, rule: ReaderRule) -> Rows:
    """The rows with `reader_answers` as `rule` decides them from each best span's score and margin (rows are
    collected under the service's default rule, before a reader's own is chosen)."""
    given = rows.given_under(rule.min_score, rule.null_margin)
    return Rows(rows.x, rows.right, rows.answerable, given, rows.question)


def calibrated_scores(rows: Rows, calibration: Calibration) -> np.ndarray:
    """Each row's best span scored as the pipeline scores it (the score the cascade escalates on)."""
    pairs = zip(rows.span_scores, rows.null_margins, strict=True)
    return np.array([calibration.probability(*span_inputs(float(s), float(m))) for s, m in pairs])


def outcome(fast: Rows, accurate: Rows, escalated: np.ndarray) -> dict[str, float]:
    """Figures of the answers given when the `escalated` questions take the accurate reader's answer."""
    given = np.where(escalated, accurate.reader_answers, fast.reader_answers)
    right = np.where(escalated, accurate.right, fast.right)
    answerable = fast.answerable
    return {
        "escalated": _pct(escalated.sum(), len(escalated)),
        "wrong_abstentions": _pct((~given & answerable).sum(), answerable.sum()),
        "unanswerable_withheld": _pct((~given & ~answerable).sum(), (~answerable).sum()),
        "answered_exact": _pct((given & right).sum(), given.sum()),
        "exact": _pct((given & right).sum() + (~given & ~answerable).sum(), len(given)),
    }


def sweep(
    fast: Rows, accurate: Rows, calibration: Calibration, thresholds: tuple[float, ...], withheld_too: bool = False
) -> list[dict]:
    """The cascade at each threshold (0: the small reader alone): the answers the small reader gives under it
    re-read, as the pipeline does; `withheld_too`: its withheld guesses also (then 1 is the accurate reader
    alone)."""
    fast, accurate = paired(fast, accurate)
    scores = calibrated_scores(fast, calibration)
    eligible = np.ones(len(scores), bool) if withheld_too else fast.reader_answers
    return [{"escalate_below": t, **outcome(fast, accurate, eligible & (scores < t))} for t in thresholds]


def _pct(part: object, whole: object) -> float:
    return round(100 * float(part) / float(whole), 2) if float(whole) else 0.0  # type: ignore[arg-type]


def sweep_cascade_command(args: argparse.Namespace) -> int:
    """`qa-train sweep-cascade --fast ROWS... --accurate ROWS...`: the cascade per threshold, per pair of files."""
    if len(args.fast) != len(args.accurate):
        print("qa-train sweep-cascade: give as many --accurate rows files as --fast ones", file=sys.stderr)
        return 2
    calibration = load_calibration(args.calibration)
    rule = load_rule(args.accurate_reader, ReaderRule()) if args.accurate_reader else None
    try:
        report = {
            f.name: sweep(
                Rows.load([f]),
                under_rule(Rows.load([a]), rule) if rule else Rows.load([a]),
                calibration,
                tuple(args.thresholds),
                args.withheld_too,
            )
            for f, a in zip(args.fast, args.accurate, strict=True)
        }
    except UnpairedRowsError as exc:
        print(f"qa-train sweep-cascade: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("sweep-cascade", help="what the cascade would give at each escalation threshold, from rows")
    c.add_argument("--fast", type=Path, nargs="+", required=True, help="the small reader's rows (verifier-data)")
    c.add_argument("--accurate", type=Path, nargs="+", required=True, help="the accurate reader's, same files")
    c.add_argument(
        "--calibration", type=Path, default=Path("models/reader/calibration.json"), help="the small reader's"
    )
    c.add_argument("--thresholds", type=float, nargs="+", default=list(THRESHOLDS))
    c.add_argument("--withheld-too", action="store_true", help="also escalate the small reader's withheld guesses")
    c.add_argument(
        "--accurate-reader", type=Path, default=None, help="the accurate reader's directory: its rule.json decides"
    )
    c.set_defaults(func=sweep_cascade_command)
