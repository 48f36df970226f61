"""The answer verifier: the probability that the reader's best span is the right answer, from what the reader
scored and from how the span's sentence fits the question.

The reader's own scores cannot tell a right answer from the answer to a question that only sounds answerable
("Who is the senior executive vice president of the BBC?" gets "Lau Seng Yee", vice president of Tencent, at
0.78). What gives such questions away is the span's sentence: the question names something ("BBC") that the
sentence does not. A logistic model over the reader's scores and a few such signals, fitted on held-out pipeline
answers (`qa-train fit-verifier`), gives a probability that is calibrated (`qa eval` reports its ECE) and that
`qa calibrate` can refit on a user's own gold answers. Pure NumPy at serving time: a dot product per answer.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qa.confidence import MARGIN_UNIT, fit_logistic, sigmoid, span_inputs
from qa.reader import Span

FORMAT = 1


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# English function words and question words: not evidence that a sentence is about what the question asks
STOPWORDS = _words(
    """
    a about above after again against all am an and any are as at be because been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    him his how i if in into is it its itself just me more most my no nor not now of off on once only or other our
    out over own same she should so some such than that the their them then there these they this those through to
    too under until up very was we were what when where which while who whom why will with would you your called
    name named many much one ones
    """
)
_APOSTROPHES = "'\u2019"
_WORD = re.compile(rf"[\w{_APOSTROPHES}-]+")
# a capitalised word or a number: what a question names
_NAME = re.compile(rf"\b(?:[A-Z][\w{_APOSTROPHES}-]*|\d[\d,.]*)\b")
# a sentence ends at . ! or ? (and a closing quote or bracket) before a space; not at a blank line, since hard-
# wrapped text breaks paragraphs mid-sentence ("co-produced by" / "Tencent Video and ...")
_SENTENCE_END = re.compile("[.!?][\"'\u201d\u2019)]*(?=\\s)")
_NUMBER_WORDS = _words(
    """
    one two three four five six seven eight nine ten eleven twelve hundred thousand million billion trillion dozen
    dozens half once twice first second third
    """
)
_MONTHS = _words(
    """
    january february march april may june july august september october november december spring summer autumn
    winter century decade year years
    """
)
# the null margin feature is the score calibration's margin input (qa.confidence), in the range of the others
NULL_MARGIN_SCALE = MARGIN_UNIT
FEATURES = (
    "span_score",
    "null_margin",
    "lead_over_second",
    "question_words_in_sentence",
    "question_words_in_passage",
    "names_missing_from_sentence",
    "names_missing_from_passage",
    "span_words_in_question",
    "wants_number_gets_none",
    "wants_person_gets_lowercase",
    "span_words_log",
)


def content_words(text: str) -> set[str]:
    return {
        w
        for w in (m.group().lower().strip(_APOSTROPHES + "-") for m in _WORD.finditer(text))
        if w and w not in STOPWORDS
    }


def named_terms(question: str) -> set[str]:
    """What the question names: capitalised words past its first word, and numbers (lowercased)."""
    first = _WORD.search(question)
    skip = first.start() if first else -1
    return {m.group().lower().rstrip(".,") for m in _NAME.finditer(question) if m.start() != skip} - STOPWORDS


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence (or sentences) of `text` holding the span start..end."""
    begin = 0
    for match in _SENTENCE_END.finditer(text, 0, start):
        begin = match.end()
    after = _SENTENCE_END.search(text, end)
    return text[begin : after.end() if after else len(text)]


def _share(words: set[str], within: set[str]) -> float:
    return len(words & within) / len(words) if words else 1.0


def _missing(names: set[str], text: str) -> float:
    lowered = text.lower()
    return float(min(3, sum(1 for name in names if name not in lowered)))


