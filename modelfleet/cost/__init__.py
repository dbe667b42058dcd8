"""Cost previews, Infracost-style: ResourcePlan + catalog → monthly min / expected / max.

`estimate_plan(plan, averages=None)` → `StackCost` (`.monthly_min`, `.monthly_max`, ...).
Mapping (type token → cost components) lives in `registry` and the mapper modules;
prices come only from the catalog and the stack's own settings (on-prem GPU-hour rates).
"""

from modelfleet.cost.engine import estimate_plan
from modelfleet.cost.model import HOURS_PER_MONTH, Component, Free, ModelCost, StackCost, Unpriced

__all__ = ["HOURS_PER_MONTH", "Component", "Free", "ModelCost", "StackCost", "Unpriced", "estimate_plan"]
