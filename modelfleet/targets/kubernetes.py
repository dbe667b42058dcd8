"""What each Kubernetes serving engine can and cannot honour, shared by onprem, EKS and AKS.

`engine_diagnostics(spec, engine)` returns errors where a promise would be broken and
warnings where a documented fallback applies. The fallbacks are listed in the README's
capability table. Signals come from the model's runtime profile (`modelfleet.runtimes`): an
autoscaler that would read a series the runtime does not export is an error; an alert that
would is left out with a warning, never emitted as a query that cannot match.
"""

from __future__ import annotations

from modelfleet.environment import KubernetesStack, OnPremCluster
from modelfleet.placed import Placement
from modelfleet.plan import Diagnostic
from modelfleet.promql import ALERT_SERIES, METRIC_SERIES, missing_signals
from modelfleet.runtimes import RuntimeProfile, profile_for
from modelfleet.spec import ModelSpec

# metrics KServe scales on natively (Knative KPA in Serverless mode, the HPA in RawDeployment)
KSERVE_NATIVE = ("concurrency", "rps", "cpu_utilization")
KEDA_METRICS = ("concurrency", "rps", "gpu_utilization", "queue_depth")
CUSTOM_NEEDS_SERIES = {"rps": "requests", "queue_depth": "queue_depth"}


def _reads_prometheus(metric: str, engine: str) -> bool:
    """Whether the autoscaler follows a Prometheus query (KEDA) rather than a built-in signal."""
    if metric == "cpu_utilization":
        return False
    return engine == "deployment" or metric not in KSERVE_NATIVE


def _wake_from_zero(spec: ModelSpec, engine: str, profile: RuntimeProfile) -> list[Diagnostic]:
    """KEDA wakes a model at zero replicas only on a series something else still exports: the model's own
    pods (and their GPUs) are gone, so their request, queue and GPU series are empty and read as 0.
    A warning, not an error: KEDA does scale to zero, and a model woken by hand (or by an exporter
    elsewhere) then scales normally; the warning says plainly that nothing wakes it on its own."""
    metric = spec.autoscaling.metric
    alternatives = ("To fix: set min_replicas ≥ 1 in this environment, or use serving: kserve with concurrency or rps "
                    "(Knative's activator holds requests and wakes the model)")
    if metric == "gpu_utilization":
        return [Diagnostic("warning", spec.name, "autoscaling.scale_to_zero",
                           f"scale-to-zero on gpu_utilization cannot wake the model: at zero replicas no GPU is in use, so it "
                           f"stays at zero until scaled by hand. {alternatives}")]
    key = METRIC_SERIES[metric]
    series = profile.get(key)
    named = getattr(spec.monitoring.metrics, key)
    if series is not None and named and series.matches_label("namespace"):
        return []  # the spec points at an exporter elsewhere (e.g. the queue's own): it outlives the model's pods
    if series is not None and named:
        return [Diagnostic("warning", spec.name, "autoscaling.scale_to_zero",
                           f"scale-to-zero on {metric} wakes up only if {series.text()} in namespace {spec.name} is exported by "
                           "something that keeps running at zero replicas (e.g. the queue's exporter), not by the model's own pods. "
                           f"If the exporter runs in another namespace, name it in monitoring.metrics.{key} "
                           f"(e.g. {series.name}{{namespace=\"queues\"}})")]
    where = series.text() if series is not None else f"its {key} series"
    return [Diagnostic("warning", spec.name, "autoscaling.scale_to_zero",
                       f"scale-to-zero on {metric} cannot wake the model on {engine}: {spec.serving.runtime} exports {where} from "
                       f"the model's own pods, which are gone at zero replicas, so KEDA reads 0 and the model stays at zero until "
                       f"scaled by hand. {alternatives}, or scale on a queue exported outside the pods "
                       f"(monitoring.metrics.queue_depth with its own namespace matcher)")]


