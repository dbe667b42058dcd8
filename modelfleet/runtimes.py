"""Runtime profiles applied to a spec: the one place that says which port, probes, metrics
endpoint and metric series a model's server really has on an engine.

Everything that probes, scrapes, scales or alerts asks `profile_for`: the container port and
probes, the PodMonitor and NetworkPolicy, the PrometheusRule, the dashboard, the KEDA trigger
and KServe's autoscaling. Facts live in `modelfleet/data/runtime_profiles.yaml` (a source per
fact), read by `modelfleet.profiles`.

Contract:
- `profile_for(spec, engine)` → `RuntimeProfile` for `engine` "deployment" (the runtime's
  upstream image run directly) or "kserve" (KServe's built-in ServingRuntime for that runtime;
  a spec with its own image on KServe runs like a Deployment container). The spec's
  `monitoring.metrics` overrides series, port and path; its `serving.port` and
  `serving.health.path` override the port and probe paths where the engine lets them.
"""

from __future__ import annotations

from dataclasses import replace

from modelfleet.profiles import SERIES_KEYS, TO_MS, RuntimeProfile, Series, base_profile, profile_data
from modelfleet.spec import ModelSpec

__all__ = ["TO_MS", "RuntimeProfile", "Series", "kserve_builtin", "profile_data", "profile_for"]


def kserve_builtin(spec: ModelSpec) -> bool:
    """KServe serves the model with its own ServingRuntime (no image of ours)."""
    return not spec.serving.image and spec.serving.runtime in profile_data()["kserve_runtime_for"]


def profile_for(spec: ModelSpec, engine: str) -> RuntimeProfile:
    """The profile a spec runs with on `engine`, with the spec's overrides applied."""
    on_kserve_runtime = engine == "kserve" and kserve_builtin(spec)
    profile = base_profile(spec.serving.runtime, "kserve" if on_kserve_runtime else "deployment")
    metrics = spec.monitoring.metrics
    series = dict(profile.series)
    missing = dict(profile.missing)
    for key in SERIES_KEYS:
        text = getattr(metrics, key)
        if text:
            kind = {"latency": "histogram", "in_flight": "gauge", "queue_depth": "gauge"}.get(key, "counter")
            unit = (metrics.latency_unit or "seconds") if key == "latency" else None
            series[key] = Series.parse(text, kind, unit)
            missing.pop(key, None)
    port = profile.port
    if spec.serving.port is not None and not on_kserve_runtime:
        port = spec.serving.port  # we pass the port flag (or the custom image listens where the spec says)
    metrics_port = metrics.port or (port if not profile.separate_metrics_port else profile.metrics_port)
    health = spec.serving.health.path if spec.serving.health.path and not on_kserve_runtime else None
    name = spec.name
    defaulted = tuple(key for key in profile.defaulted)
    if spec.serving.runtime == "custom":
        defaulted = tuple(k for k in ("requests", "errors", "latency", "in_flight") if not getattr(metrics, k))
    return replace(profile, port=port, metrics_port=metrics_port, metrics_path=metrics.path or profile.metrics_path,
                   health_path=(health or profile.health_path).replace("{name}", name),
                   readiness_path=(health or profile.readiness_path).replace("{name}", name),
                   series=series, missing=missing, defaulted=defaulted)
