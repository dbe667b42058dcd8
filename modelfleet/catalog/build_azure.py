"""Snapshot builder, Azure half: VM sizes (AKS nodes) and the Azure ML online-endpoint subset.

Contract: `azure_vms` returns Azure VM offers; `azureml_skus` parses Microsoft's managed
online endpoint SKU list; `azureml` prices that subset at the VM price per region; unpriced,
fractional-GPU and out-of-vocabulary sizes stay in the SKU list but never become offers.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import cast

from modelfleet.catalog.accelerators import accelerator, canonical_gpu
from modelfleet.catalog.build_snapshots import (
    AZURE_GPU_SOURCE,
    AZUREML_BILLING,
    RETRIEVED,
    UNDATED,
    rows,
)
from modelfleet.catalog.offers import Offer
from modelfleet.errors import CatalogError


def azure_vms(source: Path) -> list[Offer]:
    offers = [
        Offer(
            platform="azure",
            region=row["region"],
            instance_type=row["vm_size"],
            accelerator=None,
            gpu_count=0,
            gpu_memory_gib=0.0,
            vcpus=float(row["vcpus"]),
            memory_gib=float(row["memory_gib"]),
            ondemand_usd_hr=Decimal(row["payg_linux_usd_hr"]),
            spot_usd_hr=Decimal(row["spot_usd_hr"]) if row["spot_usd_hr"] else None,
            source=row["source"],
            as_of=RETRIEVED,
            price_kind=row["price_kind"],
            notes=UNDATED,
        )
        for row in rows(source / "azure_cpu_vms.csv")
    ]
    for row in rows(source / "azure_gpu_skypilot_fork_us.csv"):
        # The table names the 40 GB part plain "A100"; the alias table maps it to A100-40GB.
        name = canonical_gpu(row["AcceleratorName"])
        offers.append(
            Offer(
                platform="azure",
                region=row["Region"],
                instance_type=row["InstanceType"],
                accelerator=name,
                gpu_count=int(row["AcceleratorCount"]),
                gpu_memory_gib=accelerator(name).memory_gib,
                vcpus=float(row["vCPUs"]),
                memory_gib=float(row["MemoryGiB"]),
                ondemand_usd_hr=Decimal(row["Price"]),
                # blank = unknown; the H100 rows' spot was equal to on-demand upstream and blanked
                spot_usd_hr=Decimal(row["SpotPrice"]) if row["SpotPrice"] else None,
                source=AZURE_GPU_SOURCE,
                as_of=RETRIEVED,
                price_kind="list_payg",
                notes=UNDATED,
            )
        )
    known = {(o.region, o.instance_type) for o in offers}
    # The Azure ML SKU table carries eastus VM prices for sizes the two tables above lack
    # (older D/E/F, NCv3 V100, NDv2); they are plain VM prices, valid for AKS nodes too.
    for sku in azureml_skus(source):
        if sku.offerable and ("eastus", sku.vm_size) not in known:
            offers.append(sku.offer("azure", "eastus", cast(Decimal, sku.eastus_usd_hr), sku.price_source, sku.as_of))  # offerable: priced
    return offers


@dataclass(frozen=True)
class AzureMlSku:
    """One VM size Azure ML managed online endpoints accept, as Microsoft lists it."""

    vm_size: str
    gpu_count_listed: str  # may be fractional ("1/6") for A10 partitions
    gpu_model_listed: str
    accelerator: str | None
    gpu_count: int
    gpu_memory_gib: float
    vcpus: float
    memory_gib: float | None
    eastus_usd_hr: Decimal | None
    price_source: str
    as_of: str
    notes: str

    @property
    def offerable(self) -> bool:
        """Priced, known memory, and either CPU-only or a whole vocabulary GPU."""
        gpu_ok = self.gpu_count_listed == "0" or (self.accelerator is not None and self.gpu_count > 0)
        return self.eastus_usd_hr is not None and self.memory_gib is not None and gpu_ok

    def offer(self, platform: str, region: str, price: Decimal, source: str, as_of: str) -> Offer:
        return Offer(
            platform=platform,
            region=region,
            instance_type=self.vm_size,
            accelerator=self.accelerator,
            gpu_count=self.gpu_count,
            gpu_memory_gib=self.gpu_memory_gib,
            vcpus=self.vcpus,
            memory_gib=self.memory_gib or 0.0,
            ondemand_usd_hr=price,
            spot_usd_hr=None,  # managed online endpoints have no spot billing
            source=source,
            as_of=as_of,
            price_kind="vm_list_payg_linux",
            notes=AZUREML_BILLING if platform == "azureml" else UNDATED,
        )


def _sku_gpu(row: dict[str, str]) -> tuple[str | None, int, float, str]:
    """(accelerator, whole gpu_count, per-GPU GiB, note) for one Azure ML SKU row."""
    count_text, model = row["gpu_count"], row["gpu_model"]
    if count_text == "0":
        return None, 0, 0.0, ""
    if "/" in count_text:
        return (
            None,
            0,
            0.0,
            f"fractional GPU ({count_text} of an A10); excluded from offers",
        )
    base = re.sub(r"\s*\(.*\)$", "", model)  # "H100 (inferred from SKU name...)" -> "H100"
    suffix = re.search(r"-(\d+)GB$", base)
    try:
        name = canonical_gpu(base, float(suffix.group(1)) if suffix else None)
    except CatalogError:
        return (
            None,
            int(count_text),
            0.0,
            f"GPU {model!r} is not in the accelerator vocabulary; excluded",
        )
    per_gpu = float(suffix.group(1)) if suffix else accelerator(name).memory_gib
    return name, int(count_text), per_gpu, ""


def azureml_skus(source: Path) -> list[AzureMlSku]:
    skus = []
    for row in rows(source / "azureml_online_skus.csv"):
        name, count, per_gpu, gpu_note = _sku_gpu(row)
        price = row["eastus_vm_payg_linux_usd_hr"]
        price_note = "" if price else "unpriced: dropped from offers"
        notes = "; ".join(part for part in (row["notes"], gpu_note, price_note) if part)
        skus.append(
            AzureMlSku(
                vm_size=row["vm_size"],
                gpu_count_listed=row["gpu_count"],
                gpu_model_listed=row["gpu_model"],
                accelerator=name,
                gpu_count=count,
                gpu_memory_gib=per_gpu,
                vcpus=float(row["vcpus"]),
                memory_gib=float(row["memory_gib"]) if row["memory_gib"] else None,
                eastus_usd_hr=Decimal(price) if price else None,
                price_source=row["source_specs_price"],
                as_of=RETRIEVED,
                notes=notes,
            )
        )
    return skus


def azureml(skus: list[AzureMlSku], azure: list[Offer]) -> list[Offer]:
    """The SKU subset, priced at the VM price: eastus from the SKU table, other regions
    wherever the Azure VM table prices the same size."""
    skus_priced = [sku for sku in skus if sku.offerable]
    by_size = {sku.vm_size: sku for sku in skus_priced}
    # offerable SKUs are priced
    offers = [sku.offer("azureml", "eastus", cast(Decimal, sku.eastus_usd_hr), sku.price_source, sku.as_of) for sku in skus_priced]
    for vm in azure:
        sku = by_size.get(vm.instance_type)
        if sku is not None and vm.region != "eastus":
            offers.append(sku.offer("azureml", vm.region, vm.ondemand_usd_hr, vm.source, vm.as_of))
    return offers


SKU_COLUMNS = (
    "vm_size", "gpu_count_listed", "gpu_model_listed", "accelerator", "gpu_count", "gpu_memory_gib",
    "vcpus", "memory_gib", "offered", "notes", "source", "as_of",
)  # fmt: skip
SKU_LIST_SOURCE = (
    "MicrosoftDocs/azure-ai-docs reference-managed-online-endpoints-vm-sku-list.md "
    "@ 43dc14ea7c3081e819d52883eea5ff12878fc8f8 (ms.date 10/18/2025)"
)


def render_skus(skus: list[AzureMlSku]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SKU_COLUMNS)
    for sku in sorted(skus, key=lambda s: s.vm_size):
        writer.writerow([
            sku.vm_size, sku.gpu_count_listed, sku.gpu_model_listed, sku.accelerator or "", sku.gpu_count,
            f"{sku.gpu_memory_gib:g}", f"{sku.vcpus:g}", "" if sku.memory_gib is None else f"{sku.memory_gib:g}",
            "yes" if sku.offerable else "no", sku.notes, SKU_LIST_SOURCE, "2025-10-18",
        ])  # fmt: skip
    return buffer.getvalue()
