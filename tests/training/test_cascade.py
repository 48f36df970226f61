"""Choosing the escalation threshold: the cascade's outcome per threshold from two readers' rows."""

import json

import numpy as np
import pytest

from qa.confidence import Calibration, save_calibration
from qa.verifier import FEATURES, NULL_MARGIN_SCALE
from training.cascade import UnpairedRowsError, paired, sweep
from training.cli import main
from training.verifier import Rows


def rows(scores, right, answerable, given, question) -> Rows:
    x = np.zeros((len(scores), len(FEATURES)))
    x[:, FEATURES.index("span_score")] = scores
    x[:, FEATURES.index("null_margin")] = 5.0 / NULL_MARGIN_SCALE
    return Rows(x, np.array(right), np.array(answerable), np.array(given), np.array(question))


# four questions: 0 sure and right; 1 unsure and wrong; 2 unanswerable, answered unsure; 3 answerable, withheld
FAST = rows(
    [0.9, 0.3, 0.4, 0.1], [True, False, False, False], [True, True, False, True], [True] * 3 + [False], [0, 1, 2, 3]
)
# the accurate reader: right on 1, withholds 2, answers 3 right; it never read question 0 (left out)
ACCURATE = rows([0.8, 0.7, 0.9], [True, False, True], [True, False, True], [True, False, True], [1, 2, 3])
IDENTITY = Calibration()  # the raw span probability: thresholds read as the small reader's scores


def test_rows_pair_up_by_question_and_rows_without_numbers_cannot():
    fast, accurate = paired(FAST, ACCURATE)
    assert fast.question.tolist() == accurate.question.tolist() == [1, 2, 3]
    with pytest.raises(UnpairedRowsError):
        paired(Rows(FAST.x, FAST.right, FAST.answerable, FAST.reader_answers), ACCURATE)


def test_each_threshold_gives_the_accurate_readers_outcome_to_the_questions_under_it():
    calibration = Calibration(scale=1.0, shift=0.0)
    thresholds = (0.0, 0.2, 1.0)
    table = {row["escalate_below"]: row for row in sweep(FAST, ACCURATE, calibration, thresholds, withheld_too=True)}
    # the calibrated score grows with the margin of 5 (the score's second input); 0 and 1 are the readers alone
    alone = table[0.0]
    assert alone["escalated"] == 0.0 and alone["unanswerable_withheld"] == 0.0 and alone["wrong_abstentions"] == 50.0
    everything = table[1.0]
    assert everything["escalated"] == 100.0
    assert everything["unanswerable_withheld"] == 100.0 and everything["wrong_abstentions"] == 0.0
    assert everything["exact"] == 100.0


def test_as_the_pipeline_does_only_answers_given_are_escalated_not_withheld_guesses():
    (everything,) = sweep(FAST, ACCURATE, IDENTITY, (1.0,))
    assert everything["escalated"] == pytest.approx(100 * 2 / 3, abs=0.01)  # questions 1 and 2, not 3 (withheld)
    assert everything["wrong_abstentions"] == 50.0  # 3 stays withheld


def test_the_accurate_readers_own_rule_decides_its_answers():
    from qa.cascade import ReaderRule
    from training.cascade import under_rule

    assert under_rule(ACCURATE, ReaderRule(0.75, 0.0)).reader_answers.tolist() == [True, False, True]
    assert under_rule(ACCURATE, ReaderRule(0.0, 6.0)).reader_answers.tolist() == [False] * 3  # margins are 5


def test_the_command_reports_each_pair_of_files(tmp_path, capsys):
    FAST.save(tmp_path / "fast.npz")
    ACCURATE.save(tmp_path / "accurate.npz")
    save_calibration(IDENTITY, tmp_path / "calibration.json")
    args = ["sweep-cascade", "--fast", str(tmp_path / "fast.npz"), "--accurate", str(tmp_path / "accurate.npz")]
    assert main([*args, "--calibration", str(tmp_path / "calibration.json"), "--thresholds", "0.35"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["fast.npz"]
    assert row["escalated"] == pytest.approx(100 / 3, abs=0.01)  # of the three both read: 0.3 (0.1 is withheld)
    two = ["--accurate", str(tmp_path / "accurate.npz"), str(tmp_path / "accurate.npz")]
    assert main([*args[:3], *two]) == 2  # two accurate files for one fast
