"""Two readers in a cascade: the small reader answers, and a larger, accurate one re-reads what it is unsure of.

`QA_READER_MODE` picks: `fast` reads with the small reader only; `accurate` with the accurate reader only
(QA_ACCURATE_READER_MODEL: the MPNet teacher the small reader is distilled from); `auto` reads every question
with the small reader and re-reads with the accurate one the questions whose best span's calibrated score is under
QA_ESCALATE_BELOW (answers it gives; its withheld guesses stay withheld), so most questions cost only the small
reader's pass. Each reader brings
its own rule for when its best span is an answer (`rule.json` beside its weights, chosen on held-out articles like
the small reader's QA_MIN_SCORE and QA_NULL_MARGIN) and its own `calibration.json`: the two readers' scores are
not on one scale.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qa.confidence import IDENTITY, Calibration, configured_calibration

if TYPE_CHECKING:
    from qa.reader import Reader, Span
    from qa.verifier import Verifier

log = logging.getLogger(__name__)

RULE_FILE = "rule.json"


class RuleFileError(ValueError):
    """A reader's `rule.json` that cannot be used."""


@dataclass(frozen=True)
class ReaderRule:
    """When a reader's best span is the answer: it scores at least `min_score` and its logit beats the "no answer"
    logit of its window by at least `null_margin`."""

    min_score: float = 0.05
    null_margin: float = 0.0

    def gives(self, best: Span) -> bool:
        return best.score >= self.min_score and best.logit - best.null_logit >= self.null_margin


@dataclass(frozen=True)
class Reading:
    """A reader with what turns its spans into answers: its rule and its score's calibration. `name` says which
    reader of the cascade it is (`fast` or `accurate`), as answers report it."""

    reader: Reader
    rule: ReaderRule
    calibration: Calibration = IDENTITY
    name: str = "fast"
    verifier: Verifier | None = None  # judges the spans instead of the calibration (the small reader's only)


def load_rule(reader_dir: Path | None, default: ReaderRule) -> ReaderRule:
    """The rule shipped beside a reader (`rule.json`), else `default`."""
    path = reader_dir / RULE_FILE if reader_dir is not None else None
    if path is None or not path.is_file():
        return default
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        rule = ReaderRule(float(raw["min_score"]), float(raw["null_margin"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RuleFileError(f"{path} is not a reader rule (min_score, null_margin): {exc}") from exc
    if not 0.0 <= rule.min_score <= 1.0:
        raise RuleFileError(f"{path}: min_score must lie in [0, 1], not {rule.min_score}")
    return rule


def save_rule(rule: ReaderRule, reader_dir: Path) -> Path:
    path = reader_dir / RULE_FILE
    path.write_text(json.dumps({"min_score": rule.min_score, "null_margin": rule.null_margin}, indent=2) + "\n")
    return path


def accurate_reading(reader: Reader, reader_dir: Path | None) -> Reading:
    """The accurate reader with its own rule (default: any span that beats "no answer") and calibration."""
    rule = load_rule(reader_dir, ReaderRule(min_score=0.0, null_margin=0.0))
    # its own calibration.json only: the user's refit (QA_CALIBRATION) is of the small reader's scores
    calibration = configured_calibration(None, reader_dir, "span_score")
    log.info("accurate reader %s: rule %s, %s", reader.name, rule, "calibrated" if calibration.fitted_on else "raw")
    return Reading(reader, rule, calibration, "accurate")


def uncertain(score: float, given: bool, escalate_below: float) -> bool:
    """Whether the small reader's answer is re-read by the accurate reader: an answer it gives, scored under the
    threshold. Its withheld guesses are not: re-read, the accurate reader answered more of the unanswerable
    questions the small reader had rightly withheld than it recovered answers (docs/experiments.md)."""
    return given and score < escalate_below
