"""Our reader against its peers on the very same passages, in one run: EM/F1 on the gold set, ms per question.

    python -m bench.readers                              # the shipped reader, models/reader
    python -m bench.readers --model /tmp/qa-smoke/reader --limit 10

Passages are retrieved once per gold question with our index; then each system reads exactly those:
  ours         Reader.read on the passages (timed), answered by the pipeline's own logic (Answerer.answer)
  hf-pipeline  transformers 4's pipeline("question-answering"), in .venv-hf4 (bench/hf_pipeline_worker.py)
  haystack     Haystack's TransformersExtractiveReader, where haystack-ai and transformers-haystack import
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from index.chunking import Passage
from index.embedding import ModelNotFoundError
from qa.evaluation import GoldQuestion, load_gold
from qa.metrics import best_over_gold, normalize_answer
from qa.pipeline import Answerer
from qa.precision import PRECISIONS
from qa.reader import Reader
from qa.settings import BACKENDS, Settings

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "eval" / "seed_gold.jsonl"
HF_PYTHON = ROOT / ".venv-hf4" / "bin" / "python"
HF_WORKER = Path(__file__).resolve().parent / "hf_pipeline_worker.py"
MAKE_HF_VENV = "python3 -m venv .venv-hf4 && .venv-hf4/bin/pip install torch==2.13.0 'transformers<5'"


class PeerUnavailable(RuntimeError):
    """A peer system cannot run here; the benchmark goes on without it and says why."""


@dataclass(frozen=True)
class Item:
    """A gold question with the passages every system is given."""

    question: str
    answers: tuple[str, ...]
    passages: tuple[Passage, ...]


@dataclass
class SystemRun:
    """What one system answered ("" = no answer) and how long each question took."""

    name: str
    predictions: list[str]
    ms: list[float]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReadLimits:
    """Window, overlap and answer length: our reader's, given to every peer."""

    max_length: int
    stride: int
    max_answer_tokens: int

    @classmethod
    def of(cls, reader: Reader) -> ReadLimits:
        return cls(reader.max_length, reader.stride, reader.max_answer_tokens)


def retrieve_once(answerer: Answerer, gold: Sequence[GoldQuestion], top_k: int) -> list[Item]:
    """Top-k passages per question, from our index, shared by all systems."""
    return [Item(g.question, g.answers, tuple(answerer.retrieve(g.question.strip(), top_k))) for g in gold]


def timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """`fn(*args)` and the milliseconds it took."""
    started = time.perf_counter()
    result = fn(*args)
    return result, round(1000 * (time.perf_counter() - started), 2)


def run_ours(answerer: Answerer, items: Sequence[Item]) -> list[SystemRun]:
    """Our reader timed on the shared passages, and the whole answer() path (retrieval included)."""
    if items:
        answerer.reader.read(items[0].question, list(items[0].passages))  # warm-up
    reader = SystemRun("ours: Reader.read", [], [], ["timed: Reader.read alone; answers: Answerer.answer"])
    whole = SystemRun("ours: answer() incl. retrieval", [], [])
    mismatched = 0
    for item in items:
        _, read_ms = timed(answerer.reader.read, item.question, list(item.passages))
        answer, answer_ms = timed(answerer.answer, item.question, len(item.passages))
        mismatched += tuple(answer.retrieved) != item.passages
        for run, ms in ((reader, read_ms), (whole, answer_ms)):
            run.predictions.append(answer.text or "")
            run.ms.append(ms)
    if mismatched:
        reader.notes.append(f"answer() retrieved other passages for {mismatched} questions")
    return [reader, whole]


