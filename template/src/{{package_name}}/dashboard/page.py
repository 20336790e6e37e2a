"""The dashboard page: one self-contained HTML file and the Content-Security-Policy that keeps
it so (no CDN, font or image from elsewhere; figures come from `/dashboard/data`)."""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import re
from importlib import resources

SERVICE_PLACEHOLDER = "__SERVICE_NAME__"
_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@functools.cache
def render_page(service: str) -> tuple[str, str]:
    """The page with the service name filled in, and its Content-Security-Policy.

    The policy lets the browser load nothing but this page's own inline script (pinned by its
    hash), its inline styles and `/dashboard/data`: no CDN, font or image can sneak in.
    """
    page = resources.files(__package__ or __name__).joinpath("page.html")
    text = page.read_text(encoding="utf-8").replace(SERVICE_PLACEHOLDER, html.escape(service))
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _SCRIPT.findall(text)
    )
    policy = (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return text, policy
