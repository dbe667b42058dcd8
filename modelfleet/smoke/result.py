"""Smoke results and how they are reported.

Contract:
- `Check(name, ok, status, latency_ms, detail)` — one HTTP exchange (or platform state read).
- `ModelResult` — per model: `status` is "ok", "failed" (the model answered wrongly or never
  became ready) or "unreachable" (no connection, no credentials); `ready_s` seconds until ready;
  `latency_ms` of the model request (None when no request could be sent); the checks in order.
- `exit_code(results)` → 0 all ok, 1 any failed, else 3 any unreachable.
- `report_json(stack, platform, results)` → the `--format json` document:
  `{"stack", "platform", "ok", "models": [{"model", "status", "ready_s", "latency_ms",
  "http_status", "via", "message", "checks": [{"name", "ok", "status", "latency_ms", "detail"}]}]}`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["ok", "failed", "unreachable"]


@dataclass
class Check:
    name: str
    ok: bool
    status: int | None = None
    latency_ms: float | None = None
    detail: str = ""


@dataclass
class ModelResult:
    model: str
    status: Status = "ok"
    via: str = ""
    ready_s: float | None = None
    latency_ms: float | None = None
    http_status: int | None = None
    message: str = ""
    checks: list[Check] = field(default_factory=list)

    def fail(self, message: str, status: Status = "failed") -> ModelResult:
        self.status, self.message = status, message
        return self


def exit_code(results: list[ModelResult]) -> int:
    if any(r.status == "failed" for r in results):
        return 1
    if any(r.status == "unreachable" for r in results):
        return 3
    return 0


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def report_json(stack: str, platform: str, results: list[ModelResult]) -> dict[str, Any]:
    models = []
    for r in results:
        entry = asdict(r)
        entry["ready_s"], entry["latency_ms"] = _round(r.ready_s, 2), _round(r.latency_ms, 1)
        for check in entry["checks"]:
            check["latency_ms"] = _round(check["latency_ms"], 1)
        models.append(entry)
    return {"stack": stack, "platform": platform, "ok": exit_code(results) == 0, "models": models}
