"""Human and machine views of preview results.

`preview_tree(plan, cost_line)` → a Rich tree: stack → model → resources with GPU,
replicas, image and instance type, then per model where its weights come from and which
machine the catalog chose (why, and the nearest cheaper offers passed over), then
diagnostics. `placement_table(plan)` → the SkyPilot-style candidate table per model
(`preview --explain-placement`). `preview_json(plans)` → DESIGN §5 preview shape, plus
`models[]`, `rollouts[]` and `placements[]`.
Each rollout in progress shows its versions, traffic split, bake time, rollback conditions
("none" when empty) and wiring, and — given the cost estimate — its second slot's cost.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from modelfleet.plan import PlannedResource, ResourcePlan, as_int

PASSED_OVER_SHOWN = 2  # in the tree; the JSON and --explain-placement list more


def _serving_signals(spec: dict[str, Any], predictor: dict[str, Any], meta: dict[str, Any]) -> list[str]:
    """Where a model is scraped and what its autoscaler follows (PodMonitor, ScaledObject, HPA, InferenceService)."""
    bits = []
    for endpoint in spec.get("podMetricsEndpoints") or []:
        port = endpoint.get("port")
        if port is None:  # KServe runtime container: the address is relabelled to the metrics port
            port = next((str(r.get("replacement", "")).rsplit(":", 1)[-1] for r in endpoint.get("relabelings") or []
                         if r.get("targetLabel") == "__address__"), "?")
        bits.append(f"scrape=port {port} {endpoint.get('path', '/metrics')}")
    for trigger in spec.get("triggers") or []:
        md = trigger.get("metadata") or {}
        bits.append(f"scales on {md.get('query')} (KEDA, {trigger.get('metricType', 'AverageValue')} {md.get('threshold')})")
    for metric in spec.get("metrics") or []:
        resource = metric.get("resource") or {}
        target = resource.get("target") or {}
        if resource:
            bits.append(f"scales on {resource.get('name')} {as_int(target.get('averageUtilization'))}% (HPA)")
    annotations = meta.get("annotations") or {}
    if predictor:
        mode = annotations.get("serving.kserve.io/deploymentMode", "")
        if "scaleMetric" in predictor:
            by = "Knative" if mode == "Serverless" else "HPA"
            unit = "%" if predictor["scaleMetric"] == "cpu" else ""
            bits.append(f"scales on {predictor['scaleMetric']} {as_int(predictor.get('scaleTarget'))}{unit} ({by}, {mode})")
        for metric in (predictor.get("autoScaling") or {}).get("metrics") or []:
            external = metric.get("external") or {}
            bits.append(f"scales on {(external.get('metric') or {}).get('query')} "
                        f"(KEDA, {mode}, {(external.get('target') or {}).get('value')} per replica)")
    return bits


def _egress_summary(kind: str, policy: dict[str, Any]) -> list[str]:
    """`egress=DNS; 443 anywhere but the metadata service; …` for a NetworkPolicy's preview line."""
    if not kind.endswith(":NetworkPolicy"):
        return []
    if "Egress" not in (policy.get("policyTypes") or []):
        return ["egress=open"]
    rules = policy.get("egress") or []
    bits = []
    for rule in rules:
        ports = "/".join(sorted({str(as_int(p.get("port"))) for p in rule.get("ports") or []}))
        peers = rule.get("to") or []
        if not peers:
            bits.append("DNS" if ports == "53" else f"{ports} anywhere")
            continue
        first = peers[0]
        if "namespaceSelector" in first:
            labels = first["namespaceSelector"].get("matchLabels") or {}
            bits.append(f"{ports} to namespace {labels.get('kubernetes.io/metadata.name', '?')}")
        elif (first.get("ipBlock") or {}).get("except"):
            bits.append(f"{ports} anywhere but the metadata service")
        else:
            bits.append(f"{ports} to " + ",".join(str((peer.get("ipBlock") or {}).get("cidr", "?")) for peer in peers))
    return ["egress=" + "; ".join(bits)]


