"""Indexing throughput and upload-to-searchable time: a document of N pages uploaded to a running `qa serve`.

    python -m bench.upload [--pages 100] [--url http://127.0.0.1:8000]

The document is synthetic (text of the seed article's kind, each page different so that no passage repeats).
It is sent as JSON {name, text}; the clock runs from the request until `GET /documents/{id}` says `indexed`
(a large upload is answered 202 at once and indexed in the background) and a question about its last page is
answered from it. Prints a small table and a last line of JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from contextlib import AbstractContextManager, nullcontext

import httpx

from bench.load import started_server

WORDS_PER_PAGE = 450
NOUNS = ("harbour", "council", "station", "library", "bridge", "market", "school", "museum", "factory")
TOWNS = ("Dunmore", "Ashby", "Kelso", "Penrith", "Tarbert", "Wexham", "Oldcastle", "Brora", "Seaton")


def page_text(page: int, rng: random.Random) -> str:
    """One page of plain reporting prose, about 450 words, with facts a question can ask about."""
    sentences: list[str] = []
    while sum(len(s.split()) for s in sentences) < WORDS_PER_PAGE:
        noun, town = rng.choice(NOUNS), rng.choice(TOWNS)
        sentences.append(
            f"On page {page}, the {noun} of {town} reported {rng.randint(10, 9999)} visitors in week "
            f"{rng.randint(1, 52)}, and its director said the figures showed steady growth since "
            f"{rng.randint(1990, 2024)}."
        )
    return " ".join(sentences)


def document(pages: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    return "\n\n".join(page_text(p, rng) for p in range(1, pages + 1)) + "\n"


def measure(url: str, pages: int, timeout_s: float = 600.0) -> dict[str, object]:
    """Upload, then poll until indexed and answered; seconds and passages/s."""
    text = document(pages)
    name = f"bench-{pages}-pages.txt"
    with httpx.Client(base_url=url, timeout=timeout_s) as client:
        started = time.perf_counter()
        reply = client.post("/documents", json={"name": name, "text": text})
        accepted = time.perf_counter() - started
        if reply.status_code not in (201, 202):
            raise RuntimeError(f"upload answered {reply.status_code}: {reply.text[:200]}")
        doc = reply.json()
        while doc["status"] == "indexing" and time.perf_counter() - started < timeout_s:
            time.sleep(0.1)
            doc = client.get(f"/documents/{doc['id']}").json()
        indexed = time.perf_counter() - started
        if doc["status"] != "indexed":
            raise RuntimeError(f"not indexed: {doc}")
        ask = {"question": f"What did the director say on page {pages}?", "documents": [doc["id"]]}
        answer = client.post("/ask", json=ask).json()
        searchable = time.perf_counter() - started
        client.delete(f"/documents/{doc['id']}")
    return {
        "pages": pages,
        "words": len(text.split()),
        "passages": doc["passages"],
        "status": reply.status_code,
        "accepted_s": round(accepted, 2),
        "indexed_s": round(indexed, 2),
        "answered_s": round(searchable, 2),
        "passages_per_s": round(doc["passages"] / indexed, 1),
        "answered_from_it": answer["source"]["document"] == doc["id"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upload", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[100])
    parser.add_argument("--url", default=None, help="a running server (default: start `qa serve` on a free port)")
    parser.add_argument("--startup-timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    server: AbstractContextManager[tuple[str, int | None]] = (
        nullcontext((args.url.rstrip("/"), None)) if args.url else started_server(None, args.startup_timeout)
    )
    with server as (url, _):
        rows = [measure(url, pages) for pages in args.pages]
    print("| pages | words | passages | upload answered | indexed after | answered after | passages/s |")
    print("| ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['pages']} | {r['words']} | {r['passages']} | {r['status']} in {r['accepted_s']} s | "
            f"{r['indexed_s']} s | {r['answered_s']} s | {r['passages_per_s']} |"
        )
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
