"""Every login flow simple-salesforce offers, against the sandbox org.

See docs/crm-wire.md §A1, §A2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from connectors.sandbox.clients import RewritingSession, salesforce_client
from connectors.sandbox.salesforce.org import Credentials
from connectors.sandbox.server import SandboxServer

C = Credentials()


def _rsa_pair() -> tuple[str, str]:
    """(private PEM, public PEM) of a fresh RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


PRIVATE_KEY, PUBLIC_KEY = _rsa_pair()
OTHER_PRIVATE_KEY, _ = _rsa_pair()

LOGINS: dict[str, dict[str, Any]] = {
    "soap-password-and-token": {
        "username": C.username,
        "password": C.password,
        "security_token": C.security_token,
    },
    "soap-organization-id": {
        "username": C.username,
        "password": C.password,
        "organizationId": "00D000000000001",
    },
    "oauth-password": {
        "username": C.username,
        "password": C.password + C.security_token,
        "consumer_key": C.consumer_key,
        "consumer_secret": C.consumer_secret,
    },
    "oauth-client-credentials": {
        "consumer_key": C.consumer_key,
        "consumer_secret": C.consumer_secret,
        "domain": "acme.my",
    },
    "oauth-jwt-bearer": {
        "username": C.username,
        "consumer_key": C.consumer_key,
        "privatekey": PRIVATE_KEY,
    },
}

BAD_LOGINS: dict[str, tuple[dict[str, Any], str]] = {
    "soap-wrong-password": (
        {"username": C.username, "password": "nope", "security_token": C.security_token},
        "INVALID_LOGIN",
    ),
    "soap-wrong-user": (
        {"username": "x@y.test", "password": C.password, "security_token": C.security_token},
        "INVALID_LOGIN",
    ),
    "oauth-wrong-password": (
        {
            "username": C.username,
            "password": "nope",
            "consumer_key": C.consumer_key,
            "consumer_secret": C.consumer_secret,
        },
        "invalid_grant",
    ),
    "oauth-wrong-secret": (
        {
            "username": C.username,
            "password": C.password,
            "consumer_key": C.consumer_key,
            "consumer_secret": "wrong",
        },
        "invalid_client",
    ),
    "client-credentials-wrong-secret": (
        {"consumer_key": C.consumer_key, "consumer_secret": "wrong", "domain": "acme.my"},
        "invalid_client",
    ),
    "jwt-signed-with-other-key": (
        {"username": C.username, "consumer_key": C.consumer_key, "privatekey": OTHER_PRIVATE_KEY},
        "invalid_grant",
    ),
    "jwt-wrong-consumer-key": (
        {"username": C.username, "consumer_key": "other-app", "privatekey": PRIVATE_KEY},
        "invalid_grant",
    ),
    "jwt-unknown-user": (
        {"username": "x@y.test", "consumer_key": C.consumer_key, "privatekey": PRIVATE_KEY},
        "invalid_grant",
    ),
}


@pytest.fixture
def server(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    """A sandbox that checks JWT assertions against PUBLIC_KEY."""
    return make_sandbox(credentials=Credentials(jwt_public_key_pem=PUBLIC_KEY))


@pytest.mark.parametrize("login", LOGINS.values(), ids=LOGINS.keys())
def test_login_flow_issues_a_working_session(server: SandboxServer, login: dict[str, Any]) -> None:
    sf = salesforce_client(server.url, **login)

    assert sf.session_id in server.sf.sessions
    assert sf.sf_instance == f"127.0.0.1:{server.port}"
    assert sf.Account.describe()["name"] == "Account"


def test_login_is_not_an_api_call(server: SandboxServer) -> None:
    salesforce_client(server.url)
    assert server.sf.api_used == 0


# simple-salesforce warns on "user hasn't approved this consumer"; that is the point here.
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(("login", "code"), BAD_LOGINS.values(), ids=BAD_LOGINS.keys())
def test_bad_credentials_raise_authentication_failed(
    server: SandboxServer, login: dict[str, Any], code: str
) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        salesforce_client(server.url, **login)
    assert err.value.code == code
    assert not server.sf.sessions


def test_soap_fault_message_is_salesforces(server: SandboxServer) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        salesforce_client(server.url, username=C.username, password="x", security_token="y")
    assert "Invalid username, password, security token" in err.value.auth_message


def test_direct_session_works_without_login(server: SandboxServer) -> None:
    token = server.sf.new_session()
    sf = Salesforce(session_id=token, instance_url=server.url, session=RewritingSession(server.url))
    assert sf.limits()["DailyApiRequests"]["Max"] > 0


def test_direct_session_cannot_refresh_after_expiry(server: SandboxServer) -> None:
    token = server.sf.new_session()
    sf = Salesforce(session_id=token, instance_url=server.url, session=RewritingSession(server.url))
    server.faults.inject("expire_session")
    with pytest.raises(SalesforceExpiredSession) as err:
        sf.Account.describe()
    assert err.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


CALLS: dict[str, Callable[[Any], Any]] = {
    "describe-via-SFType": lambda sf: sf.Account.describe()["name"],
    "global-describe": lambda sf: len(sf.describe()["sobjects"]) > 0,
    "limits": lambda sf: sf.limits()["DailyApiRequests"]["Max"],
    "query": lambda sf: sf.query("SELECT Id FROM Account")["done"],
}


@pytest.mark.parametrize("login", ["soap-password-and-token", "oauth-password", "oauth-jwt-bearer"])
@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_expired_session_is_renewed_by_relogin(
    server: SandboxServer, login: str, call: Callable[[Any], Any]
) -> None:
    sf = salesforce_client(server.url, **LOGINS[login])
    old = sf.session_id
    server.faults.inject("expire_session")

    assert call(sf)

    assert server.faults.injected["expire_session"] == 1
    assert sf.session_id != old
    assert old not in server.sf.sessions
    assert sf.session_id in server.sf.sessions


def test_expiry_is_one_shot_so_sftype_retry_terminates(server: SandboxServer) -> None:
    sf = salesforce_client(server.url)
    server.faults.inject("expire_session", times=2)
    assert sf.Account.describe()["name"] == "Account"
    assert server.faults.injected["expire_session"] == 2
