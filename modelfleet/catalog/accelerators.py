"""The accelerator vocabulary: one set of GPU names for every platform.

Contract: `data/accelerators.csv` is the only source of names. `accelerator(name)` resolves a
name or alias case-insensitively to an `Accelerator`; an unknown name raises `CatalogError`
naming the nearest known names and ending with "To fix: ...". `canonical_gpu(model, memory)`
maps the GPU model strings found in price sources ("NVIDIA A100" + 80 GB) to the vocabulary.
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from modelfleet.errors import CatalogError

DATA_DIR = Path(__file__).resolve().parent / "data"
ACCELERATORS_FILE = DATA_DIR / "accelerators.csv"


@dataclass(frozen=True)
class Accelerator:
    """A GPU model: canonical name, accepted aliases, memory per GPU, where it is offered."""

    name: str
    aliases: tuple[str, ...]
    memory_gib: float
    clouds: tuple[str, ...]  # aws / azure / onprem


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split(";") if part.strip())


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[Accelerator, ...]:
    with ACCELERATORS_FILE.open(newline="", encoding="utf-8") as handle:
        return tuple(
            Accelerator(
                name=row["name"],
                aliases=_split(row["aliases"]),
                memory_gib=float(row["memory_gib"]),
                clouds=_split(row["clouds"]),
            )
            for row in csv.DictReader(handle)
        )


@lru_cache(maxsize=1)
def _by_key() -> dict[str, Accelerator]:
    index: dict[str, Accelerator] = {}
    for acc in _vocabulary():
        for key in (acc.name, *acc.aliases):
            index[_key(key)] = acc
    return index


def _key(name: str) -> str:
    # "nvidia a100 40gb", "A100_40GB" and "a100-40gb" name the same thing.
    return " ".join(name.strip().upper().replace("_", "-").split())


ACCELERATOR_NAMES: tuple[str, ...] = tuple(acc.name for acc in _vocabulary())


def nearest_accelerators(name: str, n: int = 3) -> list[str]:
    """Canonical names closest to `name` (aliases count, each name listed once)."""
    keys = list(_by_key())
    matches = difflib.get_close_matches(_key(name), keys, n=len(keys), cutoff=0.4)
    nearest: list[str] = []
    for match in matches:
        canonical = _by_key()[match].name
        if canonical not in nearest:
            nearest.append(canonical)
    return nearest[:n]


def accelerator(name: str) -> Accelerator:
    """Resolve a canonical name or alias, case-insensitively."""
    found = _by_key().get(_key(name))
    if found is not None:
        return found
    nearest = nearest_accelerators(name)
    hint = f"Did you mean {', '.join(nearest)}? " if nearest else ""
    raise CatalogError(
        f"unknown accelerator {name!r}. {hint}Known: {', '.join(ACCELERATOR_NAMES)}. "
        "To fix: use one of the known names, or {min_memory_gib: N} to accept any GPU with enough memory."
    )


def is_accelerator(name: str) -> bool:
    return _key(name) in _by_key()


def canonical_gpu(model: str, memory_gib_per_gpu: float | None = None) -> str:
    """Map a price source's GPU model string to a vocabulary name.

    A100 comes in two memory sizes under one marketing name, so the per-GPU memory decides
    (>= 60 GiB is the 80 GB part). Other models resolve through the alias table.
    """
    key = _key(model).removeprefix("NVIDIA ").removeprefix("TESLA ")
    # Sources write memory variants as a suffix ("V100-32GB"); the memory column carries it.
    base = re.sub(r"-\d+GB$", "", key)
    if base == "A100" and memory_gib_per_gpu is not None:
        return "A100-80GB" if memory_gib_per_gpu >= 60 else "A100-40GB"
    if is_accelerator(key):
        return accelerator(key).name
    return accelerator(base).name
