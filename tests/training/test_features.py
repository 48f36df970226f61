import pytest
from transformers import AutoTokenizer

from index.embedding import bundled_embedding_model
from qa.reader import truncate_question
from training.features import build_features
from training.squad import SquadExample


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(str(bundled_embedding_model()))


def example(context, answer, question="What is it?"):
    start = context.index(answer)
    return SquadExample("id", "t", question, context, (answer,), (start,))


def answer_tokens(features, row, tokenizer):
    s, e = features.start_positions[row], features.end_positions[row]
    return tokenizer.decode(features.input_ids[row, s : e + 1])


def test_labels_point_at_the_answer_tokens(tokenizer):
    ex = example("The Shenzhen-based company signed a memorandum in London on Wednesday.", "London")
    f = build_features([ex], tokenizer, max_length=64, stride=16)
    assert len(f) == 1
    assert answer_tokens(f, 0, tokenizer) == "london"
    s, e = f.start_positions[0], f.end_positions[0]
    assert ex.context[f.offsets[0, s, 0] : f.offsets[0, e, 1]] == "London"
    assert (f.offsets[0, : f.lengths[0]] >= 0).any() and f.offsets[0, 0, 0] == -1  # CLS is not context


def test_long_context_makes_overlapping_windows_with_cls_label_where_the_answer_is_absent(tokenizer):
    context = " ".join(f"Filler sentence number {i}." for i in range(60)) + " The answer is Shenzhen."
    f = build_features([example(context, "Shenzhen")], tokenizer, max_length=64, stride=24)
    assert len(f) > 3
    assert set(f.example_index.tolist()) == {0}
    with_answer = [r for r in range(len(f)) if f.start_positions[r] > 0]
    assert with_answer and all(answer_tokens(f, r, tokenizer) == "shenzhen" for r in with_answer)
    assert (f.start_positions == 0).sum() >= 1
    assert f.input_ids.dtype.itemsize == 4 and f.lengths.max() <= 64


def test_unanswerable_examples_point_at_cls(tokenizer):
    ex = SquadExample("n", "t", "Who?", "Some text without it.", (), ())
    f = build_features([ex], tokenizer, max_length=64, stride=16)
    assert f.start_positions[0] == 0 and f.end_positions[0] == 0


def test_overlong_questions_are_truncated_not_fatal(tokenizer):
    question = "why " * 500
    assert len(tokenizer(truncate_question(tokenizer, question), add_special_tokens=False)["input_ids"]) == 64
    f = build_features([example("Tencent is based in Shenzhen.", "Shenzhen", question)], tokenizer, 128, 32)
    assert answer_tokens(f, 0, tokenizer) == "shenzhen"


def test_save_and_load_round_trip(tokenizer, tmp_path):
    f = build_features([example("Tencent is based in Shenzhen.", "Shenzhen")], tokenizer, 64, 16)
    f.save(tmp_path / "f.npz")
    g = type(f).load(tmp_path / "f.npz")
    assert (g.input_ids == f.input_ids).all() and (g.offsets == f.offsets).all()


def test_chunks_tokenised_in_worker_processes_give_the_same_windows(tokenizer):
    from dataclasses import fields

    long = " ".join(f"Sentence {i} says that Tencent is based in Shenzhen." for i in range(12))
    examples = [example(long, "Shenzhen", f"Where is Tencent based? ({i})") for i in range(3)]
    examples += [example("Tencent signed in London.", "London"), example("Pony Ma founded it.", "Pony Ma")]
    serial = build_features(examples, tokenizer, 64, 16, chunk=2, workers=1)
    pooled = build_features(examples, tokenizer, 64, 16, chunk=2, workers=2)
    assert len(serial) > len(examples)  # the long contexts overflow into several windows
    assert sorted(set(serial.example_index.tolist())) == list(range(len(examples)))
    for f in fields(serial):
        assert (getattr(pooled, f.name) == getattr(serial, f.name)).all(), f.name


def test_truncating_questions_in_one_call_cuts_each_as_alone(tokenizer):
    from qa.reader import truncate_questions

    questions = ["Where is Tencent based?", " ".join(["word"] * 80) + "?", ""]
    assert truncate_questions(tokenizer, questions, 8) == [truncate_question(tokenizer, q, 8) for q in questions]
    assert truncate_questions(tokenizer, questions, 8)[1] == " ".join(["word"] * 8)
    assert truncate_questions(tokenizer, []) == []