def _signal_diagnostics(spec: ModelSpec, engine: str, profile: RuntimeProfile) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    a = spec.autoscaling
    runtime = spec.serving.runtime
    series_key = METRIC_SERIES.get(a.metric)
    if series_key and _reads_prometheus(a.metric, engine):
        explicit = getattr(spec.monitoring.metrics, series_key)
        if runtime == "custom" and a.metric in CUSTOM_NEEDS_SERIES and not explicit:
            out.append(Diagnostic("error", spec.name, "autoscaling.metric",
                                  f"a custom server scaling on {a.metric} must name the series it exports: KEDA would otherwise "
                                  f"query a guessed name. To fix: set monitoring.metrics.{series_key} (e.g. "
                                  f"{'http_requests_total' if series_key == 'requests' else 'jobs_waiting'}), or scale on cpu_utilization"))
        elif profile.get(series_key) is None:
            reason = profile.missing.get(series_key, "not exported")
            usable = [m for m, key in METRIC_SERIES.items() if profile.get(key) is not None]
            alternatives = ", ".join([*usable, "cpu_utilization", *(["gpu_utilization"] if spec.resources.accelerator else [])])
            out.append(Diagnostic("error", spec.name, "autoscaling.metric",
                                  f"{runtime} exports no series for {a.metric} ({reason}); the autoscaler would read no data. "
                                  f"To fix: scale on {alternatives}, or name a series the server exports in monitoring.metrics.{series_key}"))
    if a.floor == 0 and _reads_prometheus(a.metric, engine):
        out += _wake_from_zero(spec, engine, profile)
    if spec.monitoring.enabled:
        for alert, keys in ALERT_SERIES.items():
            missing = missing_signals(profile, keys)
            if missing:
                names = " and ".join(key for key, _ in missing)
                reasons = "; ".join(dict.fromkeys(reason for _, reason in missing))
                out.append(Diagnostic("warning", spec.name, f"monitoring.metrics.{missing[0][0]}",
                                      f"{runtime} on {engine} exports no {names} series ({reasons}): the {alert} alert is left out. "
                                      f"To alert on it, name the series the server exports in "
                                      f"{', '.join(f'monitoring.metrics.{key}' for key, _ in missing)}"))
        if profile.defaulted:
            names = ", ".join(f"{key}={series.text()}" for key in profile.defaulted if (series := profile.series.get(key)))
            out.append(Diagnostic("warning", spec.name, "monitoring.metrics",
                                  f"custom server: alerts and dashboards assume the series of a FastAPI server instrumented with "
                                  f"prometheus-client ({names}). If the server exports other names, set them in monitoring.metrics"))
    return out


