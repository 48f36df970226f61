"""Fitting the answer verifier (qa/verifier.py) on pipeline answers to SQuAD questions.

`collect` runs the serving pipeline over SQuAD articles, each indexed alone as a user would index one report, and
keeps for every question the verifier's features of the best span and whether that span is exactly right (an
unanswerable question's span never is). `fit` fits the logistic model on such rows; `sweep` shows, on held-out
rows, what each confidence threshold would withhold.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.documents import Document, parse_document
from index.indexing import index_documents, manifest_of
from index.store import open_store
from qa.cascade import RULE_FILE, ReaderRule, save_rule
from qa.library import chunking_of
from qa.metrics import best_over_gold
from qa.metrics import calibration_error as expected_calibration_error
from qa.pipeline import Answerer
from qa.verifier import FEATURES, NULL_MARGIN_SCALE, Verifier, features, fit_platt
from training.features import save_npz
from training.squad import examples_from_squad, read_squad_json

log = logging.getLogger(__name__)
BATCH = 16


@dataclass
class Rows:
    """Verifier inputs with their labels: one row per question the pipeline read."""

    x: np.ndarray  # [n, len(FEATURES)]
    right: np.ndarray  # [n] bool: the best span is exactly right
    answerable: np.ndarray  # [n] bool
    reader_answers: np.ndarray  # [n] bool: the pipeline's rule without a verifier answers (not withheld)
    # [n] int: each row's question, numbered in the order asked (rows of two readers over one file pair up by it);
    # None in rows written before it was kept
    question: np.ndarray | None = None

    @classmethod
    def load(cls, paths: Sequence[Path]) -> Rows:
        parts = [np.load(p) for p in paths]
        names = ("x", "right", "answerable", "reader_answers")
        numbered = all("question" in p for p in parts)
        question = np.concatenate([p["question"] for p in parts]) if numbered and len(parts) == 1 else None
        x, right, answerable, reader_answers = (np.concatenate([p[name] for p in parts]) for name in names)
        return cls(x, right, answerable, reader_answers, question)

    def save(self, path: Path) -> None:
        numbers = {} if self.question is None else {"question": self.question}
        arrays = {
            "x": self.x,
            "right": self.right,
            "answerable": self.answerable,
            "reader_answers": self.reader_answers,
        }
        save_npz(path, **arrays, **numbers)

    @property
    def span_scores(self) -> np.ndarray:
        """Each best span's probability."""
        return self.x[:, FEATURES.index("span_score")]

    @property
    def null_margins(self) -> np.ndarray:
        """How far each best span's logit beats "no answer", in logits (QA_NULL_MARGIN's unit)."""
        return self.x[:, FEATURES.index("null_margin")] * NULL_MARGIN_SCALE

    def given_under(self, min_score: float, null_margin: float) -> np.ndarray:
        """Which best spans a reader's rule (QA_MIN_SCORE, QA_NULL_MARGIN) would give as answers."""
        return (self.span_scores >= min_score) & (self.null_margins >= null_margin)

    def subset(self, keep: np.ndarray) -> Rows:
        """The rows where `keep` (a boolean mask or indices) selects."""
        question = None if self.question is None else self.question[keep]
        return Rows(self.x[keep], self.right[keep], self.answerable[keep], self.reader_answers[keep], question)


def article_document(article: dict[str, Any]) -> Document:
    name = f"{article.get('title', 'article')}.txt"
    text = "\n\n".join(paragraph["context"] for paragraph in article["paragraphs"]) + "\n"
    return parse_document(name.replace("/", "_"), name.replace("/", "_"), text.encode("utf-8"))


def collect(answerer: Answerer, articles: Sequence[dict[str, Any]], progress: bool = True) -> Rows:
    """Ask every question of every article of the pipeline, each article indexed alone."""
    from tqdm import tqdm

    rows: list[tuple[np.ndarray, bool, bool, bool, int]] = []
    total = sum(len(p["qas"]) for a in articles for p in a["paragraphs"])
    asked = 0
    with tqdm(total=total, desc="questions", unit="q", disable=not progress) as bar:
        for article in articles:
            examples = examples_from_squad({"data": [article]})
            with tempfile.TemporaryDirectory() as folder:
                store = open_store(folder, manifest_of(answerer.embedder, chunking_of(answerer.settings)))
                index_documents(store, [article_document(article)], answerer.embedder, chunking_of(answerer.settings))
                pipeline = Answerer(answerer.settings, answerer.embedder, store, answerer.reader, answerer.resolver)
                for lo in range(0, len(examples), BATCH):
                    batch = examples[lo : lo + BATCH]
                    rows.extend(_rows(pipeline, [ex.question for ex in batch], [ex.answers for ex in batch], asked))
                    asked += len(batch)
                    bar.update(len(batch))
                store.close()
    return Rows(
        np.stack([r[0] for r in rows]) if rows else np.zeros((0, len(FEATURES))),
        np.array([r[1] for r in rows], dtype=bool),
        np.array([r[2] for r in rows], dtype=bool),
        np.array([r[3] for r in rows], dtype=bool),
        np.array([r[4] for r in rows], dtype=np.int64),
    )


