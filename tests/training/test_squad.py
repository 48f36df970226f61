import pytest

from training.squad import (
    SquadExample,
    SquadFormatError,
    answer_removed_examples,
    choose_answer_occurrence,
    drop_seen_contexts,
    examples_from_squad,
    load_squad,
    negative_examples,
    split_by_article,
    unanswerable_examples,
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


def test_negatives_pair_questions_with_paragraphs_that_do_not_hold_their_answer():
    paragraphs = {
        "p1": "Tencent is based in Shenzhen.",
        "p2": "The BBC made Blue Planet II.",
        "p3": "Shenzhen is a city in Guangdong.",  # holds the answer of q1: never its negative
    }
    examples = [
        SquadExample("q1", "Tencent", "Where is Tencent based?", paragraphs["p1"], ("Shenzhen",), (20,)),
        SquadExample("q2", "Tencent", "Who made Blue Planet II?", paragraphs["p2"], ("the BBC",), (0,)),
        SquadExample("q3", "Tencent", "Which province?", paragraphs["p3"], ("Guangdong",), (22,)),
        SquadExample("q4", "Other", "Alone in its article?", "Only paragraph.", ("Only",), (0,)),
        SquadExample("q5", "Tencent", "Unanswerable already?", paragraphs["p1"], (), ()),
    ]
    negatives = negative_examples(examples, ratio=1.0, seed=0)
    by_id = {n.id: n for n in negatives}
    assert set(by_id) == {"q1-neg", "q2-neg", "q3-neg"}  # q4 has no other paragraph, q5 no answer to avoid
    assert by_id["q1-neg"].context == paragraphs["p2"]
    for neg in negatives:
        original = next(e for e in examples if f"{e.id}-neg" == neg.id)
        assert neg.is_impossible and neg.question == original.question and neg.title == original.title
        assert neg.context != original.context
        assert not any(a.lower() in neg.context.lower() for a in original.answers)
    assert negative_examples(examples, ratio=1.0, seed=0) == negatives
    assert negative_examples(examples, ratio=0.0, seed=0) == []


def test_answer_removed_negatives_keep_the_paragraph_but_not_the_answer_s_sentences():
    context = (
        "Tencent signed a deal in London. The Shenzhen-based company is worth US$150 billion. "
        "It works with the BBC. Shenzhen is in Guangdong."
    )
    examples = [
        SquadExample("worth", "T", "How much is Tencent worth?", context, ("US$150 billion",), (context.index("US$"),)),
        SquadExample("based", "T", "Where is Tencent based?", context, ("Shenzhen",), (context.index("Shenzhen"),)),
        SquadExample("where", "T", "Where was the deal signed?", "In London.", ("London",), (3,)),
        SquadExample("none", "T", "Who is the CEO?", context, (), ()),
    ]
    negatives = answer_removed_examples(examples, ratio=1.0, seed=0)
    # "based": Shenzhen is also in the last sentence, so no negative; "where": nothing would be left
    assert [n.id for n in negatives] == ["worth-cut"]
    cut = negatives[0]
    assert cut.is_impossible and cut.question == "How much is Tencent worth?" and cut.title == "T"
    assert cut.context == "Tencent signed a deal in London. It works with the BBC. Shenzhen is in Guangdong."
    assert answer_removed_examples(examples, ratio=1.0, seed=0) == negatives
    assert answer_removed_examples(examples, ratio=0.0, seed=0) == []


def test_unanswerable_examples_dispatch_on_the_kind():
    examples = [SquadExample("q", "T", "Where?", "It is in Shenzhen. It is big.", ("Shenzhen",), (9,))]
    assert [n.id for n in unanswerable_examples(examples, 1.0, 0, "answer-removed")] == ["q-cut"]
    assert unanswerable_examples(examples, 1.0, 0, "other-paragraph") == []  # no other paragraph in its article
    with pytest.raises(ValueError, match="unknown kind"):
        unanswerable_examples(examples, 1.0, 0, "shuffled")


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
