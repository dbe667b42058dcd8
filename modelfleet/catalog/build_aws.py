"""Snapshot builder, AWS half: EC2 GPU + CPU instances and SageMaker real-time hosting.

Contract: each function reads one or two shared snapshot CSVs and returns `Offer`s with the
source defects corrected (per-GPU memory, vocabulary names, stale quotes flagged).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from modelfleet.catalog.accelerators import canonical_gpu
from modelfleet.catalog.build_snapshots import (
    AWS_REGION,
    EC2_GPU_AS_OF,
    EC2_GPU_SOURCE,
    RETRIEVED,
    SAGEMAKER_STALE_MARK,
    UNDATED,
    class_memory,
    gib,
    gpu_memory_per_gpu,
    rows,
)
from modelfleet.catalog.offers import Offer


def ec2_gpu(source: Path) -> list[Offer]:
    offers = []
    for row in rows(source / "aws_ec2_gpu_target_families.csv"):
        if not AWS_REGION.match(row["region"]):
            continue
        count = int(row["gpu_count"])
        per_gpu = gpu_memory_per_gpu(
            row["gpu_memory_raw"],
            row["gpu_mem_per_gpu_gb"],
            count,
            row["instance_type"],
        )
        name = canonical_gpu(row["gpu_model"], per_gpu)
        offers.append(
            Offer(
                platform="ec2",
                region=row["region"],
                instance_type=row["instance_type"],
                accelerator=name,
                gpu_count=count,
                gpu_memory_gib=class_memory(name, per_gpu),
                vcpus=float(row["vcpu"]),
                memory_gib=gib(row["memory_raw"]),
                ondemand_usd_hr=Decimal(row["ondemand_usd_hr"]),
                spot_usd_hr=None,
                source=EC2_GPU_SOURCE,
                as_of=EC2_GPU_AS_OF,
                price_kind="list_ondemand",
                notes="spot unknown in this snapshot",
            )
        )
    return offers


def ec2_cpu(source: Path) -> list[Offer]:
    return [
        Offer(
            platform="ec2",
            region=row["region"],
            instance_type=row["instance_type"],
            accelerator=None,
            gpu_count=0,
            gpu_memory_gib=0.0,
            vcpus=float(row["vcpus"]),
            memory_gib=float(row["memory_gib"]),
            ondemand_usd_hr=Decimal(row["ondemand_usd_hr"]),
            spot_usd_hr=Decimal(row["spot_usd_hr"]) if row["spot_usd_hr"] else None,
            source=row["source"],
            as_of=RETRIEVED,
            price_kind=row["price_kind"],
            notes=f"spot = cheapest AZ ({row['spot_min_az']}); {UNDATED}",
        )
        for row in rows(source / "aws_ec2_cpu.csv")
    ]


def _sagemaker_gpu_dating(row: dict[str, str]) -> tuple[str, str, str]:
    """(price_kind, as_of, notes) for a SageMaker GPU row, flagging the stale P4/P5 quotes."""
    source = row["source"]
    if SAGEMAKER_STALE_MARK in source:
        return (
            "quoted_stale",
            "2025-01-26",
            "predates the June-2025 EC2 P4/P5 price cut; likely overstated; refresh",
        )
    if source.startswith("DERIVED"):
        return (
            "derived",
            EC2_GPU_AS_OF,
            "EC2 us-east-1 on-demand x observed SageMaker markup; not a published price",
        )
    if "offer version" in source:
        version = re.search(r"offer version (\d{4})(\d{2})(\d{2})", source)
        return "quoted", "-".join(version.groups()) if version else RETRIEVED, ""
    if "2025-01-26" in source:
        return "quoted", "2025-01-26", ""
    return "quoted", RETRIEVED, UNDATED


def sagemaker(source: Path) -> list[Offer]:
    offers = []
    for row in rows(source / "sagemaker_realtime_gpu_us-east-1.csv"):
        per_gpu = float(row["gpu_mem_per_gpu_gb"])
        name = canonical_gpu(row["gpu_model"], per_gpu)
        kind, as_of, notes = _sagemaker_gpu_dating(row)
        offers.append(
            Offer(
                platform="sagemaker",
                region=row["region"],
                instance_type=row["instance_type"],
                accelerator=name,
                gpu_count=int(row["gpu_count"]),
                gpu_memory_gib=class_memory(name, per_gpu),
                vcpus=float(row["vcpu"]),
                memory_gib=float(row["ram_gib"]),
                ondemand_usd_hr=Decimal(row["ondemand_usd_hr"]),
                spot_usd_hr=None,
                source=row["source"],
                as_of=as_of,
                price_kind=kind,
                notes=notes,
            )
        )
    for row in rows(source / "sagemaker_cpu_us-east-1.csv"):
        offers.append(
            Offer(
                platform="sagemaker",
                region=row["region"],
                instance_type=row["instance_type"],
                accelerator=None,
                gpu_count=0,
                gpu_memory_gib=0.0,
                vcpus=float(row["vcpus"]),
                memory_gib=float(row["memory_gib"]),
                ondemand_usd_hr=Decimal(row["usd_hr"]),
                spot_usd_hr=None,
                source=row["source"],
                as_of=RETRIEVED,
                price_kind=row["price_kind"],
                notes=f"{row['notes']}; {UNDATED}",
            )
        )
    return offers
