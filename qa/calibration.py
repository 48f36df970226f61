"""Refitting the verifier's calibration to a user's own gold answers (`qa calibrate GOLD`).

The shipped calibration was fitted on held-out SQuAD answers; a user's documents and questions differ. Their own
gold pairs refit the two numbers that map the verifier's logit to a probability (Platt scaling), so that `score`
keeps meaning "how often an answer this sure is right" on their documents.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from qa.evaluation import GoldQuestion
from qa.metrics import best_over_gold, calibration_error
from qa.pipeline import Answerer
from qa.verifier import Verifier, features, fit_platt


class CalibrationError(ValueError):
    """Calibration cannot be fitted: no verifier, or too few gold answers of each kind."""


@dataclass(frozen=True)
class Calibration:
    scale: float
    shift: float
    questions: int
    right: int
    ece_before: float
    ece_after: float


def logits_and_labels(answerer: Answerer, gold: Sequence[GoldQuestion]) -> tuple[np.ndarray, np.ndarray]:
    """The verifier's logit of each gold question's best span, and whether that span is exactly right."""
    verifier = _verifier(answerer)
    logits, right = [], []
    for item in gold:
        passages = answerer.retrieve(item.question, answerer.settings.top_k)
        spans = answerer.read([item.question], [passages])[0]
        if not spans:
            continue
        logits.append(verifier.logit(features(item.question, spans)))
        right.append(bool(item.answers) and best_over_gold(spans[0].text, item.answers)[0] == 1.0)
    return np.asarray(logits), np.asarray(right, dtype=bool)


def calibrate(answerer: Answerer, gold: Sequence[GoldQuestion], min_each: int = 5) -> Calibration:
    """Platt scaling of the verifier's logits on the gold set (at least `min_each` right and wrong answers)."""
    verifier = _verifier(answerer)
    logits, right = logits_and_labels(answerer, gold)
    if right.sum() < min_each or (~right).sum() < min_each:
        raise CalibrationError(
            f"the gold set gives {int(right.sum())} right and {int((~right).sum())} wrong best answers; calibration "
            f"needs at least {min_each} of each (add questions, unanswerable ones included)"
        )
    scale, shift = fit_platt(logits, right)
    before = [verifier.calibrate(x) for x in logits]
    after = [verifier.with_calibration(scale, shift, "").calibrate(x) for x in logits]
    return Calibration(scale, shift, len(right), int(right.sum()), _ece(before, right), _ece(after, right))


def _ece(probabilities: Sequence[float], right: np.ndarray) -> float:
    return round(calibration_error(probabilities, right), 4)


def save(calibration: Calibration, gold: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fitted_on = f"{gold.name}, {calibration.questions} questions, {datetime.now(UTC).date().isoformat()}"
    record = {"scale": calibration.scale, "shift": calibration.shift, "fitted_on": fitted_on}
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out)


def _verifier(answerer: Answerer) -> Verifier:
    if answerer.verifier is None:
        raise CalibrationError(
            "this reader has no verifier (verifier.json beside it, or QA_VERIFIER): there is nothing to calibrate"
        )
    return answerer.verifier
