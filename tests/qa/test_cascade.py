"""The cascade: which reader reads in each mode, when `auto` escalates, and each reader's own rule and score."""

import json

import pytest

from qa.answer import Asked, answer_json
from qa.cascade import ReaderRule, RuleFileError, accurate_reading, load_rule, save_rule, uncertain
from qa.confidence import Calibration
from qa.pipeline import Answerer
from qa.settings import Settings

from .test_pipeline import FixedResolver, ScriptedReader, TopicStore, ZeroEmbedder

QUESTIONS = ("sure", "unsure", "withheld")
# the small reader: sure of "sure" (0.9), unsure of "unsure" (0.3), and prefers "no answer" on "withheld"
SMALL = {("sure", i): (0.9, -5.0) for i in range(3)} | {("unsure", i): (0.3, -5.0) for i in range(3)}
SMALL |= {("withheld", i): (0.2, 3.0) for i in range(3)}
# the accurate reader withholds "unsure" (its null logit beats the span) and answers "withheld"
ACCURATE = {("sure", i): (0.95, -5.0) for i in range(3)} | {("unsure", i): (0.6, 2.0) for i in range(3)}
ACCURATE |= {("withheld", i): (0.8, -4.0) for i in range(3)}


def cascade(mode: str, escalate_below: float = 0.5, accurate_rule: ReaderRule | None = None):
    small, accurate = ScriptedReader(SMALL), ScriptedReader(ACCURATE)
    settings = Settings(min_relevance=-1.0, reader_mode=mode, escalate_below=escalate_below, early_exit_score=1.0)
    reading = accurate_reading(accurate, None)  # type: ignore[arg-type]
    if accurate_rule is not None:
        reading = type(reading)(accurate, accurate_rule, reading.calibration, "accurate")  # type: ignore[arg-type]
    pipeline = Answerer(
        settings, ZeroEmbedder(), TopicStore(), small, FixedResolver({}), accurate=reading if mode != "fast" else None
    )  # type: ignore[arg-type]
    return pipeline, small, accurate


def asked_of(reader: ScriptedReader) -> list[str]:
    return [q for one_pass in reader.passes for q, _ in one_pass]


def test_fast_reads_with_the_small_reader_only():
    pipeline, small, accurate = cascade("fast")
    answers = pipeline.answer_batch([Asked(q) for q in QUESTIONS])
    assert asked_of(small) == list(QUESTIONS) and accurate.passes == []
    assert [a.text for a in answers] == ["answer0", "answer0", None]
    assert {a.reader for a in answers} == {"fast"}


def test_accurate_reads_with_the_accurate_reader_only_and_by_its_own_rule():
    pipeline, small, accurate = cascade("accurate")
    answers = pipeline.answer_batch([Asked(q) for q in QUESTIONS])
    assert small.passes == [] and asked_of(accurate) == list(QUESTIONS)
    assert [a.text for a in answers] == ["answer0", None, "answer0"]
    assert {a.reader for a in answers} == {"accurate"}


def test_auto_re_reads_only_the_uncertain_answers_given_not_the_withheld():
    pipeline, small, accurate = cascade("auto", escalate_below=0.5)
    answers = pipeline.answer_batch([Asked(q) for q in QUESTIONS])
    assert asked_of(small) == list(QUESTIONS)
    assert asked_of(accurate) == ["unsure"]  # "sure" (0.9) is not re-read, nor "withheld" (a guess withheld)
    assert [a.reader for a in answers] == ["fast", "accurate", "fast"]
    assert [a.text for a in answers] == ["answer0", None, None]
    assert [answer_json(a)["reader"] for a in answers] == ["fast", "accurate", "fast"]


@pytest.mark.parametrize("threshold,escalated", [(0.0, []), (0.25, []), (0.5, ["unsure"]), (1.0, ["sure", "unsure"])])
def test_the_threshold_decides_how_much_is_escalated(threshold, escalated):
    pipeline, _, accurate = cascade("auto", escalate_below=threshold)
    pipeline.answer_batch([Asked(q) for q in QUESTIONS])
    assert asked_of(accurate) == escalated


def test_escalation_reads_the_calibrated_score_not_the_raw_probability():
    pipeline, _, accurate = cascade("auto", escalate_below=0.5)
    pipeline.calibration = Calibration(scale=1.0, shift=-3.0)  # "sure" at 0.9 calibrates to about 0.35
    pipeline.answer_batch([Asked("sure")])
    assert asked_of(accurate) == ["sure"]
    assert uncertain(0.49, True, 0.5) and not uncertain(0.5, True, 0.5) and not uncertain(0.1, False, 0.5)


def test_the_accurate_readers_rule_is_its_own():
    strict = ReaderRule(min_score=0.99, null_margin=0.0)
    pipeline, _, _ = cascade("accurate", accurate_rule=strict)
    answers = pipeline.answer_batch([Asked(q) for q in QUESTIONS])
    assert [a.text for a in answers] == [None, None, None]
    assert answers[0].alternatives[0].text == "answer0"  # withheld, the best guess still shown


def test_a_mode_that_reads_with_the_accurate_reader_needs_one():
    settings = Settings(reader_mode="auto")
    with pytest.raises(ValueError, match="accurate reader"):
        Answerer(settings, None, None, ScriptedReader({}))  # type: ignore[arg-type]


def test_a_missing_accurate_reader_is_named_with_the_way_out(tmp_path):
    settings = Settings(reader_mode="auto", accurate_reader_model=str(tmp_path / "absent"))
    (problem,) = [p for p in settings.missing_models() if "ACCURATE" in p]
    assert "QA_READER_MODE=fast" in problem
    assert not [p for p in Settings(accurate_reader_model=str(tmp_path / "absent")).missing_models() if "ACC" in p]


def test_a_rule_file_round_trips_and_a_bad_one_is_a_clear_error(tmp_path):
    default = ReaderRule()
    assert load_rule(tmp_path, default) == default and load_rule(None, default) == default
    save_rule(ReaderRule(0.1, 2.5), tmp_path)
    assert load_rule(tmp_path, default) == ReaderRule(0.1, 2.5)
    (tmp_path / "rule.json").write_text(json.dumps({"min_score": 3, "null_margin": 0}))
    with pytest.raises(RuleFileError, match="min_score"):
        load_rule(tmp_path, default)
    (tmp_path / "rule.json").write_text("{")
    with pytest.raises(RuleFileError):
        load_rule(tmp_path, default)


def test_the_accurate_reader_scores_by_its_own_calibration_file_or_not_at_all(tmp_path):
    from qa.confidence import IDENTITY, save_calibration

    reader = ScriptedReader({})
    assert accurate_reading(reader, tmp_path).calibration is IDENTITY  # type: ignore[arg-type]
    save_calibration(Calibration(0.4, -1.0, fitted_on="teacher rows"), tmp_path / "calibration.json")
    reading = accurate_reading(reader, tmp_path)  # type: ignore[arg-type]
    assert reading.calibration.fitted_on == "teacher rows" and reading.rule == ReaderRule(0.0, 0.0)
    assert reading.name == "accurate"
