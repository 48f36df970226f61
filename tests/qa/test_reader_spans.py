from index.chunking import Passage
from qa.reader import Span, distinct_spans

TEXT = "Tencent is based in Shenzhen. The Shenzhen-based company works with the BBC."
FIRST = Passage("doc.txt", 0, TEXT[:29], 0, 29)  # the first sentence
BOTH = Passage("doc.txt", 1, TEXT, 0, len(TEXT))  # overlaps FIRST


def span(passage: Passage, word: str, score: float, nth: int = 0) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = passage.text.index(word, start + 1)
    return Span(passage, start, start + len(word), score, logit=score, null_logit=0.0)


def test_the_same_document_span_read_in_two_overlapping_passages_is_kept_once():
    spans = [span(BOTH, "Shenzhen", 0.6), span(FIRST, "Shenzhen", 0.5), span(BOTH, "the BBC", 0.2)]
    kept = distinct_spans(spans)
    assert [(s.passage.index, s.text, s.score) for s in kept] == [(1, "Shenzhen", 0.6), (1, "the BBC", 0.2)]


def test_the_same_words_elsewhere_and_empty_or_article_only_spans_are_dropped():
    later_shenzhen = span(BOTH, "Shenzhen", 0.3, nth=1)  # another place, same words
    the = span(BOTH, "the", 0.25)  # nothing left after SQuAD normalisation
    kept = distinct_spans([span(BOTH, "Shenzhen", 0.6), later_shenzhen, the, span(BOTH, "BBC", 0.1)])
    assert [s.text for s in kept] == ["Shenzhen", "BBC"]
