"""Reading in context: the retrieved passages of a document read as one text, in document order.

Passages are read one by one by default, so an answer whose clue sits in the passage before it is read without the
clue. In context, each document's retrieved passages are put back in document order, merged where they overlap or
touch (a run of the document's own text), and the runs joined into one context that the reader reads in windows
like any long passage. Each span found is then told in the retrieved passage that holds it, so answers cite the
same passages either way; a span across the join between two runs is not text of the document and is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from index.chunking import Passage
from qa.reader import Span

# Between runs that do not touch: a paragraph break, which the reader has seen between the sentences of SQuAD.
JOIN = "\n\n"


@dataclass(frozen=True)
class Run:
    """A stretch of one document's text made of retrieved passages that overlap or touch, and where it lies in its
    context."""

    passages: tuple[Passage, ...]
    text: str
    start: int  # offset of the run in its document
    at: int  # offset of the run in its context


@dataclass(frozen=True)
class Context:
    """One document's retrieved passages as one text to read: a passage of its own, with its runs."""

    passage: Passage
    runs: tuple[Run, ...]

    def locate(self, span: Span) -> Span | None:
        """`span` (offsets in this context) told in the retrieved passage that holds it, else in its run; None
        when it crosses from one run to the next."""
        run = next((r for r in self.runs if r.at <= span.start and span.end <= r.at + len(r.text)), None)
        if run is None:
            return None
        start, end = run.start + span.start - run.at, run.start + span.end - run.at  # offsets in the document
        holder = next((p for p in run.passages if p.start <= start and end <= p.end), None)
        if holder is not None:
            return replace(span, passage=holder, start=start - holder.start, end=end - holder.start)
        whole = Passage(run.passages[0].document, run.passages[0].index, run.text, run.start, run.start + len(run.text))
        return replace(span, passage=whole, start=start - run.start, end=end - run.start)


def contexts(passages: Sequence[Passage]) -> list[Context]:
    """The passages as one context per document, documents in the order of their best passage."""
    documents: dict[str, list[Passage]] = {}
    for passage in passages:
        documents.setdefault(passage.document, []).append(passage)
    return [_context(group) for group in documents.values()]


def _context(passages: list[Passage]) -> Context:
    ordered = sorted({(p.start, p.end, p.index): p for p in passages}.values(), key=lambda p: (p.start, p.end))
    groups: list[list[Passage]] = []
    end = -1
    for passage in ordered:
        if groups and passage.start <= end:
            groups[-1].append(passage)
        else:
            groups.append([passage])
        end = max(end, passage.end)
    runs: list[Run] = []
    at = 0
    for group in groups:
        text = _merged_text(group)
        runs.append(Run(tuple(group), text, group[0].start, at))
        at += len(text) + len(JOIN)
    first = groups[0][0]
    text = JOIN.join(run.text for run in runs)
    return Context(Passage(first.document, first.index, text, first.start, max(p.end for p in ordered)), tuple(runs))


def _merged_text(group: list[Passage]) -> str:
    """The document text the overlapping or touching passages cover, from their own texts."""
    text, end = group[0].text, group[0].end
    for passage in group[1:]:
        if passage.end > end:
            text += passage.text[end - passage.start :]
            end = passage.end
    return text
