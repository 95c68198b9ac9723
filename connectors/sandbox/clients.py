"""Point the real client libraries at a sandbox (tests, benchmarks, the demo).

simple-salesforce builds every URL with a hard-coded `https://` and logs in at
`https://{domain}.salesforce.com` (docs/crm-wire.md §0.1), so a `requests.Session`
that rewrites those URLs onto the sandbox's base URL is the supported seam.
hubspot-api-client takes `host=` directly (§0.2).
"""

from __future__ import annotations

import re
from typing import Any

import requests

_SF_HOST = re.compile(
    r"^https://(?:[A-Za-z0-9.-]+\.salesforce\.com|127\.0\.0\.1:\d+|localhost:\d+)"
)


class RewritingSession(requests.Session):
    """A requests session that sends every Salesforce URL to `base_url` instead."""

    def __init__(self, base_url: str, verify: str | bool = True) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.verify = verify

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        url = _SF_HOST.sub(self.base_url, url if isinstance(url, str) else url.decode())
        # requests lets REQUESTS_CA_BUNDLE override a session's `verify` (psf/requests#3829),
        # so the sandbox CA is passed per request.
        kwargs.setdefault("verify", self.verify)
        verb = method if isinstance(method, str) else method.decode()
        return super().request(verb, url, *args, **kwargs)


def salesforce_client(base_url: str, *, ca_path: str | None = None, **login: Any) -> Any:
    """A simple_salesforce.Salesforce logged in to the sandbox (SOAP login by default)."""
    from simple_salesforce.api import Salesforce

    from connectors.sandbox.salesforce.org import Credentials

    session = RewritingSession(base_url, verify=ca_path or True)
    if not login:
        c = Credentials()
        login = {"username": c.username, "password": c.password, "security_token": c.security_token}
    return Salesforce(session=session, **login)


def hubspot_client(base_url: str, token: str = "pat-sandbox-0000", **kw: Any) -> Any:
    """A hubspot.HubSpot client talking to the sandbox."""
    from hubspot import HubSpot

    return HubSpot(access_token=token, host=base_url, **kw)
