"""A minimal KServe model server, run by tests/integration/test_kserve_server_metrics.py with the
interpreter of a separate virtualenv that holds `kserve` (its pins — prometheus-client <0.21,
uvicorn <0.31, httpx <0.28 — would downgrade the project's own environment).

It is KServe's own REST application (`kserve.protocol.rest.server.RESTServer`: v1/v2 endpoints,
exception handlers, /metrics) over KServe's DataPlane and ModelRepository, started as
`kserve.ModelServer.start` does for one worker, except that it listens on 127.0.0.1 (KServe
0.15 binds 0.0.0.0 unconditionally) and starts no gRPC server. The model scores
{"instances": [[x1, x2, x3], ...]} with a fixed linear function and raises for any other row
width, which KServe answers with a 500.

Environment: KSERVE_MODEL_NAME, KSERVE_HTTP_PORT.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import kserve
from kserve.constants.constants import FASTAPI_APP_IMPORT_STRING
from kserve.protocol.rest.server import RESTServer

WEIGHTS = (0.5, -0.25, 0.125)


class Linear(kserve.Model):  # type: ignore[misc]
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.ready = False

    def load(self) -> bool:
        self.ready = True
        return self.ready

    def predict(self, payload: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
        rows = payload["instances"]
        if any(len(row) != len(WEIGHTS) for row in rows):
            raise ValueError(f"the model takes {len(WEIGHTS)} features per instance")
        return {"predictions": [sum(w * x for w, x in zip(WEIGHTS, row, strict=True)) for row in rows]}


def main() -> None:
    model = Linear(os.environ["KSERVE_MODEL_NAME"])
    model.load()
    server = kserve.ModelServer(http_port=int(os.environ["KSERVE_HTTP_PORT"]), enable_grpc=False)
    server.register_model(model)
    rest = RESTServer(FASTAPI_APP_IMPORT_STRING, server.dataplane, server.model_repository_extension,
                      int(os.environ["KSERVE_HTTP_PORT"]), grace_period=5)
    rest.config.host = "127.0.0.1"
    asyncio.run(rest.start())


if __name__ == "__main__":
    main()
