"""Login kinds, session refresh, secrets from the environment, and the API quota reserve."""

from __future__ import annotations

import pandas as pd
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.salesforce.connector import SalesforceConnector
from connectors.sandbox.faults import FaultProfile
from connectors.sandbox.salesforce.org import Credentials
from mappings.errors import AuthError, ConfigError, QuotaError
from tests.integration.sf_connector.conftest import FAST, connection


@pytest.fixture
def rsa_pair(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = tmp_path / "server.key"
    path.write_bytes(pem)
    return path, public.decode()


def make(server, **overrides) -> SalesforceConnector:
    return SalesforceConnector(connection(server, **overrides), policy=FAST, sleep=lambda s: None)


def test_each_auth_kind_connects(org, sf_env, rsa_pair, monkeypatch):
    key_path, public_pem = rsa_pair
    creds = Credentials(jwt_public_key_pem=public_pem)
    server = org(accounts=3, credentials=creds)
    kinds = {
        "password": {},
        "client_credentials": {"domain": "acme.my"},
        "jwt": {"private_key_file": key_path},
    }
    for kind, extra in kinds.items():
        sf = make(server, kind=kind, **extra)
        assert sf.describe("Account").get("Name") is not None, kind
        assert sf.calls["login"] == 1
    token = server.sf.new_session()
    monkeypatch.setenv("SALESFORCE_SESSION_TOKEN", token)
    sf = make(server, kind="session", login_url=None)
    assert sf.describe("Account").name == "Account" and sf.calls.get("login", 0) == 0


def test_jwt_signed_with_the_wrong_key_is_an_auth_error(org, sf_env, rsa_pair, tmp_path):
    _, public_pem = rsa_pair
    server = org(credentials=Credentials(jwt_public_key_pem=public_pem))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = tmp_path / "other.key"
    bad.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(AuthError, match="invalid assertion"):
        make(server, kind="jwt", private_key_file=bad).describe("Account")


def test_wrong_password_says_which_variables_to_check(org, sf_env, monkeypatch):
    server = org()
    monkeypatch.setenv("SALESFORCE_PASSWORD", "wrong")
    with pytest.raises(AuthError) as err:
        make(server).describe("Account")
    text = str(err.value)
    assert "SALESFORCE_PASSWORD" in text and "authentication failure" in text
    assert "wrong" not in text and Credentials().consumer_secret not in text


def test_missing_secrets_are_one_config_error_naming_every_variable(org, monkeypatch):
    for name in ("SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_CONSUMER_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SALESFORCE_CONSUMER_SECRET", "x")
    with pytest.raises(ConfigError) as err:
        make(org())
    assert all(
        n in str(err.value)
        for n in ("SALESFORCE_USERNAME", "SALESFORCE_PASSWORD", "SALESFORCE_CONSUMER_KEY")
    )
    assert "3 problems" in str(err.value)


def test_secrets_dir_is_read_when_the_variable_is_unset(org, sf_env, monkeypatch, tmp_path):
    monkeypatch.delenv("SALESFORCE_PASSWORD")
    (tmp_path / "SALESFORCE_PASSWORD").write_text(sf_env.password + "\n")
    assert make(org(accounts=1), secrets_dir=tmp_path).describe("Account").name == "Account"


def test_expired_session_is_refreshed_once(org, connect):
    server = org(accounts=5)
    sf = connect(server)
    sf.describe("Account")
    server.faults.inject("expire_session", times=1)
    pages = list(sf.pull("accounts"))
    assert len(pages[0].records) == 5
    assert sf.api.refreshes == 1 and sf.calls["login"] == 2


def test_session_that_expires_again_after_refresh_is_an_auth_error(org, connect):
    server = org(accounts=5)
    sf = connect(server)
    sf.describe("Account")
    server.faults.inject("expire_session", times=2)
    with pytest.raises(AuthError, match="expired again"):
        list(sf.pull("accounts"))


def test_session_kind_cannot_refresh_and_says_so(org, sf_env, monkeypatch):
    server = org(accounts=1)
    monkeypatch.setenv("SALESFORCE_SESSION_TOKEN", server.sf.new_session())
    sf = make(server, kind="session", login_url=None)
    server.faults.inject("expire_session")
    with pytest.raises(AuthError, match="SALESFORCE_SESSION_TOKEN"):
        sf.describe("Account")


def test_quota_reserve_stops_a_pull_before_it_starts(org, connect):
    server = org(accounts=50, profile=FaultProfile(sf_daily_limit=100))
    sf = connect(server, rest_batch_size=200)
    sf.describe("Account")
    server.sf.api_used = 79  # 21 left: the COUNT() fits, the page would cross the reserve of 20
    with pytest.raises(QuotaError) as err:
        list(sf.pull("accounts"))
    text = str(err.value)
    assert "needs about 1 API call(s)" in text and "20 of 100 daily requests left" in text
    assert "reserve is 20" in text and "this run has made 2" in text


def test_quota_reserve_stops_a_push_cleanly_with_figures(org, connect):
    server = org(accounts=600, profile=FaultProfile(sf_daily_limit=100))
    sf = connect(server)
    sf.describe("Account")
    server.sf.api_used = 78
    sf.check_quota()  # /limits: 21 left, reserve 20
    changes = pd.DataFrame({"Id": list(server.sf.store.table("Account").records), "Name": "q"})
    used = server.sf.api_used
    with pytest.raises(QuotaError, match=r"needs about 3 API call\(s\)"):
        sf.push("Account", changes)
    assert server.sf.api_used == used, "nothing was written"


def test_request_limit_exceeded_is_a_quota_error(org, connect):
    server = org(accounts=1, profile=FaultProfile(sf_daily_limit=10))
    sf = connect(server, api_reserve_share=0)
    server.sf.api_used = 10
    with pytest.raises(QuotaError, match="limit is spent"):
        sf.describe("Account")
