"""Credential detection for user-written values, and redaction for every message we print.

Contract:
- `userinfo(url)` → True when a URL/URI carries `user[:password]@` before its host
  (`s3://AKIA…:secret@bucket/`, `http://user:pass@sink/`). Such a value is refused: the
  credential would be copied into pod args, cloud resources and IAM ARNs.
- `secret_kind(value, name="")` → a short description ("an AWS access key id", ...) when
  `value` looks like a credential literal, else None. `name` is the env var / flag the
  value belongs to: a secret-sounding name (`*_TOKEN`, `--api-key`) with a literal value
  counts too, unless the value is a reference (`$(VAR)`, `${VAR}`, `file:/…`) or empty.
- `arg_secrets(args)` → (index, kind) for each server argument carrying a credential,
  in `--flag=value`, `--flag value` or bare-token form.
- `redact(text)` masks user-info in URLs and every recognised token, so error messages
  never echo a secret. `modelfleet.errors.Problem` applies it to every message and value.

One detector for specs and policies: the implementation (token formats with their sources) is
`policies/credentials.py`, which policy MF-SEC-001 uses inside `pulumi preview`, where only
the standard library is available. Imports nothing from modelfleet: the spec, stack and error
modules all use it.
"""

from __future__ import annotations

from policies.credentials import MASK, SECRET_NAME, TOKEN_PATTERNS, arg_secrets, redact, secret_kind, userinfo

__all__ = ["MASK", "SECRET_NAME", "TOKEN_PATTERNS", "arg_secrets", "redact", "secret_kind", "userinfo"]
