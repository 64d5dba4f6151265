"""The marketing dashboard: served with a strict CSP, self-contained, and calling only real API paths."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from services.search.dashboard import STATIC_DIR

REQUIRED_CSP = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
]


def assert_security_headers(response) -> None:  # type: ignore[no-untyped-def]
    csp = response.headers.get("Content-Security-Policy", "")
    directives = [d.strip() for d in csp.split(";")]
    for directive in REQUIRED_CSP:
        assert directive in directives, directive
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "no-referrer"


class _Refs(HTMLParser):
    """Every URL the page refers to, plus anything a strict CSP would block (inline code, styles)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "action", "formaction", "poster", "data"):
            if values.get(name) is not None:
                self.urls.append(values[name] or "")
        if "style" in values:
            self.inline.append(f"style attribute on <{tag}>")
        if any(name.startswith("on") for name in values):
            self.inline.append(f"event handler attribute on <{tag}>")
        if tag == "style":
            self.inline.append("<style> element")
        if tag == "script":
            self._in_script = "src" not in values
            vendored = (values.get("src") or "").startswith("/dashboard/vendor/")
            if values.get("type") != "module" and not vendored:
                self.inline.append("a classic (non-module) script")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("inline script")


@pytest.mark.parametrize("path", ["/", "/dashboard"])
def test_page_is_served_with_a_strict_csp(search_client, path: str) -> None:  # type: ignore[no-untyped-def]
    response = search_client.get(path)  # no API key: the page itself is public, the data is not
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert_security_headers(response)
    assert b'<script type="module" src="/dashboard/app.js">' in response.data


@pytest.mark.parametrize(
    ("name", "mimetype"),
    [
        ("app.js", "text/javascript"),
        ("charts.js", "text/javascript"),
        ("app.css", "text/css"),
        ("vendor/chart.umd.min.js", "text/javascript"),
    ],
)
def test_assets_are_served_with_their_content_types(search_client, name: str, mimetype: str) -> None:  # type: ignore[no-untyped-def]
    response = search_client.get(f"/dashboard/{name}")
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.data == (STATIC_DIR / name).read_bytes()
    assert_security_headers(response)


def test_only_the_dashboard_files_are_served(search_client) -> None:  # type: ignore[no-untyped-def]
    others = [
        "/dashboard/__init__.py",
        "/dashboard/static/app.js",
        "/dashboard/..%2f__init__.py",
        "/dashboard/x.js",
        "/dashboard/vendor/manifest.json",
        "/dashboard/vendor/../app.js",
    ]
    for path in others:
        assert search_client.get(path).status_code == 404, path


def test_html_references_only_local_assets_and_nothing_inline(search_client) -> None:  # type: ignore[no-untyped-def]
    parser = _Refs()
    parser.feed(search_client.get("/").get_data(as_text=True))
    assert parser.inline == []
    assert parser.urls, "the page should at least load its script and stylesheet"
    for url in parser.urls:
        if url.startswith("#") or url.startswith("data:"):
            continue
        assert url.startswith("/") and not url.startswith("//"), f"not a local asset: {url}"
        assert search_client.get(url).status_code == 200, url


def test_the_chart_library_is_the_pinned_npm_release(search_client) -> None:  # type: ignore[no-untyped-def]
    """static/vendor/ is what bin/vendor-js built from the pinned package, byte for byte."""
    frontend = STATIC_DIR.parent / "frontend"
    pinned = json.loads((frontend / "package.json").read_text())["dependencies"]["chart.js"]
    locked = json.loads((frontend / "package-lock.json").read_text())["packages"]["node_modules/chart.js"]
    manifest = json.loads((STATIC_DIR / "vendor" / "manifest.json").read_text())["chart.umd.min.js"]
    library = (STATIC_DIR / "vendor" / "chart.umd.min.js").read_bytes()
    assert pinned == locked["version"] == manifest["version"]
    assert manifest["integrity"] == locked["integrity"]
    assert hashlib.sha256(library).hexdigest() == manifest["sha256"]
    assert f"Chart.js v{pinned}".encode() in library[:200]
    assert (STATIC_DIR / "vendor" / "chart.js.LICENSE.md").read_text().startswith("The MIT License")


POSTED = {"/v1/replies/check"}  # the paths app.js posts to; everything else it reads


def test_script_calls_only_api_paths_the_app_serves(search_client) -> None:  # type: ignore[no-untyped-def]
    script = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    paths = set(re.findall(r"""["'`](/v1/[^"'`?\s]*)["'`]""", script))
    assert {"/v1/mentions", "/v1/mentions/export.csv", "/v1/stats", "/v1/reputation"} <= paths
    adapter = search_client.application.url_map.bind("localhost")
    for path in paths:
        method = "POST" if path in POSTED else "GET"
        try:
            endpoint, _ = adapter.match(path, method=method)
        except (NotFound, MethodNotAllowed):
            pytest.fail(f"app.js calls {method} {path}, which the search service does not serve")
        assert not endpoint.startswith("dashboard."), path


def test_script_keeps_data_out_of_logs_storage_and_html(search_client) -> None:  # type: ignore[no-untyped-def]
    script = search_client.get("/dashboard/app.js").get_data(as_text=True)
    script += search_client.get("/dashboard/charts.js").get_data(as_text=True)
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("//"))
    for forbidden in [
        "console.",
        "localStorage",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ]:
        assert forbidden not in code, forbidden
    assert "sessionStorage" in script
    assert 'rel: "noopener noreferrer"' in script


def test_content_types_name_their_charset_once(search_client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/", "/dashboard/app.js", "/dashboard/app.css"):
        content_type = search_client.get(path).headers["Content-Type"]
        assert content_type.count("charset=utf-8") == 1, content_type
