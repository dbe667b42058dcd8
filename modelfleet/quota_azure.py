"""Azure side of `modelfleet quota`: regional vCPU quotas and usage for AKS pools and Azure ML deployments.

Contract:
- `check(sp, credential, subscription, base_url=None, **client_kwargs)` → `QuotaRow`s for an AKS
  or Azure ML stack (location = the stack's `azure-native:location`). `base_url` and
  `client_kwargs` reach the SDK clients unchanged (tests point them at a loopback server).
- AKS (azure-mgmt-compute): `resource_skus.list(filter="location eq '<loc>'")` maps each VM size
  to its vCPU family (`ResourceSku.family`, resourceType virtualMachines); `usage.list(location)`
  gives each quota's `limit` and `currentValue` by `name.value`: the family (e.g.
  standardNCADSA100v4Family), `cores` (Total Regional vCPUs, every on-demand pool) and
  `lowPriorityCores` (Total Regional Low-priority vCPUs, which Spot pools use instead of the family).
- Azure ML (azure-mgmt-machinelearningservices): the family of each size from the same resource
  SKUs (the managed online endpoints SKU list names the same families); `usages.list(location)`
  the subscription's per-family quota (type `…/vmFamily/usages`, name "<Family> Cluster Dedicated
  vCPUs", which managed online endpoints draw on), matched to the family ignoring case, spaces
  and '_' ("standardFSv2Family" ↔ "Standard FSv2 Family Cluster Dedicated vCPUs"). Planned peak
  includes the 20 % upgrade reservation.
- Errors: an HTTP error from ARM becomes `QuotaError` (exit 3) with its error code and message;
  no usable credential becomes `QuotaError` naming how to sign in.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from modelfleet.environment import AzureMLStack
from modelfleet.placement import StackPlacement
from modelfleet.quota import Need, QuotaError, QuotaRow, needs

# Compute usage names (Microsoft.Compute/locations/{location}/usages, api 2026-04-01 in azure-mgmt-compute 39):
# "cores" = Total Regional vCPUs (all dedicated VMs), "lowPriorityCores" = Total Regional Low-priority
# vCPUs (Spot and low-priority VMs, every family). Azure docs: "Check vCPU quotas" (virtual-machines/quotas).
TOTAL_REGIONAL = "cores"
SPOT_REGIONAL = "lowPriorityCores"
# Azure ML usages (Microsoft.MachineLearningServices/locations/{location}/usages): per-family quotas
# have type "Microsoft.MachineLearningServices/vmFamily/usages" and names "<Family> Cluster Dedicated
# vCPUs" (azure-rest-api-specs machinelearningservices stable/2024-04-01 examples/Usage/list.json).
AML_FAMILY_TYPE = "vmfamily/usages"
AML_DEDICATED_SUFFIX = "clusterdedicatedvcpus"
SIGN_IN = ("sign in (az login), or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET or a workload identity "
           "with Reader on the subscription")


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _failure(operation: str, e: Exception) -> QuotaError:
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    if isinstance(e, ClientAuthenticationError) or type(e).__name__ == "CredentialUnavailableError":
        first = (str(e).splitlines() or [type(e).__name__])[0].rstrip(".")
        return QuotaError(f"no Azure credential for {operation}: {first}. "
                          f"To fix: {SIGN_IN}")
    if isinstance(e, HttpResponseError):
        error = getattr(e, "error", None)
        code = getattr(error, "code", None) or (e.reason or "HttpResponseError")
        message = getattr(error, "message", None) or str(e.message or e).splitlines()[0]
        hint = ("grant the caller Reader on the subscription (Microsoft.Compute/locations/usages/read, "
                "Microsoft.Compute/skus/read, Microsoft.MachineLearningServices/locations/usages/read, .../vmsizes/read)"
                if e.status_code in (401, 403) else "check AZURE_SUBSCRIPTION_ID and the stack's azure-native:location")
        return QuotaError(f"Azure {operation} failed: {code}: {str(message).rstrip('.')}. To fix: {hint}")
    return QuotaError(f"cannot reach Azure Resource Manager for {operation}: {e}. To fix: check the network and {SIGN_IN}")


def _call(operation: str, fn: Any) -> Any:
    from azure.core.exceptions import AzureError

    try:
        return fn()
    except AzureError as e:
        raise _failure(operation, e) from e
    except Exception as e:
        if type(e).__name__ == "CredentialUnavailableError":  # azure-identity's, when it is not an AzureError
            raise _failure(operation, e) from e
        raise


def check(sp: StackPlacement, credential: Any, subscription: str, base_url: str | None = None, **client_kwargs: Any) -> list[QuotaRow]:
    wanted = needs(sp)
    location = sp.stack.region or ""
    if not wanted:
        return []
    from azure.mgmt.compute import ComputeManagementClient

    compute = ComputeManagementClient(credential, subscription, base_url, **client_kwargs)
    if isinstance(sp.stack, AzureMLStack):
        from azure.mgmt.machinelearningservices import MachineLearningServicesMgmtClient

        # the SDK's own API version: its models are generated for it
        ml = MachineLearningServicesMgmtClient(credential, subscription, base_url, **client_kwargs)
        return azureml_rows(wanted, compute, ml, location)
    return compute_rows(wanted, compute, location)


def sku_families(compute: Any, location: str) -> tuple[dict[str, str], dict[str, str]]:
    """(VM size → vCPU family, VM size → why it is restricted in the location), sizes lower-cased."""
    skus = _call("Compute ResourceSkus List", lambda: list(compute.resource_skus.list(filter=f"location eq '{location}'")))
    family_of: dict[str, str] = {}
    restricted: dict[str, str] = {}
    for sku in skus:
        if (sku.resource_type or "").lower() == "virtualmachines" and sku.name and sku.family:
            family_of[sku.name.lower()] = sku.family
            reasons = [r.reason_code or r.type or "restricted" for r in (sku.restrictions or []) if (r.type or "") == "Location"]
            if reasons:
                restricted[sku.name.lower()] = ", ".join(str(r) for r in reasons)
    return family_of, restricted


def compute_rows(wanted: list[Need], compute: Any, location: str) -> list[QuotaRow]:
    family_of, restricted = sku_families(compute, location)
    usages = {(u.name.value or "").lower(): u for u in _call("Compute Usage List", lambda: list(compute.usage.list(location)))}

    groups: dict[str, list[Need]] = defaultdict(list)
    rows: list[QuotaRow] = []
    for n in wanted:
        size = (n.instance_type or "").lower()
        if size not in family_of:
            rows.append(QuotaRow("compute", n.quota_name, n.unit, n.amount, n.models, None, None,
                                 f"{n.quota_name} is not offered in {location} for this subscription (no resource SKU)"))
            continue
        groups[SPOT_REGIONAL if n.spot else family_of[size]].append(n)
        if not n.spot:
            groups[TOTAL_REGIONAL].append(n)
    for family, members in groups.items():
        usage = usages.get(family.lower())
        sizes = sorted({m.quota_name for m in members})
        notes = [f"{s}: restricted in {location} ({restricted[s.lower()]})" for s in sizes if s.lower() in restricted]
        label = {TOTAL_REGIONAL: "Total Regional vCPUs", SPOT_REGIONAL: "Total Regional Spot vCPUs"}.get(family, family)
        if usage is None:
            notes.append(f"no usage entry named {family} in {location}")
        rows.append(QuotaRow("compute", f"{label} ({', '.join(sizes)})", "vCPUs", sum(m.amount for m in members),
                             tuple(dict.fromkeys(x for m in members for x in m.models)),
                             None if usage is None else float(usage.limit), None if usage is None else float(usage.current_value),
                             "; ".join(notes)))
    return rows


def azureml_rows(wanted: list[Need], compute: Any, ml: Any, location: str) -> list[QuotaRow]:
    family_of, _ = sku_families(compute, location)
    usages = [u for u in _call("Machine Learning Usages List", lambda: list(ml.usages.list(location)))
              if (u.type or "").lower().endswith(AML_FAMILY_TYPE)]
    by_family = {_norm(u.name.value or "").removesuffix(AML_DEDICATED_SUFFIX): u for u in usages
                 if _norm(u.name.value or "").endswith(AML_DEDICATED_SUFFIX)}
    groups: dict[str, list[Need]] = defaultdict(list)
    rows: list[QuotaRow] = []
    for n in wanted:
        family = family_of.get((n.instance_type or "").lower())
        if family is None:
            rows.append(QuotaRow("azureml", n.quota_name, n.unit, n.amount, n.models, None, None,
                                 f"{n.quota_name} is not offered in {location} for this subscription (no resource SKU)"))
        else:
            groups[family].append(n)
    for family, members in groups.items():
        usage = by_family.get(_norm(family))
        label = f"{usage.name.value if usage is not None else family} ({', '.join(sorted({m.quota_name for m in members}))})"
        rows.append(QuotaRow("azureml", label, "vCPUs", sum(m.amount for m in members),
                             tuple(dict.fromkeys(x for m in members for x in m.models)),
                             None if usage is None else float(usage.limit), None if usage is None else float(usage.current_value),
                             "planned peak includes Azure ML's 20 % upgrade reservation where it applies"
                             + ("" if usage is not None else f"; no Azure ML quota for family {family} in {location}")))
    return rows
