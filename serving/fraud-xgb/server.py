"""Card-fraud scorer: POST /predict {"instances": [[feature, ...], ...]} → {"scores": [...]}.

A FastAPI app run by uvicorn (`uvicorn server:app --port $PORT`, see the Dockerfile). It loads
the XGBoost booster from $MODEL_DIR/model.json at import, answers GET /healthz once loaded,
and serves Prometheus metrics on GET /metrics — the series modelfleet's `custom` runtime
profile (modelfleet/data/runtime_profiles.yaml) makes the alerts, dashboards and autoscalers read:

- `http_requests_total{method, handler, status}`: counter; `status` is the exact HTTP status
  code ("200", "400", "500"), so `status=~"5.."` selects server failures;
- `http_request_duration_seconds{method, handler}`: histogram of the time to the response;
- `http_requests_in_flight`: gauge of requests being processed (0 from start-up).

`handler` is the route template (`/predict`), or "other" for paths no route serves (so an
unknown path cannot add series). Kubelet probes (/healthz) and Prometheus scrapes (/metrics)
are not measured: they are not load, and would otherwise inflate the `rps` autoscaler's input
and dilute the error rate.

Status codes: 400 when the body breaks the API contract (not JSON, no "instances", not a
non-empty list of equal-length rows of finite numbers, null meaning a missing value); 500 when the loaded model fails to score a
well-formed batch — including rows whose width is not the model's feature count: the width is
the model version's contract, and a new version that rejects the features production sends
must fail the canary's 5xx analysis rather than pass as a client error.

With WORKERS > 1 (uvicorn --workers) set PROMETHEUS_MULTIPROC_DIR to an empty directory (the
Dockerfile does): every worker writes its samples there and /metrics sums them, so a scrape
sees the whole pod whichever worker answers it (prometheus/client_python docs, "Multiprocess Mode").
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

import numpy as np
import xgboost
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMEASURED = frozenset({"/healthz", "/metrics"})
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# client_python appends _total to a counter's name on exposition: `http_requests` → http_requests_total
REQUESTS = Counter("http_requests", "HTTP requests answered, by method, route and status code", ["method", "handler", "status"])
LATENCY = Histogram("http_request_duration_seconds", "Time from request to response, by method and route", ["method", "handler"])
# no labels, so the series exists (at 0) from start-up; livesum: in multiprocess mode, the sum
# over the workers that are alive
IN_FLIGHT = Gauge("http_requests_in_flight", "Requests being processed", multiprocess_mode="livesum")

BOOSTER = xgboost.Booster()
BOOSTER.load_model(os.path.join(os.environ.get("MODEL_DIR", "/mnt/models"), "model.json"))


class BadRequest(ValueError):
    """The request body breaks the API contract (→ 400)."""


class PrometheusMiddleware:
    """Counts, times and tracks every request the app serves, except probes and scrapes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNMEASURED:
            await self.app(scope, receive, send)
            return
        method, handler = scope["method"], _handler(scope)
        status = "500"  # what the client gets when the app raises before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        IN_FLIGHT.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            LATENCY.labels(method, handler).observe(time.perf_counter() - start)
            REQUESTS.labels(method, handler, status).inc()
            IN_FLIGHT.dec()


def _handler(scope: Scope) -> str:
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            return str(getattr(route, "path", "other"))
    return "other"


def _instances(body: bytes) -> np.ndarray:
    """The batch as a float matrix, or BadRequest saying what is wrong."""
    try:
        payload: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadRequest(f"body is not JSON: {e}") from None
    rows = payload.get("instances") if isinstance(payload, dict) else None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) and r for r in rows):
        raise BadRequest('body must be {"instances": [[feature, ...], ...]} with at least one non-empty row')
    if len({len(r) for r in rows}) != 1:
        raise BadRequest("every instance must have the same number of features")
    if not all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for r in rows for v in r):
        raise BadRequest("features must be numbers, or null for a missing value")
    try:
        matrix = np.asarray(rows, dtype=np.float64)  # null → NaN, which XGBoost reads as missing
    except OverflowError:
        raise BadRequest("a feature is too large for a float64") from None
    if np.isinf(matrix).any() or any(isinstance(v, float) and math.isnan(v) for r in rows for v in r):
        raise BadRequest("features must be finite (write null for a missing value)")
    return matrix


def _score(matrix: np.ndarray) -> list[float]:
    scores: list[float] = BOOSTER.inplace_predict(matrix).tolist()
    return scores


app = FastAPI(title="fraud-xgb", docs_url=None, redoc_url=None, openapi_url=None)
app.add_middleware(PrometheusMiddleware)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}  # the booster loaded at import: the app does not start without it


@app.get("/metrics")
def metrics() -> Response:
    registry = REGISTRY
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@app.post("/predict")
async def predict(request: Request) -> JSONResponse:
    try:
        matrix = _instances(await request.body())
    except BadRequest as e:
        return JSONResponse({"error": str(e)}, status_code=400)
    try:
        # scoring is CPU work: off the event loop, so probes and scrapes are answered meanwhile
        scores = await run_in_threadpool(_score, matrix)
    except (ValueError, xgboost.core.XGBoostError) as e:
        return JSONResponse({"error": f"the model cannot score this batch: {e}"}, status_code=500)
    return JSONResponse({"scores": scores})
