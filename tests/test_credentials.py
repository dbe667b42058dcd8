"""The credential detector: what counts as a credential literal, and that redaction hides it."""

from __future__ import annotations

import pytest

from modelfleet.credentials import arg_secrets, redact, secret_kind, userinfo
from modelfleet.errors import Problem

AWS_KEY = "AKIAIOSFODNN7EXAMPLQ"
GH = "ghp_" + "a1B2" * 9


@pytest.mark.parametrize(("value", "name", "kind"), [
    (AWS_KEY, "", "AWS access key"),
    (f"s3://{AWS_KEY}:secret@bucket/m/", "", "AWS access key"),
    ("http://user:pass@evil.example.com/capture", "", "user name or password"),
    (GH, "", "GitHub token"),
    ("hf_" + "x" * 34, "", "Hugging Face token"),
    ("-----BEGIN RSA PRIVATE KEY-----", "", "private key"),
    ("s3cr3t-value", "DB_PASSWORD", "literal value for DB_PASSWORD"),
    ("abc", "--api-key", "literal value for --api-key"),
])
def test_credentials_are_recognised(value: str, name: str, kind: str) -> None:
    found = secret_kind(value, name)
    assert found is not None and kind in found


@pytest.mark.parametrize(("value", "name"), [
    ("1", "HF_HUB_OFFLINE"), ("$(HF_TOKEN)", "HF_TOKEN"), ("/var/run/secrets/token", "TOKEN_FILE"),
    ("true", "REQUIRE_AUTH"), ("s3://bucket/m/", ""), ("oci://registry.local/repo@sha256:" + "a" * 64, ""),
    ("8192", "--max-model-len"), ("", "API_KEY"), ("4096", "MAX_TOKENS"),
])
def test_ordinary_values_are_not_credentials(value: str, name: str) -> None:
    assert secret_kind(value, name) is None


def test_args_in_both_flag_forms() -> None:
    args = ["--max-model-len", "8192", "--api-key", "k-123", f"--hf-token={GH}", AWS_KEY]
    assert [i for i, _ in arg_secrets(args)] == [3, 4, 5]


def test_userinfo_only_in_the_authority() -> None:
    assert userinfo("s3://u:p@bucket/x")
    assert not userinfo("oci://host/repo@sha256:abc")
    assert not userinfo("hf://org/model@main")


def test_problems_never_echo_a_secret() -> None:
    problem = Problem("f.yaml", f"bad uri s3://{AWS_KEY}:topsecret@bucket/", value=f"http://admin:topsecret@h/{GH}")
    text = problem.render() + str(problem.as_dict())
    assert "topsecret" not in text and AWS_KEY not in text and GH not in text
    assert redact("s3://u:p@b/k") == "s3://****@b/k"
