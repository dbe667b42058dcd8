"""How AWS's LLM containers on SageMaker download a Hugging Face Hub model themselves (`hf://` URIs).

`hub_environment(runtime, model_uri)` → the variables naming the Hub repository and its revision
for the runtime's AWS container (`HUB_ENV`, with sources), {} for other runtimes or URIs. Pure;
imports only `modelfleet.uris`, so the artifact plan and the container environment share it.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelfleet import uris


@dataclass(frozen=True)
class HubEnv:
    """The variables an AWS LLM container reads to download a Hugging Face Hub model at start."""

    model_id: str
    revision: str


# runtime → how its AWS container names the Hub repository and its revision.
# LMI (vllm): HF_MODEL_ID = option.model_id, and every option.<x> is read as OPTION_<X>, so option.revision
#   is OPTION_REVISION (djl-serving serving/docs/lmi/deployment_guide/configurations.md, "Model Artifact
#   Configuration"; serving/docs/lmi/lmi_environment_variable_instruction.md). Gated models read HF_TOKEN
#   (serving/docs/lmi/user_guides/starting-guide.md).
# TGI (Hugging Face LLM DLC): sagemaker-entrypoint.sh of text-generation-inference exports MODEL_ID from
#   HF_MODEL_ID and REVISION from HF_MODEL_REVISION. Gated models: both download with huggingface_hub,
#   which reads the token from HF_TOKEN (huggingface_hub "Environment variables" reference).
HUB_ENV = {"vllm": HubEnv("HF_MODEL_ID", "OPTION_REVISION"), "tgi": HubEnv("HF_MODEL_ID", "HF_MODEL_REVISION")}


def hub_environment(runtime: str, model_uri: str) -> dict[str, str]:
    """HF_MODEL_ID (+ the revision variable) for an hf:// model on the runtime's AWS container; {} otherwise."""
    if not model_uri.startswith("hf://") or runtime not in HUB_ENV:
        return {}
    parsed, names = uris.parse(model_uri), HUB_ENV[runtime]
    return {names.model_id: parsed.hf_repo, **({names.revision: parsed.revision} if parsed.revision else {})}
