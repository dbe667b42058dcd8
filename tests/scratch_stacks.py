"""Stack files for scratch projects in tests: an on-prem cluster with T4 GPU nodes."""

ONPREM_STACK = """config:
  modelfleet:environment: dev
  modelfleet:platform: kubernetes
  modelfleet:serving: {engine}
  modelfleet:cluster:
    kind: onprem
    gpu_nodes: [{{name: gpu-1, accelerator: T4, count: 16}}]
  modelfleet:registry: {{kind: external, url: registry.lab.local/ml}}
  modelfleet:addons: {{monitor_labels: {{release: kps}}}}
  modelfleet:alerts: {{alertmanager_receiver: oncall}}
"""
