"""The official SQuAD metrics (answer normalisation, exact match and token F1, best over gold answers), and the
calibration error of confidence scores."""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and articles, squeeze whitespace (as the official scripts do)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction: str, gold: str) -> float:
    """Token-overlap F1; as in the v2.0 script, two empty answers match and one empty scores 0."""
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def best_over_gold(prediction: str, golds: Iterable[str]) -> tuple[float, float]:
    """(EM, F1) of a prediction against its best gold answer; no gold answers means 'no answer'."""
    golds = list(golds) or [""]
    return max(exact_match(prediction, g) for g in golds), max(f1(prediction, g) for g in golds)


def squad_scores(predictions: dict[str, str], gold: dict[str, list[str]]) -> dict[str, float]:
    """EM and F1 in percent over every gold question, with has-answer / no-answer breakdowns."""
    totals = {"all": [0.0, 0.0, 0], "has": [0.0, 0.0, 0], "no": [0.0, 0.0, 0]}
    for qid, answers in gold.items():
        em, f = best_over_gold(predictions.get(qid, ""), answers)
        for key in ("all", "has" if answers else "no"):
            totals[key][0] += em
            totals[key][1] += f
            totals[key][2] += 1

    def pct(value: float, count: float) -> float:
        return round(100.0 * value / count, 2) if count else 0.0

    result = {
        "exact_match": pct(totals["all"][0], totals["all"][2]),
        "f1": pct(totals["all"][1], totals["all"][2]),
        "questions": totals["all"][2],
    }
    if totals["no"][2]:
        result |= {
            "has_ans_exact_match": pct(totals["has"][0], totals["has"][2]),
            "has_ans_f1": pct(totals["has"][1], totals["has"][2]),
            "no_ans_accuracy": pct(totals["no"][0], totals["no"][2]),
            "has_ans_questions": totals["has"][2],
            "no_ans_questions": totals["no"][2],
        }
    return result


def calibration_error(confidences: ArrayLike, right: ArrayLike, buckets: int = 10) -> float:
    """Expected calibration error: over equal-width confidence buckets, |sum of confidences - sum right| summed and
    divided by the count; 0 when answers scored 0.8 are right 8 times in 10, and so on."""
    p, hit = np.asarray(confidences, dtype=np.float64), np.asarray(right, dtype=np.float64)
    if not len(p):
        return 0.0
    which = np.minimum((p * buckets).astype(int), buckets - 1)
    return float(sum(abs(p[which == b].sum() - hit[which == b].sum()) for b in np.unique(which)) / len(p))
