"""The cascade with real models: the accurate reader loaded as the settings say, re-reading only the uncertain."""

import pytest

from qa.cascade import ReaderRule, save_rule
from qa.evaluation import load_gold, local_asker, run_gold, summarize
from qa.pipeline import Answerer, load_accurate_reading

from ..conftest import ROOT

pytestmark = pytest.mark.slow
SHIPPED = ROOT / "models" / "reader"


def cascade(answerer: Answerer, accurate_dir, mode: str) -> Answerer:
    """The session's pipeline with an accurate reader: a packed copy of the shipped reader, strict by its rule."""
    settings = answerer.settings.model_copy(
        update={
            "reader_mode": mode,
            "accurate_reader_model": str(accurate_dir),
            "accurate_reader_precision": "fp32",
            "reader_backend": "torch",  # only the accurate reader loads here: quick, and no compiled copy cached
            "escalate_below": 0.6,
        }
    )
    accurate = load_accurate_reading(settings)
    parts = (answerer.embedder, answerer.store, answerer.reader, answerer.resolver, None, answerer.calibration)
    return Answerer(settings, *parts, accurate)


@pytest.fixture(scope="module")
def accurate_dir(tmp_path_factory):
    from training.cli import main

    out = tmp_path_factory.mktemp("accurate")
    assert main(["pack-reader", str(SHIPPED), "--out", str(out)]) == 0
    save_rule(ReaderRule(min_score=0.8, null_margin=0.0), out)  # stricter than the small reader's (0.05)
    return out


def test_auto_re_reads_the_uncertain_answer_and_keeps_the_sure_one(answerer, accurate_dir):
    pipeline = cascade(answerer, accurate_dir, "auto")
    sure = pipeline.answer("How many views did Blue Planet II get?")
    assert (sure.reader, sure.text) == ("fast", "220 million")
    unsure = pipeline.answer("Who is the CEO of the BBC?")  # the small reader's "Lau Seng Yee" scores under 0.6
    assert unsure.reader == "accurate"
    assert unsure.text is None  # its span probability (0.6) is under the accurate rule's 0.8


def test_qa_eval_counts_what_was_escalated(answerer, accurate_dir):
    gold = load_gold(ROOT / "eval" / "seed_gold.jsonl")[:12]
    auto = summarize(run_gold(gold, local_asker(cascade(answerer, accurate_dir, "auto"), None), progress=False), 3)
    accurate = cascade(answerer, accurate_dir, "accurate")
    everything = summarize(run_gold(gold, local_asker(accurate, None), progress=False), 3)
    fast = summarize(run_gold(gold, local_asker(answerer, None), progress=False), 3)
    assert 0 < auto.escalated < len(gold) and everything.escalated == len(gold) and fast.escalated == 0