def _rows(pipeline: Answerer, questions: list[str], golds: list[tuple[str, ...]], first: int = 0) -> list:
    """The features of each question's best span, as the serving pipeline reads it (questions it does not read,
    not being about the article, are left out: the verifier never sees them), each numbered from `first`."""
    retrieved = [pipeline.retrieve(q, pipeline.settings.top_k) for q in questions]
    spans = pipeline.read(questions, retrieved)
    out = []
    for number, (question, gold, found) in enumerate(zip(questions, golds, spans, strict=True), start=first):
        if not found:
            continue
        right = bool(gold) and best_over_gold(found[0].text, gold)[0] == 1.0
        out.append((features(question, found), right, bool(gold), pipeline.reader_rule(found[0]), number))
    return out


def fit(rows: Rows, c: float = 1.0) -> Verifier:
    """Two logistic regressions (scikit-learn, the [train] extra) on the features: of "the best span is right",
    and of "the question is answerable" (the gate)."""
    from sklearn.linear_model import LogisticRegression

    right = LogisticRegression(C=c, max_iter=3000).fit(rows.x, rows.right)
    gate = LogisticRegression(C=c, max_iter=3000).fit(rows.x, rows.answerable)
    return Verifier(
        right.coef_[0].astype(np.float64),
        float(right.intercept_[0]),
        gate.coef_[0].astype(np.float64),
        float(gate.intercept_[0]),
    )


def probabilities(verifier: Verifier, rows: Rows) -> np.ndarray:
    return np.array([verifier.calibrate(verifier.logit(x)) for x in rows.x])


def sweep(verifier: Verifier, rows: Rows, thresholds: Sequence[float]) -> list[dict[str, float]]:
    """For each threshold on the gate: answerable questions withheld (wrong abstentions), unanswerable ones
    withheld, the exact match of what is answered and the calibration error of its scores."""
    p = probabilities(verifier, rows)
    gate = np.array([verifier.answerable(x) for x in rows.x])
    table = []
    for t in thresholds:
        answered = gate >= t
        table.append(
            {
                "threshold": t,
                "wrong_abstentions": _pct(np.sum(~answered & rows.answerable), np.sum(rows.answerable)),
                "unanswerable_withheld": _pct(np.sum(~answered & ~rows.answerable), np.sum(~rows.answerable)),
                "answered_exact": _pct(np.sum(answered & rows.right), np.sum(answered)),
                "ece_answered": round(100 * expected_calibration_error(p[answered], rows.right[answered]), 2),
            }
        )
    return table


def rule_sweep(rows: Rows, margins: Sequence[float], min_score: float) -> list[dict[str, float]]:
    """For each `QA_NULL_MARGIN`: what the reader's rule alone (no verifier) would withhold, from the rows' best
    spans. The rows were read at the margin of their run, and early exit depends on it, so a margin far from that
    one is an estimate; the run's own margin is exact."""
    table = []
    for m in margins:
        answered = rows.given_under(min_score, m)
        table.append(
            {
                "null_margin": m,
                "wrong_abstentions": _pct(np.sum(~answered & rows.answerable), np.sum(rows.answerable)),
                "unanswerable_withheld": _pct(np.sum(~answered & ~rows.answerable), np.sum(~rows.answerable)),
                "exact": _pct(np.sum(answered & rows.right) + np.sum(~answered & ~rows.answerable), len(rows.right)),
            }
        )
    return table


def sweep_rule(args: argparse.Namespace) -> int:
    """`qa-train sweep-rule ROWS... --margins M...`: the reader's rule at each null margin, per rows file."""
    from qa.settings import Settings

    min_score = Settings.model_fields["min_score"].default if args.min_score is None else args.min_score
    report: dict[str, object] = {
        path.name: rule_sweep(Rows.load([path]), args.margins, min_score) for path in args.rows
    }
    if args.out is not None:
        table = rule_sweep(Rows.load(args.rows), args.margins, min_score)
        allowed = [row for row in table if row["wrong_abstentions"] <= args.max_wrong_abstentions]
        if not allowed:
            print(f"qa-train sweep-rule: no margin keeps wrong abstentions under {args.max_wrong_abstentions} %")
            return 2
        best = max(allowed, key=lambda row: (row["unanswerable_withheld"], -row["wrong_abstentions"]))
        save_rule(ReaderRule(min_score, best["null_margin"]), args.out)
        report["picked"] = {"out": str(args.out / RULE_FILE), **best}
    print(json.dumps(report, indent=1))
    return 0


