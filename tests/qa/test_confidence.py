"""An answer's score: the span probability calibrated by Platt scaling, which calibration is used, and its file."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from index.chunking import Passage
from qa.confidence import (
    IDENTITY,
    Calibration,
    CalibrationFileError,
    configured_calibration,
    fit_logistic,
    load_calibration,
    save_calibration,
    span_inputs,
    span_logit,
)
from qa.reader import Span

PASSAGE = Passage("doc.txt", 0, "The answer is here.", 0, 19)


def span(score: float, margin: float) -> Span:
    return Span(PASSAGE, 4, 10, score, 2.0, 2.0 - margin)


def test_the_identity_leaves_the_span_probability_as_it_is_and_a_fit_moves_it_monotonically():
    assert [round(IDENTITY.score(span(p, 3.0)), 6) for p in (0.05, 0.5, 0.93)] == [0.05, 0.5, 0.93]
    squeezed = Calibration(0.5, -0.05)
    scores = [squeezed.score(span(p, 3.0)) for p in (0.01, 0.2, 0.5, 0.8, 0.99)]
    assert scores == sorted(scores)  # the order of answers is kept
    assert scores[-1] < 0.99 and scores[0] > 0.01  # an overconfident reader pulled inwards
    assert span_logit(0.0) == pytest.approx(-span_logit(1.0)) and abs(span_logit(1.0)) < 20  # finite at the ends


def test_the_margin_over_no_answer_moves_the_score_and_is_clipped():
    calibration = Calibration(1.0, 0.0, margin_scale=2.0)
    assert calibration.score(span(0.5, 10.0)) > calibration.score(span(0.5, 0.0)) > calibration.score(span(0.5, -10.0))
    assert span_inputs(0.5, 500.0) == span_inputs(0.5, 20.0) == (0.0, 2.0)  # a runaway logit counts as 20


def test_the_logistic_fit_finds_the_weights_that_made_the_labels_and_a_tiny_set_stays_near_the_prior():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 2))
    right = rng.random(20000) < 1 / (1 + np.exp(-(1.5 * x[:, 0] - 2.0 * x[:, 1] + 0.5)))
    assert fit_logistic(x, right, np.array([1.0, 0.0, 0.0])) == pytest.approx([1.5, -2.0, 0.5], abs=0.1)
    one_sided = fit_logistic(np.array([[0.0, 1.0]]), np.array([True]), np.array([1.0, 0.0, 0.0]))
    assert np.all(np.isfinite(one_sided)) and np.abs(one_sided).max() < 20


def test_a_saved_calibration_loads_back_and_old_refits_are_of_the_verifier(tmp_path):
    path = tmp_path / "calibration.json"
    fitted = Calibration(0.7, 0.3, "span_score", "mine.jsonl, 40 questions, 2026-12-07", margin_scale=1.5)
    save_calibration(fitted, path)
    assert load_calibration(path) == fitted
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    (tmp_path / "old.json").write_text(json.dumps({"scale": 2.0, "shift": 0.1, "fitted_on": "gold"}))
    old = load_calibration(tmp_path / "old.json")
    assert old.of == "verifier" and old.margin_scale == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"scale": 1.0}',
        '{"scale": "x", "shift": 0}',
        '{"scale": 1, "shift": 0, "of": "moon"}',
        '{"scale": 1, "shift": 0, "margin_scale": NaN}',
    ],
)
def test_an_unreadable_calibration_file_is_a_clear_error(tmp_path, text):
    path = tmp_path / "calibration.json"
    path.write_text(text)
    with pytest.raises(CalibrationFileError, match="not a readable calibration"):
        load_calibration(path)


def test_the_users_refit_wins_over_the_readers_own_and_a_refit_of_the_other_logit_is_not_used(tmp_path, caplog):
    reader, refit = tmp_path / "reader", tmp_path / "var" / "calibration.json"
    reader.mkdir()
    assert configured_calibration(refit, reader, "span_score") is IDENTITY  # nothing anywhere
    shipped = Calibration(0.5, -0.05, "span_score", "held-out SQuAD")
    save_calibration(shipped, reader / "calibration.json")
    assert configured_calibration(refit, reader, "span_score") == shipped
    assert configured_calibration(refit, reader, "verifier") is IDENTITY  # a verifier carries its own
    mine = Calibration(0.6, 0.9, "span_score", "mine")
    save_calibration(mine, refit)
    assert configured_calibration(refit, reader, "span_score") == mine
    with caplog.at_level(logging.WARNING, logger="qa.confidence"):
        assert configured_calibration(refit, reader, "verifier") is IDENTITY
    assert "run qa calibrate again" in caplog.text
    save_calibration(Calibration(2.0, 0.0, "verifier", "old"), refit)
    assert configured_calibration(refit, reader, "span_score") == shipped


def test_the_service_settings_pick_the_verifiers_refit_or_the_readers_calibration(tmp_path):
    from qa.pipeline import load_configured_calibration, load_configured_verifier
    from qa.settings import Settings
    from qa.verifier import FEATURES, Verifier

    reader, refit, verifier_file = tmp_path / "reader", tmp_path / "refit.json", tmp_path / "verifier.json"
    reader.mkdir()
    shipped = Calibration(0.4, -1.5, "span_score", "held-out", margin_scale=2.0)
    save_calibration(shipped, reader / "calibration.json")
    zeros = np.zeros(len(FEATURES))
    verifier_file.write_text(Verifier(zeros, 0.0, zeros, 0.0, 1.0, 0.0, "").to_json())
    plain = Settings(reader_model=str(reader), calibration=refit)
    assert load_configured_calibration(plain) == shipped
    assert load_configured_calibration(Settings(reader_model="some/hub-model", calibration=refit)) is IDENTITY
    save_calibration(Calibration(3.0, 0.5, "verifier", ""), refit)  # a refit of the verifier's logit
    verified = load_configured_verifier(plain.model_copy(update={"verifier": str(verifier_file)}))
    assert verified is not None and (verified.scale, verified.shift) == (3.0, 0.5)
    assert load_configured_calibration(plain) == shipped  # not of the span probability: left unused
