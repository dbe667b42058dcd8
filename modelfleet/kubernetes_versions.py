"""Kubernetes versions a managed service supports, and how close each is to its end.

Contract:
- The dates live in `modelfleet/data/kubernetes_versions.json` (with their source); this
  module is the one reader.
- `support(service, version, today)` → `Support` for a version in the table, or None for an
  unknown one. `Support.level(today)` is "error" past the end of extended support (the
  service refuses new clusters on it and upgrades existing control planes), "warning" in
  extended support (an extra per-cluster-hour charge) or within `WARN_DAYS` of the end of
  standard support, else None; `Support.message(today)` says which, `Support.fix()` what to do.
- `usable(service, today)` lists the versions not past their end, newest first.
- `known(service)` lists the versions, newest first (for "Allowed:" in errors).
- `today()` is the one clock (UTC date), so tests can pin it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib import resources
from typing import Literal

WARN_DAYS = 90


def today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class Support:
    service: str
    version: str
    release: date
    end_of_standard: date
    end_of_extended: date

    def level(self, on: date) -> Literal["error", "warning"] | None:
        if on >= self.end_of_extended:
            return "error"
        if on >= self.end_of_standard or (self.end_of_standard - on).days <= WARN_DAYS:
            return "warning"
        return None

    def message(self, on: date) -> str:
        """What the date means for a cluster on this version (no fix; see `fix`)."""
        name = self.service.upper()
        if on >= self.end_of_extended:
            return (f"Kubernetes {self.version} reached the end of {name} extended support on {self.end_of_extended}: "
                    f"{name} creates no new cluster on it and upgrades existing control planes")
        if on >= self.end_of_standard:
            return (f"Kubernetes {self.version} is in {name} extended support since {self.end_of_standard} (an extra "
                    f"charge per cluster hour) and loses it on {self.end_of_extended}, in {(self.end_of_extended - on).days} days")
        return (f"Kubernetes {self.version} leaves {name} standard support on {self.end_of_standard}, in "
                f"{(self.end_of_standard - on).days} days (then extended support at an extra charge per cluster hour "
                f"until {self.end_of_extended})")

    def fix(self) -> str:
        return f"upgrade the cluster and set modelfleet:cluster.version to {known(self.service)[0]}"


def _date(text: str) -> date:
    return date.fromisoformat(text)


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, Support]]:
    raw = json.loads(resources.files("modelfleet.data").joinpath("kubernetes_versions.json").read_text(encoding="utf-8"))
    out: dict[str, dict[str, Support]] = {}
    for service, body in raw.items():
        if service.startswith("_"):
            continue
        out[service] = {v: Support(service, v, _date(row["release"]), _date(row["end_of_standard_support"]),
                                   _date(row["end_of_extended_support"]))
                        for v, row in body["versions"].items()}
    return out


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def known(service: str) -> list[str]:
    """Versions in the table, newest first."""
    return sorted(_table().get(service, {}), key=_key, reverse=True)


def support(service: str, version: str) -> Support | None:
    return _table().get(service, {}).get(version)


def usable(service: str, on: date) -> list[str]:
    """Versions not yet past the end of extended support on `on`, newest first."""
    return [v for v in known(service) if _table()[service][v].level(on) != "error"]