def _summary(r: PlannedResource) -> str:
    """A short line of what a reviewer looks for on this resource."""
    inputs = r.inputs
    bits = []
    raw_spec = inputs.get("spec")
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    pod = ((spec.get("template") or {}).get("spec") or {}) if spec else {}
    predictor = spec.get("predictor") or {} if spec else {}
    containers = pod.get("containers") or predictor.get("containers") or ([predictor["model"]] if "model" in predictor else [])
    for c in containers[:1]:
        limits = (c.get("resources") or {}).get("limits") or {}
        if "nvidia.com/gpu" in limits:
            bits.append(f"gpu={limits['nvidia.com/gpu']}")
        if c.get("image"):
            bits.append(f"image={c['image']}")
        elif "modelFormat" in c:
            bits.append(f"runtime={c['modelFormat'].get('name')}")
    for lo, hi in (("minReplicas", "maxReplicas"), ("minReplicaCount", "maxReplicaCount")):
        source = predictor if lo in predictor else spec
        if lo in source:
            bits.append(f"replicas={as_int(source[lo])}..{as_int(source.get(hi))}")
    if "canaryTrafficPercent" in predictor:
        bits.append(f"canary={as_int(predictor['canaryTrafficPercent'])}%")
    for key in ("instanceType", "vmSize"):
        if key in inputs:
            bits.append(f"{key}={inputs[key]}")
    bits += _managed_instances(inputs)
    scaling = inputs.get("scalingConfig")
    if isinstance(scaling, dict):
        bits.append(f"nodes={as_int(scaling.get('minSize'))}..{as_int(scaling.get('maxSize'))}")
        if "k8s.io/cluster-autoscaler/enabled" in (inputs.get("tags") or {}):
            bits.append("scaled by Cluster Autoscaler")
    bits.extend(_karpenter_summary(r))
    if "minCapacity" in inputs:
        bits.append(f"capacity={as_int(inputs['minCapacity'])}..{as_int(inputs.get('maxCapacity'))}")
    for group in spec.get("groups") or []:
        bits.append("alerts: " + "; ".join(rule["annotations"]["summary"].split(": ", 1)[-1] for rule in group.get("rules", [])))
    if "comparisonOperator" in inputs and "threshold" in inputs:  # CloudWatch MetricAlarm: metric, statistic, threshold
        returned = [q.get("label") or q.get("expression") for q in inputs.get("metricQueries") or [] if q.get("returnData")]
        metric = inputs.get("metricName") or (returned[0] if returned else "expression")
        stat = inputs.get("extendedStatistic") or inputs.get("statistic")
        threshold, operator = inputs["threshold"], str(inputs["comparisonOperator"])
        value = f"{threshold:.15g}" if isinstance(threshold, int | float) else str(threshold)
        if metric == "ModelLatency" and isinstance(threshold, int | float):  # SageMaker reports it in microseconds
            value += f" µs ({threshold / 1000:.15g} ms)"
        symbol = {"GreaterThanOrEqualToThreshold": "≥", "GreaterThanThreshold": ">", "LessThanThreshold": "<",
                  "LessThanOrEqualToThreshold": "≤"}.get(operator, operator)
        bits.append(f"alarm: {metric}{' ' + stat if stat else ''} {symbol} {value}")
    if r.type.endswith(":MetricAlert") and inputs.get("description"):  # Azure Monitor: the threshold is in the text
        bits.append(f"alert: {inputs['description']}")
    if "taints" in spec:
        bits.append("taint=" + ",".join(f"{t.get('key')}={t.get('value')}:{t.get('effect')}" for t in spec["taints"]))
    bits += _serving_signals(spec, predictor, inputs.get("metadata") or {})
    bits += _egress_summary(r.type, spec)
    return "  ".join(bits)


def _managed_instances(inputs: dict[str, Any]) -> list[str]:
    """The instance a SageMaker production variant or an Azure ML deployment runs on, and how many."""
    found = []
    for variant in inputs.get("productionVariants") or []:
        if isinstance(variant, dict) and variant.get("instanceType"):
            found.append(f"instanceType={variant['instanceType']} ×{as_int(variant.get('initialInstanceCount', 1))}")
    properties = inputs.get("properties")
    if isinstance(properties, dict) and properties.get("instanceType"):
        count = (inputs.get("sku") or {}).get("capacity")
        found.append(f"instanceType={properties['instanceType']}" + (f" ×{as_int(count)}" if count is not None else ""))
    return found


def placement_line(p: dict[str, Any]) -> str:
    """Which machine one replica runs on, at what price, and why."""
    return f"{p['model']}: {p['instance_type']} at {p['price']} — {p['reason']}"


