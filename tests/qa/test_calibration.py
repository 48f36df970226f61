"""`qa calibrate`'s refit: Platt scaling of the logit behind the score on the user's gold answers."""

from __future__ import annotations

import numpy as np
import pytest

from qa.calibration import CalibrationError, calibrate, inputs_and_labels
from qa.confidence import span_inputs
from qa.evaluation import GoldQuestion
from qa.pipeline import Answerer
from qa.settings import Settings

from .test_pipeline import FixedResolver, ScriptedReader, TopicStore, ZeroEmbedder


def scripted(scores: dict[str, float]) -> Answerer:
    """A pipeline whose reader gives each question's top passage a span "answer0" with the set probability."""
    reader = ScriptedReader({(q, i): (s if i == 0 else 0.0, -5.0) for q, s in scores.items() for i in range(3)})
    settings = Settings(min_relevance=-1.0, early_exit_score=1.0)
    return Answerer(settings, ZeroEmbedder(), TopicStore(), reader, FixedResolver({}))  # type: ignore[arg-type]


def gold_set(right: int, wrong: int, unanswerable: int) -> tuple[dict[str, float], list[GoldQuestion]]:
    """Right answers the reader was unsure of (0.3), wrong ones it was sure of (0.9): an overconfident reader."""
    scores, gold = {}, []
    for i in range(right):
        scores[f"r{i}"] = 0.3
        gold.append(GoldQuestion(f"r{i}", ("answer0",)))
    for i in range(wrong):
        scores[f"w{i}"] = 0.9
        gold.append(GoldQuestion(f"w{i}", ("something else",)))
    for i in range(unanswerable):
        scores[f"u{i}"] = 0.9
        gold.append(GoldQuestion(f"u{i}", ()))  # any answer to it is wrong
    return scores, gold


def test_the_inputs_are_the_span_probability_and_margin_and_unanswerable_questions_count_as_wrong():
    scores, gold = gold_set(2, 1, 1)
    rows, right = inputs_and_labels(scripted(scores), gold)
    # the scripted spans have logit 0 over a "no answer" logit of -5: a margin of 5
    assert rows == pytest.approx(np.array([span_inputs(0.3, 5.0)] * 2 + [span_inputs(0.9, 5.0)] * 2))
    assert right.tolist() == [True, True, False, False]


def test_the_refit_turns_scores_into_how_often_answers_are_right_on_the_gold_set():
    scores, gold = gold_set(12, 4, 4)
    pipeline = scripted(scores)
    refit = calibrate(pipeline, gold, "mine.jsonl")
    assert (refit.questions, refit.right) == (20, 12)
    assert refit.calibration.of == "span_score" and refit.calibration.fitted_on.startswith("mine.jsonl, 20 questions")
    # answers scored 0.3 were all right and those scored 0.9 all wrong: the fit reverses them
    sure, unsure = (refit.calibration.probability(*span_inputs(p, 5.0)) for p in (0.9, 0.3))
    assert unsure > 0.8 > 0.2 > sure
    assert refit.ece_after < refit.ece_before
    pipeline.calibration = refit.calibration
    assert pipeline.answer("r0").score == pytest.approx(unsure, abs=1e-4)


def test_too_few_right_or_wrong_answers_is_a_clear_error():
    scores, gold = gold_set(12, 2, 1)
    with pytest.raises(CalibrationError, match="12 right and 3 wrong best answers"):
        calibrate(scripted(scores), gold, "mine.jsonl")


def test_with_a_verifier_the_refit_is_of_its_logit():
    from qa.verifier import FEATURES, Verifier

    scores, gold = gold_set(6, 3, 3)
    pipeline = scripted(scores)
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("span_score")] = -4.0
    pipeline.verifier = Verifier(weights, 1.0, np.zeros(len(FEATURES)), 5.0)
    refit = calibrate(pipeline, gold, "mine.jsonl")
    assert refit.calibration.of == "verifier"
    rows, _ = inputs_and_labels(pipeline, gold)
    assert rows[:, 0] == pytest.approx([1.0 - 4.0 * 0.3] * 6 + [1.0 - 4.0 * 0.9] * 6) and rows.shape == (12, 1)
    assert refit.calibration.margin_scale == 0.0
