"""The security headers of every response, no server version in any, pages in Slovenian and
as wide as the screen.

One Tornado output transform for the whole server, so that the pages, the sign-in forms, the
static files, ``/health`` and the errors all carry the same policy: scripts, styles, images and
connections from our own origin only (plus a configured basemap's host for its tiles), never
framed by another site, no content-type sniffing, no referrer to other sites, and HSTS behind
TLS.

Bokeh and Panel write their pages' bootstrapping as inline scripts, build some callbacks with
``new Function`` and load some of their own modules as ``blob:`` URLs made in the page, so
scripts allow ``'unsafe-inline'``, ``'unsafe-eval'`` and ``blob:`` — but from no other origin,
which is what keeps injected markup from loading anything from elsewhere.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

import tornado.httputil
import tornado.web

from layers.settings import Settings

HSTS_SECONDS = 365 * 24 * 3600


def content_security_policy(basemap_url: str | None) -> str:
    """The policy: our origin only, and the basemap's host for images when one is configured."""
    images = ["'self'", "data:", "blob:"]
    if basemap_url:
        parts = urlsplit(basemap_url.replace("{", "").replace("}", ""))
        images.append(f"{parts.scheme}://{parts.netloc}")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
            "worker-src 'self' blob:",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {' '.join(images)}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "object-src 'none'",
        ]
    )


def security_headers(settings: Settings) -> dict[str, str]:
    """Every header a response of this server carries."""
    headers = {
        "Content-Security-Policy": content_security_policy(settings.basemap_url),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    if settings.tls:
        headers["Strict-Transport-Security"] = f"max-age={HSTS_SECONDS}; includeSubDomains"
    return headers


class SecurityHeaders(tornado.web.OutputTransform):
    """Sets ``headers`` on a response and takes the server's name and version off it."""

    headers: ClassVar[dict[str, str]] = {}

    def transform_first_chunk(
        self,
        status_code: int,
        headers: tornado.httputil.HTTPHeaders,
        chunk: bytes,
        finishing: bool,
    ) -> tuple[int, tornado.httputil.HTTPHeaders, bytes]:
        """The response's first chunk, its headers changed."""
        headers.pop("Server", None)
        for name, value in self.headers.items():
            headers[name] = value
        return status_code, headers, page_for_everyone(headers, chunk)


VIEWPORT = b'<meta name="viewport" content="width=device-width, initial-scale=1">'


def page_for_everyone(headers: tornado.httputil.HTTPHeaders, chunk: bytes) -> bytes:
    """A page of ours in the language it is written in first, as wide as the screen: Panel's
    page template declares ``lang="en"`` whatever the page says (screen readers and hyphenation
    go by it), and no viewport, so a phone drew a 980-pixel desktop page in 5-pixel text."""
    if not headers.get("Content-Type", "").startswith("text/html"):
        return chunk
    changed = chunk.replace(b'<html lang="en"', b'<html lang="sl"', 1)
    if b'name="viewport"' not in changed:
        changed = changed.replace(
            b'<meta charset="utf-8">', b'<meta charset="utf-8">' + VIEWPORT, 1
        )
    if "Content-Length" in headers:
        headers["Content-Length"] = str(len(changed))
    return changed


def header_transform(settings: Settings) -> type[SecurityHeaders]:
    """The transform for a server with ``settings`` (Tornado makes one per request)."""
    return type("BoundSecurityHeaders", (SecurityHeaders,), {"headers": security_headers(settings)})
