"""`qa-train train-reader`: every option on the command line reaches the training run's configuration."""

import argparse
import dataclasses

import pytest

from training.cli import build_parser, train_config

REQUIRED = ["train-reader", "--train", "a.json", "--base", "encoder", "--out", "reader"]
# for the process, not the run; the rest required
NOT_CONFIG = {"help", "resume", "allocator", "targets_only", "train", "base", "out"}


def _train_reader_options() -> list[argparse.Action]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return [a for a in sub.choices["train-reader"]._actions if a.dest not in NOT_CONFIG]


def _other_value(action: argparse.Action) -> list[str]:
    """Command-line words that set the option to something other than its default."""
    flag = action.option_strings[0]
    if isinstance(action, argparse.BooleanOptionalAction):  # default None: "where the CPU has it"
        return [f"--no-{flag[2:]}"] if _config([])[action.dest] else [flag]
    if action.nargs == 0:
        return [flag]
    if action.choices:
        return [flag, next(c for c in action.choices if c != action.default)]
    if action.nargs in ("*", "+"):
        return [flag, "other.json"]
    if action.type is int:
        return [flag, str((action.default or 0) + 3)]
    if action.type is float:
        return [flag, str((action.default or 0.0) + 0.37)]
    return [flag, "other"]


def _config(words: list[str]) -> dict:
    return dataclasses.asdict(train_config(build_parser().parse_args([*REQUIRED, *words])))


@pytest.mark.parametrize("action", _train_reader_options(), ids=lambda a: a.option_strings[0])
def test_every_option_changes_the_training_configuration(action):
    default = _config([])
    changed = _config(_other_value(action))
    assert changed != default, f"{action.option_strings[0]} is parsed but never reaches TrainConfig"


def test_distillation_options_reach_the_run():
    cfg = train_config(
        build_parser().parse_args(
            [*REQUIRED, "--teacher", "teacher-dir", "--temperature", "3", "--distill-weight", "0.7", "--no-bf16"]
        )
    )
    assert (cfg.teacher, cfg.temperature, cfg.distill_weight, cfg.bf16) == ("teacher-dir", 3.0, 0.7, False)
    assert cfg.schedule_fields()["teacher"] == "teacher-dir"  # a resumed run must have the same teacher


@pytest.mark.parametrize("gpu_bf16", [True, False])  # one of the two differs from this CPU's own bf16
def test_on_a_gpu_bf16_follows_the_gpu_not_the_cpu(monkeypatch, gpu_bf16):
    import torch

    from qa.precision import bf16_supported

    cpu_bf16 = bf16_supported()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: gpu_bf16)
    assert _config(["--device", "auto"])["bf16"] is gpu_bf16
    assert _config(["--device", "cuda"])["bf16"] is gpu_bf16
    assert _config(["--device", "cuda", "--no-bf16"])["bf16"] is False
    assert _config(["--device", "cpu"])["bf16"] is cpu_bf16
