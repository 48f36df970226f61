"""transformers 4's `pipeline("question-answering")` over given passages, for `bench.readers`.

Runs in its own environment (.venv-hf4, transformers<5: the pipeline is gone from transformers 5), so it
imports nothing from this project:

    .venv-hf4/bin/python bench/hf_pipeline_worker.py JOB.json RESULTS.json

JOB: {"model": DIR, "max_seq_len": 256, "doc_stride": 128, "max_answer_len": 30, "threads": null,
      "items": [{"question": str, "passages": [str, ...]}, ...]}
RESULTS: {"versions": {...}, "results": [{"answer": str, "score": float, "ms": float}, ...]}
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import AutoModelForQuestionAnswering, AutoTokenizer, pipeline


def load_pipeline(model_dir: str) -> Any:
    """The pipeline around the model in float32, whatever dtype it was saved in (as our reader loads it)."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForQuestionAnswering.from_pretrained(model_dir, torch_dtype=torch.float32)
    # runs under transformers<5 (make bench-peers), whose task this is; 5's overloads no longer list it
    return pipeline("question-answering", model=model, tokenizer=tokenizer, device=-1)  # type: ignore[call-overload]


def best_answer(qa: Any, question: str, passages: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """Each passage read as its own context; the highest-scoring answer ("" = no answer) wins."""
    found = qa(question=[question] * len(passages), context=passages, top_k=1, handle_impossible_answer=True, **options)
    found = found if isinstance(found, list) else [found]
    best = max(found, key=lambda r: r["score"])
    return {"answer": best["answer"], "score": float(best["score"])}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Answer every item, timing each; the first item is read once untimed to warm up."""
    if job.get("threads"):
        torch.set_num_threads(int(job["threads"]))
    qa = load_pipeline(job["model"])
    options = {key: int(job[key]) for key in ("max_seq_len", "doc_stride", "max_answer_len")}
    items = [i for i in job["items"] if i["passages"]]
    if items:
        best_answer(qa, items[0]["question"], items[0]["passages"], options)
    results = []
    for item in job["items"]:
        started = time.perf_counter()
        found = best_answer(qa, item["question"], item["passages"], options) if item["passages"] else {"answer": ""}
        results.append({**found, "ms": round(1000 * (time.perf_counter() - started), 2)})
    versions = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    return {"versions": versions, "results": results}


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    Path(sys.argv[2]).write_text(json.dumps(run_job(job)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
