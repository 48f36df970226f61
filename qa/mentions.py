"""What a question or an answer talks about, read from spaCy's tags, parse and entities: the questioned
(wh-) phrase and its shape, the noun phrases and names a turn mentions, and of what kind each is (person, thing,
place or group), for `qa.conversation` to resolve pronouns and ellipsis against."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from spacy.tokens import Doc, Span, Token

PERSON_PRONOUNS = frozenset({"he", "him", "his", "she", "her", "hers", "himself", "herself"})
THING_PRONOUNS = frozenset({"it", "its", "itself", "this", "that"})
GROUP_PRONOUNS = frozenset({"they", "them", "their", "theirs", "themselves", "these", "those"})
PRONOUNS = PERSON_PRONOUNS | THING_PRONOUNS | GROUP_PRONOUNS

# Singular nouns that, after "the", "this" or "that" and with nothing to pin them down, refer back to an entity of
# the conversation ("the company" = the company just named). Kept to roles whose antecedent is a named entity.
ROLE_NOUNS: dict[str, str] = {
    **dict.fromkeys(["executive", "president", "chairman", "chairwoman", "ceo", "founder", "director"], "person"),
    **dict.fromkeys(["man", "woman", "official", "spokesman", "spokeswoman", "minister", "businessman"], "person"),
    **dict.fromkeys(["company", "firm", "giant", "corporation", "conglomerate", "broadcaster", "university"], "thing"),
    **dict.fromkeys(["college", "institution", "organisation", "organization", "agency", "bank", "studio"], "thing"),
    **dict.fromkeys(["documentary", "film", "movie", "series", "programme", "program", "book", "website"], "thing"),
    **dict.fromkeys(["city", "country", "town"], "place"),
}
AUXILIARIES = frozenset(
    {"do", "does", "did", "is", "are", "was", "were", "am", "be", "been", "will", "would", "can", "could"}
    | {"shall", "should", "may", "might", "must", "has", "have", "had"}
)
_MEASURE_WORDS = frozenset({"many", "much", "long", "old", "far", "often", "big", "large", "soon"})
_TIME_NOUNS = frozenset({"year", "date", "day", "time", "month", "week", "amount", "number", "age"})
NUMERIC_ENTITIES = frozenset({"DATE", "TIME", "CARDINAL", "MONEY", "QUANTITY", "PERCENT", "ORDINAL"})
_PLACE_ENTITIES = frozenset({"GPE", "LOC"})
_NOMINAL = frozenset({"DET", "ADJ", "NOUN", "PROPN", "NUM"})
SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
_WH_TAGS = frozenset({"WDT", "WP", "WP$", "WRB"})


@dataclass(frozen=True)
class Mention:
    """Something an earlier turn talked about, that a pronoun or definite reference may point back to.

    `kind` is person, thing, place or group; `noun` is the common noun that names it: its head noun, or the noun
    questioned for an answer ("documentary" for the answer to "Which documentary ...?").
    """

    text: str
    kind: str
    noun: str = ""
    proper: bool = False
    answered: bool = False  # the answer of the turn, not a phrase of its question
    subject: bool = False  # the subject of the turn's question


@dataclass(frozen=True)
class WhPhrase:
    """The questioned phrase of a question: tokens [start, end), with what it says about the question's shape."""

    start: int
    end: int
    adverbial: bool  # when, where, why, how, or a phrase led by a preposition ("In which city")
    subject: bool  # the phrase is the question's subject ("Who signed ...")
    measure: bool  # asks for a time, a number or an amount: its answer is no antecedent
    noun: str  # the noun questioned: "documentary" in "Which documentary"
    word: str  # the wh-word, lower-cased
    at: int  # the wh-word's token


# --- the shape of a question ---------------------------------------------------------------------------------------


