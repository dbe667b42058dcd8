"""Resolve `models:/<name>/<version>` (or `@<alias>`) to the artifact URI the registry recorded.

Contract: `resolve(uri, tracking_uri)` → (artifact URI or None, problem or None).
- A `sqlite:///<file>` tracking store is read at preview time with MLflow's own client
  (`MlflowClient.get_model_version_download_uri`, or the alias lookup): no server, no network,
  so CI previews see the real S3/Blob/GCS prefix and the model roles are scoped to it.
- Any other tracking URI (an http(s) tracking server, Databricks, a networked database) cannot be
  read offline: (None, None) — the Deployment engine then downloads at start with an init step
  running MLflow's client against that URI.
- A missing database file, an unknown model or version: a problem naming what to fix.
MLflow is optional (`pip install 'modelfleet[mlflow]'`); results are cached per (uri, store).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

from modelfleet import uris

OFFLINE_SCHEMES = ("sqlite:///",)


def resolve(uri: str, tracking_uri: str) -> tuple[str | None, str | None]:
    if not tracking_uri.startswith(OFFLINE_SCHEMES):
        return None, None
    path = Path(tracking_uri.removeprefix("sqlite:///"))
    if not path.is_absolute():
        path = Path.cwd() / path
    if not path.is_file():
        return None, (f"the MLflow tracking store {tracking_uri} does not exist (no file {path}); resolving {uri} would create "
                      "an empty registry. To fix: point modelfleet:mlflow.tracking_uri at the registry database")
    return _lookup(uri, f"sqlite:///{path}")


@lru_cache(maxsize=128)
def _lookup(uri: str, store: str) -> tuple[str | None, str | None]:
    try:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
    except ImportError:
        return None, (f"resolving {uri} at preview needs MLflow's client. To fix: pip install 'modelfleet[mlflow]', "
                      "or use an http(s) tracking URI so an init step resolves it at start")
    parsed = uris.parse(uri)
    try:
        with warnings.catch_warnings():
            # MLflow's SQL store emits SQLAlchemy deprecation notices on every session; they say nothing about the lookup
            warnings.simplefilter("ignore")
            client = MlflowClient(tracking_uri=store, registry_uri=store)
            version = parsed.revision
            if version.startswith("@"):
                version = client.get_model_version_by_alias(parsed.host, version[1:]).version
            resolved: str = client.get_model_version_download_uri(parsed.host, version)
    except MlflowException as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        return None, f"the MLflow registry at {store} cannot resolve {uri}: {first}. To fix: register that version, or correct model.uri"
    return resolved, None
