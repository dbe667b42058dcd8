"""Card-fraud scorer: POST /predict {"instances": [[feature, ...], ...]} → {"scores": [...]}.

Loads the XGBoost booster from $MODEL_DIR/model.json, answers /healthz once loaded, and
exposes Prometheus metrics (http_requests_total, http_request_duration_seconds) on /metrics,
the names modelfleet's alerts and autoscaling queries use.
"""

import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import xgboost
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUESTS = Counter("http_requests_total", "Requests", ["status"])
LATENCY = Histogram("http_request_duration_seconds", "Latency")
BOOSTER = xgboost.Booster()
BOOSTER.load_model(os.path.join(os.environ.get("MODEL_DIR", "/mnt/models"), "model.json"))


class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        if self.path == "/healthz":
            self._send(200, b'{"status": "ok"}')
        elif self.path == "/metrics":
            self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
        else:
            self._send(404, b"{}")

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        start = time.perf_counter()
        try:
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            scores = BOOSTER.inplace_predict(payload["instances"]).tolist()
            status, body = 200, json.dumps({"scores": scores}).encode()
        except (KeyError, ValueError) as e:
            status, body = 400, json.dumps({"error": str(e)}).encode()
        REQUESTS.labels(str(status)).inc()
        LATENCY.observe(time.perf_counter() - start)
        self._send(status, body)


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
