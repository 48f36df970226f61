"""A few real training steps on a tiny synthetic slice: the loss falls, and a resumed run continues exactly."""

import json

import pytest
import torch
from safetensors.torch import load_file

from index.embedding import ModelNotFoundError, bundled_embedding_model
from qa.openvino_reader import OpenVinoQA
from training.trainer import TrainConfig, Trainer, check_inputs, length_bucketed_batches, resolve_device

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("private_cache")]

PLACES = ["Paris", "Lagos", "Lima", "Oslo", "Quito", "Hanoi", "Cairo", "Dublin", "Nairobi", "Manila", "Sofia", "Riga"]
THINGS = ["lamps", "boats", "maps", "drums", "kites", "clocks", "bells", "chairs", "coins", "tiles", "masks", "ropes"]


def tiny_squad(path):
    paragraphs = []
    for i, (place, thing) in enumerate(zip(PLACES, THINGS, strict=True)):
        context = f"The workshop of guild {i} stands in {place}. Its members make {thing} for the market."
        qas = [
            {
                "id": f"{i}-w",
                "question": f"Where does guild {i} work?",
                "answers": [{"text": place, "answer_start": context.index(place)}],
            },
            {
                "id": f"{i}-m",
                "question": f"What does guild {i} make?",
                "answers": [{"text": thing, "answer_start": context.index(thing)}],
            },
        ]
        paragraphs.append({"context": context, "qas": qas})
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "Guilds", "paragraphs": paragraphs}]}))
    return path


def config(tmp_path, **overrides):
    base = dict(
        train=[tiny_squad(tmp_path / "train.json")],
        validate=[],
        base=str(bundled_embedding_model()),
        out=tmp_path / "reader",
        epochs=3,
        learning_rate=3e-4,
        batch_size=8,
        max_length=64,
        stride=16,
        warmup=0.0,
        checkpoint_dir=tmp_path / "run",
        checkpoint_every=2,
        bf16=False,
        threads=2,
    )
    return TrainConfig(**(base | overrides))


def crash_during_step(trainer, n):
    """Run `trainer` until its n-th step, which dies as when a session ends outright (no handler runs)."""
    original = trainer.train_step
    calls = {"n": 0}

    def crashing(rows):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt("session ended")
        return original(rows)

    trainer.train_step = crashing
    with pytest.raises(KeyboardInterrupt):
        trainer.run()


def test_loss_goes_down_and_a_reader_directory_is_written(tmp_path):
    trainer = Trainer(config(tmp_path, epochs=4))
    losses = []
    original = trainer.train_step

    def record(rows):
        losses.append(original(rows))
        return losses[-1]

    trainer.train_step = record
    trainer.run()
    assert len(losses) == 4 * 3  # 24 questions, batches of 8
    assert sum(losses[-3:]) / 3 < 0.6 * sum(losses[:3]) / 3
    out = tmp_path / "reader"
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    assert json.loads((out / "training.json").read_text())["config"]["epochs"] == 4


def test_resume_continues_where_it_stopped(tmp_path):
    uninterrupted = Trainer(config(tmp_path, checkpoint_dir=tmp_path / "a", out=tmp_path / "ra"))
    uninterrupted.run()

    crash_during_step(Trainer(config(tmp_path, checkpoint_dir=tmp_path / "b", out=tmp_path / "rb")), 6)

    resumed = Trainer(config(tmp_path, checkpoint_dir=tmp_path / "b", out=tmp_path / "rb"))
    assert resumed.resume()
    assert (resumed.epoch, resumed.step) == (1, 2)  # 3 steps an epoch, checkpoints every 2 and at epoch ends
    resumed.run()
    for name, value in uninterrupted.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, msg=f"{name} differs after resume")


