"""Credential literals, recognised the same way everywhere: in spec values (`modelfleet validate`)
and in planned resources (policy MF-SEC-001), with redaction for every message either prints.

It lives in the policy pack, beside the rules, because the pack imports only the standard library
and itself (it runs inside `pulumi preview --policy-pack policies`, whose virtualenv holds only
`pulumi-policy`), and outside `policies/rules/` so that importing it does not load every rule;
`modelfleet/credentials.py` re-exports it, so there is one detector.

- `userinfo(url)` → True when a URL/URI carries `user[:password]@` before its host.
- `secret_kind(value, name="")` → what credential `value` looks like ("an AWS access key id", ...),
  else None; `name` is the env var / flag it belongs to (a literal under a secret-sounding name
  counts, unless it is a reference such as `$(VAR)` or a file path).
- `arg_secrets(args)` → (index, kind) for each argument carrying a credential.
- `redact(text)` masks URL user-info and every recognised token.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

MASK = "****"

# Token formats with a fixed, documented shape. Each entry: (description, pattern).
TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # AWS IAM User Guide, "IAM identifiers — unique identifiers": AKIA = access key,
    # ASIA = temporary (STS) access key, ABIA = STS service bearer token; 20 characters.
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b")),
    # GitHub changelog 2021-03-31 "Authentication token format updates": ghp_ gho_ ghu_ ghs_ ghr_
    # prefixes, [A-Za-z0-9_]; fine-grained PATs start github_pat_ (GitHub docs, "personal access tokens").
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9_]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b")),
    # Hugging Face docs, "User access tokens": tokens start with hf_.
    ("a Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    # Slack API docs, "Token types": xoxb- (bot), xoxp- (user), xoxa-/xoxr-/xoxs- (app, refresh, legacy).
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
    # Google Cloud docs, "API keys": 39 characters starting AIza.
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    # RFC 7468 §2: PEM private keys are framed by "-----BEGIN … PRIVATE KEY-----".
    ("a private key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    # RFC 7519 §3: a JWT is three base64url parts; the JOSE header is a JSON object, so it starts "eyJ" ('{"').
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")),
    # Azure Storage docs, "Configure a connection string": AccountKey=<base64>; SAS tokens carry sig=<signature>.
    ("an Azure storage account key", re.compile(r"AccountKey=[A-Za-z0-9+/=]{20,}")),
    ("an Azure SAS signature", re.compile(r"[?&]sig=[A-Za-z0-9%+/=]{16,}")),
)

# Env var / flag names whose literal value is a credential (matched on the upper-cased name
# with '-' as '_', so `--api-key` and `API_KEY` both match).
SECRET_NAME = re.compile(r"(?:^|_)(?:PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH)(?:_|$)")
# Values that point at a secret instead of holding one: Kubernetes $(VAR) expansion,
# shell ${VAR}, a file path, or a plain boolean/number switch.
_REFERENCE = re.compile(r"^(?:\$\(\w+\)|\$\{\w+\}|\$\w+|file:.*|/.*|true|false|yes|no|on|off|\d{1,6}|)$", re.IGNORECASE)

_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s?#]+)@")


def userinfo(url: str) -> bool:
    """True when the URL's authority carries a user name or password."""
    if "://" not in url:
        return False
    try:
        netloc = urlsplit(url.strip()).netloc
    except ValueError:  # e.g. an unbalanced '[' in the host: not a usable URL, but not user-info either
        netloc = url.split("://", 1)[1].split("/", 1)[0]
    return "@" in netloc


def secret_kind(value: str, name: str = "") -> str | None:
    """What credential `value` looks like (None when it does not)."""
    for kind, pattern in TOKEN_PATTERNS:
        if pattern.search(value):
            return kind
    if userinfo(value):
        return "a user name or password inside a URL"
    key = name.upper().lstrip("-").replace("-", "_")
    if key and SECRET_NAME.search(key) and not _REFERENCE.match(value.strip()):
        return f"a literal value for {name}"
    return None


def arg_secrets(args: Sequence[str]) -> list[tuple[int, str]]:
    """(index, kind) for each argument that is or carries a credential."""
    found: list[tuple[int, str]] = []
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if eq and flag.startswith("-"):
            kind = secret_kind(value, flag)
        elif i > 0 and args[i - 1].startswith("-") and "=" not in args[i - 1] and not arg.startswith("-"):
            kind = secret_kind(arg, args[i - 1])
        else:
            kind = secret_kind(arg)
        if kind:
            found.append((i, kind))
    return found


def redact(text: str) -> str:
    """`text` with URL user-info and recognised tokens replaced by ****."""
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    for _, pattern in TOKEN_PATTERNS:
        text = pattern.sub(MASK, text)
    return text
