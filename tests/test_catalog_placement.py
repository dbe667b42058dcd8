"""Property: `cheapest()` equals brute force over the whole catalog, and `fits()` never
places a replica beyond what the machine has left after the platform's reserve."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelfleet.catalog import (
    ACCELERATOR_NAMES,
    PLATFORMS,
    Requirement,
    allocatable,
    load_catalog,
)
from modelfleet.catalog.offers import SPOT_PLATFORMS

CATALOG = load_catalog()
PLACES = sorted({(o.platform, o.region) for o in CATALOG.all_offers()})


@st.composite
def requirements(draw) -> Requirement:
    kind = draw(st.sampled_from(["named", "min_memory", "cpu"]))
    count = 0 if kind == "cpu" else draw(st.integers(min_value=1, max_value=8))
    return Requirement(
        accelerator=draw(st.sampled_from(ACCELERATOR_NAMES)) if kind == "named" else None,
        gpu_count=count,
        min_gpu_memory_gib=draw(st.sampled_from([8, 16, 24, 40, 48, 80, 141, 200])) if kind == "min_memory" else None,
        vcpus=draw(st.sampled_from([0.25, 0.5, 1, 2, 3.9, 4, 7.5, 8, 16, 30, 47, 64, 95, 190, 400])),
        memory_gib=draw(st.sampled_from([0.5, 1, 2, 4, 13, 14, 16, 30, 64, 120, 180, 500, 1000, 2100])),
    )


def brute_force_fits(offer, req: Requirement) -> bool:
    cpu, memory = allocatable(offer)
    if cpu < req.vcpus or memory < req.memory_gib:
        return False
    if req.gpu_count == 0:
        return True
    return (
        offer.accelerator is not None
        and offer.gpu_count >= req.gpu_count
        and (req.accelerator is None or offer.accelerator == req.accelerator)
        and (req.min_gpu_memory_gib is None or offer.gpu_memory_gib >= req.min_gpu_memory_gib)
    )


def brute_force_key(offer, spot: bool):
    price = offer.hourly(spot and offer.platform in SPOT_PLATFORMS)
    return (price, offer.gpu_count, offer.vcpus, offer.instance_type)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(req=requirements(), place=st.sampled_from(PLACES), spot=st.booleans())
def test_cheapest_equals_brute_force_over_the_whole_catalog(req, place, spot):
    platform, region = place
    everything = CATALOG.all_offers()
    fitting = [o for o in everything if o.platform == platform and o.region == region and brute_force_fits(o, req)]
    expected = min(fitting, key=lambda o: brute_force_key(o, spot), default=None)
    assert CATALOG.cheapest(platform, region, req, spot=spot) == expected
    regions = CATALOG.regions_with(platform, req)
    assert (region in regions) == (expected is not None)


@settings(max_examples=200, deadline=None)
@given(req=requirements(), platform=st.sampled_from(PLATFORMS))
def test_fits_respects_allocatable(req, platform):
    for offer in CATALOG.offers(platform):
        if CATALOG.fits(offer, req):
            cpu, memory = allocatable(offer)
            assert cpu >= req.vcpus and memory >= req.memory_gib
            assert cpu < offer.vcpus and memory < offer.memory_gib  # some reserve is always kept
            if req.gpu_count:
                assert offer.gpu_count >= req.gpu_count and offer.accelerator is not None
        assert CATALOG.fits(offer, req) == brute_force_fits(offer, req)
