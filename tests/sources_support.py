"""Shared pieces of the source tests: a local HTTP replay server and readers of the real Kafka.

The replay server is a threaded werkzeug server on 127.0.0.1 that answers each path with a
scripted sequence of responses (the last one repeats) and records every request, so a test can
say "500 then success" or "429 with Retry-After" and check what the client sent.  Payloads are
written by the team in each source's documented format under tests/fixtures/sources/.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from common.bus import Bus
from common.schema import Mention
from common.settings import Settings
from services.ingest.sources.base import SourceContext
from services.ingest.sources.config import SourceConfig, TenantSources
from services.ingest.sources.http import HttpPolicy, SafeHttpClient
from services.ingest.sources.robots import HostGate
from services.ingest.sources.state import SourceStateStore

FIXTURES = Path(__file__).parent / "fixtures" / "sources"

Handler = Callable[[Request], Response]


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_json(name: str) -> Any:
    return json.loads(fixture_text(name))


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def raw_response(
    body: str | bytes, status: int = 200, content_type: str = "text/html; charset=utf-8", **headers: str
) -> Response:
    return Response(
        body, status=status, content_type=content_type, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


@dataclass
class Hit:
    path: str
    args: dict[str, str]
    headers: dict[str, str]


@dataclass
class ReplayServer:
    """Scripted answers per path; unknown paths answer 404."""

    routes: dict[str, list[Handler | Response]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    def script(self, path: str, *answers: Handler | Response) -> None:
        with self.lock:
            self.routes[path] = list(answers)
            self.hits = [h for h in self.hits if h.path != path]

    def hits_for(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        with self.lock:
            self.hits.append(Hit(request.path, dict(request.args), dict(request.headers)))
            answers = self.routes.get(request.path)
            if not answers:
                answer: Handler | Response = Response("not here", status=404)
            else:
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
        response = answer(request) if callable(answer) and not isinstance(answer, Response) else answer
        return response(environ, start_response)  # type: ignore[no-any-return]


def start_replay() -> tuple[ReplayServer, Callable[[], None]]:
    replay = ReplayServer()
    server = make_server("127.0.0.1", 0, replay, threaded=True)
    replay.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return replay, server.shutdown


def slow(seconds: float, answer: Response) -> Handler:
    def handler(_request: Request) -> Response:
        time.sleep(seconds)
        return answer

    return handler


def source_settings(settings: Settings, base_url: str, **overrides: Any) -> Settings:
    """The session settings pointed at the replay server, with short limits so failures are quick."""
    values: dict[str, Any] = {
        "source_allow_private_addresses": True,
        "google_api_url": base_url,
        "yelp_api_url": base_url,
        "reddit_url": base_url,
        "bluesky_url": base_url,
        "source_retries": 2,
        "source_backoff_base_s": 0.01,
        "source_backoff_cap_s": 0.05,
        "source_connect_timeout_s": 1.0,
        "source_read_timeout_s": 0.5,
        "source_total_timeout_s": 5.0,
        "source_host_interval_s": 0.0,
        "source_breaker_failures": 2,
        "source_breaker_cooldown_s": 60.0,
    }
    values.update(overrides)
    return settings.model_copy(update=values)


def make_context(settings: Settings, stop: threading.Event | None = None) -> SourceContext:
    http = SafeHttpClient(HttpPolicy.from_settings(settings))
    hosts = HostGate(http, settings.source_user_agent, settings.source_host_interval_s)
    return SourceContext(http=http, settings=settings, hosts=hosts, stop=stop or threading.Event())


def make_store(settings: Settings, bus: Bus) -> SourceStateStore:
    store = SourceStateStore(bus, bus.publisher(), settings.topics.source_state, settings.produce_timeout_s)
    store.ensure_topic(settings.topic_partitions, settings.topic_replication)
    store.load()
    return store


def new_tenant() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def tenant_with(tenant: str, *sources: SourceConfig, directory: dict[str, Any] | None = None) -> TenantSources:
    return TenantSources.model_validate(
        {"tenant": tenant, "sources": [s.model_dump() for s in sources], "directory": directory or {}}
    )


def _read_to_end(servers: list[str], topic: str) -> Iterator[tuple[bytes | None, bytes]]:
    consumer = KafkaConsumer(bootstrap_servers=servers, group_id=None, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        ends = consumer.end_offsets(assigned)
        deadline = time.monotonic() + 20
        while any(consumer.position(tp) < ends[tp] for tp in assigned) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500, max_records=5000).values():
                for record in records:
                    yield record.key, record.value
    finally:
        consumer.close(autocommit=False)


def raw_mentions(settings: Settings, tenant: str) -> list[Mention]:
    """Every valid mention of ``tenant`` on the raw topic, in offset order (per partition).

    Other test modules put deliberately malformed records on the same topic (dead-letter tests);
    those are not mentions and are skipped.
    """
    mentions = []
    for key, value in _read_to_end(settings.kafka_servers, settings.topics.raw):
        if key != tenant.encode():
            continue
        try:
            mentions.append(Mention.model_validate_json(value))
        except ValidationError:
            continue
    return mentions
