"""tools/device-train.sh rehearsed on the CPU: the teacher's call, its return, the student's call from the
teacher's targets, and their return, with tiny SQuAD files and MiniLM standing in for MPNet."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from index.embedding import bundled_embedding_model

from ..conftest import ROOT
from ..training.test_trainer import tiny_squad

pytestmark = pytest.mark.slow


def squad_files(tmp_path: Path) -> tuple[Path, Path]:
    """The four files the recipe names: training data, and validation text it has not seen."""
    squad, cache = tmp_path / "squad", tmp_path / "here"
    (cache / "data").mkdir(parents=True)
    squad.mkdir()
    tiny_squad(squad / "squad-v1.1-train.json")
    shutil.copy(squad / "squad-v1.1-train.json", cache / "data" / "squad-v2.0-dev.train.json")
    unseen = (squad / "squad-v1.1-train.json").read_text().replace("workshop", "hall").replace("Guilds", "Halls")
    (squad / "squad-v1.1-dev-open.json").write_text(unseen)
    (cache / "data" / "squad-v2.0-dev.holdout.json").write_text(unseen)
    shutil.copytree(bundled_embedding_model(), cache / "teacher-base" / "all-mpnet-base-v2")
    return squad, cache


def here(repo: Path, env: dict[str, str], *words: str) -> str:
    done = subprocess.run(["bash", "tools/device-train.sh", *words], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def there(repo: Path, env: dict[str, str], machine: Path, what: str) -> Path:
    """One lease: the parts carried one call each into X, then the last part's script; returns $OUT."""
    parts = sorted((repo / ".dev").glob("p*"))
    x, out = machine / "x", machine / "out"
    x.mkdir(parents=True)
    out.mkdir()
    for part in parts[:-1]:
        for f in part.iterdir():
            shutil.copy(f, x)
    lease = env | {"X": str(x), "OUT": str(out), "CACHE": str(machine / "cache")}
    done = subprocess.run(
        ["bash", str(parts[-1].relative_to(repo) / "device-train.sh"), "train", what],
        cwd=repo,
        env=lease,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_teacher_then_student_through_the_device_recipe(tmp_path):
    from transformers import AutoModelForQuestionAnswering

    from training.distillation import TeacherTargets

    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("qa", "index", "tools", ".venv"):
        (repo / name).symlink_to(ROOT / name)
    (repo / ".git" / "info").mkdir(parents=True)
    squad, cache = squad_files(tmp_path)
    env = os.environ | {"CACHE": str(cache), "SQUAD": str(squad), "REHEARSE": "1", "HF_HUB_OFFLINE": "1"}
    env.pop("QA_CACHE_DIR", None)

    here(repo, env, "prepare", "teacher")
    returned = there(repo, env, tmp_path / "lease-1", "teacher")
    assert {"meta.tgz", "sum.txt", "w.00"} <= {f.name for f in returned.iterdir()}
    told = here(repo, env, "unpack", "teacher", str(returned))
    targets = Path(re.search(r"TARGETS=(\S+)", told).group(1))
    teacher = cache / "readers" / "mpnet-teacher"
    assert AutoModelForQuestionAnswering.from_pretrained(teacher) is not None
    assert json.loads((teacher / "training.json").read_text())["validation"]  # its epoch was validated there
    assert TeacherTargets.load(targets).key  # made for the student's windows, which the student's call checks

    here(repo, env | {"TARGETS": str(targets)}, "prepare", "student")
    returned = there(repo, env, tmp_path / "lease-2", "student")
    here(repo, env, "unpack", "student", str(returned))
    here(repo, env, "unpack", "final", str(tmp_path / "lease-2" / "x" / "final"))
    student = json.loads((cache / "readers" / "distilled-avg" / "student-training.json").read_text())
    assert student["config"]["teacher_targets"] and not student["config"]["teacher"]
    assert len(student["validation"]) == 4
    assert all(epoch["squad-v1.1-dev-open.json"]["questions"] == 24 for epoch in student["validation"])
    for reader in ("distilled-avg", "minilm-distilled"):
        assert AutoModelForQuestionAnswering.from_pretrained(cache / "readers" / reader) is not None
