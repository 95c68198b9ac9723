"""Jinja2 templates of the console, with the helpers every page uses (CSRF, numbers)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from sync.ui.security import csrf_token, set_csrf_cookie
from value_engine.explain import money

HERE = Path(__file__).parent
PAGE_SIZE = 50
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))


def _num(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.0f}%"


TEMPLATES.env.filters["num"] = _num
TEMPLATES.env.filters["pct"] = _pct
TEMPLATES.env.filters["slot"] = lambda key: "err-" + "".join(c if c.isalnum() else "-" for c in key)
TEMPLATES.env.filters["money"] = lambda v, cur="EUR": "–" if v is None else money(float(v), cur)


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """A page or fragment; the CSRF token is in every page (and set as cookie when new)."""
    context.setdefault("csrf", csrf_token(request))
    context.setdefault("nav", getattr(request.app.state, "nav", []))
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
    set_csrf_cookie(request, response)
    return response


def page_of(request: Request) -> int:
    """The 1-based page number of a paginated table (?page=N; anything else: 1)."""
    raw = request.query_params.get("page", "1")
    return max(1, int(raw)) if raw.isdigit() else 1


def window(total: int, page: int, size: int = PAGE_SIZE) -> dict[str, int]:
    """Offsets and page count of one page of `total` rows."""
    pages = max(1, math.ceil(total / size))
    page = min(page, pages)
    return {
        "page": page,
        "pages": pages,
        "start": (page - 1) * size,
        "stop": page * size,
        "total": total,
    }


def shown_path(path: Path, project_file: Path) -> str:
    """A file as the page names it: relative to the project's folder when inside it."""
    try:
        return str(path.resolve().relative_to(project_file.resolve().parent))
    except ValueError:
        return str(path)