def find_wh_phrase(doc: Doc) -> WhPhrase | None:
    """The fronted wh-phrase ("Which documentary", "How many views", "In which city", "When"), None in a yes/no
    question."""
    wh = next((t for t in doc if t.tag_ in _WH_TAGS), None)
    if wh is None or any(t.pos_ not in {"CCONJ", "ADP", "INTJ", "PUNCT"} for t in doc[: wh.i]):
        return None
    end = wh.i + 1
    measure = wh.lower_ == "when"
    if wh.lower_ == "how":
        while end < len(doc) and doc[end].lower_ in _MEASURE_WORDS:
            measure, end = True, end + 1
    end = _nominal_end(doc, end)
    nouns = [t for t in doc[wh.i + 1 : end] if t.pos_ in {"NOUN", "PROPN"}]
    noun = _questioned_noun(nouns)
    measure = measure or noun in _TIME_NOUNS
    start = wh.i - 1 if wh.i > 0 and doc[wh.i - 1].pos_ == "ADP" else wh.i
    bare_adverb = wh.tag_ == "WRB" and end == wh.i + 1
    adverbial = doc[start].pos_ == "ADP" or bare_adverb
    subject = not adverbial and _is_subject(doc, end)
    return WhPhrase(start, end, adverbial, subject, measure, noun, wh.lower_, wh.i)


def _nominal_end(doc: Doc, i: int) -> int:
    """The end of the nominal words from token i ("British institutions", "country's", "kind of documentary")."""
    while i < len(doc):
        token = doc[i]
        if token.lower_ in AUXILIARIES or token.tag_ == "MD":
            break
        kind_of = token.lower_ == "of" and doc[i - 1].lower_ in {"kind", "type", "sort"}
        if not (token.pos_ in {"ADJ", "NOUN", "PROPN", "NUM"} or token.tag_ == "POS" or kind_of):
            break
        i += 1
    return i


def _questioned_noun(nouns: list[Token]) -> str:
    if not nouns:
        return ""
    if nouns[0].lemma_.lower() in {"kind", "type", "sort"} and len(nouns) > 1:
        return nouns[1].lemma_.lower()
    possessor = next((t for t in nouns if t.i + 1 < len(t.doc) and t.doc[t.i + 1].tag_ == "POS"), None)
    return (possessor or nouns[-1]).lemma_.lower()


def _is_subject(doc: Doc, end: int) -> bool:
    """Whether the wh-phrase ending at `end` is the subject: a verb follows it, not an inverted auxiliary + subject."""
    if end >= len(doc):
        return False
    following = doc[end]
    after = doc[end + 1] if end + 1 < len(doc) else None
    if following.lower_ in AUXILIARIES or following.tag_ == "MD":
        return after is not None and after.tag_ in {"VBG", "VBN"}
    return following.tag_.startswith("VB")


def verbless_fragment(doc: Doc) -> Span | None:
    """The content of a question without a verb ("which broadcaster" in "And which broadcaster?"), else None."""
    tokens = [t for t in doc if not t.is_punct]
    if any(t.pos_ in {"VERB", "AUX"} for t in tokens):
        return None
    start = 0
    text = doc.text.lower()
    for opener in ("what about", "how about"):
        if text.startswith(opener) or text.startswith("and " + opener):
            start = 3 if text.startswith("and") else 2
    while start < len(doc) and doc[start].pos_ in {"CCONJ", "INTJ", "PUNCT"} and doc[start].tag_ != "WRB":
        start += 1
    end = len(doc)
    while end > start and doc[end - 1].is_punct:
        end -= 1
    return doc[start:end] if end > start else None


# --- mentions: what earlier turns talked about ---------------------------------------------------------------------


def noun_phrases(doc: Doc, skip: range = range(0)) -> Iterator[Span]:
    """Maximal runs of nominal words outside `skip`, each with a noun: "the BBC", "China's domestic AI industry"."""
    start = None
    for token in [*doc, None]:
        nominal = token is not None and token.i not in skip and _is_nominal(token, start is None)
        if nominal and token is not None and token.pos_ == "DET" and start is not None:
            yield from _with_noun(doc[start : token.i])
            start = token.i
        elif nominal and start is None and token is not None:
            start = token.i
        elif not nominal and start is not None:
            yield from _with_noun(doc[start : token.i if token is not None else len(doc)])
            start = None


