"""The answer verifier's inputs, its calibrated probability and the Platt refit behind `qa calibrate`."""

from __future__ import annotations

import numpy as np
import pytest

from index.chunking import Passage
from qa.reader import Span
from qa.verifier import FEATURES, Verifier, VerifierError, features, fit_platt, load_verifier, named_terms

TEXT = (
    "Tencent signed a memorandum in London. Lau Seng Yee, senior executive vice president of Tencent, said the "
    "pact was of great significance. Blue Planet II amassed 220 million views."
)
PASSAGE = Passage("doc.txt", 0, TEXT, 0, len(TEXT))


def span(text: str, score: float = 0.8, logit: float = 5.0, null: float = -5.0) -> Span:
    start = TEXT.index(text)
    return Span(PASSAGE, start, start + len(text), score, logit, null)


def named(question: str, spans: list[Span]) -> dict[str, float]:
    return dict(zip(FEATURES, features(question, spans), strict=True))


def test_a_question_naming_what_the_answers_sentence_does_not_is_flagged():
    right = named("Who is the senior executive vice president of Tencent?", [span("Lau Seng Yee")])
    swapped = named("Who is the senior executive vice president of the BBC?", [span("Lau Seng Yee")])
    assert right["names_missing_from_sentence"] == 0 and swapped["names_missing_from_sentence"] == 1
    assert swapped["question_words_in_sentence"] < right["question_words_in_sentence"]


def test_the_kind_of_answer_asked_for_is_checked():
    assert named("How many views did Blue Planet II get?", [span("220 million")])["wants_number_gets_none"] == 0
    assert named("How many views did Blue Planet II get?", [span("Tencent")])["wants_number_gets_none"] == 1
    assert named("Who signed the memorandum?", [span("memorandum")])["wants_person_gets_lowercase"] == 1
    assert named("Who signed the memorandum?", [span("Tencent")])["wants_person_gets_lowercase"] == 0


def test_the_readers_own_scores_and_the_lead_over_the_runner_up_are_inputs():
    alone = named("Who said it?", [span("Lau Seng Yee", score=0.7, logit=6.0, null=-2.0)])
    assert alone["span_score"] == 0.7 and alone["lead_over_second"] == 0.7 and alone["null_margin"] == 0.8
    close = named("Who said it?", [span("Lau Seng Yee", score=0.5), span("Tencent", score=0.45)])
    assert close["lead_over_second"] == pytest.approx(0.05)


def test_named_terms_skip_the_first_word_and_keep_numbers():
    assert named_terms("Who visited London in 2018?") == {"london", "2018"}
    assert named_terms("When did it happen?") == set()


def test_the_probability_is_monotonic_in_the_logit_and_calibrated_by_platt(tmp_path):
    verifier = Verifier(np.ones(len(FEATURES)), -3.0, np.zeros(len(FEATURES)), 0.0)
    assert verifier.calibrate(-2) < verifier.calibrate(0) == 0.5 < verifier.calibrate(2)
    shifted = verifier.with_calibration(2.0, 1.0, "mine")
    assert shifted.calibrate(0) == pytest.approx(1 / (1 + np.exp(-1.0)))
    path = tmp_path / "verifier.json"
    path.write_text(shifted.to_json(trained_on=["rows.npz"]))
    again = load_verifier(path)
    assert again.calibrated_on == "mine" and again.calibrate(0.3) == pytest.approx(shifted.calibrate(0.3))
    path.write_text(path.read_text().replace('"span_score"', '"another_feature"'))
    with pytest.raises(VerifierError, match="other features"):
        load_verifier(path)


def test_platt_scaling_recovers_how_often_each_logit_is_right():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, 4000)
    right = rng.random(4000) < 1 / (1 + np.exp(-(0.5 * logits - 1.0)))  # the truth: scale 0.5, shift -1
    scale, shift = fit_platt(logits, right)
    assert scale == pytest.approx(0.5, abs=0.1) and shift == pytest.approx(-1.0, abs=0.15)


def test_the_gate_and_the_score_are_two_judgements():
    gate = np.zeros(len(FEATURES))
    gate[FEATURES.index("names_missing_from_sentence")] = -3.0
    verifier = Verifier(np.zeros(len(FEATURES)), 2.0, gate, 1.0)
    right, answerable = verifier.judge("Who is the senior executive vice president of the BBC?", [span("Lau Seng Yee")])
    assert right == pytest.approx(1 / (1 + np.exp(-2.0))) and answerable == pytest.approx(1 / (1 + np.exp(2.0)))
    _, fits = verifier.judge("Who is the senior executive vice president of Tencent?", [span("Lau Seng Yee")])
    assert fits == pytest.approx(1 / (1 + np.exp(-1.0)))
