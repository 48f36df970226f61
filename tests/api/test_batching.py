"""The batcher: questions that queue while a pass runs are read together; dropped ones are not read at all."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from api.batching import Batcher
from qa.answer import Asked


class Recorder:
    """answer_batch double: records each batch, can hold a pass open, fails on questions that say 'bad'."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, asked):
        self.release.wait(5)
        questions = [a.question for a in asked]
        self.batches.append(questions)
        if any("bad" in q for q in questions):
            raise ValueError("a bad question")
        return [f"answer to {a.question} (top {a.top_k})" for a in asked]


def run(scenario):
    with ThreadPoolExecutor(max_workers=1) as executor:
        recorder = Recorder()
        result = asyncio.run(scenario(recorder, executor))
    return recorder, result


async def behind_a_held_pass(batcher, recorder):
    """Starts q0's pass and holds it open until `recorder.release` is set: what is submitted next queues."""
    recorder.release.clear()
    first = batcher.submit(Asked("q0", None))
    await asyncio.sleep(0.05)
    return first


def test_one_question_is_read_alone_and_at_once():
    async def scenario(recorder, executor):
        return await Batcher(recorder, executor, max_batch=8).submit(Asked("Where?", 3))

    recorder, answer = run(scenario)
    assert answer == "answer to Where? (top 3)" and recorder.batches == [["Where?"]]


def test_questions_that_queue_during_a_pass_are_read_together_up_to_max_batch():
    async def scenario(recorder, executor):
        batcher = Batcher(recorder, executor, max_batch=4)
        first = await behind_a_held_pass(batcher, recorder)
        rest = [batcher.submit(Asked(f"q{i}", i)) for i in range(1, 8)]
        recorder.release.set()
        return await asyncio.gather(first, *rest)

    recorder, answers = run(scenario)
    assert recorder.batches == [["q0"], ["q1", "q2", "q3", "q4"], ["q5", "q6", "q7"]]
    assert answers == ["answer to q0 (top None)", *(f"answer to q{i} (top {i})" for i in range(1, 8))]


def test_a_cancelled_question_is_never_read():
    async def scenario(recorder, executor):
        batcher = Batcher(recorder, executor, max_batch=8)
        first = await behind_a_held_pass(batcher, recorder)
        dropped, kept = batcher.submit(Asked("gave up", None)), batcher.submit(Asked("still here", None))
        dropped.cancel()
        recorder.release.set()
        return await asyncio.gather(first, kept)

    recorder, answers = run(scenario)
    assert recorder.batches == [["q0"], ["still here"]] and answers[1] == "answer to still here (top None)"


def test_a_failing_question_fails_only_itself():
    async def scenario(recorder, executor):
        batcher = Batcher(recorder, executor, max_batch=8)
        first = await behind_a_held_pass(batcher, recorder)
        good, bad = batcher.submit(Asked("good", 1)), batcher.submit(Asked("bad", 1))
        recorder.release.set()
        await first
        with pytest.raises(ValueError, match="a bad question"):
            await bad
        return await good

    recorder, answer = run(scenario)
    assert answer == "answer to good (top 1)"
    assert recorder.batches == [["q0"], ["good", "bad"], ["good"], ["bad"]]  # the batch, then one by one