def _is_nominal(token: Token, first: bool) -> bool:
    if token.lower_ in PRONOUNS or token.tag_ in _WH_TAGS or token.lower_ in AUXILIARIES:
        return False
    if any(child.dep_ in {"aux", "auxpass"} for child in token.children):
        return False  # a verb the tagger took for a noun: "sign" in "What did Tencent sign?"
    compound = _hyphenated(token)
    if len(compound) > 1:
        return _is_adjective(compound)
    return token.pos_ in _NOMINAL or (token.tag_ == "POS" and not first)


def _is_adjective(compound: Span) -> bool:
    """Whether a hyphenated word modifies a noun ("so-called", "Shenzhen-based company") rather than being the
    verb ("Who co-produced X", "did Tencent co-produce")."""
    doc = compound.doc
    before = doc[compound.start - 1] if compound.start > 0 else None
    after = doc[compound.end] if compound.end < len(doc) else None
    if before is not None and before.pos_ in {"DET", "ADJ"}:
        return True
    if not compound[-1].tag_.startswith("VB"):
        return True
    participle_before_noun = compound[-1].tag_ in {"VBN", "VBG"} and after is not None and after.pos_ in _NOMINAL
    return participle_before_noun and (before is None or before.tag_ not in _WH_TAGS)


def _hyphenated(token: Token) -> Span:
    """The hyphenated word `token` is part of ("co-produce" as co, -, produce), or the token alone."""
    doc = token.doc
    start = token.i
    while start > 0 and doc[start - 1].whitespace_ == "" and "-" in (doc[start - 1].text, doc[start].text):
        start -= 1
    end = token.i + 1
    while end < len(doc) and doc[end - 1].whitespace_ == "" and "-" in (doc[end - 1].text, doc[end].text):
        end += 1
    return doc[start:end]


def _with_noun(span: Span) -> Iterator[Span]:
    while len(span) and (span[-1].pos_ not in {"NOUN", "PROPN", "NUM"} or span[-1].tag_ == "POS"):
        span = span[:-1]
    if any(t.pos_ in {"NOUN", "PROPN"} for t in span):
        yield span


def _extended(span: Span) -> Span:
    """A common-noun phrase with its "of" / "between" complement: "the partnership between the BBC and X"."""
    doc, end = span.doc, span.end
    if span[-1].pos_ != "NOUN" or end >= len(doc) or doc[end].lower_ not in {"of", "between"}:
        return span
    end += 1
    while end < len(doc) and (doc[end].pos_ in _NOMINAL or doc[end].tag_ == "POS" or doc[end].lower_ in {"and", ","}):
        end += 1
    while end > span.end and doc[end - 1].pos_ not in {"NOUN", "PROPN", "NUM"}:
        end -= 1
    return doc[span.start : end] if end > span.end + 1 else span


def _kind(span: Span) -> str:
    """person, place, group or thing, from the entity labels and the head noun."""
    head = head_noun(span)
    labels = {t.ent_type_ for t in span if t.ent_type_}
    role = ROLE_NOUNS.get(head.lower_, "")
    if "PERSON" in labels and head.ent_type_ == "PERSON":
        return "person"
    if role:
        return role
    if head.pos_ == "NOUN" and head.tag_ in {"NNS", "NNPS"} and head.lemma_.lower() != head.lower_:
        return "group"
    if head.ent_type_ in _PLACE_ENTITIES:
        return "place"
    return "thing"


def head_noun(span: Span) -> Token:
    """The head noun: the last noun before a complement or possessive ending."""
    nouns = [t for t in span if t.pos_ in {"NOUN", "PROPN", "NUM"}]
    for t in span:
        if t.lower_ in {"of", "between"} and nouns and nouns[0].i < t.i:
            return [n for n in nouns if n.i < t.i][-1]
    return nouns[-1] if nouns else span[-1]


def _mention(span: Span, noun: str = "") -> Mention:
    head = head_noun(span)
    return Mention(phrase_text(span), _kind(span), noun or head.lemma_.lower(), is_name(head))


