"""modelfleet: one model spec → GPU node pools, registries and model endpoints on
on-prem Kubernetes, EKS, AKS, SageMaker or Azure ML, with offline cost and policy previews."""

__version__ = "0.1.0"
