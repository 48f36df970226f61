"""Fitting the shipped score calibration (`qa-train fit-calibration`): the logistic map of the reader's span
probability and "no answer" margin (`qa.confidence`) fitted on the answers the pipeline gives to held-out SQuAD
articles (rows from `qa-train verifier-data`), written beside the reader as `calibration.json`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from qa.confidence import Calibration, fit_label, fit_logistic, save_calibration, span_logit
from qa.metrics import calibration_error
from qa.verifier import FEATURES
from training.verifier import Rows


class CalibrationDataError(ValueError):
    """Rows that cannot fit a calibration: too few answers right or wrong."""


def answered(rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    """The calibration's inputs (span logit, margin) of the answers the pipeline gives (not withheld), and whether
    each is exactly right: the score is the probability that an answer given is right."""
    given = rows.reader_answers
    scores = rows.x[given, FEATURES.index("span_score")]
    margins = rows.x[given, FEATURES.index("null_margin")]  # already the calibration's margin input
    return np.column_stack([[span_logit(float(s)) for s in scores], margins]), rows.right[given]


def fit_calibration(rows: Rows, name: str, min_each: int = 20) -> Calibration:
    inputs, right = answered(rows)
    if right.sum() < min_each or (~right).sum() < min_each:
        raise CalibrationDataError(
            f"{int(right.sum())} right and {int((~right).sum())} wrong answers; at least {min_each} of each needed"
        )
    scale, margin_scale, shift = fit_logistic(inputs, right, np.array([1.0, 0.0, 0.0]))
    return Calibration(float(scale), float(shift), "span_score", fit_label(name, len(right)), float(margin_scale))


def ece(calibration: Calibration, rows: Rows) -> dict[str, float]:
    """The calibration error of the answers given, raw span probability against calibrated score."""
    inputs, right = answered(rows)
    raw = 1.0 / (1.0 + np.exp(-inputs[:, 0])) if len(inputs) else np.zeros(0)
    calibrated = [calibration.probability(float(x), float(m)) for x, m in inputs]
    return {
        "answers": len(right),
        "right": round(float(right.mean()), 4) if len(right) else 0.0,
        "ece_raw": round(calibration_error(raw, right), 4),
        "ece_calibrated": round(calibration_error(calibrated, right), 4),
    }


def fit_calibration_command(args: argparse.Namespace) -> int:
    """`qa-train fit-calibration ROWS... --out calibration.json [--test ROWS...]`."""

    def load(paths: list[Path]) -> Rows:
        rows = Rows.load(paths)
        if args.rule_of is None:
            return rows
        from qa.cascade import ReaderRule, load_rule
        from training.cascade import under_rule

        return under_rule(rows, load_rule(args.rule_of, ReaderRule()))  # the answers the reader's own rule gives

    rows = load(args.rows)
    try:
        calibration = fit_calibration(rows, " + ".join(p.name for p in args.rows))
    except CalibrationDataError as exc:
        print(f"qa-train fit-calibration: {exc}", file=sys.stderr)
        return 2
    save_calibration(calibration, args.out)
    report = {path.name: ece(calibration, load([path])) for path in args.test}
    if len(args.test) > 1:
        report["all"] = ece(calibration, load(args.test))
    weights = {"scale": calibration.scale, "margin_scale": calibration.margin_scale, "shift": calibration.shift}
    print(json.dumps({"out": str(args.out), **weights, "test": report}))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("fit-calibration", help="fit the score's calibration on held-out rows from verifier-data")
    c.add_argument("rows", type=Path, nargs="+", help="rows of held-out articles, read with the reader it is for")
    c.add_argument("--out", type=Path, required=True, help="the calibration file (a reader's calibration.json)")
    c.add_argument("--test", type=Path, nargs="*", default=[], help="rows to report the calibration error on")
    c.add_argument("--rule-of", type=Path, default=None, help="a reader directory whose rule.json decides the answers")
    c.set_defaults(func=fit_calibration_command)
