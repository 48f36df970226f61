"""Splitting documents into overlapping passages on sentence boundaries."""

from __future__ import annotations

from dataclasses import dataclass

import pysbd

from index.documents import Document


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences of one document; `start`/`end` are offsets into `Document.text`."""

    document: str
    index: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    words: int


_SEGMENTER = pysbd.Segmenter(language="en", clean=False, char_span=True)


def split_sentences(text: str, offset: int = 0) -> list[Sentence]:
    """Sentences of `text` as trimmed character spans (shifted by `offset`)."""
    sentences = []
    for span in _SEGMENTER.segment(text):
        chunk = text[span.start : span.end]
        lead = len(chunk) - len(chunk.lstrip())
        stripped = chunk.strip()
        if stripped:
            start = offset + span.start + lead
            sentences.append(Sentence(start, start + len(stripped), len(stripped.split())))
    return sentences


def chunk_document(document: Document, max_words: int = 120, overlap_sentences: int = 1) -> list[Passage]:
    """Group sentences into passages of at most `max_words` words (a longer sentence stands alone).

    Consecutive passages share `overlap_sentences` sentences, so an answer whose clue sits in the
    previous sentence is still read with it.
    """
    if max_words < 1 or overlap_sentences < 0:
        raise ValueError("max_words must be >= 1 and overlap_sentences >= 0")
    sentences = split_sentences(document.body, document.body_start)
    groups: list[list[Sentence]] = []
    first = 0
    while first < len(sentences):
        last, words = first, sentences[first].words
        while last + 1 < len(sentences) and words + sentences[last + 1].words <= max_words:
            last += 1
            words += sentences[last].words
        groups.append(sentences[first : last + 1])
        if last + 1 >= len(sentences):
            break
        first = max(first + 1, last + 1 - overlap_sentences)
    return [
        Passage(document.id, i, document.text[g[0].start : g[-1].end], g[0].start, g[-1].end)
        for i, g in enumerate(groups)
    ]
