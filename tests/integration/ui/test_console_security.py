"""Who may use the console: loopback by default, a token for anything else, a login cookie
that is not the token, CSRF on writes, and no secret on any page."""

from __future__ import annotations

import pytest

from mappings.errors import ConfigError
from sync.ui.security import check_bind, is_loopback, login_cookie
from tests.integration.ui.conftest import text_of


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.2.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.20", False),
        ("::", False),
        ("example.org", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_non_loopback_address_needs_a_token() -> None:
    with pytest.raises(ConfigError, match="--token-env NAME"):
        check_bind("0.0.0.0", None, {})
    with pytest.raises(ConfigError, match="UI_TOKEN is not set"):
        check_bind("0.0.0.0", "UI_TOKEN", {})
    assert check_bind("0.0.0.0", "UI_TOKEN", {"UI_TOKEN": "s3cret-token"}) == "s3cret-token"
    assert check_bind("127.0.0.1", None, {}) is None


def test_with_a_token_every_page_needs_the_login(ui_site, make_client) -> None:
    token = "console-token-1234567890"
    client = make_client(ui_site(), token=token)
    first = client.get("/connections", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/login"
    assert client.post("/connections/sb/plan").status_code == 401
    assert client.get("/static/htmx.min.js").status_code == 200
    wrong = client.post("/login", data={"token": "guess"})
    assert wrong.status_code == 401 and "wrong access token" in wrong.text
    assert "vs_auth" not in client.cookies
    ok = client.post("/login", data={"token": token}, follow_redirects=False)
    assert ok.status_code == 303
    cookie = client.cookies["vs_auth"]
    assert cookie == login_cookie(token) and token not in cookie
    assert client.get("/connections").status_code == 200
    client.cookies.set("vs_auth", "forged")
    assert client.get("/connections", follow_redirects=False).status_code == 303


def test_no_page_shows_a_secret(ui_site, make_client) -> None:
    site = ui_site()
    site.run()
    client = make_client(site)
    secrets = [v for v in site.env.values() if len(v) >= 6]
    assert secrets
    for path in (
        "/connections",
        "/connections/sb",
        "/mapping/sb",
        "/model/sb",
        "/runs/sb",
        "/explain/sb?q=alpha",
        "/runs/sb/1",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        for secret in secrets:
            assert secret not in page.text, path


def test_a_missing_secret_is_a_message_not_a_traceback(ui_site, make_client) -> None:
    site = ui_site()
    site.env.pop("SALESFORCE_PASSWORD")
    client = make_client(site)
    page = client.get("/mapping/sb")
    assert page.status_code == 400
    text = text_of(page.text)
    assert "SALESFORCE_PASSWORD" in text and "Traceback" not in text
