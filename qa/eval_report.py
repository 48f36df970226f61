"""Writing an evaluation run to disk: results.json, report.md and two PNG plots."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from qa.evaluation import Outcome, Summary


def _cell(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def misses(outcomes: list[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if o.exact_match < 1.0]


def _said(o: Outcome) -> str:
    if o.answer is not None:
        return o.answer
    return f"(no answer; best span: {o.guess})" if o.guess else "(no answer)"


def report_markdown(summary: Summary, outcomes: list[Outcome], meta: dict[str, str]) -> str:
    s = summary
    lines = [
        "# Evaluation report",
        "",
        *(f"- {k}: {v}" for k, v in meta.items()),
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| questions | {s.questions} ({s.unanswerable} unanswerable) |",
        f"| exact match | {s.exact_match:.1f} |",
        f"| F1 | {s.f1:.1f} |",
        f"| recall@{s.top_k} (a retrieved passage holds a gold answer) | {s.recall_at_k:.1f}% |",
        f"| unanswerable abstained | {s.abstained_unanswerable} of {s.unanswerable} ({s.no_answer_accuracy:.1f}%) |",
        f"| abstention precision | {s.no_answer_precision:.1f}% |",
        f"| wrong abstentions (answerable questions answered null) | {s.wrong_abstentions} |",
        f"| best span exactly right, abstention aside (answerable questions) | {s.best_span_exact_match:.1f}% |",
        f"| expected calibration error of the answers given (ECE) | {s.ece:.3f} |",
        f"| latency p50 / p95 / max | {s.p50_ms:.1f} / {s.p95_ms:.1f} / {s.max_ms:.1f} ms |",
        f"| read by the accurate reader (escalated) | {s.escalated} of {s.questions} |",
        "",
        "![reliability](reliability.png) ![risk and coverage](risk_coverage.png) ![latency](latency.png)",
        "",
        f"## Misses ({len(misses(outcomes))})",
        "",
        "| question | expected | got | score | F1 | passage |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for o in misses(outcomes):
        expected = " / ".join(o.expected) or "(no answer)"
        asked = o.question if o.interpreted is None else f"{o.question} (read as: {o.interpreted})"
        cells = [_cell(asked, 80), _cell(expected, 50), _cell(_said(o), 50), f"{o.score:.2f}", f"{o.f1:.2f}"]
        lines.append("| " + " | ".join([*cells, _cell(o.context)]) + " |")
    return "\n".join(lines) + "\n"


def plot_reliability(summary: Summary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in summary.reliability if r["answers"]]
    fig, ax = plt.subplots(figsize=(5, 4), dpi=110)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.bar(
        [(r["low"] + r["high"]) / 2 for r in rows],
        [r["accuracy"] for r in rows],
        width=0.09,
        alpha=0.7,
        label="exact-match rate",
    )
    for r in rows:
        ax.annotate(
            str(r["answers"]), ((r["low"] + r["high"]) / 2, r["accuracy"]), ha="center", va="bottom", fontsize=7
        )
    ax.set(
        xlabel="answer score",
        ylabel="fraction exactly right",
        xlim=(0, 1),
        ylim=(0, 1.05),
        title="Reliability (answers given)",
    )
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_risk_coverage(summary: Summary, path: Path) -> None:
    """Share of answers wrong against share of questions answered, as the score threshold rises."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary.risk_coverage
    fig, ax = plt.subplots(figsize=(5, 4), dpi=110)
    ax.plot([r["coverage"] for r in rows], [r["risk"] for r in rows], marker="o", markersize=3, color="#b0452f")
    for r in rows[::4]:
        ax.annotate(
            f"{r['threshold']:.1f}", (r["coverage"], r["risk"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    ax.set(xlabel="coverage (share of questions answered)", ylabel="risk (share of answers wrong)", xlim=(0, 1.02))
    ax.set(ylim=(0, 1.02), title="Risk and coverage by score threshold")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_latency(outcomes: list[Outcome], summary: Summary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=110)
    ax.hist([o.latency_ms for o in outcomes], bins=30, color="#4a7bd0")
    for value, name in ((summary.p50_ms, "p50"), (summary.p95_ms, "p95")):
        ax.axvline(value, color="black", linestyle="--", linewidth=1)
        ax.annotate(f"{name} {value:.0f} ms", (value, ax.get_ylim()[1] * 0.9), rotation=90, fontsize=8, ha="right")
    ax.set(xlabel="latency per question (ms)", ylabel="questions", title="Latency")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def parts_markdown(parts: dict[str, Summary]) -> str:
    """Dialogues: first turns and follow-ups side by side."""
    names = list(parts)
    rows = [
        ("questions", lambda s: f"{s.questions} ({s.unanswerable} unanswerable)"),
        ("exact match", lambda s: f"{s.exact_match:.1f}"),
        ("F1", lambda s: f"{s.f1:.1f}"),
        ("unanswerable abstained", lambda s: f"{s.abstained_unanswerable} of {s.unanswerable}"),
        ("wrong abstentions", lambda s: str(s.wrong_abstentions)),
        ("latency p50 / p95", lambda s: f"{s.p50_ms:.1f} / {s.p95_ms:.1f} ms"),
    ]
    lines = ["| | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    lines += [f"| {label} | " + " | ".join(cell(parts[n]) for n in names) + " |" for label, cell in rows]
    return "\n".join(["## By turn", "", *lines, ""]) + "\n"


def write_report(
    out: Path, summary: Summary, outcomes: list[Outcome], meta: dict[str, str], parts: dict[str, Summary] | None = None
) -> None:
    """results.json, report.md (with a table by turn when `parts` are given: dialogues) and the plots."""
    out.mkdir(parents=True, exist_ok=True)
    results = {"meta": meta, "summary": asdict(summary), "outcomes": [asdict(o) for o in outcomes]}
    if parts:
        results["parts"] = {name: asdict(part) for name, part in parts.items()}
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    report = report_markdown(summary, outcomes, meta)
    if parts:
        head, _, misses_part = report.partition("## Misses")
        report = head + parts_markdown(parts) + "\n## Misses" + misses_part
    (out / "report.md").write_text(report, encoding="utf-8")
    plot_reliability(summary, out / "reliability.png")
    plot_risk_coverage(summary, out / "risk_coverage.png")
    plot_latency(outcomes, summary, out / "latency.png")
