"""The priced catalog: accelerator vocabulary, machine offers per platform, cheapest fit.

Data lives in `data/` as CSV (see `data/PROVENANCE.md`); this package only reads and
queries it. No price appears in Python code.
"""

from modelfleet.catalog.accelerators import (
    ACCELERATOR_NAMES,
    Accelerator,
    accelerator,
    nearest_accelerators,
)
from modelfleet.catalog.catalog import Catalog, clear_cache, load_catalog
from modelfleet.catalog.offers import PLATFORMS, Offer, Requirement, allocatable

__all__ = [
    "ACCELERATOR_NAMES",
    "PLATFORMS",
    "Accelerator",
    "Catalog",
    "Offer",
    "Requirement",
    "accelerator",
    "allocatable",
    "clear_cache",
    "load_catalog",
    "nearest_accelerators",
]