def run_hf_pipeline(
    items: Sequence[Item], model: str, limits: ReadLimits, python: Path, threads: int | None
) -> SystemRun:
    """transformers 4's QA pipeline in its own environment, through the worker script."""
    if not python.exists():
        raise PeerUnavailable(f"{python} not found; create it with: {MAKE_HF_VENV}")
    job = {
        "model": str(Path(model).resolve()),
        "max_seq_len": limits.max_length,
        "doc_stride": limits.stride,
        "max_answer_len": limits.max_answer_tokens,
        "threads": threads,
        "items": [{"question": i.question, "passages": [p.text for p in i.passages]} for i in items],
    }
    with tempfile.TemporaryDirectory(prefix="qa-bench-hf-") as tmp:
        job_path, out_path = Path(tmp) / "job.json", Path(tmp) / "results.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        done = subprocess.run([str(python), str(HF_WORKER), str(job_path), str(out_path)], capture_output=True)
        if done.returncode != 0:
            tail = "\n".join(done.stderr.decode(errors="replace").splitlines()[-15:])
            raise PeerUnavailable(f"the pipeline worker failed ({done.returncode}):\n{tail}")
        out = json.loads(out_path.read_text(encoding="utf-8"))
    results = out["results"]
    versions = ", ".join(f"{k} {v}" for k, v in out["versions"].items())
    return SystemRun(
        "hf-pipeline (transformers 4)", [r["answer"] for r in results], [r["ms"] for r in results], [versions]
    )


def load_haystack_reader(model: str, limits: ReadLimits) -> Any:
    """Haystack's reader around the same model, in float32 on the CPU, warmed up."""
    try:
        import torch
        from haystack.utils import ComponentDevice
        from haystack_integrations.components.readers.transformers import TransformersExtractiveReader
    except ImportError as exc:
        raise PeerUnavailable(
            f"haystack does not import ({exc}); pip install haystack-ai transformers-haystack"
        ) from exc
    reader = TransformersExtractiveReader(
        model=str(Path(model).resolve()),
        device=ComponentDevice.from_str("cpu"),
        token=None,
        top_k=1,
        max_seq_length=limits.max_length,
        stride=limits.stride,
        no_answer=True,
        model_kwargs={"dtype": torch.float32},
    )
    reader.warm_up()
    return reader


def run_haystack(items: Sequence[Item], model: str, limits: ReadLimits) -> SystemRun:
    """Haystack's TransformersExtractiveReader; its best answer, or "" when its no-answer scores highest."""
    from haystack import Document

    reader = load_haystack_reader(model, limits)

    def ask(item: Item) -> str:
        documents = [Document(content=p.text) for p in item.passages]
        answers = reader.run(query=item.question, documents=documents)["answers"]
        return (answers[0].data or "") if answers else ""

    if items:
        ask(items[0])  # warm-up
    run = SystemRun("haystack TransformersExtractiveReader", [], [])
    for item in items:
        answer, ms = timed(ask, item)
        run.predictions.append(answer)
        run.ms.append(ms)
    run.notes.append("no answer-length cap; feeds no token_type_ids")
    return run


def score(run: SystemRun, items: Sequence[Item], base_ms: float) -> dict[str, Any]:
    """EM and F1 in percent (a null answer is right exactly for questions with no gold answers), median ms."""
    pairs = [best_over_gold(p, i.answers) for p, i in zip(run.predictions, items, strict=True)]
    median_ms = statistics.median(run.ms) if run.ms else 0.0
    return {
        "system": run.name,
        "questions": len(pairs),
        "exact_match": round(100 * sum(em for em, _ in pairs) / len(pairs), 2) if pairs else 0.0,
        "f1": round(100 * sum(f for _, f in pairs) / len(pairs), 2) if pairs else 0.0,
        "abstained": sum(not p for p in run.predictions),
        "median_ms": round(median_ms, 2),
        "time_vs_ours": round(median_ms / base_ms, 2) if base_ms else None,
        "notes": run.notes,
    }


def recall_at_k(items: Sequence[Item]) -> float:
    """Share of answerable questions whose passages hold a gold answer: the ceiling for every reader."""
    answerable = [i for i in items if i.answers]
    hits = sum(
        any(normalize_answer(a) in normalize_answer(p.text) for a in i.answers for p in i.passages) for i in answerable
    )
    return round(100 * hits / len(answerable), 2) if answerable else 0.0


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| system | EM % | F1 % | abstained | median ms/question | time vs ours |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        ratio = "-" if r["time_vs_ours"] is None else f"{r['time_vs_ours']:.2f}\N{MULTIPLICATION SIGN}"
        lines.append(
            f"| {r['system']} | {r['exact_match']:.1f} | {r['f1']:.1f} | {r['abstained']}/{r['questions']} "
            f"| {r['median_ms']:.1f} | {ratio} |"
        )
    return "\n".join(lines)


