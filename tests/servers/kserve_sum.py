"""A KServe model server (the `kserve` package's ModelServer, the server KServe's Python runtimes
run) serving one model that sums each input row. It speaks the V1 protocol
(/v1/models/<name>, :predict) and the Open Inference Protocol V2 (/v2/health/ready,
/v2/models/<name>, /infer) on one HTTP port. Usage: python kserve_sum.py NAME PORT
"""

import sys

from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer


class Sum(Model):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.ready = True

    def predict(self, payload, headers=None):  # noqa: ANN001, ANN201 - KServe's signature
        if isinstance(payload, InferRequest):
            rows = payload.inputs[0].data
            width = payload.inputs[0].shape[-1]
            sums = [float(sum(rows[i:i + width])) for i in range(0, len(rows), width)]
            return InferResponse(model_name=self.name, infer_outputs=[InferOutput("SUM", [len(sums)], "FP32", sums)],
                                 response_id=payload.id or "0")
        return {"predictions": [float(sum(row)) for row in payload["instances"]]}


if __name__ == "__main__":
    name, port = sys.argv[1], int(sys.argv[2])
    ModelServer(http_port=port, enable_grpc=False, workers=1).start([Sum(name)])
