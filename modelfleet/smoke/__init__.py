"""`modelfleet smoke`: after a deploy, wait until each model of a stack is ready, send it one real
request through the platform, and report per model the ready time, status and latency.

Layers (each module states its own contract):
- `target` — what to ask a model: runtime → protocol (data/smoke_protocols.yaml), port and
  readiness path (runtime profile), the spec's `smoke` section and its sample body.
- `probe` — the HTTP half: readiness polling and per-protocol requests against a base URL
  (OpenAI chat completions, Open Inference Protocol v2, KServe v1, TorchServe, TF Serving, custom).
- `kubernetes`, `azureml`, `sagemaker` — the reaching half: a base URL through a Kubernetes
  port-forward (or the public URL), Azure ML's scoring URI with an Entra ID token, SageMaker's
  InvokeEndpoint.
- `result` — results, text/JSON rendering, the exit code (0 ok, 1 a model failed, 3 unreachable
  or no credentials).
- `run` — one stack: which models, which platform, all of the above.
"""
