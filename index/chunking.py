"""Splitting documents into overlapping passages on sentence boundaries."""

from __future__ import annotations

import re
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


# 2: line breaks inside a paragraph no longer end sentences, and a paragraph that stops mid-sentence runs on
SPLITTER_VERSION = 2
_SEGMENTER = pysbd.Segmenter(language="en", clean=False, char_span=True)
# a line break: one alone wraps a paragraph's line, two or more (blank lines between) end the paragraph
_LINE_BREAK = re.compile(r"\r?\n(?:[ \t\r]*\n)*")
# the last character of a text that stops mid-sentence: of a word, a comma, a colon, a dash ("co-produced by",
# "arm,", "as follows:")
_OPEN_END = re.compile("[\\w,;:\\-\u2013\u2014]")  # hyphen, en dash, em dash


def split_sentences(text: str, offset: int = 0, max_words: int | None = None) -> list[Sentence]:
    """Sentences of `text` as trimmed character spans (shifted by `offset`).

    A line break inside a paragraph does not end a sentence (hard-wrapped text, e-mail, a PDF's lines), and a
    paragraph that stops mid-sentence, on a word or a comma ("co-produced by", "arm,"), runs on into the
    next one, as a heading runs on into its first sentence. A sentence of more than `max_words` words that spans
    several lines (a list, a table) is cut at its line breaks instead.
    """
    spans = _run_on(text, [_trimmed(text, span.start, span.end) for span in _SEGMENTER.segment(_unwrapped(text))])
    if max_words is not None:
        spans = [piece for span in spans for piece in _lines_of_long(text, span, max_words)]
    return [Sentence(offset + start, offset + end, len(text[start:end].split())) for start, end in spans]


def _unwrapped(text: str) -> str:
    """`text` with each line break inside a paragraph turned into spaces: same length, so offsets hold."""
    return _LINE_BREAK.sub(lambda m: m.group() if m.group().count("\n") > 1 else " " * len(m.group()), text)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    chunk = text[start:end]
    lead = len(chunk) - len(chunk.lstrip())
    return start + lead, start + len(chunk.rstrip())


def _run_on(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Empty spans dropped, and each span that stops mid-sentence joined to the next. One that ends on a bracket
    or a quote is taken as ended ("[citation needed]", "(Exodus 1: 15-19)") unless the next goes on in lower case
    ("… Union (TEU)" + "and the Treaty …": the segmenter cuts before and after brackets)."""
    joined: list[tuple[int, int]] = []
    for start, end in spans:
        if start >= end:
            continue
        if joined and _runs_on(text[joined[-1][1] - 1], text[start]):
            start = joined.pop()[0]
        joined.append((start, end))
    return joined


def _runs_on(last_char: str, next_char: str) -> bool:
    return bool(_OPEN_END.fullmatch(last_char)) or (last_char in ")]" and next_char.islower())


def _lines_of_long(text: str, span: tuple[int, int], max_words: int) -> list[tuple[int, int]]:
    """The span, or its lines when it is longer than `max_words` words and spans several."""
    start, end = span
    if len(text[start:end].split()) <= max_words or "\n" not in text[start:end]:
        return [span]
    pieces, at = [], start
    for brk in _LINE_BREAK.finditer(text, start, end):
        pieces.append(_trimmed(text, at, brk.start()))
        at = brk.end()
    pieces.append(_trimmed(text, at, end))
    return [piece for piece in pieces if piece[0] < piece[1]]


def chunk_document(document: Document, max_words: int = 120, overlap_sentences: int = 1) -> list[Passage]:
    """Group sentences into passages of at most `max_words` words (a longer sentence stands alone).

    Consecutive passages share `overlap_sentences` sentences, so an answer whose clue sits in the
    previous sentence is still read with it.
    """
    if max_words < 1 or overlap_sentences < 0:
        raise ValueError("max_words must be >= 1 and overlap_sentences >= 0")
    sentences = split_sentences(document.body, document.body_start, max_words)
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
