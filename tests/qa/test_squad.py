import pytest

from qa.squad import (
    SquadExample,
    SquadFormatError,
    choose_answer_occurrence,
    drop_seen_contexts,
    examples_from_squad,
    load_squad,
    split_by_article,
)

FILLER = "Nothing of note happened for many years while people went about their ordinary lives. " * 3
CONTEXT = (
    f"In 1850 the city was founded by traders. {FILLER}Much later, in the great flood of 1850 along the river, "
    "the old bridge was destroyed."
)


def squad(articles):
    return {"version": "v2.0", "data": articles}


def article(title, context, qas):
    return {"title": title, "paragraphs": [{"context": context, "qas": qas}]}


def test_chooses_the_occurrence_near_the_question_words():
    given = CONTEXT.index("1850")
    chosen = choose_answer_occurrence("When was the old bridge destroyed by the flood?", CONTEXT, "1850", given)
    assert chosen == CONTEXT.index("1850", given + 1)
    assert choose_answer_occurrence("When was the city founded?", CONTEXT, "1850", given) == given


def test_single_occurrence_is_kept():
    start = CONTEXT.index("traders")
    assert choose_answer_occurrence("Who founded it?", CONTEXT, "traders", start) == start


def test_v2_unanswerable_questions_have_no_answers():
    data = squad(
        [
            article(
                "T",
                "Tencent is in Shenzhen.",
                [
                    {"id": "a", "question": " Where? ", "answers": [{"text": "Shenzhen", "answer_start": 14}]},
                    {"id": "b", "question": "Who?", "answers": [], "is_impossible": True, "plausible_answers": []},
                ],
            )
        ]
    )
    a, b = examples_from_squad(data)
    assert a.question == "Where?" and a.answers == ("Shenzhen",) and not a.is_impossible
    assert b.is_impossible and b.answers == ()


def test_split_by_article_is_disjoint_and_deterministic():
    data = squad([article(f"A{i}", f"Context {i}.", []) for i in range(10)])
    train, held = split_by_article(data, 3, seed=1)
    assert len(held["data"]) == 3 and len(train["data"]) == 7
    assert not {a["title"] for a in train["data"]} & {a["title"] for a in held["data"]}
    assert split_by_article(data, 3, seed=1) == (train, held)
    with pytest.raises(ValueError):
        split_by_article(data, 10, seed=1)


def test_validation_drops_questions_on_trained_text():
    seen = [SquadExample("1", "Alpha", "q", "ctx A", ("x",), (0,))]
    candidates = [
        SquadExample("2", "Alpha", "q", "other paragraph", ("x",), (0,)),
        SquadExample("3", "Beta", "q", "ctx A", ("x",), (0,)),
        SquadExample("4", "Gamma", "q", "ctx C", ("x",), (0,)),
    ]
    assert [e.id for e in drop_seen_contexts(candidates, seen)] == ["4"]


def test_malformed_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [{"title": "x"}]}')
    with pytest.raises(SquadFormatError, match="malformed"):
        load_squad(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(SquadFormatError, match="data"):
        load_squad(bad)