def _karpenter_summary(r: PlannedResource) -> list[str]:
    """A Karpenter NodePool: instance types, capacity types, node range and GPU limit."""
    if not r.type.startswith("kubernetes:karpenter.sh/") or not r.type.endswith(":NodePool"):
        return []
    spec = r.inputs.get("spec") or {}
    requirements = {q.get("key"): q.get("values") or [] for q in ((spec.get("template") or {}).get("spec") or {}).get("requirements") or []}
    low = ((r.inputs.get("metadata") or {}).get("annotations") or {}).get("modelfleet.io/min-nodes", "0")
    return [f"instanceType={','.join(requirements.get('node.kubernetes.io/instance-type') or ['any'])}",
            f"capacity={'→'.join(requirements.get('karpenter.sh/capacity-type') or ['on-demand'])}",
            f"min nodes={low} (for min replicas)", f"gpu limit={(spec.get('limits') or {}).get('nvidia.com/gpu', 'none')}",
            *(f"taint={t.get('key')}={t.get('value')}:{t.get('effect')}"
              for t in ((spec.get("template") or {}).get("spec") or {}).get("taints") or []),
            "scaled by Karpenter"]


def second_slot_words(slot: dict[str, Any] | None) -> str:
    """The second slot's monthly cost (and one-off overlap) from its cost JSON; "" when unpriced."""
    if not slot:
        return ""
    words = f"second slot +${slot['monthly_min']} – ${slot['monthly_max']}/month (expected ${slot['monthly_expected']})"
    overlap = slot.get("overlap_per_update")
    if overlap:
        words += f", one-off ${overlap['min']} – ${overlap['max']} per update ({overlap['hours']} h overlap)"
    return words


def rollout_line(r: dict[str, Any]) -> str:
    """A rollout in progress: versions, traffic split, bake time, what rolls it back and how, the second slot's cost."""
    split = ", ".join(f"{version} {share}%" for version, share in r["traffic"].items())
    mirror = r.get("mirror") or {}
    line = f"{r['model']} {r['stable_version']} → {r['new_version']} ({r['strategy']}, {r['phase'].replace('_', ' ')}): {split}"
    if mirror:
        line += " (mirrored: " + ", ".join(f"{v} {share}%" for v, share in mirror.items()) + ")"
    pods = r.get("replicas_at_min") or {}
    if r.get("traffic_router") and pods:
        line += (f", weighted by {r['traffic_router']}: at min replicas {pods['new']} new + {pods['stable']} stable pods, "
                 f"about {pods['effective_new_percent']:g}% to {r['new_version']}")
    elif r.get("traffic_router"):
        line += f" ({r['traffic_router']})"
    line += f"; bake {r['bake_minutes']} min; rollback on {', '.join(r['rollback_on']) or 'none'}"
    if "started_at" in r:
        line += f"; started {r['started_at']}" if r["started_at"] else f"; started: unknown ({r.get('started_at_note')})"
    rollback = r.get("rollback")
    if rollback:
        line += f" — {'automatic' if rollback['automatic'] else 'NOT automatic'}: {rollback['by']}"
    cost = second_slot_words(r.get("second_slot"))
    if cost:
        line += f"; {cost}"
    return line


