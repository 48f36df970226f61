"""Refitting the score's calibration to a user's own gold answers (`qa calibrate GOLD`).

The shipped calibration was fitted on held-out SQuAD answers; a user's documents and questions differ, and how
often an answer scored 0.8 is right differs with them. Their own gold pairs refit the numbers that map what the
reader said (its span probability and its margin over "no answer", or the verifier's logit when one is
configured) to a probability (`qa.confidence`), so that `score` keeps meaning "how often an answer this sure is
right" on their documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.confidence import Calibration, Of, fit_label, fit_logistic, save_calibration, span_inputs
from qa.evaluation import GoldQuestion
from qa.metrics import best_over_gold, calibration_error
from qa.pipeline import Answerer
from qa.reader import Span
from qa.verifier import features


class CalibrationError(ValueError):
    """Calibration cannot be fitted: too few gold answers of each kind."""


@dataclass(frozen=True)
class Refit:
    calibration: Calibration
    questions: int
    right: int
    ece_before: float
    ece_after: float


def logit_of(answerer: Answerer) -> Of:
    return "verifier" if answerer.verifier is not None else "span_score"


def inputs(answerer: Answerer, question: str, spans: Sequence[Span]) -> tuple[float, ...]:
    """What the score of `spans[0]` is calibrated from: the verifier's logit, or the span's logit and margin."""
    if answerer.verifier is not None:
        return (answerer.verifier.logit(features(question, spans)),)
    return span_inputs(spans[0].score, spans[0].logit - spans[0].null_logit)


def inputs_and_labels(answerer: Answerer, gold: Sequence[GoldQuestion]) -> tuple[np.ndarray, np.ndarray]:
    """The calibration's inputs for each gold question's best span (one row each), and whether that span is
    exactly right (a span to a question the documents do not answer is wrong: the score should be low there too)."""
    questions = [item.question for item in gold]
    retrieved = [answerer.retrieve(q, answerer.settings.top_k) for q in questions]
    rows: list[tuple[float, ...]] = []
    right = []
    for item, spans in zip(gold, answerer.read(questions, retrieved), strict=True):
        if not spans:
            continue
        rows.append(inputs(answerer, item.question, spans))
        right.append(bool(item.answers) and best_over_gold(spans[0].text, item.answers)[0] == 1.0)
    return np.asarray(rows, dtype=np.float64), np.asarray(right, dtype=bool)


def calibrate(answerer: Answerer, gold: Sequence[GoldQuestion], name: str, min_each: int = 5) -> Refit:
    """The calibration refitted on the gold set (at least `min_each` right and wrong best answers)."""
    rows, right = inputs_and_labels(answerer, gold)
    if right.sum() < min_each or (~right).sum() < min_each:
        raise CalibrationError(
            f"the gold set gives {int(right.sum())} right and {int((~right).sum())} wrong best answers; calibration "
            f"needs at least {min_each} of each (add questions, unanswerable ones included)"
        )
    of, on = logit_of(answerer), fit_label(name, len(right))
    if of == "verifier":
        scale, shift = fit_logistic(rows, right, np.array([1.0, 0.0]))
        fitted = Calibration(float(scale), float(shift), of, on)
    else:
        scale, margin_scale, shift = fit_logistic(rows, right, np.array([1.0, 0.0, 0.0]))
        fitted = Calibration(float(scale), float(shift), of, on, float(margin_scale))
    before = [_current(answerer, row) for row in rows]
    after = [fitted.probability(*row) for row in rows]
    return Refit(fitted, len(right), int(right.sum()), _ece(before, right), _ece(after, right))


def _current(answerer: Answerer, row: np.ndarray) -> float:
    if answerer.verifier is not None:
        return answerer.verifier.calibrate(float(row[0]))
    return answerer.calibration.probability(*row)


def _ece(probabilities: Sequence[float], right: np.ndarray) -> float:
    return round(calibration_error(probabilities, right), 4)


def save(refit: Refit, out: Path) -> None:
    save_calibration(refit.calibration, out)
