import pytest

from qa.metrics import best_over_gold, exact_match, f1, normalize_answer, squad_scores


@pytest.mark.parametrize(
    "raw,normal",
    [
        ("The Shenzhen-based company!", "shenzhenbased company"),  # punctuation removed, not split
        ("  An   apple a day ", "apple day"),
        ("theater", "theater"),  # articles only as whole words
        ("U.S. $150 billion", "us 150 billion"),
        ("“innovation centre”", "“innovation centre”"),  # curly quotes are not string.punctuation (as official)
        ("", ""),
    ],
)
def test_normalization_follows_the_official_script(raw, normal):
    assert normalize_answer(raw) == normal


def test_exact_match_and_f1_known_values():
    assert exact_match("the BBC", "BBC") == 1.0
    assert exact_match("BBC and Oxford", "BBC") == 0.0
    # pred tokens: [bbc, and, oxford, university]; gold: [oxford, university] -> P=2/4 R=1 F1=2/3
    assert f1("the BBC and Oxford University", "Oxford University") == pytest.approx(2 / 3)
    assert f1("Shenzhen", "London") == 0.0
    # repeated tokens count only as often as they occur in both
    assert f1("a a b", "a b b") == pytest.approx(2 / 3)


def test_empty_answers_follow_v2_semantics():
    assert f1("", "") == 1.0 and exact_match("", "") == 1.0
    assert f1("", "Shenzhen") == 0.0
    assert f1("the", "") == 1.0  # normalises to empty on both sides
    assert best_over_gold("", []) == (1.0, 1.0)  # unanswerable and abstained
    assert best_over_gold("London", []) == (0.0, 0.0)


def test_best_over_gold_answers_takes_the_maximum():
    em, score = best_over_gold("Oxford University", ["BBC", "the Oxford University", "Oxford"])
    assert em == 1.0 and score == 1.0
    em, score = best_over_gold("Oxford", ["BBC", "Oxford University"])
    assert em == 0.0 and score == pytest.approx(2 / 3)


def test_squad_scores_with_and_without_unanswerable():
    gold = {"q1": ["Shenzhen"], "q2": ["US$150 billion"], "q3": []}
    preds = {"q1": "Shenzhen", "q2": "150 billion", "q3": ""}
    scores = squad_scores(preds, gold)
    assert scores["questions"] == 3
    assert scores["exact_match"] == pytest.approx(100 * 2 / 3, abs=0.01)
    # q2: pred [150, billion] vs gold [us150, billion] -> 1 common: P=1/2 R=1/2 F1=1/2
    assert scores["f1"] == pytest.approx(100 * (1 + 0.5 + 1) / 3, abs=0.01)
    assert scores["no_ans_accuracy"] == 100.0 and scores["has_ans_questions"] == 2
    only_answerable = squad_scores({"q1": "London"}, {"q1": ["Shenzhen"]})
    assert only_answerable == {"exact_match": 0.0, "f1": 0.0, "questions": 1}
    assert squad_scores({}, {"q1": ["x"]})["f1"] == 0.0  # a missing prediction counts as wrong
