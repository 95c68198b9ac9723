"""Login for the sandbox org: SOAP partner login and the OAuth 2.0 token endpoint.

Both answer on the same host:port as the REST API (docs/crm-wire.md §0.1, §A1).
Login calls are not API calls: they neither count against the daily limit nor carry
`Sforce-Limit-Info`. Every successful login issues a fresh session via
`org.new_session()`, which is what lets simple-salesforce's automatic re-login recover
from an expired session (§A2).
"""

from __future__ import annotations

import base64
import binascii
import re
import time
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.salesforce.org import API_VERSION, ORG_ID, USER_ID, SalesforceOrg

_PARTNER_NS = "urn:partner.soap.sforce.com"
_JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_AUDIENCE = re.compile(r"^https://[A-Za-z0-9.-]+\.salesforce\.com/?$")


def _host_url(request: Request) -> str:
    """The scheme://host:port the client reached, so URLs we hand out point back at us."""
    host = request.headers.get("host") or request.url.netloc
    return f"{request.url.scheme}://{host}"


# --- SOAP partner login (§A1.1) -----------------------------------------------------


def _soap_fault(code: str, message: str) -> Response:
    """A SOAP fault as Salesforce sends it: HTTP 500, `sf:`-prefixed exception elements."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=500, media_type="text/xml; charset=utf-8")


def _soap_success(base: str, version: str, session_id: str) -> Response:
    """The partner loginResponse; `sessionId`/`serverUrl` unprefixed (default namespace)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns="{_PARTNER_NS}"><soapenv:Body><loginResponse><result>'
        f"<metadataServerUrl>{base}/services/Soap/m/{version}/{ORG_ID}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
        f"<serverUrl>{base}/services/Soap/u/{version}/{ORG_ID}</serverUrl>"
        f"<sessionId>{session_id}</sessionId><userId>{USER_ID}</userId>"
        f"<userInfo><organizationId>{ORG_ID}</organizationId><userId>{USER_ID}</userId></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=200, media_type="text/xml; charset=utf-8")


def _soap_credentials(body: bytes) -> tuple[str, str] | None:
    """(username, password) from a partner `login` envelope, whatever the prefixes."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    login = next((el for el in root.iter() if el.tag.endswith("}login") or el.tag == "login"), None)
    if login is None:
        return None
    values = {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in login}
    return values.get("username", ""), values.get("password", "")


def _password_ok(org: SalesforceOrg, username: str, password: str) -> bool:
    """Password plus security token; the bare password too, as for a trusted IP range (loopback)."""
    c = org.credentials
    return username == c.username and password in (c.password + c.security_token, c.password)


async def soap_login(org: SalesforceOrg, request: Request) -> Response:
    """`POST /services/Soap/u/{version}`: the SOAP partner `login` call."""
    creds = _soap_credentials(await request.body())
    if creds is None:
        return _soap_fault(
            "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
        )
    if not _password_ok(org, *creds):
        return _soap_fault(
            "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
        )
    version = request.path_params.get("version", API_VERSION)
    return _soap_success(_host_url(request), version, org.new_session())


# --- OAuth 2.0 token endpoint (§A1.2, §A1.3) ------------------------------------------


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _token_response(org: SalesforceOrg, request: Request, **extra: Any) -> Response:
    body = {
        "access_token": org.new_session(),
        "instance_url": _host_url(request),
        "id": f"https://login.salesforce.com/id/{ORG_ID}/{USER_ID}",
        "token_type": "Bearer",
        "issued_at": str(int(time.time() * 1000)),
        **extra,
    }
    return JSONResponse(body)


def _basic_client(request: Request) -> tuple[str, str] | None:
    """(client_id, client_secret) from an `Authorization: Basic` header, if any."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(auth[6:]).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    ck, _, cs = decoded.partition(":")
    return ck, cs


def _client_ok(org: SalesforceOrg, client_id: str | None, client_secret: str | None) -> bool:
    c = org.credentials
    return client_id == c.consumer_key and client_secret == c.consumer_secret


def _password_grant(org: SalesforceOrg, request: Request, form: dict[str, str]) -> Response:
    if not _client_ok(org, form.get("client_id"), form.get("client_secret")):
        return _oauth_error("invalid_client", "invalid client credentials")
    if not _password_ok(org, form.get("username", ""), form.get("password", "")):
        return _oauth_error("invalid_grant", "authentication failure")
    return _token_response(org, request, signature=base64.b64encode(b"sandbox").decode())


def _client_credentials_grant(
    org: SalesforceOrg, request: Request, form: dict[str, str]
) -> Response:
    ck, cs = _basic_client(request) or (form.get("client_id"), form.get("client_secret"))
    if not ck:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    if not _client_ok(org, ck, cs):
        return _oauth_error("invalid_client", "invalid client credentials")
    return _token_response(
        org, request, scope="api", signature=base64.b64encode(b"sandbox").decode()
    )


def _verify_assertion(org: SalesforceOrg, assertion: str) -> str | None:
    """None when the JWT-bearer assertion is acceptable, else the error_description."""
    try:
        header = jwt.get_unverified_header(assertion)
        key = org.credentials.jwt_public_key_pem
        claims = jwt.decode(
            assertion,
            key=key or "",
            algorithms=["RS256"],
            options={"verify_signature": key is not None, "verify_exp": False, "verify_aud": False},
        )
    except jwt.InvalidTokenError:
        return "invalid assertion"
    if header.get("alg") != "RS256":
        return "invalid assertion"
    c = org.credentials
    if claims.get("iss") != c.consumer_key:
        return "invalid client credentials"
    if claims.get("sub") != c.username:
        return "user hasn't approved this consumer"
    if not _AUDIENCE.match(str(claims.get("aud", ""))):
        return "audience is invalid"
    try:
        # simple-salesforce sends `exp` as a string of epoch seconds (§A1.3).
        if float(claims.get("exp", 0)) < time.time():
            return "expired authorization code"
    except (TypeError, ValueError):
        return "invalid assertion"
    return None


def _jwt_grant(org: SalesforceOrg, request: Request, form: dict[str, str]) -> Response:
    problem = _verify_assertion(org, form.get("assertion", ""))
    if problem:
        return _oauth_error("invalid_grant", problem)
    return _token_response(org, request, scope="web openid api id")


async def oauth_token(org: SalesforceOrg, request: Request) -> Response:
    """`POST /services/oauth2/token`: password, client_credentials and JWT-bearer grants."""
    # Parsed by hand: Starlette's request.form() needs python-multipart, not a dependency.
    form = dict(
        parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    )
    grant = form.get("grant_type", "")
    if grant == "password":
        return _password_grant(org, request, form)
    if grant == "client_credentials":
        return _client_credentials_grant(org, request, form)
    if grant == _JWT_GRANT:
        return _jwt_grant(org, request, form)
    return _oauth_error("unsupported_grant_type", "grant type not supported")


def routes(org: SalesforceOrg) -> list[BaseRoute]:
    """The login routes (no session needed)."""

    async def soap(request: Request) -> Response:
        return await soap_login(org, request)

    async def token(request: Request) -> Response:
        return await oauth_token(org, request)

    return [
        Route("/services/Soap/u/{version}", soap, methods=["POST"]),
        Route("/services/Soap/u/{version}/", soap, methods=["POST"]),
        Route("/services/oauth2/token", token, methods=["POST"]),
        Route("/services/oauth2/token/", token, methods=["POST"]),
    ]
