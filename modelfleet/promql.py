"""PromQL for one model, built only from its runtime profile's series.

Every alert, dashboard panel, KEDA trigger and KServe external metric is one of these
expressions, so what fires, what is drawn and what scales read the same series. Each builder
returns None when the profile lacks a series it needs: callers then omit the object and say
so (`missing_signals`) instead of emitting a query that can never match.

`scope` is the label matcher that selects the model's pods, `namespace="<ns>"`: the
PodMonitor attaches the pod's namespace as a target label, and each model has its own
namespace. GPU utilization comes from the DCGM exporter, whose pod-namespace label depends on
how it is scraped (`gpu_utilization(label, namespace)`).
"""

from __future__ import annotations

from modelfleet.runtimes import TO_MS, RuntimeProfile, Series, profile_data

GPU_SERIES = "DCGM_FI_DEV_GPU_UTIL"
P99_QUANTILE = 'quantile=~"0[.]990*"'


def scope(namespace: str) -> str:
    return f'namespace="{namespace}"'


def _rate_sum(series: Series, where: str, window: str) -> str:
    return f"sum(rate({series.selector(where)}[{window}]))"


def request_rate(profile: RuntimeProfile, where: str, window: str = "1m") -> str | None:
    """Requests per second over all replicas (successes plus failures)."""
    requests, errors = profile.get("requests"), profile.get("errors")
    if requests is None:
        return None
    total = _rate_sum(requests, where, window)
    if not profile.requests_include_errors and errors is not None:
        # the runtime counts successes only: total = successes + failures
        total = f"({total} + {_rate_sum(errors, where, window)})"
    return total


def error_rate_percent(profile: RuntimeProfile, where: str, window: str = "5m") -> str | None:
    """Share of failed requests in percent; 0 (not NaN) when there was no traffic."""
    errors, total = profile.get("errors"), request_rate(profile, where, window)
    if errors is None or total is None:
        return None
    return f"{_rate_sum(errors, where, window)} / clamp_min({total}, 1e-9) * 100"


def latency_p99_ms(profile: RuntimeProfile, where: str, window: str = "5m") -> str | None:
    """99th-percentile request latency in milliseconds from the runtime's latency histogram."""
    latency = profile.get("latency")
    if latency is None:
        return None
    if latency.kind == "summary":
        # a summary's quantiles are per pod and cannot be merged: the slowest pod's p99 pages
        # (client libraries print the quantile label as 0.99 or 0.990000)
        quantile = f"max({latency.selector(where, P99_QUANTILE)})"
    else:
        quantile = f"histogram_quantile(0.99, sum by (le) (rate({latency.selector(where, suffix='_bucket')}[{window}])))"
    factor = TO_MS[latency.unit or "seconds"]
    return quantile if factor == 1 else f"{quantile} * {factor:g}"


def gauge_sum(profile: RuntimeProfile, key: str, where: str) -> str | None:
    series = profile.get(key)
    return f"sum({series.selector(where)})" if series is not None else None


def gpu_utilization(namespace_label: str, namespace: str) -> str:
    """Average GPU utilization (percent) of the model's GPUs, as the DCGM exporter reports it."""
    return f'avg({GPU_SERIES}{{{namespace_label}="{namespace}"}})'


def gpu_namespace_label(mode: str, configured: str | None) -> str:
    """The label that carries the pod's namespace on DCGM series: the stack's setting, or the
    default for how the exporter is installed (data: runtime_profiles.yaml `gpu`)."""
    if configured:
        return configured
    labels = profile_data()["gpu"]["namespace_label"]
    return str(labels["install"] if mode == "install" else labels["present_default"])


def autoscaler_query(profile: RuntimeProfile, metric: str, namespace: str, gpu_label: str) -> str | None:
    """The query an external autoscaler (KEDA, KServe+KEDA) follows for `metric`; None when the
    runtime exports nothing for it. Per-replica metrics are totals: KEDA's AverageValue divides."""
    where = scope(namespace)
    if metric == "gpu_utilization":
        return gpu_utilization(gpu_label, namespace)
    if metric == "concurrency":
        return gauge_sum(profile, "in_flight", where)
    if metric == "queue_depth":
        return gauge_sum(profile, "queue_depth", where)
    if metric == "rps":
        return request_rate(profile, where)
    raise ValueError(f"no Prometheus query for metric {metric!r}")


# what each autoscaling metric and alert reads from the profile
METRIC_SERIES = {"concurrency": "in_flight", "queue_depth": "queue_depth", "rps": "requests"}
ALERT_SERIES = {"error_rate": ("requests", "errors"), "latency_p99": ("latency",)}


def missing_signals(profile: RuntimeProfile, keys: tuple[str, ...]) -> list[tuple[str, str]]:
    """(series key, reason) for each of `keys` the profile cannot provide."""
    return [(key, profile.missing.get(key, "not exported")) for key in keys if profile.get(key) is None]
