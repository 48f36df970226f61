import itertools
import textwrap

import pytest

from index.chunking import chunk_document, split_sentences
from index.documents import load_documents, parse_document

from ..conftest import SEED


@pytest.mark.parametrize("max_words,overlap", [(120, 1), (40, 1), (60, 0), (15, 2)])
def test_passage_offsets_map_back_to_the_document_exactly(max_words, overlap):
    doc = load_documents([SEED])[0]
    passages = chunk_document(doc, max_words, overlap)
    assert passages
    for i, p in enumerate(passages):
        assert p.index == i and p.document == doc.id
        assert doc.text[p.start : p.end] == p.text
        assert p.start >= doc.body_start  # the date line is never part of a passage


def test_passages_cover_every_sentence_and_overlap():
    doc = load_documents([SEED])[0]
    passages = chunk_document(doc, 60, 1)
    assert passages[0].start == doc.body_start
    assert passages[-1].end == len(doc.text.rstrip())
    shared = 0
    for before, after in itertools.pairwise(passages):
        assert after.start > before.start
        assert not doc.text[before.end : after.start].strip(), "no sentence falls between passages"
        shared += after.start < before.end
    # a passage that is one over-long sentence cannot share it without repeating itself
    assert shared >= len(passages) // 2


def test_word_budget_is_respected_except_for_one_long_sentence():
    text = "Short one. " * 30 + ("word " * 80).strip() + ". End here."
    doc = parse_document("t.txt", "t.txt", text.encode())
    passages = chunk_document(doc, 20, 0)
    assert all(len(p.text.split()) <= 20 or p.text.count(".") == 1 for p in passages)
    assert any(len(p.text.split()) >= 80 for p in passages)


def test_bad_sizes_are_refused():
    doc = load_documents([SEED])[0]
    with pytest.raises(ValueError):
        chunk_document(doc, 0, 1)


def _sentences(text: str, max_words: int | None = None) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text, 0, max_words)]


PROSE = (
    "The Shenzhen-based company signed a memorandum of understanding with the UK Department of International "
    "Trade on Wednesday in London. The pact is aimed at deepening ties between the social media-to-gaming giant "
    "and Britain, a key Chinese trading partner. Tencent is making a push into the UK amid growing scrutiny."
)


@pytest.mark.parametrize("width", [30, 50, 79])
def test_hard_wrapped_lines_do_not_end_sentences(width):
    wrapped = textwrap.fill(PROSE, width, break_on_hyphens=False)
    assert "\n" in wrapped
    assert [" ".join(s.split()) for s in _sentences(wrapped)] == _sentences(PROSE)
    assert len(_sentences(PROSE)) == 3
    crlf = wrapped.replace("\n", "\r\n")
    assert [" ".join(s.split()) for s in _sentences(crlf)] == _sentences(PROSE)


def test_a_paragraph_that_stops_mid_sentence_runs_on_into_the_next():
    text = (
        "It covers a deal with the company's film production arm,\n\nTencent Penguin Pictures, on documentaries."
        "\n\nBlue Planet II, an award-winning documentary co-produced by\n\nTencent Video, had 220 million views."
        "\n\nA new paragraph. Another sentence."
    )
    assert _sentences(text) == [
        "It covers a deal with the company's film production arm,\n\nTencent Penguin Pictures, on documentaries.",
        "Blue Planet II, an award-winning documentary co-produced by\n\nTencent Video, had 220 million views.",
        "A new paragraph.",
        "Another sentence.",
    ]


def test_brackets_end_or_continue_sentences_as_their_neighbours_say():
    text = (
        "The treaties are the Treaty on European Union (TEU) and the Treaty on the Functioning of the European "
        'Union (TFEU). Grainer asked, "Did I write that?"[citation needed]\n\nA different arrangement followed.'
    )
    assert _sentences(text) == [
        "The treaties are the Treaty on European Union (TEU) and the Treaty on the Functioning of the European "
        "Union (TFEU).",
        'Grainer asked, "Did I write that?"[citation needed]',
        "A different arrangement followed.",
    ]


def test_a_heading_runs_on_into_its_first_sentence_and_a_long_list_is_cut_at_its_lines():
    text = "Fruit\n\nWe sell these:\n- apples from Kent\n- pears from Devon\n- plums from Wales\nNothing else."
    assert _sentences(text) == [text]  # nothing in it ends a sentence before "else."
    assert _sentences(text, max_words=6) == [
        "Fruit",
        "We sell these:",
        "- apples from Kent",
        "- pears from Devon",
        "- plums from Wales",
        "Nothing else.",
    ]


def test_seed_passages_start_and_end_on_whole_sentences():
    doc = load_documents([SEED])[0]
    for passage in chunk_document(doc, 60, 1):
        assert passage.text[0].isupper() or passage.text[0] in '“"', passage.text[:40]
        assert passage.text.rstrip()[-1] in '.!?”"', passage.text[-40:]