def is_name(token: Token) -> bool:
    """A proper name, by tag or by its capitals: the tagger reads a one-word answer ("Tencent") as a common noun."""
    if token.pos_ == "PROPN":
        return True
    text = token.text
    sentence_start = token.i == 0 and token.doc.text.rstrip().endswith("?")
    return token.pos_ == "NOUN" and (any(c.isupper() for c in text[1:]) or (text[:1].isupper() and not sentence_start))


def phrase_text(span: Span) -> str:
    return " ".join(span.text.split())


def question_mentions(doc: Doc, wh: WhPhrase | None) -> list[Mention]:
    """What a question talks about, subject first, then in order; possessors and names inside phrases after."""
    skip = range(wh.start, wh.end) if wh else range(0)
    phrases = list(noun_phrases(doc, skip))
    # the subject is the phrase after the inverted auxiliary ("did Tencent sign"), parsed as one or not
    after_auxiliary = wh.end + 1 if wh is not None and wh.end < len(doc) and doc[wh.end].lower_ in AUXILIARIES else -1
    subjects = [p for p in phrases if any(t.dep_ in SUBJECT_DEPS for t in p) or p.start == after_auxiliary]
    ordered = subjects + [p for p in phrases if p not in subjects]
    mentions = []
    for phrase in ordered:
        mentions.append(replace(_mention(_extended(phrase)), subject=phrase in subjects))
        owner = possessor_end(phrase)
        if owner is not None and owner - 1 > phrase.start:  # "Tencent's CEO" also mentions Tencent
            mentions.append(_mention(doc[phrase.start : owner - 1]))
    names = [e for e in doc.ents if e.label_ not in NUMERIC_ENTITIES and not (set(range(e.start, e.end)) & set(skip))]
    mentions += [_mention(e) for e in names]
    unique = list({m.text.lower(): m for m in reversed(mentions)}.values())[::-1]
    # an indefinite phrase ("a memorandum") introduces something new; the topic is more often a name or "the X"
    return sorted(unique, key=lambda m: m.text.lower().startswith(("a ", "an ")))


def answer_mention(answer: Doc, wh: WhPhrase | None) -> Mention | None:
    """The answer as something to refer back to; None for a time, a number, an amount or a clause."""
    if wh is not None and wh.measure:
        return None
    if answer[0].tag_ in {"VBG", "TO", "VB"} or any(e.label_ in NUMERIC_ENTITIES for e in answer.ents):
        return None
    phrases = list(noun_phrases(answer))
    if not phrases:
        return None
    proper = any(is_name(t) for t in phrases[0])
    noun = wh.noun if wh else ""
    if len(phrases) > 1 and any(t.lower_ in {"and", ","} for t in answer[phrases[0].end : phrases[-1].start]):
        return Mention(answer.text, "group", noun, proper, answered=True)
    kind = ROLE_NOUNS.get(noun) or _kind(answer[:])
    if (
        wh is not None
        and wh.word in {"who", "whom"}
        and kind == "thing"
        and proper
        and not _names_an_organisation(answer)
    ):
        kind = "person"
    return Mention(answer.text, kind, noun, proper, answered=True)


def _names_an_organisation(answer: Doc) -> bool:
    return any(e.label_ in {"ORG", "GPE", "NORP", "FAC", "LOC"} for e in answer.ents) or any(
        t.lower_ in ROLE_NOUNS or t.lower_ in {"government", "council", "department"} for t in answer
    )


def is_definitional(doc: Doc, wh: WhPhrase | None) -> bool:
    """ "What is X?", "What kind of company is X?": the answer describes X, and X stays the topic."""
    if wh is None or wh.adverbial or wh.end >= len(doc):
        return False
    return doc[wh.end].lemma_ == "be" and all(
        t.pos_ in _NOMINAL or t.is_punct or t.tag_ == "POS" for t in doc[wh.end + 1 :]
    )


def possessor_end(span: Span) -> int | None:
    """The token after the possessive ending in `span` ("Tencent's | film production arm"), if it has one."""
    return next((t.i + 1 for t in span if t.tag_ == "POS"), None)
