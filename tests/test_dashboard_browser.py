"""The dashboard in a real browser: Debian's headless Chromium, driven by Playwright.

The search service runs on a loopback port against the real Elasticsearch, with mentions
written through the store (known sentiments, dates inside the dashboard's 30-day period), so
what the charts draw can be compared with what was indexed.  The page's API calls are real.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from common.schema import Mention, MentionIn, ScoredMention, SentimentResult
from services.search.app import create_app

TENANT = "browser-" + uuid.uuid4().hex[:8]
MARKETER = "browser-marketer-" + uuid.uuid4().hex
VIEWER = "browser-viewer-" + uuid.uuid4().hex

NOW = datetime.now(UTC).replace(microsecond=0)
XSS_TEXT = 'Loved it <script>window.__pwned = 1</script> and <img src=x onerror="window.__pwned = 2"> too'

# (external id, label, rating, days ago, competitor, text)
DOCS: list[tuple[str, str, float, int, str | None, str]] = [
    ("n1", "negative", 1, 1, None, "The MRI appointment started two hours late and nobody told us why."),
    ("n2", "negative", 2, 3, None, "Billing charged my insurance twice for one ultrasound."),
    ("u1", "neutral", 3, 4, None, "Parking was hard to find but the CT scan itself was quick."),
    ("p1", "positive", 5, 2, None, "The technologist explained every step of the mammogram, very gentle and kind."),
    ("p2", "positive", 5, 5, None, "Front desk staff were welcoming and the radiologist called with results same day."),
    ("p3", "positive", 4, 9, None, XSS_TEXT),
    ("c1", "negative", 1, 2, "lakeside-imaging", "Lakeside lost my images and I had to repeat the scan."),
    ("c2", "positive", 5, 6, "lakeside-imaging", "Lakeside was fine, friendly and quick."),
]
OWN = [d for d in DOCS if d[4] is None]


def scored(external_id: str, label: str, rating: float, days_ago: int, competitor: str | None, text: str):
    published = NOW - timedelta(days=days_ago, hours=2)
    submitted = MentionIn(
        source="google",
        location="downtown",
        competitor=competitor,
        external_id=f"{TENANT}-{external_id}",
        url="https://maps.google.com/?cid=1",
        author="A patient",
        text=text,
        rating=rating,
        published_at=published,
    )
    mention = Mention.from_submission(submitted, tenant=TENANT, now=published + timedelta(minutes=5))
    probabilities = {"negative": 0.04, "neutral": 0.04, "positive": 0.04}
    probabilities[label] = 0.92
    return ScoredMention(
        **mention.model_dump(),
        sentiment=SentimentResult(
            label=label,  # type: ignore[arg-type]
            probabilities=probabilities,  # type: ignore[arg-type]
            stars=rating,
            topics=[],
            model="fixture",
            model_version="0",
        ),
        scored_at=published,
    )


def chromium_path() -> str:
    path = os.environ.get("RADAR_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium is missing: bin/setup --test installs Debian's chromium package (or set RADAR_CHROMIUM)")
    return path


@pytest.fixture(scope="module")
def server(settings, store) -> Iterator[str]:  # type: ignore[no-untyped-def]
    report = store.upsert([scored(*doc) for doc in DOCS])
    assert report.written == len(DOCS) and not report.failed
    store.refresh()
    keys = f"{MARKETER}={TENANT}:marketer,{VIEWER}={TENANT}:viewer"
    app = create_app(settings.model_copy(update={"api_keys": keys}), store=store)
    practice = app.extensions["radar.practice"]
    from services.search.practice.models import Competitor, PracticeProfile

    practice.save(
        PracticeProfile(
            tenant=TENANT,
            display_name="Northside Imaging",
            competitors=[Competitor(id="lakeside-imaging", name="Lakeside Imaging")],
            updated_at=NOW,
        )
    )
    # One rule raised by the newest negative review: an open negative alert.
    from services.alerts.evaluator import build_alert
    from services.alerts.redaction import default_redact
    from tests.test_alerts_store import rule

    alerts = app.extensions["radar.alerts"]
    negative = scored(*DOCS[0])
    alert = build_alert(rule(alerts, TENANT), negative, ["r"], excerpt_chars=80, redact=default_redact)
    assert alerts.create_alert(alert)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            # Offline machine: no background connections to Google's services.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], f"the page threw: {errors}"


def open_dashboard(page: Page, server: str, key: str = MARKETER) -> None:
    page.goto(f"{server}/#key={key}")
    expect(page.locator("#dashboard")).to_be_visible()
    page.wait_for_function("() => !!document.querySelector('#trend-chart canvas') && !!window.Chart")


def chart_data(page: Page, container: str) -> dict[str, Any]:
    data: dict[str, Any] = page.evaluate(
        """(selector) => {
            const chart = Chart.getChart(document.querySelector(selector + ' canvas'));
            const datasets = chart.data.datasets.map((d) => ({label: d.label, data: d.data}));
            return {labels: chart.data.labels, datasets};
        }""",
        container,
    )
    return data


def test_the_page_loads_and_the_trend_chart_draws_the_indexed_data(page: Page, server: str) -> None:
    open_dashboard(page, server)
    expect(page.locator("#kpi-total [data-value]")).to_have_text(str(len(OWN)))
    data = chart_data(page, "#trend-chart")
    series = {d["label"]: d["data"] for d in data["datasets"]}
    for label in ("negative", "neutral", "positive"):
        drawn = sum(series[label.capitalize()])
        assert drawn == sum(1 for d in OWN if d[1] == label), label
    assert len(data["labels"]) >= 30, "one bar per day of the 30-day period"
    rated = [v for v in series["7-day average rating"] if v is not None]
    assert rated and all(1 <= v <= 5 for v in rated)
    # Competitors never count as the practice's own.
    assert sum(sum(series[s]) for s in ("Negative", "Neutral", "Positive", "Not read")) == len(OWN)


def test_open_alerts_are_counted(page: Page, server: str) -> None:
    open_dashboard(page, server)
    expect(page.locator("#kpi-alerts [data-value]")).to_have_text("1")
    expect(page.locator("#kpi-alerts [data-change]")).to_contain_text("No alert answered")


def test_the_competitor_panel_draws_share_of_voice(page: Page, server: str) -> None:
    open_dashboard(page, server)
    page.wait_for_function("() => !!document.querySelector('#share-chart canvas')")
    data = chart_data(page, "#share-chart")
    assert data["labels"] == ["Northside Imaging", "Lakeside Imaging"]
    own_share = round(len(OWN) / len(DOCS) * 100, 1)
    assert data["datasets"][0]["data"] == [own_share, round(100 - own_share, 1)]
    expect(page.locator("#rivals-table tbody tr")).to_have_count(2)


def test_a_search_filters_the_list(page: Page, server: str) -> None:
    open_dashboard(page, server)
    expect(page.locator("#results ol > li")).to_have_count(len(OWN))
    page.fill("#q", "billing")
    page.click("#search-form button[type=submit]")
    expect(page.locator("#results ol > li")).to_have_count(1)
    expect(page.locator("#results")).to_contain_text("charged my insurance twice")
    page.fill("#q", "")
    page.select_option("#f-sentiment", "negative")
    expect(page.locator("#results ol > li")).to_have_count(sum(1 for d in OWN if d[1] == "negative"))


def test_markup_in_a_review_is_shown_as_text(page: Page, server: str) -> None:
    open_dashboard(page, server)
    page.fill("#q", "loved")
    page.click("#search-form button[type=submit]")
    expect(page.locator("#results ol > li")).to_have_count(1)
    card = page.locator("#results ol > li").first
    expect(card).to_contain_text("<script>window.__pwned = 1</script>")
    expect(card).to_contain_text('onerror="window.__pwned = 2"')
    assert card.locator("script, img").count() == 0
    assert page.evaluate("() => window.__pwned") is None


def test_a_marketer_curates_from_the_testimonial_wall(page: Page, server: str) -> None:
    open_dashboard(page, server)
    wall = page.locator("#wall")
    candidate = wall.locator(".wall-card", has_text="technologist explained every step")
    expect(candidate).to_be_visible()
    expect(wall).not_to_contain_text("Lakeside was fine")  # a competitor's review is never a candidate
    candidate.get_by_role("button", name="Approve").click()
    expect(wall.locator(".wall-card", has_text="technologist explained every step")).to_have_count(0)

    page.get_by_role("tab", name="Approved").click()
    approved = wall.locator(".wall-card", has_text="technologist explained every step")
    expect(approved).to_be_visible()
    approved.get_by_role("button", name="Publish").click()
    # No patient authorisation on file: publishing is refused, and the reason is shown.
    expect(approved.locator(".wall-status")).to_contain_text("no patient authorisation is on file")

    page.get_by_role("tab", name="Candidates").click()
    rejectable = wall.locator(".wall-card", has_text="Front desk staff were welcoming")
    rejectable.get_by_label("Reason to reject").select_option("Not specific enough")
    expect(wall.locator(".wall-card", has_text="Front desk staff were welcoming")).to_have_count(0)


def test_a_viewer_key_gets_no_curation_but_stays_signed_in(page: Page, server: str) -> None:
    open_dashboard(page, server, key=VIEWER)
    expect(page.locator("#wall")).to_contain_text("needs a marketer or admin key")
    expect(page.locator("#wall-tabs")).to_be_hidden()
    assert page.locator("#wall button, #wall .wall-card").count() == 0
    expect(page.locator("#results ol > li")).to_have_count(len(OWN))
    expect(page.locator("#dashboard")).to_be_visible()


def test_a_draft_reply_is_checked_before_posting(page: Page, server: str) -> None:
    open_dashboard(page, server)
    card = page.locator("#attention li", has_text="two hours late")
    card.locator("summary", has_text="Draft a reply").click()
    box = card.locator(".reply-box")
    box.locator("textarea").fill("Sorry about your MRI on Tuesday, we checked your chart and the delay was ours.")
    box.get_by_role("button", name="Check before posting").click()
    expect(box.locator(".reply-unsafe")).to_contain_text("Do not post this")
    expect(box.locator(".reply-findings li").first).to_be_visible()
    box.get_by_role("button", name="Use this version").click()
    suggestion = box.locator("textarea").input_value()
    assert "chart" not in suggestion
    box.get_by_role("button", name="Check before posting").click()
    expect(box.locator(".reply-safe")).to_contain_text("You can post it")


def test_a_viewer_gets_no_reply_box(page: Page, server: str) -> None:
    open_dashboard(page, server, key=VIEWER)
    expect(page.locator("#attention li").first).to_be_visible()
    assert page.locator("#attention .reply-box").count() == 0


def test_a_screenshot_of_the_dashboard_is_not_blank(page: Page, server: str, tmp_path: Path) -> None:
    open_dashboard(page, server)
    expect(page.locator("#results ol > li").first).to_be_visible()
    png = page.screenshot(full_page=True)
    (tmp_path / "dashboard.png").write_bytes(png)
    if os.environ.get("RADAR_SCREENSHOT"):  # refresh docs/dashboard.png: RADAR_SCREENSHOT=docs/dashboard.png
        Path(os.environ["RADAR_SCREENSHOT"]).write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000) or []
    assert image.height > 1500, "the whole dashboard, not just a sign-in box"
    assert len(colours) > 200, "a blank or unstyled page has only a handful of colours"
    # The chart area has the sentiment colours in it (drawn on the canvas, not just CSS boxes).
    box = page.locator("#trend-chart canvas").bounding_box()
    assert box is not None
    chart = image.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"])))
    chart_colours = {rgb for _, rgb in chart.getcolors(maxcolors=1_000_000) or []}
    assert (0xC2, 0x56, 0x4B) in chart_colours and (0x3F, 0x8F, 0x5F) in chart_colours
