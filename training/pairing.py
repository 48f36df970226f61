"""Made unanswerable questions beside the answerable questions they were made from, as one training file.

A swapped question ("... the earthquake in Dujiangyan ...") and its original ("... the earthquake in Sichuan ...")
on the same paragraph differ by one name: seen together, the reader learns that the name decides whether the
paragraph answers, not the question's shape. A share of the made questions is drawn (a fine-tune from a trained
reader needs far fewer examples than training from scratch) and each comes with its original.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from training.squad import read_squad_json, squad_of_paragraphs, write_squad_json


def paired(made: dict[str, Any], originals: dict[str, Any], count: int, seed: int) -> dict[str, Any]:
    """A SQuAD v2.0 file holding `count` made questions drawn at random, each beside its original question, on
    their paragraph; articles and paragraphs in the order of `originals`."""
    by_id = {
        qa["id"]: (a, p, qa)
        for a, article in enumerate(originals["data"])
        for p, paragraph in enumerate(article["paragraphs"])
        for qa in paragraph["qas"]
    }
    swaps = [qa for article in made["data"] for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    swaps = [qa for qa in swaps if qa["swap"]["original_id"] in by_id]
    chosen = random.Random(seed).sample(swaps, min(count, len(swaps)))
    grouped: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for swap in chosen:
        a, p, original = by_id[swap["swap"]["original_id"]]
        grouped.setdefault((a, p), []).extend([original, swap])
    return squad_of_paragraphs(originals, grouped)


def write_paired(made: Path, originals: Path, count: int, seed: int, out: Path) -> tuple[int, int]:
    """Write `paired` to `out` (whole, then renamed); the number of made and original questions written."""
    result = paired(read_squad_json(made), read_squad_json(originals), count, seed)
    qas = [qa for article in result["data"] for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    write_squad_json(result, out)
    impossible = sum(bool(qa.get("is_impossible")) for qa in qas)
    return impossible, len(qas) - impossible
