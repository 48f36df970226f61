"""OpenVINO for the project's encoders (the embedder here, the reader in qa): one core, IR kept on disk."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # openvino and torch load only when a model is compiled
    import openvino as ov
    import torch

IR_FILE = "model.xml"
SOURCE_FILE = "source.json"  # beside the IR: the weights it was made from


def openvino_installed() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


_CORE: ov.Core | None = None
# Allocators that replace malloc when preloaded (`qa-train train-reader` runs under jemalloc: qa/allocator.py).
MALLOC_REPLACEMENTS = ("libjemalloc", "libtcmalloc", "libmimalloc")


def ov_core() -> ov.Core:
    """One OpenVINO core for the life of the process, shared by every model compiled in it.

    Its CPU plugin starts worker threads; when the last core goes, the plugin is unloaded under threads that
    still exist, and the next signal delivered to one of them (SIGTERM at the end of a session, say) kills
    the process with a segmentation fault. Holding one core keeps the plugin, and its threads, valid.
    """
    global _CORE
    if _CORE is None:
        import openvino as ov

        bind_tbb_without_deepbind()
        _CORE = ov.Core()
    return _CORE


def bind_tbb_without_deepbind(environ: MutableMapping[str, str] | None = None, maps: str | None = None) -> None:
    """Keep OpenVINO from aborting a process whose malloc is a preloaded allocator.

    oneTBB, OpenVINO's thread pool, loads its topology library (libtbbbind, with hwloc inside) with
    RTLD_DEEPBIND, so hwloc calls glibc's `free` on memory that libc's own functions took from the preloaded
    allocator: the first `compile_model` dies with `free(): invalid pointer` (oneTBB issue #1636; met in the
    teacher's validation under jemalloc). `TBB_ENABLE_SANITIZERS=1` makes oneTBB load it without
    RTLD_DEEPBIND, which is all it changes, and oneTBB reads it when it loads the library, at the first compile.
    Set (in `environ`, default this process's) only where such an allocator is mapped and the caller has not
    set it. Call it before anything compiles: `ov_core()` does, and so does int8 calibration (NNCF compiles).
    """
    if maps is None:
        try:
            maps = Path("/proc/self/maps").read_text()
        except OSError:
            return
    if any(name in maps for name in MALLOC_REPLACEMENTS):
        (os.environ if environ is None else environ).setdefault("TBB_ENABLE_SANITIZERS", "1")


@dataclass(frozen=True)
class IrKey:
    """Names a cached IR: `name` hashes the weights in `source` (their `stamps`) and what else shaped the IR."""

    name: str
    source: Path
    stamps: tuple[str, ...]


def weights_stamps(directory: Path) -> tuple[str, ...]:
    """Each weights file under `directory` by relative path, size and modification time; () when there are none."""
    weights = sorted(directory.rglob("*.safetensors")) + sorted(directory.rglob("*.bin")) if directory.is_dir() else []
    return tuple(f"{w.relative_to(directory)}:{w.stat().st_size}:{w.stat().st_mtime_ns}" for w in weights)


def weights_key(directory: Path, *parts: str) -> IrKey | None:
    """A cache key naming the weights under `directory` (and `parts`); None (no caching) when there are none.

    Weights are named by path, size and modification time, so new weights in the same place get a new key.
    """
    import openvino as ov

    stamps = weights_stamps(directory)
    if not stamps:
        return None
    source = directory.resolve()
    name = hashlib.sha256("|".join([ov.__version__, str(source), *parts, *stamps]).encode()).hexdigest()[:20]
    return IrKey(name, source, stamps)


def cached_ir(
    cache_dir: Path | None, key: IrKey | None, make: Callable[[], ov.Model], log: logging.Logger, what: str
) -> ov.Model:
    """The IR kept under `cache_dir`/`key.name` when made before, else `make()`, kept there for the next start-up.

    No cache directory or no key (a hub model): made at each start. A cache that cannot be written only costs
    that start-up time. Each new IR clears the cache of those that can no longer be used (`prune_stale`).
    `log` and `what` say whose IR it is in the log.
    """
    if cache_dir is None or key is None:
        return make()
    path = cache_dir / key.name / IR_FILE
    if path.exists():
        log.info("%s: OpenVINO IR from %s", what, path)
        return ov_core().read_model(path)
    converted = make()
    try:
        save_ir(converted, path, key)
    except (OSError, RuntimeError) as exc:  # unwritable cache, or another process cached it first
        log.warning("%s: OpenVINO IR not cached in %s (%s)", what, path.parent, exc)
    else:
        for stale in prune_stale(cache_dir):
            log.info("%s: removed the OpenVINO IR %s, made from weights that are gone", what, stale)
    return converted


def prune_stale(cache_dir: Path) -> list[Path]:
    """Remove the cached IRs whose weights are gone: their directory was deleted, or its weights have changed
    (a new key, a new IR). Entries being written (hidden) and those without a source record are left alone."""
    removed = []
    for entry in sorted(cache_dir.iterdir()) if cache_dir.is_dir() else []:
        record = _source_record(entry)
        if record is None or weights_stamps(Path(record["source"])) == tuple(record["stamps"]):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _source_record(entry: Path) -> dict[str, Any] | None:
    if entry.name.startswith(".") or not entry.is_dir():
        return None
    try:
        record = json.loads((entry / SOURCE_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("source"), str):
        return None
    return record if isinstance(record.get("stamps"), list) else None


def convert(module: torch.nn.Module, example_input: Any) -> ov.Model:
    """`module` (a torch module) as an OpenVINO model, traced on `example_input`; lengths and batch stay dynamic."""
    import openvino as ov
    import torch

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow the export does not need
        return ov.convert_model(module, example_input=example_input)


def save_ir(converted: ov.Model, path: Path, key: IrKey) -> None:
    """Write `converted` as IR at `path` (…/<key>/model.xml), with a record of the weights it came from (`key`), all
    at once: a temporary directory renamed into place.

    Raises OSError or RuntimeError when it cannot (an unwritable cache, or another process cached it first);
    nothing half-written is left behind.
    """
    import openvino as ov

    tmp = path.parent.with_name(f".{path.parent.name}.{os.getpid()}.tmp")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        ov.save_model(converted, tmp / path.name, compress_to_fp16=False)  # the same outputs as before caching
        record = {"source": str(key.source), "stamps": list(key.stamps)}
        (tmp / SOURCE_FILE).write_text(json.dumps(record, indent=1))
        tmp.rename(path.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
