"""The modelfleet rule registry: `RULES`, every policy as a pure function plus metadata.

Contract (shared by `pulumi preview --policy-pack policies` and `modelfleet check`):

* Rules import only the standard library and each other — never the rest of modelfleet.
* Resource rules: ``fn(resource_type: str, props: Mapping, config: Mapping) -> list[str]``.
  Rules that need resource options (protect, retainOnDelete, ignoreChanges) are registered
  with ``uses_options=True`` and receive them as a 4th keyword argument
  ``options: dict | None = None``. Call rules through ``Rule.check_resource`` to get this right.
  Under ``pulumi preview`` the analyzer protocol does not carry ``retainOnDelete``; only
  ``protect`` is visible there.
* Stack rules: ``fn(resources: list[Mapping], config: Mapping) -> list[tuple[name, message]]``,
  each resource ``{"type", "name", "urn", "parent", "props", "options"}``.
* ``config`` holds the rule's params with its own defaults applied (``Rule.defaults()``),
  overlaid with the policy pack config entry for the rule id; ``environment`` is always there.
* Each message says what is wrong and ends with "To fix: …".
* Props may be plain dicts or Pulumi's read-only Mapping proxies; numbers may be floats.
"""

from __future__ import annotations

from ._rule import Kind, Level, Rule
from .aws import RULES as _AWS
from .azure import RULES as _AZURE
from .gpu import RULES as _GPU
from .identity import RULES as _IDENTITY
from .kubernetes import RULES as _K8S
from .network import RULES as _NET
from .observability import RULES as _OBS
from .reliability import RULES as _REL
from .rollout import RULES as _ROL
from .sagemaker import RULES as _SM
from .secrets import RULES as _SEC
from .tagging import RULES as _TAG

RULES: list[Rule] = [*_GPU, *_K8S, *_SM, *_AWS, *_AZURE, *_IDENTITY, *_SEC, *_TAG, *_REL, *_ROL, *_OBS, *_NET]
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}

if len(RULES_BY_ID) != len(RULES):
    raise ValueError("duplicate rule ids in policies.rules")

__all__ = ["RULES", "RULES_BY_ID", "Kind", "Level", "Rule"]
