"""The marketing dashboard: a static single-page app served by the search service at ``GET /``.

A few static files (``static/index.html``, ``app.js``, ``charts.js``, ``app.css``) and the chart
library vendored from npm into ``static/vendor/`` by ``bin/vendor-js``; nothing is fetched from
elsewhere.  The page calls the search API of the same origin with the API key that the user
pastes in (kept in ``sessionStorage`` only).  Every response carries a strict Content-Security-
Policy: scripts and styles only from this origin, no inline code, no framing.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

STATIC_DIR = Path(__file__).resolve().parent / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Revalidate every time (cheap: ETag/Last-Modified) so a deployment is picked up at once.
    "Cache-Control": "no-cache",
}

# Only these files are served; anything else under /dashboard/ is a 404.
ASSETS = {
    "app.js": "text/javascript",
    "charts.js": "text/javascript",
    "app.css": "text/css",
    "vendor/chart.umd.min.js": "text/javascript",
    "vendor/chart.js.LICENSE.md": "text/markdown",
}

blueprint = Blueprint("dashboard", __name__)


@blueprint.after_request
def _security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


@blueprint.get("/")
@blueprint.get("/dashboard")
@blueprint.get("/dashboard/")
def page() -> Response:
    return send_from_directory(STATIC_DIR, "index.html", mimetype="text/html")


@blueprint.get("/dashboard/<path:name>")
def asset(name: str) -> Response:
    mimetype = ASSETS.get(name)
    if mimetype is None:
        abort(404)
    return send_from_directory(STATIC_DIR, name, mimetype=mimetype)
