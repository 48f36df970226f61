"""Two running servers under the same load, alternately: `bench.load`'s runs for each client count, A then B,
then B then A, for several rounds, so that drift on a shared machine falls on both alike.

    python -m bench.ab --a http://127.0.0.1:8001 --b http://127.0.0.1:8002 [--clients 1 8] [--rounds 3]

Prints per client count the median p50 and answers/s of each and B's ratio to A, and a last line of JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

from bench.load import GOLD, LoadResult, run_load, settle
from qa.evaluation import load_gold

Runs = dict[int, dict[str, list[LoadResult]]]


def compare(urls: dict[str, str], clients: list[int], rounds: int, seconds: float, questions: list[str]) -> Runs:
    """Every (client count, server) run, alternating the order of the servers from round to round."""
    results: Runs = {n: {name: [] for name in urls} for n in clients}
    for name, url in urls.items():
        asyncio.run(settle(url, questions, at_least=3))
        print(f"{name}: warmed up", file=sys.stderr, flush=True)
    for round_ in range(rounds):
        order = list(urls) if round_ % 2 == 0 else list(reversed(urls))
        for n in clients:
            for name in order:
                print(f"round {round_ + 1}: {name}, {n} clients for {seconds:g} s", file=sys.stderr, flush=True)
                results[n][name].append(asyncio.run(run_load(urls[name], n, seconds, questions, 30.0, False)))
    return results


def _ratio(b: float, a: float) -> float:
    return round(b / a, 3) if a else float("nan")


def summary(results: Runs) -> list[dict[str, float]]:
    """Per client count: each server's median p50 and answers/s over the rounds, and B's ratios to A."""
    rows = []
    for n, by_server in results.items():
        row: dict[str, float] = {"clients": n}
        for name, runs in by_server.items():
            row[f"{name}_p50_ms"] = round(statistics.median(r.latency_ms(50) or 0.0 for r in runs), 1)
            row[f"{name}_answers_per_s"] = round(statistics.median(r.answers_per_s for r in runs), 2)
            row[f"{name}_non_200"] = sum(sum(r.non_200.values()) for r in runs)
        a, b = list(by_server)
        row["p50_ratio"] = _ratio(row[f"{b}_p50_ms"], row[f"{a}_p50_ms"])
        row["throughput_ratio"] = _ratio(row[f"{b}_answers_per_s"], row[f"{a}_answers_per_s"])
        rows.append(row)
    return rows


def table(rows: list[dict[str, float]], a: str, b: str) -> str:
    lines = [
        f"| clients | {a} p50 ms | {b} p50 ms | p50 {b}/{a} | {a} answers/s | {b} answers/s | answers/s {b}/{a} |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        cells = [r["clients"], r[f"{a}_p50_ms"], r[f"{b}_p50_ms"], r["p50_ratio"]]
        cells += [r[f"{a}_answers_per_s"], r[f"{b}_answers_per_s"], r["throughput_ratio"]]
        lines.append("| " + " | ".join(f"{c:g}" for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", required=True, help="URL of the baseline server")
    parser.add_argument("--b", required=True, help="URL of the server compared with it")
    parser.add_argument("--names", nargs=2, default=["a", "b"], metavar=("A", "B"))
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--gold", type=Path, default=GOLD)
    args = parser.parse_args(argv)
    questions = [g.question for g in load_gold(args.gold)]
    a, b = args.names
    urls = {a: args.a.rstrip("/"), b: args.b.rstrip("/")}
    rows = summary(compare(urls, args.clients, args.rounds, args.seconds, questions))
    print(table(rows, a, b))
    print(json.dumps({"rounds": args.rounds, "seconds_per_run": args.seconds, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
