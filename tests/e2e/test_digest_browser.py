"""The digest e-mail as received over SMTP, rendered by headless Chromium: the HTML part
shows every mover and the shares table, fetches nothing, and the attached matrix PNG is a
real picture. With VALUESYNC_DOCS_IMG=1 the screenshot is kept as docs/img/digest-email.png.
"""

from __future__ import annotations

import html
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from report_helpers import CHROMIUM, SKIP_REASON, render

from sync.alerts.digest import send_digest
from tests.integration.alerts.conftest import (  # noqa: F401 (fixtures)
    Receiver,
    Smtp,
    alert_site,
    receiver,
    smtp,
)
from tests.integration.pipeline.conftest import Site, edit, make_site, out_field  # noqa: F401

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img" / "digest-email.png"


def test_digest_email_renders_in_a_browser(
    alert_site: Callable[..., Site],  # noqa: F811
    smtp: Smtp,  # noqa: F811
    tmp_path: Path,
) -> None:
    site = alert_site("salesforce", [], accounts=300, digest={"channels": ["mail"]})
    first = site.run()
    state = site.state()
    try:
        scores = state.scores(int(first.run_id), "accounts")
    finally:
        state.close()
    by_q = scores.groupby(scores["quadrant"].astype(str))["account_id"].apply(
        lambda s: sorted(s.astype(str))
    )
    override = out_field(site, "accounts", "quadrant_override")
    moves = [
        (by_q["Core"][0], "Fix or Reprice"),
        (by_q["Core"][1], "Deprioritize"),
        (by_q["Develop"][0], "Core"),
        (by_q["Fix or Reprice"][0], "Core"),
    ]
    for account, target in moves:
        edit(site, "accounts", account, {override: target})
    site.run()
    assert send_digest(site.project(), env=site.env).event_id is not None

    (mail,) = smtp.box.messages
    parts = {p.get_content_type(): p for p in mail.walk() if not p.is_multipart()}
    png = tmp_path / parts["image/png"].get_filename()
    png.write_bytes(parts["image/png"].get_content())
    body = parts["text/html"].get_content()
    # the mail as a client shows it: headers, the HTML part, the attachment below
    page = tmp_path / "mail.html"
    head = "".join(
        f"<div><b>{k}:</b> {html.escape(str(mail[k]))}</div>" for k in ("From", "To", "Subject")
    )
    page.write_text(
        body.replace(
            '<body style="margin:0;background:#f4f6f8">',
            '<body style="margin:0;background:#f4f6f8"><div style="font-family:'
            'sans-serif;font-size:13px;padding:8px 16px;background:#e4e7eb">'
            f"{head}</div>",
            1,
        ).replace(
            "</body>",
            f"<div style='padding:0 16px 16px'><p style='font-family:sans-serif;"
            f"font-size:12px'>Attachment: {png.name}</p><img src='{png.name}' "
            "style='width:720px;border:1px solid #cbd2d9'></div></body>",
        ),
        encoding="utf-8",
    )
    shown = render(page, tmp_path)
    names = [site.records("accounts")[a]["Name"] for a, _ in moves]
    for name in names:
        assert html.escape(name) in shown.dom or name in shown.dom
    assert "Revenue vs value per quadrant" in shown.dom
    assert shown.page_requests == []
    image = Image.open(shown.screenshot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50
    assert Image.open(png).size[0] > 200
    if os.environ.get("VALUESYNC_DOCS_IMG") == "1":
        DOCS_IMG.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shown.screenshot, DOCS_IMG)
