"""Tokenised reader features kept as compact NumPy arrays (one row per question window)."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import numpy.typing as npt
from transformers import PreTrainedTokenizerBase

from qa.reader import truncate_questions
from training.squad import SquadExample


def save_npz(path: Path, **arrays: npt.ArrayLike) -> None:
    """Write arrays to `path` (.npz) through a temporary file and a rename: never half a file under its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, allow_pickle=False, **arrays)  # plain numbers only: np.load refuses pickles too
    tmp.replace(path)


@dataclass
class FeatureSet:
    """Windows of (question, context) token ids; `offsets` is -1 outside the context."""

    input_ids: np.ndarray  # int32 [N, L], padded with the tokenizer's pad id
    token_type_ids: np.ndarray  # int8 [N, L]
    lengths: np.ndarray  # int32 [N]
    start_positions: np.ndarray  # int32 [N]; 0 (the CLS token) when the window holds no answer
    end_positions: np.ndarray  # int32 [N]
    example_index: np.ndarray  # int32 [N]
    offsets: np.ndarray  # int32 [N, L, 2]

    def __len__(self) -> int:
        return len(self.lengths)

    def save(self, path: Path) -> None:
        save_npz(path, **{f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def load(cls, path: Path) -> FeatureSet:
        with np.load(path) as data:
            return cls(**{f.name: data[f.name] for f in fields(cls)})

    def subset(self, rows: np.ndarray) -> FeatureSet:
        return FeatureSet(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


def _label(offsets: list[tuple[int, int]], seq_ids: list[int | None], start: int, end: int) -> tuple[int, int]:
    """Token positions of the char span [start, end) in one window, or (0, 0) if it is not inside."""
    ctx = [i for i, s in enumerate(seq_ids) if s == 1]
    if not ctx or offsets[ctx[0]][0] > start or offsets[ctx[-1]][1] < end:
        return 0, 0
    tok_start = next(i for i in ctx if offsets[i][1] > start)
    tok_end = next(i for i in reversed(ctx) if offsets[i][0] < end)
    return (tok_start, tok_end) if tok_start <= tok_end else (0, 0)


def build_features(
    examples: Sequence[SquadExample],
    tokenizer: PreTrainedTokenizerBase,
    max_length: int = 256,
    stride: int = 128,
    chunk: int = 2000,
    progress: bool = False,
    workers: int | None = None,
) -> FeatureSet:
    """Tokenise examples into overlapping windows; labels come from each example's first answer.

    Chunks of `chunk` examples are tokenised in `workers` forked processes (default: one per core this process
    may use; on Linux, where fork is safe for this: the workers run only the tokenizer and NumPy) when there are
    several: the work is mostly Python, one core each. The result is the same as in one process, chunk for
    chunk. Forked, not spawned: a spawned worker imports the caller's main module again, and a script without
    a `__main__` guard then hangs the pool.
    """
    jobs = [(lo, examples[lo : lo + chunk]) for lo in range(0, len(examples), chunk)]
    procs = min(workers or len(os.sched_getaffinity(0)), len(jobs)) if sys.platform == "linux" else 1
    pool = None
    if procs > 1:
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(procs, context, _init_worker, (tokenizer, max_length, stride))
        pieces: Iterable[FeatureSet] = pool.map(_worker_chunk, jobs)
    else:
        pieces = (_chunk_features(batch, lo, tokenizer, max_length, stride) for lo, batch in jobs)
    if progress:
        from tqdm import tqdm

        pieces = tqdm(pieces, total=len(jobs), desc="tokenising", unit="chunk")
    try:
        return _concatenate(list(pieces), max_length)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


_WORKER: tuple[PreTrainedTokenizerBase, int, int] | None = None


def _init_worker(tokenizer: PreTrainedTokenizerBase, max_length: int, stride: int) -> None:
    global _WORKER
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one core per worker: the pool is the parallelism
    _WORKER = (tokenizer, max_length, stride)


def _worker_chunk(job: tuple[int, Sequence[SquadExample]]) -> FeatureSet:
    assert _WORKER is not None, "_init_worker runs first in every worker"
    tokenizer, max_length, stride = _WORKER
    return _chunk_features(job[1], job[0], tokenizer, max_length, stride)


def _chunk_features(
    batch: Sequence[SquadExample], lo: int, tokenizer: PreTrainedTokenizerBase, max_length: int, stride: int
) -> FeatureSet:
    """The windows of one chunk of examples, the first of which is example `lo` of the whole set."""
    ids, types, lengths, starts, ends, owners, offs = [], [], [], [], [], [], []
    pad = tokenizer.pad_token_id or 0
    enc = tokenizer(
        truncate_questions(tokenizer, [ex.question for ex in batch]),
        [ex.context for ex in batch],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    for i, input_ids in enumerate(enc["input_ids"]):
        owner = enc["overflow_to_sample_mapping"][i]
        ex = batch[owner]
        seq_ids = enc.sequence_ids(i)
        offsets = enc["offset_mapping"][i]
        n = len(input_ids)
        row = np.full(max_length, pad, dtype=np.int32)
        row[:n] = input_ids
        type_row = np.zeros(max_length, dtype=np.int8)
        if "token_type_ids" in enc:
            type_row[:n] = enc["token_type_ids"][i]
        off_row = np.full((max_length, 2), -1, dtype=np.int32)
        for t, s in enumerate(seq_ids):
            if s == 1:
                off_row[t] = offsets[t]
        if ex.answers:
            a_start = ex.answer_starts[0]
            s_tok, e_tok = _label(offsets, seq_ids, a_start, a_start + len(ex.answers[0]))
        else:
            s_tok, e_tok = 0, 0
        ids.append(row)
        types.append(type_row)
        lengths.append(n)
        starts.append(s_tok)
        ends.append(e_tok)
        owners.append(lo + owner)
        offs.append(off_row)
    if not ids:
        return _empty(max_length)
    return FeatureSet(
        input_ids=np.stack(ids),
        token_type_ids=np.stack(types),
        lengths=np.asarray(lengths, dtype=np.int32),
        start_positions=np.asarray(starts, dtype=np.int32),
        end_positions=np.asarray(ends, dtype=np.int32),
        example_index=np.asarray(owners, dtype=np.int32),
        offsets=np.stack(offs),
    )


def _empty(max_length: int) -> FeatureSet:
    none = np.zeros(0, dtype=np.int32)
    return FeatureSet(
        input_ids=np.zeros((0, max_length), dtype=np.int32),
        token_type_ids=np.zeros((0, max_length), dtype=np.int8),
        lengths=none,
        start_positions=none,
        end_positions=none,
        example_index=none,
        offsets=np.zeros((0, max_length, 2), dtype=np.int32),
    )


def _concatenate(pieces: Sequence[FeatureSet], max_length: int) -> FeatureSet:
    if not pieces:
        return _empty(max_length)
    return FeatureSet(**{f.name: np.concatenate([getattr(p, f.name) for p in pieces]) for f in fields(FeatureSet)})
