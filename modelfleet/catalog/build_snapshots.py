"""Shared pieces of the snapshot builder: reading rows, dating undated sources, GPU memory.

Contract: helpers only; `build_from_shared` is the entry point.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from modelfleet.catalog.accelerators import accelerator

# The date the undated snapshots were copied; used as their as_of.
RETRIEVED = "2026-11-23"
UNDATED = f"source snapshot undated; as_of = retrieval date {RETRIEVED}"

# Real regions only: local zones / wavelength zones (us-east-1-atl-1, ...) are not regions
# an EKS cluster or stack config names.
AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")

EC2_GPU_SOURCE = "instances.vantage.sh data (AWS Price List), via the tsaol/aws-gpu snapshot"
EC2_GPU_AS_OF = "2026-01-21"
AZURE_GPU_SOURCE = "skypilot-catalog format Azure N-series table (Azure Retail Prices), US regions"
SAGEMAKER_STALE_MARK = "pre-June-2025"
AZUREML_BILLING = "Azure ML managed online endpoints bill the underlying VM price"


def rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def gib(text: str) -> float:
    """'1152 GiB' / '192 GB' / '24 GB GDDR6' -> the number (AWS lists GiB in both spellings)."""
    return float(text.split()[0])


def gpu_memory_per_gpu(raw: str, per_gpu_column: str, count: int, instance_type: str) -> float:
    """Per-GPU memory, checked against the raw field.

    The raw field is per GPU for g-families but the instance total for p4d/p4de/p5/p5en; the
    per-GPU column must agree with one reading or the row is rejected.
    """
    raw_value, per_gpu = gib(raw), float(per_gpu_column)
    if raw_value not in (per_gpu, per_gpu * count):
        raise ValueError(f"{instance_type}: gpu memory {raw!r} matches neither {per_gpu} per GPU nor x{count}")
    return per_gpu


def class_memory(name: str, per_gpu: float) -> float:
    """Round a GPU's reported memory up to its vocabulary class (AWS: L4 = 22,888 MiB -> 24)."""
    nominal = accelerator(name).memory_gib
    return nominal if nominal * 0.9 <= per_gpu < nominal else per_gpu
