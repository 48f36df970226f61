"""Scoring the whole pipeline on gold question/answer pairs: accuracy, retrieval, abstention, latency."""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from qa.answer import Asked, Turn
from qa.metrics import best_over_gold, calibration_error, normalize_answer
from qa.questions import InvalidQuestionError, check_question

if TYPE_CHECKING:
    import httpx

    from qa.pipeline import Answerer


class GoldFormatError(ValueError):
    """A gold file is neither JSON lines of {"question", "answers"} nor SQuAD JSON."""


@dataclass(frozen=True)
class GoldQuestion:
    question: str
    answers: tuple[str, ...]  # empty: the documents do not answer it


@dataclass(frozen=True)
class Outcome:
    """What the system said about one gold question."""

    question: str
    expected: tuple[str, ...]
    answer: str | None
    score: float
    context: str
    retrieved: tuple[str, ...]  # texts of the passages the reader was given
    latency_ms: float
    guess: str | None = None  # the reader's best span, also when it was withheld as `null`
    exact_match: float = 0.0
    f1: float = 0.0
    guess_exact_match: float = 0.0  # 1 when the question is answerable and `guess` is exactly right
    retrieved_answer: bool = False
    turn: int = 1  # its place in a dialogue: 1 is a first turn (and every question of a plain gold file)
    interpreted: str | None = None  # the standalone question answered, when a follow-up was rewritten
    reader: str = "fast"  # which reader of the cascade read it (qa/cascade.py)

    @property
    def answerable(self) -> bool:
        return bool(self.expected)


def load_gold(path: str | Path) -> list[GoldQuestion]:
    """Gold pairs from JSON lines ({"question", "answers"}) or a SQuAD JSON file."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            data = json.loads(text)
            gold = squad_gold(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise GoldFormatError(f"{path}: not SQuAD JSON ({exc!r})") from exc
        for number, item in enumerate(gold, 1):
            try:
                check_question(item.question)
            except InvalidQuestionError as exc:
                raise GoldFormatError(f"{path}: question {number} ({item.question!r}): {exc}") from exc
        return gold
    gold = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            gold.append(_gold_question(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:  # InvalidQuestionError is a ValueError
            raise GoldFormatError(
                f'{path}:{number}: expected {{"question": str, "answers": [str, ...]}} ({exc})'
            ) from exc
    if not gold:
        raise GoldFormatError(f"{path}: no questions")
    return gold


@dataclass(frozen=True)
class GoldDialogue:
    """A conversation: each turn is asked with the earlier questions and the system's own earlier answers."""

    turns: tuple[GoldQuestion, ...]


def is_dialogue_file(path: str | Path) -> bool:
    """Whether a JSON-lines gold file holds dialogues ({"turns": [...]}) rather than questions."""
    path = Path(path)
    if path.suffix == ".json":
        return False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                first = json.loads(line)
            except ValueError:
                return False
            return isinstance(first, dict) and "turns" in first
    return False


def load_dialogues(path: str | Path, max_turns: int = 11) -> list[GoldDialogue]:
    """Dialogues from JSON lines, `{"turns": [{"question": str, "answers": [str, ...]}, ...]}` (`[]`: the
    documents do not answer that turn)."""
    path = Path(path)
    dialogues = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            turns = json.loads(line)["turns"]
            if not isinstance(turns, list) or not 1 <= len(turns) <= max_turns:
                raise TypeError(f"turns must be a list of 1 to {max_turns} turns")
            dialogues.append(GoldDialogue(tuple(_gold_question(turn) for turn in turns)))
        except (ValueError, KeyError, TypeError) as exc:
            raise GoldFormatError(
                f'{path}:{number}: expected {{"turns": [{{"question": str, "answers": [str, ...]}}, ...]}} ({exc})'
            ) from exc
    if not dialogues:
        raise GoldFormatError(f"{path}: no dialogues")
    return dialogues


def _gold_question(row: object) -> GoldQuestion:
    if not isinstance(row, dict):
        raise TypeError("each turn must be an object")
    question, answers = row["question"], row["answers"]
    if not isinstance(question, str) or not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise TypeError("question must be a string and answers a list of strings")
    check_question(question)
    return GoldQuestion(question, tuple(answers))


