"""An answer's `score`: the calibrated probability that it is right.

The reader's span probability ranks answers well but does not mean what it says (answers it scores 0.9 are right
less often than 9 times in 10 on held-out SQuAD articles; on the seed article its low-scored answers are mostly
right). A logistic map makes it a probability: sigmoid(scale * logit + margin_scale * margin + shift), where the
logit is the span probability's own (log p / (1 - p)) and the margin is how far the span's logit beats the
reader's "no answer" (Platt scaling with one more input: how sure the reader is that there is an answer at all
says something the span probability does not). With a verifier, its logit alone. Three numbers at most, so that
a user's few gold pairs can refit them (`qa calibrate`). The shipped ones are fitted on held-out SQuAD answers
(`qa-train fit-calibration`) and lie beside the reader as `calibration.json`; a refit (QA_CALIBRATION) wins over
them. Only the score changes: whether an answer is given is still the reader's rule.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from qa.reader import Span

log = logging.getLogger(__name__)

CALIBRATION_FILE = "calibration.json"
# the margin input is the logit margin over "no answer", clipped to +-MARGIN_CLIP and divided by MARGIN_UNIT
MARGIN_CLIP = 20.0
MARGIN_UNIT = 10.0
# what a calibration's logit is of: the reader's span probability, or the verifier's right-or-wrong logit
Of = Literal["span_score", "verifier"]


class CalibrationFileError(ValueError):
    """A calibration file that cannot be used."""


@dataclass(frozen=True)
class Calibration:
    """sigmoid(scale * logit + margin_scale * margin + shift); the identity on the span probability when scale is
    1 and the rest 0."""

    scale: float = 1.0
    shift: float = 0.0
    of: Of = "span_score"
    fitted_on: str = ""
    margin_scale: float = 0.0

    def probability(self, logit: float, margin: float = 0.0) -> float:
        return sigmoid(self.scale * logit + self.margin_scale * margin + self.shift)

    def score(self, span: Span) -> float:
        """The calibrated probability that `span` is the right answer."""
        return self.probability(*span_inputs(span.score, span.logit - span.null_logit))

    def to_json(self) -> str:
        record = {
            "scale": self.scale,
            "margin_scale": self.margin_scale,
            "shift": self.shift,
            "of": self.of,
            "fitted_on": self.fitted_on,
        }
        return json.dumps(record, indent=2) + "\n"


IDENTITY = Calibration()


def span_logit(score: float) -> float:
    """log(p / (1 - p)) of a span probability, clipped away from 0 and 1 so that it stays finite."""
    p = min(1.0 - 1e-6, max(1e-6, score))
    return math.log(p / (1.0 - p))


def span_inputs(score: float, margin: float) -> tuple[float, float]:
    """The calibration's inputs for a span: its probability's logit, and its margin over "no answer" (scaled)."""
    return span_logit(score), max(-MARGIN_CLIP, min(MARGIN_CLIP, margin)) / MARGIN_UNIT


def fit_logistic(x: np.ndarray, right: np.ndarray, prior: np.ndarray, iterations: int = 50) -> np.ndarray:
    """The weights w (the last one a bias) making sigmoid([x, 1] . w) best predict `right`: Newton's method on the
    log loss, pulled lightly towards `prior` so that a small or one-sided gold set cannot push it to infinity."""
    design = np.column_stack([x, np.ones(len(x))])
    w, y = prior.astype(np.float64).copy(), right.astype(np.float64)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -50, 50)))
        gradient = design.T @ (p - y) + 0.01 * (w - prior)
        hessian = (design * (p * (1 - p))[:, None]).T @ design + 0.01 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def sigmoid(z: float) -> float:
    """1 / (1 + e^-z), with z clipped so that it never overflows."""
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def fit_label(name: str, questions: int) -> str:
    """What a calibration was fitted on, as its file says: "gold.jsonl, 70 questions, 2026-12-07"."""
    return f"{name}, {questions} questions, {datetime.now(UTC).date().isoformat()}"


def load_calibration(path: Path) -> Calibration:
    """A calibration written by `qa calibrate` or `qa-train fit-calibration`. Files written before calibrations
    said what they were of were all of the verifier's logit."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        scale, shift = float(data["scale"]), float(data["shift"])
        margin_scale = float(data.get("margin_scale", 0.0))
        of = data.get("of", "verifier")
        if of not in ("span_score", "verifier"):
            raise ValueError(f"of {of!r}: neither span_score nor verifier")
        if not all(math.isfinite(v) for v in (scale, shift, margin_scale)):
            raise ValueError("scale, margin_scale and shift must be finite numbers")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CalibrationFileError(f"{path}: not a readable calibration ({exc})") from exc
    return Calibration(scale, shift, of, str(data.get("fitted_on", "")), margin_scale)


def save_calibration(calibration: Calibration, path: Path) -> None:
    """Written whole or not at all: to a temporary file, then renamed over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(calibration.to_json(), encoding="utf-8")
    tmp.replace(path)


def configured_calibration(refit: Path | None, reader_dir: Path | None, of: Of) -> Calibration:
    """The calibration answers are scored with: the user's refit (`refit`, QA_CALIBRATION; None: none) when of the
    same logit as the pipeline computes, else the reader's own `calibration.json` (for the span score; a
    verifier carries its own), else the identity. A refit of the other logit is left unused, with a warning,
    since its numbers would be wrong for this one."""
    if refit is not None and refit.exists():
        calibration = load_calibration(refit)
        if calibration.of == of:
            log.info("scores calibrated by %s (fitted on %s)", refit, calibration.fitted_on or "unknown")
            return calibration
        log.warning(
            "%s was fitted on the %s's logit, but answers are now scored by the %s's: not used (run qa calibrate "
            "again)",
            refit,
            _name(calibration.of),
            _name(of),
        )
    shipped = reader_dir / CALIBRATION_FILE if reader_dir is not None else None
    if of == "span_score" and shipped is not None and shipped.exists():
        calibration = load_calibration(shipped)
        if calibration.of == "span_score":
            return calibration
    return IDENTITY


def _name(of: Of) -> str:
    return "reader" if of == "span_score" else "verifier"