def with_second_slots(rollouts: list[dict[str, Any]], slots: dict[str, dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The plan's rollout entries, each with its `second_slot` cost (by model) when priced."""
    return [{**r, "second_slot": (slots or {}).get(r["model"])} if slots is not None else dict(r) for r in rollouts]


def preview_tree(plan: ResourcePlan, cost_line: str | None = None, second_slots: dict[str, dict[str, Any]] | None = None) -> Tree:
    """Labels are `Text`, never markup: user values (names, messages) print as written."""
    title = Text.assemble((plan.stack, "bold"), f"  platform={plan.platform}  environment={plan.environment}  "
                          f"resources={len(plan.resources)}")
    if cost_line:
        title.append(f"  {cost_line}")
    tree = Tree(title)
    by_urn = plan.by_urn()
    nodes: dict[str, Tree] = {}

    def place(r: PlannedResource) -> Tree:
        if r.urn not in nodes:
            parent = place(by_urn[r.parent]) if r.parent in by_urn else tree
            label = Text.assemble(f"{r.type} ", (r.name, "cyan"))
            detail = _summary(r)
            if detail:
                label.append(f"  {detail}", style="dim")
            nodes[r.urn] = parent.add(label)
        return nodes[r.urn]

    for r in plan.resources:
        place(r)
    for model, url in sorted(plan.outputs.items()):
        tree.add(Text.assemble(("endpoint", "green"), f" {model}: {url}"))
    for rollout in with_second_slots(plan.config.get("rollouts", []), second_slots):
        tree.add(Text.assemble(("rollout", "magenta"), f" {rollout_line(rollout)}"))
    for model, weights in sorted((plan.config.get("artifacts") or {}).items()):
        # plain Text: URIs and references are user input, never Rich markup
        branch = tree.add(Text.assemble(("weights", "blue"), f" {model}: {weights['source']} → {weights['how']}"))
        branch.add(Text(f"identity: {weights['identity']}"))
        for use in weights["secrets"]:
            branch.add(Text(f"secret: {use['env']} ← {use['secret']} ({use['reference']})"))
        for note in weights.get("notes", []):
            branch.add(Text(f"note: {note}"))
        pulled = (weights.get("image") or {}).get("pull_through")
        if pulled:
            cred = f", credential {pulled['credential']}" if pulled["credential"] else ""
            branch.add(Text(f"image: {weights['image']['source']} through ECR pull-through cache rule {pulled['rule_prefix']}/ "
                            f"({pulled['upstream_registry_url']}{cred}) as {pulled['pulled_as']}"))
    for placed in plan.config.get("placements") or []:
        branch = tree.add(Text.assemble(("placement", "blue"), f" {placement_line(placed)}"))
        for c in [c for c in placed["candidates"] if c["why_not"]][-PASSED_OVER_SHOWN:][::-1]:
            branch.add(Text(f"passed over {c['instance_type']} (${c['hourly_usd']}/h): {c['why_not']}"))
    for c in plan.config.get("capacity") or []:
        line = f" {c['model']}: {c['how']}, {c['floor']}..{c['max']}"
        if c.get("cold_start"):
            line += f"; cold start from zero {c['cold_start']}"
        tree.add(Text.assemble(("capacity", "blue"), line))
    for d in plan.diagnostics:
        colour = "red" if d.level == "error" else "yellow"
        tree.add(Text.assemble((d.level, colour), " ", ": ".join(p for p in (d.model, d.field, d.message) if p)))
    return tree


def preview_json(plans: list[ResourcePlan], costs: dict[str, dict[str, str]] | None = None,
                 second_slots: dict[str, dict[str, dict[str, Any]]] | None = None) -> dict[str, Any]:
    """`second_slots`: stack → model → the second slot's cost JSON (`cost.report_json.second_slot_json`)."""
    stacks = []
    for plan in plans:
        entry = {
            "stack": plan.stack,
            "platform": plan.platform,
            "environment": plan.environment,
            "resources": [{"type": r.type, "name": r.name, "parent": r.parent, "inputs": as_int(r.inputs),
                           "options": r.options} for r in plan.resources],
            "diagnostics": [d.as_dict() for d in plan.diagnostics],
            "endpoints": dict(sorted(plan.outputs.items())),
            "rollouts": with_second_slots(plan.config.get("rollouts", []),
                                          None if second_slots is None else second_slots.get(plan.stack, {})),
            # per model: where the weights come from, how, under which identity, which secrets (references only)
            "models": [{"model": model, **weights} for model, weights in sorted((plan.config.get("artifacts") or {}).items())],
            # per model whose machine the catalog chose: the choice, the reason, the offers passed over and why
            "placements": plan.config.get("placements") or [],
            # per scale-to-zero or queue-driven model: the mode, bounds and the estimated cold start (what it is made of)
            "capacity": plan.config.get("capacity") or [],
        }
        if costs and plan.stack in costs:
            entry["cost"] = costs[plan.stack]
        stacks.append(entry)
    return {"stacks": stacks}


def placement_table(plan: ResourcePlan) -> list[Table]:
    """Per model whose machine the catalog chose: every candidate the choice was made among, in
    price order — the nearest cheaper offers with why each was passed over, the chosen one, the
    next fitting ones."""
    tables = []
    for placed in plan.config.get("placements") or []:
        reserve = placed["reserve"]
        table = Table(title=Text(f"{plan.stack} · {placed['model']} · {placed['platform']} {placed['region']}: needs "
                                 f"{placed['needs']}"),
                      caption=Text(f"reserve: {reserve['what']} ({reserve['vcpus']:g} vCPU, {reserve['memory_gib']:g} GiB on "
                                   f"{placed['instance_type']}); source: {reserve['source'].split('. ')[0]} "
                                   "(modelfleet/data/system_reserve.json)"),
                      title_justify="left", caption_justify="left")
        for column in ("INSTANCE", "GPUS", "vCPUs", "MEM (GiB)", "$/HOUR", "CHOSEN", "WHY NOT"):
            table.add_column(column, justify="right" if column in ("vCPUs", "MEM (GiB)", "$/HOUR") else "left")
        for c in placed["candidates"]:
            gpus = f"{c['gpu_count']}× {c['accelerator']} ({c['gpu_memory_gib']:g} GiB)" if c["accelerator"] else "-"
            table.add_row(c["instance_type"], gpus, f"{c['vcpus']:g}", f"{c['memory_gib']:g}", c["hourly_usd"],
                          "✔" if c["chosen"] else "", c["why_not"] or ("" if c["chosen"] else "fits; costs more"))
        tables.append(table)
    return tables