def squad_gold(data: dict) -> list[GoldQuestion]:
    """Every question of SQuAD JSON (v1.1 or v2.0) with its answer texts; none when it is impossible."""
    return [
        GoldQuestion(qa["question"].strip(), () if qa.get("is_impossible") else tuple(a["text"] for a in qa["answers"]))
        for article in data["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]


def score_outcome(outcome: Outcome) -> Outcome:
    """Fill in EM/F1 (a null answer is right exactly when the gold has no answers), the best span's EM
    abstention aside, and the retrieval hit."""
    em, f1 = best_over_gold(outcome.answer or "", outcome.expected)
    guess_em = best_over_gold(outcome.guess, outcome.expected)[0] if outcome.guess and outcome.expected else 0.0
    golds = [normalize_answer(a) for a in outcome.expected]
    hit = any(g and g in normalize_answer(p) for g in golds for p in outcome.retrieved)
    scores = {"exact_match": em, "f1": f1, "guess_exact_match": guess_em, "retrieved_answer": hit}
    return Outcome(**{**asdict(outcome), **scores})


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass
class Summary:
    questions: int
    exact_match: float
    f1: float
    best_span_exact_match: float  # answerable questions whose best span is exactly right, abstention aside
    recall_at_k: float
    no_answer_accuracy: float
    no_answer_precision: float
    wrong_abstentions: int
    abstained_unanswerable: int
    unanswerable: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    top_k: int
    reliability: list[dict[str, float]] = field(default_factory=list)
    ece: float = 0.0  # expected calibration error of the answers given: |score - exact-match rate| per bucket
    risk_coverage: list[dict[str, float]] = field(default_factory=list)
    escalated: int = 0  # questions read by the accurate reader (QA_READER_MODE auto or accurate)


def summarize(outcomes: list[Outcome], top_k: int, buckets: int = 10) -> Summary:
    """Aggregate figures in percent (counts as integers)."""
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    abstained = [o for o in outcomes if o.answer is None]
    right_abstentions = [o for o in abstained if not o.answerable]
    latencies = [o.latency_ms for o in outcomes]

    def pct(part: float, whole: int) -> float:
        return round(100 * part / whole, 2) if whole else 0.0

    return Summary(
        questions=len(outcomes),
        exact_match=pct(sum(o.exact_match for o in outcomes), len(outcomes)),
        f1=pct(sum(o.f1 for o in outcomes), len(outcomes)),
        best_span_exact_match=pct(sum(o.guess_exact_match for o in answerable), len(answerable)),
        recall_at_k=pct(sum(o.retrieved_answer for o in answerable), len(answerable)),
        no_answer_accuracy=pct(len(right_abstentions), len(unanswerable)),
        no_answer_precision=pct(len(right_abstentions), len(abstained)),
        wrong_abstentions=len(abstained) - len(right_abstentions),
        abstained_unanswerable=len(right_abstentions),
        unanswerable=len(unanswerable),
        p50_ms=round(statistics.median(latencies), 1) if latencies else 0.0,
        p95_ms=round(percentile(latencies, 95), 1) if latencies else 0.0,
        max_ms=round(max(latencies), 1) if latencies else 0.0,
        top_k=top_k,
        reliability=reliability(outcomes, buckets),
        ece=expected_calibration_error(outcomes, buckets),
        risk_coverage=risk_coverage(outcomes),
        escalated=sum(o.reader == "accurate" for o in outcomes),
    )


def expected_calibration_error(outcomes: list[Outcome], buckets: int = 10) -> float:
    """The calibration error (qa.metrics) of the answers given, not withheld: their scores against exact match."""
    answered = [o for o in outcomes if o.answer is not None]
    return round(calibration_error([o.score for o in answered], [o.exact_match for o in answered], buckets), 4)


def risk_coverage(outcomes: list[Outcome], points: int = 20) -> list[dict[str, float]]:
    """What answering only above a score would give: for each threshold, the share of questions answered
    (coverage) and the share of those answers that are wrong (risk). A question's candidate is its best span
    whether given or withheld; on an unanswerable question any answer is wrong."""
    rows = []
    scored = [(o.score, o.guess_exact_match if o.answerable else 0.0) for o in outcomes]
    for i in range(points + 1):
        threshold = i / points
        kept = [right for score, right in scored if score >= threshold]
        coverage = len(kept) / len(scored) if scored else 0.0
        risk = 1 - sum(kept) / len(kept) if kept else 0.0
        rows.append({"threshold": threshold, "coverage": round(coverage, 4), "risk": round(risk, 4)})
    return rows


def reliability(outcomes: list[Outcome], buckets: int = 10) -> list[dict[str, float]]:
    """Per score bucket: how many answers fell in it and how many of those were exactly right."""
    rows = []
    answered = [o for o in outcomes if o.answer is not None]
    for b in range(buckets):
        lo, hi = b / buckets, (b + 1) / buckets
        inside = [o for o in answered if lo <= o.score < hi or (b == buckets - 1 and o.score == 1.0)]
        rows.append(
            {
                "low": lo,
                "high": hi,
                "answers": len(inside),
                "accuracy": round(sum(o.exact_match for o in inside) / len(inside), 4) if inside else 0.0,
                "mean_score": round(sum(o.score for o in inside) / len(inside), 4) if inside else 0.0,
            }
        )
    return rows


@dataclass(frozen=True)
class Reply:
    """The part of an answer evaluation looks at, whether it came in process or over HTTP."""

    answer: str | None
    score: float
    context: str
    retrieved: tuple[str, ...]
    guess: str | None = None  # the best span, also when withheld (the first alternative of a null answer)
    interpreted: str | None = None  # the standalone question answered
    reader: str = "fast"  # which reader of the cascade read it


AskFn = Callable[[str, Sequence[Turn]], Reply]


def local_asker(answerer: Answerer, top_k: int | None) -> AskFn:
    """Ask the in-process pipeline (with the earlier turns of a dialogue, when there are some)."""

    def ask(question: str, history: Sequence[Turn] = ()) -> Reply:
        a = answerer.answer_batch([Asked(question, top_k, None, tuple(history))])[0]
        guess = a.text if a.found else (a.alternatives[0].text if a.alternatives else None)
        context = a.passage.text if a.passage else ""
        return Reply(a.text, a.score, context, tuple(p.text for p in a.retrieved), guess, a.question, a.reader)

    return ask


def http_asker(url: str, top_k: int | None, timeout_s: float = 30.0, client: httpx.Client | None = None) -> AskFn:
    """Ask a running server's POST /ask (through `client`, an httpx.Client, when given)."""
    import httpx

    client = client or httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s)

    def ask(question: str, history: Sequence[Turn] = ()) -> Reply:
        body: dict[str, object] = {"question": question} | ({"top_k": top_k} if top_k else {})
        if history:
            body["history"] = [{"question": t.question, "answer": t.answer} for t in history]
        response = client.post("/ask", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"POST {url}/ask answered {response.status_code}: {response.text[:200]}")
        data = response.json()
        retrieved = tuple(p["text"] for p in data.get("retrieved", [])) or (data["context"],)
        alternatives = data.get("alternatives") or [{}]
        guess = data["answer"] if data["answer"] is not None else alternatives[0].get("answer")
        interpreted = data.get("interpreted_question")
        reader = str(data.get("reader", "fast"))
        return Reply(data["answer"], float(data["score"]), data["context"], retrieved, guess, interpreted, reader)

    return ask


def run_gold(gold: Iterable[GoldQuestion], ask: AskFn, progress: bool = True) -> list[Outcome]:
    """Ask every gold question, timing each, and score the replies."""
    from tqdm import tqdm

    gold = list(gold)
    outcomes = []
    for item in tqdm(gold, desc="questions", unit="q", disable=not progress):
        outcomes.append(ask_timed(item, ask, ()))
    return outcomes


def ask_timed(item: GoldQuestion, ask: AskFn, history: Sequence[Turn], turn: int = 1) -> Outcome:
    """Ask one gold question (after `history`), timed, and score the reply."""
    started = time.perf_counter()
    reply = ask(item.question, history)
    elapsed = round(1000 * (time.perf_counter() - started), 2)
    outcome = Outcome(
        item.question,
        item.answers,
        reply.answer,
        reply.score,
        reply.context,
        reply.retrieved,
        elapsed,
        reply.guess if reply.guess is not None else reply.answer,
        turn=turn,
        interpreted=reply.interpreted if reply.interpreted != item.question else None,
        reader=reply.reader,
    )
    return score_outcome(outcome)


def run_dialogues(dialogues: Iterable[GoldDialogue], ask: AskFn, progress: bool = True) -> list[Outcome]:
    """Ask every dialogue turn by turn, each turn with the earlier questions and the system's own earlier answers
    (as the chat page does), and score every turn."""
    from tqdm import tqdm

    dialogues = list(dialogues)
    outcomes = []
    for dialogue in tqdm(dialogues, desc="dialogues", unit="dialogue", disable=not progress):
        history: list[Turn] = []
        for turn, item in enumerate(dialogue.turns, 1):
            outcome = ask_timed(item, ask, tuple(history), turn)
            outcomes.append(outcome)
            history.append(Turn(item.question, outcome.answer))
    return outcomes
