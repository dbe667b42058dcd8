"""How a model's capacity is served on SageMaker: fixed-floor instances, inference components that
scale to zero, or an asynchronous (queue-driven) endpoint.

Contract (pure, no Pulumi, no AWS calls):
- `capacity_mode(spec)` → `instances` (a real-time variant, min ≥ 1 instance), `components` (scale-to-zero:
  an endpoint with managed instance scaling from 0 and one inference component per model whose copies
  scale to 0) or `async` (`autoscaling.metric: queue_depth`: an asynchronous endpoint scaling on its
  backlog, to zero instances when the floor is 0).
- `capacity_diagnostics(spec, instance_type)` → errors for what the mode cannot honour, located at the
  spec field: a runtime/model that cannot pass SageMaker's container start health check (at most
  `startup_health_check_max_seconds`) given the model size; a copy-scaling metric that has no per-copy
  metric; a custom container that does not declare SageMaker's container contract for async.
- `cold_start(spec)` → the estimated seconds from the first request at zero to a ready copy and what the
  estimate is made of (wake-up alarm + instance provisioning + image pull + model download + load and
  engine start), from `modelfleet/data/sagemaker_capacity.json` (stated assumptions, not AWS figures).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from modelfleet.plan import Diagnostic
from modelfleet.spec import ModelSpec

Mode = Literal["instances", "components", "async"]
# per-copy metrics Application Auto Scaling predefines for inference components (see
# components/aws/sagemaker_capacity.py); utilization has none, and target tracking cannot leave zero copies anyway
COPY_METRICS = ("concurrency", "rps")


@lru_cache(maxsize=1)
def facts() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("modelfleet.data").joinpath("sagemaker_capacity.json").read_text(encoding="utf-8"))
    return data


def capacity_mode(spec: ModelSpec) -> Mode:
    a = spec.autoscaling
    if a.metric == "queue_depth":
        return "async"
    return "components" if a.floor == 0 else "instances"


@dataclass(frozen=True)
class ColdStart:
    """Seconds from a request at zero capacity to a copy that answers, by part."""

    parts: tuple[tuple[str, int], ...]
    startup_seconds: int  # what the container start health check must allow (load + engine start)
    download_seconds: int

    @property
    def total(self) -> int:
        return sum(s for _, s in self.parts)

    def words(self) -> str:
        parts = " + ".join(f"{name} {seconds} s" for name, seconds in self.parts)
        return f"about {round(self.total / 60)} min ({parts}; modelfleet estimates, see modelfleet/data/sagemaker_capacity.json)"


def _runtime(spec: ModelSpec) -> dict[str, Any]:
    runtimes = facts()["cold_start_assumptions"]["runtimes"]
    key = "custom" if spec.serving.image or spec.serving.runtime not in runtimes else spec.serving.runtime
    return dict(runtimes[key])


def cold_start(spec: ModelSpec, mode: Mode) -> ColdStart:
    assumed = facts()["cold_start_assumptions"]
    runtime = _runtime(spec)
    size = spec.model.size_gib
    load = round(size / runtime["load_gib_per_second"]) + runtime["engine_init_seconds"]
    # the spec's own probe delay says how long the server needs before it answers: never estimate less
    startup = max(load, spec.serving.health.initial_delay_s)
    download = round(size / assumed["model_download_gib_per_second"])
    wake = facts()["async_wake_alarm_seconds" if mode == "async" else "wake_alarm_seconds"]["value"]
    parts = (("wake-up alarm", wake), ("instance start", assumed["instance_provisioning_seconds"]),
             (f"image pull (~{runtime['image_gib']} GiB)", round(runtime["image_gib"] / assumed["image_pull_gib_per_second"])),
             (f"model download ({size:g} GiB)", download), ("load + engine start", startup))
    return ColdStart(parts=parts, startup_seconds=startup, download_seconds=download)


def capacity_diagnostics(spec: ModelSpec, mode: Mode) -> list[Diagnostic]:
    if mode == "instances":
        return []
    out: list[Diagnostic] = []
    a = spec.autoscaling
    field = "autoscaling.scale_to_zero" if a.scale_to_zero else "autoscaling.min_replicas"
    if mode == "components" and a.metric not in COPY_METRICS:
        out.append(Diagnostic("error", spec.name, "autoscaling.metric",
                              f"scale-to-zero on SageMaker scales inference-component copies, and Application Auto Scaling "
                              f"has per-copy metrics only for invocations and concurrent requests, not {a.metric}. "
                              f"To fix: set autoscaling.metric to concurrency or rps, or min_replicas ≥ 1 (and scale_to_zero: false)"))
    if a.floor == 0:
        estimate = cold_start(spec, mode)
        limit = facts()["startup_health_check_max_seconds"]["value"]
        download_limit = facts()["model_download_max_seconds"]["value"]
        if estimate.startup_seconds > limit:
            out.append(Diagnostic("error", spec.name, field,
                                  f"{spec.serving.runtime} needs about {estimate.startup_seconds} s to load {spec.model.size_gib:g} GiB "
                                  f"and start, but SageMaker allows a container at most {limit} s to pass its start health "
                                  f"check (ContainerStartupHealthCheckTimeoutInSeconds), so a copy started from zero would "
                                  f"never become healthy. To fix: set min_replicas ≥ 1 and scale_to_zero: false (copies stay "
                                  f"loaded), use a smaller or quantized model (model.size_gib), or serve it from EKS"))
        if estimate.download_seconds > download_limit:
            out.append(Diagnostic("error", spec.name, "model.size_gib",
                                  f"downloading {spec.model.size_gib:g} GiB takes about {estimate.download_seconds} s, above "
                                  f"SageMaker's {download_limit} s model download limit (ModelDataDownloadTimeoutInSeconds). "
                                  "To fix: keep a warm floor (min_replicas ≥ 1, scale_to_zero: false) or shrink the model"))
    if mode == "async":
        out.extend(_async_contract(spec))
        out.extend(_async_latency(spec))
    return out


# "Monitor asynchronous endpoints" (https://docs.aws.amazon.com/sagemaker/latest/dg/async-inference-monitor.html)
# lists ModelLatency for asynchronous endpoints with the statistics Average, Sum, Min, Max and Sample Count only
ASYNC_LATENCY_STATISTICS = ("Average", "Sum", "Minimum", "Maximum", "SampleCount")


def _async_latency(spec: ModelSpec) -> list[Diagnostic]:
    """The latency alarm reads ModelLatency p99; AWS documents no percentile for an asynchronous endpoint."""
    if not spec.monitoring.enabled:
        return []
    rollback = "latency_p99" in spec.rollout.rollback_on
    return [Diagnostic("warning", spec.name, "monitoring.alerts.latency_p99_ms",
                       "queue_depth makes this an asynchronous SageMaker endpoint, for which AWS documents ModelLatency "
                       f"with {', '.join(ASYNC_LATENCY_STATISTICS)} only, no percentiles: the p99 latency alarm"
                       f"{' (and the latency_p99 rollback)' if rollback else ''} may never have data, and an alarm "
                       "without data does not fire. Watch ModelLatency on the stack dashboard after the first requests; "
                       "the backlog (ApproximateBacklogSize) is the better signal of a slow queue-driven model")]


def _async_contract(spec: ModelSpec) -> list[Diagnostic]:
    """Built-in runtimes run AWS containers that implement SageMaker's /invocations; a custom image must say so."""
    contract = facts()["async_contract"]
    if not spec.serving.image and spec.serving.runtime in contract["builtin_runtimes"]:
        return []
    port, ping = contract["port"], contract["ping_path"]
    if spec.serving.port == port and spec.serving.health.path == ping:
        return []
    return [Diagnostic("error", spec.name, "autoscaling.metric",
                       f"queue_depth makes this an asynchronous SageMaker endpoint, whose container must answer "
                       f"POST /invocations and GET {ping} on port {port} (SageMaker's container contract); this custom image "
                       f"declares port {spec.serving.port} and health path {spec.serving.health.path or '(none)'}, so nothing shows it "
                       f"has that handler. To fix: serve /invocations and {ping} on {port} and set serving.port: {port} and "
                       f"serving.health.path: {ping}, use a built-in runtime ({', '.join(contract['builtin_runtimes'])}), "
                       "or scale on concurrency or rps")]


def capacity_names(spec: ModelSpec, mode: Mode, endpoint: str) -> dict[str, str]:
    """Placement names for the components: the mode, the inference component's name (the endpoint's:
    one component per endpoint, so it fits the same 63-character rule) and the cold start in words."""
    names: dict[str, str] = {"capacity": mode}
    if mode == "components":
        names["inference_component"] = endpoint
    if spec.autoscaling.floor == 0:
        names["cold_start"] = cold_start(spec, mode).words()
    return names
