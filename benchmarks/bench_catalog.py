"""Catalog speed: cold load of every offer file, then cheapest() over every place.

Prints the numbers and the ratio to the 50 ms load budget; exits 1 if over budget.

    python benchmarks/bench_catalog.py   (the load budget was a unit test; timings live here)
"""

from __future__ import annotations

import sys
import time

from modelfleet.catalog import ACCELERATOR_NAMES, Requirement
from modelfleet.catalog.accelerators import DATA_DIR
from modelfleet.catalog.catalog import _read_directory

LOAD_BUDGET_S = 0.050


def main() -> int:
    loads = []
    for _ in range(5):
        start = time.perf_counter()
        catalog = _read_directory(DATA_DIR)
        loads.append(time.perf_counter() - start)
    load = min(loads)
    places = sorted({(o.platform, o.region) for o in catalog.all_offers()})
    requirements = [Requirement(name, 1, None, 2, 8) for name in ACCELERATOR_NAMES]
    start = time.perf_counter()
    for platform, region in places:
        for req in requirements:
            catalog.cheapest(platform, region, req)
    queries = len(places) * len(requirements)
    per_query = (time.perf_counter() - start) / queries
    print(f"offers: {len(catalog)}  load: {load * 1000:.1f} ms ({load / LOAD_BUDGET_S:.2f}x of budget)")
    print(f"cheapest(): {queries} queries, {per_query * 1e6:.0f} us each")
    return 0 if load < LOAD_BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
