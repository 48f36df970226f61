"""Questions that arrive while the reader is busy wait together and are answered in one batch.

One client sees no change: its question is read alone, at once. Under load, the questions that queued
during a pass go into the next pass together (one embedding call, one reader pass over their top passages and one over
the rest where needed: `Answerer.read`), which keeps both cores busier than small passes per question.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

from qa.answer import Answer, Asked

log = logging.getLogger(__name__)


@dataclass
class _Waiting:
    asked: Asked
    future: asyncio.Future[Answer] = field(repr=False)


class Batcher:
    """Feeds queued questions, up to `max_batch` at a time, to `answer_batch` on `executor`."""

    def __init__(
        self, answer_batch: Callable[[Sequence[Asked]], list[Answer]], executor: Executor, max_batch: int
    ) -> None:
        self._answer_batch = answer_batch
        self._executor = executor
        self.max_batch = max_batch
        self._queue: deque[_Waiting] = deque()
        self._worker: asyncio.Task[None] | None = None

    def submit(self, asked: Asked) -> asyncio.Future[Answer]:
        """A future for the answer; cancel it to drop a question that has not been read yet."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(asked, loop.create_future())
        self._queue.append(waiting)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        return waiting.future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            batch = self._next_batch()
            if not batch:
                continue
            try:
                answers = await loop.run_in_executor(self._executor, self._answers, [w.asked for w in batch])
            except BaseException as exc:  # the executor is gone (shut down) or the worker was cancelled
                for waiting in batch:
                    if not waiting.future.done():
                        waiting.future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for waiting, answer in zip(batch, answers, strict=True):
                if waiting.future.done():
                    continue
                if isinstance(answer, Exception):
                    waiting.future.set_exception(answer)
                else:
                    waiting.future.set_result(answer)

    def _next_batch(self) -> list[_Waiting]:
        batch: list[_Waiting] = []
        while self._queue and len(batch) < self.max_batch:
            waiting = self._queue.popleft()
            if not waiting.future.done():  # done: cancelled after its client gave up waiting
                batch.append(waiting)
        return batch

    def _answers(self, asked: list[Asked]) -> list[Answer | Exception]:
        """One pass for the batch; should it fail, each question alone, so one bad question fails only itself."""
        try:
            return list(self._answer_batch(asked))
        except Exception as exc:
            if len(asked) == 1:
                return [exc]
            log.warning("a batch of %d questions failed (%s); answering them one by one", len(asked), exc)
        return [self._alone(one) for one in asked]

    def _alone(self, asked: Asked) -> Answer | Exception:
        try:
            return self._answer_batch([asked])[0]
        except Exception as exc:
            return exc
