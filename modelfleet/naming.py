"""Deterministic names that fit each platform's limits.

`fit(name, limit, ...)` keeps a name as is when it fits, else truncates and appends a
short hash of the full name so two long names never collide and the result is stable.
"""

from __future__ import annotations

import hashlib
import re

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def fit(name: str, limit: int, *, min_length: int = 1, invalid: str = r"[^a-z0-9-]", sep: str = "-",
        must_start_alpha: bool = False) -> str:
    """`name` itself when already valid and within [min_length, limit]; otherwise a cleaned,
    truncated head plus a hash of the original, so distinct inputs stay distinct."""
    cleaned = re.sub(invalid, sep, name.lower())
    cleaned = cleaned.strip(sep) if sep else cleaned
    if must_start_alpha and not cleaned[:1].isalpha():
        cleaned = "m" + cleaned
    if cleaned == name and min_length <= len(cleaned) <= limit:
        return cleaned
    suffix = short_hash(name)
    room = limit - len(suffix) - len(sep)
    head = cleaned[:room].rstrip(sep) if sep else cleaned[:room]
    if must_start_alpha and not head[:1].isalpha():
        head = ("m" + head)[:room]
    return f"{head}{sep}{suffix}" if head else ("m" + suffix if must_start_alpha else suffix)


def k8s_name(*parts: str, limit: int = 63) -> str:
    """A DNS-1123 label (≤ 63) from parts joined with '-'."""
    return fit("-".join(p for p in parts if p), limit)


def acr_name(stack: str, scope: str) -> str:
    """Deterministic 5-50 alphanumeric registry name: "mf" + stack + a hash of stack and scope
    (resource group / location), since ACR names are global across all tenants. Pure, so
    validation names a stack's registry without the Azure SDK installed."""
    head = re.sub(r"[^a-z0-9]", "", stack.lower())[:30]
    return f"mf{head}{short_hash(f'{stack}/{scope}', 10)}"
