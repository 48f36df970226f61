"""Follow-up questions made standalone: the resolver on hand-made histories, and the choice among readings."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from qa.conversation import ConversationResolver, Turn, better_supported, stands_alone

LAU = Turn("Who is Lau Seng Yee?", "senior executive vice president of Tencent")
DOCUMENTARY = Turn("Which documentary did Tencent Video co-produce with the BBC?", "Blue Planet II")
PARENT = Turn("Which company is the parent company of the South China Morning Post?", "Alibaba")
IFLYTEK = Turn("What is iFlyTek?", "voice intelligence specialist")
UNIVERSITY = Turn("Which university will Tencent work with?", "Oxford University")


@pytest.fixture(scope="module")
def resolver() -> ConversationResolver:
    """One spaCy pipeline for the whole module: loading it takes a second."""
    resolver = ConversationResolver()
    resolver.warm_up()
    return resolver


def best(resolver: ConversationResolver, question: str, *history: Turn) -> str:
    return resolver.candidates(question, history)[0]


# --- questions that stand alone are never rewritten -------------------------------------------------------------------


def test_an_empty_history_keeps_the_question(resolver: ConversationResolver) -> None:
    assert resolver.candidates("What did he say?", []) == ["What did he say?"]


@pytest.mark.parametrize(
    "question",
    [
        "Who is the CEO of the BBC?",
        "Which documentary did Tencent Video co-produce with the BBC?",
        "Who is Lau Seng Yee?",
        "What did Lau Seng Yee say in his statement?",
        "Is it true that Tencent signed a memorandum?",
        "How long did it take to sign the memorandum?",
    ],
)
def test_a_question_that_stands_alone_is_kept_exactly(resolver: ConversationResolver, question: str) -> None:
    assert resolver.candidates(question, [LAU, DOCUMENTARY]) == [question]


def test_the_cheap_word_test_lets_long_plain_questions_skip_the_parser() -> None:
    assert stands_alone("Which documentary did Tencent Video co-produce with the BBC?")
    assert not stands_alone("How many views did it get?")
    assert not stands_alone("And which broadcaster?")


# --- pronouns and possessives -----------------------------------------------------------------------------------------


def test_he_is_the_person_the_last_question_asked_about(resolver: ConversationResolver) -> None:
    assert best(resolver, "What did he say?", LAU) == "What did Lau Seng Yee say?"


def test_his_is_the_person_the_last_answer_named(resolver: ConversationResolver) -> None:
    said = Turn("Who said the MOU is of great significance?", "Lau Seng Yee")
    assert best(resolver, "What is his position?", said) == "What is Lau Seng Yee's position?"


def test_it_is_the_thing_the_last_answer_named(resolver: ConversationResolver) -> None:
    assert best(resolver, "How many views did it get?", DOCUMENTARY) == "How many views did Blue Planet II get?"


def test_its_becomes_a_possessive(resolver: ConversationResolver) -> None:
    assert best(resolver, "Who is its CEO?", PARENT) == "Who is Alibaba's CEO?"


def test_a_number_answered_is_no_antecedent_so_it_is_what_the_question_asked_about(
    resolver: ConversationResolver,
) -> None:
    how_long = Turn("How long is the partnership between the BBC and Tencent Penguin Pictures?", "three-year")
    readings = resolver.candidates("What does it cover?", [how_long])
    assert readings == ["What does the partnership between the BBC and Tencent Penguin Pictures cover?"]


def test_after_what_is_x_it_is_still_x_not_the_description(resolver: ConversationResolver) -> None:
    assert best(resolver, "Where is it headquartered?", IFLYTEK) == "Where is iFlyTek headquartered?"


def test_they_is_a_group_and_it_a_thing_in_one_question(resolver: ConversationResolver) -> None:
    team = Turn(
        "Which other companies are in the national team with Tencent?",
        "Baidu, Alibaba Group and voice intelligence specialist iFlyTek",
    )
    assert best(resolver, "Who named them to it?", team) == (
        "Who named Baidu, Alibaba Group and voice intelligence specialist iFlyTek to the national team?"
    )


def test_two_pronouns_point_to_two_things_the_subject_one_to_the_last_subject(resolver: ConversationResolver) -> None:
    signed = Turn("What did Tencent sign on Wednesday?", "a memorandum of understanding")
    assert (
        best(resolver, "Who did it sign it with?", signed) == "Who did Tencent sign a memorandum of understanding with?"
    )


def test_a_person_pronoun_with_no_person_before_is_left_alone(resolver: ConversationResolver) -> None:
    assert resolver.candidates("What did she say?", [Turn("Which company signed it?", "Tencent")]) == [
        "What did she say?"
    ]


def test_an_unanswered_turn_still_offers_its_question(resolver: ConversationResolver) -> None:
    assert best(resolver, "Where is it based?", Turn("When was Tencent founded?", None)) == "Where is Tencent based?"


def test_a_pronoun_resolved_last_turn_carries_on(resolver: ConversationResolver) -> None:
    signed = Turn(
        "Which company signed a memorandum of understanding with the UK Department of International Trade?", "Tencent"
    )
    based = Turn("Where is it based?", "Shenzhen")
    assert best(resolver, "When did it sign the memorandum?", signed, based) == "When did Tencent sign the memorandum?"


# --- ellipsis ---------------------------------------------------------------------------------------------------------


def test_a_wh_fragment_replaces_the_wh_phrase_of_the_last_question(resolver: ConversationResolver) -> None:
    assert resolver.candidates("And which broadcaster?", [UNIVERSITY]) == ["Which broadcaster will Tencent work with?"]
    when = Turn("When was the memorandum signed?", "Wednesday")
    assert resolver.candidates("Where?", [when]) == ["Where was the memorandum signed?"]


def test_an_adverb_fragment_after_a_who_question_puts_the_answer_in(resolver: ConversationResolver) -> None:
    who = Turn("Who signed a memorandum of understanding with Tencent?", "the UK Department of International Trade")
    assert best(resolver, "When?", who) == (
        "When did the UK Department of International Trade sign a memorandum of understanding with Tencent?"
    )


def test_an_adverb_fragment_after_a_what_question_puts_the_answer_back_as_object(
    resolver: ConversationResolver,
) -> None:
    what = Turn("What did Tencent sign with the UK Department of International Trade?", "a memorandum of understanding")
    assert best(resolver, "In which city?", what) == (
        "In which city did Tencent sign a memorandum of understanding with the UK Department of International Trade?"
    )


def test_a_kind_of_thing_fragment_replaces_the_noun_asked_about(resolver: ConversationResolver) -> None:
    broadcaster = Turn("Which British broadcaster will Tencent work with?", "the BBC")
    assert best(resolver, "What about universities?", broadcaster) == "Which universities will Tencent work with?"


def test_who_else_is_not_rewritten_into_the_same_question_again(resolver: ConversationResolver) -> None:
    assert resolver.candidates("Who else?", [LAU]) == ["Who else?"]


def test_turns_without_words_are_ignored(resolver: ConversationResolver) -> None:
    assert resolver.candidates("Where?", [Turn("", ""), Turn("?", None)]) == ["Where?"]


def test_a_name_fragment_replaces_the_name_of_the_last_question(resolver: ConversationResolver) -> None:
    assert best(resolver, "And Alibaba?", IFLYTEK) == "What is Alibaba?"
    worth = Turn("How much will China's domestic AI industry be worth?", "nearly US$150 billion")
    assert best(resolver, "What about the US?", worth) == "How much will the US's domestic AI industry be worth?"


# --- definite references ----------------------------------------------------------------------------------------------


def test_the_documentary_is_the_answer_to_which_documentary_and_the_question_as_asked_follows(
    resolver: ConversationResolver,
) -> None:
    assert resolver.candidates("How many views did the documentary get?", [DOCUMENTARY]) == [
        "How many views did Blue Planet II get?",
        "How many views did the documentary get?",
    ]


def test_the_university_is_the_name_that_says_university(resolver: ConversationResolver) -> None:
    readings = resolver.candidates("How many students does the university have?", [UNIVERSITY])
    assert readings[0] == "How many students does Oxford University have?"


def test_an_ambiguous_definite_reference_is_left_to_the_document(resolver: ConversationResolver) -> None:
    # three names could be "the documentary" when the question asked "What", not "Which documentary"
    what = Turn("What did Tencent Video co-produce with the BBC?", "Blue Planet II")
    question = "Where did the documentary get 220 million views?"
    assert resolver.candidates(question, [what]) == [question]


# --- choosing among the answers to the readings -----------------------------------------------------------------------


@dataclass(frozen=True)
class FakeAnswer:
    text: str | None
    score: float


def test_a_found_answer_beats_a_null_one_even_with_a_lower_score() -> None:
    found = FakeAnswer("Blue Planet II", 0.3)
    assert better_supported([FakeAnswer(None, 0.9), found]) is found


def test_between_found_answers_the_higher_score_wins_and_ties_go_to_the_first_reading() -> None:
    low, high, tie = FakeAnswer("London", 0.4), FakeAnswer("Shenzhen", 0.8), FakeAnswer("Beijing", 0.8)
    assert better_supported([low, high, tie]) is high


def test_with_only_null_answers_the_best_scored_is_kept() -> None:
    first, second = FakeAnswer(None, 0.1), FakeAnswer(None, 0.2)
    assert better_supported([first, second]) is second


def test_no_answers_at_all_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        better_supported([])