def engine_diagnostics(spec: ModelSpec, engine: str, argo_rollouts: bool = False) -> list[Diagnostic]:
    """`argo_rollouts`: the stack has the Argo Rollouts add-on (canary / blue-green on Deployments)."""
    out: list[Diagnostic] = []
    a, r = spec.autoscaling, spec.rollout
    profile = profile_for(spec, engine)

    def add(level: str, field: str, message: str) -> None:
        out.append(Diagnostic(level, spec.name, field, message))  # type: ignore[arg-type]

    out += _signal_diagnostics(spec, engine, profile)
    if spec.network.public and spec.network.auth == "token":
        # Refused rather than enforced: authentication on Kubernetes belongs to the cluster's gateway
        # (Gateway API implementation with an auth policy, or an ingress controller with external auth),
        # which differs per cluster and which modelfleet neither installs nor can verify. A LoadBalancer
        # Service in front of the model would be anonymous while the spec promises tokens.
        add("error", "network.auth",
            "network.public with auth: token cannot be honoured on Kubernetes: modelfleet exposes a model through a "
            "Service, which checks no token, so the model would be reachable without authentication. To fix: keep "
            "network.public: false and publish the model through a gateway that authenticates callers (e.g. Envoy "
            "Gateway with a SecurityPolicy for JWT or API keys, or ingress-nginx with oauth2-proxy external auth) — "
            "install one on the cluster and route to the model's ClusterIP Service; or set auth: none outside production")
    if engine == "deployment":
        if r.strategy in ("canary", "blue_green") and not argo_rollouts:
            add("warning", "rollout.strategy",
                f"{r.strategy} has no native mapping on plain Deployments: falls back to a rolling update that never drops "
                f"below min replicas (maxUnavailable 0, maxSurge 1) with a {r.bake_minutes}-minute progress deadline; "
                "no traffic split and no automatic rollback. To keep the promise use serving: kserve")
        if a.floor == 0 and a.metric == "cpu_utilization":
            add("error", "autoscaling.scale_to_zero",
                "scale-to-zero needs KEDA, but metric cpu_utilization scales through the HPA, which keeps ≥ 1 replica. "
                "To fix: use metric concurrency, rps or queue_depth, or set min_replicas ≥ 1")
    elif engine == "kserve":
        if r.strategy == "blue_green":
            add("warning", "rollout.strategy",
                "KServe has no blue/green switch: during a rollout the new revision runs with canaryTrafficPercent 0 and "
                "gets all traffic when `modelfleet promote` removes it (documented fallback)")
        if a.floor == 0 and a.metric == "cpu_utilization":
            add("error", "autoscaling.scale_to_zero",
                "KServe scales cpu_utilization through the HPA (RawDeployment), which keeps ≥ 1 replica. To fix: use metric "
                "concurrency or rps (Knative, Serverless mode) or gpu_utilization / queue_depth (KEDA), or set min_replicas ≥ 1")
        if a.metric in ("concurrency", "rps") and a.target != round(a.target):
            # Knative's autoscaling.knative.dev/target annotation, as KServe writes scaleTarget, is an integer
            whole = max(1, round(a.target))
            if round(a.target) == 0:
                add("error", "autoscaling.target",
                    f"target {a.target:g} rounds to 0 in KServe's integer scaleTarget, and scaling to a target of 0 is not a "
                    "target. To fix: use a target of 1 or more per replica, or serving: deployment (KEDA takes fractional thresholds)")
            else:
                add("warning", "autoscaling.target",
                    f"KServe's scaleTarget is an integer: target {a.target:g} is applied as {whole}. To keep it exact use "
                    "serving: deployment (KEDA takes fractional thresholds)")
        if profile.engine == "kserve":
            if spec.serving.port is not None and spec.serving.port != profile.port:
                add("warning", "serving.port",
                    f"KServe's {profile.kserve_runtime} listens on {profile.port}; serving.port {spec.serving.port} is not used. "
                    "To serve on another port, set serving.image to run the server as a custom container")
            if spec.serving.health.path is not None and spec.serving.health.path != profile.readiness_path:
                add("warning", "serving.health.path",
                    f"KServe's {profile.kserve_runtime} is probed on its own paths ({profile.readiness_path}); "
                    f"serving.health.path {spec.serving.health.path} is not used")
            if spec.serving.runtime == "tgi":
                add("warning", "serving.runtime",
                    f"KServe has no TGI runtime: the model is served by {profile.kserve_runtime} (its own server, not TGI). "
                    "To run TGI itself on KServe, set serving.image to a TGI image")
    return out


def monitoring_stack_diagnostics(stack: KubernetesStack, placements: list[Placement]) -> list[Diagnostic]:
    """An existing kube-prometheus-stack ignores monitors and rules without its release label."""
    a = stack.addons
    if a.prometheus_operator == "present" and not a.monitor_labels and any(p.spec.monitoring.enabled for p in placements):
        return [Diagnostic("warning", "", "modelfleet:addons.monitor_labels",
                           "Prometheus is assumed present, but the PodMonitors and PrometheusRules carry no label it selects: "
                           "kube-prometheus-stack picks up only objects labelled release=<its release name> by default, so "
                           "nothing would be scraped or alerted on. To fix: set modelfleet:addons.monitor_labels "
                           "(e.g. {release: kube-prometheus-stack}), or prometheus_operator: install")]
    return []


def egress_stack_diagnostics(stack: KubernetesStack) -> list[Diagnostic]:
    """What the model pods' egress policy lets through, where a reviewer would be surprised."""
    if stack.egress.open:
        return [Diagnostic("warning", "", "modelfleet:egress.open",
                           "egress is open: model pods can connect anywhere, the node's instance metadata service included. "
                           "To fix: remove egress.open and list what the models must reach in modelfleet:egress.allow")]
    if isinstance(stack.cluster, OnPremCluster) and stack.artifact_store.credentials_secret and not stack.egress.allow:
        return [Diagnostic("warning", "", "modelfleet:egress.allow",
                           "model pods may connect only to DNS and HTTPS (443) outside the cluster, so the fetch step reaches the "
                           f"store behind Secret {stack.artifact_store.credentials_secret!r} only if it listens on 443. "
                           "To fix: for an object store on another port add modelfleet:egress.allow: "
                           "[{cidr: <its network>, ports: [<its port>]}]")]
    return []
