"""Negated unanswerable questions: where "not" goes, which paragraphs may take them, and the file they make."""

from __future__ import annotations

import json

import pytest

from training.negation import NEGATIVE, load_spacy, main, make_negated, negate
from training.pairing import paired


@pytest.fixture(scope="module")
def nlp():
    return load_spacy()


@pytest.mark.parametrize(
    ("question", "negated"),
    [
        ("When was the castle built?", "When was the castle not built?"),
        ("Who was elected president in 1990?", "Who was not elected president in 1990?"),
        ("In what year did Beyoncé win her first award?", "In what year did Beyoncé not win her first award?"),
        ("What can be used to measure heat?", "What can not be used to measure heat?"),
        ("What has been discovered in the cave?", "What has not been discovered in the cave?"),
        ("Who founded the company?", "Who did not found the company?"),
        ("Which river flows through the city?", "Which river does not flow through the city?"),
        ("Who is the CEO of Tencent?", "Who is not the CEO of Tencent?"),
        ("What is the capital of France?", None),  # a definition negated reads as a riddle
        ("How many people live in Paris?", None),
    ],
)
def test_the_question_is_negated_at_its_main_verb(nlp, question, negated):
    assert negate(nlp(question)) == negated


def test_negative_words_are_found_whole_and_in_contractions():
    assert all(NEGATIVE.search(t) for t in ("It was not built.", "They didn't go.", "all but Texas, except Ohio"))
    assert not any(NEGATIVE.search(t) for t in ("A notable knot.", "Nothingham", "The North won."))


def squad(paragraphs):
    data = [{"title": "T", "paragraphs": [{"context": c, "qas": qas} for c, qas in paragraphs]}]
    return {"version": "1.1", "data": data}


def qa(id_, question, answer, context):
    return {"id": id_, "question": question, "answers": [{"text": answer, "answer_start": context.index(answer)}]}


def test_only_paragraphs_saying_nothing_negative_get_negated_questions_paired_with_their_originals(nlp, tmp_path):
    plain = "The castle was built in 1120 by the Count of Anjou."
    negative = "The castle was not finished until 1200, and the Count never lived in it."
    data = squad(
        [
            (
                plain,
                [qa("a", "When was the castle built?", "1120", plain), qa("b", "What is the castle?", "castle", plain)],
            ),
            (negative, [qa("c", "When was the castle finished?", "1200", negative)]),
        ]
    )
    made, counts = make_negated(data, nlp)
    questions = [q for p in made["data"][0]["paragraphs"] for q in p["qas"]]
    assert [q["question"] for q in questions] == ["When was the castle not built?"]
    record = questions[0]
    assert record["is_impossible"] and record["answers"] == [] and record["plausible_answers"][0]["text"] == "1120"
    assert record["swap"] == {"kind": "negation", "original_id": "a", "original_question": "When was the castle built?"}
    assert counts["skipped:paragraph_says_something_negative"] == 1 and counts["skipped:no_main_verb_to_negate"] == 1
    pair = paired(made, data, 10, 0)["data"][0]["paragraphs"][0]["qas"]
    assert [q["id"] for q in pair] == ["a", "a:negation"]
    source, out = tmp_path / "in.json", tmp_path / "out.json"
    source.write_text(json.dumps(data))
    assert main([str(source), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == made


def test_questions_already_negative_are_kept_answered_for_training(tmp_path):
    from training.negation import answerable_negative

    context = "The Count never lived in the castle; his son did."
    data = squad(
        [
            (
                context,
                [
                    qa("a", "Who never lived in the castle?", "The Count", context),
                    qa("b", "Who lived there?", "his son", context),
                ],
            )
        ]
    )
    kept = answerable_negative(data)
    assert [q["id"] for q in kept["data"][0]["paragraphs"][0]["qas"]] == ["a"]