def features(question: str, spans: Sequence[Span]) -> np.ndarray:
    """The verifier's inputs for the best span `spans[0]` (the rest: the runners-up, best first)."""
    best = spans[0]
    second = spans[1].score if len(spans) > 1 else 0.0
    passage = best.passage.text
    sentence = sentence_around(passage, best.start, best.end)
    asked, names = content_words(question), named_terms(question)
    span_words = content_words(best.text)
    lowered = question.lower()
    wants_number = bool(re.search(r"\bhow (?:many|much|long|old|far)\b|\bwhat year\b|\bwhen\b", lowered))
    has_number = bool(re.search(r"\d", best.text)) or bool(span_words & (_NUMBER_WORDS | _MONTHS))
    wants_person = lowered.startswith("who ") or " who " in lowered
    return np.array(
        [
            best.score,
            span_inputs(best.score, best.logit - best.null_logit)[1],
            best.score - second,
            _share(asked - span_words, content_words(sentence)),
            _share(asked - span_words, content_words(passage)),
            _missing(names - span_words, sentence),
            _missing(names - span_words, passage),
            _share(span_words, asked) if span_words else 0.0,
            float(wants_number and not has_number),
            float(wants_person and not any(ch.isupper() for ch in best.text)),
            math.log1p(len(best.text.split())),
        ],
        dtype=np.float64,
    )


@dataclass(frozen=True)
class Verifier:
    """Two logistic models over `features`. One gives P(the best span is right) = sigmoid(w . x + b), then
    calibrated (Platt: sigmoid(scale * logit + shift)), fitted on held-out answers or the user's own
    (`qa calibrate`): that is an answer's `score`. The other, the gate, gives P(the documents answer the question
    at all): an answer under QA_MIN_ANSWERABLE is withheld. Kept apart because a wrong answer to an answerable
    question should lower the score, not be withheld as if the documents did not say."""

    weights: np.ndarray
    bias: float
    gate_weights: np.ndarray
    gate_bias: float
    scale: float = 1.0
    shift: float = 0.0
    calibrated_on: str = ""

    def logit(self, x: np.ndarray) -> float:
        return float(x @ self.weights + self.bias)

    def probability(self, question: str, spans: Sequence[Span]) -> float:
        return self.calibrate(self.logit(features(question, spans)))

    def calibrate(self, logit: float) -> float:
        return sigmoid(self.scale * logit + self.shift)

    def answerable(self, x: np.ndarray) -> float:
        return sigmoid(float(x @ self.gate_weights + self.gate_bias))

    def judge(self, question: str, spans: Sequence[Span]) -> tuple[float, float]:
        """(P(right), P(answerable)) of `spans[0]`, from one computation of the features."""
        x = features(question, spans)
        return self.calibrate(self.logit(x)), self.answerable(x)

    def with_calibration(self, scale: float, shift: float, on: str) -> Verifier:
        return replace(self, scale=scale, shift=shift, calibrated_on=on)

    def to_json(self, **meta: object) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "features": list(FEATURES),
                "weights": [round(float(w), 6) for w in self.weights],
                "bias": round(self.bias, 6),
                "gate": {"weights": [round(float(w), 6) for w in self.gate_weights], "bias": round(self.gate_bias, 6)},
                "calibration": {"scale": self.scale, "shift": self.shift, "fitted_on": self.calibrated_on},
                **meta,
            },
            indent=2,
        )


class VerifierError(ValueError):
    """A verifier file that cannot be used."""


def load_verifier(path: Path) -> Verifier:
    """A verifier saved by `qa-train fit-verifier` (its calibration possibly refitted by `qa calibrate`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "gate" not in data:
            raise ValueError("no gate")
    except (OSError, ValueError) as exc:
        raise VerifierError(f"{path}: not a readable verifier ({exc})") from exc
    if data.get("format") != FORMAT or data.get("features") != list(FEATURES):
        raise VerifierError(f"{path}: made for other features than this version computes; refit it")
    calibration, gate = data.get("calibration", {}), data["gate"]
    return Verifier(
        np.asarray(data["weights"], dtype=np.float64),
        float(data["bias"]),
        np.asarray(gate["weights"], dtype=np.float64),
        float(gate["bias"]),
        float(calibration.get("scale", 1.0)),
        float(calibration.get("shift", 0.0)),
        str(calibration.get("fitted_on", "")),
    )


def fit_platt(logits: np.ndarray, right: np.ndarray) -> tuple[float, float]:
    """The (scale, shift) that make sigmoid(scale * logit + shift) best predict `right` (lightly regularised
    towards the identity, so that a small or one-sided gold set cannot push it to infinity)."""
    scale, shift = fit_logistic(logits[:, None], right, np.array([1.0, 0.0]))
    return float(scale), float(shift)
