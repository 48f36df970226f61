"""Distillation: projecting a teacher's distributions onto student tokens; the soft loss falls; resume works."""

import numpy as np
import pytest
import torch

from training.distillation import TeacherTargets, distillation_loss, project_rows, window_span
from training.trainer import Trainer

from .test_trainer import config

pytestmark = pytest.mark.usefixtures("private_cache")  # targets and features stay out of ~/.cache/qa


def project(probs, chars, student):
    """One window through `project_rows`."""
    return project_rows(np.asarray(probs)[None], np.asarray(chars)[None], student[None])[0]


def test_projection_moves_mass_by_character_offsets():
    # student tokens: CLS, question token (not context), "Shen" [10,14), "zhen" [14,18), padding
    student = np.array([[-1, -1], [-1, -1], [10, 14], [14, 18], [-1, -1]])
    # teacher tokens: CLS, one token "Shenzhen" starting at 10, one whitespace-less token at 14 ("zhen" split)
    probs = np.array([0.2, 0.5, 0.3])
    first_chars = np.array([-1, 10, 14])
    out = project(probs, first_chars, student)
    assert out.tolist() == pytest.approx([0.2, 0.0, 0.5, 0.3, 0.0])
    # mass on characters no student token holds is dropped and the rest renormalised
    out = project(np.array([0.5, 0.5]), np.array([-1, 99]), student)
    assert out.tolist() == pytest.approx([1.0, 0, 0, 0, 0])
    assert window_span(student) == (10, 18)
    # characters between student tokens (a space), before them or past them hold no token
    spaced = np.array([[-1, -1], [10, 14], [15, 18]])
    out = project(np.array([0.1, 0.2, 0.3, 0.2, 0.2]), np.array([-1, 14, 9, 18, 16]), spaced)
    assert out.tolist() == pytest.approx([0.1 / 0.3, 0.0, 0.2 / 0.3])


def test_projecting_a_batch_keeps_each_row_to_its_own_tokens():
    # row 0 holds characters 10-18, row 1 characters 0-8 and 20-24, row 2 no context at all
    students = np.array(
        [
            [[-1, -1], [10, 14], [14, 18], [-1, -1]],
            [[-1, -1], [0, 4], [4, 8], [20, 24]],
            [[-1, -1], [-1, -1], [-1, -1], [-1, -1]],
        ]
    )
    probs = np.array([[0.1, 0.3, 0.6, 0.0], [0.2, 0.2, 0.2, 0.4], [0.5, 0.5, 0.0, 0.0]])
    # row 1's character 12 lies inside row 0's tokens but in none of its own: dropped, not moved across rows
    chars = np.array([[-1, 11, 16, -1], [-1, 5, 12, 21], [-1, 3, -1, -1]])
    out = project_rows(probs, chars, students)
    assert out[0].tolist() == pytest.approx([0.1, 0.3, 0.6, 0.0])
    assert out[1].tolist() == pytest.approx([0.2 / 0.8, 0.0, 0.2 / 0.8, 0.4 / 0.8])
    assert out[2].tolist() == pytest.approx([1.0, 0.0, 0.0, 0.0])
    for row in range(3):
        assert out[row].tolist() == pytest.approx(project(probs[row], chars[row], students[row]).tolist())


