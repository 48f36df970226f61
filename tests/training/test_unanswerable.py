"""Unanswerable questions made from SQuAD v1.1 by swapping an entity, number, date or role word."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

spacy = pytest.importorskip("spacy")

from training.unanswerable import (  # noqa: E402 (after the skip: spaCy is a [train] extra)
    load_spacy,
    main,
    make_unanswerable,
    normalise,
    said_in,
    same_thing,
    starts_with_vowel_sound,
)

P1 = (
    "Tencent signed a partnership with the BBC in 2018. "
    "James Mitchell is the senior executive vice president of Tencent. "
    "The documentary Blue Planet II drew 80 million views in China. "
    "The BBC also works with universities."
)
P2 = (
    "Pony Ma founded Tencent in Shenzhen in 1998. "
    "The University of Cambridge opened a joint laboratory with Tencent in 2016. "
    "The laboratory is the largest of its kind."
)


def _qa(qid: str, question: str, answer: str, context: str) -> dict[str, Any]:
    return {"id": qid, "question": question, "answers": [{"text": answer, "answer_start": context.index(answer)}]}


SQUAD: dict[str, Any] = {
    "version": "1.1",
    "data": [
        {
            "title": "Tencent",
            "paragraphs": [
                {
                    "context": P1,
                    "qas": [
                        _qa("t:0:0", "Who is the senior executive vice president of Tencent?", "James Mitchell", P1),
                        _qa("t:0:1", "What did the company sign?", "a partnership", P1),
                        _qa("t:0:2", "Who signed a partnership with the BBC?", "Tencent", P1),
                    ],
                },
                {
                    "context": P2,
                    "qas": [
                        _qa("t:1:0", "Where did Pony Ma found Tencent in 1998?", "Shenzhen", P2),
                        _qa("t:1:1", "When did the University of Cambridge open a laboratory?", "2016", P2),
                        _qa("t:1:2", "Which laboratory is the largest of its kind?", "The laboratory", P2),
                    ],
                },
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def nlp() -> Any:
    return load_spacy()


@pytest.fixture(scope="module")
def made(nlp: Any) -> tuple[dict[str, Any], Counter[str]]:
    return make_unanswerable(copy.deepcopy(SQUAD), seed=13, nlp=nlp)


def _made_questions(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(p["context"], qa) for a in data["data"] for p in a["paragraphs"] for qa in p["qas"]]


def _by_original(made: tuple[dict[str, Any], Counter[str]]) -> dict[str, str]:
    return {qa["swap"]["original_id"]: qa["question"] for _, qa in _made_questions(made[0])}


def test_the_key_entity_becomes_another_of_the_paragraph_and_mends_its_article(made: Any) -> None:
    questions = _by_original(made)
    assert questions["t:0:0"] == "Who is the senior executive vice president of the BBC?"
    assert questions["t:1:0"] == "Where did Pony Ma found Tencent in 2016?"


def test_an_entity_the_paragraph_lacks_comes_from_the_article(made: Any) -> None:
    swap = next(qa["swap"] for _, qa in _made_questions(made[0]) if qa["swap"]["original_id"] == "t:1:1")
    assert swap["source"] == "article"
    assert normalise(swap["to"]) == "bbc"


def test_a_swapped_question_differs_only_in_the_swapped_span(made: Any) -> None:
    for _, qa in _made_questions(made[0]):
        swap = qa["swap"]
        original = swap["original_question"]
        assert original[swap["start"] : swap["start"] + len(swap["from"])] == swap["from"]
        assert qa["question"] == original[: swap["start"]] + swap["to"] + original[swap["start"] + len(swap["from"]) :]
        assert normalise(swap["from"]) != normalise(swap["to"])


def test_the_replacement_has_the_same_label_and_comes_from_the_article(made: Any, nlp: Any) -> None:
    article_docs = list(nlp.pipe(p["context"] for p in SQUAD["data"][0]["paragraphs"]))
    labelled = {(normalise(e.text), e.label_) for doc in article_docs for e in doc.ents}
    for _, qa in _made_questions(made[0]):
        swap = qa["swap"]
        if swap["kind"] in {"entity", "date", "number"} and swap["source"] != "nearby":
            assert (normalise(swap["to"]), swap["label"]) in labelled


def test_the_answer_sentence_does_not_hold_the_replacement(made: Any, nlp: Any) -> None:
    for context, qa in _made_questions(made[0]):
        answer = qa["plausible_answers"][0]
        sentence = next(s.text for s in nlp(context).sents if s.start_char <= answer["answer_start"] < s.end_char)
        assert normalise(qa["swap"]["to"]) not in normalise(sentence)
        assert normalise(answer["text"]) not in normalise(qa["swap"]["to"])


def test_the_output_is_squad_v2_with_no_answers(made: Any) -> None:
    data, _ = made
    originals = {qa["id"]: (p["context"], qa) for a in SQUAD["data"] for p in a["paragraphs"] for qa in p["qas"]}
    assert data["version"] == "v2.0"
    assert _made_questions(data)
    for context, qa in _made_questions(data):
        original_context, original = originals[qa["swap"]["original_id"]]
        assert qa["id"] == f"{original['id']}:swap"
        assert qa["answers"] == []
        assert qa["is_impossible"] is True
        assert qa["plausible_answers"] == original["answers"]
        assert context == original_context
        assert {"kind", "original_id", "from", "to"} <= set(qa["swap"])
    json.dumps(data)


def test_questions_with_no_possible_swap_are_skipped_and_counted(made: Any) -> None:
    data, counts = made
    made_ids = {qa["swap"]["original_id"] for _, qa in _made_questions(data)}
    assert "t:0:1" not in made_ids  # nothing in it the paragraph also names
    assert "t:0:2" not in made_ids  # the only other organisation is the answer
    skipped = sum(v for k, v in counts.items() if k.startswith("skipped:"))
    made_count = sum(v for k, v in counts.items() if k.startswith("made:"))
    assert counts["skipped:no_anchor"] >= 1
    assert made_count == len(made_ids)
    assert skipped + made_count == counts["questions"] == 6


def test_the_same_seed_makes_the_same_questions(made: Any, nlp: Any) -> None:
    again = make_unanswerable(copy.deepcopy(SQUAD), seed=13, nlp=nlp)
    assert again == made
    fewer, counts = make_unanswerable(copy.deepcopy(SQUAD), ratio=0.0, seed=13, nlp=nlp)
    assert fewer["data"] == []
    assert counts["skipped:not_drawn"] == 6


def test_the_command_writes_a_squad_v2_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, out = tmp_path / "train.json", tmp_path / "out" / "made.json"
    source.write_text(json.dumps(SQUAD), encoding="utf-8")
    assert main([str(source), "--out", str(out), "--seed", "13"]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["version"] == "v2.0"
    err = capsys.readouterr().err
    assert "[1/1] Tencent" in err
    assert "made:entity" in err


@pytest.mark.parametrize(
    ("first", "second", "label"),
    [
        ("the United States", "U.S.", "GPE"),
        ("British Broadcasting Corporation", "BBC", "ORG"),
        ("Beyoncé Knowles", "Beyoncé", "PERSON"),
        ("Solange Knowles", "Beyoncé Knowles", "PERSON"),
        ("the Quakers", "Quaker", "ORG"),
    ],
)
def test_another_name_for_the_same_thing_is_no_swap(first: str, second: str, label: str) -> None:
    assert same_thing(first, second, label)


def test_different_things_are_swappable() -> None:
    assert not same_thing("Tencent", "BBC", "ORG")
    assert not same_thing("South Korea", "North Korea", "GPE")


def test_a_replacement_the_answer_sentence_says_in_other_words_is_caught() -> None:
    sentence = normalise("The team won five consecutive NCAA national championships between 2005 and 2009.")
    assert said_in(sentence, normalise("National Champion"), "ORG")
    assert said_in(sentence, normalise("Mia Hamm"), "PERSON") is False
    assert said_in(normalise("Hamm scored twice."), normalise("Mia Hamm"), "PERSON")


@pytest.mark.parametrize(
    ("text", "vowel"),
    [("EOF", True), ("UTF-8", False), ("ASCII", True), ("U.S.", False), ("Italian", True), ("university", False)],
)
def test_a_or_an_follows_the_sound(text: str, vowel: bool) -> None:
    assert starts_with_vowel_sound(text) is vowel
