"""The answer pipeline's reading: early exit on a confident top passage, and the answer/abstention rule."""

from collections.abc import Sequence

import numpy as np
import pytest

from index.chunking import Passage
from index.store import ScoredPassage
from qa.answer import Asked
from qa.pipeline import Answerer
from qa.reader import Span
from qa.settings import Settings

PASSAGES = [Passage("doc.txt", i, f"passage {i} says answer{i} here", 30 * i, 30 * i + 26) for i in range(3)]


class ScriptedReader:
    """Gives each passage one span with a set score (and its null logit), and records every pass."""

    name = "scripted-reader"

    def __init__(self, scores: dict[tuple[str, int], tuple[float, float]]) -> None:
        self.scores = scores  # (question, passage index) -> (span score, null logit); span logit is 0
        self.passes: list[list[tuple[str, list[int]]]] = []

    def read_batch(self, asked: Sequence[tuple[str, Sequence[Passage]]], per_window: int = 5) -> list[list[Span]]:
        if asked:
            self.passes.append([(q, [p.index for p in passages]) for q, passages in asked])
        found = []
        for question, passages in asked:
            spans = []
            for p in passages:
                score, null = self.scores[question, p.index]
                start = p.text.index("answer")
                spans.append(Span(p, start, start + len(f"answer{p.index}"), score, 0.0, null))
            found.append(sorted(spans, key=lambda s: s.score, reverse=True))
        return found


def answerer(reader: ScriptedReader, **settings: float) -> Answerer:
    return Answerer(Settings(**settings), embedder=None, store=None, reader=reader)  # type: ignore[arg-type]


def test_a_confident_top_passage_settles_the_question_and_the_others_are_not_read():
    reader = ScriptedReader({("q", 0): (0.45, -5.0), ("q", 1): (0.9, -5.0), ("q", 2): (0.1, -5.0)})
    spans = answerer(reader, early_exit_score=0.4).read(["q"], [PASSAGES])
    assert reader.passes == [[("q", [0])]]
    assert [s.text for s in spans[0]] == ["answer0"]


def test_an_unsure_top_passage_sends_the_question_on_to_the_rest_in_a_second_pass():
    scores = {("sure", 0): (0.8, -5.0), ("unsure", 0): (0.3, -5.0), ("unsure", 1): (0.6, -5.0)}
    scores |= {("unsure", 2): (0.35, -5.0), ("abstains", 0): (0.9, 1.0), ("abstains", 1): (0.5, -5.0)}
    reader = ScriptedReader(scores)
    asked = [("sure", PASSAGES), ("unsure", PASSAGES), ("abstains", PASSAGES[:2])]
    spans = answerer(reader, early_exit_score=0.4).read([q for q, _ in asked], [list(p) for _, p in asked])
    assert reader.passes == [
        [("sure", [0]), ("unsure", [0]), ("abstains", [0])],
        [("unsure", [1, 2]), ("abstains", [1])],  # the top passage preferring "no answer" settles nothing
    ]
    assert [[s.text for s in found] for found in spans] == [
        ["answer0"],
        ["answer1", "answer2", "answer0"],  # all of them, best first
        ["answer0", "answer1"],
    ]


def test_early_exit_off_reads_every_passage_in_one_pass_and_one_passage_needs_no_second():
    reader = ScriptedReader({("q", i): (0.9, -5.0) for i in range(3)})
    answerer(reader, early_exit_score=1.0).read(["q"], [PASSAGES])
    assert reader.passes == [[("q", [0, 1, 2])]]
    low = ScriptedReader({("q", 0): (0.3, -5.0)})
    answerer(low, early_exit_score=0.4).read(["q"], [PASSAGES[:1]])
    assert low.passes == [[("q", [0])]]


@pytest.mark.parametrize(
    ("score", "null", "margin", "answered"),
    [
        (0.5, -1.0, 0.0, True),
        (0.19, -1.0, 0.0, False),  # under min_score
        (0.5, 0.5, 0.0, False),  # "no answer" preferred
        (0.2, 0.0, 0.0, True),
        (0.5, -4.0, 4.0, True),  # the span's logit (0) beats "no answer" by the margin exactly
        (0.5, -3.9, 4.0, False),  # by less than the margin
    ],
)
def test_the_answer_is_withheld_under_min_score_or_when_no_answer_comes_too_close(score, null, margin, answered):
    reader = ScriptedReader({("q", i): (score if i == 0 else 0.0, null) for i in range(3)})
    pipeline = answerer(reader, min_score=0.2, null_margin=margin)
    result = pipeline._answer("q", PASSAGES, pipeline.read(["q"], [PASSAGES])[0])
    assert (result.text == "answer0") is answered
    if not answered:
        assert result.text is None and result.alternatives[0].text == "answer0"  # the best guess stays visible


class TopicStore:
    """Every question gets the three passages, none of them similar; only questions saying "answer" share a word."""

    def dense_search(self, vector, k, documents=None):
        return [ScoredPassage(p, 0.0) for p in PASSAGES[:k]]

    def keyword_search(self, question, k, documents=None):
        return [ScoredPassage(p, 1.0) for p in PASSAGES[:k]] if "answer" in question else []


class ZeroEmbedder:
    def embed(self, texts):
        return np.zeros((len(texts), 4), dtype=np.float32)


