"""SQuAD-format data: loading examples, fixing answer positions, splitting by article."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.chunking import Sentence, split_sentences

_WORD = re.compile(r"\w+", re.UNICODE)
# Words too common to tell two occurrences of an answer apart.
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "with",
        "from",
        "and",
        "or",
        "is",
        "was",
        "are",
        "were",
        "be",
        "been",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "did",
        "do",
        "does",
        "that",
        "this",
        "these",
        "those",
        "as",
        "it",
        "its",
        "into",
        "than",
        "then",
    ]
)


class SquadFormatError(ValueError):
    """The file is not SQuAD JSON (v1.1 or v2.0)."""


@dataclass(frozen=True)
class SquadExample:
    """One question about one paragraph, with its gold answers (none when unanswerable)."""

    id: str
    title: str
    question: str
    context: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]

    @property
    def is_impossible(self) -> bool:
        return not self.answers


def read_squad_json(path: str | Path) -> dict[str, Any]:
    """Read a SQuAD JSON file and check its top-level shape."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SquadFormatError(f"{path}: cannot read SQuAD JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise SquadFormatError(f"{path}: expected an object with a 'data' list of articles")
    return data


def write_squad_json(data: dict[str, Any], out: Path) -> None:
    """Write SQuAD JSON whole, then rename it into place, so that a reader never sees half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    partial.replace(out)


def squad_of_paragraphs(source: dict[str, Any], qas: dict[tuple[int, int], list[dict[str, Any]]]) -> dict[str, Any]:
    """A SQuAD v2.0 dict of the given questions of `source`'s paragraphs ((article, paragraph) index -> questions),
    in `source`'s order, each paragraph with its context."""
    articles: list[dict[str, Any]] = []
    for (a, p), questions in sorted(qas.items()):
        article = source["data"][a]
        if not articles or articles[-1]["title"] != article["title"]:
            articles.append({"title": article["title"], "paragraphs": []})
        articles[-1]["paragraphs"].append({"context": article["paragraphs"][p]["context"], "qas": questions})
    return {"version": "v2.0", "data": articles}


def examples_from_squad(data: dict[str, Any]) -> list[SquadExample]:
    """Flatten SQuAD JSON into one example per question."""
    examples = []
    for article in data["data"]:
        title = article.get("title", "")
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                examples.append(
                    SquadExample(
                        id=str(qa["id"]),
                        title=title,
                        question=qa["question"].strip(),
                        context=context,
                        answers=tuple(a["text"] for a in answers),
                        answer_starts=tuple(int(a["answer_start"]) for a in answers),
                    )
                )
    return examples


def load_squad(path: str | Path) -> list[SquadExample]:
    """Load every question of a SQuAD v1.1 or v2.0 file."""
    try:
        return examples_from_squad(read_squad_json(path))
    except (KeyError, TypeError) as exc:
        raise SquadFormatError(f"{path}: malformed SQuAD entry ({exc!r})") from exc


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def choose_answer_occurrence(question: str, context: str, answer: str, given: int, window: int = 120) -> int:
    """Pick the occurrence of `answer` whose surroundings share most words with the question.

    The rebuilt SQuAD training set points every answer at its first occurrence; when the text
    occurs several times, the one near the question's words is far more often the right one.
    """
    starts = [m.start() for m in re.finditer(re.escape(answer), context)]
    if len(starts) < 2:
        return given if context[given : given + len(answer)] == answer or not starts else starts[0]
    question_words = _content_words(question)

    def overlap(start: int) -> int:
        around = (
            context[max(0, start - window) : start] + " " + context[start + len(answer) : start + len(answer) + window]
        )
        return len(question_words & _content_words(around))

    # max() keeps the first of equal scores, so ties stay with the given occurrence order.
    return max(starts, key=overlap)


def with_chosen_occurrences(examples: list[SquadExample]) -> list[SquadExample]:
    """Return examples whose first answer points at its most plausible occurrence."""
    fixed = []
    for ex in examples:
        if ex.is_impossible:
            fixed.append(ex)
            continue
        start = choose_answer_occurrence(ex.question, ex.context, ex.answers[0], ex.answer_starts[0])
        fixed.append(SquadExample(ex.id, ex.title, ex.question, ex.context, ex.answers, (start, *ex.answer_starts[1:])))
    return fixed


