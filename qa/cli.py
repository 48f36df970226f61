"""The `qa` command: a thin shell over the library."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from index.documents import DocumentError
from index.embedding import ModelNotFoundError
from index.store import StoreError
from qa.confidence import CalibrationFileError
from qa.evaluation import GoldFormatError
from qa.questions import InvalidQuestionError, check_question
from qa.verifier import VerifierError

if TYPE_CHECKING:
    from qa.answer import Answer
    from qa.settings import Settings

USER_ERRORS = (
    DocumentError,
    ModelNotFoundError,
    StoreError,
    GoldFormatError,
    FileNotFoundError,
    InvalidQuestionError,
    VerifierError,
    CalibrationFileError,
)


def _settings(args: argparse.Namespace) -> Settings:
    from qa.settings import Settings

    overrides = {}
    if getattr(args, "index_dir", None):
        overrides["index_dir"] = args.index_dir
    if getattr(args, "reader", None):
        overrides["reader_model"] = args.reader
    return Settings(**overrides)


def _models_present(settings: Settings, command: str) -> bool:
    """Say which configured model directories are missing, before any slow loading starts."""
    problems = settings.missing_models()
    for problem in problems:
        print(f"qa {command}: {problem}", file=sys.stderr)
    return not problems


def _index(args: argparse.Namespace) -> int:
    from index.documents import load_documents
    from index.indexing import index_documents, prune, rebuild
    from qa.library import chunking_of, describe_location, open_library_store
    from qa.pipeline import load_embedder

    settings = _settings(args)
    paths = args.paths or settings.documents
    documents = load_documents(paths)
    embedder = load_embedder(settings)
    store = open_library_store(settings, embedder)
    try:
        if args.rebuild:
            print(f"rebuilt: {rebuild(store, embedder, chunking_of(settings), bar=True).summary()}")
        report = index_documents(store, documents, embedder, chunking_of(settings), bar=True)
        if args.prune:
            report.removed = prune(store, paths, {d.id for d in documents})
        print(
            f"{describe_location(settings)}: {report.summary()}; {len(store.documents())} documents, "
            f"{store.passage_count()} passages in all"
        )
    finally:
        store.close()
    return 0


def _documents(args: argparse.Namespace) -> int:
    from qa.library import describe_location, open_library_store
    from qa.pipeline import load_embedder

    settings = _settings(args)
    embedder = load_embedder(settings)
    store = open_library_store(settings, embedder, create=False)
    try:
        if args.action == "remove":
            missing = [doc_id for doc_id in args.ids if not store.delete(doc_id)]
            for doc_id in missing:
                print(f"qa documents: no document has the id {doc_id!r}", file=sys.stderr)
            return 1 if missing else 0
        records = store.documents()
        if args.json:
            print(json.dumps([dataclasses.asdict(r) for r in records], indent=2, ensure_ascii=False))
            return 0
        print(f"{len(records)} documents in {describe_location(settings)}")
        for r in records:
            state = r.status if r.status != "failed" else f"failed: {r.reason}"
            print(f"  {r.id}  {r.passages} passages  added {r.added}  {state}  ({r.origin})")
    finally:
        store.close()
    return 0


def _ask(args: argparse.Namespace) -> int:
    from qa.answer import answer_json
    from qa.pipeline import Answerer

    settings = _settings(args)
    question = check_question(args.question, settings.max_question_chars)
    if not _models_present(settings, "ask"):
        return 2
    answerer = Answerer.load(settings, add_documents=False)
    answer = answerer.answer(question, args.top_k, args.document)
    if args.json:
        print(json.dumps(answer_json(answer), indent=2, ensure_ascii=False))
        return 0
    print_answer(answer)
    return 0


def print_answer(answer: Answer, passage: bool = True) -> None:
    """An answer for a person: the quote, its score and where it comes from (passages counted from 1)."""
    if answer.found:
        print(f"Answer: {answer.text}")
    else:
        print("Answer: the documents do not say.")
    print(f"Score:  {answer.score:.3f}")
    if answer.passage is not None:
        p = answer.passage
        print(f"Source: {p.document}, passage {p.index + 1} (characters {p.start}-{p.end})")
        if passage:
            print(f"Passage: {p.text}")
    for alt in answer.alternatives:
        print(f"  also: {alt.text!r} ({alt.score:.3f})")


def _calibrate(args: argparse.Namespace) -> int:
    """Refit the score's calibration on the user's gold pairs (QA_CALIBRATION), or remove the refit."""
    from qa.calibration import CalibrationError, calibrate, save
    from qa.evaluation import load_gold
    from qa.pipeline import Answerer

    settings = _settings(args)
    out = args.out or settings.calibration
    if args.reset:
        out.unlink(missing_ok=True)
        print(f"removed {out}: answers use the shipped calibration again")
        return 0
    if args.gold is None:
        print("qa calibrate: name a gold file (or --reset)", file=sys.stderr)
        return 2
    gold = load_gold(args.gold)
    if not _models_present(settings, "calibrate"):
        return 2
    answerer = Answerer.load(settings, add_documents=False)
    try:
        fitted = calibrate(answerer, gold, args.gold.name)
    except CalibrationError as exc:
        print(f"qa calibrate: {exc}", file=sys.stderr)
        return 2
    save(fitted, out)
    print(
        f"calibration written to {out}: {fitted.questions} questions ({fitted.right} best answers right); "
        f"ECE on them {fitted.ece_before:.3f} before, {fitted.ece_after:.3f} after (measured on the same "
        f"questions: check with qa eval on others)"
    )
    return 0


def _chat(args: argparse.Namespace) -> int:
    """A conversation in the terminal: follow-ups are read against the earlier turns, as on the chat page."""
    from qa.answer import Asked, Turn
    from qa.pipeline import Answerer

    settings = _settings(args)
    if not _models_present(settings, "chat"):
        return 2
    answerer = Answerer.load(settings, add_documents=False)
    documents = tuple(args.document) if args.document else None
    history: list[Turn] = []
    print("Ask about the documents. /new starts a new topic; /quit or Ctrl-D ends.", flush=True)
    while True:
        try:
            line = input("> ").strip()
        except EOFError:
            print()
            return 0
        if line in ("/quit", "/exit"):
            return 0
        if line == "/new":
            history.clear()
            print("(new topic)")
            continue
        if not line:
            continue
        try:
            question = check_question(line, settings.max_question_chars)
        except InvalidQuestionError as exc:
            print(f"  {exc}")
            continue
        answer = answerer.answer_batch([Asked(question, args.top_k, documents, tuple(history[-10:]))])[0]
        if answer.question != question:
            print(f"Read as: {answer.question}")
        print_answer(answer, passage=False)
        history.append(Turn(question, answer.text))
        print(flush=True)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = _settings(args)
    if not _models_present(settings, "serve"):
        return 2
    settings.host = args.host or settings.host
    settings.port = args.port if args.port is not None else settings.port
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=int(settings.request_timeout_s) + 5,
    )
    return 0


def _eval(args: argparse.Namespace) -> int:
    import platform
    from datetime import UTC, datetime

    from qa.eval_report import write_report
    from qa.evaluation import (
        http_asker,
        is_dialogue_file,
        load_dialogues,
        load_gold,
        local_asker,
        run_dialogues,
        run_gold,
        summarize,
    )

    dialogues = load_dialogues(args.gold) if is_dialogue_file(args.gold) else None
    gold = load_gold(args.gold) if dialogues is None else []
    settings = _settings(args)
    top_k = args.top_k or settings.top_k
    scores = "as the service scores them"
    if args.url:
        ask, where = http_asker(args.url, top_k), f"POST {args.url}/ask"
    else:
        from qa.pipeline import Answerer

        if not _models_present(settings, "eval"):
            return 2
        answerer = Answerer.load(settings)
        answerer.answer("warm-up question")  # first call pays one-off allocation costs
        where = f"in process, reader {settings.reader_model} ({answerer.reader.precision}, {answerer.reader.backend})"
        if answerer.accurate is not None:
            where += f"; mode {settings.reader_mode}, accurate reader {settings.accurate_reader_model}"
            where += f" (escalating under {settings.escalate_below})" if settings.reader_mode == "auto" else ""
        ask, scores = local_asker(answerer, top_k), answerer.scoring()
    if dialogues is None:
        outcomes, parts = run_gold(gold, ask, progress=not args.quiet), None
    else:
        outcomes = run_dialogues(dialogues, ask, progress=not args.quiet)
        parts = {
            "first turns": summarize([o for o in outcomes if o.turn == 1], top_k),
            "follow-ups": summarize([o for o in outcomes if o.turn > 1], top_k),
        }
    summary = summarize(outcomes, top_k)
    meta = {
        "gold": str(args.gold),
        "through": where,
        "scores": scores,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    write_report(args.out, summary, outcomes, meta, parts)
    print(f"report: {args.out / 'report.md'}", file=sys.stderr)
    keys = (
        "exact_match",
        "f1",
        "recall_at_k",
        "no_answer_accuracy",
        "wrong_abstentions",
        "best_span_exact_match",
        "ece",
        "p50_ms",
        "p95_ms",
        "escalated",
    )
    figures = {k: getattr(summary, k) for k in keys}
    for name, part in (parts or {}).items():
        figures[name.replace(" ", "_").replace("-", "_")] = {k: getattr(part, k) for k in keys}
    print(json.dumps(figures))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Extractive question answering over your documents.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    i = sub.add_parser("index", help="add or update documents in the store (only what changed is embedded)")
    i.add_argument("paths", type=Path, nargs="*", help="documents or folders (default: QA_DOCUMENTS, seeds/)")
    i.add_argument("--prune", action="store_true", help="also remove documents that came from PATHS and are gone")
    i.add_argument(
        "--rebuild", "--force", action="store_true", help="embed every document in the store again (uploads too)"
    )
    i.add_argument("--index-dir", type=Path, default=None, help="the local store's folder (default QA_INDEX_DIR)")
    i.set_defaults(func=_index)

    d = sub.add_parser("documents", help="list the documents in the store, or remove some")
    d.add_argument("action", nargs="?", choices=["list", "remove"], default="list")
    d.add_argument("ids", nargs="*", help="with remove: the ids of the documents to remove")
    d.add_argument("--json", action="store_true", help="list as JSON")
    d.add_argument("--index-dir", type=Path, default=None)
    d.set_defaults(func=_documents)

    a = sub.add_parser("ask", help="answer one question from the indexed documents")
    a.add_argument("question")
    a.add_argument("--top-k", type=int, default=None, choices=range(1, 11), metavar="K")
    a.add_argument("--json", action="store_true", help="print the API's JSON answer")
    a.add_argument("--reader", default=None, help="reader model directory or hub id")
    a.add_argument("--index-dir", type=Path, default=None)
    a.add_argument(
        "--document", action="append", default=None, metavar="ID", help="read only this document (repeatable)"
    )
    a.set_defaults(func=_ask)

    k = sub.add_parser("calibrate", help="refit the confidence scores to your own gold question/answer pairs")
    k.add_argument("gold", type=Path, nargs="?", help="JSON lines {question, answers} or SQuAD JSON")
    k.add_argument("--out", type=Path, default=None, help="where to write it (default QA_CALIBRATION)")
    k.add_argument("--reset", action="store_true", help="remove the refit: back to the shipped calibration")
    k.add_argument("--reader", default=None)
    k.add_argument("--index-dir", type=Path, default=None)
    k.set_defaults(func=_calibrate)

    c = sub.add_parser("chat", help="a conversation in the terminal: follow-up questions read in context")
    c.add_argument("--top-k", type=int, default=None, choices=range(1, 11), metavar="K")
    c.add_argument("--reader", default=None, help="reader model directory or hub id")
    c.add_argument("--index-dir", type=Path, default=None)
    c.add_argument("--document", action="append", default=None, metavar="ID", help="read only this document")
    c.set_defaults(func=_chat)

    v = sub.add_parser("serve", help="serve the chat page and POST /ask (builds the index if missing)")
    v.add_argument("--host", default=None, help="default 127.0.0.1")
    v.add_argument("--port", type=int, default=None, help="default 8000")
    v.add_argument("--reader", default=None)
    v.add_argument("--index-dir", type=Path, default=None)
    v.set_defaults(func=_serve)

    e = sub.add_parser("eval", help="score the pipeline on gold question/answer pairs")
    e.add_argument(
        "gold", type=Path, help="JSON lines of {question, answers} or of dialogues {turns: [...]}, or SQuAD JSON"
    )
    e.add_argument("--url", default=None, help="ask a running server's POST /ask instead of the in-process pipeline")
    e.add_argument("--top-k", type=int, default=None, choices=range(1, 11), metavar="K")
    e.add_argument("--out", type=Path, default=Path("eval/out"), help="where results.json, report.md and plots go")
    e.add_argument("--reader", default=None)
    e.add_argument("--index-dir", type=Path, default=None)
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    if args.command == "documents" and args.action == "remove" and not args.ids:
        print("qa documents remove: name the id(s) to remove (qa documents lists them)", file=sys.stderr)
        return 2
    try:
        code = int(args.func(args))
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # `qa ask --json | head`: the reader stopped listening, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except USER_ERRORS as exc:
        print(f"qa {args.command}: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        print(f"qa {args.command}: invalid setting\n{settings_errors(exc)}", file=sys.stderr)
        return 2


def settings_errors(exc: ValidationError) -> str:
    """One line per bad setting, named as the environment variable that sets it."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        if not field:  # a rule across settings: its message names them
            lines.append(f"  {error['msg'].removeprefix('Value error, ')}")
            continue
        lines.append(f"  QA_{field.upper()}={error.get('input')!r}: {error['msg']}")
    return "\n".join(lines)


def configure_logging(verbose: bool = False, extra: tuple[str, ...] = ()) -> None:
    """Our own loggers (and `extra` ones) at INFO (DEBUG with -v); libraries only when they warn."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for name in ("qa", "index", "api", "uvicorn", *extra):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)
    for handler in logging.getLogger().handlers:  # bm25s sets its own logger to DEBUG when it is imported
        handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


if __name__ == "__main__":
    sys.exit(main())