@pytest.mark.parametrize("floor,read", [(0.2, ["answer?"]), (-1.0, ["answer?", "hello"])])
def test_a_question_not_about_the_documents_gets_a_null_answer_unread(floor, read):
    reader = ScriptedReader({(q, i): (0.9, -5.0) for q in ("answer?", "hello") for i in range(3)})
    pipeline = Answerer(Settings(min_relevance=floor), ZeroEmbedder(), TopicStore(), reader)  # type: ignore[arg-type]
    on_topic, greeting = pipeline.answer_batch([Asked("answer?"), Asked("hello")])
    assert [q for one_pass in reader.passes for q, _ in one_pass] == read
    assert on_topic.text == "answer0"
    assert (greeting.text is None) is (floor > -1.0)
    assert greeting.passage == PASSAGES[0] and greeting.retrieved == PASSAGES  # the closest passage stays shown


class FixedResolver:
    """Reads a follow-up as the readings it is given; records what it was asked."""

    def __init__(self, readings: dict[str, list[str]]) -> None:
        self.readings = readings
        self.asked: list[tuple[str, tuple]] = []

    def candidates(self, question, history):
        self.asked.append((question, tuple(history)))
        return self.readings.get(question, [question])


def test_a_follow_up_is_answered_by_its_best_supported_reading_and_says_which():
    from qa.answer import Turn

    scores = {(q, i): (0.9, -5.0) for q in ("What did Lau say?", "hello", "What did he say?") for i in range(3)}
    scores |= {("What did Tencent say?", i): (0.05, -5.0) for i in range(3)}
    reader = ScriptedReader(scores)
    resolver = FixedResolver({"What did he say?": ["What did Tencent say?", "What did Lau say?"]})
    settings = Settings(min_relevance=-1.0)  # every question is read
    pipeline = Answerer(settings, ZeroEmbedder(), TopicStore(), reader, resolver)  # type: ignore[arg-type]
    history = (Turn("Who is Lau?", "an executive"),)
    follow_up, alone = pipeline.answer_batch([Asked("What did he say?", history=history), Asked("hello")])
    assert resolver.asked == [("What did he say?", history)]  # a question without history is never resolved
    assert follow_up.question == "What did Lau say?" and follow_up.text == "answer0"  # the found answer wins
    assert alone.question == "hello"
    asked_readings = [q for one_pass in reader.passes for q, _ in one_pass]
    assert {"What did Tencent say?", "What did Lau say?"} <= set(asked_readings)
    assert "What did he say?" not in asked_readings


class FixedVerifier:
    """Judges every answer the same: P(right) and P(answerable) as given."""

    def __init__(self, right: float, answerable: float) -> None:
        self.verdict = (right, answerable)

    def judge(self, question, spans):
        return self.verdict


@pytest.mark.parametrize("right,answerable,given", [(0.9, 0.8, True), (0.9, 0.3, False), (0.2, 0.5, True)])
def test_with_a_verifier_its_gate_decides_and_its_probability_is_the_score(right, answerable, given):
    reader = ScriptedReader({("q", i): (0.95, -5.0) for i in range(3)})
    settings = Settings(min_relevance=-1.0, min_answerable=0.4)
    pipeline = Answerer(
        settings, ZeroEmbedder(), TopicStore(), reader, FixedResolver({}), FixedVerifier(right, answerable)
    )  # type: ignore[arg-type]
    answer = pipeline.answer_batch([Asked("q")])[0]
    assert (answer.text is not None) is given
    assert answer.score == right  # the reader said 0.95; the score is the verifier's
    assert all(alternative.score == right for alternative in answer.alternatives)


def test_without_a_verifier_the_score_is_the_calibrated_span_probability_and_the_rule_is_unchanged():
    from qa.confidence import Calibration, span_inputs

    calibration = Calibration(0.5, -0.05, margin_scale=0.3)
    reader = ScriptedReader({("q", i): (0.95 if i == 0 else 0.3, -5.0) for i in range(3)})
    settings = Settings(min_relevance=-1.0, min_score=0.9, early_exit_score=1.0)
    pipeline = Answerer(settings, ZeroEmbedder(), TopicStore(), reader, FixedResolver({}), None, calibration)  # type: ignore[arg-type]
    answer = pipeline.answer_batch([Asked("q")])[0]
    assert answer.text == "answer0"  # given: the rule looks at the reader's 0.95, not at the calibrated score
    top, other = (calibration.probability(*span_inputs(p, 5.0)) for p in (0.95, 0.3))  # spans' margins are 5
    assert answer.score == pytest.approx(top, abs=1e-4) and answer.score < 0.9
    assert [a.score for a in answer.alternatives] == pytest.approx([other] * 2, abs=1e-4)


def test_the_pipeline_says_what_its_scores_are():
    from qa.confidence import Calibration

    reader = ScriptedReader({})
    assert answerer(reader).scoring() == "the reader's span probability, not calibrated"
    calibrated = Answerer(Settings(), None, None, reader, None, None, Calibration(0.4, -1.0, fitted_on="held-out"))  # type: ignore[arg-type]
    assert calibrated.scoring().endswith("calibrated on held-out")
    verified = Answerer(Settings(), None, None, reader, None, FixedVerifier(0.5, 0.5))  # type: ignore[arg-type]
    verified.verifier.calibrated_on = "gold.jsonl"  # type: ignore[attr-defined]
    assert verified.scoring() == "the verifier's probability, calibrated on gold.jsonl"