def run_peers(
    args: argparse.Namespace, items: Sequence[Item], limits: ReadLimits
) -> tuple[list[SystemRun], dict[str, str]]:
    """Each requested peer, or why it was skipped."""
    peers: dict[str, Callable[[], SystemRun]] = {}
    if args.hf_pipeline:
        peers["hf-pipeline"] = lambda: run_hf_pipeline(items, args.model, limits, args.hf_python, args.threads)
    if args.haystack:
        peers["haystack"] = lambda: run_haystack(items, args.model, limits)
    runs, skipped = [], {}
    for name, run in peers.items():
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            runs.append(run())
        except PeerUnavailable as exc:
            skipped[name] = str(exc)
            print(f"skipped {name}: {exc}", file=sys.stderr)
    return runs, skipped


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Retrieve once, run ours and the peers on the same passages, score them all."""
    model = str(Path(args.model).resolve()) if Path(args.model).exists() else args.model
    overrides: dict[str, Any] = {"reader_model": model} | ({"index_dir": args.index_dir} if args.index_dir else {})
    settings = Settings(**overrides, threads=args.threads, reader_precision=args.precision, reader_backend=args.backend)
    answerer = Answerer.load(settings)
    gold = load_gold(args.gold)[: args.limit]
    items = retrieve_once(answerer, gold, args.top_k)
    limits = ReadLimits.of(answerer.reader)
    print(f"running ours on {len(items)} questions ...", file=sys.stderr, flush=True)
    runs = run_ours(answerer, items)
    peers, skipped = run_peers(args, items, limits)
    base_ms = statistics.median(runs[0].ms) if runs[0].ms else 0.0
    rows = [score(run, items, base_ms) for run in [*runs, *peers]]
    return {
        "gold": str(args.gold),
        "model": str(args.model),
        "top_k": args.top_k,
        "precision": f"{answerer.reader.precision} on {answerer.reader.backend}",
        "limits": vars(limits),
        "recall_at_k": recall_at_k(items),
        "systems": rows,
        "skipped": skipped,
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.readers", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=Settings().reader_model, help="reader directory (default: models/reader)")
    p.add_argument("--gold", type=Path, default=GOLD, help="JSON lines {question, answers}")
    p.add_argument("--top-k", type=int, default=3, help="passages per question")
    p.add_argument("--limit", type=int, default=None, help="only the first N gold questions")
    p.add_argument("--index-dir", type=Path, default=None, help="default: QA_INDEX_DIR or var/index")
    p.add_argument("--threads", type=int, default=None, help="torch threads for every system (default: torch's)")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="our reader's arithmetic (default fp32, as the peers run; the service's default is auto)",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torch",
        help="what runs our reader (default torch, as the peers run; the service's default is auto: OpenVINO)",
    )
    p.add_argument("--hf-python", type=Path, default=HF_PYTHON, help="python of the transformers<5 environment")
    p.add_argument("--hf-pipeline", action=argparse.BooleanOptionalAction, default=True, help="run the HF pipeline")
    p.add_argument("--haystack", action=argparse.BooleanOptionalAction, default=True, help="run Haystack's reader")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = run_benchmark(args)
    except ModelNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_table(report["systems"]))
    questions = report["systems"][0]["questions"]
    print(
        f"\n{questions} questions, top-{args.top_k} passages each; a gold answer is among them for "
        f"{report['recall_at_k']}% of the answerable ones; our reader in {report['precision']}"
    )
    for row in report["systems"]:
        for note in row["notes"]:
            print(f"{row['system']}: {note}")
    for name, why in report["skipped"].items():
        print(f"skipped {name}: {why.splitlines()[0]}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
