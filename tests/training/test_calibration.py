"""`qa-train fit-calibration`: the shipped score calibration, fitted on held-out rows."""

from __future__ import annotations

import json

import numpy as np

from qa.confidence import load_calibration, span_logit
from qa.verifier import FEATURES
from training.calibration import answered, ece, fit_calibration
from training.cli import main
from training.verifier import Rows


def overconfident_rows(n: int, seed: int) -> Rows:
    """Answers right with probability 0.1 + 0.6 * span score: a reader too sure of its confident answers and not
    sure enough of its unsure ones. Those it withholds (scored under 0.1) are all marked right, to show they
    do not count."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, len(FEATURES)))
    x[:, FEATURES.index("span_score")] = score = rng.uniform(0.02, 0.99, n)
    right = rng.random(n) < 0.1 + 0.6 * score
    right[score < 0.1] = True  # withheld below: right or not, they must not count
    return Rows(x, right, np.ones(n, bool), score >= 0.1)


def test_only_the_answers_given_count_and_the_fit_calibrates_them_on_rows_like_its_own():
    rows = overconfident_rows(4000, 0)
    _, right = answered(rows)
    assert len(right) == int(rows.reader_answers.sum()) < 4000
    calibration = fit_calibration(rows, "train")
    report = ece(calibration, overconfident_rows(3000, 1))
    assert report["ece_calibrated"] < 0.03 < report["ece_raw"]
    assert calibration.of == "span_score" and calibration.probability(span_logit(0.95), 0.0) < 0.95


def test_the_command_writes_a_calibration_the_service_loads_and_reports_on_test_rows(tmp_path, capsys):
    train, test, out = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "reader" / "calibration.json"
    overconfident_rows(2000, 0).save(train)
    overconfident_rows(1000, 1).save(test)
    assert main(["fit-calibration", str(train), "--out", str(out), "--test", str(test), str(train)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["test"]) == {"a.npz", "b.npz", "all"}
    assert report["test"]["b.npz"]["ece_calibrated"] < report["test"]["b.npz"]["ece_raw"]
    assert load_calibration(out).fitted_on.startswith("a.npz, ")


def test_rows_with_too_few_wrong_answers_fit_nothing(tmp_path, capsys):
    rows = overconfident_rows(200, 0)
    rows.right[:] = True
    rows.save(tmp_path / "rows.npz")
    out = tmp_path / "calibration.json"
    assert main(["fit-calibration", str(tmp_path / "rows.npz"), "--out", str(out)]) == 2
    assert "0 wrong answers" in capsys.readouterr().err and not out.exists()


def test_a_readers_own_rule_decides_which_answers_the_calibration_is_fitted_on(tmp_path, capsys):
    from qa.cascade import ReaderRule, save_rule

    train, out, reader = tmp_path / "a.npz", tmp_path / "calibration.json", tmp_path / "reader"
    overconfident_rows(2000, 0).save(train)
    reader.mkdir()
    save_rule(ReaderRule(min_score=0.5, null_margin=-50.0), reader)
    assert main(["fit-calibration", str(train), "--out", str(out), "--test", str(train)]) == 0
    everything = json.loads(capsys.readouterr().out)["test"]["a.npz"]["answers"]
    assert main(["fit-calibration", str(train), "--out", str(out), "--test", str(train), "--rule-of", str(reader)]) == 0
    confident = json.loads(capsys.readouterr().out)["test"]["a.npz"]["answers"]
    assert confident < 0.6 * everything  # only the answers scored 0.5 or more count under that rule