def test_distillation_loss_is_zero_when_the_student_matches_and_positive_otherwise():
    logits = torch.tensor([[2.0, 0.5, -1.0, 0.0]])
    mask = torch.tensor([[True, True, True, False]])
    teacher = torch.softmax(logits[:, :3] / 2.0, -1)
    teacher = torch.cat([teacher, torch.zeros(1, 1)], -1)
    assert distillation_loss(logits, logits, mask, teacher, teacher, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    other = torch.tensor([[0.0, 0.0, 3.0, 0.0]])
    assert distillation_loss(other, other, mask, teacher, teacher, 2.0).item() > 0.1


@pytest.mark.slow
def test_a_student_distilled_from_a_teacher_lowers_the_soft_loss_and_resumes(tmp_path):
    Trainer(config(tmp_path, epochs=4, checkpoint_dir=tmp_path / "t", out=tmp_path / "teacher")).run()
    student_cfg = dict(
        teacher=str(tmp_path / "teacher"),
        distill_weight=1.0,
        temperature=2.0,
        epochs=4,
        checkpoint_dir=tmp_path / "s",
        out=tmp_path / "student",
    )
    student = Trainer(config(tmp_path, **student_cfg))
    assert isinstance(student.targets, TeacherTargets)
    assert np.allclose(student.targets.start.astype(np.float32).sum(1), 1.0, atol=1e-2)
    losses = []
    original = student.train_step

    def record(rows):
        losses.append(original(rows))
        if len(losses) == 7:
            raise KeyboardInterrupt("session ended")
        return losses[-1]

    student.train_step = record
    with pytest.raises(KeyboardInterrupt):
        student.run()
    resumed = Trainer(config(tmp_path, **student_cfg))  # targets now come from the cache
    assert resumed.resume() and (resumed.epoch, resumed.step) == (2, 0)
    resumed.train_step = record
    resumed.run()
    assert len(losses) == 7 + (12 - 6)  # the 7th step was lost with the crash and redone
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3


def _uninterrupted_targets(tmp_path):
    """The shipped reader as a teacher over the tiny training slice: its inputs and its targets in one go."""
    from transformers import AutoTokenizer

    from index.embedding import bundled_embedding_model
    from training.distillation import compute_targets
    from training.features import build_features
    from training.squad import load_squad

    from ..conftest import ROOT
    from .test_trainer import tiny_squad

    teacher = str(ROOT / "models" / "reader")
    examples = load_squad(tiny_squad(tmp_path / "train.json"))
    features = build_features(examples, AutoTokenizer.from_pretrained(str(bundled_embedding_model())), 64, 16)
    return teacher, examples, features, compute_targets(teacher, examples, features, 2.0, batch_size=4, progress=False)


@pytest.mark.slow
def test_teacher_targets_resume_after_a_stop(tmp_path, monkeypatch):
    import training.distillation as distillation

    teacher, examples, features, whole = _uninterrupted_targets(tmp_path)

    calls = []
    original = distillation._teacher_batch

    def stop_at_the_fourth(*args):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt("session ended")
        return original(*args)

    monkeypatch.setattr(distillation, "_teacher_batch", stop_at_the_fourth)
    partial = tmp_path / "targets.partial.npz"
    run = dict(batch_size=4, progress=False, partial=partial, save_every=1)
    with pytest.raises(KeyboardInterrupt):
        distillation.compute_targets(teacher, examples, features, 2.0, **run)
    calls.clear()
    resumed = distillation.compute_targets(teacher, examples, features, 2.0, **run)
    batches = -(-len(features) // 4)
    assert len(calls) == batches - 3
    assert np.array_equal(resumed.start, whole.start) and np.array_equal(resumed.end, whole.end)


@pytest.mark.slow
def test_sigterm_during_teacher_targets_keeps_the_batches_done(tmp_path, monkeypatch):
    import os
    import signal

    import training.distillation as distillation
    from training.interrupts import TrainingStopped

    teacher, examples, features, whole = _uninterrupted_targets(tmp_path)

    partial = tmp_path / "targets.partial.npz"
    calls = []
    original = distillation._teacher_batch

    def terminated_during_the_third(*args):
        calls.append(1)
        if len(calls) == 3 and not partial.exists():
            os.kill(os.getpid(), signal.SIGTERM)  # as when a session ends; the batch still completes
        return original(*args)

    monkeypatch.setattr(distillation, "_teacher_batch", terminated_during_the_third)
    run = dict(batch_size=4, progress=False, partial=partial, save_every=100)
    with pytest.raises(TrainingStopped, match="after batch 3/"):
        distillation.compute_targets(teacher, examples, features, 2.0, **run)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers restored
    calls.clear()
    resumed = distillation.compute_targets(teacher, examples, features, 2.0, **run)
    assert len(calls) == -(-len(features) // 4) - 3  # the three batches done before the stop are not redone
    assert np.array_equal(resumed.start, whole.start) and np.array_equal(resumed.end, whole.end)


@pytest.mark.slow
def test_targets_saved_with_the_teacher_train_a_run_without_it_and_other_windows_are_refused(tmp_path):
    import shutil

    from qa.settings import default_cache_dir
    from training.distillation import TargetsError

    from ..conftest import ROOT

    teacher = str(ROOT / "models" / "reader")  # any trained reader will do as a teacher here
    with_teacher = Trainer(config(tmp_path, teacher=teacher, checkpoint_dir=tmp_path / "a", out=tmp_path / "a-out"))
    (saved,) = (default_cache_dir() / "teacher-targets").glob("*.npz")
    carried = shutil.copy(saved, tmp_path / "carried.npz")  # as if taken to a machine without the teacher
    saved.unlink()

    elsewhere = Trainer(
        config(tmp_path, teacher_targets=str(carried), checkpoint_dir=tmp_path / "b", out=tmp_path / "b-out")
    )
    assert elsewhere.targets is not None and with_teacher.targets is not None
    assert np.array_equal(elsewhere.targets.start, with_teacher.targets.start)
    assert np.array_equal(elsewhere.targets.end, with_teacher.targets.end)
    assert teacher in elsewhere.targets.teacher
    assert not list((default_cache_dir() / "teacher-targets").glob("*.npz"))  # nothing computed again

    for other in (dict(temperature=3.0), dict(max_length=48), dict(negatives=0.5)):
        with pytest.raises(TargetsError, match="other windows or another temperature"):
            Trainer(config(tmp_path, teacher_targets=str(carried), checkpoint_dir=tmp_path / "c", **other))
    with pytest.raises(TargetsError, match="not both"):
        Trainer(config(tmp_path, teacher=teacher, teacher_targets=str(carried), checkpoint_dir=tmp_path / "d"))

    unkeyed = TeacherTargets.load(carried)
    unkeyed.key = ""  # a file saved before keys were kept
    unkeyed.save(tmp_path / "unkeyed.npz")
    with pytest.raises(TargetsError, match="compute the targets again"):
        Trainer(config(tmp_path, teacher_targets=str(tmp_path / "unkeyed.npz"), checkpoint_dir=tmp_path / "e"))


@pytest.mark.slow
def test_targets_only_makes_the_file_a_run_elsewhere_trains_from(tmp_path, capsys):
    import json

    from index.embedding import bundled_embedding_model
    from training.cli import main

    from ..conftest import ROOT
    from .test_trainer import tiny_squad

    words = [
        "train-reader",
        "--train",
        str(tiny_squad(tmp_path / "train.json")),
        "--base",
        str(bundled_embedding_model()),
    ]
    words += ["--out", str(tmp_path / "never"), "--max-length", "64", "--stride", "16", "--no-bf16", "--threads", "2"]
    assert main([*words, "--targets-only"]) == 2  # without a teacher there is nothing to make
    assert "needs --teacher" in capsys.readouterr().err

    assert main([*words, "--targets-only", "--teacher", str(ROOT / "models" / "reader")]) == 0
    made = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["teacher_targets"]
    assert not (tmp_path / "never").exists()  # nothing trained, nothing written as a reader
    elsewhere = Trainer(config(tmp_path, teacher_targets=made, checkpoint_dir=tmp_path / "b"))
    assert elsewhere.targets is not None and elsewhere.targets.start.shape[0] == len(elsewhere.features)
