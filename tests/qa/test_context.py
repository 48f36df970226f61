"""Reading in context: a document's retrieved passages as one text in document order, and spans told back in them."""

from collections.abc import Sequence

from index.chunking import Passage
from qa.context import JOIN, contexts
from qa.pipeline import Answerer
from qa.reader import Span
from qa.settings import Settings

TEXT = "Ann founded Acme. Acme is in Oslo. Oslo is cold. Bob runs Acme now. Bob likes tea."


def passage(document: str, index: int, start: int, end: int, text: str = TEXT) -> Passage:
    return Passage(document, index, text[start:end], start, end)


# sentences: [0, 17) [18, 34) [35, 48) [49, 67) [68, 81)
P0, P1, P3 = passage("a", 0, 0, 34), passage("a", 1, 18, 48), passage("a", 3, 49, 81)


def test_passages_that_overlap_merge_into_one_run_and_runs_join_in_document_order():
    (context,) = contexts([P3, P1, P0])
    assert [r.text for r in context.runs] == [TEXT[0:48], TEXT[49:81]]
    assert context.passage.text == TEXT[0:48] + JOIN + TEXT[49:81]
    assert (context.passage.document, context.passage.index) == ("a", 0)


def test_each_document_is_a_context_of_its_own_in_the_order_of_its_best_passage():
    other = Passage("b", 0, "Elsewhere.", 0, 10)
    assert [c.passage.document for c in contexts([other, P0])] == ["b", "a"]


def test_a_span_is_told_in_the_retrieved_passage_that_holds_it():
    (context,) = contexts([P3, P1, P0])
    at = context.passage.text.index("Oslo is cold")
    span = context.locate(Span(context.passage, at, at + len("Oslo is cold"), 0.9, 5.0, -1.0))
    assert span is not None and span.passage == P1 and span.text == "Oslo is cold"
    at = context.passage.text.index("Bob likes")
    later = context.locate(Span(context.passage, at, at + 3, 0.5, 1.0, -1.0))
    assert later is not None and later.passage == P3 and (later.start, later.text) == (19, "Bob")


def test_a_span_across_two_passages_of_a_run_is_told_in_the_run_and_across_runs_dropped():
    (context,) = contexts([P0, P1, P3])
    at = context.passage.text.index("Acme is in Oslo. Oslo")
    across = context.locate(Span(context.passage, 12, at + len("Acme is in Oslo. Oslo"), 0.5, 1.0, -1.0))
    assert across is not None and across.text == "Acme. Acme is in Oslo. Oslo" and across.passage.start == 0
    gap = context.passage.text.index(JOIN)
    assert context.locate(Span(context.passage, gap - 4, gap + 5, 0.5, 1.0, -1.0)) is None


class WholeTextReader:
    """Finds "Oslo" in whatever it reads, and records what it was given."""

    name = "whole-text-reader"

    def __init__(self) -> None:
        self.read: list[list[str]] = []

    def read_batch(self, asked: Sequence[tuple[str, Sequence[Passage]]], per_window: int = 5) -> list[list[Span]]:
        self.read.append([p.text for _, passages in asked for p in passages])
        found = []
        for _, passages in asked:
            spans = []
            for p in passages:
                at = p.text.find("Oslo")
                spans += [Span(p, at, at + 4, 0.9, 5.0, -1.0)] if at >= 0 else []
            found.append(spans)
        return found


def test_in_context_the_pipeline_reads_one_text_per_document_in_one_pass_and_cites_the_passages():
    reader = WholeTextReader()
    settings = Settings(read_in_context=True)
    answerer = Answerer(settings, embedder=None, store=None, reader=reader)  # type: ignore[arg-type]
    (spans,) = answerer.read(["Where is Acme?"], [[P3, P1, P0]])
    assert reader.read == [[TEXT[0:48] + JOIN + TEXT[49:81]]]
    assert [(s.passage, s.text) for s in spans] == [(P0, "Oslo")]
