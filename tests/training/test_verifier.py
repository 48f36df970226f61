"""Fitting the answer verifier: rows from the pipeline, the logistic fit, its calibration and the threshold sweep."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.cascade import ReaderRule, load_rule
from qa.verifier import FEATURES, load_verifier
from training.cli import main
from training.verifier import Rows, expected_calibration_error, fit, rule_sweep, sweep

from .test_trainer import tiny_squad


def synthetic_rows(n: int, seed: int) -> Rows:
    """Rows where the first feature (the span score) decides how often the answer is right."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, len(FEATURES)))
    answerable = rng.random(n) < 0.7
    right = answerable & (rng.random(n) < x[:, 0])
    return Rows(x, right, answerable, x[:, 0] > 0.1)


def test_a_fitted_verifier_is_calibrated_on_data_like_its_own():
    verifier = fit(synthetic_rows(4000, 0))
    held = synthetic_rows(2000, 1)
    p = np.array([verifier.calibrate(verifier.logit(x)) for x in held.x])
    assert expected_calibration_error(p, held.right) < 0.05
    assert verifier.weights[0] == max(verifier.weights)  # it learnt which input matters


def test_the_sweep_trades_wrong_abstentions_for_unanswerable_ones_withheld():
    verifier = fit(synthetic_rows(3000, 0))
    table = sweep(verifier, synthetic_rows(1000, 2), [0.1, 0.3, 0.6])
    assert [r["threshold"] for r in table] == [0.1, 0.3, 0.6]
    withheld = [r["unanswerable_withheld"] for r in table]
    wrong = [r["wrong_abstentions"] for r in table]
    assert withheld == sorted(withheld) and wrong == sorted(wrong) and withheld[-1] > withheld[0]


def test_the_rule_sweep_counts_what_each_null_margin_withholds(capsys, tmp_path):
    x = np.zeros((4, len(FEATURES)))
    x[:, FEATURES.index("span_score")] = [0.9, 0.9, 0.05, 0.9]
    x[:, FEATURES.index("null_margin")] = [0.5, 0.1, 0.9, 0.3]  # margins 5, 1, 9 and 3 logits
    rows = Rows(x, np.array([True, False, False, False]), np.array([True, True, True, False]), np.ones(4, bool))
    at_0, at_2, at_6 = rule_sweep(rows, [0.0, 2.0, 6.0], min_score=0.1)
    # at 0 only the low score is withheld: one wrong abstention of 3, the unanswerable one answered
    assert (at_0["wrong_abstentions"], at_0["unanswerable_withheld"], at_0["exact"]) == (33.33, 0.0, 25.0)
    assert (at_2["wrong_abstentions"], at_2["unanswerable_withheld"]) == (66.67, 0.0)
    assert (at_6["wrong_abstentions"], at_6["unanswerable_withheld"], at_6["exact"]) == (100.0, 100.0, 25.0)
    rows.save(tmp_path / "rows.npz")
    assert main(["sweep-rule", str(tmp_path / "rows.npz"), "--margins", "4", "--min-score", "0.1"]) == 0
    assert json.loads(capsys.readouterr().out)["rows.npz"][0]["wrong_abstentions"] == 66.67
    # --out picks the margin that withholds the most unanswerable questions within the wrong abstentions allowed
    reader = tmp_path / "reader"
    reader.mkdir()
    pick = ["sweep-rule", str(tmp_path / "rows.npz"), "--margins", "0", "2", "6", "--min-score", "0.1"]
    assert main([*pick, "--out", str(reader), "--max-wrong-abstentions", "70"]) == 0
    assert json.loads(capsys.readouterr().out)["picked"]["null_margin"] == 0.0  # 2 withholds no more, wrongs more
    assert load_rule(reader, ReaderRule()) == ReaderRule(0.1, 0.0)
    assert main([*pick, "--out", str(reader), "--max-wrong-abstentions", "100"]) == 0
    assert load_rule(reader, ReaderRule()) == ReaderRule(0.1, 6.0)
    assert main([*pick, "--out", str(reader), "--max-wrong-abstentions", "10"]) == 2


def test_fit_verifier_writes_a_verifier_the_service_can_load(tmp_path, capsys):
    train, held = tmp_path / "train.npz", tmp_path / "held.npz"
    synthetic_rows(2000, 0).save(train)
    synthetic_rows(800, 1).save(held)
    out = tmp_path / "verifier.json"
    assert main(["fit-verifier", str(train), "--calibrate", str(held), "--holdout", str(held), "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == 2000 and "held.npz" in report["held_out"]
    verifier = load_verifier(out)
    assert "held.npz" in verifier.calibrated_on and verifier.weights.shape == (len(FEATURES),)


@pytest.mark.slow
def test_verifier_data_asks_the_pipeline_every_question(tmp_path, capsys, private_cache):
    squad = tiny_squad(tmp_path / "squad.json")
    out = tmp_path / "rows.npz"
    assert main(["verifier-data", str(squad), "--out", str(out), "--quiet"]) == 0
    rows = Rows.load([out])
    questions = sum(len(p["qas"]) for p in json.loads(squad.read_text())["data"][0]["paragraphs"])
    assert len(rows.right) == questions and rows.x.shape == (questions, len(FEATURES)) and rows.answerable.all()
    assert rows.right.sum() >= questions / 2  # the shipped reader gets most of the tiny article right