def test_a_checkpoint_of_the_unfused_optimizer_resumes_into_the_fused_one(tmp_path, monkeypatch):
    """Runs checkpointed before AdamW was fused (CPU runs of 2026-12-03 and earlier) continue with their moments,
    now on the fused kernel (the saved groups would otherwise switch it back off)."""
    with monkeypatch.context() as patch:
        patch.setattr("training.trainer.FUSED_ADAMW_DEVICES", ())
        before = Trainer(config(tmp_path))
        assert not any(group["fused"] for group in before.optimizer.param_groups)
        crash_during_step(before, 6)
    saved = torch.load(before.checkpoint_path, weights_only=False)["optimizer"]

    resumed = Trainer(config(tmp_path))
    assert resumed.resume()
    assert all(group["fused"] for group in resumed.optimizer.param_groups)
    loaded = resumed.optimizer.state_dict()["state"]
    assert loaded.keys() == saved["state"].keys()
    for key, moments in saved["state"].items():
        for name in ("step", "exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(loaded[key][name], moments[name], rtol=0, atol=0)
    resumed.run()
    assert resumed.epoch == 3


def test_sigterm_saves_a_checkpoint_at_the_step_boundary_and_loses_nothing(tmp_path):
    import os
    import signal

    from training.trainer import TrainingStopped

    stopped = Trainer(config(tmp_path, checkpoint_every=100))
    original = stopped.train_step
    calls = {"n": 0}

    def terminated_during_the_fifth(rows):
        calls["n"] += 1
        if calls["n"] == 5:
            os.kill(os.getpid(), signal.SIGTERM)  # as when a session ends; the step still completes
        return original(rows)

    stopped.train_step = terminated_during_the_fifth
    with pytest.raises(TrainingStopped, match="epoch 2 step 2/3"):
        stopped.run()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored

    resumed = Trainer(config(tmp_path, checkpoint_every=100))
    assert resumed.resume() and (resumed.epoch, resumed.step) == (1, 2)  # all 5 steps kept


class SixMinuteSteps:
    """A clock that moves on six minutes each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 360.0
        return self.now


@pytest.mark.parametrize(("minutes", "kept"), [(10.0, (1, 2)), (None, (1, 0))])
def test_a_run_killed_outright_loses_at_most_the_minutes_since_its_last_checkpoint(
    tmp_path, monkeypatch, minutes, kept
):
    from training import trainer as training

    monkeypatch.setattr(training, "time", SixMinuteSteps())
    crash_during_step(Trainer(config(tmp_path, checkpoint_every=100, checkpoint_minutes=minutes)), 6)
    resumed = Trainer(config(tmp_path, checkpoint_every=100, checkpoint_minutes=minutes))
    # 3 steps an epoch; with 10 minutes, the 5th step (epoch 2 step 2) came 12 minutes after the epoch-end save
    assert resumed.resume() and (resumed.epoch, resumed.step) == kept


def test_a_stop_during_validation_loses_no_training(tmp_path):
    validate = [tiny_squad(tmp_path / "dev.json")]
    stopped = Trainer(config(tmp_path, epochs=2, validate=validate))
    steps = []
    original_step = stopped.train_step

    def count(rows):
        steps.append(1)
        return original_step(rows)

    def session_ends():
        raise KeyboardInterrupt("session ended during validation")

    stopped.train_step, stopped.validate = count, session_ends
    with pytest.raises(KeyboardInterrupt):
        stopped.run()
    assert len(steps) == 3  # epoch 1 trained, then the stop

    resumed = Trainer(config(tmp_path, epochs=2, validate=validate))
    assert resumed.resume() and (resumed.epoch, resumed.step) == (1, 0)  # the epoch's end was checkpointed
    resumed.train_step = count
    history = resumed.run()
    assert len(steps) == 3 + 3  # only epoch 2 trained
    assert [h["epoch"] for h in history] == [1, 2]  # epoch 1 validated on resume, before epoch 2
    assert (tmp_path / "run" / "epoch-1").is_dir() and (tmp_path / "run" / "epoch-2").is_dir()


def test_validation_on_openvino_scores_as_on_torch_and_leaves_the_weights_alone(tmp_path, monkeypatch):
    import training.trainer as training

    trainer = Trainer(config(tmp_path, epochs=1, validate=[tiny_squad(tmp_path / "dev.json")]))
    trainer.run()
    weights = {name: tensor.clone() for name, tensor in trainer.model.state_dict().items()}
    compiled, autocast = trainer._validation_model()
    assert isinstance(compiled, OpenVinoQA) and autocast is False
    question, passage = "Where does guild 3 work?", "The workshop of guild 3 stands in Oslo."
    enc = trainer.tokenizer([question], [passage], return_tensors="pt")
    with torch.inference_mode():
        assert torch.allclose(compiled(**enc).start_logits, trainer.model(**enc).start_logits, atol=1e-3)
    on_openvino = trainer.validate()["dev.json"]
    monkeypatch.setattr(training, "openvino_available", lambda: False)
    assert trainer._validation_model()[0] is trainer.model
    on_torch = trainer.validate()["dev.json"]
    assert on_openvino["exact_match"] == on_torch["exact_match"]
    assert on_openvino["f1"] == pytest.approx(on_torch["f1"], abs=0.5)
    assert all(torch.equal(weights[name], tensor) for name, tensor in trainer.model.state_dict().items())


def test_resume_refuses_a_checkpoint_from_another_schedule(tmp_path):
    Trainer(config(tmp_path, epochs=1)).run()
    other = Trainer(config(tmp_path, epochs=2))
    with pytest.raises(SystemExit, match="same options"):
        other.resume()


def test_made_up_negatives_of_each_kind_and_seed_get_features_of_their_own(tmp_path):
    cut = Trainer(config(tmp_path, negatives=1.0, negative_kind="answer-removed"))
    assert sum(ex.id.endswith("-cut") and ex.is_impossible for ex in cut.train_examples) == 24
    originals = {ex.id: ex for ex in cut.train_examples[:24]}
    for neg in cut.train_examples[24:]:
        original = originals[neg.id.removesuffix("-cut")]
        assert neg.context in original.context and original.answers[0] not in neg.context  # one sentence of two
    seeds = [Trainer(config(tmp_path, negatives=0.5, seed=seed)) for seed in (1, 2)]
    drawn = [{ex.id for ex in t.train_examples if ex.is_impossible} for t in seeds]
    assert drawn[0] != drawn[1]  # the seed draws which questions get a negative ...
    assert len(list((tmp_path / "cache" / "features").glob("*.npz"))) == 3  # ... so it is part of the cache key
    for trainer in (cut, *seeds):
        assert int(trainer.features.example_index.max()) == len(trainer.train_examples) - 1


def test_batches_are_length_bucketed_and_cover_every_feature():
    import numpy as np

    lengths = np.random.default_rng(0).integers(20, 256, size=1000)
    batches = length_bucketed_batches(lengths, 32, 10, np.random.default_rng(1))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    assert spread < 30, "batches hold features of similar length"


def test_device_auto_is_a_gpu_only_where_torch_sees_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(SystemExit, match="no CUDA GPU"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")


def test_a_run_from_a_trained_reader_reuses_the_features_of_its_base(tmp_path):
    Trainer(config(tmp_path, epochs=1)).run()
    features = tmp_path / "cache" / "features"
    assert len(list(features.glob("*.npz"))) == 1
    onward = Trainer(config(tmp_path, epochs=1, base=str(tmp_path / "reader"), checkpoint_dir=tmp_path / "run2"))
    assert len(list(features.glob("*.npz"))) == 1  # the same vocabulary cuts the same windows
    assert len(onward.features) > 0


def test_the_tokenizer_key_follows_what_cuts_the_text_not_where_it_lies(tmp_path):
    from transformers import AutoTokenizer

    from training.trainer import tokenizer_key

    tokenizer = AutoTokenizer.from_pretrained(bundled_embedding_model())
    tokenizer.save_pretrained(tmp_path / "copy")
    assert tokenizer_key(AutoTokenizer.from_pretrained(tmp_path / "copy")) == tokenizer_key(tokenizer)
    tokenizer.add_tokens(["tencent"])
    assert tokenizer_key(tokenizer) != tokenizer_key(AutoTokenizer.from_pretrained(tmp_path / "copy"))


def test_the_tokenizer_key_changes_with_the_tokenizers_library_that_cuts_the_windows(monkeypatch):
    from transformers import AutoTokenizer

    from training import trainer as training
    from training.trainer import tokenizer_key

    tokenizer = AutoTokenizer.from_pretrained(bundled_embedding_model())
    here = tokenizer_key(tokenizer)
    # the module as training.trainer holds it: other tests may have imported the library afresh
    monkeypatch.setattr(training.tokenizers, "__version__", "0.23.2")
    assert tokenizer_key(tokenizer) != here


def test_a_missing_file_or_model_fails_before_any_work_with_what_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no SQuAD file at .*dev\.json"):
        check_inputs(config(tmp_path, validate=[tmp_path / "dev.json"]))
    with pytest.raises(ModelNotFoundError, match=r"base encoder \(--base\) '/nowhere'"):
        check_inputs(config(tmp_path, base="/nowhere"))
    with pytest.raises(ModelNotFoundError, match=r"teacher \(--teacher\)"):
        check_inputs(config(tmp_path, teacher=str(tmp_path / "no-teacher")))
    assert not (tmp_path / "run").exists()  # nothing started
    check_inputs(config(tmp_path))  # the real base and data pass


def test_training_hands_kept_pages_back_when_resident_memory_passes_the_ceiling(tmp_path, monkeypatch, caplog):
    from training import trainer as training

    looked = []

    def release_above(ceiling):
        looked.append(ceiling)
        return (ceiling + 500, ceiling // 2) if len(looked) == 1 else None

    monkeypatch.setattr(training, "MEMORY_CHECK_EVERY", 2)
    monkeypatch.setattr(training, "release_above", release_above)
    trainer = Trainer(config(tmp_path, epochs=2))
    trainer.memory_ceiling = 1000
    with caplog.at_level("INFO", logger="training.trainer"):
        trainer.run()
    assert looked == [1000, 1000]  # at step 2 of each 3-step epoch
    assert "resident 1500 MB above the 1000 MB ceiling: freed pages released, now 500 MB" in caplog.text


def test_snapshots_keep_the_weights_inside_epochs_without_changing_the_run(tmp_path):
    plain = Trainer(config(tmp_path, epochs=2, checkpoint_dir=tmp_path / "a", out=tmp_path / "ra"))
    plain.run()
    snapped = Trainer(config(tmp_path, epochs=2, checkpoint_dir=tmp_path / "b", out=tmp_path / "rb", snapshot_every=2))
    snapped.run()

    kept = sorted(p.name for p in (tmp_path / "b").glob("epoch-*-step-*"))
    assert kept == ["epoch-1-step-2", "epoch-2-step-2"]  # 3 steps an epoch: its end is epoch-E already
    assert not list((tmp_path / "a").glob("epoch-*-step-*"))
    for name, value in plain.model.state_dict().items():
        torch.testing.assert_close(snapped.model.state_dict()[name], value, msg=f"{name} differs with snapshots")
    mid, end = (load_file(tmp_path / "b" / d / "model.safetensors") for d in ("epoch-1-step-2", "epoch-1"))
    assert any(not torch.equal(mid[k], end[k]) for k in end)  # taken inside the epoch, a step before its end
