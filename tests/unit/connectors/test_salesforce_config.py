"""The Salesforce connection config and secrets (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.errors import ConfigError
from mappings.salesforce_connection import (
    SalesforceConnection,
    load_salesforce_connection,
    resolve_secrets,
)

ENV = {
    "SALESFORCE_USERNAME": "u@example.test",
    "SALESFORCE_PASSWORD": "pw-secret",
    "SALESFORCE_CONSUMER_KEY": "ck",
    "SALESFORCE_CONSUMER_SECRET": "cs-secret",
}


def test_defaults_and_loopback_urls():
    conn = SalesforceConnection(kind="password", instance_url="http://127.0.0.1:8080/")
    assert conn.instance_url == "http://127.0.0.1:8080"
    assert conn.effective_login_url == "https://login.salesforce.com"
    assert (conn.bulk_query_threshold, conn.bulk_write_threshold, conn.api_reserve_share) == (
        10_000,
        2000,
        0.2,
    )


BAD = {
    "unknown-kind": ({"kind": "oauth"}, "kind"),
    "session-without-instance": ({"kind": "session"}, "needs instance_url"),
    "client-credentials-on-login": ({"kind": "client_credentials"}, "My Domain"),
    "jwt-without-key": ({"kind": "jwt"}, "private_key_file or private_key_env"),
    "secret-in-yaml": ({"kind": "password", "password_env": "hunter2!"}, "never the secret"),
    "url-with-path": ({"kind": "password", "instance_url": "https://x/services"}, "no path"),
    "not-a-url": ({"kind": "password", "login_url": "login.salesforce.com"}, "must be a URL"),
    "full-domain": ({"kind": "password", "domain": "acme.my.salesforce.com"}, "prefix"),
    "typo": ({"kind": "password", "bulk_treshold": 5}, "Extra inputs"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_configs_are_refused_with_a_fix(name):
    settings, expected = BAD[name]
    with pytest.raises(ValueError, match=expected):
        SalesforceConnection(**settings)


def test_yaml_errors_name_file_key_and_allowed(tmp_path: Path):
    path = tmp_path / "sf.yaml"
    path.write_text("kind: password\nbulk_treshold: 5\n")
    with pytest.raises(ConfigError) as err:
        load_salesforce_connection(path)
    assert "sf.yaml:2 at 'bulk_treshold': unknown key 'bulk_treshold'; allowed:" in str(err.value)


def test_secrets_come_from_env_and_are_masked():
    s = resolve_secrets(SalesforceConnection(kind="password"), ENV)
    assert s.password.get_secret_value() == "pw-secret"
    assert "pw-secret" not in repr(s) and "cs-secret" not in repr(s)
    assert s.security_token is None


def test_every_missing_secret_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        resolve_secrets(SalesforceConnection(kind="password", password_env="MY_PW"), {})
    text = str(err.value)
    assert "4 problems" in text and "MY_PW" in text and "SALESFORCE_CONSUMER_SECRET" in text


def test_secrets_dir_fallback_and_jwt_key_file(tmp_path: Path):
    (tmp_path / "SALESFORCE_USERNAME").write_text("u\n")
    (tmp_path / "SALESFORCE_CONSUMER_KEY").write_text("ck")
    key = tmp_path / "k.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nfake-key-for-the-test\n")
    conn = SalesforceConnection(kind="jwt", private_key_file=key, secrets_dir=tmp_path)
    s = resolve_secrets(conn, {})
    assert s.username.get_secret_value() == "u" and "BEGIN" in s.private_key.get_secret_value()
    missing = SalesforceConnection(kind="jwt", private_key_file=tmp_path / "nope.pem")
    with pytest.raises(ConfigError, match="cannot read the private key"):
        resolve_secrets(missing, {"SALESFORCE_USERNAME": "u", "SALESFORCE_CONSUMER_KEY": "k"})
