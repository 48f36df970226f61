"""Dense against hybrid retrieval through the whole pipeline, over SQuAD articles taken as documents.

    python -m bench.retrieval ../shared/data/squad/squad-v1.1-dev-open.json \\
        --exclude-seen ~/.cache/qa/data/squad-v2.0-dev.train.json --layout article corpus

Two layouts: `article` gives every article an index of its own and asks it only its own questions (the case of
one document, like the seed article, but with dozens of passages); `corpus` puts all the articles into one index
(many documents, as `bench.corpus` + `qa eval` do). Each index is built once, in memory, with the project's
settings (chunking, embedding model, reader, top-k, `QA_*` variables), and every question goes through the
pipeline once per retrieval mode, so the modes see the very same passages and reader. Figures are `qa eval`'s.
The 20 held-out SQuAD v1.1 articles (5,373 questions, asked twice) take about 35 minutes per layout on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError
from tqdm import tqdm

from bench.corpus import article_text, file_name, unseen_articles
from index.documents import Document, parse_document
from index.embedding import Embedder
from index.indexing import index_documents, manifest_of
from index.store import open_store
from qa.evaluation import GoldQuestion, Outcome, Summary, local_asker, run_gold, summarize
from qa.library import chunking_of
from qa.pipeline import Answerer, load_models
from qa.reader import Reader
from qa.settings import Settings
from training.squad import examples_from_squad

LAYOUTS = ("article", "corpus")
MODES: tuple[str, ...] = get_args(Settings.model_fields["retrieval"].annotation)
COLUMNS = (
    ("layout", "layout"),
    ("retrieval", "retrieval"),
    ("indexes", "indexes"),
    ("passages", "passages"),
    ("questions", "questions"),
    ("recall@k", "recall_at_k"),
    ("EM", "exact_match"),
    ("F1", "f1"),
    ("wrong abstentions", "wrong_abstentions"),
    ("unanswerable abstained", "abstained_unanswerable"),
    ("p50 ms", "p50_ms"),
)


def article_document(article: dict[str, Any]) -> Document:
    """The article as the text file `bench.corpus` would write for it."""
    name = file_name(article["title"])
    return parse_document(name, name, article_text(article).encode("utf-8"))


def article_gold(article: dict[str, Any]) -> list[GoldQuestion]:
    return [GoldQuestion(ex.question, ex.answers) for ex in examples_from_squad({"data": [article]})]


def compare_layout(
    articles: list[dict[str, Any]],
    layout: str,
    modes: list[str],
    settings: Settings,
    embedder: Embedder,
    reader: Reader,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """One row per retrieval mode: `qa eval`'s figures over every question of `articles` laid out as `layout`."""
    golds = [article_gold(a) for a in articles]
    groups = (
        [([a], g) for a, g in zip(articles, golds, strict=True)]
        if layout == "article"
        else [(articles, [question for gold in golds for question in gold])]
    )
    outcomes: dict[str, list[Outcome]] = {mode: [] for mode in modes}
    passages = 0
    with tqdm(total=len(modes) * sum(map(len, golds)), desc=f"{layout} layout", unit="q", disable=not progress) as bar:
        for group, gold in groups:
            with tempfile.TemporaryDirectory() as folder:
                store = open_store(folder, manifest_of(embedder, chunking_of(settings)))
                index_documents(store, [article_document(a) for a in group], embedder, chunking_of(settings))
                passages += store.passage_count()
                for mode in modes:
                    answerer = Answerer(settings.model_copy(update={"retrieval": mode}), embedder, store, reader)
                    ask = local_asker(answerer, None)
                    for first in range(0, len(gold), 32):  # the bar moves every 32 questions, also with one index
                        chunk = gold[first : first + 32]
                        outcomes[mode].extend(run_gold(chunk, ask, progress=False))
                        bar.update(len(chunk))
                store.close()
    return [row(layout, mode, len(groups), passages, summarize(outcomes[mode], settings.top_k)) for mode in modes]


def row(layout: str, mode: str, indexes: int, passages: int, summary: Summary) -> dict[str, Any]:
    figures = {key: getattr(summary, key) for _, key in COLUMNS if hasattr(summary, key)}
    return {"layout": layout, "retrieval": mode, "indexes": indexes, "passages": passages} | figures


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| " + " | ".join(title for title, _ in COLUMNS) + " |",
        "| " + " | ".join("---" if key in ("layout", "retrieval") else "---:" for _, key in COLUMNS) + " |",
    ]
    lines += ["| " + " | ".join(str(r[key]) for _, key in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval", description=__doc__.split("\n\n")[0])
    parser.add_argument("squad", type=Path, help="SQuAD JSON whose articles are the documents")
    parser.add_argument("--exclude-seen", type=Path, nargs="*", default=[], help="leave out the articles of these")
    parser.add_argument("--layout", nargs="+", choices=LAYOUTS, default=list(LAYOUTS))
    parser.add_argument("--retrieval", nargs="+", choices=MODES, default=list(MODES), help="modes to compare")
    parser.add_argument("--top-k", type=int, help="passages read per question (default: QA_TOP_K)")
    parser.add_argument("--limit", type=int, help="only the first N articles")
    parser.add_argument("--reader", help="reader model directory or hub id (default: QA_READER_MODEL)")
    args = parser.parse_args(argv)

    overrides = {"top_k": args.top_k, "reader_model": args.reader}
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        parser.error(str(exc))
    articles = unseen_articles(args.squad, args.exclude_seen)[: args.limit]
    if not articles:
        parser.error(f"no articles left in {args.squad}")
    embedder, reader = load_models(settings)
    rows = [
        r
        for layout in args.layout
        for r in compare_layout(articles, layout, args.retrieval, settings, embedder, reader)
    ]
    print(f"{len(articles)} articles, top-{settings.top_k}, reader {settings.reader_model}\n")
    print(table(rows))
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
