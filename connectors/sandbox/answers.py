"""Answers a real CRM API sometimes gives, made on demand: the sandbox rewrites a route's
response on its way out, and checks requests against HubSpot's published spec.

Queue a kind with `FaultController.inject(kind, times, path)`; the next matching request
is answered by its route as usual and then rewritten:

| kind            | the answer becomes                                                    |
|-----------------|-----------------------------------------------------------------------|
| empty_200       | 200 with an empty body                                                |
| non_json_200    | 200 with an HTML body (a proxy's error page)                          |
| no_locator      | the same, without the `Sforce-Locator` header (Bulk 2.0 results)      |
| bad_locator     | `Sforce-Locator` holds a value no locator has                         |
| no_record_count | the same, without `Sforce-NumberOfRecords`                            |
| fewer_results   | a write answer missing its last result                                |
| more_results    | a write answer with one result more, for an id never sent             |
| other_ids       | a write answer whose results name other ids                           |

With `FaultProfile.hs_strict_spec`, a HubSpot request whose boolean query parameter is
not `true` / `false` is refused with 400 VALIDATION_ERROR, as the spec's schema says.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from connectors.sandbox.faults import FaultController

REWRITES: tuple[str, ...] = (
    "empty_200", "non_json_200", "no_locator", "bad_locator", "no_record_count",
    "fewer_results", "more_results", "other_ids",
)  # fmt: skip
BOOLEAN_PARAMS = ("archived",)
STRANGER = "001000000000000AAA"


class AnswerMiddleware:
    """ASGI middleware: spec checks on requests, queued rewrites of answers."""

    def __init__(self, app: Any, controller: FaultController) -> None:
        self.app, self.controller = app, controller

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if self.controller.profile.hs_strict_spec and path.startswith("/crm/"):
            bad = _non_spec_booleans(scope.get("query_string", b"").decode("latin-1"))
            if bad:
                await _send_json(send, 400, _validation_error(bad))
                return
        kind = self.controller.next_fault(path, REWRITES, use_rates=False)
        if kind is None:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def held(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            status, headers, body = rewrite(
                kind, int(start["status"]), list(start.get("headers", [])), b"".join(chunks)
            )
            headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, held)


def rewrite(
    kind: str, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The answer `kind` makes of (status, headers, body)."""
    if kind == "empty_200":
        return 200, headers, b""
    if kind == "non_json_200":
        kept = [(k, v) for k, v in headers if k.lower() != b"content-type"]
        return 200, [*kept, (b"content-type", b"text/html")], b"<html>Bad gateway</html>"
    if kind in ("no_locator", "no_record_count"):
        name = b"sforce-locator" if kind == "no_locator" else b"sforce-numberofrecords"
        return status, [(k, v) for k, v in headers if k.lower() != name], body
    if kind == "bad_locator":
        kept = [(k, v) for k, v in headers if k.lower() != b"sforce-locator"]
        return status, [*kept, (b"sforce-locator", b"%%not a locator%%")], body
    return status, headers, _rewrite_results(kind, body)


def _rewrite_results(kind: str, body: bytes) -> bytes:
    """A write answer (Salesforce: a JSON list of SaveResults; HubSpot: `results`)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    results = data if isinstance(data, list) else data.get("results")
    if not isinstance(results, list) or not results:
        return body
    if kind == "fewer_results":
        results.pop()
    elif kind == "more_results":
        results.append({**results[-1], "id": STRANGER if isinstance(data, list) else "999999"})
    elif kind == "other_ids":
        for i, item in enumerate(results):
            if isinstance(item, dict) and item.get("id"):
                item["id"] = f"{STRANGER[:-4]}{i:04d}" if isinstance(data, list) else f"9{i:06d}"
    return json.dumps(data).encode()


def _non_spec_booleans(query: str) -> list[str]:
    return [
        f"{k}={v}"
        for k, v in parse_qsl(query)
        if k in BOOLEAN_PARAMS and v not in ("true", "false")
    ]


def _validation_error(bad: list[str]) -> dict[str, Any]:
    return {
        "status": "error",
        "message": f"Invalid input: {', '.join(bad)} is not a boolean (true or false)",
        "correlationId": "00000000-0000-4000-8000-000000000400",
        "category": "VALIDATION_ERROR",
    }


async def _send_json(send: Any, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