def _pct(part: object, whole: object) -> float:
    return round(100 * float(part) / float(whole), 2) if float(whole) else 0.0  # type: ignore[arg-type]


def sample_articles(path: Path, count: int | None, seed: int, seen: Sequence[Path] = ()) -> list[dict[str, Any]]:
    """The file's articles less those whose titles are in `seen` files, a seeded sample of `count` when given."""
    titles = {a.get("title") for other in seen for a in read_squad_json(other)["data"]}
    articles = [a for a in read_squad_json(path)["data"] if a.get("title") not in titles]
    if count is not None and count < len(articles):
        articles = random.Random(seed).sample(articles, count)
    return articles


def verifier_data(args: argparse.Namespace) -> int:
    """`qa-train verifier-data SQUAD --out ROWS.npz`: the pipeline's answers to a SQuAD file, as verifier rows."""
    from qa.settings import Settings

    scratch = Path(tempfile.mkdtemp(prefix="verifier-"))
    answerer = Answerer.load(Settings(index_dir=scratch, documents=[], verifier="none"))
    articles = sample_articles(args.squad, args.articles, args.seed, args.exclude_seen)
    if args.half:
        articles = sorted(articles, key=lambda a: str(a.get("title")))[args.half == "b" :: 2]
    rows = collect(answerer, articles, progress=not args.quiet)
    rows.save(args.out)
    print(json.dumps({"rows": len(rows.right), "right": int(rows.right.sum()), "out": str(args.out)}))
    return 0


def fit_verifier(args: argparse.Namespace) -> int:
    """`qa-train fit-verifier ROWS... --out verifier.json [--holdout ROWS...]`: fit, save, and show held-out."""
    rows = Rows.load(args.rows)
    verifier = fit(rows, args.c)
    if args.calibrate:
        held = Rows.load(args.calibrate)
        scale, shift = fit_platt(np.array([verifier.logit(x) for x in held.x]), held.right)
        on = f"{', '.join(p.name for p in args.calibrate)} ({len(held.right)} held-out answers)"
        verifier = verifier.with_calibration(scale, shift, on)
    args.out.write_text(verifier.to_json(trained_on=[p.name for p in args.rows]) + "\n", encoding="utf-8")
    report = {path.name: sweep(verifier, Rows.load([path]), args.thresholds) for path in args.holdout}
    print(json.dumps({"out": str(args.out), "rows": len(rows.right), "held_out": report}, indent=1))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """The verifier's `qa-train` subcommands."""
    d = sub.add_parser("verifier-data", help="the pipeline's answers to SQuAD questions, as verifier rows (.npz)")
    d.add_argument("squad", type=Path, help="SQuAD JSON (v1.1 or v2.0); each article is indexed alone")
    d.add_argument("--out", type=Path, required=True)
    d.add_argument("--articles", type=int, default=None, help="a seeded sample of this many articles")
    d.add_argument("--seed", type=int, default=13)
    d.add_argument("--exclude-seen", type=Path, nargs="*", default=[], help="leave out the articles of these files")
    d.add_argument("--half", choices=["a", "b"], help="only every other article by title (a: 1st, 3rd, ...)")
    d.add_argument("--quiet", action="store_true")
    d.set_defaults(func=verifier_data)
    f = sub.add_parser("fit-verifier", help="fit the answer verifier on rows from verifier-data")
    f.add_argument("rows", type=Path, nargs="+")
    f.add_argument("--out", type=Path, required=True, help="the verifier file (a reader's verifier.json)")
    f.add_argument("--calibrate", type=Path, nargs="*", default=[], help="rows to fit the calibration on (held out)")
    f.add_argument("--holdout", type=Path, nargs="*", default=[], help="rows to report thresholds on")
    f.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength of the regression")
    f.add_argument("--thresholds", type=float, nargs="+", default=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    f.set_defaults(func=fit_verifier)
    r = sub.add_parser("sweep-rule", help="what the reader's rule would withhold at each null margin, from rows")
    r.add_argument("rows", type=Path, nargs="+")
    r.add_argument("--margins", type=float, nargs="+", default=[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    r.add_argument("--min-score", type=float, default=None, help="QA_MIN_SCORE (default: the service's)")
    r.add_argument("--out", type=Path, default=None, help="a reader directory: write the picked rule.json there")
    r.add_argument(
        "--max-wrong-abstentions",
        type=float,
        default=5.5,
        help="with --out: the margin withholding the most unanswerable questions, all rows together, with at most "
        "this share (%%) of answerable ones withheld",
    )
    r.set_defaults(func=sweep_rule)
