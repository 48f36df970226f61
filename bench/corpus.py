"""A corpus to evaluate the whole pipeline over many documents: SQuAD articles written out as text files.

    python -m bench.corpus ../shared/data/squad/squad-v1.1-dev-open.json \\
        --exclude-seen ~/.cache/qa/data/squad-v2.0-dev.train.json --out /tmp/heldout
    QA_DOCUMENTS='["/tmp/heldout/documents"]' qa eval /tmp/heldout/gold.json --index-dir /tmp/heldout/index

Each article becomes `documents/<title>.txt`, its paragraphs a blank line apart, and `gold.json` keeps the same
articles in SQuAD JSON, which `qa eval` reads as gold pairs. The data stays outside the project.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from training.squad import read_squad_json


def article_text(article: dict[str, Any]) -> str:
    """The article's paragraphs in order, a blank line between them (so none runs into the next sentence)."""
    return "\n\n".join(paragraph["context"] for paragraph in article["paragraphs"]) + "\n"


def file_name(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", title).strip("_") + ".txt"


def unseen_articles(squad: Path, exclude_seen: list[Path]) -> list[dict[str, Any]]:
    """The articles of `squad` whose titles no file of `exclude_seen` holds."""
    seen = {a.get("title") for path in exclude_seen for a in read_squad_json(path)["data"]}
    return [a for a in read_squad_json(squad)["data"] if a.get("title") not in seen]


def write_corpus(squad: Path, out: Path, exclude_seen: list[Path]) -> dict[str, int]:
    """Write the articles of `squad` not named in `exclude_seen` to `out`; returns what was written."""
    articles = unseen_articles(squad, exclude_seen)
    documents = out / "documents"
    documents.mkdir(parents=True, exist_ok=True)
    for article in articles:
        (documents / file_name(article["title"])).write_text(article_text(article), encoding="utf-8")
    (out / "gold.json").write_text(json.dumps({"version": "1.1", "data": articles}), encoding="utf-8")
    questions = sum(len(p["qas"]) for a in articles for p in a["paragraphs"])
    words = sum(len(article_text(a).split()) for a in articles)
    return {"articles": len(articles), "questions": questions, "words": words}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__.split("\n\n")[0])
    parser.add_argument("squad", type=Path, help="SQuAD JSON whose articles become the corpus")
    parser.add_argument("--exclude-seen", type=Path, nargs="*", default=[], help="leave out the articles of these")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    written = write_corpus(args.squad, args.out, args.exclude_seen)
    print(json.dumps(written))
    print(
        f"QA_DOCUMENTS='[\"{args.out / 'documents'}\"]' .venv/bin/qa eval {args.out / 'gold.json'} "
        f"--index-dir {args.out / 'index'}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
