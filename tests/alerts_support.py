"""Helpers shared by the alert tests: scored mentions, a local webhook receiver, an alert store."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from common.schema import Mention, MentionIn, ScoredMention, SentimentResult


def scored(
    text: str = "The technologist was rude and my results were lost.",
    *,
    tenant: str = "northside-imaging",
    label: str = "negative",
    negative: float = 0.95,
    stars: float | None = 1.4,
    rating: float | None = 1,
    topics: list[str] | None = None,
    aspects: dict[str, float] | None = None,
    source: str = "google",
    location: str | None = "downtown",
    provider: str | None = None,
    competitor: str | None = None,
    external_id: str | None = None,
) -> ScoredMention:
    mention = Mention.from_submission(
        MentionIn(
            source=source,
            external_id=external_id or uuid.uuid4().hex,
            text=text,
            rating=rating,
            location=location,
            provider=provider,
            competitor=competitor,
            author="Jane Patient",
            url="https://maps.example.com/review/1",
        ),
        tenant=tenant,
    )
    rest = (1 - negative) / 2
    sentiment = SentimentResult(
        label=label,  # type: ignore[arg-type]
        probabilities={"negative": negative, "neutral": rest, "positive": rest},
        stars=stars,
        aspects=aspects or {"staff": 1.5, "punctuality": 3.0, "helpfulness": 2.0, "knowledge": 3.5},
        topics=topics or [],
        model="test",
        model_version="1",
    )
    return ScoredMention(**mention.model_dump(), sentiment=sentiment, scored_at=datetime.now(UTC))


class Receiver:
    """A threaded local HTTP server that records each POST and answers ``status()``."""

    def __init__(self, status: Callable[[], int] = lambda: 200, delay_s: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = status
        self.delay_s = delay_s
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if outer.delay_s:
                    threading.Event().wait(outer.delay_s)
                code = outer.status()
                with outer.lock:
                    outer.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body, "status": code}
                    )
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def ok(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["status"] < 300]

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.ok()]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
