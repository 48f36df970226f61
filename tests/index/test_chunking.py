import itertools
from pathlib import Path

import pytest

from index.chunking import chunk_document
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
    doc = parse_document("t.txt", Path("t.txt"), text.encode())
    passages = chunk_document(doc, 20, 0)
    assert all(len(p.text.split()) <= 20 or p.text.count(".") == 1 for p in passages)
    assert any(len(p.text.split()) >= 80 for p in passages)


def test_bad_sizes_are_refused():
    doc = load_documents([SEED])[0]
    with pytest.raises(ValueError):
        chunk_document(doc, 0, 1)
