"""One settings object for every service.

Every knob is an environment variable prefixed ``RADAR_`` with a documented default, so a
deployment is described completely by its environment (twelve-factor) and a test can build a
``Settings`` by hand without touching ``os.environ``.  The table in ``docs/configuration.md`` is
the user-facing copy of the field descriptions below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Topics:
    """Topic names derived from one prefix, so a test run or a staging stack can share a broker."""

    def __init__(self, prefix: str) -> None:
        self.raw = f"{prefix}.mentions.raw"
        self.scored = f"{prefix}.mentions.scored"
        self.dead_letter = f"{prefix}.mentions.dead-letter"
        self.alerts = f"{prefix}.alerts"
        self.alerts_dead_letter = f"{prefix}.alerts.dead-letter"
        # Compacted tables: source cursors and status, and the API keys managed through /v1/keys.
        self.source_state = f"{prefix}.source-state"
        self.api_keys = f"{prefix}.api-keys"

    def all(self) -> list[str]:
        return [self.raw, self.scored, self.dead_letter, self.alerts, self.alerts_dead_letter]


class Settings(BaseSettings):
    """Configuration shared by ingest, sentiment and search."""

    model_config = SettingsConfigDict(env_prefix="RADAR_", extra="ignore", frozen=True)

    # --- Kafka -------------------------------------------------------------------------------
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Comma-separated Kafka bootstrap servers.")
    topic_prefix: str = Field("radar", description="Prefix of every topic name.")
    topic_partitions: int = Field(
        6, ge=1, description="Partitions of the mention topics (the sentiment group's width)."
    )
    topic_replication: int = Field(1, ge=1, description="Replication factor of created topics.")
    produce_timeout_s: float = Field(
        10.0,
        gt=0,
        description="How long ingest waits for the broker's acknowledgement before answering 503.",
    )

    # --- Embedded mode -----------------------------------------------------------------------
    bus: Literal["kafka", "embedded"] = Field(
        "kafka",
        description=(
            "Which message bus the services use: kafka (RADAR_KAFKA_BOOTSTRAP) or embedded (one SQLite file, "
            "bus.sqlite3 in RADAR_DATA_DIR, shared by the processes of one machine)."
        ),
    )
    data_dir: Path = Field(
        REPO_ROOT / ".local-stack" / "data",
        description="Directory of the embedded mode's files: bus.sqlite3 (the bus) and search.sqlite3 (the store).",
    )
    bus_synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL",
        description=(
            "SQLite synchronous level of the embedded bus: FULL fsyncs every publish (survives a power cut), "
            "NORMAL survives a process crash only."
        ),
    )
    bus_lock_timeout_s: float = Field(
        10.0, gt=0, description="How long the embedded bus waits for another process's write lock before failing."
    )
    bus_session_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Embedded consumer-group member expiry without a heartbeat; its partitions then move on.",
    )
    bus_retention_hours: float = Field(
        168.0,
        gt=0,
        description="Age after which the embedded bus deletes records (compacted topics keep the latest per key).",
    )

    # --- Search engine -----------------------------------------------------------------------
    search_engine: Literal["elasticsearch", "opensearch", "embedded"] = Field(
        "elasticsearch",
        description=(
            "Which engine serves search: elasticsearch or opensearch (through its official client), "
            "or embedded (SQLite with FTS5 in <data dir>/search.sqlite3, no server to run)."
        ),
    )
    search_url: str = Field(
        "http://127.0.0.1:9200", description="Search engine URL(s), comma-separated for several nodes."
    )
    index_alias: str = Field(
        "radar-mentions",
        description="Alias that the services read and write; concrete indices are <alias>-v<N>.",
    )
    index_shards: int = Field(1, ge=1, description="Primary shards of a new mentions index.")
    index_replicas: int = Field(0, ge=0, description="Replicas of a new mentions index.")

    # --- HTTP services -----------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Interface the HTTP services bind to.")
    ingest_port: int = Field(8001, description="Port of the ingest API.")
    sentiment_port: int = Field(8002, description="Port of the sentiment API.")
    search_port: int = Field(8003, description="Port of the search API.")
    api_keys: str = Field(
        "",
        description=(
            "API keys as comma-separated KEY=TENANT:ROLE entries (roles: viewer, marketer, admin). "
            "Keys never appear in logs."
        ),
    )
    api_keys_refresh_s: float = Field(
        5.0,
        gt=0,
        description="How often each service re-reads the managed API keys (a revocation takes effect within it).",
    )
    max_batch_items: int = Field(500, ge=1, description="Most mentions accepted in one POST.")
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="Largest request body accepted (bytes).")
    max_text_chars: int = Field(100_000, ge=1, description="Longest review text accepted (characters).")

    # --- Sentiment worker --------------------------------------------------------------------
    model_dir: Path = Field(
        REPO_ROOT / "models" / "review-sentiment",
        description="Directory of the ONNX model, tokenizer and manifest.",
    )
    topic_model_dir: Path = Field(
        REPO_ROOT / "models" / "topic-embedder",
        description="Directory of the topic model (sentence encoder, prototypes, thresholds).",
    )
    reply_model_dir: Path = Field(
        REPO_ROOT / "models" / "reply-guard",
        description="Directory of the reply guard's learned sentence classifier (head + manifest); its encoder is "
        "the topic model's (topic_model_dir).",
    )
    model_threads: int = Field(
        0,
        ge=0,
        description=(
            "ONNX Runtime intra-op threads per model; 0 means one per available core in the sentiment API "
            "and half the available cores (at least 1) in the sentiment worker, which runs its two models at once."
        ),
    )
    sentiment_group: str = Field("", description="Consumer group of the scorers; empty means <topic prefix>.sentiment.")
    sentiment_batch_size: int = Field(32, ge=1, description="Most mentions scored in one batch.")
    sentiment_batch_wait_ms: int = Field(
        50, ge=0, description="Longest wait to fill a batch before scoring what is there."
    )

    # --- Indexer -----------------------------------------------------------------------------
    indexer_group: str = Field("", description="Consumer group of the indexers; empty means <topic prefix>.indexer.")
    indexer_batch_size: int = Field(500, ge=1, description="Most mentions in one bulk request.")
    indexer_batch_wait_ms: int = Field(200, ge=0, description="Longest wait to fill a bulk.")

    # --- Alerts ------------------------------------------------------------------------------
    alerts_evaluator_group: str = Field(
        "", description="Consumer group of the alert evaluators; empty means <topic prefix>.alerts-evaluator."
    )
    alerts_dispatcher_group: str = Field(
        "", description="Consumer group of the alert dispatchers; empty means <topic prefix>.alerts-dispatcher."
    )
    alerts_batch_size: int = Field(
        50, ge=1, description="Most records the alert evaluator or dispatcher takes at once."
    )
    alerts_batch_wait_ms: int = Field(
        50, ge=0, description="Longest wait of the alert evaluator to fill a batch before evaluating what is there."
    )
    alerts_rules_cache_s: float = Field(
        5.0, ge=0, description="How long the evaluator reuses a tenant's rules before reading them again."
    )
    alerts_excerpt_chars: int = Field(
        280, ge=20, le=2000, description="Longest review excerpt in an alert (after redaction), in characters."
    )
    alerts_max_attempts: int = Field(
        5, ge=1, description="Delivery attempts per channel before the alert job is dead-lettered."
    )
    alerts_retry_base_s: float = Field(
        0.5, gt=0, description="First retry delay of a failed delivery (doubles, jittered)."
    )
    alerts_retry_cap_s: float = Field(30.0, gt=0, description="Longest delay between two delivery attempts.")
    alerts_delivery_timeout_s: float = Field(10.0, gt=0, description="Timeout of one webhook or SMTP delivery.")
    alerts_sweep_interval_s: float = Field(
        5.0, gt=0, description="How often the dispatcher looks for digests and held-back alerts that are due."
    )
    alerts_claim_s: float = Field(
        120.0, gt=0, description="How long a dispatcher owns a due digest before another may take it over."
    )
    alerts_allow_private_targets: bool = Field(
        False, description="Allow webhook targets on loopback or private addresses (development and tests only)."
    )
    smtp_host: str = Field("", description="SMTP server for e-mail alerts; empty disables the e-mail channel.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS before sending.")
    smtp_username: str = Field("", description="SMTP login; empty sends without authentication.")
    smtp_password: str = Field("", description="SMTP password (never logged).")
    smtp_from: str = Field("radar-alerts@localhost", description="Sender address of e-mail alerts.")

    # --- Sources -----------------------------------------------------------------------------
    sources_file: Path | None = Field(
        None,
        description=(
            "YAML file of the review and mention sources per tenant (docs/sources.md); unset or absent means no "
            "sources. Secrets in it are written as ${ENV_VAR} references."
        ),
    )
    source_user_agent: str = Field(
        "RadarReputationBot/0.1 (+https://github.com/radar/radar; reputation monitoring)",
        description="User-Agent sent to every source, and the agent name checked in robots.txt.",
    )
    source_connect_timeout_s: float = Field(5.0, gt=0, description="Connect timeout of a source request.")
    source_read_timeout_s: float = Field(20.0, gt=0, description="Read timeout (between bytes) of a source request.")
    source_total_timeout_s: float = Field(
        60.0, gt=0, description="Longest a whole source response may take, body included."
    )
    source_max_response_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, description="Largest source response body read; a larger one is refused."
    )
    source_retries: int = Field(3, ge=0, description="Retries of a source request after a 5xx, 429 or timeout.")
    source_backoff_base_s: float = Field(
        1.0, ge=0, description="Base of the full-jitter exponential backoff between source retries."
    )
    source_backoff_cap_s: float = Field(60.0, ge=0, description="Longest wait between two source retries.")
    source_retry_after_cap_s: float = Field(
        300.0,
        ge=0,
        description="Longest Retry-After honoured inline; a longer one fails the run and waits for the next.",
    )
    source_breaker_failures: int = Field(
        5, ge=1, description="Consecutive failed runs after which a source's circuit breaker opens."
    )
    source_breaker_cooldown_s: float = Field(
        900.0, ge=0, description="How long an open circuit breaker keeps a failing source from being called."
    )
    source_host_interval_s: float = Field(
        2.0, ge=0, description="Least time between two requests to one host by the page scraper (per-host rate)."
    )
    source_allow_private_addresses: bool = Field(
        False,
        description=(
            "Let sources reach private, loopback and link-local addresses. Off in production (server-side request "
            "forgery guard); tests turn it on for their local replay server."
        ),
    )
    source_default_interval_s: float = Field(
        900.0, ge=1, description="Poll interval of a source whose configuration names none."
    )
    source_jitter: float = Field(
        0.1, ge=0, le=1, description="Random spread of each poll interval, as a fraction of it (0.1 = ±10%)."
    )
    source_max_pages: int = Field(
        20, ge=1, description="Most pages one scheduled run of a source fetches (backfill has no limit)."
    )
    source_workers: int = Field(8, ge=1, description="Sources the scheduler runs at the same time.")
    google_api_url: str = Field(
        "https://mybusiness.googleapis.com", description="Base URL of the Google Business Profile API (v4 reviews)."
    )
    google_push_token: str = Field(
        "",
        description=(
            "Shared token that Pub/Sub push requests must carry (?token= or Bearer) on "
            "POST /v1/sources/google/push; empty disables the endpoint."
        ),
    )
    yelp_api_url: str = Field("https://api.yelp.com", description="Base URL of the Yelp Fusion API.")
    reddit_url: str = Field("https://www.reddit.com", description="Base URL of Reddit's JSON listings.")
    bluesky_url: str = Field(
        "https://public.api.bsky.app", description="Base URL of the Bluesky AppView (app.bsky.feed.searchPosts)."
    )

    # --- Privacy -----------------------------------------------------------------------------
    privacy_staff_names: str = Field(
        "",
        description=(
            'The practice\'s own staff, comma-separated names and aliases ("Dr. Anika Patel, Jake Moreno, Jake"): '
            "the PHI detector never reports them as patients' names."
        ),
    )
    privacy_practice_phone: str = Field(
        "", description="The office phone number that the reply guard's suggested rewrite invites reviewers to call."
    )
    privacy_min_confidence: float = Field(
        0.5, ge=0, le=1, description="Weakest PHI detection reported (0.55 is a lone first name opening a sentence)."
    )

    # --- Operations ----------------------------------------------------------------------------
    metrics_port: int = Field(
        0,
        ge=0,
        le=65535,
        description=(
            "Port of a worker process's /metrics, /healthz and /readyz endpoint (set per process); 0 turns it off. "
            "The HTTP services serve /metrics on their own port."
        ),
    )
    metrics_host: str = Field("0.0.0.0", description="Interface the workers' metrics endpoint binds to.")
    shutdown_grace_s: float = Field(
        25.0,
        gt=0,
        description=(
            "After SIGTERM a worker finishes and commits its batch, a gunicorn worker its requests, within this "
            "many seconds; then it exits anyway (uncommitted work is redelivered). Keep it below the "
            "orchestrator's kill timeout (Kubernetes: terminationGracePeriodSeconds)."
        ),
    )

    log_level: str = Field("INFO", description="Log level of every service.")

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()

    @property
    def topics(self) -> Topics:
        # A plain property, not a cached one: model_copy(update=...) copies cached values, which
        # would keep the old prefix's topic names on a copy with a new prefix.
        return Topics(self.topic_prefix)

    @property
    def sentiment_consumer_group(self) -> str:
        # Derived from the topic prefix by default: two stacks sharing a broker (staging and a
        # test run, say) must never share a group, or their rebalances starve each other.
        return self.sentiment_group or f"{self.topic_prefix}.sentiment"

    @property
    def indexer_consumer_group(self) -> str:
        return self.indexer_group or f"{self.topic_prefix}.indexer"

    @property
    def alerts_evaluator_consumer_group(self) -> str:
        return self.alerts_evaluator_group or f"{self.topic_prefix}.alerts-evaluator"

    @property
    def alerts_dispatcher_consumer_group(self) -> str:
        return self.alerts_dispatcher_group or f"{self.topic_prefix}.alerts-dispatcher"

    @property
    def kafka_servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]

    @property
    def search_database(self) -> Path:
        """The embedded search store's file (``search_engine = "embedded"``)."""
        return self.data_dir / "search.sqlite3"

    @property
    def search_hosts(self) -> list[str]:
        return [s.strip() for s in self.search_url.split(",") if s.strip()]

    @property
    def staff_names(self) -> list[str]:
        return [s.strip() for s in self.privacy_staff_names.split(",") if s.strip()]


def configuration_table() -> str:
    """The environment-variable reference as a Markdown table (``docs/configuration.md``)."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            default = default.relative_to(REPO_ROOT) if default.is_relative_to(REPO_ROOT) else default
        shown = f"`{default}`" if default not in ("", None) else "(empty)"
        rows.append(f"| `RADAR_{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print("# Configuration\n")
    print("Every service reads the same settings from environment variables (`common/settings.py`).")
    print("Generated by `python -m common.settings > docs/configuration.md`.\n")
    print(configuration_table())