def negative_examples(examples: list[SquadExample], ratio: float, seed: int) -> list[SquadExample]:
    """Unanswerable examples: answerable questions paired with another paragraph of their article.

    About `ratio` of the answerable questions get one, drawn from the paragraphs of the same article
    that contain none of the question's gold answers. Retrieval hands the reader such passages all the
    time: the question is about the document, the passage just does not answer it.
    """
    if ratio <= 0:
        return []
    rng = random.Random(seed)
    by_title: dict[str, dict[str, str]] = {}  # article -> its paragraphs (first-seen order) -> lower-cased
    for ex in examples:
        by_title.setdefault(ex.title, {}).setdefault(ex.context, ex.context.lower())
    negatives = []
    for ex in examples:
        if ex.is_impossible or rng.random() >= ratio:
            continue
        answers = [a.lower() for a in ex.answers]
        others = [c for c, low in by_title[ex.title].items() if c != ex.context and not any(a in low for a in answers)]
        if others:
            negatives.append(SquadExample(f"{ex.id}-neg", ex.title, ex.question, rng.choice(others), (), ()))
    return negatives


NEGATIVE_KINDS = ("other-paragraph", "answer-removed")


def answer_removed_examples(examples: list[SquadExample], ratio: float, seed: int) -> list[SquadExample]:
    """Unanswerable examples: answerable questions with their own paragraph, less the sentences holding the answer.

    About `ratio` of the answerable questions get one. What is left is on the question's topic, often with its
    words and with near-miss names and numbers, but no longer answers it: harder than another paragraph, and
    closer to what retrieval hands the reader. Skipped when a gold answer still occurs in what is left, or
    when nothing is left.
    """
    if ratio <= 0:
        return []
    rng = random.Random(seed)
    sentences: dict[str, list[Sentence]] = {}
    negatives = []
    for ex in examples:
        if ex.is_impossible or rng.random() >= ratio:
            continue
        if ex.context not in sentences:
            sentences[ex.context] = split_sentences(ex.context)
        start = ex.answer_starts[0]
        end = start + len(ex.answers[0])
        kept = [s for s in sentences[ex.context] if s.end <= start or s.start >= end]
        if not kept or len(kept) == len(sentences[ex.context]):
            continue
        text = " ".join(ex.context[s.start : s.end] for s in kept)
        if any(a.lower() in text.lower() for a in ex.answers):
            continue
        negatives.append(SquadExample(f"{ex.id}-cut", ex.title, ex.question, text, (), ()))
    return negatives


def unanswerable_examples(examples: list[SquadExample], ratio: float, seed: int, kind: str) -> list[SquadExample]:
    """Made-up unanswerable examples of one kind (see NEGATIVE_KINDS) for about `ratio` of the answerable ones."""
    if kind == "other-paragraph":
        return negative_examples(examples, ratio, seed)
    if kind == "answer-removed":
        return answer_removed_examples(examples, ratio, seed)
    raise ValueError(f"unknown kind of negatives {kind!r}: one of {', '.join(NEGATIVE_KINDS)}")


def split_by_article(data: dict[str, Any], holdout: int, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split SQuAD JSON into (train, holdout) with `holdout` whole articles held out."""
    articles = list(data["data"])
    if not 0 < holdout < len(articles):
        raise ValueError(f"holdout must be between 1 and {len(articles) - 1} articles, got {holdout}")
    order = sorted(range(len(articles)), key=lambda i: articles[i].get("title", ""))
    random.Random(seed).shuffle(order)
    held = set(order[:holdout])
    version = data.get("version", "")
    train = {"version": version, "data": [a for i, a in enumerate(articles) if i not in held]}
    kept = {"version": version, "data": [a for i, a in enumerate(articles) if i in held]}
    return train, kept


def drop_seen_contexts(examples: list[SquadExample], seen: list[SquadExample]) -> list[SquadExample]:
    """Remove examples whose paragraph or article also appears in `seen` (no scores on trained text)."""
    contexts = {ex.context for ex in seen}
    titles = {ex.title for ex in seen if ex.title}
    return [ex for ex in examples if ex.context not in contexts and ex.title not in titles]
