"""Run the sandbox CRM on loopback: one Starlette app, served by uvicorn in a thread.

Salesforce paths (`/services/...`) and HubSpot paths (`/crm/...`) do not overlap, so one
host:port serves both. With `tls=True` a throw-away CA from trustme signs a certificate
for 127.0.0.1 and `ca_path` points clients at it.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from connectors.sandbox.answers import AnswerMiddleware
from connectors.sandbox.faults import FaultController, FaultMiddleware, FaultProfile
from connectors.sandbox.hubspot.portal import HubSpotPortal
from connectors.sandbox.salesforce.org import Credentials, SalesforceOrg
from connectors.sandbox.store import Store

log = logging.getLogger(__name__)

Crm = Literal["salesforce", "hubspot", "both"]


class SandboxServer:
    """A sandbox CRM on 127.0.0.1; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *,
        sf_store: Store | None = None,
        hs_store: Store | None = None,
        profile: FaultProfile | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        credentials: Credentials | None = None,
        hubspot_token: str = "pat-sandbox-0000",
    ) -> None:
        from connectors.sandbox.hubspot.schema import new_portal_store
        from connectors.sandbox.salesforce.schema import new_org_store

        self.faults = FaultController(profile or FaultProfile())
        self.sf = SalesforceOrg(
            store=sf_store or new_org_store(),
            faults=self.faults,
            credentials=credentials or Credentials(),
        )
        self.hs = HubSpotPortal(
            store=hs_store or new_portal_store(), faults=self.faults, token=hubspot_token
        )
        self.host = host
        self.port = port
        self.tls = tls
        self.ca_path: Path | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def app(self) -> Starlette:
        from connectors.sandbox.hubspot.app import routes as hs_routes
        from connectors.sandbox.salesforce.app import routes as sf_routes

        routes: list[BaseRoute] = [*sf_routes(self.sf), *hs_routes(self.hs)]
        app = Starlette(routes=routes)
        app.router.redirect_slashes = False
        answers = AnswerMiddleware(app, self.faults)
        return ClockDate(FaultMiddleware(answers, self.faults), self)  # type: ignore[return-value]

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Bind, start serving in a daemon thread, and return once requests are accepted."""
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the
        # listening socket says TCP, and without it Nagle + delayed ACK add ~40 ms to every
        # keep-alive request (headers and body are written separately).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.sf.base_url = self.hs.base_url = self.url
        config = uvicorn.Config(
            self.app(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
            date_header=False,  # ClockDate sends the CRM clock's time instead
            ssl_certfile=self._tls_file() if self.tls else None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="sandbox-crm", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox CRM did not start on {self.url}")
            time.sleep(0.01)
        log.info("sandbox CRM serving on %s", self.url)
        return self

    def _tls_file(self) -> str:
        """A CA (kept at `ca_path` for clients) and the server's key + certificate chain."""
        import trustme

        self._tmp = tempfile.TemporaryDirectory(prefix="valuesync-sandbox-tls-")
        ca = trustme.CA()
        cert = ca.issue_cert(self.host, "localhost")
        d = Path(self._tmp.name)
        self.ca_path = d / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        cert.private_key_and_cert_chain_pem.write_to_path(str(d / "server.pem"))
        return str(d / "server.pem")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ClockDate:
    """ASGI middleware: every response's `Date` header is the time on the clock the CRM
    stamps records with (a test may shift the sandbox's clock), as on a real server whose
    Date and SystemModstamp come from one clock. Clients use it as the server's time."""

    def __init__(self, app: Any, server: SandboxServer) -> None:
        self.app, self.server = app, server

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        store = self.server.sf.store if scope["path"].startswith("/services") else None
        offset = store.clock.offset if store is not None else None

        async def dated(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                now = datetime.now(UTC) + offset if offset is not None else datetime.now(UTC)
                header = (b"date", format_datetime(now, usegmt=True).encode())
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.app(scope, receive, dated)
