"""Runtime profile data: what each serving runtime really listens on, answers probes on and exports.

One place holds these facts (`modelfleet/data/runtime_profiles.yaml`, an upstream source and
version beside each); everything that probes, scrapes, scales or alerts asks this module:
the container port and probes, the PodMonitor and NetworkPolicy, the PrometheusRule, the
dashboard, the KEDA trigger and KServe's autoscaling. Nothing else names a metric series.

Contract (the spec-independent half; `modelfleet.runtimes.profile_for` applies a spec):
- `base_profile(runtime, engine)` → the bundled `RuntimeProfile` for `engine` "deployment"
  (the runtime's upstream image run directly) or "kserve" (KServe's built-in ServingRuntime).
- `Series` is a Prometheus series name with label matchers; `Series.parse` validates the
  text form users write (`name{label="v",…}`) and raises `ValueError` with the reason.
- `owned_flags(runtime, engine)` → flags the profile sets itself; a spec arg may not repeat
  or contradict one (see `flag_conflicts`).
- Pure: no Pulumi, no I/O beyond reading the bundled data file once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml

SERIES_KEYS = ("requests", "errors", "latency", "in_flight", "queue_depth")
ENGINES = ("deployment", "kserve")
# Prometheus data model: metric and label names (https://prometheus.io/docs/concepts/data_model/, v2.x/3.x)
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_MATCHER_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
# factor from the runtime's latency unit to milliseconds (alerts are written in ms)
TO_MS = {"seconds": 1000.0, "milliseconds": 1.0, "microseconds": 0.001}


def _label_of(matcher: str) -> str:
    return re.split(r"=~|!~|!=|=", matcher, maxsplit=1)[0].strip()


@dataclass(frozen=True)
class Series:
    """A Prometheus series: `name` plus label matchers (`label op "value"` texts, op in = != =~ !~).
    `kind` is counter | gauge | histogram; `unit` matters for latency histograms."""

    name: str
    matchers: tuple[str, ...] = ()
    kind: str = "counter"
    unit: str | None = None

    @classmethod
    def parse(cls, text: str, kind: str = "counter", unit: str | None = None) -> Series:
        """`name` or `name{a="b",c=~"d.."}`; raises ValueError naming what is wrong."""
        text = (text or "").strip()
        name, brace, body = text.partition("{")
        name = name.strip()
        if not METRIC_NAME_RE.match(name):
            raise ValueError(f"{name!r} is not a valid Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
        if brace and not body.rstrip().endswith("}"):
            raise ValueError(f"label matchers of {text!r} are not closed with '}}'")
        body = body.rstrip()[:-1] if brace else ""
        matchers: list[str] = []
        rest = (body or "").strip()
        while rest:
            m = _MATCHER_RE.match(rest)
            if not m:
                raise ValueError(f"label matchers {body!r} are not valid: write label=\"value\" (or !=, =~, !~), comma-separated")
            matchers.append(f'{m.group(1)}{m.group(2)}"{m.group(3)}"')
            rest = rest[m.end():].lstrip()
            if rest.startswith(","):
                rest = rest[1:].lstrip()
            elif rest:
                raise ValueError(f"label matchers {body!r} are not valid: separate them with commas")
        return cls(name, tuple(matchers), kind, unit)

    def selector(self, *extra: str, suffix: str = "") -> str:
        """PromQL selector with the series' own matchers plus `extra` (e.g. 'namespace="x"'); an extra
        matcher on a label the series already matches is left out (the series' own wins)."""
        own = {_label_of(m) for m in self.matchers}
        labels = ",".join([*(m for m in extra if _label_of(m) not in own), *self.matchers])
        return f"{self.name}{suffix}{{{labels}}}"

    def matches_label(self, label: str) -> bool:
        return any(_label_of(m) == label for m in self.matchers)

    def text(self) -> str:
        return f"{self.name}{{{','.join(self.matchers)}}}" if self.matchers else self.name


@dataclass(frozen=True)
class RuntimeProfile:
    """What one runtime on one engine exposes. `series[key]` is None when the runtime does not
    export that signal (`missing[key]` says why); `requests_include_errors` is False when the
    request counter counts successes only (then total = requests + errors). `default_args` are
    the whole argument list on our own container; `extra_args` are appended to a KServe
    ServingRuntime's own args; `command` replaces an image entrypoint that must be bypassed."""

    runtime: str
    engine: str
    version: str
    port: int
    port_flag: str | None
    health_path: str
    readiness_path: str
    metrics_port: int
    metrics_path: str
    series: dict[str, Series | None]
    missing: dict[str, str] = field(default_factory=dict)
    requests_include_errors: bool = True
    default_args: tuple[str, ...] = ()
    extra_args: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    owned_flags: tuple[str, ...] = ()
    config_file: dict[str, str] | None = None
    kserve_runtime: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    defaulted: tuple[str, ...] = ()

    def get(self, key: str) -> Series | None:
        return self.series.get(key)

    @property
    def separate_metrics_port(self) -> bool:
        return self.metrics_port != self.port

    def args(self, model_dir: str, name: str) -> list[str]:
        """The runtime's own arguments with placeholders filled."""
        values = {"model_dir": model_dir, "port": str(self.port), "name": name, "metrics_port": str(self.metrics_port)}
        return [arg.format(**values) for arg in self.default_args]


@lru_cache(maxsize=1)
def profile_data() -> dict[str, Any]:
    """The bundled profile data (sources beside every fact)."""
    text = resources.files("modelfleet.data").joinpath("runtime_profiles.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _value(entry: Any) -> Any:
    return entry.get("value") if isinstance(entry, dict) else entry


def _source(entry: Any) -> str:
    return str(entry.get("source", "")) if isinstance(entry, dict) else ""


def _series(entries: dict[str, Any]) -> tuple[dict[str, Series | None], dict[str, str], dict[str, str]]:
    series: dict[str, Series | None] = {}
    missing: dict[str, str] = {}
    sources: dict[str, str] = {}
    for key in SERIES_KEYS:
        entry = entries.get(key) or {}
        sources[key] = _source(entry)
        if not entry.get("name"):
            series[key] = None
            missing[key] = str(entry.get("reason") or "the runtime does not export it")
            continue
        parsed = Series.parse(entry["name"], entry.get("kind", "counter"), entry.get("unit"))
        extra = tuple(m.strip() for m in str(entry.get("matchers") or "").split(",") if m.strip())
        series[key] = replace(parsed, matchers=parsed.matchers + extra)
    return series, missing, sources


@cache
def base_profile(runtime: str, engine: str) -> RuntimeProfile:
    """The bundled profile (no spec overrides). KServe built-in runtimes exist for vllm/tgi
    (huggingface), triton, torchserve and tfserving; `custom` is the same on both engines."""
    data = profile_data()
    kserve_key = data["kserve_runtime_for"].get(runtime) if engine == "kserve" else None
    entry = data["kserve"][kserve_key] if kserve_key else data["runtimes"][runtime]
    series, missing, sources = _series(entry.get("series") or {})
    metrics = entry.get("metrics") or {}
    port_entry = entry.get("port") or {}
    sources.update(port=_source(port_entry), metrics=_source(metrics), health=_source(entry.get("health_path")))
    return RuntimeProfile(
        runtime=runtime, engine=engine if kserve_key else "deployment", version=str(entry.get("version", "")),
        port=int(_value(port_entry)), port_flag=port_entry.get("flag") if isinstance(port_entry, dict) else None,
        health_path=str(_value(entry["health_path"])), readiness_path=str(_value(entry.get("readiness_path") or entry["health_path"])),
        metrics_port=int(metrics.get("port", _value(port_entry))), metrics_path=str(metrics.get("path", "/metrics")),
        series=series, missing=missing, requests_include_errors=bool(entry.get("requests_include_errors", True)),
        default_args=tuple(_value(entry.get("default_args")) or ()), extra_args=tuple(_value(entry.get("extra_args")) or ()),
        command=tuple(_value(entry.get("command")) or ()), owned_flags=tuple(entry.get("owned_flags") or ()),
        config_file=entry.get("config_file"), kserve_runtime=entry.get("runtime_name"), sources=sources,
    )


def _flag_name(arg: str) -> str | None:
    return arg.split("=", 1)[0] if arg.startswith("-") else None


def flag_conflicts(runtime: str, args: tuple[str, ...]) -> list[tuple[int, str]]:
    """(index, flag) of each spec arg that sets a flag the runtime's profile owns (port, model
    location, metrics port …) on either engine. Such an arg either repeats what the profile
    already passes or contradicts it (a second model repository, another port)."""
    owned: set[str] = set()
    for engine in ENGINES:
        try:
            owned.update(base_profile(runtime, engine).owned_flags)
        except KeyError:
            continue
    out = []
    for index, arg in enumerate(args):
        flag = _flag_name(arg)
        if flag and flag in owned:
            out.append((index, flag))
    return out
